package mocksmtp_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"strconv"
	"strings"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// A Server records what its clients did: the sessions, in order of
// connection, and the messages they delivered.
func ExampleServer() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)

	for _, to := range []string{"bob@example.com", "carol@example.com"} {
		if err := sendWelcome(srv.Addr(), to); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range srv.WaitForSessions(t, 2) {
		fmt.Printf("session %d: EHLO %s, %d message, %v\n", s.ID, s.Helo, len(s.Messages), s.Ended)
	}
	// Output:
	// session 1: EHLO localhost, 1 message, QUIT
	// session 2: EHLO localhost, 1 message, QUIT
}

// Without a test, New returns the server and an error, and the caller
// closes the server.
func ExampleNew() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	if err := sendWelcome(srv.Addr(), "bob@example.com"); err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msgs, err := srv.WaitForMessagesContext(ctx, 1)
	fmt.Println(len(msgs), err)

	// Options check themselves: a bad one is New's error.
	_, err = mocksmtp.New(mocksmtp.WithRetention(0))
	fmt.Println(err)
	// Output:
	// 1 <nil>
	// mocksmtp: WithRetention(0): want a positive number
}

// Options compose: a test suite can keep the ones all its servers share.
func ExampleOption() {
	shared := []mocksmtp.Option{mocksmtp.WithHostname("mx.test"), mocksmtp.WithMaxRecipients(10)}

	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, append(shared, mocksmtp.WithSTARTTLS())...)
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	tls, _ := c.Extension("STARTTLS")
	fmt.Println("STARTTLS offered:", tls)
	// Output:
	// STARTTLS offered: true
}

func ExampleServer_Addr() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)

	// The address to give the code under test: 127.0.0.1 and a free port.
	fmt.Println(strings.HasPrefix(srv.Addr(), "127.0.0.1:"))
	fmt.Println(sendWelcome(srv.Addr(), "bob@example.com"))
	// Output:
	// true
	// <nil>
}

// Host and Port are the parts of Addr, for code configured with them
// apart.
func ExampleServer_Host() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	fmt.Println(srv.Host())
	fmt.Println(net.JoinHostPort(srv.Host(), strconv.Itoa(srv.Port())) == srv.Addr())
	// Output:
	// 127.0.0.1
	// true
}

func ExampleServer_Port() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	type config struct { // the code under test's configuration
		Host string
		Port int
	}
	cfg := config{Host: srv.Host(), Port: srv.Port()}
	fmt.Println(cfg.Port > 0, cfg.Port == srv.Port())
	// Output:
	// true true
}

// Close ends the sessions still live: their clients get 421, and waits
// return ErrClosed.
func ExampleServer_Close() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		panic(err)
	}

	if err := srv.Close(); err != nil {
		panic(err)
	}
	fmt.Println("client:", replyOf(c.Mail("app@example.com")))
	s := srv.Sessions()[0]
	fmt.Println("session:", s.Ended, s.Transcript[len(s.Transcript)-1])
	_, err = srv.WaitForMessagesContext(context.Background(), 1)
	fmt.Println(errors.Is(err, mocksmtp.ErrClosed))
	// Output:
	// client: 421 4.3.2 Service shutting down
	// session: server shut down S: 421 4.3.2 Service shutting down
	// true
}

func ExampleServer_Count() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	for _, to := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		_ = sendWelcome(srv.Addr(), to)
	}
	srv.WaitForSessions(t, 3)
	sessions, messages := srv.Count()
	fmt.Println(sessions, "sessions,", messages, "messages")
	// Output:
	// 3 sessions, 3 messages
}

func ExampleServer_TailMessages() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	for _, to := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		_ = sendWelcome(srv.Addr(), to)
	}
	srv.WaitForMessages(t, 3)
	// A page of the last 2 and the total, read at one instant.
	last, total := srv.TailMessages(2)
	fmt.Println(last[0].ID, last[1].ID, "of", total)
	// Output:
	// 2 3 of 3
}

func ExampleServer_TailSessions() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	for _, to := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		_ = sendWelcome(srv.Addr(), to)
	}
	srv.WaitForSessions(t, 3)
	last, total := srv.TailSessions(1)
	fmt.Println(last[0].ID, "of", total)
	// Output:
	// 3 of 3
}

func ExampleServer_Messages() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	for _, to := range []string{"a@example.com", "b@example.com"} {
		_ = sendWelcome(srv.Addr(), to)
	}
	// Messages does not wait: it returns what arrived so far.
	for _, m := range srv.Messages() {
		fmt.Println(m.ID, m.To, m.Subject, "in session", m.Session.ID)
	}
	// Output:
	// 1 [a@example.com] Welcome in session 1
	// 2 [b@example.com] Welcome in session 2
}

