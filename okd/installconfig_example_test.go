package okd_test

import (
	"fmt"
	"os"

	"github.com/okvm/okvm/okd"
)

// Build the install-config for a compact OKD cluster from a ClusterSpec
// and write it (0600, atomically) into an install directory.
func ExampleNewInstallConfig() {
	spec := okd.ClusterSpec{
		Name:       "lab",
		BaseDomain: "example.com",
		Topology:   okd.Topology{ControlPlane: 3},
		SSHKey:     "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH9mClVF6Qv6jron845bpPoCQBDOXAXQ4CApPavKarX9 core@lab",
		// PullSecret left empty: OKD's documented fake one is used.
	}
	ic, err := okd.NewInstallConfig(spec)
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "okd-example")
	defer os.RemoveAll(dir)
	path, err := okd.WriteInstallConfig(dir, ic)
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := os.ReadFile(path)
	fmt.Print(string(b))
	// The struct itself never shows the pull secret.
	fmt.Printf("in logs: %v\n", ic.PullSecret)
	// Output:
	// apiVersion: v1
	// baseDomain: example.com
	// compute:
	// - architecture: amd64
	//   hyperthreading: Enabled
	//   name: worker
	//   replicas: 0
	// controlPlane:
	//   architecture: amd64
	//   hyperthreading: Enabled
	//   name: master
	//   replicas: 3
	// metadata:
	//   name: lab
	// networking:
	//   clusterNetwork:
	//   - cidr: 10.128.0.0/14
	//     hostPrefix: 23
	//   machineNetwork:
	//   - cidr: 192.168.126.0/24
	//   networkType: OVNKubernetes
	//   serviceNetwork:
	//   - 172.30.0.0/16
	// platform:
	//   none: {}
	// pullSecret: '{"auths":{"fake":{"auth":"aWQ6cGFzcwo="}}}'
	// sshKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH9mClVF6Qv6jron845bpPoCQBDOXAXQ4CApPavKarX9
	//   core@lab
	// in logs: <redacted>
}
