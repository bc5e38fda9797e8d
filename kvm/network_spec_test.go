package kvm

import (
	"errors"
	"testing"

	"libvirt.org/go/libvirtxml"
)

func labNet() NetworkSpec {
	return NetworkSpec{
		Name: "okd", CIDR: "192.168.126.0/24", Domain: "lab.okd.test", Bridge: "okdbr0",
		DHCPRange:      &IPRange{Start: "192.168.126.100", End: "192.168.126.200"},
		Reservations:   []DHCPHost{{MAC: "52:54:00:00:00:10", IP: "192.168.126.10", Name: "bootstrap"}},
		DNSHosts:       []DNSHost{{IP: "192.168.126.5", Hostnames: []string{"api.lab.okd.test", "api-int.lab.okd.test"}}},
		DnsmasqOptions: []string{AppsWildcard("lab", "okd.test", "192.168.126.5")},
	}
}

func TestNetworkXMLGolden(t *testing.T) {
	x, err := labNet().XML()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "network-okd.xml", x)
	var n libvirtxml.Network
	if err := n.Unmarshal(x); err != nil {
		t.Fatal(err)
	}
	if n.Forward == nil || n.Forward.Mode != "nat" || n.IPs[0].Address != "192.168.126.1" || n.IPs[0].Prefix != 24 {
		t.Errorf("forward %+v ip %+v", n.Forward, n.IPs)
	}
	if n.DnsmasqOptions == nil || n.DnsmasqOptions.Option[0].Value != "address=/apps.lab.okd.test/192.168.126.5" {
		t.Errorf("dnsmasq options %+v", n.DnsmasqOptions)
	}
	if h := n.IPs[0].DHCP.Hosts; len(h) != 1 || h[0].MAC != "52:54:00:00:00:10" || h[0].IP != "192.168.126.10" {
		t.Errorf("reservations %+v", h)
	}
	iso := labNet()
	iso.Mode = "isolated"
	x2, _ := iso.Network()
	if x2.Forward != nil {
		t.Errorf("isolated network forwards: %+v", x2.Forward)
	}
}

func TestNetworkValidate(t *testing.T) {
	cases := []struct {
		edit  func(*NetworkSpec)
		field string
	}{
		{func(s *NetworkSpec) { s.Name = "a b" }, "name"},
		{func(s *NetworkSpec) { s.Mode = "route" }, "mode"},
		{func(s *NetworkSpec) { s.Bridge = "a-very-long-bridge-name" }, "bridge"},
		{func(s *NetworkSpec) { s.CIDR = "fd00::/64" }, "cidr"},
		{func(s *NetworkSpec) { s.CIDR = "10.0.0.0/31" }, "cidr"},
		{func(s *NetworkSpec) { s.DHCPRange.Start = "10.0.0.5" }, "dhcpRange.start"},
		{func(s *NetworkSpec) { s.DHCPRange.End = "192.168.126.50" }, "dhcpRange.end"},
		{func(s *NetworkSpec) { s.Reservations[0].IP = "192.168.126.1" }, "reservations[0].ip"},
		{func(s *NetworkSpec) { s.Reservations[0].MAC = "nope" }, "reservations[0].mac"},
		{func(s *NetworkSpec) {
			s.Reservations = append(s.Reservations, DHCPHost{MAC: "52:54:00:00:00:11", IP: "192.168.126.10"})
		}, "reservations[1].ip"},
		{func(s *NetworkSpec) {
			s.Reservations = append(s.Reservations, DHCPHost{MAC: "52:54:00:00:00:10", IP: "192.168.126.11"})
		}, "reservations[1].mac"},
		{func(s *NetworkSpec) { s.DNSHosts[0].Hostnames = nil }, "dnsHosts[0].hostnames"},
		{func(s *NetworkSpec) { s.DNSHosts[0].Hostnames[1] = "bad_name" }, "dnsHosts[0].hostnames[1]"},
		{func(s *NetworkSpec) { s.DnsmasqOptions = []string{"a\nb"} }, "dnsmasqOptions[0]"},
	}
	for _, tc := range cases {
		s := labNet()
		s.DNSHosts = []DNSHost{{IP: "192.168.126.5", Hostnames: []string{"api.lab.okd.test", "api-int.lab.okd.test"}}}
		tc.edit(&s)
		err := s.Validate()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("want FieldError on %s, got %v", tc.field, err)
		}
	}
	if err := labNet().Validate(); err != nil {
		t.Fatal(err)
	}
}
