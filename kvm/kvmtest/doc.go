// Package kvmtest is an in-memory libvirtd for testing code built on kvm,
// and the conformance suite that keeps it honest against a real one.
//
// # Why a fake, not a mock
//
// kvm talks to libvirt through kvm.Libvirt, the exact go-libvirt methods
// it calls. A mock of that interface would only replay what a test author
// believes libvirt does. The Fake instead keeps state the way libvirtd
// does: domains, networks, storage pools and volumes shared by all of its
// connections; XML parsed with libvirtxml and completed the way libvirt's
// QEMU driver completes it at define time (UUID, MACs in 52:54:00, the
// expanded machine type, implicit controllers, and PCI addresses assigned
// with libvirt 9.0's algorithm); a domain state machine with lifecycle
// events; leases handed out from DHCP reservations and ranges; and
// libvirt's error codes and messages (libvirt.Error{Code, Message}, as
// go-libvirt decodes them from the wire). kvm's own logic, including NIC
// name prediction from PCI addresses, therefore runs unchanged on it.
//
// # Why a conformance suite
//
// A fake is only as good as its last comparison with the real thing.
// RunConformance is one suite, run on the fake always and, in `make test`,
// against the lab libvirtd (scripts/lab.sh) through the test driver and
// the QEMU driver, where domains really start under TCG. What a backend
// cannot do is a Capability it does not declare, and those tests are
// skipped with a reason; the fake declares everything. The PCI test
// defines the same layouts on the backend and on a fresh fake and requires
// identical device lists; testdata/pci holds libvirt 9.0's answers for
// them, so the fake is checked even where no daemon runs.
//
// # Failure injection
//
// FailNext makes the next call of a method fail with a given error, Hang
// makes calls of a method block until released or until their connection
// drops, and Restart drops every connection like a libvirtd restart
// (running domains keep running). Options make the guest slow to honour
// ACPI shutdown (WithShutdownDelay) or deaf to it (WithACPIIgnored).
//
// # Known differences from libvirt
//
//   - Leases appear the moment a domain starts (no DHCP exchange) and are
//     dropped when it stops (dnsmasq would keep them until expiry).
//   - By default a domain whose interface names an undefined network is
//     refused at define (ErrNoNetwork); libvirt only notices at start.
//     WithoutNetworkCheck restores libvirt's behaviour.
//   - Only dir pools, raw and qcow2 volumes; volumes live in memory
//     (VolumeBytes reads them back); no XML schema validation for
//     DomainDefineValidate; NetworkUpdateCompat supports the ip-dhcp-host
//     and dns-host sections only.
//   - PCI addressing covers the devices OKD nodes use (NICs, disks, SCSI,
//     SATA, IDE, USB, virtio-serial, video, sound, watchdog, RNG, balloon,
//     PCI controllers); hostdev placement assumes PCIe host devices.
package kvmtest
