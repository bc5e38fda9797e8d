package netprov

import (
	"net"
	"strconv"
	"strings"
)

// RenderDhcpd returns an ISC dhcpd.conf serving the plan's reservations: a
// subnet declaration without a range (so only reserved MACs get an address)
// and one host block per node, with the FQDN as host-name (option 12), as
// in Reservation.Hostname.
func (p *Plan) RenderDhcpd() []byte {
	var b strings.Builder
	b.Grow(512 + 160*len(p.Nodes))
	p.header(&b, "#", "ISC dhcpd configuration")
	lease := strconv.FormatInt(int64(p.LeaseTime.Seconds()), 10)
	b.WriteString("authoritative;\n")
	b.WriteString("default-lease-time " + lease + ";\nmax-lease-time " + lease + ";\n")
	b.WriteString("option domain-name \"" + p.Domain + "\";\n")
	b.WriteString("option domain-name-servers " + joinAddrs(p.DNSServers, ", ") + ";\n")
	b.WriteString("option domain-search \"" + p.Domain + "\";\n\n")
	mask := net.IP(net.CIDRMask(p.Network.Bits(), 32)).String()
	b.WriteString("subnet " + p.Network.Addr().String() + " netmask " + mask + " {\n")
	b.WriteString("\toption routers " + p.Gateway.String() + ";\n")
	b.WriteString("\toption subnet-mask " + mask + ";\n")
	b.WriteString("\toption broadcast-address " + lastAddr(p.Network).String() + ";\n")
	b.WriteString("}\n")
	for _, r := range p.Reservations() {
		// Host declaration names must be unique; the FQDN is, and reads well.
		b.WriteString("\nhost " + r.Hostname + " {\n")
		b.WriteString("\thardware ethernet " + r.MAC.String() + ";\n")
		b.WriteString("\tfixed-address " + r.IP.String() + ";\n")
		b.WriteString("\toption host-name \"" + r.Hostname + "\";\n")
		b.WriteString("}\n")
	}
	return []byte(b.String())
}
