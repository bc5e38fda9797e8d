package kvmtest

import (
	"encoding/hex"
	"fmt"
	"net"
	"reflect"
	"strings"

	libvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"
)

// parseDomain parses XML the way virDomainDefParse does as far as callers
// can observe: unparseable XML and missing mandatory parts are rejected with
// libvirt's codes. Called with f.mu held.
func (f *Fake) parseDomain(xml string) (*libvirtxml.Domain, error) {
	var def libvirtxml.Domain
	if err := def.Unmarshal(xml); err != nil {
		return nil, lverr(libvirt.ErrXMLDetail, "XML error: %v", err)
	}
	dropUntypedAddresses(&def)
	if def.Type == "" {
		return nil, errInternal("missing domain type attribute")
	}
	switch {
	case def.Type == "qemu", def.Type == "kvm" && f.opts.kvm:
	default:
		return nil, errConfigUnsupported("Emulator '/usr/bin/qemu-system-x86_64' does not support virt type '%s'", def.Type)
	}
	if def.Name == "" {
		return nil, lverr(libvirt.ErrNoName, "missing name information")
	}
	if strings.Contains(def.Name, "/") {
		return nil, errXML("name %s cannot contain '/'", def.Name)
	}
	if def.UUID == "" {
		def.UUID = formatUUID(f.newUUID())
	} else {
		u, err := parseUUID(def.UUID)
		if err != nil {
			return nil, errInternal("malformed uuid element")
		}
		def.UUID = formatUUID(u)
	}
	if def.OS == nil || def.OS.Type == nil || def.OS.Type.Type == "" {
		return nil, errXML("an os <type> must be specified")
	}
	if def.Memory == nil || def.Memory.Value == 0 {
		return nil, errXML("Memory size must be specified via <memory> or in the <numa> configuration")
	}
	if def.Devices != nil {
		for i := range def.Devices.Interfaces {
			// <interface> without a type is user-mode networking to
			// libvirt; libvirtxml leaves the union empty.
			if def.Devices.Interfaces[i].Source == nil {
				def.Devices.Interfaces[i].Source = &libvirtxml.DomainInterfaceSource{User: &libvirtxml.DomainInterfaceSourceUser{}}
			}
		}
	}
	// libvirtxml accepts some XML it cannot write back (an <interface>
	// without type…); libvirt's stricter parser refuses such XML, and so
	// must the fake, or GetXMLDesc would return what nobody can parse.
	if out, err := def.Marshal(); err != nil {
		return nil, errXML("%v", err)
	} else if err := new(libvirtxml.Domain).Unmarshal(out); err != nil {
		return nil, errXML("%v", err)
	}
	if def.Devices != nil {
		for _, d := range devices(&def) {
			if err := checkPCIRange(*d.ref); err != nil {
				return nil, err
			}
		}
	}
	return &def, nil
}

// completeDomain fills in what libvirt's post-parse adds: defaults, MAC
// addresses, controllers, PCI addresses and the expanded machine type. A
// redefinition is completed afresh, as in libvirt: addresses the new XML
// does not carry are assigned again. Called with f.mu held.
func (f *Fake) completeDomain(def *libvirtxml.Domain) error {
	if err := normaliseMemory(def); err != nil {
		return err
	}
	if def.VCPU == nil {
		def.VCPU = &libvirtxml.DomainVCPU{Value: 1}
	}
	if def.VCPU.Placement == "" {
		def.VCPU.Placement = "static"
	}
	if def.OS == nil {
		def.OS = &libvirtxml.DomainOS{}
	}
	if def.OS.Type == nil {
		def.OS.Type = &libvirtxml.DomainOSType{Type: "hvm"}
	}
	if def.OS.Type.Type == "" {
		def.OS.Type.Type = "hvm"
	}
	if def.OS.Type.Type != "hvm" {
		return errConfigUnsupported("Emulator '/usr/bin/qemu-system-x86_64' does not support os type '%s'", def.OS.Type.Type)
	}
	if def.OS.Type.Arch == "" {
		def.OS.Type.Arch = "x86_64"
	}
	if def.OS.Type.Arch != "x86_64" {
		return errConfigUnsupported("No emulator found for arch '%s'", def.OS.Type.Arch)
	}
	def.OS.Type.Machine = expandMachine(def.OS.Type.Machine)
	if def.OnPoweroff == "" {
		def.OnPoweroff = "destroy"
	}
	if def.OnReboot == "" {
		def.OnReboot = "restart"
	}
	if def.OnCrash == "" {
		def.OnCrash = "destroy"
	}
	if def.Clock == nil {
		def.Clock = &libvirtxml.DomainClock{Offset: "utc"}
	}
	if def.CPU == nil && def.Type == "qemu" {
		// TCG's default CPU, as the QEMU driver records it.
		def.CPU = &libvirtxml.DomainCPU{Mode: "custom", Match: "exact", Check: "none",
			Model: &libvirtxml.DomainCPUModel{Fallback: "forbid", Value: "qemu64"}}
	}
	if def.Devices == nil {
		def.Devices = &libvirtxml.DomainDeviceList{}
	}
	if def.Devices.Emulator == "" {
		def.Devices.Emulator = "/usr/bin/qemu-system-x86_64"
	}
	if !hasPerDeviceBoot(def) && len(def.OS.BootDevices) == 0 && def.OS.Kernel == "" {
		def.OS.BootDevices = []libvirtxml.DomainBootDevice{{Dev: "hd"}}
	}
	for i := range def.Devices.Interfaces {
		nic := &def.Devices.Interfaces[i]
		if nic.MAC == nil || nic.MAC.Address == "" {
			nic.MAC = &libvirtxml.DomainInterfaceMAC{Address: f.newMAC()}
		} else {
			hw, err := net.ParseMAC(nic.MAC.Address)
			if err != nil || len(hw) != 6 {
				return errXML("unable to parse mac address '%s'", nic.MAC.Address)
			}
			if hw[0]&1 != 0 {
				return errXML("expected unicast mac address, found multicast '%s'", nic.MAC.Address)
			}
			nic.MAC.Address = hw.String()
		}
	}
	return assignAddresses(def)
}

