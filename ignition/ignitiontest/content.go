package ignitiontest

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/coreos/ignition/v2/config/v3_2/types"
)

// The scripts and manifests below are abridged from what openshift-install
// renders into bootstrap.ign; they are realistic in shape and size, not
// meant to run.

const bootkubeSh = `#!/usr/bin/env bash
set -euoE pipefail ## -E option will cause functions to inherit trap

. /usr/local/bin/release-image.sh
. /usr/local/bin/bootstrap-service-record.sh

mkdir --parents /etc/kubernetes/{manifests,bootstrap-configs,bootstrap-manifests}

bootkube_podman_run() {
    # we run all commands in the host-network to prevent IP conflicts with
    # end-user infrastructure.
    podman run --quiet --net=host --rm --log-driver=k8s-file "${@}"
}

if [ ! -f stop-bootkube.done ]; then
    record_service_stage_start "stop-bootkube"
    echo "Stopping bootkube if running..."
    touch stop-bootkube.done
    record_service_stage_success
fi

MACHINE_CONFIG_OPERATOR_IMAGE=$(image_for machine-config-operator)
MACHINE_CONFIG_OSCONTENT=$(image_for machine-os-content)
CLUSTER_ETCD_OPERATOR_IMAGE=$(image_for cluster-etcd-operator)
CONFIG_OPERATOR_IMAGE=$(image_for cluster-config-operator)
KUBE_APISERVER_OPERATOR_IMAGE=$(image_for cluster-kube-apiserver-operator)
KUBE_CONTROLLER_MANAGER_OPERATOR_IMAGE=$(image_for cluster-kube-controller-manager-operator)
KUBE_SCHEDULER_OPERATOR_IMAGE=$(image_for cluster-kube-scheduler-operator)
INGRESS_OPERATOR_IMAGE=$(image_for cluster-ingress-operator)
CLUSTER_BOOTSTRAP_IMAGE=$(image_for cluster-bootstrap)

mkdir --parents ./{bootstrap-manifests,manifests}

if [ ! -f cvo-bootstrap.done ]; then
    record_service_stage_start "cvo-bootstrap"
    echo "Rendering Cluster Version Operator Manifests..."
    rm --recursive --force cvo-bootstrap
    bootkube_podman_run \
        --name cvo-render \
        --volume "$PWD:/assets:z" \
        "${RELEASE_IMAGE_DIGEST}" \
        render \
            --output-dir=/assets/cvo-bootstrap \
            --release-image="${RELEASE_IMAGE_DIGEST}"
    cp cvo-bootstrap/bootstrap/* bootstrap-manifests/
    cp cvo-bootstrap/manifests/* manifests/
    touch cvo-bootstrap.done
    record_service_stage_success
fi

if [ ! -f etcd-bootstrap.done ]; then
    record_service_stage_start "etcd-bootstrap"
    echo "Rendering CEO Manifests..."
    bootkube_podman_run \
        --name etcd-render \
        --volume "$PWD:/assets:z" \
        "${CLUSTER_ETCD_OPERATOR_IMAGE}" \
        /usr/bin/cluster-etcd-operator render \
        --asset-output-dir=/assets/etcd-bootstrap \
        --cluster-configmap-file=/assets/manifests/cluster-config.yaml \
        --infra-config-file=/assets/manifests/cluster-infrastructure-02-config.yml \
        --network-config-file=/assets/manifests/cluster-network-02-config.yml
    cp etcd-bootstrap/manifests/* manifests/
    touch etcd-bootstrap.done
    record_service_stage_success
fi

echo "Starting cluster-bootstrap..."
record_service_stage_start "cb-bootstrap"
bootkube_podman_run \
    --name cluster-bootstrap \
    --volume "$PWD:/assets:z" \
    --volume /etc/kubernetes:/etc/kubernetes:z \
    "${CLUSTER_BOOTSTRAP_IMAGE}" \
    start --tear-down-early=false --asset-dir=/assets --required-pods="openshift-kube-apiserver/kube-apiserver,openshift-kube-scheduler/openshift-kube-scheduler,openshift-kube-controller-manager/kube-controller-manager,openshift-cluster-version/cluster-version-operator"
record_service_stage_success

# Workaround for https://github.com/opencontainers/runc/pull/1807
touch /opt/openshift/.bootkube.done
echo "bootkube.service complete"
`

