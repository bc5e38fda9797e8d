package kvm

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"

	"libvirt.org/go/libvirtxml"
)

// NetworkSpec describes a libvirt network with its own dnsmasq: DHCP
// reservations, DNS host records and raw dnsmasq options (the *.apps
// wildcard). IPv4 only.
type NetworkSpec struct {
	// Name of the libvirt network ([A-Za-z0-9_.-]).
	Name string `json:"name" yaml:"name"`
	// Mode is nat (default: guests reach out through the host) or isolated
	// (no forwarding at all).
	Mode string `json:"mode,omitempty" yaml:"mode,omitempty"`
	// Bridge is the host bridge name (≤15 bytes); empty lets libvirt pick
	// virbrN.
	Bridge string `json:"bridge,omitempty" yaml:"bridge,omitempty"`
	// Domain is the DNS domain dnsmasq answers for locally, e.g.
	// "lab.okd.test"; queries for it are never forwarded.
	Domain string `json:"domain,omitempty" yaml:"domain,omitempty"`
	// CIDR of the network; the host (gateway, DNS server) takes its first
	// address, e.g. 192.168.126.0/24 → 192.168.126.1.
	CIDR string `json:"cidr" yaml:"cidr"`
	// DHCPRange, when set, hands out dynamic leases; reservations work
	// without it.
	DHCPRange *IPRange `json:"dhcpRange,omitempty" yaml:"dhcpRange,omitempty"`
	// Reservations pin IPs (and host names) to MACs.
	Reservations []DHCPHost `json:"reservations,omitempty" yaml:"reservations,omitempty"`
	// DNSHosts are A records served by the network's dnsmasq.
	DNSHosts []DNSHost `json:"dnsHosts,omitempty" yaml:"dnsHosts,omitempty"`
	// DnsmasqOptions are raw dnsmasq lines, e.g. AppsWildcard(…).
	DnsmasqOptions []string `json:"dnsmasqOptions,omitempty" yaml:"dnsmasqOptions,omitempty"`
}

// IPRange is an inclusive address range.
type IPRange struct {
	Start string `json:"start" yaml:"start"`
	End   string `json:"end" yaml:"end"`
}

// DHCPHost is a DHCP reservation.
type DHCPHost struct {
	MAC  string `json:"mac" yaml:"mac"`
	IP   string `json:"ip" yaml:"ip"`
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
}

// DNSHost is a DNS host record: one IP, one or more names.
type DNSHost struct {
	IP        string   `json:"ip" yaml:"ip"`
	Hostnames []string `json:"hostnames" yaml:"hostnames"`
}

// AppsWildcard is the dnsmasq option that resolves every name under
// apps.<cluster>.<baseDomain> (the OKD ingress wildcard) to ip.
func AppsWildcard(cluster, baseDomain, ip string) string {
	return fmt.Sprintf("address=/apps.%s.%s/%s", cluster, baseDomain, ip)
}

