package mocksmtp_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// firstLine returns the first line of an error, "<nil>" for none.
func firstLine(err error) string {
	if err == nil {
		return "<nil>"
	}
	line, _, _ := strings.Cut(err.Error(), "\n")
	return line
}

// Expectations without a test: registered, then checked when the caller
// chooses, with the report a test would print as the error.
func ExampleServer_Verify() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	if _, err := srv.AddExpectation(mocksmtp.Want{To: []string{"bob@example.com"}, Subject: "Welcome"}); err != nil {
		panic(err)
	}
	fmt.Println(firstLine(srv.Verify()))

	if err := sendWelcome(srv.Addr(), "bob@example.com"); err != nil {
		panic(err)
	}
	fmt.Println(srv.Verify())
	// Output:
	// mocksmtp: expectation at example_verify_test.go:29 not met: want exactly 1 message like this, got 0:
	// <nil>
}

func ExampleServer_AddExpectation() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	e, err := srv.AddExpectation(mocksmtp.Want{Subject: "Welcome"})
	if err != nil {
		panic(err)
	}
	e.Times(2)
	for _, to := range []string{"ann@example.com", "bob@example.com"} {
		if err := sendWelcome(srv.Addr(), to); err != nil {
			panic(err)
		}
	}
	fmt.Println(srv.Verify())

	_, err = srv.AddExpectation(mocksmtp.Want{TextMatches: `code: (\d{6}`})
	fmt.Println(err != nil)
	// Output:
	// <nil>
	// true
}

func ExampleServer_ForbidOtherMessages() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	if _, err := srv.AddExpectation(mocksmtp.Want{To: []string{"bob@example.com"}}); err != nil {
		panic(err)
	}
	if err := srv.ForbidOtherMessages(); err != nil {
		panic(err)
	}
	for _, to := range []string{"bob@example.com", "audit@example.com"} {
		if err := sendWelcome(srv.Addr(), to); err != nil {
			panic(err)
		}
	}
	fmt.Println(firstLine(srv.Verify()))
	// Output:
	// mocksmtp: ForbidOtherMessages at example_verify_test.go:77: 1 of 2 messages met no expectation:
}

func ExampleServer_ForbidMessages() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	if err := srv.ForbidMessages(); err != nil {
		panic(err)
	}
	fmt.Println(srv.Verify())
	if err := sendWelcome(srv.Addr(), "bob@example.com"); err != nil {
		panic(err)
	}
	fmt.Println(firstLine(srv.Verify()))

	srv.Reset() // forgets the messages, and the expectations without a test
	fmt.Println(srv.Verify())
	// Output:
	// <nil>
	// mocksmtp: ForbidMessages at example_verify_test.go:96: want no message, got 1:
	// <nil>
}

func ExampleServer_ExpectNoMessages() {
	t := &fakeT{}
	srv := mocksmtp.Start(t)
	srv.ExpectNoMessages(t) // checked when t ends

	// The code under test rejects an invalid address and sends nothing.
	t.done()
	fmt.Println("failed:", t.Failed())
	// Output:
	// failed: false
}

// An inbox without a test, such as a program's: its own domain, waits
// and expectations.
func ExampleServer_NewInbox() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	in := srv.NewInbox("Signup flow")
	fmt.Println(in.Address("bob"))
	if err := sendWelcome(srv.Addr(), in.Address("bob")); err != nil {
		panic(err)
	}
	fmt.Println(len(in.Messages()), "message")
	// Output:
	// bob@signup-flow-1.inbox.test
	// 1 message
}

func ExampleInbox_WaitForContext() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	in := srv.NewInbox("signin")
	go sendSignIn(srv.Addr(), in.Address("bob")) // the code under test, in the background

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msg, err := in.WaitForContext(ctx, mocksmtp.Want{SubjectContains: "Sign in"})
	if err != nil {
		panic(err)
	}
	fmt.Println(msg.To)
	// Output:
	// [bob@signin-1.inbox.test]
}

func ExampleInbox_WaitForMessagesContext() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	in := srv.NewInbox("welcome")
	go func() { // the code under test, in the background
		_ = sendWelcome(srv.Addr(), "someone@example.com") // not for the inbox
		_ = sendWelcome(srv.Addr(), in.Address("bob"))
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msgs, err := in.WaitForMessagesContext(ctx, 1)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(msgs), msgs[0].To)
	// Output:
	// 1 [bob@welcome-1.inbox.test]
}

func ExampleInbox_Verify() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	in := srv.NewInbox("program")
	if _, err := in.AddExpectation(mocksmtp.Want{Subject: "Welcome"}); err != nil {
		panic(err)
	}
	if err := in.ForbidOtherMessages(); err != nil {
		panic(err)
	}
	// Mail for elsewhere does not count.
	if err := sendWelcome(srv.Addr(), "bob@example.com"); err != nil {
		panic(err)
	}
	fmt.Println(firstLine(in.Verify()))
	if err := sendWelcome(srv.Addr(), in.Address("bob")); err != nil {
		panic(err)
	}
	fmt.Println(in.Verify())
	// Output:
	// mocksmtp: expectation at example_verify_test.go:194 not met: want exactly 1 message like this, got 0:
	// <nil>
}

