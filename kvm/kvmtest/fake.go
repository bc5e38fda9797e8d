package kvmtest

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/okvm/okvm/kvm"
)

// LibVersion is what the fake reports from ConnectGetLibVersion: libvirt
// 9.0.0, the Debian 12 version whose behaviour (PCI addressing, machine
// type expansion to pc-q35-7.2 / pc-i440fx-7.2 with QEMU 7.2) it copies.
const LibVersion = 9000000

// Fake is an in-memory libvirtd. Its state (domains, networks, storage pools
// and volumes) is shared by every connection made from it, exactly like a
// daemon's, and survives Restart. It is safe for concurrent use.
type Fake struct {
	opts  options
	hooks failures

	mu       sync.Mutex
	rnd      *rand.Rand
	conns    map[*Conn]struct{}
	domains  []*domain // definition order; libvirt lists in hash order, callers must not rely on order
	nextID   int32
	networks []*network
	pools    []*pool
}

// Option configures a Fake.
type Option func(*options)

type options struct {
	logger        *slog.Logger
	uri           string
	seed          uint64
	seeded        bool
	shutdownDelay time.Duration
	ignoreACPI    bool
	checkNetworks bool
	kvm           bool
	leaseDelay    time.Duration
}

// WithLogger sets the logger the fake reports state changes to (debug level).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithURI sets what ConnectGetUri returns (default "qemu:///system": the
// fake behaves like the QEMU driver, so code that branches on the driver
// takes the QEMU path).
func WithURI(uri string) Option { return func(o *options) { o.uri = uri } }

// WithSeed makes generated UUIDs and MAC addresses reproducible.
func WithSeed(seed uint64) Option { return func(o *options) { o.seed, o.seeded = seed, true } }

// WithShutdownDelay makes the fake guest take d to power off after an ACPI
// shutdown request (DomainShutdown); the default is to power off at once.
func WithShutdownDelay(d time.Duration) Option { return func(o *options) { o.shutdownDelay = d } }

// WithACPIIgnored makes the fake guest ignore ACPI shutdown requests, as a
// guest without acpid (or one still in firmware) does, so that callers'
// destroy fallbacks can be exercised.
func WithACPIIgnored() Option { return func(o *options) { o.ignoreACPI = true } }

// WithoutNetworkCheck turns off the check that a domain's <interface
// type='network'> names a defined network. Real libvirt's QEMU driver only
// fails at start (and the test driver never); the fake checks at define by
// default because that is where a typo is cheapest to find.
func WithoutNetworkCheck() Option { return func(o *options) { o.checkNetworks = false } }

// WithLeaseDelay makes a started guest's DHCP leases appear only after d,
// as a real guest needs time to boot and ask, so that code waiting for
// addresses is exercised.
func WithLeaseDelay(d time.Duration) Option { return func(o *options) { o.leaseDelay = d } }

// WithKVM makes ConnectGetCapabilities offer the 'kvm' domain type as well
// as 'qemu', as on a host with /dev/kvm.
func WithKVM() Option { return func(o *options) { o.kvm = true } }

// New returns an empty in-memory libvirtd.
func New(opts ...Option) *Fake {
	o := options{uri: "qemu:///system", checkNetworks: true}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var src rand.Source
	if o.seeded {
		src = rand.NewPCG(o.seed, o.seed^0x9e3779b97f4a7c15)
	} else {
		src = rand.NewPCG(rand.Uint64(), rand.Uint64())
	}
	return &Fake{opts: o, rnd: rand.New(src), conns: map[*Conn]struct{}{}, nextID: 1}
}

// Conn opens a new connection to the fake daemon.
func (f *Fake) Conn() kvm.Libvirt { return f.newConn() }

// Dialer returns a function that opens a new connection per call, for
// kvm.NewClient: after Restart, kvm's redial gets a fresh, working
// connection. It honours ctx cancellation.
func (f *Fake) Dialer() kvm.DialFunc {
	return func(ctx context.Context) (kvm.Libvirt, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := f.hooks.before("Dial", ctx.Done()); err != nil {
			return nil, err
		}
		return f.newConn(), nil
	}
}

// Restart simulates a libvirtd restart: every open connection is closed
// (Disconnected channels close, event channels close, calls in flight fail
// with libvirt.ErrInterrupted and later calls with syscall.EINVAL, as with
// go-libvirt after the socket drops). Persistent and running state is kept
// and running domains keep running, as QEMU processes outlive libvirtd.
func (f *Fake) Restart() {
	f.mu.Lock()
	conns := make([]*Conn, 0, len(f.conns))
	for c := range f.conns {
		conns = append(conns, c)
	}
	f.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	f.opts.logger.Debug("kvmtest: daemon restarted", "connections_closed", len(conns))
}

// Connections reports how many connections are open, so tests can check
// that code under test closes what it opens.
func (f *Fake) Connections() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.conns)
}
