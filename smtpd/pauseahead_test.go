package smtpd_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp/smtpd"
)

// readBuf is a Conn's read buffer with the default limits: a pause reads
// ahead as far as it, and no further.
const readBuf = 16 << 10

// pauser is one session served with a pause after the first event of a
// kind: paused is closed as the driver pauses; ended gets Next's error,
// and pauseErr, Pause's, is read once ended has it. cancel ends the
// driver's context, as a server's Close does.
type pauser struct {
	addr     string
	paused   chan struct{}
	pauseErr error
	ended    chan error
	cancel   context.CancelFunc
}

// servePause serves one TCP connection with cfg, accepting every event
// and pausing d after the first of kind (d 0: no pause).
func servePause(t *testing.T, cfg smtpd.Config, kind smtpd.Kind, d time.Duration) *pauser {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &pauser{paused: make(chan struct{}), ended: make(chan error, 1), cancel: cancel}
	p.addr, _ = serveOne(t, func(nc net.Conn) error {
		c := smtpd.NewConn(nc, cfg)
		defer c.Close(nil)
		paused := false
		for {
			ev, err := c.Next(ctx)
			if err != nil {
				p.ended <- err
				return err
			}
			if ev.Kind == kind && !paused {
				paused = true
				close(p.paused)
				if d > 0 {
					p.pauseErr = c.Pause(ctx, d)
				}
			}
		}
	})
	t.Cleanup(cancel) // before serveOne's wait, should the driver still pause
	return p
}

// toRcpt greets the server of p as c, starts TLS if asked (STARTTLS,
// then a fresh EHLO over it), and sends MAIL; it returns the connection
// under c's TLS, if any, to close or reset.
func toRcpt(t *testing.T, c *client, clientTLS *tls.Config) net.Conn {
	t.Helper()
	raw := c.conn
	c.expect("220 localhost ESMTP")
	if clientTLS != nil {
		c.send("EHLO x\r\n")
		if lines, err := c.reply(); err != nil || len(lines) < 2 {
			t.Fatalf("EHLO reply %q, %v", lines, err)
		}
		c.send("STARTTLS\r\n")
		c.expect("220 2.0.0 Ready to start TLS")
		tc := tls.Client(raw, clientTLS)
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		c.conn, c.r = tc, bufio.NewReader(tc)
	}
	c.send("HELO x\r\nMAIL FROM:<a@example.com>\r\n")
	c.expect("250 localhost")
	c.expect("250 2.1.0 Ok")
	return raw
}

// A client that sent more before it left a pause (DATA pipelined with its
// RCPT, as msmtp and nodemailer send it; a QUIT once it gave up waiting,
// as swaks sends it) and then closes or resets the connection ends the
// pause, and the session, at once, as a client that sent nothing more
// does: Pause and Next return ErrClientGone, and what it sent is not
// served. In plaintext and after STARTTLS (the pause reads through
// crypto/tls).
func TestPauseEndsWhenAClientThatSentMoreLeaves(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := selfSigned(t)
	for _, tt := range []struct {
		name      string
		withRcpt  string // sent with the RCPT, before the pause
		duringIt  string // sent once the pause began
		reset     bool
		startTLS  bool
		pipelined bool
	}{
		{name: "pipelined DATA, close", withRcpt: "DATA\r\n"},
		{name: "pipelined DATA, reset", withRcpt: "DATA\r\n", reset: true},
		{name: "QUIT during it, close", duringIt: "QUIT\r\n"},
		{name: "QUIT during it, reset", duringIt: "QUIT\r\n", reset: true},
		{name: "pipelined DATA and QUIT during it, close", withRcpt: "DATA\r\n", duringIt: "QUIT\r\n"},
		{name: "pipelined DATA after STARTTLS, close", withRcpt: "DATA\r\n", startTLS: true},
		{name: "QUIT during it after STARTTLS, reset", duringIt: "QUIT\r\n", startTLS: true, reset: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := servePause(t, smtpd.Config{TLSConfig: serverTLS}, smtpd.Rcpt, time.Hour)
			c := dial(t, p.addr)
			var cfg *tls.Config
			if tt.startTLS {
				cfg = clientTLS
			}
			raw := toRcpt(t, c, cfg)
			c.send("RCPT TO:<b@example.com>\r\n" + tt.withRcpt)
			<-p.paused
			if tt.duringIt != "" {
				c.send(tt.duringIt)
			}
			if tt.reset {
				raw.(*net.TCPConn).SetLinger(0)
			}
			raw.Close()
			err := within(t, 10*time.Second, p.ended)
			if !errors.Is(p.pauseErr, smtpd.ErrClientGone) || !strings.Contains(p.pauseErr.Error(), "while the server paused") {
				t.Errorf("Pause returned %v, want ErrClientGone", p.pauseErr)
			}
			if err != p.pauseErr {
				t.Errorf("Next returned %v, want Pause's error %v", err, p.pauseErr)
			}
		})
	}
}

