package guest

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"libvirt.org/go/libvirtxml"

	"github.com/okvm/okvm/kvm"
)

var rewriteReport = flag.Bool("report", false, "rewrite docs/verify-names.md from the recorded guests in kvm/testdata/naming")

// TestReportFromGoldens rebuilds the report from the last recorded guest
// run (defined XML + observation per layout) with today's PredictNames —
// it fails if the code no longer matches what the guests did. With
// -report it also rewrites docs/verify-names.md, which is how a change to
// the report's wording lands without booting anything.
func TestReportFromGoldens(t *testing.T) {
	files, err := filepath.Glob("../../kvm/testdata/naming/*.observed.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded guests: %v", err)
	}
	var results []result
	var env reportEnv
	for _, f := range files {
		r := result{layout: strings.TrimSuffix(filepath.Base(f), ".observed.json")}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r.obs = &Observation{}
		if err := json.Unmarshal(b, r.obs); err != nil {
			t.Fatal(err)
		}
		env.libvirt, env.qemu = r.obs.Libvirt, r.obs.QEMU
		x, err := os.ReadFile(strings.TrimSuffix(f, ".observed.json") + ".xml")
		if err != nil {
			t.Fatal(err)
		}
		r.dom = &libvirtxml.Domain{}
		if err := r.dom.Unmarshal(string(x)); err != nil {
			t.Fatal(err)
		}
		if r.pred, err = kvm.PredictNames(r.dom, kvm.WithNamingScheme("v252")); err != nil {
			t.Fatal(err)
		}
		for _, d := range compare(r.dom, r.pred, r.obs) {
			t.Errorf("%s: %s", r.layout, d)
		}
		results = append(results, r)
	}
	if *rewriteReport {
		if err := os.WriteFile("../../docs/verify-names.md", []byte(report(env, results)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// report renders docs/verify-names.md: per layout, what PredictNames said
// and what the guest did.
type reportEnv struct{ libvirt, qemu string }

func report(env reportEnv, results []result) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# NIC names and disk links: prediction vs real guests\n\n")
	kernel := ""
	for _, r := range results {
		if r.obs != nil && r.obs.Kernel != "" {
			kernel = r.obs.Kernel
		}
	}
	w("Guest observations from the last full run of `scripts/verify-names.sh` (`make verify-names`; libvirt %s, QEMU %s, guest\n", env.libvirt, env.qemu)
	w("kernel %s), predictions from the current code; written %s. `go test ./test/guest -run TestReportFromGoldens -report`\n", kernel, time.Now().UTC().Format("2006-01-02"))
	w("rewrites it from the recorded guests (`kvm/testdata/naming/*.observed.json`) without booting anything.\n\n")
	w("Each layout in `test/guest/layouts/` is defined on the lab libvirtd (`<domain type='qemu'>`, TCG, 256 MiB),\n")
	w("`kvm.Client.PredictNames` reads the XML libvirt defined, and the guest — the Debian 12 kernel with an initramfs of\n")
	w("busybox, kernel modules and systemd 252's `udevadm` — reports what its own kernel and udev do: for each NIC the output of\n")
	w("`udevadm test-builtin net_id` under the schemes v238, v239, v240, v247, v249, v251 and v252 (`NET_NAMING_SCHEME=`; one per\nPCI-relevant flag change up to systemd 252 — v241/v243/v245/v250 add only flags for other buses), and for each disk the\n")
	w("links `udevadm test` makes from `60-persistent-storage.rules`. The guest name is NamePolicy onboard → slot → path applied\n")
	w("to the builtin's output. A row passes when the prediction equals the observation for **every scheme checked**, and the evidence\n")
	w("(guest PCI address, `acpi_index`, `firmware_node/sun`, usable `/sys/bus/pci/slots` entry) matches too.\n\n")
	w("Schemes newer than systemd 252 (v253…v257, rhel-9.x) cannot run here; their names follow from the same evidence\n")
	w("(verified above) through the flags in `kvm/naming_scheme.go` — only v257/rhel-9.8+ read `firmware_node/sun` first.\n\n")
	w("## NICs\n\n")
	w("| layout | MAC | XML address | guest PCI predicted / observed | name predicted (v252) | observed (v252) | rule | all schemes checked | evidence (acpi_index/sun/slot) |\n")
	w("|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		if r.err != nil {
			w("| %s | — | — | — | — | **error: %s** | | | |\n", r.layout, oneLine(r.err.Error()))
			continue
		}
		diffs := compare(r.dom, r.pred, r.obs)
		for _, n := range r.pred.NICs {
			var on ObservedNIC
			for _, o := range r.obs.NICs {
				if o.MAC == n.MAC {
					on = o
				}
			}
			ok := "✅ equal"
			for _, d := range diffs {
				if strings.Contains(d, n.MAC) {
					ok = "❌ " + oneLine(d)
				}
			}
			xa, ga := "—", "—"
			if n.XMLAddress != nil {
				xa = n.XMLAddress.String()
			}
			if n.GuestPCI != nil {
				ga = n.GuestPCI.String()
			}
			name := n.Name
			if n.NotPredictable != nil {
				name = "not predictable: " + string(n.NotPredictable.Reason)
				ok = "— (no claim)"
			}
			w("| %s | %s | %s | %s / %s | %s | %s | %s | %s | %d/%d/%d |\n", r.layout, n.MAC, xa, ga, on.PCI, name,
				on.Name("v252"), n.Rule, ok, on.ACPIIndex, on.Sun, on.Slot)
		}
	}
	w("\n## Disks\n\n")
	w("| layout | target | serial | by-id predicted | by-id observed | by-path predicted | by-path observed | kernel name (hint / observed) |\n")
	w("|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		if r.err != nil {
			continue
		}
		for _, d := range r.pred.Disks {
			var od ObservedDisk
			for _, o := range r.obs.Disks {
				for _, l := range o.Links {
					if l == d.ByPath {
						od = o
					}
				}
			}
			pp := append([]string{d.ByPath}, d.ByPathExtra...)
			w("| %s | %s | %s | %s | %s | %s | %s | %s / %s |\n", r.layout, d.Target, orDash(d.Serial),
				orDash(strings.Join(d.ByID, "<br>")), orDash(strings.Join(od.LinksUnder("by-id"), "<br>")),
				strings.Join(sorted(pp), "<br>"), strings.Join(od.LinksUnder("by-path"), "<br>"), orDash(d.KernelNameHint), orDash(od.Kernel))
		}
	}
	w("\nKernel names are hints only: they follow probe order. A disk without `<serial>` gets no by-id link.\n")
	w("\n## What this does not prove\n\n")
	w("- **Schemes after systemd 252** (v253–v257, rhel-9.0–9.9, i.e. FCOS 38–42 and SCOS 9) are not run: no Debian 12 package\n")
	w("  has their udevadm. Their names follow from the evidence columns above (all observed) and the flag table in\n")
	w("  `kvm/naming_scheme.go`, read from systemd and systemd-rhel9 sources. Only v257/rhel-9.8+ change anything for QEMU\n")
	w("  NICs: they read `firmware_node/sun` first, which names a NIC in a renamed bridge slot (`5-2`) `ens5` — and can\n")
	w("  collide with a root-bus `ens5`, which PredictNames then reports as not predictable.\n")
	w("- **Rows marked \"no claim\"** are NICs PredictNames declines to name (typed `NotPredictableError`); the guest's answer is\n")
	w("  shown as data, not as a pass.\n")
	w("- **Other hypervisor versions.** Addresses come from the defined XML, so libvirt's placement is not assumed; what is\n")
	w("  assumed is QEMU 7.2's ACPI (hotplug slots, `_SUN`, acpi-index on pc root slots and q35 root ports on ≥ 6.1 machine\n")
	w("  types). Machine types that do not parse as upstream `pc-q35-X.Y` make `<acpi index>` on q35 not predictable.\n")
	w("- **Default schemes per guest OS** (`kvm.WithGuestOS`) come from the OS's systemd build, not from a booted FCOS/SCOS.\n")
	w("- **Kernel disk names** (`vda`, `sdb`) are hints; they matched here but follow probe order.\n")
	w("\n## Boot times\n\n| layout | define + boot + report |\n|---|---|\n")
	for _, r := range results {
		took := r.took.Round(time.Second).String()
		if r.obs != nil && r.obs.BootTime != "" {
			took = r.obs.BootTime
		}
		w("| %s | %s |\n", r.layout, took)
	}
	return b.String()
}

func oneLine(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\n", " "), "|", "\\|")
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
