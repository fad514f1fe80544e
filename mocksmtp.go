package mocksmtp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp/internal/angle"
	"github.com/mocksmtp/mocksmtp/internal/clock"
	"github.com/mocksmtp/mocksmtp/internal/enhanced"
	"github.com/mocksmtp/mocksmtp/internal/faultset"
	"github.com/mocksmtp/mocksmtp/smtpd"
)

// Server is an SMTP server for tests. It records every session and every
// message it accepts. Its methods are safe for concurrent use.
type Server struct {
	opts   options
	ln     net.Listener
	addr   string          // ln's address, for Addr
	ctx    context.Context // ends every session when Close cancels it
	cancel context.CancelFunc
	wg     sync.WaitGroup // the accept loop and the sessions
	done   chan struct{}  // closed when the first Close returns

	// mu guards everything below but changes; the sessions' own records
	// have locks of their own (recorder.go), taken after mu.
	mu       sync.Mutex
	sessions []*session
	messages []msgRef    // every accepted message, in arrival order
	ids      counters    // numbering of sessions and messages (store.go)
	live     int         // sessions that have not ended
	awaited  map[int]int // by session ID, the WaitForSessionEnd calls waiting for it: WithRetention keeps it until they have it
	closed   bool
	panics   []string     // panics recovered in sessions, reported at cleanup
	faults   *faultScript // the fault script, built on first use (scriptLocked)
	exp      expectState  // expectations, waits on a Want, inboxes (expect.go)
	// acceptFails are the failures of Accept since the last connection it
	// gave (acceptLoop); the next session's transcript notes them.
	acceptFails acceptFailures

	changes notifier // wakes waiters after every change recorded (recorder.go)
	// kept is what the kept messages share (store.go).
	kept keptBy
	// texts interns the texts of wire lines, which repeat from session
	// to session, that the process's table (sharedTexts) has no room for
	// (recorder.go).
	texts interner
	// seq numbers the findings, and the places of messages' content
	// findings, in the order they are recorded, across sessions
	// (findings.go).
	seq atomic.Uint64
	// armed tells whether the fault script has faults, so that events
	// skip its lock when it has none; stored under mu (script.go).
	armed atomic.Bool

	calls callbacks // the user callbacks sessions run now, for Close (close.go)
	// unwatchClock stops the notes of the moves of the program's clock
	// (clockMoved), and the changes of its waits (changeClock); nil
	// without that clock.
	unwatchClock func()
}

// acceptFailures counts the failures of Accept in a row.
type acceptFailures struct {
	n     int
	since time.Time
	first error
}

// String describes the failures for a transcript note or a report.
func (f acceptFailures) String() string {
	return fmt.Sprintf("the server could not accept connections for %v (%d failures, the first: %v); it backed off and retried",
		time.Since(f.since).Round(time.Millisecond), f.n, f.first)
}

// msgRef is a message the server keeps and its session's record.
type msgRef struct {
	rec *session
	k   *kept
}

// ErrClosed is returned by waits on a server that was closed. (Sessions
// live when it closed end with [EndShutdown], and a nil Session.Err.)
var ErrClosed = errors.New("mocksmtp: server closed")

// New starts a server listening on 127.0.0.1 with a random port (see
// [WithListenAddr] and [WithInMemory]) and returns it. The caller must Close it. Use [Start]
// in tests. A nil Option is an error, not a panic.
func New(opts ...Option) (*Server, error) {
	o := defaultOptions()
	for i, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("mocksmtp: option %d of %d is nil", i+1, len(opts))
		}
	}
	// WithEngineConfig gives the base that the other options change,
	// whatever their order: it applies first.
	for _, opt := range opts {
		if _, base := opt.(engineConfig); base {
			if err := opt.apply(&o); err != nil { // line limits past the engine's
				return nil, err
			}
		}
	}
	var takers []faultset.Carrier[Fault]
	for _, opt := range opts {
		if _, base := opt.(engineConfig); base {
			continue
		}
		if c, ok := opt.(faultset.Carrier[Fault]); ok {
			// The program's way to remove its faults one by one (no
			// exported option: see Server.AddRemovableFault).
			takers = append(takers, c)
			continue
		}
		if c, ok := opt.(clock.Carrier); ok {
			// The program's clock, which its suite moves (no exported
			// option: a Go test has testing/synctest).
			o.clock = c.FaultClock()
			continue
		}
		if err := opt.apply(&o); err != nil {
			return nil, err
		}
	}
	if err := o.auth.install(&o); err != nil {
		return nil, err
	}
	for _, f := range o.faults {
		if err := o.checkFault(f); err != nil {
			return nil, err
		}
	}
	ln, err := o.listen() // memory.go
	if err != nil {
		return nil, err
	}
	// The context carries the clock to the engine's waits (a delay, a
	// paced reply), which read it there.
	ctx, cancel := context.WithCancel(clock.With(context.Background(), o.clock))
	s := &Server{opts: o, ln: ln, addr: ln.Addr().String(), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	s.kept.conf = &s.opts.conformance
	s.armed.Store(len(o.faults) > 0)
	if o.clock != nil {
		unmoved := o.clock.OnAdvance(s.clockMoved)
		unwaits := o.clock.OnWaits(func() { s.changes.changed(changeClock) })
		s.unwatchClock = func() { unmoved(); unwaits() }
	}
	for _, c := range takers {
		c.TakeFaultChange(s.changeFaults, s.optionFaultRemoves())
	}
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// Start starts a server for the test t: [New] with t.Fatal on error, and
// [Server.Close] at cleanup, which then checks the expectations registered
// on t ([Server.Expect]), so that every session has ended. If the test
// failed, cleanup logs every session's transcript (see
// [WithoutTranscriptLog]). What fails at cleanup is reported at the line
// that called Start, and its text names that line too:
// "mocksmtp: Start at signup_test.go:12: ...".
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := New(opts...)
	if err != nil {
		t.Fatalf("%v", err) // New's errors say "mocksmtp: " and the option
	}
	s.exp.t, s.exp.started = t, declaredAt(1)
	t.Cleanup(func() {
		// The cleanup and Start are helpers: the testing package reports
		// what fails here at the line that called Start (in a synctest
		// bubble, rt does: cleanup.go).
		t.Helper()
		rt := reportsAt(t, s.exp.started)
		s.Close()
		s.checkExpectations(t, rt)
		s.checkFindings(rt)
		s.mu.Lock()
		panics := append([]string(nil), s.panics...)
		s.mu.Unlock()
		for _, p := range panics {
			rt.Errorf("mocksmtp: Start at %s: a session panicked (a bug in mocksmtp, please report it): %s", s.exp.started, p)
		}
		if t.Failed() && s.opts.logTranscripts {
			rt.Log(s.report())
		}
	})
	return s
}

