package kvmtest

import "libvirt.org/go/libvirtxml"

// The devices of a definition that can sit on a PCI bus, and the kind of
// slot each needs (qemuDomainDeviceCalculatePCIConnectFlags).

// device is one addressable device of a definition, with the connect
// flags libvirt computes for it.
type device struct {
	kind  string // "disk", "controller", "interface", …
	ref   **libvirtxml.DomainAddress
	flags connFlags
	cont  *libvirtxml.DomainController
	video int // index in Videos, -1 otherwise
}

// deviceFlags computes connect flags (qemuDomainDeviceCalculatePCIConnectFlags).
type flagCtx struct{ pcie, virtio, pci connFlags }

func newFlagCtx(def *libvirtxml.Domain) flagCtx {
	pci := connPCIDevice | connAutoassign
	pcie := pci
	if hasPCIeRoot(def) {
		pcie = connPCIEDevice | connAutoassign
	}
	// QEMU 7.2 has virtio transitional devices, so virtio follows PCIe.
	return flagCtx{pcie: pcie, virtio: pcie, pci: pci}
}

func hasPCIeRoot(def *libvirtxml.Domain) bool {
	for _, c := range def.Devices.Controllers {
		if c.Type == "pci" && u(c.Index) == 0 && c.Model == modelPCIeRoot {
			return true
		}
	}
	return false
}

func hasPCIRoot(def *libvirtxml.Domain) bool {
	for _, c := range def.Devices.Controllers {
		if c.Type == "pci" && u(c.Index) == 0 && c.Model == modelPCIRoot {
			return true
		}
	}
	return false
}

func (fc flagCtx) controller(c *libvirtxml.DomainController) connFlags {
	switch c.Type {
	case "pci":
		return controllerConnectType(c.Model)
	case "sata", "ide":
		return fc.pci
	case "usb":
		switch c.Model {
		case "qemu-xhci", "nec-xhci":
			return fc.pcie
		case "none", "qusb1", "qusb2":
			return 0
		}
		return fc.pci
	case "scsi":
		switch c.Model {
		case "", "ncr53c90":
			return 0
		case "virtio-scsi", "virtio-non-transitional":
			return fc.virtio
		}
		return fc.pci
	case "virtio-serial":
		if c.Model == "virtio-transitional" {
			return fc.pci
		}
		return fc.virtio
	}
	return 0
}

func (fc flagCtx) nic(n *libvirtxml.DomainInterface) connFlags {
	if n.Source != nil && n.Source.Hostdev != nil {
		return 0
	}
	model := ""
	if n.Model != nil {
		model = n.Model.Type
	}
	switch model {
	case "usb-net":
		return 0
	case "virtio", "virtio-non-transitional":
		return fc.virtio
	case "virtio-transitional":
		return fc.pci
	case "e1000e", "igb", "":
		return fc.pcie
	}
	return fc.pci
}

func virtioModel(model string, fc flagCtx) connFlags {
	if model == "virtio-transitional" {
		return fc.pci
	}
	return fc.virtio
}

// devices lists the addressable devices in virDomainDeviceInfoIterate's
// order (used for collecting configured addresses and multifunction).
func devices(def *libvirtxml.Domain) []device {
	fc := newFlagCtx(def)
	dl := def.Devices
	var out []device
	add := func(kind string, ref **libvirtxml.DomainAddress, flags connFlags) {
		out = append(out, device{kind: kind, ref: ref, flags: flags, video: -1})
	}
	for i := range dl.Disks {
		d := &dl.Disks[i]
		var fl connFlags
		if d.Target != nil && d.Target.Bus == "virtio" {
			fl = virtioModel(d.Model, fc)
		}
		add("disk", &d.Address, fl)
	}
	for i := range dl.Interfaces {
		add("interface", &dl.Interfaces[i].Address, fc.nic(&dl.Interfaces[i]))
	}
	for i := range dl.Sounds {
		var fl connFlags
		switch dl.Sounds[i].Model {
		case "es1370", "ac97", "ich6", "ich9":
			fl = fc.pci
		}
		add("sound", &dl.Sounds[i].Address, fl)
	}
	for i := range dl.Hostdevs {
		var fl connFlags
		if h := dl.Hostdevs[i].SubsysPCI; h != nil {
			fl = fc.pcie
		}
		add("hostdev", &dl.Hostdevs[i].Address, fl)
	}
	for i := range dl.Videos {
		var fl connFlags
		switch dl.Videos[i].Model.Type {
		case "virtio":
			fl = fc.virtio
		case "vga", "cirrus", "vmvga", "xen", "vbox", "qxl", "parallels":
			fl = fc.pci
		case "bochs":
			fl = fc.pcie
		}
		out = append(out, device{kind: "video", ref: &dl.Videos[i].Address, flags: fl, video: i})
	}
	for i := range dl.Controllers {
		c := &dl.Controllers[i]
		out = append(out, device{kind: "controller", ref: &c.Address, flags: fc.controller(c), cont: c, video: -1})
	}
	for i := range dl.Serials {
		var fl connFlags
		if t := dl.Serials[i].Target; t != nil && t.Type == "pci-serial" {
			fl = fc.pci
		}
		add("serial", &dl.Serials[i].Address, fl)
	}
	for i := range dl.Channels {
		add("channel", &dl.Channels[i].Address, 0)
	}
	for i := range dl.Consoles {
		add("console", &dl.Consoles[i].Address, 0)
	}
	for i := range dl.Inputs {
		var fl connFlags
		if dl.Inputs[i].Bus == "virtio" {
			fl = virtioModel(dl.Inputs[i].Model, fc)
		}
		add("input", &dl.Inputs[i].Address, fl)
	}
	for i := range dl.Filesystems {
		add("filesystem", &dl.Filesystems[i].Address, fc.virtio)
	}
	for i := range dl.Watchdogs {
		var fl connFlags
		if dl.Watchdogs[i].Model == "i6300esb" {
			fl = fc.pci
		}
		add("watchdog", &dl.Watchdogs[i].Address, fl)
	}
	if b := dl.MemBalloon; b != nil {
		var fl connFlags
		switch b.Model {
		case "virtio", "virtio-non-transitional":
			fl = fc.virtio
		case "virtio-transitional":
			fl = fc.pci
		}
		add("memballoon", &b.Address, fl)
	}
	for i := range dl.Shmems {
		add("shmem", &dl.Shmems[i].Address, fc.pci)
	}
	for i := range dl.RNGs {
		add("rng", &dl.RNGs[i].Address, virtioModel(dl.RNGs[i].Model, fc))
	}
	for i := range dl.Panics {
		var fl connFlags
		if dl.Panics[i].Model == "pvpanic" {
			fl = fc.pci | connIntegrated
		}
		add("panic", &dl.Panics[i].Address, fl)
	}
	if v := dl.VSock; v != nil {
		add("vsock", &v.Address, virtioModel(v.Model, fc))
	}
	for i := range dl.Crypto {
		add("crypto", &dl.Crypto[i].Address, fc.pci)
	}
	return out
}