// noops returns n octets of NOOP lines.
func noops(n int) string {
	q, r := n/len("NOOP\r\n"), n%len("NOOP\r\n")
	if r == 0 {
		return strings.Repeat("NOOP\r\n", q)
	}
	// One line r octets longer: "NOOP " and r-1 octets of argument.
	return "NOOP " + strings.Repeat("x", r-1) + "\r\n" + strings.Repeat("NOOP\r\n", q-1)
}

// A pause reads what the client sends as far as its read buffer holds,
// and sees the client leave behind it: a client that sent N-1 octets and
// closed is gone at once. Past the buffer (N, N+1, 2N) the pause stops
// watching, as the engine buffers no more: it runs on until the driver's
// context ends, and the session ends as the driver's (the client's close
// is not looked for behind a full buffer).
func TestPauseWatchesAsFarAsTheReadBuffer(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		n    int
		gone bool
	}{
		{"N-1", readBuf - 1, true},
		{"N", readBuf, false},
		{"N+1", readBuf + 1, false},
		{"2N", 2 * readBuf, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := servePause(t, smtpd.Config{}, smtpd.Rcpt, time.Hour)
			c := dial(t, p.addr)
			toRcpt(t, c, nil)
			c.send("RCPT TO:<b@example.com>\r\n")
			<-p.paused
			c.send(noops(tt.n))
			c.conn.Close()
			if !tt.gone {
				p.cancel() // the server closes
			}
			err := within(t, 10*time.Second, p.ended)
			if tt.gone {
				if !errors.Is(p.pauseErr, smtpd.ErrClientGone) || err != p.pauseErr {
					t.Errorf("Pause returned %v, Next %v; want ErrClientGone", p.pauseErr, err)
				}
				return
			}
			if !errors.Is(p.pauseErr, context.Canceled) || !errors.Is(err, context.Canceled) {
				t.Errorf("Pause returned %v, Next %v; want context.Canceled", p.pauseErr, err)
			}
		})
	}
}

