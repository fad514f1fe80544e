// Package memnet is an in-memory network for tests: a [Listener] that
// clients [Listener.Dial] without a socket, and connections that behave
// like TCP ones where SMTP code can tell the difference.
//
// Unlike [net.Pipe], a connection is buffered both ways (up to
// [BufferSize] octets each way), so a server that writes before it reads
// and a client that pipelines do not deadlock. It honours read and write
// deadlines, half-closes with CloseWrite, and resets with SetLinger(0)
// and Close, as a [net.TCPConn] does. Every wait is on a channel or a
// timer of the time package and no goroutine runs in the background, so
// that inside a testing/synctest bubble deadlines follow the bubble's
// clock and a blocked Read or Write is durably blocked.
//
// What the peer sees, as over TCP on Linux:
//   - after Close or CloseWrite: the data written before, then io.EOF;
//   - after a reset (SetLinger(0) then Close, or Close with data left
//     unread, which a TCP stack answers with a reset too): the data
//     written before, then ECONNRESET, once, from the first Read or
//     Write that meets it; after that Read returns io.EOF and Write
//     fails with EPIPE. What the peer wrote and the resetting end had
//     not read is lost;
//   - writing to a closed peer: the first Write succeeds (its data is
//     lost), later ones fail with EPIPE.
package memnet

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// BufferSize is how many octets one direction of a connection holds
// before Write blocks until the peer reads.
const BufferSize = 1 << 20

// Listener is a [net.Listener] that clients reach with [Listener.Dial].
// Its methods are safe for concurrent use.
type Listener struct {
	addr    *net.TCPAddr
	bubbled bool // made inside a testing/synctest bubble: dials from outside are refused, and the other way round

	mu      sync.Mutex // guards everything below
	queue   []*Conn    // the server ends of dialed connections not yet accepted
	closed  bool
	dialed  int           // connections dialed so far, for client addresses
	changed chan struct{} // closed and replaced when queue or closed changes
}

// NewListener returns a listener whose Addr is addr. Made inside a
// testing/synctest bubble, it takes dials from inside a bubble only;
// made outside, from outside only (see [ErrOtherClock]).
func NewListener(addr *net.TCPAddr) *Listener {
	return &Listener{addr: addr, bubbled: InBubble(), changed: make(chan struct{})}
}

// ErrOtherClock is why [Listener.Dial] refuses a dial from inside a
// testing/synctest bubble to a listener made outside one, or from
// outside to a listener made inside one. Such a connection cannot work:
// its two ends would wait on channels and timers of different clocks,
// a bubble's goroutine waiting on one that only a goroutine outside can
// wake counts as deadlocked, and the runtime makes it a fatal error to
// touch a bubble's channels from outside it, which ends every test of
// the binary. (A dial from one bubble to a listener of another is not
// caught.)
var ErrOtherClock = errors.New("memnet: the listener and the dial are on different clocks: one runs inside a testing/synctest bubble, the other outside")

// InBubble reports whether the calling goroutine runs inside a
// testing/synctest bubble. Nothing exported says so; the bubble's clock
// does: time.Now there has no monotonic reading (the runtime omits it,
// so that times of the two clocks are never subtracted by mistake), and
// outside it always has one. Round(0) strips the monotonic reading.
func InBubble() bool {
	now := time.Now()
	return now == now.Round(0)
}

// Addr returns the listener's address.
func (l *Listener) Addr() net.Addr { return l.addr }

// Accept waits for a connection and returns the server's end of it. After
// Close it returns an error that wraps [net.ErrClosed].
func (l *Listener) Accept() (net.Conn, error) {
	l.mu.Lock()
	for {
		if l.closed {
			l.mu.Unlock()
			return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: net.ErrClosed}
		}
		if len(l.queue) > 0 {
			c := l.queue[0]
			l.queue[0] = nil
			l.queue = l.queue[1:]
			l.mu.Unlock()
			return c, nil
		}
		ch := l.changed
		l.mu.Unlock()
		<-ch
		l.mu.Lock()
	}
}

