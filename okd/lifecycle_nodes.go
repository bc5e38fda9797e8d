package okd

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/okvm/okvm/ignition"
	"github.com/okvm/okvm/kvm"
)

// domainSpec is the VM of one node: a qcow2 overlay on the base image, one
// NIC on the cluster network with the planned MAC, Ignition by fw_cfg from
// the node's volume in the cluster pool, and labels to find it again.
func (l *Lifecycle) domainSpec(n *NodeState) kvm.DomainSpec {
	size := l.spec.Nodes.Worker
	switch n.Role {
	case RoleBootstrap:
		size = l.spec.Nodes.Bootstrap
	case RoleMaster:
		size = l.spec.Nodes.Master
	}
	return kvm.DomainSpec{
		Name:      n.Domain,
		MemoryMiB: uint(size.MemoryMiB),
		VCPUs:     uint(size.VCPUs),
		Type:      l.domainType,
		Disks: []kvm.DiskSpec{{
			Pool: l.pool, Volume: n.Domain + ".qcow2", BaseVolume: l.baseVolume(),
			SizeBytes: uint64(size.DiskGiB) << 30, BootOrder: 1,
		}},
		NICs:     []kvm.NICSpec{{Network: l.networkName(), MAC: n.MAC}},
		Ignition: &kvm.IgnitionSpec{File: filepath.Join(l.poolDir, n.Domain+".ign")},
		Labels:   l.labels(n),
	}
}

// defineNodes defines each node's VM, reads back where libvirt put its NIC
// to predict the interface name, and writes the node's Ignition: the role's
// config plus hostname and a NetworkManager keyfile bound to the MAC (so a
// wrong prediction cannot strand the node). Existing VMs with the same spec
// are left alone (kvm.Client.Define is idempotent).
func (l *Lifecycle) defineNodes(ctx context.Context, nodes []*NodeState) error {
	plan, err := l.plan()
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if n.Removed {
			continue
		}
		c, err := l.client(ctx, n.Hypervisor)
		if err != nil {
			return err
		}
		dom, err := c.Define(ctx, l.domainSpec(n))
		if err != nil {
			return err
		}
		if n.CreatedAt.IsZero() {
			l.stateMu.Lock()
			n.CreatedAt = l.now()
			l.stateMu.Unlock()
		}
		pred, err := kvm.PredictNames(dom, kvm.WithGuestOS(kvm.SCOS9))
		if err != nil {
			return fmt.Errorf("okd: %s: predict NIC name: %w", n.Domain, err)
		}
		iface := "nic0" // the keyfile matches by MAC; the name is only its id
		if len(pred.NICs) > 0 && pred.NICs[0].Name != "" {
			iface = pred.NICs[0].Name
		}
		l.stateMu.Lock()
		n.Interface = iface
		l.stateMu.Unlock()
		cfg, err := l.nodeIgnition(n, plan.Network.Bits())
		if err != nil {
			return err
		}
		path := filepath.Join(l.dir, "nodes", n.Name+".ign")
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		// 0600: the bootstrap config carries the cluster's private keys.
		if err := writeFileAtomic(path, cfg, 0o600); err != nil {
			return err
		}
		if err := c.DeleteVolume(ctx, l.pool, n.Domain+".ign"); err != nil && !errors.Is(err, kvm.ErrNotFound) {
			return err
		}
		if err := l.uploadVolume(ctx, c, n.Domain+".ign", "raw", bytesReader(cfg)); err != nil {
			return err
		}
		if err := l.saveState(); err != nil {
			return err
		}
		l.report(Progress{Step: StepControlPlane, Message: fmt.Sprintf("%s defined on %s: NIC %s (%s) → %s, Ignition %s", n.Domain, n.Hypervisor, n.MAC, iface, n.IP, path)})
	}
	return nil
}

// nodeIgnition patches the role's config for one node. Pointer configs keep
// their merge source and CA untouched (ignition guarantees it).
func (l *Lifecycle) nodeIgnition(n *NodeState, prefixBits int) ([]byte, error) {
	src := map[Role]string{RoleBootstrap: "bootstrap.ign", RoleMaster: "master.ign", RoleWorker: "worker.ign"}[n.Role]
	raw, err := os.ReadFile(filepath.Join(l.installDir(), src))
	if err != nil {
		return nil, fmt.Errorf("okd: %s: %w", src, err)
	}
	ps := l.state.Network
	net := ignition.Network{
		Interface:     n.Interface,
		MAC:           n.MAC,
		Address:       n.IP,
		Prefix:        prefixBits,
		Gateway:       ps.Gateway,
		DNS:           ps.DNSServers,
		SearchDomains: []string{l.spec.ClusterDomain()},
	}
	if len(net.DNS) == 0 {
		net.DNS = append(net.DNS, ps.Gateway)
	}
	patches := []ignition.Patch{ignition.Hostname{Name: n.FQDN}, net}
	if key := strings.TrimSpace(l.spec.SSHKey); key != "" {
		patches = append(patches, ignition.SSHKeys{Keys: []string{key}})
	}
	res, err := ignition.PatchConfig(raw, patches)
	if err != nil {
		return nil, fmt.Errorf("okd: %s Ignition: %w", n.Name, err)
	}
	return res.JSON, nil
}

