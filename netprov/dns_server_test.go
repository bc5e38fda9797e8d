package netprov_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/okvm/okvm/netprov"
)

const testOrigin = "c1.example.com."

func mustRR(t testing.TB, s string) dns.RR {
	t.Helper()
	rr, err := dns.NewRR(s)
	if err != nil {
		t.Fatalf("NewRR(%q): %v", s, err)
	}
	return rr
}

// testZones is a cluster zone shaped like a Plan's, plus the names that
// make the interesting cases: a name under apps with only a TXT record (it
// exists, so the wildcard must not match it), a deeper name that turns
// x.apps into an empty non-terminal, a CNAME, and 60 A records that do not
// fit in 512 bytes.
func testZones(t testing.TB) []netprov.Zone {
	fwd := []string{
		"c1.example.com. 300 IN SOA ns1.c1.example.com. hostmaster.c1.example.com. 7 3600 600 86400 60",
		"c1.example.com. 300 IN NS ns1.c1.example.com.",
		"ns1.c1.example.com. 300 IN A 192.168.126.1",
		"api.c1.example.com. 300 IN A 192.168.126.1",
		"api-int.c1.example.com. 300 IN A 192.168.126.1",
		"*.apps.c1.example.com. 300 IN A 192.168.126.1",
		"txtonly.apps.c1.example.com. 300 IN TXT \"not a wildcard match\"",
		"deep.x.apps.c1.example.com. 300 IN A 192.168.126.99",
		"bootstrap.c1.example.com. 300 IN A 192.168.126.9",
		"master-0.c1.example.com. 300 IN A 192.168.126.10",
		"www.c1.example.com. 300 IN CNAME api.c1.example.com.",
	}
	var recs []dns.RR
	for _, s := range fwd {
		recs = append(recs, mustRR(t, s))
	}
	for i := 0; i < 60; i++ {
		recs = append(recs, mustRR(t, fmt.Sprintf("many.c1.example.com. 300 IN A 10.0.%d.%d", i/250, i%250+1)))
	}
	rev := []dns.RR{
		mustRR(t, "1.126.168.192.in-addr.arpa. 300 IN PTR api.c1.example.com."),
		mustRR(t, "9.126.168.192.in-addr.arpa. 300 IN PTR bootstrap.c1.example.com."),
		mustRR(t, "10.126.168.192.in-addr.arpa. 300 IN PTR master-0.c1.example.com."),
	}
	return []netprov.Zone{
		{Origin: testOrigin, Records: recs},
		{Origin: "126.168.192.in-addr.arpa", Records: rev}, // no SOA, no final dot: both are synthesised
	}
}

func startDNS(t testing.TB, zones []netprov.Zone, opts ...netprov.ServerOption) *netprov.DNSServer {
	t.Helper()
	srv, err := netprov.NewDNSServer(zones, append([]netprov.ServerOption{netprov.WithAddr("127.0.0.1:0")}, opts...)...)
	if err != nil {
		t.Fatalf("NewDNSServer: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return srv
}

type query struct {
	name  string
	qtype uint16
	net   string // "udp" (default) or "tcp"
	edns  uint16 // 0: no OPT record
	ver   uint8
}

func ask(t testing.TB, addr string, q query) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(q.name, q.qtype)
	if q.edns > 0 {
		m.SetEdns0(q.edns, true)
		m.IsEdns0().SetVersion(q.ver)
	}
	c := &dns.Client{Net: q.net, Timeout: 3 * time.Second, UDPSize: q.edns}
	if c.Net == "" {
		c.Net = "udp"
	}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("exchange %s %s over %s: %v", q.name, dns.TypeToString[q.qtype], c.Net, err)
	}
	return r
}

func answers(r *dns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		out = append(out, strings.ReplaceAll(rr.String(), "\t", " "))
	}
	return out
}

