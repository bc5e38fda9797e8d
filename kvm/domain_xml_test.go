package kvm

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"libvirt.org/go/libvirtxml"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata")

// masterSpec is an OKD control-plane node: 2 NICs, 3 disks, UEFI, Ignition.
func masterSpec() DomainSpec {
	return DomainSpec{
		Name:      "master-0",
		MemoryMiB: 16384,
		VCPUs:     4,
		Type:      "kvm",
		Firmware:  "uefi",
		Disks: []DiskSpec{
			{Path: "/var/lib/okvm/master-0.qcow2", BootOrder: 1},
			{Path: "/var/lib/okvm/master-0-etcd.raw", Bus: "scsi"},
			{Path: "/var/lib/okvm/master-0-data.qcow2", Bus: "sata", Serial: "data-0"},
		},
		NICs: []NICSpec{
			{Network: "okd"},
			{Bridge: "br0", MAC: "52:54:00:AA:BB:CC", Model: "e1000e"},
		},
		StableNICNames: true,
		Ignition:       &IgnitionSpec{File: "/var/lib/okvm/master.ign"},
		Labels:         map[string]string{"cluster": "lab", "role": "master"},
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("%s differs from the generated XML (go test -update rewrites it):\n--- got\n%s", path, got)
	}
}

func TestDomainXMLGolden(t *testing.T) {
	cases := map[string]DomainSpec{
		"domain-master.xml": masterSpec(),
		"domain-minimal-pc.xml": {
			Name: "tiny", MemoryMiB: 512, VCPUs: 1, Type: "qemu", Machine: "pc",
			Disks:        []DiskSpec{{Path: "/images/tiny.qcow2"}},
			NICs:         []NICSpec{{Network: "default"}},
			Ignition:     &IgnitionSpec{Value: `{"ignition":{"version":"3.2.0"}}`},
			NoGuestAgent: true,
		},
		"domain-secureboot.xml": {
			Name: "sb", MemoryMiB: 2048, VCPUs: 2, Type: "kvm", Firmware: "uefi-secure",
			CPUMode: "custom", CPUModel: "Skylake-Server",
			Disks: []DiskSpec{{Path: "/images/sb.raw"}},
		},
	}
	for name, spec := range cases {
		t.Run(name, func(t *testing.T) {
			x, err := spec.XML()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name, x)
		})
	}
}

