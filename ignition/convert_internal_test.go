package ignition

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

const liftFixture = `{"ignition":{"version":"VERSION","config":{"merge":[{"source":"https://x/y"}],"replace":{"source":""}},
 "security":{"tls":{"certificateAuthorities":[{"source":""},{"source":"data:,x"}]}}},
 "passwd":{"users":[{"name":"core","sshAuthorizedKeys":["k"]}]},
 "storage":{"raid":[{"name":"md0","level":"","devices":["/dev/a","/dev/b"]}],
  "links":[{"path":"/l","target":""}],
  "files":[{"path":"/f","contents":{"source":"data:,"},"mode":420,"overwrite":false}]},
 "systemd":{"units":[{"name":"a.service","enabled":false,"dropins":[{"name":"x.conf"}]}]}}`

// TestLiftMatchesIgnitionTranslate holds liftTo35 (one reflective pass) to
// Ignition's own translate chain, including the empty-string-to-pointer
// cases the translators special-case.
func TestLiftMatchesIgnitionTranslate(t *testing.T) {
	for _, s := range specs {
		raw := strings.Replace(liftFixture, "VERSION", s.version, 1)
		typed := s.newTyped()
		if err := json.Unmarshal([]byte(raw), typed); err != nil {
			t.Fatalf("%s: %v", s.version, err)
		}
		v := reflect.ValueOf(typed).Elem().Interface()
		got := liftTo35(v) // reflect sees the concrete vX.Config inside the interface
		want := ignitionTranslate[s.version](v)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: lift differs from Ignition's translate\n got %+v\nwant %+v", s.version, got, want)
		}
	}
}

// TestConvertDownNeedsNewer: a 3.5 config using kernel arguments cannot be
// held by 3.2 types, and conversion names the field.
func TestConvertDownNeedsNewer(t *testing.T) {
	c, err := Parse([]byte(`{"ignition":{"version":"3.5.0"},"kernelArguments":{"shouldExist":["a"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	err = convert(reflect.ValueOf(specs[2].newTyped()).Elem(), reflect.ValueOf(&c.cfg).Elem(), "$")
	nn, ok := err.(*needNewer)
	if !ok || nn.path != "$.kernelArguments" {
		t.Errorf("err = %v, want needNewer at $.kernelArguments", err)
	}
}
