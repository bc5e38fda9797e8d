package netprov

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"time"
)

// ServerOption configures an embedded server (NewDNSServer, NewDHCPServer).
// The two servers share one option type so that WithLogger and WithAddr read
// the same everywhere; an option that only one server uses says so and is
// ignored by the other.
type ServerOption func(*serverConfig)

type serverConfig struct {
	logger         *slog.Logger
	addr           string
	packetConn     net.PacketConn
	listener       net.Listener
	upstreams      []string
	forwardTimeout time.Duration
	udpSize        uint16
	udpSockets     int
	iface          string
	serverID       netip.Addr
	now            func() time.Time
}

func newServerConfig(defaultAddr string, opts []ServerOption) serverConfig {
	c := serverConfig{
		logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		addr:           defaultAddr,
		forwardTimeout: 2 * time.Second,
		udpSize:        1232, // the DNS flag day 2020 value: no IP fragmentation on any sane path
		now:            time.Now,
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// WithLogger sends the server's log lines (unknown DHCP clients, upstream
// failures, listener errors) to l. The default discards them.
func WithLogger(l *slog.Logger) ServerOption {
	return func(c *serverConfig) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithAddr sets the address to listen on. The DNS server listens on UDP and
// TCP at the same port (default "127.0.0.1:53"; port 0 picks a free port
// shared by both). The DHCP server listens on UDP (default "0.0.0.0:67").
func WithAddr(addr string) ServerOption {
	return func(c *serverConfig) { c.addr = addr }
}

// WithPacketConn makes the server use pc instead of opening a UDP socket,
// like systemd socket activation; tests use it to run the DHCP server on a
// loopback port, and namespaced callers pass a socket opened inside a network
// namespace. The server closes pc on Shutdown.
func WithPacketConn(pc net.PacketConn) ServerOption {
	return func(c *serverConfig) { c.packetConn = pc }
}

// WithListener makes the DNS server accept TCP queries on l instead of
// opening its own listener (DNS only). When WithPacketConn is given without
// WithListener, the DNS server serves UDP only.
func WithListener(l net.Listener) ServerOption {
	return func(c *serverConfig) { c.listener = l }
}

// WithUpstreams makes the DNS server forward names outside its zones to
// these servers ("host:port", tried in order). Without upstreams such names
// get REFUSED, which is what an authoritative-only server must answer
// (DNS only).
func WithUpstreams(addrs ...string) ServerOption {
	return func(c *serverConfig) { c.upstreams = append([]string(nil), addrs...) }
}

// WithForwardTimeout bounds each upstream exchange (default 2s, DNS only).
func WithForwardTimeout(d time.Duration) ServerOption {
	return func(c *serverConfig) {
		if d > 0 {
			c.forwardTimeout = d
		}
	}
}

// WithUDPSize sets the EDNS0 UDP payload size the DNS server advertises and
// accepts at most (default 1232; DNS only). A client's smaller size wins.
func WithUDPSize(n uint16) ServerOption {
	return func(c *serverConfig) {
		if n >= 512 {
			c.udpSize = n
		}
	}
}

// WithUDPSockets sets how many UDP sockets the DNS server opens on its port
// with SO_REUSEPORT, each read by its own goroutine, so that the kernel
// spreads queries over cores (default: 1; DNS only, ignored with
// WithPacketConn).
func WithUDPSockets(n int) ServerOption {
	return func(c *serverConfig) { c.udpSockets = n }
}

// WithInterface binds the DHCP server's socket to one network interface
// (SO_BINDTODEVICE), so that broadcast replies leave through it and requests
// from other links are not answered (DHCP only).
func WithInterface(name string) ServerOption {
	return func(c *serverConfig) { c.iface = name }
}

// WithServerID sets the DHCP server identifier (option 54), the address
// clients unicast renewals to. It defaults to the listening address when
// that is a specific IPv4 address and must be set otherwise (DHCP only).
func WithServerID(ip netip.Addr) ServerOption {
	return func(c *serverConfig) { c.serverID = ip }
}

// WithClock replaces time.Now for lease bookkeeping and synthesised SOA
// serials, so tests can control time.
func WithClock(now func() time.Time) ServerOption {
	return func(c *serverConfig) {
		if now != nil {
			c.now = now
		}
	}
}
