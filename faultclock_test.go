package mocksmtp_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/internal/clock"
)

// clockOption gives a server a clock the test moves ahead, as the
// mocksmtp program's clockOption does (a clock.Carrier).
type clockOption struct {
	mocksmtp.Option
	clock *clock.Clock
}

func (o clockOption) FaultClock() *clock.Clock { return o.clock }

// A suite that moves the clock past a delay of the reply to BDAT LAST as
// soon as it sees the message recorded (before the delay began: it
// counts from the event's read) releases the 250 at once, and the delay
// does not count in the time of an idle reply armed at BDAT: the client
// that got its 250 is not idle yet, and its NOOP gets 250. The idle time
// was measured from a clock read after the message was recorded, after
// the move: the NOOP got the idle 421.
func TestClockMovedAsTheMessageIsRecordedEndsTheDelayNotTheIdleTime(t *testing.T) {
	t.Parallel()
	clk := clock.New()
	srv := mocksmtp.Start(t, clockOption{clock: clk},
		mocksmtp.WithFault(
			mocksmtp.At(mocksmtp.StageBdat).IdleReply(10*time.Minute, 421, "4.4.2 idle too long"),
			mocksmtp.At(mocksmtp.StageMessage).Delay(time.Hour)),
		// What a suite does on seeing the message (GET /api/messages).
		mocksmtp.WithOnMessage(func(*mocksmtp.Message) {
			if _, _, _, err := clk.Advance(time.Hour); err != nil {
				panic(err)
			}
		}))
	c := dialEHLO(t, srv.Addr())
	c.send("MAIL FROM:<app@example.com>\r\n")
	c.expect("250 2.1.0")
	c.send("RCPT TO:<bob@example.com>\r\n")
	c.expect("250 2.1.5")
	c.send("BDAT 7 LAST\r\nHello\r\n")
	c.expect("250 2.0.0")
	c.send("NOOP\r\n")
	c.expect("250 2.0.0")
}

// A Delay is the server's wait, on the program's clock as on the time
// package's: the server's work on the message before it (here a slow
// WithOnMessage callback, as the MIME parse of WithRejectNonconforming
// for a large message) does not shorten it. On the program's clock the
// delay counted from the event's read, so the work ate into it and the
// 250 came at once after the callback; the library waited the delay
// after it.
func TestClockDelayIsNotShortenedByTheServersWork(t *testing.T) {
	t.Parallel()
	const delay = 200 * time.Millisecond
	for _, tt := range []struct {
		name string
		opts []mocksmtp.Option
	}{
		{"time package's clock", nil},
		{"program's clock", []mocksmtp.Option{clockOption{clock: clock.New()}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			worked := make(chan time.Time, 1)
			srv := mocksmtp.Start(t, append(tt.opts,
				mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageMessage).Delay(delay)),
				// Work as long as the delay (real time: the server's
				// work takes real time on any clock).
				mocksmtp.WithOnMessage(func(*mocksmtp.Message) {
					<-time.After(delay)
					worked <- time.Now()
				}))...)
			c := dialEHLO(t, srv.Addr())
			c.send("MAIL FROM:<app@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n")
			c.expect("250 2.1.0")
			c.expect("250 2.1.5")
			c.expect("354 ")
			c.send("Subject: x\r\n\r\nbody\r\n.\r\n")
			c.expect("250 2.0.0")
			replied := time.Now()
			if got := replied.Sub(<-worked); got < delay {
				t.Errorf("the 250 came %v after the server's work ended, want the whole delay, %v, after it", got, delay)
			}
		})
	}
}

