package mocksmtp_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// A delay as long as time.Duration holds ("forever"), added to by a
// second Delay or by a fault at the greeting after one at connect, stays
// forever: it does not wrap around to a negative wait, which would send
// the reply at once. The client still waits, until Close ends the delay.
func TestDelaysAddUpWithoutWrappingAround(t *testing.T) {
	const forever = time.Duration(math.MaxInt64)
	for _, tt := range []struct {
		name   string
		faults []mocksmtp.Fault
		toRcpt bool // the delay is at RCPT, not before the greeting
	}{
		{"two Delays of one fault", []mocksmtp.Fault{mocksmtp.At(mocksmtp.StageRcpt).Delay(forever).Delay(time.Hour)}, true},
		{"connect and greeting", []mocksmtp.Fault{mocksmtp.At(mocksmtp.StageConnect).Delay(forever), mocksmtp.At(mocksmtp.StageGreeting).Delay(time.Hour)}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(tt.faults...))
				c := dialBubble(t, srv)
				if tt.toRcpt {
					c.must("", 220)
					c.must("EHLO client.example", 250)
					c.must("MAIL FROM:<app@example.com>", 250)
					c.send("RCPT TO:<bob@example.com>")
				}
				_ = c.conn.SetDeadline(time.Time{}) // the client waits as long as it takes
				got := make(chan faultReply, 1)
				go func() {
					r, _ := c.read()
					got <- r
				}()
				time.Sleep(24 * time.Hour)
				synctest.Wait()
				select {
				case r := <-got:
					t.Fatalf("after 24h of a delay forever, the client read %+v", r)
				default:
				}
				srv.Close()
				if r := <-got; r.Code != 421 {
					t.Errorf("after Close: %+v, want 421", r)
				}
			})
		})
	}
}

// A fault with an action that can never act is refused where it is
// declared, as a reply with Drop is, rather than accepted and silently
// not done: a pace with no reply to pace, DropAfterBytes at DATA when no
// data is read, IdleReply after QUIT, a TLS failure with no handshake,
// OnAttempt with no attempt (which ForRcpt and ForSender refuse too).
func TestFaultsThatCannotActAreRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		fault mocksmtp.Fault
	}{
		{"Trickle with Drop", mocksmtp.At(mocksmtp.StageRcpt).Drop().Trickle(1, time.Second)},
		{"SplitReply with Drop", mocksmtp.At(mocksmtp.StageRcpt).SplitReply(1, time.Second).Drop()},
		{"Trickle with ResetTCP and no reply", mocksmtp.At(mocksmtp.StageRcpt).ResetTCP().Trickle(1, time.Second)},
		{"SplitReply with Stall and no reply", mocksmtp.At(mocksmtp.StageMail).Stall().SplitReply(3, time.Second)},
		{"DropAfterBytes at DATA with a negative reply", mocksmtp.At(mocksmtp.StageData).Reply(554, "5.5.1 no").DropAfterBytes(10)},
		{"DropAfterBytes at DATA with Drop", mocksmtp.At(mocksmtp.StageData).Drop().DropAfterBytes(10)},
		{"DropAfterBytes at DATA with Disconnect", mocksmtp.At(mocksmtp.StageData).DropAfterBytes(10).Disconnect()},
		{"DropAfterBytes at DATA with Stall", mocksmtp.At(mocksmtp.StageData).Stall().DropAfterBytes(10)},
		{"IdleReply at QUIT", mocksmtp.At(mocksmtp.StageQuit).IdleReply(time.Second, 421, "4.4.2 idle")},
		{"TLS failure with a negative reply", mocksmtp.At(mocksmtp.StageStartTLS).Reply(454, "4.7.0 no").ExpiredCertificate()},
		{"TLS failure with Disconnect", mocksmtp.At(mocksmtp.StageStartTLS).Disconnect().AbortHandshake()},
		{"TLS failure with Drop", mocksmtp.At(mocksmtp.StageStartTLS).UntrustedCertificate().Drop()},
		{"OnAttempt with no attempt", mocksmtp.At(mocksmtp.StageMail).OnAttempt().Reply(550, "5.7.1 no")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := tt.fault.Err(); err == nil {
				t.Errorf("Err() = nil; want the fault refused (%v)", tt.fault)
			}
			srv, err := mocksmtp.New(mocksmtp.WithFault(tt.fault))
			if err == nil {
				srv.Close()
				t.Error("New accepted the fault")
			}
		})
	}
	// What those rules must not refuse: each of these acts.
	for _, f := range []mocksmtp.Fault{
		mocksmtp.At(mocksmtp.StageRcpt).Reply(421, "4.3.2 bye").Trickle(1, 0).ResetTCP(),
		mocksmtp.At(mocksmtp.StageRcpt).Reply(250, "2.1.5 ok").SplitReply(3, 0).Stall(),
		mocksmtp.At(mocksmtp.StageRcpt).RawReply("250 ok\r\n").Trickle(1, 0).ResetTCP(),
		mocksmtp.At(mocksmtp.StageRcpt).Trickle(1, 0).Disconnect(),
		mocksmtp.At(mocksmtp.StageData).Reply(354, "go on").DropAfterBytes(10),
		mocksmtp.At(mocksmtp.StageData).RawReply("354 go on\r\n").DropAfterBytes(10),
		mocksmtp.At(mocksmtp.StageBdat).DropAfterBytes(10).Disconnect(),
		mocksmtp.At(mocksmtp.StageBdat).Reply(554, "5.5.1 no").DropAfterBytes(10),
		mocksmtp.At(mocksmtp.StageQuit).Delay(time.Second),
		mocksmtp.At(mocksmtp.StageStartTLS).Reply(220, "2.0.0 go").ExpiredCertificate(),
		mocksmtp.At(mocksmtp.StageStartTLS).RawReply("220 go\r\n").TLSVersion(0x0301),
		mocksmtp.At(mocksmtp.StageStartTLS).Delay(time.Second).AbortHandshake(),
		mocksmtp.At(mocksmtp.StageMail).OnAttempt(1, 3).Reply(550, "5.7.1 no"),
	} {
		if err := f.Err(); err != nil {
			t.Errorf("%v: Err() = %v, want nil", f, err)
		}
	}
}

