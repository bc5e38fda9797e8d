package netprov

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// defaultLeaseTime applies when a Reservation leaves LeaseTime at zero.
// Reservations are fixed, so the lease time only bounds how long a node
// keeps an address after the reservation is gone.
const defaultLeaseTime = time.Hour

// reservationIndex is the compiled, read-only form of a reservation set;
// SetReservations swaps in a new one atomically.
type reservationIndex struct {
	byMAC map[[6]byte]*Reservation
	opts  map[[6]byte]dhcpv4.Options // encoded reply options, per MAC
	list  []Reservation
}

func macKey(hw net.HardwareAddr) ([6]byte, bool) {
	var k [6]byte
	if len(hw) != 6 {
		return k, false
	}
	copy(k[:], hw)
	return k, true
}

// compileReservations validates rs and indexes it by MAC. Errors name the
// element, the field and the value.
func compileReservations(rs []Reservation) (*reservationIndex, error) {
	idx := &reservationIndex{
		byMAC: make(map[[6]byte]*Reservation, len(rs)),
		opts:  make(map[[6]byte]dhcpv4.Options, len(rs)),
		list:  make([]Reservation, 0, len(rs)),
	}
	byIP := make(map[netip.Addr]int, len(rs))
	byMAC := make(map[[6]byte]bool, len(rs))
	for i, r := range rs {
		bad := func(field string, value any, why string) error {
			return fmt.Errorf("%w: reservations[%d].%s %v: %s", ErrInvalidReservation, i, field, value, why)
		}
		k, ok := macKey(r.MAC)
		if !ok {
			return nil, bad("mac", fmt.Sprintf("%q", r.MAC.String()), "want a 6-byte Ethernet address")
		}
		if byMAC[k] {
			return nil, bad("mac", r.MAC, "is reserved twice")
		}
		if !r.IP.Is4() {
			return nil, bad("ip", fmt.Sprintf("%q", r.IP.String()), "want an IPv4 address")
		}
		if j, dup := byIP[r.IP]; dup {
			return nil, bad("ip", r.IP, fmt.Sprintf("is also reserved by reservations[%d]", j))
		}
		if r.Prefix < 1 || r.Prefix > 32 {
			return nil, bad("prefix", r.Prefix, "want 1..32")
		}
		if r.Router.IsValid() && !r.Router.Is4() {
			return nil, bad("router", r.Router, "want an IPv4 address")
		}
		for j, d := range r.DNS {
			if !d.Is4() {
				return nil, fmt.Errorf("%w: reservations[%d].dns[%d] %q: want an IPv4 address", ErrInvalidReservation, i, j, d.String())
			}
		}
		if r.LeaseTime < 0 || r.LeaseTime > time.Duration(^uint32(0))*time.Second {
			return nil, bad("leaseTime", r.LeaseTime, "out of range")
		}
		if len(r.Hostname) > 255 || len(r.Domain) > 255 {
			return nil, bad("hostname/domain", r.Hostname+" "+r.Domain, "longer than a DHCP option (255 bytes)")
		}
		cp := r
		cp.MAC = append(net.HardwareAddr(nil), r.MAC...)
		cp.DNS = append([]netip.Addr(nil), r.DNS...)
		if cp.LeaseTime == 0 {
			cp.LeaseTime = defaultLeaseTime
		}
		idx.list = append(idx.list, cp)
		byIP[r.IP] = i
		byMAC[k] = true
	}
	for i := range idx.list {
		k, _ := macKey(idx.list[i].MAC)
		idx.byMAC[k] = &idx.list[i]
		idx.opts[k] = replyOptions(&idx.list[i])
	}
	return idx, nil
}

func copyReservations(rs []Reservation) []Reservation {
	out := make([]Reservation, len(rs))
	for i, r := range rs {
		out[i] = r
		out[i].MAC = append(net.HardwareAddr(nil), r.MAC...)
		out[i].DNS = append([]netip.Addr(nil), r.DNS...)
	}
	return out
}
