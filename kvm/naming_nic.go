package kvm

import (
	"strconv"
	"strings"

	"libvirt.org/go/libvirtxml"
)

// kernelArgs are the naming-related arguments of a direct-kernel-boot
// <cmdline>: the guest's udev reads them from /proc/cmdline.
type kernelArgs struct {
	scheme     string // net.naming-scheme=
	ifnamesOff bool   // net.ifnames=0
}

func parseKernelArgs(dom *libvirtxml.Domain) kernelArgs {
	var k kernelArgs
	if dom.OS == nil {
		return k
	}
	for f := range strings.FieldsSeq(dom.OS.Cmdline) {
		switch {
		case strings.HasPrefix(f, "net.naming-scheme="):
			k.scheme = strings.TrimPrefix(f, "net.naming-scheme=")
		case f == "net.ifnames=0":
			k.ifnamesOff = true
		}
	}
	return k
}

func predictNICs(dom *libvirtxml.Domain, t *topology, flags namingFlags, k kernelArgs) []NICPrediction {
	if dom.Devices == nil || len(dom.Devices.Interfaces) == 0 {
		return nil
	}
	out := make([]NICPrediction, len(dom.Devices.Interfaces))
	for i := range dom.Devices.Interfaces {
		predictNIC(&out[i], &dom.Devices.Interfaces[i], t, flags)
		if k.ifnamesOff && out[i].NotPredictable == nil {
			out[i].Name, out[i].Rule = "", ""
			out[i].NotPredictable = notPredictable(ReasonIfnamesDisabled,
				"net.ifnames=0 in <cmdline>: the kernel's ethN names follow probe order")
		}
	}
	markCollisions(out)
	return out
}

