package okd_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	certv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/okvm/okvm/okd"
	"github.com/okvm/okvm/okd/okdtest"
)

// simNode returns a well-behaved node of the test cluster ocp4.example.com.
func simNode(role string, i int) okdtest.SimNode {
	name := fmt.Sprintf("%s-%d", role, i)
	base := 10
	if role == okdtest.RoleWorker {
		base = 20
	}
	return okdtest.SimNode{
		Name:      name,
		FQDN:      name + ".ocp4.example.com",
		ShortName: name,
		IPs:       []netip.Addr{netip.AddrFrom4([4]byte{192, 168, 126, byte(base + i)})},
		Role:      role,
	}
}

// decisions collects what the approver decided.
type decisions struct {
	mu  sync.Mutex
	all []okd.Decision
}

func (d *decisions) add(x okd.Decision) { d.mu.Lock(); d.all = append(d.all, x); d.mu.Unlock() }

func (d *decisions) snapshot() []okd.Decision {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]okd.Decision(nil), d.all...)
}

// waitFor polls cond until it holds or the test's deadline nears.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

// startApprover runs an approver until the test ends.
func startApprover(t *testing.T, kube kubernetes.Interface, expected []okd.ExpectedNode, opts ...okd.ApproverOption) (*okd.Approver, *decisions) {
	t.Helper()
	got := &decisions{}
	opts = append([]okd.ApproverOption{okd.WithDecisionFunc(got.add), okd.WithApproverLogger(testLogger(t))}, opts...)
	a, err := okd.NewApprover(kube, expected, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	select {
	case <-a.Synced():
	case <-time.After(10 * time.Second):
		t.Fatal("approver not synced after 10 s")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return a, got
}

func startSim(t *testing.T, opts ...okdtest.SimOption) *okdtest.Sim {
	t.Helper()
	sim, err := okdtest.StartSim(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim
}

// csrState summarises the clientset: who approved what, and any denial.
type csrState struct {
	approvedByOKVM map[string]bool // CSR name
	approvedOther  []string
	denied         []string
	pending        []string
}

func readCSRs(t *testing.T, kube kubernetes.Interface) csrState {
	t.Helper()
	list, err := kube.CertificatesV1().CertificateSigningRequests().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := csrState{approvedByOKVM: map[string]bool{}}
	for _, c := range list.Items {
		state := "pending"
		for _, cond := range c.Status.Conditions {
			switch {
			case cond.Type == certv1.CertificateDenied:
				state = "denied"
			case cond.Type == certv1.CertificateApproved && cond.Status == corev1.ConditionTrue && cond.Reason == okd.ApprovalReason:
				state = "okvm"
			case cond.Type == certv1.CertificateApproved:
				state = "other"
			}
		}
		switch state {
		case "okvm":
			st.approvedByOKVM[c.Name] = true
		case "other":
			st.approvedOther = append(st.approvedOther, c.Name)
		case "denied":
			st.denied = append(st.denied, c.Name)
		default:
			st.pending = append(st.pending, c.Name)
		}
	}
	return st
}

// TestApproverSimulatedCluster is the "done when": a 3 + 3 cluster
// boots, the approver approves exactly its 12 CSRs (6 nodes × client and
// serving), every node turns Ready, and the install completes.
func TestApproverSimulatedCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sim := startSim(t)
	for i := range 3 {
		for _, role := range []string{okdtest.RoleMaster, okdtest.RoleWorker} {
			if err := sim.AddNode(simNode(role, i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Masters first, as the lifecycle does; workers are added to the
	// allow-list (AddExpected) only when they are created.
	exp := sim.Expected()
	var masters, workers []okd.ExpectedNode
	for _, e := range exp {
		if e.Name[:6] == "master" {
			masters = append(masters, e)
		} else {
			workers = append(workers, e)
		}
	}
	a, got := startApprover(t, sim.Kube(), masters)
	for i := range 3 {
		if err := sim.BootNode(ctx, simNode(okdtest.RoleMaster, i).Name); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if err := sim.WaitReady(ctx, simNode(okdtest.RoleMaster, i).Name); err != nil {
			t.Fatal(err)
		}
	}
	if done, err := sim.BootstrapComplete(ctx); err != nil || !done {
		t.Fatalf("bootstrap complete = %v, %v after the masters are Ready", done, err)
	}
	if err := a.AddExpected(workers...); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := sim.BootNode(ctx, simNode(okdtest.RoleWorker, i).Name); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	cv, err := sim.ClusterVersion(ctx)
	if err != nil || !cv.Installed() {
		t.Fatalf("ClusterVersion = %+v, %v; want installed", cv, err)
	}

	st := readCSRs(t, sim.Kube())
	if len(st.approvedByOKVM) != 12 || len(st.approvedOther) != 0 || len(st.denied) != 0 || len(st.pending) != 0 {
		t.Fatalf("CSRs: %d approved by okvm, other %v, denied %v, pending %v; want exactly 12 approved by okvm",
			len(st.approvedByOKVM), st.approvedOther, st.denied, st.pending)
	}
	perNode := map[string]map[okd.CSRKind]int{}
	for _, d := range got.snapshot() {
		if !d.Approved {
			t.Errorf("unexpected refusal: %v", d)
			continue
		}
		if perNode[d.Node] == nil {
			perNode[d.Node] = map[okd.CSRKind]int{}
		}
		perNode[d.Node][d.Kind]++
	}
	for _, e := range exp {
		if perNode[e.Name][okd.CSRKindClient] != 1 || perNode[e.Name][okd.CSRKindServing] != 1 {
			t.Errorf("node %s: approvals %v, want one client and one serving", e.Name, perNode[e.Name])
		}
	}
}

func TestApproverRunTwice(t *testing.T) {
	sim := startSim(t)
	a, _ := startApprover(t, sim.Kube(), nil)
	waitFor(t, "approver to list Nodes", func() bool {
		for _, act := range sim.Clientset().Actions() {
			if act.GetVerb() == "list" && act.GetResource().Resource == "nodes" {
				return true
			}
		}
		return false
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := a.Run(ctx); !errors.Is(err, okd.ErrApproverRunning) {
		t.Fatalf("second Run = %v, want ErrApproverRunning", err)
	}
}

func TestExpectedNodeValidate(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name string
		n    okd.ExpectedNode
		ok   bool
	}{
		{"ok", okd.ExpectedNode{Name: "worker-0", CreatedAt: now}, true},
		{"empty name", okd.ExpectedNode{CreatedAt: now}, false},
		{"upper case", okd.ExpectedNode{Name: "Worker-0", CreatedAt: now}, false},
		{"zero createdAt", okd.ExpectedNode{Name: "worker-0"}, false},
		{"invalid ip", okd.ExpectedNode{Name: "worker-0", CreatedAt: now, IPs: []netip.Addr{{}}}, false},
		{"unspecified ip", okd.ExpectedNode{Name: "worker-0", CreatedAt: now, IPs: []netip.Addr{netip.IPv4Unspecified()}}, false},
	} {
		err := tc.n.Validate()
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, okd.ErrInvalidExpectedNode)) {
			t.Errorf("%s: Validate() = %v", tc.name, err)
		}
	}
	dup := okd.ExpectedNode{Name: "w", CreatedAt: now}
	if _, err := okd.NewApprover(startSim(t).Kube(), []okd.ExpectedNode{dup, dup}); !errors.Is(err, okd.ErrInvalidExpectedNode) {
		t.Errorf("duplicate names: %v", err)
	}
}
