package mocksmtp_test

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"net/textproto"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/smtpd"
)

// faultConn is a raw SMTP client for what a library would hide: exact
// bytes, closed and reset connections, replies arriving in pieces.
type faultConn struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialFault(t *testing.T, srv *mocksmtp.Server) *faultConn {
	t.Helper()
	conn, err := srv.Dial()
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { conn.Close() })
	return &faultConn{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// faultReply is a reply as read off the wire.
type faultReply struct {
	Code   int
	Status string // the enhanced status code of the last line, "" when none
	Lines  int
}

var faultStatusRE = regexp.MustCompile(`^[245]\.\d{1,3}\.\d{1,3}$`)

// read reads one reply, all its lines.
func (c *faultConn) read() (faultReply, error) {
	var r faultReply
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return r, err
		}
		if len(line) < 5 || !strings.HasSuffix(line, "\r\n") {
			return r, fmt.Errorf("not a reply line: %q", line)
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil {
			return r, fmt.Errorf("not a reply line: %q", line)
		}
		r.Code, r.Lines, r.Status = code, r.Lines+1, ""
		if len(line) > 5 {
			if st, _, _ := strings.Cut(strings.TrimSuffix(line[4:], "\r\n"), " "); faultStatusRE.MatchString(st) {
				r.Status = st
			}
		}
		if line[3] != '-' {
			return r, nil
		}
	}
}

func (c *faultConn) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s+"\r\n"); err != nil {
		c.t.Fatalf("send %q: %v", s, err)
	}
}

func (c *faultConn) cmd(s string) (faultReply, error) {
	c.t.Helper()
	c.send(s)
	return c.read()
}

// must sends s (nothing for "") and fails the test unless the reply has
// code.
func (c *faultConn) must(s string, code int) {
	c.t.Helper()
	if s != "" {
		c.send(s)
	}
	r, err := c.read()
	if err != nil || r.Code != code {
		c.t.Fatalf("%q: got %+v, %v; want %d", s, r, err, code)
	}
}

// readAll reads until the server closes or the deadline passes.
func (c *faultConn) readAll(d time.Duration) (string, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(d))
	b, err := io.ReadAll(c.r)
	return string(b), err
}

// expectClosed asserts that the server closed the connection without
// writing anything more.
func (c *faultConn) expectClosed() {
	c.t.Helper()
	b, err := c.readAll(5 * time.Second)
	if b != "" || err != nil && !faultIsReset(err) {
		c.t.Errorf("after the reply: read %q, %v; want the connection closed", b, err)
	}
}

func faultIsReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

func faultIsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// faultHere returns "fault_test.go:N" for the line it is called on.
func faultHere() string {
	_, file, line, _ := runtime.Caller(1)
	return filepath.Base(file) + ":" + strconv.Itoa(line)
}

// faultSASL is a SASL server that accepts any response.
type faultSASL struct{}

func (faultSASL) Next([]byte) ([]byte, bool, error) { return nil, true, nil }

// faultEveryStage lets a client reach every stage: STARTTLS is offered (the
// tests never complete a handshake) and AUTH PLAIN accepts anyone.
var faultEveryStage = mocksmtp.WithEngineConfig(smtpd.Config{
	TLSConfig:      &tls.Config{},
	AuthMechanisms: []string{"PLAIN"},
	NewSASL:        func(string) (smtpd.SASLServer, error) { return faultSASL{}, nil },
})

// faultStages bring a raw client to each stage: setup commands that
// succeed, then the trigger whose reply the fault changes ("" for the
// greeting).
var faultStages = []struct {
	stage   mocksmtp.Stage
	setup   []string
	trigger string
	ok      int // the trigger's normal reply code
}{
	{mocksmtp.StageConnect, nil, "", 220},
	{mocksmtp.StageGreeting, nil, "", 220},
	{mocksmtp.StageHelo, nil, "EHLO client.example", 250},
	{mocksmtp.StageStartTLS, []string{"EHLO client.example"}, "STARTTLS", 220},
	{mocksmtp.StageAuth, []string{"EHLO client.example"}, "AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00user\x00secret")), 235},
	{mocksmtp.StageMail, []string{"EHLO client.example"}, "MAIL FROM:<app@example.com>", 250},
	{mocksmtp.StageRcpt, []string{"EHLO client.example", "MAIL FROM:<app@example.com>"}, "RCPT TO:<bob@example.com>", 250},
	{mocksmtp.StageData, []string{"EHLO client.example", "MAIL FROM:<app@example.com>", "RCPT TO:<bob@example.com>"}, "DATA", 354},
	{mocksmtp.StageMessage, []string{"EHLO client.example", "MAIL FROM:<app@example.com>", "RCPT TO:<bob@example.com>", "DATA"}, "Subject: hi\r\n\r\nhello\r\n.", 250},
	{mocksmtp.StageBdat, []string{"EHLO client.example", "MAIL FROM:<app@example.com>", "RCPT TO:<bob@example.com>"}, "BDAT 7\r\nhello", 250}, // send adds the chunk's last 2 octets, CRLF
	{mocksmtp.StageRset, []string{"EHLO client.example"}, "RSET", 250},
	{mocksmtp.StageNoop, []string{"EHLO client.example"}, "NOOP", 250},
	{mocksmtp.StageQuit, []string{"EHLO client.example"}, "QUIT", 221},
}

// prepare drives c up to a stage's trigger: it reads the greeting
// (unless the greeting is the trigger) and runs the setup commands.
func (c *faultConn) prepare(setup []string, trigger string) {
	c.t.Helper()
	if trigger == "" {
		return
	}
	c.must("", 220)
	for _, s := range setup {
		code := 250
		if s == "DATA" {
			code = 354
		}
		c.must(s, code)
	}
}

// reach drives c to the trigger of a stage and returns its reply.
func (c *faultConn) reach(setup []string, trigger string) (faultReply, error) {
	c.t.Helper()
	c.prepare(setup, trigger)
	if trigger == "" {
		return c.read()
	}
	return c.cmd(trigger)
}

func TestFaultAtEveryStage(t *testing.T) { overTransports(t, testFaultAtEveryStage) }

