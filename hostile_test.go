package mocksmtp_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/smtp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
)

// rawClient speaks SMTP over a plain socket for tests.
type rawClient struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { conn.Close() })
	return &rawClient{t, conn, bufio.NewReader(conn)}
}

// dialEHLO is dialRaw, then the greeting and EHLO's reply read.
func dialEHLO(t testing.TB, addr string) *rawClient {
	t.Helper()
	c := dialRaw(t, addr)
	c.expect("220 ")
	c.send("EHLO x\r\n")
	c.expect("250 ")
	return c
}

func (c *rawClient) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// reply reads one reply (all its lines) and returns its last line.
func (c *rawClient) reply() (string, error) {
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			return l, err
		}
		if len(l) < 4 || l[3] != '-' {
			return strings.TrimSuffix(l, "\r\n"), nil
		}
	}
}

// expect reads one reply and checks it starts with prefix ("550 5.5.2").
func (c *rawClient) expect(prefix string) {
	c.t.Helper()
	got, err := c.reply()
	if err != nil || !strings.HasPrefix(got, prefix) {
		c.t.Fatalf("want a reply starting %q, got %q, %v", prefix, got, err)
	}
}

// closed checks the server closed the connection: a read finds its end,
// not the client's deadline.
func (c *rawClient) closed() {
	c.t.Helper()
	got, err := c.reply()
	if err == nil {
		c.t.Fatalf("want the connection closed, got %q", got)
	}
	if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatalf("want the connection closed, got nothing until the deadline (%q): %v", got, err)
	}
}

const envelope = "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"

