package mocksmtp_test

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// dialBubble connects a raw client to an in-memory server inside a
// bubble, with a deadline an hour of bubble time away.
func dialBubble(t *testing.T, srv *mocksmtp.Server) *faultConn {
	t.Helper()
	conn, err := srv.Dial()
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	_ = conn.SetDeadline(time.Now().Add(time.Hour))
	t.Cleanup(func() { conn.Close() })
	return &faultConn{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// Every fault action that takes time, in a bubble: the client sees it at
// exactly the bubble time the fault says, and the test takes none.
func TestFaultsInFakeTime(t *testing.T) {
	toRcpt := func(c *faultConn) {
		c.must("", 220)
		c.must("EHLO client.example", 250)
		c.must("MAIL FROM:<app@example.com>", 250)
	}
	for _, tt := range []struct {
		name  string
		fault mocksmtp.Fault
		// run plays the client from RCPT on and returns what it read, and
		// when (since the RCPT was sent) it saw each piece.
		run   func(c *faultConn) ([]string, []time.Duration)
		want  []string
		when  []time.Duration
		ended mocksmtp.EndReason
	}{
		{
			name:  "Delay",
			fault: mocksmtp.At(mocksmtp.StageRcpt).Delay(5 * time.Minute),
			run:   rcptReplies(1),
			want:  []string{"250 2.1.5 Ok\r\n"},
			when:  []time.Duration{5 * time.Minute},
			ended: mocksmtp.EndQuit,
		},
		{
			name:  "Delay, Reply and Disconnect",
			fault: mocksmtp.At(mocksmtp.StageRcpt).Delay(90*time.Second).Reply(421, "4.4.2 slow").Disconnect(),
			run:   rcptReplies(2),
			want:  []string{"421 4.4.2 slow\r\n", "EOF"},
			when:  []time.Duration{90 * time.Second, 90 * time.Second},
			ended: mocksmtp.EndServerClosed,
		},
		{
			name:  "Stall until the client gives up",
			fault: mocksmtp.At(mocksmtp.StageRcpt).Stall(),
			run: func(c *faultConn) ([]string, []time.Duration) {
				start := time.Now()
				_ = c.conn.SetReadDeadline(start.Add(30 * time.Second))
				_, err := c.cmd("RCPT TO:<bob@example.com>")
				return []string{errKind(err)}, []time.Duration{time.Since(start)}
			},
			want:  []string{"timeout"},
			when:  []time.Duration{30 * time.Second},
			ended: mocksmtp.EndClientClosed,
		},
		{
			name:  "Trickle",
			fault: mocksmtp.At(mocksmtp.StageRcpt).Trickle(5, 2*time.Second),
			run:   rcptPieces,
			want:  []string{"250 2", ".1.5 ", "Ok\r\n"},
			when:  []time.Duration{0, 2 * time.Second, 4 * time.Second},
			ended: mocksmtp.EndQuit,
		},
		{
			name:  "SplitReply",
			fault: mocksmtp.At(mocksmtp.StageRcpt).SplitReply(3, time.Minute),
			run:   rcptPieces,
			want:  []string{"250", " 2.1.5 Ok\r\n"},
			when:  []time.Duration{0, time.Minute},
			ended: mocksmtp.EndQuit,
		},
		{
			name:  "IdleReply",
			fault: mocksmtp.At(mocksmtp.StageRcpt).IdleReply(4*time.Minute, 421, "4.4.2 idle too long"),
			run:   rcptReplies(3),
			want:  []string{"250 2.1.5 Ok\r\n", "421 4.4.2 idle too long\r\n", "EOF"},
			when:  []time.Duration{0, 4 * time.Minute, 4 * time.Minute},
			ended: mocksmtp.EndServerClosed,
		},
		{
			name:  "Drop",
			fault: mocksmtp.At(mocksmtp.StageRcpt).Drop(),
			run:   rcptReplies(1),
			want:  []string{"EOF"},
			when:  []time.Duration{0},
			ended: mocksmtp.EndServerClosed,
		},
		{
			name:  "ResetTCP",
			fault: mocksmtp.At(mocksmtp.StageRcpt).ResetTCP(),
			run:   rcptReplies(1),
			want:  []string{"reset"},
			when:  []time.Duration{0},
			ended: mocksmtp.EndServerClosed,
		},
		{
			name:  "HalfClose",
			fault: mocksmtp.At(mocksmtp.StageRcpt).Reply(421, "4.3.2 going away").HalfClose(),
			run:   rcptReplies(2),
			want:  []string{"421 4.3.2 going away\r\n", "EOF"},
			when:  []time.Duration{0, 0},
			ended: mocksmtp.EndServerClosed,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(tt.fault))
				c := dialBubble(t, srv)
				toRcpt(c)
				got, when := tt.run(c)
				if strings.Join(got, "|") != strings.Join(tt.want, "|") {
					t.Errorf("client read %q, want %q", got, tt.want)
				}
				for i := range min(len(when), len(tt.when)) {
					if when[i] != tt.when[i] {
						t.Errorf("piece %d (%q) came after %v, want %v", i+1, got[i], when[i], tt.when[i])
					}
				}
				if tt.ended == mocksmtp.EndQuit {
					c.must("QUIT", 221)
				}
				c.conn.Close()
				if s := srv.WaitForSessions(t, 1)[0]; s.Ended != tt.ended {
					t.Errorf("session ended %v, want %v", s.Ended, tt.ended)
				}
			})
		})
	}
}

