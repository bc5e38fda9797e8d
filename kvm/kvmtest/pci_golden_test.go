package kvmtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPCIGolden holds the fake to what libvirt 9.0 (Debian 12) assigned
// for the layouts in testdata/pci: *.in.xml was defined through the QEMU
// driver and *.libvirt.xml is its DomainGetXMLDesc. The live conformance
// suite repeats this against a running libvirtd; the golden files keep the
// fake honest on machines without one.
func TestPCIGolden(t *testing.T) {
	ins, _ := filepath.Glob("testdata/pci/*.in.xml")
	if len(ins) == 0 {
		t.Fatal("no golden layouts")
	}
	for _, in := range ins {
		name := strings.TrimSuffix(filepath.Base(in), ".in.xml")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("testdata/pci", name+".libvirt.xml"))
			if err != nil {
				t.Fatal(err)
			}
			c := New(WithoutNetworkCheck()).Conn()
			d, err := c.DomainDefineXMLFlags(string(src), 0)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.DomainGetXMLDesc(d, 0)
			if err != nil {
				t.Fatal(err)
			}
			if diff := diffLists(mustList(t, string(want)), mustList(t, got)); diff != "" {
				t.Errorf("fake differs from libvirt (-libvirt +fake):\n%s", diff)
			}
		})
	}
}

func mustList(t *testing.T, xml string) []string {
	t.Helper()
	l, err := DeviceAddresses(xml)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
