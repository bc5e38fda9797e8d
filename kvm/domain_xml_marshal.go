package kvm

import (
	"bytes"
	"encoding/xml"
	"sync"

	"libvirt.org/go/libvirtxml"
)

// domainEncoder is libvirtxml's (*Domain).Marshal — xml.MarshalIndent(d,
// "", "  ") — on an encoder and buffer that are kept between calls, so a
// marshal does not allocate a fresh 4 KiB bufio.Writer and regrow its output
// buffer every time. The bytes are the same: the tree is still encoded by
// encoding/xml through libvirtxml's own MarshalXML methods; only the
// encoder is reused.
type domainEncoder struct {
	buf bytes.Buffer
	enc *xml.Encoder
}

var domainEncoders = sync.Pool{New: func() any {
	e := &domainEncoder{}
	e.enc = xml.NewEncoder(&e.buf)
	e.enc.Indent("", "  ")
	return e
}}

// marshalDomain returns exactly what d.Marshal() returns.
func marshalDomain(d *libvirtxml.Domain) (string, error) {
	e := domainEncoders.Get().(*domainEncoder)
	e.buf.Reset()
	if err := e.enc.Encode(d); err != nil {
		// An encoder that failed keeps its error and half-open elements:
		// it is not put back.
		return "", err
	}
	b := e.buf.Bytes()
	// An indenting encoder that has written a document starts the next one
	// with a newline; MarshalIndent's fresh encoder does not. A domain
	// document itself never starts with one (it starts with <domain).
	if len(b) > 0 && b[0] == '\n' {
		b = b[1:]
	}
	s := string(b)
	if e.buf.Cap() <= 64<<10 { // do not pin a huge buffer in the pool
		domainEncoders.Put(e)
	}
	return s, nil
}
