package okd

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"sigs.k8s.io/yaml"
)

// SchedulerManifest is the manifest whose spec.mastersSchedulable decides
// whether workloads land on control-plane nodes.
const SchedulerManifest = "manifests/cluster-scheduler-02-config.yml"

// upiRemovedManifests are the machine-API objects the installer renders
// even for platform none. On UPI nothing reconciles them, and leaving them
// makes the machine-api and control-plane-machine-set operators report
// degraded (installer docs: "remove the Kubernetes manifest files that
// define the control plane machines and compute machine sets").
var upiRemovedManifests = []string{
	"openshift/99_openshift-cluster-api_master-machines-*.yaml",
	"openshift/99_openshift-cluster-api_worker-machineset-*.yaml",
	"openshift/99_openshift-machine-api_master-control-plane-machine-set.yaml",
}

// ManifestPatch says what PatchManifests did.
type ManifestPatch struct {
	MastersSchedulable bool
	Removed            []string // paths relative to the install dir
}

// PatchManifests applies okvm's UPI edits to <dir> after `create
// manifests`: it sets spec.mastersSchedulable in the scheduler manifest
// (false when workers will be added, so ingress lands on workers behind the
// ingress LB; true for compact and single-node clusters), and removes the
// Machine, MachineSet and ControlPlaneMachineSet manifests. It is
// idempotent.
func PatchManifests(dir string, mastersSchedulable bool) (*ManifestPatch, error) {
	p := &ManifestPatch{MastersSchedulable: mastersSchedulable}
	path := filepath.Join(dir, SchedulerManifest)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("okd: patch manifests: %w", err)
	}
	var obj map[string]any
	if err := yaml.Unmarshal(b, &obj); err != nil {
		return nil, fmt.Errorf("okd: patch manifests: %s: %w", SchedulerManifest, err)
	}
	if obj["kind"] != "Scheduler" {
		return nil, fmt.Errorf("okd: patch manifests: %s: kind %v, want Scheduler: %w", SchedulerManifest, obj["kind"], ErrInvalid)
	}
	spec, _ := obj["spec"].(map[string]any)
	if spec == nil {
		spec = map[string]any{}
		obj["spec"] = spec
	}
	spec["mastersSchedulable"] = mastersSchedulable
	out, err := yaml.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("okd: patch manifests: %w", err)
	}
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	if err := writeFileAtomic(path, out, mode); err != nil {
		return nil, err
	}
	for _, g := range upiRemovedManifests {
		matches, err := filepath.Glob(filepath.Join(dir, g))
		if err != nil {
			return nil, fmt.Errorf("okd: patch manifests: %w", err)
		}
		for _, m := range matches {
			if err := os.Remove(m); err != nil && !os.IsNotExist(err) {
				return nil, fmt.Errorf("okd: patch manifests: %w", err)
			}
			rel, _ := filepath.Rel(dir, m)
			p.Removed = append(p.Removed, rel)
		}
	}
	sort.Strings(p.Removed)
	return p, nil
}
