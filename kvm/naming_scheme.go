package kvm

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownNamingScheme is returned (wrapped, with the offending name) when
// a naming scheme is not one systemd defines. systemd itself would silently
// fall back to its default for an unknown name; okvm refuses instead, because
// a prediction made for a scheme the guest does not use is a wrong answer
// that looks right.
var ErrUnknownNamingScheme = errors.New("unknown network interface naming scheme")

// namingFlags are the systemd NAMING_* flags (src/shared/netif-naming-scheme.h)
// that can change the name of a QEMU PCI NIC. Flags that only concern other
// buses (InfiniBand, Xen, netdevsim, devicetree, USB, SR-IOV) are left out:
// no libvirt NIC okvm predicts can trigger them.
type namingFlags uint32

const (
	// flagZeroACPIIndex (v240+): an acpi_index of 0 is used instead of ignored.
	flagZeroACPIIndex namingFlags = 1 << iota
	// flagBridgeNoSlot (v247+): a hotplug slot found on a PCI bridge is not
	// used, since every device behind the bridge would claim it.
	flagBridgeNoSlot
	// flag16BitIndex (v249+): onboard indexes up to 65535 instead of 16383.
	flag16BitIndex
	// flagBridgeMultifunctionSlot (v251–v254, rhel-9.0–9.4): a bridge's slot
	// is used after all when the NIC is a multifunction device.
	flagBridgeMultifunctionSlot
	// flagFirmwareNodeSun (v257+, rhel-9.8+): the slot number is read from
	// the device's ACPI _SUN (firmware_node/sun) before the slots directory.
	flagFirmwareNodeSun
)

const (
	v238Flags = namingFlags(0)
	v240Flags = v238Flags | flagZeroACPIIndex
	v247Flags = v240Flags | flagBridgeNoSlot
	v249Flags = v247Flags | flag16BitIndex
	v251Flags = v249Flags | flagBridgeMultifunctionSlot
	v255Flags = v251Flags &^ flagBridgeMultifunctionSlot
	v257Flags = v255Flags | flagFirmwareNodeSun
)

// namingSchemes maps every scheme name systemd (upstream and the RHEL 9
// fork) accepts to the flags above. Names systemd never defined (v242,
// v256…) are absent on purpose.
var namingSchemes = map[string]namingFlags{
	"v238": v238Flags,
	"v239": v238Flags, // SR-IOV/NPAR changes only
	"v240": v240Flags,
	"v241": v240Flags,
	"v243": v240Flags,
	"v245": v240Flags,
	"v247": v247Flags,
	"v249": v249Flags,
	"v250": v249Flags,
	"v251": v251Flags,
	"v252": v251Flags,
	"v253": v251Flags,
	"v254": v251Flags,
	"v255": v255Flags,
	"v257": v257Flags,

	// RHEL 9 / CentOS Stream 9 / SCOS 9 (redhat-plumbers/systemd-rhel9).
	"rhel-9.0": v251Flags,
	"rhel-9.1": v251Flags,
	"rhel-9.2": v251Flags,
	"rhel-9.3": v251Flags,
	"rhel-9.4": v251Flags,
	"rhel-9.5": v255Flags,
	"rhel-9.6": v255Flags,
	"rhel-9.7": v255Flags,
	"rhel-9.8": v257Flags,
	"rhel-9.9": v257Flags,
}

// LatestNamingScheme is what "latest" means to okvm: the newest scheme whose
// rules okvm models. Newer systemd releases define newer schemes, but none
// of them changes how a QEMU PCI NIC is named.
const LatestNamingScheme = "v257"

// NamingSchemes lists the scheme names PredictNames accepts, besides
// "latest", in release order.
func NamingSchemes() []string {
	return []string{
		"v238", "v239", "v240", "v241", "v243", "v245", "v247", "v249", "v250",
		"v251", "v252", "v253", "v254", "v255", "v257",
		"rhel-9.0", "rhel-9.1", "rhel-9.2", "rhel-9.3", "rhel-9.4",
		"rhel-9.5", "rhel-9.6", "rhel-9.7", "rhel-9.8", "rhel-9.9",
	}
}

// resolveScheme turns a scheme name into its canonical name and flags.
func resolveScheme(name string) (string, namingFlags, error) {
	if name == "latest" {
		name = LatestNamingScheme
	}
	f, ok := namingSchemes[name]
	if !ok {
		return "", 0, fmt.Errorf("%w: %w", fieldErr("naming scheme", name,
			"want one of %s or latest", strings.Join(NamingSchemes(), ", ")), ErrUnknownNamingScheme)
	}
	return name, f, nil
}

// GuestOS names an operating system whose default naming scheme okvm knows.
// The default is the scheme its systemd was built with; a
// net.naming-scheme= kernel argument in the domain's <cmdline> overrides it.
type GuestOS string

// Guest operating systems and the naming scheme each uses by default.
const (
	FCOS38 GuestOS = "fcos-38" // systemd 253 → v253
	FCOS39 GuestOS = "fcos-39" // systemd 254 → v253 (254's "latest" is v253)
	FCOS40 GuestOS = "fcos-40" // systemd 255 → v255
	FCOS41 GuestOS = "fcos-41" // systemd 256 → v255 (there is no v256)
	FCOS42 GuestOS = "fcos-42" // systemd 257 → v257
	// SCOS9 is CentOS Stream CoreOS 9, the node OS of OKD 4.16+. RHEL 9's
	// systemd is built with -Ddefault-net-naming-scheme=rhel-9.0.
	SCOS9 GuestOS = "scos-9"
	// Debian12 is Debian bookworm (systemd 252 → v252), the guest okvm's
	// own verification boots (scripts/verify-names.sh).
	Debian12 GuestOS = "debian-12"
)

var guestOSSchemes = map[GuestOS]string{
	FCOS38:   "v253",
	FCOS39:   "v253",
	FCOS40:   "v255",
	FCOS41:   "v255",
	FCOS42:   "v257",
	SCOS9:    "rhel-9.0",
	Debian12: "v252",
}

// DefaultNamingScheme returns the scheme os uses when nothing overrides it.
func DefaultNamingScheme(os GuestOS) (string, error) {
	s, ok := guestOSSchemes[os]
	if !ok {
		return "", fmt.Errorf("%w: %w", fieldErr("guest OS", string(os),
			"no known default naming scheme (want fcos-38…fcos-42, scos-9 or debian-12)"), ErrUnknownNamingScheme)
	}
	return s, nil
}
