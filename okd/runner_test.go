package okd_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/okvm/okvm/okd"
	"github.com/okvm/okvm/okd/okdtest"
)

// capture collects everything a Runner emits: slog records, events and
// the redacted output copy, so tests can grep all of it for secrets.
type capture struct {
	mu     sync.Mutex
	logs   bytes.Buffer
	out    bytes.Buffer
	events []okd.Event
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.logs.Write(p)
}

func (c *capture) opts() []okd.RunnerOption {
	return []okd.RunnerOption{
		okd.WithRunnerLogger(slog.New(slog.NewTextHandler(c, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		okd.WithEventHandler(func(e okd.Event) { c.mu.Lock(); c.events = append(c.events, e); c.mu.Unlock() }),
		okd.WithOutput(&lockedWriter{mu: &c.mu, w: &c.out}),
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (c *capture) all() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	b.WriteString(c.logs.String())
	b.WriteString(c.out.String())
	for _, e := range c.events {
		b.WriteString(e.Message + "\n")
	}
	return b.String()
}

func (c *capture) stages(command string) []okd.Stage {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []okd.Stage
	for _, e := range c.events {
		if e.Command == command && (len(out) == 0 || out[len(out)-1] != e.Stage) {
			out = append(out, e.Stage)
		}
	}
	return out
}

// newInstallDir writes an install-config for spec into a fresh directory.
func newInstallDir(t *testing.T, spec okd.ClusterSpec) string {
	t.Helper()
	dir := t.TempDir()
	ic, err := okd.NewInstallConfig(spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := okd.WriteInstallConfig(dir, ic); err != nil {
		t.Fatal(err)
	}
	return dir
}

func standardSpec() okd.ClusterSpec {
	s := validSpec()
	s.Topology = okd.Topology{ControlPlane: 3, Workers: 2}
	s.PullSecret = realLookingPullSecret
	return s
}

// TestRunnerFullInstallNoSecretLeaks drives every step against the fake
// installer in each log format and then greps logs, events, output and
// errors for the pull secret and the kubeadmin password.
func TestRunnerFullInstallNoSecretLeaks(t *testing.T) {
	bin := okdtest.BuildFakeInstaller(t)
	for _, format := range []string{okdtest.FormatLogfmt, okdtest.FormatQuoted, okdtest.FormatTTY} {
		t.Run(format, func(t *testing.T) {
			dir := newInstallDir(t, standardSpec())
			if err := okdtest.WriteFakeScript(dir, okdtest.FakeScript{LogFormat: format}); err != nil {
				t.Fatal(err)
			}
			var c capture
			// No WithPullSecret: the runner must learn it from the dir.
			r, err := okd.NewRunner(dir, append(c.opts(), okd.WithRunnerBinary(bin))...)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()

			patch, err := r.CreateManifests(ctx, false)
			if err != nil {
				t.Fatal(err)
			}
			if patch.MastersSchedulable || len(patch.Removed) != 5 {
				t.Errorf("patch = %+v", patch)
			}
			ign, err := r.CreateIgnitionConfigs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if ign.Metadata.ClusterName != "lab" || !strings.HasPrefix(ign.Metadata.InfraID, "lab-") || ign.Metadata.ClusterID == "" {
				t.Errorf("metadata = %+v", ign.Metadata)
			}
			seen, err := okdtest.ManifestsSeen(dir)
			if err != nil {
				t.Fatal(err)
			}
			if seen.MastersSchedulable == nil || *seen.MastersSchedulable {
				t.Errorf("installer saw mastersSchedulable %v, want false", seen.MastersSchedulable)
			}
			for _, m := range seen.OpenshiftManifests {
				if strings.Contains(m, "master-machines") || strings.Contains(m, "machineset") || strings.Contains(m, "control-plane-machine-set") {
					t.Errorf("installer still saw %s", m)
				}
			}
			if !slices.Contains(seen.OpenshiftManifests, "99_openshift-cluster-api_worker-user-data-secret.yaml") {
				t.Errorf("user-data secret removed too: %v", seen.OpenshiftManifests)
			}

			if err := r.WaitForBootstrapComplete(ctx); err != nil {
				t.Fatal(err)
			}
			want := []okd.Stage{okd.StageKubeAPI, okd.StageBootstrap, okd.StageBootstrapEtcd, okd.StageBootstrapComplete}
			if got := c.stages("wait-for bootstrap-complete"); !slices.Equal(got, want) {
				t.Errorf("bootstrap stages %v, want %v", got, want)
			}
			var deadlines int
			for _, e := range c.events {
				if !e.Deadline.IsZero() {
					deadlines++
					if d := e.Deadline.Sub(e.Time); d != 20*time.Minute && d != 45*time.Minute && d != 5*time.Minute && d != 40*time.Minute && d != 30*time.Minute {
						t.Errorf("deadline %v after %q", d, e.Message)
					}
				}
			}
			if deadlines != 3 {
				t.Errorf("%d deadline events, want 3", deadlines)
			}

			sum, err := r.WaitForInstallComplete(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pw, err := okd.ReadKubeadminPassword(dir)
			if err != nil {
				t.Fatal(err)
			}
			if sum.ConsoleURL != "https://console-openshift-console.apps.lab.example.com" ||
				sum.Kubeconfig != filepath.Join(r.Dir(), "auth", "kubeconfig") || sum.User != "kubeadmin" ||
				sum.Password.Reveal() != pw.Reveal() || sum.Elapsed == 0 {
				t.Errorf("summary = %+v", sum)
			}
			if got := c.stages("wait-for install-complete"); !slices.Equal(got, []okd.Stage{okd.StageClusterInit, okd.StageOperators, okd.StageConsole, okd.StageInstallComplete}) {
				t.Errorf("install stages %v", got)
			}
			bundle, err := r.GatherBootstrap(ctx, okd.GatherOptions{BootstrapIP: "192.168.126.10", MasterIPs: []string{"192.168.126.11"}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(bundle); err != nil || !strings.HasPrefix(filepath.Base(bundle), "log-bundle-") {
				t.Errorf("bundle %q: %v", bundle, err)
			}

			all := c.all()
			if !strings.Contains(all, `password: "<redacted>"`) || !strings.Contains(all, "Install complete!") {
				t.Errorf("expected lines missing from capture:\n%s", all)
			}
			assertNoSecrets(t, all, pw.Reveal())
		})
	}
}

func assertNoSecrets(t *testing.T, text, password string) {
	t.Helper()
	for name, s := range map[string]string{
		"pull secret":      realLookingPullSecret,
		"registry auth":    "c2VjcmV0dXNlcjpzM2NyM3RwYXNzd29yZA==",
		"kubeadmin passwd": password,
	} {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s leaked", name)
		}
	}
}

func TestRunnerExitCodes(t *testing.T) {
	bin := okdtest.BuildFakeInstaller(t)
	for _, tc := range []struct {
		command  string
		code     int
		sentinel error
		class    okd.ExitClass
		last     string
	}{
		{"create manifests", 3, okd.ErrInstallConfig, okd.ClassInstallConfig, `invalid "install-config.yaml" file`},
		{"wait-for bootstrap-complete", 4, okd.ErrInfrastructure, okd.ClassInfrastructure, "scripted infrastructure failure"},
		{"wait-for bootstrap-complete", 5, okd.ErrBootstrapFailed, okd.ClassBootstrap, "Failed to wait for bootstrapping to complete"},
		{"wait-for install-complete", 6, okd.ErrInstallFailed, okd.ClassInstall, "failed to initialize the cluster: Cluster operator authentication is not available"},
		{"wait-for install-complete", 7, okd.ErrOperatorsUnstable, okd.ClassOperatorStability, "failed to initialize the cluster: timed out"},
		{"wait-for bootstrap-complete", 8, okd.ErrInterrupted, okd.ClassInterrupt, ""},
		{"wait-for bootstrap-complete", 1, okd.ErrInstallerFailed, okd.ClassGeneric, "scripted failure of wait-for bootstrap-complete"},
	} {
		t.Run(tc.command+"="+string(tc.class), func(t *testing.T) {
			dir := newInstallDir(t, standardSpec())
			okdtest.WriteFakeScript(dir, okdtest.FakeScript{Fail: map[string]int{tc.command: tc.code}})
			var c capture
			r, err := okd.NewRunner(dir, append(c.opts(), okd.WithRunnerBinary(bin))...)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			switch tc.command {
			case "create manifests":
				_, err = r.CreateManifests(ctx, true)
			case "wait-for bootstrap-complete", "wait-for install-complete":
				if _, err := r.CreateIgnitionConfigs(ctx); err != nil {
					t.Fatal(err)
				}
				if tc.command == "wait-for bootstrap-complete" {
					err = r.WaitForBootstrapComplete(ctx)
				} else {
					_, err = r.WaitForInstallComplete(ctx)
				}
			}
			var ee *okd.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("err = %v (%T), want *ExitError", err, err)
			}
			if ee.Code != tc.code || ee.Class != tc.class || !errors.Is(err, tc.sentinel) || ee.Command != tc.command {
				t.Errorf("ExitError = %+v", ee)
			}
			if !strings.Contains(ee.LastError, tc.last) {
				t.Errorf("LastError = %q, want it to contain %q", ee.LastError, tc.last)
			}
			assertNoSecrets(t, c.all()+err.Error(), "")
		})
	}
}

// TestRunnerFileModeAndCancel: waits driven by signal files (as the
// lifecycle's fake cluster does), and a cancelled wait ending in SIGINT,
// exit 8, ErrInterrupted + context.Canceled.
func TestRunnerFileModeAndCancel(t *testing.T) {
	bin := okdtest.BuildFakeInstaller(t)
	dir := newInstallDir(t, standardSpec())
	okdtest.WriteFakeScript(dir, okdtest.FakeScript{Wait: "file"})
	events := make(chan okd.Event, 1000)
	r, err := okd.NewRunner(dir, okd.WithRunnerBinary(bin), okd.WithEventChannel(events), okd.WithGracePeriod(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := r.CreateIgnitionConfigs(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.WaitForBootstrapComplete(ctx) }()
	waitStage(t, events, okd.StageKubeAPI)
	okdtest.Signal(dir, okdtest.SignalAPIUp, "")
	waitStage(t, events, okd.StageBootstrap)
	select {
	case err := <-done:
		t.Fatalf("returned before bootstrap-complete: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	okdtest.Signal(dir, okdtest.SignalBootstrapComplete, "")
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// Cancel a wait that would never end.
	cctx, ccancel := context.WithCancel(ctx)
	go func() { done <- func() error { _, err := r.WaitForInstallComplete(cctx); return err }() }()
	waitStage(t, events, okd.StageClusterInit)
	start := time.Now()
	ccancel()
	err = <-done
	if !errors.Is(err, okd.ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	var ee *okd.ExitError
	if !errors.As(err, &ee) || ee.Code != 8 || ee.Stage != okd.StageClusterInit {
		t.Errorf("ExitError = %+v (the fake exits 8 on SIGINT)", ee)
	}
	if time.Since(start) > 4*time.Second {
		t.Errorf("SIGINT took %v: it was killed, not interrupted", time.Since(start))
	}

	// A failed-signal ends the wait with the installer's failure.
	okdtest.Signal(dir, okdtest.SignalInstallFailed, "Cluster operator ingress is not available")
	_, err = r.WaitForInstallComplete(ctx)
	if !errors.Is(err, okd.ErrInstallFailed) || !strings.Contains(err.Error(), "Cluster operator ingress is not available") {
		t.Errorf("err = %v", err)
	}
}

func waitStage(t *testing.T, events <-chan okd.Event, st okd.Stage) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case e := <-events:
			if e.Stage == st {
				return
			}
		case <-timeout:
			t.Fatalf("no event with stage %s", st)
		}
	}
}

func TestRunnerErrors(t *testing.T) {
	if _, err := okd.NewRunner(t.TempDir(), okd.WithRunnerBinary("/nonexistent/openshift-install")); !errors.Is(err, okd.ErrInstallerNotFound) {
		t.Errorf("missing binary: %v", err)
	}
	bin := okdtest.BuildFakeInstaller(t)
	dir := t.TempDir()
	r, err := okd.NewRunner(dir, okd.WithRunnerBinary(bin), okd.WithReleaseImage("quay.io/okd/scos-release:4.19.0-okd-scos.1"), okd.WithLogLevel("info"))
	if err != nil {
		t.Fatal(err)
	}
	// No install-config: the installer's own error, classed exit 3.
	if _, err := r.CreateManifests(context.Background(), true); !errors.Is(err, okd.ErrInstallConfig) {
		t.Errorf("no install-config: %v", err)
	}
	inv, err := okdtest.FakeInvocations(dir)
	if err != nil || len(inv) != 1 || inv[0].Command != "create manifests" || inv[0].LogLevel != "info" || inv[0].ReleaseOverride != "quay.io/okd/scos-release:4.19.0-okd-scos.1" {
		t.Errorf("invocations %+v %v", inv, err)
	}
	if _, err := r.GatherBootstrap(context.Background(), okd.GatherOptions{MasterIPs: []string{"--key=/etc/shadow"}}); !errors.Is(err, okd.ErrInvalid) ||
		!strings.Contains(err.Error(), "bootstrapIP: Required value") || !strings.Contains(err.Error(), `masterIPs[0]: Invalid value: "--key=/etc/shadow"`) {
		t.Errorf("gather validation: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.WaitForBootstrapComplete(ctx); !errors.Is(err, okd.ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled before start: %v", err)
	}
}

func TestRunnerPrintStreamJSON(t *testing.T) {
	bin := okdtest.BuildFakeInstaller(t)
	for stream, format := range map[string]string{"scos": "qcow2.gz", "fcos": "qcow2.xz"} {
		dir := t.TempDir()
		okdtest.WriteFakeScript(dir, okdtest.FakeScript{Stream: stream})
		r, err := okd.NewRunner(dir, okd.WithRunnerBinary(bin))
		if err != nil {
			t.Fatal(err)
		}
		st, err := r.PrintStreamJSON(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		d, err := st.QEMUDisk("amd64")
		if err != nil {
			t.Fatal(err)
		}
		if d.Format != format || !strings.HasSuffix(d.Artifact.Location, format) {
			t.Errorf("%s: disk %+v", stream, d)
		}
	}
}
