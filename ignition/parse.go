package ignition

import (
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
}

// Parse parses and validates an Ignition 3.0–3.5 config with Ignition's own
// parser for that exact version.
//
// Errors: *SyntaxError (ErrMalformed) with the byte offset for bad JSON;
// ErrUnsupportedVersion for 2.x, experimental or unknown versions;
// *ValidationError (ErrInvalid, and ErrUnknownField for unknown keys) listing
// every problem by JSON path.
func Parse(raw []byte, opts ...Option) (*Config, error) {
	o := buildOptions(opts)
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

// sniffVersion reads ignition.version, and turns malformed JSON into a
// *SyntaxError with the offset (encoding/json checks the whole document
// before decoding, so this catches syntax errors anywhere).
func sniffVersion(raw []byte) (string, error) {
	if len(strings.TrimSpace(string(raw))) == 0 {
		return "", &SyntaxError{Offset: 0, Line: 1, Column: 1, Err: errors.New("empty input")}
	}
	var stub struct {
		Ignition *struct {
			Version *string `json:"version"`
		} `json:"ignition"`
	}
	if err := json.Unmarshal(raw, &stub); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			l, c := lineCol(raw, se.Offset)
			return "", &SyntaxError{Offset: se.Offset, Line: l, Column: c, Err: err}
		}
		if p, ok := typeProblem(raw, err); ok {
			return "", &ValidationError{Version: "unknown", Problems: []Problem{p}}
		}
		return "", fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if stub.Ignition == nil || stub.Ignition.Version == nil {
		return "", fmt.Errorf("%w: $.ignition.version is missing", ErrUnsupportedVersion)
	}
	return *stub.Ignition.Version, nil
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
