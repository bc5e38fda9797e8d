package kvmtest

import (
	"fmt"
	"testing"
)

// BenchmarkDefine measures DomainDefineXMLFlags + undefine on the fake for
// a 4-NIC q35 node with two virtio disks (the full post-parse, including
// two-pass PCI address assignment).
func BenchmarkDefine(b *testing.B) {
	c := New(WithoutNetworkCheck()).Conn()
	disks := "<disk type='file' device='disk'><source file='/v/a'/><target dev='vda' bus='virtio'/></disk>" +
		"<disk type='file' device='disk'><source file='/v/b'/><target dev='vdb' bus='virtio'/></disk>"
	nics := ""
	for i := 0; i < 4; i++ {
		nics += nicXML("okd", "")
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		x := tinyDomainXML(fmt.Sprintf("node-%d", i), "q35", nics+disks)
		d, err := c.DomainDefineXMLFlags(x, 0)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.DomainUndefineFlags(d, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLifecycle measures define, start, destroy, undefine.
func BenchmarkLifecycle(b *testing.B) {
	f := New(WithoutNetworkCheck())
	c := f.Conn()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d, err := c.DomainDefineXMLFlags(tinyDomainXML(fmt.Sprintf("n-%d", i), "q35"), 0)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.DomainCreate(d); err != nil {
			b.Fatal(err)
		}
		if err := c.DomainDestroy(d); err != nil {
			b.Fatal(err)
		}
		if err := c.DomainUndefineFlags(d, 0); err != nil {
			b.Fatal(err)
		}
	}
}
