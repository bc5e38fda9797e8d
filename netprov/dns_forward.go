package netprov

import (
	"context"

	"github.com/miekg/dns"
)

// forward relays r to the upstreams in order and returns the first answer,
// or SERVFAIL when none answers. The transport follows the client's: a
// client that retried over TCP after a truncated answer gets the upstream's
// TCP answer, not the same truncated one again.
func (s *DNSServer) forward(r *dns.Msg, tcp bool) *dns.Msg {
	s.stats.forwarded.Add(1)
	c := s.udp
	if tcp {
		c = s.tcp
	}
	for _, up := range s.cfg.upstreams {
		ctx, cancel := context.WithTimeout(s.base, s.cfg.forwardTimeout)
		resp, _, err := c.ExchangeContext(ctx, r, up)
		cancel()
		if err == nil && resp != nil {
			// Relayed as a recursive server would: we are not the
			// authority for it, and we did recurse (RFC 1035 §4.1.1).
			resp.Id = r.Id
			resp.Authoritative = false
			resp.RecursionAvailable = true
			return resp
		}
		s.cfg.logger.Warn("dns upstream failed", "upstream", up, "name", r.Question[0].Name, "err", err)
	}
	s.stats.forwardErrors.Add(1)
	m := new(dns.Msg)
	m.SetRcode(r, dns.RcodeServerFailure)
	m.RecursionAvailable = true
	if opt := r.IsEdns0(); opt != nil {
		m.SetEdns0(s.cfg.udpSize, opt.Do())
	}
	return m
}