func testFaultAtEveryStage(t *testing.T, via transport) {
	t.Parallel()
	for i, sc := range faultStages {
		status := fmt.Sprintf("4.7.%d", 100+i)
		code, refusal := 451, status
		if sc.stage == mocksmtp.StageConnect || sc.stage == mocksmtp.StageGreeting {
			code, refusal = 554, fmt.Sprintf("5.7.%d", 100+i) // a greeting refuses with 554 (RFC 5321 4.3.2)
		}
		t.Run(sc.stage.String()+"/reply", func(t *testing.T) {
			t.Parallel()
			srv := via.start(t, faultEveryStage, mocksmtp.WithFault(mocksmtp.At(sc.stage).AtMost(1).Reply(code, refusal+" not now")))
			c := dialFault(t, srv)
			got, err := c.reach(sc.setup, sc.trigger)
			if err != nil || got.Code != code || got.Status != refusal {
				t.Fatalf("reply = %+v, %v; want %d %s", got, err, code, refusal)
			}
			switch sc.stage {
			case mocksmtp.StageConnect, mocksmtp.StageGreeting:
				c.must("NOOP", 503) // a refused greeting leaves only QUIT
			case mocksmtp.StageQuit:
				c.expectClosed()
			default:
				c.must("NOOP", 250) // the session goes on
			}
		})
		t.Run(sc.stage.String()+"/reply-disconnect", func(t *testing.T) {
			t.Parallel()
			srv := via.start(t, faultEveryStage, mocksmtp.WithFault(mocksmtp.At(sc.stage).Reply(421, status+" bye").Disconnect()))
			c := dialFault(t, srv)
			got, err := c.reach(sc.setup, sc.trigger)
			if err != nil || got.Code != 421 || got.Status != status {
				t.Fatalf("reply = %+v, %v; want 421 %s", got, err, status)
			}
			c.expectClosed()
		})
		t.Run(sc.stage.String()+"/delay", func(t *testing.T) {
			t.Parallel()
			const d = 20 * time.Millisecond
			srv := via.start(t, faultEveryStage, mocksmtp.WithFault(mocksmtp.At(sc.stage).Delay(d)))
			start := time.Now()
			c := dialFault(t, srv)
			got, err := c.reach(sc.setup, sc.trigger)
			if err != nil || got.Code != sc.ok || time.Since(start) < d {
				t.Fatalf("reply = %+v, %v after %v; want %d after at least %v", got, err, time.Since(start), sc.ok, d)
			}
			c.conn.Close()
			srv.Close()
			if f := srv.Sessions()[0].Faults; len(f) != 1 || !strings.HasSuffix(f[0], " attempt 1 → delay 20ms") {
				t.Errorf("faults %q", f)
			}
		})
		t.Run(sc.stage.String()+"/stall", func(t *testing.T) {
			t.Parallel()
			srv := via.start(t, faultEveryStage, mocksmtp.WithFault(mocksmtp.At(sc.stage).Stall()))
			c := dialFault(t, srv)
			c.prepare(sc.setup, sc.trigger)
			if sc.trigger != "" {
				c.send(sc.trigger)
			}
			if got, err := c.readAll(50 * time.Millisecond); got != "" || !faultIsTimeout(err) {
				t.Fatalf("read %q, %v; want nothing until the client's deadline", got, err)
			}
			faultCloseWithin(t, srv, 10*time.Second)
		})
		t.Run(sc.stage.String()+"/drop", func(t *testing.T) {
			t.Parallel()
			srv := via.start(t, faultEveryStage, mocksmtp.WithFault(mocksmtp.At(sc.stage).Drop()))
			c := dialFault(t, srv)
			got, err := c.reach(sc.setup, sc.trigger)
			if err == nil || !errors.Is(err, io.EOF) && !faultIsReset(err) {
				t.Fatalf("reply = %+v, %v; want the connection closed without a reply", got, err)
			}
			srv.Close()
			want := mocksmtp.EndServerClosed
			if sc.stage == mocksmtp.StageQuit {
				want = mocksmtp.EndQuit // the client did quit, though it got no 221
			}
			if s := srv.Sessions()[0]; s.Ended != want || len(s.Faults) != 1 {
				t.Errorf("session ended %v with faults %q; want %v, one fault", s.Ended, s.Faults, want)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("%d messages recorded, want none", n)
			}
		})
	}
}

func TestFaultActions(t *testing.T) { overTransports(t, testFaultActions) }

func testFaultActions(t *testing.T, via transport) {
	t.Parallel()
	rcpt := func(f mocksmtp.Fault) (*mocksmtp.Server, *faultConn) {
		srv := via.start(t, mocksmtp.WithFault(f))
		c := dialFault(t, srv)
		c.must("", 220)
		c.must("EHLO client.example", 250)
		c.must("MAIL FROM:<app@example.com>", 250)
		return srv, c
	}

	t.Run("multiline reply", func(t *testing.T) {
		t.Parallel()
		_, c := rcpt(mocksmtp.At(mocksmtp.StageRcpt).Reply(550, "5.7.1 refused\nsee https://example.com/why"))
		c.send("RCPT TO:<bob@example.com>")
		got, _ := c.readAll(time.Second / 2)
		want := "550-5.7.1 refused\r\n550 5.7.1 see https://example.com/why\r\n"
		if got != want {
			t.Errorf("reply = %q, want %q", got, want)
		}
	})
	t.Run("reply without status keeps the default's", func(t *testing.T) {
		t.Parallel()
		_, c := rcpt(mocksmtp.At(mocksmtp.StageRcpt).Reply(251, "forwarding"))
		got, err := c.cmd("RCPT TO:<bob@example.com>")
		if err != nil || got.Code != 251 || got.Status != "2.1.5" {
			t.Errorf("reply = %+v, %v; want 251 2.1.5", got, err)
		}
	})
	t.Run("ResetTCP", func(t *testing.T) {
		t.Parallel()
		_, c := rcpt(mocksmtp.At(mocksmtp.StageRcpt).ResetTCP())
		got, err := c.cmd("RCPT TO:<bob@example.com>")
		if !faultIsReset(err) {
			t.Errorf("read = %+v, %v; want ECONNRESET", got, err)
		}
	})
	t.Run("HalfClose", func(t *testing.T) {
		t.Parallel()
		srv, c := rcpt(mocksmtp.At(mocksmtp.StageRcpt).Reply(421, "4.3.2 going away").HalfClose())
		got, err := c.cmd("RCPT TO:<bob@example.com>")
		if err != nil || got.Code != 421 || got.Status != "4.3.2" {
			t.Fatalf("reply = %+v, %v; want 421 4.3.2", got, err)
		}
		c.expectClosed()
		// The server still reads: the client can write until it closes.
		if _, err := io.WriteString(c.conn, "NOOP\r\n"); err != nil {
			t.Errorf("write after the half-close: %v", err)
		}
		c.conn.Close()
		srv.WaitUntil(t, "the session to end", func() bool { return srv.Sessions()[0].Ended != mocksmtp.Live })
		if s := srv.Sessions()[0]; s.Ended != mocksmtp.EndServerClosed {
			t.Errorf("session ended: %v", s.Ended)
		}
	})
	t.Run("HalfClose, then the server closes", func(t *testing.T) {
		t.Parallel()
		srv, c := rcpt(mocksmtp.At(mocksmtp.StageRcpt).HalfClose())
		c.must("RCPT TO:<bob@example.com>", 250)
		c.expectClosed() // the server's writing side is shut; the client stays
		faultCloseWithin(t, srv, 10*time.Second)
		// Nothing can go out after the half-close: the transcript says
		// no 421 that the client never got.
		s := srv.Sessions()[0]
		if last := s.Transcript[len(s.Transcript)-1]; last.Dir != mocksmtp.FromServer || !strings.HasPrefix(last.Text, "250 ") {
			t.Errorf("last transcript line %v, want the 250 before the half-close", last)
		}
		if s.Ended != mocksmtp.EndShutdown {
			t.Errorf("session ended: %v, want shutdown", s.Ended)
		}
	})
	t.Run("Stall", func(t *testing.T) {
		t.Parallel()
		srv, c := rcpt(mocksmtp.At(mocksmtp.StageRcpt).Stall())
		c.send("RCPT TO:<bob@example.com>")
		got, err := c.readAll(50 * time.Millisecond)
		if got != "" || !faultIsTimeout(err) {
			t.Fatalf("read %q, %v; want nothing until the client's deadline", got, err)
		}
		faultCloseWithin(t, srv, 10*time.Second)
		if s := srv.Sessions()[0]; s.Ended != mocksmtp.EndShutdown {
			t.Errorf("session ended: %v, want shutdown", s.Ended)
		}
	})
	t.Run("Stall at QUIT", func(t *testing.T) {
		t.Parallel()
		srv, c := rcpt(mocksmtp.At(mocksmtp.StageQuit).Stall())
		c.send("QUIT")
		got, err := c.readAll(50 * time.Millisecond)
		if got != "" || !faultIsTimeout(err) {
			t.Fatalf("read %q, %v; want no 221", got, err)
		}
		faultCloseWithin(t, srv, 10*time.Second)
	})
	t.Run("RawReply garbage", func(t *testing.T) {
		t.Parallel()
		_, c := rcpt(mocksmtp.At(mocksmtp.StageRcpt).RawReply("\x00garbage\r\n"))
		c.send("RCPT TO:<bob@example.com>")
		line, err := c.r.ReadString('\n')
		if line != "\x00garbage\r\n" || err != nil {
			t.Errorf("read %q, %v", line, err)
		}
	})
	t.Run("RawReply without CRLF", func(t *testing.T) {
		t.Parallel()
		_, c := rcpt(mocksmtp.At(mocksmtp.StageRcpt).AtMost(1).RawReply("250 ok"))
		c.send("RCPT TO:<bob@example.com>")
		c.send("NOOP")
		line, err := c.r.ReadString('\n')
		if want := "250 ok250 2.0.0 Ok\r\n"; line != want || err != nil {
			t.Errorf("read %q, %v; want %q", line, err, want)
		}
	})
	t.Run("Trickle", func(t *testing.T) {
		t.Parallel()
		_, c := rcpt(mocksmtp.At(mocksmtp.StageRcpt).Trickle(4, 50*time.Millisecond))
		c.send("RCPT TO:<bob@example.com>")
		want := "250 2.1.5 Ok\r\n"
		got, reads := faultReadPieces(t, c.conn, len(want))
		if got != want || reads < 2 {
			t.Errorf("read %q in %d reads; want %q in several", got, reads, want)
		}
	})
	t.Run("SplitReply", func(t *testing.T) {
		t.Parallel()
		_, c := rcpt(mocksmtp.At(mocksmtp.StageRcpt).Reply(250, "2.1.5 first\nsecond").SplitReply(6, 100*time.Millisecond))
		c.send("RCPT TO:<bob@example.com>")
		head, _ := faultReadPieces(t, c.conn, 6) // the server pauses after 6 bytes
		tail, _ := faultReadPieces(t, c.conn, 35-len(head))
		if head != "250-2." || head+tail != "250-2.1.5 first\r\n250 2.1.5 second\r\n" {
			t.Errorf("read %q then %q", head, tail)
		}
	})
	t.Run("Delay", func(t *testing.T) {
		t.Parallel()
		const d = 30 * time.Millisecond
		_, c := rcpt(mocksmtp.At(mocksmtp.StageRcpt).Delay(d))
		start := time.Now()
		got, err := c.cmd("RCPT TO:<bob@example.com>")
		if err != nil || got.Code != 250 {
			t.Fatalf("reply = %+v, %v", got, err)
		}
		if took := time.Since(start); took < d {
			t.Errorf("reply after %v, want at least %v", took, d)
		}
	})
	t.Run("Delay then Reply and Disconnect", func(t *testing.T) {
		t.Parallel()
		const d = 30 * time.Millisecond
		_, c := rcpt(mocksmtp.At(mocksmtp.StageRcpt).Delay(d).Reply(421, "4.4.2 slow").Disconnect())
		start := time.Now()
		got, err := c.cmd("RCPT TO:<bob@example.com>")
		if err != nil || got.Code != 421 || got.Status != "4.4.2" || time.Since(start) < d {
			t.Fatalf("reply = %+v, %v after %v", got, err, time.Since(start))
		}
		c.expectClosed()
	})
}

