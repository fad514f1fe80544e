package retry_test

import (
	"context"
	"errors"
	"net/textproto"
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/examples/retry"
)

var msg = []byte("From: app@example.com\r\nTo: bob@example.com\r\nSubject: Invoice\r\n\r\nHere it is.\r\n")

// The first two attempts meet a 421 and a dropped connection mid-DATA; the
// third gets through, after the backoff the sender promises.
func TestSendRetriesTemporaryFailuresWithBackoff(t *testing.T) {
	srv := mocksmtp.Start(t, mocksmtp.WithFault(
		mocksmtp.At(mocksmtp.StageRcpt).OnAttempt(1).Reply(421, "4.3.2 try later").Disconnect(),
		mocksmtp.At(mocksmtp.StageData).OnAttempt(2).DropAfterBytes(10),
	))
	srv.Expect(t, mocksmtp.Want{To: []string{"bob@example.com"}, Subject: "Invoice"}) // exactly once
	s := retry.Sender{Addr: srv.Addr(), Attempts: 3, Backoff: 20 * time.Millisecond, Timeout: 5 * time.Second}

	if err := s.Send(context.Background(), "app@example.com", []string{"bob@example.com"}, msg); err != nil {
		t.Fatalf("Send: %v", err)
	}

	sessions := srv.WaitForSessions(t, 3)
	for i, wantGap := range []time.Duration{20 * time.Millisecond, 40 * time.Millisecond} {
		if gap := sessions[i+1].Start.Sub(sessions[i].Start); gap < wantGap {
			t.Errorf("attempt %d came %v after attempt %d, want at least %v", i+2, gap, i+1, wantGap)
		}
	}
	if got := sessions[0].Ended; got != mocksmtp.EndServerClosed {
		t.Errorf("attempt 1 ended %v, want the server closing after its 421", got)
	}
}

// A permanent refusal is not retried.
func TestSendDoesNotRetryPermanentFailures(t *testing.T) {
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.MailboxFull("bob@example.com")))
	srv.ExpectNoMessages(t)
	s := retry.Sender{Addr: srv.Addr(), Backoff: time.Hour} // a retry would hang the test

	err := s.Send(context.Background(), "app@example.com", []string{"bob@example.com"}, msg)
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code != 552 {
		t.Fatalf("Send = %v, want the 552", err)
	}
	if n := len(srv.WaitForSessions(t, 1)); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

// A server that stays down: the sender gives up after its attempts.
func TestSendGivesUp(t *testing.T) {
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.ShuttingDown()))
	s := retry.Sender{Addr: srv.Addr(), Attempts: 2, Backoff: time.Millisecond}

	if err := s.Send(context.Background(), "app@example.com", []string{"bob@example.com"}, msg); err == nil {
		t.Fatal("Send succeeded against a server that is shutting down")
	}
	if n := len(srv.WaitForSessions(t, 2)); n != 2 {
		t.Errorf("%d attempts, want 2", n)
	}
}
