package ignition

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"regexp"
)

// TrustedCA adds CA certificates to the node's system trust store:
// /etc/pki/ca-trust/source/anchors/<Name>.pem (0644). Fedora/CentOS CoreOS
// run update-ca-trust at boot when anchors are present. (This is the OS
// trust; Ignition's own ignition.security.tls is never touched, so a
// pointer config keeps exactly the CA openshift-install put there.)
type TrustedCA struct {
	Name string `json:"name"` // file name without .pem, e.g. "corp-proxy-ca"
	PEM  []byte `json:"pem"`  // one or more CERTIFICATE blocks
}

var caNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$`)

// Path is where the bundle goes.
func (t TrustedCA) Path() string { return "/etc/pki/ca-trust/source/anchors/" + t.Name + ".pem" }

// Validate requires at least one PEM CERTIFICATE block, each a parseable
// x509 certificate, and nothing else.
func (t TrustedCA) Validate() error {
	if !caNameRE.MatchString(t.Name) {
		return fmt.Errorf("%w: name %q: want letters, digits, '.', '_' or '-'", ErrBadPatch, t.Name)
	}
	rest, n := t.PEM, 0
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return fmt.Errorf("%w: %s: PEM block %d is %q, want CERTIFICATE", ErrBadPatch, t.Name, n, b.Type)
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return fmt.Errorf("%w: %s: certificate %d: %v", ErrBadPatch, t.Name, n, err)
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("%w: %s: no PEM CERTIFICATE block", ErrBadPatch, t.Name)
	}
	return nil
}

func (t TrustedCA) apply(e *editor) error {
	return e.putFile(fileEntry{path: t.Path(), mode: 0o644, contents: t.PEM})
}
