package mocksmtp_test

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
)

// faultNotes returns the fault notes of a session's transcript, in
// order, without their "fault " prefix.
func faultNotes(s *mocksmtp.Session) []string {
	var notes []string
	for _, l := range s.Transcript {
		if n, ok := strings.CutPrefix(l.Text, "fault "); ok && l.Dir == mocksmtp.Note {
			notes = append(notes, n)
		}
	}
	return notes
}

// A fault that only shapes how the reply goes out (Trickle, SplitReply),
// what happens if the client then idles (IdleReply), when the message
// data is cut (DropAfterBytes) or how the TLS handshake fails decides no
// reply: the faults after it at its stage are consulted still, and what
// it does applies to the reply of the first that decides, or to the
// server's own. A user who trickles every RCPT and refuses bob gets bob's
// 550 trickled. In a bubble, in memory: each piece comes at the bubble
// time the faults say.
func TestModifiersComposeWithTheFaultThatDecides(t *testing.T) {
	at := func(st mocksmtp.Stage, where string) mocksmtp.Fault { return mocksmtp.At(st).DeclaredAt(where) }
	toRcpt := func(c *faultConn) {
		c.must("", 220)
		c.must("EHLO client.example", 250)
		c.must("MAIL FROM:<app@example.com>", 250)
	}
	for _, tt := range []struct {
		name   string
		faults []mocksmtp.Fault
		run    func(c *faultConn) ([]string, []time.Duration)
		want   []string
		when   []time.Duration
		notes  []string
	}{{
		name:   "Trickle, then UnknownUser: bob's 550 trickled",
		faults: []mocksmtp.Fault{at(mocksmtp.StageRcpt, "slow").Trickle(8, 2*time.Second), mocksmtp.UnknownUser("bob@example.com").DeclaredAt("unknown")},
		run:    rcptPieces,
		want:   []string{"550 5.1.", "1 User u", "nknown\r\n"},
		when:   []time.Duration{0, 2 * time.Second, 4 * time.Second},
		notes: []string{
			"slow: RCPT attempt 1 → trickle 8 bytes every 2s",
			"unknown: RCPT attempt 1 → 550 5.1.1 User unknown (unknown user)",
		},
	}, {
		name:   "SplitReply, then Reply(451): the 451 split",
		faults: []mocksmtp.Fault{at(mocksmtp.StageRcpt, "split").SplitReply(3, time.Minute), at(mocksmtp.StageRcpt, "busy").Reply(451, "4.3.0 try later")},
		run:    rcptPieces,
		want:   []string{"451", " 4.3.0 try later\r\n"},
		when:   []time.Duration{0, time.Minute},
		notes: []string{
			"split: RCPT attempt 1 → split after 3 bytes, pause 1m0s",
			"busy: RCPT attempt 1 → 451 4.3.0 try later",
		},
	}, {
		name: "IdleReply, then a refusal of bob: bob gets 550, and the idle wait after it fires",
		faults: []mocksmtp.Fault{
			at(mocksmtp.StageRcpt, "idle").IdleReply(4*time.Minute, 421, "4.4.2 idle too long"),
			at(mocksmtp.StageRcpt, "refuse").ForRcpt("bob@example.com").Reply(550, "5.1.1 no such user"),
		},
		run:  rcptReplies(3),
		want: []string{"550 5.1.1 no such user\r\n", "421 4.4.2 idle too long\r\n", "EOF"},
		when: []time.Duration{0, 4 * time.Minute, 4 * time.Minute},
		notes: []string{
			"idle: RCPT attempt 1 → after 4m0s idle: 421 4.4.2 idle too long, disconnect",
			"refuse: RCPT attempt 1 → 550 5.1.1 no such user",
			"idle: idle for 4m0s → 421 4.4.2 idle too long, disconnect",
		},
	}, {
		name: "Delay, Trickle and a 421 that closes: the 421 comes after the delay, trickled, then the close",
		faults: []mocksmtp.Fault{
			at(mocksmtp.StageRcpt, "slow").Delay(time.Minute),
			at(mocksmtp.StageRcpt, "trickle").Trickle(10, time.Second),
			at(mocksmtp.StageRcpt, "bye").Reply(421, "4.3.2 bye"),
		},
		run:  rcptReplies(2),
		want: []string{"421 4.3.2 bye\r\n", "EOF"},
		when: []time.Duration{time.Minute + time.Second, time.Minute + time.Second},
		notes: []string{
			"slow: RCPT attempt 1 → delay 1m0s",
			"trickle: RCPT attempt 1 → trickle 10 bytes every 1s",
			"bye: RCPT attempt 1 → 421 4.3.2 bye, disconnect",
		},
	}, {
		name: "a Trickle before a Drop paces nothing, and its note says so",
		faults: []mocksmtp.Fault{
			at(mocksmtp.StageRcpt, "trickle").Trickle(1, time.Second),
			at(mocksmtp.StageRcpt, "drop").Drop(),
		},
		run:  rcptReplies(1),
		want: []string{"EOF"},
		when: []time.Duration{0},
		notes: []string{
			"trickle: RCPT attempt 1 → trickle 1 bytes every 1s; Trickle not done: no reply goes out",
			"drop: RCPT attempt 1 → no reply, drop",
		},
	}, {
		name: "an IdleReply before a 421 waits for nothing, and its note says so",
		faults: []mocksmtp.Fault{
			at(mocksmtp.StageRcpt, "idle").IdleReply(time.Minute, 421, "4.4.2 idle too long"),
			at(mocksmtp.StageRcpt, "bye").Reply(421, "4.3.2 bye"),
		},
		run:  rcptReplies(2),
		want: []string{"421 4.3.2 bye\r\n", "EOF"},
		when: []time.Duration{0, 0},
		notes: []string{
			"idle: RCPT attempt 1 → after 1m0s idle: 421 4.4.2 idle too long, disconnect; IdleReply not done: the connection is not left open",
			"bye: RCPT attempt 1 → 421 4.3.2 bye, disconnect",
		},
	}, {
		name: "a decider's own pace wins over that of a fault before it",
		faults: []mocksmtp.Fault{
			at(mocksmtp.StageRcpt, "split").SplitReply(3, time.Minute),
			at(mocksmtp.StageRcpt, "refuse").Reply(550, "5.1.1 no such user").Trickle(8, time.Second),
		},
		run:  rcptPieces,
		want: []string{"550 5.1.", "1 no suc", "h user\r\n"},
		when: []time.Duration{0, time.Second, 2 * time.Second},
		notes: []string{
			"split: RCPT attempt 1 → split after 3 bytes, pause 1m0s; SplitReply not done: the reply is paced by refuse",
			"refuse: RCPT attempt 1 → 550 5.1.1 no such user, trickle 8 bytes every 1s",
		},
	}, {
		name: "a decider's own idle reply wins over that of a fault before it, and a pace before it stays",
		faults: []mocksmtp.Fault{
			at(mocksmtp.StageRcpt, "general").Trickle(8, time.Second).IdleReply(time.Hour, 421, "4.4.2 general idle"),
			at(mocksmtp.StageRcpt, "refuse").Reply(550, "5.1.1 no such user").IdleReply(time.Minute, 421, "4.4.2 own idle"),
		},
		run:  rcptPieces,
		want: []string{"550 5.1.", "1 no suc", "h user\r\n"},
		when: []time.Duration{0, time.Second, 2 * time.Second},
		notes: []string{
			"general: RCPT attempt 1 → trickle 8 bytes every 1s, after 1h0m0s idle: 421 4.4.2 general idle, disconnect; IdleReply not done: the idle reply is refuse's",
			"refuse: RCPT attempt 1 → 550 5.1.1 no such user, after 1m0s idle: 421 4.4.2 own idle, disconnect",
		},
	}, {
		name: "a Delay of 0 fires, as any Delay, before a pace",
		faults: []mocksmtp.Fault{
			at(mocksmtp.StageRcpt, "zero").Delay(0),
			at(mocksmtp.StageRcpt, "split").SplitReply(3, time.Minute),
		},
		run:  rcptPieces,
		want: []string{"250", " 2.1.5 Ok\r\n"},
		when: []time.Duration{0, time.Minute},
		notes: []string{
			"zero: RCPT attempt 1 → no change",
			"split: RCPT attempt 1 → split after 3 bytes, pause 1m0s",
		},
	}, {
		name: "no fault decides: the server's reply, paced",
		faults: []mocksmtp.Fault{
			at(mocksmtp.StageRcpt, "split").SplitReply(3, time.Minute),
			at(mocksmtp.StageRcpt, "refuse").ForRcpt("carol@example.com").Reply(550, "5.1.1 no such user"),
		},
		run:  rcptPieces,
		want: []string{"250", " 2.1.5 Ok\r\n"},
		when: []time.Duration{0, time.Minute},
		notes: []string{
			"split: RCPT attempt 1 → split after 3 bytes, pause 1m0s",
		},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(tt.faults...))
				c := dialBubble(t, srv)
				toRcpt(c)
				got, when := tt.run(c)
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("client read (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tt.when, when); diff != "" {
					t.Errorf("when each piece came (-want +got):\n%s", diff)
				}
				c.conn.Close()
				if diff := cmp.Diff(tt.notes, faultNotes(srv.WaitForSessions(t, 1)[0])); diff != "" {
					t.Errorf("the transcript's fault notes (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// Two faults that pace, the first for attempt 1 and at most once: the
// first that matches paces the reply, and the second, which could change
// nothing more, is not consulted, so its AtMost is not used up: it paces
// the next reply. A fault that only paces is consulted as long as the
// reply is not paced yet.
func TestAModifierWithNothingLeftToDoIsNotConsulted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(
			mocksmtp.At(mocksmtp.StageRcpt).AtMost(1).SplitReply(3, time.Minute).DeclaredAt("first"),
			mocksmtp.At(mocksmtp.StageRcpt).AtMost(1).SplitReply(4, 30*time.Minute).DeclaredAt("second"),
			mocksmtp.UnknownUser("bob@example.com").DeclaredAt("unknown"),
		))
		c := dialBubble(t, srv)
		c.must("", 220)
		c.must("EHLO client.example", 250)
		c.must("MAIL FROM:<app@example.com>", 250)
		for _, want := range []struct {
			pieces []string
			when   []time.Duration
		}{
			{[]string{"550", " 5.1.1 User unknown\r\n"}, []time.Duration{0, time.Minute}},
			{[]string{"550 ", "5.1.1 User unknown\r\n"}, []time.Duration{0, 30 * time.Minute}},
			{[]string{"550 5.1.1 User unknown\r\n"}, []time.Duration{0}},
		} {
			got, when := rcptPieces(c)
			if !cmp.Equal(want.pieces, got) || !cmp.Equal(want.when, when) {
				t.Errorf("RCPT: %q at %v, want %q at %v", got, when, want.pieces, want.when)
			}
		}
		c.must("QUIT", 221)
		want := []string{
			"first: RCPT attempt 1 → split after 3 bytes, pause 1m0s",
			"unknown: RCPT attempt 1 → 550 5.1.1 User unknown (unknown user)",
			"second: RCPT attempt 1 → split after 4 bytes, pause 30m0s",
			"unknown: RCPT attempt 1 → 550 5.1.1 User unknown (unknown user)",
			"unknown: RCPT attempt 1 → 550 5.1.1 User unknown (unknown user)",
		}
		if diff := cmp.Diff(want, faultNotes(srv.WaitForSessions(t, 1)[0])); diff != "" {
			t.Errorf("the transcript's fault notes (-want +got):\n%s", diff)
		}
	})
}

