package mocksmtp_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/smtpd"
)

// A client that tests its timeout against a Delay gives up and leaves:
// the session ends then, as a client that went away (as during a Stall),
// with no reply written, not an hour later at Close. At StageMessage the
// message stays recorded. Over TCP and in memory, in plaintext, after
// STARTTLS and with implicit TLS, the client closing or resetting.
func TestDelayEndsWhenTheClientLeaves(t *testing.T) {
	overTransports(t, testDelayEndsWhenTheClientLeaves)
}

func testDelayEndsWhenTheClientLeaves(t *testing.T, via transport) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		stage mocksmtp.Stage
		tls   mocksmtp.Option // nil: plaintext
		reset bool
	}{
		{"message", mocksmtp.StageMessage, nil, false},
		{"message, reset", mocksmtp.StageMessage, nil, true},
		{"rcpt", mocksmtp.StageRcpt, nil, false},
		{"rcpt, reset", mocksmtp.StageRcpt, nil, true},
		{"greeting", mocksmtp.StageConnect, nil, false},
		{"message after STARTTLS", mocksmtp.StageMessage, mocksmtp.WithSTARTTLS(), false},
		{"rcpt after STARTTLS, reset", mocksmtp.StageRcpt, mocksmtp.WithSTARTTLS(), true},
		{"message, implicit TLS", mocksmtp.StageMessage, mocksmtp.WithImplicitTLS(), false},
		{"greeting, implicit TLS", mocksmtp.StageConnect, mocksmtp.WithImplicitTLS(), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := []mocksmtp.Option{mocksmtp.WithFault(mocksmtp.At(tt.stage).Delay(time.Hour))}
			if tt.tls != nil {
				opts = append(opts, tt.tls)
			}
			srv := via.start(t, opts...)
			c := dialFault(t, srv)
			raw := c.conn
			implicit := strings.Contains(tt.name, "implicit TLS")
			if implicit {
				c.startTLS(srv)
			}
			if tt.stage != mocksmtp.StageConnect {
				c.must("", 220)
				c.must("EHLO client.example", 250)
				if tt.tls != nil && !implicit {
					c.must("STARTTLS", 220)
					c.startTLS(srv)
					c.must("EHLO client.example", 250)
				}
				c.must("MAIL FROM:<app@example.com>", 250)
				if tt.stage == mocksmtp.StageRcpt {
					c.send("RCPT TO:<bob@example.com>")
				} else {
					c.must("RCPT TO:<bob@example.com>", 250)
					c.must("DATA", 354)
					c.send("Subject: hi\r\n\r\nhello\r\n.")
				}
			}
			// The client waits for its reply, gives up, and leaves, while
			// the server delays it.
			if got, err := c.readAll(100 * time.Millisecond); got != "" || !faultIsTimeout(err) {
				t.Fatalf("read %q, %v; want nothing until the client's timeout", got, err)
			}
			srv.WaitUntil(t, "the delay to begin", func() bool { return len(srv.Sessions()[0].Faults) == 1 })
			if tt.reset {
				raw.(interface{ SetLinger(int) error }).SetLinger(0)
			}
			raw.Close()
			s := srv.WaitForSessions(t, 1)[0]
			if s.Ended != mocksmtp.EndClientClosed || !errors.Is(s.Err, smtpd.ErrClientGone) {
				t.Errorf("session ended %v (%v), want client closed", s.Ended, s.Err)
			}
			last := slices.IndexFunc(s.Transcript, func(l mocksmtp.Line) bool { return strings.Contains(l.Text, "→ delay 1h0m0s") })
			for _, l := range s.Transcript[last+1:] {
				if l.Dir == mocksmtp.FromServer {
					t.Errorf("the server wrote %q after the delay began; want no reply", l.Text)
				}
			}
			if want := map[bool]int{true: 1}[tt.stage == mocksmtp.StageMessage]; len(s.Messages) != want {
				t.Errorf("%d messages recorded, want %d", len(s.Messages), want)
			}
		})
	}
}

