package mocksmtp_test

import (
	"fmt"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/internal/clock"
)

// replyClock is a clock that a test of the scenarios' times runs on:
// the frozen clock of the mocksmtp program (internal/clock) over TCP,
// which only the test's moves move, or a testing/synctest bubble's
// with WithInMemory. Both are exact: a boundary of 5m-1ns is one.
type replyClock struct {
	t   *testing.T
	clk *clock.Clock // frozen; nil in a bubble
}

// onReplyClocks runs test on each replyClock, each in its own subtest.
func onReplyClocks(t *testing.T, test func(rc *replyClock)) {
	t.Run("tcp frozen clock", func(t *testing.T) {
		t.Parallel()
		test(&replyClock{t: t, clk: clock.NewFrozen()})
	})
	t.Run("memory synctest", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) { test(&replyClock{t: t}) })
	})
}

func (rc *replyClock) start(faults ...mocksmtp.Fault) *mocksmtp.Server {
	rc.t.Helper()
	if rc.clk != nil {
		return mocksmtp.Start(rc.t, mocksmtp.WithFault(faults...), clockOption{clock: rc.clk})
	}
	return mocksmtp.Start(rc.t, mocksmtp.WithInMemory(), mocksmtp.WithFault(faults...))
}

func (rc *replyClock) now() time.Time {
	if rc.clk != nil {
		return rc.clk.Now()
	}
	return time.Now()
}

// sleep lets d go by, if any: a move of the frozen clock, a sleep in
// the bubble.
func (rc *replyClock) sleep(d time.Duration) {
	rc.t.Helper()
	switch {
	case d <= 0:
		return
	case rc.clk == nil:
		time.Sleep(d)
		return
	}
	if _, _, _, err := rc.clk.Advance(d); err != nil {
		rc.t.Fatalf("advance: %v", err)
	}
}

// dial connects to srv and reads the greeting, EHLO's reply and, unless
// from is "", MAIL's.
func (rc *replyClock) dial(srv *mocksmtp.Server, from string) *clockConn {
	rc.t.Helper()
	var c *clockConn
	if rc.clk != nil {
		c = dialOnClock(rc.t, srv, rc.clk)
	} else {
		c = &clockConn{faultConn: dialBubble(rc.t, srv)}
	}
	c.must("", 220)
	c.must("EHLO client.example", 250)
	if from != "" {
		c.must("MAIL FROM:<"+from+">", 250)
	}
	return c
}

// timed sends cmd and reads its reply, letting the server's waits go by:
// it returns the reply and how long the server made the client wait.
func (rc *replyClock) timed(c *clockConn, cmd string) (faultReply, time.Duration) {
	rc.t.Helper()
	if rc.clk != nil {
		return rc.timedOnClock(c, cmd)
	}
	start := time.Now()
	r, err := c.cmd(cmd)
	if err != nil {
		rc.t.Fatalf("%q: %v", cmd, err)
	}
	return r, time.Since(start)
}

// timedOnClock is timed on the frozen clock: it moves the clock to the
// end of each wait on it, one move per wait, until the reply comes.
func (rc *replyClock) timedOnClock(c *clockConn, cmd string) (faultReply, time.Duration) {
	rc.t.Helper()
	c.send(cmd)
	type read struct {
		r   faultReply
		err error
	}
	got := make(chan read, 1)
	go func() {
		r, err := c.read()
		got <- read{r, err}
	}()
	var waited time.Duration
	for {
		waited += rc.passWaits()
		select {
		case r := <-got:
			if r.err != nil {
				rc.t.Fatalf("%q: %v", cmd, r.err)
			}
			return r.r, waited
		case <-c.changed:
		}
	}
}

// passWaits moves the frozen clock to the end of each wait on it, one
// move per wait, until none is left, and returns how far it moved.
func (rc *replyClock) passWaits() time.Duration {
	rc.t.Helper()
	var moved time.Duration
	for {
		waits, _, now := rc.clk.WaitList()
		if len(waits) == 0 {
			return moved
		}
		by := waits[0].End.Sub(now)
		if _, _, _, err := rc.clk.Advance(by); err != nil {
			rc.t.Fatalf("advance: %v", err)
		}
		moved += by
	}
}

