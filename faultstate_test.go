package mocksmtp_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// An IdleReply that fired belongs to the script it fired from:
// ClearFaults and ReplaceFaults remove its fault, and Reset starts every
// fault afresh, as on a new server with the same faults, so a session
// idle across them is not closed by it. It was: the client of a test
// that had cleared its faults got the removed fault's 421.
func TestIdleReplyEndsWithItsScript(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*mocksmtp.Server) error
	}{
		{"ClearFaults", func(s *mocksmtp.Server) error { s.ClearFaults(); return nil }},
		{"ReplaceFaults", func(s *mocksmtp.Server) error {
			return s.ReplaceFaults(mocksmtp.At(mocksmtp.StageRcpt).Reply(452, "4.5.3 later"))
		}},
		{"ReplaceFaults with the same fault", func(s *mocksmtp.Server) error {
			return s.ReplaceFaults(mocksmtp.At(mocksmtp.StageHelo).IdleReply(time.Minute, 421, "4.4.2 idle too long"))
		}},
		{"Reset", func(s *mocksmtp.Server) error { s.Reset(); return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(
					mocksmtp.At(mocksmtp.StageHelo).IdleReply(time.Minute, 421, "4.4.2 idle too long"),
				))
				c := dialBubble(t, srv)
				c.must("", 220)
				c.must("EHLO client.example", 250)
				synctest.Wait() // the session waits for its next command
				if err := tc.change(srv); err != nil {
					t.Fatal(err)
				}
				time.Sleep(2 * time.Minute)
				c.must("NOOP", 250)
				c.must("QUIT", 221)
			})
		})
	}
}

// Before ClearFaults, the same IdleReply does close the idle session.
func TestIdleReplyBeforeClearFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(
			mocksmtp.At(mocksmtp.StageHelo).IdleReply(time.Minute, 421, "4.4.2 idle too long"),
		))
		c := dialBubble(t, srv)
		c.must("", 220)
		c.must("EHLO client.example", 250)
		time.Sleep(2 * time.Minute)
		c.must("", 421)
		srv.ClearFaults() // after the fact: changes nothing
	})
}
