package netprov_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/okvm/okvm/netprov"
	"github.com/okvm/okvm/netprov/netprovtest"
)

func planForServers(t *testing.T) *netprov.Plan {
	t.Helper()
	p, err := netprov.NewPlan(netprov.PlanSpec{
		ClusterName:    "lab",
		BaseDomain:     "okd.example",
		MachineNetwork: netip.MustParsePrefix("192.168.126.0/24"),
		Gateway:        netip.MustParseAddr("192.168.126.1"),
		APIAddress:     netip.MustParseAddr("192.168.126.1"),
		Nodes: []netprov.NodeSpec{
			{Name: "bootstrap", Role: netprov.RoleBootstrap, MAC: "52:54:00:00:00:01"},
			{Name: "master-0", Role: netprov.RoleMaster, MAC: "52:54:00:00:00:10"},
			{Name: "worker-0", Role: netprov.RoleWorker, MAC: "52:54:00:00:00:20"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A Plan's zones and reservations are what the embedded servers serve: the
// pre-flight queries of the OKD UPI docs all answer, and dropping the
// bootstrap (WithoutBootstrap) goes through SetZones/SetReservations live.
func TestEmbeddedServersServeAPlan(t *testing.T) {
	p := planForServers(t)
	dnsSrv := netprovtest.NewDNSServer(t, p.Zones()...)
	boot, ok := p.Bootstrap()
	if !ok {
		t.Fatal("plan has no bootstrap")
	}
	for _, q := range []struct {
		name  string
		qtype uint16
		want  string
	}{
		{"api.lab.okd.example", dns.TypeA, "192.168.126.1"},
		{"api-int.lab.okd.example", dns.TypeA, "192.168.126.1"},
		{"random.apps.lab.okd.example", dns.TypeA, "192.168.126.1"},
		{"bootstrap.lab.okd.example", dns.TypeA, boot.IP.String()},
	} {
		r := dnsSrv.Exchange(t, q.name, q.qtype)
		if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != q.want || !r.Authoritative {
			t.Errorf("%s: %v", q.name, r)
		}
	}
	for _, n := range p.Nodes {
		rev, _ := dns.ReverseAddr(n.IP.String())
		r := dnsSrv.Exchange(t, rev, dns.TypePTR)
		if len(r.Answer) != 1 || r.Answer[0].(*dns.PTR).Ptr != dns.Fqdn(n.FQDN) {
			t.Errorf("PTR %s: %v", n.IP, r)
		}
	}

	dhcpSrv := netprovtest.NewDHCPServer(t, p.Reservations()...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	master, _ := p.Node("master-0")
	lease, err := dhcpSrv.Client(t, master.MAC).Request(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if lease.ACK.YourIPAddr.String() != master.IP.String() || lease.ACK.HostName() != master.FQDN || lease.ACK.DomainName() != "lab.okd.example" {
		t.Fatalf("master-0 lease: %s", lease.ACK.Summary())
	}

	// Bootstrap removal through the provider interfaces.
	after := p.WithoutBootstrap()
	var dnsP netprov.DNSProvider = dnsSrv.Server
	var dhcpP netprov.DHCPProvider = dhcpSrv.Server
	if err := dnsP.SetZones(ctx, after.Zones()); err != nil {
		t.Fatal(err)
	}
	if err := dhcpP.SetReservations(ctx, after.Reservations()); err != nil {
		t.Fatal(err)
	}
	if r := dnsSrv.Exchange(t, "bootstrap.lab.okd.example", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Fatalf("bootstrap after removal: %v", r)
	}
	if _, err := dhcpSrv.Client(t, boot.MAC).DiscoverOffer(ctx); err == nil {
		t.Fatal("bootstrap MAC still gets an offer after removal")
	}
}
