package ignition_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/okvm/okvm/ignition"
	"github.com/okvm/okvm/ignition/ignitiontest"
)

// Patch the master pointer config openshift-install wrote for one node:
// its hostname and a static address bound to the NIC's MAC. The merge
// source and the CA stay exactly as they were, and the config stays 3.2.0.
func Example_patchPointerConfig() {
	a, err := ignitiontest.NewCluster(ignitiontest.BootstrapOptions{Seed: 1, Size: 1})
	if err != nil {
		panic(err)
	}
	c, err := ignition.Parse(a.Master)
	if err != nil {
		panic(err)
	}
	err = c.Apply(
		ignition.Hostname{Name: "master-0.ocp4.example.com"},
		ignition.Network{Interface: "enp1s0", MAC: "52:54:00:00:10:01",
			Address: netip.MustParseAddr("192.168.126.11"), Prefix: 24,
			Gateway: netip.MustParseAddr("192.168.126.1"),
			DNS:     []netip.Addr{netip.MustParseAddr("192.168.126.1")}},
	)
	if err != nil {
		panic(err)
	}
	res, err := c.Marshal()
	if err != nil {
		panic(err)
	}
	fmt.Println("pointer:", c.IsPointer(), "version:", res.Version, "translated:", res.TranslatedFrom != "")

	// Kernel arguments need spec 3.3: the result says so.
	if err := c.Apply(ignition.KernelArguments{Add: []string{"console=ttyS0"}}); err != nil {
		panic(err)
	}
	res, err = c.Marshal()
	if err != nil {
		panic(err)
	}
	fmt.Println("version:", res.Version, "from:", res.TranslatedFrom, "for:", res.TranslatedFor)
	// Output:
	// pointer: true version: 3.2.0 translated: false
	// version: 3.3.0 from: 3.2.0 for: $.kernelArguments
}

// Read how long a bootstrap config stays usable, from its certificates.
func Example_readDeadline() {
	nb := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	boot, err := ignitiontest.Bootstrap(ignitiontest.BootstrapOptions{Seed: 1, NotBefore: nb, Size: 1})
	if err != nil {
		panic(err)
	}
	d, err := ignition.ReadDeadline(boot)
	if err != nil {
		panic(err)
	}
	fmt.Println("soft:", d.Soft.Format(time.RFC3339), "hard:", d.Hard.Format(time.RFC3339))
	fmt.Println("set by:", d.HardCert.Path)
	// Output:
	// soft: 2026-01-01T12:00:00Z hard: 2026-01-02T00:00:00Z
	// set by: /opt/openshift/tls/aggregator-client.crt
}
