package okdtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	certv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/okvm/okvm/okd"
)

// Errors of the simulator.
var (
	ErrSimClosed     = errors.New("okdtest: simulator is closed")
	ErrUnknownNode   = errors.New("okdtest: unknown node")
	ErrAlreadyBooted = errors.New("okdtest: node already booted")
	ErrCSRDenied     = errors.New("okdtest: CSR denied")
)

// Sim is a fake OKD cluster: a client-go fake clientset, a dynamic fake
// client for the OpenShift types client-go does not know, and simulated
// kubelets that run the real TLS bootstrap against them. When a node boots
// (BootNode) its kubelet files a real x509 client CSR (ECDSA P-256) as the
// node-bootstrapper; once that CSR has a certificate it registers its Node
// and files the serving CSR as system:node:<name> with the node's names and
// IPs as SANs; once that one has a certificate the Node turns Ready. A
// simulated kube-controller-manager signer issues a certificate (from an
// in-memory CA) for every approved kubelet CSR; nobody approves anything:
// that is the job of the approver under test.
//
// Unless WithManualProgress is given, the simulator also moves the install
// along the way the real cluster does (reference §2.3, §2.4): when every
// master is Ready it creates ConfigMap kube-system/bootstrap with
// status=complete and sets EtcdBootstrapMemberRemoved=True; when every node
// is Ready it sets ClusterVersion "version" Available=True,
// Progressing=False, Failing=False.
//
// Start one with StartSim, stop it with Close.
type Sim struct {
	kube *fake.Clientset
	dyn  *dynamicfake.FakeDynamicClient
	cfg  simConfig
	ca   *simCA

	ctx    context.Context // lifetime; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	nodes   map[string]*simNode
	waiters map[string]chan error // CSR name → told when it gets a certificate (nil) or is denied
	closed  bool
}

type simNode struct {
	spec   SimNode
	status NodeStatus
	done   chan struct{} // closed when the boot ends (Ready or failed)
}

// SimOption configures StartSim.
type SimOption func(*simConfig)

type simConfig struct {
	now     func() time.Time
	log     *slog.Logger
	manual  bool
	version string
	poll    time.Duration
}

// WithSimClock sets the clock the simulator stamps creationTimestamp and
// node creation with (default time.Now).
func WithSimClock(now func() time.Time) SimOption {
	return func(c *simConfig) {
		if now != nil {
			c.now = now
		}
	}
}

// WithSimLogger sends the simulator's log to l.
func WithSimLogger(l *slog.Logger) SimOption {
	return func(c *simConfig) {
		if l != nil {
			c.log = l
		}
	}
}

// WithManualProgress stops the simulator from completing bootstrap and
// install by itself; call CompleteBootstrap and SetClusterVersion instead.
func WithManualProgress() SimOption { return func(c *simConfig) { c.manual = true } }

// WithVersion sets the ClusterVersion's desired version (default
// "4.19.0-okd-scos.1").
func WithVersion(v string) SimOption { return func(c *simConfig) { c.version = v } }

// StartSim starts a simulator whose background work (the CSR signer) lives
// until ctx ends or Close is called.
func StartSim(ctx context.Context, opts ...SimOption) (*Sim, error) {
	cfg := simConfig{now: time.Now, log: slog.New(slog.DiscardHandler), version: "4.19.0-okd-scos.1", poll: time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	ca, err := newSimCA()
	if err != nil {
		return nil, err
	}
	s := &Sim{
		kube:    fake.NewClientset(),
		dyn:     newSimDynamic(cfg.version),
		cfg:     cfg,
		ca:      ca,
		nodes:   map[string]*simNode{},
		waiters: map[string]chan error{},
	}
	s.ctx, s.cancel = context.WithCancel(ctx)
	ready := make(chan error, 1)
	s.wg.Go(func() { s.runSigner(s.ctx, ready) })
	select {
	case err := <-ready:
		if err != nil {
			s.cancel()
			s.wg.Wait()
			return nil, err
		}
	case <-ctx.Done():
		s.cancel()
		s.wg.Wait()
		return nil, ctx.Err()
	}
	return s, nil
}

// Close stops every simulated kubelet and the signer and waits for them.
// It is safe to call more than once.
func (s *Sim) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// Kube is the fake cluster's typed client (hand it to okd.NewApprover).
func (s *Sim) Kube() kubernetes.Interface { return s.kube }

// Clientset is the same client as its concrete fake type, for reactors and
// the action log.
func (s *Sim) Clientset() *fake.Clientset { return s.kube }

// Dynamic serves the OpenShift objects the simulator models (ClusterVersion
// "version", Etcd "cluster"); see ClusterVersionGVR and EtcdGVR.
func (s *Sim) Dynamic() dynamic.Interface { return s.dyn }

// CA is the PEM certificate of the simulated kubelet signers.
func (s *Sim) CA() []byte { return s.ca.certPEM }

// AddNode makes a node known to the simulator (it does not boot it).
func (s *Sim) AddNode(n SimNode) error {
	if err := n.validate(); err != nil {
		return err
	}
	if n.Role == "" {
		n.Role = RoleWorker
	}
	if n.CreatedAt.IsZero() {
		n.CreatedAt = s.cfg.now()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrSimClosed
	}
	if _, ok := s.nodes[n.Name]; ok {
		return fmt.Errorf("okdtest: node %q added twice", n.Name)
	}
	s.nodes[n.Name] = &simNode{spec: n, status: NodeStatus{Name: n.Name, Phase: PhaseAdded}, done: make(chan struct{})}
	return nil
}

// Expected returns the allow-list an okvm lifecycle would hand the
// approver for the added nodes (misbehaviour is not part of it: okvm does
// not know a node misbehaves).
func (s *Sim) Expected() []okd.ExpectedNode {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]okd.ExpectedNode, 0, len(s.nodes))
	for _, name := range slices.Sorted(maps.Keys(s.nodes)) {
		n := s.nodes[name].spec
		out = append(out, okd.ExpectedNode{Name: n.Name, FQDN: n.FQDN, ShortName: n.ShortName, IPs: slices.Clone(n.IPs), CreatedAt: n.CreatedAt})
	}
	return out
}

