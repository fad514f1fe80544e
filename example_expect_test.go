package mocksmtp_test

import (
	"fmt"
	"net/smtp"
	"regexp"
	"strings"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// stableT is fakeT for examples that print a failure report: go-cmp
// prints U+00A0 in place of some spaces, at random, so that nobody relies
// on its exact output; the examples print spaces.
type stableT struct{ *fakeT }

func (t stableT) Errorf(format string, args ...any) {
	t.fakeT.Errorf("%s", strings.ReplaceAll(fmt.Sprintf(format, args...), "\u00a0", " "))
}

// sendSignIn is code under test: it mails a magic link and a code.
func sendSignIn(addr, to string) error {
	msg := "From: app@example.com\r\nTo: " + to + "\r\nSubject: Sign in to App\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
		`<p><a href="https://app.example.com/login?token=s3cr3t&amp;to=%2F">Sign in</a>` + "\r\n" +
		"or enter the code <b>493817</b>.</p>\r\n"
	return smtp.SendMail(addr, nil, "app@example.com", []string{to}, []byte(msg))
}

// A failing expectation, as the test's output shows it: where it was
// declared, the nearest message as a diff, and its transcript lines.
func ExampleServer_Expect() {
	t := stableT{&fakeT{}} // in a real test: func TestSignup(t *testing.T)
	srv := mocksmtp.Start(t, mocksmtp.WithoutTranscriptLog())
	srv.Expect(t, mocksmtp.Want{To: []string{"bob@example.com"}, Subject: "Welcome!"})

	if err := sendWelcome(srv.Addr(), "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	t.done() // the test ends: cleanup closes the server, checks expectations
	// Output:
	// mocksmtp: expectation at example_expect_test.go:36 not met: want exactly 1 message like this, got 0:
	//   Want{To: ["bob@example.com"], Subject: "Welcome!"}
	// nearest: message 1 from <app@example.com> to <bob@example.com> "Welcome" (85 bytes)
	// 1 field of 2 differs (-want +got):
	//   mocksmtp.Want{
	//   	... // 4 ignored and 1 identical fields
	// - 	Subject: "Welcome!",
	// + 	Subject: "Welcome",
	//   	... // 13 ignored fields
	//   }
	// session 1, ended: QUIT; lines 11-19 of 21:
	//   11 C: MAIL FROM:<app@example.com> BODY=8BITMIME SMTPUTF8
	//   12 S: 250 2.1.0 Ok
	//   13 C: RCPT TO:<bob@example.com>
	//   14 S: 250 2.1.5 Ok
	//   15 C: DATA
	//   16 S: 354 End data with <CR><LF>.<CR><LF>
	//   17 *: <message data: 88 octets>
	//   18 *: message 1 accepted: 85 octets from <app@example.com> to 1 recipient
	//   19 S: 250 2.0.0 Ok: queued
	// in all: 1 session, 1 message
}

// Numbers of messages, and mail that must not be sent.
func ExampleExpectation() {
	t := &fakeT{}
	srv := mocksmtp.Start(t)
	srv.Expect(t, mocksmtp.Want{Subject: "Welcome"}).Times(2)
	srv.Expect(t, mocksmtp.Want{To: []string{"audit@example.com"}}).Never()
	srv.ExpectNoOtherMessages(t) // and nothing else

	for _, to := range []string{"ann@example.com", "bob@example.com"} {
		if err := sendWelcome(srv.Addr(), to); err != nil {
			t.Fatal(err)
		}
	}
	t.done()
	fmt.Println("failed:", t.Failed())
	// Output:
	// failed: false
}

// Waiting for the mail that matters, then following its link or code.
func ExampleServer_WaitFor() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)

	go sendSignIn(srv.Addr(), "bob@example.com") // the code under test, in the background

	msg := srv.WaitFor(t, mocksmtp.Want{To: []string{"bob@example.com"}, SubjectContains: "Sign in"})
	fmt.Println(msg.Links())
	fmt.Println(msg.Find(regexp.MustCompile(`code (\d{6})`)))
	// Output:
	// [https://app.example.com/login?token=s3cr3t&to=%2F]
	// 493817
}

