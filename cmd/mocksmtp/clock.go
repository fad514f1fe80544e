package main

// The server's clock, which a suite moves ahead (GET /api/clock, POST
// /api/clock/advance, GET /api/wait/clock): what a Go test has from
// testing/synctest, for a suite in any language whose own clock is fake
// (freezegun, Jest's fake timers). It governs the timing of the faults:
// greylisting windows (greylistFor), rateLimitPer's interval, and the
// waits of delay, trickle, splitReply and idleReply, those in progress
// included (a wait whose end the clock passes ends at once; a move past
// several pauses of a paced reply ends them all); each session live at a
// move notes it in its transcript ("clock moved ahead 5m0s (5m0s in
// all)"), which the normalized transcript leaves out. Nothing else: the
// times of sessions, transcript lines and messages, the read timeout
// (-read-timeout), the waits of the API (timeout=) and the HTTP timeouts
// are real time, and the clock never goes back (DELETE /api/messages
// leaves it as it is). A session's JSON also says when it started on
// this clock ("clockStart": its start plus how far the clock had moved
// by then, clock.Clock.At), so that a suite reads the spacing of a
// client's retries in its fake time.
//
// A move made while the server waits for the client counts toward that
// wait, the client's time, not the server's waits after it: a move made
// before the server read DATA does not shorten a delay at DATA. A move
// made once the server has read the command counts toward the server's
// waits that follow, even one not begun yet (the engine's rule,
// smtpd.Conn.Pause). "waits" (GET /api/clock)
// counts the waits on the clock in progress, of every session: each
// fault's delay, each pause of trickle and splitReply, and an
// idleReply's time while the server waits for the client's next command;
// not the windows of greylistFor and rateLimitPer, which the server does
// not wait out (a client's retry reads the clock), nor stall, nor the
// read timeout. A wait counts from when it begins until the clock or
// real time (-clock frozen: the clock only, below) reaches its end (a
// move past it ends it before the move's answer), the client leaves,
// the session is closed, or (an idleReply's)
// the client sends a command or its fault is done away with (PUT or
// DELETE /api/faults, DELETE /api/faults/{id}, DELETE /api/messages),
// after which it ends no session.
// "waitList" lists them, in the order of their ends: each wait's session
// (its ID, as in GET /api/sessions), its kind, named after the fault
// field that makes it ("delay", "trickle", "splitReply", "idleReply"),
// its end on the clock and the time left until then. Each timer on the
// clock carries that label (clock.Label): the root names the session in
// the context that carries the clock (clock.WithSession), and each wait
// names its kind where it begins (smtpd's Pause and paced replies, the
// root's idle time).
//
// GET /api/wait/clock?count=N waits, in real time, until N are in
// progress: a suite waits for the delay it means to end before it moves
// the clock, as a Go test calls synctest.Wait. session=ID and kind=K
// (each repeatable: any of those given) make it count only the waits of
// those sessions and kinds, as its answer does: with an idleReply at
// HELO and a delay at MAIL, the idle time is a wait while the server
// waits for MAIL, and a move made on it would end the idle time (the
// client's 421), not the delay (kind=delay waits for the delay); tests
// that share one program in parallel each wait for their own session's
// waits (session=ID: the session whose remoteAddr is the client's own
// address); the filter is the wait's, not the move's, which ends or
// shortens the waits of every session it passes (another test's idle
// time ends with its idle reply). A session not started yet may begin a
// wait, and is waited for; once every session session= names has ended
// or is forgotten, none can, and the wait answers its 408 at once, with
// how each ended (endedSessions). With kind=, the 408 names the other
// waits of its sessions (an idle time while it waits for a delay),
// which "waits" and "waitList" leave out. There is no inbox= filter: a session
// belongs to no inbox before its RCPT TO names one (an inbox holds the
// messages with a recipient in its domain), yet its waits before then
// (a delay at HELO or MAIL, an idle time) are those a suite most often
// ends, and a session may send to several inboxes.
//
// Which clock it is, -clock says (MOCKSMTP_CLOCK; GET /api/clock's
// "mode"). real, the default (clock.New), is real time plus the moves:
// it runs between them, so that a suite's check at a boundary races real
// milliseconds (greylistFor 5m, a move of 4m59.99s, a retry: the round
// trips may carry it past the window), and a wait ends by itself once
// real time reaches its end. frozen (clock.NewFrozen), for a suite whose
// own clock stands still between its moves (freezegun, Jest's fake
// timers, sinon), is the real time at which the program started plus
// the moves, and nothing else: a boundary is exact, every run (a retry
// after 5m-1ns is greylisted, after 1ns more it passes), and a wait on
// it ends only when a move reaches its end, never by real time. The
// rest holds on either: the waits begin and count moves as above, and
// clockStart is the start plus the moves before it. What is real time
// above stays real time with -clock frozen too: a client silent for
// -read-timeout is closed whatever the clock says.
//
// -clock-start (MOCKSMTP_CLOCK_START) starts the frozen clock at an
// instant of the suite's choosing instead (clock.NewFrozenAt), where its
// fake clock starts (Jest's setSystemTime, freezegun's freeze_time),
// and implies -clock frozen; every answer about the clock says that
// start ("start", absent on the real clock, which has none), so that a
// suite checks which instant it runs against. It is a flag, not a move
// of the API (no POST /api/clock/set): a move back to a suite's next
// start would be unsafe for what the server holds in the clock's time.
// A greylisted pair's first attempt and a rate limit's last messages
// would lie in the clock's future (the window would last the move back
// longer, the interval too, while each fault's state is shared by the
// tests on one program), a wait in progress would end that much later,
// or never if the suite does not move as far again, and the engine's
// count of the moves each session's waits used (smtpd.Conn's moved,
// which only grows) would be ahead of the clock; the sessions'
// clockStart would no longer follow their order. A suite that starts each run at the same instant starts
// the program for the run, as it starts its own fake clock.
//
// A move of 0 (POST /api/clock/advance {"by": "0s"}) is no move
// (clock.Clock.Advance): it answers the clock as it stands and notes
// nothing, so that a suite mirrors its timers' moves one to one, a
// backoff of 0 included; a negative one is a 400.
//
// The server's time that a client sees reads this clock too, through
// the server's one reading of it (the root's Server.now): the Exchange
// persona's greeting ("ready at Thu, 01 Jan 2026 00:00:00 +0000", in
// -clock-start's zone; after a delay at the greeting, its end), the same
// octets every run with -clock-start.
// What a client checks against its own real clock stays real time: the
// test CA's certificates (a suite's fake Date does not reach OpenSSL),
// and so do DKIM signatures' expiry (go-msgauth reads time.Now) and
// the timestamp in a CRAM-MD5 challenge (a nonce, random besides, which
// the normalized transcript masks).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/internal/clock"
)

