package mocksmtp_test

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mocksmtp/mocksmtp"
)

// An IdleReply that fired belongs to the script it fired from:
// ClearFaults and ReplaceFaults remove its fault, and Reset starts every
// fault afresh, as on a new server with the same faults, so a session
// idle across them is not closed by it. It was: the client of a test
// that had cleared its faults got the removed fault's 421.
func TestIdleReplyEndsWithItsScript(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*mocksmtp.Server) error
	}{
		{"ClearFaults", func(s *mocksmtp.Server) error { s.ClearFaults(); return nil }},
		{"ReplaceFaults", func(s *mocksmtp.Server) error {
			return s.ReplaceFaults(mocksmtp.At(mocksmtp.StageRcpt).Reply(452, "4.5.3 later"))
		}},
		{"ReplaceFaults with the same fault", func(s *mocksmtp.Server) error {
			return s.ReplaceFaults(mocksmtp.At(mocksmtp.StageHelo).IdleReply(time.Minute, 421, "4.4.2 idle too long"))
		}},
		{"Reset", func(s *mocksmtp.Server) error { s.Reset(); return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(
					mocksmtp.At(mocksmtp.StageHelo).IdleReply(time.Minute, 421, "4.4.2 idle too long"),
				))
				c := dialBubble(t, srv)
				c.must("", 220)
				c.must("EHLO client.example", 250)
				synctest.Wait() // the session waits for its next command
				if err := tc.change(srv); err != nil {
					t.Fatal(err)
				}
				time.Sleep(2 * time.Minute)
				c.must("NOOP", 250)
				c.must("QUIT", 221)
			})
		})
	}
}

// Before ClearFaults, the same IdleReply does close the idle session.
func TestIdleReplyBeforeClearFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(
			mocksmtp.At(mocksmtp.StageHelo).IdleReply(time.Minute, 421, "4.4.2 idle too long"),
		))
		c := dialBubble(t, srv)
		c.must("", 220)
		c.must("EHLO client.example", 250)
		time.Sleep(2 * time.Minute)
		c.must("", 421)
		srv.ClearFaults() // after the fact: changes nothing
	})
}

// RateLimitPer allows n transactions per interval: a MAIL that a later
// fault refuses, or that the engine refuses (out of sequence, bad
// syntax), is no transaction and leaves the limit's room to the next. It
// did not: a MAIL refused after the limit let it through used the room
// up, and the next one got the limit's 451 with no transaction made.
func TestRateLimitPerCountsTransactions(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(
		mocksmtp.RateLimitPer(1, time.Hour),
		mocksmtp.At(mocksmtp.StageMail).ForSender("refused@example.com").Reply(550, "5.7.1 not you"),
	))
	c := dialFault(t, srv)
	c.must("", 220)
	c.must("MAIL FROM:<a@example.com>", 503) // before EHLO: the engine's
	c.must("EHLO client.example", 250)
	c.must("MAIL FROM:<a@example.com", 501)        // the engine's
	c.must("MAIL FROM:<refused@example.com>", 550) // the later fault's
	c.must("MAIL FROM:<a@example.com>", 250)       // the hour's one transaction
	c.must("RSET", 250)
	c.must("MAIL FROM:<b@example.com>", 451) // the limit's
	c.must("QUIT", 221)
}

// A MAIL whose session ends before its reply (the client gives up
// during a fault's delay) is no transaction either.
func TestRateLimitPerForgetsAMailNeverAnswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(
			mocksmtp.RateLimitPer(1, time.Hour),
			mocksmtp.At(mocksmtp.StageMail).AtMost(1).Delay(time.Minute),
		))
		c := dialBubble(t, srv)
		c.must("", 220)
		c.must("EHLO client.example", 250)
		c.send("MAIL FROM:<a@example.com>")
		time.Sleep(10 * time.Second)
		c.conn.Close()
		srv.WaitForSessions(t, 1)
		c = dialBubble(t, srv)
		c.must("", 220)
		c.must("EHLO client.example", 250)
		c.must("MAIL FROM:<a@example.com>", 250)
		c.must("QUIT", 221)
	})
}