// rcptReplies sends RCPT and reads n replies (or how reading ended),
// noting when each came.
func rcptReplies(n int) func(c *faultConn) ([]string, []time.Duration) {
	return func(c *faultConn) ([]string, []time.Duration) {
		start := time.Now()
		c.send("RCPT TO:<bob@example.com>")
		var got []string
		var when []time.Duration
		for range n {
			line, err := c.r.ReadString('\n')
			if err != nil {
				line = errKind(err)
			}
			got, when = append(got, line), append(when, time.Since(start))
			if err != nil {
				break
			}
		}
		return got, when
	}
}

// rcptPieces sends RCPT and reads its reply as it arrives, piece by
// piece, noting when each came.
func rcptPieces(c *faultConn) ([]string, []time.Duration) {
	start := time.Now()
	c.send("RCPT TO:<bob@example.com>")
	var got []string
	var when []time.Duration
	buf := make([]byte, 64)
	for !strings.HasSuffix(strings.Join(got, ""), "\r\n") {
		n, err := c.conn.Read(buf) // the client's bufio.Reader holds nothing yet
		if err != nil {
			return append(got, errKind(err)), append(when, time.Since(start))
		}
		got, when = append(got, string(buf[:n])), append(when, time.Since(start))
	}
	return got, when
}

// errKind names how a read ended: "EOF", "reset", "timeout", or the error.
func errKind(err error) string {
	switch {
	case errors.Is(err, io.EOF):
		return "EOF"
	case faultIsReset(err):
		return "reset"
	case faultIsTimeout(err):
		return "timeout"
	}
	return err.Error()
}

// Close during a stall ends the session at once with 421 4.3.2, in a
// bubble as over TCP.
func TestCloseDuringStallInFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageConnect).Stall()))
		c := dialBubble(t, srv)
		time.Sleep(time.Hour - time.Minute) // an hour of nothing
		srv.Close()
		r, err := c.read()
		if err != nil || r.Code != 421 || r.Status != "4.3.2" {
			t.Errorf("reply = %+v, %v; want 421 4.3.2 at shutdown", r, err)
		}
		if s := srv.Sessions()[0]; s.Ended != mocksmtp.EndShutdown || s.End.Sub(s.Start) > time.Hour {
			t.Errorf("session ended %v after %v", s.Ended, s.End.Sub(s.Start))
		}
	})
}

// DropAfterBytes cuts a message in a bubble as over TCP: nothing is
// recorded.
func TestDropAfterBytesInFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageData).DropAfterBytes(100)))
		c := dialBubble(t, srv)
		c.must("", 220)
		c.must("EHLO client.example", 250)
		c.must("MAIL FROM:<app@example.com>", 250)
		c.must("RCPT TO:<bob@example.com>", 250)
		c.must("DATA", 354)
		_, _ = io.WriteString(c.conn, strings.Repeat("0123456789abcdef\r\n", 100)+".\r\n")
		got, err := io.ReadAll(c.r)
		if len(got) != 0 || err != nil && !faultIsReset(err) {
			t.Errorf("read %q, %v; want the connection closed without a reply", got, err)
		}
		c.conn.Close()
		if s := srv.WaitForSessions(t, 1)[0]; s.Ended != mocksmtp.EndServerClosed || len(srv.Messages()) != 0 {
			t.Errorf("session ended %v, %d messages; want closed by the server, none", s.Ended, len(srv.Messages()))
		}
	})
}

