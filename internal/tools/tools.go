//go:build tools

// Package tools pins the modules okvm's packages are built on, so that the
// module graph stays stable while packages are written in parallel.
package tools

import (
	_ "github.com/coreos/ignition/v2/config/v3_2/types"
	_ "github.com/coreos/ignition/v2/config/v3_5/types"
	_ "github.com/coreos/ignition/v2/config/validate"
	_ "github.com/digitalocean/go-libvirt"
	_ "github.com/digitalocean/go-libvirt/socket/dialers"
	_ "github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	_ "github.com/insomniacslk/dhcp/dhcpv4/server4"
	_ "github.com/miekg/dns"
	_ "k8s.io/api/certificates/v1"
	_ "k8s.io/client-go/kubernetes"
	_ "k8s.io/client-go/kubernetes/fake"
	_ "libvirt.org/go/libvirtxml"
	_ "sigs.k8s.io/yaml"
)
