package okd

import (
	"errors"
	"fmt"
	"time"
)

// CSRKind tells the two kubelet CSRs apart (reference §4.1): the client CSR a
// booting node files with the bootstrap credentials, and the serving CSR it
// files as system:node:<name> once its Node object exists.
type CSRKind string

const (
	// CSRKindClient is a CSR for signer kubernetes.io/kube-apiserver-client-kubelet.
	CSRKindClient CSRKind = "client"
	// CSRKindServing is a CSR for signer kubernetes.io/kubelet-serving.
	CSRKindServing CSRKind = "serving"
)

// CSRCheck names the check of reference §4.3 that a CSR failed. Every
// refusal carries exactly one, so logs and tests can tell "wrong SAN" from
// "wrong node" without parsing messages.
type CSRCheck string

const (
	CSRCheckPEM         CSRCheck = "pem"           // not a single PEM "CERTIFICATE REQUEST" block, or not parseable
	CSRCheckKey         CSRCheck = "key"           // key is neither ECDSA P-256 nor RSA 2048..8192
	CSRCheckSignature   CSRCheck = "signature"     // CheckSignature failed
	CSRCheckUsername    CSRCheck = "username"      // spec.username is not the requester the signer expects
	CSRCheckGroups      CSRCheck = "groups"        // spec.groups differ from what the requester must carry
	CSRCheckUsages      CSRCheck = "usages"        // spec.usages are not the exact kubelet set
	CSRCheckSubject     CSRCheck = "subject"       // O is wrong
	CSRCheckCommonName  CSRCheck = "common-name"   // CN is not system:node:<n>, or differs from the username
	CSRCheckExpected    CSRCheck = "expected-node" // <n> is not on the allow-list
	CSRCheckSANs        CSRCheck = "sans"          // a SAN that the node does not own, or a SAN kind that is never allowed
	CSRCheckNode        CSRCheck = "node"          // the Node object exists (client) or is missing (serving)
	CSRCheckWindow      CSRCheck = "window"        // created outside [CreatedAt-10s, CreatedAt+2h]
	CSRCheckOncePerBoot CSRCheck = "once-per-boot" // a client CSR for this node was already approved in this boot
	CSRCheckPendingCap  CSRCheck = "pending-cap"   // too many pending CSRs: the approver refuses to act at all
	CSRCheckAPI         CSRCheck = "api"           // the API server could not answer a lookup the checks need
)

// ErrCSRRejected classes every refusal: errors.Is(d.Err, ErrCSRRejected).
// The approver never denies a CSR (reference §4.2, §4.3 step 4); a refusal
// only means "not approved by okvm", so a human or another approver can
// still act on it.
var ErrCSRRejected = errors.New("okd: CSR not approved")

// CSRRejectedError is the typed reason a CSR was not approved.
type CSRRejectedError struct {
	Check  CSRCheck
	Detail string
}

func (e *CSRRejectedError) Error() string {
	return fmt.Sprintf("okd: CSR not approved: %s: %s", e.Check, e.Detail)
}

// Unwrap makes errors.Is(err, ErrCSRRejected) hold.
func (e *CSRRejectedError) Unwrap() error { return ErrCSRRejected }

func csrReject(check CSRCheck, format string, args ...any) *CSRRejectedError {
	return &CSRRejectedError{Check: check, Detail: fmt.Sprintf(format, args...)}
}

// Decision records what the approver did with one CSR. It is logged and, with
// WithDecisionFunc, handed to the caller (progress output, tests). A CSR that
// stays refused for the same reason yields one Decision, not one per relist.
type Decision struct {
	CSR      string    // metadata.name of the CSR
	Node     string    // the node the CSR claims to be for; "" when it could not be told
	Kind     CSRKind   // client or serving
	Approved bool      // true: UpdateApproval succeeded
	Check    CSRCheck  // the failed check; "" when approved
	Reason   string    // human-readable why, safe to log (no key material)
	Err      error     // a *CSRRejectedError when refused, nil when approved
	At       time.Time // the approver's clock (WithApproverClock)
}

func (d Decision) String() string {
	if d.Approved {
		return fmt.Sprintf("approved %s CSR %s for node %s", d.Kind, d.CSR, d.Node)
	}
	return fmt.Sprintf("not approved %s CSR %s (node %q): %s: %s", d.Kind, d.CSR, d.Node, d.Check, d.Reason)
}
