package kvm

import (
	"context"
	"io"

	libvirt "github.com/digitalocean/go-libvirt"
)

// Libvirt is the narrow seam between okvm and libvirt: exactly the
// go-libvirt methods kvm calls, with go-libvirt's own signatures, so that
// *libvirt.Libvirt satisfies it as is and kvmtest.Fake implements it in
// memory. All of kvm's own logic (validation, idempotent define, waits,
// redial, name prediction) therefore runs unchanged on both.
//
// go-libvirt's methods take no context; Client enforces deadlines around
// every call (see call.go). Adding a method here means adding it to the fake
// and, when its behaviour matters, to the conformance suite.
type Libvirt interface {
	// Connection.
	ConnectGetLibVersion() (rLibVer uint64, err error)
	ConnectGetUri() (rUri string, err error)
	ConnectGetCapabilities() (rCapabilities string, err error)
	Disconnect() error
	Disconnected() <-chan struct{}
	LifecycleEvents(ctx context.Context) (<-chan libvirt.DomainEventLifecycleMsg, error)

	// Domains.
	ConnectListAllDomains(NeedResults int32, Flags libvirt.ConnectListAllDomainsFlags) (rDomains []libvirt.Domain, rRet uint32, err error)
	DomainDefineXMLFlags(XML string, Flags libvirt.DomainDefineFlags) (rDom libvirt.Domain, err error)
	DomainLookupByName(Name string) (rDom libvirt.Domain, err error)
	DomainGetXMLDesc(Dom libvirt.Domain, Flags libvirt.DomainXMLFlags) (rXML string, err error)
	DomainGetState(Dom libvirt.Domain, Flags uint32) (rState int32, rReason int32, err error)
	DomainCreate(Dom libvirt.Domain) (err error)
	DomainShutdown(Dom libvirt.Domain) (err error)
	DomainDestroy(Dom libvirt.Domain) (err error)
	DomainReboot(Dom libvirt.Domain, Flags libvirt.DomainRebootFlagValues) (err error)
	DomainUndefineFlags(Dom libvirt.Domain, Flags libvirt.DomainUndefineFlagsValues) (err error)
	DomainInterfaceAddresses(Dom libvirt.Domain, Source uint32, Flags uint32) (rIfaces []libvirt.DomainInterface, err error)

	// Storage.
	ConnectListAllStoragePools(NeedResults int32, Flags libvirt.ConnectListAllStoragePoolsFlags) (rPools []libvirt.StoragePool, rRet uint32, err error)
	StoragePoolLookupByName(Name string) (rPool libvirt.StoragePool, err error)
	StoragePoolDefineXML(XML string, Flags uint32) (rPool libvirt.StoragePool, err error)
	StoragePoolBuild(Pool libvirt.StoragePool, Flags libvirt.StoragePoolBuildFlags) (err error)
	StoragePoolCreate(Pool libvirt.StoragePool, Flags libvirt.StoragePoolCreateFlags) (err error)
	StoragePoolIsActive(Pool libvirt.StoragePool) (rActive int32, err error)
	StoragePoolRefresh(Pool libvirt.StoragePool, Flags uint32) (err error)
	StoragePoolGetXMLDesc(Pool libvirt.StoragePool, Flags libvirt.StorageXMLFlags) (rXML string, err error)
	StoragePoolDestroy(Pool libvirt.StoragePool) (err error)
	StoragePoolSetAutostart(Pool libvirt.StoragePool, Autostart int32) (err error)
	StoragePoolUndefine(Pool libvirt.StoragePool) (err error)
	StoragePoolListAllVolumes(Pool libvirt.StoragePool, NeedResults int32, Flags uint32) (rVols []libvirt.StorageVol, rRet uint32, err error)
	StorageVolCreateXML(Pool libvirt.StoragePool, XML string, Flags libvirt.StorageVolCreateFlags) (rVol libvirt.StorageVol, err error)
	StorageVolLookupByName(Pool libvirt.StoragePool, Name string) (rVol libvirt.StorageVol, err error)
	StorageVolGetPath(Vol libvirt.StorageVol) (rName string, err error)
	StorageVolGetXMLDesc(Vol libvirt.StorageVol, Flags uint32) (rXML string, err error)
	StorageVolUpload(Vol libvirt.StorageVol, outStream io.Reader, Offset uint64, Length uint64, Flags libvirt.StorageVolUploadFlags) (err error)
	StorageVolDelete(Vol libvirt.StorageVol, Flags libvirt.StorageVolDeleteFlags) (err error)

	// Networks.
	ConnectListAllNetworks(NeedResults int32, Flags libvirt.ConnectListAllNetworksFlags) (rNets []libvirt.Network, rRet uint32, err error)
	NetworkDefineXML(XML string) (rNet libvirt.Network, err error)
	NetworkLookupByName(Name string) (rNet libvirt.Network, err error)
	NetworkGetXMLDesc(Net libvirt.Network, Flags uint32) (rXML string, err error)
	NetworkCreate(Net libvirt.Network) (err error)
	NetworkIsActive(Net libvirt.Network) (rActive int32, err error)
	NetworkDestroy(Net libvirt.Network) (err error)
	NetworkSetAutostart(Net libvirt.Network, Autostart int32) (err error)
	NetworkUndefine(Net libvirt.Network) (err error)
	NetworkUpdateCompat(Net libvirt.Network, Command libvirt.NetworkUpdateCommand, Section libvirt.NetworkUpdateSection, ParentIndex int32, XML string, Flags libvirt.NetworkUpdateFlags) (err error)
	NetworkGetDhcpLeases(Net libvirt.Network, Mac libvirt.OptString, NeedResults int32, Flags uint32) (rLeases []libvirt.NetworkDhcpLease, rRet uint32, err error)
}

// The real client satisfies the seam as is.
var _ Libvirt = (*libvirt.Libvirt)(nil)
