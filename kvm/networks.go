package kvm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	libvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"
)

func (c *Client) lookupNetwork(ctx context.Context, name string) (libvirt.Network, error) {
	return call(ctx, c, fmt.Sprintf("look up network %q", name), func(l Libvirt) (libvirt.Network, error) {
		return l.NetworkLookupByName(name)
	})
}

// NetworkXML returns the network's persistent definition (with the DHCP
// and DNS hosts added since).
func (c *Client) NetworkXML(ctx context.Context, name string) (*libvirtxml.Network, error) {
	n, err := c.lookupNetwork(ctx, name)
	if err != nil {
		return nil, err
	}
	return c.networkXML(ctx, n)
}

// lookupNetworkXML finds a network and reads its persistent definition: the
// first two calls of every DHCP/DNS host update.
func (c *Client) lookupNetworkXML(ctx context.Context, name string) (libvirt.Network, *libvirtxml.Network, error) {
	n, err := c.lookupNetwork(ctx, name)
	if err != nil {
		return n, nil, err
	}
	x, err := c.networkXML(ctx, n)
	return n, x, err
}

func (c *Client) networkXML(ctx context.Context, n libvirt.Network) (*libvirtxml.Network, error) {
	op := fmt.Sprintf("read network %q", n.Name)
	s, err := call(ctx, c, op, func(l Libvirt) (string, error) {
		return l.NetworkGetXMLDesc(n, uint32(libvirt.NetworkXMLInactive))
	})
	if isCode(err, libvirt.ErrInvalidArg) {
		// The test driver knows no flags; its XML is the persistent one
		// whenever updates go to both live and config.
		s, err = call(ctx, c, op, func(l Libvirt) (string, error) { return l.NetworkGetXMLDesc(n, 0) })
	}
	if err != nil {
		return nil, err
	}
	var x libvirtxml.Network
	if err := x.Unmarshal(s); err != nil {
		return nil, fmt.Errorf("kvm: parse network %q: %w", n.Name, err)
	}
	return &x, nil
}

// DefineNetwork makes the network exist as spec describes. The same spec
// again is a no-op; a changed spec redefines an inactive network (same
// UUID) and fails with ErrConflict for an active one (change reservations
// and DNS hosts of a running network with SetDHCPHost/SetDNSHost). A
// network of that name that okvm did not define fails with ErrExists.
func (c *Client) DefineNetwork(ctx context.Context, spec NetworkSpec) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	hash := networkHash(spec)
	x, err := buildNetwork(spec, hash)
	if err != nil {
		return err
	}
	n, err := c.lookupNetwork(ctx, spec.Name)
	switch {
	case err == nil:
		old, err := c.networkXML(ctx, n)
		if err != nil {
			return err
		}
		var inner string
		if old.Metadata != nil {
			inner = old.Metadata.XML
		}
		_, oldHash, ours := decodeMeta(inner)
		if !ours {
			return fmt.Errorf("kvm: define network %q: %w: it exists and was not defined by okvm", spec.Name, ErrExists)
		}
		if oldHash == hash {
			return nil
		}
		active, err := c.networkActive(ctx, n)
		if err != nil {
			return err
		}
		if active {
			return fmt.Errorf("kvm: define network %q: %w: the spec changed but the network is active; destroy it first", spec.Name, ErrConflict)
		}
		x.UUID = old.UUID
	case !errors.Is(err, ErrNotFound):
		return err
	}
	s, err := x.Marshal()
	if err != nil {
		return err
	}
	_, err = call(ctx, c, fmt.Sprintf("define network %q", spec.Name), func(l Libvirt) (libvirt.Network, error) {
		return l.NetworkDefineXML(s)
	})
	if err == nil {
		c.log.Info("kvm: network defined", "network", spec.Name)
	}
	return err
}

func (c *Client) networkActive(ctx context.Context, n libvirt.Network) (bool, error) {
	a, err := call(ctx, c, fmt.Sprintf("check network %q", n.Name), func(l Libvirt) (int32, error) { return l.NetworkIsActive(n) })
	return a != 0, err
}

