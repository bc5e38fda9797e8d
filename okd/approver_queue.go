package okd

import (
	"context"
	"sync"
)

// csrQueue is an unbounded FIFO of CSR names with de-duplication. The watch
// readers only ever push into it, so they drain their watch channels at once:
// a client-go fake watcher panics when 100 events go unread, and a real
// watch stream should not stall behind an API call either.
type csrQueue struct {
	mu    sync.Mutex
	items []string
	in    map[string]bool
	wake  chan struct{}
}

func newCSRQueue() *csrQueue {
	return &csrQueue{in: map[string]bool{}, wake: make(chan struct{}, 1)}
}

func (q *csrQueue) push(name string) {
	q.mu.Lock()
	if !q.in[name] {
		q.in[name] = true
		q.items = append(q.items, name)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pop blocks until a name is queued or ctx ends.
func (q *csrQueue) pop(ctx context.Context) (string, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			name := q.items[0]
			q.items[0] = ""
			q.items = q.items[1:]
			delete(q.in, name)
			q.mu.Unlock()
			return name, true
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return "", false
		case <-q.wake:
		}
	}
}
