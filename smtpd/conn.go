package smtpd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/mocksmtp/mocksmtp/internal/rawreply"

	"github.com/mocksmtp/mocksmtp/internal/clock"
	"github.com/mocksmtp/mocksmtp/internal/idle"
)

// Errors that end a session, returned by [Conn.Next]. Next returns io.EOF
// after QUIT and ctx.Err() when its context ends, unless the client had
// closed the connection before (ErrClientGone).
var (
	ErrClientGone       = errors.New("smtpd: client closed the connection")
	ErrTimeout          = errors.New("smtpd: client timed out")
	ErrDriverClosed     = errors.New("smtpd: connection closed as the driver answered")
	ErrTooManyErrors    = errors.New("smtpd: too many bad commands")
	ErrForbiddenCommand = errors.New("smtpd: not an SMTP command (Config.ForbiddenCommands)")
	ErrTLSHandshake     = errors.New("smtpd: TLS handshake failed")
	ErrFraming          = errors.New("smtpd: line framing lost")
	// ErrLineTooLong ends a session at a line longer than the engine
	// reads (1 MiB, LF included), after its 500: a command line, a line
	// of message text or an AUTH response. The error is ErrFraming too.
	ErrLineTooLong = errors.New("smtpd: line longer than 1 MiB")
	// ErrReplyCut ends a session whose client left while a paced reply
	// ([Answer.Pace]) was being written, after a part of it went out and
	// before the rest: the client read a part of a reply, not the reply.
	// The error is ErrClientGone too, and says how many octets of the
	// reply went out. At a [Quit] the engine accepted, Next returns
	// io.EOF instead, as after a client that leaves during [Conn.Pause].
	// A reply written at once whose write fails ends the session with
	// ErrClientGone alone.
	ErrReplyCut = errors.New("smtpd: reply cut short")
)

// Disposition is what happens to the connection after an answer's reply.
type Disposition int

// The dispositions.
const (
	KeepOpen      Disposition = iota // go on with the session (after QUIT's reply: close, as CloseConn)
	CloseConn                        // close gracefully: half-close, drain briefly, close; after QUIT's reply, close at once unless the client sent more
	HalfCloseConn                    // close the writing side only, then wait for the client to close
	ResetConn                        // close with a TCP reset (linger 0)
	Hang                             // write nothing more; wait until the client closes or the context ends
)

// Pace shapes how a reply's bytes are written.
type Pace struct {
	// SplitAt writes the first SplitAt bytes of the reply, flushes, and
	// then the rest: a reply split across TCP writes.
	SplitAt int
	// Chunk writes the reply Chunk bytes at a time, waiting Every between
	// writes (a trickle). The waits end when the context does, and when
	// the client leaves, which ends the session (see [Conn.Pause]) with
	// ErrReplyCut, the reply traced whole and a note saying how much of
	// it went out (io.EOF at a [Quit] the engine accepted: the client
	// quit without waiting for the reply, as during a Pause).
	Chunk int
	Every time.Duration
}

// Answer is the driver's full answer to an event. The zero Answer accepts.
//
// The reply to BDAT LAST is the end of the message's. An answer to a Bdat
// event with Last that takes the chunk (the default, a positive Reply or
// Raw) makes Next return the Message event, whose answer gives that reply
// and decides whether the message is accepted. The Bdat answer's positive
// Reply is the Message event's Reply, its default; its Raw is not written;
// its Pace and Then apply to the Message's reply (unless the Message's
// answer sets its own), so that the connection closes, half-closes,
// resets or hangs after that reply. A negative Reply refuses the chunk
// and the message with that reply; NoReply writes no reply, and no
// Message event follows (the client was told nothing): the transaction is
// over either way.
type Answer struct {
	// Reply replaces the engine's default reply. An empty Status is derived
	// (see [Reply]). A positive reply (2xx/3xx) to an event the engine
	// accepted lets it take effect; a negative one refuses it. Events the
	// engine rejected (Event.Err) never take effect.
	Reply *Reply
	// Raw, when non-nil, is written instead of any reply, byte for byte.
	// The event takes effect or not as under its default reply, but for
	// StartTLS: the handshake follows raw bytes only when their last line
	// is a complete 220, which tells the client to begin it (RFC 3207 4);
	// a client told anything else goes on in plaintext, and so does the
	// server, which would otherwise take the client's next command for
	// the first bytes of a handshake. So it is for a Reply: the handshake
	// follows a 220, not another positive reply.
	Raw []byte
	// NoReply writes no reply at all.
	NoReply bool
	// Then is what happens after the reply (for BDAT LAST, after the
	// reply to its Message event). After a reply of code 421, which says
	// that the server closes the channel (RFC 5321 3.8, 4.2.2), KeepOpen
	// is CloseConn, as after the engine's own 421s: the client reads the
	// 421, then the end of the connection, and Next returns
	// ErrDriverClosed (io.EOF after QUIT); nothing pipelined after the
	// command is answered.
	// So it is after the event's own 421 (a SASLServer's error, a
	// Config.VRFY reply) that the answer does not replace. Raw bytes are
	// not read: Raw "421 ..." with KeepOpen goes on (a server that says
	// 421 and does not close).
	Then Disposition
	// Pace shapes the writing of the reply.
	Pace Pace
	// DropAfterBytes, for Data and Bdat, closes the connection without a
	// reply once that many octets of message data have arrived, as sent
	// (dot-stuffed, DATA's final "." line counted), or of the chunk (0: off).
	DropAfterBytes int64
	// TLSConfig, for StartTLS and Connect, replaces Config.TLSConfig for
	// the handshake that follows (an expired certificate, an old TLS
	// version...).
	TLSConfig *tls.Config
}

