package kvm_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"libvirt.org/go/libvirtxml"

	"github.com/okvm/okvm/kvm"
	"github.com/okvm/okvm/kvm/kvmtest"
)

// A control-plane node: the XML okvm generates, and the bits of it the
// guest depends on.
func ExampleDomainSpec_XML() {
	spec := kvm.DomainSpec{
		Name:      "master-0",
		MemoryMiB: 16384,
		VCPUs:     4,
		Type:      "kvm",
		Firmware:  "uefi",
		Disks: []kvm.DiskSpec{
			{Path: "/var/lib/okvm/master-0.qcow2", BootOrder: 1},
		},
		NICs:           []kvm.NICSpec{{Network: "okd"}},
		StableNICNames: true, // the guest calls the NIC eno1
		Ignition:       &kvm.IgnitionSpec{File: "/var/lib/okvm/master.ign"},
		Labels:         map[string]string{"cluster": "lab"},
	}
	x, err := spec.XML()
	if err != nil {
		log.Fatal(err)
	}
	var d libvirtxml.Domain
	if err := d.Unmarshal(x); err != nil {
		log.Fatal(err)
	}
	disk, nic := d.Devices.Disks[0], d.Devices.Interfaces[0]
	fmt.Println("machine:", d.OS.Type.Machine, "firmware:", d.OS.Firmware)
	fmt.Println("disk:", disk.Source.File.File, "serial:", disk.Serial)
	fmt.Println("nic:", nic.MAC.Address, "on", nic.Source.Network.Network, "acpi index:", nic.ACPI.Index)
	fmt.Println("fw_cfg:", d.SysInfo[0].FWCfg.Entry[0].Name, "=", d.SysInfo[0].FWCfg.Entry[0].File)
	fmt.Println("labels in metadata:", strings.Contains(d.Metadata.XML, `key="cluster" value="lab"`))
	// Output:
	// machine: q35 firmware: efi
	// disk: /var/lib/okvm/master-0.qcow2 serial: master-0-d0
	// nic: 52:54:00:ef:bb:22 on okd acpi index: 1
	// fw_cfg: opt/com.coreos/config = /var/lib/okvm/master.ign
	// labels in metadata: true
}

// Bad input is refused before anything is created, naming field and value.
func ExampleDomainSpec_Validate() {
	spec := kvm.DomainSpec{Name: "worker-0", MemoryMiB: 8192, VCPUs: 2,
		Disks: []kvm.DiskSpec{{Path: "/img/w0.qcow2", Serial: "okd-worker-0-root-disk"}}}
	fmt.Println(spec.Validate())
	// Output:
	// kvm: invalid disks[0].serial "okd-worker-0-root-disk": is 22 bytes; the guest sees at most 20
}

// Connect to the local system libvirtd and list the domains of a cluster.
func ExampleDial() {
	ctx := context.Background()
	c, err := kvm.Dial(ctx, "qemu:///system")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	doms, err := c.ListDomains(ctx, map[string]string{"cluster": "lab"})
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range doms {
		fmt.Println(d.Name, d.Active)
	}
}

// Define, start and wait for an address, on kvmtest's in-memory libvirtd
// (the same code runs against qemu:///system).
func ExampleClient_Define() {
	ctx := context.Background()
	fake := kvmtest.New()
	c, err := kvm.NewClient(ctx, fake.Dialer())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	net := kvm.NetworkSpec{Name: "okd", CIDR: "192.168.126.0/24",
		Reservations: []kvm.DHCPHost{{MAC: kvm.NICMAC("bootstrap", 0), IP: "192.168.126.10", Name: "bootstrap"}}}
	if err := c.DefineNetwork(ctx, net); err != nil {
		log.Fatal(err)
	}
	if err := c.StartNetwork(ctx, "okd"); err != nil {
		log.Fatal(err)
	}
	spec := kvm.DomainSpec{Name: "bootstrap", MemoryMiB: 16384, VCPUs: 4,
		Disks: []kvm.DiskSpec{{Path: "/var/lib/okvm/bootstrap.qcow2", BootOrder: 1}},
		NICs:  []kvm.NICSpec{{Network: "okd"}}}
	d, err := c.Define(ctx, spec)
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Start(ctx, "bootstrap"); err != nil {
		log.Fatal(err)
	}
	ip, err := c.WaitForIP(ctx, "bootstrap", "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d.Name, d.Type, d.OS.Type.Machine, ip)
	// Output:
	// bootstrap qemu pc-q35-7.2 192.168.126.10
}

// Dial honours its context even when the daemon never answers: here a
// socket that accepts connections and stays silent, as a hung libvirtd does.
// go-libvirt alone would wait forever.
func ExampleDial_deadline() {
	dir, err := os.MkdirTemp("", "okvm-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "libvirt-sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accept, never answer
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = kvm.Dial(ctx, "qemu+unix:///system?socket="+sock)
	fmt.Println("gave up at the deadline:", errors.Is(err, context.DeadlineExceeded))
	// Output: gave up at the deadline: true
}
