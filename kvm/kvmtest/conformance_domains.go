package kvmtest

import (
	"strings"
	"testing"
	"time"

	libvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/okvm/okvm/kvm"
)

func (s *suite) connection(t *testing.T) {
	c := s.conn(t)
	v, err := c.ConnectGetLibVersion()
	must(t, "ConnectGetLibVersion", err)
	if v < 9000000 {
		t.Errorf("libvirt version %d, want >= 9.0.0", v)
	}
	uri, err := c.ConnectGetUri()
	must(t, "ConnectGetUri", err)
	if !strings.Contains(uri, ":///") {
		t.Errorf("URI %q does not look like a libvirt URI", uri)
	}
	caps, err := c.ConnectGetCapabilities()
	must(t, "ConnectGetCapabilities", err)
	var cp libvirtxml.Caps
	must(t, "parse capabilities", cp.Unmarshal(caps))
	found := false
	for _, g := range cp.Guests {
		if g.OSType == "hvm" && len(g.Arch.Domains) > 0 {
			found = true
		}
	}
	if !found {
		t.Errorf("capabilities offer no hvm guest:\n%s", caps)
	}
}

func (s *suite) domainDefineLookup(t *testing.T) {
	c := s.conn(t)
	name := s.name(t, "define")
	cleanupDomain(t, c, name)
	d, err := c.DomainDefineXMLFlags(tinyDomainXML(name, "q35"), 0)
	must(t, "define", err)
	var zero libvirt.UUID
	if d.Name != name || d.UUID == zero || d.ID != -1 {
		t.Errorf("define returned %+v: want name %s, a UUID and ID -1", d, name)
	}
	got, err := c.DomainLookupByName(name)
	must(t, "lookup", err)
	if got.UUID != d.UUID {
		t.Errorf("lookup UUID %x, define gave %x", got.UUID, d.UUID)
	}
	st, reason, err := c.DomainGetState(d, 0)
	must(t, "state", err)
	if libvirt.DomainState(st) != libvirt.DomainShutoff || reason != int32(libvirt.DomainShutoffUnknown) {
		t.Errorf("state of a defined domain: %d/%d, want shutoff/unknown", st, reason)
	}
	_, err = c.DomainLookupByName(name + "-missing")
	wantCode(t, "lookup missing", err, libvirt.ErrNoDomain, "Domain not found")
	s.driverCode(t, "lookup missing", err, libvirt.ErrNoDomain, "Domain not found: no domain with matching name '"+name+"-missing'")

	x, err := c.DomainGetXMLDesc(d, 0)
	must(t, "GetXMLDesc", err)
	var def libvirtxml.Domain
	must(t, "parse XML", def.Unmarshal(x))
	if def.UUID != formatUUID(d.UUID) || def.Name != name {
		t.Errorf("XML name/uuid %s/%s, want %s/%s", def.Name, def.UUID, name, formatUUID(d.UUID))
	}
	if def.Memory == nil || def.Memory.Value != 65536 || def.Memory.Unit != "KiB" {
		t.Errorf("memory %+v, want 65536 KiB", def.Memory)
	}
	doms, n, err := c.ConnectListAllDomains(-1, libvirt.ConnectListDomainsInactive)
	must(t, "list", err)
	if int(n) != len(doms) || !containsDomain(doms, name) {
		t.Errorf("inactive list (%d) lacks %s: %v", n, name, doms)
	}
	doms, _, err = c.ConnectListAllDomains(-1, libvirt.ConnectListDomainsActive)
	must(t, "list active", err)
	if containsDomain(doms, name) {
		t.Errorf("active list has shut-off %s", name)
	}
	must(t, "undefine", c.DomainUndefineFlags(d, 0))
	_, _, err = c.DomainGetState(d, 0)
	wantCode(t, "state after undefine", err, libvirt.ErrNoDomain, "Domain not found")
}

func containsDomain(doms []libvirt.Domain, name string) bool {
	for _, d := range doms {
		if d.Name == name {
			return true
		}
	}
	return false
}

