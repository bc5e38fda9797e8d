package okd

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	certv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ApprovalReason is the reason okvm writes into the Approved condition, so
// `oc get csr -o yaml` shows who approved what (cluster-machine-approver
// writes NodeCSRApprove, the bootstrap's approve-csr.sh writes
// KubectlApprove).
const ApprovalReason = "OKVMApprove"

// csrClientWindowBefore and csrClientWindowAfter bound a client CSR's
// creation time around ExpectedNode.CreatedAt, as cluster-machine-approver
// does around Machine creation (reference §4.2): the clock skew between
// host and API server, and the docs' "approve within 1 h" doubled.
const (
	csrClientWindowBefore = 10 * time.Second
	csrClientWindowAfter  = 2 * time.Hour
)

// ErrApproverRunning is returned by Run when the Approver is already running.
var ErrApproverRunning = errors.New("okd: approver is already running")

// Approver approves the kubelet CSRs of the nodes okvm created, and nothing
// else (reference §4.3). It replaces the bootstrap node's approve-csr.sh once
// the bootstrap is gone, and is what kcli's approve-everything CronJob
// should have been (peers §1.4): an allow-list of node names, exact
// requester/groups/usages/signer, SANs ⊆ the node's own names and IPs, a
// time window, one client approval per node and boot, and a cap on pending
// CSRs. It never denies: a refused CSR is logged with the failed check and
// left for a human.
//
// Create it with NewApprover, call Run in a goroutine, and widen the
// allow-list with AddExpected when workers are created. All methods are safe
// for concurrent use.
type Approver struct {
	client kubernetes.Interface
	cfg    approverConfig
	queue  *csrQueue

	running  atomic.Bool
	synced   chan struct{} // closed once the first CSR list is loaded and the watch is open
	syncOnce sync.Once

	mu           sync.Mutex
	expected     map[string]csrExpectedNode // replaced, never mutated in place
	store        map[string]*certv1.CertificateSigningRequest
	firstSeen    map[string]time.Time
	approvedBoot map[string]time.Time // node → CreatedAt of the boot whose client CSR okvm approved
	last         map[string]string    // CSR → last decision, so a relist does not repeat it
	capped       bool                 // a CSR was held back by the pending cap since the last deletion
	clientNode   map[string]string    // client CSR → node of its CN ("" if unparseable); spec is immutable
}

// NewApprover returns an approver for client with the given allow-list.
// It does nothing until Run.
func NewApprover(client kubernetes.Interface, expected []ExpectedNode, opts ...ApproverOption) (*Approver, error) {
	if client == nil {
		return nil, errors.New("okd: NewApprover: nil kubernetes.Interface")
	}
	cfg := defaultApproverConfig()
	for _, o := range opts {
		o(&cfg)
	}
	a := &Approver{
		client:       client,
		cfg:          cfg,
		queue:        newCSRQueue(),
		synced:       make(chan struct{}),
		expected:     map[string]csrExpectedNode{},
		store:        map[string]*certv1.CertificateSigningRequest{},
		firstSeen:    map[string]time.Time{},
		approvedBoot: map[string]time.Time{},
		last:         map[string]string{},
		clientNode:   map[string]string{},
	}
	if err := a.SetExpected(expected...); err != nil {
		return nil, err
	}
	return a, nil
}

// SetExpected replaces the allow-list. CSRs of nodes that leave it are no
// longer approved; pending CSRs are re-examined at once.
func (a *Approver) SetExpected(nodes ...ExpectedNode) error {
	m, err := csrCompileAll(nil, nodes)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.expected = m
	a.mu.Unlock()
	a.requeuePending()
	return nil
}

// AddExpected adds nodes to the allow-list, or replaces the entries with the
// same Name (a recreated VM: a new CreatedAt is a new boot).
func (a *Approver) AddExpected(nodes ...ExpectedNode) error {
	a.mu.Lock()
	m, err := csrCompileAll(a.expected, nodes)
	if err == nil {
		a.expected = m
	}
	a.mu.Unlock()
	if err != nil {
		return err
	}
	a.requeuePending()
	return nil
}

// Expected returns the allow-list, sorted by name.
func (a *Approver) Expected() []ExpectedNode {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]ExpectedNode, 0, len(a.expected))
	for _, name := range slices.Sorted(maps.Keys(a.expected)) {
		out = append(out, a.expected[name].ExpectedNode)
	}
	return out
}

func csrCompileAll(base map[string]csrExpectedNode, nodes []ExpectedNode) (map[string]csrExpectedNode, error) {
	m := maps.Clone(base)
	if m == nil {
		m = map[string]csrExpectedNode{}
	}
	seen := map[string]bool{}
	for _, n := range nodes {
		if err := n.Validate(); err != nil {
			return nil, err
		}
		if seen[n.Name] {
			return nil, fmt.Errorf("%w: node %q is listed twice", ErrInvalidExpectedNode, n.Name)
		}
		seen[n.Name] = true
		m[n.Name] = csrCompileExpected(n)
	}
	return m, nil
}

