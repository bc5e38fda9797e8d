package kvm

import (
	"strconv"

	"libvirt.org/go/libvirtxml"
)

// Name prediction (issue 3): OKD nodes are configured before they first
// boot, so the installer must know what the guest will call each NIC and
// disk. Booting to find out costs a VM per layout and still races udev;
// instead okvm reads the domain XML *after* libvirt defined it (every PCI
// address fixed, see docs/verify-names.md) and replays, in Go, the three
// steps that decide the names in the guest:
//
//  1. the firmware numbers PCI buses depth-first (XML bus= is a controller
//     index, not the guest's bus number);
//  2. QEMU's ACPI tables and the kernel's hotplug drivers expose an ACPI
//     index, a slot number (_SUN) and /sys/bus/pci/slots/<name> per device;
//  3. systemd-udev's net_id builtin turns those into eno/ens/enp names under
//     the guest's naming scheme, and 60-persistent-storage.rules turns disk
//     serials and PCI paths into /dev/disk/by-id and by-path links.
//
// Every rule is checked against real guests by test/guest. Where the XML
// does not decide the answer, the prediction says so with a typed reason
// (NotPredictableError) instead of guessing.

// PCIAddress is a PCI function address (domain:bus:slot.function).
type PCIAddress struct {
	Domain   uint `json:"domain"`
	Bus      uint `json:"bus"`
	Slot     uint `json:"slot"`
	Function uint `json:"function"`
}

// String formats the address as the guest kernel names the device,
// e.g. "0000:03:00.0".
func (a PCIAddress) String() string {
	b := make([]byte, 0, 12)
	b = appendHex(b, a.Domain, 4)
	b = append(b, ':')
	b = appendHex(b, a.Bus, 2)
	b = append(b, ':')
	b = appendHex(b, a.Slot, 2)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(a.Function), 10)
	return string(b)
}

// MarshalText makes addresses appear as "0000:03:00.0" in JSON.
func (a PCIAddress) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

func appendHex(b []byte, v uint, width int) []byte {
	const digits = "0123456789abcdef"
	var tmp [8]byte
	n := 0
	for v > 0 || n < width {
		tmp[n] = digits[v&0xf]
		v >>= 4
		n++
	}
	for i := n - 1; i >= 0; i-- {
		b = append(b, tmp[i])
	}
	return b
}

// NameRule says which systemd NamePolicy entry produced a NIC's name. The
// default policy (99-default.link, identical on Fedora and RHEL 9) is
// "keep kernel database onboard slot path"; keep, kernel and database never
// apply to QEMU NICs, so the effective order is onboard → slot → path.
type NameRule string

// The NamePolicy entries that can name a QEMU NIC.
const (
	RuleOnboard NameRule = "onboard" // eno<acpi index>
	RuleSlot    NameRule = "slot"    // ens<hotplug slot>[f<function>]
	RulePath    NameRule = "path"    // enp<bus>s<slot>[f<function>]
)

// NICCandidates are the ID_NET_NAME_* properties net_id will set; empty
// when the builtin emits none of that kind.
type NICCandidates struct {
	Onboard string `json:"onboard,omitempty"` // ID_NET_NAME_ONBOARD
	Slot    string `json:"slot,omitempty"`    // ID_NET_NAME_SLOT
	Path    string `json:"path,omitempty"`    // ID_NET_NAME_PATH
	MAC     string `json:"mac,omitempty"`     // ID_NET_NAME_MAC (not in the default policy)
}

// NICEvidence is what the guest's sysfs will show for the NIC's PCI
// function — the inputs of net_id. It is exported so that a wrong name can
// be traced to the step that went wrong (test/guest compares it).
type NICEvidence struct {
	// ACPIIndex is /sys/bus/pci/devices/<bdf>/acpi_index (0: absent).
	ACPIIndex uint `json:"acpi_index,omitempty"`
	// Sun is firmware_node/sun, the ACPI slot number QEMU gives the
	// device's slot; read by schemes v257 and rhel-9.8+. 0 when absent or
	// 0 (q35 root ports report 0), which net_id treats alike.
	Sun uint `json:"sun,omitempty"`
	// Slot is the number of the /sys/bus/pci/slots/<N> entry that net_id's
	// walk from the NIC up its PCI parents matches (0: none usable — no
	// slot, or a directory like "0", "0-2", "4-2" that net_id ignores).
	Slot uint `json:"slot,omitempty"`
	// Multifunction mirrors the header-type bit net_id reads from config.
	Multifunction bool `json:"multifunction,omitempty"`
}

