package netprov

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"
)

// DNSServer is okvm's embedded DNS server: authoritative over UDP and TCP
// for the zones it is given (the cluster zone and its reverse zone), a
// forwarder to upstreams for every other name when it has some, REFUSED
// otherwise.
//
// It answers the way BIND would for the same records: AA on its own
// answers, the zone's SOA in the authority section of NXDOMAIN and NODATA
// answers, RFC 4592 wildcards (*.apps matches only names that do not
// exist), EDNS0 (the client's UDP size, up to WithUDPSize, OPT echoed with
// the DO bit; BADVERS for EDNS versions other than 0), and the TC bit when
// an answer does not fit in UDP so the client retries over TCP.
//
// Records change live with SetZones or Update (for example to drop the
// bootstrap node once bootstrap is complete): a new index is built and
// swapped in atomically, so running queries never see half a change.
// DNSServer is a DNSProvider and a dns.Handler.
type DNSServer struct {
	cfg   serverConfig
	index atomic.Pointer[zoneIndex]
	stats dnsCounters
	udp   *dns.Client
	tcp   *dns.Client

	mu       sync.Mutex // serialises SetZones/Update and Start/Shutdown
	serial   uint32
	state    int // 0 new, 1 running, 2 stopped
	pcs      []net.PacketConn
	tcpSrv   *dns.Server
	addr     string
	errc     chan error
	closing  atomic.Bool
	loops    sync.WaitGroup     // UDP read loops
	inflight sync.WaitGroup     // forwarded UDP queries
	cancel   context.CancelFunc // stops forwards in flight on Shutdown
	base     context.Context
}

var _ dns.Handler = (*DNSServer)(nil)

// NewDNSServer validates zones and returns a server that is not listening
// yet (see Start and Serve). Options: WithAddr (default "127.0.0.1:53"),
// WithUpstreams, WithForwardTimeout, WithUDPSize, WithUDPSockets,
// WithPacketConn, WithListener, WithLogger, WithClock.
func NewDNSServer(zones []Zone, opts ...ServerOption) (*DNSServer, error) {
	s := &DNSServer{cfg: newServerConfig("127.0.0.1:53", opts)}
	for i, up := range s.cfg.upstreams {
		if _, _, err := net.SplitHostPort(up); err != nil {
			return nil, fmt.Errorf("%w: upstreams[%d] %q is not host:port: %v", ErrServerConfig, i, up, err)
		}
	}
	s.udp = &dns.Client{Net: "udp", Timeout: s.cfg.forwardTimeout, UDPSize: s.cfg.udpSize}
	s.tcp = &dns.Client{Net: "tcp", Timeout: s.cfg.forwardTimeout}
	s.base, s.cancel = context.WithCancel(context.Background())
	if err := s.SetZones(context.Background(), zones); err != nil {
		return nil, err
	}
	return s, nil
}

// Addr returns the address the server listens on ("127.0.0.1:40123"), the
// same port for UDP and TCP; empty before Start.
func (s *DNSServer) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Stats returns a snapshot of the counters.
func (s *DNSServer) Stats() DNSStats { return s.stats.snapshot() }

// Start opens the sockets and serves in the background; it returns once the
// server is listening (or ctx ends first). Stop it with Shutdown.
func (s *DNSServer) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != 0 {
		return fmt.Errorf("%w: DNS server already started", ErrServerState)
	}
	pcs, ln, err := s.listen(ctx)
	if err != nil {
		return err
	}
	s.pcs = pcs
	s.addr = pcs[0].LocalAddr().String()
	s.errc = make(chan error, len(pcs)+1)
	s.state = 1
	for _, pc := range pcs {
		s.loops.Add(1)
		go func(pc net.PacketConn) {
			defer s.loops.Done()
			if err := s.serveUDP(pc); err != nil {
				s.cfg.logger.Error("dns udp socket failed", "addr", s.addr, "err", err)
				s.errc <- err
			}
		}(pc)
	}
	if ln != nil {
		started := make(chan struct{})
		s.tcpSrv = &dns.Server{Listener: ln, Handler: s, NotifyStartedFunc: func() { close(started) }}
		go func() {
			if err := s.tcpSrv.ActivateAndServe(); err != nil {
				s.cfg.logger.Error("dns tcp listener stopped", "addr", s.addr, "err", err)
				s.errc <- err
			}
		}()
		select {
		case <-started:
		case err := <-s.errc:
			s.shutdownLocked(context.Background())
			return fmt.Errorf("netprov: dns server on %s: %w", s.addr, err)
		case <-ctx.Done():
			s.shutdownLocked(context.Background())
			return fmt.Errorf("netprov: dns server start on %s: %w", s.addr, ctx.Err())
		}
	}
	s.cfg.logger.Info("dns server listening", "addr", s.addr, "udpSockets", len(pcs), "tcp", ln != nil,
		"zones", len(s.index.Load().list), "upstreams", s.cfg.upstreams)
	return nil
}