// Run watches CSRs (and Nodes, to retry serving CSRs as soon as their Node
// registers) and approves what passes every check, until ctx ends. It then
// returns nil. API errors are logged and retried with back-off, because the
// API server comes and goes while a cluster installs.
func (a *Approver) Run(ctx context.Context) error {
	if !a.running.CompareAndSwap(false, true) {
		return ErrApproverRunning
	}
	defer a.running.Store(false)
	a.cfg.log.Info("CSR approver started", "expected", len(a.Expected()), "relist", a.cfg.relist, "recovery", a.cfg.recovery)
	var wg sync.WaitGroup
	wg.Go(func() { a.syncCSRs(ctx) })
	wg.Go(func() { a.watchNodes(ctx) })
	for {
		name, ok := a.queue.pop(ctx)
		if !ok {
			break
		}
		a.process(ctx, name)
	}
	wg.Wait()
	a.cfg.log.Info("CSR approver stopped")
	return nil
}

// Synced is closed once Run has loaded every existing CSR and opened its
// watch: from then on a new CSR is judged as soon as its event arrives.
// Callers that file CSRs and expect them judged in filing order (tests) wait
// for it; the lifecycle need not.
func (a *Approver) Synced() <-chan struct{} { return a.synced }

// requeuePending queues every CSR that is not yet approved or denied.
func (a *Approver) requeuePending() {
	a.mu.Lock()
	var names []string
	for name, c := range a.store {
		if !csrFinal(c) {
			names = append(names, name)
		}
	}
	a.mu.Unlock()
	slices.Sort(names)
	for _, n := range names {
		a.queue.push(n)
	}
}

func (a *Approver) requeueAfter(name string, d time.Duration) {
	time.AfterFunc(d, func() { a.queue.push(name) })
}

// process judges one CSR and approves it if every check passes.
func (a *Approver) process(ctx context.Context, name string) {
	a.mu.Lock()
	csr := a.store[name]
	if csr == nil || csrFinal(csr) {
		a.mu.Unlock()
		return
	}
	kind, ok := csrKindOf(csr)
	if !ok {
		a.mu.Unlock()
		a.cfg.log.Debug("CSR skipped: signer is not a kubelet signer", "csr", name, "signer", csr.Spec.SignerName)
		return
	}
	pending := 0
	for _, c := range a.store {
		if !csrFinal(c) {
			pending++
		}
	}
	expected := a.expected
	created := csr.CreationTimestamp.Time
	if created.IsZero() {
		created = a.firstSeen[name]
	}
	a.mu.Unlock()

	d := Decision{CSR: name, Kind: kind}
	if limit := len(expected) + a.cfg.maxPending; pending > limit {
		a.mu.Lock()
		a.capped = true
		a.mu.Unlock()
		a.decide(d, "", csrReject(CSRCheckPendingCap, "%d CSRs pending, more than %d (allow-list %d + %d): refusing to act", pending, limit, len(expected), a.cfg.maxPending))
		return
	}
	req, rej := csrParseRequest(csr.Spec.Request)
	if rej != nil {
		node := ""
		if kind == CSRKindServing {
			node = csrNodeFromCN(csr.Spec.Username)
		}
		a.decide(d, node, rej)
		return
	}
	var node string
	if kind == CSRKindClient {
		a.mu.Lock()
		a.clientNode[name] = csrNodeFromCN(req.Subject.CommonName)
		a.mu.Unlock()
		node, rej = csrCheckClientStatic(csr, req, expected)
	} else {
		node, rej = csrCheckServingStatic(csr, req, expected)
	}
	if rej == nil {
		rej = a.checkState(ctx, kind, node, name, created, expected[node])
	}
	if rej != nil {
		if rej.Check == CSRCheckAPI {
			a.requeueAfter(name, time.Second)
		}
		a.decide(d, node, rej)
		return
	}
	a.approve(ctx, csr, kind, node, expected[node])
}

// checkState runs the checks that need the API or the approver's memory.
func (a *Approver) checkState(ctx context.Context, kind CSRKind, node, csrName string, created time.Time, exp csrExpectedNode) *CSRRejectedError {
	_, err := a.client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	exists := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return csrReject(CSRCheckAPI, "get node %q: %v", node, err)
	}
	if kind == CSRKindServing {
		if !exists {
			return csrReject(CSRCheckNode, "node %q has not registered yet; a serving CSR needs its Node", node)
		}
		return nil
	}
	// Client CSR. A Node that exists already has a client certificate: a
	// second one for the same name is how a stolen bootstrap token would
	// impersonate it (cluster-machine-approver: "node already exists").
	if exists && !a.cfg.recovery {
		return csrReject(CSRCheckNode, "node %q already exists; its client CSR is approved only in recovery mode", node)
	}
	lo, hi := exp.CreatedAt.Add(-csrClientWindowBefore), exp.CreatedAt.Add(csrClientWindowAfter)
	if created.IsZero() || created.Before(lo) || created.After(hi) {
		return csrReject(CSRCheckWindow, "created %s, outside [%s, %s] around node %q's creation",
			created.UTC().Format(time.RFC3339), lo.UTC().Format(time.RFC3339), hi.UTC().Format(time.RFC3339), node)
	}
	if other := a.clientApprovedThisBoot(node, csrName, exp.CreatedAt); other != "" {
		return csrReject(CSRCheckOncePerBoot, "node %q already got client CSR %s approved in this boot", node, other)
	}
	return nil
}

