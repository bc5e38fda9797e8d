package kvm

import (
	"fmt"
	"sync"

	"libvirt.org/go/libvirtxml"
)

// specVersion is mixed into the spec hash: bump it when the XML okvm
// generates for the same spec changes, so existing domains are redefined.
const specVersion = "okvm-domain-v1"

// Domain validates s, fills defaults and builds the libvirt domain. Disks on
// pool volumes need their Path (Client.Define resolves it); an empty Type
// is resolved from /dev/kvm on this host.
func (s DomainSpec) Domain() (*libvirtxml.Domain, error) {
	n, err := s.resolve(s.Normalize())
	if err != nil {
		return nil, err
	}
	return buildDomain(n, specHash(n))
}

// resolve validates s given n = s.Normalize() and fills in what Domain
// needs on top: the domain type and every disk's path.
func (s DomainSpec) resolve(n DomainSpec) (DomainSpec, error) {
	if err := s.validate(n); err != nil {
		return n, err
	}
	if n.Type == "" {
		n.Type = hostDomainType()
	}
	for i, d := range n.Disks {
		if d.Format == "" {
			n.Disks[i].Format = guessFormat(d.Path, d.BaseVolume)
		}
		if d.Path == "" {
			return n, fieldErr(fmt.Sprintf("disks[%d].path", i), d.Pool+"/"+d.Volume,
				"pool volume not resolved to a path: use Client.Define, or set path")
		}
	}
	return n, nil
}

// XML is Domain marshalled.
//
// The libvirtxml tree is built in parts taken from a pool and given back
// once marshalled: it never leaves XML, and it is most of what building
// allocates.
func (s DomainSpec) XML() (string, error) {
	p := domainPartsPool.Get().(*domainParts)
	n, err := s.resolve(s.normalizeInto(p.specDisks, p.specNICs))
	if n.Disks != nil { // keep what append grew
		p.specDisks = n.Disks
	}
	if n.NICs != nil {
		p.specNICs = n.NICs
	}
	var d *libvirtxml.Domain
	if err == nil {
		d, err = p.build(n, specHash(n))
	}
	var x string
	if err == nil {
		x, err = marshalDomain(d)
	}
	p.release()
	domainPartsPool.Put(p)
	return x, err
}

var domainPartsPool = sync.Pool{New: func() any { return new(domainParts) }}

// domainParts holds every fixed-shape part of a domain buildDomain makes,
// so that they take one allocation instead of some forty; disks and NICs
// take one more each (diskParts, nicParts). Each pointer in the domain still
// points at a part of its own.
type domainParts struct {
	dom        libvirtxml.Domain
	meta       libvirtxml.DomainMetadata
	mem        libvirtxml.DomainMemory
	vcpu       libvirtxml.DomainVCPU
	os         libvirtxml.DomainOS
	osType     libvirtxml.DomainOSType
	fwInfo     libvirtxml.DomainOSFirmwareInfo
	fwFeatures [2]libvirtxml.DomainOSFirmwareFeature
	loader     libvirtxml.DomainLoader
	features   libvirtxml.DomainFeatureList
	acpi       libvirtxml.DomainFeature
	apic       libvirtxml.DomainFeatureAPIC
	smm        libvirtxml.DomainFeatureSMM
	cpu        libvirtxml.DomainCPU
	cpuModel   libvirtxml.DomainCPUModel
	clock      libvirtxml.DomainClock
	sysInfo    [1]libvirtxml.DomainSysInfo
	fwCfg      libvirtxml.DomainSysInfoFWCfg
	fwEntry    [1]libvirtxml.DomainSysInfoEntry
	devices    libvirtxml.DomainDeviceList

	controllers [2]libvirtxml.DomainController
	ctrlIndex   [2]uint

	serial       [1]libvirtxml.DomainSerial
	serialSource libvirtxml.DomainChardevSource
	serialPty    libvirtxml.DomainChardevSourcePty
	serialTarget libvirtxml.DomainSerialTarget
	serialPort   uint

	console       [1]libvirtxml.DomainConsole
	consoleSource libvirtxml.DomainChardevSource
	consolePty    libvirtxml.DomainChardevSourcePty
	consoleTarget libvirtxml.DomainConsoleTarget
	consolePort   uint

	channel       [1]libvirtxml.DomainChannel
	channelSource libvirtxml.DomainChardevSource
	channelUNIX   libvirtxml.DomainChardevSourceUNIX
	channelTarget libvirtxml.DomainChannelTarget
	channelVirtIO libvirtxml.DomainChannelTargetVirtIO

	rng        [1]libvirtxml.DomainRNG
	rngBackend libvirtxml.DomainRNGBackend
	rngRandom  libvirtxml.DomainRNGBackendRandom

	// Kept across builds of pooled parts (XML); the rest is zeroed. The
	// spec* slices hold XML's normalised copy of the spec's lists.
	disks     []libvirtxml.DomainDisk
	diskParts []diskParts
	nics      []libvirtxml.DomainInterface
	nicParts  []nicParts
	specDisks []DiskSpec
	specNICs  []NICSpec
}

