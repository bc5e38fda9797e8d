package okd

import (
	"context"
	"time"

	certv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// csrBackoffMin/Max bound the wait before re-listing after an API error.
const (
	csrBackoffMin = 200 * time.Millisecond
	csrBackoffMax = 10 * time.Second
)

// observe records the newest state of a CSR.
func (a *Approver) observe(c *certv1.CertificateSigningRequest) {
	a.mu.Lock()
	a.store[c.Name] = c
	if _, ok := a.firstSeen[c.Name]; !ok {
		a.firstSeen[c.Name] = a.cfg.now()
	}
	a.mu.Unlock()
}

// forget drops a deleted CSR. If the pending cap held work back, the CSRs
// it held are judged again: the deletion may have brought pending under it.
func (a *Approver) forget(name string) {
	a.mu.Lock()
	delete(a.store, name)
	delete(a.firstSeen, name)
	delete(a.last, name)
	delete(a.clientNode, name)
	capped := a.capped
	a.capped = false
	a.mu.Unlock()
	if capped {
		a.requeuePending()
	}
}

// syncCSRs keeps a.store current: list, watch from the list's
// resourceVersion, and list again every relist interval or whenever the
// watch ends. One watch on all CSRs (rather than one per signer with a
// spec.signerName field selector) because the pending cap counts every
// pending CSR, whatever its signer.
func (a *Approver) syncCSRs(ctx context.Context) {
	api := a.client.CertificatesV1().CertificateSigningRequests()
	backoff := csrBackoffMin
	for ctx.Err() == nil {
		list, err := api.List(ctx, metav1.ListOptions{})
		if err != nil {
			if ctx.Err() == nil {
				a.cfg.log.Warn("listing CSRs failed; retrying", "err", err, "in", backoff)
			}
			csrSleep(ctx, backoff)
			backoff = min(2*backoff, csrBackoffMax)
			continue
		}
		a.replaceStore(list.Items)
		a.requeuePending()
		w, err := api.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion, AllowWatchBookmarks: true})
		if err != nil {
			if ctx.Err() == nil {
				a.cfg.log.Warn("watching CSRs failed; retrying", "err", err, "in", backoff)
			}
			csrSleep(ctx, backoff)
			backoff = min(2*backoff, csrBackoffMax)
			continue
		}
		backoff = csrBackoffMin
		a.syncOnce.Do(func() { close(a.synced) })
		a.drainCSRWatch(ctx, w)
		w.Stop()
	}
}

// drainCSRWatch consumes w until the relist timer fires, w ends or ctx ends.
func (a *Approver) drainCSRWatch(ctx context.Context, w watch.Interface) {
	relist := time.NewTimer(a.cfg.relist)
	defer relist.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-relist.C:
			return
		case ev, ok := <-w.ResultChan():
			if !ok {
				return
			}
			switch ev.Type {
			case watch.Added, watch.Modified:
				if c, ok := ev.Object.(*certv1.CertificateSigningRequest); ok {
					a.observe(c)
					if !csrFinal(c) {
						a.queue.push(c.Name)
					}
				}
			case watch.Deleted:
				if c, ok := ev.Object.(*certv1.CertificateSigningRequest); ok {
					a.forget(c.Name)
				}
			case watch.Error:
				// Typically 410 Gone: the resourceVersion is too old. Relist.
				a.cfg.log.Debug("CSR watch error; relisting", "status", ev.Object)
				return
			}
		}
	}
}

func (a *Approver) replaceStore(items []certv1.CertificateSigningRequest) {
	now := a.cfg.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	live := make(map[string]bool, len(items))
	for i := range items {
		c := &items[i]
		live[c.Name] = true
		a.store[c.Name] = c
		if _, ok := a.firstSeen[c.Name]; !ok {
			a.firstSeen[c.Name] = now
		}
	}
	for name := range a.store {
		if !live[name] {
			delete(a.store, name)
			delete(a.firstSeen, name)
			delete(a.last, name)
			delete(a.clientNode, name)
		}
	}
}

// watchNodes re-queues pending CSRs when a Node registers, so a serving CSR
// filed a moment before its Node is approved at once rather than at the next
// relist. Node state itself is always read live (checkState), never from
// this watch: a stale cache must not decide "node does not exist".
func (a *Approver) watchNodes(ctx context.Context) {
	api := a.client.CoreV1().Nodes()
	backoff := csrBackoffMin
	for ctx.Err() == nil {
		// List only for the resourceVersion: watching from "" would replay
		// every Node, which the fake clientset pushes into a 100-slot channel.
		list, err := api.List(ctx, metav1.ListOptions{Limit: 1})
		var w watch.Interface
		if err == nil {
			w, err = api.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
		}
		if err != nil {
			if ctx.Err() == nil {
				a.cfg.log.Debug("watching Nodes failed; retrying", "err", err, "in", backoff)
			}
			csrSleep(ctx, backoff)
			backoff = min(2*backoff, csrBackoffMax)
			continue
		}
		backoff = csrBackoffMin
		a.drainNodeWatch(ctx, w)
		w.Stop()
	}
}

func (a *Approver) drainNodeWatch(ctx context.Context, w watch.Interface) {
	relist := time.NewTimer(a.cfg.relist)
	defer relist.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-relist.C:
			return
		case ev, ok := <-w.ResultChan():
			if !ok || ev.Type == watch.Error {
				return
			}
			if _, isNode := ev.Object.(*corev1.Node); isNode && ev.Type == watch.Added {
				a.requeuePending()
			}
		}
	}
}

func csrSleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
