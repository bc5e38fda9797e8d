package okd_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/okvm/okvm/okd"
	"github.com/okvm/okvm/okd/okdtest"
)

// A ClusterSpec that pins the OKD release must reach every openshift-install
// run as OPENSHIFT_INSTALL_RELEASE_IMAGE_OVERRIDE: it is the only way the
// installer honours a payload other than the one it was built for.
func TestLifecyclePassesReleaseToInstaller(t *testing.T) {
	const release = "quay.io/okd/scos-release:4.19.0-okd-scos.9"
	e := newEnv(t, lcConfig{name: "lcrel", workers: 2, noWorld: true,
		tweak: func(s *okd.ClusterSpec) { s.Release = release }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.setOnProgress(func(p okd.Progress) {
		if p.Step == okd.StepIgnitionConfigs && p.Done {
			cancel()
		}
	})
	if _, err := e.l.Run(ctx); err == nil {
		t.Fatal("Run finished; want it stopped after ignition-configs")
	}
	inv, err := okdtest.FakeInvocations(filepath.Join(e.dir, "install"))
	if err != nil {
		t.Fatal(err)
	}
	if len(inv) < 2 {
		t.Fatalf("installer invocations %+v, want create manifests and create ignition-configs", inv)
	}
	for _, i := range inv {
		if i.ReleaseOverride != release {
			t.Errorf("%s ran with release override %q, want %q", i.Command, i.ReleaseOverride, release)
		}
	}
}
