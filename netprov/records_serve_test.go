package netprov_test

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/okvm/okvm/netprov"
)

// TestPlanZonesOnEmbeddedServer: the embedded DNS server, given exactly
// Plan.Zones(), answers the docs' pre-flight queries (api, api-int, a
// random *.apps name, every node forward and reverse), and after
// WithoutBootstrap the bootstrap name is gone. Loopback only.
func TestPlanZonesOnEmbeddedServer(t *testing.T) {
	p, err := netprov.NewPlan(netprov.PlanSpec{
		ClusterName:    "srv",
		BaseDomain:     "okd.example",
		MachineNetwork: netip.MustParsePrefix("192.168.126.0/24"),
		Gateway:        netip.MustParseAddr("192.168.126.1"),
		APIAddress:     netip.MustParseAddr("192.168.126.1"),
		IngressAddress: netip.MustParseAddr("192.168.126.250"),
		Nodes: []netprov.NodeSpec{
			{Name: "bootstrap", Role: netprov.RoleBootstrap, MAC: "52:54:00:00:00:01"},
			{Name: "master-0", Role: netprov.RoleMaster, MAC: "52:54:00:00:00:10"},
			{Name: "worker-0", Role: netprov.RoleWorker, MAC: "52:54:00:00:00:20"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv, err := netprov.NewDNSServer(p.Zones(), netprov.WithAddr("127.0.0.1:0"))
	if err != nil {
		t.Fatalf("embedded server refused the plan's zones: %v", err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())

	ask := func(name string, qt uint16) (int, []string) {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(name), qt)
		r, _, err := new(dns.Client).ExchangeContext(ctx, m, srv.Addr())
		if err != nil {
			t.Fatalf("%s %s: %v", name, dns.TypeToString[qt], err)
		}
		var out []string
		for _, rr := range r.Answer {
			switch v := rr.(type) {
			case *dns.A:
				out = append(out, v.A.String())
			case *dns.PTR:
				out = append(out, v.Ptr)
			case *dns.SOA:
				out = append(out, v.Ns)
			}
		}
		slices.Sort(out)
		return r.Rcode, out
	}
	expect := func(name string, qt uint16, want ...string) {
		t.Helper()
		rc, got := ask(name, qt)
		slices.Sort(want)
		if rc != dns.RcodeSuccess || strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s %s: rcode %s, got %v, want %v", name, dns.TypeToString[qt], dns.RcodeToString[rc], got, want)
		}
	}
	d := p.Domain
	expect("api."+d, dns.TypeA, "192.168.126.1")
	expect("api-int."+d, dns.TypeA, "192.168.126.1")
	expect("random-name.apps."+d, dns.TypeA, "192.168.126.250")
	expect("console-openshift-console.apps."+d, dns.TypeA, "192.168.126.250")
	expect(d, dns.TypeSOA, "ns1."+d+".")
	expect("1.126.168.192.in-addr.arpa", dns.TypePTR, "api."+d+".", "api-int."+d+".")
	for _, n := range p.Nodes {
		expect(n.FQDN, dns.TypeA, n.IP.String())
		rev, _ := dns.ReverseAddr(n.IP.String())
		expect(rev, dns.TypePTR, n.FQDN+".")
	}

	if err := srv.SetZones(ctx, p.WithoutBootstrap().Zones()); err != nil {
		t.Fatal(err)
	}
	if rc, got := ask("bootstrap."+d, dns.TypeA); rc != dns.RcodeNameError {
		t.Errorf("bootstrap after removal: rcode %s, %v; want NXDOMAIN", dns.RcodeToString[rc], got)
	}
	expect("master-0."+d, dns.TypeA, "192.168.126.3")
}

// TestPlanReservationsOnEmbeddedServer: the embedded DHCP server accepts the
// plan's reservations as they are (it validates them on construction).
func TestPlanReservationsOnEmbeddedServer(t *testing.T) {
	p, err := netprov.NewPlan(netprov.PlanSpec{
		ClusterName:    "srv",
		BaseDomain:     "okd.example",
		MachineNetwork: netip.MustParsePrefix("10.0.5.64/26"),
		Gateway:        netip.MustParseAddr("10.0.5.65"),
		DNSServers:     []netip.Addr{netip.MustParseAddr("10.0.5.66"), netip.MustParseAddr("10.0.5.67")},
		APIAddress:     netip.MustParseAddr("10.0.5.100"),
		Nodes: []netprov.NodeSpec{
			{Name: "master-0", Role: netprov.RoleMaster, MAC: "52:54:00:00:00:10"},
			{Name: "worker-0", Role: netprov.RoleWorker, MAC: "52:54:00:00:00:20"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := netprov.NewDHCPServer(p.Reservations(), netprov.WithAddr("127.0.0.1:0"), netprov.WithServerID(p.Gateway))
	if err != nil {
		t.Fatalf("embedded DHCP server refused the plan's reservations: %v", err)
	}
	_ = srv
}
