package kvm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	libvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket"
	"github.com/digitalocean/go-libvirt/socket/dialers"
)

// DialFunc opens one connection to libvirt. The Client calls it again after
// a connection is lost or poisoned by a cancelled call, so it must open a
// fresh connection each time it is called. kvmtest.Fake.Dialer returns one.
type DialFunc func(ctx context.Context) (Libvirt, error)

// Default sockets of a system libvirt: the monolithic libvirtd (or
// virtproxyd) socket, then the modular QEMU daemon's own socket.
var systemSockets = []string{"/var/run/libvirt/libvirt-sock", "/var/run/libvirt/virtqemud-sock"}

// target is a parsed libvirt URI: how to reach the daemon and which driver
// URI to open once there.
type target struct {
	transport string // unix, tcp, tls, ssh, libssh, libssh2
	socket    string // unix: local socket; ssh: remote socket
	host      string
	port      string
	driverURI string // the bare URI sent in ConnectOpen, e.g. "qemu:///system"
	uri       *url.URL
}

// parseURI maps a libvirt URI to a target. It does not touch the network;
// for qemu:///session it resolves (and checks) the per-user socket, because
// go-libvirt, unlike the C client, neither computes nor autostarts it.
func parseURI(raw string) (*target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fieldErr("uri", raw, "not a URL: %v", err)
	}
	if u.Scheme == "" {
		return nil, fieldErr("uri", raw, "missing scheme (want e.g. qemu:///system, test+unix:///default?socket=…)")
	}
	driver, transport, hasTransport := strings.Cut(u.Scheme, "+")
	if !hasTransport {
		transport = "unix"
		if u.Host != "" {
			transport = "tls" // libvirt's rule: a host without transport means TLS
		}
	}
	switch driver {
	case "qemu", "test", "lxc", "xen", "ch", "bhyve", "vbox":
	default:
		return nil, fieldErr("uri", raw, "unknown driver %q", driver)
	}
	if u.Path == "" {
		return nil, fieldErr("uri", raw, "missing path (/system, /session, /default)")
	}
	q := u.Query()
	t := &target{transport: transport, host: u.Hostname(), port: u.Port(), uri: u}
	t.driverURI = (&url.URL{Scheme: driver, Path: u.Path}).String()
	if name := q.Get("name"); name != "" {
		t.driverURI = name
	}
	switch mode := strings.ToLower(q.Get("mode")); mode {
	case "", "legacy", "auto":
	default:
		return nil, fieldErr("uri", raw, "mode=%s is not supported (only legacy/auto)", mode)
	}
	switch transport {
	case "unix":
		if u.Host != "" {
			return nil, fieldErr("uri", raw, "the unix transport takes no host")
		}
		t.socket = q.Get("socket")
		if t.socket == "" {
			t.socket, err = defaultSocket(driver, u.Path)
			if err != nil {
				return nil, err
			}
		}
	case "tcp", "tls", "ssh", "libssh", "libssh2":
		if t.host == "" {
			return nil, fieldErr("uri", raw, "the %s transport needs a host", transport)
		}
		t.socket = q.Get("socket")
	default:
		return nil, fieldErr("uri", raw, "unknown transport %q (want unix, tcp, tls or ssh)", transport)
	}
	if nv := q.Get("no_verify"); nv != "" {
		if _, err := strconv.Atoi(nv); err != nil {
			return nil, fieldErr("uri", raw, "no_verify=%s is not a number", nv)
		}
	}
	return t, nil
}

func defaultSocket(driver, path string) (string, error) {
	if driver == "qemu" && path == "/session" {
		dir := os.Getenv("XDG_RUNTIME_DIR")
		if dir == "" {
			dir = fmt.Sprintf("/run/user/%d", os.Getuid())
		}
		s := filepath.Join(dir, "libvirt", "libvirt-sock")
		if _, err := os.Stat(s); err != nil {
			return "", fmt.Errorf("kvm: qemu:///session: no session libvirtd socket at %s (go-libvirt does not start the session daemon: run `libvirtd --timeout=0 -d` as this user, or pass ?socket=): %w", s, err)
		}
		return s, nil
	}
	for _, s := range systemSockets {
		if _, err := os.Stat(s); err == nil {
			return s, nil
		}
	}
	return systemSockets[0], nil
}

// Dial connects to the libvirt daemon named by uri and returns a Client
// that redials on its own after the connection is lost.
//
// Supported URIs: qemu:///system, qemu:///session (socket from
// $XDG_RUNTIME_DIR/libvirt/libvirt-sock), test:///default, and the
// transports +unix (?socket=), +tcp, +tls (?pkipath=, ?no_verify=1) and
// +ssh/+libssh (?keyfile=, ?known_hosts=, ?socket=, user@host:port). Once
// the socket is up, the bare driver URI (qemu:///system) is opened, as
// libvirt's own client does.
func Dial(ctx context.Context, uri string, opts ...Option) (*Client, error) {
	t, err := parseURI(uri)
	if err != nil {
		return nil, err
	}
	return NewClient(ctx, t.dialFunc(), opts...)
}

