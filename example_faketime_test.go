package mocksmtp_test

import (
	"context"
	"io"
	"net"
	"net/smtp"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// retryingMailer is the code under test: it sends a mail, gives each
// attempt Timeout, and retries after each wait of Backoff. It connects
// with Dial, so that a test can connect it in memory.
type retryingMailer struct {
	Dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	Addr    string
	Timeout time.Duration
	Backoff []time.Duration
}

func (m retryingMailer) Send(to string) error {
	for i := 0; ; i++ {
		err := m.try(to)
		if err == nil || i == len(m.Backoff) {
			return err
		}
		time.Sleep(m.Backoff[i])
	}
}

func (m retryingMailer) try(to string) error {
	ctx, cancel := context.WithTimeout(context.Background(), m.Timeout)
	defer cancel()
	conn, err := m.Dial(ctx, "tcp", m.Addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(m.Timeout)); err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(m.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return err
	}
	if err := c.Mail("app@example.com"); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, "Subject: Invoice\r\n\r\nHere it is.\r\n"); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	_ = c.Quit() // the 250 delivered it: a failed QUIT must not make Send retry
	return nil
}

// testRetriesInFakeTime is a test, written as you would write it (as
// func TestRetries(t *testing.T)): an example has no *testing.T to give
// synctest.Test, so TestExampleFakeTime runs this one.
//
// The mailer meets a server that never greets (it gives up after its
// 30 s timeout), waits a minute, meets greylisting that wants 5 minutes,
// waits 5 minutes, and gets through. That is six and a half minutes of
// mail time; in the bubble they pass at once, and exactly.
func testRetriesInFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(
			mocksmtp.At(mocksmtp.StageConnect).OnAttempt(1).Stall(),
			mocksmtp.GreylistFor(5*time.Minute),
		))
		m := retryingMailer{
			Dial:    srv.DialContext,
			Addr:    srv.Addr(),
			Timeout: 30 * time.Second,
			Backoff: []time.Duration{time.Minute, 5 * time.Minute},
		}
		start := time.Now()

		if err := m.Send("bob@example.com"); err != nil {
			t.Fatalf("Send: %v", err)
		}

		if took := time.Since(start); took != 6*time.Minute+30*time.Second {
			t.Errorf("Send took %v, want 6m30s", took)
		}
		sessions := srv.WaitForSessions(t, 3)
		for i, want := range []time.Duration{0, 90 * time.Second, 390 * time.Second} {
			if at := sessions[i].Start.Sub(start); at != want {
				t.Errorf("attempt %d at %v, want %v", i+1, at, want)
			}
		}
		if s := sessions[0]; s.Ended != mocksmtp.EndClientClosed || s.End.Sub(s.Start) != 30*time.Second {
			t.Errorf("attempt 1: %v after %v, want the client giving up after 30s", s.Ended, s.End.Sub(s.Start))
		}
		if n := len(sessions[2].Messages); n != 1 {
			t.Errorf("attempt 3 delivered %d messages, want 1", n)
		}
	})
}

// A test in fake time, end to end: this whole file is the example. Start
// the server inside synctest.Test with WithInMemory, connect the code
// under test with Server.DialContext, and assert exact durations.
func Example_fakeTime() {
	// See testRetriesInFakeTime above.
}
