package netprov

import (
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Role is what a node does in the cluster. It decides where a node sits in the
// load balancer (bootstrap and masters serve the API, workers serve ingress)
// and in what order IPAM hands out addresses.
type Role string

const (
	// RoleBootstrap is the temporary control plane; at most one per plan.
	RoleBootstrap Role = "bootstrap"
	// RoleMaster is a control-plane node; a plan needs at least one.
	RoleMaster Role = "master"
	// RoleWorker is a compute node; workers carry the ingress routers.
	RoleWorker Role = "worker"
)

// roleRank orders roles for IPAM: the bootstrap first, then masters, then
// workers, so the addresses read like the installer's own (bootstrap .N,
// masters right after it) and adding workers never moves a master.
func (r Role) rank() int {
	switch r {
	case RoleBootstrap:
		return 0
	case RoleMaster:
		return 1
	case RoleWorker:
		return 2
	}
	return 3
}

// Defaults applied by NewPlan when a field is left empty.
const (
	DefaultLeaseTime = time.Hour
	DefaultTTL       = 5 * time.Minute
	// MinLeaseTime is dnsmasq's floor: it silently raises shorter leases to
	// two minutes, so a shorter plan would say one thing and serve another.
	MinLeaseTime = 2 * time.Minute
)

// Duration is a time.Duration that reads and writes as a Go duration string
// ("1h", "90s") in JSON and YAML, so a plan file says what it means.
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// NodeSpec is one machine of the cluster as the caller knows it.
type NodeSpec struct {
	// Name is the node's short host name, a DNS label ("master-0"). Its FQDN
	// is Name.ClusterName.BaseDomain.
	Name string `json:"name"`
	Role Role   `json:"role"`
	// MAC is the NIC's hardware address ("52:54:00:12:34:56"); DHCP hands
	// the node its address by it.
	MAC string `json:"mac"`
	// IP pins the node's address. Left empty, IPAM picks one (see NewPlan).
	IP netip.Addr `json:"ip,omitzero"`
}

// PlanSpec is everything a cluster's DNS, DHCP and load balancer are derived
// from. It is plain data (JSON/YAML); NewPlan validates it and fills in the
// derived parts. Addresses are netip values so that IPv6 can follow without a
// type change; today the machine network must be IPv4.
type PlanSpec struct {
	// ClusterName and BaseDomain make the cluster domain
	// <clusterName>.<baseDomain>, as in install-config.yaml.
	ClusterName string `json:"clusterName"`
	BaseDomain  string `json:"baseDomain"`
	// MachineNetwork is the nodes' subnet (192.168.126.0/24), IPv4, /8–/30.
	MachineNetwork netip.Prefix `json:"machineNetwork"`
	// Gateway is the nodes' default route, inside MachineNetwork. On a
	// libvirt network it is the bridge's own address.
	Gateway netip.Addr `json:"gateway"`
	// DNSServers are the name servers nodes are told to use (DHCP option 6),
	// in order. Empty means [Gateway]: the libvirt network's dnsmasq listens
	// there. They may lie outside MachineNetwork.
	DNSServers []netip.Addr `json:"dnsServers,omitempty"`
	// UpstreamDNS are where cluster DNS forwards every other name. Empty
	// means "the resolver's own default" (resolv.conf for dnsmasq).
	UpstreamDNS []netip.Addr `json:"upstreamDNS,omitempty"`
	// APIAddress is what api and api-int resolve to: a load balancer (which
	// may be the gateway host, as in the installer's libvirt CI) or a VIP.
	APIAddress netip.Addr `json:"apiAddress"`
	// IngressAddress is what *.apps resolves to. Empty means APIAddress (one
	// load balancer for both).
	IngressAddress netip.Addr `json:"ingressAddress,omitzero"`
	// Nodes are the cluster's machines: at most one bootstrap, at least one
	// master.
	Nodes []NodeSpec `json:"nodes"`
	// Reserved addresses are never handed to a node by IPAM (another host
	// on the subnet, a DHCP pool); a pinned node IP on one is a conflict.
	Reserved []netip.Addr `json:"reserved,omitempty"`
	// AllocationStart is where IPAM starts looking. Empty means the first
	// host address of MachineNetwork.
	AllocationStart netip.Addr `json:"allocationStart,omitzero"`
	// LeaseTime of DHCP reservations; empty means DefaultLeaseTime.
	LeaseTime Duration `json:"leaseTime,omitempty"`
	// TTL of every DNS record; empty means DefaultTTL.
	TTL Duration `json:"ttl,omitempty"`
	// Serial is the zones' SOA serial; empty means 1. WithoutBootstrap adds
	// one, so secondaries pick up the removal.
	Serial uint32 `json:"serial,omitempty"`
}

// Node is a planned node: its spec with the address IPAM settled on.
type Node struct {
	Name string
	Role Role
	MAC  net.HardwareAddr
	IP   netip.Addr
	// FQDN is Name.<cluster domain>, without the final dot.
	FQDN string
	// Allocated reports that IPAM chose IP (the spec left it empty).
	Allocated bool
}

// Plan is a validated cluster network: nodes with their addresses, and from
// them the DNS zones, DHCP reservations and load balancer layout that every
// delivery path (libvirt's dnsmasq, the embedded servers, rendered files)
// serves. A Plan is immutable once built: methods return fresh values, and
// WithoutBootstrap returns a new Plan.
type Plan struct {
	// Domain is the cluster domain <clusterName>.<baseDomain>, no final dot.
	Domain      string
	ClusterName string
	BaseDomain  string
	Network     netip.Prefix
	Gateway     netip.Addr
	DNSServers  []netip.Addr
	UpstreamDNS []netip.Addr
	API         netip.Addr
	Ingress     netip.Addr
	// Nodes in plan order: bootstrap, masters, workers; by name within a
	// role (numbers in names compare as numbers: master-2 < master-10).
	Nodes     []Node
	LeaseTime time.Duration
	TTL       time.Duration
	Serial    uint32

	spec PlanSpec // normalized, for Spec
}

// NewPlan validates spec, assigns addresses to nodes without one and returns
// the plan. Errors name the field and value; conflicts (a duplicate name, MAC
// or IP, an address used twice) are *ConflictError naming both parties. All
// problems are reported at once (errors.Join); each unwraps to ErrInvalidPlan.
//
// IPAM is deterministic and independent of input order: nodes are sorted by
// role (bootstrap, masters, workers) then by name, and each one without an IP
// takes the lowest free host address at or after AllocationStart. Free means
// not the network or broadcast address, the gateway, a DNS server, the API or
// ingress address, a reserved address or another node's pinned IP. Adding
// workers with higher names never moves an existing node; to freeze addresses
// for good, pin them (feed Plan.Nodes' IPs back into the spec).
func NewPlan(spec PlanSpec) (*Plan, error) {
	s, err := spec.normalize()
	if err != nil {
		return nil, err
	}
	p := &Plan{
		ClusterName: s.ClusterName,
		BaseDomain:  s.BaseDomain,
		Domain:      s.ClusterName + "." + s.BaseDomain,
		Network:     s.MachineNetwork,
		Gateway:     s.Gateway,
		DNSServers:  s.DNSServers,
		UpstreamDNS: s.UpstreamDNS,
		API:         s.APIAddress,
		Ingress:     s.IngressAddress,
		LeaseTime:   time.Duration(s.LeaseTime),
		TTL:         time.Duration(s.TTL),
		Serial:      s.Serial,
	}
	nodes, err := allocate(&s)
	if err != nil {
		return nil, err
	}
	for i := range nodes {
		nodes[i].FQDN = nodes[i].Name + "." + p.Domain
	}
	p.Nodes = nodes
	p.spec = s
	return p, nil
}

// Spec returns a spec that rebuilds this plan exactly: defaults filled in,
// every node's address pinned, nodes in plan order. Persist it (JSON or
// YAML) to keep addresses fixed across runs and later scale-outs; after
// WithoutBootstrap it lacks the bootstrap and carries the bumped serial.
func (p *Plan) Spec() PlanSpec {
	s := p.spec
	s.DNSServers = append([]netip.Addr(nil), s.DNSServers...)
	s.UpstreamDNS = append([]netip.Addr(nil), s.UpstreamDNS...)
	s.Reserved = append([]netip.Addr(nil), s.Reserved...)
	s.Serial = p.Serial
	s.Nodes = make([]NodeSpec, len(p.Nodes))
	for i, n := range p.Nodes {
		s.Nodes[i] = NodeSpec{Name: n.Name, Role: n.Role, MAC: n.MAC.String(), IP: n.IP}
	}
	return s
}

// Validate reports whether NewPlan would accept the spec, with the same
// errors, without keeping the plan.
func (spec PlanSpec) Validate() error {
	_, err := NewPlan(spec)
	return err
}

// Bootstrap returns the bootstrap node, if the plan has one.
func (p *Plan) Bootstrap() (Node, bool) {
	for _, n := range p.Nodes {
		if n.Role == RoleBootstrap {
			return n, true
		}
	}
	return Node{}, false
}

// Node returns the node with the given short name.
func (p *Plan) Node(name string) (Node, bool) {
	for _, n := range p.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return Node{}, false
}

// NodesWithRole returns the plan's nodes of one role, in plan order.
func (p *Plan) NodesWithRole(r Role) []Node {
	var out []Node
	for _, n := range p.Nodes {
		if n.Role == r {
			out = append(out, n)
		}
	}
	return out
}

// WithoutBootstrap returns the plan once the bootstrap is gone: no bootstrap
// node, hence no bootstrap DNS records, DHCP reservation or load balancer
// backend, and the zone serial one higher. Every other address is unchanged
// (addresses are not re-allocated). It is what bootstrap removal applies
// after `wait-for bootstrap-complete`.
func (p *Plan) WithoutBootstrap() *Plan {
	q := *p
	q.Nodes = make([]Node, 0, len(p.Nodes))
	for _, n := range p.Nodes {
		if n.Role != RoleBootstrap {
			q.Nodes = append(q.Nodes, n)
		}
	}
	if len(q.Nodes) != len(p.Nodes) {
		q.Serial++
	}
	return &q
}

// fqdn returns name.domain with the final dot, as DNS records want it.
func (p *Plan) fqdn(name string) string {
	if name == "" {
		return p.Domain + "."
	}
	return name + "." + p.Domain + "."
}

// String is a short human summary, handy in logs.
func (p *Plan) String() string {
	return fmt.Sprintf("%s %s gw %s api %s ingress %s, %d nodes", p.Domain, p.Network, p.Gateway, p.API, p.Ingress, len(p.Nodes))
}
