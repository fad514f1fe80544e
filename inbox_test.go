package mocksmtp_test

import (
	"context"
	"fmt"
	"net/smtp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// TestInboxParallel shares one server among 50 parallel tests, each with
// its own inbox, expectations and waits.
func TestInboxParallel(t *testing.T) {
	t.Parallel()
	srv, err := mocksmtp.New() // as a TestMain would start it
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	const n = 50
	t.Run("group", func(t *testing.T) {
		for i := range n {
			t.Run(fmt.Sprintf("user%02d", i), func(t *testing.T) {
				t.Parallel()
				in := srv.Inbox(t)
				to := in.Address("user")
				in.Expect(t, mocksmtp.Want{To: []string{to}, Subject: "Welcome"})
				in.Expect(t, mocksmtp.Want{To: []string{to}, Subject: "Your code"})
				in.ExpectNoOtherMessages(t)
				go func() { // the code under test, sending in the background
					for _, subject := range []string{"Welcome", "Your code"} {
						msg := "From: app@example.com\r\nTo: " + to + "\r\nSubject: " + subject + "\r\n\r\nHi\r\n"
						if err := smtp.SendMail(srv.Addr(), nil, "app@example.com", []string{to}, []byte(msg)); err != nil {
							t.Error(err)
						}
					}
				}()
				m := in.WaitFor(t, mocksmtp.Want{Subject: "Your code"})
				if m.To[0] != to {
					t.Errorf("WaitFor returned a message to %v, want %s", m.To, to)
				}
				msgs := in.WaitForMessages(t, 2)
				if len(msgs) != 2 {
					t.Errorf("inbox has %d messages, want 2", len(msgs))
				}
				for _, m := range msgs {
					if !strings.HasSuffix(m.To[0], "@"+in.Domain()) {
						t.Errorf("message to %v in the inbox of %s", m.To, in.Domain())
					}
				}
				in.AssertNoMoreMessages(t, time.Millisecond)
			})
		}
	})
	if got := len(srv.Messages()); got != 2*n {
		t.Errorf("server has %d messages, want %d", got, 2*n)
	}
}

func TestInboxDomain(t *testing.T) {
	t.Parallel()
	srv, err := mocksmtp.New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var domains []string
	for _, name := range []string{"TestSignup", "TestSignup", "TestÜber/case_1 (α)", "///"} {
		ft := &expT{name: name}
		ft.run(func() { domains = append(domains, srv.Inbox(ft).Domain()) })
	}
	want := []string{"testsignup-1.inbox.test", "testsignup-2.inbox.test", "test-ber-case-1-1.inbox.test", "test-1.inbox.test"}
	if strings.Join(domains, " ") != strings.Join(want, " ") {
		t.Errorf("domains = %q, want %q", domains, want)
	}
}

// TestInboxDomainIsTheSameEveryRun: parallel tests on one server get
// their inboxes in any order, and each test's domain (which lands in
// transcripts, reports and golden files) is the same whichever came
// first; so is a name too long for a label, kept apart from another of
// the same beginning.
func TestInboxDomainIsTheSameEveryRun(t *testing.T) {
	t.Parallel()
	long := "TestCheckout/a_table_case_whose_name_is_longer_than_a_label_"
	names := []string{"TestSignup/alice", "TestSignup/bob", "TestReset", long + "one", long + "two"}
	var first map[string]string
	for run := range 20 {
		srv, err := mocksmtp.New()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for i := range names {
			name := names[(i+run)%len(names)] // another order each run
			ft := &expT{name: name}
			ft.run(func() { got[name] = srv.Inbox(ft).Domain() })
		}
		srv.Close()
		if first == nil {
			first = got
			if got[long+"one"] == got[long+"two"] {
				t.Fatalf("two long names share the domain %s", got[long+"one"])
			}
			for name, d := range got {
				if label, _ := strings.CutSuffix(d, ".inbox.test"); len(label) > 63 {
					t.Errorf("%s: domain %s has a label of %d octets, want at most 63", name, d, len(label))
				}
			}
			continue
		}
		for _, name := range names {
			if got[name] != first[name] {
				t.Errorf("run %d: %s got %s, want %s as in run 0", run, name, got[name], first[name])
			}
		}
	}
}

// TestInboxReports runs inbox scenarios in two recording tests on one
// shared server, and compares the reports of each with golden files.
func TestInboxReports(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body func(t *testing.T, srv *mocksmtp.Server, alice, bob *mocksmtp.Inbox, at, bt *expT)
	}{
		{"inbox_elsewhere", func(t *testing.T, srv *mocksmtp.Server, alice, bob *mocksmtp.Inbox, at, bt *expT) {
			alice.Expect(at, mocksmtp.Want{Subject: "Welcome"})
			// The code under test mixes up its users.
			expSend(at, srv.Addr(), "app@example.com", []string{bob.Address("bob")}, expMsg("Welcome", "Hello, Alice."))
			sessionsEnded(t, srv, 1) // so that reports read "ended: QUIT" every run
		}},
		{"inbox_crossed", func(t *testing.T, srv *mocksmtp.Server, alice, bob *mocksmtp.Inbox, at, bt *expT) {
			expSend(at, srv.Addr(), "app@example.com", []string{alice.Address("alice"), bob.Address("bob")}, expMsg("Welcome", "Hello."))
			sessionsEnded(t, srv, 1)
		}},
		{"inbox_no_other", func(t *testing.T, srv *mocksmtp.Server, alice, bob *mocksmtp.Inbox, at, bt *expT) {
			alice.ExpectNoOtherMessages(at)
			expSend(at, srv.Addr(), "app@example.com", []string{bob.Address("bob")}, expMsg("Welcome", "Hello, Bob."))
			expSend(at, srv.Addr(), "app@example.com", []string{alice.Address("alice")}, expMsg("Welcome", "Hello, Alice."))
			sessionsEnded(t, srv, 2)
		}},
		{"inbox_wait_for_timeout", func(t *testing.T, srv *mocksmtp.Server, alice, bob *mocksmtp.Inbox, at, bt *expT) {
			c := expOpen(at, srv.Addr(), "app@example.com", []string{bob.Address("bob")}, expMsg("Your code", "123456"))
			defer c.Quit()
			alice.WaitFor(at, mocksmtp.Want{Subject: "Your code"})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, err := mocksmtp.New(mocksmtp.WithWaitTimeout(20 * time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			at, bt := &expT{name: "TestSignup/alice"}, &expT{name: "TestSignup/bob"}
			var alice, bob *mocksmtp.Inbox
			at.do(func() { alice = srv.Inbox(at) })
			bt.do(func() { bob = srv.Inbox(bt) })
			at.do(func() { tc.body(t, srv, alice, bob, at, bt) })
			at.finish()
			bt.finish()
			expGolden(t, tc.name, "TestSignup/alice:\n"+at.report()+"\n\nTestSignup/bob:\n"+bt.report())
		})
	}
}

// sessionsEnded waits for n sessions to end, with a deadline of its own: the
// servers of TestInboxReports have a wait timeout short enough for their
// failing waits, too short for a busy machine to end a session in.
func sessionsEnded(t *testing.T, srv *mocksmtp.Server, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := srv.WaitForSessionsContext(ctx, n); err != nil {
		t.Fatal(err)
	}
}

// A message that a test expects on the server is expected for the same
// test's Inbox.ExpectNoOtherMessages, and the other way round, whichever
// the test registered first: the checks of one test run at its cleanup,
// last registered first, and the outcome must not depend on that order.
func TestExpectNoOtherMessagesCountsTheSameTestsOtherScopes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		register func(t testing.TB, srv *mocksmtp.Server, in *mocksmtp.Inbox, to string)
	}{
		{"server expectation first", func(t testing.TB, srv *mocksmtp.Server, in *mocksmtp.Inbox, to string) {
			srv.Expect(t, mocksmtp.Want{To: []string{to}})
			in.ExpectNoOtherMessages(t)
		}},
		{"inbox forbid first", func(t testing.TB, srv *mocksmtp.Server, in *mocksmtp.Inbox, to string) {
			in.ExpectNoOtherMessages(t)
			srv.Expect(t, mocksmtp.Want{To: []string{to}})
		}},
		{"inbox expectation first", func(t testing.TB, srv *mocksmtp.Server, in *mocksmtp.Inbox, to string) {
			in.Expect(t, mocksmtp.Want{To: []string{to}})
			srv.ExpectNoOtherMessages(t)
		}},
		{"server forbid first", func(t testing.TB, srv *mocksmtp.Server, in *mocksmtp.Inbox, to string) {
			srv.ExpectNoOtherMessages(t)
			in.Expect(t, mocksmtp.Want{To: []string{to}})
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, err := mocksmtp.New()
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			ft := &expT{name: t.Name()}
			ft.run(func() {
				in := srv.Inbox(ft)
				to := "bob@" + in.Domain()
				expSend(t, srv.Addr(), "a@example.com", []string{to}, "From: a@example.com\nSubject: hi\n\nhi\n")
				tt.register(ft, srv, in, to)
			})
			if r := ft.report(); r != "" {
				t.Errorf("the test failed:\n%s", r)
			}
		})
	}
}

