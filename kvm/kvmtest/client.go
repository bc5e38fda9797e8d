package kvmtest

import (
	"context"
	"testing"
	"time"

	"github.com/okvm/okvm/kvm"
)

// NewClient returns a *kvm.Client on a fresh Fake, closed when the test
// ends: all of kvm's logic (validation, define, waits, redial, NIC name
// prediction) runs unchanged, without a hypervisor. Use the returned Fake
// to inspect state or inject failures (FailNext, Hang, Restart).
func NewClient(t testing.TB, opts ...kvm.Option) (*kvm.Client, *Fake) {
	t.Helper()
	f := New()
	return f.Client(t, opts...), f
}

// Client returns a *kvm.Client on this Fake (for fakes built with
// options), closed when the test ends.
func (f *Fake) Client(t testing.TB, opts ...kvm.Option) *kvm.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := kvm.NewClient(ctx, f.Dialer(), opts...)
	if err != nil {
		t.Fatalf("kvmtest: kvm.NewClient on the fake: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
