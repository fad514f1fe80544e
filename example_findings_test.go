package mocksmtp_test

import (
	"fmt"
	"net/smtp"

	"github.com/mocksmtp/mocksmtp"
)

func ExampleServer_Findings() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)

	// A hand-built message with no Date and no Message-ID.
	msg := "From: app@example.com\r\nTo: bob@example.com\r\nSubject: hi\r\n\r\nhello\r\n"
	if err := smtp.SendMail(srv.Addr(), nil, "app@example.com", []string{"bob@example.com"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	m := srv.WaitForMessages(t, 1)[0]
	for _, f := range m.Findings {
		fmt.Printf("%s %s (%s): %s\n", f.Severity, f.Rule, f.Rule.Ref(), f.Text)
	}
	// Output:
	// error required-headers (RFC 5322 3.6): no Date header field
	// warning message-id (RFC 5322 3.6.4): no Message-ID header field
}

func ExampleWithRejectNonconforming() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithRejectNonconforming())

	msg := "From: app@example.com\r\nTo: bob@example.com\r\nSubject: hi\r\n\r\nhello\r\n"
	err := smtp.SendMail(srv.Addr(), nil, "app@example.com", []string{"bob@example.com"}, []byte(msg))
	fmt.Println("the client sees an error:", err != nil)
	fmt.Println("messages recorded:", len(srv.Messages()))
	// Output:
	// the client sees an error: true
	// messages recorded: 0
}

func ExampleRules() {
	for _, r := range mocksmtp.Rules()[:3] {
		fmt.Printf("%s (%s)\n", r, r.Ref())
	}
	// Output:
	// bare-line-ending (RFC 5321 2.3.8)
	// dot-stuffing (RFC 5321 4.5.2)
	// line-length (RFC 5321 4.5.3.1.6)
}

// A Finding is one rule a client broke, with where: the session, the
// transcript line, the message.
func ExampleFinding() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	msg := "From: app@example.com\r\nTo: bob@example.com\r\nSubject: hi\r\n\r\nhello\r\n" // no Date
	if err := smtp.SendMail(srv.Addr(), nil, "app@example.com", []string{"bob@example.com"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	f := srv.WaitForMessages(t, 1)[0].Findings[0]
	fmt.Println(f.Rule, f.Severity, f.Session, f.Line, f.Message)
	fmt.Println(f)
	// Output:
	// required-headers error 1 17 1
	// error RFC 5322 3.6 required-headers: session 1 line 17 message 1: no Date header field
}

func ExampleFindingsReport() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	msg := "From: app@example.com\r\nTo: bob@example.com\r\nSubject: hi\r\n\r\nhello\r\n"
	if err := smtp.SendMail(srv.Addr(), nil, "app@example.com", []string{"bob@example.com"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	srv.WaitForSessions(t, 1)
	fmt.Print(mocksmtp.FindingsReport(srv.Findings(), srv.Sessions()))
	// Output:
	// 2 conformance findings
	//
	// error required-headers (RFC 5322 3.6), 1×
	//   session 1, message 1: no Date header field
	//       16 S: 354 End data with <CR><LF>.<CR><LF>
	//    >  17 *: <message data: 69 octets>
	//       18 *: message 1 accepted: 66 octets from <app@example.com> to 1 recipient
	//
	// warning message-id (RFC 5322 3.6.4), 1×
	//   session 1, message 1: no Message-ID header field
	//       16 S: 354 End data with <CR><LF>.<CR><LF>
	//    >  17 *: <message data: 69 octets>
	//       18 *: message 1 accepted: 66 octets from <app@example.com> to 1 recipient
}

// Each Rule names the RFC section that states it.
func ExampleRule() {
	fmt.Println(mocksmtp.RuleBareLineEnding, mocksmtp.RuleBareLineEnding.Ref())
	fmt.Println(mocksmtp.RuleQuit, mocksmtp.RuleQuit.Ref())
	fmt.Println(mocksmtp.RuleNonSMTP, mocksmtp.RuleNonSMTP.Ref())
	fmt.Println(mocksmtp.RuleSTARTTLSFirst, mocksmtp.RuleSTARTTLSFirst.Ref())
	// Output:
	// bare-line-ending RFC 5321 2.3.8
	// quit RFC 5321 4.1.1.10
	// non-smtp RFC 5321 4.1
	// starttls-first RFC 3207 4
}

func ExampleSeverity() {
	fmt.Println(mocksmtp.SeverityWarning, mocksmtp.SeverityError)
	// Output:
	// warning error
}

// WithStrict fails the test at cleanup when a client broke a rule: here
// one that hangs up without QUIT.
func ExampleWithStrict() {
	t := &fakeT{}
	srv := mocksmtp.Start(t, mocksmtp.WithStrict(), mocksmtp.WithoutTranscriptLog())
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	srv.WaitForSessions(t, 1)
	fmt.Println(srv.Findings()[0].Rule)

	t.done() // the test ends
	fmt.Println("failed:", t.Failed())
	// Output:
	// quit
	// mocksmtp: Start at example_findings_test.go:120: the client broke the rules (WithStrict): 1 conformance finding
	//
	// warning quit (RFC 5321 4.1.1.10), 1×
	//   session 1: the client closed the connection without QUIT
	//    >   1 S: 220 localhost ESMTP mocksmtp
	//
	// failed: true
}

// WithoutRules switches off the rules a test does not care about.
func ExampleWithoutRules() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithoutRules(mocksmtp.RuleRequiredHeaders, mocksmtp.RuleMessageID))
	msg := "From: app@example.com\r\nTo: bob@example.com\r\nSubject: hi\r\n\r\nhello\r\n"
	if err := smtp.SendMail(srv.Addr(), nil, "app@example.com", []string{"bob@example.com"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	fmt.Println(len(srv.WaitForMessages(t, 1)[0].Findings))
	// Output:
	// 0
}
