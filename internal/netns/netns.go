// Package netns runs code inside named Linux network namespaces (the ones
// `ip netns add` creates under /run/netns), and builds throwaway namespace
// pairs joined by a veth link for integration tests and benchmarks.
//
// The Go runtime moves goroutines between OS threads, and a network
// namespace belongs to a thread. Do therefore runs its function on a locked
// thread switched into the namespace. A socket keeps the namespace it was
// created in, so the usual pattern is to open a listener inside Do and use it
// from anywhere afterwards.
package netns

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// Dir is where iproute2 keeps named namespaces.
const Dir = "/run/netns"

// ErrBadName: the namespace name is empty or would escape Dir.
var ErrBadName = errors.New("netns: bad namespace name")

// Do runs fn on an OS thread that has joined the network namespace name.
// fn must do its namespace-sensitive work (socket, bind, interface lookups)
// synchronously: goroutines it starts run on other threads, in the host
// namespace. Opening sockets is the point: they stay in the namespace.
func Do(name string, fn func() error) error {
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return fmt.Errorf("%w: %q", ErrBadName, name)
	}
	errc := make(chan error, 1)
	go func() {
		// The thread is unlocked only once it is back in its own
		// namespace; on any failure to get back it stays locked, and the
		// runtime then destroys it when this goroutine returns, so no other
		// goroutine can ever run in the wrong namespace.
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("netns: open own namespace: %w", err)
			return
		}
		defer unix.Close(orig)
		target, err := unix.Open(filepath.Join(Dir, name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns: open namespace %q: %w", name, err)
			return
		}
		defer unix.Close(target)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("netns: enter namespace %q: %w", name, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("netns: leave namespace %q: %w", name, err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}
