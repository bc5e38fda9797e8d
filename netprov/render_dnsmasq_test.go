package netprov

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/okvm/okvm/internal/labtest"
)

// netnsDnsmasq runs dnsmasq with args in a network namespace of its own
// (only lo, so nothing it does can leave it) and returns a function that
// digs it there.
func netnsDnsmasq(t *testing.T, args ...string) func(q ...string) string {
	t.Helper()
	labtest.Root(t)
	ip := labtest.Tool(t, "ip")
	dnsmasq := labtest.Tool(t, "dnsmasq")
	dig := labtest.Tool(t, "dig")
	ns := fmt.Sprintf("okvm-np-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	if out, err := exec.Command(ip, "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v %s", ns, err, out)
	}
	t.Cleanup(func() { exec.Command(ip, "netns", "del", ns).Run() })
	if out, err := exec.Command(ip, "-n", ns, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up in %s: %v %s", ns, err, out)
	}
	base := []string{"netns", "exec", ns, dnsmasq, "--keep-in-foreground", "--no-resolv",
		"--no-hosts", "--listen-address=127.0.0.1", "--bind-interfaces", "--port=53", "--pid-file=", "--user=root",
		"--log-facility=-"}
	cmd := exec.Command(ip, append(base, args...)...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("dnsmasq log:\n%s", logs.String())
		}
	})
	return func(q ...string) string {
		a := append([]string{"netns", "exec", ns, dig, "@127.0.0.1", "+short", "+time=1", "+tries=1"}, q...)
		var out string
		for i := 0; i < 30; i++ { // dnsmasq needs a moment to bind
			b, _ := exec.Command(ip, a...).CombinedOutput()
			out = strings.TrimSpace(string(b))
			if !strings.Contains(out, "timed out") && !strings.Contains(out, "refused") {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		return out
	}
}

// TestRenderDnsmasqServes runs dnsmasq on the rendered file and checks it
// answers what an OKD install needs (docs' pre-flight list).
func TestRenderDnsmasqServes(t *testing.T) {
	for _, c := range renderCases {
		t.Run(c.name, func(t *testing.T) {
			p := mustPlan(t, c.spec(), c.drop)
			dir := t.TempDir()
			conf := filepath.Join(dir, "dnsmasq.conf")
			if err := os.WriteFile(conf, p.RenderDnsmasq(), 0o644); err != nil {
				t.Fatal(err)
			}
			// --no-resolv keeps the host's resolv.conf out; the file's own
			// server= lines still apply, but the namespace has only lo, so
			// a forwarded query could not leave it.
			dig := netnsDnsmasq(t, "-C", conf, "--dhcp-leasefile="+filepath.Join(dir, "leases"))
			check := func(want string, q ...string) {
				t.Helper()
				if got := dig(q...); !strings.Contains("\n"+got+"\n", "\n"+want+"\n") {
					t.Errorf("dig %s: got %q, want %q", strings.Join(q, " "), got, want)
				}
			}
			check(p.Ingress.String(), "any-name.apps."+p.Domain)
			check(p.Ingress.String(), "a.b.apps."+p.Domain)
			check(p.API.String(), "api."+p.Domain)
			check(p.API.String(), "api-int."+p.Domain)
			if p.reversePrefix().Contains(p.API) {
				check("api-int."+p.Domain+".", "-x", p.API.String())
				check("api."+p.Domain+".", "-x", p.API.String())
			}
			for _, n := range p.Nodes {
				check(n.IP.String(), n.FQDN)
				check(n.FQDN+".", "-x", n.IP.String())
			}
			_, hasBootstrap := p.Bootstrap()
			if got := dig("bootstrap." + p.Domain); hasBootstrap == (got == "") {
				t.Errorf("bootstrap.%s: got %q with bootstrap=%v", p.Domain, got, hasBootstrap)
			}
			// local=/<domain>/: unknown names are answered (empty), not
			// forwarded.
			if got := dig("nosuchhost." + p.Domain); got != "" {
				t.Errorf("nosuchhost: got %q, want no answer", got)
			}
		})
	}
}

// TestRenderHostsServes loads the rendered hosts file into dnsmasq (which
// reads /etc/hosts syntax) and checks both what it gives and what it cannot:
// a route not listed under apps does not resolve.
func TestRenderHostsServes(t *testing.T) {
	p := mustPlan(t, labSpec(), false)
	file := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(file, p.RenderHosts(), 0o644); err != nil {
		t.Fatal(err)
	}
	dig := netnsDnsmasq(t, "-C", "/dev/null", "--addn-hosts="+file)
	for q, want := range map[string]string{
		"api-int." + p.Domain:                        p.API.String(),
		"console-openshift-console.apps." + p.Domain: p.Ingress.String(),
		"oauth-openshift.apps." + p.Domain:           p.Ingress.String(),
		"master-1." + p.Domain:                       "192.168.126.4",
		"worker-1":                                   "192.168.126.7",
		"my-own-route.apps." + p.Domain:              "", // no wildcard in /etc/hosts
	} {
		if got := dig(q); got != want {
			t.Errorf("dig %s: got %q, want %q", q, got, want)
		}
	}
}
