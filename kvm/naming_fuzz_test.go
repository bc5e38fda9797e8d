package kvm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"libvirt.org/go/libvirtxml"
)

// FuzzPredictNames feeds arbitrary domain XML (seeded with the layouts real
// libvirt defined) through PredictNames: it must never panic, and every NIC
// must end up either named by one of its own candidates or explained by a
// NotPredictableError — never both, never neither.
func FuzzPredictNames(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "naming", "*.xml"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b), "v257")
		}
	}
	f.Add(`<domain><os><type machine='pc'>hvm</type></os><devices><interface><address type='pci' bus='0x09' slot='0x1f'/></interface></devices></domain>`, "latest")
	f.Fuzz(func(t *testing.T, xml, scheme string) {
		d := &libvirtxml.Domain{}
		if d.Unmarshal(xml) != nil {
			return
		}
		p, err := PredictNames(d, WithNamingScheme(scheme))
		if err != nil {
			return
		}
		for _, n := range p.NICs {
			named := n.Name != ""
			if named == (n.NotPredictable != nil) {
				t.Fatalf("NIC %s: name %q and NotPredictable %v", n.MAC, n.Name, n.NotPredictable)
			}
			if named && n.Name != n.Candidates.Onboard && n.Name != n.Candidates.Slot && n.Name != n.Candidates.Path {
				t.Fatalf("NIC %s: name %q is none of its candidates %+v", n.MAC, n.Name, n.Candidates)
			}
			if named && !strings.HasPrefix(n.Name, "en") {
				t.Fatalf("NIC %s: name %q", n.MAC, n.Name)
			}
		}
	})
}
