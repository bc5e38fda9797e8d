package okd_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/okvm/okvm/okd"
)

func validIC(t *testing.T) *okd.InstallConfig {
	t.Helper()
	ic, err := okd.NewInstallConfig(validSpec())
	if err != nil {
		t.Fatal(err)
	}
	return ic
}

func i64(v int64) *int64 { return &v }

func TestNewInstallConfigFromSpec(t *testing.T) {
	s := validSpec()
	s.Topology = okd.Topology{ControlPlane: 3, Workers: 4}
	s.PullSecret = realLookingPullSecret
	s.BootImage.Arch = "aarch64"
	ic, err := okd.NewInstallConfig(s)
	if err != nil {
		t.Fatal(err)
	}
	if *ic.ControlPlane.Replicas != 3 || *ic.Compute[0].Replicas != 0 || ic.Compute[0].Architecture != "arm64" {
		t.Errorf("pools: %+v %+v", ic.ControlPlane, ic.Compute)
	}
	if ic.Platform.None == nil || ic.PullSecret.Reveal() != realLookingPullSecret {
		t.Error("platform/pull secret wrong")
	}
	if err := ic.Validate(); err != nil {
		t.Fatal(err)
	}
	// An invalid spec gives the spec's field paths.
	s.Name = "Bad"
	if _, err := okd.NewInstallConfig(s); err == nil || !strings.Contains(err.Error(), `name: Invalid value: "Bad"`) {
		t.Errorf("err = %v", err)
	}
}

func TestInstallConfigValidateErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*okd.InstallConfig)
		want string
	}{
		{"no apiVersion", func(c *okd.InstallConfig) { c.APIVersion = "" }, "apiVersion: Required value"},
		{"apiVersion v2", func(c *okd.InstallConfig) { c.APIVersion = "v2" }, `apiVersion: Invalid value: "v2": install-config version must be "v1"`},
		{"name 55", func(c *okd.InstallConfig) { c.Metadata.Name = strings.Repeat("x", 55) }, `metadata.name: Invalid value: "` + strings.Repeat("x", 55) + `": must be no more than 54 characters`},
		{"name underscore", func(c *okd.InstallConfig) { c.Metadata.Name = "a_b" }, `metadata.name: Invalid value: "a_b"`},
		{"name trailing dash", func(c *okd.InstallConfig) { c.Metadata.Name = "ab-" }, `metadata.name: Invalid value: "ab-"`},
		{"base domain dot", func(c *okd.InstallConfig) { c.BaseDomain = "example.com." }, `baseDomain: Invalid value: "example.com.": must not end with '.'`},
		{"cluster domain too long", func(c *okd.InstallConfig) {
			c.BaseDomain = strings.Repeat(strings.Repeat("d", 60)+".", 3) + strings.Repeat("e", 20)
			c.Metadata.Name = strings.Repeat("n", 54)
		}, `baseDomain: Invalid value:`},
		{"ssh key junk", func(c *okd.InstallConfig) { c.SSHKey = "not a key" }, `sshKey: Invalid value: "not a key": invalid SSH public key`},
		{"ssh ed25519 under fips", func(c *okd.InstallConfig) { c.FIPS = true }, `sshKey: Invalid value: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI...": SSH key type ssh-ed25519 unavailable when FIPS is enabled`},
		{"two ssh keys", func(c *okd.InstallConfig) { c.SSHKey = testSSHKey + "\n" + testSSHKey }, `sshKey: Invalid value:`},
		{"pull secret empty", func(c *okd.InstallConfig) { c.PullSecret = "" }, `pullSecret: Required value`},
		{"pull secret credsStore ok, list", func(c *okd.InstallConfig) { c.PullSecret = `[]` }, `pullSecret: Invalid value: "<redacted>"`},
		{"no networking", func(c *okd.InstallConfig) { c.Networking = nil }, `networking: Required value`},
		{"no network type", func(c *okd.InstallConfig) { c.Networking.NetworkType = "" }, `networking.networkType: Required value`},
		{"kuryr", func(c *okd.InstallConfig) { c.Networking.NetworkType = "Kuryr" }, `networking.networkType: Unsupported value: "Kuryr"`},
		{"no machine network", func(c *okd.InstallConfig) { c.Networking.MachineNetwork = nil }, `networking.machineNetwork: Required value`},
		{"machine unmasked", func(c *okd.InstallConfig) { c.Networking.MachineNetwork[0].CIDR = "10.0.0.5/16" }, `networking.machineNetwork[0].cidr: Invalid value: "10.0.0.5/16": invalid network address. got 10.0.0.5/16, expecting 10.0.0.0/16`},
		{"two service networks same family ok-count, three not", func(c *okd.InstallConfig) {
			c.Networking.ServiceNetwork = []string{"172.30.0.0/16", "172.31.0.0/16", "172.29.0.0/16"}
		}, `networking.serviceNetwork: Invalid value: "172.30.0.0/16, 172.31.0.0/16, 172.29.0.0/16": only one service network`},
		{"no service network", func(c *okd.InstallConfig) { c.Networking.ServiceNetwork = nil }, `networking.serviceNetwork: Required value`},
		{"service v6 size", func(c *okd.InstallConfig) { c.Networking.ServiceNetwork = []string{"fd02::/64"} }, `networking.serviceNetwork[0]: Invalid value: "fd02::/64": subnet size for IPv6 service network should be /112`},
		{"service overlaps cluster", func(c *okd.InstallConfig) { c.Networking.ServiceNetwork = []string{"10.130.0.0/16"} }, `networking.clusterNetwork[0].cidr: Invalid value: "10.128.0.0/14": must not overlap with networking.serviceNetwork[0] 10.130.0.0/16`},
		{"no cluster network", func(c *okd.InstallConfig) { c.Networking.ClusterNetwork = nil }, `networking.clusterNetwork: Required value`},
		{"hostPrefix small", func(c *okd.InstallConfig) { c.Networking.ClusterNetwork[0].HostPrefix = 8 }, `networking.clusterNetwork[0].hostPrefix: Invalid value: 8`},
		{"hostPrefix 31", func(c *okd.InstallConfig) { c.Networking.ClusterNetwork[0].HostPrefix = 31 }, `networking.clusterNetwork[0].hostPrefix: Invalid value: 31`},
		{"hostPrefix differs", func(c *okd.InstallConfig) {
			c.Networking.ClusterNetwork = append(c.Networking.ClusterNetwork, okd.ClusterNetworkEntry{CIDR: "10.200.0.0/14", HostPrefix: 24})
		}, `networking.clusterNetwork[1].hostPrefix: Invalid value: 24: cluster network host subnetwork prefix must be the same value for IPv4 networks`},
		{"v6 hostPrefix", func(c *okd.InstallConfig) {
			c.Networking.ClusterNetwork = append(c.Networking.ClusterNetwork, okd.ClusterNetworkEntry{CIDR: "fd01::/48", HostPrefix: 56})
		}, `networking.clusterNetwork[1].hostPrefix: Invalid value: 56: cluster network host subnetwork prefix must be 64 for IPv6 networks`},
		{"no control plane", func(c *okd.InstallConfig) { c.ControlPlane = nil }, `controlPlane: Required value`},
		{"control plane name", func(c *okd.InstallConfig) { c.ControlPlane.Name = "ctl" }, `controlPlane.name: Unsupported value: "ctl"`},
		{"control plane replicas nil", func(c *okd.InstallConfig) { c.ControlPlane.Replicas = nil }, `controlPlane.replicas: Required value: replicas is required`},
		{"control plane replicas 0", func(c *okd.InstallConfig) { c.ControlPlane.Replicas = i64(0) }, `controlPlane.replicas: Invalid value: 0: number of control plane replicas must be positive`},
		{"control plane replicas 2", func(c *okd.InstallConfig) { c.ControlPlane.Replicas = i64(2) }, `controlPlane.replicas: Unsupported value: 2`},
		{"hyperthreading", func(c *okd.InstallConfig) { c.ControlPlane.Hyperthreading = "On" }, `controlPlane.hyperthreading: Unsupported value: "On"`},
		{"arch", func(c *okd.InstallConfig) { c.ControlPlane.Architecture = "x86_64" }, `controlPlane.architecture: Unsupported value: "x86_64"`},
		{"compute replicas", func(c *okd.InstallConfig) { c.Compute[0].Replicas = i64(2) }, `compute[0].replicas: Invalid value: 2: must be 0 on platform none`},
		{"compute name", func(c *okd.InstallConfig) { c.Compute[0].Name = "infra" }, `compute[0].name: Unsupported value: "infra"`},
		{"compute duplicate", func(c *okd.InstallConfig) { c.Compute = append(c.Compute, c.Compute[0]) }, `compute[1].name: Duplicate value: "worker"`},
		{"compute arch mismatch", func(c *okd.InstallConfig) { c.Compute[0].Architecture = "arm64" }, `compute[0].architecture: Invalid value: "arm64": heterogeneous multi-arch is not supported`},
		{"no platform", func(c *okd.InstallConfig) { c.Platform = okd.Platform{} }, `platform: Required value`},
		{"baremetal", func(c *okd.InstallConfig) {
			c.Platform = okd.Platform{Other: map[string]json.RawMessage{"baremetal": json.RawMessage(`{}`)}}
		}, `platform: Unsupported value: "baremetal"`},
		{"publish internal", func(c *okd.InstallConfig) { c.Publish = "Internal" }, `publish: Unsupported value: "Internal"`},
		{"credentials mode", func(c *okd.InstallConfig) { c.CredentialsMode = "Mint" }, `credentialsMode: Forbidden: cannot be set on platform none`},
		{"proxy empty", func(c *okd.InstallConfig) { c.Proxy = &okd.Proxy{NoProxy: ".example.com"} }, `proxy: Required value`},
		{"proxy scheme", func(c *okd.InstallConfig) { c.Proxy = &okd.Proxy{HTTPProxy: "socks5://user:pw@p:1080"} }, `proxy.httpProxy: Invalid value: "socks5://%3Credacted%3E@p:1080": must be an http or https URL`},
		{"noProxy wildcard", func(c *okd.InstallConfig) { c.Proxy = &okd.Proxy{HTTPProxy: "http://p:3128", NoProxy: "*.example.com"} }, `proxy.noProxy: Invalid value: "*.example.com"`},
		{"mirror tag", func(c *okd.InstallConfig) {
			c.ImageDigestSources = []okd.ImageDigestSource{{Source: "quay.io/okd/scos-release:4.19", Mirrors: []string{"m:5000/okd"}}}
		}, `imageDigestSources[0].source: Invalid value: "quay.io/okd/scos-release:4.19": must be a repository`},
		{"both mirror kinds", func(c *okd.InstallConfig) {
			c.ImageDigestSources = []okd.ImageDigestSource{{Source: "quay.io/okd/scos-release"}}
			c.ImageContentSources = []okd.ImageContentSource{{Source: "quay.io/okd/scos-content"}}
		}, `imageContentSources: Forbidden: cannot set imageContentSources and imageDigestSources at the same time`},
		{"trust bundle junk", func(c *okd.InstallConfig) { c.AdditionalTrustBundle = "hello" }, `additionalTrustBundle: Invalid value: "...": must be PEM-encoded X.509 certificates`},
		{"trust bundle policy", func(c *okd.InstallConfig) { c.AdditionalTrustBundlePolicy = "Never" }, `additionalTrustBundlePolicy: Unsupported value: "Never"`},
		{"no ingress", func(c *okd.InstallConfig) { c.Capabilities = &okd.Capabilities{BaselineCapabilitySet: "None"} }, `capabilities: Invalid value: "None": the Ingress capability is required`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ic := validIC(t)
			tc.mod(ic)
			err := ic.Validate()
			if err == nil {
				t.Fatalf("no error; want %q", tc.want)
			}
			if !errors.Is(err, okd.ErrInvalid) {
				t.Errorf("not ErrInvalid: %v", err)
			}
			var ve *okd.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("%T is not *ValidationError", err)
			}
			for _, fe := range ve.Errors {
				if strings.HasPrefix(fe.Error(), tc.want) {
					return
				}
			}
			t.Errorf("got %v\nwant a field error starting %q", err, tc.want)
		})
	}
}

