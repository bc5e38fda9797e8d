package ignition

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Result is a serialized config.
type Result struct {
	// JSON is the config, byte-identical for the same input and patches.
	JSON []byte `json:"-"`
	// Version is the spec version of JSON.
	Version string `json:"version"`
	// TranslatedFrom is the input's version when a patch needed a newer
	// spec and the config was translated up; empty otherwise.
	TranslatedFrom string `json:"translatedFrom,omitempty"`
	// TranslatedFor is the JSON path of the first field that the input's
	// version could not hold (e.g. "$.kernelArguments.shouldExist").
	TranslatedFor string `json:"translatedFor,omitempty"`
}

// Marshal serializes the config in the oldest spec that can hold it: the
// version it came in, or the first newer one when a patch used a feature
// that version lacks. The output is validated with Ignition's validator for
// that version (unless SkipOutputValidation).
func (c *Config) Marshal() (*Result, error) {
	start := specIndex(c.version)
	if start < 0 {
		return nil, fmt.Errorf("%w: Config was not made by Parse", ErrInvalid)
	}
	res := &Result{}
	src := reflect.ValueOf(&c.cfg).Elem()
	for i := start; i < len(specs); i++ {
		s := specs[i]
		typed := s.newTyped()
		tv := reflect.ValueOf(typed).Elem()
		if err := convert(tv, src, "$"); err != nil {
			var nn *needNewer
			if errors.As(err, &nn) {
				if res.TranslatedFor == "" {
					res.TranslatedFor = nn.path
				}
				continue
			}
			return nil, err
		}
		tv.FieldByName("Ignition").FieldByName("Version").SetString(s.version)
		if !c.opts.skipOutValid {
			if err := c.validateOutput(s); err != nil {
				return nil, err
			}
		}
		var out exactCopy
		enc := json.NewEncoder(&out)
		// No HTML escaping: unit files are full of "&&" and "<"; escaping is
		// legal JSON but makes the output needlessly hard to read.
		enc.SetEscapeHTML(false)
		if err := enc.Encode(typed); err != nil {
			return nil, fmt.Errorf("ignition: encode %s config: %w", s.version, err)
		}
		res.JSON = bytes.TrimSuffix(out.b, []byte("\n"))
		res.Version = s.version
		if i != start {
			res.TranslatedFrom = c.version
			c.opts.log.Info("ignition: translated config to a newer spec", "from", c.version, "to", s.version, "because", res.TranslatedFor)
		} else {
			res.TranslatedFor = ""
		}
		return res, nil
	}
	return nil, fmt.Errorf("ignition: internal: config fits no supported spec (first blocker %s)", res.TranslatedFor)
}

// validateOutput runs Ignition's validator for spec s over the output.
//
// Files no patch touched were validated by Parse; walking and re-decoding
// them would double the cost on a 300 KB bootstrap config. So the
// validator sees the whole config except those untouched files — minus
// the ones under /etc/systemd/system/, which it needs to check path
// conflicts with units. Problem paths are mapped back to output indices.
func (c *Config) validateOutput(s spec) error {
	view := c.cfg
	view.Storage.Files = nil
	var back []int
	for i, f := range c.cfg.Storage.Files {
		if c.touched[f.Path] || strings.HasPrefix(f.Path, "/etc/systemd/system/") {
			view.Storage.Files = append(view.Storage.Files, f)
			back = append(back, i)
		}
	}
	typed := s.newTyped()
	tv := reflect.ValueOf(typed).Elem()
	if err := convert(tv, reflect.ValueOf(&view).Elem(), "$"); err != nil {
		return err
	}
	tv.FieldByName("Ignition").FieldByName("Version").SetString(s.version)
	ps, _ := problems(s.validate(typed), false)
	if !hasErrors(ps) {
		return nil
	}
	for i, p := range ps {
		var n int
		if _, err := fmt.Sscanf(p.Path, "$.storage.files[%d]", &n); err == nil && n < len(back) {
			prefix := fmt.Sprintf("$.storage.files[%d]", n)
			ps[i].Path = fmt.Sprintf("$.storage.files[%d]", back[n]) + strings.TrimPrefix(p.Path, prefix)
		}
	}
	return &ValidationError{Version: s.version, Problems: ps}
}

// exactCopy receives json.Encoder's output. The encoder builds the whole
// document in its own pooled buffer and hands it over in one Write, so one
// append into a nil slice copies it into an allocation of exactly its size
// (not zeroed first, unlike a pre-grown bytes.Buffer of a guessed size).
type exactCopy struct{ b []byte }

func (w *exactCopy) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}
