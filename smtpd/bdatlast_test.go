package smtpd_test

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp/smtpd"
)

// The reply to BDAT LAST is the end of the message's: what the answer to
// the BDAT asks to happen after its reply (close, half-close, hang, reset)
// happens after the Message event's reply, which the client reads before
// the end. An answer with no reply leaves the client with none, and no
// Message event follows. A BDAT that is not LAST is unchanged.
func TestBdatLastDispositionAfterTheMessageReply(t *testing.T) {
	t.Parallel()
	closeConn := smtpd.Answer{Then: smtpd.CloseConn}
	tests := []struct {
		name    string
		bdat    string       // the BDAT command and its chunk
		answer  smtpd.Answer // to the BDAT
		message *smtpd.Answer
		replies []string // read before the end
		hangs   bool     // the server writes nothing more and waits for the client to close
		reset   bool     // the end may be a reset, which may also destroy the reply
		// message is the Message event's data, "" for none.
		wantMessage string
		wantErr     error
	}{
		{name: "close", bdat: "BDAT 7 LAST\r\nhello\r\n", answer: closeConn,
			replies: []string{"250 2.0.0 Ok: queued"}, wantMessage: "hello\r\n", wantErr: smtpd.ErrDriverClosed},
		{name: "half-close", bdat: "BDAT 7 LAST\r\nhello\r\n", answer: smtpd.Answer{Then: smtpd.HalfCloseConn},
			replies: []string{"250 2.0.0 Ok: queued"}, wantMessage: "hello\r\n", wantErr: smtpd.ErrDriverClosed},
		{name: "hang", bdat: "BDAT 7 LAST\r\nhello\r\n", answer: smtpd.Answer{Then: smtpd.Hang}, hangs: true,
			replies: []string{"250 2.0.0 Ok: queued"}, wantMessage: "hello\r\n", wantErr: smtpd.ErrClientGone},
		{name: "reset", bdat: "BDAT 7 LAST\r\nhello\r\n", answer: smtpd.Answer{Then: smtpd.ResetConn}, reset: true,
			replies: []string{"250 2.0.0 Ok: queued"}, wantMessage: "hello\r\n", wantErr: smtpd.ErrDriverClosed},
		{name: "positive reply, close", bdat: "BDAT 7 LAST\r\nhello\r\n",
			answer:  smtpd.Answer{Reply: &smtpd.Reply{Code: 250, Lines: []string{"stored"}}, Then: smtpd.CloseConn},
			replies: []string{"250 2.0.0 stored"}, wantMessage: "hello\r\n", wantErr: smtpd.ErrDriverClosed},
		{name: "raw, close", bdat: "BDAT 7 LAST\r\nhello\r\n", answer: smtpd.Answer{Raw: []byte("550 not written\r\n"), Then: smtpd.CloseConn},
			replies: []string{"250 2.0.0 Ok: queued"}, wantMessage: "hello\r\n", wantErr: smtpd.ErrDriverClosed},
		{name: "close, message refused", bdat: "BDAT 7 LAST\r\nhello\r\n", answer: closeConn,
			message: &smtpd.Answer{Reply: &smtpd.Reply{Code: 451, Status: "4.3.0", Lines: []string{"not now"}}},
			replies: []string{"451 4.3.0 not now"}, wantMessage: "hello\r\n", wantErr: smtpd.ErrDriverClosed},
		{name: "close as the message's answer says", bdat: "BDAT 7 LAST\r\nhello\r\n", answer: smtpd.Answer{Then: smtpd.Hang},
			message: &closeConn, replies: []string{"250 2.0.0 Ok: queued"}, wantMessage: "hello\r\n", wantErr: smtpd.ErrDriverClosed},
		{name: "drop", bdat: "BDAT 7 LAST\r\nhello\r\n", answer: smtpd.Answer{NoReply: true, Then: smtpd.CloseConn},
			wantErr: smtpd.ErrDriverClosed},
		{name: "reset without reply", bdat: "BDAT 7 LAST\r\nhello\r\n", answer: smtpd.Answer{NoReply: true, Then: smtpd.ResetConn},
			reset: true, wantErr: smtpd.ErrDriverClosed},
		{name: "hang without reply", bdat: "BDAT 7 LAST\r\nhello\r\n", answer: smtpd.Answer{NoReply: true, Then: smtpd.Hang},
			hangs: true, wantErr: smtpd.ErrClientGone},
		{name: "refused, close", bdat: "BDAT 7 LAST\r\nhello\r\n",
			answer:  smtpd.Answer{Reply: &smtpd.Reply{Code: 554, Lines: []string{"no"}}, Then: smtpd.CloseConn},
			replies: []string{"554 5.0.0 no"}, wantErr: smtpd.ErrDriverClosed},
		{name: "not LAST, close", bdat: "BDAT 7\r\nhello\r\n", answer: closeConn,
			replies: []string{"250 2.0.0 Ok: 7 octets received"}, wantErr: smtpd.ErrDriverClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			messages := make(chan string, 2)
			c, wait := drive(t, smtpd.Config{}, func(c *smtpd.Conn, ev *smtpd.Event) {
				switch ev.Kind {
				case smtpd.Bdat:
					c.Answer(tt.answer)
				case smtpd.Message:
					messages <- string(ev.Data)
					if tt.message != nil {
						c.Answer(*tt.message)
					}
				}
			})
			c.expect("220 localhost ESMTP")
			c.send("HELO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n")
			c.expect("250 localhost")
			c.expect("250 2.1.0 Ok")
			c.expect("250 2.1.5 Ok")
			c.send(tt.bdat)
			for i, want := range tt.replies {
				got, err := c.reply()
				if tt.reset && isReset(err) {
					break // the reset destroyed the reply: allowed
				}
				if err != nil || len(got) != 1 || got[0] != want {
					t.Fatalf("reply %d = %q, %v; want %q", i+1, got, err, want)
				}
			}
			if tt.hangs {
				_ = c.conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				if b, err := io.ReadAll(c.r); len(b) != 0 || !isTimeout(err) {
					t.Fatalf("while the server hangs: read %q, %v; want nothing until the deadline", b, err)
				}
				c.conn.Close()
			} else if b, err := io.ReadAll(c.r); len(b) != 0 || err != nil && !(tt.reset && isReset(err)) {
				t.Fatalf("after the replies: read %q, %v; want the connection closed", b, err)
			}
			c.conn.Close() // a half-closing server waits for this
			if err := wait(); !errors.Is(err, tt.wantErr) {
				t.Fatalf("driver ended with %v, want %v", err, tt.wantErr)
			}
			close(messages)
			var got, want []string
			for m := range messages {
				got = append(got, m)
			}
			if tt.wantMessage != "" {
				want = []string{tt.wantMessage}
			}
			if !slices.Equal(got, want) {
				t.Errorf("Message events with data %q, want %q", got, want)
			}
		})
	}
}