// report returns every session, numbered, for a failing test's log. It
// copies transcripts, never messages.
func (s *Server) report() string {
	s.mu.Lock()
	recs, nmsgs, fails := slices.Clone(s.sessions), len(s.messages), s.acceptFails
	s.mu.Unlock()
	var b strings.Builder
	end := ":"
	if len(recs) == 0 {
		end = "."
	}
	fmt.Fprintf(&b, "mocksmtp: Start at %s: the test failed; the server %s had %s, %s%s\n",
		s.exp.started, s.place(), plural(len(recs), "session"), plural(nmsgs, "message"), end)
	if fails.n > 0 {
		b.WriteString("at the end, " + fails.String() + "\n")
	}
	for _, r := range recs {
		b.WriteString(r.transcriptHead().String())
	}
	return b.String()
}

// Addr returns the address the server listens on, "127.0.0.1:port"
// ("127.0.0.1:1" in memory: see [WithInMemory]).
func (s *Server) Addr() string { return s.addr }

// Host returns the listening IP address as a string.
func (s *Server) Host() string {
	h, _, _ := net.SplitHostPort(s.Addr())
	return h
}

// Port returns the listening port.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr())
	n, _ := strconv.Atoi(p)
	return n
}

// Close stops accepting, ends every live session (a live client gets
// 421 4.3.2), and returns once every goroutine of the server has ended. It
// is safe to call more than once.
//
// A session in a callback of [WithOnMessage] or [WithOnSessionEnd] (or a
// check of [WithAuthFunc]) ends when the callback returns. When Close has
// waited 5 s for sessions, it logs which ones and where each is, once, as
// net/http/httptest does: to the test's log for a server of [Start], with
// the standard library's log package for a server of [New].
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.done // as the first Close: after its log, if any
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	defer close(s.done)
	if s.unwatchClock != nil {
		s.unwatchClock()
	}
	s.changes.changed(changeSession)
	err := s.ln.Close()
	s.cancel()
	s.waitSessions() // close.go
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// acceptLoop accepts a connection and serves it: a fresh goroutine
// accepts the next one while this one serves, so that a session starts on
// the goroutine that accepted it, whose stack was grown (growStack) while
// it waited for the client, not on the path of the greeting. It returns
// when the session it accepted ends or, having accepted none, when the
// server closes. A failure of Accept other than the listener's closing
// (too many open files, most likely) is waited out, as net/http does:
// 5 ms, doubling up to 1 s, then retried; the next session's transcript
// notes it.
func (s *Server) acceptLoop() {
	defer s.wg.Done()
	growStack()
	var delay time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.ctx.Err() != nil {
				return
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.mu.Lock()
			if s.acceptFails.n == 0 {
				s.acceptFails = acceptFailures{since: time.Now(), first: err}
			}
			s.acceptFails.n++
			s.mu.Unlock()
			s.changes.changed(changeSession)
			t := time.NewTimer(delay)
			select {
			case <-s.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		s.wg.Add(1)
		go s.acceptLoop()
		s.serve(nc)
		return
	}
}

// serve runs the driver loop of one session, on the goroutine of the
// acceptLoop that accepted nc.
func (s *Server) serve(nc net.Conn) {
	growStack() // again, in case a collection shrank the stack meanwhile
	rec, sf := s.newSession(nc)
	cfg := s.opts.engine
	// last is what the session's end reads of what the engine traced
	// (endConformanceLocked). read is the transcript line of the last
	// input (a command, an AUTH response, a note of message data): the
	// line a finding of the session's end names, as one of an event
	// does, not what the server wrote after it (a challenge, its 500 to
	// a line past 1 MiB, an idle fault's 421): an AUTH exchange left
	// unfinished, its last response or AUTH command; a line past 1 MiB,
	// that line. (One struct: one allocation.)
	var last lastTraced
	cfg.Trace = func(t smtpd.Trace) {
		n := s.trace(rec, t)
		switch t.Kind {
		case smtpd.TraceReply:
			last.said421 = said421(t.Text)
			return
		case smtpd.TraceCommand:
			last.sentQuit = t.Masked == "" && isQuit(t.Text)
		}
		last.read = n
	}
	var c *smtpd.Conn
	// exchange is the AUTH exchange that began and has no Auth event yet:
	// one the client abandoned (it closed the connection after an error
	// challenge, as curl does) or the engine ended (a response past 1 MiB)
	// is recorded as failed when the session ends, and, without TLS, as
	// an auth-plaintext finding saying what crossed.
	var exchange identified
	if s.opts.auth.active() {
		// SCRAM's channel binding needs the connection's TLS state; the
		// engine calls NewSASL from Next, on this goroutine, once c is set.
		cfg.NewSASL = func(m string) (smtpd.SASLServer, error) {
			srv, err := s.opts.auth.newSASL(m, c.TLS())
			exchange, _ = srv.(identified)
			return srv, err
		}
	}
	c = smtpd.NewConn(nc, cfg)
	var err error
	defer func() {
		if p := recover(); p != nil {
			_ = c.Close(&smtpd.Reply{Code: 421, Status: "4.3.0", Lines: []string{"Internal error, closing connection"}})
			s.mu.Lock()
			s.panics = append(s.panics, fmt.Sprint(p))
			s.mu.Unlock()
			err = fmt.Errorf("mocksmtp: panic: %v", p)
		}
		if exchange != nil {
			info := exchange.authInfo()
			rec.mu.Lock()
			d := rec.stateLocked()
			d.auth = &info
			rec.setStateLocked(d)
			if c.TLS() == nil && !s.opts.conformance.off[RuleAuthPlaintext] {
				// What crossed in clear text is a finding all the same: a
				// response past 1 MiB (the session's ErrLineTooLong, its
				// only read then) crossed too.
				f := checkUnfinishedAuth(exchange, info.Mechanism, errors.Is(err, smtpd.ErrLineTooLong))
				f.Session, f.Line = rec.id, last.read
				s.addFindingsLocked(rec, []Finding{f})
			}
			rec.mu.Unlock()
		}
		// Replies never written told the client nothing.
		sf.unsent.settle(false, time.Time{})
		s.endSession(rec, err, last)
	}()
	for {
		ctx, ic := s.nextContext(sf)
		var idle *idleReply
		var ev *smtpd.Event
		ev, err = c.Next(ctx)
		// A paced reply went out whole unless the client left in it.
		sf.unsent.pacedSent(!errors.Is(err, smtpd.ErrReplyCut))
		if sf.pacedAuth != "" {
			if errors.Is(err, smtpd.ErrReplyCut) {
				// The client left in the middle of the 235.
				s.authRefused(rec, "part of "+sf.pacedAuth)
			}
			sf.pacedAuth = ""
		}
		if ic != nil {
			idle, sf.idleLeft = ic.idle, ic.stop()
		}
		if err == nil && idle != nil && deadlineReached(ctx) {
			// The command came as the idle time ran out: too late, as
			// one at the read timeout is (memnet's deadlines), whichever
			// of the two the runtime ran first in a synctest bubble.
			err = context.DeadlineExceeded
		}
		if err == nil {
			if ev.Kind == smtpd.Auth {
				exchange = nil // the event records it
			}
			err = s.handle(rec, sf, c, ev)
		}
		switch {
		case err == nil:
			continue
		case s.ctx.Err() != nil && (errors.Is(err, s.ctx.Err()) || errors.Is(err, ErrClosed)):
			r := shuttingDown()
			_ = c.Close(&r)
			err = ErrClosed
		case idle != nil && errors.Is(err, context.DeadlineExceeded) && errors.Is(err, smtpd.ErrTLSHandshake):
			// It ran out in the TLS handshake after STARTTLS's 220: no
			// reply may go in the middle of it, and the engine closed the
			// connection.
			s.note(rec, "fault %s: idle for %v in the TLS handshake → disconnect, no reply (%s cannot go mid-handshake)", sf.idleBy, idle.after, idle.reply.String())
			err = errIdleClosed
		case idle != nil && errors.Is(err, context.DeadlineExceeded):
			// An idle fault's time ran out: Next left the connection open
			// for this unsolicited reply.
			s.note(rec, "fault %s: idle for %v → %s, disconnect", sf.idleBy, idle.after, idle.reply.String())
			_ = c.Close(&idle.reply)
			err = errIdleClosed
		}
		return
	}
}

// growStack grows a session's stack, while it is still shallow and before
// its client connects (acceptLoop), to what the session's deepest calls
// take. A goroutine starts with a small stack that doubles when a call
// needs more, copying every frame on it; left to itself, a session's
// stack would double two or three times during Accept and its first
// replies, each time deeper, on the path of the reply the client waits
// for. (CockroachDB does the same for the same reason.) A garbage
// collection halves the stack of a goroutine that uses little of it, as
// an acceptor waiting long for its client does: serve calls it again,
// which costs nothing more than its frame when the stack is still grown.
//
//go:noinline
func growStack() {
	var b [3 << 10]byte
	keepFrame(b[:])
}

// keepFrame keeps growStack's frame from being optimized away.
//
//go:noinline
func keepFrame([]byte) {}

// handle decides the answer to one event: the fault script first, then
// recording (an accepted message is recorded before its 250 goes out, and
// only when the answer is 2xx), then a fault's delay. It returns
// ErrClosed when the server closed during the delay, and the engine's
// error when the client left during it: one wrapping smtpd.ErrClientGone,
// or io.EOF after its QUIT.
func (s *Server) handle(rec *session, sf *sessionFaults, c *smtpd.Conn, ev *smtpd.Event) error {
	s.observe(rec, c, ev)
	p := s.planFaults(rec, sf, c, ev)
	if len(p.records) > 0 {
		// A panic before the answer (serve answers 421) told the
		// client nothing: what the conditions counted is dropped.
		defer s.settle(sf, &p, false, false, false)
	}
	// The event's own line (its command, its message data), taken
	// before the notes of the faults that fired at it follow it: the
	// line its findings name. Without notes, conform takes it.
	eventLine := 0
	if p.seed != "" || len(p.notes) > 0 {
		rec.mu.Lock()
		eventLine = rec.nlines()
		rec.mu.Unlock()
	}
	if p.seed != "" {
		s.note(rec, "%s", p.seed)
	}
	for _, n := range p.notes {
		s.note(rec, "fault %s", n)
	}
	var m *Message
	parsed := false
	if ev.Kind == smtpd.Message && ev.Err == nil {
		m = s.newMessage(ev)
		// DKIM is verified on arrival, from Raw: the transcript notes
		// its results before the 250, and a strict MTA refuses a failing
		// signature. A message without a signature costs a scan of its
		// header (dkim.go).
		verifyDKIM(m, s.opts.dkimKeys)
		verifyARC(m, s.opts.dkimKeys) // ARC keys are DKIM keys (arc.go)
		if s.opts.conformance.reject {
			// A strict MTA refuses a nonconforming message before its
			// 250: its content is checked now. Otherwise it is parsed
			// when first read (see kept).
			parseMIME(m)
			parsed = true
		}
	}
	fs, line := s.conform(rec, c, ev, m, parsed, eventLine)
	ans := p.act.answer()
	if p.act.tlsConfig != nil {
		cfg, err := p.act.tlsConfig(s.opts.engine.TLSConfig)
		if err != nil {
			s.note(rec, "fault: no TLS configuration: %v", err)
			ans = smtpd.Answer{Reply: &smtpd.Reply{Code: 454, Status: "4.7.0", Lines: []string{"TLS not available due to temporary reason"}}}
			if ev.Kind == smtpd.Connect { // before the implicit TLS handshake: no reply, close
				ans = smtpd.Answer{Then: smtpd.CloseConn}
			}
		}
		ans.TLSConfig = cfg
	}
	// The answer's reply: a fault's own, else a strict MTA's rejection
	// (WithRejectNonconforming; not over the engine's refusal for want of
	// TLS), else the persona's wording of the
	// engine's reply, else the engine's. For BDAT LAST's message, the
	// engine's is the reply of a fault at StageBdat, if any: a fault's
	// own, which neither the rejection nor the persona replaces. A fault
	// without a reply of its own (a Delay, a Disconnect) leaves the reply
	// the server's: the rejection, as over BDAT with a fault at
	// StageBdat.
	faultReply, nonconforming := ev.Kind == smtpd.Message && sf.bdatReply, false
	worded := false // the reply is the persona's wording of the engine's
	if r := ans.Reply; r != nil && ev.Kind == smtpd.Ehlo && ev.Err == nil && r.Positive() && ans.Raw == nil && !ans.NoReply {
		// A fault's 250 to EHLO is its first line: the extensions the
		// engine serves (as the persona words them) follow, so that the
		// client is offered what the server does, and the findings
		// judge the client by (conform's offered).
		base := ev.Reply
		if pr, ok := s.personaReply(c, ev, queueKey{rec.id, sf.mails}, s.now); ok {
			base = pr
		}
		merged := ehloReply(*r, base)
		ans.Reply = &merged
	}
	if ans.Reply == nil && ans.Raw == nil && !ans.NoReply && !faultReply {
		// Each reply is copied where it is taken: a pointer to a variable
		// of a condition would put it on the heap for every event.
		// The engine's refusal of a command before TLS that TLS
		// requires (530, 538) stands: a strict MTA that requires TLS
		// answers so before any other check, and the client learns what
		// it must do.
		if r, bad := rejection(fs); bad && s.opts.conformance.reject && ev.Reason != smtpd.ReasonTLSRequired {
			s.note(rec, "nonconforming: %s", r.String())
			if what := p.act.needsTaken(ev); what != "" {
				// The refusal stands (a strict MTA refuses a pipelined
				// STARTTLS: RFC 3207 4), and what the fault does after
				// the command is not done: the note says so, not only
				// that it fired.
				s.note(rec, "fault not done: %s follows a positive reply, and the command was refused as nonconforming", what)
			}
			taken := r
			ans.Reply = &taken
			nonconforming = true
		} else if r, ok := s.personaReply(c, ev, queueKey{rec.id, sf.mails}, s.now); ok {
			taken := r
			ans.Reply = &taken
			worded = true
		}
	}
	if ev.Kind == smtpd.StartTLS {
		rec.startTLSAnswered(ev, ans, nonconforming) // recorder.go
	}
	switch {
	case m != nil && accepts(ev, ans):
		m.Findings = fs
		s.record(rec, m, parsed, line)
	case m != nil && !parsed:
		// A refused message is not kept to be read later: its content is
		// checked now, as it would have been on arrival.
		parseMIME(m)
		for _, f := range checkContent(m, m.Params) {
			if !s.opts.conformance.off[f.Rule] {
				f.Session, f.Line = rec.id, line
				fs = append(fs, f)
			}
		}
		s.addRefusedFindings(rec, fs, m.To)
	case m != nil:
		s.addRefusedFindings(rec, fs, m.To) // refused as nonconforming
	case ev.Kind == smtpd.Message:
		s.addRefusedFindings(rec, fs, ev.Envelope.To) // refused by the engine
	default:
		s.addFindings(rec, fs)
	}
	if m != nil && !accepts(ev, ans) {
		s.note(rec, "message refused, not recorded: %d octets from <%s> to %s", len(ev.Data), ev.Envelope.From, plural(len(ev.Envelope.To), "recipient"))
	}
	// The delay watches the connection: a client that gives up and
	// leaves ends it, and the session, at once.
	if err := c.Pause(sf.ctx, p.act.delay); err != nil {
		s.settle(sf, &p, false, false, false) // no reply: nothing took effect
		closed := s.ctx.Err() != nil && errors.Is(err, s.ctx.Err())
		if ev.Kind == smtpd.Auth && ev.Err == nil {
			// Accepted credentials that got no 235: the client got the
			// server's 421 (serve writes it), or left before any reply.
			got := "no reply"
			if closed {
				got = shuttingDown().String()
			}
			s.authRefused(rec, got)
		}
		if closed {
			return ErrClosed
		}
		return err // the client left: ErrClientGone, or io.EOF after its QUIT
	}
	if worded && p.act.delay > 0 {
		// Worded again for when it goes out, after the delay (the
		// session's time, which the conditions' records read too):
		// Exchange's greeting says the server's time then.
		r, _ := s.personaReply(c, ev, queueKey{rec.id, sf.mails}, c.Now)
		ans.Reply = &r
	}
	c.Answer(ans)
	took := sf.track(ev, ans)
	s.settle(sf, &p, !ans.NoReply, took, ans.Pace != (smtpd.Pace{}))
	if took && (ev.Kind == smtpd.Helo || ev.Kind == smtpd.Ehlo) {
		// The greeting taken, as the engine takes it: its extensions are
		// those the findings take as offered (conform).
		rec.ehlo = ev.Kind == smtpd.Ehlo
		s.heloTaken(rec, ev.Arg)
	}
	if ev.Kind == smtpd.Auth && ev.Err == nil {
		switch {
		case !accepts(ev, ans):
			s.authRefused(rec, s.replySaid(ev, ans))
		case ans.Pace != (smtpd.Pace{}):
			sf.pacedAuth = s.replySaid(ev, ans)
		}
	}
	sf.setIdle(ev, &p)
	return nil
}

// shuttingDown is the reply a session gets when the server closes.
func shuttingDown() smtpd.Reply {
	return smtpd.Reply{Code: 421, Status: "4.3.2", Lines: []string{"Service shutting down"}}
}

// newSession registers a session for a new connection and returns its
// record and its state for the fault script, under one lock.
func (s *Server) newSession(nc net.Conn) (*session, *sessionFaults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := newSessionRecord(nc.RemoteAddr(), nc.LocalAddr()) // under the lock: start times in the order of IDs
	s.addSessionLocked(rec)
	s.live++
	if s.acceptFails.n > 0 {
		rec.mu.Lock()
		s.addNoteLocked(rec, s.acceptFails.String())
		rec.mu.Unlock()
		s.acceptFails = acceptFailures{}
	}
	s.changes.changed(changeSession)
	return rec, s.newSessionFaultsLocked(rec)
}

// observe keeps the session record current with the engine's state.
func (s *Server) observe(rec *session, c *smtpd.Conn, ev *smtpd.Event) {
	if ev.Kind == smtpd.Rcpt {
		if addr := rcptAddress(ev); addr != "" {
			rec.mu.Lock()
			rec.namedRcptLocked(addr, s.seq.Load(), nil)
			rec.mu.Unlock()
		}
		return
	}
	if ev.Kind != smtpd.Handshake && ev.Kind != smtpd.Mail && ev.Kind != smtpd.Auth { // HELO's name: heloTaken
		return
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	// A change is a new state, that of the messages sent after it.
	d := rec.stateLocked()
	if ev.Kind == smtpd.Handshake {
		// The engine forgets an AUTH and the EHLO name before STARTTLS
		// (RFC 3207 4.2): so does the record, or a message sent after it
		// would seem to come from an authenticated client, and the session
		// would show a name the server no longer holds. The transcript
		// keeps the exchange.
		d.tls, d.auth, d.helo = ev.TLS, nil, ""
	}
	if info := authInfo(ev); info != nil { // auth.go
		d.auth = info
	}
	rec.setStateLocked(d)
	s.changes.changed(changeLine)
}

// rcptAddress returns the address a RCPT TO names: the engine's
// forward-path when it took the command, else what is between the angle
// brackets after "TO:" (a RCPT the engine refused: before MAIL, with a bad
// parameter), a ">" in a quoted local part skipped as the engine skips
// it (internal/angle), or the first word after "TO:" without brackets (a sloppy client's
// "RCPT TO:bob@example.com"); "" if none.
func rcptAddress(ev *smtpd.Event) string {
	if ev.Path != "" {
		return ev.Path
	}
	if len(ev.Arg) < 3 || !strings.EqualFold(ev.Arg[:3], "TO:") {
		return ""
	}
	rest := strings.TrimLeft(ev.Arg[3:], " ")
	if !strings.HasPrefix(rest, "<") {
		addr, _, _ := strings.Cut(rest, " ")
		return addr
	}
	if end := angle.Close(rest); end > 0 {
		return rest[1:end]
	}
	return ""
}

// heloTaken records the name of a HELO or EHLO the server took: once its
// answer is known, since an EHLO answered 5xx (a fault's reply, a strict
// MTA's rejection) leaves the engine without the name, and the record too.
func (s *Server) heloTaken(rec *session, name string) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	d := rec.stateLocked()
	d.helo = name
	rec.setStateLocked(d)
	s.changes.changed(changeLine)
}

// authRefused records that an AUTH exchange whose credentials were
// accepted got no 235 but got (a fault's reply, a strict MTA's
// rejection, as replySaid says them), before the reply is written: a
// client that saw it and asks for the record finds it there. A 235 that
// the client left in the middle of (a paced one) is recorded once the
// engine says it was cut (serve).
func (s *Server) authRefused(rec *session, got string) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	d := rec.stateLocked()
	if d.auth == nil || !d.auth.Success {
		return
	}
	info := *d.auth // a new record: the one before may be a message's
	info.Refused = got
	d.auth = &info
	rec.setStateLocked(d)
	s.changes.changed(changeLine)
}

