package smtpd_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"net/textproto"

	"github.com/mocksmtp/mocksmtp/smtpd"
)

// serve is a driver: it accepts everything but one recipient, and prints
// each message it accepts.
func serve(ctx context.Context, netConn net.Conn) error {
	c := smtpd.NewConn(netConn, smtpd.Config{Hostname: "mx.test"})
	defer c.Close(nil)
	for {
		ev, err := c.Next(ctx) // io.EOF after QUIT
		if err != nil {
			return err
		}
		switch {
		case ev.Kind == smtpd.Rcpt && ev.Path == "nobody@example.com":
			c.Reply(smtpd.NewReply(550, "5.1.1 no such user"))
		case ev.Kind == smtpd.Message && ev.Err == nil:
			fmt.Printf("from %s to %v: %q\n", ev.Envelope.From, ev.Envelope.To, ev.Data)
		}
		// unanswered events get the engine's correct default reply
	}
}

func ExampleConn() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	done := make(chan error)
	go func() {
		for range 2 { // two connections, one after the other
			nc, err := ln.Accept()
			if err != nil {
				done <- err
				return
			}
			done <- serve(context.Background(), nc)
		}
	}()

	err = smtp.SendMail(ln.Addr().String(), nil, "a@example.com", []string{"b@example.com"}, []byte("Subject: hi\r\n\r\nhello\r\n"))
	fmt.Println("client:", err, "server:", errors.Is(<-done, io.EOF))
	err = smtp.SendMail(ln.Addr().String(), nil, "a@example.com", []string{"nobody@example.com"}, []byte("Subject: hi\r\n\r\nhello\r\n"))
	var reply *textproto.Error
	errors.As(err, &reply)
	fmt.Println("client:", reply.Code, reply.Msg, "server:", errors.Is(<-done, smtpd.ErrClientGone))
	// Output:
	// from a@example.com to [b@example.com]: "Subject: hi\r\n\r\nhello\r\n"
	// client: <nil> server: true
	// client: 550 5.1.1 no such user server: true
}

// A driver that reports on its clients reads what the engine saw in
// Event.Reason, whatever the wording of the reply.
func ExampleReason() {
	client, server := net.Pipe()
	go func() {
		defer client.Close()
		r := textproto.NewConn(client)
		r.ReadResponse(220)
		r.PrintfLine("NOOP %0600d", 0) // over 512 octets
		r.ReadResponse(250)
		r.PrintfLine("HELO client.example")
		r.ReadResponse(250)
		r.PrintfLine("MAIL FROM:<josé@example.com>") // UTF-8 without SMTPUTF8
		r.ReadResponse(250)
		r.PrintfLine("QUIT")
		r.ReadResponse(221)
	}()
	c := smtpd.NewConn(server, smtpd.Config{})
	defer c.Close(nil)
	for {
		ev, err := c.Next(context.Background())
		if err != nil {
			return
		}
		if ev.Err != nil {
			fmt.Printf("%s refused (%v): %s\n", ev.Verb, ev.Reason, ev.Reply.String())
		}
	}
	// Output:
	// NOOP refused (line too long): 500 5.5.2 Error: line too long
	// MAIL refused (non-ASCII address): 553 5.6.7 Non-ASCII address not permitted without SMTPUTF8
}
