package mocksmtp_test

import (
	"flag"
	"fmt"
	"net/smtp"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
)

// update rewrites golden files: go test -run TestExpectReports -update.
// Other tests of the package may use it too; the flag is declared once.
var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// expT is a testing.TB that records what a test would print, so that
// failing scenarios can run inside a passing test. Fatal ends the body run
// by run, as runtime.Goexit ends a real test.
type expT struct {
	testing.TB // nil: a method not defined here panics
	name       string

	mu       sync.Mutex
	errors   []string // Error, Errorf, Fatal, Fatalf, in order
	logs     []string
	cleanups []func()
	failed   bool
}

type expFatal struct{}

func (t *expT) Helper()      {}
func (t *expT) Name() string { return t.name }
func (t *expT) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}
func (t *expT) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}
func (t *expT) Errorf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failed = true
	t.errors = append(t.errors, fmt.Sprintf(format, args...))
}
func (t *expT) Error(args ...any) { t.Errorf("%s", fmt.Sprint(args...)) }
func (t *expT) Fatalf(format string, args ...any) {
	t.Errorf(format, args...)
	panic(expFatal{})
}
func (t *expT) Fatal(args ...any) { t.Fatalf("%s", fmt.Sprint(args...)) }
func (t *expT) Logf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.logs = append(t.logs, fmt.Sprintf(format, args...))
}
func (t *expT) Log(args ...any) { t.Logf("%s", fmt.Sprint(args...)) }

// run runs body as the test function, then the cleanups, last first.
func (t *expT) run(body func()) {
	func() {
		defer func() {
			if p := recover(); p != nil {
				if _, ok := p.(expFatal); !ok {
					panic(p)
				}
			}
		}()
		body()
	}()
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// report returns the failures, separated.
func (t *expT) report() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.errors, "\n----\n")
}

// expNormalize replaces what changes from run to run in a report: go-cmp
// prints U+00A0 for some spaces at random, and ports are random.
func expNormalize(s string) string {
	s = strings.ReplaceAll(s, "\u00a0", " ")
	return regexp.MustCompile(`127\.0\.0\.1:\d+`).ReplaceAllString(s, "127.0.0.1:<port>")
}

// expGolden compares got, normalized, with testdata/expect/name.golden.
func expGolden(t *testing.T, name, got string) {
	t.Helper()
	got = expNormalize(got)
	path := filepath.Join("testdata", "expect", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it); got:\n%s", err, got)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("report differs from %s (-want +got):\n%s", path, diff)
	}
}

// expSend sends raw from from to to over TCP with net/smtp.
func expSend(t testing.TB, addr, from string, to []string, raw string) {
	t.Helper()
	if err := smtp.SendMail(addr, nil, from, to, []byte(strings.ReplaceAll(raw, "\n", "\r\n"))); err != nil {
		t.Fatalf("SendMail: %v", err)
	}
}

// expOpen sends raw and leaves the session open, so that an inline
// report made before Close reads the same every run; close it with
// Quit.
func expOpen(t testing.TB, addr, from string, to []string, raw string) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	send := func() error {
		if err := c.Mail(from); err != nil {
			return err
		}
		for _, r := range to {
			if err := c.Rcpt(r); err != nil {
				return err
			}
		}
		w, err := c.Data()
		if err != nil {
			return err
		}
		if _, err := w.Write([]byte(strings.ReplaceAll(raw, "\n", "\r\n"))); err != nil {
			return err
		}
		return w.Close()
	}
	if err := send(); err != nil {
		c.Close()
		t.Fatalf("sending: %v", err)
	}
	return c
}

// expMsg returns a message with a Subject and a text body.
func expMsg(subject, body string) string {
	return "From: App <app@example.com>\nTo: bob@example.com\nSubject: " + subject + "\n\n" + body + "\n"
}

const expInvoice = `From: Shop <shop@example.com>
To: Bob <bob@example.com>
Subject: Your invoice
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Your invoice is attached.
--b1
Content-Type: application/pdf; name="invoice-2024.pdf"
Content-Disposition: attachment; filename="invoice-2024.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcfsj6IK
--b1--
`

