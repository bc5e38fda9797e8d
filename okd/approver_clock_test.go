package okd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"log/slog"

	"github.com/okvm/okvm/okd"
	"github.com/okvm/okvm/okd/okdtest"
)

// TestApproverClockStandsInForCreationTime: a CSR without
// creationTimestamp (fake clientsets set none) is placed in time by the
// approver's clock when first seen, so WithApproverClock decides the window.
func TestApproverClockStandsInForCreationTime(t *testing.T) {
	for _, tc := range []struct {
		name     string
		offset   time.Duration
		approved bool
	}{
		{"inside the window", time.Minute, true},
		{"three hours late", 3 * time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newAdvEnv(t)
			now := e.t0.Add(tc.offset)
			_, got := startApprover(t, e.sim.Kube(), e.sim.Expected(), okd.WithApproverClock(func() time.Time { return now }))
			spec := okdtest.ClientCSR(e.w0.Name) // Created left zero
			c := must(spec.Create(context.Background(), e.sim.Kube()))
			if !c.CreationTimestamp.IsZero() {
				t.Fatal("the fake set creationTimestamp; this test needs it unset")
			}
			d := waitDecision(t, got, c.Name)
			if d.Approved != tc.approved || (!tc.approved && d.Check != okd.CSRCheckWindow) {
				t.Fatalf("decision %v", d)
			}
			if !d.At.Equal(now) {
				t.Errorf("decision at %v, want the approver clock %v", d.At, now)
			}
		})
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range bytes.Split(l.b.Bytes(), []byte("\n")) {
		var m map[string]any
		if json.Unmarshal(line, &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// TestApproverLogsWhy: a refusal is logged at WARN with the CSR name, the
// node and the failed check, and the request itself is never logged.
func TestApproverLogsWhy(t *testing.T) {
	e := newAdvEnv(t)
	createNode(t, e, e.w0.Name)
	buf := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, got := startApprover(t, e.sim.Kube(), e.sim.Expected(), okd.WithApproverLogger(log))
	s := e.serving()
	s.DNSNames = append(s.DNSNames, "evil.example.com")
	c := must(s.Create(context.Background(), e.sim.Kube()))
	waitDecision(t, got, c.Name)
	found := false
	for _, m := range buf.lines() {
		if m["msg"] == "CSR not approved" && m["csr"] == c.Name {
			found = true
			if m["level"] != "WARN" || m["check"] != string(okd.CSRCheckSANs) || m["node"] != e.w0.Name || m["kind"] != "serving" {
				t.Errorf("log line %v", m)
			}
		}
	}
	if !found {
		t.Fatalf("no refusal logged for %s", c.Name)
	}
	if bytes.Contains(buf.b.Bytes(), []byte("CERTIFICATE REQUEST")) || bytes.Contains(buf.b.Bytes(), c.Spec.Request[40:80]) {
		t.Error("the request was logged")
	}
}
