package netprov

import (
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	libvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/okvm/okvm/internal/labtest"
)

// TestLibvirtNetworkLab defines and starts the rendered network in the lab
// libvirtd (inside netns okvm-lab), then asks that network's own dnsmasq,
// from inside the namespace, for the names users most often find missing:
// a random *.apps name, api-int, a node, and a node's PTR.
func TestLibvirtNetworkLab(t *testing.T) {
	// Isolated and NAT: NAT is what a cluster needs (image pulls), isolated
	// is what air-gapped labs use; libvirt writes a different dnsmasq and
	// firewall setup for each.
	for _, fwd := range []string{"", "nat"} {
		name := fwd
		if name == "" {
			name = "isolated"
		}
		t.Run(name, func(t *testing.T) { testLibvirtNetworkLab(t, fwd) })
	}
}

func testLibvirtNetworkLab(t *testing.T, forward string) {
	labtest.Root(t)
	sock := labtest.Socket(t)
	ip := labtest.Tool(t, "ip")
	dig := labtest.Tool(t, "dig")

	l, err := libvirt.ConnectToURI(&url.URL{Scheme: "qemu+unix", Path: "/system", RawQuery: "socket=" + sock})
	if err != nil {
		t.Fatalf("connect to lab libvirtd at %s: %v", sock, err)
	}
	t.Cleanup(func() { l.Disconnect() })

	subnet := freeSubnet(t, l)
	gw := subnet.Addr().Next()
	spec := PlanSpec{
		ClusterName:    "nplab",
		BaseDomain:     "okvm.test",
		MachineNetwork: subnet,
		Gateway:        gw,
		APIAddress:     gw,                             // the host runs the load balancer, as in the installer's CI
		IngressAddress: gw.Next().Next().Next().Next(), // .5, a VIP
		Nodes: []NodeSpec{
			{Name: "bootstrap", Role: RoleBootstrap, MAC: "52:54:00:4e:50:01"},
			{Name: "master-0", Role: RoleMaster, MAC: "52:54:00:4e:50:10"},
			{Name: "worker-0", Role: RoleWorker, MAC: "52:54:00:4e:50:20"},
		},
	}
	p, err := NewPlan(spec)
	if err != nil {
		t.Fatal(err)
	}
	id := os.Getpid() % 100000
	opts := LibvirtNetworkOptions{Name: fmt.Sprintf("okvm-netprov-%d", id), Bridge: fmt.Sprintf("oknp%d", id), Forward: forward}
	xml, err := p.RenderLibvirtNetwork(opts)
	if err != nil {
		t.Fatal(err)
	}
	net, err := l.NetworkDefineXML(string(xml))
	if err != nil {
		t.Fatalf("lab libvirtd rejected the rendered network: %v\n%s", err, xml)
	}
	t.Cleanup(func() {
		if err := l.NetworkUndefine(net); err != nil {
			t.Errorf("undefine %s: %v", opts.Name, err)
		}
	})
	if err := l.NetworkCreate(net); err != nil {
		t.Fatalf("start network %s: %v\n%s", opts.Name, err, xml)
	}
	t.Cleanup(func() {
		if err := l.NetworkDestroy(net); err != nil {
			t.Errorf("destroy %s: %v", opts.Name, err)
		}
	})

	// What libvirt kept must still carry the wildcard (it drops unknown
	// elements silently).
	got, err := l.NetworkGetXMLDesc(net, 0)
	if err != nil {
		t.Fatal(err)
	}
	var back libvirtxml.Network
	if err := back.Unmarshal(got); err != nil {
		t.Fatal(err)
	}
	if back.DnsmasqOptions == nil || len(back.DnsmasqOptions.Option) == 0 ||
		!strings.HasPrefix(back.DnsmasqOptions.Option[0].Value, "address=/apps.") {
		t.Fatalf("libvirt dropped the dnsmasq options:\n%s", got)
	}
	if back.IPs[0].DHCP == nil || len(back.IPs[0].DHCP.Hosts) != len(p.Nodes) {
		t.Fatalf("libvirt kept %v DHCP hosts, want %d:\n%s", back.IPs[0].DHCP, len(p.Nodes), got)
	}

	master, _ := p.Node("master-0")
	for _, q := range []struct {
		args []string
		want string
	}{
		{[]string{"random-" + fmt.Sprint(id) + ".apps." + p.Domain}, p.Ingress.String()},
		{[]string{"console-openshift-console.apps." + p.Domain}, p.Ingress.String()},
		{[]string{"api-int." + p.Domain}, p.API.String()},
		{[]string{"api." + p.Domain}, p.API.String()},
		{[]string{"master-0." + p.Domain}, master.IP.String()},
		{[]string{"bootstrap." + p.Domain}, "."}, // any answer
		{[]string{"-x", master.IP.String()}, "master-0." + p.Domain + "."},
		{[]string{"-x", p.API.String()}, "api." + p.Domain + "."},
	} {
		args := append([]string{"netns", "exec", labtest.Namespace, dig, "@" + gw.String(), "+short", "+time=1", "+tries=1"}, q.args...)
		var out string
		deadline := time.Now().Add(15 * time.Second) // dnsmasq needs a moment after start
		for {
			b, _ := exec.Command(ip, args...).CombinedOutput()
			out = strings.TrimSpace(string(b))
			if strings.Contains(out, q.want) && !strings.Contains(out, "timed out") {
				t.Logf("dig @%s %s: %s", gw, strings.Join(q.args, " "), strings.ReplaceAll(out, "\n", " "))
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("dig %s in %s via %s: got %q, want %q", strings.Join(q.args, " "), labtest.Namespace, gw, out, q.want)
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
}

// freeSubnet picks a /24 in 10.213.0.0/16 that no network of the lab
// libvirtd uses, so parallel runs and other packages' tests do not collide.
func freeSubnet(t *testing.T, l *libvirt.Libvirt) netip.Prefix {
	t.Helper()
	nets, _, err := l.ConnectListAllNetworks(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	used := map[netip.Prefix]bool{}
	for _, n := range nets {
		x, err := l.NetworkGetXMLDesc(n, 0)
		if err != nil {
			continue
		}
		var d libvirtxml.Network
		if d.Unmarshal(x) != nil {
			continue
		}
		for _, a := range d.IPs {
			if ad, err := netip.ParseAddr(a.Address); err == nil {
				p, _ := ad.Prefix(24)
				used[p] = true
			}
		}
	}
	start := os.Getpid() % 250
	for i := 0; i < 250; i++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 213, byte((start + i) % 250), 0}), 24)
		if !used[p] {
			return p
		}
	}
	t.Fatal("no free /24 in 10.213.0.0/16 in the lab libvirtd")
	return netip.Prefix{}
}