// IdleReply at StageBdat counts from the command, not from the reply as
// at other stages: the reply to BDAT follows its chunk, which the time
// covers. Here a chunk that takes 50 s leaves 10 s of the minute after
// its 250.
func TestIdleReplyAtBdatCoversItsChunk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(
			mocksmtp.At(mocksmtp.StageBdat).IdleReply(time.Minute, 421, "4.4.2 idle too long"),
		))
		c := dialBubble(t, srv)
		c.must("", 220)
		c.must("EHLO client.example", 250)
		c.must("MAIL FROM:<app@example.com>", 250)
		c.must("RCPT TO:<bob@example.com>", 250)
		start := time.Now()
		_, _ = io.WriteString(c.conn, "BDAT 10\r\nhello")
		time.Sleep(50 * time.Second)
		_, _ = io.WriteString(c.conn, "world")
		c.must("", 250)
		r, err := c.read()
		if err != nil || r.Code != 421 || r.Status != "4.4.2" {
			t.Fatalf("after the chunk's 250: %+v, %v; want the idle reply", r, err)
		}
		if took := time.Since(start); took != time.Minute {
			t.Errorf("idle reply %v after the BDAT command, want 1m", took)
		}
	})
}

// The reply to BDAT LAST is the end-of-message reply: IdleReply at
// StageBdat, counted from the command, goes on after it, as after any
// BDAT's reply. It was lost: the client idle after the 250 got the read
// timeout's 421 minutes later.
func TestIdleReplyAtBdatLast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(
			mocksmtp.At(mocksmtp.StageBdat).IdleReply(time.Minute, 421, "4.4.2 idle too long"),
		))
		c := dialBubble(t, srv)
		c.must("", 220)
		c.must("EHLO client.example", 250)
		c.must("MAIL FROM:<app@example.com>", 250)
		c.must("RCPT TO:<bob@example.com>", 250)
		start := time.Now()
		_, _ = io.WriteString(c.conn, "BDAT 10 LAST\r\nhello")
		time.Sleep(50 * time.Second)
		_, _ = io.WriteString(c.conn, "world")
		c.must("", 250)
		r, err := c.read()
		if took := time.Since(start); err != nil || r.Code != 421 || r.Status != "4.4.2" || took != time.Minute {
			t.Fatalf("after the message's 250: %+v, %v after %v; want the idle reply 1m after the BDAT command", r, err, took)
		}
		c.expectClosed()
		if n := len(srv.Messages()); n != 1 {
			t.Errorf("%d messages, want 1", n)
		}
	})
}

// A command that arrives at the very time an IdleReply's wait runs out is
// too late, every time, as one at the read timeout is: the unsolicited
// reply goes out instead of the command's. (Here the client sent EHLO and
// slept before the server armed its wait, which made the outcome a coin
// toss: which of the two timers of that instant the runtime ran first.)
func TestIdleReplyAtItsVeryEnd(t *testing.T) {
	for range 300 { // before, each missed it about one time in two
		synctest.Test(t, func(t *testing.T) {
			srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(
				mocksmtp.At(mocksmtp.StageHelo).IdleReply(2*time.Minute, 421, "4.4.2 idle too long"),
			))
			c := dialBubble(t, srv)
			c.must("", 220)
			c.send("EHLO client.example")
			time.Sleep(2 * time.Minute)
			c.send("NOOP")
			c.must("", 250)
			if r, err := c.read(); err != nil || r.Code != 421 || r.Status != "4.4.2" {
				t.Fatalf("NOOP sent as the idle wait ran out: %+v, %v; want the idle reply", r, err)
			}
		})
	}
}

// An IdleReply whose time is the read timeout's (5 minutes, a common
// value for both) is the one that ends the idle session, every time: the
// fault the test declared, not the engine's own 421, as when its time is
// shorter. (Before, the two ran out at the same instant, and which reply
// the client got, and how the session ended, was the runtime's choice.)
func TestIdleReplyAsLongAsTheReadTimeout(t *testing.T) {
	for range 300 { // before, each missed it about one time in two
		synctest.Test(t, func(t *testing.T) {
			srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(
				mocksmtp.At(mocksmtp.StageHelo).IdleReply(5*time.Minute, 421, "4.4.2 idle too long"),
			))
			c := dialBubble(t, srv)
			c.must("", 220)
			c.must("EHLO client.example", 250)
			line, err := c.r.ReadString('\n')
			c.conn.Close()
			s := srv.WaitForSessions(t, 1)[0]
			if line != "421 4.4.2 idle too long\r\n" || err != nil || s.Ended != mocksmtp.EndServerClosed {
				t.Fatalf("after 5m idle: %q, %v, session ended %v; want the fault's 421, the server closing", line, err, s.Ended)
			}
		})
	}
}