// faultReadPieces reads until it has at least n bytes, and counts the reads.
// Each read takes whatever has arrived, so a reply written in pieces is
// read in pieces.
func faultReadPieces(t *testing.T, conn net.Conn, n int) (string, int) {
	t.Helper()
	var b []byte
	reads := 0
	buf := make([]byte, 256)
	for len(b) < n {
		k, err := conn.Read(buf)
		reads++
		b = append(b, buf[:k]...)
		if err != nil {
			t.Fatalf("after %q: %v", b, err)
		}
	}
	return string(b), reads
}

// faultCloseWithin closes srv and fails the test if that takes longer than d.
func faultCloseWithin(t *testing.T, srv *mocksmtp.Server, d time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		srv.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("Close still running after %v", d)
	}
}

func TestFaultStallBeforeGreeting(t *testing.T) { overTransports(t, testFaultStallBeforeGreeting) }

func testFaultStallBeforeGreeting(t *testing.T, via transport) {
	t.Parallel()
	srv := via.start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageConnect).Stall()))
	c := dialFault(t, srv)
	got, err := c.readAll(50 * time.Millisecond)
	if got != "" || !faultIsTimeout(err) {
		t.Fatalf("read %q, %v; want no greeting", got, err)
	}
	faultCloseWithin(t, srv, 10*time.Second)
}

func TestFaultDelayBeforeGreetingThenGreetingFault(t *testing.T) {
	overTransports(t, testFaultDelayBeforeGreetingThenGreetingFault)
}

func testFaultDelayBeforeGreetingThenGreetingFault(t *testing.T, via transport) {
	t.Parallel()
	const d = 30 * time.Millisecond
	srv := via.start(t, mocksmtp.WithFault(
		mocksmtp.At(mocksmtp.StageGreeting).Reply(554, "5.3.2 no service"),
		mocksmtp.At(mocksmtp.StageConnect).Delay(d),
	))
	start := time.Now() // the server starts waiting as it accepts
	c := dialFault(t, srv)
	got, err := c.read()
	if err != nil || got.Code != 554 || got.Status != "5.3.2" || time.Since(start) < d {
		t.Fatalf("greeting = %+v, %v after %v; want 554 5.3.2 after %v", got, err, time.Since(start), d)
	}
	srv.Close()
	if n := len(srv.Sessions()[0].Faults); n != 2 {
		t.Errorf("%d faults fired, want 2 (connect, then greeting)", n)
	}
}

func TestFaultIdleReply(t *testing.T) { overTransports(t, testFaultIdleReply) }

func testFaultIdleReply(t *testing.T, via transport) {
	t.Parallel()
	const after = 50 * time.Millisecond
	srv := via.start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageHelo).IdleReply(after, 421, "4.4.2 idle too long")))
	c := dialFault(t, srv)
	c.must("", 220)
	start := time.Now() // the idle time counts from the reply to EHLO
	c.must("EHLO client.example", 250)
	got, err := c.read() // the client sends nothing more
	if err != nil || got.Code != 421 || got.Status != "4.4.2" {
		t.Fatalf("unsolicited reply = %+v, %v; want 421 4.4.2", got, err)
	}
	if took := time.Since(start); took < after {
		t.Errorf("sent after %v idle, want at least %v", took, after)
	}
	c.expectClosed()
	c.conn.Close()
	srv.Close()
	s := srv.Sessions()[0]
	if s.Ended != mocksmtp.EndServerClosed {
		t.Errorf("session ended: %v", s.Ended)
	}
	if !strings.Contains(s.Transcript.String(), "*: fault fault_test.go:") || !strings.Contains(s.Transcript.String(), "S: 421 4.4.2 idle too long") {
		t.Errorf("transcript:\n%s", s.Transcript)
	}
}

func TestFaultIdleReplyNotSentToBusyClient(t *testing.T) {
	overTransports(t, testFaultIdleReplyNotSentToBusyClient)
}

func testFaultIdleReplyNotSentToBusyClient(t *testing.T, via transport) {
	t.Parallel()
	srv := via.start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageHelo).IdleReply(time.Hour, 421, "4.4.2 idle")))
	c := dialFault(t, srv)
	c.must("", 220)
	c.must("EHLO client.example", 250)
	c.must("NOOP", 250) // within the hour: the session goes on
	c.must("QUIT", 221)
}

func TestFaultDropAfterBytes(t *testing.T) { overTransports(t, testFaultDropAfterBytes) }

// DropAfterBytes(100) at N-1, N, N+1, 2N and 1 MiB + 1 octets sent after
// DATA (its ".\r\n" included) or BDAT: under 100, the message is
// recorded, byte for byte; from 100 on, the connection closes without a
// reply and nothing is recorded.
func testFaultDropAfterBytes(t *testing.T, via transport) {
	t.Parallel()
	const drop = 100
	// data returns message data of n octets (n%100 > 1), in lines of at
	// most 100, for DATA.
	data := func(n int) string {
		return strings.Repeat(strings.Repeat("x", 98)+"\r\n", n/100) + strings.Repeat("y", n%100-2) + "\r\n"
	}
	for _, tt := range []struct {
		name  string
		stage mocksmtp.Stage
		// send returns the command's wire with n octets after it, and
		// the message
		send func(n int) (wire, msg string)
	}{
		{"DATA", mocksmtp.StageData, func(n int) (string, string) {
			msg := data(n - 3)
			return msg + ".\r\n", msg
		}},
		{"BDAT", mocksmtp.StageBdat, func(n int) (string, string) {
			msg := strings.Repeat(strings.Repeat("z", 98)+"\r\n", n/100+1)[:n]
			return fmt.Sprintf("BDAT %d LAST\r\n%s", len(msg), msg), msg
		}},
	} {
		for _, n := range []int{drop - 1, drop, drop + 1, 2*drop + 5, 1<<20 + 5} {
			t.Run(fmt.Sprint(tt.name, "/", n), func(t *testing.T) {
				t.Parallel()
				srv := via.start(t, mocksmtp.WithFault(mocksmtp.At(tt.stage).DropAfterBytes(drop)))
				c := dialFault(t, srv)
				c.must("", 220)
				c.must("EHLO client.example", 250)
				c.must("MAIL FROM:<app@example.com>", 250)
				c.must("RCPT TO:<bob@example.com>", 250)
				if tt.stage == mocksmtp.StageData {
					c.must("DATA", 354)
				}
				wire, msg := tt.send(n)
				written := make(chan struct{})
				go func() {
					defer close(written)
					_, _ = io.WriteString(c.conn, wire)
				}()
				defer func() { c.conn.Close(); <-written }()
				if n < drop {
					c.must("", 250)
					c.must("QUIT", 221)
				} else if got, err := c.readAll(5 * time.Second); got != "" || err != nil && !faultIsReset(err) {
					t.Fatalf("read %q, %v; want the connection closed without a reply", got, err)
				}
				c.conn.Close()
				srv.Close()
				ms := srv.Messages()
				switch {
				case n < drop && (len(ms) != 1 || string(ms[0].Raw) != msg):
					t.Errorf("%d messages recorded; want the one sent, byte for byte", len(ms))
				case n >= drop && len(ms) != 0:
					t.Errorf("%d messages recorded, want none", len(ms))
				case n >= drop && srv.Sessions()[0].Ended != mocksmtp.EndServerClosed:
					t.Errorf("session ended: %v", srv.Sessions()[0].Ended)
				}
			})
		}
	}
}

