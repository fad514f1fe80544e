package mocksmtp_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/internal/clock"
)

// A fault that only waits (a Delay and nothing else) decides nothing: the
// faults after it at its stage are consulted still, their delays add to
// its, and the first that answers decides. A user who slows a server down
// with a delay does not switch off the faults after it. Over TCP, on a
// clock the test moves (fake time): each reply comes with the wait, in the
// clock's time, that the server made the client wait for it.
func TestDelayDoesNotHideTheFaultsAfterIt(t *testing.T) {
	t.Parallel()
	at := func(st mocksmtp.Stage, where string) mocksmtp.Fault { return mocksmtp.At(st).DeclaredAt(where) }
	type step struct {
		cmd    string // "" for the greeting
		code   int
		waited time.Duration
	}
	for _, tt := range []struct {
		name   string
		faults []mocksmtp.Fault
		// conns are the connections made one after the other, each the
		// commands after its greeting; an empty first step (cmd "")
		// checks the greeting.
		conns [][]step
		// fired are the notes of each connection's session.
		fired [][]string
	}{{
		name: "a delay on attempt 1 does not hide RateLimitPer",
		faults: []mocksmtp.Fault{
			at(mocksmtp.StageMail, "delay").OnAttempt(1).Delay(10 * time.Second),
			mocksmtp.RateLimitPer(1, time.Minute).DeclaredAt("limit"),
		},
		conns: [][]step{{
			{"EHLO client.example", 250, 0},
			{"MAIL FROM:<app@example.com>", 250, 10 * time.Second},
			{"RSET", 250, 0},
			{"MAIL FROM:<app@example.com>", 451, 10 * time.Second},
		}},
		fired: [][]string{{
			"delay: MAIL attempt 1 → delay 10s",
			"delay: MAIL attempt 1 → delay 10s",
			"limit: MAIL attempt 1 → 451 4.7.1 Rate limit exceeded, try again later (rate limit)",
		}},
	}, {
		name: "a delay for every recipient does not hide a refusal of one",
		faults: []mocksmtp.Fault{
			at(mocksmtp.StageRcpt, "delay").Delay(time.Second),
			at(mocksmtp.StageRcpt, "refuse").ForRcpt("bob@example.com").Reply(550, "5.1.1 no such user"),
		},
		conns: [][]step{{
			{"EHLO client.example", 250, 0},
			{"MAIL FROM:<app@example.com>", 250, 0},
			{"RCPT TO:<bob@example.com>", 550, time.Second},
			{"RCPT TO:<carol@example.com>", 250, time.Second},
		}},
		fired: [][]string{{
			"delay: RCPT attempt 1 → delay 1s",
			"refuse: RCPT attempt 1 → 550 5.1.1 no such user",
			"delay: RCPT attempt 1 → delay 1s",
		}},
	}, {
		name: "two delays at one stage add",
		faults: []mocksmtp.Fault{
			at(mocksmtp.StageRcpt, "first").Delay(time.Second),
			at(mocksmtp.StageRcpt, "second").Delay(2 * time.Second),
		},
		conns: [][]step{{
			{"EHLO client.example", 250, 0},
			{"MAIL FROM:<app@example.com>", 250, 0},
			{"RCPT TO:<bob@example.com>", 250, 3 * time.Second},
		}},
		fired: [][]string{{
			"first: RCPT attempt 1 → delay 1s",
			"second: RCPT attempt 1 → delay 2s",
		}},
	}, {
		name: "a delay that fires uses up its AtMost, not the reply's after it",
		faults: []mocksmtp.Fault{
			at(mocksmtp.StageRcpt, "delay").AtMost(1).Delay(time.Second),
			at(mocksmtp.StageRcpt, "busy").AtMost(2).Reply(450, "4.2.1 busy"),
		},
		conns: [][]step{{
			{"EHLO client.example", 250, 0},
			{"MAIL FROM:<app@example.com>", 250, 0},
			{"RCPT TO:<bob@example.com>", 450, time.Second},
			{"RCPT TO:<bob@example.com>", 450, 0},
			{"RCPT TO:<bob@example.com>", 250, 0},
		}},
		fired: [][]string{{
			"delay: RCPT attempt 1 → delay 1s",
			"busy: RCPT attempt 1 → 450 4.2.1 busy",
			"busy: RCPT attempt 1 → 450 4.2.1 busy",
		}},
	}, {
		name: "a fault after the one that answers is not consulted",
		faults: []mocksmtp.Fault{
			at(mocksmtp.StageRcpt, "delay").Delay(time.Second),
			at(mocksmtp.StageRcpt, "busy").AtMost(1).Reply(450, "4.2.1 busy"),
			at(mocksmtp.StageRcpt, "later").AtMost(1).Delay(time.Minute),
		},
		conns: [][]step{{
			{"EHLO client.example", 250, 0},
			{"MAIL FROM:<app@example.com>", 250, 0},
			{"RCPT TO:<bob@example.com>", 450, time.Second},
			{"RCPT TO:<bob@example.com>", 250, time.Second + time.Minute},
		}},
		fired: [][]string{{
			"delay: RCPT attempt 1 → delay 1s",
			"busy: RCPT attempt 1 → 450 4.2.1 busy",
			"delay: RCPT attempt 1 → delay 1s",
			"later: RCPT attempt 1 → delay 1m0s",
		}},
	}, {
		name: "a delay does not hide greylisting, which sees the pair",
		faults: []mocksmtp.Fault{
			at(mocksmtp.StageRcpt, "delay").Delay(time.Second),
			mocksmtp.Greylist().DeclaredAt("greylist"),
		},
		conns: [][]step{{
			{"EHLO client.example", 250, 0},
			{"MAIL FROM:<app@example.com>", 250, 0},
			{"RCPT TO:<bob@example.com>", 451, time.Second},
		}, {
			{"EHLO client.example", 250, 0},
			{"MAIL FROM:<app@example.com>", 250, 0},
			{"RCPT TO:<bob@example.com>", 250, time.Second},
		}},
		fired: [][]string{{
			"delay: RCPT attempt 1 → delay 1s",
			"greylist: RCPT attempt 1 → 451 4.7.1 Greylisted, please try again later (greylist)",
		}, {
			"delay: RCPT attempt 2 → delay 1s",
		}},
	}, {
		name: "a delay at connect does not hide a refusing greeting at connect",
		faults: []mocksmtp.Fault{
			at(mocksmtp.StageConnect, "slow").Delay(time.Second),
			at(mocksmtp.StageConnect, "slower").Delay(2 * time.Second),
			at(mocksmtp.StageConnect, "down").Reply(554, "5.3.2 not now"),
			at(mocksmtp.StageGreeting, "greeting").Delay(time.Hour),
		},
		conns: [][]step{{
			{"", 554, 3 * time.Second},
			{"QUIT", 221, 0},
		}},
		fired: [][]string{{
			"slow: connect attempt 1 → delay 1s",
			"slower: connect attempt 1 → delay 2s",
			"down: connect attempt 1 → 554 5.3.2 not now",
		}},
	}, {
		name: "delays at connect and at the greeting add, and do not hide its refusal",
		faults: []mocksmtp.Fault{
			at(mocksmtp.StageConnect, "slow").Delay(time.Second),
			at(mocksmtp.StageGreeting, "slower").Delay(2 * time.Second),
			at(mocksmtp.StageGreeting, "down").Reply(421, "4.3.2 not now"),
		},
		conns: [][]step{{
			{"", 421, 3 * time.Second},
		}},
		fired: [][]string{{
			"slow: connect attempt 1 → delay 1s",
			"slower: greeting attempt 1 → delay 2s",
			"down: greeting attempt 1 → 421 4.3.2 not now, disconnect",
		}},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, clk := startOnClock(t, mocksmtp.WithFault(tt.faults...))
			for i, steps := range tt.conns {
				c := dialOnClock(t, srv, clk)
				if steps[0].cmd != "" {
					c.must("", 220)
				}
				for _, s := range steps {
					r, waited := c.timed(s.cmd)
					if r.Code != s.code || waited != s.waited {
						t.Errorf("connection %d, %q: %d after %v, want %d after %v", i+1, s.cmd, r.Code, waited, s.code, s.waited)
					}
				}
				c.conn.Close()
				got := srv.WaitForSessionEnd(t, i+1)
				if diff := cmp.Diff(tt.fired[i], got.Faults); diff != "" {
					t.Errorf("connection %d: Session.Faults (-want +got):\n%s", i+1, diff)
				}
				// Each fired fault is its note, in order, right after the
				// line of its event.
				var notes []string
				for _, l := range got.Transcript {
					if n, ok := strings.CutPrefix(l.Text, "fault "); ok && l.Dir == mocksmtp.Note {
						notes = append(notes, n)
					}
				}
				if diff := cmp.Diff(tt.fired[i], notes); diff != "" {
					t.Errorf("connection %d: the transcript's fault notes (-want +got):\n%s", i+1, diff)
				}
			}
		})
	}
}

