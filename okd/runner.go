package okd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Runner runs the real openshift-install for one install directory. Every
// command takes a context: cancelling it sends SIGINT (the installer saves
// its state and exits 8), then SIGKILL after the grace period. Output is
// parsed into Events, redacted, and logged; failures come back as
// *ExitError classed by exit code.
//
// A Runner is safe for concurrent use, but openshift-install is not: run
// one command per directory at a time.
type Runner struct {
	dir      string
	binary   string
	logger   *slog.Logger
	onEvent  func(Event)
	events   chan<- Event
	env      []string
	grace    time.Duration
	now      func() time.Time
	redactor *Redactor
	logLevel string
	output   io.Writer
	release  string
	outMu    sync.Mutex
}

// DefaultGracePeriod is the time between SIGINT and SIGKILL on cancel.
const DefaultGracePeriod = 10 * time.Second

// NewRunner returns a Runner for install directory dir (created 0700 if
// missing). The binary must exist: ErrInstallerNotFound otherwise.
func NewRunner(dir string, opts ...RunnerOption) (*Runner, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("okd: install dir %q: %w", dir, err)
	}
	r := &Runner{
		dir:      abs,
		binary:   "openshift-install",
		logger:   slog.New(slog.DiscardHandler),
		grace:    DefaultGracePeriod,
		now:      time.Now,
		redactor: NewRedactor(),
		logLevel: "debug",
	}
	for _, o := range opts {
		o(r)
	}
	path, err := exec.LookPath(r.binary)
	if err != nil {
		return nil, fmt.Errorf("okd: %w: %q: %w", ErrInstallerNotFound, r.binary, err)
	}
	r.binary = path
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("okd: install dir: %w", err)
	}
	r.learnSecrets()
	return r, nil
}

// Dir is the absolute install directory.
func (r *Runner) Dir() string { return r.dir }

// Binary is the resolved openshift-install path.
func (r *Runner) Binary() string { return r.binary }

// Redactor is the runner's redactor, for callers that print installer
// output of their own.
func (r *Runner) Redactor() *Redactor { return r.redactor }

// learnSecrets reads the secrets the directory holds (the pull secret in
// install-config.yaml or its kept copy, and auth/kubeadmin-password), so
// they are redacted even if the caller forgot WithPullSecret.
func (r *Runner) learnSecrets() {
	for _, f := range []string{InstallConfigFile, KeptInstallConfig} {
		if b, err := os.ReadFile(filepath.Join(r.dir, f)); err == nil {
			if ic, err := ParseInstallConfig(b); err == nil {
				r.redactor.AddPullSecret(ic.PullSecret)
			}
		}
	}
	if pw, err := ReadKubeadminPassword(r.dir); err == nil {
		r.redactor.Add(pw.Reveal())
	}
}

// ReadKubeadminPassword reads auth/kubeadmin-password.
func ReadKubeadminPassword(dir string) (Secret, error) {
	b, err := os.ReadFile(filepath.Join(dir, "auth", "kubeadmin-password"))
	if err != nil {
		return "", fmt.Errorf("okd: kubeadmin password: %w", err)
	}
	return Secret(strings.TrimSpace(string(b))), nil
}

// runResult is what one command left behind.
type runResult struct {
	stdout  []byte // only when captured
	summary InstallSummary
	last    string // last ERROR/FATAL message, redacted
	stage   Stage
	lines   []string // redacted messages, when collected
}

type runOpts struct {
	captureStdout bool
	collect       bool
}

// Run runs `openshift-install <args…> --dir <dir> --log-level <level>`.
// Use the typed methods for the install steps; Run is for the rest.
func (r *Runner) Run(ctx context.Context, args ...string) error {
	_, err := r.run(ctx, args, runOpts{})
	return err
}

