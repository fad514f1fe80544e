package mocksmtp_test

import (
	"context"
	"net/smtp"
	"sync"
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// A wait for n messages or sessions that succeeds returns at least n, also
// when a Reset comes as it returns: it returns what the server held when
// the wait was met, not what it holds a moment later (it returned fewer,
// even none). Each round resets while a met wait returns.
func TestMetWaitReturnsWhatMetItDespiteReset(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	in := srv.Inbox(t)
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waits := []struct {
		name    string
		session bool // the round's session ends first
		wait    func(ctx context.Context) (int, error)
	}{
		{"Server.WaitForMessagesContext", false, func(ctx context.Context) (int, error) {
			ms, err := srv.WaitForMessagesContext(ctx, 1)
			return len(ms), err
		}},
		{"Inbox.WaitForMessagesContext", false, func(ctx context.Context) (int, error) {
			ms, err := in.WaitForMessagesContext(ctx, 1)
			return len(ms), err
		}},
		{"Server.WaitForSessionsContext", true, func(ctx context.Context) (int, error) {
			ss, err := srv.WaitForSessionsContext(ctx, 1)
			ended := 0
			for _, s := range ss {
				if s.Ended != mocksmtp.Live {
					ended++
				}
			}
			return ended, err
		}},
	}
	for _, w := range waits {
		for range 300 {
			sendOn(t, c, in.Address("a"), "s")
			if w.session {
				if err := smtpQuit(srv.Addr()); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			wg.Go(srv.Reset)
			// A short wait: when the Reset came first, it times out, which
			// is no failure; one that is met must return its message.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Millisecond)
			n, err := w.wait(ctx)
			cancel()
			wg.Wait()
			if err == nil && n < 1 {
				t.Errorf("%s: met, returned %d", w.name, n)
				break
			}
		}
	}
}

// smtpQuit opens a session with addr and quits it.
func smtpQuit(addr string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	return c.Quit()
}
