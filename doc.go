// Package okvm is a Go SDK that takes a team from "a Linux box with KVM" to
// "a running OKD cluster", and keeps its pieces usable one by one.
//
// Teams leaving VMware for KVM found the OKD user-provisioned install the same
// on paper and harder in practice: every VM's NIC name differed (on VMware it
// was always ens192), so they booted each VM to read it before they could write
// Ignition; around that sat DNS records, DHCP reservations, Ignition patching,
// install-config, a long bootstrap under a certificate deadline, CSRs to
// approve and a bootstrap node to remove. okvm turns all of it into a library
// that in-house tools import, and ships a fake for every layer so those tools
// can be tested without a hypervisor.
//
// This package holds documentation only. The packages:
//
//   - [github.com/okvm/okvm/kvm]: libvirt over a narrow seam — dial with a
//     context, DomainSpec → libvirt XML (built with libvirtxml), domain, storage
//     and network lifecycle, events, IP discovery, and the NIC/disk names a guest
//     will use, predicted before it boots.
//   - [github.com/okvm/okvm/kvm/kvmtest]: an in-memory libvirt (stateful, with
//     libvirt's PCI addressing and error codes) and the conformance suite that
//     holds it to a real libvirtd.
//   - [github.com/okvm/okvm/ignition]: parse any Ignition 3.x config, patch it
//     per node, validate, deliver by fw_cfg, and read the bootstrap certificate
//     deadline; ignitiontest generates realistic openshift-install configs.
//   - [github.com/okvm/okvm/netprov]: the cluster's DNS records, IPAM, DHCP
//     reservations and load-balancer plan; renderers for BIND, dnsmasq, libvirt,
//     Kea, dhcpd, HAProxy and /etc/hosts; embedded DNS and DHCP servers.
//   - [github.com/okvm/okvm/okd]: ClusterSpec, install-config, the
//     openshift-install runner, the allow-list CSR approver and the resumable
//     install lifecycle; okdtest provides a fake installer and a fake cluster.
//
// Dependencies flow one way: okd uses kvm, ignition and netprov; those three do
// not import each other.
package okvm
