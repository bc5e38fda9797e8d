package okd

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/okvm/okvm/ignition"
	"github.com/okvm/okvm/kvm"
	"github.com/okvm/okvm/netprov"
)

// ErrDeadlinePassed: the bootstrap certificates are past their half-life
// (or expired); booting now risks the install dying mid-way with
// "x509: certificate has expired". Regenerate in a new directory, or force.
var ErrDeadlinePassed = errors.New("okd: bootstrap certificate deadline passed")

// domainName is the libvirt domain of a machine: the cluster name first, so
// two clusters on one host never collide.
func (l *Lifecycle) domainName(machine string) string { return l.spec.Name + "-" + machine }

// networkName is the cluster's libvirt network.
func (l *Lifecycle) networkName() string { return "okvm-" + l.spec.Name }

// baseVolume is the CoreOS image every node's overlay is backed by.
func (l *Lifecycle) baseVolume() string { return l.spec.Name + "-base.qcow2" }

func (l *Lifecycle) labels(n *NodeState) map[string]string {
	return map[string]string{"cluster": l.spec.Name, "role": string(n.Role), "node": n.Name}
}

// stepPlan fixes every machine's name, MAC and address. MACs derive from the
// domain name (kvm.NICMAC), so the DHCP reservation exists before the VM.
func (l *Lifecycle) stepPlan(ctx context.Context) error {
	machines := l.spec.Machines()
	prefix, err := netip.ParsePrefix(l.spec.Network.MachineCIDR)
	if err != nil {
		return fmt.Errorf("%w: network.machineCIDR: %q: %v", ErrInvalid, l.spec.Network.MachineCIDR, err)
	}
	gw := prefix.Masked().Addr().Next()
	ps := netprov.PlanSpec{
		ClusterName:    l.spec.Name,
		BaseDomain:     l.spec.BaseDomain,
		MachineNetwork: prefix.Masked(),
		Gateway:        gw,
		// The hypervisor host is the load balancer (as in the installer's
		// libvirt CI): api, api-int and *.apps point at the bridge address.
		APIAddress: gw,
	}
	for _, m := range machines {
		dom := l.domainName(m.Name)
		ps.Nodes = append(ps.Nodes, netprov.NodeSpec{Name: m.Name, Role: netprov.Role(m.Role), MAC: kvm.NICMAC(dom, 0)})
	}
	plan, err := netprov.NewPlan(ps)
	if err != nil {
		return err
	}
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	for i, m := range machines {
		pn, _ := plan.Node(m.Name)
		ps.Nodes[i].IP = pn.IP // pinned: reruns keep the addresses
		if _, ok := l.state.Nodes[m.Name]; ok {
			continue
		}
		l.state.Nodes[m.Name] = &NodeState{
			Name: m.Name, Role: m.Role, Domain: l.domainName(m.Name), FQDN: pn.FQDN,
			Hypervisor: m.Hypervisor.URI, MAC: ps.Nodes[i].MAC, IP: pn.IP,
		}
	}
	l.state.Network = &ps
	return nil
}

// plan rebuilds the network plan from the pinned state, without the nodes
// that were removed (the bootstrap, once it is gone).
func (l *Lifecycle) plan() (*netprov.Plan, error) {
	if l.state.Network == nil {
		return nil, fmt.Errorf("okd: no network plan in state (step %s not done)", StepPlan)
	}
	ps := *l.state.Network
	ps.Nodes = nil
	for _, n := range l.state.Network.Nodes {
		if st, ok := l.state.Nodes[n.Name]; ok && st.Removed {
			continue
		}
		ps.Nodes = append(ps.Nodes, n)
	}
	return netprov.NewPlan(ps)
}

func (l *Lifecycle) stepInstallConfig(ctx context.Context) error {
	ic, err := NewInstallConfig(l.spec)
	if err != nil {
		return err
	}
	_, err = WriteInstallConfig(l.installDir(), ic)
	return err
}

