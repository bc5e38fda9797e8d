package okd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CreateManifests runs `create manifests` (which consumes
// install-config.yaml; WriteInstallConfig kept a copy) and then applies the
// UPI edits (PatchManifests): mastersSchedulable, and no Machine,
// MachineSet or ControlPlaneMachineSet manifests.
func (r *Runner) CreateManifests(ctx context.Context, mastersSchedulable bool) (*ManifestPatch, error) {
	if _, err := r.run(ctx, []string{"create", "manifests"}, runOpts{}); err != nil {
		return nil, err
	}
	p, err := PatchManifests(r.dir, mastersSchedulable)
	if err != nil {
		return nil, err
	}
	r.logger.InfoContext(ctx, "patched manifests for UPI", "mastersSchedulable", p.MastersSchedulable, "removed", len(p.Removed))
	return p, nil
}

// IgnitionConfigs are the files `create ignition-configs` writes.
type IgnitionConfigs struct {
	Bootstrap             string // <dir>/bootstrap.ign
	Master                string // <dir>/master.ign
	Worker                string // <dir>/worker.ign
	Kubeconfig            string // <dir>/auth/kubeconfig
	KubeadminPasswordFile string // <dir>/auth/kubeadmin-password
	Metadata              ClusterMetadata
}

// ClusterMetadata is metadata.json.
type ClusterMetadata struct {
	ClusterName string `json:"clusterName"`
	ClusterID   string `json:"clusterID"`
	InfraID     string `json:"infraID"`
}

// ReadClusterMetadata reads <dir>/metadata.json.
func ReadClusterMetadata(dir string) (ClusterMetadata, error) {
	var m ClusterMetadata
	b, err := os.ReadFile(filepath.Join(dir, "metadata.json"))
	if err != nil {
		return m, fmt.Errorf("okd: metadata.json: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("okd: metadata.json: %w", err)
	}
	return m, nil
}

// CreateIgnitionConfigs runs `create ignition-configs` and checks that
// every file it promises is there. From here on the runner redacts the
// kubeadmin password too.
func (r *Runner) CreateIgnitionConfigs(ctx context.Context) (*IgnitionConfigs, error) {
	if _, err := r.run(ctx, []string{"create", "ignition-configs"}, runOpts{}); err != nil {
		return nil, err
	}
	r.learnSecrets()
	ic := &IgnitionConfigs{
		Bootstrap:             filepath.Join(r.dir, "bootstrap.ign"),
		Master:                filepath.Join(r.dir, "master.ign"),
		Worker:                filepath.Join(r.dir, "worker.ign"),
		Kubeconfig:            filepath.Join(r.dir, "auth", "kubeconfig"),
		KubeadminPasswordFile: filepath.Join(r.dir, "auth", "kubeadmin-password"),
	}
	for _, f := range []string{ic.Bootstrap, ic.Master, ic.Worker, ic.Kubeconfig, ic.KubeadminPasswordFile} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("okd: create ignition-configs succeeded but %w", err)
		}
	}
	m, err := ReadClusterMetadata(r.dir)
	if err != nil {
		return nil, err
	}
	ic.Metadata = m
	return ic, nil
}

// WaitForBootstrapComplete runs `wait-for bootstrap-complete`. On success
// the bootstrap can go (LB pools, DNS, VM). It fails with ErrBootstrapFailed
// (exit 5; older installers exit 1, classed ErrInstallerFailed); gather
// logs with GatherBootstrap then.
func (r *Runner) WaitForBootstrapComplete(ctx context.Context) error {
	_, err := r.run(ctx, []string{"wait-for", "bootstrap-complete"}, runOpts{})
	return err
}

// WaitForInstallComplete runs `wait-for install-complete` (safe to re-run)
// and returns the summary it printed. The installer rewrites
// auth/kubeconfig here to add the router CA.
func (r *Runner) WaitForInstallComplete(ctx context.Context) (*InstallSummary, error) {
	res, err := r.run(ctx, []string{"wait-for", "install-complete"}, runOpts{})
	if err != nil {
		return nil, err
	}
	s := res.summary
	if s.Kubeconfig == "" {
		s.Kubeconfig = filepath.Join(r.dir, "auth", "kubeconfig")
	}
	return &s, nil
}

// GatherOptions are the hosts `gather bootstrap` collects logs from.
type GatherOptions struct {
	BootstrapIP string
	MasterIPs   []string
	// KeyFile is the SSH private key for user core (default: the agent).
	KeyFile string
}

// GatherBootstrap runs `gather bootstrap` and returns the path of the log
// bundle (<dir>/log-bundle-<timestamp>.tar.gz).
func (r *Runner) GatherBootstrap(ctx context.Context, o GatherOptions) (string, error) {
	var errs fieldErrs
	if o.BootstrapIP == "" {
		errs.required("bootstrapIP", "the bootstrap node's address")
	}
	for i, ip := range o.MasterIPs {
		if ip == "" || strings.HasPrefix(ip, "-") {
			errs.invalid(fmt.Sprintf("masterIPs[%d]", i), ip, "must be an address")
		}
	}
	if strings.HasPrefix(o.BootstrapIP, "-") {
		errs.invalid("bootstrapIP", o.BootstrapIP, "must be an address")
	}
	if err := errs.err("GatherOptions"); err != nil {
		return "", err
	}
	args := []string{"gather", "bootstrap", "--bootstrap", o.BootstrapIP}
	for _, ip := range o.MasterIPs {
		args = append(args, "--master", ip)
	}
	if o.KeyFile != "" {
		args = append(args, "--key", o.KeyFile)
	}
	res, err := r.run(ctx, args, runOpts{collect: true})
	if err != nil {
		return "", err
	}
	for _, l := range res.lines {
		const marker = "Bootstrap gather logs captured here "
		if i := strings.Index(l, marker); i >= 0 {
			return strings.Trim(strings.TrimSpace(l[i+len(marker):]), `"`), nil
		}
	}
	// Older installers print nothing parseable: take the newest bundle.
	matches, _ := filepath.Glob(filepath.Join(r.dir, "log-bundle-*.tar.gz"))
	if len(matches) == 0 {
		return "", fmt.Errorf("okd: gather bootstrap: no log bundle in %s", r.dir)
	}
	newest := matches[0]
	for _, m := range matches[1:] {
		if m > newest { // timestamped names sort by time
			newest = m
		}
	}
	return newest, nil
}