// replySaid says the reply of answer ans to ev as the client reads it,
// on one line: "535 5.7.8 try again" (the enhanced status code the engine
// fills in when the fault gave none, none when ENHANCEDSTATUSCODES is
// off: enhanced.Status), `raw reply "535 no\r\n"`, "no reply".
func (s *Server) replySaid(ev *smtpd.Event, ans smtpd.Answer) string {
	r := ev.Reply
	switch {
	case ans.NoReply:
		return "no reply"
	case ans.Raw != nil:
		return fmt.Sprintf("raw reply %q", ans.Raw)
	case ans.Reply != nil:
		r = *ans.Reply
		r.Status = enhanced.Status(r.Code, r.Status, ev.Reply.Code, ev.Reply.Status)
	}
	if s.opts.engine.Disabled&smtpd.ExtEnhancedStatusCodes != 0 {
		r.Status = ""
	}
	return r.String()
}

// trace appends a transcript line and returns its number.
func (s *Server) trace(rec *session, t smtpd.Trace) (line int) {
	l := Line{Text: t.Text}
	switch t.Kind {
	case smtpd.TraceCommand:
		l.Dir = FromClient
	case smtpd.TraceReply:
		l.Dir = FromServer
	default:
		l.Dir = Note
	}
	if t.Masked != "" && !s.opts.showSecrets {
		l.Text = t.Masked
	}
	// The engine's lines, notes included ("<message data: 4096 octets>"),
	// repeat from session to session; the driver's notes (note) do not.
	text := s.textRef(l.Text)
	rec.mu.Lock()
	s.addTextLocked(rec, l.Dir, text)
	line = rec.nlines()
	rec.mu.Unlock()
	return line
}