// A client that leaves during the delay of its MAIL FROM does not count
// for RateLimitPer after the delay, which saw the MAIL (it was not
// accepted: no transaction); the next one does.
func TestDelayBeforeRateLimitPerClientLeaves(t *testing.T) {
	t.Parallel()
	srv, clk := startOnClock(t, mocksmtp.WithFault(
		mocksmtp.At(mocksmtp.StageMail).OnAttempt(1).Delay(time.Hour),
		mocksmtp.RateLimitPer(1, time.Minute)))
	c := dialOnClock(t, srv, clk)
	c.must("", 220)
	c.must("EHLO client.example", 250)
	c.send("MAIL FROM:<app@example.com>")
	srv.WaitUntil(t, "the delay to begin", func() bool { return clk.Waits() == 1 })
	c.conn.Close()
	if s := srv.WaitForSessionEnd(t, 1); len(s.Faults) != 1 {
		t.Fatalf("faults %q, want the delay (the rate limit let the MAIL through)", s.Faults)
	}
	for _, want := range []int{250, 451} {
		c := dialOnClock(t, srv, clk)
		c.must("", 220)
		c.must("EHLO client.example", 250)
		if r, waited := c.timed("MAIL FROM:<app@example.com>"); r.Code != want || waited != 0 {
			t.Errorf("MAIL: %d after %v, want %d at once", r.Code, waited, want)
		}
	}
}

