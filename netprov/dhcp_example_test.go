package netprov_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"

	"github.com/okvm/okvm/netprov"
)

// Serve one reservation on a loopback UDP socket and lease it with
// nclient4. On a real network the server listens on 0.0.0.0:67 with
// WithInterface and WithServerID instead.
func ExampleDHCPServer() {
	mac := net.HardwareAddr{0x52, 0x54, 0x00, 0x00, 0x00, 0x10}
	pc, _ := net.ListenPacket("udp4", "127.0.0.1:0")
	srv, err := netprov.NewDHCPServer([]netprov.Reservation{{
		MAC: mac, IP: netip.MustParseAddr("192.168.126.10"), Prefix: 24,
		Router:   netip.MustParseAddr("192.168.126.1"),
		DNS:      []netip.Addr{netip.MustParseAddr("192.168.126.1")},
		Hostname: "master-0.c1.example.com", Domain: "c1.example.com",
	}}, netprov.WithPacketConn(pc))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Start(ctx)
	defer srv.Shutdown(ctx)

	cpc, _ := net.ListenPacket("udp4", "127.0.0.1:0")
	client, _ := nclient4.NewWithConn(cpc, mac, nclient4.WithServerAddr(pc.LocalAddr().(*net.UDPAddr)))
	defer client.Close()
	lease, err := client.Request(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	ack := lease.ACK
	fmt.Println(ack.YourIPAddr, net.IP(ack.SubnetMask()), ack.Router()[0])
	fmt.Println(ack.HostName(), ack.DomainName(), ack.IPAddressLeaseTime(0))
	// Output:
	// 192.168.126.10 255.255.255.0 192.168.126.1
	// master-0.c1.example.com c1.example.com 1h0m0s
}
