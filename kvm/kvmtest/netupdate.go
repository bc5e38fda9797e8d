package kvmtest

import (
	"net"
	"strings"

	libvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"
)

// NetworkUpdateCompat changes a network's DHCP host reservations or DNS
// host records, live and/or in the persistent config, with the checks and
// error messages of libvirt 9.0's network driver (checked against it by
// the conformance suite). Other sections are not implemented by the fake
// and fail with ErrNoSupport.
func (c *Conn) NetworkUpdateCompat(Net libvirt.Network, Command libvirt.NetworkUpdateCommand, Section libvirt.NetworkUpdateSection, ParentIndex int32, XML string, Flags libvirt.NetworkUpdateFlags) error {
	if err := c.enter("NetworkUpdateCompat"); err != nil {
		return err
	}
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.lookupNetwork(Net)
	if err != nil {
		return err
	}
	live := Flags&libvirt.NetworkUpdateAffectLive != 0
	config := Flags&libvirt.NetworkUpdateAffectConfig != 0
	if !live && !config {
		if n.active() {
			live = true
		} else {
			config = true
		}
	}
	if live && !n.active() {
		return errOpInvalid("network is not running")
	}
	if config && n.config == nil {
		return errOpInvalid("cannot change persistent config of a transient network")
	}
	var targets []*libvirtxml.Network
	if config {
		targets = append(targets, n.config)
	}
	if live {
		targets = append(targets, n.live)
	}
	// Apply to copies first so a failure leaves everything unchanged.
	copies := make([]*libvirtxml.Network, len(targets))
	for i, t := range targets {
		cp, err := cloneNetwork(t)
		if err != nil {
			return errInternal("%v", err)
		}
		if err := updateSection(cp, Command, Section, ParentIndex, XML); err != nil {
			return err
		}
		copies[i] = cp
	}
	for i := range targets {
		*targets[i] = *copies[i]
	}
	return nil
}

func updateSection(def *libvirtxml.Network, cmd libvirt.NetworkUpdateCommand, sec libvirt.NetworkUpdateSection, parent int32, xml string) error {
	switch cmd {
	case libvirt.NetworkUpdateCommandModify, libvirt.NetworkUpdateCommandDelete, libvirt.NetworkUpdateCommandAddLast, libvirt.NetworkUpdateCommandAddFirst:
	default:
		return lverr(libvirt.ErrInvalidArg, "invalid argument: unrecognized network update command code %d", cmd)
	}
	switch sec {
	case libvirt.NetworkSectionIPDhcpHost:
		return updateDHCPHost(def, cmd, parent, xml)
	case libvirt.NetworkSectionDNSHost:
		return updateDNSHost(def, cmd, xml)
	}
	return lverr(libvirt.ErrNoSupport, "this function is not supported by the connection driver: kvmtest does not update network section %d", sec)
}

func nullable(s string) string {
	if s == "" {
		return "(null)"
	}
	return s
}

