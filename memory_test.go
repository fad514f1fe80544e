package mocksmtp_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/internal/memnet"
)

// memSend sends one message with net/smtp over a connection from dial.
func memSend(dial func() (net.Conn, error), host, from, to string) error {
	conn, err := dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, "Subject: hi\r\n\r\nhello\r\n"); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func TestInMemoryInBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory())
		if got := srv.Addr(); got != "127.0.0.1:1" {
			t.Errorf("Addr = %q", got)
		}
		if srv.Host() != "127.0.0.1" || srv.Port() != 1 {
			t.Errorf("Host, Port = %q, %d", srv.Host(), srv.Port())
		}
		for range 2 {
			if err := memSend(srv.Dial, srv.Host(), "app@example.com", "bob@example.com"); err != nil {
				t.Fatal(err)
			}
		}
		sessions := srv.WaitForSessions(t, 2)
		for i, s := range sessions {
			if s.Ended != mocksmtp.EndQuit || len(s.Messages) != 1 {
				t.Errorf("session %d: ended %v with %d messages", s.ID, s.Ended, len(s.Messages))
			}
			if want := []string{"127.0.0.1:49152", "127.0.0.1:49153"}[i]; s.RemoteAddr.String() != want || s.LocalAddr.String() != "127.0.0.1:1" {
				t.Errorf("session %d: %v → %v, want %s → 127.0.0.1:1", s.ID, s.RemoteAddr, s.LocalAddr, want)
			}
			if !s.Start.Equal(start) || !s.End.Equal(start) {
				t.Errorf("session %d: from %v to %v, want both at the bubble's start %v", s.ID, s.Start, s.End, start)
			}
		}
	})
}

// The same server without a bubble: in memory, on the real clock.
func TestInMemoryWithoutBubble(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithInMemory())
	if err := memSend(srv.Dial, srv.Host(), "app@example.com", "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	if m := srv.WaitForMessages(t, 1)[0]; m.Subject != "hi" || m.Text != "hello\n" {
		t.Errorf("message %q: %q", m.Subject, m.Text)
	}
}

// A server on TCP inside a testing/synctest bubble is refused by New,
// saying what to do: its goroutines would wait on the network, which the
// bubble never counts as durably blocked, so the bubble's clock would
// never move and the first timer (a wait's timeout, a fault's delay)
// would hang the test without a word. In memory it is taken.
func TestTCPServerInsideABubbleIsRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, err := mocksmtp.New()
		if err == nil {
			srv.Close()
		}
		if err == nil || !strings.Contains(err.Error(), "use WithInMemory and srv.DialContext") {
			t.Errorf("New() inside a bubble: %v, want a refusal that says to use WithInMemory", err)
		}
		srv, err = mocksmtp.New(mocksmtp.WithInMemory())
		if err != nil {
			t.Fatalf("New(WithInMemory()) inside a bubble: %v", err)
		}
		srv.Close()
	})
}

// A server in memory started outside a testing/synctest bubble and dialed
// from inside it, or started inside and dialed from outside, cannot serve
// that connection: each end's waits belong to one clock (and the runtime
// makes it a fatal error to touch a bubble's channels from outside it).
// The dial is refused with an error that says what to do, instead of
// crashing the test binary.
func TestInMemoryDialAcrossTheBubble(t *testing.T) {
	outside := mocksmtp.Start(t, mocksmtp.WithInMemory())
	servers, errs := make(chan *mocksmtp.Server), make(chan error)
	go func() { // a goroutine outside the bubble, dialing what it is given
		for srv := range servers {
			c, err := srv.Dial()
			if c != nil {
				c.Close()
			}
			errs <- err
		}
	}()
	defer close(servers)
	refused := func(who string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), "start the server inside synctest.Test") {
			t.Errorf("%s: %v, want a refusal that says to start the server inside the bubble", who, err)
		}
	}
	synctest.Test(t, func(t *testing.T) {
		c, err := outside.Dial()
		if c != nil {
			c.Close()
		}
		refused("a dial from the bubble to a server started outside", err)
		inside := mocksmtp.Start(t, mocksmtp.WithInMemory())
		servers <- inside
		refused("a dial from outside to a server started in the bubble", <-errs)
		if err := memSend(inside.Dial, inside.Host(), "app@example.com", "bob@example.com"); err != nil {
			t.Errorf("a dial from the bubble to its own server: %v", err)
		}
	})
	if err := memSend(outside.Dial, outside.Host(), "app@example.com", "bob@example.com"); err != nil {
		t.Errorf("a dial from outside to a server started outside: %v", err)
	}
	if n := len(outside.WaitForSessions(t, 1)); n != 1 {
		t.Errorf("%d sessions, want the one dialed from outside", n)
	}
}

