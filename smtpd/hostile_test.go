package smtpd_test

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/mocksmtp/mocksmtp/smtpd"
)

// Hostile input at the engine's boundaries, over real TCP.

// hostile is a server for hostile-input tests: an engine that accepts
// every event, on a listener that serves any number of connections.
type hostile struct {
	t    *testing.T
	addr string
	msgs chan []byte // every accepted message's data
	ends chan error  // the error that ended each connection's Next loop
}

// newHostile serves connections with cfg until the test ends. answer, when
// not nil, may answer events (it runs on the connection's goroutine).
func newHostile(t *testing.T, cfg smtpd.Config, answer func(*smtpd.Conn, *smtpd.Event)) *hostile {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hostile{t: t, addr: ln.Addr().String(), msgs: make(chan []byte, 64), ends: make(chan error, 64)}
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
						h.ends <- err
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

// oneMechanism is a configuration that offers mechanism alone, each
// exchange on a SASL server newServer makes (state of its own per
// exchange).
func oneMechanism(mechanism string, newServer func() saslFunc) smtpd.Config {
	return smtpd.Config{
		AuthMechanisms: []string{mechanism},
		NewSASL:        func(string) (smtpd.SASLServer, error) { return newServer(), nil },
	}
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
	got, err := c.reply()
	if err == nil {
		c.t.Fatalf("want the connection closed, got %q", got)
	}
	if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
		// The client's deadline, not the server's close.
		c.t.Fatalf("want the connection closed, got nothing until the deadline (%q): %v", got, err)
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

// lineSizes are the lengths, CRLF included, of the over-long line tests,
// each limit at N-1, N, N+1 and 2N: the command line (512), the text line
// (1000), MAIL and RCPT with parameters (1024), AUTH (12288), the read
// buffer (16 KiB), the discard bound (1 MiB); and more.
var lineSizes = []int{511, 512, 513, 999, 1000, 1001, 1023, 1024, 1025, 2000, 2048,
	12287, 12288, 12289, 16383, 16384, 16385, 24576, 32 << 10, 64<<10 + 7,
	maxDiscard - 1, maxDiscard, maxDiscard + 1, 2 * maxDiscard}

// TestLongLines sends lines of every boundary length as a command, MAIL
// with and without parameters, RCPT with parameters, AUTH with an initial
// response, a DATA text line, a DATA line ending in ".", a DATA line
// ended by CRLF or by a bare LF and followed by ".", and an AUTH
// response: each gets its reply, nothing hidden in a line runs as a
// command or ends the data, no message is recorded truncated, and the
// session goes on (a line over 1 MiB closes it).
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
		// pastBound is the reply to a line past 1 MiB, which closes the
		// connection, when not 500 5.5.2.
		pastBound string
	}{
		{
			name: "command",
			// The tail of an over-long line must not run as a command.
			line: func(n int) string { return "NOOP " + strings.Repeat("x", n-11) + "RSET\r\n" },
			want: upTo(512, "250 2.0.0", "500 5.5.2"),
			tail: len("RSET\r\n"),
		},
		{
			name: "MAIL without parameters",
			// Blanks after the path are no parameters: 512 octets.
			line: func(n int) string { return "MAIL FROM:<a@example.com>" + strings.Repeat(" ", n-27) + "\r\n" },
			want: upTo(512, "250 2.1.0", "500 5.5.2"),
			tail: len("  \r\n"),
		},
		{
			name: "MAIL with parameters",
			// 512 octets more for parameters (Config.ParamAllowance).
			line: func(n int) string {
				return "MAIL FROM:<a@example.com> AUTH=" + strings.Repeat("x", n-37) + "RSET\r\n"
			},
			want: upTo(1024, "250 2.1.0", "500 5.5.2"),
			tail: len("RSET\r\n"),
		},
		{
			name:   "RCPT with parameters",
			before: "MAIL FROM:<a@example.com>\r\n", replies: "250 2.1.0",
			line: func(n int) string {
				return "RCPT TO:<b@example.com> ORCPT=rfc822;" + strings.Repeat("x", n-43) + "RSET\r\n"
			},
			want: upTo(1024, "250 2.1.5", "500 5.5.2"),
			tail: len("RSET\r\n"),
		},
		{
			name: "AUTH with an initial response",
			// Not base64: an initial response taken for one would reach
			// the SASL server, which fails the test.
			line: func(n int) string { return "AUTH LOGIN " + strings.Repeat("!", n-21) + "dXNlcg==\r\n" },
			want: upTo(12288, "501 5.5.2", "500 5.5.2"),
			tail: len("dXNlcg==\r\n"),
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
			name:   "DATA line ending in a bare LF, then a dot",
			before: envelope, replies: "250 2.1.0|250 2.1.5|354 ",
			// "." after a bare LF ends no data, however long the line
			// before it: the rest is text, up to the real end.
			line: func(n int) string { return strings.Repeat("x", n-1) + "\n.\r\n" + smuggled },
			want: func(int) string { return "550 5.5.2" },
			tail: len("\n"),
		},
		{
			name:   "DATA text line, then a dot",
			before: envelope, replies: "250 2.1.0|250 2.1.5|354 ",
			// The CRLF of a line one octet past the read buffer comes in
			// two reads: it still ends the line, and "." after it the data.
			line: func(n int) string { return strings.Repeat("x", n-2) + "\r\n.\r\n" },
			want: upTo(1000, "250 2.0.0", "500 5.5.2"),
			body: func(n int) string { return upTo(1000, strings.Repeat("x", n-2)+"\r\n", "")(n) },
			tail: len("\n"),
		},
		{
			name:   "AUTH response",
			before: "AUTH LOGIN\r\n", replies: "334 ",
			// Base64 of "user" at the end: a tail taken as the response
			// would reach the SASL server, which fails the test.
			line:      func(n int) string { return strings.Repeat("!", n-10) + "dXNlcg==\r\n" },
			want:      upTo(12288, "501 5.5.2", "500 5.5.6"),
			tail:      len("dXNlcg==\r\n"),
			pastBound: "500 5.5.6",
		},
		{
			name:   "AUTH response ending in a bare LF",
			before: "AUTH LOGIN\r\n", replies: "334 ",
			// Refused for its ending up to the limit, before its base64
			// is read; past it, for its length.
			line:      func(n int) string { return strings.Repeat("!", n-9) + "dXNlcg==\n" },
			want:      upTo(12288, "500 5.5.2", "500 5.5.6"),
			tail:      len("dXNlcg==\n"),
			pastBound: "500 5.5.6",
		},
		{
			name: "AUTH with an initial response ending in a bare LF",
			line: func(n int) string { return "AUTH LOGIN " + strings.Repeat("!", n-20) + "dXNlcg==\n" },
			want: upTo(12288, "500 5.5.2", "500 5.5.2"),
			tail: len("dXNlcg==\n"),
		},
	}
	for _, tt := range tests {
		for _, n := range append(lineSizes, 16<<10+tt.tail, 32<<10+tt.tail) {
			t.Run(fmt.Sprintf("%s/%d", tt.name, n), func(t *testing.T) {
				t.Parallel()
				h := newHostile(t, oneMechanism("LOGIN", func() saslFunc {
					return func(resp []byte) ([]byte, bool, error) {
						if resp != nil {
							t.Errorf("the SASL server got a response of %d octets: %.40q", len(resp), resp)
							return nil, false, errors.New("no")
						}
						return []byte("Username:"), false, nil
					}
				}), nil)
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
					c.expectPrefix(cmp.Or(tt.pastBound, "500 5.5.2"))
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

// The length limits of addresses (RFC 5321 4.5.3.1: a local part of 64
// octets, a label of 63, a domain of 255, a path of 256, which leaves 252
// to the domain of "<a@domain>") and of ENVID (RFC 3461 4.4: 100
// characters) hold at N-1, N, N+1 and 2N in MAIL and RCPT; a domain of
// 510 makes the line too long first. TestPathLength tests paths.
func TestAddressAndParameterLengths(t *testing.T) {
	t.Parallel()
	// domain returns a domain of n octets, of labels of at most 63.
	domain := func(n int) string {
		var labels []string
		for n > 63 {
			l := min(63, n-2) // leave a label after the dot
			labels = append(labels, strings.Repeat("d", l))
			n -= l + 1
		}
		return strings.Join(append(labels, strings.Repeat("e", n)), ".")
	}
	label := func(n int) string { return "x." + strings.Repeat("l", n) + ".example" }
	local := func(n int) string { return strings.Repeat("u", n) }
	tests := []struct {
		name, mailbox string
		envid         string // MAIL only: the ENVID parameter
		mail, rcpt    string // the replies
	}{
		{"local part of 63", local(63) + "@example.com", "", "250 2.1.0", "250 2.1.5"},
		{"local part of 64", local(64) + "@example.com", "", "250 2.1.0", "250 2.1.5"},
		{"local part of 65", local(65) + "@example.com", "", "501 5.1.7", "501 5.1.3"},
		{"local part of 128", local(128) + "@example.com", "", "501 5.1.7", "501 5.1.3"},
		{"label of 62", "a@" + label(62), "", "250 2.1.0", "250 2.1.5"},
		{"label of 63", "a@" + label(63), "", "250 2.1.0", "250 2.1.5"},
		{"label of 64", "a@" + label(64), "", "501 5.1.7", "501 5.1.3"},
		{"label of 126", "a@" + label(126), "", "501 5.1.7", "501 5.1.3"},
		{"domain of 251", "a@" + domain(251), "", "250 2.1.0", "250 2.1.5"},
		{"domain of 252, a path of 256", "a@" + domain(252), "", "250 2.1.0", "250 2.1.5"},
		{"domain of 253, a path of 257", "a@" + domain(253), "", "501 5.1.7", "501 5.1.3"},
		{"domain of 255", "a@" + domain(255), "", "501 5.1.7", "501 5.1.3"},
		{"domain of 256", "a@" + domain(256), "", "501 5.1.7", "501 5.1.3"},
		{"domain of 510", "a@" + domain(510), "", "500 5.5.2", "500 5.5.2"},
		{"ENVID of 99", "a@example.com", strings.Repeat("v", 99), "250 2.1.0", ""},
		{"ENVID of 100", "a@example.com", strings.Repeat("v", 100), "250 2.1.0", ""},
		{"ENVID of 101", "a@example.com", strings.Repeat("v", 101), "501 5.5.4", ""},
		{"ENVID of 200", "a@example.com", strings.Repeat("v", 200), "501 5.5.4", ""},
	}
	for _, n := range []int{251, 252, 253, 255, 256, 510} {
		if d := domain(n); len(d) != n {
			t.Fatalf("domain(%d) has %d octets", n, len(d))
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHostile(t, smtpd.Config{}, nil)
			c := h.dial()
			c.send("EHLO x\r\n")
			c.expectPrefix("250 ")
			mail := "MAIL FROM:<" + tt.mailbox + ">"
			if tt.envid != "" {
				mail = "MAIL FROM:<a@example.com> ENVID=" + tt.envid
			}
			c.send(mail + "\r\n")
			c.expectPrefix(tt.mail)
			if tt.mail == "250 2.1.0" {
				c.send("RSET\r\n")
				c.expectPrefix("250 2.0.0")
			}
			c.send("MAIL FROM:<a@example.com>\r\n")
			c.expectPrefix("250 2.1.0")
			if tt.rcpt != "" {
				c.send("RCPT TO:<" + tt.mailbox + ">\r\n")
				c.expectPrefix(tt.rcpt)
			}
			// The session goes on: a message to a recipient of the right length.
			c.send("RCPT TO:<b@example.com>\r\nDATA\r\nhi\r\n.\r\n")
			for _, w := range []string{"250 2.1.5", "354 ", "250 2.0.0"} {
				c.expectPrefix(w)
			}
			if got := h.message(); string(got) != "hi\r\n" {
				t.Fatalf("message %q", got)
			}
		})
	}
}

// domainOf returns a domain of n octets, of labels of at most 63 made of
// unit ("d", or "ü" of two octets) and padded with "d".
func domainOf(n int, unit string) string {
	var labels []string
	for n > 63 {
		l := min(63, n-2) // leave a label after the dot
		labels = append(labels, repeatTo(l, unit))
		n -= l + 1
	}
	return strings.Join(append(labels, repeatTo(n, unit)), ".")
}

// repeatTo returns n octets of unit repeated, padded with "d".
func repeatTo(n int, unit string) string {
	s := strings.Repeat(unit, n/len(unit))
	return s + strings.Repeat("d", n-len(s))
}

// The paths of TestPathLength, of n octets with the angle brackets.
var (
	// mailboxPath is a local part of 64 octets and a domain (n at most 322).
	mailboxPath = func(n int) string { return "<" + repeatTo(64, "u") + "@" + domainOf(n-67, "d") + ">" }
	// utf8Path is mailboxPath in two-octet characters, fewer than its octets.
	utf8Path = func(n int) string { return "<" + repeatTo(64, "é") + "@" + domainOf(n-67, "ü") + ">" }
	// routePath is a short mailbox after a source route of as many hops
	// of at most 255 octets as it takes.
	routePath = func(n int) string {
		const mailbox = "a@example.com"
		rest := n - len("<:"+mailbox+">") // of the hops, "@d1,@d2..."
		var hops []string
		for rest > 0 {
			k := min(rest-1, 255) // this hop's domain
			if r := rest - 1 - k; r > 0 && r < 3 {
				k -= 3 - r // leave room for the next one, ",@d"
			}
			hops = append(hops, "@"+domainOf(k, "d"))
			rest -= 1 + k
			if rest > 0 {
				rest-- // the comma
			}
		}
		return "<" + strings.Join(hops, ",") + ":" + mailbox + ">"
	}
)

// A reverse-path or forward-path is at most 256 octets, angle brackets and
// source route included (RFC 5321 4.5.3.1.3), counted in octets however
// many characters its UTF-8 makes: past it, MAIL gets 501 5.1.7 and RCPT
// 501 5.1.3, the replies of a path too long in its local part or domain
// (RFC 5321 4.5.3.1.10: "501 Path too long"), and the session goes on.
// Paths of 255 and 256 octets are taken; 257, 322 (a local part of 64
// and a domain of 255 octets, each within its own limit), 512 and 1 MiB
// less 100 (on a server whose command lines are 1 MiB, the most a Config
// takes) are not; one of 1 MiB+1 is on a line past 1 MiB, which closes
// the connection (500 5.5.2) at any limit.
func TestPathLength(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		path  func(n int) string
		utf8  bool // sent with SMTPUTF8
		sizes []int
	}{
		{"mailbox", mailboxPath, false, []int{255, 256, 257, 322}},
		{"UTF-8 mailbox", utf8Path, true, []int{255, 256, 257, 322}},
		{"source route", routePath, false, []int{255, 256, 257, 512, maxDiscard - 100, maxDiscard + 1}},
	}
	for _, tt := range tests {
		for _, n := range tt.sizes {
			for _, long := range []bool{false, true} {
				if long && n <= 512 || !long && n > 512 && n <= maxDiscard {
					continue // a line the limit would refuse, not the path
				}
				name := fmt.Sprintf("%s/%d", tt.name, n)
				cfg := smtpd.Config{}
				if long {
					name += "/MaxCommandLine 1 MiB"
					cfg.MaxCommandLine = maxDiscard
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					path := tt.path(n)
					if len(path) != n {
						t.Fatalf("a path of %d octets, want %d", len(path), n)
					}
					if tt.utf8 && utf8.RuneCountInString(path) >= 256 {
						t.Fatalf("a UTF-8 path of %d characters, want fewer than 256", utf8.RuneCountInString(path))
					}
					// Parameters make room for a path of 512 octets on the line.
					params := " BODY=8BITMIME"
					if tt.utf8 {
						params = " SMTPUTF8"
					}
					mail, rcpt := "250 2.1.0", "250 2.1.5"
					if n > 256 {
						mail, rcpt = "501 5.1.7", "501 5.1.3"
					}
					h := newHostile(t, cfg, nil)
					for _, cmd := range []string{"MAIL FROM:", "RCPT TO:"} {
						c := h.dial()
						c.send("EHLO x\r\n")
						c.expectPrefix("250 ")
						want, ps := mail, params
						if cmd == "RCPT TO:" {
							want, ps = rcpt, " NOTIFY=NEVER"
							c.send("MAIL FROM:<a@example.com>" + params + "\r\n")
							c.expectPrefix("250 2.1.0")
						}
						sent := c.sendAsync(cmd + path + ps + "\r\n")
						if n > maxDiscard {
							c.expectPrefix("500 5.5.2")
							c.expectClosed()
							sent()
							continue
						}
						c.expectPrefix(want)
						sent()
						if cmd == "MAIL FROM:" {
							if want == mail && n <= 256 {
								c.send("RSET\r\n")
								c.expectPrefix("250 2.0.0")
							}
							c.send("MAIL FROM:<a@example.com>" + params + "\r\n")
							c.expectPrefix("250 2.1.0")
						}
						// The session goes on: a message to a recipient of
						// the right length.
						c.send("RCPT TO:<b@example.com>\r\nDATA\r\nhi\r\n.\r\n")
						for _, w := range []string{"250 2.1.5", "354 ", "250 2.0.0"} {
							c.expectPrefix(w)
						}
						if got := h.message(); string(got) != "hi\r\n" {
							t.Fatalf("message %q", got)
						}
					}
				})
			}
		}
	}
}

// The shortest paths are not touched by the length limit: the null
// reverse-path, and postmaster without a domain as a forward-path (RFC
// 5321 4.1.1.3), in any case.
func TestShortestPaths(t *testing.T) {
	t.Parallel()
	h := newHostile(t, smtpd.Config{}, nil)
	c := h.dial()
	c.send("EHLO x\r\n")
	c.expectPrefix("250 ")
	c.send("MAIL FROM:<>\r\n")
	c.expectPrefix("250 2.1.0")
	c.send("RCPT TO:<>\r\n") // no null forward-path
	c.expectPrefix("501 5.1.3")
	c.send("RCPT TO:<postmaster>\r\nRCPT TO:<PostMaster>\r\nDATA\r\nhi\r\n.\r\n")
	for _, w := range []string{"250 2.1.5", "250 2.1.5", "354 ", "250 2.0.0"} {
		c.expectPrefix(w)
	}
	if got := h.message(); string(got) != "hi\r\n" {
		t.Fatalf("message %q", got)
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
// own (issue 13 item 4). Not parallel: with other tests running, a
// goroutine may wait its turn longer than a short write timeout.
func TestPipelinedRepliesAfterIdle(t *testing.T) {
	const writeTimeout = 500 * time.Millisecond
	h := newHostile(t, smtpd.Config{WriteTimeout: writeTimeout, MaxJunkCommands: 10000}, nil)
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

// watchedConn tells when the engine waits for more than the client sent:
// idle is closed when a Read begins after sent octets were read.
type watchedConn struct {
	net.Conn
	sent int64
	got  atomic.Int64
	idle chan struct{}
	once sync.Once
}

func (w *watchedConn) Read(p []byte) (int, error) {
	if w.got.Load() >= w.sent {
		w.once.Do(func() { close(w.idle) })
	}
	n, err := w.Conn.Read(p)
	w.got.Add(int64(n))
	return n, err
}

// A BDAT chunk's buffer grows as its octets arrive: clients that declare
// big chunks and send a few octets cannot make the server allocate what
// they declared (issue 13 item 3). Not parallel: it measures the heap.
func TestBdatBufferGrowsAsOctetsArrive(t *testing.T) {
	const conns, declared = 20, 10_000_000
	input := "EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nBDAT " +
		fmt.Sprint(declared) + " LAST\r\n0123456789"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range conns {
		cc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		nc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		w := &watchedConn{Conn: nc, sent: int64(len(input)), idle: make(chan struct{})}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := smtpd.NewConn(w, smtpd.Config{})
			defer c.Close(nil)
			for {
				if _, err := c.Next(ctx); err != nil {
					return
				}
			}
		}()
		if _, err := io.WriteString(cc, input); err != nil {
			t.Fatal(err)
		}
		select {
		case <-w.idle: // the engine waits for the rest of the chunk
		case <-time.After(10 * time.Second):
			t.Fatal("the engine never waited for the rest of the chunk")
		}
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > conns<<20 {
		t.Errorf("the heap grew by %d MiB for %d connections that declared %d MB chunks and sent 10 octets; want under 1 MiB each",
			grew>>20, conns, declared/1_000_000)
	}
}

// pattern returns n octets of every value in turn, CR, LF and "." among
// them.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/256)
	}
	return b
}

// A BDAT line the engine refuses before reading its size (a bare LF, a
// bare CR, a NUL, over 512 octets, after a refused greeting, spelled with
// a tab or blanks before the verb) is followed
// by a chunk it cannot skip: the connection closes after the reply, and
// nothing in the chunk runs as a command, here a second transaction. A
// line of 512 octets is a BDAT, its chunk read as one.
func TestRefusedBdatLineCloses(t *testing.T) {
	t.Parallel()
	const chunk = "RSET\r\nMAIL FROM:<evil@example.com>\r\nRCPT TO:<victim@example.com>\r\nBDAT 3 LAST\r\nabc"
	size := fmt.Sprint(len(chunk))
	padded := func(n int) string { // a BDAT line of n octets, CRLF included
		return "BDAT " + size + strings.Repeat(" ", n-len("BDAT "+size+" LAST\r\n")) + " LAST\r\n"
	}
	tests := []struct {
		name, line, want string
		refused          bool // the greeting was refused
	}{
		{"bare LF", "BDAT " + size + " LAST\n", "500 5.5.2", false},
		{"bare CR", "BDAT " + size + "\r LAST\r\n", "500 5.5.2", false},
		{"CR CR LF", "BDAT " + size + " LAST\r\r\n", "500 5.5.2", false},
		{"NUL", "BDAT " + size + " LAST\x00\r\n", "500 5.5.2", false},
		{"lower case, bare LF", "bdat " + size + " last\n", "500 5.5.2", false},
		{"513 octets", padded(513), "500 5.5.2", false},
		{"1024 octets", padded(1024), "500 5.5.2", false},
		{"12288 octets", padded(12288), "500 5.5.2", false},
		// Past the longest line the engine reads (an AUTH line's), up to
		// the longest it reads to its end: discarded, BDAT told by its
		// first octets.
		{"12289 octets", padded(12289), "500 5.5.2", false},
		{"16385 octets", padded(16385), "500 5.5.2", false},
		{"24576 octets", padded(24576), "500 5.5.2", false},
		{"1 MiB + 1 octets", padded(1<<20 + 1), "500 5.5.2", false},
		{"lower case, 12289 octets", strings.ToLower(padded(12289)), "500 5.5.2", false},
		{"after a refused greeting", "BDAT " + size + " LAST\r\n", "503 5.5.1", true},
		// Spelled oddly, an unknown command (RFC 5321 separates with SP
		// only), but one whose chunk follows all the same.
		{"a tab after the verb", "BDAT\t" + size + " LAST\r\n", "500 5.5.2", false},
		{"a blank before the verb", " BDAT " + size + " LAST\r\n", "500 5.5.2", false},
		{"a tab before the verb, lower case", "\tbdat " + size + " last\r\n", "500 5.5.2", false},
		{"a tab after the verb, 12289 octets", strings.Replace(padded(12289), " ", "\t", 1), "500 5.5.2", false},
		// Past the longest line read whole, the verb told after the
		// blanks before it, however many.
		{"two blanks before the verb, 12289 octets", "  " + padded(12289-2), "500 5.5.2", false},
		{"blanks and tabs before the verb, 65543 octets", " \t \t " + padded(64<<10+7-5), "500 5.5.2", false},
		{"16 KiB of blanks before the verb, 24576 octets", strings.Repeat(" ", 16<<10) + padded(24576-16<<10), "500 5.5.2", false},
		// Its arguments apart by ASCII blanks only (LAST is ASCII, a long
		// s no S): with a no-break space, its size is unknown.
		{"a no-break space before LAST", "BDAT " + size + "\u00a0LAST\r\n", "501 5.5.4", false},
		{"512 octets", padded(512), "250 2.0.0", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHostile(t, smtpd.Config{}, func(c *smtpd.Conn, ev *smtpd.Event) {
				if tt.refused && ev.Kind == smtpd.Greeting {
					c.Reply(smtpd.NewReply(554, "no service"))
				}
			})
			c := dial(t, h.addr)
			c.expectPrefix(cmp.Or(map[bool]string{true: "554 "}[tt.refused], "220 "))
			if !tt.refused {
				c.send("EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n")
				for _, w := range []string{"250 ", "250 2.1.0", "250 2.1.5"} {
					c.expectPrefix(w)
				}
			}
			sent := c.sendAsync(tt.line + chunk)
			c.expectPrefix(tt.want)
			if tt.want != "250 2.0.0" {
				c.expectClosed()
				sent()
				h.noMessage()
				return
			}
			sent()
			if got := h.message(); string(got) != chunk {
				t.Fatalf("message %q recorded, want the chunk", got)
			}
			c.send("HELP\r\n")
			c.expectPrefix("214 ")
			h.noMessage()
		})
	}
}

// BDAT chunks of every boundary size (empty, the 16 KiB read buffer, the 32 KiB
// first allocation, 1 MiB + 1), alone or split in two, arrive byte for
// byte; the message limit holds at N-1, N, N+1 and 2N octets (audit of
// readChunk, issue 13 item 1).
func TestBdatChunkBoundaries(t *testing.T) {
	t.Parallel()
	const limit = 3 << 20
	sizes := []int{0, 1, 16383, 16384, 16385, 32767, 32768, 32769, 64<<10 + 7, 1<<20 + 1,
		limit - 1, limit, limit + 1, 2 * limit}
	for _, n := range sizes {
		for _, split := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d/split=%v", n, split), func(t *testing.T) {
				t.Parallel()
				h := newHostile(t, smtpd.Config{MaxMessageBytes: limit}, nil)
				c := h.dial()
				data := pattern(n)
				c.send("EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n")
				for _, w := range []string{"250 ", "250 2.1.0", "250 2.1.5"} {
					c.expectPrefix(w)
				}
				var wire strings.Builder
				first := data[:0]
				if split {
					first = data[:n/2]
					fmt.Fprintf(&wire, "BDAT %d\r\n%s", len(first), first)
				}
				rest := data[len(first):]
				fmt.Fprintf(&wire, "BDAT %d LAST\r\n%s", len(rest), rest)
				sent := c.sendAsync(wire.String())
				switch {
				case n > limit && (!split || len(rest) > limit):
					// A chunk over the limit is not worth reading.
					if split {
						c.expectPrefix("250 2.0.0")
					}
					c.expectPrefix("552 5.3.4")
					c.expectClosed()
					sent()
					h.noMessage()
					return
				case n > limit:
					c.expectPrefix("250 2.0.0")
					c.expectPrefix("552 5.3.4")
				default:
					if split {
						c.expectPrefix("250 2.0.0")
					}
					c.expectPrefix("250 2.0.0")
					if got := h.message(); !bytes.Equal(got, data) {
						t.Fatalf("message of %d octets recorded, want the %d sent", len(got), len(data))
					}
				}
				sent()
				c.send("HELP\r\n")
				c.expectPrefix("214 ")
				h.noMessage()
			})
		}
	}
}

