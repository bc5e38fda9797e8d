package okd_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"k8s.io/client-go/kubernetes"

	"github.com/okvm/okvm/internal/fakeworld"
	"github.com/okvm/okvm/kvm"
	"github.com/okvm/okvm/kvm/kvmtest"
	"github.com/okvm/okvm/okd"
	"github.com/okvm/okvm/okd/okdtest"
)

// An Example has no testing.TB, so okdtest.BuildFakeInstaller cannot build
// the fake openshift-install here; this does the same with the go tool
// (present whenever examples run), once per test binary.
var exampleInstaller struct {
	once sync.Once
	path string
	err  error
}

func buildExampleInstaller() (string, error) {
	exampleInstaller.once.Do(func() {
		if p := os.Getenv(envFakeInstaller); p != "" {
			exampleInstaller.path = p
			return
		}
		dir, err := os.MkdirTemp("", "okvm-fake-installer-")
		if err != nil {
			exampleInstaller.err = err
			return
		}
		p := filepath.Join(dir, "openshift-install")
		cmd := exec.Command("go", "build", "-o", p, okdtest.FakeInstallerPackage)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			exampleInstaller.err = fmt.Errorf("%v: %s", err, out)
			return
		}
		exampleInstaller.path = p
	})
	return exampleInstaller.path, exampleInstaller.err
}

// ExampleLifecycle installs a 3 + 2 cluster on okvm's fakes: the in-memory
// libvirt, the fake openshift-install and a simulated cluster whose kubelets
// file real CSRs (internal/fakeworld glues them; outside this module, drive
// the waits with okdtest.Signal as fakeworld does). Against a real host only
// the dialer, the installer binary and the kube client change. A second Run
// finds everything done.
func ExampleLifecycle() {
	ctx := context.Background()
	bin, err := buildExampleInstaller()
	if err != nil {
		fmt.Println("fake installer:", err)
		return
	}
	dir, _ := os.MkdirTemp("", "okvm-example-")
	defer os.RemoveAll(dir)
	image := filepath.Join(dir, "coreos.qcow2")
	os.WriteFile(image, []byte("placeholder, never booted"), 0o644)
	okdtest.WriteFakeScript(filepath.Join(dir, "install"), okdtest.FakeScript{Wait: "file"})

	spec := okd.ClusterSpec{
		Name: "demo", BaseDomain: "okd.test",
		Topology:    okd.Topology{ControlPlane: 3, Workers: 2},
		SSHKey:      lcSSHKey,
		BootImage:   okd.BootImage{Path: image},
		Hypervisors: []okd.Hypervisor{{URI: "test:///okvm-fake"}},
	}
	libvirtd := kvmtest.New()
	dial := func(ctx context.Context, _ string) (*kvm.Client, error) { return kvm.NewClient(ctx, libvirtd.Dialer()) }
	var world *fakeworld.World
	opts := []okd.LifecycleOption{
		okd.WithHypervisorDialer(dial),
		okd.WithInstallerBinary(bin),
		okd.WithNetworkMode(okd.NetworkEmbedded),
		okd.WithEmbeddedAddrs("127.0.0.1:0", "127.0.0.1:0"),
		okd.WithPool("okvm-demo", filepath.Join(dir, "pool")),
		okd.WithKubeClient(func(context.Context, string) (kubernetes.Interface, error) {
			if world == nil {
				return nil, errors.New("no cluster")
			}
			return world.Sim.Kube(), nil
		}),
		okd.WithProgress(func(p okd.Progress) {
			if p.Done {
				fmt.Println("done:", p.Step)
			}
		}),
	}
	l, err := okd.NewLifecycle(spec, dir, opts...)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()

	c, _ := dial(ctx, "")
	defer c.Close()
	world, err = fakeworld.Start(ctx, c, fakeworld.Config{
		Cluster: "demo", InstallDir: filepath.Join(dir, "install"), Workers: 2,
		Lookup: func(domain string) (fakeworld.NodeInfo, bool) {
			for _, n := range l.State().Nodes {
				if n.Domain == domain {
					return fakeworld.NodeInfo{Name: n.FQDN, FQDN: n.FQDN, IP: n.IP, Role: string(n.Role)}, true
				}
			}
			return fakeworld.NodeInfo{}, false
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer world.Close()

	sum, err := l.Run(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range sum.Nodes {
		fmt.Println("node:", n)
	}
	again, _ := l.Run(ctx)
	fmt.Println("second run, already installed:", again.AlreadyInstalled)
	fmt.Println("destroy:", l.Destroy(ctx))
	// Output:
	// done: plan
	// done: install-config
	// done: manifests
	// done: ignition-configs
	// done: deadline
	// done: network
	// done: image
	// done: control-plane
	// done: start-control-plane
	// done: bootstrap-complete
	// done: remove-bootstrap
	// done: workers
	// done: install-complete
	// done: summary
	// node: master-0.demo.okd.test
	// node: master-1.demo.okd.test
	// node: master-2.demo.okd.test
	// node: worker-0.demo.okd.test
	// node: worker-1.demo.okd.test
	// second run, already installed: true
	// destroy: <nil>
}