// faultSendMail sends one message with net/smtp over a connection with a
// deadline, as a careful client does.
func faultSendMail(srv *mocksmtp.Server, from string, to []string) error {
	conn, err := srv.Dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		return err
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, "Subject: hello\r\n\r\nHello.\r\n"); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// faultCode returns the reply code in a net/smtp error, or 0.
func faultCode(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

func TestFaultRetryingSenderSucceedsOnSecondAttempt(t *testing.T) {
	overTransports(t, testFaultRetryingSenderSucceedsOnSecondAttempt)
}

func testFaultRetryingSenderSucceedsOnSecondAttempt(t *testing.T, via transport) {
	t.Parallel()
	f, where := mocksmtp.At(mocksmtp.StageRcpt).OnAttempt(1).Reply(421, "4.3.2 try later").Disconnect(), faultHere()
	srv := via.start(t, mocksmtp.WithFault(f))

	var errs []error
	for range 3 { // the sender under test: retry on 4xx
		err := faultSendMail(srv, "app@example.com", []string{"bob@example.com"})
		errs = append(errs, err)
		if err == nil || faultCode(err)/100 != 4 {
			break
		}
	}
	if len(errs) != 2 || faultCode(errs[0]) != 421 || errs[1] != nil {
		t.Fatalf("attempts: %v; want 421, then success", errs)
	}
	msgs := srv.WaitForMessages(t, 1)
	srv.Close()
	ss := srv.Sessions()
	note := where + ": RCPT attempt 1 → 421 4.3.2 try later, disconnect"
	if diff := cmp.Diff([]string{note}, ss[0].Faults); diff != "" {
		t.Errorf("session 1 faults (-want +got):\n%s", diff)
	}
	if ss[0].Ended != mocksmtp.EndServerClosed || ss[1].Ended != mocksmtp.EndQuit || len(ss[1].Faults) != 0 {
		t.Errorf("sessions ended %v (%d faults), %v (%d faults)", ss[0].Ended, len(ss[0].Faults), ss[1].Ended, len(ss[1].Faults))
	}
	if msgs[0].Session.Attempt != 2 {
		t.Errorf("message from attempt %d", msgs[0].Session.Attempt)
	}
	// The note sits just before the reply it explains.
	tr := ss[0].Transcript
	i := faultNoteIndex(tr, "fault "+note)
	if i < 0 || i+1 >= len(tr) || tr[i].Dir != mocksmtp.Note || tr[i+1].String() != "S: 421 4.3.2 try later" {
		t.Errorf("transcript:\n%s", tr.Numbered())
	}
}

func faultNoteIndex(tr mocksmtp.Transcript, text string) int {
	for i, l := range tr {
		if l.Text == text {
			return i
		}
	}
	return -1
}

func TestFaultSelectors(t *testing.T) {
	t.Parallel()
	// Each row: the faults, then RCPTs in sessions (one string per
	// session, recipients separated by spaces, sender first) and the
	// codes they get.
	for _, tt := range []struct {
		name     string
		faults   []mocksmtp.Fault
		sessions []string
		want     [][]int
	}{
		{"every match", []mocksmtp.Fault{mocksmtp.At(mocksmtp.StageRcpt).Reply(450, "4.2.1 busy")},
			[]string{"a@x b@x c@x", "a@x d@x"}, [][]int{{450, 450}, {450}}},
		{"on attempt 2 only", []mocksmtp.Fault{mocksmtp.At(mocksmtp.StageRcpt).OnAttempt(2).Reply(450, "4.2.1 busy")},
			[]string{"a@x b@x", "a@x b@x", "a@x b@x"}, [][]int{{250}, {450}, {250}}},
		{"on attempts 1 and 3", []mocksmtp.Fault{mocksmtp.At(mocksmtp.StageRcpt).OnAttempt(1, 3).Reply(450, "4.2.1 busy")},
			[]string{"a@x b@x", "a@x b@x", "a@x b@x"}, [][]int{{450}, {250}, {450}}},
		{"first 2 matches", []mocksmtp.Fault{mocksmtp.At(mocksmtp.StageRcpt).AtMost(2).Reply(450, "4.2.1 busy")},
			[]string{"a@x b@x c@x", "a@x d@x"}, [][]int{{450, 450}, {250}}},
		{"exact recipient, any case", []mocksmtp.Fault{mocksmtp.At(mocksmtp.StageRcpt).ForRcpt("bob@example.com").Reply(550, "5.1.1 no")},
			[]string{"a@x bob@example.com Bob@Example.COM carol@example.com"}, [][]int{{550, 550, 250}}},
		{"recipient pattern", []mocksmtp.Fault{mocksmtp.At(mocksmtp.StageRcpt).ForRcpt("*@blocked.example", "x?@y").Reply(550, "5.7.1 no")},
			[]string{"a@x bob@blocked.example bob@ok.example x1@y x12@y"}, [][]int{{550, 250, 550, 250}}},
		{"sender pattern", []mocksmtp.Fault{mocksmtp.At(mocksmtp.StageRcpt).ForSender("spam*@*").Reply(550, "5.7.1 no")},
			[]string{"spammer@x b@x", "ham@x b@x"}, [][]int{{550}, {250}}},
		// An address is no path: "*" and "?" match the "/" a local part may have.
		{"patterns across a slash", []mocksmtp.Fault{mocksmtp.At(mocksmtp.StageRcpt).ForRcpt("*@blocked.example", "x?y@y").Reply(550, "5.7.1 no")},
			[]string{"a@x orders/2026@blocked.example x/y@y x/@y"}, [][]int{{550, 550, 250}}},
		{"sender pattern across a slash", []mocksmtp.Fault{mocksmtp.At(mocksmtp.StageRcpt).ForSender("*@spam.example").Reply(550, "5.7.1 no")},
			[]string{"billing/eu@spam.example b@x"}, [][]int{{550}}},
		// A class keeps path.Match's meaning: a range holds the "/" between
		// its ends, and one from "/" holds nothing below it; no other
		// character stands for a "/".
		{"classes across a slash", []mocksmtp.Fault{mocksmtp.At(mocksmtp.StageRcpt).ForRcpt("a[!-~]b@x", "v[/-9]@y", "n\x00@y").Reply(550, "5.7.1 no")},
			[]string{"s@x a/b@x v/@y v5@y v+@y v-@y n/@y"}, [][]int{{550, 550, 550, 250, 250, 250}}},
		{"first matching fault decides", []mocksmtp.Fault{
			mocksmtp.At(mocksmtp.StageRcpt).ForRcpt("special@x").Reply(551, "5.1.6 moved"),
			mocksmtp.At(mocksmtp.StageRcpt).AtMost(1).Reply(451, "4.3.0 first"),
			mocksmtp.At(mocksmtp.StageRcpt).Reply(452, "4.2.2 then"),
		}, []string{"a@x special@x b@x c@x special@x"}, [][]int{{551, 451, 452, 551}}},
		{"probability 0 never fires", []mocksmtp.Fault{mocksmtp.At(mocksmtp.StageRcpt).WithProbability(0).Reply(450, "4.2.1 busy")},
			[]string{"a@x b@x c@x"}, [][]int{{250, 250}}},
		{"probability 1 always fires", []mocksmtp.Fault{mocksmtp.At(mocksmtp.StageRcpt).WithProbability(1).Reply(450, "4.2.1 busy")},
			[]string{"a@x b@x c@x"}, [][]int{{450, 450}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t, mocksmtp.WithFault(tt.faults...))
			var got [][]int
			for _, sess := range tt.sessions {
				got = append(got, faultRcptCodes(t, srv, strings.Fields(sess)))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("RCPT codes (-want +got):\n%s", diff)
			}
		})
	}
}

