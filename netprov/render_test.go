package netprov

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/okvm/okvm/internal/labtest"
)

// A flag name of its own: other test files of the package may have -update.
var updateRender = flag.Bool("netprov.update-render", false, "rewrite netprov/testdata/render golden files")

// compactSpec: separate API and ingress VIPs, no workers (routers on the
// masters), a bootstrap not called "bootstrap", a /26 (reverse zone of the
// covering /24), two DNS servers, a pinned and a reserved address.
func compactSpec() PlanSpec {
	return PlanSpec{
		ClusterName:    "compact",
		BaseDomain:     "example.com",
		MachineNetwork: netip.MustParsePrefix("10.0.5.64/26"),
		Gateway:        netip.MustParseAddr("10.0.5.65"),
		DNSServers:     []netip.Addr{netip.MustParseAddr("10.0.5.66"), netip.MustParseAddr("10.0.5.67")},
		UpstreamDNS:    []netip.Addr{netip.MustParseAddr("192.0.2.53")},
		APIAddress:     netip.MustParseAddr("10.0.5.100"),
		IngressAddress: netip.MustParseAddr("10.0.5.101"),
		Reserved:       []netip.Addr{netip.MustParseAddr("10.0.5.69")},
		LeaseTime:      Duration(30 * time.Minute),
		Nodes: []NodeSpec{
			{Name: "cp-2", Role: RoleMaster, MAC: "52:54:00:aa:00:02"},
			{Name: "cp-10", Role: RoleMaster, MAC: "52:54:00:aa:00:0a", IP: netip.MustParseAddr("10.0.5.110")},
			{Name: "cp-1", Role: RoleMaster, MAC: "52:54:00:AA:00:01"},
			{Name: "okd-bootstrap", Role: RoleBootstrap, MAC: "52-54-00-aa-00-ff"},
		},
	}
}

// externalSpec: a /20 (reverse zone of the covering /16) behind a load
// balancer outside the machine network (no PTR for api in this zone).
func externalSpec() PlanSpec {
	return PlanSpec{
		ClusterName:    "ext",
		BaseDomain:     "corp.example.",
		MachineNetwork: netip.MustParsePrefix("172.20.16.0/20"),
		Gateway:        netip.MustParseAddr("172.20.16.1"),
		APIAddress:     netip.MustParseAddr("203.0.113.10"),
		IngressAddress: netip.MustParseAddr("203.0.113.11"),
		Serial:         2026112301,
		TTL:            Duration(time.Minute),
		Nodes: []NodeSpec{
			{Name: "master-0", Role: RoleMaster, MAC: "02:00:00:00:00:10"},
			{Name: "worker-0", Role: RoleWorker, MAC: "02:00:00:00:00:20"},
		},
	}
}

type renderedFile struct {
	name string // golden file suffix, also the temp file name
	data []byte
}

func renderAll(t *testing.T, p *Plan) []renderedFile {
	t.Helper()
	fwd, rev := p.RenderBIND()
	xml, err := p.RenderLibvirtNetwork(LibvirtNetworkOptions{Name: "okvm-" + p.ClusterName, Bridge: "okvm-" + p.ClusterName, Forward: "nat"})
	if err != nil {
		t.Fatal(err)
	}
	return []renderedFile{
		{"fwd.zone", fwd},
		{"rev.zone", rev},
		{"named.conf", p.RenderBINDConf("fwd.zone", "rev.zone")},
		{"dnsmasq.conf", p.RenderDnsmasq()},
		{"hosts", p.RenderHosts()},
		{"libvirt.xml", xml},
		{"kea.json", p.RenderKea()},
		{"dhcpd.conf", p.RenderDhcpd()},
		{"haproxy.cfg", p.RenderHAProxy()},
	}
}

var renderCases = []struct {
	name string
	spec func() PlanSpec
	drop bool
}{
	{"lab", labSpec, false},
	{"lab-nobootstrap", labSpec, true},
	{"compact", compactSpec, false},
	{"external", externalSpec, false},
}

func mustPlan(t testing.TB, s PlanSpec, drop bool) *Plan {
	t.Helper()
	p, err := NewPlan(s)
	if err != nil {
		t.Fatal(err)
	}
	if drop {
		p = p.WithoutBootstrap()
	}
	return p
}