// A multiline reply copied from a real server, its enhanced status code
// on every line as RFC 2034 has it, goes out as written: one status per
// line, not the status added again before the one the line has.
func TestFaultMultilineReplyWithTheStatusOnEveryLine(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageRcpt).Reply(550,
		"5.7.1 The user you are trying to contact is receiving mail too fast\n5.7.1 Please try again later\n5.7.1 https://support.example/rate")))
	c := dialFault(t, srv)
	c.must("", 220)
	c.must("EHLO client.example", 250)
	c.must("MAIL FROM:<app@example.com>", 250)
	c.send("RCPT TO:<bob@example.com>")
	var got []string
	for range 3 {
		line, err := c.r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, line)
	}
	want := []string{
		"550-5.7.1 The user you are trying to contact is receiving mail too fast\r\n",
		"550-5.7.1 Please try again later\r\n",
		"550 5.7.1 https://support.example/rate\r\n",
	}
	if strings.Join(got, "") != strings.Join(want, "") {
		t.Errorf("reply:\n%q\nwant\n%q", got, want)
	}
	c.must("QUIT", 221)
}

// A fault's description, in errors, notes and GET /api/faults, reads
// like English for one firing too.
func TestFaultStringAtMostOnce(t *testing.T) {
	t.Parallel()
	f, where := mocksmtp.At(mocksmtp.StageMessage).AtMost(1).Drop(), faultHere()
	if got, want := f.String(), "end of message at most once → no reply, drop ("+where+")"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// A TLS failure at STARTTLS on a server that does not offer STARTTLS (no
// TLS, or TLS from the first byte) could never fire: it is refused, as a
// TLS failure at connect without WithImplicitTLS is, by New and AddFault.
func TestTLSFailureAtStartTLSWithoutSTARTTLSIsRefused(t *testing.T) {
	t.Parallel()
	f := mocksmtp.At(mocksmtp.StageStartTLS).ExpiredCertificate()
	for _, tt := range []struct {
		name string
		opts []mocksmtp.Option
	}{
		{"no TLS", nil},
		{"implicit TLS", []mocksmtp.Option{mocksmtp.WithImplicitTLS()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if srv, err := mocksmtp.New(append(tt.opts, mocksmtp.WithFault(f))...); err == nil {
				srv.Close()
				t.Error("New accepted a TLS failure at STARTTLS on a server without STARTTLS")
			}
			srv, err := mocksmtp.New(tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			if err := srv.AddFault(f); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
				t.Errorf("AddFault = %v, want an error about STARTTLS", err)
			}
		})
	}
	srv, err := mocksmtp.New(mocksmtp.WithSTARTTLS(), mocksmtp.WithFault(f))
	if err != nil {
		t.Fatalf("with STARTTLS: %v", err)
	}
	srv.Close()
}

// A fault that could never fire, or a part of it that could never act,
// is refused where it is declared: a recipient filter at a stage with no
// recipient, a sender filter at one with no sender, a fault that only
// disconnects at QUIT (after which the connection closes anyway), and a Reply whose enhanced
// status code's class is not the reply's (RFC 3463: 250 with 5.1.1).
func TestFaultsThatCannotFireAreRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		fault mocksmtp.Fault
		want  string
	}{
		{"ForRcpt at MAIL", mocksmtp.At(mocksmtp.StageMail).ForRcpt("bob@example.com").Reply(550, "5.7.1 no"), "ForRcpt at MAIL"},
		{"ForRcpt at HELO", mocksmtp.At(mocksmtp.StageHelo).ForRcpt("*").Disconnect(), "ForRcpt at HELO"},
		{"ForRcpt at greeting", mocksmtp.At(mocksmtp.StageGreeting).ForRcpt("*").Drop(), "ForRcpt at greeting"},
		{"ForRcpt at RSET", mocksmtp.At(mocksmtp.StageRset).ForRcpt("*").Drop(), "ForRcpt at RSET"},
		{"ForRcpt at QUIT", mocksmtp.At(mocksmtp.StageQuit).ForRcpt("*").Drop(), "ForRcpt at QUIT"},
		{"ForSender at HELO", mocksmtp.At(mocksmtp.StageHelo).ForSender("").Drop(), "ForSender at HELO"},
		{"ForSender at AUTH", mocksmtp.At(mocksmtp.StageAuth).ForSender("a@example.com").Drop(), "ForSender at AUTH"},
		{"ForSender at NOOP", mocksmtp.At(mocksmtp.StageNoop).ForSender("*").Drop(), "ForSender at NOOP"},
		{"ForSender at connect", mocksmtp.At(mocksmtp.StageConnect).ForSender("*").Drop(), "ForSender at connect"},
		{"Disconnect at QUIT", mocksmtp.At(mocksmtp.StageQuit).Disconnect(), "Disconnect at QUIT"},
		{"a positive reply with a permanent failure's status", mocksmtp.At(mocksmtp.StageRcpt).Reply(250, "5.1.1 x"), "class"},
		{"a transient failure with a success's status", mocksmtp.At(mocksmtp.StageRcpt).Reply(451, "2.0.0 ok"), "class"},
		{"a permanent failure with a transient status", mocksmtp.At(mocksmtp.StageData).Reply(554, "4.3.0 later"), "class"},
		{"a multiline reply", mocksmtp.At(mocksmtp.StageMail).Reply(550, "4.7.1 no\n4.7.1 see there"), "class"},
		{"an idle reply", mocksmtp.At(mocksmtp.StageHelo).IdleReply(time.Second, 421, "5.4.2 idle"), "class"},
		// A positive reply is acted on as the one the command means: one
		// that says something else would be a lie the server does not live.
		{"250 at DATA", mocksmtp.At(mocksmtp.StageData).Reply(250, "2.0.0 ok"), "Reply(250) at DATA"},
		{"250 at STARTTLS", mocksmtp.At(mocksmtp.StageStartTLS).Reply(250, "2.0.0 go"), "Reply(250) at STARTTLS"},
		{"334 at AUTH", mocksmtp.At(mocksmtp.StageAuth).Reply(334, "more"), "Reply(334) at AUTH"},
		{"250 at AUTH", mocksmtp.At(mocksmtp.StageAuth).Reply(250, "2.7.0 ok"), "Reply(250) at AUTH"},
		{"250 greeting", mocksmtp.At(mocksmtp.StageGreeting).Reply(250, "hi"), "Reply(250) at greeting"},
		{"250 at connect", mocksmtp.At(mocksmtp.StageConnect).Reply(250, "hi"), "Reply(250) at connect"},
		// A greeting refuses with 554, or 421 that closes (RFC 5321
		// 4.3.2, 3.8); the server acts on any other as on 554.
		{"450 greeting", mocksmtp.At(mocksmtp.StageGreeting).Reply(450, "4.3.2 later"), "Reply(450) at greeting: a greeting that refuses is 554, or 421"},
		{"550 at connect", mocksmtp.At(mocksmtp.StageConnect).Reply(550, "5.7.1 no"), "Reply(550) at connect: a greeting that refuses is 554, or 421"},
		{"ShuttingDown reworded to 450", mocksmtp.ShuttingDown().Reply(450, "4.3.2 later"), "Reply(450) at greeting"},
		{"354 at HELO", mocksmtp.At(mocksmtp.StageHelo).Reply(354, "go on"), "Reply(354) at HELO"},
		{"354 at MAIL", mocksmtp.At(mocksmtp.StageMail).Reply(354, "go on"), "Reply(354) at MAIL"},
		{"334 at RCPT", mocksmtp.At(mocksmtp.StageRcpt).Reply(334, "x"), "Reply(334) at RCPT"},
		{"354 at BDAT", mocksmtp.At(mocksmtp.StageBdat).Reply(354, "go on"), "Reply(354) at BDAT"},
		{"354 at end of message", mocksmtp.At(mocksmtp.StageMessage).Reply(354, "go on"), "Reply(354) at end of message"},
		{"354 at NOOP with Disconnect", mocksmtp.At(mocksmtp.StageNoop).Reply(354, "go on").Disconnect(), "Reply(354) at NOOP"},
		// RFC 5321 4.3.2 lists the positive replies of each command: 251
		// is RCPT's (and VRFY's), 221 QUIT's, and QUIT's is 221 only.
		{"251 at MAIL", mocksmtp.At(mocksmtp.StageMail).Reply(251, "2.1.0 forwarding"), "Reply(251) at MAIL: a positive reply there is 250"},
		{"253 at RCPT", mocksmtp.At(mocksmtp.StageRcpt).Reply(253, "2.1.5 ok"), "Reply(253) at RCPT: a positive reply there is 250, 251 or 252"},
		{"252 at MAIL", mocksmtp.At(mocksmtp.StageMail).Reply(252, "2.1.0 ok"), "Reply(252) at MAIL: a positive reply there is 250"},
		{"250 at QUIT", mocksmtp.At(mocksmtp.StageQuit).Reply(250, "2.0.0 bye"), "Reply(250) at QUIT: a positive reply there is 221"},
		{"221 at NOOP", mocksmtp.At(mocksmtp.StageNoop).Reply(221, "2.0.0 bye"), "Reply(221) at NOOP: a positive reply there is 250"},
		{"221 at RSET with Disconnect", mocksmtp.At(mocksmtp.StageRset).Reply(221, "2.0.0 bye").Disconnect(), "Reply(221) at RSET"},
		{"220 at HELO", mocksmtp.At(mocksmtp.StageHelo).Reply(220, "hi"), "Reply(220) at HELO"},
		{"251 at end of message", mocksmtp.At(mocksmtp.StageMessage).Reply(251, "2.0.0 queued"), "Reply(251) at end of message"},
		{"252 at BDAT", mocksmtp.At(mocksmtp.StageBdat).Reply(252, "2.0.0 ok"), "Reply(252) at BDAT"},
		{"214 at NOOP", mocksmtp.At(mocksmtp.StageNoop).Reply(214, "help"), "Reply(214) at NOOP"},
		{"251 at MAIL, pointing to RawReply", mocksmtp.At(mocksmtp.StageMail).Reply(251, "x"), "use RawReply"},
		// An idle reply is followed by the close: a positive one other
		// than QUIT's 221 says something else.
		{"an idle reply of 250", mocksmtp.At(mocksmtp.StageHelo).IdleReply(time.Second, 250, "2.0.0 still here"), "IdleReply(250)"},
		{"an idle reply of 354", mocksmtp.At(mocksmtp.StageData).IdleReply(time.Second, 354, "go on"), "IdleReply(354)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := tt.fault.Err(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Err() = %v; want the fault refused, saying %q (%v)", err, tt.want, tt.fault)
			}
			srv, err := mocksmtp.New(mocksmtp.WithFault(tt.fault))
			if err == nil {
				srv.Close()
				t.Error("New accepted the fault")
			}
		})
	}
	// What those rules must not refuse: each of these can fire and act.
	for _, f := range []mocksmtp.Fault{
		mocksmtp.At(mocksmtp.StageRcpt).ForRcpt("*@blocked.example").Reply(550, "5.7.1 no"),
		mocksmtp.At(mocksmtp.StageData).ForRcpt("bob@example.com").Reply(554, "5.7.1 no"),
		mocksmtp.At(mocksmtp.StageBdat).ForRcpt("bob@example.com").Reply(554, "5.7.1 no"),
		mocksmtp.At(mocksmtp.StageMessage).ForRcpt("bob@example.com").Reply(554, "5.7.1 no"),
		mocksmtp.At(mocksmtp.StageMail).ForSender("").Reply(550, "5.7.1 no bounces"),
		mocksmtp.At(mocksmtp.StageRcpt).ForSender("a@example.com").Reply(550, "5.7.1 no"),
		mocksmtp.At(mocksmtp.StageData).ForSender("a@example.com").Drop(),
		mocksmtp.At(mocksmtp.StageBdat).ForSender("a@example.com").Drop(),
		mocksmtp.At(mocksmtp.StageMessage).ForSender("a@example.com").Reply(451, "4.3.0 later"),
		mocksmtp.At(mocksmtp.StageQuit).Drop(),
		mocksmtp.At(mocksmtp.StageQuit).ResetTCP(),
		mocksmtp.At(mocksmtp.StageQuit).HalfClose(),
		mocksmtp.At(mocksmtp.StageQuit).Stall(),
		mocksmtp.At(mocksmtp.StageQuit).Reply(421, "4.3.2 bye"),
		mocksmtp.At(mocksmtp.StageQuit).Reply(421, "4.3.2 bye").Disconnect(), // says what happens: the reply acts
		mocksmtp.At(mocksmtp.StageQuit).Delay(time.Second).Disconnect(),
		mocksmtp.At(mocksmtp.StageHelo).Disconnect(),
		mocksmtp.At(mocksmtp.StageRcpt).Reply(250, "2.1.5 ok"),
		mocksmtp.At(mocksmtp.StageRcpt).Reply(451, "4.7.1 later"),
		mocksmtp.At(mocksmtp.StageRcpt).Reply(550, "no status"),
		mocksmtp.At(mocksmtp.StageData).Reply(354, "go on"),
		mocksmtp.At(mocksmtp.StageRcpt).RawReply("250 5.1.1 anything goes\r\n"),
		mocksmtp.At(mocksmtp.StageData).RawReply("250 2.0.0 ok\r\n"),
		mocksmtp.At(mocksmtp.StageMail).RawReply("354 go on\r\n"),
		mocksmtp.At(mocksmtp.StageAuth).Reply(235, "2.7.0 welcome"),
		mocksmtp.At(mocksmtp.StageStartTLS).Reply(220, "2.0.0 go"),
		mocksmtp.At(mocksmtp.StageGreeting).Reply(220, "hi"),
		mocksmtp.At(mocksmtp.StageRcpt).Reply(251, "2.1.5 will forward"),
		mocksmtp.At(mocksmtp.StageRcpt).Reply(252, "2.1.5 cannot verify, will accept"),
		mocksmtp.At(mocksmtp.StageQuit).Reply(221, "2.0.0 bye"),
		mocksmtp.At(mocksmtp.StageMessage).Reply(250, "2.0.0 queued"),
		mocksmtp.At(mocksmtp.StageBdat).Reply(250, "2.0.0 chunk"),
		mocksmtp.At(mocksmtp.StageMail).Reply(250, "2.1.0 ok"),
		mocksmtp.At(mocksmtp.StageHelo).Reply(250, "hi"),
		mocksmtp.At(mocksmtp.StageRset).Reply(250, "2.0.0 ok"),
		mocksmtp.At(mocksmtp.StageNoop).Reply(250, "2.0.0 ok"),
		mocksmtp.At(mocksmtp.StageMail).RawReply("251 2.1.0 forwarding\r\n"),
		mocksmtp.At(mocksmtp.StageQuit).RawReply("250 2.0.0 bye\r\n"),
		mocksmtp.At(mocksmtp.StageHelo).IdleReply(time.Second, 421, "4.4.2 idle"),
		mocksmtp.At(mocksmtp.StageHelo).IdleReply(time.Second, 554, "5.0.0 go away"),
		mocksmtp.At(mocksmtp.StageHelo).IdleReply(time.Second, 221, "2.0.0 bye"),
	} {
		if err := f.Err(); err != nil {
			t.Errorf("%v: Err() = %v, want nil", f, err)
		}
	}
}

