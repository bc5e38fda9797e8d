package netprov

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// ErrInvalidPlan classes every error NewPlan returns for a bad spec.
var ErrInvalidPlan = errors.New("netprov: invalid plan")

// FieldError is a bad value in one field of a PlanSpec.
type FieldError struct {
	// Field is the spec path, e.g. "nodes[2].mac".
	Field string
	// Value is the offending value as written.
	Value string
	// Reason says what is wrong with it.
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("netprov: %s %q: %s", e.Field, e.Value, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalidPlan) hold.
func (e *FieldError) Unwrap() error { return ErrInvalidPlan }

// ConflictError is one value claimed twice: a node name, a MAC or an
// address. It names both parties so the fix is obvious.
type ConflictError struct {
	// Value is what both claim ("192.168.126.11", "master-0").
	Value string
	// Field and Owner are the second claimant ("nodes[3].ip", "worker-0");
	// OtherField and OtherOwner the first ("apiAddress", "").
	Field, Owner           string
	OtherField, OtherOwner string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("netprov: %s %s conflicts with %s", party(e.Field, e.Owner), e.Value, party(e.OtherField, e.OtherOwner))
}

// Unwrap makes errors.Is(err, ErrInvalidPlan) hold.
func (e *ConflictError) Unwrap() error { return ErrInvalidPlan }

func party(field, owner string) string {
	if owner == "" {
		return field
	}
	return field + " (" + owner + ")"
}

// errs collects every problem of a spec, so a user fixes them in one go.
type errs []error

func (e *errs) field(field, value, format string, args ...any) {
	*e = append(*e, &FieldError{Field: field, Value: value, Reason: fmt.Sprintf(format, args...)})
}

func (e errs) err() error { return errors.Join(e...) }

// reservedNames are labels the plan itself puts in the cluster zone.
var reservedNames = map[string]string{
	"api":     "the API record",
	"api-int": "the internal API record",
	"apps":    "the *.apps ingress wildcard",
	"ns1":     "the zone's name server record",
}

// checkLabel reports why s is not a lowercase RFC 1123 DNS label, or "".
// Lowercase only: DNS is case-insensitive but certificates, node names in
// Kubernetes and DHCP host names are compared as strings.
func checkLabel(s string) string {
	if s == "" {
		return "must not be empty"
	}
	if len(s) > 63 {
		return fmt.Sprintf("is %d characters, a DNS label holds at most 63", len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-':
			if i == 0 || i == len(s)-1 {
				return "must not start or end with '-'"
			}
		default:
			return fmt.Sprintf("has %q: only lowercase letters, digits and '-' are allowed", c)
		}
	}
	return ""
}

func checkDomain(s string) string {
	if s == "" {
		return "must not be empty"
	}
	if len(s) > 253 {
		return fmt.Sprintf("is %d characters, a domain name holds at most 253", len(s))
	}
	for _, l := range strings.Split(s, ".") {
		if why := checkLabel(l); why != "" {
			if l == "" {
				return "has an empty label"
			}
			return fmt.Sprintf("label %q %s", l, why)
		}
	}
	return ""
}

// lastAddr is the broadcast address of an IPv4 prefix (the last address of
// any prefix).
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().As16()
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	for i := bits; i < 128; i++ {
		a[i/8] |= 1 << (7 - uint(i%8))
	}
	out := netip.AddrFrom16(a)
	if p.Addr().Is4() {
		out = out.Unmap()
	}
	return out
}

