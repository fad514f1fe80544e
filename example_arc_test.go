package mocksmtp_test

import (
	"fmt"
	"net/smtp"
	"os"
	"strings"

	"github.com/mocksmtp/mocksmtp"
)

// A mailing list re-sends a shop's mail with a footer (which breaks the
// shop's DKIM signature, if it had one) and seals it with ARC, saying
// what it found on arrival: the message as the list sent it passes; with
// its body changed after sealing, the newest message signature fails. The
// list's key is registered as a DKIM key: ARC keys are DKIM keys.
func ExampleARCResult() {
	t := &fakeT{}
	defer t.done()

	// testdata/arc/list.eml: the list's ARC set on top of the shop's mail.
	sealed, err := os.ReadFile("testdata/arc/list.eml")
	if err != nil {
		t.Fatal(err)
	}
	srv := mocksmtp.Start(t, mocksmtp.WithDKIMKey("lists.example.org", "arc", exampleKey.Public()))
	for _, raw := range []string{string(sealed), strings.Replace(string(sealed), "spring", "summer", 1)} {
		if err := smtp.SendMail(srv.Addr(), nil, "fans-owner@lists.example.org", []string{"bob@example.org"}, []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range srv.WaitForMessages(t, 2) {
		fmt.Println(strings.TrimSpace(fmt.Sprintln(m.ARC.Status, len(m.ARC.Sets), m.ARC.Reason)))
		for _, l := range srv.Session(m.Session.ID).Transcript {
			if strings.HasPrefix(l.Text, "Authentication-Results:") {
				fmt.Println(l)
			}
		}
	}
	for _, f := range srv.Findings() {
		if f.Rule == mocksmtp.RuleARC {
			fmt.Println(f.Text)
		}
	}
	// Output:
	// pass 1
	// *: Authentication-Results: localhost; arc=pass
	// fail 1 set 1: ARC-Message-Signature fail: body hash mismatch: the body changed after sealing
	// *: Authentication-Results: localhost; arc=fail (set 1: ARC-Message-Signature fail: body hash mismatch: the body changed after sealing)
	// ARC chain of 1 set fails: set 1: ARC-Message-Signature fail: body hash mismatch: the body changed after sealing
}

// Each ARC set says who sealed it, what it found on arrival, and whether
// its seal and its message signature verified.
func ExampleARCSet() {
	t := &fakeT{}
	defer t.done()

	sealed, err := os.ReadFile("testdata/arc/list.eml")
	if err != nil {
		t.Fatal(err)
	}
	srv := mocksmtp.Start(t, mocksmtp.WithDKIMKey("lists.example.org", "arc", exampleKey.Public()))
	if err := smtp.SendMail(srv.Addr(), nil, "fans-owner@lists.example.org", []string{"bob@example.org"}, sealed); err != nil {
		t.Fatal(err)
	}
	for _, s := range srv.WaitForMessages(t, 1)[0].ARC.Sets {
		fmt.Printf("i=%d d=%s s=%s a=%s cv=%s\n", s.Instance, s.Domain, s.Selector, s.Algorithm, s.CV)
		fmt.Println("found:", s.AuthResults)
		fmt.Println("seal:", s.Seal, "message signature:", s.Signature)
	}
	// Output:
	// i=1 d=lists.example.org s=arc a=ed25519-sha256 cv=none
	// found: lists.example.org; dkim=pass header.d=example.com
	// seal: pass message signature: pass
}

// A message without ARC sets has the status none; a chain whose sealer's
// key the test did not register fails, saying so, as a DKIM temperror
// does, and is no finding: the test's keys lack it.
func ExampleARCStatus() {
	t := &fakeT{}
	defer t.done()

	sealed, err := os.ReadFile("testdata/arc/list.eml")
	if err != nil {
		t.Fatal(err)
	}
	srv := mocksmtp.Start(t) // no WithDKIMKey
	for _, raw := range []string{"From: a@example.com\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <1@example.com>\r\n\r\nhi\r\n", string(sealed)} {
		if err := smtp.SendMail(srv.Addr(), nil, "a@example.com", []string{"bob@example.org"}, []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range srv.WaitForMessages(t, 2) {
		fmt.Println(m.ARC.Status == mocksmtp.ARCNone, m.ARC.Status == mocksmtp.ARCPass, m.ARC.Status == mocksmtp.ARCFail, m.ARC)
	}
	fmt.Println(len(srv.Findings()), "findings")
	// Output:
	// true false false arc=none
	// false false true arc=fail (set 1: ARC-Message-Signature temperror: no key registered for arc._domainkey.lists.example.org [WithDKIMKey])
	// 0 findings
}

// A Want with ARC fails, with a diff that says why the chain failed: the
// list changed the body after sealing.
func ExampleWant_arc() {
	t := stableT{&fakeT{}}
	srv := mocksmtp.Start(t, mocksmtp.WithoutTranscriptLog(), mocksmtp.WithDKIMKey("lists.example.org", "arc", exampleKey.Public()))
	srv.Expect(t, mocksmtp.Want{Subject: "New in store", ARC: mocksmtp.ARCPass})

	sealed, err := os.ReadFile("testdata/arc/list.eml")
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(sealed), "spring", "summer", 1)
	if err := smtp.SendMail(srv.Addr(), nil, "fans-owner@lists.example.org", []string{"bob@example.org"}, []byte(changed)); err != nil {
		t.Fatal(err)
	}
	t.done()
	// Output:
	// mocksmtp: expectation at example_arc_test.go:110 not met: want exactly 1 message like this, got 0:
	//   Want{Subject: "New in store", ARC: "pass"}
	// nearest: message 1 from <fans-owner@lists.example.org> to <bob@example.org> "New in store" (784 bytes)
	// 1 field of 2 differs (-want +got):
	//   mocksmtp.Want{
	//   	... // 16 ignored and 1 identical fields
	// - 	ARC:       "pass",
	// + 	ARC:       "fail",
	// - 	ARCReason: "",
	// + 	ARCReason: "set 1: ARC-Message-Signature fail: body hash mismatch: the body changed after sealing",
	//   }
	// session 1, ended: QUIT; lines 11-20 of 22:
	//   11 C: MAIL FROM:<fans-owner@lists.example.org> BODY=8BITMIME SMTPUTF8
	//   12 S: 250 2.1.0 Ok
	//   13 C: RCPT TO:<bob@example.org>
	//   14 S: 250 2.1.5 Ok
	//   15 C: DATA
	//   16 S: 354 End data with <CR><LF>.<CR><LF>
	//   17 *: <message data: 787 octets>
	//   18 *: Authentication-Results: localhost; arc=fail (set 1: ARC-Message-Signature fail: body hash mismatch: the body changed after sealing)
	//   19 *: message 1 accepted: 784 octets from <fans-owner@lists.example.org> to 1 recipient
	//   20 S: 250 2.0.0 Ok: queued
	// in all: 1 session, 1 message
}
