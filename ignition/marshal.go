package ignition

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
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
	res := &Result{}
	src := reflect.ValueOf(&c.cfg).Elem()
	for i := start; i < len(specs); i++ {
		s := specs[i]
		typed := s.newTyped()
		tv := reflect.ValueOf(typed).Elem()
		if err := down(tv, src, "$"); err != nil {
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
			ps, _ := problems(s.validate(typed), false)
			if hasErrors(ps) {
				return nil, &ValidationError{Version: s.version, Problems: ps}
			}
		}
		var buf bytes.Buffer
		buf.Grow(64 << 10)
		enc := json.NewEncoder(&buf)
		// No HTML escaping: unit files are full of "&&" and "<"; escaping is
		// legal JSON but makes the output needlessly hard to read.
		enc.SetEscapeHTML(false)
		if err := enc.Encode(typed); err != nil {
			return nil, fmt.Errorf("ignition: encode %s config: %w", s.version, err)
		}
		res.JSON = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
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
