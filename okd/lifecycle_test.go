package okd_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	certv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/okvm/okvm/ignition"
	"github.com/okvm/okvm/kvm"
	"github.com/okvm/okvm/kvm/kvmtest"
	"github.com/okvm/okvm/netprov/netprovtest"
	"github.com/okvm/okvm/okd"
)

// TestLifecycleFull installs 3 masters + 3 workers on the fakes and checks
// what a user of okvm relies on: the summary, bootstrap removal before any
// worker exists, workers joining only through okvm's approver, per-node
// Ignition, secret file modes, no secret in any log line, and Destroy.
func TestLifecycleFull(t *testing.T) {
	ctx := context.Background()
	ps, token := randomPullSecret()
	const password = "Okvm7-Test9-Passw0-rdXyz-Abcde"
	e := newEnv(t, lcConfig{name: "lcfull", workers: 3, pullSecret: ps, password: password})
	bsDomain := "lcfull-bootstrap"

	// Checked from inside the progress callback, i.e. between two actions
	// of the lifecycle: right after remove-bootstrap is recorded done and
	// before the workers step starts.
	var (
		mu            sync.Mutex
		checkedRemove bool
		removeErrs    []string
		workerDefined []string // worker domains seen before bootstrap removal
	)
	fail := func(f string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		removeErrs = append(removeErrs, sprintf(f, a...))
	}
	e.setOnProgress(func(p okd.Progress) {
		// Every progress line: no worker domain may exist while the bootstrap does.
		if !checkedRemove {
			if doms, err := e.kc.ListDomains(ctx, map[string]string{"cluster": "lcfull", "role": "worker"}); err == nil && len(doms) > 0 {
				mu.Lock()
				for _, d := range doms {
					workerDefined = append(workerDefined, d.Name)
				}
				mu.Unlock()
			}
		}
		if p.Step != okd.StepRemoveBootstrap || !p.Done {
			return
		}
		checkedRemove = true
		if _, err := e.kc.State(ctx, bsDomain); !errors.Is(err, kvm.ErrNotFound) {
			fail("bootstrap domain after removal: err = %v, want ErrNotFound", err)
		}
		for _, v := range []string{bsDomain + ".qcow2", bsDomain + ".ign"} {
			if _, err := e.kc.Volume(ctx, "okvm-lcfull", v); !errors.Is(err, kvm.ErrNotFound) {
				fail("volume %s after removal: err = %v, want ErrNotFound", v, err)
			}
		}
		dnsAddr, dhcpAddr := e.l.EmbeddedAddrs()
		dnsSrv := &netprovtest.DNSServer{Addr: dnsAddr}
		if r := dnsSrv.Exchange(t, "bootstrap.lcfull.okd.test", dns.TypeA); r.Rcode != dns.RcodeNameError || len(r.Answer) != 0 {
			fail("DNS bootstrap.lcfull.okd.test after removal: rcode %s answers %v, want NXDOMAIN", dns.RcodeToString[r.Rcode], r.Answer)
		}
		if r := dnsSrv.Exchange(t, "master-0.lcfull.okd.test", dns.TypeA); len(r.Answer) != 1 {
			fail("DNS master-0 after bootstrap removal: %v, want one A record", r.Answer)
		}
		st := e.l.State()
		bsMAC, err := net.ParseMAC(st.Nodes["bootstrap"].MAC)
		if err != nil {
			fail("bootstrap MAC %q: %v", st.Nodes["bootstrap"].MAC, err)
			return
		}
		dhcpSrv := &netprovtest.DHCPServer{Addr: dhcpAddr}
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		if lease, err := dhcpSrv.Client(t, bsMAC).Request(cctx); err == nil {
			fail("DHCP for the bootstrap MAC after removal: got lease %v, want no answer", lease.ACK.YourIPAddr)
		}
		m0, _ := net.ParseMAC(st.Nodes["master-0"].MAC)
		mctx, mcancel := context.WithTimeout(ctx, 3*time.Second)
		defer mcancel()
		if lease, err := dhcpSrv.Client(t, m0).Request(mctx); err != nil || lease.ACK.YourIPAddr.String() != st.Nodes["master-0"].IP.String() {
			fail("DHCP for master-0 after bootstrap removal: %v %v", lease, err)
		}
		haproxy, err := os.ReadFile(filepath.Join(e.dir, "network", "haproxy.cfg"))
		if err != nil || strings.Contains(string(haproxy), st.Nodes["bootstrap"].IP.String()+":") {
			fail("haproxy.cfg after removal still names the bootstrap (%v):\n%s", err, haproxy)
		}
	})
	// okvm's approver must only act once the bootstrap is gone (before, the
	// bootstrap's approve-csr.sh does) — check at every decision.
	var bootstrapAliveAtDecision []string
	e.mu.Lock()
	e.onDecision = func(d okd.Decision) {
		if _, err := e.kc.State(ctx, bsDomain); !errors.Is(err, kvm.ErrNotFound) {
			mu.Lock()
			bootstrapAliveAtDecision = append(bootstrapAliveAtDecision, d.String())
			mu.Unlock()
		}
	}
	e.mu.Unlock()

	t0 := time.Now()
	sum, err := e.run(ctx)
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s", err, e.progressText())
	}
	t.Logf("3+3 lifecycle on fakes: %s", time.Since(t0).Round(time.Millisecond))

	// Summary.
	wantNodes := []string{"master-0.lcfull.okd.test", "master-1.lcfull.okd.test", "master-2.lcfull.okd.test",
		"worker-0.lcfull.okd.test", "worker-1.lcfull.okd.test", "worker-2.lcfull.okd.test"}
	if !slices.Equal(sum.Nodes, wantNodes) {
		t.Errorf("Summary.Nodes = %v, want %v", sum.Nodes, wantNodes)
	}
	if sum.Cluster != "lcfull" || sum.APIURL != "https://api.lcfull.okd.test:6443" ||
		sum.ConsoleURL != "https://console-openshift-console.apps.lcfull.okd.test" {
		t.Errorf("Summary = %+v", sum)
	}
	if sum.Kubeconfig != filepath.Join(e.dir, "install", "auth", "kubeconfig") || sum.Password != filepath.Join(e.dir, "install", "auth", "kubeadmin-password") {
		t.Errorf("Summary paths: kubeconfig %q password %q", sum.Kubeconfig, sum.Password)
	}
	if sum.Elapsed <= 0 {
		t.Errorf("Summary.Elapsed = %v", sum.Elapsed)
	}
	if got := e.stepsDone(); !slices.Equal(got, okd.Steps()) {
		t.Errorf("steps done = %v, want %v", got, okd.Steps())
	}

	mu.Lock()
	if !checkedRemove {
		t.Error("remove-bootstrap never reported done")
	}
	for _, s := range removeErrs {
		t.Error(s)
	}
	if len(workerDefined) > 0 {
		t.Errorf("worker domains %v existed before the bootstrap was removed", workerDefined)
	}
	if len(bootstrapAliveAtDecision) > 0 {
		t.Errorf("okvm's approver decided while the bootstrap existed: %v", bootstrapAliveAtDecision)
	}
	mu.Unlock()

	// Every worker's client and serving CSR approved by okvm's approver,
	// and by nobody else.
	e.mu.Lock()
	approved := map[string]map[okd.CSRKind]bool{}
	for _, d := range e.decisions {
		if d.Approved {
			if approved[d.Node] == nil {
				approved[d.Node] = map[okd.CSRKind]bool{}
			}
			approved[d.Node][d.Kind] = true
		}
	}
	e.mu.Unlock()
	for _, w := range wantNodes[3:] {
		if !approved[w][okd.CSRKindClient] || !approved[w][okd.CSRKindServing] {
			t.Errorf("okvm's approver approved for %s: %v, want client and serving", w, approved[w])
		}
	}
	csrs, err := e.world.Sim.Kube().CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	workerCSRs := 0
	for _, c := range csrs.Items {
		node := csrNode(c)
		if !strings.HasPrefix(node, "worker-") {
			continue
		}
		workerCSRs++
		for _, cond := range c.Status.Conditions {
			if cond.Type == certv1.CertificateApproved && cond.Reason == "BootstrapApproveCSR" {
				t.Errorf("CSR %s for %s was approved by the bootstrap's approve-csr.sh", c.Name, node)
			}
		}
	}
	if workerCSRs < 6 {
		t.Errorf("%d worker CSRs in the cluster, want at least 6", workerCSRs)
	}

	// Per-node Ignition: hostname and a keyfile bound to the MAC.
	st := e.l.State()
	for _, name := range []string{"master-0", "master-2", "worker-0", "worker-2"} {
		n := st.Nodes[name]
		raw, err := os.ReadFile(filepath.Join(e.dir, "nodes", name+".ign"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ignition.Parse(raw); err != nil {
			t.Errorf("%s.ign does not parse: %v", name, err)
		}
		files := ignitionFiles(t, raw)
		if got := files["/etc/hostname"]; got != n.FQDN+"\n" {
			t.Errorf("%s /etc/hostname = %q, want %q", name, got, n.FQDN+"\n")
		}
		if n.Interface == "" || n.Interface == "nic0" {
			t.Errorf("%s: predicted interface %q", name, n.Interface)
		}
		kf, ok := files["/etc/NetworkManager/system-connections/"+n.Interface+".nmconnection"]
		if !ok {
			t.Errorf("%s: no keyfile for %s; files %v", name, n.Interface, keys(files))
			continue
		}
		for _, want := range []string{"mac-address=" + strings.ToUpper(n.MAC), n.IP.String() + "/24", "id=" + n.Interface} {
			if !strings.Contains(kf, want) {
				t.Errorf("%s keyfile lacks %q:\n%s", name, want, kf)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(e.dir, "nodes", "bootstrap.ign")); err != nil {
		t.Errorf("nodes/bootstrap.ign: %v", err)
	}

	// Secret files are 0600.
	secrets := []string{
		".okvm/state.json",
		"install/.okvm/install-config.yaml",
		"install/auth/kubeadmin-password",
		"install/auth/kubeconfig",
	}
	if _, err := os.Stat(filepath.Join(e.dir, "install", "install-config.yaml")); err == nil {
		secrets = append(secrets, "install/install-config.yaml")
	}
	ign, _ := filepath.Glob(filepath.Join(e.dir, "nodes", "*.ign"))
	if len(ign) != 7 {
		t.Errorf("nodes/*.ign = %v, want 7 files", ign)
	}
	for _, p := range ign {
		rel, _ := filepath.Rel(e.dir, p)
		secrets = append(secrets, rel)
	}
	for _, rel := range secrets {
		fi, err := os.Stat(filepath.Join(e.dir, rel))
		if err != nil {
			t.Errorf("secret file %s: %v", rel, err)
			continue
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", rel, fi.Mode().Perm())
		}
	}

	// No secret in anything the lifecycle emitted.
	pw, err := os.ReadFile(filepath.Join(e.dir, "install", "auth", "kubeadmin-password"))
	if err != nil || strings.TrimSpace(string(pw)) != password {
		t.Fatalf("kubeadmin-password = %q, %v; want the scripted one", pw, err)
	}
	emitted := e.log.String() + e.progressText()
	for what, secret := range map[string]string{"pull secret token": token, "pull secret": ps.Reveal(), "kubeadmin password": password} {
		if strings.Contains(emitted, secret) {
			t.Errorf("the %s appears in the lifecycle's output", what)
		}
	}
	// The check above can fail: the installer's line that carries the
	// password did go through the output we searched (redacted).
	if !strings.Contains(emitted, "Login to the console with user") {
		t.Errorf("the installer's login line is not in the collected output; the secret check proves nothing")
	}
	if !strings.Contains(e.log.String(), `"level":"DEBUG"`) {
		t.Errorf("no debug lines collected; the secret check would miss them")
	}

	// A rerun of the finished install does nothing and says so.
	nBefore := len(e.stepsDone())
	again, err := e.l.Run(ctx)
	if err != nil || !again.AlreadyInstalled || !slices.Equal(again.Nodes, wantNodes) {
		t.Errorf("rerun = %+v, %v; want AlreadyInstalled with the same nodes", again, err)
	}
	if sum.AlreadyInstalled {
		t.Error("the first run reported AlreadyInstalled")
	}
	if n := len(e.stepsDone()); n != nBefore {
		t.Errorf("the rerun took %d steps", n-nBefore)
	}

	// Destroy leaves nothing.
	if err := e.l.Destroy(ctx); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	doms, vols, netOK := leftovers(ctx, t, e.kc, "lcfull")
	if len(doms) != 0 || len(vols) != 0 || netOK {
		t.Errorf("after Destroy: domains %v volumes %v network present %v", doms, vols, netOK)
	}
	if _, err := e.kc.NetworkXML(ctx, "okvm-lcfull"); !errors.Is(err, kvm.ErrNotFound) {
		t.Errorf("network after Destroy: %v, want ErrNotFound", err)
	}
	if _, err := e.l.Run(ctx); err == nil || !strings.Contains(err.Error(), "destroyed") {
		t.Errorf("Run after Destroy = %v, want a refusal", err)
	}
}

// TestLifecycleRejectsBadSpec: an invalid spec fails NewLifecycle with
// field-named errors and nothing is created, neither on disk nor in libvirt.
func TestLifecycleRejectsBadSpec(t *testing.T) {
	fake := kvmtest.New()
	base := t.TempDir()
	cases := []struct {
		name   string
		mutate func(*okd.ClusterSpec)
		field  string
	}{
		{"bad name", func(s *okd.ClusterSpec) { s.Name = "Bad_Name" }, "name"},
		{"no ssh key", func(s *okd.ClusterSpec) { s.SSHKey = "" }, "sshKey"},
		{"one worker", func(s *okd.ClusterSpec) { s.Topology.Workers = 1 }, "topology.workers"},
		{"tiny masters", func(s *okd.ClusterSpec) { s.Nodes.Master = okd.NodeSize{VCPUs: 1, MemoryMiB: 512, DiskGiB: 10} }, "nodes.master"},
		{"no hypervisor uri", func(s *okd.ClusterSpec) { s.Hypervisors = []okd.Hypervisor{{URI: ""}} }, "hypervisors[0]"},
		{"bad cidr", func(s *okd.ClusterSpec) { s.Network.MachineCIDR = "10.0.0.0/30" }, "network.machineCIDR"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := clusterSpec(t, "lcbad", 2, placeholderImage(t, t.TempDir()), "")
			tc.mutate(&spec)
			dir := filepath.Join(base, strings.ReplaceAll(tc.name, " ", "-"))
			dialed := false
			_, err := okd.NewLifecycle(spec, dir, okd.WithHypervisorDialer(func(ctx context.Context, _ string) (*kvm.Client, error) {
				dialed = true
				return kvm.NewClient(ctx, fake.Dialer())
			}))
			if err == nil {
				t.Fatal("NewLifecycle accepted the spec")
			}
			if !errors.Is(err, okd.ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("err = %v, want it to name %s", err, tc.field)
			}
			if _, serr := os.Stat(dir); !errors.Is(serr, os.ErrNotExist) {
				t.Errorf("artifacts dir created for a bad spec: %v", serr)
			}
			if dialed {
				t.Error("the hypervisor was dialled for a bad spec")
			}
		})
	}
	c, err := kvm.NewClient(context.Background(), fake.Dialer())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	doms, err := c.ListDomains(context.Background(), nil)
	if err != nil || len(doms) != 0 {
		t.Errorf("domains after bad specs: %v %v", doms, err)
	}
	// Bad options too.
	spec := clusterSpec(t, "lcbad", 2, placeholderImage(t, t.TempDir()), "")
	dir := filepath.Join(base, "bad-mode")
	if _, err := okd.NewLifecycle(spec, dir, okd.WithNetworkMode("bgp")); err == nil || !strings.Contains(err.Error(), `"bgp"`) {
		t.Errorf("network mode bgp: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("artifacts dir created for a bad option: %v", err)
	}
}

// TestLifecycleDeadline: past the certificates' soft deadline the control
// plane does not start; WithForce boots it anyway (and resumes the run).
func TestLifecycleDeadline(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fake := kvmtest.New()
	var mu sync.Mutex
	var offset time.Duration
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return time.Now().Add(offset)
	}
	e := newEnv(t, lcConfig{name: "lcdead", workers: 2, dir: dir, fake: fake, noWorld: true,
		opts: []okd.LifecycleOption{okd.WithLifecycleClock(clock)}})
	e.setOnProgress(func(p okd.Progress) {
		if p.Step == okd.StepDeadline && p.Done {
			d := e.l.State().Deadline
			mu.Lock()
			// Between the soft and the hard deadline.
			offset = time.Until(d.Soft) + d.Hard.Sub(d.Soft)/2
			mu.Unlock()
		}
	})
	_, err := e.run(ctx)
	if !errors.Is(err, okd.ErrDeadlinePassed) {
		t.Fatalf("Run past the soft deadline = %v, want ErrDeadlinePassed", err)
	}
	if !strings.Contains(err.Error(), string(okd.StepStartControlPlane)) {
		t.Errorf("err = %v, want it to name step %s", err, okd.StepStartControlPlane)
	}
	doms, err := e.kc.ListDomains(ctx, map[string]string{"cluster": "lcdead"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range doms {
		if d.Active {
			t.Errorf("domain %s running after the refusal", d.Name)
		}
	}
	if len(doms) != 4 {
		t.Errorf("defined domains %d, want bootstrap + 3 masters", len(doms))
	}
	e.l.Close()

	// Forced: same directory, same clock; stop once the control plane runs.
	f := newEnv(t, lcConfig{name: "lcdead", workers: 2, dir: dir, fake: fake, noWorld: true,
		opts: []okd.LifecycleOption{okd.WithLifecycleClock(clock), okd.WithForce(true)}})
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f.setOnProgress(func(p okd.Progress) {
		if p.Step == okd.StepStartControlPlane && p.Done {
			cancel()
		}
	})
	if _, err := f.l.Run(rctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("forced Run = %v, want it to get past start-control-plane (and be cancelled)", err)
	}
	doms, err = f.kc.ListDomains(ctx, map[string]string{"cluster": "lcdead"})
	if err != nil {
		t.Fatal(err)
	}
	running := 0
	for _, d := range doms {
		if d.Active {
			running++
		}
	}
	if running != 4 {
		t.Errorf("%d domains running after the forced start, want 4", running)
	}
	if st := f.l.State(); !slices.Contains(st.Done, okd.StepStartControlPlane) {
		t.Errorf("state done = %v, want start-control-plane", st.Done)
	}
}

// ignitionFiles decodes storage.files of a config: path → contents.
func ignitionFiles(t testing.TB, raw []byte) map[string]string {
	t.Helper()
	var cfg struct {
		Storage struct {
			Files []struct {
				Path     string `json:"path"`
				Contents struct {
					Source      *string `json:"source"`
					Compression *string `json:"compression"`
				} `json:"contents"`
			} `json:"files"`
		} `json:"storage"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range cfg.Storage.Files {
		if f.Contents.Source == nil {
			continue
		}
		comp := ""
		if f.Contents.Compression != nil {
			comp = *f.Contents.Compression
		}
		b, err := ignition.DecodeDataURL(*f.Contents.Source, comp)
		if err != nil {
			continue // remote sources are not ours
		}
		out[f.Path] = string(b)
	}
	return out
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// csrNode is the short node name a CSR is for (from its username or, for
// bootstrapper client CSRs, its CN is not parsed: the username suffices for
// serving CSRs and the test only counts).
func csrNode(c certv1.CertificateSigningRequest) string {
	u := strings.TrimPrefix(c.Spec.Username, "system:node:")
	if u != c.Spec.Username {
		return u
	}
	return csrCN(c)
}

// csrCN is the node name in a CSR's subject (system:node:<name>).
func csrCN(c certv1.CertificateSigningRequest) string {
	b, _ := pem.Decode(c.Spec.Request)
	if b == nil {
		return ""
	}
	req, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(req.Subject.CommonName, "system:node:")
}

func sprintf(f string, a ...any) string { return fmt.Sprintf(f, a...) }
