package kvmtest

import (
	"testing"

	"libvirt.org/go/libvirtxml"
)

// FuzzDefine feeds arbitrary domain XML to the fake. It must never panic,
// and like libvirt, whatever it accepts must be stable: defining the XML
// it returns again (as a new domain) keeps every address.
func FuzzDefine(f *testing.F) {
	for _, l := range PCILayouts() {
		f.Add(l.XML)
	}
	f.Add("<domain type='qemu'><name>x</name><memory>1</memory></domain>")
	f.Fuzz(func(t *testing.T, xml string) {
		c := New(WithoutNetworkCheck(), WithSeed(1)).Conn()
		d, err := c.DomainDefineXMLFlags(xml, 0)
		if err != nil {
			return
		}
		out, err := c.DomainGetXMLDesc(d, 0)
		if err != nil {
			t.Fatalf("GetXMLDesc of an accepted domain: %v", err)
		}
		first, err := DeviceAddresses(out)
		if err != nil {
			t.Fatalf("fake produced unparseable XML: %v\n%s", err, out)
		}
		var def libvirtxml.Domain
		if err := def.Unmarshal(out); err != nil {
			t.Fatal(err)
		}
		def.Name += "-again"
		def.UUID = ""
		again, err := def.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		d2, err := c.DomainDefineXMLFlags(again, 0)
		if err != nil {
			t.Fatalf("the fake refused its own output: %v\n%s", err, again)
		}
		out2, err := c.DomainGetXMLDesc(d2, 0)
		if err != nil {
			t.Fatal(err)
		}
		second, err := DeviceAddresses(out2)
		if err != nil {
			t.Fatal(err)
		}
		if diff := diffLists(first, second); diff != "" {
			t.Fatalf("redefining the fake's output moved devices:\n%s\ninput:\n%s", diff, xml)
		}
	})
}
