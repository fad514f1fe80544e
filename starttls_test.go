package mocksmtp

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// STARTTLS makes the server forget an AUTH before it (RFC 3207 4.2); the
// session record forgets it too: a message sent after STARTTLS without a
// new AUTH comes from no authenticated client, and one after a new AUTH
// records that one.
func TestSTARTTLSForgetsAuthInTheRecord(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithSTARTTLS(), WithAuth("user", "secret"), WithAuth("other", "pw"), WithAuthMechanismsBeforeTLS(AuthPlain))
	w := dialWire(t, srv.Addr(), nil)
	w.cmd("EHLO client.example", "250")
	w.cmd("AUTH PLAIN AHVzZXIAc2VjcmV0", "235 2.7.0") // user
	if err := w.startTLS(srv.ClientTLSConfig()); err != nil {
		t.Fatal(err)
	}
	w.cmd("EHLO client.example", "250")
	w.cmd("MAIL FROM:<a@example.com>", "250 2.1.0")
	w.cmd("RCPT TO:<b@example.com>", "250 2.1.5")
	w.cmd("DATA", "354")
	w.send(mailBody + ".\r\n")
	w.expect("250 2.0.0")
	m := srv.WaitForMessages(t, 1)[0]
	if m.Session.Auth != nil {
		t.Errorf("message sent after STARTTLS without AUTH: Message.Session.Auth = %v, want none", m.Session.Auth)
	}
	if s := srv.Session(m.Session.ID); s.Auth != nil {
		t.Errorf("after STARTTLS: Session.Auth = %v, want none", s.Auth)
	}
	// The server forgot it: AUTH is taken again, not "already authenticated".
	w.cmd("AUTH PLAIN AG90aGVyAHB3", "235 2.7.0") // other
	w.quit()
	s := srv.WaitForSessions(t, 1)[0]
	want := &AuthInfo{Mechanism: AuthPlain, Username: "other", Success: true}
	if diff := cmp.Diff(want, s.Auth); diff != "" {
		t.Errorf("Session.Auth after AUTH under TLS (-want +got):\n%s", diff)
	}
}

// STARTTLS makes the server forget the client's EHLO name (RFC 3207 4.2:
// the argument to EHLO is knowledge from before TLS, to be discarded):
// the session record forgets it too, as it forgets an AUTH, until the
// client's EHLO under TLS; so does the engine (Conn.Helo).
func TestSTARTTLSForgetsHeloInTheRecord(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithSTARTTLS())
	w := dialWire(t, srv.Addr(), nil)
	w.cmd("EHLO plain.example", "250")
	if err := w.startTLS(srv.ClientTLSConfig()); err != nil {
		t.Fatal(err)
	}
	w.cmd("NOOP", "250 2.0.0") // the handshake's event was handled before it
	id := srv.Sessions()[0].ID
	if h := srv.Session(id).Helo; h != "" {
		t.Errorf("after STARTTLS, before EHLO: Session.Helo = %q, want none", h)
	}
	w.cmd("MAIL FROM:<a@example.com>", "503 5.5.1") // the server forgot it too
	w.cmd("EHLO secure.example", "250")
	if h := srv.Session(id).Helo; h != "secure.example" {
		t.Errorf("after EHLO under TLS: Session.Helo = %q, want secure.example", h)
	}
	w.quit()
}

// A server closed while a client is in the middle of a TLS handshake
// closes at once and records the session as shut down, not as a client
// that closed, over STARTTLS and implicit TLS, over TCP and in memory.
func TestCloseDuringTLSHandshake(t *testing.T) {
	t.Parallel()
	for _, via := range []struct {
		name string
		opts []Option
	}{{"tcp", nil}, {"memory", []Option{WithInMemory()}}} {
		for _, implicit := range []bool{false, true} {
			name := via.name + "/STARTTLS"
			opts := slices.Concat(via.opts, []Option{WithSTARTTLS()})
			if implicit {
				name = via.name + "/implicit TLS"
				opts = slices.Concat(via.opts, []Option{WithImplicitTLS()})
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				srv, err := New(opts...)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { srv.Close() })
				conn, err := srv.Dial()
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				w := &wire{t: t, conn: conn, r: bufio.NewReader(conn)}
				if !implicit {
					w.expect("220")
					w.cmd("EHLO client.example", "250")
					w.cmd("STARTTLS", "220 2.0.0")
				}
				// Half a ClientHello record header: the server waits in
				// its handshake for the rest.
				w.send("\x16\x03\x01\x02")
				srv.WaitUntil(t, "a session", func() bool { return len(srv.Sessions()) == 1 })
				if err := srv.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				s := srv.Sessions()[0]
				if s.Ended != EndShutdown {
					t.Errorf("session ended %v (%v), want %v", s.Ended, s.Err, EndShutdown)
				}
				// No plaintext reply in the middle of a handshake: the
				// connection closes.
				if b, _ := io.ReadAll(w.r); len(b) > 0 {
					t.Errorf("the client read %q mid-handshake, want the close alone", b)
				}
			})
		}
	}
}

