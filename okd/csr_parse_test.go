package okd

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	certv1 "k8s.io/api/certificates/v1"
)

func csrTestPEM(t testing.TB, key any) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "system:node:worker-0", Organization: []string{"system:nodes"}},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func TestCSRParseRequest(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	good := csrTestPEM(t, p256)
	for _, tc := range []struct {
		name  string
		raw   []byte
		check CSRCheck // "" = accepted
	}{
		{"ecdsa p256", good, ""},
		{"leading and trailing whitespace", append(append([]byte("\n\n"), good...), "\n \n"...), ""},
		{"empty", nil, CSRCheckPEM},
		{"too big", make([]byte, csrMaxRequestBytes+1), CSRCheckPEM},
		{"ed25519 key", csrTestPEM(t, edKey), CSRCheckKey},
		{"trailing garbage", append(append([]byte{}, good...), "junk"...), CSRCheckPEM},
	} {
		_, rej := csrParseRequest(tc.raw)
		switch {
		case tc.check == "" && rej != nil:
			t.Errorf("%s: rejected: %v", tc.name, rej)
		case tc.check != "" && (rej == nil || rej.Check != tc.check):
			t.Errorf("%s: got %v, want check %q", tc.name, rej, tc.check)
		}
	}
}

// TestCSRParseTestdata runs the stored fixtures in testdata/csr: files named
// ok-*.pem must parse, bad-<check>-*.pem must fail on <check>.
func TestCSRParseTestdata(t *testing.T) {
	files, _ := filepath.Glob("testdata/csr/*.pem")
	if len(files) == 0 {
		t.Skip("no fixtures")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Base(f)
		_, rej := csrParseRequest(raw)
		if strings.HasPrefix(base, "ok-") {
			if rej != nil {
				t.Errorf("%s: %v", base, rej)
			}
			continue
		}
		want, _, _ := strings.Cut(strings.TrimPrefix(base, "bad-"), "-")
		if rej == nil || string(rej.Check) != want {
			t.Errorf("%s: got %v, want check %q", base, rej, want)
		}
	}
}

// FuzzCSRParseRequest: no input may panic the parser, and whatever it
// accepts must really be a P-256 or RSA 2048..8192 request with a valid
// signature.
func FuzzCSRParseRequest(f *testing.F) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.Add(csrTestPEM(f, p256))
	f.Add([]byte("-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\n"))
	f.Add([]byte{})
	files, _ := filepath.Glob("testdata/csr/*.pem")
	for _, fn := range files {
		if raw, err := os.ReadFile(fn); err == nil {
			f.Add(raw)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		req, rej := csrParseRequest(raw)
		if rej != nil {
			if req != nil {
				t.Fatal("request returned with a rejection")
			}
			return
		}
		if err := req.CheckSignature(); err != nil {
			t.Fatalf("accepted a request whose signature fails: %v", err)
		}
		if csrCheckKey(req) != nil {
			t.Fatal("accepted a weak key")
		}
	})
}

// BenchmarkCSRChecks is the CPU cost of judging one client CSR without the
// API: PEM decode, x509 parse, P-256 signature check, static checks.
func BenchmarkCSRChecks(b *testing.B) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr := &certv1.CertificateSigningRequest{Spec: certv1.CertificateSigningRequestSpec{
		Request:    csrTestPEM(b, key),
		SignerName: certv1.KubeAPIServerClientKubeletSignerName,
		Username:   csrBootstrapperUser,
		Groups:     csrBootstrapperGroups,
		Usages:     csrClientUsages[0],
	}}
	exp := map[string]csrExpectedNode{"worker-0": csrCompileExpected(ExpectedNode{Name: "worker-0", CreatedAt: time.Now()})}
	b.ReportAllocs()
	for b.Loop() {
		req, rej := csrParseRequest(csr.Spec.Request)
		if rej != nil {
			b.Fatal(rej)
		}
		if _, rej := csrCheckClientStatic(csr, req, exp); rej != nil {
			b.Fatal(rej)
		}
	}
}