// The XML a user relies on, read back through libvirtxml: the fields that
// decide how the guest boots and what it sees.
func TestDomainXMLRoundTrip(t *testing.T) {
	x, err := masterSpec().XML()
	if err != nil {
		t.Fatal(err)
	}
	var d libvirtxml.Domain
	if err := d.Unmarshal(x); err != nil {
		t.Fatalf("libvirtxml cannot parse what kvm generated: %v", err)
	}
	if d.Type != "kvm" || d.OS.Type.Machine != "q35" || d.OS.Firmware != "efi" {
		t.Errorf("type/machine/firmware = %s/%s/%s, want kvm/q35/efi", d.Type, d.OS.Type.Machine, d.OS.Firmware)
	}
	if d.Memory.Value != 16384 || d.Memory.Unit != "MiB" || d.VCPU.Value != 4 {
		t.Errorf("memory %d %s, vcpus %d", d.Memory.Value, d.Memory.Unit, d.VCPU.Value)
	}
	if d.CPU == nil || d.CPU.Mode != "host-passthrough" {
		t.Errorf("kvm domain CPU = %+v, want host-passthrough", d.CPU)
	}
	disks := d.Devices.Disks
	if len(disks) != 3 {
		t.Fatalf("%d disks, want 3", len(disks))
	}
	wantDisks := []struct{ file, format, dev, bus, serial string }{
		{"/var/lib/okvm/master-0.qcow2", "qcow2", "vda", "virtio", "master-0-d0"},
		{"/var/lib/okvm/master-0-etcd.raw", "raw", "sda", "scsi", "master-0-d1"},
		{"/var/lib/okvm/master-0-data.qcow2", "qcow2", "sdb", "sata", "data-0"},
	}
	for i, w := range wantDisks {
		g := disks[i]
		if g.Source.File == nil || g.Source.File.File != w.file || g.Driver.Type != w.format ||
			g.Target.Dev != w.dev || g.Target.Bus != w.bus || g.Serial != w.serial {
			t.Errorf("disk %d = file %+v format %s target %+v serial %s; want %+v", i, g.Source.File, g.Driver.Type, g.Target, g.Serial, w)
		}
	}
	if disks[0].Boot == nil || disks[0].Boot.Order != 1 {
		t.Errorf("boot disk has no boot order 1: %+v", disks[0].Boot)
	}
	var scsi bool
	for _, c := range d.Devices.Controllers {
		scsi = scsi || (c.Type == "scsi" && c.Model == "virtio-scsi")
	}
	if !scsi {
		t.Error("a scsi disk needs a virtio-scsi controller")
	}
	nics := d.Devices.Interfaces
	if len(nics) != 2 {
		t.Fatalf("%d NICs, want 2", len(nics))
	}
	if nics[0].Source.Network == nil || nics[0].Source.Network.Network != "okd" || nics[0].MAC.Address != NICMAC("master-0", 0) ||
		nics[0].Model.Type != "virtio" || nics[0].ACPI == nil || nics[0].ACPI.Index != 1 {
		t.Errorf("NIC 0 = %+v %+v %+v %+v", nics[0].Source.Network, nics[0].MAC, nics[0].Model, nics[0].ACPI)
	}
	if nics[1].Source.Bridge == nil || nics[1].Source.Bridge.Bridge != "br0" || nics[1].MAC.Address != "52:54:00:aa:bb:cc" ||
		nics[1].Model.Type != "e1000e" || nics[1].ACPI == nil || nics[1].ACPI.Index != 2 {
		t.Errorf("NIC 1 = %+v %+v %+v %+v", nics[1].Source.Bridge, nics[1].MAC, nics[1].Model, nics[1].ACPI)
	}
	if len(d.SysInfo) != 1 || d.SysInfo[0].FWCfg == nil || len(d.SysInfo[0].FWCfg.Entry) != 1 ||
		d.SysInfo[0].FWCfg.Entry[0].Name != "opt/com.coreos/config" || d.SysInfo[0].FWCfg.Entry[0].File != "/var/lib/okvm/master.ign" {
		t.Errorf("ignition fw_cfg = %+v", d.SysInfo)
	}
	if !strings.Contains(x, `<sysinfo type="fwcfg">`) {
		t.Error(`want <sysinfo type="fwcfg"> (libvirt spells it fwcfg)`)
	}
	if len(d.Devices.Serials) != 1 || d.Devices.Serials[0].Source.Pty == nil {
		t.Errorf("want one pty serial console, got %+v", d.Devices.Serials)
	}
	if len(d.Devices.Channels) != 1 || d.Devices.Channels[0].Target.VirtIO == nil ||
		d.Devices.Channels[0].Target.VirtIO.Name != "org.qemu.guest_agent.0" || d.Devices.Channels[0].Source.UNIX == nil {
		t.Errorf("want the guest agent unix channel, got %+v", d.Devices.Channels)
	}
	labels, hash, ok := decodeMeta(d.Metadata.XML)
	if !ok || labels["cluster"] != "lab" || labels["role"] != "master" || !strings.HasPrefix(hash, "sha256:") {
		t.Errorf("metadata labels=%v hash=%q ok=%v from %s", labels, hash, ok, d.Metadata.XML)
	}
}

func TestSpecHashTracksChanges(t *testing.T) {
	a := masterSpec().Normalize()
	b := masterSpec().Normalize()
	if specHash(a) != specHash(b) {
		t.Fatal("the same spec hashes differently")
	}
	b.MemoryMiB++
	if specHash(a) == specHash(b) {
		t.Fatal("a memory change does not change the hash")
	}
	c := masterSpec()
	c.NICs[0].MAC = NICMAC("master-0", 0) // the default, spelled out
	if specHash(a) != specHash(c.Normalize()) {
		t.Error("spelling out a default changes the hash")
	}
}

func TestDomainXMLNeedsResolvedVolumes(t *testing.T) {
	s := DomainSpec{Name: "v", MemoryMiB: 1, VCPUs: 1, Disks: []DiskSpec{{Pool: "p", Volume: "v.qcow2"}}}
	_, err := s.XML()
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "disks[0].path" {
		t.Fatalf("err = %v, want a FieldError on disks[0].path", err)
	}
}

func TestCPUDefaultsByType(t *testing.T) {
	s := DomainSpec{Name: "t", MemoryMiB: 1, VCPUs: 1, Type: "qemu"}
	d, err := s.Domain()
	if err != nil {
		t.Fatal(err)
	}
	if d.CPU == nil || d.CPU.Mode != "maximum" {
		t.Errorf("TCG domain CPU = %+v, want maximum (host-passthrough needs KVM, qemu64 lacks x86-64-v2)", d.CPU)
	}
	s.CPUMode = "custom-default"
	if d, _ = s.Domain(); d.CPU != nil {
		t.Errorf("custom-default got <cpu mode=%q>, want none", d.CPU.Mode)
	}
	s.CPUMode = ""
	s.Type = "kvm"
	if d, _ = s.Domain(); d.CPU == nil || d.CPU.Mode != "host-passthrough" {
		t.Errorf("kvm domain CPU = %+v, want host-passthrough", d.CPU)
	}
}
