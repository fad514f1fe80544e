package smtpd_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/mocksmtp/mocksmtp/smtpd"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// client is a raw-socket SMTP client for tests.
type client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { conn.Close() })
	return &client{t, conn, bufio.NewReader(conn)}
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("send %q: %v", s, err)
	}
}

// reply reads one whole reply and returns its lines without CRLF.
func (c *client) reply() ([]string, error) {
	var lines []string
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			return lines, err
		}
		l = strings.TrimSuffix(l, "\r\n")
		lines = append(lines, l)
		if len(l) < 4 || l[3] != '-' {
			return lines, nil
		}
	}
}

func (c *client) expect(want ...string) {
	c.t.Helper()
	got, err := c.reply()
	if err != nil {
		c.t.Fatalf("reading reply: %v (got %q)", err, got)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		c.t.Fatalf("reply (-want +got):\n%s", diff)
	}
}

// drive serves one TCP connection with the engine, calling answer for each
// event, and returns the dialled client and a wait for the driver's end.
func drive(t *testing.T, cfg smtpd.Config, answer func(*smtpd.Conn, *smtpd.Event)) (*client, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	addr, wait := serveOne(t, func(nc net.Conn) error {
		c := smtpd.NewConn(nc, cfg)
		defer c.Close(nil)
		for {
			ev, err := c.Next(ctx)
			if err != nil {
				return err
			}
			answer(c, ev)
		}
	})
	return dial(t, addr), wait
}

func TestAnswers(t *testing.T) {
	t.Parallel()
	c, wait := drive(t, smtpd.Config{}, func(c *smtpd.Conn, ev *smtpd.Event) {
		switch {
		case ev.Kind == smtpd.Greeting:
			c.Reply(smtpd.NewReply(220, "mx.test ready\nsecond line"))
		case ev.Kind == smtpd.Rcpt && ev.Path == "nobody@example.com":
			c.Reply(smtpd.NewReply(550, "5.1.1 no such user"))
		case ev.Kind == smtpd.Rcpt && ev.Path == "full@example.com":
			c.Reply(smtpd.Reply{Code: 452, Lines: []string{"mailbox full"}})
		case ev.Kind == smtpd.Noop:
			c.Answer(smtpd.Answer{Raw: []byte("250 no CRLF")})
		case ev.Kind == smtpd.Quit:
			c.Answer(smtpd.Answer{Reply: &smtpd.Reply{Code: 221, Lines: []string{"see you"}}, Pace: smtpd.Pace{Chunk: 3}})
		}
	})
	c.expect("220-mx.test ready", "220 second line")
	c.send("HELO x\r\nMAIL FROM:<a@example.com>\r\n")
	c.expect("250 localhost")
	c.expect("250 2.1.0 Ok")
	c.send("RCPT TO:<nobody@example.com>\r\nRCPT TO:<full@example.com>\r\nDATA\r\n")
	c.expect("550 5.1.1 no such user")
	c.expect("452 4.0.0 mailbox full")
	c.expect("554 5.5.1 Error: no valid recipients") // the refused RCPTs did not count
	c.send("QUIT\r\n")
	c.expect("221 2.0.0 see you") // paced 3 octets at a time, reassembled
	if _, err := c.reply(); !errors.Is(err, io.EOF) {
		t.Fatalf("after QUIT: %v, want EOF", err)
	}
	if err := wait(); !errors.Is(err, io.EOF) {
		t.Fatalf("driver ended with %v, want io.EOF", err)
	}
}

func TestRawReplyIsWrittenAsIs(t *testing.T) {
	t.Parallel()
	c, _ := drive(t, smtpd.Config{}, func(c *smtpd.Conn, ev *smtpd.Event) {
		if ev.Kind == smtpd.Noop {
			c.Answer(smtpd.Answer{Raw: []byte("250 no CRLF")})
		}
	})
	c.expect("220 localhost ESMTP")
	c.send("NOOP\r\nNOOP\r\n")
	buf := make([]byte, len("250 no CRLF250 no CRLF"))
	if _, err := io.ReadFull(c.r, buf); err != nil || string(buf) != "250 no CRLF250 no CRLF" {
		t.Fatalf("got %q, %v", buf, err)
	}
}