// startTLS runs the client's TLS handshake on c's connection, which it
// then talks over.
func (c *faultConn) startTLS(srv *mocksmtp.Server) {
	c.t.Helper()
	tc := tls.Client(c.conn, srv.ClientTLSConfig())
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake: %v", err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
}

// What a pipelining client sends during a Delay is read after it, in
// order: nothing is lost. Over TCP and in memory, in real time.
func TestDelayKeepsPipelinedCommands(t *testing.T) {
	overTransports(t, testDelayKeepsPipelinedCommands)
}

func testDelayKeepsPipelinedCommands(t *testing.T, via transport) {
	t.Parallel()
	const d = 300 * time.Millisecond
	srv := via.start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageRcpt).AtMost(1).Delay(d)))
	c := dialFault(t, srv)
	c.must("", 220)
	c.must("EHLO client.example", 250)
	c.must("MAIL FROM:<app@example.com>", 250)
	start := time.Now()
	c.send("RCPT TO:<bob@example.com>")
	srv.WaitUntil(t, "the delay to begin", func() bool { return len(srv.Sessions()[0].Faults) == 1 })
	c.send("RCPT TO:<carol@example.com>\r\nDATA") // during the delay
	c.must("", 250)
	if waited := time.Since(start); waited < d {
		t.Errorf("RCPT's reply after %v, want the delay, %v", waited, d)
	}
	c.must("", 250)
	c.must("", 354)
	c.send("Subject: hi\r\n\r\nhello\r\n.")
	c.must("", 250)
	c.must("QUIT", 221)
	s := srv.WaitForSessions(t, 1)[0]
	if s.Ended != mocksmtp.EndQuit || len(s.Messages) != 1 || strings.Join(s.Messages[0].To, " ") != "bob@example.com carol@example.com" {
		t.Errorf("session ended %v (%v) with messages %v; want QUIT and one to both", s.Ended, s.Err, s.Messages)
	}
}

