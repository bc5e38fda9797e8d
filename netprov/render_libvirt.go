package netprov

import (
	"fmt"

	"libvirt.org/go/libvirtxml"
)

// LibvirtNetworkOptions are the parts of a libvirt network the plan does not
// decide.
type LibvirtNetworkOptions struct {
	// Name of the libvirt network.
	Name string `json:"name"`
	// Bridge device name; empty lets libvirt pick virbrN. Linux allows at
	// most 15 bytes.
	Bridge string `json:"bridge,omitempty"`
	// Forward is the libvirt forward mode: "nat" (nodes reach the internet
	// through the host, what a cluster needs to pull images), "route",
	// "open", or "" for an isolated network.
	Forward string `json:"forward,omitempty"`
}

// LibvirtNetwork returns a complete libvirt network for the plan: the bridge
// carries the gateway address, libvirt's dnsmasq serves the cluster domain
// (LibvirtDNS, LibvirtDnsmasqOptions) and the reservations (LibvirtDHCP).
// Define it with NetworkDefineXML after Marshal().
func (p *Plan) LibvirtNetwork(o LibvirtNetworkOptions) *libvirtxml.Network {
	n := &libvirtxml.Network{
		Name: o.Name,
		// localOnly: libvirt's dnsmasq answers the cluster domain itself and
		// never forwards it upstream (as the installer's libvirt platform did).
		Domain:         &libvirtxml.NetworkDomain{Name: p.Domain, LocalOnly: "yes"},
		DNS:            p.LibvirtDNS(),
		DnsmasqOptions: p.LibvirtDnsmasqOptions(),
		IPs: []libvirtxml.NetworkIP{{
			Address: p.Gateway.String(),
			Prefix:  uint(p.Network.Bits()),
			DHCP:    p.LibvirtDHCP(),
		}},
	}
	if o.Bridge != "" {
		n.Bridge = &libvirtxml.NetworkBridge{Name: o.Bridge, STP: "on", Delay: "0"}
	}
	if o.Forward != "" {
		n.Forward = &libvirtxml.NetworkForward{Mode: o.Forward}
	}
	return n
}

// RenderLibvirtNetwork is LibvirtNetwork marshalled to XML.
func (p *Plan) RenderLibvirtNetwork(o LibvirtNetworkOptions) ([]byte, error) {
	s, err := p.LibvirtNetwork(o).Marshal()
	if err != nil {
		return nil, fmt.Errorf("netprov: libvirt network %q: %w", o.Name, err)
	}
	return []byte(s + "\n"), nil
}

// LibvirtDNS is the network's <dns>: upstream forwarders, and one <host> per
// address (api and api-int together, each node). libvirt's dnsmasq gives
// each host entry a PTR too, so api-int, which shares api's address, gets
// its PTR from the same entry.
func (p *Plan) LibvirtDNS() *libvirtxml.NetworkDNS {
	d := &libvirtxml.NetworkDNS{}
	for _, a := range p.UpstreamDNS {
		d.Forwarders = append(d.Forwarders, libvirtxml.NetworkDNSForwarder{Addr: a.String()})
	}
	d.Host = append(d.Host, libvirtxml.NetworkDNSHost{IP: p.API.String(), Hostnames: []libvirtxml.NetworkDNSHostHostname{
		{Hostname: "api." + p.Domain}, {Hostname: "api-int." + p.Domain},
	}})
	for _, n := range p.Nodes {
		h := libvirtxml.NetworkDNSHost{IP: n.IP.String(), Hostnames: []libvirtxml.NetworkDNSHostHostname{{Hostname: n.FQDN}}}
		if n.Role == RoleBootstrap && n.Name != "bootstrap" {
			h.Hostnames = append(h.Hostnames, libvirtxml.NetworkDNSHostHostname{Hostname: "bootstrap." + p.Domain})
		}
		d.Host = append(d.Host, h)
	}
	return d
}

// LibvirtDHCP is the network's <dhcp>: one <host> per reservation and no
// <range>, so libvirt runs dnsmasq with a static-only range and unknown
// MACs get no address. The lease time is set per host.
func (p *Plan) LibvirtDHCP() *libvirtxml.NetworkDHCP {
	d := &libvirtxml.NetworkDHCP{Hosts: make([]libvirtxml.NetworkDHCPHost, len(p.Nodes))}
	lease := &libvirtxml.NetworkDHCPLease{Expiry: uint(p.LeaseTime.Seconds()), Unit: "seconds"}
	if p.LeaseTime%3600e9 == 0 {
		lease = &libvirtxml.NetworkDHCPLease{Expiry: uint(p.LeaseTime.Hours()), Unit: "hours"}
	} else if p.LeaseTime%60e9 == 0 {
		lease = &libvirtxml.NetworkDHCPLease{Expiry: uint(p.LeaseTime.Minutes()), Unit: "minutes"}
	}
	for i, n := range p.Nodes {
		d.Hosts[i] = libvirtxml.NetworkDHCPHost{MAC: n.MAC.String(), Name: n.Name, IP: n.IP.String(), Lease: lease}
	}
	return d
}

// LibvirtDnsmasqOptions are the dnsmasq settings libvirt's XML has no element
// for: the *.apps wildcard (the one record users most often miss, see
// installer#1007), and the DNS servers and search domain for DHCP when they
// differ from libvirt's defaults (libvirt's dnsmasq advertises itself).
func (p *Plan) LibvirtDnsmasqOptions() *libvirtxml.NetworkDnsmasqOptions {
	o := &libvirtxml.NetworkDnsmasqOptions{Option: []libvirtxml.NetworkDnsmasqOption{
		{Value: "address=/apps." + p.Domain + "/" + p.Ingress.String()},
	}}
	if len(p.DNSServers) != 1 || p.DNSServers[0] != p.Gateway {
		o.Option = append(o.Option, libvirtxml.NetworkDnsmasqOption{Value: "dhcp-option=option:dns-server," + joinAddrs(p.DNSServers, ",")})
	}
	o.Option = append(o.Option, libvirtxml.NetworkDnsmasqOption{Value: "dhcp-option=option:domain-search," + p.Domain})
	return o
}
