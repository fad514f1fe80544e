package mocksmtp_test

import (
	"bufio"
	"errors"
	"net"
	"net/smtp"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// TestServerReports runs failing waits and cleanups against a recording
// testing.TB and compares what the test printed, failures and log, with
// testdata/expect/name.golden (-update rewrites them). The server logs its
// transcripts at cleanup, as it does by default: a report must not print
// them a second time.
func TestServerReports(t *testing.T) {
	t.Parallel()
	type tb = *expT
	type srv = *mocksmtp.Server
	short := mocksmtp.WithWaitTimeout(20 * time.Millisecond)
	tests := []struct {
		name string
		opts []mocksmtp.Option
		// body runs as the test; later runs after the test's cleanup,
		// so that a client it leaves open is still open when the server
		// closes.
		body func(t tb, s srv, later func(func()))
	}{
		{"wait_for_messages_timeout", []mocksmtp.Option{short}, func(t tb, s srv, later func(func())) {
			expSend(t, s.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Welcome", "Hello."))
			later(repOpenEHLO(t, s.Addr()))
			s.WaitForMessages(t, 2)
		}},
		{"wait_for_messages_closed", nil, func(t tb, s srv, later func(func())) {
			s.Close()
			s.WaitForMessages(t, 1)
		}},
		{"wait_for_sessions_timeout", []mocksmtp.Option{short}, func(t tb, s srv, later func(func())) {
			expSend(t, s.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Welcome", "Hello."))
			later(repOpenEHLO(t, s.Addr()))
			s.WaitForSessions(t, 2)
		}},
		{"wait_until_timeout", []mocksmtp.Option{short}, func(t tb, s srv, later func(func())) {
			later(repOpenEHLO(t, s.Addr()))
			s.WaitUntil(t, "the fault to fire", func() bool { return false })
		}},
		{"inbox_wait_for_messages_timeout", []mocksmtp.Option{short}, func(t tb, s srv, later func(func())) {
			in := s.Inbox(t)
			expSend(t, s.Addr(), "app@example.com", []string{in.Address("bob")}, expMsg("Welcome", "Hello."))
			expSend(t, s.Addr(), "app@example.com", []string{"carol@example.com"}, expMsg("Welcome", "Hello."))
			in.WaitForMessages(t, 2)
		}},
		// In memory, the reports say so, and how a client connects,
		// rather than name an address no client reaches.
		{"in_memory_wait_for_messages_timeout", []mocksmtp.Option{short, mocksmtp.WithInMemory()}, func(t tb, s srv, later func(func())) {
			s.WaitForMessages(t, 1)
		}},
		{"in_memory_wait_for_timeout", []mocksmtp.Option{short, mocksmtp.WithInMemory()}, func(t tb, s srv, later func(func())) {
			s.WaitFor(t, mocksmtp.Want{Subject: "Welcome"})
		}},
		{"strict_findings", []mocksmtp.Option{mocksmtp.WithStrict()}, func(t tb, s srv, later func(func())) {
			c, err := net.Dial("tcp", s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			r := bufio.NewReader(c)
			if _, err := r.ReadString('\n'); err != nil {
				t.Fatal(err)
			}
			c.Close() // without QUIT
			s.WaitForSessions(t, 1)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var laters []func()
			ft := &expT{name: "TestSignup"}
			ft.run(func() {
				s := mocksmtp.Start(ft, tc.opts...)
				tc.body(ft, s, func(f func()) { laters = append(laters, f) })
			})
			for _, f := range laters {
				f()
			}
			if !ft.Failed() {
				t.Fatal("the scenario did not fail")
			}
			ft.mu.Lock()
			got := strings.Join(ft.errors, "\n----\n") + "\n---- log ----\n" + strings.Join(ft.logs, "\n----\n")
			ft.mu.Unlock()
			expGolden(t, "report_"+tc.name, got)
		})
	}
}

// repOpenEHLO opens a session that says EHLO and stays open, and returns
// the function that closes it.
func repOpenEHLO(t testing.TB, addr string) func() {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if err := c.Hello("localhost"); err != nil {
		c.Close()
		t.Fatalf("EHLO: %v", err)
	}
	return func() { c.Close() }
}

// TestReportSessionThatQuit checks that a report taken as soon as the
// client's QUIT returned tells the session ended, although the server may
// not have recorded its end yet.
func TestReportSessionThatQuit(t *testing.T) {
	t.Parallel()
	for range 20 {
		got := expCheck(func(ft *expT, s *mocksmtp.Server) {
			c, err := smtp.Dial(s.Addr())
			if err != nil {
				ft.Fatal(err)
			}
			if err := c.Mail("app@example.com"); err != nil {
				ft.Fatal(err)
			}
			if err := c.Quit(); err != nil {
				ft.Fatal(err)
			}
			s.AssertMessage(ft, mocksmtp.Want{Subject: "Welcome"})
		})
		if !strings.Contains(got, "session 1, ended: QUIT; lines 1-14 of 14:") {
			t.Fatalf("report:\n%s\nwant session 1 ended by QUIT", got)
		}
	}
}

// TestVerifyReportHeaders checks that a report without a test names the
// call that registered what failed.
func TestVerifyReportHeaders(t *testing.T) {
	t.Parallel()
	srv, err := mocksmtp.New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	in := srv.NewInbox("signup")
	if err := srv.ForbidMessages(); err != nil {
		t.Fatal(err)
	}
	if err := in.ForbidOtherMessages(); err != nil {
		t.Fatal(err)
	}
	expSend(t, srv.Addr(), "app@example.com", []string{in.Address("bob")}, expMsg("Welcome", "Hello."))
	var got []string
	for _, err := range []error{srv.Verify(), in.Verify()} {
		if err == nil {
			t.Fatal("Verify passed with a forbidden message")
		}
		got = append(got, err.Error())
	}
	expGolden(t, "report_verify_forbid", strings.Join(got, "\n----\n"))
}

// TestCleanupReportsAtUsersLine runs a failing test in a child process
// and checks that what fails at cleanup (an expectation of a subtest, the
// findings of WithStrict, the transcripts) is reported at the user's line
// that the text names, not in mocksmtp's code.
func TestCleanupReportsAtUsersLine(t *testing.T) {
	t.Parallel()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCleanupReportsAtUsersLineHelper$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "MOCKSMTP_CLEANUP_HELPER=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("the helper test: %v, want it to fail; output:\n%s", err, out)
	}
	re := regexp.MustCompile(`(?m)^\s+(\w+\.go:\d+): mocksmtp: (Start|expectation) at (\w+\.go:\d+)\b`)
	var kinds []string
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		kinds = append(kinds, m[2])
		if m[1] != m[3] {
			t.Errorf("reported at %s, about %s: %q", m[1], m[3], m[0])
		}
	}
	if want := []string{"expectation", "Start", "Start"}; !slices.Equal(kinds, want) {
		t.Errorf("reports %q, want %q; output:\n%s", kinds, want, out)
	}
}

func TestCleanupReportsAtUsersLineHelper(t *testing.T) {
	if os.Getenv("MOCKSMTP_CLEANUP_HELPER") == "" {
		t.Skip("run by TestCleanupReportsAtUsersLine, in a child process")
	}
	srv := mocksmtp.Start(t, mocksmtp.WithStrict())
	t.Run("sub", func(t *testing.T) {
		srv.Expect(t, mocksmtp.Want{Subject: "Reset your password"}) // not met
	})
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c.Close() // without QUIT: a finding
	srv.WaitForSessions(t, 1)
}

// TestCleanupReportsAtUsersLineInBubble is TestCleanupReportsAtUsersLine
// inside a testing/synctest bubble, where the testing package reports
// what a helper's cleanup prints at its own wrapper of the cleanup
// ("testing.go:1317" in Go 1.26): each report of the cleanups of Start
// and Inbox is at the line that registered the cleanup, as outside a
// bubble, and so is what Close logs while it waits for a session, from a
// timer's goroutine.
func TestCleanupReportsAtUsersLineInBubble(t *testing.T) {
	t.Parallel()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCleanupReportsAtUsersLineInBubbleHelper$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "MOCKSMTP_CLEANUP_HELPER=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("the helper test: %v, want it to fail; output:\n%s", err, out)
	}
	lines := regexp.MustCompile(`lines: Start (\S+), Inbox (\S+), other Inbox (\S+)`).FindStringSubmatch(string(out))
	if lines == nil {
		t.Fatalf("the helper logged no lines; output:\n%s", out)
	}
	calls := map[string]string{lines[1]: "Start", lines[2]: "Inbox", lines[3]: "other Inbox"}
	kinds := []struct{ text, kind string }{
		{"a message went to this test's inbox", "crossed"},
		{"Close has waited", "Close waited"},
		{"expectation at", "expectation"},
		{"the client broke the rules", "findings"},
		{"the test failed", "transcripts"},
	}
	var got []string
	for _, m := range regexp.MustCompile(`(?m)^\s+(\S+\.go:\d+): (mocksmtp: .*)$`).FindAllStringSubmatch(string(out), -1) {
		at, kind := m[1], m[2]
		if call, ok := calls[at]; ok {
			at = call
		}
		for _, k := range kinds {
			if strings.Contains(kind, k.text) {
				kind = k.kind
				break
			}
		}
		got = append(got, at+": "+kind)
	}
	want := []string{
		"other Inbox: crossed",
		"Inbox: crossed",
		"Start: Close waited",
		"Start: expectation", // of Start's test: Start's cleanup reports it
		"Start: findings",
		"Start: transcripts",
	}
	if !slices.Equal(got, want) {
		t.Errorf("reports at %q, want %q; output:\n%s", got, want, out)
	}
}

func TestCleanupReportsAtUsersLineInBubbleHelper(t *testing.T) {
	if os.Getenv("MOCKSMTP_CLEANUP_HELPER") == "" {
		t.Skip("run by TestCleanupReportsAtUsersLineInBubble, in a child process")
	}
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		go func() {
			time.Sleep(time.Minute) // in fake time, after Close has waited 5s and logged
			close(release)
		}()
		block := mocksmtp.WithOnSessionEnd(func(*mocksmtp.Session) { <-release })
		srv, start := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithStrict(), block), faultHere()
		srv.Expect(t, mocksmtp.Want{Subject: "Reset your password"}) // not met
		in, inbox := srv.Inbox(t), faultHere()
		other, otherInbox := srv.Inbox(t), faultHere()

		// One message to both inboxes, and no QUIT: a finding.
		conn, err := srv.Dial()
		if err != nil {
			t.Fatal(err)
		}
		c, err := smtp.NewClient(conn, "localhost")
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range []error{c.Mail("app@example.com"), c.Rcpt(in.Address("bob")), c.Rcpt(other.Address("carol"))} {
			if err != nil {
				t.Fatal(err)
			}
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("Subject: Welcome\r\n\r\nHello.\r\n")); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		conn.Close()
		synctest.Wait() // the session ended, and is in the callback
		t.Logf("lines: Start %s, Inbox %s, other Inbox %s", start, inbox, otherInbox)
	})
}

