package mocksmtp_test

import (
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/internal/clock"
)

// exchangeReady begins the Exchange persona's greeting, before its time.
const exchangeReady = "220 localhost Microsoft ESMTP MAIL Service ready at "

// checkGreeting dials srv, in memory, and checks that its greeting is
// want; what names it in the error.
func checkGreeting(t *testing.T, srv *mocksmtp.Server, want, what string) {
	t.Helper()
	conn, err := srv.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, len(want)+2)
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != want+"\r\n" {
		t.Errorf("%s: %q, %v, want %q", what, buf, err, want)
	}
}

// The Exchange persona's greeting says the server's time, as Exchange
// does, read from the clock the faults' times read: on the program's
// frozen clock (its -clock-start), that clock's time, in its zone, the
// same octets every run, and as far ahead as the suite moved it. It
// said the real time.
func TestExchangeGreetingReadsTheServersClock(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, time.January, 1, 9, 0, 0, 0, time.FixedZone("", 9*60*60))
	clk := clock.NewFrozenAt(start)
	srv := mocksmtp.Start(t, mocksmtp.WithPersona(mocksmtp.Exchange), clockOption{clock: clk})
	dialRaw(t, srv.Addr()).expect(exchangeReady + "Thu, 01 Jan 2026 09:00:00 +0900")
	if _, _, _, err := clk.Advance(36 * time.Hour); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, srv.Addr())
	if got, err := c.reply(); err != nil || got != exchangeReady+"Fri, 02 Jan 2026 21:00:00 +0900" {
		t.Errorf("greeting on a clock moved 36h: %q, %v, want the start plus 36h", got, err)
	}
}

// In a Go test, the server's clock is the time package's: in a
// testing/synctest bubble, the bubble's fake time, which the greeting
// says.
func TestExchangeGreetingInABubbleSaysItsTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithPersona(mocksmtp.Exchange))
		time.Sleep(90 * time.Minute)
		checkGreeting(t, srv, exchangeReady+time.Now().Format(time.RFC1123Z), "greeting in a bubble")
	})
}

// The greeting says the time it goes out at: after a fault's delay, the
// time the delay ended, not the time the server began it.
func TestExchangeGreetingAfterADelaySaysItsTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithPersona(mocksmtp.Exchange),
			mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageGreeting).Delay(5*time.Minute)))
		want := exchangeReady + time.Now().Add(5*time.Minute).Format(time.RFC1123Z)
		checkGreeting(t, srv, want, "greeting after a delay of 5m")
	})
}