func updateDHCPHost(def *libvirtxml.Network, cmd libvirt.NetworkUpdateCommand, parent int32, xml string) error {
	var ipdef *libvirtxml.NetworkIP
	if parent < 0 {
		for i := range def.IPs {
			if a := net.ParseIP(def.IPs[i].Address); a != nil && a.To4() != nil {
				ipdef = &def.IPs[i]
				break
			}
		}
		if ipdef == nil {
			return errOpInvalid("can't update 'ip' section of network '%s' - no IPv4 addresses", def.Name)
		}
	} else {
		if int(parent) >= len(def.IPs) {
			return errOpInvalid("couldn't update 'ip' section of network '%s' - only %d addresses found", def.Name, len(def.IPs))
		}
		ipdef = &def.IPs[parent]
	}
	var host libvirtxml.NetworkDHCPHost
	if err := host.Unmarshal(xml); err != nil {
		return lverr(libvirt.ErrXMLDetail, "XML error: %v", err)
	}
	if host.XMLName.Local != "host" {
		return errXML("unknown network update section element <%s>, expecting <host>", host.XMLName.Local)
	}
	if host.MAC != "" {
		hw, err := net.ParseMAC(host.MAC)
		if err != nil {
			return errXML("Cannot parse MAC address '%s' in network '%s'", host.MAC, def.Name)
		}
		host.MAC = hw.String()
	}
	if host.IP != "" && net.ParseIP(host.IP) == nil {
		return errXML("Invalid IP address in static host definition for network '%s'", def.Name)
	}
	if cmd != libvirt.NetworkUpdateCommandDelete && host.MAC == "" && host.Name == "" {
		return errXML("Static host definition in IPv4 network '%s' must have mac or name attribute", def.Name)
	}
	if ipdef.DHCP == nil {
		ipdef.DHCP = &libvirtxml.NetworkDHCP{}
	}
	hosts := ipdef.DHCP.Hosts
	same := func(a, b string) bool { return a != "" && strings.EqualFold(a, b) }
	sameIP := func(a, b string) bool { return a != "" && b != "" && net.ParseIP(a).Equal(net.ParseIP(b)) }
	quoted := `"<host mac='` + nullable(host.MAC) + `' name='` + nullable(host.Name) + `' ip='` + nullable(host.IP) + `'/>"`
	switch cmd {
	case libvirt.NetworkUpdateCommandModify:
		for i, h := range hosts {
			if same(host.MAC, h.MAC) || same(host.Name, h.Name) || sameIP(host.IP, h.IP) {
				hosts[i] = host
				return nil
			}
		}
		return errOpInvalid(`couldn't locate an existing dhcp host entry with "mac='%s'" "name='%s'" "ip='%s'" in network '%s'`, nullable(host.MAC), nullable(host.Name), nullable(host.IP), def.Name)
	case libvirt.NetworkUpdateCommandDelete:
		for i, h := range hosts {
			if (host.MAC == "" || same(host.MAC, h.MAC)) && (host.Name == "" || host.Name == h.Name) && (host.IP == "" || sameIP(host.IP, h.IP)) {
				ipdef.DHCP.Hosts = append(hosts[:i], hosts[i+1:]...)
				return nil
			}
		}
		return errOpInvalid("couldn't locate a matching dhcp host entry in network '%s'", def.Name)
	default:
		for _, h := range hosts {
			if same(host.MAC, h.MAC) || same(host.Name, h.Name) || sameIP(host.IP, h.IP) {
				return errOpInvalid("there is an existing dhcp host entry in network '%s' that matches %s", def.Name, quoted)
			}
		}
		if cmd == libvirt.NetworkUpdateCommandAddFirst {
			ipdef.DHCP.Hosts = append([]libvirtxml.NetworkDHCPHost{host}, hosts...)
		} else {
			ipdef.DHCP.Hosts = append(hosts, host)
		}
		return nil
	}
}

// updateDNSHost follows libvirt 9.0 as observed: adding conflicts only
// with a record of the same IP (a known hostname on a new IP is accepted),
// while deleting looks for records with the same IP or any same hostname
// and refuses when there is more than one. The conformance suite pins
// both down.
func updateDNSHost(def *libvirtxml.Network, cmd libvirt.NetworkUpdateCommand, xml string) error {
	var host libvirtxml.NetworkDNSHost
	if err := host.Unmarshal(xml); err != nil {
		return lverr(libvirt.ErrXMLDetail, "XML error: %v", err)
	}
	if net.ParseIP(host.IP) == nil {
		return errXML("Invalid IP address in network '%s' DNS HOST record", def.Name)
	}
	if cmd != libvirt.NetworkUpdateCommandDelete && len(host.Hostnames) == 0 {
		return errXML("Missing hostname in network '%s' DNS HOST record", def.Name)
	}
	if def.DNS == nil {
		def.DNS = &libvirtxml.NetworkDNS{}
	}
	var found []int
	for i, h := range def.DNS.Host {
		match := net.ParseIP(h.IP).Equal(net.ParseIP(host.IP))
		if cmd == libvirt.NetworkUpdateCommandDelete {
			for _, a := range host.Hostnames {
				for _, b := range h.Hostnames {
					match = match || a.Hostname == b.Hostname
				}
			}
		}
		if match {
			found = append(found, i)
		}
	}
	switch cmd {
	case libvirt.NetworkUpdateCommandModify:
		return lverr(libvirt.ErrOperationUnsupported, "Operation not supported: DNS HOST records cannot be modified, only added or deleted")
	case libvirt.NetworkUpdateCommandDelete:
		switch len(found) {
		case 0:
			return errOpInvalid("couldn't locate a matching DNS HOST record in network %s", def.Name)
		case 1:
			i := found[0]
			def.DNS.Host = append(def.DNS.Host[:i], def.DNS.Host[i+1:]...)
			return nil
		}
		return errOpInvalid("multiple matching DNS HOST records were found in network %s", def.Name)
	default:
		if len(found) > 0 {
			return errOpInvalid("there is already at least one DNS HOST record with a matching field in network %s", def.Name)
		}
		if cmd == libvirt.NetworkUpdateCommandAddFirst {
			def.DNS.Host = append([]libvirtxml.NetworkDNSHost{host}, def.DNS.Host...)
		} else {
			def.DNS.Host = append(def.DNS.Host, host)
		}
		return nil
	}
}
