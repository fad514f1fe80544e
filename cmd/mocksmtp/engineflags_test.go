package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// The flags of the engine's limits, the fields of WithEngineConfig's
// base (-max-junk-commands is smtpd.Config.MaxJunkCommands), end to end:
// what a client sees of each at its limit.

// rawSMTP is an SMTP session with the program over a connection of its
// own, past EHLO; it fails after 20 s rather than hang the test.
type rawSMTP struct {
	t  *testing.T
	tc *textproto.Conn
}

func dialRaw(t *testing.T, p *proc) *rawSMTP {
	t.Helper()
	conn, err := net.DialTimeout("tcp", p.smtp, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	s := &rawSMTP{t: t, tc: textproto.NewConn(conn)}
	if code, msg := s.read(); code != 220 {
		t.Fatalf("greeting %d %q", code, msg)
	}
	if code, msg := s.cmd("EHLO client.example"); code != 250 {
		t.Fatalf("EHLO: %d %q", code, msg)
	}
	return s
}

// read reads a reply: its code and text, 0 and the error when there is none.
func (s *rawSMTP) read() (int, string) {
	code, msg, err := s.tc.ReadResponse(0)
	if err != nil && code == 0 {
		return 0, err.Error()
	}
	return code, msg
}

// cmd sends line (a command, or message data ending in "\r\n.") and
// reads the reply.
func (s *rawSMTP) cmd(line string) (int, string) {
	s.t.Helper()
	if err := s.tc.PrintfLine("%s", line); err != nil {
		return 0, err.Error()
	}
	return s.read()
}

// want checks the reply to line: its code and enhanced code.
func (s *rawSMTP) want(what, line string, code int, enhanced string) {
	s.t.Helper()
	if c, msg := s.cmd(line); c != code || !strings.HasPrefix(msg, enhanced+" ") {
		s.t.Errorf("%s: %d %q, want %d %s", what, c, msg, code, enhanced)
	}
}

// closed checks that the server closed the connection: a read finds its
// end, not the deadline.
func (s *rawSMTP) closed(what string) {
	s.t.Helper()
	if code, msg, err := s.tc.ReadResponse(0); !errors.Is(err, io.EOF) {
		s.t.Errorf("%s: %d %q, %v: want the connection closed", what, code, msg, err)
	}
}

// send sends a message whose text is lines and returns the reply to its end.
func (s *rawSMTP) send(lines ...string) (int, string) {
	s.t.Helper()
	for _, c := range []string{"MAIL FROM:<app@example.com>", "RCPT TO:<bob@example.com>", "DATA"} {
		if code, msg := s.cmd(c); code/100 != 2 && code != 354 {
			s.t.Fatalf("%s: %d %q", c, code, msg)
		}
	}
	return s.cmd("Subject: limits\r\n\r\n" + strings.Join(lines, "\r\n") + "\r\n.")
}

// noops sends n NOOPs and returns how many got 250 before another reply,
// and that reply (0 for none).
func (s *rawSMTP) noops(n int) (ok, code int, msg string) {
	s.t.Helper()
	for range n {
		if code, msg = s.cmd("NOOP"); code != 250 {
			return ok, code, msg
		}
		ok++
	}
	return ok, 0, ""
}

// A client that keeps a pooled connection alive with NOOPs sends more
// than 100 junk commands before a message: past them, each is a bad
// command, and the 20th closes the session with 421 4.7.0, unless
// -max-junk-commands lets it send more (WithEngineConfig's
// MaxJunkCommands, which the program had no flag for).
func TestMaxJunkCommandsFlagKeepsAPooledConnectionAlive(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		env  []string
		args []string
		ok   int // NOOPs answered 250 of 150, before a 421 if fewer
	}{
		{"by default", nil, nil, 120}, // 100 junk commands, then 20 bad ones
		{"with -max-junk-commands 1000", nil, []string{"-max-junk-commands", "1000"}, 150},
		{"from the environment", []string{"MOCKSMTP_MAX_JUNK_COMMANDS=1000"}, nil, 150},
		{"the flag winning over the environment", []string{"MOCKSMTP_MAX_JUNK_COMMANDS=1"}, []string{"-max-junk-commands", "1000"}, 150},
		{"with -max-bad-commands 51", nil, []string{"-max-bad-commands", "51"}, 150}, // the 150th the 50th bad one
		{"with MOCKSMTP_MAX_BAD_COMMANDS=40", []string{"MOCKSMTP_MAX_BAD_COMMANDS=40"}, nil, 140},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := dialRaw(t, start(t, tt.env, tt.args...))
			ok, code, msg := s.noops(150)
			if ok != tt.ok {
				t.Fatalf("%d of 150 NOOPs got 250, then %d %q; want %d", ok, code, msg, tt.ok)
			}
			if ok < 150 {
				if code != 421 || !strings.HasPrefix(msg, "4.7.0 ") {
					t.Errorf("after %d NOOPs: %d %q, want 421 4.7.0", ok, code, msg)
				}
				return
			}
			if code, msg := s.send("hi"); code != 250 {
				t.Errorf("the message after 150 NOOPs: %d %q, want 250", code, msg)
			}
			s.want("QUIT", "QUIT", 221, "2.0.0")
		})
	}
}

