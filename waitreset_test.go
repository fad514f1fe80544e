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

// Inbox.Reset forgets the inbox's messages at once: whoever reads the
// inbox while it runs sees every message or none, never a part. It
// deleted them one at a time, each under a lock of its own, so a reader
// saw the inbox shrink message by message (a wait for one message met
// by a message the Reset was deleting). Each round resets an inbox of 50
// messages while a reader looks at it until the Reset returns.
func TestInboxResetIsAtomic(t *testing.T) {
	t.Parallel()
	const n = 50
	srv := mocksmtp.Start(t)
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for round := range 20 {
		in := srv.NewInbox("reset")
		for range n {
			sendOn(t, c, in.Address("a"), "s")
		}
		if got := len(in.Messages()); got != n {
			t.Fatalf("round %d: %d messages before the Reset, want %d", round, got, n)
		}
		done := make(chan struct{})
		var seen []int // the counts the reader saw that are neither n nor 0
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if got := len(in.Messages()); got != n && got != 0 {
					seen = append(seen, got)
				}
				if _, got := srv.Count(); got != n && got != 0 {
					seen = append(seen, got)
				}
			}
		})
		in.Reset()
		close(done)
		wg.Wait()
		if len(seen) > 0 {
			t.Fatalf("round %d: while Reset forgot %d messages, readers saw %d of them (and %d more counts between)", round, n, seen[0], len(seen)-1)
		}
		if got := len(in.Messages()); got != 0 {
			t.Fatalf("round %d: %d messages after the Reset", round, got)
		}
	}
}
