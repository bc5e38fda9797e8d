package kvmtest

// The devices and controllers libvirt's QEMU driver adds at define time,
// in the order it adds them. Order matters: controllers are appended, and
// PCI addresses are then handed out in controller-list order, so an
// implicit USB controller appended before a SCSI controller gets the
// earlier slot.

import (
	"strings"

	"libvirt.org/go/libvirtxml"
)

// assignAddresses completes a parsed definition the way virDomainDefPostParse
// does for the QEMU driver, then assigns every address.
func assignAddresses(def *libvirtxml.Domain) error {
	sortDisks(def)
	assignControllerIndexes(def)
	if err := addDefaultDevices(def); err != nil {
		return err
	}
	devicePostParse(def)
	if err := assignDriveAddresses(def); err != nil {
		return err
	}
	addImplicitControllers(def)
	addImplicitDevices(def)
	if err := assignPCIAddresses(def); err != nil {
		return err
	}
	assignVirtioSerialPorts(def)
	return nil
}

func uptr(v uint) *uint { return &v }

// diskBus is the disk's bus, defaulted from the target name as the parser
// does.
func diskBus(d *libvirtxml.DomainDisk) string {
	if d.Target == nil {
		return ""
	}
	if d.Target.Bus != "" {
		return d.Target.Bus
	}
	switch {
	case strings.HasPrefix(d.Target.Dev, "vd"):
		return "virtio"
	case strings.HasPrefix(d.Target.Dev, "sd"):
		return "scsi"
	case strings.HasPrefix(d.Target.Dev, "hd"):
		return "ide"
	case strings.HasPrefix(d.Target.Dev, "fd"):
		return "fdc"
	}
	return ""
}

// sortDisks puts the disks in the order the parser stores them
// (virDomainDiskInsert): disks on one bus sorted by target name, buses in
// order of first appearance. Virtio disks get PCI slots in this order, so
// vda is before vdb whatever the XML says.
func sortDisks(def *libvirtxml.Domain) {
	idx := func(d *libvirtxml.DomainDisk) int {
		if d.Target == nil {
			return -1
		}
		i, ok := diskIndex(d.Target.Dev)
		if !ok {
			return -1
		}
		return i
	}
	var out []libvirtxml.DomainDisk
	for _, d := range def.Devices.Disks {
		at := -1
		for i := len(out) - 1; i >= 0; i-- {
			if diskBus(&out[i]) != diskBus(&d) {
				continue
			}
			if idx(&out[i]) > idx(&d) {
				at = i
			} else if at == -1 {
				at = i + 1
			}
		}
		if at < 0 || at >= len(out) {
			out = append(out, d)
			continue
		}
		out = append(out[:at], append([]libvirtxml.DomainDisk{d}, out[at:]...)...)
	}
	def.Devices.Disks = out
}

// assignControllerIndexes numbers controllers without an index, per type,
// before any default controller is considered (so <controller type='usb'
// model='none'/> is USB controller 0 and no default one is added).
func assignControllerIndexes(def *libvirtxml.Domain) {
	for i := range def.Devices.Controllers {
		c := &def.Devices.Controllers[i]
		if c.Index == nil {
			c.Index = uptr(nextControllerIndex(def, c.Type, c))
		}
	}
}

// addDefaultDevices is qemuDomainDefAddDefaultDevices for x86 pc/q35: the
// USB controller, q35's SATA controller, the PCI root and the balloon.
func addDefaultDevices(def *libvirtxml.Domain) error {
	dl := def.Devices
	if !knownMachine(def) {
		if dl.MemBalloon == nil {
			dl.MemBalloon = &libvirtxml.DomainMemBalloon{Model: "virtio"}
		}
		return nil
	}
	q35 := isQ35(def)
	if findController(def, "usb", 0) == nil {
		model := "piix3-uhci"
		if q35 {
			model = "qemu-xhci"
		}
		dl.Controllers = append(dl.Controllers, libvirtxml.DomainController{Type: "usb", Index: uptr(0), Model: model})
	}
	if q35 && findController(def, "sata", 0) == nil {
		dl.Controllers = append(dl.Controllers, libvirtxml.DomainController{Type: "sata", Index: uptr(0)})
	}
	root := modelPCIRoot
	if q35 {
		root = modelPCIeRoot
	}
	if c := findController(def, "pci", 0); c == nil {
		dl.Controllers = append(dl.Controllers, libvirtxml.DomainController{Type: "pci", Index: uptr(0), Model: root})
	} else if c.Model == "" {
		c.Model = root
	} else if c.Model != root {
		if q35 {
			return errConfigUnsupported("The PCI controller with index='0' must be model='pcie-root' for this machine type, but model='%s' was found instead", c.Model)
		}
		return errConfigUnsupported("The PCI controller with index='0' must be model='pci-root' for this machine type, but model='%s' was found instead", c.Model)
	}
	for _, c := range dl.Controllers {
		if c.Type == "pci" && u(c.Index) != 0 && (c.Model == modelPCIRoot || c.Model == modelPCIeRoot) {
			return errConfigUnsupported("pci-root and pcie-root controllers should have index 0")
		}
	}
	if dl.MemBalloon == nil {
		dl.MemBalloon = &libvirtxml.DomainMemBalloon{Model: "virtio"}
	}
	return nil
}

