package okd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/okvm/okvm/kvm"
	"github.com/okvm/okvm/netprov"
)

// Installer is what the lifecycle needs from openshift-install. *Runner
// runs the real binary; tests and the fake example run the real Runner on
// okdtest's fake binary, so the same parsing and error classing apply.
type Installer interface {
	CreateManifests(ctx context.Context, mastersSchedulable bool) (*ManifestPatch, error)
	CreateIgnitionConfigs(ctx context.Context) (*IgnitionConfigs, error)
	WaitForBootstrapComplete(ctx context.Context) error
	WaitForInstallComplete(ctx context.Context) (*InstallSummary, error)
	GatherBootstrap(ctx context.Context, o GatherOptions) (string, error)
}

var _ Installer = (*Runner)(nil)

// NetworkMode chooses how the cluster's DNS and DHCP are delivered. All
// three serve the same netprov.Plan.
type NetworkMode string

const (
	// NetworkLibvirt (default): the libvirt network's own dnsmasq holds the
	// DHCP reservations, the DNS host records and the *.apps wildcard.
	NetworkLibvirt NetworkMode = "libvirt"
	// NetworkEmbedded: okvm's embedded DNS and DHCP servers (netprov) serve
	// the plan for as long as the lifecycle runs; the libvirt network only
	// carries packets.
	NetworkEmbedded NetworkMode = "embedded"
	// NetworkRendered: configuration for the team's own BIND, Kea, dhcpd,
	// dnsmasq and HAProxy is written under <dir>/network; nothing is served.
	NetworkRendered NetworkMode = "rendered"
)

// HypervisorDialer connects to one libvirt URI.
type HypervisorDialer func(ctx context.Context, uri string) (*kvm.Client, error)

// KubeClientFunc returns a client for the cluster from its admin kubeconfig.
type KubeClientFunc func(ctx context.Context, kubeconfig string) (kubernetes.Interface, error)

// Progress is one line of lifecycle progress.
type Progress struct {
	Step    Step          `json:"step"`
	Message string        `json:"message"`
	Done    bool          `json:"done,omitempty"` // the step finished
	Elapsed time.Duration `json:"elapsed,omitempty"`
	// Deadline is when the current wait gives up (installer waits) or the
	// certificate soft deadline, when known.
	Deadline time.Time `json:"deadline,omitzero"`
}

// LifecycleOption configures a Lifecycle.
type LifecycleOption func(*Lifecycle)

// WithHypervisorDialer replaces kvm.Dial (tests pass the fake's clients).
func WithHypervisorDialer(d HypervisorDialer) LifecycleOption {
	return func(l *Lifecycle) { l.dial = d }
}

// WithInstaller sets the installer; default: a Runner on "openshift-install"
// in <dir>/install.
func WithInstaller(i Installer) LifecycleOption { return func(l *Lifecycle) { l.installer = i } }

// WithInstallerBinary runs openshift-install from path (default: found in
// $PATH) through the lifecycle's own Runner.
func WithInstallerBinary(path string) LifecycleOption {
	return func(l *Lifecycle) { l.installerBin = path }
}

// WithKubeClient sets how the approver reaches the cluster (default: the
// admin kubeconfig the installer wrote).
func WithKubeClient(f KubeClientFunc) LifecycleOption { return func(l *Lifecycle) { l.kube = f } }

// WithNetworkMode picks the DNS/DHCP delivery path (default NetworkLibvirt).
func WithNetworkMode(m NetworkMode) LifecycleOption { return func(l *Lifecycle) { l.netMode = m } }

// WithEmbeddedAddrs sets where the embedded DNS and DHCP servers listen
// (NetworkEmbedded), e.g. "127.0.0.1:0" for tests; defaults ":53" and ":67".
func WithEmbeddedAddrs(dns, dhcp string) LifecycleOption {
	return func(l *Lifecycle) { l.dnsAddr, l.dhcpAddr = dns, dhcp }
}

// WithForce boots the bootstrap even after the certificate soft deadline.
func WithForce(force bool) LifecycleOption { return func(l *Lifecycle) { l.force = force } }

// WithLifecycleLogger sets the logger. Nothing secret is ever logged.
func WithLifecycleLogger(lg *slog.Logger) LifecycleOption {
	return func(l *Lifecycle) { l.log = lg }
}

// WithProgress receives one Progress per step start, step end and notable
// event (installer waits, CSR approvals).
func WithProgress(f func(Progress)) LifecycleOption { return func(l *Lifecycle) { l.progress = f } }

// WithLifecycleClock replaces time.Now (deadline checks, CreatedAt).
func WithLifecycleClock(now func() time.Time) LifecycleOption {
	return func(l *Lifecycle) { l.now = now }
}

// WithPool names the storage pool and its directory on every hypervisor
// (default okvm-<cluster> at /var/lib/libvirt/images/okvm-<cluster>).
func WithPool(name, dir string) LifecycleOption {
	return func(l *Lifecycle) { l.pool, l.poolDir = name, dir }
}

