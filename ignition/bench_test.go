package ignition_test

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os/exec"
	"syscall"
	"testing"
	"time"

	t32 "github.com/coreos/ignition/v2/config/v3_2/types"

	"github.com/okvm/okvm/ignition"
	"github.com/okvm/okvm/ignition/ignitiontest"
)

// benchPatches are the five per-node patches the benchmark applies.
func benchPatches() []ignition.Patch {
	return []ignition.Patch{
		ignition.Hostname{Name: "bootstrap.ocp4.example.com"},
		ignition.Network{Interface: "enp1s0", MAC: "52:54:00:12:34:56",
			Address: netip.MustParseAddr("192.168.126.5"), Prefix: 24,
			Gateway: netip.MustParseAddr("192.168.126.1"),
			DNS:     []netip.Addr{netip.MustParseAddr("192.168.126.1")}, SearchDomains: []string{"ocp4.example.com"}},
		ignition.SSHKeys{Keys: []string{testSSHKey}},
		ignition.File{Path: "/etc/okvm/node.json", Mode: 0o644, Contents: []byte(`{"role":"bootstrap"}` + "\n")},
		ignition.Unit{Name: "okvm-hello.service", Enabled: boolp(true), Contents: "[Service]\nType=oneshot\nExecStart=/usr/bin/true\n[Install]\nWantedBy=multi-user.target\n"},
	}
}

func boolp(b bool) *bool { return &b }

func benchBootstrap(b *testing.B) []byte {
	b.Helper()
	raw, err := ignitiontest.Bootstrap(ignitiontest.BootstrapOptions{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// BenchmarkPatchBootstrap: Parse + 5 patches + Marshal of a ~300 KB
// bootstrap config (budget: 5 ms on one core).
func BenchmarkPatchBootstrap(b *testing.B) {
	raw := benchBootstrap(b)
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	cpu0 := processCPU()
	for b.Loop() {
		if _, err := ignition.PatchConfig(raw, benchPatches()); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time per op, next to wall time: on a shared machine wall time
	// includes waiting for a core; CPU time does not.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
}

// processCPU is this process's user+system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPatchBootstrapJQ does the same five patches the shell way: one
// jq process appending files, the unit and the SSH key. Skipped when jq is
// not installed (apt-get install -y jq).
func BenchmarkPatchBootstrapJQ(b *testing.B) {
	jq, err := exec.LookPath("jq")
	if err != nil {
		b.Skip("jq not installed (apt-get install -y jq): no shell baseline")
	}
	raw := benchBootstrap(b)
	const prog = `.storage.files += [
	  {"path":"/etc/hostname","mode":420,"overwrite":true,"contents":{"source":"data:,bootstrap.ocp4.example.com%0A"}},
	  {"path":"/etc/NetworkManager/system-connections/enp1s0.nmconnection","mode":384,"overwrite":true,
	   "contents":{"source":("data:;base64," + ($nm|@base64))}},
	  {"path":"/etc/okvm/node.json","mode":420,"overwrite":true,"contents":{"source":"data:,%7B%22role%22:%22bootstrap%22%7D%0A"}}]
	| .systemd.units += [{"name":"okvm-hello.service","enabled":true,"contents":$unit}]
	| .passwd.users |= map(if .name == "core" then .sshAuthorizedKeys += [$key] else . end)`
	nm := string(ignition.Network{Interface: "enp1s0", MAC: "52:54:00:12:34:56",
		Address: netip.MustParseAddr("192.168.126.5"), Prefix: 24}.Keyfile())
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	var cpu time.Duration
	for b.Loop() {
		cmd := exec.Command(jq, "-c", "--arg", "nm", nm, "--arg", "unit", "[Service]\nType=oneshot\nExecStart=/usr/bin/true\n", "--arg", "key", testSSHKey, prog)
		cmd.Stdin = bytes.NewReader(raw)
		out, err := cmd.Output()
		if err != nil || len(out) < len(raw) {
			b.Fatalf("jq: %v (%d bytes out)", err, len(out))
		}
		cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	b.ReportMetric(float64(cpu)/float64(b.N)/1e6, "cpu-ms/op")
}

// BenchmarkJSONDecodeReference is one encoding/json decode of the same
// config into Ignition's 3.2 types: a yardstick for the machine, so the
// patch figure can be read as "N decodes" on a loaded or slow host.
func BenchmarkJSONDecodeReference(b *testing.B) {
	raw := benchBootstrap(b)
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	cpu0 := processCPU()
	for b.Loop() {
		var c t32.Config
		if err := json.Unmarshal(raw, &c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
}
