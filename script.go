package mocksmtp

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mocksmtp/mocksmtp/internal/clock"
	"github.com/mocksmtp/mocksmtp/internal/idle"
	"github.com/mocksmtp/mocksmtp/internal/rawreply"
	"github.com/mocksmtp/mocksmtp/smtpd"
)

// WithFault adds faults to the server's fault script, after those of
// earlier WithFault options; [Server.AddFault] adds more later. An invalid
// fault, or one this server cannot play (see AddFault), makes [New] fail.
//
// The script is consulted at each event, in order: each fault whose
// stage and selectors match fires. A fault's action has two kinds of
// parts. Those that decide are what the client is told and what becomes
// of the connection: a [Fault.Reply], [Fault.RawReply] or scenario's
// reply, [Fault.Drop], and an ending ([Fault.Disconnect],
// [Fault.ResetTCP], [Fault.HalfClose], [Fault.Stall]). The others
// modify the answer: a [Fault.Delay], the pace of the reply
// ([Fault.Trickle], [Fault.SplitReply]), what happens if the client
// then idles ([Fault.IdleReply]), where the message data is cut
// ([Fault.DropAfterBytes]), how the TLS handshake after the reply fails
// ([Fault.ExpiredCertificate]...). A fault that only modifies decides
// nothing: the faults after it are consulted still, a scenario's among
// them (a [Greylist] after it sees the pair, a [RateLimitPer] counts the
// MAIL FROM; each keeps what the client was told as of when the reply
// goes out, after the delays, and nothing if it never does: see
// [GreylistFor], [RateLimitPer]). The first that fires with a part that
// decides decides the answer, and the faults after it are not consulted
// for that event: their selectors are not tried, their [Fault.AtMost]
// counts are not used up, their [Fault.WithProbability] draws nothing.
//
// What modifies composes with the answer: the delays of all that fired
// add up, the decider's included, and each other modifier comes from the
// fault that decides, if it has it (a fault that decides and paces its
// reply has its own pace, whatever a fault before it paced), or else
// from the first fault that fired with it, and acts on the reply of the
// fault that decides, or on the server's own when none does. A modifier that the
// answer leaves nothing to act on is not done: a pace without a reply
// (Drop), an IdleReply when the connection closes (a 421), a
// DropAfterBytes at DATA refused, a TLS failure without a handshake (a
// 454 to STARTTLS). A fault that only modifies, each of whose modifiers
// a fault before it already gave, and without a delay, would change
// nothing: it is not consulted, so that a fault for attempt 1 before a
// general one of the same kind acts on attempt 1 and leaves the other's
// AtMost to the attempts after it. So
//
//	mocksmtp.WithFault(
//		mocksmtp.At(mocksmtp.StageRcpt).Delay(time.Second),
//		mocksmtp.At(mocksmtp.StageRcpt).Trickle(1, 10*time.Millisecond),
//		mocksmtp.At(mocksmtp.StageRcpt).IdleReply(time.Minute, 421, "4.4.2 idle too long"),
//		mocksmtp.UnknownUser("bob@example.com"),
//	)
//
// answers every RCPT after a second, trickled a byte every 10ms, bob's
// with 550, and closes with 421 a client that then stays silent for a
// minute. The greeting consults StageConnect and then StageGreeting, as
// one stage after the other (see [StageConnect]). Each fired fault is a
// note in the session's transcript and an entry in Session.Faults, in the
// order they fired, that says what it does, and what of it was not done,
// and why ("trickle 1 bytes every 10ms; Trickle not done: no reply goes
// out").
func WithFault(faults ...Fault) Option {
	return optionFunc(func(o *options) error {
		for _, f := range faults {
			if err := f.check(); err != nil {
				return err
			}
		}
		o.faults = slices.Concat(o.faults, faults)
		return nil
	})
}

// WithSeed seeds the random source of faults with
// [Fault.WithProbability]. Each connection draws from its own source,
// derived from the seed and its attempt number, so the same seed and the
// same client behaviour give the same faults, connection by connection.
// Each fault with a probability draws once at each event it is consulted
// for (see [WithFault]: up to the first fault that decides, past those
// that only wait or modify, but for one that would add nothing) whose
// other selectors match, in the order they are consulted (the script's,
// at the greeting StageConnect's faults before StageGreeting's); one
// that [Fault.AtMost] used up draws nothing.
// Connections made at once take attempt numbers in the order they are
// accepted, and a fault's AtMost count is shared by them all: which of
// them a fault meets may then change from run to run, as the order of
// their commands does. Without WithSeed the seed is random; sessions note it in
// their transcript and [Server.Seed] returns it, so a failing run can be
// replayed.
func WithSeed(seed int64) Option {
	return optionFunc(func(o *options) error {
		o.seed, o.seeded = seed, true
		return nil
	})
}

// AddFault adds faults at the end of the server's fault script (see
// [WithFault] for the order). They apply from the next event of every
// session. It adds none and returns an error when a fault is invalid
// ([Fault.Err]) or one this server cannot play (a TLS failure at
// StageConnect without [WithImplicitTLS]; a fault at a stage whose
// command the server does not offer, and refuses before any fault:
// StageStartTLS without STARTTLS, StageAuth without AUTH, StageBdat
// without CHUNKING), naming where it was declared.
// It is safe for concurrent use.
func (s *Server) AddFault(faults ...Fault) error {
	_, err := s.setFaults(false, faults)
	return err
}

