package kvm

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time this process has used (user + system). The
// benchmark reports throughput per CPU-second as well as per wall-second,
// because on a shared machine wall time measures the neighbours too.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

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
	cpu0 := cpuTime()
	for b.Loop() {
		p, err := PredictNames(d, WithNamingScheme("rhel-9.0"))
		if err != nil || p.NICs[3].Name != "enp4s0" {
			b.Fatal(err, p.NICs[3].Name)
		}
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "domains/s")
	if cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "domains/cpu-s")
	}
}
