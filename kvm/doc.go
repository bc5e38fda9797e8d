// Package kvm builds and runs libvirt domains, networks and volumes for okvm,
// in pure Go over libvirt's RPC protocol (github.com/digitalocean/go-libvirt).
//
// # Why it is shaped this way
//
// go-libvirt is a faithful, generated binding: no contexts, no reconnects,
// one not-found code. kvm adds what an installer needs on top of it:
//
//   - Deadlines. Every Client method takes a context and returns when it
//     ends, even when libvirtd never answers. go-libvirt cannot cancel a
//     request, so the call runs in its own goroutine; an abandoned call
//     poisons its connection, which is dropped (the socket is closed if
//     libvirtd does not answer the close either) and the next call redials.
//   - Reconnects. When libvirtd restarts, the next call redials, and event
//     subscriptions register again on the new connection on their own.
//   - One narrow seam. kvm calls libvirt only through the Libvirt interface,
//     exactly the go-libvirt methods it uses. kvmtest implements it in
//     memory, so all of kvm's logic (validation, idempotent define, waits,
//     redials) runs unchanged in tests without a hypervisor.
//   - Declarative, idempotent specs. DomainSpec and NetworkSpec are plain
//     data with Validate. Define/DefineNetwork store a hash of the
//     normalised spec in the object's <metadata> (okvm namespace, next to
//     the labels), so "same spec again" is a cheap, exact no-op, a changed
//     spec redefines a stopped object under the same UUID, and a running
//     one is refused (ErrConflict) instead of silently diverging. Comparing
//     libvirt's rewritten XML instead would be fragile: libvirt adds PCI
//     addresses, controllers and aliases.
//   - Bad input fails early. Validation names the field and value
//     (*FieldError, errors.Is ErrInvalid); Define also checks that networks,
//     pools and base volumes exist before creating anything (the libvirt
//     test driver accepts a domain on a missing network; kvm does not), and
//     deletes the volumes it created if the definition then fails.
//   - Errors by class. libvirt's codes map to ErrNotFound (every object
//     kind, not only domains), ErrExists, ErrUnsupported, ErrInvalid,
//     ErrConflict and ErrDisconnected, identically for the fake.
//
// # Domain XML choices
//
// XML is built with libvirtxml only. Disks are type='file' with the path
// from StorageVolGetPath (type='volume' defeats AppArmor's virt-aa-helper)
// and always carry a serial (≤ 20 bytes), so the guest finds them at
// /dev/disk/by-id/virtio-<serial>. MACs default to a hash of the domain name
// and NIC index under QEMU's 52:54:00 prefix, so DHCP reservations can be
// made before a domain exists. StableNICNames sets <acpi index='N'/> so
// the guest names NIC N eno<N>. Ignition goes through fw_cfg
// (<sysinfo type='fwcfg'>, entry opt/com.coreos/config).
//
// # NIC and disk names before the first boot
//
// On VMware every node's NIC was ens192; on KVM the name depends on where
// libvirt put the device, so teams booted each VM to read it before they
// could write its network config. PredictNames (and Client.PredictNames)
// reads the domain as libvirt defined it — PCI addresses fixed — numbers the
// buses the way the firmware does, models the kernel's PCI slot registry and
// applies systemd-udev's net_id rules for the guest's naming scheme
// (FCOS 38–42, SCOS 9/rhel-9.x, or any v238…v257), giving each NIC its
// name, the candidates and the rule that won, and each disk its
// /dev/disk/by-id and by-path links. Where the XML truly does not decide a
// name the answer is a typed NotPredictableError, never a guess. The rules
// were checked against real guests booted under TCG (docs/verify-names.md,
// make verify-names). okvm also binds node network config to the MAC, so a
// wrong name cannot strand a node.
package kvm