// release zeroes p for the next build, keeping the slices' storage (build
// zeroes the device parts it reuses; normalizeInto overwrites the spec
// lists).
func (p *domainParts) release() {
	*p = domainParts{
		disks: p.disks[:0], diskParts: p.diskParts[:0],
		nics: p.nics[:0], nicParts: p.nicParts[:0],
		specDisks: p.specDisks[:0], specNICs: p.specNICs[:0],
	}
}

// grow returns s with length k and every element zero, reusing its storage.
func grow[T any](s []T, k int) []T {
	if cap(s) < k {
		return make([]T, k)
	}
	s = s[:k]
	clear(s)
	return s
}

type diskParts struct {
	driver   libvirtxml.DomainDiskDriver
	source   libvirtxml.DomainDiskSource
	file     libvirtxml.DomainDiskSourceFile
	target   libvirtxml.DomainDiskTarget
	boot     libvirtxml.DomainDeviceBoot
	readOnly libvirtxml.DomainDiskReadOnly
}

type nicParts struct {
	mac     libvirtxml.DomainInterfaceMAC
	source  libvirtxml.DomainInterfaceSource
	network libvirtxml.DomainInterfaceSourceNetwork
	bridge  libvirtxml.DomainInterfaceSourceBridge
	model   libvirtxml.DomainInterfaceModel
	acpi    libvirtxml.DomainDeviceACPI
	boot    libvirtxml.DomainDeviceBoot
}

// buildDomain turns a normalised spec whose Type and disk paths are set
// into libvirtxml. No validation here: callers have done it.
func buildDomain(n DomainSpec, hash string) (*libvirtxml.Domain, error) {
	return new(domainParts).build(n, hash)
}

