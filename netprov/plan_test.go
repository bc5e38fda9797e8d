package netprov

import (
	"net/netip"
	"testing"
)

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