func TestDispositions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		answer    smtpd.Answer
		wantReply []string
		wantErr   error
	}{
		{"close after reply", smtpd.Answer{Reply: &smtpd.Reply{Code: 421, Status: "4.3.2", Lines: []string{"bye"}}, Then: smtpd.CloseConn},
			[]string{"421 4.3.2 bye"}, smtpd.ErrDriverClosed},
		{"close without reply", smtpd.Answer{NoReply: true, Then: smtpd.CloseConn}, nil, smtpd.ErrDriverClosed},
		{"half close", smtpd.Answer{Reply: &smtpd.Reply{Code: 421, Lines: []string{"half"}}, Then: smtpd.HalfCloseConn},
			[]string{"421 4.0.0 half"}, smtpd.ErrDriverClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, wait := drive(t, smtpd.Config{}, func(c *smtpd.Conn, ev *smtpd.Event) {
				if ev.Kind == smtpd.Helo {
					c.Answer(tt.answer)
				}
			})
			c.expect("220 localhost ESMTP")
			c.send("HELO x\r\n")
			if tt.wantReply != nil {
				c.expect(tt.wantReply...)
			}
			if got, err := c.reply(); !errors.Is(err, io.EOF) {
				t.Fatalf("got %q, %v; want EOF", got, err)
			}
			c.conn.Close() // a half-closing server waits for this
			if err := wait(); !errors.Is(err, tt.wantErr) {
				t.Fatalf("driver ended with %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestResetConn(t *testing.T) {
	t.Parallel()
	c, wait := drive(t, smtpd.Config{}, func(c *smtpd.Conn, ev *smtpd.Event) {
		if ev.Kind == smtpd.Helo {
			c.Answer(smtpd.Answer{NoReply: true, Then: smtpd.ResetConn})
		}
	})
	c.expect("220 localhost ESMTP")
	c.send("HELO x\r\n")
	if _, err := c.reply(); err == nil || !isReset(err) {
		t.Fatalf("got %v, want connection reset", err)
	}
	if err := wait(); !errors.Is(err, smtpd.ErrDriverClosed) {
		t.Fatalf("driver ended with %v", err)
	}
}

func TestGreetingRefused(t *testing.T) {
	t.Parallel()
	c, _ := drive(t, smtpd.Config{}, func(c *smtpd.Conn, ev *smtpd.Event) {
		if ev.Kind == smtpd.Greeting {
			c.Reply(smtpd.NewReply(554, "5.3.2 no service here"))
		}
	})
	c.expect("554 5.3.2 no service here")
	c.send("EHLO x\r\nQUIT\r\n")
	c.expect("503 5.5.1 Error: service refused, send QUIT")
	c.expect("221 2.0.0 Bye")
}

func TestDropAfterBytes(t *testing.T) {
	t.Parallel()
	c, wait := drive(t, smtpd.Config{}, func(c *smtpd.Conn, ev *smtpd.Event) {
		switch ev.Kind {
		case smtpd.Data:
			c.Answer(smtpd.Answer{DropAfterBytes: 10})
		case smtpd.Message:
			t.Errorf("message accepted after the drop: %q", ev.Data)
		}
	})
	c.expect("220 localhost ESMTP")
	c.send("HELO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
	c.expect("250 localhost")
	c.expect("250 2.1.0 Ok")
	c.expect("250 2.1.5 Ok")
	c.expect("354 End data with <CR><LF>.<CR><LF>")
	c.send("0123456789abcdef\r\n.\r\n")
	if got, err := c.reply(); err == nil {
		t.Fatalf("got %q after the drop, want the connection closed", got)
	}
	if err := wait(); !errors.Is(err, smtpd.ErrDriverClosed) {
		t.Fatalf("driver ended with %v", err)
	}
}

func TestHangEndsWithContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	hung := make(chan struct{})
	addr, wait := serveOne(t, func(nc net.Conn) error {
		c := smtpd.NewConn(nc, smtpd.Config{})
		defer c.Close(nil)
		for {
			ev, err := c.Next(ctx)
			if err != nil {
				return err
			}
			if ev.Kind == smtpd.Helo {
				c.Answer(smtpd.Answer{NoReply: true, Then: smtpd.Hang})
				close(hung)
			}
		}
	})
	c := dial(t, addr)
	c.expect("220 localhost ESMTP")
	c.send("HELO x\r\n")
	<-hung
	cancel()
	if err := wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("driver ended with %v, want context.Canceled", err)
	}
}

// A client that leaves while the server hangs after its QUIT has quit:
// Next returns io.EOF, as after any QUIT, not ErrClientGone.
func TestHangAfterQuitEndsAsQuit(t *testing.T) {
	t.Parallel()
	c, wait := drive(t, smtpd.Config{}, func(c *smtpd.Conn, ev *smtpd.Event) {
		if ev.Kind == smtpd.Quit {
			c.Answer(smtpd.Answer{NoReply: true, Then: smtpd.Hang})
		}
	})
	c.expect("220 localhost ESMTP")
	c.send("QUIT\r\n")
	c.conn.Close()
	if err := wait(); err != io.EOF {
		t.Fatalf("driver ended with %v, want io.EOF", err)
	}
}

// A context cancelled while Next waits for a command leaves the connection
// open, so the driver can still write a last reply (an unsolicited 421).
func TestCancelledNextLeavesConnOpen(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	greeted := make(chan struct{})
	addr, wait := serveOne(t, func(nc net.Conn) error {
		c := smtpd.NewConn(nc, smtpd.Config{})
		if _, err := c.Next(ctx); err != nil {
			return err
		}
		close(greeted)
		_, err := c.Next(ctx)
		if errors.Is(err, context.Canceled) {
			c.Close(&smtpd.Reply{Code: 421, Status: "4.4.2", Lines: []string{"idle too long"}})
		}
		return err
	})
	c := dial(t, addr)
	<-greeted
	c.expect("220 localhost ESMTP")
	cancel()
	c.expect("421 4.4.2 idle too long")
	if err := wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next returned %v", err)
	}
}

// The read timeout answers 421 4.4.2 and ends the session; synctest makes
// the five idle minutes pass at once.
func TestReadTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srvConn, cliConn := net.Pipe()
		defer cliConn.Close()
		done := make(chan error, 1)
		go func() {
			c := smtpd.NewConn(srvConn, smtpd.Config{})
			defer c.Close(nil)
			for {
				if _, err := c.Next(context.Background()); err != nil {
					done <- err
					return
				}
			}
		}()
		r := bufio.NewReader(cliConn)
		start := time.Now()
		if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "220 ") {
			t.Fatalf("greeting %q", l)
		}
		io.WriteString(cliConn, "NOO") // half a command, then silence
		l, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(l, "421 4.4.2 ") {
			t.Fatalf("got %q, %v; want 421 4.4.2", l, err)
		}
		if waited := time.Since(start); waited != 5*time.Minute {
			t.Errorf("timed out after %v, want the default 5m", waited)
		}
		if err := <-done; !errors.Is(err, smtpd.ErrTimeout) {
			t.Fatalf("Next returned %v, want ErrTimeout", err)
		}
	})
}