// WithDomainType forces kvm or qemu domains (default: what the host has).
func WithDomainType(t string) LifecycleOption { return func(l *Lifecycle) { l.domainType = t } }

// WithApproverOptions passes options to the CSR approver.
func WithApproverOptions(opts ...ApproverOption) LifecycleOption {
	return func(l *Lifecycle) { l.approverOpts = append(l.approverOpts, opts...) }
}

// WithStepHook is called after each step is saved (tests use it to crash
// the process at every step).
func WithStepHook(f func(Step)) LifecycleOption { return func(l *Lifecycle) { l.stepHook = f } }

// Lifecycle installs one OKD cluster on libvirt, step by step, saving its
// state after each step so that a rerun after a crash continues and
// converges: no duplicate VMs, nothing lost (see Steps).
//
// The bootstrap VM is removed as soon as bootstrap-complete holds (LB
// backends, DNS, DHCP, VM, overlay), not at install-complete as kcli does:
// it holds 16 GiB of RAM for nothing from then on. The CSR approver starts
// right after, before any worker boots, because the bootstrap's
// approve-csr.sh is gone with it.
//
// Run on a finished install does nothing and says so
// (Summary.AlreadyInstalled). AddWorkers grows an installed cluster the same
// way the install added its workers. A libvirtd restart in the middle is
// survived: kvm redials and every step is idempotent.
type Lifecycle struct {
	spec    ClusterSpec
	dir     string
	state   *LifecycleState
	stateMu sync.Mutex

	dial         HypervisorDialer
	installer    Installer
	installerBin string
	kube         KubeClientFunc
	netMode      NetworkMode
	dnsAddr      string
	dhcpAddr     string
	force        bool
	log          *slog.Logger
	progress     func(Progress)
	now          func() time.Time
	pool         string
	poolDir      string
	domainType   string
	approverOpts []ApproverOption
	stepHook     func(Step)

	clients map[string]*kvm.Client

	// Embedded servers, when NetworkEmbedded (per process: restarted on
	// every Run).
	dnsServer  *netprov.DNSServer
	dhcpServer *netprov.DHCPServer

	approver     *Approver
	approverStop context.CancelFunc
	approverDone chan error
}

// NewLifecycle validates spec (field-named errors, before anything is
// created) and prepares a lifecycle whose artifacts live under dir:
// install/ (the installer's directory), nodes/ (per-node Ignition, 0600),
// network/ (rendered configuration), .okvm/state.json.
func NewLifecycle(spec ClusterSpec, dir string, opts ...LifecycleOption) (*Lifecycle, error) {
	spec = spec.WithDefaults()
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, fmt.Errorf("okd: %w: dir: must name the artifacts directory", ErrInvalid)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("okd: dir %q: %w", dir, err)
	}
	l := &Lifecycle{
		spec:    spec,
		dir:     abs,
		netMode: NetworkLibvirt,
		log:     slog.New(slog.DiscardHandler),
		now:     time.Now,
		clients: map[string]*kvm.Client{},
	}
	for _, o := range opts {
		o(l)
	}
	switch l.netMode {
	case NetworkLibvirt, NetworkEmbedded, NetworkRendered:
	default:
		return nil, fmt.Errorf("okd: %w: network mode %q: must be libvirt, embedded or rendered", ErrInvalid, l.netMode)
	}
	if l.pool == "" {
		l.pool = "okvm-" + spec.Name
	}
	if l.poolDir == "" {
		l.poolDir = "/var/lib/libvirt/images/okvm-" + spec.Name
	}
	if l.dial == nil {
		l.dial = func(ctx context.Context, uri string) (*kvm.Client, error) {
			return kvm.Dial(ctx, uri, kvm.WithLogger(l.log))
		}
	}
	if l.dnsAddr == "" {
		l.dnsAddr = ":53"
	}
	if l.dhcpAddr == "" {
		l.dhcpAddr = ":67"
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("okd: artifacts dir: %w", err)
	}
	st, err := loadState(abs, spec.Name)
	if err != nil {
		return nil, err
	}
	l.state = st
	if l.installer == nil {
		ropts := []RunnerOption{WithRunnerLogger(l.log), WithPullSecret(spec.PullSecret), WithEventHandler(l.installerEvent)}
		if l.installerBin != "" {
			ropts = append(ropts, WithRunnerBinary(l.installerBin))
		}
		if spec.Release != "" {
			// ClusterSpec.Release pins the payload; the installer only
			// honours it through this override.
			ropts = append(ropts, WithReleaseImage(spec.Release))
		}
		r, err := NewRunner(l.installDir(), ropts...)
		if err != nil {
			return nil, err
		}
		l.installer = r
	}
	if l.kube == nil {
		l.kube = kubeFromKubeconfig
	}
	return l, nil
}

// Dir is the artifacts directory.
func (l *Lifecycle) Dir() string { return l.dir }

