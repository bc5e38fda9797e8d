package ignition

import (
	"bytes"
	"fmt"
	"path"
	"slices"

	t35 "github.com/coreos/ignition/v2/config/v3_5/types"
)

// Patch is one per-node change. Patches are plain structs (Hostname,
// Network, SSHKeys, File, Unit, KernelArguments, TrustedCA) and compose:
// Apply runs them in order against the same config.
//
// A patch that would change something the config already has (same path,
// different contents or mode; same unit, different contents) fails with
// ErrConflict naming the path, unless wrapped in Overwrite. The same path
// with the same contents is a no-op. No patch touches ignition.config
// (merge/replace) or ignition.security: a pointer config keeps its source
// and CA exactly as openshift-install wrote them.
type Patch interface {
	// Validate checks the patch's own fields; Apply calls it first.
	Validate() error
	apply(e *editor) error
}

// Overwrite lets p replace conflicting entries instead of failing.
func Overwrite(p Patch) Patch { return overwrite{p} }

type overwrite struct{ Patch }

func (o overwrite) apply(e *editor) error {
	prev := e.overwrite
	e.overwrite = true
	defer func() { e.overwrite = prev }()
	return o.Patch.apply(e)
}

// editor holds a working copy of the slices patches change. Slices are
// cloned before any write, so a failed Apply leaves the Config untouched.
type editor struct {
	cfg       t35.Config
	overwrite bool
	files     map[string]int // path -> index in cfg.Storage.Files
	touched   map[string]bool
}

// Apply validates and applies patches in order. It is all-or-nothing: on
// error the config is unchanged.
func (c *Config) Apply(patches ...Patch) error {
	e := &editor{cfg: c.cfg, touched: map[string]bool{}}
	st := &e.cfg.Storage
	st.Files = slices.Clone(st.Files)
	e.cfg.Systemd.Units = slices.Clone(e.cfg.Systemd.Units)
	e.cfg.Passwd.Users = slices.Clone(e.cfg.Passwd.Users)
	ka := &e.cfg.KernelArguments
	ka.ShouldExist = slices.Clone(ka.ShouldExist)
	ka.ShouldNotExist = slices.Clone(ka.ShouldNotExist)
	for i, p := range patches {
		if p == nil {
			return fmt.Errorf("%w: patch %d is nil", ErrBadPatch, i)
		}
		if err := p.Validate(); err != nil {
			return fmt.Errorf("patch %d (%T): %w", i, p, err)
		}
		if err := p.apply(e); err != nil {
			return fmt.Errorf("patch %d (%T): %w", i, p, err)
		}
	}
	c.cfg = e.cfg
	if c.touched == nil {
		c.touched = map[string]bool{}
	}
	for p := range e.touched {
		c.touched[p] = true
	}
	c.opts.log.Debug("ignition: applied patches", "count", len(patches))
	return nil
}

// PatchConfig is Parse + Apply + Marshal.
func PatchConfig(raw []byte, patches []Patch, opts ...Option) (*Result, error) {
	c, err := Parse(raw, opts...)
	if err != nil {
		return nil, err
	}
	if err := c.Apply(patches...); err != nil {
		return nil, err
	}
	return c.Marshal()
}

// fileEntry is a file as a patch wants it on the node.
type fileEntry struct {
	path     string
	mode     int
	contents []byte
	user     string
	group    string
	compress bool // gzip when large and it helps
}

func (e *editor) fileIndex() map[string]int {
	if e.files == nil {
		e.files = make(map[string]int, len(e.cfg.Storage.Files))
		for i, f := range e.cfg.Storage.Files {
			e.files[f.Path] = i
		}
	}
	return e.files
}

func strPtr(s string) *string { return &s }
func boolPtr(b bool) *bool    { return &b }
func intPtr(i int) *int       { return &i }
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// putFile adds f, or finds it already there (no-op), or reports a conflict.
func (e *editor) putFile(f fileEntry) error {
	for _, d := range e.cfg.Storage.Directories {
		if d.Path == f.path {
			return fmt.Errorf("%w: %s is a directory in the config", ErrConflict, f.path)
		}
	}
	for _, l := range e.cfg.Storage.Links {
		if l.Path == f.path {
			return fmt.Errorf("%w: %s is a link in the config", ErrConflict, f.path)
		}
	}
	entry := t35.File{
		Node: t35.Node{Path: f.path, Overwrite: boolPtr(true)},
		FileEmbedded1: t35.FileEmbedded1{
			Mode: intPtr(f.mode),
		},
	}
	if f.user != "" {
		entry.User.Name = strPtr(f.user)
	}
	if f.group != "" {
		entry.Group.Name = strPtr(f.group)
	}
	if f.compress && len(f.contents) > gzipThreshold {
		if z := gzipBytes(f.contents); len(z) < len(f.contents) {
			entry.Contents.Compression = strPtr("gzip")
			entry.Contents.Source = strPtr("data:;base64," + b64(z))
		}
	}
	if entry.Contents.Source == nil {
		entry.Contents.Source = strPtr(EncodeDataURL(f.contents))
	}

	e.touched[f.path] = true
	idx := e.fileIndex()
	i, exists := idx[f.path]
	if !exists {
		e.cfg.Storage.Files = append(e.cfg.Storage.Files, entry)
		idx[f.path] = len(e.cfg.Storage.Files) - 1
		return nil
	}
	old := e.cfg.Storage.Files[i]
	if same, why := sameFile(old, f); same {
		return nil
	} else if !e.overwrite {
		return fmt.Errorf("%w: $.storage.files[%d] %s already exists with different %s (wrap the patch in ignition.Overwrite to replace it)", ErrConflict, i, f.path, why)
	}
	e.cfg.Storage.Files[i] = entry // keep its position: stable output
	return nil
}

// sameFile reports whether an existing entry already delivers f, and if not
// what differs.
func sameFile(old t35.File, f fileEntry) (bool, string) {
	if len(old.Append) > 0 {
		return false, "contents (it appends)"
	}
	if old.Contents.Source == nil {
		return false, "contents (it has none)"
	}
	data, err := DecodeDataURL(*old.Contents.Source, deref(old.Contents.Compression))
	if err != nil {
		return false, "contents (not a data URL)"
	}
	if !bytes.Equal(data, f.contents) {
		return false, "contents"
	}
	mode := 0o644 // Ignition's default file mode
	if old.Mode != nil {
		mode = *old.Mode
	}
	if mode != f.mode {
		return false, fmt.Sprintf("mode (%#o, want %#o)", mode, f.mode)
	}
	if deref(old.User.Name) != f.user && !(f.user == "" && old.User.ID == nil && deref(old.User.Name) == "root") {
		return false, "owner"
	}
	if deref(old.Group.Name) != f.group && !(f.group == "" && old.Group.ID == nil && deref(old.Group.Name) == "root") {
		return false, "group"
	}
	return true, ""
}

// checkPath validates an absolute, clean file path.
func checkPath(field, p string) error {
	if p == "" || p[0] != '/' {
		return fmt.Errorf("%w: %s %q: must be an absolute path", ErrBadPatch, field, p)
	}
	if path.Clean(p) != p || p == "/" {
		return fmt.Errorf("%w: %s %q: must be a clean path naming a file", ErrBadPatch, field, p)
	}
	return nil
}