// Dial and DialContext reach a TCP server too, whatever address
// DialContext is given.
func TestDialTCPServer(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	if err := memSend(srv.Dial, srv.Host(), "app@example.com", "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	dial := func() (net.Conn, error) { return srv.DialContext(t.Context(), "tcp4", "mail.example.com:25") }
	if err := memSend(dial, srv.Host(), "app@example.com", "carol@example.com"); err != nil {
		t.Fatal(err)
	}
	srv.WaitForMessages(t, 2)
	srv.Close()
	if _, err := srv.Dial(); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Dial after Close: %v, want ECONNREFUSED", err)
	}
}

func TestDialErrors(t *testing.T) {
	t.Parallel()
	for _, opts := range [][]mocksmtp.Option{nil, {mocksmtp.WithInMemory()}} {
		srv := mocksmtp.Start(t, opts...)
		for _, network := range []string{"udp", "unix", ""} {
			if c, err := srv.DialContext(t.Context(), network, srv.Addr()); err == nil {
				c.Close()
				t.Errorf("DialContext(%q) succeeded", network)
			}
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if c, err := srv.DialContext(ctx, "tcp", srv.Addr()); !errors.Is(err, context.Canceled) {
			if c != nil {
				c.Close()
			}
			t.Errorf("DialContext with a cancelled context: %v", err)
		}
		srv.Close()
		// No connection with the error, as net.Dialer's: a caller that
		// closes a connection it got (c != nil) must not get a nil one.
		if c, err := srv.Dial(); !errors.Is(err, syscall.ECONNREFUSED) || c != nil {
			t.Errorf("Dial after Close: %#v, %v; want no connection and ECONNREFUSED", c, err)
		}
	}
	if _, err := mocksmtp.New(mocksmtp.WithInMemory(), mocksmtp.WithListenAddr("127.0.0.1:2525")); err == nil || !strings.Contains(err.Error(), "WithListenAddr") {
		t.Errorf("New(WithInMemory, WithListenAddr) = %v, want an error naming both", err)
	}
}

// A client that retries with backoff 1m, 2m, 4m: the sessions start at
// exactly those gaps, in no time.
func TestInMemoryBackoffInFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(
			mocksmtp.At(mocksmtp.StageRcpt).OnAttempt(1, 2, 3).Reply(421, "4.3.2 try later").Disconnect(),
		))
		backoff := time.Minute
		var err error
		for attempt := 1; attempt <= 4; attempt++ {
			if err = memSend(srv.Dial, srv.Host(), "app@example.com", "bob@example.com"); err == nil {
				break
			}
			time.Sleep(backoff)
			backoff *= 2
		}
		if err != nil {
			t.Fatalf("last attempt: %v", err)
		}
		sessions := srv.WaitForSessions(t, 4)
		for i, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute} {
			if gap := sessions[i+1].Start.Sub(sessions[i].Start); gap != want {
				t.Errorf("attempt %d came %v after attempt %d, want %v", i+2, gap, i+1, want)
			}
		}
		if n := len(srv.Messages()); n != 1 {
			t.Errorf("%d messages, want 1", n)
		}
	})
}