func predictNIC(p *NICPrediction, nic *libvirtxml.DomainInterface, t *topology, flags namingFlags) {
	if nic.MAC != nil {
		p.MAC = strings.ToLower(nic.MAC.Address)
		p.Candidates.MAC = macName(p.MAC)
	}
	if nic.Model != nil {
		p.Model = nic.Model.Type
	}
	if nic.Source != nil && (nic.Source.Hostdev != nil || nic.Source.VDPA != nil) {
		p.NotPredictable = notPredictable(ReasonNotPCINIC,
			"interface %s is a passed-through or vDPA device: its driver decides the name", p.MAC)
		return
	}
	xa, ok := xmlPCIAddr(nic.Address)
	if !ok {
		p.NotPredictable = notPredictable(ReasonNoPCIAddress,
			"interface %s has no PCI <address>; predict from the XML libvirt returns after define", p.MAC)
		return
	}
	p.XMLAddress = &xa
	ga, bus, np := t.guestAddr(xa)
	if np != nil {
		p.NotPredictable = np
		return
	}
	p.GuestPCI = &ga
	ev := &p.Evidence
	ev.Multifunction = nic.Address.PCI.MultiFunction == "on"

	// Step 2: what QEMU's ACPI and the kernel expose for this function.
	idx := uint(0)
	if nic.ACPI != nil {
		idx = nic.ACPI.Index
	}
	switch {
	case bus == t.root && !t.q35:
		// pc root bus: ACPI PCI hotplug gives each slot _SUN = slot and
		// a /sys/bus/pci/slots/<slot> entry; <acpi index> works here.
		if t.acpi && bus.hotplug {
			if t.rootSlots[xa.Slot] == slotUncertain {
				p.NotPredictable = notPredictable(ReasonSlotHotplugUnknown,
					"interface %s shares root-bus slot %d with a device whose hotplug support okvm does not model", p.MAC, xa.Slot)
				return
			}
			ev.Sun = sunOf(xa)
			if t.rootSlots[xa.Slot] == slotUsable {
				ev.Slot = xa.Slot
			}
			ev.ACPIIndex = idx
		} else if idx > 0 {
			p.NotPredictable = notPredictable(ReasonACPIIndexUnverified,
				"<acpi index='%d'/> on a pc root bus without ACPI hotplug", idx)
			return
		}
	case bus == t.root:
		// q35 pcie.0: no hotplug, no slot, no _SUN.
		if idx > 0 {
			p.NotPredictable = notPredictable(ReasonACPIIndexUnverified,
				"<acpi index='%d'/> on a device on pcie.0 (not hot-pluggable): QEMU support varies by version", idx)
			return
		}
	case isPCIePort(bus.model):
		// Root/downstream ports: one slot, physical slot number 0 (libvirt
		// never sets QEMU's slot=), _SUN 0: net_id ignores both.
		if idx > 0 {
			if bus.model != "pcie-root-port" || !t.acpiHotplugQ35 || !bus.hotplug {
				p.NotPredictable = notPredictable(ReasonACPIIndexUnverified,
					"<acpi index='%d'/> behind %s (index %d) on machine %q: needs a pcie-root-port with ACPI hotplug (QEMU ≥ 6.1 machine types)",
					idx, bus.model, bus.index, t.machine)
				return
			}
			ev.ACPIIndex = idx
		}
	case isConventionalBridge(bus.model):
		if idx > 0 {
			// pc: QEMU's ACPI bridge hotplug (on by default) carries the
			// index behind a pci-bridge (observed: eno9). q35's
			// pcie-to-pci-bridge has not been checked.
			if t.q35 || !t.acpi || !bus.hotplug {
				p.NotPredictable = notPredictable(ReasonACPIIndexUnverified,
					"<acpi index='%d'/> behind %s (index %d) on machine %q: only verified behind a pc pci-bridge with ACPI hotplug",
					idx, bus.model, bus.index, t.machine)
				return
			}
			ev.ACPIIndex = idx
		}
		if !t.acpi || !bus.hotplug || (t.q35 && !t.acpiHotplugQ35) {
			p.NotPredictable = notPredictable(ReasonSlotHotplugUnknown,
				"interface %s is behind %s (index %d) without ACPI hotplug: slot naming then comes from SHPC, not modelled",
				p.MAC, bus.model, bus.index)
			return
		}
		ev.Sun = sunOf(xa)
		switch bus.slotState[xa.Slot] {
		case slotUsable:
			ev.Slot = xa.Slot
		case slotUncertain:
			p.NotPredictable = notPredictable(ReasonSlotHotplugUnknown,
				"interface %s is in slot %d of %s (index %d); the kernel names that slot %d or %d-2 depending on whether the device in root-bus slot %d is hot-pluggable",
				p.MAC, xa.Slot, bus.model, bus.index, xa.Slot, xa.Slot, xa.Slot)
			return
		}
		if flags&flagFirmwareNodeSun != 0 && ev.Multifunction && ev.Sun == 0 {
			p.NotPredictable = notPredictable(ReasonSlotHotplugUnknown,
				"multifunction interface %s behind %s: scheme reads the bridge's _SUN, not modelled", p.MAC, bus.model)
			return
		}
	default:
		p.NotPredictable = notPredictable(ReasonSlotHotplugUnknown,
			"interface %s sits directly on a %s (index %d), a layout okvm has not verified", p.MAC, bus.model, bus.index)
		return
	}

	// Step 3: net_id and NamePolicy=onboard slot path.
	p.Candidates.Onboard = onboardName(ev.ACPIIndex, flags)
	p.Candidates.Slot = slotName(ga, ev, flags)
	p.Candidates.Path = pathName(ga, ev.Multifunction)
	switch {
	case p.Candidates.Onboard != "":
		p.Name, p.Rule = p.Candidates.Onboard, RuleOnboard
	case p.Candidates.Slot != "":
		p.Name, p.Rule = p.Candidates.Slot, RuleSlot
	default:
		p.Name, p.Rule = p.Candidates.Path, RulePath
	}
}

// sunOf is the firmware_node/sun a function in an ACPI hotplug slot shows:
// QEMU describes only function 0 of a slot with _SUN (observed: 00:05.1
// has none), so other functions fall back to the slots directory.
func sunOf(a PCIAddress) uint {
	if a.Function != 0 {
		return 0
	}
	return a.Slot
}