// waitForTheDelay returns once the server waits out the delay of the
// command just sent (the only wait on the clock).
func (rc *replyClock) waitForTheDelay(srv *mocksmtp.Server) {
	rc.t.Helper()
	if rc.clk == nil {
		synctest.Wait()
		return
	}
	srv.WaitUntil(rc.t, "the delay to begin", func() bool { return rc.clk.Waits() == 1 })
}

// edge is a side of a scenario's limit of 5m: a command that comes after
// since the reply the limit counts from meets code.
type edge struct {
	after time.Duration
	code  int
}

// edges are the two sides of a limit of 5m: 5m-1ns after, it holds
// (451); 5m after, it is gone (250).
var edges = []edge{{5*time.Minute - time.Nanosecond, 451}, {5 * time.Minute, 250}}

// wait is how long a command that meets e waits for its reply: refusal
// (the delay of the scenario's 451) if it is refused, nothing if not.
func (e edge) wait(refusal time.Duration) time.Duration {
	if e.code == 451 {
		return refusal
	}
	return 0
}

// onEdges runs test on each replyClock for each of the edges, each in
// its own subtest.
func onEdges(t *testing.T, test func(rc *replyClock, e edge)) {
	for _, e := range edges {
		t.Run(e.after.String(), func(t *testing.T) {
			t.Parallel()
			onReplyClocks(t, func(rc *replyClock) { test(rc, e) })
		})
	}
}

// probe sends cmd on a new connection (after MAIL FROM from, unless
// from is ""), and quits: the reply must be code after a wait of wait.
// what names when it comes, in the error.
func (rc *replyClock) probe(srv *mocksmtp.Server, from, cmd, what string, code int, wait time.Duration) {
	rc.t.Helper()
	c := rc.dial(srv, from)
	if r, waited := rc.timed(c, cmd); r.Code != code || waited != wait {
		rc.t.Errorf("%q %s: %d after %v, want %d after %v", cmd, what, r.Code, waited, code, wait)
	}
	c.must("QUIT", 221)
}

// probeEdges probes, at each of the edges after told (since, in the
// error), that cmd meets the edge's code at once.
func (rc *replyClock) probeEdges(srv *mocksmtp.Server, told time.Time, since, from, cmd string) {
	rc.t.Helper()
	for _, e := range edges {
		rc.sleep(told.Add(e.after).Sub(rc.now()))
		rc.probe(srv, from, cmd, e.after.String()+" after "+since, e.code, 0)
	}
}

// twoAtOnce starts two clients that send cmd (after MAIL FROM from,
// unless from is "") 30s apart, the first's reply held by a delay: the
// second's must be 451. It returns both, the first's reply unread.
func (rc *replyClock) twoAtOnce(srv *mocksmtp.Server, from, cmd string) (slow, fast *clockConn) {
	rc.t.Helper()
	slow = rc.dial(srv, from)
	slow.send(cmd)
	rc.waitForTheDelay(srv)
	rc.sleep(30 * time.Second)
	fast = rc.dial(srv, from)
	// Not timed: the clock must not move past the first's delay.
	if r, err := fast.cmd(cmd); err != nil || r.Code != 451 {
		rc.t.Fatalf("%q of a second client, 30s into the first's delay: %+v, %v, want 451", cmd, r, err)
	}
	return slow, fast
}