func TestTrace(t *testing.T) {
	t.Parallel()
	var got []string
	done := make(chan struct{})
	cfg := smtpd.Config{
		AuthMechanisms: []string{"PLAIN"},
		NewSASL: func(string) (smtpd.SASLServer, error) {
			return saslFunc(func(resp []byte) ([]byte, bool, error) {
				if string(resp) != "\x00user\x00secret" {
					return nil, false, errors.New("bad")
				}
				return nil, true, nil
			}), nil
		},
		Trace: func(tr smtpd.Trace) {
			text := tr.Text
			if tr.Masked != "" {
				text = tr.Masked
			}
			got = append(got, map[smtpd.TraceKind]string{smtpd.TraceCommand: "C: ", smtpd.TraceReply: "S: ", smtpd.TraceBody: "B: ", smtpd.TraceNote: "*: "}[tr.Kind]+text)
		},
	}
	ctx := context.Background()
	addr, wait := serveOne(t, func(nc net.Conn) error {
		defer close(done)
		c := smtpd.NewConn(nc, cfg)
		defer c.Close(nil)
		for {
			if _, err := c.Next(ctx); err != nil {
				return err
			}
		}
	})
	c := dial(t, addr)
	c.send("EHLO x\r\nAUTH PLAIN AHVzZXIAc2VjcmV0\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
	c.send("hello\r\n.\r\nQUIT\r\n")
	io.Copy(io.Discard, c.r)
	wait()
	<-done
	want := []string{
		"S: 220 localhost ESMTP",
		"C: EHLO x",
		"S: 250-localhost", "S: 250-PIPELINING", "S: 250-SIZE 10485760", "S: 250-AUTH PLAIN",
		"S: 250-ENHANCEDSTATUSCODES", "S: 250-8BITMIME", "S: 250-DSN", "S: 250-SMTPUTF8", "S: 250 CHUNKING",
		"C: AUTH PLAIN ****",
		"S: 235 2.7.0 Authentication successful",
		"C: MAIL FROM:<a@example.com>", "S: 250 2.1.0 Ok",
		"C: RCPT TO:<b@example.com>", "S: 250 2.1.5 Ok",
		"C: DATA", "S: 354 End data with <CR><LF>.<CR><LF>",
		"B: <message data: 10 octets>",
		"S: 250 2.0.0 Ok: queued",
		"C: QUIT", "S: 221 2.0.0 Bye",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trace (-want +got):\n%s", diff)
	}
}

type saslFunc func([]byte) ([]byte, bool, error)

func (f saslFunc) Next(r []byte) ([]byte, bool, error) { return f(r) }

func TestDataInfoAndPipelined(t *testing.T) {
	t.Parallel()
	type seen struct {
		info      smtpd.DataInfo
		pipelined map[string]bool
	}
	got := make(chan seen, 1)
	pipelined := map[string]bool{}
	c, _ := drive(t, smtpd.Config{}, func(c *smtpd.Conn, ev *smtpd.Event) {
		if ev.Verb != "" {
			pipelined[ev.Verb] = ev.Pipelined
		}
		if ev.Kind == smtpd.Message {
			got <- seen{ev.DataInfo, pipelined}
		}
	})
	c.expect("220 localhost ESMTP")
	c.send("HELO x\r\n")
	c.expect("250 localhost")
	c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
	c.expect("250 2.1.0 Ok")
	c.expect("250 2.1.5 Ok")
	c.expect("354 End data with <CR><LF>.<CR><LF>")
	c.send(".forgot to stuff\r\n..stuffed\r\nnaïve\r\n.\r\n")
	c.expect("250 2.0.0 Ok: queued")
	s := <-got
	want := smtpd.DataInfo{UnstuffedDots: 1, EightBit: true}
	if s.info != want {
		t.Errorf("DataInfo = %+v, want %+v", s.info, want)
	}
	if diff := cmp.Diff(map[string]bool{"HELO": false, "MAIL": true, "RCPT": true, "DATA": false}, s.pipelined); diff != "" {
		t.Errorf("Pipelined (-want +got):\n%s", diff)
	}
}

// bdatTransaction drives a session to a transaction with a recipient, and
// returns its client and the Pipelined flag of each BDAT event.
func bdatTransaction(t *testing.T) (*client, <-chan bool) {
	t.Helper()
	got := make(chan bool, 8)
	c, _ := drive(t, smtpd.Config{}, func(c *smtpd.Conn, ev *smtpd.Event) {
		if ev.Kind == smtpd.Bdat {
			got <- ev.Pipelined
		}
	})
	c.expect("220 localhost ESMTP")
	c.send("EHLO x\r\n")
	c.reply()
	c.send("MAIL FROM:<a@example.com>\r\n")
	c.expect("250 2.1.0 Ok")
	c.send("RCPT TO:<b@example.com>\r\n")
	c.expect("250 2.1.5 Ok")
	return c, got
}

// A BDAT's chunk, sent with it as RFC 3030 has it, does not make BDAT
// pipelined; a command after the chunk does, and a chunk split across
// writes does not.
func TestBdatPipelined(t *testing.T) {
	t.Parallel()
	c, got := bdatTransaction(t)
	for _, step := range []struct {
		send, reply string
		pipelined   bool
	}{
		{"BDAT 3\r\nabc", "250 2.0.0 Ok: 3 octets received", false},
		{"BDAT 0\r\n", "250 2.0.0 Ok: 0 octets received", false},
		{"BDAT 4\r\nab", "", false},
		{"cd", "250 2.0.0 Ok: 4 octets received", false},
		{"BDAT 2 LAST\r\nefNOOP\r\n", "250 2.0.0 Ok: queued", true},
	} {
		c.send(step.send)
		if step.reply == "" {
			continue
		}
		c.expect(step.reply)
		if p := <-got; p != step.pipelined {
			t.Errorf("after %q: Pipelined = %v, want %v", step.send, p, step.pipelined)
		}
	}
	c.expect("250 2.0.0 Ok")
}

// DataInfo counts lines over RFC 5321's 998 octets whatever MaxTextLine
// allows, and for BDAT data too, where it also tells 8-bit data.
func TestDataInfoLongLinesAndBdat(t *testing.T) {
	t.Parallel()
	got := make(chan smtpd.DataInfo, 2)
	c, _ := drive(t, smtpd.Config{MaxTextLine: 2000}, func(c *smtpd.Conn, ev *smtpd.Event) {
		if ev.Kind == smtpd.Message {
			if ev.Err != nil {
				t.Errorf("message refused: %v", ev.Err)
			}
			got <- ev.DataInfo
		}
	})
	long := strings.Repeat("x", 999)
	c.expect("220 localhost ESMTP")
	c.send("HELO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
	c.expect("250 localhost")
	c.expect("250 2.1.0 Ok")
	c.expect("250 2.1.5 Ok")
	c.expect("354 End data with <CR><LF>.<CR><LF>")
	c.send(long + "\r\n.\r\n")
	c.expect("250 2.0.0 Ok: queued")
	if info := <-got; info != (smtpd.DataInfo{LongLines: 1}) {
		t.Errorf("DATA: DataInfo = %+v, want one long line", info)
	}
	chunk := long + "\r\nna\xc3\xafve\r\n"
	c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nBDAT " + strconv.Itoa(len(chunk)) + " LAST\r\n" + chunk)
	c.expect("250 2.1.0 Ok")
	c.expect("250 2.1.5 Ok")
	c.expect("250 2.0.0 Ok: queued")
	if info := <-got; info != (smtpd.DataInfo{LongLines: 1, EightBit: true}) {
		t.Errorf("BDAT: DataInfo = %+v, want one long line and 8-bit", info)
	}
	// A dot doubled for transparency is not part of the line: ".x…" of
	// 998 octets is not long, of 999 it is.
	c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
	c.expect("250 2.1.0 Ok")
	c.expect("250 2.1.5 Ok")
	c.expect("354 End data with <CR><LF>.<CR><LF>")
	c.send(".." + long[:997] + "\r\n.." + long[:998] + "\r\n.\r\n")
	c.expect("250 2.0.0 Ok: queued")
	if info := <-got; info != (smtpd.DataInfo{LongLines: 1}) {
		t.Errorf("stuffed lines: DataInfo = %+v, want one long line", info)
	}
}

// Every event the engine rejects says why in Event.Reason, whatever its
// reply says; accepted events have none.
func TestRejectionReasons(t *testing.T) {
	t.Parallel()
	type seen struct {
		kind   smtpd.Kind
		reason smtpd.Reason
	}
	events := make(chan seen, 64)
	cfg := smtpd.Config{MaxRecipients: 1, MaxMessageBytes: 100}
	c, _ := drive(t, cfg, func(c *smtpd.Conn, ev *smtpd.Event) {
		if (ev.Err == nil) != (ev.Reason == smtpd.ReasonNone) {
			t.Errorf("%v event with Err %v and Reason %v", ev.Kind, ev.Err, ev.Reason)
		}
		if ev.Err != nil {
			events <- seen{ev.Kind, ev.Reason}
		}
	})
	c.expect("220 localhost ESMTP")
	steps := []struct {
		send  string
		reply string
		want  seen
	}{
		{"NOOP " + strings.Repeat("x", 600) + "\r\n", "500 5.5.2", seen{smtpd.Noop, smtpd.ReasonLineTooLong}},
		{strings.Repeat("x", 13000) + "\r\n", "500 5.5.2", seen{smtpd.BadCommand, smtpd.ReasonLineTooLong}},
		{"NOOP\n", "500 5.5.2", seen{smtpd.BadCommand, smtpd.ReasonBareLF}},
		{"NO\rOP\r\n", "500 5.5.2", seen{smtpd.BadCommand, smtpd.ReasonBareCR}},
		{"NO\x00OP\r\n", "500 5.5.2", seen{smtpd.BadCommand, smtpd.ReasonNUL}},
		{"FROB\r\n", "500 5.5.2", seen{smtpd.BadCommand, smtpd.ReasonUnknownCommand}},
		{"MAIL FROM:<a@example.com>\r\n", "503 5.5.1", seen{smtpd.Mail, smtpd.ReasonSequence}},
		{"STARTTLS\r\n", "502 5.5.1", seen{smtpd.StartTLS, smtpd.ReasonNotImplemented}},
		{"EHLO\r\n", "501 5.5.4", seen{smtpd.Ehlo, smtpd.ReasonSyntax}},
		{"EHLO x\r\n", "250 ", seen{}},
		{"MAIL FROM:<a@example.com> FROB=1\r\n", "555 5.5.4", seen{smtpd.Mail, smtpd.ReasonUnsupportedParameter}},
		{"MAIL FROM:<a@example.com> SIZE=101\r\n", "552 5.3.4", seen{smtpd.Mail, smtpd.ReasonTooBig}},
		{"MAIL FROM:<jos\xc3\xa9@example.com>\r\n", "553 5.6.7", seen{smtpd.Mail, smtpd.ReasonNonASCIIAddress}},
		{"MAIL FROM:<a@example.com>\r\n", "250 2.1.0", seen{}},
		{"RCPT TO:<b@example.com>\r\n", "250 2.1.5", seen{}},
		{"RCPT TO:<c@example.com>\r\n", "452 4.5.3", seen{smtpd.Rcpt, smtpd.ReasonTooManyRecipients}},
		{"DATA\r\n", "354 ", seen{}},
		{"a\nb\r\n.\r\n", "550 5.5.2", seen{smtpd.Message, smtpd.ReasonBareLF}},
		{"AUTH PLAIN\r\n", "502 5.5.1", seen{smtpd.Auth, smtpd.ReasonNotImplemented}},
	}
	for _, s := range steps {
		c.send(s.send)
		c.expectPrefix(s.reply)
		if s.want == (seen{}) {
			continue
		}
		if got := <-events; got != s.want {
			t.Errorf("after %.40q: rejected %v for %v, want %v for %v", s.send, got.kind, got.reason, s.want.kind, s.want.reason)
		}
	}
	select {
	case got := <-events:
		t.Errorf("unexpected rejection: %v for %v", got.kind, got.reason)
	default:
	}
}

// interruptedConn is a server side whose first write is cut short as the
// end of the driver's context cuts a blocked write: it writes the first n
// octets, cancels the context and fails with a timeout.
type interruptedConn struct {
	net.Conn
	n      int
	cancel context.CancelFunc
	done   bool
}

func (c *interruptedConn) Write(p []byte) (int, error) {
	if c.done {
		return c.Conn.Write(p)
	}
	c.done = true
	n, _ := c.Conn.Write(p[:min(c.n, len(p))])
	c.cancel()
	return n, os.ErrDeadlineExceeded
}

// A write cut short by the end of the context (a shutdown while the client
// reads slowly) leaves the session for Close to end with its reply: the
// replies not yet written go first, whole, then the 421. A reply buffer
// that kept the failed write's error would write neither.
func TestCloseAfterInterruptedWrite(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 7} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			addr, wait := serveOne(t, func(nc net.Conn) error {
				c := smtpd.NewConn(&interruptedConn{Conn: nc, n: n, cancel: cancel}, smtpd.Config{})
				if _, err := c.Next(ctx); err != nil {
					return err
				}
				_, err := c.Next(ctx) // flushes the greeting, which fails
				if errors.Is(err, context.Canceled) {
					c.Close(&smtpd.Reply{Code: 421, Status: "4.3.2", Lines: []string{"shutting down"}})
				}
				return err
			})
			c := dial(t, addr)
			c.expect("220 localhost ESMTP")
			c.expect("421 4.3.2 shutting down")
			if err := wait(); !errors.Is(err, context.Canceled) {
				t.Fatalf("Next returned %v", err)
			}
		})
	}
}

