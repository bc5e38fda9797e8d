package kvm_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/okvm/okvm/internal/labtest"
	"github.com/okvm/okvm/kvm"
)

// labClient connects to the lab libvirtd's test driver (state shared by
// every connection of the daemon: tests use unique names).
func labClient(t *testing.T) *kvm.Client {
	t.Helper()
	sock := labtest.Socket(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := kvm.Dial(ctx, "test+unix:///default?socket="+sock)
	if err != nil {
		t.Fatalf("dial lab test driver: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if u, err := c.URI(ctx); err != nil || u != "test:///default" {
		t.Fatalf("connected to %q (%v), want the bare driver URI test:///default", u, err)
	}
	if v, err := c.Ping(ctx); err != nil || v < 6005000 {
		t.Fatalf("libvirt version %d (%v): fw_cfg sysinfo needs ≥ 6.5.0", v, err)
	}
	return c
}

func uniq(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), time.Now().UnixNano()%1_000_000)
}

func TestLabDomainLifecycle(t *testing.T) {
	c := labClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	name := uniq("lab-life")
	spec := kvm.DomainSpec{
		Name: name, MemoryMiB: 256, VCPUs: 1, Type: "qemu",
		Disks:    []kvm.DiskSpec{{Path: "/var/lib/okvm/" + name + ".qcow2", BootOrder: 1}},
		NICs:     []kvm.NICSpec{{Network: "default"}},
		Ignition: &kvm.IgnitionSpec{Value: `{"ignition":{"version":"3.2.0"}}`},
		Labels:   map[string]string{"cluster": name},
	}
	t.Cleanup(func() { c.Remove(context.Background(), name) })
	d, err := c.Define(ctx, spec)
	if err != nil {
		t.Fatalf("define: %v", err)
	}
	if d.UUID == "" || len(d.Devices.Interfaces) != 1 || d.Devices.Interfaces[0].MAC.Address != kvm.NICMAC(name, 0) {
		t.Fatalf("read-back definition lacks UUID or the NIC: %+v", d.Devices.Interfaces)
	}
	// Same spec: no-op, same UUID.
	d2, err := c.Define(ctx, spec)
	if err != nil || d2.UUID != d.UUID {
		t.Fatalf("second define: uuid %s vs %s, err %v", d2.UUID, d.UUID, err)
	}
	// A second domain of the cluster: ConnectListAllDomains' NeedResults is
	// a yes/no flag in libvirt's protocol, not a limit.
	second := kvm.DomainSpec{Name: name + "-b", MemoryMiB: 64, VCPUs: 1, Type: "qemu", Labels: map[string]string{"cluster": name}}
	t.Cleanup(func() { c.Remove(context.Background(), second.Name) })
	if _, err := c.Define(ctx, second); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListDomains(ctx, map[string]string{"cluster": name})
	if err != nil || len(list) != 2 || list[0].Name != name || list[1].Name != second.Name {
		t.Fatalf("ListDomains by label = %+v, %v", list, err)
	}
	if err := c.Start(ctx, name); err != nil {
		t.Fatalf("start: %v", err)
	}
	if err := c.WaitForState(ctx, name, kvm.StateRunning); err != nil {
		t.Fatal(err)
	}
	spec.MemoryMiB = 512
	if _, err := c.Define(ctx, spec); !errors.Is(err, kvm.ErrConflict) {
		t.Fatalf("changing a running domain: err = %v, want ErrConflict", err)
	}
	if err := c.Undefine(ctx, name); !errors.Is(err, kvm.ErrConflict) {
		t.Fatalf("undefine running: err = %v, want ErrConflict", err)
	}
	if err := c.Destroy(ctx, name); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	if st, err := c.State(ctx, name); err != nil || st != kvm.StateShutoff {
		t.Fatalf("state after destroy = %v, %v", st, err)
	}
	d3, err := c.Define(ctx, spec)
	if err != nil || d3.UUID != d.UUID || d3.Memory.Value != 512*1024 {
		t.Fatalf("redefine stopped domain: uuid %s (want %s), memory %d %s, err %v", d3.UUID, d.UUID, d3.Memory.Value, d3.Memory.Unit, err)
	}
	if err := c.Undefine(ctx, name); err != nil {
		t.Fatalf("undefine: %v", err)
	}
	if _, err := c.State(ctx, name); !errors.Is(err, kvm.ErrNotFound) {
		t.Fatalf("state after undefine: err = %v, want ErrNotFound", err)
	}
}

