package smtpd_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"strings"
	"time"

	"github.com/mocksmtp/mocksmtp/smtpd"
)

// mail is a client that sends one message with ESMTP parameters, and
// QUIT.
func mail(c *textproto.Conn) {
	c.ReadResponse(220)
	c.PrintfLine("EHLO client.example")
	c.ReadResponse(250)
	c.PrintfLine("MAIL FROM:<app@example.com> BODY=8BITMIME SIZE=40")
	c.ReadResponse(250)
	c.PrintfLine("RCPT TO:<bob@example.com> NOTIFY=FAILURE")
	c.ReadResponse(250)
	c.PrintfLine("DATA")
	c.ReadResponse(354)
	c.PrintfLine("Subject: hi\r\n\r\nhello\r\n..a dot-stuffed line\r\n.")
	c.ReadResponse(250)
	c.PrintfLine("QUIT")
	c.ReadResponse(221)
}

// The kinds of event a plain session goes through.
func ExampleKind() {
	var kinds []string
	pipe(smtpd.Config{}, mail, func(c *smtpd.Conn, ev *smtpd.Event) {
		kinds = append(kinds, ev.Kind.String())
	})
	fmt.Println(strings.Join(kinds, " "))
	fmt.Println(smtpd.Connect, smtpd.Handshake, smtpd.BadCommand)
	// Output:
	// Greeting Ehlo Mail Rcpt Data Message Quit
	// Connect Handshake BadCommand
}

func ExampleEvent() {
	pipe(smtpd.Config{}, mail, func(c *smtpd.Conn, ev *smtpd.Event) {
		switch ev.Kind {
		case smtpd.Mail, smtpd.Rcpt:
			fmt.Printf("%s %q %v: %s\n", ev.Verb, ev.Path, ev.Params, ev.Reply.String())
		case smtpd.Message:
			fmt.Printf("message of %d octets: %q\n", ev.Size, ev.Data)
		}
	})
	// Output:
	// MAIL "app@example.com" map[BODY:8BITMIME SIZE:40]: 250 2.1.0 Ok
	// RCPT "bob@example.com" map[NOTIFY:FAILURE]: 250 2.1.5 Ok
	// message of 43 octets: "Subject: hi\r\n\r\nhello\r\n.a dot-stuffed line\r\n"
}

func ExampleEnvelope() {
	pipe(smtpd.Config{}, mail, func(c *smtpd.Conn, ev *smtpd.Event) {
		if ev.Kind == smtpd.Message {
			e := ev.Envelope
			fmt.Println(e.From, e.Params["BODY"], e.To, e.RcptParams[0]["NOTIFY"], e.Chunked)
		}
	})
	// Output:
	// app@example.com 8BITMIME [bob@example.com] FAILURE false
}

// DataInfo counts what a message's data did wrong: a bare LF makes the
// engine refuse the message, and says so.
func ExampleDataInfo() {
	pipe(smtpd.Config{}, func(c *textproto.Conn) {
		c.ReadResponse(220)
		c.PrintfLine("HELO client.example")
		c.ReadResponse(250)
		c.PrintfLine("MAIL FROM:<app@example.com>")
		c.ReadResponse(250)
		c.PrintfLine("RCPT TO:<bob@example.com>")
		c.ReadResponse(250)
		c.PrintfLine("DATA")
		c.ReadResponse(354)
		c.W.WriteString("Subject: caf\xc3\xa9\r\n\r\nline one\nline two\r\n.\r\n")
		c.W.Flush()
		c.ReadResponse(550)
		c.PrintfLine("QUIT")
		c.ReadResponse(221)
	}, func(c *smtpd.Conn, ev *smtpd.Event) {
		if ev.Kind == smtpd.Message {
			fmt.Printf("%+v\n", ev.DataInfo)
			fmt.Println(ev.Reason, ev.Reply.String())
		}
	})
	// Output:
	// {BareLF:1 BareCR:0 LongLines:0 UnstuffedDots:0 EightBit:true}
	// bare LF 550 5.5.2 Error: bare <LF> received
}

