package okd

import (
	"testing"
	"time"
)

func TestParseLineFormats(t *testing.T) {
	for _, tc := range []struct {
		line  string
		level Level
		msg   string
	}{
		{"level=info msg=Consuming Install Config from target directory", LevelInfo, "Consuming Install Config from target directory"},
		{`level=info msg="Consuming Install Config from target directory"`, LevelInfo, "Consuming Install Config from target directory"},
		{`level=info msg="Login to the console with user: \"kubeadmin\", and password: \"a-b\""`, LevelInfo, `Login to the console with user: "kubeadmin", and password: "a-b"`},
		{`time="2024-05-01T10:00:00Z" level=debug msg="Still waiting for the Kubernetes API: EOF"`, LevelDebug, "Still waiting for the Kubernetes API: EOF"},
		{"level=warning msg=Making control-plane schedulable", LevelWarning, "Making control-plane schedulable"},
		{"level=error msg=Bootstrap failed to complete: timed out", LevelError, "Bootstrap failed to complete: timed out"},
		{"level=fatal msg=failed to fetch Cluster", LevelFatal, "failed to fetch Cluster"},
		{"INFO Consuming Install Config from target directory", LevelInfo, "Consuming Install Config from target directory"},
		{"WARNING Making control-plane schedulable", LevelWarning, "Making control-plane schedulable"},
		{"\x1b[36mINFO\x1b[0m API v1.32.5 up                              ", LevelInfo, "API v1.32.5 up"},
		{"\x1b[31mERROR\x1b[0m Bootstrap failed to complete", LevelError, "Bootstrap failed to complete"},
		{"\x1b[37mDEBUG\x1b[0m[0000] Bootstrap status: complete", LevelDebug, "Bootstrap status: complete"},
		{"FATAL failed", LevelFatal, "failed"},
		{"Error: unknown flag: --foo", LevelOutput, "Error: unknown flag: --foo"},
		{"INFORMATION is not a level", LevelOutput, "INFORMATION is not a level"},
		{"", LevelOutput, ""},
		{"level=bogus msg=x", LevelOutput, "level=bogus msg=x"},
		{"level=info msg=line\r", LevelInfo, "line"},
	} {
		ev := ParseLine(tc.line)
		if ev.Level != tc.level || ev.Message != tc.msg {
			t.Errorf("ParseLine(%q) = %q %q, want %q %q", tc.line, ev.Level, ev.Message, tc.level, tc.msg)
		}
	}
	ev := ParseLine(`time="2024-05-01T10:00:00Z" level=info msg="x"`)
	if !ev.Time.Equal(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("time = %v", ev.Time)
	}
}

