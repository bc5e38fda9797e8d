package kvmtest

import (
	"fmt"
	"net"
	"time"

	libvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"
)

// network is one virtual network. config is the persistent definition (nil
// when transient), live the running one (nil when inactive): like libvirt,
// NetworkUpdateCompat can change either or both.
type network struct {
	name      string
	uuid      libvirt.UUID
	config    *libvirtxml.Network
	live      *libvirtxml.Network
	autostart bool
	leases    []*lease
}

// lease is an address the fake's dnsmasq handed to a running domain's NIC.
type lease struct {
	mac, ip, hostname string
	prefix            uint
	expiry            int64
	net               *network
	visible           time.Time // WithLeaseDelay: not reported before
}

func (n *network) active() bool { return n.live != nil }

func (n *network) handle() libvirt.Network { return libvirt.Network{Name: n.name, UUID: n.uuid} }

func (n *network) current() *libvirtxml.Network {
	if n.live != nil {
		return n.live
	}
	return n.config
}

func (f *Fake) networkByName(name string) *network {
	for _, n := range f.networks {
		if n.name == name {
			return n
		}
	}
	return nil
}

func (f *Fake) lookupNetwork(h libvirt.Network) (*network, error) {
	var zero libvirt.UUID
	for _, n := range f.networks {
		if (h.UUID != zero && n.uuid == h.UUID) || (h.UUID == zero && n.name == h.Name) {
			return n, nil
		}
	}
	if h.UUID == zero {
		return nil, errNoNetworkName(h.Name)
	}
	return nil, lverr(libvirt.ErrNoNetwork, "Network not found: no network with matching uuid '%s' (%s)", formatUUID(h.UUID), h.Name)
}

func (f *Fake) removeNetwork(n *network) {
	for i, x := range f.networks {
		if x == n {
			f.networks = append(f.networks[:i], f.networks[i+1:]...)
			return
		}
	}
}