// A client that sent more during a pause and stays gets its replies
// after it, in order, byte for byte what a server that does not pause
// writes: commands pipelined with the paused one and sent during the
// pause, within the read buffer, at its edge and past it.
func TestPauseServesWhatAClientThatStaysSent(t *testing.T) {
	t.Parallel()
	cfg := smtpd.Config{MaxJunkCommands: 1 << 20}
	for _, tt := range []struct {
		name     string
		withRcpt string // sent with the RCPT
		duringIt string // sent once the event came (during the pause), then QUIT
	}{
		{"nothing more", "", ""},
		{"pipelined DATA", "DATA\r\n", "Subject: hi\r\n\r\nhello\r\n.\r\n"},
		{"RCPT and DATA during it", "", "RCPT TO:<c@example.com>\r\nDATA\r\nSubject: hi\r\n\r\nhello\r\n.\r\n"},
		{"N-1 octets during it", "", noops(readBuf - 1)},
		{"N octets during it", "", noops(readBuf)},
		{"N+1 octets during it", "", noops(readBuf + 1)},
		{"2N octets with it and during it", noops(readBuf), noops(readBuf)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			session := func(d time.Duration) string {
				p := servePause(t, cfg, smtpd.Rcpt, d)
				c := dial(t, p.addr)
				c.send("HELO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n" + tt.withRcpt)
				<-p.paused
				c.send(tt.duringIt + "QUIT\r\n")
				b, err := io.ReadAll(c.r)
				if err != nil {
					t.Fatalf("read %d octets, then %v; want the replies and the server's close", len(b), err)
				}
				if err := within(t, 10*time.Second, p.ended); err != io.EOF || p.pauseErr != nil {
					t.Errorf("Pause returned %v, Next %v; want nil, then io.EOF", p.pauseErr, err)
				}
				return string(b)
			}
			want := session(0)
			if got := session(200 * time.Millisecond); got != want {
				t.Errorf("after a pause, the client read %d octets, want %d, what it reads with no pause\n got %.300q\nwant %.300q", len(got), len(want), got, want)
			}
		})
	}
}

// A client that sent more and closed before the driver's context ended
// is gone, also when the pause had not seen it leave: here the context
// ends before the pause begins, so that only the look behind what the
// client sent (at the end of the context, as a server's Close) can see
// it. In plaintext and over implicit TLS (a close_notify, then the FIN).
func TestPauseSeesALeaveBehindWhatWasSentAsTheContextEnds(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := selfSigned(t)
	for _, tt := range []struct {
		name string
		cfg  smtpd.Config
	}{
		{"tcp", smtpd.Config{}},
		{"implicit TLS", smtpd.Config{ImplicitTLS: true, TLSConfig: serverTLS}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for range 5 {
				ctx, cancel := context.WithCancel(context.Background())
				rcpt, pause := make(chan struct{}), make(chan struct{})
				pauseErr := make(chan error, 1)
				addr, _ := serveOne(t, func(nc net.Conn) error {
					c := smtpd.NewConn(nc, tt.cfg)
					defer c.Close(nil)
					for {
						ev, err := c.Next(ctx)
						if err != nil {
							return err
						}
						if ev.Kind == smtpd.Rcpt {
							close(rcpt)
							<-pause
							pauseErr <- c.Pause(ctx, time.Hour)
							return nil
						}
					}
				})
				c := dial(t, addr)
				if tt.cfg.ImplicitTLS {
					tc := tls.Client(c.conn, clientTLS)
					if err := tc.Handshake(); err != nil {
						t.Fatal(err)
					}
					c.conn, c.r = tc, bufio.NewReader(tc)
				}
				toRcpt(t, c, nil)
				c.send("RCPT TO:<b@example.com>\r\nDATA\r\n")
				<-rcpt
				c.conn.Close()
				cancel()
				close(pause)
				if err := <-pauseErr; !errors.Is(err, smtpd.ErrClientGone) {
					t.Errorf("Pause after the client sent DATA and closed, then the context ended: %v, want ErrClientGone", err)
				}
			}
		})
	}
}

// A trickled reply whose pauses are an hour long ends as soon as a
// client that sent more (a QUIT once it gave up on the rest) leaves.
func TestPacedReplyEndsWhenAClientThatSentMoreLeaves(t *testing.T) {
	t.Parallel()
	addr, ended := servePaced(t, smtpd.Helo, smtpd.Pace{Chunk: 2, Every: time.Hour})
	c := dial(t, addr)
	c.expect("220 localhost ESMTP")
	c.send("HELO x\r\n")
	buf := make([]byte, 2)
	if _, err := io.ReadFull(c.r, buf); err != nil || string(buf) != "25" {
		t.Fatalf("read %q, %v; want the first 2 octets", buf, err)
	}
	c.send("QUIT\r\n")
	c.conn.Close()
	if err := within(t, 10*time.Second, ended); !errors.Is(err, smtpd.ErrClientGone) {
		t.Fatalf("driver ended with %v, want ErrClientGone", err)
	}
}
