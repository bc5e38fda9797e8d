package kvmtest

// PCI address assignment, the way libvirt 9.0's QEMU driver does it at
// define time (src/qemu/qemu_domain_address.c, src/conf/domain_addr.c).
// kvm predicts guest NIC names from these addresses, so the fake must not
// merely produce plausible addresses: it must produce libvirt's. The
// conformance suite compares them with a real libvirtd for a set of
// layouts; the model below follows libvirt's structure so that differences
// can be traced to one step:
//
//   1. Every device gets connect flags: what kind of slot it needs (a
//      conventional PCI slot, a PCIe slot, a pcie-root-port's upstream…).
//      On q35, virtio devices and xHCI want PCIe; e1000, rtl8139 and
//      lsilogic want conventional PCI.
//   2. A dry run assigns every device without an address, growing the set
//      of buses whenever nothing fits: PCIe devices get a new
//      pcie-root-port, conventional ones a pcie-root-port plus a
//      pcie-to-pci-bridge (q35) or a pci-bridge (pc). New q35 domains
//      without explicit PCI controllers get one spare root port. The
//      controllers for the new buses are appended to the definition.
//   3. The real pass assigns addresses in libvirt's device order: PCI
//      controllers, filesystems, interfaces, sound, other controllers,
//      virtio disks, hostdevs, memballoon, RNG, watchdog, videos, shmem,
//      virtio input, PCI serial, vsock, memory, crypto, panic.
//      Root ports auto-added share a slot as functions ("aggregate"),
//      function 0 then gets multifunction='on'.
//   4. Root ports get chassis=index and port=(slot<<3)+function.

import (
	"fmt"

	libvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"
)

type connFlags uint32

const (
	connPCIDevice connFlags = 1 << iota
	connPCIEDevice
	connPCIERootPort
	connSwitchUpstream
	connSwitchDownstream
	connDMIToPCIBridge
	connPCIEToPCIBridge
	connPCIExpanderBus
	connPCIEExpanderBus
	connPCIBridge
	connHotplug
	connAutoassign
	connAggregate
	connIntegrated

	connTypesMask   = connPCIDevice | connPCIEDevice | connPCIERootPort | connSwitchUpstream | connSwitchDownstream | connDMIToPCIBridge | connPCIEToPCIBridge | connPCIExpanderBus | connPCIEExpanderBus | connPCIBridge
	connEndpoint    = connPCIDevice | connPCIEDevice
	pciSlotLast     = 31
	pciFunctionLast = 7
)

// PCI controller models, as libvirt spells them in XML.
const (
	modelPCIRoot         = "pci-root"
	modelPCIeRoot        = "pcie-root"
	modelPCIBridge       = "pci-bridge"
	modelDMIToPCIBridge  = "dmi-to-pci-bridge"
	modelPCIeToPCIBridge = "pcie-to-pci-bridge"
	modelPCIeRootPort    = "pcie-root-port"
	modelSwitchUpstream  = "pcie-switch-upstream-port"
	modelSwitchDown      = "pcie-switch-downstream-port"
	modelPCIExpander     = "pci-expander-bus"
	modelPCIeExpander    = "pcie-expander-bus"
)

// pciModelName is the QEMU device name libvirt records in <model name=…/>.
var pciModelName = map[string]string{
	modelPCIBridge:       "pci-bridge",
	modelDMIToPCIBridge:  "i82801b11-bridge",
	modelPCIeToPCIBridge: "pcie-pci-bridge",
	modelPCIeRootPort:    "pcie-root-port",
	modelSwitchUpstream:  "x3130-upstream",
	modelSwitchDown:      "xio3130-downstream",
	modelPCIExpander:     "pxb",
	modelPCIeExpander:    "pxb-pcie",
}

