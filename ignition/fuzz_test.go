package ignition_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/okvm/okvm/ignition"
	"github.com/okvm/okvm/ignition/ignitiontest"
)

func fuzzSeeds(f *testing.F) {
	for _, raw := range richConfigs() {
		f.Add([]byte(raw))
	}
	f.Add(pointer(f))
	for _, s := range []string{
		``, `{}`, `[]`, `{"ignition":{"version":"2.2.0"}}`, `{"ignition":{"version":"3.2.0"}`,
		`{"ignition":{"version":"3.2.0"},"Storage":{}}`, `{"ignition":{"version":"3.2.0"},"st\u006frage":{}}`,
		`{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/a","Mode":420}]}}`,
		`{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/a","mode":99999}]}}`,
		`{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/a","contents":{"source":"data:text/plain;charset=\"a,b\";base64,aGk="}}]}}`,
		`{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/opt/openshift/tls/a.crt","contents":{"source":"data:,x"}}]}}`,
	} {
		f.Add([]byte(s))
	}
}

// FuzzParse: Parse never panics, never accepts what Ignition's own parser
// rejects, only rejects what Ignition accepts when Ignition reported an
// unknown key, and what it accepts marshals to a config Ignition accepts
// and that is a fixed point of Parse+Marshal.
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := ignition.Parse(raw)

		var stub struct {
			Ignition struct{ Version string } `json:"ignition"`
		}
		_ = json.Unmarshal(raw, &stub)
		ref, known := ignitionParse[stub.Ignition.Version]
		if !known {
			if err == nil {
				t.Fatalf("accepted version %q", stub.Ignition.Version)
			}
			return
		}
		_, rpt, refErr := ref(raw)
		unknownKey := false
		for _, e := range rpt.Entries {
			if strings.HasPrefix(e.Message, "unused key ") {
				unknownKey = true
			}
		}
		switch {
		case refErr != nil && err == nil:
			t.Fatalf("accepted a config Ignition rejects (%v): %q", refErr, raw)
		case refErr == nil && !unknownKey && err != nil:
			t.Fatalf("rejected a config Ignition accepts: %v", err)
		case refErr == nil && unknownKey && err == nil:
			t.Fatalf("accepted an unknown key Ignition reported: %v", rpt)
		case refErr == nil && unknownKey && err != nil && !errors.Is(err, ignition.ErrUnknownField):
			t.Fatalf("unknown key reported as %v", err)
		}
		if err != nil {
			return
		}
		res, err := c.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed config: %v", err)
		}
		if _, _, err := ignitionParse[res.Version](res.JSON); err != nil {
			t.Fatalf("output rejected by Ignition: %v\n%s", err, res.JSON)
		}
		c2, err := ignition.Parse(res.JSON)
		if err != nil {
			t.Fatalf("output rejected by Parse: %v", err)
		}
		res2, err := c2.Marshal()
		if err != nil || !bytes.Equal(res.JSON, res2.JSON) {
			t.Fatalf("Parse+Marshal is not a fixed point: %v\n%s\n%s", err, res.JSON, res2.JSON)
		}
	})
}

// FuzzDeadline: never panics; a returned deadline is consistent with the
// certificates it lists.
func FuzzDeadline(f *testing.F) {
	fuzzSeeds(f)
	for i, enc := range []string{ignitiontest.EncodingBase64, ignitiontest.EncodingPercent, ignitiontest.EncodingGzip} {
		raw, err := ignitiontest.Bootstrap(ignitiontest.BootstrapOptions{Seed: uint64(i), Size: 1, CertEncoding: enc,
			Lifetimes: map[string]time.Duration{"kubelet-signer": time.Hour}})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := ignition.ReadDeadline(raw)
		if err != nil {
			return
		}
		if len(d.Certs) == 0 {
			t.Fatal("deadline without certificates")
		}
		foundHard, foundSoft := false, false
		for _, c := range d.Certs {
			if c.NotAfter.Before(d.Hard) || c.HalfLife().Before(d.Soft) {
				t.Fatalf("%s (%s, half %s) is earlier than hard %s / soft %s", c.Path, c.NotAfter, c.HalfLife(), d.Hard, d.Soft)
			}
			foundHard = foundHard || c == d.HardCert
			foundSoft = foundSoft || c == d.SoftCert
		}
		if !foundHard || !foundSoft || !d.HardCert.NotAfter.Equal(d.Hard) || !d.SoftCert.HalfLife().Equal(d.Soft) {
			t.Fatalf("deadline certs do not match: %+v", d)
		}
	})
}
