package kvmtest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	libvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/okvm/okvm/kvm"
)

// netXML is a NAT network on the suite's /24 with a DHCP range, one
// reservation and one DNS host.
func (s *suite) netXML(name string) string {
	p := s.h.Subnet
	return fmt.Sprintf(`<network><name>%s</name><forward mode='nat'/>
<dns><host ip='%[2]s.10'><hostname>one.example</hostname></host></dns>
<ip address='%[2]s.1' netmask='255.255.255.0'><dhcp>
<range start='%[2]s.100' end='%[2]s.199'/>
<host mac='52:54:00:7e:00:01' name='one' ip='%[2]s.10'/>
</dhcp></ip></network>`, name, p)
}

func (s *suite) networks(t *testing.T) {
	s.h.need(t, CapNetworks)
	c := s.conn(t)
	name := s.name(t, "net")
	cleanupNetwork(t, c, name)
	n, err := c.NetworkDefineXML(s.netXML(name))
	must(t, "define", err)
	var zero libvirt.UUID
	if n.Name != name || n.UUID == zero {
		t.Errorf("define returned %+v", n)
	}
	_, err = c.NetworkDefineXML(s.netXML(name))
	wantCode(t, "define again (new UUID)", err, libvirt.ErrOperationFailed, "network '"+name+"' already exists with uuid "+formatUUID(n.UUID))
	_, err = c.NetworkLookupByName(name + "-missing")
	wantCode(t, "lookup missing", err, libvirt.ErrNoNetwork, "Network not found: no network with matching name '"+name+"-missing'")
	x, err := c.NetworkGetXMLDesc(n, 0)
	must(t, "GetXMLDesc", err)
	var def libvirtxml.Network
	must(t, "parse", def.Unmarshal(x))
	if s.h.has(CapDriverSemantics) && (def.Bridge == nil || !strings.HasPrefix(def.Bridge.Name, "virbr") || def.MAC == nil) {
		t.Errorf("defined network has no virbrN bridge or MAC:\n%s", x)
	}
	if a, err := c.NetworkIsActive(n); err != nil || a != 0 {
		t.Errorf("IsActive before create: %d, %v", a, err)
	}
	s.driverCode(t, "destroy inactive", c.NetworkDestroy(n), libvirt.ErrOperationInvalid, "network '"+name+"' is not active")
	must(t, "create", c.NetworkCreate(n))
	if a, err := c.NetworkIsActive(n); err != nil || a != 1 {
		t.Errorf("IsActive after create: %d, %v", a, err)
	}
	s.driverCode(t, "create active", c.NetworkCreate(n), libvirt.ErrOperationInvalid, "network is already active")
	nets, _, err := c.ConnectListAllNetworks(-1, libvirt.ConnectListNetworksActive)
	must(t, "list", err)
	found := false
	for _, x := range nets {
		found = found || x.Name == name
	}
	if !found {
		t.Errorf("active list lacks %s", name)
	}
	must(t, "autostart", c.NetworkSetAutostart(n, 1))
	must(t, "destroy", c.NetworkDestroy(n))
	must(t, "undefine", c.NetworkUndefine(n))
	_, err = c.NetworkLookupByName(name)
	wantCode(t, "lookup undefined", err, libvirt.ErrNoNetwork, "")
}

