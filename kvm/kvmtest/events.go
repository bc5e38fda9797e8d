package kvmtest

import (
	"sync"

	libvirt "github.com/digitalocean/go-libvirt"
)

// subscriber is one LifecycleEvents subscription: an unbounded queue
// drained by a goroutine into out, so emitting (done under the daemon lock,
// which keeps events in state-change order) never blocks.
type subscriber struct {
	out      chan libvirt.DomainEventLifecycleMsg
	mu       sync.Mutex
	cond     *sync.Cond
	queue    []libvirt.DomainEventLifecycleMsg
	closed   bool
	stopped  chan struct{}
	stopOnce sync.Once
}

func newSubscriber() *subscriber {
	s := &subscriber{out: make(chan libvirt.DomainEventLifecycleMsg), stopped: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	go s.pump()
	return s
}

func (s *subscriber) push(ev libvirt.DomainEventLifecycleMsg) {
	s.mu.Lock()
	if !s.closed {
		s.queue = append(s.queue, ev)
		s.cond.Signal()
	}
	s.mu.Unlock()
}

func (s *subscriber) stop() {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.cond.Signal()
		s.mu.Unlock()
		close(s.stopped)
	})
}

func (s *subscriber) pump() {
	defer close(s.out)
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && !s.closed {
			s.cond.Wait()
		}
		if s.closed {
			s.mu.Unlock()
			return
		}
		ev := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()
		select {
		case s.out <- ev:
		case <-s.stopped:
			return
		}
	}
}

// emit delivers a lifecycle event to every subscriber of every connection.
// Called with f.mu held.
func (f *Fake) emit(d *domain, event libvirt.DomainEventType, detail int32) {
	msg := libvirt.DomainEventLifecycleMsg{Dom: d.handle(), Event: int32(event), Detail: detail}
	f.opts.logger.Debug("kvmtest: event", "domain", d.name, "event", event, "detail", detail)
	for c := range f.conns {
		c.mu.Lock()
		for s := range c.subs {
			s.push(msg)
		}
		c.mu.Unlock()
	}
}
