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
	"testing/synctest"
	"time"

	"github.com/mocksmtp/mocksmtp/internal/memnet"
	"github.com/mocksmtp/mocksmtp/smtpd"
)

// memPipe returns the two ends of an in-memory connection that buffers
// and half-closes as TCP does, and runs in a synctest bubble.
func memPipe() (client, server net.Conn) {
	a := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 49152}
	b := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 25}
	return memnet.Pipe(a, b)
}

// within returns the error that ended a driver, sent on ended, or fails
// t when it takes longer than d: a driver that should have ended at once.
func within(t *testing.T, d time.Duration, ended <-chan error) error {
	t.Helper()
	select {
	case err := <-ended:
		return err
	case <-time.After(d):
		t.Fatalf("the driver still runs after %v", d)
		return nil
	}
}

// A client that leaves while the driver pauses for an hour ends the
// pause, and the session, at once: Pause returns ErrClientGone and so
// does Next after it, with no reply written. Over TCP, the client closing
// or resetting the connection, in plaintext and after STARTTLS.
func TestPauseEndsWhenTheClientLeaves(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := selfSigned(t)
	for _, tt := range []struct {
		name  string
		tls   bool
		reset bool
	}{
		{"close", false, false},
		{"reset", false, true},
		{"close after STARTTLS", true, false},
		{"reset after STARTTLS", true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := servePause(t, smtpd.Config{TLSConfig: serverTLS}, smtpd.Rcpt, time.Hour)
			c := dial(t, p.addr)
			var cfg *tls.Config
			if tt.tls {
				cfg = clientTLS
			}
			raw := toRcpt(t, c, cfg)
			c.send("RCPT TO:<b@example.com>\r\n")
			<-p.paused
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

// servePaced serves one TCP connection, answering each event of
// kind with a reply paced by pace, every other by default; ended gets
// the error that ended the driver's loop. The driver's context ends
// with the test.
func servePaced(t *testing.T, kind smtpd.Kind, pace smtpd.Pace) (addr string, ended <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	end := make(chan error, 1)
	addr, _ = serveOne(t, func(nc net.Conn) error {
		c := smtpd.NewConn(nc, smtpd.Config{})
		defer c.Close(nil)
		for {
			ev, err := c.Next(ctx)
			if err != nil {
				end <- err
				return nil
			}
			if ev.Kind == kind {
				c.Answer(smtpd.Answer{Pace: pace})
			}
		}
	})
	t.Cleanup(cancel) // before serveOne's wait, should the driver still pause
	return addr, end
}

// A trickled reply whose pauses are an hour long ends as soon as the
// client leaves, not an hour later, with ErrReplyCut (the client got a
// part of the reply), which says how much of it went out.
func TestPacedReplyEndsWhenTheClientLeaves(t *testing.T) {
	t.Parallel()
	addr, ended := servePaced(t, smtpd.Helo, smtpd.Pace{Chunk: 2, Every: time.Hour})
	c := dial(t, addr)
	c.expect("220 localhost ESMTP")
	c.send("HELO x\r\n")
	buf := make([]byte, 2)
	if _, err := io.ReadFull(c.r, buf); err != nil || string(buf) != "25" {
		t.Fatalf("read %q, %v; want the first 2 octets", buf, err)
	}
	c.conn.Close()
	err := within(t, 10*time.Second, ended)
	if !errors.Is(err, smtpd.ErrClientGone) || !errors.Is(err, smtpd.ErrReplyCut) || !strings.Contains(err.Error(), "after 2 of 15 octets") {
		t.Fatalf("driver ended with %v, want ErrClientGone and ErrReplyCut after 2 of 15 octets", err)
	}
}

// A client that sends QUIT and leaves in the middle of its paced 221
// quit without waiting for the reply: Next returns io.EOF, as after a
// client that leaves during a Pause at QUIT, not ErrReplyCut.
func TestPacedQuitReplyCutEndsAsQuit(t *testing.T) {
	t.Parallel()
	addr, ended := servePaced(t, smtpd.Quit, smtpd.Pace{SplitAt: 4, Every: time.Hour})
	c := dial(t, addr)
	c.expect("220 localhost ESMTP")
	c.send("QUIT\r\n")
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c.r, buf); err != nil || string(buf) != "221 " {
		t.Fatalf("read %q, %v; want the first 4 octets", buf, err)
	}
	c.conn.Close()
	if err := within(t, 10*time.Second, ended); err != io.EOF {
		t.Fatalf("driver ended with %v, want io.EOF", err)
	}
}

// pauseInBubble serves srvConn in a synctest bubble, pausing d at the
// first RCPT; it returns the errors of Pause and of the driver's loop.
func pauseInBubble(ctx context.Context, srvConn net.Conn, d time.Duration) (pauseErrs chan error, done chan error) {
	pauseErrs, done = make(chan error, 8), make(chan error, 1)
	go func() {
		c := smtpd.NewConn(srvConn, smtpd.Config{})
		paused := false
		for {
			ev, err := c.Next(ctx)
			if err != nil {
				if ctx.Err() != nil {
					c.Close(&smtpd.Reply{Code: 421, Status: "4.3.2", Lines: []string{"shutting down"}})
				}
				c.Close(nil)
				done <- err
				return
			}
			if ev.Kind == smtpd.Rcpt && !paused {
				paused = true
				err := c.Pause(ctx, d)
				pauseErrs <- err
				if err != nil && ctx.Err() != nil {
					c.Close(&smtpd.Reply{Code: 421, Status: "4.3.2", Lines: []string{"shutting down"}})
					done <- err
					return
				}
			}
		}
	}()
	return pauseErrs, done
}

// What the client sends during a pause is read after it, whole and in
// order, and the pause lasts exactly its time: a pipelined RCPT and DATA
// sent half-way through. A QUIT followed by the end of the client's
// input (a client that half-closes after its last command, as nc -N
// does) ends the pause and the session there and then, with no reply:
// over TCP a server cannot tell a half-close from a client that gave
// up, sent QUIT and closed (swaks), as it cannot when nothing comes
// before the end of input.
func TestPauseKeepsWhatTheClientSends(t *testing.T) {
	for _, tt := range []struct {
		name      string
		then      string // sent half-way through the pause
		closeSend bool   // then the client half-closes
		want      []string
		wantAfter time.Duration // the first line read, or the end, after this
		wantPause error
		wantErr   error
	}{
		{"pipelined commands", "RCPT TO:<c@example.com>\r\nDATA\r\n", false,
			[]string{"250 2.1.5 Ok", "250 2.1.5 Ok", "354 End data with <CR><LF>.<CR><LF>"}, time.Minute, nil, nil},
		{"QUIT, then the end of input", "QUIT\r\n", true,
			[]string{"EOF"}, 30 * time.Second, smtpd.ErrClientGone, smtpd.ErrClientGone},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cliConn, srvConn := memPipe()
				pauseErrs, done := pauseInBubble(context.Background(), srvConn, time.Minute)
				r := bufio.NewReader(cliConn)
				if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "220 ") {
					t.Fatalf("greeting %q", l)
				}
				io.WriteString(cliConn, "HELO x\r\nMAIL FROM:<a@example.com>\r\n")
				for range 2 {
					r.ReadString('\n')
				}
				start := time.Now()
				io.WriteString(cliConn, "RCPT TO:<b@example.com>\r\n")
				time.Sleep(30 * time.Second)
				io.WriteString(cliConn, tt.then)
				if tt.closeSend {
					cliConn.(interface{ CloseWrite() error }).CloseWrite()
				}
				var got []string
				for range tt.want {
					l, err := r.ReadString('\n')
					if err != nil {
						l = err.Error()
					}
					got = append(got, strings.TrimSuffix(l, "\r\n"))
					if len(got) == 1 && time.Since(start) != tt.wantAfter {
						t.Errorf("first line read after %v, want exactly %v", time.Since(start), tt.wantAfter)
					}
				}
				if strings.Join(got, "|") != strings.Join(tt.want, "|") {
					t.Errorf("client read %q, want %q", got, tt.want)
				}
				if err := <-pauseErrs; !errors.Is(err, tt.wantPause) {
					t.Errorf("Pause returned %v, want %v", err, tt.wantPause)
				}
				cliConn.Close()
				if err := <-done; tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("Next returned %v, want %v", err, tt.wantErr)
				}
			})
		})
	}
}

