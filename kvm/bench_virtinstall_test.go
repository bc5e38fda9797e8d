package kvm_test

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	libvirt "github.com/digitalocean/go-libvirt"

	"github.com/okvm/okvm/internal/labtest"
)

// The shell way to get a domain's XML without defining it, for the same
// domain as BenchmarkDomainXML (q35, UEFI, 16 GiB, 4 vCPUs, 3 disks with
// serials — virtio, scsi, virtio —, 2 NICs — virtio, e1000e —, Ignition by
// fw_cfg). Run both in one go for the ratio:
//
//	apt-get install -y virtinst   # not part of the lab: a Python stack okvm does not need
//	go test ./kvm/ -run '^$' -bench 'BenchmarkDomainXML$|BenchmarkVirtInstallPrintXML' -benchtime 5x -cpu 1
//
// virt-install needs a daemon even with --dry-run (it reads capabilities
// and firmware from it), so this uses the lab's QEMU driver; it also defines
// a storage pool for the disks' directory, which the benchmark removes.
func BenchmarkVirtInstallPrintXML(b *testing.B) {
	vi, err := exec.LookPath("virt-install")
	if err != nil {
		b.Skip("virt-install is not installed (apt-get install virtinst)")
	}
	sock := labtest.Socket(b)
	uri := "qemu+unix:///system?socket=" + sock
	dir := b.TempDir()
	for _, f := range []string{"master-0.qcow2", "master-0-etcd.raw", "master-0-data.qcow2"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.Truncate(filepath.Join(dir, f), 1<<30); err != nil {
			b.Fatal(err)
		}
	}
	b.Cleanup(func() { removePool(b, sock, filepath.Base(dir)) })
	args := []string{"--connect", uri, "--virt-type", "qemu", "--name", "master-0",
		"--memory", "16384", "--vcpus", "4", "--machine", "q35", "--boot", "uefi",
		"--osinfo", "detect=off,require=off", "--import", "--noautoconsole", "--print-xml", "--dry-run",
		"--disk", "path=" + filepath.Join(dir, "master-0.qcow2") + ",format=raw,bus=virtio,serial=master-0-disk0,boot.order=1",
		"--disk", "path=" + filepath.Join(dir, "master-0-etcd.raw") + ",format=raw,bus=scsi,serial=master-0-disk1",
		"--disk", "path=" + filepath.Join(dir, "master-0-data.qcow2") + ",format=raw,bus=virtio,serial=master-0-disk2",
		"--network", "bridge=okvbench0,model=virtio,mac=52:54:00:00:00:01",
		"--network", "bridge=okvbench0,model=e1000e,mac=52:54:00:00:00:02",
		"--sysinfo", `type=fwcfg,entry0.name=opt/com.coreos/config,entry0={"ignition":{"version":"3.2.0"}}`,
	}
	for b.Loop() {
		out, err := exec.Command(vi, args...).CombinedOutput()
		if err != nil {
			b.Fatalf("virt-install: %v\n%s", err, out)
		}
	}
}

// removePool undoes the pool virt-install defined for dir.
func removePool(b *testing.B, sock, name string) {
	u, err := url.Parse("qemu+unix:///system?socket=" + sock)
	if err != nil {
		b.Fatal(err)
	}
	l, err := libvirt.ConnectToURI(u)
	if err != nil {
		b.Logf("remove pool %s: %v", name, err)
		return
	}
	defer l.Disconnect()
	p, err := l.StoragePoolLookupByName(name)
	if err != nil {
		return
	}
	_ = l.StoragePoolDestroy(p)
	_ = l.StoragePoolUndefine(p)
}
