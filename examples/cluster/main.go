// Command cluster runs okvm's whole OKD install lifecycle — plan, install-config,
// manifests, Ignition, certificate deadline, per-node Ignition with predicted
// NIC names, network, image, VMs, bootstrap-complete, bootstrap removal, CSR
// approval, workers, install-complete — and prints progress per stage.
//
// By default everything runs on okvm's fakes: the in-memory libvirt
// (kvmtest), the embedded DNS and DHCP servers on loopback, the fake
// openshift-install (a real process whose output the real runner parses) and
// the fake cluster (client-go fake clientset whose simulated kubelets file
// real CSRs). Flags switch to a real libvirt URI and a real installer:
//
//	go run ./examples/cluster                      # 3 masters + 2 workers on fakes
//	go run ./examples/cluster -uri 'qemu+unix:///system?socket=/var/run/libvirt/libvirt-sock'
//	go run ./examples/cluster -installer /usr/local/bin/openshift-install -uri qemu:///system -network libvirt
//	go run ./examples/cluster -destroy             # remove everything the cluster owns
//
// Ctrl-C stops cleanly; running the same command again resumes where it
// stopped (the state is in <dir>/.okvm/state.json).
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"k8s.io/client-go/kubernetes"

	"github.com/okvm/okvm/internal/fakeworld"
	"github.com/okvm/okvm/kvm"
	"github.com/okvm/okvm/kvm/kvmtest"
	"github.com/okvm/okvm/okd"
	"github.com/okvm/okvm/okd/okdtest"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type options struct {
	dir, name, baseDomain, uri, installer, network, image, logFile string
	masters, workers                                               int
	destroy, force                                                 bool
	addWorkers                                                     int
}

const usage = `Usage: go run ./examples/cluster [flags]

Runs okvm's whole OKD install lifecycle and prints progress per stage. With
no flags everything runs on okvm's fakes (in-memory libvirt, embedded DNS and
DHCP on loopback, fake openshift-install, fake cluster). Running the same
command again resumes an interrupted install, or reports that the cluster is
already installed.

Examples:
  go run ./examples/cluster                       # 3 masters + 2 workers on fakes
  go run ./examples/cluster -add-workers 2        # then add two workers
  go run ./examples/cluster -destroy              # remove everything the cluster owns
  go run ./examples/cluster -uri 'qemu+unix:///system?socket=/var/run/libvirt/libvirt-sock' -network libvirt
                                                  # real libvirt (lab sizes), fake installer and cluster

Flags:
`

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.dir, "dir", "out/okvm-lab", "artifacts directory (install dir, per-node Ignition, state)")
	fs.StringVar(&o.name, "name", "lab", "cluster name")
	fs.StringVar(&o.baseDomain, "base-domain", "okd.test", "base domain")
	fs.IntVar(&o.masters, "masters", 3, "control-plane nodes (1 or 3)")
	fs.IntVar(&o.workers, "workers", 2, "worker nodes")
	fs.StringVar(&o.uri, "uri", "", "libvirt URI (empty: the in-memory fake libvirt)")
	fs.StringVar(&o.installer, "installer", "", "openshift-install binary (empty: the fake installer, driven by the fake cluster)")
	fs.StringVar(&o.network, "network", "embedded", "DNS/DHCP delivery: embedded (servers on loopback), libvirt (the network's dnsmasq) or rendered (files)")
	fs.StringVar(&o.image, "image", "", "CoreOS qcow2 (empty with fakes: a placeholder image)")
	fs.StringVar(&o.logFile, "log", "", "write the structured log (JSON) to this file")
	fs.BoolVar(&o.destroy, "destroy", false, "remove everything the cluster owns, then exit")
	fs.BoolVar(&o.force, "force", false, "boot even after the certificate soft deadline")
	fs.IntVar(&o.addWorkers, "add-workers", 0, "after the install (run first if needed), add this many workers")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runCluster(ctx, o, stdout); err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "interrupted; state saved in %s — run the same command again to resume\n", o.dir)
			return 130
		}
		fmt.Fprintf(stderr, "cluster: %v\n", err)
		return 1
	}
	return 0
}

