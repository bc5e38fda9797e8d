package netprov_test

import (
	"net"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/okvm/okvm/netprov"
)

// recordConn is a net.PacketConn that keeps what is written to it.
type recordConn struct {
	net.PacketConn
	to  net.Addr
	out []byte
}

func (c *recordConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	c.out, c.to = append([]byte(nil), b...), addr
	return len(b), nil
}

func dhcpSeeds(t testing.TB) [][]byte {
	reqIP := dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP("192.168.126.10")))
	sid := dhcpv4.WithOption(dhcpv4.OptServerIdentifier(serverID))
	ps := []*dhcpv4.DHCPv4{
		packet(t, dhcpv4.MessageTypeDiscover, mac0),
		packet(t, dhcpv4.MessageTypeDiscover, macX),
		packet(t, dhcpv4.MessageTypeRequest, mac0, reqIP, sid),
		packet(t, dhcpv4.MessageTypeRequest, mac0, dhcpv4.WithClientIP(net.ParseIP("192.168.126.10"))),
		packet(t, dhcpv4.MessageTypeRequest, mac1, reqIP),
		packet(t, dhcpv4.MessageTypeRelease, mac0, dhcpv4.WithClientIP(net.ParseIP("192.168.126.10")), sid),
		packet(t, dhcpv4.MessageTypeDecline, mac0, reqIP, sid),
		packet(t, dhcpv4.MessageTypeInform, mac0, dhcpv4.WithClientIP(net.ParseIP("192.168.126.10"))),
		packet(t, dhcpv4.MessageTypeDiscover, mac0, dhcpv4.WithRelay(net.ParseIP("10.0.0.1")),
			dhcpv4.WithOption(dhcpv4.OptClientIdentifier([]byte{1, 0x52, 0x54, 0, 0, 0, 0x10}))),
	}
	var seeds [][]byte
	for _, p := range ps {
		seeds = append(seeds, p.ToBytes())
	}
	return append(seeds, []byte{}, make([]byte, 240))
}

// FuzzDHCPHandler feeds raw bytes to the path a datagram takes in the
// server: parse as server4 does, then Handle. No input may panic; a reply
// must parse back, carry the request's xid and chaddr, and go somewhere.
func FuzzDHCPHandler(f *testing.F) {
	for _, s := range dhcpSeeds(f) {
		f.Add(s)
	}
	s := newDHCP(f, netclock())
	f.Fuzz(func(t *testing.T, raw []byte) {
		req, err := dhcpv4.FromBytes(raw)
		if err != nil {
			return // server4 drops what does not parse
		}
		c := &recordConn{}
		s.Handle(c, &net.UDPAddr{IP: net.IPv4bcast, Port: dhcpv4.ClientPort}, req)
		if c.out == nil {
			return
		}
		resp, err := dhcpv4.FromBytes(c.out)
		if err != nil {
			t.Fatalf("reply does not parse: %v", err)
		}
		if resp.TransactionID != req.TransactionID || resp.OpCode != dhcpv4.OpcodeBootReply {
			t.Fatalf("reply xid %v op %v to xid %v", resp.TransactionID, resp.OpCode, req.TransactionID)
		}
		if resp.ClientHWAddr.String() != req.ClientHWAddr.String() {
			t.Fatalf("reply chaddr %v to %v", resp.ClientHWAddr, req.ClientHWAddr)
		}
		if c.to == nil {
			t.Fatal("reply without a destination")
		}
	})
}

// netclock pins the server's clock so fuzzing does not depend on time.
func netclock() netprov.ServerOption {
	t0 := time.Date(2026, 11, 23, 16, 0, 0, 0, time.UTC)
	return netprov.WithClock(func() time.Time { return t0 })
}