// The engine's read timeout runs on the bubble's clock.
func TestInMemoryReadTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithReadTimeout(30*time.Second))
		conn, err := srv.Dial()
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		start := time.Now()
		if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "220 ") {
			t.Fatalf("greeting %q", l)
		}
		io.WriteString(conn, "EHLO clie") // half a command, then silence
		l, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(l, "421 4.4.2 ") {
			t.Fatalf("got %q, %v; want 421 4.4.2", l, err)
		}
		if waited := time.Since(start); waited != 30*time.Second {
			t.Errorf("timed out after %v, want 30s", waited)
		}
		conn.Close() // else the server waits a second for the client to close
		if s := srv.WaitForSessions(t, 1)[0]; s.Ended != mocksmtp.EndTimeout || s.End.Sub(s.Start) != 30*time.Second {
			t.Errorf("session ended %v after %v, want a timeout after 30s", s.Ended, s.End.Sub(s.Start))
		}
	})
}

// What arrives at the very time a deadline runs out is too late, every
// time: in a bubble, where data and deadline meet at the same instant,
// the outcome is not left to which goroutine the scheduler runs first.
// The server's read timeout meets a command sent exactly then; a client's
// 30 s timeout meets a reply delayed 30 s.
func TestInMemoryDeadlineAtItsVeryEnd(t *testing.T) {
	for range 300 { // before, each missed it one time in 40 or so: 300 in a row pass once in 2000 runs
		synctest.Test(t, func(t *testing.T) {
			srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithReadTimeout(time.Minute))
			c := dialBubble(t, srv)
			c.must("", 220)
			time.Sleep(time.Minute)
			if r, err := c.cmd("EHLO client.example"); err != nil || r.Code != 421 || r.Status != "4.4.2" {
				t.Errorf("EHLO sent as the read timeout ran out: %+v, %v; want 421 4.4.2", r, err)
			}
		})
		synctest.Test(t, func(t *testing.T) {
			srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageRcpt).Delay(30*time.Second)))
			c := dialBubble(t, srv)
			c.must("", 220)
			c.must("EHLO client.example", 250)
			c.must("MAIL FROM:<app@example.com>", 250)
			_ = c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			if r, err := c.cmd("RCPT TO:<bob@example.com>"); !faultIsTimeout(err) {
				t.Errorf("RCPT's reply, delayed as long as the client waits: %+v, %v; want the client's timeout", r, err)
			}
		})
	}
}

// Close ends a fault's delay at once: no bubble time passes.
func TestInMemoryCloseDuringDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageRcpt).Delay(time.Hour)))
		errc := make(chan error)
		go func() { errc <- memSend(srv.Dial, srv.Host(), "app@example.com", "bob@example.com") }()
		srv.WaitUntil(t, "the delay", func() bool { return len(srv.Sessions()) == 1 && len(srv.Sessions()[0].Faults) == 1 })
		start := time.Now()
		srv.Close()
		if took := time.Since(start); took != 0 {
			t.Errorf("Close took %v of bubble time", took)
		}
		if err := <-errc; err == nil || !strings.Contains(err.Error(), "421") {
			t.Errorf("client got %v, want the 421 of the shutdown", err)
		}
	})
}

// The waits time out on the bubble's clock.
func TestInMemoryWaitTimesOutInBubbleTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory())
		start := time.Now()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
		defer cancel()
		if _, err := srv.WaitForMessagesContext(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("wait = %v, want its deadline", err)
		}
		if took := time.Since(start); took != 10*time.Minute {
			t.Errorf("wait gave up after %v, want 10m", took)
		}
	})
}

