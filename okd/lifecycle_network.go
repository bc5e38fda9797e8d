package okd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/okvm/okvm/kvm"
	"github.com/okvm/okvm/netprov"
)

// stepNetwork creates the cluster network on every hypervisor and delivers
// DNS and DHCP by the chosen path. The load balancer configuration
// (HAProxy) is always rendered to <dir>/network/haproxy.cfg: okvm plans the
// LB, the host runs it.
func (l *Lifecycle) stepNetwork(ctx context.Context) error {
	plan, err := l.plan()
	if err != nil {
		return err
	}
	spec := kvm.NetworkSpec{
		Name:   l.networkName(),
		Mode:   "nat",
		Bridge: bridgeName(l.spec.Name),
		CIDR:   plan.Network.String(),
	}
	if l.netMode == NetworkLibvirt {
		spec.Domain = plan.Domain
		for _, r := range plan.Reservations() {
			spec.Reservations = append(spec.Reservations, kvm.DHCPHost{MAC: r.MAC.String(), IP: r.IP.String(), Name: r.Hostname})
		}
		spec.DNSHosts = libvirtDNSHosts(plan)
		spec.DnsmasqOptions = []string{kvm.AppsWildcard(l.spec.Name, l.spec.BaseDomain, plan.Ingress.String())}
	}
	for _, uri := range l.hypervisors() {
		c, err := l.client(ctx, uri)
		if err != nil {
			return err
		}
		if err := c.DefineNetwork(ctx, spec); err != nil {
			return err
		}
		if err := c.StartNetwork(ctx, spec.Name); err != nil {
			return err
		}
	}
	if err := l.renderNetwork(plan); err != nil {
		return err
	}
	l.report(Progress{Step: StepNetwork, Message: fmt.Sprintf("network %s (%s) via %s: api/api-int/*.apps → %s, %d reservations",
		spec.Name, plan.Network, l.netMode, plan.API, len(plan.Reservations()))})
	return nil
}

// libvirtDNSHosts are the host records the libvirt network's dnsmasq serves:
// api and api-int on the load balancer, and every node (dnsmasq answers
// their PTR queries from the same entries).
func libvirtDNSHosts(plan *netprov.Plan) []kvm.DNSHost {
	hosts := []kvm.DNSHost{{IP: plan.API.String(), Hostnames: []string{"api." + plan.Domain, "api-int." + plan.Domain}}}
	for _, n := range plan.Nodes {
		hosts = append(hosts, kvm.DNSHost{IP: n.IP.String(), Hostnames: []string{n.FQDN}})
	}
	return hosts
}

// bridgeName is a Linux bridge name (≤15 bytes) unique per cluster name.
func bridgeName(cluster string) string {
	var h uint32 = 2166136261
	for i := 0; i < len(cluster); i++ {
		h = (h ^ uint32(cluster[i])) * 16777619
	}
	return fmt.Sprintf("okv%08x", h)
}

// renderNetwork writes the plan for the team's own servers (all of it in
// NetworkRendered mode, the HAProxy configuration in every mode).
func (l *Lifecycle) renderNetwork(plan *netprov.Plan) error {
	dir := filepath.Join(l.dir, "network")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	files := map[string][]byte{"haproxy.cfg": plan.RenderHAProxy()}
	if l.netMode == NetworkRendered {
		fwd, rev := plan.RenderBIND()
		files["forward.zone"] = fwd
		files["reverse.zone"] = rev
		files["named.conf"] = plan.RenderBINDConf("forward.zone", "reverse.zone")
		files["dnsmasq.conf"] = plan.RenderDnsmasq()
		files["kea-dhcp4.conf"] = plan.RenderKea()
		files["dhcpd.conf"] = plan.RenderDhcpd()
		files["hosts"] = plan.RenderHosts()
	}
	for name, b := range files {
		if err := writeFileAtomic(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// applyNetworkRemoval takes the bootstrap out of DNS, DHCP and the load
// balancer pools on the path in use.
func (l *Lifecycle) applyNetworkRemoval(ctx context.Context, plan *netprov.Plan, bs *NodeState) error {
	switch l.netMode {
	case NetworkLibvirt:
		c, err := l.client(ctx, bs.Hypervisor)
		if err != nil {
			return err
		}
		if err := c.RemoveDHCPHost(ctx, l.networkName(), bs.MAC); err != nil && !errors.Is(err, kvm.ErrNotFound) {
			return err
		}
		if err := c.RemoveDNSHost(ctx, l.networkName(), bs.IP.String()); err != nil && !errors.Is(err, kvm.ErrNotFound) {
			return err
		}
	case NetworkEmbedded:
		if l.dnsServer != nil {
			if err := l.dnsServer.SetZones(ctx, plan.Zones()); err != nil {
				return err
			}
		}
		if l.dhcpServer != nil {
			if err := l.dhcpServer.SetReservations(ctx, plan.Reservations()); err != nil {
				return err
			}
		}
	}
	return l.renderNetwork(plan)
}

// startEmbedded starts the embedded DNS and DHCP servers on the current
// plan (NetworkEmbedded). They live as long as this process runs the
// lifecycle; a rerun starts them again.
func (l *Lifecycle) startEmbedded(ctx context.Context) error {
	if l.dnsServer != nil {
		return nil
	}
	plan, err := l.plan()
	if err != nil {
		return err
	}
	dnsSrv, err := netprov.NewDNSServer(plan.Zones(), netprov.WithAddr(l.dnsAddr), netprov.WithLogger(l.log))
	if err != nil {
		return err
	}
	if err := dnsSrv.Start(ctx); err != nil {
		return fmt.Errorf("okd: embedded DNS on %s: %w", l.dnsAddr, err)
	}
	dhcpSrv, err := netprov.NewDHCPServer(plan.Reservations(), netprov.WithAddr(l.dhcpAddr), netprov.WithLogger(l.log),
		netprov.WithServerID(plan.Gateway))
	if err != nil {
		_ = dnsSrv.Shutdown(context.WithoutCancel(ctx))
		return err
	}
	if err := dhcpSrv.Start(ctx); err != nil {
		_ = dnsSrv.Shutdown(context.WithoutCancel(ctx))
		return fmt.Errorf("okd: embedded DHCP on %s: %w", l.dhcpAddr, err)
	}
	l.dnsServer, l.dhcpServer = dnsSrv, dhcpSrv
	l.report(Progress{Step: StepNetwork, Message: fmt.Sprintf("embedded DNS on %s, DHCP on %s", dnsSrv.Addr(), dhcpSrv.Addr())})
	return nil
}

// EmbeddedAddrs reports where the embedded servers listen ("" when not
// running).
func (l *Lifecycle) EmbeddedAddrs() (dns, dhcp string) {
	if l.dnsServer != nil {
		dns = l.dnsServer.Addr()
	}
	if l.dhcpServer != nil {
		dhcp = l.dhcpServer.Addr()
	}
	return dns, dhcp
}
