package okd_test

import (
	"fmt"
	"time"

	"github.com/okvm/okvm/okd"
)

// Both of openshift-install's stderr formats parse to the same event; a
// "Waiting up to" line carries the stage's deadline.
func ExampleLogParser() {
	start := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	p := okd.NewLogParser("wait-for bootstrap-complete", func() time.Time { return start })
	for _, line := range []string{
		"level=info msg=Waiting up to 20m0s (until 3:20PM UTC) for the Kubernetes API at https://api.lab.example.com:6443...",
		"\x1b[36mINFO\x1b[0m API v1.32.5 up                              ",
		`level=info msg="Waiting up to 45m0s (until 3:45PM UTC) for bootstrapping to complete..."`,
		"level=info msg=It is now safe to remove the bootstrap resources",
	} {
		ev := p.Parse(line)
		fmt.Printf("%-18s %-5s %s", ev.Stage, ev.Level, ev.Message)
		if !ev.Deadline.IsZero() {
			fmt.Printf(" [deadline %s]", ev.Deadline.Format("15:04"))
		}
		fmt.Println()
	}
	// Output:
	// kube-api           info  Waiting up to 20m0s (until 3:20PM UTC) for the Kubernetes API at https://api.lab.example.com:6443... [deadline 15:20]
	// kube-api           info  API v1.32.5 up
	// bootstrap          info  Waiting up to 45m0s (until 3:45PM UTC) for bootstrapping to complete... [deadline 15:45]
	// bootstrap-complete info  It is now safe to remove the bootstrap resources
}

// The kubeadmin password on the installer's last line never gets past a
// Redactor, even before it has been told the password.
func ExampleRedactor() {
	r := okd.NewRedactor()
	r.AddPullSecret(okd.OKDFakePullSecret)
	fmt.Println(r.String(`Login to the console with user: "kubeadmin", and password: "Xo9aB-3kPqz-77sLm-WdE2c"`))
	fmt.Println(r.String(`pull secret: {"auths":{"fake":{"auth":"aWQ6cGFzcwo="}}}`))
	// Output:
	// Login to the console with user: "kubeadmin", and password: "<redacted>"
	// pull secret: <redacted>
}
