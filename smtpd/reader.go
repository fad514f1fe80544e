package smtpd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mocksmtp/mocksmtp/internal/ascii"
)

// maxDiscard bounds an over-long line, LF included: one up to it is read to
// its end and refused; a longer one closes the connection, since the
// line's end is too far to look for. It holds at every limit a Config may
// set, whatever the read buffer holds: a line of maxDiscard+1 octets fits
// the buffer of a Conn whose longest line is maxDiscard, and closes the
// connection all the same (readLine, readData).
const maxDiscard = 1 << 20

// maxKeptData is the largest DATA buffer kept for reuse.
const maxKeptData = 1 << 20

// dataBufs holds DATA buffers (*[]byte) for reuse by every Conn. With the
// pools of read and write buffers (conn.go), it is the package's only
// mutable state, and holds nothing anyone can observe.
var dataBufs = sync.Pool{New: func() any { return new([]byte) }}

// readLine reads one line up to and including LF. It never accepts a line
// without LF: a deadline or EOF mid-line is an error. A line longer than
// limit is read to its end and discarded: tooLong, and line is only its
// terminator as sent, CRLF or a bare LF, so that DATA knows whether a
// "." line after it ends the data, and c.head its first octets after
// the blanks before them (noteHead), so that a command's verb is known.
// One longer than limit and maxDiscard is ErrFraming (the caller answers
// it and closes: readErr), also when the read buffer held it whole. n
// counts the octets consumed.
func (c *Conn) readLine(ctx context.Context, limit int) (line []byte, n int, tooLong bool, err error) {
	// Replies wait in the buffer while pipelined commands are pending, and
	// go out before any read that could block: one with no whole line
	// buffered. Only such a read needs a deadline (this saves a clock read
	// and a timer update per line of message data).
	buffered, _ := c.br.Peek(c.br.Buffered())
	if bytes.IndexByte(buffered, '\n') < 0 {
		if err := c.flush(); err != nil {
			return nil, 0, false, err
		}
		c.waiting()
		_ = c.conn.SetReadDeadline(time.Now().Add(c.cfg.ReadTimeout))
	}
	if ctx.Err() != nil {
		return nil, 0, false, ctx.Err()
	}
	l, err := c.br.ReadSlice('\n')
	switch {
	case err == nil && len(l) <= limit:
		return l, len(l), false, nil
	case err == nil:
		c.head = c.headBuf[:0]
		c.noteHead(l)
		if len(l) > maxDiscard {
			// Read whole only because the buffer is sized for the
			// longest line of a limit of maxDiscard: past the bound all
			// the same, as a line that is not.
			return nil, len(l), true, ErrFraming
		}
		return terminator(l[len(l)-2] == '\r'), len(l), true, nil
	case errors.Is(err, bufio.ErrBufferFull):
		c.head = c.headBuf[:0]
		c.noteHead(l)
		n, crlf, err := c.discardLine(ctx, len(l), l[len(l)-1])
		return terminator(crlf), n, true, err
	}
	return nil, len(l), false, err
}

// discardLine reads and throws away the rest of a line longer than the
// read buffer, of which n octets were read, the last of them last, and
// returns the line's length and whether CRLF ended it (its CR may have
// been the last octet of the previous read). A line longer than
// maxDiscard is ErrFraming.
//
// It is a function of its own, with no flag carried from one pass of its
// loop to the next, on purpose: go1.26.8 and go1.27.3 (linux/amd64)
// miscompile a loop that sets a flag in a switch's default case while its
// head makes a call only when another local flag is false; the flag is
// lost on the next pass (-gcflags=-N hides it). readLine had that shape,
// and lost its "too long" flag after a full buffer: the tail of an
// over-long line became a line of its own, a command or an end of data
// (SMTP smuggling, issue 13). Do not fold this loop back into readLine.
// The one value carried, last (whether a CR ended the previous read), is
// set after the switch, in none of its cases. TestLongLines guards it,
// with lines whose CRLF the read buffer splits.
func (c *Conn) discardLine(ctx context.Context, n int, last byte) (int, bool, error) {
	for n < maxDiscard {
		_ = c.conn.SetReadDeadline(time.Now().Add(c.cfg.ReadTimeout))
		if ctx.Err() != nil {
			return n, false, ctx.Err()
		}
		l, err := c.br.ReadSlice('\n')
		n += len(l)
		c.noteHead(l)
		switch {
		case err == nil && n > maxDiscard: // a read buffer not dividing maxDiscard
			return n, false, ErrFraming
		case err == nil && len(l) == 1: // "\n" alone: the octet before it came in the last read
			return n, last == '\r', nil
		case err == nil:
			return n, l[len(l)-2] == '\r', nil
		case !errors.Is(err, bufio.ErrBufferFull):
			return n, false, err
		}
		last = l[len(l)-1]
	}
	return n, false, ErrFraming
}