func (s *suite) networkUpdate(t *testing.T) {
	s.h.need(t, CapNetworks)
	c := s.conn(t)
	name := s.name(t, "upd")
	cleanupNetwork(t, c, name)
	n, err := c.NetworkDefineXML(s.netXML(name))
	must(t, "define", err)
	p := s.h.Subnet
	both := libvirt.NetworkUpdateAffectLive | libvirt.NetworkUpdateAffectConfig
	host := func(mac, name, ip string) string {
		h := "<host mac='" + mac + "'"
		if name != "" {
			h += " name='" + name + "'"
		}
		return h + " ip='" + ip + "'/>"
	}
	upd := func(cmd libvirt.NetworkUpdateCommand, sec libvirt.NetworkUpdateSection, xml string, fl libvirt.NetworkUpdateFlags) error {
		return c.NetworkUpdateCompat(n, cmd, sec, -1, xml, fl)
	}
	wantCode(t, "live update of inactive network", upd(libvirt.NetworkUpdateCommandAddLast, libvirt.NetworkSectionIPDhcpHost, host("52:54:00:7e:00:02", "", p+".11"), libvirt.NetworkUpdateAffectLive), libvirt.ErrOperationInvalid, "network is not running")
	must(t, "create", c.NetworkCreate(n))

	must(t, "add-last dhcp host", upd(libvirt.NetworkUpdateCommandAddLast, libvirt.NetworkSectionIPDhcpHost, host("52:54:00:7e:00:02", "two", p+".11"), both))
	must(t, "add-first dhcp host", upd(libvirt.NetworkUpdateCommandAddFirst, libvirt.NetworkSectionIPDhcpHost, host("52:54:00:7e:00:03", "", p+".12"), both))
	flagSets := []uint32{0}
	if s.h.has(CapDriverSemantics) { // the test driver has no inactive network XML
		flagSets = append(flagSets, uint32(libvirt.NetworkXMLInactive))
	}
	for _, fl := range flagSets {
		hosts := dhcpHosts(t, c, n, fl)
		want := []string{"52:54:00:7e:00:03", "52:54:00:7e:00:01", "52:54:00:7e:00:02"}
		if strings.Join(hosts, ",") != strings.Join(want, ",") {
			t.Errorf("dhcp hosts (flags %d): %v, want %v", fl, hosts, want)
		}
	}
	wantCode(t, "add duplicate MAC", upd(libvirt.NetworkUpdateCommandAddLast, libvirt.NetworkSectionIPDhcpHost, host("52:54:00:7e:00:01", "", p+".13"), both),
		libvirt.ErrOperationInvalid, `there is an existing dhcp host entry in network '`+name+`' that matches "<host mac='52:54:00:7e:00:01' name='(null)' ip='`+p+`.13'/>"`)
	wantCode(t, "add duplicate IP", upd(libvirt.NetworkUpdateCommandAddLast, libvirt.NetworkSectionIPDhcpHost, host("52:54:00:7e:00:09", "", p+".10"), both),
		libvirt.ErrOperationInvalid, "there is an existing dhcp host entry")
	wantCode(t, "modify missing", upd(libvirt.NetworkUpdateCommandModify, libvirt.NetworkSectionIPDhcpHost, host("52:54:00:7e:00:99", "", p+".99"), both),
		libvirt.ErrOperationInvalid, `couldn't locate an existing dhcp host entry with "mac='52:54:00:7e:00:99'" "name='(null)'" "ip='`+p+`.99'" in network '`+name+`'`)
	must(t, "modify", upd(libvirt.NetworkUpdateCommandModify, libvirt.NetworkSectionIPDhcpHost, host("52:54:00:7e:00:02", "two", p+".21"), both))
	wantCode(t, "delete with wrong IP", upd(libvirt.NetworkUpdateCommandDelete, libvirt.NetworkSectionIPDhcpHost, host("52:54:00:7e:00:02", "", p+".11"), both),
		libvirt.ErrOperationInvalid, "couldn't locate a matching dhcp host entry in network '"+name+"'")
	must(t, "delete", upd(libvirt.NetworkUpdateCommandDelete, libvirt.NetworkSectionIPDhcpHost, host("52:54:00:7e:00:02", "", p+".21"), both))
	if hosts := dhcpHosts(t, c, n, 0); len(hosts) != 2 {
		t.Errorf("after delete: %v", hosts)
	}

	dns := func(ip, hn string) string {
		return "<host ip='" + ip + "'><hostname>" + hn + "</hostname></host>"
	}
	must(t, "add dns host", upd(libvirt.NetworkUpdateCommandAddLast, libvirt.NetworkSectionDNSHost, dns(p+".11", "two.example"), both))
	wantCode(t, "add dns host, same IP", upd(libvirt.NetworkUpdateCommandAddLast, libvirt.NetworkSectionDNSHost, dns(p+".11", "other.example"), both),
		libvirt.ErrOperationInvalid, "there is already at least one DNS HOST record with a matching field in network "+name)
	// libvirt 9.0 adds by IP only: a new IP with a known hostname is
	// accepted. Deleting matches IP or hostname, so now two records match.
	must(t, "add dns host, same name", upd(libvirt.NetworkUpdateCommandAddLast, libvirt.NetworkSectionDNSHost, dns(p+".12", "two.example"), both))
	wantCode(t, "delete ambiguous dns host", upd(libvirt.NetworkUpdateCommandDelete, libvirt.NetworkSectionDNSHost, dns(p+".99", "two.example"), both),
		libvirt.ErrOperationInvalid, "multiple matching DNS HOST records were found in network "+name)
	must(t, "delete dns host by IP", upd(libvirt.NetworkUpdateCommandDelete, libvirt.NetworkSectionDNSHost, dns(p+".11", "zz.example"), both))
	wantCode(t, "modify dns host", upd(libvirt.NetworkUpdateCommandModify, libvirt.NetworkSectionDNSHost, dns(p+".11", "two.example"), both),
		libvirt.ErrOperationUnsupported, "DNS HOST records cannot be modified, only added or deleted")
	wantCode(t, "delete missing dns host", upd(libvirt.NetworkUpdateCommandDelete, libvirt.NetworkSectionDNSHost, dns(p+".77", "nope.example"), both),
		libvirt.ErrOperationInvalid, "couldn't locate a matching DNS HOST record in network "+name)
	must(t, "delete dns host", upd(libvirt.NetworkUpdateCommandDelete, libvirt.NetworkSectionDNSHost, dns(p+".12", "two.example"), both))
	must(t, "re-add dns host", upd(libvirt.NetworkUpdateCommandAddFirst, libvirt.NetworkSectionDNSHost, dns(p+".13", "three.example"), both))
	if !s.h.has(CapDriverSemantics) {
		return
	}
	x, err := c.NetworkGetXMLDesc(n, uint32(libvirt.NetworkXMLInactive))
	must(t, "GetXMLDesc", err)
	var def libvirtxml.Network
	must(t, "parse", def.Unmarshal(x))
	if def.DNS == nil || len(def.DNS.Host) != 2 {
		t.Errorf("persistent DNS hosts after updates:\n%s", x)
	}

	// Config-only changes leave the running network alone.
	must(t, "config-only add", upd(libvirt.NetworkUpdateCommandAddLast, libvirt.NetworkSectionIPDhcpHost, host("52:54:00:7e:00:05", "", p+".15"), libvirt.NetworkUpdateAffectConfig))
	if l, cfg := dhcpHosts(t, c, n, 0), dhcpHosts(t, c, n, uint32(libvirt.NetworkXMLInactive)); len(l) != 2 || len(cfg) != 3 {
		t.Errorf("config-only update: live %v, config %v", l, cfg)
	}
}

