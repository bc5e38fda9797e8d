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
