package netprov_test

import (
	"net"
	"testing"

	"github.com/miekg/dns"

	"github.com/okvm/okvm/netprov"
)

// fuzzWriter is a dns.ResponseWriter that keeps what the handler wrote,
// posing as a UDP or TCP client.
type fuzzWriter struct {
	tcp bool
	msg *dns.Msg
	n   int
}

func (w *fuzzWriter) LocalAddr() net.Addr { return w.RemoteAddr() }
func (w *fuzzWriter) RemoteAddr() net.Addr {
	if w.tcp {
		return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5353}
	}
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5353}
}
func (w *fuzzWriter) WriteMsg(m *dns.Msg) error   { w.msg = m; w.n++; return nil }
func (w *fuzzWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *fuzzWriter) Close() error                { return nil }
func (w *fuzzWriter) TsigStatus() error           { return nil }
func (w *fuzzWriter) TsigTimersOnly(bool)         {}
func (w *fuzzWriter) Hijack()                     {}

func dnsSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	add := func(m *dns.Msg) {
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	for _, q := range []struct {
		name  string
		qtype uint16
		edns  uint16
	}{
		{"api.c1.example.com.", dns.TypeA, 0},
		{"x.apps.c1.example.com.", dns.TypeA, 1232},
		{"many.c1.example.com.", dns.TypeA, 0},
		{"many.c1.example.com.", dns.TypeANY, 4096},
		{"10.126.168.192.in-addr.arpa.", dns.TypePTR, 0},
		{"www.c1.example.com.", dns.TypeA, 512},
		{"nope.c1.example.com.", dns.TypeAAAA, 1232},
		{"example.org.", dns.TypeA, 0},
		{"c1.example.com.", dns.TypeAXFR, 0},
		{".", dns.TypeNS, 0},
	} {
		m := new(dns.Msg).SetQuestion(q.name, q.qtype)
		if q.edns > 0 {
			m.SetEdns0(q.edns, true)
		}
		add(m)
	}
	m := new(dns.Msg).SetQuestion("api.c1.example.com.", dns.TypeA)
	m.Opcode = dns.OpcodeUpdate
	add(m)
	m = new(dns.Msg).SetQuestion("api.c1.example.com.", dns.TypeA)
	m.SetEdns0(1232, false)
	m.IsEdns0().SetVersion(3)
	add(m)
	seeds = append(seeds, []byte{}, []byte{0, 1, 2}, make([]byte, 12))
	return seeds
}

// FuzzDNSHandler feeds raw bytes to the path a UDP datagram takes (the
// server's read loop: unpack, FORMERR for garbage, handler, pack) or a TCP
// message takes (unpack as miekg/dns's TCP server does, then ServeDNS). Whatever the input, the
// handler must not panic or hang, and a response must be a packable reply to
// the same ID that fits the client's UDP limit.
func FuzzDNSHandler(f *testing.F) {
	for _, s := range dnsSeeds(f) {
		f.Add(s, false)
		f.Add(s, true)
	}
	srv, err := netprov.NewDNSServer(testZones(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte, tcp bool) {
		req := new(dns.Msg)
		unpacked := req.Unpack(raw) == nil
		if !tcp {
			// UDP: the read loop's own path, from raw bytes to raw bytes.
			out := netprov.DNSDatagram(srv, raw)
			if out == nil {
				if unpacked && !req.Response {
					t.Fatalf("no response to a query: %v", req)
				}
				return
			}
			if len(raw) < 12 {
				t.Fatalf("answered a %d-byte runt", len(raw))
			}
			resp := new(dns.Msg)
			if err := resp.Unpack(out); err != nil {
				t.Fatalf("response does not unpack: %v", err)
			}
			if id := uint16(raw[0])<<8 | uint16(raw[1]); resp.Id != id || !resp.Response {
				t.Fatalf("response id %d (QR %v) to query %d", resp.Id, resp.Response, id)
			}
			limit := dns.MinMsgSize
			if opt := req.IsEdns0(); unpacked && opt != nil && opt.UDPSize() > dns.MinMsgSize {
				limit = min(int(opt.UDPSize()), 1232)
			}
			if len(out) > limit {
				t.Fatalf("UDP response of %d bytes over a %d-byte limit", len(out), limit)
			}
			return
		}
		// TCP: the handler as miekg/dns's TCP server calls it.
		if !unpacked {
			return // dns.Server answers FORMERR itself before the handler
		}
		w := &fuzzWriter{tcp: true}
		srv.ServeDNS(w, req)
		if w.n > 1 {
			t.Fatalf("%d responses to one query", w.n)
		}
		if w.msg == nil {
			if !req.Response {
				t.Fatalf("no response to a query: %v", req)
			}
			return
		}
		b, err := w.msg.Pack()
		if err != nil {
			t.Fatalf("response does not pack: %v\n%v", err, w.msg)
		}
		if w.msg.Id != req.Id || !w.msg.Response {
			t.Fatalf("response id %d (QR %v) to query %d", w.msg.Id, w.msg.Response, req.Id)
		}
		if len(b) > dns.MaxMsgSize {
			t.Fatalf("TCP response of %d bytes", len(b))
		}
	})
}