func TestHostileInput(t *testing.T) {
	t.Parallel()
	nested := strings.Repeat("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n", 5000)
	// A path of 322 octets: a local part of 64 and a domain of 255, each
	// within its own limit, the whole over 256 (RFC 5321 4.5.3.1.3).
	long := "<" + strings.Repeat("u", 64) + "@" + strings.Repeat(strings.Repeat("d", 63)+".", 3) + strings.Repeat("d", 63) + ">"
	tests := []struct {
		name   string
		send   string   // after the greeting and EHLO
		want   []string // reply prefixes, in order
		closed bool     // the server closes the connection afterwards
		msgs   int      // messages recorded
	}{
		{"command line over 512 octets", "NOOP " + strings.Repeat("x", 600) + "\r\n", []string{"500 5.5.2"}, false, 0},
		{"line without end", strings.Repeat("x", 2<<20), []string{"500 5.5.2"}, true, 0},
		{"NUL in a command", "NO\x00OP\r\n", []string{"500 5.5.2"}, false, 0},
		{"bare LF ends a command", "NOOP\n", []string{"500 5.5.2"}, false, 0},
		{"bare CR in a command", "NOOP\rRSET\r\n", []string{"500 5.5.2"}, false, 0},
		{"smuggling LF.LF", envelope + "x\n.\nRSET\r\n.\r\n", []string{"250 2.1.0", "250 2.1.5", "354", "550 5.5.2"}, false, 0},
		{"smuggling LF.CRLF", envelope + "x\n.\r\nRSET\r\n.\r\n", []string{"250 2.1.0", "250 2.1.5", "354", "550 5.5.2"}, false, 0},
		{"smuggling CR.CR", envelope + "x\r.\rRSET\r\n.\r\n", []string{"250 2.1.0", "250 2.1.5", "354", "550 5.5.2"}, false, 0},
		{"smuggling CRLF.LF", envelope + "x\r\n.\nRSET\r\n.\r\n", []string{"250 2.1.0", "250 2.1.5", "354", "550 5.5.2"}, false, 0},
		{"text line over 1000 octets", envelope + strings.Repeat("y", 1200) + "\r\n.\r\n", []string{"250 2.1.0", "250 2.1.5", "354", "500 5.5.2"}, false, 0},
		// Lines over the engine's 16 KiB read buffer (issue 13): their tails
		// are neither commands nor an end of data.
		{"command of 16 KiB whose tail is QUIT", "NOOP " + strings.Repeat("x", 16379) + "QUIT\r\n", []string{"500 5.5.2"}, false, 0},
		{"DATA line of 16 KiB ending in a dot", envelope + strings.Repeat("x", 16384) + ".\r\n" +
			"MAIL FROM:<evil@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nsmuggled\r\n.\r\n",
			[]string{"250 2.1.0", "250 2.1.5", "354", "500 5.5.2"}, false, 0},
		{"text line of 64 KiB + 7", envelope + strings.Repeat("y", 64<<10+5) + "\r\n.\r\n", []string{"250 2.1.0", "250 2.1.5", "354", "500 5.5.2"}, false, 0},
		{"line over 1 MiB", strings.Repeat("x", 1<<20) + "\r\n", []string{"500 5.5.2"}, true, 0},
		{"reverse-path over 256 octets", "MAIL FROM:" + long + "\r\n", []string{"501 5.1.7"}, false, 0},
		{"forward-path over 256 octets", "MAIL FROM:<a@example.com>\r\nRCPT TO:" + long + "\r\n", []string{"250 2.1.0", "501 5.1.3"}, false, 0},
		{"non-ASCII address without SMTPUTF8", "MAIL FROM:<josé@example.com>\r\n", []string{"553 5.6.7"}, false, 0},
		{"DATA out of sequence", "DATA\r\n", []string{"503 5.5.1"}, false, 0},
		{"MAIL twice", "MAIL FROM:<a@example.com>\r\nMAIL FROM:<a@example.com>\r\n", []string{"250 2.1.0", "503 5.5.1"}, false, 0},
		{"too many recipients", "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nRCPT TO:<d@example.com>\r\n",
			[]string{"250 2.1.0", "250 2.1.5", "250 2.1.5", "452 4.5.3"}, false, 0},
		{"BDAT size that lies", "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nBDAT 100 LAST\r\nonly ten.\r\n",
			[]string{"250 2.1.0", "250 2.1.5", "421 4.4.2"}, true, 0},
		{"BDAT size that is no number", "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nBDAT many\r\n",
			[]string{"250 2.1.0", "250 2.1.5", "501 5.5.4"}, true, 0},
		{"message over the size limit", envelope + strings.Repeat("z", 900) + "\r\n" + strings.Repeat("z", 900) + "\r\n.\r\n",
			[]string{"250 2.1.0", "250 2.1.5", "354", "552 5.3.4"}, false, 0},
		{"deeply nested MIME is recorded", envelope + nested + ".\r\n", []string{"250 2.1.0", "250 2.1.5", "354", "250 2.0.0"}, false, 1},
		{"broken MIME is recorded", envelope + "Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!\r\n.\r\n",
			[]string{"250 2.1.0", "250 2.1.5", "354", "250 2.0.0"}, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			limit := int64(1500)
			if tt.msgs > 0 {
				limit = 10 << 20
			}
			srv := mocksmtp.Start(t, mocksmtp.WithMaxRecipients(2), mocksmtp.WithMaxMessageBytes(limit),
				mocksmtp.WithReadTimeout(time.Second))
			c := dialRaw(t, srv.Addr())
			c.expect("220 ")
			c.send("EHLO hostile.example\r\n")
			c.expect("250 ")
			c.send(tt.send)
			for _, w := range tt.want {
				c.expect(w)
			}
			if tt.closed {
				c.closed()
			} else {
				c.send("NOOP\r\n")
				c.expect("250 2.0.0")
			}
			// The server keeps serving other sessions.
			if err := smtp.SendMail(srv.Addr(), nil, "ok@example.com", []string{"ok@example.com"}, []byte("Subject: ok\r\n\r\nok\r\n")); err != nil {
				t.Fatalf("a well-behaved client after the hostile one: %v", err)
			}
			msgs := srv.WaitForMessages(t, tt.msgs+1)
			if len(msgs) != tt.msgs+1 {
				t.Fatalf("%d messages recorded, want %d", len(msgs), tt.msgs+1)
			}
			if tt.msgs > 0 && msgs[0].ParseErr == nil {
				t.Errorf("hostile MIME recorded without a parse error")
			}
		})
	}
}

