package kvm

import (
	"slices"
	"strconv"
	"strings"

	"libvirt.org/go/libvirtxml"
)

// pciBus is one PCI bus of the domain: the root bus or the secondary bus of
// a bridge/port controller. In libvirt XML a controller's index is the name
// other devices use in their address's bus= attribute.
type pciBus struct {
	index    uint
	model    string
	parent   *pciBus
	addr     PCIAddress // the bridge's own address; Bus is the parent's index
	guest    uint       // bus number the firmware gives the secondary bus
	numbered bool
	hotplug  bool // <target hotplug='off'/> clears it
	children []*pciBus
	// slotState is the fate of each slot number (1–31) of a conventional
	// bridge in the kernel's slot registry, see registerSlots.
	slotState [32]slotFate
}

type slotFate uint8

const (
	slotNone      slotFate = iota // no slot directory / not a usable number
	slotUsable                    // /sys/bus/pci/slots/<N>
	slotRenamed                   // "<N>-2": another bus registered N first
	slotUncertain                 // depends on a device okvm does not model
)

// topology is the PCI layout of a domain, replayed the way the guest will
// see it.
type topology struct {
	machine        string
	q35            bool // PCIe root complex (pcie-root)
	acpi           bool
	acpiHotplugQ35 bool      // q35 machine ≥ 6.1: ACPI hotplug on root ports
	buses          []*pciBus // by controller index; nil: no such controller
	root           *pciBus
	// rootSlots: on pc, which root-bus slot numbers have an ACPI hotplug
	// slot (registered before any bridge's).
	rootSlots [32]slotFate
}

// Controller models that put a PCI bus behind them. Conventional bridges
// carry ACPI-hotplug slots numbered like the root bus's; PCIe ports have a
// single slot whose physical slot number libvirt leaves at 0.
func isConventionalBridge(model string) bool {
	return model == "pci-bridge" || model == "pcie-to-pci-bridge"
}

func isPCIePort(model string) bool {
	return model == "pcie-root-port" || model == "pcie-switch-downstream-port"
}

func isExpander(model string) bool {
	return model == "pci-expander-bus" || model == "pcie-expander-bus"
}

func buildTopology(dom *libvirtxml.Domain) *topology {
	t := &topology{}
	if dom.OS != nil && dom.OS.Type != nil {
		t.machine = dom.OS.Type.Machine
	}
	t.acpi = dom.Features != nil && dom.Features.ACPI != nil
	devs := dom.Devices

	// One allocation for all buses (+1 for an implicit root) and one
	// index; prediction runs per domain on hot paths (benchmarked).
	n := 1
	if devs != nil {
		for i := range devs.Controllers {
			if devs.Controllers[i].Type == "pci" {
				n++
			}
		}
	}
	all := make([]pciBus, 0, n)
	var root *pciBus
	if devs != nil {
		for i := range devs.Controllers {
			c := &devs.Controllers[i]
			if c.Type != "pci" || c.Index == nil {
				continue
			}
			b := pciBus{index: *c.Index, model: c.Model, hotplug: true}
			if c.PCI != nil && c.PCI.Target != nil && c.PCI.Target.Hotplug == "off" {
				b.hotplug = false
			}
			if a, ok := xmlPCIAddr(c.Address); ok {
				b.addr = a
			}
			all = append(all, b)
		}
	}
	// Controller indexes are dense and small (libvirt numbers them from 0;
	// the bus number space caps them at 255).
	maxIndex := uint(0)
	for i := range all {
		if all[i].index < 256 && all[i].index > maxIndex {
			maxIndex = all[i].index
		}
	}
	t.buses = make([]*pciBus, maxIndex+1)
	for i := range all {
		if all[i].index < 256 {
			t.buses[all[i].index] = &all[i]
		}
	}
	root = t.buses[0]
	if root == nil {
		// Hand-written XML without the implicit root controller: libvirt
		// would add pcie-root for q35, pci-root otherwise.
		m := "pci-root"
		if strings.Contains(t.machine, "q35") {
			m = "pcie-root"
		}
		all = append(all, pciBus{index: 0, model: m, hotplug: true})
		root = &all[len(all)-1]
		t.buses[0] = root
	}
	t.root = root
	t.q35 = root.model == "pcie-root"
	if v, ok := machineVersion(t.machine); ok && t.q35 {
		t.acpiHotplugQ35 = t.acpi && v >= 601
	}

	// Children of every bus, in (slot, function) order, as sub-slices of
	// one sorted array.
	kids := make([]*pciBus, 0, len(all))
	for i := range all {
		b := &all[i]
		if b == root {
			continue
		}
		if p := t.bus(b.addr.Bus); p != nil && p != b {
			b.parent = p
			kids = append(kids, b)
		}
	}
	slices.SortFunc(kids, func(x, y *pciBus) int {
		if x.parent.index != y.parent.index {
			return cmpUint(x.parent.index, y.parent.index)
		}
		if x.addr.Slot != y.addr.Slot {
			return cmpUint(x.addr.Slot, y.addr.Slot)
		}
		return cmpUint(x.addr.Function, y.addr.Function)
	})
	for i := 0; i < len(kids); {
		j := i + 1
		for j < len(kids) && kids[j].parent == kids[i].parent {
			j++
		}
		kids[i].parent.children = kids[i:j:j]
		i = j
	}
	next := uint(0)
	root.numbered = true
	t.number(root, &next)
	if !t.q35 {
		t.markRootSlots(devs)
	}
	taken := t.rootSlots
	t.registerSlots(root, &taken)
	return t
}