func controllerConnectType(model string) connFlags {
	switch model {
	case modelPCIBridge:
		return connPCIBridge
	case modelPCIExpander:
		return connPCIExpanderBus
	case modelPCIeExpander:
		return connPCIEExpanderBus
	case modelDMIToPCIBridge:
		return connDMIToPCIBridge
	case modelPCIeToPCIBridge:
		return connPCIEToPCIBridge
	case modelPCIeRootPort:
		return connPCIERootPort | connAggregate
	case modelSwitchUpstream:
		return connSwitchUpstream
	case modelSwitchDown:
		return connSwitchDownstream
	}
	return 0
}

type pciSlot struct {
	functions uint8
	aggregate bool
}

type pciBus struct {
	model            string
	flags            connFlags
	minSlot, maxSlot uint
	slots            [pciSlotLast + 1]pciSlot
}

func (b *pciBus) setModel(model string, hotplug bool) error {
	var hp connFlags
	if hotplug {
		hp = connHotplug
	}
	switch model {
	case modelPCIRoot:
		b.flags = connAutoassign | connPCIDevice | connPCIBridge | connPCIExpanderBus | hp
		b.minSlot, b.maxSlot = 1, pciSlotLast
	case modelPCIBridge:
		b.flags = connAutoassign | connPCIDevice | connPCIBridge | hp
		b.minSlot, b.maxSlot = 1, pciSlotLast
	case modelPCIExpander:
		b.flags = connAutoassign | connPCIDevice | connPCIBridge | hp
		b.minSlot, b.maxSlot = 0, pciSlotLast
	case modelPCIeRoot:
		b.flags = connPCIEDevice | connPCIERootPort | connDMIToPCIBridge | connPCIEExpanderBus
		b.minSlot, b.maxSlot = 1, pciSlotLast
	case modelDMIToPCIBridge:
		b.flags = connPCIDevice | connPCIBridge
		b.minSlot, b.maxSlot = 0, pciSlotLast
	case modelPCIeToPCIBridge:
		b.flags = connAutoassign | connPCIDevice | connPCIBridge | hp
		b.minSlot, b.maxSlot = 1, pciSlotLast
	case modelPCIeRootPort, modelSwitchDown:
		b.flags = connAutoassign | connPCIEDevice | connSwitchUpstream | connPCIEToPCIBridge | hp
		b.minSlot, b.maxSlot = 0, 0
	case modelSwitchUpstream:
		b.flags = connSwitchDownstream
		b.minSlot, b.maxSlot = 0, pciSlotLast
	case modelPCIeExpander:
		b.flags = connPCIERootPort | connDMIToPCIBridge
		b.minSlot, b.maxSlot = 0, pciSlotLast
	default:
		return errInternal("PCI controller model was not set correctly")
	}
	b.model = model
	return nil
}

func (b *pciBus) fullyReserved() bool {
	for s := b.minSlot; s <= b.maxSlot; s++ {
		if b.slots[s].functions == 0 {
			return false
		}
	}
	return true
}

type pciAddr struct{ domain, bus, slot, function uint }

func (a pciAddr) String() string {
	return fmt.Sprintf("%04x:%02x:%02x.%d", a.domain, a.bus, a.slot, a.function)
}

type addrSet struct {
	buses  []*pciBus
	dryRun bool
}

