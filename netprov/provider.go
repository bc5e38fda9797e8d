package netprov

import "context"

// DNSProvider publishes a cluster's DNS zones through one delivery path: the
// embedded DNSServer, the libvirt network's dnsmasq, or a team's own BIND.
// The okd lifecycle calls it with a Plan's Zones() before the install and
// again when the records change (the bootstrap node is removed).
//
// SetZones replaces everything the provider serves for the cluster: it is a
// full state, not a delta, so a retried call is harmless.
type DNSProvider interface {
	SetZones(ctx context.Context, zones []Zone) error
}

// DHCPProvider publishes a cluster's DHCP reservations through one delivery
// path (embedded DHCPServer, libvirt network, Kea…). Like SetZones,
// SetReservations replaces the whole table.
type DHCPProvider interface {
	SetReservations(ctx context.Context, reservations []Reservation) error
}

var (
	_ DNSProvider  = (*DNSServer)(nil)
	_ DHCPProvider = (*DHCPServer)(nil)
)