// A BDAT chunk that takes the message past the size limit is refused as
// an event, before its chunk is read: Err, ReasonTooBig and the 552 5.3.4
// the client gets, so that a driver that accepts the event sees the reply
// the engine writes and knows the transaction is over. Before, the event
// said "250 Ok: n octets received" and the engine answered 552 after the
// driver had accepted it. The limit holds at N-1, N and N+1 octets; the
// transaction is reset after the refusal (RCPT gets 503), and a new one
// goes through.
func TestBdatOverLimitIsRefusedAsItsEvent(t *testing.T) {
	t.Parallel()
	const limit = 100
	for _, second := range []int{limit - 60 - 1, limit - 60, limit - 60 + 1} {
		t.Run(fmt.Sprint(60+second), func(t *testing.T) {
			t.Parallel()
			type seen struct {
				reason smtpd.Reason
				code   int
				err    bool
			}
			events := make(chan seen, 8)
			h := newHostile(t, smtpd.Config{MaxMessageBytes: limit}, func(_ *smtpd.Conn, ev *smtpd.Event) {
				if ev.Kind == smtpd.Bdat {
					events <- seen{ev.Reason, ev.Reply.Code, ev.Err != nil}
				}
			})
			c := h.dial()
			c.send("EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n")
			for _, w := range []string{"250 ", "250 2.1.0", "250 2.1.5"} {
				c.expectPrefix(w)
			}
			c.send(fmt.Sprintf("BDAT 60\r\n%sBDAT %d LAST\r\n%s", pattern(60), second, pattern(second)))
			c.expectPrefix("250 2.0.0")
			want := []seen{{smtpd.ReasonNone, 250, false}, {smtpd.ReasonNone, 250, false}}
			if 60+second > limit {
				c.expectPrefix("552 5.3.4")
				want[1] = seen{smtpd.ReasonTooBig, 552, true}
				c.send("RCPT TO:<c@example.com>\r\n")
				c.expectPrefix("503 5.5.1") // the transaction is over
				h.noMessage()
			} else {
				c.expectPrefix("250 2.0.0")
				if got := h.message(); len(got) != 60+second {
					t.Fatalf("message of %d octets, want %d", len(got), 60+second)
				}
			}
			for i, w := range want {
				if got := <-events; got != w {
					t.Errorf("BDAT %d: event %+v, want %+v", i+1, got, w)
				}
			}
			c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nBDAT 5 LAST\r\nhello")
			for _, w := range []string{"250 2.1.0", "250 2.1.5", "250 2.0.0"} {
				c.expectPrefix(w)
			}
			if got := h.message(); string(got) != "hello" {
				t.Fatalf("message %q, want hello", got)
			}
		})
	}
}

