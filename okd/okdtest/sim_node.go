package okdtest

import (
	"fmt"
	"net/netip"
	"net/url"
	"time"
)

// Node roles.
const (
	RoleMaster = "master"
	RoleWorker = "worker"
)

// SimNode is a fake node: what okvm would create as a VM.
type SimNode struct {
	Name      string       // node name (CN system:node:<Name>)
	FQDN      string       // DNS SAN of the serving CSR
	ShortName string       // DNS SAN of the serving CSR
	IPs       []netip.Addr // IP SANs of the serving CSR, and the Node's InternalIP addresses
	Role      string       // RoleMaster or RoleWorker (default worker)
	// CreatedAt is the VM's creation time; zero → the simulator's clock
	// when the node is added.
	CreatedAt time.Time
	// Misbehave makes the node's kubelet file hostile CSRs.
	Misbehave Misbehaviour
}

// Misbehaviour is what an adversarial node does differently from a kubelet.
// The zero value is a well-behaved kubelet.
type Misbehaviour struct {
	// Extra SANs for the serving CSR.
	ExtraDNSNames []string
	ExtraIPs      []netip.Addr
	ExtraEmails   []string
	ExtraURIs     []*url.URL
	// ClientSANs puts the node's DNS names into the client CSR, which must
	// carry none.
	ClientSANs bool
	// DuplicateClientCSR files a second client CSR (new key) right after
	// the first, as a replayed bootstrap token would.
	DuplicateClientCSR bool
	// ImpersonateClient files the client CSR for this node name instead.
	ImpersonateClient string
	// Mutate, if set, edits each CSR before it is built: kind is
	// SignerClient or SignerServing's kind ("client"/"serving").
	Mutate func(kind string, spec *CSRSpec)
}

// SimPhase is where a node's TLS bootstrap stands.
type SimPhase string

const (
	PhaseAdded      SimPhase = "added"       // known, not booted
	PhaseClientCSR  SimPhase = "client-csr"  // client CSR filed, waiting for its certificate
	PhaseServingCSR SimPhase = "serving-csr" // Node registered, serving CSR filed, waiting
	PhaseReady      SimPhase = "ready"       // serving certificate issued, Node Ready
	PhaseFailed     SimPhase = "failed"      // a CSR was denied or the boot was cancelled
)

// NodeStatus is a snapshot of one simulated node.
type NodeStatus struct {
	Name       string
	Phase      SimPhase
	ClientCSR  string // name of the (first) client CSR, once filed
	ServingCSR string // name of the serving CSR, once filed
	Err        error  // why the boot failed (PhaseFailed)
}

func (n SimNode) validate() error {
	if n.Name == "" {
		return fmt.Errorf("okdtest: node name is empty")
	}
	switch n.Role {
	case "", RoleMaster, RoleWorker:
	default:
		return fmt.Errorf("okdtest: node %q: role %q, want %q or %q", n.Name, n.Role, RoleMaster, RoleWorker)
	}
	return nil
}
