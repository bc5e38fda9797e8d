package okdtest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// FakeInstallerPackage is the fake openshift-install's import path.
const FakeInstallerPackage = "github.com/okvm/okvm/okd/okdtest/cmd/fake-openshift-install"

var fakeBuild struct {
	once sync.Once
	path string
	err  error
}

// BuildFakeInstaller builds the fake openshift-install once per test
// binary and returns its path; hand it to okd.WithRunnerBinary. The
// Runner then starts a real process and parses its real output. It needs
// the go tool (it is there whenever `go test` runs).
//
// The binary lives in a temp directory shared by the test binary's tests;
// directories left by earlier runs (older than an hour) are swept.
func BuildFakeInstaller(tb testing.TB) string {
	tb.Helper()
	fakeBuild.once.Do(func() {
		sweepOldBuilds()
		dir, err := os.MkdirTemp("", "okvm-fake-installer-")
		if err != nil {
			fakeBuild.err = err
			return
		}
		out := filepath.Join(dir, "openshift-install")
		goTool, err := exec.LookPath("go")
		if err != nil {
			// `go test` may run with a PATH lacking go; the toolchain
			// that built this binary is the next best guess.
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		cmd := exec.Command(goTool, "build", "-o", out, FakeInstallerPackage)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			fakeBuild.err = fmt.Errorf("go build %s: %v\n%s", FakeInstallerPackage, err, b)
			return
		}
		fakeBuild.path = out
	})
	if fakeBuild.err != nil {
		tb.Fatalf("okdtest: building the fake openshift-install: %v", fakeBuild.err)
	}
	return fakeBuild.path
}

func sweepOldBuilds() {
	old, _ := filepath.Glob(filepath.Join(os.TempDir(), "okvm-fake-installer-*"))
	for _, d := range old {
		if fi, err := os.Stat(d); err == nil && time.Since(fi.ModTime()) > time.Hour {
			os.RemoveAll(d)
		}
	}
}

// Environment variables the fake installer reads (see the command's doc).
const (
	EnvFakeSpeed      = "OKVM_FAKE_SPEED"
	EnvFakeLogFormat  = "OKVM_FAKE_LOG_FORMAT"
	EnvFakeFail       = "OKVM_FAKE_FAIL"
	EnvFakeWait       = "OKVM_FAKE_WAIT"
	EnvFakeRelease    = "OKVM_FAKE_RELEASE"
	EnvFakeStream     = "OKVM_FAKE_STREAM"
	EnvFakeStreamFile = "OKVM_FAKE_STREAM_FILE"
	EnvFakePassword   = "OKVM_FAKE_PASSWORD"
)

// Log formats of openshift-install the fake can print.
const (
	FormatLogfmt = "logfmt" // level=info msg=… (no TTY, current releases)
	FormatQuoted = "quoted" // level=info msg="…" (older releases)
	FormatTTY    = "tty"    // INFO … with ANSI colours (a terminal)
)

// FakeScript scripts the fake installer for one install directory; it is
// written to <dir>/.fake/script.json and overrides the environment.
type FakeScript struct {
	// Speed: simulated seconds per real second (default 6000: a 20-minute
	// bootstrap takes 0.2 s).
	Speed float64 `json:"speed,omitempty"`
	// LogFormat: FormatLogfmt (default), FormatQuoted or FormatTTY.
	LogFormat string `json:"logFormat,omitempty"`
	// Fail maps a command ("wait-for bootstrap-complete") to the exit
	// code it fails with (3–8, or 1), printing the installer's messages.
	Fail map[string]int `json:"fail,omitempty"`
	// Wait: "delay" (default: waits succeed after simulated time) or
	// "file": waits end when Signal* files appear, so a fake cluster can
	// drive them.
	Wait string `json:"wait,omitempty"`
	// Release is the version the fake reports (default 4.19.0-okd-scos.1).
	Release string `json:"release,omitempty"`
	// Stream: "scos" (qcow2.gz, default) or "fcos" (qcow2.xz).
	Stream string `json:"stream,omitempty"`
	// StreamFile: print this stream JSON instead.
	StreamFile string `json:"streamFile,omitempty"`
	// Password: the kubeadmin password to generate (default random).
	Password string `json:"password,omitempty"`
}

// WriteFakeScript writes s to <dir>/.fake/script.json.
func WriteFakeScript(dir string, s FakeScript) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, ".fake"), 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ".fake", "script.json"), b, 0o600)
}

// Signal files for FakeScript.Wait == "file".
const (
	SignalAPIUp             = "api-up"
	SignalBootstrapComplete = "bootstrap-complete"
	SignalInstallComplete   = "install-complete"
	SignalBootstrapFailed   = "bootstrap-failed"   // content: the error
	SignalAPIFailed         = "api-failed"         // content: the error
	SignalInstallFailed     = "install-failed"     // content: the error
	SignalOperatorsUnstable = "operators-unstable" // exit 7
)

// Signal creates <dir>/.fake/<name> with an optional message, ending a
// file-mode wait of the fake installer.
func Signal(dir, name, message string) error {
	if err := os.MkdirAll(filepath.Join(dir, ".fake"), 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ".fake", name), []byte(message), 0o600)
}

// FakeInvocation is one recorded run of the fake installer.
type FakeInvocation struct {
	Command         string // "create manifests"
	LogLevel        string
	ReleaseOverride string // OPENSHIFT_INSTALL_RELEASE_IMAGE_OVERRIDE
}

// FakeInvocations reads <dir>/.fake/invocations.log.
func FakeInvocations(dir string) ([]FakeInvocation, error) {
	b, err := os.ReadFile(filepath.Join(dir, ".fake", "invocations.log"))
	if err != nil {
		return nil, err
	}
	var out []FakeInvocation
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(l, "\t")
		if len(f) < 3 {
			continue
		}
		out = append(out, FakeInvocation{
			Command:         f[0],
			LogLevel:        strings.TrimPrefix(f[1], "log-level="),
			ReleaseOverride: strings.TrimPrefix(f[2], "release-override="),
		})
	}
	return out, nil
}

// FakeManifestsSeen is what the fake found in manifests/ and openshift/
// when `create ignition-configs` consumed them: proof of the UPI patch.
type FakeManifestsSeen struct {
	MastersSchedulable *bool    `json:"mastersSchedulable"`
	OpenshiftManifests []string `json:"openshiftManifests"`
}

// ManifestsSeen reads <dir>/.fake/manifests-seen.json.
func ManifestsSeen(dir string) (*FakeManifestsSeen, error) {
	b, err := os.ReadFile(filepath.Join(dir, ".fake", "manifests-seen.json"))
	if err != nil {
		return nil, err
	}
	var s FakeManifestsSeen
	return &s, json.Unmarshal(b, &s)
}