// AddRemovableFault adds faults at the end of the server's fault script,
// as [Server.AddFault] does, and returns a function that removes exactly
// them, for a test that shares a server with other tests (one server
// started in TestMain, an [Server.Inbox] each) and takes its own faults
// away at its end:
//
//	remove, err := srv.AddRemovableFault(mocksmtp.Greylist().ForRcpt("*@" + inbox.Domain()))
//	if err != nil {
//		t.Fatal(err)
//	}
//	t.Cleanup(remove)
//
// remove takes them out of the script in one step, and nothing else:
// every other fault keeps its place and its state (its AtMost count, the
// pairs a [Greylist] remembers, the transactions a [RateLimitPer]
// counts, an [Fault.IdleReply] it armed on a session), where
// [Server.ReplaceFaults] with the others would start them all afresh. A
// session consults the script at each event in one step: it meets all of
// the removed faults at an event, or none. An IdleReply that one of them
// fired waits on its session no more, as after ReplaceFaults: the
// session's read goes on without it (one whose time ran out by then is
// closed still). The seed stays; a removed fault with a
// [Fault.WithProbability] draws no more, so the faults after it may draw
// other numbers from then on (the same removals at the same points
// replay a run, see [WithSeed]). Notes already in transcripts and
// Session.Faults stay.
//
// remove does nothing when called again, or once ReplaceFaults or
// ClearFaults removed the faults (equal faults that ReplaceFaults added
// are not these); [Server.Reset], which keeps the faults, does not stop
// it. It takes no testing.TB, so that what removes the faults may be a
// test's cleanup, a TestMain, or the mocksmtp program (DELETE
// /api/faults/{id}). On error, as AddFault's, it adds nothing and remove
// does nothing. Both are safe for concurrent use.
func (s *Server) AddRemovableFault(faults ...Fault) (remove func(), err error) {
	added, err := s.setFaults(false, faults)
	if err != nil {
		return func() {}, err
	}
	return s.remover(added), nil
}

// remover returns the function that removes the faults of afs from the
// script in one step (AddRemovableFault's remove). It lets go of them
// then: a removed fault's state (a greylist's pairs) goes even while the
// function is held (the t.Cleanup of a parallel test keeps it until
// the test's parent ends).
func (s *Server) remover(afs []*armedFault) func() {
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		sc := s.scriptLocked()
		sc.remove(afs)
		afs = nil // guarded by s.mu
		s.armed.Store(len(sc.faults) > 0)
	}
}

// changeFaults is the mocksmtp program's way to change the script
// (faultset.Change): setFaults, with a remove for each fault.
func (s *Server) changeFaults(replace bool, faults []Fault) ([]func(), error) {
	added, err := s.setFaults(replace, faults)
	if err != nil {
		return nil, err
	}
	return s.removersOf(added), nil
}

// optionFaultRemoves returns a remove for each fault given to New, in
// order, for the mocksmtp program (faultset.Carrier).
func (s *Server) optionFaultRemoves() []func() {
	s.mu.Lock()
	added := slices.Clone(s.scriptLocked().faults)
	s.mu.Unlock()
	return s.removersOf(added)
}

func (s *Server) removersOf(afs []*armedFault) []func() {
	removes := make([]func(), len(afs))
	for i, af := range afs {
		removes[i] = s.remover([]*armedFault{af})
	}
	return removes
}

// setFaults checks faults, then adds them to the script, or replaces the
// script with them, in one step under the lock. It returns them armed.
func (s *Server) setFaults(replace bool, faults []Fault) ([]*armedFault, error) {
	for _, f := range faults {
		if err := s.opts.checkFault(f); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sc := s.scriptLocked()
	if replace {
		sc.clear()
	}
	added := make([]*armedFault, len(faults))
	for i, f := range faults {
		added[i] = sc.add(f)
	}
	s.armed.Store(len(sc.faults) > 0)
	return added, nil
}

// checkFault reports why f cannot be used on a server with these options,
// or nil.
func (o *options) checkFault(f Fault) error {
	if err := f.check(); err != nil {
		return err
	}
	if f.stage == StageConnect && f.act.tlsConfig != nil && !o.engine.ImplicitTLS {
		return f.errAt(failure("a TLS failure at %v acts on the handshake of %s; with STARTTLS, put it at %v", api("StageConnect"), o.optionNameOr("WithImplicitTLS", "implicit TLS"), api("StageStartTLS")))
	}
	// The engine refuses a command the server does not offer (502, or 503
	// for STARTTLS under implicit TLS) before any fault is consulted.
	switch {
	case f.stage == StageStartTLS && o.engine.ImplicitTLS:
		hint := failure("")
		if f.act.tlsConfig != nil {
			hint = failure("; a TLS failure of its handshake goes at %v", api("StageConnect"))
		}
		return f.errAt(failure("a server with %s does not offer STARTTLS (it answers 503), so a fault at %v would never fire%v", o.optionNameOr("WithImplicitTLS", "implicit TLS"), api("StageStartTLS"), hint))
	case f.stage == StageStartTLS && o.engine.TLSConfig == nil:
		return f.errAt(failure("this server does not offer STARTTLS (it answers 502), so a fault at %v would never fire%s", api("StageStartTLS"), o.framed(": add ", "", "WithSTARTTLS")))
	case f.stage == StageAuth && (len(o.engine.AuthMechanisms) == 0 || o.engine.NewSASL == nil):
		return f.errAt(failure("this server does not offer AUTH (it answers 502), so a fault at %v would never fire%s", api("StageAuth"), o.framed(": add ", "", "WithAuth", "WithOAuthToken", "WithAuthFunc")))
	case f.stage == StageBdat && o.engine.Disabled&smtpd.ExtChunking != 0:
		return f.errAt(failure("this server does not offer CHUNKING%s, so BDAT is refused and a fault at %v would never fire", o.framed(" (turned off with ", ")", "WithoutExtensions", "WithEngineConfig"), api("StageBdat")))
	}
	return nil
}

// ClearFaults removes every fault, those given with [WithFault] included,
// with their counters and scenario state; a session waiting out the time
// of an [Fault.IdleReply] that fired is no longer closed at its end. It
// is safe for concurrent use.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scriptLocked().clear()
	s.armed.Store(false)
}

