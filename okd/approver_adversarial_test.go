package okd_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/netip"
	"net/url"
	"slices"
	"testing"
	"time"

	certv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/okvm/okvm/okd"
	"github.com/okvm/okvm/okd/okdtest"
)

// advEnv is one adversarial case's world: an allow-list of worker-0 (the
// target) and worker-1 (the canary), both created at t0.
type advEnv struct {
	sim *okdtest.Sim
	t0  time.Time
	w0  okdtest.SimNode
}

func (e advEnv) serving() okdtest.CSRSpec {
	s := okdtest.ServingCSR(e.w0.Name, []string{e.w0.FQDN, e.w0.ShortName}, e.w0.IPs)
	s.Created = e.t0.Add(time.Minute)
	return s
}

func (e advEnv) client() okdtest.CSRSpec {
	s := okdtest.ClientCSR(e.w0.Name)
	s.Created = e.t0.Add(30 * time.Second)
	return s
}

func createNode(t *testing.T, e advEnv, name string) {
	t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := e.sim.Kube().CoreV1().Nodes().Create(context.Background(), n, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// must unwraps (value, error) for test setup; setup failures panic, which
// fails the test with a stack.
func must[K any](k K, err error) K {
	if err != nil {
		panic(err)
	}
	return k
}

// waitDecision waits for the first decision on CSR name.
func waitDecision(t *testing.T, got *decisions, name string) okd.Decision {
	t.Helper()
	var d okd.Decision
	waitFor(t, "a decision on "+name, func() bool {
		for _, x := range got.snapshot() {
			if x.CSR == name {
				d = x
				return true
			}
		}
		return false
	})
	return d
}

// TestApproverAdversarial files one hostile CSR per case, then a legitimate
// canary CSR for another node. The approver works its queue in order, so
// once the canary is approved the hostile CSR has been judged: it must carry
// the expected failed check, and the clientset must show it neither approved
// nor denied.
func TestApproverAdversarial(t *testing.T) {
	foreign := netip.MustParseAddr("10.66.0.1")
	cases := []struct {
		name  string
		setup func(t *testing.T, e advEnv) // before the hostile CSR
		csr   func(t *testing.T, e advEnv) okdtest.CSRSpec
		check okd.CSRCheck // "" = no decision at all (not a kubelet signer)
	}{
		{"client: wrong node", nil, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.client()
			s.CommonName = "system:node:intruder"
			return s
		}, okd.CSRCheckExpected},
		{"serving: wrong node", nil, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.serving()
			s.Username, s.CommonName = "system:node:intruder", "system:node:intruder"
			return s
		}, okd.CSRCheckExpected},
		{"serving: extra DNS SAN", withNode, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.serving()
			s.DNSNames = append(s.DNSNames, "api.ocp4.example.com")
			return s
		}, okd.CSRCheckSANs},
		{"serving: another node's DNS name", withNode, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.serving()
			s.DNSNames = []string{"worker-1.ocp4.example.com"}
			return s
		}, okd.CSRCheckSANs},
		{"serving: foreign IP SAN", withNode, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.serving()
			s.IPs = append(s.IPs, foreign)
			return s
		}, okd.CSRCheckSANs},
		{"serving: email SAN", withNode, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.serving()
			s.Emails = []string{"root@worker-0.ocp4.example.com"}
			return s
		}, okd.CSRCheckSANs},
		{"serving: URI SAN", withNode, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.serving()
			s.URIs = []*url.URL{{Scheme: "spiffe", Host: "cluster.local", Path: "/ns/kube-system/sa/admin"}}
			return s
		}, okd.CSRCheckSANs},
		{"client: DNS SAN", nil, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.client()
			s.DNSNames = []string{e.w0.FQDN}
			return s
		}, okd.CSRCheckSANs},
		{"client: wrong usages (server auth)", nil, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.client()
			s.Usages = append(s.Usages, certv1.UsageServerAuth)
			return s
		}, okd.CSRCheckUsages},
		{"serving: wrong usages (client auth)", withNode, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.serving()
			s.Usages = []certv1.KeyUsage{certv1.UsageDigitalSignature, certv1.UsageClientAuth}
			return s
		}, okd.CSRCheckUsages},
		{"wrong signer", nil, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.client()
			s.SignerName = certv1.KubeAPIServerClientSignerName
			return s
		}, ""},
		{"client: wrong groups (system:masters added)", nil, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.client()
			s.Groups = append(s.Groups, "system:masters")
			return s
		}, okd.CSRCheckGroups},
		{"serving: groups lack system:nodes", withNode, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.serving()
			s.Groups = []string{"system:authenticated"}
			return s
		}, okd.CSRCheckGroups},
		{"client: wrong requester", nil, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.client()
			s.Username = "system:serviceaccount:default:default"
			return s
		}, okd.CSRCheckUsername},
		{"serving: requester is not a node", withNode, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.serving()
			s.Username = "kube:admin"
			return s
		}, okd.CSRCheckUsername},
		{"serving: CN differs from requester", withNode, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.serving()
			s.CommonName = "system:node:worker-1"
			return s
		}, okd.CSRCheckCommonName},
		{"client: CN without system:node: prefix", nil, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.client()
			s.CommonName = e.w0.Name
			return s
		}, okd.CSRCheckCommonName},
		{"client: O has system:masters too", nil, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.client()
			s.Organization = []string{"system:nodes", "system:masters"}
			return s
		}, okd.CSRCheckSubject},
		{"serving: O lacks system:nodes", withNode, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.serving()
			s.Organization = []string{"system:masters"}
			return s
		}, okd.CSRCheckSubject},
		{"RSA 1024 key", nil, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.client()
			s.Key = must(rsa.GenerateKey(rand.Reader, 1024))
			return s
		}, okd.CSRCheckKey},
		{"ECDSA P-384 key", nil, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.client()
			s.Key = must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader))
			return s
		}, okd.CSRCheckKey},
		{"bad signature", nil, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.client()
			good := must(s.Request())
			s.PEM = must(okdtest.CorruptSignature(good))
			return s
		}, okd.CSRCheckSignature},
		{"garbage PEM", nil, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.client()
			s.PEM = []byte("-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgY3Ny\n-----END CERTIFICATE REQUEST-----\n")
			return s
		}, okd.CSRCheckPEM},
		{"not PEM at all", nil, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.client()
			s.PEM = []byte("\x00\x01 definitely not a CSR")
			return s
		}, okd.CSRCheckPEM},
		{"PEM type CERTIFICATE", nil, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.client()
			s.PEM = []byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n")
			return s
		}, okd.CSRCheckPEM},
		{"second PEM block smuggled after the CSR", nil, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.client()
			s.PEM = append(must(s.Request()), must(e.client().Request())...)
			return s
		}, okd.CSRCheckPEM},
		{"duplicate client CSR in the same boot", func(t *testing.T, e advEnv) {
			first := must(e.client().Create(context.Background(), e.sim.Kube()))
			waitFor(t, "first client CSR approved", func() bool { return readCSRs(t, e.sim.Kube()).approvedByOKVM[first.Name] })
		}, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			return e.client()
		}, okd.CSRCheckOncePerBoot},
		{"client CSR before the window", nil, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.client()
			s.Created = e.t0.Add(-11 * time.Second)
			return s
		}, okd.CSRCheckWindow},
		{"client CSR after the window", nil, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.client()
			s.Created = e.t0.Add(2*time.Hour + time.Second)
			return s
		}, okd.CSRCheckWindow},
		{"client CSR for a node that already exists", withNode, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			return e.client()
		}, okd.CSRCheckNode},
		{"serving CSR before its Node exists", nil, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			return e.serving()
		}, okd.CSRCheckNode},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newAdvEnv(t)
			_, got := startApprover(t, e.sim.Kube(), e.sim.Expected())
			if tc.setup != nil {
				tc.setup(t, e)
			}
			before := readCSRs(t, e.sim.Kube())
			hostile := must(tc.csr(t, e).Create(context.Background(), e.sim.Kube()))
			canary := okdtest.ClientCSR("worker-1")
			canary.Created = e.t0.Add(time.Second)
			c := must(canary.Create(context.Background(), e.sim.Kube()))
			if tc.check != "" {
				waitDecision(t, got, hostile.Name)
			}
			waitFor(t, "canary approved", func() bool { return readCSRs(t, e.sim.Kube()).approvedByOKVM[c.Name] })

			var ds []okd.Decision
			for _, d := range got.snapshot() {
				if d.CSR == hostile.Name {
					ds = append(ds, d)
				}
			}
			switch {
			case tc.check == "" && len(ds) != 0:
				t.Errorf("decisions on a foreign-signer CSR: %v", ds)
			case tc.check != "" && len(ds) == 0:
				t.Errorf("no decision on the hostile CSR")
			}
			for _, d := range ds {
				if d.Approved || d.Check != tc.check || !errors.Is(d.Err, okd.ErrCSRRejected) {
					t.Errorf("decision %v (err %v), want refusal on check %q", d, d.Err, tc.check)
				}
				var rej *okd.CSRRejectedError
				if !errors.As(d.Err, &rej) || rej.Check != tc.check {
					t.Errorf("Err = %#v, want *CSRRejectedError{Check: %q}", d.Err, tc.check)
				}
			}
			after := readCSRs(t, e.sim.Kube())
			if after.approvedByOKVM[hostile.Name] || len(after.denied) != 0 || len(after.approvedOther) != 0 {
				t.Errorf("hostile %s: approved=%v, denied %v", hostile.Name, after.approvedByOKVM[hostile.Name], after.denied)
			}
			if want := len(before.approvedByOKVM) + 1; len(after.approvedByOKVM) != want {
				t.Errorf("%d CSRs approved, want %d (setup + canary)", len(after.approvedByOKVM), want)
			}
			if !slices.Contains(after.pending, hostile.Name) {
				t.Errorf("hostile CSR %s not left pending: %+v", hostile.Name, after)
			}
		})
	}
}