// Serve starts the server if needed and blocks until ctx ends (then shuts
// down gracefully, waiting up to 5s for queries in flight) or a listener
// fails. It returns nil after a shutdown caused by ctx.
func (s *DNSServer) Serve(ctx context.Context) error {
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
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return s.Shutdown(sctx)
	case err := <-s.errc:
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(sctx)
		return fmt.Errorf("netprov: dns server on %s: %w", s.Addr(), err)
	}
}

// Shutdown stops accepting queries, cancels forwards in flight and waits
// for running handlers until ctx ends. It closes every socket, including
// those given with WithPacketConn and WithListener.
func (s *DNSServer) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != 1 {
		return fmt.Errorf("%w: DNS server is not running", ErrServerState)
	}
	return s.shutdownLocked(ctx)
}

func (s *DNSServer) shutdownLocked(ctx context.Context) error {
	s.state = 2
	s.closing.Store(true)
	s.cancel()
	var errs []error
	for _, pc := range s.pcs {
		pc.Close() // unblocks the read loop
	}
	if s.tcpSrv != nil {
		if err := s.tcpSrv.ShutdownContext(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	done := make(chan struct{})
	go func() {
		s.loops.Wait()    // read loops gone: nothing new is dispatched
		s.inflight.Wait() // forwards in flight
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, ctx.Err())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("netprov: dns server shutdown: %w", err)
	}
	return nil
}

// listen opens the UDP socket(s) and the TCP listener on one port. With
// port 0 the kernel picks the UDP port, and TCP must get the same one; if
// that TCP port is taken, try again (a bounded number of times).
func (s *DNSServer) listen(ctx context.Context) ([]net.PacketConn, net.Listener, error) {
	if s.cfg.packetConn != nil {
		return []net.PacketConn{s.cfg.packetConn}, s.cfg.listener, nil
	}
	if s.cfg.listener != nil {
		// Opening UDP ourselves next to a given TCP listener could pick a
		// different port or address: refuse rather than guess.
		return nil, nil, fmt.Errorf("%w: WithListener needs WithPacketConn (the UDP side)", ErrServerConfig)
	}
	host, port, err := net.SplitHostPort(s.cfg.addr)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: addr %q: %v", ErrServerConfig, s.cfg.addr, err)
	}
	n := s.cfg.udpSockets
	if n < 1 {
		n = 1
	}
	lc := net.ListenConfig{}
	if n > 1 {
		lc.Control = reusePort
	}
	var lastErr error
	for attempt := 0; attempt < 10; attempt++ {
		first, err := lc.ListenPacket(ctx, "udp", s.cfg.addr)
		if err != nil {
			return nil, nil, fmt.Errorf("netprov: dns listen udp %s: %w", s.cfg.addr, err)
		}
		pcs := []net.PacketConn{first}
		bound := net.JoinHostPort(host, strconv.Itoa(first.LocalAddr().(*net.UDPAddr).Port))
		for len(pcs) < n && err == nil {
			var pc net.PacketConn
			if pc, err = lc.ListenPacket(ctx, "udp", bound); err == nil {
				pcs = append(pcs, pc)
			}
		}
		var ln net.Listener
		if err == nil {
			ln, err = (&net.ListenConfig{}).Listen(ctx, "tcp", bound)
		}
		if err == nil {
			return pcs, ln, nil
		}
		for _, pc := range pcs {
			pc.Close()
		}
		lastErr = err
		if port != "0" {
			break
		}
	}
	return nil, nil, fmt.Errorf("netprov: dns listen %s: %w", s.cfg.addr, lastErr)
}

