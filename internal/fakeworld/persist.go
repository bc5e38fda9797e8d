package fakeworld

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	libvirt "github.com/digitalocean/go-libvirt"

	"github.com/okvm/okvm/kvm"
)

// Snapshot is a libvirt daemon's persistent state, read and replayed
// through the kvm.Libvirt seam only: what /etc/libvirt holds for a real
// libvirtd, plus which objects were running. The in-memory fake dies with
// its process; saving a Snapshot after every lifecycle step and replaying it
// at start gives the fake example the persistence a real daemon has, so
// Ctrl-C and rerun (or a SIGKILL) resume against the same "hypervisor".
// Volume contents are not kept, only the volumes (their XML).
type Snapshot struct {
	Pools    []Object `json:"pools"`
	Volumes  []Volume `json:"volumes"`
	Networks []Object `json:"networks"`
	Domains  []Object `json:"domains"`
}

// Object is one libvirt object's XML and whether it was active.
type Object struct {
	XML    string `json:"xml"`
	Active bool   `json:"active"`
}

// Volume is a volume's XML in its pool.
type Volume struct {
	Pool string `json:"pool"`
	XML  string `json:"xml"`
}

// needAll is the NeedResults of libvirt's list calls: libvirtd reads it
// as a flag (non-zero: return the objects), kvmtest as a limit, so 1 would
// keep one domain of many in the fake. kvm sends the same value.
const needAll = math.MaxInt32

// Save reads the daemon's state through conn.
func Save(conn kvm.Libvirt) (*Snapshot, error) {
	var s Snapshot
	pools, _, err := conn.ConnectListAllStoragePools(needAll, 0)
	if err != nil {
		return nil, err
	}
	for _, p := range pools {
		x, err := conn.StoragePoolGetXMLDesc(p, libvirt.StorageXMLInactive)
		if err != nil {
			return nil, err
		}
		act, err := conn.StoragePoolIsActive(p)
		if err != nil {
			return nil, err
		}
		s.Pools = append(s.Pools, Object{XML: x, Active: act != 0})
		vols, _, err := conn.StoragePoolListAllVolumes(p, needAll, 0)
		if err != nil {
			return nil, err
		}
		// Base images before the overlays that name them.
		slices.SortStableFunc(vols, func(a, b libvirt.StorageVol) int { return overlayRank(conn, a) - overlayRank(conn, b) })
		for _, v := range vols {
			vx, err := conn.StorageVolGetXMLDesc(v, 0)
			if err != nil {
				return nil, err
			}
			s.Volumes = append(s.Volumes, Volume{Pool: p.Name, XML: vx})
		}
	}
	nets, _, err := conn.ConnectListAllNetworks(needAll, 0)
	if err != nil {
		return nil, err
	}
	for _, n := range nets {
		x, err := conn.NetworkGetXMLDesc(n, uint32(libvirt.NetworkXMLInactive))
		if err != nil {
			return nil, err
		}
		act, err := conn.NetworkIsActive(n)
		if err != nil {
			return nil, err
		}
		s.Networks = append(s.Networks, Object{XML: x, Active: act != 0})
	}
	doms, _, err := conn.ConnectListAllDomains(needAll, 0)
	if err != nil {
		return nil, err
	}
	for _, d := range doms {
		x, err := conn.DomainGetXMLDesc(d, libvirt.DomainXMLInactive)
		if err != nil {
			return nil, err
		}
		st, _, err := conn.DomainGetState(d, 0)
		if err != nil {
			return nil, err
		}
		s.Domains = append(s.Domains, Object{XML: x, Active: libvirt.DomainState(st) == libvirt.DomainRunning})
	}
	return &s, nil
}

func overlayRank(conn kvm.Libvirt, v libvirt.StorageVol) int {
	x, err := conn.StorageVolGetXMLDesc(v, 0)
	if err != nil {
		return 0
	}
	if strings.Contains(x, "<backingStore>") {
		return 1
	}
	return 0
}

// Restore replays a snapshot into an empty daemon through conn.
func Restore(conn kvm.Libvirt, s *Snapshot) error {
	for _, p := range s.Pools {
		pool, err := conn.StoragePoolDefineXML(p.XML, 0)
		if err != nil {
			return fmt.Errorf("fakeworld: restore pool: %w", err)
		}
		// Build is what creates a dir pool's directory; it may exist already.
		_ = conn.StoragePoolBuild(pool, 0)
		if p.Active {
			if err := conn.StoragePoolCreate(pool, 0); err != nil {
				return fmt.Errorf("fakeworld: restore pool: %w", err)
			}
		}
	}
	for _, v := range s.Volumes {
		pool, err := conn.StoragePoolLookupByName(v.Pool)
		if err != nil {
			return err
		}
		if _, err := conn.StorageVolCreateXML(pool, v.XML, 0); err != nil {
			return fmt.Errorf("fakeworld: restore volume: %w", err)
		}
	}
	for _, n := range s.Networks {
		net, err := conn.NetworkDefineXML(n.XML)
		if err != nil {
			return fmt.Errorf("fakeworld: restore network: %w", err)
		}
		if n.Active {
			if err := conn.NetworkCreate(net); err != nil {
				return fmt.Errorf("fakeworld: restore network: %w", err)
			}
		}
	}
	for _, d := range s.Domains {
		dom, err := conn.DomainDefineXMLFlags(d.XML, 0)
		if err != nil {
			return fmt.Errorf("fakeworld: restore domain: %w", err)
		}
		if d.Active {
			if err := conn.DomainCreate(dom); err != nil {
				return fmt.Errorf("fakeworld: restore domain: %w", err)
			}
		}
	}
	return nil
}

// SaveFile writes the snapshot of conn's daemon to path atomically.
func SaveFile(conn kvm.Libvirt, path string) error {
	s, err := Save(conn)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// RestoreFile replays path into conn's daemon; a missing file is a fresh
// daemon.
func RestoreFile(conn kvm.Libvirt, path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var s Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("fakeworld: %s: %w", path, err)
	}
	return Restore(conn, &s)
}
