package ignition

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The bootstrap deadline is read from the certificates, not assumed: the
// installer's short-lived signers have been 1 day (PR #1232) and are one
// month in newer releases, so a hard-coded 24 h is wrong one way or the
// other (reference/okd-upi-lifecycle.md §3.3).

// TLSDir is where openshift-install puts the bootstrap certificates.
const TLSDir = "/opt/openshift/tls/"

var tlsCertRE = regexp.MustCompile(`^/opt/openshift/tls/.*\.crt$`)

// CertInfo identifies one certificate found in a config.
type CertInfo struct {
	Path      string    `json:"path"`  // file in the config
	Index     int       `json:"index"` // position in the file's PEM bundle
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
}

// HalfLife is NotBefore + (NotAfter-NotBefore)/2: the docs' "use within 12
// hours" of a 24-hour certificate, generalized.
func (c CertInfo) HalfLife() time.Time {
	return c.NotBefore.Add(c.NotAfter.Sub(c.NotBefore) / 2)
}

// Deadline says how long a bootstrap config stays usable.
type Deadline struct {
	// Hard is the earliest NotAfter: after it the bootstrap control plane
	// cannot start ("x509: certificate has expired").
	Hard     time.Time `json:"hard"`
	HardCert CertInfo  `json:"hardCert"`
	// Soft is the earliest half-life: boot the bootstrap node before it, or
	// certificate rotation may not finish before Hard.
	Soft     time.Time `json:"soft"`
	SoftCert CertInfo  `json:"softCert"`
	// Certs is every certificate considered, sorted by path then index.
	Certs []CertInfo `json:"certs"`
}

// ReadDeadline parses raw (any 3.x) and computes its Deadline.
func ReadDeadline(raw []byte, opts ...Option) (*Deadline, error) {
	c, err := Parse(raw, opts...)
	if err != nil {
		return nil, err
	}
	return c.Deadline()
}

// Deadline walks every storage file matching /opt/openshift/tls/*.crt,
// decodes its data URL (base64 or percent-encoded, gzip honoured) and
// PEM-decodes every certificate in it. A .crt that is not PEM, holds a
// non-certificate block or a remote source is an error naming the path; a
// config with no such certificate fails with ErrNoCertificates.
func (c *Config) Deadline() (*Deadline, error) {
	var d Deadline
	for i, f := range c.cfg.Storage.Files {
		if !tlsCertRE.MatchString(f.Path) {
			continue
		}
		where := fmt.Sprintf("$.storage.files[%d] %s", i, f.Path)
		if len(f.Append) > 0 {
			return nil, fmt.Errorf("%w: %s: appended contents are not supported", ErrCertificate, where)
		}
		src := deref(f.Contents.Source)
		if !strings.HasPrefix(strings.ToLower(src), "data:") {
			return nil, fmt.Errorf("%w: %s: source is not a data URL (%.30q)", ErrCertificate, where, src)
		}
		data, err := DecodeDataURL(src, deref(f.Contents.Compression))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		certs, err := parsePEMCerts(data)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrCertificate, where, err)
		}
		for j, cert := range certs {
			d.Certs = append(d.Certs, CertInfo{
				Path: f.Path, Index: j,
				Subject: cert.Subject.String(), Issuer: cert.Issuer.String(),
				NotBefore: cert.NotBefore.UTC(), NotAfter: cert.NotAfter.UTC(),
			})
		}
	}
	if len(d.Certs) == 0 {
		return nil, fmt.Errorf("%w: no %s*.crt in the config (is this bootstrap.ign?)", ErrNoCertificates, TLSDir)
	}
	// Stable order, and ties resolved by that order: same config, same answer.
	slices.SortStableFunc(d.Certs, func(a, b CertInfo) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return a.Index - b.Index
	})
	for i, ci := range d.Certs {
		if i == 0 || ci.NotAfter.Before(d.Hard) {
			d.Hard, d.HardCert = ci.NotAfter, ci
		}
		if h := ci.HalfLife(); i == 0 || h.Before(d.Soft) {
			d.Soft, d.SoftCert = h, ci
		}
	}
	return &d, nil
}

func parsePEMCerts(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := data
	for n := 0; ; n++ {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is %q, want CERTIFICATE", n, b.Type)
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %v", n, err)
		}
		out = append(out, cert)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("not PEM: no CERTIFICATE block found")
	}
	return out, nil
}