// addNoteLocked appends a note of the driver's, which is not interned, to
// the transcript. rec.mu must be held.
func (s *Server) addNoteLocked(rec *session, text string) {
	s.addTextLocked(rec, Note, &text)
}

// addTextLocked appends a line to the transcript, stamped with the time
// since the session started: its direction and text, the interner's copy
// or a box of its own (see wireLine). rec.mu must be held.
func (s *Server) addTextLocked(rec *session, dir Direction, text *string) {
	rec.lines = append(rec.lines, packLine(dir, time.Since(rec.start), text))
	rec.elide(s.opts.maxTranscript)
	s.changes.changed(changeLine)
}

// clockMoved notes a move of the program's clock (by, to offset in all)
// in the transcript of every live session, before the move takes effect:
// a wait of an hour that a move ends shows, in a transcript whose times
// are real time, as the note and the reply a few milliseconds after it,
// not as a server that answered early. [Transcript.Normalized] leaves
// these notes out: where one falls in a session depends on when a
// suite moved the clock, for any of the tests that share the program.
func (s *Server) clockMoved(by, offset time.Duration) {
	text := fmt.Sprintf("%s%v (%v in all)", clockNote, by, offset)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live == 0 {
		return
	}
	for _, rec := range s.sessions {
		if rec.ended == Live { // read under s.mu, which its changes hold too
			rec.mu.Lock()
			s.addNoteLocked(rec, text)
			rec.mu.Unlock()
		}
	}
}

