package kvmtest

import "libvirt.org/go/libvirtxml"

// assignAddresses is being written (PCI addressing like libvirt 9.0).
func assignAddresses(def *libvirtxml.Domain) error { return nil }