// A client that sends one byte at a time cannot hold a session open longer
// than the read timeout allows for one line.
func TestSlowlorisIsBoundedByTheReadTimeout(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithReadTimeout(300*time.Millisecond))
	c := dialRaw(t, srv.Addr())
	c.expect("220 ")
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for range 100 { // 2 s of a never-ending line, unless the server closes first
			<-tick.C
			if _, err := c.conn.Write([]byte("x")); err != nil {
				return
			}
		}
	}()
	c.expect("421 4.4.2")
	c.closed()
	waitEnded(t, srv, 1)
	if s := srv.Sessions()[0]; s.Ended != mocksmtp.EndTimeout {
		t.Errorf("session ended %v, want timeout", s.Ended)
	}
}

// A client that vanishes in the middle of DATA leaves no message behind.
func TestClientVanishesMidData(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	c := dialRaw(t, srv.Addr())
	c.expect("220 ")
	c.send("HELO x\r\n" + envelope + "Subject: half\r\n\r\nhalf a mess")
	for _, w := range []string{"250 ", "250 2.1.0", "250 2.1.5", "354"} {
		c.expect(w)
	}
	c.conn.Close()
	waitEnded(t, srv, 1)
	s := srv.Sessions()[0]
	if s.Ended != mocksmtp.EndClientClosed || len(srv.Messages()) != 0 {
		t.Errorf("session ended %v with %d messages; want client closed, none", s.Ended, len(srv.Messages()))
	}
}

// waitEnded waits until n sessions have ended.
func waitEnded(t *testing.T, srv *mocksmtp.Server, n int) {
	t.Helper()
	srv.WaitForSessions(t, n)
}

// A client that vanishes in the middle of the TLS handshake ends its
// session as a failed handshake; the server goes on serving.
func TestClientVanishesMidTLSHandshake(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithSTARTTLS())
	c := dialEHLO(t, srv.Addr())
	c.send("STARTTLS\r\n")
	c.expect("220 2.0.0")
	// Half a TLS ClientHello record header, then gone.
	c.send("\x16\x03\x01\x02")
	c.conn.Close()
	waitEnded(t, srv, 1)
	if s := srv.Sessions()[0]; s.Ended != mocksmtp.EndTLSFailed {
		t.Errorf("session ended %v (%v), want TLS handshake failed", s.Ended, s.Err)
	}
	// The server goes on: a new client gets its greeting and TLS.
	c2, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.StartTLS(srv.ClientTLSConfig()); err != nil {
		t.Fatalf("STARTTLS after the vanished client: %v", err)
	}
	if err := c2.Quit(); err != nil {
		t.Fatal(err)
	}
}

