package kvm

import (
	"math/rand"
	"sync"
	"testing"

	"libvirt.org/go/libvirtxml"
)

// marshalDomain reuses encoders; whatever the encoder wrote before, its
// output must be what libvirtxml's own Marshal gives for the same domain.
func TestMarshalDomainMatchesLibvirtxml(t *testing.T) {
	var doms []*libvirtxml.Domain
	add := func(s DomainSpec) {
		d, err := s.Domain()
		if err != nil {
			t.Fatal(err)
		}
		doms = append(doms, d)
	}
	add(masterSpec())
	add(DomainSpec{Name: "tiny", MemoryMiB: 512, VCPUs: 1, Type: "qemu", Machine: "pc",
		Disks: []DiskSpec{{Path: "/images/tiny.qcow2", Bus: "sata", ReadOnly: true}}, NoGuestAgent: true, NoConsole: true})
	add(DomainSpec{Name: "sb", MemoryMiB: 2048, VCPUs: 2, Type: "kvm", Firmware: "uefi-secure",
		CPUMode: "custom", CPUModel: "Sky<lake>&\"'", Labels: map[string]string{"k": "<v & \"w\">\n\t"},
		Ignition: &IgnitionSpec{Value: "{\"a\":\"<&>\"}\r\n"}})
	// Domains okvm does not build, through the same encoder.
	doms = append(doms, &libvirtxml.Domain{Type: "kvm", Name: "bare"}, &libvirtxml.Domain{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(g)))
			for range 200 {
				d := doms[r.Intn(len(doms))]
				want, err := d.Marshal()
				if err != nil {
					t.Error(err)
					return
				}
				got, err := marshalDomain(d)
				if err != nil {
					t.Error(err)
					return
				}
				if got != want {
					t.Errorf("marshalDomain differs from (*Domain).Marshal:\n--- got\n%s\n--- want\n%s", got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// XML builds in pooled parts; whatever was built in them before, the result
// is libvirtxml's Marshal of Domain().
func TestXMLMatchesDomainMarshal(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	checked := 0
	for range 5000 {
		s := randBuildSpec(r)
		d, derr := s.Domain()
		x, err := s.XML()
		if (err == nil) != (derr == nil) {
			t.Fatalf("XML error %v, Domain error %v", err, derr)
		}
		if err != nil {
			if err.Error() != derr.Error() {
				t.Fatalf("XML error %v, Domain error %v", err, derr)
			}
			continue
		}
		want, err := d.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if x != want {
			t.Fatalf("XML differs from Domain().Marshal() for %+v:\n--- got\n%s\n--- want\n%s", s, x, want)
		}
		checked++
	}
	if checked < 1000 {
		t.Fatalf("only %d valid specs checked", checked)
	}
}