// bus returns the bus of controller index i, or nil.
func (t *topology) bus(i uint) *pciBus {
	if i >= uint(len(t.buses)) {
		return nil
	}
	return t.buses[i]
}

func cmpUint(a, b uint) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// number replays the firmware's bus enumeration (SeaBIOS
// pci_bios_init_bus_rec, same result under OVMF): depth-first from bus 0,
// bridges in ascending (slot, function), each secondary bus getting the next
// number before its own children are visited. Linux keeps these numbers.
func (t *topology) number(b *pciBus, next *uint) {
	for _, c := range b.children {
		if isExpander(c.model) {
			continue // a host bridge, not a PCI-PCI bridge: not walked
		}
		*next++
		c.guest = *next
		c.numbered = true
		t.number(c, next)
	}
}

// markRootSlots decides which pc root-bus slots QEMU describes as ACPI
// hotplug slots (the kernel registers them as /sys/bus/pci/slots/<N>
// before any bridge's). Slots 0 and 1 hold the host bridge and PIIX3, never
// hotpluggable; an empty slot is a hotplug slot; cold-plugged bridges are
// not; emulated NICs, virtio disks and other virtio devices are (observed in
// guests). Anything else — video, sound, USB, passthrough — might not be,
// so a bridge slot with the same number becomes "uncertain".
func (t *topology) markRootSlots(devs *libvirtxml.DomainDeviceList) {
	if !t.acpi || !t.root.hotplug {
		return // no ACPI hotplug on the root bus: no root slots
	}
	for s := 2; s < 32; s++ {
		t.rootSlots[s] = slotUsable
	}
	if devs == nil {
		return
	}
	mark := func(a *libvirtxml.DomainAddress, f slotFate) {
		if p, ok := xmlPCIAddr(a); ok && p.Bus == 0 && p.Slot < 32 && t.rootSlots[p.Slot] != slotNone {
			t.rootSlots[p.Slot] = f
		}
	}
	for i := range devs.Controllers {
		c := &devs.Controllers[i]
		switch {
		case c.Type == "pci":
			mark(c.Address, slotNone) // cold-plugged bridge: no slot
		case c.Type == "scsi" && c.Model == "virtio-scsi", c.Type == "virtio-serial":
			// hotpluggable virtio device: slot stays
		default:
			mark(c.Address, slotUncertain)
		}
	}
	for i := range devs.Videos {
		mark(devs.Videos[i].Address, slotUncertain)
	}
	for i := range devs.Sounds {
		mark(devs.Sounds[i].Address, slotUncertain)
	}
	for i := range devs.Hostdevs {
		mark(devs.Hostdevs[i].Address, slotUncertain)
	}
	for i := range devs.Shmems {
		mark(devs.Shmems[i].Address, slotUncertain)
	}
	for i := range devs.Watchdogs {
		mark(devs.Watchdogs[i].Address, slotUncertain)
	}
	for i := range devs.Disks {
		if d := &devs.Disks[i]; d.Target == nil || d.Target.Bus != "virtio" {
			mark(d.Address, slotUncertain)
		}
	}
}

