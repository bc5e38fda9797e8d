package okd_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/okvm/okvm/internal/fakeworld"
	"github.com/okvm/okvm/kvm"
	"github.com/okvm/okvm/kvm/kvmtest"
	"github.com/okvm/okvm/okd"
	"github.com/okvm/okvm/okd/okdtest"
)

// The lifecycle tests run okvm's real Lifecycle on fakes: the in-memory
// libvirt (kvmtest), the fake openshift-install (a real process the real
// Runner parses), the fake cluster driven by fakeworld (simulated kubelets
// that file real CSRs), and, by default, the embedded DNS/DHCP servers on
// loopback.

const fakeURI = "test:///okvm-fake"

// lcSSHKey is an authorized_keys line (its private half is thrown away).
const lcSSHKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH9mClVF6Qv6jron845bpPoCQBDOXAXQ4CApPavKarX9 okvm-lifecycle-test"

// envFakeInstaller lets crash-test children reuse the parent's build of the
// fake installer instead of building it again in every child.
const envFakeInstaller = "OKVM_TEST_FAKE_INSTALLER"

func fakeInstaller(t testing.TB) string {
	if p := os.Getenv(envFakeInstaller); p != "" {
		return p
	}
	return okdtest.BuildFakeInstaller(t)
}

// syncBuffer collects everything the lifecycle emits, from any goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lcConfig shapes one fake cluster.
type lcConfig struct {
	name       string
	workers    int
	dir        string // default t.TempDir()
	pullSecret okd.PullSecret
	password   string
	mode       okd.NetworkMode // default embedded
	fake       *kvmtest.Fake   // default a new one
	noWorld    bool            // do not start fakeworld (runs that stop before bootstrap)
	opts       []okd.LifecycleOption
	// A real libvirt instead of the fake (the lab test): its URI, how to
	// dial it, and the spec changes it needs (sizes, CIDR, image).
	uri   string
	dial  func(ctx context.Context) (*kvm.Client, error)
	tweak func(*okd.ClusterSpec)
}

// lcEnv is one lifecycle on fakes, with what the tests observe.
type lcEnv struct {
	t     testing.TB
	cfg   lcConfig
	dir   string
	fake  *kvmtest.Fake
	spec  okd.ClusterSpec
	l     *okd.Lifecycle
	world *fakeworld.World
	kc    *kvm.Client // the test's own connection to the fake libvirt
	log   *syncBuffer // JSON slog of the lifecycle, its runner and kvm

	mu        sync.Mutex
	progress  []okd.Progress
	decisions []okd.Decision
	// hooks run inside the lifecycle's progress callback (synchronously,
	// so they see the world exactly between two lifecycle actions).
	onProgress func(okd.Progress)
	onDecision func(okd.Decision)
}

// randomPullSecret is a pull secret nobody else uses, so finding its token
// anywhere in a log proves a leak.
func randomPullSecret() (okd.PullSecret, string) {
	b := make([]byte, 18)
	rand.Read(b)
	token := base64.StdEncoding.EncodeToString([]byte("okvm-test:" + hex.EncodeToString(b)))
	return okd.PullSecret(`{"auths":{"registry.example.com":{"auth":"` + token + `","email":"ops@example.com"}}}`), token
}

func clusterSpec(t testing.TB, name string, workers int, image string, ps okd.PullSecret) okd.ClusterSpec {
	return okd.ClusterSpec{
		Name:        name,
		BaseDomain:  "okd.test",
		Topology:    okd.Topology{ControlPlane: 3, Workers: workers},
		SSHKey:      lcSSHKey,
		PullSecret:  ps,
		BootImage:   okd.BootImage{Path: image},
		Hypervisors: []okd.Hypervisor{{URI: fakeURI}},
	}
}

