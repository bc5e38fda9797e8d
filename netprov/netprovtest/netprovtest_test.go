package netprovtest_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/okvm/okvm/netprov"
	"github.com/okvm/okvm/netprov/netprovtest"
)

func rr(t testing.TB, s string) dns.RR {
	t.Helper()
	r, err := dns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func zone(t testing.TB) netprov.Zone {
	return netprov.Zone{Origin: "c1.example.com.", Records: []dns.RR{
		rr(t, "api.c1.example.com. 60 IN A 192.168.126.1"),
		rr(t, "*.apps.c1.example.com. 60 IN A 192.168.126.1"),
		rr(t, "bootstrap.c1.example.com. 60 IN A 192.168.126.9"),
	}}
}

func TestDNSProviderRecordsAndResolves(t *testing.T) {
	var p netprovtest.DNSProvider
	ctx := context.Background()
	if r := p.Lookup("api.c1.example.com", dns.TypeA); r.Rcode != dns.RcodeRefused {
		t.Fatalf("before SetZones: %v", r)
	}
	z := zone(t)
	if err := p.SetZones(ctx, []netprov.Zone{z}); err != nil {
		t.Fatal(err)
	}
	z.Records[0].(*dns.A).A = net.IPv4(10, 9, 9, 9) // the caller's slice is not the provider's state
	if r := p.Lookup("console.apps.c1.example.com", dns.TypeA); len(r.Answer) != 1 || !r.Authoritative {
		t.Fatalf("wildcard: %v", r)
	}
	if r := p.Lookup("api.c1.example.com", dns.TypeA); r.Answer[0].(*dns.A).A.String() != "192.168.126.1" {
		t.Fatalf("state changed with the caller's records: %v", r)
	}
	if err := p.SetZones(ctx, []netprov.Zone{zone(t).Without("bootstrap.c1.example.com")}); err != nil {
		t.Fatal(err)
	}
	if r := p.Lookup("bootstrap.c1.example.com", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Fatalf("after removal: %v", r)
	}
	// Invalid input is refused the way the server refuses it, and not recorded.
	bad := []netprov.Zone{{Origin: "c1.example.com.", Records: []dns.RR{rr(t, "x.other.org. 60 IN A 10.0.0.1")}}}
	if err := p.SetZones(ctx, bad); !errors.Is(err, netprov.ErrInvalidZone) {
		t.Fatalf("bad zone: %v", err)
	}
	boom := errors.New("boom")
	p.FailNext(boom)
	if err := p.SetZones(ctx, []netprov.Zone{zone(t)}); !errors.Is(err, boom) {
		t.Fatalf("FailNext: %v", err)
	}
	calls := p.Calls()
	if len(calls) != 2 || len(calls[0][0].Records) != 3 || len(calls[1][0].Records) != 2 {
		t.Fatalf("calls = %v", calls)
	}
	if len(p.Zones()) != 1 {
		t.Fatalf("Zones() = %v", p.Zones())
	}
}

func reservation(mac net.HardwareAddr, ip string) netprov.Reservation {
	return netprov.Reservation{
		MAC: mac, IP: netip.MustParseAddr(ip), Prefix: 24, Hostname: "node.c1.example.com",
		Router: netip.MustParseAddr("192.168.126.1"), Domain: "c1.example.com",
		DNS: []netip.Addr{netip.MustParseAddr("192.168.126.1")}, LeaseTime: time.Hour,
	}
}

func TestDHCPProviderRecords(t *testing.T) {
	var p netprovtest.DHCPProvider
	ctx := context.Background()
	mac := net.HardwareAddr{0x52, 0x54, 0, 0, 0, 1}
	if err := p.SetReservations(ctx, []netprov.Reservation{reservation(mac, "192.168.126.10")}); err != nil {
		t.Fatal(err)
	}
	if err := p.SetReservations(ctx, []netprov.Reservation{{MAC: mac}}); !errors.Is(err, netprov.ErrInvalidReservation) {
		t.Fatalf("bad reservation: %v", err)
	}
	if r, ok := p.Lookup(mac); !ok || r.IP.String() != "192.168.126.10" {
		t.Fatalf("Lookup = %v %v", r, ok)
	}
	if len(p.Calls()) != 1 {
		t.Fatalf("calls = %v", p.Calls())
	}
	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.SetReservations(ctx2, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: %v", err)
	}
}

func TestNewDNSServer(t *testing.T) {
	s := netprovtest.NewDNSServer(t, zone(t))
	r := s.Exchange(t, "api.c1.example.com", dns.TypeA)
	if len(r.Answer) != 1 || !r.Authoritative {
		t.Fatalf("answer: %v", r)
	}
	if s.Server.Stats().Queries != 1 {
		t.Fatalf("stats: %+v", s.Server.Stats())
	}
}

func TestNewDHCPServer(t *testing.T) {
	mac := net.HardwareAddr{0x52, 0x54, 0, 0, 0, 2}
	s := netprovtest.NewDHCPServer(t, reservation(mac, "192.168.126.12"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lease, err := s.Client(t, mac).Request(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if lease.ACK.YourIPAddr.String() != "192.168.126.12" || lease.ACK.DomainName() != "c1.example.com" {
		t.Fatalf("ACK: %s", lease.ACK.Summary())
	}
	if l := s.Server.Leases(); len(l) != 1 || l[0].State != netprov.LeaseBound {
		t.Fatalf("leases: %+v", l)
	}
}