// The same over each transport, on a clock the test moves: a trickled
// 550 comes after the pauses of its pieces, a split 451 after its pause,
// and after carol's 451 an IdleReply before it sends its reply once the
// client idles.
func TestModifiersComposeOverEachTransport(t *testing.T) {
	overTransports(t, testModifiersComposeOverEachTransport)
}

func testModifiersComposeOverEachTransport(t *testing.T, via transport) {
	t.Parallel()
	srv, clk := startOnClock(t, append(via.opts, mocksmtp.WithFault(
		mocksmtp.At(mocksmtp.StageRcpt).ForRcpt("bob@example.com").Trickle(8, time.Second).DeclaredAt("trickle"),
		mocksmtp.At(mocksmtp.StageRcpt).ForRcpt("carol@example.com").SplitReply(3, 5*time.Second).DeclaredAt("split"),
		// For carol only: an idle time running while the test sends the
		// next command would race the test's moves of the clock.
		mocksmtp.At(mocksmtp.StageRcpt).ForRcpt("carol@example.com").IdleReply(10*time.Second, 421, "4.4.2 idle too long").DeclaredAt("idle"),
		mocksmtp.UnknownUser("bob@example.com").DeclaredAt("unknown"),
		mocksmtp.At(mocksmtp.StageRcpt).ForRcpt("carol@example.com").Reply(451, "4.3.0 try later").DeclaredAt("busy"),
	))...)
	c := dialOnClock(t, srv, clk)
	c.must("", 220)
	c.must("EHLO client.example", 250)
	c.must("MAIL FROM:<app@example.com>", 250)
	// "550 5.1.1 User unknown\r\n": 3 pieces of 8, 2 pauses.
	if r, waited := c.timed("RCPT TO:<bob@example.com>"); r.Code != 550 || waited != 2*time.Second {
		t.Errorf("RCPT bob: %d after %v, want 550 after 2s", r.Code, waited)
	}
	// Carol's 451, split, then the idle time, each moved through by
	// hand: the idle time begins as the 451 goes out, which timed would
	// move the clock through too.
	c.send("RCPT TO:<carol@example.com>")
	c.waitWaits(1) // the pause
	c.advance(4 * time.Second)
	if n := c.clk.Waits(); n != 1 {
		t.Fatalf("4s into a pause of 5s, %d waits on the clock, want the pause", n)
	}
	c.advance(time.Second)
	if r, err := c.read(); err != nil || r.Code != 451 {
		t.Fatalf("RCPT carol: %+v, %v; want 451", r, err)
	}
	c.waitWaits(1) // the idle time
	c.advance(9 * time.Second)
	if n := c.clk.Waits(); n != 1 {
		t.Fatalf("9s into an idle time of 10s, %d waits on the clock, want the idle time", n)
	}
	c.advance(time.Second)
	if r, err := c.read(); err != nil || r.Code != 421 {
		t.Fatalf("after 10s idle: %+v, %v; want the idle reply, 421", r, err)
	}
	c.expectClosed()
	want := []string{
		"trickle: RCPT attempt 1 → trickle 8 bytes every 1s",
		"unknown: RCPT attempt 1 → 550 5.1.1 User unknown (unknown user)",
		"split: RCPT attempt 1 → split after 3 bytes, pause 5s",
		"idle: RCPT attempt 1 → after 10s idle: 421 4.4.2 idle too long, disconnect",
		"busy: RCPT attempt 1 → 451 4.3.0 try later",
		"idle: idle for 10s → 421 4.4.2 idle too long, disconnect",
	}
	if diff := cmp.Diff(want, faultNotes(srv.WaitForSessionEnd(t, 1))); diff != "" {
		t.Errorf("the transcript's fault notes (-want +got):\n%s", diff)
	}
}

