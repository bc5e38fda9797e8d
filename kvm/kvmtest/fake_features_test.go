package kvmtest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	libvirt "github.com/digitalocean/go-libvirt"
)

func TestNewClient(t *testing.T) {
	c, f := NewClient(t)
	ctx := context.Background()
	v, err := c.Ping(ctx)
	if err != nil || v != LibVersion {
		t.Fatalf("Ping: %d, %v", v, err)
	}
	if f.Connections() != 1 {
		t.Errorf("connections %d, want 1", f.Connections())
	}
	// A daemon restart drops the client's connection; it redials.
	f.Restart()
	if _, err := c.Ping(ctx); err != nil {
		t.Fatalf("Ping after Restart: %v", err)
	}
	if f.Connections() != 1 {
		t.Errorf("connections after redial %d, want 1", f.Connections())
	}
}

func TestRestartClosesEventChannels(t *testing.T) {
	f := New()
	c := f.Conn()
	ch, err := c.LifecycleEvents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.Restart()
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("event after restart")
		}
	case <-time.After(time.Second):
		t.Fatal("event channel not closed by Restart")
	}
	if _, err := c.LifecycleEvents(context.Background()); err == nil {
		t.Fatal("subscribing on a dropped connection worked")
	}
}

func TestEventsCancel(t *testing.T) {
	c := New().Conn()
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := c.LifecycleEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("unexpected event")
		}
	case <-time.After(time.Second):
		t.Fatal("channel not closed after cancel")
	}
}