// TestExpectReports runs failing scenarios against a recording testing.TB
// and compares every report with its golden file.
func TestExpectReports(t *testing.T) {
	t.Parallel()
	type tb = *expT
	type srv = *mocksmtp.Server
	tests := []struct {
		name string
		opts []mocksmtp.Option
		body func(t tb, s srv)
	}{
		{"subject_differs", nil, func(t tb, s srv) {
			s.Expect(mocksmtp.Want{To: []string{"bob@example.com"}, Subject: "Welcome"})
			expSend(t, s.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Welcome!", "Hello, Bob."))
		}},
		{"nearest_of_several", nil, func(t tb, s srv) {
			s.Expect(mocksmtp.Want{To: []string{"carol@example.com"}, Subject: "Welcome", TextContains: "Carol"})
			expSend(t, s.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Welcome", "Hello, Bob."))
			expSend(t, s.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Receipt", "Thanks, Carol."))
			expSend(t, s.Addr(), "app@example.com", []string{"carol@example.com"}, expMsg("Welcome", "Hello, Bob."))
		}},
		{"nothing_sent", nil, func(t tb, s srv) {
			s.Expect(mocksmtp.Want{To: []string{"bob@example.com"}})
			c, err := smtp.Dial(s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Mail("app@example.com"); err != nil {
				t.Fatal(err)
			}
			c.Quit()
		}},
		{"no_client", nil, func(t tb, s srv) {
			s.Expect(mocksmtp.Want{Subject: "Welcome"})
		}},
		{"too_many", nil, func(t tb, s srv) {
			s.Expect(mocksmtp.Want{Subject: "Welcome"})
			expSend(t, s.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Welcome", "Hello."))
			expSend(t, s.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Welcome", "Hello again."))
		}},
		{"times_two_got_one", nil, func(t tb, s srv) {
			s.Expect(mocksmtp.Want{To: []string{"ops@example.com"}, Subject: "Disk full"}).Times(2)
			expSend(t, s.Addr(), "app@example.com", []string{"ops@example.com"}, expMsg("Disk full", "on /var"))
			expSend(t, s.Addr(), "app@example.com", []string{"ops@example.com"}, expMsg("Disk almost full", "on /home"))
		}},
		{"never", nil, func(t tb, s srv) {
			s.Expect(mocksmtp.Want{SubjectContains: "password"}).Never()
			expSend(t, s.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Your password was changed", "If it was not you..."))
		}},
		{"counted_by_another", nil, func(t tb, s srv) {
			s.Expect(mocksmtp.Want{To: []string{"bob@example.com"}})
			s.Expect(mocksmtp.Want{To: []string{"bob@example.com"}})
			expSend(t, s.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Welcome", "Hello."))
		}},
		{"no_other_messages", nil, func(t tb, s srv) {
			s.Expect(mocksmtp.Want{To: []string{"bob@example.com"}})
			s.ExpectNoOtherMessages()
			expSend(t, s.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Welcome", "Hello."))
			expSend(t, s.Addr(), "app@example.com", []string{"audit@example.com"}, expMsg("New user", "bob"))
		}},
		{"expect_no_messages", nil, func(t tb, s srv) {
			s.ExpectNoMessages()
			expSend(t, s.Addr(), "", []string{"bob@example.com"}, expMsg("Undeliverable", "Your message could not be delivered."))
		}},
		{"long_body_cut", nil, func(t tb, s srv) {
			s.Expect(mocksmtp.Want{TextContains: "/confirm?token="})
			var body strings.Builder
			for i := 1; i <= 80; i++ {
				fmt.Fprintf(&body, "Line %d of the terms and conditions.\n", i)
			}
			expSend(t, s.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Confirm", body.String()))
		}},
		{"headers_and_addresses", nil, func(t tb, s srv) {
			s.Expect(mocksmtp.Want{
				HeaderFrom: "Shop <shop@example.com>",
				HeaderTo:   []string{"bob@example.com"},
				Cc:         []string{"carol@example.com"},
				Header:     map[string]string{"x-campaign": "spring", "List-Unsubscribe": "<https://shop.example.com/u>"},
			})
			expSend(t, s.Addr(), "shop@example.com", []string{"bob@example.com"},
				"From: Shop Team <shop@example.com>\nTo: Bob <bob@example.com>\nX-Campaign: =?utf-8?q?summer?=\nSubject: Sale\n\nSale!\n")
		}},
		{"attachment_missing", nil, func(t tb, s srv) {
			s.Expect(mocksmtp.Want{Subject: "Your invoice", Attachments: []mocksmtp.WantAttachment{{Filename: "invoice.pdf", ContentType: "application/pdf"}}})
			expSend(t, s.Addr(), "shop@example.com", []string{"bob@example.com"}, expInvoice)
		}},
		{"bad_regexp", nil, func(t tb, s srv) {
			s.Expect(mocksmtp.Want{TextMatches: `code: (\d{6}`})
			t.Fatal("not reached: Expect must stop the test")
		}},
		{"negative_times", nil, func(t tb, s srv) {
			s.Expect(mocksmtp.Want{Subject: "x"}).Times(-1)
		}},
		{"expect_after_close", nil, func(t tb, s srv) {
			s.Close()
			s.Expect(mocksmtp.Want{Subject: "Welcome"})
		}},
		{"wait_for_timeout", []mocksmtp.Option{mocksmtp.WithWaitTimeout(20 * time.Millisecond)}, func(t tb, s srv) {
			c := expOpen(t, s.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Welcome", "Hello."))
			defer c.Quit()
			s.WaitFor(t, mocksmtp.Want{To: []string{"bob@example.com"}, Subject: "Reset your password"})
		}},
		{"wait_for_closed", nil, func(t tb, s srv) {
			s.Close()
			s.WaitFor(t, mocksmtp.Want{Subject: "Welcome"})
		}},
		{"assert_message", nil, func(t tb, s srv) {
			c := expOpen(t, s.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Your code", "Your code is 123456."))
			defer c.Quit()
			s.AssertMessage(t, mocksmtp.Want{Subject: "Your code", TextMatches: `code is \d{8}\b`})
		}},
		{"assert_no_messages", nil, func(t tb, s srv) {
			c := expOpen(t, s.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Welcome", "Hello."))
			defer c.Quit()
			s.AssertNoMessages(t, time.Millisecond)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ft := &expT{name: "TestSignup"}
			ft.run(func() {
				s := mocksmtp.Start(ft, append(tc.opts, mocksmtp.WithoutTranscriptLog())...)
				tc.body(ft, s)
			})
			got := ft.report()
			if got == "" {
				t.Fatal("the scenario did not fail")
			}
			expGolden(t, tc.name, got)
		})
	}
}
