package kvm

import (
	"context"
	"fmt"
)

// DeletePool stops and undefines a storage pool; its directory and any
// volumes left in it stay on disk (delete the volumes first to leave
// nothing). A missing pool fails with ErrNotFound.
func (c *Client) DeletePool(ctx context.Context, name string) error {
	pool, err := c.lookupPool(ctx, name)
	if err != nil {
		return err
	}
	active, err := call(ctx, c, fmt.Sprintf("check pool %q", name), func(l Libvirt) (int32, error) { return l.StoragePoolIsActive(pool) })
	if err != nil {
		return err
	}
	if active != 0 {
		if err := call0(ctx, c, fmt.Sprintf("stop pool %q", name), func(l Libvirt) error { return l.StoragePoolDestroy(pool) }); err != nil {
			return err
		}
	}
	if err := call0(ctx, c, fmt.Sprintf("undefine pool %q", name), func(l Libvirt) error { return l.StoragePoolUndefine(pool) }); err != nil {
		return err
	}
	c.log.Info("kvm: pool deleted", "pool", name)
	return nil
}
