package kvm

import (
	"fmt"

	"libvirt.org/go/libvirtxml"
)

// specVersion is mixed into the spec hash: bump it when the XML okvm
// generates for the same spec changes, so existing domains are redefined.
const specVersion = "okvm-domain-v1"

// Domain validates s, fills defaults and builds the libvirt domain. Disks on
// pool volumes need their Path (Client.Define resolves it); an empty Type
// is resolved from /dev/kvm on this host.
func (s DomainSpec) Domain() (*libvirtxml.Domain, error) {
	n := s.Normalize()
	if err := s.validate(n); err != nil {
		return nil, err
	}
	if n.Type == "" {
		n.Type = hostDomainType()
	}
	for i, d := range n.Disks {
		if d.Format == "" {
			n.Disks[i].Format = guessFormat(d.Path, d.BaseVolume)
		}
		if d.Path == "" {
			return nil, fieldErr(fmt.Sprintf("disks[%d].path", i), d.Pool+"/"+d.Volume,
				"pool volume not resolved to a path: use Client.Define, or set path")
		}
	}
	return buildDomain(n, specHash(n))
}

// XML is Domain marshalled.
func (s DomainSpec) XML() (string, error) {
	d, err := s.Domain()
	if err != nil {
		return "", err
	}
	return marshalDomain(d)
}

func uptr(v uint) *uint { return &v }

// buildDomain turns a normalised spec whose Type and disk paths are set
// into libvirtxml. No validation here: callers have done it.
func buildDomain(n DomainSpec, hash string) (*libvirtxml.Domain, error) {
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
		dev.Controllers = append(dev.Controllers, libvirtxml.DomainController{Type: "scsi", Index: uptr(0), Model: "virtio-scsi"})
	}
	if sata && n.Machine == "pc" { // q35 has AHCI built in
		dev.Controllers = append(dev.Controllers, libvirtxml.DomainController{Type: "sata", Index: uptr(0)})
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
			Target: &libvirtxml.DomainSerialTarget{Port: uptr(0)},
		}}
		dev.Consoles = []libvirtxml.DomainConsole{{
			Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}},
			Target: &libvirtxml.DomainConsoleTarget{Type: "serial", Port: uptr(0)},
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