// A fault at a stage the server never reaches, given its options, could
// never fire: STARTTLS on a server that does not offer it (the engine
// answers 502 or 503 before any fault), AUTH on one without AUTH, BDAT
// on one without CHUNKING. New, AddFault and ReplaceFaults refuse it,
// saying what to add; the same fault on a server that offers the stage
// is taken.
func TestFaultAtAStageNotOfferedIsRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		fault  mocksmtp.Fault
		opts   []mocksmtp.Option
		want   string
		offers []mocksmtp.Option
	}{
		{"STARTTLS without TLS", mocksmtp.At(mocksmtp.StageStartTLS).Reply(454, "4.7.0 TLS not available"), nil, "WithSTARTTLS",
			[]mocksmtp.Option{mocksmtp.WithSTARTTLS()}},
		{"STARTTLS with implicit TLS", mocksmtp.At(mocksmtp.StageStartTLS).Delay(time.Second), []mocksmtp.Option{mocksmtp.WithImplicitTLS()}, "WithImplicitTLS",
			[]mocksmtp.Option{mocksmtp.WithSTARTTLS()}},
		{"AUTH without AUTH", mocksmtp.At(mocksmtp.StageAuth).Reply(454, "4.7.0 try later"), nil, "WithAuth",
			[]mocksmtp.Option{mocksmtp.WithAuth("u", "p")}},
		{"BDAT without CHUNKING", mocksmtp.At(mocksmtp.StageBdat).Reply(554, "5.5.1 no"), []mocksmtp.Option{mocksmtp.WithoutExtensions("CHUNKING")}, "CHUNKING",
			nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if srv, err := mocksmtp.New(append(slices.Clone(tt.opts), mocksmtp.WithFault(tt.fault))...); err == nil {
				srv.Close()
				t.Error("New accepted the fault")
			} else if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v; want it to say %q", err, tt.want)
			}
			srv, err := mocksmtp.New(tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			if err := srv.AddFault(tt.fault); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("AddFault = %v; want an error saying %q", err, tt.want)
			}
			if err := srv.ReplaceFaults(tt.fault); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReplaceFaults = %v; want an error saying %q", err, tt.want)
			}
			ok, err := mocksmtp.New(append(slices.Clone(tt.offers), mocksmtp.WithFault(tt.fault))...)
			if err != nil {
				t.Fatalf("on a server that offers it: %v", err)
			}
			ok.Close()
		})
	}
}
