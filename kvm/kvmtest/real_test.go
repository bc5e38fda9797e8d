package kvmtest

import (
	"fmt"
	"net/url"
	"os"
	"testing"

	libvirt "github.com/digitalocean/go-libvirt"

	"github.com/okvm/okvm/internal/labtest"
	"github.com/okvm/okvm/kvm"
)

// dialReal connects go-libvirt to the lab libvirtd with the given driver
// URI ("test:///default", "qemu:///system").
func dialReal(t *testing.T, socket, driver string) kvm.Libvirt {
	t.Helper()
	u, err := url.Parse(driver)
	if err != nil {
		t.Fatal(err)
	}
	u.Scheme += "+unix"
	u.RawQuery = url.Values{"socket": {socket}}.Encode()
	l, err := libvirt.ConnectToURI(u)
	if err != nil {
		t.Fatalf("connect %s: %v", u, err)
	}
	return l
}

// TestConformanceTestDriver runs the suite against libvirt's test driver
// through the lab daemon: a real libvirt XML parser and object model, but
// no PCI addressing, no leases and no volume upload.
func TestConformanceTestDriver(t *testing.T) {
	sock := labtest.Socket(t)
	// The test driver's state lives while a connection is open: keep one
	// for the whole run so the suite's connections share it.
	keep := dialReal(t, sock, "test:///default")
	defer keep.Disconnect()
	RunConformance(t, Harness{
		Name:    "test-driver",
		Connect: func(t *testing.T) kvm.Libvirt { return dialReal(t, sock, "test:///default") },
		Caps:    []Capability{CapStartDomains, CapACPIShutdown, CapNetworks, CapPools},
	})
}

// TestConformanceQEMU runs the suite against the QEMU driver of the lab
// daemon: domains really start under TCG, networks really start (inside
// the lab's network namespace) and PCI addresses are libvirt's own.
func TestConformanceQEMU(t *testing.T) {
	sock := labtest.Socket(t)
	RunConformance(t, Harness{
		Name:       "qemu",
		Connect:    func(t *testing.T) kvm.Libvirt { return dialReal(t, sock, "qemu:///system") },
		Caps:       []Capability{CapStartDomains, CapPCIAddressing, CapNetworks, CapUnknownNetworkAtStart, CapPools, CapVolumeUpload, CapDriverSemantics},
		ReadVolume: os.ReadFile,
	})
}

// BenchmarkDefineQEMU is BenchmarkDefine against the lab's QEMU driver,
// for scale: the fake is meant to be much cheaper than the real thing.
func BenchmarkDefineQEMU(b *testing.B) {
	sock := labtest.Socket(b)
	u, _ := url.Parse("qemu+unix:///system")
	u.RawQuery = url.Values{"socket": {sock}}.Encode()
	c, err := libvirt.ConnectToURI(u)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Disconnect()
	disks := "<disk type='file' device='disk'><source file='/v/a'/><target dev='vda' bus='virtio'/></disk>" +
		"<disk type='file' device='disk'><source file='/v/b'/><target dev='vdb' bus='virtio'/></disk>"
	nics := ""
	for i := 0; i < 4; i++ {
		nics += nicXML("okd", "")
	}
	for i := 0; b.Loop(); i++ {
		d, err := c.DomainDefineXMLFlags(tinyDomainXML(fmt.Sprintf("ktbench-%d", i), "q35", nics+disks), 0)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.DomainUndefineFlags(d, 0); err != nil {
			b.Fatal(err)
		}
	}
}
