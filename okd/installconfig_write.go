package okd

import (
	"fmt"
	"os"
	"path/filepath"
)

// KeptInstallConfig is where WriteInstallConfig keeps its copy, relative to
// the install directory: `create manifests` consumes install-config.yaml,
// and a resumed or repeated install needs to know what was asked for.
const KeptInstallConfig = ".okvm/install-config.yaml"

// WriteInstallConfig validates ic and writes dir/install-config.yaml plus
// the copy at dir/.okvm/install-config.yaml, both atomically and 0600 (the
// file holds the pull secret). It returns the path of the first.
func WriteInstallConfig(dir string, ic *InstallConfig) (string, error) {
	if err := ic.Validate(); err != nil {
		return "", err
	}
	b, err := ic.Marshal()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, InstallConfigFile)
	if err := writeFileAtomic(filepath.Join(dir, KeptInstallConfig), b, 0o600); err != nil {
		return "", err
	}
	if err := writeFileAtomic(path, b, 0o600); err != nil {
		return "", err
	}
	return path, nil
}

// ReadKeptInstallConfig reads the copy WriteInstallConfig kept.
func ReadKeptInstallConfig(dir string) (*InstallConfig, error) {
	b, err := os.ReadFile(filepath.Join(dir, KeptInstallConfig))
	if err != nil {
		return nil, fmt.Errorf("okd: read kept install-config: %w", err)
	}
	return ParseInstallConfig(b)
}

// writeFileAtomic writes data to a temporary file in the target's
// directory, syncs it, and renames it over path, so readers (and a crash)
// see the old file or the new one, never half of one. The directory is
// created 0700 when missing: install directories hold secrets.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("okd: write %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("okd: write %s: %w", path, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// CreateTemp makes 0600; chmod before writing so a wider perm is never
	// applied to a file a secret is already in, and a narrower one holds.
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("okd: write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("okd: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("okd: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("okd: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("okd: write %s: %w", path, err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: make the rename durable
		d.Close()
	}
	return nil
}