// noteHead adds to c.head what of l, the next part of a line readLine
// discards, starts the line's verb: the octets after the blanks and tabs
// before it, however many (a client may spell BDAT so, see spelledAs), up
// to len(c.headBuf). Those blanks may fill a whole read buffer and more.
func (c *Conn) noteHead(l []byte) {
	if len(c.head) == 0 {
		l = bytes.TrimLeft(l, " \t")
	}
	c.head = append(c.head, l[:min(len(l), len(c.headBuf)-len(c.head))]...)
}

// terminator returns the end of a line: CRLF, or LF alone.
func terminator(crlf bool) []byte {
	if crlf {
		return []byte("\r\n")
	}
	return []byte("\n")
}

// readErr turns a read error into the session's end, answering a timeout
// with 421 4.4.2.
//
// When ctx has ended, the session ends as the client's leaving says if
// it had left before (see left), and with ctx's error otherwise.
func (c *Conn) readErr(ctx context.Context, err error, during string) error {
	if cerr := ctxErr(ctx); cerr != nil {
		if err = c.left(ctx, false); err == nil {
			return cerr
		}
	}
	switch {
	case isTimeout(err):
		c.writeReply(reply(421, "4.4.2", c.cfg.Hostname+" Error: timeout exceeded"))
		c.closeGracefully(ctx)
		return fmt.Errorf("%w%s", ErrTimeout, during)
	case errors.Is(err, ErrFraming):
		// What the 500 answers: a line past maxDiscard, which is not read
		// to its end (see readLine), of message data, of an AUTH
		// exchange (500 5.5.6, as one shorter: RFC 4954 4), or else a
		// command. The session ends with ErrLineTooLong, so that the
		// driver knows what the client sent, for which no event came.
		tooLong := reply(500, "5.5.2", "Error: line too long")
		switch {
		case strings.HasSuffix(during, "DATA") || strings.HasSuffix(during, "BDAT"):
			c.trace(Trace{Kind: TraceNote, Text: fmt.Sprintf("<message data: a line of more than %d octets, too long; not recorded>", maxDiscard)})
		case strings.HasSuffix(during, "AUTH"):
			c.trace(Trace{Kind: TraceCommand, Text: fmt.Sprintf("<AUTH response of more than %d octets, too long>", maxDiscard)})
			tooLong = reply(500, "5.5.6", "Error: authentication exchange line too long")
		default:
			c.trace(Trace{Kind: TraceCommand, Text: fmt.Sprintf("<line of more than %d octets, too long>", maxDiscard)})
		}
		c.writeReply(tooLong)
		c.closeGracefully(ctx)
		return fmt.Errorf("%w%s: %w", ErrFraming, during, ErrLineTooLong)
	case errors.Is(err, ErrClientGone):
		return err
	}
	c.clientLeft = true
	return fmt.Errorf("%w%s: %w", ErrClientGone, during, err)
}

