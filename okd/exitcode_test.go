package okd

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestClassifyExit(t *testing.T) {
	for _, tc := range []struct {
		code     int
		class    ExitClass
		sentinel error
	}{
		{1, ClassGeneric, ErrInstallerFailed},
		{2, ClassGeneric, ErrInstallerFailed},
		{3, ClassInstallConfig, ErrInstallConfig},
		{4, ClassInfrastructure, ErrInfrastructure},
		{5, ClassBootstrap, ErrBootstrapFailed},
		{6, ClassInstall, ErrInstallFailed},
		{7, ClassOperatorStability, ErrOperatorsUnstable},
		{8, ClassInterrupt, ErrInterrupted},
		{-1, ClassGeneric, ErrInstallerFailed},
	} {
		c, s := ClassifyExit(tc.code)
		if c != tc.class || s != tc.sentinel {
			t.Errorf("ClassifyExit(%d) = %s %v", tc.code, c, s)
		}
		e := newExitError("wait-for bootstrap-complete", tc.code, "last", StageBootstrap, nil)
		if !errors.Is(e, tc.sentinel) || e.Class != tc.class {
			t.Errorf("code %d: %v not %v", tc.code, e, tc.sentinel)
		}
	}
	e := newExitError("wait-for install-complete", -1, "", StageClusterInit, context.Canceled)
	if !errors.Is(e, ErrInterrupted) || !errors.Is(e, context.Canceled) || e.Class != ClassInterrupt {
		t.Errorf("cancelled: %v", e)
	}
	if got := newExitError("wait-for bootstrap-complete", 5, "Bootstrap failed to complete: x", StageFailed, nil).Error(); !strings.Contains(got, "exit 5 (bootstrap): Bootstrap failed to complete: x") {
		t.Errorf("Error() = %q", got)
	}
}