// A failed handshake says why in the transcript, which a failing test
// logs: the client refused the certificate or the version, spoke no TLS,
// or went silent.
func TestTLSHandshakeFailureInTranscript(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		implicit bool
		opts     []Option
		client   func(t *testing.T, srv *Server, conn net.Conn)
		want     string
	}{
		{
			name: "the client refuses the certificate",
			opts: []Option{WithFault(At(StageStartTLS).ExpiredCertificate())},
			client: func(t *testing.T, srv *Server, conn net.Conn) {
				tls.Client(conn, srv.ClientTLSConfig()).HandshakeContext(t.Context())
			},
			want: "TLS handshake failed: remote error: tls: bad certificate",
		},
		{
			name: "no version both take (a server of TLS 1.0 only)",
			opts: []Option{WithFault(At(StageStartTLS).TLSVersion(tls.VersionTLS10))},
			client: func(t *testing.T, srv *Server, conn net.Conn) {
				tls.Client(conn, srv.ClientTLSConfig()).HandshakeContext(t.Context())
			},
			want: "TLS handshake failed: tls: client offered only unsupported versions",
		},
		{
			name:     "plaintext to the implicit TLS port",
			implicit: true,
			client: func(t *testing.T, srv *Server, conn net.Conn) {
				io.WriteString(conn, "EHLO client.example\r\n")
			},
			want: "TLS handshake failed: tls: first record does not look like a TLS handshake",
		},
		{
			name: "the client resets the connection mid-handshake",
			client: func(t *testing.T, srv *Server, conn net.Conn) {
				io.WriteString(conn, "\x16\x03\x01\x02") // half a record header
				conn.(*net.TCPConn).SetLinger(0)
				conn.Close()
			},
			want: "TLS handshake failed: read: connection reset by peer", // once "read: read: ..."
		},
		// A client that goes silent mid-handshake: TestTLSHandshakeStallInBubble,
		// in fake time (a read timeout short enough for this table could
		// pass before the client's EHLO on a loaded machine).
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mode := WithSTARTTLS()
			if tt.implicit {
				mode = WithImplicitTLS()
			}
			srv := Start(t, append([]Option{mode}, tt.opts...)...)
			conn, err := net.Dial("tcp", srv.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			if !tt.implicit {
				w := &wire{t: t, conn: conn, r: bufio.NewReader(conn)}
				w.expect("220")
				w.cmd("EHLO client.example", "250")
				w.cmd("STARTTLS", "220 2.0.0")
			}
			tt.client(t, srv, conn)
			s := srv.WaitForSessions(t, 1)[0]
			if s.Ended != EndTLSFailed {
				t.Errorf("session ended %v (%v), want %v", s.Ended, s.Err, EndTLSFailed)
			}
			if n := len(s.Transcript); n == 0 || s.Transcript[n-1].Dir != Note || !strings.HasPrefix(s.Transcript[n-1].Text, tt.want) {
				t.Errorf("transcript ends without a note %q...:\n%s", tt.want, s.Transcript)
			}
		})
	}
}