// Close stops the listener: Accept returns, later dials are refused, and
// connections dialed but not accepted are reset, as a TCP stack resets
// the connections of its backlog. Connections accepted before stay open.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return &net.OpError{Op: "close", Net: "tcp", Addr: l.addr, Err: net.ErrClosed}
	}
	l.closed = true
	queue := l.queue
	l.queue = nil
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
	for _, c := range queue {
		c.reset()
	}
	return nil
}

// Dial connects to the listener and returns the client's end of a new
// connection, which Accept returns the other end of. It does not wait for
// Accept, as a TCP connection completes in the listener's backlog. It
// fails when ctx is done or the listener is closed (ECONNREFUSED), and
// with [ErrOtherClock] when the listener was made inside a
// testing/synctest bubble and the dial comes from outside, or the other
// way round.
//
// The client's address is 127.0.0.1 with a port from 49152 on, distinct
// for each connection of the listener (the address goes on to 127.0.0.2
// after 16384 connections).
func (l *Listener) Dial(ctx context.Context) (*Conn, error) {
	if InBubble() != l.bubbled {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: l.addr, Err: ErrOtherClock}
	}
	if err := ctx.Err(); err != nil {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: l.addr, Err: err}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: l.addr, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	n := l.dialed
	l.dialed++
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+n/16384%254)), Port: 49152 + n%16384}
	client, server := Pipe(local, l.addr)
	l.queue = append(l.queue, server)
	close(l.changed)
	l.changed = make(chan struct{})
	return client, nil
}

// Pipe returns the two ends of a new connection: a, whose LocalAddr is
// aAddr and RemoteAddr bAddr, and b, the other way round.
func Pipe(aAddr, bAddr net.Addr) (a, b *Conn) {
	l := &link{changed: make(chan struct{})}
	a = &Conn{link: l, side: 0, local: aAddr, remote: bAddr}
	b = &Conn{link: l, side: 1, local: bAddr, remote: aAddr}
	a.rd.init()
	a.wd.init()
	b.rd.init()
	b.wd.init()
	return a, b
}

// link is what the two ends of a connection share.
type link struct {
	mu  sync.Mutex // guards everything below, and both Conns' closed and linger
	dir [2]stream  // dir[i] carries what end i writes
	// reset[i] says that end i's peer reset the connection; pending[i],
	// that none of end i's Reads and Writes has reported it yet.
	reset, pending [2]bool
	changed        chan struct{} // closed and replaced on every change of the fields, when waited on
	waiters        int           // Reads and Writes waiting on changed
}

// stream is one direction of a connection.
type stream struct {
	buf        []byte // buf[off:] is written, not read yet; the storage is reused
	off        int
	eof        bool // the writer is done (Close, CloseWrite, reset): the reader gets io.EOF after buf
	readerGone bool // the reader closed: writes are lost, and fail after the first
	lostWrite  bool // a write was lost to the closed reader: the next ones fail (EPIPE)
}

// len returns how many octets wait to be read.
func (s *stream) len() int { return len(s.buf) - s.off }

// broadcastLocked wakes every waiter of the link. l.mu must be held.
func (l *link) broadcastLocked() {
	if l.waiters > 0 {
		close(l.changed)
		l.changed = make(chan struct{})
	}
}

// Conn is one end of an in-memory connection: a [net.Conn] with
// CloseWrite and SetLinger as on a [net.TCPConn]. Its methods are safe for
// concurrent use.
type Conn struct {
	link   *link
	side   int // this end writes link.dir[side] and reads link.dir[1-side]
	local  net.Addr
	remote net.Addr
	rd, wd deadline

	// Guarded by link.mu.
	closed bool
	linger int // as set by SetLinger; 0 makes Close reset
	lset   bool
}

