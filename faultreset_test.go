package mocksmtp_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
)

// TestResetRestartsFaultState runs the same "test" twice on one server,
// with Reset in between, as a suite that shares a server does: each fault
// must behave in the second test as in the first, as on a fresh server
// with the same faults. Each test sends messages with net/smtp over TCP
// and lists the reply code of each (0: delivered).
func TestResetRestartsFaultState(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		fault mocksmtp.Fault
		sends int
		want  []int
	}{
		// The pair greylisted in the first test is refused again on its
		// first try in the second.
		{"Greylist", mocksmtp.Greylist(), 2, []int{451, 0}},
		{"GreylistFor", mocksmtp.GreylistFor(time.Nanosecond), 2, []int{451, 0}},
		// A fault used up in the first test fires again in the second.
		{"AtMost", mocksmtp.At(mocksmtp.StageRcpt).AtMost(1).Reply(421, "4.3.2 try later").Disconnect(), 2, []int{421, 0}},
		// The transactions of the first test do not count in the second.
		{"RateLimitPer", mocksmtp.RateLimitPer(1, time.Hour), 2, []int{0, 451}},
		// Attempts count from 1 again: this one always did.
		{"OnAttempt", mocksmtp.At(mocksmtp.StageRcpt).OnAttempt(1).Reply(421, "4.3.2 try later").Disconnect(), 2, []int{421, 0}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t, mocksmtp.WithFault(tt.fault))
			run := func() []int {
				var codes []int
				for range tt.sends {
					codes = append(codes, faultCode(faultSendMail(srv, "app@example.com", []string{"bob@example.com"})))
				}
				return codes
			}
			if got := run(); !cmp.Equal(got, tt.want) {
				t.Fatalf("first test: codes %v, want %v", got, tt.want)
			}
			srv.Reset()
			if got := run(); !cmp.Equal(got, tt.want) {
				t.Errorf("second test, after Reset: codes %v, want %v as in the first", got, tt.want)
			}
			if n := len(srv.Messages()); n != 1 {
				t.Errorf("after Reset, %d messages, want the second test's 1", n)
			}
		})
	}
}

// TestResetRestartsFaultStateForLiveSessions: a session that outlives
// Reset meets the faults' fresh state at its next command, as any other
// session does, and counts in it once.
func TestResetRestartsFaultStateForLiveSessions(t *testing.T) {
	t.Parallel()
	t.Run("AtMost", func(t *testing.T) {
		t.Parallel()
		srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageNoop).AtMost(1).Reply(451, "4.3.0 once")))
		c := dialFault(t, srv)
		c.must("", 220)
		c.must("NOOP", 451)
		c.must("NOOP", 250) // used up
		srv.Reset()
		c.must("NOOP", 451) // fires once more, for the first session to ask
		c.must("NOOP", 250)
		other := dialFault(t, srv)
		other.must("", 220)
		other.must("NOOP", 250)
		if f := srv.Sessions()[0].Faults; len(f) != 2 {
			t.Errorf("live session's faults %q, want 2 notes", f)
		}
	})
	t.Run("Greylist", func(t *testing.T) {
		t.Parallel()
		srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.Greylist()))
		c := dialFault(t, srv)
		c.must("", 220)
		c.must("EHLO client.example", 250)
		c.must("MAIL FROM:<app@example.com>", 250)
		c.must("RCPT TO:<bob@example.com>", 451)
		srv.Reset()
		// The live session is the first to try the pair after Reset: a
		// retry on it is refused, the next connection passes.
		c.must("RCPT TO:<bob@example.com>", 451)
		c.must("QUIT", 221)
		if got := faultRcptCodes(t, srv, []string{"app@example.com", "bob@example.com"}); !cmp.Equal(got, []int{250}) {
			t.Errorf("next connection: codes %v, want [250]", got)
		}
	})
}

// TestResetWhileFaultsFire resets a server while clients meet its faults:
// safe for concurrent use (run with -race).
func TestResetWhileFaultsFire(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.Greylist(), mocksmtp.RateLimitPer(3, time.Hour),
		mocksmtp.At(mocksmtp.StageData).AtMost(2).Reply(451, "4.3.0 later")))
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 5 {
				err := faultSendMail(srv, "app@example.com", []string{fmt.Sprintf("r%d-%d@example.com", i, j%2)})
				if code := faultCode(err); err != nil && code != 451 {
					t.Errorf("send: %v, want 451 or delivery", err)
				}
			}
		})
	}
	for range 10 {
		srv.Reset()
	}
	wg.Wait()
}
