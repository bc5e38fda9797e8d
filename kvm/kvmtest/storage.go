package kvmtest

import (
	"io"
	"os"
	"path"
	"strings"

	libvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"
)

// poolCapacity is the size the fake reports for every pool (100 GiB).
const poolCapacity = 100 << 30

// pool is a directory storage pool whose volumes live in memory.
type pool struct {
	name      string
	uuid      libvirt.UUID
	def       *libvirtxml.StoragePool
	persist   bool
	active    bool
	built     bool
	autostart bool
	vols      []*volume
}

// volume holds its content: uploads land here and tests can read them back
// with (*Fake).VolumeBytes.
type volume struct {
	name, path, format string
	capacity           uint64
	backing            *libvirtxml.StorageVolumeBackingStore
	data               []byte
}

func (p *pool) handle() libvirt.StoragePool { return libvirt.StoragePool{Name: p.name, UUID: p.uuid} }

func (p *pool) target() string {
	if p.def.Target != nil {
		return p.def.Target.Path
	}
	return ""
}

func (p *pool) volHandle(v *volume) libvirt.StorageVol {
	return libvirt.StorageVol{Pool: p.name, Name: v.name, Key: v.path}
}

func errPoolInactive(name string) error { return errOpInvalid("storage pool '%s' is not active", name) }

func (f *Fake) poolByName(name string) *pool {
	for _, p := range f.pools {
		if p.name == name {
			return p
		}
	}
	return nil
}

func (f *Fake) lookupPool(h libvirt.StoragePool) (*pool, error) {
	var zero libvirt.UUID
	for _, p := range f.pools {
		if (h.UUID != zero && p.uuid == h.UUID) || (h.UUID == zero && p.name == h.Name) {
			return p, nil
		}
	}
	if h.UUID == zero {
		return nil, errNoPoolName(h.Name)
	}
	return nil, lverr(libvirt.ErrNoStoragePool, "Storage pool not found: no storage pool with matching uuid '%s' (%s)", formatUUID(h.UUID), h.Name)
}

// lookupVol resolves a volume handle: by pool name and volume name, or by
// key (the path) when the pool is not given.
func (f *Fake) lookupVol(h libvirt.StorageVol) (*pool, *volume, error) {
	for _, p := range f.pools {
		if h.Pool != "" && p.name != h.Pool {
			continue
		}
		for _, v := range p.vols {
			if (h.Name != "" && v.name == h.Name) || (h.Name == "" && v.path == h.Key) {
				if !p.active {
					return nil, nil, errPoolInactive(p.name)
				}
				return p, v, nil
			}
		}
	}
	return nil, nil, errNoVolName(h.Name)
}

func (f *Fake) removePool(p *pool) {
	for i, x := range f.pools {
		if x == p {
			f.pools = append(f.pools[:i], f.pools[i+1:]...)
			return
		}
	}
}

