package kvmtest

import (
	"time"

	libvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"
)

// domain is one domain object in the daemon. config is the persistent
// definition (nil for a transient domain: one undefined while running);
// live is the running definition, a copy of config taken at start.
type domain struct {
	name   string
	uuid   libvirt.UUID
	config *libvirtxml.Domain
	live   *libvirtxml.Domain
	state  libvirt.DomainState
	reason int32
	id     int32
	// nvram is set once the domain has started with a UEFI variable store:
	// like libvirt, undefine then needs an nvram flag.
	nvram bool
	// shutdown is the pending delayed ACPI power-off, if any.
	shutdown *time.Timer
	// leases are the addresses handed out at start, by MAC.
	leases []*lease
}

func (d *domain) active() bool {
	return d.state == libvirt.DomainRunning || d.state == libvirt.DomainPaused
}

func (d *domain) handle() libvirt.Domain {
	id := int32(-1)
	if d.active() {
		id = d.id
	}
	return libvirt.Domain{Name: d.name, UUID: d.uuid, ID: id}
}

// current is the definition libvirt reports without VIR_DOMAIN_XML_INACTIVE.
func (d *domain) current() *libvirtxml.Domain {
	if d.live != nil {
		return d.live
	}
	return d.config
}

// lookupDomain resolves a handle the way libvirt's remote driver does: by
// UUID (go-libvirt sends both, the daemon looks the UUID up).
// lockDomain is the prologue of every RPC on one domain: the connection's
// checks and failure hooks (enter), the daemon lock, and the lookup. On
// success the lock is held until unlock is called.
func (c *Conn) lockDomain(method string, h libvirt.Domain) (f *Fake, d *domain, unlock func(), err error) {
	if err := c.enter(method); err != nil {
		return nil, nil, nil, err
	}
	f = c.f
	f.mu.Lock()
	d, err = f.lookupDomain(h)
	if err != nil {
		f.mu.Unlock()
		return nil, nil, nil, err
	}
	return f, d, f.mu.Unlock, nil
}

func (f *Fake) lookupDomain(h libvirt.Domain) (*domain, error) {
	var zero libvirt.UUID
	for _, d := range f.domains {
		if h.UUID != zero && d.uuid == h.UUID {
			return d, nil
		}
		if h.UUID == zero && d.name == h.Name {
			return d, nil
		}
	}
	if h.UUID == zero {
		return nil, errNoDomainName(h.Name)
	}
	return nil, errNoDomainUUID(formatUUID(h.UUID), h.Name)
}

func (f *Fake) domainByName(name string) *domain {
	for _, d := range f.domains {
		if d.name == name {
			return d
		}
	}
	return nil
}

func (f *Fake) removeDomain(d *domain) {
	for i, x := range f.domains {
		if x == d {
			f.domains = append(f.domains[:i], f.domains[i+1:]...)
			return
		}
	}
}

// ConnectListAllDomains lists domains filtered by the active/inactive and
// persistent/transient flag pairs (a pair with neither bit set passes all).
func (c *Conn) ConnectListAllDomains(NeedResults int32, Flags libvirt.ConnectListAllDomainsFlags) ([]libvirt.Domain, uint32, error) {
	if err := c.enter("ConnectListAllDomains"); err != nil {
		return nil, 0, err
	}
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []libvirt.Domain
	for _, d := range f.domains {
		if !pairMatch(uint32(Flags), uint32(libvirt.ConnectListDomainsActive), uint32(libvirt.ConnectListDomainsInactive), d.active()) {
			continue
		}
		if !pairMatch(uint32(Flags), uint32(libvirt.ConnectListDomainsPersistent), uint32(libvirt.ConnectListDomainsTransient), d.config != nil) {
			continue
		}
		out = append(out, d.handle())
	}
	if NeedResults >= 0 && len(out) > int(NeedResults) {
		out = out[:NeedResults]
	}
	return out, uint32(len(out)), nil
}

// pairMatch implements libvirt's filter pairs: yes/no flags for one property.
func pairMatch(flags, yes, no uint32, has bool) bool {
	if flags&(yes|no) == 0 || flags&(yes|no) == yes|no {
		return true
	}
	if has {
		return flags&yes != 0
	}
	return flags&no != 0
}

