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

// Encoding uses a literal prefix (encoding/xml cannot choose one), decoding
// matches the namespace, whatever prefix libvirt writes back.
type metaOut struct {
	XMLName xml.Name   `xml:"okvm:labels"`
	NS      string     `xml:"xmlns:okvm,attr"`
	Spec    *specOut   `xml:"okvm:spec,omitempty"`
	Labels  []labelOut `xml:"okvm:label"`
}

type specOut struct {
	Hash string `xml:"hash,attr"`
}

type labelOut struct {
	Key   string `xml:"key,attr"`
	Value string `xml:"value,attr"`
}

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
// the XML is deterministic).
func encodeMeta(labels map[string]string, hash string) (string, error) {
	m := metaOut{NS: MetadataNS}
	if hash != "" {
		m.Spec = &specOut{Hash: hash}
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m.Labels = append(m.Labels, labelOut{Key: k, Value: labels[k]})
	}
	b, err := xml.Marshal(m)
	return string(b), err
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
