package mocksmtp_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// ehloAUTH dials addr, greets, and returns the mechanisms AUTH offers
// before and after STARTTLS ("" when AUTH is not offered).
func ehloAUTH(srv *mocksmtp.Server) (before, after string, err error) {
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		return "", "", err
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		return "", "", err
	}
	_, before = c.Extension("AUTH")
	if err := c.StartTLS(srv.ClientTLSConfig()); err != nil {
		return "", "", err
	}
	_, after = c.Extension("AUTH")
	return before, after, c.Quit()
}

func ExampleAuthMechanism() {
	fmt.Println(mocksmtp.AuthPlain, mocksmtp.AuthLogin, mocksmtp.AuthCRAMMD5)

	// Options take them in any case; a mechanism the server does not
	// implement is an error from New.
	srv, err := mocksmtp.New(mocksmtp.WithAuth("mailer", "s3cret"), mocksmtp.WithAuthMechanisms("login"))
	if err != nil {
		panic(err)
	}
	srv.Close()
	_, err = mocksmtp.New(mocksmtp.WithAuth("mailer", "s3cret"), mocksmtp.WithAuthMechanisms("GSSAPI"))
	fmt.Println("GSSAPI refused:", err != nil)
	// Output:
	// PLAIN LOGIN CRAM-MD5
	// GSSAPI refused: true
}

func ExampleWithAuthMechanismsBeforeTLS() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithAuth("mailer", "s3cret"),
		mocksmtp.WithAuthMechanismsBeforeTLS(mocksmtp.AuthCRAMMD5))
	before, after, err := ehloAUTH(srv)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("before TLS:", before)
	fmt.Println("after TLS:", after)
	// Output:
	// before TLS: CRAM-MD5
	// after TLS: PLAIN LOGIN CRAM-MD5
}

func ExampleWithRequireTLSForAuth() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithAuth("mailer", "s3cret"), mocksmtp.WithRequireTLSForAuth())
	before, after, err := ehloAUTH(srv)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("before TLS: %q\n", before)
	fmt.Printf("after TLS: %q\n", after)

	// Mechanisms offered before TLS contradict it: New refuses the two.
	_, err = mocksmtp.New(mocksmtp.WithAuth("mailer", "s3cret"), mocksmtp.WithRequireTLSForAuth(),
		mocksmtp.WithAuthMechanismsBeforeTLS(mocksmtp.AuthCRAMMD5))
	fmt.Println(err)
	// Output:
	// before TLS: ""
	// after TLS: "PLAIN LOGIN CRAM-MD5"
	// mocksmtp: WithAuthMechanismsBeforeTLS and WithRequireTLSForAuth: AUTH is offered only after TLS, so no mechanism is offered before it; choose one
}

func ExampleWithoutSecretMasking() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithAuth("user", "secret"), mocksmtp.WithoutSecretMasking())
	// net/smtp sends PLAIN without TLS only to localhost.
	auth := smtp.PlainAuth("", "user", "secret", "127.0.0.1")
	if err := smtp.SendMail(srv.Addr(), auth, "app@example.com", []string{"bob@example.com"}, []byte("Subject: hi\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	for _, l := range srv.WaitForSessions(t, 1)[0].Transcript {
		if strings.HasPrefix(l.Text, "AUTH") {
			fmt.Println(l)
		}
	}
	// Output:
	// C: AUTH PLAIN AHVzZXIAc2VjcmV0
}

func ExampleWithMaxMessageBytes() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithMaxMessageBytes(1024))
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	_, size := c.Extension("SIZE")
	fmt.Println("SIZE", size)

	big := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("x", 70)+"\r\n", 30)
	err = smtp.SendMail(srv.Addr(), nil, "app@example.com", []string{"bob@example.com"}, []byte(big))
	var reply *textproto.Error
	if errors.As(err, &reply) {
		fmt.Println(reply.Code)
	}
	// Output:
	// SIZE 1024
	// 552
}

