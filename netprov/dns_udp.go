package netprov

import (
	"errors"
	"net"
	"net/netip"

	"github.com/miekg/dns"
)

// serveUDP is the read loop of one UDP socket. miekg/dns's own server
// starts a goroutine per datagram; here an authoritative answer is built
// and sent on the reading goroutine (it never blocks: the zones are in
// memory), which saves the goroutine start, its stack growth and a
// scheduler hop per query. With WithUDPSockets(n) the kernel spreads
// queries over n such loops (SO_REUSEPORT). Only queries that go to an
// upstream, which can take seconds, get their own goroutine.
func (s *DNSServer) serveUDP(pc net.PacketConn) error {
	uc, _ := pc.(*net.UDPConn)
	in := make([]byte, 65535) // never truncate a query on read, whatever its size
	w := &udpWriter{pc: pc, uc: uc, buf: make([]byte, 0, 1<<12)}
	for {
		var (
			n   int
			err error
		)
		if uc != nil {
			n, w.ap, err = uc.ReadFromUDPAddrPort(in)
		} else {
			n, w.addr, err = pc.ReadFrom(in)
		}
		if err != nil {
			if s.closing.Load() || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		s.handleDatagram(w, in[:n])
	}
}

// handleDatagram answers one datagram read by the loop: w carries the
// sender, b the bytes (reused by the next read, so nothing may keep them).
func (s *DNSServer) handleDatagram(w *udpWriter, b []byte) {
	req := new(dns.Msg)
	if err := req.Unpack(b); err != nil {
		s.formErr(w, b)
		return
	}
	if s.forwards(req) {
		fw := &udpWriter{pc: w.pc, uc: w.uc, ap: w.ap, addr: w.addr}
		s.inflight.Add(1)
		go func() {
			defer s.inflight.Done()
			s.serve(fw, req, false)
		}()
		return
	}
	s.serve(w, req, false)
}

// forwards reports whether req will go to an upstream (and so must not be
// answered on the read loop).
func (s *DNSServer) forwards(req *dns.Msg) bool {
	if len(s.cfg.upstreams) == 0 || len(req.Question) != 1 || req.Response || req.Opcode != dns.OpcodeQuery {
		return false
	}
	return s.index.Load().findZone(dns.CanonicalName(req.Question[0].Name)) == nil
}

// formErr answers a datagram that does not unpack the way miekg/dns's
// server does: FORMERR with the request's header when the header itself is
// readable, silence otherwise (answering garbage would make the server an
// amplifier).
func (s *DNSServer) formErr(w *udpWriter, b []byte) {
	s.stats.queries.Add(1)
	if len(b) < 12 || b[2]&0x80 != 0 { // too short, or a response
		return
	}
	m := new(dns.Msg)
	m.Id = uint16(b[0])<<8 | uint16(b[1])
	m.Response = true
	m.Opcode = int(b[2]>>3) & 0xF
	m.Rcode = dns.RcodeFormatError
	s.stats.rcode(dns.RcodeFormatError)
	_ = w.WriteMsg(m)
}

// udpWriter is the dns.ResponseWriter of the UDP loop: it packs into a
// buffer reused across queries and sends without building a net.Addr.
type udpWriter struct {
	pc   net.PacketConn
	uc   *net.UDPConn
	ap   netip.AddrPort
	addr net.Addr
	buf  []byte
}

func (w *udpWriter) WriteMsg(m *dns.Msg) error {
	b, err := m.PackBuffer(w.buf[:0])
	if err != nil {
		return err
	}
	if cap(b) <= 1<<16 {
		w.buf = b[:0]
	}
	_, err = w.Write(b)
	return err
}

func (w *udpWriter) Write(b []byte) (int, error) {
	if w.uc != nil {
		return w.uc.WriteToUDPAddrPort(b, w.ap)
	}
	return w.pc.WriteTo(b, w.addr)
}

func (w *udpWriter) LocalAddr() net.Addr { return w.pc.LocalAddr() }
func (w *udpWriter) RemoteAddr() net.Addr {
	if w.uc != nil {
		return net.UDPAddrFromAddrPort(w.ap)
	}
	return w.addr
}
func (w *udpWriter) Close() error        { return nil }
func (w *udpWriter) TsigStatus() error   { return nil }
func (w *udpWriter) TsigTimersOnly(bool) {}
func (w *udpWriter) Hijack()             {}
