// Package fakeworld wires okvm's fakes into one simulated datacenter, so the
// install lifecycle can run end to end without a hypervisor or a cluster:
//
//   - a VM of the cluster that starts on the (fake or real) libvirt boots a
//     simulated kubelet in okdtest's fake cluster, which files real CSRs;
//   - while the bootstrap VM exists, every CSR is approved, as the
//     bootstrap's approve-csr.sh does — that is how masters join;
//   - once every master is Ready, the fake cluster completes bootstrapping
//     and the fake openshift-install's `wait-for bootstrap-complete` ends;
//   - after the bootstrap is gone nobody approves anything but okvm's own
//     approver: workers only join if it does its job;
//   - once every expected worker is Ready, ClusterVersion turns Available and
//     `wait-for install-complete` ends.
//
// It is shared by examples/cluster and the lifecycle tests, and is internal
// because the glue needs kvm and okdtest at once, which no public test
// package may import together.
package fakeworld

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	certv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/okvm/okvm/kvm"
	"github.com/okvm/okvm/okd/okdtest"
)

// NodeInfo is what the world needs to know about a VM to boot its kubelet.
type NodeInfo struct {
	Name string // Kubernetes node name (the FQDN)
	FQDN string
	IP   netip.Addr
	Role string // bootstrap, master, worker
}

// Config describes the simulated cluster.
type Config struct {
	// Cluster is the cluster name: only domains labelled cluster=<Cluster>
	// take part.
	Cluster string
	// InstallDir is the fake installer's directory (signal files).
	InstallDir string
	// Workers is how many workers must be Ready for install-complete.
	Workers int
	// Lookup maps a domain name to its node (from the lifecycle state).
	Lookup func(domain string) (NodeInfo, bool)
	Logger *slog.Logger
	// Poll is how often progress is checked (default 20 ms).
	Poll time.Duration
}

// World is a running simulation. Stop it with Close.
type World struct {
	cfg  Config
	Sim  *okdtest.Sim
	kvm  *kvm.Client
	log  *slog.Logger
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu              sync.Mutex
	booted          map[string]string // node name → role, once its kubelet booted
	bootstrapAlive  bool
	apiSignal       bool
	bootstrapSignal bool
	installSignal   bool
}

// Start runs the world against c (whose domains it watches) and a new fake
// cluster. Domains already running (a resumed lifecycle) boot at once.
func Start(ctx context.Context, c *kvm.Client, cfg Config) (*World, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Poll == 0 {
		cfg.Poll = 20 * time.Millisecond
	}
	sim, err := okdtest.StartSim(ctx, okdtest.WithManualProgress(), okdtest.WithSimLogger(cfg.Logger))
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w := &World{cfg: cfg, Sim: sim, kvm: c, log: cfg.Logger, stop: cancel, booted: map[string]string{}}
	sub, err := c.Subscribe(wctx, kvm.EventFilter{Types: []kvm.EventType{kvm.EventStarted, kvm.EventUndefined, kvm.EventStopped}})
	if err != nil {
		cancel()
		sim.Close()
		return nil, err
	}
	w.wg.Go(func() { w.watch(wctx, sub) })
	w.wg.Go(func() { w.approveWhileBootstrap(wctx) })
	w.wg.Go(func() { w.progress(wctx) })
	w.rescan(wctx)
	return w, nil
}

// Close stops the world and its fake cluster.
func (w *World) Close() error {
	w.stop()
	w.wg.Wait()
	return w.Sim.Close()
}

func (w *World) watch(ctx context.Context, sub *kvm.Subscription) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-sub.C:
			if !ok {
				return
			}
			w.rescan(ctx)
		case <-tick.C: // events can be dropped or missed across redials
			w.rescan(ctx)
		}
	}
}

// rescan looks at the cluster's domains: running ones boot their kubelet
// (once), and the bootstrap counts as alive while its domain exists.
func (w *World) rescan(ctx context.Context) {
	doms, err := w.kvm.ListDomains(ctx, map[string]string{"cluster": w.cfg.Cluster})
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("fakeworld: list domains", "err", err)
		}
		return
	}
	alive := false
	for _, d := range doms {
		info, ok := w.cfg.Lookup(d.Name)
		if !ok {
			continue
		}
		if info.Role == "bootstrap" {
			alive = true
			// The bootstrap's kube-apiserver answers once its VM runs.
			if d.Active {
				w.apiUp()
			}
			continue
		}
		if !d.Active {
			continue
		}
		w.boot(ctx, info)
	}
	w.mu.Lock()
	w.bootstrapAlive = alive
	w.mu.Unlock()
}

