package netprov_test

import (
	"context"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/okvm/okvm/internal/labtest"
	"github.com/okvm/okvm/netprov"
)

// digResult is what the tests read from dig's default output.
type digResult struct {
	out    string
	status string
	flags  []string
	answer []string
}

var (
	digStatus = regexp.MustCompile(`status: ([A-Z]+)`)
	digFlags  = regexp.MustCompile(`;; flags: ([a-z ]+);`)
)

// dig runs the real dig against addr (a loopback host:port) with bounded
// time and tries, and parses status, flags and the answer section.
func dig(t *testing.T, addr string, args ...string) digResult {
	t.Helper()
	bin := labtest.Tool(t, "dig")
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	argv := append([]string{"@" + host, "-p", port, "+time=2", "+tries=1", "+nocookie"}, args...)
	out, err := exec.CommandContext(ctx, bin, argv...).CombinedOutput()
	if err != nil {
		t.Fatalf("dig %s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	r := digResult{out: string(out)}
	// With TC followed by a TCP retry dig prints two headers: the last wins.
	if m := digStatus.FindAllStringSubmatch(r.out, -1); len(m) > 0 {
		r.status = m[len(m)-1][1]
	}
	if m := digFlags.FindAllStringSubmatch(r.out, -1); len(m) > 0 {
		r.flags = strings.Fields(m[len(m)-1][1])
	}
	inAnswer := false
	for _, line := range strings.Split(r.out, "\n") {
		switch {
		case strings.HasPrefix(line, ";; ANSWER SECTION:"):
			inAnswer = true
		case line == "" || strings.HasPrefix(line, ";"):
			inAnswer = false
		case inAnswer:
			r.answer = append(r.answer, strings.Join(strings.Fields(line), " "))
		}
	}
	return r
}

func (r digResult) hasFlag(f string) bool {
	for _, x := range r.flags {
		if x == f {
			return true
		}
	}
	return false
}

func TestDNSServerWithDig(t *testing.T) {
	labtest.Tool(t, "dig")
	srv := startDNS(t, testZones(t))
	addr := srv.Addr()

	t.Run("A", func(t *testing.T) {
		r := dig(t, addr, "api.c1.example.com", "A")
		if r.status != "NOERROR" || !r.hasFlag("aa") || len(r.answer) != 1 || r.answer[0] != "api.c1.example.com. 300 IN A 192.168.126.1" {
			t.Fatalf("status %s flags %v answer %q\n%s", r.status, r.flags, r.answer, r.out)
		}
	})
	t.Run("PTR", func(t *testing.T) {
		r := dig(t, addr, "-x", "192.168.126.10")
		if r.status != "NOERROR" || len(r.answer) != 1 || !strings.HasSuffix(r.answer[0], "PTR master-0.c1.example.com.") {
			t.Fatalf("status %s answer %q\n%s", r.status, r.answer, r.out)
		}
	})
	t.Run("wildcard", func(t *testing.T) {
		r := dig(t, addr, "oauth-openshift.apps.c1.example.com", "A")
		if r.status != "NOERROR" || len(r.answer) != 1 || r.answer[0] != "oauth-openshift.apps.c1.example.com. 300 IN A 192.168.126.1" {
			t.Fatalf("status %s answer %q\n%s", r.status, r.answer, r.out)
		}
	})
	t.Run("NXDOMAIN vs NODATA", func(t *testing.T) {
		nx := dig(t, addr, "nope.c1.example.com", "A")
		nodata := dig(t, addr, "txtonly.apps.c1.example.com", "A")
		if nx.status != "NXDOMAIN" || !nx.hasFlag("aa") || !strings.Contains(nx.out, "AUTHORITY: 1") {
			t.Errorf("NXDOMAIN: status %s flags %v\n%s", nx.status, nx.flags, nx.out)
		}
		if nodata.status != "NOERROR" || len(nodata.answer) != 0 || !strings.Contains(nodata.out, "AUTHORITY: 1") {
			t.Errorf("NODATA: status %s answer %q\n%s", nodata.status, nodata.answer, nodata.out)
		}
	})
	t.Run("TCP", func(t *testing.T) {
		r := dig(t, addr, "+tcp", "api-int.c1.example.com", "A")
		if r.status != "NOERROR" || len(r.answer) != 1 || !strings.Contains(r.out, "(TCP)") {
			t.Fatalf("status %s answer %q\n%s", r.status, r.answer, r.out)
		}
	})
	t.Run("bufsize", func(t *testing.T) {
		r := dig(t, addr, "+bufsize=1232", "many.c1.example.com", "A")
		if r.status != "NOERROR" || len(r.answer) != 60 || r.hasFlag("tc") || strings.Contains(r.out, "Truncated") {
			t.Fatalf("status %s flags %v answers %d\n%s", r.status, r.flags, len(r.answer), r.out)
		}
		if !strings.Contains(r.out, "; EDNS: version: 0") || !strings.Contains(r.out, "udp: 1232") {
			t.Errorf("OPT not echoed with our size:\n%s", r.out)
		}
	})
	t.Run("TC then TCP", func(t *testing.T) {
		r := dig(t, addr, "+noedns", "many.c1.example.com", "A")
		if !strings.Contains(r.out, "Truncated, retrying in TCP mode") || len(r.answer) != 60 || r.status != "NOERROR" {
			t.Fatalf("status %s answers %d\n%s", r.status, len(r.answer), r.out)
		}
		ig := dig(t, addr, "+noedns", "+ignore", "many.c1.example.com", "A")
		if !ig.hasFlag("tc") || len(ig.answer) >= 60 {
			t.Fatalf("+ignore: flags %v answers %d\n%s", ig.flags, len(ig.answer), ig.out)
		}
	})
	t.Run("REFUSED without upstream", func(t *testing.T) {
		r := dig(t, addr, "www.example.org", "A")
		if r.status != "REFUSED" {
			t.Fatalf("status %s\n%s", r.status, r.out)
		}
	})
}

func TestDNSServerForwardingWithDig(t *testing.T) {
	labtest.Tool(t, "dig")
	// The "upstream" is a second local server on loopback, never a real one.
	upstream := startDNS(t, []netprov.Zone{{Origin: "example.org.", Records: []dns.RR{
		mustRR(t, "www.example.org. 60 IN A 127.0.0.77"),
	}}})
	srv := startDNS(t, testZones(t), netprov.WithUpstreams(upstream.Addr()))
	for _, extra := range [][]string{nil, {"+tcp"}} {
		r := dig(t, srv.Addr(), append(extra, "www.example.org", "A")...)
		if r.status != "NOERROR" || len(r.answer) != 1 || r.answer[0] != "www.example.org. 60 IN A 127.0.0.77" {
			t.Fatalf("%v: status %s answer %q\n%s", extra, r.status, r.answer, r.out)
		}
		if !r.hasFlag("ra") {
			t.Errorf("%v: no RA flag on a forwarded answer: %v", extra, r.flags)
		}
	}
	if r := dig(t, srv.Addr(), "nothing.example.org", "A"); r.status != "NXDOMAIN" {
		t.Fatalf("forwarded NXDOMAIN: %s\n%s", r.status, r.out)
	}
}