func ExampleInbox_AddExpectation() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	in := srv.NewInbox("alerts")
	e, err := in.AddExpectation(mocksmtp.Want{Subject: "Welcome"})
	if err != nil {
		panic(err)
	}
	e.AtLeast(1)
	for range 3 {
		if err := sendWelcome(srv.Addr(), in.Address("ops")); err != nil {
			panic(err)
		}
	}
	fmt.Println(in.Verify())
	// Output:
	// <nil>
}

func ExampleInbox_ForbidOtherMessages() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	in := srv.NewInbox("strict")
	if err := in.ForbidOtherMessages(); err != nil {
		panic(err)
	}
	if err := sendWelcome(srv.Addr(), in.Address("bob")); err != nil {
		panic(err)
	}
	fmt.Println(firstLine(in.Verify()))
	// Output:
	// mocksmtp: Inbox.ForbidOtherMessages at example_verify_test.go:243: 1 of 1 message met no expectation:
}

func ExampleInbox_ForbidMessages() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	in := srv.NewInbox("quiet")
	if err := in.ForbidMessages(); err != nil {
		panic(err)
	}
	if err := sendWelcome(srv.Addr(), "bob@example.com"); err != nil { // elsewhere
		panic(err)
	}
	fmt.Println(in.Verify())
	// Output:
	// <nil>
}

// A program that registers expectations for its users names them its
// way in reports.
func ExampleExpectation_DeclaredAt() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	e, err := srv.AddExpectation(mocksmtp.Want{Subject: "Welcome"})
	if err != nil {
		panic(err)
	}
	e.DeclaredAt("signup.feature:12").Times(2)
	if err := sendWelcome(srv.Addr(), "bob@example.com"); err != nil {
		panic(err)
	}
	fmt.Println(firstLine(srv.Verify()))
	// Output:
	// mocksmtp: expectation at signup.feature:12 not met: want exactly 2 messages like this, got 1:
}

// One inbox for tests in turn: Reset forgets its mail and its
// expectations, not the server's other mail.
func ExampleInbox_Reset() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	in := srv.NewInbox("signup")
	if err := in.ForbidMessages(); err != nil {
		panic(err)
	}
	for _, to := range []string{in.Address("bob"), "ann@example.com"} {
		if err := sendWelcome(srv.Addr(), to); err != nil {
			panic(err)
		}
	}
	fmt.Println(len(in.Messages()), in.Verify() != nil)

	in.Reset()
	_, all := srv.Count()
	fmt.Println(len(in.Messages()), in.Verify(), all)
	// Output:
	// 1 true
	// 0 <nil> 1
}

func ExampleServer_ForbidOtherMessagesAt() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	// A program registering it for its users names it their way.
	if err := srv.ForbidOtherMessagesAt("signup.feature:7"); err != nil {
		panic(err)
	}
	if err := sendWelcome(srv.Addr(), "bob@example.com"); err != nil {
		panic(err)
	}
	fmt.Println(firstLine(srv.Verify()))
	// Output:
	// mocksmtp: ForbidOtherMessages at signup.feature:7: 1 of 1 message met no expectation:
}

func ExampleServer_ForbidMessagesAt() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	if err := srv.ForbidMessagesAt("quiet.feature:3"); err != nil {
		panic(err)
	}
	if err := sendWelcome(srv.Addr(), "bob@example.com"); err != nil {
		panic(err)
	}
	fmt.Println(firstLine(srv.Verify()))
	// Output:
	// mocksmtp: ForbidMessages at quiet.feature:3: want no message, got 1:
}

func ExampleInbox_ForbidOtherMessagesAt() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	in := srv.NewInbox("strict")
	if err := in.ForbidOtherMessagesAt("strict.feature:5"); err != nil {
		panic(err)
	}
	if err := sendWelcome(srv.Addr(), in.Address("bob")); err != nil {
		panic(err)
	}
	fmt.Println(firstLine(in.Verify()))
	// Output:
	// mocksmtp: Inbox.ForbidOtherMessages at strict.feature:5: 1 of 1 message met no expectation:
}

func ExampleInbox_ForbidMessagesAt() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	in := srv.NewInbox("quiet")
	if err := in.ForbidMessagesAt("quiet.feature:9"); err != nil {
		panic(err)
	}
	if err := sendWelcome(srv.Addr(), in.Address("bob")); err != nil {
		panic(err)
	}
	fmt.Println(firstLine(in.Verify()))
	// Output:
	// mocksmtp: Inbox.ForbidMessages at quiet.feature:9: want no message, got 1:
}
