package netprov

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func dnsType(t uint16) string { return dns.TypeToString[t] }

// labSpec is a cluster on the installer's libvirt CIDR with the hypervisor
// (.1) as gateway, DNS and load balancer.
func labSpec() PlanSpec {
	return PlanSpec{
		ClusterName:    "lab",
		BaseDomain:     "okd.example",
		MachineNetwork: netip.MustParsePrefix("192.168.126.0/24"),
		Gateway:        netip.MustParseAddr("192.168.126.1"),
		APIAddress:     netip.MustParseAddr("192.168.126.1"),
		Nodes: []NodeSpec{
			{Name: "worker-1", Role: RoleWorker, MAC: "52:54:00:00:00:21"},
			{Name: "master-0", Role: RoleMaster, MAC: "52:54:00:00:00:10"},
			{Name: "bootstrap", Role: RoleBootstrap, MAC: "52:54:00:00:00:01"},
			{Name: "master-2", Role: RoleMaster, MAC: "52:54:00:00:00:12"},
			{Name: "master-1", Role: RoleMaster, MAC: "52:54:00:00:00:11"},
			{Name: "worker-0", Role: RoleWorker, MAC: "52:54:00:00:00:20"},
		},
	}
}

func TestNewPlanAllocates(t *testing.T) {
	p, err := NewPlan(labSpec())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"bootstrap=192.168.126.2", "master-0=192.168.126.3", "master-1=192.168.126.4",
		"master-2=192.168.126.5", "worker-0=192.168.126.6", "worker-1=192.168.126.7"}
	for i, n := range p.Nodes {
		if got := n.Name + "=" + n.IP.String(); got != want[i] {
			t.Errorf("node %d: got %s, want %s", i, got, want[i])
		}
	}
	for _, z := range p.Zones() {
		for _, r := range z.Records {
			t.Log(r)
		}
	}
}

func TestIPAMIndependentOfInputOrder(t *testing.T) {
	a, b := labSpec(), labSpec()
	b.Nodes = []NodeSpec{b.Nodes[3], b.Nodes[5], b.Nodes[0], b.Nodes[2], b.Nodes[4], b.Nodes[1]}
	pa, pb := mustPlan(t, a, false), mustPlan(t, b, false)
	for i := range pa.Nodes {
		if pa.Nodes[i].Name != pb.Nodes[i].Name || pa.Nodes[i].IP != pb.Nodes[i].IP {
			t.Errorf("node %d: %s=%s vs %s=%s", i, pa.Nodes[i].Name, pa.Nodes[i].IP, pb.Nodes[i].Name, pb.Nodes[i].IP)
		}
	}
}

// Adding a worker that sorts last moves nobody.
func TestIPAMStableWhenAddingWorkers(t *testing.T) {
	a := labSpec()
	b := labSpec()
	b.Nodes = append(b.Nodes, NodeSpec{Name: "worker-10", Role: RoleWorker, MAC: "52:54:00:00:00:30"})
	pa, pb := mustPlan(t, a, false), mustPlan(t, b, false)
	for _, n := range pa.Nodes {
		if m, _ := pb.Node(n.Name); m.IP != n.IP {
			t.Errorf("%s moved from %s to %s", n.Name, n.IP, m.IP)
		}
	}
	if w, _ := pb.Node("worker-10"); w.IP != netip.MustParseAddr("192.168.126.8") {
		t.Errorf("worker-10 got %s", w.IP)
	}
}

func TestIPAMSkipsTakenAddresses(t *testing.T) {
	s := labSpec()
	s.APIAddress = netip.MustParseAddr("192.168.126.3")
	s.IngressAddress = netip.MustParseAddr("192.168.126.4")
	s.DNSServers = []netip.Addr{netip.MustParseAddr("192.168.126.5")}
	s.Reserved = []netip.Addr{netip.MustParseAddr("192.168.126.6")}
	s.Nodes[0].IP = netip.MustParseAddr("192.168.126.7") // worker-1 pinned
	p := mustPlan(t, s, false)
	want := map[string]string{"bootstrap": ".2", "master-0": ".8", "master-1": ".9", "master-2": ".10", "worker-0": ".11", "worker-1": ".7"}
	for _, n := range p.Nodes {
		if got := n.IP.String(); got != "192.168.126"+want[n.Name] {
			t.Errorf("%s: got %s want %s", n.Name, got, want[n.Name])
		}
		if n.Allocated == (n.Name == "worker-1") {
			t.Errorf("%s: Allocated=%v", n.Name, n.Allocated)
		}
	}
	s.AllocationStart = netip.MustParseAddr("192.168.126.100")
	p = mustPlan(t, s, false)
	if b, _ := p.Bootstrap(); b.IP != netip.MustParseAddr("192.168.126.100") {
		t.Errorf("allocationStart: bootstrap got %s", b.IP)
	}
}