// A mechanism that succeeds with additional data (SCRAM's v=, DIGEST-MD5's
// rspauth) has it sent as a last 334 challenge, since SMTP's 235 carries
// none (RFC 4954 4); the client's empty response ends the exchange with
// 235. Anything else after it is refused as any response is, and a
// non-empty one is 501 5.5.2. Before, the engine dropped the data and
// answered 235: the client never saw the server prove itself.
func TestAuthAdditionalDataWithSuccess(t *testing.T) {
	t.Parallel()
	final := base64.StdEncoding.EncodeToString([]byte("v=server-proof"))
	tests := []struct {
		name   string
		ir     bool   // the client's response goes on the AUTH line
		answer string // the client's line after the additional data
		want   string
		reason smtpd.Reason
	}{
		{"empty response", true, "\r\n", "235 2.7.0", smtpd.ReasonNone},
		{"empty response, no initial response", false, "\r\n", "235 2.7.0", smtpd.ReasonNone},
		{"=", true, "=\r\n", "235 2.7.0", smtpd.ReasonNone},
		{"a response of 1 octet", true, base64.StdEncoding.EncodeToString([]byte("x")) + "\r\n", "501 5.5.2", smtpd.ReasonSyntax},
		{"cancelled", true, "*\r\n", "501 5.0.0", smtpd.ReasonAuthCancelled},
		{"bare LF", true, "\n", "500 5.5.2", smtpd.ReasonBareLF},
		{"bad base64", true, "A\r\n", "501 5.5.2", smtpd.ReasonSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reasons := make(chan smtpd.Reason, 1)
			cfg := oneMechanism("X-FINAL", func() saslFunc {
				return func(resp []byte) ([]byte, bool, error) {
					switch string(resp) {
					case "":
						return nil, false, nil // no initial response: ask for it
					case "client-proof":
						return []byte("v=server-proof"), true, nil
					}
					return nil, false, errors.New("unexpected response")
				}
			})
			h := newHostile(t, cfg, func(_ *smtpd.Conn, ev *smtpd.Event) {
				if ev.Kind == smtpd.Auth {
					reasons <- ev.Reason
				}
			})
			c := h.dial()
			c.send("EHLO x\r\n")
			c.expectPrefix("250 ")
			proof := base64.StdEncoding.EncodeToString([]byte("client-proof"))
			if tt.ir {
				c.send("AUTH X-FINAL " + proof + "\r\n")
			} else {
				c.send("AUTH X-FINAL\r\n")
				c.expect("334 ")
				c.send(proof + "\r\n")
			}
			c.expect("334 " + final)
			c.send(tt.answer)
			c.expectPrefix(tt.want)
			if got := <-reasons; got != tt.reason {
				t.Errorf("Auth event's reason %v, want %v", got, tt.reason)
			}
			c.send("NOOP\r\n")
			c.expectPrefix("250 2.0.0")
		})
	}
}

