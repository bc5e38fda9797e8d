package okd

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
)

// csrMaxRequestBytes bounds spec.request before any parsing. A kubelet CSR
// is well under 2 KiB; the API server caps objects far higher, so the bound
// only keeps a hostile request from costing the approver time.
const csrMaxRequestBytes = 64 << 10

// csrMinRSABits and csrMaxRSABits bound RSA keys. The reference (§4.3 step 1)
// asks for RSA ≥ 2048; the upper bound is ours: signature checks on huge RSA
// moduli are slow, and no kubelet generates them (its key is ECDSA P-256).
const (
	csrMinRSABits = 2048
	csrMaxRSABits = 8192
)

// csrParseRequest decodes spec.request (reference §4.3 step 1): exactly one
// PEM block of type "CERTIFICATE REQUEST" (whitespace around it is fine,
// anything else is not), an acceptable key, and a valid self-signature.
// The key is checked before the signature so that a weak key is reported as
// such, and so that no signature is verified on a key we would refuse anyway.
func csrParseRequest(raw []byte) (*x509.CertificateRequest, *CSRRejectedError) {
	if len(raw) == 0 {
		return nil, csrReject(CSRCheckPEM, "spec.request is empty")
	}
	if len(raw) > csrMaxRequestBytes {
		return nil, csrReject(CSRCheckPEM, "spec.request is %d bytes, more than %d", len(raw), csrMaxRequestBytes)
	}
	block, rest := pem.Decode(raw)
	if block == nil {
		return nil, csrReject(CSRCheckPEM, "spec.request holds no PEM block")
	}
	if block.Type != "CERTIFICATE REQUEST" {
		return nil, csrReject(CSRCheckPEM, "PEM block type is %q, want \"CERTIFICATE REQUEST\"", block.Type)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, csrReject(CSRCheckPEM, "%d bytes follow the PEM block", len(rest))
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, csrReject(CSRCheckPEM, "parse: %v", err)
	}
	if rej := csrCheckKey(req); rej != nil {
		return nil, rej
	}
	if err := req.CheckSignature(); err != nil {
		return nil, csrReject(CSRCheckSignature, "%v", err)
	}
	return req, nil
}

// csrCheckKey accepts ECDSA P-256 (what client-go's certificate manager
// generates for the kubelet, reference §4.1) and RSA 2048..8192 bits.
func csrCheckKey(req *x509.CertificateRequest) *CSRRejectedError {
	switch k := req.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return csrReject(CSRCheckKey, "ECDSA curve %s, want P-256", k.Curve.Params().Name)
		}
		return nil
	case *rsa.PublicKey:
		bits := k.N.BitLen()
		if bits < csrMinRSABits || bits > csrMaxRSABits {
			return csrReject(CSRCheckKey, "RSA key of %d bits, want %d..%d", bits, csrMinRSABits, csrMaxRSABits)
		}
		return nil
	default:
		return csrReject(CSRCheckKey, "key type %T, want ECDSA P-256 or RSA", req.PublicKey)
	}
}
