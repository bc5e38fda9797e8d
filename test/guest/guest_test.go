// Package guest proves kvm.PredictNames against real guests: it boots each
// layout in layouts/ under the lab libvirtd's QEMU driver (TCG), lets a
// tiny initramfs report what the guest's own kernel and systemd-udev name
// things, and asserts prediction == observation. See docs/verify-names.md.
package guest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	libvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
	"libvirt.org/go/libvirtxml"

	"github.com/okvm/okvm/internal/labtest"
	"github.com/okvm/okvm/kvm"
)

var update = flag.Bool("update", false, "rewrite kvm/testdata/naming (defined XML + observations) from the guests")

// udevSchemes are the schemes Debian 12's udevadm (systemd 252) knows; the
// guest runs net_id once per scheme.
// (init.sh runs one scheme per PCI-relevant flag change; v241, v243, v245
// and v250 add only flags for other buses.)
var udevSchemes = []string{"v238", "v239", "v240", "v247", "v249", "v251", "v252"}

// addedNIC is appended, without an address, to the defined XML of
// q35-nic-added and defined again: a NIC added after the other devices
// already have their addresses.
const addedNIC = `<interface type='ethernet'><mac address='52:54:00:0a:ad:02'/><model type='virtio'/><rom enabled='no'/></interface>`

// stableRoot replaces the per-run temp dir in committed files.
const stableRoot = "/var/tmp/okvm-names"

type result struct {
	layout string
	dom    *libvirtxml.Domain // as libvirt defined it
	pred   *kvm.Prediction
	obs    *Observation
	err    error
	took   time.Duration
}

