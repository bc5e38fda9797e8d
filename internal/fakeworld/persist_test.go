package fakeworld_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/okvm/okvm/internal/fakeworld"
	"github.com/okvm/okvm/kvm"
	"github.com/okvm/okvm/kvm/kvmtest"
)

func names(t *testing.T, ctx context.Context, c *kvm.Client) (doms []string, vols []string) {
	t.Helper()
	ds, err := c.ListDomains(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		doms = append(doms, fmt.Sprintf("%s=%v", d.Name, d.Active))
	}
	vs, err := c.ListVolumes(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		vols = append(vols, v.Name)
	}
	slices.Sort(vols)
	return doms, vols
}

// TestSnapshotRoundTrip: every pool, volume (overlays after their base),
// network and domain, and which ones run, survive Save and Restore into a
// fresh daemon — several of each, which a NeedResults of 1 once truncated.
func TestSnapshotRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := kvmtest.New()
	c, err := kvm.NewClient(ctx, src.Dialer())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.EnsureDirPool(ctx, "p", filepath.Join(t.TempDir(), "pool")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateVolume(ctx, "p", kvm.VolumeSpec{Name: "base.qcow2", Format: "qcow2", CapacityBytes: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	if err := c.DefineNetwork(ctx, kvm.NetworkSpec{Name: "n", Mode: "nat", CIDR: "192.168.150.0/24", Bridge: "okvtest0",
		Reservations: []kvm.DHCPHost{{MAC: "52:54:00:00:00:01", IP: "192.168.150.10", Name: "a"}}}); err != nil {
		t.Fatal(err)
	}
	if err := c.StartNetwork(ctx, "n"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("vm-%d", i)
		if _, err := c.Define(ctx, kvm.DomainSpec{Name: name, MemoryMiB: 128, VCPUs: 1, Type: "qemu",
			Disks:  []kvm.DiskSpec{{Pool: "p", Volume: name + ".qcow2", BaseVolume: "base.qcow2", SizeBytes: 1 << 30}},
			NICs:   []kvm.NICSpec{{Network: "n"}},
			Labels: map[string]string{"cluster": "x"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Start(ctx, "vm-1"); err != nil {
		t.Fatal(err)
	}
	wantDoms, wantVols := names(t, ctx, c)
	if len(wantDoms) != 3 || len(wantVols) != 4 {
		t.Fatalf("setup: domains %v volumes %v", wantDoms, wantVols)
	}

	path := filepath.Join(t.TempDir(), "snap.json")
	if err := fakeworld.SaveFile(src.Conn(), path); err != nil {
		t.Fatal(err)
	}
	dst := kvmtest.New()
	if err := fakeworld.RestoreFile(dst.Conn(), path); err != nil {
		t.Fatal(err)
	}
	d, err := kvm.NewClient(ctx, dst.Dialer())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	gotDoms, gotVols := names(t, ctx, d)
	if !slices.Equal(gotDoms, wantDoms) || !slices.Equal(gotVols, wantVols) {
		t.Errorf("restored domains %v volumes %v, want %v %v", gotDoms, gotVols, wantDoms, wantVols)
	}
	hosts, err := d.DHCPHosts(ctx, "n")
	if err != nil || len(hosts) != 1 || hosts[0].IP != "192.168.150.10" {
		t.Errorf("restored reservations %v %v", hosts, err)
	}
	// A missing file is a fresh daemon.
	if err := fakeworld.RestoreFile(kvmtest.New().Conn(), filepath.Join(t.TempDir(), "none.json")); err != nil {
		t.Errorf("RestoreFile(missing) = %v", err)
	}
}
