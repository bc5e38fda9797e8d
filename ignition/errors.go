package ignition

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels class every error this package returns; test with errors.Is.
var (
	// ErrMalformed: the input is not JSON (see *SyntaxError for the offset).
	ErrMalformed = errors.New("ignition: malformed JSON")
	// ErrUnsupportedVersion: not an Ignition 3.0–3.5 config (2.x, experimental, unknown).
	ErrUnsupportedVersion = errors.New("ignition: unsupported config version")
	// ErrInvalid: Ignition's own validator (or a type check) rejected the config.
	ErrInvalid = errors.New("ignition: invalid config")
	// ErrUnknownField: the config has a key its spec version does not define.
	ErrUnknownField = errors.New("ignition: unknown field")
	// ErrConflict: a patch would change what the config already holds.
	ErrConflict = errors.New("ignition: conflicting patch")
	// ErrBadPatch: a patch's own fields are invalid.
	ErrBadPatch = errors.New("ignition: invalid patch")
	// ErrDataURL: a data URL could not be decoded.
	ErrDataURL = errors.New("ignition: bad data URL")
	// ErrNoCertificates: a bootstrap config holds no /opt/openshift/tls/*.crt.
	ErrNoCertificates = errors.New("ignition: no certificates")
	// ErrCertificate: a certificate file is not PEM or not x509.
	ErrCertificate = errors.New("ignition: bad certificate")
	// ErrTooLarge: a config exceeds the fw_cfg delivery limits.
	ErrTooLarge = errors.New("ignition: config too large")
)

// SyntaxError reports malformed JSON with the byte offset where the decoder
// gave up, so callers can point at the spot in a multi-hundred-KB file.
type SyntaxError struct {
	Offset int64 // byte offset into the input
	Line   int   // 1-based
	Column int   // 1-based, in bytes
	Err    error // the encoding/json error
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("ignition: malformed JSON at byte offset %d (line %d, column %d): %v", e.Offset, e.Line, e.Column, e.Err)
}

func (e *SyntaxError) Unwrap() []error { return []error{ErrMalformed, e.Err} }

// Severity of a Problem.
type Severity string

const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
)

// Problem is one finding of Ignition's validator, located by JSON path
// ("$.storage.files[3].mode") and, when known, line and column.
type Problem struct {
	Severity Severity `json:"severity"`
	Path     string   `json:"path"`
	Message  string   `json:"message"`
	Line     int      `json:"line,omitempty"`
	Column   int      `json:"column,omitempty"`
}

func (p Problem) String() string {
	loc := ""
	if p.Line > 0 {
		loc = fmt.Sprintf(" (line %d, column %d)", p.Line, p.Column)
	}
	return fmt.Sprintf("%s at %s%s: %s", p.Severity, p.Path, loc, p.Message)
}

// ValidationError carries every problem that made a config invalid. It
// matches ErrInvalid, and also ErrUnknownField when an unknown key was one
// of the problems.
type ValidationError struct {
	Version  string
	Problems []Problem
	unknown  bool
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ignition: invalid %s config: ", e.Version)
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

func (e *ValidationError) Unwrap() []error {
	if e.unknown {
		return []error{ErrInvalid, ErrUnknownField}
	}
	return []error{ErrInvalid}
}
