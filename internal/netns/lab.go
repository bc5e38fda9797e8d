package netns

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os/exec"
	"testing"
	"time"

	"github.com/okvm/okvm/internal/labtest"
)

// Pair is two fresh network namespaces, A and B, joined by a veth link
// (IfA in A, IfB in B, both up, loopback up in each). A has AddrA on IfA;
// B's side has no address, as a DHCP client's NIC before its first lease.
// Nothing in a Pair can reach the host's networks.
type Pair struct {
	A, B     string       // namespace names, okvm-t-<random>-a / -b
	IfA, IfB string       // interface names inside A and B
	AddrA    netip.Prefix // address of IfA
	IP       string       // path of ip(8)
}

// NewPair creates a Pair for one test and deletes it (and everything in
// it) at cleanup. It skips the test without root or ip(8) (fails under
// OKVM_REQUIRE_LAB=1), like every labtest helper.
func NewPair(t testing.TB) *Pair {
	t.Helper()
	labtest.Root(t)
	ipBin := labtest.Tool(t, "ip")
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	id := hex.EncodeToString(b[:])
	p := &Pair{
		A: "okvm-t-" + id + "-a", B: "okvm-t-" + id + "-b",
		IfA: "veth-a", IfB: "veth-b",
		AddrA: netip.MustParsePrefix("10.251.0.1/24"),
		IP:    ipBin,
	}
	run := func(args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, ipBin, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	for _, ns := range []string{p.A, p.B} {
		run("netns", "add", ns)
		ns := ns
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = exec.CommandContext(ctx, ipBin, "netns", "del", ns).Run()
		})
	}
	run("-n", p.A, "link", "add", p.IfA, "type", "veth", "peer", "name", p.IfB, "netns", p.B)
	run("-n", p.A, "addr", "add", p.AddrA.String(), "dev", p.IfA)
	for _, x := range [][2]string{{p.A, p.IfA}, {p.B, p.IfB}, {p.A, "lo"}, {p.B, "lo"}} {
		run("-n", x[0], "link", "set", x[1], "up")
	}
	return p
}

// Command returns cmd to run inside namespace ns (`ip netns exec ns …`),
// bound to ctx.
func (p *Pair) Command(ctx context.Context, ns, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, p.IP, append([]string{"netns", "exec", ns, name}, args...)...)
}

// String names the pair in test logs.
func (p *Pair) String() string {
	return fmt.Sprintf("%s(%s %s) <-> %s(%s)", p.A, p.IfA, p.AddrA, p.B, p.IfB)
}