// TestRenderGolden pins every renderer's bytes. Run with
// -netprov.update-render to rewrite, then read the diff.
func TestRenderGolden(t *testing.T) {
	for _, c := range renderCases {
		t.Run(c.name, func(t *testing.T) {
			p := mustPlan(t, c.spec(), c.drop)
			for _, f := range renderAll(t, p) {
				golden := filepath.Join("testdata", "render", c.name+"."+f.name)
				if *updateRender {
					if err := os.WriteFile(golden, f.data, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./netprov/ -run TestRenderGolden -netprov.update-render)", err)
				}
				if !bytes.Equal(f.data, want) {
					t.Errorf("%s differs from %s:\n%s", f.name, golden, f.data)
				}
			}
		})
	}
}

// TestRenderDeterministic: the same spec with nodes in another order gives
// the same bytes, and rendering twice gives the same bytes.
func TestRenderDeterministic(t *testing.T) {
	s := labSpec()
	r := labSpec()
	for i, j := 0, len(r.Nodes)-1; i < j; i, j = i+1, j-1 {
		r.Nodes[i], r.Nodes[j] = r.Nodes[j], r.Nodes[i]
	}
	a := renderAll(t, mustPlan(t, s, false))
	b := renderAll(t, mustPlan(t, r, false))
	c := renderAll(t, mustPlan(t, s, false))
	for i := range a {
		if !bytes.Equal(a[i].data, b[i].data) || !bytes.Equal(a[i].data, c[i].data) {
			t.Errorf("%s: output depends on node order or run", a[i].name)
		}
	}
}

// writeRendered writes every file of a plan into a fresh directory.
func writeRendered(t *testing.T, p *Plan) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range renderAll(t, p) {
		data := f.data
		if f.name == "named.conf" { // named-checkconf -z wants absolute zone paths
			data = p.RenderBINDConf(filepath.Join(dir, "fwd.zone"), filepath.Join(dir, "rev.zone"))
		}
		if err := os.WriteFile(filepath.Join(dir, f.name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// The real tools: each renderer's output must pass the checker of the
// program that will read it.

func TestRenderBINDNamedCheckzone(t *testing.T) {
	tool := labtest.Tool(t, "named-checkzone")
	for _, c := range renderCases {
		t.Run(c.name, func(t *testing.T) {
			p := mustPlan(t, c.spec(), c.drop)
			dir := writeRendered(t, p)
			out := run(t, tool, "-k", "fail", "-n", "fail", p.ForwardZone().Origin, filepath.Join(dir, "fwd.zone"))
			if !strings.Contains(out, "OK") {
				t.Errorf("named-checkzone: %s", out)
			}
			run(t, tool, "-k", "fail", "-n", "fail", p.ReverseOrigin(), filepath.Join(dir, "rev.zone"))
		})
	}
}

func TestRenderBINDNamedCheckconf(t *testing.T) {
	tool := labtest.Tool(t, "named-checkconf")
	for _, c := range renderCases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeRendered(t, mustPlan(t, c.spec(), c.drop))
			run(t, tool, "-z", filepath.Join(dir, "named.conf"))
		})
	}
}

func TestRenderDnsmasqTest(t *testing.T) {
	tool := labtest.Tool(t, "dnsmasq")
	for _, c := range renderCases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeRendered(t, mustPlan(t, c.spec(), c.drop))
			out := run(t, tool, "--test", "-C", filepath.Join(dir, "dnsmasq.conf"))
			if !strings.Contains(out, "syntax check OK") {
				t.Errorf("dnsmasq --test: %s", out)
			}
		})
	}
}

func TestRenderKeaTest(t *testing.T) {
	tool := labtest.Tool(t, "kea-dhcp4")
	for _, c := range renderCases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeRendered(t, mustPlan(t, c.spec(), c.drop))
			run(t, tool, "-t", filepath.Join(dir, "kea.json"))
		})
	}
}

func TestRenderDhcpdTest(t *testing.T) {
	tool := labtest.Tool(t, "dhcpd")
	for _, c := range renderCases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeRendered(t, mustPlan(t, c.spec(), c.drop))
			// -lf: dhcpd -t still opens no lease file, but give it one in
			// the temp dir so it never looks at /var/lib/dhcp.
			run(t, tool, "-t", "-4", "-cf", filepath.Join(dir, "dhcpd.conf"), "-lf", filepath.Join(dir, "dhcpd.leases"))
		})
	}
}

func TestRenderHAProxyCheck(t *testing.T) {
	tool := labtest.Tool(t, "haproxy")
	for _, c := range renderCases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeRendered(t, mustPlan(t, c.spec(), c.drop))
			run(t, tool, "-c", "-f", filepath.Join(dir, "haproxy.cfg"))
		})
	}
}