// clockNote begins the note of a move of the program's clock.
const clockNote = "clock moved ahead "

// now returns the server's time, which a client may see (the Exchange
// persona's greeting says it): its clock's, the one the faults' times
// read (options.clock: the program's, which its suite moves; in a Go
// test the time package's, which a testing/synctest bubble fakes). The
// times the server records (of sessions, messages, transcript lines)
// and its deadlines are real time instead.
func (s *Server) now() time.Time { return s.opts.clock.Now() }

// note appends a note line to the transcript.
func (s *Server) note(rec *session, format string, args ...any) {
	rec.mu.Lock()
	s.addNoteLocked(rec, fmt.Sprintf(format, args...))
	rec.mu.Unlock()
}

// newMessage builds the Message of a Message event: its envelope and Raw,
// not yet parsed. The addresses, which repeat from message to message,
// are interned.
func (s *Server) newMessage(ev *smtpd.Event) *Message {
	env := ev.Envelope
	m := &Message{
		From:     s.intern(env.From),
		To:       make([]string, len(env.To)),
		Params:   env.Params,
		Received: time.Now(),
		Raw:      ev.Data,
	}
	for i, to := range env.To {
		m.To[i] = s.intern(to)
	}
	for i, p := range env.RcptParams {
		if len(p) > 0 {
			if m.RcptParams == nil {
				m.RcptParams = make(map[string]map[string]string)
			}
			m.RcptParams[env.To[i]] = p
		}
	}
	return m
}

// record stores an accepted message, parsed or not, whose findings go on
// line, and wakes waiters.
func (s *Server) record(rec *session, m *Message, parsed bool, line int) {
	k := keep(m, parsed, rec.id, line, &s.kept)
	k.sent = rec.delivery()
	ar := authenticationResults(or(s.opts.engine.Hostname, "localhost"), m) // dkim.go
	s.mu.Lock()
	s.addMessageLocked(rec, k, ar)
	s.mu.Unlock()
	if f := s.opts.onMessage; f != nil {
		m := s.messageSnapshot(rec, k)
		s.calls.run(rec, fmt.Sprintf("WithOnMessage callback (message %d)", k.id), func() { f(m) })
	}
	runtime.KeepAlive(m) // so that the snapshot shares its parse
}