func TestGuestNames(t *testing.T) {
	// Booting a dozen TCG guests takes minutes, so `go test ./...` leaves
	// it to its own step: scripts/verify-names.sh (make verify-names, part
	// of make test) sets OKVM_VERIFY_NAMES=1.
	if os.Getenv("OKVM_VERIFY_NAMES") != "1" {
		t.Skip("boots 12 TCG guests (~6 min): run scripts/verify-names.sh (make verify-names) or set OKVM_VERIFY_NAMES=1")
	}
	labtest.Root(t)
	sock := labtest.Socket(t)
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	layouts, err := filepath.Glob("layouts/*.xml")
	if err != nil || len(layouts) == 0 {
		t.Fatalf("no layouts: %v", err)
	}
	all := true
	if only := os.Getenv("OKVM_LAYOUTS"); only != "" { // e.g. "q35-1nic,pc-bridge", while developing
		all = false
		var keep []string
		for _, l := range layouts {
			if strings.Contains(","+only+",", ","+strings.TrimSuffix(filepath.Base(l), ".xml")+",") {
				keep = append(keep, l)
			}
		}
		layouts = keep
	}
	work := t.TempDir()
	guestDir := os.Getenv("OKVM_GUEST_DIR")
	if guestDir == "" {
		guestDir = filepath.Join(work, "guest")
		for _, tool := range []string{"cpio", "gzip", "ldd"} {
			labtest.Tool(t, tool)
		}
		if m, _ := filepath.Glob("/boot/vmlinuz-*"); len(m) == 0 {
			labtestMissing(t, "no /boot/vmlinuz-* (apt-get install linux-image-amd64)")
		}
		if _, err := os.Stat("/bin/busybox"); err != nil {
			labtestMissing(t, "busybox-static is not installed")
		}
		out, err := exec.Command(filepath.Join(repo, "scripts/verify-names.sh"), "build", guestDir).CombinedOutput()
		if err != nil {
			t.Fatalf("building the guest: %v\n%s", err, out)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 14*time.Minute)
	defer cancel()
	l := libvirt.NewWithDialer(dialers.NewLocal(dialers.WithSocket(sock)))
	if err := l.ConnectToURI(libvirt.QEMUSystem); err != nil {
		t.Fatalf("connect to %s: %v", sock, err)
	}
	defer l.Disconnect()
	client, err := kvm.Dial(ctx, "qemu:///system?socket="+sock)
	if err != nil {
		t.Fatalf("kvm.Dial: %v", err)
	}
	defer client.Close()

	// TCG guests are CPU-bound: three at a time keeps the run near 4
	// minutes on two shared cores without starving them.
	sem := make(chan struct{}, 3)
	results := make([]result, len(layouts))
	var wg sync.WaitGroup
	for i, path := range layouts {
		wg.Add(1)
		go func(i int, path string) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			name := strings.TrimSuffix(filepath.Base(path), ".xml")
			start := time.Now()
			r := bootLayout(ctx, l, client, name, path, guestDir, work)
			r.took = time.Since(start)
			results[i] = r
			t.Logf("%s: booted in %s", name, r.took.Round(time.Second))
		}(i, path)
	}
	wg.Wait()

	for _, r := range results {
		t.Run(r.layout, func(t *testing.T) {
			if r.err != nil {
				t.Fatal(r.err)
			}
			for _, m := range compare(r.dom, r.pred, r.obs) {
				t.Error(m)
			}
		})
	}
	var env reportEnv
	if v, err := l.ConnectGetLibVersion(); err == nil {
		env.libvirt = version(v)
	}
	if v, err := l.ConnectGetVersion(); err == nil {
		env.qemu = version(v)
	}
	for _, r := range results {
		if r.obs != nil {
			r.obs.Libvirt, r.obs.QEMU, r.obs.BootTime = env.libvirt, env.qemu, r.took.Round(time.Second).String()
		}
	}
	if *update {
		writeGoldens(t, repo, work, results)
	}
	// The committed report always reflects the last full run.
	if all {
		if err := os.WriteFile(filepath.Join(repo, "docs/verify-names.md"), []byte(report(env, results)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// version formats libvirt's major*1e6+minor*1e3+micro.
func version(v uint64) string {
	return fmt.Sprintf("%d.%d.%d", v/1000000, v/1000%1000, v%1000)
}

func labtestMissing(t *testing.T, msg string) {
	t.Helper()
	if labtest.Required() {
		t.Fatalf("OKVM_REQUIRE_LAB=1 but %s", msg)
	}
	t.Skipf("integration test skipped: %s (run scripts/verify-names.sh)", msg)
}

// bootLayout defines the layout, predicts from the XML libvirt returns,
// boots it, and parses what the guest reported.
func bootLayout(ctx context.Context, l *libvirt.Libvirt, client *kvm.Client, name, path, guestDir, work string) result {
	r := result{layout: name}
	dir := filepath.Join(work, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.err = err
		return r
	}
	domName := "okvm-names-" + name
	xmlText, err := render(path, domName, guestDir, dir)
	if err != nil {
		r.err = err
		return r
	}
	// A leftover from an interrupted run would make define update it.
	cleanup(l, domName)
	defer cleanup(l, domName)
	dom, err := l.DomainDefineXMLFlags(xmlText, 0)
	if err != nil {
		r.err = fmt.Errorf("define: %w", err)
		return r
	}
	if name == "q35-nic-added" {
		if dom, err = addNICAfterDefine(l, dom); err != nil {
			r.err = err
			return r
		}
	}
	if r.pred, err = client.PredictNames(ctx, domName, kvm.WithNamingScheme("v252")); err != nil {
		r.err = fmt.Errorf("predict: %w", err)
		return r
	}
	defined, err := l.DomainGetXMLDesc(dom, libvirt.DomainXMLInactive)
	if err != nil {
		r.err = err
		return r
	}
	if err := os.WriteFile(filepath.Join(dir, "defined.xml"), []byte(defined), 0o644); err != nil {
		r.err = err
		return r
	}
	r.dom = &libvirtxml.Domain{}
	if err := r.dom.Unmarshal(defined); err != nil {
		r.err = err
		return r
	}
	if err := l.DomainCreate(dom); err != nil {
		r.err = fmt.Errorf("start: %w", err)
		return r
	}
	deadline := time.Now().Add(4 * time.Minute)
	for {
		state, _, err := l.DomainGetState(dom, 0)
		if err != nil {
			r.err = fmt.Errorf("state: %w", err)
			return r
		}
		if libvirt.DomainState(state) == libvirt.DomainShutoff {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			l.DomainDestroy(dom)
			r.err = fmt.Errorf("guest did not stop within 4 minutes; log: %s", filepath.Join(dir, "console.log"))
			return r
		}
		time.Sleep(2 * time.Second)
	}
	log, err := os.ReadFile(filepath.Join(dir, "console.log"))
	if err != nil {
		r.err = err
		return r
	}
	r.obs, r.err = parseObservation(name, bytes.NewReader(log))
	return r
}

func render(path, domName, guestDir, dir string) (string, error) {
	tmpl, err := template.New(filepath.Base(path)).Funcs(template.FuncMap{
		"disk": func(i int) (string, error) {
			p := filepath.Join(dir, fmt.Sprintf("disk%d.img", i))
			f, err := os.Create(p)
			if err != nil {
				return "", err
			}
			defer f.Close()
			return p, f.Truncate(16 << 20)
		},
	}).ParseFiles(path)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	err = tmpl.Execute(&b, map[string]string{
		"Name":   domName,
		"Kernel": filepath.Join(guestDir, "vmlinuz"),
		"Initrd": filepath.Join(guestDir, "initrd.img"),
		"Log":    filepath.Join(dir, "console.log"),
	})
	return b.String(), err
}

func addNICAfterDefine(l *libvirt.Libvirt, dom libvirt.Domain) (libvirt.Domain, error) {
	x, err := l.DomainGetXMLDesc(dom, libvirt.DomainXMLInactive)
	if err != nil {
		return dom, err
	}
	d := &libvirtxml.Domain{}
	if err := d.Unmarshal(x); err != nil {
		return dom, err
	}
	var nic libvirtxml.DomainInterface
	if err := nic.Unmarshal(addedNIC); err != nil {
		return dom, err
	}
	d.Devices.Interfaces = append(d.Devices.Interfaces, nic)
	s, err := d.Marshal()
	if err != nil {
		return dom, err
	}
	return l.DomainDefineXMLFlags(s, 0)
}

func cleanup(l *libvirt.Libvirt, name string) {
	dom, err := l.DomainLookupByName(name)
	if err != nil {
		return
	}
	_ = l.DomainDestroy(dom)
	_ = l.DomainUndefineFlags(dom, 0)
}

// compare lists every difference between prediction and observation.
func compare(dom *libvirtxml.Domain, p *kvm.Prediction, o *Observation) []string {
	var diffs []string
	bad := func(format string, args ...any) { diffs = append(diffs, fmt.Sprintf(format, args...)) }
	if o.Udevadm != "252" {
		bad("guest udevadm is %q, the schemes checked assume 252", o.Udevadm)
	}
	seen := map[string]bool{}
	for _, n := range p.NICs {
		var on *ObservedNIC
		for i := range o.NICs {
			if o.NICs[i].MAC == n.MAC {
				on = &o.NICs[i]
			}
		}
		if on == nil {
			bad("NIC %s predicted, not seen in the guest", n.MAC)
			continue
		}
		seen[n.MAC] = true
		if n.NotPredictable != nil {
			// Not a claim, so nothing to compare; the report shows what the
			// guest did, as data for making the case predictable later.
			continue
		}
		if got := n.GuestPCI.String(); got != on.PCI {
			bad("NIC %s: guest PCI predicted %s, observed %s", n.MAC, got, on.PCI)
		}
		ev := n.Evidence
		if ev.ACPIIndex != on.ACPIIndex || ev.Sun != on.Sun || ev.Slot != on.Slot {
			bad("NIC %s: evidence predicted acpi_index=%d sun=%d slot=%d, observed %d/%d/%d",
				n.MAC, ev.ACPIIndex, ev.Sun, ev.Slot, on.ACPIIndex, on.Sun, on.Slot)
		}
		for _, s := range udevSchemes {
			ps, err := predictScheme(dom, s, n.MAC)
			if err != nil {
				bad("NIC %s scheme %s: %v", n.MAC, s, err)
				continue
			}
			if obs := on.Name(s); ps.Name != obs {
				bad("NIC %s scheme %s: predicted %s, guest udev %s (props %v)", n.MAC, s, ps.Name, obs, on.Props[s])
			}
			props := on.Props[s]
			if ps.Candidates.Onboard != props["ID_NET_NAME_ONBOARD"] || ps.Candidates.Slot != props["ID_NET_NAME_SLOT"] ||
				ps.Candidates.Path != props["ID_NET_NAME_PATH"] || ps.Candidates.MAC != props["ID_NET_NAME_MAC"] {
				bad("NIC %s scheme %s: candidates predicted %+v, observed %v", n.MAC, s, ps.Candidates, props)
			}
		}
	}
	for _, on := range o.NICs {
		if !seen[on.MAC] {
			bad("guest NIC %s (%s) was not predicted", on.MAC, on.Kernel)
		}
	}
	// Disks: match by the by-path link, which both sides have.
	for _, d := range p.Disks {
		var od *ObservedDisk
		for i := range o.Disks {
			for _, l := range o.Disks[i].Links {
				if l == d.ByPath {
					od = &o.Disks[i]
				}
			}
		}
		if od == nil {
			bad("disk %s: by-path %s not seen in the guest", d.Target, d.ByPath)
			continue
		}
		if got, want := strings.Join(od.LinksUnder("by-id"), " "), strings.Join(sorted(d.ByID), " "); got != want {
			bad("disk %s: by-id predicted [%s], observed [%s]", d.Target, want, got)
		}
		if got, want := strings.Join(od.LinksUnder("by-path"), " "), strings.Join(sorted(append([]string{d.ByPath}, d.ByPathExtra...)), " "); got != want {
			bad("disk %s: by-path predicted [%s], observed [%s]", d.Target, want, got)
		}
	}
	if len(p.Disks) != len(o.Disks) {
		bad("%d disks predicted, %d seen", len(p.Disks), len(o.Disks))
	}
	return diffs
}

// predictScheme re-runs the prediction for one scheme on the same XML.
func predictScheme(dom *libvirtxml.Domain, scheme, mac string) (kvm.NICPrediction, error) {
	q, err := kvm.PredictNames(dom, kvm.WithNamingScheme(scheme))
	if err != nil {
		return kvm.NICPrediction{}, err
	}
	for _, n := range q.NICs {
		if n.MAC == mac {
			return n, nil
		}
	}
	return kvm.NICPrediction{}, fmt.Errorf("MAC %s missing", mac)
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

var uuidLine = regexp.MustCompile(`(?m)^\s*<uuid>.*</uuid>\n`)

// writeGoldens stores, per layout, the XML libvirt defined (temp paths and
// UUID made stable) and what the guest observed, for kvm's offline tests.
func writeGoldens(t *testing.T, repo, work string, results []result) {
	dir := filepath.Join(repo, "kvm/testdata/naming")
	for _, r := range results {
		if r.err != nil {
			continue
		}
		x, err := os.ReadFile(filepath.Join(work, r.layout, "defined.xml"))
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ReplaceAll(string(x), work, stableRoot)
		s = uuidLine.ReplaceAllString(s, "")
		if err := os.WriteFile(filepath.Join(dir, r.layout+".xml"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		j, _ := json.MarshalIndent(r.obs, "", "  ")
		if err := os.WriteFile(filepath.Join(dir, r.layout+".observed.json"), append(j, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
