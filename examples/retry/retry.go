// Package retry is an example sender that survives a flaky mail server:
// it retries temporary failures (4xx replies, dropped connections) with
// exponential backoff and gives up at once on permanent ones (5xx).
package retry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"time"
)

// Sender sends mail through one server, retrying temporary failures.
type Sender struct {
	Addr     string        // host:port of the mail server
	Attempts int           // how many tries in all (default 3)
	Backoff  time.Duration // the wait before the second try, doubled after each (default 1s)
	Timeout  time.Duration // for one try (default 30s)
	// Dial connects to Addr; nil means a net.Dialer. Tests give it
	// mocksmtp's Server.DialContext, to run the real backoff in fake time.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Send sends msg from → to, and returns the error of the last try.
func (s Sender) Send(ctx context.Context, from string, to []string, msg []byte) error {
	attempts, backoff, timeout := s.Attempts, s.Backoff, s.Timeout
	if attempts <= 0 {
		attempts = 3
	}
	if backoff <= 0 {
		backoff = time.Second
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	var err error
	for i := range attempts {
		if i > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			backoff *= 2
		}
		if err = s.try(ctx, from, to, msg, timeout); err == nil || permanent(err) {
			return err
		}
	}
	return fmt.Errorf("retry: giving up after %d attempts: %w", attempts, err)
}

// permanent reports a 5xx reply: trying again will not help.
func permanent(err error) bool {
	var te *textproto.Error
	return errors.As(err, &te) && te.Code >= 500
}

// try makes one attempt, with a deadline on the whole conversation.
func (s Sender) try(ctx context.Context, from string, to []string, msg []byte, timeout time.Duration) error {
	dial := s.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := dial(ctx, "tcp", s.Addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(s.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
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
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	// The server took the message with its 250: it is delivered. A QUIT
	// that fails now (no reply, a dropped connection) undoes nothing, and
	// a retry would deliver a second copy.
	_ = c.Quit()
	return nil
}
