package ignition

import (
	"fmt"
	"regexp"
)

// File writes an arbitrary file. Contents travel as a data URL; contents
// larger than 4 KiB are gzipped when that makes them smaller.
type File struct {
	Path     string `json:"path"`
	Mode     int    `json:"mode,omitempty"` // permission bits; 0 means 0644
	Contents []byte `json:"contents"`
	User     string `json:"user,omitempty"`  // owner name; empty = root
	Group    string `json:"group,omitempty"` // group name; empty = root
	// NoCompress keeps large contents uncompressed.
	NoCompress bool `json:"noCompress,omitempty"`
}

var nameRE = regexp.MustCompile(`^[a-z_][a-z0-9_.-]*\$?$`)

// Validate checks the path, the mode and the owner names.
func (f File) Validate() error {
	if err := checkPath("path", f.Path); err != nil {
		return err
	}
	// Special bits (setuid/setgid/sticky) are only honoured by spec 3.6+.
	if f.Mode < 0 || f.Mode&^0o777 != 0 {
		return fmt.Errorf("%w: mode %#o for %s: only permission bits 0000-0777 are allowed", ErrBadPatch, f.Mode, f.Path)
	}
	for _, u := range []struct{ field, v string }{{"user", f.User}, {"group", f.Group}} {
		if u.v != "" && !nameRE.MatchString(u.v) {
			return fmt.Errorf("%w: %s %q for %s: not a valid user/group name", ErrBadPatch, u.field, u.v, f.Path)
		}
	}
	return nil
}

func (f File) mode() int {
	if f.Mode == 0 {
		return 0o644
	}
	return f.Mode
}

func (f File) apply(e *editor) error {
	return e.putFile(fileEntry{path: f.Path, mode: f.mode(), contents: f.Contents,
		user: f.User, group: f.Group, compress: !f.NoCompress})
}