// StartNetwork starts the network (a no-op when active) and marks it
// autostart.
func (c *Client) StartNetwork(ctx context.Context, name string) error {
	n, err := c.lookupNetwork(ctx, name)
	if err != nil {
		return err
	}
	active, err := c.networkActive(ctx, n)
	if err != nil {
		return err
	}
	if !active {
		if err := call0(ctx, c, fmt.Sprintf("start network %q", name), func(l Libvirt) error { return l.NetworkCreate(n) }); err != nil {
			return err
		}
	}
	err = call0(ctx, c, fmt.Sprintf("autostart network %q", name), func(l Libvirt) error { return l.NetworkSetAutostart(n, 1) })
	if errors.Is(err, ErrUnsupported) {
		err = nil
	}
	return err
}

// DestroyNetwork stops the network (a no-op when inactive).
func (c *Client) DestroyNetwork(ctx context.Context, name string) error {
	n, err := c.lookupNetwork(ctx, name)
	if err != nil {
		return err
	}
	active, err := c.networkActive(ctx, n)
	if err != nil || !active {
		return err
	}
	return call0(ctx, c, fmt.Sprintf("destroy network %q", name), func(l Libvirt) error { return l.NetworkDestroy(n) })
}

// UndefineNetwork removes the network's definition (stop it first).
func (c *Client) UndefineNetwork(ctx context.Context, name string) error {
	n, err := c.lookupNetwork(ctx, name)
	if err != nil {
		return err
	}
	return call0(ctx, c, fmt.Sprintf("undefine network %q", name), func(l Libvirt) error { return l.NetworkUndefine(n) })
}

// update applies one NetworkUpdate to the running network and its
// persistent config, or to the config alone when the network is inactive
// (libvirt refuses AffectLive then).
func (c *Client) update(ctx context.Context, n libvirt.Network, cmd libvirt.NetworkUpdateCommand, sec libvirt.NetworkUpdateSection, fragment string) error {
	active, err := c.networkActive(ctx, n)
	if err != nil {
		return err
	}
	flags := libvirt.NetworkUpdateAffectConfig
	if active {
		flags |= libvirt.NetworkUpdateAffectLive
	}
	return call0(ctx, c, fmt.Sprintf("update network %q", n.Name), func(l Libvirt) error {
		return l.NetworkUpdateCompat(n, cmd, sec, -1, fragment, flags)
	})
}

func dhcpHosts(x *libvirtxml.Network) []libvirtxml.NetworkDHCPHost {
	var out []libvirtxml.NetworkDHCPHost
	for _, ip := range x.IPs {
		if ip.DHCP != nil {
			out = append(out, ip.DHCP.Hosts...)
		}
	}
	return out
}

// SetDHCPHost makes a reservation for h.MAC: added when new, modified when
// the MAC has a different one, a no-op when identical. An IP already
// reserved for another MAC fails with ErrConflict. Live and persistent.
func (c *Client) SetDHCPHost(ctx context.Context, network string, h DHCPHost) error {
	if err := h.validate("host"); err != nil {
		return err
	}
	n, x, err := c.lookupNetworkXML(ctx, network)
	if err != nil {
		return err
	}
	want := h.xml()
	cmd := libvirt.NetworkUpdateCommandAddLast
	for _, old := range dhcpHosts(x) {
		sameMAC := macEqual(old.MAC, want.MAC)
		switch {
		case sameMAC && old.IP == want.IP && old.Name == want.Name:
			return nil
		case sameMAC:
			cmd = libvirt.NetworkUpdateCommandModify
		case old.IP == want.IP:
			return fmt.Errorf("kvm: reserve %s for %s on %q: %w: already reserved for %s", want.IP, want.MAC, network, ErrConflict, old.MAC)
		}
	}
	frag, err := want.Marshal()
	if err != nil {
		return err
	}
	return c.update(ctx, n, cmd, libvirt.NetworkSectionIPDhcpHost, frag)
}

// RemoveDHCPHost deletes the reservation of mac; none is not an error.
func (c *Client) RemoveDHCPHost(ctx context.Context, network, mac string) error {
	n, x, err := c.lookupNetworkXML(ctx, network)
	if err != nil {
		return err
	}
	for _, old := range dhcpHosts(x) {
		if macEqual(old.MAC, mac) {
			frag, err := old.Marshal()
			if err != nil {
				return err
			}
			return c.update(ctx, n, libvirt.NetworkUpdateCommandDelete, libvirt.NetworkSectionIPDhcpHost, frag)
		}
	}
	return nil
}