func ExampleWithOnSessionEnd() {
	ended := make(chan *mocksmtp.Session, 1)
	srv, err := mocksmtp.New(mocksmtp.WithOnSessionEnd(func(s *mocksmtp.Session) { ended <- s }))
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	if err := sendWelcome(srv.Addr(), "bob@example.com"); err != nil {
		panic(err)
	}
	s := <-ended
	fmt.Println("session", s.ID, "ended:", s.Ended, "messages:", len(s.Messages))
	// Output:
	// session 1 ended: QUIT messages: 1
}

func ExampleServer_ExpectNoOtherMessages() {
	t := &fakeT{}
	srv := mocksmtp.Start(t)
	srv.Expect(t, mocksmtp.Want{To: []string{"bob@example.com"}})
	srv.ExpectNoOtherMessages(t) // no mail to anyone else

	if err := sendWelcome(srv.Addr(), "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	t.done()
	fmt.Println("failed:", t.Failed())
	// Output:
	// failed: false
}

// Each parallel test registers expectations on its own inbox.
func ExampleInbox_Expect() {
	srv, err := mocksmtp.New() // in TestMain, say
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	t := &fakeT{} // in a real test: t.Parallel()
	in := srv.Inbox(t)
	in.Expect(t, mocksmtp.Want{Subject: "Welcome"})
	in.ExpectNoOtherMessages(t)
	if err := sendWelcome(srv.Addr(), in.Address("bob")); err != nil {
		t.Fatal(err)
	}
	if err := sendWelcome(srv.Addr(), "someone@example.com"); err != nil { // another test's mail
		t.Fatal(err)
	}
	t.done()
	fmt.Println("failed:", t.Failed())
	// Output:
	// failed: false
}

func ExampleInbox_ExpectNoOtherMessages() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	t := &fakeT{}
	in := srv.Inbox(t)
	in.Expect(t, mocksmtp.Want{Subject: "Welcome"}).AtLeast(0) // allowed, not required
	in.ExpectNoOtherMessages(t)
	t.done()
	fmt.Println("failed:", t.Failed())
	// Output:
	// failed: false
}

func ExampleInbox_ExpectNoMessages() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	t := &fakeT{}
	in := srv.Inbox(t)
	in.ExpectNoMessages(t)
	// The code under test sends nothing to this test's users.
	if err := sendWelcome(srv.Addr(), "someone@example.com"); err != nil {
		t.Fatal(err)
	}
	t.done()
	fmt.Println("failed:", t.Failed())
	// Output:
	// failed: false
}

// The first fault that matches an event and answers it decides its
// answer: list the narrow ones first. (One that only delays or modifies
// the reply, a pace or an idle reply, decides nothing: the faults after
// it are consulted still.)
func ExampleWithFault() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(
		mocksmtp.At(mocksmtp.StageRcpt).ForRcpt("vip@example.com").Reply(250, "2.1.5 Always welcome"),
		mocksmtp.At(mocksmtp.StageRcpt).Reply(450, "4.2.1 Mailbox busy"),
	))
	fmt.Println(replyOf(sendWelcome(srv.Addr(), "vip@example.com")))
	fmt.Println(replyOf(sendWelcome(srv.Addr(), "bob@example.com")))
	// Output:
	// ok
	// 450 4.2.1 Mailbox busy
}

func ExampleWithHostname() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithHostname("mx1.example.com"))
	_ = sendWelcome(srv.Addr(), "bob@example.com")
	tr := srv.WaitForSessions(t, 1)[0].Transcript
	fmt.Println(tr[0])
	fmt.Println(tr[2])
	// Output:
	// S: 220 mx1.example.com ESMTP mocksmtp
	// S: 250-mx1.example.com
}

