package kvm

import (
	"encoding/xml"
	"sort"
	"strings"
)

// MetadataNS is the XML namespace of okvm's element in a domain's (or
// network's) <metadata>. libvirt keeps foreign-namespace metadata verbatim,
// so labels and the spec hash survive in the persistent definition.
const MetadataNS = "https://okvm.dev/xmlns/labels/1"

// Decoding matches the namespace, whatever prefix libvirt writes back.
type metaIn struct {
	XMLName xml.Name `xml:"https://okvm.dev/xmlns/labels/1 labels"`
	Spec    *struct {
		Hash string `xml:"hash,attr"`
	} `xml:"https://okvm.dev/xmlns/labels/1 spec"`
	Labels []struct {
		Key   string `xml:"key,attr"`
		Value string `xml:"value,attr"`
	} `xml:"https://okvm.dev/xmlns/labels/1 label"`
}

// encodeMeta renders the okvm metadata element (labels sorted by key, so
// the XML is deterministic). It streams tokens rather than reflecting over
// metaOut: this runs on every Define and is a fifth of the XML cost
// otherwise.
func encodeMeta(labels map[string]string, hash string) (string, error) {
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

// decodeMeta finds okvm's element in the inner XML of a <metadata> and
// returns its labels and spec hash; ok is false when there is none (a
// domain okvm did not create).
func decodeMeta(inner string) (labels map[string]string, hash string, ok bool) {
	if !strings.Contains(inner, MetadataNS) {
		return nil, "", false
	}
	d := xml.NewDecoder(strings.NewReader(inner))
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, "", false
		}
		se, isStart := tok.(xml.StartElement)
		if !isStart || se.Name.Space != MetadataNS || se.Name.Local != "labels" {
			continue
		}
		var m metaIn
		if err := d.DecodeElement(&m, &se); err != nil {
			return nil, "", false
		}
		labels = make(map[string]string, len(m.Labels))
		for _, l := range m.Labels {
			labels[l.Key] = l.Value
		}
		if m.Spec != nil {
			hash = m.Spec.Hash
		}
		return labels, hash, true
	}
}