// stuckConn is a server side whose client reads nothing: a write blocks
// until its deadline passes, as one to a full socket buffer does.
type stuckConn struct {
	net.Conn
	mu       sync.Mutex
	deadline time.Time
	changed  chan struct{} // closed when the deadline changes
}

func (c *stuckConn) SetDeadline(t time.Time) error {
	c.SetWriteDeadline(t)
	return c.Conn.SetReadDeadline(t)
}

func (c *stuckConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	if c.changed != nil {
		close(c.changed)
	}
	c.changed = make(chan struct{})
	return nil
}

func (c *stuckConn) Write(p []byte) (int, error) {
	for {
		c.mu.Lock()
		d, changed := c.deadline, c.changed
		c.mu.Unlock()
		if !d.IsZero() && !time.Now().Before(d) {
			return 0, os.ErrDeadlineExceeded
		}
		var timeout <-chan time.Time
		if !d.IsZero() {
			t := time.NewTimer(time.Until(d))
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-changed:
		case <-timeout:
		}
	}
}

// A driver's context that ends while the driver handles an event (a
// server closing) ends the next write at once, though that write sets a
// fresh deadline over the one the end of the context set: Next returns
// ctx.Err() instead of waiting the write timeout (a minute) for a client
// that reads nothing.
func TestEndedContextEndsTheNextWrite(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	addr, wait := serveOne(t, func(nc net.Conn) error {
		sc := &stuckConn{Conn: nc}
		c := smtpd.NewConn(sc, smtpd.Config{})
		if _, err := c.Next(ctx); err != nil { // the greeting, written by the next Next
			return err
		}
		sc.SetWriteDeadline(time.Time{})
		sc.mu.Lock()
		changed := sc.changed
		sc.mu.Unlock()
		cancel()
		<-changed // the end of ctx set a deadline in the past, before the next write // while the driver handles the event
		_, err := c.Next(ctx)
		done <- err
		c.Close(nil)
		return err
	})
	dial(t, addr)
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Next returned %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Next still writing to a client that reads nothing, 30 s after its context ended (the write timeout is a minute)")
	}
	wait()
}

