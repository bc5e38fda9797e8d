package kvm

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"libvirt.org/go/libvirtxml"
)

// loadNamingXML reads a domain XML that a real libvirtd (9.0, QEMU 7.2)
// returned after define: testdata/naming/<name>.xml. test/guest writes
// these files from the same layouts it boots.
func loadNamingXML(t testing.TB, name string) *libvirtxml.Domain {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "naming", name+".xml"))
	if err != nil {
		t.Fatal(err)
	}
	d := &libvirtxml.Domain{}
	if err := d.Unmarshal(string(b)); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

func mustPredict(t testing.TB, d *libvirtxml.Domain, opts ...NamingOption) *Prediction {
	t.Helper()
	p, err := PredictNames(d, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPredictNamesDefinedLayouts pins the names for the layouts test/guest
// boots; each row was observed in a real guest (docs/verify-names.md).
func TestPredictNamesDefinedLayouts(t *testing.T) {
	cases := []struct {
		layout string
		want   []string // "<mac> <guest pci> <name> <rule>"
	}{
		{"q35-1nic", []string{"52:54:00:0a:01:01 0000:01:00.0 enp1s0 path"}},
		{"q35-2nic", []string{
			"52:54:00:0a:02:01 0000:01:00.0 enp1s0 path",
			"52:54:00:0a:02:02 0000:02:00.0 enp2s0 path"}},
		{"q35-4nic-disks", []string{
			"52:54:00:0a:04:01 0000:01:00.0 enp1s0 path",
			"52:54:00:0a:04:02 0000:02:00.0 enp2s0 path",
			"52:54:00:0a:04:03 0000:03:00.0 enp3s0 path",
			"52:54:00:0a:04:04 0000:04:00.0 enp4s0 path"}},
		{"pc-2nic-vga", []string{
			"52:54:00:0b:02:01 0000:00:03.0 ens3 slot",
			"52:54:00:0b:02:02 0000:00:04.0 ens4 slot"}},
		{"pc-acpi-index", []string{
			"52:54:00:0b:05:01 0000:00:02.0 eno5 onboard",
			"52:54:00:0b:05:02 0000:00:03.0 ens3 slot"}},
		{"q35-acpi-index", []string{
			"52:54:00:0a:07:01 0000:01:00.0 enp1s0 path",
			"52:54:00:0a:07:02 0000:02:00.0 eno7 onboard"}},
		{"q35-multifunction", []string{
			"52:54:00:0a:0f:00 0000:01:00.0 enp1s0f0 path",
			"52:54:00:0a:0f:01 0000:01:00.1 enp1s0f1 path",
			"52:54:00:0a:0f:02 0000:02:00.0 enp2s0 path"}},
		{"pc-multifunction", []string{
			"52:54:00:0b:0f:00 0000:00:05.0 ens5f0 slot",
			"52:54:00:0b:0f:01 0000:00:05.1 ens5f1 slot"}},
		// The e1000 made libvirt add a pcie-to-pci-bridge (index 3) under
		// the first root port: the firmware numbers it bus 2, so the
		// virtio NIC with XML bus=0x02 is guest bus 3.
		{"q35-e1000", []string{
			"52:54:00:0a:e1:01 0000:03:00.0 enp3s0 path",
			"52:54:00:0a:e1:02 0000:02:01.0 ens1 slot",
			"52:54:00:0a:e1:03 0000:04:00.0 enp4s0 path"}},
		// Bridge slot 1 is free on the root bus (PIIX3 is not hot-pluggable);
		// slot 5 is a root hotplug slot already, so the kernel renames the
		// bridge's to "5-2" and net_id falls back to the path name.
		// Bridge slot 2 is free too: root slot 2 holds the (cold-plugged,
		// so not hot-pluggable) bridge itself. ACPI bridge hotplug carries
		// an <acpi index> behind the bridge.
		{"pc-bridge", []string{
			"52:54:00:0b:b1:01 0000:01:01.0 ens1 slot",
			"52:54:00:0b:b1:05 0000:01:05.0 enp1s5 path",
			"52:54:00:0b:b1:0a 0000:00:03.0 ens3 slot",
			"52:54:00:0b:b1:02 0000:01:02.0 ens2 slot",
			"52:54:00:0b:b1:03 0000:01:03.0 eno9 onboard"}},
		{"q35-pcie0", []string{
			"52:54:00:0a:00:03 0000:00:03.0 enp0s3 path",
			"52:54:00:0a:00:04 0000:01:00.0 enp1s0 path"}},
	}
	for _, tc := range cases {
		t.Run(tc.layout, func(t *testing.T) {
			p := mustPredict(t, loadNamingXML(t, tc.layout), WithNamingScheme("v252"))
			var got []string
			for _, n := range p.NICs {
				if n.NotPredictable != nil {
					got = append(got, n.MAC+" "+string(n.NotPredictable.Reason))
					continue
				}
				got = append(got, n.MAC+" "+n.GuestPCI.String()+" "+n.Name+" "+string(n.Rule))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestPredictNamesDisks(t *testing.T) {
	p := mustPredict(t, loadNamingXML(t, "q35-4nic-disks"))
	byTarget := map[string]DiskPrediction{}
	for _, d := range p.Disks {
		byTarget[d.Target] = d
	}
	vda := byTarget["vda"]
	if want := "/dev/disk/by-id/virtio-okd-master-0-root-di"; len(vda.ByID) != 1 || vda.ByID[0] != want {
		t.Errorf("vda by-id = %v, want [%s] (serial cut to 20 bytes)", vda.ByID, want)
	}
	if len(vda.Warnings) != 1 || !strings.Contains(vda.Warnings[0], "longer than 20 bytes") {
		t.Errorf("vda warnings = %q, want the truncation warning", vda.Warnings)
	}
	if vda.ByPath != "/dev/disk/by-path/pci-0000:07:00.0" || vda.KernelNameHint != "vda" {
		t.Errorf("vda by-path %q hint %q", vda.ByPath, vda.KernelNameHint)
	}
	vdb := byTarget["vdb"]
	if len(vdb.ByID) != 0 || len(vdb.Warnings) != 1 || !strings.Contains(vdb.Warnings[0], "no <serial>") {
		t.Errorf("vdb (no serial) by-id %v warnings %q, want none and a warning", vdb.ByID, vdb.Warnings)
	}
	sda := byTarget["sda"]
	if sda.ByID[0] != "/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_scsi-data-0" ||
		sda.ByPath != "/dev/disk/by-path/pci-0000:05:00.0-scsi-0:0:0:0" {
		t.Errorf("sda = %+v", sda)
	}
	sdc := byTarget["sdc"]
	if sdc.ByID[0] != "/dev/disk/by-id/ata-QEMU_HARDDISK_sata-data-0" ||
		sdc.ByPath != "/dev/disk/by-path/pci-0000:00:1f.2-ata-3.0" {
		t.Errorf("sdc = %+v", sdc)
	}
}

func TestPredictNamesDiskWarnings(t *testing.T) {
	d := loadNamingXML(t, "q35-1nic")
	disk := d.Devices.Disks[0]
	cases := []struct {
		mutate func(*libvirtxml.DomainDisk)
		warn   string
	}{
		{func(x *libvirtxml.DomainDisk) { x.Serial = "has space" }, "characters udev rewrites"},
		{func(x *libvirtxml.DomainDisk) { x.Device = "cdrom" }, "device='cdrom' is not modelled"},
		{func(x *libvirtxml.DomainDisk) { x.Target.Bus = "usb" }, "bus='usb' is not modelled"},
		{func(x *libvirtxml.DomainDisk) { x.Address = nil }, "no PCI <address>"},
	}
	for _, tc := range cases {
		x := disk
		tgt := *disk.Target
		x.Target = &tgt
		tc.mutate(&x)
		d.Devices.Disks = []libvirtxml.DomainDisk{x}
		p := mustPredict(t, d)
		if w := strings.Join(p.Disks[0].Warnings, "; "); !strings.Contains(w, tc.warn) {
			t.Errorf("warnings %q, want %q", w, tc.warn)
		}
		if len(p.Disks[0].ByID) != 0 {
			t.Errorf("by-id %v predicted despite %q", p.Disks[0].ByID, tc.warn)
		}
	}
}

func TestNamingSchemes(t *testing.T) {
	d := loadNamingXML(t, "q35-1nic")
	for _, s := range append(NamingSchemes(), "latest") {
		p, err := PredictNames(d, WithNamingScheme(s))
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if p.NICs[0].Name != "enp1s0" {
			t.Errorf("%s: %s", s, p.NICs[0].Name)
		}
	}
	if p := mustPredict(t, d, WithNamingScheme("latest")); p.Scheme != LatestNamingScheme {
		t.Errorf("latest resolved to %q", p.Scheme)
	}
	if p := mustPredict(t, d); p.Scheme != "rhel-9.0" {
		t.Errorf("default scheme %q, want rhel-9.0 (SCOS 9)", p.Scheme)
	}
	for os, want := range map[GuestOS]string{FCOS38: "v253", FCOS39: "v253", FCOS40: "v255", FCOS41: "v255", FCOS42: "v257", SCOS9: "rhel-9.0", Debian12: "v252"} {
		if p := mustPredict(t, d, WithGuestOS(os)); p.Scheme != want {
			t.Errorf("%s: scheme %q, want %q", os, p.Scheme, want)
		}
	}
	for _, bad := range []string{"v256", "v242", "rhel-8.6", "", "V252"} {
		_, err := PredictNames(d, WithNamingScheme(bad))
		if !errors.Is(err, ErrUnknownNamingScheme) || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"`+bad+`"`) {
			t.Errorf("scheme %q: err = %v, want ErrUnknownNamingScheme+ErrInvalid naming it", bad, err)
		}
	}
	if _, err := PredictNames(d, WithGuestOS("windows")); !errors.Is(err, ErrUnknownNamingScheme) || !strings.Contains(err.Error(), "windows") {
		t.Errorf("unknown OS: %v", err)
	}
	if _, err := PredictNames(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil domain: %v", err)
	}

	// The guest's kernel command line beats the OS default, but not an
	// explicit WithNamingScheme.
	d.OS.Cmdline = "console=ttyS0 net.naming-scheme=v255"
	if p := mustPredict(t, d, WithGuestOS(FCOS42)); p.Scheme != "v255" {
		t.Errorf("cmdline scheme ignored: %q", p.Scheme)
	}
	if p := mustPredict(t, d, WithNamingScheme("v239")); p.Scheme != "v239" {
		t.Errorf("explicit scheme lost to cmdline: %q", p.Scheme)
	}
	d.OS.Cmdline = "net.naming-scheme=v999"
	if _, err := PredictNames(d); !errors.Is(err, ErrUnknownNamingScheme) {
		t.Errorf("bad cmdline scheme: %v", err)
	}
}

// TestFirmwareNodeSun: v257 and rhel-9.8 read _SUN before the slots
// directory, so a NIC in a renamed bridge slot ("5-2") gets ens5 there —
// and a NIC in root slot 5 would collide with it.
func TestFirmwareNodeSun(t *testing.T) {
	d := loadNamingXML(t, "pc-bridge")
	for scheme, want := range map[string]string{"v255": "enp1s5", "rhel-9.7": "enp1s5", "v257": "ens5", "rhel-9.8": "ens5"} {
		p := mustPredict(t, d, WithNamingScheme(scheme))
		if n := p.NICs[1]; n.Name != want {
			t.Errorf("%s: %s, want %s", scheme, n.Name, want)
		}
	}
	// Move the root-bus NIC to slot 5: v257 names both ens5.
	d.Devices.Interfaces[2].Address.PCI.Slot = uptrNaming(5)
	p := mustPredict(t, d, WithNamingScheme("v257"))
	for _, i := range []int{1, 2} {
		n := p.NICs[i]
		if n.Name != "" || n.NotPredictable == nil || n.NotPredictable.Reason != ReasonNameCollision {
			t.Errorf("NIC %d: name %q err %v, want a name collision", i, n.Name, n.NotPredictable)
		}
	}
	if p := mustPredict(t, d, WithNamingScheme("v255")); p.NICs[1].Name != "enp1s5" || p.NICs[2].Name != "ens5" {
		t.Errorf("v255: %s %s", p.NICs[1].Name, p.NICs[2].Name)
	}
}

func uptrNaming(v uint) *uint { return &v }

// TestBusNumbering replays the firmware's depth-first numbering on a tree
// with a switch and a bridge whose XML indexes are out of order.
func TestBusNumbering(t *testing.T) {
	ctrl := func(index uint, model string, bus, slot, fn uint) libvirtxml.DomainController {
		return libvirtxml.DomainController{Type: "pci", Index: uptrNaming(index), Model: model,
			Address: &libvirtxml.DomainAddress{PCI: &libvirtxml.DomainAddressPCI{Bus: &bus, Slot: &slot, Function: &fn}}}
	}
	nic := func(mac string, bus, slot uint) libvirtxml.DomainInterface {
		return libvirtxml.DomainInterface{MAC: &libvirtxml.DomainInterfaceMAC{Address: mac},
			Address: &libvirtxml.DomainAddress{PCI: &libvirtxml.DomainAddressPCI{Bus: &bus, Slot: &slot, Function: uptrNaming(0)}}}
	}
	d := &libvirtxml.Domain{
		OS:       &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Machine: "pc-q35-7.2"}},
		Features: &libvirtxml.DomainFeatureList{ACPI: &libvirtxml.DomainFeature{}},
		Devices: &libvirtxml.DomainDeviceList{
			Controllers: []libvirtxml.DomainController{
				{Type: "pci", Index: uptrNaming(0), Model: "pcie-root"},
				ctrl(5, "pcie-root-port", 0, 2, 1),              // 00:02.1 → visited second
				ctrl(1, "pcie-root-port", 0, 2, 0),              // 00:02.0 → bus 1
				ctrl(2, "pcie-switch-upstream-port", 1, 0, 0),   // → bus 2
				ctrl(3, "pcie-switch-downstream-port", 2, 0, 0), // → bus 3
				ctrl(4, "pcie-switch-downstream-port", 2, 1, 0), // → bus 4
				ctrl(6, "pcie-expander-bus", 0, 4, 0),
				ctrl(7, "pcie-root-port", 6, 0, 0),
			},
			Interfaces: []libvirtxml.DomainInterface{
				nic("52:54:00:00:00:01", 4, 0),
				nic("52:54:00:00:00:02", 5, 0),
				nic("52:54:00:00:00:03", 3, 0),
				nic("52:54:00:00:00:04", 7, 0),
				nic("52:54:00:00:00:05", 9, 0),
				{MAC: &libvirtxml.DomainInterfaceMAC{Address: "52:54:00:00:00:06"}},
			},
		},
	}
	p := mustPredict(t, d)
	want := []string{"enp4s0", "enp5s0", "enp3s0"}
	for i, w := range want {
		if p.NICs[i].Name != w {
			t.Errorf("NIC %d: %q, want %q", i, p.NICs[i].Name, w)
		}
	}
	for i, r := range map[int]NotPredictableReason{3: ReasonExpanderBus, 4: ReasonUnknownBus, 5: ReasonNoPCIAddress} {
		if np := p.NICs[i].NotPredictable; np == nil || np.Reason != r || p.NICs[i].Name != "" {
			t.Errorf("NIC %d: %v, want reason %s and no name", i, np, r)
		}
	}
}

func TestNotPredictable(t *testing.T) {
	cases := []struct {
		layout string
		mutate func(*libvirtxml.Domain)
		nic    int
		reason NotPredictableReason
	}{
		{"pc-2nic-vga", func(d *libvirtxml.Domain) {
			d.OS.Cmdline = "quiet net.ifnames=0"
		}, 0, ReasonIfnamesDisabled},
		{"pc-2nic-vga", func(d *libvirtxml.Domain) {
			d.Devices.Interfaces[0].Source = &libvirtxml.DomainInterfaceSource{Hostdev: &libvirtxml.DomainInterfaceSourceHostdev{}}
		}, 0, ReasonNotPCINIC},
		// Bridge slot 4: root slot 4 holds a VGA, whose hotplug support
		// okvm does not model, so "4" vs "4-2" is unknown.
		{"pc-bridge", func(d *libvirtxml.Domain) {
			d.Devices.Videos = []libvirtxml.DomainVideo{{Address: &libvirtxml.DomainAddress{PCI: &libvirtxml.DomainAddressPCI{
				Bus: uptrNaming(0), Slot: uptrNaming(4), Function: uptrNaming(0)}}}}
			d.Devices.Interfaces[0].Address.PCI.Slot = uptrNaming(4)
		}, 0, ReasonSlotHotplugUnknown},
		{"q35-e1000", func(d *libvirtxml.Domain) {
			d.Devices.Interfaces[1].ACPI = &libvirtxml.DomainDeviceACPI{Index: 3} // the e1000 behind pcie-to-pci-bridge
		}, 1, ReasonACPIIndexUnverified},
		{"q35-acpi-index", func(d *libvirtxml.Domain) { d.OS.Type.Machine = "pc-q35-5.2" }, 1, ReasonACPIIndexUnverified},
		{"q35-acpi-index", func(d *libvirtxml.Domain) { d.OS.Type.Machine = "pc-q35-rhel9.2.0" }, 1, ReasonACPIIndexUnverified},
		{"q35-pcie0", func(d *libvirtxml.Domain) {
			d.Devices.Interfaces[0].ACPI = &libvirtxml.DomainDeviceACPI{Index: 3}
		}, 0, ReasonACPIIndexUnverified},
		{"q35-e1000", func(d *libvirtxml.Domain) { d.OS.Type.Machine = "pc-q35-6.0" }, 1, ReasonSlotHotplugUnknown},
		{"q35-2nic", func(d *libvirtxml.Domain) {
			d.Devices.Interfaces[1].Address = d.Devices.Interfaces[0].Address
		}, 1, ReasonNameCollision},
	}
	for _, tc := range cases {
		d := loadNamingXML(t, tc.layout)
		tc.mutate(d)
		p := mustPredict(t, d)
		n := p.NICs[tc.nic]
		if n.NotPredictable == nil || n.NotPredictable.Reason != tc.reason || n.Name != "" || n.Rule != "" {
			t.Errorf("%s: name %q err %v, want reason %s", tc.layout, n.Name, n.NotPredictable, tc.reason)
			continue
		}
		if !strings.Contains(n.NotPredictable.Error(), string(tc.reason)) {
			t.Errorf("error text %q lacks the reason", n.NotPredictable.Error())
		}
	}
}

func TestPCIAddressString(t *testing.T) {
	for a, want := range map[PCIAddress]string{
		{}:                                      "0000:00:00.0",
		{Bus: 3, Slot: 0x1f, Function: 2}:       "0000:03:1f.2",
		{Domain: 1, Bus: 0xab, Slot: 1}:         "0001:ab:01.0",
		{Domain: 0x10000, Bus: 0x100, Slot: 31}: "10000:100:1f.0",
	} {
		if got := a.String(); got != want {
			t.Errorf("%+v: %s, want %s", a, got, want)
		}
	}
}

func TestPathAndSlotNames(t *testing.T) {
	if got := pathName(PCIAddress{Domain: 2, Bus: 10, Slot: 3, Function: 0}, true); got != "enP2p10s3f0" {
		t.Errorf("path %s", got)
	}
	if got := onboardName(16384, v240Flags); got != "" {
		t.Errorf("14-bit limit: %q", got)
	}
	if got := onboardName(16384, v249Flags); got != "eno16384" {
		t.Errorf("16-bit index: %q", got)
	}
	if got := vdLetters(26); got != "aa" {
		t.Errorf("vdLetters(26) = %s", got)
	}
}