// RawReply, which Fault.Err points to for a positive reply a stage does
// not mean, is that lie on the wire: the client reads 250 to DATA while
// the server goes on as after its 354 and reads the message.
func TestRawReplyAtDataTellsTheClientAnotherCode(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageData).RawReply("250 2.0.0 ok\r\n")))
	c := dialFault(t, srv)
	c.must("", 220)
	c.must("EHLO client.example", 250)
	c.must("MAIL FROM:<a@example.com>", 250)
	c.must("RCPT TO:<b@example.com>", 250)
	c.must("DATA", 250)
	c.must("Subject: x\r\n\r\nbody\r\n.", 250)
	c.must("QUIT", 221)
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

// The errors that say which option a fault needs name the Go options,
// or, with WithOptionNames, what a program's users set instead; a name
// mapped to "" is left out.
func TestFaultErrorsNameOptionsAsTold(t *testing.T) {
	t.Parallel()
	auth := mocksmtp.At(mocksmtp.StageAuth).Reply(454, "4.7.0 later")
	bdat := mocksmtp.At(mocksmtp.StageBdat).Reply(554, "5.5.1 no")
	for _, tt := range []struct {
		opts []mocksmtp.Option
		want string
	}{
		{[]mocksmtp.Option{mocksmtp.WithFault(auth)}, "add WithAuth, WithOAuthToken or WithAuthFunc"},
		{[]mocksmtp.Option{mocksmtp.WithFault(auth), mocksmtp.WithOptionNames(map[string]string{"WithAuth": "-auth", "WithAuthFunc": "-auth-any", "WithOAuthToken": ""})},
			"add -auth or -auth-any"},
		{[]mocksmtp.Option{mocksmtp.WithoutExtensions("CHUNKING"), mocksmtp.WithFault(bdat)}, "(turned off with WithoutExtensions or WithEngineConfig)"},
		{[]mocksmtp.Option{mocksmtp.WithoutExtensions("CHUNKING"), mocksmtp.WithFault(bdat), mocksmtp.WithOptionNames(map[string]string{"WithEngineConfig": ""})},
			"(turned off with WithoutExtensions)"},
	} {
		_, err := mocksmtp.New(tt.opts...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New = %v, want an error saying %q", err, tt.want)
		}
	}
	srv := mocksmtp.Start(t, mocksmtp.WithOptionNames(map[string]string{"WithSTARTTLS": "-tls"}))
	if err := srv.AddFault(mocksmtp.At(mocksmtp.StageStartTLS).Reply(454, "4.7.0 no")); err == nil || !strings.HasSuffix(err.Error(), "would never fire: add -tls") {
		t.Errorf("AddFault = %v, want an error ending %q", err, "add -tls")
	}
}

// RateLimit counts the transactions of its connection: a MAIL a later
// fault refused is none.
func TestRateLimitCountsTransactions(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(
		mocksmtp.RateLimit(1),
		mocksmtp.At(mocksmtp.StageMail).ForSender("refused@example.com").Reply(550, "5.7.1 not you"),
	))
	c := dialFault(t, srv)
	c.must("", 220)
	c.must("EHLO client.example", 250)
	c.must("MAIL FROM:<refused@example.com>", 550)
	c.must("MAIL FROM:<a@example.com>", 250)
	c.must("RSET", 250)
	c.must("MAIL FROM:<b@example.com>", 421)
}

// A ClearFaults that comes as the idle time runs out is too late, as a
// command then is: the session is closed, every run. It was closed or
// not by which goroutine of that instant the runtime ran first, the
// idle timer's or the test's, one run in two.
func TestIdleReplyClearedAtItsDeadline(t *testing.T) {
	for range 100 {
		synctest.Test(t, func(t *testing.T) {
			srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(
				mocksmtp.At(mocksmtp.StageHelo).IdleReply(time.Minute, 421, "4.4.2 idle too long"),
			))
			c := dialBubble(t, srv)
			c.must("", 220)
			c.must("EHLO client.example", 250)
			time.Sleep(time.Minute)
			srv.ClearFaults()
			start := time.Now()
			if got, err := c.r.ReadString('\n'); got != "421 4.4.2 idle too long\r\n" || time.Since(start) != 0 {
				t.Fatalf("after ClearFaults at the idle deadline, read %q, %v after %v; want the fault's 421 at once", got, err, time.Since(start))
			}
		})
	}
}

