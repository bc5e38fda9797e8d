package okd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// FetchArtifact downloads a to destDir (named after the URL's last path
// element) unless a file there already has the right sha256, and returns
// its path. The sha256 of the compressed file is checked while streaming;
// the file appears under its final name only when it matches (temp +
// rename), so an interrupted download never passes for a good one. client
// nil means http.DefaultClient; the request honours ctx (stream-metadata-go's
// own Fetch does not).
func FetchArtifact(ctx context.Context, client *http.Client, a Artifact, destDir string) (string, error) {
	if !isHex(strings.ToLower(a.Sha256), 64) {
		return "", fmt.Errorf("okd: fetch %s: %w: artifact sha256 %q is not 64 hex digits", a.Location, ErrInvalid, a.Sha256)
	}
	u, err := url.Parse(a.Location)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("okd: fetch: %w: location %q is not an http(s) URL", ErrInvalid, redactURL(a.Location))
	}
	name := path.Base(u.Path)
	if name == "" || name == "/" || name == "." {
		return "", fmt.Errorf("okd: fetch: %w: location %q has no file name", ErrInvalid, redactURL(a.Location))
	}
	dest := filepath.Join(destDir, name)
	if err := VerifyFile(ctx, dest, a.Sha256); err == nil {
		return dest, nil // cached
	}
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.Location, nil)
	if err != nil {
		return "", fmt.Errorf("okd: fetch %s: %w", name, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("okd: fetch %s: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("okd: fetch %s: HTTP %s", name, resp.Status)
	}
	if err := os.MkdirAll(destDir, 0o755); err != nil {
		return "", fmt.Errorf("okd: fetch %s: %w", name, err)
	}
	f, err := os.CreateTemp(destDir, "."+name+".part-*")
	if err != nil {
		return "", fmt.Errorf("okd: fetch %s: %w", name, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	h := sha256.New()
	_, cerr := io.Copy(io.MultiWriter(f, h), ctxReader{ctx, resp.Body})
	if err := f.Close(); cerr == nil {
		cerr = err
	}
	if cerr != nil {
		return "", fmt.Errorf("okd: fetch %s: %w", name, cerr)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, a.Sha256) {
		return "", fmt.Errorf("okd: fetch %s: %w: sha256 %s, stream says %s", name, ErrChecksum, got, a.Sha256)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return "", fmt.Errorf("okd: fetch %s: %w", name, err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		return "", fmt.Errorf("okd: fetch %s: %w", name, err)
	}
	return dest, nil
}

// VerifyFile checks a local file's sha256 (for a boot image, the
// compressed file's, as the stream lists it). ErrChecksum on mismatch.
func VerifyFile(ctx context.Context, file, sha string) error {
	if !isHex(strings.ToLower(sha), 64) {
		return fmt.Errorf("okd: verify %s: %w: sha256 %q is not 64 hex digits", file, ErrInvalid, sha)
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("okd: verify: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, ctxReader{ctx, f}); err != nil {
		return fmt.Errorf("okd: verify %s: %w", file, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, sha) {
		return fmt.Errorf("okd: verify %s: %w: sha256 %s, want %s", file, ErrChecksum, got, sha)
	}
	return nil
}

// ctxReader stops a long copy (a multi-GB image) when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