func (s *suite) domainDuplicates(t *testing.T) {
	c := s.conn(t)
	events := subscribe(t, c)
	name := s.name(t, "dup")
	cleanupDomain(t, c, name)
	cleanupDomain(t, c, name+"-other")
	d, err := c.DomainDefineXMLFlags(tinyDomainXML(name, "pc"), 0)
	must(t, "define", err)
	uuid := formatUUID(d.UUID)

	// Same name, no UUID: libvirt generates one, which then clashes.
	_, err = c.DomainDefineXMLFlags(tinyDomainXML(name, "pc"), 0)
	wantCode(t, "same name, new UUID", err, libvirt.ErrOperationFailed, "domain '"+name+"' already exists with uuid "+uuid)

	// Same UUID, other name.
	other := strings.Replace(tinyDomainXML(name+"-other", "pc"), "</name>", "</name><uuid>"+uuid+"</uuid>", 1)
	_, err = c.DomainDefineXMLFlags(other, 0)
	wantCode(t, "same UUID, other name", err, libvirt.ErrOperationFailed, "domain '"+name+"' is already defined with uuid "+uuid)

	// Same name and UUID: the persistent config is replaced.
	again := strings.Replace(tinyDomainXML(name, "pc"), "</name>", "</name><uuid>"+uuid+"</uuid>", 1)
	again = strings.Replace(again, ">64<", ">96<", 1)
	d2, err := c.DomainDefineXMLFlags(again, 0)
	must(t, "redefine", err)
	if d2.UUID != d.UUID {
		t.Errorf("redefine changed the UUID")
	}
	x, err := c.DomainGetXMLDesc(d2, libvirt.DomainXMLInactive)
	must(t, "GetXMLDesc", err)
	var def libvirtxml.Domain
	must(t, "parse", def.Unmarshal(x))
	if def.Memory.Value != 96*1024 {
		t.Errorf("redefined memory %d KiB, want %d", def.Memory.Value, 96*1024)
	}
	collectEvents(t, events, name, [][2]int32{
		{int32(libvirt.DomainEventDefined), int32(libvirt.DomainEventDefinedAdded)},
		{int32(libvirt.DomainEventDefined), int32(libvirt.DomainEventDefinedUpdated)},
	}, 10*time.Second)
}

