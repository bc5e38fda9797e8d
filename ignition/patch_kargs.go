package ignition

import (
	"fmt"
	"slices"
	"strings"

	t35 "github.com/coreos/ignition/v2/config/v3_5/types"
)

// KernelArguments adds and removes kernel arguments. They exist only in
// spec 3.3 and later: a 3.2 config (what openshift-install writes) that gets
// this patch is translated to 3.3, and Result.TranslatedFrom says so.
type KernelArguments struct {
	Add    []string `json:"add,omitempty"`    // shouldExist
	Remove []string `json:"remove,omitempty"` // shouldNotExist
}

// Validate rejects empty arguments and arguments with whitespace.
func (k KernelArguments) Validate() error {
	if len(k.Add)+len(k.Remove) == 0 {
		return fmt.Errorf("%w: kernel arguments: nothing to add or remove", ErrBadPatch)
	}
	for _, l := range []struct {
		field string
		list  []string
	}{{"add", k.Add}, {"remove", k.Remove}} {
		for i, a := range l.list {
			if a == "" || strings.ContainsAny(a, " \t\n") {
				return fmt.Errorf("%w: %s[%d] %q: a kernel argument is one non-empty word", ErrBadPatch, l.field, i, a)
			}
		}
	}
	for _, a := range k.Add {
		if slices.Contains(k.Remove, a) {
			return fmt.Errorf("%w: %q is both added and removed", ErrBadPatch, a)
		}
	}
	return nil
}

func (k KernelArguments) apply(e *editor) error {
	ka := &e.cfg.KernelArguments
	if err := moveArgs(&ka.ShouldExist, &ka.ShouldNotExist, k.Add, "shouldNotExist", e.overwrite); err != nil {
		return err
	}
	return moveArgs(&ka.ShouldNotExist, &ka.ShouldExist, k.Remove, "shouldExist", e.overwrite)
}

// moveArgs adds args to *to; an arg on the opposite list is a conflict
// unless overwriting, in which case it moves.
func moveArgs(to, from *[]t35.KernelArgument, args []string, fromName string, overwrite bool) error {
	for _, a := range args {
		ka := t35.KernelArgument(a)
		if j := slices.Index(*from, ka); j >= 0 {
			if !overwrite {
				return fmt.Errorf("%w: $.kernelArguments.%s[%d] already lists %q", ErrConflict, fromName, j, a)
			}
			*from = slices.Delete(slices.Clone(*from), j, j+1)
		}
		if !slices.Contains(*to, ka) {
			*to = append(*to, ka)
		}
	}
	return nil
}
