package clock

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestNilClockIsTheTimePackages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c *Clock
		start := time.Now()
		if !c.Now().Equal(start) {
			t.Errorf("Now %v, want time.Now %v", c.Now(), start)
		}
		tm := c.NewTimer(Label{}, start.Add(-time.Hour), time.Second) // since is not read
		<-tm.C
		if got := time.Since(start); got != time.Second {
			t.Errorf("a nil clock's timer of 1s fired after %v", got)
		}
		fired := make(chan time.Duration, 1)
		c.AfterFunc(Label{}, time.Now().Add(time.Minute), func() { fired <- time.Since(start) })
		if got := <-fired; got != time.Minute+time.Second {
			t.Errorf("AfterFunc a minute ahead ran at %v, want 1m1s", got)
		}
		if From(context.Background()) != nil || From(With(context.Background(), nil)) != nil {
			t.Error("a context without a clock has one")
		}
	})
}

func TestAdvanceEndsTimersItReaches(t *testing.T) {
	c := New()
	long := c.NewTimer(Label{}, time.Time{}, time.Hour)
	longer := c.NewTimer(Label{}, time.Time{}, 2*time.Hour)
	defer longer.Stop()
	fired := make(chan struct{})
	c.AfterFunc(Label{}, c.Now().Add(90*time.Minute), func() { close(fired) })
	if _, _, _, err := c.Advance(59 * time.Minute); err != nil {
		t.Fatal(err)
	}
	select {
	case <-long.C:
		t.Fatal("a 1h timer fired after 59m")
	default:
	}
	off, _, _, err := c.Advance(time.Hour)
	if err != nil || off != 119*time.Minute {
		t.Fatalf("Advance: %v, %v", off, err)
	}
	timeout := time.After(10 * time.Second)
	select {
	case <-long.C:
	case <-timeout:
		t.Fatal("a 1h timer did not fire once the clock moved 1h59m")
	}
	select {
	case <-fired:
	case <-timeout:
		t.Fatal("AfterFunc at 1h30m did not run once the clock moved 1h59m")
	}
	if !longer.Stop() {
		t.Error("a 2h timer was no longer pending after 1h59m")
	}
	if long.Stop() {
		t.Error("Stop of a fired timer reported it pending")
	}
}

// A timer counts from since: one whose end the clock passed before it
// was made fires at once.
func TestTimerCountsFromSince(t *testing.T) {
	c := New()
	since := c.Now()
	if _, _, _, err := c.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	tm := c.NewTimer(Label{}, since, time.Hour)
	select {
	case <-tm.C:
	case <-time.After(10 * time.Second):
		t.Fatal("a timer of 1h from before a move of 1h did not fire")
	}
}

func TestAdvanceRefusesAMoveBackOrTooFar(t *testing.T) {
	c := New()
	for _, d := range []time.Duration{-1, -time.Second} {
		if _, _, _, err := c.Advance(d); err == nil {
			t.Errorf("Advance(%v): no error", d)
		}
	}
	if _, _, _, err := c.Advance(MaxOffset); err != nil {
		t.Fatal(err)
	}
	// At the bound, a move of 0 is still no move, not one too far.
	if off, _, _, err := c.Advance(0); err != nil || off != MaxOffset {
		t.Errorf("Advance(0) at MaxOffset: %v, %v, want no error", off, err)
	}
	if off, _, _, err := c.Advance(1); !errors.Is(err, ErrTooFar) || off != MaxOffset {
		t.Errorf("Advance past MaxOffset: %v, %v", off, err)
	}
	// The clock reads far ahead, and a timer of "forever" does not wrap.
	tm := c.NewTimer(Label{}, time.Time{}, time.Duration(1<<63-1))
	defer tm.Stop()
	select {
	case <-tm.C:
		t.Error("a timer of forever fired")
	default:
	}
	if d := c.Now().Sub(time.Now()); d < MaxOffset-time.Minute {
		t.Errorf("the clock is %v ahead, want %v", d, MaxOffset)
	}
}

