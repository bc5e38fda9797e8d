package netprov

import (
	"fmt"
	"net/netip"
	"testing"
)

// bigSpec: bootstrap, 3 masters and 100 workers on a /24, none pinned.
func bigSpec() PlanSpec {
	s := PlanSpec{
		ClusterName:    "big",
		BaseDomain:     "okd.example",
		MachineNetwork: netip.MustParsePrefix("192.168.126.0/24"),
		Gateway:        netip.MustParseAddr("192.168.126.1"),
		APIAddress:     netip.MustParseAddr("192.168.126.1"),
		UpstreamDNS:    []netip.Addr{netip.MustParseAddr("192.0.2.53")},
		Nodes:          []NodeSpec{{Name: "bootstrap", Role: RoleBootstrap, MAC: "52:54:00:01:00:00"}},
	}
	for i := 0; i < 3; i++ {
		s.Nodes = append(s.Nodes, NodeSpec{Name: fmt.Sprintf("master-%d", i), Role: RoleMaster, MAC: fmt.Sprintf("52:54:00:02:00:%02x", i)})
	}
	for i := 0; i < 100; i++ {
		s.Nodes = append(s.Nodes, NodeSpec{Name: fmt.Sprintf("worker-%d", i), Role: RoleWorker, MAC: fmt.Sprintf("52:54:00:03:00:%02x", i)})
	}
	return s
}

// renderEverything is what a user building all three delivery paths does.
func renderEverything(b testing.TB, p *Plan) int {
	n := 0
	n += len(p.Zones())
	n += len(p.Reservations())
	n += len(p.LoadBalancer().Frontends)
	fwd, rev := p.RenderBIND()
	n += len(fwd) + len(rev)
	n += len(p.RenderDnsmasq()) + len(p.RenderHosts()) + len(p.RenderKea()) + len(p.RenderDhcpd()) + len(p.RenderHAProxy())
	x, err := p.RenderLibvirtNetwork(LibvirtNetworkOptions{Name: "big", Forward: "nat"})
	if err != nil {
		b.Fatal(err)
	}
	return n + len(x)
}

// BenchmarkPlanAndRenderAll: NewPlan plus every renderer for 3 masters +
// 100 workers (+ bootstrap). Budget: 10 ms per op.
func BenchmarkPlanAndRenderAll(b *testing.B) {
	s := bigSpec()
	b.ReportAllocs()
	for b.Loop() {
		p, err := NewPlan(s)
		if err != nil {
			b.Fatal(err)
		}
		renderEverything(b, p)
	}
}

func BenchmarkNewPlan(b *testing.B) {
	s := bigSpec()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewPlan(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	p, err := NewPlan(bigSpec())
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range []struct {
		name string
		f    func()
	}{
		{"Zones", func() { p.Zones() }},
		{"BIND", func() { p.RenderBIND() }},
		{"Dnsmasq", func() { p.RenderDnsmasq() }},
		{"Hosts", func() { p.RenderHosts() }},
		{"Libvirt", func() { p.RenderLibvirtNetwork(LibvirtNetworkOptions{Name: "big"}) }},
		{"Kea", func() { p.RenderKea() }},
		{"Dhcpd", func() { p.RenderDhcpd() }},
		{"HAProxy", func() { p.RenderHAProxy() }},
	} {
		b.Run(r.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.f()
			}
		})
	}
}

// TestPlanAndRenderBudget keeps the 10 ms budget honest in plain `go test`
// runs too, with a wide margin for a loaded shared machine (the benchmark
// is the measurement; this only catches a gross regression).
func TestPlanAndRenderBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	r := testing.Benchmark(BenchmarkPlanAndRenderAll)
	if per := r.NsPerOp(); per > 50e6 {
		t.Errorf("plan + render for 104 nodes took %d ns/op, budget 10 ms (test allows 50 ms on a shared box)", per)
	}
}
