// Package clock is the clock that the timing of mocksmtp's faults reads
// (greylisting windows, rate limit intervals, delays, paced replies, idle
// replies), and the hook through which the mocksmtp program hands the
// server a clock that its suite moves ahead (POST /api/clock/advance).
//
// A nil *Clock is the plain time functions (time.Now, time.NewTimer,
// time.AfterFunc), and is what every server has unless the program gives
// it one: in a testing/synctest bubble it is the bubble's clock, exactly
// as before. A Clock made by [New] reads the real clock plus an offset
// that [Clock.Advance] only ever grows; its timers end as soon as the
// clock reaches their end, real time or an advance, whichever comes
// first. One made by [NewFrozen] stands still: it reads the real time it
// was made at (or the start [NewFrozenAt] gives) plus that offset, so
// that only Advance moves it, and its
// timers end only when an advance reaches their end, never by real time
// passing. Its pending timers are the waits on it in progress ([Clock.Waits],
// [Clock.WaitList]), which a watcher is told of as they begin and end
// ([Clock.OnWaits]): a test that moves the clock waits until the wait it
// means to end has begun, as a Go test calls synctest.Wait.
//
// Each timer is labeled ([Label]) with the session that waits and the kind
// of wait ([Kind]: a delay, a pause of a trickle or a split reply, an idle
// reply's time), so that a test waits for the one wait it means to end,
// not another session's, nor the idle time of its own session before its
// delay has begun.
//
// The root package takes a Clock from an option that implements
// [Carrier] (only this module can name the type), and carries it to the
// engine in its context ([With], [From]), and each session's ID with it
// ([WithSession]); the engine's waits read both there ([LabelFor]), and
// the server's time that a client sees (the Exchange persona's greeting)
// reads it (Now). Nothing else follows the clock: timestamps of sessions
// and messages, the engine's socket read timeout and the waits of the
// API are real time.
package clock

