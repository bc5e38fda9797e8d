package kvmtest

import "libvirt.org/go/libvirtxml"

// ConnectGetCapabilities describes an x86_64 host whose QEMU offers TCG
// ('qemu') and, with WithKVM, hardware virtualisation ('kvm'): kvm uses it
// to choose the domain type, so both answers must be available in tests.
func (c *Conn) ConnectGetCapabilities() (string, error) {
	if err := c.enter("ConnectGetCapabilities"); err != nil {
		return "", err
	}
	domains := []libvirtxml.CapsGuestDomain{{Type: "qemu"}}
	if c.f.opts.kvm {
		domains = append(domains, libvirtxml.CapsGuestDomain{Type: "kvm"})
	}
	caps := libvirtxml.Caps{
		Host: libvirtxml.CapsHost{
			UUID: "00000000-0000-4000-8000-00000000000a",
			CPU:  &libvirtxml.CapsHostCPU{Arch: "x86_64", Model: "qemu64"},
		},
		Guests: []libvirtxml.CapsGuest{{
			OSType: "hvm",
			Arch: libvirtxml.CapsGuestArch{
				Name:     "x86_64",
				WordSize: "64",
				Emulator: "/usr/bin/qemu-system-x86_64",
				Machines: []libvirtxml.CapsGuestMachine{
					{Name: "pc-i440fx-7.2", MaxCPUs: 255},
					{Name: "pc", Canonical: "pc-i440fx-7.2", MaxCPUs: 255},
					{Name: "pc-q35-7.2", MaxCPUs: 288},
					{Name: "q35", Canonical: "pc-q35-7.2", MaxCPUs: 288},
				},
				Domains: domains,
			},
		}},
	}
	s, err := caps.Marshal()
	if err != nil {
		return "", errInternal("failed to format capabilities: %v", err)
	}
	return s + "\n", nil
}
