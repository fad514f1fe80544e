package smtpd_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"time"

	"github.com/mocksmtp/mocksmtp/internal/testcert"
	"github.com/mocksmtp/mocksmtp/smtpd"
)

// pipe runs a session over net.Pipe: client talks on one end, a driver
// serves the other with cfg and answers each event with answer (nil:
// accept all). It returns the error that ended the driver's loop.
func pipe(cfg smtpd.Config, client func(c *textproto.Conn), answer func(c *smtpd.Conn, ev *smtpd.Event)) error {
	cc, sc := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cc.Close()
		client(textproto.NewConn(cc))
	}()
	c := smtpd.NewConn(sc, cfg)
	defer c.Close(nil)
	for {
		ev, err := c.Next(context.Background())
		if err != nil {
			c.Close(nil)
			<-done
			return err
		}
		if answer != nil {
			answer(c, ev)
		}
	}
}

func ExampleNewConn() {
	client, server := net.Pipe()
	go func() {
		defer client.Close()
		r := textproto.NewConn(client)
		_, msg, _ := r.ReadResponse(220)
		fmt.Println("client got:", msg)
		r.PrintfLine("QUIT")
		r.ReadResponse(221)
	}()
	c := smtpd.NewConn(server, smtpd.Config{Hostname: "mx.test", Banner: "ESMTP ready"})
	defer c.Close(nil)
	for {
		ev, err := c.Next(context.Background())
		if err != nil {
			fmt.Println("server:", err)
			return
		}
		fmt.Println("event:", ev.Kind)
	}
	// Output:
	// event: Greeting
	// client got: mx.test ESMTP ready
	// event: Quit
	// server: EOF
}

// Each way a session ends is an error of Next: io.EOF after QUIT, one of
// the Err… values otherwise.
func ExampleConn_Next() {
	// A short read timeout only where it is the point: elsewhere a busy
	// machine could let it pass between two commands.
	quiet := smtpd.Config{ReadTimeout: 20 * time.Millisecond}
	strict := smtpd.Config{MaxBadCommands: 2}
	serverTLS, _ := tlsConfigs()
	for _, tc := range []struct {
		name   string
		cfg    smtpd.Config
		client func(c *textproto.Conn)
		answer func(c *smtpd.Conn, ev *smtpd.Event)
	}{
		{"QUIT", strict, func(c *textproto.Conn) {
			c.ReadResponse(220)
			c.PrintfLine("QUIT")
			c.ReadResponse(221)
		}, nil},
		{"client hangs up", strict, func(c *textproto.Conn) {
			c.ReadResponse(220)
		}, nil},
		{"client goes quiet", quiet, func(c *textproto.Conn) {
			c.ReadResponse(220)
			c.ReadResponse(421) // the server's 421 4.4.2 after 20 ms
		}, nil},
		{"unknown commands", strict, func(c *textproto.Conn) {
			c.ReadResponse(220)
			for range 2 {
				c.PrintfLine("FROB")
				c.ReadResponse(500)
			}
			c.ReadResponse(421)
		}, nil},
		{"HTTP on the SMTP port", strict, func(c *textproto.Conn) {
			c.ReadResponse(220)
			c.PrintfLine("POST / HTTP/1.1")
			c.ReadResponse(421)
		}, nil},
		{"a chunk of no known size", strict, func(c *textproto.Conn) {
			c.ReadResponse(220)
			c.PrintfLine("EHLO client.example")
			c.ReadResponse(250)
			c.PrintfLine("MAIL FROM:<a@example.com>")
			c.ReadResponse(250)
			c.PrintfLine("RCPT TO:<b@example.com>")
			c.ReadResponse(250)
			c.PrintfLine("BDAT lots")
			c.ReadResponse(501)
		}, nil},
		{"a line past 1 MiB", strict, func(c *textproto.Conn) {
			c.ReadResponse(220)
			go c.PrintfLine("NOOP %s", strings.Repeat("x", 1<<20))
			c.ReadResponse(500) // 500 5.5.2, then the connection closes
		}, nil},
		{"the driver closes", strict, func(c *textproto.Conn) {
			c.ReadResponse(220)
			c.PrintfLine("HELO client.example")
			c.ReadResponse(554)
		}, func(c *smtpd.Conn, ev *smtpd.Event) {
			if ev.Kind == smtpd.Helo {
				c.Answer(smtpd.Answer{Reply: &smtpd.Reply{Code: 554, Lines: []string{"go away"}}, Then: smtpd.CloseConn})
			}
		}},
		{"no TLS after STARTTLS", smtpd.Config{TLSConfig: serverTLS}, func(c *textproto.Conn) {
			c.ReadResponse(220)
			c.PrintfLine("EHLO client.example")
			c.ReadResponse(250)
			c.PrintfLine("STARTTLS")
			c.ReadResponse(220)
			go c.PrintfLine("this is no TLS handshake")
			io.Copy(io.Discard, c.R)
		}, nil},
	} {
		err := pipe(tc.cfg, tc.client, tc.answer)
		var name string
		for _, e := range []error{io.EOF, smtpd.ErrClientGone, smtpd.ErrTimeout, smtpd.ErrTooManyErrors,
			smtpd.ErrForbiddenCommand, smtpd.ErrFraming, smtpd.ErrLineTooLong, smtpd.ErrDriverClosed, smtpd.ErrTLSHandshake} {
			if errors.Is(err, e) {
				name = e.Error()
			}
		}
		fmt.Printf("%s: %s\n", tc.name, name)
	}
	// Output:
	// QUIT: EOF
	// client hangs up: smtpd: client closed the connection
	// client goes quiet: smtpd: client timed out
	// unknown commands: smtpd: too many bad commands
	// HTTP on the SMTP port: smtpd: not an SMTP command (Config.ForbiddenCommands)
	// a chunk of no known size: smtpd: line framing lost
	// a line past 1 MiB: smtpd: line longer than 1 MiB
	// the driver closes: smtpd: connection closed as the driver answered
	// no TLS after STARTTLS: smtpd: TLS handshake failed
}