var (
	netNameRE  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	hostnameRE = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$`)
)

func (s NetworkSpec) mode() string {
	if s.Mode == "" {
		return "nat"
	}
	return s.Mode
}

// prefix parses CIDR (masked).
func (s NetworkSpec) prefix() (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s.CIDR)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, fieldErr("cidr", s.CIDR, "want an IPv4 CIDR like 192.168.126.0/24")
	}
	return p.Masked(), nil
}

// Gateway is the host's address on the network (the first address).
func (s NetworkSpec) Gateway() (netip.Addr, error) {
	p, err := s.prefix()
	if err != nil {
		return netip.Addr{}, err
	}
	return p.Addr().Next(), nil
}

// Validate checks the spec; the error names the field and the value.
func (s NetworkSpec) Validate() error {
	if !netNameRE.MatchString(s.Name) {
		return fieldErr("name", s.Name, "network names are 1-64 of [A-Za-z0-9_.-]")
	}
	switch s.Mode {
	case "", "nat", "isolated":
	default:
		return fieldErr("mode", s.Mode, "want nat or isolated")
	}
	if s.Bridge != "" && !bridgeRE.MatchString(s.Bridge) {
		return fieldErr("bridge", s.Bridge, "not a Linux interface name (≤15 of [A-Za-z0-9_.:-])")
	}
	if s.Domain != "" && !hostnameRE.MatchString(s.Domain) {
		return fieldErr("domain", s.Domain, "not a DNS domain")
	}
	p, err := s.prefix()
	if err != nil {
		return err
	}
	if p.Bits() > 30 {
		return fieldErr("cidr", s.CIDR, "too small: need at least /30")
	}
	gw := p.Addr().Next()
	inNet := func(field, v string) (netip.Addr, error) {
		a, err := netip.ParseAddr(v)
		if err != nil || !a.Is4() {
			return a, fieldErr(field, v, "not an IPv4 address")
		}
		if !p.Contains(a) {
			return a, fieldErr(field, v, "outside %s", p)
		}
		if a == gw {
			return a, fieldErr(field, v, "is the gateway (the host's address)")
		}
		return a, nil
	}
	if r := s.DHCPRange; r != nil {
		a, err := inNet("dhcpRange.start", r.Start)
		if err != nil {
			return err
		}
		b, err := inNet("dhcpRange.end", r.End)
		if err != nil {
			return err
		}
		if b.Less(a) {
			return fieldErr("dhcpRange.end", r.End, "before start %s", r.Start)
		}
	}
	macs, ips := map[string]string{}, map[netip.Addr]string{}
	for i, h := range s.Reservations {
		f := fmt.Sprintf("reservations[%d]", i)
		if err := h.validate(f); err != nil {
			return err
		}
		mac, _ := net.ParseMAC(h.MAC)
		if prev, ok := macs[mac.String()]; ok {
			return fieldErr(f+".mac", h.MAC, "duplicates %s.mac", prev)
		}
		macs[mac.String()] = f
		a, err := inNet(f+".ip", h.IP)
		if err != nil {
			return err
		}
		if prev, ok := ips[a]; ok {
			return fieldErr(f+".ip", h.IP, "duplicates %s.ip", prev)
		}
		ips[a] = f
	}
	for i, h := range s.DNSHosts {
		if err := h.validate(fmt.Sprintf("dnsHosts[%d]", i)); err != nil {
			return err
		}
	}
	for i, o := range s.DnsmasqOptions {
		if o == "" || strings.ContainsAny(o, "\n\r") {
			return fieldErr(fmt.Sprintf("dnsmasqOptions[%d]", i), o, "one non-empty line per option")
		}
	}
	return nil
}

func (h DHCPHost) validate(f string) error {
	hw, err := net.ParseMAC(h.MAC)
	if err != nil || len(hw) != 6 {
		return fieldErr(f+".mac", h.MAC, "not a 48-bit MAC")
	}
	if a, err := netip.ParseAddr(h.IP); err != nil || !a.Is4() {
		return fieldErr(f+".ip", h.IP, "not an IPv4 address")
	}
	if h.Name != "" && !hostnameRE.MatchString(h.Name) {
		return fieldErr(f+".name", h.Name, "not a host name")
	}
	return nil
}

func (h DNSHost) validate(f string) error {
	if a, err := netip.ParseAddr(h.IP); err != nil || !a.Is4() {
		return fieldErr(f+".ip", h.IP, "not an IPv4 address")
	}
	if len(h.Hostnames) == 0 {
		return fieldErr(f+".hostnames", "", "at least one host name")
	}
	for j, n := range h.Hostnames {
		if !hostnameRE.MatchString(n) {
			return fieldErr(fmt.Sprintf("%s.hostnames[%d]", f, j), n, "not a host name")
		}
	}
	return nil
}

func (h DHCPHost) xml() libvirtxml.NetworkDHCPHost {
	hw, _ := net.ParseMAC(h.MAC)
	return libvirtxml.NetworkDHCPHost{MAC: hw.String(), IP: h.IP, Name: h.Name}
}

func (h DNSHost) xml() libvirtxml.NetworkDNSHost {
	x := libvirtxml.NetworkDNSHost{IP: h.IP}
	for _, n := range h.Hostnames {
		x.Hostnames = append(x.Hostnames, libvirtxml.NetworkDNSHostHostname{Hostname: n})
	}
	return x
}

// Network builds the libvirt network definition (after Validate).
func (s NetworkSpec) Network() (*libvirtxml.Network, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return buildNetwork(s, networkHash(s))
}

// XML is Network marshalled.
func (s NetworkSpec) XML() (string, error) {
	n, err := s.Network()
	if err != nil {
		return "", err
	}
	return n.Marshal()
}

func networkHash(s NetworkSpec) string {
	b, _ := json.Marshal(s)
	h := sha256.Sum256(append([]byte("okvm-network-v1\n"), b...))
	return "sha256:" + hex.EncodeToString(h[:])
}

func buildNetwork(s NetworkSpec, hash string) (*libvirtxml.Network, error) {
	p, _ := s.prefix()
	meta, err := encodeMeta(nil, hash)
	if err != nil {
		return nil, err
	}
	n := &libvirtxml.Network{
		Name:     s.Name,
		Metadata: &libvirtxml.NetworkMetadata{XML: meta},
		IPs: []libvirtxml.NetworkIP{{
			Address: p.Addr().Next().String(),
			Prefix:  uint(p.Bits()),
		}},
	}
	if s.mode() == "nat" {
		n.Forward = &libvirtxml.NetworkForward{Mode: "nat"}
	}
	if s.Bridge != "" {
		n.Bridge = &libvirtxml.NetworkBridge{Name: s.Bridge, STP: "on", Delay: "0"}
	}
	if s.Domain != "" {
		n.Domain = &libvirtxml.NetworkDomain{Name: s.Domain, LocalOnly: "yes"}
	}
	if s.DHCPRange != nil || len(s.Reservations) > 0 {
		d := &libvirtxml.NetworkDHCP{}
		if r := s.DHCPRange; r != nil {
			d.Ranges = []libvirtxml.NetworkDHCPRange{{Start: r.Start, End: r.End}}
		}
		for _, h := range s.Reservations {
			d.Hosts = append(d.Hosts, h.xml())
		}
		n.IPs[0].DHCP = d
	}
	if len(s.DNSHosts) > 0 {
		n.DNS = &libvirtxml.NetworkDNS{}
		for _, h := range s.DNSHosts {
			n.DNS.Host = append(n.DNS.Host, h.xml())
		}
	}
	if len(s.DnsmasqOptions) > 0 {
		n.DnsmasqOptions = &libvirtxml.NetworkDnsmasqOptions{}
		for _, o := range s.DnsmasqOptions {
			n.DnsmasqOptions.Option = append(n.DnsmasqOptions.Option, libvirtxml.NetworkDnsmasqOption{Value: o})
		}
	}
	return n, nil
}