// ReplaceFaults replaces every fault with faults, in one step: no session
// sees the script empty in between, as it could between [Server.ClearFaults]
// and [Server.AddFault]. Counters and scenario state start afresh, and
// no session waits out an [Fault.IdleReply] that fired before. Like
// AddFault, it returns an error, and changes nothing, when a fault is
// invalid or one this server cannot play. It is safe for concurrent use.
func (s *Server) ReplaceFaults(faults ...Fault) error {
	_, err := s.setFaults(true, faults)
	return err
}

// Seed returns the seed of the random source of faults (see [WithSeed]).
func (s *Server) Seed() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scriptLocked().seed
}

// faultScript is the server's faults at run time, guarded by Server.mu.
type faultScript struct {
	seed   int64
	faults []*armedFault
	random bool // some fault has a probability
	// clock is the server's, which the faults' times read (nil: the
	// time package's; see internal/clock).
	clock *clock.Clock
}

// arming is one arming of a fault, from when it is added (or restarted)
// to its removal (clear, remove) or restart: an IdleReply that it fired
// in it holds while it lasts. The idle timers of sessions read it
// without Server.mu (idleContext).
type arming struct {
	ended atomic.Pointer[time.Time] // when clear, remove or restart ended it (end); nil while it lasts
	// mu guards idles, and ended's store with it: an idle time that
	// begins as the arming ends is either in the set end stops or sees
	// it ended (run).
	mu sync.Mutex
	// idles are the idle times of IdleReplies that fired in it, each
	// running now (its timer pending on the server's clock, a wait on
	// it in progress: clock.Clock.Waits), for end to stop.
	idles map[*idleContext]struct{}
}

// run reports whether c's time, which runs out at at, may run: a lasts,
// or ended at at or after (holdsUntil), when its timer ends it at once.
// While a lasts it keeps c, until forget, for end to stop. c.mu is held.
func (a *arming) run(c *idleContext, at time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e := a.ended.Load(); e != nil {
		return !e.Before(at)
	}
	if a.idles == nil {
		a.idles = make(map[*idleContext]struct{})
	}
	a.idles[c] = struct{}{}
	return true
}

// forget lets go of c, whose time stopped running (run).
func (a *arming) forget(c *idleContext) {
	a.mu.Lock()
	delete(a.idles, c)
	a.mu.Unlock()
}

// end ends a at now and stops the idle times running in it that would
// run out after now: those no longer hold (holdsUntil), so the server no
// longer waits on them, and they stop counting among the waits on its
// clock at once, not at their end (GET /api/wait/clock, which would
// otherwise return on a wait of a fault that is gone). Those that ran
// out by now end the session still. It takes each idle time's lock
// after its own is released (the order: idleContext.mu, then
// arming.mu).
func (a *arming) end(now time.Time) {
	a.mu.Lock()
	a.ended.Store(&now)
	idles := a.idles
	a.idles = nil
	a.mu.Unlock()
	for c := range idles {
		c.endedAt(now)
	}
}

// holdsUntil reports whether an IdleReply that fired in a, whose time
// runs out at at, still ends the wait at at: a lasts, or ended at at or
// after, too late, as a command then is (deadlineReached), so that in a
// testing/synctest bubble a ClearFaults at that instant closes the
// session every time, not by which goroutine the runtime ran first.
func (a *arming) holdsUntil(at time.Time) bool {
	e := a.ended.Load()
	return e == nil || !e.Before(at)
}

// armedFault is a fault added to a server, with its counters and state.
// Its identity is the fault's as added: AddRemovableFault's remove finds
// it by its pointer, which Reset keeps (restartFaultsLocked).
type armedFault struct {
	Fault
	fired  int
	cond   condition
	arming *arming // its arming, which its IdleReplies hold by
	gone   bool    // removed (faultScript.remove)
}

// restart arms af afresh, at now: its AtMost counter at 0, its scenario
// state new, as when it was added, and no IdleReply it fired before
// waits on any session (its arming ends).
func (af *armedFault) restart(now time.Time) {
	af.arming.end(now)
	af.arming = &arming{}
	af.fired, af.cond = 0, nil
	if af.newCond != nil {
		af.cond = af.newCond()
	}
}

