package okd_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/okvm/okvm/okd"
)

// TestLifecycleLibvirtdRestart restarts the (fake) libvirtd while the
// lifecycle defines the control plane: every connection drops, calls in
// flight fail, and kvm redials. The run must still complete, with one
// domain per node.
func TestLifecycleLibvirtdRestart(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, lcConfig{name: "lcrestart", workers: 2})
	var restarts atomic.Int32
	e.setOnProgress(func(p okd.Progress) {
		if strings.Contains(p.Message, "lcrestart-master-0 defined") || strings.Contains(p.Message, "lcrestart-worker-0 defined") {
			e.fake.Restart()
			restarts.Add(1)
		}
	})
	sum, err := e.run(ctx)
	if err != nil {
		t.Fatalf("Run across libvirtd restarts: %v\nprogress:\n%s", err, e.progressText())
	}
	if restarts.Load() != 2 {
		t.Fatalf("%d restarts, want 2 (the trigger messages changed?)", restarts.Load())
	}
	if len(sum.Nodes) != 5 {
		t.Errorf("Summary.Nodes = %v", sum.Nodes)
	}
	doms, err := e.kc.ListDomains(ctx, map[string]string{"cluster": "lcrestart"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range doms {
		if !d.Active {
			t.Errorf("%s not running", d.Name)
		}
		names = append(names, d.Name)
	}
	if want := "lcrestart-master-0 lcrestart-master-1 lcrestart-master-2 lcrestart-worker-0 lcrestart-worker-1"; strings.Join(names, " ") != want {
		t.Errorf("domains %v, want %s", names, want)
	}
}