// An option that WithOptionNames leaves out (mapped to "") is not named:
// an error that would say only that option says what it needs in words,
// not "add " with nothing after it.
func TestFaultErrorsLeaveOutOptionsUnnamed(t *testing.T) {
	t.Parallel()
	none := mocksmtp.WithOptionNames(map[string]string{
		"WithSTARTTLS": "", "WithImplicitTLS": "", "WithAuth": "", "WithOAuthToken": "", "WithAuthFunc": "",
	})
	for _, tt := range []struct {
		name string
		opts []mocksmtp.Option
	}{
		{"STARTTLS without it", []mocksmtp.Option{none, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageStartTLS).Reply(454, "4.7.0 no"))}},
		{"AUTH without it", []mocksmtp.Option{none, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageAuth).Reply(454, "4.7.0 no"))}},
		{"STARTTLS with implicit TLS", []mocksmtp.Option{none, mocksmtp.WithImplicitTLS(), mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageStartTLS).Reply(454, "4.7.0 no"))}},
		{"a TLS failure at connect without implicit TLS", []mocksmtp.Option{none, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageConnect).AbortHandshake())}},
	} {
		_, err := mocksmtp.New(tt.opts...)
		if err == nil {
			t.Errorf("%s: New succeeded, want an error", tt.name)
			continue
		}
		msg := err.Error()
		for _, bad := range []string{"add ", " of ;", " with  ", "With"} {
			if strings.Contains(msg, bad) || strings.HasSuffix(msg, "add") {
				t.Errorf("%s: New = %v; it names an option left out, or leaves a hole (%q)", tt.name, err, bad)
			}
		}
	}
}

// WithOptionNames refuses a name that no error says: a misspelt one
// ("WithStartTLS") would rename nothing, and the errors would keep the Go
// name the program meant to hide.
func TestWithOptionNamesRefusesAnUnknownName(t *testing.T) {
	t.Parallel()
	_, err := mocksmtp.New(mocksmtp.WithOptionNames(map[string]string{"WithSTARTTLS": "-tls", "WithStartTLS": "-tls"}))
	if err == nil || !strings.Contains(err.Error(), `"WithStartTLS"`) {
		t.Errorf("New with a misspelt option name = %v, want an error naming it", err)
	}
	srv, err := mocksmtp.New(mocksmtp.WithOptionNames(map[string]string{"WithSTARTTLS": "-tls", "WithEngineConfig": ""}))
	if err != nil {
		t.Fatalf("New with known option names: %v", err)
	}
	srv.Close()
}

// An AUTH whose credentials were accepted but which a fault refused is
// recorded as the client saw it: Success (the credentials were good), and
// Refused, the reply it got instead of 235, in the session and in the
// messages it sent after it. Its String does not say "ok".
func TestAuthRefusedByAFaultIsRecordedAsRefused(t *testing.T) {
	t.Parallel()
	plain := "AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00alice\x00secret"))
	for _, tt := range []struct {
		name  string
		fault mocksmtp.Fault
		code  int // what the client reads after AUTH; 0: nothing, the connection closed
		want  string
	}{
		{"reply", mocksmtp.At(mocksmtp.StageAuth).OnAttempt(1).Reply(535, "5.7.8 nope"), 535, "535 5.7.8 nope"},
		{"raw reply", mocksmtp.At(mocksmtp.StageAuth).OnAttempt(1).RawReply("454 later\r\n"), 454, `raw reply "454 later\r\n"`},
		{"drop", mocksmtp.At(mocksmtp.StageAuth).OnAttempt(1).Drop(), 0, "no reply"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t, mocksmtp.WithAuth("alice", "secret"), mocksmtp.WithFault(tt.fault))
			c := dialFault(t, srv)
			c.must("", 220)
			c.must("EHLO client.example", 250)
			if tt.code == 0 {
				c.send(plain)
				c.expectClosed()
			} else {
				c.must(plain, tt.code)
				c.must("MAIL FROM:<a@example.com>", 250)
				c.must("RCPT TO:<b@example.com>", 250)
				c.must("DATA", 354)
				c.must("Subject: x\r\n\r\nbody\r\n.", 250)
				c.must("QUIT", 221)
			}
			s := srv.WaitForSessionEnd(t, 1)
			want := &mocksmtp.AuthInfo{Mechanism: mocksmtp.AuthPlain, Username: "alice", Success: true, Refused: tt.want}
			if diff := cmp.Diff(want, s.Auth); diff != "" {
				t.Errorf("Session.Auth (-want +got):\n%s", diff)
			}
			if got, wantText := s.Auth.String(), "PLAIN alice refused: "+tt.want+" (credentials accepted)"; got != wantText {
				t.Errorf("Auth.String() = %q, want %q", got, wantText)
			}
			for _, m := range s.Messages {
				if diff := cmp.Diff(want, m.Session.Auth); diff != "" {
					t.Errorf("message %d's Session.Auth (-want +got):\n%s", m.ID, diff)
				}
			}
		})
	}
}