// A message's Session says how the message was sent: a message sent in
// plaintext says so after its session went on to STARTTLS and AUTH, and
// one sent after STARTTLS has the TLS state and no AUTH of before it,
// however the messages are read.
func TestMessageSessionSaysHowItWasSent(t *testing.T) {
	t.Parallel()
	var onMessage []*Message // WithOnMessage runs on the session's goroutine; read after WaitForSessions
	srv := Start(t, WithSTARTTLS(), WithAuth("user", "secret"), WithAuthMechanismsBeforeTLS(AuthPlain),
		WithOnMessage(func(m *Message) { onMessage = append(onMessage, m) }))
	send := func(w *wire) {
		w.cmd("MAIL FROM:<a@example.com>", "250 2.1.0")
		w.cmd("RCPT TO:<b@example.com>", "250 2.1.5")
		w.cmd("DATA", "354")
		w.send(mailBody + ".\r\n")
		w.expect("250 2.0.0")
	}
	w := dialWire(t, srv.Addr(), nil)
	w.cmd("EHLO client.example", "250")
	w.cmd("AUTH PLAIN AHVzZXIAc2VjcmV0", "235 2.7.0") // user
	send(w)
	if err := w.startTLS(srv.ClientTLSConfig()); err != nil {
		t.Fatal(err)
	}
	w.cmd("EHLO other.example", "250")
	send(w)
	w.cmd("AUTH PLAIN AHVzZXIAc2VjcmV0", "235 2.7.0")
	w.quit()
	s := srv.WaitForSessions(t, 1)[0]

	type how struct {
		Helo string
		TLS  bool
		Auth string
	}
	want := []how{{"client.example", false, "PLAIN user ok"}, {"other.example", true, "none"}}
	howOf := func(ms []*Message) []how {
		var got []how
		for _, m := range ms {
			got = append(got, how{m.Session.Helo, m.Session.TLS != nil, m.Session.Auth.String()})
		}
		return got
	}
	for _, read := range []struct {
		name string
		ms   []*Message
	}{
		{"Messages", srv.Messages()},
		{"WaitForMessages", srv.WaitForMessages(t, 2)},
		{"Session.Messages", s.Messages},
		{"WithOnMessage", onMessage},
	} {
		if diff := cmp.Diff(want, howOf(read.ms)); diff != "" {
			t.Errorf("%s: how each message was sent (-want +got):\n%s", read.name, diff)
		}
	}
	if got := (how{s.Helo, s.TLS != nil, s.Auth.String()}); got != (how{"other.example", true, "PLAIN user ok"}) {
		t.Errorf("the session stands at %+v, want as its last EHLO, TLS and AUTH left it", got)
	}
}

// Plaintext pipelined after STARTTLS is never run, whatever its size and
// however the STARTTLS line is split (CVE-2011-0411): what came with the
// STARTTLS line is discarded and the handshake goes on; more than the
// read buffer holds reaches the handshake, which fails on it.
func TestSTARTTLSInjectionSizes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		writes []string // what the client sends after EHLO, write by write
		tls    bool     // the handshake succeeds after them
	}{
		{"1 octet", []string{"STARTTLS\r\nR"}, true},
		{"one command", []string{"STARTTLS\r\nRSET\r\n"}, true},
		{"512 octets", []string{"STARTTLS\r\n" + injected(512)}, true},
		{"the line split", []string{"STAR", "TTLS\r\nRSET\r\n"}, true},
		{"split before LF", []string{"STARTTLS\r", "\nMAIL FROM:<evil@example.com>\r\n"}, true},
		{"1 MiB+1 octets", []string{"STARTTLS\r\n" + injected(1<<20+1)}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := Start(t, WithSTARTTLS())
			w := dialWire(t, srv.Addr(), nil)
			w.cmd("EHLO client.example", "250")
			go func() { // a large write blocks until the server reads or resets
				for _, s := range tt.writes {
					if _, err := io.WriteString(w.conn, s); err != nil {
						return
					}
				}
			}()
			w.expect("220 2.0.0")
			tc := tls.Client(w.conn, srv.ClientTLSConfig())
			err := tc.HandshakeContext(t.Context())
			if tt.tls {
				if err != nil {
					t.Fatalf("handshake: %v", err)
				}
				w.conn, w.r = tc, bufio.NewReader(tc)
				w.cmd("NOOP", "250 2.0.0") // the first reply under TLS is NOOP's
				w.cmd("MAIL FROM:<a@example.com>", "503 5.5.1")
				w.quit()
			} else {
				w.conn.Close()
			}
			s := srv.WaitForSessions(t, 1)[0]
			var after []string
			seen := false
			for _, l := range s.Transcript {
				if l.Dir == FromClient && seen {
					after = append(after, l.Text)
				}
				seen = seen || l.Dir == FromClient && l.Text == "STARTTLS"
			}
			want := []string(nil)
			if tt.tls {
				want = []string{"NOOP", "MAIL FROM:<a@example.com>", "QUIT"}
			} else if s.Ended != EndTLSFailed {
				t.Errorf("session ended %v (%v), want %v", s.Ended, s.Err, EndTLSFailed)
			}
			if diff := cmp.Diff(want, after); diff != "" {
				t.Errorf("commands after STARTTLS (-want +got):\n%s\n%s", diff, s.Transcript)
			}
		})
	}
}

