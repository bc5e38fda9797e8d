package kvm

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	libvirt "github.com/digitalocean/go-libvirt"
)

// EventType is a domain lifecycle event type (libvirt's
// virDomainEventType, same numbers).
type EventType int

const (
	EventDefined EventType = iota
	EventUndefined
	EventStarted
	EventSuspended
	EventResumed
	EventStopped
	EventShutdown
	EventPMSuspended
	EventCrashed
)

var eventNames = [...]string{"defined", "undefined", "started", "suspended", "resumed", "stopped", "shutdown", "pmsuspended", "crashed"}

func (t EventType) String() string {
	if t >= 0 && int(t) < len(eventNames) {
		return eventNames[t]
	}
	return fmt.Sprintf("event(%d)", int(t))
}

// Event is one domain lifecycle event. Detail is libvirt's per-type reason
// (e.g. for EventStopped: 0 shutdown, 1 destroyed, 2 crashed).
type Event struct {
	Domain string    `json:"domain"`
	Type   EventType `json:"type"`
	Detail int       `json:"detail"`
}

func (e Event) String() string { return fmt.Sprintf("%s %s (detail %d)", e.Domain, e.Type, e.Detail) }

// EventFilter selects events; empty fields match everything.
type EventFilter struct {
	Domains []string    `json:"domains,omitempty"`
	Types   []EventType `json:"types,omitempty"`
}

func (f EventFilter) match(e Event) bool {
	return (len(f.Domains) == 0 || slices.Contains(f.Domains, e.Domain)) &&
		(len(f.Types) == 0 || slices.Contains(f.Types, e.Type))
}

// Subscription delivers events on C, a bounded channel: when the reader
// falls behind, events are dropped (never blocking libvirt) and counted.
// C is closed when the subscribing ctx ends or the Client is closed.
type Subscription struct {
	C       <-chan Event
	c       chan Event
	filter  EventFilter
	dropped atomic.Uint64
}

// Dropped is the number of events lost because C was full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Subscribe streams lifecycle events matching f until ctx ends. The
// subscription survives redials: after libvirtd restarts, kvm reconnects
// and registers for events again on its own (events that happened while
// disconnected are lost).
func (c *Client) Subscribe(ctx context.Context, f EventFilter) (*Subscription, error) {
	l, err := c.conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("kvm: subscribe: %w", err)
	}
	ch := make(chan Event, c.opts.eventBuffer)
	s := &Subscription{C: ch, c: ch, filter: f}
	h := c.hub
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, fmt.Errorf("kvm: subscribe: %w", errClosed)
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	if err := h.ensureStream(ctx, l); err != nil {
		h.remove(s)
		return nil, fmt.Errorf("kvm: subscribe: %w", err)
	}
	h.startSupervisor()
	go func() {
		select {
		case <-ctx.Done():
		case <-c.bg.Done():
		}
		h.remove(s)
	}()
	return s, nil
}

// hub fans one LifecycleEvents stream per connection out to subscribers.
type hub struct {
	c    *Client
	reg  chan struct{} // one registration at a time
	kick chan struct{}

	mu         sync.Mutex
	subs       map[*Subscription]struct{}
	streamConn Libvirt // connection the active stream listens on
	supervised bool
	closed     bool
	wg         sync.WaitGroup
}

func newHub(c *Client) *hub {
	return &hub{c: c, reg: make(chan struct{}, 1), kick: make(chan struct{}, 1), subs: map[*Subscription]struct{}{}}
}

func (h *hub) remove(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.c)
	}
}

func (h *hub) active() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs) > 0 && !h.closed
}

// connected is called after each new connection: when anyone listens, the
// stream is registered on it before the call that dialled proceeds, so no
// event caused by that call is missed.
func (h *hub) connected(ctx context.Context, l Libvirt) {
	if !h.active() {
		return
	}
	if err := h.ensureStream(ctx, l); err != nil {
		h.c.log.Warn("kvm: re-subscribing to events failed; will retry", "err", err)
		h.poke()
	}
}

func (h *hub) poke() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// ensureStream registers LifecycleEvents on l unless already done.
func (h *hub) ensureStream(ctx context.Context, l Libvirt) error {
	select {
	case h.reg <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-h.reg }()
	h.mu.Lock()
	if h.streamConn == l || h.closed {
		h.mu.Unlock()
		return nil
	}
	h.mu.Unlock()
	type res struct {
		ch  <-chan libvirt.DomainEventLifecycleMsg
		err error
	}
	done := make(chan res, 1)
	go func() {
		ch, err := l.LifecycleEvents(h.c.bg)
		done <- res{ch, err}
	}()
	var r res
	select {
	case r = <-done:
	case <-ctx.Done():
		h.c.poison(l, "subscribe to events")
		return ctx.Err()
	}
	if r.err != nil {
		return wrapErr("subscribe to lifecycle events", r.err)
	}
	h.mu.Lock()
	h.streamConn = l
	h.wg.Add(1)
	h.mu.Unlock()
	go h.forward(l, r.ch)
	return nil
}

func (h *hub) forward(l Libvirt, ch <-chan libvirt.DomainEventLifecycleMsg) {
	defer h.wg.Done()
	defer func() {
		// go-libvirt's event goroutine sends without a select: keep reading
		// until it closes the channel so it cannot block forever.
		go func() {
			for range ch {
			}
		}()
		h.mu.Lock()
		if h.streamConn == l {
			h.streamConn = nil
		}
		h.mu.Unlock()
		h.poke() // the supervisor resubscribes on a new connection
	}()
	for {
		select {
		case m, ok := <-ch:
			if !ok {
				return
			}
			h.deliver(Event{Domain: m.Dom.Name, Type: EventType(m.Event), Detail: int(m.Detail)})
		case <-l.Disconnected():
			return
		case <-h.c.bg.Done():
			return
		}
	}
}

func (h *hub) deliver(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if !s.filter.match(e) {
			continue
		}
		select {
		case s.c <- e:
		default:
			s.dropped.Add(1)
		}
	}
}

// startSupervisor runs, once per client, the loop that reconnects and
// resubscribes after a stream ends while subscribers remain, even if no
// other call comes to trigger a redial.
func (h *hub) startSupervisor() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.supervised || h.closed {
		return
	}
	h.supervised = true
	h.wg.Add(1)
	go h.supervise()
}

func (h *hub) supervise() {
	defer h.wg.Done()
	c := h.c
	for {
		select {
		case <-h.kick:
		case <-c.bg.Done():
			return
		}
		backoff := c.opts.pollInterval
		for h.active() {
			h.mu.Lock()
			ok := h.streamConn != nil && alive(h.streamConn)
			h.mu.Unlock()
			if ok {
				break
			}
			l, err := c.conn(c.bg)
			if err == nil {
				err = h.ensureStream(c.bg, l)
			}
			if err == nil {
				break
			}
			c.log.Debug("kvm: event resubscription failed", "err", err, "retry_in", backoff)
			select {
			case <-c.opts.clock.After(backoff):
			case <-c.bg.Done():
				return
			}
			backoff = min(2*backoff, c.opts.maxPoll, 10*time.Second)
		}
	}
}

// wait closes every subscription and waits for the hub's goroutines (the
// client's background context is already cancelled).
func (h *hub) wait() {
	h.mu.Lock()
	h.closed = true
	for s := range h.subs {
		delete(h.subs, s)
		close(s.c)
	}
	h.mu.Unlock()
	h.wg.Wait()
}
