package kvm

import (
	"fmt"
	"math/rand"
	"reflect"
	"testing"

	"libvirt.org/go/libvirtxml"
)

func uptrRef(v uint) *uint { return &v }

// buildDomainRef is the allocation-per-part version buildDomain replaced.
func buildDomainRef(n DomainSpec, hash string) (*libvirtxml.Domain, error) {
	meta, err := encodeMeta(n.Labels, hash)
	if err != nil {
		return nil, fmt.Errorf("kvm: encode metadata: %w", err)
	}
	d := &libvirtxml.Domain{
		Type:     n.Type,
		Name:     n.Name,
		Metadata: &libvirtxml.DomainMetadata{XML: meta},
		Memory:   &libvirtxml.DomainMemory{Value: n.MemoryMiB, Unit: "MiB"},
		VCPU:     &libvirtxml.DomainVCPU{Placement: "static", Value: n.VCPUs},
		OS: &libvirtxml.DomainOS{
			Type: &libvirtxml.DomainOSType{Arch: "x86_64", Machine: n.Machine, Type: "hvm"},
		},
		Features: &libvirtxml.DomainFeatureList{
			// ACPI: graceful shutdown and <acpi index> NIC names need it.
			ACPI: &libvirtxml.DomainFeature{},
			APIC: &libvirtxml.DomainFeatureAPIC{},
		},
		Clock:      &libvirtxml.DomainClock{Offset: "utc"},
		OnPoweroff: "destroy",
		OnReboot:   "restart",
		OnCrash:    "destroy",
		Devices:    &libvirtxml.DomainDeviceList{},
	}
	switch n.Firmware {
	case "uefi":
		d.OS.Firmware = "efi"
		d.OS.FirmwareInfo = &libvirtxml.DomainOSFirmwareInfo{Features: []libvirtxml.DomainOSFirmwareFeature{
			{Name: "secure-boot", Enabled: "no"},
		}}
	case "uefi-secure":
		d.OS.Firmware = "efi"
		d.OS.FirmwareInfo = &libvirtxml.DomainOSFirmwareInfo{Features: []libvirtxml.DomainOSFirmwareFeature{
			{Name: "enrolled-keys", Enabled: "yes"},
			{Name: "secure-boot", Enabled: "yes"},
		}}
		d.OS.Loader = &libvirtxml.DomainLoader{Secure: "yes"}
		d.Features.SMM = &libvirtxml.DomainFeatureSMM{State: "on"}
	}
	switch mode := n.CPUMode; {
	case mode == "custom":
		d.CPU = &libvirtxml.DomainCPU{Mode: "custom", Match: "exact", Check: "none",
			Model: &libvirtxml.DomainCPUModel{Value: n.CPUModel, Fallback: "forbid"}}
	case mode == "host-passthrough", mode == "host-model", mode == "maximum":
		d.CPU = &libvirtxml.DomainCPU{Mode: mode}
	case mode == "" && n.Type == "kvm":
		d.CPU = &libvirtxml.DomainCPU{Mode: "host-passthrough"}
	case mode == "":
		// TCG: -cpu max has x86-64-v2 (and more), which SCOS needs.
		d.CPU = &libvirtxml.DomainCPU{Mode: "maximum", Check: "none"}
	}
	if n.Ignition != nil {
		e := libvirtxml.DomainSysInfoEntry{Name: IgnitionFWCfgName, Value: n.Ignition.Value, File: n.Ignition.File}
		d.SysInfo = []libvirtxml.DomainSysInfo{{FWCfg: &libvirtxml.DomainSysInfoFWCfg{Entry: []libvirtxml.DomainSysInfoEntry{e}}}}
	}

	dev := d.Devices
	var scsi, sata bool
	for _, s := range n.Disks {
		disk := libvirtxml.DomainDisk{
			Device: "disk",
			Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: s.Format, Discard: "unmap"},
			Source: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: s.Path}},
			Target: &libvirtxml.DomainDiskTarget{Dev: s.Target, Bus: s.Bus},
			Serial: s.Serial,
		}
		if s.BootOrder > 0 {
			disk.Boot = &libvirtxml.DomainDeviceBoot{Order: s.BootOrder}
		}
		if s.ReadOnly {
			disk.ReadOnly = &libvirtxml.DomainDiskReadOnly{}
		}
		scsi = scsi || s.Bus == "scsi"
		sata = sata || s.Bus == "sata"
		dev.Disks = append(dev.Disks, disk)
	}
	if scsi {
		dev.Controllers = append(dev.Controllers, libvirtxml.DomainController{Type: "scsi", Index: uptrRef(0), Model: "virtio-scsi"})
	}
	if sata && n.Machine == "pc" { // q35 has AHCI built in
		dev.Controllers = append(dev.Controllers, libvirtxml.DomainController{Type: "sata", Index: uptrRef(0)})
	}
	for _, c := range n.NICs {
		nic := libvirtxml.DomainInterface{
			MAC:    &libvirtxml.DomainInterfaceMAC{Address: c.MAC},
			Source: &libvirtxml.DomainInterfaceSource{},
			Model:  &libvirtxml.DomainInterfaceModel{Type: c.Model},
		}
		if c.Network != "" {
			nic.Source.Network = &libvirtxml.DomainInterfaceSourceNetwork{Network: c.Network}
		} else {
			nic.Source.Bridge = &libvirtxml.DomainInterfaceSourceBridge{Bridge: c.Bridge}
		}
		if c.ACPIIndex > 0 {
			nic.ACPI = &libvirtxml.DomainDeviceACPI{Index: c.ACPIIndex}
		}
		if c.BootOrder > 0 {
			nic.Boot = &libvirtxml.DomainDeviceBoot{Order: c.BootOrder}
		}
		dev.Interfaces = append(dev.Interfaces, nic)
	}
	if !n.NoConsole {
		dev.Serials = []libvirtxml.DomainSerial{{
			Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}},
			Target: &libvirtxml.DomainSerialTarget{Port: uptrRef(0)},
		}}
		dev.Consoles = []libvirtxml.DomainConsole{{
			Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}},
			Target: &libvirtxml.DomainConsoleTarget{Type: "serial", Port: uptrRef(0)},
		}}
	}
	if !n.NoGuestAgent {
		dev.Channels = []libvirtxml.DomainChannel{{
			// No path: libvirt picks one under its own state directory.
			Source: &libvirtxml.DomainChardevSource{UNIX: &libvirtxml.DomainChardevSourceUNIX{Mode: "bind"}},
			Target: &libvirtxml.DomainChannelTarget{VirtIO: &libvirtxml.DomainChannelTargetVirtIO{Name: "org.qemu.guest_agent.0"}},
		}}
	}
	// Entropy speeds up first boot (Ignition, TLS) on TCG especially.
	dev.RNGs = []libvirtxml.DomainRNG{{
		Model:   "virtio",
		Backend: &libvirtxml.DomainRNGBackend{Random: &libvirtxml.DomainRNGBackendRandom{Device: "/dev/urandom"}},
	}}
	return d, nil
}