func withNode(t *testing.T, e advEnv) { createNode(t, e, e.w0.Name) }

func newAdvEnv(t *testing.T) advEnv {
	t.Helper()
	t0 := time.Now().Add(-time.Minute).Truncate(time.Second)
	sim := startSim(t)
	w0 := simNode(okdtest.RoleWorker, 0)
	for _, n := range []okdtest.SimNode{w0, simNode(okdtest.RoleWorker, 1)} {
		n.CreatedAt = t0
		if err := sim.AddNode(n); err != nil {
			t.Fatal(err)
		}
	}
	return advEnv{sim: sim, t0: t0, w0: w0}
}

// TestApproverAcceptsKubeletVariants holds the checks to what kubelets do
// send: legacy key encipherment, an RSA 2048 key, DNS SANs in another case
// with a trailing dot, IPv4-mapped IPv6, a serving CSR without SANs, and
// extra groups on a serving CSR.
func TestApproverAcceptsKubeletVariants(t *testing.T) {
	cases := []struct {
		name     string
		needNode bool
		csr      func(t *testing.T, e advEnv) okdtest.CSRSpec
	}{
		{"client: legacy key encipherment", false, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.client()
			s.Usages = []certv1.KeyUsage{certv1.UsageKeyEncipherment, certv1.UsageDigitalSignature, certv1.UsageClientAuth}
			return s
		}},
		{"client: RSA 2048", false, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.client()
			s.Key = must(rsa.GenerateKey(rand.Reader, 2048))
			return s
		}},
		{"serving: DNS case and trailing dot", true, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.serving()
			s.DNSNames = []string{"WORKER-0.ocp4.Example.COM.", "Worker-0"}
			return s
		}},
		{"serving: legacy usages, extra group", true, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.serving()
			s.Usages = []certv1.KeyUsage{certv1.UsageDigitalSignature, certv1.UsageKeyEncipherment, certv1.UsageServerAuth}
			s.Groups = append(s.Groups, "system:serviceaccounts")
			return s
		}},
		{"serving: no SANs", true, func(t *testing.T, e advEnv) okdtest.CSRSpec {
			s := e.serving()
			s.DNSNames, s.IPs = nil, nil
			return s
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newAdvEnv(t)
			_, got := startApprover(t, e.sim.Kube(), e.sim.Expected())
			if tc.needNode {
				createNode(t, e, e.w0.Name)
			}
			c := must(tc.csr(t, e).Create(context.Background(), e.sim.Kube()))
			if d := waitDecision(t, got, c.Name); !d.Approved || d.Node != e.w0.Name {
				t.Fatalf("decision %v, want approved for %s", d, e.w0.Name)
			}
		})
	}
}

