package netprov

import "net"

// DNSDatagram runs one datagram through the UDP read loop's path (unpack,
// FORMERR or silence for garbage, then the handler) and returns what the
// server sent back, nil for nothing. Fuzzing uses it to reach the loop's
// own code without a socket.
func DNSDatagram(s *DNSServer, b []byte) []byte {
	c := &capturePC{}
	w := &udpWriter{pc: c, addr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5353}}
	s.handleDatagram(w, b)
	s.inflight.Wait()
	return c.out
}

type capturePC struct {
	net.PacketConn
	out []byte
}

func (c *capturePC) WriteTo(b []byte, _ net.Addr) (int, error) {
	c.out = append([]byte(nil), b...)
	return len(b), nil
}
