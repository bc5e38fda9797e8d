package okd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/okvm/okvm/ignition"
	"github.com/okvm/okvm/netprov"
)

// Step is one stage of the install lifecycle, in the order Run takes them.
// Each step is idempotent: a rerun after a crash repeats the step that was
// under way and skips the ones recorded as done.
type Step string

const (
	StepPlan              Step = "plan"             // machines, MACs, addresses
	StepInstallConfig     Step = "install-config"   // install-config.yaml
	StepManifests         Step = "manifests"        // create manifests + UPI patch
	StepIgnitionConfigs   Step = "ignition-configs" // create ignition-configs
	StepDeadline          Step = "deadline"         // read the certificate deadline
	StepNetwork           Step = "network"          // DNS, DHCP, the libvirt network
	StepImage             Step = "image"            // pool + base image
	StepControlPlane      Step = "control-plane"    // define bootstrap + masters, per-node Ignition
	StepStartControlPlane Step = "start-control-plane"
	StepBootstrapComplete Step = "bootstrap-complete"
	StepRemoveBootstrap   Step = "remove-bootstrap" // LB, DNS, DHCP, VM, overlay
	StepWorkers           Step = "workers"          // define + start workers (approver running)
	StepInstallComplete   Step = "install-complete"
	StepSummary           Step = "summary"
)

// Steps lists every step in order.
func Steps() []Step {
	return []Step{StepPlan, StepInstallConfig, StepManifests, StepIgnitionConfigs,
		StepDeadline, StepNetwork, StepImage, StepControlPlane, StepStartControlPlane,
		StepBootstrapComplete, StepRemoveBootstrap, StepWorkers, StepInstallComplete, StepSummary}
}

// stateFile is where the lifecycle records what it has done, relative to
// the artifacts directory.
const stateFile = ".okvm/state.json"

// LifecycleState is what the lifecycle persists after every step: enough to
// continue after a crash and to find everything the cluster owns again.
// It holds no secret.
type LifecycleState struct {
	Version int    `json:"version"`
	Cluster string `json:"cluster"`
	// Done lists the completed steps, in order.
	Done []Step `json:"done"`
	// Nodes by machine name (bootstrap, master-0, worker-1…).
	Nodes map[string]*NodeState `json:"nodes"`
	// Network is the resolved network plan input: the addresses IPAM gave
	// stay the same across reruns even if the allocator changed.
	Network *netprov.PlanSpec `json:"network,omitempty"`
	// BaseImages lists the hypervisor URIs whose base volume was uploaded
	// completely. A volume without an entry here is a crashed upload (the
	// volume exists at full capacity with half its bytes): it is replaced.
	BaseImages []string `json:"baseImages,omitempty"`
	// AddingWorkers names the workers an AddWorkers call planned and has
	// not seen Ready yet; a rerun finishes them.
	AddingWorkers []string `json:"addingWorkers,omitempty"`
	// Deadline read from bootstrap.ign.
	Deadline *ignition.Deadline `json:"deadline,omitempty"`
	// BootstrapRemovedIn is how long bootstrap removal took.
	BootstrapRemovedIn time.Duration `json:"bootstrapRemovedIn,omitempty"`
	Summary            *Summary      `json:"summary,omitempty"`
	Destroyed          bool          `json:"destroyed,omitempty"`
}

// NodeState is one machine as the lifecycle created it.
type NodeState struct {
	Name       string     `json:"name"`   // machine name: master-0
	Role       Role       `json:"role"`   // bootstrap, master, worker
	Domain     string     `json:"domain"` // libvirt domain: <cluster>-master-0
	FQDN       string     `json:"fqdn"`
	Hypervisor string     `json:"hypervisor"` // libvirt URI
	MAC        string     `json:"mac"`
	IP         netip.Addr `json:"ip,omitzero"`
	// Interface is the NIC name predicted from libvirt's definition.
	Interface string `json:"interface,omitempty"`
	// CreatedAt is when the VM was first defined; the CSR approver's time
	// window is anchored on it.
	CreatedAt time.Time `json:"createdAt,omitzero"`
	Started   bool      `json:"started,omitempty"`
	Removed   bool      `json:"removed,omitempty"`
}

// Summary is what an install ends with.
type Summary struct {
	Cluster    string        `json:"cluster"`
	ConsoleURL string        `json:"consoleURL"`
	APIURL     string        `json:"apiURL"`
	Kubeconfig string        `json:"kubeconfig"`
	Password   string        `json:"kubeadminPasswordFile"` // a path, never the password
	Nodes      []string      `json:"nodes"`
	Elapsed    time.Duration `json:"elapsed,omitempty"`
	// AlreadyInstalled: Run found every step done and did nothing.
	AlreadyInstalled bool `json:"alreadyInstalled,omitempty"`
}

func (s *LifecycleState) done(step Step) bool { return slices.Contains(s.Done, step) }

func (s *LifecycleState) markDone(step Step) {
	if !s.done(step) {
		s.Done = append(s.Done, step)
	}
}

// sortedNodes returns the nodes in plan order: bootstrap, masters, workers,
// each by name.
func (s *LifecycleState) sortedNodes(roles ...Role) []*NodeState {
	var out []*NodeState
	for _, n := range s.Nodes {
		if len(roles) == 0 || slices.Contains(roles, n.Role) {
			out = append(out, n)
		}
	}
	rank := map[Role]int{RoleBootstrap: 0, RoleMaster: 1, RoleWorker: 2}
	slices.SortFunc(out, func(a, b *NodeState) int {
		if d := rank[a.Role] - rank[b.Role]; d != 0 {
			return d
		}
		if len(a.Name) != len(b.Name) { // worker-2 before worker-10
			return len(a.Name) - len(b.Name)
		}
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}

// loadState reads dir's state file; a missing file is a fresh state.
func loadState(dir, cluster string) (*LifecycleState, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return &LifecycleState{Version: 1, Cluster: cluster, Nodes: map[string]*NodeState{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("okd: lifecycle state: %w", err)
	}
	var s LifecycleState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("okd: lifecycle state %s is corrupt: %w", filepath.Join(dir, stateFile), err)
	}
	if s.Cluster != cluster {
		return nil, fmt.Errorf("okd: %w: directory %s holds cluster %q, not %q", ErrInvalid, dir, s.Cluster, cluster)
	}
	if s.Nodes == nil {
		s.Nodes = map[string]*NodeState{}
	}
	return &s, nil
}

// save writes the state atomically: a crash leaves either the old or the
// new file, never half of one.
func (s *LifecycleState) save(dir string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("okd: lifecycle state: %w", err)
	}
	path := filepath.Join(dir, stateFile)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("okd: lifecycle state: %w", err)
	}
	return writeFileAtomic(path, append(b, '\n'), 0o600)
}