// What happens to the connection after the reply: the error that ends
// the driver's loop tells.
func ExampleDisposition() {
	names := map[smtpd.Disposition]string{smtpd.KeepOpen: "KeepOpen", smtpd.CloseConn: "CloseConn",
		smtpd.HalfCloseConn: "HalfCloseConn", smtpd.ResetConn: "ResetConn", smtpd.Hang: "Hang"}
	for _, d := range []smtpd.Disposition{smtpd.KeepOpen, smtpd.CloseConn, smtpd.HalfCloseConn, smtpd.ResetConn, smtpd.Hang} {
		err := pipe(smtpd.Config{}, func(c *textproto.Conn) {
			c.ReadResponse(220)
			c.PrintfLine("NOOP")
			c.ReadResponse(250)
			if d == smtpd.KeepOpen {
				c.PrintfLine("QUIT")
				c.ReadResponse(221)
			} // else the client hangs up: it has its reply
		}, func(c *smtpd.Conn, ev *smtpd.Event) {
			if ev.Kind == smtpd.Noop {
				c.Answer(smtpd.Answer{Then: d})
			}
		})
		var end string
		switch {
		case errors.Is(err, smtpd.ErrDriverClosed):
			end = "the driver's answer closed it"
		case errors.Is(err, smtpd.ErrClientGone):
			end = "the server hung until the client went away"
		case err == io.EOF:
			end = "the session went on to QUIT"
		}
		fmt.Printf("%s: %s\n", names[d], end)
	}
	// Output:
	// KeepOpen: the session went on to QUIT
	// CloseConn: the driver's answer closed it
	// HalfCloseConn: the driver's answer closed it
	// ResetConn: the driver's answer closed it
	// Hang: the server hung until the client went away
}

func ExampleConfig() {
	cfg := smtpd.Config{
		Hostname:        "mx.test",
		Banner:          "ESMTP ready",
		MaxMessageBytes: 1 << 20,
		Disabled:        smtpd.ExtChunking | smtpd.ExtDSN,
	}
	pipe(cfg, func(c *textproto.Conn) {
		_, greeting, _ := c.ReadResponse(220)
		fmt.Println(greeting)
		c.PrintfLine("EHLO client.example")
		_, ehlo, _ := c.ReadResponse(250)
		fmt.Println(ehlo)
		c.PrintfLine("QUIT")
		c.ReadResponse(221)
	}, nil)
	// Output:
	// mx.test ESMTP ready
	// mx.test
	// PIPELINING
	// SIZE 1048576
	// ENHANCEDSTATUSCODES
	// 8BITMIME
	// SMTPUTF8
}

func ExampleExtension() {
	off := smtpd.ExtChunking | smtpd.ExtDSN
	fmt.Println(off)
	fmt.Println(smtpd.ExtPipelining, smtpd.Ext8BitMIME, smtpd.ExtSMTPUTF8, smtpd.ExtSize, smtpd.ExtEnhancedStatusCodes)
	fmt.Println(smtpd.Config{Disabled: off}.Disabled&smtpd.ExtDSN != 0)
	// Output:
	// CHUNKING|DSN
	// PIPELINING 8BITMIME SMTPUTF8 SIZE ENHANCEDSTATUSCODES
	// true
}

// An Answer can write raw bytes instead of a reply: here a reply without
// its CRLF, and then the connection closes.
func ExampleAnswer() {
	pipe(smtpd.Config{}, func(c *textproto.Conn) {
		c.ReadResponse(220)
		c.PrintfLine("NOOP")
		rest := make([]byte, len("250 no CRLF"))
		io.ReadFull(c.R, rest)
		fmt.Printf("%q\n", rest) // and no more: the client hangs up
	}, func(c *smtpd.Conn, ev *smtpd.Event) {
		if ev.Kind == smtpd.Noop {
			c.Answer(smtpd.Answer{Raw: []byte("250 no CRLF"), Then: smtpd.CloseConn})
		}
	})
	// Output:
	// "250 no CRLF"
}

// Pace writes a reply in pieces, as a slow or odd server does; a correct
// client reads it all the same.
func ExamplePace() {
	var trace []string
	cfg := smtpd.Config{Trace: func(t smtpd.Trace) {
		if t.Kind == smtpd.TraceReply {
			trace = append(trace, t.Text)
		}
	}}
	pipe(cfg, func(c *textproto.Conn) {
		_, msg, _ := c.ReadResponse(220)
		fmt.Println(msg)
		c.PrintfLine("QUIT")
		c.ReadResponse(221)
	}, func(c *smtpd.Conn, ev *smtpd.Event) {
		if ev.Kind == smtpd.Greeting {
			c.Answer(smtpd.Answer{Pace: smtpd.Pace{SplitAt: 4}}) // "220 ", then the rest
		}
	})
	fmt.Println(trace[0])
	// Output:
	// localhost ESMTP
	// 220 localhost ESMTP
}

// A client that leaves in the middle of a paced reply, having read a part
// of it, ends the session with ErrReplyCut: it did not get the reply.
func ExamplePace_clientLeaves() {
	err := pipe(smtpd.Config{}, func(c *textproto.Conn) {
		part := make([]byte, 4)
		io.ReadFull(c.R, part)
		fmt.Printf("client read %q and leaves\n", part)
	}, func(c *smtpd.Conn, ev *smtpd.Event) {
		if ev.Kind == smtpd.Greeting {
			c.Answer(smtpd.Answer{Pace: smtpd.Pace{SplitAt: 4, Every: time.Hour}})
		}
	})
	fmt.Println("server:", err)
	fmt.Println("cut:", errors.Is(err, smtpd.ErrReplyCut), "client gone:", errors.Is(err, smtpd.ErrClientGone))
	// Output:
	// client read "220 " and leaves
	// server: smtpd: reply cut short after 4 of 21 octets: smtpd: client closed the connection while the server paused: EOF
	// cut: true client gone: true
}