// -max-junk-commands and -max-bad-commands at their limits, together,
// as one WithEngineConfig (given twice, the last base would drop the
// first flag's field): N junk commands are let be, the N+1th is a bad
// command, which with -max-bad-commands 1 closes the session; a message
// starts the count afresh.
func TestJunkAndBadCommandFlagsAtTheirLimits(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-max-junk-commands", "5", "-max-bad-commands", "1")
	s := dialRaw(t, p)
	if ok, code, msg := s.noops(5); ok != 5 {
		t.Fatalf("%d of 5 NOOPs got 250, then %d %q", ok, code, msg)
	}
	if code, msg := s.send("hi"); code != 250 {
		t.Fatalf("a message: %d %q", code, msg)
	}
	// Afresh after the message: 5 more, then the 6th closes.
	ok, code, msg := s.noops(7)
	if ok != 6 || code != 421 || !strings.HasPrefix(msg, "4.7.0 ") {
		t.Errorf("after a message, %d NOOPs got 250, then %d %q; want 6 (the 6th the bad command), then 421 4.7.0", ok, code, msg)
	}

	// -max-bad-commands N: N-1 bad commands leave the session open, the
	// Nth closes it, after its own reply.
	p = start(t, []string{"MOCKSMTP_MAX_BAD_COMMANDS=3"})
	s = dialRaw(t, p)
	for i := range 2 {
		s.want("bad command "+string(rune('1'+i)), "XYZZY", 500, "5.5.2")
	}
	s.want("a NOOP after 2 bad commands", "NOOP", 250, "2.0.0")
	s.want("bad command 3", "XYZZY", 500, "5.5.2")
	if code, msg := s.read(); code != 421 || !strings.HasPrefix(msg, "4.7.0 ") {
		t.Errorf("after bad command 3 of -max-bad-commands 3: %d %q, want 421 4.7.0", code, msg)
	}
	s = dialRaw(t, start(t, nil, "-max-bad-commands", "4"))
	for i := range 3 {
		s.want("bad command "+string(rune('1'+i)), "XYZZY", 500, "5.5.2")
	}
	s.want("a NOOP after 3 bad commands of -max-bad-commands 4", "NOOP", 250, "2.0.0")
}

// noop returns a NOOP command line of n octets, CRLF included.
func noop(n int) string { return "NOOP " + strings.Repeat("x", n-len("NOOP \r\n")) }

// textLine returns a text line of n octets, CRLF included.
func textLine(n int) string { return strings.Repeat("x", n-2) }