// DomainDefineXMLFlags parses, completes (UUID, MACs, controllers, PCI
// addresses, machine type) and stores a persistent definition, as the QEMU
// driver does. Redefining an existing name with the same UUID replaces the
// persistent config (XML without a UUID gets a new one and is refused as a
// duplicate, as in libvirt); a running domain keeps its live definition
// until it stops.
func (c *Conn) DomainDefineXMLFlags(XML string, Flags libvirt.DomainDefineFlags) (libvirt.Domain, error) {
	if err := c.enter("DomainDefineXMLFlags"); err != nil {
		return libvirt.Domain{}, err
	}
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	def, err := f.parseDomain(XML)
	if err != nil {
		return libvirt.Domain{}, err
	}
	// Like virDomainDefParse, post-parse (defaults, addresses) runs before
	// the uniqueness checks, so invalid XML is reported first.
	if err := f.completeDomain(def); err != nil {
		return libvirt.Domain{}, err
	}
	if err := f.defineNetworksCheck(def); err != nil {
		return libvirt.Domain{}, err
	}
	// Uniqueness, as virDomainObjListAddLocked: a UUID match must carry the
	// same name; a name match must carry the same UUID.
	var existing *domain
	for _, d := range f.domains {
		if formatUUID(d.uuid) == def.UUID {
			if d.name != def.Name {
				return libvirt.Domain{}, errOpFailed("domain '%s' is already defined with uuid %s", d.name, def.UUID)
			}
			existing = d
		} else if d.name == def.Name {
			return libvirt.Domain{}, errOpFailed("domain '%s' already exists with uuid %s", def.Name, formatUUID(d.uuid))
		}
	}
	if existing != nil {
		// A running domain keeps its live definition; the new one applies
		// from the next start.
		existing.config = def
		f.emit(existing, libvirt.DomainEventDefined, int32(libvirt.DomainEventDefinedUpdated))
		f.opts.logger.Debug("kvmtest: domain redefined", "name", def.Name)
		return existing.handle(), nil
	}
	uuid, _ := parseUUID(def.UUID)
	d := &domain{name: def.Name, uuid: uuid, config: def, state: libvirt.DomainShutoff, reason: int32(libvirt.DomainShutoffUnknown)}
	f.domains = append(f.domains, d)
	f.emit(d, libvirt.DomainEventDefined, int32(libvirt.DomainEventDefinedAdded))
	f.opts.logger.Debug("kvmtest: domain defined", "name", def.Name, "uuid", def.UUID)
	return d.handle(), nil
}