// A client that talks forever without sending mail cannot grow the
// server without bound (issue 13 item 6): a million NOOPs end the session
// at the engine's junk-command limit, and a session of commands the
// engine does not limit (EHLO after EHLO) keeps its first and last lines
// under the transcript cap, every line with its number.
func TestEndlessSessions(t *testing.T) {
	t.Parallel()
	t.Run("a million NOOPs", func(t *testing.T) {
		t.Parallel()
		srv := mocksmtp.Start(t, mocksmtp.WithRetention(10))
		c := dialRaw(t, srv.Addr())
		c.expect("220 ")
		go func() { _, _ = c.conn.Write([]byte(strings.Repeat("NOOP\r\n", 1_000_000))) }()
		for range 120 { // 100 junk commands are free, 20 more are bad ones
			c.expect("250 2.0.0")
		}
		c.expect("421 4.7.0")
		c.closed()
		s := srv.WaitForSessions(t, 1)[0]
		if n := s.Forgotten + len(s.Transcript); n > 300 {
			t.Errorf("the session has %d transcript lines, want at most 300", n)
		}
	})
	ehlos := func(t *testing.T, srv *mocksmtp.Server, n int) *mocksmtp.Session {
		t.Helper()
		c := dialRaw(t, srv.Addr())
		c.expect("220 ")
		go func() { _, _ = c.conn.Write([]byte(strings.Repeat("EHLO x\r\n", n) + "NOOP\n")) }()
		for range n {
			c.expect("250 CHUNKING")
		}
		c.expect("500 5.5.2") // a bare LF: a finding on one of the last lines
		c.send("QUIT\r\n")
		c.expect("221 ")
		return srv.WaitForSessions(t, 1)[0]
	}
	const ehloLines = 9 // EHLO and its 8 reply lines
	t.Run("WithMaxTranscriptLines(100)", func(t *testing.T) {
		t.Parallel()
		// Pipelined EHLOs are findings: switched off, to find the one at the end.
		srv := mocksmtp.Start(t, mocksmtp.WithMaxTranscriptLines(100), mocksmtp.WithoutRules(mocksmtp.RulePipelining))
		s := ehlos(t, srv, 1000)
		total := 1 + 1000*ehloLines + 4 // greeting, EHLOs, NOOP and 500, QUIT and 221
		if len(s.TranscriptHead) != 10 || s.Forgotten != total-90 || len(s.Transcript) != 90 {
			t.Fatalf("head %d lines, %d forgotten, %d kept; want 10, %d, 90", len(s.TranscriptHead), s.Forgotten, len(s.Transcript), total-90)
		}
		if h, l := s.TranscriptHead[0], s.Transcript[len(s.Transcript)-1]; !strings.HasPrefix(h.Text, "220 ") || l.Text != "221 2.0.0 Bye" {
			t.Errorf("first line %v, last %v", h, l)
		}
		out := s.String()
		for _, want := range []string{
			"\n   1 S: 220 ",
			"\n  10 S: 250 CHUNKING\n     … lines 11 to " + fmt.Sprint(total-90) + " forgotten",
			fmt.Sprintf("\n%d C: NOOP\n", total-3),
			fmt.Sprintf("\n%d S: 221 2.0.0 Bye\n", total),
		} {
			if !strings.Contains(out, want) {
				t.Errorf("Session.String() lacks %q:\n%s", want, out[:min(len(out), 2000)])
			}
		}
		fs := srv.Findings()
		if len(fs) != 1 || fs[0].Line != total-3 {
			t.Fatalf("%d findings, the first %v; want one on line %d", len(fs), fs[:min(len(fs), 1)], total-3)
		}
		if report := mocksmtp.FindingsReport(fs, srv.Sessions()); !strings.Contains(report, fmt.Sprintf(">%4d C: NOOP", total-3)) {
			t.Errorf("the findings report lacks the line:\n%s", report)
		}
	})
	// Sessions of N-1, N, N+1 and 2N lines under a cap of 20: up to it,
	// every line is kept; past it, the first 2 and the last 18, every line
	// the one an uncapped server records under the same number.
	t.Run("N-1 to 2N lines under a cap of 20", func(t *testing.T) {
		t.Parallel()
		const limit = 20
		// session runs a session of total lines: greeting, HELO (2 lines)
		// or EHLO (9), NOOPs (2 each), QUIT and 221.
		session := func(srv *mocksmtp.Server, total int) *mocksmtp.Session {
			c := dialRaw(t, srv.Addr())
			c.expect("220 ")
			noops := (total - 12) / 2
			if total%2 == 1 {
				c.send("HELO x\r\n")
				noops = (total - 5) / 2
			} else {
				c.send("EHLO x\r\n")
			}
			c.expect("250 ")
			for range noops {
				c.send("NOOP\r\n")
				c.expect("250 2.0.0")
			}
			c.send("QUIT\r\n")
			c.expect("221 ")
			c.closed()
			return srv.WaitForSessions(t, 1)[0]
		}
		type line struct {
			Dir  mocksmtp.Direction
			Text string
		}
		lines := func(tr mocksmtp.Transcript) []line {
			var out []line
			for _, l := range tr {
				out = append(out, line{l.Dir, l.Text})
			}
			return out
		}
		for _, total := range []int{limit - 1, limit, limit + 1, 2 * limit} {
			ref := session(mocksmtp.Start(t, mocksmtp.WithoutTranscriptLog()), total)
			if n := len(ref.Transcript); n != total || ref.Forgotten != 0 {
				t.Fatalf("an uncapped session of %d lines has %d, %d forgotten", total, n, ref.Forgotten)
			}
			s := session(mocksmtp.Start(t, mocksmtp.WithMaxTranscriptLines(limit)), total)
			want := ref.Transcript
			head, forgotten := mocksmtp.Transcript(nil), 0
			if total > limit {
				head, forgotten = want[:limit/10], total-(limit-limit/10)
				want = want[forgotten:]
			}
			if s.Forgotten != forgotten {
				t.Errorf("%d lines: %d forgotten, want %d", total, s.Forgotten, forgotten)
			}
			if diff := cmp.Diff(lines(head), lines(s.TranscriptHead)); diff != "" {
				t.Errorf("%d lines: the head (-want +got):\n%s", total, diff)
			}
			if diff := cmp.Diff(lines(want), lines(s.Transcript)); diff != "" {
				t.Errorf("%d lines: the lines kept (-want +got):\n%s", total, diff)
			}
		}
	})
	t.Run("default cap of 100000 lines", func(t *testing.T) {
		t.Parallel()
		srv := mocksmtp.Start(t, mocksmtp.WithoutRules(mocksmtp.RulePipelining))
		s := ehlos(t, srv, 12_000) // 108,005 lines
		if kept := len(s.TranscriptHead) + len(s.Transcript); kept != 100_000 || len(s.TranscriptHead) != 10_000 {
			t.Errorf("kept %d lines, %d of them in the head; want 100000 and 10000", kept, len(s.TranscriptHead))
		}
		if total := s.Forgotten + len(s.Transcript); total != 1+12_000*ehloLines+4 {
			t.Errorf("the last line is %d, want %d", total, 1+12_000*ehloLines+4)
		}
	})
}