// ConnectListAllNetworks lists networks, filtered like libvirt.
func (c *Conn) ConnectListAllNetworks(NeedResults int32, Flags libvirt.ConnectListAllNetworksFlags) ([]libvirt.Network, uint32, error) {
	if err := c.enter("ConnectListAllNetworks"); err != nil {
		return nil, 0, err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	fl := uint32(Flags)
	var out []libvirt.Network
	for _, n := range c.f.networks {
		if !pairMatch(fl, uint32(libvirt.ConnectListNetworksActive), uint32(libvirt.ConnectListNetworksInactive), n.active()) ||
			!pairMatch(fl, uint32(libvirt.ConnectListNetworksPersistent), uint32(libvirt.ConnectListNetworksTransient), n.config != nil) ||
			!pairMatch(fl, uint32(libvirt.ConnectListNetworksAutostart), uint32(libvirt.ConnectListNetworksNoAutostart), n.autostart) {
			continue
		}
		out = append(out, n.handle())
	}
	if NeedResults >= 0 && len(out) > int(NeedResults) {
		out = out[:NeedResults]
	}
	return out, uint32(len(out)), nil
}

// NetworkDefineXML defines (or, same name and UUID, redefines) a network.
// Like libvirt's network driver it gives a NAT/route/isolated network a
// virbrN bridge and a MAC when the XML has none.
func (c *Conn) NetworkDefineXML(XML string) (libvirt.Network, error) {
	if err := c.enter("NetworkDefineXML"); err != nil {
		return libvirt.Network{}, err
	}
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	var def libvirtxml.Network
	if err := def.Unmarshal(XML); err != nil {
		return libvirt.Network{}, lverr(libvirt.ErrXMLDetail, "XML error: %v", err)
	}
	if def.Name == "" {
		return libvirt.Network{}, errXML("missing name for network")
	}
	if def.UUID == "" {
		def.UUID = formatUUID(f.newUUID())
	} else if uu, err := parseUUID(def.UUID); err != nil {
		return libvirt.Network{}, errXML("malformed uuid element for network '%s'", def.Name)
	} else {
		def.UUID = formatUUID(uu)
	}
	if err := validateNetwork(&def); err != nil {
		return libvirt.Network{}, err
	}
	var existing *network
	for _, n := range f.networks {
		if formatUUID(n.uuid) == def.UUID {
			if n.name != def.Name {
				return libvirt.Network{}, errOpFailed("network '%s' is already defined with uuid %s", n.name, def.UUID)
			}
			existing = n
		} else if n.name == def.Name {
			return libvirt.Network{}, errOpFailed("network '%s' already exists with uuid %s", def.Name, formatUUID(n.uuid))
		}
	}
	if existing != nil && existing.current().Bridge != nil && def.Bridge == nil {
		b := *existing.current().Bridge
		def.Bridge = &b
	}
	f.completeNetwork(&def)
	if existing != nil {
		existing.config = &def
		return existing.handle(), nil
	}
	uuid, _ := parseUUID(def.UUID)
	n := &network{name: def.Name, uuid: uuid, config: &def}
	f.networks = append(f.networks, n)
	f.opts.logger.Debug("kvmtest: network defined", "name", def.Name)
	return n.handle(), nil
}

func validateNetwork(def *libvirtxml.Network) error {
	for _, ip := range def.IPs {
		addr := net.ParseIP(ip.Address)
		if addr == nil {
			return errXML("Invalid IP address in network '%s' definition: '%s'", def.Name, ip.Address)
		}
		ipnet := ipNet(ip)
		if ip.DHCP == nil {
			continue
		}
		for _, r := range ip.DHCP.Ranges {
			s, e := net.ParseIP(r.Start), net.ParseIP(r.End)
			if s == nil || e == nil {
				return errXML("Invalid dhcp range '%s' to '%s' in network '%s'", r.Start, r.End, def.Name)
			}
			if ipnet != nil && (!ipnet.Contains(s) || !ipnet.Contains(e)) {
				return errConfigUnsupported("range %s - %s is not entirely within network %s/%d", r.Start, r.End, ip.Address, prefixLen(ip))
			}
		}
		for _, h := range ip.DHCP.Hosts {
			if h.MAC != "" {
				if _, err := net.ParseMAC(h.MAC); err != nil {
					return errXML("Cannot parse MAC address '%s' in network '%s'", h.MAC, def.Name)
				}
			}
			if h.IP != "" && net.ParseIP(h.IP) == nil {
				return errXML("Invalid IP address in static host definition for network '%s'", def.Name)
			}
		}
	}
	return nil
}

func prefixLen(ip libvirtxml.NetworkIP) uint {
	if ip.Prefix != 0 {
		return ip.Prefix
	}
	if ip.Netmask != "" {
		if m := net.ParseIP(ip.Netmask).To4(); m != nil {
			ones, _ := net.IPMask(m).Size()
			return uint(ones)
		}
	}
	if net.ParseIP(ip.Address).To4() != nil {
		return 24
	}
	return 64
}

func ipNet(ip libvirtxml.NetworkIP) *net.IPNet {
	a := net.ParseIP(ip.Address)
	if a == nil {
		return nil
	}
	bits := 128
	if a.To4() != nil {
		bits = 32
	}
	return &net.IPNet{IP: a, Mask: net.CIDRMask(int(prefixLen(ip)), bits)}
}

// completeNetwork adds the bridge name and MAC libvirt's network driver
// picks for networks it owns the bridge of. Called with f.mu held.
func (f *Fake) completeNetwork(def *libvirtxml.Network) {
	mode := ""
	if def.Forward != nil {
		mode = def.Forward.Mode
	}
	switch mode {
	case "", "nat", "route", "open":
	default:
		return
	}
	if def.Bridge == nil {
		def.Bridge = &libvirtxml.NetworkBridge{}
	}
	if def.Bridge.Name == "" {
		used := map[string]bool{}
		for _, n := range f.networks {
			if cur := n.current(); cur != nil && cur.Bridge != nil {
				used[cur.Bridge.Name] = true
			}
		}
		for i := 0; ; i++ {
			if name := fmt.Sprintf("virbr%d", i); !used[name] {
				def.Bridge.Name = name
				break
			}
		}
	}
	if def.Bridge.STP == "" {
		def.Bridge.STP = "on"
	}
	if def.Bridge.Delay == "" {
		def.Bridge.Delay = "0"
	}
	if def.MAC == nil {
		def.MAC = &libvirtxml.NetworkMAC{Address: f.newMAC()}
	}
}

// NetworkLookupByName finds a network.
func (c *Conn) NetworkLookupByName(Name string) (libvirt.Network, error) {
	if err := c.enter("NetworkLookupByName"); err != nil {
		return libvirt.Network{}, err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	n := c.f.networkByName(Name)
	if n == nil {
		return libvirt.Network{}, errNoNetworkName(Name)
	}
	return n.handle(), nil
}

// NetworkGetXMLDesc returns the live definition of an active network, or
// the persistent one (NetworkXMLInactive asks for it explicitly).
func (c *Conn) NetworkGetXMLDesc(Net libvirt.Network, Flags uint32) (string, error) {
	if err := c.enter("NetworkGetXMLDesc"); err != nil {
		return "", err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	n, err := c.f.lookupNetwork(Net)
	if err != nil {
		return "", err
	}
	def := n.current()
	if Flags&uint32(libvirt.NetworkXMLInactive) != 0 && n.config != nil {
		def = n.config
	}
	s, err := def.Marshal()
	if err != nil {
		return "", errInternal("failed to format network XML: %v", err)
	}
	return s + "\n", nil
}

// NetworkCreate starts a defined network.
func (c *Conn) NetworkCreate(Net libvirt.Network) error {
	if err := c.enter("NetworkCreate"); err != nil {
		return err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	n, err := c.f.lookupNetwork(Net)
	if err != nil {
		return err
	}
	if n.active() {
		return errOpInvalid("network is already active")
	}
	live, err := cloneNetwork(n.config)
	if err != nil {
		return errInternal("%v", err)
	}
	n.live = live
	c.f.opts.logger.Debug("kvmtest: network started", "name", n.name)
	return nil
}

func cloneNetwork(def *libvirtxml.Network) (*libvirtxml.Network, error) {
	s, err := def.Marshal()
	if err != nil {
		return nil, err
	}
	var out libvirtxml.Network
	if err := out.Unmarshal(s); err != nil {
		return nil, err
	}
	return &out, nil
}

// NetworkIsActive reports 1 for a running network.
func (c *Conn) NetworkIsActive(Net libvirt.Network) (int32, error) {
	if err := c.enter("NetworkIsActive"); err != nil {
		return 0, err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	n, err := c.f.lookupNetwork(Net)
	if err != nil {
		return 0, err
	}
	if n.active() {
		return 1, nil
	}
	return 0, nil
}

// NetworkDestroy stops a network; its leases go with its dnsmasq.
func (c *Conn) NetworkDestroy(Net libvirt.Network) error {
	if err := c.enter("NetworkDestroy"); err != nil {
		return err
	}
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.lookupNetwork(Net)
	if err != nil {
		return err
	}
	if !n.active() {
		return errOpInvalid("network '%s' is not active", n.name)
	}
	n.live = nil
	n.leases = nil
	if n.config == nil {
		f.removeNetwork(n)
	}
	return nil
}

// NetworkUndefine removes the persistent definition; an active network
// stays up as a transient one.
func (c *Conn) NetworkUndefine(Net libvirt.Network) error {
	if err := c.enter("NetworkUndefine"); err != nil {
		return err
	}
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.lookupNetwork(Net)
	if err != nil {
		return err
	}
	if n.config == nil {
		return errOpInvalid("network '%s' is not persistent", n.name)
	}
	n.config = nil
	n.autostart = false
	if !n.active() {
		f.removeNetwork(n)
	}
	return nil
}

// NetworkSetAutostart records the autostart flag (the fake never reboots).
func (c *Conn) NetworkSetAutostart(Net libvirt.Network, Autostart int32) error {
	if err := c.enter("NetworkSetAutostart"); err != nil {
		return err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	n, err := c.f.lookupNetwork(Net)
	if err != nil {
		return err
	}
	if n.config == nil {
		return errOpInvalid("cannot set autostart for transient network")
	}
	n.autostart = Autostart != 0
	return nil
}

// startNetworksCheck is the QEMU driver's check at domain start: every
// <interface type='network'> must name a defined, active network.
func (f *Fake) startNetworksCheck(def *libvirtxml.Domain) error {
	for _, nic := range def.Devices.Interfaces {
		if nic.Source == nil || nic.Source.Network == nil {
			continue
		}
		name := nic.Source.Network.Network
		n := f.networkByName(name)
		if n == nil {
			return errNoNetworkName(name)
		}
		if !n.active() {
			return errOpInvalid("network '%s' is not active", name)
		}
	}
	return nil
}

// defineNetworksCheck rejects, at define time, interfaces on networks that
// do not exist (WithoutNetworkCheck turns it off; real libvirt only
// notices at start).
func (f *Fake) defineNetworksCheck(def *libvirtxml.Domain) error {
	if !f.opts.checkNetworks || def.Devices == nil {
		return nil
	}
	for _, nic := range def.Devices.Interfaces {
		if nic.Source != nil && nic.Source.Network != nil && f.networkByName(nic.Source.Network.Network) == nil {
			return errNoNetworkName(nic.Source.Network.Network)
		}
	}
	return nil
}
