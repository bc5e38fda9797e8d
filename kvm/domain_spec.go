package kvm

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// DomainSpec describes one virtual machine. It is plain data (JSON/YAML
// tags) so that a cluster description can carry it; Validate checks it and
// Client.Define turns it into a libvirt domain. Empty fields take the
// defaults documented on each field.
type DomainSpec struct {
	// Name is the libvirt domain name: a DNS label (lowercase letters,
	// digits, '-', at most 63), because it doubles as the host name and
	// seeds the default MACs and disk serials.
	Name string `json:"name" yaml:"name"`
	// MemoryMiB is the guest RAM in MiB (required).
	MemoryMiB uint `json:"memoryMiB" yaml:"memoryMiB"`
	// VCPUs is the number of virtual CPUs (required).
	VCPUs uint `json:"vcpus" yaml:"vcpus"`
	// CPUMode is host-passthrough, host-model, maximum (every feature the
	// accelerator can offer), custom (with CPUModel) or custom-default (no
	// <cpu>: QEMU's default qemu64, which lacks x86-64-v2 and so cannot run
	// SCOS/RHEL 9). Default: host-passthrough for kvm domains, maximum for
	// qemu (TCG cannot pass the host CPU through).
	CPUMode  string `json:"cpuMode,omitempty" yaml:"cpuMode,omitempty"`
	CPUModel string `json:"cpuModel,omitempty" yaml:"cpuModel,omitempty"`
	// Machine is q35 (default) or pc.
	Machine string `json:"machine,omitempty" yaml:"machine,omitempty"`
	// Firmware is bios (default), uefi, or uefi-secure (Secure Boot with
	// enrolled keys; needs q35).
	Firmware string `json:"firmware,omitempty" yaml:"firmware,omitempty"`
	// Type is the domain type, kvm or qemu. Empty: kvm when the host has
	// it (libvirt capabilities for a Client, /dev/kvm for DomainSpec.XML),
	// else qemu.
	Type string `json:"type,omitempty" yaml:"type,omitempty"`
	// Disks in guest order. The first one with the lowest BootOrder boots.
	Disks []DiskSpec `json:"disks,omitempty" yaml:"disks,omitempty"`
	// NICs in PCI order.
	NICs []NICSpec `json:"nics,omitempty" yaml:"nics,omitempty"`
	// StableNICNames gives NIC i (0-based) the ACPI index i+1 unless it has
	// one, so the guest names it eno<i+1> regardless of PCI layout.
	StableNICNames bool `json:"stableNICNames,omitempty" yaml:"stableNICNames,omitempty"`
	// Ignition is delivered by fw_cfg (opt/com.coreos/config), x86_64 only.
	Ignition *IgnitionSpec `json:"ignition,omitempty" yaml:"ignition,omitempty"`
	// NoConsole drops the pty serial console; NoGuestAgent drops the
	// qemu-guest-agent channel (org.qemu.guest_agent.0).
	NoConsole    bool `json:"noConsole,omitempty" yaml:"noConsole,omitempty"`
	NoGuestAgent bool `json:"noGuestAgent,omitempty" yaml:"noGuestAgent,omitempty"`
	// Labels are stored in the domain's <metadata> (okvm namespace) and
	// select domains in Client.ListDomains, e.g. {"cluster": "lab"}.
	Labels map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
}

