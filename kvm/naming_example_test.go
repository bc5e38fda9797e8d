package kvm_test

import (
	"fmt"

	"libvirt.org/go/libvirtxml"

	"github.com/okvm/okvm/kvm"
)

// definedXML is trimmed from what libvirt 9.0 returned after defining a q35
// domain with two virtio NICs and a virtio disk: libvirt added the root
// ports and chose every address.
const definedXML = `<domain type='qemu'>
  <name>master-0</name>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
  <features><acpi/><apic/></features>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/master-0.qcow2'/>
      <target dev='vda' bus='virtio'/>
      <serial>master-0-root</serial>
      <address type='pci' domain='0x0000' bus='0x03' slot='0x00' function='0x0'/>
    </disk>
    <controller type='pci' index='0' model='pcie-root'/>
    <controller type='pci' index='1' model='pcie-root-port'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0' multifunction='on'/>
    </controller>
    <controller type='pci' index='2' model='pcie-root-port'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x1'/>
    </controller>
    <controller type='pci' index='3' model='pcie-root-port'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x2'/>
    </controller>
    <interface type='network'>
      <mac address='52:54:00:0a:02:01'/>
      <source network='okd'/>
      <model type='virtio'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </interface>
    <interface type='network'>
      <mac address='52:54:00:0a:02:02'/>
      <source network='okd'/>
      <model type='virtio'/>
      <acpi index='7'/>
      <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>
    </interface>
  </devices>
</domain>`

func ExamplePredictNames() {
	dom := &libvirtxml.Domain{}
	if err := dom.Unmarshal(definedXML); err != nil {
		panic(err)
	}
	p, err := kvm.PredictNames(dom, kvm.WithGuestOS(kvm.SCOS9))
	if err != nil {
		panic(err)
	}
	for _, n := range p.NICs {
		fmt.Printf("%s at %s → %s (%s rule)\n", n.MAC, n.GuestPCI, n.Name, n.Rule)
	}
	for _, d := range p.Disks {
		fmt.Println(d.Target, "→", d.ByID[0])
	}
	// Output:
	// 52:54:00:0a:02:01 at 0000:01:00.0 → enp1s0 (path rule)
	// 52:54:00:0a:02:02 at 0000:02:00.0 → eno7 (onboard rule)
	// vda → /dev/disk/by-id/virtio-master-0-root
}