// flagsCompatible mirrors virDomainPCIAddressFlagsCompatible; err is the
// error libvirt would report, or nil when report is false.
func flagsCompatible(a pciAddr, busFlags, devFlags connFlags, report, fromConfig bool) (bool, error) {
	code := libvirt.ErrInternalError
	prefix := "internal error: "
	if fromConfig {
		code, prefix = libvirt.ErrXMLError, "XML error: "
	}
	fail := func(format string, args ...any) (bool, error) {
		if !report {
			return false, nil
		}
		return false, lverr(code, prefix+format, args...)
	}
	if devFlags&connIntegrated != 0 {
		if a.bus == 0 {
			busFlags |= connAutoassign
		} else {
			return fail("The device at PCI address %s needs to be an integrated device (bus=0)", a)
		}
	}
	if fromConfig {
		if busFlags&connEndpoint != 0 {
			busFlags |= connEndpoint
		}
		if devFlags&connPCIBridge != 0 {
			devFlags |= connPCIDevice
		}
	} else if devFlags&connAutoassign != 0 && busFlags&connAutoassign == 0 {
		return fail("The device at PCI address %s was auto-assigned this address, but the PCI controller with index='%d' doesn't allow auto-assignment", a, a.bus)
	}
	if devFlags&connHotplug != 0 && busFlags&connHotplug == 0 {
		return fail("The device at PCI address %s requires hotplug capability, but the PCI controller with index='%d' doesn't support hotplug", a, a.bus)
	}
	if devFlags&busFlags&connTypesMask == 0 {
		what := "PCI Express device"
		switch {
		case devFlags&connPCIDevice != 0:
			what = "standard PCI device"
		case devFlags&connPCIEDevice != 0:
		case devFlags&connPCIERootPort != 0:
			what = "pcie-root-port"
		case devFlags&connSwitchUpstream != 0:
			what = "pcie-switch-upstream-port"
		case devFlags&connSwitchDownstream != 0:
			what = "pcie-switch-downstream-port"
		case devFlags&connDMIToPCIBridge != 0:
			what = "dmi-to-pci-bridge"
		case devFlags&connPCIEToPCIBridge != 0:
			what = "pcie-to-pci-bridge"
		case devFlags&connPCIExpanderBus != 0:
			what = "pci-expander-bus"
		case devFlags&connPCIEExpanderBus != 0:
			what = "pcie-expander-bus"
		case devFlags&connPCIBridge != 0:
			what = "pci-bridge"
		}
		return fail("The device at PCI address %s cannot be plugged into the PCI controller with index='%d'. It requires a controller that accepts a %s.", a, a.bus, what)
	}
	return true, nil
}

func (s *addrSet) validate(a pciAddr, flags connFlags, fromConfig bool) error {
	code := libvirt.ErrInternalError
	prefix := "internal error: "
	if fromConfig {
		code, prefix = libvirt.ErrXMLError, "XML error: "
	}
	if len(s.buses) == 0 {
		return lverr(code, "%sNo PCI buses available", prefix)
	}
	if a.domain != 0 {
		return lverr(code, prefix+"Invalid PCI address %s. Only PCI domain 0 is available", a)
	}
	if a.bus >= uint(len(s.buses)) {
		return lverr(code, prefix+"Invalid PCI address %s. Only PCI buses up to %d are available", a, len(s.buses)-1)
	}
	bus := s.buses[a.bus]
	if ok, err := flagsCompatible(a, bus.flags, flags, true, fromConfig); !ok {
		return err
	}
	if bus.minSlot > 0 && a.slot < bus.minSlot {
		return lverr(code, prefix+"Invalid PCI address %s. slot must be >= %d", a, bus.minSlot)
	}
	if a.slot > bus.maxSlot {
		return lverr(code, prefix+"Invalid PCI address %s. slot must be <= %d", a, bus.maxSlot)
	}
	if a.function > pciFunctionLast {
		return lverr(code, prefix+"Invalid PCI address %s. function must be <= %d", a, pciFunctionLast)
	}
	return nil
}

