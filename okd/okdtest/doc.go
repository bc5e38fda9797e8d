// Package okdtest holds okd's fakes, so code built on okd is tested without
// a hypervisor, a cluster, or the real installer.
//
// The fake openshift-install (cmd/fake-openshift-install, built by
// BuildFakeInstaller) is a real process: okd.Runner starts it, reads its
// stderr and parses the same log lines the real installer prints, in both
// formats. It writes the installer's artifacts (manifests, Ignition
// configs with real x509 certificates, metadata.json, auth/…), and its
// timing and failures (exit codes 3–8) are scripted with FakeScript or
// environment variables. In file mode its waits end only when Signal files
// appear, so a fake cluster can drive bootstrap-complete and
// install-complete.
//
// The fake cluster (StartSim) is the client-go fake clientset plus
// simulated kubelets: when a node boots (BootNode) its kubelet files a real
// ECDSA P-256 client CSR as the node-bootstrapper, registers its Node once
// the CSR has a certificate, files the serving CSR with the node's names and
// addresses, and turns Ready when that one is issued. Nobody approves
// anything: that is the job of the approver under test. Misbehaviour makes a
// node file hostile CSRs (extra SANs, impersonation, duplicates…). The Sim
// also moves kube-system/bootstrap and ClusterVersion along, the objects
// openshift-install's waits watch.
package okdtest
