package okd_test

import (
	"context"
	"net/netip"
	"net/url"
	"testing"
	"time"

	"github.com/okvm/okvm/okd"
	"github.com/okvm/okvm/okd/okdtest"
)

// TestApproverMisbehavingNodes boots simulated nodes whose kubelets lie,
// next to an honest one: each liar gets exactly what it is owed (a client
// CSR when that one is honest) and nothing more; the honest node turns Ready.
func TestApproverMisbehavingNodes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sim := startSim(t)
	node := func(i int, m okdtest.Misbehaviour) okdtest.SimNode {
		n := simNode(okdtest.RoleWorker, i)
		n.Misbehave = m
		return n
	}
	cases := []struct {
		node          okdtest.SimNode
		clientOK      bool
		servingOK     bool
		servingCheck  okd.CSRCheck
		clientCheck   okd.CSRCheck
		wantDuplicate bool
	}{
		{node: node(0, okdtest.Misbehaviour{}), clientOK: true, servingOK: true},
		{node: node(1, okdtest.Misbehaviour{ExtraDNSNames: []string{"api-int.ocp4.example.com"}}), clientOK: true, servingCheck: okd.CSRCheckSANs},
		{node: node(2, okdtest.Misbehaviour{ExtraIPs: []netip.Addr{netip.MustParseAddr("192.168.126.1")}}), clientOK: true, servingCheck: okd.CSRCheckSANs},
		{node: node(3, okdtest.Misbehaviour{ExtraEmails: []string{"x@example.com"}}), clientOK: true, servingCheck: okd.CSRCheckSANs},
		{node: node(4, okdtest.Misbehaviour{ExtraURIs: []*url.URL{{Scheme: "https", Host: "evil"}}}), clientOK: true, servingCheck: okd.CSRCheckSANs},
		{node: node(5, okdtest.Misbehaviour{ClientSANs: true}), clientCheck: okd.CSRCheckSANs},
		{node: node(6, okdtest.Misbehaviour{ImpersonateClient: "master-0"}), clientCheck: okd.CSRCheckExpected},
		{node: node(7, okdtest.Misbehaviour{DuplicateClientCSR: true}), clientOK: true, servingOK: true, wantDuplicate: true},
	}
	for _, c := range cases {
		if err := sim.AddNode(c.node); err != nil {
			t.Fatal(err)
		}
	}
	_, got := startApprover(t, sim.Kube(), sim.Expected())
	for _, c := range cases {
		if err := sim.BootNode(ctx, c.node.Name); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.WaitReady(ctx, "worker-0", "worker-7"); err != nil {
		t.Fatal(err)
	}
	// Wait until every node's last CSR has been judged.
	waitFor(t, "every CSR judged", func() bool {
		st := readCSRs(t, sim.Kube())
		judged := map[string]bool{}
		for _, d := range got.snapshot() {
			judged[d.CSR] = true
		}
		for name := range st.approvedByOKVM {
			judged[name] = true
		}
		for _, name := range st.pending {
			if !judged[name] {
				return false
			}
		}
		// liars 1-4 must have reached their serving CSR
		for i := 1; i <= 4; i++ {
			if s, _ := sim.Status(cases[i].node.Name); s.ServingCSR == "" || !judged[s.ServingCSR] {
				return false
			}
		}
		return true
	})
	st := readCSRs(t, sim.Kube())
	if len(st.denied) != 0 || len(st.approvedOther) != 0 {
		t.Fatalf("denied %v, approved by others %v", st.denied, st.approvedOther)
	}
	byCSR := map[string]okd.Decision{}
	for _, d := range got.snapshot() {
		byCSR[d.CSR] = d
	}
	for _, c := range cases {
		s, err := sim.Status(c.node.Name)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.approvedByOKVM[s.ClientCSR]; got != c.clientOK {
			t.Errorf("%s: client CSR approved=%v, want %v (%v)", c.node.Name, got, c.clientOK, byCSR[s.ClientCSR])
		}
		if !c.clientOK && byCSR[s.ClientCSR].Check != c.clientCheck {
			t.Errorf("%s: client refusal %v, want check %q", c.node.Name, byCSR[s.ClientCSR], c.clientCheck)
		}
		if c.clientOK {
			if got := st.approvedByOKVM[s.ServingCSR]; got != c.servingOK {
				t.Errorf("%s: serving CSR approved=%v, want %v (%v)", c.node.Name, got, c.servingOK, byCSR[s.ServingCSR])
			}
			if !c.servingOK && byCSR[s.ServingCSR].Check != c.servingCheck {
				t.Errorf("%s: serving refusal %v, want check %q", c.node.Name, byCSR[s.ServingCSR], c.servingCheck)
			}
		}
	}
	// worker-7 filed two client CSRs: exactly one was approved; the other is
	// refused either as a second CSR of the boot or, once the Node
	// registered, because the Node exists.
	var w7client []okd.Decision
	for _, d := range got.snapshot() {
		if d.Node == "worker-7" && d.Kind == okd.CSRKindClient {
			w7client = append(w7client, d)
		}
	}
	approved := 0
	for _, d := range w7client {
		if d.Approved {
			approved++
		} else if d.Check != okd.CSRCheckOncePerBoot && d.Check != okd.CSRCheckNode {
			t.Errorf("worker-7 duplicate refused on %q: %v", d.Check, d)
		}
	}
	if approved != 1 || len(w7client) < 2 {
		t.Errorf("worker-7 client decisions %v: want exactly one approval and a refusal", w7client)
	}
	// Client CSRs of workers 0-4 and 7 (6), serving CSRs of workers 0 and 7.
	if len(st.approvedByOKVM) != 8 {
		t.Errorf("%d CSRs approved, want 8", len(st.approvedByOKVM))
	}
}