// -max-command-line N: a command line of N octets, CRLF included, is
// read; one of N+1 gets 500 5.5.2, and the session goes on, unless it is
// past 1 MiB: then the connection closes, as at any limit.
func TestMaxCommandLineFlagAtItsLimit(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		env  []string
		args []string
		n    int
	}{
		{"by default", nil, nil, 512},
		{"600", nil, []string{"-max-command-line", "600"}, 600},
		{"from the environment", []string{"MOCKSMTP_MAX_COMMAND_LINE=2000"}, nil, 2000},
		{"1 MiB", nil, []string{"-max-command-line", "1048576"}, 1 << 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := dialRaw(t, start(t, tt.env, tt.args...))
			s.want("a command line of N-1 octets", noop(tt.n-1), 250, "2.0.0")
			s.want("a command line of N octets", noop(tt.n), 250, "2.0.0")
			s.want("a command line of N+1 octets", noop(tt.n+1), 500, "5.5.2")
			if tt.n+1 > 1<<20 {
				s.closed("after a command line of 1 MiB+1 octets")
				return
			}
			if 2*tt.n <= 1<<20 { // longer, any line closes the session
				s.want("a command line of 2N octets", noop(2*tt.n), 500, "5.5.2")
			}
			s.want("QUIT", "QUIT", 221, "2.0.0")
		})
	}
}

// -max-text-line N: a message with a text line of N octets, CRLF
// included, is accepted; one of N+1 gets 500 5.5.2 at the end of its
// data, and the session goes on, unless it is past 1 MiB: then at once,
// and the connection closes, as at any limit. A legacy client's
// 2000-octet lines need -max-text-line 2000.
func TestMaxTextLineFlagAtItsLimit(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		env  []string
		args []string
		n    int
	}{
		{"by default", nil, nil, 1000},
		{"2000", nil, []string{"-max-text-line", "2000"}, 2000},
		{"1999", nil, []string{"-max-text-line", "1999"}, 1999},
		{"from the environment", []string{"MOCKSMTP_MAX_TEXT_LINE=2000"}, nil, 2000},
		{"the flag winning over the environment", []string{"MOCKSMTP_MAX_TEXT_LINE=1999"}, []string{"-max-text-line", "2000"}, 2000},
		{"1 MiB", nil, []string{"-max-text-line", "1048576"}, 1 << 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := dialRaw(t, start(t, tt.env, tt.args...))
			for _, c := range []struct {
				what string
				line string
				code int
			}{
				{"N-1 octets", textLine(tt.n - 1), 250},
				{"N octets", textLine(tt.n), 250},
				// The dot a client doubles for transparency is not counted.
				{"N octets and a transparency dot", ".." + textLine(tt.n-1), 250},
				{"2000 octets", textLine(2000), map[bool]int{true: 250, false: 500}[tt.n >= 2000]},
				{"N+1 octets", textLine(tt.n + 1), 500},
				{"2N octets", textLine(min(2*tt.n, 1<<20)), 500}, // 1 MiB at most: longer closes the connection
			} {
				if c.code == 500 && len(c.line)+len("\r\n") > 1<<20 {
					// Over the limit and past 1 MiB: 500 5.5.2 at once, and
					// the connection closes.
					code, msg := s.send("before", c.line, "after")
					if code != 500 || !strings.HasPrefix(msg, "5.5.2 ") {
						t.Errorf("a text line of %s: %d %q, want 500 5.5.2", c.what, code, msg)
					}
					s.closed("after a text line of " + c.what)
					return
				}
				code, msg := s.send("before", c.line, "after")
				if code != c.code || code == 500 && !strings.HasPrefix(msg, "5.5.2 ") {
					t.Errorf("a text line of %s: %d %q, want %d", c.what, code, msg, c.code)
				}
			}
			s.want("QUIT", "QUIT", 221, "2.0.0")
		})
	}
}