// injected returns n octets of commands, the last cut short.
func injected(n int) string {
	return strings.Repeat("RSET\r\n", n/6+1)[:n]
}

// An idle fault at STARTTLS whose time runs out in the TLS handshake (a
// client that stalls after the 220) disconnects the client without its
// reply, which would break the handshake, and the transcript says so: it
// shows no reply that was not sent.
func TestIdleFaultDuringTLSHandshake(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithSTARTTLS(), WithFault(At(StageStartTLS).IdleReply(100*time.Millisecond, 421, "4.4.2 idle too long")))
	w := dialWire(t, srv.Addr(), nil)
	w.cmd("EHLO client.example", "250")
	w.cmd("STARTTLS", "220 2.0.0")
	w.send("\x16\x03\x01\x02") // half a record header, then nothing
	if b, err := io.ReadAll(w.r); len(b) > 0 {
		t.Errorf("the client read %q, %v; want the connection closed without a reply", b, err)
	}
	s := srv.WaitForSessions(t, 1)[0]
	if s.Ended != EndServerClosed {
		t.Errorf("session ended %v (%v), want %v", s.Ended, s.Err, EndServerClosed)
	}
	n := len(s.Transcript)
	if n == 0 || s.Transcript[n-1].Dir != Note || !strings.Contains(s.Transcript[n-1].Text, "in the TLS handshake → disconnect, no reply") {
		t.Errorf("the transcript does not end with the fault's note of a disconnection without reply:\n%s", s.Transcript)
	}
	for _, l := range s.Transcript {
		if l.Dir == FromServer && strings.HasPrefix(l.Text, "421") {
			t.Errorf("the transcript shows a reply never sent: %q\n%s", l, s.Transcript)
		}
	}
}

// In memory in a testing/synctest bubble: a client that stalls in the
// handshake after STARTTLS is dropped at the read timeout on the bubble's
// clock, saying why; one mid-handshake when the server closes ends as a
// shutdown, with nothing written to it.
func TestTLSHandshakeStallInBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := Start(t, WithInMemory(), WithSTARTTLS(), WithReadTimeout(time.Minute), WithWaitTimeout(time.Hour))
		stall := func() *wire {
			conn, err := srv.Dial()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			w := &wire{t: t, conn: conn, r: bufio.NewReader(conn)}
			w.expect("220")
			w.cmd("EHLO client.example", "250")
			w.cmd("STARTTLS", "220 2.0.0")
			w.send("\x16\x03\x01\x02") // half a record header, then nothing
			return w
		}
		stall()
		start := time.Now()
		s := srv.WaitForSessionEnd(t, 1)
		if s.Ended != EndTLSFailed || time.Since(start) != time.Minute {
			t.Errorf("session ended %v (%v) after %v, want %v after the read timeout, 1m0s", s.Ended, s.Err, time.Since(start), EndTLSFailed)
		}
		if n := len(s.Transcript); n == 0 || s.Transcript[n-1].Text != "TLS handshake failed: read: i/o timeout" {
			t.Errorf("the transcript does not end with why the handshake failed:\n%s", s.Transcript)
		}

		w := stall()
		synctest.Wait() // the server waits in the handshake
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
		if s := srv.Sessions()[1]; s.Ended != EndShutdown {
			t.Errorf("session ended %v (%v), want %v", s.Ended, s.Err, EndShutdown)
		}
		if b, _ := io.ReadAll(w.r); len(b) > 0 {
			t.Errorf("the client read %q mid-handshake, want the close alone", b)
		}
	})
}