// clockOption gives the server the program's clock: mocksmtp.New takes
// it from FaultClock (clock.Carrier) and applies nothing, so the nil
// Option it embeds, for its method set, is never called.
type clockOption struct {
	mocksmtp.Option
	clock *clock.Clock
}

func (o clockOption) FaultClock() *clock.Clock { return o.clock }

// clockJSON is the clock, as GET /api/clock and POST /api/clock/advance
// answer it.
type clockJSON struct {
	Now    time.Time `json:"now"`    // the server's time: real time (frozen: Start) plus offset
	Offset duration  `json:"offset"` // how far it was moved ahead, in all
	Waits  int       `json:"waits"`  // the waits on it in progress (clock.Clock.Waits)
	Mode   string    `json:"mode"`   // -clock: clockReal or clockFrozen
	// Start is a frozen clock's time before any move: -clock-start, or
	// the time the program started; absent on the real clock.
	Start *time.Time `json:"start,omitempty"`
	// WaitList are those waits, in the order of their ends (clock.Clock.WaitList).
	WaitList []clockWaitJSON `json:"waitList"`
}

// clockWaitJSON is a wait on the clock in progress.
type clockWaitJSON struct {
	Session int       `json:"session"` // the session that waits, its ID as in GET /api/sessions
	Kind    string    `json:"kind"`    // the fault field that makes it wait: delay, trickle, splitReply, idleReply
	Ends    time.Time `json:"ends"`    // the clock's time at which it ends
	Left    duration  `json:"left"`    // how long until then, on the clock
}