// A fixed address, for code whose configuration cannot be changed by the
// test (a port written in a config file).
func ExampleWithListenAddr() {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // find a free port for the example
	if err != nil {
		panic(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithListenAddr(addr))
	fmt.Println(srv.Addr() == addr, sendWelcome(addr, "bob@example.com"))
	// Output:
	// true <nil>
}

func ExampleWithMaxRecipients() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithMaxRecipients(2))
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("app@example.com"); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		fmt.Println(to, replyOf(c.Rcpt(to)))
	}
	// Output:
	// a@example.com ok
	// b@example.com ok
	// c@example.com 452 4.5.3 Error: too many recipients
}

// A client that goes quiet meets the server's read timeout: 421, and the
// connection closes.
func ExampleWithReadTimeout() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithReadTimeout(20*time.Millisecond))
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := srv.WaitForSessions(t, 1)[0] // the client said nothing after the greeting
	fmt.Println(s.Ended, s.Transcript[len(s.Transcript)-1])
	// Output:
	// timeout S: 421 4.4.2 localhost Error: timeout exceeded
}

// The same seed gives the same faults: a failing run is replayed by
// giving its seed (which every session notes) to WithSeed.
func ExampleWithSeed() {
	flaky := mocksmtp.At(mocksmtp.StageRcpt).WithProbability(0.5).Reply(451, "4.3.0 flaky")
	var runs []string
	for range 2 {
		t := &fakeT{}
		srv := mocksmtp.Start(t, mocksmtp.WithSeed(2024), mocksmtp.WithFault(flaky))
		var got []string
		for range 6 {
			got = append(got, replyOf(sendWelcome(srv.Addr(), "bob@example.com")))
		}
		runs = append(runs, strings.Join(got, " "))
		t.done()
	}
	fmt.Println(runs[0] == runs[1])
	// Output:
	// true
}

// WithWaitTimeout shortens the waits that fail a test: here a test that
// expects no mail to be refused learns it in 20 ms, not 5 s.
func ExampleWithWaitTimeout() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithWaitTimeout(20*time.Millisecond), mocksmtp.WithoutTranscriptLog(),
		mocksmtp.WithFault(mocksmtp.UnknownUser().DeclaredAt("users.txt:1")))
	_ = sendWelcome(srv.Addr(), "bob@example.com")
	// The session's end, with a deadline of its own: 20 ms is for the
	// wait that fails, too short for a busy machine to end a session.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := srv.WaitForSessionsContext(ctx, 1); err != nil {
		t.Fatal(err)
	}

	func() {
		defer func() { _ = recover() }() // fakeT.Fatal ends the example's "test" with a panic
		srv.WaitForMessages(t, 1)
	}()
	// Output:
	// mocksmtp: WaitForMessages: want 1 message within 20ms, got 0:
	// session 1, ended: client closed; lines 1-15 of 15:
	//    1 S: 220 localhost ESMTP mocksmtp
	//    2 C: EHLO localhost
	//    3 S: 250-localhost
	//    4 S: 250-PIPELINING
	//    5 S: 250-SIZE 10485760
	//    6 S: 250-ENHANCEDSTATUSCODES
	//    7 S: 250-8BITMIME
	//    8 S: 250-DSN
	//    9 S: 250-SMTPUTF8
	//   10 S: 250 CHUNKING
	//   11 C: MAIL FROM:<app@example.com> BODY=8BITMIME SMTPUTF8
	//   12 S: 250 2.1.0 Ok
	//   13 C: RCPT TO:<bob@example.com>
	//   14 *: fault users.txt:1: RCPT attempt 1 → 550 5.1.1 User unknown (unknown user)
	//   15 S: 550 5.1.1 User unknown
	// in all: 1 session, 0 messages
}

// By default a failed test logs every transcript at cleanup;
// WithoutTranscriptLog keeps the log to the test's own failures.
func ExampleWithoutTranscriptLog() {
	t := &fakeT{}
	srv := mocksmtp.Start(t, mocksmtp.WithoutTranscriptLog())
	_ = sendWelcome(srv.Addr(), "bob@example.com")
	t.Errorf("the test failed for its own reasons")
	t.done()
	// Output:
	// the test failed for its own reasons
}