// placeholderImage stands for the CoreOS qcow2: the fake libvirt stores the
// bytes and never boots them.
func placeholderImage(t testing.TB, dir string) string {
	p := filepath.Join(dir, "placeholder-coreos.qcow2")
	if err := os.WriteFile(p, []byte("QFI\xfb okvm placeholder, never booted\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func newEnv(t testing.TB, cfg lcConfig) *lcEnv {
	t.Helper()
	ctx := context.Background()
	if cfg.dir == "" {
		cfg.dir = t.TempDir()
	}
	if cfg.mode == "" {
		cfg.mode = okd.NetworkEmbedded
	}
	if cfg.fake == nil && cfg.dial == nil {
		cfg.fake = kvmtest.New()
	}
	if cfg.dial == nil {
		fake := cfg.fake
		cfg.dial = func(ctx context.Context) (*kvm.Client, error) { return kvm.NewClient(ctx, fake.Dialer()) }
	}
	e := &lcEnv{t: t, cfg: cfg, dir: cfg.dir, fake: cfg.fake, log: &syncBuffer{}}
	logger := slog.New(slog.NewJSONHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// Under the artifacts dir: a SIGKILLed crash-test child cleans nothing.
	imgDir := filepath.Join(cfg.dir, "cache")
	if err := os.MkdirAll(imgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	e.spec = clusterSpec(t, cfg.name, cfg.workers, placeholderImage(t, imgDir), cfg.pullSecret)
	if cfg.uri != "" {
		e.spec.Hypervisors = []okd.Hypervisor{{URI: cfg.uri}}
	}
	if cfg.tweak != nil {
		cfg.tweak(&e.spec)
	}
	installDir := filepath.Join(cfg.dir, "install")
	if err := okdtest.WriteFakeScript(installDir, okdtest.FakeScript{Wait: "file", Password: cfg.password}); err != nil {
		t.Fatal(err)
	}
	kc, err := cfg.dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.kc = kc
	t.Cleanup(func() { kc.Close() })
	opts := []okd.LifecycleOption{
		okd.WithHypervisorDialer(func(ctx context.Context, _ string) (*kvm.Client, error) {
			if e.fake == nil {
				return cfg.dial(ctx)
			}
			return kvm.NewClient(ctx, e.fake.Dialer(), kvm.WithLogger(logger))
		}),
		okd.WithNetworkMode(cfg.mode),
		okd.WithEmbeddedAddrs("127.0.0.1:0", "127.0.0.1:0"),
		okd.WithLifecycleLogger(logger),
		okd.WithProgress(e.record),
		okd.WithDomainType("qemu"),
		okd.WithPool("okvm-"+cfg.name, filepath.Join(cfg.dir, "pool")),
		okd.WithInstallerBinary(fakeInstaller(t)),
		okd.WithKubeClient(func(context.Context, string) (kubernetes.Interface, error) {
			if e.world == nil {
				return nil, errors.New("fake cluster not running")
			}
			return e.world.Sim.Kube(), nil
		}),
		okd.WithApproverOptions(okd.WithDecisionFunc(e.decide)),
	}
	l, err := okd.NewLifecycle(e.spec, cfg.dir, append(opts, cfg.opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	e.l = l
	t.Cleanup(func() { l.Close() })
	if !cfg.noWorld {
		e.startWorld()
	}
	return e
}

func (e *lcEnv) startWorld() {
	e.t.Helper()
	w, err := fakeworld.Start(context.Background(), e.kc, fakeworld.Config{
		Cluster: e.cfg.name, InstallDir: filepath.Join(e.dir, "install"), Workers: e.cfg.workers,
		Poll: 10 * time.Millisecond,
		Lookup: func(domain string) (fakeworld.NodeInfo, bool) {
			for _, n := range e.l.State().Nodes {
				if n.Domain == domain {
					return fakeworld.NodeInfo{Name: n.FQDN, FQDN: n.FQDN, IP: n.IP, Role: string(n.Role)}, true
				}
			}
			return fakeworld.NodeInfo{}, false
		},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.world = w
	e.t.Cleanup(func() { w.Close() })
}

func (e *lcEnv) record(p okd.Progress) {
	e.mu.Lock()
	e.progress = append(e.progress, p)
	f := e.onProgress
	e.mu.Unlock()
	if f != nil {
		f(p)
	}
}

func (e *lcEnv) decide(d okd.Decision) {
	e.mu.Lock()
	e.decisions = append(e.decisions, d)
	f := e.onDecision
	e.mu.Unlock()
	if f != nil {
		f(d)
	}
}

func (e *lcEnv) setOnProgress(f func(okd.Progress)) {
	e.mu.Lock()
	e.onProgress = f
	e.mu.Unlock()
}

func (e *lcEnv) run(ctx context.Context) (*okd.Summary, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return e.l.Run(ctx)
}

// progressText is every progress line, as a user printing them would.
func (e *lcEnv) progressText() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	for _, p := range e.progress {
		fmt.Fprintf(&b, "%+v\n", p)
	}
	return b.String()
}

// stepsDone lists the steps whose Done progress arrived, in order.
func (e *lcEnv) stepsDone() []okd.Step {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []okd.Step
	for _, p := range e.progress {
		if p.Done {
			out = append(out, p.Step)
		}
	}
	return out
}

// leftovers reports what the cluster still owns on the fake libvirt.
func leftovers(ctx context.Context, t testing.TB, c *kvm.Client, name string) (domains []string, volumes []string, network bool) {
	t.Helper()
	doms, err := c.ListDomains(ctx, map[string]string{"cluster": name})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range doms {
		domains = append(domains, d.Name)
	}
	vols, err := c.ListVolumes(ctx, "okvm-"+name)
	if err != nil && !errors.Is(err, kvm.ErrNotFound) {
		t.Fatal(err)
	}
	for _, v := range vols {
		volumes = append(volumes, v.Name)
	}
	_, err = c.NetworkXML(ctx, "okvm-"+name)
	if err != nil && !errors.Is(err, kvm.ErrNotFound) {
		t.Fatal(err)
	}
	return domains, volumes, err == nil
}
