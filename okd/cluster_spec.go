package okd

import (
	"fmt"
	"net/url"
	"strings"
)

// ClusterSpec describes the OKD cluster to build: what the install-config
// needs plus what okvm needs to create the VMs (sizes, boot image,
// hypervisors). It is a plain struct for YAML/JSON files; call WithDefaults
// then Validate (NewInstallConfig does both).
type ClusterSpec struct {
	// Name is the cluster name: a lower-case DNS label of at most 54
	// characters (63 minus "*.apps." room the installer keeps).
	Name string `json:"name"`
	// BaseDomain: the cluster's domain is <name>.<baseDomain>.
	BaseDomain string `json:"baseDomain"`
	// Release is the OKD payload image, e.g.
	// quay.io/okd/scos-release:4.19.0-okd-scos.1. Empty means the one
	// the openshift-install binary was built for; when set the runner
	// passes it as OPENSHIFT_INSTALL_RELEASE_IMAGE_OVERRIDE, which only
	// works with an installer of the same minor release.
	Release string `json:"release,omitempty"`
	// Topology: control-plane and worker counts.
	Topology Topology `json:"topology"`
	// Nodes: VM sizes per role.
	Nodes NodeSizes `json:"nodes"`
	// Network: machine, cluster and service networks.
	Network Networks `json:"network"`
	// SSHKey is an authorized_keys line for user core; gather bootstrap
	// and debugging need it.
	SSHKey string `json:"sshKey"`
	// PullSecret defaults to OKDFakePullSecret. It never prints.
	PullSecret PullSecret `json:"pullSecret,omitempty"`
	// BootImage selects the CoreOS disk image.
	BootImage BootImage `json:"bootImage"`
	// Hypervisors are the libvirt URIs the nodes are placed across
	// (round-robin, see Machines). Default: qemu:///system.
	Hypervisors []Hypervisor `json:"hypervisors,omitempty"`
}

// Topology is the node count. Three shapes are supported, as in the
// installer docs: single node (1+0), compact (3+0), and 3 + N workers.
type Topology struct {
	ControlPlane int `json:"controlPlane"`
	Workers      int `json:"workers"`
}

// Kind names the topology.
func (t Topology) Kind() TopologyKind {
	switch {
	case t.ControlPlane == 1 && t.Workers == 0:
		return SingleNode
	case t.ControlPlane == 3 && t.Workers == 0:
		return Compact
	default:
		return Standard
	}
}

// TopologyKind is the shape of a cluster.
type TopologyKind string

const (
	SingleNode TopologyKind = "single-node" // 1 control-plane node, no workers
	Compact    TopologyKind = "compact"     // 3 schedulable control-plane nodes
	Standard   TopologyKind = "standard"    // 3 control-plane nodes + N workers
)

// NodeSize is one VM's resources.
type NodeSize struct {
	VCPUs     int `json:"vcpus"`
	MemoryMiB int `json:"memoryMiB"`
	DiskGiB   int `json:"diskGiB"`
}

func (n NodeSize) String() string {
	return fmt.Sprintf("%d vCPU, %d MiB, %d GiB", n.VCPUs, n.MemoryMiB, n.DiskGiB)
}

// OKD's documented minimums (openshift-docs minimum-resource-requirements).
// Below them installs fail in ways that look like unrelated bugs (etcd
// timeouts, evicted operators), so going under needs an explicit override.
var (
	MinControlPlaneSize = NodeSize{VCPUs: 4, MemoryMiB: 16 * 1024, DiskGiB: 100}
	MinBootstrapSize    = MinControlPlaneSize
	MinWorkerSize       = NodeSize{VCPUs: 2, MemoryMiB: 8 * 1024, DiskGiB: 100}
)

// NodeSizes holds a size per role.
type NodeSizes struct {
	Bootstrap NodeSize `json:"bootstrap"`
	Master    NodeSize `json:"master"`
	Worker    NodeSize `json:"worker"`
	// AllowUndersized lets sizes go below OKD's minimums (labs, CI);
	// UndersizedReason must then say why, so the choice is on record.
	AllowUndersized  bool   `json:"allowUndersized,omitempty"`
	UndersizedReason string `json:"undersizedReason,omitempty"`
}

// Networks are the cluster's address ranges.
type Networks struct {
	// MachineCIDR is the network the VMs sit on (the libvirt network).
	MachineCIDR string `json:"machineCIDR"`
	// ClusterCIDR and HostPrefix: the pod network and each node's slice.
	ClusterCIDR string `json:"clusterCIDR"`
	HostPrefix  int    `json:"hostPrefix"`
	// ServiceCIDR is the service network.
	ServiceCIDR string `json:"serviceCIDR"`
	// NetworkType defaults to OVNKubernetes.
	NetworkType string `json:"networkType,omitempty"`
}