// waitListJSON returns the waits of list, at the clock's time now: each
// one's time left is its end less now as the JSON writes both (their
// wall clock readings, not the monotonic ones Sub would take), so that
// a suite reads the same from "left" as from "ends" and "now".
func waitListJSON(list []clock.Wait, now time.Time) []clockWaitJSON {
	out := make([]clockWaitJSON, len(list))
	now = now.Round(0)
	for i, w := range list {
		end := w.End.Round(0)
		out[i] = clockWaitJSON{Session: w.Session, Kind: w.Kind.String(), Ends: end, Left: duration(max(0, end.Sub(now)))}
	}
	return out
}

// clockMode returns the mode of the clock, as -clock names it.
func (a *api) clockMode() string {
	if a.clock.Frozen() {
		return clockFrozen
	}
	return clockReal
}

// clockBase says what the clock reads plus its offset, for errors: "real
// time", or a frozen clock's start.
func (a *api) clockBase() string {
	if start, ok := a.clock.Start(); ok {
		return "its start, " + start.Format(time.RFC3339Nano) + " (-clock frozen)"
	}
	return "real time"
}

// clockAt returns the clock as it stood when list was its waits, moved
// off, at now (clock.Clock.WaitList): every answer about the clock says
// its time and, frozen, its start.
func (a *api) clockAt(list []clock.Wait, off time.Duration, now time.Time) clockJSON {
	c := clockJSON{Now: now, Offset: duration(off), Waits: len(list), WaitList: waitListJSON(list, now), Mode: a.clockMode()}
	if start, ok := a.clock.Start(); ok {
		c.Start = &start
	}
	return c
}

// clockNow returns the clock as it stands now, at one instant.
func (a *api) clockNow() clockJSON {
	return a.clockAt(a.clock.WaitList())
}

// advanceRequest is the body of POST /api/clock/advance.
type advanceRequest struct {
	By json.RawMessage `json:"by"` // a Go duration string, 0 or more
}

// maxClockBody bounds the body of POST /api/clock/advance: a duration
// is a few octets.
const maxClockBody = 4 << 10

const advanceUsage = `want {"by": "5m"}: a Go duration to move the clock ahead by`

func (a *api) getClock(w http.ResponseWriter, r *http.Request) {
	if _, ok := query(w, r, false); !ok {
		return
	}
	writeJSON(w, http.StatusOK, a.clockNow())
}

func (a *api) advanceClock(w http.ResponseWriter, r *http.Request) {
	if _, ok := query(w, r, false); !ok {
		return
	}
	data, ok := readBody(w, r, maxClockBody)
	if !ok {
		return
	}
	if len(data) == 0 {
		writeError(w, http.StatusBadRequest, "%s: no body; %s", requestName(r), advanceUsage)
		return
	}
	var req advanceRequest
	if err := decodeStrict(data, &req); err != nil {
		writeError(w, http.StatusBadRequest, "%s: %v; %s", requestName(r), err, advanceUsage)
		return
	}
	by, err := parseAdvance(req.By, a.clockBase())
	if err != nil {
		writeError(w, http.StatusBadRequest, "%s: by: %v", requestName(r), err)
		return
	}
	if a.clock == nil {
		writeError(w, http.StatusInternalServerError, "%s: this server has no clock to move", requestName(r))
		return
	}
	off, now, left, err := a.clock.Advance(by)
	if errors.Is(err, clock.ErrTooFar) {
		writeError(w, http.StatusBadRequest, "%s: by: %v would move the clock %v ahead of %s in all; it moves at most %v (restart mocksmtp to start again)", requestName(r), by, off+by, a.clockBase(), clock.MaxOffset)
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "%s: by: %v", requestName(r), err)
		return
	}
	if by > 0 {
		a.log.Info("clock advanced", "by", by, "offset", off)
	}
	// The waits in progress once the move took effect, at that instant:
	// those it ended no longer count, and one begun since (the next pause
	// of a paced reply) not yet.
	writeJSON(w, http.StatusOK, a.clockAt(left, off, now))
}

// clockWaitTimeoutJSON is the body of a 408 from GET /api/wait/clock.
type clockWaitTimeoutJSON struct {
	Error string    `json:"error"` // what it waited for, what it saw, the transcripts of the sessions open
	Clock clockJSON `json:"clock"` // as the wait last saw it
}