// The MIME walk's limits, 100 nested multiparts and 1000 parts, at N-1, N,
// N+1 and 2N, over the wire: every message is recorded once, byte for
// byte; the parse stops at the limit and says so (Message.ParseErr).
func TestMIMELimitsOverTheWire(t *testing.T) {
	t.Parallel()
	nested := func(depth int) string {
		var b strings.Builder
		b.WriteString("Subject: deep\r\n")
		for i := range depth {
			fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
		}
		b.WriteString("Content-Type: text/plain\r\n\r\ninnermost\r\n")
		for i := depth - 1; i >= 0; i-- {
			fmt.Fprintf(&b, "--b%d--\r\n", i)
		}
		return b.String()
	}
	parts := func(n int) string {
		var b strings.Builder
		b.WriteString("Subject: many\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n")
		for i := range n {
			fmt.Fprintf(&b, "--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=%d.bin\r\n\r\n%d\r\n", i, i)
		}
		b.WriteString("--b--\r\n")
		return b.String()
	}
	tests := []struct {
		name        string
		raw         string
		err         error // wrapped by ParseErr, nil for none
		text        string
		attachments int
	}{
		{"depth 99", nested(99), nil, "innermost", 0},
		{"depth 100", nested(100), nil, "innermost", 0},
		{"depth 101", nested(101), mocksmtp.ErrMIMETooDeep, "", 0},
		{"depth 200", nested(200), mocksmtp.ErrMIMETooDeep, "", 0},
		{"999 parts", parts(999), nil, "", 999},
		{"1000 parts", parts(1000), nil, "", 1000},
		{"1001 parts", parts(1001), mocksmtp.ErrMIMETooManyParts, "", 1000},
		{"2000 parts", parts(2000), mocksmtp.ErrMIMETooManyParts, "", 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t)
			c := dialEHLO(t, srv.Addr())
			c.send(envelope)
			for _, w := range []string{"250 2.1.0", "250 2.1.5", "354 "} {
				c.expect(w)
			}
			c.send(tt.raw + ".\r\n")
			c.expect("250 2.0.0")
			c.send("QUIT\r\n")
			c.expect("221 ")
			srv.WaitForSessions(t, 1)
			ms := srv.Messages()
			if len(ms) != 1 || string(ms[0].Raw) != tt.raw {
				t.Fatalf("%d messages recorded; want the one sent, byte for byte", len(ms))
			}
			m := ms[0]
			if !errors.Is(m.ParseErr, tt.err) || (tt.err == nil) != (m.ParseErr == nil) {
				t.Errorf("ParseErr = %v, want %v", m.ParseErr, tt.err)
			}
			if strings.TrimSpace(m.Text) != tt.text || len(m.Attachments) != tt.attachments {
				t.Errorf("Text %q and %d attachments, want %q and %d", m.Text, len(m.Attachments), tt.text, tt.attachments)
			}
		})
	}
}