// grow adds buses so that a.bus exists (dry run only); see
// virDomainPCIAddressSetGrow for the choice of controller models.
func (s *addrSet) grow(a *pciAddr, flags connFlags) error {
	add := int(a.bus) - len(s.buses) + 1
	if add <= 0 {
		return nil
	}
	var model string
	needBridge := false
	switch {
	case flags&connPCIDevice != 0:
		model = modelPCIBridge
		needBridge = true
		for _, b := range s.buses {
			if b.flags&connPCIBridge != 0 {
				needBridge = false
				break
			}
		}
		// QEMU 7.2 has pcie-pci-bridge, so it is preferred over
		// dmi-to-pci-bridge + pci-bridge.
		if needBridge && add == 1 {
			add++
			a.bus++
		}
	case flags&(connPCIEDevice|connSwitchUpstream) != 0:
		model = modelPCIeRootPort
	default:
		if m := connectTypeToModel(flags); m != "" {
			return errInternal("a PCI slot is needed to connect a PCI controller model='%s', but none is available, and it cannot be automatically added", m)
		}
		return errInternal("Cannot automatically add a new PCI bus for a device with connect flags %.2x", uint32(flags))
	}
	i := len(s.buses)
	for n := 0; n < add; n++ {
		s.buses = append(s.buses, &pciBus{})
	}
	if needBridge {
		// The root port only takes the bridge, so the spare-port
		// reservation made later gets a root port of its own.
		if err := s.buses[i].setModel(modelPCIeRootPort, true); err != nil {
			return err
		}
		s.buses[i].flags = connPCIEToPCIBridge
		i++
		if err := s.buses[i].setModel(modelPCIeToPCIBridge, true); err != nil {
			return err
		}
		i++
	}
	for ; i < len(s.buses); i++ {
		if err := s.buses[i].setModel(model, true); err != nil {
			return err
		}
	}
	return nil
}

func connectTypeToModel(f connFlags) string {
	switch {
	case f&connPCIERootPort != 0:
		return modelPCIeRootPort
	case f&connSwitchUpstream != 0:
		return modelSwitchUpstream
	case f&connSwitchDownstream != 0:
		return modelSwitchDown
	case f&connDMIToPCIBridge != 0:
		return modelDMIToPCIBridge
	case f&connPCIExpanderBus != 0:
		return modelPCIExpander
	case f&connPCIEExpanderBus != 0:
		return modelPCIeExpander
	case f&connPCIBridge != 0:
		return modelPCIBridge
	}
	return ""
}

func (s *addrSet) reserve(a pciAddr, flags connFlags, fromConfig bool) error {
	if s.dryRun {
		if err := s.grow(&a, flags); err != nil {
			return err
		}
	}
	if err := s.validate(a, flags, fromConfig); err != nil {
		return err
	}
	bus := s.buses[a.bus]
	slot := &bus.slots[a.slot]
	if slot.functions&(1<<a.function) != 0 {
		if fromConfig {
			return errXML("Attempted double use of PCI Address %s", a)
		}
		return errInternal("Attempted double use of PCI Address %s", a)
	}
	if slot.functions == 0 && flags&connAggregate != 0 {
		slot.aggregate = true
	}
	slot.functions |= 1 << a.function
	return nil
}

func (s *addrSet) slotInUse(a pciAddr) bool {
	return int(a.bus) < len(s.buses) && s.buses[a.bus].slots[a.slot].functions != 0
}

// nextAddr finds the first slot (or, for aggregating devices, function)
// that accepts flags, growing the bus set in a dry run.
func (s *addrSet) nextAddr(flags connFlags) (pciAddr, error) {
	if len(s.buses) == 0 {
		return pciAddr{}, errXML("No PCI buses available")
	}
	var a pciAddr
	for a.bus = 0; a.bus < uint(len(s.buses)); a.bus++ {
		bus := s.buses[a.bus]
		a.slot = bus.minSlot
		if ok, _ := flagsCompatible(a, bus.flags, flags, false, false); !ok {
			continue
		}
		for ; a.slot <= bus.maxSlot; a.slot++ {
			sl := bus.slots[a.slot]
			if sl.functions == 0 {
				return a, nil
			}
			if flags&connAggregate != 0 && sl.aggregate {
				for a.function = 0; a.function <= pciFunctionLast; a.function++ {
					if sl.functions&(1<<a.function) == 0 {
						return a, nil
					}
				}
				a.function = 0
			}
		}
	}
	if s.dryRun {
		if err := s.grow(&a, flags); err != nil {
			return a, err
		}
		a.slot = s.buses[a.bus].minSlot
		return a, nil
	}
	return a, errInternal("No more available PCI slots")
}

