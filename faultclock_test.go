package mocksmtp_test

import (
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/internal/clock"
)

// clockOption gives a server a clock the test moves ahead, as the
// mocksmtp program's clockOption does (a clock.Carrier).
type clockOption struct {
	mocksmtp.Option
	clock *clock.Clock
}

func (o clockOption) FaultClock() *clock.Clock { return o.clock }

// A suite that moves the clock past a delay of the reply to BDAT LAST as
// soon as it sees the message recorded (before the delay began: it
// counts from the event's read) releases the 250 at once, and the delay
// does not count in the time of an idle reply armed at BDAT: the client
// that got its 250 is not idle yet, and its NOOP gets 250. The idle time
// was measured from a clock read after the message was recorded, after
// the move: the NOOP got the idle 421.
func TestClockMovedAsTheMessageIsRecordedEndsTheDelayNotTheIdleTime(t *testing.T) {
	t.Parallel()
	clk := clock.New()
	srv := mocksmtp.Start(t, clockOption{clock: clk},
		mocksmtp.WithFault(
			mocksmtp.At(mocksmtp.StageBdat).IdleReply(10*time.Minute, 421, "4.4.2 idle too long"),
			mocksmtp.At(mocksmtp.StageMessage).Delay(time.Hour)),
		// What a suite does on seeing the message (GET /api/messages).
		mocksmtp.WithOnMessage(func(*mocksmtp.Message) {
			if _, _, err := clk.Advance(time.Hour); err != nil {
				panic(err)
			}
		}))
	c := dialEHLO(t, srv.Addr())
	c.send("MAIL FROM:<app@example.com>\r\n")
	c.expect("250 2.1.0")
	c.send("RCPT TO:<bob@example.com>\r\n")
	c.expect("250 2.1.5")
	c.send("BDAT 7 LAST\r\nHello\r\n")
	c.expect("250 2.0.0")
	c.send("NOOP\r\n")
	c.expect("250 2.0.0")
}
