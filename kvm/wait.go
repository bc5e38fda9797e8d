package kvm

import (
	"context"
	"fmt"
)

// WaitForState blocks until the domain is in state want. It listens to
// lifecycle events and also polls with backoff, so it ends promptly when
// events arrive and still ends when they do not (a lost event, a driver
// without events). ctx bounds the wait; the error then names the last
// state seen.
func (c *Client) WaitForState(ctx context.Context, name string, want State) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var events <-chan Event
	if sub, err := c.Subscribe(sctx, EventFilter{Domains: []string{name}}); err == nil {
		events = sub.C
	} else {
		c.log.Debug("kvm: no events; polling only", "err", err)
	}
	interval := c.opts.pollInterval
	last := StateNoState
	for {
		st, err := c.State(ctx, name)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("kvm: wait for domain %q to be %s (last seen %s): %w", name, want, last, ctx.Err())
			}
			return err
		}
		last = st
		if st == want {
			return nil
		}
		select {
		case _, ok := <-events:
			if !ok {
				events = nil // subscription ended; keep polling
			}
		case <-c.opts.clock.After(interval):
			interval = min(2*interval, c.opts.maxPoll)
		case <-ctx.Done():
			return fmt.Errorf("kvm: wait for domain %q to be %s (last seen %s): %w", name, want, last, ctx.Err())
		}
	}
}
