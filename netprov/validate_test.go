package netprov

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// TestValidateBadInput: each bad field gives an error that names the field
// and the value, and classes as ErrInvalidPlan.
func TestValidateBadInput(t *testing.T) {
	a := netip.MustParseAddr
	cases := []struct {
		name   string
		mutate func(*PlanSpec)
		field  string // expected in the message
		value  string // expected in the message
	}{
		{"empty cluster name", func(s *PlanSpec) { s.ClusterName = "" }, "clusterName", `""`},
		{"uppercase cluster name", func(s *PlanSpec) { s.ClusterName = "Lab" }, "clusterName", "Lab"},
		{"underscore cluster name", func(s *PlanSpec) { s.ClusterName = "my_lab" }, "clusterName", "my_lab"},
		{"dash-led cluster name", func(s *PlanSpec) { s.ClusterName = "-lab" }, "clusterName", "-lab"},
		{"long cluster name", func(s *PlanSpec) { s.ClusterName = strings.Repeat("a", 64) }, "clusterName", "63"},
		{"empty base domain", func(s *PlanSpec) { s.BaseDomain = "" }, "baseDomain", `""`},
		{"double dot domain", func(s *PlanSpec) { s.BaseDomain = "okd..example" }, "baseDomain", "okd..example"},
		{"space in domain", func(s *PlanSpec) { s.BaseDomain = "okd example" }, "baseDomain", "okd example"},
		{"label too long", func(s *PlanSpec) { s.BaseDomain = strings.Repeat("x", 64) + ".example" }, "baseDomain", "xxxx"},
		{"no CIDR", func(s *PlanSpec) { s.MachineNetwork = netip.Prefix{} }, "machineNetwork", "CIDR"},
		{"host bits", func(s *PlanSpec) { s.MachineNetwork = netip.MustParsePrefix("192.168.126.1/24") }, "machineNetwork", "did you mean 192.168.126.0/24"},
		{"too small", func(s *PlanSpec) { s.MachineNetwork = netip.MustParsePrefix("192.168.126.0/31") }, "machineNetwork", "192.168.126.0/31"},
		{"too big", func(s *PlanSpec) { s.MachineNetwork = netip.MustParsePrefix("10.0.0.0/7") }, "machineNetwork", "10.0.0.0/7"},
		{"ipv6", func(s *PlanSpec) { s.MachineNetwork = netip.MustParsePrefix("fd00::/64") }, "machineNetwork", "IPv6"},
		{"gateway outside", func(s *PlanSpec) { s.Gateway = a("10.0.0.1") }, "gateway", "10.0.0.1"},
		{"gateway broadcast", func(s *PlanSpec) { s.Gateway = a("192.168.126.255") }, "gateway", "broadcast"},
		{"no gateway", func(s *PlanSpec) { s.Gateway = netip.Addr{} }, "gateway", "IPv4"},
		{"no api", func(s *PlanSpec) { s.APIAddress = netip.Addr{} }, "apiAddress", "IPv4"},
		{"api is network", func(s *PlanSpec) { s.APIAddress = a("192.168.126.0") }, "apiAddress", "192.168.126.0"},
		{"ingress v6", func(s *PlanSpec) { s.IngressAddress = a("fd00::1") }, "ingressAddress", "fd00::1"},
		{"dns loopback", func(s *PlanSpec) { s.DNSServers = []netip.Addr{a("127.0.0.1")} }, "dnsServers[0]", "127.0.0.1"},
		{"upstream mapped", func(s *PlanSpec) { s.UpstreamDNS = []netip.Addr{a("::ffff:1.1.1.1")} }, "upstreamDNS[0]", "::ffff:1.1.1.1"},
		{"bad MAC", func(s *PlanSpec) { s.Nodes[1].MAC = "52:54:00:zz:00:10" }, "nodes[1].mac", "52:54:00:zz:00:10"},
		{"long MAC", func(s *PlanSpec) { s.Nodes[1].MAC = "00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01" }, "nodes[1].mac", "6-byte"},
		{"multicast MAC", func(s *PlanSpec) { s.Nodes[1].MAC = "01:00:5e:00:00:01" }, "nodes[1].mac", "multicast"},
		{"bad node name", func(s *PlanSpec) { s.Nodes[0].Name = "Worker.1" }, "nodes[0].name", "Worker.1"},
		{"reserved node name", func(s *PlanSpec) { s.Nodes[0].Name = "api-int" }, "nodes[0].name", "internal API"},
		{"worker named bootstrap", func(s *PlanSpec) { s.Nodes[0].Name = "bootstrap"; s.Nodes[2].Name = "bs" }, "nodes[0].name", "bootstrap"},
		{"bad role", func(s *PlanSpec) { s.Nodes[0].Role = "infra" }, "nodes[0].role", "infra"},
		{"two bootstraps", func(s *PlanSpec) { s.Nodes[0].Role = RoleBootstrap; s.Nodes[0].Name = "bs2" }, "role", "at most one bootstrap"},
		{"no masters", func(s *PlanSpec) {
			for i := range s.Nodes {
				if s.Nodes[i].Role == RoleMaster {
					s.Nodes[i].Role = RoleWorker
				}
			}
		}, "nodes", "at least one master"},
		{"node ip outside", func(s *PlanSpec) { s.Nodes[3].IP = a("10.1.1.1") }, "nodes[3].ip", "10.1.1.1"},
		{"node ip broadcast", func(s *PlanSpec) { s.Nodes[3].IP = a("192.168.126.255") }, "nodes[3].ip", "192.168.126.255"},
		{"short lease", func(s *PlanSpec) { s.LeaseTime = Duration(time.Minute) }, "leaseTime", "1m0s"},
		{"fractional lease", func(s *PlanSpec) { s.LeaseTime = Duration(90*time.Minute + time.Millisecond) }, "leaseTime", "1h30m0.001s"},
		{"ttl too long", func(s *PlanSpec) { s.TTL = Duration(48 * time.Hour) }, "ttl", "48h0m0s"},
		{"allocation start outside", func(s *PlanSpec) { s.AllocationStart = a("10.9.9.9") }, "allocationStart", "10.9.9.9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := labSpec()
			c.mutate(&s)
			err := s.Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrInvalidPlan) {
				t.Errorf("%v is not ErrInvalidPlan", err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("%v: no *FieldError", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.field) || !strings.Contains(msg, c.value) {
				t.Errorf("error %q should name field %q and value %q", msg, c.field, c.value)
			}
		})
	}
}