// A paced reply that the end of the context cuts short (Close during a
// trickle fault) is finished by Close, unpaced, before its own reply: the
// client never reads a reply cut in two.
func TestCloseFinishesAPacedReply(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, wait := serveOne(t, func(nc net.Conn) error {
		c := smtpd.NewConn(nc, smtpd.Config{})
		if _, err := c.Next(ctx); err != nil {
			return err
		}
		c.Answer(smtpd.Answer{Reply: &smtpd.Reply{Code: 220, Lines: []string{"slow greeting"}}, Pace: smtpd.Pace{Chunk: 3, Every: time.Hour}})
		_, err := c.Next(ctx)
		if errors.Is(err, context.Canceled) {
			c.Close(&smtpd.Reply{Code: 421, Status: "4.3.2", Lines: []string{"shutting down"}})
		}
		return err
	})
	c := dial(t, addr)
	first := make([]byte, 3)
	if _, err := io.ReadFull(c.r, first); err != nil || string(first) != "220" {
		t.Fatalf("read %q, %v; want the greeting's first chunk", first, err)
	}
	cancel()
	c.expect(" slow greeting")
	c.expect("421 4.3.2 shutting down")
	if err := wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next returned %v", err)
	}
}

// A driver may Close with a reply as soon as its context ended, without
// calling Next again (a shutdown during a fault's delay): its reply is
// written, though the context watched has ended.
func TestCloseRightAfterTheContextEnded(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, wait := serveOne(t, func(nc net.Conn) error {
		c := smtpd.NewConn(nc, smtpd.Config{})
		if _, err := c.Next(ctx); err != nil {
			return err
		}
		cancel()
		<-ctx.Done()
		return c.Close(&smtpd.Reply{Code: 421, Status: "4.3.2", Lines: []string{"shutting down"}})
	})
	c := dial(t, addr)
	c.expect("421 4.3.2 shutting down") // in place of the greeting
	if err := wait(); err != nil {
		t.Fatal(err)
	}
}

