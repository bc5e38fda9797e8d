package netprov

import "github.com/miekg/dns"

// Zone is one DNS zone as the embedded server (and every DNS provider)
// receives it: the cluster zone (<name>.<baseDomain>) or its reverse zone
// (<n>.<n>.<n>.in-addr.arpa). Records are plain miekg/dns resource records so
// that whatever produced them (a Plan, a test, a user) needs no second record
// model, and the server can put them on the wire as they are.
//
// Origin is the zone apex, an FQDN with or without the final dot. Records
// holds every RRset of the zone, including a wildcard such as
// *.apps.<name>.<baseDomain>. An SOA at the apex is optional: the server
// synthesises one when it is missing, because negative answers must carry an
// SOA in their authority section (RFC 2308).
type Zone struct {
	Origin  string   `json:"origin"`
	Records []dns.RR `json:"records"`
}

// Without returns a copy of z without the records owned by the given names
// (compared case-insensitively, with or without the final dot) and without
// the PTR records that point to them, which is what dropping a host from the
// cluster (the bootstrap node) means for both the forward and reverse zone.
func (z Zone) Without(names ...string) Zone {
	drop := make(map[string]bool, len(names))
	for _, n := range names {
		drop[dns.CanonicalName(n)] = true
	}
	out := Zone{Origin: z.Origin, Records: make([]dns.RR, 0, len(z.Records))}
	for _, rr := range z.Records {
		if rr == nil {
			continue
		}
		if drop[dns.CanonicalName(rr.Header().Name)] {
			continue
		}
		if ptr, ok := rr.(*dns.PTR); ok && drop[dns.CanonicalName(ptr.Ptr)] {
			continue
		}
		out.Records = append(out.Records, rr)
	}
	return out
}

func copyZones(zs []Zone) []Zone {
	out := make([]Zone, len(zs))
	for i, z := range zs {
		out[i] = Zone{Origin: z.Origin, Records: make([]dns.RR, len(z.Records))}
		for j, rr := range z.Records {
			out[i].Records[j] = dns.Copy(rr)
		}
	}
	return out
}
