package mocksmtp_test

import (
	"errors"
	"fmt"
	"net/smtp"
	"regexp"
	"strings"

	"github.com/mocksmtp/mocksmtp"
)

// sendToBob sends raw, with "\n" line breaks, from app@example.com to bob.
func sendToBob(addr, raw string) error {
	return smtp.SendMail(addr, nil, "app@example.com", []string{"bob@example.com"}, []byte(strings.ReplaceAll(raw, "\n", "\r\n")))
}

const invoice = `From: Shop <shop@example.com>
To: Bob <bob@example.com>
Subject: =?utf-8?q?Your_invoice_=E2=84=96_42?=
Message-ID: <inv-42@shop.example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Your invoice is attached.
--b1
Content-Type: application/pdf; name="invoice-42.pdf"
Content-Disposition: attachment; filename="invoice-42.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--b1--
`

// A Message has the envelope as the client sent it and the content
// parsed as MIME.
func ExampleMessage() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	if err := sendToBob(srv.Addr(), invoice); err != nil {
		t.Fatal(err)
	}
	m := srv.WaitForMessages(t, 1)[0]
	fmt.Println("envelope:", m.From, "→", m.To, m.Params["BODY"])
	fmt.Println("header:", m.HeaderFrom[0].Name, m.HeaderFrom[0].Address, m.MessageID)
	fmt.Println("subject:", m.Subject)
	fmt.Printf("text: %q\n", m.Text)
	fmt.Println("attachments:", len(m.Attachments), m.ParseErr)
	// Output:
	// envelope: app@example.com → [bob@example.com] 8BITMIME
	// header: Shop shop@example.com inv-42@shop.example.com
	// subject: Your invoice № 42
	// text: "Your invoice is attached."
	// attachments: 1 <nil>
}

func ExampleMessage_String() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	_ = sendToBob(srv.Addr(), invoice)
	fmt.Println(srv.WaitForMessages(t, 1)[0])
	// Output:
	// message 1 from <app@example.com> to <bob@example.com> "Your invoice № 42" (467 bytes, 1 attachment)
}

// Find pulls a one-time code out of a message, HTML or text.
func ExampleMessage_Find() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	_ = sendSignIn(srv.Addr(), "bob@example.com")
	m := srv.WaitForMessages(t, 1)[0]
	fmt.Println(m.Find(regexp.MustCompile(`code (\d{6})`)))
	fmt.Printf("%q\n", m.Find(regexp.MustCompile(`PIN (\d{4})`)))
	// Output:
	// 493817
	// ""
}

// Links finds a magic link, entities decoded, ready to follow.
func ExampleMessage_Links() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	_ = sendSignIn(srv.Addr(), "bob@example.com")
	fmt.Println(srv.WaitForMessages(t, 1)[0].Links())
	// Output:
	// [https://app.example.com/login?token=s3cr3t&to=%2F]
}

func ExampleAttachment() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	_ = sendToBob(srv.Addr(), invoice)
	for _, a := range srv.WaitForMessages(t, 1)[0].Attachments {
		fmt.Printf("%s %s inline=%v %q\n", a.Filename, a.ContentType, a.Inline, a.Data[:5])
	}
	// Output:
	// invoice-42.pdf application/pdf inline=false "%PDF-"
}

// A message whose MIME breaks the limits is recorded all the same, with
// ParseErr saying what went wrong.
func ExampleMessage_parseErr() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	var raw strings.Builder
	raw.WriteString("Subject: deep\nMIME-Version: 1.0\n")
	for i := range 101 {
		fmt.Fprintf(&raw, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i)
	}
	raw.WriteString("Content-Type: text/plain\n\nhello\n")
	_ = sendToBob(srv.Addr(), raw.String())

	m := srv.WaitForMessages(t, 1)[0]
	fmt.Println(m.Subject)
	fmt.Println(errors.Is(m.ParseErr, mocksmtp.ErrMIMETooDeep), errors.Is(m.ParseErr, mocksmtp.ErrMIMETooManyParts))
	// Output:
	// deep
	// true false
}

// A Want sets only the fields a test cares about; the others are not
// compared.
func ExampleWant() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	_ = sendToBob(srv.Addr(), invoice)

	srv.AssertMessage(t, mocksmtp.Want{
		To:              []string{"bob@example.com"},
		HeaderFrom:      "Shop <shop@example.com>",
		SubjectContains: "invoice",
		TextMatches:     `(?i)attached`,
		Header:          map[string]string{"mime-version": "1.0"},
		Attachments:     []mocksmtp.WantAttachment{{ContentType: "application/pdf"}},
	})
	fmt.Println("failed:", t.Failed())
	// Output:
	// failed: false
}

func ExampleWant_String() {
	fmt.Println(mocksmtp.Want{To: []string{"bob@example.com"}, Subject: "Welcome"})
	// Output:
	// Want{To: ["bob@example.com"], Subject: "Welcome"}
}

func ExampleWantAttachment() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	_ = sendToBob(srv.Addr(), invoice)

	// By name and type, or by content: fields left zero are not compared.
	srv.AssertMessage(t, mocksmtp.Want{Attachments: []mocksmtp.WantAttachment{{Filename: "invoice-42.pdf", ContentType: "APPLICATION/PDF"}}})
	srv.AssertMessage(t, mocksmtp.Want{Attachments: []mocksmtp.WantAttachment{{Data: []byte("%PDF-1.4\n")}}})
	fmt.Println("failed:", t.Failed())
	// Output:
	// failed: false
}

// AtLeast(0) allows messages without requiring them, so that
// ExpectNoOtherMessages lets them through.
func ExampleExpectation_AtLeast() {
	t := &fakeT{}
	srv := mocksmtp.Start(t)
	srv.Expect(t, mocksmtp.Want{To: []string{"bob@example.com"}})
	srv.Expect(t, mocksmtp.Want{To: []string{"audit@example.com"}}).AtLeast(0) // may come, or not
	srv.ExpectNoOtherMessages(t)
	_ = sendWelcome(srv.Addr(), "bob@example.com")
	_ = sendWelcome(srv.Addr(), "audit@example.com")
	_ = sendWelcome(srv.Addr(), "audit@example.com")

	t.done() // the test ends: expectations are checked
	fmt.Println("failed:", t.Failed())
	// Output:
	// failed: false
}