// DiskSpec is one disk: a pool volume (Pool+Volume) or a host Path.
type DiskSpec struct {
	// Pool and Volume name a storage volume. Client.Define creates it when
	// missing: as a qcow2 overlay of BaseVolume (same pool) when set, else
	// as an empty volume of SizeBytes. Define then fills Path from
	// StorageVolGetPath, and the domain gets a type='file' disk (type='volume'
	// disks defeat AppArmor's virt-aa-helper).
	Pool   string `json:"pool,omitempty" yaml:"pool,omitempty"`
	Volume string `json:"volume,omitempty" yaml:"volume,omitempty"`
	// BaseVolume makes Volume a qcow2 overlay (backing store) of it.
	BaseVolume string `json:"baseVolume,omitempty" yaml:"baseVolume,omitempty"`
	// Path is a file on the hypervisor host (or the resolved volume path).
	Path string `json:"path,omitempty" yaml:"path,omitempty"`
	// Format is qcow2 or raw. Default: the volume's format; for paths and
	// new volumes qcow2 when BaseVolume is set or the name ends in .qcow2,
	// else raw.
	Format string `json:"format,omitempty" yaml:"format,omitempty"`
	// SizeBytes is the capacity of a volume Define creates (overlays
	// default to the base's capacity).
	SizeBytes uint64 `json:"sizeBytes,omitempty" yaml:"sizeBytes,omitempty"`
	// Bus is virtio (default), scsi (virtio-scsi) or sata.
	Bus string `json:"bus,omitempty" yaml:"bus,omitempty"`
	// Target is the libvirt target dev (vda, sdb…); a hint for the guest,
	// never its real name. Default: by bus, in order.
	Target string `json:"target,omitempty" yaml:"target,omitempty"`
	// Serial is the disk serial the guest sees (/dev/disk/by-id/virtio-<serial>):
	// at most 20 bytes of [A-Za-z0-9_-]. Default: DiskSerial(name, index).
	Serial string `json:"serial,omitempty" yaml:"serial,omitempty"`
	// BootOrder (1 = first) makes the disk bootable; 0 = not in boot order.
	BootOrder uint `json:"bootOrder,omitempty" yaml:"bootOrder,omitempty"`
	ReadOnly  bool `json:"readOnly,omitempty" yaml:"readOnly,omitempty"`
}

// NICSpec is one network interface on a libvirt network or a host bridge.
type NICSpec struct {
	Network string `json:"network,omitempty" yaml:"network,omitempty"`
	Bridge  string `json:"bridge,omitempty" yaml:"bridge,omitempty"`
	// MAC default: NICMAC(name, index), stable across redefinitions so a
	// DHCP reservation can be made before the domain exists.
	MAC string `json:"mac,omitempty" yaml:"mac,omitempty"`
	// Model is virtio (default), e1000, e1000e or rtl8139.
	Model string `json:"model,omitempty" yaml:"model,omitempty"`
	// ACPIIndex (1..16383) makes the guest name the NIC eno<ACPIIndex>.
	ACPIIndex uint `json:"acpiIndex,omitempty" yaml:"acpiIndex,omitempty"`
	BootOrder uint `json:"bootOrder,omitempty" yaml:"bootOrder,omitempty"`
}

// IgnitionSpec is the Ignition config handed to the guest by fw_cfg: the
// config inline (small configs, pointer configs) or a File on the
// hypervisor host that QEMU can read (SELinux/AppArmor permitting).
type IgnitionSpec struct {
	Value string `json:"value,omitempty" yaml:"value,omitempty"`
	File  string `json:"file,omitempty" yaml:"file,omitempty"`
}

// IgnitionFWCfgName is the fw_cfg entry Ignition reads on x86_64 and aarch64.
const IgnitionFWCfgName = "opt/com.coreos/config"