// TestApproverRecoveryMode: a cluster restarted after its certificates
// expired (reference §4.4). The Node exists; only recovery mode approves its
// client CSR, once per boot, and still checks everything else.
func TestApproverRecoveryMode(t *testing.T) {
	e := newAdvEnv(t)
	createNode(t, e, e.w0.Name)
	_, got := startApprover(t, e.sim.Kube(), e.sim.Expected(), okd.WithRecoveryMode(true))
	first := must(e.client().Create(context.Background(), e.sim.Kube()))
	if d := waitDecision(t, got, first.Name); !d.Approved {
		t.Fatalf("recovery client CSR: %v", d)
	}
	second := must(e.client().Create(context.Background(), e.sim.Kube()))
	if d := waitDecision(t, got, second.Name); d.Approved || d.Check != okd.CSRCheckOncePerBoot {
		t.Fatalf("second recovery client CSR: %v", d)
	}
	bad := e.client()
	bad.CommonName = "system:node:intruder"
	hostile := must(bad.Create(context.Background(), e.sim.Kube()))
	if d := waitDecision(t, got, hostile.Name); d.Approved || d.Check != okd.CSRCheckExpected {
		t.Fatalf("recovery, unknown node: %v", d)
	}
}

// TestApproverPendingCap floods the cluster with pending CSRs beyond
// len(expected)+N: the approver then approves nothing, not even a
// legitimate CSR, and denies nothing; once the flood is cleaned up it
// approves the legitimate CSR.
func TestApproverPendingCap(t *testing.T) {
	ctx := context.Background()
	e := newAdvEnv(t)
	// The flood is there when the approver starts (its first list sees it
	// whole); a flood that builds up while it runs is refused from the CSR
	// that crosses the cap on.
	var flood []string
	for i := range 6 {
		// Legitimate-looking client CSRs for an allow-listed node…
		s := okdtest.ClientCSR("worker-1")
		s.Created = e.t0.Add(time.Duration(i) * time.Second)
		flood = append(flood, must(s.Create(ctx, e.sim.Kube())).Name)
	}
	for range 4 {
		// …and CSRs for a signer that is not ours: they count as pending too.
		s := okdtest.ClientCSR("whatever")
		s.SignerName = "example.com/flood"
		flood = append(flood, must(s.Create(ctx, e.sim.Kube())).Name)
	}
	_, got := startApprover(t, e.sim.Kube(), e.sim.Expected(), okd.WithMaxPending(5)) // limit 2+5
	legit := must(e.client().Create(ctx, e.sim.Kube()))
	if d := waitDecision(t, got, legit.Name); d.Approved || d.Check != okd.CSRCheckPendingCap {
		t.Fatalf("legit CSR under flood: %v, want refusal on %q", d, okd.CSRCheckPendingCap)
	}
	st := readCSRs(t, e.sim.Kube())
	if len(st.approvedByOKVM) != 0 || len(st.denied) != 0 || len(st.pending) != 11 {
		t.Fatalf("under flood: approved %v, denied %v, %d pending; want none approved, none denied, 11 pending", st.approvedByOKVM, st.denied, len(st.pending))
	}
	for _, name := range flood {
		if err := e.sim.Kube().CertificatesV1().CertificateSigningRequests().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "legit CSR approved after the flood is gone", func() bool { return readCSRs(t, e.sim.Kube()).approvedByOKVM[legit.Name] })
}
