package ignition

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	ignerrors "github.com/coreos/ignition/v2/config/shared/errors"
	t35 "github.com/coreos/ignition/v2/config/v3_5/types"
)

// Config is a parsed Ignition 3.x config. It remembers the spec version it
// came in; patches are applied to a working copy held in the newest stable
// spec (3.5, a superset of every earlier 3.x), and Marshal writes the result
// back in the original version unless a patch used a newer feature.
type Config struct {
	version  string
	cfg      t35.Config
	warnings []Problem
	opts     options
	touched  map[string]bool // file paths patches wrote (validated again on output)
}

// Parse parses and validates an Ignition 3.0–3.5 config with Ignition's own
// types and validator for that exact version: first through a single-pass
// path that reaches the same verdict (fastparse.go), and through Ignition's
// own vX.Parse for anything that path does not accept, so error reports
// are Ignition's, with line and column.
//
// Errors: *SyntaxError (ErrMalformed) with the byte offset for bad JSON;
// ErrUnsupportedVersion for 2.x, experimental or unknown versions;
// *ValidationError (ErrInvalid, and ErrUnknownField for unknown keys) listing
// every problem by JSON path.
func Parse(raw []byte, opts ...Option) (*Config, error) {
	o := buildOptions(opts)
	if version, ok := quickVersion(raw); ok && !o.allowUnknown {
		if i := specIndex(version); i >= 0 {
			if cfg, ps, ok := specs[i].fast(raw); ok {
				o.log.Debug("ignition: parsed config", "version", version, "bytes", len(raw),
					"files", len(cfg.Storage.Files), "units", len(cfg.Systemd.Units), "warnings", len(ps))
				return &Config{version: version, cfg: cfg, warnings: ps, opts: o}, nil
			}
		}
	}
	// Slow path: read the version the way Ignition does (encoding/json,
	// case-insensitive keys) and let Ignition's own parser decide.
	version, err := sniffVersion(raw)
	if err != nil {
		return nil, err
	}
	i := specIndex(version)
	if i < 0 {
		return nil, unsupported(version)
	}
	cfg, rpt, err := specs[i].parse(raw)
	ps, unknown := problems(rpt, !o.allowUnknown)
	if err != nil {
		if e := malformedError(raw); e != nil {
			return nil, e
		}
		if errors.Is(err, ignerrors.ErrInvalid) || errors.Is(err, ignerrors.ErrUnknownVersion) {
			// A JSON type mismatch is reported by Ignition without a path;
			// decode again (error path only) to recover it.
			if p, ok := typeProblem(raw, json.Unmarshal(raw, specs[i].newTyped())); ok {
				ps = []Problem{p}
			}
			if len(ps) == 0 {
				ps = []Problem{{Severity: SeverityError, Path: "$", Message: err.Error()}}
			}
			return nil, &ValidationError{Version: version, Problems: ps, unknown: unknown}
		}
		return nil, fmt.Errorf("ignition: parse %s config: %w", version, err)
	}
	if hasErrors(ps) {
		return nil, &ValidationError{Version: version, Problems: ps, unknown: unknown}
	}
	o.log.Debug("ignition: parsed config", "version", version, "bytes", len(raw),
		"files", len(cfg.Storage.Files), "units", len(cfg.Systemd.Units), "warnings", len(ps))
	return &Config{version: version, cfg: cfg, warnings: ps, opts: o}, nil
}

// quickVersion reads ignition.version with a streaming decoder that stops
// as soon as it has it (openshift-install writes "ignition" first), so the
// fast path does not pay for a second pass over a 300 KB document. It only
// recognizes the exact key "ignition"; anything unusual answers !ok and
// Parse takes the slow path. (The fast path re-checks the version it
// decoded, so a later duplicate key cannot fool it.)
func quickVersion(raw []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		if key, _ := tok.(string); key != "ignition" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return "", false
			}
			continue
		}
		var ign struct {
			Version *string `json:"version"`
		}
		if err := dec.Decode(&ign); err != nil || ign.Version == nil {
			return "", false
		}
		return *ign.Version, true
	}
	return "", false
}

// sniffVersion reads ignition.version exactly as Ignition does
// (encoding/json into a stub: case-insensitive keys, last one wins) and
// turns malformed JSON into a *SyntaxError with the offset.
func sniffVersion(raw []byte) (string, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return "", &SyntaxError{Offset: 0, Line: 1, Column: 1, Err: errors.New("empty input")}
	}
	if e := malformedError(raw); e != nil {
		return "", e
	}
	var stub struct {
		Ignition *struct {
			Version *string `json:"version"`
		} `json:"ignition"`
	}
	if err := json.Unmarshal(raw, &stub); err != nil {
		if p, ok := typeProblem(raw, err); ok {
			if p.Path == "$" {
				p.Message = "a config is a JSON object (" + p.Message + ")"
			}
			return "", &ValidationError{Version: "unknown", Problems: []Problem{p}}
		}
		return "", fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if stub.Ignition == nil || stub.Ignition.Version == nil {
		return "", fmt.Errorf("%w: $.ignition.version is missing", ErrUnsupportedVersion)
	}
	return *stub.Ignition.Version, nil
}

// malformedError returns a *SyntaxError with the offset if raw is not
// valid JSON, nil otherwise.
func malformedError(raw []byte) error {
	var v any
	err := json.Unmarshal(raw, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		l, c := lineCol(raw, se.Offset)
		return &SyntaxError{Offset: se.Offset, Line: l, Column: c, Err: err}
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}

func unsupported(version string) error {
	switch {
	case strings.HasPrefix(version, "2."):
		return fmt.Errorf("%w: $.ignition.version %q: Ignition spec 2.x is not supported; convert it to 3.x first (ign-converter)", ErrUnsupportedVersion, version)
	case strings.Contains(version, "experimental"):
		return fmt.Errorf("%w: $.ignition.version %q: experimental specs are not supported", ErrUnsupportedVersion, version)
	default:
		return fmt.Errorf("%w: $.ignition.version %q: want one of %s", ErrUnsupportedVersion, version, strings.Join(Versions(), ", "))
	}
}

// Version is the spec version the config came in.
func (c *Config) Version() string { return c.version }

// Warnings are the non-fatal findings of Ignition's validator on the input.
func (c *Config) Warnings() []Problem { return append([]Problem(nil), c.warnings...) }

// IsPointer reports whether the config merges or replaces itself with a
// remote config (master.ign and worker.ign from openshift-install are).
func (c *Config) IsPointer() bool {
	ic := c.cfg.Ignition.Config
	return len(ic.Merge) > 0 || (ic.Replace.Source != nil && *ic.Replace.Source != "")
}
