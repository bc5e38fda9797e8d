package okd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Stream is CoreOS stream metadata, the JSON `openshift-install coreos
// print-stream-json` prints (same shape as coreos/stream-metadata-go's
// stream.Stream, which okvm cannot depend on here, so the types are ours).
type Stream struct {
	Stream        string          `json:"stream"`
	Metadata      StreamMetadata  `json:"metadata"`
	Architectures map[string]Arch `json:"architectures"`
}

// StreamMetadata says when and by what the stream was generated.
type StreamMetadata struct {
	LastModified string `json:"last-modified"`
	Generator    string `json:"generator,omitempty"`
}

// Arch is one architecture's artifacts (and cloud images, kept raw).
type Arch struct {
	Artifacts            map[string]PlatformArtifacts `json:"artifacts"`
	Images               json.RawMessage              `json:"images,omitempty"`
	RHELCoreOSExtensions json.RawMessage              `json:"rhel-coreos-extensions,omitempty"`
}

// PlatformArtifacts are one platform's (qemu, metal, …) formats.
type PlatformArtifacts struct {
	Release string                 `json:"release"`
	Formats map[string]ImageFormat `json:"formats"`
}

// ImageFormat is one format's files.
type ImageFormat struct {
	Disk      *Artifact `json:"disk,omitempty"`
	Kernel    *Artifact `json:"kernel,omitempty"`
	Initramfs *Artifact `json:"initramfs,omitempty"`
	Rootfs    *Artifact `json:"rootfs,omitempty"`
}

// Artifact is one downloadable file.
type Artifact struct {
	Location           string `json:"location"`
	Signature          string `json:"signature,omitempty"`
	Sha256             string `json:"sha256"`
	UncompressedSha256 string `json:"uncompressed-sha256,omitempty"`
}

// ParseStream reads stream metadata JSON.
func ParseStream(r io.Reader) (*Stream, error) {
	var s Stream
	dec := json.NewDecoder(r)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("okd: parse stream metadata: %w: %w", ErrInvalid, err)
	}
	if len(s.Architectures) == 0 {
		return nil, fmt.Errorf("okd: parse stream metadata: %w: no architectures", ErrInvalid)
	}
	return &s, nil
}

// PrintStreamJSON runs `openshift-install coreos print-stream-json`: the
// boot images this installer was built for.
func (r *Runner) PrintStreamJSON(ctx context.Context) (*Stream, error) {
	res, err := r.run(ctx, []string{"coreos", "print-stream-json"}, runOpts{captureStdout: true})
	if err != nil {
		return nil, err
	}
	return ParseStream(strings.NewReader(string(res.stdout)))
}

// QEMUDiskFormats are the qemu disk formats tried in order: Fedora CoreOS
// ships qcow2.xz, CentOS Stream CoreOS (and RHCOS) qcow2.gz.
var QEMUDiskFormats = []string{"qcow2.xz", "qcow2.gz"}

// DiskImage is the chosen boot disk.
type DiskImage struct {
	Arch     string   // stream arch, e.g. x86_64
	Release  string   // CoreOS release, e.g. 9.0.20250515-0
	Format   string   // qcow2.xz or qcow2.gz
	Artifact Artifact // location and checksums
}

// Compression is "xz" or "gz".
func (d DiskImage) Compression() string {
	if i := strings.LastIndexByte(d.Format, '.'); i >= 0 {
		return d.Format[i+1:]
	}
	return ""
}

// StreamArch maps Go architecture names to the stream's (RPM) names.
func StreamArch(a string) string {
	switch a {
	case "amd64", "":
		return "x86_64"
	case "arm64":
		return "aarch64"
	}
	return a
}

// QEMUDisk picks the qemu disk image for arch (Go or RPM spelling),
// trying qcow2.xz then qcow2.gz. ErrArtifactNotFound names what exists.
func (s *Stream) QEMUDisk(arch string) (*DiskImage, error) {
	a := StreamArch(arch)
	ar, ok := s.Architectures[a]
	if !ok {
		return nil, fmt.Errorf("okd: stream %q: %w: architecture %q (have %s)", s.Stream, ErrArtifactNotFound, a, strings.Join(sortedKeys(s.Architectures), ", "))
	}
	q, ok := ar.Artifacts["qemu"]
	if !ok {
		return nil, fmt.Errorf("okd: stream %q: %w: %s has no qemu artifacts (have %s)", s.Stream, ErrArtifactNotFound, a, strings.Join(sortedKeys(ar.Artifacts), ", "))
	}
	for _, f := range QEMUDiskFormats {
		if fm, ok := q.Formats[f]; ok && fm.Disk != nil && fm.Disk.Location != "" {
			return &DiskImage{Arch: a, Release: q.Release, Format: f, Artifact: *fm.Disk}, nil
		}
	}
	return nil, fmt.Errorf("okd: stream %q: %w: %s qemu has no %s disk (have %s)", s.Stream, ErrArtifactNotFound, a,
		strings.Join(QEMUDiskFormats, " or "), strings.Join(sortedKeys(q.Formats), ", "))
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
