package kvm

import (
	"testing"
)

// BenchmarkPredictNames measures one prediction for a 4-NIC, 3-disk domain
// (q35, virtio-blk + virtio-scsi + SATA) as libvirt defined it. The XML is
// parsed once: the benchmark is the prediction, not encoding/xml.
// Figures: docs/bench/naming.md.
func BenchmarkPredictNames(b *testing.B) {
	d := loadNamingXML(b, "q35-4nic-disks")
	// Keep vda (long serial), sda (virtio-scsi) and sdc (SATA).
	var disks = d.Devices.Disks[:0:0]
	for _, x := range d.Devices.Disks {
		if x.Target.Dev == "vda" || x.Target.Dev == "sda" || x.Target.Dev == "sdc" {
			disks = append(disks, x)
		}
	}
	d.Devices.Disks = disks
	if len(d.Devices.Interfaces) != 4 || len(d.Devices.Disks) != 3 {
		b.Fatalf("fixture has %d NICs, %d disks", len(d.Devices.Interfaces), len(d.Devices.Disks))
	}
	b.ReportAllocs()
	for b.Loop() {
		p, err := PredictNames(d, WithNamingScheme("rhel-9.0"))
		if err != nil || p.NICs[3].Name != "enp4s0" {
			b.Fatal(err, p.NICs[3].Name)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "domains/s")
}
