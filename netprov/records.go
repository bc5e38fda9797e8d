package netprov

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// SOA timers of both zones. Short refresh/retry because cluster zones change
// during install (bootstrap removal); expire long enough to ride out a
// primary's reboot.
const (
	soaRefresh = 3600
	soaRetry   = 600
	soaExpire  = 604800
)

// NameServer is the host name (relative to the cluster domain) the zones'
// NS record names; it resolves to the plan's DNS servers.
const NameServer = "ns1"

// Zones returns the cluster zone and its reverse zone, in that order: what
// the embedded DNS server serves and what RenderBINDZone writes.
func (p *Plan) Zones() []Zone { return []Zone{p.ForwardZone(), p.ReverseZone()} }

// ForwardZone is the zone <clusterName>.<baseDomain>: SOA and NS at the apex,
// ns1, api, api-int, the *.apps wildcard and every node (the bootstrap node
// also answers as bootstrap.<domain> when it has another name). Records
// come in a fixed order: SOA, NS, ns1, api, api-int, *.apps, nodes in plan
// order.
func (p *Plan) ForwardZone() Zone {
	origin := p.fqdn("")
	ttl := uint32(p.TTL.Seconds())
	rrs := make([]dns.RR, 0, 8+len(p.Nodes)+len(p.DNSServers))
	rrs = append(rrs, p.soa(origin), &dns.NS{Hdr: hdr(origin, dns.TypeNS, ttl), Ns: p.fqdn(NameServer)})
	for _, a := range p.DNSServers {
		rrs = append(rrs, addrRR(p.fqdn(NameServer), a, ttl))
	}
	rrs = append(rrs,
		addrRR(p.fqdn("api"), p.API, ttl),
		addrRR(p.fqdn("api-int"), p.API, ttl),
		addrRR(p.fqdn("*.apps"), p.Ingress, ttl),
	)
	for _, n := range p.Nodes {
		rrs = append(rrs, addrRR(p.fqdn(n.Name), n.IP, ttl))
		if n.Role == RoleBootstrap && n.Name != "bootstrap" {
			rrs = append(rrs, addrRR(p.fqdn("bootstrap"), n.IP, ttl))
		}
	}
	return Zone{Origin: origin, Records: rrs}
}

// ReverseOrigin is the reverse zone's apex: in-addr.arpa for the machine
// network rounded out to the covering octet boundary (a /20 gets the /16's
// zone, a /26 the /24's), because reverse zones are delegated per octet and
// RFC 2317 classless delegation is more than a cluster lab needs.
func (p *Plan) ReverseOrigin() string { return reverseOrigin(p.Network) }

func reverseOrigin(n netip.Prefix) string {
	bits := n.Bits() / 8 * 8
	b := n.Addr().AsSlice()
	labels := make([]string, 0, bits/8+1)
	for i := bits/8 - 1; i >= 0; i-- {
		labels = append(labels, fmt.Sprint(b[i]))
	}
	if n.Addr().Is4() {
		labels = append(labels, "in-addr.arpa.")
	} else {
		labels = append(labels, "ip6.arpa.") // not reached while IPv6 is refused
	}
	return strings.Join(labels, ".")
}

// reversePrefix is the prefix the reverse zone covers.
func (p *Plan) reversePrefix() netip.Prefix {
	rp, _ := p.Network.Addr().Prefix(p.Network.Bits() / 8 * 8)
	return rp
}

// ReverseZone holds a PTR for api, api-int and every node whose address lies
// in the reverse zone (an API load balancer outside the machine network gets
// its PTR from its own network's zone), ordered by address; api's PTR comes
// before api-int's, so a resolver that keeps only the first names the API.
// *.apps has no PTR: a wildcard has no single name to point back to.
func (p *Plan) ReverseZone() Zone {
	origin := p.ReverseOrigin()
	ttl := uint32(p.TTL.Seconds())
	in := p.reversePrefix()
	type ptr struct {
		ip   netip.Addr
		name string
	}
	ptrs := make([]ptr, 0, 2+len(p.Nodes))
	if in.Contains(p.API) {
		ptrs = append(ptrs, ptr{p.API, p.fqdn("api")}, ptr{p.API, p.fqdn("api-int")})
	}
	for _, n := range p.Nodes {
		if in.Contains(n.IP) {
			ptrs = append(ptrs, ptr{n.IP, p.fqdn(n.Name)})
		}
	}
	// Nodes come in plan order and mostly in address order already; a
	// stable insertion sort keeps this cheap and deterministic.
	for i := 1; i < len(ptrs); i++ {
		for j := i; j > 0 && ptrs[j].ip.Less(ptrs[j-1].ip); j-- {
			ptrs[j], ptrs[j-1] = ptrs[j-1], ptrs[j]
		}
	}
	rrs := make([]dns.RR, 0, 2+len(ptrs))
	rrs = append(rrs, p.soa(origin), &dns.NS{Hdr: hdr(origin, dns.TypeNS, ttl), Ns: p.fqdn(NameServer)})
	for _, x := range ptrs {
		rrs = append(rrs, &dns.PTR{Hdr: hdr(reverseName(x.ip), dns.TypePTR, ttl), Ptr: x.name})
	}
	return Zone{Origin: origin, Records: rrs}
}

func (p *Plan) soa(origin string) *dns.SOA {
	ttl := uint32(p.TTL.Seconds())
	return &dns.SOA{
		Hdr:     hdr(origin, dns.TypeSOA, ttl),
		Ns:      p.fqdn(NameServer),
		Mbox:    p.fqdn("hostmaster"),
		Serial:  p.Serial,
		Refresh: soaRefresh,
		Retry:   soaRetry,
		Expire:  soaExpire,
		Minttl:  ttl,
	}
}

func hdr(name string, t uint16, ttl uint32) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
}

// addrRR is an A or AAAA record, by the address's family.
func addrRR(name string, a netip.Addr, ttl uint32) dns.RR {
	if a.Is4() {
		return &dns.A{Hdr: hdr(name, dns.TypeA, ttl), A: net.IP(a.AsSlice())}
	}
	return &dns.AAAA{Hdr: hdr(name, dns.TypeAAAA, ttl), AAAA: net.IP(a.AsSlice())}
}

// reverseName is the PTR owner name of a (with the final dot).
func reverseName(a netip.Addr) string {
	if a.Is4() {
		b := a.As4()
		return fmt.Sprintf("%d.%d.%d.%d.in-addr.arpa.", b[3], b[2], b[1], b[0])
	}
	n, _ := dns.ReverseAddr(a.String())
	return n
}