// normalize validates s and returns it with defaults filled in.
func (spec PlanSpec) normalize() (PlanSpec, error) {
	var e errs
	in, s := spec, spec
	s.BaseDomain = strings.TrimSuffix(s.BaseDomain, ".")
	if why := checkLabel(s.ClusterName); why != "" {
		e.field("clusterName", in.ClusterName, "%s", why)
	}
	if why := checkDomain(s.BaseDomain); why != "" {
		e.field("baseDomain", in.BaseDomain, "%s", why)
	} else if len(s.ClusterName)+1+len(s.BaseDomain) > 253-len("api-int.") {
		e.field("baseDomain", in.BaseDomain, "with clusterName %q the cluster domain is too long for DNS names", s.ClusterName)
	}

	netOK := false
	switch n := s.MachineNetwork; {
	case !n.IsValid():
		e.field("machineNetwork", "", "must be a CIDR such as 192.168.126.0/24")
	case !n.Addr().Is4():
		e.field("machineNetwork", n.String(), "IPv6 machine networks are not supported yet")
	case n.Bits() < 8 || n.Bits() > 30:
		e.field("machineNetwork", n.String(), "prefix must be /8 to /30")
	case n.Masked() != n:
		e.field("machineNetwork", n.String(), "has host bits set (did you mean %s?)", n.Masked())
	default:
		netOK = true
	}
	network, bcast := s.MachineNetwork.Addr(), lastAddr(s.MachineNetwork)
	inNet := func(field string, a netip.Addr) bool {
		if !netOK {
			return true
		}
		if !s.MachineNetwork.Contains(a) {
			e.field(field, a.String(), "is outside machineNetwork %s", s.MachineNetwork)
			return false
		}
		if a == network || a == bcast {
			e.field(field, a.String(), "is the network or broadcast address of %s", s.MachineNetwork)
			return false
		}
		return true
	}
	ipv4 := func(field string, a netip.Addr) bool {
		switch {
		case !a.IsValid():
			e.field(field, "", "must be an IPv4 address")
			return false
		case a.Is4In6():
			e.field(field, a.String(), "write IPv4 addresses in dotted form")
			return false
		case !a.Is4():
			e.field(field, a.String(), "IPv6 is not supported yet")
			return false
		case a.IsUnspecified() || a.IsMulticast() || a.IsLoopback():
			e.field(field, a.String(), "must be a unicast host address")
			return false
		}
		return true
	}

	if ipv4("gateway", s.Gateway) {
		inNet("gateway", s.Gateway)
	}
	if len(s.DNSServers) == 0 && s.Gateway.IsValid() {
		s.DNSServers = []netip.Addr{s.Gateway}
	} else {
		s.DNSServers = append([]netip.Addr(nil), s.DNSServers...)
	}
	for i, a := range s.DNSServers {
		ipv4(fmt.Sprintf("dnsServers[%d]", i), a)
	}
	s.UpstreamDNS = append([]netip.Addr(nil), s.UpstreamDNS...)
	for i, a := range s.UpstreamDNS {
		ipv4(fmt.Sprintf("upstreamDNS[%d]", i), a)
	}
	// API and ingress may live outside the machine network (an external
	// load balancer), but never on its network or broadcast address.
	outsideOK := func(field string, a netip.Addr) {
		if ipv4(field, a) && netOK && (a == network || a == bcast) {
			e.field(field, a.String(), "is the network or broadcast address of %s", s.MachineNetwork)
		}
	}
	outsideOK("apiAddress", s.APIAddress)
	if !s.IngressAddress.IsValid() {
		s.IngressAddress = s.APIAddress
	} else {
		outsideOK("ingressAddress", s.IngressAddress)
	}
	s.Reserved = append([]netip.Addr(nil), s.Reserved...)
	for i, a := range s.Reserved {
		ipv4(fmt.Sprintf("reserved[%d]", i), a)
	}
	if s.AllocationStart.IsValid() {
		if ipv4("allocationStart", s.AllocationStart) {
			inNet("allocationStart", s.AllocationStart)
		}
	}

	if s.LeaseTime == 0 {
		s.LeaseTime = Duration(DefaultLeaseTime)
	}
	if d := time.Duration(s.LeaseTime); d < MinLeaseTime || d%time.Second != 0 {
		e.field("leaseTime", d.String(), "must be whole seconds and at least %s", MinLeaseTime)
	}
	if s.TTL == 0 {
		s.TTL = Duration(DefaultTTL)
	}
	if d := time.Duration(s.TTL); d < time.Second || d%time.Second != 0 || d > 24*time.Hour {
		e.field("ttl", d.String(), "must be whole seconds between 1s and 24h")
	}
	if s.Serial == 0 {
		s.Serial = 1
	}

	// Nodes: each field alone, then who claims what.
	s.Nodes = append([]NodeSpec(nil), s.Nodes...)
	names := map[string]int{}
	macs := map[string]int{}
	var bootstraps, masters int
	for i, n := range s.Nodes {
		f := fmt.Sprintf("nodes[%d]", i)
		if why := checkLabel(n.Name); why != "" {
			e.field(f+".name", n.Name, "%s", why)
		} else if what, ok := reservedNames[n.Name]; ok {
			e.field(f+".name", n.Name, "is taken by %s", what)
		} else if n.Name == "bootstrap" && n.Role != RoleBootstrap {
			e.field(f+".name", n.Name, "only the bootstrap node may be called bootstrap (role is %q)", n.Role)
		} else if j, dup := names[n.Name]; dup {
			e = append(e, &ConflictError{Value: n.Name, Field: f + ".name", OtherField: fmt.Sprintf("nodes[%d].name", j)})
		} else {
			names[n.Name] = i
		}
		switch n.Role {
		case RoleBootstrap:
			bootstraps++
			if bootstraps > 1 {
				e.field(f+".role", string(n.Role), "a cluster has at most one bootstrap node")
			}
		case RoleMaster:
			masters++
		case RoleWorker:
		default:
			e.field(f+".role", string(n.Role), "must be bootstrap, master or worker")
		}
		mac, err := net.ParseMAC(n.MAC)
		switch {
		case err != nil:
			e.field(f+".mac", n.MAC, "is not a MAC address (want 52:54:00:xx:xx:xx)")
		case len(mac) != 6:
			e.field(f+".mac", n.MAC, "must be a 6-byte Ethernet address")
		case mac[0]&1 == 1:
			e.field(f+".mac", n.MAC, "is a multicast address, a NIC needs a unicast one")
		default:
			key := mac.String()
			if j, dup := macs[key]; dup {
				e = append(e, &ConflictError{Value: key, Field: f + ".mac", Owner: n.Name,
					OtherField: fmt.Sprintf("nodes[%d].mac", j), OtherOwner: s.Nodes[j].Name})
			} else {
				macs[key] = i
			}
		}
		if n.IP.IsValid() {
			if ipv4(f+".ip", n.IP) {
				inNet(f+".ip", n.IP)
			}
		}
	}
	if len(s.Nodes) > 0 && masters == 0 {
		e.field("nodes", fmt.Sprintf("%d nodes", len(s.Nodes)), "need at least one master")
	}
	if len(s.Nodes) == 0 {
		e.field("nodes", "", "need at least one master")
	}
	if len(e) > 0 {
		return s, e.err()
	}
	if err := checkClaims(&s); err != nil {
		return s, err
	}
	return s, nil
}