// Status returns a node's bootstrap progress.
func (s *Sim) Status(name string) (NodeStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.nodes[name]
	if !ok {
		return NodeStatus{}, fmt.Errorf("%w %q", ErrUnknownNode, name)
	}
	return n.status, nil
}

// BootNode boots a node: it files the client CSR before it returns, then
// a kubelet goroutine carries the bootstrap on until the node is Ready, a
// CSR is denied, ctx ends, or the simulator is closed.
func (s *Sim) BootNode(ctx context.Context, name string) error {
	s.mu.Lock()
	n, ok := s.nodes[name]
	switch {
	case s.closed:
		s.mu.Unlock()
		return ErrSimClosed
	case !ok:
		s.mu.Unlock()
		return fmt.Errorf("%w %q", ErrUnknownNode, name)
	case n.status.Phase != PhaseAdded:
		s.mu.Unlock()
		return fmt.Errorf("%w: %q is %s", ErrAlreadyBooted, name, n.status.Phase)
	}
	n.status.Phase = PhaseClientCSR
	spec := n.spec
	s.mu.Unlock()

	bctx, cancel := context.WithCancel(s.ctx)
	stop := context.AfterFunc(ctx, cancel)
	wait, csrName, err := s.fileClientCSR(bctx, spec)
	if err != nil {
		stop()
		cancel()
		s.finish(name, err)
		return err
	}
	s.setStatus(name, func(st *NodeStatus) { st.ClientCSR = csrName })
	s.wg.Go(func() {
		defer cancel()
		defer stop()
		s.finish(name, s.kubelet(bctx, spec, wait, csrName))
	})
	return nil
}

// WaitReady waits until the named nodes (every added node if none are
// named) are Ready, and returns the first boot failure it meets.
func (s *Sim) WaitReady(ctx context.Context, names ...string) error {
	if len(names) == 0 {
		s.mu.Lock()
		names = slices.Sorted(maps.Keys(s.nodes))
		s.mu.Unlock()
	}
	for _, name := range names {
		s.mu.Lock()
		n, ok := s.nodes[name]
		s.mu.Unlock()
		if !ok {
			return fmt.Errorf("%w %q", ErrUnknownNode, name)
		}
		select {
		case <-n.done:
		case <-ctx.Done():
			return fmt.Errorf("okdtest: waiting for node %q (%s): %w", name, s.phase(name), ctx.Err())
		}
		if st, _ := s.Status(name); st.Phase != PhaseReady {
			return fmt.Errorf("okdtest: node %q: %w", name, st.Err)
		}
	}
	return nil
}

func (s *Sim) phase(name string) SimPhase {
	st, _ := s.Status(name)
	return st.Phase
}

func (s *Sim) setStatus(name string, f func(*NodeStatus)) {
	s.mu.Lock()
	f(&s.nodes[name].status)
	s.mu.Unlock()
}

func (s *Sim) finish(name string, err error) {
	s.mu.Lock()
	n := s.nodes[name]
	if err != nil {
		n.status.Phase, n.status.Err = PhaseFailed, err
	} else {
		n.status.Phase = PhaseReady
	}
	s.mu.Unlock()
	// done closes only after progress, so that a WaitReady that returns
	// sees the bootstrap ConfigMap and ClusterVersion the last Ready node
	// brought about.
	defer close(n.done)
	if err != nil {
		s.cfg.log.Info("simulated node boot ended", "node", name, "err", err)
		return
	}
	s.cfg.log.Info("simulated node Ready", "node", name)
	if !s.cfg.manual {
		s.progress(s.ctx)
	}
}