func dhcpHosts(t *testing.T, c kvm.Libvirt, n libvirt.Network, flags uint32) []string {
	t.Helper()
	x, err := c.NetworkGetXMLDesc(n, flags)
	must(t, "GetXMLDesc", err)
	var def libvirtxml.Network
	must(t, "parse", def.Unmarshal(x))
	var out []string
	for _, ip := range def.IPs {
		if ip.DHCP != nil {
			for _, h := range ip.DHCP.Hosts {
				out = append(out, h.MAC)
			}
		}
	}
	return out
}

func (s *suite) unknownNetwork(t *testing.T) {
	c := s.conn(t)
	name := s.name(t, "nonet")
	cleanupDomain(t, c, name)
	missing := s.name(t, "no-such-net")
	d, err := c.DomainDefineXMLFlags(tinyDomainXML(name, "q35", nicXML(missing, "")), 0)
	if s.h.has(CapUnknownNetworkAtDefine) {
		wantCode(t, "define on unknown network", err, libvirt.ErrNoNetwork, "no network with matching name '"+missing+"'")
		return
	}
	must(t, "define on unknown network", err)
	if !s.h.has(CapStartDomains) {
		return
	}
	err = c.DomainCreate(d)
	if s.h.has(CapUnknownNetworkAtStart) {
		wantCode(t, "start on unknown network", err, libvirt.ErrNoNetwork, "no network with matching name '"+missing+"'")
		return
	}
	if err != nil {
		t.Errorf("%s: start on unknown network failed, but the backend declares no such check: %v", s.h.Name, err)
	}
}

