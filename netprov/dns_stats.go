package netprov

import (
	"sync/atomic"

	"github.com/miekg/dns"
)

// DNSStats is a snapshot of the DNS server's counters since it was made.
type DNSStats struct {
	// Queries counts every query the handler saw, answered or not.
	Queries uint64
	// Rcodes counts responses by rcode name ("NOERROR", "NXDOMAIN",
	// "REFUSED", "SERVFAIL", "BADVERS"…); forwarded answers count too.
	Rcodes map[string]uint64
	// Forwarded counts queries sent to an upstream (answered or not).
	Forwarded uint64
	// ForwardErrors counts forwarded queries no upstream answered.
	ForwardErrors uint64
	// Truncated counts UDP responses sent with the TC bit.
	Truncated uint64
	// TCP counts queries that arrived over TCP.
	TCP uint64
}

type dnsCounters struct {
	queries, forwarded, forwardErrors, truncated, tcp atomic.Uint64
	rcodes                                            [24]atomic.Uint64 // 0..23 covers BADVERS (16)…BADCOOKIE (23)
}

func (c *dnsCounters) rcode(r int) {
	if r >= 0 && r < len(c.rcodes) {
		c.rcodes[r].Add(1)
	}
}

func (c *dnsCounters) snapshot() DNSStats {
	s := DNSStats{
		Queries:       c.queries.Load(),
		Forwarded:     c.forwarded.Load(),
		ForwardErrors: c.forwardErrors.Load(),
		Truncated:     c.truncated.Load(),
		TCP:           c.tcp.Load(),
		Rcodes:        map[string]uint64{},
	}
	for i := range c.rcodes {
		if n := c.rcodes[i].Load(); n > 0 {
			name := dns.RcodeToString[i]
			if i == dns.RcodeBadVers {
				name = "BADVERS" // the table says BADSIG, which shares the code
			}
			s.Rcodes[name] = n
		}
	}
	return s
}
