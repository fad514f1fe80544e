package mocksmtp_test

import (
	"context"
	"errors"
	"net/smtp"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
)

// An expectation registered on a subtest is checked when the subtest
// ends and fails the subtest, not the parent: on a server of the parent's
// Start, and on one from New.
func TestExpectOnSubtest(t *testing.T) {
	t.Parallel()
	for _, fromNew := range []bool{false, true} {
		parent := &expT{name: "TestParent"}
		child := &expT{name: "TestParent/sub"}
		parent.run(func() {
			var srv *mocksmtp.Server
			if fromNew {
				s, err := mocksmtp.New()
				if err != nil {
					parent.Fatal(err)
				}
				parent.Cleanup(func() { s.Close() })
				srv = s
			} else {
				srv = mocksmtp.Start(parent, mocksmtp.WithoutTranscriptLog())
			}
			srv.Expect(parent, mocksmtp.Want{Subject: "Welcome"})
			expSend(parent, srv.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Welcome", "Hello."))
			child.run(func() {
				srv.Expect(child, mocksmtp.Want{Subject: "Reset your password"})
				srv.ExpectNoOtherMessages(child)
			})
			// The subtest has ended: its expectations were checked then.
			if !child.Failed() || parent.Failed() {
				t.Errorf("New %v: after the subtest: subtest failed %v, parent failed %v; want only the subtest", fromNew, child.Failed(), parent.Failed())
			}
		})
		if got := parent.report(); got != "" {
			t.Errorf("New %v: the parent reported:\n%s", fromNew, got)
		}
		got := child.report()
		if !strings.Contains(got, `not met: want exactly 1 message like this, got 0:`) || !strings.Contains(got, "mocksmtp: ExpectNoOtherMessages at verify_test.go:") {
			t.Errorf("New %v: the subtest reported:\n%s", fromNew, got)
		}
	}
}

// The same with the testing package's own subtests, in a child process:
// the report is printed under the subtest, and the parent, after t.Run,
// sees the subtest failed.
func TestExpectOnRealSubtest(t *testing.T) {
	t.Parallel()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestExpectOnRealSubtestHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "MOCKSMTP_SUBTEST_HELPER=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("the helper test: %v, want it to fail; output:\n%s", err, out)
	}
	lines := strings.Split(string(out), "\n")
	sub, report, parentSaw := -1, -1, -1
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "    --- FAIL: TestExpectOnRealSubtestHelper/sub "):
			sub = i
		case strings.HasPrefix(l, "        ") && strings.Contains(l, ": mocksmtp: expectation at verify_test.go:"):
			report = i
		case strings.HasPrefix(l, "    ") && !strings.HasPrefix(l, "     ") && strings.Contains(l, "mocksmtp:"):
			t.Errorf("the parent test got a report: %q", l)
		case strings.HasPrefix(l, "    verify_test.go:") && strings.HasSuffix(l, "the subtest failed: true"):
			parentSaw = i
		}
	}
	if sub < 0 || report < sub || parentSaw < 0 {
		t.Errorf("want the report under the subtest's FAIL line, and the parent to see it failed; output:\n%s", out)
	}
}