func (s *suite) domainInvalidXML(t *testing.T) {
	c := s.conn(t)
	name := s.name(t, "bad")
	cleanupDomain(t, c, name)
	_, err := c.DomainDefineXMLFlags("<domain type='qemu'><name>"+name+"</name", 0)
	wantCode(t, "unparseable XML", err, libvirt.ErrXMLDetail, "")
	_, err = c.DomainDefineXMLFlags("<domain type='qemu'><memory>65536</memory></domain>", 0)
	wantCode(t, "no name", err, libvirt.ErrNoName, "")
	_, err = c.DomainDefineXMLFlags("<domain><name>"+name+"</name><memory>65536</memory></domain>", 0)
	s.driverCode(t, "no type", err, libvirt.ErrInternalError, "missing domain type attribute")
	_, err = c.DomainDefineXMLFlags("<domain type='qemu'><name>"+name+"</name><memory>65536</memory></domain>", 0)
	s.driverCode(t, "no os type", err, libvirt.ErrXMLError, "an os <type> must be specified")
	_, err = c.DomainDefineXMLFlags(strings.Replace(tinyDomainXML(name, "q35"), ">64<", ">0<", 1), 0)
	s.driverCode(t, "no memory", err, libvirt.ErrXMLError, "Memory size must be specified via <memory> or in the <numa> configuration")
	_, err = c.DomainDefineXMLFlags(strings.Replace(tinyDomainXML(name, "q35"), "type='qemu'", "type='xen'", 1), 0)
	s.driverCode(t, "xen type", err, libvirt.ErrConfigUnsupported, "does not support virt type 'xen'")
	_, err = c.DomainDefineXMLFlags(strings.Replace(tinyDomainXML(name, "virt"), "x86_64", "aarch64", 1), 0)
	s.driverCode(t, "aarch64", err, libvirt.ErrConfigUnsupported, "No emulator found for arch 'aarch64'")
	if s.h.has(CapDriverSemantics) && !s.offersKVM(t, c) {
		_, err = c.DomainDefineXMLFlags(strings.Replace(tinyDomainXML(name, "q35"), "type='qemu'", "type='kvm'", 1), 0)
		wantCode(t, "kvm type without KVM", err, libvirt.ErrConfigUnsupported, "does not support virt type 'kvm'")
	}
	s.h.need(t, CapPCIAddressing)
	bad := tinyDomainXML(name, "q35", "<interface type='network'><source network='default'/><model type='virtio'/><address type='pci' domain='0x0000' bus='0x00' slot='0x28' function='0x0'/></interface>")
	_, err = c.DomainDefineXMLFlags(bad, 0)
	wantCode(t, "PCI slot 0x28", err, libvirt.ErrXMLError, "Invalid PCI address slot='0x28', must be <= 0x1F")
	dbl := tinyDomainXML(name, "pc",
		"<interface type='network'><source network='default'/><model type='virtio'/><address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/></interface>",
		"<interface type='network'><source network='default'/><model type='virtio'/><address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/></interface>")
	_, err = c.DomainDefineXMLFlags(dbl, 0)
	wantCode(t, "double use", err, libvirt.ErrXMLError, "Attempted double use of PCI Address 0000:00:05.0")
	// libvirt 9.0 does not check the machine type at define: it adds no
	// chipset and then has nowhere to put the memory balloon.
	_, err = c.DomainDefineXMLFlags(tinyDomainXML(name, "no-such-machine"), 0)
	wantCode(t, "unknown machine", err, libvirt.ErrXMLError, "No PCI buses available")
	_, err = c.DomainDefineXMLFlags(tinyDomainXML(name, "q35", "<interface type='network'><mac address='01:00:00:00:00:01'/><source network='default'/></interface>"), 0)
	wantCode(t, "multicast MAC", err, libvirt.ErrXMLError, "expected unicast mac address, found multicast '01:00:00:00:00:01'")
}

// offersKVM: the capabilities list a 'kvm' domain type.
func (s *suite) offersKVM(t *testing.T, c kvm.Libvirt) bool {
	x, err := c.ConnectGetCapabilities()
	must(t, "capabilities", err)
	var cp libvirtxml.Caps
	must(t, "parse capabilities", cp.Unmarshal(x))
	for _, g := range cp.Guests {
		for _, d := range g.Arch.Domains {
			if d.Type == "kvm" {
				return true
			}
		}
	}
	return false
}

// startable is a domain the backend can start: no NIC unless a network is
// given.
func (s *suite) startable(name string) string { return tinyDomainXML(name, "q35") }

