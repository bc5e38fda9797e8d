package ignition

import (
	"bytes"
	"reflect"
	"strings"
	"sync"
)

// Unknown-key detection for the fast path.
//
// Ignition reports keys its types do not define (exact, case-sensitive
// match), using a second full parse that builds a position tree. The fast
// path instead decodes with json.Unmarshal (which has already checked the
// syntax) and then walks the raw bytes once against the schema of the
// version's types. Strings — nearly all of a bootstrap config, in data
// URLs — are skipped at memchr speed. Any doubt (an escaped key, a shape
// the schema does not expect) answers "unknown" and sends Parse to
// Ignition's own parser, which has the final word.

type schemaNode struct {
	fields map[string]*schemaNode // JSON object: known keys (structs)
	elem   *schemaNode            // JSON array: element schema (slices)
}

var schemas sync.Map // reflect.Type -> *schemaNode

func schemaOf(t reflect.Type) *schemaNode {
	if s, ok := schemas.Load(t); ok {
		return s.(*schemaNode)
	}
	s := buildSchema(t)
	schemas.Store(t, s)
	return s
}

func buildSchema(t reflect.Type) *schemaNode {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		n := &schemaNode{fields: map[string]*schemaNode{}}
		addFields(n, t)
		return n
	case reflect.Slice:
		return &schemaNode{elem: buildSchema(t.Elem())}
	default:
		return &schemaNode{} // leaf
	}
}

func addFields(n *schemaNode, t reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addFields(n, ft)
				continue
			}
		}
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		n.fields[name] = buildSchema(f.Type)
	}
}

// keyScanner walks syntactically valid JSON.
type keyScanner struct {
	b []byte
	i int
}

// knownKeys reports whether every object key in raw (valid JSON) is a field
// of the schema at its position.
func knownKeys(raw []byte, root *schemaNode) bool {
	s := keyScanner{b: raw}
	if !s.value(root) {
		return false
	}
	s.ws()
	return s.i == len(s.b)
}

func (s *keyScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// str skips a string starting at s.i ('"') and returns its raw contents
// and whether it contained escapes.
func (s *keyScanner) str() (raw []byte, escaped, ok bool) {
	start := s.i + 1
	j := start
	for {
		k := bytes.IndexByte(s.b[j:], '"')
		if k < 0 {
			return nil, false, false
		}
		end := j + k
		// Count the backslashes just before the quote: odd means escaped.
		n := 0
		for p := end - 1; p >= start && s.b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			body := s.b[start:end]
			s.i = end + 1
			return body, escaped || bytes.IndexByte(body, '\\') >= 0, true
		}
		escaped = true
		j = end + 1
	}
}

func (s *keyScanner) value(n *schemaNode) bool {
	s.ws()
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '{':
		if n == nil || n.fields == nil {
			return false
		}
		s.i++
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == '}' {
			s.i++
			return true
		}
		for {
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != '"' {
				return false
			}
			key, escaped, ok := s.str()
			if !ok || escaped {
				return false
			}
			child, known := n.fields[string(key)]
			if !known {
				return false
			}
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				return false
			}
			s.i++
			if !s.value(child) {
				return false
			}
			s.ws()
			if s.i >= len(s.b) {
				return false
			}
			switch s.b[s.i] {
			case ',':
				s.i++
			case '}':
				s.i++
				return true
			default:
				return false
			}
		}
	case '[':
		if n == nil || n.elem == nil {
			return false
		}
		s.i++
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			return true
		}
		for {
			if !s.value(n.elem) {
				return false
			}
			s.ws()
			if s.i >= len(s.b) {
				return false
			}
			switch s.b[s.i] {
			case ',':
				s.i++
			case ']':
				s.i++
				return true
			default:
				return false
			}
		}
	case '"':
		_, _, ok := s.str()
		return ok
	default: // number, true, false, null
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return true
			}
			s.i++
		}
		return true
	}
}
