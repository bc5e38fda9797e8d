package ignition_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	v32 "github.com/coreos/ignition/v2/config/v3_2"
	v33 "github.com/coreos/ignition/v2/config/v3_3"
	t33 "github.com/coreos/ignition/v2/config/v3_3/types"

	"github.com/okvm/okvm/ignition"
	"github.com/okvm/okvm/ignition/ignitiontest"
)

func staticNet() ignition.Network {
	return ignition.Network{Interface: "enp1s0", MAC: "52:54:00:aa:bb:cc",
		Address: netip.MustParseAddr("192.168.126.10"), Prefix: 24,
		Gateway:       netip.MustParseAddr("192.168.126.1"),
		DNS:           []netip.Addr{netip.MustParseAddr("192.168.126.1"), netip.MustParseAddr("192.168.126.2")},
		SearchDomains: []string{"ocp4.example.com"}, MTU: 9000}
}

// fileOf finds path in a 3.2 output and decodes it.
func fileOf(t *testing.T, out []byte, path string) (contents []byte, mode int) {
	t.Helper()
	c, _, err := v32.Parse(out)
	if err != nil {
		c3, _, err3 := v33.Parse(out)
		if err3 != nil {
			t.Fatalf("output parses as neither 3.2 (%v) nor 3.3 (%v)", err, err3)
		}
		return fileOf33(t, c3, path)
	}
	for _, f := range c.Storage.Files {
		if f.Path == path {
			data, err := ignition.DecodeDataURL(*f.Contents.Source, deref(f.Contents.Compression))
			if err != nil {
				t.Fatal(err)
			}
			return data, *f.Mode
		}
	}
	t.Fatalf("no %s in output", path)
	return nil, 0
}