// WithMaxMessageBytes at N-1, N, N+1, 2N and 1 MiB + 1 octets, by DATA
// and by BDAT: each message up to the limit is recorded once, byte for
// byte, each over it gets 552 5.3.4 and is not recorded; under the
// largest limit, a message of 2 MiB + 1 is recorded.
func TestMessageSizeLimitRecorded(t *testing.T) {
	t.Parallel()
	const limit = 100_000
	// data returns message data of n octets (n > 1000), in lines of at
	// most 1000.
	data := func(n int) string {
		full := strings.Repeat(strings.Repeat("m", 998)+"\r\n", n/1000)
		switch r := n % 1000; r {
		case 0:
			return full
		case 1: // a line of 999 octets and an empty one
			return full[:len(full)-1000] + strings.Repeat("m", 997) + "\r\n\r\n"
		default:
			return full + strings.Repeat("r", r-2) + "\r\n"
		}
	}
	for _, tt := range []struct {
		limit int64
		n     int
	}{
		{limit, limit - 1}, {limit, limit}, {limit, limit + 1}, {limit, 2 * limit}, {limit, 1<<20 + 1},
		{math.MaxInt64, 2<<20 + 1},
	} {
		for _, verb := range []string{"DATA", "BDAT"} {
			t.Run(fmt.Sprintf("%s/%d of %d", verb, tt.n, tt.limit), func(t *testing.T) {
				t.Parallel()
				srv := mocksmtp.Start(t, mocksmtp.WithMaxMessageBytes(tt.limit))
				c := dialEHLO(t, srv.Addr())
				msg := data(tt.n)
				if len(msg) != tt.n {
					t.Fatalf("data(%d) has %d octets", tt.n, len(msg))
				}
				wire := envelope + msg + ".\r\n"
				if verb == "BDAT" {
					wire = fmt.Sprintf("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nBDAT %d LAST\r\n%s", len(msg), msg)
				}
				written := make(chan struct{})
				go func() {
					defer close(written)
					_, _ = io.WriteString(c.conn, wire)
				}()
				defer func() { c.conn.Close(); <-written }()
				c.expect("250 2.1.0")
				c.expect("250 2.1.5")
				if verb == "DATA" {
					c.expect("354 ")
				}
				taken := int64(len(msg)) <= tt.limit
				if taken {
					c.expect("250 2.0.0")
				} else {
					c.expect("552 5.3.4")
				}
				if verb == "BDAT" && !taken {
					c.closed() // a chunk over the limit is not worth reading
				} else {
					c.send("QUIT\r\n")
					c.expect("221 ")
				}
				srv.WaitForSessions(t, 1)
				ms := srv.Messages()
				switch {
				case taken && (len(ms) != 1 || string(ms[0].Raw) != msg):
					t.Errorf("%d messages recorded; want the one sent, byte for byte", len(ms))
				case !taken && len(ms) != 0:
					t.Errorf("%d messages recorded, want none", len(ms))
				}
			})
		}
	}
}