// ORCPT with the address type utf-8 (RFC 6533 3, in RFC 3461 4.2's
// ORCPT=addr-type;value) takes utf-8-addr-xtext, printable ASCII but "+",
// "=" and the backslash, with `\x{HEXPOINT}` escapes, in any transaction, and
// utf-8-addr-unitext, which adds UTF-8 as it is, in an SMTPUTF8
// transaction; anything else is 501 5.5.4. HEXPOINT at each edge of its
// ranges: two digits for the xtext specials, the backslash and 80-FF;
// three to six without a leading zero, no surrogate, nothing past
// 10FFFF. Before, the value was held to xtext: unitext was refused, and
// a "+XX" or a lone backslash accepted.
func TestOrcptUTF8(t *testing.T) {
	t.Parallel()
	const ok, bad = "250 2.1.5", "501 5.5.4"
	tests := []struct {
		value         string
		plain, utf8tx string // the reply without and with SMTPUTF8 on MAIL
	}{
		{"rfc822;b+40c@example.com", ok, ok},
		{"utf-8;bob@example.com", ok, ok},
		{"UTF-8;bob@example.com", ok, ok},
		{`utf-8;b\x{F8}b@example.com`, ok, ok},
		{`utf-8;b\x{f8}b@example.com`, ok, ok}, // ABNF's HEXDIG takes either case
		{`utf-8;\x{5C}@example.com`, ok, ok},
		{`utf-8;a\x{2B}b@example.com`, ok, ok},
		{`utf-8;a\x{3D}b@example.com`, ok, ok},
		{`utf-8;a\x{20}b@example.com`, ok, ok},
		{`utf-8;a\x{01}\x{09}\x{10}\x{11}\x{19}\x{7F}\x{80}\x{FF}@example.com`, ok, ok},
		{`utf-8;\x{100}\x{FFF}\x{1000}\x{D7FF}\x{E000}\x{FFFF}\x{10000}\x{FFFFF}\x{100000}\x{10FFFF}@x`, ok, ok},
		{"utf-8;b\xc3\xb8b@example.com", bad, ok}, // unitext
		{"utf-8;\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90", bad, ok},
		{"utf-8;\xf0\x9f\x93\xa7@example.com", bad, ok}, // 4 octets
		{"utf-8;b\xc3\xb8b\\x{2B}x@example.com", bad, ok},
		// UTF-8 that Unicode calls a space is no separator of
		// parameters (RFC 5321 separates them with SP): no-break space,
		// next line, ideographic space.
		{"utf-8;b\xc2\xa0b@example.com", bad, ok},
		{"utf-8;b\xc2\x85b@example.com", bad, ok},
		{"utf-8;\xe3\x80\x80@example.com", bad, ok},
		// malformed
		{"utf-8;", bad, bad},
		{"utf-8;a+40b@example.com", bad, bad}, // xtext's hexchar is no utf-8 address
		{"utf-8;a+b@example.com", bad, bad},
		{`utf-8;a\b@example.com`, bad, bad},
		{`utf-8;a\x@example.com`, bad, bad},
		{`utf-8;a\xF8b@example.com`, bad, bad},
		{`utf-8;a\x{}b@example.com`, bad, bad},
		{`utf-8;a\x{F8b@example.com`, bad, bad},
		{`utf-8;a\X{F8}b@example.com`, bad, bad}, // %x78: a lower-case x only
		{`utf-8;a\x{8}b@example.com`, bad, bad},
		{`utf-8;a\x{00}b@example.com`, bad, bad},
		{`utf-8;a\x{0A}b@example.com`, bad, bad},
		{`utf-8;a\x{0D}b@example.com`, bad, bad},
		{`utf-8;a\x{1A}b@example.com`, bad, bad},
		{`utf-8;a\x{41}b@example.com`, bad, bad}, // "A" is sent as it is
		{`utf-8;a\x{7E}b@example.com`, bad, bad},
		{`utf-8;a\x{0FF}b@example.com`, bad, bad},
		{`utf-8;a\x{0100}b@example.com`, bad, bad},
		{`utf-8;a\x{D800}b@example.com`, bad, bad},
		{`utf-8;a\x{DFFF}b@example.com`, bad, bad},
		{`utf-8;a\x{0FFFF}b@example.com`, bad, bad},
		{`utf-8;a\x{110000}b@example.com`, bad, bad},
		{`utf-8;a\x{0010FFFF}b@example.com`, bad, bad},
		{"utf-8;a\xffb@example.com", bad, bad},         // no UTF-8
		{"utf-8;a\xc0\xafb@example.com", bad, bad},     // overlong
		{"utf-8;a\xed\xa0\x80b@example.com", bad, bad}, // a surrogate
		{"utf-8;a\xc3b@example.com", bad, bad},         // cut short
		{"rfc822;b\xc3\xb8b@example.com", bad, bad},    // only utf-8 takes unitext
	}
	for _, tt := range tests {
		for _, utf8tx := range []bool{false, true} {
			t.Run(fmt.Sprintf("%q/SMTPUTF8=%v", tt.value, utf8tx), func(t *testing.T) {
				t.Parallel()
				c := newHostile(t, smtpd.Config{}, nil).dial()
				mail := "MAIL FROM:<a@example.com>"
				want := tt.plain
				if utf8tx {
					mail += " SMTPUTF8"
					want = tt.utf8tx
				}
				c.send("EHLO x\r\n" + mail + "\r\nRCPT TO:<b@example.com> NOTIFY=FAILURE ORCPT=" + tt.value + "\r\n")
				c.expectPrefix("250 ")
				c.expectPrefix("250 2.1.0")
				c.expectPrefix(want)
			})
		}
	}
}

// body returns message data of n octets (n > 1000) in lines of at most
// 998 octets before CRLF, none starting with a dot.
func body(n int) string {
	full := strings.Repeat(strings.Repeat("d", 998)+"\r\n", n/1000)
	switch r := n % 1000; r {
	case 0:
		return full
	case 1: // a line of 999 octets and an empty one
		return full[:len(full)-1000] + strings.Repeat("d", 997) + "\r\n\r\n"
	default:
		return full + strings.Repeat("d", r-2) + "\r\n"
	}
}

// DATA messages at the size limit (N-1, N, N+1, 2N octets, CRLF and
// unstuffing counted as stored) and text lines at the line limit,
// dot-stuffed or not, arrive byte for byte or get their reply (audit of
// readData, issue 13 item 1).
func TestDataBoundaries(t *testing.T) {
	t.Parallel()
	const limit = 100_000
	tests := []struct {
		name   string
		stored string // what the message is
		wire   string // how it is sent, before the final "."
		want   string
	}{
		{"limit-1", body(limit - 1), body(limit - 1), "250 2.0.0"},
		{"limit", body(limit), body(limit), "250 2.0.0"},
		{"limit+1", "", body(limit + 1), "552 5.3.4"},
		{"2*limit", "", body(2 * limit), "552 5.3.4"},
		{"1 MiB+1", "", body(1<<20 + 1), "552 5.3.4"},
		{"text line of 999", strings.Repeat("e", 997) + "\r\n", strings.Repeat("e", 997) + "\r\n", "250 2.0.0"},
		{"text line of 1000", strings.Repeat("e", 998) + "\r\n", strings.Repeat("e", 998) + "\r\n", "250 2.0.0"},
		{"text line of 1001", "", strings.Repeat("e", 999) + "\r\n", "500 5.5.2"},
		// A stuffed line's limit does not count the dot doubled for
		// transparency (RFC 5321 4.5.3.1.6): a line of 1000 is 1001 sent.
		{"stuffed line of 999", "." + strings.Repeat("f", 996) + "\r\n", ".." + strings.Repeat("f", 996) + "\r\n", "250 2.0.0"},
		{"stuffed line of 1000", "." + strings.Repeat("f", 997) + "\r\n", ".." + strings.Repeat("f", 997) + "\r\n", "250 2.0.0"},
		{"stuffed line of 1001", "", ".." + strings.Repeat("f", 998) + "\r\n", "500 5.5.2"},
		{"stuffed line of 2000", "", ".." + strings.Repeat("f", 1997) + "\r\n", "500 5.5.2"},
		{"line of 1001 starting with a dot, unstuffed", strings.Repeat("f", 998) + "\r\n", "." + strings.Repeat("f", 998) + "\r\n", "250 2.0.0"},
		{"line of 1002 starting with a dot, unstuffed", "", "." + strings.Repeat("f", 999) + "\r\n", "500 5.5.2"},
		{"lone dot lines", ".\r\n..\r\n", "..\r\n...\r\n", "250 2.0.0"},
	}
	for _, n := range []int{limit - 1, limit, limit + 1, 2 * limit, 1<<20 + 1} {
		if len(body(n)) != n {
			t.Fatalf("body(%d) has %d octets", n, len(body(n)))
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHostile(t, smtpd.Config{MaxMessageBytes: limit}, nil)
			c := h.dial()
			c.send("EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
			for _, w := range []string{"250 ", "250 2.1.0", "250 2.1.5", "354 "} {
				c.expectPrefix(w)
			}
			sent := c.sendAsync(tt.wire + ".\r\n")
			c.expectPrefix(tt.want)
			sent()
			if tt.stored != "" {
				if got := h.message(); string(got) != tt.stored {
					t.Fatalf("message of %d octets recorded, want %d", len(got), len(tt.stored))
				}
			}
			c.send("HELP\r\n")
			c.expectPrefix("214 ")
			h.noMessage()
		})
	}
}

// MAIL's SIZE (RFC 1870: size-value = 1*20DIGIT) at the limit gets 250
// up to it and 552 5.3.4 past it, however many of its 20 digits the value
// has, even past what an int64 holds; a value that is no size-value is
// 501 5.5.4. A BDAT chunk size past the limit, however long, gets 552
// 5.3.4 and the connection closes.
func TestSizeParameter(t *testing.T) {
	t.Parallel()
	const limit = 100_000
	tests := []struct {
		limit int64
		value string
		want  string
	}{
		{limit, "99999", "250 2.1.0"},
		{limit, "100000", "250 2.1.0"},
		{limit, "100001", "552 5.3.4"},
		{limit, "200000", "552 5.3.4"},
		{limit, "1048577", "552 5.3.4"},
		{limit, "0", "250 2.1.0"},
		{limit, "00000000000000100000", "250 2.1.0"},
		{limit, "999999999999999999", "552 5.3.4"},
		{limit, "1000000000000000000", "552 5.3.4"},
		{limit, "9223372036854775807", "552 5.3.4"},
		{limit, "9223372036854775808", "552 5.3.4"},
		{limit, "99999999999999999999", "552 5.3.4"},
		{limit, "100000000000000000000", "501 5.5.4"},
		{limit, "000000000000000000001", "501 5.5.4"},
		{limit, strings.Repeat("9", 400), "501 5.5.4"},
		{limit, "-1", "501 5.5.4"},
		{limit, "1e5", "501 5.5.4"},
		{limit, "", "501 5.5.4"},
		{math.MaxInt64, "9223372036854775806", "250 2.1.0"},
		{math.MaxInt64, "9223372036854775807", "250 2.1.0"},
		{math.MaxInt64, "9223372036854775808", "552 5.3.4"},
		{math.MaxInt64, "99999999999999999999", "552 5.3.4"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d/%s", tt.limit, tt.value), func(t *testing.T) {
			t.Parallel()
			h := newHostile(t, smtpd.Config{MaxMessageBytes: tt.limit}, nil)
			c := h.dial()
			c.send("EHLO x\r\nMAIL FROM:<a@example.com> SIZE=" + tt.value + "\r\n")
			c.expectPrefix("250 ")
			c.expectPrefix(tt.want)
			if tt.want == "250 2.1.0" {
				c.send("RSET\r\n")
				c.expectPrefix("250 2.0.0")
			}
			// The session goes on, with a transaction of its own.
			c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nhi\r\n.\r\n")
			for _, w := range []string{"250 2.1.0", "250 2.1.5", "354 ", "250 2.0.0"} {
				c.expectPrefix(w)
			}
			if got := h.message(); string(got) != "hi\r\n" {
				t.Fatalf("message %q, want hi", got)
			}
		})
	}
	for _, tt := range []struct {
		limit int64
		size  string
	}{
		{limit, "100001"}, {limit, "1000000000000000000"}, {limit, "9223372036854775808"}, {limit, strings.Repeat("9", 400)},
		// Past an int64, past the largest limit too.
		{math.MaxInt64, "9223372036854775808"}, {math.MaxInt64, "99999999999999999999"}, {math.MaxInt64, strings.Repeat("9", 400)},
	} {
		limit, size := tt.limit, tt.size
		t.Run(fmt.Sprintf("BDAT %d/%s", limit, size[:min(len(size), 30)]), func(t *testing.T) {
			t.Parallel()
			h := newHostile(t, smtpd.Config{MaxMessageBytes: limit}, nil)
			c := h.dial()
			c.send("EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nBDAT " + size + " LAST\r\nsome data")
			for _, w := range []string{"250 ", "250 2.1.0", "250 2.1.5", "552 5.3.4"} {
				c.expectPrefix(w)
			}
			c.expectClosed()
			h.noMessage()
		})
	}
}

