package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/okvm/okvm/internal/labtest"
)

// defined is an XML libvirt 9.0 returned after define (see kvm/testdata).
var defined = filepath.Join("..", "..", "kvm", "testdata", "naming", "q35-4nic-disks.xml")

func TestDiscoverXML(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-xml", defined, "-scheme", "v257"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var lines []map[string]any
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 9 {
		t.Fatalf("%d lines, want 4 NICs + 5 disks:\n%s", len(lines), out.String())
	}
	first := lines[0]
	if first["kind"] != "nic" || first["mac"] != "52:54:00:0a:04:01" || first["guest_pci"] != "0000:01:00.0" ||
		first["name"] != "enp1s0" || first["rule"] != "path" {
		t.Errorf("first line %v", first)
	}
	if c, _ := first["candidates"].(map[string]any); c["path"] != "enp1s0" || c["mac"] != "enx5254000a0401" {
		t.Errorf("candidates %v", first["candidates"])
	}
	vda := lines[4]
	if vda["kind"] != "disk" || vda["target"] != "vda" || vda["by_path"] != "/dev/disk/by-path/pci-0000:07:00.0" {
		t.Errorf("disk line %v", vda)
	}
	if ids, _ := vda["by_id"].([]any); len(ids) != 1 || ids[0] != "/dev/disk/by-id/virtio-okd-master-0-root-di" {
		t.Errorf("by_id %v", vda["by_id"])
	}
}

func TestDiscoverErrors(t *testing.T) {
	dir := t.TempDir()
	notXML := filepath.Join(dir, "bad.xml")
	if err := os.WriteFile(notXML, []byte("<domain"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"-xml", defined, "-scheme", "v256"}, 1, `"v256"`},
		{[]string{"-xml", defined, "-os", "windows"}, 1, `"windows"`},
		{[]string{"-xml", filepath.Join(dir, "missing.xml")}, 1, "no such file"},
		{[]string{"-xml", notXML}, 1, "not domain XML"},
		{[]string{}, 2, "use -xml FILE"},
		{[]string{"-uri", "qemu:///system"}, 2, "use -xml FILE"},
		{[]string{"-uri", "nonsense", "-domain", "x"}, 1, "nonsense"},
	}
	for _, tc := range cases {
		var out, errb bytes.Buffer
		code := run(tc.args, &out, &errb)
		if code != tc.code || !strings.Contains(errb.String(), tc.msg) {
			t.Errorf("%v: exit %d stderr %q, want %d containing %q", tc.args, code, errb.String(), tc.code, tc.msg)
		}
		if tc.code == 1 && strings.Count(strings.TrimSpace(errb.String()), "\n") != 0 {
			t.Errorf("%v: error is not one line: %q", tc.args, errb.String())
		}
		if out.Len() != 0 {
			t.Errorf("%v: stdout %q on error", tc.args, out.String())
		}
	}
}

// TestDiscoverUnknownDomain asks the lab libvirtd's test driver for a
// domain that does not exist.
func TestDiscoverUnknownDomain(t *testing.T) {
	sock := labtest.Socket(t)
	var out, errb bytes.Buffer
	code := run([]string{"-uri", "test+unix:///default?socket=" + sock, "-domain", "okvm-no-such-domain"}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), `domain "okvm-no-such-domain" not found`) {
		t.Errorf("exit %d stderr %q", code, errb.String())
	}
	// The test driver's preset domain is hand-written (no ACPI, a NIC at
	// 00:01.0, a disk on a bus no controller defines): the NIC gets its
	// path name, the disk warnings instead of links.
	out.Reset()
	errb.Reset()
	if code := run([]string{"-uri", "test+unix:///default?socket=" + sock, "-domain", "test"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), `"mac":"aa:bb:cc:dd:ee:ff","guest_pci":"0000:00:01.0","name":"enp0s1"`) ||
		!strings.Contains(out.String(), `names no \u003ccontroller type='pci' index='1'`) {
		t.Errorf("output %s", out.String())
	}
}