func (w *World) boot(ctx context.Context, info NodeInfo) {
	w.mu.Lock()
	if _, ok := w.booted[info.Name]; ok {
		w.mu.Unlock()
		return
	}
	w.booted[info.Name] = info.Role
	w.mu.Unlock()
	short, _, _ := strings.Cut(info.FQDN, ".")
	role := okdtest.RoleWorker
	if info.Role == "master" {
		role = okdtest.RoleMaster
	}
	n := okdtest.SimNode{Name: info.Name, FQDN: info.FQDN, ShortName: short, Role: role}
	if info.IP.IsValid() {
		n.IPs = []netip.Addr{info.IP}
	}
	if err := w.Sim.AddNode(n); err != nil {
		w.log.Warn("fakeworld: add node", "node", info.Name, "err", err)
		return
	}
	if err := w.Sim.BootNode(ctx, info.Name); err != nil && !errors.Is(err, context.Canceled) {
		w.log.Warn("fakeworld: boot node", "node", info.Name, "err", err)
	}
}

func (w *World) apiUp() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.apiSignal {
		return
	}
	if err := okdtest.Signal(w.cfg.InstallDir, okdtest.SignalAPIUp, ""); err != nil {
		w.log.Warn("fakeworld: signal", "err", err)
		return
	}
	w.apiSignal = true
}

// approveWhileBootstrap is the bootstrap node's approve-csr.sh: it approves
// every pending CSR, blindly, for as long as the bootstrap VM exists.
func (w *World) approveWhileBootstrap(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(w.cfg.Poll):
		}
		w.mu.Lock()
		alive := w.bootstrapAlive
		w.mu.Unlock()
		if !alive {
			continue
		}
		csrs, err := w.Sim.Kube().CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
		if err != nil {
			continue
		}
		for i := range csrs.Items {
			c := &csrs.Items[i]
			if len(c.Status.Conditions) > 0 {
				continue
			}
			c.Status.Conditions = append(c.Status.Conditions, certv1.CertificateSigningRequestCondition{
				Type: certv1.CertificateApproved, Status: corev1.ConditionTrue,
				Reason: "BootstrapApproveCSR", Message: "approved by the bootstrap's approve-csr.sh (simulated)",
			})
			_, _ = w.Sim.Kube().CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, c.Name, c, metav1.UpdateOptions{})
		}
	}
}

// progress ends the fake installer's waits when the simulated cluster gets
// there: bootstrap-complete once every master is Ready (and the bootstrap
// runs), install-complete once the expected workers are Ready too.
func (w *World) progress(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(w.cfg.Poll):
		}
		masters, mastersReady, workersReady := w.counts()
		w.mu.Lock()
		bsSignal, instSignal, alive := w.bootstrapSignal, w.installSignal, w.bootstrapAlive
		w.mu.Unlock()
		if !bsSignal && alive && masters > 0 && mastersReady == masters {
			if err := w.Sim.CompleteBootstrap(ctx); err != nil {
				continue
			}
			if err := okdtest.Signal(w.cfg.InstallDir, okdtest.SignalBootstrapComplete, ""); err != nil {
				w.log.Warn("fakeworld: signal", "err", err)
				continue
			}
			w.mu.Lock()
			w.bootstrapSignal = true
			w.mu.Unlock()
		}
		if !instSignal && masters > 0 && mastersReady == masters && workersReady >= w.cfg.Workers {
			st, err := w.Sim.ClusterVersion(ctx)
			if err != nil {
				continue
			}
			if err := w.Sim.SetClusterVersion(ctx, okdtest.ClusterVersionStatus{Version: st.Version, Available: true, Message: "Cluster version is " + st.Version}); err != nil {
				continue
			}
			if err := okdtest.Signal(w.cfg.InstallDir, okdtest.SignalInstallComplete, ""); err != nil {
				continue
			}
			w.mu.Lock()
			w.installSignal = true
			w.mu.Unlock()
		}
	}
}

func (w *World) counts() (masters, mastersReady, workersReady int) {
	w.mu.Lock()
	roles := make(map[string]string, len(w.booted))
	for n, r := range w.booted {
		roles[n] = r
	}
	w.mu.Unlock()
	for n, role := range roles {
		st, err := w.Sim.Status(n)
		if err != nil {
			continue
		}
		ready := st.Phase == okdtest.PhaseReady
		if role == "master" {
			masters++
			if ready {
				mastersReady++
			}
		} else if ready {
			workersReady++
		}
	}
	return masters, mastersReady, workersReady
}

// Describe summarises the simulated nodes (for progress output).
func (w *World) Describe() string {
	masters, mr, wr := w.counts()
	return fmt.Sprintf("%d/%d masters Ready, %d workers Ready", mr, masters, wr)
}