func runCluster(ctx context.Context, o options, out io.Writer) error {
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	logger := slog.New(slog.DiscardHandler)
	if o.logFile != "" {
		f, err := os.OpenFile(o.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		logger = slog.New(slog.NewJSONHandler(f, nil))
	}
	fake := o.uri == ""
	sshKey, err := sshPublicKey(dir)
	if err != nil {
		return err
	}
	image := o.image
	if image == "" {
		if !fake {
			if image, err = placeholderQcow2(dir); err != nil {
				return err
			}
		} else if image, err = placeholderImage(dir); err != nil {
			return err
		}
	}
	uri := o.uri
	if fake {
		uri = "test:///okvm-fake"
	}
	spec := okd.ClusterSpec{
		Name:        o.name,
		BaseDomain:  o.baseDomain,
		Topology:    okd.Topology{ControlPlane: o.masters, Workers: o.workers},
		SSHKey:      sshKey,
		BootImage:   okd.BootImage{Path: image},
		Hypervisors: []okd.Hypervisor{{URI: uri}},
	}
	if !fake && o.installer == "" {
		// A real hypervisor with the fake installer is the lab run: domains
		// start under TCG, so they get lab sizes, on the record. These are
		// the validator's hard floors (1 GiB, 20 GiB); a guest with no OS
		// sits in SeaBIOS and touches a few MiB of it, and the overlays are
		// thin.
		lab := okd.NodeSize{VCPUs: 1, MemoryMiB: 1024, DiskGiB: 20}
		spec.Nodes = okd.NodeSizes{
			Bootstrap: lab, Master: lab, Worker: lab,
			AllowUndersized: true, UndersizedReason: "lab run: fake installer and cluster, VMs only need to start",
		}
	}

	var (
		fakeLV   *kvmtest.Fake
		snapshot = filepath.Join(dir, ".okvm", "fake-libvirt.json")
		dial     okd.HypervisorDialer
	)
	if fake {
		fakeLV = kvmtest.New()
		if err := fakeworld.RestoreFile(fakeLV.Conn(), snapshot); err != nil {
			return fmt.Errorf("restore the fake libvirt: %w", err)
		}
		dial = func(ctx context.Context, _ string) (*kvm.Client, error) {
			return kvm.NewClient(ctx, fakeLV.Dialer(), kvm.WithLogger(logger))
		}
	} else {
		dial = func(ctx context.Context, u string) (*kvm.Client, error) {
			return kvm.Dial(ctx, u, kvm.WithLogger(logger))
		}
	}
	saveFake := func() {
		if fakeLV != nil {
			if err := fakeworld.SaveFile(fakeLV.Conn(), snapshot); err != nil {
				fmt.Fprintf(out, "warning: saving the fake libvirt: %v\n", err)
			}
		}
	}
	defer saveFake()

	start := time.Now()
	progress := func(p okd.Progress) {
		line := fmt.Sprintf("%7.2fs  %-20s %s", time.Since(start).Seconds(), p.Step, p.Message)
		if p.Done {
			line += fmt.Sprintf(" (%s)", p.Elapsed.Round(time.Millisecond))
		}
		fmt.Fprintln(out, line)
	}
	lopts := []okd.LifecycleOption{
		okd.WithHypervisorDialer(dial),
		okd.WithNetworkMode(okd.NetworkMode(o.network)),
		okd.WithProgress(progress),
		okd.WithLifecycleLogger(logger),
		okd.WithForce(o.force),
		okd.WithStepHook(func(okd.Step) { saveFake() }),
	}
	if o.network == string(okd.NetworkEmbedded) {
		lopts = append(lopts, okd.WithEmbeddedAddrs("127.0.0.1:0", "127.0.0.1:0"))
	}
	if fake {
		// The fake libvirt keeps its pool directory under the artifacts, so
		// the example needs no root.
		lopts = append(lopts, okd.WithDomainType("qemu"), okd.WithPool("okvm-"+o.name, filepath.Join(dir, "pool")))
	}

	var world *fakeworld.World
	installDir := filepath.Join(dir, "install")
	if o.installer == "" {
		bin, err := buildFakeInstaller(dir)
		if err != nil {
			return err
		}
		if err := okdtest.WriteFakeScript(installDir, okdtest.FakeScript{Wait: "file"}); err != nil {
			return err
		}
		lopts = append(lopts, okd.WithInstallerBinary(bin), okd.WithKubeClient(func(context.Context, string) (kubernetes.Interface, error) {
			if world == nil {
				return nil, errors.New("fake cluster not running")
			}
			return world.Sim.Kube(), nil
		}))
	} else {
		lopts = append(lopts, okd.WithInstallerBinary(o.installer))
	}

	l, err := okd.NewLifecycle(spec, dir, lopts...)
	if err != nil {
		return err
	}
	defer l.Close()
	fmt.Fprintf(out, "okvm: cluster %s.%s, %d masters + %d workers, artifacts in %s\n", o.name, o.baseDomain, o.masters, o.workers, dir)
	if fake {
		fmt.Fprintln(out, "okvm: on fakes: in-memory libvirt, fake openshift-install, fake cluster (simulated kubelets)")
	}

	if o.destroy {
		if err := l.Destroy(ctx); err != nil {
			return err
		}
		fmt.Fprintln(out, "okvm: destroyed; what is left on the hypervisor:")
		return printLeftovers(ctx, dial, uri, o.name, out)
	}

	if o.installer == "" {
		wc, err := dial(ctx, uri)
		if err != nil {
			return err
		}
		defer wc.Close()
		world, err = fakeworld.Start(ctx, wc, fakeworld.Config{
			Cluster: o.name, InstallDir: installDir, Workers: o.workers, Logger: logger,
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
			return err
		}
		defer world.Close()
	}

	sum, err := l.Run(ctx)
	if err != nil {
		return err
	}
	if o.addWorkers > 0 {
		if err := l.AddWorkers(ctx, o.addWorkers); err != nil {
			return err
		}
		sum.Nodes = l.State().Summary.Nodes
	}
	st := l.State()
	switch {
	case sum.AlreadyInstalled && o.addWorkers > 0:
		fmt.Fprintf(out, "\nCluster %s was already installed; added %d workers.\n", o.name, o.addWorkers)
	case sum.AlreadyInstalled:
		fmt.Fprintf(out, "\nCluster %s was already installed (nothing to do; -destroy removes it).\n", o.name)
	default:
		fmt.Fprintf(out, "\nInstall complete in %s (bootstrap removed %s after bootstrap-complete).\n", sum.Elapsed.Round(time.Millisecond), st.BootstrapRemovedIn.Round(time.Millisecond))
	}
	fmt.Fprintf(out, "  console:    %s\n  API:        %s\n  kubeconfig: %s\n  password:   %s (file)\n", sum.ConsoleURL, sum.APIURL, sum.Kubeconfig, sum.Password)
	names := make([]string, 0, len(st.Nodes))
	for name, n := range st.Nodes {
		if !n.Removed {
			names = append(names, name)
		}
	}
	// master-0… before worker-0…, and worker-2 before worker-10.
	sort.Slice(names, func(i, j int) bool {
		if len(names[i]) != len(names[j]) && names[i][:6] == names[j][:6] {
			return len(names[i]) < len(names[j])
		}
		return names[i] < names[j]
	})
	for _, name := range names {
		n := st.Nodes[name]
		fmt.Fprintf(out, "  node %-10s %-32s %-15s %s (%s)\n", n.Role, n.FQDN, n.IP, n.Interface, n.MAC)
	}
	fmt.Fprintf(out, "Artifacts: %s\n", dir)
	return nil
}

// printLeftovers lists the cluster's domains, the pool's volumes and the
// network that remain (nothing, after Destroy).
func printLeftovers(ctx context.Context, dial okd.HypervisorDialer, uri, name string, out io.Writer) error {
	c, err := dial(ctx, uri)
	if err != nil {
		return err
	}
	defer c.Close()
	doms, err := c.ListDomains(ctx, map[string]string{"cluster": name})
	if err != nil {
		return err
	}
	vols, err := c.ListVolumes(ctx, "okvm-"+name)
	if err != nil && !errors.Is(err, kvm.ErrNotFound) {
		return err
	}
	_, nerr := c.NetworkXML(ctx, "okvm-"+name)
	fmt.Fprintf(out, "  domains: %d, volumes: %d, network present: %v\n", len(doms), len(vols), nerr == nil)
	return nil
}

// buildFakeInstaller builds okdtest's fake openshift-install into <dir>/bin
// once. `go run` implies the Go toolchain is here.
func buildFakeInstaller(dir string) (string, error) {
	bin := filepath.Join(dir, "bin", "fake-openshift-install")
	cmd := exec.Command("go", "build", "-o", bin, okdtest.FakeInstallerPackage)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building the fake openshift-install: %w", err)
	}
	return bin, nil
}

// sshPublicKey makes (once) the key pair nodes authorize for user core.
func sshPublicKey(dir string) (string, error) {
	pubPath := filepath.Join(dir, "id_ed25519.pub")
	if b, err := os.ReadFile(pubPath); err == nil {
		return string(b), nil
	}
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return "", err
	}
	block, err := ssh.MarshalPrivateKey(priv, "okvm example")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "id_ed25519"), pemEncode(block), 0o600); err != nil {
		return "", err
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "", err
	}
	line := string(ssh.MarshalAuthorizedKey(sp))
	return line, os.WriteFile(pubPath, []byte(line), 0o644)
}

// placeholderImage stands in for the CoreOS qcow2 on the fake libvirt,
// which stores the bytes but never boots them.
func placeholderImage(dir string) (string, error) {
	p := filepath.Join(dir, "cache", "placeholder-coreos.qcow2")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte("okvm placeholder image"))
	return p, os.WriteFile(p, append([]byte("QFI\xfb okvm placeholder, never booted\n"), sum[:]...), 0o644)
}

// placeholderQcow2 is a real (empty) qcow2 for a real libvirt, which checks
// the backing file of every overlay.
func placeholderQcow2(dir string) (string, error) {
	p := filepath.Join(dir, "cache", "placeholder-coreos.qcow2")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", err
	}
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", p, "1G").CombinedOutput(); err != nil {
		return "", fmt.Errorf("qemu-img create: %v: %s", err, out)
	}
	return p, nil
}

func pemEncode(b *pem.Block) []byte { return pem.EncodeToMemory(b) }
