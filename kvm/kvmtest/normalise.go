package kvmtest

import (
	"fmt"
	"sort"
	"strings"

	"libvirt.org/go/libvirtxml"
)

// DeviceAddresses reduces a domain XML to what PCI-address conformance is
// about: one line per device that has (or should have) an address, naming
// the device, its model and index, and its address, sorted. Two libvirts
// agree on a layout exactly when these lists are equal; MACs, paths and
// other noise are left out on purpose.
func DeviceAddresses(domainXML string) ([]string, error) {
	var def libvirtxml.Domain
	if err := def.Unmarshal(domainXML); err != nil {
		return nil, fmt.Errorf("kvmtest: parse domain XML: %w", err)
	}
	var out []string
	add := func(what string, a *libvirtxml.DomainAddress) {
		out = append(out, what+" @ "+formatAddress(a))
	}
	if def.OS != nil && def.OS.Type != nil {
		out = append(out, "machine "+def.OS.Type.Machine)
	}
	if def.Devices == nil {
		return out, nil
	}
	dl := def.Devices
	for _, d := range dl.Disks {
		t := ""
		if d.Target != nil {
			t = d.Target.Dev + " bus=" + d.Target.Bus
		}
		add("disk "+d.Device+" "+t, d.Address)
	}
	for _, c := range dl.Controllers {
		s := fmt.Sprintf("controller %s index=%d model=%s", c.Type, u(c.Index), c.Model)
		if c.PCI != nil {
			if c.PCI.Model != nil {
				s += " name=" + c.PCI.Model.Name
			}
			if t := c.PCI.Target; t != nil {
				if t.Chassis != nil {
					s += fmt.Sprintf(" chassis=%d", *t.Chassis)
				}
				if t.ChassisNr != nil {
					s += fmt.Sprintf(" chassisNr=%d", *t.ChassisNr)
				}
				if t.Port != nil {
					s += fmt.Sprintf(" port=%#x", *t.Port)
				}
			}
		}
		add(s, c.Address)
	}
	for i, n := range dl.Interfaces {
		m := ""
		if n.Model != nil {
			m = n.Model.Type
		}
		add(fmt.Sprintf("interface #%d model=%s", i, m), n.Address)
	}
	for i, v := range dl.Videos {
		add(fmt.Sprintf("video #%d model=%s primary=%s", i, v.Model.Type, v.Model.Primary), v.Address)
	}
	for i, s := range dl.Sounds {
		add(fmt.Sprintf("sound #%d model=%s", i, s.Model), s.Address)
	}
	for i, ch := range dl.Channels {
		name := ""
		if ch.Target != nil && ch.Target.VirtIO != nil {
			name = "virtio " + ch.Target.VirtIO.Name
		}
		add(fmt.Sprintf("channel #%d %s", i, name), ch.Address)
	}
	if b := dl.MemBalloon; b != nil {
		add("memballoon model="+b.Model, b.Address)
	}
	for i, r := range dl.RNGs {
		add(fmt.Sprintf("rng #%d model=%s", i, r.Model), r.Address)
	}
	for i, w := range dl.Watchdogs {
		add(fmt.Sprintf("watchdog #%d model=%s", i, w.Model), w.Address)
	}
	for i, in := range dl.Inputs {
		if in.Bus == "virtio" {
			add(fmt.Sprintf("input #%d type=%s bus=virtio", i, in.Type), in.Address)
		}
	}
	sort.Strings(out)
	return out, nil
}

func formatAddress(a *libvirtxml.DomainAddress) string {
	switch {
	case a == nil:
		return "none"
	case a.PCI != nil:
		s := fmt.Sprintf("pci %04x:%02x:%02x.%d", u(a.PCI.Domain), u(a.PCI.Bus), u(a.PCI.Slot), u(a.PCI.Function))
		if a.PCI.MultiFunction != "" {
			s += " multifunction=" + a.PCI.MultiFunction
		}
		return s
	case a.Drive != nil:
		return fmt.Sprintf("drive %d:%d:%d:%d", u(a.Drive.Controller), u(a.Drive.Bus), u(a.Drive.Target), u(a.Drive.Unit))
	case a.VirtioSerial != nil:
		return fmt.Sprintf("virtio-serial %d:%d:%d", u(a.VirtioSerial.Controller), u(a.VirtioSerial.Bus), u(a.VirtioSerial.Port))
	}
	return "other " + strings.TrimSpace(addressType(a))
}