// GreylistFor's wait starts when the client is told 451, after the
// delays that apply to its RCPT: a delay before it in the script, or
// one of its own, or the pause of a pace before it. A retry that comes 5m-1ns after the client read its
// 451 is refused, one at 5m passes. It started at the RCPT's arrival:
// with a delay of 1m before the 451, the retry 4m after it passed.
func TestGreylistForCountsFromThe451(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		faults []mocksmtp.Fault
		// retryWaits is how long the retry waits for a 451.
		retryWaits time.Duration
	}{{
		name: "a delay before it",
		faults: []mocksmtp.Fault{
			mocksmtp.At(mocksmtp.StageRcpt).OnAttempt(1).Delay(time.Minute),
			mocksmtp.GreylistFor(5 * time.Minute),
		},
	}, {
		name:       "a delay of its own",
		faults:     []mocksmtp.Fault{mocksmtp.GreylistFor(5 * time.Minute).Delay(time.Minute)},
		retryWaits: time.Minute,
	}, {
		// The client read the 451 once its last part came, a minute
		// after its first.
		name: "a pace before it",
		faults: []mocksmtp.Fault{
			mocksmtp.At(mocksmtp.StageRcpt).OnAttempt(1).SplitReply(3, time.Minute),
			mocksmtp.GreylistFor(5 * time.Minute),
		},
	}, {
		name: "delays before it at the stage before and at its own",
		faults: []mocksmtp.Fault{
			mocksmtp.At(mocksmtp.StageMail).OnAttempt(1).Delay(10 * time.Second), // another command's
			mocksmtp.At(mocksmtp.StageRcpt).OnAttempt(1).Delay(30 * time.Second),
			mocksmtp.GreylistFor(5 * time.Minute).Delay(30 * time.Second),
		},
		retryWaits: 30 * time.Second,
	}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			onEdges(t, func(rc *replyClock, retry edge) { // after the 451 went out
				srv := rc.start(tt.faults...)
				c := rc.dial(srv, "")
				if r, _ := rc.timed(c, "MAIL FROM:<app@example.com>"); r.Code != 250 {
					rc.t.Fatalf("first MAIL: %d, want 250", r.Code)
				}
				if r, waited := rc.timed(c, "RCPT TO:<bob@example.com>"); r.Code != 451 || waited != time.Minute {
					rc.t.Fatalf("first RCPT: %d after %v, want 451 after 1m", r.Code, waited)
				}
				told := rc.now()
				c.must("QUIT", 221)
				srv.WaitForSessionEnd(rc.t, 1)
				rc.sleep(retry.after)
				if got := rc.now().Sub(told); got != retry.after {
					rc.t.Fatalf("the retry comes %v after the 451, want %v", got, retry.after)
				}
				rc.probe(srv, "app@example.com", "RCPT TO:<bob@example.com>", retry.after.String()+" after the 451", retry.code, retry.wait(tt.retryWaits))
			})
		})
	}
}

// A client that leaves while the server delays its RCPT was never told
// 451: its pair is not greylisted, and the next connection's RCPT is
// the pair's first refusal, from whose 451 the wait starts. It was
// recorded as refused at the RCPT's arrival: a retry after the wait
// passed, greylisting never seen by the client.
func TestGreylistClientGoneInTheDelayWasNotGreylisted(t *testing.T) {
	t.Parallel()
	for _, wait := range []time.Duration{0, 5 * time.Minute} {
		for _, leave := range []struct {
			name string
			do   func(c *clockConn)
		}{
			{"drops", func(c *clockConn) { c.conn.Close() }},
			{"quits", func(c *clockConn) { c.send("QUIT"); c.conn.Close() }},
		} {
			t.Run(leave.name+" greylist for "+wait.String(), func(t *testing.T) {
				t.Parallel()
				onReplyClocks(t, func(rc *replyClock) {
					srv := rc.start(
						mocksmtp.At(mocksmtp.StageRcpt).OnAttempt(1).Delay(time.Minute),
						mocksmtp.GreylistFor(wait))
					c := rc.dial(srv, "app@example.com")
					c.send("RCPT TO:<bob@example.com>")
					rc.waitForTheDelay(srv)
					leave.do(c)
					srv.WaitForSessionEnd(rc.t, 1)
					rc.sleep(wait + time.Hour)
					for i, want := range []int{451, 250} {
						rc.probe(srv, "app@example.com", "RCPT TO:<bob@example.com>", fmt.Sprintf("on connection %d", i+2), want, 0)
						rc.sleep(wait)
					}
				})
			})
		}
	}
}