// randBuildSpec is a valid-looking spec with a random shape (some are
// still invalid: duplicate boot orders).
func randBuildSpec(r *rand.Rand) DomainSpec {
	pick := func(vals ...string) string { return vals[r.Intn(len(vals))] }
	s := DomainSpec{
		Name: "n", MemoryMiB: 1024, VCPUs: 2, Type: pick("kvm", "qemu"),
		CPUMode:        pick("", "host-passthrough", "host-model", "maximum", "custom", "custom-default"),
		Machine:        pick("q35", "pc"),
		Firmware:       pick("bios", "uefi", "uefi-secure"),
		StableNICNames: r.Intn(2) == 0, NoConsole: r.Intn(2) == 0, NoGuestAgent: r.Intn(2) == 0,
	}
	if s.CPUMode == "custom" {
		s.CPUModel = "Skylake-Server"
	}
	for i := r.Intn(4); i > 0; i-- {
		s.Disks = append(s.Disks, DiskSpec{Path: fmt.Sprintf("/d%d.qcow2", i), Bus: pick("virtio", "scsi", "sata"),
			BootOrder: uint(r.Intn(2) * (10 + i)), ReadOnly: r.Intn(2) == 0})
	}
	for i := r.Intn(4); i > 0; i-- {
		c := NICSpec{Network: "default", Model: pick("virtio", "e1000e"), BootOrder: uint(r.Intn(2) * (20 + i))}
		if r.Intn(2) == 0 {
			c = NICSpec{Bridge: "br0"}
		}
		s.NICs = append(s.NICs, c)
	}
	switch r.Intn(3) {
	case 0:
		s.Ignition = &IgnitionSpec{Value: "{}"}
	case 1:
		s.Ignition = &IgnitionSpec{File: "/i.ign"}
	}
	if r.Intn(2) == 0 {
		s.Labels = map[string]string{"cluster": "lab"}
	}
	return s
}

func TestBuildDomainMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	checked := 0
	for range 5000 {
		s := randBuildSpec(r)
		n := s.Normalize()
		if err := s.validate(n); err != nil {
			continue
		}
		checked++
		h := specHash(n)
		got, err := buildDomain(n, h)
		if err != nil {
			t.Fatal(err)
		}
		want, err := buildDomainRef(n, h)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			gx, _ := got.Marshal()
			wx, _ := want.Marshal()
			t.Fatalf("buildDomain differs for %+v:\n--- got\n%s\n--- want\n%s", s, gx, wx)
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d valid specs checked", checked)
	}
}

var _ libvirtxml.Domain
