package mocksmtp

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// An idle read's context keeps the error it ended with, as every context
// does: one whose parent ended first (the server closed) stays
// context.Canceled when its deadline passes later, as the session goes
// on to close. Its Err turned to context.DeadlineExceeded then, which
// the session takes for the idle fault's end, not the server's.
func TestIdleContextErrStays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		parent, cancelParent := context.WithCancel(context.Background())
		ctx, cancel := newIdleContext(parent, time.Now().Add(time.Minute), func() bool { return true })
		defer cancel()
		cancelParent()
		<-ctx.Done()
		if err := ctx.Err(); !errors.Is(err, context.Canceled) {
			t.Fatalf("Err after the parent ended = %v, want context.Canceled", err)
		}
		time.Sleep(2 * time.Minute)
		if err := ctx.Err(); !errors.Is(err, context.Canceled) {
			t.Errorf("Err after the parent ended, then the deadline passed = %v, want context.Canceled still", err)
		}
		if err := context.Cause(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Cause = %v, want context.Canceled", err)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := newIdleContext(context.Background(), time.Now().Add(time.Minute), func() bool { return true })
		defer cancel()
		<-ctx.Done()
		if err, cause := ctx.Err(), context.Cause(ctx); err != context.DeadlineExceeded || cause != context.DeadlineExceeded {
			t.Errorf("at the deadline, Err = %v and Cause = %v, want context.DeadlineExceeded both, as context.WithDeadline's", err, cause)
		}
	})
}
