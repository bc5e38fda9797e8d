package kvm

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand"
	"net"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// validateRef, nicMACRef and diskSerialRef are the map-, regexp- and
// fmt-based versions validate, NICMAC and DiskSerial replaced; the fast
// ones must give the same results and the same errors.
func validateRef(s DomainSpec, n DomainSpec) error {
	if !dnsLabelRE.MatchString(s.Name) {
		return fieldErr("name", s.Name, "must be a DNS label: 1-63 of [a-z0-9-], starting and ending with a letter or digit")
	}
	if s.MemoryMiB == 0 {
		return fieldErr("memoryMiB", s.MemoryMiB, "must be > 0")
	}
	if s.VCPUs == 0 {
		return fieldErr("vcpus", s.VCPUs, "must be > 0")
	}
	switch s.CPUMode {
	case "", "host-passthrough", "host-model", "maximum", "custom-default":
		if s.CPUModel != "" {
			return fieldErr("cpuModel", s.CPUModel, "only valid with cpuMode custom")
		}
	case "custom":
		if s.CPUModel == "" {
			return fieldErr("cpuModel", s.CPUModel, "cpuMode custom needs a model (e.g. Nehalem, Skylake-Server)")
		}
	default:
		return fieldErr("cpuMode", s.CPUMode, "want host-passthrough, host-model, maximum, custom or custom-default")
	}
	switch n.Machine {
	case "q35", "pc":
	default:
		return fieldErr("machine", s.Machine, "want q35 or pc")
	}
	switch n.Firmware {
	case "bios", "uefi":
	case "uefi-secure":
		if n.Machine != "q35" {
			return fieldErr("firmware", s.Firmware, "Secure Boot needs machine q35 (SMM)")
		}
	default:
		return fieldErr("firmware", s.Firmware, "want bios, uefi or uefi-secure")
	}
	switch s.Type {
	case "", "kvm", "qemu":
	default:
		return fieldErr("type", s.Type, "want kvm or qemu")
	}
	boot := map[uint]string{}
	serials := map[string]string{}
	targets := map[string]string{}
	for i, d := range n.Disks {
		f := fmt.Sprintf("disks[%d]", i)
		hasVol := d.Pool != "" || d.Volume != ""
		switch {
		case hasVol && (d.Pool == "" || d.Volume == ""):
			return fieldErr(f+".volume", d.Pool+"/"+d.Volume, "a pool volume needs both pool and volume")
		case !hasVol && d.Path == "":
			return fieldErr(f, "", "needs pool+volume or path")
		case !hasVol && d.BaseVolume != "":
			return fieldErr(f+".baseVolume", d.BaseVolume, "an overlay needs pool and volume")
		case d.Path != "" && !filepath.IsAbs(d.Path):
			return fieldErr(f+".path", d.Path, "must be an absolute path")
		case d.BaseVolume != "" && d.BaseVolume == d.Volume:
			return fieldErr(f+".baseVolume", d.BaseVolume, "a volume cannot back itself")
		}
		switch d.Format {
		case "", "qcow2", "raw":
		default:
			return fieldErr(f+".format", d.Format, "want qcow2 or raw")
		}
		if d.BaseVolume != "" && d.Format == "raw" {
			return fieldErr(f+".format", d.Format, "an overlay on a base volume is qcow2")
		}
		switch d.Bus {
		case "virtio", "scsi", "sata":
		default:
			return fieldErr(f+".bus", d.Bus, "want virtio, scsi or sata")
		}
		if len(d.Serial) > MaxSerialLen {
			return fieldErr(f+".serial", d.Serial, "is %d bytes; the guest sees at most %d", len(d.Serial), MaxSerialLen)
		}
		if !serialRE.MatchString(d.Serial) {
			return fieldErr(f+".serial", d.Serial, "use only [A-Za-z0-9_-] (it becomes a /dev/disk/by-id name)")
		}
		if prev, ok := serials[d.Serial]; ok {
			return fieldErr(f+".serial", d.Serial, "duplicates %s.serial", prev)
		}
		serials[d.Serial] = f
		if !targetRE.MatchString(d.Target) {
			return fieldErr(f+".target", d.Target, "want vdX, sdX or hdX")
		}
		if prev, ok := targets[d.Target]; ok {
			return fieldErr(f+".target", d.Target, "duplicates %s.target", prev)
		}
		targets[d.Target] = f
		if d.BootOrder > 0 {
			if prev, ok := boot[d.BootOrder]; ok {
				return fieldErr(f+".bootOrder", d.BootOrder, "duplicates %s.bootOrder", prev)
			}
			boot[d.BootOrder] = f
		}
	}
	macs := map[string]string{}
	acpi := map[uint]string{}
	for i, c := range n.NICs {
		f := fmt.Sprintf("nics[%d]", i)
		switch {
		case c.Network == "" && c.Bridge == "":
			return fieldErr(f, "", "needs a network or a bridge")
		case c.Network != "" && c.Bridge != "":
			return fieldErr(f+".bridge", c.Bridge, "set network or bridge, not both")
		case c.Bridge != "" && !bridgeRE.MatchString(c.Bridge):
			return fieldErr(f+".bridge", c.Bridge, "not a Linux interface name (≤15 of [A-Za-z0-9_.:-])")
		}
		hw, err := net.ParseMAC(s.NICs[i].MAC)
		if s.NICs[i].MAC != "" && (err != nil || len(hw) != 6) {
			return fieldErr(f+".mac", s.NICs[i].MAC, "not a 48-bit MAC (want 52:54:00:xx:xx:xx)")
		}
		if s.NICs[i].MAC != "" && hw[0]&1 == 1 {
			return fieldErr(f+".mac", s.NICs[i].MAC, "is a multicast address")
		}
		if prev, ok := macs[c.MAC]; ok {
			return fieldErr(f+".mac", c.MAC, "duplicates %s.mac", prev)
		}
		macs[c.MAC] = f
		switch c.Model {
		case "virtio", "e1000", "e1000e", "rtl8139":
		default:
			return fieldErr(f+".model", c.Model, "want virtio, e1000, e1000e or rtl8139")
		}
		if c.ACPIIndex > 16383 {
			return fieldErr(f+".acpiIndex", c.ACPIIndex, "must be 1..16383")
		}
		if c.ACPIIndex > 0 {
			if prev, ok := acpi[c.ACPIIndex]; ok {
				return fieldErr(f+".acpiIndex", c.ACPIIndex, "duplicates %s.acpiIndex", prev)
			}
			acpi[c.ACPIIndex] = f
		}
		if c.BootOrder > 0 {
			if prev, ok := boot[c.BootOrder]; ok {
				return fieldErr(f+".bootOrder", c.BootOrder, "duplicates %s.bootOrder", prev)
			}
			boot[c.BootOrder] = f
		}
	}
	if ig := s.Ignition; ig != nil {
		switch {
		case ig.Value == "" && ig.File == "":
			return fieldErr("ignition", "", "set value or file")
		case ig.Value != "" && ig.File != "":
			return fieldErr("ignition.file", ig.File, "set value or file, not both")
		case ig.File != "" && !filepath.IsAbs(ig.File):
			return fieldErr("ignition.file", ig.File, "must be an absolute path on the hypervisor host")
		}
	}
	keys := make([]string, 0, len(s.Labels))
	for k := range s.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !labelKeyRE.MatchString(k) {
			return fieldErr("labels", k, "label keys are [A-Za-z0-9._/-], starting with a letter or digit")
		}
	}
	return nil
}
func nicMACRef(domain string, index int) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("okvm/nic/%s/%d", domain, index)))
	return fmt.Sprintf("52:54:00:%02x:%02x:%02x", h[0], h[1], h[2])
}
func diskSerialRef(domain string, index int) string {
	suffix := fmt.Sprintf("-d%d", index)
	s := domain + suffix
	if len(s) <= MaxSerialLen {
		return s
	}
	h := sha256.Sum256([]byte(domain))
	hx := hex.EncodeToString(h[:2])
	keep := MaxSerialLen - len(suffix) - len(hx) - 1
	if keep < 1 {
		keep = 1
	}
	return strings.TrimRight(domain[:keep], "-") + "-" + hx + suffix
}

func TestValidateMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	pick := func(vals ...string) string { return vals[r.Intn(len(vals))] }
	pu := func(vals ...uint) uint { return vals[r.Intn(len(vals))] }
	for range 100000 {
		s := DomainSpec{
			Name:      pick("master-0", "master-0", "master-0", "", "-x", "Bad", "a", strings.Repeat("a", 64)),
			MemoryMiB: pu(0, 1024, 1024, 1024), VCPUs: pu(0, 2, 2, 2),
			CPUMode:  pick("", "", "", "", "custom", "host-model", "bogus", "maximum"),
			CPUModel: pick("", "", "", "", "", "Skylake"),
			Machine:  pick("", "q35", "pc", "pc", "q35", "isapc"), Firmware: pick("", "bios", "uefi", "uefi-secure", "uefi-secure", "coreboot"),
			Type: pick("", "kvm", "qemu", "qemu", "xen"), StableNICNames: r.Intn(2) == 0,
		}
		for n := r.Intn(5); n > 0; n-- {
			if r.Intn(3) > 0 { // mostly valid, so that later checks are reached
				s.Disks = append(s.Disks, DiskSpec{Path: "/d.qcow2", Bus: pick("", "scsi", "sata"),
					Target: pick("", "", "", "vda", "sdb"), Serial: pick("", "", "", "s1", "s2"), BootOrder: pu(0, 0, 0, 1, 2)})
				continue
			}
			s.Disks = append(s.Disks, DiskSpec{
				Pool: pick("", "", "default"), Volume: pick("", "", "v.qcow2", "base"), BaseVolume: pick("", "", "base"),
				Path: pick("", "/a.qcow2", "/b.raw", "rel.img"), Format: pick("", "", "qcow2", "raw", "vmdk"),
				Bus: pick("", "", "virtio", "scsi", "sata", "ide"), Target: pick("", "", "", "vda", "sda", "vdb", "xda", "vdaaa"),
				Serial: pick("", "", "", "s1", "s1", "bad serial", strings.Repeat("x", 21)), BootOrder: pu(0, 0, 1, 2),
			})
		}
		for n := r.Intn(5); n > 0; n-- {
			s.NICs = append(s.NICs, NICSpec{
				Network: pick("", "default", "default", "default"), Bridge: pick("", "", "", "", "br0", "bad bridge name!"),
				MAC:   pick("", "", "", "52:54:00:aa:bb:cc", "52:54:00:AA:BB:CC", "01:00:5e:00:00:01", "zz", "00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01"),
				Model: pick("", "virtio", "e1000", "ne2k"), ACPIIndex: pu(0, 0, 1, 2, 20000), BootOrder: pu(0, 0, 1, 3),
			})
		}
		switch r.Intn(4) {
		case 0:
			s.Ignition = &IgnitionSpec{Value: pick("", "{}"), File: pick("", "/i.ign", "i.ign")}
		}
		if r.Intn(2) == 0 {
			s.Labels = map[string]string{}
			for n := r.Intn(4); n > 0; n-- {
				s.Labels[pick("ok", "zz bad", "aa bad", "-bad", "k8s.io/x", "")] = "v"
			}
		}
		n := s.Normalize()
		got, want := s.validate(n), validateRef(s, n)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%+v:\nvalidate    = %v\nvalidateRef = %v", s, got, want)
		}
	}
}

func TestMACAndSerialMatchReference(t *testing.T) {
	for _, name := range []string{"", "a", "master-0", "a-very-long-domain-name-for-serials", strings.Repeat("x", 100), "ü/é"} {
		for _, i := range []int{-12, -1, 0, 1, 9, 10, 12345, 1 << 40} {
			if got, want := NICMAC(name, i), nicMACRef(name, i); got != want {
				t.Errorf("NICMAC(%q, %d) = %s, want %s", name, i, got, want)
			}
			if got, want := DiskSerial(name, i), diskSerialRef(name, i); got != want {
				t.Errorf("DiskSerial(%q, %d) = %s, want %s", name, i, got, want)
			}
		}
	}
}

var _ = []any{sha256.Sum256, hex.EncodeToString, fmt.Sprintf, net.ParseMAC, filepath.IsAbs, sort.Strings}