func reusePort(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// SetZones replaces every zone the server answers for. The new zones are
// validated and compiled first; on error the old ones stay in service.
func (s *DNSServer) SetZones(ctx context.Context, zones []Zone) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("netprov: set zones: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setZonesLocked(zones)
}

func (s *DNSServer) setZonesLocked(zones []Zone) error {
	// Synthesised SOAs get a serial that grows with every change, so a
	// secondary or a cache that compares serials sees the change.
	serial := uint32(s.cfg.now().Unix())
	if serial <= s.serial {
		serial = s.serial + 1
	}
	idx, err := compileZones(zones, serial)
	if err != nil {
		return err
	}
	s.serial = serial
	s.index.Store(idx)
	s.cfg.logger.Debug("dns zones set", "zones", len(zones), "serial", serial)
	return nil
}

// Update applies fn to a copy of the current zones and serves the result,
// atomically with respect to other SetZones and Update calls. Use it for
// read-modify-write changes such as removing the bootstrap records:
//
//	srv.Update(ctx, func(zs []Zone) ([]Zone, error) {
//		for i := range zs {
//			zs[i] = zs[i].Without("bootstrap.c1.example.com.")
//		}
//		return zs, nil
//	})
func (s *DNSServer) Update(ctx context.Context, fn func([]Zone) ([]Zone, error)) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("netprov: update zones: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next, err := fn(copyZones(s.index.Load().list))
	if err != nil {
		return fmt.Errorf("netprov: update zones: %w", err)
	}
	return s.setZonesLocked(next)
}

// Zones returns a copy of the zones being served.
func (s *DNSServer) Zones() []Zone { return copyZones(s.index.Load().list) }

// ServeDNS answers one query; the TCP listener calls it for each message.
// It can also be mounted in another miekg/dns server or mux.
func (s *DNSServer) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	ra := w.RemoteAddr()
	s.serve(w, r, ra != nil && ra.Network() == "tcp")
}

func (s *DNSServer) serve(w dns.ResponseWriter, r *dns.Msg, tcp bool) {
	s.stats.queries.Add(1)
	if tcp {
		s.stats.tcp.Add(1)
	}
	m := s.respond(r, tcp)
	if m == nil {
		return
	}
	if tcp {
		m.Truncate(dns.MaxMsgSize) // compresses if needed; TCP never sets TC below 64 KiB
	} else {
		m.Truncate(s.udpLimit(r))
		if m.Truncated {
			s.stats.truncated.Add(1)
		}
	}
	s.stats.rcode(m.Rcode)
	if err := w.WriteMsg(m); err != nil && s.cfg.logger.Enabled(context.Background(), slog.LevelDebug) {
		s.cfg.logger.Debug("dns write failed", "client", w.RemoteAddr().String(), "err", err)
	}
}

// udpLimit is the largest UDP response the client accepts: 512 without
// EDNS0, else its advertised size capped by ours (RFC 6891 §6.2.5).
func (s *DNSServer) udpLimit(r *dns.Msg) int {
	opt := r.IsEdns0()
	if opt == nil {
		return dns.MinMsgSize
	}
	size := int(opt.UDPSize())
	if size > int(s.cfg.udpSize) {
		size = int(s.cfg.udpSize)
	}
	if size < dns.MinMsgSize {
		size = dns.MinMsgSize
	}
	return size
}

// respond builds the response to r, or returns nil to stay silent (r is
// itself a response: answering it could start a loop).
func (s *DNSServer) respond(r *dns.Msg, tcp bool) *dns.Msg {
	if r.Response {
		return nil
	}
	m := new(dns.Msg)
	m.SetReply(r)
	if opt := r.IsEdns0(); opt != nil {
		m.SetEdns0(s.cfg.udpSize, opt.Do())
		if opt.Version() != 0 {
			m.Rcode = dns.RcodeBadVers // RFC 6891 §6.1.3
			return m
		}
	}
	if r.Opcode != dns.OpcodeQuery {
		m.Rcode = dns.RcodeNotImplemented
		return m
	}
	if len(r.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		return m
	}
	q := r.Question[0]
	idx := s.index.Load()
	qname := dns.CanonicalName(q.Name)
	if z := idx.findZone(qname); z != nil && (q.Qclass == dns.ClassINET || q.Qclass == dns.ClassANY) {
		switch q.Qtype {
		case dns.TypeAXFR, dns.TypeIXFR:
			m.Rcode = dns.RcodeRefused // no zone transfers: render the zone file instead
			return m
		}
		idx.resolve(m, z, qname, q.Qtype)
		m.RecursionAvailable = len(s.cfg.upstreams) > 0
		return m
	}
	if len(s.cfg.upstreams) > 0 {
		return s.forward(r, tcp)
	}
	m.Rcode = dns.RcodeRefused
	return m
}
