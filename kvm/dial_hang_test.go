package kvm_test

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/okvm/okvm/internal/labtest"
	"github.com/okvm/okvm/kvm"
)

// A socket that accepts and never answers: Dial must give up with ctx,
// although go-libvirt's handshake has no deadline of its own.
func TestDialHonoursCtxWhenDaemonIsSilent(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "silent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go io.Copy(io.Discard, c) // read everything, answer nothing
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = kvm.Dial(ctx, "qemu+unix:///system?socket="+sock)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
}

// gate is one proxied connection to the lab libvirtd that can stop
// forwarding, the way a wedged daemon stops answering.
type gate struct {
	client, up net.Conn
	frozen     chan struct{} // closed: forwarding stopped for good
	once       sync.Once
	clientGone chan struct{} // closed when the client side hung up
}

func (g *gate) freeze() { g.once.Do(func() { close(g.frozen) }) }

func (g *gate) pipe(dst, src net.Conn, done chan struct{}) {
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			select {
			case <-g.frozen:
				continue // swallow: the daemon never sees it, or never answers
			default:
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	if done != nil {
		close(done)
	}
	dst.Close()
}

// With real go-libvirt against the lab daemon: a call on a wedged
// connection returns at the deadline; the connection is dropped although
// the daemon does not answer its ConnectClose either (kvm closes the
// socket itself), and the next call redials.
func TestLabWedgedConnectionIsAbandonedAndRedialled(t *testing.T) {
	target := labtest.Socket(t)
	proxy := filepath.Join(t.TempDir(), "proxy.sock")
	ln, err := net.Listen("unix", proxy)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var gates []*gate
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("unix", target)
			if err != nil {
				c.Close()
				continue
			}
			g := &gate{client: c, up: up, frozen: make(chan struct{}), clientGone: make(chan struct{})}
			mu.Lock()
			gates = append(gates, g)
			mu.Unlock()
			go g.pipe(up, c, g.clientGone)
			go g.pipe(c, up, nil)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := kvm.Dial(ctx, "test+unix:///default?socket="+proxy)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.State(ctx, "test"); err != nil {
		t.Fatalf("the test driver's preset domain: %v", err)
	}
	mu.Lock()
	wedged := gates[0]
	mu.Unlock()
	wedged.freeze()

	sctx, scancel := context.WithTimeout(ctx, 200*time.Millisecond)
	_, err = c.State(sctx, "test")
	scancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call on a wedged daemon: %v, want DeadlineExceeded", err)
	}
	st, err := c.State(ctx, "test")
	if err != nil || st != kvm.StateRunning {
		t.Fatalf("call after the wedge: %v %v, want the preset domain running on a new connection", st, err)
	}
	select {
	case <-wedged.clientGone:
	case <-ctx.Done():
		t.Fatal("kvm never closed the wedged connection's socket")
	}
}

// With real go-libvirt: when the daemon connection drops (as when
// libvirtd restarts), the subscription comes back by itself on a new
// connection and delivers events again, with no call to trigger a redial.
func TestLabEventsResumeAfterConnectionDrop(t *testing.T) {
	target := labtest.Socket(t)
	proxy := filepath.Join(t.TempDir(), "proxy.sock")
	ln, err := net.Listen("unix", proxy)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("unix", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, up)
			mu.Unlock()
			g := &gate{frozen: make(chan struct{})}
			go g.pipe(up, c, nil)
			go g.pipe(c, up, nil)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := kvm.Dial(ctx, "test+unix:///default?socket="+proxy)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A second, direct client keeps the test driver's state alive (it is
	// dropped with the daemon's last connection) and makes the events.
	direct := labClient(t)
	name := uniq("lab-ev")
	if _, err := direct.Define(ctx, kvm.DomainSpec{Name: name, MemoryMiB: 64, VCPUs: 1, Type: "qemu"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { direct.Remove(context.Background(), name) })
	sub, err := c.Subscribe(ctx, kvm.EventFilter{Domains: []string{name}})
	if err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	for _, nc := range conns {
		nc.Close() // the daemon "restarts" for this client
	}
	mu.Unlock()

	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case ev := <-sub.C:
			if ev.Type == kvm.EventStarted || ev.Type == kvm.EventStopped {
				return
			}
		case <-tick.C:
			// Events before the resubscription are lost: keep making them.
			direct.Start(ctx, name)
			direct.Destroy(ctx, name)
		case <-ctx.Done():
			t.Fatal("no event after the connection dropped: subscription not renewed")
		}
	}
}
