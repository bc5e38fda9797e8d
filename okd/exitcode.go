package okd

import (
	"fmt"
	"strings"
)

// ExitClass names what an openshift-install exit code means
// (cmd/openshift-install: exitCode… = iota + 3).
type ExitClass string

const (
	ClassGeneric           ExitClass = "generic"            // 1: logrus Fatal (older waits too)
	ClassInstallConfig     ExitClass = "install-config"     // 3
	ClassInfrastructure    ExitClass = "infrastructure"     // 4
	ClassBootstrap         ExitClass = "bootstrap"          // 5
	ClassInstall           ExitClass = "install"            // 6
	ClassOperatorStability ExitClass = "operator-stability" // 7
	ClassInterrupt         ExitClass = "interrupt"          // 8, or our context ended
)

// Exit codes of openshift-install.
const (
	ExitGeneric           = 1
	ExitInstallConfig     = 3
	ExitInfrastructure    = 4
	ExitBootstrap         = 5
	ExitInstall           = 6
	ExitOperatorStability = 7
	ExitInterrupt         = 8
)

// ClassifyExit maps an exit code to its class and sentinel.
func ClassifyExit(code int) (ExitClass, error) {
	switch code {
	case ExitInstallConfig:
		return ClassInstallConfig, ErrInstallConfig
	case ExitInfrastructure:
		return ClassInfrastructure, ErrInfrastructure
	case ExitBootstrap:
		return ClassBootstrap, ErrBootstrapFailed
	case ExitInstall:
		return ClassInstall, ErrInstallFailed
	case ExitOperatorStability:
		return ClassOperatorStability, ErrOperatorsUnstable
	case ExitInterrupt:
		return ClassInterrupt, ErrInterrupted
	}
	return ClassGeneric, ErrInstallerFailed
}

// ExitError is a failed openshift-install run. errors.Is matches its
// class's sentinel (ErrBootstrapFailed, …) and, when our context ended it,
// the context's error. LastError is the last ERROR/FATAL message the
// installer printed, redacted; it is what a human needs first.
type ExitError struct {
	Command   string    // e.g. "wait-for bootstrap-complete"
	Code      int       // process exit code (-1 when killed by a signal)
	Class     ExitClass // what the code means
	LastError string    // last ERROR or FATAL message, redacted
	// Stage is where the install was when it failed.
	Stage Stage

	sentinel error
	cause    error // ctx.Err() when we stopped it
}

func newExitError(cmd string, code int, last string, stage Stage, cause error) *ExitError {
	class, sentinel := ClassifyExit(code)
	if cause != nil {
		class, sentinel = ClassInterrupt, ErrInterrupted
	}
	return &ExitError{Command: cmd, Code: code, Class: class, LastError: last, Stage: stage, sentinel: sentinel, cause: cause}
}

func (e *ExitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "openshift-install %s: exit %d (%s)", e.Command, e.Code, e.Class)
	if e.cause != nil {
		fmt.Fprintf(&b, ": %v", e.cause)
	}
	if e.LastError != "" {
		b.WriteString(": ")
		b.WriteString(e.LastError)
	}
	return b.String()
}

// Unwrap exposes the class sentinel and the context error.
func (e *ExitError) Unwrap() []error {
	errs := []error{e.sentinel}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}
