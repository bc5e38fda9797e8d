package kvm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	libvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"
)

// DomainInfo is a domain as ListDomains reports it.
type DomainInfo struct {
	Name   string            `json:"name"`
	UUID   string            `json:"uuid"`
	Active bool              `json:"active"`
	Labels map[string]string `json:"labels,omitempty"`
}

func (c *Client) lookupDomain(ctx context.Context, name string) (libvirt.Domain, error) {
	return call(ctx, c, fmt.Sprintf("look up domain %q", name), func(l Libvirt) (libvirt.Domain, error) {
		return l.DomainLookupByName(name)
	})
}

// DomainXML returns the persistent definition of the domain as libvirt
// stores it, with every PCI address, controller and default libvirt added
// (the input of NIC/disk name prediction).
func (c *Client) DomainXML(ctx context.Context, name string) (*libvirtxml.Domain, error) {
	dom, err := c.lookupDomain(ctx, name)
	if err != nil {
		return nil, err
	}
	return c.domainXML(ctx, dom)
}

func (c *Client) domainXML(ctx context.Context, dom libvirt.Domain) (*libvirtxml.Domain, error) {
	s, err := call(ctx, c, fmt.Sprintf("read domain %q", dom.Name), func(l Libvirt) (string, error) {
		return l.DomainGetXMLDesc(dom, libvirt.DomainXMLInactive)
	})
	if err != nil {
		return nil, err
	}
	d := &libvirtxml.Domain{}
	if err := d.Unmarshal(s); err != nil {
		return nil, fmt.Errorf("kvm: parse domain %q XML: %w", dom.Name, err)
	}
	return d, nil
}

// domainType resolves the type for specs that leave it empty: kvm when
// libvirt's capabilities offer it for x86_64, else qemu (TCG).
func (c *Client) domainType(ctx context.Context) (string, error) {
	if c.opts.domainType != "" {
		return c.opts.domainType, nil
	}
	c.mu.Lock()
	t := c.dtype
	c.mu.Unlock()
	if t != "" {
		return t, nil
	}
	s, err := call(ctx, c, "read capabilities", func(l Libvirt) (string, error) { return l.ConnectGetCapabilities() })
	if err != nil {
		return "", err
	}
	var caps libvirtxml.Caps
	if err := caps.Unmarshal(s); err != nil {
		return "", fmt.Errorf("kvm: parse capabilities: %w", err)
	}
	t = "qemu"
	for _, g := range caps.Guests {
		if g.Arch.Name != "x86_64" {
			continue
		}
		for _, d := range g.Arch.Domains {
			if d.Type == "kvm" {
				t = "kvm"
			}
		}
	}
	c.mu.Lock()
	c.dtype = t
	c.mu.Unlock()
	return t, nil
}

