package netns_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/okvm/okvm/internal/netns"
)

func TestDoRejectsBadNames(t *testing.T) {
	for _, name := range []string{"", "..", "a/b"} {
		if err := netns.Do(name, func() error { return nil }); !errors.Is(err, netns.ErrBadName) {
			t.Errorf("Do(%q) = %v", name, err)
		}
	}
	if err := netns.Do("okvm-t-does-not-exist", func() error { return nil }); err == nil {
		t.Error("Do on a missing namespace succeeded")
	}
}

// A socket opened inside Do lives in the namespace: it can bind the
// namespace's own address, which the host does not have, and the code
// after Do is back in the host namespace.
func TestDoOpensSocketsInTheNamespace(t *testing.T) {
	p := netns.NewPair(t)
	var ln net.Listener
	err := netns.Do(p.A, func() error {
		var err error
		ln, err = net.Listen("tcp4", net.JoinHostPort(p.AddrA.Addr().String(), "0"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := net.Listen("tcp4", net.JoinHostPort(p.AddrA.Addr().String(), "0")); err == nil {
		t.Fatal("the host namespace has the pair's address: Do leaked its namespace")
	}
	// From B across the veth (B gets an address in the same subnet).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := p.Command(ctx, p.B, "ip", "addr", "add", "10.251.0.2/24", "dev", p.IfB).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Write([]byte("hello from A\n"))
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	var out []byte
	err = netns.Do(p.B, func() error {
		c, err := net.DialTimeout("tcp4", net.JoinHostPort(p.AddrA.Addr().String(), strconv.Itoa(port)), 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		out = buf[:n]
		return err
	})
	if err != nil || !strings.Contains(string(out), "hello from A") {
		t.Fatalf("dial across the veth: %q, %v", out, err)
	}
}
