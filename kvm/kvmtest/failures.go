package kvmtest

import (
	"sync"

	libvirt "github.com/digitalocean/go-libvirt"
)

// failures holds the hooks tests use to make the fake misbehave the way a
// real daemon or socket does: a call that errors once (FailNext) and a call
// that never answers (Hang). Hooks are keyed by the go-libvirt method name
// ("DomainCreate") so they read like the code under test.
type failures struct {
	mu    sync.Mutex
	next  map[string][]error
	hangs map[string]*hang
}

type hang struct {
	released chan struct{}
	once     sync.Once
}

func (h *hang) release() { h.once.Do(func() { close(h.released) }) }

// FailNext makes the next call of method (a kvm.Libvirt method name such as
// "DomainDefineXMLFlags"), on any connection, return err without touching
// state. Calls queue: FailNext twice fails the next two calls.
func (f *Fake) FailNext(method string, err error) {
	f.hooks.mu.Lock()
	defer f.hooks.mu.Unlock()
	if f.hooks.next == nil {
		f.hooks.next = map[string][]error{}
	}
	f.hooks.next[method] = append(f.hooks.next[method], err)
}

// Hang makes every call of method block, as a wedged libvirtd does, until
// release is called (the call then proceeds normally) or the calling
// connection is closed (the call then fails with libvirt.ErrInterrupted,
// which is what go-libvirt returns when the socket drops mid-call). This is
// what kvm's context deadlines and redial logic are tested against.
func (f *Fake) Hang(method string) (release func()) {
	f.hooks.mu.Lock()
	defer f.hooks.mu.Unlock()
	if f.hooks.hangs == nil {
		f.hooks.hangs = map[string]*hang{}
	}
	h := &hang{released: make(chan struct{})}
	f.hooks.hangs[method] = h
	return func() {
		f.hooks.mu.Lock()
		if f.hooks.hangs[method] == h {
			delete(f.hooks.hangs, method)
		}
		f.hooks.mu.Unlock()
		h.release()
	}
}

// before runs the hooks for one call; done is the calling connection's
// disconnect channel.
func (fl *failures) before(method string, done <-chan struct{}) error {
	fl.mu.Lock()
	if q := fl.next[method]; len(q) > 0 {
		err := q[0]
		fl.next[method] = q[1:]
		fl.mu.Unlock()
		return err
	}
	h := fl.hangs[method]
	fl.mu.Unlock()
	if h == nil {
		return nil
	}
	select {
	case <-h.released:
		return nil
	case <-done:
		return libvirt.ErrInterrupted
	}
}
