package ignitiontest_test

import (
	"fmt"
	"time"

	"github.com/okvm/okvm/ignition/ignitiontest"
)

// A cluster whose short-lived certificates last one month, as in newer
// installers, with one certificate overridden to expire after 6 hours.
func ExampleNewCluster() {
	a, err := ignitiontest.NewCluster(ignitiontest.BootstrapOptions{
		Seed:         1,
		NotBefore:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		CertLifetime: 30 * 24 * time.Hour,
		Lifetimes:    map[string]time.Duration{"kubelet-signer": 6 * time.Hour},
	})
	if err != nil {
		panic(err)
	}
	ks, _ := a.Cert("kubelet-signer")
	fmt.Println("bootstrap ≥ 300 KB:", len(a.Bootstrap) >= ignitiontest.DefaultSize)
	fmt.Println("api-int:", a.APIIntHost)
	fmt.Println("kubelet-signer expires:", ks.NotAfter.Format(time.RFC3339))
	// Output:
	// bootstrap ≥ 300 KB: true
	// api-int: api-int.ocp4.example.com
	// kubelet-signer expires: 2026-01-01T06:00:00Z
}