// Conn is the server side of one SMTP connection. The driver calls Next in
// a loop and answers each event at most once; an event left unanswered is
// accepted. A Conn is not safe for concurrent use, except that its
// context may be cancelled from anywhere.
type Conn struct {
	cfg  Config
	raw  net.Conn // the accepted connection
	conn net.Conn // raw, or the TLS connection over it
	br   *bufio.Reader
	out  *[]byte // replies not yet written (see writeReply and flush)
	werr error   // why the last write failed; flush fails with it until Close
	buf  []byte  // scratch for paced replies

	started bool
	wmu     sync.Mutex      // guards watched for watch's AfterFunc; the driver's goroutine writes it
	watched context.Context // the context whose end unblocks the connection (watch)
	unwatch func() bool     // stops watching it
	cur     *Event          // the event waiting for an answer
	ans     Answer          // its answer, the zero Answer for the default
	err     error           // set once the session is over
	closed  bool
	// wshut is set once the writing side is shut (closeWrite): nothing
	// written after it reaches the client, so Close writes no reply.
	wshut bool
	// clientLeft is set when a read or a wait saw the client leave (end
	// of input, a reset): the session ends as its leaving says, also
	// when the driver's context has ended since (see left).
	clientLeft bool
	// leftAsked is the context whose end left asked about last: it asks
	// once per context, not once more for Next after a read or a wait.
	leftAsked context.Context
	// clk is the clock of the watched context (internal/clock), nil for
	// the time package's. On it, the session's time (now), from which
	// the server's waits count and which it tells the idle.Watch, is
	// real time (a frozen clock's start) plus moved: the clock's offset
	// when the client was last waited for (at the event or the write
	// after a blocking read: read; at the first event), plus what a wait
	// that a move ended since took of the move (see wait). The server's
	// work between (a parse, a callback, a write) passes on real time
	// alone, as on the time package's clock (on a frozen clock, not at
	// all), and a move counts once, for the first wait it reaches, also
	// one that had not begun yet.
	clk   *clock.Clock
	moved time.Duration
	read  bool // the server waited for the client (waiting) since moved was set, or has not set it yet
	// idle is the watched context's idle.Watch, if any: it is told when
	// the server waits for the client and when it writes (waiting,
	// replying).
	idle idle.Watch

	greeted bool // the Greeting event was returned
	refused bool // the greeting was negative: only QUIT is taken
	helo    string
	ehlo    bool
	tls     *tls.ConnectionState
	authed  bool
	tx      *Envelope // the transaction in progress, nil when none
	chunks  []byte    // BDAT data so far
	bad     int       // bad commands so far (see countsAsError)
	over    int       // recipients over the limit in this transaction
	junk    int       // junk commands since the last accepted message

	authRefused bool // the last AUTH was refused: mask what may be its exchange

	// lastBdat is what the answer to a BDAT LAST asked of the reply
	// that the Message event following it answers: its pace and what
	// happens after it.
	lastBdat lastBdat

	// head is the start of the last line readLine discarded as too long,
	// from its first octet that is no blank or tab (see noteHead): enough
	// of it to tell a BDAT line, whose chunk follows it unread.
	head    []byte
	headBuf [len("BDAT ")]byte

	writeTimeout time.Duration // of each write: cfg.WriteTimeout, shorter for the last ones
}

// NewConn returns a Conn serving nc with cfg (defaults filled in). Nothing
// is written until the first Next.
func NewConn(nc net.Conn, cfg Config) *Conn {
	cfg = cfg.withDefaults()
	c := &Conn{cfg: cfg, raw: nc, conn: nc, writeTimeout: cfg.WriteTimeout, read: true} // the moves before it are the past
	if size := max(readBufSize, cfg.MaxTextLine+1, cfg.MaxCommandLine+cfg.ParamAllowance+1); size > readBufSize {
		c.br = bufio.NewReaderSize(nc, size)
	} else {
		c.br = readers.Get().(*bufio.Reader)
		c.br.Reset(nc)
	}
	c.out = writers.Get().(*[]byte)
	return c
}

// deadlineWriter is where replies go: the connection, under a fresh write
// deadline for every write. The reply buffer is written through it when
// pipelined replies fill it, between two flushes: a deadline set only by
// flushes would have passed for a client idle longer than the write
// timeout.
type deadlineWriter struct{ c *Conn }

