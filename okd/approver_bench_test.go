package okd_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	certv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/okvm/okvm/okd"
	"github.com/okvm/okvm/okd/okdtest"
)

// approvalClock watches CSRs like an observer outside the approver and
// records when each one is first seen approved.
type approvalClock struct {
	mu      sync.Mutex
	waiters map[string]chan time.Time
}

func startApprovalClock(b *testing.B, ctx context.Context, kube *fake.Clientset) *approvalClock {
	w, err := kube.CertificatesV1().CertificateSigningRequests().Watch(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		b.Fatal(err)
	}
	ac := &approvalClock{waiters: map[string]chan time.Time{}}
	go func() {
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.ResultChan():
				if !ok {
					return
				}
				c, isCSR := ev.Object.(*certv1.CertificateSigningRequest)
				if !isCSR || ev.Type != watch.Modified || len(c.Status.Conditions) == 0 {
					continue
				}
				now := time.Now()
				ac.mu.Lock()
				ch := ac.waiters[c.Name]
				delete(ac.waiters, c.Name)
				ac.mu.Unlock()
				if ch != nil {
					ch <- now
				}
			}
		}
	}()
	return ac
}

func (ac *approvalClock) expect(name string) chan time.Time {
	ch := make(chan time.Time, 1)
	ac.mu.Lock()
	ac.waiters[name] = ch
	ac.mu.Unlock()
	return ch
}

// benchCSRs pre-builds n client CSRs (key generation and signing stay out
// of the measurement) and the allow-list that makes them legitimate.
func benchCSRs(b *testing.B, n int) ([]*certv1.CertificateSigningRequest, []okd.ExpectedNode) {
	b.Helper()
	t0 := time.Now()
	csrs := make([]*certv1.CertificateSigningRequest, n)
	exp := make([]okd.ExpectedNode, n)
	for i := range n {
		name := fmt.Sprintf("bench-%d", i)
		exp[i] = okd.ExpectedNode{Name: name, FQDN: name + ".ocp4.example.com", ShortName: name,
			IPs: []netip.Addr{netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})}, CreatedAt: t0}
		spec := okdtest.ClientCSR(name)
		spec.Created = t0.Add(time.Second)
		c, err := spec.Build()
		if err != nil {
			b.Fatal(err)
		}
		csrs[i] = c
	}
	return csrs, exp
}

func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	q := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}

// BenchmarkApproverLatency measures CSR creation → approval (as a separate
// watcher sees it) through the fake clientset, the number kcli's 2-minute
// CronJob puts at up to 120 s.
//
//   - sequential: one client CSR at a time, each for a new allow-listed node.
//   - burst: 50 client CSRs filed back to back (a whole rack of workers
//     booting at once), each for its own node; latency per CSR.
//
// Each runs on two fakes: "simple" (fake.NewSimpleClientset, a plain object
// tracker) measures the approver; "managed" (fake.NewClientset, which
// okdtest.Sim uses) adds the fake's field-management bookkeeping, about
// 2 ms of CPU per write on the reference machine.
func BenchmarkApproverLatency(b *testing.B) {
	fakes := []struct {
		name string
		new  func() *fake.Clientset
	}{
		{"simple", func() *fake.Clientset { return fake.NewSimpleClientset() }},
		{"managed", func() *fake.Clientset { return fake.NewClientset() }},
	}
	for _, mode := range []struct {
		name  string
		burst int
	}{{"sequential", 1}, {"burst50", 50}} {
		for _, f := range fakes {
			b.Run(mode.name+"/"+f.name, func(b *testing.B) {
				csrs, exp := benchCSRs(b, b.N*mode.burst)
				lat := runApproverBench(b, f.new(), csrs, exp, mode.burst)
				reportLatency(b, lat)
			})
		}
	}
}

func runApproverBench(b *testing.B, kube *fake.Clientset, csrs []*certv1.CertificateSigningRequest, exp []okd.ExpectedNode, burst int) []time.Duration {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := okd.NewApprover(kube, exp)
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	ac := startApprovalClock(b, ctx, kube)
	api := kube.CertificatesV1().CertificateSigningRequests()
	lat := make([]time.Duration, 0, len(csrs))
	b.ResetTimer()
	for i := 0; i < len(csrs); i += burst {
		group := csrs[i:min(i+burst, len(csrs))]
		starts := make([]time.Time, len(group))
		waits := make([]chan time.Time, len(group))
		for j, c := range group {
			waits[j] = ac.expect(c.Name)
			starts[j] = time.Now()
			if _, err := api.Create(ctx, c, metav1.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		for j := range group {
			select {
			case at := <-waits[j]:
				lat = append(lat, at.Sub(starts[j]))
			case <-time.After(10 * time.Second):
				b.Fatalf("CSR %s not approved within 10 s", group[j].Name)
			}
		}
	}
	b.StopTimer()
	return lat
}