// maxKeptData is the largest DATA buffer the engine keeps for the next
// message, and the most a SIZE hint makes it allocate at once.
const maxKeptData = 1 << 20

// Messages around the size of the DATA buffers kept for reuse (1 MiB),
// declared with SIZE or not, truly or not, arrive byte for byte, one
// after the other on a connection and on connections side by side that
// share the buffers: none is cut short at the buffer's size, and none
// has octets of another.
func TestDataBufferBoundaries(t *testing.T) {
	t.Parallel()
	// data returns message data of n octets in lines of at most 1000,
	// CRLF included, that tell message k's from every other's.
	data := func(n, k int) string {
		var b strings.Builder
		for i := 0; b.Len() < n; i++ {
			line := fmt.Sprintf("%d:%d:", k, i) + strings.Repeat(string(rune('a'+k%26)), 990)
			b.WriteString(line[:min(len(line), n-b.Len()-2)] + "\r\n")
		}
		return b.String()
	}
	sizes := []int{maxKeptData - 1, maxKeptData, maxKeptData + 1, 2 * maxKeptData}
	for _, declared := range []string{"none", "exact", "less", "more"} {
		t.Run("SIZE "+declared, func(t *testing.T) {
			t.Parallel()
			h := newHostile(t, smtpd.Config{}, nil)
			c := h.dial()
			c.send("EHLO x\r\n")
			c.expectPrefix("250 ")
			for k, n := range sizes {
				msg := data(n, k)
				if len(msg) != n {
					t.Fatalf("data(%d) has %d octets", n, len(msg))
				}
				size := map[string]string{"none": "", "exact": fmt.Sprint(" SIZE=", n), "less": " SIZE=1", "more": " SIZE=10000000"}[declared]
				c.send("MAIL FROM:<a@example.com>" + size + "\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
				for _, w := range []string{"250 2.1.0", "250 2.1.5", "354 "} {
					c.expectPrefix(w)
				}
				sent := c.sendAsync(msg + ".\r\n")
				c.expectPrefix("250 2.0.0")
				sent()
				if got := h.message(); string(got) != msg {
					t.Fatalf("message %d: %d octets recorded, want the %d sent (equal: %v)", k+1, len(got), len(msg), len(got) == len(msg))
				}
			}
			c.send("QUIT\r\n")
			c.expectPrefix("221 ")
			h.noMessage()
		})
	}
}

// A refused message is read to its end, up to twice the size limit and
// 1 MiB more on the wire, its ".\r\n" included (the flood bound): past
// it, the engine answers 552 5.3.4 and closes. The bound holds at N-1, N,
// N+1 and 2N octets, and does not overflow for the largest limits, under
// which a message of 2 MiB + 1 octets is accepted byte for byte.
func TestDataFlood(t *testing.T) {
	t.Parallel()
	const limit = 100_000
	const bound = 2*limit + maxDiscard
	tests := []struct {
		name   string
		limit  int64
		wire   int // octets of data, ".\r\n" included
		want   string
		closes bool
	}{
		{"bound-1", limit, bound - 1, "552 5.3.4", false},
		{"bound", limit, bound, "552 5.3.4", false},
		{"bound+1", limit, bound + 1, "552 5.3.4", true},
		{"2*bound", limit, 2 * bound, "552 5.3.4", true},
		// 2*limit overflowed: every message over 1 MiB was a flood, or
		// every message at all.
		{"limit of MaxInt64", math.MaxInt64, 2<<20 + 1, "250 2.0.0", false},
		{"limit of 2^62", 1 << 62, 2<<20 + 1, "250 2.0.0", false},
		{"limit of (MaxInt64-1MiB)/2+1", (math.MaxInt64-maxDiscard)/2 + 1, 2<<20 + 1, "250 2.0.0", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHostile(t, smtpd.Config{MaxMessageBytes: tt.limit}, nil)
			c := h.dial()
			c.send("EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
			for _, w := range []string{"250 ", "250 2.1.0", "250 2.1.5", "354 "} {
				c.expectPrefix(w)
			}
			data := body(tt.wire - 3)
			sent := c.sendAsync(data + ".\r\n")
			c.expectPrefix(tt.want)
			if tt.closes {
				c.expectClosed()
				c.conn.Close()
				sent()
				h.noMessage()
				return
			}
			sent()
			if tt.want == "250 2.0.0" {
				if got := h.message(); string(got) != data {
					t.Fatalf("message of %d octets recorded, want the %d sent", len(got), len(data))
				}
			}
			c.send("HELP\r\n")
			c.expectPrefix("214 ")
			h.noMessage()
		})
	}
}

// AUTH responses at the AUTH line limit (12288 octets, CRLF included)
// reach the SASL mechanism exactly, over every round of an exchange and
// as the initial response of the AUTH line; one octet more gets 500 5.5.6
// (500 5.5.2 on the AUTH line) and reaches nothing (audit of the AUTH
// reader, issue 13 item 1); past 1 MiB, the same reply and the connection
// closes (a response got 500 5.5.2 there before). A response ending in a bare LF reaches nothing at any length:
// 500 5.5.2 up to the limit, even when it is good base64 (12285 octets in
// the exchange, 12287 on the AUTH line), the reply for its length past it.
func TestAuthResponseBoundaries(t *testing.T) {
	t.Parallel()
	// b64 returns a response line of n octets ending in end, and what it
	// decodes to (nil when it does not).
	b64 := func(n int, end string) (string, []byte) {
		chars := n - len(end)
		raw := pattern(chars / 4 * 3)
		enc := base64.StdEncoding.EncodeToString(raw)
		if len(enc) == chars {
			return enc + end, raw
		}
		return enc + strings.Repeat("A", chars-len(enc)) + end, nil
	}
	for _, end := range []string{"\r\n", "\n"} {
		crlf := end == "\r\n"
		for _, n := range []int{12285, 12286, 12287, 12288, 12289, 12290, 2 * 12288, maxDiscard + 1} {
			name := fmt.Sprint(n)
			if !crlf {
				name += " bare LF"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				got := make(chan []byte, 4)
				h := newHostile(t, oneMechanism("LOGIN", func() saslFunc {
					round := 0
					return func(resp []byte) ([]byte, bool, error) {
						if resp != nil {
							got <- bytes.Clone(resp)
						}
						round++
						if round == 3 {
							return nil, true, nil
						}
						return []byte("next"), false, nil
					}
				}), nil)
				c := h.dial()
				c.send("EHLO x\r\n")
				c.expectPrefix("250 ")
				c.send("AUTH LOGIN\r\n")
				c.expectPrefix("334 ")
				line, raw := b64(n, end)
				if len(line) != n {
					t.Fatalf("a line of %d octets, want %d", len(line), n)
				}
				if n > maxDiscard {
					sent := c.sendAsync(line)
					c.expectPrefix("500 5.5.6")
					c.expectClosed()
					sent()
					return
				}
				for round := 1; round <= 2; round++ {
					c.send(line)
					switch {
					case n > 12288:
						c.expectPrefix("500 5.5.6")
					case !crlf:
						c.expectPrefix("500 5.5.2")
					case raw == nil:
						c.expectPrefix("501 5.5.2")
					case round == 1:
						c.expectPrefix("334 ")
					default:
						c.expectPrefix("235 2.7.0")
					}
					if raw != nil && crlf && n <= 12288 {
						if r := <-got; !bytes.Equal(r, raw) {
							t.Fatalf("round %d: the SASL server got %d octets, want the %d sent", round, len(r), len(raw))
						}
					}
					if n > 12288 || raw == nil || !crlf {
						break
					}
				}
				select {
				case r := <-got:
					t.Fatalf("the SASL server got a response of %d octets", len(r))
				default:
				}
				c.send("HELP\r\n")
				c.expectPrefix("214 ")
			})
			// The initial response, on the AUTH line (12288 octets too): one
			// too long is refused as a command line, before any mechanism.
			t.Run("initial response/"+name, func(t *testing.T) {
				t.Parallel()
				got := make(chan []byte, 4)
				h := newHostile(t, oneMechanism("CRAM-MD5", func() saslFunc {
					return func(resp []byte) ([]byte, bool, error) {
						got <- bytes.Clone(resp)
						return []byte("next"), false, nil
					}
				}), nil)
				c := h.dial()
				c.send("EHLO x\r\n")
				c.expectPrefix("250 ")
				const prefix = "AUTH CRAM-MD5 " // 14 octets: 12288 is a whole base64 line
				line, raw := b64(n-len(prefix), end)
				if len(prefix+line) != n {
					t.Fatalf("a line of %d octets, want %d", len(prefix+line), n)
				}
				if n > maxDiscard {
					sent := c.sendAsync(prefix + line)
					c.expectPrefix("500 5.5.2")
					c.expectClosed()
					sent()
					return
				}
				c.send(prefix + line)
				switch {
				case n > 12288 || !crlf:
					c.expectPrefix("500 5.5.2")
				case raw == nil:
					c.expectPrefix("501 5.5.2")
				default:
					c.expectPrefix("334 ")
					if r := <-got; !bytes.Equal(r, raw) {
						t.Fatalf("the SASL server got %d octets, want the %d sent", len(r), len(raw))
					}
					c.send("*\r\n")
					c.expectPrefix("501 5.0.0")
				}
				select {
				case r := <-got:
					t.Fatalf("the SASL server got a response of %d octets", len(r))
				default:
				}
				c.send("HELP\r\n")
				c.expectPrefix("214 ")
			})
		}
	}
}

