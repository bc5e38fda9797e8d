package kvm

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	libvirt "github.com/digitalocean/go-libvirt"
)

// WaitForIP waits until the NIC with mac (the first NIC when mac is empty)
// of the domain has an IPv4 address and returns it. Sources, in order:
// the network's DHCP leases (NetworkGetDhcpLeases; where the driver has
// none, the domain's lease view, DomainInterfaceAddresses/lease), then the
// qemu guest agent (static addresses). It polls with backoff until ctx
// ends; the error then says what each source answered.
func (c *Client) WaitForIP(ctx context.Context, domain, mac string) (netip.Addr, error) {
	dom, err := c.lookupDomain(ctx, domain)
	if err != nil {
		return netip.Addr{}, err
	}
	x, err := c.domainXML(ctx, dom)
	if err != nil {
		return netip.Addr{}, err
	}
	var network string
	found := false
	for _, nic := range x.Devices.Interfaces {
		if nic.MAC == nil || (mac != "" && !macEqual(nic.MAC.Address, mac)) {
			continue
		}
		mac, found = nic.MAC.Address, true
		if nic.Source != nil && nic.Source.Network != nil {
			network = nic.Source.Network.Network
		}
		break
	}
	if !found {
		return netip.Addr{}, fieldErr("mac", mac, "domain %q has no such NIC", domain)
	}
	var net libvirt.Network
	haveNet := network != ""
	if haveNet {
		if net, err = c.lookupNetwork(ctx, network); err != nil {
			return netip.Addr{}, err
		}
	}
	leaseSrc, agentSrc := "not tried", "not tried"
	interval := c.opts.pollInterval
	for {
		// 1. The network's own lease table.
		if haveNet {
			ls, err := c.leases(ctx, net, mac)
			switch {
			case err == nil:
				leaseSrc = "no lease"
				for _, l := range ls {
					if macEqual(l.MAC, mac) && l.IP.Is4() {
						return l.IP, nil
					}
				}
			case errors.Is(err, ErrUnsupported):
				haveNet = false // e.g. the test driver: use the domain's lease view
			case ctx.Err() != nil:
			default:
				return netip.Addr{}, err
			}
		}
		if !haveNet {
			a, err := c.ifaceAddr(ctx, dom, mac, libvirt.DomainInterfaceAddressesSrcLease)
			if a.IsValid() {
				return a, nil
			}
			leaseSrc = describe(err, "no lease")
		}
		// 2. The guest agent (static IPs, bridges without our DHCP).
		a, err := c.ifaceAddr(ctx, dom, mac, libvirt.DomainInterfaceAddressesSrcAgent)
		if a.IsValid() {
			return a, nil
		}
		agentSrc = describe(err, "no address reported")

		select {
		case <-c.opts.clock.After(interval):
			interval = min(2*interval, c.opts.maxPoll)
		case <-ctx.Done():
			state := "unknown"
			if st, err := c.stateOf(context.WithoutCancel(ctx), dom); err == nil {
				state = st.String()
			}
			return netip.Addr{}, fmt.Errorf("kvm: no IPv4 address for %s of domain %q (state %s); leases: %s; guest agent: %s. "+
				"Check that the domain is running, that its network hands out DHCP (a range, or a reservation for this MAC), "+
				"and for static addresses that qemu-guest-agent runs in the guest: %w",
				mac, domain, state, leaseSrc, agentSrc, ctx.Err())
		}
	}
}

func describe(err error, none string) string {
	if err == nil {
		return none
	}
	s := err.Error()
	return strings.TrimPrefix(s, "kvm: ")
}

// ifaceAddr asks one DomainInterfaceAddresses source; its errors (agent not
// connected, domain not running) are reported, not fatal.
func (c *Client) ifaceAddr(ctx context.Context, dom libvirt.Domain, mac string, src libvirt.DomainInterfaceAddressesSource) (netip.Addr, error) {
	ifs, err := call(ctx, c, fmt.Sprintf("interface addresses of domain %q", dom.Name), func(l Libvirt) ([]libvirt.DomainInterface, error) {
		return l.DomainInterfaceAddresses(dom, uint32(src), 0)
	})
	if err != nil {
		return netip.Addr{}, err
	}
	for _, i := range ifs {
		if len(i.Hwaddr) == 0 || !macEqual(i.Hwaddr[0], mac) {
			continue
		}
		for _, a := range i.Addrs {
			if ip, err := netip.ParseAddr(a.Addr); err == nil && ip.Is4() && !ip.IsLoopback() {
				return ip, nil
			}
		}
	}
	return netip.Addr{}, nil
}
