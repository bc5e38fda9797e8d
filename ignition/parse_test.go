package ignition_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/okvm/okvm/ignition"
)

func TestParseKeepsVersion(t *testing.T) {
	for v, raw := range richConfigs() {
		c, err := ignition.Parse([]byte(raw))
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if c.Version() != v {
			t.Errorf("Version() = %s, want %s", c.Version(), v)
		}
		if !c.IsPointer() {
			t.Errorf("%s: a config with ignition.config.merge is a pointer config", v)
		}
	}
}

func TestParseErrors(t *testing.T) {
	valid := `{"ignition":{"version":"3.2.0"}}`
	tests := []struct {
		name     string
		raw      string
		sentinel error
		want     []string // substrings of the error
	}{
		{"empty", "", ignition.ErrMalformed, []string{"offset 0"}},
		{"truncated", `{"ignition":{"version":"3.2.0"}`, ignition.ErrMalformed, []string{"offset 31"}},
		{"garbage after", valid + `x`, ignition.ErrMalformed, []string{"offset 33"}},
		{"syntax late", `{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/a",]}}`, ignition.ErrMalformed, []string{"offset 66", "line 1"}},
		{"not an object", `[1,2]`, ignition.ErrInvalid, []string{"JSON object"}},
		{"no version", `{"storage":{}}`, ignition.ErrUnsupportedVersion, []string{"$.ignition.version is missing"}},
		{"spec 2", `{"ignition":{"version":"2.2.0"}}`, ignition.ErrUnsupportedVersion, []string{`"2.2.0"`, "2.x"}},
		{"unknown", `{"ignition":{"version":"3.9.0"}}`, ignition.ErrUnsupportedVersion, []string{`"3.9.0"`, "3.5.0"}},
		{"experimental", `{"ignition":{"version":"3.6.0-experimental"}}`, ignition.ErrUnsupportedVersion, []string{"experimental"}},
		{"version type", `{"ignition":{"version":3.2}}`, ignition.ErrInvalid, []string{"$.ignition.version", "wrong type"}},
		{"mode type", `{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/a","mode":"0644"}]}}`, ignition.ErrInvalid, []string{"$.storage.files.mode", "wrong type"}},
		{"unknown field", `{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/a","mod":420}]}}`, ignition.ErrUnknownField, []string{"$.storage.files[0].mod", "unknown field"}},
		{"newer field", `{"ignition":{"version":"3.2.0"},"kernelArguments":{"shouldExist":["a"]}}`, ignition.ErrUnknownField, []string{"$.kernelArguments"}},
		{"illegal mode", `{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/a","mode":99999}]}}`, ignition.ErrInvalid, []string{"$.storage.files[0].mode", "illegal file mode"}},
		{"bad data url", `{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/a","contents":{"source":"data:;base64,!!!"}}]}}`, ignition.ErrInvalid, []string{"$.storage.files[0].contents.source"}},
		{"relative path", `{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"a"}]}}`, ignition.ErrInvalid, []string{"$.storage.files[0].path"}},
		{"duplicate", `{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/a"},{"path":"/a"}]}}`, ignition.ErrInvalid, []string{"$.storage.files[1]", "duplicate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ignition.Parse([]byte(tt.raw))
			if err == nil {
				t.Fatalf("no error; parsed version %s", c.Version())
			}
			if !errors.Is(err, tt.sentinel) {
				t.Errorf("error %v is not %v", err, tt.sentinel)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestSyntaxErrorOffset(t *testing.T) {
	raw := "{\"ignition\":{\"version\":\"3.2.0\"},\n\"storage\":{\"files\":[}}"
	_, err := ignition.Parse([]byte(raw))
	var se *ignition.SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("want *SyntaxError, got %v", err)
	}
	if se.Offset != int64(strings.Index(raw, "[}")+2) || se.Line != 2 {
		t.Errorf("offset %d line %d, want %d line 2", se.Offset, se.Line, strings.Index(raw, "[}")+2)
	}
}

func TestAllowUnknownFields(t *testing.T) {
	raw := []byte(`{"ignition":{"version":"3.2.0"},"extra":1}`)
	if _, err := ignition.Parse(raw); !errors.Is(err, ignition.ErrUnknownField) {
		t.Fatalf("strict parse: %v", err)
	}
	c, err := ignition.Parse(raw, ignition.AllowUnknownFields())
	if err != nil {
		t.Fatal(err)
	}
	w := c.Warnings()
	if len(w) != 1 || w[0].Path != "$.extra" || w[0].Severity != ignition.SeverityWarning {
		t.Errorf("warnings %v, want one for $.extra", w)
	}
}

func TestValidateReportsByPath(t *testing.T) {
	ps, err := ignition.Validate([]byte(`{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"/a","mode":99999},{"path":"b"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]bool{}
	for _, p := range ps {
		paths[p.Path] = true
		if p.Line == 0 {
			t.Errorf("%v has no line", p)
		}
	}
	for _, want := range []string{"$.storage.files[0].mode", "$.storage.files[1].path"} {
		if !paths[want] {
			t.Errorf("no problem at %s in %v", want, ps)
		}
	}
	if _, err := ignition.Validate([]byte(`{`)); !errors.Is(err, ignition.ErrMalformed) {
		t.Errorf("malformed: %v", err)
	}
}