// A line of an AUTH exchange is held to the rule of command lines (RFC
// 5321 2.3.8: CR and LF only as CRLF; RFC 4954 4 and 8: each response is
// a line ended by CRLF): ended by a bare LF, or with a bare CR or a NUL,
// it gets the reply a command line gets, 500 5.5.2, for the reason a
// command would. The exchange ends there and takes no effect, the SASL
// server never sees the line, the transcript masks it and what the client
// sends after it, and the session goes on. The initial response is on
// the AUTH line, a command line.
func TestAuthLineEndings(t *testing.T) {
	t.Parallel()
	const user, pass = "dXNlcg==", "c2VjcmV0" // base64 of "user" and "secret"
	tests := []struct {
		name   string
		auth   string   // the AUTH line, terminator included
		lines  []string // the responses after its 334, each but the last answered by 334
		kind   smtpd.Kind
		reason smtpd.Reason
		got    []string // the responses the SASL server gets
	}{
		{"bare LF", "AUTH LOGIN\r\n", []string{user + "\n"}, smtpd.Auth, smtpd.ReasonBareLF, nil},
		{"bare LF in the second round", "AUTH LOGIN\r\n", []string{user + "\r\n", pass + "\n"}, smtpd.Auth, smtpd.ReasonBareLF, []string{"user"}},
		{"empty response, bare LF", "AUTH LOGIN\r\n", []string{"\n"}, smtpd.Auth, smtpd.ReasonBareLF, nil},
		{"= (empty response), bare LF", "AUTH LOGIN\r\n", []string{"=\n"}, smtpd.Auth, smtpd.ReasonBareLF, nil},
		{"* (cancel), bare LF", "AUTH LOGIN\r\n", []string{"*\n"}, smtpd.Auth, smtpd.ReasonBareLF, nil},
		{"NUL then bare LF", "AUTH LOGIN\r\n", []string{user + "\x00\n"}, smtpd.Auth, smtpd.ReasonBareLF, nil},
		{"bare CR inside", "AUTH LOGIN\r\n", []string{"dXNl\rcg==\r\n"}, smtpd.Auth, smtpd.ReasonBareCR, nil},
		{"bare CR first", "AUTH LOGIN\r\n", []string{"\r" + user + "\r\n"}, smtpd.Auth, smtpd.ReasonBareCR, nil},
		{"CR CR LF", "AUTH LOGIN\r\n", []string{user + "\r\r\n"}, smtpd.Auth, smtpd.ReasonBareCR, nil},
		{"bare CR between two responses", "AUTH LOGIN\r\n", []string{user + "\r" + pass + "\r\n"}, smtpd.Auth, smtpd.ReasonBareCR, nil},
		{"bare CR in the second round", "AUTH LOGIN\r\n", []string{user + "\r\n", "c2Vj\rcmV0\r\n"}, smtpd.Auth, smtpd.ReasonBareCR, []string{"user"}},
		{"NUL", "AUTH LOGIN\r\n", []string{user + "\x00\r\n"}, smtpd.Auth, smtpd.ReasonNUL, nil},
		{"NUL first", "AUTH LOGIN\r\n", []string{"\x00" + user + "\r\n"}, smtpd.Auth, smtpd.ReasonNUL, nil},
		{"initial response, bare LF", "AUTH LOGIN " + user + "\n", nil, smtpd.BadCommand, smtpd.ReasonBareLF, nil},
		{"initial response, bare CR", "AUTH LOGIN dXNl\rcg==\r\n", nil, smtpd.BadCommand, smtpd.ReasonBareCR, nil},
		{"initial response, NUL", "AUTH LOGIN " + user + "\x00\r\n", nil, smtpd.BadCommand, smtpd.ReasonNUL, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var (
				mu     sync.Mutex
				wire   []string // the transcript, masked as a recorder masks it
				got    []string // what the SASL server got
				events []*smtpd.Event
			)
			cfg := oneMechanism("LOGIN", func() saslFunc {
				return func(resp []byte) ([]byte, bool, error) {
					if resp == nil {
						return []byte("Username:"), false, nil
					}
					mu.Lock()
					got = append(got, string(resp))
					n := len(got)
					mu.Unlock()
					return []byte("Password:"), n == 2, nil
				}
			})
			cfg.Trace = func(tr smtpd.Trace) {
				if tr.Kind != smtpd.TraceCommand {
					return
				}
				text := tr.Text
				if tr.Masked != "" {
					text = tr.Masked
				}
				mu.Lock()
				wire = append(wire, text)
				mu.Unlock()
			}
			h := newHostile(t, cfg, func(_ *smtpd.Conn, ev *smtpd.Event) {
				mu.Lock()
				events = append(events, ev)
				mu.Unlock()
			})
			c := h.dial()
			c.send("EHLO x\r\n")
			c.expectPrefix("250 ")
			c.send(tt.auth)
			for _, l := range tt.lines {
				c.expectPrefix("334 ")
				c.send(l)
			}
			c.expectPrefix("500 5.5.2")
			// A client that took no notice sends its password next: a
			// line that is no command, masked.
			c.send(pass + "\r\n")
			c.expectPrefix("500 5.5.2")
			// The exchange took no effect: another one begins.
			c.send("AUTH LOGIN\r\n")
			c.expectPrefix("334 ")
			c.send("*\r\n")
			c.expectPrefix("501 5.0.0")
			c.send("QUIT\r\n")
			c.expectPrefix("221 ")
			if err := <-h.ends; !errors.Is(err, io.EOF) {
				t.Fatalf("the session ended with %v, want io.EOF after QUIT", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(got, tt.got) {
				t.Errorf("the SASL server got %q, want %q", got, tt.got)
			}
			var refused *smtpd.Event
			for _, ev := range events {
				if ev.Err != nil {
					refused = ev
					break
				}
			}
			if refused == nil || refused.Kind != tt.kind || refused.Reason != tt.reason {
				t.Errorf("the first event refused is %+v, want a %v refused for %v", refused, tt.kind, tt.reason)
			}
			transcript := strings.Join(wire, "\n")
			for _, secret := range []string{user, pass, "dXNl", "cg==", "c2Vj", "cmV0"} {
				if strings.Contains(transcript, secret) {
					t.Errorf("the transcript shows %q:\n%s", secret, transcript)
				}
			}
		})
	}
}

// Recipients over the limit get 452 4.5.3 without counting as bad
// commands, up to Config.MaxRecipientOvershoot in a transaction: the
// client delivers to the accepted ones and retries the rest (RFC 5321
// 4.5.3.1.10), as with Postfix's smtpd_recipient_overshoot_limit (issue
// 13 item 5).
func TestRecipientOvershoot(t *testing.T) {
	t.Parallel()
	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		h := newHostile(t, smtpd.Config{}, nil)
		c := h.dial()
		var cmds strings.Builder
		cmds.WriteString("EHLO x\r\nMAIL FROM:<a@example.com>\r\n")
		for i := range 130 { // 100 accepted, 30 over: more than MaxBadCommands
			fmt.Fprintf(&cmds, "RCPT TO:<r%d@example.com>\r\n", i)
		}
		cmds.WriteString("DATA\r\n")
		c.send(cmds.String())
		c.expectPrefix("250 ")
		c.expectPrefix("250 2.1.0")
		for i := range 130 {
			c.expectPrefix(map[bool]string{true: "250 2.1.5", false: "452 4.5.3"}[i < 100])
		}
		c.expectPrefix("354 ")
		c.send("Subject: to a hundred\r\n\r\nhi\r\n.\r\n")
		c.expectPrefix("250 2.0.0")
		if got := h.message(); string(got) != "Subject: to a hundred\r\n\r\nhi\r\n" {
			t.Fatalf("message %q", got)
		}
	})
	// The message goes to the first 100 recipients, byte for byte, with
	// 99, 100, 101 and 200 sent.
	for _, n := range []int{99, 100, 101, 200} {
		t.Run(fmt.Sprintf("%d recipients of 100", n), func(t *testing.T) {
			t.Parallel()
			to := make(chan []string, 1)
			h := newHostile(t, smtpd.Config{}, func(c *smtpd.Conn, ev *smtpd.Event) {
				if ev.Kind == smtpd.Message && ev.Err == nil {
					to <- ev.Envelope.To
				}
			})
			c := h.dial()
			var cmds strings.Builder
			cmds.WriteString("EHLO x\r\nMAIL FROM:<a@example.com>\r\n")
			for i := range n {
				fmt.Fprintf(&cmds, "RCPT TO:<r%d@example.com>\r\n", i)
			}
			c.send(cmds.String() + "DATA\r\n")
			c.expectPrefix("250 ")
			c.expectPrefix("250 2.1.0")
			for i := range n {
				c.expectPrefix(map[bool]string{true: "250 2.1.5", false: "452 4.5.3"}[i < 100])
			}
			c.expectPrefix("354 ")
			c.send("Subject: to many\r\n\r\nhi\r\n.\r\n")
			c.expectPrefix("250 2.0.0")
			if got := h.message(); string(got) != "Subject: to many\r\n\r\nhi\r\n" {
				t.Fatalf("message %q", got)
			}
			got := <-to
			if len(got) != min(n, 100) {
				t.Fatalf("%d recipients recorded, want %d", len(got), min(n, 100))
			}
			for i, r := range got {
				if r != fmt.Sprintf("r%d@example.com", i) {
					t.Fatalf("recipient %d is %q", i+1, r)
				}
			}
			c.send("QUIT\r\n")
			c.expectPrefix("221 ")
			h.noMessage()
		})
	}
	// The default overshoot, 1000, at N-1, N, N+1 and 2N recipients over
	// a limit of 1: from the 1001st, each counts as a bad command, and
	// the 20th bad command ends the session.
	for _, over := range []int{999, 1000, 1001, 2000} {
		t.Run(fmt.Sprintf("%d over the default overshoot", over), func(t *testing.T) {
			t.Parallel()
			h := newHostile(t, smtpd.Config{MaxRecipients: 1}, nil)
			c := h.dial()
			c.send("EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n")
			for _, w := range []string{"250 ", "250 2.1.0", "250 2.1.5"} {
				c.expectPrefix(w)
			}
			sent := c.sendAsync(strings.Repeat("RCPT TO:<c@example.com>\r\n", over))
			for range min(over, 1020) {
				c.expectPrefix("452 4.5.3")
			}
			if over >= 1020 {
				c.expectPrefix("421 4.7.0")
				c.expectClosed()
				c.conn.Close()
				sent()
				return
			}
			sent()
			bad := max(over-1000, 0)
			c.send(strings.Repeat("FROB\r\n", 19))
			for range 19 {
				c.expectPrefix("500 5.5.2")
			}
			if bad+19 >= 20 {
				c.expectPrefix("421 4.7.0")
				c.expectClosed()
				return
			}
			c.send("QUIT\r\n")
			c.expectPrefix("221 ")
		})
	}
	// With MaxRecipients 1, MaxRecipientOvershoot 3 and MaxBadCommands 2:
	// the first 3 over are free, the 4th counts, the 5th ends the session.
	for _, over := range []int{2, 3, 4, 5} {
		t.Run(fmt.Sprintf("%d over an overshoot of 3", over), func(t *testing.T) {
			t.Parallel()
			h := newHostile(t, smtpd.Config{MaxRecipients: 1, MaxRecipientOvershoot: 3, MaxBadCommands: 2}, nil)
			c := h.dial()
			c.send("EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n")
			for _, w := range []string{"250 ", "250 2.1.0", "250 2.1.5"} {
				c.expectPrefix(w)
			}
			c.send(strings.Repeat("RCPT TO:<c@example.com>\r\n", over))
			for range over {
				c.expectPrefix("452 4.5.3")
			}
			if over == 5 {
				c.expectPrefix("421 4.7.0")
				c.expectClosed()
				return
			}
			// A new transaction has a new allowance; a bad command now
			// counts once more.
			c.send("RSET\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n" + strings.Repeat("RCPT TO:<c@example.com>\r\n", 3))
			for _, w := range []string{"250 2.0.0", "250 2.1.0", "250 2.1.5", "452 4.5.3", "452 4.5.3", "452 4.5.3"} {
				c.expectPrefix(w)
			}
			c.send("FROB\r\n")
			c.expectPrefix("500 5.5.2")
			if over == 4 { // the 4th over counted: this is the 2nd bad command
				c.expectPrefix("421 4.7.0")
				c.expectClosed()
				return
			}
			c.send("QUIT\r\n")
			c.expectPrefix("221 ")
		})
	}
}

