package okd

import (
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
)

// Validate checks the spec as it is (call WithDefaults first for a partial
// spec). It reports every bad field by its path in the spec, e.g.
// `network.hostPrefix: Invalid value: 12: …`; errors.Is(err, ErrInvalid).
func (s ClusterSpec) Validate() error {
	var errs fieldErrs
	validateClusterName("name", s.Name, &errs)
	validateBaseDomain("baseDomain", s.BaseDomain, s.Name, &errs)
	if s.Release != "" {
		validateReleaseImage("release", s.Release, &errs)
	}
	s.validateTopology(&errs)
	s.validateSizes(&errs)
	s.validateNetwork(&errs)
	if s.SSHKey == "" {
		errs.required("sshKey", "an authorized_keys line for user core (gather bootstrap and node access need it)")
	} else {
		validateSSHKey("sshKey", s.SSHKey, false, &errs)
	}
	s.PullSecret.validate("pullSecret", &errs)
	s.validateBootImage(&errs)
	s.validateHypervisors(&errs)
	return errs.err("ClusterSpec")
}

func validateReleaseImage(path, img string, errs *fieldErrs) {
	// A pull spec: registry/repo[:tag|@sha256:digest]; no scheme, no spaces.
	if strings.Contains(img, "://") || strings.ContainsAny(img, " \t\n") || !strings.Contains(img, "/") {
		errs.invalid(path, img, "must be an image pull spec, e.g. quay.io/okd/scos-release:4.19.0-okd-scos.1")
		return
	}
	if i := strings.Index(img, "@"); i >= 0 {
		d := img[i+1:]
		if !strings.HasPrefix(d, "sha256:") || !isHex(d[len("sha256:"):], 64) {
			errs.invalid(path, img, "digest must be sha256:<64 hex digits>")
		}
	}
}

func (s ClusterSpec) validateTopology(errs *fieldErrs) {
	t := s.Topology
	switch t.ControlPlane {
	case 1, 3:
	default:
		errs.add("topology.controlPlane", FieldUnsupported, t.ControlPlane, "supported values: 1 (single node), 3")
	}
	if t.Workers < 0 {
		errs.invalid("topology.workers", t.Workers, "must not be negative")
	}
	if t.ControlPlane == 1 && t.Workers > 0 {
		errs.invalid("topology.workers", t.Workers, "a single-node cluster has no workers; use 3 control-plane nodes to add workers")
	}
	if t.Workers == 1 {
		// The default ingress controller wants two router replicas; with
		// one worker it never becomes Available and install-complete fails.
		errs.invalid("topology.workers", t.Workers, "use 0 (compact) or at least 2: the ingress routers need two schedulable workers")
	}
}

func (s ClusterSpec) validateSizes(errs *fieldErrs) {
	n := s.Nodes
	if n.AllowUndersized && strings.TrimSpace(n.UndersizedReason) == "" {
		errs.required("nodes.undersizedReason", "nodes.allowUndersized needs a reason on record (e.g. \"CI smoke test on a 32 GiB host\")")
	}
	check := func(role string, got, min NodeSize, used bool) {
		if !used {
			return
		}
		base := "nodes." + role
		for _, f := range []struct {
			field     string
			got, min  int
			unit      string
			hardFloor int
		}{
			{"vcpus", got.VCPUs, min.VCPUs, "vCPU", 1},
			{"memoryMiB", got.MemoryMiB, min.MemoryMiB, "MiB", 1024},
			{"diskGiB", got.DiskGiB, min.DiskGiB, "GiB", 20},
		} {
			switch {
			case f.got < f.hardFloor:
				errs.invalid(base+"."+f.field, f.got, "must be at least %d %s even for a lab", f.hardFloor, f.unit)
			case f.got < f.min && !n.AllowUndersized:
				errs.invalid(base+"."+f.field, f.got, "below the OKD minimum of %d %s for %s nodes; set nodes.allowUndersized and nodes.undersizedReason to go lower", f.min, f.unit, role)
			}
		}
	}
	check("bootstrap", n.Bootstrap, MinBootstrapSize, true)
	check("master", n.Master, MinControlPlaneSize, true)
	check("worker", n.Worker, MinWorkerSize, s.Topology.Workers > 0)
}

