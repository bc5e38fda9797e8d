package kvmtest

// This file holds what is not implemented yet; every method here answers
// like a libvirt driver that lacks the function. It shrinks to nothing.

import (
	"io"

	libvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"
)

type network struct{}
type pool struct{}
type lease struct{}

func errNoSupport() error {
	return lverr(libvirt.ErrNoSupport, "this function is not supported by the connection driver")
}

func (f *Fake) startNetworksCheck(def *libvirtxml.Domain) error { return nil }
func (f *Fake) assignLeases(d *domain)                          {}
func (f *Fake) releaseLeases(d *domain)                         {}

func (c *Conn) DomainInterfaceAddresses(Dom libvirt.Domain, Source uint32, Flags uint32) ([]libvirt.DomainInterface, error) {
	return nil, errNoSupport()
}
func (c *Conn) ConnectListAllStoragePools(NeedResults int32, Flags libvirt.ConnectListAllStoragePoolsFlags) ([]libvirt.StoragePool, uint32, error) {
	return nil, 0, errNoSupport()
}
func (c *Conn) StoragePoolLookupByName(Name string) (libvirt.StoragePool, error) {
	return libvirt.StoragePool{}, errNoSupport()
}
func (c *Conn) StoragePoolDefineXML(XML string, Flags uint32) (libvirt.StoragePool, error) {
	return libvirt.StoragePool{}, errNoSupport()
}
func (c *Conn) StoragePoolBuild(Pool libvirt.StoragePool, Flags libvirt.StoragePoolBuildFlags) error {
	return errNoSupport()
}
func (c *Conn) StoragePoolCreate(Pool libvirt.StoragePool, Flags libvirt.StoragePoolCreateFlags) error {
	return errNoSupport()
}
func (c *Conn) StoragePoolIsActive(Pool libvirt.StoragePool) (int32, error) { return 0, errNoSupport() }
func (c *Conn) StoragePoolRefresh(Pool libvirt.StoragePool, Flags uint32) error {
	return errNoSupport()
}
func (c *Conn) StoragePoolGetXMLDesc(Pool libvirt.StoragePool, Flags libvirt.StorageXMLFlags) (string, error) {
	return "", errNoSupport()
}
func (c *Conn) StoragePoolDestroy(Pool libvirt.StoragePool) error  { return errNoSupport() }
func (c *Conn) StoragePoolUndefine(Pool libvirt.StoragePool) error { return errNoSupport() }
func (c *Conn) StoragePoolListAllVolumes(Pool libvirt.StoragePool, NeedResults int32, Flags uint32) ([]libvirt.StorageVol, uint32, error) {
	return nil, 0, errNoSupport()
}
func (c *Conn) StorageVolCreateXML(Pool libvirt.StoragePool, XML string, Flags libvirt.StorageVolCreateFlags) (libvirt.StorageVol, error) {
	return libvirt.StorageVol{}, errNoSupport()
}
func (c *Conn) StorageVolLookupByName(Pool libvirt.StoragePool, Name string) (libvirt.StorageVol, error) {
	return libvirt.StorageVol{}, errNoSupport()
}
func (c *Conn) StorageVolGetPath(Vol libvirt.StorageVol) (string, error) { return "", errNoSupport() }
func (c *Conn) StorageVolGetXMLDesc(Vol libvirt.StorageVol, Flags uint32) (string, error) {
	return "", errNoSupport()
}
func (c *Conn) StorageVolUpload(Vol libvirt.StorageVol, outStream io.Reader, Offset uint64, Length uint64, Flags libvirt.StorageVolUploadFlags) error {
	return errNoSupport()
}
func (c *Conn) StorageVolDelete(Vol libvirt.StorageVol, Flags libvirt.StorageVolDeleteFlags) error {
	return errNoSupport()
}
func (c *Conn) ConnectListAllNetworks(NeedResults int32, Flags libvirt.ConnectListAllNetworksFlags) ([]libvirt.Network, uint32, error) {
	return nil, 0, errNoSupport()
}
func (c *Conn) NetworkDefineXML(XML string) (libvirt.Network, error) {
	return libvirt.Network{}, errNoSupport()
}
func (c *Conn) NetworkLookupByName(Name string) (libvirt.Network, error) {
	return libvirt.Network{}, errNoNetworkName(Name)
}
func (c *Conn) NetworkGetXMLDesc(Net libvirt.Network, Flags uint32) (string, error) {
	return "", errNoSupport()
}
func (c *Conn) NetworkCreate(Net libvirt.Network) error            { return errNoSupport() }
func (c *Conn) NetworkIsActive(Net libvirt.Network) (int32, error) { return 0, errNoSupport() }
func (c *Conn) NetworkDestroy(Net libvirt.Network) error           { return errNoSupport() }
func (c *Conn) NetworkUndefine(Net libvirt.Network) error          { return errNoSupport() }
func (c *Conn) NetworkUpdateCompat(Net libvirt.Network, Command libvirt.NetworkUpdateCommand, Section libvirt.NetworkUpdateSection, ParentIndex int32, XML string, Flags libvirt.NetworkUpdateFlags) error {
	return errNoSupport()
}
func (c *Conn) NetworkGetDhcpLeases(Net libvirt.Network, Mac libvirt.OptString, NeedResults int32, Flags uint32) ([]libvirt.NetworkDhcpLease, uint32, error) {
	return nil, 0, errNoSupport()
}

func (c *Conn) StoragePoolSetAutostart(Pool libvirt.StoragePool, Autostart int32) error {
	return errNoSupport()
}
func (c *Conn) NetworkSetAutostart(Net libvirt.Network, Autostart int32) error {
	return errNoSupport()
}
