package mocksmtp_test

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/smtp"
	"net/textproto"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// closeEndRuns is how many times each case runs: the order of the
// client's close and the server's Close was a race that went either way
// about half the time.
const closeEndRuns = 200

// closeEndCase is a client that leaves without QUIT, over one transport.
type closeEndCase struct {
	name string
	opts []mocksmtp.Option
	// dial connects to srv and returns the SMTP client, after STARTTLS
	// or over implicit TLS when the case is TLS.
	dial func(srv *mocksmtp.Server) (*smtp.Client, error)
}

func closeEndCases() []closeEndCase {
	tcp := func(srv *mocksmtp.Server) (*smtp.Client, error) {
		conn, err := dialFin(srv.Addr())
		if err != nil {
			return nil, err
		}
		return smtp.NewClient(conn, "localhost")
	}
	mem := func(srv *mocksmtp.Server) (*smtp.Client, error) {
		conn, err := srv.Dial()
		if err != nil {
			return nil, err
		}
		return smtp.NewClient(conn, "localhost")
	}
	starttls := func(dial func(*mocksmtp.Server) (*smtp.Client, error)) func(*mocksmtp.Server) (*smtp.Client, error) {
		return func(srv *mocksmtp.Server) (*smtp.Client, error) {
			c, err := dial(srv)
			if err != nil {
				return nil, err
			}
			if err := c.StartTLS(srv.ClientTLSConfig()); err != nil {
				c.Close()
				return nil, err
			}
			return c, nil
		}
	}
	implicit := func(srv *mocksmtp.Server) (*smtp.Client, error) {
		conn, err := dialFin(srv.Addr())
		if err != nil {
			return nil, err
		}
		tc := tls.Client(conn, srv.ClientTLSConfig())
		if err := tc.Handshake(); err != nil {
			conn.Close()
			return nil, err
		}
		return smtp.NewClient(tc, "localhost")
	}
	return []closeEndCase{
		{"tcp", nil, tcp},
		{"tcp STARTTLS", []mocksmtp.Option{mocksmtp.WithSTARTTLS()}, starttls(tcp)},
		{"tcp implicit TLS", []mocksmtp.Option{mocksmtp.WithImplicitTLS()}, implicit},
		{"memory", []mocksmtp.Option{mocksmtp.WithInMemory()}, mem},
		{"memory STARTTLS", []mocksmtp.Option{mocksmtp.WithInMemory(), mocksmtp.WithSTARTTLS()}, starttls(mem)},
	}
}

// closeEndOnce starts a server, sends one message with c, closes the
// client's connection without QUIT, then closes the server, and returns
// the session as recorded.
func closeEndOnce(tc closeEndCase) (*mocksmtp.Session, error) {
	srv, err := mocksmtp.New(tc.opts...)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	c, err := tc.dial(srv)
	if err != nil {
		return nil, err
	}
	if err := sendOne(c); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.Close(); err != nil { // no QUIT: the connection (and TLS) closes
		return nil, err
	}
	if err := srv.Close(); err != nil {
		return nil, err
	}
	ss := srv.Sessions()
	if len(ss) != 1 {
		return nil, fmt.Errorf("%d sessions, want 1", len(ss))
	}
	return ss[0], nil
}

func sendOne(c *smtp.Client) error {
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
	if _, err := io.WriteString(w, "Subject: Welcome\r\n\r\nHello.\r\n"); err != nil {
		return err
	}
	return w.Close()
}

// checkClosedEnd counts the runs whose session did not end as the
// client's close says: client closed, with a quit finding.
func checkClosedEnd(t *testing.T, tc closeEndCase, runs int) {
	t.Helper()
	bad := map[string]int{}
	for range runs {
		s, err := closeEndOnce(tc)
		if err != nil {
			t.Fatal(err)
		}
		quit := slices.ContainsFunc(s.Findings, func(f mocksmtp.Finding) bool { return f.Rule == mocksmtp.RuleQuit })
		if s.Ended != mocksmtp.EndClientClosed || !quit {
			bad[fmt.Sprintf("ended %q, quit finding %v", s.Ended, quit)]++
		}
	}
	if len(bad) > 0 {
		t.Errorf("%s: a client that closed without QUIT before the server's Close, %d runs: %v, want every one ended %q with a quit finding",
			tc.name, runs, bad, mocksmtp.EndClientClosed)
	}
}

// TestClientClosedBeforeCloseIsRecordedAsClosed closes the client's
// connection without QUIT, then the server, and checks that the session
// ends "client closed" with a quit finding every time, over TCP, TLS
// and in memory: the client left first, and the shutdown that followed
// does not hide it.
func TestClientClosedBeforeCloseIsRecordedAsClosed(t *testing.T) {
	t.Parallel()
	for _, tc := range closeEndCases() {
		t.Run(tc.name, func(t *testing.T) {
			checkClosedEnd(t, tc, closeEndRuns)
		})
	}
}

