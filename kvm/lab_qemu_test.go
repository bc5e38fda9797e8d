package kvm_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/okvm/okvm/internal/labtest"
	"github.com/okvm/okvm/kvm"
)

// The QEMU driver of the lab libvirtd: real XML validation by QEMU's
// driver, a real TCG guest process, real qemu-img overlays and a real
// volume upload stream (which the test driver lacks). The guest has no OS:
// it sits in SeaBIOS, so it also ignores ACPI power-off.
func TestLabQEMUDomainOnOverlay(t *testing.T) {
	sock := labtest.Socket(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := kvm.Dial(ctx, "qemu+unix:///system?socket="+sock, kvm.WithShutdownTimeout(3*time.Second))
	if err != nil {
		t.Fatalf("dial the lab QEMU driver: %v", err)
	}
	t.Cleanup(func() { c.Close() }) // registered first: runs after the other cleanups
	id := uniq("kq")
	bg := context.Background()

	dir, err := os.MkdirTemp("", "okvm-kvm-lab-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pool := id + "-pool"
	if err := c.EnsureDirPool(ctx, pool, filepath.Join(dir, "pool")); err != nil {
		t.Fatalf("EnsureDirPool: %v", err)
	}
	t.Cleanup(func() { c.DeletePool(bg, pool) })
	if err := c.EnsureDirPool(ctx, pool, filepath.Join(dir, "pool")); err != nil {
		t.Fatalf("EnsureDirPool again: %v", err)
	}

	// A raw base image filled by a real upload stream.
	payload := strings.Repeat("okvm", 256<<10) // 1 MiB
	if _, err := c.CreateVolume(ctx, pool, kvm.VolumeSpec{Name: "base.raw", CapacityBytes: uint64(len(payload))}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.DeleteVolume(bg, pool, "base.raw") })
	if err := c.Upload(ctx, pool, "base.raw", strings.NewReader(payload), int64(len(payload))); err != nil {
		t.Fatalf("upload: %v", err)
	}
	basePath, _ := c.VolumePath(ctx, pool, "base.raw")
	got, err := os.ReadFile(basePath)
	if err != nil || string(got) != payload {
		t.Fatalf("uploaded file %s: %d bytes, err %v; want the 1 MiB payload", basePath, len(got), err)
	}

	netName := id + "-net"
	if err := c.DefineNetwork(ctx, kvm.NetworkSpec{Name: netName, Mode: "isolated", CIDR: "10.99.7.0/24",
		Bridge:         "kq" + fmt.Sprint(os.Getpid()%100000),
		DHCPRange:      &kvm.IPRange{Start: "10.99.7.100", End: "10.99.7.200"},
		DnsmasqOptions: []string{kvm.AppsWildcard("lab", "okd.test", "10.99.7.5")},
	}); err != nil {
		t.Fatalf("define network: %v", err)
	}
	t.Cleanup(func() { c.DestroyNetwork(bg, netName); c.UndefineNetwork(bg, netName) })
	if err := c.StartNetwork(ctx, netName); err != nil {
		t.Fatalf("start network (inside the lab netns): %v", err)
	}
	nx, err := c.NetworkXML(ctx, netName)
	if err != nil || nx.DnsmasqOptions == nil || len(nx.DnsmasqOptions.Option) != 1 {
		t.Fatalf("the network driver kept dnsmasq options = %+v, %v", nx.DnsmasqOptions, err)
	}
	name := id + "-vm"
	if err := c.SetDHCPHost(ctx, netName, kvm.DHCPHost{MAC: kvm.NICMAC(name, 0), IP: "10.99.7.10", Name: name}); err != nil {
		t.Fatalf("live DHCP host on a running network: %v", err)
	}

	spec := kvm.DomainSpec{
		Name: name, MemoryMiB: 128, VCPUs: 1, Type: "qemu",
		Disks:          []kvm.DiskSpec{{Pool: pool, Volume: name + ".qcow2", BaseVolume: "base.raw", BootOrder: 1}},
		NICs:           []kvm.NICSpec{{Network: netName}},
		StableNICNames: true,
		Ignition:       &kvm.IgnitionSpec{Value: `{"ignition":{"version":"3.2.0"}}`},
		Labels:         map[string]string{"cluster": id},
	}
	t.Cleanup(func() { c.Remove(bg, name); c.DeleteVolume(bg, pool, name+".qcow2") })
	d, err := c.Define(ctx, spec)
	if err != nil {
		t.Fatalf("define on the QEMU driver: %v", err)
	}
	if d.OS.Type.Machine == "q35" || !strings.HasPrefix(d.OS.Type.Machine, "pc-q35-") {
		t.Errorf("machine = %s, want the expanded pc-q35-x.y", d.OS.Type.Machine)
	}
	nic := d.Devices.Interfaces[0]
	if nic.Address == nil || nic.Address.PCI == nil || nic.ACPI == nil || nic.ACPI.Index != 1 {
		t.Errorf("NIC after define: address %+v acpi %+v; want a PCI address and acpi index 1", nic.Address, nic.ACPI)
	}
	v, err := c.Volume(ctx, pool, name+".qcow2")
	if err != nil || v.Format != "qcow2" || v.BackingPath != basePath {
		t.Fatalf("overlay = %+v, %v; want qcow2 backed by %s", v, err, basePath)
	}
	if err := c.Start(ctx, name); err != nil {
		t.Fatalf("start a TCG guest: %v", err)
	}
	if err := c.WaitForState(ctx, name, kvm.StateRunning); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Define(ctx, spec); err != nil {
		t.Fatalf("same spec on a running domain must be a no-op: %v", err)
	}
	// SeaBIOS with nothing to boot ignores ACPI: Shutdown must destroy.
	if err := c.Shutdown(ctx, name); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if st, _ := c.State(ctx, name); st != kvm.StateShutoff {
		t.Fatalf("state after shutdown = %s", st)
	}
	if err := c.Undefine(ctx, name); err != nil {
		t.Fatalf("undefine: %v", err)
	}
	if _, err := c.State(ctx, name); !errors.Is(err, kvm.ErrNotFound) {
		t.Fatalf("after undefine: %v", err)
	}
}

// UEFI and Secure Boot specs are accepted by the real QEMU driver, which
// picks OVMF builds for them (Debian's ovmf package), and Undefine removes
// the per-domain NVRAM file with the definition.
func TestLabQEMUFirmware(t *testing.T) {
	sock := labtest.Socket(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := kvm.Dial(ctx, "qemu+unix:///system?socket="+sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for _, fw := range []string{"uefi", "uefi-secure"} {
		name := uniq("kfw-" + strings.ReplaceAll(fw, "-", ""))
		t.Cleanup(func() { c.Remove(context.Background(), name) })
		d, err := c.Define(ctx, kvm.DomainSpec{Name: name, MemoryMiB: 128, VCPUs: 1, Type: "qemu", Firmware: fw, NoGuestAgent: true})
		if err != nil {
			t.Fatalf("%s: define: %v", fw, err)
		}
		if d.OS.Firmware != "efi" {
			t.Errorf("%s: os firmware = %q, want efi", fw, d.OS.Firmware)
		}
		if fw == "uefi-secure" && (d.Features == nil || d.Features.SMM == nil || d.Features.SMM.State != "on") {
			t.Errorf("%s: SMM not on: %+v", fw, d.Features)
		}
		if err := c.Start(ctx, name); err != nil {
			t.Fatalf("%s: start: %v", fw, err)
		}
		// libvirt 9.0 keeps the autoselected loader and NVRAM out of the
		// persistent XML; the NVRAM file has libvirt's default path.
		nvram := "/var/lib/libvirt/qemu/nvram/" + name + "_VARS.fd"
		if _, err := os.Stat(nvram); err != nil {
			t.Fatalf("%s: no NVRAM file after start: %v", fw, err)
		}
		if err := c.Destroy(ctx, name); err != nil {
			t.Fatal(err)
		}
		if err := c.Undefine(ctx, name); err != nil {
			t.Fatalf("%s: undefine with NVRAM: %v", fw, err)
		}
		if _, err := os.Stat(nvram); !os.IsNotExist(err) {
			t.Errorf("%s: NVRAM %s left behind (stat: %v)", fw, nvram, err)
		}
	}
}