func fileOf33(t *testing.T, c t33.Config, path string) ([]byte, int) {
	for _, f := range c.Storage.Files {
		if f.Path == path {
			data, err := ignition.DecodeDataURL(*f.Contents.Source, deref(f.Contents.Compression))
			if err != nil {
				t.Fatal(err)
			}
			return data, *f.Mode
		}
	}
	t.Fatalf("no %s in output", path)
	return nil, 0
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestPointerConfigPatches(t *testing.T) {
	raw := pointer(t)
	before, _, err := v32.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	res, err := ignition.PatchConfig(raw, []ignition.Patch{
		ignition.Hostname{Name: "master-0.ocp4.example.com"},
		staticNet(),
		ignition.SSHKeys{Keys: []string{testSSHKey}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != ignition.V3_2 || res.TranslatedFrom != "" {
		t.Errorf("version %s from %q: a pointer config with 3.2 features must stay 3.2", res.Version, res.TranslatedFrom)
	}
	after, rpt, err := v32.Parse(res.JSON)
	if err != nil || len(rpt.Entries) > 0 {
		t.Fatalf("output fails Ignition 3.2: %v %v", err, rpt)
	}
	// merge and CA untouched, byte for byte.
	if !reflect.DeepEqual(before.Ignition, after.Ignition) {
		t.Errorf("ignition section changed:\nbefore %+v\nafter  %+v", before.Ignition, after.Ignition)
	}
	if src := *after.Ignition.Config.Merge[0].Source; src != "https://api-int.ocp4.example.com:22623/config/master" {
		t.Errorf("merge source %q", src)
	}

	host, mode := fileOf(t, res.JSON, "/etc/hostname")
	if string(host) != "master-0.ocp4.example.com\n" || mode != 0o644 {
		t.Errorf("/etc/hostname = %q mode %#o", host, mode)
	}
	kf, mode := fileOf(t, res.JSON, "/etc/NetworkManager/system-connections/enp1s0.nmconnection")
	if mode != 0o600 {
		t.Errorf("keyfile mode %#o, want 0600 (NetworkManager ignores others)", mode)
	}
	for _, want := range []string{"id=enp1s0\n", "mac-address=52:54:00:AA:BB:CC\n", "mtu=9000\n", "method=manual\n",
		"address1=192.168.126.10/24,192.168.126.1\n", "dns=192.168.126.1;192.168.126.2;\n", "dns-search=ocp4.example.com;\n"} {
		if !bytes.Contains(kf, []byte(want)) {
			t.Errorf("keyfile lacks %q:\n%s", want, kf)
		}
	}
	if bytes.Contains(kf, []byte("interface-name")) {
		t.Error("keyfile binds by interface-name; it must bind by MAC only")
	}
	if len(after.Passwd.Users) != 1 || after.Passwd.Users[0].Name != "core" || string(after.Passwd.Users[0].SSHAuthorizedKeys[0]) != testSSHKey {
		t.Errorf("users %+v", after.Passwd.Users)
	}
}

func TestDHCPKeyfile(t *testing.T) {
	n := ignition.Network{Interface: "enp2s0", MAC: "52:54:00:00:00:01", DHCP: true, IPv6: "auto"}
	if err := n.Validate(); err != nil {
		t.Fatal(err)
	}
	kf := string(n.Keyfile())
	if !strings.Contains(kf, "[ipv4]\nmethod=auto\n") || strings.Contains(kf, "address1") || !strings.Contains(kf, "[ipv6]\nmethod=auto\n") {
		t.Errorf("DHCP keyfile:\n%s", kf)
	}
}

func TestKernelArgumentsTranslateUp(t *testing.T) {
	res, err := ignition.PatchConfig(pointer(t), []ignition.Patch{ignition.KernelArguments{Add: []string{"console=ttyS0,115200n8"}, Remove: []string{"quiet"}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != ignition.V3_3 || res.TranslatedFrom != ignition.V3_2 || res.TranslatedFor != "$.kernelArguments" {
		t.Errorf("result %s from %q for %q, want 3.3.0 from 3.2.0 for $.kernelArguments", res.Version, res.TranslatedFrom, res.TranslatedFor)
	}
	c, rpt, err := v33.Parse(res.JSON)
	if err != nil || len(rpt.Entries) > 0 {
		t.Fatalf("output fails Ignition 3.3: %v %v", err, rpt)
	}
	if len(c.KernelArguments.ShouldExist) != 1 || c.KernelArguments.ShouldNotExist[0] != "quiet" {
		t.Errorf("kernel arguments %+v", c.KernelArguments)
	}
	if len(c.Ignition.Config.Merge) != 1 || len(c.Ignition.Security.TLS.CertificateAuthorities) != 1 {
		t.Error("translation lost merge or CA")
	}
}

func TestConflicts(t *testing.T) {
	base := []byte(`{"ignition":{"version":"3.2.0"},"storage":{"files":[
	  {"path":"/etc/hostname","mode":420,"contents":{"source":"data:,old.example.com%0A"}},
	  {"path":"/etc/same","mode":420,"contents":{"source":"data:;base64,aGVsbG8K"}}]},
	  "systemd":{"units":[{"name":"a.service","contents":"[Service]\nExecStart=/bin/a\n","enabled":true}]}}`)
	t.Run("different contents", func(t *testing.T) {
		_, err := ignition.PatchConfig(base, []ignition.Patch{ignition.Hostname{Name: "new.example.com"}})
		if !errors.Is(err, ignition.ErrConflict) || !strings.Contains(err.Error(), "/etc/hostname") || !strings.Contains(err.Error(), "$.storage.files[0]") {
			t.Errorf("err = %v, want ErrConflict naming /etc/hostname and its JSON path", err)
		}
	})
	t.Run("different mode", func(t *testing.T) {
		_, err := ignition.PatchConfig(base, []ignition.Patch{ignition.File{Path: "/etc/same", Mode: 0o600, Contents: []byte("hello\n")}})
		if !errors.Is(err, ignition.ErrConflict) || !strings.Contains(err.Error(), "mode") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("same contents is a no-op", func(t *testing.T) {
		c, err := ignition.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		r0, _ := c.Marshal()
		if err := c.Apply(ignition.File{Path: "/etc/same", Contents: []byte("hello\n")}, ignition.Hostname{Name: "old.example.com"}); err != nil {
			t.Fatal(err)
		}
		r1, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(r0.JSON, r1.JSON) {
			t.Errorf("no-op patch changed the output:\n%s\n%s", r0.JSON, r1.JSON)
		}
	})
	t.Run("overwrite replaces in place", func(t *testing.T) {
		res, err := ignition.PatchConfig(base, []ignition.Patch{ignition.Overwrite(ignition.Hostname{Name: "new.example.com"})})
		if err != nil {
			t.Fatal(err)
		}
		c, _, _ := v32.Parse(res.JSON)
		if len(c.Storage.Files) != 2 || c.Storage.Files[0].Path != "/etc/hostname" {
			t.Fatalf("files %+v", c.Storage.Files)
		}
		if got, _ := fileOf(t, res.JSON, "/etc/hostname"); string(got) != "new.example.com\n" {
			t.Errorf("hostname %q", got)
		}
	})
	t.Run("unit contents", func(t *testing.T) {
		_, err := ignition.PatchConfig(base, []ignition.Patch{ignition.Unit{Name: "a.service", Contents: "[Service]\nExecStart=/bin/b\n"}})
		if !errors.Is(err, ignition.ErrConflict) || !strings.Contains(err.Error(), "a.service") {
			t.Errorf("err = %v", err)
		}
		_, err = ignition.PatchConfig(base, []ignition.Patch{ignition.Unit{Name: "a.service", Enabled: boolp(false)}})
		if !errors.Is(err, ignition.ErrConflict) {
			t.Errorf("enabled flip: err = %v", err)
		}
	})
	t.Run("kernel argument both ways", func(t *testing.T) {
		c, err := ignition.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Apply(ignition.KernelArguments{Add: []string{"quiet"}}); err != nil {
			t.Fatal(err)
		}
		err = c.Apply(ignition.KernelArguments{Remove: []string{"quiet"}})
		if !errors.Is(err, ignition.ErrConflict) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("apply is all or nothing", func(t *testing.T) {
		c, err := ignition.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		r0, _ := c.Marshal()
		err = c.Apply(ignition.File{Path: "/etc/new", Contents: []byte("x")}, ignition.Hostname{Name: "conflict.example.com"})
		if !errors.Is(err, ignition.ErrConflict) {
			t.Fatalf("err = %v", err)
		}
		r1, _ := c.Marshal()
		if !bytes.Equal(r0.JSON, r1.JSON) {
			t.Error("failed Apply left a partial change")
		}
	})
}

func TestUnitsAndDropins(t *testing.T) {
	res, err := ignition.PatchConfig(pointer(t), []ignition.Patch{
		ignition.Unit{Name: "okvm.service", Enabled: boolp(true), Contents: "[Service]\nExecStart=/usr/bin/true\n[Install]\nWantedBy=multi-user.target\n"},
		ignition.Unit{Name: "kubelet.service", Dropins: []ignition.Dropin{{Name: "20-okvm.conf", Contents: "[Service]\nEnvironment=OKVM=1\n"}}},
		ignition.Unit{Name: "kubelet.service", Dropins: []ignition.Dropin{{Name: "20-okvm.conf", Contents: "[Service]\nEnvironment=OKVM=1\n"}}}, // no-op
	})
	if err != nil {
		t.Fatal(err)
	}
	c, rpt, err := v32.Parse(res.JSON)
	if err != nil || len(rpt.Entries) > 0 {
		t.Fatal(err, rpt)
	}
	if len(c.Systemd.Units) != 2 || len(c.Systemd.Units[1].Dropins) != 1 || c.Systemd.Units[1].Contents != nil {
		t.Errorf("units %+v", c.Systemd.Units)
	}
}

func TestLargeFileIsGzipped(t *testing.T) {
	big := bytes.Repeat([]byte("manifest line that repeats\n"), 2000)
	res, err := ignition.PatchConfig(pointer(t), []ignition.Patch{ignition.File{Path: "/etc/big", Contents: big}})
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := v32.Parse(res.JSON)
	if err != nil {
		t.Fatal(err)
	}
	f := c.Storage.Files[0]
	if deref(f.Contents.Compression) != "gzip" || len(*f.Contents.Source) > len(big)/4 {
		t.Errorf("compression %q, source %d bytes for %d bytes of contents", deref(f.Contents.Compression), len(*f.Contents.Source), len(big))
	}
	if got, _ := fileOf(t, res.JSON, "/etc/big"); !bytes.Equal(got, big) {
		t.Error("gzip round trip lost contents")
	}
}

func TestTrustedCA(t *testing.T) {
	a, err := ignitiontest.NewCluster(ignitiontest.BootstrapOptions{Seed: 3, Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	res, err := ignition.PatchConfig(a.Worker, []ignition.Patch{ignition.TrustedCA{Name: "corp", PEM: a.RootCA}})
	if err != nil {
		t.Fatal(err)
	}
	if got, mode := fileOf(t, res.JSON, "/etc/pki/ca-trust/source/anchors/corp.pem"); !bytes.Equal(got, a.RootCA) || mode != 0o644 {
		t.Errorf("anchor mode %#o, equal=%v", mode, bytes.Equal(got, a.RootCA))
	}
	if err := (ignition.TrustedCA{Name: "x", PEM: []byte("not pem")}).Validate(); !errors.Is(err, ignition.ErrBadPatch) {
		t.Errorf("non-PEM CA: %v", err)
	}
}

func TestPatchValidation(t *testing.T) {
	bad := []struct {
		p    ignition.Patch
		want string
	}{
		{ignition.Hostname{Name: "Bad_Host"}, `"Bad_Host"`},
		{ignition.Hostname{Name: strings.Repeat("a", 40) + "." + strings.Repeat("b", 40)}, "HOST_NAME_MAX"},
		{ignition.Network{Interface: "enp1s0", MAC: "zz"}, `mac "zz"`},
		{ignition.Network{Interface: "this-name-is-too-long", MAC: "52:54:00:00:00:01", DHCP: true}, "interface"},
		{ignition.Network{Interface: "enp1s0", MAC: "52:54:00:00:00:01"}, "address"},
		{ignition.Network{Interface: "enp1s0", MAC: "52:54:00:00:00:01", Address: netip.MustParseAddr("10.0.0.2"), Prefix: 33}, "prefix 33"},
		{ignition.Network{Interface: "enp1s0", MAC: "52:54:00:00:00:01", DHCP: true, MTU: 100}, "mtu 100"},
		{ignition.Network{Interface: "enp1s0", MAC: "52:54:00:00:00:01", DHCP: true, DNS: []netip.Addr{netip.MustParseAddr("::1")}}, "dns[0]"},
		{ignition.SSHKeys{Keys: []string{"ssh-rsa notbase64!"}}, "keys[0]"},
		{ignition.SSHKeys{Keys: []string{"ssh-rsa " + strings.Fields(testSSHKey)[1]}}, "different key type"},
		{ignition.File{Path: "relative", Contents: []byte("x")}, `"relative"`},
		{ignition.File{Path: "/a/../b"}, "clean"},
		{ignition.File{Path: "/a", Mode: 0o4755}, "mode"},
		{ignition.Unit{Name: "noext", Contents: "x"}, `"noext"`},
		{ignition.Unit{Name: "a.service", Dropins: []ignition.Dropin{{Name: "x.txt"}}}, "dropins[0]"},
		{ignition.KernelArguments{Add: []string{"a b"}}, "add[0]"},
		{ignition.TrustedCA{Name: "../x", PEM: []byte("x")}, `"../x"`},
	}
	for _, b := range bad {
		_, err := ignition.PatchConfig(pointer(t), []ignition.Patch{b.p})
		if !errors.Is(err, ignition.ErrBadPatch) || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%T %+v: err = %v, want ErrBadPatch mentioning %s", b.p, b.p, err, b.want)
		}
	}
}

// TestDeterministic: the same input and patches give byte-identical JSON
// across 50 runs. Go randomizes map iteration per range statement, so any
// output that depended on map order (file index, touched set, dropins,
// kernel arguments, gzip) would show up here as differing bytes.
func TestDeterministic(t *testing.T) {
	raw, err := ignitiontest.Bootstrap(ignitiontest.BootstrapOptions{Seed: 5, Size: 50 << 10})
	if err != nil {
		t.Fatal(err)
	}
	patches := func() []ignition.Patch {
		return []ignition.Patch{
			ignition.Hostname{Name: "bootstrap.ocp4.example.com"}, staticNet(),
			ignition.SSHKeys{Keys: []string{testSSHKey, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f other"}},
			ignition.Unit{Name: "x.service", Contents: "[Service]\nExecStart=/bin/x\n", Dropins: []ignition.Dropin{{Name: "b.conf", Contents: "b"}, {Name: "a.conf", Contents: "a"}}},
			ignition.File{Path: "/etc/big", Contents: bytes.Repeat([]byte("z"), 10000)},
			ignition.KernelArguments{Add: []string{"b", "a", "c"}},
		}
	}
	first, err := ignition.PatchConfig(raw, patches())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		again, err := ignition.PatchConfig(raw, patches())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first.JSON, again.JSON) {
			t.Fatalf("run %d differs", i)
		}
	}
	// And the output is stable under a second pass (re-parse, re-marshal).
	c, err := ignition.Parse(first.JSON)
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.JSON, second.JSON) {
		t.Error("re-marshal of the output changed it")
	}
	var v any
	if err := json.Unmarshal(first.JSON, &v); err != nil {
		t.Fatal(err)
	}
}
