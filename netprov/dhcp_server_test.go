package netprov_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"

	"github.com/okvm/okvm/netprov"
)

var (
	mac0 = net.HardwareAddr{0x52, 0x54, 0x00, 0x00, 0x00, 0x10}
	mac1 = net.HardwareAddr{0x52, 0x54, 0x00, 0x00, 0x00, 0x11}
	macX = net.HardwareAddr{0x52, 0x54, 0x00, 0xde, 0xad, 0x00}
)

func testReservations() []netprov.Reservation {
	base := netprov.Reservation{
		Router:    netip.MustParseAddr("192.168.126.1"),
		DNS:       []netip.Addr{netip.MustParseAddr("192.168.126.1"), netip.MustParseAddr("192.168.126.2")},
		Domain:    "c1.example.com",
		Prefix:    24,
		LeaseTime: 2 * time.Hour,
	}
	r0, r1 := base, base
	r0.MAC, r0.IP, r0.Hostname = mac0, netip.MustParseAddr("192.168.126.10"), "master-0.c1.example.com"
	r1.MAC, r1.IP, r1.Hostname = mac1, netip.MustParseAddr("192.168.126.11"), "master-1.c1.example.com"
	return []netprov.Reservation{r0, r1}
}

// newDHCP makes a server that is never started: Reply is the protocol.
func newDHCP(t testing.TB, opts ...netprov.ServerOption) *netprov.DHCPServer {
	t.Helper()
	s, err := netprov.NewDHCPServer(testReservations(),
		append([]netprov.ServerOption{netprov.WithServerID(netip.MustParseAddr("192.168.126.1"))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func packet(t testing.TB, mt dhcpv4.MessageType, hw net.HardwareAddr, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	p, err := dhcpv4.New(append([]dhcpv4.Modifier{dhcpv4.WithHwAddr(hw), dhcpv4.WithMessageType(mt)}, mods...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var serverID = net.IPv4(192, 168, 126, 1).To4()

func TestDHCPReplyOfferCarriesTheOptions(t *testing.T) {
	s := newDHCP(t)
	disc := packet(t, dhcpv4.MessageTypeDiscover, mac0)
	offer := s.Reply(disc)
	if offer == nil {
		t.Fatal("no offer for a reserved MAC")
	}
	// Through the wire format, as a client would see it.
	offer, err := dhcpv4.FromBytes(offer.ToBytes())
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"type", offer.MessageType(), dhcpv4.MessageTypeOffer},
		{"op", offer.OpCode, dhcpv4.OpcodeBootReply},
		{"xid", offer.TransactionID, disc.TransactionID},
		{"yiaddr", offer.YourIPAddr.String(), "192.168.126.10"},
		{"chaddr", offer.ClientHWAddr.String(), mac0.String()},
		{"server id", offer.ServerIdentifier().String(), "192.168.126.1"},
		{"mask", net.IP(offer.SubnetMask()).String(), "255.255.255.0"},
		{"router", offer.Router()[0].String(), "192.168.126.1"},
		{"dns", len(offer.DNS()), 2},
		{"domain", offer.DomainName(), "c1.example.com"},
		{"search", offer.DomainSearch().Labels[0], "c1.example.com"},
		{"hostname", offer.HostName(), "master-0.c1.example.com"},
		{"lease", offer.IPAddressLeaseTime(0), 2 * time.Hour},
		{"T1", offer.IPAddressRenewalTime(0), time.Hour},
		{"T2", offer.IPAddressRebindingTime(0), 105 * time.Minute},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

func TestDHCPReplyProtocol(t *testing.T) {
	var logs bytes.Buffer
	s := newDHCP(t, netprov.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	reqIP := func(ip string) dhcpv4.Modifier {
		return dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP(ip)))
	}
	sid := func(ip net.IP) dhcpv4.Modifier { return dhcpv4.WithOption(dhcpv4.OptServerIdentifier(ip)) }
	other := net.IPv4(192, 168, 126, 250)
	tests := []struct {
		name string
		p    *dhcpv4.DHCPv4
		want dhcpv4.MessageType // MessageTypeNone: silence
	}{
		{"discover unknown MAC", packet(t, dhcpv4.MessageTypeDiscover, macX), dhcpv4.MessageTypeNone},
		{"request selecting", packet(t, dhcpv4.MessageTypeRequest, mac0, reqIP("192.168.126.10"), sid(serverID)), dhcpv4.MessageTypeAck},
		{"request wrong IP", packet(t, dhcpv4.MessageTypeRequest, mac0, reqIP("192.168.126.77"), sid(serverID)), dhcpv4.MessageTypeNak},
		{"request another MAC's IP", packet(t, dhcpv4.MessageTypeRequest, mac0, reqIP("192.168.126.11")), dhcpv4.MessageTypeNak},
		{"request for another server", packet(t, dhcpv4.MessageTypeRequest, mac0, reqIP("192.168.126.10"), sid(other)), dhcpv4.MessageTypeNone},
		{"init-reboot right IP", packet(t, dhcpv4.MessageTypeRequest, mac1, reqIP("192.168.126.11")), dhcpv4.MessageTypeAck},
		{"init-reboot unknown MAC", packet(t, dhcpv4.MessageTypeRequest, macX, reqIP("192.168.126.50")), dhcpv4.MessageTypeNone},
		{"selecting unknown MAC", packet(t, dhcpv4.MessageTypeRequest, macX, reqIP("192.168.126.50"), sid(serverID)), dhcpv4.MessageTypeNak},
		{"renewing", packet(t, dhcpv4.MessageTypeRequest, mac0, dhcpv4.WithClientIP(net.ParseIP("192.168.126.10"))), dhcpv4.MessageTypeAck},
		{"renewing wrong IP", packet(t, dhcpv4.MessageTypeRequest, mac0, dhcpv4.WithClientIP(net.ParseIP("192.168.126.99"))), dhcpv4.MessageTypeNak},
		{"request without address", packet(t, dhcpv4.MessageTypeRequest, mac0), dhcpv4.MessageTypeNak},
		{"inform", packet(t, dhcpv4.MessageTypeInform, mac0, dhcpv4.WithClientIP(net.ParseIP("192.168.126.10"))), dhcpv4.MessageTypeAck},
		{"release", packet(t, dhcpv4.MessageTypeRelease, mac0, dhcpv4.WithClientIP(net.ParseIP("192.168.126.10")), sid(serverID)), dhcpv4.MessageTypeNone},
		{"decline", packet(t, dhcpv4.MessageTypeDecline, mac1, reqIP("192.168.126.11"), sid(serverID)), dhcpv4.MessageTypeNone},
		{"a reply is not a request", packet(t, dhcpv4.MessageTypeOffer, mac0, dhcpv4.WithReply(packet(t, dhcpv4.MessageTypeOffer, mac0))), dhcpv4.MessageTypeNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := s.Reply(tc.p)
			gotType := dhcpv4.MessageTypeNone
			if got != nil {
				gotType = got.MessageType()
			}
			if gotType != tc.want {
				t.Fatalf("reply = %v, want %v", gotType, tc.want)
			}
			if got != nil && got.MessageType() == dhcpv4.MessageTypeNak {
				if !got.IsBroadcast() || got.Message() == "" || !got.YourIPAddr.IsUnspecified() {
					t.Errorf("NAK: broadcast=%v message=%q yiaddr=%v", got.IsBroadcast(), got.Message(), got.YourIPAddr)
				}
			}
			if got != nil && tc.p.MessageType() == dhcpv4.MessageTypeInform {
				if !got.YourIPAddr.IsUnspecified() || got.Options.Has(dhcpv4.OptionIPAddressLeaseTime) {
					t.Errorf("ACK to INFORM carries an address or a lease: %v", got.Summary())
				}
			}
		})
	}
	if !strings.Contains(logs.String(), "no reservation for this MAC") || !strings.Contains(logs.String(), macX.String()) {
		t.Errorf("unknown MAC not logged:\n%s", logs.String())
	}
	st := s.Stats()
	if st.Unknown != 3 || st.Naks != 5 || st.Acks != 4 || st.Releases != 1 || st.Declines != 1 || st.Ignored != 2 {
		t.Errorf("stats = %+v", st)
	}
	leases := map[string]netprov.LeaseState{}
	for _, l := range s.Leases() {
		leases[l.IP.String()] = l.State
	}
	if leases["192.168.126.10"] != netprov.LeaseReleased || leases["192.168.126.11"] != netprov.LeaseDeclined {
		t.Errorf("leases = %v", leases)
	}
}

func TestDHCPReservationValidation(t *testing.T) {
	good := testReservations()[0]
	mod := func(f func(*netprov.Reservation)) []netprov.Reservation {
		r := good
		f(&r)
		return []netprov.Reservation{r}
	}
	tests := []struct {
		name string
		rs   []netprov.Reservation
		want string
	}{
		{"no MAC", mod(func(r *netprov.Reservation) { r.MAC = nil }), "reservations[0].mac"},
		{"long MAC", mod(func(r *netprov.Reservation) { r.MAC = make(net.HardwareAddr, 8) }), "6-byte"},
		{"no IP", mod(func(r *netprov.Reservation) { r.IP = netip.Addr{} }), "reservations[0].ip"},
		{"IPv6", mod(func(r *netprov.Reservation) { r.IP = netip.MustParseAddr("fd00::1") }), `"fd00::1"`},
		{"prefix", mod(func(r *netprov.Reservation) { r.Prefix = 33 }), "reservations[0].prefix 33"},
		{"dns", mod(func(r *netprov.Reservation) { r.DNS = []netip.Addr{{}} }), "reservations[0].dns[0]"},
		{"lease", mod(func(r *netprov.Reservation) { r.LeaseTime = -time.Second }), "leaseTime"},
		{"dup MAC", []netprov.Reservation{good, mod(func(r *netprov.Reservation) { r.IP = netip.MustParseAddr("10.0.0.9") })[0]}, "reservations[1].mac 52:54:00:00:00:10: is reserved twice"},
		{"dup IP", []netprov.Reservation{good, mod(func(r *netprov.Reservation) { r.MAC = mac1 })[0]}, "also reserved by reservations[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := netprov.NewDHCPServer(tc.rs, netprov.WithServerID(netip.MustParseAddr("192.168.126.1")))
			if !errors.Is(err, netprov.ErrInvalidReservation) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInvalidReservation mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := netprov.NewDHCPServer(nil); !errors.Is(err, netprov.ErrServerConfig) {
		t.Errorf("0.0.0.0 without server ID: %v", err)
	}
}

func TestDHCPLiveUpdate(t *testing.T) {
	s := newDHCP(t)
	ctx := context.Background()
	ack := s.Reply(packet(t, dhcpv4.MessageTypeRequest, mac0, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP("192.168.126.10")))))
	if ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatal("no ACK before the change")
	}
	rs := testReservations()
	rs[0].IP = netip.MustParseAddr("192.168.126.20")
	rs = append(rs, netprov.Reservation{MAC: macX, IP: netip.MustParseAddr("192.168.126.30"), Prefix: 24})
	if err := s.SetReservations(ctx, rs); err != nil {
		t.Fatal(err)
	}
	// The renewal of the old address is refused; the new one is offered.
	renew := packet(t, dhcpv4.MessageTypeRequest, mac0, dhcpv4.WithClientIP(net.ParseIP("192.168.126.10")))
	if r := s.Reply(renew); r == nil || r.MessageType() != dhcpv4.MessageTypeNak {
		t.Fatalf("renewal of a moved address: %v", r)
	}
	if r := s.Reply(packet(t, dhcpv4.MessageTypeDiscover, mac0)); r == nil || r.YourIPAddr.String() != "192.168.126.20" {
		t.Fatalf("offer after the change: %v", r)
	}
	if r := s.Reply(packet(t, dhcpv4.MessageTypeDiscover, macX)); r == nil || r.YourIPAddr.String() != "192.168.126.30" {
		t.Fatalf("new MAC: %v", r)
	}
	if got := s.Reservations(); len(got) != 3 || got[2].LeaseTime != time.Hour {
		t.Errorf("Reservations() = %+v (default lease time 1h)", got)
	}
	// A bad table is refused and the old one stays.
	if err := s.SetReservations(ctx, []netprov.Reservation{{}}); !errors.Is(err, netprov.ErrInvalidReservation) {
		t.Fatalf("bad table: %v", err)
	}
	if len(s.Reservations()) != 3 {
		t.Fatal("bad table replaced the good one")
	}
}

// startDHCP runs the server on a loopback UDP socket (WithPacketConn).
func startDHCP(t testing.TB, rs []netprov.Reservation) *netprov.DHCPServer {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := netprov.NewDHCPServer(rs, netprov.WithPacketConn(pc))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s
}

func loopbackClient(t testing.TB, server string, hw net.HardwareAddr) *nclient4.Client {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sa, err := net.ResolveUDPAddr("udp4", server)
	if err != nil {
		t.Fatal(err)
	}
	c, err := nclient4.NewWithConn(pc, hw, nclient4.WithServerAddr(sa), nclient4.WithTimeout(time.Second), nclient4.WithRetry(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestDHCPServerDORAOverLoopback(t *testing.T) {
	s := startDHCP(t, testReservations())
	if s.ServerID().String() != "127.0.0.1" {
		t.Fatalf("server ID from the socket = %v", s.ServerID())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, hw := range []net.HardwareAddr{mac0, mac1} {
		wg.Add(1)
		go func(hw net.HardwareAddr) {
			defer wg.Done()
			lease, err := loopbackClient(t, s.Addr(), hw).Request(ctx)
			if err != nil {
				t.Errorf("%s: %v", hw, err)
				return
			}
			if lease.ACK.HostName() == "" || lease.ACK.YourIPAddr.IsUnspecified() {
				t.Errorf("%s: ACK %s", hw, lease.ACK.Summary())
			}
		}(hw)
	}
	wg.Wait()
	// The unknown MAC gets no offer: the client times out.
	if _, err := loopbackClient(t, s.Addr(), macX).DiscoverOffer(ctx); !errors.Is(err, nclient4.ErrNoResponse) {
		t.Fatalf("unknown MAC: %v, want no response", err)
	}
	bound := 0
	for _, l := range s.Leases() {
		if l.State == netprov.LeaseBound && l.Expires.After(time.Now()) {
			bound++
		}
	}
	if st := s.Stats(); bound != 2 || st.Acks != 2 || st.Offers != 2 || st.Unknown < 1 {
		t.Errorf("bound=%d stats=%+v", bound, st)
	}
}

func TestDHCPServerLifecycle(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := netprov.NewDHCPServer(testReservations(), netprov.WithPacketConn(pc))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for s.Addr() == "" && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := loopbackClient(t, s.Addr(), mac0).Request(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	if err := s.Shutdown(context.Background()); !errors.Is(err, netprov.ErrServerState) {
		t.Errorf("second Shutdown: %v", err)
	}
}

// Where replies go (RFC 2131 §4.1): the relay, else a sender that has an
// address, else broadcast to the client port.
func TestDHCPReplyDestination(t *testing.T) {
	s := newDHCP(t)
	bcastPeer := &net.UDPAddr{IP: net.IPv4bcast, Port: 68} // what server4 makes of 0.0.0.0:68
	tests := []struct {
		name string
		p    *dhcpv4.DHCPv4
		peer net.Addr
		want string
	}{
		{"client without an address", packet(t, dhcpv4.MessageTypeDiscover, mac0), bcastPeer, "255.255.255.255:68"},
		{"relayed", packet(t, dhcpv4.MessageTypeDiscover, mac0, dhcpv4.WithRelay(net.ParseIP("10.0.0.1"))),
			&net.UDPAddr{IP: net.ParseIP("10.0.0.1"), Port: 67}, "10.0.0.1:67"},
		{"renewing client", packet(t, dhcpv4.MessageTypeRequest, mac0, dhcpv4.WithClientIP(net.ParseIP("192.168.126.10"))),
			&net.UDPAddr{IP: net.ParseIP("192.168.126.10"), Port: 68}, "192.168.126.10:68"},
		{"NAK without relay", packet(t, dhcpv4.MessageTypeRequest, mac0,
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP("192.168.126.99")))), bcastPeer, "255.255.255.255:68"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &recordConn{}
			s.Handle(c, tc.peer, tc.p)
			if c.to == nil || c.to.String() != tc.want {
				t.Fatalf("reply sent to %v, want %s", c.to, tc.want)
			}
		})
	}
}
