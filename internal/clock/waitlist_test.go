package clock

import (
	"context"
	"slices"
	"testing"
	"time"
)

// Each pending timer is a wait of the session and kind it was labeled
// with, listed in the order of their ends (then of sessions and kinds),
// with its end on the clock; one stopped or ended by a move is no longer
// listed. The session is the one the context names (WithSession, on a
// context that carries the clock).
func TestWaitListLabelsThePendingTimers(t *testing.T) {
	c := New()
	if list, _, _ := c.WaitList(); len(list) != 0 {
		t.Fatalf("a new clock's waits: %+v", list)
	}
	ctx := With(context.Background(), c)
	start := c.Now()
	hour := c.NewTimer(LabelFor(WithSession(ctx, 2), Delay), start, time.Hour)
	c.AfterFunc(LabelFor(WithSession(ctx, 1), IdleReply), start.Add(time.Hour), func() {})
	c.NewTimer(LabelFor(ctx, Trickle), start, 2*time.Hour)
	split := c.NewTimer(LabelFor(WithSession(ctx, 3), SplitReply), start, time.Minute)
	type wait struct {
		session int
		kind    string
		end     time.Duration // after start
	}
	list := func() []wait {
		t.Helper()
		ws, _, now := c.WaitList()
		if len(ws) != c.Waits() {
			t.Errorf("WaitList has %d waits, Waits %d", len(ws), c.Waits())
		}
		if now.Before(start) {
			t.Errorf("WaitList's now %v, before the start %v", now, start)
		}
		var out []wait
		for _, w := range ws {
			out = append(out, wait{w.Session, w.Kind.String(), w.End.Sub(start)})
		}
		return out
	}
	want := []wait{{3, "splitReply", time.Minute}, {1, "idleReply", time.Hour}, {2, "delay", time.Hour}, {0, "trickle", 2 * time.Hour}}
	if got := list(); !slices.Equal(got, want) {
		t.Errorf("waits: %+v, want %+v", got, want)
	}
	split.Stop()
	_, moved, left, err := c.Advance(90 * time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	<-hour.C
	if got, want := list(), []wait{{0, "trickle", 2 * time.Hour}}; !slices.Equal(got, want) {
		t.Errorf("after a stop and a move of 90m: %+v, want %+v", got, want)
	}
	// The move's answer is the list at its instant, and WaitList's
	// offset is the clock's at its time.
	if len(left) != 1 || left[0].Kind != Trickle || !left[0].End.After(moved) {
		t.Errorf("the waits the move left: %+v at %v, want the trickle's", left, moved)
	}
	if _, off, now := c.WaitList(); off != 90*time.Minute || now.Add(-off).After(time.Now()) {
		t.Errorf("WaitList's offset %v at %v, want 1h30m, at real time plus it", off, now)
	}
}

// A context without a clock names no session: nothing on it waits on a
// clock that a test moves. A nil clock lists no waits.
func TestSessionNeedsAClock(t *testing.T) {
	if got := LabelFor(WithSession(context.Background(), 4), Delay); got != (Label{Kind: Delay}) {
		t.Errorf("the label of a context without a clock: %+v", got)
	}
	var c *Clock
	if list, _, _ := c.WaitList(); list != nil {
		t.Errorf("a nil clock's waits: %+v", list)
	}
}

// The kinds are named after the fault fields that make the waits, and
// their names parse back.
func TestKindNames(t *testing.T) {
	if got, want := KindNames(), []string{"delay", "trickle", "splitReply", "idleReply"}; !slices.Equal(got, want) {
		t.Errorf("KindNames() = %q, want %q", got, want)
	}
	for _, name := range KindNames() {
		if k, ok := ParseKind(name); !ok || k.String() != name {
			t.Errorf("ParseKind(%q) = %v, %v", name, k, ok)
		}
	}
	for _, name := range []string{"", "Delay", "stall", "delay,trickle"} {
		if k, ok := ParseKind(name); ok {
			t.Errorf("ParseKind(%q) = %v, want none", name, k)
		}
	}
}