// TestValidateConflicts: conflicts are *ConflictError naming both parties.
func TestValidateConflicts(t *testing.T) {
	a := netip.MustParseAddr
	cases := []struct {
		name   string
		mutate func(*PlanSpec)
		want   []string // substrings: both parties and the value
	}{
		{"duplicate name", func(s *PlanSpec) { s.Nodes[5].Name = "worker-1" }, []string{"nodes[5].name", "nodes[0].name", "worker-1"}},
		{"duplicate MAC", func(s *PlanSpec) { s.Nodes[4].MAC = "52-54-00-00-00-10" }, []string{"nodes[4].mac (master-1)", "nodes[1].mac (master-0)", "52:54:00:00:00:10"}},
		{"duplicate IP", func(s *PlanSpec) {
			s.Nodes[0].IP = a("192.168.126.50")
			s.Nodes[5].IP = a("192.168.126.50")
		}, []string{"nodes[5].ip (worker-0)", "nodes[0].ip (worker-1)", "192.168.126.50"}},
		{"node on API", func(s *PlanSpec) {
			s.APIAddress = a("192.168.126.9")
			s.Nodes[1].IP = a("192.168.126.9")
		}, []string{"nodes[1].ip (master-0)", "apiAddress", "192.168.126.9"}},
		{"node on ingress", func(s *PlanSpec) {
			s.IngressAddress = a("192.168.126.8")
			s.Nodes[0].IP = a("192.168.126.8")
		}, []string{"nodes[0].ip (worker-1)", "ingressAddress"}},
		{"node on gateway", func(s *PlanSpec) {
			s.APIAddress = a("192.168.126.9")
			s.Nodes[0].IP = a("192.168.126.1")
		}, []string{"nodes[0].ip (worker-1)", "gateway", "192.168.126.1"}},
		{"node on dns", func(s *PlanSpec) {
			s.DNSServers = []netip.Addr{a("192.168.126.1"), a("192.168.126.53")}
			s.Nodes[0].IP = a("192.168.126.53")
		}, []string{"nodes[0].ip (worker-1)", "dnsServers[1]"}},
		{"node on reserved", func(s *PlanSpec) {
			s.Reserved = []netip.Addr{a("192.168.126.20")}
			s.Nodes[2].IP = a("192.168.126.20")
		}, []string{"nodes[2].ip (bootstrap)", "reserved[0]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := labSpec()
			c.mutate(&s)
			_, err := NewPlan(s)
			var ce *ConflictError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *ConflictError", err)
			}
			if !errors.Is(err, ErrInvalidPlan) {
				t.Errorf("not ErrInvalidPlan: %v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestValidateReportsAll: several problems come back together.
func TestValidateReportsAll(t *testing.T) {
	s := labSpec()
	s.ClusterName = "Bad"
	s.Nodes[0].MAC = "nope"
	s.Nodes[1].Role = "boss"
	err := s.Validate()
	for _, w := range []string{"clusterName", "nodes[0].mac", "nodes[1].role"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v lacks %s", err, w)
		}
	}
}

func TestAddressExhaustion(t *testing.T) {
	s := labSpec()
	s.MachineNetwork = netip.MustParsePrefix("192.168.126.0/29") // .1 gw/api, .2-.6 hosts
	err := s.Validate()
	if err == nil || !strings.Contains(err.Error(), "machineNetwork") || !strings.Contains(err.Error(), "worker-1") {
		t.Fatalf("got %v, want exhaustion naming machineNetwork and the node left over", err)
	}
}

// TestSpecJSONYAML: a spec reads from YAML (durations as "1h") and
// round-trips through JSON unchanged.
func TestSpecJSONYAML(t *testing.T) {
	y := `
clusterName: lab
baseDomain: okd.example
machineNetwork: 192.168.126.0/24
gateway: 192.168.126.1
apiAddress: 192.168.126.1
leaseTime: 4h
ttl: 30s
nodes:
- {name: master-0, role: master, mac: "52:54:00:00:00:10"}
- {name: worker-0, role: worker, mac: "52:54:00:00:00:20", ip: 192.168.126.77}
`
	var s PlanSpec
	if err := yaml.Unmarshal([]byte(y), &s); err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(s)
	if err != nil {
		t.Fatal(err)
	}
	if p.LeaseTime != 4*time.Hour || p.TTL != 30*time.Second {
		t.Errorf("lease %v ttl %v", p.LeaseTime, p.TTL)
	}
	if w, _ := p.Node("worker-0"); w.IP != netip.MustParseAddr("192.168.126.77") || w.Allocated {
		t.Errorf("pinned worker: %+v", w)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back PlanSpec
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(back)
	if string(b) != string(b2) {
		t.Errorf("JSON round trip changed the spec:\n%s\n%s", b, b2)
	}
	if strings.Contains(string(b), "ingressAddress") || !strings.Contains(string(b), `"leaseTime":"4h0m0s"`) {
		t.Errorf("unexpected JSON: %s", b)
	}
}
