package ignition_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/okvm/okvm/ignition"
	"github.com/okvm/okvm/ignition/ignitiontest"
)

func TestDeadlineFromBootstrap(t *testing.T) {
	nb := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, enc := range []string{ignitiontest.EncodingBase64, ignitiontest.EncodingPercent, ignitiontest.EncodingGzip} {
		t.Run(enc, func(t *testing.T) {
			raw, err := ignitiontest.Bootstrap(ignitiontest.BootstrapOptions{
				Seed: 9, NotBefore: nb, CertLifetime: 30 * 24 * time.Hour, CertEncoding: enc, Size: 1,
				Lifetimes: map[string]time.Duration{"aggregator-client": 10 * time.Hour, "kubelet-signer": 9 * time.Hour},
			})
			if err != nil {
				t.Fatal(err)
			}
			d, err := ignition.ReadDeadline(raw)
			if err != nil {
				t.Fatal(err)
			}
			if want := nb.Add(9 * time.Hour); !d.Hard.Equal(want) || d.HardCert.Path != "/opt/openshift/tls/kubelet-signer.crt" {
				t.Errorf("hard %s by %s, want %s by kubelet-signer", d.Hard, d.HardCert.Path, want)
			}
			if want := nb.Add(9 * time.Hour / 2); !d.Soft.Equal(want) || d.SoftCert.Path != "/opt/openshift/tls/kubelet-signer.crt" {
				t.Errorf("soft %s by %s, want %s", d.Soft, d.SoftCert.Path, want)
			}
			if len(d.Certs) != len(ignitiontest.CertNames()) {
				t.Errorf("%d certs, want %d", len(d.Certs), len(ignitiontest.CertNames()))
			}
		})
	}
}

// TestDeadlineSoftAndHardFromDifferentCerts: a certificate issued earlier
// with a longer life can reach its half-life first while another expires
// first; each deadline names its own certificate.
func TestDeadlineSoftAndHardFromDifferentCerts(t *testing.T) {
	T := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	a, err := ignitiontest.NewCluster(ignitiontest.BootstrapOptions{Seed: 2, NotBefore: T, Size: 1,
		Lifetimes: map[string]time.Duration{"aggregator-client": 20 * time.Hour}}) // hard T+20h, half T+10h
	if err != nil {
		t.Fatal(err)
	}
	older, err := ignitiontest.NewCluster(ignitiontest.BootstrapOptions{Seed: 3, NotBefore: T.Add(-10 * time.Hour), Size: 1,
		Lifetimes: map[string]time.Duration{"kubelet-signer": 36 * time.Hour}}) // hard T+26h, half T+8h
	if err != nil {
		t.Fatal(err)
	}
	extra, _ := older.Cert("kubelet-signer")
	res, err := ignition.PatchConfig(a.Bootstrap, []ignition.Patch{ignition.File{Path: "/opt/openshift/tls/extra.crt", Contents: extra.PEM}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := ignition.ReadDeadline(res.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Hard.Equal(T.Add(20*time.Hour)) || d.HardCert.Path != "/opt/openshift/tls/aggregator-client.crt" {
		t.Errorf("hard %s by %s", d.Hard, d.HardCert.Path)
	}
	if !d.Soft.Equal(T.Add(8*time.Hour)) || d.SoftCert.Path != "/opt/openshift/tls/extra.crt" {
		t.Errorf("soft %s by %s", d.Soft, d.SoftCert.Path)
	}
}

func TestDeadlineErrors(t *testing.T) {
	cases := []struct {
		name     string
		raw      string
		sentinel error
		want     string
	}{
		{"no certs", `{"ignition":{"version":"3.2.0"}}`, ignition.ErrNoCertificates, "/opt/openshift/tls/"},
		{"not pem", `{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/opt/openshift/tls/x.crt","contents":{"source":"data:,hello"}}]}}`, ignition.ErrCertificate, "/opt/openshift/tls/x.crt"},
		{"key not cert", `{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/opt/openshift/tls/x.crt","contents":{"source":"data:,-----BEGIN%20PRIVATE%20KEY-----%0AAAAA%0A-----END%20PRIVATE%20KEY-----%0A"}}]}}`, ignition.ErrCertificate, "PRIVATE KEY"},
		{"remote", `{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/opt/openshift/tls/x.crt","contents":{"source":"https://example.com/x.crt"}}]}}`, ignition.ErrCertificate, "not a data URL"},
		{"bad gzip", `{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/opt/openshift/tls/x.crt","contents":{"compression":"gzip","source":"data:,notgzip"}}]}}`, ignition.ErrDataURL, "/opt/openshift/tls/x.crt"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ignition.ReadDeadline([]byte(c.raw))
			if !errors.Is(err, c.sentinel) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want %v mentioning %q", err, c.sentinel, c.want)
			}
		})
	}
}

func TestPointerConfigHasNoDeadline(t *testing.T) {
	if _, err := ignition.ReadDeadline(pointer(t)); !errors.Is(err, ignition.ErrNoCertificates) {
		t.Errorf("err = %v", err)
	}
}