// In fake time a Delay of an hour is exactly an hour, and a client that
// gives up after a second ends the session exactly then; in a synctest
// bubble, with the in-memory connection, the test takes microseconds.
func TestDelayInFakeTime(t *testing.T) {
	send := func(c *faultConn) {
		c.must("", 220)
		c.must("EHLO client.example", 250)
		c.must("MAIL FROM:<app@example.com>", 250)
		c.must("RCPT TO:<bob@example.com>", 250)
		c.must("DATA", 354)
		c.send("Subject: hi\r\n\r\nhello\r\n.")
	}
	t.Run("runs its course", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageMessage).Delay(time.Hour)))
			c := dialBubble(t, srv)
			_ = c.conn.SetDeadline(time.Now().Add(2 * time.Hour))
			send(c)
			start := time.Now()
			c.must("", 250)
			if waited := time.Since(start); waited != time.Hour {
				t.Errorf("250 after %v, want exactly 1h", waited)
			}
			c.must("QUIT", 221)
			if s := srv.WaitForSessions(t, 1)[0]; s.Ended != mocksmtp.EndQuit {
				t.Errorf("session ended %v (%v), want QUIT", s.Ended, s.Err)
			}
		})
	})
	t.Run("the client gives up", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageMessage).Delay(time.Hour)))
			c := dialBubble(t, srv)
			send(c)
			start := time.Now()
			_ = c.conn.SetReadDeadline(start.Add(time.Second))
			if _, err := c.read(); !faultIsTimeout(err) {
				t.Fatalf("read: %v, want the client's timeout", err)
			}
			c.conn.Close()
			s := srv.WaitForSessions(t, 1)[0]
			if s.Ended != mocksmtp.EndClientClosed || s.End.Sub(start) != time.Second {
				t.Errorf("session ended %v (%v) after %v; want client closed after exactly 1s", s.Ended, s.Err, s.End.Sub(start))
			}
			if len(s.Messages) != 1 {
				t.Errorf("%d messages recorded, want 1 (recorded before the delay)", len(s.Messages))
			}
		})
	})
	t.Run("pipelined input", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageRcpt).AtMost(1).Delay(time.Hour)))
			c := dialBubble(t, srv)
			_ = c.conn.SetDeadline(time.Now().Add(2 * time.Hour))
			c.must("", 220)
			c.must("EHLO client.example", 250)
			c.must("MAIL FROM:<app@example.com>", 250)
			start := time.Now()
			c.send("RCPT TO:<bob@example.com>")
			time.Sleep(time.Minute)
			c.send("RCPT TO:<carol@example.com>\r\nQUIT")
			c.must("", 250)
			if waited := time.Since(start); waited != time.Hour {
				t.Errorf("RCPT's reply after %v, want exactly 1h", waited)
			}
			c.must("", 250)
			c.must("", 221)
			if b, err := io.ReadAll(c.r); len(b) != 0 || err != nil {
				t.Errorf("after QUIT: %q, %v; want EOF", b, err)
			}
			if s := srv.WaitForSessions(t, 1)[0]; s.Ended != mocksmtp.EndQuit {
				t.Errorf("session ended %v (%v), want QUIT", s.Ended, s.Err)
			}
		})
	})
	t.Run("pipelined input, then the end of input", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageRcpt).AtMost(1).Delay(time.Hour)))
			c := dialBubble(t, srv)
			_ = c.conn.SetDeadline(time.Now().Add(2 * time.Hour))
			c.must("", 220)
			c.must("EHLO client.example", 250)
			c.must("MAIL FROM:<app@example.com>", 250)
			c.send("RCPT TO:<bob@example.com>")
			time.Sleep(time.Minute)
			start := time.Now()
			c.send("RCPT TO:<carol@example.com>\r\nQUIT")
			// All it had to say, as nc -N: over TCP, a server cannot
			// tell this from a client that gave up and closed.
			c.conn.(interface{ CloseWrite() error }).CloseWrite()
			if b, err := io.ReadAll(c.r); len(b) != 0 || err != nil {
				t.Errorf("after the end of input: %q, %v; want EOF, no reply", b, err)
			}
			s := srv.WaitForSessions(t, 1)[0]
			if s.Ended != mocksmtp.EndQuit || s.End.Sub(start) != 0 {
				t.Errorf("session ended %v (%v) %v after the end of input; want QUIT (unanswered), at once", s.Ended, s.Err, s.End.Sub(start))
			}
		})
	})
}

// A client that leaves during a Trickle's pause ends the session then,
// not after the rest of the reply's pauses.
func TestTrickleEndsWhenTheClientLeaves(t *testing.T) {
	overTransports(t, testTrickleEndsWhenTheClientLeaves)
}

func testTrickleEndsWhenTheClientLeaves(t *testing.T, via transport) {
	t.Parallel()
	srv := via.start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageRcpt).Trickle(4, time.Hour)))
	c := dialFault(t, srv)
	c.must("", 220)
	c.must("EHLO client.example", 250)
	c.must("MAIL FROM:<app@example.com>", 250)
	c.send("RCPT TO:<bob@example.com>")
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c.r, buf); err != nil || string(buf) != "250 " {
		t.Fatalf("read %q, %v; want the first 4 octets", buf, err)
	}
	c.conn.Close()
	if s := srv.WaitForSessions(t, 1)[0]; s.Ended != mocksmtp.EndClientClosed || !errors.Is(s.Err, smtpd.ErrClientGone) {
		t.Errorf("session ended %v (%v), want client closed", s.Ended, s.Err)
	}
}

