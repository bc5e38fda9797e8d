package kvm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	libvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"
)

// Volume is a storage volume as kvm reports it.
type Volume struct {
	Pool          string `json:"pool"`
	Name          string `json:"name"`
	Path          string `json:"path"`
	Format        string `json:"format,omitempty"`
	CapacityBytes uint64 `json:"capacityBytes"`
	// BackingPath is the base image of a qcow2 overlay.
	BackingPath string `json:"backingPath,omitempty"`
}

// VolumeSpec describes a volume to create: an empty volume of
// CapacityBytes, or a qcow2 overlay on BackingVolume (same pool), whose
// capacity defaults to the base's.
type VolumeSpec struct {
	Name          string `json:"name" yaml:"name"`
	Format        string `json:"format,omitempty" yaml:"format,omitempty"` // qcow2 or raw; default qcow2 for overlays, else raw
	CapacityBytes uint64 `json:"capacityBytes,omitempty" yaml:"capacityBytes,omitempty"`
	BackingVolume string `json:"backingVolume,omitempty" yaml:"backingVolume,omitempty"`
}

var volNameRE = regexp.MustCompile(`^[A-Za-z0-9_.+-]{1,255}$`)

// Validate checks the spec before anything is created.
func (v VolumeSpec) Validate() error {
	if !volNameRE.MatchString(v.Name) || v.Name == "." || v.Name == ".." {
		return fieldErr("name", v.Name, "volume names are 1-255 of [A-Za-z0-9_.+-]")
	}
	switch v.Format {
	case "", "qcow2":
	case "raw":
		if v.BackingVolume != "" {
			return fieldErr("format", v.Format, "an overlay on a backing volume is qcow2")
		}
	default:
		return fieldErr("format", v.Format, "want qcow2 or raw")
	}
	if v.BackingVolume == "" && v.CapacityBytes == 0 {
		return fieldErr("capacityBytes", v.CapacityBytes, "must be > 0 (or give a backingVolume)")
	}
	if v.BackingVolume == v.Name {
		return fieldErr("backingVolume", v.BackingVolume, "a volume cannot back itself")
	}
	return nil
}

func (c *Client) lookupPool(ctx context.Context, name string) (libvirt.StoragePool, error) {
	return call(ctx, c, fmt.Sprintf("look up pool %q", name), func(l Libvirt) (libvirt.StoragePool, error) {
		return l.StoragePoolLookupByName(name)
	})
}

func (c *Client) lookupVol(ctx context.Context, pool libvirt.StoragePool, name string) (libvirt.StorageVol, error) {
	return call(ctx, c, fmt.Sprintf("look up volume %q in pool %q", name, pool.Name), func(l Libvirt) (libvirt.StorageVol, error) {
		return l.StorageVolLookupByName(pool, name)
	})
}

// EnsureDirPool makes a directory pool named name at path exist, built,
// active and autostarted. Calling it again is a no-op; a pool of that name
// at another path fails with ErrConflict.
func (c *Client) EnsureDirPool(ctx context.Context, name, path string) error {
	if !volNameRE.MatchString(name) {
		return fieldErr("name", name, "pool names are [A-Za-z0-9_.+-]")
	}
	if !strings.HasPrefix(path, "/") {
		return fieldErr("path", path, "must be an absolute path on the hypervisor host")
	}
	pool, err := c.lookupPool(ctx, name)
	switch {
	case err == nil:
		s, err := call(ctx, c, fmt.Sprintf("read pool %q", name), func(l Libvirt) (string, error) { return l.StoragePoolGetXMLDesc(pool, 0) })
		if err != nil {
			return err
		}
		var px libvirtxml.StoragePool
		if err := px.Unmarshal(s); err != nil {
			return fmt.Errorf("kvm: parse pool %q: %w", name, err)
		}
		if px.Target != nil && strings.TrimRight(px.Target.Path, "/") != strings.TrimRight(path, "/") {
			return fmt.Errorf("kvm: pool %q: %w: it exists at %s, not %s", name, ErrConflict, px.Target.Path, path)
		}
	case errors.Is(err, ErrNotFound):
		px := libvirtxml.StoragePool{Type: "dir", Name: name, Target: &libvirtxml.StoragePoolTarget{Path: path}}
		x, err := px.Marshal()
		if err != nil {
			return err
		}
		pool, err = call(ctx, c, fmt.Sprintf("define pool %q", name), func(l Libvirt) (libvirt.StoragePool, error) {
			return l.StoragePoolDefineXML(x, 0)
		})
		if err != nil {
			return err
		}
		err = call0(ctx, c, fmt.Sprintf("build pool %q", name), func(l Libvirt) error {
			return l.StoragePoolBuild(pool, libvirt.StoragePoolBuildNew)
		})
		if err != nil && !errors.Is(err, ErrExists) {
			c.undo("undefine pool "+name, func(ctx context.Context) error {
				return call0(ctx, c, "undefine pool", func(l Libvirt) error { return l.StoragePoolUndefine(pool) })
			})
			return err
		}
		c.log.Info("kvm: pool defined", "pool", name, "path", path)
	default:
		return err
	}
	active, err := call(ctx, c, fmt.Sprintf("check pool %q", name), func(l Libvirt) (int32, error) { return l.StoragePoolIsActive(pool) })
	if err != nil {
		return err
	}
	if active == 0 {
		if err := call0(ctx, c, fmt.Sprintf("start pool %q", name), func(l Libvirt) error { return l.StoragePoolCreate(pool, 0) }); err != nil {
			return err
		}
	}
	err = call0(ctx, c, fmt.Sprintf("autostart pool %q", name), func(l Libvirt) error { return l.StoragePoolSetAutostart(pool, 1) })
	if errors.Is(err, ErrUnsupported) {
		err = nil // the pool works; it just will not come back by itself
	}
	return err
}

