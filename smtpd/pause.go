package smtpd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/mocksmtp/mocksmtp/internal/clock"
)

// Pause waits d before the current event is answered (a slow server), or
// until ctx ends, while it watches the connection: a client that closes
// or resets it meanwhile ends the wait at once. Pause writes nothing, and
// it consumes nothing: what the client sends meanwhile (pipelined
// commands, message data) is served by the next Next, in order, after the
// wait. It returns:
//
//   - nil once d has passed;
//   - an error wrapping [ErrClientGone] when the client left first, as
//     when it leaves while the server hangs ([Hang]): the session is
//     over, the connection closed and Next returns that error;
//   - at a [Quit] event the engine accepted, io.EOF when the client left
//     first: it quit without waiting for the reply, and the session is
//     over as after any QUIT;
//   - ctx.Err() when ctx ended first: the connection is left open, as by
//     Next, for [Conn.Close] to write a last reply. A client that had
//     closed before ctx ended is gone, as above, even when the wait had
//     not seen it yet.
//
// A client that half-closes its side (end of input) counts as gone, as
// it does during a hang: over TCP a server cannot tell it from one that
// closed. So does one that sent more before it left (a command
// pipelined after the event's, a QUIT once it gave up waiting), and what
// it sent is not served: the wait reads what the client sends into the
// connection's read buffer (16 KiB with the default limits; more when
// the Config allows longer lines), and sees the end of input behind it.
// [Config.Trace] has what it sent, under a note ([TraceNote]) that the
// server did not read it: its command lines ([TraceCommand]), at most
// 100, as far as one after which the client sends no commands (DATA,
// BDAT, STARTTLS) and before an AUTH line or what may be the exchange of
// an AUTH the engine refused (credentials); none after an event whose
// reply decides what follows ([Connect], [StartTLS], [Auth], [Data],
// [Bdat]); then a note of the octets past them. A client that sent more
// than the read buffer holds is taken to be there, and the wait runs its
// course. At a [Connect] event too: what the client sent is the start
// of its TLS handshake, which the handshake then reads first. (On the clock of the mocksmtp program,
// which its tests move ahead, d counts from when Pause begins, as on
// the time package's, but a move of the clock since the engine last
// waited for the client (for the event's command, or before the commands
// pipelined with it) counts: a move past its end ends it even before it
// began.)
func (c *Conn) Pause(ctx context.Context, d time.Duration) error {
	if c.err != nil {
		return c.err
	}
	err := c.wait(ctx, clock.Delay, d)
	if errors.Is(err, ErrClientGone) {
		err = goneAfterQuit(c.cur, err)
		c.abort()
		c.err = err
		c.cur, c.ans = nil, Answer{}
	}
	return err
}

// wait waits d, or until ctx ends, and watches the connection meanwhile
// for a client that leaves (see [Conn.Pause], which wait is, but for
// ending the session). It returns nil after d,
// ctx.Err(), or an error wrapping ErrClientGone. On a clock that a test
// moves, the wait is one of kind for the session ctx names
// (clock.LabelFor), which the test may wait for.
//
// d counts from now on the session's time (Conn.now): on the time
// package's clock (synctest's too), from now; on a clock that a test
// moves (internal/clock, which ctx carries), from now too, but a move
// since the client was last waited for (a blocking read) that no wait
// used yet counts, so that a test that moves the clock as soon as it
// sees the event taken (a fault's note) or a part of a paced reply
// moves it past a wait that had not begun yet too; the server's work
// before the wait does not shorten it. A wait that runs its course
// keeps what a move went past its end for the next (ranOut).
//
// Unless the read buffer is full, a goroutine reads ahead into it
// (readAhead): EOF or another error, also behind what the client sent
// meanwhile or before, is the client gone; what it sent stays buffered,
// for the next reads to take as if they had read it then, and a full
// buffer ends the watch (the client is taken to be there). At the end of
// the wait a read deadline in the past stops the read, which is joined
// before wait returns; the read deadline is then cleared, since every
// blocking read sets its own. A read deadline timeout leaves neither the
// read buffer nor a TLS connection broken: both keep no error that is
// temporary. The end of ctx sets a deadline in the past too (watch).
func (c *Conn) wait(ctx context.Context, kind clock.Kind, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	gone := func(err error) error {
		if err == nil || isTimeout(err) {
			return nil // the client sent something, or the peek was stopped
		}
		c.clientLeft = true
		c.traceUnread()
		return fmt.Errorf("%w while the server paused: %w", ErrClientGone, err)
	}
	c.watch(ctx)
	var ahead chan error // the read ahead's outcome, nil when none runs
	if c.br.Buffered() < c.br.Size() {
		// Its error is not a reason not to watch: net.Pipe's, for one,
		// fails once the client has closed, when the read returns at once.
		_ = c.raw.SetReadDeadline(time.Time{})
		if err := ctxErr(ctx); err != nil {
			if gerr := gone(c.left(ctx, true)); gerr != nil {
				return gerr
			}
			return err
		}
		ahead = make(chan error, 1)
		go func() { ahead <- c.readAhead() }()
	}
	since := c.now()
	t := c.clk.NewTimer(clock.LabelFor(ctx, kind), since, d) // ctx's clock: the time package's, or one a test moves
	defer t.Stop()
	var err error
	for done := false; !done; {
		select {
		case <-t.C:
			c.ranOut(since, d)
			done = true
		case <-ctx.Done():
			err, done = ctx.Err(), true
		case perr := <-ahead:
			ahead = nil
			if err = gone(perr); err != nil {
				return err
			}
		}
	}
	if ahead != nil {
		_ = c.raw.SetReadDeadline(aLongTimeAgo)
		perr := <-ahead
		_ = c.raw.SetReadDeadline(time.Time{})
		if gerr := gone(perr); gerr != nil {
			return gerr // the client left as the time ran out, or before ctx ended
		}
	}
	if err != nil {
		// ctx ended: the read ahead may not have seen a client that
		// left just before (see left).
		if gerr := gone(c.left(ctx, true)); gerr != nil {
			return gerr
		}
	}
	return err
}

