package kvm

import (
	"sort"
	"strconv"

	"libvirt.org/go/libvirtxml"
)

// Disk links come from systemd's 60-persistent-storage.rules:
//
//	virtio-blk  by-id  virtio-<serial>       (the device exposes 20 bytes)
//	            by-path pci-<BDF>, virtio-pci-<BDF>
//	virtio-scsi by-id  scsi-0QEMU_QEMU_HARDDISK_<serial> (scsi_id, VPD 0x83;
//	                   libvirt passes the serial as device_id)
//	            by-path pci-<HBA BDF>-scsi-0:<bus>:<target>:<lun>
//	SATA (AHCI) by-id  ata-QEMU_HARDDISK_<serial> (ata_id; IDENTIFY holds 20)
//	            by-path pci-<AHCI BDF>-ata-<port>.0, pci-<AHCI BDF>-ata-<port>
//
// path_id names only the PCI endpoint (it skips parent bridges), so by-path
// uses the guest BDF of the disk or its host adapter. Kernel names (vda,
// sdb) follow probe order and are given only as hints.

const (
	byIDDir   = "/dev/disk/by-id/"
	byPathDir = "/dev/disk/by-path/"
	// maxSerialBytes is what virtio-blk (VIRTIO_BLK_ID_BYTES) and ATA
	// IDENTIFY (words 10–19) can carry.
	maxSerialBytes = 20
)

func predictDisks(dom *libvirtxml.Domain, t *topology) []DiskPrediction {
	if dom.Devices == nil || len(dom.Devices.Disks) == 0 {
		return nil
	}
	out := make([]DiskPrediction, len(dom.Devices.Disks))
	var virtio []int // indexes of virtio-blk disks, for the vdX hint
	for i := range dom.Devices.Disks {
		d := &dom.Devices.Disks[i]
		p := &out[i]
		p.Serial = d.Serial
		if d.Target != nil {
			p.Target, p.Bus = d.Target.Dev, d.Target.Bus
		}
		if dev := d.Device; dev != "" && dev != "disk" {
			p.Warnings = append(p.Warnings, "device='"+dev+"' is not modelled: no links predicted")
			continue
		}
		switch p.Bus {
		case "virtio":
			predictVirtioDisk(p, d, t)
			if p.GuestPCI != nil {
				virtio = append(virtio, i)
			}
		case "scsi":
			predictSCSIDisk(p, d, dom.Devices.Controllers, t)
		case "sata":
			predictSATADisk(p, d, dom.Devices.Controllers, t)
		default:
			p.Warnings = append(p.Warnings, "bus='"+p.Bus+"' is not modelled: no links predicted")
		}
	}
	// virtio-blk disks usually appear as vda, vdb… in PCI order; probing
	// is parallel, so this is a hint only.
	sort.Slice(virtio, func(a, b int) bool {
		return pciLess(*out[virtio[a]].GuestPCI, *out[virtio[b]].GuestPCI)
	})
	for n, i := range virtio {
		out[i].KernelNameHint = "vd" + vdLetters(n)
	}
	return out
}

func predictVirtioDisk(p *DiskPrediction, d *libvirtxml.DomainDisk, t *topology) {
	xa, ok := xmlPCIAddr(d.Address)
	if !ok {
		p.Warnings = append(p.Warnings, "no PCI <address>: predict from the XML libvirt returns after define")
		return
	}
	ga, _, np := t.guestAddr(xa)
	if np != nil {
		p.Warnings = append(p.Warnings, "by-path not predictable: "+np.Detail)
	} else {
		p.GuestPCI = &ga
		s := ga.String()
		p.ByPath = byPathDir + "pci-" + s
		p.ByPathExtra = []string{byPathDir + "virtio-pci-" + s}
	}
	if id, ok := serialID(p, maxSerialBytes); ok {
		p.ByID = []string{byIDDir + "virtio-" + id}
	}
}

func predictSCSIDisk(p *DiskPrediction, d *libvirtxml.DomainDisk, ctrls []libvirtxml.DomainController, t *topology) {
	drv := xmlDriveAddr(d.Address)
	c := controllerByIndex(ctrls, "scsi", drv.controller)
	if c == nil {
		p.Warnings = append(p.Warnings, "no <controller type='scsi' index='"+strconv.FormatUint(uint64(drv.controller), 10)+"'>: no links predicted")
		return
	}
	if c.Model != "virtio-scsi" {
		p.Warnings = append(p.Warnings, "SCSI controller model '"+c.Model+"' is not modelled (only virtio-scsi): no links predicted")
		return
	}
	if ga, ok := controllerGuestAddr(p, c, t); ok {
		// path_id numbers the SCSI host relative to its parent device:
		// every virtio-scsi HBA is its own PCI function, so host is 0.
		p.ByPath = byPathDir + "pci-" + ga.String() + "-scsi-0:" + strconv.FormatUint(uint64(drv.bus), 10) + ":" +
			strconv.FormatUint(uint64(drv.target), 10) + ":" + strconv.FormatUint(uint64(drv.unit), 10)
	}
	if id, ok := serialID(p, 0); ok {
		p.ByID = []string{byIDDir + "scsi-0QEMU_QEMU_HARDDISK_" + id}
	}
	p.KernelNameHint = p.Target
}

