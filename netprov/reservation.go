package netprov

import (
	"net"
	"net/netip"
	"time"
)

// Reservation is one DHCP host entry of a cluster: the MAC a node's NIC was
// given when its VM was defined, and everything the node must learn from DHCP
// to reach api-int in its initramfs. A Plan produces them; every DHCP path
// (the libvirt network's dnsmasq, the embedded server, rendered Kea/dhcpd/
// dnsmasq configuration) consumes the same values.
type Reservation struct {
	// MAC is the NIC's hardware address (6 bytes).
	MAC net.HardwareAddr `json:"mac"`
	// IP is the fixed address the node gets.
	IP netip.Addr `json:"ip"`
	// Hostname is the node's FQDN (DHCP option 12 carries it as is).
	Hostname string `json:"hostname"`
	// Router is the default gateway (option 3).
	Router netip.Addr `json:"router"`
	// DNS lists the name servers (option 6), in order.
	DNS []netip.Addr `json:"dns"`
	// Domain is the cluster domain, <name>.<baseDomain> (options 15 and 119).
	Domain string `json:"domain"`
	// Prefix is the subnet prefix length (option 1).
	Prefix int `json:"prefix"`
	// LeaseTime is the lease duration (option 51).
	LeaseTime time.Duration `json:"leaseTime"`
}