import (
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Clock is a clock that a test moves ahead. Its methods are safe for
// concurrent use; those of a nil *Clock are the time package's.
type Clock struct {
	// frozen tells a clock that stands still but for its moves
	// (NewFrozen, NewFrozenAt): it reads origin, its time before any
	// move, plus offset; another reads real time plus offset. Both are
	// set once, by the constructor; origin may be any instant, the zero
	// time too.
	frozen bool
	origin time.Time
	// offset is how far Advance moved it, never less: read without a
	// lock (Now is on the engine's path of every command), written
	// with mu held.
	offset atomic.Int64
	// moving serializes Advance, with the calls of its watchers, which
	// run without mu held; taken before mu.
	moving   sync.Mutex
	mu       sync.Mutex                                   // guards timers, watchers and waitWatchers
	timers   map[*Timer]struct{}                          // pending, their end not reached: rescheduled by Advance
	watchers map[*func(by, offset time.Duration)]struct{} // told of each move (OnAdvance)
	// waitWatchers are told of each change of the pending timers
	// (OnWaits), with mu held.
	waitWatchers map[*func()]struct{}
	// moves are the last moves, oldest first, of which At reads the
	// last maxMoves: between maxMoves and twice as many, so that a move
	// drops older ones only once in maxMoves moves (Advance); forgot
	// tells that it moved more than maxMoves times.
	moves  []move
	forgot bool
}

// move is a move of the clock: from at (real time) on, the clock read
// offset ahead.
type move struct {
	at     time.Time
	offset time.Duration
}

// maxMoves bounds the moves a clock remembers for At: a suite moves the
// clock a few times per test, and a session older than the last
// maxMoves moves is rarely still asked about.
const maxMoves = 4096

// At returns the clock's time at real time t, past: t plus how far the
// clock had been moved by then (a frozen clock's: its start plus that,
// see NewFrozen). ok is false when t is before the oldest move the
// clock remembers, and it forgot older ones (it keeps the last 4096). A
// nil clock's is t.
func (c *Clock) At(t time.Time) (at time.Time, ok bool) {
	if c == nil {
		return t, true
	}
	base := t
	if c.frozen {
		base = c.origin
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	moves := c.moves[max(0, len(c.moves)-maxMoves):]
	i := sort.Search(len(moves), func(i int) bool { return moves[i].at.After(t) })
	switch {
	case i > 0:
		return base.Add(moves[i-1].offset), true
	case c.forgot:
		return time.Time{}, false
	}
	return base, true
}

// New returns a clock that reads the real clock, not moved yet.
func New() *Clock {
	return newClock(time.Time{}, false)
}

// NewFrozen returns a clock that stands still at the real time now
// (wall clock only: it has no monotonic reading) until Advance moves
// it: its time is that start plus how far Advance moved it, and its
// timers end only when a move reaches their end, however much real time
// passes. At maps a real time to the start plus how far the clock had
// been moved by then.
func NewFrozen() *Clock {
	return newClock(time.Now().Round(0), true)
}

// NewFrozenAt returns a clock frozen as NewFrozen's, at start instead of
// the real time now: its time is start (its monotonic reading, if any,
// stripped; its location kept, in which the clock's times are) plus how
// far Advance moved it. Its Start is start.
func NewFrozenAt(start time.Time) *Clock {
	return newClock(start.Round(0), true)
}

// Frozen reports whether the clock stands still but for its moves
// (NewFrozen, NewFrozenAt). A nil clock's does not.
func (c *Clock) Frozen() bool {
	return c != nil && c.frozen
}

// Start returns a frozen clock's time before any move: the real time
// NewFrozen was called at, or NewFrozenAt's start; ok is false for a
// clock that reads real time (New, nil), which has no such instant.
func (c *Clock) Start() (start time.Time, ok bool) {
	if !c.Frozen() {
		return time.Time{}, false
	}
	return c.origin, true
}

// newClock returns a clock not moved yet, frozen at origin if frozen.
func newClock(origin time.Time, frozen bool) *Clock {
	return &Clock{frozen: frozen, origin: origin, timers: make(map[*Timer]struct{}), watchers: make(map[*func(by, offset time.Duration)]struct{}),
		waitWatchers: make(map[*func()]struct{})}
}

// Waits returns how many timers of the clock are pending: the waits on
// it in progress, each made by NewTimer or AfterFunc, not stopped, and
// whose end the clock has not reached. A timer made with its end reached
// already never counts; one whose end Advance reaches stops counting
// before Advance returns. A nil clock's is 0.
func (c *Clock) Waits() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Wait is a wait on a clock in progress, as [Clock.WaitList] lists it:
// its label and the clock's time at which it ends.
type Wait struct {
	Label
	End time.Time
}

// WaitList returns the waits in progress, those that Waits counts, in
// the order of their ends, then of their sessions and kinds, with how
// far the clock was moved then and its time then (as Offset returns
// them, at the same instant), from which each has End.Sub(now) left. A
// nil clock's is none.
func (c *Clock) WaitList() (waits []Wait, offset time.Duration, now time.Time) {
	if c == nil {
		return nil, 0, time.Now()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	offset, now = c.Offset() // Advance moves it with mu held
	return c.waitListLocked(), offset, now
}

// waitListLocked returns the waits in progress, as WaitList does. c.mu
// must be held.
func (c *Clock) waitListLocked() []Wait {
	waits := make([]Wait, 0, len(c.timers))
	for t := range c.timers {
		waits = append(waits, Wait{t.label, t.end})
	}
	sort.Slice(waits, func(i, j int) bool {
		a, b := waits[i], waits[j]
		switch {
		case !a.End.Equal(b.End):
			return a.End.Before(b.End)
		case a.Session != b.Session:
			return a.Session < b.Session
		}
		return a.Kind < b.Kind
	})
	return waits
}

// OnWaits makes f be called after each later change of Waits (a timer
// made, stopped, or ended by the clock), until stop is called. f runs
// with the clock's lock held, on the goroutine that made the change: it
// must return quickly and must not use the clock.
func (c *Clock) OnWaits(f func()) (stop func()) { return watch(c, c.waitWatchers, f) }

// waitsChangedLocked tells the watchers of OnWaits; c.mu is held.
func (c *Clock) waitsChangedLocked() {
	for f := range c.waitWatchers {
		(*f)()
	}
}

// OnAdvance makes every later Advance call f with the move and the
// offset it makes, before the move takes effect (before any timer it
// ends runs), on Advance's goroutine, one move at a time; stop ends
// that (a call in progress may still finish). f must not move the
// clock.
func (c *Clock) OnAdvance(f func(by, offset time.Duration)) (stop func()) {
	return watch(c, c.watchers, f)
}

// watch adds f to the watchers set, with c.mu held, and returns what
// removes it.
func watch[F any](c *Clock, set map[*F]struct{}, f F) (stop func()) {
	p := &f
	c.mu.Lock()
	set[p] = struct{}{}
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		delete(set, p)
		c.mu.Unlock()
	}
}

// MaxOffset bounds how far a clock moves ahead in all, so that a time
// read from it or a timer's end stays far from time.Time's and
// time.Duration's limits (a hundred years; a delay of "forever" is
// time.Duration's largest, some 292 years).
const MaxOffset = 100 * 365 * 24 * time.Hour

// ErrTooFar is Advance's error for a move past MaxOffset in all.
var ErrTooFar = errors.New("clock: moved ahead past its bound")

// Now returns the clock's time: time.Now (a frozen clock's start) plus
// how far it was moved.
func (c *Clock) Now() time.Time {
	_, now := c.Offset()
	return now
}

// Offset returns how far the clock was moved ahead, and its time.
func (c *Clock) Offset() (time.Duration, time.Time) {
	if c == nil {
		return 0, time.Now()
	}
	off := time.Duration(c.offset.Load())
	return off, c.unmoved().Add(off)
}

// unmoved returns what c would read had it never moved: time.Now, or a
// frozen clock's start.
func (c *Clock) unmoved() time.Time {
	if c.frozen {
		return c.origin
	}
	return time.Now()
}

// Advance moves the clock ahead by d, which must not be negative, and ends
// at once every timer whose end it reaches, before it returns (Waits no
// longer counts them; a channel has received, an AfterFunc's f has been
// started in its own goroutine); the others end that much sooner. It
// refuses (ErrTooFar, and moves nothing) a move that would take the
// clock more than MaxOffset ahead of real time (a frozen clock's start)
// in all. It returns the new offset and time, and the waits in progress
// once the move took effect, as WaitList lists them at that instant:
// those it did not end (a timer made after it, such as the next pause of
// a paced reply whose pause it ended, may come before Advance returns,
// and is not among them). A move of 0 is no move: it ends no timer and
// tells no OnAdvance watcher, and returns the clock as it stands, as
// WaitList does, so that a test that mirrors its own clock's moves one
// to one (a backoff of 0) need not leave that one out.
func (c *Clock) Advance(d time.Duration) (offset time.Duration, now time.Time, waits []Wait, err error) {
	switch {
	case d < 0:
		return 0, time.Time{}, nil, errors.New("clock: a move must not be negative: the clock never goes back")
	case c == nil:
		return 0, time.Now(), nil, errors.New("clock: the time package's clock does not move")
	case d == 0:
		waits, offset, now = c.WaitList()
		return offset, now, waits, nil
	}
	c.moving.Lock()
	defer c.moving.Unlock()
	off := time.Duration(c.offset.Load()) // only Advance changes it
	if d > MaxOffset-off {
		waits, _, now := c.WaitList()
		return off, now, waits, ErrTooFar
	}
	c.mu.Lock()
	watchers := make([]func(by, offset time.Duration), 0, len(c.watchers))
	for f := range c.watchers {
		watchers = append(watchers, *f)
	}
	c.mu.Unlock()
	for _, f := range watchers {
		f(d, off+d)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	off += d
	wall := time.Now()
	c.offset.Store(int64(off))
	now = wall.Add(off)
	if c.frozen {
		now = c.origin.Add(off)
	}
	if len(c.moves) == 2*maxMoves {
		c.moves = append(c.moves[:0], c.moves[maxMoves:]...)
	}
	c.moves = append(c.moves, move{wall, off})
	c.forgot = c.forgot || len(c.moves) > maxMoves
	ended := false
	for t := range c.timers {
		if now.Before(t.end) {
			if t.real != nil { // a frozen clock's timers have none
				t.real.Reset(t.end.Sub(now))
			}
			continue
		}
		// Its end is reached: it ends now, not on its real timer's
		// goroutine, so that Waits no longer counts it when Advance
		// returns. Its real timer, if it runs meanwhile, finds it ended
		// (fire).
		if t.real != nil {
			t.real.Stop()
		}
		delete(c.timers, t)
		t.ring(now)
		ended = true
	}
	if ended {
		c.waitsChangedLocked()
	}
	return off, now, c.waitListLocked(), nil
}

// Timer is a timer on a Clock: as time.Timer, C receives once the clock
// reaches the end, or f runs (AfterFunc).
type Timer struct {
	C     <-chan time.Time
	c     *Clock
	label Label       // what the wait is, for WaitList
	end   time.Time   // on c's clock
	real  *time.Timer // due at the real time the clock reaches end, as far as it was moved; nil on a frozen clock
	send  chan time.Time
	f     func()
}

// NewTimer returns a timer whose channel receives the clock's time once
// the clock has reached d after since (a time read from it before; the
// zero time for now), which may have passed already; while pending, it
// is the wait l (WaitList). A nil clock's is time.NewTimer(d): since is
// not read.
func (c *Clock) NewTimer(l Label, since time.Time, d time.Duration) *Timer {
	if c == nil {
		t := time.NewTimer(d)
		return &Timer{C: t.C, real: t}
	}
	ch := make(chan time.Time, 1)
	t := &Timer{C: ch, send: ch, label: l}
	c.start(t, since, d)
	return t
}

// AfterFunc runs f in its own goroutine once the clock has reached at,
// as time.AfterFunc does after a duration; while pending, it is the
// wait l (WaitList).
func (c *Clock) AfterFunc(l Label, at time.Time, f func()) *Timer {
	if c == nil {
		return &Timer{real: time.AfterFunc(time.Until(at), f)}
	}
	t := &Timer{f: f, label: l}
	c.start(t, at, 0)
	return t
}

// start arms t to end at d after since on c's clock (from now when since
// is zero); one whose end is reached already ends at once, never pending.
func (c *Clock) start(t *Timer, since time.Time, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.Now()
	if since.IsZero() {
		since = now
	}
	t.c = c
	t.end = since.Add(d)
	if !now.Before(t.end) {
		t.ring(now)
		return
	}
	c.timers[t] = struct{}{}
	if !c.frozen {
		// A frozen clock's timer ends only on a move (Advance).
		t.real = time.AfterFunc(t.end.Sub(now), t.fire)
	}
	c.waitsChangedLocked()
}

// ring ends t, which is not pending (any more), at now: its channel
// receives now, or its f starts in a goroutine of its own, as
// time.AfterFunc's.
func (t *Timer) ring(now time.Time) {
	if t.f != nil {
		go t.f()
		return
	}
	select {
	case t.send <- now:
	default:
	}
}

// fire ends t if it is pending and its end is reached; its real timer,
// due too early (it cannot be: the clock only moves ahead) or run again
// by a Reset that came as it fired, otherwise does nothing or waits on.
func (t *Timer) fire() {
	c := t.c
	c.mu.Lock()
	if _, pending := c.timers[t]; !pending {
		c.mu.Unlock()
		return
	}
	now := c.Now()
	if now.Before(t.end) {
		t.real.Reset(t.end.Sub(now))
		c.mu.Unlock()
		return
	}
	delete(c.timers, t)
	c.waitsChangedLocked()
	c.mu.Unlock()
	if t.f != nil {
		t.f() // on the real timer's goroutine, already its own
		return
	}
	select {
	case t.send <- now:
	default:
	}
}

// Stop stops the timer; it reports whether it was pending.
func (t *Timer) Stop() bool {
	if t.c == nil {
		return t.real.Stop()
	}
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	_, pending := t.c.timers[t]
	if !pending {
		return false // ended, or never pending: t.real may be nil
	}
	delete(t.c.timers, t)
	if t.real != nil {
		t.real.Stop()
	}
	t.c.waitsChangedLocked()
	return true
}

// Carrier is an option that carries a clock to mocksmtp.New: only this
// module can make one, as only it can name *Clock. The program's
// carrier embeds a nil mocksmtp.Option for its method set; New takes
// the clock and applies nothing.
type Carrier interface {
	FaultClock() *Clock
}

// Kind is the kind of a wait on a clock: what a session waits for,
// named after the field of the mocksmtp program's fault script that
// makes it wait (its String).
type Kind int

const (
	Delay      Kind = iota + 1 // a pause before a reply, a fault's delay (smtpd.Conn.Pause)
	Trickle                    // a pause between the parts of a reply written a few octets at a time (smtpd.Pace.Chunk)
	SplitReply                 // the pause between the two parts of a split reply (smtpd.Pace.SplitAt)
	IdleReply                  // the server's wait for the client's next command, at whose end an idle reply comes

	lastKind = IdleReply
)

// ParseKind returns the kind named s (Kind.String), and false for a name
// of none.
func ParseKind(s string) (Kind, bool) {
	for k := Delay; k <= lastKind; k++ {
		if k.String() == s {
			return k, true
		}
	}
	return 0, false
}

// KindNames returns the names of the kinds, in order.
func KindNames() []string {
	var names []string
	for k := Delay; k <= lastKind; k++ {
		names = append(names, k.String())
	}
	return names
}

// String returns the name of the fault field that makes the wait:
// "delay", "trickle", "splitReply", "idleReply"; "" for the zero Kind.
func (k Kind) String() string {
	switch k {
	case Delay:
		return "delay"
	case Trickle:
		return "trickle"
	case SplitReply:
		return "splitReply"
	case IdleReply:
		return "idleReply"
	}
	return ""
}

// Label says what a wait on a clock is: which session waits, and for
// what.
type Label struct {
	Session int // the session's ID (WithSession); 0 for none
	Kind    Kind
}

type key struct{}

type sessionKey struct{}

// WithSession returns ctx naming the session id, whose waits on the
// clock ctx carries are labeled with it (LabelFor); a ctx without a clock
// is returned as it is: nothing waits on the clock it does not carry.
func WithSession(ctx context.Context, id int) context.Context {
	if From(ctx) == nil {
		return ctx
	}
	return context.WithValue(ctx, sessionKey{}, id)
}

// LabelFor returns the label of a wait of kind by the session that ctx
// names (WithSession), session 0 when it names none.
func LabelFor(ctx context.Context, kind Kind) Label {
	id, _ := ctx.Value(sessionKey{}).(int)
	return Label{Session: id, Kind: kind}
}

// With returns ctx carrying c, for the engine's waits (From).
func With(ctx context.Context, c *Clock) context.Context {
	if c == nil {
		return ctx
	}
	return context.WithValue(ctx, key{}, c)
}

// From returns the clock ctx carries, or nil: the time package's.
func From(ctx context.Context) *Clock {
	c, _ := ctx.Value(key{}).(*Clock)
	return c
}
