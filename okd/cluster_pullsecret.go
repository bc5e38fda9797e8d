package okd

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
)

// OKDFakePullSecret is the pull secret OKD documents for clusters that pull
// only public images (openshift/okd README). The installer insists on a
// non-empty "auths", so OKD ships this placeholder.
const OKDFakePullSecret PullSecret = `{"auths":{"fake":{"auth":"aWQ6cGFzcwo="}}}`

// PullSecret is the registry credentials JSON (`{"auths":{…}}`). Like Secret
// it never prints: String, Format, LogValue and MarshalText all redact, so a
// ClusterSpec can be logged or persisted without it. Reveal returns the JSON;
// the install-config writer is its only caller in this package.
type PullSecret string

// Reveal returns the pull secret JSON.
func (p PullSecret) Reveal() string { return string(p) }

// String implements fmt.Stringer with the redacted text.
func (p PullSecret) String() string { return redactedOrEmpty(string(p)) }

// GoString implements fmt.GoStringer.
func (p PullSecret) GoString() string { return fmt.Sprintf("%q", p.String()) }

// Format redacts for every fmt verb.
func (p PullSecret) Format(f fmt.State, verb rune) { formatRedacted(f, verb, string(p)) }

// LogValue implements slog.LogValuer.
func (p PullSecret) LogValue() slog.Value { return slog.StringValue(p.String()) }

// MarshalText redacts (see the type's doc). A spec marshalled this way and
// read back fails Validate instead of installing a placeholder.
func (p PullSecret) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText takes the real JSON.
func (p *PullSecret) UnmarshalText(b []byte) error { *p = PullSecret(b); return nil }

// IsFake reports whether this is OKD's placeholder (or empty, which defaults to it).
func (p PullSecret) IsFake() bool { return p == "" || p == OKDFakePullSecret }

// PullSecretAuth is one registry's entry.
type PullSecretAuth struct {
	Auth          string `json:"auth,omitempty"`
	CredsStore    string `json:"credsStore,omitempty"`
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
	Email         string `json:"email,omitempty"`
}

type pullSecretJSON struct {
	Auths map[string]PullSecretAuth `json:"auths"`
}

func (p PullSecret) parse() (*pullSecretJSON, error) {
	var v pullSecretJSON
	if err := json.Unmarshal([]byte(p), &v); err != nil {
		// json's errors quote offending bytes: keep only the position.
		if se, ok := err.(*json.SyntaxError); ok {
			return nil, fmt.Errorf("not valid JSON at offset %d", se.Offset)
		}
		return nil, fmt.Errorf("not a JSON object with \"auths\"")
	}
	return &v, nil
}

// Registries lists the registries the pull secret has credentials for.
func (p PullSecret) Registries() []string {
	v, err := p.parse()
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(v.Auths))
	for k := range v.Auths {
		out = append(out, k)
	}
	return out
}

// validate applies the installer's rule (pkg/validate ImagePullSecret): a
// non-empty "auths", each entry with "auth" or "credsStore". The value is
// never put in the error.
func (p PullSecret) validate(path string, errs *fieldErrs) {
	if p == "" {
		errs.required(path, "the pull secret JSON (OKD: %s)", OKDFakePullSecret.Reveal())
		return
	}
	if p.Reveal() == RedactedText {
		errs.invalid(path, RedactedText, "a redacted pull secret cannot be installed: give the real JSON")
		return
	}
	v, err := p.parse()
	if err != nil {
		errs.invalid(path, RedactedText, "%v", err)
		return
	}
	if len(v.Auths) == 0 {
		errs.invalid(path, RedactedText, `"auths" is required and must not be empty`)
		return
	}
	regs := make([]string, 0, len(v.Auths))
	for reg := range v.Auths {
		regs = append(regs, reg)
	}
	sort.Strings(regs) // stable error order
	for _, reg := range regs {
		if a := v.Auths[reg]; a.Auth == "" && a.CredsStore == "" {
			errs.invalid(path, RedactedText, "auths[%q]: \"auth\" or \"credsStore\" is required", reg)
		}
	}
}
