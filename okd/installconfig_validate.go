package okd

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Validate applies the installer's install-config rules
// (pkg/types/validation/installconfig.go) that apply to platform none, plus
// okvm's own: platform none only, control plane 1 or 3, compute replicas 0.
// Every failure is reported, each naming its field path.
func (ic *InstallConfig) Validate() error {
	var errs fieldErrs
	if ic.APIVersion == "" {
		errs.required("apiVersion", "install-config version required")
	} else if ic.APIVersion != InstallConfigVersion {
		errs.invalid("apiVersion", ic.APIVersion, "install-config version must be %q", InstallConfigVersion)
	}
	validateClusterName("metadata.name", ic.Metadata.Name, &errs)
	validateBaseDomain("baseDomain", ic.BaseDomain, ic.Metadata.Name, &errs)
	if ic.SSHKey != "" {
		validateSSHKey("sshKey", ic.SSHKey, ic.FIPS, &errs)
	}
	ic.PullSecret.validate("pullSecret", &errs)
	validateTrustBundle(ic, &errs)
	ic.validateNetworking(&errs)
	ic.validatePools(&errs)
	ic.validatePlatform(&errs)
	ic.validateProxy(&errs)
	if len(ic.ImageContentSources) > 0 && len(ic.ImageDigestSources) > 0 {
		errs.add("imageContentSources", FieldForbidden, nil, "cannot set imageContentSources and imageDigestSources at the same time")
	}
	for i, s := range ic.ImageDigestSources {
		validateMirrorSource(fmt.Sprintf("imageDigestSources[%d].source", i), s.Source, &errs)
	}
	for i, s := range ic.ImageContentSources {
		validateMirrorSource(fmt.Sprintf("imageContentSources[%d].source", i), s.Source, &errs)
	}
	if c := ic.Capabilities; c != nil && c.BaselineCapabilitySet == "None" && !containsString(c.AdditionalEnabledCapabilities, "Ingress") {
		errs.invalid("capabilities", "None", "the Ingress capability is required")
	}
	return errs.err("install-config")
}

// dnsLabel is a lower-case RFC 1123 label.
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// maxClusterNameLen is 63 minus room for "*.apps." style prefixes the
// installer keeps (validation.go: len("\052.apps") + 2).
const maxClusterNameLen = 54

func validateClusterName(path, name string, errs *fieldErrs) {
	switch {
	case name == "":
		errs.required(path, "cluster name required")
	case len(name) > maxClusterNameLen:
		errs.invalid(path, name, "must be no more than %d characters", maxClusterNameLen)
	case !dnsLabel.MatchString(name):
		errs.invalid(path, name, "must be a lower case RFC 1123 label: alphanumerics and '-', starting and ending with an alphanumeric")
	}
}

func validateBaseDomain(path, domain, name string, errs *fieldErrs) {
	if domain == "" {
		errs.required(path, "base domain required")
		return
	}
	if err := checkSubdomain(domain); err != "" {
		errs.invalid(path, domain, "%s", err)
		return
	}
	if name != "" && dnsLabel.MatchString(name) {
		if err := checkSubdomain(name + "." + domain); err != "" {
			errs.invalid(path, domain, "cluster domain %s.%s: %s", name, domain, err)
		}
	}
}

// checkSubdomain is an RFC 1123 subdomain check (lower case, ≤ 253).
func checkSubdomain(d string) string {
	if len(d) > 253 {
		return "must be no more than 253 characters"
	}
	if strings.HasSuffix(d, ".") {
		return "must not end with '.'"
	}
	for _, l := range strings.Split(d, ".") {
		if len(l) > 63 || !dnsLabel.MatchString(l) {
			return "must be a lower case RFC 1123 subdomain: labels of alphanumerics and '-' separated by '.'"
		}
	}
	return ""
}

func validateSSHKey(path, key string, fips bool, errs *fieldErrs) {
	pk, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(key))
	if err != nil {
		errs.invalid(path, shortKey(key), "invalid SSH public key: %v", err)
		return
	}
	if len(strings.TrimSpace(string(rest))) > 0 {
		errs.invalid(path, shortKey(key), "expected a single authorized_keys line")
		return
	}
	if fips {
		switch pk.Type() {
		case ssh.KeyAlgoRSA, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
		default:
			errs.invalid(path, shortKey(key), "SSH key type %s unavailable when FIPS is enabled; use rsa or ecdsa", pk.Type())
		}
	}
}

