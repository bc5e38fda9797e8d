package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// script is the scripted behaviour (env, then .fake/script.json).
type script struct {
	Speed      float64        `json:"speed,omitempty"`
	LogFormat  string         `json:"logFormat,omitempty"`
	Fail       map[string]int `json:"fail,omitempty"`
	Wait       string         `json:"wait,omitempty"`
	Release    string         `json:"release,omitempty"`
	Stream     string         `json:"stream,omitempty"`
	StreamFile string         `json:"streamFile,omitempty"`
	Password   string         `json:"password,omitempty"`
}

type fake struct {
	a      *args
	s      script
	log    *logger
	start  time.Time
	simNow time.Time // simulated clock
}

func loadScript(dir string) (script, error) {
	s := script{Speed: 6000, LogFormat: "logfmt", Wait: "delay", Release: "4.19.0-okd-scos.1", Stream: "scos"}
	if v := os.Getenv("OKVM_FAKE_SPEED"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			return s, fmt.Errorf("OKVM_FAKE_SPEED: %q is not a positive number", v)
		}
		s.Speed = f
	}
	if v := os.Getenv("OKVM_FAKE_LOG_FORMAT"); v != "" {
		s.LogFormat = v
	}
	if v := os.Getenv("OKVM_FAKE_FAIL"); v != "" {
		s.Fail = map[string]int{}
		for _, kv := range strings.Split(v, ",") {
			k, c, ok := strings.Cut(kv, "=")
			code, err := strconv.Atoi(c)
			if !ok || err != nil {
				return s, fmt.Errorf("OKVM_FAKE_FAIL: %q is not command=code", kv)
			}
			s.Fail[strings.TrimSpace(k)] = code
		}
	}
	for env, dst := range map[string]*string{
		"OKVM_FAKE_WAIT": &s.Wait, "OKVM_FAKE_RELEASE": &s.Release, "OKVM_FAKE_STREAM": &s.Stream,
		"OKVM_FAKE_STREAM_FILE": &s.StreamFile, "OKVM_FAKE_PASSWORD": &s.Password,
	} {
		if v := os.Getenv(env); v != "" {
			*dst = v
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, ".fake", "script.json"))
	if err == nil {
		if err := json.Unmarshal(b, &s); err != nil {
			return s, fmt.Errorf(".fake/script.json: %v", err)
		}
	}
	switch s.LogFormat {
	case "logfmt", "quoted", "tty":
	default:
		return s, fmt.Errorf("log format %q: want logfmt, quoted or tty", s.LogFormat)
	}
	return s, nil
}

func newFake(a *args) (*fake, error) {
	s, err := loadScript(a.dir)
	if err != nil {
		return nil, err
	}
	f := &fake{a: a, s: s, start: time.Now()}
	f.simNow = f.start
	f.log = newLogger(os.Stderr, s.LogFormat, a.logLevel, filepath.Join(a.dir, ".openshift_install.log"), f.now)
	f.record()
	return f, nil
}

func (f *fake) close() { f.log.close() }

// now is the simulated clock the log lines and "(until …)" use.
func (f *fake) now() time.Time { return f.simNow }

// sleep advances simulated time by d, sleeping d/speed for real.
func (f *fake) sleep(d time.Duration) {
	time.Sleep(time.Duration(float64(d) / f.s.Speed))
	f.simNow = f.simNow.Add(d)
}

func (f *fake) fakeDir() string { return filepath.Join(f.a.dir, ".fake") }

func (f *fake) record() {
	os.MkdirAll(f.fakeDir(), 0o700)
	fh, err := os.OpenFile(filepath.Join(f.fakeDir(), "invocations.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	defer fh.Close()
	fmt.Fprintf(fh, "%s\tlog-level=%s\trelease-override=%s\n", f.a.command, f.a.logLevel, os.Getenv("OPENSHIFT_INSTALL_RELEASE_IMAGE_OVERRIDE"))
}

func (f *fake) run() int {
	switch f.a.command {
	case "version":
		fmt.Printf("openshift-install %s\nbuilt from commit 0000000 (fake)\nrelease image quay.io/okd/scos-release:%s\nrelease architecture amd64\n", f.s.Release, f.s.Release)
		return 0
	case "create manifests":
		return f.createManifests()
	case "create ignition-configs":
		return f.createIgnitionConfigs()
	case "wait-for bootstrap-complete":
		return f.waitBootstrap()
	case "wait-for install-complete":
		return f.waitInstall()
	case "gather bootstrap":
		return f.gatherBootstrap()
	case "coreos print-stream-json":
		return f.printStream()
	case "create install-config":
		f.log.fatal("failed to fetch Install Config: the fake installer cannot ask questions; write install-config.yaml")
		return exitGeneric
	case "":
		fmt.Fprintln(os.Stderr, "Creates OpenShift clusters (fake)\n\nUsage:\n  openshift-install [command]")
		return 0
	}
	fmt.Fprintf(os.Stderr, "Error: unknown command %q for \"openshift-install\"\n", f.a.command)
	return exitGeneric
}

// scriptedFailure reports the exit code scripted for this command (0: none).
func (f *fake) scriptedFailure() int { return f.s.Fail[f.a.command] }

// failGeneric prints the failure text for a scripted exit code that has no
// command-specific story.
func (f *fake) failGeneric(code int) int {
	switch code {
	case exitInstallConfig:
		f.log.fatal(`failed to fetch Master Machines: failed to load asset "Install Config": failed to create install config: invalid "install-config.yaml" file: platform: Invalid value: "none": scripted failure`)
	case exitInfrastructure:
		f.log.errorf("failed to fetch Cluster: failed to generate asset \"Cluster\": failed to create cluster: scripted infrastructure failure")
	case exitInterrupt:
		f.log.warn("Received interrupt signal")
	default:
		f.log.fatal("scripted failure of " + f.a.command)
	}
	return code
}
