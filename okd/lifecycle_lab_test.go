package okd_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/okvm/okvm/internal/labtest"
	"github.com/okvm/okvm/kvm"
	"github.com/okvm/okvm/okd"
)

// TestLifecycleLabQEMU runs the whole lifecycle against the lab libvirtd's
// QEMU driver (scripts/lab.sh start): the network is a real libvirt network
// with its dnsmasq inside the okvm-lab namespace (NetworkLibvirt), the VMs
// are real TCG guests on qcow2 overlays with Ignition by fw_cfg, and the
// bootstrap is really destroyed. The installer and the cluster stay fake
// (no OS boots: the guests sit in SeaBIOS). Then Destroy must leave nothing
// on the real daemon.
func TestLifecycleLabQEMU(t *testing.T) {
	if testing.Short() {
		t.Skip("boots 6 TCG guests on the lab libvirtd")
	}
	sock := labtest.Socket(t)
	qemuImg := labtest.Tool(t, "qemu-img")
	uri := "qemu+unix:///system?socket=" + sock
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	name := fmt.Sprintf("lclab%d", os.Getpid()%100000)
	base := t.TempDir()
	image := filepath.Join(base, "coreos-placeholder.qcow2")
	if out, err := exec.Command(qemuImg, "create", "-q", "-f", "qcow2", image, "1G").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v: %s", err, out)
	}
	cidr := fmt.Sprintf("10.%d.%d.0/24", 200+rand.IntN(50), rand.IntN(250))
	lab := okd.NodeSize{VCPUs: 1, MemoryMiB: 1024, DiskGiB: 20} // the validator's floors; SeaBIOS touches a few MiB
	e := newEnv(t, lcConfig{
		name: name, workers: 2, dir: filepath.Join(base, "artifacts"), mode: okd.NetworkLibvirt, uri: uri,
		dial: func(ctx context.Context) (*kvm.Client, error) { return kvm.Dial(ctx, uri) },
		tweak: func(s *okd.ClusterSpec) {
			s.BootImage.Path = image
			s.Network.MachineCIDR = cidr
			s.Nodes = okd.NodeSizes{Bootstrap: lab, Master: lab, Worker: lab, AllowUndersized: true,
				UndersizedReason: "lab integration test: fake installer and cluster, TCG guests only need to start"}
		},
	})
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			dctx, dcancel := context.WithTimeout(context.Background(), time.Minute)
			defer dcancel()
			if err := e.l.Destroy(dctx); err != nil {
				t.Errorf("cleanup Destroy: %v", err)
			}
		}
	})

	var bsDone, bsGone time.Time
	e.setOnProgress(func(p okd.Progress) {
		switch {
		case p.Step == okd.StepBootstrapComplete && p.Done:
			bsDone = time.Now()
		case p.Step == okd.StepRemoveBootstrap && p.Done:
			bsGone = time.Now()
			if _, err := e.kc.State(ctx, name+"-bootstrap"); !errors.Is(err, kvm.ErrNotFound) {
				t.Errorf("bootstrap domain after removal: %v, want ErrNotFound", err)
			}
			if doms, _ := e.kc.ListDomains(ctx, map[string]string{"cluster": name, "role": "worker"}); len(doms) != 0 {
				t.Errorf("workers defined before bootstrap removal: %v", doms)
			}
		}
	})
	t0 := time.Now()
	sum, err := e.run(ctx)
	if err != nil {
		t.Fatalf("Run on the lab QEMU driver: %v\nprogress:\n%s", err, e.progressText())
	}
	elapsed := time.Since(t0)
	st := e.l.State()
	t.Logf("lab QEMU lifecycle 3+2: %s; bootstrap-complete → bootstrap gone %s (removal itself %s)",
		elapsed.Round(time.Millisecond), bsGone.Sub(bsDone).Round(time.Millisecond), st.BootstrapRemovedIn.Round(time.Millisecond))
	if len(sum.Nodes) != 5 {
		t.Errorf("Summary.Nodes = %v", sum.Nodes)
	}
	doms, err := e.kc.ListDomains(ctx, map[string]string{"cluster": name})
	if err != nil {
		t.Fatal(err)
	}
	running := 0
	for _, d := range doms {
		if d.Active {
			running++
		}
	}
	if len(doms) != 5 || running != 5 {
		t.Errorf("domains %v (%d running), want 5 running", doms, running)
	}
	hosts, err := e.kc.DHCPHosts(ctx, "okvm-"+name)
	if err != nil || len(hosts) != 5 {
		t.Errorf("reservations on the real network: %v %v, want 5 (no bootstrap)", hosts, err)
	}

	if err := e.l.Destroy(ctx); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	destroyed = true
	doms, err = e.kc.ListDomains(ctx, map[string]string{"cluster": name})
	if err != nil || len(doms) != 0 {
		t.Errorf("domains after Destroy: %v %v", doms, err)
	}
	if vols, err := e.kc.ListVolumes(ctx, "okvm-"+name); !errors.Is(err, kvm.ErrNotFound) {
		t.Errorf("pool after Destroy: volumes %v, err %v; want ErrNotFound", vols, err)
	}
	if _, err := e.kc.NetworkXML(ctx, "okvm-"+name); !errors.Is(err, kvm.ErrNotFound) {
		t.Errorf("network after Destroy: %v, want ErrNotFound", err)
	}
}