// BootImage says where the CoreOS qcow2 comes from. With nothing set, the
// lifecycle asks the installer (`coreos print-stream-json`), which is the
// only way to be sure image and installer match.
type BootImage struct {
	// StreamFile is a saved print-stream-json output.
	StreamFile string `json:"streamFile,omitempty"`
	// URL and SHA256 name a compressed qcow2 directly.
	URL    string `json:"url,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	// Path is a local, already downloaded image (qcow2, qcow2.xz or
	// qcow2.gz); with SHA256 set it is verified before use.
	Path string `json:"path,omitempty"`
	// Arch is the stream architecture (x86_64, aarch64, …).
	Arch string `json:"arch,omitempty"`
}

// Hypervisor is one libvirt host.
type Hypervisor struct {
	// URI is a libvirt URI: qemu:///system, qemu+ssh://root@host/system, …
	URI string `json:"uri"`
	// Name labels the host in logs and state; defaults to the URI's host.
	Name string `json:"name,omitempty"`
}

// Default values (installer defaults where it has them).
const (
	DefaultMachineCIDR = "192.168.126.0/24"
	DefaultClusterCIDR = "10.128.0.0/14"
	DefaultHostPrefix  = 23
	DefaultServiceCIDR = "172.30.0.0/16"
	DefaultNetworkType = "OVNKubernetes"
	DefaultArch        = "x86_64"
	DefaultHypervisor  = "qemu:///system"
)

// WithDefaults returns a copy with every unset optional field filled:
// 3 control-plane nodes, minimum node sizes, installer network defaults,
// OKD's fake pull secret, x86_64 and qemu:///system. Name, BaseDomain and
// SSHKey have no default.
func (s ClusterSpec) WithDefaults() ClusterSpec {
	if s.Topology.ControlPlane == 0 {
		s.Topology.ControlPlane = 3
	}
	s.Nodes.Bootstrap = defaultSize(s.Nodes.Bootstrap, MinBootstrapSize)
	s.Nodes.Master = defaultSize(s.Nodes.Master, MinControlPlaneSize)
	s.Nodes.Worker = defaultSize(s.Nodes.Worker, MinWorkerSize)
	n := &s.Network
	if n.MachineCIDR == "" {
		n.MachineCIDR = DefaultMachineCIDR
	}
	if n.ClusterCIDR == "" {
		n.ClusterCIDR = DefaultClusterCIDR
	}
	if n.HostPrefix == 0 {
		n.HostPrefix = DefaultHostPrefix
	}
	if n.ServiceCIDR == "" {
		n.ServiceCIDR = DefaultServiceCIDR
	}
	if n.NetworkType == "" {
		n.NetworkType = DefaultNetworkType
	}
	if s.PullSecret == "" {
		s.PullSecret = OKDFakePullSecret
	}
	if s.BootImage.Arch == "" {
		s.BootImage.Arch = DefaultArch
	}
	if len(s.Hypervisors) == 0 {
		s.Hypervisors = []Hypervisor{{URI: DefaultHypervisor}}
	} else {
		s.Hypervisors = append([]Hypervisor(nil), s.Hypervisors...)
	}
	for i := range s.Hypervisors {
		h := &s.Hypervisors[i]
		if h.Name == "" {
			h.Name = hypervisorName(h.URI)
		}
	}
	return s
}

func defaultSize(n, def NodeSize) NodeSize {
	if n.VCPUs == 0 {
		n.VCPUs = def.VCPUs
	}
	if n.MemoryMiB == 0 {
		n.MemoryMiB = def.MemoryMiB
	}
	if n.DiskGiB == 0 {
		n.DiskGiB = def.DiskGiB
	}
	return n
}

func hypervisorName(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Hostname() == "" {
		return "localhost"
	}
	return u.Hostname()
}

// ClusterDomain is <name>.<baseDomain>.
func (s ClusterSpec) ClusterDomain() string { return s.Name + "." + s.BaseDomain }

// MastersSchedulable is what the scheduler manifest must say: control-plane
// nodes run workloads only when there are no workers (compact, single node).
func (s ClusterSpec) MastersSchedulable() bool { return s.Topology.Workers == 0 }

// Role is a node's job in the cluster.
type Role string

const (
	RoleBootstrap Role = "bootstrap"
	RoleMaster    Role = "master"
	RoleWorker    Role = "worker"
)

// Machine is one VM okvm will create: its name, FQDN, size and host.
type Machine struct {
	Name       string     `json:"name"` // bootstrap, master-0, worker-2
	Role       Role       `json:"role"`
	FQDN       string     `json:"fqdn"` // master-0.<name>.<baseDomain>
	Size       NodeSize   `json:"size"`
	Hypervisor Hypervisor `json:"hypervisor"`
}

// Machines lists every VM (bootstrap first, then masters, then workers) and
// places them round-robin across the hypervisors. Masters are spread first
// so losing one host loses as few etcd members as possible; the bootstrap
// (as heavy as a master until it is removed) goes on the last host, which
// gets the fewest masters.
// Call it on a spec that passed WithDefaults.
func (s ClusterSpec) Machines() []Machine {
	hv := s.Hypervisors
	if len(hv) == 0 {
		hv = []Hypervisor{{URI: DefaultHypervisor, Name: "localhost"}}
	}
	dom := s.ClusterDomain()
	out := make([]Machine, 0, 1+s.Topology.ControlPlane+s.Topology.Workers)
	// Masters fill hosts from the first; the last host has the fewest.
	bootHost := hv[len(hv)-1]
	out = append(out, Machine{Name: "bootstrap", Role: RoleBootstrap, FQDN: "bootstrap." + dom, Size: s.Nodes.Bootstrap, Hypervisor: bootHost})
	slot := 0
	for i := 0; i < s.Topology.ControlPlane; i++ {
		name := fmt.Sprintf("master-%d", i)
		out = append(out, Machine{Name: name, Role: RoleMaster, FQDN: name + "." + dom, Size: s.Nodes.Master, Hypervisor: hv[slot%len(hv)]})
		slot++
	}
	for i := 0; i < s.Topology.Workers; i++ {
		name := fmt.Sprintf("worker-%d", i)
		out = append(out, Machine{Name: name, Role: RoleWorker, FQDN: name + "." + dom, Size: s.Nodes.Worker, Hypervisor: hv[slot%len(hv)]})
		slot++
	}
	return out
}

// String describes the spec without secrets.
func (s ClusterSpec) String() string {
	return fmt.Sprintf("%s (%s, %d control plane + %d workers, release %s)",
		s.ClusterDomain(), s.Topology.Kind(), s.Topology.ControlPlane, s.Topology.Workers,
		strings.TrimSpace(orDefault(s.Release, "installer default")))
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