// clientApprovedThisBoot returns the name of a client CSR for node approved
// since the boot began: one that okvm approved itself, or one approved by
// anyone that it can see in the store (so a restarted approver, or the
// bootstrap's approve-csr.sh, also counts).
func (a *Approver) clientApprovedThisBoot(node, self string, bootAt time.Time) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t, ok := a.approvedBoot[node]; ok && t.Equal(bootAt) {
		return "(approved by okvm)"
	}
	lo := bootAt.Add(-csrClientWindowBefore)
	for name, c := range a.store {
		if name == self || c.Spec.SignerName != certv1.KubeAPIServerClientKubeletSignerName || !csrApproved(c) {
			continue
		}
		created := c.CreationTimestamp.Time
		if created.IsZero() {
			created = a.firstSeen[name]
		}
		if created.Before(lo) {
			continue
		}
		n, ok := a.clientNode[name]
		if !ok {
			// Approved by someone else before okvm saw it: parse it once.
			if req, err := csrDecodeVerified(c.Spec.Request); err == nil {
				n = csrNodeFromCN(req.Subject.CommonName)
			}
			a.clientNode[name] = n
		}
		if n == node {
			return name
		}
	}
	return ""
}

func csrApproved(c *certv1.CertificateSigningRequest) bool {
	for _, cond := range c.Status.Conditions {
		if cond.Type == certv1.CertificateApproved && cond.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// approve writes the Approved condition through the approval subresource.
func (a *Approver) approve(ctx context.Context, csr *certv1.CertificateSigningRequest, kind CSRKind, node string, exp csrExpectedNode) {
	now := a.cfg.now()
	c := csr.DeepCopy()
	c.Status.Conditions = append(c.Status.Conditions, certv1.CertificateSigningRequestCondition{
		Type:           certv1.CertificateApproved,
		Status:         corev1.ConditionTrue,
		Reason:         ApprovalReason,
		Message:        fmt.Sprintf("okvm: %s CSR of allow-listed node %s passed every check", kind, node),
		LastUpdateTime: metav1.NewTime(now),
	})
	updated, err := a.client.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, c.Name, c, metav1.UpdateOptions{})
	switch {
	case err == nil:
	case apierrors.IsNotFound(err):
		return
	case apierrors.IsConflict(err):
		// Someone changed it since we read it: read it again and judge anew.
		if fresh, gerr := a.client.CertificatesV1().CertificateSigningRequests().Get(ctx, c.Name, metav1.GetOptions{}); gerr == nil {
			a.observe(fresh)
		}
		a.queue.push(c.Name)
		return
	default:
		if ctx.Err() == nil {
			a.cfg.log.Error("CSR approval failed; will retry", "csr", c.Name, "node", node, "err", err)
			a.requeueAfter(c.Name, time.Second)
		}
		return
	}
	a.mu.Lock()
	if updated != nil && updated.Name != "" {
		a.store[c.Name] = updated
	} else {
		a.store[c.Name] = c
	}
	if kind == CSRKindClient {
		a.approvedBoot[node] = exp.CreatedAt
	}
	a.mu.Unlock()
	a.decide(Decision{CSR: c.Name, Kind: kind, At: now}, node, nil)
}

// decide logs d and hands it to the decision func, once per distinct outcome.
func (a *Approver) decide(d Decision, node string, rej *CSRRejectedError) {
	d.Node = node
	if d.At.IsZero() {
		d.At = a.cfg.now()
	}
	key := "approved"
	if rej != nil {
		d.Err, d.Check, d.Reason = rej, rej.Check, rej.Detail
		key = string(rej.Check) + "\x00" + rej.Detail
	} else {
		d.Approved = true
	}
	a.mu.Lock()
	repeat := a.last[d.CSR] == key
	a.last[d.CSR] = key
	a.mu.Unlock()
	attrs := []any{"csr", d.CSR, "node", d.Node, "kind", d.Kind}
	switch {
	case repeat:
		a.cfg.log.Debug("CSR still not approved", append(attrs, "check", d.Check, "reason", d.Reason)...)
		return
	case d.Approved:
		a.cfg.log.Info("CSR approved", attrs...)
	default:
		level := slog.LevelWarn
		if d.Check == CSRCheckNode && d.Kind == CSRKindServing {
			level = slog.LevelInfo // the ordinary wait for the Node to register
		}
		a.cfg.log.Log(context.Background(), level, "CSR not approved", append(attrs, "check", d.Check, "reason", d.Reason)...)
	}
	if a.cfg.onDecision != nil {
		a.cfg.onDecision(d)
	}
}

// csrDecodeVerified reads the CN of an already-approved CSR, trusting it only
// if the request passes the same parse, key and signature checks.
func csrDecodeVerified(raw []byte) (*x509.CertificateRequest, error) {
	req, rej := csrParseRequest(raw)
	if rej != nil {
		return nil, rej
	}
	return req, nil
}