// registerSlots replays the kernel's slot registry for conventional
// bridges: acpiphp registers each bridge's slots in bus-scan order, and a
// number already registered (by the pc root bus or an earlier bridge) gets a
// "-2" suffix (drivers/pci/slot.c) that net_id cannot parse. PCIe ports only
// ever register slot 0, which net_id ignores anyway. taken starts as the pc
// root bus's slots (usable and uncertain numbers count as taken).
func (t *topology) registerSlots(b *pciBus, taken *[32]slotFate) {
	if isConventionalBridge(b.model) && b.hotplug {
		for s := 1; s < 32; s++ {
			switch taken[s] {
			case slotNone:
				b.slotState[s] = slotUsable
			case slotUncertain:
				b.slotState[s] = slotUncertain
			default:
				b.slotState[s] = slotRenamed
			}
			taken[s] = slotUsable
		}
	}
	for _, c := range b.children {
		if !isExpander(c.model) {
			t.registerSlots(c, taken)
		}
	}
}

// underExpander reports whether b is, or descends from, an expander bus.
func (b *pciBus) underExpander() bool {
	for x := b; x != nil; x = x.parent {
		if isExpander(x.model) {
			return true
		}
	}
	return false
}

// pciAddr extracts a complete PCI address from a libvirt device address.
func xmlPCIAddr(a *libvirtxml.DomainAddress) (PCIAddress, bool) {
	if a == nil || a.PCI == nil || a.PCI.Bus == nil || a.PCI.Slot == nil || *a.PCI.Slot > 31 ||
		(a.PCI.Function != nil && *a.PCI.Function > 7) {
		return PCIAddress{}, false // none, or not one libvirt would accept
	}
	p := PCIAddress{Bus: *a.PCI.Bus, Slot: *a.PCI.Slot}
	if a.PCI.Domain != nil {
		p.Domain = *a.PCI.Domain
	}
	if a.PCI.Function != nil {
		p.Function = *a.PCI.Function
	}
	return p, true
}

// guestAddr translates an XML PCI address (bus = controller index) into
// the address the guest sees. ok is false with a reason when it cannot.
func (t *topology) guestAddr(a PCIAddress) (PCIAddress, *pciBus, *NotPredictableError) {
	b := t.bus(a.Bus)
	if b == nil {
		return PCIAddress{}, nil, notPredictable(ReasonUnknownBus,
			"address bus=%#02x names no <controller type='pci' index='%d'>", a.Bus, a.Bus)
	}
	if b.underExpander() || !b.numbered {
		return PCIAddress{}, b, notPredictable(ReasonExpanderBus,
			"controller index %d (%s) is behind a PCI expander bus", b.index, b.model)
	}
	g := a
	g.Bus = b.guest
	return g, b, nil
}

// machineVersion parses "pc-q35-7.2" / "pc-i440fx-6.1" into 702 / 601.
// Downstream names such as "pc-q35-rhel9.2.0" do not parse: okvm does not
// know which upstream behaviour they carry.
func machineVersion(m string) (int, bool) {
	i := strings.LastIndexByte(m, '-')
	if i < 0 {
		return 0, false
	}
	maj, min, ok := strings.Cut(m[i+1:], ".")
	if !ok {
		return 0, false
	}
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(min)
	if err1 != nil || err2 != nil || b > 99 {
		return 0, false
	}
	return a*100 + b, true
}
