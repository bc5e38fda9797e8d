package kvmtest

import "libvirt.org/go/libvirtxml"

// What the chipset itself occupies: PIIX3 at 00:01.x on pc, the ICH9
// functions at 00:1f.x on q35, and the slot of the primary video card.

// validateChipset reserves the chipset's integrated devices and places
// the primary video card (qemuDomainValidateDevicePCISlotsPIIX3/Q35).
func validateChipset(def *libvirtxml.Domain, s *addrSet) error {
	if isQ35(def) {
		return validateQ35(def, s)
	}
	return validatePIIX3(def, s)
}

func validatePIIX3(def *libvirtxml.Domain, s *addrSet) error {
	flags := connAutoassign | connPCIDevice
	for i := range def.Devices.Controllers {
		c := &def.Devices.Controllers[i]
		var want pciAddr
		switch {
		case c.Type == "ide" && u(c.Index) == 0:
			want = pciAddr{0, 0, 1, 1}
			if pciPresent(c.Address) {
				if toAddr(c.Address) != want {
					return errInternal("Primary IDE controller must have PCI address 0:0:1.1")
				}
			} else {
				c.Address = pciAddress(want, "")
			}
		case c.Type == "usb" && u(c.Index) == 0 && (c.Model == "piix3-uhci" || c.Model == ""):
			want = pciAddr{0, 0, 1, 2}
			if pciPresent(c.Address) {
				if toAddr(c.Address) != want {
					return errInternal("PIIX3 USB controller at index 0 must have PCI address 0:0:1.2")
				}
			} else {
				c.Address = pciAddress(want, "")
			}
		default:
			continue
		}
		if len(s.buses) > 0 {
			if err := s.reserve(want, flags, true); err != nil {
				return err
			}
		}
	}
	if len(s.buses) > 0 {
		if err := s.reserve(pciAddr{0, 0, 1, 0}, flags, true); err != nil {
			return err
		}
		if err := s.reserve(pciAddr{0, 0, 1, 3}, flags, true); err != nil {
			return err
		}
	}
	return placePrimaryVideo(def, s, 2, flags)
}

func placePrimaryVideo(def *libvirtxml.Domain, s *addrSet, slot uint, flags connFlags) error {
	if len(def.Devices.Videos) == 0 {
		return nil
	}
	v := &def.Devices.Videos[0]
	if v.Model.Type == "none" || v.Model.Type == "ramfb" || !pciWanted(v.Address) {
		return nil
	}
	a := pciAddr{0, 0, slot, 0}
	if err := s.validate(a, flags, true); err != nil {
		return err
	}
	if s.slotInUse(a) {
		fl := videoFlags(def, v)
		return s.reserveNext(&v.Address, fl)
	}
	if err := s.reserve(a, flags, true); err != nil {
		return err
	}
	v.Address = pciAddress(a, "")
	return nil
}

func videoFlags(def *libvirtxml.Domain, v *libvirtxml.DomainVideo) connFlags {
	for _, d := range devices(def) {
		if d.kind == "video" && d.ref == &v.Address {
			return d.flags
		}
	}
	return connPCIDevice | connAutoassign
}

func validateQ35(def *libvirtxml.Domain, s *addrSet) error {
	flags := connPCIEDevice
	for i := range def.Devices.Controllers {
		c := &def.Devices.Controllers[i]
		switch {
		case c.Type == "sata" && u(c.Index) == 0:
			want := pciAddr{0, 0, 0x1f, 2}
			if pciPresent(c.Address) {
				if toAddr(c.Address) != want {
					return errInternal("Primary SATA controller must have PCI address 0:0:1f.2")
				}
			} else {
				c.Address = pciAddress(want, "")
			}
		case c.Type == "pci" && c.Model == modelDMIToPCIBridge && c.Address == nil:
			a := pciAddr{0, 0, 0x1e, 0}
			if !s.slotInUse(a) {
				if err := s.reserve(a, flags, true); err != nil {
					return err
				}
				c.Address = pciAddress(a, "")
			}
		}
	}
	if len(s.buses) > 0 {
		if err := s.reserve(pciAddr{0, 0, 0x1f, 0}, flags, true); err != nil {
			return err
		}
		if err := s.reserve(pciAddr{0, 0, 0x1f, 3}, flags, true); err != nil {
			return err
		}
	}
	if err := placePrimaryVideo(def, s, 1, flags); err != nil {
		return err
	}
	a := pciAddr{0, 0, 0x1b, 0}
	if !s.slotInUse(a) {
		for i := range def.Devices.Sounds {
			snd := &def.Devices.Sounds[i]
			if snd.Model != "ich9" || !pciWanted(snd.Address) {
				continue
			}
			if err := s.reserve(a, flags, true); err != nil {
				return err
			}
			snd.Address = pciAddress(a, "")
			break
		}
	}
	return nil
}
