package kvmtest

import "libvirt.org/go/libvirtxml"

// The two passes of qemuDomainAssignPCIAddresses over a definition, in
// libvirt's device order.

// assignSlots is qemuDomainAssignDevicePCISlots: libvirt's device order.
func assignSlots(def *libvirtxml.Domain, s *addrSet) error {
	devs := devices(def)
	flagsOf := func(ref **libvirtxml.DomainAddress) connFlags {
		for _, d := range devs {
			if d.ref == ref {
				return d.flags
			}
		}
		return 0
	}
	next := func(ref **libvirtxml.DomainAddress) error {
		if !pciWanted(*ref) {
			return nil
		}
		fl := flagsOf(ref)
		if fl == 0 {
			return nil
		}
		return s.reserveNext(ref, fl)
	}
	dl := def.Devices
	for i := range dl.Controllers {
		c := &dl.Controllers[i]
		if c.Type != "pci" || c.Model == modelPCIRoot || c.Model == modelPCIeRoot {
			continue
		}
		if err := next(&c.Address); err != nil {
			return err
		}
	}
	for i := range dl.Filesystems {
		if err := next(&dl.Filesystems[i].Address); err != nil {
			return err
		}
	}
	for i := range dl.Interfaces {
		if err := next(&dl.Interfaces[i].Address); err != nil {
			return err
		}
	}
	for i := range dl.Sounds {
		switch dl.Sounds[i].Model {
		case "sb16", "pcspk", "usb":
			continue
		}
		if err := next(&dl.Sounds[i].Address); err != nil {
			return err
		}
	}
	for i := range dl.Controllers {
		c := &dl.Controllers[i]
		switch {
		case c.Type == "pci", c.Type == "fdc", c.Type == "ccid":
			continue
		case c.Type == "usb" && c.Model == "none":
			continue
		case c.Type == "ide" && u(c.Index) == 0:
			continue
		case c.Type == "scsi" && c.Model == "ncr53c90":
			continue
		}
		if err := next(&c.Address); err != nil {
			return err
		}
	}
	for i := range dl.Disks {
		d := &dl.Disks[i]
		if d.Target == nil || d.Target.Bus != "virtio" || pciPresent(d.Address) {
			continue
		}
		if !pciWanted(d.Address) {
			return errConfigUnsupported("virtio disk cannot have an address of type '%s'", addressType(d.Address))
		}
		if err := next(&d.Address); err != nil {
			return err
		}
	}
	for i := range dl.Hostdevs {
		if dl.Hostdevs[i].SubsysPCI == nil {
			continue
		}
		if err := next(&dl.Hostdevs[i].Address); err != nil {
			return err
		}
	}
	if dl.MemBalloon != nil {
		if err := next(&dl.MemBalloon.Address); err != nil {
			return err
		}
	}
	for i := range dl.RNGs {
		if err := next(&dl.RNGs[i].Address); err != nil {
			return err
		}
	}
	for i := range dl.Watchdogs {
		if err := next(&dl.Watchdogs[i].Address); err != nil {
			return err
		}
	}
	for i := range dl.Videos {
		if err := next(&dl.Videos[i].Address); err != nil {
			return err
		}
	}
	for i := range dl.Shmems {
		if err := next(&dl.Shmems[i].Address); err != nil {
			return err
		}
	}
	for i := range dl.Inputs {
		if dl.Inputs[i].Bus != "virtio" {
			continue
		}
		if err := next(&dl.Inputs[i].Address); err != nil {
			return err
		}
	}
	for i := range dl.Serials {
		if err := next(&dl.Serials[i].Address); err != nil {
			return err
		}
	}
	if dl.VSock != nil {
		if err := next(&dl.VSock.Address); err != nil {
			return err
		}
	}
	for i := range dl.Crypto {
		if err := next(&dl.Crypto[i].Address); err != nil {
			return err
		}
	}
	for i := range dl.Panics {
		if err := next(&dl.Panics[i].Address); err != nil {
			return err
		}
	}
	return nil
}

func addressType(a *libvirtxml.DomainAddress) string {
	switch {
	case a == nil:
		return "none"
	case a.Drive != nil:
		return "drive"
	case a.VirtioSerial != nil:
		return "virtio-serial"
	case a.USB != nil:
		return "usb"
	case a.CCW != nil:
		return "ccw"
	case a.VirtioMMIO != nil:
		return "virtio-mmio"
	case a.ISA != nil:
		return "isa"
	}
	return "pci"
}

