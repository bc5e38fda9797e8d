package kvmtest

import (
	"testing"

	"github.com/okvm/okvm/kvm"
)

// TestConformanceFake holds the fake to the whole suite, always.
func TestConformanceFake(t *testing.T) {
	f := New()
	RunConformance(t, Harness{
		Name:    "fake",
		Connect: func(t *testing.T) kvm.Libvirt { return f.Conn() },
		Caps: []Capability{CapStartDomains, CapACPIShutdown, CapPCIAddressing, CapNetworks, CapLeases,
			CapUnknownNetworkAtDefine, CapUnknownNetworkAtStart, CapPools, CapVolumeUpload, CapNvram, CapDriverSemantics},
		ReadVolume: func(path string) ([]byte, error) {
			b, _ := f.VolumeBytes(path)
			return b, nil
		},
	})
}
