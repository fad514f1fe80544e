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