var (
	dnsLabelRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	serialRE   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,20}$`)
	targetRE   = regexp.MustCompile(`^(vd|sd|hd)[a-z]{1,2}$`)
	bridgeRE   = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,15}$`)
	labelKeyRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._/-]{0,252})$`)
)

// MaxSerialLen is the longest serial virtio-blk passes to the guest.
const MaxSerialLen = 20

// NICMAC returns the default MAC of NIC index on domain: 52:54:00 (QEMU's
// locally administered prefix) followed by 3 bytes of SHA-256 of the
// domain name and index. Deterministic, so reservations can precede VMs.
func NICMAC(domain string, index int) string {
	var seed [64]byte
	in := append(seed[:0], "okvm/nic/"...)
	in = append(in, domain...)
	in = append(in, '/')
	in = strconv.AppendInt(in, int64(index), 10)
	h := sha256.Sum256(in)
	mac := [17]byte{'5', '2', ':', '5', '4', ':', '0', '0', ':'}
	for i, j := 0, 9; i < 3; i, j = i+1, j+3 {
		mac[j], mac[j+1] = hexDigits[h[i]>>4], hexDigits[h[i]&0xf]
		if j+2 < len(mac) {
			mac[j+2] = ':'
		}
	}
	return string(mac[:])
}

const hexDigits = "0123456789abcdef"

// DiskSerial returns the default serial of disk index on domain:
// "<name>-d<index>", or, when that exceeds 20 bytes, a prefix of the name
// plus 4 hex digits of its hash, so long names sharing a prefix still get
// distinct serials.
func DiskSerial(domain string, index int) string {
	suffix := "-d" + strconv.Itoa(index)
	s := domain + suffix
	if len(s) <= MaxSerialLen {
		return s
	}
	h := sha256.Sum256([]byte(domain))
	hx := hex.EncodeToString(h[:2])
	keep := MaxSerialLen - len(suffix) - len(hx) - 1
	if keep < 1 {
		keep = 1
	}
	return strings.TrimRight(domain[:keep], "-") + "-" + hx + suffix
}

// Normalize returns a copy of s with every default filled in, as Define
// uses it (the domain type stays empty when unset: it needs the host).
func (s DomainSpec) Normalize() DomainSpec { return s.normalizeInto(nil, nil) }

// normalizeInto is Normalize with the copies of Disks and NICs made in the
// storage of disks and nics when they have room (DomainSpec.XML passes
// pooled slices). Empty lists stay nil, as in Normalize.
func (s DomainSpec) normalizeInto(disks []DiskSpec, nics []NICSpec) DomainSpec {
	n := s
	if n.Machine == "" {
		n.Machine = "q35"
	}
	if n.Firmware == "" {
		n.Firmware = "bios"
	}
	n.Disks = nil
	if len(s.Disks) > 0 {
		n.Disks = append(disks[:0], s.Disks...)
	}
	letters := map[string]int{}
	used := map[string]bool{}
	for _, d := range n.Disks {
		if d.Target != "" {
			used[d.Target] = true
		}
	}
	for i := range n.Disks {
		d := &n.Disks[i]
		if d.Bus == "" {
			d.Bus = "virtio"
		}
		if d.Serial == "" {
			d.Serial = DiskSerial(n.Name, i)
		}
		if d.Format == "" && d.Pool == "" {
			d.Format = guessFormat(d.Path, d.BaseVolume)
		}
		if d.Target == "" {
			prefix := "vd"
			if d.Bus != "virtio" {
				prefix = "sd"
			}
			for {
				t := prefix + diskLetters(letters[prefix])
				letters[prefix]++
				if !used[t] {
					d.Target = t
					used[t] = true
					break
				}
			}
		}
	}
	n.NICs = nil
	if len(s.NICs) > 0 {
		n.NICs = append(nics[:0], s.NICs...)
	}
	for i := range n.NICs {
		c := &n.NICs[i]
		if c.MAC == "" {
			c.MAC = NICMAC(n.Name, i)
		} else if hw, err := net.ParseMAC(c.MAC); err == nil {
			c.MAC = hw.String() // lowercase, colon-separated, as libvirt stores it
		}
		if c.Model == "" {
			c.Model = "virtio"
		}
		if n.StableNICNames && c.ACPIIndex == 0 {
			c.ACPIIndex = uint(i + 1)
		}
	}
	return n
}

func guessFormat(path, base string) string {
	if base != "" || strings.HasSuffix(path, ".qcow2") {
		return "qcow2"
	}
	return "raw"
}

// diskLetters: 0→a, 25→z, 26→aa, as libvirt numbers targets.
func diskLetters(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('a'+(i-1)%26)) + s
	}
	return s
}

// Validate reports the first problem in s as a *FieldError (errors.Is
// ErrInvalid) naming the field and value. Defaults are applied first, so a
// defaulted value that clashes (two NICs given the same MAC) is caught too.
func (s DomainSpec) Validate() error { return s.validate(s.Normalize()) }

// validate checks s given its normalised form n (computed once by callers
// that need both).
func (s DomainSpec) validate(n DomainSpec) error {
	if !isDNSLabel(s.Name) {
		return fieldErr("name", s.Name, "must be a DNS label: 1-63 of [a-z0-9-], starting and ending with a letter or digit")
	}
	if s.MemoryMiB == 0 {
		return fieldErr("memoryMiB", s.MemoryMiB, "must be > 0")
	}
	if s.VCPUs == 0 {
		return fieldErr("vcpus", s.VCPUs, "must be > 0")
	}
	switch s.CPUMode {
	case "", "host-passthrough", "host-model", "maximum", "custom-default":
		if s.CPUModel != "" {
			return fieldErr("cpuModel", s.CPUModel, "only valid with cpuMode custom")
		}
	case "custom":
		if s.CPUModel == "" {
			return fieldErr("cpuModel", s.CPUModel, "cpuMode custom needs a model (e.g. Nehalem, Skylake-Server)")
		}
	default:
		return fieldErr("cpuMode", s.CPUMode, "want host-passthrough, host-model, maximum, custom or custom-default")
	}
	switch n.Machine {
	case "q35", "pc":
	default:
		return fieldErr("machine", s.Machine, "want q35 or pc")
	}
	switch n.Firmware {
	case "bios", "uefi":
	case "uefi-secure":
		if n.Machine != "q35" {
			return fieldErr("firmware", s.Firmware, "Secure Boot needs machine q35 (SMM)")
		}
	default:
		return fieldErr("firmware", s.Firmware, "want bios, uefi or uefi-secure")
	}
	switch s.Type {
	case "", "kvm", "qemu":
	default:
		return fieldErr("type", s.Type, "want kvm or qemu")
	}
	// Duplicates are found by comparing with the earlier disks and NICs
	// (a handful each) rather than through maps; field names are only
	// formatted for the error.
	for i := range n.Disks {
		if err := n.validateDisk(i); err != nil {
			return err
		}
	}
	for i := range n.NICs {
		if err := s.validateNIC(n, i); err != nil {
			return err
		}
	}
	if ig := s.Ignition; ig != nil {
		switch {
		case ig.Value == "" && ig.File == "":
			return fieldErr("ignition", "", "set value or file")
		case ig.Value != "" && ig.File != "":
			return fieldErr("ignition.file", ig.File, "set value or file, not both")
		case ig.File != "" && !filepath.IsAbs(ig.File):
			return fieldErr("ignition.file", ig.File, "must be an absolute path on the hypervisor host")
		}
	}
	// The first bad key in sorted order is reported.
	bad, found := "", false
	for k := range s.Labels {
		if !isLabelKey(k) && (!found || k < bad) {
			bad, found = k, true
		}
	}
	if found {
		return fieldErr("labels", bad, "label keys are [A-Za-z0-9._/-], starting with a letter or digit")
	}
	return nil
}

// hostDomainType is the local guess used when no Client is there to ask
// libvirt: kvm when /dev/kvm exists.
func hostDomainType() string {
	if _, err := os.Stat("/dev/kvm"); err == nil {
		return "kvm"
	}
	return "qemu"
}

func diskField(i int, name string) string { return "disks[" + strconv.Itoa(i) + "]" + name }
func nicField(i int, name string) string  { return "nics[" + strconv.Itoa(i) + "]" + name }

// validateDisk checks n.Disks[i] of a normalised spec, and that its serial,
// target and boot order are not taken by an earlier disk.
func (n DomainSpec) validateDisk(i int) error {
	d := &n.Disks[i]
	hasVol := d.Pool != "" || d.Volume != ""
	switch {
	case hasVol && (d.Pool == "" || d.Volume == ""):
		return fieldErr(diskField(i, ".volume"), d.Pool+"/"+d.Volume, "a pool volume needs both pool and volume")
	case !hasVol && d.Path == "":
		return fieldErr(diskField(i, ""), "", "needs pool+volume or path")
	case !hasVol && d.BaseVolume != "":
		return fieldErr(diskField(i, ".baseVolume"), d.BaseVolume, "an overlay needs pool and volume")
	case d.Path != "" && !filepath.IsAbs(d.Path):
		return fieldErr(diskField(i, ".path"), d.Path, "must be an absolute path")
	case d.BaseVolume != "" && d.BaseVolume == d.Volume:
		return fieldErr(diskField(i, ".baseVolume"), d.BaseVolume, "a volume cannot back itself")
	}
	switch d.Format {
	case "", "qcow2", "raw":
	default:
		return fieldErr(diskField(i, ".format"), d.Format, "want qcow2 or raw")
	}
	if d.BaseVolume != "" && d.Format == "raw" {
		return fieldErr(diskField(i, ".format"), d.Format, "an overlay on a base volume is qcow2")
	}
	switch d.Bus {
	case "virtio", "scsi", "sata":
	default:
		return fieldErr(diskField(i, ".bus"), d.Bus, "want virtio, scsi or sata")
	}
	if len(d.Serial) > MaxSerialLen {
		return fieldErr(diskField(i, ".serial"), d.Serial, "is %d bytes; the guest sees at most %d", len(d.Serial), MaxSerialLen)
	}
	if !isSerial(d.Serial) {
		return fieldErr(diskField(i, ".serial"), d.Serial, "use only [A-Za-z0-9_-] (it becomes a /dev/disk/by-id name)")
	}
	for j := range i {
		if n.Disks[j].Serial == d.Serial {
			return fieldErr(diskField(i, ".serial"), d.Serial, "duplicates %s.serial", diskField(j, ""))
		}
	}
	if !isTarget(d.Target) {
		return fieldErr(diskField(i, ".target"), d.Target, "want vdX, sdX or hdX")
	}
	for j := range i {
		if n.Disks[j].Target == d.Target {
			return fieldErr(diskField(i, ".target"), d.Target, "duplicates %s.target", diskField(j, ""))
		}
	}
	if d.BootOrder > 0 {
		for j := range i {
			if n.Disks[j].BootOrder == d.BootOrder {
				return fieldErr(diskField(i, ".bootOrder"), d.BootOrder, "duplicates %s.bootOrder", diskField(j, ""))
			}
		}
	}
	return nil
}

// validateNIC checks NIC i: s as given (for the MAC's syntax) and n
// normalised, against the earlier NICs' MACs, ACPI indexes and boot orders
// and every disk's boot order.
func (s DomainSpec) validateNIC(n DomainSpec, i int) error {
	c := &n.NICs[i]
	switch {
	case c.Network == "" && c.Bridge == "":
		return fieldErr(nicField(i, ""), "", "needs a network or a bridge")
	case c.Network != "" && c.Bridge != "":
		return fieldErr(nicField(i, ".bridge"), c.Bridge, "set network or bridge, not both")
	case c.Bridge != "" && !isBridge(c.Bridge):
		return fieldErr(nicField(i, ".bridge"), c.Bridge, "not a Linux interface name (≤15 of [A-Za-z0-9_.:-])")
	}
	if mac := s.NICs[i].MAC; mac != "" {
		hw, err := net.ParseMAC(mac)
		if err != nil || len(hw) != 6 {
			return fieldErr(nicField(i, ".mac"), mac, "not a 48-bit MAC (want 52:54:00:xx:xx:xx)")
		}
		if hw[0]&1 == 1 {
			return fieldErr(nicField(i, ".mac"), mac, "is a multicast address")
		}
	}
	for j := range i {
		if n.NICs[j].MAC == c.MAC {
			return fieldErr(nicField(i, ".mac"), c.MAC, "duplicates %s.mac", nicField(j, ""))
		}
	}
	switch c.Model {
	case "virtio", "e1000", "e1000e", "rtl8139":
	default:
		return fieldErr(nicField(i, ".model"), c.Model, "want virtio, e1000, e1000e or rtl8139")
	}
	if c.ACPIIndex > 16383 {
		return fieldErr(nicField(i, ".acpiIndex"), c.ACPIIndex, "must be 1..16383")
	}
	if c.ACPIIndex > 0 {
		for j := range i {
			if n.NICs[j].ACPIIndex == c.ACPIIndex {
				return fieldErr(nicField(i, ".acpiIndex"), c.ACPIIndex, "duplicates %s.acpiIndex", nicField(j, ""))
			}
		}
	}
	if c.BootOrder > 0 {
		for j := range n.Disks {
			if n.Disks[j].BootOrder == c.BootOrder {
				return fieldErr(nicField(i, ".bootOrder"), c.BootOrder, "duplicates %s.bootOrder", diskField(j, ""))
			}
		}
		for j := range i {
			if n.NICs[j].BootOrder == c.BootOrder {
				return fieldErr(nicField(i, ".bootOrder"), c.BootOrder, "duplicates %s.bootOrder", nicField(j, ""))
			}
		}
	}
	return nil
}