func predictSATADisk(p *DiskPrediction, d *libvirtxml.DomainDisk, ctrls []libvirtxml.DomainController, t *topology) {
	drv := xmlDriveAddr(d.Address)
	c := controllerByIndex(ctrls, "sata", drv.controller)
	if c == nil {
		p.Warnings = append(p.Warnings, "no <controller type='sata' index='"+strconv.FormatUint(uint64(drv.controller), 10)+"'>: no links predicted")
		return
	}
	if ga, ok := controllerGuestAddr(p, c, t); ok {
		// libvirt's unit is the AHCI port; libata numbers ports from 1.
		port := strconv.FormatUint(uint64(drv.unit)+1, 10)
		p.ByPath = byPathDir + "pci-" + ga.String() + "-ata-" + port + ".0"
		p.ByPathExtra = []string{byPathDir + "pci-" + ga.String() + "-ata-" + port}
	}
	if id, ok := serialID(p, maxSerialBytes); ok {
		p.ByID = []string{byIDDir + "ata-QEMU_HARDDISK_" + id}
	}
	p.KernelNameHint = p.Target
}

// serialID returns the serial as it appears in by-id links, cut to limit
// bytes (0: no limit). It refuses serials udev would rewrite: whitespace
// splits SYMLINK values and other bytes are escaped.
func serialID(p *DiskPrediction, limit int) (string, bool) {
	s := p.Serial
	if s == "" {
		p.Warnings = append(p.Warnings, "no <serial>: udev creates no /dev/disk/by-id link; set one (≤ 20 bytes of [A-Za-z0-9_-])")
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if !serialSafe(s[i]) {
			p.Warnings = append(p.Warnings, "serial "+strconv.Quote(s)+" has characters udev rewrites: by-id link not predicted")
			return "", false
		}
	}
	if limit > 0 && len(s) > limit {
		p.Warnings = append(p.Warnings, "serial "+strconv.Quote(s)+" is longer than "+strconv.Itoa(limit)+" bytes: the guest sees "+strconv.Quote(s[:limit]))
		s = s[:limit]
	}
	return s, true
}

func serialSafe(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == ':' || c == '+' || c == '=' || c == '@' || c == '#'
}

type driveAddress struct{ controller, bus, target, unit uint }

func xmlDriveAddr(a *libvirtxml.DomainAddress) driveAddress {
	var d driveAddress
	if a == nil || a.Drive == nil {
		return d
	}
	for _, f := range []struct {
		src *uint
		dst *uint
	}{{a.Drive.Controller, &d.controller}, {a.Drive.Bus, &d.bus}, {a.Drive.Target, &d.target}, {a.Drive.Unit, &d.unit}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	return d
}

func controllerByIndex(ctrls []libvirtxml.DomainController, typ string, index uint) *libvirtxml.DomainController {
	for i := range ctrls {
		if c := &ctrls[i]; c.Type == typ && c.Index != nil && *c.Index == index {
			return c
		}
	}
	return nil
}

func controllerGuestAddr(p *DiskPrediction, c *libvirtxml.DomainController, t *topology) (PCIAddress, bool) {
	xa, ok := xmlPCIAddr(c.Address)
	if !ok {
		p.Warnings = append(p.Warnings, c.Type+" controller has no PCI <address>: by-path not predicted")
		return PCIAddress{}, false
	}
	ga, _, np := t.guestAddr(xa)
	if np != nil {
		p.Warnings = append(p.Warnings, "by-path not predictable: "+np.Detail)
		return PCIAddress{}, false
	}
	p.GuestPCI = &ga
	return ga, true
}

func pciLess(a, b PCIAddress) bool {
	if a.Domain != b.Domain {
		return a.Domain < b.Domain
	}
	if a.Bus != b.Bus {
		return a.Bus < b.Bus
	}
	if a.Slot != b.Slot {
		return a.Slot < b.Slot
	}
	return a.Function < b.Function
}

// vdLetters is the kernel's sd/vd suffix: a…z, aa…zz, …
func vdLetters(n int) string {
	s := ""
	for n >= 0 {
		s = string(rune('a'+n%26)) + s
		n = n/26 - 1
	}
	return s
}
