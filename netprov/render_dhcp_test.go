package netprov

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/okvm/okvm/internal/labtest"
)

// The DHCP renderers are checked beyond syntax: each server runs on its
// rendered file in a network namespace of the test's own, and ISC dhclient,
// in a second namespace joined by a veth pair and wearing a planned node's
// MAC, asks it for a lease. Nothing leaves the two namespaces.

var dhcpNetnsSeq atomic.Int32

type dhcpLab struct {
	dir        string
	ip         string // path of ip(8)
	srv, cli   string // namespace names
	srvIf      string // server side of the veth
	cliIf      string
	clientMAC  string
	serverLogs *bytes.Buffer
}

func newDHCPLab(t *testing.T, p *Plan, n Node) *dhcpLab {
	t.Helper()
	labtest.Root(t)
	l := &dhcpLab{dir: t.TempDir(), ip: labtest.Tool(t, "ip"), srvIf: "srv0", cliIf: "cli0", clientMAC: n.MAC.String()}
	id := fmt.Sprintf("%d-%d", os.Getpid(), dhcpNetnsSeq.Add(1))
	l.srv, l.cli = "okvm-npd-s-"+id, "okvm-npd-c-"+id
	must := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(l.ip, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v %s", strings.Join(args, " "), err, out)
		}
	}
	must("netns", "add", l.srv)
	t.Cleanup(func() { exec.Command(l.ip, "netns", "del", l.srv).Run() })
	must("netns", "add", l.cli)
	t.Cleanup(func() { exec.Command(l.ip, "netns", "del", l.cli).Run() })
	// Created inside the server namespace, peer moved straight into the
	// client one: the pair never appears in the host's namespace.
	must("-n", l.srv, "link", "add", l.srvIf, "type", "veth", "peer", "name", l.cliIf, "netns", l.cli)
	must("-n", l.srv, "addr", "add", p.Gateway.String()+"/"+fmt.Sprint(p.Network.Bits()), "dev", l.srvIf)
	must("-n", l.srv, "link", "set", l.srvIf, "up")
	must("-n", l.cli, "link", "set", l.cliIf, "address", l.clientMAC)
	must("-n", l.cli, "link", "set", l.cliIf, "up")
	return l
}

// serve starts a server command inside the server namespace.
func (l *dhcpLab) serve(t *testing.T, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command(l.ip, append([]string{"netns", "exec", l.srv}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	l.serverLogs = &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = l.serverLogs, l.serverLogs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("server log:\n%s", l.serverLogs)
		}
	})
}

// lease runs dhclient in the client namespace until it writes a lease, and
// returns the lease's options (fixed-address under "fixed-address").
func (l *dhcpLab) lease(t *testing.T) map[string]string {
	t.Helper()
	dhclient := labtest.Tool(t, "dhclient")
	conf := filepath.Join(l.dir, "dhclient.conf")
	os.WriteFile(conf, []byte("request subnet-mask, broadcast-address, routers, domain-name-servers, domain-name, domain-search, host-name, dhcp-lease-time;\n"), 0o644)
	leases := filepath.Join(l.dir, "dhclient.leases")
	cmd := exec.Command(l.ip, "netns", "exec", l.cli, dhclient, "-4", "-d", "-v", "-cf", conf, "-lf", leases,
		"-pf", filepath.Join(l.dir, "dhclient.pid"), "-sf", "/bin/true", l.cliIf)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(leases); err == nil && bytes.Contains(b, []byte("fixed-address")) {
			return parseLease(string(b))
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no lease within 45s; dhclient:\n%s\nserver:\n%s", logs.String(), l.serverLogs)
	return nil
}

var leaseLine = regexp.MustCompile(`^\s*(option\s+)?([a-z0-9-]+)\s+(.*);\s*$`)

func parseLease(s string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if m := leaseLine.FindStringSubmatch(line); m != nil {
			out[m[2]] = strings.Trim(m[3], `"`)
		}
	}
	return out
}