// The last replies of a session that ends are written though the driver's
// context ended while it handled the event (a server closing as a client
// QUITs): the 221 of QUIT, a reply before a disconnection.
func TestLastRepliesAfterTheContextEnded(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, send, want string
		answer           *smtpd.Answer
	}{
		{"QUIT", "QUIT\r\n", "221 2.0.0 Bye", nil},
		{"reply then close", "NOOP\r\n", "421 4.3.0 fault", &smtpd.Answer{Reply: &smtpd.Reply{Code: 421, Status: "4.3.0", Lines: []string{"fault"}}, Then: smtpd.CloseConn}},
		{"reply then reset", "NOOP\r\n", "250 2.0.0 Ok", &smtpd.Answer{Then: smtpd.ResetConn}},
		{"reply then half close", "NOOP\r\n", "250 2.0.0 Ok", &smtpd.Answer{Then: smtpd.HalfCloseConn}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			addr, wait := serveOne(t, func(nc net.Conn) error {
				c := smtpd.NewConn(nc, smtpd.Config{})
				defer c.Close(nil)
				for {
					ev, err := c.Next(ctx)
					if err != nil {
						return err
					}
					if ev.Kind != smtpd.Greeting {
						if tt.answer != nil {
							c.Answer(*tt.answer)
						}
						cancel() // while the driver handles the event
					}
				}
			})
			c := dial(t, addr)
			c.expect("220 localhost ESMTP")
			c.send(tt.send)
			c.expect(tt.want)
			c.conn.Close()
			wait()
		})
	}
}

