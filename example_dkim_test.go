package mocksmtp_test

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"fmt"
	"net/smtp"
	"strings"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/mocksmtp/mocksmtp"
)

// sendSigned is code under test: a mailer that signs with DKIM, here
// with go-msgauth (go-mail's DKIM middleware and nodemailer's dkim option
// work the same way), before a relay might change the body.
func sendSigned(addr string, key crypto.Signer, changeBody bool) error {
	msg := "From: Shop <shop@example.com>\r\nTo: bob@example.org\r\nSubject: Your order\r\n\r\nThanks for your order.\r\n"
	var signed bytes.Buffer
	err := dkim.Sign(&signed, strings.NewReader(msg), &dkim.SignOptions{
		Domain: "example.com", Selector: "mail", Signer: key,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
		HeaderKeys: []string{"From", "To", "Subject"},
	})
	if err != nil {
		return err
	}
	out := signed.String()
	if changeBody {
		out = strings.Replace(out, "Thanks", "Thank you", 1)
	}
	return smtp.SendMail(addr, nil, "shop@example.com", []string{"bob@example.org"}, []byte(out))
}

// exampleKey is the signing key of the examples; a test would load its
// own, or make one.
var exampleKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{42}, ed25519.SeedSize))

func ExampleWithDKIMKey() {
	t := &fakeT{}
	defer t.done()

	srv := mocksmtp.Start(t, mocksmtp.WithDKIMKey("example.com", "mail", exampleKey.Public()))
	for _, changed := range []bool{false, true} {
		if err := sendSigned(srv.Addr(), exampleKey, changed); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range srv.WaitForMessages(t, 2) {
		r := m.DKIM[0]
		fmt.Println(strings.TrimSpace(fmt.Sprintln(r.Status, r.Domain, r.Selector, r.Reason)))
		for _, l := range srv.Session(m.Session.ID).Transcript {
			if strings.HasPrefix(l.Text, "Authentication-Results:") {
				fmt.Println(l)
			}
		}
	}
	for _, f := range srv.Findings() {
		if f.Rule == mocksmtp.RuleDKIM {
			fmt.Println(f.Text)
		}
	}
	// Output:
	// pass example.com mail
	// *: Authentication-Results: localhost; dkim=pass header.d=example.com header.s=mail header.a=ed25519-sha256
	// fail example.com mail body hash mismatch: the body changed after signing
	// *: Authentication-Results: localhost; dkim=fail (body hash mismatch: the body changed after signing) header.d=example.com header.s=mail header.a=ed25519-sha256
	// DKIM signature 1 (d=example.com s=mail) fail: body hash mismatch: the body changed after signing
}

func ExampleDKIMResult() {
	r := mocksmtp.DKIMResult{Status: mocksmtp.DKIMTempError, Reason: "no key registered for s1._domainkey.example.com (WithDKIMKey)",
		Domain: "example.com", Selector: "s1", Identifier: "@example.com", Algorithm: "rsa-sha256"}
	fmt.Println(r)
	// Output:
	// dkim=temperror (no key registered for s1._domainkey.example.com [WithDKIMKey]) header.d=example.com header.s=s1 header.a=rsa-sha256
}

// A signature the test registered no key for is a temperror, clearly
// said; the test's own lookup is the only one: never DNS.
func ExampleDKIMStatus() {
	t := &fakeT{}
	defer t.done()

	srv := mocksmtp.Start(t) // no WithDKIMKey
	if err := sendSigned(srv.Addr(), exampleKey, false); err != nil {
		t.Fatal(err)
	}
	r := srv.WaitForMessages(t, 1)[0].DKIM[0]
	fmt.Println(r.Status == mocksmtp.DKIMTempError, r.Reason)
	// Output:
	// true no key registered for mail._domainkey.example.com (WithDKIMKey)
}

// A Want with DKIM fails, with a diff that says why the signature did
// not verify.
func ExampleWantDKIM() {
	t := stableT{&fakeT{}}
	srv := mocksmtp.Start(t, mocksmtp.WithoutTranscriptLog(), mocksmtp.WithDKIMKey("example.com", "mail", exampleKey.Public()))
	srv.Expect(t, mocksmtp.Want{To: []string{"bob@example.org"}, DKIM: []mocksmtp.WantDKIM{{Domain: "example.com"}}})

	if err := sendSigned(srv.Addr(), exampleKey, true); err != nil {
		t.Fatal(err)
	}
	t.done()
	// Output:
	// mocksmtp: expectation at example_dkim_test.go:102 not met: want exactly 1 message like this, got 0:
	//   Want{To: ["bob@example.org"], DKIM: [{Domain: "example.com", Status: "pass"}]}
	// nearest: message 1 from <shop@example.com> to <bob@example.org> "Your order" (366 bytes)
	// 1 field of 2 differs (-want +got):
	//   mocksmtp.Want{
	//   	... // 15 ignored and 1 identical fields
	//   	DKIM: []mocksmtp.WantDKIM{
	//   		{
	//   			... // 1 ignored and 1 identical fields
	// - 			Status: "pass",
	// + 			Status: "fail",
	// - 			Reason: "",
	// + 			Reason: "body hash mismatch: the body changed after signing",
	//   		},
	//   	},
	//   	... // 2 ignored fields
	//   }
	// session 1, ended: QUIT; lines 11-20 of 22:
	//   11 C: MAIL FROM:<shop@example.com> BODY=8BITMIME SMTPUTF8
	//   12 S: 250 2.1.0 Ok
	//   13 C: RCPT TO:<bob@example.org>
	//   14 S: 250 2.1.5 Ok
	//   15 C: DATA
	//   16 S: 354 End data with <CR><LF>.<CR><LF>
	//   17 *: <message data: 369 octets>
	//   18 *: Authentication-Results: localhost; dkim=fail (body hash mismatch: the body changed after signing) header.d=example.com header.s=mail header.a=ed25519-sha256
	//   19 *: message 1 accepted: 366 octets from <shop@example.com> to 1 recipient
	//   20 S: 250 2.0.0 Ok: queued
	// in all: 1 session, 1 message
}
