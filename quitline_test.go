package mocksmtp_test

import (
	"testing"

	"github.com/mocksmtp/mocksmtp"
)

// A client whose last line was an AUTH response that reads "QUIT" (a
// client that gave up on its AUTH LOGIN and sent QUIT, which the server
// took, as it must, for the user name in base64) sent no QUIT command:
// it closed without QUIT, whether or not the transcript masks secrets,
// which changes what it shows, never how the session ended.
func TestAnAuthResponseQUITIsNoQuit(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		opts []mocksmtp.Option
	}{
		{"masked", nil},
		{"WithoutSecretMasking", []mocksmtp.Option{mocksmtp.WithoutSecretMasking()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t, append(tt.opts, mocksmtp.WithAuth("alice", "secret"))...)
			c := dialFault(t, srv)
			c.must("", 220)
			c.must("EHLO client.example", 250)
			c.must("AUTH LOGIN", 334)
			c.must("QUIT", 334) // "QUIT" is base64: the user name; the password's challenge
			c.conn.Close()
			s := srv.WaitForSessions(t, 1)[0]
			if s.Ended != mocksmtp.EndClientClosed {
				t.Errorf("session ended %v (%v), want client closed:\n%s", s.Ended, s.Err, s.Transcript.Numbered())
			}
		})
	}
}
