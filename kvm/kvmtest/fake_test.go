package kvmtest

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	libvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"
)

const tinyDomain = `<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory>
<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>
<interface type='network'><source network='default'/><model type='virtio'/></interface></devices></domain>`

const defaultNet = `<network><name>default</name><forward mode='nat'/><ip address='192.168.122.1' netmask='255.255.255.0'><dhcp><range start='192.168.122.2' end='192.168.122.254'/></dhcp></ip></network>`

func startDefaultNet(t *testing.T, c interface {
	NetworkDefineXML(string) (libvirt.Network, error)
	NetworkCreate(libvirt.Network) error
}) {
	t.Helper()
	n, err := c.NetworkDefineXML(defaultNet)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.NetworkCreate(n); err != nil {
		t.Fatal(err)
	}
}

func code(err error) libvirt.ErrorNumber {
	var e libvirt.Error
	if errors.As(err, &e) {
		return libvirt.ErrorNumber(e.Code)
	}
	return -1
}

func TestDomainLifecycleBasics(t *testing.T) {
	f := New()
	c := f.Conn()
	startDefaultNet(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := c.LifecycleEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	xml := strings.Replace(tinyDomain, "%s", "a", 1)
	d, err := c.DomainDefineXMLFlags(xml, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != -1 || d.Name != "a" {
		t.Fatalf("handle %+v", d)
	}
	if _, err := c.DomainDefineXMLFlags(xml, 0); code(err) != libvirt.ErrOperationFailed {
		t.Fatalf("dup define: %v", err)
	}
	got, err := c.DomainGetXMLDesc(d, 0)
	if err != nil {
		t.Fatal(err)
	}
	var def libvirtxml.Domain
	if err := def.Unmarshal(got); err != nil {
		t.Fatal(err)
	}
	if def.UUID != formatUUID(d.UUID) || def.OS.Type.Machine != "pc-q35-7.2" || !strings.HasPrefix(def.Devices.Interfaces[0].MAC.Address, "52:54:00:") {
		t.Fatalf("unexpected XML:\n%s", got)
	}
	if err := c.DomainCreate(d); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := c.DomainGetState(d, 0); st != int32(libvirt.DomainRunning) {
		t.Fatalf("state %d", st)
	}
	if err := c.DomainDestroy(d); err != nil {
		t.Fatal(err)
	}
	if err := c.DomainDestroy(d); code(err) != libvirt.ErrOperationInvalid {
		t.Fatalf("destroy shutoff: %v", err)
	}
	if err := c.DomainUndefineFlags(d, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DomainLookupByName("a"); code(err) != libvirt.ErrNoDomain {
		t.Fatalf("lookup after undefine: %v", err)
	}
	want := []libvirt.DomainEventType{libvirt.DomainEventDefined, libvirt.DomainEventStarted, libvirt.DomainEventStopped, libvirt.DomainEventUndefined}
	for _, w := range want {
		select {
		case ev := <-events:
			if libvirt.DomainEventType(ev.Event) != w {
				t.Fatalf("event %d, want %d", ev.Event, w)
			}
		case <-time.After(time.Second):
			t.Fatalf("no event %d", w)
		}
	}
}

func TestRestartClosesConnections(t *testing.T) {
	f := New()
	c := f.Conn()
	startDefaultNet(t, c)
	d, err := c.DomainDefineXMLFlags(strings.Replace(tinyDomain, "%s", "r", 1), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DomainCreate(d); err != nil {
		t.Fatal(err)
	}
	release := f.Hang("DomainGetState")
	defer release()
	errc := make(chan error, 1)
	go func() { _, _, err := c.DomainGetState(d, 0); errc <- err }()
	time.Sleep(10 * time.Millisecond)
	f.Restart()
	if err := <-errc; !errors.Is(err, libvirt.ErrInterrupted) {
		t.Fatalf("in-flight call: %v", err)
	}
	select {
	case <-c.Disconnected():
	default:
		t.Fatal("Disconnected not closed")
	}
	if _, err := c.DomainLookupByName("r"); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("call after drop: %v", err)
	}
	release()
	c2 := f.Conn()
	if st, _, err := c2.DomainGetState(d, 0); err != nil || st != int32(libvirt.DomainRunning) {
		t.Fatalf("after restart: %d %v", st, err)
	}
	f.FailNext("DomainLookupByName", errors.New("boom"))
	if _, err := c2.DomainLookupByName("r"); err == nil || err.Error() != "boom" {
		t.Fatalf("FailNext: %v", err)
	}
	if _, err := c2.DomainLookupByName("r"); err != nil {
		t.Fatal(err)
	}
}
