package kvm

import (
	"context"
	"fmt"
)

// call runs one go-libvirt call under ctx. go-libvirt takes no context, so
// the call runs in its own goroutine; if ctx ends first the caller gets
// ctx's error at once, and the connection is poisoned (dropped), because
// the abandoned request may hold it forever. The next call redials.
func call[T any](ctx context.Context, c *Client, op string, fn func(Libvirt) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, fmt.Errorf("kvm: %s: %w", op, err)
	}
	l, err := c.conn(ctx)
	if err != nil {
		return zero, fmt.Errorf("kvm: %s: %w", op, err)
	}
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn(l)
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			if !alive(l) {
				return zero, fmt.Errorf("kvm: %s: %w: %w", op, ErrDisconnected, r.err)
			}
			return zero, wrapErr(op, r.err)
		}
		return r.v, nil
	case <-ctx.Done():
		c.poison(l, op)
		return zero, fmt.Errorf("kvm: %s: %w", op, ctx.Err())
	}
}

// call0 is call for methods that return only an error.
func call0(ctx context.Context, c *Client, op string, fn func(Libvirt) error) error {
	_, err := call(ctx, c, op, func(l Libvirt) (struct{}, error) { return struct{}{}, fn(l) })
	return err
}

// needResults is the NeedResults argument of libvirt's list calls. On the
// wire it is a yes/no flag (the daemon passes a list pointer when it is
// non-zero) and go-libvirt's own helpers send 1; the largest value also
// keeps implementations that read it as a limit returning everything.
const needResults = 1<<31 - 1
