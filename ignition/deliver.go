package ignition

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Delivery on x86_64 is QEMU fw_cfg: Ignition's qemu provider reads
// /sys/firmware/qemu_fw_cfg/by_name/opt/com.coreos/config/raw. libvirt
// (≥ 6.5) exposes fw_cfg as
//
//	<sysinfo type='fwcfg'>
//	  <entry name='opt/com.coreos/config'>{"ignition":…}</entry>        (inline)
//	  <entry name='opt/com.coreos/config' file='/path/node.ign'/>      (file)
//	</sysinfo>
//
// Limits, and where they come from:
//
//   - Inline values end up on QEMU's command line as one argument
//     (-fw_cfg name=…,string=<value>, with every ',' doubled). Linux caps a
//     single argv string at MAX_ARG_STRLEN = 32 pages = 128 KiB, and the
//     value also sits in the domain XML that anyone with read access to
//     libvirt can dump. MaxInline is half the kernel limit, counted after
//     comma doubling: conservative, and far above any pointer config.
//     Inline values must be valid XML 1.0 text (no NUL or other C0 controls
//     except tab/newline/CR); JSON written by encoding/json always is.
//   - File entries: QEMU reads the whole file into memory and fw_cfg sizes
//     are 32-bit, but the real limit is the guest: Ignition reads the sysfs
//     blob, and the qemu_fw_cfg driver takes O(offset) time per read(), so
//     reading is quadratic; Ignition warns after 10 s and suggests moving
//     large files to a remote URL (ignition internal/providers/qemu,
//     coreos/ignition#1259). A 300 KB bootstrap.ign is routine for OKD UPI
//     on libvirt; MaxFile (8 MiB) leaves room for large bootstrap configs
//     while refusing sizes that would stall first boot. WithMaxFileSize
//     raises it (up to 4 GiB−1, the fw_cfg size field).
//   - fw_cfg file names are at most 55 bytes (FW_CFG_MAX_FILE_PATH 56 with
//     the NUL); FwCfgName is 21.
//   - QEMU must be able to read the file: under qemu:///system that is the
//     qemu user and the svirt SELinux label. The file is written 0600
//     (bootstrap.ign holds private keys), so the caller arranges ownership
//     or labelling (libvirt's dynamic_ownership, or a chown) for the domain.

// FwCfgName is the fw_cfg entry Ignition reads its config from.
const FwCfgName = "opt/com.coreos/config"

const (
	// MaxInline bounds an inline fw_cfg value, counted after libvirt
	// doubles each ',' for QEMU's command line.
	MaxInline = 64 << 10
	// MaxFile is the default bound on a config delivered as a file.
	MaxFile = 8 << 20
	// maxFwCfg is the fw_cfg 32-bit size field.
	maxFwCfg = 1<<32 - 1
)

// Delivery tells kvm how to hand a config to a domain: exactly one of
// Inline and File is set.
type Delivery struct {
	Name   string `json:"name"`             // fw_cfg entry name, FwCfgName
	Inline string `json:"inline,omitempty"` // <entry name=…>Inline</entry>
	File   string `json:"file,omitempty"`   // <entry name=… file=File/>
	Size   int    `json:"size"`             // config bytes
}

// Validate checks the shape and the limits.
func (d Delivery) Validate() error {
	if d.Name != FwCfgName {
		return fmt.Errorf("%w: delivery name %q: want %q", ErrBadPatch, d.Name, FwCfgName)
	}
	switch {
	case (d.Inline == "") == (d.File == ""):
		return fmt.Errorf("%w: delivery: exactly one of inline and file must be set", ErrBadPatch)
	case d.Inline != "" && InlineSize([]byte(d.Inline)) > MaxInline:
		return fmt.Errorf("%w: inline delivery is %d bytes after comma escaping, limit %d", ErrTooLarge, InlineSize([]byte(d.Inline)), MaxInline)
	case d.File != "" && !filepath.IsAbs(d.File):
		return fmt.Errorf("%w: delivery file %q: must be absolute (QEMU resolves it, not us)", ErrBadPatch, d.File)
	}
	return nil
}

// InlineSize is the length of cfg on QEMU's command line (',' doubled).
func InlineSize(cfg []byte) int { return len(cfg) + bytes.Count(cfg, []byte(",")) }

// DeliverOption tunes Deliver.
type DeliverOption func(*deliverOptions)

type deliverOptions struct {
	noInline bool
	maxFile  int64
}

// ForceFile writes a file even when the config would fit inline (keep it
// out of the domain XML).
func ForceFile() DeliverOption { return func(o *deliverOptions) { o.noInline = true } }

// WithMaxFileSize overrides MaxFile (capped at the fw_cfg 4 GiB−1 limit).
func WithMaxFileSize(n int64) DeliverOption { return func(o *deliverOptions) { o.maxFile = n } }

// Deliver picks inline or file by size. Small configs (node pointer
// configs, ~2 KB) go inline; larger ones are written atomically to path
// with mode 0600. path may be empty only when the config fits inline.
// cfg must be a JSON document (Deliver does not re-validate Ignition).
func Deliver(ctx context.Context, cfg []byte, path string, opts ...DeliverOption) (Delivery, error) {
	o := deliverOptions{maxFile: MaxFile}
	for _, f := range opts {
		f(&o)
	}
	if o.maxFile <= 0 || o.maxFile > maxFwCfg {
		return Delivery{}, fmt.Errorf("%w: max file size %d: want 1..%d", ErrBadPatch, o.maxFile, int64(maxFwCfg))
	}
	if err := ctx.Err(); err != nil {
		return Delivery{}, err
	}
	if len(cfg) == 0 || !json.Valid(cfg) {
		return Delivery{}, fmt.Errorf("%w: config to deliver is not a JSON document", ErrMalformed)
	}
	d := Delivery{Name: FwCfgName, Size: len(cfg)}
	if !o.noInline && InlineSize(cfg) <= MaxInline && xmlSafe(cfg) {
		d.Inline = string(cfg)
		return d, nil
	}
	if int64(len(cfg)) > o.maxFile {
		return Delivery{}, fmt.Errorf("%w: %d bytes, fw_cfg file limit %d (serve large files from a URL instead)", ErrTooLarge, len(cfg), o.maxFile)
	}
	if path == "" {
		return Delivery{}, fmt.Errorf("%w: %d bytes do not fit inline (limit %d) and no file path was given", ErrTooLarge, InlineSize(cfg), MaxInline)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return Delivery{}, fmt.Errorf("ignition: delivery path %q: %w", path, err)
	}
	if err := WriteFileAtomic(ctx, abs, cfg, 0o600); err != nil {
		return Delivery{}, err
	}
	d.File = abs
	return d, nil
}

// xmlSafe reports whether b can be XML 1.0 character data.
func xmlSafe(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// WriteFileAtomic writes data to path via a temp file in the same
// directory, fsync and rename, so a reader (QEMU) sees the old file or the
// new one, never a torn one. The temp file is created with mode perm
// before any data is written, so secrets are never briefly world-readable.
func WriteFileAtomic(ctx context.Context, path string, data []byte, perm os.FileMode) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("ignition: write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("ignition: write %s: %w", path, err)
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("ignition: write %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("ignition: write %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("ignition: write %s: %w", path, err)
	}
	if err = ctx.Err(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("ignition: write %s: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
