package netprov

import (
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// zoneIndex is the read-only, compiled form of a set of zones that the DNS
// handler answers from. SetZones builds a new one and swaps a pointer, so a
// query sees either the old records or the new ones, never a mix.
type zoneIndex struct {
	zones map[string]*authZone // by canonical origin
	list  []Zone               // deep copies of the input, for Zones()
}

type authZone struct {
	origin string
	soa    *dns.SOA
	nodes  map[string]*rrNode // by canonical owner name; empty non-terminals too
}

// rrNode holds the RRsets of one owner name. An empty node is an empty
// non-terminal: it exists (NODATA, and it stops wildcard matching) but owns
// no records.
type rrNode struct {
	sets  map[uint16][]dns.RR
	order []uint16 // insertion order of types, so ANY answers are stable
}

func (n *rrNode) add(rr dns.RR) {
	t := rr.Header().Rrtype
	if n.sets == nil {
		n.sets = make(map[uint16][]dns.RR)
	}
	if _, ok := n.sets[t]; !ok {
		n.order = append(n.order, t)
	}
	n.sets[t] = append(n.sets[t], rr)
}

// compileZones validates zones and builds their index. serial is used for
// the SOA synthesised when a zone brings none.
func compileZones(zones []Zone, serial uint32) (*zoneIndex, error) {
	idx := &zoneIndex{zones: make(map[string]*authZone, len(zones))}
	for i, z := range zones {
		if z.Origin == "" {
			return nil, fmt.Errorf("%w: zones[%d].origin is empty", ErrInvalidZone, i)
		}
		if _, ok := dns.IsDomainName(z.Origin); !ok {
			return nil, fmt.Errorf("%w: zones[%d].origin %q is not a domain name", ErrInvalidZone, i, z.Origin)
		}
		origin := dns.CanonicalName(z.Origin)
		if _, dup := idx.zones[origin]; dup {
			return nil, fmt.Errorf("%w: zones[%d].origin %q is given twice", ErrInvalidZone, i, z.Origin)
		}
		az := &authZone{origin: origin, nodes: map[string]*rrNode{origin: {}}}
		cp := Zone{Origin: z.Origin, Records: make([]dns.RR, 0, len(z.Records))}
		for j, rr := range z.Records {
			if rr == nil || rr.Header() == nil {
				return nil, fmt.Errorf("%w: zones[%d].records[%d] is nil", ErrInvalidZone, i, j)
			}
			rr = dns.Copy(rr) // the caller may reuse its records; ours must not change under a query
			h := rr.Header()
			if h.Rrtype == dns.TypeNone || h.Rrtype == dns.TypeOPT {
				return nil, fmt.Errorf("%w: zones[%d].records[%d] %q has type %d (build records with dns.NewRR or set Hdr.Rrtype)",
					ErrInvalidZone, i, j, h.Name, h.Rrtype)
			}
			if h.Class == 0 {
				h.Class = dns.ClassINET
			}
			if h.Class != dns.ClassINET {
				return nil, fmt.Errorf("%w: zones[%d].records[%d] %q has class %s, only IN is served",
					ErrInvalidZone, i, j, h.Name, dns.Class(h.Class))
			}
			if _, ok := dns.IsDomainName(h.Name); !ok || h.Name == "" {
				return nil, fmt.Errorf("%w: zones[%d].records[%d] owner %q is not a domain name", ErrInvalidZone, i, j, h.Name)
			}
			h.Name = dns.Fqdn(h.Name)
			owner := dns.CanonicalName(h.Name)
			if !dns.IsSubDomain(origin, owner) {
				return nil, fmt.Errorf("%w: zones[%d].records[%d] owner %q is outside origin %q", ErrInvalidZone, i, j, h.Name, z.Origin)
			}
			if soa, ok := rr.(*dns.SOA); ok {
				if owner != origin {
					return nil, fmt.Errorf("%w: zones[%d].records[%d] SOA owner %q is not the origin %q", ErrInvalidZone, i, j, h.Name, z.Origin)
				}
				if az.soa != nil {
					return nil, fmt.Errorf("%w: zones[%d] has more than one SOA", ErrInvalidZone, i)
				}
				az.soa = soa
			}
			az.node(owner).add(rr)
			cp.Records = append(cp.Records, dns.Copy(rr))
		}
		for owner, n := range az.nodes {
			if _, hasCNAME := n.sets[dns.TypeCNAME]; hasCNAME && len(n.sets) > 1 {
				return nil, fmt.Errorf("%w: zones[%d] name %q has a CNAME and other data (RFC 1034 §3.6.2)", ErrInvalidZone, i, owner)
			}
			if owner == origin && len(n.sets[dns.TypeCNAME]) > 0 {
				return nil, fmt.Errorf("%w: zones[%d] origin %q is a CNAME", ErrInvalidZone, i, owner)
			}
		}
		if az.soa == nil {
			az.soa = synthSOA(origin, serial)
			az.nodes[origin].add(az.soa)
		}
		idx.zones[origin] = az
		idx.list = append(idx.list, cp)
	}
	return idx, nil
}

// node returns the node for owner, creating it and every empty non-terminal
// between it and the apex: those names exist (RFC 4592 §2.2.2), so a query
// for them is NODATA and a wildcard above them does not match them.
func (z *authZone) node(owner string) *rrNode {
	n, ok := z.nodes[owner]
	if ok {
		return n
	}
	n = &rrNode{}
	z.nodes[owner] = n
	for name := parentName(owner); name != "" && name != z.origin && dns.IsSubDomain(z.origin, name); name = parentName(name) {
		if _, ok := z.nodes[name]; ok {
			break
		}
		z.nodes[name] = &rrNode{}
	}
	return n
}

// parentName strips the first label of a canonical FQDN ("" for the root).
func parentName(name string) string {
	if name == "." || name == "" {
		return ""
	}
	off, end := dns.NextLabel(name, 0)
	if end {
		return "."
	}
	return name[off:]
}

// synthSOA makes the SOA a zone needs for negative answers when its producer
// gave none. The minimum (negative-caching TTL, RFC 2308) is short because
// cluster records change during an install (bootstrap removal).
func synthSOA(origin string, serial uint32) *dns.SOA {
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: origin, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 30},
		Ns:      "ns." + strings.TrimPrefix(origin, "."),
		Mbox:    "hostmaster." + strings.TrimPrefix(origin, "."),
		Serial:  serial,
		Refresh: 3600,
		Retry:   600,
		Expire:  86400,
		Minttl:  30,
	}
}

// findZone returns the zone with the longest origin that contains qname.
func (idx *zoneIndex) findZone(qname string) *authZone {
	if idx == nil {
		return nil
	}
	for name := qname; name != ""; name = parentName(name) {
		if z, ok := idx.zones[name]; ok {
			return z
		}
	}
	return nil
}
