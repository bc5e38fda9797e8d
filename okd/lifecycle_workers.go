package okd

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/okvm/okvm/kvm"
	"github.com/okvm/okvm/netprov"
)

// StepAddWorkers labels the progress of AddWorkers.
const StepAddWorkers Step = "add-workers"

// nodeReadyPoll is how often AddWorkers looks at the new Node objects.
const nodeReadyPoll = 250 * time.Millisecond

// AddWorkers adds n workers to the installed cluster, the same way the
// install added its own: they are planned (the existing addresses stay
// pinned; the removed bootstrap's address is not reused), their DHCP
// reservations and DNS records go onto the path in use (the libvirt
// network's dnsmasq, the embedded servers, or the rendered files), their VMs
// are defined with per-node Ignition from worker.ign and started, and the
// CSR approver runs — with the new nodes on its allow-list — until every one
// of them is Ready. The state is saved as it goes.
//
// After a crash, calling AddWorkers again with the same n finishes the
// workers the interrupted call planned instead of planning n more.
// Cancelling ctx stops it; the VMs already started keep running.
func (l *Lifecycle) AddWorkers(ctx context.Context, n int) error {
	if n < 1 {
		return fmt.Errorf("okd: %w: AddWorkers: n: %d: must be at least 1", ErrInvalid, n)
	}
	if l.state.Destroyed {
		return fmt.Errorf("okd: cluster %q was destroyed; use a new directory", l.spec.Name)
	}
	if !l.state.done(StepInstallComplete) {
		return fmt.Errorf("okd: AddWorkers: the install has not completed (run it first): step %s not done", StepInstallComplete)
	}
	defer l.stopServices()
	t0 := l.now()
	nodes, err := l.planWorkers(n)
	if err != nil {
		return err
	}
	names := make([]string, len(nodes))
	for i, nd := range nodes {
		names[i] = nd.Name
	}
	l.report(Progress{Step: StepAddWorkers, Message: fmt.Sprintf("adding %s", strings.Join(names, ", "))})
	plan, err := l.plan()
	if err != nil {
		return err
	}
	if err := l.applyNetworkAddition(ctx, plan, nodes); err != nil {
		return err
	}
	if err := l.defineNodes(ctx, nodes); err != nil {
		return err
	}
	if l.approver == nil {
		if err := l.startApprover(ctx); err != nil { // allow-list: every node, the new ones too
			return err
		}
	} else if err := l.expectNodes(nodes); err != nil {
		return err
	}
	if err := l.startNodes(ctx, nodes); err != nil {
		return err
	}
	kc, err := l.kube(ctx, l.kubeconfigPath())
	if err != nil {
		return fmt.Errorf("okd: cluster client: %w", err)
	}
	if err := l.waitNodesReady(ctx, kc, nodes); err != nil {
		return err
	}
	l.stopApprover()
	l.stateMu.Lock()
	l.state.AddingWorkers = nil
	if s := l.state.Summary; s != nil {
		s.Nodes = nil
		for _, nd := range l.state.sortedNodes(RoleMaster, RoleWorker) {
			s.Nodes = append(s.Nodes, nd.FQDN)
		}
	}
	l.stateMu.Unlock()
	if err := l.saveState(); err != nil {
		return err
	}
	l.report(Progress{Step: StepAddWorkers, Message: fmt.Sprintf("%d workers Ready", len(nodes)), Done: true, Elapsed: l.now().Sub(t0)})
	return nil
}