// build is buildDomain into p, which must be new or released.
func (p *domainParts) build(n DomainSpec, hash string) (*libvirtxml.Domain, error) {
	meta, err := encodeMeta(n.Labels, hash)
	if err != nil {
		return nil, fmt.Errorf("kvm: encode metadata: %w", err)
	}
	p.meta = libvirtxml.DomainMetadata{XML: meta}
	p.mem = libvirtxml.DomainMemory{Value: n.MemoryMiB, Unit: "MiB"}
	p.vcpu = libvirtxml.DomainVCPU{Placement: "static", Value: n.VCPUs}
	p.osType = libvirtxml.DomainOSType{Arch: "x86_64", Machine: n.Machine, Type: "hvm"}
	p.os.Type = &p.osType
	// ACPI: graceful shutdown and <acpi index> NIC names need it.
	p.features.ACPI = &p.acpi
	p.features.APIC = &p.apic
	p.clock.Offset = "utc"
	d := &p.dom // zero: set field by field rather than copied in whole
	d.Type = n.Type
	d.Name = n.Name
	d.Metadata = &p.meta
	d.Memory = &p.mem
	d.VCPU = &p.vcpu
	d.OS = &p.os
	d.Features = &p.features
	d.Clock = &p.clock
	d.OnPoweroff = "destroy"
	d.OnReboot = "restart"
	d.OnCrash = "destroy"
	d.Devices = &p.devices
	switch n.Firmware {
	case "uefi":
		d.OS.Firmware = "efi"
		p.fwFeatures[0] = libvirtxml.DomainOSFirmwareFeature{Name: "secure-boot", Enabled: "no"}
		p.fwInfo.Features = p.fwFeatures[:1:1]
		d.OS.FirmwareInfo = &p.fwInfo
	case "uefi-secure":
		d.OS.Firmware = "efi"
		p.fwFeatures = [2]libvirtxml.DomainOSFirmwareFeature{
			{Name: "enrolled-keys", Enabled: "yes"},
			{Name: "secure-boot", Enabled: "yes"},
		}
		p.fwInfo.Features = p.fwFeatures[:]
		d.OS.FirmwareInfo = &p.fwInfo
		p.loader.Secure = "yes"
		d.OS.Loader = &p.loader
		p.smm.State = "on"
		d.Features.SMM = &p.smm
	}
	switch mode := n.CPUMode; {
	case mode == "custom":
		p.cpuModel = libvirtxml.DomainCPUModel{Value: n.CPUModel, Fallback: "forbid"}
		p.cpu = libvirtxml.DomainCPU{Mode: "custom", Match: "exact", Check: "none", Model: &p.cpuModel}
		d.CPU = &p.cpu
	case mode == "host-passthrough", mode == "host-model", mode == "maximum":
		p.cpu.Mode = mode
		d.CPU = &p.cpu
	case mode == "" && n.Type == "kvm":
		p.cpu.Mode = "host-passthrough"
		d.CPU = &p.cpu
	case mode == "":
		// TCG: -cpu max has x86-64-v2 (and more), which SCOS needs.
		p.cpu = libvirtxml.DomainCPU{Mode: "maximum", Check: "none"}
		d.CPU = &p.cpu
	}
	if n.Ignition != nil {
		p.fwEntry[0] = libvirtxml.DomainSysInfoEntry{Name: IgnitionFWCfgName, Value: n.Ignition.Value, File: n.Ignition.File}
		p.fwCfg.Entry = p.fwEntry[:]
		p.sysInfo[0].FWCfg = &p.fwCfg
		d.SysInfo = p.sysInfo[:]
	}

	dev := d.Devices
	var scsi, sata bool
	if len(n.Disks) > 0 {
		p.disks = grow(p.disks, len(n.Disks))
		p.diskParts = grow(p.diskParts, len(n.Disks))
		dev.Disks = p.disks
		parts := p.diskParts
		for i := range n.Disks {
			s, dp, disk := &n.Disks[i], &parts[i], &dev.Disks[i]
			dp.driver = libvirtxml.DomainDiskDriver{Name: "qemu", Type: s.Format, Discard: "unmap"}
			dp.file.File = s.Path
			dp.source.File = &dp.file
			dp.target = libvirtxml.DomainDiskTarget{Dev: s.Target, Bus: s.Bus}
			*disk = libvirtxml.DomainDisk{
				Device: "disk",
				Driver: &dp.driver,
				Source: &dp.source,
				Target: &dp.target,
				Serial: s.Serial,
			}
			if s.BootOrder > 0 {
				dp.boot.Order = s.BootOrder
				disk.Boot = &dp.boot
			}
			if s.ReadOnly {
				disk.ReadOnly = &dp.readOnly
			}
			scsi = scsi || s.Bus == "scsi"
			sata = sata || s.Bus == "sata"
		}
	}
	if scsi {
		dev.Controllers = append(p.controllers[:0], libvirtxml.DomainController{Type: "scsi", Index: &p.ctrlIndex[0], Model: "virtio-scsi"})
	}
	if sata && n.Machine == "pc" { // q35 has AHCI built in
		if dev.Controllers == nil {
			dev.Controllers = p.controllers[:0]
		}
		dev.Controllers = append(dev.Controllers, libvirtxml.DomainController{Type: "sata", Index: &p.ctrlIndex[1]})
	}
	if len(n.NICs) > 0 {
		p.nics = grow(p.nics, len(n.NICs))
		p.nicParts = grow(p.nicParts, len(n.NICs))
		dev.Interfaces = p.nics
		parts := p.nicParts
		for i := range n.NICs {
			c, np, nic := &n.NICs[i], &parts[i], &dev.Interfaces[i]
			np.mac.Address = c.MAC
			np.model.Type = c.Model
			*nic = libvirtxml.DomainInterface{
				MAC:    &np.mac,
				Source: &np.source,
				Model:  &np.model,
			}
			if c.Network != "" {
				np.network.Network = c.Network
				np.source.Network = &np.network
			} else {
				np.bridge.Bridge = c.Bridge
				np.source.Bridge = &np.bridge
			}
			if c.ACPIIndex > 0 {
				np.acpi.Index = c.ACPIIndex
				nic.ACPI = &np.acpi
			}
			if c.BootOrder > 0 {
				np.boot.Order = c.BootOrder
				nic.Boot = &np.boot
			}
		}
	}
	if !n.NoConsole {
		p.serialSource.Pty = &p.serialPty
		p.serialTarget.Port = &p.serialPort
		p.serial[0] = libvirtxml.DomainSerial{Source: &p.serialSource, Target: &p.serialTarget}
		dev.Serials = p.serial[:]
		p.consoleSource.Pty = &p.consolePty
		p.consoleTarget = libvirtxml.DomainConsoleTarget{Type: "serial", Port: &p.consolePort}
		p.console[0] = libvirtxml.DomainConsole{Source: &p.consoleSource, Target: &p.consoleTarget}
		dev.Consoles = p.console[:]
	}
	if !n.NoGuestAgent {
		// No path: libvirt picks one under its own state directory.
		p.channelUNIX.Mode = "bind"
		p.channelSource.UNIX = &p.channelUNIX
		p.channelVirtIO.Name = "org.qemu.guest_agent.0"
		p.channelTarget.VirtIO = &p.channelVirtIO
		p.channel[0] = libvirtxml.DomainChannel{Source: &p.channelSource, Target: &p.channelTarget}
		dev.Channels = p.channel[:]
	}
	// Entropy speeds up first boot (Ignition, TLS) on TCG especially.
	p.rngRandom.Device = "/dev/urandom"
	p.rngBackend.Random = &p.rngRandom
	p.rng[0] = libvirtxml.DomainRNG{Model: "virtio", Backend: &p.rngBackend}
	dev.RNGs = p.rng[:]
	return d, nil
}