// volInfo reads a volume's path and definition.
func (c *Client) volInfo(ctx context.Context, vol libvirt.StorageVol) (Volume, error) {
	op := fmt.Sprintf("read volume %q in pool %q", vol.Name, vol.Pool)
	p, err := call(ctx, c, op, func(l Libvirt) (string, error) { return l.StorageVolGetPath(vol) })
	if err != nil {
		return Volume{}, err
	}
	s, err := call(ctx, c, op, func(l Libvirt) (string, error) { return l.StorageVolGetXMLDesc(vol, 0) })
	if err != nil {
		return Volume{}, err
	}
	var vx libvirtxml.StorageVolume
	if err := vx.Unmarshal(s); err != nil {
		return Volume{}, fmt.Errorf("kvm: parse volume %q: %w", vol.Name, err)
	}
	v := Volume{Pool: vol.Pool, Name: vol.Name, Path: p}
	if vx.Capacity != nil {
		v.CapacityBytes = scaleUnit(vx.Capacity.Value, vx.Capacity.Unit)
	}
	if vx.Target != nil && vx.Target.Format != nil {
		v.Format = vx.Target.Format.Type
	}
	if vx.BackingStore != nil {
		v.BackingPath = vx.BackingStore.Path
	}
	return v, nil
}

func scaleUnit(v uint64, unit string) uint64 {
	switch strings.ToLower(unit) {
	case "", "b", "bytes":
		return v
	case "k", "kib":
		return v << 10
	case "m", "mib":
		return v << 20
	case "g", "gib":
		return v << 30
	case "t", "tib":
		return v << 40
	case "kb":
		return v * 1000
	case "mb":
		return v * 1000 * 1000
	case "gb":
		return v * 1000 * 1000 * 1000
	}
	return v
}

// VolumePath returns the host path of a volume (what disks reference).
func (c *Client) VolumePath(ctx context.Context, pool, name string) (string, error) {
	v, err := c.Volume(ctx, pool, name)
	return v.Path, err
}

// Volume describes one volume.
func (c *Client) Volume(ctx context.Context, pool, name string) (Volume, error) {
	p, err := c.lookupPool(ctx, pool)
	if err != nil {
		return Volume{}, err
	}
	vol, err := c.lookupVol(ctx, p, name)
	if err != nil {
		return Volume{}, err
	}
	return c.volInfo(ctx, vol)
}

// CreateVolume creates a volume in pool. An existing volume of that name
// fails with ErrExists; a missing backing volume with ErrNotFound.
func (c *Client) CreateVolume(ctx context.Context, pool string, spec VolumeSpec) (Volume, error) {
	if err := spec.Validate(); err != nil {
		return Volume{}, err
	}
	p, err := c.lookupPool(ctx, pool)
	if err != nil {
		return Volume{}, err
	}
	pv, err := c.planVolume(ctx, p, spec, "backingVolume")
	if err != nil {
		return Volume{}, err
	}
	vol, err := c.createVolume(ctx, pv)
	if err != nil {
		return Volume{}, err
	}
	return c.volInfo(ctx, vol)
}

// plannedVol is a volume to create, its inputs already checked.
type plannedVol struct {
	pool libvirt.StoragePool
	xml  *libvirtxml.StorageVolume
	disk int // index in the domain spec, -1 outside Define
}

