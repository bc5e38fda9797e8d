package ignition

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/coreos/ignition/v2/config/validate"
	"github.com/coreos/vcontext/path"
	"github.com/coreos/vcontext/report"
	"github.com/coreos/vcontext/tree"
)

// validateTyped runs Ignition's own validator (the same one Ignition runs on
// the node) over a typed config of one spec version.
func validateTyped[T any](typed any) report.Report {
	return validate.ValidateWithContext(*typed.(*T), nil)
}

// jsonPath renders a vcontext path as "$.storage.files[3].mode".
func jsonPath(p path.ContextPath) string {
	var b strings.Builder
	b.WriteString("$")
	for _, e := range p.Path {
		switch v := e.(type) {
		case int:
			b.WriteString("[")
			b.WriteString(strconv.Itoa(v))
			b.WriteString("]")
		case tree.Key:
			b.WriteString(".")
			b.WriteString(string(v))
		case string:
			b.WriteString(".")
			b.WriteString(v)
		default:
			fmt.Fprintf(&b, ".%v", v)
		}
	}
	return b.String()
}

// problems converts an Ignition report to Problems. unknown reports whether
// one of them is an "unused key" warning; strict turns those into errors,
// because a key Ignition ignores is almost always a typo or a field from a
// newer spec, and silently dropping it changes what the node gets.
func problems(r report.Report, strict bool) (ps []Problem, unknown bool) {
	for _, e := range r.Entries {
		p := Problem{Path: jsonPath(e.Context), Message: e.Message}
		switch e.Kind {
		case report.Error:
			p.Severity = SeverityError
		case report.Warn:
			p.Severity = SeverityWarning
		default:
			p.Severity = SeverityInfo
		}
		if strings.HasPrefix(e.Message, "unused key") {
			unknown = true
			p.Message = "unknown field " + strconv.Quote(strings.TrimPrefix(e.Message, "unused key "))
			if strict {
				p.Severity = SeverityError
			}
		}
		if e.Marker.StartP != nil {
			p.Line, p.Column = int(e.Marker.StartP.Line), int(e.Marker.StartP.Column)
		}
		ps = append(ps, p)
	}
	return ps, unknown
}

func hasErrors(ps []Problem) bool {
	for _, p := range ps {
		if p.Severity == SeverityError {
			return true
		}
	}
	return false
}

// lineCol turns a byte offset into 1-based line and column.
func lineCol(raw []byte, off int64) (line, col int) {
	if off > int64(len(raw)) {
		off = int64(len(raw))
	}
	line, col = 1, 1
	for _, c := range raw[:off] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// typeProblem explains a JSON type mismatch (a string where Ignition wants
// an integer mode, say) by JSON path. Ignition's report only says "json";
// encoding/json knows the field path and the offset.
func typeProblem(raw []byte, err error) (Problem, bool) {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return Problem{}, false
	}
	p := Problem{Severity: SeverityError, Path: "$"}
	if te.Field != "" {
		// encoding/json names embedded structs by their Go type
		// (FileEmbedded1, Node); JSON keys are lower camel case.
		for _, part := range strings.Split(te.Field, ".") {
			if part != "" && !(part[0] >= 'A' && part[0] <= 'Z') {
				p.Path += "." + part
			}
		}
	}
	p.Message = fmt.Sprintf("wrong type: expected %s, got JSON %s", te.Type, te.Value)
	p.Line, p.Column = lineCol(raw, te.Offset)
	return p, true
}

// Validate checks raw with Ignition's own validator for its spec version and
// returns every problem (errors and warnings) by JSON path. The error is
// non-nil only when raw cannot be validated at all (malformed JSON, an
// unsupported version); an invalid config yields problems and a nil error.
func Validate(raw []byte) ([]Problem, error) {
	c, err := Parse(raw, AllowUnknownFields())
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.Problems, nil
	}
	if err != nil {
		return nil, err
	}
	return c.Warnings(), nil
}