// Timers made and stopped while the clock moves: each fires once, never
// before the clock reached its end, and every one whose end the last
// move passed fires.
func TestTimersWhileTheClockMoves(t *testing.T) {
	c := New()
	const n = 200
	type fired struct {
		end, at time.Time
	}
	out := make(chan fired, n)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			if _, _, _, err := c.Advance(time.Minute); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := range n {
		since := c.Now()
		d := time.Duration(i%60) * time.Minute / 2
		if i%2 == 0 {
			tm := c.NewTimer(Label{}, since, d)
			go func() {
				at := <-tm.C
				out <- fired{since.Add(d), at}
			}()
		} else {
			end := since.Add(d)
			c.AfterFunc(Label{}, end, func() { out <- fired{end, c.Now()} })
		}
	}
	<-done
	// Every end is at most 29m30s after its since: a last move passes
	// them all.
	if _, _, _, err := c.Advance(30 * time.Minute); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for range n {
		select {
		case f := <-out:
			if f.at.Before(f.end) {
				t.Errorf("a timer fired at %v, before its end %v", f.at, f.end)
			}
		case <-timeout:
			t.Fatal("timers whose end the clock passed did not fire within 10 s")
		}
	}
}

// OnAdvance's function is told each move before it takes effect (a
// timer it ends has not fired, the offset is the old one), not a move
// refused, and nothing once stopped.
func TestOnAdvanceIsToldBeforeTheMove(t *testing.T) {
	c := New()
	tm := c.NewTimer(Label{}, time.Time{}, time.Hour)
	defer tm.Stop()
	type move struct{ by, offset, before time.Duration }
	var told []move
	stop := c.OnAdvance(func(by, offset time.Duration) {
		select {
		case <-tm.C:
			t.Error("a timer the move ends fired before the move was told")
		default:
		}
		before, _ := c.Offset()
		told = append(told, move{by, offset, before})
	})
	if _, _, _, err := c.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	<-tm.C
	if _, _, _, err := c.Advance(MaxOffset); !errors.Is(err, ErrTooFar) {
		t.Fatalf("Advance past the bound: %v", err)
	}
	stop()
	if _, _, _, err := c.Advance(time.Minute); err != nil {
		t.Fatal(err)
	}
	if want := []move{{time.Hour, time.Hour, 0}}; len(told) != 1 || told[0] != want[0] {
		t.Errorf("told %v, want %v", told, want)
	}
}

// Waits counts the timers in progress: made and not yet ended, stopped
// or passed by a move. A move's ending is done when Advance returns, so
// that a test that moves the clock and then waits for the next wait does
// not see the one it ended; a timer made with its end passed never
// counts, and its channel has received already. OnWaits is told of each
// change, and of none once stopped.
func TestWaitsCountsTimersInProgress(t *testing.T) {
	c := New()
	var told int
	stop := c.OnWaits(func() { told++ }) // with c.mu held: no race on told
	waits := func(want int, when string) {
		t.Helper()
		if got := c.Waits(); got != want {
			t.Errorf("%s: Waits %d, want %d", when, got, want)
		}
	}
	waits(0, "a new clock")
	hour := c.NewTimer(Label{}, time.Time{}, time.Hour)
	ran := make(chan struct{})
	c.AfterFunc(Label{}, c.Now().Add(2*time.Hour), func() { close(ran) })
	long := c.NewTimer(Label{}, time.Time{}, 3*time.Hour)
	waits(3, "three timers made")
	if !long.Stop() {
		t.Error("Stop of a pending timer: false")
	}
	waits(2, "one stopped")
	if long.Stop() {
		t.Error("Stop again: true")
	}
	if _, _, left, err := c.Advance(time.Hour); err != nil || len(left) != 1 {
		t.Fatalf("Advance past the end of one of 2: %d left, %v", len(left), err)
	}
	waits(1, "a move past the end of one")
	select {
	case <-hour.C:
	default:
		t.Error("Advance returned before the timer it ended received")
	}
	if _, _, left, err := c.Advance(time.Hour); err != nil || len(left) != 0 {
		t.Fatalf("Advance past the end of the last: %d left, %v", len(left), err)
	}
	waits(0, "a move past the end of the AfterFunc")
	<-ran
	passed := c.NewTimer(Label{}, c.Now().Add(-time.Minute), time.Minute)
	waits(0, "a timer made with its end passed")
	select {
	case <-passed.C:
	default:
		t.Error("a timer made with its end passed did not receive at once")
	}
	if passed.Stop() {
		t.Error("Stop of a timer that never was pending: true")
	}
	ranToo := make(chan struct{})
	c.AfterFunc(Label{}, c.Now(), func() { close(ranToo) }).Stop()
	<-ranToo
	waits(0, "an AfterFunc made at its end")
	// made 3, stopped 1, one move ended 1, the next 1.
	if told != 6 {
		t.Errorf("OnWaits told %d changes, want 6", told)
	}
	stop()
	c.NewTimer(Label{}, time.Time{}, time.Hour).Stop()
	if told != 6 {
		t.Errorf("OnWaits told %d changes after stop, want 6", told)
	}
	var nilClock *Clock
	if nilClock.Waits() != 0 {
		t.Error("a nil clock has waits")
	}
}