// A paced reply whose turn comes after the context ended waits, whole,
// with the replies before it, for Close: the client reads every reply of
// its pipelined commands, then the 421.
func TestPacedReplyAfterTheContextEnded(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, wait := serveOne(t, func(nc net.Conn) error {
		c := smtpd.NewConn(nc, smtpd.Config{})
		for {
			ev, err := c.Next(ctx)
			if errors.Is(err, context.Canceled) {
				return c.Close(&smtpd.Reply{Code: 421, Status: "4.3.2", Lines: []string{"shutting down"}})
			}
			if err != nil {
				return err
			}
			if ev.Kind == smtpd.Rcpt {
				c.Answer(smtpd.Answer{Pace: smtpd.Pace{Chunk: 2, Every: time.Hour}})
				cancel()
			}
		}
	})
	c := dial(t, addr)
	c.expect("220 localhost ESMTP")
	c.send("EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n")
	ehlo, err := c.reply()
	if err != nil || len(ehlo) == 0 || ehlo[0] != "250-localhost" {
		t.Fatalf("EHLO reply %q, %v", ehlo, err)
	}
	c.expect("250 2.1.0 Ok")
	c.expect("250 2.1.5 Ok")
	c.expect("421 4.3.2 shutting down")
	if err := wait(); err != nil {
		t.Fatal(err)
	}
}

// Pipelined replies around the reply buffer's size (4 KiB) and far over
// it arrive whole and in order: three NOOPs sent at once, each answered
// with a reply of n octets.
func TestRepliesAroundTheBufferSize(t *testing.T) {
	t.Parallel()
	for _, n := range []int{4<<10 - 1, 4 << 10, 4<<10 + 1, 8 << 10, 1<<20 + 1} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			t.Parallel()
			text := func(i int) string { return strings.Repeat(string(rune('a'+i)), n-len("250 2.0.0 \r\n")) }
			i := 0
			c, wait := drive(t, smtpd.Config{}, func(c *smtpd.Conn, ev *smtpd.Event) {
				if ev.Kind == smtpd.Noop {
					c.Reply(smtpd.Reply{Code: 250, Status: "2.0.0", Lines: []string{text(i)}})
					i++
				}
			})
			c.expect("220 localhost ESMTP")
			c.send("EHLO x\r\nNOOP\r\nNOOP\r\nNOOP\r\nQUIT\r\n")
			if _, err := c.reply(); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				got, err := c.reply()
				if err != nil || len(got) != 1 || got[0] != "250 2.0.0 "+text(i) {
					t.Fatalf("reply %d: %d lines, %v; want one of %d octets", i+1, len(got), err, n)
				}
			}
			c.expect("221 2.0.0 Bye")
			c.conn.Close()
			if err := wait(); err != io.EOF {
				t.Fatalf("driver ended with %v", err)
			}
		})
	}
}