// shortKey keeps error messages readable (public keys are long, not secret).
func shortKey(k string) string {
	if len(k) > 40 {
		return k[:37] + "..."
	}
	return k
}

func validateTrustBundle(ic *InstallConfig, errs *fieldErrs) {
	if b := ic.AdditionalTrustBundle; b != "" {
		rest := []byte(b)
		n := 0
		for {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				break
			}
			n++
			if blk.Type != "CERTIFICATE" {
				errs.invalid("additionalTrustBundle", "PEM block "+blk.Type, "every block must be a CERTIFICATE")
				continue
			}
			if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
				errs.invalid("additionalTrustBundle", fmt.Sprintf("certificate %d", n), "%v", err)
			}
		}
		if n == 0 || strings.TrimSpace(string(rest)) != "" {
			errs.invalid("additionalTrustBundle", "...", "must be PEM-encoded X.509 certificates")
		}
	}
	switch ic.AdditionalTrustBundlePolicy {
	case "", "Proxyonly", "Always":
	default:
		errs.add("additionalTrustBundlePolicy", FieldUnsupported, ic.AdditionalTrustBundlePolicy, `supported values: "Proxyonly", "Always"`)
	}
}

// ovnReserved are OVN-Kubernetes' default internal subnets (join, transit,
// masquerade); a cluster whose networks overlap them breaks in ways that
// look like routing bugs, so the installer rejects it up front.
var ovnReserved = []struct {
	name string
	p    netip.Prefix
}{
	{"OVN-Kubernetes join subnet", netip.MustParsePrefix("100.64.0.0/16")},
	{"OVN-Kubernetes transit switch subnet", netip.MustParsePrefix("100.88.0.0/16")},
	{"OVN-Kubernetes masquerade subnet", netip.MustParsePrefix("169.254.0.0/17")},
	{"OVN-Kubernetes IPv6 join subnet", netip.MustParsePrefix("fd98::/64")},
	{"OVN-Kubernetes IPv6 transit switch subnet", netip.MustParsePrefix("fd97::/64")},
	{"OVN-Kubernetes IPv6 masquerade subnet", netip.MustParsePrefix("fd69::/112")},
}

// namedPrefix is a parsed CIDR and the field it came from.
type namedPrefix struct {
	path string
	p    netip.Prefix
}

// parseCIDR checks that s is a CIDR with the host bits zero ("masked").
func parseCIDR(path, s string, errs *fieldErrs) (netip.Prefix, bool) {
	if s == "" {
		errs.required(path, "a CIDR, e.g. 10.0.0.0/16")
		return netip.Prefix{}, false
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		errs.invalid(path, s, "invalid CIDR address: %s", s)
		return netip.Prefix{}, false
	}
	if p.Masked() != p {
		errs.invalid(path, s, "invalid network address. got %s, expecting %s", s, p.Masked())
		return netip.Prefix{}, false
	}
	return p, true
}

// checkOverlaps reports each pair of overlapping networks, and any that
// overlap OVN-Kubernetes' reserved subnets.
func checkOverlaps(nets []namedPrefix, networkType string, errs *fieldErrs) {
	for i := range nets {
		for j := i + 1; j < len(nets); j++ {
			if nets[i].p.Overlaps(nets[j].p) {
				errs.invalid(nets[j].path, nets[j].p.String(), "must not overlap with %s %s", nets[i].path, nets[i].p)
			}
		}
		if networkType == "" || networkType == DefaultNetworkType {
			for _, r := range ovnReserved {
				if nets[i].p.Overlaps(r.p) {
					errs.invalid(nets[i].path, nets[i].p.String(), "must not overlap with the %s %s", r.name, r.p)
				}
			}
		}
	}
}

func validateNetworkType(path, t string, errs *fieldErrs) {
	switch t {
	case "":
		errs.required(path, "network provider type required")
	case "OpenShiftSDN", "Kuryr":
		errs.add(path, FieldUnsupported, t, "%s is no longer supported; use %s", t, DefaultNetworkType)
	}
}