// The server keeps the texts of its transcripts and addresses in a table
// when they are at most 200 octets long: texts of 199, 200, 201 and 400
// octets, and addresses of 199, 200, 201 and 254 (the longest, in a path
// of 256 octets), each sent twice in each of two sessions, are recorded
// exactly as sent.
func TestTextsAroundTheInternBound(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	// Made per test run: texts no other test or run has sent.
	tag := fmt.Sprintf("%x", time.Now().UnixNano())
	var texts, froms []string
	for _, n := range []int{199, 200, 201, 400} {
		texts = append(texts, "NOOP "+tag+strings.Repeat("t", n-5-len(tag)))
	}
	for _, n := range []int{199, 200, 201, 254} {
		local := strings.Repeat("l", 64-len(tag)) + tag
		domain := strings.Repeat("d", 63) + "." + strings.Repeat("e", 63) + "." + strings.Repeat("f", 63) + "." + strings.Repeat("g", 63)
		froms = append(froms, local+"@"+domain[:n-65])
	}
	for range 2 {
		c := dialEHLO(t, srv.Addr())
		for _, text := range texts {
			for range 2 {
				c.send(text + "\r\n")
				c.expect("250 2.0.0")
			}
		}
		for _, from := range froms {
			for range 2 {
				c.send("MAIL FROM:<" + from + ">\r\nRCPT TO:<b@example.com>\r\nDATA\r\nhi\r\n.\r\n")
				for _, w := range []string{"250 2.1.0", "250 2.1.5", "354 ", "250 2.0.0"} {
					c.expect(w)
				}
			}
		}
		c.send("QUIT\r\n")
		c.expect("221 ")
	}
	for _, s := range srv.WaitForSessions(t, 2) {
		var got []string
		for _, l := range s.Transcript {
			if strings.HasPrefix(l.Text, "NOOP ") {
				got = append(got, l.Text)
			}
		}
		want := []string{texts[0], texts[0], texts[1], texts[1], texts[2], texts[2], texts[3], texts[3]}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("session %d: the NOOP lines (-want +got):\n%s", s.ID, diff)
		}
	}
	ms := srv.Messages()
	if len(ms) != 16 {
		t.Fatalf("%d messages, want 16", len(ms))
	}
	for i, m := range ms {
		if want := froms[i%8/2]; m.From != want {
			t.Errorf("message %d is from %q, want %q", m.ID, m.From, want)
		}
	}
}

// What a client sends that would not print as itself on one line (a bare
// CR, a terminal escape, a character that reorders the line or one that
// cannot be seen, octets that are no UTF-8; and the backslash, so that an
// escape reads one way) prints as a Go escape in a transcript's String and
// Numbered, as a failing test logs them: it can neither hide the rest of
// its line nor rewrite the log. Line.Text keeps it as sent.
func TestTranscriptPrintsWhatWouldHide(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	c := dialEHLO(t, srv.Addr())
	sends := []struct{ sent, printed string }{
		{"RSET\rS: 250 2.0.0 Ok", `C: RSET\rS: 250 2.0.0 Ok`},
		{"NOOP \x1b[2J\x1b[1;1H", `C: NOOP \x1b[2J\x1b[1;1H`},
		{"NOOP \u202egnp.exe", `C: NOOP \u202egnp.exe`},
		{"NOOP \xff\xfe ok", `C: NOOP \xff\xfe ok`},
		{"NOOP \x00", `C: NOOP \x00`},
		{"NOOP \u0085", `C: NOOP \u0085`},
		{"NOOP \u200bzero\u00a0width \U000e0041", `C: NOOP \u200bzero\u00a0width \U000e0041`},
		{`NOOP a\b, \r`, `C: NOOP a\\b, \\r`},
		{"NOOP tab\there, café, 日本", "C: NOOP tab\there, café, 日本"},
	}
	for _, s := range sends {
		c.send(s.sent + "\r\n")
		c.reply()
	}
	c.send("QUIT\r\n")
	c.expect("221 ")
	sess := srv.WaitForSessionEnd(t, 1)
	numbered := sess.Transcript.Numbered()
	for _, s := range sends {
		var line *mocksmtp.Line
		for i, l := range sess.Transcript {
			if l.Dir == mocksmtp.FromClient && l.Text == s.sent {
				line = &sess.Transcript[i]
			}
		}
		if line == nil {
			t.Errorf("no client line %q in the transcript:\n%s", s.sent, numbered)
			continue
		}
		if got := line.String(); got != s.printed {
			t.Errorf("Line.String() = %q, want %q", got, s.printed)
		}
		if !strings.Contains(numbered, s.printed+"\n") || !strings.Contains(sess.Transcript.String(), s.printed+"\n") {
			t.Errorf("Numbered and String do not print %q:\n%s", s.printed, numbered)
		}
	}
	for _, r := range numbered {
		if r != '\n' && r != '\t' && !strconv.IsPrint(r) {
			t.Fatalf("Numbered holds %U:\n%s", r, numbered)
		}
	}
}