// Read reads what the peer wrote. It waits until there is something to
// read, the peer is done (io.EOF), the connection is reset or closed, or
// the read deadline passes.
func (c *Conn) Read(p []byte) (int, error) {
	l := c.link
	l.mu.Lock()
	for {
		in := &l.dir[1-c.side]
		switch {
		case c.closed:
			l.mu.Unlock()
			return 0, c.opError("read", net.ErrClosed)
		case c.rd.expired():
			l.mu.Unlock()
			return 0, c.opError("read", os.ErrDeadlineExceeded)
		case len(p) == 0:
			l.mu.Unlock()
			return 0, nil
		case in.len() > 0:
			n := copy(p, in.buf[in.off:])
			in.off += n
			if in.off == len(in.buf) {
				in.buf, in.off = in.buf[:0], 0
			}
			l.broadcastLocked()
			l.mu.Unlock()
			return n, nil
		case l.pending[c.side]:
			l.pending[c.side] = false
			l.mu.Unlock()
			return 0, c.opError("read", os.NewSyscallError("read", syscall.ECONNRESET))
		case in.eof:
			l.mu.Unlock()
			return 0, io.EOF
		}
		if !c.wait(&c.rd) {
			return 0, c.opError("read", os.ErrDeadlineExceeded)
		}
	}
}

// Pending reports whether a Read would return at once, without waiting:
// data is queued, the peer is done (io.EOF) or reset the connection, or
// this end is closed. A server that asks whether a client already left
// need not wait for an answer, which inside a testing/synctest bubble
// would take the bubble's time.
func (c *Conn) Pending() bool {
	l := c.link
	l.mu.Lock()
	defer l.mu.Unlock()
	in := &l.dir[1-c.side]
	return c.closed || in.len() > 0 || l.pending[c.side] || in.eof
}

// Write writes p for the peer to read. It waits while the direction holds
// BufferSize octets, until the peer reads, the connection is reset or
// closed, or the write deadline passes; it then returns how much of p was
// written.
func (c *Conn) Write(p []byte) (int, error) {
	l := c.link
	n := 0
	l.mu.Lock()
	for {
		out := &l.dir[c.side]
		switch {
		case c.closed:
			l.mu.Unlock()
			return n, c.opError("write", net.ErrClosed)
		case l.pending[c.side]:
			l.pending[c.side] = false
			l.mu.Unlock()
			return n, c.opError("write", os.NewSyscallError("write", syscall.ECONNRESET))
		case out.eof || out.lostWrite || l.reset[c.side]:
			l.mu.Unlock()
			return n, c.opError("write", os.NewSyscallError("write", syscall.EPIPE))
		case c.wd.expired():
			l.mu.Unlock()
			return n, c.opError("write", os.ErrDeadlineExceeded)
		case n == len(p):
			l.mu.Unlock()
			return n, nil
		case out.readerGone:
			out.lostWrite = true
			l.mu.Unlock()
			return len(p), nil
		case out.len() < BufferSize:
			k := min(BufferSize-out.len(), len(p)-n)
			if out.off > 0 && len(out.buf)+k > cap(out.buf) {
				out.buf, out.off = out.buf[:copy(out.buf, out.buf[out.off:])], 0
			}
			out.buf = append(out.buf, p[n:n+k]...)
			n += k
			l.broadcastLocked()
			continue
		}
		if !c.wait(&c.wd) {
			return n, c.opError("write", os.ErrDeadlineExceeded)
		}
	}
}

// wait releases l.mu and waits for a change of the link or for d to
// pass; it reports whether d has not passed, with l.mu held again, or,
// when it has, returns with l.mu released.
func (c *Conn) wait(d *deadline) bool {
	l := c.link
	ch := l.changed
	l.waiters++
	exp := d.wait()
	l.mu.Unlock()
	select {
	case <-ch:
		l.mu.Lock()
		l.waiters--
		return true
	case <-exp:
		l.mu.Lock()
		l.waiters--
		l.mu.Unlock()
		return false
	}
}

// CloseWrite shuts the writing side: the peer reads what was written,
// then io.EOF. Reading goes on.
func (c *Conn) CloseWrite() error {
	l := c.link
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.closed {
		return c.opError("close", net.ErrClosed)
	}
	l.dir[c.side].eof = true
	l.broadcastLocked()
	return nil
}

// SetLinger sets what Close does with unsent data, as on a
// [net.TCPConn]; the one value that changes anything here is 0: Close
// then resets the connection.
func (c *Conn) SetLinger(sec int) error {
	l := c.link
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.closed {
		return c.opError("set", net.ErrClosed)
	}
	c.linger, c.lset = sec, true
	return nil
}

