package okd

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// ErrInvalidExpectedNode classes errors from ExpectedNode.Validate,
// SetExpected and AddExpected.
var ErrInvalidExpectedNode = errors.New("okd: invalid expected node")

// ExpectedNode is one entry of the approver's allow-list (reference §4.3
// inputs): a node okvm created and therefore vouches for.
type ExpectedNode struct {
	// Name is the Kubernetes node name, the <n> of CN=system:node:<n>.
	Name string `json:"name"`
	// FQDN and ShortName are the only DNS names a serving CSR may carry
	// (compared case-insensitively, trailing dot trimmed). Either may be
	// empty; the approver does not derive one from the other, so what is
	// allowed is exactly what the caller wrote.
	FQDN      string `json:"fqdn,omitempty"`
	ShortName string `json:"shortName,omitempty"`
	// IPs are the only IP SANs a serving CSR may carry.
	IPs []netip.Addr `json:"ips,omitempty"`
	// CreatedAt is when the VM was created (or, in recovery mode, restarted):
	// a client CSR must be created in [CreatedAt-10s, CreatedAt+2h], the
	// window cluster-machine-approver uses around Machine creation (§4.2).
	// A new CreatedAt for the same Name is a new boot, which may again get
	// one client CSR approved.
	CreatedAt time.Time `json:"createdAt"`
}

// Validate reports the first field that would make the entry unusable.
func (n ExpectedNode) Validate() error {
	if n.Name == "" {
		return fmt.Errorf("%w: name is empty", ErrInvalidExpectedNode)
	}
	if n.Name != strings.ToLower(n.Name) || strings.ContainsAny(n.Name, " /:") {
		return fmt.Errorf("%w: name %q: must be a lower-case DNS subdomain", ErrInvalidExpectedNode, n.Name)
	}
	if n.CreatedAt.IsZero() {
		return fmt.Errorf("%w: node %q: createdAt is zero (the client CSR window needs it)", ErrInvalidExpectedNode, n.Name)
	}
	for i, ip := range n.IPs {
		if !ip.IsValid() {
			return fmt.Errorf("%w: node %q: ips[%d] is not a valid address", ErrInvalidExpectedNode, n.Name, i)
		}
		if ip.IsUnspecified() {
			return fmt.Errorf("%w: node %q: ips[%d] = %s is unspecified", ErrInvalidExpectedNode, n.Name, i, ip)
		}
	}
	return nil
}

// csrDNSNorm normalises a DNS name for comparison: lower case, no trailing dot.
func csrDNSNorm(s string) string {
	return strings.TrimSuffix(strings.ToLower(s), ".")
}

// csrExpectedNode is the approver's compiled form of an ExpectedNode.
type csrExpectedNode struct {
	ExpectedNode
	dns map[string]bool
	ips map[netip.Addr]bool
}

func csrCompileExpected(n ExpectedNode) csrExpectedNode {
	c := csrExpectedNode{ExpectedNode: n, dns: map[string]bool{}, ips: map[netip.Addr]bool{}}
	c.IPs = append([]netip.Addr(nil), n.IPs...)
	for _, d := range []string{n.FQDN, n.ShortName} {
		if d = csrDNSNorm(d); d != "" {
			c.dns[d] = true
		}
	}
	for _, ip := range n.IPs {
		c.ips[ip.Unmap()] = true
	}
	return c
}