func (t *target) dialFunc() DialFunc {
	return func(ctx context.Context) (Libvirt, error) {
		d, err := t.dialer(ctx)
		if err != nil {
			return nil, err
		}
		lv := libvirt.NewWithDialer(d)
		done := make(chan error, 1)
		go func() { done <- lv.ConnectToURI(libvirt.ConnectURI(t.driverURI)) }()
		select {
		case err := <-done:
			if err != nil {
				d.close()
				return nil, fmt.Errorf("open %s: %w", t.driverURI, err)
			}
			return &realConn{Libvirt: lv, d: d}, nil
		case <-ctx.Done():
			// The daemon accepted the socket but never answered: close the
			// socket so the handshake goroutine ends.
			d.close()
			return nil, fmt.Errorf("open %s: %w", t.driverURI, ctx.Err())
		}
	}
}

// dialer returns a socket.Dialer for the transport. Plain sockets are
// dialled here with ctx; TLS and SSH reuse go-libvirt's dialers.
func (t *target) dialer(ctx context.Context) (*closingDialer, error) {
	q := t.uri.Query()
	var nd net.Dialer
	switch t.transport {
	case "unix":
		c, err := nd.DialContext(ctx, "unix", t.socket)
		if err != nil {
			return nil, fmt.Errorf("dial %s: %w", t.socket, err)
		}
		return &closingDialer{conn: c}, nil
	case "tcp":
		port := t.port
		if port == "" {
			port = "16509"
		}
		c, err := nd.DialContext(ctx, "tcp", net.JoinHostPort(t.host, port))
		if err != nil {
			return nil, fmt.Errorf("dial %s: %w", t.host, err)
		}
		return &closingDialer{conn: c}, nil
	case "tls":
		var o []dialers.TLSOption
		if t.port != "" {
			o = append(o, dialers.UseTLSPort(t.port))
		}
		if p := q.Get("pkipath"); p != "" {
			o = append(o, dialers.UsePKIPath(p))
		}
		if nv, _ := strconv.Atoi(q.Get("no_verify")); nv != 0 {
			o = append(o, dialers.WithInsecureNoVerify())
		}
		return &closingDialer{inner: dialers.NewTLS(t.host, o...)}, nil
	default: // ssh, libssh, libssh2: go-libvirt emulates ssh in Go.
		var o []dialers.SSHOption
		if t.transport == "ssh" {
			if u, err := user.Current(); err == nil {
				o = append(o, dialers.WithSystemSSHDefaults(u))
			}
		}
		if t.port != "" {
			o = append(o, dialers.UseSSHPort(t.port))
		}
		if n := t.uri.User.Username(); n != "" {
			o = append(o, dialers.UseSSHUsername(n))
		}
		if p, ok := t.uri.User.Password(); ok {
			o = append(o, dialers.UseSSHPassword(p))
		}
		if t.socket != "" {
			o = append(o, dialers.WithRemoteSocket(t.socket))
		}
		if k := q.Get("keyfile"); k != "" {
			o = append(o, dialers.UseKeyFile(k))
		}
		if k := q.Get("known_hosts"); k != "" {
			o = append(o, dialers.UseKnownHostsFile(k))
		}
		if nv, _ := strconv.Atoi(q.Get("no_verify")); nv != 0 {
			o = append(o, dialers.WithInsecureIgnoreHostKey())
		}
		return &closingDialer{inner: dialers.NewSSH(t.host, o...)}, nil
	}
}

// closingDialer remembers the connection it handed to go-libvirt, so that
// kvm can close the socket itself when libvirtd stops answering (go-libvirt's
// Disconnect first sends ConnectClose and waits for a reply that a hung
// daemon never sends).
type closingDialer struct {
	inner socket.Dialer
	mu    sync.Mutex
	conn  net.Conn
}

var _ socket.Dialer = (*closingDialer)(nil)

func (d *closingDialer) Dial() (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn != nil {
		return d.conn, nil
	}
	if d.inner == nil {
		return nil, errors.New("kvm: connection already closed")
	}
	c, err := d.inner.Dial()
	if err != nil {
		return nil, err
	}
	d.conn = c
	return c, nil
}

func (d *closingDialer) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn != nil {
		d.conn.Close()
	}
}

// realConn is a go-libvirt connection whose Disconnect cannot hang.
type realConn struct {
	*libvirt.Libvirt
	d *closingDialer
}

const disconnectGrace = 2 * time.Second

func (c *realConn) Disconnect() error {
	done := make(chan error, 1)
	go func() { done <- c.Libvirt.Disconnect() }()
	select {
	case err := <-done:
		return err
	case <-time.After(disconnectGrace):
		c.d.close()
		return errors.New("kvm: libvirtd did not answer ConnectClose; socket closed")
	}
}