// An answer to BDAT LAST with no reply and the connection kept open ends
// the transaction unanswered: no Message event, no reply, and the next
// command's reply is the first the client reads.
func TestBdatLastNoReplyKeepsNoMessage(t *testing.T) {
	t.Parallel()
	c, _ := drive(t, smtpd.Config{}, func(c *smtpd.Conn, ev *smtpd.Event) {
		switch ev.Kind {
		case smtpd.Bdat:
			if ev.Err == nil {
				c.Answer(smtpd.Answer{NoReply: true})
			}
		case smtpd.Message:
			t.Errorf("Message event %q after a BDAT LAST answered with no reply", ev.Data)
		}
	})
	c.expect("220 localhost ESMTP")
	c.send("HELO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n")
	c.expect("250 localhost")
	c.expect("250 2.1.0 Ok")
	c.expect("250 2.1.5 Ok")
	c.send("BDAT 7 LAST\r\nhello\r\nNOOP\r\nBDAT 1 LAST\r\nx")
	c.expect("250 2.0.0 Ok")
	c.expect("503 5.5.1 Error: need MAIL command") // the transaction is over
}

// The pace asked for BDAT LAST shapes the end of message's reply.
func TestBdatLastPace(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w := &writesConn{}
	addr, _ := serveOne(t, func(nc net.Conn) error {
		w.Conn = nc
		c := smtpd.NewConn(w, smtpd.Config{})
		defer c.Close(nil)
		for {
			ev, err := c.Next(ctx)
			if err != nil {
				return err
			}
			if ev.Kind == smtpd.Bdat {
				w.start()
				c.Answer(smtpd.Answer{Pace: smtpd.Pace{Chunk: 5}})
			}
		}
	})
	c := dial(t, addr)
	c.expect("220 localhost ESMTP")
	c.send("HELO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n")
	c.expect("250 localhost")
	c.expect("250 2.1.0 Ok")
	c.expect("250 2.1.5 Ok")
	c.send("BDAT 7 LAST\r\nhello\r\n")
	c.expect("250 2.0.0 Ok: queued")
	if got, want := w.sizes(), []int{5, 5, 5, 5, 2}; !slices.Equal(got, want) {
		t.Errorf("the reply was written in writes of %v octets, want %v", got, want)
	}
}

// writesConn records the size of each write after start.
type writesConn struct {
	net.Conn
	mu      sync.Mutex // guards on and writes
	on      bool
	written []int
}

func (w *writesConn) start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.on = true
}

func (w *writesConn) sizes() []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.written)
}

func (w *writesConn) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.on {
		w.written = append(w.written, len(p))
	}
	w.mu.Unlock()
	return w.Conn.Write(p)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