// faultRcptCodes opens a session, sends MAIL FROM from and RCPT TO each of
// the rest, and returns the RCPT reply codes.
func faultRcptCodes(t *testing.T, srv *mocksmtp.Server, addrs []string) []int {
	t.Helper()
	c := dialFault(t, srv)
	defer c.conn.Close()
	c.must("", 220)
	c.must("EHLO client.example", 250)
	c.must("MAIL FROM:<"+addrs[0]+">", 250)
	var codes []int
	for _, a := range addrs[1:] {
		r, err := c.cmd("RCPT TO:<" + a + ">")
		if err != nil {
			t.Fatalf("RCPT %s: %v", a, err)
		}
		codes = append(codes, r.Code)
	}
	c.must("QUIT", 221)
	return codes
}

func TestFaultProbabilityIsReproducible(t *testing.T) {
	t.Parallel()
	run := func(opts ...mocksmtp.Option) (string, *mocksmtp.Server) {
		srv := mocksmtp.Start(t, append(opts, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageNoop).WithProbability(0.5).Reply(450, "4.2.1 unlucky")))...)
		var b strings.Builder
		for range 4 {
			c := dialFault(t, srv)
			c.must("", 220)
			for range 8 {
				r, err := c.cmd("NOOP")
				if err != nil {
					t.Fatal(err)
				}
				b.WriteString(strconv.Itoa(r.Code / 100))
			}
			c.must("QUIT", 221)
			b.WriteString(" ")
		}
		return b.String(), srv
	}
	a, srvA := run(mocksmtp.WithSeed(42))
	b, _ := run(mocksmtp.WithSeed(42))
	if a != b {
		t.Errorf("seed 42 gave %q, then %q", a, b)
	}
	if !strings.Contains(a, "2") || !strings.Contains(a, "4") {
		t.Errorf("probability 0.5 gave %q", a)
	}
	if srvA.Seed() != 42 {
		t.Errorf("Seed() = %d", srvA.Seed())
	}

	// Without a seed, each session notes the random one, and replaying
	// it gives the same run.
	c, srvC := run()
	seed := srvC.Seed()
	note := fmt.Sprintf("faults: random seed %d (mocksmtp.WithSeed(%d) replays this run)", seed, seed)
	if tr := srvC.Sessions()[0].Transcript; faultNoteIndex(tr, note) < 0 {
		t.Errorf("transcript has no seed note %q:\n%s", note, tr)
	}
	if d, _ := run(mocksmtp.WithSeed(seed)); c != d {
		t.Errorf("seed %d gave %q, then %q", seed, c, d)
	}
}

func TestFaultMessageRecording(t *testing.T) { overTransports(t, testFaultMessageRecording) }

func testFaultMessageRecording(t *testing.T, via transport) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		fault    mocksmtp.Fault
		wantCode int
		recorded bool
	}{
		{"4xx refuses", mocksmtp.At(mocksmtp.StageMessage).Reply(451, "4.3.0 try again"), 451, false},
		{"5xx refuses", mocksmtp.At(mocksmtp.StageMessage).Reply(554, "5.6.0 rejected"), 554, false},
		{"2xx accepts", mocksmtp.At(mocksmtp.StageMessage).Reply(250, "2.0.0 queued as X1"), 250, true},
		{"raw 2xx accepts", mocksmtp.At(mocksmtp.StageMessage).RawReply("250 fine\r\n"), 250, true},
		{"raw 5xx refuses", mocksmtp.At(mocksmtp.StageMessage).RawReply("550 no\r\n"), 550, false},
		{"drop refuses", mocksmtp.At(mocksmtp.StageMessage).Drop(), 0, false},
		{"stall refuses", mocksmtp.At(mocksmtp.StageMessage).Stall(), 0, false},
		{"reset without reply refuses", mocksmtp.At(mocksmtp.StageMessage).ResetTCP(), 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := via.start(t, mocksmtp.WithFault(tt.fault))
			c := dialFault(t, srv)
			c.must("", 220)
			c.must("EHLO client.example", 250)
			c.must("MAIL FROM:<app@example.com>", 250)
			c.must("RCPT TO:<bob@example.com>", 250)
			c.must("DATA", 354)
			if tt.wantCode == 0 {
				_ = c.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond)) // for the stall
			}
			r, err := c.cmd("Subject: hi\r\n\r\nhello\r\n.")
			if r.Code != tt.wantCode || tt.wantCode != 0 && err != nil {
				t.Errorf("reply = %+v, %v; want %d", r, err, tt.wantCode)
			}
			c.conn.Close()
			srv.Close()
			if got := len(srv.Messages()) == 1; got != tt.recorded {
				t.Errorf("recorded = %v, want %v", got, tt.recorded)
			}
			refused := strings.Contains(srv.Sessions()[0].Transcript.String(), "*: message refused, not recorded")
			if refused == tt.recorded {
				t.Errorf("refusal note = %v:\n%s", refused, srv.Sessions()[0].Transcript)
			}
		})
	}
}

func TestFaultSlowAcceptRecordsBeforeReplying(t *testing.T) {
	overTransports(t, testFaultSlowAcceptRecordsBeforeReplying)
}

func testFaultSlowAcceptRecordsBeforeReplying(t *testing.T, via transport) {
	t.Parallel()
	srv := via.start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageMessage).Delay(time.Hour)))
	done := make(chan error, 1)
	go func() { done <- faultSendMail(srv, "app@example.com", []string{"bob@example.com"}) }()
	// The message is recorded as soon as its data is in, while the
	// client still waits for the reply.
	msgs := srv.WaitForMessages(t, 1)
	if msgs[0].Subject != "hello" {
		t.Errorf("subject %q", msgs[0].Subject)
	}
	select {
	case err := <-done:
		t.Fatalf("the client got its reply during the delay: %v", err)
	default:
	}
	// Close ends the hour-long delay at once.
	faultCloseWithin(t, srv, 10*time.Second)
	if err := <-done; faultCode(err) != 421 {
		t.Errorf("client: %v; want 421 at shutdown", err)
	}
	if s := srv.Sessions()[0]; s.Ended != mocksmtp.EndShutdown {
		t.Errorf("session ended: %v", s.Ended)
	}
}

func TestFaultSlowAccept(t *testing.T) { overTransports(t, testFaultSlowAccept) }

func testFaultSlowAccept(t *testing.T, via transport) {
	t.Parallel()
	const d = 30 * time.Millisecond
	srv := via.start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageMessage).Delay(d)))
	start := time.Now()
	if err := faultSendMail(srv, "app@example.com", []string{"bob@example.com"}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < d {
		t.Errorf("sent in %v, want at least %v", took, d)
	}
	srv.WaitForMessages(t, 1)
}

func TestFaultCloseDuringDelayBeforeGreeting(t *testing.T) {
	overTransports(t, testFaultCloseDuringDelayBeforeGreeting)
}