func TestLabDefineRejectsUnknownNetwork(t *testing.T) {
	c := labClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := uniq("lab-nonet")
	_, err := c.Define(ctx, kvm.DomainSpec{Name: name, MemoryMiB: 64, VCPUs: 1, NICs: []kvm.NICSpec{{Network: "no-such-net-" + name}}})
	var fe *kvm.FieldError
	if !errors.As(err, &fe) || fe.Field != "nics[0].network" || !errors.Is(err, kvm.ErrNotFound) {
		t.Fatalf("err = %v, want a FieldError on nics[0].network that is ErrNotFound", err)
	}
	if _, err := c.State(ctx, name); !errors.Is(err, kvm.ErrNotFound) {
		t.Fatalf("a domain was left behind: %v", err)
	}
}

func TestLabNetworkDHCPHosts(t *testing.T) {
	c := labClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := uniq("labnet")
	spec := kvm.NetworkSpec{
		Name: name, CIDR: "10.77.0.0/24", Domain: "lab.okd.test",
		DHCPRange:      &kvm.IPRange{Start: "10.77.0.100", End: "10.77.0.200"},
		Reservations:   []kvm.DHCPHost{{MAC: "52:54:00:00:00:01", IP: "10.77.0.10", Name: "bootstrap"}},
		DnsmasqOptions: []string{kvm.AppsWildcard("lab", "okd.test", "10.77.0.5")},
	}
	if err := c.DefineNetwork(ctx, spec); err != nil {
		t.Fatalf("define network: %v", err)
	}
	t.Cleanup(func() {
		c.DestroyNetwork(context.Background(), name)
		c.UndefineNetwork(context.Background(), name)
	})
	if err := c.DefineNetwork(ctx, spec); err != nil {
		t.Fatalf("define the same network again: %v", err)
	}
	if err := c.StartNetwork(ctx, name); err != nil {
		t.Fatalf("start network: %v", err)
	}
	if err := c.SetDHCPHost(ctx, name, kvm.DHCPHost{MAC: "52:54:00:00:00:02", IP: "10.77.0.11", Name: "master-0"}); err != nil {
		t.Fatalf("add DHCP host live: %v", err)
	}
	if err := c.SetDHCPHost(ctx, name, kvm.DHCPHost{MAC: "52:54:00:00:00:02", IP: "10.77.0.12", Name: "master-0"}); err != nil {
		t.Fatalf("modify DHCP host live: %v", err)
	}
	if err := c.SetDHCPHost(ctx, name, kvm.DHCPHost{MAC: "52:54:00:00:00:03", IP: "10.77.0.12"}); !errors.Is(err, kvm.ErrConflict) {
		t.Fatalf("reserving a taken IP: err = %v, want ErrConflict", err)
	}
	if err := c.RemoveDHCPHost(ctx, name, "52:54:00:00:00:01"); err != nil {
		t.Fatalf("remove DHCP host: %v", err)
	}
	hosts, err := c.DHCPHosts(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) != 1 || hosts[0].MAC != "52:54:00:00:00:02" || hosts[0].IP != "10.77.0.12" {
		t.Fatalf("persistent reservations = %+v, want only master-0 at 10.77.0.12", hosts)
	}
	if err := c.SetDNSHost(ctx, name, kvm.DNSHost{IP: "10.77.0.5", Hostnames: []string{"api.lab.okd.test", "api-int.lab.okd.test"}}); err != nil {
		t.Fatalf("add DNS host: %v", err)
	}
	x, err := c.NetworkXML(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if x.DNS == nil || len(x.DNS.Host) != 1 || len(x.DNS.Host[0].Hostnames) != 2 {
		t.Fatalf("DNS hosts = %+v", x.DNS)
	}
	// (The test driver drops dnsmasq:options: it has no dnsmasq namespace.)
	if _, err := c.Leases(ctx, name); err != nil && !errors.Is(err, kvm.ErrUnsupported) {
		t.Fatalf("leases: %v (the test driver has none: want ErrUnsupported)", err)
	}
}