// Write checks the driver's context after setting the deadline: a context
// that ended before (its AfterFunc set a deadline in the past, which this
// one replaced) ends the write at once, rather than after the write
// timeout to a client that does not read. The last replies of a session
// that ends (flushLast: a QUIT's 221, a reply before a disconnection,
// Close's) are written with no context watched, each write waiting a
// second at most.
func (w deadlineWriter) Write(p []byte) (int, error) {
	_ = w.c.conn.SetWriteDeadline(time.Now().Add(w.c.writeTimeout))
	if ctx := w.c.watched; ctx != nil && ctx.Err() != nil {
		return 0, fmt.Errorf("%w: %w", errRefused, ctx.Err())
	}
	return w.c.conn.Write(p)
}

// errRefused is deadlineWriter's refusal to write once the driver's
// context has ended: nothing was written, and the replies wait in the
// buffer for flushLast, so it is not kept as a failed write is (werr).
var errRefused = errors.New("the driver's context ended before the write")

// readBufSize is the read buffer of a Conn with the default limits: room
// for the longest AUTH line.
const readBufSize = 16 << 10

// The buffers of closed connections, for the next ones: a server that
// takes a connection per message would otherwise allocate and clear 20 KiB
// for each.
var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufSize) }}
	writers = sync.Pool{New: func() any { b := make([]byte, 0, outSize); return &b }}
)

// outSize is the room for replies between two writes: writeReply writes
// them out once they fill it (a long pipelined batch).
const outSize = 4 << 10

// release gives the buffers back once the connection is closed; nothing
// reads or writes through them after that.
func (c *Conn) release() {
	if c.br.Size() == readBufSize {
		c.br.Reset(nil)
		readers.Put(c.br)
	}
	if cap(*c.out) <= 16*outSize {
		*c.out = (*c.out)[:0]
		writers.Put(c.out)
	}
	c.br, c.out = nil, nil
}

// RemoteAddr returns the client's address.
func (c *Conn) RemoteAddr() net.Addr { return c.raw.RemoteAddr() }

// LocalAddr returns the server's address.
func (c *Conn) LocalAddr() net.Addr { return c.raw.LocalAddr() }

// TLS returns the TLS state, or nil before TLS.
func (c *Conn) TLS() *tls.ConnectionState { return c.tls }

// Helo returns the name the client gave in its last HELO or EHLO.
func (c *Conn) Helo() string { return c.helo }

// Now returns the session's time, from which [Conn.Pause] counts:
// time.Now, but on the clock of the mocksmtp program, which its tests
// move ahead, that clock as the session has caught up with it: a move
// counts once the server waits for the client, or for the first pause
// it reaches, so that a command pipelined behind a paused one comes at
// the end of that pause, though a move went past it. A driver that
// times what happens in a session, on the time of its pauses, reads it.
func (c *Conn) Now() time.Time { return c.now() }

// Accept answers the current event with the engine's default reply.
func (c *Conn) Accept() { c.Answer(Answer{}) }

// Reply answers the current event with r.
func (c *Conn) Reply(r Reply) { c.Answer(Answer{Reply: &r}) }

// Answer answers the current event. The answer is carried out by the next
// call to Next. A second answer to the same event replaces the first.
func (c *Conn) Answer(a Answer) {
	if c.cur != nil {
		c.ans = a
	}
}

var aLongTimeAgo = time.Unix(1, 0)

// Next carries out the answer to the previous event (the default one if
// the driver gave none), then reads until the next event and returns it.
// It returns io.EOF after QUIT, ctx.Err() when ctx ends (the connection is
// then left open for [Conn.Close] to write a last reply; but in a TLS
// handshake, which no reply may interrupt, it is closed, and the error
// wraps both ErrTLSHandshake and ctx.Err()), and otherwise one of the Err…
// values, possibly wrapped; after an error the session is over.
// A client that had closed the connection before ctx ended, while Next
// read or waited, is [ErrClientGone], also when Next had not seen the
// close yet: the end of ctx does not hide it.
func (c *Conn) Next(ctx context.Context) (*Event, error) {
	if c.err != nil {
		return nil, c.err
	}
	c.watch(ctx)
	ev, err := c.next(ctx)
	if err != nil {
		c.stopWatching()
		switch {
		case ctxErr(ctx) == nil || c.closed || c.clientLeft:
			c.abort()
		default:
			// A path that met the end of ctx without asking whether the
			// client had left (a reply that deadlineWriter refused to
			// write, a read not begun) asks now: see left.
			if lerr := c.left(ctx, false); lerr != nil {
				c.clientLeft = true
				err = fmt.Errorf("%w: %w", ErrClientGone, lerr)
				c.abort()
				break
			}
			// Interrupted, not finished: the driver may still Close with a reply.
			err = ctxErr(ctx)
			_ = c.raw.SetDeadline(time.Time{})
		}
		c.err = err
		c.cur, c.ans = nil, Answer{}
		return nil, err
	}
	c.cur, c.ans = ev, Answer{}
	if c.read {
		// Waited for; a pipelined command, taken from what was read
		// before, was not: a move not used yet still counts.
		c.caughtUp()
	}
	return ev, nil
}