func testFaultCloseDuringDelayBeforeGreeting(t *testing.T, via transport) {
	t.Parallel()
	srv := via.start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageConnect).Delay(time.Hour)))
	c := dialFault(t, srv)
	srv.WaitUntil(t, "the fault to fire", func() bool {
		ss := srv.Sessions()
		return len(ss) == 1 && len(ss[0].Faults) == 1
	})
	faultCloseWithin(t, srv, 10*time.Second)
	r, err := c.read()
	if err != nil || r.Code != 421 || r.Status != "4.3.2" {
		t.Errorf("reply = %+v, %v; want 421 4.3.2 at shutdown", r, err)
	}
}

func TestGreylist(t *testing.T) { overTransports(t, testGreylist) }

func testGreylist(t *testing.T, via transport) {
	t.Parallel()
	srv := via.start(t, mocksmtp.WithFault(mocksmtp.Greylist()))

	err := faultSendMail(srv, "app@example.com", []string{"bob@example.com"})
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code != 451 || !strings.HasPrefix(te.Msg, "4.7.1 ") {
		t.Fatalf("first attempt: %v; want 451 4.7.1", err)
	}
	if err := faultSendMail(srv, "app@example.com", []string{"bob@example.com"}); err != nil {
		t.Fatalf("retry: %v", err)
	}
	// Each pair is greylisted once; retries on the same connection are
	// refused again.
	if got, want := faultRcptCodes(t, srv, []string{"app@example.com", "carol@example.com", "carol@example.com", "bob@example.com"}), []int{451, 451, 250}; !cmp.Equal(got, want) {
		t.Errorf("codes %v, want %v", got, want)
	}
	if got, want := faultRcptCodes(t, srv, []string{"app@example.com", "carol@example.com", "dave@example.com"}), []int{250, 451}; !cmp.Equal(got, want) {
		t.Errorf("codes %v, want %v", got, want)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
	if f := srv.Sessions()[0].Faults; len(f) != 1 || !strings.HasSuffix(f[0], "(greylist)") {
		t.Errorf("faults %q", f)
	}
}

func TestScenarios(t *testing.T) { overTransports(t, testScenarios) }

func testScenarios(t *testing.T, via transport) {
	t.Parallel()
	t.Run("MailboxFull", func(t *testing.T) {
		t.Parallel()
		srv := via.start(t, mocksmtp.WithFault(mocksmtp.MailboxFull("full@example.com")))
		c := dialFault(t, srv)
		r, err := c.reach([]string{"EHLO c", "MAIL FROM:<a@example.com>"}, "RCPT TO:<full@example.com>")
		if err != nil || r.Code != 552 || r.Status != "5.2.2" {
			t.Errorf("full: %+v, %v", r, err)
		}
		c.must("RCPT TO:<bob@example.com>", 250)
	})
	t.Run("UnknownUser", func(t *testing.T) {
		t.Parallel()
		srv := via.start(t, mocksmtp.WithFault(mocksmtp.UnknownUser("nobody@example.com", "*@gone.example")))
		got := faultRcptCodes(t, srv, []string{"a@x", "nobody@example.com", "x@gone.example", "bob@example.com"})
		if want := []int{550, 550, 250}; !cmp.Equal(got, want) {
			t.Errorf("codes %v, want %v", got, want)
		}
		c := dialFault(t, srv)
		if r, err := c.reach([]string{"EHLO c", "MAIL FROM:<a@example.com>"}, "RCPT TO:<nobody@example.com>"); r.Status != "5.1.1" {
			t.Errorf("reply %+v, %v; want 5.1.1", r, err)
		}
	})
	t.Run("ShuttingDown", func(t *testing.T) {
		t.Parallel()
		srv := via.start(t, mocksmtp.WithFault(mocksmtp.ShuttingDown()))
		c := dialFault(t, srv)
		r, err := c.read()
		if err != nil || r.Code != 421 || r.Status != "4.3.2" {
			t.Errorf("greeting %+v, %v; want 421 4.3.2", r, err)
		}
		c.expectClosed()
	})
	t.Run("TooManyRecipients", func(t *testing.T) {
		t.Parallel()
		srv := via.start(t, mocksmtp.WithFault(mocksmtp.TooManyRecipients(2)))
		c := dialFault(t, srv)
		c.must("", 220)
		c.must("EHLO c", 250)
		c.must("MAIL FROM:<a@x>", 250)
		c.must("RCPT TO:<b@x>", 250)
		c.must("RCPT TO:<c@x>", 250)
		if r, err := c.cmd("RCPT TO:<d@x>"); r.Code != 452 || r.Status != "4.5.3" {
			t.Errorf("third RCPT: %+v, %v; want 452 4.5.3", r, err)
		}
		c.must("RSET", 250) // a new transaction starts from 0
		c.must("MAIL FROM:<a@x>", 250)
		c.must("RCPT TO:<d@x>", 250)
		c.must("RCPT TO:<e@x>", 250)
	})
	t.Run("RateLimit per connection", func(t *testing.T) {
		t.Parallel()
		srv := via.start(t, mocksmtp.WithFault(mocksmtp.RateLimit(1)))
		c := dialFault(t, srv)
		c.must("", 220)
		c.must("EHLO c", 250)
		c.must("MAIL FROM:<a@x>", 250)
		c.must("RCPT TO:<b@x>", 250)
		c.must("DATA", 354)
		c.must("Subject: 1\r\n\r\nx\r\n.", 250)
		if r, err := c.cmd("MAIL FROM:<a@x>"); r.Code != 421 || r.Status != "4.7.0" {
			t.Errorf("second MAIL: %+v, %v; want 421 4.7.0", r, err)
		}
		c.expectClosed()
		// A new connection may send again.
		if err := faultSendMail(srv, "a@x", []string{"b@x"}); err != nil {
			t.Errorf("next connection: %v", err)
		}
	})
	t.Run("RateLimitPer", func(t *testing.T) {
		t.Parallel()
		srv := via.start(t, mocksmtp.WithFault(mocksmtp.RateLimitPer(2, time.Hour)))
		var codes []int
		for range 3 {
			c := dialFault(t, srv)
			r, err := c.reach([]string{"EHLO c"}, "MAIL FROM:<a@x>")
			if err != nil {
				t.Fatal(err)
			}
			codes = append(codes, r.Code)
			if r.Code == 451 && r.Status != "4.7.1" {
				t.Errorf("status %q", r.Status)
			}
		}
		if want := []int{250, 250, 451}; !cmp.Equal(codes, want) {
			t.Errorf("codes %v, want %v", codes, want)
		}
	})
	t.Run("scenario with selectors", func(t *testing.T) {
		t.Parallel()
		srv := via.start(t, mocksmtp.WithFault(mocksmtp.Greylist().ForRcpt("*@strict.example")))
		got := faultRcptCodes(t, srv, []string{"a@x", "b@strict.example", "b@lax.example"})
		if want := []int{451, 250}; !cmp.Equal(got, want) {
			t.Errorf("codes %v, want %v", got, want)
		}
	})
}

func TestFaultAddAndClearAtRunTime(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	c := dialFault(t, srv)
	c.must("", 220)
	c.must("NOOP", 250)
	if err := srv.AddFault(mocksmtp.At(mocksmtp.StageNoop).Reply(451, "4.3.0 now failing")); err != nil {
		t.Fatal(err)
	}
	c.must("NOOP", 451) // applies from the next event of a live session
	srv.ClearFaults()
	c.must("NOOP", 250)

	// Faults added while sessions run: safe for concurrent use.
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := srv.AddFault(mocksmtp.At(mocksmtp.StageRcpt).ForRcpt(fmt.Sprintf("r%d@x", i)).Reply(550, "5.1.1 no")); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			_ = faultSendMail(srv, "a@x", []string{"b@x"})
		}()
	}
	wg.Wait()
	if got := faultRcptCodes(t, srv, []string{"a@x", "r0@x", "r3@x", "b@x"}); !cmp.Equal(got, []int{550, 550, 250}) {
		t.Errorf("codes %v", got)
	}
}