// -param-allowance N: a MAIL or RCPT line with parameters (a DSN
// client's long ORCPT) may be N octets longer than -max-command-line,
// CRLF included; one octet more gets 500 5.5.2, and the session goes on
// (past 1 MiB, the connection closes).
func TestParamAllowanceFlagAtItsLimit(t *testing.T) {
	t.Parallel()
	// rcpt is an RCPT line with an ORCPT of n octets in all, CRLF included.
	rcpt := func(n int) string {
		const head = "RCPT TO:<b@example.com> ORCPT=rfc822;"
		return head + strings.Repeat("x", n-len(head)-len("\r\n"))
	}
	for _, tt := range []struct {
		name string
		env  []string
		args []string
		n    int
	}{
		{"by default", nil, nil, 1024},
		{"2048", nil, []string{"-param-allowance", "2048"}, 512 + 2048},
		{"with -max-command-line", nil, []string{"-max-command-line", "600", "-param-allowance", "100"}, 700},
		{"from the environment", []string{"MOCKSMTP_PARAM_ALLOWANCE=1000"}, nil, 1512},
		{"up to 1 MiB", nil, []string{"-max-command-line", "1000", "-param-allowance", "1047576"}, 1 << 20},
		// Past 1 MiB with the default -max-command-line, not with this
		// one, given after it.
		{"with a short command line", nil, []string{"-param-allowance", "1048400", "-max-command-line", "100"}, 1048500},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := dialRaw(t, start(t, tt.env, tt.args...))
			if len(rcpt(tt.n)+"\r\n") != tt.n {
				t.Fatalf("an RCPT line of %d octets, want %d", len(rcpt(tt.n)+"\r\n"), tt.n)
			}
			s.want("MAIL", "MAIL FROM:<a@example.com>", 250, "2.1.0")
			s.want("RCPT with parameters of N-1 octets", rcpt(tt.n-1), 250, "2.1.5")
			s.want("RCPT with parameters of N octets", rcpt(tt.n), 250, "2.1.5")
			s.want("RCPT with parameters of N+1 octets", rcpt(tt.n+1), 500, "5.5.2")
			if tt.n+1 > 1<<20 { // past 1 MiB, at any limit
				s.closed("after an RCPT line of 1 MiB+1 octets")
				return
			}
			if 2*tt.n <= 1<<20 { // longer, any line closes the session
				s.want("RCPT with parameters of 2N octets", rcpt(2*tt.n), 500, "5.5.2")
			}
			s.want("RSET", "RSET", 250, "2.0.0")
			s.want("QUIT", "QUIT", 221, "2.0.0")
		})
	}

	// Each is checked alone as its flag is given, and the two together:
	// a usage error naming both.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-param-allowance", "0"}, `invalid value "0" for flag -param-allowance: smtpd.Config.ParamAllowance 0: want a positive number`},
		{[]string{"-param-allowance", "1048065"}, "mocksmtp: flags -max-command-line and -param-allowance: WithEngineConfig: MaxCommandLine 512 with ParamAllowance 1048065: want at most 1048576 octets"},
		{[]string{"-max-command-line", "1048576", "-param-allowance", "1"}, "mocksmtp: flags -max-command-line and -param-allowance: WithEngineConfig: MaxCommandLine 1048576 with ParamAllowance 1: want at most 1048576 octets"},
	} {
		args := append([]string{"-listen", "127.0.0.1:0", "-http", ""}, tt.args...)
		code, _, stderr := runOnce(t, nil, args...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%q: exit %d, stderr:\n%s\nwant exit 2 and %q", tt.args, code, stderr, tt.want)
		}
	}
}