// A client that leaves in the middle of a paced 451 (a pace of a fault
// before Greylist) read a part of it, and was not told 451, as a client
// that leaves before a paced 235 is not authenticated: its pair is not
// greylisted, and the next connection's RCPT is the pair's first
// refusal. It was greylisted as the 451 began to go out: the next
// connection passed, greylisting never seen by the client.
func TestGreylistClientGoneInThePacedReplyWasNotGreylisted(t *testing.T) {
	t.Parallel()
	for _, pace := range []struct {
		name  string
		fault mocksmtp.Fault
		read  int // octets of the 451 the client reads before it leaves
	}{
		{"trickle", mocksmtp.At(mocksmtp.StageRcpt).OnAttempt(1).Trickle(1, time.Hour), 1},
		{"split", mocksmtp.At(mocksmtp.StageRcpt).OnAttempt(1).SplitReply(3, time.Hour), 3},
	} {
		t.Run(pace.name, func(t *testing.T) {
			t.Parallel()
			onReplyClocks(t, func(rc *replyClock) {
				srv := rc.start(pace.fault, mocksmtp.Greylist())
				c := rc.dial(srv, "app@example.com")
				c.send("RCPT TO:<bob@example.com>")
				b := make([]byte, pace.read)
				if _, err := io.ReadFull(c.r, b); err != nil || string(b) != "451"[:pace.read] {
					rc.t.Fatalf("the first part of the 451: %q, %v", b, err)
				}
				c.conn.Close()
				srv.WaitForSessionEnd(rc.t, 1)
				for i, want := range []int{451, 250} {
					c := rc.dial(srv, "app@example.com")
					if r, waited := rc.timed(c, "RCPT TO:<bob@example.com>"); r.Code != want || waited != 0 {
						rc.t.Errorf("connection %d: RCPT %d after %v, want %d at once", i+2, r.Code, waited, want)
					}
					c.must("QUIT", 221)
				}
			})
		})
	}
}

// RateLimitPer counts a transaction from when its 250 went out, after
// the delays of the faults that fired for its MAIL (before it in the
// script, or after it), and times a MAIL by its arrival: one that comes
// 5m-1ns after the client read the 250 is refused, one at 5m passes.
// The transaction counted from its MAIL's arrival: with a delay of 1m
// on the 250, a MAIL 4m after it passed.
func TestRateLimitPerCountsFromThe250(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		faults []mocksmtp.Fault
		// refusalWaits is how long a MAIL waits for the limit's 451.
		refusalWaits time.Duration
	}{{
		name: "a delay before it",
		faults: []mocksmtp.Fault{
			mocksmtp.At(mocksmtp.StageMail).OnAttempt(1).Delay(time.Minute),
			mocksmtp.RateLimitPer(1, 5*time.Minute),
		},
	}, {
		name: "a delay after it",
		faults: []mocksmtp.Fault{
			mocksmtp.RateLimitPer(1, 5*time.Minute),
			mocksmtp.At(mocksmtp.StageMail).OnAttempt(1).Delay(time.Minute),
		},
	}, {
		name: "delays before and after it",
		faults: []mocksmtp.Fault{
			mocksmtp.At(mocksmtp.StageMail).OnAttempt(1).Delay(20 * time.Second),
			mocksmtp.RateLimitPer(1, 5*time.Minute).Delay(10 * time.Second), // its 451's only
			mocksmtp.At(mocksmtp.StageMail).OnAttempt(1).Delay(40 * time.Second),
		},
		refusalWaits: 10 * time.Second,
	}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			onEdges(t, func(rc *replyClock, next edge) { // after the 250 went out
				srv := rc.start(tt.faults...)
				c := rc.dial(srv, "")
				if r, waited := rc.timed(c, "MAIL FROM:<app@example.com>"); r.Code != 250 || waited != time.Minute {
					rc.t.Fatalf("first MAIL: %d after %v, want 250 after 1m", r.Code, waited)
				}
				c.must("QUIT", 221)
				srv.WaitForSessionEnd(rc.t, 1)
				rc.sleep(next.after)
				rc.probe(srv, "", "MAIL FROM:<app@example.com>", next.after.String()+" after the 250", next.code, next.wait(tt.refusalWaits))
			})
		})
	}
}