// stepManifests runs `create manifests` and the UPI patch. The installer
// consumes install-config.yaml, so a rerun after a crash finds one of:
// the input still there (run again), or manifests/ without it (the
// installer finished; only the patch, which is idempotent, may be missing).
func (l *Lifecycle) stepManifests(ctx context.Context) error {
	dir := l.installDir()
	haveInput := exists(filepath.Join(dir, InstallConfigFile))
	haveManifests := exists(filepath.Join(dir, SchedulerManifest))
	switch {
	case !haveInput && haveManifests:
		p, err := PatchManifests(dir, l.spec.MastersSchedulable())
		if err != nil {
			return err
		}
		l.report(Progress{Step: StepManifests, Message: fmt.Sprintf("manifests already created by an earlier run; UPI patch applied (%d removed)", len(p.Removed))})
		return nil
	case !haveInput:
		// Neither: the installer died half-way through. Start from the
		// input again (nothing has booted: no certificate is in use yet).
		if err := l.stepInstallConfig(ctx); err != nil {
			return err
		}
	}
	_, err := l.installer.CreateManifests(ctx, l.spec.MastersSchedulable())
	return err
}

// ignitionOutputs are the files `create ignition-configs` leaves.
var ignitionOutputs = []string{"bootstrap.ign", "master.ign", "worker.ign", "metadata.json", "auth/kubeconfig", "auth/kubeadmin-password"}