// A client that sends QUIT and leaves without waiting for the 221, which
// a Delay holds back, a Stall never writes, or a Trickle or SplitReply
// writes in part (as during a Delay, their doc says), did quit: the
// session ends QUIT, with no finding that it closed without QUIT.
func TestLeavingAfterQuitEndsAsQuit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault mocksmtp.Fault
	}{
		{"Delay", mocksmtp.At(mocksmtp.StageQuit).Delay(time.Hour)},
		{"Stall", mocksmtp.At(mocksmtp.StageQuit).Stall()},
		{"Trickle", mocksmtp.At(mocksmtp.StageQuit).Trickle(1, time.Hour)},
		{"SplitReply", mocksmtp.At(mocksmtp.StageQuit).SplitReply(3, time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			overTransports(t, func(t *testing.T, via transport) {
				t.Parallel()
				srv := via.start(t, mocksmtp.WithFault(tc.fault))
				c := dialFault(t, srv)
				c.must("", 220)
				c.must("EHLO client.example", 250)
				c.send("QUIT")
				srv.WaitUntil(t, "the fault to begin", func() bool { return len(srv.Sessions()[0].Faults) == 1 })
				c.conn.Close()
				s := srv.WaitForSessions(t, 1)[0]
				if s.Ended != mocksmtp.EndQuit || s.Err != nil || len(s.Findings) != 0 {
					t.Errorf("session ended %v (%v) with findings %v; want QUIT, none", s.Ended, s.Err, s.Findings)
				}
			})
		})
	}
}

// A client that sent more before it left a Delay (DATA pipelined with
// its RCPT, as msmtp and nodemailer send it; a QUIT once it gave up, as
// swaks sends it) ends the session when it closes or resets the
// connection, as one that sent nothing more does: client closed, not an
// hour later at Close, with no reply written after the delay began and
// nothing it sent after served (no message recorded at RCPT; at
// StageMessage the one recorded before the delay). Over TCP and in
// memory, in plaintext, after STARTTLS and with implicit TLS.
func TestDelayEndsWhenAClientThatSentMoreLeaves(t *testing.T) {
	overTransports(t, testDelayEndsWhenAClientThatSentMoreLeaves)
}

