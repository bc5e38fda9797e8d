package kvm

import (
	"errors"
	"strings"
	"testing"
)

func base() DomainSpec {
	return DomainSpec{Name: "node-1", MemoryMiB: 1024, VCPUs: 2,
		Disks: []DiskSpec{{Path: "/img/a.qcow2"}}, NICs: []NICSpec{{Network: "okd"}}}
}

func TestValidateRejectsBadInput(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*DomainSpec)
		field string
		value string
	}{
		{"uppercase name", func(s *DomainSpec) { s.Name = "Node1" }, "name", "Node1"},
		{"name with dot", func(s *DomainSpec) { s.Name = "a.b" }, "name", "a.b"},
		{"name ends in dash", func(s *DomainSpec) { s.Name = "a-" }, "name", "a-"},
		{"name too long", func(s *DomainSpec) { s.Name = strings.Repeat("a", 64) }, "name", strings.Repeat("a", 64)},
		{"zero memory", func(s *DomainSpec) { s.MemoryMiB = 0 }, "memoryMiB", "0"},
		{"zero vcpus", func(s *DomainSpec) { s.VCPUs = 0 }, "vcpus", "0"},
		{"cpu mode", func(s *DomainSpec) { s.CPUMode = "host" }, "cpuMode", "host"},
		{"custom without model", func(s *DomainSpec) { s.CPUMode = "custom" }, "cpuModel", ""},
		{"machine", func(s *DomainSpec) { s.Machine = "virt" }, "machine", "virt"},
		{"firmware", func(s *DomainSpec) { s.Firmware = "efi" }, "firmware", "efi"},
		{"secure boot on pc", func(s *DomainSpec) { s.Machine, s.Firmware = "pc", "uefi-secure" }, "firmware", "uefi-secure"},
		{"type", func(s *DomainSpec) { s.Type = "xen" }, "type", "xen"},
		{"malformed MAC", func(s *DomainSpec) { s.NICs[0].MAC = "52:54:00:zz:00:01" }, "nics[0].mac", "52:54:00:zz:00:01"},
		{"short MAC", func(s *DomainSpec) { s.NICs[0].MAC = "52:54:00:00:01" }, "nics[0].mac", "52:54:00:00:01"},
		{"multicast MAC", func(s *DomainSpec) { s.NICs[0].MAC = "01:00:5e:00:00:01" }, "nics[0].mac", "01:00:5e:00:00:01"},
		{"duplicate MAC", func(s *DomainSpec) {
			s.NICs = []NICSpec{{Network: "a", MAC: "52:54:00:00:00:01"}, {Network: "b", MAC: "52:54:00:00:00:01"}}
		}, "nics[1].mac", "52:54:00:00:00:01"},
		{"duplicate MAC, other spelling", func(s *DomainSpec) {
			s.NICs = []NICSpec{{Network: "a", MAC: "52:54:00:AA:00:01"}, {Network: "b", MAC: "52-54-00-aa-00-01"}}
		}, "nics[1].mac", "52:54:00:aa:00:01"},
		{"NIC without source", func(s *DomainSpec) { s.NICs[0].Network = "" }, "nics[0]", ""},
		{"NIC with both sources", func(s *DomainSpec) { s.NICs[0].Bridge = "br0" }, "nics[0].bridge", "br0"},
		{"NIC model", func(s *DomainSpec) { s.NICs[0].Model = "ne2k" }, "nics[0].model", "ne2k"},
		{"ACPI index too big", func(s *DomainSpec) { s.NICs[0].ACPIIndex = 20000 }, "nics[0].acpiIndex", "20000"},
		{"duplicate ACPI index", func(s *DomainSpec) {
			s.NICs = []NICSpec{{Network: "a", ACPIIndex: 2}, {Network: "a"}}
			s.StableNICNames = true // NIC 1 defaults to index 2: a clash
		}, "nics[1].acpiIndex", "2"},
		{"serial over 20 bytes", func(s *DomainSpec) { s.Disks[0].Serial = "okd-master-0-root-disk" }, "disks[0].serial", "okd-master-0-root-disk"},
		{"serial charset", func(s *DomainSpec) { s.Disks[0].Serial = "a b" }, "disks[0].serial", "a b"},
		{"duplicate serial", func(s *DomainSpec) {
			s.Disks = []DiskSpec{{Path: "/a", Serial: "x"}, {Path: "/b", Serial: "x"}}
		}, "disks[1].serial", "x"},
		{"duplicate target", func(s *DomainSpec) {
			s.Disks = []DiskSpec{{Path: "/a", Target: "vdb"}, {Path: "/b", Target: "vdb"}}
		}, "disks[1].target", "vdb"},
		{"bad target", func(s *DomainSpec) { s.Disks[0].Target = "xvda" }, "disks[0].target", "xvda"},
		{"disk bus", func(s *DomainSpec) { s.Disks[0].Bus = "ide" }, "disks[0].bus", "ide"},
		{"disk without source", func(s *DomainSpec) { s.Disks[0].Path = "" }, "disks[0]", ""},
		{"relative path", func(s *DomainSpec) { s.Disks[0].Path = "a.qcow2" }, "disks[0].path", "a.qcow2"},
		{"volume without pool", func(s *DomainSpec) { s.Disks[0] = DiskSpec{Volume: "v"} }, "disks[0].volume", "/v"},
		{"overlay without pool", func(s *DomainSpec) { s.Disks[0].BaseVolume = "fcos" }, "disks[0].baseVolume", "fcos"},
		{"raw overlay", func(s *DomainSpec) { s.Disks[0] = DiskSpec{Pool: "p", Volume: "v", BaseVolume: "b", Format: "raw"} }, "disks[0].format", "raw"},
		{"disk format", func(s *DomainSpec) { s.Disks[0].Format = "vmdk" }, "disks[0].format", "vmdk"},
		{"duplicate boot order", func(s *DomainSpec) { s.Disks[0].BootOrder = 1; s.NICs[0].BootOrder = 1 }, "nics[0].bootOrder", "1"},
		{"empty ignition", func(s *DomainSpec) { s.Ignition = &IgnitionSpec{} }, "ignition", ""},
		{"ignition both", func(s *DomainSpec) { s.Ignition = &IgnitionSpec{Value: "{}", File: "/a.ign"} }, "ignition.file", "/a.ign"},
		{"ignition relative", func(s *DomainSpec) { s.Ignition = &IgnitionSpec{File: "a.ign"} }, "ignition.file", "a.ign"},
		{"label key", func(s *DomainSpec) { s.Labels = map[string]string{"a b": "x"} }, "labels", "a b"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			tc.edit(&s)
			err := s.Validate()
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FieldError", err)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false for %v", err)
			}
			if fe.Field != tc.field || fmtValue(fe.Value) != tc.value {
				t.Errorf("field %q value %q, want %q %q (%v)", fe.Field, fmtValue(fe.Value), tc.field, tc.value, err)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("message %q does not name the field", err)
			}
		})
	}
}

