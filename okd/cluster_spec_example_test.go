package okd_test

import (
	"errors"
	"fmt"

	"github.com/okvm/okvm/okd"
)

// Validation names every bad field the way openshift-install does.
func ExampleClusterSpec_Validate() {
	spec := okd.ClusterSpec{
		Name:       "My_Lab",
		BaseDomain: "example.com",
		Topology:   okd.Topology{ControlPlane: 3, Workers: 2},
		Nodes:      okd.NodeSizes{Master: okd.NodeSize{MemoryMiB: 8192}},
		Network:    okd.Networks{MachineCIDR: "10.128.0.0/24"},
		SSHKey:     "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH9mClVF6Qv6jron845bpPoCQBDOXAXQ4CApPavKarX9",
	}.WithDefaults()
	err := spec.Validate()
	var ve *okd.ValidationError
	if errors.As(err, &ve) {
		for _, fe := range ve.Errors {
			fmt.Println(fe)
		}
	}
	// Output:
	// name: Invalid value: "My_Lab": must be a lower case RFC 1123 label: alphanumerics and '-', starting and ending with an alphanumeric
	// nodes.master.memoryMiB: Invalid value: 8192: below the OKD minimum of 16384 MiB for master nodes; set nodes.allowUndersized and nodes.undersizedReason to go lower
	// network.clusterCIDR: Invalid value: "10.128.0.0/14": must not overlap with network.machineCIDR 10.128.0.0/24
}