func testDelayEndsWhenAClientThatSentMoreLeaves(t *testing.T, via transport) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		stage    mocksmtp.Stage
		tls      mocksmtp.Option // nil: plaintext
		withIt   string          // sent with the delayed command
		duringIt string          // sent once the delay began
		reset    bool
	}{
		{"pipelined DATA, close", mocksmtp.StageRcpt, nil, "DATA", "", false},
		{"pipelined DATA, reset", mocksmtp.StageRcpt, nil, "DATA", "", true},
		{"QUIT during it, close", mocksmtp.StageRcpt, nil, "", "QUIT", false},
		{"QUIT during it, reset", mocksmtp.StageRcpt, nil, "", "QUIT", true},
		{"message, QUIT during it, close", mocksmtp.StageMessage, nil, "", "QUIT", false},
		{"pipelined DATA after STARTTLS, close", mocksmtp.StageRcpt, mocksmtp.WithSTARTTLS(), "DATA", "", false},
		{"QUIT during it after STARTTLS, reset", mocksmtp.StageRcpt, mocksmtp.WithSTARTTLS(), "", "QUIT", true},
		{"pipelined DATA, implicit TLS, close", mocksmtp.StageRcpt, mocksmtp.WithImplicitTLS(), "DATA", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := []mocksmtp.Option{mocksmtp.WithFault(mocksmtp.At(tt.stage).Delay(time.Hour))}
			if tt.tls != nil {
				opts = append(opts, tt.tls)
			}
			srv := via.start(t, opts...)
			c := dialFault(t, srv)
			raw := c.conn
			implicit := strings.Contains(tt.name, "implicit TLS")
			if implicit {
				c.startTLS(srv)
			}
			c.must("", 220)
			c.must("EHLO client.example", 250)
			if tt.tls != nil && !implicit {
				c.must("STARTTLS", 220)
				c.startTLS(srv)
				c.must("EHLO client.example", 250)
			}
			c.must("MAIL FROM:<app@example.com>", 250)
			delayed := "RCPT TO:<bob@example.com>"
			if tt.stage == mocksmtp.StageMessage {
				c.must(delayed, 250)
				c.must("DATA", 354)
				delayed = "Subject: hi\r\n\r\nhello\r\n."
			}
			if tt.withIt != "" {
				delayed += "\r\n" + tt.withIt
			}
			c.send(delayed)
			srv.WaitUntil(t, "the delay to begin", func() bool { return len(srv.Sessions()[0].Faults) == 1 })
			if tt.duringIt != "" {
				c.send(tt.duringIt)
			}
			if tt.reset {
				raw.(interface{ SetLinger(int) error }).SetLinger(0)
			}
			raw.Close()
			s := srv.WaitForSessions(t, 1)[0] // within its 5 s, not an hour
			sent := tt.withIt + tt.duringIt
			switch {
			case sent == "QUIT" && (s.Ended != mocksmtp.EndQuit || s.Err != nil):
				t.Errorf("session ended %v (%v), want QUIT: the client quit, and left before the reply", s.Ended, s.Err)
			case sent != "QUIT" && (s.Ended != mocksmtp.EndClientClosed || !errors.Is(s.Err, smtpd.ErrClientGone)):
				t.Errorf("session ended %v (%v), want client closed", s.Ended, s.Err)
			}
			// It closed without QUIT, or did not (RFC 5321 4.1.1.10).
			quitFinding := slices.ContainsFunc(s.Findings, func(f mocksmtp.Finding) bool { return f.Rule == mocksmtp.RuleQuit })
			if quitFinding != (sent != "QUIT") {
				t.Errorf("findings %v; want the quit rule's: %v", s.Findings, sent != "QUIT")
			}
			began := slices.IndexFunc(s.Transcript, func(l mocksmtp.Line) bool { return strings.Contains(l.Text, "→ delay 1h0m0s") })
			if began < 0 {
				t.Fatalf("no delay in the transcript:\n%s", s.Transcript.Numbered())
			}
			// What the client sent and the server never read is on
			// record, under a note, and nothing was answered.
			want := mocksmtp.Transcript{
				{Dir: mocksmtp.Note, Text: "the client left during the wait; it had sent this, which the server did not read:"},
				{Dir: mocksmtp.FromClient, Text: sent},
			}
			var got mocksmtp.Transcript
			for _, l := range s.Transcript[began+1:] {
				switch {
				case l.Dir == mocksmtp.FromServer:
					t.Errorf("after the delay began: %q; want no reply", l.Text)
				case got != nil || l.Text == want[0].Text:
					got = append(got, mocksmtp.Line{Dir: l.Dir, Text: l.Text})
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("after the delay began:\n%s\nwant\n%s", got.Numbered(), want.Numbered())
			}
			if want := map[bool]int{true: 1}[tt.stage == mocksmtp.StageMessage]; len(s.Messages) != want || len(srv.Messages()) != want {
				t.Errorf("%d messages recorded, %d in the session; want %d", len(srv.Messages()), len(s.Messages), want)
			}
			if t.Failed() {
				t.Logf("transcript:\n%s", s.Transcript.Numbered())
			}
		})
	}
}

// A client that sent more during a Delay and stays (keeps the connection
// open) is there: its session stays live, and it reads, after the delay,
// byte for byte what it reads from a server that does not delay. Over
// TCP and in memory, in plaintext and with implicit TLS.
func TestDelayServesWhatAClientThatStaysSent(t *testing.T) {
	overTransports(t, testDelayServesWhatAClientThatStaysSent)
}

