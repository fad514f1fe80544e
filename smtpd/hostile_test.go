package smtpd_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mocksmtp/mocksmtp/smtpd"
)

// Hostile input at the engine's boundaries, over real TCP.

// hostile is a server for hostile-input tests: an engine that accepts
// every event, on a listener that serves any number of connections.
type hostile struct {
	t    *testing.T
	addr string
	msgs chan []byte      // every accepted message's data
	evs  chan smtpd.Event // every event, when cfg asks for it (see watch)
}

// newHostile serves connections with cfg until the test ends. answer, when
// not nil, may answer events (it runs on the connection's goroutine).
func newHostile(t *testing.T, cfg smtpd.Config, answer func(*smtpd.Conn, *smtpd.Event)) *hostile {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hostile{t: t, addr: ln.Addr().String(), msgs: make(chan []byte, 64)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	conns := make(chan struct{}, 1024)
	go func() {
		defer close(done)
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- struct{}{}
			go func() {
				defer func() { <-conns }()
				c := smtpd.NewConn(nc, cfg)
				defer c.Close(nil)
				for {
					ev, err := c.Next(ctx)
					if err != nil {
						return
					}
					if answer != nil {
						answer(c, ev)
					}
					if ev.Kind == smtpd.Message && ev.Err == nil {
						h.msgs <- bytes.Clone(ev.Data)
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		cancel()
		<-done
		for range cap(conns) { // wait for every connection's goroutine
			conns <- struct{}{}
		}
	})
	return h
}

// dial connects a raw client and reads the greeting.
func (h *hostile) dial() *client {
	h.t.Helper()
	c := dial(h.t, h.addr)
	c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	c.expectPrefix("220 ")
	return c
}

// noMessage checks that no message was accepted.
func (h *hostile) noMessage() {
	h.t.Helper()
	select {
	case m := <-h.msgs:
		h.t.Fatalf("a message of %d octets was accepted: %.80q", len(m), m)
	default:
	}
}

// message returns the next accepted message, failing if none comes.
func (h *hostile) message() []byte {
	h.t.Helper()
	select {
	case m := <-h.msgs:
		return m
	case <-time.After(10 * time.Second):
		h.t.Fatal("no message was accepted")
		return nil
	}
}

// expectPrefix reads one reply and checks its last line starts with prefix.
func (c *client) expectPrefix(prefix string) {
	c.t.Helper()
	got, err := c.reply()
	if err != nil {
		c.t.Fatalf("want a reply starting %q, got %q, %v", prefix, got, err)
	}
	if last := got[len(got)-1]; !strings.HasPrefix(last, prefix) {
		c.t.Fatalf("want a reply starting %q, got %q", prefix, got)
	}
}

// expectClosed checks the server closed the connection.
func (c *client) expectClosed() {
	c.t.Helper()
	if got, err := c.reply(); err == nil {
		c.t.Fatalf("want the connection closed, got %q", got)
	}
}

// sendAsync writes s from another goroutine, so that a server that
// answers before it has read everything is heard; the returned function
// waits for the write to end (a failed test does not: closing the
// connection at cleanup ends it).
func (c *client) sendAsync(s string) func() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.conn.Write([]byte(s))
	}()
	return func() { <-done }
}

// maxDiscard is the engine's bound on one line: a longer one closes the
// connection (500 5.5.2), a shorter one is read to its end and refused.
const maxDiscard = 1 << 20

// lineSizes are the lengths, CRLF included, of the over-long line tests:
// the command, AUTH and text line limits, the read buffer (16 KiB), the
// discard bound (1 MiB), each at N-1, N, N+1, and more.
var lineSizes = []int{512, 513, 1000, 1001, 12288, 12289, 16383, 16384, 16385, 32 << 10, 64<<10 + 7,
	maxDiscard - 1, maxDiscard, maxDiscard + 1, 2 * maxDiscard}

// TestLongLines sends lines of every boundary length as a command, a DATA
// text line, a DATA line ending in ".", and an AUTH response: each gets
// its reply, nothing hidden in a line runs as a command or ends the data,
// no message is recorded truncated, and the session goes on (a line over
// 1 MiB closes it).
//
// It caught a miscompilation by go1.26.8 of the line reader's loop that
// lost the "line too long" flag after a full read buffer (issue 13).
func TestLongLines(t *testing.T) {
	t.Parallel()
	const envelope = "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"
	const smuggled = "MAIL FROM:<evil@example.com>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\nsmuggled\r\n.\r\n"
	upTo := func(limit int, ok, bad string) func(int) string {
		return func(n int) string {
			if n <= limit {
				return ok
			}
			return bad
		}
	}
	tests := []struct {
		name string
		// before is sent after EHLO, with the replies it gets ("|" between).
		before, replies string
		// line returns the line of n octets, CRLF included, and what
		// follows it until its reply is due.
		line func(n int) string
		// want returns the start of the reply to line.
		want func(n int) string
		// body returns the message accepted, "" when none may be.
		body func(n int) string
		// tail is the length of the part of line that must not be taken
		// as a line of its own: lines of a multiple of the read buffer
		// (16 KiB) plus tail are tried too.
		tail int
	}{
		{
			name: "command",
			// The tail of an over-long line must not run as a command.
			line: func(n int) string { return "NOOP " + strings.Repeat("x", n-11) + "RSET\r\n" },
			want: upTo(512, "250 2.0.0", "500 5.5.2"),
			tail: len("RSET\r\n"),
		},
		{
			name:   "DATA text line",
			before: envelope, replies: "250 2.1.0|250 2.1.5|354 ",
			line: func(n int) string { return strings.Repeat("x", n-2) + "\r\nend\r\n.\r\n" },
			want: upTo(1000, "250 2.0.0", "500 5.5.2"),
			body: func(n int) string {
				return upTo(1000, strings.Repeat("x", n-2)+"\r\nend\r\n", "")(n)
			},
			tail: len("x\r\n"),
		},
		{
			name:   "DATA line ending in a dot",
			before: envelope, replies: "250 2.1.0|250 2.1.5|354 ",
			// A false end of data would run the rest as a second transaction.
			line: func(n int) string { return strings.Repeat("x", n-3) + ".\r\n" + smuggled },
			want: upTo(1000, "250 2.0.0", "500 5.5.2"),
			body: func(n int) string {
				return upTo(1000, strings.Repeat("x", n-3)+".\r\n"+strings.TrimSuffix(smuggled, ".\r\n"), "")(n)
			},
			tail: len(".\r\n"),
		},
		{
			name:   "AUTH response",
			before: "AUTH LOGIN\r\n", replies: "334 ",
			// Base64 of "user" at the end: a tail taken as the response
			// would reach the SASL server, which fails the test.
			line: func(n int) string { return strings.Repeat("!", n-10) + "dXNlcg==\r\n" },
			want: upTo(12288, "501 5.5.2", "500 5.5.6"),
			tail: len("dXNlcg==\r\n"),
		},
	}
	for _, tt := range tests {
		for _, n := range append(lineSizes, 16<<10+tt.tail, 32<<10+tt.tail) {
			t.Run(fmt.Sprintf("%s/%d", tt.name, n), func(t *testing.T) {
				t.Parallel()
				cfg := smtpd.Config{
					AuthMechanisms: []string{"LOGIN"},
					NewSASL: func(string) (smtpd.SASLServer, error) {
						return saslFunc(func(resp []byte) ([]byte, bool, error) {
							if resp != nil {
								t.Errorf("the SASL server got a response of %d octets: %.40q", len(resp), resp)
								return nil, false, errors.New("no")
							}
							return []byte("Username:"), false, nil
						}), nil
					},
				}
				h := newHostile(t, cfg, nil)
				c := h.dial()
				c.send("EHLO x\r\n")
				c.expectPrefix("250 ")
				if tt.before != "" {
					c.send(tt.before)
					for _, w := range strings.Split(tt.replies, "|") {
						c.expectPrefix(w)
					}
				}
				sent := c.sendAsync(tt.line(n))
				if n > maxDiscard {
					c.expectPrefix("500 5.5.2")
					c.expectClosed()
					sent()
					h.noMessage()
					return
				}
				c.expectPrefix(tt.want(n))
				if tt.body != nil {
					if want := tt.body(n); want != "" {
						if got := h.message(); string(got) != want {
							t.Fatalf("message of %d octets recorded, want the %d sent", len(got), len(want))
						}
					}
				}
				// The next reply is HELP's: nothing of the line ran as a command.
				c.send("HELP\r\n")
				c.expectPrefix("214 ")
				sent()
				h.noMessage()
			})
		}
	}
}

// The first bad parameter, in the order the client sent them, is the one
// the reply names: the same on every connection, as golden transcripts
// need (issue 13 item 8).
func TestParametersCheckedInOrder(t *testing.T) {
	t.Parallel()
	h := newHostile(t, smtpd.Config{MaxBadCommands: 1000}, nil)
	c := h.dial()
	c.send("EHLO x\r\n")
	c.expectPrefix("250 ")
	tests := []struct{ send, want string }{
		{"MAIL FROM:<a@example.com> FOO=1 BAR=2 BAZ=3", "555 5.5.4 Unsupported option: FOO"},
		{"MAIL FROM:<a@example.com> BAZ=3 BAR=2 FOO=1", "555 5.5.4 Unsupported option: BAZ"},
		{"MAIL FROM:<a@example.com> BODY=9BIT FOO=1 RET=NONE", "501 5.5.4 Bad parameter value: BODY"},
		{"MAIL FROM:<a@example.com> RET=NONE BODY=9BIT FOO=1", "501 5.5.4 Bad parameter value: RET"},
		{"MAIL FROM:<a@example.com> FOO=1 BODY=9BIT RET=NONE", "555 5.5.4 Unsupported option: FOO"},
	}
	for range 40 {
		for _, tt := range tests {
			c.send(tt.send + "\r\n")
			if got, err := c.reply(); err != nil || got[len(got)-1] != tt.want {
				t.Fatalf("%s: got %q, %v; want %q", tt.send, got, err, tt.want)
			}
		}
	}
	c.send("MAIL FROM:<a@example.com>\r\n")
	c.expectPrefix("250 2.1.0")
	for range 40 {
		c.send("RCPT TO:<b@example.com> NOTIFY=NEVER,SUCCESS FOO=1 ORCPT=bad\r\n")
		if got, _ := c.reply(); got[len(got)-1] != "501 5.5.4 Bad parameter value: NOTIFY" {
			t.Fatalf("RCPT: got %q, want NOTIFY named", got)
		}
		c.send("RCPT TO:<b@example.com> ORCPT=bad NOTIFY=NEVER,SUCCESS FOO=1\r\n")
		if got, _ := c.reply(); got[len(got)-1] != "501 5.5.4 Bad parameter value: ORCPT" {
			t.Fatalf("RCPT: got %q, want ORCPT named", got)
		}
	}
}

// Replies that overflow the write buffer go out under a fresh write
// deadline, however long the client was idle before: every write has its
// own (issue 13 item 4).
func TestPipelinedRepliesAfterIdle(t *testing.T) {
	t.Parallel()
	const writeTimeout = 200 * time.Millisecond
	h := newHostile(t, smtpd.Config{WriteTimeout: writeTimeout}, nil)
	c := h.dial()
	c.send("EHLO x\r\n")
	c.expectPrefix("250 ")
	// The client is idle for longer than the write timeout: the deadline
	// of the last write has passed.
	<-time.After(2 * writeTimeout)
	const n = 2000 // 12 KiB of commands, 36 KiB of replies
	c.send(strings.Repeat("NOOP\r\n", n))
	for i := range n {
		if got, err := c.reply(); err != nil || got[0] != "250 2.0.0 Ok" {
			t.Fatalf("reply %d of %d: %q, %v", i+1, n, got, err)
		}
	}
	c.send("QUIT\r\n")
	c.expectPrefix("221 ")
}

// The same with the defaults, in fake time: a pooled connection idle for
// a minute that pipelines 300 RCPTs.
func TestPipelinedRepliesAfterIdleDefaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srvConn, cliConn := net.Pipe()
		defer cliConn.Close()
		done := make(chan error, 1)
		go func() {
			c := smtpd.NewConn(srvConn, smtpd.Config{MaxRecipients: 1000})
			defer c.Close(nil)
			for {
				if _, err := c.Next(context.Background()); err != nil {
					done <- err
					return
				}
			}
		}()
		r := bufio.NewReader(cliConn)
		reply := func() string {
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					t.Fatalf("reading a reply: %v", err)
				}
				if len(l) < 4 || l[3] != '-' {
					return l
				}
			}
		}
		reply()
		io.WriteString(cliConn, "EHLO x\r\nMAIL FROM:<a@example.com>\r\n")
		reply()
		reply()
		time.Sleep(61 * time.Second) // fake time: the client idles
		const n = 300
		go io.WriteString(cliConn, strings.Repeat("RCPT TO:<b@example.com>\r\n", n)+"QUIT\r\n")
		for i := range n {
			if l := reply(); !strings.HasPrefix(l, "250 2.1.5") {
				t.Fatalf("reply %d of %d: %q", i+1, n, l)
			}
		}
		if l := reply(); !strings.HasPrefix(l, "221 ") {
			t.Fatalf("QUIT: %q", l)
		}
		if err := <-done; !errors.Is(err, io.EOF) {
			t.Fatalf("session ended with %v", err)
		}
	})
}
