package ignition

import (
	"fmt"
	"regexp"
)

// Hostname writes /etc/hostname (0644). Set it explicitly: nodes left to
// reverse DNS have come up as "localhost" or "fedora" and had to be
// reprovisioned (okd Guides/UPI/baremetal/node-hostname-resolution.md).
type Hostname struct {
	Name string `json:"name"` // usually the FQDN matching the node's A/PTR records
}

var labelRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Validate checks RFC 1123 labels, lower case, and the kernel's 64-byte
// HOST_NAME_MAX.
func (h Hostname) Validate() error {
	if err := checkDNSName("name", h.Name); err != nil {
		return err
	}
	if len(h.Name) > 64 {
		return fmt.Errorf("%w: name %q: %d bytes, the kernel allows 64 (HOST_NAME_MAX)", ErrBadPatch, h.Name, len(h.Name))
	}
	return nil
}

func checkDNSName(field, name string) error {
	if name == "" || len(name) > 253 {
		return fmt.Errorf("%w: %s %q: must be a DNS name of 1-253 bytes", ErrBadPatch, field, name)
	}
	start := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			if !labelRE.MatchString(name[start:i]) {
				return fmt.Errorf("%w: %s %q: label %q is not a lower-case RFC 1123 label", ErrBadPatch, field, name, name[start:i])
			}
			start = i + 1
		}
	}
	return nil
}

func (h Hostname) apply(e *editor) error {
	return e.putFile(fileEntry{path: "/etc/hostname", mode: 0o644, contents: []byte(h.Name + "\n")})
}
