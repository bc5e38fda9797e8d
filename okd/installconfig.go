package okd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	"sigs.k8s.io/yaml"
)

// InstallConfig is install-config.yaml (installer pkg/types InstallConfig,
// apiVersion v1), limited to the fields that matter for UPI on KVM. Fields
// this type does not know are dropped when parsing (the installer itself is
// strict; okvm writes these files, it does not edit foreign ones).
type InstallConfig struct {
	APIVersion                  string               `json:"apiVersion"`
	BaseDomain                  string               `json:"baseDomain"`
	Metadata                    ObjectMeta           `json:"metadata"`
	AdditionalTrustBundle       string               `json:"additionalTrustBundle,omitempty"`
	AdditionalTrustBundlePolicy string               `json:"additionalTrustBundlePolicy,omitempty"`
	SSHKey                      string               `json:"sshKey,omitempty"`
	Networking                  *Networking          `json:"networking,omitempty"`
	ControlPlane                *MachinePool         `json:"controlPlane,omitempty"`
	Compute                     []MachinePool        `json:"compute,omitempty"`
	Platform                    Platform             `json:"platform"`
	PullSecret                  PullSecret           `json:"pullSecret"`
	Proxy                       *Proxy               `json:"proxy,omitempty"`
	ImageContentSources         []ImageContentSource `json:"imageContentSources,omitempty"`
	ImageDigestSources          []ImageDigestSource  `json:"imageDigestSources,omitempty"`
	Publish                     string               `json:"publish,omitempty"`
	FIPS                        bool                 `json:"fips,omitempty"`
	CredentialsMode             string               `json:"credentialsMode,omitempty"`
	Capabilities                *Capabilities        `json:"capabilities,omitempty"`
	FeatureSet                  string               `json:"featureSet,omitempty"`
}

// ObjectMeta holds the cluster name.
type ObjectMeta struct {
	Name string `json:"name"`
}

// MachinePool is controlPlane or a compute entry.
type MachinePool struct {
	Name           string `json:"name"`
	Replicas       *int64 `json:"replicas,omitempty"`
	Hyperthreading string `json:"hyperthreading,omitempty"`
	Architecture   string `json:"architecture,omitempty"`
}

// Networking is install-config's networking section.
type Networking struct {
	NetworkType    string                `json:"networkType,omitempty"`
	MachineNetwork []MachineNetworkEntry `json:"machineNetwork,omitempty"`
	ClusterNetwork []ClusterNetworkEntry `json:"clusterNetwork,omitempty"`
	ServiceNetwork []string              `json:"serviceNetwork,omitempty"`
}

// MachineNetworkEntry is one machine network.
type MachineNetworkEntry struct {
	CIDR string `json:"cidr"`
}

// ClusterNetworkEntry is one pod network and the per-node prefix.
type ClusterNetworkEntry struct {
	CIDR       string `json:"cidr"`
	HostPrefix int32  `json:"hostPrefix"`
}

// Platform is the platform section. okvm only installs with `none: {}`
// (UPI); any other platform key is kept in Other so validation can name it.
type Platform struct {
	None  *NonePlatform              `json:"none,omitempty"`
	Other map[string]json.RawMessage `json:"-"`
}

// NonePlatform is `platform: none: {}`.
type NonePlatform struct{}

// MarshalJSON writes none and any other platform keys.
func (p Platform) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	for k, v := range p.Other {
		m[k] = v
	}
	if p.None != nil {
		m["none"] = struct{}{}
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads none and keeps other platform keys.
func (p *Platform) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*p = Platform{}
	for k, v := range m {
		if k == "none" {
			p.None = &NonePlatform{}
			continue
		}
		if p.Other == nil {
			p.Other = map[string]json.RawMessage{}
		}
		p.Other[k] = v
	}
	return nil
}

