package kvm

import (
	"io"
	"log/slog"
	"time"
)

// Option configures a Client.
type Option func(*options)

type options struct {
	logger          *slog.Logger
	clock           Clock
	domainType      string
	pollInterval    time.Duration
	maxPoll         time.Duration
	shutdownTimeout time.Duration
	eventBuffer     int
}

func defaultOptions() options {
	return options{
		logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		clock:           realClock{},
		pollInterval:    250 * time.Millisecond,
		maxPoll:         5 * time.Second,
		shutdownTimeout: 2 * time.Minute,
		eventBuffer:     64,
	}
}

// WithLogger sets the logger (default: discard). kvm logs redials, state
// waits and undo steps at Debug/Info; it never logs Ignition contents.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// Clock is what kvm needs from time: tests pass a fake to make waits
// deterministic.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// WithClock replaces the clock used for polling, backoff and timeouts.
func WithClock(c Clock) Option {
	return func(o *options) {
		if c != nil {
			o.clock = c
		}
	}
}

// WithDomainType forces the domain type ("kvm" or "qemu") for specs that
// leave DomainSpec.Type empty, instead of asking the host's capabilities.
func WithDomainType(t string) Option { return func(o *options) { o.domainType = t } }

// WithPollInterval sets the first interval of state/IP polling (it backs
// off up to max). Polling is the fallback when events are late or absent.
func WithPollInterval(first, max time.Duration) Option {
	return func(o *options) {
		if first > 0 {
			o.pollInterval = first
		}
		if max >= first && max > 0 {
			o.maxPoll = max
		}
	}
}

// WithShutdownTimeout sets how long Shutdown waits for a graceful ACPI
// power-off before it destroys the domain (default 2m).
func WithShutdownTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.shutdownTimeout = d
		}
	}
}

// WithEventBuffer sets the per-subscriber event channel size (default 64).
// A full channel drops events and counts them (Subscription.Dropped).
func WithEventBuffer(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.eventBuffer = n
		}
	}
}