const reportProgressSh = `#!/usr/bin/env bash
set -euoE pipefail

. /usr/local/bin/bootstrap-service-record.sh

KUBECONFIG="${1}"

wait_for_existance() {
	while [ ! -e "${1}" ]
	do
		sleep 5
	done
}

record_service_stage_start "wait-for-bootstrap-complete"
echo "Waiting for bootstrap to complete..."
wait_for_existance /opt/openshift/.bootkube.done
record_service_stage_success

record_service_stage_start "report-bootstrap-complete"
echo "Reporting install progress..."
while ! oc --kubeconfig="$KUBECONFIG" create -f - <<-EOF
	apiVersion: v1
	kind: ConfigMap
	metadata:
	  name: bootstrap
	  namespace: kube-system
	data:
	  status: complete
EOF
do
	sleep 5
done
record_service_stage_success
`

const approveCSRSh = `#!/usr/bin/env bash

KUBECONFIG="${1}"

echo "Approving all CSR requests until bootstrapping is complete..."
while [ ! -f /opt/openshift/.bootkube.done ]
do
    oc --kubeconfig="$KUBECONFIG" get csr --no-headers | grep Pending | \
        awk '{print $1}' | \
        xargs --no-run-if-empty oc --kubeconfig="$KUBECONFIG" adm certificate approve
	sleep 20
done
`

const releaseImageSh = `#!/usr/bin/env bash
# This library provides an image_for helper function which can be used to
# resolve component image pull specs from the release image.

RELEASE_IMAGE_DIGEST="quay.io/okd/scos-release@sha256:%064x"

image_for() {
    podman run --quiet --rm --net=none "${RELEASE_IMAGE_DIGEST}" image "${1}"
}
`

const installerGatherSh = `#!/usr/bin/env bash
# Collects bootstrap logs and control-plane state for "openshift-install gather bootstrap".
ARTIFACTS="/tmp/artifacts-${1:-$(date +%Y%m%d%H%M%S)}"
mkdir -p "${ARTIFACTS}"/{bootstrap/journals,bootstrap/containers,resources,control-plane}
for service in approve-csr bootkube crio crio-configure kubelet release-image release-image-download sssd
do
    journalctl --boot --no-pager --output=short --unit="${service}" > "${ARTIFACTS}/bootstrap/journals/${service}.log"
done
TAR_FILE="${TAR_FILE:-${HOME}/log-bundle-$(date +%Y%m%d%H%M%S).tar.gz}"
tar cz -C "${ARTIFACTS}" --transform "s?^\\.?log-bundle-$(date +%Y%m%d%H%M%S)?" . > "${TAR_FILE}"
echo "Log bundle written to ${TAR_FILE}"
`

const kubeletService = `[Unit]
Description=Kubernetes Kubelet
Wants=rpc-statd.service crio.service release-image.service
After=crio.service release-image.service

[Service]
Type=notify
ExecStartPre=/bin/mkdir --parents /etc/kubernetes/manifests
ExecStartPre=/bin/rm -f /var/lib/kubelet/cpu_manager_state
EnvironmentFile=/etc/os-release
EnvironmentFile=-/etc/kubernetes/kubelet-workaround
EnvironmentFile=-/etc/kubernetes/kubelet-env

ExecStart=/usr/bin/kubelet \
    --anonymous-auth=false \
    --container-runtime-endpoint=/var/run/crio/crio.sock \
    --runtime-request-timeout=${KUBELET_RUNTIME_REQUEST_TIMEOUT} \
    --pod-manifest-path=/etc/kubernetes/manifests \
    --minimum-container-ttl-duration=6m0s \
    --cluster-domain=cluster.local \
    --cgroup-driver=systemd \
    --serialize-image-pulls=false \
    --v=2 \
    --volume-plugin-dir=/etc/kubernetes/kubelet-plugins/volume/exec \
    --pod-infra-container-image=${MACHINE_CONFIG_INFRA_IMAGE}

Restart=always
RestartSec=10

[Install]
WantedBy=multi-user.target
`

func unit(name, contents string, enabled bool) types.Unit {
	u := types.Unit{Name: name, Contents: ptr(contents)}
	if enabled {
		u.Enabled = ptr(true)
	}
	return u
}

func simpleService(desc, exec string, after string) string {
	return fmt.Sprintf("[Unit]\nDescription=%s\nWants=%s\nAfter=%s\n\n[Service]\nType=oneshot\nExecStart=%s\nRestart=on-failure\nRestartSec=5s\nRemainAfterExit=true\n\n[Install]\nWantedBy=multi-user.target\n", desc, after, after, exec)
}

