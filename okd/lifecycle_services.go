package okd

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// stepIndex is a step's position in Steps.
func stepIndex(s Step) int { return slices.Index(Steps(), s) }

// resumeServices (re)starts what lives only as long as this process: the
// embedded DNS/DHCP servers from the network step on, and the CSR approver
// once the bootstrap is gone and until install-complete.
func (l *Lifecycle) resumeServices(ctx context.Context, next Step) error {
	i := stepIndex(next)
	if l.netMode == NetworkEmbedded && i > stepIndex(StepNetwork) && l.state.done(StepNetwork) {
		if err := l.startEmbedded(ctx); err != nil {
			return err
		}
	}
	if l.netMode == NetworkEmbedded && next == StepNetwork {
		if err := l.startEmbedded(ctx); err != nil {
			return err
		}
	}
	if i >= stepIndex(StepWorkers) && i <= stepIndex(StepInstallComplete) && l.approver == nil {
		if err := l.startApprover(ctx); err != nil {
			return err
		}
	}
	return nil
}

// startApprover starts the allow-list CSR approver with every node okvm
// created that is still there (masters and the workers defined so far).
func (l *Lifecycle) startApprover(ctx context.Context) error {
	kc, err := l.kube(ctx, l.kubeconfigPath())
	if err != nil {
		return fmt.Errorf("okd: cluster client for the CSR approver: %w", err)
	}
	expected := l.expectedNodes(RoleMaster, RoleWorker)
	// The caller's WithDecisionFunc would replace the lifecycle's own (the
	// approver keeps one): read it out of the options and call both.
	var user approverConfig
	for _, o := range l.approverOpts {
		o(&user)
	}
	opts := append([]ApproverOption{WithApproverLogger(l.log)}, l.approverOpts...)
	opts = append(opts, WithDecisionFunc(func(d Decision) {
		if d.Approved {
			l.report(Progress{Step: Step("approver"), Message: fmt.Sprintf("approved %s CSR %s for %s", d.Kind, d.CSR, d.Node)})
		} else {
			l.report(Progress{Step: Step("approver"), Message: fmt.Sprintf("left %s CSR %s unapproved: %s", d.Kind, d.CSR, d.Reason)})
		}
		if user.onDecision != nil {
			user.onDecision(d)
		}
	}))
	a, err := NewApprover(kc, expected, opts...)
	if err != nil {
		return err
	}
	actx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- a.Run(actx) }()
	l.approver, l.approverStop, l.approverDone = a, cancel, done
	l.report(Progress{Step: Step("approver"), Message: fmt.Sprintf("CSR approver running for %d nodes", len(expected))})
	return nil
}

func (l *Lifecycle) kubeconfigPath() string { return l.installDir() + "/auth/kubeconfig" }

// expectedNodes is the approver's allow-list: nodes this lifecycle defined.
func (l *Lifecycle) expectedNodes(roles ...Role) []ExpectedNode {
	var out []ExpectedNode
	for _, n := range l.state.sortedNodes(roles...) {
		if n.Removed || n.CreatedAt.IsZero() {
			continue
		}
		out = append(out, l.expected(n))
	}
	return out
}

func (l *Lifecycle) expected(n *NodeState) ExpectedNode {
	short, _, _ := strings.Cut(n.FQDN, ".")
	return ExpectedNode{Name: n.FQDN, FQDN: n.FQDN, ShortName: short, IPs: nonZero(n.IP), CreatedAt: n.CreatedAt}
}

// expectNodes widens the running approver's allow-list.
func (l *Lifecycle) expectNodes(nodes []*NodeState) error {
	if l.approver == nil {
		return nil
	}
	var add []ExpectedNode
	for _, n := range nodes {
		if !n.CreatedAt.IsZero() && !n.Removed {
			add = append(add, l.expected(n))
		}
	}
	if len(add) == 0 {
		return nil
	}
	return l.approver.AddExpected(add...)
}

func (l *Lifecycle) stopApprover() {
	if l.approverStop == nil {
		return
	}
	l.approverStop()
	select {
	case <-l.approverDone:
	case <-time.After(5 * time.Second):
	}
	l.approver, l.approverStop, l.approverDone = nil, nil, nil
}

// stopServices stops the approver and the embedded servers.
func (l *Lifecycle) stopServices() {
	l.stopApprover()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if l.dnsServer != nil {
		_ = l.dnsServer.Shutdown(ctx)
		l.dnsServer = nil
	}
	if l.dhcpServer != nil {
		_ = l.dhcpServer.Shutdown(ctx)
		l.dhcpServer = nil
	}
}

// kubeFromKubeconfig is the default cluster client: the admin kubeconfig
// openshift-install wrote.
func kubeFromKubeconfig(ctx context.Context, path string) (kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

func nonZero(ips ...netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, ip := range ips {
		if ip.IsValid() {
			out = append(out, ip)
		}
	}
	return out
}