// Two clients refused for one pair at once, each after its own delays:
// the pair's wait starts at the first 451 that went out, which may be
// the later RCPT's, and the other 451 does not restart it.
func TestGreylistForTwoClientsAtOnceTheFirst451Counts(t *testing.T) {
	t.Parallel()
	onReplyClocks(t, func(rc *replyClock) {
		srv := rc.start(
			mocksmtp.At(mocksmtp.StageRcpt).OnAttempt(1).Delay(time.Minute),
			mocksmtp.GreylistFor(5*time.Minute))
		slow, fast := rc.twoAtOnce(srv, "app@example.com", "RCPT TO:<bob@example.com>")
		told := rc.now()
		fast.must("QUIT", 221)
		rc.sleep(30 * time.Second)
		if r, err := slow.read(); err != nil || r.Code != 451 {
			rc.t.Fatalf("the first client's RCPT after its delay: %+v, %v, want 451", r, err)
		}
		slow.must("QUIT", 221)
		srv.WaitForSessions(rc.t, 2)
		rc.probeEdges(srv, told, "the first 451", "app@example.com", "RCPT TO:<bob@example.com>")
	})
}

// A MAIL FROM that RateLimitPer let through holds its place while its
// 250 is pending (a delay after the limit), and counts from when the 250
// went out: another client's MAIL meanwhile is refused, and the room
// comes back interval after that 250.
func TestRateLimitPerPendingMailHoldsItsPlace(t *testing.T) {
	t.Parallel()
	onReplyClocks(t, func(rc *replyClock) {
		srv := rc.start(
			mocksmtp.RateLimitPer(1, 5*time.Minute),
			mocksmtp.At(mocksmtp.StageMail).OnAttempt(1).Delay(time.Minute))
		slow, other := rc.twoAtOnce(srv, "", "MAIL FROM:<app@example.com>")
		other.must("QUIT", 221)
		rc.sleep(30 * time.Second)
		if r, err := slow.read(); err != nil || r.Code != 250 {
			rc.t.Fatalf("the first MAIL after its delay: %+v, %v, want 250", r, err)
		}
		told := rc.now()
		slow.must("QUIT", 221)
		srv.WaitForSessions(rc.t, 2)
		rc.probeEdges(srv, told, "the 250", "", "MAIL FROM:<app@example.com>")
	})
}