// A message that arrives at the very time a wait's deadline runs out is
// too late, every time: in a bubble the client's delivery and the wait's
// timer come at the same instant, and which the runtime ran first made
// the wait succeed or time out (one run in two).
func TestWaitAtItsVeryEnd(t *testing.T) {
	for range 300 { // before, each missed it about one time in two
		synctest.Test(t, func(t *testing.T) {
			srv := mocksmtp.Start(t, mocksmtp.WithInMemory())
			sent := make(chan error, 1)
			go func() { // a client that backs off 5 minutes first
				time.Sleep(5 * time.Minute)
				sent <- memSend(srv.Dial, srv.Host(), "app@example.com", "bob@example.com")
			}()
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
			defer cancel()
			if msgs, err := srv.WaitForMessagesContext(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("a wait of 5m for a message sent at 5m: %d messages, %v; want its deadline", len(msgs), err)
			}
			if err := <-sent; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A session that ends at the very instant a WaitForSessionEndContext
// runs out is too late, every time, as a message at a wait's deadline is
// (README: in the bubble, times meet exactly). Before, the wait looked
// once more after its deadline and took the session when it had ended by
// then: in time in one run, too late in another.
func TestWaitForSessionEndAtItsVeryEnd(t *testing.T) {
	ended := 0
	for range 300 {
		synctest.Test(t, func(t *testing.T) {
			srv := mocksmtp.Start(t, mocksmtp.WithInMemory())
			conn, err := srv.Dial()
			if err != nil {
				t.Fatal(err)
			}
			go func() { // a client that hangs up after 5 minutes
				time.Sleep(5 * time.Minute)
				conn.Close()
			}()
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
			defer cancel()
			if _, err := srv.WaitForSessionEndContext(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
				ended++
			}
		})
	}
	if ended > 0 {
		t.Errorf("a wait of 5m for a session that ends at 5m: in time %d times in 300, want too late every time", ended)
	}
}

// STARTTLS and implicit TLS in the bubble, whose clock says 2000: the
// test certificate is valid then, and the expired one is not.
func TestInMemoryTLSInBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithSTARTTLS(), mocksmtp.WithAuth("user", "secret"))
		conn, err := srv.Dial()
		if err != nil {
			t.Fatal(err)
		}
		c, err := smtp.NewClient(conn, srv.Host())
		if err != nil {
			t.Fatal(err)
		}
		if err := c.StartTLS(srv.ClientTLSConfig()); err != nil {
			t.Fatalf("StartTLS: %v", err)
		}
		if err := c.Auth(smtp.PlainAuth("", "user", "secret", srv.Host())); err != nil {
			t.Fatalf("Auth: %v", err)
		}
		if err := c.Quit(); err != nil {
			t.Fatal(err)
		}
		conn.Close()
		if s := srv.WaitForSessions(t, 1)[0]; s.TLS == nil || s.Auth == nil || s.Ended != mocksmtp.EndQuit {
			t.Errorf("session: TLS %v, auth %v, ended %v", s.TLS, s.Auth, s.Ended)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithImplicitTLS())
		raw, err := srv.Dial()
		if err != nil {
			t.Fatal(err)
		}
		conn := tls.Client(raw, srv.ClientTLSConfig())
		c, err := smtp.NewClient(conn, srv.Host())
		if err != nil {
			t.Fatalf("NewClient over TLS: %v", err)
		}
		if err := c.Quit(); err != nil {
			t.Fatal(err)
		}
		conn.Close()
		if s := srv.WaitForSessions(t, 1)[0]; s.TLS == nil || s.Ended != mocksmtp.EndQuit {
			t.Errorf("session: TLS %v, ended %v", s.TLS, s.Ended)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithSTARTTLS(),
			mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageStartTLS).ExpiredCertificate()))
		conn, err := srv.Dial()
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		c, err := smtp.NewClient(conn, srv.Host())
		if err != nil {
			t.Fatal(err)
		}
		var invalid x509.CertificateInvalidError
		if err := c.StartTLS(srv.ClientTLSConfig()); !errors.As(err, &invalid) || invalid.Reason != x509.Expired {
			t.Errorf("StartTLS = %v, want x509.Expired", err)
		}
		conn.Close()
		if s := srv.WaitForSessions(t, 1)[0]; s.Ended != mocksmtp.EndTLSFailed {
			t.Errorf("session ended %v", s.Ended)
		}
	})
}

