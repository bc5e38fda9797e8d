package ignition_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/okvm/okvm/ignition"
	"github.com/okvm/okvm/ignition/ignitiontest"
)

func TestDeliverPicksBySize(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ptr := pointer(t)
	d, err := ignition.Deliver(ctx, ptr, filepath.Join(dir, "master.ign"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != ignition.FwCfgName || d.Inline != string(ptr) || d.File != "" {
		t.Errorf("pointer config: %+v, want inline", d)
	}
	if _, err := os.Stat(filepath.Join(dir, "master.ign")); !os.IsNotExist(err) {
		t.Error("inline delivery wrote a file")
	}
	if err := d.Validate(); err != nil {
		t.Error(err)
	}

	boot, err := ignitiontest.Bootstrap(ignitiontest.BootstrapOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "bootstrap.ign")
	d, err = ignition.Deliver(ctx, boot, path)
	if err != nil {
		t.Fatal(err)
	}
	if d.File != path || d.Inline != "" || d.Size != len(boot) {
		t.Errorf("bootstrap: %+v, want file %s", d, path)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600 (bootstrap.ign holds private keys)", st.Mode())
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, boot) {
		t.Error("file contents differ")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) != 0 {
		t.Errorf("temp files left behind: %v", left)
	}
}

func TestDeliverLimits(t *testing.T) {
	ctx := context.Background()
	// Commas are doubled on QEMU's command line, so a config just under
	// MaxInline bytes but full of commas must not go inline.
	commas := []byte(`{"a":"` + strings.Repeat(",", ignition.MaxInline/2+10) + `"}`)
	if ignition.InlineSize(commas) <= ignition.MaxInline {
		t.Fatal("test input does not exceed the escaped limit")
	}
	d, err := ignition.Deliver(ctx, commas, filepath.Join(t.TempDir(), "c.ign"))
	if err != nil || d.File == "" {
		t.Errorf("comma-heavy config: %+v %v, want file delivery", d, err)
	}
	if _, err := ignition.Deliver(ctx, commas, ""); !errors.Is(err, ignition.ErrTooLarge) {
		t.Errorf("no path for a large config: %v", err)
	}
	big := []byte(`{"a":"` + strings.Repeat("x", 2<<20) + `"}`)
	if _, err := ignition.Deliver(ctx, big, filepath.Join(t.TempDir(), "b.ign"), ignition.WithMaxFileSize(1<<20)); !errors.Is(err, ignition.ErrTooLarge) {
		t.Errorf("over max file size: %v", err)
	}
	d, err = ignition.Deliver(ctx, pointer(t), filepath.Join(t.TempDir(), "p.ign"), ignition.ForceFile())
	if err != nil || d.File == "" {
		t.Errorf("ForceFile: %+v %v", d, err)
	}
	if _, err := ignition.Deliver(ctx, []byte("not json"), ""); !errors.Is(err, ignition.ErrMalformed) {
		t.Errorf("non-JSON: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ignition.Deliver(cctx, pointer(t), ""); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	for _, bad := range []ignition.Delivery{
		{Name: "opt/other"},
		{Name: ignition.FwCfgName},
		{Name: ignition.FwCfgName, Inline: "x", File: "/y"},
		{Name: ignition.FwCfgName, File: "relative.ign"},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v validated", bad)
		}
	}
}
