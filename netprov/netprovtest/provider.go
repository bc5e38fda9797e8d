package netprovtest

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/miekg/dns"

	"github.com/okvm/okvm/netprov"
)

// DNSProvider is an in-memory netprov.DNSProvider. It keeps every accepted
// change in order, refuses what the embedded server would refuse (with the
// same errors), and resolves names with the embedded server's logic. The
// zero value is ready to use and safe for concurrent use.
type DNSProvider struct {
	recorder[[]netprov.Zone]
	srv *netprov.DNSServer
}

var _ netprov.DNSProvider = (*DNSProvider)(nil)

// FailNext makes the next SetZones calls return these errors, in order,
// without changing the state (to test the caller's error paths).
func (p *DNSProvider) FailNext(errs ...error) { p.failNext(errs...) }

// Calls returns every accepted SetZones argument, oldest first (copies).
func (p *DNSProvider) Calls() [][]netprov.Zone { return p.history() }

// SetZones records zones as the provider's new state.
func (p *DNSProvider) SetZones(ctx context.Context, zones []netprov.Zone) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("netprovtest: set zones: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.nextFailure(); err != nil {
		return err
	}
	srv, err := netprov.NewDNSServer(zones) // validates and copies; never listens
	if err != nil {
		return err
	}
	p.srv = srv
	p.calls = append(p.calls, srv.Zones())
	return nil
}

// Zones returns the current zones (nil before the first SetZones).
func (p *DNSProvider) Zones() []netprov.Zone {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv == nil {
		return nil
	}
	return p.srv.Zones()
}

// Lookup answers a query against the current zones exactly as the embedded
// server would (wildcards, CNAMEs, NXDOMAIN vs NODATA), without a socket.
// Names outside the zones get REFUSED.
func (p *DNSProvider) Lookup(name string, qtype uint16) *dns.Msg {
	p.mu.Lock()
	srv := p.srv
	p.mu.Unlock()
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	if srv == nil {
		r := new(dns.Msg)
		return r.SetRcode(q, dns.RcodeRefused)
	}
	w := &memWriter{}
	srv.ServeDNS(w, q)
	return w.msg
}

// memWriter is a dns.ResponseWriter that keeps the response in memory.
type memWriter struct{ msg *dns.Msg }

var memAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53} // "TCP": never truncated

func (w *memWriter) LocalAddr() net.Addr       { return memAddr }
func (w *memWriter) RemoteAddr() net.Addr      { return memAddr }
func (w *memWriter) WriteMsg(m *dns.Msg) error { w.msg = m; return nil }
func (w *memWriter) Write(b []byte) (int, error) {
	w.msg = new(dns.Msg)
	return len(b), w.msg.Unpack(b)
}
func (w *memWriter) Close() error        { return nil }
func (w *memWriter) TsigStatus() error   { return nil }
func (w *memWriter) TsigTimersOnly(bool) {}
func (w *memWriter) Hijack()             {}

// DHCPProvider is an in-memory netprov.DHCPProvider: it records every
// accepted reservation table, validating it as the embedded server does.
// The zero value is ready to use and safe for concurrent use.
type DHCPProvider struct {
	recorder[[]netprov.Reservation]
	srv *netprov.DHCPServer
}

var _ netprov.DHCPProvider = (*DHCPProvider)(nil)

// FailNext makes the next SetReservations calls return these errors.
func (p *DHCPProvider) FailNext(errs ...error) { p.failNext(errs...) }

// Calls returns every accepted SetReservations argument, oldest first.
func (p *DHCPProvider) Calls() [][]netprov.Reservation { return p.history() }

// SetReservations records rs as the provider's new state.
func (p *DHCPProvider) SetReservations(ctx context.Context, rs []netprov.Reservation) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("netprovtest: set reservations: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.nextFailure(); err != nil {
		return err
	}
	// A never-started server validates exactly like the real one.
	srv, err := netprov.NewDHCPServer(rs, netprov.WithServerID(netip.MustParseAddr("127.0.0.1")))
	if err != nil {
		return err
	}
	p.srv = srv
	p.calls = append(p.calls, srv.Reservations())
	return nil
}

// Reservations returns the current table (nil before the first call).
func (p *DHCPProvider) Reservations() []netprov.Reservation {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv == nil {
		return nil
	}
	return p.srv.Reservations()
}

// Lookup returns the reservation for mac in the current table.
func (p *DHCPProvider) Lookup(mac net.HardwareAddr) (netprov.Reservation, bool) {
	for _, r := range p.Reservations() {
		if r.MAC.String() == mac.String() {
			return r, true
		}
	}
	return netprov.Reservation{}, false
}

// recorder is what both in-memory providers share: the accepted changes, in
// order, and the failures queued for the next calls. Its mutex also guards
// the embedding provider's own state.
type recorder[T any] struct {
	mu    sync.Mutex
	calls []T
	fail  []error
}

func (r *recorder[T]) failNext(errs ...error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = append(r.fail, errs...)
}

func (r *recorder[T]) history() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]T(nil), r.calls...)
}

// nextFailure pops the next queued failure; r.mu must be held.
func (r *recorder[T]) nextFailure() error {
	if len(r.fail) == 0 {
		return nil
	}
	err := r.fail[0]
	r.fail = r.fail[1:]
	return err
}