// TestClientClosedBeforeCloseInBubble is the in-memory case inside a
// testing/synctest bubble, where the end's time is exact too: the
// session ends when the client left, no later.
func TestClientClosedBeforeCloseInBubble(t *testing.T) {
	t.Parallel()
	for _, tc := range closeEndCases() {
		if !strings.HasPrefix(tc.name, "memory") {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				checkClosedEnd(t, tc, 20)
				if d := time.Since(start); d != 0 {
					t.Errorf("the runs took %v of the bubble's time, want 0", d)
				}
			})
		})
	}
}

// TestSilentClientAtCloseIsShutDown is the other side: a client still
// connected and silent when the server closes ends "server shut down",
// is told 421 4.3.2, and Close does not wait for it.
func TestSilentClientAtCloseIsShutDown(t *testing.T) {
	t.Parallel()
	for _, tc := range closeEndCases() {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := mocksmtp.New(tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			c, err := tc.dial(srv)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := sendOne(c); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if err := srv.Close(); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Close took %v with a silent client", d)
			}
			var te *textproto.Error
			if err := c.Noop(); !errors.As(err, &te) || te.Code != 421 || !strings.HasPrefix(te.Msg, "4.3.2 ") {
				t.Errorf("NOOP after Close: %v, want 421 4.3.2", err)
			}
			s := srv.Sessions()[0]
			if s.Ended != mocksmtp.EndShutdown {
				t.Errorf("ended %q, want %q", s.Ended, mocksmtp.EndShutdown)
			}
		})
	}
}

// TestClientQuitDuringDelayBeforeClose sends QUIT to a server that
// delays its reply (a fault), closes without waiting for the 221, then
// closes the server: the session ended by the client's QUIT, every time.
func TestClientQuitDuringDelayBeforeClose(t *testing.T) {
	t.Parallel()
	bad := map[string]int{}
	for range closeEndRuns {
		srv, err := mocksmtp.New(mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageQuit).Delay(time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		conn, err := dialFin(srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(conn)
		for _, cmd := range []string{"", "EHLO app.local\r\n"} {
			if _, err := io.WriteString(conn, cmd); err != nil {
				t.Fatal(err)
			}
			for { // to the last line of the reply
				line, err := r.ReadString('\n')
				if err != nil {
					t.Fatal(err)
				}
				if len(line) < 4 || line[3] != '-' {
					break
				}
			}
		}
		if _, err := io.WriteString(conn, "QUIT\r\n"); err != nil {
			t.Fatal(err)
		}
		srv.WaitUntil(t, "QUIT read", func() bool {
			tr := srv.Sessions()[0].Transcript
			return slices.ContainsFunc(tr, func(l mocksmtp.Line) bool { return l.Dir == mocksmtp.FromClient && l.Text == "QUIT" })
		})
		conn.Close()
		srv.Close()
		if s := srv.Sessions()[0]; s.Ended != mocksmtp.EndQuit {
			bad[fmt.Sprintf("ended %q", s.Ended)]++
		}
	}
	if len(bad) > 0 {
		t.Errorf("a client that quit and closed during the QUIT's delay, before the server's Close, %d runs: %v, want every one ended %q",
			closeEndRuns, bad, mocksmtp.EndQuit)
	}
}

// TestClientClosedMidCommandBeforeClose is the client that leaves
// without QUIT at each place where the server's Close can find the
// session reading or waiting: inside DATA after the 354, inside a BDAT
// chunk, in an AUTH exchange after a 334, and while a fault stalls the
// reply to RCPT. The session ends "client closed" every time.
func TestClientClosedMidCommandBeforeClose(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		opts []mocksmtp.Option
		cmds []string // sent one at a time, each reply read
		last string   // sent last, its reply not waited for
		seen string   // the client line the server has read when the client closes
	}{
		{"DATA", nil, []string{"MAIL FROM:<app@example.com>", "RCPT TO:<bob@example.com>", "DATA"}, "", "DATA"},
		{"BDAT chunk", nil, []string{"MAIL FROM:<app@example.com>", "RCPT TO:<bob@example.com>"}, "BDAT 100 LAST", "BDAT 100 LAST"},
		{"AUTH exchange", []mocksmtp.Option{mocksmtp.WithAuth("app", "secret")}, []string{"AUTH LOGIN"}, "", "AUTH LOGIN"},
		{"stalled RCPT", []mocksmtp.Option{mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageRcpt).Stall())}, []string{"MAIL FROM:<app@example.com>"}, "RCPT TO:<bob@example.com>", "RCPT TO:<bob@example.com>"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bad := map[string]int{}
			for range closeEndRuns / 2 {
				srv, err := mocksmtp.New(tc.opts...)
				if err != nil {
					t.Fatal(err)
				}
				conn, err := dialFin(srv.Addr())
				if err != nil {
					t.Fatal(err)
				}
				r := bufio.NewReader(conn)
				for _, cmd := range append([]string{"", "EHLO app.local"}, tc.cmds...) {
					if cmd != "" {
						if _, err := io.WriteString(conn, cmd+"\r\n"); err != nil {
							t.Fatal(err)
						}
					}
					for { // to the last line of the reply
						line, err := r.ReadString('\n')
						if err != nil {
							t.Fatal(err)
						}
						if len(line) < 4 || line[3] != '-' {
							break
						}
					}
				}
				if tc.last != "" {
					if _, err := io.WriteString(conn, tc.last+"\r\n"); err != nil {
						t.Fatal(err)
					}
				}
				// The server has read the client's last line: what the
				// client sent and the server had not read when it closed
				// is not looked into (see smtpd's left).
				srv.WaitUntil(t, "the client's last line read", func() bool {
					tr := srv.Sessions()[0].Transcript
					return slices.ContainsFunc(tr, func(l mocksmtp.Line) bool { return l.Dir == mocksmtp.FromClient && l.Text == tc.seen })
				})
				conn.Close()
				srv.Close()
				if s := srv.Sessions()[0]; s.Ended != mocksmtp.EndClientClosed {
					bad[fmt.Sprintf("ended %q", s.Ended)]++
				}
			}
			if len(bad) > 0 {
				t.Errorf("%s: a client that closed before the server's Close, %d runs: %v, want every one ended %q",
					tc.name, closeEndRuns/2, bad, mocksmtp.EndClientClosed)
			}
		})
	}
}