func (s *suite) domainLifecycle(t *testing.T) {
	s.h.need(t, CapStartDomains)
	c := s.conn(t)
	events := subscribe(t, c)
	name := s.name(t, "life")
	cleanupDomain(t, c, name)
	d, err := c.DomainDefineXMLFlags(s.startable(name), 0)
	must(t, "define", err)
	must(t, "create", c.DomainCreate(d))
	reason := waitState(t, c, d, libvirt.DomainRunning, 30*time.Second)
	if reason != int32(libvirt.DomainRunningBooted) {
		t.Errorf("running reason %d, want booted", reason)
	}
	h, err := c.DomainLookupByName(name)
	must(t, "lookup", err)
	if h.ID <= 0 {
		t.Errorf("running domain ID %d, want > 0", h.ID)
	}
	x, err := c.DomainGetXMLDesc(h, 0)
	must(t, "GetXMLDesc", err)
	var def libvirtxml.Domain
	must(t, "parse", def.Unmarshal(x))
	if def.ID == nil || *def.ID != int(h.ID) {
		t.Errorf("live XML id %v, want %d", def.ID, h.ID)
	}
	doms, _, err := c.ConnectListAllDomains(-1, libvirt.ConnectListDomainsActive)
	must(t, "list active", err)
	if !containsDomain(doms, name) {
		t.Errorf("active list lacks running %s", name)
	}
	s.driverCode(t, "create running", c.DomainCreate(d), libvirt.ErrOperationInvalid, "domain is already running")
	ifs, err := c.DomainInterfaceAddresses(h, uint32(libvirt.DomainInterfaceAddressesSrcLease), 0)
	must(t, "lease addresses of a NIC-less domain", err)
	if len(ifs) != 0 {
		t.Errorf("NIC-less domain has addresses %+v", ifs)
	}
	_, err = c.DomainInterfaceAddresses(h, uint32(libvirt.DomainInterfaceAddressesSrcAgent), 0)
	s.driverCode(t, "agent addresses without an agent channel", err, libvirt.ErrArgumentUnsupported, "QEMU guest agent is not configured")
	must(t, "reboot", c.DomainReboot(h, 0))
	must(t, "destroy", c.DomainDestroy(h))
	reason = waitState(t, c, d, libvirt.DomainShutoff, 10*time.Second)
	if reason != int32(libvirt.DomainShutoffDestroyed) {
		t.Errorf("shutoff reason %d, want destroyed", reason)
	}
	s.driverCode(t, "destroy shut-off", c.DomainDestroy(d), libvirt.ErrOperationInvalid, "domain is not running")
	s.driverCode(t, "shutdown shut-off", c.DomainShutdown(d), libvirt.ErrOperationInvalid, "domain is not running")
	s.driverCode(t, "reboot shut-off", c.DomainReboot(d, 0), libvirt.ErrOperationInvalid, "domain is not running")
	_, err = c.DomainInterfaceAddresses(d, uint32(libvirt.DomainInterfaceAddressesSrcLease), 0)
	s.driverCode(t, "addresses of a shut-off domain", err, libvirt.ErrOperationInvalid, "domain is not running")
	must(t, "undefine", c.DomainUndefineFlags(d, 0))
	collectEvents(t, events, name, [][2]int32{
		{int32(libvirt.DomainEventDefined), int32(libvirt.DomainEventDefinedAdded)},
		{int32(libvirt.DomainEventStarted), int32(libvirt.DomainEventStartedBooted)},
		{int32(libvirt.DomainEventStopped), int32(libvirt.DomainEventStoppedDestroyed)},
		{int32(libvirt.DomainEventUndefined), int32(libvirt.DomainEventUndefinedRemoved)},
	}, 10*time.Second)
}

func (s *suite) domainUndefineRunning(t *testing.T) {
	s.h.need(t, CapStartDomains)
	c := s.conn(t)
	events := subscribe(t, c)
	name := s.name(t, "transient")
	cleanupDomain(t, c, name)
	d, err := c.DomainDefineXMLFlags(s.startable(name), 0)
	must(t, "define", err)
	must(t, "create", c.DomainCreate(d))
	waitState(t, c, d, libvirt.DomainRunning, 30*time.Second)
	must(t, "undefine running", c.DomainUndefineFlags(d, 0))
	doms, _, err := c.ConnectListAllDomains(-1, libvirt.ConnectListDomainsTransient)
	must(t, "list transient", err)
	if !containsDomain(doms, name) {
		t.Errorf("undefined running domain is not listed as transient")
	}
	must(t, "destroy", c.DomainDestroy(d))
	_, err = c.DomainLookupByName(name)
	wantCode(t, "lookup after destroying a transient domain", err, libvirt.ErrNoDomain, "")
	collectEvents(t, events, name, [][2]int32{
		{int32(libvirt.DomainEventStarted), int32(libvirt.DomainEventStartedBooted)},
		{int32(libvirt.DomainEventUndefined), int32(libvirt.DomainEventUndefinedRemoved)},
		{int32(libvirt.DomainEventStopped), int32(libvirt.DomainEventStoppedDestroyed)},
	}, 10*time.Second)
}

