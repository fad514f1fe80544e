package mocksmtp_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// fakeT stands in for the *testing.T of a real test in the examples: it
// prints failures and runs cleanups when the example calls done.
type fakeT struct {
	testing.TB
	cleanups []func()
	failed   bool
}

func (t *fakeT) Helper()                           {}
func (t *fakeT) Name() string                      { return "TestExample" }
func (t *fakeT) Cleanup(f func())                  { t.cleanups = append(t.cleanups, f) }
func (t *fakeT) Failed() bool                      { return t.failed }
func (t *fakeT) Log(args ...any)                   { fmt.Println(args...) }
func (t *fakeT) Logf(format string, args ...any)   { fmt.Printf(format+"\n", args...) }
func (t *fakeT) Error(args ...any)                 { t.failed = true; fmt.Println(args...) }
func (t *fakeT) Errorf(format string, args ...any) { t.failed = true; fmt.Printf(format+"\n", args...) }
func (t *fakeT) Fatal(args ...any)                 { t.Error(args...); panic("fatal") }
func (t *fakeT) Fatalf(format string, args ...any) { t.Errorf(format, args...); panic("fatal") }

// done runs the cleanups, last registered first, as the testing package does.
func (t *fakeT) done() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// sendWelcome is the code under test in the examples: it sends one mail.
func sendWelcome(addr, to string) error {
	msg := "From: app@example.com\r\nTo: " + to + "\r\nSubject: Welcome\r\n\r\nHello, and welcome!\r\n"
	return smtp.SendMail(addr, nil, "app@example.com", []string{to}, []byte(msg))
}

func ExampleStart() {
	t := &fakeT{} // in a real test: func TestSignup(t *testing.T)
	defer t.done()

	srv := mocksmtp.Start(t) // listens on 127.0.0.1, closed at cleanup
	if err := sendWelcome(srv.Addr(), "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	msg := srv.WaitForMessages(t, 1)[0]
	fmt.Println(msg.From, "→", msg.To)
	fmt.Println(msg.Subject)
	fmt.Print(msg.Text)
	// Output:
	// app@example.com → [bob@example.com]
	// Welcome
	// Hello, and welcome!
}

func ExampleServer_WaitForMessages() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)

	go func() { // the code under test may send in the background
		for _, to := range []string{"a@example.com", "b@example.com"} {
			_ = sendWelcome(srv.Addr(), to)
		}
	}()
	msgs := srv.WaitForMessages(t, 2) // waits on a condition, fails t after 5 s
	for _, m := range msgs {
		fmt.Println(m.ID, m.To[0], m.Subject)
	}
	// Output:
	// 1 a@example.com Welcome
	// 2 b@example.com Welcome
}

func ExampleServer_WaitForMessagesContext() {
	srv, err := mocksmtp.New() // no testing.T: errors instead of failures
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = srv.WaitForMessagesContext(ctx, 1) // nobody sends anything
	fmt.Println(err)
	// Output:
	// mocksmtp: waiting for 1 message, got 0: context deadline exceeded
}

func ExampleServer_Sessions() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	if err := sendWelcome(srv.Addr(), "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	srv.Close() // let the session finish, so its transcript is complete

	s := srv.Sessions()[0]
	fmt.Println("ended:", s.Ended)
	for _, l := range s.Transcript {
		if l.Dir == mocksmtp.FromClient && !strings.HasPrefix(l.Text, "EHLO") {
			fmt.Println(l)
		}
	}
	// Output:
	// ended: QUIT
	// C: MAIL FROM:<app@example.com> BODY=8BITMIME SMTPUTF8
	// C: RCPT TO:<bob@example.com>
	// C: DATA
	// C: QUIT
}

func ExampleServer_WaitForSessions() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	if err := sendWelcome(srv.Addr(), "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	// Wait until the session has ended, so its transcript is complete.
	s := srv.WaitForSessions(t, 1)[0]
	fmt.Println(s.Ended, len(s.Messages), s.Transcript[len(s.Transcript)-1])
	// Output:
	// QUIT 1 S: 221 2.0.0 Bye
}