// validateServiceCIDR: IPv4 /12 or longer ("/16 is recommended"), IPv6 /112.
func validateServiceCIDR(path string, p netip.Prefix, errs *fieldErrs) {
	if p.Addr().Is4() && p.Bits() < 12 {
		errs.invalid(path, p.String(), "subnet size for IPv4 service network must be /12 or greater (/16 is recommended)")
	}
	if p.Addr().Is6() && p.Bits() != 112 {
		errs.invalid(path, p.String(), "subnet size for IPv6 service network should be /112")
	}
}

func validateHostPrefix(path string, p netip.Prefix, hp int, errs *fieldErrs) {
	if p.Addr().Is6() {
		if hp != 64 {
			errs.invalid(path, hp, "cluster network host subnetwork prefix must be 64 for IPv6 networks")
		}
		return
	}
	if hp < p.Bits() {
		errs.invalid(path, hp, "cluster network host subnetwork prefix must not be larger size than CIDR %s", p)
	} else if hp > 30 {
		// A /31 or /32 per node leaves no pod addresses.
		errs.invalid(path, hp, "cluster network host subnetwork prefix must be 30 or less to leave room for pods")
	}
}

func (ic *InstallConfig) validateNetworking(errs *fieldErrs) {
	n := ic.Networking
	if n == nil {
		errs.required("networking", "networking is required")
		return
	}
	validateNetworkType("networking.networkType", n.NetworkType, errs)
	var all []namedPrefix
	if len(n.MachineNetwork) == 0 {
		errs.required("networking.machineNetwork", "at least one machine network is required")
	}
	for i, m := range n.MachineNetwork {
		path := fmt.Sprintf("networking.machineNetwork[%d].cidr", i)
		if p, ok := parseCIDR(path, m.CIDR, errs); ok {
			all = append(all, namedPrefix{path, p})
		}
	}
	switch l := len(n.ServiceNetwork); {
	case l == 0:
		errs.required("networking.serviceNetwork", "a service network is required")
	case l > 2:
		errs.invalid("networking.serviceNetwork", strings.Join(n.ServiceNetwork, ", "), "only one service network can be specified (two for dual-stack)")
	}
	for i, s := range n.ServiceNetwork {
		path := fmt.Sprintf("networking.serviceNetwork[%d]", i)
		if p, ok := parseCIDR(path, s, errs); ok {
			validateServiceCIDR(path, p, errs)
			all = append(all, namedPrefix{path, p})
		}
	}
	if len(n.ClusterNetwork) == 0 {
		errs.required("networking.clusterNetwork", "cluster network required")
	}
	v4Prefix := int32(-1)
	for i, c := range n.ClusterNetwork {
		path := fmt.Sprintf("networking.clusterNetwork[%d]", i)
		p, ok := parseCIDR(path+".cidr", c.CIDR, errs)
		if !ok {
			continue
		}
		validateHostPrefix(path+".hostPrefix", p, int(c.HostPrefix), errs)
		if p.Addr().Is4() {
			if v4Prefix >= 0 && c.HostPrefix != v4Prefix {
				errs.invalid(path+".hostPrefix", c.HostPrefix, "cluster network host subnetwork prefix must be the same value for IPv4 networks")
			}
			v4Prefix = c.HostPrefix
		}
		all = append(all, namedPrefix{path + ".cidr", p})
	}
	checkOverlaps(all, n.NetworkType, errs)
}

var supportedArchs = []string{"amd64", "arm64", "ppc64le", "s390x"}

func validatePool(path string, p *MachinePool, errs *fieldErrs) {
	switch p.Hyperthreading {
	case "", "Enabled", "Disabled":
	default:
		errs.add(path+".hyperthreading", FieldUnsupported, p.Hyperthreading, `supported values: "Enabled", "Disabled"`)
	}
	if p.Architecture != "" && !containsString(supportedArchs, p.Architecture) {
		errs.add(path+".architecture", FieldUnsupported, p.Architecture, `supported values: "amd64", "arm64", "ppc64le", "s390x"`)
	}
}