// ctxErr returns ctx.Err(), or context.DeadlineExceeded once the clock
// has reached ctx's deadline though its timer has not run yet: in a
// testing/synctest bubble, a read timeout that runs out at that same
// instant is then the context's end (a driver's idle deadline), every
// time, not by which timer the runtime ran first. The deadline is on
// the clock ctx carries (internal/clock), if any.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !clock.From(ctx).Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// watch makes the end of ctx unblock the connection's reads and writes,
// with one context.AfterFunc for as long as the driver passes the same
// context, not one per event. A context that ends between two calls of
// Next (a driver's context for one event) leaves the deadline in the
// past; every blocking read or write sets its deadline and then checks
// its context, so none is cut short by it. Once the driver passes another
// context, the AfterFunc of the last one does nothing, even if it runs
// late.
func (c *Conn) watch(ctx context.Context) {
	if c.watched == ctx {
		return
	}
	c.clk, c.idle = clock.From(ctx), idle.From(ctx)
	c.stopWatching()
	c.wmu.Lock()
	c.watched = ctx
	c.wmu.Unlock()
	c.unwatch = context.AfterFunc(ctx, func() {
		c.wmu.Lock()
		defer c.wmu.Unlock()
		if c.watched == ctx {
			_ = c.raw.SetDeadline(aLongTimeAgo)
		}
	})
}

// stopWatching ends watch's AfterFunc, which would otherwise stay
// registered with a long-lived context after the session.
func (c *Conn) stopWatching() {
	if c.unwatch != nil {
		c.wmu.Lock()
		c.watched = nil
		c.wmu.Unlock()
		c.unwatch()
		c.unwatch = nil
	}
}

func (c *Conn) next(ctx context.Context) (*Event, error) {
	if !c.started {
		c.started = true
		if c.cfg.ImplicitTLS {
			return &Event{Kind: Connect}, nil
		}
		return c.greeting(), nil
	}
	if c.cur != nil {
		// A copy: an Answer given while finish runs (from a Trace
		// callback) does not change the answer carried out.
		a := c.ans
		ev, err := c.finish(ctx, c.cur, &a)
		c.cur, c.ans = nil, Answer{}
		if err != nil || ev != nil {
			return ev, err
		}
	}
	return c.readCommand(ctx)
}

func (c *Conn) greeting() *Event {
	c.greeted = true
	return &Event{Kind: Greeting, Reply: reply(220, "", c.cfg.Hostname+" "+c.cfg.Banner)}
}

// lastBdat is the part of a BDAT LAST's answer carried over to the
// reply to its Message event (see Answer). The zero lastBdat, a DATA
// message's, changes nothing.
type lastBdat struct {
	then Disposition
	pace Pace
}

// finish carries out answer a to event ev and returns the event that
// follows from it without reading a command, if any.
func (c *Conn) finish(ctx context.Context, ev *Event, a *Answer) (*Event, error) {
	if ev.Kind == Message {
		// The reply to BDAT LAST: paced, and followed, as that answer
		// asked, unless this one asks otherwise.
		if a.Then == KeepOpen {
			a.Then = c.lastBdat.then
		}
		if a.Pace == (Pace{}) {
			a.Pace = c.lastBdat.pace
		}
		c.lastBdat = lastBdat{}
	}
	r := ev.Reply
	if a.Reply != nil {
		r = a.Reply.withStatus(ev.Reply)
	}
	// The event takes effect when the engine accepted it and the reply
	// says so; raw bytes and silence leave the default's verdict, but
	// for STARTTLS (see Answer.Raw).
	verdict := r
	if a.Raw != nil || a.NoReply {
		verdict = ev.Reply
	}
	takes := ev.Err == nil && verdict.Positive()
	if ev.Kind == StartTLS && !startsTLS(a, r) {
		takes = false
	}
	counted := c.countsAsError(ev)
	if counted {
		c.bad++
	}

	// BDAT's reply follows its chunk.
	if ev.Kind == Bdat {
		return c.finishBdat(ctx, ev, a, r, takes, counted)
	}
	if ev.Kind == Connect {
		// A reply or raw bytes go out in plaintext, before the handshake:
		// a server that does not speak TLS on its TLS port.
		if a.Reply != nil || a.Raw != nil {
			if err := c.write(ctx, a, r); err != nil {
				return nil, err
			}
		}
		if err := c.then(ctx, closesAfter(a, r)); err != nil {
			return nil, err
		}
		cfg := c.cfg.TLSConfig
		if a.TLSConfig != nil {
			cfg = a.TLSConfig
		}
		return c.handshake(ctx, cfg, true)
	}
	if ev.Kind == Handshake {
		if err := c.then(ctx, a.Then); err != nil {
			return nil, err
		}
		if !c.greeted {
			return c.greeting(), nil // implicit TLS: the greeting follows the handshake
		}
		return nil, nil
	}
	if err := c.write(ctx, a, r); err != nil {
		// A client that leaves in the middle of a paced 221 quit
		// without waiting for it, as during a Pause.
		return nil, goneAfterQuit(ev, err)
	}
	if ev.unreadChunk && a.Then == KeepOpen {
		c.closeGracefully(ctx)
		return nil, fmt.Errorf("%w: a BDAT line refused unread, its chunk following", ErrFraming)
	}
	if ev.Reason == ReasonForbiddenCommand && a.Then == KeepOpen {
		c.trace(Trace{Kind: TraceNote, Text: fmt.Sprintf("closed the connection at %q, not an SMTP command: a cross-protocol request, such as a web page's", ev.Verb)})
		c.closeGracefully(ctx)
		return nil, ErrForbiddenCommand
	}
	a.Then = closesAfter(a, r)
	if err := c.tooManyErrors(ctx, counted, a); err != nil {
		return nil, err
	}
	if ev.Kind == Quit && ev.Err == nil && (a.Then == KeepOpen || a.Then == CloseConn) {
		// Other dispositions (reset, half-close, hang) are carried out below.
		c.closeAfterQuit(ctx)
		return nil, io.EOF
	}
	if err := c.then(ctx, a.Then); err != nil {
		return nil, goneAfterQuit(ev, err)
	}
	if ev.Kind == Message {
		c.resetTx()
		if takes {
			c.junk = 0
		}
	}
	if !takes {
		if ev.Kind == Greeting {
			c.refused = true
		}
		return nil, nil
	}
	switch ev.Kind {
	case Helo, Ehlo:
		c.resetTx()
		c.helo, c.ehlo = ev.Arg, ev.Kind == Ehlo
	case StartTLS:
		cfg := c.cfg.TLSConfig
		if a.TLSConfig != nil {
			cfg = a.TLSConfig
		}
		return c.handshake(ctx, cfg, false)
	case Auth:
		c.authed = true
	case Mail:
		c.tx = &Envelope{From: ev.Path, Params: ev.Params}
	case Rcpt:
		c.tx.To = append(c.tx.To, ev.Path)
		c.tx.RcptParams = append(c.tx.RcptParams, ev.Params)
	case Data:
		return c.readData(ctx, a.DropAfterBytes)
	case Rset:
		c.resetTx()
	}
	return nil, nil
}