// maxUnreadLines bounds the lines traceUnread traces, of the 16 KiB or
// more a read buffer holds: a transcript says what a client that left
// had sent, not every line of a flood.
const maxUnreadLines = 100

// traceUnread traces what a client that left during a wait had sent and
// the engine had not read (readAhead): its lines, as the client's, when
// they are commands (after an event whose reply leaves the session
// taking commands, as far as DATA, BDAT, STARTTLS or a forbidden
// command, however spelled, after which they are not, and before AUTH,
// however spelled, whose line holds credentials, or a line the engine
// would mask after an AUTH it refused: see mask), under a note
// that the server did not read them; a note of the octets past them. A
// QUIT among them is a client that quit (see the mocksmtp package's
// session end): what it sent is on record, though never answered.
func (c *Conn) traceUnread() {
	n := c.br.Buffered()
	if n == 0 {
		return
	}
	b, _ := c.br.Peek(n)
	commands := c.cur != nil
	if commands {
		switch c.cur.Kind {
		case Connect, StartTLS, Auth, Data, Bdat:
			commands = false // what follows is a handshake, SASL, message data, a chunk: or not, by the reply
		}
	}
	lines := 0
	c.trace(Trace{Kind: TraceNote, Text: "the client left during the wait; it had sent this, which the server did not read:"})
	for commands && lines < maxUnreadLines {
		i := bytes.IndexByte(b, '\n')
		if i < 0 || i+1 > c.cfg.MaxCommandLine {
			break
		}
		line := strings.TrimSuffix(string(b[:i]), "\r")
		verb, _ := parseCommand(line)
		if _, known := verbs[verb]; isAuthLine(line) || c.authRefused && !known && line != "*" {
			// Credentials, however the client spelled AUTH (see mask),
			// or what may be the exchange of an AUTH the engine refused.
			break
		}
		c.trace(Trace{Kind: TraceCommand, Text: line})
		b, lines = b[i+1:], lines+1
		c.authRefused = false
		if spelledAs(line, "DATA") || spelledAs(line, "BDAT") || spelledAs(line, "STARTTLS") ||
			slices.ContainsFunc(c.cfg.ForbiddenCommands, func(f string) bool { return equalFoldASCII(f, verb) }) {
			// What follows may be message data, a chunk (the engine takes
			// one after a BDAT line however spelled: isBdatLine), a
			// handshake, or no SMTP at all.
			commands = false
		}
	}
	switch {
	case len(b) > 0 && lines > 0:
		c.trace(Trace{Kind: TraceNote, Text: fmt.Sprintf("<%d octets more>", len(b))})
	case len(b) > 0:
		c.trace(Trace{Kind: TraceNote, Text: fmt.Sprintf("<%d octets>", len(b))})
	}
}

// readAhead reads what the client sends into the read buffer, as a
// read would, one read at a time, until a read fails (the end of input
// or a reset: the client left; a deadline: wait stopped it) or the
// buffer is full (nil: the engine reads no further ahead of its
// commands than it buffers anyway). It runs on wait's goroutine, while
// nothing else reads; what it read is served by the reads that follow,
// in order.
func (c *Conn) readAhead() error {
	for n := c.br.Buffered(); n < c.br.Size(); n = c.br.Buffered() {
		if _, err := c.br.Peek(n + 1); err != nil {
			return err
		}
	}
	return nil
}

// probeBound bounds left's read where the connection cannot tell
// whether input is queued (see queued): an end the client sent (TCP's
// FIN, TLS's close_notify) is already queued and returns at once, and a
// client still there costs the shutdown no more than this.
const probeBound = 10 * time.Millisecond

// queuedBound bounds left's read of what the connection said is queued:
// it returns at once, but for a TLS record the client sent in part. It
// is long, so that a goroutine scheduled late on a loaded machine still
// reads before it passes.
const queuedBound = time.Second

// beforeProbe runs just before left reads (peek); tests make it late, as
// a loaded machine makes the session's goroutine.
var beforeProbe = func() {}