// manifest renders a YAML manifest with some deterministic noise so
// padding is not trivially compressible.
func manifest(kind, name, ns string, rnd *rand.Rand, lines int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: %s\nmetadata:\n  name: %s\n", kind, name)
	if ns != "" {
		fmt.Fprintf(&b, "  namespace: %s\n", ns)
	}
	b.WriteString("  annotations:\n    include.release.openshift.io/self-managed-high-availability: \"true\"\ndata:\n")
	buf := make([]byte, 48)
	for i := 0; i < lines; i++ {
		for j := range buf {
			buf[j] = byte(rnd.Uint32())
		}
		fmt.Fprintf(&b, "  key-%04d: %s\n", i, base64.StdEncoding.EncodeToString(buf))
	}
	return []byte(b.String())
}

func sshKey(seed uint64) string {
	s := derive(seed, "ssh/core")
	pub := ed25519.NewKeyFromSeed(s[:]).Public().(ed25519.PublicKey)
	blob := make([]byte, 0, 51)
	blob = binary.BigEndian.AppendUint32(blob, 11)
	blob = append(blob, "ssh-ed25519"...)
	blob = binary.BigEndian.AppendUint32(blob, 32)
	blob = append(blob, pub...)
	return "ssh-ed25519 " + base64.StdEncoding.EncodeToString(blob) + " okvm-ignitiontest"
}