func (p Platform) names() []string {
	var out []string
	if p.None != nil {
		out = append(out, "none")
	}
	for k := range p.Other {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Proxy is the cluster-wide proxy.
type Proxy struct {
	HTTPProxy  string `json:"httpProxy,omitempty"`
	HTTPSProxy string `json:"httpsProxy,omitempty"`
	NoProxy    string `json:"noProxy,omitempty"`
}

// ImageContentSource is a deprecated mirror entry.
type ImageContentSource struct {
	Source  string   `json:"source"`
	Mirrors []string `json:"mirrors,omitempty"`
}

// ImageDigestSource is a mirror entry.
type ImageDigestSource struct {
	Source       string   `json:"source"`
	Mirrors      []string `json:"mirrors,omitempty"`
	SourcePolicy string   `json:"sourcePolicy,omitempty"`
}

// Capabilities selects optional cluster capabilities.
type Capabilities struct {
	BaselineCapabilitySet         string   `json:"baselineCapabilitySet,omitempty"`
	AdditionalEnabledCapabilities []string `json:"additionalEnabledCapabilities,omitempty"`
}

// Install-config constants.
const (
	InstallConfigVersion = "v1"
	InstallConfigFile    = "install-config.yaml"
)

// NewInstallConfig builds the install-config for a ClusterSpec: defaults
// filled, the spec validated, platform none, compute replicas 0 (okvm
// creates the workers itself; the installer must not plan Machines).
func NewInstallConfig(spec ClusterSpec) (*InstallConfig, error) {
	s := spec.WithDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	arch := installerArch(s.BootImage.Arch)
	cp := int64(s.Topology.ControlPlane)
	zero := int64(0)
	return &InstallConfig{
		APIVersion: InstallConfigVersion,
		BaseDomain: s.BaseDomain,
		Metadata:   ObjectMeta{Name: s.Name},
		SSHKey:     s.SSHKey,
		Networking: &Networking{
			NetworkType:    s.Network.NetworkType,
			MachineNetwork: []MachineNetworkEntry{{CIDR: s.Network.MachineCIDR}},
			ClusterNetwork: []ClusterNetworkEntry{{CIDR: s.Network.ClusterCIDR, HostPrefix: int32(s.Network.HostPrefix)}},
			ServiceNetwork: []string{s.Network.ServiceCIDR},
		},
		ControlPlane: &MachinePool{Name: "master", Replicas: &cp, Hyperthreading: "Enabled", Architecture: arch},
		Compute:      []MachinePool{{Name: "worker", Replicas: &zero, Hyperthreading: "Enabled", Architecture: arch}},
		Platform:     Platform{None: &NonePlatform{}},
		PullSecret:   s.PullSecret,
	}, nil
}

// installerArch maps a stream (RPM) architecture to the installer's Go name.
func installerArch(a string) string {
	switch a {
	case "", "x86_64", "amd64":
		return "amd64"
	case "aarch64", "arm64":
		return "arm64"
	default:
		return a // ppc64le and s390x are spelled the same
	}
}

// Marshal renders the YAML the installer reads, pull secret included. This
// is the only place the pull secret leaves its type: everything else
// (fmt, slog, json.Marshal of the struct) sees RedactedText.
func (ic *InstallConfig) Marshal() ([]byte, error) {
	type plain InstallConfig
	wire := struct {
		*plain
		// Shallower than the embedded field, so it wins in encoding/json.
		PullSecret string `json:"pullSecret"`
	}{(*plain)(ic), ic.PullSecret.Reveal()}
	b, err := yaml.Marshal(wire)
	if err != nil {
		return nil, fmt.Errorf("okd: marshal install-config: %w", err)
	}
	return b, nil
}

// ParseInstallConfig reads install-config YAML (or JSON). It does not
// validate; call Validate.
func ParseInstallConfig(data []byte) (*InstallConfig, error) {
	var ic InstallConfig
	if err := yaml.Unmarshal(data, &ic); err != nil {
		// yaml errors can quote content; the pull secret may be in there.
		return nil, fmt.Errorf("okd: parse install-config: %w: %s", ErrInvalid, NewRedactor().String(redactPullSecretText(err.Error(), data)))
	}
	return &ic, nil
}

// redactPullSecretText hides a pull secret found in data from msg, for
// parse errors that echo input.
func redactPullSecretText(msg string, data []byte) string {
	var probe struct {
		PullSecret string `json:"pullSecret"`
	}
	if yaml.Unmarshal(data, &probe) == nil && probe.PullSecret != "" {
		r := NewRedactor()
		r.AddPullSecret(PullSecret(probe.PullSecret))
		return r.String(msg)
	}
	if bytes.Contains([]byte(msg), []byte("auths")) {
		return "content withheld: it may hold the pull secret"
	}
	return msg
}
