package kvm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
)

// Client is a resilient handle on one libvirt daemon. It is safe for
// concurrent use. Every method takes a context and returns when it ends,
// even if libvirtd never answers; the connection that was left waiting is
// then dropped and the next call dials a new one. Event subscriptions
// survive such redials.
type Client struct {
	dial DialFunc
	opts options
	log  *slog.Logger

	dialing chan struct{} // one dial at a time; waiting respects ctx

	mu     sync.Mutex
	l      Libvirt // current connection, nil when none
	gen    uint64  // bumped on each new connection
	closed bool
	dtype  string // detected domain type, cached per client

	plainUndefine atomic.Bool // the driver rejects undefine flags

	bg     context.Context // lives until Close
	cancel context.CancelFunc
	hub    *hub
}

// NewClient returns a Client that opens its connections with dial. It dials
// once before returning, so a wrong URI or a missing daemon fails here.
// kvmtest.NewClient uses it with the fake's dialer.
func NewClient(ctx context.Context, dial DialFunc, opts ...Option) (*Client, error) {
	if dial == nil {
		return nil, fieldErr("dial", "nil", "a DialFunc is required")
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	switch o.domainType {
	case "", "kvm", "qemu":
	default:
		return nil, fieldErr("WithDomainType", o.domainType, "want kvm or qemu")
	}
	c := &Client{dial: dial, opts: o, log: o.logger, dialing: make(chan struct{}, 1)}
	c.bg, c.cancel = context.WithCancel(context.Background())
	c.hub = newHub(c)
	if _, err := c.conn(ctx); err != nil {
		c.cancel()
		return nil, fmt.Errorf("kvm: %w", err)
	}
	return c, nil
}

// errClosed is returned by calls on a closed Client.
var errClosed = fmt.Errorf("client closed: %w", ErrDisconnected)

// Close ends event subscriptions and disconnects. Calls after Close fail
// with ErrDisconnected.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	l := c.l
	c.l = nil
	c.mu.Unlock()
	c.cancel()
	c.hub.wait()
	if l != nil && alive(l) {
		return l.Disconnect()
	}
	return nil
}

func alive(l Libvirt) bool {
	select {
	case <-l.Disconnected():
		return false
	default:
		return true
	}
}

// conn returns the live connection, dialling a new one if the last was
// lost or poisoned.
func (c *Client) conn(ctx context.Context) (Libvirt, error) {
	if l, err := c.current(); l != nil || err != nil {
		return l, err
	}
	select {
	case c.dialing <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("connect: %w", ctx.Err())
	}
	defer func() { <-c.dialing }()
	if l, err := c.current(); l != nil || err != nil {
		return l, err // someone else dialled while we waited
	}
	l, err := c.dialCtx(ctx)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w: %w", ctx.Err(), err)
		}
		// A dial that fails is a lost connection that could not be
		// restored: ErrDisconnected, with the cause (and ctx's error) kept.
		return nil, fmt.Errorf("connect: %w: %w", ErrDisconnected, err)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		go l.Disconnect()
		return nil, errClosed
	}
	c.l = l
	c.gen++
	gen := c.gen
	c.mu.Unlock()
	if gen > 1 {
		c.log.Info("kvm: reconnected to libvirt", "generation", gen)
	}
	c.hub.connected(ctx, l)
	return l, nil
}

// current returns the connection if it is still alive; a dead one is
// dropped (and its resources released) so that conn dials again.
func (c *Client) current() (Libvirt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errClosed
	}
	if c.l != nil {
		if alive(c.l) {
			return c.l, nil
		}
		c.log.Warn("kvm: libvirt connection lost; redialling")
		old := c.l
		c.l = nil
		go old.Disconnect()
	}
	return nil, nil
}

// poison drops l after a call on it was abandoned: go-libvirt cannot
// cancel a request, and its reply would arrive for nobody.
func (c *Client) poison(l Libvirt, op string) {
	c.mu.Lock()
	if c.l == l {
		c.l = nil
	}
	c.mu.Unlock()
	c.log.Warn("kvm: call abandoned; dropping the connection", "op", op)
	go l.Disconnect()
}

// Ping checks that libvirtd answers (redialling if needed) and returns its
// version, e.g. 9000000 for libvirt 9.0.0.
func (c *Client) Ping(ctx context.Context) (uint64, error) {
	return call(ctx, c, "ping", func(l Libvirt) (uint64, error) { return l.ConnectGetLibVersion() })
}

// URI returns the URI of the driver the daemon opened (e.g. qemu:///system).
func (c *Client) URI(ctx context.Context) (string, error) {
	return call(ctx, c, "get URI", func(l Libvirt) (string, error) { return l.ConnectGetUri() })
}

// dialCtx runs the DialFunc under ctx even if it ignores ctx: a connection
// that arrives after the caller gave up is closed.
func (c *Client) dialCtx(ctx context.Context) (Libvirt, error) {
	type res struct {
		l   Libvirt
		err error
	}
	ch := make(chan res, 1)
	go func() {
		l, err := c.dial(ctx)
		ch <- res{l, err}
	}()
	select {
	case r := <-ch:
		return r.l, r.err
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.err == nil && r.l != nil {
				r.l.Disconnect()
			}
		}()
		return nil, ctx.Err()
	}
}
