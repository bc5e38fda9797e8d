package netprov

import (
	"net"
	"net/netip"
)

// Reservations returns one DHCP reservation per node, in plan order: the
// node's MAC to its address, its FQDN as host name, the gateway as router,
// the plan's DNS servers and cluster domain, the prefix length and the lease
// time. Every DHCP path serves exactly these.
func (p *Plan) Reservations() []Reservation {
	out := make([]Reservation, len(p.Nodes))
	for i, n := range p.Nodes {
		out[i] = Reservation{
			MAC:       append(net.HardwareAddr(nil), n.MAC...),
			IP:        n.IP,
			Hostname:  n.FQDN,
			Router:    p.Gateway,
			DNS:       append([]netip.Addr(nil), p.DNSServers...),
			Domain:    p.Domain,
			Prefix:    p.Network.Bits(),
			LeaseTime: p.LeaseTime,
		}
	}
	return out
}