// -max-recipient-overshoot N: in a transaction, the first N RCPT TO past
// -max-recipients get 452 4.5.3 and count as no bad command; the N+1th
// counts, and with -max-bad-commands 1 closes the session with 421 4.7.0.
func TestMaxRecipientOvershootFlagAtItsLimit(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		env  []string
		args []string
		n    int
	}{
		{"by default", nil, nil, 1000},
		{"3", nil, []string{"-max-recipient-overshoot", "3"}, 3},
		{"from the environment", []string{"MOCKSMTP_MAX_RECIPIENT_OVERSHOOT=1"}, nil, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := dialRaw(t, start(t, tt.env, append([]string{"-max-recipients", "1", "-max-bad-commands", "1"}, tt.args...)...))
			s.want("MAIL", "MAIL FROM:<a@example.com>", 250, "2.1.0")
			s.want("RCPT 1 of -max-recipients 1", "RCPT TO:<r0@example.com>", 250, "2.1.5")
			for i := 1; i <= tt.n; i++ {
				if code, msg := s.cmd(fmt.Sprintf("RCPT TO:<r%d@example.com>", i)); code != 452 || !strings.HasPrefix(msg, "4.5.3 ") {
					t.Fatalf("RCPT %d past the limit of %d: %d %q, want 452 4.5.3", i, tt.n, code, msg)
				}
			}
			s.want("a NOOP after N RCPT past the limit", "NOOP", 250, "2.0.0")
			s.want("RCPT N+1 past the limit", "RCPT TO:<last@example.com>", 452, "4.5.3")
			if code, msg := s.read(); code != 421 || !strings.HasPrefix(msg, "4.7.0 ") {
				t.Errorf("after RCPT N+1 past the limit, with -max-bad-commands 1: %d %q, want 421 4.7.0", code, msg)
			}
		})
	}
	code, _, stderr := runOnce(t, nil, "-listen", "127.0.0.1:0", "-http", "", "-max-recipient-overshoot", "0")
	if want := `invalid value "0" for flag -max-recipient-overshoot: smtpd.Config.MaxRecipientOvershoot 0: want a positive number`; code != 2 || !strings.Contains(stderr, want) {
		t.Errorf("-max-recipient-overshoot 0: exit %d, stderr:\n%s\nwant exit 2 and %q", code, stderr, want)
	}
}

// -max-message-bytes N (and MOCKSMTP_MAX_MESSAGE_BYTES) at N-1, N, N+1,
// 2N and 1 MiB + 1 octets of DATA: those up to N get 250 2.0.0 and are
// listed once each, their raw form byte for byte; those over it get
// 552 5.3.4, the session goes on, and nothing of them is listed.
func TestMaxMessageBytesFlagAtItsLimit(t *testing.T) {
	t.Parallel()
	const limit = 100_000
	// data returns message data of n octets (n > 1000), in lines of at
	// most 1000 octets with their CRLF.
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
		name string
		env  []string
		args []string
	}{
		{"flag", nil, []string{"-max-message-bytes", fmt.Sprint(limit), "-quiet"}},
		{"environment", []string{fmt.Sprintf("MOCKSMTP_MAX_MESSAGE_BYTES=%d", limit)}, []string{"-quiet"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := start(t, tt.env, tt.args...)
			var taken []string
			for _, n := range []int{limit - 1, limit, limit + 1, 2 * limit, 1<<20 + 1} {
				msg := data(n)
				if len(msg) != n {
					t.Fatalf("data(%d) has %d octets", n, len(msg))
				}
				s := dialRaw(t, p)
				for _, c := range []string{"MAIL FROM:<app@example.com>", "RCPT TO:<bob@example.com>", "DATA"} {
					if code, msg := s.cmd(c); code/100 != 2 && code != 354 {
						t.Fatalf("%s: %d %q", c, code, msg)
					}
				}
				if n <= limit {
					s.want(fmt.Sprintf("a message of %d octets", n), msg+".", 250, "2.0.0")
					taken = append(taken, msg)
				} else {
					s.want(fmt.Sprintf("a message of %d octets", n), msg+".", 552, "5.3.4")
				}
				s.want("QUIT", "QUIT", 221, "2.0.0")
			}
			var ms []messageJSON
			getJSON(t, p, "/api/messages", 200, &ms)
			if len(ms) != len(taken) {
				t.Fatalf("%d messages listed, want the %d taken", len(ms), len(taken))
			}
			for i, m := range ms {
				res, b := do(t, p, "GET", fmt.Sprintf("/api/messages/%d/raw", m.ID), "")
				if res.StatusCode != 200 || string(b) != taken[i] {
					t.Errorf("message %d: %d, %d octets; want the %d sent, byte for byte", m.ID, res.StatusCode, len(b), len(taken[i]))
				}
			}
		})
	}
}