func ExampleServer_Message() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	_ = sendWelcome(srv.Addr(), "bob@example.com")

	fmt.Println(srv.Message(1).To)
	fmt.Println(srv.Message(2)) // no such message
	// Output:
	// [bob@example.com]
	// <nil>
}

func ExampleServer_Session() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	_ = sendWelcome(srv.Addr(), "bob@example.com")
	m := srv.WaitForMessages(t, 1)[0]

	// A message's Session says who sent it and how, without the lists
	// that grow with the session; Session has them.
	s := srv.Session(m.Session.ID)
	fmt.Println(m.Session.Helo, len(m.Session.Transcript), len(m.Session.Messages))
	fmt.Println(len(s.Transcript) > 0, len(s.Messages), s.Messages[0].Subject)
	// Output:
	// localhost 0 0
	// true 1 Welcome
}

func ExampleServer_Seed() {
	t := &fakeT{}
	defer t.done()
	// A run that failed noted its seed; give it back to replay the same
	// faults.
	srv := mocksmtp.Start(t, mocksmtp.WithSeed(42), mocksmtp.WithFault(
		mocksmtp.At(mocksmtp.StageRcpt).WithProbability(0.5).Reply(451, "4.3.0 try again")))
	fmt.Println(srv.Seed())
	// Output:
	// 42
}

func ExampleServer_ClearFaults() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.ShuttingDown()))
	fmt.Println(replyOf(sendWelcome(srv.Addr(), "bob@example.com")))

	srv.ClearFaults() // the MTA is back
	fmt.Println(replyOf(sendWelcome(srv.Addr(), "bob@example.com")))
	// Output:
	// 421 4.3.2 Service shutting down, try again later
	// ok
}

func ExampleServer_WaitForContext() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	go func() { _ = sendSignIn(srv.Addr(), "bob@example.com") }()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := srv.WaitForContext(ctx, mocksmtp.Want{To: []string{"bob@example.com"}, SubjectContains: "Sign in"})
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Subject)

	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = srv.WaitForContext(ctx, mocksmtp.Want{Subject: "Welcome"})
	fmt.Println(errors.Is(err, context.DeadlineExceeded))
	// Output:
	// Sign in to App
	// true
}

// A wait for two messages that ends with one takes none: a later wait
// returns both.
func ExampleServer_WaitForNContext() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	want := mocksmtp.Want{SubjectContains: "Welcome"}
	_ = sendWelcome(srv.Addr(), "bob@example.com")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	found, err := srv.WaitForNContext(ctx, want, 2)
	fmt.Println(len(found), errors.Is(err, context.DeadlineExceeded))

	_ = sendWelcome(srv.Addr(), "carol@example.com")
	ms, err := srv.WaitForNContext(context.Background(), want, 2)
	fmt.Println(ms[0].To, ms[1].To, err)
	// Output:
	// 1 true
	// [bob@example.com] [carol@example.com] <nil>
}

func ExampleServer_WaitForSessionsContext() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	_ = sendWelcome(srv.Addr(), "bob@example.com")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sessions, err := srv.WaitForSessionsContext(ctx, 1)
	if err != nil {
		panic(err)
	}
	tr := sessions[0].Transcript
	fmt.Println(tr[len(tr)-2], "/", tr[len(tr)-1])
	// Output:
	// C: QUIT / S: 221 2.0.0 Bye
}

func ExampleServer_WaitForSessionEndContext() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	go func() { _ = sendWelcome(srv.Addr(), "bob@example.com") }()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := srv.WaitForSessionEndContext(ctx, 1) // not started yet: waited for
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Ended, s.Transcript[len(s.Transcript)-1])
	// Output:
	// QUIT S: 221 2.0.0 Bye
}

// WaitUntilContext waits for any state of the server: here, for a fault
// to have fired in a session the client keeps open.
func ExampleServer_WaitUntilContext() {
	srv, err := mocksmtp.New(mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageHelo).Delay(time.Hour)))
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	go func() { _ = sendWelcome(srv.Addr(), "bob@example.com") }() // stuck at EHLO

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.WaitUntilContext(ctx, func() bool {
		ss := srv.Sessions()
		return len(ss) == 1 && len(ss[0].Faults) == 1
	})
	fmt.Println(err, srv.Sessions()[0].Ended)
	// Output:
	// <nil> live
}

func ExampleServer_AssertNoMoreMessages() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	_ = sendWelcome(srv.Addr(), "bob@example.com")
	srv.WaitForMessages(t, 1)

	// The welcome mail was expected; a second one within 50 ms is not.
	srv.AssertNoMoreMessages(t, 50*time.Millisecond)
	fmt.Println("failed:", t.Failed())
	// Output:
	// failed: false
}