// Pipelined commands whose replies total N-1, N, N+1, 2N and 1 MiB+1
// octets, N the reply buffer's size (4 KiB): replies of one to three
// lines, of many lengths, so that the buffer fills mid-reply and
// mid-line; every reply arrives whole and in order, octet for octet.
func TestPipelinedRepliesTotal(t *testing.T) {
	t.Parallel()
	const n = 4 << 10
	for _, total := range []int{n - 1, n, n + 1, 2 * n, 1<<20 + 1} {
		t.Run(strconv.Itoa(total), func(t *testing.T) {
			t.Parallel()
			var replies []smtpd.Reply
			var want strings.Builder
			add := func(lines ...string) {
				r := smtpd.Reply{Code: 250, Status: "2.0.0", Lines: lines}
				replies = append(replies, r)
				for i, l := range lines {
					sep := "-"
					if i == len(lines)-1 {
						sep = " "
					}
					want.WriteString("250" + sep + "2.0.0 " + l + "\r\n")
				}
			}
			const last = len("250 2.0.0 \r\n") + 200 // room for the last reply
			for i := 0; ; i++ {
				var lines []string
				size := 0
				for j := range 1 + i%3 {
					l := fmt.Sprintf("r%d.%d ", i, j)
					l += strings.Repeat(string(rune('a'+(i+j)%26)), (i*7+j*13)%150)
					lines = append(lines, l)
					size += len("250 2.0.0 \r\n") + len(l)
				}
				if want.Len()+size+last > total {
					break
				}
				add(lines...)
			}
			pad := total - want.Len() - len("250 2.0.0 \r\n")
			add(fmt.Sprintf("r%d ", len(replies)) + strings.Repeat("z", pad-len(fmt.Sprintf("r%d ", len(replies)))))
			if want.Len() != total {
				t.Fatalf("the replies total %d octets, want %d", want.Len(), total)
			}
			i := 0
			c, wait := drive(t, smtpd.Config{MaxJunkCommands: len(replies) + 1}, func(c *smtpd.Conn, ev *smtpd.Event) {
				if ev.Kind == smtpd.Noop {
					c.Reply(replies[i])
					i++
				}
			})
			c.conn.SetDeadline(time.Now().Add(30 * time.Second))
			c.expect("220 localhost ESMTP")
			c.send("EHLO x\r\n")
			if _, err := c.reply(); err != nil {
				t.Fatal(err)
			}
			sent := make(chan error, 1)
			go func() { // the client writes while the server answers
				_, err := io.WriteString(c.conn, strings.Repeat("NOOP\r\n", len(replies)))
				sent <- err
			}()
			got := make([]byte, total)
			if k, err := io.ReadFull(c.r, got); err != nil {
				t.Fatalf("read %d of %d octets of replies: %v", k, total, err)
			}
			if err := <-sent; err != nil {
				t.Fatal(err)
			}
			if string(got) != want.String() {
				k := 0
				for k < total && got[k] == want.String()[k] {
					k++
				}
				t.Fatalf("replies differ at octet %d of %d: got %.60q, want %.60q", k, total, got[k:], want.String()[k:])
			}
			c.send("QUIT\r\n")
			c.expect("221 2.0.0 Bye")
			c.conn.Close()
			if err := wait(); err != io.EOF {
				t.Fatalf("driver ended with %v", err)
			}
		})
	}
}

// A BDAT refused for its syntax once its size is read is followed by its
// chunk, which the engine skips: that chunk is no input sent before the
// reply, so the BDAT is not Pipelined (a client without PIPELINING would
// be blamed for pipelining).
func TestBdatRefusedForSyntaxNotPipelined(t *testing.T) {
	t.Parallel()
	c, got := bdatTransaction(t)
	for _, line := range []string{"BDAT 3 MORE\r\nabc", "BDAT 3 LAST x\r\nabc"} {
		c.send(line)
		c.expect("501 5.5.4 Syntax: BDAT size [LAST]")
		if p := <-got; p {
			t.Errorf("after %q: Pipelined = true, want false", line)
		}
	}
}

// TestClientGoneBeforeContextEnds closes the client's side, then ends
// the driver's context while Next waits for a command: the client left
// first, and Next says so (ErrClientGone) every time, not ctx.Err(),
// though the end of the context sets a read deadline in the past and a
// read past its deadline does not look at the socket.
func TestClientGoneBeforeContextEnds(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const runs = 200
	bad := map[string]int{}
	for range runs {
		cl, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		nc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		c := smtpd.NewConn(nc, smtpd.Config{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			for {
				if _, err := c.Next(ctx); err != nil {
					done <- err
					return
				}
			}
		}()
		if _, err := bufio.NewReader(cl).ReadString('\n'); err != nil { // the greeting: Next now reads
			t.Fatal(err)
		}
		cl.Close()
		cancel()
		if err := <-done; !errors.Is(err, smtpd.ErrClientGone) {
			bad[err.Error()]++
		}
		c.Close(nil)
	}
	if len(bad) > 0 {
		t.Errorf("Next after the client closed, then the context ended, %d runs: %v, want every one %v", runs, bad, smtpd.ErrClientGone)
	}
}