// clockWaitsAre says what the waits on the clock are, for a 408.
const clockWaitsAre = "a fault's delay, a pause of trickle or splitReply, an idleReply's time while the server waits for the client"

// clockWaitFilter is what GET /api/wait/clock counts: the waits of the
// sessions and of the kinds it names, any when none.
type clockWaitFilter struct {
	sessions map[int]bool
	kinds    map[clock.Kind]bool
}

// sessionUsage and kindUsage say, in a 400, what session= and kind= take.
var (
	sessionUsage = "want the ID of a session, as GET /api/sessions gives it (1 or more, in plain digits); repeat session= for more than one"
	kindUsage    = "want the kind of a wait, the fault field that makes it (" + strings.Join(clock.KindNames(), ", ") + "); repeat kind= for more than one"
)

// clockWaitFilterOf reads the session and kind parameters of a query
// that query checked. On a problem it answers 400.
func clockWaitFilterOf(w http.ResponseWriter, q url.Values) (clockWaitFilter, bool) {
	var f clockWaitFilter
	for _, v := range q["session"] {
		id, ok := decimal(v)
		if !ok || id == 0 {
			writeError(w, http.StatusBadRequest, "session=%q: %s", clip(v), sessionUsage)
			return f, false
		}
		if f.sessions == nil {
			f.sessions = map[int]bool{}
		}
		f.sessions[id] = true
	}
	for _, v := range q["kind"] {
		k, ok := clock.ParseKind(v)
		if !ok {
			writeError(w, http.StatusBadRequest, "kind=%q: %s", clip(v), kindUsage)
			return f, false
		}
		if f.kinds == nil {
			f.kinds = map[clock.Kind]bool{}
		}
		f.kinds[k] = true
	}
	return f, true
}

// matches reports whether the filter counts the wait w.
func (f clockWaitFilter) matches(w clock.Wait) bool {
	return (f.sessions == nil || f.sessions[w.Session]) && (f.kinds == nil || f.kinds[w.Kind])
}

// String says what the filter counts, for a 408: "", or " of session 3,
// of kind delay".
func (f clockWaitFilter) String() string {
	var b strings.Builder
	if f.sessions != nil {
		ids := slices.Sorted(maps.Keys(f.sessions))
		names := make([]string, len(ids))
		for i, id := range ids {
			names[i] = strconv.Itoa(id)
		}
		fmt.Fprintf(&b, " of session %s", listed(names))
	}
	if f.kinds != nil {
		var names []string
		for _, k := range slices.Sorted(maps.Keys(f.kinds)) {
			names = append(names, k.String())
		}
		if b.Len() > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " of kind %s", strings.Join(names, ", "))
	}
	return b.String()
}

