package okd_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/okvm/okvm/internal/fakeworld"
	"github.com/okvm/okvm/kvm"
	"github.com/okvm/okvm/kvm/kvmtest"
	"github.com/okvm/okvm/okd"
	"github.com/okvm/okvm/okd/okdtest"
)

// The crash-resume test re-executes this test binary: a child runs the
// lifecycle on the fakes, with the fake libvirt persisted through
// fakeworld.SaveFile/RestoreFile after every step (the daemon's own
// persistence, as in examples/cluster), and SIGKILLs itself at a chosen
// point; a second child, without a kill, must then converge to the end
// state of a clean run.
const (
	envCrashDir  = "OKVM_TEST_CRASH_DIR"  // artifacts dir; unset: the child test skips
	envCrashStep = "OKVM_TEST_CRASH_STEP" // SIGKILL after this step is saved
	envCrashAt   = "OKVM_TEST_CRASH_AT"   // SIGKILL when a progress message contains this
	envCrashAdd  = "OKVM_TEST_CRASH_ADD"  // after Run, AddWorkers(this many)
	envCrashLose = "OKVM_TEST_CRASH_LOSE" // kill at CRASH_STEP before the fake libvirt is saved
)

const crashCluster = "lccrash"

func crashSnapshot(dir string) string { return filepath.Join(dir, ".okvm", "fake-libvirt.json") }

