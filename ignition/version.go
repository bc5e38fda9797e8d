package ignition

import (
	"fmt"
	"reflect"

	"github.com/coreos/vcontext/report"

	v30 "github.com/coreos/ignition/v2/config/v3_0"
	t30 "github.com/coreos/ignition/v2/config/v3_0/types"
	v31 "github.com/coreos/ignition/v2/config/v3_1"
	tr31 "github.com/coreos/ignition/v2/config/v3_1/translate"
	t31 "github.com/coreos/ignition/v2/config/v3_1/types"
	v32 "github.com/coreos/ignition/v2/config/v3_2"
	tr32 "github.com/coreos/ignition/v2/config/v3_2/translate"
	t32 "github.com/coreos/ignition/v2/config/v3_2/types"
	v33 "github.com/coreos/ignition/v2/config/v3_3"
	tr33 "github.com/coreos/ignition/v2/config/v3_3/translate"
	t33 "github.com/coreos/ignition/v2/config/v3_3/types"
	v34 "github.com/coreos/ignition/v2/config/v3_4"
	tr34 "github.com/coreos/ignition/v2/config/v3_4/translate"
	t34 "github.com/coreos/ignition/v2/config/v3_4/types"
	v35 "github.com/coreos/ignition/v2/config/v3_5"
	tr35 "github.com/coreos/ignition/v2/config/v3_5/translate"
	t35 "github.com/coreos/ignition/v2/config/v3_5/types"
)

// Supported spec versions, oldest first. 3.6.0-experimental is deliberately
// absent: experimental specs change without notice and no installer emits them.
const (
	V3_0 = "3.0.0"
	V3_1 = "3.1.0"
	V3_2 = "3.2.0"
	V3_3 = "3.3.0"
	V3_4 = "3.4.0"
	V3_5 = "3.5.0"
)

// Versions lists the supported spec versions, oldest first.
func Versions() []string { return []string{V3_0, V3_1, V3_2, V3_3, V3_4, V3_5} }

// spec ties one version string to Ignition's own parser for it and the
// translation chain that lifts its types to 3.5 (our working representation).
type spec struct {
	version string
	// parse runs Ignition's own Parse for exactly this version (JSON decode +
	// validate with context) and lifts the result to 3.5.
	parse func(raw []byte) (t35.Config, report.Report, error)
	// newTyped returns a pointer to a zero config of this version's types,
	// the target of down-conversion.
	newTyped func() any
	// validate runs Ignition's validator over a typed config of this version.
	validate func(typed any) report.Report
	// fast is the fast path (fastparse.go); ok=false means "use parse".
	fast func(raw []byte) (cfg t35.Config, warnings []Problem, ok bool)
}

func lift[T any](parse func([]byte) (T, report.Report, error)) func([]byte) (t35.Config, report.Report, error) {
	return func(raw []byte) (t35.Config, report.Report, error) {
		c, r, err := parse(raw)
		if err != nil {
			return t35.Config{}, r, err
		}
		return liftTo35(c), r, nil
	}
}

// liftTo35 converts a config of any 3.x version to 3.5 types with the same
// field-by-field conversion Marshal uses to go back down. Ignition's own
// translate chain (v3_N/translate) does the same, but through three to
// five reflective passes; on a 300 KB bootstrap config that was a sixth of
// the patch budget. TestLiftMatchesIgnitionTranslate holds the two equal.
func liftTo35[T any](c T) t35.Config {
	var out t35.Config
	if err := convert(reflect.ValueOf(&out).Elem(), reflect.ValueOf(c), "$"); err != nil {
		// Every 3.x field exists in 3.5; this is a programming error.
		panic(fmt.Sprintf("ignition: lifting %T to 3.5: %v", c, err))
	}
	out.Ignition.Version = V3_5
	return out
}

// ignitionTranslate lifts with Ignition's own translators (tests compare).
var ignitionTranslate = map[string]func(any) t35.Config{
	V3_0: func(c any) t35.Config {
		return tr35.Translate(tr34.Translate(tr33.Translate(tr32.Translate(tr31.Translate(c.(t30.Config))))))
	},
	V3_1: func(c any) t35.Config {
		return tr35.Translate(tr34.Translate(tr33.Translate(tr32.Translate(c.(t31.Config)))))
	},
	V3_2: func(c any) t35.Config { return tr35.Translate(tr34.Translate(tr33.Translate(c.(t32.Config)))) },
	V3_3: func(c any) t35.Config { return tr35.Translate(tr34.Translate(c.(t33.Config))) },
	V3_4: func(c any) t35.Config { return tr35.Translate(c.(t34.Config)) },
	V3_5: func(c any) t35.Config { return c.(t35.Config) },
}

var specs = []spec{
	{V3_0, lift(v30.Parse), func() any { return new(t30.Config) }, validateTyped[t30.Config],
		func(raw []byte) (t35.Config, []Problem, bool) {
			return fastParse[t30.Config](raw, V3_0, validateTyped[t30.Config])
		}},
	{V3_1, lift(v31.Parse), func() any { return new(t31.Config) }, validateTyped[t31.Config],
		func(raw []byte) (t35.Config, []Problem, bool) {
			return fastParse[t31.Config](raw, V3_1, validateTyped[t31.Config])
		}},
	{V3_2, lift(v32.Parse), func() any { return new(t32.Config) }, validateTyped[t32.Config],
		func(raw []byte) (t35.Config, []Problem, bool) {
			return fastParse[t32.Config](raw, V3_2, validateTyped[t32.Config])
		}},
	{V3_3, lift(v33.Parse), func() any { return new(t33.Config) }, validateTyped[t33.Config],
		func(raw []byte) (t35.Config, []Problem, bool) {
			return fastParse[t33.Config](raw, V3_3, validateTyped[t33.Config])
		}},
	{V3_4, lift(v34.Parse), func() any { return new(t34.Config) }, validateTyped[t34.Config],
		func(raw []byte) (t35.Config, []Problem, bool) {
			return fastParse[t34.Config](raw, V3_4, validateTyped[t34.Config])
		}},
	{V3_5, lift(v35.Parse), func() any { return new(t35.Config) }, validateTyped[t35.Config],
		func(raw []byte) (t35.Config, []Problem, bool) {
			return fastParse[t35.Config](raw, V3_5, validateTyped[t35.Config])
		}},
}

func specIndex(version string) int {
	for i, s := range specs {
		if s.version == version {
			return i
		}
	}
	return -1
}