// clear takes every fault out of the script, ending their armings: no
// IdleReply of a fault that fired before waits on any session, the
// fault is gone. ClearFaults and ReplaceFaults go through it.
func (sc *faultScript) clear() {
	now := sc.clock.Now()
	for _, af := range sc.faults {
		af.arming.end(now)
	}
	sc.faults, sc.random = nil, false
}

// remove takes the faults of gone that are in the script out of it (those
// ReplaceFaults or ClearFaults removed already are not), ending their
// armings, and leaves the others as they are (AddRemovableFault).
func (sc *faultScript) remove(gone []*armedFault) {
	for _, af := range gone {
		af.gone = true // one pass over the script then, not one per fault gone
	}
	now := sc.clock.Now()
	sc.faults = slices.DeleteFunc(sc.faults, func(af *armedFault) bool {
		if af.gone {
			af.arming.end(now)
		}
		return af.gone
	})
	sc.random = slices.ContainsFunc(sc.faults, func(af *armedFault) bool { return af.hasProb })
}

// restartFaultsLocked keeps the fault script, each fault where it is, but
// starts every fault afresh (armedFault.restart), for Reset. The seed
// stays. Sessions hold no armed fault, only their own sessionFaults: a
// live session meets the new state at its next event. s.mu must be held.
func (s *Server) restartFaultsLocked() {
	sc := s.faults
	if sc == nil {
		return // built from the options, afresh, on first use
	}
	now := sc.clock.Now()
	for _, af := range sc.faults {
		af.restart(now)
	}
}

// add arms f at the end of the script and returns it armed.
func (sc *faultScript) add(f Fault) *armedFault {
	af := &armedFault{Fault: f, arming: &arming{}}
	if f.newCond != nil {
		af.cond = f.newCond()
	}
	sc.faults = append(sc.faults, af)
	sc.random = sc.random || f.hasProb
	return af
}

// scriptLocked returns the fault script, built from the options on first
// use. s.mu must be held.
func (s *Server) scriptLocked() *faultScript {
	if s.faults == nil {
		sc := &faultScript{seed: s.opts.seed, clock: s.opts.clock}
		if !s.opts.seeded {
			sc.seed = rand.Int64()
		}
		for _, f := range s.opts.faults {
			sc.add(f)
		}
		s.faults = sc
	}
	return s.faults
}

// match is what selectors see of an event. Conditions run with s.mu held
// and may read srv and rec.
type match struct {
	stage   Stage
	ev      *smtpd.Event
	attempt int
	session int      // Session.ID, never reused
	senders []string // MAIL's path, or the transaction's sender
	rcpts   []string // RCPT's path, or the transaction's recipients
	txRcpts int      // recipients accepted so far in the transaction
	mails   int      // MAIL FROMs accepted so far in the session
	// now is when the event came, before any delay: the session's time
	// (smtpd.Conn.Now), from which the engine's delays count. A
	// condition compares it with the times of replies that went out
	// before (onReply).
	now     time.Time
	srv     *Server
	rec     *session
	records []record // onReply's
}

// record is what a condition keeps of an event that counts only once
// the client is told its answer: the greylisting of a pair its 451
// told, a transaction its 250 opened. It is pending from the
// consultation until the answer's reply begins to go out (unsent), or,
// paced, has gone out whole, or the session gives none, or ends first.
type record struct {
	// taken says that the record stands only if the command takes
	// effect too (see sessionFaults.track), not on any reply.
	taken bool
	// keep makes it stand, at sent: when the reply began to go out, or,
	// paced, when its last part did (unsent).
	keep func(sent time.Time)
	// drop takes it back: no reply went out (the client left, or the
	// server closed, during the delays, or before the reply was
	// written, or, paced, before the whole of it was; a fault's Drop),
	// or, if taken, the command did not take effect. May be nil.
	drop func()
}

// onReply has keep run, with s.mu held, once the reply to the event
// begins to go out, with the session's time then (a paced reply: once
// the whole of it went out, with the time its last part began to), if
// taken only when the command also takes effect; drop runs instead, if
// not nil, when no reply went out (a paced reply: not whole) or, if
// taken, the command did not take effect. A condition counts the event
// through it, at the time the client was told, and not for a client
// that was never told, or only a part.
func (m *match) onReply(taken bool, keep func(sent time.Time), drop func()) {
	m.records = append(m.records, record{taken, keep, drop})
}

// settle decides the records of plan p (match.onReply), once the
// session has given its answer: replied says that a reply is to go out,
// taken that the command took effect, paced that the reply is paced
// (Trickle, SplitReply). Those it keeps wait in sf.unsent for the reply
// to go out; the others are dropped now. It settles them once: a later
// call does nothing.
func (s *Server) settle(sf *sessionFaults, p *faultPlan, replied, taken, paced bool) {
	if len(p.records) == 0 {
		return
	}
	records := p.records
	p.records = nil
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range records {
		switch {
		case replied && (taken || !r.taken) && paced:
			sf.unsent.paced = append(sf.unsent.paced, r)
			sf.unsent.last = time.Time{}
		case replied && (taken || !r.taken):
			sf.unsent.records = append(sf.unsent.records, r)
		case r.drop != nil:
			r.drop()
		}
	}
}

