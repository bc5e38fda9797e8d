package okd_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"

	"github.com/okvm/okvm/kvm"
	"github.com/okvm/okvm/netprov/netprovtest"
	"github.com/okvm/okvm/okd"
	"github.com/okvm/okvm/okd/okdtest"
)

// TestLifecycleAddWorkers installs 3+2, then adds two workers on each DNS
// path: they get fresh addresses (the others and the bootstrap's stay put),
// DHCP and DNS entries, Ignition, running VMs, and join through okvm's
// approver.
func TestLifecycleAddWorkers(t *testing.T) {
	for _, mode := range []okd.NetworkMode{okd.NetworkLibvirt, okd.NetworkEmbedded} {
		t.Run(string(mode), func(t *testing.T) {
			ctx := context.Background()
			name := "lcadd" + string(mode[0])
			e := newEnv(t, lcConfig{name: name, workers: 2, mode: mode})
			if _, err := e.run(ctx); err != nil {
				t.Fatalf("Run: %v", err)
			}
			before := e.l.State()

			var mu sync.Mutex
			resolved := map[string]string{}
			if mode == okd.NetworkEmbedded {
				// While AddWorkers runs, the embedded DNS serves the new nodes.
				e.setOnProgress(func(p okd.Progress) {
					if p.Step != okd.StepAddWorkers || !strings.HasSuffix(p.Message, " Ready") {
						return
					}
					dnsAddr, _ := e.l.EmbeddedAddrs()
					fqdn := strings.TrimSuffix(p.Message, " Ready")
					r := (&netprovtest.DNSServer{Addr: dnsAddr}).Exchange(t, fqdn, dns.TypeA)
					mu.Lock()
					defer mu.Unlock()
					for _, rr := range r.Answer {
						if a, ok := rr.(*dns.A); ok {
							resolved[fqdn] = a.A.String()
						}
					}
				})
			}
			if err := e.l.AddWorkers(ctx, 2); err != nil {
				t.Fatalf("AddWorkers: %v\nprogress:\n%s", err, e.progressText())
			}
			after := e.l.State()
			for k, n := range before.Nodes {
				if a := after.Nodes[k]; a.IP != n.IP || a.MAC != n.MAC {
					t.Errorf("%s moved: %s/%s → %s/%s", k, n.IP, n.MAC, a.IP, a.MAC)
				}
			}
			used := map[string]string{}
			for k, n := range before.Nodes {
				used[n.IP.String()] = k
			}
			for _, w := range []string{"worker-2", "worker-3"} {
				n, ok := after.Nodes[w]
				if !ok {
					t.Fatalf("%s not in state; nodes %v", w, after.Nodes)
				}
				if other, dup := used[n.IP.String()]; dup || !n.IP.IsValid() {
					t.Errorf("%s got address %s, already %s's", w, n.IP, other)
				}
				used[n.IP.String()] = w
				st, err := e.world.Sim.Status(n.FQDN)
				if err != nil || st.Phase != okdtest.PhaseReady {
					t.Errorf("%s: %+v %v, want Ready", w, st, err)
				}
				if dstate, err := e.kc.State(ctx, n.Domain); err != nil || dstate.String() != "running" {
					t.Errorf("%s domain: %v %v", w, dstate, err)
				}
				raw, err := os.ReadFile(filepath.Join(e.dir, "nodes", w+".ign"))
				if err != nil {
					t.Fatal(err)
				}
				if got := ignitionFiles(t, raw)["/etc/hostname"]; got != n.FQDN+"\n" {
					t.Errorf("%s hostname %q", w, got)
				}
				e.mu.Lock()
				kinds := map[okd.CSRKind]bool{}
				for _, d := range e.decisions {
					if d.Approved && d.Node == n.FQDN {
						kinds[d.Kind] = true
					}
				}
				e.mu.Unlock()
				if !kinds[okd.CSRKindClient] || !kinds[okd.CSRKindServing] {
					t.Errorf("%s: okvm's approver approved %v, want client and serving", w, kinds)
				}
				switch mode {
				case okd.NetworkLibvirt:
					hosts, err := e.kc.DHCPHosts(ctx, "okvm-"+name)
					if err != nil {
						t.Fatal(err)
					}
					if !slices.ContainsFunc(hosts, func(h kvm.DHCPHost) bool { return h.MAC == n.MAC && h.IP == n.IP.String() }) {
						t.Errorf("%s: no reservation %s → %s in %v", w, n.MAC, n.IP, hosts)
					}
					nx, err := e.kc.NetworkXML(ctx, "okvm-"+name)
					if err != nil {
						t.Fatal(err)
					}
					found := false
					for _, h := range nx.DNS.Host {
						for _, hn := range h.Hostnames {
							found = found || (h.IP == n.IP.String() && hn.Hostname == n.FQDN)
						}
					}
					if !found {
						t.Errorf("%s: no DNS host %s → %s in the network", w, n.FQDN, n.IP)
					}
				case okd.NetworkEmbedded:
					mu.Lock()
					if got := resolved[n.FQDN]; got != n.IP.String() {
						t.Errorf("embedded DNS %s = %q, want %s", n.FQDN, got, n.IP)
					}
					mu.Unlock()
				}
			}
			if len(after.AddingWorkers) != 0 {
				t.Errorf("AddingWorkers left in state: %v", after.AddingWorkers)
			}
			if after.Summary == nil || len(after.Summary.Nodes) != 7 {
				t.Errorf("summary nodes after AddWorkers: %+v", after.Summary)
			}
			haproxy, _ := os.ReadFile(filepath.Join(e.dir, "network", "haproxy.cfg"))
			if !strings.Contains(string(haproxy), after.Nodes["worker-3"].IP.String()) {
				t.Errorf("haproxy.cfg lacks worker-3:\n%s", haproxy)
			}
			if err := e.l.Destroy(ctx); err != nil {
				t.Fatal(err)
			}
			if doms, vols, netOK := leftovers(ctx, t, e.kc, name); len(doms)+len(vols) != 0 || netOK {
				t.Errorf("after Destroy: %v %v %v", doms, vols, netOK)
			}
		})
	}
}