// checkLease compares a lease with the node's Reservation. hostname is what
// the server is expected to send as option 12 (servers differ, see doc.go).
func checkLease(t *testing.T, got map[string]string, r Reservation, hostname string) {
	t.Helper()
	t.Logf("lease: %v", got)
	want := map[string]string{
		"fixed-address":       r.IP.String(),
		"routers":             r.Router.String(),
		"domain-name-servers": joinAddrs(r.DNS, ","),
		"domain-name":         r.Domain,
		"dhcp-lease-time":     fmt.Sprint(int64(r.LeaseTime.Seconds())),
		"host-name":           hostname,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("lease %s: got %q, want %q (lease: %v)", k, got[k], v, got)
		}
	}
	if !strings.Contains(got["domain-search"], r.Domain) {
		t.Errorf("lease domain-search %q lacks %s", got["domain-search"], r.Domain)
	}
}

func dhcpPlan(t *testing.T) (*Plan, Node, Reservation) {
	p := mustPlan(t, compactSpec(), false) // two DNS servers, 30m lease, a /26
	n, _ := p.Node("cp-2")
	for _, r := range p.Reservations() {
		if r.IP == n.IP {
			return p, n, r
		}
	}
	t.Fatal("no reservation for cp-2")
	return nil, Node{}, Reservation{}
}

func TestRenderDnsmasqDHCPLease(t *testing.T) {
	dnsmasq := labtest.Tool(t, "dnsmasq")
	p, n, r := dhcpPlan(t)
	l := newDHCPLab(t, p, n)
	conf := filepath.Join(l.dir, "dnsmasq.conf")
	os.WriteFile(conf, p.RenderDnsmasq(), 0o644)
	l.serve(t, nil, dnsmasq, "--keep-in-foreground", "-C", conf, "--no-resolv", "--no-hosts", "--port=0",
		"--interface="+l.srvIf, "--bind-interfaces", "--pid-file=", "--user=root", "--log-facility=-", "--log-dhcp",
		"--dhcp-leasefile="+filepath.Join(l.dir, "dnsmasq.leases"))
	// dnsmasq splits the dhcp-host name at the first dot: option 12 is the
	// short name, option 15 the domain.
	checkLease(t, l.lease(t), r, n.Name)
}

func TestRenderKeaDHCPLease(t *testing.T) {
	kea := labtest.Tool(t, "kea-dhcp4")
	p, n, r := dhcpPlan(t)
	l := newDHCPLab(t, p, n)
	// The rendered file leaves interfaces empty (a host detail); fill it in
	// and keep Kea's lease file in the temp dir, nothing else.
	var cfg map[string]any
	if err := json.Unmarshal(p.RenderKea(), &cfg); err != nil {
		t.Fatal(err)
	}
	d := cfg["Dhcp4"].(map[string]any)
	d["interfaces-config"].(map[string]any)["interfaces"] = []string{l.srvIf}
	d["lease-database"] = map[string]any{"type": "memfile", "persist": true, "name": filepath.Join(l.dir, "kea.leases")}
	b, _ := json.Marshal(cfg)
	conf := filepath.Join(l.dir, "kea.json")
	os.WriteFile(conf, b, 0o644)
	l.serve(t, []string{"KEA_PIDFILE_DIR=" + l.dir, "KEA_LOCKFILE_DIR=" + l.dir, "KEA_LOGGER_DESTINATION=stdout"}, kea, "-c", conf)
	checkLease(t, l.lease(t), r, r.Hostname)
}

func TestRenderDhcpdDHCPLease(t *testing.T) {
	dhcpd := labtest.Tool(t, "dhcpd")
	p, n, r := dhcpPlan(t)
	l := newDHCPLab(t, p, n)
	conf := filepath.Join(l.dir, "dhcpd.conf")
	os.WriteFile(conf, p.RenderDhcpd(), 0o644)
	leases := filepath.Join(l.dir, "dhcpd.leases")
	os.WriteFile(leases, nil, 0o644)
	l.serve(t, nil, dhcpd, "-f", "-d", "-4", "-cf", conf, "-lf", leases, "-pf", filepath.Join(l.dir, "dhcpd.pid"), l.srvIf)
	checkLease(t, l.lease(t), r, r.Hostname)
}