// stepIgnitionConfigs runs `create ignition-configs`, which consumes the
// manifests. A rerun after a crash finds every output there and the
// manifests gone (done: running it again would fail for want of input, or
// worse, mint new certificates), or the manifests still there (run again),
// or neither (redo install-config and manifests first).
func (l *Lifecycle) stepIgnitionConfigs(ctx context.Context) error {
	dir := l.installDir()
	complete := true
	for _, f := range ignitionOutputs {
		if !exists(filepath.Join(dir, f)) {
			complete = false
		}
	}
	haveManifests := exists(filepath.Join(dir, "manifests"))
	switch {
	case complete && !haveManifests:
		l.report(Progress{Step: StepIgnitionConfigs, Message: "Ignition configs already created by an earlier run"})
		return nil
	case !haveManifests && !exists(filepath.Join(dir, InstallConfigFile)):
		if err := l.stepManifests(ctx); err != nil {
			return err
		}
	}
	_, err := l.installer.CreateIgnitionConfigs(ctx)
	return err
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// stepDeadline reads the bootstrap certificates' deadline from
// bootstrap.ign (never assumed to be 24 h) and refuses to go on after the
// soft deadline unless forced.
func (l *Lifecycle) stepDeadline(ctx context.Context) error {
	raw, err := os.ReadFile(filepath.Join(l.installDir(), "bootstrap.ign"))
	if err != nil {
		return fmt.Errorf("okd: bootstrap.ign: %w", err)
	}
	d, err := ignition.ReadDeadline(raw)
	if err != nil {
		return err
	}
	l.stateMu.Lock()
	l.state.Deadline = d
	l.stateMu.Unlock()
	l.report(Progress{Step: StepDeadline, Message: fmt.Sprintf("bootstrap certificates: soft deadline %s (%s), hard %s (%s)",
		d.Soft.UTC().Format(time.RFC3339), d.SoftCert.Path, d.Hard.UTC().Format(time.RFC3339), d.HardCert.Path), Deadline: d.Soft})
	return l.checkDeadline()
}

func (l *Lifecycle) checkDeadline() error {
	d := l.state.Deadline
	if d == nil {
		return nil
	}
	now := l.now()
	switch {
	case now.After(d.Hard):
		return fmt.Errorf("%w: %s expired at %s; regenerate the configs in a new directory", ErrDeadlinePassed, d.HardCert.Path, d.Hard.UTC().Format(time.RFC3339))
	case now.After(d.Soft) && !l.force:
		return fmt.Errorf("%w: half-life of %s was %s; regenerate, or force to boot anyway", ErrDeadlinePassed, d.SoftCert.Path, d.Soft.UTC().Format(time.RFC3339))
	}
	return nil
}

// stepImage makes the pool and the base image exist on every hypervisor.
func (l *Lifecycle) stepImage(ctx context.Context) error {
	img, err := l.openBootImage()
	if err != nil {
		return err
	}
	defer img.Close()
	for _, uri := range l.hypervisors() {
		c, err := l.client(ctx, uri)
		if err != nil {
			return err
		}
		if err := c.EnsureDirPool(ctx, l.pool, l.poolDir); err != nil {
			return err
		}
		_, err = c.Volume(ctx, l.pool, l.baseVolume())
		switch {
		case err == nil && slices.Contains(l.state.BaseImages, uri):
			continue // uploaded by an earlier run
		case err == nil:
			// Left by a run that crashed during the upload: its bytes
			// cannot be trusted. Nothing is backed by it yet (the VMs come
			// after this step).
			l.log.Warn("replacing a base image whose upload did not finish", "volume", l.baseVolume(), "hypervisor", uri)
			if err := c.DeleteVolume(ctx, l.pool, l.baseVolume()); err != nil && !errors.Is(err, kvm.ErrNotFound) {
				return err
			}
		case !errors.Is(err, kvm.ErrNotFound):
			return err
		}
		if err := l.uploadVolume(ctx, c, l.baseVolume(), "qcow2", img); err != nil {
			return err
		}
		l.stateMu.Lock()
		if !slices.Contains(l.state.BaseImages, uri) {
			l.state.BaseImages = append(l.state.BaseImages, uri)
		}
		l.stateMu.Unlock()
		if err := l.saveState(); err != nil {
			return err
		}
		l.report(Progress{Step: StepImage, Message: fmt.Sprintf("base image %s uploaded to %s (%d bytes)", l.baseVolume(), uri, img.Size())})
	}
	return nil
}

// uploadVolume creates a volume of exactly the content's size and uploads it;
// an upload that fails leaves no volume behind.
func (l *Lifecycle) uploadVolume(ctx context.Context, c *kvm.Client, name, format string, src sizedReader) error {
	if _, err := src.Seek(0, 0); err != nil {
		return err
	}
	if _, err := c.CreateVolume(ctx, l.pool, kvm.VolumeSpec{Name: name, Format: format, CapacityBytes: uint64(src.Size())}); err != nil {
		return err
	}
	if err := c.Upload(ctx, l.pool, name, src, src.Size()); err != nil {
		_ = c.DeleteVolume(context.WithoutCancel(ctx), l.pool, name)
		return err
	}
	return nil
}

// stepControlPlane defines the bootstrap and master VMs and writes their
// Ignition.
func (l *Lifecycle) stepControlPlane(ctx context.Context) error {
	return l.defineNodes(ctx, l.state.sortedNodes(RoleBootstrap, RoleMaster))
}

func (l *Lifecycle) stepStartControlPlane(ctx context.Context) error {
	if err := l.checkDeadline(); err != nil {
		return err
	}
	return l.startNodes(ctx, l.state.sortedNodes(RoleBootstrap, RoleMaster))
}

// stepBootstrapComplete waits for the installer; on failure it gathers the
// bootstrap logs (best effort) before returning the installer's error.
func (l *Lifecycle) stepBootstrapComplete(ctx context.Context) error {
	err := l.installer.WaitForBootstrapComplete(ctx)
	if err == nil || ctx.Err() != nil {
		return err
	}
	o := GatherOptions{}
	for _, n := range l.state.sortedNodes(RoleBootstrap, RoleMaster) {
		if n.Role == RoleBootstrap {
			o.BootstrapIP = n.IP.String()
		} else {
			o.MasterIPs = append(o.MasterIPs, n.IP.String())
		}
	}
	if bundle, gerr := l.installer.GatherBootstrap(ctx, o); gerr == nil {
		l.report(Progress{Step: StepBootstrapComplete, Message: "bootstrap logs gathered in " + bundle})
	} else {
		l.log.Warn("gather bootstrap failed", "err", gerr)
	}
	return err
}

// stepRemoveBootstrap removes the bootstrap from the load balancer, DNS and
// DHCP, then its VM, overlay and Ignition volume, as soon as
// bootstrap-complete holds (reference §6).
func (l *Lifecycle) stepRemoveBootstrap(ctx context.Context) error {
	t0 := l.now()
	var bs *NodeState
	for _, n := range l.state.Nodes {
		if n.Role == RoleBootstrap {
			bs = n
		}
	}
	if bs == nil { // single node with bootstrap-in-place, or already gone
		return nil
	}
	l.stateMu.Lock()
	bs.Removed = true // the plan drops it from here on
	l.stateMu.Unlock()
	plan, err := l.plan()
	if err != nil {
		return err
	}
	// The load balancer first (reference §6): from here on no request
	// reaches the bootstrap, so DNS/DHCP and the VM can go at the same time.
	if err := l.renderNetwork(plan); err != nil {
		return err
	}
	c, err := l.client(ctx, bs.Hypervisor)
	if err != nil {
		return err
	}
	var tNet time.Duration
	netDone := make(chan error, 1)
	go func() {
		n0 := l.now()
		err := l.applyNetworkRemoval(ctx, plan, bs)
		tNet = l.now().Sub(n0)
		netDone <- err
	}()
	v0 := l.now()
	vmErr := c.Remove(ctx, bs.Domain)
	tVM := l.now().Sub(v0)
	if err := <-netDone; err != nil {
		return err
	}
	if vmErr != nil {
		return vmErr
	}
	for _, v := range []string{bs.Domain + ".qcow2", bs.Domain + ".ign"} {
		if err := c.DeleteVolume(ctx, l.pool, v); err != nil && !errors.Is(err, kvm.ErrNotFound) {
			return err
		}
	}
	l.stateMu.Lock()
	l.state.BootstrapRemovedIn = l.now().Sub(t0)
	l.stateMu.Unlock()
	// The phases are reported because on a real host they dominate (dnsmasq
	// reloads, QEMU exiting on SIGTERM) and users ask where the time went.
	l.report(Progress{Step: StepRemoveBootstrap, Message: fmt.Sprintf("bootstrap %s removed (LB, DNS, DHCP, VM, overlay) in %s: DNS/DHCP %s, VM %s (in parallel)",
		bs.Domain, l.state.BootstrapRemovedIn.Round(time.Millisecond), tNet.Round(time.Millisecond), tVM.Round(time.Millisecond))})
	return nil
}

// stepWorkers defines and starts the workers; the approver (started before
// this step) already has them on its allow-list.
func (l *Lifecycle) stepWorkers(ctx context.Context) error {
	workers := l.state.sortedNodes(RoleWorker)
	if err := l.defineNodes(ctx, workers); err != nil {
		return err
	}
	if err := l.expectNodes(workers); err != nil {
		return err
	}
	return l.startNodes(ctx, workers)
}

func (l *Lifecycle) stepInstallComplete(ctx context.Context) error {
	sum, err := l.installer.WaitForInstallComplete(ctx)
	if err != nil {
		return err
	}
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	l.state.Summary = &Summary{
		Cluster:    l.spec.Name,
		ConsoleURL: sum.ConsoleURL,
		Kubeconfig: sum.Kubeconfig,
	}
	return nil
}

func (l *Lifecycle) stepSummary(ctx context.Context) error {
	l.stopApprover()
	l.stateMu.Lock()
	s := l.state.Summary
	if s == nil {
		s = &Summary{Cluster: l.spec.Name}
		l.state.Summary = s
	}
	dom := l.spec.ClusterDomain()
	if s.ConsoleURL == "" {
		s.ConsoleURL = "https://console-openshift-console.apps." + dom
	}
	if s.Kubeconfig == "" {
		s.Kubeconfig = filepath.Join(l.installDir(), "auth", "kubeconfig")
	}
	s.APIURL = "https://api." + dom + ":6443"
	s.Password = filepath.Join(l.installDir(), "auth", "kubeadmin-password")
	s.Nodes = nil
	for _, n := range l.state.sortedNodes(RoleMaster, RoleWorker) {
		s.Nodes = append(s.Nodes, n.FQDN)
	}
	l.stateMu.Unlock()
	l.report(Progress{Step: StepSummary, Message: "console " + s.ConsoleURL + ", kubeconfig " + s.Kubeconfig})
	return nil
}
