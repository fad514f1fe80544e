package mocksmtp_test

import (
	"context"
	"fmt"
	"net/smtp"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// One server shared by parallel tests: each test sends to addresses of
// its own inbox and sees only its own mail.
func ExampleInbox() {
	srv, err := mocksmtp.New() // in TestMain, say
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	alice, bob := &fakeT{}, &fakeT{} // two tests, running in parallel
	inA, inB := srv.Inbox(alice), srv.Inbox(bob)
	_ = sendWelcome(srv.Addr(), inA.Address("alice"))
	_ = sendWelcome(srv.Addr(), inB.Address("bob"))
	_ = sendWelcome(srv.Addr(), inB.Address("bob"))

	fmt.Println(inA.Domain(), len(inA.Messages()))
	fmt.Println(inB.Domain(), len(inB.Messages()))
	alice.done()
	bob.done()
	// Output:
	// testexample-1.inbox.test 1
	// testexample-2.inbox.test 2
}

func ExampleInbox_Address() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	in := srv.NewInbox("TestSignup/new user")
	fmt.Println(in.Address("bob"))
	// Output:
	// bob@testsignup-new-user-1.inbox.test
}

func ExampleInbox_Domain() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	// Any address of the domain belongs to the inbox: "ops+alerts@...".
	in := srv.NewInbox("TestAlerts")
	fmt.Println(in.Domain())
	fmt.Println("ops+alerts@" + in.Domain())
	// Output:
	// testalerts-1.inbox.test
	// ops+alerts@testalerts-1.inbox.test
}

func ExampleInbox_Messages() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	in := srv.NewInbox("TestSignup")
	_ = sendWelcome(srv.Addr(), "someone@example.com") // not the inbox's
	_ = sendWelcome(srv.Addr(), in.Address("bob"))
	for _, m := range in.Messages() {
		fmt.Println(m.ID, m.To)
	}
	// Output:
	// 2 [bob@testsignup-1.inbox.test]
}

func ExampleInbox_WaitFor() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	t := &fakeT{}
	defer t.done()
	in := srv.Inbox(t)
	go func() { _ = sendSignIn(srv.Addr(), in.Address("bob")) }() // the code under test, in the background

	m := in.WaitFor(t, mocksmtp.Want{SubjectContains: "Sign in"})
	fmt.Println(m.To)
	// Output:
	// [bob@testexample-1.inbox.test]
}

func ExampleInbox_WaitForNContext() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	in := srv.NewInbox("signup")
	go func() { // the code under test, in the background
		_ = sendWelcome(srv.Addr(), in.Address("bob"))
		_ = sendWelcome(srv.Addr(), in.Address("carol"))
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ms, err := in.WaitForNContext(ctx, mocksmtp.Want{SubjectContains: "Welcome"}, 2)
	fmt.Println(len(ms), err)
	// Output:
	// 2 <nil>
}

func ExampleInbox_WaitForMessages() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	t := &fakeT{}
	defer t.done()
	in := srv.Inbox(t)
	go func() {
		for _, to := range []string{"a", "b"} {
			_ = sendWelcome(srv.Addr(), in.Address(to))
		}
	}()
	for _, m := range in.WaitForMessages(t, 2) {
		fmt.Println(m.To)
	}
	// Output:
	// [a@testexample-1.inbox.test]
	// [b@testexample-1.inbox.test]
}

func ExampleInbox_AssertMessage() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	t := &fakeT{}
	defer t.done()
	in := srv.Inbox(t)
	_ = sendSignIn(srv.Addr(), in.Address("bob"))

	m := in.AssertMessage(t, mocksmtp.Want{SubjectContains: "Sign in", HTMLContains: "login?token="})
	fmt.Println(m.Subject)
	// Output:
	// Sign in to App
}

// An inbox sees only its own mail: another test's message does not fail
// this one's AssertNoMessages.
func ExampleInbox_AssertNoMessages() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	t := &fakeT{}
	defer t.done()
	in := srv.Inbox(t)
	_ = sendWelcome(srv.Addr(), "someone@example.com") // another test's mail

	in.AssertNoMessages(t, 20*time.Millisecond)
	fmt.Println("failed:", t.Failed())
	// Output:
	// failed: false
}

func ExampleInbox_AssertNoMoreMessages() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	t := &fakeT{}
	defer t.done()
	in := srv.Inbox(t)
	_ = sendWelcome(srv.Addr(), in.Address("bob"))
	in.WaitForMessages(t, 1)

	in.AssertNoMoreMessages(t, 20*time.Millisecond) // one welcome mail, not two
	fmt.Println("failed:", t.Failed())
	// Output:
	// failed: false
}

// Each test checks that its own client broke no rule, on a server that
// other tests send to at the same time: the findings of the sessions that
// named its inbox in a RCPT TO.
func ExampleInbox_Findings() {
	srv, err := mocksmtp.New() // in TestMain, say
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	signup, news := srv.NewInbox("signup"), srv.NewInbox("news")
	_ = sendWelcome(srv.Addr(), signup.Address("bob")) // no Date, no Message-ID
	msg := "Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nFrom: app@example.com\r\nMessage-ID: <1@example.com>\r\nSubject: News\r\n\r\nHi\r\n"
	_ = smtp.SendMail(srv.Addr(), nil, "app@example.com", []string{news.Address("bob")}, []byte(msg))

	for _, f := range signup.Findings() {
		fmt.Println(f.Severity, f.Rule, f.Text)
	}
	fmt.Println("news:", len(news.Findings()), "findings")
	// Output:
	// error required-headers no Date header field
	// warning message-id no Message-ID header field
	// news: 0 findings
}

// A test that shares the server with others lists its own client's
// sessions: those that named its inbox in a RCPT TO.
func ExampleInbox_Sessions() {
	srv, err := mocksmtp.New() // in TestMain, say
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	signup := srv.NewInbox("signup")
	_ = sendWelcome(srv.Addr(), "someone@example.com") // session 1, another test's
	_ = sendWelcome(srv.Addr(), signup.Address("bob")) // session 2
	if _, err := srv.WaitForSessionsContext(context.Background(), 2); err != nil {
		panic(err)
	}
	for _, s := range signup.Sessions() {
		fmt.Println(s.ID, s.Ended, len(s.Messages))
	}
	// Output:
	// 2 QUIT 1
}

// A test waits for its own client's session to end, here to check its
// findings, however long another test's session stays open.
func ExampleInbox_WaitForSessionsContext() {
	srv, err := mocksmtp.New() // in TestMain, say
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	signup := srv.NewInbox("signup")
	other, err := smtp.Dial(srv.Addr()) // another test's client, still busy
	if err != nil {
		panic(err)
	}
	defer other.Close()

	_ = sendWelcome(srv.Addr(), signup.Address("bob"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sessions, err := signup.WaitForSessionsContext(ctx, 1)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(sessions), sessions[0].Ended)
	fmt.Println(len(signup.Findings()), "findings")
	// Output:
	// 1 QUIT
	// 2 findings
}