// startNodes starts each node that is not running yet.
func (l *Lifecycle) startNodes(ctx context.Context, nodes []*NodeState) error {
	for _, n := range nodes {
		if n.Removed {
			continue
		}
		c, err := l.client(ctx, n.Hypervisor)
		if err != nil {
			return err
		}
		st, err := c.State(ctx, n.Domain)
		if err != nil {
			return err
		}
		if st != kvm.StateRunning {
			if err := c.Start(ctx, n.Domain); err != nil {
				return err
			}
		}
		l.stateMu.Lock()
		n.Started = true
		l.stateMu.Unlock()
		if err := l.saveState(); err != nil {
			return err
		}
		l.report(Progress{Step: StepStartControlPlane, Message: n.Domain + " running"})
	}
	return nil
}

// sizedReader is an image or config to upload.
type sizedReader interface {
	io.ReadSeeker
	Size() int64
}

type sizedBytes struct{ *bytes.Reader }

func bytesReader(b []byte) sizedReader { return sizedBytes{bytes.NewReader(b)} }

type sizedFile struct {
	*os.File
	size int64
}

func (f sizedFile) Size() int64 { return f.size }

// openBootImage returns the CoreOS qcow2 to upload as the base volume:
// a local file (checked against SHA256 when given), or the artifact of a
// stream file or URL, downloaded into <dir>/cache and checked. Compressed
// images (.gz, .xz) are unpacked into the cache once.
func (l *Lifecycle) openBootImage() (interface {
	sizedReader
	io.Closer
}, error) {
	bi := l.spec.BootImage
	ctx := context.Background()
	cache := filepath.Join(l.dir, "cache")
	path := bi.Path
	switch {
	case path != "":
		if bi.SHA256 != "" {
			if err := VerifyFile(ctx, path, bi.SHA256); err != nil {
				return nil, err
			}
		}
	case bi.URL != "" || bi.StreamFile != "":
		a := Artifact{Location: bi.URL, Sha256: bi.SHA256}
		if bi.StreamFile != "" {
			f, err := os.Open(bi.StreamFile)
			if err != nil {
				return nil, fmt.Errorf("okd: bootImage.streamFile: %w", err)
			}
			st, err := ParseStream(f)
			f.Close()
			if err != nil {
				return nil, err
			}
			d, err := st.QEMUDisk(bi.Arch)
			if err != nil {
				return nil, err
			}
			a = d.Artifact
		}
		p, err := FetchArtifact(ctx, nil, a, cache)
		if err != nil {
			return nil, err
		}
		path = p
	default:
		return nil, fmt.Errorf("okd: %w: bootImage: set path, url+sha256 or streamFile", ErrInvalid)
	}
	path, err := decompressImage(path, cache)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("okd: boot image: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return sizedFile{f, fi.Size()}, nil
}

// decompressImage unpacks path.gz / path.xz into cache (once) and returns
// the plain image; other files are returned as they are.
func decompressImage(path, cache string) (string, error) {
	var kind string
	switch {
	case strings.HasSuffix(path, ".gz"):
		kind = "gz"
	case strings.HasSuffix(path, ".xz"):
		kind = "xz"
	default:
		return path, nil
	}
	out := filepath.Join(cache, strings.TrimSuffix(filepath.Base(path), "."+kind))
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(cache, ".unpack-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	in, err := os.Open(path)
	if err != nil {
		tmp.Close()
		return "", err
	}
	defer in.Close()
	switch kind {
	case "gz":
		zr, err := gzip.NewReader(in)
		if err == nil {
			_, err = io.Copy(tmp, zr)
		}
		if err != nil {
			tmp.Close()
			return "", fmt.Errorf("okd: unpack %s: %w", path, err)
		}
	case "xz":
		// No xz decoder in the standard library; Debian always has xz-utils.
		cmd := exec.Command("xz", "-dc")
		cmd.Stdin, cmd.Stdout = in, tmp
		if err := cmd.Run(); err != nil {
			tmp.Close()
			return "", fmt.Errorf("okd: unpack %s with xz: %w", path, err)
		}
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return out, os.Rename(tmp.Name(), out)
}