// TestLifecycleAddWorkersRefused: before the install completes, or with a
// count below one, AddWorkers refuses and plans nothing.
func TestLifecycleAddWorkersRefused(t *testing.T) {
	e := newEnv(t, lcConfig{name: "lcaddno", workers: 2, noWorld: true})
	ctx := context.Background()
	if err := e.l.AddWorkers(ctx, 0); !errors.Is(err, okd.ErrInvalid) || !strings.Contains(err.Error(), "n: 0") {
		t.Errorf("AddWorkers(0) = %v", err)
	}
	err := e.l.AddWorkers(ctx, 1)
	if err == nil || !strings.Contains(err.Error(), string(okd.StepInstallComplete)) {
		t.Errorf("AddWorkers before the install = %v", err)
	}
	if n := len(e.l.State().Nodes); n != 0 {
		t.Errorf("%d nodes planned by a refused AddWorkers", n)
	}
}

// TestLifecycleAddWorkersResume: an AddWorkers interrupted after planning
// is finished by the next call with the same n, not doubled.
func TestLifecycleAddWorkersResume(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, lcConfig{name: "lcaddre", workers: 2, mode: okd.NetworkLibvirt})
	if _, err := e.run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	actx, cancel := context.WithCancel(ctx)
	e.setOnProgress(func(p okd.Progress) {
		if p.Step == okd.StepAddWorkers && strings.HasPrefix(p.Message, "adding ") {
			cancel()
		}
	})
	if err := e.l.AddWorkers(actx, 2); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted AddWorkers = %v, want context.Canceled", err)
	}
	if got := e.l.State().AddingWorkers; !slices.Equal(got, []string{"worker-2", "worker-3"}) {
		t.Fatalf("AddingWorkers after the interruption = %v", got)
	}
	e.setOnProgress(nil)
	if err := e.l.AddWorkers(ctx, 2); err != nil {
		t.Fatalf("AddWorkers again: %v", err)
	}
	st := e.l.State()
	var workers []string
	for name, n := range st.Nodes {
		if n.Role == okd.RoleWorker {
			workers = append(workers, name)
		}
	}
	slices.Sort(workers)
	if want := []string{"worker-0", "worker-1", "worker-2", "worker-3"}; !slices.Equal(workers, want) {
		t.Errorf("workers = %v, want %v", workers, want)
	}
	doms, err := e.kc.ListDomains(ctx, map[string]string{"cluster": "lcaddre", "role": "worker"})
	if err != nil || len(doms) != 4 {
		t.Errorf("worker domains %v %v, want 4", doms, err)
	}
}