// unsent holds a session's records kept for answers given (settle)
// until their replies begin to go out, and keeps them then, at the
// session's time (smtpd.Conn.Now): the engine writes its replies when it
// next waits for the client, so that the reply to a pipelined command
// waits out the delays of those after it. It is the idle.Watch of the
// session's context, through which the engine says when it writes; its
// methods run on the session's goroutine.
//
// The records of a paced reply wait until the whole of it went out: a
// client that leaves in a pause read only a part (as a paced 235 does
// not authenticate it: serve), and one that stays read it once its last
// part came. The engine answers one event at a time, the paced reply
// last before its next read: once Next returns, it went out whole,
// unless Next returned smtpd.ErrReplyCut (pacedSent).
type unsent struct {
	srv     *Server
	records []record
	paced   []record  // those of the paced reply being written
	last    time.Time // when the last write since paced came began (Replying)
}

// Waiting does nothing: the replies were written (Replying).
func (u *unsent) Waiting(time.Time) {}

// Replying keeps the records: their replies begin to go out, at now. A
// paced reply's part begins to, at now.
func (u *unsent) Replying(now time.Time) {
	u.settle(true, now)
	if len(u.paced) > 0 {
		u.last = now
	}
}

// pacedSent settles the records of a paced reply once Next returned:
// whole says that the reply went out whole (no smtpd.ErrReplyCut). They
// stand at when its last part began to go out, or else are dropped.
func (u *unsent) pacedSent(whole bool) {
	u.decide(&u.paced, whole && !u.last.IsZero(), u.last)
	u.last = time.Time{}
}

// settle keeps the records, at sent, or else drops them: their replies
// never went out (the session ended first), and those of a paced reply
// with them.
func (u *unsent) settle(keep bool, sent time.Time) {
	u.decide(&u.records, keep, sent)
	if !keep {
		u.decide(&u.paced, false, time.Time{})
	}
}

// decide keeps the records of *rs, at sent, or else drops them, and
// empties *rs.
func (u *unsent) decide(rs *[]record, keep bool, sent time.Time) {
	if len(*rs) == 0 {
		return
	}
	u.srv.mu.Lock()
	defer u.srv.mu.Unlock()
	for i, r := range *rs {
		switch {
		case keep:
			r.keep(sent)
		case r.drop != nil:
			r.drop()
		}
		(*rs)[i] = record{}
	}
	*rs = (*rs)[:0]
}

// matches reports whether the fault fires for m, drawing from rng when it
// has a probability and every other selector passed.
func (af *armedFault) matches(m *match, rng func() *rand.Rand) bool {
	f := &af.Fault
	switch {
	case f.stage != m.stage,
		// At StageConnect, TLS failures act on the implicit TLS handshake
		// (the Connect event), every other fault on the greeting.
		f.stage == StageConnect && (m.ev.Kind == smtpd.Connect) != (f.act.tlsConfig != nil),
		len(f.attempts) > 0 && !slices.Contains(f.attempts, m.attempt),
		len(f.senders) > 0 && !anyMatch(f.senders, m.senders),
		len(f.rcpts) > 0 && !anyMatch(f.rcpts, m.rcpts),
		f.times > 0 && af.fired >= f.times,
		f.hasProb && rng().Float64() >= f.prob,
		af.cond != nil && !af.cond(m):
		return false
	}
	return true
}

func anyMatch(patterns, addrs []string) bool {
	for _, a := range addrs {
		a = strings.ToLower(a)
		for _, p := range patterns {
			if matchAddress(p, a) {
				return true
			}
		}
	}
	return false
}

// sessionFaults is one session's side of the fault script, owned by the
// session's goroutine.
type sessionFaults struct {
	// ctx is the server's, naming the session (clock.WithSession): the
	// context of its reads and waits, whose waits on the clock are the
	// session's, and whose idle.Watch is unsent.
	ctx     context.Context
	unsent  *unsent // the records of answers whose replies are yet to go out
	attempt int
	session int        // Session.ID
	seed    uint64     // the script's, for rng
	rng     *rand.Rand // made by random, for the first fault with a probability
	inTx    bool
	sender  string
	rcpts   []string
	mails   int        // MAIL FROMs accepted
	idle    *idleReply // armed for the next read, by the answer to the last event (setIdle)
	idleBy  string     // where the fault that set idle was declared
	// idleOf is the arming of the fault that set idle, when it fired:
	// the idle wait holds while it lasts (arming.holdsUntil).
	idleOf *arming
	// idleLeft is what is left of idle's time: all of it, but after
	// BDAT LAST, whose chunk used some, for the wait that goes on after
	// the reply to its Message event (see setIdle).
	idleLeft time.Duration
	// bdatReply says that the answer to BDAT LAST gave a reply, which
	// the engine makes the default reply of the Message event that
	// follows: a fault's, which the persona does not reword.
	bdatReply bool
	// bdatThen is the ending the answer to BDAT LAST gave: the engine
	// carries it out after the reply to the Message event that follows
	// when that answer gives none, a 421's included (smtpd's lastBdat);
	// the note of a fault at StageMessage says so (describe).
	bdatThen smtpd.Disposition
	// pacedAuth is, while the 235 to accepted credentials goes out paced
	// (Trickle, SplitReply), that reply as authRefused says one: a client
	// that leaves before the whole of it went out (smtpd.ErrReplyCut)
	// read a part of it, no 235 (see serve). "" otherwise.
	pacedAuth string
}

