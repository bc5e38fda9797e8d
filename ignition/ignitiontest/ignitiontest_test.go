package ignitiontest_test

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	v32 "github.com/coreos/ignition/v2/config/v3_2"

	"github.com/okvm/okvm/ignition/ignitiontest"
)

func TestBootstrapShapeAndDeterminism(t *testing.T) {
	opts := ignitiontest.BootstrapOptions{Seed: 7}
	a, err := ignitiontest.NewCluster(opts)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(a.Bootstrap); n < ignitiontest.DefaultSize || n > ignitiontest.DefaultSize+40<<10 {
		t.Errorf("bootstrap is %d bytes, want ~%d", n, ignitiontest.DefaultSize)
	}
	for name, raw := range map[string][]byte{"bootstrap": a.Bootstrap, "master": a.Master, "worker": a.Worker} {
		_, rpt, err := v32.Parse(raw)
		if err != nil || len(rpt.Entries) > 0 {
			t.Errorf("%s: Ignition 3.2 parser: %v %v", name, err, rpt)
		}
	}
	b, err := ignitiontest.NewCluster(opts)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bootstrap, b.Bootstrap) || !bytes.Equal(a.Master, b.Master) {
		t.Error("same seed gave different bytes")
	}
	c, err := ignitiontest.NewCluster(ignitiontest.BootstrapOptions{Seed: 8})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.RootCA, c.RootCA) {
		t.Error("different seeds gave the same root CA")
	}
}

func TestCertificatesChainAndLifetimes(t *testing.T) {
	nb := time.Date(2027, 3, 4, 5, 6, 7, 0, time.UTC)
	a, err := ignitiontest.NewCluster(ignitiontest.BootstrapOptions{
		Seed: 1, NotBefore: nb, CertLifetime: 30 * 24 * time.Hour,
		Lifetimes: map[string]time.Duration{"aggregator-client": 3 * time.Hour}, Size: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	root, _ := a.Cert("root-ca")
	pool := x509.NewCertPool()
	pool.AddCert(root.Cert)
	mcs, _ := a.Cert("machine-config-server")
	if _, err := mcs.Cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: a.APIIntHost, CurrentTime: nb.Add(time.Hour)}); err != nil {
		t.Errorf("machine-config-server does not verify against root-ca for %s: %v", a.APIIntHost, err)
	}
	blk, _ := pem.Decode(a.RootCA)
	if blk == nil || !bytes.Equal(blk.Bytes, root.Cert.Raw) {
		t.Error("RootCA is not root-ca's PEM")
	}
	want := map[string]time.Duration{
		"aggregator-client": 3 * time.Hour, "kubelet-signer": 30 * 24 * time.Hour,
		"root-ca": ignitiontest.LongLifetime, "kube-control-plane-signer": ignitiontest.YearLifetime,
	}
	for name, d := range want {
		c, ok := a.Cert(name)
		if !ok {
			t.Fatalf("no %s", name)
		}
		if !c.NotBefore.Equal(nb) || !c.NotAfter.Equal(nb.Add(d)) {
			t.Errorf("%s: %s..%s, want %s..%s", name, c.NotBefore, c.NotAfter, nb, nb.Add(d))
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []ignitiontest.BootstrapOptions{
		{Lifetimes: map[string]time.Duration{"no-such-cert": time.Hour}},
		{Lifetimes: map[string]time.Duration{"root-ca": -time.Hour}},
		{CertEncoding: "hex"},
		{ClusterName: "a.b"},
	} {
		if _, err := ignitiontest.Bootstrap(o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

func TestPointerShape(t *testing.T) {
	ca := []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
	for host, want := range map[string]string{
		"api-int.ocp4.example.com": "https://api-int.ocp4.example.com:22623/config/worker",
		"192.168.126.5:22623":      "https://192.168.126.5:22623/config/worker",
	} {
		raw := ignitiontest.Pointer("worker", host, ca)
		c, rpt, err := v32.Parse(raw)
		if err != nil || len(rpt.Entries) > 0 {
			t.Fatalf("%s: %v %v", host, err, rpt)
		}
		if got := *c.Ignition.Config.Merge[0].Source; got != want {
			t.Errorf("merge source %q, want %q", got, want)
		}
		if got := *c.Ignition.Security.TLS.CertificateAuthorities[0].Source; !bytes.HasPrefix([]byte(got), []byte("data:text/plain;charset=utf-8;base64,")) {
			t.Errorf("CA source %q", got)
		}
	}
}