// NICPrediction is the forecast for one <interface>.
type NICPrediction struct {
	MAC   string `json:"mac"`
	Model string `json:"model,omitempty"`
	// XMLAddress is the address as written in the XML: its Bus is a
	// controller index, not a bus number.
	XMLAddress *PCIAddress `json:"xml_address,omitempty"`
	// GuestPCI is the address the guest kernel will show (sysfs name).
	GuestPCI *PCIAddress `json:"guest_pci,omitempty"`
	// Name is the name the guest's udev will give; empty when
	// NotPredictable is set.
	Name       string        `json:"name,omitempty"`
	Rule       NameRule      `json:"rule,omitempty"`
	Candidates NICCandidates `json:"candidates"`
	Evidence   NICEvidence   `json:"evidence"`
	// NotPredictable says why the XML does not decide the name.
	NotPredictable *NotPredictableError `json:"not_predictable,omitempty"`
}

// DiskPrediction is the forecast for one <disk>.
type DiskPrediction struct {
	// Target is libvirt's <target dev>; it is an ordering hint, not the
	// guest's name.
	Target string `json:"target"`
	Bus    string `json:"bus"`
	Serial string `json:"serial,omitempty"`
	// GuestPCI is the PCI function of the disk (virtio) or its host
	// adapter (SCSI, SATA) as the guest sees it.
	GuestPCI *PCIAddress `json:"guest_pci,omitempty"`
	// ByID lists the /dev/disk/by-id links udev will create. Use these.
	ByID []string `json:"by_id,omitempty"`
	// ByPath is the primary /dev/disk/by-path link; ByPathExtra lists
	// compatibility links udev makes for the same disk.
	ByPath      string   `json:"by_path,omitempty"`
	ByPathExtra []string `json:"by_path_extra,omitempty"`
	// KernelNameHint is the likely kernel name (vda, sdb…). It follows
	// driver probe order and is NOT stable: never configure a node by it.
	KernelNameHint string `json:"kernel_name_hint,omitempty"`
	// Warnings explain missing or unreliable links (no serial, serial
	// truncated, unmodelled bus…).
	Warnings []string `json:"warnings,omitempty"`
}

// Prediction is everything PredictNames knows about a domain's guest-side
// device names.
type Prediction struct {
	Domain  string `json:"domain"`
	Machine string `json:"machine"`
	// Scheme is the naming scheme the names were computed for (canonical,
	// "latest" resolved).
	Scheme string           `json:"scheme"`
	NICs   []NICPrediction  `json:"nics"`
	Disks  []DiskPrediction `json:"disks"`
}

// NamingOption tunes PredictNames.
type NamingOption func(*namingConfig)

type namingConfig struct {
	scheme   string
	guestOS  GuestOS
	explicit bool // scheme set by WithNamingScheme
}

// WithNamingScheme sets the guest's net naming scheme ("v239"…"v257",
// "rhel-9.0"…"rhel-9.9", "latest"). It wins over WithGuestOS and over a
// net.naming-scheme= argument in the domain's kernel command line.
func WithNamingScheme(scheme string) NamingOption {
	return func(c *namingConfig) { c.scheme, c.explicit = scheme, true }
}

// WithGuestOS picks the naming scheme os uses by default (see GuestOS).
// Without any option PredictNames assumes SCOS9, OKD's node OS.
func WithGuestOS(os GuestOS) NamingOption {
	return func(c *namingConfig) { c.guestOS = os }
}

// PredictNames computes, from a domain as libvirt defined it, the name the
// guest's systemd-udev will give each NIC and the stable /dev/disk links of
// each disk. Pass the XML libvirt returns after DomainDefineXML
// (DomainGetXMLDesc): libvirt assigns PCI addresses and adds controllers at
// define time, and a domain without them has no fixed names yet.
//
// It never boots anything and never guesses: a NIC whose name the XML does
// not decide gets an empty Name and a NotPredictableError saying why. The
// error return is for bad input only — an unknown naming scheme or guest OS
// (wrapping ErrUnknownNamingScheme) or a nil domain.
//
// Options choose the naming scheme; see WithNamingScheme and WithGuestOS.
func PredictNames(dom *libvirtxml.Domain, opts ...NamingOption) (*Prediction, error) {
	if dom == nil {
		return nil, fieldErr("domain", "<nil>", "PredictNames needs the domain XML libvirt defined")
	}
	cfg := namingConfig{guestOS: SCOS9}
	for _, o := range opts {
		o(&cfg)
	}
	k := parseKernelArgs(dom)
	schemeName := cfg.scheme
	if !cfg.explicit {
		if k.scheme != "" {
			schemeName = k.scheme
		} else {
			s, err := DefaultNamingScheme(cfg.guestOS)
			if err != nil {
				return nil, err
			}
			schemeName = s
		}
	}
	scheme, flags, err := resolveScheme(schemeName)
	if err != nil {
		return nil, err
	}

	topo := buildTopology(dom)
	p := &Prediction{Domain: dom.Name, Scheme: scheme, Machine: topo.machine}
	p.NICs = predictNICs(dom, topo, flags, k)
	p.Disks = predictDisks(dom, topo)
	return p, nil
}