func hasPerDeviceBoot(def *libvirtxml.Domain) bool {
	for _, d := range def.Devices.Disks {
		if d.Boot != nil {
			return true
		}
	}
	for _, n := range def.Devices.Interfaces {
		if n.Boot != nil {
			return true
		}
	}
	return false
}

// expandMachine turns a machine alias into the versioned type libvirt
// stores, for QEMU 7.2 (Debian 12). Unknown names are kept: libvirt 9.0
// does not reject them at define, it just adds no chipset, so the first
// PCI device fails with "No PCI buses available" (checked against it).
func expandMachine(m string) string {
	switch m {
	case "", "pc":
		return "pc-i440fx-7.2"
	case "q35":
		return "pc-q35-7.2"
	}
	return m
}

// knownMachine: a pc (i440FX) or q35 machine type, which get the
// chipset's default devices.
func knownMachine(def *libvirtxml.Domain) bool {
	m := def.OS.Type.Machine
	return strings.HasPrefix(m, "pc-q35-") || strings.HasPrefix(m, "pc-i440fx-") || m == "pc" || m == "q35"
}

func isQ35(def *libvirtxml.Domain) bool {
	return def.OS != nil && def.OS.Type != nil && strings.HasPrefix(def.OS.Type.Machine, "pc-q35")
}

var memUnits = map[string]uint{
	"": 1, "k": 1, "KiB": 1, "K": 1, "KB": 1, // KB is 1000 bytes in libvirt; rounded like it does below
	"b": 0, "bytes": 0,
	"M": 1024, "MiB": 1024, "G": 1024 * 1024, "GiB": 1024 * 1024, "T": 1 << 30, "TiB": 1 << 30,
	"MB": 0, "GB": 0,
}

// normaliseMemory converts memory to KiB, as libvirt stores it.
func normaliseMemory(def *libvirtxml.Domain) error {
	kib, err := toKiB(def.Memory.Value, def.Memory.Unit)
	if err != nil {
		return err
	}
	def.Memory.Value, def.Memory.Unit = kib, "KiB"
	if def.CurrentMemory == nil {
		def.CurrentMemory = &libvirtxml.DomainCurrentMemory{Value: kib, Unit: "KiB"}
	} else {
		cur, err := toKiB(def.CurrentMemory.Value, def.CurrentMemory.Unit)
		if err != nil {
			return err
		}
		if cur > kib {
			cur = kib
		}
		def.CurrentMemory.Value, def.CurrentMemory.Unit = cur, "KiB"
	}
	return nil
}

func toKiB(v uint, unit string) (uint, error) {
	switch unit {
	case "b", "bytes":
		return (v + 1023) / 1024, nil
	case "KB":
		return (v*1000 + 1023) / 1024, nil
	case "MB":
		return (v*1000*1000 + 1023) / 1024, nil
	case "GB":
		return (v*1000*1000*1000 + 1023) / 1024, nil
	}
	m, ok := memUnits[unit]
	if !ok {
		return 0, errInvalidArg("unknown suffix '%s'", unit)
	}
	return v * m, nil
}

