package mocksmtp_test

// Limits of the root package at N-1, N, N+1, 2N (and, where octets are
// counted, 1 MiB + 1), over real sockets: each size gets its exact reply,
// and each message accepted is recorded once, byte for byte.

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/smtpd"
)

// The recipients of a transaction at the bound WithMaxRecipients sets,
// and at the one the TooManyRecipients scenario sets: those up to it get
// 250 2.1.5, those past it 452 4.5.3, and the message is recorded once,
// byte for byte, with exactly the recipients accepted.
func TestRecipientLimitsRecorded(t *testing.T) {
	t.Parallel()
	const limit = 10
	for _, bound := range []struct {
		name string
		opt  mocksmtp.Option
	}{
		{"WithMaxRecipients", mocksmtp.WithMaxRecipients(limit)},
		{"TooManyRecipients", mocksmtp.WithFault(mocksmtp.TooManyRecipients(limit))},
	} {
		for _, n := range []int{limit - 1, limit, limit + 1, 2 * limit} {
			t.Run(fmt.Sprintf("%s/%d of %d", bound.name, n, limit), func(t *testing.T) {
				t.Parallel()
				srv := mocksmtp.Start(t, bound.opt)
				c := dialEHLO(t, srv.Addr())
				var wire strings.Builder
				wire.WriteString("MAIL FROM:<a@example.com>\r\n")
				var rcpts []string
				for i := range n {
					rcpt := fmt.Sprintf("r%d@example.com", i)
					rcpts = append(rcpts, rcpt)
					fmt.Fprintf(&wire, "RCPT TO:<%s>\r\n", rcpt)
				}
				c.send(wire.String())
				c.expect("250 2.1.0")
				for i := range n {
					if i < limit {
						c.expect("250 2.1.5")
					} else {
						c.expect("452 4.5.3")
					}
				}
				msg := "Subject: many\r\n\r\nto many\r\n"
				c.send("DATA\r\n")
				c.expect("354 ")
				c.send(msg + ".\r\n")
				c.expect("250 2.0.0")
				c.send("QUIT\r\n")
				c.expect("221 ")
				srv.WaitForSessions(t, 1)
				ms := srv.Messages()
				if len(ms) != 1 || string(ms[0].Raw) != msg || !slices.Equal(ms[0].To, rcpts[:min(n, limit)]) {
					for _, m := range ms {
						t.Logf("recorded: to %q, %q", m.To, m.Raw)
					}
					t.Fatalf("%d messages recorded; want one, byte for byte, to the first %d recipients", len(ms), min(n, limit))
				}
			})
		}
	}
}

// The Exchange persona quotes an unknown verb in its 500 5.3.3 up to 400
// octets (maxQuotedVerb), and its first 400 and "..." past them, so that
// the reply line stays within 512 octets: at N-1, N, N+1, 2N, and in a
// line of 1 MiB, the longest command line the engine takes (set with
// WithEngineConfig). A line of 1 MiB + 1 is past what the engine reads
// of a line at any limit: 500 5.5.2 and the connection closed, the
// engine's own, with no event for the persona to word (smtpd's
// TestLinesAtOneMiB).
func TestExchangeQuotesAVerbUpToItsBound(t *testing.T) {
	t.Parallel()
	const bound = 400
	srv := mocksmtp.Start(t, mocksmtp.WithPersona(mocksmtp.Exchange),
		mocksmtp.WithEngineConfig(smtpd.Config{MaxCommandLine: 1 << 20}))
	verb := func(n int) string { return "X" + strings.Repeat("Y", n-1) }
	for _, n := range []int{bound - 1, bound, bound + 1, 2 * bound, 1<<20 - len("\r\n"), 1<<20 + 1 - len("\r\n")} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			c := dialRaw(t, srv.Addr())
			c.expect("220 ")
			written := make(chan struct{})
			go func() {
				defer close(written)
				_, _ = io.WriteString(c.conn, verb(n)+"\r\n")
			}()
			defer func() { c.conn.Close(); <-written }()
			want := "500 5.3.3 Unrecognized command"
			switch {
			case n+len("\r\n") > 1<<20:
				want = "500 5.5.2 Error: line too long"
			case n > bound:
				want += " '" + verb(bound) + "...'"
			default:
				want += " '" + verb(n) + "'"
			}
			if got, err := c.reply(); got != want || len(got)+len("\r\n") > 512 {
				t.Fatalf("a verb of %d octets: %.80q... (%d octets), %v; want %.80q... (%d octets)", n, got, len(got), err, want, len(want))
			}
			if n+len("\r\n") > 1<<20 {
				c.closed()
				return
			}
			c.send("NOOP\r\n")
			c.expect("250 2.0.0")
		})
	}
}