func testDelayServesWhatAClientThatStaysSent(t *testing.T, via transport) {
	t.Parallel()
	const message = "DATA\r\nSubject: hi\r\n\r\nhello\r\n."
	for _, tt := range []struct {
		name     string
		tls      mocksmtp.Option // nil: plaintext
		withIt   string          // sent with the delayed RCPT
		duringIt string          // sent once the delay began, then QUIT
	}{
		{"nothing more", nil, "", ""},
		{"pipelined DATA", nil, message, ""},
		{"RCPT and DATA during it", nil, "", "RCPT TO:<carol@example.com>\r\n" + message},
		{"RCPT with it, DATA during it, implicit TLS", mocksmtp.WithImplicitTLS(), "RCPT TO:<carol@example.com>", message},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			session := func(faults ...mocksmtp.Fault) (string, *mocksmtp.Session) {
				opts := []mocksmtp.Option{mocksmtp.WithFault(faults...)}
				if tt.tls != nil {
					opts = append(opts, tt.tls)
				}
				srv := via.start(t, opts...)
				c := dialFault(t, srv)
				if tt.tls != nil {
					c.startTLS(srv)
				}
				rcpt := "EHLO client.example\r\nMAIL FROM:<app@example.com>\r\nRCPT TO:<bob@example.com>"
				if tt.withIt != "" {
					rcpt += "\r\n" + tt.withIt
				}
				c.send(rcpt)
				srv.WaitUntil(t, "RCPT, and the delay to begin", func() bool {
					ss := srv.Sessions()
					return len(ss) == 1 && len(ss[0].Faults) == len(faults) &&
						slices.ContainsFunc(ss[0].Transcript, func(l mocksmtp.Line) bool { return strings.HasPrefix(l.Text, "RCPT") })
				})
				if tt.duringIt != "" {
					c.send(tt.duringIt)
				}
				c.send("QUIT")
				b, err := io.ReadAll(c.r)
				if err != nil {
					t.Fatalf("read %q, then %v; want every reply, then the server's close", b, err)
				}
				return string(b), srv.WaitForSessions(t, 1)[0]
			}
			want, _ := session()
			got, s := session(mocksmtp.At(mocksmtp.StageRcpt).AtMost(1).Delay(300 * time.Millisecond))
			if got != want {
				t.Errorf("after the delay, the client read\n%q\nwant what it reads with none\n%q", got, want)
			}
			if s.Ended != mocksmtp.EndQuit || len(s.Faults) != 1 {
				t.Errorf("session ended %v (%v), %d faults fired; want QUIT, the delay once", s.Ended, s.Err, len(s.Faults))
			}
		})
	}
}

// A delay before the TLS handshake that opens the connection (at
// StageConnect with WithImplicitTLS and a TLS failure: a slow server with
// a bad certificate) ends when the client gives up and leaves, as any
// other delay: it watched no connection, and lasted its hour. A client
// that waits gets the handshake once the delay has passed, though the
// server read its ClientHello while it waited.
func TestDelayBeforeTheImplicitHandshakeEndsWhenTheClientLeaves(t *testing.T) {
	overTransports(t, testDelayBeforeTheImplicitHandshakeEndsWhenTheClientLeaves)
}

func testDelayBeforeTheImplicitHandshakeEndsWhenTheClientLeaves(t *testing.T, via transport) {
	t.Run("leaves", func(t *testing.T) {
		t.Parallel()
		srv := via.start(t, mocksmtp.WithImplicitTLS(),
			mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageConnect).Delay(time.Hour).ExpiredCertificate()))
		c := dialFault(t, srv)
		handshook := make(chan error, 1)
		go func() { handshook <- tls.Client(c.conn, srv.ClientTLSConfig()).Handshake() }()
		srv.WaitUntil(t, "the delay to begin", func() bool {
			ss := srv.Sessions()
			return len(ss) == 1 && len(ss[0].Faults) == 1
		})
		c.conn.Close()
		<-handshook
		s := srv.WaitForSessions(t, 1)[0]
		if s.Ended != mocksmtp.EndClientClosed || !errors.Is(s.Err, smtpd.ErrClientGone) {
			t.Errorf("session ended %v (%v), want client closed", s.Ended, s.Err)
		}
	})
	t.Run("waits", func(t *testing.T) {
		t.Parallel()
		const d = 100 * time.Millisecond
		srv := via.start(t, mocksmtp.WithImplicitTLS(),
			mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageConnect).Delay(d).ExpiredCertificate()))
		c := dialFault(t, srv)
		var certErr x509.CertificateInvalidError
		if err := tls.Client(c.conn, srv.ClientTLSConfig()).Handshake(); !errors.As(err, &certErr) || certErr.Reason != x509.Expired {
			t.Errorf("the handshake after a delay of %v: %v, want the fault's expired certificate", d, err)
		}
	})
}