// errIdleClosed ends a session closed by a fault's IdleReply.
var errIdleClosed = errors.New("mocksmtp: closed an idle session (fault)")

// newSessionFaultsLocked returns the fault script's state for the
// session rec, just registered. s.mu must be held.
func (s *Server) newSessionFaultsLocked(rec *session) *sessionFaults {
	u := &unsent{srv: s}
	return &sessionFaults{ctx: idle.With(clock.WithSession(s.ctx, rec.id), u), unsent: u, attempt: rec.attempt, session: rec.id, seed: uint64(s.scriptLocked().seed)}
}

// random returns the session's source of chance, seeded by the script's
// seed and the attempt.
func (sf *sessionFaults) random() *rand.Rand {
	if sf.rng == nil {
		sf.rng = rand.New(rand.NewPCG(sf.seed, uint64(sf.attempt)))
	}
	return sf.rng
}

// faultPlan is what the faults that fired for one event do.
type faultPlan struct {
	act     action        // composed (compose.go): delays summed, the reply from the fault that answers, each modifier from the decider's own, else from the first that has it
	notes   []string      // one per fired fault
	seed    string        // a note naming the seed, at the greeting
	idleBy  string        // where the fault whose IdleReply applies was declared
	idleOf  *arming       // the arming of that fault when it fired
	records []record      // the conditions' records to keep or drop (settle)
	fired   []firing      // the faults that fired, in order
	by      [numParts]int // the index in fired of the fault each part of act comes from
	// gaveWay is, for each part that the fault that decides gave of its
	// own over that of a fault before it, 1 + the index in fired of that
	// fault (fireLocked); 0 for none. settleParts notes it.
	gaveWay [numParts]int
}