// TestLifecycleCrashChild is the child process; it does nothing in a normal
// test run.
func TestLifecycleCrashChild(t *testing.T) {
	dir := os.Getenv(envCrashDir)
	if dir == "" {
		t.Skip("child of TestLifecycleCrashResume only")
	}
	killStep, killAt := okd.Step(os.Getenv(envCrashStep)), os.Getenv(envCrashAt)
	lose := os.Getenv(envCrashLose) != ""
	fake := kvmtest.New()
	snap := crashSnapshot(dir)
	if err := fakeworld.RestoreFile(fake.Conn(), snap); err != nil {
		t.Fatal(err)
	}
	var saveMu sync.Mutex
	save := func() {
		saveMu.Lock()
		defer saveMu.Unlock()
		if err := fakeworld.SaveFile(fake.Conn(), snap); err != nil {
			t.Errorf("save the fake libvirt: %v", err)
		}
	}
	kill := func() { syscall.Kill(os.Getpid(), syscall.SIGKILL) }
	e := newEnv(t, lcConfig{name: crashCluster, workers: 2, dir: dir, fake: fake, mode: okd.NetworkLibvirt,
		opts: []okd.LifecycleOption{okd.WithStepHook(func(s okd.Step) {
			if s == killStep && lose {
				kill() // state saved, the daemon's last changes lost
			}
			save()
			if s == killStep {
				kill()
			}
		})}})
	if killAt != "" {
		e.setOnProgress(func(p okd.Progress) {
			if strings.Contains(p.Message, killAt) {
				kill() // mid-step: fake-libvirt changes since the last step are lost
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := e.l.Run(ctx); err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s", err, e.progressText())
	}
	if n, _ := strconv.Atoi(os.Getenv(envCrashAdd)); n > 0 {
		if err := e.l.AddWorkers(ctx, n); err != nil {
			t.Fatalf("AddWorkers: %v\nprogress:\n%s", err, e.progressText())
		}
	}
	save()
}

// crashPoint is where a child kills itself.
type crashPoint struct {
	step okd.Step // after this step is saved
	at   string   // or when a progress message contains this (mid-step)
	lose bool     // with step: the state is saved, the libvirt daemon's changes of the step are lost
}

func (p crashPoint) String() string {
	if p.lose {
		return "lost:" + string(p.step)
	}
	if p.at != "" {
		return "mid:" + strings.NewReplacer(" ", "_", "/", "_").Replace(p.at)
	}
	return "after:" + string(p.step)
}

// runCrashChild runs the child; killed reports whether it died by SIGKILL.
func runCrashChild(t *testing.T, bin, dir string, p crashPoint, env ...string) (killed bool, out string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLifecycleCrashChild$", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), envCrashDir+"="+dir, envCrashStep+"="+string(p.step), envCrashAt+"="+p.at, envFakeInstaller+"="+bin)
	if p.lose {
		cmd.Env = append(cmd.Env, envCrashLose+"=1")
	}
	cmd.Env = append(cmd.Env, env...)
	b, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return true, string(b)
		}
	}
	if err != nil {
		t.Fatalf("child (%s): %v\n%s", p, err, b)
	}
	return false, string(b)
}

// endState is what must be the same after a clean run and after any crash
// and rerun.
type endState struct {
	Done      []okd.Step
	Nodes     map[string]okd.NodeState // CreatedAt cleared
	Summary   *okd.Summary
	Domains   []string // name=running
	PerNode   map[string]int
	Volumes   []string
	DHCPHosts []kvm.DHCPHost
	DNSHosts  []string
	Artifacts []string
}

func collectEndState(t *testing.T, dir string) endState {
	t.Helper()
	ctx := context.Background()
	var es endState
	b, err := os.ReadFile(filepath.Join(dir, ".okvm", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st okd.LifecycleState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	es.Done, es.Summary, es.Nodes = st.Done, st.Summary, map[string]okd.NodeState{}
	if es.Summary != nil {
		es.Summary.Elapsed = 0
		es.Summary.Kubeconfig = strings.TrimPrefix(es.Summary.Kubeconfig, dir)
		es.Summary.Password = strings.TrimPrefix(es.Summary.Password, dir)
	}
	for k, n := range st.Nodes {
		if n.CreatedAt.IsZero() && !n.Removed {
			t.Errorf("%s: node %s has no CreatedAt", dir, k)
		}
		n.CreatedAt = time.Time{}
		es.Nodes[k] = *n
	}
	fake := kvmtest.New()
	if err := fakeworld.RestoreFile(fake.Conn(), crashSnapshot(dir)); err != nil {
		t.Fatal(err)
	}
	c, err := kvm.NewClient(ctx, fake.Dialer())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	doms, err := c.ListDomains(ctx, map[string]string{"cluster": crashCluster})
	if err != nil {
		t.Fatal(err)
	}
	es.PerNode = map[string]int{}
	for _, d := range doms {
		es.Domains = append(es.Domains, fmt.Sprintf("%s=%v", d.Name, d.Active))
		labels, err := c.Labels(ctx, d.Name)
		if err != nil {
			t.Fatal(err)
		}
		es.PerNode[labels["node"]]++
	}
	vols, err := c.ListVolumes(ctx, "okvm-"+crashCluster)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vols {
		es.Volumes = append(es.Volumes, v.Name)
	}
	sort.Strings(es.Volumes)
	es.DHCPHosts, err = c.DHCPHosts(ctx, "okvm-"+crashCluster)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(es.DHCPHosts, func(a, b kvm.DHCPHost) int { return strings.Compare(a.MAC, b.MAC) })
	nx, err := c.NetworkXML(ctx, "okvm-"+crashCluster)
	if err != nil {
		t.Fatal(err)
	}
	if nx.DNS != nil {
		for _, h := range nx.DNS.Host {
			var names []string
			for _, hn := range h.Hostnames {
				names = append(names, hn.Hostname)
			}
			es.DNSHosts = append(es.DNSHosts, h.IP+"="+strings.Join(names, ","))
		}
	}
	sort.Strings(es.DNSHosts)
	for _, rel := range []string{"install/auth/kubeconfig", "install/auth/kubeadmin-password", "install/metadata.json",
		"install/bootstrap.ign", "install/master.ign", "install/worker.ign", "install/.okvm/install-config.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, rel)); err == nil {
			es.Artifacts = append(es.Artifacts, rel)
		}
	}
	ign, _ := filepath.Glob(filepath.Join(dir, "nodes", "*.ign"))
	for _, p := range ign {
		es.Artifacts = append(es.Artifacts, "nodes/"+filepath.Base(p))
	}
	return es
}

// TestLifecycleCrashResume kills the lifecycle after every step and in the
// middle of the long ones, reruns it, and checks that it converges to the
// end state of a clean run: the same domains (one per node), volumes,
// reservations and DNS records, artifacts and summary.
func TestLifecycleCrashResume(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary ~35 times")
	}
	if os.Getenv(envCrashDir) != "" {
		t.Skip("inside a child")
	}
	bin := okdtest.BuildFakeInstaller(t)
	t0 := time.Now()
	refDir := t.TempDir()
	if killed, out := runCrashChild(t, bin, refDir, crashPoint{}); killed {
		t.Fatalf("clean run was killed:\n%s", out)
	}
	ref := collectEndState(t, refDir)
	if len(ref.Done) != len(okd.Steps()) || ref.Summary == nil {
		t.Fatalf("clean run end state incomplete: %+v", ref)
	}
	if len(ref.Domains) != 5 || len(ref.DHCPHosts) != 5 {
		t.Fatalf("clean run: domains %v, reservations %v; want 3 masters + 2 workers", ref.Domains, ref.DHCPHosts)
	}
	t.Logf("clean run: %s", time.Since(t0).Round(time.Millisecond))

	var points []crashPoint
	for _, s := range okd.Steps() {
		points = append(points, crashPoint{step: s})
	}
	points = append(points,
		crashPoint{at: "Manifests created in"},             // installer done, install-config consumed, not patched
		crashPoint{at: "Ignition-Configs created in"},      // installer done, manifests consumed
		crashPoint{at: crashCluster + "-master-0 defined"}, // between two domain definitions
		crashPoint{at: "for the Kubernetes API"},           // during the bootstrap-complete wait
		crashPoint{at: "bootstrap " + crashCluster + "-bootstrap removed"},
		crashPoint{at: crashCluster + "-worker-0 defined"},
		crashPoint{at: "approved client CSR"}, // workers booting
		// The state says done, the daemon lost the step's objects: the
		// rerun must notice and redo them (Lifecycle.reconcile).
		crashPoint{step: okd.StepNetwork, lose: true},
		crashPoint{step: okd.StepControlPlane, lose: true},
		crashPoint{step: okd.StepStartControlPlane, lose: true},
		crashPoint{step: okd.StepRemoveBootstrap, lose: true},
		crashPoint{step: okd.StepWorkers, lose: true},
	)
	start := time.Now()
	t.Run("points", func(t *testing.T) {
		for _, p := range points {
			t.Run(p.String(), func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				killed, out := runCrashChild(t, bin, dir, p)
				if !killed {
					t.Fatalf("the kill point was never reached:\n%s", out)
				}
				if killed, out := runCrashChild(t, bin, dir, crashPoint{}); killed {
					t.Fatalf("rerun killed:\n%s", out)
				}
				got := collectEndState(t, dir)
				if !reflect.DeepEqual(got, ref) {
					gj, _ := json.MarshalIndent(got, "", " ")
					rj, _ := json.MarshalIndent(ref, "", " ")
					t.Errorf("end state after a crash differs from a clean run:\n got %s\nwant %s", gj, rj)
				}
			})
		}
	})
	t.Logf("%d crash points, each killed and rerun: %s", len(points), time.Since(start).Round(time.Millisecond))
}