// readData reads a DATA body up to CRLF.CRLF and returns the Message event.
func (c *Conn) readData(ctx context.Context, dropAfter int64) (*Event, error) {
	var (
		body      []byte
		total     int64
		info      DataInfo
		tooBig    bool
		overLimit bool // a line over MaxTextLine: the message is refused
		limit     = c.cfg.MaxMessageBytes
		afterCRLF = true // the line before ended with CRLF (DATA's did)
		// A refused message is read to its end, but not past flood
		// octets: twice the limit and maxDiscard more, or as many as an
		// int64 holds for the largest limits.
		flood = int64(math.MaxInt64)
	)
	if limit <= (math.MaxInt64-maxDiscard)/2 {
		flood = 2*limit + maxDiscard
	}
	// The data gathers in a pooled buffer and is copied out once at the
	// end: the message keeps no spare capacity, and a message costs one
	// allocation, also on a new connection.
	buf := dataBufs.Get().(*[]byte)
	body = (*buf)[:0]
	// SIZE is a hint, trusted up to maxKeptData: a client cannot make the
	// server allocate the size limit for a message it does not send.
	if s, ok := c.tx.Params["SIZE"]; ok {
		if n, over, ok := parseSize(s); ok && !over && n <= limit {
			if want := min(n, maxKeptData-2) + 2; int64(cap(body)) < want {
				body = make([]byte, 0, want)
			}
		}
	}
	defer func() {
		if cap(body) <= maxKeptData {
			*buf = body[:0]
			dataBufs.Put(buf)
		}
	}()
	for {
		// One octet more than MaxTextLine: a line's limit does not count
		// the dot a client doubles for transparency (RFC 5321 4.5.3.1.6),
		// checked once it is removed.
		line, n, long, err := c.readLine(ctx, c.cfg.MaxTextLine+1)
		total += int64(n)
		if dropAfter > 0 && total >= dropAfter {
			c.trace(Trace{Kind: TraceNote, Text: fmt.Sprintf("dropped the connection after %d octets of message data", total), Size: total})
			c.abort()
			return nil, ErrDriverClosed
		}
		if err != nil {
			return nil, c.readErr(ctx, err, " during DATA")
		}
		if total > flood {
			c.writeReply(reply(552, "5.3.4", "Error: message file too big"))
			c.closeGracefully(ctx)
			return nil, fmt.Errorf("%w: message data flood", ErrFraming)
		}
		if long {
			info.LongLines++
			overLimit = true
			// A "." line ends the data only after a line ended by CRLF
			// (SMTP smuggling), however long that line was.
			afterCRLF = len(line) == 2
			if !afterCRLF {
				info.BareLF++
			}
			continue
		}
		// Only CRLF "." CRLF ends the data: "." after a bare LF does not
		// (SMTP smuggling).
		content := line[:len(line)-1]
		crlf := len(content) > 0 && content[len(content)-1] == '\r'
		if crlf {
			content = content[:len(content)-1]
			if afterCRLF && len(content) == 1 && content[0] == '.' {
				break
			}
		} else {
			info.BareLF++
		}
		afterCRLF = crlf
		if bytes.IndexByte(content, '\r') >= 0 {
			info.BareCR++
		}
		size := len(line) // as the limit counts it, without a transparency dot
		if len(content) > 0 && content[0] == '.' {
			if len(content) > 1 && content[1] != '.' {
				info.UnstuffedDots++ // ".x": the client did not dot-stuff ".x"
			}
			content = content[1:]
			size--
		}
		if over := size > c.cfg.MaxTextLine; over || len(content) > maxRFCLine {
			info.LongLines++
			if over && n > maxDiscard {
				// Over the limit and past the bound: the read buffer of
				// a MaxTextLine of maxDiscard held it, a transparency dot
				// the limit does not count being its one octet more.
				return nil, c.readErr(ctx, ErrFraming, " during DATA")
			}
			if over {
				overLimit = true
				continue
			}
		}
		if !info.EightBit && ascii.HasEightBit(content) {
			info.EightBit = true
		}
		if tooBig {
			continue
		}
		if int64(len(body)+len(content)+2) > limit {
			tooBig, body = true, nil
			continue
		}
		body = append(body, content...)
		body = append(body, '\r', '\n')
	}
	c.trace(Trace{Kind: TraceBody, Text: fmt.Sprintf("<message data: %d octets>", total), Size: total})
	var data []byte
	if len(body) > 0 {
		data = append(make([]byte, 0, len(body)), body...)
	}
	ev := &Event{Kind: Message, Data: data, Size: int64(len(data)), Envelope: c.envelope(false), DataInfo: info}
	switch {
	case tooBig:
		c.reject(ev, ReasonTooBig, reply(552, "5.3.4", "Error: message file too big"))
	case info.BareLF > 0:
		c.reject(ev, ReasonBareLF, reply(550, "5.5.2", "Error: bare <LF> received"))
	case info.BareCR > 0:
		c.reject(ev, ReasonBareCR, reply(550, "5.5.2", "Error: bare <CR> received"))
	case overLimit:
		c.reject(ev, ReasonLineTooLong, reply(500, "5.5.2", "Error: text line too long"))
	default:
		ev.Reply = reply(250, "2.0.0", "Ok: queued")
	}
	if ev.Err != nil {
		ev.Data, ev.Size = nil, 0
	}
	return ev, nil
}

// envelope returns a copy of the transaction.
func (c *Conn) envelope(chunked bool) *Envelope {
	e := *c.tx
	e.To = append([]string(nil), c.tx.To...)
	e.RcptParams = append([]map[string]string(nil), c.tx.RcptParams...)
	e.Chunked = chunked
	return &e
}

