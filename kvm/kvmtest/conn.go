package kvmtest

import (
	"context"
	"sync"
	"syscall"

	libvirt "github.com/digitalocean/go-libvirt"

	"github.com/okvm/okvm/kvm"
)

// Conn is one client connection to a Fake. It implements kvm.Libvirt with
// go-libvirt's signatures and failure modes: once closed, calls fail the
// way go-libvirt's do after the socket is gone.
type Conn struct {
	f         *Fake
	done      chan struct{}
	closeOnce sync.Once

	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

var _ kvm.Libvirt = (*Conn)(nil)

func (f *Fake) newConn() *Conn {
	c := &Conn{f: f, done: make(chan struct{}), subs: map[*subscriber]struct{}{}}
	f.mu.Lock()
	f.conns[c] = struct{}{}
	f.mu.Unlock()
	return c
}

// enter guards every call: a closed connection fails like go-libvirt's
// socket (EINVAL from SendPacket), then the failure hooks run.
func (c *Conn) enter(method string) error {
	select {
	case <-c.done:
		return syscall.EINVAL
	default:
	}
	if err := c.f.hooks.before(method, c.done); err != nil {
		return err
	}
	select {
	case <-c.done:
		return libvirt.ErrInterrupted
	default:
	}
	return nil
}

func (c *Conn) close() {
	c.closeOnce.Do(func() {
		c.f.mu.Lock()
		delete(c.f.conns, c)
		c.f.mu.Unlock()
		close(c.done)
		c.mu.Lock()
		subs := c.subs
		c.subs = map[*subscriber]struct{}{}
		c.mu.Unlock()
		for s := range subs {
			s.stop()
		}
	})
}

// ConnectGetLibVersion reports libvirt 9.0.0 (see LibVersion).
func (c *Conn) ConnectGetLibVersion() (uint64, error) {
	if err := c.enter("ConnectGetLibVersion"); err != nil {
		return 0, err
	}
	return LibVersion, nil
}

// ConnectGetUri reports the URI set with WithURI.
func (c *Conn) ConnectGetUri() (string, error) {
	if err := c.enter("ConnectGetUri"); err != nil {
		return "", err
	}
	return c.f.opts.uri, nil
}

// Disconnect closes the connection. Like go-libvirt, closing twice is not
// an error worth reporting.
func (c *Conn) Disconnect() error {
	c.close()
	return nil
}

// Disconnected is closed when the connection is gone (Disconnect, Restart).
func (c *Conn) Disconnected() <-chan struct{} { return c.done }

// LifecycleEvents subscribes to domain lifecycle events on this connection.
// The channel closes when ctx ends or the connection closes. Delivery is
// through an unbounded queue, as go-libvirt's, so a slow reader never
// blocks the daemon.
func (c *Conn) LifecycleEvents(ctx context.Context) (<-chan libvirt.DomainEventLifecycleMsg, error) {
	if err := c.enter("LifecycleEvents"); err != nil {
		return nil, err
	}
	s := newSubscriber()
	c.mu.Lock()
	c.subs[s] = struct{}{}
	c.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
		case <-c.done:
		case <-s.stopped:
		}
		c.mu.Lock()
		delete(c.subs, s)
		c.mu.Unlock()
		s.stop()
	}()
	return s.out, nil
}