func (r *Runner) run(ctx context.Context, args []string, o runOpts) (*runResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("okd: openshift-install %s: %w: %w", strings.Join(args, " "), ErrInterrupted, err)
	}
	r.learnSecrets()
	command := commandName(args)
	full := append(append([]string(nil), args...), "--dir", r.dir)
	if r.logLevel != "" {
		full = append(full, "--log-level", r.logLevel)
	}
	cmd := exec.CommandContext(ctx, r.binary, full...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), r.env...)
	if r.release != "" {
		cmd.Env = append(cmd.Env, "OPENSHIFT_INSTALL_RELEASE_IMAGE_OVERRIDE="+r.release)
	}
	// SIGINT first: the installer then writes its state file and exits 8.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = r.grace

	// Output goes through io.Pipes rather than StderrPipe: exec then
	// copies in its own goroutines, and WaitDelay can cut them loose if a
	// grandchild keeps the installer's stderr open after it exits.
	errR, errW := io.Pipe()
	cmd.Stderr = errW
	var stdoutBuf bytes.Buffer
	var outR *io.PipeReader
	var outW *io.PipeWriter
	if o.captureStdout {
		cmd.Stdout = &stdoutBuf
	} else {
		outR, outW = io.Pipe()
		cmd.Stdout = outW
	}

	res := &runResult{}
	h := &lineHandler{r: r, ctx: ctx, parser: NewLogParser(command, r.now), res: res, collect: o.collect}
	r.logger.LogAttrs(ctx, slog.LevelInfo, "running openshift-install", slog.String("command", command), slog.String("dir", r.dir))
	start := r.now()
	if err := cmd.Start(); err != nil {
		errW.Close()
		if outW != nil {
			outW.Close()
		}
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("okd: openshift-install %s: %w: %w", command, ErrInstallerNotFound, err)
		}
		return nil, fmt.Errorf("okd: openshift-install %s: %w", command, err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); h.consume(errR) }()
	if outR != nil {
		wg.Add(1)
		go func() { defer wg.Done(); h.consume(outR) }()
	}
	werr := cmd.Wait()
	errW.Close()
	if outW != nil {
		outW.Close()
	}
	wg.Wait() // every line handled before the result is read
	if errors.Is(werr, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success() {
		// The installer succeeded; something it started kept its output
		// open past the grace period. That is not the install failing.
		r.logger.WarnContext(ctx, "openshift-install exited but its output stayed open; stopped reading", "command", command)
		werr = nil
	}
	res.stdout = stdoutBuf.Bytes()
	res.stage = h.parser.Stage()
	r.logger.LogAttrs(ctx, slog.LevelInfo, "openshift-install finished", slog.String("command", command),
		slog.Duration("took", r.now().Sub(start)), slog.Bool("ok", werr == nil))
	if werr == nil {
		return res, nil
	}
	var ee *exec.ExitError
	if !errors.As(werr, &ee) {
		if ctx.Err() != nil {
			return res, newExitError(command, -1, res.last, res.stage, ctx.Err())
		}
		return res, fmt.Errorf("okd: openshift-install %s: %w", command, r.redactor.Error(werr))
	}
	var cause error
	if ctx.Err() != nil {
		cause = ctx.Err()
	}
	return res, newExitError(command, ee.ExitCode(), res.last, res.stage, cause)
}

// commandName is the installer subcommand without flags.
func commandName(args []string) string {
	var parts []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			break
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// lineHandler turns output lines into events, logs and the result. Both
// output streams feed it, so it serialises them.
type lineHandler struct {
	mu      sync.Mutex
	r       *Runner
	ctx     context.Context
	parser  *LogParser
	res     *runResult
	collect bool
}

// maxLine bounds one output line; the installer's debug lines can embed
// whole manifests.
const maxLine = 4 << 20

func (h *lineHandler) consume(rd io.Reader) {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for sc.Scan() {
		h.line(sc.Text())
	}
	if sc.Err() != nil {
		// A line longer than maxLine: drop the rest rather than block
		// the installer on a full pipe.
		h.line(`(okvm: output line too long, rest of output discarded)`)
		io.Copy(io.Discard, rd)
	}
}

func (h *lineHandler) line(raw string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.r
	ev := h.parser.Parse(raw)
	// The console-login line carries the kubeadmin password: learn it so
	// any later echo is redacted too, and keep it (as a Secret) in the
	// summary.
	h.res.summary.observe(ev.Message)
	if _, pw := redactLoginLine(ev.Message); pw != "" {
		r.redactor.Add(pw)
	}
	ev.Message = r.redactor.String(ev.Message)
	if ev.Level == LevelError || ev.Level == LevelFatal {
		h.res.last = ev.Message
	}
	if h.collect {
		h.res.lines = append(h.res.lines, ev.Message)
	}
	if r.output != nil {
		r.outMu.Lock()
		io.WriteString(r.output, r.redactor.String(raw)+"\n")
		r.outMu.Unlock()
	}
	if ev.Level != LevelTrace {
		r.logger.LogAttrs(h.ctx, slogLevel(ev.Level), ev.Message,
			slog.String("command", ev.Command), slog.String("stage", string(ev.Stage)))
	}
	if r.onEvent != nil {
		r.onEvent(ev)
	}
	if r.events != nil {
		select {
		case r.events <- ev:
		case <-h.ctx.Done():
		}
	}
}

func slogLevel(l Level) slog.Level {
	switch l {
	case LevelTrace, LevelDebug:
		return slog.LevelDebug
	case LevelWarning:
		return slog.LevelWarn
	case LevelError, LevelFatal:
		return slog.LevelError
	}
	return slog.LevelInfo
}