func fmtValue(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return strings.Trim(strings.TrimSpace(fmtAny(v)), `"`)
}

func fmtAny(v any) string { return (&FieldError{Value: v}).valueString() }

func TestValidateAcceptsGoodSpecs(t *testing.T) {
	for _, s := range []DomainSpec{base(), masterSpec(),
		{Name: "a", MemoryMiB: 1, VCPUs: 1},
		{Name: "p", MemoryMiB: 1, VCPUs: 1, Disks: []DiskSpec{{Pool: "default", Volume: "p.qcow2", BaseVolume: "fcos.qcow2"}}},
	} {
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
	}
}

func TestNICMACIsStableAndLocal(t *testing.T) {
	a, b := NICMAC("master-0", 0), NICMAC("master-0", 1)
	if a != NICMAC("master-0", 0) {
		t.Fatal("NICMAC is not deterministic")
	}
	if a == b || a == NICMAC("master-1", 0) {
		t.Fatalf("NICMAC collides: %s %s %s", a, b, NICMAC("master-1", 0))
	}
	if !strings.HasPrefix(a, "52:54:00:") || len(a) != 17 {
		t.Fatalf("NICMAC = %s, want 52:54:00:xx:xx:xx", a)
	}
}

func TestDiskSerialFitsAndStaysDistinct(t *testing.T) {
	if got := DiskSerial("master-0", 2); got != "master-0-d2" {
		t.Errorf("short name: %s", got)
	}
	long1 := DiskSerial("okd-cluster-a-master-0", 0)
	long2 := DiskSerial("okd-cluster-a-master-1", 0)
	for _, s := range []string{long1, long2} {
		if len(s) > MaxSerialLen || !serialRE.MatchString(s) {
			t.Errorf("serial %q: %d bytes or bad characters", s, len(s))
		}
	}
	if long1 == long2 {
		t.Errorf("long names sharing a prefix get the same serial %q", long1)
	}
}

func TestNormalizeTargetsSkipExplicitOnes(t *testing.T) {
	s := DomainSpec{Name: "t", MemoryMiB: 1, VCPUs: 1, Disks: []DiskSpec{
		{Path: "/a", Target: "vda"}, {Path: "/b"}, {Path: "/c", Bus: "scsi"}, {Path: "/d"},
	}}
	n := s.Normalize()
	got := []string{n.Disks[0].Target, n.Disks[1].Target, n.Disks[2].Target, n.Disks[3].Target}
	want := []string{"vda", "vdb", "sda", "vdc"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("targets = %v, want %v", got, want)
		}
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
}