// startsTLS reports whether the answer a to STARTTLS, whose reply is r
// unless it writes raw bytes or none, tells the client to begin the
// handshake: a 220 (RFC 3207 4), the one reply after which clients begin
// it; for raw bytes, a complete last line of code 220
// (rawreply.StartsTLS). With no reply, the engine's verdict stands.
func startsTLS(a *Answer, r Reply) bool {
	switch {
	case a.NoReply:
		return true
	case a.Raw != nil:
		return rawreply.StartsTLS(a.Raw)
	}
	return r.Code == 220
}

// closesAfter returns what follows the reply r that a answers with: the
// answer's Then, or CloseConn when that keeps the connection open after
// a reply of code 421, which says that the server closes the channel (RFC
// 5321 3.8, 4.2.2), as the engine's own 421s do. Whoever chose the 421 (an
// Answer's Reply, a SASL server's error, Config.VRFY), the client has
// been told; raw bytes say nothing to the engine (a server that writes
// "421" and goes on), and NoReply writes none.
func closesAfter(a *Answer, r Reply) Disposition {
	if a.Then == KeepOpen && r.Code == 421 && a.Raw == nil && !a.NoReply {
		return CloseConn
	}
	return a.Then
}

// tooManyErrors ends the session with 421 4.7.0 when the event just
// answered was a bad command (counted) and the MaxBadCommands-th, unless
// the answer ends it otherwise.
func (c *Conn) tooManyErrors(ctx context.Context, counted bool, a *Answer) error {
	if counted && c.bad >= c.cfg.MaxBadCommands && a.Then == KeepOpen {
		c.writeReply(reply(421, "4.7.0", c.cfg.Hostname+" Error: too many errors"))
		c.closeGracefully(ctx)
		return ErrTooManyErrors
	}
	return nil
}

// countsAsError reports whether ev adds to the session's bad commands:
// every event the engine rejects, but the first MaxRecipientOvershoot
// recipients over the limit of a transaction; and every junk command past
// MaxJunkCommands since the last accepted message. A junk command refused
// for want of TLS (530) is a bad command, not a junk one: as Postfix, which
// answers it before the command runs, and counts only what runs as junk.
func (c *Conn) countsAsError(ev *Event) bool {
	switch ev.Kind {
	case Noop, Rset, Vrfy, Expn, Help:
		if ev.Reason == ReasonTLSRequired {
			return true
		}
		c.junk++
		return ev.Err != nil || c.junk > c.cfg.MaxJunkCommands
	case Rcpt:
		if ev.Reason == ReasonTooManyRecipients {
			c.over++
			return c.over > c.cfg.MaxRecipientOvershoot
		}
	}
	return ev.Err != nil
}