// fileClientCSR files the node's client CSR (and, misbehaving, more).
func (s *Sim) fileClientCSR(ctx context.Context, n SimNode) (chan error, string, error) {
	cn := n.Name
	if n.Misbehave.ImpersonateClient != "" {
		cn = n.Misbehave.ImpersonateClient
	}
	spec := ClientCSR(cn)
	if n.Misbehave.ClientSANs {
		spec.DNSNames = simNonEmpty(n.FQDN, n.ShortName)
	}
	if f := n.Misbehave.Mutate; f != nil {
		f("client", &spec)
	}
	wait, name, err := s.file(ctx, spec)
	if err != nil {
		return nil, "", err
	}
	if n.Misbehave.DuplicateClientCSR {
		dup := spec
		dup.Name, dup.Key = "", nil
		if _, _, err := s.file(ctx, dup); err != nil {
			s.dropWaiter(name)
			return nil, "", err
		}
	}
	return wait, name, nil
}

// file builds spec, registers a waiter for its certificate, and creates it.
func (s *Sim) file(ctx context.Context, spec CSRSpec) (chan error, string, error) {
	if spec.Created.IsZero() {
		spec.Created = s.cfg.now()
	}
	csr, err := spec.Build()
	if err != nil {
		return nil, "", err
	}
	wait := make(chan error, 1)
	s.mu.Lock()
	s.waiters[csr.Name] = wait
	s.mu.Unlock()
	if _, err := s.kube.CertificatesV1().CertificateSigningRequests().Create(ctx, csr, metav1.CreateOptions{}); err != nil {
		s.dropWaiter(csr.Name)
		return nil, "", fmt.Errorf("okdtest: file CSR: %w", err)
	}
	return wait, csr.Name, nil
}

func (s *Sim) dropWaiter(name string) {
	s.mu.Lock()
	delete(s.waiters, name)
	s.mu.Unlock()
}

// await waits for the CSR's certificate. Besides the signer's notice it
// polls, so a lost event costs a second, not the test.
func (s *Sim) await(ctx context.Context, wait chan error, name string) error {
	defer s.dropWaiter(name)
	t := time.NewTicker(s.cfg.poll)
	defer t.Stop()
	for {
		select {
		case err := <-wait:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			c, err := s.kube.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
			if err == nil {
				if len(c.Status.Certificate) > 0 {
					return nil
				}
				if simCSRDenied(c) {
					return fmt.Errorf("%w: %s", ErrCSRDenied, name)
				}
			}
		}
	}
}

// kubelet is the rest of the TLS bootstrap after the client CSR is filed.
func (s *Sim) kubelet(ctx context.Context, n SimNode, wait chan error, clientCSR string) error {
	if err := s.await(ctx, wait, clientCSR); err != nil {
		return fmt.Errorf("client CSR %s: %w", clientCSR, err)
	}
	if err := s.registerNode(ctx, n); err != nil {
		return err
	}
	spec := ServingCSR(n.Name, simNonEmpty(n.FQDN, n.ShortName), n.IPs)
	m := n.Misbehave
	spec.DNSNames = append(spec.DNSNames, m.ExtraDNSNames...)
	spec.IPs = append(spec.IPs, m.ExtraIPs...)
	spec.Emails = append(spec.Emails, m.ExtraEmails...)
	spec.URIs = append(spec.URIs, m.ExtraURIs...)
	if m.Mutate != nil {
		m.Mutate("serving", &spec)
	}
	swait, sname, err := s.file(ctx, spec)
	if err != nil {
		return err
	}
	s.setStatus(n.Name, func(st *NodeStatus) { st.Phase, st.ServingCSR = PhaseServingCSR, sname })
	if err := s.await(ctx, swait, sname); err != nil {
		return fmt.Errorf("serving CSR %s: %w", sname, err)
	}
	return s.markReady(ctx, n.Name)
}

func (s *Sim) registerNode(ctx context.Context, n SimNode) error {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:              n.Name,
			CreationTimestamp: metav1.NewTime(s.cfg.now()),
			Labels: map[string]string{
				"kubernetes.io/hostname":            n.Name,
				"node-role.kubernetes.io/" + n.Role: "",
				"node.openshift.io/os_id":           "scos",
			},
		},
		Status: corev1.NodeStatus{
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionFalse, Reason: "KubeletNotReady",
				Message: "serving certificate not issued yet", LastTransitionTime: metav1.NewTime(s.cfg.now())}},
		},
	}
	for _, ip := range n.IPs {
		node.Status.Addresses = append(node.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip.String()})
	}
	if h := simNonEmpty(n.FQDN, n.Name); len(h) > 0 {
		node.Status.Addresses = append(node.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeHostName, Address: h[0]})
	}
	if _, err := s.kube.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("okdtest: register node %q: %w", n.Name, err)
	}
	return nil
}

func (s *Sim) markReady(ctx context.Context, name string) error {
	node, err := s.kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("okdtest: node %q: %w", name, err)
	}
	node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		Message: "kubelet is posting ready status", LastTransitionTime: metav1.NewTime(s.cfg.now())}}
	if _, err := s.kube.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("okdtest: mark node %q Ready: %w", name, err)
	}
	return nil
}

func simCSRDenied(c *certv1.CertificateSigningRequest) bool {
	for _, cond := range c.Status.Conditions {
		if (cond.Type == certv1.CertificateDenied || cond.Type == certv1.CertificateFailed) && cond.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func simNonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