// waitWaits waits until n waits are in progress on the clock.
func (c *clockConn) waitWaits(n int) {
	c.t.Helper()
	deadline := time.After(10 * time.Second)
	for c.clk.Waits() != n {
		select {
		case <-c.changed:
		case <-deadline:
			c.t.Fatalf("%d waits on the clock after 10s, want %d", c.clk.Waits(), n)
		}
	}
}

// advance moves the clock ahead by d.
func (c *clockConn) advance(d time.Duration) {
	c.t.Helper()
	if _, _, _, err := c.clk.Advance(d); err != nil {
		c.t.Fatalf("advance: %v", err)
	}
}

// A TLS failure at STARTTLS modifies the handshake after the reply: a
// refusal after it, for attempt 1, is consulted and refuses, and the TLS
// failure, with no handshake to act on, is noted as not done; attempt 2
// gets the 220 and the expired certificate.
func TestTLSFailureComposesWithARefusalAfterIt(t *testing.T) {
	overTransports(t, testTLSFailureComposesWithARefusalAfterIt)
}

func testTLSFailureComposesWithARefusalAfterIt(t *testing.T, via transport) {
	t.Parallel()
	srv := via.start(t, mocksmtp.WithSTARTTLS(), mocksmtp.WithFault(
		mocksmtp.At(mocksmtp.StageStartTLS).ExpiredCertificate().DeclaredAt("expired"),
		mocksmtp.At(mocksmtp.StageStartTLS).OnAttempt(1).Reply(454, "4.7.0 not now").DeclaredAt("busy"),
	))
	startTLS := func() error {
		conn, err := srv.Dial()
		if err != nil {
			t.Fatal(err)
		}
		c, err := smtp.NewClient(conn, srv.Host())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.StartTLS(srv.ClientTLSConfig())
	}
	var te *textproto.Error
	if err := startTLS(); !errors.As(err, &te) || te.Code != 454 {
		t.Errorf("attempt 1: StartTLS: %v, want 454", err)
	}
	var expired x509.CertificateInvalidError
	if err := startTLS(); !errors.As(err, &expired) || expired.Reason != x509.Expired {
		t.Errorf("attempt 2: StartTLS: %v, want the expired certificate", err)
	}
	ss := srv.WaitForSessions(t, 2)
	want := [][]string{{
		"expired: STARTTLS attempt 1 → expired certificate; expired certificate not done: no TLS handshake follows",
		"busy: STARTTLS attempt 1 → 454 4.7.0 not now",
	}, {
		"expired: STARTTLS attempt 2 → expired certificate",
	}}
	for i, s := range ss {
		if diff := cmp.Diff(want[i], s.Faults); diff != "" {
			t.Errorf("session %d: Session.Faults (-want +got):\n%s", i+1, diff)
		}
	}
	if ss[1].Ended != mocksmtp.EndTLSFailed {
		t.Errorf("session 2 ended %v, want %v", ss[1].Ended, mocksmtp.EndTLSFailed)
	}
}

