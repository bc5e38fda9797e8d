package kvmtest

import (
	"embed"
	"path"
	"sort"
	"strings"
	"testing"

	libvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"
)

// The layouts are the golden inputs in testdata/pci: q35 and pc, one to
// four NICs, virtio/SCSI/SATA/IDE disks, e1000 and rtl8139 (conventional
// PCI, behind a pcie-to-pci-bridge on q35), explicit addresses, a
// multifunction NIC pair, a guest-agent channel, video and RNG.
//
//go:embed testdata/pci/*.in.xml
var layoutFS embed.FS

// Layout is one domain definition whose addresses are compared.
type Layout struct {
	Name string
	XML  string // a complete <domain>; its <name> is replaced per run
}

// PCILayouts returns the layouts of the PCI conformance test.
func PCILayouts() []Layout {
	files, _ := layoutFS.ReadDir("testdata/pci")
	var out []Layout
	for _, f := range files {
		b, err := layoutFS.ReadFile(path.Join("testdata/pci", f.Name()))
		if err != nil {
			continue
		}
		out = append(out, Layout{Name: strings.TrimSuffix(f.Name(), ".in.xml"), XML: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// renameDomain sets the domain's name and points its network interfaces
// at network.
func renameDomain(xml, name, network string) (string, error) {
	var def libvirtxml.Domain
	if err := def.Unmarshal(xml); err != nil {
		return "", err
	}
	def.Name = name
	if def.Devices != nil {
		for i := range def.Devices.Interfaces {
			if src := def.Devices.Interfaces[i].Source; src != nil && src.Network != nil {
				src.Network.Network = network
			}
		}
	}
	return def.Marshal()
}

// pciAddresses defines every layout on the backend and on a fresh fake and
// requires identical device lists (every device and controller: kind,
// model, index, address, multifunction, root port chassis/port).
func (s *suite) pciAddresses(t *testing.T) {
	s.h.need(t, CapPCIAddressing)
	c := s.conn(t)
	// Interfaces need a defined network on backends that check at define.
	netName := s.name(t, "pcinet")
	if s.h.has(CapNetworks) {
		cleanupNetwork(t, c, netName)
		_, err := c.NetworkDefineXML(s.netXML(netName))
		must(t, "define network", err)
	}
	for _, l := range PCILayouts() {
		t.Run(l.Name, func(t *testing.T) {
			name := s.name(t, "pci-"+strings.ToLower(l.Name))
			cleanupDomain(t, c, name)
			x, err := renameDomain(l.XML, name, netName)
			must(t, "rename", err)
			d, err := c.DomainDefineXMLFlags(x, 0)
			must(t, s.h.Name+" define", err)
			real, err := c.DomainGetXMLDesc(d, libvirt.DomainXMLInactive)
			must(t, s.h.Name+" GetXMLDesc", err)
			must(t, "undefine", c.DomainUndefineFlags(d, 0))

			fc := New(WithoutNetworkCheck()).Conn()
			fd, err := fc.DomainDefineXMLFlags(x, 0)
			must(t, "fake define", err)
			fake, err := fc.DomainGetXMLDesc(fd, libvirt.DomainXMLInactive)
			must(t, "fake GetXMLDesc", err)

			want, err := DeviceAddresses(real)
			must(t, "normalise "+s.h.Name, err)
			got, err := DeviceAddresses(fake)
			must(t, "normalise fake", err)
			if diff := diffLists(want, got); diff != "" {
				t.Errorf("fake differs from %s (-%s +fake):\n%s", s.h.Name, s.h.Name, diff)
			}
		})
	}
}