func (s *suite) domainShutdown(t *testing.T) {
	s.h.need(t, CapStartDomains)
	c := s.conn(t)
	events := subscribe(t, c)
	name := s.name(t, "shutdown")
	cleanupDomain(t, c, name)
	d, err := c.DomainDefineXMLFlags(s.startable(name), 0)
	must(t, "define", err)
	must(t, "create", c.DomainCreate(d))
	waitState(t, c, d, libvirt.DomainRunning, 30*time.Second)
	must(t, "shutdown", c.DomainShutdown(d))
	if !s.h.has(CapACPIShutdown) {
		time.Sleep(time.Second)
		st, _, err := c.DomainGetState(d, 0)
		must(t, "state", err)
		if libvirt.DomainState(st) != libvirt.DomainRunning {
			t.Errorf("%s: a guest that ignores ACPI stopped (state %d)", s.h.Name, st)
		}
		return
	}
	reason := waitState(t, c, d, libvirt.DomainShutoff, 30*time.Second)
	if reason != int32(libvirt.DomainShutoffShutdown) {
		t.Errorf("shutoff reason %d, want shutdown", reason)
	}
	collectEvents(t, events, name, [][2]int32{
		{int32(libvirt.DomainEventStarted), int32(libvirt.DomainEventStartedBooted)},
		{int32(libvirt.DomainEventStopped), int32(libvirt.DomainEventStoppedShutdown)},
	}, 10*time.Second)
}

// agentChannel: a guest-agent channel without an agent behind it.
func (s *suite) agentChannel(t *testing.T) {
	s.h.need(t, CapStartDomains)
	c := s.conn(t)
	name := s.name(t, "agent")
	cleanupDomain(t, c, name)
	d, err := c.DomainDefineXMLFlags(tinyDomainXML(name, "q35", "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"), 0)
	must(t, "define", err)
	must(t, "create", c.DomainCreate(d))
	_, err = c.DomainInterfaceAddresses(d, uint32(libvirt.DomainInterfaceAddressesSrcAgent), 0)
	s.driverCode(t, "agent addresses, agent not running", err, libvirt.ErrAgentUnresponsive, "QEMU guest agent is not connected")
	must(t, "destroy", c.DomainDestroy(d))
}

func (s *suite) domainNvram(t *testing.T) {
	s.h.need(t, CapStartDomains, CapNvram)
	c := s.conn(t)
	name := s.name(t, "nvram")
	cleanupDomain(t, c, name)
	x := strings.Replace(s.startable(name), "</os>", "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader><nvram>/var/lib/libvirt/qemu/nvram/"+name+"_VARS.fd</nvram></os>", 1)
	d, err := c.DomainDefineXMLFlags(x, 0)
	must(t, "define", err)
	must(t, "create", c.DomainCreate(d))
	must(t, "destroy", c.DomainDestroy(d))
	wantCode(t, "undefine with nvram", c.DomainUndefineFlags(d, 0), libvirt.ErrOperationInvalid, "cannot undefine domain with nvram")
	must(t, "undefine --nvram", c.DomainUndefineFlags(d, libvirt.DomainUndefineNvram))
}

func (s *suite) events(t *testing.T) {
	c1, c2 := s.conn(t), s.conn(t)
	ev1, ev2 := subscribe(t, c1), subscribe(t, c2)
	name := s.name(t, "events")
	cleanupDomain(t, c1, name)
	d, err := c1.DomainDefineXMLFlags(tinyDomainXML(name, "pc"), 0)
	must(t, "define", err)
	must(t, "undefine", c1.DomainUndefineFlags(d, 0))
	want := [][2]int32{
		{int32(libvirt.DomainEventDefined), int32(libvirt.DomainEventDefinedAdded)},
		{int32(libvirt.DomainEventUndefined), int32(libvirt.DomainEventUndefinedRemoved)},
	}
	collectEvents(t, ev1, name, want, 10*time.Second)
	collectEvents(t, ev2, name, want, 10*time.Second)
}