// DropAfterBytes at DATA cuts the message data of the transactions that
// a refusal after it does not refuse: bob's DATA is refused (no data to
// cut, noted), carol's message is cut after 10 octets.
func TestDropAfterBytesComposesWithARefusalAfterIt(t *testing.T) {
	overTransports(t, testDropAfterBytesComposesWithARefusalAfterIt)
}

func testDropAfterBytesComposesWithARefusalAfterIt(t *testing.T, via transport) {
	t.Parallel()
	srv := via.start(t, mocksmtp.WithFault(
		mocksmtp.At(mocksmtp.StageData).DropAfterBytes(10).DeclaredAt("cut"),
		mocksmtp.At(mocksmtp.StageData).ForRcpt("bob@example.com").Reply(554, "5.7.1 not for bob").DeclaredAt("refuse"),
	))
	c := dialFault(t, srv)
	c.must("", 220)
	c.must("EHLO client.example", 250)
	c.must("MAIL FROM:<app@example.com>", 250)
	c.must("RCPT TO:<bob@example.com>", 250)
	c.must("DATA", 554)
	c.must("RSET", 250)
	c.must("MAIL FROM:<app@example.com>", 250)
	c.must("RCPT TO:<carol@example.com>", 250)
	c.must("DATA", 354)
	c.send("Subject: cut\r\n\r\nthis is longer than ten octets\r\n.")
	c.expectClosed()
	want := []string{
		"cut: DATA attempt 1 → drop after 10 octets of data; DropAfterBytes not done: no message data is read",
		"refuse: DATA attempt 1 → 554 5.7.1 not for bob",
		"cut: DATA attempt 1 → drop after 10 octets of data",
	}
	if diff := cmp.Diff(want, srv.WaitForSessionEnd(t, 1).Faults); diff != "" {
		t.Errorf("Session.Faults (-want +got):\n%s", diff)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages recorded, want none", n)
	}
}

