package mocksmtp_test

import (
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// A delay as long as time.Duration holds ("forever"), added to by a
// second Delay or by a fault at the greeting after one at connect, stays
// forever: it does not wrap around to a negative wait, which would send
// the reply at once. The client still waits, until Close ends the delay.
func TestDelaysAddUpWithoutWrappingAround(t *testing.T) {
	const forever = time.Duration(math.MaxInt64)
	for _, tt := range []struct {
		name   string
		faults []mocksmtp.Fault
		toRcpt bool // the delay is at RCPT, not before the greeting
	}{
		{"two Delays of one fault", []mocksmtp.Fault{mocksmtp.At(mocksmtp.StageRcpt).Delay(forever).Delay(time.Hour)}, true},
		{"connect and greeting", []mocksmtp.Fault{mocksmtp.At(mocksmtp.StageConnect).Delay(forever), mocksmtp.At(mocksmtp.StageGreeting).Delay(time.Hour)}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(tt.faults...))
				c := dialBubble(t, srv)
				if tt.toRcpt {
					c.must("", 220)
					c.must("EHLO client.example", 250)
					c.must("MAIL FROM:<app@example.com>", 250)
					c.send("RCPT TO:<bob@example.com>")
				}
				_ = c.conn.SetDeadline(time.Time{}) // the client waits as long as it takes
				got := make(chan faultReply, 1)
				go func() {
					r, _ := c.read()
					got <- r
				}()
				time.Sleep(24 * time.Hour)
				synctest.Wait()
				select {
				case r := <-got:
					t.Fatalf("after 24h of a delay forever, the client read %+v", r)
				default:
				}
				srv.Close()
				if r := <-got; r.Code != 421 {
					t.Errorf("after Close: %+v, want 421", r)
				}
			})
		})
	}
}