// Idle is the client's silence: a Delay at StageMessage, the server's own
// time before the reply to BDAT LAST, does not count in the time of an
// IdleReply at StageBdat, which goes on after that reply. It did: with a
// delay as long as the idle time, the client got its 250 and at once the
// 421, never idle; here it gets the 421 a minute after its chunk less the
// time it took the server to answer, and a NOOP just before is answered.
func TestIdleReplyAtBdatLastAfterADelayedReply(t *testing.T) {
	for _, tt := range []struct {
		name  string
		chunk time.Duration // how long the client takes to send the chunk
		delay time.Duration // the Delay at StageMessage
		noop  bool          // the client sends NOOP just before the idle time runs out
	}{
		{"delay longer than the idle time", 0, 2 * time.Minute, false},
		{"delay as long as the idle time", 0, time.Minute, false},
		{"slow chunk, then a delay", 50 * time.Second, 30 * time.Second, false},
		{"a NOOP before the idle time runs out", 0, 2 * time.Minute, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(
					mocksmtp.At(mocksmtp.StageBdat).IdleReply(time.Minute, 421, "4.4.2 idle too long"),
					mocksmtp.At(mocksmtp.StageMessage).Delay(tt.delay),
				))
				c := dialBubble(t, srv)
				c.must("", 220)
				c.must("EHLO client.example", 250)
				c.must("MAIL FROM:<app@example.com>", 250)
				c.must("RCPT TO:<bob@example.com>", 250)
				start := time.Now()
				_, _ = io.WriteString(c.conn, "BDAT 10 LAST\r\nhello")
				time.Sleep(tt.chunk)
				_, _ = io.WriteString(c.conn, "world")
				c.must("", 250)
				replied := time.Now()
				if took := replied.Sub(start); took != tt.chunk+tt.delay {
					t.Errorf("the message's 250 came %v after the BDAT command, want %v", took, tt.chunk+tt.delay)
				}
				idle := time.Minute - tt.chunk // what is left of the idle time after the chunk
				if tt.noop {
					time.Sleep(idle - time.Second)
					c.must("NOOP", 250)
					c.must("QUIT", 221)
					return
				}
				r, err := c.read()
				if took := time.Since(replied); err != nil || r.Code != 421 || r.Status != "4.4.2" || took != idle {
					t.Fatalf("after the message's 250: %+v, %v after %v; want the idle reply after %v of the client's silence", r, err, took, idle)
				}
				c.expectClosed()
			})
		})
	}
}