func (ic *InstallConfig) validatePools(errs *fieldErrs) {
	cp := ic.ControlPlane
	if cp == nil {
		errs.required("controlPlane", "controlPlane is required")
	} else {
		if cp.Name != "master" {
			errs.add("controlPlane.name", FieldUnsupported, cp.Name, `supported values: "master"`)
		}
		switch {
		case cp.Replicas == nil:
			errs.required("controlPlane.replicas", "replicas is required")
		case *cp.Replicas <= 0:
			errs.invalid("controlPlane.replicas", cp.Replicas, "number of control plane replicas must be positive")
		case *cp.Replicas != 1 && *cp.Replicas != 3:
			errs.add("controlPlane.replicas", FieldUnsupported, cp.Replicas, "supported values: 1 (single node), 3")
		}
		validatePool("controlPlane", cp, errs)
	}
	seen := map[string]bool{}
	for i := range ic.Compute {
		c := &ic.Compute[i]
		path := fmt.Sprintf("compute[%d]", i)
		if c.Name != "worker" {
			errs.add(path+".name", FieldUnsupported, c.Name, `supported values: "worker"`)
		}
		if seen[c.Name] {
			errs.add(path+".name", FieldDuplicate, c.Name, "")
		}
		seen[c.Name] = true
		if c.Replicas != nil && *c.Replicas != 0 {
			errs.invalid(path+".replicas", c.Replicas, "must be 0 on platform none: okvm creates the worker VMs itself and the installer has no machine API to scale")
		}
		if c.Replicas != nil && *c.Replicas < 0 {
			errs.invalid(path+".replicas", c.Replicas, "number of compute replicas must not be negative")
		}
		validatePool(path, c, errs)
		if cp != nil && archOrDefault(c.Architecture) != archOrDefault(cp.Architecture) {
			errs.invalid(path+".architecture", archOrDefault(c.Architecture), "heterogeneous multi-arch is not supported; compute pool architecture must match control plane (%s)", archOrDefault(cp.Architecture))
		}
	}
}

func archOrDefault(a string) string {
	if a == "" {
		return "amd64"
	}
	return a
}

func (ic *InstallConfig) validatePlatform(errs *fieldErrs) {
	names := ic.Platform.names()
	switch {
	case len(names) == 0:
		errs.required("platform", `must specify one platform; okvm installs with platform "none"`)
	case len(names) > 1:
		errs.invalid("platform", strings.Join(names, ", "), "must only specify a single type of platform")
	case names[0] != "none":
		errs.add("platform", FieldUnsupported, names[0], `okvm installs user-provisioned infrastructure with platform "none"`)
	}
	if ic.Publish != "" && ic.Publish != "External" {
		errs.add("publish", FieldUnsupported, ic.Publish, `only "External" is supported on platform none`)
	}
	if ic.CredentialsMode != "" {
		errs.add("credentialsMode", FieldForbidden, nil, "cannot be set on platform none")
	}
}

func (ic *InstallConfig) validateProxy(errs *fieldErrs) {
	p := ic.Proxy
	if p == nil {
		return
	}
	if p.HTTPProxy == "" && p.HTTPSProxy == "" {
		errs.required("proxy", "must include httpProxy or httpsProxy")
	}
	for _, f := range []struct{ path, v string }{{"proxy.httpProxy", p.HTTPProxy}, {"proxy.httpsProxy", p.HTTPSProxy}} {
		if f.v == "" {
			continue
		}
		u, err := url.Parse(f.v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// Proxy URLs can carry credentials: show only the scheme and host.
			errs.invalid(f.path, redactURL(f.v), "must be an http or https URL")
		}
	}
	if strings.ContainsAny(p.NoProxy, " \t") {
		errs.invalid("proxy.noProxy", p.NoProxy, "must not contain spaces")
	}
	if p.NoProxy != "" && p.NoProxy != "*" {
		for _, e := range strings.Split(p.NoProxy, ",") {
			if strings.Contains(e, "*") {
				errs.invalid("proxy.noProxy", e, "each element must be an IP, a CIDR or a domain without wildcards, or '*' alone")
			}
		}
	}
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		if err != nil {
			return "<unparsable URL>"
		}
		return s
	}
	u.User = url.User(RedactedText)
	return u.String()
}

func validateMirrorSource(path, src string, errs *fieldErrs) {
	if src == "" {
		errs.required(path, "source is required")
		return
	}
	last := src[strings.LastIndexByte(src, '/')+1:] // a registry port sits before the last '/'
	if strings.Contains(src, "@") || strings.Contains(last, ":") {
		errs.invalid(path, src, "must be a repository, without a tag or digest")
	}
}
