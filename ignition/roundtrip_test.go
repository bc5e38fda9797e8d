package ignition_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/coreos/vcontext/report"

	v30 "github.com/coreos/ignition/v2/config/v3_0"
	v31 "github.com/coreos/ignition/v2/config/v3_1"
	v32 "github.com/coreos/ignition/v2/config/v3_2"
	v33 "github.com/coreos/ignition/v2/config/v3_3"
	v34 "github.com/coreos/ignition/v2/config/v3_4"
	v35 "github.com/coreos/ignition/v2/config/v3_5"

	"github.com/okvm/okvm/ignition"
)

func wrap[T any](f func([]byte) (T, report.Report, error)) func([]byte) (any, report.Report, error) {
	return func(b []byte) (any, report.Report, error) { return f(b) }
}

// ignitionParse is Ignition's own parser per version: the reference.
var ignitionParse = map[string]func([]byte) (any, report.Report, error){
	ignition.V3_0: wrap(v30.Parse), ignition.V3_1: wrap(v31.Parse), ignition.V3_2: wrap(v32.Parse),
	ignition.V3_3: wrap(v33.Parse), ignition.V3_4: wrap(v34.Parse), ignition.V3_5: wrap(v35.Parse),
}

func encode(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// TestRoundTripAllVersions: Parse + Marshal without patches gives exactly
// what Ignition's own types serialize to, in the same version, and the
// output passes Ignition's parser with no findings.
func TestRoundTripAllVersions(t *testing.T) {
	for v, raw := range richConfigs() {
		t.Run(v, func(t *testing.T) {
			c, err := ignition.Parse([]byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if res.Version != v || res.TranslatedFrom != "" {
				t.Errorf("result version %s (from %q), want %s untranslated", res.Version, res.TranslatedFrom, v)
			}
			ref, _, err := ignitionParse[v]([]byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			if want := encode(t, ref); !bytes.Equal(res.JSON, want) {
				t.Errorf("round trip differs from Ignition's serialization:\n got %s\nwant %s", res.JSON, want)
			}
			if _, rpt, err := ignitionParse[v](res.JSON); err != nil || len(rpt.Entries) != 0 {
				t.Errorf("output fails Ignition's %s parser: %v %v", v, err, rpt)
			}
		})
	}
}