// onboardName is ID_NET_NAME_ONBOARD: "eno<index>" from acpi_index.
func onboardName(idx uint, flags namingFlags) string {
	// An index of 0 is never exposed by QEMU (libvirt rejects it), so
	// flagZeroACPIIndex cannot matter here.
	if idx == 0 {
		return ""
	}
	limit := uint(1<<14 - 1)
	if flags&flag16BitIndex != 0 {
		limit = 1<<16 - 1
	}
	if idx > limit {
		return ""
	}
	return "eno" + strconv.FormatUint(uint64(idx), 10)
}

// slotName is ID_NET_NAME_SLOT: "ens<slot>[f<fn>]".
func slotName(a PCIAddress, ev *NICEvidence, flags namingFlags) string {
	slot := uint(0)
	if flags&flagFirmwareNodeSun != 0 && ev.Sun > 0 {
		slot = ev.Sun
	} else {
		// The slots-directory walk. In libvirt layouts every bridge is
		// cold-plugged and so owns no hotplug slot itself: the walk can
		// only match the NIC's own slot, which is why v247's
		// BRIDGE_NO_SLOT and v251's multifunction exception never change
		// a QEMU NIC's name.
		slot = ev.Slot
	}
	if slot == 0 {
		return ""
	}
	b := make([]byte, 0, 16)
	b = append(b, "en"...)
	b = appendDomain(b, a.Domain)
	b = append(b, 's')
	b = strconv.AppendUint(b, uint64(slot), 10)
	b = appendFunc(b, a.Function, ev.Multifunction)
	return string(b)
}

// pathName is ID_NET_NAME_PATH: "en[P<domain>]p<bus>s<slot>[f<fn>]",
// decimal.
func pathName(a PCIAddress, multifunction bool) string {
	b := make([]byte, 0, 16)
	b = append(b, "en"...)
	b = appendDomain(b, a.Domain)
	b = append(b, 'p')
	b = strconv.AppendUint(b, uint64(a.Bus), 10)
	b = append(b, 's')
	b = strconv.AppendUint(b, uint64(a.Slot), 10)
	b = appendFunc(b, a.Function, multifunction)
	return string(b)
}

func appendDomain(b []byte, d uint) []byte {
	if d == 0 {
		return b
	}
	b = append(b, 'P')
	return strconv.AppendUint(b, uint64(d), 10)
}

// appendFunc adds "f<fn>" when the function is not 0 or the device's header
// has the multifunction bit (libvirt's multifunction='on').
func appendFunc(b []byte, fn uint, multifunction bool) []byte {
	if fn == 0 && !multifunction {
		return b
	}
	b = append(b, 'f')
	return strconv.AppendUint(b, uint64(fn), 10)
}

// macName is ID_NET_NAME_MAC: "enx" + the MAC's hex digits.
func macName(mac string) string {
	if len(mac) != 17 {
		return ""
	}
	var b [15]byte
	copy(b[:], "enx")
	n := 3
	for i := 0; i < len(mac); i++ {
		if mac[i] != ':' {
			if n == len(b) {
				return ""
			}
			b[n] = mac[i]
			n++
		}
	}
	return string(b[:n])
}

// markCollisions withdraws names two NICs would share: udev renames the
// first NIC it processes and the other keeps its ethN name, a race.
func markCollisions(nics []NICPrediction) {
	for i := range nics {
		for j := i + 1; j < len(nics); j++ {
			if nics[i].Name == "" || nics[i].Name != nics[j].Name {
				continue
			}
			name := nics[i].Name
			for _, k := range []int{i, j} {
				nics[k].NotPredictable = notPredictable(ReasonNameCollision,
					"interfaces %s and %s would both be named %s", nics[i].MAC, nics[j].MAC, name)
			}
		}
	}
	for i := range nics {
		if nics[i].NotPredictable != nil {
			nics[i].Name, nics[i].Rule = "", ""
		}
	}
}
