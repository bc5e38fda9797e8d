package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/okvm/okvm/ignition/ignitiontest"
)

// installConfig is the part of install-config.yaml the fake reads. It is
// its own minimal type, not okd.InstallConfig: the fake must not share
// the parsing it is meant to test.
type installConfig struct {
	APIVersion string `json:"apiVersion"`
	BaseDomain string `json:"baseDomain"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	ControlPlane *struct {
		Replicas *int `json:"replicas"`
	} `json:"controlPlane"`
	Compute []struct {
		Name     string `json:"name"`
		Replicas *int   `json:"replicas"`
	} `json:"compute"`
	Platform   map[string]any `json:"platform"`
	PullSecret string         `json:"pullSecret"`
	SSHKey     string         `json:"sshKey"`
}

// state is .openshift_install_state.json, keyed by asset like the real one.
type state struct {
	InstallConfig *installConfig `json:"*installconfig.InstallConfig,omitempty"`
	ClusterID     *clusterID     `json:"*installconfig.ClusterID,omitempty"`
}

type clusterID struct {
	UUID    string `json:"UUID"`
	InfraID string `json:"InfraID"`
}

func (f *fake) statePath() string { return filepath.Join(f.a.dir, ".openshift_install_state.json") }

func (f *fake) loadState() *state {
	var st state
	if b, err := os.ReadFile(f.statePath()); err == nil {
		json.Unmarshal(b, &st)
	}
	return &st
}

func (f *fake) saveState(st *state) error {
	b, _ := json.MarshalIndent(st, "", "  ")
	return os.WriteFile(f.statePath(), b, 0o600)
}

func (f *fake) readInstallConfig() (*installConfig, int) {
	path := filepath.Join(f.a.dir, "install-config.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		f.log.fatal(`failed to fetch Master Machines: failed to load asset "Install Config": failed to create install config: no install-config.yaml in ` + f.a.dir + " (the fake cannot ask questions)")
		return nil, exitInstallConfig
	}
	var ic installConfig
	if err := yaml.Unmarshal(b, &ic); err != nil {
		f.log.fatal(fmt.Sprintf(`failed to fetch Master Machines: failed to load asset "Install Config": failed to create install config: failed to unmarshal install-config.yaml: %v`, err))
		return nil, exitInstallConfig
	}
	var errs []string
	if ic.APIVersion != "v1" {
		errs = append(errs, fmt.Sprintf("apiVersion: Invalid value: %q: install-config version must be \"v1\"", ic.APIVersion))
	}
	if ic.Metadata.Name == "" {
		errs = append(errs, "metadata.name: Required value: cluster name required")
	}
	if ic.BaseDomain == "" {
		errs = append(errs, "baseDomain: Required value: base domain required")
	}
	if ic.PullSecret == "" {
		errs = append(errs, "pullSecret: Required value: the pull secret is required")
	} else if err := json.Unmarshal([]byte(ic.PullSecret), &map[string]any{}); err != nil {
		errs = append(errs, "pullSecret: Invalid value: \"\": invalid pull secret")
	}
	if _, ok := ic.Platform["none"]; !ok {
		errs = append(errs, "platform: Invalid value: \"\": the fake only knows platform none")
	}
	if ic.ControlPlane == nil || ic.ControlPlane.Replicas == nil || *ic.ControlPlane.Replicas <= 0 {
		errs = append(errs, "controlPlane.replicas: Invalid value: number of control plane replicas must be positive")
	}
	if len(errs) > 0 {
		f.log.fatal(`failed to fetch Master Machines: failed to load asset "Install Config": failed to create install config: invalid "install-config.yaml" file: [` + strings.Join(errs, ", ") + "]")
		return nil, exitInstallConfig
	}
	return &ic, 0
}

func (ic *installConfig) workers() int {
	n := 0
	for _, c := range ic.Compute {
		if c.Replicas != nil {
			n += *c.Replicas
		}
	}
	return n
}

func (ic *installConfig) masters() int   { return *ic.ControlPlane.Replicas }
func (ic *installConfig) domain() string { return ic.Metadata.Name + "." + ic.BaseDomain }

// consumeInstallConfig reads install-config.yaml into the state and
// deletes it, as the installer does.
func (f *fake) consumeInstallConfig(st *state) int {
	f.log.info("Consuming Install Config from target directory")
	ic, code := f.readInstallConfig()
	if code != 0 {
		return code
	}
	st.InstallConfig = ic
	sum := sha256.Sum256([]byte(f.a.dir + time.Now().String()))
	st.ClusterID = &clusterID{
		UUID:    fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16]),
		InfraID: fmt.Sprintf("%s-%s", ic.Metadata.Name, base36(sum[16:20])),
	}
	os.Remove(filepath.Join(f.a.dir, "install-config.yaml"))
	return 0
}

func base36(b []byte) string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	out := make([]byte, 5)
	for i := range out {
		out[i] = digits[int(b[i%len(b)])%36]
	}
	return string(out)
}

func (f *fake) writeFile(rel string, data []byte, mode os.FileMode) error {
	p := filepath.Join(f.a.dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return err
	}
	return os.WriteFile(p, data, mode)
}

func (f *fake) createManifests() int {
	st := f.loadState()
	if code := f.consumeInstallConfig(st); code != 0 {
		return code
	}
	if code := f.scriptedFailure(); code != 0 {
		return f.failGeneric(code)
	}
	ic := st.InstallConfig
	schedulable := ic.workers() == 0
	if schedulable {
		f.log.warn("Making control-plane schedulable by setting MastersSchedulable to true for Scheduler cluster settings")
	}
	files := map[string]string{
		"manifests/cluster-scheduler-02-config.yml": fmt.Sprintf(`apiVersion: config.openshift.io/v1
kind: Scheduler
metadata:
  creationTimestamp: null
  name: cluster
spec:
  mastersSchedulable: %v
  policy:
    name: ""
status: {}
`, schedulable),
		"manifests/cluster-dns-02-config.yml":                                      fmt.Sprintf("apiVersion: config.openshift.io/v1\nkind: DNS\nmetadata:\n  creationTimestamp: null\n  name: cluster\nspec:\n  baseDomain: %s\n  platform:\n    aws: null\n    type: \"\"\nstatus: {}\n", ic.domain()),
		"manifests/cluster-infrastructure-02-config.yml":                           fmt.Sprintf("apiVersion: config.openshift.io/v1\nkind: Infrastructure\nmetadata:\n  creationTimestamp: null\n  name: cluster\nspec:\n  platformSpec:\n    type: None\nstatus:\n  apiServerInternalURI: https://api-int.%s:6443\n  apiServerURL: https://api.%s:6443\n  infrastructureName: %s\n  platform: None\n", ic.domain(), ic.domain(), st.ClusterID.InfraID),
		"manifests/cluster-ingress-02-config.yml":                                  fmt.Sprintf("apiVersion: config.openshift.io/v1\nkind: Ingress\nmetadata:\n  creationTimestamp: null\n  name: cluster\nspec:\n  domain: apps.%s\nstatus: {}\n", ic.domain()),
		"manifests/openshift-config-secret-pull-secret.yaml":                       fmt.Sprintf("apiVersion: v1\ndata:\n  .dockerconfigjson: %s\nkind: Secret\nmetadata:\n  name: pull-secret\n  namespace: openshift-config\ntype: kubernetes.io/dockerconfigjson\n", base64.StdEncoding.EncodeToString([]byte(ic.PullSecret))),
		"openshift/99_openshift-cluster-api_master-user-data-secret.yaml":          "apiVersion: v1\nkind: Secret\nmetadata:\n  name: master-user-data\n  namespace: openshift-machine-api\ntype: Opaque\n",
		"openshift/99_openshift-cluster-api_worker-user-data-secret.yaml":          "apiVersion: v1\nkind: Secret\nmetadata:\n  name: worker-user-data\n  namespace: openshift-machine-api\ntype: Opaque\n",
		"openshift/99_openshift-cluster-api_worker-machineset-0.yaml":              fmt.Sprintf("apiVersion: machine.openshift.io/v1beta1\nkind: MachineSet\nmetadata:\n  name: %s-worker-0\n  namespace: openshift-machine-api\nspec:\n  replicas: %d\n", st.ClusterID.InfraID, ic.workers()),
		"openshift/99_openshift-machine-api_master-control-plane-machine-set.yaml": "apiVersion: machine.openshift.io/v1\nkind: ControlPlaneMachineSet\nmetadata:\n  name: cluster\n  namespace: openshift-machine-api\nspec:\n  replicas: 3\n  state: Inactive\n",
		"openshift/99_openshift-machineconfig_99-master-ssh.yaml":                  "apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\nmetadata:\n  labels:\n    machineconfiguration.openshift.io/role: master\n  name: 99-master-ssh\n",
	}
	for i := 0; i < ic.masters(); i++ {
		files[fmt.Sprintf("openshift/99_openshift-cluster-api_master-machines-%d.yaml", i)] = fmt.Sprintf("apiVersion: machine.openshift.io/v1beta1\nkind: Machine\nmetadata:\n  name: %s-master-%d\n  namespace: openshift-machine-api\n", st.ClusterID.InfraID, i)
	}
	for rel, content := range files {
		if err := f.writeFile(rel, []byte(content), 0o640); err != nil {
			f.log.fatal(err.Error())
			return exitGeneric
		}
	}
	if err := f.saveState(st); err != nil {
		f.log.fatal(err.Error())
		return exitGeneric
	}
	f.log.infof("Manifests created in: %s and %s", filepath.Join(f.a.dir, "manifests"), filepath.Join(f.a.dir, "openshift"))
	return 0
}

// seen is what the fake found in the manifests when it consumed them; tests
// assert on it to check the Runner's UPI patch.
type seen struct {
	MastersSchedulable *bool    `json:"mastersSchedulable"`
	OpenshiftManifests []string `json:"openshiftManifests"`
}

func (f *fake) recordManifests() {
	var s seen
	if b, err := os.ReadFile(filepath.Join(f.a.dir, "manifests/cluster-scheduler-02-config.yml")); err == nil {
		var obj struct {
			Spec struct {
				MastersSchedulable *bool `json:"mastersSchedulable"`
			} `json:"spec"`
		}
		if yaml.Unmarshal(b, &obj) == nil {
			s.MastersSchedulable = obj.Spec.MastersSchedulable
		}
	}
	ents, _ := os.ReadDir(filepath.Join(f.a.dir, "openshift"))
	for _, e := range ents {
		s.OpenshiftManifests = append(s.OpenshiftManifests, e.Name())
	}
	sort.Strings(s.OpenshiftManifests)
	b, _ := json.MarshalIndent(s, "", "  ")
	os.WriteFile(filepath.Join(f.fakeDir(), "manifests-seen.json"), b, 0o600)
}

func (f *fake) createIgnitionConfigs() int {
	st := f.loadState()
	if _, err := os.Stat(filepath.Join(f.a.dir, "manifests")); err == nil {
		for _, a := range []string{"Common Manifests", "Openshift Manifests", "Master Machines", "Worker Machines"} {
			f.log.infof("Consuming %s from target directory", a)
		}
		f.recordManifests()
	} else if code := f.consumeInstallConfig(st); code != 0 {
		return code
	}
	if st.InstallConfig == nil || st.ClusterID == nil {
		f.log.fatal(`failed to fetch Bootstrap Ignition Config: failed to load asset "Install Config": no install-config.yaml and no state`)
		return exitInstallConfig
	}
	if code := f.scriptedFailure(); code != 0 {
		return f.failGeneric(code)
	}
	ic := st.InstallConfig
	sum := sha256.Sum256([]byte(st.ClusterID.UUID))
	seed := binary.BigEndian.Uint64(sum[:8])
	art, err := ignitiontest.NewCluster(ignitiontest.BootstrapOptions{
		Seed: seed, ClusterName: ic.Metadata.Name, BaseDomain: ic.BaseDomain,
		// Certificates start now (real time): the lifecycle computes the
		// bootstrap deadline from them.
		NotBefore: time.Now().Add(-time.Minute).Truncate(time.Second),
		SSHKey:    ic.SSHKey,
	})
	if err != nil {
		f.log.fatal("failed to generate Ignition configs: " + err.Error())
		return exitGeneric
	}
	pw := f.s.Password
	if pw == "" {
		pw = randomPassword()
	}
	meta, _ := json.Marshal(map[string]any{"clusterName": ic.Metadata.Name, "clusterID": st.ClusterID.UUID, "infraID": st.ClusterID.InfraID, "none": map[string]any{}})
	for _, w := range []struct {
		rel  string
		data []byte
		mode os.FileMode
	}{
		{"bootstrap.ign", art.Bootstrap, 0o640},
		{"master.ign", art.Master, 0o640},
		{"worker.ign", art.Worker, 0o640},
		{"metadata.json", meta, 0o640},
		{"auth/kubeconfig", kubeconfig(ic.domain(), art), 0o600},
		{"auth/kubeadmin-password", []byte(pw), 0o600},
	} {
		if err := f.writeFile(w.rel, w.data, w.mode); err != nil {
			f.log.fatal(err.Error())
			return exitGeneric
		}
	}
	os.RemoveAll(filepath.Join(f.a.dir, "manifests"))
	os.RemoveAll(filepath.Join(f.a.dir, "openshift"))
	if err := f.saveState(st); err != nil {
		f.log.fatal(err.Error())
		return exitGeneric
	}
	f.log.infof("Ignition-Configs created in: %s and %s", f.a.dir, filepath.Join(f.a.dir, "auth"))
	return 0
}

// randomPassword is shaped like the installer's (4 groups of 5).
func randomPassword() string {
	const chars = "23456789abcdefghijkmnopqrstuvwxyzABCDEFGHIJKLMNPQRSTUVWXYZ"
	b := make([]byte, 20)
	rand.Read(b)
	var out strings.Builder
	for i, c := range b {
		if i > 0 && i%5 == 0 {
			out.WriteByte('-')
		}
		out.WriteByte(chars[int(c)%len(chars)])
	}
	return out.String()
}

func kubeconfig(domain string, art *ignitiontest.Artifacts) []byte {
	var client ignitiontest.Cert
	if c, ok := art.Cert("admin-kubeconfig-client"); ok {
		client = c
	}
	name := strings.Split(domain, ".")[0]
	return []byte(fmt.Sprintf(`apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: %s
    server: https://api.%s:6443
  name: %s
contexts:
- context:
    cluster: %s
    user: admin
  name: admin
current-context: admin
kind: Config
preferences: {}
users:
- name: admin
  user:
    client-certificate-data: %s
    client-key-data: %s
`, base64.StdEncoding.EncodeToString(art.RootCA), domain, name, name,
		base64.StdEncoding.EncodeToString(client.PEM), base64.StdEncoding.EncodeToString(client.KeyPEM)))
}