func TestNaturalOrder(t *testing.T) {
	in := []string{"w10", "w9", "w1", "a", "w01", "w2b", "w2a", "w"}
	want := []string{"a", "w", "w01", "w1", "w2a", "w2b", "w9", "w10"}
	nodes := make([]Node, len(in))
	for i, n := range in {
		nodes[i] = Node{Name: n, Role: RoleWorker}
	}
	for i := range nodes {
		for j := range nodes {
			if i != j && naturalLess(nodes[i].Name, nodes[j].Name) && naturalLess(nodes[j].Name, nodes[i].Name) {
				t.Fatalf("%s and %s both less", nodes[i].Name, nodes[j].Name)
			}
		}
	}
	sortNodes(nodes)
	for i := range want {
		if nodes[i].Name != want[i] {
			t.Fatalf("got %v want %v", nodes, want)
		}
	}
}

func sortNodes(n []Node) {
	for i := 1; i < len(n); i++ {
		for j := i; j > 0 && nodeLess(n[j], n[j-1]); j-- {
			n[j], n[j-1] = n[j-1], n[j]
		}
	}
}

func TestReverseOrigin(t *testing.T) {
	for cidr, want := range map[string]string{
		"192.168.126.0/24": "126.168.192.in-addr.arpa.",
		"192.168.126.0/25": "126.168.192.in-addr.arpa.",
		"10.0.5.64/26":     "5.0.10.in-addr.arpa.",
		"172.20.16.0/20":   "20.172.in-addr.arpa.",
		"172.20.0.0/16":    "20.172.in-addr.arpa.",
		"10.0.0.0/8":       "10.in-addr.arpa.",
		"10.128.0.0/9":     "10.in-addr.arpa.",
	} {
		if got := reverseOrigin(netip.MustParsePrefix(cidr)); got != want {
			t.Errorf("%s: got %s want %s", cidr, got, want)
		}
	}
}

func TestRecordsCoverDocsTable(t *testing.T) {
	p := mustPlan(t, compactSpec(), false)
	have := map[string]string{}
	for _, z := range p.Zones() {
		for _, rr := range z.Records {
			h := rr.Header()
			have[h.Name+" "+dnsType(h.Rrtype)] = rr.String()
		}
	}
	for _, k := range []string{
		"compact.example.com. SOA", "compact.example.com. NS", "ns1.compact.example.com. A",
		"api.compact.example.com. A", "api-int.compact.example.com. A", "*.apps.compact.example.com. A",
		"bootstrap.compact.example.com. A", "okd-bootstrap.compact.example.com. A", "cp-10.compact.example.com. A",
		"5.0.10.in-addr.arpa. SOA", "5.0.10.in-addr.arpa. NS", "100.5.0.10.in-addr.arpa. PTR", "110.5.0.10.in-addr.arpa. PTR",
	} {
		if _, ok := have[k]; !ok {
			t.Errorf("missing %s", k)
		}
	}
	if _, ok := have["101.5.0.10.in-addr.arpa. PTR"]; ok {
		t.Error("*.apps must have no PTR")
	}
}

func TestWithoutBootstrap(t *testing.T) {
	p := mustPlan(t, compactSpec(), false)
	q := p.WithoutBootstrap()
	if _, ok := q.Bootstrap(); ok {
		t.Fatal("bootstrap still there")
	}
	if _, ok := p.Bootstrap(); !ok {
		t.Fatal("WithoutBootstrap changed the original plan")
	}
	if q.Serial != p.Serial+1 {
		t.Errorf("serial %d -> %d", p.Serial, q.Serial)
	}
	for _, rr := range q.ForwardZone().Records {
		if strings.Contains(rr.Header().Name, "bootstrap") {
			t.Errorf("record left: %s", rr)
		}
	}
	for _, f := range q.LoadBalancer().Frontends {
		for _, b := range f.Backends {
			if b.Name == "okd-bootstrap" {
				t.Errorf("%s still has the bootstrap", f.Name)
			}
		}
	}
	if len(q.Reservations()) != len(p.Reservations())-1 {
		t.Error("bootstrap reservation left")
	}
	// Other nodes keep their addresses.
	for _, n := range q.Nodes {
		if m, _ := p.Node(n.Name); m.IP != n.IP {
			t.Errorf("%s moved", n.Name)
		}
	}
	if r := q.WithoutBootstrap(); r.Serial != q.Serial {
		t.Error("second WithoutBootstrap bumped the serial again")
	}
}

