package kvm_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	libvirt "github.com/digitalocean/go-libvirt"
	"github.com/okvm/okvm/kvm"
	"github.com/okvm/okvm/kvm/kvmtest"
)

// fakeClient is a kvm.Client on a fresh in-memory libvirtd, with a
// "default" NAT network and a "default" dir pool.
func fakeClient(t *testing.T, fopts []kvmtest.Option, opts ...kvm.Option) (*kvm.Client, *kvmtest.Fake) {
	t.Helper()
	f := kvmtest.New(fopts...)
	ctx := testCtx(t)
	c, err := kvm.NewClient(ctx, f.Dialer(), append([]kvm.Option{kvm.WithPollInterval(5*time.Millisecond, 50*time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.DefineNetwork(ctx, kvm.NetworkSpec{Name: "default", CIDR: "192.168.122.0/24",
		DHCPRange: &kvm.IPRange{Start: "192.168.122.100", End: "192.168.122.200"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.StartNetwork(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureDirPool(ctx, "default", "/var/lib/libvirt/images"); err != nil {
		t.Fatal(err)
	}
	return c, f
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func node(name string) kvm.DomainSpec {
	return kvm.DomainSpec{Name: name, MemoryMiB: 2048, VCPUs: 2,
		Disks:  []kvm.DiskSpec{{Pool: "default", Volume: name + ".qcow2", SizeBytes: 10 << 30, BootOrder: 1}},
		NICs:   []kvm.NICSpec{{Network: "default"}},
		Labels: map[string]string{"cluster": "c1"}}
}

func TestCallReturnsOnCancelAndNextCallRedials(t *testing.T) {
	c, f := fakeClient(t, nil)
	ctx := testCtx(t)
	if _, err := c.Define(ctx, node("n1")); err != nil {
		t.Fatal(err)
	}
	release := f.Hang("DomainGetState")
	cctx, cancel := context.WithCancel(ctx)
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	_, err := c.State(cctx, "n1")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("State on a wedged libvirtd: err = %v, want context.Canceled", err)
	}
	release()
	st, err := c.State(ctx, "n1")
	if err != nil || st != kvm.StateShutoff {
		t.Fatalf("next call: %v, %v; want shutoff on a new connection", st, err)
	}
	// The poisoned connection is closed (in the background), not leaked.
	for f.Connections() != 1 {
		select {
		case <-ctx.Done():
			t.Fatalf("fake has %d open connections, want 1", f.Connections())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func TestDeadlineWhileLibvirtNeverAnswers(t *testing.T) {
	c, f := fakeClient(t, nil)
	defer f.Hang("NetworkLookupByName")()
	ctx, cancel := context.WithTimeout(testCtx(t), 50*time.Millisecond)
	defer cancel()
	_, err := c.Define(ctx, node("n2"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if _, err := c.State(testCtx(t), "n2"); !errors.Is(err, kvm.ErrNotFound) {
		t.Fatalf("a half-defined domain exists after the deadline: %v", err)
	}
}

func TestRedialAfterRestartResumesEvents(t *testing.T) {
	c, f := fakeClient(t, nil)
	ctx := testCtx(t)
	if _, err := c.Define(ctx, node("n3")); err != nil {
		t.Fatal(err)
	}
	sub, err := c.Subscribe(ctx, kvm.EventFilter{Domains: []string{"n3"}})
	if err != nil {
		t.Fatal(err)
	}
	f.Restart()
	// The next call redials and the subscription is renewed before it runs,
	// so the start's event is not lost.
	if err := c.Start(ctx, "n3"); err != nil {
		t.Fatalf("start after restart: %v", err)
	}
	select {
	case ev := <-sub.C:
		if ev.Type != kvm.EventStarted || ev.Domain != "n3" {
			t.Fatalf("first event after restart = %v, want n3 started", ev)
		}
	case <-ctx.Done():
		t.Fatal("no event after libvirtd restarted")
	}

	// Without any call to trigger a redial, kvm reconnects on its own to
	// keep the subscription alive: events caused by another client arrive.
	f.Restart()
	other := f.Conn()
	dom, err := other.DomainLookupByName("n3")
	if err != nil {
		t.Fatal(err)
	}
	if err := other.DomainDestroy(dom); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case ev := <-sub.C:
			if ev.Domain == "n3" {
				return // resubscribed
			}
		case <-tick.C:
			// Events before the resubscription are lost; keep toggling.
			other.DomainCreate(dom)
			other.DomainDestroy(dom)
		case <-ctx.Done():
			t.Fatal("subscription did not resume after a restart without calls")
		}
	}
}

func TestSubscriptionDropsWhenFullAndClosesWithCtx(t *testing.T) {
	c, _ := fakeClient(t, nil, kvm.WithEventBuffer(1))
	ctx := testCtx(t)
	sctx, cancel := context.WithCancel(ctx)
	sub, err := c.Subscribe(sctx, kvm.EventFilter{Types: []kvm.EventType{kvm.EventDefined}})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"d1", "d2", "d3"} {
		if _, err := c.Define(ctx, node(n)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.After(5 * time.Second)
	for sub.Dropped() < 2 {
		select {
		case <-deadline:
			t.Fatalf("dropped = %d after 3 defined events into a 1-slot channel, want 2", sub.Dropped())
		case <-time.After(5 * time.Millisecond):
		}
	}
	if ev := <-sub.C; ev.Type != kvm.EventDefined || ev.Domain != "d1" {
		t.Fatalf("buffered event = %v, want d1 defined", ev)
	}
	cancel()
	if _, ok := <-sub.C; ok {
		t.Fatal("channel still open after its ctx ended")
	}
}

func TestDefineIsIdempotentAndGuardsRunningDomains(t *testing.T) {
	c, _ := fakeClient(t, nil)
	ctx := testCtx(t)
	spec := node("m0")
	d1, err := c.Define(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := c.Define(ctx, spec)
	if err != nil || d2.UUID != d1.UUID {
		t.Fatalf("same spec again: %v, uuid %s vs %s", err, d2.UUID, d1.UUID)
	}
	if err := c.Start(ctx, "m0"); err != nil {
		t.Fatal(err)
	}
	spec.VCPUs = 4
	if _, err := c.Define(ctx, spec); !errors.Is(err, kvm.ErrConflict) {
		t.Fatalf("changed spec on a running domain: %v, want ErrConflict", err)
	}
	if err := c.Destroy(ctx, "m0"); err != nil {
		t.Fatal(err)
	}
	d3, err := c.Define(ctx, spec)
	if err != nil || d3.UUID != d1.UUID || d3.VCPU.Value != 4 {
		t.Fatalf("redefine: %v, uuid %s (want %s), vcpus %v", err, d3.UUID, d1.UUID, d3.VCPU)
	}
	// The disk is a type='file' disk on the path the pool gave the volume.
	path, err := c.VolumePath(ctx, "default", "m0.qcow2")
	if err != nil {
		t.Fatal(err)
	}
	if got := d3.Devices.Disks[0].Source.File; got == nil || got.File != path {
		t.Fatalf("disk source = %+v, want file %s", got, path)
	}
}

func TestDefineRefusesForeignDomain(t *testing.T) {
	c, f := fakeClient(t, nil)
	x, _ := (kvm.DomainSpec{Name: "foreign", MemoryMiB: 64, VCPUs: 1, Type: "qemu"}).Domain()
	x.Metadata = nil
	s, _ := x.Marshal()
	if _, err := f.Conn().DomainDefineXMLFlags(s, 0); err != nil {
		t.Fatal(err)
	}
	_, err := c.Define(testCtx(t), kvm.DomainSpec{Name: "foreign", MemoryMiB: 64, VCPUs: 1})
	if !errors.Is(err, kvm.ErrExists) {
		t.Fatalf("err = %v, want ErrExists for a domain okvm did not define", err)
	}
}

func TestDefineCreatesOverlayAndUndoesOnFailure(t *testing.T) {
	c, f := fakeClient(t, nil)
	ctx := testCtx(t)
	if _, err := c.CreateVolume(ctx, "default", kvm.VolumeSpec{Name: "fcos.qcow2", Format: "qcow2", CapacityBytes: 8 << 30}); err != nil {
		t.Fatal(err)
	}
	spec := node("w0")
	spec.Disks[0] = kvm.DiskSpec{Pool: "default", Volume: "w0.qcow2", BaseVolume: "fcos.qcow2", BootOrder: 1}
	f.FailNext("DomainDefineXMLFlags", libvirt.Error{Code: uint32(libvirt.ErrInternalError), Message: "boom"})
	if _, err := c.Define(ctx, spec); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("define with a failing daemon: %v", err)
	}
	if _, err := c.Volume(ctx, "default", "w0.qcow2"); !errors.Is(err, kvm.ErrNotFound) {
		t.Fatalf("the overlay created for the failed define is still there: %v", err)
	}
	if _, err := c.Define(ctx, spec); err != nil {
		t.Fatal(err)
	}
	v, err := c.Volume(ctx, "default", "w0.qcow2")
	if err != nil {
		t.Fatal(err)
	}
	base, _ := c.VolumePath(ctx, "default", "fcos.qcow2")
	if v.Format != "qcow2" || v.BackingPath != base || v.CapacityBytes != 8<<30 {
		t.Fatalf("overlay = %+v, want qcow2 backed by %s with the base's capacity", v, base)
	}
}

func TestDefineChecksReferencesFirst(t *testing.T) {
	c, _ := fakeClient(t, nil)
	ctx := testCtx(t)
	cases := map[string]func(*kvm.DomainSpec){
		"nics[0].network":     func(s *kvm.DomainSpec) { s.NICs[0].Network = "nope" },
		"disks[0].pool":       func(s *kvm.DomainSpec) { s.Disks[0].Pool = "nope" },
		"disks[0].baseVolume": func(s *kvm.DomainSpec) { s.Disks[0].BaseVolume = "nope.qcow2" },
		"disks[0].sizeBytes":  func(s *kvm.DomainSpec) { s.Disks[0].SizeBytes = 0 },
	}
	for field, edit := range cases {
		spec := node("bad")
		edit(&spec)
		_, err := c.Define(ctx, spec)
		var fe *kvm.FieldError
		if !errors.As(err, &fe) || fe.Field != field || !errors.Is(err, kvm.ErrNotFound) {
			t.Errorf("%s: err = %v", field, err)
		}
	}
	if vols, err := c.ListVolumes(ctx, "default"); err != nil || len(vols) != 0 {
		t.Fatalf("volumes left behind: %+v %v", vols, err)
	}
	if _, err := c.State(ctx, "bad"); !errors.Is(err, kvm.ErrNotFound) {
		t.Fatalf("domain left behind: %v", err)
	}
}

func TestShutdownFallsBackToDestroy(t *testing.T) {
	c, _ := fakeClient(t, []kvmtest.Option{kvmtest.WithACPIIgnored()}, kvm.WithShutdownTimeout(100*time.Millisecond))
	ctx := testCtx(t)
	if _, err := c.Define(ctx, node("s0")); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx, "s0"); err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(ctx, "s0"); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.State(ctx, "s0"); st != kvm.StateShutoff {
		t.Fatalf("state = %s after shutdown of a guest ignoring ACPI, want shutoff", st)
	}
}

func TestGracefulShutdownWaitsForGuest(t *testing.T) {
	c, _ := fakeClient(t, []kvmtest.Option{kvmtest.WithShutdownDelay(50 * time.Millisecond)})
	ctx := testCtx(t)
	if _, err := c.Define(ctx, node("s1")); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	sub, _ := c.Subscribe(ctx, kvm.EventFilter{Domains: []string{"s1"}, Types: []kvm.EventType{kvm.EventStopped}})
	if err := c.Shutdown(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	ev := <-sub.C
	if ev.Detail != int(libvirt.DomainEventStoppedShutdown) {
		t.Fatalf("stopped detail = %d, want %d (shutdown, not destroyed)", ev.Detail, libvirt.DomainEventStoppedShutdown)
	}
}

func TestWaitForIPFromReservation(t *testing.T) {
	c, _ := fakeClient(t, nil)
	ctx := testCtx(t)
	mac := kvm.NICMAC("ip0", 0)
	if err := c.SetDHCPHost(ctx, "default", kvm.DHCPHost{MAC: mac, IP: "192.168.122.10", Name: "ip0"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Define(ctx, node("ip0")); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx, "ip0"); err != nil {
		t.Fatal(err)
	}
	ip, err := c.WaitForIP(ctx, "ip0", mac)
	if err != nil || ip.String() != "192.168.122.10" {
		t.Fatalf("WaitForIP = %v, %v; want the reserved 192.168.122.10", ip, err)
	}
	ls, err := c.Leases(ctx, "default")
	if err != nil || len(ls) != 1 || ls[0].MAC != mac {
		t.Fatalf("leases = %+v, %v", ls, err)
	}
}

func TestWaitForIPExplainsTimeout(t *testing.T) {
	c, _ := fakeClient(t, nil)
	ctx := testCtx(t)
	if _, err := c.Define(ctx, node("ip1")); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err := c.WaitForIP(wctx, "ip1", "")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "shutoff") || !strings.Contains(err.Error(), kvm.NICMAC("ip1", 0)) {
		t.Fatalf("err = %v; want the deadline, the state and the MAC", err)
	}
}

func TestListDomainsByLabel(t *testing.T) {
	c, _ := fakeClient(t, nil)
	ctx := testCtx(t)
	for _, n := range []string{"b", "a"} {
		if _, err := c.Define(ctx, node(n)); err != nil {
			t.Fatal(err)
		}
	}
	other := node("x")
	other.Labels = map[string]string{"cluster": "c2"}
	if _, err := c.Define(ctx, other); err != nil {
		t.Fatal(err)
	}
	got, err := c.ListDomains(ctx, map[string]string{"cluster": "c1"})
	if err != nil || len(got) != 2 || got[0].Name != "a" || got[1].Name != "b" {
		t.Fatalf("ListDomains(c1) = %+v, %v", got, err)
	}
	all, _ := c.ListDomains(ctx, nil)
	if len(all) != 3 {
		t.Fatalf("ListDomains(nil) = %d domains, want 3", len(all))
	}
}

func TestErrorsAreClassed(t *testing.T) {
	c, f := fakeClient(t, nil)
	ctx := testCtx(t)
	if _, err := c.State(ctx, "ghost"); !errors.Is(err, kvm.ErrNotFound) {
		t.Errorf("missing domain: %v", err)
	}
	if _, err := c.NetworkXML(ctx, "ghost"); !errors.Is(err, kvm.ErrNotFound) {
		t.Errorf("missing network: %v", err)
	}
	if _, err := c.ListVolumes(ctx, "ghost"); !errors.Is(err, kvm.ErrNotFound) {
		t.Errorf("missing pool: %v", err)
	}
	if err := c.DeleteVolume(ctx, "default", "ghost"); !errors.Is(err, kvm.ErrNotFound) {
		t.Errorf("missing volume: %v", err)
	}
	f.FailNext("NetworkGetDhcpLeases", libvirt.Error{Code: uint32(libvirt.ErrNoSupport), Message: "this function is not supported by the connection driver"})
	_, err := c.Leases(ctx, "default")
	var ke *kvm.Error
	if !errors.Is(err, kvm.ErrUnsupported) || !errors.As(err, &ke) || ke.Code != libvirt.ErrNoSupport {
		t.Errorf("unsupported call: %v", err)
	}
	c.Close()
	if _, err := c.State(ctx, "ghost"); !errors.Is(err, kvm.ErrDisconnected) {
		t.Errorf("call after Close: %v", err)
	}
}

func TestUploadAndVolumes(t *testing.T) {
	c, _ := fakeClient(t, nil)
	ctx := testCtx(t)
	if _, err := c.CreateVolume(ctx, "default", kvm.VolumeSpec{Name: "ign.raw", CapacityBytes: 5}); err != nil {
		t.Fatal(err)
	}
	if err := c.Upload(ctx, "default", "ign.raw", strings.NewReader("hello"), 5); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateVolume(ctx, "default", kvm.VolumeSpec{Name: "ign.raw", CapacityBytes: 5}); !errors.Is(err, kvm.ErrExists) {
		t.Fatalf("creating an existing volume: %v, want ErrExists", err)
	}
	vols, err := c.ListVolumes(ctx, "default")
	if err != nil || len(vols) != 1 || vols[0].Name != "ign.raw" || vols[0].Format != "raw" {
		t.Fatalf("volumes = %+v, %v", vols, err)
	}
	if err := c.DeleteVolume(ctx, "default", "ign.raw"); err != nil {
		t.Fatal(err)
	}
}

func TestDomainTypeFromCapabilities(t *testing.T) {
	spec := kvm.DomainSpec{Name: "ty", MemoryMiB: 64, VCPUs: 1}
	for _, tc := range []struct {
		name  string
		fopts []kvmtest.Option
		opts  []kvm.Option
		want  string
	}{
		{"host without kvm", nil, nil, "qemu"},
		{"host with kvm", []kvmtest.Option{kvmtest.WithKVM()}, nil, "kvm"},
		{"forced", []kvmtest.Option{kvmtest.WithKVM()}, []kvm.Option{kvm.WithDomainType("qemu")}, "qemu"},
	} {
		c, _ := fakeClient(t, tc.fopts, tc.opts...)
		d, err := c.Define(testCtx(t), spec)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if d.Type != tc.want {
			t.Errorf("%s: domain type %s, want %s", tc.name, d.Type, tc.want)
		}
	}
}

func TestHostUpdatesOnInactiveNetworkGoToConfig(t *testing.T) {
	c, _ := fakeClient(t, nil)
	ctx := testCtx(t)
	spec := kvm.NetworkSpec{Name: "cold", CIDR: "10.5.0.0/24", Mode: "isolated"}
	if err := c.DefineNetwork(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if err := c.SetDHCPHost(ctx, "cold", kvm.DHCPHost{MAC: "52:54:00:00:00:01", IP: "10.5.0.10"}); err != nil {
		t.Fatalf("reservation on an inactive network: %v", err)
	}
	if err := c.SetDNSHost(ctx, "cold", kvm.DNSHost{IP: "10.5.0.10", Hostnames: []string{"a.cold.test"}}); err != nil {
		t.Fatalf("DNS host on an inactive network: %v", err)
	}
	if err := c.SetDNSHost(ctx, "cold", kvm.DNSHost{IP: "10.5.0.10", Hostnames: []string{"b.cold.test"}}); err != nil {
		t.Fatalf("replacing a DNS host: %v", err)
	}
	if err := c.StartNetwork(ctx, "cold"); err != nil {
		t.Fatal(err)
	}
	x, err := c.NetworkXML(ctx, "cold")
	if err != nil {
		t.Fatal(err)
	}
	hosts, _ := c.DHCPHosts(ctx, "cold")
	if len(hosts) != 1 || hosts[0].IP != "10.5.0.10" {
		t.Errorf("reservations after start = %+v", hosts)
	}
	if x.DNS == nil || len(x.DNS.Host) != 1 || x.DNS.Host[0].Hostnames[0].Hostname != "b.cold.test" {
		t.Errorf("DNS hosts after start = %+v", x.DNS)
	}
	// A changed spec on the active network is refused, not half-applied.
	spec.Domain = "cold.test"
	if err := c.DefineNetwork(ctx, spec); !errors.Is(err, kvm.ErrConflict) {
		t.Fatalf("changed spec on an active network: %v, want ErrConflict", err)
	}
}