func TestLogParserStagesAndDeadlines(t *testing.T) {
	now := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	p := NewLogParser("wait-for bootstrap-complete", func() time.Time { return now })
	steps := []struct {
		line     string
		stage    Stage
		deadline time.Duration
	}{
		{"level=info msg=Waiting up to 20m0s (until 3:20PM UTC) for the Kubernetes API at https://api.lab.example.com:6443...", StageKubeAPI, 20 * time.Minute},
		{"level=debug msg=Still waiting for the Kubernetes API: EOF", StageKubeAPI, 0},
		{"level=info msg=API v1.32.5 up", StageKubeAPI, 0},
		{"level=info msg=Waiting up to 45m0s (until 3:45PM UTC) for bootstrapping to complete...", StageBootstrap, 45 * time.Minute},
		{"level=info msg=Waiting up to 5m0s (until 3:05PM UTC) for the bootstrap etcd member to be removed...", StageBootstrapEtcd, 5 * time.Minute},
		{"level=info msg=It is now safe to remove the bootstrap resources", StageBootstrapComplete, 0},
		{"level=info msg=Waiting up to 40m0s for bootstrapping to complete...", StageBootstrap, 40 * time.Minute}, // older: no (until …)
		{"level=error msg=Bootstrap failed to complete: timed out", StageFailed, 0},
	}
	for _, s := range steps {
		ev := p.Parse(s.line)
		if ev.Stage != s.stage || ev.Command != "wait-for bootstrap-complete" {
			t.Errorf("%q: stage %q, want %q", s.line, ev.Stage, s.stage)
		}
		var want time.Time
		if s.deadline > 0 {
			want = now.Add(s.deadline)
		}
		if !ev.Deadline.Equal(want) {
			t.Errorf("%q: deadline %v, want %v", s.line, ev.Deadline, want)
		}
	}
	p = NewLogParser("wait-for install-complete", nil)
	for line, st := range map[string]Stage{
		"INFO Waiting up to 40m0s (until 4:00PM UTC) for the cluster at https://api.c.d:6443 to initialize...":    StageClusterInit,
		"INFO Waiting up to 30m0s (until 4:30PM UTC) to ensure each cluster operator has finished progressing...": StageOperators,
		"INFO Checking to see if there is a route at openshift-console/console...":                                StageConsole,
		"INFO Install complete!": StageInstallComplete,
	} {
		if ev := p.Parse(line); ev.Stage != st {
			t.Errorf("%q: stage %q, want %q", line, ev.Stage, st)
		}
	}
	if st := NewLogParser("create manifests", nil).Stage(); st != StageManifests {
		t.Errorf("initial stage %q", st)
	}
}

func TestSummaryObserve(t *testing.T) {
	var s InstallSummary
	for _, l := range []string{
		"Install complete!",
		"    export KUBECONFIG=/d/auth/kubeconfig",
		"Access the OpenShift web-console here: https://console-openshift-console.apps.lab.example.com",
		`Login to the console with user: "kubeadmin", and password: "abcde-fghij-klmno-pqrst"`,
		"Time elapsed: 25m3s",
	} {
		s.observe(l)
	}
	if s.Kubeconfig != "/d/auth/kubeconfig" || s.ConsoleURL != "https://console-openshift-console.apps.lab.example.com" ||
		s.User != "kubeadmin" || s.Password.Reveal() != "abcde-fghij-klmno-pqrst" || s.Elapsed != 25*time.Minute+3*time.Second {
		t.Errorf("summary = %+v (pw %q)", s, s.Password.Reveal())
	}
}

// Lines as a debug-level wait-for prints them, in the three formats.
var benchLines = []string{
	"level=info msg=Waiting up to 20m0s (until 3:04PM UTC) for the Kubernetes API at https://api.lab.example.com:6443...",
	`level=debug msg=Still waiting for the Kubernetes API: Get "https://api.lab.example.com:6443/version": dial tcp 192.168.126.10:6443: connect: connection refused`,
	`level=debug msg="Still waiting for the cluster to initialize: Working towards 4.19.0-okd-scos.1: 712 of 903 done (78% complete)"`,
	"\x1b[37mDEBUG\x1b[0m Cluster Operator authentication is stable  ",
	"level=info msg=API v1.32.5 up",
	"INFO Waiting up to 45m0s (until 3:30PM UTC) for bootstrapping to complete...",
	`time="2026-11-23T15:00:00Z" level=debug msg="Bootstrap status: complete"`,
	"level=info msg=It is now safe to remove the bootstrap resources",
}

func BenchmarkParseLine(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = ParseLine(benchLines[i%len(benchLines)])
	}
}

// BenchmarkRunnerLine is the per-line cost in the Runner: parse with
// stage tracking, then redact against a pull secret and a password.
func BenchmarkRunnerLine(b *testing.B) {
	now := time.Now()
	p := NewLogParser("wait-for install-complete", func() time.Time { return now })
	r := NewRedactor()
	r.AddPullSecret(OKDFakePullSecret)
	r.Add("abcde-fghij-klmno-pqrst")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ev := p.Parse(benchLines[i%len(benchLines)])
		ev.Message = r.String(ev.Message)
	}
}
