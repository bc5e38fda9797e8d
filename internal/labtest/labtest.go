// Package labtest lets integration tests find the real components that
// scripts/lab.sh installs and starts (libvirtd inside the okvm-lab network
// namespace, dnsmasq, dig, haproxy, kea, dhclient…).
//
// `go test ./...` must pass on a machine with only Go, so every helper here
// skips the test with a message naming what is missing and how to get it.
// `make test` sets OKVM_REQUIRE_LAB=1: there a missing component fails the
// test instead, so CI can never go green by skipping everything.
package labtest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
)

// DefaultSocket is where the lab libvirtd (running as root) listens.
const DefaultSocket = "/var/run/libvirt/libvirt-sock"

// Namespace is the network namespace scripts/lab.sh runs libvirtd in. Its
// bridges and their dnsmasq live there, never on the host's own network.
const Namespace = "okvm-lab"

// Required reports whether missing lab components must fail tests rather
// than skip them (set by `make test`).
func Required() bool { return os.Getenv("OKVM_REQUIRE_LAB") == "1" }

func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if Required() {
		t.Fatalf("OKVM_REQUIRE_LAB=1 but "+format, args...)
	}
	t.Skipf("integration test skipped: "+format+" (run `scripts/lab.sh start`, or `make test`)", args...)
}

// Socket returns the path of the lab libvirtd's socket (OKVM_LIBVIRT_SOCKET
// overrides the default), or skips the test when nothing answers there.
func Socket(t testing.TB) string {
	t.Helper()
	path := os.Getenv("OKVM_LIBVIRT_SOCKET")
	if path == "" {
		path = DefaultSocket
	}
	d := net.Dialer{Timeout: 2 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		missing(t, "no libvirtd answers on %s: %v", path, err)
		return ""
	}
	c.Close()
	return path
}

// Tool returns the absolute path of a command the test needs (dig, haproxy,
// kea-dhcp4, …), or skips the test when it is not installed.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/sbin"} {
			if _, serr := os.Stat(dir + "/" + name); serr == nil {
				return dir + "/" + name
			}
		}
		missing(t, "%s is not installed", name)
		return ""
	}
	return p
}

// Root skips the test unless it runs as root (network namespaces, veth pairs
// and raw DHCP sockets need it).
func Root(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		missing(t, "the test needs root (network namespaces)")
	}
}