// waitClock answers GET /api/wait/clock: it waits until at least count
// waits on the clock are in progress (count 1 unless given), of the
// sessions that session= names and of the kinds that kind= names, if
// given, and answers as GET /api/clock, as the clock stood when it last
// looked: the waits it saw, those that match ("waits" counts them,
// "waitList" lists them), at the time and offset then. It is the
// waits' one wait (Server.WaitUntilContext), woken as a wait on the
// clock begins or ends. On timeout it answers 408 with what it saw, the
// other waits of those sessions when kind= left them out (an idle time
// while it waits for a delay), and the transcripts of the sessions open
// (of those session= names, if given), which tell where each stands (the
// last of them: as many as /api/wait/sessions shows). It answers that
// 408 at once when every session that session= names has ended or is
// forgotten (endedSessions), for none of them can begin a wait again.
func (a *api) waitClock(w http.ResponseWriter, r *http.Request) {
	q, ok := query(w, r, false, "count", "timeout", "session", "kind")
	if !ok {
		return
	}
	count, timeout, ok := a.waitQuery(w, q, "waits on the clock")
	if !ok {
		return
	}
	filter, ok := clockWaitFilterOf(w, q)
	if !ok {
		return
	}
	if a.clock == nil {
		writeError(w, http.StatusInternalServerError, "%s: this server has no clock to wait on", requestName(r))
		return
	}
	timed, cancelTimed := context.WithTimeout(r.Context(), timeout)
	defer cancelTimed()
	ctx, stop := context.WithCancelCause(timed)
	defer stop(nil)
	extendDeadlines(w, r, timeout)
	ends := a.endedSessions(ctx, stop, filter.sessions)
	var all []clock.Wait  // the waits the wait last saw
	var off time.Duration // the clock's offset and time then
	var at time.Time
	err := a.srv.WaitUntilContext(ctx, func() bool {
		all, off, at = a.clock.WaitList()
		n := 0
		for _, w := range all {
			if filter.matches(w) {
				n++
			}
		}
		return n >= count
	})
	stop(nil)
	ended := <-ends // nil unless every session named has ended
	// What the wait saw, which it answers for: the clock then, not
	// after a move that came since, which may have ended those waits.
	var seen, others []clock.Wait
	for _, w := range all {
		switch {
		case filter.matches(w):
			seen = append(seen, w)
		case filter.sessions == nil || filter.sessions[w.Session]:
			others = append(others, w) // of another kind
		}
	}
	c := a.clockAt(seen, off, at)
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, c)
	case r.Context().Err() != nil || errors.Is(err, mocksmtp.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, "mocksmtp is shutting down")
	default:
		var b strings.Builder
		what := plural(count, "wait") + " on the clock" + filter.String()
		var shown []*mocksmtp.Session // the sessions whose transcripts it shows
		earlier := 0                  // and how many more there are, not shown
		noun := "earlier open session"
		if ended != nil {
			writeEnded(&b, ended, what, timeout, len(seen))
			for _, e := range ended {
				switch {
				case e.s != nil:
					shown = append(shown, e.s)
				case e.how != "":
					earlier++
				}
			}
			if len(shown) > 0 {
				b.WriteString("; how each ended")
			}
			noun = "earlier ended session"
		} else {
			for _, s := range a.srv.Sessions() {
				if s.Ended == mocksmtp.Live && (filter.sessions == nil || filter.sessions[s.ID]) {
					shown = append(shown, s)
				}
			}
			fmt.Fprintf(&b, "waited %v for %s in progress (%s), and %s", timeout, what, clockWaitsAre, isAre(len(seen)))
			writeOtherWaits(&b, others, at)
			fmt.Fprintf(&b, "; %s open", plural(len(shown), "session"))
			if len(shown) > 0 {
				b.WriteString(", where each stands")
			}
		}
		if len(shown) > 0 {
			b.WriteString(":\n")
			if n := len(shown) - maxOpenShownOnTimeout; n > 0 {
				earlier += n
				shown = shown[n:]
			}
			if earlier > 0 {
				fmt.Fprintf(&b, "(%s not shown)\n", plural(earlier, noun))
			}
			for _, s := range shown {
				b.WriteString(sessionText(s))
			}
		}
		writeJSON(w, http.StatusRequestTimeout, clockWaitTimeoutJSON{Error: strings.TrimSuffix(b.String(), "\n"), Clock: c})
	}
}

// endedSession is a session that session= names and that can begin no
// wait on the clock: ended (how says how: "client closed"), or
// forgotten (how empty). s is the session as it ended, for its
// transcript: kept for the last maxOpenShownOnTimeout ended only, those
// a 408 shows.
type endedSession struct {
	id  int
	how string
	s   *mocksmtp.Session
}

// errSessionsEnded is the cause with which endedSessions ends a wait on
// the clock.
var errSessionsEnded = errors.New("every session named has ended")

// endedSessions watches the sessions ids (none: nothing to watch), in
// the order of their IDs, each until it has ended or is found forgotten
// (Server.WaitForSessionEndContext, which wakes only as a session starts
// or ends and copies each session once: the wait on the clock's own
// condition, run at every change recorded, copies none). Once all have,
// it stops ctx with errSessionsEnded and sends them; it sends nil when
// ctx ends first or mocksmtp shuts down. A session not started yet is
// waited for: its client may connect still. The channel has room for the
// one send, which the caller receives after it stops ctx.
func (a *api) endedSessions(ctx context.Context, stop context.CancelCauseFunc, ids map[int]bool) <-chan []endedSession {
	out := make(chan []endedSession, 1)
	if ids == nil {
		out <- nil
		return out
	}
	go func() {
		var ended []endedSession
		var withS []int // the indexes in ended of those that keep s, oldest first
		for _, id := range slices.Sorted(maps.Keys(ids)) {
			s, err := a.srv.WaitForSessionEndContext(ctx, id)
			if ctx.Err() != nil || errors.Is(err, mocksmtp.ErrClosed) {
				out <- nil
				return
			}
			e := endedSession{id: id}
			if err == nil { // else it keeps the session no longer
				e.how = s.Ended.String()
				if s.Err != nil && s.Ended != mocksmtp.EndQuit {
					e.how += ": " + clip(s.Err.Error())
				}
				e.s = s
				withS = append(withS, len(ended))
			}
			ended = append(ended, e)
			// A 408 shows the last few transcripts; a suite may name
			// thousands of sessions.
			if len(withS) > maxOpenShownOnTimeout {
				ended[withS[0]].s, withS = nil, withS[1:]
			}
		}
		stop(errSessionsEnded)
		out <- ended
	}()
	return out
}