// In a testing/synctest bubble, an idle fault at STARTTLS as long as the
// read timeout, whose time runs out in the TLS handshake, ends the session
// as the fault's disconnection without reply every time (the fault wins
// at the read timeout, Fault.IdleReply says), not by which of the two
// timers of that same instant the runtime ran first; and never writes the
// fault's reply in plaintext where the client expects TLS.
func TestIdleFaultAtReadTimeoutDuringTLSHandshakeInBubble(t *testing.T) {
	for range 20 {
		synctest.Test(t, func(t *testing.T) {
			srv := Start(t, WithInMemory(), WithSTARTTLS(), WithReadTimeout(time.Minute), WithWaitTimeout(time.Hour),
				WithFault(At(StageStartTLS).IdleReply(time.Minute, 421, "4.4.2 idle too long")))
			conn, err := srv.Dial()
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			w := &wire{t: t, conn: conn, r: bufio.NewReader(conn)}
			w.expect("220")
			w.cmd("EHLO client.example", "250")
			w.cmd("STARTTLS", "220 2.0.0")
			w.send("\x16\x03\x01\x02") // half a record header, then nothing
			if b, _ := io.ReadAll(w.r); len(b) > 0 {
				t.Errorf("the client read %q mid-handshake, want the close alone", b)
			}
			s := srv.WaitForSessionEnd(t, 1)
			n := len(s.Transcript)
			if s.Ended != EndServerClosed || n == 0 || !strings.Contains(s.Transcript[n-1].Text, "in the TLS handshake → disconnect, no reply") {
				t.Fatalf("session ended %v (%v), want %v with the fault's note:\n%s", s.Ended, s.Err, EndServerClosed, s.Transcript)
			}
		})
	}
}

// Session.Helo is the name the server holds: an EHLO it refused (a
// fault's 550, WithRejectNonconforming's 503) gives it none, as the
// engine takes none (MAIL after it gets 503 5.5.1, send HELO/EHLO first).
func TestSessionHeloIsNotARefusedName(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		opts  []Option
		greet func(w *wire) // sends an EHLO the server refuses, reads its reply
	}{
		{"a fault's reply", []Option{WithFault(At(StageHelo).AtMost(1).Reply(550, "5.7.1 go away"))},
			func(w *wire) { w.cmd("EHLO refused.example", "550 5.7.1") }},
		{"a strict MTA's rejection", []Option{WithRejectNonconforming(), WithoutExtensions("PIPELINING")},
			func(w *wire) {
				w.send("EHLO refused.example\r\nNOOP\r\n") // pipelined, not offered
				w.expect("503 5.5.1")
				w.expect("250 2.0.0")
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := Start(t, tt.opts...)
			w := dialWire(t, srv.Addr(), nil)
			tt.greet(w)
			w.cmd("MAIL FROM:<a@example.com>", "503 5.5.1") // the server holds no name
			id := srv.Sessions()[0].ID
			if h := srv.Session(id).Helo; h != "" {
				t.Errorf("after a refused EHLO: Session.Helo = %q, want none", h)
			}
			w.quit()
		})
	}
}

// A HELO or EHLO the server refuses (here a fault's 550) leaves the name
// the server last accepted, as the engine does: the session's Helo, and
// that of a message sent after it, are that name, not the refused one.
// The record took the name as the command came, before its answer, so
// that a message said it came after an EHLO the server had refused.
func TestRefusedEHLOLeavesTheNameBeforeIt(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	w := dialWire(t, srv.Addr(), nil)
	w.cmd("EHLO client.example", "250")
	if err := srv.AddFault(At(StageHelo).Reply(550, "5.7.1 not you")); err != nil {
		t.Fatal(err)
	}
	w.cmd("EHLO evil.example", "550 5.7.1")
	w.cmd("HELO evil.example", "550 5.7.1")
	srv.ClearFaults()
	w.cmd("MAIL FROM:<a@example.com>", "250 2.1.0")
	w.cmd("RCPT TO:<b@example.com>", "250 2.1.5")
	w.cmd("DATA", "354")
	w.send(mailBody + ".\r\n")
	w.expect("250 2.0.0")
	w.quit()
	s := srv.WaitForSessions(t, 1)[0]
	m := srv.WaitForMessages(t, 1)[0]
	if m.Session.Helo != "client.example" || s.Helo != "client.example" {
		t.Errorf("after EHLO client.example, then EHLO and HELO evil.example refused: message 1 says it was sent after HELO %q, the session stands at %q; want client.example", m.Session.Helo, s.Helo)
	}
}