// ConnectListAllStoragePools lists pools, filtered like libvirt.
func (c *Conn) ConnectListAllStoragePools(NeedResults int32, Flags libvirt.ConnectListAllStoragePoolsFlags) ([]libvirt.StoragePool, uint32, error) {
	if err := c.enter("ConnectListAllStoragePools"); err != nil {
		return nil, 0, err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	fl := uint32(Flags)
	var out []libvirt.StoragePool
	for _, p := range c.f.pools {
		if !pairMatch(fl, uint32(libvirt.ConnectListStoragePoolsActive), uint32(libvirt.ConnectListStoragePoolsInactive), p.active) ||
			!pairMatch(fl, uint32(libvirt.ConnectListStoragePoolsPersistent), uint32(libvirt.ConnectListStoragePoolsTransient), p.persist) ||
			!pairMatch(fl, uint32(libvirt.ConnectListStoragePoolsAutostart), uint32(libvirt.ConnectListStoragePoolsNoAutostart), p.autostart) {
			continue
		}
		// Type filter bits start at Dir; the fake only has dir pools.
		if typeBits := fl &^ 63; typeBits != 0 && typeBits&uint32(libvirt.ConnectListStoragePoolsDir) == 0 {
			continue
		}
		out = append(out, p.handle())
	}
	if NeedResults >= 0 && len(out) > int(NeedResults) {
		out = out[:NeedResults]
	}
	return out, uint32(len(out)), nil
}

// StoragePoolLookupByName finds a pool.
func (c *Conn) StoragePoolLookupByName(Name string) (libvirt.StoragePool, error) {
	if err := c.enter("StoragePoolLookupByName"); err != nil {
		return libvirt.StoragePool{}, err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	p := c.f.poolByName(Name)
	if p == nil {
		return libvirt.StoragePool{}, errNoPoolName(Name)
	}
	return p.handle(), nil
}

// StoragePoolDefineXML defines a dir pool (other pool types are refused:
// the fake has no disks or LVM to back them).
func (c *Conn) StoragePoolDefineXML(XML string, Flags uint32) (libvirt.StoragePool, error) {
	if err := c.enter("StoragePoolDefineXML"); err != nil {
		return libvirt.StoragePool{}, err
	}
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	var def libvirtxml.StoragePool
	if err := def.Unmarshal(XML); err != nil {
		return libvirt.StoragePool{}, lverr(libvirt.ErrXMLDetail, "XML error: %v", err)
	}
	if def.Type == "" {
		return libvirt.StoragePool{}, errXML("storage pool missing type attribute")
	}
	if def.Type != "dir" {
		return libvirt.StoragePool{}, lverr(libvirt.ErrNoSupport, "this function is not supported by the connection driver: kvmtest only has dir pools, not '%s'", def.Type)
	}
	if def.Name == "" {
		return libvirt.StoragePool{}, errXML("missing pool source name element")
	}
	if def.Target == nil || def.Target.Path == "" {
		return libvirt.StoragePool{}, errXML("missing storage pool target path")
	}
	def.Target.Path = path.Clean(def.Target.Path)
	if def.UUID == "" {
		def.UUID = formatUUID(f.newUUID())
	} else if uu, err := parseUUID(def.UUID); err != nil {
		return libvirt.StoragePool{}, errXML("malformed uuid element")
	} else {
		def.UUID = formatUUID(uu)
	}
	var existing *pool
	for _, p := range f.pools {
		switch {
		case formatUUID(p.uuid) == def.UUID:
			if p.name != def.Name {
				return libvirt.StoragePool{}, errOpFailed("pool '%s' is already defined with uuid %s", p.name, def.UUID)
			}
			existing = p
		case p.name == def.Name:
			return libvirt.StoragePool{}, errOpFailed("pool '%s' already exists with uuid %s", def.Name, formatUUID(p.uuid))
		case p.target() == def.Target.Path:
			return libvirt.StoragePool{}, errOpFailed("Storage source conflict with pool: '%s'", p.name)
		}
	}
	if existing != nil {
		existing.def, existing.persist = &def, true
		return existing.handle(), nil
	}
	uuid, _ := parseUUID(def.UUID)
	p := &pool{name: def.Name, uuid: uuid, def: &def, persist: true}
	f.pools = append(f.pools, p)
	return p.handle(), nil
}

// StoragePoolBuild "creates the directory" (marks the pool built).
func (c *Conn) StoragePoolBuild(Pool libvirt.StoragePool, Flags libvirt.StoragePoolBuildFlags) error {
	if err := c.enter("StoragePoolBuild"); err != nil {
		return err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	p, err := c.f.lookupPool(Pool)
	if err != nil {
		return err
	}
	if p.active {
		return errOpInvalid("storage pool '%s' is already active", p.name)
	}
	p.built = true
	return nil
}

// StoragePoolCreate starts a pool. Like libvirt's dir backend it needs the
// directory: built with StoragePoolBuild (or the CreateWithBuild flags), or
// already existing on the host.
func (c *Conn) StoragePoolCreate(Pool libvirt.StoragePool, Flags libvirt.StoragePoolCreateFlags) error {
	if err := c.enter("StoragePoolCreate"); err != nil {
		return err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	p, err := c.f.lookupPool(Pool)
	if err != nil {
		return err
	}
	if p.active {
		return errOpInvalid("storage pool '%s' is already active", p.name)
	}
	if Flags&(libvirt.StoragePoolCreateWithBuild|libvirt.StoragePoolCreateWithBuildOverwrite|libvirt.StoragePoolCreateWithBuildNoOverwrite) != 0 {
		p.built = true
	}
	if !p.built {
		if st, err := os.Stat(p.target()); err == nil && st.IsDir() {
			p.built = true
		}
	}
	if !p.built {
		return lverr(libvirt.ErrSystemError, "cannot open directory '%s': No such file or directory", p.target())
	}
	p.active = true
	return nil
}

// StoragePoolIsActive reports 1 for a started pool.
func (c *Conn) StoragePoolIsActive(Pool libvirt.StoragePool) (int32, error) {
	if err := c.enter("StoragePoolIsActive"); err != nil {
		return 0, err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	p, err := c.f.lookupPool(Pool)
	if err != nil {
		return 0, err
	}
	if p.active {
		return 1, nil
	}
	return 0, nil
}

// StoragePoolRefresh has nothing to rescan; it only checks the pool is up.
func (c *Conn) StoragePoolRefresh(Pool libvirt.StoragePool, Flags uint32) error {
	if err := c.enter("StoragePoolRefresh"); err != nil {
		return err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	p, err := c.f.lookupPool(Pool)
	if err != nil {
		return err
	}
	if !p.active {
		return errPoolInactive(p.name)
	}
	return nil
}

// StoragePoolGetXMLDesc returns the definition with sizes filled in.
func (c *Conn) StoragePoolGetXMLDesc(Pool libvirt.StoragePool, Flags libvirt.StorageXMLFlags) (string, error) {
	if err := c.enter("StoragePoolGetXMLDesc"); err != nil {
		return "", err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	p, err := c.f.lookupPool(Pool)
	if err != nil {
		return "", err
	}
	def := *p.def
	var alloc uint64
	if p.active {
		for _, v := range p.vols {
			alloc += uint64(len(v.data))
		}
	}
	def.Capacity = &libvirtxml.StoragePoolSize{Unit: "bytes", Value: poolCapacity}
	def.Allocation = &libvirtxml.StoragePoolSize{Unit: "bytes", Value: alloc}
	def.Available = &libvirtxml.StoragePoolSize{Unit: "bytes", Value: poolCapacity - alloc}
	if !p.active {
		def.Capacity.Value, def.Allocation.Value, def.Available.Value = 0, 0, 0
	}
	s, err := def.Marshal()
	if err != nil {
		return "", errInternal("failed to format pool XML: %v", err)
	}
	return s + "\n", nil
}

// StoragePoolDestroy stops a pool (its volumes stay, as files would).
func (c *Conn) StoragePoolDestroy(Pool libvirt.StoragePool) error {
	if err := c.enter("StoragePoolDestroy"); err != nil {
		return err
	}
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	p, err := f.lookupPool(Pool)
	if err != nil {
		return err
	}
	if !p.active {
		return errPoolInactive(p.name)
	}
	p.active = false
	if !p.persist {
		f.removePool(p)
	}
	return nil
}

// StoragePoolUndefine removes an inactive pool's definition.
func (c *Conn) StoragePoolUndefine(Pool libvirt.StoragePool) error {
	if err := c.enter("StoragePoolUndefine"); err != nil {
		return err
	}
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	p, err := f.lookupPool(Pool)
	if err != nil {
		return err
	}
	if p.active {
		return errOpInvalid("storage pool '%s' is still active", p.name)
	}
	f.removePool(p)
	return nil
}

// StoragePoolSetAutostart records the autostart flag.
func (c *Conn) StoragePoolSetAutostart(Pool libvirt.StoragePool, Autostart int32) error {
	if err := c.enter("StoragePoolSetAutostart"); err != nil {
		return err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	p, err := c.f.lookupPool(Pool)
	if err != nil {
		return err
	}
	if !p.persist {
		return errInvalidArg("cannot set autostart for transient pool")
	}
	p.autostart = Autostart != 0
	return nil
}

// StoragePoolListAllVolumes lists an active pool's volumes.
func (c *Conn) StoragePoolListAllVolumes(Pool libvirt.StoragePool, NeedResults int32, Flags uint32) ([]libvirt.StorageVol, uint32, error) {
	if err := c.enter("StoragePoolListAllVolumes"); err != nil {
		return nil, 0, err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	p, err := c.f.lookupPool(Pool)
	if err != nil {
		return nil, 0, err
	}
	if !p.active {
		return nil, 0, errPoolInactive(p.name)
	}
	var out []libvirt.StorageVol
	for _, v := range p.vols {
		out = append(out, p.volHandle(v))
	}
	if NeedResults >= 0 && len(out) > int(NeedResults) {
		out = out[:NeedResults]
	}
	return out, uint32(len(out)), nil
}

var sizeUnits = map[string]uint64{
	"": 1, "b": 1, "bytes": 1,
	"k": 1 << 10, "KiB": 1 << 10, "KB": 1000,
	"M": 1 << 20, "MiB": 1 << 20, "MB": 1000 * 1000,
	"G": 1 << 30, "GiB": 1 << 30, "GB": 1000 * 1000 * 1000,
	"T": 1 << 40, "TiB": 1 << 40, "TB": 1000 * 1000 * 1000 * 1000,
}

// StorageVolCreateXML creates a volume (raw or qcow2, optionally on a
// backing store that must exist: another volume's path or a host file).
func (c *Conn) StorageVolCreateXML(Pool libvirt.StoragePool, XML string, Flags libvirt.StorageVolCreateFlags) (libvirt.StorageVol, error) {
	if err := c.enter("StorageVolCreateXML"); err != nil {
		return libvirt.StorageVol{}, err
	}
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	p, err := f.lookupPool(Pool)
	if err != nil {
		return libvirt.StorageVol{}, err
	}
	if !p.active {
		return libvirt.StorageVol{}, errPoolInactive(p.name)
	}
	var def libvirtxml.StorageVolume
	if err := def.Unmarshal(XML); err != nil {
		return libvirt.StorageVol{}, lverr(libvirt.ErrXMLDetail, "XML error: %v", err)
	}
	if def.Name == "" {
		return libvirt.StorageVol{}, errXML("missing volume name element")
	}
	if strings.Contains(def.Name, "/") {
		return libvirt.StorageVol{}, errXML("volume name '%s' cannot contain '/'", def.Name)
	}
	if def.Capacity == nil {
		return libvirt.StorageVol{}, errXML("missing capacity element")
	}
	mult, ok := sizeUnits[def.Capacity.Unit]
	if !ok {
		return libvirt.StorageVol{}, errInvalidArg("unknown storage size unit '%s'", def.Capacity.Unit)
	}
	for _, v := range p.vols {
		if v.name == def.Name {
			return libvirt.StorageVol{}, lverr(libvirt.ErrStorageVolExist, "storage volume '%s' exists already", def.Name)
		}
	}
	format := "raw"
	if def.Target != nil && def.Target.Format != nil && def.Target.Format.Type != "" {
		format = def.Target.Format.Type
	}
	switch format {
	case "raw", "qcow2":
	default:
		return libvirt.StorageVol{}, lverr(libvirt.ErrNoSupport, "this function is not supported by the connection driver: kvmtest volumes are raw or qcow2, not '%s'", format)
	}
	v := &volume{name: def.Name, path: path.Join(p.target(), def.Name), format: format, capacity: def.Capacity.Value * mult}
	if b := def.BackingStore; b != nil && b.Path != "" {
		if format != "qcow2" {
			return libvirt.StorageVol{}, errConfigUnsupported("backing storage not supported for raw volumes")
		}
		if !f.pathExists(b.Path) {
			return libvirt.StorageVol{}, errInternal("cannot access backing file '%s'", b.Path)
		}
		cp := *b
		v.backing = &cp
	}
	p.vols = append(p.vols, v)
	return p.volHandle(v), nil
}

// pathExists: a volume of some pool has this path, or the host has it.
func (f *Fake) pathExists(p string) bool {
	for _, pl := range f.pools {
		for _, v := range pl.vols {
			if v.path == p {
				return true
			}
		}
	}
	_, err := os.Stat(p)
	return err == nil
}

// StorageVolLookupByName finds a volume in an active pool.
func (c *Conn) StorageVolLookupByName(Pool libvirt.StoragePool, Name string) (libvirt.StorageVol, error) {
	if err := c.enter("StorageVolLookupByName"); err != nil {
		return libvirt.StorageVol{}, err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	p, err := c.f.lookupPool(Pool)
	if err != nil {
		return libvirt.StorageVol{}, err
	}
	if !p.active {
		return libvirt.StorageVol{}, errPoolInactive(p.name)
	}
	for _, v := range p.vols {
		if v.name == Name {
			return p.volHandle(v), nil
		}
	}
	return libvirt.StorageVol{}, errNoVolName(Name)
}

// StorageVolGetPath is <pool target>/<name>.
func (c *Conn) StorageVolGetPath(Vol libvirt.StorageVol) (string, error) {
	if err := c.enter("StorageVolGetPath"); err != nil {
		return "", err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	_, v, err := c.f.lookupVol(Vol)
	if err != nil {
		return "", err
	}
	return v.path, nil
}

// StorageVolGetXMLDesc describes a volume (allocation = bytes written).
func (c *Conn) StorageVolGetXMLDesc(Vol libvirt.StorageVol, Flags uint32) (string, error) {
	if err := c.enter("StorageVolGetXMLDesc"); err != nil {
		return "", err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	_, v, err := c.f.lookupVol(Vol)
	if err != nil {
		return "", err
	}
	def := libvirtxml.StorageVolume{
		Type:       "file",
		Name:       v.name,
		Key:        v.path,
		Capacity:   &libvirtxml.StorageVolumeSize{Unit: "bytes", Value: v.capacity},
		Allocation: &libvirtxml.StorageVolumeSize{Unit: "bytes", Value: uint64(len(v.data))},
		Physical:   &libvirtxml.StorageVolumeSize{Unit: "bytes", Value: uint64(len(v.data))},
		Target:     &libvirtxml.StorageVolumeTarget{Path: v.path, Format: &libvirtxml.StorageVolumeTargetFormat{Type: v.format}},
	}
	if v.backing != nil {
		b := *v.backing
		def.BackingStore = &b
	}
	s, err := def.Marshal()
	if err != nil {
		return "", errInternal("failed to format volume XML: %v", err)
	}
	return s + "\n", nil
}

// StorageVolUpload writes what outStream yields at Offset (Length 0: until
// EOF). Like a raw file, the volume grows when the data runs past its end.
func (c *Conn) StorageVolUpload(Vol libvirt.StorageVol, outStream io.Reader, Offset uint64, Length uint64, Flags libvirt.StorageVolUploadFlags) error {
	if err := c.enter("StorageVolUpload"); err != nil {
		return err
	}
	// Read outside the lock: the reader may be slow (go-libvirt streams it).
	c.f.mu.Lock()
	_, _, err := c.f.lookupVol(Vol)
	c.f.mu.Unlock()
	if err != nil {
		return err
	}
	r := outStream
	if Length > 0 {
		r = io.LimitReader(outStream, int64(Length))
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	select {
	case <-c.done:
		return libvirt.ErrInterrupted
	default:
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	_, v, err := c.f.lookupVol(Vol)
	if err != nil {
		return err
	}
	end := Offset + uint64(len(data))
	if uint64(len(v.data)) < end {
		v.data = append(v.data, make([]byte, end-uint64(len(v.data)))...)
	}
	copy(v.data[Offset:], data)
	if end > v.capacity {
		v.capacity = end
	}
	return nil
}

// StorageVolDelete removes a volume and its content.
func (c *Conn) StorageVolDelete(Vol libvirt.StorageVol, Flags libvirt.StorageVolDeleteFlags) error {
	if err := c.enter("StorageVolDelete"); err != nil {
		return err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	p, v, err := c.f.lookupVol(Vol)
	if err != nil {
		return err
	}
	for i, x := range p.vols {
		if x == v {
			p.vols = append(p.vols[:i], p.vols[i+1:]...)
			break
		}
	}
	return nil
}

// VolumeBytes returns a copy of what was uploaded to the volume at path
// (its key), so tests can check uploads; ok is false when there is none.
func (f *Fake) VolumeBytes(volPath string) (data []byte, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.pools {
		for _, v := range p.vols {
			if v.path == volPath {
				return append([]byte(nil), v.data...), true
			}
		}
	}
	return nil, false
}