// The time of an IdleReply is the client's silence: it counts from when
// the server has written its whole reply and waits for the client, not
// from when it began: a reply that a fault paces (Trickle, SplitReply)
// and the server's work on a message (a slow WithOnMessage, as DKIM
// checks or a MIME parse would be) are the server's time, during which
// the client waits for the reply and is not idle.
func TestIdleReplyCountsFromTheEndOfTheReply(t *testing.T) {
	const idle = time.Minute
	idleReply := func(st mocksmtp.Stage) mocksmtp.Fault {
		return mocksmtp.At(st).IdleReply(idle, 421, "4.4.2 idle too long")
	}
	toMail := func(c *faultConn) {
		c.must("", 220)
		c.must("EHLO client.example", 250)
	}
	toRcpt := func(c *faultConn) {
		toMail(c)
		c.must("MAIL FROM:<app@example.com>", 250)
		c.must("RCPT TO:<bob@example.com>", 250)
	}
	for _, tt := range []struct {
		name   string
		opts   []mocksmtp.Option
		faults []mocksmtp.Fault
		// run plays the client up to the reply after which it stays
		// silent, which it reads.
		run  func(c *faultConn)
		noop bool // the client sends NOOP just before the idle time runs out
	}{
		{
			name:   "trickled reply to MAIL",
			faults: []mocksmtp.Fault{idleReply(mocksmtp.StageMail).Trickle(1, 10*time.Second)},
			run:    func(c *faultConn) { toMail(c); c.must("MAIL FROM:<app@example.com>", 250) },
		},
		{
			name:   "trickled reply to MAIL, then a NOOP in time",
			faults: []mocksmtp.Fault{idleReply(mocksmtp.StageMail).Trickle(1, 10*time.Second)},
			run:    func(c *faultConn) { toMail(c); c.must("MAIL FROM:<app@example.com>", 250) },
			noop:   true,
		},
		{
			name:   "split reply to MAIL, its pause longer than the idle time",
			faults: []mocksmtp.Fault{idleReply(mocksmtp.StageMail).SplitReply(3, 2*idle)},
			run:    func(c *faultConn) { toMail(c); c.must("MAIL FROM:<app@example.com>", 250) },
		},
		{
			name:   "trickled 354",
			faults: []mocksmtp.Fault{idleReply(mocksmtp.StageData).Trickle(1, 10*time.Second)},
			run:    func(c *faultConn) { toRcpt(c); c.must("DATA", 354) },
		},
		{
			name:   "trickled reply to a BDAT chunk",
			faults: []mocksmtp.Fault{idleReply(mocksmtp.StageBdat).Trickle(1, 10*time.Second)},
			run: func(c *faultConn) {
				toRcpt(c)
				_, _ = io.WriteString(c.conn, "BDAT 5\r\nhello")
				c.must("", 250)
			},
		},
		{
			name: "trickled reply to BDAT LAST",
			faults: []mocksmtp.Fault{
				idleReply(mocksmtp.StageBdat),
				mocksmtp.At(mocksmtp.StageMessage).Trickle(1, 10*time.Second),
			},
			run: func(c *faultConn) {
				toRcpt(c)
				_, _ = io.WriteString(c.conn, "BDAT 5 LAST\r\nhello")
				c.must("", 250)
			},
		},
		{
			name: "trickled reply to BDAT LAST, then a NOOP in time",
			faults: []mocksmtp.Fault{
				idleReply(mocksmtp.StageBdat),
				mocksmtp.At(mocksmtp.StageMessage).Trickle(1, 10*time.Second),
			},
			run: func(c *faultConn) {
				toRcpt(c)
				_, _ = io.WriteString(c.conn, "BDAT 5 LAST\r\nhello")
				c.must("", 250)
			},
			noop: true,
		},
		{
			name:   "slow work on the message before the reply to BDAT LAST",
			opts:   []mocksmtp.Option{mocksmtp.WithOnMessage(func(*mocksmtp.Message) { time.Sleep(2 * idle) })},
			faults: []mocksmtp.Fault{idleReply(mocksmtp.StageBdat)},
			run: func(c *faultConn) {
				toRcpt(c)
				_, _ = io.WriteString(c.conn, "BDAT 5 LAST\r\nhello")
				c.must("", 250)
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				opts := append([]mocksmtp.Option{mocksmtp.WithInMemory(), mocksmtp.WithFault(tt.faults...)}, tt.opts...)
				srv := mocksmtp.Start(t, opts...)
				c := dialBubble(t, srv)
				tt.run(c)
				replied := time.Now()
				if tt.noop {
					time.Sleep(idle - time.Second)
					c.must("NOOP", 250)
					c.must("QUIT", 221)
					return
				}
				r, err := c.read()
				if took := time.Since(replied); err != nil || r.Code != 421 || r.Status != "4.4.2" || took != idle {
					t.Fatalf("after the reply: %+v, %v after %v; want the idle reply after %v of the client's silence", r, err, took, idle)
				}
				c.expectClosed()
			})
		})
	}
}

// An IdleReply as long as the read timeout still wins over it after a
// paced reply: both begin as the server has written the reply, and the
// fault's reply, not the read timeout's, ends the session.
func TestIdleReplyAtTheReadTimeoutAfterAPacedReply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithReadTimeout(time.Minute), mocksmtp.WithFault(
			mocksmtp.At(mocksmtp.StageMail).Trickle(1, 10*time.Second).IdleReply(time.Minute, 421, "4.4.2 the fault's idle reply"),
		))
		c := dialBubble(t, srv)
		c.must("", 220)
		c.must("EHLO client.example", 250)
		c.must("MAIL FROM:<app@example.com>", 250)
		replied := time.Now()
		line, err := c.r.ReadString('\n')
		if took := time.Since(replied); err != nil || line != "421 4.4.2 the fault's idle reply\r\n" || took != time.Minute {
			t.Fatalf("after the trickled 250: %q, %v after %v; want the fault's idle reply after 1m0s", line, err, took)
		}
		c.expectClosed()
	})
}
