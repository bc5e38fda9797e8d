package kvmtest_test

import (
	"fmt"

	"libvirt.org/go/libvirtxml"

	"github.com/okvm/okvm/kvm/kvmtest"
)

// Define a q35 domain with two virtio NICs on the fake and print the PCI
// addresses libvirt 9.0 would have given them: each NIC sits alone behind
// its own pcie-root-port (buses 1 and 2), which is what lets kvm predict
// the guest's interface names (enp1s0, enp2s0) before it boots.
func Example() {
	f := kvmtest.New(kvmtest.WithoutNetworkCheck())
	c := f.Conn()
	defer c.Disconnect()

	dom, err := c.DomainDefineXMLFlags(`<domain type='qemu'>
  <name>master-0</name>
  <memory unit='GiB'>16</memory>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
    <interface type='network'><source network='okd'/><model type='virtio'/></interface>
    <interface type='network'><source network='storage'/><model type='virtio'/></interface>
  </devices>
</domain>`, 0)
	if err != nil {
		panic(err)
	}
	x, err := c.DomainGetXMLDesc(dom, 0)
	if err != nil {
		panic(err)
	}
	var def libvirtxml.Domain
	if err := def.Unmarshal(x); err != nil {
		panic(err)
	}
	fmt.Println("machine:", def.OS.Type.Machine)
	for _, nic := range def.Devices.Interfaces {
		a := nic.Address.PCI
		fmt.Printf("NIC on %s: %04x:%02x:%02x.%x\n", nic.Source.Network.Network, *a.Domain, *a.Bus, *a.Slot, *a.Function)
	}
	for _, ctl := range def.Devices.Controllers {
		if ctl.Model == "pcie-root-port" {
			a := ctl.Address.PCI
			fmt.Printf("root port %d (bus %d): 00:%02x.%x chassis=%d port=%#x\n", *ctl.Index, *ctl.Index, *a.Slot, *a.Function, *ctl.PCI.Target.Chassis, *ctl.PCI.Target.Port)
		}
	}
	// Output:
	// machine: pc-q35-7.2
	// NIC on okd: 0000:01:00.0
	// NIC on storage: 0000:02:00.0
	// root port 1 (bus 1): 00:01.0 chassis=1 port=0x8
	// root port 2 (bus 2): 00:01.1 chassis=2 port=0x9
	// root port 3 (bus 3): 00:01.2 chassis=3 port=0xa
	// root port 4 (bus 4): 00:01.3 chassis=4 port=0xb
	// root port 5 (bus 5): 00:01.4 chassis=5 port=0xc
}

// The fake's lease server: a domain started on a network with a DHCP
// reservation gets the reserved address at once.
func ExampleFake_leases() {
	f := kvmtest.New()
	c := f.Conn()
	defer c.Disconnect()
	n, _ := c.NetworkDefineXML(`<network><name>okd</name><forward mode='nat'/>
  <ip address='192.168.126.1' prefix='24'><dhcp>
    <range start='192.168.126.100' end='192.168.126.199'/>
    <host mac='52:54:00:00:00:0a' name='master-0' ip='192.168.126.10'/>
  </dhcp></ip></network>`)
	_ = c.NetworkCreate(n)
	d, _ := c.DomainDefineXMLFlags(`<domain type='qemu'><name>master-0</name><memory unit='MiB'>64</memory>
  <os><type machine='q35'>hvm</type></os><devices>
  <interface type='network'><mac address='52:54:00:00:00:0a'/><source network='okd'/><model type='virtio'/></interface>
  </devices></domain>`, 0)
	_ = c.DomainCreate(d)
	leases, _, _ := c.NetworkGetDhcpLeases(n, nil, -1, 0)
	for _, l := range leases {
		fmt.Println(l.Mac[0], l.Ipaddr, l.Hostname[0])
	}
	// Output: 52:54:00:00:00:0a 192.168.126.10 master-0
}
