package kvm_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	libvirt "github.com/digitalocean/go-libvirt"
	"github.com/okvm/okvm/internal/labtest"
	"github.com/okvm/okvm/kvm"
)

// benchSpec: 2 NICs, 3 disks, UEFI, Ignition, labels.
func benchSpec(name string) kvm.DomainSpec {
	return kvm.DomainSpec{
		Name: name, MemoryMiB: 16384, VCPUs: 4, Type: "qemu", Firmware: "uefi",
		Disks: []kvm.DiskSpec{
			{Path: "/var/lib/okvm/" + name + ".qcow2", BootOrder: 1},
			{Path: "/var/lib/okvm/" + name + "-etcd.raw", Bus: "scsi"},
			{Path: "/var/lib/okvm/" + name + "-data.qcow2"},
		},
		NICs:     []kvm.NICSpec{{Network: "default"}, {Network: "default", Model: "e1000e"}},
		Ignition: &kvm.IgnitionSpec{Value: `{"ignition":{"version":"3.2.0"}}`},
		Labels:   map[string]string{"cluster": "bench", "role": "master"},
	}
}

// Spec → validated, defaulted libvirt XML. Goal ≥ 20,000/s on one core:
// go test ./kvm/ -run '^$' -bench BenchmarkDomainXML -cpu 1
//
// The machine these run on is shared, so wall time per op overstates the
// cost; cpu-ns/op (process user+system CPU time, GC included, from
// getrusage) is what the goal is checked against.
func BenchmarkDomainXML(b *testing.B) {
	spec := benchSpec("master-0")
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		if _, err := spec.XML(); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	cpu := cpuTime() - start
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	if cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "ops/cpu-s")
	}
}

// Define + undefine of the same domain on the lab's test driver, through
// kvm (validate, network check, idempotency lookups, read-back) and through
// raw go-libvirt calls (define XML, lookup, undefine) in the same run.
func BenchmarkDefineUndefine(b *testing.B) {
	sock := labtest.Socket(b)
	uri := "test+unix:///default?socket=" + sock
	ctx := context.Background()
	name := fmt.Sprintf("bench-du-%d", os.Getpid())
	spec := benchSpec(name)
	x, err := spec.XML()
	if err != nil {
		b.Fatal(err)
	}

	// The minimum: define and undefine, nothing checked or read back.
	b.Run("raw-define-undefine", func(b *testing.B) {
		u, _ := url.Parse(uri)
		l, err := libvirt.ConnectToURI(u)
		if err != nil {
			b.Fatal(err)
		}
		defer l.Disconnect()
		start := cpuTime()
		for b.Loop() {
			d, err := l.DomainDefineXMLFlags(x, libvirt.DomainDefineValidate)
			if err != nil {
				b.Fatal(err)
			}
			if err := l.DomainUndefineFlags(d, 0); err != nil { // the test driver takes no NVRAM flag
				b.Fatal(err)
			}
		}
		reportCPU(b, start)
	})
	// The same RPCs kvm makes for Define+Undefine (network check, lookup,
	// define, read-back, lookup, state, undefine), without kvm: isolates
	// kvm's own cost (validation, XML, goroutine per call, parsing).
	b.Run("raw-same-rpcs", func(b *testing.B) {
		u, _ := url.Parse(uri)
		l, err := libvirt.ConnectToURI(u)
		if err != nil {
			b.Fatal(err)
		}
		defer l.Disconnect()
		start := cpuTime()
		for b.Loop() {
			if _, err := l.NetworkLookupByName("default"); err != nil {
				b.Fatal(err)
			}
			if _, err := l.DomainLookupByName(name); !libvirt.IsNotFound(err) {
				b.Fatal(err)
			}
			d, err := l.DomainDefineXMLFlags(x, libvirt.DomainDefineValidate)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := l.DomainGetXMLDesc(d, libvirt.DomainXMLInactive); err != nil {
				b.Fatal(err)
			}
			if d, err = l.DomainLookupByName(name); err != nil {
				b.Fatal(err)
			}
			if _, _, err := l.DomainGetState(d, 0); err != nil {
				b.Fatal(err)
			}
			if err := l.DomainUndefineFlags(d, 0); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, start)
	})
	b.Run("kvm", func(b *testing.B) {
		c, err := kvm.Dial(ctx, uri)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		start := cpuTime()
		for b.Loop() {
			if _, err := c.Define(ctx, spec); err != nil {
				b.Fatal(err)
			}
			if err := c.Undefine(ctx, name); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, start)
	})
}
