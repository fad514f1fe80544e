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
		ctx := newIdleContext(parent, nil, time.Minute, &arming{})
		ctx.Waiting(time.Now())
		defer ctx.stop()
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
		ctx := newIdleContext(context.Background(), nil, time.Minute, &arming{})
		ctx.Waiting(time.Now())
		defer ctx.stop()
		<-ctx.Done()
		if err, cause := ctx.Err(), context.Cause(ctx); err != context.DeadlineExceeded || cause != context.DeadlineExceeded {
			t.Errorf("at the deadline, Err = %v and Cause = %v, want context.DeadlineExceeded both, as context.WithDeadline's", err, cause)
		}
	})
}

// An idle read's time runs only while the server waits for the client
// (Waiting), not before, nor while it writes (Replying) but from the
// start of its last write: it ends once the server has waited its whole
// time, and stop returns what is left.
func TestIdleContextRunsOnlyWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		ctx := newIdleContext(context.Background(), nil, time.Minute, &arming{})
		defer ctx.stop()
		time.Sleep(2 * time.Minute) // the server writes, or works: no deadline yet
		if dl, ok := ctx.Deadline(); ok || ctx.Err() != nil {
			t.Fatalf("before Waiting: Deadline %v, %v, Err %v; want none", dl, ok, ctx.Err())
		}
		ctx.Waiting(time.Now())
		time.Sleep(20 * time.Second)
		ctx.Replying(time.Now()) // the first part of a paced reply
		time.Sleep(time.Hour)    // its pause
		ctx.Replying(time.Now()) // its last part, from which the time runs again
		ctx.Waiting(time.Now())
		<-ctx.Done()
		if took := time.Since(start); took != 2*time.Minute+time.Hour+time.Minute || ctx.Err() != context.DeadlineExceeded {
			t.Errorf("ended after %v with %v, want 2m+1h+1m0s and context.DeadlineExceeded", took, ctx.Err())
		}
	})
	synctest.Test(t, func(t *testing.T) {
		ctx := newIdleContext(context.Background(), nil, time.Minute, &arming{})
		ctx.Waiting(time.Now())
		time.Sleep(20 * time.Second)
		if left := ctx.stop(); left != 40*time.Second {
			t.Errorf("stop after 20s of waiting left %v, want 40s", left)
		}
	})
}