// writeEnded begins the error of a wait on the clock whose sessions have
// all ended: which ended how, which are forgotten, and what it waited
// for, said the same every run (no time it took: it answers at once).
func writeEnded(b *strings.Builder, ended []endedSession, what string, timeout time.Duration, seen int) {
	var gone, over []string
	for _, e := range ended {
		if e.how == "" {
			gone = append(gone, strconv.Itoa(e.id))
			continue
		}
		over = append(over, fmt.Sprintf("session %d ended (%s)", e.id, e.how))
	}
	b.WriteString("no wait on the clock can begin in ")
	if len(ended) == 1 {
		b.WriteString("the session named: ")
	} else {
		b.WriteString("any of the sessions named: ")
	}
	if len(over) > 0 {
		b.WriteString(listed(over))
	}
	if len(gone) > 0 {
		if len(over) > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(b, "mocksmtp keeps session %s no longer (DELETE /api/messages or -retain forgot it)", listed(gone))
	}
	fmt.Fprintf(b, "; answered at once, before timeout=%v, not waiting for %s in progress (%s), and %s",
		timeout, what, clockWaitsAre, isAre(seen))
}

// maxOtherWaits bounds the waits of other kinds a 408 of a wait on the
// clock names.
const maxOtherWaits = 10

// writeOtherWaits says, for a 408 of a wait on the clock with kind=, the
// waits in progress of the sessions it waited for that kind= left out,
// as the clock stood at now: "; waits of other kinds: session 3 is in an
// idleReply wait, which ends at … on the clock, 59m59s from then".
func writeOtherWaits(b *strings.Builder, others []clock.Wait, now time.Time) {
	if len(others) == 0 {
		return
	}
	b.WriteString("; waits of other kinds: ")
	for i, w := range waitListJSON(others[:min(len(others), maxOtherWaits)], now) {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(b, "session %d is in %s %s wait, which ends at %s on the clock, %v from then",
			w.Session, article(w.Kind), w.Kind, w.Ends.Format(time.RFC3339Nano), time.Duration(w.Left))
	}
	if n := len(others) - maxOtherWaits; n > 0 {
		fmt.Fprintf(b, " and %d more", n)
	}
}

// article is the indefinite article before a kind of wait.
func article(kind string) string {
	if kind != "" && strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an"
	}
	return "a"
}

// isAre says how many are: "0 is", "1 is", "2 are".
func isAre(n int) string {
	if n > 1 {
		return fmt.Sprintf("%d are", n)
	}
	return fmt.Sprintf("%d is", n)
}

// parseAdvance reads the "by" of POST /api/clock/advance: a Go duration
// string, 0 or more (0: no move, answered as any other); base is what the clock's offset is ahead of
// (api.clockBase).
func parseAdvance(raw json.RawMessage, base string) (time.Duration, error) {
	if raw == nil || string(raw) == "null" {
		return 0, errors.New("missing; " + advanceUsage)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, fmt.Errorf("want a duration string such as \"5m\" or \"1h30m\", got %s%s", clip(string(raw)), unitHint(raw))
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return 0, fmt.Errorf("want a duration such as \"5m\" or \"1h30m\": %s", clipQuoted(err))
	case d < 0:
		return 0, fmt.Errorf("%q is negative: the clock never goes back", clip(s))
	case d > clock.MaxOffset:
		return 0, fmt.Errorf("%q: the clock moves at most %v ahead of %s in all", clip(s), clock.MaxOffset, base)
	}
	return d, nil
}
