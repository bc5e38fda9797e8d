package okd_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/okvm/okvm/okd"
)

// benchLifecycle runs one whole lifecycle on the fakes per iteration and
// reports, besides ns/op, how long the bootstrap outlived
// bootstrap-complete (from the step's Done to remove-bootstrap's Done).
func benchLifecycle(b *testing.B, workers int) {
	ctx := context.Background()
	fakeInstaller(b) // built once, outside the timing
	var bsGone, steps time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newEnv(b, lcConfig{name: fmt.Sprintf("lcbench%d", i), workers: workers})
		var bsDone, gone time.Time
		e.setOnProgress(func(p okd.Progress) {
			switch {
			case p.Step == okd.StepBootstrapComplete && p.Done:
				bsDone = time.Now()
			case p.Step == okd.StepRemoveBootstrap && p.Done:
				gone = time.Now()
			}
		})
		b.StartTimer()
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		sum, err := e.l.Run(ctx)
		cancel()
		steps += time.Since(t0)
		b.StopTimer()
		if err != nil {
			b.Fatalf("Run: %v", err)
		}
		if len(sum.Nodes) != 3+workers {
			b.Fatalf("%d nodes, want %d", len(sum.Nodes), 3+workers)
		}
		bsGone += gone.Sub(bsDone)
		e.l.Close()
		e.world.Close()
		b.StartTimer()
	}
	b.ReportMetric(bsGone.Seconds()*1e3/float64(b.N), "ms-bootstrap-gone/op")
	b.ReportMetric(steps.Seconds()/float64(b.N), "s-run/op")
}

// BenchmarkLifecycleFake3x3 is the whole install of 3 masters + 3 workers on
// the fakes (goal ≤ 10 s).
func BenchmarkLifecycleFake3x3(b *testing.B) { benchLifecycle(b, 3) }

// BenchmarkLifecycleFake3x100 is 3 masters + 100 workers (goal ≤ 60 s).
func BenchmarkLifecycleFake3x100(b *testing.B) { benchLifecycle(b, 100) }
