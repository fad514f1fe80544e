package mocksmtp_test

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
)

// GreylistFor on the bubble's clock: a retry before the delay is
// greylisted again, without restarting the wait; the first one at the
// delay passes.
func TestGreylistForInFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(mocksmtp.GreylistFor(5*time.Minute)))
		start := time.Now()
		var codes []int
		for _, at := range []time.Duration{0, time.Minute, 5*time.Minute - time.Nanosecond, 5 * time.Minute, 6 * time.Minute} {
			time.Sleep(start.Add(at).Sub(time.Now()))
			codes = append(codes, faultRcptCodes(t, srv, []string{"app@example.com", "bob@example.com"})...)
		}
		if want := []int{451, 451, 451, 250, 250}; !cmp.Equal(codes, want) {
			t.Errorf("RCPT codes at 0, 1m, 5m-1ns, 5m, 6m: %v, want %v", codes, want)
		}
		// Each pair has its own wait; the same connection never passes.
		codes = faultRcptCodes(t, srv, []string{"app@example.com", "carol@example.com", "carol@example.com", "bob@example.com"})
		if want := []int{451, 451, 250}; !cmp.Equal(codes, want) {
			t.Errorf("codes %v, want %v", codes, want)
		}
		if f := srv.Sessions()[0].Faults; len(f) != 1 || !strings.HasSuffix(f[0], "(greylist for 5m0s)") {
			t.Errorf("faults %q", f)
		}
	})
}

// A client that retries on a greylisting server's 451 with its own
// backoff (1m, 2m, 4m): it gets through on the first attempt at least 5
// minutes after the first, at exactly 7 minutes.
func TestGreylistForRetryingClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(mocksmtp.GreylistFor(5*time.Minute)))
		start := time.Now()
		backoff := time.Minute
		for {
			err := faultSendMail(srv, "app@example.com", []string{"bob@example.com"})
			if err == nil {
				break
			}
			if faultCode(err) != 451 {
				t.Fatalf("send: %v", err)
			}
			time.Sleep(backoff)
			backoff *= 2
		}
		if took := time.Since(start); took != 7*time.Minute {
			t.Errorf("delivered after %v, want 7m (attempts at 0, 1m, 3m, 7m)", took)
		}
		if n := len(srv.WaitForSessions(t, 4)); n != 4 {
			t.Errorf("%d attempts, want 4", n)
		}
	})
}

// RateLimitPer on the bubble's clock: n transactions per interval, the
// interval counted from each.
func TestRateLimitPerInFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(mocksmtp.RateLimitPer(2, time.Minute)))
		start := time.Now()
		var codes []int
		for _, at := range []time.Duration{0, 10 * time.Second, 20 * time.Second, time.Minute - time.Nanosecond, time.Minute, 70 * time.Second, 70 * time.Second} {
			time.Sleep(start.Add(at).Sub(time.Now()))
			c := dialBubble(t, srv)
			r, err := c.reach([]string{"EHLO c"}, "MAIL FROM:<a@x>")
			if err != nil {
				t.Fatal(err)
			}
			codes = append(codes, r.Code)
			c.must("QUIT", 221)
		}
		// At 1m the first one's minute is over, at 1m10s the second's.
		if want := []int{250, 250, 451, 451, 250, 250, 451}; !cmp.Equal(codes, want) {
			t.Errorf("MAIL codes at 0, 10s, 20s, 1m-1ns, 1m, 1m10s, 1m10s: %v, want %v", codes, want)
		}
	})
}

func TestGreylistForNegative(t *testing.T) {
	t.Parallel()
	if _, err := mocksmtp.New(mocksmtp.WithFault(mocksmtp.GreylistFor(-time.Second))); err == nil || !strings.Contains(err.Error(), "GreylistFor(-1s)") {
		t.Errorf("New = %v, want an error naming GreylistFor(-1s)", err)
	}
	if got := mocksmtp.GreylistFor(time.Minute).String(); !strings.HasPrefix(got, "RCPT greylist for 1m0s → 451 4.7.1 ") {
		t.Errorf("String() = %q", got)
	}
}

// GreylistFor times a retry by its RCPT, as a greylisting policy server
// does, not by when its connection opened: a connection opened before the
// delay ran out passes once its RCPT comes after it.
func TestGreylistForTimesTheRetryByItsRcpt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(mocksmtp.GreylistFor(5*time.Minute)))
		if codes := faultRcptCodes(t, srv, []string{"app@example.com", "bob@example.com"}); !cmp.Equal(codes, []int{451}) {
			t.Fatalf("first RCPT: %v, want [451]", codes)
		}
		time.Sleep(4 * time.Minute)
		c := dialBubble(t, srv) // at 4m
		c.must("", 220)
		c.must("EHLO client.example", 250)
		c.must("MAIL FROM:<app@example.com>", 250)
		time.Sleep(2 * time.Minute)
		c.must("RCPT TO:<bob@example.com>", 250) // at 6m
		c.must("QUIT", 221)
	})
}