// devicePostParse fills per-device defaults (qemuDomainDeviceDefPostParse).
func devicePostParse(def *libvirtxml.Domain) {
	dl := def.Devices
	q35 := isQ35(def)
	for i := range dl.Controllers {
		c := &dl.Controllers[i]
		switch c.Type {
		case "usb":
			if c.Model == "" {
				if q35 {
					c.Model = "qemu-xhci"
				} else {
					c.Model = "piix3-uhci"
				}
			}
		case "scsi":
			if c.Model == "" {
				c.Model = "lsilogic"
			}
		}
	}
	for i := range dl.Interfaces {
		n := &dl.Interfaces[i]
		if n.Source != nil && n.Source.Hostdev != nil {
			continue
		}
		if n.Model == nil || n.Model.Type == "" {
			n.Model = &libvirtxml.DomainInterfaceModel{Type: "rtl8139"}
		}
	}
	for i := range dl.Consoles {
		if t := dl.Consoles[i].Target; t != nil && t.Type == "virtio" && t.Port == nil {
			t.Port = uptr(uint(i))
		}
	}
	for i := range dl.Videos {
		v := &dl.Videos[i]
		if v.Model.Type == "" {
			v.Model.Type = "cirrus"
		}
		videoDefaults(v, i == 0)
	}
}

func videoDefaults(v *libvirtxml.DomainVideo, primary bool) {
	switch v.Model.Type {
	case "cirrus", "vga", "vmvga":
		if v.Model.VRam == 0 {
			v.Model.VRam = 16384
		}
	}
	if v.Model.Heads == 0 && v.Model.Type != "none" {
		v.Model.Heads = 1
	}
	if primary && v.Model.Type != "none" {
		v.Model.Primary = "yes"
	}
}

func nextControllerIndex(def *libvirtxml.Domain, typ string, self *libvirtxml.DomainController) uint {
	var n uint
	for i := range def.Devices.Controllers {
		c := &def.Devices.Controllers[i]
		if c != self && c.Type == typ && c.Index != nil && *c.Index >= n {
			n = *c.Index + 1
		}
	}
	return n
}

// diskIndex is virDiskNameToIndex: "sda" → 0, "hdc" → 2, "vdaa" → 26.
func diskIndex(name string) (int, bool) {
	for _, p := range []string{"fd", "hd", "vd", "sd", "xvd", "ubd"} {
		if strings.HasPrefix(name, p) {
			name = name[len(p):]
			if name == "" {
				return 0, false
			}
			idx := 0
			for i, r := range name {
				if r < 'a' || r > 'z' {
					return 0, false
				}
				if i > 0 {
					idx = (idx + 1) * 26
				}
				idx += int(r - 'a')
			}
			return idx, true
		}
	}
	return 0, false
}

// assignDriveAddresses gives SCSI, SATA and IDE disks their drive address
// from the target name (virDomainDiskDefAssignAddress; QEMU's SCSI bus is
// wide: 15 units, unit 7 being the controller).
func assignDriveAddresses(def *libvirtxml.Domain) error {
	for i := range def.Devices.Disks {
		d := &def.Devices.Disks[i]
		if d.Target == nil || d.Address != nil {
			continue
		}
		bus := diskBus(d)
		d.Target.Bus = bus
		idx, ok := diskIndex(d.Target.Dev)
		if !ok {
			if bus == "virtio" {
				continue
			}
			return errXML("Unknown disk name '%s' and no address specified", d.Target.Dev)
		}
		var ctl, b, unit uint
		switch bus {
		case "scsi":
			ctl, unit = uint(idx/15), uint(idx%15)
			if unit >= 7 {
				unit++
			}
		case "sata":
			ctl, unit = uint(idx/6), uint(idx%6)
		case "ide":
			ctl, b, unit = uint(idx/4), uint(idx%4/2), uint(idx%2)
		case "fdc":
			ctl, unit = uint(idx/2), uint(idx%2)
		default:
			continue
		}
		d.Address = &libvirtxml.DomainAddress{Drive: &libvirtxml.DomainAddressDrive{Controller: uptr(ctl), Bus: uptr(b), Target: uptr(0), Unit: uptr(unit)}}
		if d.Device == "cdrom" && d.ReadOnly == nil {
			d.ReadOnly = &libvirtxml.DomainDiskReadOnly{}
		}
	}
	return nil
}