// At BDAT LAST, a pace and a positive reply of two faults compose: the
// reply, which is the end-of-message reply, goes out split as the first
// says.
func TestPaceAtBdatLastComposesWithItsReply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(
			mocksmtp.At(mocksmtp.StageBdat).SplitReply(3, time.Minute).DeclaredAt("split"),
			mocksmtp.At(mocksmtp.StageBdat).Reply(250, "2.0.0 kept").DeclaredAt("kept"),
		))
		c := dialBubble(t, srv)
		c.must("", 220)
		c.must("EHLO client.example", 250)
		c.must("MAIL FROM:<app@example.com>", 250)
		c.must("RCPT TO:<bob@example.com>", 250)
		start := time.Now()
		_, _ = io.WriteString(c.conn, "BDAT 20 LAST\r\nSubject: x\r\n\r\nbody\r\n")
		var got []string
		var when []time.Duration
		buf := make([]byte, 64)
		for !strings.HasSuffix(strings.Join(got, ""), "\r\n") {
			n, err := c.conn.Read(buf)
			if err != nil {
				t.Fatalf("read: %v after %q", err, got)
			}
			got, when = append(got, string(buf[:n])), append(when, time.Since(start))
		}
		if want := []string{"250", " 2.0.0 kept\r\n"}; !cmp.Equal(want, got) || !cmp.Equal([]time.Duration{0, time.Minute}, when) {
			t.Errorf("BDAT LAST: %q at %v, want %q at [0s 1m0s]", got, when, want)
		}
		c.must("QUIT", 221)
		if n := len(srv.WaitForMessages(t, 1)); n != 1 {
			t.Errorf("%d messages, want 1", n)
		}
		want := []string{
			"split: BDAT attempt 1 → split after 3 bytes, pause 1m0s",
			"kept: BDAT attempt 1 → 250 2.0.0 kept",
		}
		if diff := cmp.Diff(want, srv.WaitForSessions(t, 1)[0].Faults); diff != "" {
			t.Errorf("Session.Faults (-want +got):\n%s", diff)
		}
	})
}

