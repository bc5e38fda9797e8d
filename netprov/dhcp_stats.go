package netprov

import "sync/atomic"

// DHCPStats is a snapshot of the DHCP server's counters.
type DHCPStats struct {
	Received                                         uint64 // valid DHCPv4 requests handed to the server
	Discovers, Requests, Releases, Declines, Informs uint64
	Offers, Acks, Naks                               uint64
	// Unknown counts messages from MACs without a reservation (no offer).
	Unknown uint64
	// Ignored counts messages meant for another server or not a request.
	Ignored uint64
	// WriteErrors counts replies the socket refused.
	WriteErrors uint64
}

type dhcpCounters struct {
	received, discovers, requests, releases, declines, informs atomic.Uint64
	offers, acks, naks, unknown, ignored, writeErrors          atomic.Uint64
}

func (c *dhcpCounters) snapshot() DHCPStats {
	return DHCPStats{
		Received: c.received.Load(), Discovers: c.discovers.Load(), Requests: c.requests.Load(),
		Releases: c.releases.Load(), Declines: c.declines.Load(), Informs: c.informs.Load(),
		Offers: c.offers.Load(), Acks: c.acks.Load(), Naks: c.naks.Load(),
		Unknown: c.unknown.Load(), Ignored: c.ignored.Load(), WriteErrors: c.writeErrors.Load(),
	}
}