// A command pipelined behind a delayed one is timed as the server times
// its delay, from the session's time: after one move of 2h past the
// delays of 1h of the command before it and of its own, its reply went
// out at 2h (as in a bubble), and what the scenario keeps counts from
// there: 5m-1ns after it the limit holds, 5m after it it is gone. It was
// timed by the clock read after the move, 2h, and kept as gone out at
// 3h, an hour after the client read it: 5m after it the retry was
// refused still.
func TestScenarioTimesAPipelinedCommandAsItsDelay(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		faults    []mocksmtp.Fault
		pipelined string // the delayed command and the scenario's, in one write
		replies   [2]int
		from      string // the MAIL FROM of a later connection before probe
		probe     string // meets the scenario's limit while it holds
	}{{
		name: "greylistFor",
		faults: []mocksmtp.Fault{
			mocksmtp.At(mocksmtp.StageMail).OnAttempt(1).Delay(time.Hour),
			mocksmtp.At(mocksmtp.StageRcpt).OnAttempt(1).Delay(time.Hour),
			mocksmtp.GreylistFor(5 * time.Minute),
		},
		pipelined: "MAIL FROM:<app@example.com>\r\nRCPT TO:<bob@example.com>",
		replies:   [2]int{250, 451},
		from:      "app@example.com",
		probe:     "RCPT TO:<bob@example.com>",
	}, {
		name: "rateLimitPer",
		faults: []mocksmtp.Fault{
			mocksmtp.At(mocksmtp.StageRset).OnAttempt(1).Delay(time.Hour),
			mocksmtp.RateLimitPer(1, 5*time.Minute),
			mocksmtp.At(mocksmtp.StageMail).OnAttempt(1).Delay(time.Hour),
		},
		pipelined: "RSET\r\nMAIL FROM:<app@example.com>",
		replies:   [2]int{250, 250},
		probe:     "MAIL FROM:<app@example.com>",
	}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			onReplyClocks(t, func(rc *replyClock) {
				srv := rc.start(tt.faults...)
				start := rc.now()
				c := rc.dial(srv, "")
				c.send(tt.pipelined)
				rc.waitForTheDelay(srv)
				rc.sleep(2 * time.Hour)
				_ = c.conn.SetDeadline(time.Now().Add(10 * time.Second)) // in the bubble, 2h past its first
				c.must("", tt.replies[0])
				c.must("", tt.replies[1])
				told := rc.now()
				if got := told.Sub(start); got != 2*time.Hour {
					rc.t.Fatalf("the replies came %v after the commands, want 2h", got)
				}
				c.must("QUIT", 221)
				srv.WaitForSessionEnd(rc.t, 1)
				rc.probeEdges(srv, told, "the reply to the pipelined one", tt.from, tt.probe)
			})
		})
	}
}

// The replies to pipelined commands go out together, once the server
// has answered the last of them and waits for the client: a reply that
// a later command's delay held back counts from then, when the client
// read it. A retry 5m-1ns after the client read it meets the limit
// still, one at 5m does not. It counted from the end of its own delays,
// a minute before it went out: the retry 5m-1ns after it passed.
func TestScenarioCountsAPipelinedReplyFromWhenItWentOut(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		faults    []mocksmtp.Fault
		from      string // the MAIL FROM before pipelined
		pipelined string // the scenario's command, then one a delay holds
		replies   [2]int
		probe     string // on a later connection, after from
	}{{
		name: "greylistFor",
		faults: []mocksmtp.Fault{
			mocksmtp.At(mocksmtp.StageRcpt).ForRcpt("carol@example.com").Delay(time.Minute),
			mocksmtp.GreylistFor(5 * time.Minute),
		},
		from:      "app@example.com",
		pipelined: "RCPT TO:<bob@example.com>\r\nRCPT TO:<carol@example.com>",
		replies:   [2]int{451, 451},
		probe:     "RCPT TO:<bob@example.com>",
	}, {
		name: "rateLimitPer",
		faults: []mocksmtp.Fault{
			mocksmtp.RateLimitPer(1, 5*time.Minute),
			mocksmtp.At(mocksmtp.StageRset).OnAttempt(1).Delay(time.Minute),
		},
		pipelined: "MAIL FROM:<app@example.com>\r\nRSET",
		replies:   [2]int{250, 250},
		probe:     "MAIL FROM:<app@example.com>",
	}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			onEdges(t, func(rc *replyClock, next edge) { // after the replies went out
				srv := rc.start(tt.faults...)
				c := rc.dial(srv, tt.from)
				if r, waited := rc.timed(c, tt.pipelined); r.Code != tt.replies[0] || waited != time.Minute {
					rc.t.Fatalf("the first of %q: %d after %v, want %d after 1m", tt.pipelined, r.Code, waited, tt.replies[0])
				}
				c.must("", tt.replies[1])
				told := rc.now()
				c.must("QUIT", 221)
				srv.WaitForSessionEnd(rc.t, 1)
				rc.sleep(next.after)
				if got := rc.now().Sub(told); got != next.after {
					rc.t.Errorf("the probe came %v after the replies, want %v", got, next.after)
				}
				rc.probe(srv, tt.from, tt.probe, next.after.String()+" after the replies went out", next.code, 0)
			})
		})
	}
}

