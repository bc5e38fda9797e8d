package okdtest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"time"

	certv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// What a kubelet's TLS bootstrap sends, written out from the reference
// (okd-upi-lifecycle.md §4.1) rather than taken from package okd, so that a
// mistake in the approver's constants cannot hide behind the same mistake
// here.
const (
	SignerClient  = "kubernetes.io/kube-apiserver-client-kubelet"
	SignerServing = "kubernetes.io/kubelet-serving"
	// BootstrapperUser files the client CSR, with the bootstrap kubeconfig.
	BootstrapperUser = "system:serviceaccount:openshift-machine-config-operator:node-bootstrapper"
)

// BootstrapperGroups are the groups the API server attaches to BootstrapperUser.
func BootstrapperGroups() []string {
	return []string{"system:serviceaccounts:openshift-machine-config-operator", "system:serviceaccounts", "system:authenticated"}
}

// NodeGroups are the groups of a kubelet authenticated with its client cert.
func NodeGroups() []string { return []string{"system:nodes", "system:authenticated"} }

// CSRSpec describes one CertificateSigningRequest to build. ClientCSR and
// ServingCSR fill it the way a kubelet does; tests then break one field.
type CSRSpec struct {
	Name         string // metadata.name; "" → csr-<random>
	SignerName   string
	Username     string
	Groups       []string
	Usages       []certv1.KeyUsage
	CommonName   string
	Organization []string
	DNSNames     []string
	IPs          []netip.Addr
	Emails       []string
	URIs         []*url.URL
	// Key signs the request; nil → a fresh ECDSA P-256 key, like the
	// kubelet's certificate manager.
	Key crypto.Signer
	// Created becomes metadata.creationTimestamp. The fake clientset sets
	// none, so the simulator sets it from its clock, as an API server would.
	Created time.Time
	// PEM, when not nil, is used verbatim as spec.request (garbage input).
	PEM []byte
}

// ClientCSR is the first CSR of a booting node: CN=system:node:<node>,
// O=system:nodes, no SANs, requested by the node-bootstrapper.
func ClientCSR(node string) CSRSpec {
	return CSRSpec{
		SignerName:   SignerClient,
		Username:     BootstrapperUser,
		Groups:       BootstrapperGroups(),
		Usages:       []certv1.KeyUsage{certv1.UsageDigitalSignature, certv1.UsageClientAuth},
		CommonName:   "system:node:" + node,
		Organization: []string{"system:nodes"},
	}
}

// ServingCSR is the kubelet's serving CSR, requested as the node itself,
// with the node's names and addresses as SANs.
func ServingCSR(node string, dnsNames []string, ips []netip.Addr) CSRSpec {
	return CSRSpec{
		SignerName:   SignerServing,
		Username:     "system:node:" + node,
		Groups:       NodeGroups(),
		Usages:       []certv1.KeyUsage{certv1.UsageDigitalSignature, certv1.UsageServerAuth},
		CommonName:   "system:node:" + node,
		Organization: []string{"system:nodes"},
		DNSNames:     append([]string(nil), dnsNames...),
		IPs:          append([]netip.Addr(nil), ips...),
	}
}

// Request returns the PEM-encoded x509 request of s (or s.PEM verbatim).
func (s CSRSpec) Request() ([]byte, error) {
	if s.PEM != nil {
		return s.PEM, nil
	}
	key := s.Key
	if key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("okdtest: generate key: %w", err)
		}
		key = k
	}
	tmpl := &x509.CertificateRequest{
		Subject:        pkix.Name{CommonName: s.CommonName, Organization: s.Organization},
		DNSNames:       s.DNSNames,
		EmailAddresses: s.Emails,
		URIs:           s.URIs,
	}
	for _, ip := range s.IPs {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(ip.AsSlice()))
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, fmt.Errorf("okdtest: create certificate request: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// Build returns the CSR object for s.
func (s CSRSpec) Build() (*certv1.CertificateSigningRequest, error) {
	req, err := s.Request()
	if err != nil {
		return nil, err
	}
	name := s.Name
	if name == "" {
		name = RandomCSRName()
	}
	return &certv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(s.Created)},
		Spec: certv1.CertificateSigningRequestSpec{
			Request:    req,
			SignerName: s.SignerName,
			Username:   s.Username,
			Groups:     s.Groups,
			Usages:     s.Usages,
		},
	}, nil
}

// Create builds s and files it through client.
func (s CSRSpec) Create(ctx context.Context, client kubernetes.Interface) (*certv1.CertificateSigningRequest, error) {
	csr, err := s.Build()
	if err != nil {
		return nil, err
	}
	out, err := client.CertificatesV1().CertificateSigningRequests().Create(ctx, csr, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("okdtest: create CSR %s: %w", csr.Name, err)
	}
	return out, nil
}

// RandomCSRName returns a name shaped like the API server's generateName
// for CSRs ("csr-" + 5 random characters; here hex, 10 of them).
func RandomCSRName() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return "csr-" + hex.EncodeToString(b[:])
}

// CorruptSignature returns a copy of a PEM CSR whose last signature byte is
// flipped: it still parses, but CheckSignature fails.
func CorruptSignature(pemCSR []byte) ([]byte, error) {
	block, _ := pem.Decode(pemCSR)
	if block == nil {
		return nil, fmt.Errorf("okdtest: no PEM block")
	}
	der := append([]byte(nil), block.Bytes...)
	der[len(der)-1] ^= 0x01
	return pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: der}), nil
}
