package kvmtest

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"

	libvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"
)

func (s *suite) storage(t *testing.T) {
	s.h.need(t, CapPools)
	c := s.conn(t)
	dir := ""
	if s.h.PoolDir != nil {
		dir = s.h.PoolDir(t)
	} else {
		dir = t.TempDir()
	}
	dir = filepath.Join(dir, "pool")
	name := s.name(t, "pool")
	t.Cleanup(func() {
		p, err := c.StoragePoolLookupByName(name)
		if err != nil {
			return
		}
		if vols, _, err := c.StoragePoolListAllVolumes(p, -1, 0); err == nil {
			for _, v := range vols {
				_ = c.StorageVolDelete(v, 0)
			}
		}
		_ = c.StoragePoolDestroy(p)
		_ = c.StoragePoolUndefine(p)
	})
	poolXML := fmt.Sprintf("<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>", name, dir)
	p, err := c.StoragePoolDefineXML(poolXML, 0)
	must(t, "define pool", err)
	_, err = c.StoragePoolDefineXML(poolXML, 0)
	wantCode(t, "define pool again", err, libvirt.ErrOperationFailed, "pool '"+name+"' already exists with uuid "+formatUUID(p.UUID))
	_, err = c.StoragePoolLookupByName(name + "-missing")
	wantCode(t, "lookup missing pool", err, libvirt.ErrNoStoragePool, "Storage pool not found: no storage pool with matching name '"+name+"-missing'")
	if a, err := c.StoragePoolIsActive(p); err != nil || a != 0 {
		t.Errorf("IsActive before create: %d %v", a, err)
	}
	_, _, err = c.StoragePoolListAllVolumes(p, -1, 0)
	s.driverCode(t, "list volumes of inactive pool", err, libvirt.ErrOperationInvalid, "storage pool '"+name+"' is not active")
	if s.h.has(CapDriverSemantics) { // the test driver starts pools without a directory
		wantCode(t, "create unbuilt pool", c.StoragePoolCreate(p, 0), libvirt.ErrSystemError, "cannot open directory '"+dir+"'")
	}
	must(t, "build", c.StoragePoolBuild(p, 0))
	must(t, "create", c.StoragePoolCreate(p, 0))
	s.driverCode(t, "create active pool", c.StoragePoolCreate(p, 0), libvirt.ErrOperationInvalid, "storage pool '"+name+"' is already active")
	must(t, "refresh", c.StoragePoolRefresh(p, 0))
	must(t, "autostart", c.StoragePoolSetAutostart(p, 1))
	x, err := c.StoragePoolGetXMLDesc(p, 0)
	must(t, "pool XML", err)
	var pdef libvirtxml.StoragePool
	must(t, "parse pool", pdef.Unmarshal(x))
	if pdef.Target == nil || pdef.Target.Path != dir {
		t.Errorf("pool target %+v, want %s", pdef.Target, dir)
	}
	vols, _, err := c.StoragePoolListAllVolumes(p, -1, 0)
	must(t, "list volumes", err)
	if len(vols) != 0 {
		t.Errorf("new pool has volumes %v", vols)
	}

	rawXML := "<volume><name>base.raw</name><capacity unit='KiB'>1024</capacity><target><format type='raw'/></target></volume>"
	v, err := c.StorageVolCreateXML(p, rawXML, 0)
	must(t, "create raw volume", err)
	_, err = c.StorageVolCreateXML(p, rawXML, 0)
	s.driverCode(t, "create volume again", err, libvirt.ErrStorageVolExist, "storage volume 'base.raw' exists already")
	path, err := c.StorageVolGetPath(v)
	must(t, "GetPath", err)
	if path != filepath.Join(dir, "base.raw") {
		t.Errorf("volume path %s, want %s", path, filepath.Join(dir, "base.raw"))
	}
	got, err := c.StorageVolLookupByName(p, "base.raw")
	must(t, "lookup volume", err)
	if got.Key != path || got.Pool != name {
		t.Errorf("looked-up volume %+v, want key %s in %s", got, path, name)
	}
	_, err = c.StorageVolLookupByName(p, "missing.raw")
	wantCode(t, "lookup missing volume", err, libvirt.ErrNoStorageVol, "Storage volume not found: no storage vol with matching name 'missing.raw'")
	vx, err := c.StorageVolGetXMLDesc(v, 0)
	must(t, "volume XML", err)
	var vdef libvirtxml.StorageVolume
	must(t, "parse volume", vdef.Unmarshal(vx))
	if vdef.Capacity == nil || vdef.Capacity.Value != 1<<20 || vdef.Target == nil || vdef.Target.Path != path || vdef.Target.Format == nil || vdef.Target.Format.Type != "raw" {
		t.Errorf("volume XML:\n%s", vx)
	}

	overlay := fmt.Sprintf("<volume><name>overlay.qcow2</name><capacity unit='MiB'>1</capacity><target><format type='qcow2'/></target><backingStore><path>%s</path><format type='raw'/></backingStore></volume>", path)
	ov, err := c.StorageVolCreateXML(p, overlay, 0)
	must(t, "create qcow2 overlay", err)
	ox, err := c.StorageVolGetXMLDesc(ov, 0)
	must(t, "overlay XML", err)
	var odef libvirtxml.StorageVolume
	must(t, "parse overlay", odef.Unmarshal(ox))
	if odef.BackingStore == nil || odef.BackingStore.Path != path || odef.Target.Format.Type != "qcow2" {
		t.Errorf("overlay XML:\n%s", ox)
	}
	vols, _, err = c.StoragePoolListAllVolumes(p, -1, 0)
	must(t, "list volumes", err)
	if len(vols) != 2 {
		t.Errorf("volumes %v, want 2", vols)
	}

	if s.h.has(CapVolumeUpload) {
		data := bytes.Repeat([]byte("okvm-kvmtest-"), 5000)
		must(t, "upload", c.StorageVolUpload(v, bytes.NewReader(data), 0, uint64(len(data)), 0))
		if s.h.ReadVolume != nil {
			back, err := s.h.ReadVolume(path)
			must(t, "read back", err)
			if !bytes.Equal(back[:len(data)], data) {
				t.Errorf("uploaded content differs (%d bytes back)", len(back))
			}
		}
	}
	must(t, "delete overlay", c.StorageVolDelete(ov, 0))
	must(t, "delete base", c.StorageVolDelete(v, 0))
	s.driverCode(t, "undefine active pool", c.StoragePoolUndefine(p), libvirt.ErrOperationInvalid, "storage pool '"+name+"' is still active")
	must(t, "destroy", c.StoragePoolDestroy(p))
	s.driverCode(t, "destroy inactive", c.StoragePoolDestroy(p), libvirt.ErrOperationInvalid, "storage pool '"+name+"' is not active")
	must(t, "undefine", c.StoragePoolUndefine(p))
	_, err = c.StoragePoolLookupByName(name)
	wantCode(t, "lookup undefined pool", err, libvirt.ErrNoStoragePool, "")
}