// then carries out a disposition.
func (c *Conn) then(ctx context.Context, d Disposition) error {
	switch d {
	case CloseConn:
		c.closeGracefully(ctx)
		return ErrDriverClosed
	case ResetConn:
		c.flushLast()
		// A *net.TCPConn, or any connection that resets the same way
		// (mocksmtp's in-memory ones): linger 0, then close.
		if lc, ok := c.raw.(interface{ SetLinger(sec int) error }); ok {
			_ = lc.SetLinger(0)
		}
		c.abort()
		return ErrDriverClosed
	case HalfCloseConn:
		c.flushLast()
		c.watch(ctx) // its end ends the hang
		c.closeWrite()
		c.hang(ctx)
		return ErrDriverClosed
	case Hang:
		c.flush()
		return c.hang(ctx)
	}
	return nil
}

// hang reads and discards until the client closes or ctx ends (when the
// client had closed before, that is its leaving: see left).
func (c *Conn) hang(ctx context.Context) error {
	_ = c.raw.SetReadDeadline(time.Time{})
	var err error
	if ctx.Err() == nil {
		_, err = io.Copy(io.Discard, c.conn)
	}
	if ctx.Err() != nil {
		if err = c.left(ctx, false); err == nil {
			return ctx.Err()
		}
	}
	if err == nil {
		err = io.EOF
	}
	c.clientLeft = true
	return fmt.Errorf("%w while the server hung: %w", ErrClientGone, err)
}

func (c *Conn) resetTx() {
	c.tx, c.chunks, c.over = nil, nil, 0
}

// write writes the answer's reply (or raw bytes, or nothing).
func (c *Conn) write(ctx context.Context, a *Answer, r Reply) error {
	switch {
	case a.NoReply:
		return nil
	case a.Raw != nil:
		c.trace(Trace{Kind: TraceReply, Text: string(a.Raw)})
		return c.paced(ctx, a.Pace, a.Raw)
	}
	if a.Pace == (Pace{}) {
		c.writeReply(r)
		return nil
	}
	r = c.outgoing(r)
	c.buf = r.appendWire(c.buf[:0])
	c.traceReply(c.buf)
	return c.paced(ctx, a.Pace, c.buf)
}

// writeReply buffers a reply; it is flushed before the next blocking read,
// or at once when the buffer is full (an error then waits for that flush).
func (c *Conn) writeReply(r Reply) {
	r = c.outgoing(r)
	n := len(*c.out)
	*c.out = r.appendWire(*c.out)
	c.traceReply((*c.out)[n:])
	if len(*c.out) >= outSize {
		_ = c.flush()
	}
}

// outgoing drops enhanced status codes when ENHANCEDSTATUSCODES is off.
func (c *Conn) outgoing(r Reply) Reply {
	if !c.cfg.has(ExtEnhancedStatusCodes) {
		r.Status = ""
	}
	return r
}

// traceReply traces each line of a reply as written, b.
func (c *Conn) traceReply(b []byte) {
	if c.cfg.Trace == nil {
		return
	}
	for len(b) > 0 {
		i := 0
		for i+1 < len(b) && !(b[i] == '\r' && b[i+1] == '\n') {
			i++
		}
		c.cfg.Trace(Trace{Kind: TraceReply, Text: string(b[:i])})
		b = b[min(i+2, len(b)):]
	}
}

// paced writes b after flushing what is buffered, shaped by p. When the
// end of ctx or a failed write cuts it short, what it did not write waits
// in the reply buffer, as flush leaves it: Close writes it, unpaced, before
// its own reply, so that the client never sees a reply cut in two.
func (c *Conn) paced(ctx context.Context, p Pace, b []byte) error {
	if err := c.flush(); err != nil {
		*c.out = append(*c.out, b...) // for Close, after the rest
		return err
	}
	size := len(b) // of each part
	switch {
	case p.Chunk > 0:
		size = p.Chunk
	case p.SplitAt > 0 && p.SplitAt < len(b):
		size = p.SplitAt
	}
	// Each pause begins once the part before it is written, on the
	// session's time (see wait): a client that has read a part, and has
	// the clock moved past the pause, gets the rest at once, even if the
	// pause had not begun yet, and a move past several pauses ends them
	// all, as that much time would.
	kind := clock.SplitReply
	if p.Chunk > 0 {
		kind = clock.Trickle
	}
	for off := 0; off < len(b); {
		if off > 0 {
			// A client that leaves between two writes ends the reply,
			// however long the pause (see wait).
			err := c.wait(ctx, kind, p.Every)
			if errors.Is(err, ErrClientGone) {
				return c.replyCut(off, len(b), err)
			} else if err != nil {
				*c.out = append(*c.out, b[off:]...)
				return err
			}
		}
		part := b[off:]
		if p.Chunk > 0 || off == 0 {
			part = part[:min(size, len(part))]
		}
		c.replying() // its pauses are the server's time, not the client's
		n, err := deadlineWriter{c}.Write(part)
		off += n
		if err != nil {
			*c.out = append(*c.out, b[off:]...)
			err = c.failed(err)
			if off > 0 && !errors.Is(err, errRefused) {
				err = c.replyCut(off, len(b), err)
			}
			return err
		}
	}
	return nil
}

// replyCut notes, and returns the error of, a client gone (err) after
// written of the size octets of a paced reply went out: the trace has
// the whole reply, which the client did not get.
func (c *Conn) replyCut(written, size int, err error) error {
	c.trace(Trace{Kind: TraceNote, Text: fmt.Sprintf("reply cut short after %d of %d octets: the client left", written, size)})
	return fmt.Errorf("%w after %d of %d octets: %w", ErrReplyCut, written, size, err)
}