// TestLifecycleCrashAddWorkers kills AddWorkers between its network update
// and a definition, and after it planned; AddWorkers with the same n in a new
// process finishes the same workers: the end state equals an uninterrupted
// AddWorkers'.
func TestLifecycleCrashAddWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	if os.Getenv(envCrashDir) != "" {
		t.Skip("inside a child")
	}
	bin := okdtest.BuildFakeInstaller(t)
	add := envCrashAdd + "=2"
	refDir := t.TempDir()
	if killed, out := runCrashChild(t, bin, refDir, crashPoint{}, add); killed {
		t.Fatalf("clean run was killed:\n%s", out)
	}
	ref := collectEndState(t, refDir)
	if len(ref.Domains) != 7 || len(ref.DHCPHosts) != 7 || len(ref.Summary.Nodes) != 7 {
		t.Fatalf("reference: domains %v reservations %v summary %v; want 3 masters + 4 workers", ref.Domains, ref.DHCPHosts, ref.Summary.Nodes)
	}
	for _, p := range []crashPoint{{at: "adding worker-2, worker-3"}, {at: crashCluster + "-worker-2 defined"}, {at: crashCluster + "-worker-3 running"}} {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if killed, out := runCrashChild(t, bin, dir, p, add); !killed {
				t.Fatalf("the kill point was never reached:\n%s", out)
			}
			if killed, out := runCrashChild(t, bin, dir, crashPoint{}, add); killed {
				t.Fatalf("rerun killed:\n%s", out)
			}
			if got := collectEndState(t, dir); !reflect.DeepEqual(got, ref) {
				gj, _ := json.MarshalIndent(got, "", " ")
				rj, _ := json.MarshalIndent(ref, "", " ")
				t.Errorf("end state after a crash in AddWorkers differs:\n got %s\nwant %s", gj, rj)
			}
		})
	}
}