func TestLoadBalancerPools(t *testing.T) {
	p := mustPlan(t, labSpec(), false)
	lb := p.LoadBalancer()
	pools := map[string][]string{}
	for _, f := range lb.Frontends {
		for _, b := range f.Backends {
			s := b.Name + "@" + b.Addr.String()
			if b.Backup {
				s += "(backup)"
			}
			pools[f.Name] = append(pools[f.Name], s)
		}
	}
	want := map[string]string{
		"api":            "bootstrap@192.168.126.2:6443(backup) master-0@192.168.126.3:6443 master-1@192.168.126.4:6443 master-2@192.168.126.5:6443",
		"machine-config": "bootstrap@192.168.126.2:22623(backup) master-0@192.168.126.3:22623 master-1@192.168.126.4:22623 master-2@192.168.126.5:22623",
		"ingress-http":   "worker-0@192.168.126.6:80 worker-1@192.168.126.7:80",
		"ingress-https":  "worker-0@192.168.126.6:443 worker-1@192.168.126.7:443",
	}
	for k, v := range want {
		if got := strings.Join(pools[k], " "); got != v {
			t.Errorf("%s: got %s\nwant %s", k, got, v)
		}
	}
	if lb.Frontends[0].Check.Kind != CheckHTTPS || lb.Frontends[0].Check.Path != "/readyz" || lb.Frontends[1].Check.Kind != CheckTCP {
		t.Errorf("checks: %+v %+v", lb.Frontends[0].Check, lb.Frontends[1].Check)
	}
	// Within 30 s a failing API server leaves the pool (docs).
	if c := lb.Frontends[0].Check; c.Interval*time.Duration(c.Fall) > 30*time.Second {
		t.Errorf("check too slow: %+v", c)
	}
	// No workers: routers on the masters.
	c := mustPlan(t, compactSpec(), false).LoadBalancer()
	if got := c.Frontends[3].Backends; len(got) != 3 || got[0].Name != "cp-1" || got[2].Name != "cp-10" {
		t.Errorf("compact ingress pool: %+v", got)
	}
}

func TestReservations(t *testing.T) {
	p := mustPlan(t, compactSpec(), false)
	rs := p.Reservations()
	r := rs[0]
	if r.MAC.String() != "52:54:00:aa:00:ff" || r.IP.String() != "10.0.5.68" || r.Hostname != "okd-bootstrap.compact.example.com" ||
		r.Router.String() != "10.0.5.65" || len(r.DNS) != 2 || r.Domain != "compact.example.com" || r.Prefix != 26 || r.LeaseTime != 30*time.Minute {
		t.Errorf("reservation: %+v", r)
	}
	rs[0].DNS[0] = netip.Addr{}
	rs[0].MAC[0] = 0xff
	if p.DNSServers[0] != netip.MustParseAddr("10.0.5.66") || p.Nodes[0].MAC[0] != 0x52 {
		t.Error("Reservations shares memory with the plan")
	}
}

// Spec rebuilds the same plan, with every address pinned, also after
// WithoutBootstrap, and survives JSON.
func TestSpecRoundTrip(t *testing.T) {
	for _, drop := range []bool{false, true} {
		p := mustPlan(t, compactSpec(), drop)
		s := p.Spec()
		for _, n := range s.Nodes {
			if !n.IP.IsValid() {
				t.Fatalf("%s not pinned", n.Name)
			}
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back PlanSpec
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		q := mustPlan(t, back, false)
		if q.Serial != p.Serial || len(q.Nodes) != len(p.Nodes) {
			t.Fatalf("drop=%v: serial %d/%d nodes %d/%d", drop, q.Serial, p.Serial, len(q.Nodes), len(p.Nodes))
		}
		for i := range p.Nodes {
			a, b := p.Nodes[i], q.Nodes[i]
			if a.Name != b.Name || a.IP != b.IP || a.MAC.String() != b.MAC.String() || a.Role != b.Role {
				t.Errorf("node %d: %+v vs %+v", i, a, b)
			}
		}
		if string(p.RenderDnsmasq()) != string(q.RenderDnsmasq()) || string(p.RenderHAProxy()) != string(q.RenderHAProxy()) {
			t.Error("rebuilt plan renders differently")
		}
	}
}
