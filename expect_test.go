package mocksmtp_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/smtp"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
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

// run runs body as the test function, then the cleanups.
func (t *expT) run(body func()) {
	t.do(body)
	t.finish()
}

// do runs body as (part of) the test function: a Fatal ends it.
func (t *expT) do(body func()) {
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(expFatal); !ok {
				panic(p)
			}
		}
	}()
	body()
}

// finish ends the test: it runs the cleanups, last first, once.
func (t *expT) finish() {
	t.mu.Lock()
	cleanups := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
}

// report returns the failures, separated.
func (t *expT) report() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.errors, "\n----\n")
}

// expNormalize replaces what changes in a report from run to run, or with
// every edit of a test file: go-cmp prints U+00A0 for some spaces at
// random, ports are random, and the line numbers of declarations move
// (TestExpectDeclaredAt checks them).
func expNormalize(s string) string {
	s = strings.ReplaceAll(s, "\u00a0", " ")
	s = regexp.MustCompile(`127\.0\.0\.1:\d+`).ReplaceAllString(s, "127.0.0.1:<port>")
	return regexp.MustCompile(`(_test\.go):\d+`).ReplaceAllString(s, "$1:<line>")
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

// expDKIMKey is the key of the DKIM report: fixed, so that the report
// reads the same every run.
var expDKIMKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

// expSign signs raw (with LF line breaks) for domain and selector with
// expDKIMKey, and returns it with LF line breaks.
func expSign(t testing.TB, raw, domain, selector string) string {
	t.Helper()
	var b bytes.Buffer
	err := dkim.Sign(&b, strings.NewReader(strings.ReplaceAll(raw, "\n", "\r\n")), &dkim.SignOptions{
		Domain: domain, Selector: selector, Signer: expDKIMKey,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
		HeaderKeys: []string{"From", "To", "Subject"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(b.String(), "\r\n", "\n")
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
			s.Expect(t, mocksmtp.Want{To: []string{"bob@example.com"}, Subject: "Welcome"})
			expSend(t, s.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Welcome!", "Hello, Bob."))
		}},
		{"dkim_fails", []mocksmtp.Option{mocksmtp.WithDKIMKey("example.com", "mail", expDKIMKey.Public())}, func(t tb, s srv) {
			s.Expect(t, mocksmtp.Want{To: []string{"bob@example.com"}, DKIM: []mocksmtp.WantDKIM{{Domain: "example.com"}}})
			signed := expSign(t, expMsg("Your order", "Thanks for your order."), "example.com", "mail")
			expSend(t, s.Addr(), "shop@example.com", []string{"bob@example.com"}, strings.Replace(signed, "Thanks", "Thank you", 1))
		}},
		{"nearest_of_several", nil, func(t tb, s srv) {
			s.Expect(t, mocksmtp.Want{To: []string{"carol@example.com"}, Subject: "Welcome", TextContains: "Carol"})
			expSend(t, s.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Welcome", "Hello, Bob."))
			expSend(t, s.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Receipt", "Thanks, Carol."))
			expSend(t, s.Addr(), "app@example.com", []string{"carol@example.com"}, expMsg("Welcome", "Hello, Bob."))
		}},
		{"nothing_sent", nil, func(t tb, s srv) {
			s.Expect(t, mocksmtp.Want{To: []string{"bob@example.com"}})
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
			s.Expect(t, mocksmtp.Want{Subject: "Welcome"})
		}},
		{"auth_failed_masked", []mocksmtp.Option{mocksmtp.WithAuth("app", "secret")}, func(t tb, s srv) {
			s.Expect(t, mocksmtp.Want{Subject: "Welcome"})
			err := smtp.SendMail(s.Addr(), smtp.PlainAuth("", "app", "wrong password", "127.0.0.1"),
				"app@example.com", []string{"bob@example.com"}, []byte(expMsg("Welcome", "Hi")))
			if err == nil {
				t.Fatal("AUTH with a wrong password succeeded")
			}
		}},
		{"too_many", nil, func(t tb, s srv) {
			s.Expect(t, mocksmtp.Want{Subject: "Welcome"})
			expSend(t, s.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Welcome", "Hello."))
			expSend(t, s.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Welcome", "Hello again."))
		}},
		// A client that resends a message the server accepted (its QUIT
		// went unanswered, so it took the delivery for failed): the report
		// shows what ended the first copy's session, which is what to fix.
		{"too_many_resent", []mocksmtp.Option{mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageQuit).OnAttempt(1).Drop())}, func(t tb, s srv) {
			s.Expect(t, mocksmtp.Want{Subject: "Invoice"})
			raw := []byte(strings.ReplaceAll("Message-ID: <invoice-7@app.example.com>\n"+expMsg("Invoice", "Here it is."), "\n", "\r\n"))
			for attempt := 1; attempt <= 3; attempt++ {
				if err := smtp.SendMail(s.Addr(), nil, "app@example.com", []string{"bob@example.com"}, raw); err == nil {
					break
				}
			}
		}},
		// The same bytes sent twice in one session: the lines between the
		// two transactions.
		{"too_many_repeated_in_session", nil, func(t tb, s srv) {
			s.Expect(t, mocksmtp.Want{Subject: "Invoice"})
			c, err := smtp.Dial(s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Quit()
			for range 2 {
				if err := c.Noop(); err != nil {
					t.Fatal(err)
				}
				if err := c.Mail("app@example.com"); err != nil {
					t.Fatal(err)
				}
				if err := c.Rcpt("bob@example.com"); err != nil {
					t.Fatal(err)
				}
				w, err := c.Data()
				if err != nil {
					t.Fatal(err)
				}
				if _, err := io.WriteString(w, strings.ReplaceAll(expMsg("Invoice", "Here it is."), "\n", "\r\n")); err != nil {
					t.Fatal(err)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"times_two_got_one", nil, func(t tb, s srv) {
			s.Expect(t, mocksmtp.Want{To: []string{"ops@example.com"}, Subject: "Disk full"}).Times(2)
			expSend(t, s.Addr(), "app@example.com", []string{"ops@example.com"}, expMsg("Disk full", "on /var"))
			expSend(t, s.Addr(), "app@example.com", []string{"ops@example.com"}, expMsg("Disk almost full", "on /home"))
		}},
		{"never", nil, func(t tb, s srv) {
			s.Expect(t, mocksmtp.Want{SubjectContains: "password"}).Never()
			expSend(t, s.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Your password was changed", "If it was not you..."))
		}},
		{"counted_by_another", nil, func(t tb, s srv) {
			s.Expect(t, mocksmtp.Want{To: []string{"bob@example.com"}})
			s.Expect(t, mocksmtp.Want{To: []string{"bob@example.com"}})
			expSend(t, s.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Welcome", "Hello."))
		}},
		{"no_other_messages", nil, func(t tb, s srv) {
			s.Expect(t, mocksmtp.Want{To: []string{"bob@example.com"}})
			s.ExpectNoOtherMessages(t)
			expSend(t, s.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Welcome", "Hello."))
			expSend(t, s.Addr(), "app@example.com", []string{"audit@example.com"}, expMsg("New user", "bob"))
		}},
		{"expect_no_messages", nil, func(t tb, s srv) {
			s.ExpectNoMessages(t)
			expSend(t, s.Addr(), "", []string{"bob@example.com"}, expMsg("Undeliverable", "Your message could not be delivered."))
		}},
		{"long_body_cut", nil, func(t tb, s srv) {
			s.Expect(t, mocksmtp.Want{TextContains: "/confirm?token="})
			var body strings.Builder
			for i := 1; i <= 80; i++ {
				fmt.Fprintf(&body, "Line %d of the terms and conditions.\n", i)
			}
			expSend(t, s.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Confirm", body.String()))
		}},
		{"headers_and_addresses", nil, func(t tb, s srv) {
			s.Expect(t, mocksmtp.Want{
				HeaderFrom: "Shop <shop@example.com>",
				HeaderTo:   []string{"bob@example.com"},
				Cc:         []string{"carol@example.com"},
				Header:     map[string]string{"x-campaign": "spring", "List-Unsubscribe": "<https://shop.example.com/u>"},
			})
			expSend(t, s.Addr(), "shop@example.com", []string{"bob@example.com"},
				"From: Shop Team <shop@example.com>\nTo: Bob <bob@example.com>\nX-Campaign: =?utf-8?q?summer?=\nSubject: Sale\n\nSale!\n")
		}},
		{"attachment_missing", nil, func(t tb, s srv) {
			s.Expect(t, mocksmtp.Want{Subject: "Your invoice", Attachments: []mocksmtp.WantAttachment{{Filename: "invoice.pdf", ContentType: "application/pdf"}}})
			expSend(t, s.Addr(), "shop@example.com", []string{"bob@example.com"}, expInvoice)
		}},
		{"bad_regexp", nil, func(t tb, s srv) {
			s.Expect(t, mocksmtp.Want{TextMatches: `code: (\d{6}`})
			t.Fatal("not reached: Expect must stop the test")
		}},
		{"negative_times", nil, func(t tb, s srv) {
			s.Expect(t, mocksmtp.Want{Subject: "x"}).Times(-1)
		}},
		{"expect_after_close", nil, func(t tb, s srv) {
			s.Close()
			s.Expect(t, mocksmtp.Want{Subject: "Welcome"})
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

// expCheck runs body against a server of a recording test and returns
// what the test reported, cleanup included.
func expCheck(body func(t *expT, s *mocksmtp.Server)) string {
	ft := &expT{name: "TestSignup"}
	ft.run(func() {
		s := mocksmtp.Start(ft, mocksmtp.WithoutTranscriptLog())
		body(ft, s)
	})
	return ft.report()
}

func TestWantFields(t *testing.T) {
	t.Parallel()
	const plain = "From: Shop <shop@example.com>\nTo: Bob <bob@example.com>, carol@example.com\nCc: dan@example.com, Eve <eve@example.com>\n" +
		"Subject: =?utf-8?q?Caf=C3=A9_opening?=\nX-Tag: one\nX-Tag: two\nX-Campaign: =?utf-8?q?spring_sale?=\n\nHello,\nthe café opens on Monday.\n\n\n"
	const html = "From: shop@example.com\nTo: bob@example.com\nSubject: News\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n" +
		"<p>Click <a href=\"https://shop.example.com/confirm?t=abc\">here</a>.</p>\n"
	const twoPNG = "From: shop@example.com\nTo: bob@example.com\nSubject: Pictures\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n" +
		"--b\nContent-Type: text/plain\n\nTwo pictures.\n" +
		"--b\nContent-Type: image/png\nContent-Disposition: attachment; filename=a.png\n\nAAA\n" +
		"--b\nContent-Type: IMAGE/PNG\nContent-Disposition: attachment; filename=b.png\n\nBBB\n--b--\n"
	tests := []struct {
		name     string
		from     string
		to       []string
		raw      string
		want     mocksmtp.Want
		wantFail bool
	}{
		{"zero Want matches any message", "a@example.com", []string{"b@example.com"}, plain, mocksmtp.Want{}, false},
		{"envelope recipients in any order", "shop@example.com", []string{"bob@example.com", "carol@example.com"}, plain,
			mocksmtp.Want{From: "shop@example.com", To: []string{"carol@example.com", "bob@example.com"}}, false},
		{"envelope recipients must all be listed", "shop@example.com", []string{"bob@example.com", "carol@example.com"}, plain,
			mocksmtp.Want{To: []string{"bob@example.com"}}, true},
		{"angle brackets around paths are ignored", "shop@example.com", []string{"bob@example.com"}, plain,
			mocksmtp.Want{From: "<shop@example.com>", To: []string{"<bob@example.com>"}}, false},
		{"null sender is <>", "", []string{"bob@example.com"}, plain, mocksmtp.Want{From: "<>"}, false},
		{"null sender is not an address", "", []string{"bob@example.com"}, plain, mocksmtp.Want{From: "shop@example.com"}, true},
		{"envelope sender differs", "noreply@example.com", []string{"bob@example.com"}, plain, mocksmtp.Want{From: "shop@example.com"}, true},
		{"header From by address", "a@example.com", []string{"b@example.com"}, plain, mocksmtp.Want{HeaderFrom: "shop@example.com"}, false},
		{"header From with its display name", "a@example.com", []string{"b@example.com"}, plain, mocksmtp.Want{HeaderFrom: "Shop <shop@example.com>"}, false},
		{"header From with another display name", "a@example.com", []string{"b@example.com"}, plain, mocksmtp.Want{HeaderFrom: "Shop Team <shop@example.com>"}, true},
		{"header To by addresses in any order", "a@example.com", []string{"b@example.com"}, plain,
			mocksmtp.Want{HeaderTo: []string{"carol@example.com", "bob@example.com"}}, false},
		{"header To with names", "a@example.com", []string{"b@example.com"}, plain,
			mocksmtp.Want{HeaderTo: []string{"Bob <bob@example.com>", "carol@example.com"}}, false},
		{"header To missing an address", "a@example.com", []string{"b@example.com"}, plain,
			mocksmtp.Want{HeaderTo: []string{"bob@example.com"}}, true},
		{"Cc", "a@example.com", []string{"b@example.com"}, plain, mocksmtp.Want{Cc: []string{"eve@example.com", "dan@example.com"}}, false},
		{"Cc absent", "a@example.com", []string{"b@example.com"}, html, mocksmtp.Want{Cc: []string{"dan@example.com"}}, true},
		{"Subject decoded", "a@example.com", []string{"b@example.com"}, plain, mocksmtp.Want{Subject: "Café opening"}, false},
		{"Subject exact", "a@example.com", []string{"b@example.com"}, plain, mocksmtp.Want{Subject: "Café"}, true},
		{"SubjectContains", "a@example.com", []string{"b@example.com"}, plain, mocksmtp.Want{SubjectContains: "Café"}, false},
		{"SubjectMatches", "a@example.com", []string{"b@example.com"}, plain, mocksmtp.Want{SubjectMatches: `^Caf. open`}, false},
		{"SubjectMatches fails", "a@example.com", []string{"b@example.com"}, plain, mocksmtp.Want{SubjectMatches: `^opening`}, true},
		{"header name in any case, value decoded", "a@example.com", []string{"b@example.com"}, plain,
			mocksmtp.Want{Header: map[string]string{"x-campaign": "spring sale"}}, false},
		{"header repeated: any field of the name", "a@example.com", []string{"b@example.com"}, plain,
			mocksmtp.Want{Header: map[string]string{"X-Tag": "two"}}, false},
		{"header value differs", "a@example.com", []string{"b@example.com"}, plain,
			mocksmtp.Want{Header: map[string]string{"X-Tag": "three"}}, true},
		{"header absent does not match an empty value", "a@example.com", []string{"b@example.com"}, plain,
			mocksmtp.Want{Header: map[string]string{"X-Missing": ""}}, true},
		{"Text ignores CRLF and trailing line breaks", "a@example.com", []string{"b@example.com"}, plain,
			mocksmtp.Want{Text: "Hello,\r\nthe café opens on Monday."}, false},
		{"Text exact", "a@example.com", []string{"b@example.com"}, plain, mocksmtp.Want{Text: "Hello,"}, true},
		{"TextContains across lines", "a@example.com", []string{"b@example.com"}, plain, mocksmtp.Want{TextContains: "Hello,\r\nthe café"}, false},
		{"TextContains fails", "a@example.com", []string{"b@example.com"}, plain, mocksmtp.Want{TextContains: "Tuesday"}, true},
		{"TextMatches", "a@example.com", []string{"b@example.com"}, plain, mocksmtp.Want{TextMatches: `(?m)^the café opens on \w+day\.$`}, false},
		{"HTML exact", "a@example.com", []string{"b@example.com"}, html,
			mocksmtp.Want{HTML: `<p>Click <a href="https://shop.example.com/confirm?t=abc">here</a>.</p>`}, false},
		{"HTMLContains looks at the source", "a@example.com", []string{"b@example.com"}, html,
			mocksmtp.Want{HTMLContains: `href="https://shop.example.com/confirm`}, false},
		{"HTMLMatches", "a@example.com", []string{"b@example.com"}, html, mocksmtp.Want{HTMLMatches: `confirm\?t=[a-z]+"`}, false},
		{"no HTML body", "a@example.com", []string{"b@example.com"}, plain, mocksmtp.Want{HTMLContains: "<p>"}, true},
		{"attachment by name and type in any case", "a@example.com", []string{"b@example.com"}, twoPNG,
			mocksmtp.Want{Attachments: []mocksmtp.WantAttachment{{Filename: "b.png", ContentType: "image/png"}}}, false},
		{"attachments each matched to a different one", "a@example.com", []string{"b@example.com"}, twoPNG,
			mocksmtp.Want{Attachments: []mocksmtp.WantAttachment{{ContentType: "image/png"}, {Filename: "a.png"}}}, false},
		{"three attachments wanted, two there", "a@example.com", []string{"b@example.com"}, twoPNG,
			mocksmtp.Want{Attachments: []mocksmtp.WantAttachment{{ContentType: "image/png"}, {ContentType: "image/png"}, {ContentType: "image/png"}}}, true},
		{"attachment by content", "a@example.com", []string{"b@example.com"}, twoPNG,
			mocksmtp.Want{Attachments: []mocksmtp.WantAttachment{{Data: []byte("BBB")}}}, false},
		{"attachment content differs", "a@example.com", []string{"b@example.com"}, twoPNG,
			mocksmtp.Want{Attachments: []mocksmtp.WantAttachment{{Filename: "a.png", Data: []byte("BBB")}}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := expCheck(func(ft *expT, s *mocksmtp.Server) {
				expSend(ft, s.Addr(), tc.from, tc.to, tc.raw)
				s.Expect(ft, tc.want)
			})
			if failed := got != ""; failed != tc.wantFail {
				t.Errorf("failed = %v, want %v; report:\n%s", failed, tc.wantFail, got)
			}
		})
	}
}

func TestExpectCounts(t *testing.T) {
	t.Parallel()
	bob, ops := []string{"bob@example.com"}, []string{"ops@example.com"}
	tests := []struct {
		name     string
		body     func(t *expT, s *mocksmtp.Server)
		wantFail bool
	}{
		{"each message meets the expectation it can", func(t *expT, s *mocksmtp.Server) {
			s.Expect(t, mocksmtp.Want{To: bob})                     // any mail to bob...
			s.Expect(t, mocksmtp.Want{To: bob, Subject: "Welcome"}) // ...and the welcome
			s.ExpectNoOtherMessages(t)
			expSend(t, s.Addr(), "app@example.com", bob, expMsg("Welcome", "Hi"))
			expSend(t, s.Addr(), "app@example.com", bob, expMsg("Tips", "Hi"))
		}, false},
		{"two equal expectations want two messages", func(t *expT, s *mocksmtp.Server) {
			s.Expect(t, mocksmtp.Want{To: bob})
			s.Expect(t, mocksmtp.Want{To: bob})
			expSend(t, s.Addr(), "app@example.com", bob, expMsg("Welcome", "Hi"))
			expSend(t, s.Addr(), "app@example.com", bob, expMsg("Tips", "Hi"))
		}, false},
		{"Times(2) met", func(t *expT, s *mocksmtp.Server) {
			s.Expect(t, mocksmtp.Want{To: ops}).Times(2)
			expSend(t, s.Addr(), "app@example.com", ops, expMsg("Alert", "1"))
			expSend(t, s.Addr(), "app@example.com", ops, expMsg("Alert", "2"))
		}, false},
		{"Times(2) with three", func(t *expT, s *mocksmtp.Server) {
			s.Expect(t, mocksmtp.Want{To: ops}).Times(2)
			for i := range 3 {
				expSend(t, s.Addr(), "app@example.com", ops, expMsg("Alert", fmt.Sprint(i)))
			}
		}, true},
		{"Times(0) is Never", func(t *expT, s *mocksmtp.Server) {
			s.Expect(t, mocksmtp.Want{To: ops}).Times(0)
			expSend(t, s.Addr(), "app@example.com", ops, expMsg("Alert", "1"))
		}, true},
		{"AtLeast(1) takes them all", func(t *expT, s *mocksmtp.Server) {
			s.Expect(t, mocksmtp.Want{To: ops}).AtLeast(1)
			s.ExpectNoOtherMessages(t)
			for i := range 3 {
				expSend(t, s.Addr(), "app@example.com", ops, expMsg("Alert", fmt.Sprint(i)))
			}
		}, false},
		{"AtLeast(2) with one", func(t *expT, s *mocksmtp.Server) {
			s.Expect(t, mocksmtp.Want{To: ops}).AtLeast(2)
			expSend(t, s.Addr(), "app@example.com", ops, expMsg("Alert", "1"))
		}, true},
		{"AtLeast(0) allows without requiring", func(t *expT, s *mocksmtp.Server) {
			s.Expect(t, mocksmtp.Want{To: ops}).AtLeast(0)
			s.Expect(t, mocksmtp.Want{To: bob}).AtLeast(0)
			s.ExpectNoOtherMessages(t)
			expSend(t, s.Addr(), "app@example.com", ops, expMsg("Alert", "1"))
		}, false},
		{"Never met", func(t *expT, s *mocksmtp.Server) {
			s.Expect(t, mocksmtp.Want{To: ops}).Never()
			expSend(t, s.Addr(), "app@example.com", bob, expMsg("Welcome", "Hi"))
		}, false},
		{"Never fails whatever else matches", func(t *expT, s *mocksmtp.Server) {
			s.Expect(t, mocksmtp.Want{To: bob})
			s.Expect(t, mocksmtp.Want{Subject: "Welcome"}).Never()
			expSend(t, s.Addr(), "app@example.com", bob, expMsg("Welcome", "Hi"))
		}, true},
		{"ExpectNoMessages met", func(t *expT, s *mocksmtp.Server) {
			s.ExpectNoMessages(t)
		}, false},
		{"messages WaitFor and AssertMessage returned are not unexpected", func(t *expT, s *mocksmtp.Server) {
			s.ExpectNoOtherMessages(t)
			expSend(t, s.Addr(), "app@example.com", bob, expMsg("Welcome", "Hi"))
			expSend(t, s.Addr(), "app@example.com", ops, expMsg("Alert", "1"))
			s.WaitFor(t, mocksmtp.Want{To: bob})
			s.AssertMessage(t, mocksmtp.Want{To: ops})
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := expCheck(tc.body)
			if failed := got != ""; failed != tc.wantFail {
				t.Errorf("failed = %v, want %v; report:\n%s", failed, tc.wantFail, got)
			}
		})
	}
}

func TestWaitForReturnsEachMessageOnce(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	want := mocksmtp.Want{To: []string{"bob@example.com"}, SubjectContains: "code"}
	go func() { // the code under test sends in the background
		for _, code := range []string{"111111", "222222"} {
			_ = smtp.SendMail(srv.Addr(), nil, "app@example.com", []string{"bob@example.com"},
				[]byte(strings.ReplaceAll(expMsg("Your code", "Your code is "+code+"."), "\n", "\r\n")))
		}
	}()
	code := regexp.MustCompile(`code is (\d{6})`)
	first := srv.WaitFor(t, want)
	second := srv.WaitFor(t, want)
	if got := []string{first.Find(code), second.Find(code)}; !cmp.Equal(got, []string{"111111", "222222"}) {
		t.Errorf("codes = %q, want 111111 then 222222", got)
	}
	if first.Session == nil || second.Session == nil {
		t.Error("a message from WaitFor has no Session")
	}
}

func TestWaitForContext(t *testing.T) {
	t.Parallel()
	srv, err := mocksmtp.New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := srv.WaitForContext(t.Context(), mocksmtp.Want{SubjectMatches: "("}); err == nil || !strings.Contains(err.Error(), "Want.SubjectMatches") {
		t.Errorf("bad regexp: err = %v, want one naming Want.SubjectMatches", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if _, err := srv.WaitForContext(ctx, mocksmtp.Want{Subject: "x"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("nothing sent: err = %v, want DeadlineExceeded", err)
	}
	expSend(t, srv.Addr(), "a@example.com", []string{"b@example.com"}, expMsg("x", "y"))
	if m, err := srv.WaitForContext(t.Context(), mocksmtp.Want{Subject: "x"}); err != nil || m.Subject != "x" {
		t.Errorf("WaitForContext = %v, %v", m, err)
	}
	srv.Close()
	if _, err := srv.WaitForContext(t.Context(), mocksmtp.Want{Subject: "x"}); !errors.Is(err, mocksmtp.ErrClosed) {
		t.Errorf("closed: err = %v, want ErrClosed", err)
	}
}

// TestWaitForNContextTakesAllOrNone: a wait for n messages that ends
// with fewer takes none of them and returns them with its error; a later
// wait returns them, in an inbox too.
func TestWaitForNContextTakesAllOrNone(t *testing.T) {
	t.Parallel()
	srv, err := mocksmtp.New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	in := srv.NewInbox("n")
	for _, scope := range []struct {
		name string
		to   string
		wait func(context.Context, mocksmtp.Want, int) ([]*mocksmtp.Message, error)
	}{
		{"server", "b@example.com", srv.WaitForNContext},
		{"inbox", in.Address("b"), in.WaitForNContext},
	} {
		want := mocksmtp.Want{To: []string{scope.to}}
		ids := func(ms []*mocksmtp.Message) []int {
			var out []int
			for _, m := range ms {
				out = append(out, m.ID)
			}
			return out
		}
		expSend(t, srv.Addr(), "a@example.com", []string{scope.to}, expMsg("1", "y"))
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		found, err := scope.wait(ctx, want, 2)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || len(found) != 1 || strings.Contains(err.Error(), "an earlier wait returned it") {
			t.Fatalf("%s: 1 of 2 there: %v, %v; want the 1 found and DeadlineExceeded, with no earlier wait", scope.name, ids(found), err)
		}
		expSend(t, srv.Addr(), "a@example.com", []string{scope.to}, expMsg("2", "y"))
		got, err := scope.wait(t.Context(), want, 2)
		if err != nil || !cmp.Equal(ids(got), []int{found[0].ID, found[0].ID + 1}) {
			t.Errorf("%s: 2 of 2 there: %v, %v; want %d and %d", scope.name, ids(got), err, found[0].ID, found[0].ID+1)
		}
		for _, n := range []int{0, -1} {
			if got, err := scope.wait(t.Context(), want, n); err != nil || len(got) != 0 {
				t.Errorf("%s: n = %d: %v, %v; want none at once", scope.name, n, ids(got), err)
			}
		}
	}
}

func TestAssertNoMessagesPasses(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	srv.AssertNoMessages(t, 10*time.Millisecond)
	expSend(t, srv.Addr(), "a@example.com", []string{"b@example.com"}, expMsg("x", "y"))
	srv.AssertNoMoreMessages(t, 10*time.Millisecond) // the one before the call is no more
}

// TestAssertNoMoreMessagesReturnsOnArrival fails by waiting a minute if
// the wait does not end when a message arrives.
func TestAssertNoMoreMessagesReturnsOnArrival(t *testing.T) {
	t.Parallel()
	const d = time.Minute
	got := expCheck(func(ft *expT, s *mocksmtp.Server) {
		expSend(ft, s.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Welcome", "Hi"))
		returned := make(chan struct{})
		errc := make(chan error, 1)
		go func() { // more mail, which the code under test should not send
			for {
				select {
				case <-returned:
					errc <- nil
					return
				default:
				}
				err := smtp.SendMail(s.Addr(), nil, "app@example.com", []string{"bob@example.com"},
					[]byte(strings.ReplaceAll(expMsg("Welcome", "Hi again"), "\n", "\r\n")))
				if err != nil {
					errc <- err
					return
				}
			}
		}()
		start := time.Now()
		s.AssertNoMoreMessages(ft, d)
		close(returned)
		if time.Since(start) >= d {
			t.Errorf("AssertNoMoreMessages waited all of %v", d)
		}
		if err := <-errc; err != nil {
			t.Error(err)
		}
	})
	if want := "mocksmtp: AssertNoMoreMessages: want no more messages within 1m0s, got "; !strings.HasPrefix(got, want) || strings.Contains(got, "message 1 from") {
		t.Errorf("report:\n%s\nwant it to start with %q, without message 1", got, want)
	}
}

func TestExpectConcurrent(t *testing.T) {
	t.Parallel()
	const n = 20
	got := expCheck(func(ft *expT, s *mocksmtp.Server) {
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				to := fmt.Sprintf("user%d@example.com", i)
				s.Expect(ft, mocksmtp.Want{To: []string{to}}).Times(1)
				if err := smtp.SendMail(s.Addr(), nil, "app@example.com", []string{to}, []byte("Subject: hi\r\n\r\nhi\r\n")); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		s.ExpectNoOtherMessages(ft)
	})
	if got != "" {
		t.Errorf("concurrent expectations failed:\n%s", got)
	}
}

// Expect works on a server from New: the expectation is checked at the
// cleanup of the test it is registered on.
func TestExpectOnServerFromNew(t *testing.T) {
	t.Parallel()
	srv, err := mocksmtp.New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	met, unmet := &expT{name: "TestMet"}, &expT{name: "TestUnmet"}
	met.run(func() {
		srv.Expect(met, mocksmtp.Want{Subject: "Welcome"})
		srv.ExpectNoOtherMessages(met)
		expSend(met, srv.Addr(), "app@example.com", []string{"bob@example.com"}, expMsg("Welcome", "Hello."))
	})
	if got := met.report(); got != "" {
		t.Errorf("a met expectation on a server from New failed the test:\n%s", got)
	}
	unmet.run(func() {
		srv.Expect(unmet, mocksmtp.Want{Subject: "Reset your password"})
	})
	if got := unmet.report(); !strings.HasPrefix(got, "mocksmtp: expectation at expect_test.go:") || !strings.Contains(got, `Subject: "Reset your password"`) {
		t.Errorf("an unmet expectation on a server from New reported:\n%s", got)
	}
}

// TestExpectDeclaredAt checks the file:line a report gives, which golden
// files do not.
func TestExpectDeclaredAt(t *testing.T) {
	t.Parallel()
	var lines []int
	here := func() {
		_, _, line, _ := runtime.Caller(1)
		lines = append(lines, line-1) // the line before the call
	}
	got := expCheck(func(ft *expT, s *mocksmtp.Server) {
		s.Expect(ft, mocksmtp.Want{Subject: "a"})
		here()
		s.ExpectNoMessages(ft)
		here()
		in := s.Inbox(ft)
		in.Expect(ft, mocksmtp.Want{Subject: "b"})
		here()
		expSend(ft, s.Addr(), "app@example.com", []string{in.Address("x")}, expMsg("c", ""))
	})
	for _, line := range lines {
		if want := fmt.Sprintf(" at expect_test.go:%d", line); !strings.Contains(got, want) {
			t.Errorf("report does not say %q:\n%s", want, got)
		}
	}
}

// TestExpectKeepsItsWant checks that an expectation is the Want it was
// given: a test that goes on to change the Want's slices, maps or bytes
// (a loop reusing one Want, a buffer read again) changes neither what the
// expectation matches nor what its report prints.
func TestExpectKeepsItsWant(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		want   mocksmtp.Want
		change func(*mocksmtp.Want)
	}{
		{"To", mocksmtp.Want{To: []string{"zed@example.com", "bob@example.com"}},
			func(w *mocksmtp.Want) { w.To[0] = "mallory@example.com" }},
		{"HeaderTo", mocksmtp.Want{HeaderTo: []string{"bob@example.com"}},
			func(w *mocksmtp.Want) { w.HeaderTo[0] = "mallory@example.com" }},
		{"Header", mocksmtp.Want{Header: map[string]string{"Mime-Version": "1.0"}},
			func(w *mocksmtp.Want) { w.Header["Mime-Version"] = "2.0" }},
		{"Attachments", mocksmtp.Want{Attachments: []mocksmtp.WantAttachment{{Filename: "a.csv"}}},
			func(w *mocksmtp.Want) { w.Attachments[0].Filename = "evil.exe" }},
		{"Attachments.Data", mocksmtp.Want{Attachments: []mocksmtp.WantAttachment{{Data: []byte("x,y")}}},
			func(w *mocksmtp.Want) { w.Attachments[0].Data[0] = 'z' }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t)
			sendSnapshotMessage(t, srv, "original") // to zed and Bob, with a.csv: "x,y"
			srv.WaitForMessages(t, 1)
			w := c.want
			if _, err := srv.AddExpectation(w); err != nil {
				t.Fatal(err)
			}
			// And one that fails, whose report prints its Want.
			never, err := srv.AddExpectation(w)
			if err != nil {
				t.Fatal(err)
			}
			never.Never()
			before := w.String()
			c.change(&w)
			err = srv.Verify()
			if err == nil {
				t.Fatal("Verify: nil, want the report of the Never expectation")
			}
			got := err.Error()
			if strings.Contains(got, "want exactly 1 message") {
				t.Errorf("after a change to its Want, the expectation no longer matches the message:\n%s", got)
			}
			if !strings.Contains(got, "want no message like this, got 1:\n  "+before+"\n") {
				t.Errorf("after a change to its Want, the report does not print the Want given (%s):\n%s", before, got)
			}
		})
	}
}

// TestWaitForNContextReportSaysWhatItFound: the report of a wait for n
// messages that ends with fewer says how many it wanted and how many it
// found (and did not take), not "no message like this" of messages it
// returns with the error.
func TestWaitForNContextReportSaysWhatItFound(t *testing.T) {
	t.Parallel()
	srv, err := mocksmtp.New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	expSend(t, srv.Addr(), "a@example.com", []string{"b@example.com"}, expMsg("1", "y"))
	ctx, cancel := context.WithTimeout(t.Context(), time.Millisecond)
	defer cancel()
	found, err := srv.WaitForNContext(ctx, mocksmtp.Want{To: []string{"b@example.com"}}, 2)
	if len(found) != 1 || err == nil {
		t.Fatalf("1 of 2 there: %d found, %v; want 1 and an error", len(found), err)
	}
	first, _, _ := strings.Cut(err.Error(), "\n")
	if strings.Contains(first, "no message like this") || !strings.Contains(first, "want 2 messages like this") || !strings.Contains(first, "found 1") {
		t.Errorf("report's first line: %q, want it to want 2 messages and say it found 1", first)
	}
}