// flushLast writes out the replies of a session that ends, whether or
// not the driver's context has ended: it stops watching the context, so
// that its end neither refuses these writes (see deadlineWriter) nor cuts
// them short (watch's AfterFunc), and no write waits more than a second,
// so that a shutdown stays prompt. A caller that reads after it watches
// the context again.
func (c *Conn) flushLast() error {
	c.stopWatching()
	c.writeTimeout = min(c.writeTimeout, time.Second)
	return c.flush()
}

// flush writes out buffered replies. What a failed write did not write
// stays buffered, whole replies or the rest of one, and the error stays
// too, so that a client gone is not waited for twice. Close forgets the
// error and tries once more: a write that the end of the driver's context
// cut short (a shutdown while the client reads slowly) is then finished
// before the last reply, and the client sees every reply whole. Over
// TLS it cannot be: crypto/tls fails every write after one that failed,
// so Close writes nothing more there and closes.
//
// (A bufio.Writer cannot do this: after an error it writes nothing again.)
func (c *Conn) flush() error {
	if c.werr != nil {
		return c.werr
	}
	b := *c.out
	if len(b) == 0 {
		return nil
	}
	c.replying()
	n, err := deadlineWriter{c}.Write(b)
	*c.out = b[:copy(b, b[n:])]
	if err != nil {
		return c.failed(err)
	}
	return nil
}

// waiting tells the driver's context, if it asks (internal/idle), that
// the server has written its replies and now waits for the client; a
// blocking read calls it after its flush.
func (c *Conn) waiting() {
	c.read = true
	if c.idle != nil {
		c.idle.Waiting(c.now())
	}
}

// replying tells the driver's context, if it asks, that the server is
// about to write (replies, or a part of a paced one): the client, which
// waits for the reply, is not idle.
func (c *Conn) replying() {
	if c.read {
		c.caughtUp()
	}
	if c.idle != nil {
		c.idle.Replying(c.now())
	}
}

// now returns the session's time: on the driver's clock, the clock
// unmoved (real time, or a frozen clock's start) plus its moves until
// the client was last waited for and what the session's waits used of
// those since (see moved), not the moves no wait used yet; else
// time.Now.
func (c *Conn) now() time.Time {
	if c.clk == nil {
		return time.Now()
	}
	return c.unmoved().Add(c.moved)
}

// unmoved returns what the driver's clock would read had it never
// moved: real time, or a frozen clock's start (internal/clock).
func (c *Conn) unmoved() time.Time {
	off, now := c.clk.Offset()
	return now.Add(-off)
}

// caughtUp gives the session's time every move of the clock so far,
// once the server has waited for the client (a blocking read, before the
// event or the write that follows it): the moves meanwhile were the
// client's time.
func (c *Conn) caughtUp() {
	c.read = false
	if c.clk != nil {
		c.moved, _ = c.clk.Offset()
	}
}

// ranOut keeps, once a wait from since for d ran its course, the
// session's time at its end at least: a move of the clock past the
// end ended it, and what the move went past it counts for the next wait.
func (c *Conn) ranOut(since time.Time, d time.Duration) {
	if c.clk != nil {
		c.moved = max(c.moved, since.Add(d).Sub(c.unmoved()))
	}
}

// failed returns the error of a write that failed, and keeps it (werr)
// unless the write was only refused (errRefused).
func (c *Conn) failed(err error) error {
	err = fmt.Errorf("%w: %w", ErrClientGone, err)
	if !errors.Is(err, errRefused) {
		c.werr = err
	}
	return err
}

func (c *Conn) trace(t Trace) {
	if c.cfg.Trace != nil {
		c.cfg.Trace(t)
	}
}