func defineStarted(t *testing.T, f *Fake, name string) (*Conn, libvirt.Domain) {
	t.Helper()
	c := f.newConn()
	d, err := c.DomainDefineXMLFlags(tinyDomainXML(name, "q35"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DomainCreate(d); err != nil {
		t.Fatal(err)
	}
	return c, d
}

func TestShutdownOptions(t *testing.T) {
	t.Run("delay", func(t *testing.T) {
		c, d := defineStarted(t, New(WithShutdownDelay(50*time.Millisecond)), "slow")
		if err := c.DomainShutdown(d); err != nil {
			t.Fatal(err)
		}
		if st, _, _ := c.DomainGetState(d, 0); st != int32(libvirt.DomainRunning) {
			t.Fatalf("stopped before the delay: %d", st)
		}
		waitState(t, c, d, libvirt.DomainShutoff, time.Second)
	})
	t.Run("ignored", func(t *testing.T) {
		c, d := defineStarted(t, New(WithACPIIgnored()), "deaf")
		if err := c.DomainShutdown(d); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		if st, _, _ := c.DomainGetState(d, 0); st != int32(libvirt.DomainRunning) {
			t.Fatalf("guest that ignores ACPI stopped: %d", st)
		}
		if err := c.DomainDestroy(d); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("destroy cancels a pending shutdown", func(t *testing.T) {
		f := New(WithShutdownDelay(30 * time.Millisecond))
		c, d := defineStarted(t, f, "raced")
		ev, _ := c.LifecycleEvents(context.Background())
		_ = c.DomainShutdown(d)
		_ = c.DomainDestroy(d)
		_ = c.DomainCreate(d)
		time.Sleep(80 * time.Millisecond)
		if st, _, _ := c.DomainGetState(d, 0); st != int32(libvirt.DomainRunning) {
			t.Fatalf("the old shutdown hit the restarted domain: state %d", st)
		}
		collectEvents(t, ev, "raced", [][2]int32{
			{int32(libvirt.DomainEventStopped), int32(libvirt.DomainEventStoppedDestroyed)},
			{int32(libvirt.DomainEventStarted), int32(libvirt.DomainEventStartedBooted)},
		}, time.Second)
	})
}

func TestHangAndFailNext(t *testing.T) {
	f := New()
	c := f.Conn()
	release := f.Hang("ConnectGetLibVersion")
	done := make(chan error, 1)
	go func() { _, err := c.ConnectGetLibVersion(); done <- err }()
	select {
	case <-done:
		t.Fatal("hung call returned")
	case <-time.After(30 * time.Millisecond):
	}
	release()
	if err := <-done; err != nil {
		t.Fatalf("released call: %v", err)
	}
	boom := errors.New("boom")
	f.FailNext("ConnectGetLibVersion", boom)
	f.FailNext("ConnectGetLibVersion", libvirt.ErrInterrupted)
	if _, err := c.ConnectGetLibVersion(); !errors.Is(err, boom) {
		t.Fatalf("first: %v", err)
	}
	if _, err := c.ConnectGetLibVersion(); !errors.Is(err, libvirt.ErrInterrupted) {
		t.Fatalf("second: %v", err)
	}
	if _, err := c.ConnectGetLibVersion(); err != nil {
		t.Fatalf("third: %v", err)
	}
	f.FailNext("Dial", boom)
	if _, err := f.Dialer()(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("dial: %v", err)
	}
}

func TestNvramUndefine(t *testing.T) {
	c := New().Conn()
	x := strings.Replace(tinyDomainXML("uefi", "q35"), "<os>", "<os firmware='efi'>", 1)
	d, err := c.DomainDefineXMLFlags(x, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Never started: no variable store yet, so plain undefine works.
	if err := c.DomainUndefineFlags(d, 0); err != nil {
		t.Fatal(err)
	}
}

func TestUploadOffsetAndGrowth(t *testing.T) {
	f := New()
	c := f.Conn()
	p, err := c.StoragePoolDefineXML("<pool type='dir'><name>p</name><target><path>/virt/p</path></target></pool>", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.StoragePoolCreate(p, libvirt.StoragePoolCreateWithBuild); err != nil {
		t.Fatal(err)
	}
	v, err := c.StorageVolCreateXML(p, "<volume><name>v</name><capacity>4</capacity></volume>", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.StorageVolUpload(v, strings.NewReader("abcd"), 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := c.StorageVolUpload(v, strings.NewReader("XYZ-ignored"), 2, 3, 0); err != nil {
		t.Fatal(err)
	}
	got, _ := f.VolumeBytes("/virt/p/v")
	if !bytes.Equal(got, []byte("abXYZ")) {
		t.Fatalf("volume content %q, want abXYZ", got)
	}
	_, err = c.StorageVolCreateXML(p, "<volume><name>o</name><capacity>4</capacity><target><format type='qcow2'/></target><backingStore><path>/nowhere/x</path></backingStore></volume>", 0)
	if code(err) != libvirt.ErrInternalError {
		t.Fatalf("missing backing file: %v", err)
	}
}

func TestLeaseFromRange(t *testing.T) {
	f := New()
	c := f.Conn()
	startDefaultNet(t, c)
	for i, name := range []string{"a", "b"} {
		d, err := c.DomainDefineXMLFlags(tinyDomainXML(name, "q35", nicXML("default", "")), 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.DomainCreate(d); err != nil {
			t.Fatal(err)
		}
		ifs, err := c.DomainInterfaceAddresses(d, 0, 0)
		if err != nil || len(ifs) != 1 {
			t.Fatalf("%s: %+v %v", name, ifs, err)
		}
		want := []string{"192.168.122.2", "192.168.122.3"}[i]
		if ifs[0].Addrs[0].Addr != want || !strings.HasPrefix(ifs[0].Name, "vnet") {
			t.Errorf("%s: %+v, want %s on vnetN", name, ifs[0], want)
		}
	}
}

func TestKVMDomainType(t *testing.T) {
	x := strings.Replace(tinyDomainXML("k", "q35"), "type='qemu'", "type='kvm'", 1)
	if _, err := New().Conn().DomainDefineXMLFlags(x, 0); code(err) != libvirt.ErrConfigUnsupported {
		t.Fatalf("kvm domain on a host without KVM: %v", err)
	}
	c := New(WithKVM()).Conn()
	if _, err := c.DomainDefineXMLFlags(x, 0); err != nil {
		t.Fatalf("kvm domain WithKVM: %v", err)
	}
	caps, _ := c.ConnectGetCapabilities()
	if !strings.Contains(caps, `type="kvm"`) {
		t.Errorf("capabilities WithKVM lack kvm:\n%s", caps)
	}
}

func TestLeaseDelay(t *testing.T) {
	c := New(WithLeaseDelay(100 * time.Millisecond)).Conn()
	startDefaultNet(t, c)
	d, err := c.DomainDefineXMLFlags(tinyDomainXML("slow-dhcp", "q35", nicXML("default", "")), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DomainCreate(d); err != nil {
		t.Fatal(err)
	}
	if ifs, _ := c.DomainInterfaceAddresses(d, 0, 0); len(ifs) != 0 {
		t.Fatalf("lease visible at once: %+v", ifs)
	}
	n, _ := c.NetworkLookupByName("default")
	if ls, _, _ := c.NetworkGetDhcpLeases(n, nil, -1, 0); len(ls) != 0 {
		t.Fatalf("network lease visible at once: %+v", ls)
	}
	time.Sleep(120 * time.Millisecond)
	if ifs, _ := c.DomainInterfaceAddresses(d, 0, 0); len(ifs) != 1 {
		t.Fatalf("lease after the delay: %+v", ifs)
	}
}

func TestAgentChannel(t *testing.T) {
	c := New().Conn()
	x := tinyDomainXML("agent", "q35", "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>")
	d, err := c.DomainDefineXMLFlags(x, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DomainCreate(d); err != nil {
		t.Fatal(err)
	}
	_, err = c.DomainInterfaceAddresses(d, uint32(libvirt.DomainInterfaceAddressesSrcAgent), 0)
	if code(err) != libvirt.ErrAgentUnresponsive {
		t.Fatalf("agent channel without an agent: %v", err)
	}
}