// The session ends with 421 4.7.0 at its MaxBadCommands-th bad command,
// by default and as configured, at N-1, N, N+1 and 2N bad commands: the
// commands after it get no reply. Refused BDAT commands are bad commands
// as any other: a client that sends nothing but BDAT out of sequence (its
// chunks read and thrown away) meets the 421 too.
func TestBadCommandLimit(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		greeting string   // sent first, its reply read
		kinds    []string // bad commands, sent in turn, each followed by NOOP
	}{
		// Bad commands of every kind.
		{"every kind", "", []string{"FROB\r\n", "MAIL FROM:<a@example.com>\r\n", "EHLO\r\n", "RCPT TO:<b@example.com>\r\n", "DATA x\r\n"}},
		// No transaction: each chunk is read and refused.
		{"BDAT", "EHLO x\r\n", []string{"BDAT 0\r\n", "BDAT 3\r\nabc", "BDAT 2 LAST\r\nab", "BDAT 1 MORE\r\nx"}},
	} {
		for _, limit := range []int{0, 5} { // 0: the default, 20
			n := cmp.Or(limit, 20)
			for _, bad := range []int{n - 1, n, n + 1, 2 * n} {
				t.Run(fmt.Sprintf("%s/%d of %d", tt.name, bad, n), func(t *testing.T) {
					t.Parallel()
					h := newHostile(t, smtpd.Config{MaxBadCommands: limit}, nil)
					c := h.dial()
					if tt.greeting != "" {
						c.send(tt.greeting)
						c.expectPrefix("250 ")
					}
					var cmds strings.Builder
					for i := range bad {
						cmds.WriteString(tt.kinds[i%len(tt.kinds)] + "NOOP\r\n")
					}
					sent := c.sendAsync(cmds.String())
					for i := range min(bad, n) {
						c.expectPrefix("5")
						if i == n-1 {
							c.expectPrefix("421 4.7.0")
							c.expectClosed()
							c.conn.Close()
							sent()
							return
						}
						c.expectPrefix("250 2.0.0")
					}
					sent()
					c.send("QUIT\r\n")
					c.expectPrefix("221 ")
					h.noMessage()
				})
			}
		}
	}
}

// Junk commands (NOOP, RSET, VRFY, EXPN, HELP) past Config.MaxJunkCommands
// since the last message count as bad commands, as Postfix's
// smtpd_junk_command_limit: a client cannot keep a session busy forever
// without sending mail (issue 13 item 6).
func TestJunkCommands(t *testing.T) {
	t.Parallel()
	junk := func(n int) string {
		var b strings.Builder
		verbs := []string{"NOOP", "RSET", "VRFY postmaster", "EXPN list", "HELP"}
		for i := range n {
			b.WriteString(verbs[i%len(verbs)] + "\r\n")
		}
		return b.String()
	}
	replies := map[string]string{"NOOP": "250 2.0.0", "RSET": "250 2.0.0", "VRFY": "252 2.0.0", "EXPN": "502 5.5.1", "HELP": "214 2.0.0"}
	expectJunk := func(c *client, n int) {
		c.t.Helper()
		verbs := []string{"NOOP", "RSET", "VRFY", "EXPN", "HELP"}
		for i := range n {
			c.expectPrefix(replies[verbs[i%len(verbs)]])
		}
	}
	for _, n := range []int{99, 100, 101, 200} {
		t.Run(fmt.Sprintf("%d junk commands, limit 100", n), func(t *testing.T) {
			t.Parallel()
			h := newHostile(t, smtpd.Config{MaxBadCommands: 1}, nil)
			c := h.dial()
			sent := c.sendAsync(junk(n))
			expectJunk(c, min(n, 101)) // the 101st is the first bad command
			if n > 100 {
				c.expectPrefix("421 4.7.0")
				c.expectClosed()
				c.conn.Close()
				sent()
				return
			}
			sent()
			c.send("QUIT\r\n")
			c.expectPrefix("221 ")
		})
	}
	t.Run("a message resets the count", func(t *testing.T) {
		t.Parallel()
		h := newHostile(t, smtpd.Config{MaxBadCommands: 1}, nil)
		c := h.dial()
		noops := strings.Repeat("NOOP\r\n", 100)
		c.send(noops + "HELO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
		for range 100 {
			c.expectPrefix("250 2.0.0")
		}
		for _, w := range []string{"250 ", "250 2.1.0", "250 2.1.5", "354 "} {
			c.expectPrefix(w)
		}
		c.send("hi\r\n.\r\n" + noops + "QUIT\r\n")
		c.expectPrefix("250 2.0.0 Ok: queued")
		for range 100 {
			c.expectPrefix("250 2.0.0")
		}
		c.expectPrefix("221 ")
	})
	t.Run("defaults: a million NOOPs", func(t *testing.T) {
		t.Parallel()
		h := newHostile(t, smtpd.Config{}, nil)
		c := h.dial()
		sent := c.sendAsync(strings.Repeat("NOOP\r\n", 1_000_000))
		for range 120 { // 100 free, 20 bad
			c.expectPrefix("250 2.0.0")
		}
		c.expectPrefix("421 4.7.0")
		c.expectClosed()
		c.conn.Close()
		sent()
	})
}

// HTTP requests and headers sent to the SMTP port (a web page's POST, a
// proxy's CONNECT) are not SMTP: the engine answers 421 4.7.0 and closes
// at the first one, as Postfix's smtpd_forbidden_commands, so that a body
// after them never runs as SMTP (issue 13 item 2).
func TestForbiddenCommands(t *testing.T) {
	t.Parallel()
	// What a browser sends for a form POSTed to http://127.0.0.1:2525/.
	const post = "POST / HTTP/1.1\r\nHost: 127.0.0.1:2525\r\nConnection: keep-alive\r\nContent-Length: 120\r\n" +
		"User-Agent: Mozilla/5.0\r\nContent-Type: text/plain\r\nAccept: */*\r\n\r\n" +
		"HELO x\r\nMAIL FROM:<web@example.com>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\nSubject: from a web page\r\n\r\nhi\r\n.\r\n"
	tests := []struct {
		name      string
		forbidden []string // Config.ForbiddenCommands
		send      string
		want      string // the first reply
		closes    bool
	}{
		{"a browser's POST", nil, post, "421 4.7.0", true},
		{"GET", nil, "GET / HTTP/1.1\r\n", "421 4.7.0", true},
		{"CONNECT", nil, "CONNECT mx.example:25 HTTP/1.1\r\n", "421 4.7.0", true},
		{"HEAD", nil, "HEAD / HTTP/1.0\r\n", "421 4.7.0", true},
		{"PUT", nil, "PUT /x HTTP/1.1\r\n", "421 4.7.0", true},
		{"OPTIONS", nil, "OPTIONS * HTTP/1.1\r\n", "421 4.7.0", true},
		{"a Host header", nil, "host: 127.0.0.1\r\n", "421 4.7.0", true},
		{"a User-Agent header", nil, "User-Agent: curl/8\r\n", "421 4.7.0", true},
		{"after EHLO, with a bare LF", nil, "EHLO x\r\nget /\n", "250 ", true},
		{"a list of one's own", []string{"XYZZY"}, "xyzzy\r\n", "421 4.7.0", true},
		{"not in a list of one's own", []string{"XYZZY"}, "GET /\r\n", "500 5.5.2", false},
		{"none", []string{}, "POST /\r\n", "500 5.5.2", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reasons := make(chan smtpd.Reason, 64)
			h := newHostile(t, smtpd.Config{ForbiddenCommands: tt.forbidden}, func(c *smtpd.Conn, ev *smtpd.Event) {
				reasons <- ev.Reason
			})
			c := h.dial()
			sent := c.sendAsync(tt.send)
			c.expectPrefix(tt.want)
			if strings.HasPrefix(tt.send, "EHLO") {
				c.expectPrefix("421 4.7.0")
			}
			if !tt.closes {
				c.send("QUIT\r\n")
				c.expectPrefix("221 ")
				sent()
				return
			}
			c.expectClosed()
			c.conn.Close() // the server drains until the client closes too
			sent()
			h.noMessage()
			var last smtpd.Reason
			for len(reasons) > 0 {
				last = <-reasons
			}
			if last != smtpd.ReasonForbiddenCommand {
				t.Errorf("the last event's reason is %v, want %v", last, smtpd.ReasonForbiddenCommand)
			}
			if err := <-h.ends; !errors.Is(err, smtpd.ErrForbiddenCommand) {
				t.Errorf("Next returned %v, want ErrForbiddenCommand", err)
			}
		})
	}
}

// With a read buffer that does not divide the 1 MiB bound (a text line
// limit of 20000 octets), the bound is as exact as with the default one.
func TestLongLinesLargeBuffer(t *testing.T) {
	t.Parallel()
	for _, n := range []int{19999, 20000, 20001, 40000, maxDiscard, maxDiscard + 1} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			h := newHostile(t, smtpd.Config{MaxTextLine: 20000}, nil)
			c := h.dial()
			c.send("EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
			for _, w := range []string{"250 ", "250 2.1.0", "250 2.1.5", "354 "} {
				c.expectPrefix(w)
			}
			line := strings.Repeat("x", n-2) + "\r\n"
			sent := c.sendAsync(line + ".\r\n")
			switch {
			case n > maxDiscard:
				c.expectPrefix("500 5.5.2")
				c.expectClosed()
				sent()
				return
			case n > 20000:
				c.expectPrefix("500 5.5.2")
			default:
				c.expectPrefix("250 2.0.0")
				if got := h.message(); string(got) != line {
					t.Fatalf("message of %d octets recorded, want %d", len(got), len(line))
				}
			}
			sent()
			c.send("HELP\r\n")
			c.expectPrefix("214 ")
		})
	}
}