// memBody returns a message of exactly n octets (n >= 2): lines of at
// most 1000 octets with CRLF, none starting with a dot.
func memBody(n int) []byte {
	b := make([]byte, 0, n)
	for len(b) < n {
		line := min(998, n-len(b)-2)
		for i := range line {
			b = append(b, 'a'+byte((len(b)+i)%26))
		}
		b = append(b, '\r', '\n')
	}
	return b
}

// Messages around the in-memory connection's buffer size, written in one
// go with the commands before them: each is recorded byte for byte.
func TestInMemoryBufferBoundaries(t *testing.T) {
	const n = memnet.BufferSize
	for _, size := range []int{n - 1, n, n + 1, 2 * n} { // n is 1 MiB
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithMaxMessageBytes(4*n))
				conn, err := srv.Dial()
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				body := memBody(size)
				go func() { // the client does not read until it has written everything
					io.WriteString(conn, "EHLO c\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
					conn.Write(body)
					io.WriteString(conn, ".\r\nQUIT\r\n")
				}()
				r := bufio.NewReader(conn)
				var last string
				for !strings.HasPrefix(last, "221 ") {
					if last, err = r.ReadString('\n'); err != nil {
						t.Fatalf("after %q: %v", last, err)
					}
				}
				m := srv.WaitForMessages(t, 1)[0]
				if !bytes.Equal(m.Raw, body) {
					t.Errorf("recorded %d octets, sent %d", len(m.Raw), len(body))
				}
			})
		})
	}
}

// A line with no end, longer than the buffer: the engine refuses it and
// closes, without waiting for the end.
func TestInMemoryEndlessLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory())
		conn, err := srv.Dial()
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		go conn.Write(bytes.Repeat([]byte("x"), 2*memnet.BufferSize+1))
		r := bufio.NewReader(conn)
		if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "220 ") {
			t.Fatalf("greeting %q", l)
		}
		if l, err := r.ReadString('\n'); !strings.HasPrefix(l, "500 5.5.2 ") {
			t.Errorf("reply %q, %v; want 500 5.5.2", l, err)
		}
		conn.Close()
		if s := srv.WaitForSessions(t, 1)[0]; s.Ended != mocksmtp.EndServerClosed && s.Ended != mocksmtp.EndClientClosed {
			t.Errorf("session ended %v", s.Ended)
		}
	})
}

// TestExampleFakeTime runs the test of the whole-file example in
// example_faketime_test.go.
func TestExampleFakeTime(t *testing.T) { testRetriesInFakeTime(t) }

