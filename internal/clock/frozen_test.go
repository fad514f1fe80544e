package clock

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// A frozen clock does not move with real time: an hour of it (a
// synctest bubble's, so that no test waits an hour) leaves its time,
// its offset and At where they were; only Advance moves it.
func TestFrozenClockStandsStill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewFrozen()
		if !c.Frozen() || New().Frozen() || (*Clock)(nil).Frozen() {
			t.Fatal("Frozen: want true for NewFrozen's clock only")
		}
		start := c.Now()
		if !start.Equal(time.Now()) {
			t.Fatalf("a frozen clock starts at %v, want the real time it was made at, %v", start, time.Now())
		}
		made := time.Now()
		<-time.After(time.Hour)
		if got := c.Now(); !got.Equal(start) {
			t.Errorf("after an hour of real time, Now %v, want %v", got, start)
		}
		if off, now := c.Offset(); off != 0 || !now.Equal(start) {
			t.Errorf("after an hour of real time, Offset %v, %v, want 0s, %v", off, now, start)
		}
		if at, ok := c.At(time.Now()); !ok || !at.Equal(start) {
			t.Errorf("At(now) %v, %v, want %v", at, ok, start)
		}
		off, now, _, err := c.Advance(5 * time.Minute)
		if err != nil || off != 5*time.Minute || !now.Equal(start.Add(5*time.Minute)) {
			t.Fatalf("Advance(5m): %v, %v, %v, want 5m0s and %v", off, now, err, start.Add(5*time.Minute))
		}
		moved := time.Now()
		<-time.After(time.Hour)
		if got := c.Now(); !got.Equal(start.Add(5 * time.Minute)) {
			t.Errorf("an hour after a move of 5m, Now %v, want %v", got, start.Add(5*time.Minute))
		}
		// At reads the moves made by a real time: before the move, the
		// start; from it on, the start plus the move.
		for _, tt := range []struct {
			real time.Time
			want time.Time
		}{
			{made, start},
			{moved.Add(-time.Nanosecond), start},
			{moved, start.Add(5 * time.Minute)},
			{time.Now(), start.Add(5 * time.Minute)},
		} {
			if at, ok := c.At(tt.real); !ok || !at.Equal(tt.want) {
				t.Errorf("At(%v): %v, %v, want %v", tt.real, at, ok, tt.want)
			}
		}
	})
}

// A frozen clock's timer ends on the move that reaches its end, exactly:
// a move to 1ns short of it leaves it pending; 1ns more ends it, before
// Advance returns, at the time of its end.
func TestFrozenTimerEndsExactlyAtTheMoveThatReachesIt(t *testing.T) {
	c := NewFrozen()
	start := c.Now()
	const d = 5 * time.Minute
	tm := c.NewTimer(Label{}, time.Time{}, d)
	ran := make(chan struct{})
	c.AfterFunc(Label{}, start.Add(d), func() { close(ran) })
	if n := c.Waits(); n != 2 {
		t.Fatalf("Waits %d after two timers, want 2", n)
	}
	if _, _, waits, err := c.Advance(d - time.Nanosecond); err != nil || len(waits) != 2 {
		t.Fatalf("Advance(%v): %d waits, %v, want 2 still pending", d-time.Nanosecond, len(waits), err)
	}
	select {
	case at := <-tm.C:
		t.Fatalf("a timer of %v ended at %v, on a move of %v", d, at, d-time.Nanosecond)
	default:
	}
	_, now, waits, err := c.Advance(time.Nanosecond)
	if err != nil || len(waits) != 0 || !now.Equal(start.Add(d)) {
		t.Fatalf("Advance(1ns): %v, %d waits, %v, want %v and none pending", now, len(waits), err, start.Add(d))
	}
	select {
	case at := <-tm.C: // sent before Advance returned
		if !at.Equal(start.Add(d)) {
			t.Errorf("the timer received %v, want its end %v", at, start.Add(d))
		}
	default:
		t.Fatalf("a timer of %v had not ended when a move to its end returned", d)
	}
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("AfterFunc at the end did not run within 10 s of the move that reached it")
	}
	if tm.Stop() {
		t.Error("Stop of an ended timer reported it pending")
	}
	// One whose end a move passed before it was made ends at once.
	since := start
	if late := c.NewTimer(Label{}, since, d); len(late.C) != 1 || c.Waits() != 0 {
		t.Errorf("a timer of %v from before a move of %v: pending", d, d)
	}
}

// A frozen clock's timer never ends by itself, however much real time
// passes: in a synctest bubble, an hour after a timer of 1ns (and once
// every goroutine is idle, so that a real timer would have run), it is
// pending still, and Stop stops it.
func TestFrozenTimerNeverEndsByRealTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewFrozen()
		tm := c.NewTimer(Label{}, time.Time{}, time.Nanosecond)
		var ran atomic.Bool
		c.AfterFunc(Label{}, c.Now().Add(time.Nanosecond), func() { ran.Store(true) })
		stopped := c.NewTimer(Label{}, time.Time{}, time.Nanosecond)
		<-time.After(time.Hour)
		synctest.Wait()
		select {
		case at := <-tm.C:
			t.Fatalf("a frozen clock's timer of 1ns ended by itself at %v", at)
		default:
		}
		if ran.Load() {
			t.Fatal("a frozen clock's AfterFunc 1ns ahead ran by itself")
		}
		if n := c.Waits(); n != 3 {
			t.Fatalf("Waits %d an hour after three timers of 1ns, want 3", n)
		}
		if !stopped.Stop() || c.Waits() != 2 {
			t.Fatal("Stop of a pending frozen timer: not pending")
		}
		if _, _, waits, err := c.Advance(time.Nanosecond); err != nil || len(waits) != 0 {
			t.Fatalf("Advance(1ns): %d waits, %v", len(waits), err)
		}
		synctest.Wait()
		if len(tm.C) != 1 || !ran.Load() || len(stopped.C) != 0 {
			t.Errorf("after a move of 1ns: timer ended %v, AfterFunc ran %v, stopped timer ended %v; want true, true, false",
				len(tm.C) == 1, ran.Load(), len(stopped.C) == 1)
		}
	})
}

// So it is on the real clock, outside a bubble: a frozen timer of 1ns
// is pending still once a timer of 1ns made after it on a running
// clock has ended, whose end came later in real time.
func TestFrozenTimerOutlastsARunningOne(t *testing.T) {
	frozen := NewFrozen().NewTimer(Label{}, time.Time{}, time.Nanosecond)
	defer frozen.Stop()
	select {
	case <-New().NewTimer(Label{}, time.Time{}, time.Nanosecond).C:
	case <-time.After(10 * time.Second):
		t.Fatal("a running clock's timer of 1ns did not end within 10 s")
	}
	select {
	case at := <-frozen.C:
		t.Fatalf("a frozen clock's timer of 1ns ended by itself at %v", at)
	default:
	}
	if !frozen.Stop() {
		t.Error("a frozen clock's timer of 1ns is not pending after real time passed its end")
	}
}
