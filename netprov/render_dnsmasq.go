package netprov

import (
	"net"
	"strconv"
	"strings"
)

// RenderDnsmasq returns a dnsmasq configuration serving the plan's DNS and
// DHCP: the cluster domain answered locally (local=/<domain>/, so a typo is
// NXDOMAIN instead of a query leaking upstream), the *.apps wildcard
// (address=/apps.<domain>/<ingress>, which dnsmasq applies to every name
// below it), api and api-int with their PTRs, one host-record (A + PTR) per
// node, and DHCP for reserved MACs only (a static dhcp-range: unknown
// clients get nothing).
//
// It does not choose interfaces (interface=, bind-interfaces): those depend
// on the host it runs on; add them in a second file or on the command line.
//
// dnsmasq sends the node's short name as DHCP option 12 and the domain as
// option 15 (it splits a dhcp-host name at the first dot), unlike Kea and
// dhcpd, which send the FQDN of Reservation.Hostname.
func (p *Plan) RenderDnsmasq() []byte {
	var b strings.Builder
	b.Grow(256 + 160*len(p.Nodes))
	p.header(&b, "#", "dnsmasq configuration")
	b.WriteString("\n# DNS\n")
	if len(p.UpstreamDNS) > 0 {
		b.WriteString("no-resolv\n")
		for _, a := range p.UpstreamDNS {
			b.WriteString("server=" + a.String() + "\n")
		}
	}
	b.WriteString("domain-needed\nbogus-priv\n")
	b.WriteString("local=/" + p.Domain + "/\n")
	b.WriteString("domain=" + p.Domain + "," + p.Network.String() + "\n")
	b.WriteString("# *.apps: no PTR (a wildcard has no single name to point back to)\n")
	b.WriteString("address=/apps." + p.Domain + "/" + p.Ingress.String() + "\n")
	// One host-record gives both API names their A record. Its automatic
	// PTR names only the first, and a ptr-record for an address replaces
	// host-record PTRs, so both PTRs are written as ptr-records (api first).
	b.WriteString("host-record=api." + p.Domain + ",api-int." + p.Domain + "," + p.API.String() + "\n")
	if p.reversePrefix().Contains(p.API) {
		rev := strings.TrimSuffix(reverseName(p.API), ".")
		b.WriteString("ptr-record=" + rev + ",api." + p.Domain + "\n")
		b.WriteString("ptr-record=" + rev + ",api-int." + p.Domain + "\n")
	}
	for _, n := range p.Nodes {
		b.WriteString("host-record=" + n.FQDN + "," + n.IP.String() + "\n")
		if n.Role == RoleBootstrap && n.Name != "bootstrap" {
			b.WriteString("host-record=bootstrap." + p.Domain + "," + n.IP.String() + "\n")
		}
	}

	lease := strconv.FormatInt(int64(p.LeaseTime.Seconds()), 10)
	b.WriteString("\n# DHCP: reservations only\n")
	b.WriteString("dhcp-authoritative\n")
	b.WriteString("dhcp-range=" + p.Network.Addr().String() + ",static," + net.IP(net.CIDRMask(p.Network.Bits(), 32)).String() + "," + lease + "\n")
	b.WriteString("dhcp-option=option:router," + p.Gateway.String() + "\n")
	b.WriteString("dhcp-option=option:dns-server," + joinAddrs(p.DNSServers, ",") + "\n")
	b.WriteString("dhcp-option=option:domain-search," + p.Domain + "\n")
	for _, n := range p.Nodes {
		b.WriteString("dhcp-host=" + n.MAC.String() + "," + n.IP.String() + "," + n.Name + "," + lease + "\n")
	}
	return []byte(b.String())
}