// claim is who holds an address.
type claim struct{ field, owner string }

// checkClaims finds addresses two parties must not share: a node's pinned IP
// against the gateway, DNS servers, API/ingress, reserved addresses and other
// nodes. API, ingress, gateway and DNS server may share one address (one
// helper host doing all four is the common lab layout).
func checkClaims(s *PlanSpec) error {
	var e errs
	infra := map[netip.Addr]claim{}
	add := func(a netip.Addr, c claim) {
		if _, ok := infra[a]; !ok {
			infra[a] = c
		}
	}
	add(s.Gateway, claim{"gateway", ""})
	for i, a := range s.DNSServers {
		add(a, claim{fmt.Sprintf("dnsServers[%d]", i), ""})
	}
	add(s.APIAddress, claim{"apiAddress", ""})
	add(s.IngressAddress, claim{"ingressAddress", ""})
	for i, a := range s.Reserved {
		add(a, claim{fmt.Sprintf("reserved[%d]", i), ""})
	}
	nodes := map[netip.Addr]claim{}
	for i, n := range s.Nodes {
		if !n.IP.IsValid() {
			continue
		}
		me := claim{fmt.Sprintf("nodes[%d].ip", i), n.Name}
		if c, ok := infra[n.IP]; ok {
			e = append(e, &ConflictError{Value: n.IP.String(), Field: me.field, Owner: me.owner, OtherField: c.field, OtherOwner: c.owner})
			continue
		}
		if c, ok := nodes[n.IP]; ok {
			e = append(e, &ConflictError{Value: n.IP.String(), Field: me.field, Owner: me.owner, OtherField: c.field, OtherOwner: c.owner})
			continue
		}
		nodes[n.IP] = me
	}
	return e.err()
}