// An inbox's sessions are those that named it in a RCPT TO, taken or
// refused, since its last Reset: a wait for them counts a session that
// names the inbox after the wait began, once it ends, and not another
// test's session, open or ended.
func TestInboxSessions(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageRcpt).ForRcpt("nobody@*").Reply(550, "5.1.1 no such user")))
	mine, other := srv.NewInbox("mine"), srv.NewInbox("other")
	otherC, err := smtp.Dial(srv.Addr()) // session 1: the other test's, open
	if err != nil {
		t.Fatal(err)
	}
	defer otherC.Close()
	if err := otherC.Mail("app@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := otherC.Rcpt(other.Address("bob")); err != nil {
		t.Fatal(err)
	}
	c, err := smtp.Dial(srv.Addr()) // session 2: mine, not yet named
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("mine.example"); err != nil {
		t.Fatal(err)
	}
	if got := mine.Sessions(); len(got) != 0 {
		t.Fatalf("Sessions before any RCPT: %d sessions, want none", len(got))
	}
	done := waitForInboxSessions(mine, 1)
	if err := c.Mail("app@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("nobody@" + strings.ToUpper(mine.Domain())); err == nil {
		t.Fatal("RCPT of nobody: taken, want 550")
	}
	if got := mine.Sessions(); len(got) != 1 || got[0].ID != 2 || got[0].Ended != mocksmtp.Live {
		t.Fatalf("Sessions after a refused RCPT: %v, want session 2, live", got)
	}
	select {
	case r := <-done:
		t.Fatalf("the wait ended while the session was open: %v %v", r.ss, r.err)
	default:
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || len(r.ss) != 1 || r.ss[0].ID != 2 || r.ss[0].Ended != mocksmtp.EndQuit {
		t.Fatalf("WaitForSessionsContext: %v %v, want session 2, ended", r.ss, r.err)
	}
	if got := other.Sessions(); len(got) != 1 || got[0].ID != 1 {
		t.Errorf("the other inbox's sessions: %v, want session 1", got)
	}

	// After a Reset, only sessions that name the inbox again are its own:
	// the other test's open session, which names it now.
	mine.Reset()
	if got := mine.Sessions(); len(got) != 0 {
		t.Errorf("Sessions after Reset: %v, want none", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if ss, err := mine.WaitForSessionsContext(ctx, 1); err == nil || len(ss) != 0 ||
		!strings.Contains(err.Error(), "waiting for 1 ended session in "+mine.Domain()+", got 0") {
		t.Errorf("a wait after Reset: %v %v, want a timeout with none", ss, err)
	}
	if err := otherC.Rcpt(mine.Address("carol")); err != nil {
		t.Fatal(err)
	}
	if got := mine.Sessions(); len(got) != 1 || got[0].ID != 1 {
		t.Errorf("Sessions after session 1 named the inbox: %v, want session 1", got)
	}
}

// waited is what a wait for sessions returned.
type waited struct {
	ss  []*mocksmtp.Session
	err error
}

// waitForInboxSessions waits, in a goroutine, for n of in's sessions to
// end (Inbox.WaitForSessionsContext, for at most 20s): the channel gets
// what it returned.
func waitForInboxSessions(in *mocksmtp.Inbox, n int) <-chan waited {
	done := make(chan waited, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		ss, err := in.WaitForSessionsContext(ctx, n)
		done <- waited{ss, err}
	}()
	return done
}

// A wait for an inbox's sessions counts what Inbox.Sessions has when it
// looks, however the sessions it counted went meanwhile: one that ended
// before the inbox's Reset, or the server's, or that WithRetention
// forgot, counts no more, and the wait goes on until enough of those
// left have ended.
func TestInboxWaitForSessionsForgets(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		opts    []mocksmtp.Option
		between func(srv *mocksmtp.Server, mine *mocksmtp.Inbox) error // after session 1, mine, ended
		want    []int
	}{
		{"Inbox.Reset", nil, func(_ *mocksmtp.Server, mine *mocksmtp.Inbox) error {
			mine.Reset()
			return nil
		}, []int{2, 3}},
		{"Server.Reset", nil, func(srv *mocksmtp.Server, _ *mocksmtp.Inbox) error {
			srv.Reset()
			return nil
		}, []int{2, 3}},
		{"WithRetention", []mocksmtp.Option{mocksmtp.WithRetention(2)}, func(srv *mocksmtp.Server, _ *mocksmtp.Inbox) error {
			// Two sessions of another test's: session 1 and its message go.
			for range 2 {
				if err := sendWelcome(srv.Addr(), "someone@example.com"); err != nil {
					return err
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			return srv.WaitUntilContext(ctx, func() bool { return srv.Session(1) == nil })
		}, []int{4, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t, tc.opts...)
			mine := srv.NewInbox("mine")
			done := waitForInboxSessions(mine, 2)
			if err := sendWelcome(srv.Addr(), mine.Address("bob")); err != nil {
				t.Fatal(err)
			}
			srv.WaitForSessionEnd(t, 1)
			if err := tc.between(srv, mine); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if err := sendWelcome(srv.Addr(), mine.Address("bob")); err != nil {
					t.Fatal(err)
				}
			}
			r := <-done
			var got []int
			for _, s := range r.ss {
				if s.Ended == mocksmtp.Live {
					t.Errorf("session %d is live", s.ID)
				}
				got = append(got, s.ID)
			}
			if r.err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("WaitForSessionsContext(2): sessions %v, %v; want %v", got, r.err, tc.want)
			}
		})
	}
}