// A move of the program's clock shows in the transcript of every session
// live at the move, before what it ends: a delay of an hour that a move
// ended read as a server that answered in a few milliseconds. The note
// stays out of the normalized transcript, where its place would depend
// on when a suite moved the clock.
func TestClockMoveIsNotedInLiveTranscripts(t *testing.T) {
	t.Parallel()
	clk := clock.New()
	srv := mocksmtp.Start(t, clockOption{clock: clk},
		mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageMail).Delay(time.Hour)))
	ended := dialEHLO(t, srv.Addr())
	ended.send("QUIT\r\n")
	ended.expect("221 ")
	srv.WaitForSessionEnd(t, 1)
	c := dialEHLO(t, srv.Addr())
	c.send("MAIL FROM:<app@example.com>\r\n")
	srv.WaitUntil(t, "the delay's note", func() bool {
		return strings.Contains(srv.Session(2).Transcript.String(), "MAIL attempt 2 → delay 1h0m0s")
	})
	if _, _, _, err := clk.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	c.expect("250 2.1.0")
	c.send("QUIT\r\n")
	c.expect("221 ")
	live := srv.WaitForSessionEnd(t, 2)
	var got []string
	for _, l := range live.Transcript[len(live.Transcript)-6:] {
		got = append(got, l.String())
	}
	want := []string{
		"C: MAIL FROM:<app@example.com>",
		"*: fault faultclock_test.go:106: MAIL attempt 2 → delay 1h0m0s",
		"*: clock moved ahead 1h0m0s (1h0m0s in all)",
		"S: 250 2.1.0 Ok",
		"C: QUIT",
		"S: 221 2.0.0 Bye",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the transcript's last lines (-want +got):\n%s", diff)
	}
	if n := live.Normalized(); strings.Contains(n, "clock moved") || !strings.Contains(n, "*: fault faultclock_test.go:106: MAIL attempt 2 → delay 1h0m0s\nS: 250 2.1.0 Ok\n") {
		t.Errorf("normalized, with the note of the move:\n%s", n)
	}
	if s := srv.Session(1).Transcript.String(); strings.Contains(s, "clock moved") {
		t.Errorf("a session that had ended before the move notes it:\n%s", s)
	}
}

// A BDAT chunk sent with its command is pipelined too: the server, which
// reads it from what it had read, does not wait for the client, and one
// move past the delay of MAIL and that of the message sent with it ends
// both, as 2h in a synctest bubble do (all three replies come at 2h).
// The read of the chunk caught the session's time up with the clock, as
// if it had waited for the client: the move was spent, and the message's
// delay waited its hour.
func TestClockMovePastPipelinedDelaysEndsThemAllOverBdat(t *testing.T) {
	t.Parallel()
	clk := clock.New()
	srv := mocksmtp.Start(t, clockOption{clock: clk},
		mocksmtp.WithFault(
			mocksmtp.At(mocksmtp.StageMail).Delay(time.Hour),
			mocksmtp.At(mocksmtp.StageMessage).Delay(time.Hour)))
	c := dialEHLO(t, srv.Addr())
	c.send("MAIL FROM:<app@example.com>\r\nRCPT TO:<bob@example.com>\r\nBDAT 5 LAST\r\nhello")
	srv.WaitUntil(t, "the delay's note", func() bool {
		return strings.Contains(srv.Session(1).Transcript.String(), "MAIL attempt 1 → delay 1h0m0s")
	})
	if _, _, _, err := clk.Advance(2 * time.Hour); err != nil {
		t.Fatal(err)
	}
	c.expect("250 2.1.0")
	c.expect("250 2.1.5")
	c.expect("250 2.0.0")
}