func TestInstallConfigValidMirrors(t *testing.T) {
	ic := validIC(t)
	ic.ImageDigestSources = []okd.ImageDigestSource{{Source: "registry.lab:5000/okd/scos-release", Mirrors: []string{"m:5000/okd"}}}
	ic.Proxy = &okd.Proxy{HTTPSProxy: "http://proxy.lab:3128", NoProxy: ".lab,10.0.0.0/8"}
	if err := ic.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestWriteInstallConfigAtomicSecret(t *testing.T) {
	dir := t.TempDir()
	s := validSpec()
	s.PullSecret = realLookingPullSecret
	ic, err := okd.NewInstallConfig(s)
	if err != nil {
		t.Fatal(err)
	}
	path, err := okd.WriteInstallConfig(dir, ic)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, filepath.Join(dir, okd.KeptInstallConfig)} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", p, fi.Mode().Perm())
		}
	}
	// No temp files left behind.
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("leftover %s", e.Name())
		}
	}
	// The file parses back to the same config, secret intact.
	b, _ := os.ReadFile(path)
	back, err := okd.ParseInstallConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.PullSecret.Reveal() != realLookingPullSecret || back.Metadata.Name != "lab" || back.Platform.None == nil {
		t.Errorf("round trip: %+v", back)
	}
	if err := back.Validate(); err != nil {
		t.Fatal(err)
	}
	// Once `create manifests` consumed it, the copy remains.
	os.Remove(path)
	kept, err := okd.ReadKeptInstallConfig(dir)
	if err != nil || kept.Metadata.Name != "lab" {
		t.Fatalf("kept copy: %v %v", kept, err)
	}
	// An invalid config is not written.
	ic.Metadata.Name = ""
	if _, err := okd.WriteInstallConfig(t.TempDir(), ic); !errors.Is(err, okd.ErrInvalid) {
		t.Errorf("err = %v", err)
	}
}

func TestParseInstallConfigErrorHidesSecret(t *testing.T) {
	bad := "apiVersion: v1\npullSecret: '" + realLookingPullSecret + "'\nmetadata: [\n"
	_, err := okd.ParseInstallConfig([]byte(bad))
	if err == nil || !errors.Is(err, okd.ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "c2VjcmV0") {
		t.Errorf("parse error leaks: %v", err)
	}
	_, err = okd.ParseInstallConfig([]byte("metadata: {name: 5}\nplatform: {none: {}, baremetal: {apiVIPs: [1.2.3.4]}}\n"))
	if err != nil {
		t.Fatal(err)
	}
}