func TestDNSServerAnswers(t *testing.T) {
	srv := startDNS(t, testZones(t))
	addr := srv.Addr()
	tests := []struct {
		name    string
		q       query
		rcode   int
		answer  []string
		aa      bool
		soaAuth bool
	}{
		{"A", query{name: "api.c1.example.com.", qtype: dns.TypeA}, dns.RcodeSuccess,
			[]string{"api.c1.example.com. 300 IN A 192.168.126.1"}, true, false},
		{"case-insensitive", query{name: "API-Int.C1.Example.COM.", qtype: dns.TypeA}, dns.RcodeSuccess,
			[]string{"api-int.c1.example.com. 300 IN A 192.168.126.1"}, true, false},
		{"PTR", query{name: "10.126.168.192.in-addr.arpa.", qtype: dns.TypePTR}, dns.RcodeSuccess,
			[]string{"10.126.168.192.in-addr.arpa. 300 IN PTR master-0.c1.example.com."}, true, false},
		{"wildcard", query{name: "console-openshift-console.apps.c1.example.com.", qtype: dns.TypeA}, dns.RcodeSuccess,
			[]string{"console-openshift-console.apps.c1.example.com. 300 IN A 192.168.126.1"}, true, false},
		{"wildcard deeper", query{name: "a.b.apps.c1.example.com.", qtype: dns.TypeA}, dns.RcodeSuccess,
			[]string{"a.b.apps.c1.example.com. 300 IN A 192.168.126.1"}, true, false},
		{"wildcard other type is NODATA", query{name: "foo.apps.c1.example.com.", qtype: dns.TypeAAAA}, dns.RcodeSuccess,
			nil, true, true},
		{"existing name is not wildcard-matched", query{name: "txtonly.apps.c1.example.com.", qtype: dns.TypeA}, dns.RcodeSuccess,
			nil, true, true},
		{"empty non-terminal is NODATA", query{name: "x.apps.c1.example.com.", qtype: dns.TypeA}, dns.RcodeSuccess,
			nil, true, true},
		{"below an empty non-terminal: no wildcard", query{name: "y.x.apps.c1.example.com.", qtype: dns.TypeA}, dns.RcodeNameError,
			nil, true, true},
		{"apps itself is NODATA", query{name: "apps.c1.example.com.", qtype: dns.TypeA}, dns.RcodeSuccess,
			nil, true, true},
		{"NODATA", query{name: "api.c1.example.com.", qtype: dns.TypeAAAA}, dns.RcodeSuccess,
			nil, true, true},
		{"NXDOMAIN", query{name: "nope.c1.example.com.", qtype: dns.TypeA}, dns.RcodeNameError,
			nil, true, true},
		{"NXDOMAIN reverse", query{name: "77.126.168.192.in-addr.arpa.", qtype: dns.TypePTR}, dns.RcodeNameError,
			nil, true, true},
		{"CNAME followed", query{name: "www.c1.example.com.", qtype: dns.TypeA}, dns.RcodeSuccess,
			[]string{"www.c1.example.com. 300 IN CNAME api.c1.example.com.", "api.c1.example.com. 300 IN A 192.168.126.1"}, true, false},
		{"foreign name without upstream", query{name: "example.org.", qtype: dns.TypeA}, dns.RcodeRefused,
			nil, false, false},
		{"zone transfer refused", query{name: testOrigin, qtype: dns.TypeAXFR, net: "tcp"}, dns.RcodeRefused,
			nil, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ask(t, addr, tc.q)
			if r.Rcode != tc.rcode {
				t.Fatalf("rcode = %s, want %s\n%v", dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode], r)
			}
			if r.Authoritative != tc.aa {
				t.Errorf("AA = %v, want %v", r.Authoritative, tc.aa)
			}
			if got := answers(r); strings.Join(got, "\n") != strings.Join(tc.answer, "\n") {
				t.Errorf("answer =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.answer, "\n"))
			}
			gotSOA := len(r.Ns) == 1 && r.Ns[0].Header().Rrtype == dns.TypeSOA
			if gotSOA != tc.soaAuth {
				t.Errorf("SOA in authority = %v, want %v: %v", gotSOA, tc.soaAuth, r.Ns)
			}
		})
	}
}

func TestDNSServerNegativeTTL(t *testing.T) {
	srv := startDNS(t, testZones(t))
	r := ask(t, srv.Addr(), query{name: "nope.c1.example.com.", qtype: dns.TypeA})
	// RFC 2308 §3: the SOA's TTL is min(TTL, MINIMUM) = min(300, 60).
	if len(r.Ns) != 1 || r.Ns[0].Header().Ttl != 60 {
		t.Fatalf("authority = %v, want the SOA with TTL 60", r.Ns)
	}
	// The reverse zone brought no SOA: one is synthesised for it.
	r = ask(t, srv.Addr(), query{name: "126.168.192.in-addr.arpa.", qtype: dns.TypeSOA})
	if len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != dns.TypeSOA || !r.Authoritative {
		t.Fatalf("synthesised SOA: %v", r)
	}
}

