package netprov_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/okvm/okvm/netprov"
)

// BenchmarkDHCPReply is the protocol logic alone, DISCOVER to OFFER and
// REQUEST to ACK, including encoding the reply.
func BenchmarkDHCPReply(b *testing.B) {
	s := newDHCP(b)
	disc := packet(b, dhcpv4.MessageTypeDiscover, mac0)
	req := packet(b, dhcpv4.MessageTypeRequest, mac0,
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP("192.168.126.10"))),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(serverID)))
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Reply(disc).ToBytes()
		_ = s.Reply(req).ToBytes()
	}
}

// BenchmarkDHCPServerLoopback is DISCOVER→OFFER and REQUEST→ACK over a
// loopback socket through server4's read loop (one op = one DORA).
func BenchmarkDHCPServerLoopback(b *testing.B) {
	s := startDHCP(b, testReservations())
	c, err := net.Dial("udp4", s.Addr())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	disc := packet(b, dhcpv4.MessageTypeDiscover, mac0).ToBytes()
	req := packet(b, dhcpv4.MessageTypeRequest, mac0,
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP("192.168.126.10"))),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IPv4(127, 0, 0, 1)))).ToBytes()
	buf := make([]byte, 1500)
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range [][]byte{disc, req} {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			if _, err := c.Write(p); err != nil {
				b.Fatal(err)
			}
			if _, err := c.Read(buf); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// TestBenchServeDHCP is not a test: scripts/bench-netprov.sh runs the test
// binary inside a throwaway network namespace (ip netns exec) with
// -test.run=TestBenchServeDHCP, to serve the reservations in
// OKVM_BENCH_DHCP_HOSTS ("MAC,IP,name" lines, dnsmasq's --dhcp-hostsfile
// format) on OKVM_BENCH_DHCP_IFACE until SIGTERM or OKVM_BENCH_DURATION.
func TestBenchServeDHCP(t *testing.T) {
	iface := os.Getenv("OKVM_BENCH_DHCP_IFACE")
	if iface == "" {
		t.Skip("benchmark helper: run by scripts/bench-netprov.sh")
	}
	if !strings.HasPrefix(os.Getenv("OKVM_BENCH_NETNS"), "okvm-") {
		t.Fatal("OKVM_BENCH_NETNS must name the okvm-* test namespace this runs in: the server answers broadcasts")
	}
	sid := netip.MustParseAddr(os.Getenv("OKVM_BENCH_DHCP_SERVERID"))
	prefix := netip.MustParsePrefix(os.Getenv("OKVM_BENCH_DHCP_SUBNET"))
	f, err := os.Open(os.Getenv("OKVM_BENCH_DHCP_HOSTS"))
	if err != nil {
		t.Fatal(err)
	}
	var rs []netprov.Reservation
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(strings.TrimSpace(sc.Text()), ",")
		if len(parts) < 3 {
			continue
		}
		mac, err := net.ParseMAC(parts[0])
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, netprov.Reservation{
			MAC: mac, IP: netip.MustParseAddr(parts[1]), Hostname: parts[2], Prefix: prefix.Bits(),
			Router: sid, DNS: []netip.Addr{sid}, Domain: "c1.example.com", LeaseTime: time.Hour,
		})
	}
	f.Close()
	srv, err := netprov.NewDHCPServer(rs, netprov.WithAddr("0.0.0.0:67"), netprov.WithInterface(iface), netprov.WithServerID(sid))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer cancel()
	ctx, cancel2 := context.WithTimeout(ctx, benchDuration())
	defer cancel2()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("okvm-dhcp listening on %s (%s), %d reservations\n", srv.Addr(), iface, len(rs))
	if err := srv.Serve(ctx); err != nil {
		t.Fatal(err)
	}
	st := srv.Stats()
	fmt.Printf("okvm-dhcp stats: %+v\n", st)
}