// Close closes the connection. The peer reads what was written, then
// io.EOF; or, after SetLinger(0) or when data the peer wrote is left
// unread, the connection is reset: the peer reads what was written, then
// ECONNRESET (see the package documentation). Blocked Reads and Writes
// of this end return an error that wraps [net.ErrClosed].
func (c *Conn) Close() error {
	l := c.link
	l.mu.Lock()
	if c.closed {
		l.mu.Unlock()
		return c.opError("close", net.ErrClosed)
	}
	abort := c.lset && c.linger == 0 || l.dir[1-c.side].len() > 0
	c.closed = true
	if abort {
		c.resetLocked()
	} else {
		l.dir[c.side].eof = true
		l.dir[1-c.side].readerGone = true
	}
	l.broadcastLocked()
	l.mu.Unlock()
	c.rd.stop()
	c.wd.stop()
	return nil
}

// reset closes the connection with a reset.
func (c *Conn) reset() {
	l := c.link
	l.mu.Lock()
	c.closed = true
	c.resetLocked()
	l.broadcastLocked()
	l.mu.Unlock()
	c.rd.stop()
	c.wd.stop()
}

// resetLocked resets the connection from c's end: the peer reads what c
// wrote, then meets the reset; what the peer wrote is lost. l.mu must be
// held.
func (c *Conn) resetLocked() {
	l, peer := c.link, 1-c.side
	l.dir[c.side].eof = true
	l.dir[peer] = stream{}
	l.reset[peer], l.pending[peer] = true, true
}

// LocalAddr returns this end's address.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets when Read gives up; the zero time means never. It
// applies to a Read already waiting too.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.setDeadline(&c.rd, t) }

// SetWriteDeadline sets when Write gives up; the zero time means never.
// It applies to a Write already waiting too.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.setDeadline(&c.wd, t) }

func (c *Conn) setDeadline(d *deadline, t time.Time) error {
	l := c.link
	l.mu.Lock()
	closed := c.closed
	l.mu.Unlock()
	if closed {
		return c.opError("set", net.ErrClosed)
	}
	d.set(t)
	return nil
}

func (c *Conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.local, Addr: c.remote, Err: err}
}

// deadline is a read or write deadline: a channel closed when it passes,
// by a timer of the time package (the bubble's, in a synctest bubble).
type deadline struct {
	mu     sync.Mutex    // guards the fields
	t      time.Time     // the deadline, zero for none
	timer  *time.Timer   // runs expire at t; made once, then reset
	passed chan struct{} // closed when the deadline has passed
}

func (d *deadline) init() { d.passed = make(chan struct{}) }

// set sets the deadline to t; the zero time means none.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.t = t
	if d.timer != nil {
		d.timer.Stop() // an expire already running finds d.t changed
	}
	if isClosed(d.passed) {
		d.passed = make(chan struct{})
	}
	if t.IsZero() {
		return
	}
	wait := time.Until(t)
	switch {
	case wait <= 0:
		close(d.passed)
	case d.timer == nil:
		d.timer = time.AfterFunc(wait, d.expire)
	default:
		d.timer.Reset(wait)
	}
}

// expire closes passed if the deadline it was set for has come.
func (d *deadline) expire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.reachedLocked() && !isClosed(d.passed) {
		close(d.passed)
	}
}

// reachedLocked reports whether the clock has reached the deadline, one
// set. d.mu must be held.
func (d *deadline) reachedLocked() bool { return !d.t.IsZero() && !time.Now().Before(d.t) }

// stop stops the timer, so that nothing of a closed Conn stays behind.
func (d *deadline) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
	}
}

// wait returns the channel closed when the deadline passes.
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.passed
}

// expired reports whether the deadline has passed: its timer ran, or the
// clock has reached it though the timer has not run yet. Inside a
// testing/synctest bubble the peer's data and the deadline's timer often
// come at the same instant (a client that writes exactly when the read
// timeout runs out); the clock, not which goroutine the scheduler runs
// first, then says the operation is too late, as expire does.
func (d *deadline) expired() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return isClosed(d.passed) || d.reachedLocked()
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