// planFaults consults the fault script for ev, which c serves.
func (s *Server) planFaults(rec *session, sf *sessionFaults, c *smtpd.Conn, ev *smtpd.Event) faultPlan {
	var p faultPlan
	if ev.Err != nil || !s.armed.Load() {
		return p // without faults, an event takes no lock
	}
	stages := stagesOf(ev.Kind)
	if len(stages) == 0 {
		return p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sc := s.scriptLocked()
	if len(sc.faults) == 0 {
		return p
	}
	if (ev.Kind == smtpd.Greeting && !s.opts.engine.ImplicitTLS || ev.Kind == smtpd.Connect) && sc.random {
		p.seed = fmt.Sprintf("faults: random seed %d (mocksmtp.WithSeed(%d) replays this run)", sc.seed, sc.seed)
	}
	m := match{ev: ev, attempt: sf.attempt, session: sf.session, now: c.Now(), srv: s, rec: rec, txRcpts: len(sf.rcpts), mails: sf.mails}
	switch ev.Kind {
	case smtpd.Mail:
		m.senders = []string{ev.Path}
	case smtpd.Rcpt:
		m.senders, m.rcpts = sf.txSender(), []string{ev.Path}
	case smtpd.Data, smtpd.Bdat:
		m.senders, m.rcpts = sf.txSender(), sf.rcpts
	case smtpd.Message:
		m.senders, m.rcpts = []string{ev.Envelope.From}, ev.Envelope.To
	}
	// The faults of each stage in script order: each that matches fires;
	// one that does not answer (action.answers: it only waits or
	// modifies) joins its delay and modifiers to the answer and the
	// consultation goes on, to the stage's later faults and then the
	// next stage's; the first that answers decides, and ends it. One that
	// would add nothing (action.adds) is passed over (compose.go).
consult:
	for _, st := range stages {
		m.stage = st
		for _, af := range sc.faults {
			if af.stage != st || !af.act.answers() && !af.act.adds(&p.act) || !af.matches(&m, sf.random) {
				continue
			}
			p.fireLocked(af, st)
			if af.act.answers() {
				break consult
			}
		}
	}
	bdatThen := smtpd.KeepOpen // what follows the reply when the answer has no ending (smtpd's lastBdat)
	if ev.Kind == smtpd.Message {
		bdatThen = sf.bdatThen
	}
	p.settleParts(ev, bdatThen)
	s.noteLocked(rec, sf, &p, bdatThen)
	p.records = m.records
	return p
}

func (sf *sessionFaults) txSender() []string {
	if !sf.inTx {
		return nil
	}
	return []string{sf.sender}
}

// track follows the transaction as the engine will see it after ans, so
// selectors at later stages know its sender and recipients. It reports
// whether the command takes effect.
func (sf *sessionFaults) track(ev *smtpd.Event, ans smtpd.Answer) bool {
	takes := ans.Then == smtpd.KeepOpen && engineTakes(ev, ans)
	sf.bdatReply = ev.Kind == smtpd.Bdat && ev.Last && ans.Reply != nil && ans.Raw == nil && !ans.NoReply
	sf.bdatThen = smtpd.KeepOpen
	if ev.Kind == smtpd.Bdat && ev.Last {
		sf.bdatThen = ans.Then
	}
	switch ev.Kind {
	case smtpd.Helo, smtpd.Ehlo, smtpd.Rset:
		if takes {
			sf.inTx, sf.sender, sf.rcpts = false, "", nil
		}
	case smtpd.Message, smtpd.Handshake:
		sf.inTx, sf.sender, sf.rcpts = false, "", nil
	case smtpd.Mail:
		if takes {
			sf.inTx, sf.sender, sf.rcpts = true, ev.Path, nil
			sf.mails++
		}
	case smtpd.Rcpt:
		if takes {
			sf.rcpts = append(sf.rcpts, ev.Path)
		}
	case smtpd.Bdat:
		if !takes {
			sf.inTx, sf.sender, sf.rcpts = false, "", nil
		}
	}
	return takes
}

// ehloReply returns the fault's positive reply r to EHLO (one line, see
// Fault.problem) followed by the extension lines of base, the reply the
// server would give: the engine's, or the persona's wording of it. An
// enhanced status code r was given with stays on its line, not on the
// extensions'.
func ehloReply(r, base smtpd.Reply) smtpd.Reply {
	first := ""
	if len(r.Lines) > 0 {
		first = r.Lines[0]
	}
	if r.Status != "" {
		first = strings.TrimSuffix(r.Status+" "+first, " ")
	}
	lines := []string{first}
	if len(base.Lines) > 1 {
		lines = append(lines, base.Lines[1:]...)
	}
	return smtpd.Reply{Code: r.Code, Lines: lines}
}

// engineTakes reports whether the engine carries out event ev under ans,
// as smtpd.Conn decides it: the command was valid and the reply is
// positive (a fault's own; the engine's default under raw bytes or
// silence), whatever follows the reply; for STARTTLS, the reply is one
// that tells the client to begin the handshake (see smtpd.Answer.Raw).
func engineTakes(ev *smtpd.Event, ans smtpd.Answer) bool {
	switch {
	case ev.Kind == smtpd.StartTLS && !startsTLS(ans):
		return false
	case ans.Reply != nil && ans.Raw == nil && !ans.NoReply:
		return ev.Err == nil && ans.Reply.Positive()
	}
	return ev.Err == nil && ev.Reply.Positive()
}

// startsTLS reports whether ans, the answer to STARTTLS, tells the client
// to begin the handshake, as the engine decides it: a 220 (raw bytes
// whose last line is a complete 220), or no reply at all, where the
// engine's verdict stands.
func startsTLS(ans smtpd.Answer) bool {
	switch {
	case ans.NoReply:
		return true
	case ans.Raw != nil:
		return rawreply.StartsTLS(ans.Raw)
	}
	return ans.Reply == nil || ans.Reply.Code == 220
}

// accepts reports whether ans tells the client that the message of event
// ev was accepted: a 2xx reply (raw bytes starting with "2").
func accepts(ev *smtpd.Event, ans smtpd.Answer) bool {
	switch {
	case ans.NoReply:
		return false
	case ans.Raw != nil:
		return rawreply.Accepts(ans.Raw)
	case ans.Reply != nil:
		return ans.Reply.Code >= 200 && ans.Reply.Code < 300
	}
	return ev.Reply.Code >= 200 && ev.Reply.Code < 300
}

// deadlineReached reports whether ctx has a deadline and the clock has
// reached it, even if its timer has not run yet: what comes as a time
// runs out is too late (the waits' await, an idle fault's context of
// nextContext), in a synctest bubble every time, not by which goroutine
// of that instant the runtime ran first. The clock is the one ctx
// carries (an idle fault's: the server's), else the time package's.
func deadlineReached(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && !clock.From(ctx).Now().Before(dl)
}

// nextContext returns the context for the session's next read: the
// session's (sessionFaults.ctx), or an idleContext, which ends once the server has waited for
// the client for the rest of an idle fault's time, unless the fault's
// arming ended since it fired (it was cleared, removed or restarted).
func (s *Server) nextContext(sf *sessionFaults) (context.Context, *idleContext) {
	if sf.idle == nil {
		return sf.ctx, nil
	}
	if sf.idleOf.ended.Load() != nil {
		// Cleared, removed or restarted since it fired, before its time
		// ran out (or the session would have closed): the wait is gone.
		sf.idle, sf.idleBy, sf.idleOf, sf.idleLeft = nil, "", nil, 0
		return sf.ctx, nil
	}
	ic := newIdleContext(sf.ctx, sf.idle, sf.idleLeft, sf.idleOf)
	return ic, ic
}

// idleContext is the context of a read that an IdleReply waits on. Its
// time, left, runs only while the server waits for the client: the
// engine says when it does and when it writes instead (internal/idle),
// so that a paced reply, and the server's work before it, are not the
// client's silence. It ends, as one of context.WithDeadline does, once
// the server has waited left in all, while the fault's arming holds for
// that instant (arming.holdsUntil); once it does not (ClearFaults or
// ReplaceFaults cleared the script, Reset restarted the fault, or
// AddRemovableFault's remove removed it), it has no deadline and
// does not end at it, so the read goes on, as it would have without the
// fault, and its timer is stopped (arming.end): no wait on the clock. A
// read cannot be interrupted and resumed (smtpd.Conn.Next), so the
// deadline is dropped rather than the read cut short.
type idleContext struct {
	// The parent's, cancelled when its time runs out with the cause
	// context.DeadlineExceeded, or by stop, or the parent: the first of
	// them is its cause for good, as its Err is. It carries the
	// idleContext to the engine (idle.With).
	context.Context
	idle   *idleReply
	clk    *clock.Clock // the parent's: the server's
	of     *arming      // the fault's arming when it fired: the time holds while it lasts
	cancel context.CancelCauseFunc
	// next is the parent's idle.Watch (the session's unsent), which it
	// hides from the engine: told what it is told, before it takes mu
	// (unsent takes Server.mu, which arming.end holds as it takes mu).
	next idle.Watch

	mu    sync.Mutex    // guards the fields below: Deadline may be asked from anywhere
	left  time.Duration // the time not used yet, when at is zero
	at    time.Time     // when it runs out, while the server waits for the client; else zero
	timer *clock.Timer  // ends it at at
	// wrote is when the server began its last write, since the time
	// last stopped: the time runs again from there (Waiting).
	wrote  time.Time
	closed bool // stop was called: Waiting starts nothing more
}

func newIdleContext(parent context.Context, r *idleReply, left time.Duration, of *arming) *idleContext {
	inner, cancel := context.WithCancelCause(parent)
	c := &idleContext{idle: r, clk: clock.From(parent), of: of, cancel: cancel, left: left, next: idle.From(parent)}
	c.Context = idle.With(inner, c)
	return c
}

// Waiting starts the time running, at the first blocking read after the
// server's reply (see internal/idle): from when the server began the
// last write of that reply (its last part, if paced), which is when it
// finished writing it but for the time the write itself took, no
// time at all in a synctest bubble; without a write (at BDAT, whose
// reply follows the chunk), from now. Both are on the session's time
// that the engine gives: on a clock a test moves, a move since the
// command was read that no wait of the server used (a fault's delay, a
// paced reply's pauses) counts, so that a suite that moves the clock
// once it sees the fault's note or the reply has it moved after the
// time began. A time whose fault's arming ended (clear, remove, restart) does not run
// (arming.run).
func (c *idleContext) Waiting(now time.Time) {
	if c.next != nil {
		c.next.Waiting(now)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() || c.closed {
		return
	}
	from := c.wrote
	if from.IsZero() {
		from = now
	}
	at := from.Add(c.left)
	if !c.of.run(c, at) {
		return
	}
	c.at, c.wrote = at, time.Time{}
	c.timer = c.clk.AfterFunc(clock.LabelFor(c.Context, clock.IdleReply), at, func() {
		if c.of.holdsUntil(at) {
			c.cancel(context.DeadlineExceeded)
		}
	})
}

// endedAt stops the time, if it runs and would run out after now, when
// the fault's arming ended at now (arming.end): it no longer holds, and
// the server no longer waits on it.
func (c *idleContext) endedAt(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() || !now.Before(c.at) {
		return // not running, or ran out by now: it holds, and its timer ends it
	}
	c.timer.Stop()
	c.left, c.at = c.at.Sub(now), time.Time{}
}

// Replying stops the time while the server writes, keeping what is
// left, and notes when the write began (now, the session's time); once
// the time has run out it stays out: what the client sent then came too
// late (deadlineReached).
func (c *idleContext) Replying(now time.Time) {
	if c.next != nil {
		c.next.Replying(now)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if !c.at.IsZero() {
		if !now.Before(c.at) {
			return
		}
		c.timer.Stop()
		c.of.forget(c)
		c.left, c.at = c.at.Sub(now), time.Time{}
	}
	c.wrote = now
}

// stop ends the context and returns the time not used, for the read
// that goes on after the reply to BDAT LAST (setIdle).
func (c *idleContext) stop() time.Duration {
	c.mu.Lock()
	c.closed = true
	left := c.left
	if !c.at.IsZero() {
		c.timer.Stop()
		c.of.forget(c)
		left = max(0, c.at.Sub(c.clk.Now()))
	}
	c.mu.Unlock()
	c.cancel(context.Canceled)
	return left
}

// Deadline returns when the time runs out, while the server waits for
// the client and the wait holds, else the parent's deadline.
func (c *idleContext) Deadline() (time.Time, bool) {
	c.mu.Lock()
	at := c.at
	c.mu.Unlock()
	if !at.IsZero() && c.of.holdsUntil(at) {
		return at, true
	}
	return c.Context.Deadline()
}

// Err returns context.DeadlineExceeded when the time running out ended
// the context, and not when the parent or stop did first.
func (c *idleContext) Err() error {
	err := c.Context.Err()
	if err != nil && context.Cause(c.Context) == context.DeadlineExceeded {
		return context.DeadlineExceeded
	}
	return err
}

// setIdle arms the idle fault of ev's answer, if any, for the next read;
// handle calls it for every event. The Message event of BDAT LAST answers
// the BDAT, whose reply is its own: an idle fault armed at StageBdat,
// whose time ran while the chunk came, goes on after it with what is
// left of it (left, what the read of the chunk did not use), unless a
// fault at StageMessage arms its own.
func (sf *sessionFaults) setIdle(ev *smtpd.Event, p *faultPlan) {
	if p.act.idle == nil && ev.Kind == smtpd.Message && ev.Envelope.Chunked {
		return // the BDAT's, if any: idle, idleBy, idleOf and idleLeft unchanged
	}
	sf.idle, sf.idleBy, sf.idleOf, sf.idleLeft = p.act.idle, p.idleBy, p.idleOf, 0
	if sf.idle != nil {
		sf.idleLeft = sf.idle.after
	}
}