func buildBootstrap(o BootstrapOptions, certs []Cert, rootCA []byte) ([]byte, error) {
	rnd := rand.New(rand.NewChaCha8(derive(o.Seed, "content")))
	domain := o.ClusterName + "." + o.BaseDomain
	var c types.Config
	c.Ignition.Version = types.MaxVersion.String()
	key := o.SSHKey
	if key == "" {
		key = sshKey(o.Seed)
	}
	c.Passwd.Users = []types.PasswdUser{{Name: "core", SSHAuthorizedKeys: []types.SSHAuthorizedKey{types.SSHAuthorizedKey(key)}}}

	var files []types.File
	add := func(f types.File) { files = append(files, f) }
	add(file("/usr/local/bin/bootkube.sh", 0o555, []byte(bootkubeSh)))
	add(file("/usr/local/bin/report-progress.sh", 0o555, []byte(reportProgressSh)))
	add(file("/usr/local/bin/approve-csr.sh", 0o555, []byte(approveCSRSh)))
	add(file("/usr/local/bin/release-image.sh", 0o555, []byte(fmt.Sprintf(releaseImageSh, rnd.Uint64()))))
	add(file("/usr/local/bin/installer-gather.sh", 0o555, []byte(installerGatherSh)))
	add(file("/etc/motd", 0o644, []byte("This is the bootstrap node; it will be destroyed when the master is fully up.\n")))
	add(file("/root/.docker/config.json", 0o600, []byte(`{"auths":{"fake.example.com":{"auth":"`+base64.StdEncoding.EncodeToString([]byte("okvm:not-a-secret"))+`"}}}`)))
	add(file("/etc/containers/registries.conf", 0o644, []byte("unqualified-search-registries = ['registry.access.redhat.com', 'docker.io']\n")))
	add(file("/opt/openshift/auth/kubeconfig", 0o600, kubeconfig(domain, rootCA, certs)))
	add(file("/opt/openshift/auth/kubeconfig-kubelet", 0o600, kubeconfig(domain, rootCA, certs)))
	for _, ct := range certs {
		add(certFile(o, ct.Path, ct.PEM))
		add(file(strings.TrimSuffix(ct.Path, ".crt")+".key", 0o600, ct.KeyPEM))
	}
	sa := derive(o.Seed, "key/service-account")
	saKey := ed25519.NewKeyFromSeed(sa[:])
	add(file("/opt/openshift/tls/service-account.pub", 0o600, []byte("-----BEGIN PUBLIC KEY-----\n"+base64.StdEncoding.EncodeToString(saKey.Public().(ed25519.PublicKey))+"\n-----END PUBLIC KEY-----\n")))
	add(file("/opt/openshift/manifests/cluster-config.yaml", 0o644, []byte(fmt.Sprintf(
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-config-v1\n  namespace: kube-system\ndata:\n  install-config: |\n    apiVersion: v1\n    baseDomain: %s\n    metadata:\n      name: %s\n    platform:\n      none: {}\n    networking:\n      clusterNetwork:\n      - cidr: 10.128.0.0/14\n        hostPrefix: 23\n      machineNetwork:\n      - cidr: 192.168.126.0/24\n      networkType: OVNKubernetes\n      serviceNetwork:\n      - 172.30.0.0/16\n    controlPlane:\n      name: master\n      replicas: 3\n    compute:\n    - name: worker\n      replicas: 2\n    pullSecret: \"\"\n    sshKey: %s\n",
		o.BaseDomain, o.ClusterName, key))))
	add(file("/opt/openshift/manifests/cluster-infrastructure-02-config.yml", 0o644, []byte(fmt.Sprintf(
		"apiVersion: config.openshift.io/v1\nkind: Infrastructure\nmetadata:\n  name: cluster\nspec:\n  platformSpec:\n    type: None\nstatus:\n  apiServerInternalURI: https://api-int.%s:6443\n  apiServerURL: https://api.%s:6443\n  infrastructureName: %s-%05d\n", domain, domain, o.ClusterName, rnd.IntN(100000)))))
	add(file("/opt/openshift/manifests/cluster-dns-02-config.yml", 0o644, []byte("apiVersion: config.openshift.io/v1\nkind: DNS\nmetadata:\n  name: cluster\nspec:\n  baseDomain: "+domain+"\n")))

	units := []types.Unit{
		unit("bootkube.service", simpleService("Bootstrap a Kubernetes cluster", "/usr/local/bin/bootkube.sh", "kubelet.service"), false),
		unit("kubelet.service", kubeletService, true),
		unit("progress.service", simpleService("Report the completion of the cluster bootstrap process", "/usr/local/bin/report-progress.sh /opt/openshift/auth/kubeconfig", "bootkube.service"), true),
		unit("approve-csr.service", simpleService("Approve CSRs during bootstrap phase", "/usr/local/bin/approve-csr.sh /opt/openshift/auth/kubeconfig", "bootkube.service"), true),
		unit("release-image.service", simpleService("Download the OpenShift Release Image", "/usr/local/bin/release-image-download.sh", "network-online.target"), false),
		unit("chown-gatewayd-key.service", simpleService("Change ownership of gatewayd key", "/usr/bin/chown systemd-journal-gateway:systemd-journal-gateway /opt/openshift/tls/journal-gatewayd.key", "local-fs.target"), true),
		{Name: "systemd-journal-gatewayd.socket", Enabled: ptr(true)},
		{Name: "zincati.service", Mask: ptr(true)},
	}
	c.Systemd.Units = units

	// Pad with manifests until the config reaches the requested size.
	build := func(extra []types.File) ([]byte, error) {
		c.Storage.Files = append(append([]types.File(nil), files...), extra...)
		return json.Marshal(c)
	}
	out, err := build(nil)
	if err != nil {
		return nil, err
	}
	var extra []types.File
	for i := 0; len(out) < o.Size; i++ {
		// A padding line is ~87 bytes of YAML, ~116 once base64'd.
		lines := (o.Size - len(out)) / 116
		lines = min(max(lines, 1), 250)
		name := fmt.Sprintf("/opt/openshift/manifests/0000_%02d_okvm-padding-%03d.yaml", 10+i%80, i)
		extra = append(extra, file(name, 0o644, manifest("ConfigMap", fmt.Sprintf("padding-%03d", i), "openshift-config", rnd, lines)))
		if out, err = build(extra); err != nil {
			return nil, err
		}
		if i > 10000 {
			return nil, errTooSmall
		}
	}
	return out, nil
}

func kubeconfig(domain string, rootCA []byte, certs []Cert) []byte {
	var client Cert
	for _, c := range certs {
		if c.Name == "admin-kubeconfig-client" {
			client = c
		}
	}
	name := strings.Split(domain, ".")[0]
	return []byte(fmt.Sprintf(`clusters:
- cluster:
    certificate-authority-data: %s
    server: https://api-int.%s:6443
  name: %s
contexts:
- context:
    cluster: %s
    user: admin
  name: admin
current-context: admin
preferences: {}
users:
- name: admin
  user:
    client-certificate-data: %s
    client-key-data: %s
`, base64.StdEncoding.EncodeToString(rootCA), domain, name, name,
		base64.StdEncoding.EncodeToString(client.PEM), base64.StdEncoding.EncodeToString(client.KeyPEM)))
}
