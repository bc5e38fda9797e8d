package kvmtest

import (
	"encoding/binary"
	"net"
	"strings"
	"time"

	libvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"
)

// leaseTime is what dnsmasq is told by libvirt when the XML sets none.
const leaseTime = time.Hour

// assignLeases plays the guest's DHCP client and the network's dnsmasq
// at once: every NIC of a starting domain on an active network with DHCP
// gets its reserved address (<host mac=…>) or the first free one of the
// first range. Real guests take seconds to get there; code that waits for
// addresses is tested against this "instant guest". Called with f.mu held.
func (f *Fake) assignLeases(d *domain) {
	for _, nic := range d.live.Devices.Interfaces {
		if nic.Source == nil || nic.Source.Network == nil || nic.MAC == nil {
			continue
		}
		n := f.networkByName(nic.Source.Network.Network)
		if n == nil || !n.active() {
			continue
		}
		mac := strings.ToLower(nic.MAC.Address)
		if l := n.leaseFor(mac); l != nil {
			d.leases = append(d.leases, l)
			continue
		}
		for _, ip := range n.live.IPs {
			if ip.DHCP == nil || net.ParseIP(ip.Address).To4() == nil {
				continue
			}
			addr, host := reserved(ip.DHCP, mac)
			if addr == "" {
				addr = n.freeAddress(ip.DHCP)
			}
			if addr == "" {
				continue
			}
			now := time.Now()
			l := &lease{mac: mac, ip: addr, hostname: host, prefix: prefixLen(ip), expiry: now.Add(leaseTime).Unix(), net: n, visible: now.Add(f.opts.leaseDelay)}
			n.leases = append(n.leases, l)
			d.leases = append(d.leases, l)
			break
		}
	}
}

func reserved(dhcp *libvirtxml.NetworkDHCP, mac string) (ip, name string) {
	for _, h := range dhcp.Hosts {
		if strings.EqualFold(h.MAC, mac) {
			return h.IP, h.Name
		}
	}
	return "", ""
}

func (n *network) leaseFor(mac string) *lease {
	for _, l := range n.leases {
		if l.mac == mac {
			return l
		}
	}
	return nil
}

// freeAddress is the lowest address of the DHCP ranges that is neither
// leased nor reserved for another MAC.
func (n *network) freeAddress(dhcp *libvirtxml.NetworkDHCP) string {
	taken := map[string]bool{}
	for _, l := range n.leases {
		taken[l.ip] = true
	}
	for _, h := range dhcp.Hosts {
		if h.IP != "" {
			taken[h.IP] = true
		}
	}
	for _, r := range dhcp.Ranges {
		s, e := net.ParseIP(r.Start).To4(), net.ParseIP(r.End).To4()
		if s == nil || e == nil {
			continue
		}
		for v := binary.BigEndian.Uint32(s); v <= binary.BigEndian.Uint32(e); v++ {
			ip := make(net.IP, 4)
			binary.BigEndian.PutUint32(ip, v)
			if !taken[ip.String()] {
				return ip.String()
			}
		}
	}
	return ""
}

// releaseLeases ends a stopped domain's leases. (dnsmasq would keep them
// until they expire; dropping them keeps tests deterministic.)
func (f *Fake) releaseLeases(d *domain) {
	for _, l := range d.leases {
		for i, x := range l.net.leases {
			if x == l {
				l.net.leases = append(l.net.leases[:i], l.net.leases[i+1:]...)
				break
			}
		}
	}
	d.leases = nil
}

// NetworkGetDhcpLeases lists an active network's leases, optionally for
// one MAC.
func (c *Conn) NetworkGetDhcpLeases(Net libvirt.Network, Mac libvirt.OptString, NeedResults int32, Flags uint32) ([]libvirt.NetworkDhcpLease, uint32, error) {
	if err := c.enter("NetworkGetDhcpLeases"); err != nil {
		return nil, 0, err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	n, err := c.f.lookupNetwork(Net)
	if err != nil {
		return nil, 0, err
	}
	var out []libvirt.NetworkDhcpLease
	now := time.Now()
	for _, l := range n.leases {
		if len(Mac) > 0 && !strings.EqualFold(Mac[0], l.mac) || now.Before(l.visible) {
			continue
		}
		bridge := ""
		if n.live != nil && n.live.Bridge != nil {
			bridge = n.live.Bridge.Name
		}
		dl := libvirt.NetworkDhcpLease{
			Iface: bridge, Expirytime: l.expiry, Type: int32(libvirt.IPAddrTypeIpv4),
			Mac: libvirt.OptString{l.mac}, Ipaddr: l.ip, Prefix: uint32(l.prefix),
			Clientid: libvirt.OptString{"01:" + l.mac},
		}
		if l.hostname != "" {
			dl.Hostname = libvirt.OptString{l.hostname}
		}
		out = append(out, dl)
	}
	if NeedResults >= 0 && len(out) > int(NeedResults) {
		out = out[:NeedResults]
	}
	return out, uint32(len(out)), nil
}

// DomainInterfaceAddresses answers from leases (source 0). The fake guest
// runs no agent (source 1 fails as in libvirt: "not configured" without a
// guest-agent channel, "not connected" with one) and sends no ARP traffic
// (source 2 finds nothing).
func (c *Conn) DomainInterfaceAddresses(Dom libvirt.Domain, Source uint32, Flags uint32) ([]libvirt.DomainInterface, error) {
	if err := c.enter("DomainInterfaceAddresses"); err != nil {
		return nil, err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	d, err := c.f.lookupDomain(Dom)
	if err != nil {
		return nil, err
	}
	if !d.active() {
		return nil, errOpInvalid("domain is not running")
	}
	switch libvirt.DomainInterfaceAddressesSource(Source) {
	case libvirt.DomainInterfaceAddressesSrcLease:
	case libvirt.DomainInterfaceAddressesSrcAgent:
		if !hasAgentChannel(d.live) {
			return nil, lverr(libvirt.ErrArgumentUnsupported, "argument unsupported: QEMU guest agent is not configured")
		}
		return nil, lverr(libvirt.ErrAgentUnresponsive, "Guest agent is not responding: QEMU guest agent is not connected")
	case libvirt.DomainInterfaceAddressesSrcArp:
		return nil, nil
	default:
		return nil, lverr(libvirt.ErrArgumentUnsupported, "argument unsupported: Unknown IP address data source %d", Source)
	}
	var out []libvirt.DomainInterface
	for _, nic := range d.live.Devices.Interfaces {
		if nic.MAC == nil {
			continue
		}
		mac := strings.ToLower(nic.MAC.Address)
		var addrs []libvirt.DomainIPAddr
		for _, l := range d.leases {
			if l.mac == mac && !time.Now().Before(l.visible) {
				addrs = append(addrs, libvirt.DomainIPAddr{Type: int32(libvirt.IPAddrTypeIpv4), Addr: l.ip, Prefix: uint32(l.prefix)})
			}
		}
		if len(addrs) == 0 {
			continue
		}
		name := ""
		if nic.Target != nil {
			name = nic.Target.Dev
		}
		out = append(out, libvirt.DomainInterface{Name: name, Hwaddr: libvirt.OptString{mac}, Addrs: addrs})
	}
	return out, nil
}

// hasAgentChannel: the domain has the virtio channel the QEMU guest agent
// talks through.
func hasAgentChannel(def *libvirtxml.Domain) bool {
	for _, ch := range def.Devices.Channels {
		if ch.Target != nil && ch.Target.VirtIO != nil && ch.Target.VirtIO.Name == "org.qemu.guest_agent.0" {
			return true
		}
	}
	return false
}