// State returns a copy of the persisted state.
func (l *Lifecycle) State() LifecycleState {
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	c := *l.state
	c.Done = append([]Step(nil), l.state.Done...)
	c.Nodes = map[string]*NodeState{}
	for k, v := range l.state.Nodes {
		n := *v
		c.Nodes[k] = &n
	}
	return c
}

func (l *Lifecycle) installDir() string { return filepath.Join(l.dir, "install") }

// Run takes every step not yet done and returns the summary. It can be
// called again after a failure or a crash: it continues where the state
// says it stopped. Cancelling ctx stops it cleanly between or inside steps;
// the state stays consistent.
func (l *Lifecycle) Run(ctx context.Context) (*Summary, error) {
	start := l.now()
	defer l.stopServices()
	if l.state.Destroyed {
		return nil, fmt.Errorf("okd: cluster %q was destroyed; use a new directory", l.spec.Name)
	}
	steps := []struct {
		step Step
		run  func(context.Context) error
	}{
		{StepPlan, l.stepPlan},
		{StepInstallConfig, l.stepInstallConfig},
		{StepManifests, l.stepManifests},
		{StepIgnitionConfigs, l.stepIgnitionConfigs},
		{StepDeadline, l.stepDeadline},
		{StepNetwork, l.stepNetwork},
		{StepImage, l.stepImage},
		{StepControlPlane, l.stepControlPlane},
		{StepStartControlPlane, l.stepStartControlPlane},
		{StepBootstrapComplete, l.stepBootstrapComplete},
		{StepRemoveBootstrap, l.stepRemoveBootstrap},
		{StepWorkers, l.stepWorkers},
		{StepInstallComplete, l.stepInstallComplete},
		{StepSummary, l.stepSummary},
	}
	if n := len(l.state.Done); n > 0 && n < len(steps) {
		if err := l.reconcile(ctx); err != nil {
			return nil, fmt.Errorf("okd: resume: %w", err)
		}
	}
	ran := 0
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// Per-process services (embedded DNS/DHCP, the approver) must run
		// again on resume before the steps that rely on them.
		if err := l.resumeServices(ctx, s.step); err != nil {
			return nil, err
		}
		if l.state.done(s.step) {
			continue
		}
		ran++
		t0 := l.now()
		l.report(Progress{Step: s.step, Message: "starting"})
		if err := s.run(ctx); err != nil {
			return nil, fmt.Errorf("okd: step %s: %w", s.step, err)
		}
		l.stateMu.Lock()
		l.state.markDone(s.step)
		err := l.state.save(l.dir)
		l.stateMu.Unlock()
		if err != nil {
			return nil, err
		}
		l.report(Progress{Step: s.step, Message: "done", Done: true, Elapsed: l.now().Sub(t0)})
		if l.stepHook != nil {
			l.stepHook(s.step)
		}
	}
	sum := *l.state.Summary
	sum.Elapsed = l.now().Sub(start)
	if ran == 0 {
		// A rerun of a finished install: say so rather than report an
		// install that "completed" in milliseconds.
		sum.AlreadyInstalled = true
		l.report(Progress{Step: StepSummary, Message: fmt.Sprintf("cluster %s was already installed; nothing to do", l.spec.Name)})
	}
	return &sum, nil
}

// saveState persists the state after a change inside a step.
func (l *Lifecycle) saveState() error {
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	return l.state.save(l.dir)
}

func (l *Lifecycle) report(p Progress) {
	l.log.Info("lifecycle", "step", string(p.Step), "message", p.Message, "elapsed", p.Elapsed)
	if l.progress != nil {
		l.progress(p)
	}
}

// installerEvent turns the runner's parsed (and redacted) log lines into
// progress for the waits that take half an hour.
func (l *Lifecycle) installerEvent(e Event) {
	if e.Level != LevelInfo && e.Level != LevelWarning && e.Level != LevelError && e.Level != LevelFatal {
		return
	}
	if l.progress != nil {
		l.progress(Progress{Step: Step("installer"), Message: e.Message, Deadline: e.Deadline})
	}
}

// client returns (and caches) the kvm client for one hypervisor URI.
func (l *Lifecycle) client(ctx context.Context, uri string) (*kvm.Client, error) {
	if c, ok := l.clients[uri]; ok {
		return c, nil
	}
	c, err := l.dial(ctx, uri)
	if err != nil {
		return nil, fmt.Errorf("okd: hypervisor %s: %w", uri, err)
	}
	l.clients[uri] = c
	return c, nil
}

// hypervisors lists the URIs the cluster uses, in spec order.
func (l *Lifecycle) hypervisors() []string {
	var out []string
	seen := map[string]bool{}
	for _, h := range l.spec.Hypervisors {
		if !seen[h.URI] {
			seen[h.URI] = true
			out = append(out, h.URI)
		}
	}
	return out
}

// Close releases the hypervisor connections and stops the services this
// process started.
func (l *Lifecycle) Close() error {
	l.stopServices()
	var errs []error
	for uri, c := range l.clients {
		if c != nil {
			errs = append(errs, c.Close())
		}
		delete(l.clients, uri)
	}
	return errors.Join(errs...)
}