func (s ClusterSpec) validateNetwork(errs *fieldErrs) {
	n := s.Network
	validateNetworkType("network.networkType", n.NetworkType, errs)
	var all []namedPrefix
	if p, ok := parseCIDR("network.machineCIDR", n.MachineCIDR, errs); ok {
		all = append(all, namedPrefix{"network.machineCIDR", p})
		if p.Addr().Is4() && p.Bits() > 29 {
			errs.invalid("network.machineCIDR", n.MachineCIDR, "too small for a cluster: use /29 or larger")
		}
	}
	if p, ok := parseCIDR("network.clusterCIDR", n.ClusterCIDR, errs); ok {
		validateHostPrefix("network.hostPrefix", p, n.HostPrefix, errs)
		all = append(all, namedPrefix{"network.clusterCIDR", p})
	}
	if p, ok := parseCIDR("network.serviceCIDR", n.ServiceCIDR, errs); ok {
		validateServiceCIDR("network.serviceCIDR", p, errs)
		all = append(all, namedPrefix{"network.serviceCIDR", p})
	}
	checkOverlaps(all, n.NetworkType, errs)
}

func (s ClusterSpec) validateBootImage(errs *fieldErrs) {
	b := s.BootImage
	if b.SHA256 != "" && !isHex(strings.ToLower(b.SHA256), 64) {
		errs.invalid("bootImage.sha256", b.SHA256, "must be 64 hex digits")
	}
	if b.URL != "" {
		u, err := url.Parse(b.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs.invalid("bootImage.url", redactURL(b.URL), "must be an http(s) URL")
		}
		if b.SHA256 == "" {
			errs.required("bootImage.sha256", "a downloaded image is checked against its sha256")
		}
	}
	set := 0
	for _, v := range []string{b.StreamFile, b.URL, b.Path} {
		if v != "" {
			set++
		}
	}
	if set > 1 {
		errs.invalid("bootImage", fmt.Sprintf("streamFile=%q url=%q path=%q", b.StreamFile, redactURL(b.URL), b.Path), "set only one of streamFile, url and path")
	}
	switch b.Arch {
	case "", "x86_64", "aarch64", "ppc64le", "s390x":
	default:
		errs.add("bootImage.arch", FieldUnsupported, b.Arch, `supported values: "x86_64", "aarch64", "ppc64le", "s390x"`)
	}
}

func (s ClusterSpec) validateHypervisors(errs *fieldErrs) {
	if len(s.Hypervisors) == 0 {
		errs.required("hypervisors", "at least one libvirt URI, e.g. qemu:///system")
	}
	seen := map[string]bool{}
	for i, h := range s.Hypervisors {
		path := fmt.Sprintf("hypervisors[%d].uri", i)
		u, err := url.Parse(h.URI)
		switch {
		case h.URI == "":
			errs.required(path, "a libvirt URI, e.g. qemu:///system or qemu+ssh://root@host/system")
			continue
		case err != nil:
			errs.invalid(path, redactURL(h.URI), "not a URI")
			continue
		case !(u.Scheme == "test" || u.Scheme == "qemu" || strings.HasPrefix(u.Scheme, "qemu+")):
			errs.invalid(path, redactURL(h.URI), "must be a qemu (or test) driver URI: qemu:///system, qemu+ssh://…, qemu+tcp://…, qemu+tls://…")
		case u.User != nil:
			if _, hasPw := u.User.Password(); hasPw {
				errs.invalid(path, redactURL(h.URI), "must not embed a password; use SSH keys or SASL")
			}
		}
		key := strings.TrimRight(h.URI, "/")
		if seen[key] {
			errs.add(path, FieldDuplicate, redactURL(h.URI), "")
		}
		seen[key] = true
	}
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