// With WithSeed, faults of chance after a delay of chance draw as the
// script says (each fault consulted whose other selectors match draws
// once), so that the same seed and the same client give the same faults:
// the delay and the refusal after it compose, each on its own draw.
func TestDelayOfChanceComposesTheSameWithTheSameSeed(t *testing.T) {
	t.Parallel()
	faults := []mocksmtp.Fault{
		mocksmtp.At(mocksmtp.StageRcpt).WithProbability(0.5).Delay(time.Second).DeclaredAt("delay"),
		mocksmtp.At(mocksmtp.StageRcpt).WithProbability(0.5).Reply(450, "4.2.1 busy").DeclaredAt("busy"),
	}
	type result struct {
		codes  []int
		waited []time.Duration
		faults []string
	}
	run := func() result {
		srv, clk := startOnClock(t, mocksmtp.WithSeed(7), mocksmtp.WithFault(faults...))
		c := dialOnClock(t, srv, clk)
		c.must("", 220)
		c.must("EHLO client.example", 250)
		c.must("MAIL FROM:<app@example.com>", 250)
		var res result
		for range 16 {
			r, waited := c.timed("RCPT TO:<bob@example.com>")
			res.codes, res.waited = append(res.codes, r.Code), append(res.waited, waited)
		}
		c.must("QUIT", 221)
		res.faults = srv.WaitForSessionEnd(t, 1).Faults
		return res
	}
	first, second := run(), run()
	if diff := cmp.Diff(first, second, cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("the same seed, another run (-first +second):\n%s", diff)
	}
	kinds := map[string]bool{}
	for i, code := range first.codes {
		kinds[map[bool]string{true: "delayed", false: "at once"}[first.waited[i] > 0]+" "+map[bool]string{true: "450", false: "250"}[code == 450]] = true
	}
	for _, want := range []string{"delayed 450", "delayed 250", "at once 450", "at once 250"} {
		if !kinds[want] {
			t.Errorf("no RCPT %s of 16 (codes %v, waits %v); want each kind", want, first.codes, first.waited)
		}
	}
}

// startOnClock starts a server over TCP whose faults' timing reads a
// clock the test moves.
func startOnClock(t *testing.T, opts ...mocksmtp.Option) (*mocksmtp.Server, *clock.Clock) {
	t.Helper()
	clk := clock.New()
	return mocksmtp.Start(t, append(opts, clockOption{clock: clk})...), clk
}

// clockConn is a raw client of a server on a clock the test moves.
type clockConn struct {
	*faultConn
	clk     *clock.Clock
	changed chan struct{} // the clock's waits changed
}

func dialOnClock(t *testing.T, srv *mocksmtp.Server, clk *clock.Clock) *clockConn {
	t.Helper()
	c := &clockConn{faultConn: dialFault(t, srv), clk: clk, changed: make(chan struct{}, 1)}
	stop := clk.OnWaits(func() {
		select {
		case c.changed <- struct{}{}:
		default:
		}
	})
	t.Cleanup(stop)
	return c
}

// timed sends cmd (nothing for "") and reads its reply, moving the clock
// ahead a second at a time while the server waits on it: it returns the
// reply and how long, in the clock's time, the server made the client
// wait for it. Only one session waits at a time.
func (c *clockConn) timed(cmd string) (faultReply, time.Duration) {
	c.t.Helper()
	if cmd != "" {
		c.send(cmd)
	}
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
		for c.clk.Waits() > 0 {
			if _, _, _, err := c.clk.Advance(time.Second); err != nil {
				c.t.Fatalf("advance: %v", err)
			}
			waited += time.Second
		}
		select {
		case r := <-got:
			if r.err != nil {
				c.t.Fatalf("%q: %v", cmd, r.err)
			}
			return r.r, waited
		case <-c.changed:
		}
	}
}
