package ignition

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Network writes a NetworkManager keyfile (mode 0600: NetworkManager
// ignores keyfiles that are not 0600 and root-owned) at
// /etc/NetworkManager/system-connections/<Interface>.nmconnection.
//
// The connection is bound to the NIC by MAC ([ethernet] mac-address=), not
// by interface name: the predicted name is only the connection's id and
// file name, so a wrong prediction cannot strand the node
// (reference/nic-disk-naming.md §1.5).
//
// These files reach the real root only after Ignition has fetched a
// pointer config's merge source, so the initramfs still needs DHCP or ip=
// kernel arguments to get there.
type Network struct {
	Interface string `json:"interface"` // predicted name, e.g. "enp1s0"
	MAC       string `json:"mac"`       // e.g. "52:54:00:12:34:56"
	DHCP      bool   `json:"dhcp,omitempty"`

	// Static IPv4 (when DHCP is false).
	Address       netip.Addr   `json:"address,omitzero"`
	Prefix        int          `json:"prefix,omitempty"`
	Gateway       netip.Addr   `json:"gateway,omitzero"`
	DNS           []netip.Addr `json:"dns,omitempty"`
	SearchDomains []string     `json:"searchDomains,omitempty"`

	MTU int `json:"mtu,omitempty"` // 0 leaves the default
	// IPv6 is the ipv6.method: "disabled" (default), "auto", "dhcp",
	// "link-local" or "ignore".
	IPv6 string `json:"ipv6,omitempty"`
}

// Path is where the keyfile goes.
func (n Network) Path() string {
	return "/etc/NetworkManager/system-connections/" + n.Interface + ".nmconnection"
}

// Validate checks every field and names the bad one.
func (n Network) Validate() error {
	if n.Interface == "" || len(n.Interface) > 15 || strings.ContainsAny(n.Interface, "/: \t\n%") || n.Interface == "." || n.Interface == ".." {
		return fmt.Errorf("%w: interface %q: want a Linux interface name of 1-15 bytes without '/', ':', '%%' or spaces", ErrBadPatch, n.Interface)
	}
	hw, err := net.ParseMAC(n.MAC)
	if err != nil || len(hw) != 6 {
		return fmt.Errorf("%w: mac %q for %s: want a 48-bit MAC like 52:54:00:12:34:56", ErrBadPatch, n.MAC, n.Interface)
	}
	if hw[0]&1 == 1 {
		return fmt.Errorf("%w: mac %q for %s: multicast address", ErrBadPatch, n.MAC, n.Interface)
	}
	if n.DHCP {
		if n.Address.IsValid() || n.Gateway.IsValid() || n.Prefix != 0 {
			return fmt.Errorf("%w: %s: dhcp is set together with a static address/prefix/gateway", ErrBadPatch, n.Interface)
		}
	} else {
		if !n.Address.Is4() || n.Address.IsUnspecified() || n.Address.IsMulticast() {
			return fmt.Errorf("%w: address %q for %s: want a unicast IPv4 address (or set dhcp)", ErrBadPatch, n.Address, n.Interface)
		}
		if n.Prefix < 1 || n.Prefix > 32 {
			return fmt.Errorf("%w: prefix %d for %s: want 1-32", ErrBadPatch, n.Prefix, n.Interface)
		}
		if n.Gateway.IsValid() {
			if !n.Gateway.Is4() {
				return fmt.Errorf("%w: gateway %q for %s: want IPv4", ErrBadPatch, n.Gateway, n.Interface)
			}
			if n.Gateway == n.Address {
				return fmt.Errorf("%w: gateway %q for %s: same as the address", ErrBadPatch, n.Gateway, n.Interface)
			}
		}
	}
	for i, d := range n.DNS {
		if !d.Is4() {
			return fmt.Errorf("%w: dns[%d] %q for %s: want IPv4", ErrBadPatch, i, d, n.Interface)
		}
	}
	for i, s := range n.SearchDomains {
		if err := checkDNSName(fmt.Sprintf("searchDomains[%d]", i), s); err != nil {
			return err
		}
	}
	if n.MTU != 0 && (n.MTU < 576 || n.MTU > 65535) {
		return fmt.Errorf("%w: mtu %d for %s: want 576-65535", ErrBadPatch, n.MTU, n.Interface)
	}
	switch n.IPv6 {
	case "", "disabled", "auto", "dhcp", "link-local", "ignore":
	default:
		return fmt.Errorf("%w: ipv6 %q for %s: want disabled, auto, dhcp, link-local or ignore", ErrBadPatch, n.IPv6, n.Interface)
	}
	return nil
}

// Keyfile renders the NetworkManager keyfile. Keys are written in a fixed
// order so the same input always yields the same bytes.
func (n Network) Keyfile() []byte {
	hw, _ := net.ParseMAC(n.MAC)
	var b strings.Builder
	b.WriteString("[connection]\n")
	b.WriteString("id=" + n.Interface + "\n")
	b.WriteString("type=ethernet\n")
	b.WriteString("autoconnect=true\n")
	b.WriteString("\n[ethernet]\n")
	b.WriteString("mac-address=" + strings.ToUpper(hw.String()) + "\n")
	if n.MTU != 0 {
		fmt.Fprintf(&b, "mtu=%d\n", n.MTU)
	}
	b.WriteString("\n[ipv4]\n")
	if n.DHCP {
		b.WriteString("method=auto\n")
	} else {
		b.WriteString("method=manual\n")
		if n.Gateway.IsValid() {
			fmt.Fprintf(&b, "address1=%s/%d,%s\n", n.Address, n.Prefix, n.Gateway)
		} else {
			fmt.Fprintf(&b, "address1=%s/%d\n", n.Address, n.Prefix)
		}
	}
	if len(n.DNS) > 0 {
		b.WriteString("dns=")
		for _, d := range n.DNS {
			b.WriteString(d.String() + ";")
		}
		b.WriteString("\n")
		if n.DHCP {
			// Our servers, not the DHCP server's, answer for the cluster.
			b.WriteString("ignore-auto-dns=true\n")
		}
	}
	if len(n.SearchDomains) > 0 {
		b.WriteString("dns-search=" + strings.Join(n.SearchDomains, ";") + ";\n")
	}
	b.WriteString("may-fail=false\n")
	ipv6 := n.IPv6
	if ipv6 == "" {
		ipv6 = "disabled"
	}
	b.WriteString("\n[ipv6]\nmethod=" + ipv6 + "\n")
	return []byte(b.String())
}

func (n Network) apply(e *editor) error {
	return e.putFile(fileEntry{path: n.Path(), mode: 0o600, contents: n.Keyfile()})
}
