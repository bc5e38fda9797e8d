package okd_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/okvm/okvm/okd"
)

const testSSHKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH9mClVF6Qv6jron845bpPoCQBDOXAXQ4CApPavKarX9 okvm-test"

const realLookingPullSecret = `{"auths":{"quay.io":{"auth":"c2VjcmV0dXNlcjpzM2NyM3RwYXNzd29yZA==","email":"a@b.c"}}}`

func validSpec() okd.ClusterSpec {
	return okd.ClusterSpec{Name: "lab", BaseDomain: "example.com", SSHKey: testSSHKey}.WithDefaults()
}

func TestClusterSpecDefaults(t *testing.T) {
	s := validSpec()
	if err := s.Validate(); err != nil {
		t.Fatalf("defaulted spec invalid: %v", err)
	}
	if s.Topology.ControlPlane != 3 || s.Topology.Workers != 0 || s.Topology.Kind() != okd.Compact {
		t.Errorf("topology = %+v (%s)", s.Topology, s.Topology.Kind())
	}
	if s.Nodes.Master != okd.MinControlPlaneSize || s.Nodes.Worker != okd.MinWorkerSize || s.Nodes.Bootstrap != okd.MinBootstrapSize {
		t.Errorf("sizes = %+v", s.Nodes)
	}
	if s.PullSecret != okd.OKDFakePullSecret {
		t.Errorf("pull secret not defaulted to OKD's fake one")
	}
	if s.Network.MachineCIDR != "192.168.126.0/24" || s.Network.ClusterCIDR != "10.128.0.0/14" || s.Network.HostPrefix != 23 || s.Network.ServiceCIDR != "172.30.0.0/16" || s.Network.NetworkType != "OVNKubernetes" {
		t.Errorf("network = %+v", s.Network)
	}
	if len(s.Hypervisors) != 1 || s.Hypervisors[0].URI != "qemu:///system" || s.Hypervisors[0].Name != "localhost" {
		t.Errorf("hypervisors = %+v", s.Hypervisors)
	}
	if !s.MastersSchedulable() {
		t.Error("compact cluster: masters must be schedulable")
	}
	// WithDefaults does not touch what is set.
	s2 := okd.ClusterSpec{Name: "x", Topology: okd.Topology{ControlPlane: 3, Workers: 2}, Nodes: okd.NodeSizes{Worker: okd.NodeSize{VCPUs: 8}}}.WithDefaults()
	if s2.Nodes.Worker.VCPUs != 8 || s2.Nodes.Worker.MemoryMiB != 8192 || s2.MastersSchedulable() {
		t.Errorf("partial defaults wrong: %+v schedulable=%v", s2.Nodes.Worker, s2.MastersSchedulable())
	}
}

func TestTopologyKinds(t *testing.T) {
	for _, tc := range []struct {
		top  okd.Topology
		kind okd.TopologyKind
	}{
		{okd.Topology{ControlPlane: 1}, okd.SingleNode},
		{okd.Topology{ControlPlane: 3}, okd.Compact},
		{okd.Topology{ControlPlane: 3, Workers: 2}, okd.Standard},
	} {
		if got := tc.top.Kind(); got != tc.kind {
			t.Errorf("%+v: kind %s, want %s", tc.top, got, tc.kind)
		}
		s := validSpec()
		s.Topology = tc.top
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", tc.kind, err)
		}
	}
}

func TestClusterSpecValidateErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*okd.ClusterSpec)
		want string // exact FieldError text prefix
	}{
		{"empty name", func(s *okd.ClusterSpec) { s.Name = "" }, "name: Required value"},
		{"upper case name", func(s *okd.ClusterSpec) { s.Name = "Lab" }, `name: Invalid value: "Lab": must be a lower case RFC 1123 label`},
		{"dotted name", func(s *okd.ClusterSpec) { s.Name = "a.b" }, `name: Invalid value: "a.b"`},
		{"long name", func(s *okd.ClusterSpec) { s.Name = strings.Repeat("a", 55) }, `name: Invalid value: "` + strings.Repeat("a", 55) + `": must be no more than 54 characters`},
		{"bad domain", func(s *okd.ClusterSpec) { s.BaseDomain = "exa_mple.com" }, `baseDomain: Invalid value: "exa_mple.com"`},
		{"no domain", func(s *okd.ClusterSpec) { s.BaseDomain = "" }, `baseDomain: Required value`},
		{"release with scheme", func(s *okd.ClusterSpec) { s.Release = "https://quay.io/okd/scos-release:4.19" }, `release: Invalid value: "https://quay.io/okd/scos-release:4.19"`},
		{"release bad digest", func(s *okd.ClusterSpec) { s.Release = "quay.io/okd/scos-release@sha256:abc" }, `release: Invalid value: "quay.io/okd/scos-release@sha256:abc": digest must be`},
		{"two masters", func(s *okd.ClusterSpec) { s.Topology.ControlPlane = 2 }, `topology.controlPlane: Unsupported value: 2`},
		{"sno with workers", func(s *okd.ClusterSpec) { s.Topology = okd.Topology{ControlPlane: 1, Workers: 2} }, `topology.workers: Invalid value: 2: a single-node cluster has no workers`},
		{"one worker", func(s *okd.ClusterSpec) { s.Topology.Workers = 1 }, `topology.workers: Invalid value: 1`},
		{"negative workers", func(s *okd.ClusterSpec) { s.Topology.Workers = -1 }, `topology.workers: Invalid value: -1: must not be negative`},
		{"small master memory", func(s *okd.ClusterSpec) { s.Nodes.Master.MemoryMiB = 8192 }, `nodes.master.memoryMiB: Invalid value: 8192: below the OKD minimum of 16384 MiB`},
		{"small bootstrap cpu", func(s *okd.ClusterSpec) { s.Nodes.Bootstrap.VCPUs = 2 }, `nodes.bootstrap.vcpus: Invalid value: 2: below the OKD minimum of 4 vCPU`},
		{"small worker disk", func(s *okd.ClusterSpec) { s.Topology.Workers = 2; s.Nodes.Worker.DiskGiB = 50 }, `nodes.worker.diskGiB: Invalid value: 50: below the OKD minimum of 100 GiB`},
		{"undersized without reason", func(s *okd.ClusterSpec) { s.Nodes.AllowUndersized = true; s.Nodes.Master.MemoryMiB = 8192 }, `nodes.undersizedReason: Required value`},
		{"undersized below floor", func(s *okd.ClusterSpec) {
			s.Nodes.AllowUndersized, s.Nodes.UndersizedReason = true, "CI"
			s.Nodes.Master.MemoryMiB = 512
		}, `nodes.master.memoryMiB: Invalid value: 512: must be at least 1024 MiB even for a lab`},
		{"unmasked machine CIDR", func(s *okd.ClusterSpec) { s.Network.MachineCIDR = "192.168.126.1/24" }, `network.machineCIDR: Invalid value: "192.168.126.1/24": invalid network address. got 192.168.126.1/24, expecting 192.168.126.0/24`},
		{"garbage CIDR", func(s *okd.ClusterSpec) { s.Network.ServiceCIDR = "172.30.0.0" }, `network.serviceCIDR: Invalid value: "172.30.0.0": invalid CIDR address`},
		{"overlap", func(s *okd.ClusterSpec) { s.Network.MachineCIDR = "10.128.0.0/24" }, `network.clusterCIDR: Invalid value: "10.128.0.0/14": must not overlap with network.machineCIDR 10.128.0.0/24`},
		{"ovn join overlap", func(s *okd.ClusterSpec) { s.Network.MachineCIDR = "100.64.10.0/24" }, `network.machineCIDR: Invalid value: "100.64.10.0/24": must not overlap with the OVN-Kubernetes join subnet`},
		{"host prefix too short", func(s *okd.ClusterSpec) { s.Network.HostPrefix = 12 }, `network.hostPrefix: Invalid value: 12: cluster network host subnetwork prefix must not be larger size than CIDR 10.128.0.0/14`},
		{"service too big", func(s *okd.ClusterSpec) { s.Network.ServiceCIDR = "172.0.0.0/8" }, `network.serviceCIDR: Invalid value: "172.0.0.0/8": subnet size for IPv4 service network must be /12 or greater`},
		{"sdn", func(s *okd.ClusterSpec) { s.Network.NetworkType = "OpenShiftSDN" }, `network.networkType: Unsupported value: "OpenShiftSDN"`},
		{"no ssh key", func(s *okd.ClusterSpec) { s.SSHKey = "" }, `sshKey: Required value`},
		{"bad ssh key", func(s *okd.ClusterSpec) { s.SSHKey = "ssh-rsa notbase64!" }, `sshKey: Invalid value: "ssh-rsa notbase64!": invalid SSH public key`},
		{"pull secret not json", func(s *okd.ClusterSpec) { s.PullSecret = "{nope" }, `pullSecret: Invalid value: "<redacted>": not valid JSON`},
		{"pull secret no auths", func(s *okd.ClusterSpec) { s.PullSecret = `{"auths":{}}` }, `pullSecret: Invalid value: "<redacted>": "auths" is required`},
		{"pull secret entry without auth", func(s *okd.ClusterSpec) { s.PullSecret = `{"auths":{"quay.io":{"email":"x"}}}` }, `pullSecret: Invalid value: "<redacted>": auths["quay.io"]: "auth" or "credsStore" is required`},
		{"pull secret redacted", func(s *okd.ClusterSpec) { s.PullSecret = okd.RedactedText }, `pullSecret: Invalid value: "<redacted>": a redacted pull secret cannot be installed`},
		{"boot image sha", func(s *okd.ClusterSpec) { s.BootImage.Path = "/x.qcow2"; s.BootImage.SHA256 = "abc" }, `bootImage.sha256: Invalid value: "abc": must be 64 hex digits`},
		{"boot image url without sha", func(s *okd.ClusterSpec) { s.BootImage.URL = "https://example.com/x.qcow2.xz" }, `bootImage.sha256: Required value`},
		{"boot image two sources", func(s *okd.ClusterSpec) { s.BootImage.Path = "/a"; s.BootImage.StreamFile = "/b" }, `bootImage: Invalid value:`},
		{"boot image arch", func(s *okd.ClusterSpec) { s.BootImage.Arch = "amd64" }, `bootImage.arch: Unsupported value: "amd64"`},
		{"no hypervisors", func(s *okd.ClusterSpec) { s.Hypervisors = nil }, `hypervisors: Required value`},
		{"xen hypervisor", func(s *okd.ClusterSpec) { s.Hypervisors = []okd.Hypervisor{{URI: "xen:///system"}} }, `hypervisors[0].uri: Invalid value: "xen:///system": must be a qemu`},
		{"hypervisor password", func(s *okd.ClusterSpec) {
			s.Hypervisors = []okd.Hypervisor{{URI: "qemu+tcp://root:hunter22@h1/system"}}
		}, `hypervisors[0].uri: Invalid value: "qemu+tcp://%3Credacted%3E@h1/system": must not embed a password`},
		{"duplicate hypervisor", func(s *okd.ClusterSpec) {
			s.Hypervisors = []okd.Hypervisor{{URI: "qemu+ssh://h1/system"}, {URI: "qemu+ssh://h1/system/"}}
		}, `hypervisors[1].uri: Duplicate value: "qemu+ssh://h1/system/"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := validSpec()
			tc.mod(&s)
			err := s.Validate()
			if err == nil {
				t.Fatalf("no error; want %q", tc.want)
			}
			if !errors.Is(err, okd.ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
			var ve *okd.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not a *ValidationError", err)
			}
			found := false
			for _, fe := range ve.Errors {
				if strings.HasPrefix(fe.Error(), tc.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("got %v\nwant a field error starting %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter22") || strings.Contains(err.Error(), "nope") && tc.name == "pull secret not json" {
				t.Errorf("error leaks input secret: %v", err)
			}
		})
	}
}

func TestClusterSpecUndersizedOverride(t *testing.T) {
	s := validSpec()
	s.Nodes.Master = okd.NodeSize{VCPUs: 2, MemoryMiB: 8192, DiskGiB: 40}
	s.Nodes.AllowUndersized = true
	s.Nodes.UndersizedReason = "CI on a 32 GiB runner"
	if err := s.Validate(); err != nil {
		t.Fatalf("explicit lab override rejected: %v", err)
	}
}

func TestClusterSpecYAMLRoundTrip(t *testing.T) {
	in := `
name: lab
baseDomain: example.com
release: quay.io/okd/scos-release:4.19.0-okd-scos.1
topology: {controlPlane: 3, workers: 2}
nodes:
  worker: {vcpus: 4, memoryMiB: 16384, diskGiB: 120}
network: {machineCIDR: 10.10.0.0/24}
sshKey: ` + testSSHKey + `
pullSecret: '` + realLookingPullSecret + `'
hypervisors:
- uri: qemu+ssh://root@kvm1/system
- uri: qemu+ssh://root@kvm2/system
`
	var s okd.ClusterSpec
	if err := yaml.UnmarshalStrict([]byte(in), &s); err != nil {
		t.Fatal(err)
	}
	s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.PullSecret.Reveal() != realLookingPullSecret {
		t.Errorf("pull secret not read: %d bytes", len(s.PullSecret.Reveal()))
	}
	if s.Hypervisors[1].Name != "kvm2" || s.Nodes.Worker.DiskGiB != 120 || s.Nodes.Master.VCPUs != 4 {
		t.Errorf("spec = %+v", s)
	}
	// Marshalling (state files, debug dumps) redacts, and reading that
	// back fails validation instead of installing a placeholder.
	out, err := yaml.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "c2VjcmV0") || !strings.Contains(string(out), "pullSecret: <redacted>") {
		t.Fatalf("marshalled spec leaks or lacks the marker:\n%s", out)
	}
	var back okd.ClusterSpec
	if err := yaml.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Validate(); err == nil || !strings.Contains(err.Error(), "a redacted pull secret cannot be installed") {
		t.Errorf("re-read redacted spec: err = %v", err)
	}
}

func TestPullSecretNeverPrints(t *testing.T) {
	ps := okd.PullSecret(realLookingPullSecret)
	s := validSpec()
	s.PullSecret = ps
	var logs bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&logs, nil))
	l.Info("spec", "spec", s, "ps", ps)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("spec", "ps", ps, "spec", s)
	j, _ := json.Marshal(s)
	outs := []string{
		logs.String(), string(j),
		fmt.Sprint(ps), fmt.Sprintf("%s %v %q %x %X %d %+v %#v", ps, ps, ps, ps, ps, ps, ps, ps),
		fmt.Sprintf("%v %+v %#v", s, s, s),
		fmt.Sprintf("%+v", &s),
		ps.String(), ps.GoString(),
	}
	for i, o := range outs {
		if strings.Contains(o, "c2VjcmV0") || strings.Contains(o, "quay.io\":") {
			t.Errorf("output %d leaks the pull secret: %s", i, o)
		}
	}
	if ps.Reveal() != realLookingPullSecret {
		t.Error("Reveal changed the value")
	}
}

func TestMachinesPlacement(t *testing.T) {
	s := okd.ClusterSpec{Name: "lab", BaseDomain: "example.com", SSHKey: testSSHKey,
		Topology:    okd.Topology{ControlPlane: 3, Workers: 3},
		Hypervisors: []okd.Hypervisor{{URI: "qemu+ssh://h1/system"}, {URI: "qemu+ssh://h2/system"}},
	}.WithDefaults()
	ms := s.Machines()
	var got []string
	for _, m := range ms {
		got = append(got, fmt.Sprintf("%s@%s", m.Name, m.Hypervisor.Name))
	}
	want := "bootstrap@h2 master-0@h1 master-1@h2 master-2@h1 worker-0@h2 worker-1@h1 worker-2@h2"
	if strings.Join(got, " ") != want {
		t.Errorf("placement %s\nwant      %s", strings.Join(got, " "), want)
	}
	if ms[1].FQDN != "master-0.lab.example.com" || ms[1].Role != okd.RoleMaster || ms[4].Size != okd.MinWorkerSize {
		t.Errorf("machine = %+v", ms[1])
	}
}
