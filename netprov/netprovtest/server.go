package netprovtest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/miekg/dns"

	"github.com/okvm/okvm/netprov"
)

// DNSServer is an embedded DNS server running on loopback for one test.
type DNSServer struct {
	// Addr is "127.0.0.1:<port>", the same port for UDP and TCP.
	Addr string
	// Server is the running server: change its records with SetZones or
	// Update, read its Stats.
	Server *netprov.DNSServer
}

// NewDNSServer starts an embedded DNS server for zones on 127.0.0.1 with a
// free port, and shuts it down when the test ends. It fails the test if the
// zones are invalid or the server cannot start.
func NewDNSServer(t testing.TB, zones ...netprov.Zone) *DNSServer {
	t.Helper()
	return NewDNSServerWith(t, zones)
}

// NewDNSServerWith is NewDNSServer with server options (WithUpstreams,
// WithLogger…). The address is always a free loopback port.
func NewDNSServerWith(t testing.TB, zones []netprov.Zone, opts ...netprov.ServerOption) *DNSServer {
	t.Helper()
	opts = append(append([]netprov.ServerOption(nil), opts...), netprov.WithAddr("127.0.0.1:0"))
	srv, err := netprov.NewDNSServer(zones, opts...)
	if err != nil {
		t.Fatalf("netprovtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("netprovtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("netprovtest: %v", err)
		}
	})
	return &DNSServer{Addr: srv.Addr(), Server: srv}
}

// Exchange sends one UDP query for name/qtype and returns the response,
// failing the test when none arrives within 5 seconds.
func (s *DNSServer) Exchange(t testing.TB, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	c := &dns.Client{Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, s.Addr)
	if err != nil {
		t.Fatalf("netprovtest: query %s %s: %v", name, dns.TypeToString[qtype], err)
	}
	return r
}

// DHCPServer is an embedded DHCP server on a loopback UDP port for one
// test. No broadcast, no raw socket and no root are involved: clients send
// to Addr and the server answers them where they sent from.
type DHCPServer struct {
	// Addr is "127.0.0.1:<port>".
	Addr string
	// Server is the running server (SetReservations, Leases, Stats).
	Server *netprov.DHCPServer
}

// NewDHCPServer starts an embedded DHCP server serving reservations on a
// free loopback UDP port (server identifier 127.0.0.1) and shuts it down
// when the test ends.
func NewDHCPServer(t testing.TB, reservations ...netprov.Reservation) *DHCPServer {
	t.Helper()
	return NewDHCPServerWith(t, reservations)
}

// NewDHCPServerWith is NewDHCPServer with server options (WithLogger,
// WithClock…); the socket is always a loopback one.
func NewDHCPServerWith(t testing.TB, reservations []netprov.Reservation, opts ...netprov.ServerOption) *DHCPServer {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("netprovtest: %v", err)
	}
	opts = append(append([]netprov.ServerOption(nil), opts...), netprov.WithPacketConn(pc))
	srv, err := netprov.NewDHCPServer(reservations, opts...)
	if err != nil {
		pc.Close()
		t.Fatalf("netprovtest: %v", err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatalf("netprovtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("netprovtest: %v", err)
		}
	})
	return &DHCPServer{Addr: pc.LocalAddr().String(), Server: srv}
}

// Client returns an nclient4 client for the NIC mac that talks to the
// server over loopback (closed at cleanup); Request(ctx) on it runs a full
// DISCOVER/OFFER/REQUEST/ACK.
func (s *DHCPServer) Client(t testing.TB, mac net.HardwareAddr) *nclient4.Client {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("netprovtest: %v", err)
	}
	sa, err := net.ResolveUDPAddr("udp4", s.Addr)
	if err != nil {
		t.Fatalf("netprovtest: %v", err)
	}
	c, err := nclient4.NewWithConn(pc, mac, nclient4.WithServerAddr(sa),
		nclient4.WithTimeout(time.Second), nclient4.WithRetry(2))
	if err != nil {
		pc.Close()
		t.Fatalf("netprovtest: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
