package kvmtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	libvirt "github.com/digitalocean/go-libvirt"

	"github.com/okvm/okvm/kvm"
)

// Capability is something a libvirt backend can do that another cannot.
// RunConformance skips, with the reason, what a backend does not declare;
// the fake declares everything and is held to all of it.
type Capability string

const (
	// CapStartDomains: domains really start (QEMU under TCG, the test
	// driver's simulation, the fake).
	CapStartDomains Capability = "start-domains"
	// CapACPIShutdown: the guest powers off when asked (DomainShutdown).
	// A TCG guest with no OS ignores ACPI; so does WithACPIIgnored.
	CapACPIShutdown Capability = "acpi-shutdown"
	// CapPCIAddressing: define assigns PCI addresses, controllers and the
	// machine type the way libvirt 9.0's QEMU driver does.
	CapPCIAddressing Capability = "pci-addressing"
	// CapNetworks: networks can be defined and started.
	CapNetworks Capability = "networks"
	// CapLeases: a started domain's NICs get DHCP leases that
	// NetworkGetDhcpLeases and DomainInterfaceAddresses(lease) report.
	CapLeases Capability = "leases"
	// CapUnknownNetworkAtDefine: defining a domain whose interface names
	// an undefined network fails (the fake; real libvirt does not check).
	CapUnknownNetworkAtDefine Capability = "unknown-network-at-define"
	// CapUnknownNetworkAtStart: starting such a domain fails (QEMU driver).
	CapUnknownNetworkAtStart Capability = "unknown-network-at-start"
	// CapPools: dir storage pools and volumes.
	CapPools Capability = "pools"
	// CapVolumeUpload: StorageVolUpload works (not in the test driver).
	CapVolumeUpload Capability = "volume-upload"
	// CapNvram: a started UEFI domain refuses plain undefine.
	CapNvram Capability = "nvram"
	// CapDriverSemantics: errors (codes and messages) and details such as
	// virbrN bridge naming and inactive network XML are those of libvirt's
	// QEMU, network and storage drivers. The test driver has its own
	// (e.g. "internal error: Domain 'x' is already running"); without this
	// capability those checks only require that an error occurs.
	CapDriverSemantics Capability = "driver-semantics"
)

// Harness describes one backend to RunConformance.
type Harness struct {
	// Name labels the backend in messages ("fake", "test-driver", "qemu").
	Name string
	// Connect opens a new connection; the suite disconnects it.
	Connect func(t *testing.T) kvm.Libvirt
	// Prefix starts every object name the suite creates, so runs against
	// a shared daemon do not collide; empty means a random one.
	Prefix string
	// Caps lists what the backend can do.
	Caps []Capability
	// PoolDir returns a directory a dir pool may use (CapPools); nil means
	// a fresh t.TempDir().
	PoolDir func(t *testing.T) string
	// ReadVolume reads a volume's content by path, to check uploads
	// (CapVolumeUpload); nil skips the read-back.
	ReadVolume func(path string) ([]byte, error)
	// Subnet is the first three octets of an IPv4 /24 the suite's networks
	// may use ("10.77.12"); empty derives one from the prefix.
	Subnet string
}

func (h *Harness) has(c Capability) bool {
	for _, x := range h.Caps {
		if x == c {
			return true
		}
	}
	return false
}

func (h *Harness) need(t *testing.T, caps ...Capability) {
	t.Helper()
	for _, c := range caps {
		if !h.has(c) {
			t.Skipf("%s: backend lacks capability %q", h.Name, c)
		}
	}
}

// RunConformance runs the one suite every backend must pass: the fake
// always, a real libvirtd (test driver, QEMU driver) in `make test`.
func RunConformance(t *testing.T, h Harness) {
	if h.Prefix == "" {
		var b [3]byte
		_, _ = rand.Read(b[:])
		h.Prefix = "kt" + hex.EncodeToString(b[:])
	}
	if h.Subnet == "" {
		sum := 0
		for _, r := range h.Prefix {
			sum = sum*31 + int(r)
		}
		if sum < 0 {
			sum = -sum
		}
		h.Subnet = fmt.Sprintf("10.%d.%d", 100+sum%100, (sum/100)%250)
	}
	s := &suite{h: h}
	t.Run("Connection", s.connection)
	t.Run("DomainDefineLookup", s.domainDefineLookup)
	t.Run("DomainDuplicates", s.domainDuplicates)
	t.Run("DomainInvalidXML", s.domainInvalidXML)
	t.Run("DomainLifecycle", s.domainLifecycle)
	t.Run("DomainUndefineRunning", s.domainUndefineRunning)
	t.Run("DomainShutdown", s.domainShutdown)
	t.Run("DomainNvram", s.domainNvram)
	t.Run("AgentChannel", s.agentChannel)
	t.Run("Events", s.events)
	t.Run("Networks", s.networks)
	t.Run("NetworkUpdate", s.networkUpdate)
	t.Run("UnknownNetwork", s.unknownNetwork)
	t.Run("InactiveNetwork", s.inactiveNetwork)
	t.Run("Leases", s.leases)
	t.Run("Storage", s.storage)
	t.Run("PCIAddresses", s.pciAddresses)
}

