package ignition

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"sync"

	"github.com/coreos/vcontext/report"
	"github.com/vincent-petithory/dataurl"

	t35 "github.com/coreos/ignition/v2/config/v3_5/types"
)

// The fast path.
//
// Ignition's own vX.Parse costs about three full passes over the input:
// encoding/json into its types, a second parse with coreos/go-json to build
// a position tree (only used to report unknown keys and line numbers), and
// its validator, which decodes every data URL with a character-at-a-time
// lexer (vincent-petithory/dataurl). On a 300 KB bootstrap config that
// alone is more than the 5 ms budget for parse + patch + serialize.
//
// So Parse first tries a path that gives the same verdict for less:
//   - one encoding/json decode into the version's types, then one walk of
//     the raw bytes against the schema of those types for unknown keys
//     (keyscan.go; exact, case-sensitive, like Ignition's check);
//   - data URLs in storage.files checked by dataURLValid, an exact replica
//     of Ignition's validateURL for data URLs (url.Parse, the dataurl
//     grammar for the header, then the same per-byte rules and decoder for
//     the payload, without the lexer's per-rune overhead);
//   - Ignition's validator (config/validate) over the config with those
//     already-checked sources replaced by "data:,".
//
// Anything the fast path does not accept — a syntax or type error, an
// unknown key, a bad data URL, a validator error — falls back to
// Ignition's own vX.Parse, which produces the authoritative report with
// line and column. So the fast path can only make Parse faster, never
// more lenient. FuzzParse checks the equivalence.

func fastParse[T any](raw []byte, version string, validate func(any) report.Report) (t35.Config, []Problem, bool) {
	var typed T
	if err := json.Unmarshal(raw, &typed); err != nil {
		return t35.Config{}, nil, false
	}
	fx := fieldsOf(reflect.TypeOf(typed))
	if reflect.ValueOf(&typed).Elem().FieldByIndex(fx.version).String() != version {
		return t35.Config{}, nil, false
	}
	if !knownKeys(raw, schemaOf(reflect.TypeOf(typed))) {
		return t35.Config{}, nil, false
	}
	// The validator's copy: the same typed config with the file sources
	// already checked by dataURLValid replaced by "data:,". Done on the
	// version's own types by field name (Storage.Files[].Contents.Source,
	// .Append[].Source exist in every 3.x), so no extra conversion pass.
	tv := typed
	files := reflect.ValueOf(&tv).Elem().FieldByIndex(fx.files)
	clone := reflect.MakeSlice(files.Type(), files.Len(), files.Len())
	reflect.Copy(clone, files)
	for i := 0; i < clone.Len(); i++ {
		f := clone.Index(i)
		if !checkSource(f.FieldByIndex(fx.contentsSource)) {
			return t35.Config{}, nil, false
		}
		if fx.append == nil {
			continue
		}
		if app := f.FieldByIndex(fx.append); app.Len() > 0 {
			ac := reflect.MakeSlice(app.Type(), app.Len(), app.Len())
			reflect.Copy(ac, app)
			for j := 0; j < ac.Len(); j++ {
				if !checkSource(ac.Index(j).FieldByIndex(fx.appendSource)) {
					return t35.Config{}, nil, false
				}
			}
			app.Set(ac)
		}
	}
	files.Set(clone)
	rpt := validate(&tv)
	if rpt.IsFatal() {
		return t35.Config{}, nil, false
	}
	ps, _ := problems(rpt, false)
	return liftTo35(typed), ps, true
}

// typeFields are the field index paths fastParse reads in one version's
// types, looked up once per type (FieldByName on the promoted fields of
// File allocates on every call).
type typeFields struct {
	version        []int // Config.Ignition.Version
	files          []int // Config.Storage.Files
	contentsSource []int // File.Contents.Source
	append         []int // File.Append (nil if the version has none)
	appendSource   []int // Resource.Source
}

var fieldCache sync.Map // reflect.Type -> *typeFields

func fieldsOf(t reflect.Type) *typeFields {
	if fx, ok := fieldCache.Load(t); ok {
		return fx.(*typeFields)
	}
	idx := func(t reflect.Type, names ...string) []int {
		var out []int
		for _, n := range names {
			f, ok := t.FieldByName(n)
			if !ok {
				return nil
			}
			out = append(out, f.Index...)
			t = f.Type
		}
		return out
	}
	fx := &typeFields{
		version: idx(t, "Ignition", "Version"),
		files:   idx(t, "Storage", "Files"),
	}
	file := t.FieldByIndex(fx.files).Type.Elem()
	fx.contentsSource = idx(file, "Contents", "Source")
	if f, ok := file.FieldByName("Append"); ok {
		fx.append = f.Index
		fx.appendSource = idx(f.Type.Elem(), "Source")
	}
	fieldCache.Store(t, fx)
	return fx
}