func TestDNSServerEDNSAndTruncation(t *testing.T) {
	srv := startDNS(t, testZones(t))
	addr := srv.Addr()

	// Without EDNS the 60 records do not fit in 512 bytes: TC set, partial answer.
	r := ask(t, addr, query{name: "many.c1.example.com.", qtype: dns.TypeA})
	if !r.Truncated || len(r.Answer) >= 60 {
		t.Fatalf("no EDNS: TC=%v with %d answers, want TC and fewer than 60", r.Truncated, len(r.Answer))
	}
	if r.IsEdns0() != nil {
		t.Errorf("OPT in the answer to a query without one")
	}
	// The same over TCP: everything.
	r = ask(t, addr, query{name: "many.c1.example.com.", qtype: dns.TypeA, net: "tcp"})
	if r.Truncated || len(r.Answer) != 60 {
		t.Fatalf("TCP: TC=%v with %d answers, want 60", r.Truncated, len(r.Answer))
	}
	// With a 1232-byte EDNS buffer it fits in UDP, and OPT is echoed (DO too).
	r = ask(t, addr, query{name: "many.c1.example.com.", qtype: dns.TypeA, edns: 1232})
	if r.Truncated || len(r.Answer) != 60 {
		t.Fatalf("EDNS 1232: TC=%v with %d answers, want 60", r.Truncated, len(r.Answer))
	}
	opt := r.IsEdns0()
	if opt == nil || !opt.Do() || opt.Version() != 0 {
		t.Fatalf("OPT not echoed: %v", r.Extra)
	}
	// A client size below 512 counts as 512 (RFC 6891 §6.2.5).
	r = ask(t, addr, query{name: "many.c1.example.com.", qtype: dns.TypeA, edns: 100})
	if !r.Truncated {
		t.Errorf("EDNS 100: not truncated")
	}
	if st := srv.Stats(); st.Truncated != 2 || st.TCP != 1 {
		t.Errorf("stats: truncated=%d tcp=%d, want 2 and 1", st.Truncated, st.TCP)
	}
	// An unknown EDNS version gets BADVERS with an OPT carrying version 0.
	r = ask(t, addr, query{name: "api.c1.example.com.", qtype: dns.TypeA, edns: 1232, ver: 1})
	if r.Rcode != dns.RcodeBadVers || r.IsEdns0() == nil || r.IsEdns0().Version() != 0 {
		t.Fatalf("EDNS version 1: rcode %s, OPT %v", dns.RcodeToString[r.Rcode], r.IsEdns0())
	}
}

func TestDNSServerForwards(t *testing.T) {
	upstream := startDNS(t, []netprov.Zone{{Origin: "example.org.", Records: []dns.RR{
		mustRR(t, "www.example.org. 60 IN A 127.0.0.77"),
	}}})
	srv := startDNS(t, testZones(t), netprov.WithUpstreams(upstream.Addr()))
	for _, network := range []string{"udp", "tcp"} {
		r := ask(t, srv.Addr(), query{name: "www.example.org.", qtype: dns.TypeA, net: network})
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "127.0.0.77" {
			t.Fatalf("%s: forwarded answer = %v", network, r)
		}
	}
	// Our own zone is still answered by us, with RA now that we recurse.
	r := ask(t, srv.Addr(), query{name: "api.c1.example.com.", qtype: dns.TypeA})
	if !r.Authoritative || !r.RecursionAvailable {
		t.Errorf("own zone with upstreams: AA=%v RA=%v", r.Authoritative, r.RecursionAvailable)
	}
	if st := srv.Stats(); st.Forwarded != 2 || st.ForwardErrors != 0 {
		t.Errorf("stats = %+v", st)
	}
	if st := upstream.Stats(); st.Queries != 2 {
		t.Errorf("upstream saw %d queries, want 2", st.Queries)
	}
}

