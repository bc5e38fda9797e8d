package okd_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/okvm/okvm/okd"
	"github.com/okvm/okvm/okd/okdtest"
)

// One node boots in a simulated cluster; its kubelet files a client CSR,
// registers its Node, then files a serving CSR. The approver approves both,
// because worker-0 is on the allow-list and each CSR is exactly what a
// kubelet sends.
func ExampleApprover() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sim, err := okdtest.StartSim(ctx)
	if err != nil {
		panic(err)
	}
	defer sim.Close()
	err = sim.AddNode(okdtest.SimNode{
		Name: "worker-0", FQDN: "worker-0.ocp4.example.com", ShortName: "worker-0",
		IPs: []netip.Addr{netip.MustParseAddr("192.168.126.20")},
	})
	if err != nil {
		panic(err)
	}

	decided := make(chan okd.Decision, 2)
	approver, err := okd.NewApprover(sim.Kube(), sim.Expected(),
		okd.WithDecisionFunc(func(d okd.Decision) { decided <- d }))
	if err != nil {
		panic(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- approver.Run(runCtx) }()

	if err := sim.BootNode(ctx, "worker-0"); err != nil {
		panic(err)
	}
	for range 2 {
		d := <-decided
		fmt.Printf("%s CSR for %s: approved=%v\n", d.Kind, d.Node, d.Approved)
	}
	if err := sim.WaitReady(ctx, "worker-0"); err != nil {
		panic(err)
	}
	fmt.Println("worker-0 is Ready")
	stop()
	fmt.Println("Run returned", <-done)
	// Output:
	// client CSR for worker-0: approved=true
	// serving CSR for worker-0: approved=true
	// worker-0 is Ready
	// Run returned <nil>
}