// handshake runs a TLS handshake over the raw connection: the one that
// opens it (implicit TLS, at Connect), or STARTTLS's.
func (c *Conn) handshake(ctx context.Context, cfg *tls.Config, implicit bool) (*Event, error) {
	if err := c.flush(); err != nil {
		return nil, err
	}
	c.waiting()
	under := c.raw
	if n := c.br.Buffered(); n > 0 && implicit {
		// The start of the client's handshake, which a wait before it
		// read ahead (Pause watches the client then too): the handshake
		// reads it first.
		b, _ := c.br.Peek(n)
		under = &readAheadConn{Conn: c.raw, ahead: bytes.Clone(b)}
		_, _ = c.br.Discard(n)
	} else if n > 0 {
		// Plaintext pipelined after STARTTLS must not be taken as commands
		// sent under TLS (CVE-2011-0411).
		_, _ = c.br.Discard(n)
		c.trace(Trace{Kind: TraceNote, Text: fmt.Sprintf("discarded %d octets sent after STARTTLS before the TLS handshake", n), Size: int64(n)})
	}
	if cfg == nil {
		return nil, fmt.Errorf("%w: no TLS configuration", ErrTLSHandshake)
	}
	_ = c.raw.SetDeadline(time.Now().Add(c.cfg.ReadTimeout))
	if err := ctxErr(ctx); err != nil {
		// The client is about to start its handshake, or has: a
		// plaintext reply (Close's) would break it. The connection
		// closes.
		c.abort()
		return nil, fmt.Errorf("%w: %w", ErrTLSHandshake, err)
	}
	tc := tls.Server(under, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		if cerr := ctxErr(ctx); cerr != nil {
			// Cut short by the end of ctx (crypto/tls closed the
			// connection, or watch's deadline ended the read): that is no
			// client leaving (see left), and no reply may follow half a
			// handshake. ctxErr, not ctx.Err: a read timeout that ran out
			// at ctx's deadline, in a synctest bubble, is that deadline's
			// end too, whichever timer ran first; else Next would leave
			// the connection open for Close's plaintext reply.
			c.abort()
			return nil, fmt.Errorf("%w: %w", ErrTLSHandshake, cerr)
		}
		// Why, in the transcript too: the client refused the certificate
		// or the version, spoke no TLS, went silent... (without the
		// addresses of a network error, which the session has).
		why := err.Error()
		if op := (*net.OpError)(nil); errors.As(err, &op) {
			why = op.Op + ": " + op.Err.Error() // "remote error: tls: bad certificate", "read: i/o timeout"
			if se := (*os.SyscallError)(nil); errors.As(op.Err, &se) {
				why = op.Err.Error() // "read: connection reset by peer", not "read: read: ..."
			}
		}
		c.trace(Trace{Kind: TraceNote, Text: "TLS handshake failed: " + why})
		return nil, fmt.Errorf("%w: %w", ErrTLSHandshake, err)
	}
	_ = c.raw.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	c.conn, c.tls = tc, &st
	c.br.Reset(tc)
	c.helo, c.ehlo, c.authed = "", false, false
	c.resetTx()
	c.trace(Trace{Kind: TraceNote, Text: fmt.Sprintf("TLS handshake done: %s, %s, server name %q",
		tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite), st.ServerName)})
	return &Event{Kind: Handshake, TLS: &st}, nil
}

// readAheadConn is a connection whose reads return ahead first: what was
// read from it before, into the read buffer, for a TLS handshake that
// reads the connection itself.
type readAheadConn struct {
	net.Conn
	ahead []byte
}

func (r *readAheadConn) Read(b []byte) (int, error) {
	if len(r.ahead) > 0 {
		n := copy(b, r.ahead)
		r.ahead = r.ahead[n:]
		return n, nil
	}
	return r.Conn.Read(b)
}

// closeWrite half-closes the connection.
func (c *Conn) closeWrite() {
	c.wshut = true
	if tc, ok := c.conn.(*tls.Conn); ok {
		_ = tc.CloseWrite()
	}
	if cw, ok := c.raw.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// closeGracefully flushes, half-closes and drains briefly before closing,
// so the last reply is not destroyed by a TCP reset.
func (c *Conn) closeGracefully(ctx context.Context) {
	c.flushLast()
	c.watch(ctx) // its end ends the drain
	c.closeWrite()
	if ctx.Err() == nil {
		_ = c.raw.SetReadDeadline(time.Now().Add(time.Second))
		if ctx.Err() == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(c.raw, 64<<10))
		}
	}
	c.abort()
}

// closeAfterQuit ends a session after the reply to QUIT. A client sends
// nothing after QUIT, so the connection closes at once, as Postfix's and
// other MTAs' do; one that pipelined more after its QUIT is drained as
// by closeGracefully, so that its unread lines do not make the close a
// TCP reset, which would destroy the 221 before the client reads it.
func (c *Conn) closeAfterQuit(ctx context.Context) {
	if c.br.Buffered() > 0 {
		c.closeGracefully(ctx)
		return
	}
	c.flushLast()
	if tc, ok := c.conn.(*tls.Conn); ok {
		_ = tc.CloseWrite() // TLS's close_notify: the session's data ends here
	}
	c.abort()
}

// abort closes the connection at once.
func (c *Conn) abort() {
	c.stopWatching()
	if !c.closed {
		c.closed = true
		_ = c.raw.Close()
		c.release()
	}
}

// Close ends the session: it writes r (when non-nil, and the writing
// side is not shut already, as HalfCloseConn shuts it) and closes the
// connection gracefully but without waiting long. It is what a driver
// calls after Next returned ctx.Err() (an unsolicited 421, a shutdown),
// and is safe to call at any time, more than once.
func (c *Conn) Close(r *Reply) error {
	if c.closed {
		return nil
	}
	if c.err == nil {
		c.err = ErrDriverClosed
	}
	if r != nil && !c.wshut {
		c.stopWatching() // before writeReply, which may flush
		c.werr = nil
		_ = c.raw.SetDeadline(time.Now().Add(time.Second))
		c.writeReply(*r)
		c.flushLast()
		c.closeWrite()
		_ = c.raw.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		_, _ = io.Copy(io.Discard, io.LimitReader(c.raw, 64<<10))
	}
	c.abort()
	return nil
}
