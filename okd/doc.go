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
//   - Approver: the node CSR allow-list (see approver.go).
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
// the real binary produces.
package okd