// A 235 that one fault words and one before it paces is paced: a client
// that leaves before the whole of it came is not authenticated, and the
// record says what part of which reply it read.
func TestPacedAuthReplyOfAnotherFaultIsRecordedAsRefused(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithAuth("alice", "secret"), mocksmtp.WithFault(
		mocksmtp.At(mocksmtp.StageAuth).SplitReply(3, time.Hour),
		mocksmtp.At(mocksmtp.StageAuth).Reply(235, "2.7.0 welcome"),
	))
	c := dialFault(t, srv)
	c.must("", 220)
	c.must("EHLO client.example", 250)
	c.send("AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00alice\x00secret")))
	if got, _ := faultReadPieces(t, c.conn, 3); got != "235" {
		t.Fatalf("the first piece of the reply: %q, want \"235\"", got)
	}
	c.conn.Close()
	s := srv.WaitForSessionEnd(t, 1)
	want := &mocksmtp.AuthInfo{Mechanism: mocksmtp.AuthPlain, Username: "alice", Success: true, Refused: "part of 235 2.7.0 welcome"}
	if diff := cmp.Diff(want, s.Auth); diff != "" {
		t.Errorf("Session.Auth (-want +got):\n%s", diff)
	}
}

// The reply to BDAT LAST is the end-of-message reply, and the ending of
// a fault at BDAT follows it: an IdleReply of a fault at end of message
// then has no open connection to wait on, and its note says so, as it
// would after a Disconnect of its own stage.
func TestIdleReplyAfterBdatLastThatDisconnectsIsNotDone(t *testing.T) {
	overTransports(t, testIdleReplyAfterBdatLastThatDisconnectsIsNotDone)
}

func testIdleReplyAfterBdatLastThatDisconnectsIsNotDone(t *testing.T, via transport) {
	t.Parallel()
	srv := via.start(t, mocksmtp.WithFault(
		mocksmtp.At(mocksmtp.StageBdat).Disconnect().DeclaredAt("bye"),
		mocksmtp.At(mocksmtp.StageMessage).IdleReply(time.Hour, 421, "4.4.2 idle too long").DeclaredAt("idle"),
	))
	c := dialFault(t, srv)
	c.must("", 220)
	c.must("EHLO client.example", 250)
	c.must("MAIL FROM:<app@example.com>", 250)
	c.must("RCPT TO:<bob@example.com>", 250)
	c.send("BDAT 20 LAST\r\nSubject: x\r\n\r\nbody")
	c.must("", 250)
	c.expectClosed()
	want := []string{
		"bye: BDAT attempt 1 → disconnect",
		"idle: end of message attempt 1 → after 1h0m0s idle: 421 4.4.2 idle too long, disconnect; IdleReply not done: the connection is not left open",
	}
	if diff := cmp.Diff(want, srv.WaitForSessionEnd(t, 1).Faults); diff != "" {
		t.Errorf("Session.Faults (-want +got):\n%s", diff)
	}
}
