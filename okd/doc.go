// Package okd installs OKD on KVM with openshift-install's user-provisioned
// (UPI, platform none) flow, and keeps each step usable on its own.
//
// # Why UPI with platform none
//
// The installer's libvirt IPI platform is gone (removed in 4.16, never
// supported), and platform baremetal wants VIPs and keepalived. With
// platform none, openshift-install only renders assets and waits; okvm owns
// the VMs, DNS, load balancer and CSR approval, which is what a KVM host
// needs anyway. The same path works on one laptop and on several hypervisors.
//
// # The pieces
//
//   - ClusterSpec: what to build (name, domain, release, topology, node
//     sizes, networks, SSH key, pull secret, boot image, hypervisors). A
//     plain struct for YAML files; WithDefaults fills OKD's defaults and
//     Validate enforces the installer's rules and OKD's minimum sizes (an
//     undersized lab must say so: Nodes.AllowUndersized + a reason).
//   - InstallConfig: install-config.yaml as a typed struct, built from a
//     ClusterSpec (NewInstallConfig), validated with the installer's field
//     paths (`metadata.name: Invalid value: "x": …`), written atomically
//     with mode 0600 plus a kept copy, since `create manifests` consumes it.
//   - Stream: CoreOS stream metadata (`openshift-install coreos
//     print-stream-json`) and the qemu disk image in it (FCOS qcow2.xz,
//     SCOS qcow2.gz), fetched and checked against its sha256.
//   - Runner: runs the real openshift-install with a context (SIGINT first,
//     then kill), turns both of its log formats into Events with stage and
//     deadline, classes exit codes into *ExitError with sentinels
//     (ErrBootstrapFailed, …), patches the manifests for UPI, and parses the
//     install-complete summary.
//   - Approver: approves the kubelet CSRs of the nodes okvm created and
//     nothing else — an allow-list of node names, the exact requester,
//     groups, usages and signer, SANs within the node's own names and
//     addresses, a time window around VM creation, one client approval per
//     node and boot, and a cap on pending CSRs. It never denies; a refused
//     CSR is logged with the check that failed. kcli's CronJob approves
//     every CSR as cluster-admin every two minutes; this is what it should
//     have been.
//   - Lifecycle: the whole install, resumable. Plan → install-config →
//     manifests → Ignition configs → certificate deadline (read from
//     bootstrap.ign, never assumed to be 24 h; booting after the soft
//     deadline needs force) → network (libvirt's dnsmasq, the embedded
//     servers, or rendered files) → base image → bootstrap and masters with
//     per-node Ignition (hostname; a NetworkManager keyfile bound to the MAC,
//     named after the NIC name predicted from libvirt's definition) →
//     bootstrap-complete → the bootstrap removed at once (load balancer,
//     DNS, DHCP, VM, overlay — kcli keeps its 16 GiB until install-complete)
//     → the approver → workers → install-complete → summary. State is saved
//     atomically after every step, so a rerun after a crash continues and
//     converges; Destroy removes what the cluster owns, found by labels;
//     AddWorkers grows a running cluster the same way.
//
// # Secrets
//
// The pull secret and the kubeadmin password never reach a log, an event or
// an error: PullSecret and Secret redact themselves under fmt, slog and
// JSON/YAML, and the Runner passes every line it reads through a Redactor
// that knows the pull secret, its registry credentials and the password
// (learned from auth/kubeadmin-password and the installer's own "Login to
// the console" line). Files holding them are written 0600.
//
// # Testing
//
// okdtest provides a fake openshift-install: a real process that writes the
// installer's artifacts and prints its log lines (both formats, scripted
// timing and failures), so the Runner's parsing is tested on the same bytes
// the real binary produces; and a fake cluster (Sim): the client-go fake
// clientset with simulated kubelets that file real x509 CSRs, so the
// Approver is tested against the requests a real kubelet makes.
package okd
