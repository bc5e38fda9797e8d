package okd

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
)

// RedactedText replaces every secret okvm prints, logs or returns in an error.
const RedactedText = "<redacted>"

// Secret is a string that never prints: fmt (every verb), slog, JSON/YAML and
// encoding.TextMarshaler all see RedactedText. Only Reveal returns the value,
// so a leak needs a deliberate call that reviews can grep for.
type Secret string

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer with the redacted text.
func (s Secret) String() string { return redactedOrEmpty(string(s)) }

// GoString implements fmt.GoStringer, so %#v does not leak either.
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.String()) }

// Format catches every fmt verb: a string kind with only String would still
// print its raw value under %d or %t.
func (s Secret) Format(f fmt.State, verb rune) { formatRedacted(f, verb, string(s)) }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText redacts: a struct holding a Secret can be logged or dumped as
// JSON/YAML without leaking it.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText takes the real value (specs are read from files).
func (s *Secret) UnmarshalText(b []byte) error { *s = Secret(b); return nil }

func redactedOrEmpty(s string) string {
	if s == "" {
		return ""
	}
	return RedactedText
}

func formatRedacted(f fmt.State, verb rune, s string) {
	r := redactedOrEmpty(s)
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", r)
	case 'v':
		if f.Flag('#') {
			fmt.Fprintf(f, "%q", r)
			return
		}
		fmt.Fprint(f, r)
	default:
		fmt.Fprint(f, r)
	}
}

// minSecretLen keeps a tiny "secret" from redacting half of every line.
const minSecretLen = 4

// Redactor removes known secrets from text. The runner feeds it the pull
// secret (whole, and each registry credential in it) and the kubeadmin
// password (from auth/kubeadmin-password, and from the installer's final
// "Login to the console" line), then passes every line it logs, every event
// and every error's text through it. It is safe for concurrent use; the
// secret list is read lock-free because it sits on the log-parsing hot path.
type Redactor struct {
	mu      sync.Mutex // serialises writers
	secrets atomic.Pointer[[]string]
}

// NewRedactor returns a Redactor that knows the given secrets.
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	r.Add(secrets...)
	return r
}

// Add registers more secrets. Values shorter than 4 bytes are ignored.
func (r *Redactor) Add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var cur []string
	if p := r.secrets.Load(); p != nil {
		cur = *p
	}
	next := append([]string(nil), cur...)
	for _, s := range secrets {
		s = strings.TrimSpace(s)
		if len(s) < minSecretLen || containsString(next, s) {
			continue
		}
		next = append(next, s)
	}
	// Longest first, so a secret containing another is replaced whole.
	for i := 1; i < len(next); i++ {
		for j := i; j > 0 && len(next[j]) > len(next[j-1]); j-- {
			next[j], next[j-1] = next[j-1], next[j]
		}
	}
	r.secrets.Store(&next)
}

// AddPullSecret registers a pull secret and each credential inside it: a
// registry's base64 "auth" can show up on its own (an error quoting it).
func (r *Redactor) AddPullSecret(ps PullSecret) {
	if ps == "" {
		return
	}
	vals := []string{ps.Reveal()}
	if a, err := ps.parse(); err == nil {
		for _, e := range a.Auths {
			vals = append(vals, e.Auth, e.Password, e.IdentityToken)
		}
	}
	r.Add(vals...)
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// String redacts s: known secrets and the password on the installer's
// console-login line (even before the Redactor has learned that password).
func (r *Redactor) String(s string) string {
	if r != nil {
		if p := r.secrets.Load(); p != nil {
			for _, sec := range *p {
				if strings.Contains(s, sec) {
					s = strings.ReplaceAll(s, sec, RedactedText)
				}
			}
		}
	}
	s, _ = redactLoginLine(s)
	return s
}

// Error wraps err so its text is redacted while errors.Is/As still see the
// original chain.
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	red := r.String(msg)
	if red == msg {
		return err
	}
	return &redactedError{msg: red, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// loginMarker starts the one line on which openshift-install prints the
// kubeadmin password (`Login to the console with user: "kubeadmin", and
// password: "xxxxx-xxxxx-xxxxx-xxxxx"`).
const (
	loginMarker    = "Login to the console with user:"
	passwordMarker = `password: "`
)

// redactLoginLine blanks the password on a console-login line and returns it
// (so the caller can learn it). It is cheap on every other line.
func redactLoginLine(s string) (string, string) {
	i := strings.Index(s, loginMarker)
	if i < 0 {
		return s, ""
	}
	j := strings.Index(s[i:], passwordMarker)
	if j < 0 {
		return s, ""
	}
	start := i + j + len(passwordMarker)
	// The password ends at the last quote of the line (the installer's
	// generated passwords have none, but be safe with escaped ones).
	end := strings.LastIndexByte(s, '"')
	if end < start {
		return s[:start] + RedactedText, s[start:]
	}
	pw := s[start:end]
	if pw == RedactedText {
		return s, ""
	}
	return s[:start] + RedactedText + s[end:], strings.ReplaceAll(pw, `\"`, `"`)
}