// addImplicitControllers adds the controllers disks and channels need
// (virDomainDefAddImplicitControllers: SCSI, FDC, IDE, SATA, virtio-serial).
func addImplicitControllers(def *libvirtxml.Domain) {
	for _, pair := range [][2]string{{"scsi", "scsi"}, {"fdc", "fdc"}, {"ide", "ide"}, {"sata", "sata"}} {
		max := -1
		for _, d := range def.Devices.Disks {
			if d.Target != nil && d.Target.Bus == pair[1] && d.Address != nil && d.Address.Drive != nil {
				if c := int(u(d.Address.Drive.Controller)); c > max {
					max = c
				}
			}
		}
		for i := 0; i <= max; i++ {
			if findController(def, pair[0], uint(i)) == nil {
				c := libvirtxml.DomainController{Type: pair[0], Index: uptr(uint(i))}
				if pair[0] == "scsi" {
					c.Model = "lsilogic"
				}
				def.Devices.Controllers = append(def.Devices.Controllers, c)
			}
		}
	}
	need := map[uint]bool{}
	for _, ch := range def.Devices.Channels {
		if ch.Target != nil && ch.Target.VirtIO != nil {
			idx := uint(0)
			if ch.Address != nil && ch.Address.VirtioSerial != nil {
				idx = u(ch.Address.VirtioSerial.Controller)
			}
			need[idx] = true
		}
	}
	for _, con := range def.Devices.Consoles {
		if con.Target != nil && con.Target.Type == "virtio" {
			idx := uint(0)
			if con.Address != nil && con.Address.VirtioSerial != nil {
				idx = u(con.Address.VirtioSerial.Controller)
			}
			need[idx] = true
		}
	}
	for idx := uint(0); idx < 32; idx++ {
		if need[idx] && findController(def, "virtio-serial", idx) == nil {
			def.Devices.Controllers = append(def.Devices.Controllers, libvirtxml.DomainController{Type: "virtio-serial", Index: uptr(idx)})
		}
	}
}

// addImplicitDevices adds the PS/2 input devices every x86 guest has, the
// audio backend, and a video card when there is a graphical console.
func addImplicitDevices(def *libvirtxml.Domain) {
	dl := def.Devices
	hasInput := func(typ string) bool {
		for _, in := range dl.Inputs {
			if in.Type == typ && in.Bus == "ps2" {
				return true
			}
		}
		return false
	}
	if !hasInput("mouse") {
		dl.Inputs = append(dl.Inputs, libvirtxml.DomainInput{Type: "mouse", Bus: "ps2"})
	}
	if !hasInput("keyboard") {
		dl.Inputs = append(dl.Inputs, libvirtxml.DomainInput{Type: "keyboard", Bus: "ps2"})
	}
	if len(dl.Audios) == 0 {
		dl.Audios = []libvirtxml.DomainAudio{{ID: 1, None: &libvirtxml.DomainAudioNone{}}}
	}
	if len(dl.Graphics) > 0 && len(dl.Videos) == 0 {
		v := libvirtxml.DomainVideo{Model: libvirtxml.DomainVideoModel{Type: "cirrus"}}
		videoDefaults(&v, true)
		dl.Videos = append(dl.Videos, v)
	}
}

// assignVirtioSerialPorts numbers virtio channels from port 1 on their
// controller, skipping ports already taken.
func assignVirtioSerialPorts(def *libvirtxml.Domain) {
	used := map[[2]uint]bool{}
	for _, ch := range def.Devices.Channels {
		if a := ch.Address; a != nil && a.VirtioSerial != nil && a.VirtioSerial.Port != nil {
			used[[2]uint{u(a.VirtioSerial.Controller), *a.VirtioSerial.Port}] = true
		}
	}
	for i := range def.Devices.Channels {
		ch := &def.Devices.Channels[i]
		if ch.Target == nil || ch.Target.VirtIO == nil {
			continue
		}
		if ch.Address != nil && ch.Address.VirtioSerial != nil && ch.Address.VirtioSerial.Port != nil {
			continue
		}
		ctl := uint(0)
		if ch.Address != nil && ch.Address.VirtioSerial != nil {
			ctl = u(ch.Address.VirtioSerial.Controller)
		}
		port := uint(1)
		for used[[2]uint{ctl, port}] {
			port++
		}
		used[[2]uint{ctl, port}] = true
		ch.Address = &libvirtxml.DomainAddress{VirtioSerial: &libvirtxml.DomainAddressVirtioSerial{Controller: uptr(ctl), Bus: uptr(0), Port: uptr(port)}}
	}
}