// Define makes the domain exist as spec describes and returns libvirt's
// definition of it. It is idempotent: the same spec again changes nothing;
// a changed spec redefines a shut-off domain (same UUID) and fails with
// ErrConflict for an active one. Missing pool volumes are created first
// (overlays on BaseVolume, or empty of SizeBytes) and deleted again if the
// definition fails. Bad input and references to missing networks, pools
// or base volumes fail before anything is created.
func (c *Client) Define(ctx context.Context, spec DomainSpec) (*libvirtxml.Domain, error) {
	n := spec.Normalize()
	if err := spec.validate(n); err != nil {
		return nil, err
	}
	if n.Type == "" {
		t, err := c.domainType(ctx)
		if err != nil {
			return nil, err
		}
		n.Type = t
	}
	seen := map[string]bool{}
	for i, nic := range n.NICs {
		if nic.Network == "" || seen[nic.Network] {
			continue
		}
		seen[nic.Network] = true
		_, err := call(ctx, c, fmt.Sprintf("look up network %q", nic.Network), func(l Libvirt) (libvirt.Network, error) {
			return l.NetworkLookupByName(nic.Network)
		})
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%w: %w", fieldErr(fmt.Sprintf("nics[%d].network", i), nic.Network, "no such libvirt network"), ErrNotFound)
		}
		if err != nil {
			return nil, err
		}
	}
	// The hash is taken before volume paths are resolved: the pool and
	// volume name identify the disk, whatever path the pool gives it.
	hash := specHash(n)
	plan, err := c.planDisks(ctx, &n)
	if err != nil {
		return nil, err
	}

	var existing *libvirtxml.Domain
	dom, err := c.lookupDomain(ctx, n.Name)
	switch {
	case err == nil:
		existing, err = c.domainXML(ctx, dom)
		if err != nil {
			return nil, err
		}
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}

	if existing != nil {
		var inner string
		if existing.Metadata != nil {
			inner = existing.Metadata.XML
		}
		_, oldHash, ours := decodeMeta(inner)
		if !ours {
			return nil, fmt.Errorf("kvm: define %q: %w: a domain of that name exists and was not defined by okvm", n.Name, ErrExists)
		}
		if oldHash == hash {
			c.log.Debug("kvm: domain unchanged", "domain", n.Name)
			return existing, nil
		}
		st, err := c.stateOf(ctx, dom)
		if err != nil {
			return nil, err
		}
		if st.Active() {
			return nil, fmt.Errorf("kvm: define %q: %w: the spec changed but the domain is %s; shut it down first", n.Name, ErrConflict, st)
		}
	}

	created, err := c.createPlanned(ctx, &n, plan)
	if err != nil {
		return nil, err
	}
	d, err := buildDomain(n, hash)
	if err == nil && existing != nil {
		d.UUID = existing.UUID // libvirt refuses a new UUID for a known name
	}
	var x string
	if err == nil {
		x, err = d.Marshal()
	}
	if err == nil {
		dom, err = call(ctx, c, fmt.Sprintf("define domain %q", n.Name), func(l Libvirt) (libvirt.Domain, error) {
			return l.DomainDefineXMLFlags(x, libvirt.DomainDefineValidate)
		})
	}
	if err != nil {
		c.undoVolumes(created)
		return nil, err
	}
	c.log.Info("kvm: domain defined", "domain", n.Name, "redefined", existing != nil)
	out, err := c.domainXML(ctx, dom)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Client) stateOf(ctx context.Context, dom libvirt.Domain) (State, error) {
	st, err := call(ctx, c, fmt.Sprintf("get state of domain %q", dom.Name), func(l Libvirt) (int32, error) {
		s, _, err := l.DomainGetState(dom, 0)
		return s, err
	})
	return State(st), err
}

// State returns the domain's run state.
func (c *Client) State(ctx context.Context, name string) (State, error) {
	_, st, err := c.lookupWithState(ctx, name)
	return st, err
}

// lookupWithState finds a domain and reads its run state: the first two
// calls of every state-changing operation.
func (c *Client) lookupWithState(ctx context.Context, name string) (libvirt.Domain, State, error) {
	dom, err := c.lookupDomain(ctx, name)
	if err != nil {
		return dom, StateNoState, err
	}
	st, err := c.stateOf(ctx, dom)
	return dom, st, err
}

// Start boots a defined domain; starting a running domain is a no-op.
func (c *Client) Start(ctx context.Context, name string) error {
	dom, st, err := c.lookupWithState(ctx, name)
	if err != nil {
		return err
	}
	if st.Active() {
		return nil
	}
	return call0(ctx, c, fmt.Sprintf("start domain %q", name), func(l Libvirt) error { return l.DomainCreate(dom) })
}

// Destroy powers the domain off at once; an inactive domain is left alone.
func (c *Client) Destroy(ctx context.Context, name string) error {
	dom, st, err := c.lookupWithState(ctx, name)
	if err != nil {
		return err
	}
	if !st.Active() {
		return nil
	}
	return call0(ctx, c, fmt.Sprintf("destroy domain %q", name), func(l Libvirt) error { return l.DomainDestroy(dom) })
}

// Shutdown asks the guest to power off (ACPI) and waits for it; when the
// guest has not stopped after the shutdown timeout (WithShutdownTimeout),
// the domain is destroyed. ctx bounds the whole operation.
func (c *Client) Shutdown(ctx context.Context, name string) error {
	dom, st, err := c.lookupWithState(ctx, name)
	if err != nil {
		return err
	}
	if !st.Active() {
		return nil
	}
	if err := call0(ctx, c, fmt.Sprintf("shut down domain %q", name), func(l Libvirt) error { return l.DomainShutdown(dom) }); err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-c.opts.clock.After(c.opts.shutdownTimeout):
			cancel()
		case <-wctx.Done():
		}
	}()
	err = c.WaitForState(wctx, name, StateShutoff)
	if err == nil || ctx.Err() != nil || wctx.Err() == nil {
		return err // done, the caller gave up, or a failure other than the timeout
	}
	c.log.Warn("kvm: graceful shutdown timed out; destroying", "domain", name, "timeout", c.opts.shutdownTimeout)
	return c.Destroy(ctx, name)
}

