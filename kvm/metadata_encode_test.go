package kvm

import (
	"encoding/xml"
	"math/rand"
	"sort"
	"strings"
	"testing"
)

// encodeMetaRef is the encoder-per-call version encodeMeta replaced.
func encodeMetaRef(labels map[string]string, hash string) (string, error) {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	e := xml.NewEncoder(&b)
	root := xml.Name{Local: "okvm:labels"}
	toks := []xml.Token{xml.StartElement{Name: root, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns:okvm"}, Value: MetadataNS}}}}
	if hash != "" {
		n := xml.Name{Local: "okvm:spec"}
		toks = append(toks, xml.StartElement{Name: n, Attr: []xml.Attr{{Name: xml.Name{Local: "hash"}, Value: hash}}}, xml.EndElement{Name: n})
	}
	for _, k := range keys {
		n := xml.Name{Local: "okvm:label"}
		toks = append(toks, xml.StartElement{Name: n, Attr: []xml.Attr{
			{Name: xml.Name{Local: "key"}, Value: k}, {Name: xml.Name{Local: "value"}, Value: labels[k]}}},
			xml.EndElement{Name: n})
	}
	toks = append(toks, xml.EndElement{Name: root})
	for _, t := range toks {
		if err := e.EncodeToken(t); err != nil {
			return "", err
		}
	}
	if err := e.Flush(); err != nil {
		return "", err
	}
	return b.String(), nil
}

func TestEncodeMetaMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	vals := []string{"", "lab", "a<b>&\"c'", "tab\tnl\ncr\r", "\x00\x01\xff", "ünï", "]]>", strings.Repeat("x", 5000)}
	for range 3000 {
		labels := map[string]string(nil)
		if r.Intn(3) > 0 {
			labels = map[string]string{}
			for n := r.Intn(12); n > 0; n-- {
				labels[vals[r.Intn(len(vals))]+string(rune('a'+r.Intn(26)))] = vals[r.Intn(len(vals))]
			}
		}
		hash := []string{"", "sha256:00ff"}[r.Intn(2)]
		got, err := encodeMeta(labels, hash)
		want, werr := encodeMetaRef(labels, hash)
		if got != want || (err == nil) != (werr == nil) {
			t.Fatalf("encodeMeta(%q, %q) = %q, %v; want %q, %v", labels, hash, got, err, want, werr)
		}
	}
}