var emptyDataURL = "data:,"

// checkSource takes a *string source field of a copy meant for the
// validator: a valid data URL is replaced by "data:,", an invalid one
// reports false, anything else is left for Ignition's validator.
func checkSource(src reflect.Value) bool {
	if src.Kind() != reflect.Pointer || src.IsNil() {
		return true
	}
	s := src.Elem().String()
	if !strings.HasPrefix(s, "data:") {
		return true
	}
	if !dataURLValid(s) {
		return false
	}
	src.Set(reflect.ValueOf(&emptyDataURL))
	return true
}

var b64Scratch = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// dataURLValid answers exactly what Ignition's validateURL answers for a
// "data:" URL, faster. FuzzDataURLValid holds it to the original.
func dataURLValid(s string) bool {
	comma := strings.IndexByte(s, ',')
	// Ignition runs url.Parse(s) first. For a "data:" URL with no '#' and
	// an opaque part not starting with '/', url.Parse fails exactly when s
	// holds an ASCII control byte — and the payload checks below reject
	// every control byte anyway ('\n' and '\r' in base64 explicitly). So
	// only the header needs the check, not a scan of a 100 KB payload.
	if comma < 0 || !strings.HasPrefix(s, "data:") || len(s) <= 5 || s[5] == '/' ||
		strings.IndexByte(s, '#') >= 0 {
		if _, err := url.Parse(s); err != nil {
			return false
		}
	} else if hasCTL(s[:comma]) {
		return false
	}
	if comma < 0 || strings.IndexByte(s[:comma], '"') >= 0 {
		// No data or a quoted parameter (which may hold a comma): let the
		// original decide.
		_, err := dataurl.DecodeString(s)
		return err == nil
	}
	valid, isB64 := headerVerdict(s[:comma+1])
	if !valid {
		return false
	}
	payload := s[comma+1:]
	if isB64 {
		// The lexer admits the base64 alphabet, '=' and '\n';
		// base64.StdEncoding (which the parser then runs) rejects
		// everything else except '\r', which it skips. So rejecting '\r'
		// and running the decoder gives the same verdict.
		if strings.IndexByte(payload, '\r') >= 0 || strings.IndexByte(payload, '\n') >= 0 {
			return false // ('\n': url.Parse rejects it)
		}
		bp := b64Scratch.Get().(*[]byte)
		defer b64Scratch.Put(bp)
		if n := base64.StdEncoding.DecodedLen(len(payload)); cap(*bp) < n {
			*bp = make([]byte, n)
		}
		_, err := base64.StdEncoding.Decode((*bp)[:cap(*bp)], []byte(payload))
		return err == nil
	}
	for i := 0; i < len(payload); i++ {
		c := payload[i]
		if !isURLCharByte(c) {
			return false
		}
		if c == '%' {
			if i+2 >= len(payload) || !isHex(payload[i+1]) || !isHex(payload[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

// headerVerdicts caches dataurl's verdict on a data URL's header ("data:"
// through the comma, no quotes): a config repeats the same few headers
// ("data:,", "data:;base64,", "data:text/plain;charset=utf-8;base64,") on
// every file, and dataurl's lexer allocates on each. The answer depends on
// the header alone, so the cache is exact. Bounded: at most
// maxHeaderVerdicts entries of at most 256 bytes.
var (
	headerVerdicts   sync.Map // string -> headerVerdictEntry
	headerVerdictsMu sync.Mutex
	headerVerdictsN  int
)

const maxHeaderVerdicts = 256

type headerVerdictEntry struct{ valid, base64 bool }

func headerVerdict(header string) (valid, isBase64 bool) {
	if v, ok := headerVerdicts.Load(header); ok {
		e := v.(headerVerdictEntry)
		return e.valid, e.base64
	}
	du, err := dataurl.DecodeString(header)
	e := headerVerdictEntry{valid: err == nil}
	if err == nil {
		e.base64 = du.Encoding == dataurl.EncodingBase64
	}
	if len(header) <= 256 {
		headerVerdictsMu.Lock()
		if headerVerdictsN < maxHeaderVerdicts {
			headerVerdictsN++
			// A copy: header is a slice of a (large) source string.
			headerVerdicts.Store(strings.Clone(header), e)
		}
		headerVerdictsMu.Unlock()
	}
	return e.valid, e.base64
}

// hasCTL reports an ASCII control byte, as net/url rejects them.
func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// isURLCharByte mirrors dataurl's isURLCharRune (ASCII only: any byte ≥
// 0x80 is part of a rune > MaxASCII, or an invalid one, both rejected).
func isURLCharByte(c byte) bool {
	if c >= 0x80 || c <= 0x1f || c == 0x7f {
		return false
	}
	switch c {
	case ' ', '<', '>', '#', '"', '{', '}', '|', '\\', '^', '[', ']', '`':
		return false
	}
	return true
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}