// assignPCIAddresses is qemuDomainAssignPCIAddresses.
func assignPCIAddresses(def *libvirtxml.Domain) error {
	maxIdx := -1
	for _, c := range def.Devices.Controllers {
		if c.Type == "pci" && int(u(c.Index)) > maxIdx {
			maxIdx = int(u(c.Index))
		}
	}
	nbuses := maxIdx + 1
	if nbuses > 0 {
		s, err := newAddrSet(def, nbuses, true)
		if err != nil {
			return err
		}
		if err := validateChipset(def, s); err != nil {
			return err
		}
		if hasPCIRoot(def) {
			full := true
			for _, b := range s.buses {
				if !b.fullyReserved() {
					full = false
					break
				}
			}
			if !full {
				if err := s.reserveNext(nil, connAutoassign|connPCIDevice); err != nil {
					return err
				}
			}
		}
		if err := assignSlots(def, s); err != nil {
			return err
		}
		if maxIdx <= 0 && len(s.buses) > maxIdx+1 && hasPCIeRoot(def) {
			// One spare pcie-root-port for hotplug, on new q35 domains
			// whose PCI topology libvirt manages.
			if err := s.reserveNext(nil, connAutoassign|connPCIEDevice); err != nil {
				return err
			}
		}
		for i := 1; i < len(s.buses); i++ {
			if findController(def, "pci", uint(i)) != nil {
				continue
			}
			idx := uint(i)
			model := s.buses[i].model
			def.Devices.Controllers = append(def.Devices.Controllers, libvirtxml.DomainController{Type: "pci", Index: &idx, Model: model})
			if model != modelPCIRoot && model != modelPCIeRoot {
				if err := s.reserveNext(nil, controllerConnectType(model)); err != nil {
					return err
				}
			}
		}
		nbuses = len(s.buses)
	}
	s, err := newAddrSet(def, nbuses, false)
	if err != nil {
		return err
	}
	if err := validateChipset(def, s); err != nil {
		return err
	}
	if err := assignSlots(def, s); err != nil {
		return err
	}
	setAllMulti(def)
	for i := range def.Devices.Controllers {
		c := &def.Devices.Controllers[i]
		if c.Type != "pci" {
			continue
		}
		name, ok := pciModelName[c.Model]
		if !ok {
			continue
		}
		if c.PCI == nil {
			c.PCI = &libvirtxml.DomainControllerPCI{}
		}
		if c.PCI.Model == nil {
			c.PCI.Model = &libvirtxml.DomainControllerPCIModel{Name: name}
		}
		idx := u(c.Index)
		switch c.Model {
		case modelPCIBridge:
			if c.PCI.Target == nil {
				c.PCI.Target = &libvirtxml.DomainControllerPCITarget{}
			}
			if c.PCI.Target.ChassisNr == nil {
				c.PCI.Target.ChassisNr = &idx
			}
		case modelPCIeRootPort, modelSwitchDown:
			if c.PCI.Target == nil {
				c.PCI.Target = &libvirtxml.DomainControllerPCITarget{}
			}
			if c.PCI.Target.Chassis == nil {
				c.PCI.Target.Chassis = &idx
			}
			if c.PCI.Target.Port == nil && c.Address != nil && c.Address.PCI != nil {
				port := u(c.Address.PCI.Slot)
				if c.Model == modelPCIeRootPort {
					port = port<<3 + u(c.Address.PCI.Function)
				}
				c.PCI.Target.Port = &port
			}
		}
	}
	return nil
}

func findController(def *libvirtxml.Domain, typ string, idx uint) *libvirtxml.DomainController {
	for i := range def.Devices.Controllers {
		c := &def.Devices.Controllers[i]
		if c.Type == typ && c.Index != nil && *c.Index == idx {
			return c
		}
	}
	return nil
}

// setAllMulti marks function 0 multifunction='on' on every slot with more
// than one function in use, unless the config says otherwise.
func setAllMulti(def *libvirtxml.Domain) {
	devs := devices(def)
	used := map[pciAddr]bool{}
	for _, d := range devs {
		if a := *d.ref; a != nil && a.PCI != nil && u(a.PCI.Function) != 0 {
			pa := toAddr(a)
			pa.function = 0
			used[pa] = true
		}
	}
	for _, d := range devs {
		a := *d.ref
		if a == nil || a.PCI == nil || u(a.PCI.Function) != 0 {
			continue
		}
		if used[toAddr(a)] && a.PCI.MultiFunction == "" {
			a.PCI.MultiFunction = "on"
		}
	}
}