func ExampleReply() {
	r := smtpd.Reply{Code: 554, Status: "5.7.1", Lines: []string{"Message rejected", "Spam score too high"}}
	fmt.Println(r.Positive())
	fmt.Println(r.String())
	fmt.Printf("%q\n", r.Text())
	var err error = r // a Reply is an error: a SASL server may return one
	fmt.Println(err)
	// Output:
	// false
	// 554 5.7.1 Message rejected / Spam score too high
	// "Message rejected\nSpam score too high"
	// smtpd: 554 5.7.1 Message rejected / Spam score too high
}

func ExampleNewReply() {
	r := smtpd.NewReply(421, "4.3.2 Try later\nor never")
	fmt.Println(r.Code, r.Status, len(r.Lines))
	fmt.Println(smtpd.NewReply(250, "Ok").Positive())
	// Output:
	// 421 4.3.2 2
	// true
}

// token is the server side of a one-step SASL mechanism: the client's
// initial response must be the token.
type token struct{ want string }

func (s *token) Next(response []byte) ([]byte, bool, error) {
	switch {
	case response == nil:
		return nil, false, nil // no initial response: ask for it with an empty challenge
	case string(response) != s.want:
		return nil, false, smtpd.NewReply(535, "5.7.8 Bad token")
	}
	return nil, true, nil
}

// A driver supplies the SASL mechanisms; the engine runs the AUTH
// exchange.
func ExampleSASLServer() {
	cfg := smtpd.Config{
		AuthMechanisms: []string{"X-TOKEN"},
		NewSASL: func(mechanism string) (smtpd.SASLServer, error) {
			return &token{want: "s3cret"}, nil
		},
	}
	pipe(cfg, func(c *textproto.Conn) {
		c.ReadResponse(220)
		c.PrintfLine("EHLO client.example")
		c.ReadResponse(250)
		for _, tok := range []string{"guess", "s3cret"} {
			c.PrintfLine("AUTH X-TOKEN %s", base64.StdEncoding.EncodeToString([]byte(tok)))
			code, msg, _ := c.ReadResponse(0)
			fmt.Println(code, msg)
		}
		c.PrintfLine("QUIT")
		c.ReadResponse(221)
	}, nil)
	// Output:
	// 535 5.7.8 Bad token
	// 235 2.7.0 Authentication successful
}

// Trace sees every line that crosses the wire, on the plaintext side of
// TLS, with AUTH secrets masked in Masked.
func ExampleTrace() {
	var b strings.Builder
	cfg := smtpd.Config{
		AuthMechanisms: []string{"X-TOKEN"},
		NewSASL:        func(string) (smtpd.SASLServer, error) { return &token{want: "s3cret"}, nil },
		Trace: func(t smtpd.Trace) {
			if t.Kind != smtpd.TraceCommand {
				return
			}
			fmt.Fprintf(&b, "%s", t.Text)
			if t.Masked != "" {
				fmt.Fprintf(&b, ", recorded as %s", t.Masked)
			}
			b.WriteString("\n")
		},
	}
	pipe(cfg, func(c *textproto.Conn) {
		c.ReadResponse(220)
		c.PrintfLine("EHLO client.example")
		c.ReadResponse(250)
		c.PrintfLine("AUTH X-TOKEN %s", base64.StdEncoding.EncodeToString([]byte("s3cret")))
		c.ReadResponse(235)
		c.PrintfLine("QUIT")
		c.ReadResponse(221)
	}, nil)
	fmt.Print(b.String())
	// Output:
	// EHLO client.example
	// AUTH X-TOKEN czNjcmV0, recorded as AUTH X-TOKEN ****
	// QUIT
}

// The kinds of trace, for a driver that records a transcript.
func ExampleTraceKind() {
	var got bytes.Buffer
	cfg := smtpd.Config{Trace: func(t smtpd.Trace) {
		switch t.Kind {
		case smtpd.TraceCommand:
			fmt.Fprintf(&got, "C: %s\n", t.Text)
		case smtpd.TraceReply:
			fmt.Fprintf(&got, "S: %s\n", t.Text)
		case smtpd.TraceBody, smtpd.TraceNote:
			fmt.Fprintf(&got, "*: %s (%d octets)\n", t.Text, t.Size)
		}
	}}
	pipe(cfg, mail, nil)
	fmt.Print(strings.SplitAfterN(got.String(), "C: DATA\n", 2)[1])
	// Output:
	// S: 354 End data with <CR><LF>.<CR><LF>
	// *: <message data: 47 octets> (47 octets)
	// S: 250 2.0.0 Ok: queued
	// C: QUIT
	// S: 221 2.0.0 Bye
}