// lastTraced is what a session's end reads of the last lines the engine
// traced (serve's Trace): read, the transcript line of the last input (a
// command, an AUTH response, a note of message data), which a finding of
// the session's end names; said421, the last reply was a 421, after which
// the client owes no QUIT; sentQuit, the client's last line was a QUIT
// command, one the engine had not read yet included (smtpd's
// traceUnread), not an AUTH response, which the engine masks whatever it
// says (and WithoutSecretMasking shows as sent).
type lastTraced struct {
	read              int
	said421, sentQuit bool
}

// endSession marks a session ended, by err, after the lines last says
// (endConformanceLocked).
func (s *Server) endSession(rec *session, err error, last lastTraced) {
	s.mu.Lock()
	rec.mu.Lock()
	rec.end = time.Now()
	rec.ended = endReason(err)
	if rec.ended == EndClientClosed && last.sentQuit {
		// It quit and left before the reply, one the engine had not
		// read yet included (a QUIT sent during a Delay, traced once
		// the client left: smtpd's traceUnread).
		rec.ended = EndQuit
	}
	s.endConformanceLocked(rec, err, last.read, last.said421)
	if !errors.Is(err, ErrClosed) && rec.ended != EndQuit {
		rec.err = err // nil after QUIT, the normal end
	}
	// The transcript grew by doubling: kept for long, it takes only what
	// it holds.
	rec.lines = slices.Clone(rec.lines)
	rec.mu.Unlock()
	s.live--
	s.retainLocked(rec)
	s.mu.Unlock()
	s.changes.changed(changeSession)
	if f := s.opts.onSessionEnd; f != nil {
		snap := rec.snapshot()
		s.calls.run(rec, "WithOnSessionEnd callback", func() { f(snap) })
	}
}

// Sessions returns snapshots of every session so far, in order of
// connection, live ones included.
func (s *Server) Sessions() []*Session {
	s.mu.Lock()
	recs := slices.Clone(s.sessions)
	s.mu.Unlock()
	return sessionsOf(recs)
}

// LastSessions returns snapshots of the last n sessions, in order of
// connection: all of them when the server keeps fewer. It costs what the
// n snapshots cost, however many sessions the server keeps.
func (s *Server) LastSessions(n int) []*Session {
	sessions, _ := s.TailSessions(n)
	return sessions
}

// TailSessions returns the last n sessions, as [Server.LastSessions], and
// how many sessions the server keeps, as [Server.Count], both read at one
// instant: a page of a list and its total that agree (the mocksmtp
// program's X-Total-Count), which the two calls cannot promise while
// clients connect.
func (s *Server) TailSessions(n int) (sessions []*Session, total int) {
	s.mu.Lock()
	recs := slices.Clone(last(s.sessions, n))
	total = len(s.sessions)
	s.mu.Unlock()
	return sessionsOf(recs), total
}

// Session returns a snapshot of the session with the given ID, or nil when
// the server keeps none (see [Server.Reset] and [WithRetention]).
func (s *Server) Session(id int) *Session {
	s.mu.Lock()
	i, ok := s.sessionIndexLocked(id)
	var rec *session
	if ok {
		rec = s.sessions[i]
	}
	s.mu.Unlock()
	if rec == nil {
		return nil
	}
	return rec.snapshot()
}

// last returns the last n elements of s, all of them when s has fewer.
func last[T any](s []T, n int) []T { return s[len(s)-min(max(n, 0), len(s)):] }

// sessionsOf returns snapshots of recs. No lock may be held.
func sessionsOf(recs []*session) []*Session {
	out := make([]*Session, len(recs))
	for i, r := range recs {
		out[i] = r.snapshot()
	}
	return out
}

// Messages returns every message accepted so far, in arrival order. Each
// Message.Session says what its session is now, without its transcript
// or messages (see [Message.Session]; [Server.Session] has them).
func (s *Server) Messages() []*Message {
	s.mu.Lock()
	refs := slices.Clone(s.messages)
	s.mu.Unlock()
	return snapshotsOf(refs)
}

// LastMessages returns the last n messages accepted, in arrival order:
// all of them when the server keeps fewer. It costs what the n snapshots
// cost, however many messages the server keeps, and however many a
// session delivered (a message's Session has no transcript). It is
// what a poller such as the mocksmtp program's web page needs.
func (s *Server) LastMessages(n int) []*Message {
	messages, _ := s.TailMessages(n)
	return messages
}

// TailMessages returns the last n messages accepted, as
// [Server.LastMessages], and how many messages the server keeps, as
// [Server.Count], both read at one instant: a page of a list and its
// total that agree (the mocksmtp program's X-Total-Count), which the two
// calls cannot promise while mail arrives.
func (s *Server) TailMessages(n int) (messages []*Message, total int) {
	s.mu.Lock()
	refs := slices.Clone(last(s.messages, n))
	total = len(s.messages)
	s.mu.Unlock()
	return snapshotsOf(refs), total
}

// Message returns the message with the given ID (see [Message.ID]), or
// nil when the server keeps none.
func (s *Server) Message(id int) *Message {
	s.mu.Lock()
	i, ok := slices.BinarySearchFunc(s.messages, id, func(r msgRef, id int) int { return cmp.Compare(r.k.id, id) })
	var ref msgRef
	if ok {
		ref = s.messages[i]
	}
	s.mu.Unlock()
	if !ok {
		return nil
	}
	return snapshotsOf([]msgRef{ref})[0]
}

// Count returns how many sessions and messages the server keeps: the
// lengths of [Server.Sessions] and [Server.Messages], without their cost.
func (s *Server) Count() (sessions, messages int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions), len(s.messages)
}

// snapshotsOf returns snapshots of the messages of refs, each with what
// a message's Session says of its session (about: the cost does not grow
// with the session), read once per session and copied for each message.
// No lock may be held: messages are parsed.
func snapshotsOf(refs []msgRef) []*Message {
	sessions := make(map[*session]*Session)
	out := make([]*Message, len(refs))
	for i, ref := range refs {
		ss, ok := sessions[ref.rec]
		if !ok {
			ss = ref.rec.about(nil)
			sessions[ref.rec] = ss
		}
		out[i] = ref.k.snapshot()
		out[i].Session = ss.about(ref.k.sent)
	}
	return out
}