// An AUTH whose good credentials a fault delays gets no 235 when the
// client leaves during the delay, or when the server closes during it
// (the client gets 421): the record says what the client got, as for a
// fault's own refusal. It said "PLAIN alice ok", as if the client had
// been authenticated.
func TestAuthDelayedUntilTheSessionEndsIsRecordedAsRefused(t *testing.T) {
	t.Parallel()
	plain := "AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00alice\x00secret"))
	for _, tt := range []struct {
		name string
		end  func(*mocksmtp.Server, *faultConn)
		want string
	}{
		{"the client leaves", func(_ *mocksmtp.Server, c *faultConn) { c.conn.Close() }, "no reply"},
		{"the server closes", func(srv *mocksmtp.Server, c *faultConn) {
			srv.Close()
			c.must("", 421)
		}, "421 4.3.2 Service shutting down"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t, mocksmtp.WithAuth("alice", "secret"),
				mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageAuth).Delay(time.Hour)))
			c := dialFault(t, srv)
			c.must("", 220)
			c.must("EHLO client.example", 250)
			c.send(plain)
			srv.WaitUntil(t, "the fault at AUTH fired", func() bool {
				return slices.ContainsFunc(srv.Session(1).Transcript, func(l mocksmtp.Line) bool {
					return strings.HasPrefix(l.Text, "fault ") && strings.Contains(l.Text, "AUTH attempt 1")
				})
			})
			tt.end(srv, c)
			s := srv.WaitForSessionEnd(t, 1)
			want := &mocksmtp.AuthInfo{Mechanism: mocksmtp.AuthPlain, Username: "alice", Success: true, Refused: tt.want}
			if diff := cmp.Diff(want, s.Auth); diff != "" {
				t.Errorf("Session.Auth (-want +got):\n%s", diff)
			}
		})
	}
}

// An AUTH whose 235 a fault paces (Trickle, SplitReply) is not
// authenticated for a client that leaves before the whole 235 reached
// it: it read a part of a reply, no 235. The record says so, in Refused,
// as for a reply the client never got; the String does not say "ok".
func TestAuthReplyCutByTheClientLeavingIsRecordedAsRefused(t *testing.T) {
	t.Parallel()
	plain := "AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00alice\x00secret"))
	for _, tt := range []struct {
		name  string
		fault mocksmtp.Fault
		first string // what the client reads before it leaves
		want  string // Refused
	}{
		{"trickle", mocksmtp.At(mocksmtp.StageAuth).Trickle(1, time.Hour), "2", "part of 235 2.7.0 Authentication successful"},
		{"split", mocksmtp.At(mocksmtp.StageAuth).SplitReply(3, time.Hour), "235", "part of 235 2.7.0 Authentication successful"},
		{"raw, trickled", mocksmtp.At(mocksmtp.StageAuth).RawReply("235 go\r\n").Trickle(4, time.Hour), "235 ", `part of raw reply "235 go\r\n"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t, mocksmtp.WithAuth("alice", "secret"), mocksmtp.WithFault(tt.fault))
			c := dialFault(t, srv)
			c.must("", 220)
			c.must("EHLO client.example", 250)
			c.send(plain)
			if got, _ := faultReadPieces(t, c.conn, len(tt.first)); got != tt.first {
				t.Fatalf("the first piece of the reply: %q, want %q", got, tt.first)
			}
			c.conn.Close()
			s := srv.WaitForSessionEnd(t, 1)
			want := &mocksmtp.AuthInfo{Mechanism: mocksmtp.AuthPlain, Username: "alice", Success: true, Refused: tt.want}
			if diff := cmp.Diff(want, s.Auth); diff != "" {
				t.Errorf("Session.Auth (-want +got):\n%s", diff)
			}
			if got := s.Auth.String(); !strings.Contains(got, "refused") {
				t.Errorf("Auth.String() = %q, want it refused", got)
			}
			// The transcript has the whole reply, and says it was cut.
			cut := fmt.Sprintf("reply cut short after %d of ", len(tt.first))
			if !slices.ContainsFunc(s.Transcript, func(l mocksmtp.Line) bool { return strings.HasPrefix(l.Text, cut) }) {
				t.Errorf("no note %q… in the transcript", cut)
			}
		})
	}
}