// inactiveNetwork: a domain on a defined but stopped network does not start.
func (s *suite) inactiveNetwork(t *testing.T) {
	s.h.need(t, CapNetworks, CapStartDomains, CapDriverSemantics)
	c := s.conn(t)
	netName := s.name(t, "down")
	cleanupNetwork(t, c, netName)
	_, err := c.NetworkDefineXML(s.netXML(netName))
	must(t, "define network", err)
	name := s.name(t, "ondown")
	cleanupDomain(t, c, name)
	d, err := c.DomainDefineXMLFlags(tinyDomainXML(name, "q35", nicXML(netName, "")), 0)
	must(t, "define", err)
	wantCode(t, "start on inactive network", c.DomainCreate(d), libvirt.ErrOperationInvalid, "network '"+netName+"' is not active")
}

func (s *suite) leases(t *testing.T) {
	s.h.need(t, CapNetworks, CapStartDomains, CapLeases)
	c := s.conn(t)
	netName := s.name(t, "lnet")
	cleanupNetwork(t, c, netName)
	n, err := c.NetworkDefineXML(s.netXML(netName))
	must(t, "define network", err)
	must(t, "create network", c.NetworkCreate(n))
	name := s.name(t, "leased")
	cleanupDomain(t, c, name)
	d, err := c.DomainDefineXMLFlags(tinyDomainXML(name, "q35", nicXML(netName, "52:54:00:7e:00:01"), nicXML(netName, "52:54:00:7e:00:42")), 0)
	must(t, "define", err)
	must(t, "create", c.DomainCreate(d))
	p := s.h.Subnet
	want := map[string]string{"52:54:00:7e:00:01": p + ".10", "52:54:00:7e:00:42": p + ".100"}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ls, _, err := c.NetworkGetDhcpLeases(n, nil, -1, 0)
		must(t, "leases", err)
		got := map[string]string{}
		for _, l := range ls {
			if len(l.Mac) > 0 {
				got[l.Mac[0]] = l.Ipaddr
			}
		}
		if len(got) == 2 {
			for mac, ip := range want {
				if got[mac] != ip {
					t.Errorf("lease of %s: %s, want %s", mac, got[mac], ip)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leases: %v, want %v", got, want)
		}
		time.Sleep(time.Second)
	}
	ifs, err := c.DomainInterfaceAddresses(d, uint32(libvirt.DomainInterfaceAddressesSrcLease), 0)
	must(t, "DomainInterfaceAddresses", err)
	if len(ifs) != 2 {
		t.Fatalf("interfaces with addresses: %+v", ifs)
	}
	for _, i := range ifs {
		if len(i.Hwaddr) != 1 || len(i.Addrs) != 1 || i.Addrs[0].Addr != want[i.Hwaddr[0]] || i.Addrs[0].Prefix != 24 {
			t.Errorf("interface %+v, want %v/24", i, want)
		}
	}
	ls, _, err := c.NetworkGetDhcpLeases(n, libvirt.OptString{"52:54:00:7e:00:42"}, -1, 0)
	must(t, "leases for one MAC", err)
	if len(ls) != 1 || ls[0].Ipaddr != p+".100" {
		t.Errorf("leases for one MAC: %+v", ls)
	}
	_, err = c.DomainInterfaceAddresses(d, uint32(libvirt.DomainInterfaceAddressesSrcAgent), 0)
	wantCode(t, "agent source", err, libvirt.ErrArgumentUnsupported, "QEMU guest agent is not configured")
}
