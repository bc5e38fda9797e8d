package kvm

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// guestObservation mirrors test/guest's Observation JSON: what a real guest
// (Debian 12 kernel, systemd 252 udevadm) reported for a layout.
type guestObservation struct {
	Layout  string `json:"layout"`
	Udevadm string `json:"udevadm"`
	NICs    []struct {
		MAC       string                       `json:"mac"`
		PCI       string                       `json:"pci"`
		ACPIIndex uint                         `json:"acpi_index"`
		Sun       uint                         `json:"sun"`
		Slot      uint                         `json:"slot"`
		Props     map[string]map[string]string `json:"props"`
	} `json:"nics"`
	Disks []struct {
		Kernel string   `json:"kernel"`
		Links  []string `json:"links"`
	} `json:"disks"`
}

// TestPredictNamesMatchesGuests replays, without a hypervisor, every guest
// observation test/guest recorded (kvm/testdata/naming/*.observed.json)
// against the XML libvirt defined for that layout: for each NIC and each
// scheme systemd 252 knows, the predicted candidates and name must equal
// what net_id produced in the guest; for each disk, the by-id and by-path
// links must equal what 60-persistent-storage.rules made.
func TestPredictNamesMatchesGuests(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "naming", "*.observed.json"))
	if err != nil || len(files) < 10 {
		t.Fatalf("want ≥ 10 guest observations, found %d (%v)", len(files), err)
	}
	for _, f := range files {
		layout := strings.TrimSuffix(filepath.Base(f), ".observed.json")
		t.Run(layout, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var o guestObservation
			if err := json.Unmarshal(b, &o); err != nil {
				t.Fatal(err)
			}
			dom := loadNamingXML(t, layout)
			if len(o.NICs) != len(dom.Devices.Interfaces) {
				t.Errorf("guest saw %d NICs, XML has %d", len(o.NICs), len(dom.Devices.Interfaces))
			}
			checked := 0
			for _, on := range o.NICs {
				for scheme, props := range on.Props {
					p := mustPredict(t, dom, WithNamingScheme(scheme))
					var n *NICPrediction
					for i := range p.NICs {
						if p.NICs[i].MAC == on.MAC {
							n = &p.NICs[i]
						}
					}
					if n == nil {
						t.Fatalf("%s: no prediction for %s", scheme, on.MAC)
					}
					if n.NotPredictable != nil {
						// No claim made; the guest's answer is recorded
						// in docs/verify-names.md.
						continue
					}
					want := NICCandidates{props["ID_NET_NAME_ONBOARD"], props["ID_NET_NAME_SLOT"], props["ID_NET_NAME_PATH"], props["ID_NET_NAME_MAC"]}
					if n.Candidates != want {
						t.Errorf("%s %s: candidates %+v, guest %+v", scheme, on.MAC, n.Candidates, want)
					}
					policy := want.Onboard
					if policy == "" {
						policy = want.Slot
					}
					if policy == "" {
						policy = want.Path
					}
					if n.Name != policy {
						t.Errorf("%s %s: name %s, guest %s", scheme, on.MAC, n.Name, policy)
					}
					if n.GuestPCI.String() != on.PCI || n.Evidence.ACPIIndex != on.ACPIIndex || n.Evidence.Sun != on.Sun || n.Evidence.Slot != on.Slot {
						t.Errorf("%s: predicted %s %+v, guest %s acpi_index=%d sun=%d slot=%d", on.MAC, n.GuestPCI, n.Evidence, on.PCI, on.ACPIIndex, on.Sun, on.Slot)
					}
					checked++
				}
			}
			p := mustPredict(t, dom)
			if len(o.Disks) != len(p.Disks) {
				t.Errorf("guest saw %d disks, predicted %d", len(o.Disks), len(p.Disks))
			}
			for _, d := range p.Disks {
				want := append([]string{d.ByPath}, d.ByPathExtra...)
				want = append(want, d.ByID...)
				sort.Strings(want)
				found := false
				for _, od := range o.Disks {
					var got []string
					for _, l := range od.Links {
						if strings.HasPrefix(l, "/dev/disk/by-id/") || strings.HasPrefix(l, "/dev/disk/by-path/") {
							got = append(got, l)
						}
					}
					sort.Strings(got)
					if strings.Join(got, " ") == strings.Join(want, " ") {
						found = true
					}
				}
				if !found {
					t.Errorf("disk %s: predicted links %v not seen in the guest", d.Target, want)
				}
			}
			if checked == 0 && len(o.NICs) > 0 {
				t.Error("no scheme observations")
			}
		})
	}
}
