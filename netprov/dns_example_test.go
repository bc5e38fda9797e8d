package netprov_test

import (
	"context"
	"fmt"
	"time"

	"github.com/miekg/dns"

	"github.com/okvm/okvm/netprov"
)

// Start the embedded DNS server on a free loopback port, ask it for a name
// under the *.apps wildcard, and print the answer.
func ExampleDNSServer() {
	api, _ := dns.NewRR("api.c1.example.com. 300 IN A 192.168.126.1")
	apps, _ := dns.NewRR("*.apps.c1.example.com. 300 IN A 192.168.126.1")
	zones := []netprov.Zone{{Origin: "c1.example.com.", Records: []dns.RR{api, apps}}}

	srv, err := netprov.NewDNSServer(zones, netprov.WithAddr("127.0.0.1:0"))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown(ctx)

	q := new(dns.Msg).SetQuestion("console-openshift-console.apps.c1.example.com.", dns.TypeA)
	r, _, err := new(dns.Client).Exchange(q, srv.Addr())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(dns.RcodeToString[r.Rcode], "aa:", r.Authoritative)
	fmt.Println(r.Answer[0].(*dns.A).A)

	q = new(dns.Msg).SetQuestion("nope.c1.example.com.", dns.TypeA)
	r, _, _ = new(dns.Client).Exchange(q, srv.Addr())
	fmt.Println(dns.RcodeToString[r.Rcode], r.Ns[0].Header().Rrtype == dns.TypeSOA)
	// Output:
	// NOERROR aa: true
	// 192.168.126.1
	// NXDOMAIN true
}

// Drop the bootstrap node's records (forward and PTR) from a running server
// once bootstrap is complete: the change is atomic and needs no restart.
func ExampleDNSServer_Update() {
	fwd, _ := dns.NewRR("bootstrap.c1.example.com. 300 IN A 192.168.126.9")
	ptr, _ := dns.NewRR("9.126.168.192.in-addr.arpa. 300 IN PTR bootstrap.c1.example.com.")
	srv, _ := netprov.NewDNSServer([]netprov.Zone{
		{Origin: "c1.example.com.", Records: []dns.RR{fwd}},
		{Origin: "126.168.192.in-addr.arpa.", Records: []dns.RR{ptr}},
	})
	_ = srv.Update(context.Background(), func(zs []netprov.Zone) ([]netprov.Zone, error) {
		for i := range zs {
			zs[i] = zs[i].Without("bootstrap.c1.example.com.")
		}
		return zs, nil
	})
	for _, z := range srv.Zones() {
		fmt.Println(z.Origin, len(z.Records))
	}
	// Output:
	// c1.example.com. 0
	// 126.168.192.in-addr.arpa. 0
}
