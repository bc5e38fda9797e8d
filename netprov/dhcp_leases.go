package netprov

import (
	"net"
	"net/netip"
	"sort"
	"sync"
	"time"
)

// LeaseState is where a client stands with the DHCP server.
type LeaseState string

const (
	LeaseOffered  LeaseState = "offered"  // OFFER sent, no REQUEST yet
	LeaseBound    LeaseState = "bound"    // ACK sent
	LeaseReleased LeaseState = "released" // the client sent RELEASE
	LeaseDeclined LeaseState = "declined" // the client found the address in use (DECLINE)
)

// Lease is what the DHCP server knows about one client. Addresses come from
// reservations, so leases are bookkeeping (who asked, who is bound, who
// reported a conflict), never allocation.
type Lease struct {
	MAC      net.HardwareAddr `json:"mac"`
	IP       netip.Addr       `json:"ip"`
	Hostname string           `json:"hostname,omitempty"`
	State    LeaseState       `json:"state"`
	// Expires is when a bound lease runs out unless renewed.
	Expires time.Time `json:"expires"`
	// Updated is when the state last changed.
	Updated time.Time `json:"updated"`
}

type leaseTable struct {
	mu sync.Mutex
	m  map[[6]byte]*Lease
}

func (t *leaseTable) set(r *Reservation, state LeaseState, now time.Time) {
	k, _ := macKey(r.MAC)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[[6]byte]*Lease)
	}
	l := t.m[k]
	if l == nil {
		l = &Lease{MAC: r.MAC}
		t.m[k] = l
	}
	l.IP, l.Hostname, l.State, l.Updated = r.IP, r.Hostname, state, now
	switch state {
	case LeaseBound:
		l.Expires = now.Add(r.LeaseTime)
	case LeaseReleased, LeaseDeclined:
		l.Expires = now
	}
}

// prune forgets the leases whose reservation is gone or changed address:
// their clients get a NAK on renewal and start over.
func (t *leaseTable) prune(idx *reservationIndex) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, l := range t.m {
		if r, ok := idx.byMAC[k]; !ok || r.IP != l.IP {
			delete(t.m, k)
		}
	}
}

func (t *leaseTable) list() []Lease {
	t.mu.Lock()
	out := make([]Lease, 0, len(t.m))
	for _, l := range t.m {
		c := *l
		c.MAC = append(net.HardwareAddr(nil), l.MAC...)
		out = append(out, c)
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].IP.Less(out[j].IP) })
	return out
}