// Line limits past the 1 MiB the engine reads of any line count as
// 1 MiB: a text line or a command line over it closes the connection
// (500 5.5.2), as with the default limits; a text line of 1 MiB and a
// transparency dot is taken. Before, a Config of 4 MiB sized each
// connection's read buffer to 4 MiB and took a 2 MiB line.
func TestLineLimitsBounded(t *testing.T) {
	t.Parallel()
	const huge = 4 << 20
	cfg := smtpd.Config{MaxTextLine: huge, MaxCommandLine: huge, ParamAllowance: huge}
	for _, n := range []int{maxDiscard - 1, maxDiscard, maxDiscard + 1, maxDiscard + 2, 2 * maxDiscard} {
		t.Run(fmt.Sprintf("text/%d", n), func(t *testing.T) {
			t.Parallel()
			h := newHostile(t, cfg, nil)
			c := h.dial()
			c.send("EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
			for _, w := range []string{"250 ", "250 2.1.0", "250 2.1.5", "354 "} {
				c.expectPrefix(w)
			}
			line := strings.Repeat("x", n-2) + "\r\n"
			sent := c.sendAsync(line + ".\r\n")
			switch {
			case n > maxDiscard: // past the bound
				c.expectPrefix("500 5.5.2")
				c.expectClosed()
				sent()
				return
			default:
				c.expectPrefix("250 2.0.0")
				if got := h.message(); len(got) != n {
					t.Fatalf("message of %d octets recorded, want %d", len(got), n)
				}
			}
			sent()
			c.send("HELP\r\n")
			c.expectPrefix("214 ")
		})
		t.Run(fmt.Sprintf("text with a transparency dot/%d", n), func(t *testing.T) {
			t.Parallel()
			h := newHostile(t, cfg, nil)
			c := h.dial()
			c.send("EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
			for _, w := range []string{"250 ", "250 2.1.0", "250 2.1.5", "354 "} {
				c.expectPrefix(w)
			}
			sent := c.sendAsync(".." + strings.Repeat("x", n-4) + "\r\n.\r\n") // n-1 octets once unstuffed
			defer sent()
			if n > maxDiscard+1 { // past the read buffer and the bound
				c.expectPrefix("500 5.5.2")
				c.expectClosed()
				return
			}
			c.expectPrefix("250 2.0.0")
			if got := h.message(); len(got) != n-1 {
				t.Fatalf("message of %d octets recorded, want %d", len(got), n-1)
			}
		})
		t.Run(fmt.Sprintf("command/%d", n), func(t *testing.T) {
			t.Parallel()
			h := newHostile(t, cfg, nil)
			c := h.dial()
			sent := c.sendAsync("NOOP " + strings.Repeat("x", n-7) + "\r\n")
			switch {
			case n > maxDiscard:
				c.expectPrefix("500 5.5.2")
				c.expectClosed()
				sent()
				return
			default:
				c.expectPrefix("250 2.0.0")
			}
			sent()
			c.send("HELP\r\n")
			c.expectPrefix("214 ")
		})
	}
}

// Command line limits set in Config hold at N-1, N, N+1 and 2N, below
// the defaults and above the AUTH line limit and the read buffer.
func TestConfiguredCommandLineLimits(t *testing.T) {
	t.Parallel()
	noop := func(n int) string { return "NOOP " + strings.Repeat("x", n-7) + "\r\n" }
	mail := func(n int) string { return "MAIL FROM:<a@example.com> ENVID=" + strings.Repeat("x", n-34) + "\r\n" }
	tests := []struct {
		name    string
		cfg     smtpd.Config
		line    func(n int) string
		limit   int
		ok, bad string
	}{
		{"MaxCommandLine 100", smtpd.Config{MaxCommandLine: 100}, noop, 100, "250 2.0.0", "500 5.5.2"},
		{"ParamAllowance 50", smtpd.Config{MaxCommandLine: 60, ParamAllowance: 50}, mail, 110, "250 2.1.0", "500 5.5.2"},
		{"MaxCommandLine 20000", smtpd.Config{MaxCommandLine: 20000}, noop, 20000, "250 2.0.0", "500 5.5.2"},
	}
	for _, tt := range tests {
		for _, n := range []int{tt.limit - 1, tt.limit, tt.limit + 1, 2 * tt.limit} {
			t.Run(fmt.Sprintf("%s/%d", tt.name, n), func(t *testing.T) {
				t.Parallel()
				h := newHostile(t, tt.cfg, nil)
				c := h.dial()
				c.send("EHLO x\r\n")
				c.expectPrefix("250 ")
				line := tt.line(n)
				if len(line) != n {
					t.Fatalf("a line of %d octets, want %d", len(line), n)
				}
				c.send(line)
				if n <= tt.limit {
					c.expectPrefix(tt.ok)
				} else {
					c.expectPrefix(tt.bad)
				}
				c.send("HELP\r\n")
				c.expectPrefix("214 ")
			})
		}
	}
}

// A line over its limit is read to its end and refused when it is at most
// 1 MiB long (LF included), and closes the connection when longer, at
// every limit a Config may set: a command line (500 5.5.2), a response of
// an AUTH exchange (500 5.5.6, RFC 4954 4's reply to a response too long,
// however long), a text line (500 5.5.2). Before, a line of 1 MiB+1 was
// read to its end and the session went on when the limit was 1 MiB (the
// read buffer, one octet more than the longest line, held it whole),
// while it closed the connection at the default limits; and an AUTH
// response past 1 MiB got 500 5.5.2, one shorter 500 5.5.6.
func TestLinesAtOneMiB(t *testing.T) {
	t.Parallel()
	configs := []struct {
		name string
		cfg  smtpd.Config
	}{
		{"default limits", smtpd.Config{}},
		{"MaxCommandLine 1 MiB", smtpd.Config{MaxCommandLine: maxDiscard}},
		{"MaxTextLine 1 MiB", smtpd.Config{MaxTextLine: maxDiscard}},
	}
	kinds := []struct {
		name  string
		limit func(smtpd.Config) int // the line's limit under a Config
		over  string                 // the reply to a line over it
	}{
		{"command", func(c smtpd.Config) int { return cmp.Or(c.MaxCommandLine, 512) }, "500 5.5.2"},
		{"AUTH response", func(smtpd.Config) int { return 12288 }, "500 5.5.6"},
		{"text line", func(c smtpd.Config) int { return cmp.Or(c.MaxTextLine, 1000) }, "500 5.5.2"},
	}
	for _, cf := range configs {
		for _, k := range kinds {
			limit := k.limit(cf.cfg)
			for _, n := range []int{maxDiscard - 1, maxDiscard, maxDiscard + 1, 2 * maxDiscard} {
				t.Run(fmt.Sprintf("%s/%s/%d", cf.name, k.name, n), func(t *testing.T) {
					t.Parallel()
					cfg := cf.cfg
					cfg.AuthMechanisms = []string{"LOGIN"}
					cfg.NewSASL = func(string) (smtpd.SASLServer, error) {
						return saslFunc(func(resp []byte) ([]byte, bool, error) {
							if resp != nil {
								t.Errorf("the SASL server got a response of %d octets", len(resp))
								return nil, false, errors.New("no")
							}
							return []byte("Username:"), false, nil
						}), nil
					}
					h := newHostile(t, cfg, nil)
					c := h.dial()
					c.send("EHLO x\r\n")
					c.expectPrefix("250 ")
					var line string
					switch k.name {
					case "command":
						line = "NOOP " + strings.Repeat("x", n-7) + "\r\n"
					case "AUTH response":
						c.send("AUTH LOGIN\r\n")
						c.expectPrefix("334 ")
						line = strings.Repeat("A", n-2) + "\r\n"
					case "text line":
						c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
						c.expectPrefix("250 2.1.0")
						c.expectPrefix("250 2.1.5")
						c.expectPrefix("354 ")
						line = strings.Repeat("x", n-2) + "\r\n.\r\n"
					}
					sent := c.sendAsync(line)
					defer sent()
					switch {
					case n > maxDiscard:
						c.expectPrefix(k.over)
						c.expectClosed()
						h.noMessage()
						return
					case n > limit:
						c.expectPrefix(k.over)
						h.noMessage()
					case k.name == "text line":
						c.expectPrefix("250 2.0.0")
						if got := h.message(); len(got) != n {
							t.Fatalf("a message of %d octets recorded, want %d", len(got), n)
						}
					default:
						c.expectPrefix("250 2.0.0")
					}
					c.send("HELP\r\n") // the session goes on
					c.expectPrefix("214 ")
				})
			}
		}
	}
}

// A client that stops sending mid-line, mid-DATA (in a line, after a
// line's CRLF, at a final "." without its CRLF), mid-discard of an
// over-long line, mid-chunk, between chunks or mid-AUTH exchange gets
// 421 4.4.2 once the read timeout passes, over TCP, and the connection
// closes (ErrTimeout): no message is taken from what it sent.
func TestReadTimeoutMidTransfer(t *testing.T) {
	t.Parallel()
	const tx = "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n"
	tests := []struct {
		name    string
		before  string // sent first, one reply per line
		partial string // then this, and silence
	}{
		{"mid-line", "", "NOO"},
		{"between CR and LF", "", "NOOP\r"},
		{"mid-DATA line", tx + "DATA\r\n", "Subject: x\r\n\r\nhalf"},
		{"mid-DATA after CRLF", tx + "DATA\r\n", "Subject: x\r\n\r\nbody\r\n"},
		{"at the final dot", tx + "DATA\r\n", "body\r\n."},
		{"at the final dot's CR", tx + "DATA\r\n", "body\r\n.\r"},
		{"mid-over-long command", "", strings.Repeat("x", 40000)},
		{"mid-over-long DATA line", tx + "DATA\r\n", strings.Repeat("x", 40000)},
		{"mid-chunk", tx, "BDAT 10 LAST\r\nabc"},
		{"mid-second-chunk", tx + "BDAT 3\r\nabc", "BDAT 10 LAST\r\nabc"},
		{"between chunks", tx + "BDAT 3\r\nabc", ""},
		{"mid-refused-chunk", "", "BDAT 10 LAST\r\nabc"},
		{"mid-AUTH response", "AUTH PLAIN\r\n", "AGFAYg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := oneMechanism("PLAIN", func() saslFunc {
				return func([]byte) ([]byte, bool, error) { return nil, false, nil }
			})
			cfg.ReadTimeout = 200 * time.Millisecond
			h := newHostile(t, cfg, nil)
			c := h.dial()
			c.send("EHLO x\r\n" + tt.before)
			for range 1 + strings.Count(tt.before, "\r\n") {
				c.expectPrefix("")
			}
			c.send(tt.partial)
			c.expectPrefix("421 4.4.2")
			c.expectClosed()
			if err := <-h.ends; !errors.Is(err, smtpd.ErrTimeout) {
				t.Fatalf("the session ended with %v, want ErrTimeout", err)
			}
			h.noMessage()
		})
	}
}
