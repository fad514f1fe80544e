package mocksmtp_test

import (
	"net"
	"strings"
	"testing"

	"github.com/mocksmtp/mocksmtp"
)

// A scenario's close is that of its 421, not a Disconnect of its own: an
// ending the user declares on it replaces the close as it does on any
// 421 (ShuttingDown().ResetTCP() is a 421 then a reset), and a reply
// reworded to a code that does not close keeps the connection open. The
// scenarios said Disconnect, so that ResetTCP, HalfClose or Stall on them
// was refused as "after Disconnect", a call the user never wrote.
func TestScenarioEndingIsItsReplys(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		fault mocksmtp.Fault
	}{
		{"ShuttingDown then ResetTCP", mocksmtp.ShuttingDown().ResetTCP()},
		{"ShuttingDown then Stall", mocksmtp.ShuttingDown().Stall()},
		{"RateLimit then HalfClose", mocksmtp.RateLimit(1).HalfClose()},
	} {
		if err := tt.fault.Err(); err != nil {
			t.Errorf("%s: %v, want a valid fault", tt.name, err)
		}
	}

	// RateLimit reworded to a 451: the connection stays open for the next
	// transaction's MAIL, as after any 451.
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.RateLimit(1).Reply(451, "4.7.1 slow down")))
	c := dialFault(t, srv)
	c.must("", 220)
	c.must("EHLO client.example", 250)
	c.must("MAIL FROM:<app@example.com>", 250)
	c.must("RSET", 250)
	c.must("MAIL FROM:<app@example.com>", 451)
	c.must("NOOP", 250)
	c.must("QUIT", 221)

	// ShuttingDown then ResetTCP: the 421, then the reset (which may come
	// before the client's connect returns).
	srv = mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.ShuttingDown().ResetTCP()))
	if conn, err := net.Dial("tcp", srv.Addr()); err == nil {
		defer conn.Close()
	}
	srv.WaitForSessions(t, 1)
	s := srv.Sessions()[0]
	if len(s.Faults) != 1 || !strings.HasSuffix(s.Faults[0], "→ 421 4.3.2 Service shutting down, try again later, TCP reset (shutting down)") {
		t.Errorf("faults %q, want the 421 then a TCP reset", s.Faults)
	}
}
