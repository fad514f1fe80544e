package clock

import (
	"testing"
	"testing/synctest"
	"time"
)

// A frozen clock starts at the instant NewFrozenAt gives, in its zone,
// any instant, the zero time too (which is no sign of a clock that
// reads real time), and stands there but for its moves; Start says
// where it started, At maps a real time to it plus the moves by then.
func TestFrozenAtStartsThere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tokyo := time.FixedZone("", 9*60*60)
		for _, start := range []time.Time{
			time.Date(2026, time.January, 1, 9, 0, 0, 500, tokyo),
			{},
			time.Unix(0, 0).UTC(),
		} {
			c := NewFrozenAt(start)
			if !c.Frozen() {
				t.Fatalf("NewFrozenAt(%v): not frozen", start)
			}
			if got, ok := c.Start(); !ok || got != start {
				t.Errorf("NewFrozenAt(%v).Start() = %v, %v, want it", start, got, ok)
			}
			made := time.Now()
			<-time.After(time.Hour)
			if got := c.Now(); got != start {
				t.Errorf("NewFrozenAt(%v) an hour later: Now %v, want the start, in its zone", start, got)
			}
			tm := c.NewTimer(Label{Kind: Delay}, time.Time{}, time.Minute)
			if _, now, waits, err := c.Advance(time.Minute); err != nil || now != start.Add(time.Minute) || len(waits) != 0 {
				t.Errorf("NewFrozenAt(%v).Advance(1m) = %v, %v, %v, want the start plus 1m, the timer ended", start, now, waits, err)
			}
			if got := <-tm.C; got != start.Add(time.Minute) {
				t.Errorf("the timer received %v, want %v", got, start.Add(time.Minute))
			}
			if at, ok := c.At(made); !ok || at != start {
				t.Errorf("At(made) = %v, %v, want the start", at, ok)
			}
		}
		if _, ok := New().Start(); ok {
			t.Error("New().Start(): ok, want none: it reads real time")
		}
		if _, ok := (*Clock)(nil).Start(); ok {
			t.Error("(*Clock)(nil).Start(): ok, want none")
		}
	})
}

// A move of 0 moves nothing and tells no watcher, and answers the clock
// as it stands; a negative move is refused.
func TestAdvanceByZeroIsNoMove(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, c := range []*Clock{New(), NewFrozen()} {
			told := 0
			stop := c.OnAdvance(func(by, offset time.Duration) { told++ })
			c.Advance(time.Second)
			tm := c.NewTimer(Label{Session: 1, Kind: Delay}, time.Time{}, time.Minute)
			off, now, waits, err := c.Advance(0)
			if err != nil || off != time.Second || !now.Equal(c.Now()) || len(waits) != 1 || told != 1 {
				t.Errorf("frozen %v: Advance(0) = %v, %v, %v, %v, told %d times, want 1s, now, the timer pending, told once", c.Frozen(), off, now, waits, err, told)
			}
			if _, _, _, err := c.Advance(-time.Nanosecond); err == nil {
				t.Errorf("frozen %v: Advance(-1ns): no error", c.Frozen())
			}
			if off, _ := c.Offset(); off != time.Second {
				t.Errorf("frozen %v: offset %v after moves of 0 and -1ns, want 1s", c.Frozen(), off)
			}
			tm.Stop()
			stop()
		}
	})
}