func (c *Client) planVolume(ctx context.Context, p libvirt.StoragePool, spec VolumeSpec, baseField string) (plannedVol, error) {
	vx := &libvirtxml.StorageVolume{Name: spec.Name}
	format := spec.Format
	capacity := spec.CapacityBytes
	if spec.BackingVolume != "" {
		bv, err := c.lookupVol(ctx, p, spec.BackingVolume)
		if errors.Is(err, ErrNotFound) {
			return plannedVol{}, fmt.Errorf("%w: %w", fieldErr(baseField, spec.BackingVolume, "no such volume in pool %q", p.Name), ErrNotFound)
		}
		if err != nil {
			return plannedVol{}, err
		}
		base, err := c.volInfo(ctx, bv)
		if err != nil {
			return plannedVol{}, err
		}
		if capacity == 0 {
			capacity = base.CapacityBytes
		}
		bf := base.Format
		if bf == "" {
			bf = "raw"
		}
		vx.BackingStore = &libvirtxml.StorageVolumeBackingStore{Path: base.Path, Format: &libvirtxml.StorageVolumeTargetFormat{Type: bf}}
		format = "qcow2"
	}
	if format == "" {
		format = "raw"
	}
	vx.Capacity = &libvirtxml.StorageVolumeSize{Unit: "bytes", Value: capacity}
	vx.Target = &libvirtxml.StorageVolumeTarget{Format: &libvirtxml.StorageVolumeTargetFormat{Type: format}}
	return plannedVol{pool: p, xml: vx, disk: -1}, nil
}

func (c *Client) createVolume(ctx context.Context, pv plannedVol) (libvirt.StorageVol, error) {
	x, err := pv.xml.Marshal()
	if err != nil {
		return libvirt.StorageVol{}, err
	}
	return call(ctx, c, fmt.Sprintf("create volume %q in pool %q", pv.xml.Name, pv.pool.Name), func(l Libvirt) (libvirt.StorageVol, error) {
		return l.StorageVolCreateXML(pv.pool, x, 0)
	})
}

// Upload writes size bytes from r into the volume. The reader is buffered
// 4 MiB at a time: go-libvirt sends stream chunks of up to 4 MiB, and a slow
// reader otherwise corrupts uploads (go-libvirt #82).
func (c *Client) Upload(ctx context.Context, pool, name string, r io.Reader, size int64) error {
	if size < 0 {
		return fieldErr("size", size, "must be >= 0")
	}
	p, err := c.lookupPool(ctx, pool)
	if err != nil {
		return err
	}
	vol, err := c.lookupVol(ctx, p, name)
	if err != nil {
		return err
	}
	br := bufio.NewReaderSize(io.LimitReader(r, size), 4<<20)
	return call0(ctx, c, fmt.Sprintf("upload to volume %q in pool %q", name, pool), func(l Libvirt) error {
		return l.StorageVolUpload(vol, br, 0, uint64(size), 0)
	})
}

// DeleteVolume deletes a volume; a missing one fails with ErrNotFound.
func (c *Client) DeleteVolume(ctx context.Context, pool, name string) error {
	p, err := c.lookupPool(ctx, pool)
	if err != nil {
		return err
	}
	vol, err := c.lookupVol(ctx, p, name)
	if err != nil {
		return err
	}
	return c.deleteVol(ctx, vol)
}

func (c *Client) deleteVol(ctx context.Context, vol libvirt.StorageVol) error {
	return call0(ctx, c, fmt.Sprintf("delete volume %q in pool %q", vol.Name, vol.Pool), func(l Libvirt) error {
		return l.StorageVolDelete(vol, libvirt.StorageVolDeleteNormal)
	})
}

