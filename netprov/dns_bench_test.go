package netprov_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/okvm/okvm/netprov"
)

// BenchmarkDNSServeDNS is the handler alone: lookup, response, truncation
// check, no socket.
func BenchmarkDNSServeDNS(b *testing.B) {
	srv, err := netprov.NewDNSServer(testZones(b))
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range []struct{ name, qname string }{
		{"A", "api.c1.example.com."},
		{"wildcard", "console-openshift-console.apps.c1.example.com."},
		{"NXDOMAIN", "nope.c1.example.com."},
	} {
		b.Run(q.name, func(b *testing.B) {
			req := new(dns.Msg).SetQuestion(q.qname, dns.TypeA)
			w := &fuzzWriter{}
			b.ReportAllocs()
			for b.Loop() {
				srv.ServeDNS(w, req)
			}
		})
	}
}

// BenchmarkDNSServerUDP is a full round trip over loopback UDP: pack,
// sendto, the server's read loop, handler, write, unpack. Parallel clients
// keep several queries in flight, as a resolver would.
func BenchmarkDNSServerUDP(b *testing.B) {
	srv := startDNS(b, testZones(b), netprov.WithUDPSockets(runtime.GOMAXPROCS(0)))
	req := new(dns.Msg).SetQuestion("api.c1.example.com.", dns.TypeA)
	wire, _ := req.Pack()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.Dial("udp", srv.Addr())
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		buf := make([]byte, 1232)
		for pb.Next() {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			if _, err := c.Write(wire); err != nil {
				b.Error(err)
				return
			}
			if _, err := c.Read(buf); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// zonesFromHosts builds the forward zone(s) and /24 reverse zones from a
// hosts file ("IP name…" lines), the same input dnsmasq's --addn-hosts
// reads, so both servers serve exactly the same records in benchmarks.
// wildcard is "domain=IP" (dnsmasq's --address=/domain/IP) or empty.
func zonesFromHosts(path, origin, wildcard string) ([]netprov.Zone, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	origin = dns.Fqdn(origin)
	fwd := netprov.Zone{Origin: origin}
	rev := map[string]*netprov.Zone{}
	var order []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(strings.SplitN(sc.Text(), "#", 2)[0])
		if len(fields) < 2 {
			continue
		}
		ip, err := netip.ParseAddr(fields[0])
		if err != nil || !ip.Is4() {
			return nil, fmt.Errorf("%s: bad address %q", path, fields[0])
		}
		for i, name := range fields[1:] {
			fqdn := dns.Fqdn(name)
			fwd.Records = append(fwd.Records, &dns.A{Hdr: dns.RR_Header{Name: fqdn, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 0}, A: ip.AsSlice()})
			if i > 0 {
				continue // like dnsmasq: the first name on a line is the one PTR returns
			}
			a := ip.As4()
			ro := fmt.Sprintf("%d.%d.%d.in-addr.arpa.", a[2], a[1], a[0])
			if rev[ro] == nil {
				rev[ro] = &netprov.Zone{Origin: ro}
				order = append(order, ro)
			}
			rev[ro].Records = append(rev[ro].Records, &dns.PTR{
				Hdr: dns.RR_Header{Name: fmt.Sprintf("%d.%s", a[3], ro), Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 0}, Ptr: fqdn})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if wildcard != "" {
		dom, ipS, ok := strings.Cut(wildcard, "=")
		ip, err := netip.ParseAddr(ipS)
		if !ok || err != nil {
			return nil, fmt.Errorf("wildcard %q: want domain=IP", wildcard)
		}
		fwd.Records = append(fwd.Records, &dns.A{Hdr: dns.RR_Header{Name: "*." + dns.Fqdn(dom), Rrtype: dns.TypeA, Class: dns.ClassINET}, A: ip.AsSlice()})
	}
	zones := []netprov.Zone{fwd}
	for _, o := range order {
		zones = append(zones, *rev[o])
	}
	return zones, nil
}

// benchDuration reads OKVM_BENCH_DURATION, bounded so a forgotten server
// always stops by itself.
func benchDuration() time.Duration {
	d, err := time.ParseDuration(os.Getenv("OKVM_BENCH_DURATION"))
	if err != nil || d <= 0 || d > 10*time.Minute {
		d = 2 * time.Minute
	}
	return d
}

// TestBenchServeDNS is not a test: scripts/bench-netprov.sh runs the
// compiled test binary with -test.run=TestBenchServeDNS to get the embedded
// server serving a hosts file on a loopback port until SIGTERM or
// OKVM_BENCH_DURATION. Without OKVM_BENCH_DNS_ADDR it skips.
func TestBenchServeDNS(t *testing.T) {
	addr := os.Getenv("OKVM_BENCH_DNS_ADDR")
	if addr == "" {
		t.Skip("benchmark helper: run by scripts/bench-netprov.sh")
	}
	if host, _, err := net.SplitHostPort(addr); err != nil || !net.ParseIP(host).IsLoopback() {
		t.Fatalf("OKVM_BENCH_DNS_ADDR %q: want a loopback host:port", addr)
	}
	zones, err := zonesFromHosts(os.Getenv("OKVM_BENCH_DNS_HOSTS"), os.Getenv("OKVM_BENCH_DNS_ORIGIN"), os.Getenv("OKVM_BENCH_DNS_WILDCARD"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := netprov.NewDNSServer(zones, netprov.WithAddr(addr), netprov.WithUDPSockets(runtime.GOMAXPROCS(0)))
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
	fmt.Printf("okvm-dns listening on %s\n", srv.Addr())
	if err := srv.Serve(ctx); err != nil {
		t.Fatal(err)
	}
	st := srv.Stats()
	fmt.Printf("okvm-dns stats: queries=%d rcodes=%v truncated=%d\n", st.Queries, st.Rcodes, st.Truncated)
}
