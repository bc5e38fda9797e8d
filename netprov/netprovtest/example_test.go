package netprovtest_test

import (
	"context"
	"fmt"

	"github.com/miekg/dns"

	"github.com/okvm/okvm/netprov"
	"github.com/okvm/okvm/netprov/netprovtest"
)

// A test of code that publishes records checks what it published, and
// resolves names the way the embedded server would.
func ExampleDNSProvider() {
	var p netprovtest.DNSProvider
	api, _ := dns.NewRR("api.c1.example.com. 60 IN A 192.168.126.1")
	apps, _ := dns.NewRR("*.apps.c1.example.com. 60 IN A 192.168.126.1")

	// The code under test would receive &p as its netprov.DNSProvider.
	var provider netprov.DNSProvider = &p
	_ = provider.SetZones(context.Background(), []netprov.Zone{{Origin: "c1.example.com", Records: []dns.RR{api, apps}}})

	fmt.Println("changes:", len(p.Calls()))
	r := p.Lookup("console-openshift-console.apps.c1.example.com", dns.TypeA)
	fmt.Println(r.Answer[0].(*dns.A).A)
	fmt.Println(dns.RcodeToString[p.Lookup("nope.c1.example.com", dns.TypeA).Rcode])
	// Output:
	// changes: 1
	// 192.168.126.1
	// NXDOMAIN
}