// tlsConfigs returns a server configuration with a certificate for
// localhost (a real server has its own), and a client one that trusts it.
func tlsConfigs() (server, client *tls.Config) {
	certPEM, keyPEM, pool, err := testcert.SelfSigned()
	if err != nil {
		panic(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		panic(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}, &tls.Config{RootCAs: pool, ServerName: "localhost"}
}

// The driver's full answer: here, a slow 421 at RCPT, then the connection
// closes.
func ExampleConn_Answer() {
	err := pipe(smtpd.Config{}, func(c *textproto.Conn) {
		c.ReadResponse(220)
		c.PrintfLine("HELO client.example")
		c.ReadResponse(250)
		c.PrintfLine("MAIL FROM:<a@example.com>")
		c.ReadResponse(250)
		c.PrintfLine("RCPT TO:<b@example.com>")
		code, msg, _ := c.ReadResponse(0)
		fmt.Println("client:", code, msg)
	}, func(c *smtpd.Conn, ev *smtpd.Event) {
		if ev.Kind == smtpd.Rcpt {
			c.Answer(smtpd.Answer{
				Reply: &smtpd.Reply{Code: 421, Status: "4.3.2", Lines: []string{"try later"}},
				Pace:  smtpd.Pace{Chunk: 4, Every: time.Millisecond},
				Then:  smtpd.CloseConn,
			})
		}
	})
	fmt.Println("server:", err)
	// Output:
	// client: 421 4.3.2 try later
	// server: smtpd: connection closed as the driver answered
}

func ExampleConn_Reply() {
	pipe(smtpd.Config{}, func(c *textproto.Conn) {
		c.ReadResponse(220)
		c.PrintfLine("HELO client.example")
		c.ReadResponse(250)
		c.PrintfLine("MAIL FROM:<a@example.com>")
		c.ReadResponse(250)
		for _, to := range []string{"nobody@example.com", "bob@example.com"} {
			c.PrintfLine("RCPT TO:<%s>", to)
			code, msg, _ := c.ReadResponse(0)
			fmt.Println(code, msg)
		}
		c.PrintfLine("QUIT")
		c.ReadResponse(221)
	}, func(c *smtpd.Conn, ev *smtpd.Event) {
		if ev.Kind == smtpd.Rcpt && ev.Path == "nobody@example.com" {
			c.Reply(smtpd.NewReply(550, "5.1.1 No such user"))
		}
	})
	// Output:
	// 550 5.1.1 No such user
	// 250 2.1.5 Ok
}

// Accept gives the engine's own reply; a driver that answers nothing gets
// the same.
func ExampleConn_Accept() {
	pipe(smtpd.Config{}, func(c *textproto.Conn) {
		c.ReadResponse(220)
		c.PrintfLine("NOOP")
		_, msg, _ := c.ReadResponse(250)
		fmt.Println(msg)
		c.PrintfLine("QUIT")
		c.ReadResponse(221)
	}, func(c *smtpd.Conn, ev *smtpd.Event) {
		c.Accept()
	})
	// Output:
	// 2.0.0 Ok
}

// Close writes a last reply, as a driver does when its context ends: a
// server shutting down while the client is idle.
func ExampleConn_Close() {
	client, server := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer client.Close()
		r := textproto.NewConn(client)
		r.ReadResponse(220)
		cancel() // the server shuts down while the client thinks
		_, msg, _ := r.ReadResponse(421)
		fmt.Println("client got:", msg)
	}()
	defer func() { <-done }()
	c := smtpd.NewConn(server, smtpd.Config{})
	for {
		_, err := c.Next(ctx)
		if err != nil {
			fmt.Println("server:", err)
			c.Close(&smtpd.Reply{Code: 421, Status: "4.3.2", Lines: []string{"Service shutting down"}})
			break
		}
	}
	// Output:
	// server: context canceled
	// client got: 4.3.2 Service shutting down
}

// Pause is a slow server that notices a client giving up: the client
// sends HELO and leaves without waiting for the reply, and the pause of
// an hour ends at once, with the session.
func ExampleConn_Pause() {
	err := pipe(smtpd.Config{}, func(c *textproto.Conn) {
		c.ReadResponse(220)
		c.PrintfLine("HELO client.example")
	}, func(c *smtpd.Conn, ev *smtpd.Event) {
		if ev.Kind == smtpd.Helo {
			start := time.Now()
			err := c.Pause(context.Background(), time.Hour)
			fmt.Println("pause:", err)
			fmt.Println("client gone:", errors.Is(err, smtpd.ErrClientGone), "in under a minute:", time.Since(start) < time.Minute)
		}
	})
	fmt.Println("next:", err)
	// Output:
	// pause: smtpd: client closed the connection while the server paused: EOF
	// client gone: true in under a minute: true
	// next: smtpd: client closed the connection while the server paused: EOF
}

// A driver that keeps when its reply to an event goes out (a
// greylisting server, the time of its 451) reads Now at the event and
// adds its pauses: the reply goes out once they have passed.
func ExampleConn_Now() {
	pipe(smtpd.Config{}, func(c *textproto.Conn) {
		c.ReadResponse(220)
		c.PrintfLine("HELO client.example")
		c.ReadResponse(451)
		c.PrintfLine("QUIT")
		c.ReadResponse(221)
	}, func(c *smtpd.Conn, ev *smtpd.Event) {
		if ev.Kind == smtpd.Helo {
			sent := c.Now().Add(time.Millisecond)
			if err := c.Pause(context.Background(), time.Millisecond); err != nil {
				return
			}
			c.Reply(smtpd.Reply{Code: 451, Status: "4.7.1", Lines: []string{"try again later"}})
			fmt.Println("the 451 goes out after the pause:", !c.Now().Before(sent))
		}
	})
	// Output:
	// the 451 goes out after the pause: true
}

func ExampleConn_Helo() {
	pipe(smtpd.Config{}, func(c *textproto.Conn) {
		c.ReadResponse(220)
		c.PrintfLine("EHLO client.example")
		c.ReadResponse(250)
		c.PrintfLine("QUIT")
		c.ReadResponse(221)
	}, func(c *smtpd.Conn, ev *smtpd.Event) {
		if ev.Kind == smtpd.Quit {
			fmt.Println(c.Helo())
		}
	})
	// Output:
	// client.example
}

// RemoteAddr and LocalAddr are those of the connection the Conn serves.
func ExampleConn_RemoteAddr() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	go func() {
		nc, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			defer nc.Close()
			io.Copy(io.Discard, nc)
		}
	}()
	nc, err := ln.Accept()
	if err != nil {
		panic(err)
	}
	c := smtpd.NewConn(nc, smtpd.Config{})
	defer c.Close(nil)
	host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
	fmt.Println(host, c.LocalAddr().String() == ln.Addr().String())
	// Output:
	// 127.0.0.1 true
}