// WaitForSessionEnd waits for one session among several: here the
// second, while the first, an idle connection of a pool, stays open.
func ExampleServer_WaitForSessionEnd() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	idle, err := net.Dial("tcp", srv.Addr()) // session 1
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	greeting, _ := bufio.NewReader(idle).ReadString('\n')
	fmt.Println(strings.TrimSpace(greeting))
	if err := sendWelcome(srv.Addr(), "bob@example.com"); err != nil { // session 2
		t.Fatal(err)
	}
	s := srv.WaitForSessionEnd(t, 2)
	fmt.Println(s.ID, s.Ended, len(s.Messages), srv.Session(1).Ended)
	// Output:
	// 220 localhost ESMTP mocksmtp
	// 2 QUIT 1 live
}

func ExampleServer_WaitUntil() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageRcpt).Stall()))
	go func() { _ = sendWelcome(srv.Addr(), "bob@example.com") }() // hangs at RCPT

	// Wait for a state no other wait covers: the stall has begun.
	srv.WaitUntil(t, "the stall", func() bool {
		ss := srv.Sessions()
		return len(ss) == 1 && len(ss[0].Faults) == 1
	})
	fmt.Println("stalled; Close ends it at once")
	srv.Close()
	// Output:
	// stalled; Close ends it at once
}

func ExampleWithOnMessage() {
	srv, err := mocksmtp.New(mocksmtp.WithOnMessage(func(m *mocksmtp.Message) {
		fmt.Println("arrived:", m.Subject, "for", m.To)
	}))
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	if err := sendWelcome(srv.Addr(), "bob@example.com"); err != nil {
		panic(err)
	}
	// Output:
	// arrived: Welcome for [bob@example.com]
}

// A session longer than the transcript cap keeps its first lines and its
// last ones; the lines between are forgotten, and every line keeps its
// number.
func ExampleWithMaxTranscriptLines() {
	t := &fakeT{}
	defer t.done()

	srv := mocksmtp.Start(t, mocksmtp.WithMaxTranscriptLines(20))
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c.Hello("client.example")
	for range 10 {
		c.Noop()
	}
	c.Quit()
	s := srv.WaitForSessions(t, 1)[0]
	for i, l := range s.TranscriptHead {
		fmt.Println(i+1, l)
	}
	fmt.Printf("… lines %d to %d forgotten …\n", len(s.TranscriptHead)+1, s.Forgotten)
	for i, l := range s.Transcript[len(s.Transcript)-2:] {
		fmt.Println(s.Forgotten+len(s.Transcript)-1+i, l)
	}
	// Output:
	// 1 S: 220 localhost ESMTP mocksmtp
	// 2 C: EHLO client.example
	// … lines 3 to 14 forgotten …
	// 31 C: QUIT
	// 32 S: 221 2.0.0 Bye
}

func ExampleServer_DeleteMessage() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)

	for _, to := range []string{"a@example.com", "b@example.com"} {
		if err := sendWelcome(srv.Addr(), to); err != nil {
			t.Fatal(err)
		}
	}
	first := srv.WaitForMessages(t, 2)[0]
	fmt.Println(srv.DeleteMessage(first.ID), srv.DeleteMessage(first.ID))
	for _, m := range srv.Messages() {
		fmt.Println(m.ID, m.To[0])
	}
	// Output:
	// true false
	// 2 b@example.com
}

// A wait without a test that ends before the message comes: its error is
// the report WaitFor would fail a test with.
func ExampleServer_WaitForContext_report() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	if err := sendWelcome(srv.Addr(), "bob@example.com"); err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = srv.WaitForContext(ctx, mocksmtp.Want{To: []string{"bob@example.com"}, Subject: "Reset your password"})
	fmt.Println(errors.Is(err, context.DeadlineExceeded))
	lines := strings.Split(err.Error(), "\n")
	fmt.Println(strings.Join(lines[:4], "\n")) // then the diff, the transcript lines and the totals
	// Output:
	// true
	// mocksmtp: WaitForContext: no message like this before its context ended (context deadline exceeded):
	//   Want{To: ["bob@example.com"], Subject: "Reset your password"}
	// nearest: message 1 from <app@example.com> to <bob@example.com> "Welcome" (85 bytes)
	// 1 field of 2 differs (-want +got):
}
