package okd

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/okvm/okvm/kvm"
)

// reconcile runs when Run resumes a partly done install. The state says
// which steps finished, but the hypervisor may disagree: a libvirtd that
// lost its last changes, a VM someone undefined by hand, or a crash between
// saving the state and the hypervisor's own persistence. Every done step
// whose objects are missing is redone (they are all idempotent), and a
// bootstrap that state says is removed but that exists again is removed
// again — so the rerun converges on what the state promises.
func (l *Lifecycle) reconcile(ctx context.Context) error {
	if !l.state.done(StepNetwork) {
		return nil
	}
	for _, uri := range l.hypervisors() {
		c, err := l.client(ctx, uri)
		if err != nil {
			return err
		}
		if _, err := c.NetworkXML(ctx, l.networkName()); errors.Is(err, kvm.ErrNotFound) {
			l.report(Progress{Step: StepNetwork, Message: fmt.Sprintf("network %s missing on %s: defining it again", l.networkName(), uri)})
			if err := l.stepNetwork(ctx); err != nil {
				return err
			}
			break // stepNetwork covers every hypervisor
		} else if err != nil {
			return err
		}
	}
	if l.state.done(StepImage) {
		for _, uri := range l.hypervisors() {
			c, err := l.client(ctx, uri)
			if err != nil {
				return err
			}
			if _, err := c.Volume(ctx, l.pool, l.baseVolume()); errors.Is(err, kvm.ErrNotFound) {
				l.report(Progress{Step: StepImage, Message: fmt.Sprintf("base image missing on %s: uploading it again", uri)})
				l.stateMu.Lock()
				l.state.BaseImages = slices.DeleteFunc(l.state.BaseImages, func(u string) bool { return u == uri })
				l.stateMu.Unlock()
				if err := l.stepImage(ctx); err != nil {
					return err
				}
				break // stepImage covers every hypervisor
			} else if err != nil && !errors.Is(err, kvm.ErrNotFound) {
				return err
			}
		}
	}
	var define, start []*NodeState
	for _, n := range l.state.sortedNodes() {
		if n.Removed {
			continue
		}
		defined, started := StepControlPlane, StepStartControlPlane
		if n.Role == RoleWorker {
			defined, started = StepWorkers, StepWorkers
		}
		if !l.state.done(defined) {
			continue
		}
		c, err := l.client(ctx, n.Hypervisor)
		if err != nil {
			return err
		}
		if _, err := c.State(ctx, n.Domain); errors.Is(err, kvm.ErrNotFound) {
			define = append(define, n)
		} else if err != nil {
			return err
		}
		if l.state.done(started) {
			start = append(start, n)
		}
	}
	if len(define) > 0 {
		var names []string
		for _, n := range define {
			names = append(names, n.Domain)
		}
		l.report(Progress{Step: StepControlPlane, Message: fmt.Sprintf("%d domains the state records are missing (%v): defining them again", len(define), names)})
		if err := l.defineNodes(ctx, define); err != nil {
			return err
		}
	}
	if err := l.startNodes(ctx, start); err != nil {
		return err
	}
	if l.state.done(StepRemoveBootstrap) {
		for _, n := range l.state.Nodes {
			if n.Role != RoleBootstrap {
				continue
			}
			c, err := l.client(ctx, n.Hypervisor)
			if err != nil {
				return err
			}
			if _, err := c.State(ctx, n.Domain); err == nil {
				l.report(Progress{Step: StepRemoveBootstrap, Message: n.Domain + " exists again although it was removed: removing it"})
				if err := l.stepRemoveBootstrap(ctx); err != nil {
					return err
				}
			} else if !errors.Is(err, kvm.ErrNotFound) {
				return err
			}
		}
	}
	return l.saveState()
}
