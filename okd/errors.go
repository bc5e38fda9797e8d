package okd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinels class every error the package returns, so callers branch with
// errors.Is instead of matching text. The runner's exit codes map onto the
// Err*Failed sentinels (see ExitError); bad input wraps ErrInvalid.
var (
	// ErrInvalid: a ClusterSpec, install-config or argument failed
	// validation. The error is a *ValidationError naming each field.
	ErrInvalid = errors.New("okd: invalid input")

	// ErrInstallConfig: openshift-install rejected the install-config (exit 3).
	ErrInstallConfig = errors.New("openshift-install: install-config error")
	// ErrInfrastructure: infrastructure provisioning failed (exit 4).
	ErrInfrastructure = errors.New("openshift-install: infrastructure failed")
	// ErrBootstrapFailed: bootstrap did not complete (exit 5).
	ErrBootstrapFailed = errors.New("openshift-install: bootstrap failed")
	// ErrInstallFailed: the cluster did not initialize (exit 6).
	ErrInstallFailed = errors.New("openshift-install: install failed")
	// ErrOperatorsUnstable: cluster operators did not settle (exit 7).
	ErrOperatorsUnstable = errors.New("openshift-install: cluster operators not stable")
	// ErrInterrupted: the installer was interrupted (exit 8, or our ctx).
	ErrInterrupted = errors.New("openshift-install: interrupted")
	// ErrInstallerFailed: any other non-zero exit (1 = logrus Fatal).
	ErrInstallerFailed = errors.New("openshift-install: failed")

	// ErrInstallerNotFound: the openshift-install binary is missing.
	ErrInstallerNotFound = errors.New("okd: openshift-install binary not found")
	// ErrArtifactNotFound: the stream metadata has no such arch/artifact/format.
	ErrArtifactNotFound = errors.New("okd: boot image artifact not found")
	// ErrChecksum: a downloaded or local file does not match its sha256.
	ErrChecksum = errors.New("okd: checksum mismatch")
	// ErrUnsupported: valid input this package cannot handle (yet).
	ErrUnsupported = errors.New("okd: unsupported")
)

// FieldErrorType says what is wrong with a field, in the installer's words.
type FieldErrorType string

const (
	FieldInvalid     FieldErrorType = "Invalid value"
	FieldRequired    FieldErrorType = "Required value"
	FieldUnsupported FieldErrorType = "Unsupported value"
	FieldForbidden   FieldErrorType = "Forbidden"
	FieldDuplicate   FieldErrorType = "Duplicate value"
)

// FieldError is one bad field. Its text matches openshift-install's
// (k8s.io/apimachinery field.Error) so people who know the installer's
// messages recognise ours: `metadata.name: Invalid value: "x": detail`.
type FieldError struct {
	Path   string         // JSON path, e.g. "networking.clusterNetwork[0].hostPrefix"
	Type   FieldErrorType // Invalid value, Required value, …
	Value  any            // the offending value (never a secret: callers pass a redacted one)
	Detail string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	b.WriteString(": ")
	b.WriteString(string(e.Type))
	switch e.Type {
	case FieldRequired, FieldForbidden:
	default:
		b.WriteString(": ")
		b.WriteString(formatFieldValue(e.Value))
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Is makes every FieldError an ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

func formatFieldValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case fmt.Stringer:
		return strconv.Quote(x.String())
	case *int64:
		if x == nil {
			return "null"
		}
		return strconv.FormatInt(*x, 10)
	default:
		return fmt.Sprint(x)
	}
}

// ValidationError gathers every FieldError of one Validate call, so a user
// fixes a file in one pass instead of one field per run.
type ValidationError struct {
	Kind   string // "ClusterSpec", "install-config"
	Errors []*FieldError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid ")
	b.WriteString(e.Kind)
	b.WriteString(": ")
	if len(e.Errors) == 1 {
		b.WriteString(e.Errors[0].Error())
		return b.String()
	}
	b.WriteString("[")
	for i, fe := range e.Errors {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(fe.Error())
	}
	b.WriteString("]")
	return b.String()
}

// Is makes a ValidationError an ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Unwrap exposes the individual field errors to errors.As.
func (e *ValidationError) Unwrap() []error {
	out := make([]error, len(e.Errors))
	for i, fe := range e.Errors {
		out[i] = fe
	}
	return out
}

// fieldErrs collects FieldErrors while validating.
type fieldErrs []*FieldError

func (f *fieldErrs) add(path string, t FieldErrorType, value any, detail string, args ...any) {
	if len(args) > 0 {
		detail = fmt.Sprintf(detail, args...)
	}
	*f = append(*f, &FieldError{Path: path, Type: t, Value: value, Detail: detail})
}

func (f *fieldErrs) invalid(path string, value any, detail string, args ...any) {
	f.add(path, FieldInvalid, value, detail, args...)
}

func (f *fieldErrs) required(path, detail string, args ...any) {
	f.add(path, FieldRequired, nil, detail, args...)
}

func (f fieldErrs) err(kind string) error {
	if len(f) == 0 {
		return nil
	}
	return &ValidationError{Kind: kind, Errors: f}
}
