package netprov

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/okvm/okvm/internal/labtest"
	"github.com/okvm/okvm/internal/netns"
)

// haproxyLab is one namespace with every planned address on lo, the test
// playing each node, and haproxy running the plan's rendered file. down
// says which (node, port) listeners stay closed; unready which API servers
// fail /readyz.
type haproxyLab struct {
	seen func(url string, n int) map[string]int
}

func startHAProxyLab(t *testing.T, p *Plan, down func(node, port string) bool, unready func(node string) bool) *haproxyLab {
	t.Helper()
	labtest.Root(t)
	haproxy := labtest.Tool(t, "haproxy")
	ip := labtest.Tool(t, "ip")

	ns := fmt.Sprintf("okvm-nph-%d-%d", os.Getpid(), haproxySeq.Add(1))
	if out, err := exec.Command(ip, "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command(ip, "netns", "del", ns).Run() })
	addrs := []string{p.API.String(), p.Ingress.String()}
	for _, n := range p.Nodes {
		addrs = append(addrs, n.IP.String())
	}
	exec.Command(ip, "-n", ns, "link", "set", "lo", "up").Run()
	for _, a := range addrs {
		if out, err := exec.Command(ip, "-n", ns, "addr", "add", a+"/32", "dev", "lo").CombinedOutput(); err != nil && !strings.Contains(string(out), "exists") {
			t.Fatalf("addr %s: %v %s", a, err, out)
		}
	}

	cert := selfSigned(t)
	listen := func(addr string) net.Listener {
		var ln net.Listener
		if err := netns.Do(ns, func() (err error) { ln, err = net.Listen("tcp", addr); return }); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		return ln
	}
	for _, n := range p.Nodes {
		name := n.Name
		// 6443: TLS, /readyz 200 unless unready, "/" names the server.
		if !down(name, "6443") {
			api := tls.NewListener(listen(net.JoinHostPort(n.IP.String(), "6443")), &tls.Config{Certificates: []tls.Certificate{cert}})
			go http.Serve(api, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/readyz" && unready(name) {
					http.Error(w, "not ready", http.StatusServiceUnavailable)
					return
				}
				io.WriteString(w, name)
			}))
		}
		for _, port := range []string{"22623", "80", "443"} {
			if !down(name, port) {
				go http.Serve(listen(net.JoinHostPort(n.IP.String(), port)), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) }))
			}
		}
	}

	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	os.WriteFile(cfg, p.RenderHAProxy(), 0o644)
	cmd := exec.Command(ip, "netns", "exec", ns, haproxy, "-db", "-f", cfg)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("haproxy:\n%s", logs.String())
		}
	})

	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true, // one connection per request: round robin is per connection
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
		DialContext: func(ctx context.Context, network, addr string) (c net.Conn, err error) {
			err = netns.Do(ns, func() (err error) {
				c, err = (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, network, addr)
				return
			})
			return
		},
	}}
	seen := func(url string, n int) map[string]int {
		t.Helper()
		got := map[string]int{}
		for i := 0; i < n; i++ {
			var body []byte
			for try := 0; ; try++ { // haproxy needs a moment to bind
				resp, err := client.Get(url)
				if err == nil {
					body, _ = io.ReadAll(resp.Body)
					resp.Body.Close()
					break
				}
				if try > 30 {
					t.Fatalf("GET %s: %v", url, err)
				}
				time.Sleep(100 * time.Millisecond)
			}
			got[string(body)]++
		}
		return got
	}
	return &haproxyLab{seen: seen}
}

var haproxySeq atomic.Int32

func nodeNames(p *Plan, m map[string]int) string {
	var s []string
	for _, n := range p.Nodes {
		if m[n.Name] > 0 {
			s = append(s, n.Name)
		}
	}
	return strings.Join(s, " ")
}

// TestRenderHAProxyBootstrapPhase: early in the install only the bootstrap
// serves 6443 and 22623 (the masters' ports are closed); the backup server
// must then carry both, or no master ever gets its Ignition.
func TestRenderHAProxyBootstrapPhase(t *testing.T) {
	p := mustPlan(t, compactSpec(), false)
	b, _ := p.Bootstrap()
	lab := startHAProxyLab(t, p,
		func(node, port string) bool { return node != b.Name && (port == "6443" || port == "22623") },
		func(string) bool { return false })
	for _, port := range []string{"6443", "22623"} {
		scheme := map[string]string{"6443": "https", "22623": "http"}[port]
		deadline := time.Now().Add(30 * time.Second)
		for {
			got := nodeNames(p, lab.seen(scheme+"://"+p.API.String()+":"+port+"/", 4))
			if got == b.Name {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s reaches %q, want only the bootstrap %q", port, got, b.Name)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
}

// TestRenderHAProxyRoutes runs haproxy on the rendered file in a namespace
// of the test's own, where every planned address sits on lo and the test
// plays each node: API servers answer /readyz over TLS, the MCS and the
// routers name themselves. It checks that the file does what the plan says:
// 6443 reaches the masters (TLS passed through), never the backup
// bootstrap while a master is up, and an API server failing /readyz leaves
// the pool within 30 s; 22623 reaches the control plane; 80 and 443 reach
// the routers (masters here, the plan has no workers).
func TestRenderHAProxyRoutes(t *testing.T) {
	p := mustPlan(t, compactSpec(), false)
	// cp-10's API server turns unready mid-test: the /readyz check must
	// take it out of the pool within 30 s (docs), the others must stay.
	var cp10Down atomic.Bool
	lab := startHAProxyLab(t, p, func(string, string) bool { return false },
		func(node string) bool { return node == "cp-10" && cp10Down.Load() })
	seen := lab.seen
	names := func(m map[string]int) string { return nodeNames(p, m) }
	masters := "cp-1 cp-2 cp-10"
	if got := names(seen("https://"+p.API.String()+":6443/", 9)); got != masters {
		t.Errorf("6443 reached %q, want the masters %q (bootstrap is a backup)", got, masters)
	}
	if got := names(seen("http://"+p.API.String()+":22623/", 12)); got != masters {
		t.Errorf("22623 reached %q, want %q", got, masters)
	}
	// The unready master leaves the pool within 30 s; the ready ones stay
	// (had the TLS check itself been broken, every master would fail it and
	// the backup bootstrap would show up here).
	// Let every check reach full health first (haproxy starts a server at
	// the edge of UP, where one failure drops it), so what is measured is
	// the steady-state fall the docs ask for: 3 failed checks at 5 s.
	if testing.Short() {
		t.Log("-short: not waiting 15-30 s for the /readyz fall")
	} else {
		time.Sleep(16 * time.Second)
		cp10Down.Store(true)
	}
	start := time.Now()
	for !testing.Short() {
		got := names(seen("https://"+p.API.String()+":6443/", 6))
		if got == "cp-1 cp-2" {
			t.Logf("cp-10 left the 6443 pool after %s", time.Since(start).Round(time.Second))
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("after 30s 6443 still reaches %q, want %q", got, "cp-1 cp-2")
		}
		time.Sleep(time.Second)
	}
	if got := names(seen("https://"+p.API.String()+":6443/", 6)); !testing.Short() && got != "cp-1 cp-2" {
		t.Errorf("6443 reached %q after the check settled", got)
	}
	// balance source: one client always lands on the same router.
	for _, port := range []string{"80", "443"} {
		got := seen("http://"+p.Ingress.String()+":"+port+"/", 4)
		if len(got) != 1 || !strings.Contains(masters, names(got)) {
			t.Errorf("%s reached %v, want one master (source persistence)", port, got)
		}
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "api"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