// await is the one wait behind every Wait method: it calls cond now and
// again after each change of the kinds of on that the server records,
// until cond returns true (nil), ctx ends (ctx's error), or the server is
// closed and every session has ended, so that nothing can change any more
// ([ErrClosed]). cond is called without the server's lock held.
//
// What counts at ctx's deadline is when a change came, not when the wait
// ran: a wait that wakes with the clock at its deadline (its timer may not
// have run yet) looks once more only if a change of the kinds of on came
// since it last looked and every such change came before the deadline
// (notifier.cameOnlyBefore), as one on a busy machine that ran late; a
// change at the deadline or after it is too late, and then so is the late
// look, which would no longer see the state at the deadline. In a
// synctest bubble, where a change and the deadline's timer can come at
// the same instant, that is too late every time, not by which of the two
// the runtime ran first.
func (s *Server) await(ctx context.Context, on change, cond func() bool) error {
	asked := on
	on |= changeSession // the server settling
	s.changes.add(on, 1)
	defer s.changes.add(on, -1)
	for {
		chs := s.changes.next(on) // before cond: a change after cond's look closes one
		s.mu.Lock()
		settled := s.closed && s.live == 0
		s.mu.Unlock()
		if cond() {
			return nil
		}
		if settled {
			return ErrClosed
		}
		select {
		case <-chs[0]:
		case <-chs[1]:
		case <-chs[2]:
		case <-chs[3]:
		case <-ctx.Done():
		}
		err := ctx.Err()
		if err == nil && deadlineReached(ctx) {
			err = context.DeadlineExceeded
		}
		if err == nil {
			continue
		}
		// The late look: worth it only if what cond reads changed since
		// its last look, and sees the state as it was at the deadline
		// only if every such change came before it.
		if dl, ok := ctx.Deadline(); ok && errors.Is(err, context.DeadlineExceeded) &&
			s.changes.cameOnlyBefore(asked, chs, dl) && cond() {
			return nil
		}
		return err
	}
}

// awaitMessages is await for a wait of n messages: one the server can
// never meet (neverMet) fails at once, without waiting.
func (s *Server) awaitMessages(ctx context.Context, n int, cond func() bool) error {
	if err := s.neverMet(n); err != nil {
		return err
	}
	return s.await(ctx, changeMessage, cond)
}

// failWait fails t for a wait of in (nil: the server) that ended with
// err. head writes the report's first line, what was wanted, from the
// report's view and why the wait ended ("within 5s", "before the server
// closed"): "mocksmtp: WaitForMessages: want 2 messages within 5s, got
// 1:". What follows is what the server has (writeState), its messages
// those it had accepted when the last message ID it gave was seen
// (view.upTo; math.MaxInt for all), without the
// transcripts of the sessions that delivered: Start's cleanup logs them
// all once when the test has failed.
func (s *Server) failWait(t testing.TB, in *Inbox, seen int, err error, head func(v *view, why string) string) {
	t.Helper()
	why := s.whyNotMet(err, fmt.Sprintf("within %v", s.opts.waitTimeout))
	v := s.newView(in).upTo(seen)
	var b strings.Builder
	b.WriteString(head(v, why))
	b.WriteString("\n")
	v.writeState(&b)
	b.WriteString(v.totals())
	b.WriteString(s.bubbleWaitHint(err))
	t.Fatalf("%s", b.String())
}

// whyNotMet says why a wait ended with err, for a report's "want n
// messages …": the server closed, it could never be met (neverMet), or
// otherwise (a timeout, a context ended) what the caller says.
func (s *Server) whyNotMet(err error, otherwise string) string {
	var never *neverMetError
	switch {
	case errors.As(err, &never):
		return never.why()
	case errors.Is(err, ErrClosed):
		return "before the server closed"
	}
	return otherwise
}

// waitContext is the context of the waits that take a testing.TB.
func (s *Server) waitContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.opts.waitTimeout)
}

// WaitForMessagesContext waits until at least n messages were accepted and
// returns them all, or returns what arrived with an error when ctx ends
// or the server is closed first: what it had when it last looked (those
// still kept), not a message that came at the deadline, which is too
// late, or as the wait returned.
func (s *Server) WaitForMessagesContext(ctx context.Context, n int) ([]*Message, error) {
	msgs, _, err := s.waitForMessages(ctx, n)
	return msgs, err
}

// waitForMessages is WaitForMessagesContext, which also returns the last
// message ID the server had given when the wait last looked (see
// arrivedBy), for the report of a wait that failed.
func (s *Server) waitForMessages(ctx context.Context, n int) ([]*Message, int, error) {
	var refs []msgRef   // the messages that met the wait, taken as it was met: a Reset may follow
	seen := math.MaxInt // the last message ID given when the wait last looked; all if it never did (neverMet)
	err := s.awaitMessages(ctx, n, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		seen = s.ids.message
		if len(s.messages) < n {
			return false
		}
		refs = slices.Clone(s.messages)
		return true
	})
	if err != nil {
		msgs := arrivedBy(s.Messages(), seen)
		return msgs, seen, fmt.Errorf("mocksmtp: waiting for %s, got %d: %w", plural(n, "message"), len(msgs), err)
	}
	return snapshotsOf(refs), seen, nil
}

// arrivedBy returns the messages of msgs (in arrival order) that the
// server had accepted when its last ID given was seen: what a wait that
// failed saw at its last look. A message that came after it (at the
// wait's deadline, which is too late, or as the failed wait returned) is
// not what the wait got, so that its error and what it returns say the
// same every run.
func arrivedBy(msgs []*Message, seen int) []*Message {
	return msgs[:sort.Search(len(msgs), func(i int) bool { return msgs[i].ID > seen })]
}

// WaitForMessages waits until at least n messages were accepted and
// returns them all. After the wait timeout (5 s, see [WithWaitTimeout]),
// or when the server closes first, it fails t with the messages that did
// arrive and the transcripts of the sessions that may tell why: those
// still open and those that delivered no message. (The cleanup of
// [Start] logs every transcript once, when the test has failed.)
func (s *Server) WaitForMessages(t testing.TB, n int) []*Message {
	t.Helper()
	ctx, cancel := s.waitContext()
	defer cancel()
	msgs, seen, err := s.waitForMessages(ctx, n)
	if err != nil {
		s.failWait(t, nil, seen, err, func(v *view, why string) string {
			return fmt.Sprintf("mocksmtp: WaitForMessages: want %s %s, got %d:", plural(n, "message"), why, len(msgs))
		})
	}
	return msgs
}

// WaitForSessionsContext waits until at least n sessions have ended and
// returns every session (ended or live), or returns them with an error
// when ctx ends or the server is closed first.
func (s *Server) WaitForSessionsContext(ctx context.Context, n int) ([]*Session, error) {
	sessions, _, err := s.waitForSessions(ctx, n)
	return sessions, err
}