// TestWaitReportInBubbleNamesTheClock: in a testing/synctest bubble, a
// test waits for the message of a client that was refused and backs off a
// minute before it tries again; the wait's 5 s pass first, in no time. The
// report says that they were the bubble's and what gives the wait longer
// (WithWaitTimeout), for each wait of a test; no session is open then, so
// no transcript shows the client waiting.
func TestWaitReportInBubbleNamesTheClock(t *testing.T) {
	t.Parallel()
	waits := map[string]func(ft *expT, srv *mocksmtp.Server){
		"WaitForMessages":   func(ft *expT, srv *mocksmtp.Server) { srv.WaitForMessages(ft, 1) },
		"WaitFor":           func(ft *expT, srv *mocksmtp.Server) { srv.WaitFor(ft, mocksmtp.Want{Subject: "Welcome"}) },
		"WaitForSessions":   func(ft *expT, srv *mocksmtp.Server) { srv.WaitForSessions(ft, 2) },
		"WaitForSessionEnd": func(ft *expT, srv *mocksmtp.Server) { srv.WaitForSessionEnd(ft, 2) },
		"Inbox.WaitFor":     func(ft *expT, srv *mocksmtp.Server) { srv.Inbox(ft).WaitFor(ft, mocksmtp.Want{Subject: "Welcome"}) },
	}
	for name, wait := range waits {
		var got string
		synctest.Test(t, func(t *testing.T) {
			ft := &expT{name: "TestSignup"}
			client := make(chan struct{})
			ft.run(func() {
				srv := mocksmtp.Start(ft, mocksmtp.WithInMemory(), mocksmtp.WithoutTranscriptLog(),
					mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageRcpt).OnAttempt(1).Reply(451, "4.3.0 try again")))
				go func() { // the code under test: one try, a minute's backoff, a second try
					defer close(client)
					for try := range 2 {
						if try > 0 {
							time.Sleep(time.Minute)
						}
						conn, err := srv.Dial()
						if err != nil {
							return
						}
						c, err := smtp.NewClient(conn, srv.Host())
						if err == nil && c.Mail("app@example.com") == nil && c.Rcpt("bob@example.com") == nil {
							c.Quit()
						}
						conn.Close()
					}
				}()
				wait(ft, srv)
			})
			<-client
			ft.mu.Lock()
			got = strings.Join(ft.errors, "\n")
			ft.mu.Unlock()
		})
		if !strings.Contains(got, "the wait's 5s are of the bubble's clock") || !strings.Contains(got, "WithWaitTimeout") {
			t.Errorf("%s: the report does not say that its 5s were the bubble's, nor what gives it longer:\n%s", name, got)
		}
	}
}