// ListVolumes lists a pool's volumes, sorted by name.
func (c *Client) ListVolumes(ctx context.Context, pool string) ([]Volume, error) {
	p, err := c.lookupPool(ctx, pool)
	if err != nil {
		return nil, err
	}
	// The pool may have gained files behind libvirt's back.
	if err := call0(ctx, c, fmt.Sprintf("refresh pool %q", pool), func(l Libvirt) error { return l.StoragePoolRefresh(p, 0) }); err != nil && !errors.Is(err, ErrUnsupported) {
		return nil, err
	}
	vols, err := call(ctx, c, fmt.Sprintf("list volumes of pool %q", pool), func(l Libvirt) ([]libvirt.StorageVol, error) {
		v, _, err := l.StoragePoolListAllVolumes(p, needResults, 0)
		return v, err
	})
	if err != nil {
		return nil, err
	}
	out := make([]Volume, 0, len(vols))
	for _, v := range vols {
		info, err := c.volInfo(ctx, v)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b Volume) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// undoTimeout bounds cleanup after a failed composite operation; it runs
// even when the caller's ctx is what failed.
const undoTimeout = 30 * time.Second

func (c *Client) undo(what string, fn func(ctx context.Context) error) {
	ctx, cancel := context.WithTimeout(c.bg, undoTimeout)
	defer cancel()
	if err := fn(ctx); err != nil {
		c.log.Error("kvm: undo failed; clean up by hand", "step", what, "err", err)
		return
	}
	c.log.Info("kvm: undone", "step", what)
}

// diskPlan is what Define must do for a spec's pool volumes.
type diskPlan struct {
	paths  map[int]string // disk index → path of an existing volume
	format map[int]string // disk index → format read from the volume
	create []plannedVol
}

// planDisks checks every pool, volume and base volume the spec names,
// without creating anything.
func (c *Client) planDisks(ctx context.Context, n *DomainSpec) (*diskPlan, error) {
	plan := &diskPlan{paths: map[int]string{}, format: map[int]string{}}
	pools := map[string]libvirt.StoragePool{}
	for i, d := range n.Disks {
		if d.Pool == "" {
			continue
		}
		f := fmt.Sprintf("disks[%d]", i)
		p, ok := pools[d.Pool]
		if !ok {
			var err error
			p, err = c.lookupPool(ctx, d.Pool)
			if errors.Is(err, ErrNotFound) {
				return nil, fmt.Errorf("%w: %w", fieldErr(f+".pool", d.Pool, "no such storage pool"), ErrNotFound)
			}
			if err != nil {
				return nil, err
			}
			pools[d.Pool] = p
		}
		vol, err := c.lookupVol(ctx, p, d.Volume)
		switch {
		case err == nil:
			info, err := c.volInfo(ctx, vol)
			if err != nil {
				return nil, err
			}
			plan.paths[i] = info.Path
			plan.format[i] = info.Format
		case errors.Is(err, ErrNotFound):
			if d.BaseVolume == "" && d.SizeBytes == 0 {
				return nil, fmt.Errorf("%w: %w", fieldErr(f+".sizeBytes", 0, "volume %q does not exist in pool %q; give sizeBytes or baseVolume to create it", d.Volume, d.Pool), ErrNotFound)
			}
			vs := VolumeSpec{Name: d.Volume, Format: d.Format, CapacityBytes: d.SizeBytes, BackingVolume: d.BaseVolume}
			if vs.Format == "" {
				vs.Format = guessFormat(d.Volume, d.BaseVolume)
			}
			if err := vs.Validate(); err != nil {
				var fe *FieldError
				if errors.As(err, &fe) {
					fe.Field = f + "." + fe.Field
				}
				return nil, err
			}
			pv, err := c.planVolume(ctx, p, vs, f+".baseVolume")
			if err != nil {
				return nil, err
			}
			pv.disk = i
			plan.create = append(plan.create, pv)
		default:
			return nil, err
		}
	}
	return plan, nil
}

// createPlanned creates the planned volumes and fills the spec's paths and
// formats. On failure it deletes what it created.
func (c *Client) createPlanned(ctx context.Context, n *DomainSpec, plan *diskPlan) ([]libvirt.StorageVol, error) {
	for i, p := range plan.paths {
		n.Disks[i].Path = p
		if n.Disks[i].Format == "" {
			n.Disks[i].Format = plan.format[i]
		}
		if n.Disks[i].Format == "" {
			n.Disks[i].Format = "raw"
		}
	}
	var created []libvirt.StorageVol
	for _, pv := range plan.create {
		vol, err := c.createVolume(ctx, pv)
		var path string
		if err == nil {
			created = append(created, vol)
			path, err = call(ctx, c, "volume path", func(l Libvirt) (string, error) { return l.StorageVolGetPath(vol) })
		}
		if err != nil {
			c.undoVolumes(created)
			return nil, err
		}
		n.Disks[pv.disk].Path = path
		n.Disks[pv.disk].Format = pv.xml.Target.Format.Type
		c.log.Info("kvm: volume created", "pool", pv.pool.Name, "volume", vol.Name)
	}
	return created, nil
}

func (c *Client) undoVolumes(vols []libvirt.StorageVol) {
	for _, v := range vols {
		c.undo("delete volume "+v.Name, func(ctx context.Context) error { return c.deleteVol(ctx, v) })
	}
}