// waitForSessions is WaitForSessionsContext, which also returns how many
// sessions had ended when the wait last looked: what a wait that failed
// got, not a session that ended at its deadline (too late) or as it
// returned.
func (s *Server) waitForSessions(ctx context.Context, n int) ([]*Session, int, error) {
	ended := 0
	var recs []*session // the sessions that met the wait, taken as it was met: a Reset may follow
	err := s.await(ctx, changeSession, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		ended = len(s.sessions) - s.live
		if ended < n {
			return false
		}
		recs = slices.Clone(s.sessions)
		return true
	})
	if err != nil {
		return s.Sessions(), ended, fmt.Errorf("mocksmtp: waiting for %s, got %d: %w", plural(n, "ended session"), ended, err)
	}
	return sessionsOf(recs), ended, nil
}

// WaitForSessions waits until at least n sessions have ended (the client
// quit or went away, or the server closed them) and returns every
// session. After the wait timeout it fails t as [Server.WaitForMessages]
// does, with the transcripts of the sessions still open. Use it
// to assert on complete transcripts, or on a client's retries and backoff
// through each Session's Start.
func (s *Server) WaitForSessions(t testing.TB, n int) []*Session {
	t.Helper()
	ctx, cancel := s.waitContext()
	defer cancel()
	sessions, ended, err := s.waitForSessions(ctx, n)
	if err != nil {
		s.failWait(t, nil, math.MaxInt, err, func(_ *view, why string) string {
			return fmt.Sprintf("mocksmtp: WaitForSessions: want %s %s, got %d:", plural(n, "ended session"), why, ended)
		})
	}
	return sessions
}

// WaitForSessionEndContext waits until the session with the given ID has
// ended (the client quit or went away, or the server closed it) and
// returns a snapshot of it. A session not yet started is waited for, and
// [WithRetention] does not forget it before the wait has it. It returns
// an error at once when the server no longer keeps the session
// ([Server.Reset], or WithRetention before the wait began), and an error
// when ctx ends or the server is closed first. Unlike a
// [Server.WaitUntilContext] that looks at [Server.Session], it wakes only
// when a session starts or ends and copies the session once, so that
// waiting costs nothing while a long session goes on.
func (s *Server) WaitForSessionEndContext(ctx context.Context, id int) (*Session, error) {
	var rec *session // the session, once started
	gone := false
	// WithRetention would forget a session that ends while the wait is
	// not looking: it keeps the session until the wait has its snapshot.
	s.mu.Lock()
	if s.awaited == nil {
		s.awaited = make(map[int]int)
	}
	s.awaited[id]++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.awaited[id]--; s.awaited[id] == 0 {
			delete(s.awaited, id)
		}
		// The session by its ID, not rec: it may have started and
		// ended since the wait last looked (its context ended first).
		if i, ok := s.sessionIndexLocked(id); ok {
			s.retainLocked(s.sessions[i])
		}
		s.mu.Unlock()
	}()
	look := func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		if i, ok := s.sessionIndexLocked(id); ok {
			rec = s.sessions[i]
		}
		gone = rec == nil && (id < 1 || id <= s.ids.session)
		return gone || rec != nil && rec.ended != Live
	}
	err := s.await(ctx, changeSession, look)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) && look() {
		// It ended as ctx was cancelled, before the wait looked again.
		// Not past a deadline: what comes as the time runs out is too
		// late (await), in a synctest bubble every time.
		err = nil
	}
	switch {
	case gone && id < 1:
		return nil, fmt.Errorf("mocksmtp: waiting for session %d to end: session IDs start at 1", id)
	case gone:
		return nil, fmt.Errorf("mocksmtp: waiting for session %d to end: the server keeps it no longer (Reset or WithRetention forgot it)", id)
	case err != nil && rec == nil:
		return nil, fmt.Errorf("mocksmtp: waiting for session %d to end: it has not started: %w", id, err)
	case err != nil:
		return rec.snapshot(), fmt.Errorf("mocksmtp: waiting for session %d to end: it is still open: %w", id, err)
	}
	return rec.snapshot(), nil
}

// WaitForSessionEnd waits until the session with the given ID has ended
// and returns a snapshot of it, as [Server.WaitForSessionEndContext]
// does. After the wait timeout, or when the server no longer keeps the
// session, it fails t as [Server.WaitForMessages] does, with the
// transcripts of the sessions still open. Use it to assert on the
// complete transcript of one session among several.
func (s *Server) WaitForSessionEnd(t testing.TB, id int) *Session {
	t.Helper()
	ctx, cancel := s.waitContext()
	defer cancel()
	ss, err := s.WaitForSessionEndContext(ctx, id)
	if err != nil {
		s.failWait(t, nil, math.MaxInt, err, func(_ *view, why string) string {
			if !errors.Is(err, ctx.Err()) && !errors.Is(err, ErrClosed) {
				return "mocksmtp: WaitForSessionEnd: " + strings.TrimPrefix(err.Error(), "mocksmtp: ")
			}
			if ss == nil {
				return fmt.Sprintf("mocksmtp: WaitForSessionEnd: want session %d to end %s; it has not started:", id, why)
			}
			return fmt.Sprintf("mocksmtp: WaitForSessionEnd: want session %d to end %s; it is still open:", id, why)
		})
	}
	return ss
}

// WaitUntilContext waits until cond returns true, or returns an error when
// ctx ends first, or when the server is closed and all its sessions have
// ended. cond is called at once and again after each change the server
// records: a session starting or ending, a transcript line (a command, a
// reply, a note such as a fault firing or a TLS handshake), a greeting
// name, an AUTH exchange, a message, a finding (and, on the mocksmtp
// program's clock, a wait on it beginning or ending). It must not block.
func (s *Server) WaitUntilContext(ctx context.Context, cond func() bool) error {
	if err := s.await(ctx, changeAll, cond); err != nil {
		return fmt.Errorf("mocksmtp: waiting: %w", err)
	}
	return nil
}

// WaitUntil waits until cond returns true (see [Server.WaitUntilContext]);
// after the wait timeout it fails t, naming what it waited for, as
// [Server.WaitForMessages] does. Use it to wait for a state no other wait covers, such as a
// fault having fired in a live session.
func (s *Server) WaitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := s.waitContext()
	defer cancel()
	if err := s.await(ctx, changeAll, cond); err != nil {
		s.failWait(t, nil, math.MaxInt, err, func(_ *view, why string) string {
			return fmt.Sprintf("mocksmtp: WaitUntil: waiting for %s: it did not happen %s:", what, why)
		})
	}
}
