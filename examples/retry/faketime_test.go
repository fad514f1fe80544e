package retry_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/examples/retry"
)

// The sender's real backoff, a minute doubled after each try, in fake
// time: the server runs in memory inside a testing/synctest bubble, whose
// clock jumps ahead whenever everything waits. Minutes of mail time take
// microseconds, and the test asserts them exactly.
func TestSendBacksOffMinutesInFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(
			mocksmtp.At(mocksmtp.StageRcpt).OnAttempt(1, 2, 3).Reply(421, "4.3.2 try later").Disconnect(),
		))
		srv.Expect(t, mocksmtp.Want{To: []string{"bob@example.com"}, Subject: "Invoice"})
		s := retry.Sender{Addr: srv.Addr(), Dial: srv.DialContext, Attempts: 4, Backoff: time.Minute}
		start := time.Now()

		if err := s.Send(context.Background(), "app@example.com", []string{"bob@example.com"}, msg); err != nil {
			t.Fatalf("Send: %v", err)
		}

		if took := time.Since(start); took != 7*time.Minute {
			t.Errorf("Send took %v, want 7m (1m + 2m + 4m of backoff)", took)
		}
		sessions := srv.WaitForSessions(t, 4)
		for i, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute} {
			if gap := sessions[i+1].Start.Sub(sessions[i].Start); gap != want {
				t.Errorf("attempt %d came %v after attempt %d, want exactly %v", i+2, gap, i+1, want)
			}
		}
	})
}

// A stalled server: each try gives up after the sender's 30 s timeout
// instead of hanging, and the sender gives up after its attempts.
func TestSendTimesOutOnAStalledServerInFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageMessage).Stall()))
		srv.ExpectNoMessages(t)
		s := retry.Sender{Addr: srv.Addr(), Dial: srv.DialContext, Attempts: 2, Backoff: time.Minute} // Timeout: the default 30s
		start := time.Now()

		err := s.Send(context.Background(), "app@example.com", []string{"bob@example.com"}, msg)
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Send = %v, want a timeout", err)
		}
		if took := time.Since(start); took != 2*30*time.Second+time.Minute {
			t.Errorf("Send gave up after %v, want 2m (two tries of 30s, a minute between)", took)
		}
		for _, s := range srv.WaitForSessions(t, 2) {
			if d := s.End.Sub(s.Start); d != 30*time.Second || s.Ended != mocksmtp.EndClientClosed {
				t.Errorf("session %d: %v after %v, want the client leaving after 30s", s.ID, s.Ended, d)
			}
		}
	})
}

// A server that accepts the message and never answers the QUIT after it:
// the mail is delivered, so the sender must not send it again when its
// QUIT times out (a retry would deliver a second copy).
func TestSendDoesNotResendAnAcceptedMessageInFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageQuit).Stall()))
		srv.Expect(t, mocksmtp.Want{To: []string{"bob@example.com"}, Subject: "Invoice"})             // exactly once
		s := retry.Sender{Addr: srv.Addr(), Dial: srv.DialContext, Attempts: 3, Backoff: time.Minute} // Timeout: the default 30s
		start := time.Now()

		if err := s.Send(context.Background(), "app@example.com", []string{"bob@example.com"}, msg); err != nil {
			t.Fatalf("Send = %v, want nil: the server took the message", err)
		}
		if took := time.Since(start); took != 30*time.Second {
			t.Errorf("Send took %v, want 30s (one try, its QUIT timed out)", took)
		}
		if s := srv.WaitForSessions(t, 1); len(s) != 1 {
			t.Errorf("%d sessions, want 1", len(s))
		}
	})
}