func ExampleConn_LocalAddr() {
	client, server := net.Pipe()
	defer client.Close()
	c := smtpd.NewConn(server, smtpd.Config{})
	defer c.Close(nil)
	fmt.Println(c.LocalAddr().Network(), c.RemoteAddr().Network())
	// Output:
	// pipe pipe
}

// After STARTTLS, the engine reports the handshake as an event, and TLS
// returns its state.
func ExampleConn_TLS() {
	serverTLS, clientTLS := tlsConfigs()
	cc, sc := net.Pipe()
	go func() {
		defer cc.Close()
		r := textproto.NewConn(cc)
		r.ReadResponse(220)
		r.PrintfLine("EHLO client.example")
		r.ReadResponse(250)
		r.PrintfLine("STARTTLS")
		r.ReadResponse(220)
		tc := tls.Client(cc, clientTLS)
		if err := tc.Handshake(); err != nil {
			fmt.Println(err)
			return
		}
		r = textproto.NewConn(tc)
		r.PrintfLine("QUIT")
		r.ReadResponse(221)
	}()
	c := smtpd.NewConn(sc, smtpd.Config{TLSConfig: serverTLS})
	defer c.Close(nil)
	for {
		ev, err := c.Next(context.Background())
		if err != nil {
			return
		}
		switch ev.Kind {
		case smtpd.Greeting:
			fmt.Println("before:", c.TLS() == nil)
		case smtpd.Handshake:
			fmt.Println("after:", tls.VersionName(c.TLS().Version), c.TLS().ServerName)
		}
	}
	// Output:
	// before: true
	// after: TLS 1.3 localhost
}
