package okdtest_test

import (
	"context"
	"errors"
	"net/netip"
	"runtime"
	"testing"
	"time"

	certv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/okvm/okvm/okd/okdtest"
)

// approveAll plays a human with `oc adm certificate approve` on one CSR.
func approve(t *testing.T, sim *okdtest.Sim, name string) {
	t.Helper()
	api := sim.Kube().CertificatesV1().CertificateSigningRequests()
	c, err := api.Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.Status.Conditions = append(c.Status.Conditions, certv1.CertificateSigningRequestCondition{Type: certv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "Test"})
	if _, err := api.UpdateApproval(context.Background(), name, c, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func waitPhase(t *testing.T, sim *okdtest.Sim, name string, p okdtest.SimPhase) okdtest.NodeStatus {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := sim.Status(name)
		if err != nil {
			t.Fatal(err)
		}
		if st.Phase == p {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s in phase %s, want %s", name, st.Phase, p)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestSimBootstrapByHand walks one master through the TLS bootstrap with
// manual approvals and checks what the simulator writes at each step.
func TestSimBootstrapByHand(t *testing.T) {
	ctx := context.Background()
	sim, err := okdtest.StartSim(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	ip := netip.MustParseAddr("192.168.126.10")
	if err := sim.AddNode(okdtest.SimNode{Name: "master-0", FQDN: "master-0.ocp4.example.com", ShortName: "master-0", IPs: []netip.Addr{ip}, Role: okdtest.RoleMaster}); err != nil {
		t.Fatal(err)
	}
	if err := sim.BootNode(ctx, "master-0"); err != nil {
		t.Fatal(err)
	}
	if err := sim.BootNode(ctx, "master-0"); !errors.Is(err, okdtest.ErrAlreadyBooted) {
		t.Fatalf("second boot: %v", err)
	}
	st := waitPhase(t, sim, "master-0", okdtest.PhaseClientCSR)
	csr, err := sim.Kube().CertificatesV1().CertificateSigningRequests().Get(ctx, st.ClientCSR, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if csr.Spec.SignerName != okdtest.SignerClient || csr.Spec.Username != okdtest.BootstrapperUser || csr.CreationTimestamp.IsZero() {
		t.Fatalf("client CSR spec %+v", csr.Spec)
	}
	if _, err := sim.Kube().CoreV1().Nodes().Get(ctx, "master-0", metav1.GetOptions{}); err == nil {
		t.Fatal("Node registered before the client certificate")
	}
	approve(t, sim, st.ClientCSR)
	st = waitPhase(t, sim, "master-0", okdtest.PhaseServingCSR)
	node, err := sim.Kube().CoreV1().Nodes().Get(ctx, "master-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if node.Status.Conditions[0].Status != corev1.ConditionFalse || node.Status.Addresses[0].Address != ip.String() {
		t.Fatalf("registered node %+v", node.Status)
	}
	signed, err := sim.Kube().CertificatesV1().CertificateSigningRequests().Get(ctx, st.ClientCSR, metav1.GetOptions{})
	if err != nil || len(signed.Status.Certificate) == 0 {
		t.Fatalf("client CSR not signed: %v", err)
	}
	serving, err := sim.Kube().CertificatesV1().CertificateSigningRequests().Get(ctx, st.ServingCSR, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if serving.Spec.Username != "system:node:master-0" || serving.Spec.SignerName != okdtest.SignerServing {
		t.Fatalf("serving CSR spec %+v", serving.Spec)
	}
	if done, _ := sim.BootstrapComplete(ctx); done {
		t.Fatal("bootstrap complete before the master is Ready")
	}
	approve(t, sim, st.ServingCSR)
	if err := sim.WaitReady(ctx, "master-0"); err != nil {
		t.Fatal(err)
	}
	if done, err := sim.BootstrapComplete(ctx); err != nil || !done {
		t.Fatalf("bootstrap complete = %v, %v", done, err)
	}
	cv, err := sim.ClusterVersion(ctx)
	if err != nil || !cv.Installed() || cv.Version != "4.19.0-okd-scos.1" {
		t.Fatalf("cluster version %+v, %v", cv, err)
	}
}

// TestSimCloseStopsKubelets: kubelets waiting for approval stop on Close,
// their nodes end failed, and no goroutine is left behind.
func TestSimCloseStopsKubelets(t *testing.T) {
	before := runtime.NumGoroutine()
	ctx := context.Background()
	sim, err := okdtest.StartSim(ctx, okdtest.WithManualProgress())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"worker-0", "worker-1"} {
		if err := sim.AddNode(okdtest.SimNode{Name: n}); err != nil {
			t.Fatal(err)
		}
		if err := sim.BootNode(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.Close(); err != nil {
		t.Fatal(err)
	}
	_ = sim.Close()
	for _, n := range []string{"worker-0", "worker-1"} {
		if st, _ := sim.Status(n); st.Phase != okdtest.PhaseFailed || !errors.Is(st.Err, context.Canceled) {
			t.Errorf("%s after Close: %+v", n, st)
		}
	}
	if err := sim.BootNode(ctx, "worker-0"); !errors.Is(err, okdtest.ErrSimClosed) {
		t.Errorf("BootNode after Close: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before", n, before)
	}
}

// TestSimBootCancelled: the ctx given to BootNode bounds that node's boot.
func TestSimBootCancelled(t *testing.T) {
	sim, err := okdtest.StartSim(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	_ = sim.AddNode(okdtest.SimNode{Name: "worker-0"})
	ctx, cancel := context.WithCancel(context.Background())
	if err := sim.BootNode(ctx, "worker-0"); err != nil {
		t.Fatal(err)
	}
	cancel()
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	if err := sim.WaitReady(wctx, "worker-0"); err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitReady after cancel: %v", err)
	}
}
