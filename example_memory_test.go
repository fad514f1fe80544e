package mocksmtp_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// sendVia sends a welcome mail to bob over a connection from dial: the
// code under test takes a dial function, as go-mail's
// WithDialContextFunc does, so that a test can choose how it connects.
func sendVia(dial func(ctx context.Context, network, addr string) (net.Conn, error), addr string) error {
	conn, err := dial(context.Background(), "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	host, _, _ := net.SplitHostPort(addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Mail("app@example.com"); err != nil {
		return err
	}
	if err := c.Rcpt("bob@example.com"); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, "Subject: Welcome\r\n\r\nHello!\r\n"); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func ExampleWithInMemory() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithInMemory()) // no socket

	if err := sendVia(srv.DialContext, srv.Addr()); err != nil {
		t.Fatal(err)
	}
	s := srv.WaitForSessions(t, 1)[0]
	fmt.Println("server:", srv.Addr())
	fmt.Println("session:", s.RemoteAddr, "→", s.LocalAddr, s.Ended)
	fmt.Println("subject:", s.Messages[0].Subject)
	// Output:
	// server: 127.0.0.1:1
	// session: 127.0.0.1:49152 → 127.0.0.1:1 QUIT
	// subject: Welcome
}

// DialContext reaches the server whatever address the client was
// configured with, over TCP as in memory: the client's own host name
// goes into its EHLO, TLS verification, and nothing else.
func ExampleServer_DialContext() {
	t := &fakeT{}
	defer t.done()
	for _, opts := range [][]mocksmtp.Option{nil, {mocksmtp.WithInMemory()}} {
		srv := mocksmtp.Start(t, opts...)
		err := sendVia(srv.DialContext, "smtp.example.com:587")
		fmt.Println(err, len(srv.WaitForMessages(t, 1)))
	}
	// Output:
	// <nil> 1
	// <nil> 1
}

func ExampleServer_Dial() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithInMemory())

	conn, err := srv.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c, err := smtp.NewClient(conn, srv.Host()) // reads the greeting
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(c.Hello("client.example"), c.Quit())
	// Output:
	// <nil> <nil>
}

// A greylisting server that wants the retry to wait 5 minutes: a retry
// that comes earlier is greylisted again. In a testing/synctest bubble,
// with WithInMemory, the 5 minutes take no time (see the fake-time example
// of the package).
func ExampleGreylistFor() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(mocksmtp.GreylistFor(5*time.Minute)))

	fmt.Println("first try:", replyOf(sendVia(srv.DialContext, srv.Addr())))
	fmt.Println("retry at once:", replyOf(sendVia(srv.DialContext, srv.Addr())))
	sessions, msgs := srv.Count()
	fmt.Println("attempts:", sessions, "accepted:", msgs)
	// Output:
	// first try: 451 4.7.1 Greylisted, please try again later
	// retry at once: 451 4.7.1 Greylisted, please try again later
	// attempts: 2 accepted: 0
}