// A pause that the driver's context ends returns ctx.Err() and leaves the
// connection open for Close's last reply.
func TestPauseEndsWithTheContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cliConn, srvConn := memPipe()
		ctx, cancel := context.WithCancel(context.Background())
		pauseErrs, done := pauseInBubble(ctx, srvConn, time.Hour)
		r := bufio.NewReader(cliConn)
		r.ReadString('\n')
		io.WriteString(cliConn, "HELO x\r\nMAIL FROM:<a@example.com>\r\n")
		for range 2 {
			r.ReadString('\n')
		}
		io.WriteString(cliConn, "RCPT TO:<b@example.com>\r\n")
		time.Sleep(time.Minute)
		cancel()
		if l, err := r.ReadString('\n'); l != "421 4.3.2 shutting down\r\n" || err != nil {
			t.Errorf("got %q, %v; want Close's 421", l, err)
		}
		if err := <-pauseErrs; !errors.Is(err, context.Canceled) {
			t.Errorf("Pause returned %v, want context.Canceled", err)
		}
		<-done
		cliConn.Close()
	})
}

// A client that sends QUIT and leaves during the pause before the 221
// has quit: Pause, then Next, return io.EOF, as after any QUIT.
func TestPauseAtQuit(t *testing.T) {
	t.Parallel()
	p := servePause(t, smtpd.Config{}, smtpd.Quit, time.Hour)
	c := dial(t, p.addr)
	c.expect("220 localhost ESMTP")
	c.send("QUIT\r\n")
	<-p.paused
	c.conn.Close()
	if err := within(t, 10*time.Second, p.ended); err != io.EOF || p.pauseErr != io.EOF {
		t.Errorf("Pause returned %v, Next %v; want io.EOF", p.pauseErr, err)
	}
}
