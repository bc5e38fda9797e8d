package okd

import (
	"context"
	"errors"
	"fmt"

	"github.com/okvm/okvm/kvm"
)

// Destroy removes everything the cluster owns on every hypervisor: its
// domains (found by the cluster label, so VMs a crashed run defined but never
// recorded are found too), every volume in its pool, its network. The
// artifacts directory stays (it is the record of what was built); the state
// is marked destroyed so Run refuses to continue in it.
func (l *Lifecycle) Destroy(ctx context.Context) error {
	defer l.stopServices()
	var errs []error
	for _, uri := range l.hypervisors() {
		c, err := l.client(ctx, uri)
		if err != nil {
			return err
		}
		doms, err := c.ListDomains(ctx, map[string]string{"cluster": l.spec.Name})
		if err != nil {
			return err
		}
		for _, d := range doms {
			if err := c.Remove(ctx, d.Name); err != nil {
				errs = append(errs, err)
				continue
			}
			l.report(Progress{Step: Step("destroy"), Message: "domain " + d.Name + " removed"})
		}
		vols, err := c.ListVolumes(ctx, l.pool)
		if err != nil && !errors.Is(err, kvm.ErrNotFound) {
			return err
		}
		// Overlays first: a base image with overlays on it is still in use.
		for pass := 0; pass < 2; pass++ {
			for _, v := range vols {
				if (v.Name == l.baseVolume()) != (pass == 1) {
					continue
				}
				if err := c.DeleteVolume(ctx, l.pool, v.Name); err != nil && !errors.Is(err, kvm.ErrNotFound) {
					errs = append(errs, err)
				}
			}
		}
		if err := c.DeletePool(ctx, l.pool); err != nil && !errors.Is(err, kvm.ErrNotFound) {
			errs = append(errs, err)
		}
		if err := c.DestroyNetwork(ctx, l.networkName()); err != nil && !errors.Is(err, kvm.ErrNotFound) {
			errs = append(errs, err)
		}
		if err := c.UndefineNetwork(ctx, l.networkName()); err != nil && !errors.Is(err, kvm.ErrNotFound) {
			errs = append(errs, err)
		}
		l.report(Progress{Step: Step("destroy"), Message: fmt.Sprintf("%s: %d domains, %d volumes, network %s removed", uri, len(doms), len(vols), l.networkName())})
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	l.stateMu.Lock()
	l.state.Destroyed = true
	l.stateMu.Unlock()
	return l.saveState()
}