// The envelope's addresses are the client's: with SMTPUTF8 they may hold
// a bidi control (U+202E) or a C1 control (U+009B, the 8-bit CSI of a
// terminal), and a quoted local part a backslash. Message.String, which
// failure reports print a line per message, writes them as Line.String
// writes a transcript line's, so that the log shows what was sent and
// no client reorders or rewrites it.
func TestMessageStringPrintsWhatWouldHide(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	c := dialEHLO(t, srv.Addr())
	c.send("MAIL FROM:<a\u202ebc\u009b31m@ex\u202eample.com> SMTPUTF8\r\n")
	c.expect("250 ")
	c.send("RCPT TO:<\"a\u202e\u009b2J\\\\b\"@example.com>\r\n")
	c.expect("250 ")
	c.send("DATA\r\n")
	c.expect("354 ")
	c.send("Subject: x\r\n\r\nhi\r\n.\r\n")
	c.expect("250 ")
	m := srv.WaitForMessages(t, 1)[0]
	got := m.String()
	want := `message 1 from <a\u202ebc\u009b31m@ex\u202eample.com> to <"a\u202e\u009b2J\\\\b"@example.com> "x" (18 bytes)`
	if got != want {
		t.Errorf("Message.String() = %q, want %q", got, want)
	}
	if m.From != "a\u202ebc\u009b31m@ex\u202eample.com" {
		t.Errorf("From = %q: the address itself is kept as sent", m.From)
	}
}

// A line past the engine's bound (1 MiB) closes the connection after a
// 500: the transcript says what the client sent before that reply, as
// it does for a shorter line too long ("C: <line of 2000 octets, too
// long>"), instead of showing a 500 that answers nothing.
func TestTranscriptShowsALinePastTheBound(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		before string
		want   mocksmtp.Line
	}{
		"command": {"", mocksmtp.Line{Dir: mocksmtp.FromClient, Text: "<line of more than 1048576 octets, too long>"}},
		"DATA": {"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nSubject: x\r\n\r\n",
			mocksmtp.Line{Dir: mocksmtp.Note, Text: "<message data: a line of more than 1048576 octets, too long; not recorded>"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t)
			cl := dialEHLO(t, srv.Addr())
			cl.send(c.before + "NOOP " + strings.Repeat("a", 1<<20+1-len("NOOP ")) + "\r\n")
			for {
				got, err := cl.reply()
				if err != nil {
					t.Fatalf("no 500: %v", err)
				}
				if strings.HasPrefix(got, "500 5.5.2") {
					break
				}
			}
			s := srv.WaitForSessionEnd(t, 1)
			tr := s.Transcript
			if len(tr) < 2 || tr[len(tr)-1].Text != "500 5.5.2 Error: line too long" {
				t.Fatalf("the transcript does not end with the 500:\n%s", tr.Numbered())
			}
			if got := tr[len(tr)-2]; got.Dir != c.want.Dir || got.Text != c.want.Text {
				t.Errorf("the line before the 500 is %v, want %v:\n%s", got, c.want, tr.Numbered())
			}
		})
	}
}