// So a chunk sent with its BDAT LAST is read at once, without waiting
// for the client, and the idle time of the BDAT does not run out in its
// read: one move past the BDAT's delay and its idle time gets the 250,
// then the idle reply, as 11m in a synctest bubble do (the 250 at 1m,
// the 421 at 11m). The read of the chunk began the idle time before
// the move, which ended it at once: the client got the 421 instead of
// the 250 of its message.
func TestClockIdleTimeAtBdatGoesOnAfterAChunkSentWithIt(t *testing.T) {
	t.Parallel()
	clk := clock.New()
	srv := mocksmtp.Start(t, clockOption{clock: clk},
		mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageBdat).Delay(time.Minute).IdleReply(10*time.Minute, 421, "4.4.2 idle too long")))
	c := dialEHLO(t, srv.Addr())
	c.send("MAIL FROM:<app@example.com>\r\n")
	c.expect("250 2.1.0")
	c.send("RCPT TO:<bob@example.com>\r\n")
	c.expect("250 2.1.5")
	c.send("BDAT 5 LAST\r\nhello")
	srv.WaitUntil(t, "the delay's note", func() bool {
		return strings.Contains(srv.Session(1).Transcript.String(), "BDAT attempt 1 → delay 1m0s")
	})
	if _, _, _, err := clk.Advance(11 * time.Minute); err != nil {
		t.Fatal(err)
	}
	c.expect("250 2.0.0")
	c.expect("421 4.4.2 idle too long")
}

// The waits of the server on the program's clock, a delay and an idle
// reply's time, are the clock's waits in progress (clock.Clock.Waits,
// GET /api/wait/clock): a wait of the server for them (WaitUntil, which
// the program's wait is) wakes as they begin, not only at the next
// transcript line, and Close ends them, so that none counts once it has
// returned.
func TestClockWaitsAreTheServersAndEndAtClose(t *testing.T) {
	t.Parallel()
	clk := clock.New()
	srv, err := mocksmtp.New(clockOption{clock: clk},
		mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageMail).Delay(time.Hour),
			mocksmtp.At(mocksmtp.StageHelo).IdleReply(time.Hour, 421, "4.4.2 idle")))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	delayed := dialEHLO(t, srv.Addr())
	delayed.send("MAIL FROM:<app@example.com>\r\n")
	idle := dialRaw(t, srv.Addr())
	idle.expect("220 ")
	idle.send("HELO app.example\r\n")
	idle.expect("250 ")
	srv.WaitUntil(t, "the delay and the idle time on the clock", func() bool { return clk.Waits() == 2 })
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if n := clk.Waits(); n != 0 {
		t.Errorf("after Close: %d waits on the clock in progress, want 0", n)
	}
	delayed.expect("421 4.3.2")
	idle.expect("421 4.3.2")
}

// A rearm of the script (ReplaceFaults, ClearFaults, Reset) does away
// with the time of an IdleReply that fired before: the session is no
// longer closed at its end, and it stops at once, no longer a wait on
// the clock (the program's GET /api/wait/clock would return on it).
func TestClockRearmStopsTheIdleTimesItDoesAwayWith(t *testing.T) {
	t.Parallel()
	idle := mocksmtp.At(mocksmtp.StageHelo).IdleReply(time.Hour, 421, "4.4.2 idle")
	for name, rearm := range map[string]func(*mocksmtp.Server){
		"ReplaceFaults": func(s *mocksmtp.Server) { _ = s.ReplaceFaults(mocksmtp.At(mocksmtp.StageMail).Delay(time.Hour)) },
		"ClearFaults":   (*mocksmtp.Server).ClearFaults,
		"Reset":         (*mocksmtp.Server).Reset,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clk := clock.New()
			srv, err := mocksmtp.New(clockOption{clock: clk}, mocksmtp.WithFault(idle))
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			c := dialRaw(t, srv.Addr())
			c.expect("220 ")
			c.send("HELO app.example\r\n")
			c.expect("250 ")
			srv.WaitUntil(t, "the idle time on the clock", func() bool { return clk.Waits() == 1 })
			rearm(srv)
			if n := clk.Waits(); n != 0 {
				t.Errorf("after %s: %d waits on the clock, want 0", name, n)
			}
			if _, _, _, err := clk.Advance(2 * time.Hour); err != nil {
				t.Fatal(err)
			}
			c.send("NOOP\r\n")
			c.expect("250 ")
		})
	}
}
