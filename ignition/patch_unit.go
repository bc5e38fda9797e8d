package ignition

import (
	"fmt"
	"slices"
	"strings"

	t35 "github.com/coreos/ignition/v2/config/v3_5/types"
)

// Unit adds a systemd unit, or drop-ins to one. With empty Contents only
// the drop-ins (and Enabled/Mask, when set) are applied, so a unit the
// image ships (kubelet.service, say) can be extended.
type Unit struct {
	Name     string   `json:"name"` // e.g. "okvm-report.service"
	Contents string   `json:"contents,omitempty"`
	Enabled  *bool    `json:"enabled,omitempty"`
	Mask     bool     `json:"mask,omitempty"`
	Dropins  []Dropin `json:"dropins,omitempty"`
}

// Dropin is /etc/systemd/system/<unit>.d/<Name>.
type Dropin struct {
	Name     string `json:"name"` // must end in ".conf"
	Contents string `json:"contents"`
}

var unitSuffixes = []string{".service", ".socket", ".device", ".mount", ".automount", ".swap", ".target", ".path", ".timer", ".slice", ".scope"}

// Validate checks the unit and drop-in names.
func (u Unit) Validate() error {
	if u.Name == "" || strings.ContainsAny(u.Name, "/ \t\n") || !slices.ContainsFunc(unitSuffixes, func(s string) bool {
		return strings.HasSuffix(u.Name, s) && len(u.Name) > len(s)
	}) {
		return fmt.Errorf("%w: name %q: want a systemd unit name like foo.service", ErrBadPatch, u.Name)
	}
	if u.Contents == "" && len(u.Dropins) == 0 && u.Enabled == nil && !u.Mask {
		return fmt.Errorf("%w: unit %s: nothing to do (no contents, drop-ins, enabled or mask)", ErrBadPatch, u.Name)
	}
	seen := map[string]bool{}
	for i, d := range u.Dropins {
		if !strings.HasSuffix(d.Name, ".conf") || len(d.Name) <= 5 || strings.ContainsAny(d.Name, "/ \t\n") {
			return fmt.Errorf("%w: unit %s dropins[%d] name %q: want a file name ending in .conf", ErrBadPatch, u.Name, i, d.Name)
		}
		if seen[d.Name] {
			return fmt.Errorf("%w: unit %s dropins[%d] name %q: duplicate", ErrBadPatch, u.Name, i, d.Name)
		}
		seen[d.Name] = true
	}
	return nil
}

func (u Unit) apply(e *editor) error {
	units := e.cfg.Systemd.Units
	i := slices.IndexFunc(units, func(x t35.Unit) bool { return x.Name == u.Name })
	if i < 0 {
		units = append(units, t35.Unit{Name: u.Name})
		i = len(units) - 1
	}
	cur := units[i]
	where := fmt.Sprintf("$.systemd.units[%d] (%s)", i, u.Name)
	if u.Contents != "" {
		if cur.Contents != nil && *cur.Contents != u.Contents && !e.overwrite {
			return fmt.Errorf("%w: %s already has different contents", ErrConflict, where)
		}
		cur.Contents = strPtr(u.Contents)
	}
	if u.Enabled != nil {
		if cur.Enabled != nil && *cur.Enabled != *u.Enabled && !e.overwrite {
			return fmt.Errorf("%w: %s.enabled is already %v", ErrConflict, where, *cur.Enabled)
		}
		cur.Enabled = boolPtr(*u.Enabled)
	}
	if u.Mask {
		cur.Mask = boolPtr(true)
	}
	dropins := slices.Clone(cur.Dropins)
	for _, d := range u.Dropins {
		j := slices.IndexFunc(dropins, func(x t35.Dropin) bool { return x.Name == d.Name })
		if j < 0 {
			dropins = append(dropins, t35.Dropin{Name: d.Name, Contents: strPtr(d.Contents)})
			continue
		}
		if deref(dropins[j].Contents) != d.Contents && !e.overwrite {
			return fmt.Errorf("%w: %s.dropins[%d] (%s) already has different contents", ErrConflict, where, j, d.Name)
		}
		dropins[j].Contents = strPtr(d.Contents)
	}
	cur.Dropins = dropins
	units[i] = cur
	e.cfg.Systemd.Units = units
	return nil
}
