package netprov_test

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4/server4"

	"github.com/okvm/okvm/internal/labtest"
	"github.com/okvm/okvm/internal/netns"
	"github.com/okvm/okvm/netprov"
)

// TestDHCPServerWithDhclient runs the embedded server in namespace A on
// one end of a veth pair, and the real ISC dhclient in namespace B on the
// other end: broadcast DISCOVER from an address-less NIC, broadcast OFFER
// and ACK back, exactly as on a libvirt network. The client must get the
// reserved address and every option, as its lease file shows.
func TestDHCPServerWithDhclient(t *testing.T) {
	dhclient := labtest.Tool(t, "dhclient")
	p := netns.NewPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// The client's MAC is the veth end in B: reserve it.
	out, err := p.Command(ctx, p.B, "cat", "/sys/class/net/"+p.IfB+"/address").Output()
	if err != nil {
		t.Fatal(err)
	}
	mac, err := net.ParseMAC(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	res := netprov.Reservation{
		MAC: mac, IP: netip.MustParseAddr("10.251.0.10"), Prefix: 24,
		Hostname: "master-0.c1.example.com", Domain: "c1.example.com",
		Router:    netip.MustParseAddr("10.251.0.1"),
		DNS:       []netip.Addr{netip.MustParseAddr("10.251.0.1"), netip.MustParseAddr("10.251.0.2")},
		LeaseTime: 90 * time.Minute,
	}

	// The socket is opened inside A, bound to A's veth; it stays there.
	var conn net.PacketConn
	if err := netns.Do(p.A, func() error {
		var err error
		conn, err = server4.NewIPv4UDPConn(p.IfA, &net.UDPAddr{Port: 67})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	srv, err := netprov.NewDHCPServer([]netprov.Reservation{res},
		netprov.WithPacketConn(conn), netprov.WithServerID(p.AddrA.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })

	dir := t.TempDir()
	conf := filepath.Join(dir, "dhclient.conf")
	leases := filepath.Join(dir, "dhclient.leases")
	if err := os.WriteFile(conf, []byte("timeout 20;\nretry 1;\n"+
		"request subnet-mask, routers, domain-name, domain-name-servers, domain-search, host-name, dhcp-lease-time;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// -d keeps dhclient in the foreground so the test owns the process;
	// -sf /bin/true leaves B's interface unconfigured (the lease file is
	// what we check). It is killed once the lease is written.
	cmd := p.Command(ctx, p.B, dhclient, "-4", "-d", "-1", "-v", "-cf", conf, "-lf", leases,
		"-pf", filepath.Join(dir, "dhclient.pid"), "-sf", "/bin/true", p.IfB)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	var lease string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		b, _ := os.ReadFile(leases)
		if strings.Contains(string(b), "}") {
			lease = string(b)
			break
		}
	}
	if lease == "" {
		t.Fatalf("no lease after 30s; stats %+v\ndhclient:\n%s", srv.Stats(), log.String())
	}
	t.Logf("dhclient lease file:\n%s", lease)
	for _, want := range []string{
		"fixed-address 10.251.0.10;",
		"option subnet-mask 255.255.255.0;",
		"option routers 10.251.0.1;",
		"option domain-name-servers 10.251.0.1,10.251.0.2;",
		`option domain-name "c1.example.com";`,
		`option domain-search "c1.example.com.";`,
		`option host-name "master-0.c1.example.com";`,
		"option dhcp-lease-time 5400;",
		"option dhcp-server-identifier 10.251.0.1;",
	} {
		if !strings.Contains(lease, want) {
			t.Errorf("lease file lacks %q:\n%s", want, lease)
		}
	}
	if st := srv.Stats(); st.Offers < 1 || st.Acks < 1 {
		t.Errorf("stats = %+v", st)
	}
	if l := srv.Leases(); len(l) != 1 || l[0].State != netprov.LeaseBound {
		t.Errorf("leases = %+v", l)
	}
}