// TestCloseAsIdleTimeRunsOut closes the client, in fake time, exactly
// when an IdleReply's time runs out: the close is too late, as a
// command then is, and the session ends by the idle reply every time.
func TestCloseAsIdleTimeRunsOut(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		got := map[mocksmtp.EndReason]int{}
		const runs = 50
		for range runs {
			srv, err := mocksmtp.New(mocksmtp.WithInMemory(), mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageHelo).IdleReply(10*time.Second, 421, "4.4.2 idle too long")))
			if err != nil {
				t.Fatal(err)
			}
			conn, err := srv.Dial()
			if err != nil {
				t.Fatal(err)
			}
			c, err := smtp.NewClient(conn, "localhost")
			if err != nil {
				t.Fatal(err)
			}
			if ok, _ := c.Extension("PIPELINING"); !ok { // EHLO, whose reply starts the idle time
				t.Fatal("no EHLO reply with PIPELINING")
			}
			time.Sleep(10 * time.Second) // fake time: to the instant the idle time runs out
			conn.Close()
			synctest.Wait() // the session has ended, one way or the other
			srv.Close()
			got[srv.Sessions()[0].Ended]++
		}
		if len(got) != 1 || got[mocksmtp.EndServerClosed] != runs {
			t.Errorf("a client that closed as the idle time ran out, %d runs: %v, want every one ended %q (the idle reply)", runs, got, mocksmtp.EndServerClosed)
		}
	})
}

// TestClientClosedBeforeItsReplyBeforeClose is the client that sends a
// command and closes without waiting for the reply, then the server's
// Close, which comes after the server read the command and before it
// wrote the reply: here a WithAuthFunc check holds the session there, and
// a Trickle paces the reply, whose first write Close's end of the
// context refuses (in real time, a client that closes at once after a
// command met it about one run in ten). The client left first: the
// session ends "client closed", as when Close finds it reading or
// waiting, not "server shut down".
func TestClientClosedBeforeItsReplyBeforeClose(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		entered, release := make(chan struct{}, 1), make(chan struct{})
		srv, err := mocksmtp.New(mocksmtp.WithInMemory(), mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageAuth).Trickle(1, time.Hour)), mocksmtp.WithAuthFunc(func(mocksmtp.Credentials) error {
			entered <- struct{}{}
			<-release
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		c := dialBubble(t, srv)
		c.must("", 220)
		c.must("EHLO client.example", 250)
		c.send("AUTH PLAIN AGFwcABzZWNyZXQ=") // \0app\0secret
		<-entered                             // the server read the command
		c.conn.Close()
		closed := make(chan struct{})
		go func() {
			srv.Close()
			close(closed)
		}()
		synctest.Wait() // Close ended the server's context, and waits for the session
		close(release)
		<-closed
		if s := srv.Sessions()[0]; s.Ended != mocksmtp.EndClientClosed {
			t.Errorf("a client that closed before the server's Close, the reply to its AUTH not yet written: ended %q (%v), want %q",
				s.Ended, s.Err, mocksmtp.EndClientClosed)
		}
	})
}