func TestDNSServerForwardFailureIsSERVFAIL(t *testing.T) {
	// An upstream that is started and stopped: its port is closed, so the
	// forward fails fast on loopback.
	dead, err := netprov.NewDNSServer(nil, netprov.WithAddr("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := dead.Start(ctx); err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr()
	if err := dead.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	srv := startDNS(t, testZones(t), netprov.WithUpstreams(deadAddr), netprov.WithForwardTimeout(500*time.Millisecond))
	r := ask(t, srv.Addr(), query{name: "www.example.org.", qtype: dns.TypeA})
	if r.Rcode != dns.RcodeServerFailure {
		t.Fatalf("rcode = %s, want SERVFAIL", dns.RcodeToString[r.Rcode])
	}
	if st := srv.Stats(); st.ForwardErrors != 1 || st.Rcodes["SERVFAIL"] != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestDNSServerLiveUpdate(t *testing.T) {
	srv := startDNS(t, testZones(t))
	addr := srv.Addr()
	ctx := context.Background()
	if r := ask(t, addr, query{name: "bootstrap.c1.example.com.", qtype: dns.TypeA}); len(r.Answer) != 1 {
		t.Fatalf("bootstrap before removal: %v", r)
	}
	err := srv.Update(ctx, func(zs []netprov.Zone) ([]netprov.Zone, error) {
		for i := range zs {
			zs[i] = zs[i].Without("bootstrap.c1.example.com")
		}
		return zs, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := ask(t, addr, query{name: "bootstrap.c1.example.com.", qtype: dns.TypeA}); r.Rcode != dns.RcodeNameError {
		t.Fatalf("bootstrap after removal: %v", r)
	}
	if r := ask(t, addr, query{name: "9.126.168.192.in-addr.arpa.", qtype: dns.TypePTR}); r.Rcode != dns.RcodeNameError {
		t.Fatalf("bootstrap PTR after removal: %v", r)
	}
	// A bad change is refused and the served zones stay as they were.
	bad := []netprov.Zone{{Origin: "c1.example.com.", Records: []dns.RR{mustRR(t, "api.other.org. 60 IN A 10.0.0.1")}}}
	if err := srv.SetZones(ctx, bad); !errors.Is(err, netprov.ErrInvalidZone) {
		t.Fatalf("SetZones(bad) = %v, want ErrInvalidZone", err)
	}
	if r := ask(t, addr, query{name: "api.c1.example.com.", qtype: dns.TypeA}); len(r.Answer) != 1 {
		t.Fatalf("api after a refused change: %v", r)
	}
	if got := len(srv.Zones()); got != 2 {
		t.Errorf("Zones() has %d zones, want 2", got)
	}
}

func TestDNSServerConcurrentUpdates(t *testing.T) {
	srv := startDNS(t, testZones(t))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		zones := testZones(t)
		for i := 0; i < 50 && ctx.Err() == nil; i++ {
			if err := srv.SetZones(ctx, zones); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := 0; i < 100; i++ {
		if r := ask(t, srv.Addr(), query{name: "api.c1.example.com.", qtype: dns.TypeA}); len(r.Answer) != 1 {
			t.Fatalf("query %d during updates: %v", i, r)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestDNSZoneValidation(t *testing.T) {
	a := mustRR(t, "api.c1.example.com. 60 IN A 10.0.0.1")
	tests := []struct {
		name  string
		zones []netprov.Zone
		want  string
	}{
		{"empty origin", []netprov.Zone{{}}, "zones[0].origin is empty"},
		{"bad origin", []netprov.Zone{{Origin: "a..b"}}, `zones[0].origin "a..b"`},
		{"duplicate", []netprov.Zone{{Origin: "a.b."}, {Origin: "A.B"}}, `zones[1].origin "A.B" is given twice`},
		{"nil record", []netprov.Zone{{Origin: testOrigin, Records: []dns.RR{a, nil}}}, "zones[0].records[1] is nil"},
		{"outside", []netprov.Zone{{Origin: "other.org.", Records: []dns.RR{a}}}, `owner "api.c1.example.com." is outside origin "other.org."`},
		{"no type", []netprov.Zone{{Origin: testOrigin, Records: []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: "x.c1.example.com."}}}}}, "has type 0"},
		{"CNAME and data", []netprov.Zone{{Origin: testOrigin, Records: []dns.RR{a, mustRR(t, "api.c1.example.com. 60 IN CNAME x.c1.example.com.")}}}, "has a CNAME and other data"},
		{"two SOA", []netprov.Zone{{Origin: testOrigin, Records: []dns.RR{
			mustRR(t, "c1.example.com. 60 IN SOA a. b. 1 2 3 4 5"), mustRR(t, "c1.example.com. 60 IN SOA a. b. 2 2 3 4 5")}}}, "more than one SOA"},
		{"SOA off apex", []netprov.Zone{{Origin: testOrigin, Records: []dns.RR{mustRR(t, "x.c1.example.com. 60 IN SOA a. b. 1 2 3 4 5")}}}, "is not the origin"},
		{"class", []netprov.Zone{{Origin: testOrigin, Records: []dns.RR{mustRR(t, "x.c1.example.com. 60 CH A 10.0.0.1")}}}, "class CH"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := netprov.NewDNSServer(tc.zones)
			if !errors.Is(err, netprov.ErrInvalidZone) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInvalidZone mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := netprov.NewDNSServer(nil, netprov.WithUpstreams("no-port")); !errors.Is(err, netprov.ErrServerConfig) {
		t.Errorf("bad upstream: %v", err)
	}
}

func TestDNSServerLifecycle(t *testing.T) {
	srv, err := netprov.NewDNSServer(testZones(t), netprov.WithAddr("127.0.0.1:0"), netprov.WithUDPSockets(2))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Shutdown(context.Background()); !errors.Is(err, netprov.ErrServerState) {
		t.Errorf("Shutdown before Start = %v, want ErrServerState", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Addr() == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for i := 0; i < 20; i++ { // several queries so both SO_REUSEPORT sockets likely see some
		if r := ask(t, srv.Addr(), query{name: "api.c1.example.com.", qtype: dns.TypeA}); len(r.Answer) != 1 {
			t.Fatalf("answer: %v", r)
		}
	}
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve returned %v after cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if err := srv.Start(context.Background()); !errors.Is(err, netprov.ErrServerState) {
		t.Errorf("Start after Shutdown = %v, want ErrServerState", err)
	}
	if st := srv.Stats(); st.Queries != 20 || st.Rcodes["NOERROR"] != 20 {
		t.Errorf("stats = %+v", st)
	}
}

// Datagrams that do not unpack: FORMERR when the header is readable (as
// miekg/dns's own server answers), silence for runts and for responses.
func TestDNSServerMalformedDatagrams(t *testing.T) {
	srv := startDNS(t, testZones(t))
	c, err := net.Dial("udp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	read := func() *dns.Msg {
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		buf := make([]byte, 512)
		n, err := c.Read(buf)
		if err != nil {
			return nil
		}
		m := new(dns.Msg)
		if err := m.Unpack(buf[:n]); err != nil {
			t.Fatalf("server sent garbage: %v", err)
		}
		return m
	}
	// A header that claims one question, then nothing.
	c.Write([]byte{0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'a'})
	if m := read(); m == nil || m.Id != 0xbeef || m.Rcode != dns.RcodeFormatError || !m.Response {
		t.Fatalf("truncated question: %v", m)
	}
	c.Write([]byte{1, 2, 3})
	if m := read(); m != nil {
		t.Fatalf("runt answered: %v", m)
	}
	resp := new(dns.Msg).SetQuestion("api.c1.example.com.", dns.TypeA)
	resp.Response = true
	b, _ := resp.Pack()
	c.Write(b)
	if m := read(); m != nil {
		t.Fatalf("a response was answered: %v", m)
	}
	// The server is still fine.
	if r := ask(t, srv.Addr(), query{name: "api.c1.example.com.", qtype: dns.TypeA}); len(r.Answer) != 1 {
		t.Fatalf("after garbage: %v", r)
	}
}

func TestDNSServerWithPacketConn(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := netprov.NewDNSServer(testZones(t), netprov.WithPacketConn(pc))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if srv.Addr() != pc.LocalAddr().String() {
		t.Errorf("Addr() = %s, want the given socket's %s", srv.Addr(), pc.LocalAddr())
	}
	if r := ask(t, srv.Addr(), query{name: "api.c1.example.com.", qtype: dns.TypeA}); len(r.Answer) != 1 {
		t.Fatalf("answer over the given socket: %v", r)
	}
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.WriteTo([]byte{0}, pc.LocalAddr()); err == nil {
		t.Error("Shutdown left the given socket open")
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	only, _ := netprov.NewDNSServer(nil, netprov.WithListener(ln))
	if err := only.Start(ctx); !errors.Is(err, netprov.ErrServerConfig) {
		t.Errorf("WithListener alone: %v, want ErrServerConfig", err)
	}
}