func ExampleServer_AssertMessage() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	if err := sendWelcome(srv.Addr(), "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	msg := srv.AssertMessage(t, mocksmtp.Want{TextMatches: `(?i)welcome`})
	fmt.Println(msg.To)
	// Output:
	// [bob@example.com]
}

// A negative test: the code must not send mail.
func ExampleServer_AssertNoMessages() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)

	// The code under test rejects an invalid address and sends nothing.
	srv.AssertNoMessages(t, 20*time.Millisecond) // fails as soon as a message arrives
	fmt.Println("failed:", t.Failed())
	// Output:
	// failed: false
}

// One server for many parallel tests: each sends to its own inbox.
func ExampleServer_Inbox() {
	srv, err := mocksmtp.New() // in TestMain, say
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	t := &fakeT{} // in a real test: t.Parallel()
	in := srv.Inbox(t)
	in.Expect(t, mocksmtp.Want{Subject: "Welcome"})
	if err := sendWelcome(srv.Addr(), in.Address("bob")); err != nil {
		t.Fatal(err)
	}
	fmt.Println(in.Address("bob"))
	fmt.Println(len(in.Messages()), "message")
	t.done()
	// Output:
	// bob@testexample-1.inbox.test
	// 1 message
}

// Comparing a transcript with testdata/expect/welcome.golden. A real test
// declares the flag once in its package,
//
//	var update = flag.Bool("update", false, "rewrite golden files")
//
// passes *update, and runs go test -update to accept a new transcript.
// (An example passes false: with update, AssertGolden logs the file it
// wrote, which would change the example's output. TestExampleGoldenFiles
// rewrites the file under -update.)
func ExampleTranscript_AssertGolden() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	if err := sendWelcome(srv.Addr(), "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	s := srv.WaitForSessions(t, 1)[0]
	s.Transcript.AssertGolden(t, "testdata/expect/welcome.golden", false) // a test passes *update

	fmt.Print(s.Transcript.Normalized()) // what the golden file holds
	// Output:
	// S: 220 localhost ESMTP mocksmtp
	// C: EHLO <client>
	// S: 250-localhost
	// S: 250-PIPELINING
	// S: 250-SIZE 10485760
	// S: 250-ENHANCEDSTATUSCODES
	// S: 250-8BITMIME
	// S: 250-DSN
	// S: 250-SMTPUTF8
	// S: 250 CHUNKING
	// C: MAIL FROM:<app@example.com> BODY=8BITMIME SMTPUTF8
	// S: 250 2.1.0 Ok
	// C: RCPT TO:<bob@example.com>
	// S: 250 2.1.5 Ok
	// C: DATA
	// S: 354 End data with <CR><LF>.<CR><LF>
	// *: <message data: <n> octets>
	// *: message 1 accepted: <n> octets from <app@example.com> to 1 recipient
	// S: 250 2.0.0 Ok: queued
	// C: QUIT
	// S: 221 2.0.0 Bye
}

func ExampleWant_Match() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)

	for _, to := range []string{"a@example.com", "b@example.com"} {
		if err := sendWelcome(srv.Addr(), to); err != nil {
			t.Fatal(err)
		}
	}
	srv.WaitForMessages(t, 2)
	want := mocksmtp.Want{To: []string{"b@example.com"}, TextContains: "welcome"}
	for _, m := range srv.Messages() {
		ok, err := want.Match(m)
		fmt.Println(m.ID, ok, err)
	}
	_, err := mocksmtp.Want{SubjectMatches: "(unclosed"}.Match(nil)
	fmt.Println(err)
	// Output:
	// 1 false <nil>
	// 2 true <nil>
	// mocksmtp: Want.SubjectMatches: invalid regular expression "(unclosed": error parsing regexp: missing closing ): `(unclosed`
}