// A wait that fails returns, counts and reports what it had when it
// last looked, not a message that came at its deadline (too late) or as
// it returned: by which goroutine the runtime ran first, one run in three
// its error and report said "want 1 message, got 1", and WaitFor's named
// the late message as the nearest, "message 1 ... matches, but .". (The
// transcripts a report shows are the sessions' as they are when it is
// written.)
func TestFailedWaitGetsWhatItSawAtItsDeadline(t *testing.T) {
	to := mocksmtp.Want{To: []string{"bob@late-1.inbox.test"}}
	context5m := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), 5*time.Minute)
	}
	waits := map[string]func(srv *mocksmtp.Server, in *mocksmtp.Inbox) (int, string){
		"Server.WaitForMessagesContext": func(srv *mocksmtp.Server, _ *mocksmtp.Inbox) (int, string) {
			ctx, cancel := context5m()
			defer cancel()
			msgs, err := srv.WaitForMessagesContext(ctx, 1)
			return len(msgs), fmt.Sprint(err)
		},
		"Inbox.WaitForMessagesContext": func(_ *mocksmtp.Server, in *mocksmtp.Inbox) (int, string) {
			ctx, cancel := context5m()
			defer cancel()
			msgs, err := in.WaitForMessagesContext(ctx, 1)
			return len(msgs), fmt.Sprint(err)
		},
		"Server.WaitForContext": func(srv *mocksmtp.Server, _ *mocksmtp.Inbox) (int, string) {
			ctx, cancel := context5m()
			defer cancel()
			_, err := srv.WaitForContext(ctx, to)
			return 0, fmt.Sprint(err)
		},
		"Server.WaitForMessages": func(srv *mocksmtp.Server, _ *mocksmtp.Inbox) (int, string) {
			ft := &fatalT{TB: t}
			return len(ft.run(func() { srv.WaitForMessages(ft, 1) })), ft.msg
		},
		"Inbox.WaitForMessages": func(_ *mocksmtp.Server, in *mocksmtp.Inbox) (int, string) {
			ft := &fatalT{TB: t}
			return len(ft.run(func() { in.WaitForMessages(ft, 1) })), ft.msg
		},
		"Server.WaitFor": func(srv *mocksmtp.Server, _ *mocksmtp.Inbox) (int, string) {
			ft := &fatalT{TB: t}
			return len(ft.run(func() { srv.WaitFor(ft, to) })), ft.msg
		},
		"Inbox.WaitFor": func(_ *mocksmtp.Server, in *mocksmtp.Inbox) (int, string) {
			ft := &fatalT{TB: t}
			return len(ft.run(func() { in.WaitFor(ft, to) })), ft.msg
		},
	}
	for name, wait := range waits {
		t.Run(name, func(t *testing.T) {
			for range 100 {
				synctest.Test(t, func(t *testing.T) {
					srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithWaitTimeout(5*time.Minute))
					in := srv.NewInbox("late")
					go func() { // a client that backs off 5 minutes first
						time.Sleep(5 * time.Minute)
						_ = memSend(srv.Dial, srv.Host(), "app@example.com", in.Address("bob"))
					}()
					n, msg := wait(srv, in)
					if n != 0 || msg == "" || strings.Contains(msg, "got 1") || strings.Contains(msg, "message 1 from") {
						t.Fatalf("a wait of 5m for a message sent at 5m returned %d messages, failing with:\n%s\nwant none, and the message neither listed nor the nearest", n, msg)
					}
					srv.WaitForSessionEnd(t, 1)
				})
			}
		})
	}
}

// So with a session that ends as the wait for it runs out: its report
// said "want 1 ended session within 5m0s, got 1" one run in two, where
// WaitForSessionsContext said "got 0" every run.
func TestFailedWaitForSessionsGetsWhatItSawAtItsDeadline(t *testing.T) {
	for range 100 {
		synctest.Test(t, func(t *testing.T) {
			srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithWaitTimeout(5*time.Minute))
			go func() { // a client that quits after 5 minutes
				conn, err := srv.Dial()
				if err != nil {
					return
				}
				defer conn.Close()
				r := bufio.NewReader(conn)
				_, _ = r.ReadString('\n')
				time.Sleep(5 * time.Minute)
				_, _ = io.WriteString(conn, "QUIT\r\n")
				_, _ = r.ReadString('\n')
			}()
			ft := &fatalT{TB: t}
			ft.run(func() { srv.WaitForSessions(ft, 1) })
			if head, _, _ := strings.Cut(ft.msg, "\n"); !strings.HasSuffix(head, "got 0:") {
				t.Fatalf("a wait of 5m for a session that ends at 5m failed with %q; want got 0", head)
			}
			srv.WaitForSessionEnd(t, 1)
		})
	}
}

// fatalT records the message of Fatalf, which ends the goroutine of run.
type fatalT struct {
	testing.TB
	msg string
}

func (t *fatalT) Helper() {}
func (t *fatalT) Fatalf(format string, args ...any) {
	t.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls f on a goroutine of its own, which Fatalf may end, and
// returns nil: the t forms return nothing when they fail.
func (t *fatalT) run(f func()) []*mocksmtp.Message {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
	return nil
}