// A timer that ends on real time stops counting as it fires.
func TestWaitsDropsAsATimerEndsOnRealTime(t *testing.T) {
	c := New()
	changed := make(chan int, 2)
	defer c.OnWaits(func() { changed <- len(c.timers) })()
	tm := c.NewTimer(Label{}, time.Time{}, time.Millisecond)
	if n := <-changed; n != 1 {
		t.Fatalf("after NewTimer: %d pending", n)
	}
	<-tm.C
	if n := <-changed; n != 0 {
		t.Fatalf("after it fired: %d pending", n)
	}
	if c.Waits() != 0 {
		t.Errorf("Waits %d after the timer fired", c.Waits())
	}
}

// At reads the clock as it was at a real time: before a move, without
// it; after, with it. Past the moves it remembers, it says it cannot.
func TestAtReadsTheClockAsItWas(t *testing.T) {
	c := New()
	before := time.Now()
	if at, ok := c.At(before); !ok || !at.Equal(before) {
		t.Errorf("At before any move: %v, %v, want %v", at, ok, before)
	}
	if _, _, _, err := c.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	if at, ok := c.At(before); !ok || !at.Equal(before) {
		t.Errorf("At before the move: %v, %v, want %v", at, ok, before)
	}
	if at, ok := c.At(after); !ok || !at.Equal(after.Add(time.Hour)) {
		t.Errorf("At after the move: %v, %v, want %v", at, ok, after.Add(time.Hour))
	}
	for range maxMoves {
		if _, _, _, err := c.Advance(time.Nanosecond); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := c.At(before); ok {
		t.Error("At before moves the clock forgot: ok")
	}
	last := time.Now()
	if at, ok := c.At(last); !ok || !at.Equal(last.Add(time.Hour+maxMoves)) {
		t.Errorf("At after the last move: %v, %v, want %v", at, ok, last.Add(time.Hour+maxMoves))
	}
	var nilClock *Clock
	if at, ok := nilClock.At(before); !ok || !at.Equal(before) {
		t.Errorf("a nil clock's At: %v, %v", at, ok)
	}
}

// The clock remembers its last maxMoves moves, as At says: a time after
// the oldest of them reads with its offset, at N-1, N, N+1 and 2N moves
// alike, and one before it does not; a flood of moves (a million) keeps
// no more than that.
func TestAtRemembersTheLastMaxMoves(t *testing.T) {
	for _, n := range []int{maxMoves - 1, maxMoves, maxMoves + 1, maxMoves + 2, 2 * maxMoves, 2*maxMoves + 1, 3 * maxMoves} {
		c := New()
		var ats []time.Time // ats[i]: a real time after move i+1, before the next
		for range n {
			if _, _, _, err := c.Advance(time.Nanosecond); err != nil {
				t.Fatal(err)
			}
			ats = append(ats, time.Now())
		}
		// The oldest move remembered is n-maxMoves+1 (1-based): a time
		// after it reads with its offset.
		oldest := max(1, n-maxMoves+1)
		at := ats[oldest-1]
		if got, ok := c.At(at); !ok || !got.Equal(at.Add(time.Duration(oldest))) {
			t.Errorf("%d moves: At after move %d, the oldest of the last %d: %v, %v; want %v", n, oldest, maxMoves, got, ok, at.Add(time.Duration(oldest)))
		}
		if oldest > 1 {
			if _, ok := c.At(ats[oldest-2]); ok {
				t.Errorf("%d moves: At after move %d, before the last %d: ok", n, oldest-1, maxMoves)
			}
		}
	}
	c := New()
	for range 1 << 20 {
		if _, _, _, err := c.Advance(time.Nanosecond); err != nil {
			t.Fatal(err)
		}
	}
	if n := cap(c.moves); n > 3*maxMoves { // twice as many, and what append rounds up
		t.Errorf("after 1Mi moves the clock keeps room for %d moves, want at most %d", n, 3*maxMoves)
	}
	now := time.Now()
	if got, ok := c.At(now); !ok || !got.Equal(now.Add(1<<20)) {
		t.Errorf("At after 1Mi moves: %v, %v", got, ok)
	}
}
