package kvm

import "fmt"

// NotPredictableReason classifies why a NIC's name cannot be known from the
// domain XML alone.
type NotPredictableReason string

// Reasons a NIC name is not predictable. Each is a case where the answer
// depends on something the XML does not decide (or that okvm has not proved
// on a real guest), so any name would be a guess.
const (
	// ReasonNoPCIAddress: the <interface> has no PCI address. Libvirt
	// assigns one at define time; predict from the defined XML.
	ReasonNoPCIAddress NotPredictableReason = "no-pci-address"
	// ReasonUnknownBus: the address names a controller index that the XML
	// does not define.
	ReasonUnknownBus NotPredictableReason = "unknown-bus"
	// ReasonExpanderBus: the NIC sits behind a pci(e)-expander-bus, whose
	// bus numbers the firmware takes from busNr, outside the depth-first
	// numbering okvm replays.
	ReasonExpanderBus NotPredictableReason = "expander-bus"
	// ReasonNotPCINIC: the NIC is not a QEMU-emulated PCI function
	// (host device passthrough, vDPA, …): its driver decides the name.
	ReasonNotPCINIC NotPredictableReason = "not-emulated-pci"
	// ReasonACPIIndexUnverified: an <acpi index> on a bus where QEMU's
	// support for it is not established (not a pc root-bus slot, not behind
	// a pc pci-bridge, not a q35 root port on a QEMU ≥ 6.1 machine type).
	ReasonACPIIndexUnverified NotPredictableReason = "acpi-index-unverified"
	// ReasonSlotHotplugUnknown: the NIC is behind a conventional PCI bridge
	// whose slot number may already be taken by a root-bus hotplug slot;
	// whether it is depends on the hotpluggability of the device occupying
	// that root slot, which okvm does not model.
	ReasonSlotHotplugUnknown NotPredictableReason = "slot-hotplug-unknown"
	// ReasonNameCollision: two NICs would get the same name; which one
	// udev renames first is a race, the other keeps its kernel name.
	ReasonNameCollision NotPredictableReason = "name-collision"
	// ReasonIfnamesDisabled: net.ifnames=0 on the kernel command line;
	// ethN names follow probe order.
	ReasonIfnamesDisabled NotPredictableReason = "ifnames-disabled"
)

// NotPredictableError explains why a NIC's name is not predictable.
type NotPredictableError struct {
	Reason NotPredictableReason `json:"reason"`
	Detail string               `json:"detail"`
}

func (e *NotPredictableError) Error() string {
	return fmt.Sprintf("kvm: NIC name not predictable (%s): %s", e.Reason, e.Detail)
}

func notPredictable(r NotPredictableReason, format string, args ...any) *NotPredictableError {
	return &NotPredictableError{Reason: r, Detail: fmt.Sprintf(format, args...)}
}
