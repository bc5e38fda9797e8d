package ignition

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	t35 "github.com/coreos/ignition/v2/config/v3_5/types"
)

// SSHKeys adds authorized keys for a user ("core" when User is empty).
// Keys already present are skipped; keys are additive, so they never
// conflict.
type SSHKeys struct {
	User string   `json:"user,omitempty"`
	Keys []string `json:"keys"`
}

var sshKeyTypes = []string{
	"ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
	"sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", "ssh-dss",
}

func (s SSHKeys) user() string {
	if s.User == "" {
		return "core"
	}
	return s.User
}

// Validate checks that every key is a single-line OpenSSH public key whose
// base64 blob decodes and names the same algorithm as its prefix.
func (s SSHKeys) Validate() error {
	if !nameRE.MatchString(s.user()) {
		return fmt.Errorf("%w: user %q: not a valid user name", ErrBadPatch, s.User)
	}
	if len(s.Keys) == 0 {
		return fmt.Errorf("%w: keys: empty", ErrBadPatch)
	}
	for i, k := range s.Keys {
		if err := checkSSHKey(k); err != nil {
			return fmt.Errorf("%w: keys[%d]: %v", ErrBadPatch, i, err)
		}
	}
	return nil
}

func checkSSHKey(k string) error {
	if strings.ContainsAny(k, "\r\n") {
		return fmt.Errorf("contains a line break")
	}
	f := strings.Fields(k)
	if len(f) < 2 {
		return fmt.Errorf("%.40q: want \"<type> <base64> [comment]\"", k)
	}
	if !slices.Contains(sshKeyTypes, f[0]) {
		return fmt.Errorf("key type %q: not an OpenSSH public key type", f[0])
	}
	blob, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil || len(blob) < 4 {
		return fmt.Errorf("%s key: base64 blob does not decode", f[0])
	}
	n := binary.BigEndian.Uint32(blob)
	if int(n) > len(blob)-4 || string(blob[4:4+n]) != f[0] {
		return fmt.Errorf("%s key: blob names a different key type", f[0])
	}
	return nil
}

func (s SSHKeys) apply(e *editor) error {
	users := e.cfg.Passwd.Users
	i := slices.IndexFunc(users, func(u t35.PasswdUser) bool { return u.Name == s.user() })
	if i < 0 {
		users = append(users, t35.PasswdUser{Name: s.user()})
		i = len(users) - 1
	}
	u := users[i]
	keys := slices.Clone(u.SSHAuthorizedKeys)
	for _, k := range s.Keys {
		k = strings.TrimSpace(k)
		if !slices.Contains(keys, t35.SSHAuthorizedKey(k)) {
			keys = append(keys, t35.SSHAuthorizedKey(k))
		}
	}
	u.SSHAuthorizedKeys = keys
	users[i] = u
	e.cfg.Passwd.Users = users
	return nil
}
