package okdtest_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/okvm/okvm/okd"
	"github.com/okvm/okvm/okd/okdtest"
)

// A single-master cluster: the master boots, okvm's approver approves its
// two CSRs, and the simulator completes bootstrap and install.
func ExampleStartSim() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sim, err := okdtest.StartSim(ctx)
	if err != nil {
		panic(err)
	}
	defer sim.Close()
	_ = sim.AddNode(okdtest.SimNode{
		Name: "master-0", FQDN: "master-0.sno.example.com", ShortName: "master-0",
		IPs: []netip.Addr{netip.MustParseAddr("192.168.126.10")}, Role: okdtest.RoleMaster,
	})
	approver, err := okd.NewApprover(sim.Kube(), sim.Expected())
	if err != nil {
		panic(err)
	}
	go approver.Run(ctx)

	cv, _ := sim.ClusterVersion(ctx)
	fmt.Println("before: installed =", cv.Installed())
	if err := sim.BootNode(ctx, "master-0"); err != nil {
		panic(err)
	}
	if err := sim.WaitReady(ctx); err != nil {
		panic(err)
	}
	done, _ := sim.BootstrapComplete(ctx)
	cv, _ = sim.ClusterVersion(ctx)
	fmt.Println("bootstrap complete =", done)
	fmt.Println("after: installed =", cv.Installed(), cv.Version)
	// Output:
	// before: installed = false
	// bootstrap complete = true
	// after: installed = true 4.19.0-okd-scos.1
}