// addLiveBits adds what only a running domain's XML carries.
func (f *Fake) addLiveBits(live *libvirtxml.Domain, id int32) {
	for i := range live.Devices.Interfaces {
		nic := &live.Devices.Interfaces[i]
		if nic.Target == nil {
			nic.Target = &libvirtxml.DomainInterfaceTarget{Dev: fmt.Sprintf("vnet%d", f.nextTap())}
		}
	}
}

func (f *Fake) nextTap() int {
	n := 0
	used := map[string]bool{}
	for _, d := range f.domains {
		if d.live == nil {
			continue
		}
		for _, nic := range d.live.Devices.Interfaces {
			if nic.Target != nil {
				used[nic.Target.Dev] = true
			}
		}
	}
	for used[fmt.Sprintf("vnet%d", n)] {
		n++
	}
	return n
}

func cloneDomain(def *libvirtxml.Domain) (*libvirtxml.Domain, error) {
	s, err := def.Marshal()
	if err != nil {
		return nil, err
	}
	var out libvirtxml.Domain
	if err := out.Unmarshal(s); err != nil {
		return nil, err
	}
	return &out, nil
}

// newUUID makes a random (version 4) UUID from the fake's source, so
// WithSeed makes it reproducible. Called with f.mu held.
func (f *Fake) newUUID() libvirt.UUID {
	var u libvirt.UUID
	for i := 0; i < len(u); i += 8 {
		v := f.rnd.Uint64()
		for j := 0; j < 8 && i+j < len(u); j++ {
			u[i+j] = byte(v >> (8 * j))
		}
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

// newMAC makes a MAC in QEMU's 52:54:00 prefix, as libvirt does for NICs
// without one. Called with f.mu held.
func (f *Fake) newMAC() string {
	v := f.rnd.Uint32()
	return fmt.Sprintf("52:54:00:%02x:%02x:%02x", byte(v), byte(v>>8), byte(v>>16))
}

func formatUUID(u libvirt.UUID) string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// parseUUID accepts libvirt's forms: with or without dashes (libvirt also
// skips spaces), 32 hex digits.
func parseUUID(s string) (libvirt.UUID, error) {
	var u libvirt.UUID
	clean := strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(s))
	if len(clean) != 32 {
		return u, fmt.Errorf("malformed uuid %q", s)
	}
	b, err := hex.DecodeString(clean)
	if err != nil {
		return u, fmt.Errorf("malformed uuid %q", s)
	}
	copy(u[:], b)
	return u, nil
}

// checkPCIRange is the parser's range check of a PCI address
// (virPCIDeviceAddressIsValid with error reporting).
func checkPCIRange(a *libvirtxml.DomainAddress) error {
	if a == nil || a.PCI == nil {
		return nil
	}
	p := a.PCI
	switch {
	case u(p.Domain) > 0xFFFF:
		return errXML("Invalid PCI address domain='0x%x', must be <= 0xFFFF", u(p.Domain))
	case u(p.Bus) > 0xFF:
		return errXML("Invalid PCI address bus='0x%x', must be <= 0xFF", u(p.Bus))
	case u(p.Slot) > 0x1F:
		return errXML("Invalid PCI address slot='0x%x', must be <= 0x1F", u(p.Slot))
	case u(p.Function) > 7:
		return errXML("Invalid PCI address function=0x%x, must be <= 7", u(p.Function))
	}
	return nil
}

// dropUntypedAddresses forgets every device <address/> without a type:
// libvirt parses the type as an optional enum, and a missing one leaves the
// device with no address at all, to be assigned like any other (found by
// FuzzDefine: the fake kept it as "no address" and assigned one only on a
// redefinition of its own output).
func dropUntypedAddresses(def *libvirtxml.Domain) {
	if def.Devices == nil {
		return
	}
	addrType := reflect.TypeFor[*libvirtxml.DomainAddress]()
	devs := reflect.ValueOf(def.Devices).Elem()
	for i := 0; i < devs.NumField(); i++ {
		list := devs.Field(i)
		if list.Kind() != reflect.Slice || list.Type().Elem().Kind() != reflect.Struct {
			continue
		}
		for j := 0; j < list.Len(); j++ {
			field := list.Index(j).FieldByName("Address")
			if !field.IsValid() || field.Type() != addrType || field.IsNil() {
				continue
			}
			if reflect.ValueOf(field.Interface()).Elem().IsZero() {
				field.Set(reflect.Zero(addrType))
			}
		}
	}
}
