package okdtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"sync"
	"time"

	certv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// simCA stands in for kube-controller-manager's kubelet signers.
type simCA struct {
	key     *ecdsa.PrivateKey
	cert    *x509.Certificate
	certPEM []byte
}

func newSimCA() (*simCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("okdtest: CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "okdtest kubelet-signer", OrganizationalUnit: []string{"okvm okdtest"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("okdtest: CA cert: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &simCA{key: key, cert: cert, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// sign issues the certificate an approved kubelet CSR asks for.
func (ca *simCA) sign(c *certv1.CertificateSigningRequest) ([]byte, error) {
	block, _ := pem.Decode(c.Spec.Request)
	if block == nil {
		return nil, fmt.Errorf("no PEM block")
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      req.Subject,
		DNSNames:     req.DNSNames,
		IPAddresses:  req.IPAddresses,
		NotBefore:    now.Add(-5 * time.Minute),
		NotAfter:     now.Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if c.Spec.SignerName == SignerServing {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, req.PublicKey, ca.key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// simEvents is an unbounded event queue: the watch reader only appends, so
// the fake watcher's 100-slot channel never fills while the signer is busy
// calling the API (a full fake channel panics).
type simEvents struct {
	mu    sync.Mutex
	items []*certv1.CertificateSigningRequest
	wake  chan struct{}
}

func (q *simEvents) push(c *certv1.CertificateSigningRequest) {
	q.mu.Lock()
	q.items = append(q.items, c)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *simEvents) take() []*certv1.CertificateSigningRequest {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.items
	q.items = nil
	return out
}

// runSigner watches CSRs: it signs approved kubelet CSRs and tells the
// waiting kubelets. ready gets nil once the watch is established.
func (s *Sim) runSigner(ctx context.Context, ready chan<- error) {
	api := s.kube.CertificatesV1().CertificateSigningRequests()
	w, err := api.Watch(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		ready <- fmt.Errorf("okdtest: watch CSRs: %w", err)
		return
	}
	ready <- nil
	q := &simEvents{wake: make(chan struct{}, 1)}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-q.wake:
				for _, c := range q.take() {
					s.handleCSR(ctx, c)
				}
			}
		}
	})
	defer wg.Wait()
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.ResultChan():
			if !ok {
				return
			}
			if c, isCSR := ev.Object.(*certv1.CertificateSigningRequest); isCSR && (ev.Type == watch.Added || ev.Type == watch.Modified) {
				q.push(c)
			}
		}
	}
}

func (s *Sim) handleCSR(ctx context.Context, c *certv1.CertificateSigningRequest) {
	switch {
	case len(c.Status.Certificate) > 0:
		s.notify(c.Name, nil)
	case simCSRDenied(c):
		s.notify(c.Name, fmt.Errorf("%w: %s", ErrCSRDenied, c.Name))
	case simCSRApproved(c) && (c.Spec.SignerName == SignerClient || c.Spec.SignerName == SignerServing):
		pemCert, err := s.ca.sign(c)
		if err != nil {
			s.cfg.log.Warn("simulated signer failed", "csr", c.Name, "err", err)
			return
		}
		c = c.DeepCopy()
		c.Status.Certificate = pemCert
		if _, err := s.kube.CertificatesV1().CertificateSigningRequests().UpdateStatus(ctx, c, metav1.UpdateOptions{}); err != nil && ctx.Err() == nil {
			s.cfg.log.Warn("simulated signer: update status", "csr", c.Name, "err", err)
		}
		// The update comes back as a Modified event with the certificate.
	}
}

func (s *Sim) notify(name string, err error) {
	s.mu.Lock()
	w, ok := s.waiters[name]
	delete(s.waiters, name)
	s.mu.Unlock()
	if ok {
		w <- err // buffered 1; each waiter is told once
	}
}

func simCSRApproved(c *certv1.CertificateSigningRequest) bool {
	for _, cond := range c.Status.Conditions {
		if cond.Type == certv1.CertificateApproved && cond.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
