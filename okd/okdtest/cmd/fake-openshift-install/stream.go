package main

import (
	"fmt"
	"os"
)

// printStream prints stream metadata shaped like the installer's embedded
// data/data/coreos/{scos,fcos}.json (trimmed to qemu and metal).
func (f *fake) printStream() int {
	if code := f.scriptedFailure(); code != 0 {
		return f.failGeneric(code)
	}
	if f.s.StreamFile != "" {
		b, err := os.ReadFile(f.s.StreamFile)
		if err != nil {
			f.log.fatal(err.Error())
			return exitGeneric
		}
		os.Stdout.Write(b)
		return 0
	}
	name, release, ext, base := "c9s", "9.0.20250515-0", "gz", "https://cloud.centos.org/centos/scos/9/prod/streams/9.0.20250515-0/x86_64/scos-9.0.20250515-0"
	if f.s.Stream == "fcos" {
		name, release, ext, base = "stable", "39.20231101.3.0", "xz", "https://builds.coreos.fedoraproject.org/prod/streams/stable/builds/39.20231101.3.0/x86_64/fedora-coreos-39.20231101.3.0"
	}
	raw := "raw"
	fmt.Printf(`{
  "stream": %q,
  "metadata": {"last-modified": "2025-05-15T10:00:00Z", "generator": "plume cosa2stream 0.1"},
  "architectures": {
    "x86_64": {
      "artifacts": {
        "metal": {
          "release": %q,
          "formats": {
            "%s.%s": {"disk": {"location": "%s-metal.x86_64.raw.%s", "sha256": "%064x", "uncompressed-sha256": "%064x"}},
            "iso": {"disk": {"location": "%s-live-iso.x86_64.iso", "sha256": "%064x"}}
          }
        },
        "qemu": {
          "release": %q,
          "formats": {
            "qcow2.%s": {"disk": {"location": "%s-qemu.x86_64.qcow2.%s", "signature": "%s-qemu.x86_64.qcow2.%s.sig", "sha256": "%064x", "uncompressed-sha256": "%064x"}}
          }
        }
      },
      "images": {}
    }
  }
}
`, name, release, raw, ext, base, ext, 1, 2, base, 3, release, ext, base, ext, base, ext, 4, 5)
	return 0
}
