package netprov

import "github.com/miekg/dns"

// maxCNAMEChain bounds how many in-zone CNAMEs one answer follows, so a loop
// in the records costs a short answer, not a hang.
const maxCNAMEChain = 8

// resolve fills m (already SetReply'd) with the authoritative answer for
// qname/qtype from zone z, following CNAMEs inside the server's zones.
func (idx *zoneIndex) resolve(m *dns.Msg, z *authZone, qname string, qtype uint16) {
	m.Authoritative = true
	name := qname
	for hop := 0; ; hop++ {
		rrs, rcode, cname := z.lookup(name, qtype)
		m.Answer = append(m.Answer, rrs...)
		m.Rcode = rcode
		if cname == "" || hop == maxCNAMEChain {
			if len(rrs) == 0 || rcode != dns.RcodeSuccess {
				m.Ns = append(m.Ns, z.negativeSOA())
			}
			return
		}
		next := idx.findZone(cname)
		if next == nil {
			return // the target is someone else's: the client resolves it
		}
		z, name = next, cname
	}
}

// lookup answers one name in one zone. It returns the answer records, the
// rcode, and the CNAME target when the answer is a CNAME to follow.
//
// The order is RFC 1034 §4.3.2 with RFC 4592 wildcards: an existing name
// (records of any type, or an empty non-terminal) answers for itself, even
// when it has no record of qtype (NODATA); only a name that does not exist
// is matched against the wildcard at its closest encloser.
func (z *authZone) lookup(qname string, qtype uint16) ([]dns.RR, int, string) {
	if n, ok := z.nodes[qname]; ok {
		rrs, cname := n.answer(qtype, "")
		return rrs, dns.RcodeSuccess, cname
	}
	// qname does not exist: find its closest encloser, the longest existing
	// ancestor, then the wildcard right below it.
	for ce := parentName(qname); ce != "" && dns.IsSubDomain(z.origin, ce); ce = parentName(ce) {
		if _, ok := z.nodes[ce]; !ok {
			continue
		}
		if w, ok := z.nodes["*."+ce]; ok {
			rrs, cname := w.answer(qtype, qname)
			return rrs, dns.RcodeSuccess, cname
		}
		break
	}
	return nil, dns.RcodeNameError, ""
}

// answer returns the records of qtype at n (all of them for ANY), or its
// CNAME. owner, when set, replaces the owner name: that is how a wildcard's
// records are synthesised for the name that was asked.
func (n *rrNode) answer(qtype uint16, owner string) ([]dns.RR, string) {
	var out []dns.RR
	switch {
	case qtype == dns.TypeANY:
		for _, t := range n.order {
			out = append(out, n.sets[t]...)
		}
	case len(n.sets[qtype]) > 0:
		out = n.sets[qtype]
	case len(n.sets[dns.TypeCNAME]) > 0:
		out = n.sets[dns.TypeCNAME]
	default:
		return nil, ""
	}
	if owner != "" {
		syn := make([]dns.RR, len(out))
		for i, rr := range out {
			c := dns.Copy(rr)
			c.Header().Name = owner
			syn[i] = c
		}
		out = syn
	}
	// Unsynthesised, out is the index's own slice, shared by concurrent
	// queries: callers only copy from it (append to a fresh m.Answer).
	if qtype != dns.TypeCNAME && qtype != dns.TypeANY && len(out) == 1 {
		if c, ok := out[0].(*dns.CNAME); ok {
			return out, dns.CanonicalName(c.Target)
		}
	}
	return out, ""
}

// negativeSOA is the SOA for the authority section of NXDOMAIN and NODATA
// answers; its TTL is the negative-caching TTL, min(TTL, MINIMUM)
// (RFC 2308 §3).
func (z *authZone) negativeSOA() dns.RR {
	soa := *z.soa
	if soa.Minttl < soa.Hdr.Ttl {
		soa.Hdr.Ttl = soa.Minttl
	}
	return &soa
}