// finishBdat reads a BDAT chunk, then replies, or returns the Message
// event when it was the last chunk of an accepted transaction, keeping
// the answer's pace and disposition for that event's reply (lastBdat).
// A refused
// BDAT that was a bad command (counted) counts toward MaxBadCommands as
// any other: one the engine refused (bdat: its syntax, its sequence, a
// chunk past the size limit with those before it) or the driver did. Its
// chunk is read and dropped, and the transaction is over.
func (c *Conn) finishBdat(ctx context.Context, ev *Event, a *Answer, r Reply, takes, counted bool) (*Event, error) {
	if ev.Size < 0 { // unknown size (unparsable, or refused before it was read): the chunk cannot be skipped
		if err := c.write(ctx, a, r); err != nil {
			return nil, err
		}
		c.closeGracefully(ctx)
		return nil, fmt.Errorf("%w: BDAT without a usable size", ErrFraming)
	}
	if ev.Size > c.cfg.MaxMessageBytes || ev.sizeOver {
		// Too big to be worth reading (bdat refused it, 552): say so and
		// close. (A size past an int64 is past a limit of the largest
		// int64, which Size equals.)
		if err := c.write(ctx, a, r); err != nil {
			return nil, err
		}
		c.closeGracefully(ctx)
		return nil, fmt.Errorf("%w: BDAT chunk of %d octets over the limit", ErrFraming, ev.Size)
	}
	dst := c.chunks
	if dst == nil {
		dst = []byte{}
	}
	dst, err := c.readChunk(ctx, dst, ev.Size, a.DropAfterBytes, takes)
	if err != nil {
		return nil, err
	}
	c.trace(Trace{Kind: TraceBody, Text: fmt.Sprintf("<chunk data: %d octets>", ev.Size), Size: ev.Size})
	if !takes {
		c.resetTx()
		if err := c.write(ctx, a, r); err != nil {
			return nil, err
		}
		a.Then = closesAfter(a, r)
		if err := c.tooManyErrors(ctx, counted, a); err != nil {
			return nil, err
		}
		return nil, c.then(ctx, a.Then)
	}
	c.chunks = dst
	if !ev.Last {
		return nil, c.writeThen(ctx, a, r)
	}
	if a.NoReply {
		// A client told nothing has not handed the message over: no
		// Message event, and the transaction is over.
		c.resetTx()
		return nil, c.then(ctx, a.Then)
	}
	// The chunk's reply is the message's, which the Message event's
	// answer gives: a positive reply asked for here is its default, and
	// the pace and disposition asked for here apply to it (see finish),
	// not before it.
	queued := reply(250, "2.0.0", "Ok: queued")
	if a.Reply != nil && a.Raw == nil {
		queued = r
	}
	c.lastBdat = lastBdat{then: a.Then, pace: a.Pace}
	msg := &Event{Kind: Message, Data: c.chunks, Size: int64(len(c.chunks)), Envelope: c.envelope(true),
		DataInfo: DataInfo{EightBit: ascii.HasEightBit(c.chunks), LongLines: longLines(c.chunks)},
		Reply:    queued}
	return msg, nil
}

func (c *Conn) writeThen(ctx context.Context, a *Answer, r Reply) error {
	if err := c.write(ctx, a, r); err != nil {
		return err
	}
	return c.then(ctx, a.Then)
}

// readChunk reads exactly size octets, appending them to dst when keep.
// A kept chunk is read into dst's spare capacity, which grows as octets
// arrive, never past what remains of the chunk: a client cannot make the
// server allocate a size it declares and does not send.
func (c *Conn) readChunk(ctx context.Context, dst []byte, size, dropAfter int64, keep bool) ([]byte, error) {
	if err := c.flush(); err != nil {
		return nil, err
	}
	if int64(c.br.Buffered()) < size {
		// The server waits for the client. A chunk sent with its command
		// (pipelined) was read with it: as for a command (readLine), the
		// server did not wait for it, and a move of the clock not used
		// yet still counts (Next).
		c.waiting()
	}
	var got int64
	var scratch []byte // where a chunk not kept is read
	if !keep {
		scratch = make([]byte, min(size, chunkStep))
	}
	for got < size {
		_ = c.conn.SetReadDeadline(time.Now().Add(c.cfg.ReadTimeout))
		if ctx.Err() != nil {
			return nil, c.readErr(ctx, ctx.Err(), " during BDAT")
		}
		buf := scratch
		if keep {
			if len(dst) == cap(dst) {
				// Double, from chunkStep, up to what remains.
				dst = slices.Grow(dst, int(min(size-got, max(int64(len(dst)), chunkStep))))
			}
			buf = dst[len(dst):cap(dst)]
		}
		n, err := c.br.Read(buf[:min(int64(len(buf)), size-got)])
		got += int64(n)
		if keep {
			dst = dst[:len(dst)+n]
		}
		if dropAfter > 0 && got >= dropAfter {
			c.trace(Trace{Kind: TraceNote, Text: fmt.Sprintf("dropped the connection after %d octets of chunk data", got), Size: got})
			c.abort()
			return nil, ErrDriverClosed
		}
		if err != nil && got < size {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, c.readErr(ctx, err, " during BDAT")
		}
	}
	return dst, nil
}

// chunkStep is the first allocation for a BDAT chunk's octets, and the
// size of the buffer a refused chunk is read into.
const chunkStep = 32 << 10

// maxRFCLine is the longest text line RFC 5321 4.5.3.1.6 allows, CRLF
// excluded.
const maxRFCLine = 998

// longLines counts the lines of data longer than maxRFCLine octets.
func longLines(data []byte) int {
	n := 0
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		if len(bytes.TrimSuffix(line, []byte("\r"))) > maxRFCLine {
			n++
		}
		data = rest
	}
	return n
}
