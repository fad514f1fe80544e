package mocksmtp_test

import (
	"fmt"
	"net/smtp"
	"regexp"

	"github.com/mocksmtp/mocksmtp"
)

// sendReset is code under test: a password-reset mail from a template,
// with a fresh token, Message-ID, Date and MIME boundary each time.
func sendReset(addr, to, token, boundary string) error {
	msg := "From: App <app@example.com>\r\nTo: " + to + "\r\nSubject: Reset your password\r\n" +
		"Date: Tue, 24 Nov 2026 18:41:56 +0100\r\nMessage-ID: <" + token + "@app.example.com>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n\r\n" +
		"--" + boundary + "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Open https://app.example.com/reset?token=" + token + " within an hour.\r\n" +
		"--" + boundary + "\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
		"<a href=\"https://app.example.com/reset?token=" + token + "\">Reset</a>\r\n" +
		"--" + boundary + "--\r\n"
	return smtp.SendMail(addr, nil, "app@example.com", []string{to}, []byte(msg))
}

func ExampleMessage_Normalized() {
	t := &fakeT{}
	defer t.done()

	srv := mocksmtp.Start(t)
	if err := sendReset(srv.Addr(), "bob@example.com", "f3a9c1d2", "=_b_81"); err != nil {
		t.Fatal(err)
	}
	m := srv.WaitForMessages(t, 1)[0]
	fmt.Print(m.Normalized(mocksmtp.Mask(regexp.MustCompile(`token=\w+`), "token=<token>")))
	// Output:
	// From: App <app@example.com>
	// To: bob@example.com
	// Subject: Reset your password
	// Date: <date>
	// Message-ID: <message-id>
	// MIME-Version: 1.0
	// Content-Type: multipart/alternative; boundary="<boundary-1>"
	//
	// --- part 1: text/plain
	// Content-Type: text/plain; charset=utf-8
	//
	// Open https://app.example.com/reset?token=<token> within an hour.
	//
	// --- part 2: text/html
	// Content-Type: text/html; charset=utf-8
	//
	// <a href="https://app.example.com/reset?token=<token>">Reset</a>
}

// Two runs of a template that differ in everything that changes from run
// to run read the same as the golden file, testdata/message/reset.golden,
// which go test -update wrote (a test declares the flag:
// var update = flag.Bool("update", false, "rewrite golden files"); here,
// TestExampleGoldenFiles rewrites the file, and the example passes false
// so that its output stays the same under -update).
func ExampleMessage_AssertGolden() {
	t := &fakeT{}
	defer t.done()

	srv := mocksmtp.Start(t)
	mask := mocksmtp.Mask(regexp.MustCompile(`token=\w+`), "token=<token>")
	for i, token := range []string{"f3a9c1d2", "0b7e44aa"} {
		if err := sendReset(srv.Addr(), "bob@example.com", token, fmt.Sprint("=_b_", i)); err != nil {
			t.Fatal(err)
		}
		m := srv.WaitForMessages(t, i+1)[i]
		m.AssertGolden(t, "testdata/message/reset.golden", false, mask) // a test passes *update
	}
	fmt.Println("failed:", t.Failed())
	// Output:
	// failed: false
}

func ExampleMask() {
	m := &mocksmtp.Message{Raw: []byte("Subject: Your code\r\n\r\nYour sign-in code is 493817.\r\n")}
	fmt.Print(m.Normalized(mocksmtp.Mask(regexp.MustCompile(`code is \d+`), "code is <code>")))
	// Output:
	// Subject: Your code
	//
	// --- body: text/plain
	//
	// Your sign-in code is <code>.
}

// Golden options change what Message.Normalized and Message.AssertGolden
// write: each Mask replaces what its pattern matches, here a reset link's
// token and a one-time code.
func ExampleGoldenOption() {
	m := &mocksmtp.Message{Raw: []byte("Subject: Reset\r\n\r\nCode 493817, or https://app.test/reset?t=Zx81Kq\r\n")}
	opts := []mocksmtp.GoldenOption{
		mocksmtp.Mask(regexp.MustCompile(`Code \d+`), "Code <code>"),
		mocksmtp.Mask(regexp.MustCompile(`t=\w+`), "t=<token>"),
	}
	fmt.Print(m.Normalized(opts...))
	// Output:
	// Subject: Reset
	//
	// --- body: text/plain
	//
	// Code <code>, or https://app.test/reset?t=<token>
}
