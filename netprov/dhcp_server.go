package netprov

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
)

// DHCPServer is okvm's embedded DHCPv4 server (insomniacslk/dhcp server4).
// It hands each reserved MAC its fixed address with the options a node
// needs to reach api-int from its initramfs: subnet mask, router, DNS
// servers, domain name and search list, host name, lease time (with T1/T2)
// and server identifier. It has no dynamic pool: see Reply for the exact
// protocol behaviour.
//
// Reservations change live with SetReservations (atomic swap); clients whose
// address changed get a NAK at their next renewal and start over.
// DHCPServer is a DHCPProvider.
type DHCPServer struct {
	cfg      serverConfig
	serverID net.IP
	res      atomic.Pointer[reservationIndex]
	leases   leaseTable
	stats    dhcpCounters

	mu     sync.Mutex // Start/Shutdown and SetReservations
	state  int        // 0 new, 1 running, 2 stopped
	srv    *server4.Server
	conn   net.PacketConn
	served chan error

	// gate lets Shutdown wait for handlers in flight: each holds a read
	// lock, Shutdown takes the write lock once the socket is closed.
	gate   sync.RWMutex
	closed bool
}

// NewDHCPServer validates reservations and returns a server that is not
// listening yet (see Start and Serve). Options: WithAddr (default
// "0.0.0.0:67"), WithInterface, WithServerID, WithPacketConn, WithLogger,
// WithClock. The server identifier comes from WithServerID, else from the
// listening address, which must then be a specific IPv4 address.
func NewDHCPServer(reservations []Reservation, opts ...ServerOption) (*DHCPServer, error) {
	s := &DHCPServer{cfg: newServerConfig("0.0.0.0:67", opts)}
	id := s.cfg.serverID
	if !id.IsValid() {
		if s.cfg.packetConn != nil {
			if u, ok := s.cfg.packetConn.LocalAddr().(*net.UDPAddr); ok {
				id, _ = netip.AddrFromSlice(u.IP.To4())
			}
		} else if ap, err := netip.ParseAddrPort(s.cfg.addr); err == nil {
			id = ap.Addr()
		}
	}
	if !id.Is4() || id.IsUnspecified() {
		return nil, fmt.Errorf("%w: server ID %q: want a specific IPv4 address (set WithServerID when listening on %s)",
			ErrServerConfig, id.String(), s.cfg.addr)
	}
	s.serverID = net.IP(id.AsSlice())
	if err := s.SetReservations(context.Background(), reservations); err != nil {
		return nil, err
	}
	return s, nil
}

// ServerID returns the server identifier the server puts in option 54.
func (s *DHCPServer) ServerID() netip.Addr {
	a, _ := netip.AddrFromSlice(s.serverID)
	return a
}

// Addr returns the local address of the server's socket; empty before Start.
func (s *DHCPServer) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return ""
	}
	return s.conn.LocalAddr().String()
}

// Stats returns a snapshot of the counters.
func (s *DHCPServer) Stats() DHCPStats { return s.stats.snapshot() }

// Leases returns what the server knows about its clients, by address.
func (s *DHCPServer) Leases() []Lease { return s.leases.list() }

// Reservations returns a copy of the reservations being served.
func (s *DHCPServer) Reservations() []Reservation { return copyReservations(s.res.Load().list) }

// SetReservations replaces the reservation table. On a validation error the
// old table stays in service.
func (s *DHCPServer) SetReservations(ctx context.Context, rs []Reservation) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("netprov: set reservations: %w", err)
	}
	idx, err := compileReservations(rs)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.res.Store(idx)
	s.leases.prune(idx)
	s.cfg.logger.Debug("dhcp reservations set", "count", len(idx.list))
	return nil
}

// Start opens the socket (or takes the one from WithPacketConn) and serves
// in the background. Stop it with Shutdown.
func (s *DHCPServer) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("netprov: dhcp server start: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != 0 {
		return fmt.Errorf("%w: DHCP server already started", ErrServerState)
	}
	conn := s.cfg.packetConn
	if conn == nil {
		ua, err := net.ResolveUDPAddr("udp4", s.cfg.addr)
		if err != nil {
			return fmt.Errorf("%w: addr %q: %v", ErrServerConfig, s.cfg.addr, err)
		}
		// server4's socket: SO_BROADCAST for replies to clients without an
		// address, SO_BINDTODEVICE when WithInterface is set.
		uc, err := server4.NewIPv4UDPConn(s.cfg.iface, ua)
		if err != nil {
			return fmt.Errorf("netprov: dhcp listen %s (interface %q): %w", s.cfg.addr, s.cfg.iface, err)
		}
		conn = uc
	}
	srv, err := server4.NewServer("", nil, s.Handle, server4.WithConn(conn))
	if err != nil {
		conn.Close()
		return fmt.Errorf("netprov: dhcp server: %w", err)
	}
	s.srv, s.conn, s.state = srv, conn, 1
	s.served = make(chan error, 1)
	go func() { s.served <- srv.Serve() }()
	s.cfg.logger.Info("dhcp server listening", "addr", conn.LocalAddr().String(),
		"interface", s.cfg.iface, "serverID", s.serverID.String(), "reservations", len(s.res.Load().list))
	return nil
}

// Serve starts the server if needed and blocks until ctx ends, then shuts
// it down; it returns early with an error if the socket fails.
func (s *DHCPServer) Serve(ctx context.Context) error {
	s.mu.Lock()
	st := s.state
	s.mu.Unlock()
	if st == 0 {
		if err := s.Start(ctx); err != nil {
			return err
		}
	}
	select {
	case <-ctx.Done():
		return s.Shutdown(context.WithoutCancel(ctx))
	case err := <-s.served:
		s.served <- err // for Shutdown
		s.mu.Lock()
		st := s.state
		s.mu.Unlock()
		if st == 2 {
			return nil // someone called Shutdown: a clean stop
		}
		_ = s.Shutdown(context.WithoutCancel(ctx))
		return fmt.Errorf("netprov: dhcp server on %s: %w", s.Addr(), err)
	}
}

// Shutdown closes the socket and waits, until ctx ends, for replies being
// built to finish.
func (s *DHCPServer) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.state != 1 {
		s.mu.Unlock()
		return fmt.Errorf("%w: DHCP server is not running", ErrServerState)
	}
	s.state = 2
	srv := s.srv
	s.mu.Unlock()
	_ = srv.Close()
	done := make(chan struct{})
	go func() {
		<-s.served // the read loop has returned: no new handlers
		s.gate.Lock()
		s.closed = true
		s.gate.Unlock()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("netprov: dhcp server shutdown: %w", ctx.Err())
	}
}

// Handle is the server4.Handler: it answers one message on conn. It can be
// used with a server4.Server of the caller's own.
func (s *DHCPServer) Handle(conn net.PacketConn, peer net.Addr, m *dhcpv4.DHCPv4) {
	s.gate.RLock()
	defer s.gate.RUnlock()
	if s.closed {
		return
	}
	resp := s.Reply(m)
	if resp == nil {
		return
	}
	if _, err := conn.WriteTo(resp.ToBytes(), replyAddr(m, peer)); err != nil {
		s.stats.writeErrors.Add(1)
		s.cfg.logger.Warn("dhcp reply not sent", "to", replyAddr(m, peer).String(), "mac", m.ClientHWAddr.String(), "err", err)
	}
}