// Reboot asks the guest to reboot.
func (c *Client) Reboot(ctx context.Context, name string) error {
	dom, err := c.lookupDomain(ctx, name)
	if err != nil {
		return err
	}
	return call0(ctx, c, fmt.Sprintf("reboot domain %q", name), func(l Libvirt) error {
		return l.DomainReboot(dom, libvirt.DomainRebootDefault)
	})
}

const undefineFlags = libvirt.DomainUndefineManagedSave | libvirt.DomainUndefineSnapshotsMetadata | libvirt.DomainUndefineNvram

// Undefine removes a shut-off domain's definition, with its NVRAM file,
// managed-save image and snapshot metadata (so the undefine cannot fail
// half way for a UEFI guest). An active domain fails with ErrConflict:
// use Remove to destroy and undefine. Volumes are kept.
func (c *Client) Undefine(ctx context.Context, name string) error {
	dom, st, err := c.lookupWithState(ctx, name)
	if err != nil {
		return err
	}
	if st.Active() {
		return fmt.Errorf("kvm: undefine %q: %w: the domain is %s; destroy it first", name, ErrConflict, st)
	}
	op := fmt.Sprintf("undefine domain %q", name)
	flags := undefineFlags
	if c.plainUndefine.Load() {
		flags = 0
	}
	err = call0(ctx, c, op, func(l Libvirt) error { return l.DomainUndefineFlags(dom, flags) })
	if flags != 0 && (isCode(err, libvirt.ErrInvalidArg) || isCode(err, libvirt.ErrNoSupport)) {
		// Old or minimal drivers (the test driver) reject flags they do not
		// know; remember it for this client.
		c.plainUndefine.Store(true)
		err = call0(ctx, c, op, func(l Libvirt) error { return l.DomainUndefineFlags(dom, 0) })
	}
	return err
}

// Remove destroys the domain if it runs and undefines it; a missing domain
// is not an error (cleanup paths call it blindly).
func (c *Client) Remove(ctx context.Context, name string) error {
	err := c.Destroy(ctx, name)
	if err == nil {
		err = c.Undefine(ctx, name)
	}
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// Labels returns the okvm labels stored in the domain's metadata.
func (c *Client) Labels(ctx context.Context, name string) (map[string]string, error) {
	d, err := c.DomainXML(ctx, name)
	if err != nil {
		return nil, err
	}
	if d.Metadata == nil {
		return map[string]string{}, nil
	}
	labels, _, _ := decodeMeta(d.Metadata.XML)
	if labels == nil {
		labels = map[string]string{}
	}
	return labels, nil
}

// ListDomains returns the domains whose labels include every pair in
// selector (all domains okvm defined when selector is empty), sorted by
// name. Domains not defined by okvm are never listed.
func (c *Client) ListDomains(ctx context.Context, selector map[string]string) ([]DomainInfo, error) {
	doms, err := call(ctx, c, "list domains", func(l Libvirt) ([]libvirt.Domain, error) {
		d, _, err := l.ConnectListAllDomains(needResults, 0)
		return d, err
	})
	if err != nil {
		return nil, err
	}
	var out []DomainInfo
	for _, dom := range doms {
		d, err := c.domainXML(ctx, dom)
		if errors.Is(err, ErrNotFound) {
			continue // undefined meanwhile
		}
		if err != nil {
			return nil, err
		}
		if d.Metadata == nil {
			continue
		}
		labels, _, ours := decodeMeta(d.Metadata.XML)
		if !ours || !matches(labels, selector) {
			continue
		}
		out = append(out, DomainInfo{Name: d.Name, UUID: d.UUID, Active: dom.ID > 0, Labels: labels})
	}
	slices.SortFunc(out, func(a, b DomainInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func matches(labels, selector map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}
