package okd_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/okvm/okvm/okd"
)

func loadStream(t *testing.T, name string) *okd.Stream {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := okd.ParseStream(f)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStreamQEMUDisk(t *testing.T) {
	for _, tc := range []struct {
		file, arch, format, release, compression string
	}{
		{"stream-fcos.json", "x86_64", "qcow2.xz", "39.20231101.3.0", "xz"},
		{"stream-fcos.json", "amd64", "qcow2.xz", "39.20231101.3.0", "xz"},
		{"stream-fcos.json", "arm64", "qcow2.xz", "39.20231101.3.0", "xz"},
		{"stream-scos.json", "x86_64", "qcow2.gz", "9.0.20250515-0", "gz"},
	} {
		s := loadStream(t, tc.file)
		d, err := s.QEMUDisk(tc.arch)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.file, tc.arch, err)
		}
		if d.Format != tc.format || d.Release != tc.release || d.Compression() != tc.compression ||
			!strings.HasSuffix(d.Artifact.Location, "."+tc.format) || len(d.Artifact.Sha256) != 64 || len(d.Artifact.UncompressedSha256) != 64 {
			t.Errorf("%s %s: %+v", tc.file, tc.arch, d)
		}
	}
	s := loadStream(t, "stream-scos.json")
	if _, err := s.QEMUDisk("aarch64"); !errors.Is(err, okd.ErrArtifactNotFound) || !strings.Contains(err.Error(), `architecture "aarch64" (have x86_64)`) {
		t.Errorf("missing arch: %v", err)
	}
	delete(s.Architectures["x86_64"].Artifacts["qemu"].Formats, "qcow2.gz")
	if _, err := s.QEMUDisk("x86_64"); !errors.Is(err, okd.ErrArtifactNotFound) || !strings.Contains(err.Error(), "no qcow2.xz or qcow2.gz disk") {
		t.Errorf("missing format: %v", err)
	}
	if _, err := okd.ParseStream(strings.NewReader(`{"stream":"x"}`)); !errors.Is(err, okd.ErrInvalid) {
		t.Errorf("empty stream: %v", err)
	}
	if _, err := okd.ParseStream(strings.NewReader(`{`)); !errors.Is(err, okd.ErrInvalid) {
		t.Errorf("bad json: %v", err)
	}
}

func TestFetchArtifactVerifiesSha256(t *testing.T) {
	body := []byte(strings.Repeat("fake qcow2.gz bytes ", 10000))
	sum := sha256.Sum256(body)
	good := hex.EncodeToString(sum[:])
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/missing.qcow2.gz" {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	ctx := context.Background()
	dir := t.TempDir()

	a := okd.Artifact{Location: srv.URL + "/scos-qemu.x86_64.qcow2.gz", Sha256: good}
	p, err := okd.FetchArtifact(ctx, srv.Client(), a, dir)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(p) != "scos-qemu.x86_64.qcow2.gz" {
		t.Errorf("path %s", p)
	}
	if err := okd.VerifyFile(ctx, p, good); err != nil {
		t.Fatal(err)
	}
	// Cached: no second download.
	if _, err := okd.FetchArtifact(ctx, srv.Client(), a, dir); err != nil || hits.Load() != 1 {
		t.Errorf("refetch: %v, %d hits", err, hits.Load())
	}
	// Wrong checksum: ErrChecksum, nothing left under the final name.
	bad := okd.Artifact{Location: srv.URL + "/other.qcow2.gz", Sha256: strings.Repeat("0", 64)}
	if _, err := okd.FetchArtifact(ctx, srv.Client(), bad, dir); !errors.Is(err, okd.ErrChecksum) {
		t.Errorf("bad sum: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("leftovers: %v", ents)
	}
	if err := okd.VerifyFile(ctx, p, strings.Repeat("0", 64)); !errors.Is(err, okd.ErrChecksum) {
		t.Errorf("verify mismatch: %v", err)
	}
	if _, err := okd.FetchArtifact(ctx, srv.Client(), okd.Artifact{Location: srv.URL + "/missing.qcow2.gz", Sha256: good}, dir); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("404: %v", err)
	}
	if _, err := okd.FetchArtifact(ctx, nil, okd.Artifact{Location: "file:///etc/passwd", Sha256: good}, dir); !errors.Is(err, okd.ErrInvalid) {
		t.Errorf("file URL: %v", err)
	}
	if _, err := okd.FetchArtifact(ctx, nil, okd.Artifact{Location: srv.URL + "/x", Sha256: "abc"}, dir); !errors.Is(err, okd.ErrInvalid) {
		t.Errorf("short sha: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := okd.FetchArtifact(cctx, srv.Client(), okd.Artifact{Location: srv.URL + "/new.qcow2.gz", Sha256: good}, dir); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestPatchManifests(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o750)
		if err := os.WriteFile(p, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	write(okd.SchedulerManifest, "apiVersion: config.openshift.io/v1\nkind: Scheduler\nmetadata:\n  creationTimestamp: null\n  name: cluster\nspec:\n  mastersSchedulable: true\n  policy:\n    name: \"\"\nstatus: {}\n")
	keep := []string{"openshift/99_openshift-cluster-api_master-user-data-secret.yaml", "openshift/99_openshift-machineconfig_99-master-ssh.yaml"}
	drop := []string{"openshift/99_openshift-cluster-api_master-machines-0.yaml", "openshift/99_openshift-cluster-api_master-machines-2.yaml",
		"openshift/99_openshift-cluster-api_worker-machineset-0.yaml", "openshift/99_openshift-machine-api_master-control-plane-machine-set.yaml"}
	for _, f := range append(append([]string{}, keep...), drop...) {
		write(f, "kind: X\n")
	}
	p, err := okd.PatchManifests(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Removed) != len(drop) || p.MastersSchedulable {
		t.Errorf("patch = %+v", p)
	}
	for _, f := range drop {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s still there", f)
		}
	}
	for _, f := range keep {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s removed", f)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, okd.SchedulerManifest))
	if !strings.Contains(string(b), "mastersSchedulable: false") || !strings.Contains(string(b), "kind: Scheduler") {
		t.Errorf("scheduler:\n%s", b)
	}
	if fi, _ := os.Stat(filepath.Join(dir, okd.SchedulerManifest)); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v not kept", fi.Mode().Perm())
	}
	// Idempotent, and back to true.
	if p, err = okd.PatchManifests(dir, true); err != nil || len(p.Removed) != 0 {
		t.Fatalf("%+v %v", p, err)
	}
	b, _ = os.ReadFile(filepath.Join(dir, okd.SchedulerManifest))
	if !strings.Contains(string(b), "mastersSchedulable: true") {
		t.Errorf("scheduler:\n%s", b)
	}
	if _, err := okd.PatchManifests(t.TempDir(), true); err == nil {
		t.Error("no manifests: no error")
	}
	write(okd.SchedulerManifest, "kind: Ingress\n")
	if _, err := okd.PatchManifests(dir, true); !errors.Is(err, okd.ErrInvalid) {
		t.Errorf("wrong kind: %v", err)
	}
}