// A client that leaves while the server delays a command it pipelined
// after the scenario's was never told the scenario's reply either: it
// waited in the server's buffer, behind the delay. Nothing is kept: the
// pair's next RCPT is refused as its first, the next MAIL is let
// through. It was kept once the command was answered: the pair was
// greylisted, the transaction counted.
func TestScenarioKeepsNothingOfAPipelinedReplyNeverWritten(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		faults    []mocksmtp.Fault
		from      string // the MAIL FROM before pipelined
		pipelined string // the scenario's command, then one a delay holds
		probe     string // on a later connection, after from
		want      int
	}{{
		name: "greylist",
		faults: []mocksmtp.Fault{
			mocksmtp.At(mocksmtp.StageRcpt).ForRcpt("carol@example.com").Delay(time.Minute),
			mocksmtp.Greylist(),
		},
		from:      "app@example.com",
		pipelined: "RCPT TO:<bob@example.com>\r\nRCPT TO:<carol@example.com>",
		probe:     "RCPT TO:<bob@example.com>",
		want:      451,
	}, {
		name: "rateLimitPer",
		faults: []mocksmtp.Fault{
			mocksmtp.RateLimitPer(1, time.Hour),
			mocksmtp.At(mocksmtp.StageRset).OnAttempt(1).Delay(time.Minute),
		},
		pipelined: "MAIL FROM:<app@example.com>\r\nRSET",
		probe:     "MAIL FROM:<app@example.com>",
		want:      250,
	}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			onReplyClocks(t, func(rc *replyClock) {
				srv := rc.start(tt.faults...)
				c := rc.dial(srv, tt.from)
				c.send(tt.pipelined)
				rc.waitForTheDelay(srv)
				c.conn.Close()
				srv.WaitForSessionEnd(rc.t, 1)
				rc.probe(srv, tt.from, tt.probe, "on the next connection", tt.want, 0)
			})
		})
	}
}

// A command pipelined behind a delayed one comes, as the server takes
// it, at the end of that delay, though one move of the clock went far
// past it: as in a bubble, where the same script gives the same answer.
// After a 451 (a 250) at 0, a RCPT (a MAIL) pipelined behind a delay of
// 1h comes at 1h, within the 90m of the scenario, after a move of 2h
// too. It was timed by the clock read after the move, 2h: past the 90m,
// it passed on the program's clock and was refused in the bubble.
func TestScenarioTimesAPipelinedCommandAtTheEndOfTheDelayBeforeIt(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		faults    []mocksmtp.Fault
		first     [2]string // the command the scenario meets first, and its MAIL FROM
		firstCode int
		pipelined string // a delayed command, then the scenario's
		replies   [2]int
	}{{
		name: "greylistFor",
		faults: []mocksmtp.Fault{
			mocksmtp.At(mocksmtp.StageMail).OnAttempt(2).Delay(time.Hour),
			mocksmtp.GreylistFor(90 * time.Minute),
		},
		first:     [2]string{"RCPT TO:<bob@example.com>", "app@example.com"},
		firstCode: 451,
		pipelined: "MAIL FROM:<app@example.com>\r\nRCPT TO:<bob@example.com>",
		replies:   [2]int{250, 451},
	}, {
		name: "rateLimitPer",
		faults: []mocksmtp.Fault{
			mocksmtp.At(mocksmtp.StageRset).OnAttempt(2).Delay(time.Hour),
			mocksmtp.RateLimitPer(1, 90*time.Minute),
		},
		first:     [2]string{"MAIL FROM:<app@example.com>", ""},
		firstCode: 250,
		pipelined: "RSET\r\nMAIL FROM:<app@example.com>",
		replies:   [2]int{250, 451},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			onReplyClocks(t, func(rc *replyClock) {
				srv := rc.start(tt.faults...)
				c := rc.dial(srv, tt.first[1])
				c.must(tt.first[0], tt.firstCode)
				c.must("QUIT", 221)
				c = rc.dial(srv, "")
				c.send(tt.pipelined)
				rc.waitForTheDelay(srv)
				past := time.Hour // in the bubble, to the delay's end
				if rc.clk != nil {
					past = 2 * time.Hour // one move, far past it
				}
				rc.sleep(past)
				_ = c.conn.SetDeadline(time.Now().Add(10 * time.Second)) // in the bubble, an hour past its first
				c.must("", tt.replies[0])
				c.must("", tt.replies[1])
				c.must("QUIT", 221)
			})
		})
	}
}