// reserveNext gives a device the next free address; in a dry run the
// device itself is left alone, only the bus set changes.
func (s *addrSet) reserveNext(ref **libvirtxml.DomainAddress, flags connFlags) error {
	a, err := s.nextAddr(flags)
	if err != nil {
		return err
	}
	if err := s.reserve(a, flags, false); err != nil {
		return err
	}
	if !s.dryRun && ref != nil {
		*ref = pciAddress(a, "")
	}
	return nil
}

func pciAddress(a pciAddr, multi string) *libvirtxml.DomainAddress {
	d, b, sl, f := a.domain, a.bus, a.slot, a.function
	return &libvirtxml.DomainAddress{PCI: &libvirtxml.DomainAddressPCI{Domain: &d, Bus: &b, Slot: &sl, Function: &f, MultiFunction: multi}}
}

func u(p *uint) uint {
	if p == nil {
		return 0
	}
	return *p
}

// pciPresent: the device has a usable PCI address in its config.
func pciPresent(a *libvirtxml.DomainAddress) bool {
	if a == nil || a.PCI == nil {
		return false
	}
	return u(a.PCI.Domain) != 0 || u(a.PCI.Bus) != 0 || u(a.PCI.Slot) != 0
}

// pciWanted: the device has no address yet (or an empty PCI one).
func pciWanted(a *libvirtxml.DomainAddress) bool {
	return a == nil || (a.PCI != nil && !pciPresent(a))
}

func toAddr(a *libvirtxml.DomainAddress) pciAddr {
	return pciAddr{u(a.PCI.Domain), u(a.PCI.Bus), u(a.PCI.Slot), u(a.PCI.Function)}
}

func newAddrSet(def *libvirtxml.Domain, nbuses int, dryRun bool) (*addrSet, error) {
	s := &addrSet{dryRun: dryRun}
	for i := 0; i < nbuses; i++ {
		s.buses = append(s.buses, &pciBus{})
	}
	pcieRoot := false
	for _, c := range def.Devices.Controllers {
		if c.Type != "pci" {
			continue
		}
		idx := int(u(c.Index))
		if idx >= nbuses {
			return nil, errInternal("Inappropriate new pci controller index %d exceeds addrs array length", idx)
		}
		hotplug := !(c.PCI != nil && c.PCI.Target != nil && c.PCI.Target.Hotplug == "off")
		if err := s.buses[idx].setModel(c.Model, hotplug); err != nil {
			return nil, err
		}
		if c.Model == modelPCIeRoot {
			pcieRoot = true
		}
	}
	if nbuses > 0 && s.buses[0].model == "" {
		if err := s.buses[0].setModel(modelPCIRoot, true); err != nil {
			return nil, err
		}
	}
	def0 := modelPCIBridge
	if pcieRoot {
		def0 = modelPCIeRootPort
	}
	for i := 1; i < nbuses; i++ {
		if s.buses[i].model == "" {
			if err := s.buses[i].setModel(def0, true); err != nil {
				return nil, err
			}
		}
	}
	// Collect the addresses the config already has.
	for _, d := range devices(def) {
		a := *d.ref
		if !pciPresent(a) {
			continue
		}
		fl := d.flags
		if fl == 0 {
			fl = connPCIDevice
		}
		pa := toAddr(a)
		if d.cont != nil && pa.domain == 0 && pa.bus == 0 && pa.slot == 1 {
			c := d.cont
			if (c.Type == "ide" && u(c.Index) == 0 && pa.function == 1) ||
				(c.Type == "usb" && u(c.Index) == 0 && (c.Model == "piix3-uhci" || c.Model == "") && pa.function == 2) {
				if len(s.buses) > 0 && s.buses[0].flags&connPCIDevice == 0 {
					return nil, errInternal("Bus 0 must be PCI for integrated PIIX3 USB or IDE controllers")
				}
				continue
			}
		}
		if err := s.reserve(pa, fl, true); err != nil {
			return nil, err
		}
	}
	return s, nil
}