// planWorkers returns the workers an interrupted AddWorkers planned, plus
// new ones up to n, with addresses from the pinned plan, and saves them.
func (l *Lifecycle) planWorkers(n int) ([]*NodeState, error) {
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	var out []*NodeState
	for _, name := range l.state.AddingWorkers {
		if nd, ok := l.state.Nodes[name]; ok {
			out = append(out, nd)
		}
	}
	if len(out) >= n {
		return out, nil
	}
	if l.state.Network == nil {
		return nil, fmt.Errorf("okd: no network plan in state (step %s not done)", StepPlan)
	}
	hv := l.spec.Hypervisors
	next, slot := 0, 0
	for _, nd := range l.state.Nodes {
		if nd.Role == RoleWorker {
			if i, err := strconv.Atoi(strings.TrimPrefix(nd.Name, "worker-")); err == nil && i >= next {
				next = i + 1
			}
		}
		if nd.Role != RoleBootstrap {
			slot++
		}
	}
	// The full pinned spec, bootstrap included: its address stays taken
	// (it may still sit in ARP and DNS caches).
	ps := *l.state.Network
	ps.Nodes = slices.Clone(ps.Nodes)
	var added []string
	for len(out)+len(added) < n {
		name := fmt.Sprintf("worker-%d", next)
		next++
		ps.Nodes = append(ps.Nodes, netprov.NodeSpec{Name: name, Role: netprov.Role(RoleWorker), MAC: kvm.NICMAC(l.domainName(name), 0)})
		added = append(added, name)
	}
	plan, err := netprov.NewPlan(ps)
	if err != nil {
		return nil, fmt.Errorf("okd: AddWorkers: plan: %w", err)
	}
	for _, name := range added {
		pn, _ := plan.Node(name)
		nd := &NodeState{
			Name: name, Role: RoleWorker, Domain: l.domainName(name), FQDN: pn.FQDN,
			Hypervisor: hv[slot%len(hv)].URI, MAC: pn.MAC.String(), IP: pn.IP,
		}
		slot++
		l.state.Nodes[name] = nd
		out = append(out, nd)
	}
	spec := plan.Spec()
	l.state.Network = &spec
	l.state.AddingWorkers = append(l.state.AddingWorkers, added...)
	return out, l.state.save(l.dir)
}

// applyNetworkAddition puts new nodes into DHCP, DNS and the rendered
// files on the path in use.
func (l *Lifecycle) applyNetworkAddition(ctx context.Context, plan *netprov.Plan, nodes []*NodeState) error {
	switch l.netMode {
	case NetworkLibvirt:
		res := map[string]netprov.Reservation{}
		for _, r := range plan.Reservations() {
			res[r.MAC.String()] = r
		}
		for _, uri := range l.hypervisors() {
			c, err := l.client(ctx, uri)
			if err != nil {
				return err
			}
			for _, nd := range nodes {
				h := kvm.DHCPHost{MAC: nd.MAC, IP: nd.IP.String(), Name: nd.FQDN}
				if r, ok := res[nd.MAC]; ok {
					h.Name = r.Hostname
				}
				if err := c.SetDHCPHost(ctx, l.networkName(), h); err != nil {
					return err
				}
				if err := c.SetDNSHost(ctx, l.networkName(), kvm.DNSHost{IP: nd.IP.String(), Hostnames: []string{nd.FQDN}}); err != nil {
					return err
				}
			}
		}
	case NetworkEmbedded:
		if l.dnsServer == nil {
			// Started on the new plan: it already has the new nodes.
			if err := l.startEmbedded(ctx); err != nil {
				return err
			}
			break
		}
		if err := l.dnsServer.SetZones(ctx, plan.Zones()); err != nil {
			return err
		}
		if err := l.dhcpServer.SetReservations(ctx, plan.Reservations()); err != nil {
			return err
		}
	}
	return l.renderNetwork(plan)
}

// waitNodesReady polls the Node objects until every one of nodes is Ready.
func (l *Lifecycle) waitNodesReady(ctx context.Context, kc kubernetes.Interface, nodes []*NodeState) error {
	pending := map[string]bool{}
	for _, nd := range nodes {
		pending[nd.FQDN] = true
	}
	tick := time.NewTicker(nodeReadyPoll)
	defer tick.Stop()
	for {
		for name := range pending {
			node, err := kc.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				continue // not registered yet (or a transient API error)
			}
			if nodeReady(node) {
				delete(pending, name)
				l.report(Progress{Step: StepAddWorkers, Message: name + " Ready"})
			}
		}
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			var left []string
			for name := range pending {
				left = append(left, name)
			}
			slices.Sort(left)
			return fmt.Errorf("okd: AddWorkers: waiting for %s to be Ready: %w", strings.Join(left, ", "), ctx.Err())
		case <-tick.C:
		}
	}
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