// ReplaceFaults swaps the script in one step: a live session, asking
// while the script is swapped, always meets one of the two faults, never
// none. For each NOOP the swapper makes a burst of swaps, in lockstep with
// the client: a swapper spinning without end would starve the network
// goroutines of a single CPU (the scheduler polls the network only when it
// has nothing else to run), and the test with them.
func TestFaultReplaceIsAtomic(t *testing.T) {
	t.Parallel()
	a := mocksmtp.At(mocksmtp.StageNoop).Reply(451, "4.3.0 a")
	b := mocksmtp.At(mocksmtp.StageNoop).Reply(452, "4.3.1 b")
	// 200 NOOPs: more junk commands than the engine allows by default.
	srv := mocksmtp.Start(t, mocksmtp.WithFault(a), mocksmtp.WithEngineConfig(smtpd.Config{MaxJunkCommands: 1000}))
	c := dialFault(t, srv)
	c.must("", 220)
	bursts, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		i := 0
		for range bursts {
			for range 20 {
				if err := srv.ReplaceFaults([]mocksmtp.Fault{a, b}[i%2]); err != nil {
					t.Error(err)
					return
				}
				i++
			}
		}
	}()
	defer func() { close(bursts); <-done }()
	for range 200 {
		bursts <- struct{}{} // the swapper starts a burst as the NOOP goes out
		c.send("NOOP")
		r, err := c.read()
		if err != nil || r.Code != 451 && r.Code != 452 {
			t.Fatalf("NOOP during ReplaceFaults: %+v, %v; want 451 or 452", r, err)
		}
	}
}

func TestFaultInvalid(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		fault mocksmtp.Fault
	}{
		{"no action", mocksmtp.At(mocksmtp.StageRcpt).OnAttempt(1)},
		{"unknown stage", mocksmtp.At(mocksmtp.Stage(99)).Drop()},
		{"bad code", mocksmtp.At(mocksmtp.StageRcpt).Reply(99, "x")},
		{"drop with a reply", mocksmtp.At(mocksmtp.StageRcpt).Reply(421, "x").Drop()},
		{"two endings", mocksmtp.At(mocksmtp.StageRcpt).Disconnect().ResetTCP()},
		{"two paces", mocksmtp.At(mocksmtp.StageRcpt).Trickle(1, 0).SplitReply(2, 0)},
		{"reply and raw", mocksmtp.At(mocksmtp.StageRcpt).Reply(250, "ok").RawReply("x")},
		{"DropAfterBytes at RCPT", mocksmtp.At(mocksmtp.StageRcpt).DropAfterBytes(10)},
		{"idle and stall", mocksmtp.At(mocksmtp.StageHelo).IdleReply(time.Second, 421, "4.4.2 idle").Stall()},
		{"probability 2", mocksmtp.At(mocksmtp.StageRcpt).WithProbability(2).Drop()},
		{"bad pattern", mocksmtp.At(mocksmtp.StageRcpt).ForRcpt("[").Drop()},
		{"empty recipient pattern", mocksmtp.At(mocksmtp.StageRcpt).ForRcpt("").Drop()},
		{"empty recipient pattern among others", mocksmtp.At(mocksmtp.StageData).ForRcpt("bob@example.com", "").Drop()},
		{"AtMost(0)", mocksmtp.At(mocksmtp.StageRcpt).AtMost(0).Drop()},
		{"attempt 0", mocksmtp.At(mocksmtp.StageRcpt).OnAttempt(0).Drop()},
		{"negative delay", mocksmtp.At(mocksmtp.StageRcpt).Delay(-time.Second)},
		{"rate limit 0", mocksmtp.RateLimit(0)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.fault.Err() == nil {
				t.Error("Err() = nil")
			}
			srv, err := mocksmtp.New(mocksmtp.WithFault(tt.fault))
			if err == nil {
				srv.Close()
				t.Fatal("New accepted the fault")
			}
			if !strings.Contains(err.Error(), "mocksmtp: fault at fault_test.go:") {
				t.Errorf("error %q does not say where the fault was declared", err)
			}
			srv, err = mocksmtp.New()
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			if err := srv.AddFault(tt.fault); err == nil || !strings.Contains(err.Error(), "mocksmtp: fault at fault_test.go:") {
				t.Errorf("AddFault = %v, want an error saying where the fault was declared", err)
			}
			if err := srv.ReplaceFaults(tt.fault); err == nil {
				t.Error("ReplaceFaults accepted the fault")
			}
		})
	}
}

func TestFaultString(t *testing.T) {
	t.Parallel()
	f, where := mocksmtp.At(mocksmtp.StageRcpt).OnAttempt(1).ForRcpt("*@x").AtMost(2).WithProbability(0.5).Reply(421, "4.3.2 try later").Disconnect(), faultHere()
	want := "RCPT on attempt 1 for rcpt *@x at most 2 times with probability 0.5 → 421 4.3.2 try later, disconnect (" + where + ")"
	if got := f.String(); got != want {
		t.Errorf("String() = %q\nwant        %q", got, want)
	}
	for stage, want := range map[mocksmtp.Stage]string{mocksmtp.StageConnect: "connect", mocksmtp.StageMessage: "end of message", mocksmtp.StageStartTLS: "STARTTLS", mocksmtp.Stage(0): "Stage(0)"} {
		if got := stage.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", stage, got, want)
		}
	}
}

func TestFaultNotesDescribeActions(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		fault mocksmtp.Fault
		want  string
	}{
		{mocksmtp.At(mocksmtp.StageNoop).Delay(time.Millisecond), "NOOP attempt 1 → delay 1ms"},
		{mocksmtp.At(mocksmtp.StageNoop).Trickle(100, time.Millisecond), "NOOP attempt 1 → trickle 100 bytes every 1ms"},
		{mocksmtp.At(mocksmtp.StageNoop).Reply(250, "2.0.0 a\nb").SplitReply(3, 0), "NOOP attempt 1 → 250 2.0.0 a / b, split after 3 bytes, pause 0s"},
		{mocksmtp.At(mocksmtp.StageNoop).RawReply("250 raw\r\n"), `NOOP attempt 1 → raw reply "250 raw\r\n"`},
		{mocksmtp.At(mocksmtp.StageNoop).IdleReply(time.Hour, 421, "4.4.2 idle"), "NOOP attempt 1 → after 1h0m0s idle: 421 4.4.2 idle, disconnect"},
	} {
		srv := mocksmtp.Start(t, mocksmtp.WithFault(tt.fault))
		c := dialFault(t, srv)
		c.must("", 220)
		c.must("NOOP", 250)
		c.must("QUIT", 221)
		srv.Close()
		f := srv.Sessions()[0].Faults
		if len(f) != 1 || !strings.HasSuffix(f[0], ": "+tt.want) {
			t.Errorf("faults %q, want one ending in %q", f, tt.want)
		}
	}
}

func TestFaultDeclaredAt(t *testing.T) {
	t.Parallel()
	bad := mocksmtp.At(mocksmtp.StageRcpt).Reply(42, "x").DeclaredAt("faults.json:3")
	if err := bad.Err(); err == nil || !strings.HasPrefix(err.Error(), "mocksmtp: fault at faults.json:3: ") {
		t.Errorf("Err() = %v", err)
	}
	good := mocksmtp.At(mocksmtp.StageNoop).Reply(250, "2.0.0 scripted").DeclaredAt("faults.json:7")
	if err := good.Err(); err != nil {
		t.Fatal(err)
	}
	srv := mocksmtp.Start(t, mocksmtp.WithFault(good))
	c := dialFault(t, srv)
	c.must("", 220)
	c.must("NOOP", 250)
	c.must("QUIT", 221)
	srv.Close()
	if diff := cmp.Diff([]string{"faults.json:7: NOOP attempt 1 → 250 2.0.0 scripted"}, srv.Sessions()[0].Faults); diff != "" {
		t.Errorf("faults (-want +got):\n%s", diff)
	}
}

