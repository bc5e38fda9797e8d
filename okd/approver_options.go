package okd

import (
	"log/slog"
	"time"
)

// Defaults of the approver.
const (
	// DefaultRelistInterval is how often the approver lists every CSR anew,
	// on top of its watch (reference §4.3: "relist every 30 s"). The relist
	// catches events a broken watch lost and retries CSRs that were refused
	// only for the moment (a serving CSR filed before its Node existed).
	DefaultRelistInterval = 30 * time.Second
	// DefaultMaxPending is the slack above len(expected) before the
	// approver stops acting: cluster-machine-approver stops at
	// max(machines, nodes)+100 pending CSRs (reference §4.2); okvm uses the
	// allow-list size, which it knows, in place of machines.
	DefaultMaxPending = 100
)

// ApproverOption configures NewApprover.
//
// The logger and clock options carry an Approver prefix because package okd
// has other option families (the installer runner); one unprefixed
// WithLogger cannot serve two option types.
type ApproverOption func(*approverConfig)

type approverConfig struct {
	log        *slog.Logger
	now        func() time.Time
	relist     time.Duration
	maxPending int
	onDecision func(Decision)
	recovery   bool
}

func defaultApproverConfig() approverConfig {
	return approverConfig{
		log:        slog.New(slog.DiscardHandler),
		now:        time.Now,
		relist:     DefaultRelistInterval,
		maxPending: DefaultMaxPending,
	}
}

// WithApproverLogger sends the approver's log to l (nil keeps it silent).
// Every decision is logged with the CSR name, the node, and, for a refusal,
// the failed check. Nothing secret is in a CSR, and the request itself is
// never logged.
func WithApproverLogger(l *slog.Logger) ApproverOption {
	return func(c *approverConfig) {
		if l != nil {
			c.log = l
		}
	}
}

// WithApproverClock sets the clock used to timestamp decisions and
// approvals, and to stand in for a CSR's creation time when the object has
// none (fake clientsets do not set creationTimestamp; a real API server
// always does). Tests use it to move a CSR in and out of the client window.
func WithApproverClock(now func() time.Time) ApproverOption {
	return func(c *approverConfig) {
		if now != nil {
			c.now = now
		}
	}
}

// WithRelistInterval sets how often the approver relists CSRs (default
// DefaultRelistInterval). Values ≤ 0 keep the default.
func WithRelistInterval(d time.Duration) ApproverOption {
	return func(c *approverConfig) {
		if d > 0 {
			c.relist = d
		}
	}
}

// WithMaxPending sets N in "refuse to act when pending CSRs exceed
// len(expected)+N" (reference §4.3 step 4; default DefaultMaxPending).
// A flood of CSRs then stalls approval instead of hiding a forged request
// among legitimate ones. Negative values are treated as 0.
func WithMaxPending(n int) ApproverOption {
	return func(c *approverConfig) {
		c.maxPending = max(n, 0)
	}
}

// WithDecisionFunc calls f with every decision, from the approver's single
// worker goroutine: f must return quickly and must not call back into the
// approver's Run.
func WithDecisionFunc(f func(Decision)) ApproverOption {
	return func(c *approverConfig) { c.onDecision = f }
}

// WithRecoveryMode is for a cluster restarted after its certificates
// expired (reference §3.3, §4.4): client CSRs are then allowed for
// allow-listed nodes whose Node object already exists. Every other check
// stays; set ExpectedNode.CreatedAt to the restart time so the client window
// and once-per-boot apply to this boot.
func WithRecoveryMode(on bool) ApproverOption {
	return func(c *approverConfig) { c.recovery = on }
}
