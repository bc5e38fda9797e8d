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
	"strings"

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

// device is one addressable device of a definition, with the connect
// flags libvirt computes for it.
type device struct {
	kind  string // "disk", "controller", "interface", …
	ref   **libvirtxml.DomainAddress
	flags connFlags
	cont  *libvirtxml.DomainController
	video int // index in Videos, -1 otherwise
}

func isQ35Def(def *libvirtxml.Domain) bool { return isQ35(def) }

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

var _ = strings.TrimSpace