// DomainLookupByName finds a domain by name.
func (c *Conn) DomainLookupByName(Name string) (libvirt.Domain, error) {
	if err := c.enter("DomainLookupByName"); err != nil {
		return libvirt.Domain{}, err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	d := c.f.domainByName(Name)
	if d == nil {
		return libvirt.Domain{}, errNoDomainName(Name)
	}
	return d.handle(), nil
}

// DomainGetXMLDesc returns the live definition of a running domain (with
// its id attribute) or the persistent one, or the persistent one with
// DomainXMLInactive.
func (c *Conn) DomainGetXMLDesc(Dom libvirt.Domain, Flags libvirt.DomainXMLFlags) (string, error) {
	if err := c.enter("DomainGetXMLDesc"); err != nil {
		return "", err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	d, err := c.f.lookupDomain(Dom)
	if err != nil {
		return "", err
	}
	def := d.current()
	if Flags&libvirt.DomainXMLInactive != 0 && d.config != nil {
		def = d.config
	}
	s, err := def.Marshal()
	if err != nil {
		return "", errInternal("failed to format domain XML: %v", err)
	}
	return s + "\n", nil
}

// DomainGetState reports the state and its reason.
func (c *Conn) DomainGetState(Dom libvirt.Domain, Flags uint32) (int32, int32, error) {
	if err := c.enter("DomainGetState"); err != nil {
		return 0, 0, err
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	d, err := c.f.lookupDomain(Dom)
	if err != nil {
		return 0, 0, err
	}
	return int32(d.state), d.reason, nil
}

// DomainCreate starts a defined domain: networks are checked (unknown or
// inactive networks fail here, as in the QEMU driver), leases are handed
// out, and a Started/Booted event is emitted.
func (c *Conn) DomainCreate(Dom libvirt.Domain) error {
	f, d, unlock, err := c.lockDomain("DomainCreate", Dom)
	if err != nil {
		return err
	}
	defer unlock()
	if d.active() {
		return errOpInvalid("domain is already running")
	}
	if err := f.startNetworksCheck(d.config); err != nil {
		return err
	}
	live, err := cloneDomain(d.config)
	if err != nil {
		return errInternal("%v", err)
	}
	d.id = f.nextID
	f.nextID++
	id := int(d.id)
	live.ID = &id
	f.addLiveBits(live, d.id)
	d.live = live
	d.state, d.reason = libvirt.DomainRunning, int32(libvirt.DomainRunningBooted)
	if live.OS != nil && (live.OS.NVRam != nil || live.OS.Firmware == "efi") {
		d.nvram = true
	}
	f.assignLeases(d)
	f.emit(d, libvirt.DomainEventStarted, int32(libvirt.DomainEventStartedBooted))
	f.opts.logger.Debug("kvmtest: domain started", "name", d.name, "id", d.id)
	return nil
}

// DomainShutdown asks the guest to power off (ACPI). What the fake guest
// does is an option: at once (default), after WithShutdownDelay, or never
// (WithACPIIgnored).
func (c *Conn) DomainShutdown(Dom libvirt.Domain) error {
	f, d, unlock, err := c.lockDomain("DomainShutdown", Dom)
	if err != nil {
		return err
	}
	defer unlock()
	if !d.active() {
		return errOpInvalid("domain is not running")
	}
	switch {
	case f.opts.ignoreACPI:
	case f.opts.shutdownDelay > 0:
		if d.shutdown == nil {
			id := d.id
			d.shutdown = time.AfterFunc(f.opts.shutdownDelay, func() {
				f.mu.Lock()
				defer f.mu.Unlock()
				if d.active() && d.id == id {
					f.guestPoweredOff(d)
				}
			})
		}
	default:
		f.guestPoweredOff(d)
	}
	return nil
}

// guestPoweredOff is the guest completing an ACPI shutdown: QEMU reports a
// guest-initiated SHUTDOWN, then the process exits. Called with f.mu held.
func (f *Fake) guestPoweredOff(d *domain) {
	f.emit(d, libvirt.DomainEventShutdown, int32(libvirt.DomainEventShutdownGuest))
	f.stopDomain(d, libvirt.DomainShutoffShutdown, libvirt.DomainEventStoppedShutdown)
}

// stopDomain moves a running domain to shutoff. Called with f.mu held.
func (f *Fake) stopDomain(d *domain, reason libvirt.DomainShutoffReason, detail libvirt.DomainEventStoppedDetailType) {
	if d.shutdown != nil {
		d.shutdown.Stop()
		d.shutdown = nil
	}
	f.releaseLeases(d)
	d.state, d.reason = libvirt.DomainShutoff, int32(reason)
	f.emit(d, libvirt.DomainEventStopped, int32(detail))
	d.live = nil
	d.id = -1
	if d.config == nil {
		// A transient domain vanishes when it stops.
		f.removeDomain(d)
	}
}

// DomainDestroy stops a running domain at once.
func (c *Conn) DomainDestroy(Dom libvirt.Domain) error {
	f, d, unlock, err := c.lockDomain("DomainDestroy", Dom)
	if err != nil {
		return err
	}
	defer unlock()
	if !d.active() {
		return errOpInvalid("domain is not running")
	}
	f.stopDomain(d, libvirt.DomainShutoffDestroyed, libvirt.DomainEventStoppedDestroyed)
	return nil
}

// DomainReboot asks a running guest to reboot. The fake guest comes straight
// back (same id, still running); libvirt reports reboots through a separate
// event ID, not as lifecycle events, so none is emitted.
func (c *Conn) DomainReboot(Dom libvirt.Domain, Flags libvirt.DomainRebootFlagValues) error {
	_, d, unlock, err := c.lockDomain("DomainReboot", Dom)
	if err != nil {
		return err
	}
	defer unlock()
	if !d.active() {
		return errOpInvalid("domain is not running")
	}
	return nil
}

// DomainUndefineFlags removes the persistent definition. A running domain
// becomes transient and keeps running. Like the QEMU driver, a domain whose
// UEFI variable store exists (it has been started with one) is refused
// unless DomainUndefineNvram or DomainUndefineKeepNvram is given.
func (c *Conn) DomainUndefineFlags(Dom libvirt.Domain, Flags libvirt.DomainUndefineFlagsValues) error {
	f, d, unlock, err := c.lockDomain("DomainUndefineFlags", Dom)
	if err != nil {
		return err
	}
	defer unlock()
	if d.config == nil {
		return errOpInvalid("cannot undefine transient domain")
	}
	if d.nvram && Flags&(libvirt.DomainUndefineNvram|libvirt.DomainUndefineKeepNvram) == 0 {
		return errOpInvalid("cannot undefine domain with nvram")
	}
	if Flags&libvirt.DomainUndefineNvram != 0 {
		d.nvram = false
	}
	f.emit(d, libvirt.DomainEventUndefined, int32(libvirt.DomainEventUndefinedRemoved))
	d.config = nil
	if !d.active() {
		f.removeDomain(d)
	}
	f.opts.logger.Debug("kvmtest: domain undefined", "name", d.name)
	return nil
}