func TestExpectOnRealSubtestHelper(t *testing.T) {
	if os.Getenv("MOCKSMTP_SUBTEST_HELPER") == "" {
		t.Skip("run by TestExpectOnRealSubtest, in a child process")
	}
	srv := mocksmtp.Start(t, mocksmtp.WithoutTranscriptLog())
	srv.Expect(t, mocksmtp.Want{Subject: "Welcome"}) // met
	expSend(t, srv.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Welcome", "Hello."))
	ok := t.Run("sub", func(t *testing.T) {
		srv.Expect(t, mocksmtp.Want{Subject: "Reset your password"}) // not met
	})
	t.Logf("the subtest failed: %v", !ok)
}

// scenario sends two messages: one nearly like the expected one, and one
// nobody expects.
func scenario(t testing.TB, srv *mocksmtp.Server) {
	t.Helper()
	expSend(t, srv.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Welcome!", "Hello."))
	expSend(t, srv.Addr(), "app@example.com", []string{"audit@example.com"}, expMsg("New user", "bob"))
	srv.WaitForSessions(t, 2) // so that both reports see the sessions ended
}

// Verify's error holds the reports the t form prints for the same
// failure, one per unmet expectation.
func TestVerifyReportsAsExpect(t *testing.T) {
	t.Parallel()
	want := mocksmtp.Want{To: []string{"bob@example.com"}, Subject: "Welcome"}

	first, err := mocksmtp.New()
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	ft := &expT{name: "TestSignup"}
	ft.run(func() {
		first.Expect(ft, want)
		first.ExpectNoOtherMessages(ft)
		scenario(ft, first)
	})

	srv, err := mocksmtp.New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := srv.AddExpectation(want); err != nil {
		t.Fatal(err)
	}
	if err := srv.ForbidOtherMessages(); err != nil {
		t.Fatal(err)
	}
	scenario(t, srv)
	verr := srv.Verify()
	var got, raw []string
	if u, ok := verr.(interface{ Unwrap() []error }); ok {
		for _, e := range u.Unwrap() {
			raw = append(raw, e.Error())
			got = append(got, expNormalize(e.Error()))
		}
	}
	var wantReports []string
	for _, r := range ft.errors {
		// The same report, but for the call it names.
		r = strings.Replace(r, "mocksmtp: ExpectNoOtherMessages at", "mocksmtp: ForbidOtherMessages at", 1)
		wantReports = append(wantReports, expNormalize(r))
	}
	if len(wantReports) != 2 {
		t.Fatalf("the t form reported %d failures, want 2:\n%s", len(wantReports), ft.report())
	}
	if diff := cmp.Diff(wantReports, got); diff != "" {
		t.Errorf("Verify's reports (-Expect's +Verify's):\n%s", diff)
	}
	if verr.Error() != strings.Join(raw, "\n") {
		t.Errorf("Verify's error is not its reports joined by newlines:\n%s", verr)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	srv, err := mocksmtp.New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Verify(); err != nil {
		t.Errorf("Verify with nothing registered = %v", err)
	}
	if e, err := srv.AddExpectation(mocksmtp.Want{TextMatches: `(`}); err == nil || e != nil || !strings.HasPrefix(err.Error(), "mocksmtp: expectation at verify_test.go:") {
		t.Errorf("AddExpectation of a bad regexp = %v, %v; want an error saying where", e, err)
	}
	e, err := srv.AddExpectation(mocksmtp.Want{Subject: "Welcome"})
	if err != nil {
		t.Fatal(err)
	}
	e.Times(2)
	if err := srv.Verify(); err == nil || !strings.Contains(err.Error(), "want exactly 2 messages like this, got 0") {
		t.Errorf("Verify before any mail = %v", err)
	}
	for range 2 {
		expSend(t, srv.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Welcome", "Hello."))
	}
	for range 2 { // Verify can be called again: the expectations stay
		if err := srv.Verify(); err != nil {
			t.Errorf("Verify after the mail = %v", err)
		}
	}

	// A bad number is Verify's to report.
	bad, err := srv.AddExpectation(mocksmtp.Want{Subject: "x"})
	if err != nil {
		t.Fatal(err)
	}
	bad.AtLeast(-1)
	if err := srv.Verify(); err == nil || !strings.HasPrefix(err.Error(), "mocksmtp: AtLeast(-1) for the expectation at verify_test.go:") {
		t.Errorf("Verify after AtLeast(-1) = %v", err)
	}

	// Reset forgets them, and the messages.
	srv.Reset()
	if err := srv.ForbidMessages(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Verify(); err != nil {
		t.Errorf("Verify after Reset = %v, want nil: the expectations are forgotten", err)
	}
	expSend(t, srv.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Welcome", "Hello."))
	if err := srv.Verify(); err == nil || !strings.HasPrefix(err.Error(), "mocksmtp: ForbidMessages at verify_test.go:") {
		t.Errorf("Verify after ForbidMessages and a message = %v", err)
	}

	srv.Close()
	if _, err := srv.AddExpectation(mocksmtp.Want{}); err == nil {
		t.Error("AddExpectation on a closed server succeeded")
	}
	if err := srv.ForbidOtherMessages(); err == nil {
		t.Error("ForbidOtherMessages on a closed server succeeded")
	}
}

func TestNewInbox(t *testing.T) {
	t.Parallel()
	srv, err := mocksmtp.New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	a, b, other := srv.NewInbox("My Program"), srv.NewInbox("My Program"), srv.NewInbox("")
	for _, tt := range []struct{ got, want string }{
		{a.Domain(), "my-program-1.inbox.test"},
		{b.Domain(), "my-program-2.inbox.test"},
		{other.Domain(), "test-1.inbox.test"},
	} {
		if tt.got != tt.want {
			t.Errorf("domain %q, want %q", tt.got, tt.want)
		}
	}

	if _, err := a.AddExpectation(mocksmtp.Want{Subject: "Welcome"}); err != nil {
		t.Fatal(err)
	}
	if err := a.ForbidOtherMessages(); err != nil {
		t.Fatal(err)
	}
	if err := b.ForbidMessages(); err != nil {
		t.Fatal(err)
	}
	expSend(t, srv.Addr(), "app@example.com", []string{other.Address("x")}, expMsg("Noise", "not for a or b"))
	if err := a.Verify(); err == nil || !strings.Contains(err.Error(), "(test-1.inbox.test), not to this one") {
		t.Errorf("a.Verify before its mail = %v", err)
	}
	expSend(t, srv.Addr(), "app@example.com", []string{a.Address("bob")}, expMsg("Welcome", "Hello."))
	if err := a.Verify(); err != nil {
		t.Errorf("a.Verify = %v", err)
	}
	if err := b.Verify(); err != nil {
		t.Errorf("b.Verify with mail only elsewhere = %v", err)
	}
	expSend(t, srv.Addr(), "app@example.com", []string{a.Address("bob")}, expMsg("Tips", "Hello."))
	if err := a.Verify(); err == nil || !strings.Contains(err.Error(), "1 of 2 messages met no expectation") {
		t.Errorf("a.Verify after an unexpected message = %v", err)
	}
	srv.Reset() // forgets the inboxes' expectations too
	if err := a.Verify(); err != nil {
		t.Errorf("a.Verify after Reset = %v", err)
	}
}

func TestInboxWaitsContext(t *testing.T) {
	t.Parallel()
	srv, err := mocksmtp.New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	in, other := srv.NewInbox("waits"), srv.NewInbox("other")
	go func() { // the code under test, in the background
		for _, to := range []string{other.Address("x"), in.Address("bob"), in.Address("ann")} {
			_ = smtpSend(srv.Addr(), to, "Welcome")
		}
	}()
	msgs, err := in.WaitForMessagesContext(t.Context(), 2)
	if err != nil || len(msgs) != 2 || msgs[0].To[0] != in.Address("bob") || msgs[1].To[0] != in.Address("ann") {
		t.Fatalf("WaitForMessagesContext = %v, %v", msgs, err)
	}
	m, err := in.WaitForContext(t.Context(), mocksmtp.Want{To: []string{in.Address("ann")}})
	if err != nil || m.ID != msgs[1].ID {
		t.Errorf("WaitForContext = %v, %v; want message %d", m, err, msgs[1].ID)
	}
	if _, err := in.WaitForContext(t.Context(), mocksmtp.Want{TextMatches: `(`}); err == nil {
		t.Error("WaitForContext with a bad regexp succeeded")
	}

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	msgs, err = in.WaitForMessagesContext(ctx, 3)
	if !errors.Is(err, context.DeadlineExceeded) || len(msgs) != 2 {
		t.Errorf("WaitForMessagesContext past the deadline = %d messages, %v; want 2 and DeadlineExceeded", len(msgs), err)
	}
	if _, err := in.WaitForContext(ctx, mocksmtp.Want{Subject: "never"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitForContext past the deadline = %v", err)
	}
	srv.Close()
	if _, err := in.WaitForMessagesContext(t.Context(), 3); !errors.Is(err, mocksmtp.ErrClosed) {
		t.Errorf("WaitForMessagesContext on a closed server = %v, want ErrClosed", err)
	}
	if _, err := in.WaitForContext(t.Context(), mocksmtp.Want{Subject: "never"}); !errors.Is(err, mocksmtp.ErrClosed) {
		t.Errorf("WaitForContext on a closed server = %v, want ErrClosed", err)
	}
}

// smtpSend sends a small message, for senders in the background.
func smtpSend(addr, to, subject string) error {
	return smtp.SendMail(addr, nil, "app@example.com", []string{to}, []byte("Subject: "+subject+"\r\n\r\nHi\r\n"))
}

// WaitForContext's error holds the report WaitFor fails a test with, on
// the server and on an inbox, but for the first line, which says why the
// wait ended.
func TestWaitForContextReportsAsWaitFor(t *testing.T) {
	t.Parallel()
	const timeout = 20 * time.Millisecond
	srv, err := mocksmtp.New(mocksmtp.WithWaitTimeout(timeout))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	in := srv.NewInbox("reports")
	expSend(t, srv.Addr(), "app@example.com", []string{in.Address("bob")}, expMsg("Welcome", "Hello."))
	expSend(t, srv.Addr(), "app@example.com", []string{"ann@example.com"}, expMsg("Welcome", "Hello."))
	// Not WaitForSessions: its wait timeout, 20 ms here for the reports
	// below, is shorter than a busy machine may take to end a session.
	sessCtx, sessCancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer sessCancel()
	if _, err := srv.WaitForSessionsContext(sessCtx, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := in.WaitForContext(t.Context(), mocksmtp.Want{Subject: "Welcome"}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		inbox bool
		want  mocksmtp.Want
	}{
		{"nearest", false, mocksmtp.Want{To: []string{"bob@example.com"}, Subject: "Reset your password"}},
		{"returned before", true, mocksmtp.Want{Subject: "Welcome"}},
		{"inbox nearest elsewhere", true, mocksmtp.Want{To: []string{"ann@example.com"}}},
	} {
		ft := &expT{name: "TestWait"}
		ft.run(func() {
			if tt.inbox {
				in.WaitFor(ft, tt.want)
			} else {
				srv.WaitFor(ft, tt.want)
			}
		})
		ctx, cancel := context.WithTimeout(t.Context(), timeout)
		var err error
		if tt.inbox {
			_, err = in.WaitForContext(ctx, tt.want)
		} else {
			_, err = srv.WaitForContext(ctx, tt.want)
		}
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: WaitForContext = %v, want DeadlineExceeded", tt.name, err)
		}
		name := "WaitFor"
		if tt.inbox {
			name = "Inbox.WaitFor"
		}
		wantFirst := "mocksmtp: " + name + "Context: no message like this before its context ended (context deadline exceeded):"
		first, rest, _ := strings.Cut(expNormalize(err.Error()), "\n")
		tFirst, tRest, _ := strings.Cut(expNormalize(ft.report()), "\n")
		if first != wantFirst || tFirst != "mocksmtp: "+name+": no message like this within 20ms:" {
			t.Errorf("%s: first lines %q and %q", tt.name, first, tFirst)
		}
		if diff := cmp.Diff(tRest, rest); diff != "" || rest == "" {
			t.Errorf("%s: reports (-WaitFor +WaitForContext):\n%s", tt.name, diff)
		}
	}

	// A cause of the caller's says why; a closed server says so.
	ctx, cancel := context.WithTimeoutCause(t.Context(), time.Millisecond, errors.New("the test's 1ms passed"))
	defer cancel()
	if _, err := srv.WaitForContext(ctx, mocksmtp.Want{Subject: "never"}); !errors.Is(err, context.DeadlineExceeded) ||
		!strings.HasPrefix(err.Error(), "mocksmtp: WaitForContext: no message like this before its context ended (the test's 1ms passed):\n") {
		t.Errorf("with a cause: %v", err)
	}
	srv.Close()
	if _, err := in.WaitForContext(t.Context(), mocksmtp.Want{Subject: "never"}); !errors.Is(err, mocksmtp.ErrClosed) ||
		!strings.HasPrefix(err.Error(), "mocksmtp: Inbox.WaitForContext: no message like this before the server closed:\n") {
		t.Errorf("closed: %v", err)
	}
}

// DeclaredAt names an expectation in every report that names it, and may
// be called while another goroutine verifies.
func TestExpectationDeclaredAt(t *testing.T) {
	t.Parallel()
	srv, err := mocksmtp.New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	first, err := srv.AddExpectation(mocksmtp.Want{Subject: "Welcome"})
	if err != nil {
		t.Fatal(err)
	}
	second, err := srv.AddExpectation(mocksmtp.Want{Subject: "Welcome"})
	if err != nil {
		t.Fatal(err)
	}
	never, err := srv.AddExpectation(mocksmtp.Want{To: []string{"bob@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20 {
			_ = srv.Verify()
		}
	}()
	first.DeclaredAt("POST /api/expectations #1")
	second.DeclaredAt("POST /api/expectations #2")
	never.DeclaredAt("POST /api/expectations #3").Never()
	<-done
	expSend(t, srv.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Welcome", "Hello."))
	got := srv.Verify()
	for _, want := range []string{
		"mocksmtp: expectation at POST /api/expectations #2 not met: want exactly 1 message like this, got 0:",
		"the expectation at POST /api/expectations #1 counted it",
		"mocksmtp: expectation at POST /api/expectations #3 not met: want no message like this, got 1:",
	} {
		if got == nil || !strings.Contains(got.Error(), want) {
			t.Errorf("Verify = %v\nwant it to say %q", got, want)
		}
	}
	bad, err := srv.AddExpectation(mocksmtp.Want{})
	if err != nil {
		t.Fatal(err)
	}
	bad.DeclaredAt("here").Times(-1)
	if err := srv.Verify(); err == nil || !strings.Contains(err.Error(), "mocksmtp: Times(-1) for the expectation at here: want a number ≥ 0") {
		t.Errorf("Verify after Times(-1) = %v", err)
	}
}

// Inbox.Reset forgets the inbox's messages and expectations without a
// test; the server's other messages, and the expectations of tests, stay.
func TestInboxReset(t *testing.T) {
	t.Parallel()
	ft := &expT{name: "TestReset"}
	ft.run(func() {
		srv, err := mocksmtp.New()
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		in, other := srv.NewInbox("a"), srv.NewInbox("b")
		in.Expect(ft, mocksmtp.Want{Subject: "Kept"}) // of a test: kept, unmet
		if _, err := in.AddExpectation(mocksmtp.Want{Subject: "Welcome"}); err != nil {
			t.Fatal(err)
		}
		if err := other.ForbidMessages(); err != nil {
			t.Fatal(err)
		}
		expSend(t, srv.Addr(), "app@example.com", []string{in.Address("bob")}, expMsg("Welcome", "Hello."))
		expSend(t, srv.Addr(), "app@example.com", []string{in.Address("ann"), other.Address("ann")}, expMsg("Both", "Hello."))
		expSend(t, srv.Addr(), "app@example.com", []string{"carl@example.com"}, expMsg("Elsewhere", "Hello."))

		in.Reset()
		if ms := in.Messages(); len(ms) != 0 {
			t.Errorf("after Reset, the inbox has %d messages", len(ms))
		}
		if ms := other.Messages(); len(ms) != 0 {
			t.Errorf("after Reset, the other inbox has %d messages; the one to both is gone", len(ms))
		}
		if ms := srv.Messages(); len(ms) != 1 || ms[0].Subject != "Elsewhere" {
			t.Errorf("after Reset, the server has %v; want the message to no inbox", ms)
		}
		if err := in.Verify(); err != nil {
			t.Errorf("in.Verify after Reset = %v, want nil: its expectation is forgotten", err)
		}
		if err := other.Verify(); err != nil {
			t.Errorf("other.Verify after Reset = %v", err)
		}
		expSend(t, srv.Addr(), "app@example.com", []string{other.Address("x")}, expMsg("Later", "Hello."))
		if err := other.Verify(); err == nil {
			t.Error("other.Verify after a message = nil; its ForbidMessages was not the reset inbox's to forget")
		}
	})
	if got := ft.report(); !strings.Contains(got, "expectation at verify_test.go:") || strings.Count(got, "not met") != 1 {
		t.Errorf("the test's expectation on the inbox, kept by Reset, reported:\n%s", got)
	}
}