type suite struct{ h Harness }

func (s *suite) conn(t *testing.T) kvm.Libvirt {
	t.Helper()
	c := s.h.Connect(t)
	t.Cleanup(func() { _ = c.Disconnect() })
	return c
}

func (s *suite) name(t *testing.T, what string) string {
	return s.h.Prefix + "-" + what
}

// wantCode fails unless err is a libvirt.Error with code (and, when
// msg is not empty, a message containing msg).
func wantCode(t *testing.T, what string, err error, code libvirt.ErrorNumber, msg string) {
	t.Helper()
	var le libvirt.Error
	if !errors.As(err, &le) {
		t.Errorf("%s: want libvirt error %d (%s), got %v", what, code, code, err)
		return
	}
	if libvirt.ErrorNumber(le.Code) != code {
		t.Errorf("%s: want error code %d, got %d (%q)", what, code, le.Code, le.Message)
	}
	if msg != "" && !strings.Contains(le.Message, msg) {
		t.Errorf("%s: want message containing %q, got %q", what, msg, le.Message)
	}
}

// driverCode is wantCode for errors whose code and text are the QEMU,
// network or storage driver's (see CapDriverSemantics).
func (s *suite) driverCode(t *testing.T, what string, err error, code libvirt.ErrorNumber, msg string) {
	t.Helper()
	if s.h.has(CapDriverSemantics) {
		wantCode(t, what, err, code, msg)
		return
	}
	if err == nil {
		t.Logf("%s: %s: no error where the QEMU/network/storage drivers give %d %q (tolerated: no %s)", s.h.Name, what, code, msg, CapDriverSemantics)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// cleanupDomain removes a domain whatever state the test left it in.
func cleanupDomain(t *testing.T, c kvm.Libvirt, name string) {
	t.Cleanup(func() {
		d, err := c.DomainLookupByName(name)
		if err != nil {
			return
		}
		_ = c.DomainDestroy(d)
		_ = c.DomainUndefineFlags(d, libvirt.DomainUndefineNvram)
	})
}

func cleanupNetwork(t *testing.T, c kvm.Libvirt, name string) {
	t.Cleanup(func() {
		n, err := c.NetworkLookupByName(name)
		if err != nil {
			return
		}
		_ = c.NetworkDestroy(n)
		_ = c.NetworkUndefine(n)
	})
}

// tinyDomainXML is the smallest domain that starts under TCG: 64 MiB, no
// disk, optional NICs on a network.
func tinyDomainXML(name, machine string, nics ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory>", name)
	fmt.Fprintf(&b, "<os><type arch='x86_64' machine='%s'>hvm</type></os><devices>", machine)
	for _, n := range nics {
		b.WriteString(n)
	}
	b.WriteString("</devices></domain>")
	return b.String()
}

func nicXML(network, mac string) string {
	m := ""
	if mac != "" {
		m = fmt.Sprintf("<mac address='%s'/>", mac)
	}
	return fmt.Sprintf("<interface type='network'>%s<source network='%s'/><model type='virtio'/></interface>", m, network)
}

// waitState polls until the domain reaches state or the deadline passes.
func waitState(t *testing.T, c kvm.Libvirt, d libvirt.Domain, want libvirt.DomainState, within time.Duration) (reason int32) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st, r, err := c.DomainGetState(d, 0)
		if err == nil && libvirt.DomainState(st) == want {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("domain %s: want state %d within %v, have %d (err %v)", d.Name, want, within, st, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// collectEvents gathers lifecycle events for one domain until want are
// seen (in order, others in between allowed) or the time is up.
func collectEvents(t *testing.T, ch <-chan libvirt.DomainEventLifecycleMsg, name string, want [][2]int32, within time.Duration) {
	t.Helper()
	timeout := time.After(within)
	var seen [][2]int32
	i := 0
	for i < len(want) {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("event channel closed; saw %v, want %v", seen, want)
			}
			if ev.Dom.Name != name {
				continue
			}
			seen = append(seen, [2]int32{ev.Event, ev.Detail})
			if ev.Event == want[i][0] && ev.Detail == want[i][1] {
				i++
			}
		case <-timeout:
			t.Fatalf("events for %s: saw %v, want %v (event, detail) in order", name, seen, want)
		}
	}
}

func subscribe(t *testing.T, c kvm.Libvirt) <-chan libvirt.DomainEventLifecycleMsg {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := c.LifecycleEvents(ctx)
	must(t, "LifecycleEvents", err)
	return ch
}