// Of two clients told a pair's 451 at once (the first's reply held by
// a delay, the second's sent meanwhile), neither passes by retrying on
// its own connection: Greylist refuses a retry on the connection that
// was told 451, whichever 451 went out first; a new connection passes.
func TestGreylistTwoClientsAtOnceEachRefusedAgainOnItsConnection(t *testing.T) {
	t.Parallel()
	onReplyClocks(t, func(rc *replyClock) {
		srv := rc.start(
			mocksmtp.At(mocksmtp.StageRcpt).OnAttempt(1).AtMost(1).Delay(time.Minute),
			mocksmtp.Greylist())
		slow, fast := rc.twoAtOnce(srv, "app@example.com", "RCPT TO:<bob@example.com>")
		if r, err := fast.cmd("RCPT TO:<bob@example.com>"); err != nil || r.Code != 451 {
			rc.t.Errorf("the second client's retry on its connection: %+v, %v, want 451", r, err)
		}
		fast.must("QUIT", 221)
		rc.sleep(30 * time.Second)
		if r, err := slow.read(); err != nil || r.Code != 451 {
			rc.t.Fatalf("the first client's RCPT after its delay: %+v, %v, want 451", r, err)
		}
		if r, err := slow.cmd("RCPT TO:<bob@example.com>"); err != nil || r.Code != 451 {
			rc.t.Errorf("the first client's retry on its connection: %+v, %v, want 451", r, err)
		}
		slow.must("QUIT", 221)
		srv.WaitForSessions(rc.t, 2)
		c := rc.dial(srv, "app@example.com")
		if r, err := c.cmd("RCPT TO:<bob@example.com>"); err != nil || r.Code != 250 {
			rc.t.Errorf("a new connection's RCPT: %+v, %v, want 250", r, err)
		}
		c.must("QUIT", 221)
	})
}

// GreylistFor(d) refuses, during the wait, a RCPT on a connection that
// came after the pair's first 451: that connection was told the pair's
// 451 too, and a retry on it once the wait is over is refused again, as
// on the first's; a new connection passes.
func TestGreylistForRefusedDuringTheWaitRefusedAgainOnItsConnection(t *testing.T) {
	t.Parallel()
	onReplyClocks(t, func(rc *replyClock) {
		srv := rc.start(mocksmtp.GreylistFor(time.Minute))
		first := rc.dial(srv, "app@example.com")
		first.must("RCPT TO:<bob@example.com>", 451)
		rc.sleep(time.Second)
		during := rc.dial(srv, "app@example.com")
		during.must("RCPT TO:<bob@example.com>", 451)
		rc.sleep(time.Minute)
		if r, err := during.cmd("RCPT TO:<bob@example.com>"); err != nil || r.Code != 451 {
			rc.t.Errorf("a retry, after the wait, on the connection refused during it: %+v, %v, want 451", r, err)
		}
		if r, err := first.cmd("RCPT TO:<bob@example.com>"); err != nil || r.Code != 451 {
			rc.t.Errorf("a retry, after the wait, on the first connection: %+v, %v, want 451", r, err)
		}
		first.must("QUIT", 221)
		during.must("QUIT", 221)
		srv.WaitForSessions(rc.t, 2)
		c := rc.dial(srv, "app@example.com")
		c.must("RCPT TO:<bob@example.com>", 250)
		c.must("QUIT", 221)
	})
}
