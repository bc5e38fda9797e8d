package okd

import (
	"io"
	"log/slog"
	"time"
)

// RunnerOption configures a Runner.
type RunnerOption func(*Runner)

// WithRunnerBinary sets the openshift-install path (default: looked up
// in PATH). Pin it to the release you install: the binary embeds the
// payload and the boot image stream.
func WithRunnerBinary(path string) RunnerOption { return func(r *Runner) { r.binary = path } }

// WithRunnerLogger logs every installer line (redacted) at the matching
// slog level, plus the runner's own steps.
func WithRunnerLogger(l *slog.Logger) RunnerOption {
	return func(r *Runner) {
		if l != nil {
			r.logger = l
		}
	}
}

// WithEventHandler calls f for every parsed line, in order, from the
// goroutine reading the installer's output: a slow f slows the installer.
func WithEventHandler(f func(Event)) RunnerOption { return func(r *Runner) { r.onEvent = f } }

// WithEventChannel sends every event on ch; the send blocks until the
// receiver takes it or the run's context ends (then the event is dropped).
func WithEventChannel(ch chan<- Event) RunnerOption { return func(r *Runner) { r.events = ch } }

// WithRunnerEnv adds KEY=VALUE pairs to the installer's environment (it
// inherits the process environment otherwise).
func WithRunnerEnv(env ...string) RunnerOption {
	return func(r *Runner) { r.env = append(r.env, env...) }
}

// WithGracePeriod is how long a cancelled run gets between SIGINT (which
// lets openshift-install save its state) and SIGKILL. Default 10s.
func WithGracePeriod(d time.Duration) RunnerOption { return func(r *Runner) { r.grace = d } }

// WithRunnerClock stamps events (tests).
func WithRunnerClock(now func() time.Time) RunnerOption {
	return func(r *Runner) {
		if now != nil {
			r.now = now
		}
	}
}

// WithPullSecret tells the runner's redactor the pull secret up front. The
// runner also learns it from the install directory's install-config (and
// the kept copy) before every command.
func WithPullSecret(ps PullSecret) RunnerOption {
	return func(r *Runner) { r.redactor.AddPullSecret(ps) }
}

// WithRedactedValues adds more values that must never be logged.
func WithRedactedValues(v ...string) RunnerOption { return func(r *Runner) { r.redactor.Add(v...) } }

// WithLogLevel is passed as --log-level (default "debug": the wait
// commands say what they are waiting for only at debug).
func WithLogLevel(level string) RunnerOption { return func(r *Runner) { r.logLevel = level } }

// WithOutput copies every output line, redacted, to w (a console, a file).
func WithOutput(w io.Writer) RunnerOption { return func(r *Runner) { r.output = w } }

// WithReleaseImage sets OPENSHIFT_INSTALL_RELEASE_IMAGE_OVERRIDE. Only
// use it with an installer of the same release line; the installer's own
// payload is the safe default.
func WithReleaseImage(image string) RunnerOption { return func(r *Runner) { r.release = image } }