// left is called once the driver's context has ended a read, a wait or
// a write (Next asks for the paths that do not: a reply deadlineWriter
// refused, a read not begun), and returns the error of a client that had
// left before: io.EOF, or a reset; nil when it is still there, or sent
// something not yet read. With behind (a wait, which reads ahead), what
// the client sent is read past, as far as the read buffer holds, and
// nil means that nothing but data is queued behind it.
// The end of the context sets a read deadline in the past (watch), and a
// read past its deadline fails without looking at the connection (Go's
// poller does not read), so an end of input already queued would go
// unseen, and the session end as a shutdown or as the client's close
// depending on which the session's goroutine saw first. left stops
// watching the context (its AfterFunc, running late, would put the
// deadline back in the past), reads what the engine's buffers hold (a
// past deadline fails a read that would need the socket), then asks the
// connection what is queued without reading it (queued: a TCP socket on
// Unix, mocksmtp's in-memory connections). Nothing: the client is
// there, and the shutdown costs nothing. Something: left reads it through
// the read buffer, which returns at once (data stays buffered for
// whatever follows, and over TLS the client's close_notify is read as
// io.EOF), or, for a TLS record the client sent in part, at queuedBound. A connection that cannot
// tell is read under a deadline a little ahead (probeBound); a goroutine
// scheduled later than that misses an end already queued, which is why
// the connections that can tell are asked.
//
// A context that ended at its deadline (a driver's idle time) is not
// asked about: a close that arrives as the time runs out is too late, as
// a command then is (ctxErr), so that in a testing/synctest bubble the
// end does not depend on which goroutine ran first at that instant. It
// asks once per context (leftAsked): a client still there costs the
// shutdown one probe, not one for the wait and one more for Next (behind:
// one for each read of what is queued, which returns at once, all of
// them within the one bound).
func (c *Conn) left(ctx context.Context, behind bool) error {
	if errors.Is(ctxErr(ctx), context.DeadlineExceeded) || c.leftAsked == ctx {
		return nil
	}
	c.leftAsked = ctx
	c.stopWatching()
	// The bounds are the look's in all, from now, not each read's:
	// behind what a client trickles, an octet at a time, the reads would
	// otherwise take a read buffer of them.
	now := time.Now()
	for {
		n := 1 // the octet a read would read first
		if behind {
			n = c.br.Buffered() + 1 // the one after what is buffered
			if n > c.br.Size() {
				return nil // as far as the wait reads ahead
			}
		}
		// The engine's buffers first: what the read buffer holds (sent,
		// not yet read: nil), a read error it kept, or a whole TLS
		// record crypto/tls read with the one before but did not open (a
		// close_notify sent with the last command), is read under a
		// deadline in the past, which fails without looking at the
		// socket (and breaks neither buffer: see wait).
		err := c.peek(aLongTimeAgo, n)
		if !isTimeout(err) {
			if err == nil && behind {
				continue // more that crypto/tls held: look behind it
			}
			return err
		}
		bound := probeBound
		switch in, err := queued(c.raw); in {
		case inputNone:
			return nil
		case inputQueued:
			if err != nil {
				return err // the socket's error, which peeking consumed
			}
			bound = queuedBound
		}
		if err := c.peek(now.Add(bound), n); err != nil || !behind {
			if isTimeout(err) {
				return nil
			}
			return err
		}
	}
}

// peek reads through the read buffer until it holds n octets, under
// deadline, which it then unsets (queued needs it unset), and returns
// the read's error.
func (c *Conn) peek(deadline time.Time, n int) error {
	_ = c.raw.SetReadDeadline(deadline)
	beforeProbe()
	_, err := c.br.Peek(n)
	_ = c.raw.SetReadDeadline(time.Time{})
	return err
}

// input is what a connection says it has queued for a read (queued).
type input int

const (
	inputUnknown input = iota // the connection cannot tell
	inputNone                 // nothing: a read would wait
	inputQueued               // data, the end of input or an error: a read returns at once
)

// queued asks conn what it has queued for a read, without reading it
// and without waiting: mocksmtp's in-memory connections say it
// (Pending), and a TCP socket on Unix is peeked at (peekSocket).
// A socket's error (a reset) is returned with inputQueued: the peek
// consumed it, and a read would now see the end of input instead.
func queued(conn net.Conn) (input, error) {
	if p, ok := conn.(interface{ Pending() bool }); ok {
		if p.Pending() {
			return inputQueued, nil
		}
		return inputNone, nil
	}
	return peekSocket(conn)
}

// goneAfterQuit returns io.EOF for err, a client gone, when ev is a QUIT
// the engine accepted: the client quit without waiting for the reply
// (while the server paused or hung), the normal end; err otherwise.
func goneAfterQuit(ev *Event, err error) error {
	if ev != nil && ev.Kind == Quit && ev.Err == nil && errors.Is(err, ErrClientGone) {
		return io.EOF
	}
	return err
}

// isTimeout reports whether err is a read deadline's.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