// A session records at most 1,000 of the faults that fired, the last
// saying so, as it does findings: a fault firing on every command of an
// endless session must not grow the record without bound. The transcript
// notes every one.
func TestFaultsOfASessionCapped(t *testing.T) {
	t.Parallel()
	for _, n := range []int{999, 1000, 1001, 2000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t,
				mocksmtp.WithEngineConfig(smtpd.Config{MaxJunkCommands: 1 << 20}),
				mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageNoop).Reply(250, "2.0.0 noted")))
			c := dialEHLO(t, srv.Addr())
			c.send(strings.Repeat("NOOP\r\n", n))
			for range n {
				c.expect("250 2.0.0 noted")
			}
			c.send("QUIT\r\n")
			c.expect("221 ")
			c.closed()
			c.conn.Close()
			srv.WaitForSessions(t, 1)
			s := srv.Session(1)
			if got, want := len(s.Faults), min(n, 1000); got != want {
				t.Fatalf("%d faults recorded, want %d", got, want)
			}
			for i, f := range s.Faults {
				capped := strings.Contains(f, "the later ones are not recorded")
				if !strings.Contains(f, "NOOP attempt 1 → 250 2.0.0 noted") || capped != (i == 999) {
					t.Errorf("fault %d: %q", i+1, f)
				}
			}
			notes := 0
			for _, l := range s.Transcript {
				if l.Dir == mocksmtp.Note && strings.Contains(l.Text, "NOOP attempt 1 →") {
					notes++
				}
			}
			if notes != n {
				t.Errorf("the transcript notes %d faults, want %d", notes, n)
			}
		})
	}
}

// In an endless session under WithRetention, the caps on faults and
// findings count what the session keeps: what retention forgot makes
// room, so the faults and findings of the messages kept are all there,
// however many fired before (here more than either cap: two faults and
// one finding a message).
func TestFaultsAndFindingsCappedUnderRetention(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithRetention(3),
		mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageRcpt).Reply(250, "2.1.5 noted")))
	c := dialRaw(t, srv.Addr())
	c.expect("220 ")
	const n = 520
	for range n {
		_ = c.conn.SetDeadline(time.Now().Add(10 * time.Second)) // for each message, not the whole session
		// EHLO with commands pipelined after it: a finding (pipelining).
		c.send("EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n")
		for _, want := range []string{"250 ", "250 ", "250 2.1.5 noted", "250 2.1.5 noted", "354 "} {
			c.expect(want)
		}
		c.send("From: a@example.com\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <m@example.com>\r\nSubject: x\r\n\r\nhi\r\n.\r\n")
		c.expect("250 ")
	}
	ms := srv.Messages()
	if len(ms) != 3 || ms[2].ID != n {
		t.Fatalf("kept %d messages, the last %v; want the last 3", len(ms), ms[len(ms)-1].ID)
	}
	s := srv.Session(1)
	if len(s.Faults) != 6 {
		t.Errorf("the session keeps %d faults, want 6 (those of the messages kept): %q", len(s.Faults), s.Faults)
	}
	pipelining := 0
	for _, f := range s.Findings {
		if f.Rule == mocksmtp.RulePipelining {
			pipelining++
		}
	}
	if pipelining != 3 {
		t.Errorf("the session keeps %d pipelining findings, want 3 (those of the messages kept): %v", pipelining, s.Findings)
	}
	c.send("QUIT\r\n")
	c.expect("221 ")
}

// A BDAT chunk past the size limit is refused by the engine (552 5.3.4)
// before its chunk is read, as MAIL's SIZE past it is: no fault is
// consulted for it, and a fault with AtMost is left for the next BDAT.
// Before, the fault script was consulted for it as for a chunk accepted,
// its note said the fault's reply went out while the client got the
// engine's 552 (or the fault's reply won over the size verdict), and
// AtMost was used up on a BDAT the fault never answered.
func TestFaultNotConsultedForBdatOverLimit(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		chunks []int // the BDAT sizes of the first transaction, the last with LAST
		closed bool  // the last is too big to be read: the server closes
	}{
		{"a chunk over the limit", []int{101}, true},
		{"a chunk past the limit with the one before", []int{60, 41}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t, mocksmtp.WithMaxMessageBytes(100))
			fault := mocksmtp.At(mocksmtp.StageBdat).AtMost(1).Reply(451, "4.3.0 try the chunk again")
			c := dialFault(t, srv)
			c.must("", 220)
			c.must("EHLO client.example", 250)
			c.must("MAIL FROM:<app@example.com>", 250)
			c.must("RCPT TO:<bob@example.com>", 250)
			for i, n := range tt.chunks {
				last := i == len(tt.chunks)-1
				if last {
					// Armed for the chunk that goes past the limit.
					if err := srv.AddFault(fault); err != nil {
						t.Fatal(err)
					}
					c.send(fmt.Sprintf("BDAT %d LAST\r\n%s", n, strings.Repeat("x", n-2)))
					r, err := c.read()
					if err != nil || r.Code != 552 || r.Status != "5.3.4" {
						t.Fatalf("BDAT %d past the limit: %+v, %v; want 552 5.3.4", n, r, err)
					}
					break
				}
				c.must(fmt.Sprintf("BDAT %d\r\n%s", n, strings.Repeat("x", n-2)), 250)
			}
			if tt.closed {
				c.expectClosed()
				c = dialFault(t, srv)
				c.must("", 220)
				c.must("EHLO client.example", 250)
			}
			if got := srv.Sessions()[0].Faults; len(got) != 0 {
				t.Errorf("faults fired at the BDAT the engine refused: %q", got)
			}
			// The fault is left for the next BDAT, of the next transaction.
			c.must("MAIL FROM:<app@example.com>", 250)
			c.must("RCPT TO:<bob@example.com>", 250)
			c.must("BDAT 7 LAST\r\nhello", 451)
		})
	}
}

// A client that closes the connection after the server's 421 owes no
// QUIT: 421 says that the server closes the channel (RFC 5321 3.8), and
// the duty to wait for QUIT (4.1.1.10) is the server's, which gave it up.
// A server that says 421 and then hangs (Reply(421).Stall()) or goes on
// (RawReply) leaves the close to the client, which does right to close:
// the session ends "client closed" without a quit finding, which
// WithStrict would fail the test on. A client that closes after any
// other reply is still told.
func TestFaultClientClosingAfterA421OwesNoQuit(t *testing.T) {
	t.Parallel()
	rcpt := mocksmtp.At(mocksmtp.StageRcpt)
	for _, tt := range []struct {
		name  string
		fault mocksmtp.Fault
		reply string // the reply line the client reads before it closes (ending in a space: its first part)
		quit  bool   // a quit finding is due
	}{
		{"Reply 421, Stall", rcpt.Reply(421, "4.3.2 shutting down").Stall(), "421 4.3.2 shutting down", false},
		{"RawReply 421", rcpt.RawReply("421 4.3.2 shutting down\r\n"), "421 4.3.2 shutting down", false},
		{"Reply 421 over two lines, Stall", rcpt.Reply(421, "4.3.2 shutting down\nbye").Stall(), "421-4.3.2 shutting down", false},
		{"Reply 451, Stall", rcpt.Reply(451, "4.3.0 try later").Stall(), "451 4.3.0 try later", true},
		{"Reply 421, Trickle, the client leaving in the middle", rcpt.Reply(421, "4.3.2 shutting down").Trickle(4, time.Hour), "421 ", true},
		{"no fault", mocksmtp.At(mocksmtp.StageQuit).Drop(), "250 2.1.5 Ok", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t, mocksmtp.WithFault(tt.fault))
			c := dialFault(t, srv)
			c.must("", 220)
			c.must("EHLO client.example", 250)
			c.must("MAIL FROM:<app@example.com>", 250)
			c.send("RCPT TO:<bob@example.com>")
			if strings.HasSuffix(tt.reply, " ") { // the first part of a paced reply
				got := make([]byte, len(tt.reply))
				if _, err := io.ReadFull(c.r, got); err != nil || string(got) != tt.reply {
					t.Fatalf("reply begins %q, %v; want %q", got, err, tt.reply)
				}
			} else if got, err := c.r.ReadString('\n'); err != nil || got != tt.reply+"\r\n" {
				t.Fatalf("reply %q, %v; want %q", got, err, tt.reply)
			}
			c.conn.Close()
			s := srv.WaitForSessionEnd(t, 1)
			quit := slices.ContainsFunc(s.Findings, func(f mocksmtp.Finding) bool { return f.Rule == mocksmtp.RuleQuit })
			if s.Ended != mocksmtp.EndClientClosed || quit != tt.quit {
				t.Errorf("session ended %v, findings %v; want %v, a quit finding: %v", s.Ended, s.Findings, mocksmtp.EndClientClosed, tt.quit)
			}
		})
	}
}
