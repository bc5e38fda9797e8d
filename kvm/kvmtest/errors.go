package kvmtest

import (
	"fmt"

	libvirt "github.com/digitalocean/go-libvirt"
)

// lverr builds the error real libvirtd sends over the wire: go-libvirt
// decodes it into a libvirt.Error (value, not pointer) whose Message is the
// fully formatted text, prefix included ("Domain not found: …"). Tests and
// kvm's error classing look at Code, so the codes must be the ones libvirt
// uses for the same situation; the conformance suite checks them.
func lverr(code libvirt.ErrorNumber, format string, args ...any) error {
	return libvirt.Error{Code: uint32(code), Message: fmt.Sprintf(format, args...)}
}

func errNoDomainName(name string) error {
	return lverr(libvirt.ErrNoDomain, "Domain not found: no domain with matching name '%s'", name)
}

func errNoDomainUUID(uuid, name string) error {
	return lverr(libvirt.ErrNoDomain, "Domain not found: no domain with matching uuid '%s' (%s)", uuid, name)
}

func errNoNetworkName(name string) error {
	return lverr(libvirt.ErrNoNetwork, "Network not found: no network with matching name '%s'", name)
}

func errNoPoolName(name string) error {
	return lverr(libvirt.ErrNoStoragePool, "Storage pool not found: no storage pool with matching name '%s'", name)
}

func errNoVolName(name string) error {
	return lverr(libvirt.ErrNoStorageVol, "Storage volume not found: no storage vol with matching name '%s'", name)
}

func errXML(format string, args ...any) error {
	return lverr(libvirt.ErrXMLError, "XML error: "+format, args...)
}

func errOpInvalid(format string, args ...any) error {
	return lverr(libvirt.ErrOperationInvalid, "Requested operation is not valid: "+format, args...)
}

func errOpFailed(format string, args ...any) error {
	return lverr(libvirt.ErrOperationFailed, "operation failed: "+format, args...)
}

func errConfigUnsupported(format string, args ...any) error {
	return lverr(libvirt.ErrConfigUnsupported, "unsupported configuration: "+format, args...)
}

func errInternal(format string, args ...any) error {
	return lverr(libvirt.ErrInternalError, "internal error: "+format, args...)
}

func errInvalidArg(format string, args ...any) error {
	return lverr(libvirt.ErrInvalidArg, "invalid argument: "+format, args...)
}
