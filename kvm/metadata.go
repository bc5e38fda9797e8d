package kvm

import (
	"bytes"
	"encoding/xml"
	"slices"
	"strings"
	"sync"
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
// metaOut (this runs on every Define and was a fifth of the XML cost
// otherwise), through an encoder kept between calls.
func encodeMeta(labels map[string]string, hash string) (string, error) {
	var arr [8]string
	keys := arr[:0]
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	m := metaEncoders.Get().(*metaEncoder)
	m.buf.Reset()
	e := m.enc
	root := xml.Name{Local: "okvm:labels"}
	err := e.EncodeToken(xml.StartElement{Name: root, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns:okvm"}, Value: MetadataNS}}})
	if err == nil && hash != "" {
		n := xml.Name{Local: "okvm:spec"}
		err = e.EncodeToken(xml.StartElement{Name: n, Attr: []xml.Attr{{Name: xml.Name{Local: "hash"}, Value: hash}}})
		if err == nil {
			err = e.EncodeToken(xml.EndElement{Name: n})
		}
	}
	for _, k := range keys {
		if err != nil {
			break
		}
		n := xml.Name{Local: "okvm:label"}
		err = e.EncodeToken(xml.StartElement{Name: n, Attr: []xml.Attr{
			{Name: xml.Name{Local: "key"}, Value: k}, {Name: xml.Name{Local: "value"}, Value: labels[k]}}})
		if err == nil {
			err = e.EncodeToken(xml.EndElement{Name: n})
		}
	}
	if err == nil {
		err = e.EncodeToken(xml.EndElement{Name: root})
	}
	if err == nil {
		err = e.Flush()
	}
	if err != nil {
		// The encoder keeps its error and open elements: not put back.
		return "", err
	}
	s := m.buf.String()
	metaEncoders.Put(m)
	return s, nil
}

type metaEncoder struct {
	buf bytes.Buffer
	enc *xml.Encoder
}

var metaEncoders = sync.Pool{New: func() any {
	m := &metaEncoder{}
	m.enc = xml.NewEncoder(&m.buf)
	return m
}}

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