// DHCPHosts lists the network's reservations.
func (c *Client) DHCPHosts(ctx context.Context, network string) ([]DHCPHost, error) {
	x, err := c.NetworkXML(ctx, network)
	if err != nil {
		return nil, err
	}
	var out []DHCPHost
	for _, h := range dhcpHosts(x) {
		out = append(out, DHCPHost{MAC: h.MAC, IP: h.IP, Name: h.Name})
	}
	return out, nil
}

// SetDNSHost makes the network's dnsmasq answer h.Hostnames with h.IP. An
// existing record for the IP with other names is replaced (libvirt cannot
// modify DNS records in place, so it is deleted and added).
func (c *Client) SetDNSHost(ctx context.Context, network string, h DNSHost) error {
	if err := h.validate("host"); err != nil {
		return err
	}
	n, x, err := c.lookupNetworkXML(ctx, network)
	if err != nil {
		return err
	}
	want := h.xml()
	if x.DNS != nil {
		for _, old := range x.DNS.Host {
			if old.IP != want.IP {
				continue
			}
			if slices.Equal(old.Hostnames, want.Hostnames) {
				return nil
			}
			frag, err := old.Marshal()
			if err != nil {
				return err
			}
			if err := c.update(ctx, n, libvirt.NetworkUpdateCommandDelete, libvirt.NetworkSectionDNSHost, frag); err != nil {
				return err
			}
		}
	}
	frag, err := want.Marshal()
	if err != nil {
		return err
	}
	return c.update(ctx, n, libvirt.NetworkUpdateCommandAddLast, libvirt.NetworkSectionDNSHost, frag)
}

// RemoveDNSHost deletes the DNS record of ip; none is not an error.
func (c *Client) RemoveDNSHost(ctx context.Context, network, ip string) error {
	n, x, err := c.lookupNetworkXML(ctx, network)
	if err != nil {
		return err
	}
	if x.DNS == nil {
		return nil
	}
	for _, old := range x.DNS.Host {
		if old.IP == ip {
			frag, err := old.Marshal()
			if err != nil {
				return err
			}
			return c.update(ctx, n, libvirt.NetworkUpdateCommandDelete, libvirt.NetworkSectionDNSHost, frag)
		}
	}
	return nil
}

// Lease is one DHCP lease of a network's dnsmasq.
type Lease struct {
	MAC      string     `json:"mac"`
	IP       netip.Addr `json:"ip"`
	Prefix   int        `json:"prefix"`
	Hostname string     `json:"hostname,omitempty"`
	Expiry   time.Time  `json:"expiry"`
}

// Leases lists the network's current DHCP leases. The libvirt test driver
// cannot (ErrUnsupported).
func (c *Client) Leases(ctx context.Context, network string) ([]Lease, error) {
	n, err := c.lookupNetwork(ctx, network)
	if err != nil {
		return nil, err
	}
	return c.leases(ctx, n, "")
}

func (c *Client) leases(ctx context.Context, n libvirt.Network, mac string) ([]Lease, error) {
	var m libvirt.OptString
	if mac != "" {
		m = libvirt.OptString{mac}
	}
	ls, err := call(ctx, c, fmt.Sprintf("list leases of network %q", n.Name), func(l Libvirt) ([]libvirt.NetworkDhcpLease, error) {
		ls, _, err := l.NetworkGetDhcpLeases(n, m, needResults, 0)
		return ls, err
	})
	if err != nil {
		return nil, err
	}
	out := make([]Lease, 0, len(ls))
	for _, l := range ls {
		a, err := netip.ParseAddr(l.Ipaddr)
		if err != nil {
			continue
		}
		le := Lease{IP: a, Prefix: int(l.Prefix), Expiry: time.Unix(l.Expirytime, 0)}
		if len(l.Mac) > 0 {
			le.MAC = l.Mac[0]
		}
		if len(l.Hostname) > 0 {
			le.Hostname = l.Hostname[0]
		}
		out = append(out, le)
	}
	return out, nil
}

func macEqual(a, b string) bool {
	x, err1 := net.ParseMAC(a)
	y, err2 := net.ParseMAC(b)
	return err1 == nil && err2 == nil && x.String() == y.String()
}
