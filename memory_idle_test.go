package mocksmtp_test

import (
	"bytes"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// An IdleReply's time runs while the server waits for the client on
// every kind of read, not only for a command: the rest of an AUTH
// exchange after a 334, message data after a line or in the middle of
// one, a chunk, a TLS handshake. A client silent there gets the idle
// reply (or, in the handshake, is disconnected) when the time has run
// out, not the read timeout's 421 minutes later.
func TestIdleReplyOnEveryRead(t *testing.T) {
	const idle = time.Minute
	idleReply := func(st mocksmtp.Stage) mocksmtp.Fault {
		return mocksmtp.At(st).IdleReply(idle, 421, "4.4.2 idle too long")
	}
	toRcpt := func(c *faultConn) {
		c.must("", 220)
		c.must("EHLO client.example", 250)
		c.must("MAIL FROM:<app@example.com>", 250)
		c.must("RCPT TO:<bob@example.com>", 250)
	}
	for _, tt := range []struct {
		name   string
		opts   []mocksmtp.Option
		fault  mocksmtp.Fault
		run    func(c *faultConn) // up to the client's silence
		want   time.Duration      // the time left then
		noSend bool               // the idle reply cannot be sent (a handshake): the connection closes
	}{
		{
			name:  "after the 334 of AUTH",
			opts:  []mocksmtp.Option{mocksmtp.WithAuth("user", "secret")},
			fault: idleReply(mocksmtp.StageHelo),
			run: func(c *faultConn) {
				c.must("", 220)
				c.must("EHLO client.example", 250)
				time.Sleep(10 * time.Second)
				c.must("AUTH LOGIN", 334)
			},
			want: idle - 10*time.Second,
		},
		{
			name:  "after a line of message data",
			fault: idleReply(mocksmtp.StageData),
			run: func(c *faultConn) {
				toRcpt(c)
				c.must("DATA", 354)
				time.Sleep(10 * time.Second)
				c.send("Subject: hello")
			},
			want: idle - 10*time.Second,
		},
		{
			name:  "in the middle of a line of message data",
			fault: idleReply(mocksmtp.StageData),
			run: func(c *faultConn) {
				toRcpt(c)
				c.must("DATA", 354)
				_, _ = io.WriteString(c.conn, "Subject: hel")
			},
			want: idle,
		},
		{
			name:  "in the middle of a line too long to keep",
			fault: idleReply(mocksmtp.StageData),
			run: func(c *faultConn) {
				toRcpt(c)
				c.must("DATA", 354)
				_, _ = c.conn.Write(bytes.Repeat([]byte("a"), 100<<10))
			},
			want: idle,
		},
		{
			name:  "in the middle of a chunk",
			fault: idleReply(mocksmtp.StageBdat),
			run: func(c *faultConn) {
				toRcpt(c)
				_, _ = io.WriteString(c.conn, "BDAT 10\r\nhello")
			},
			want: idle,
		},
		{
			name:  "in the middle of the last chunk",
			fault: idleReply(mocksmtp.StageBdat),
			run: func(c *faultConn) {
				toRcpt(c)
				_, _ = io.WriteString(c.conn, "BDAT 10 LAST\r\nhello")
			},
			want: idle,
		},
		{
			name:  "in the TLS handshake",
			opts:  []mocksmtp.Option{mocksmtp.WithSTARTTLS()},
			fault: idleReply(mocksmtp.StageStartTLS),
			run: func(c *faultConn) {
				c.must("", 220)
				c.must("EHLO client.example", 250)
				c.must("STARTTLS", 220)
			},
			want:   idle,
			noSend: true,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				opts := append([]mocksmtp.Option{mocksmtp.WithInMemory(), mocksmtp.WithFault(tt.fault)}, tt.opts...)
				srv := mocksmtp.Start(t, opts...)
				c := dialBubble(t, srv)
				tt.run(c)
				silent := time.Now()
				want := "421 4.4.2 idle too long\r\n"
				if tt.noSend {
					want = ""
				}
				b, err := io.ReadAll(c.r)
				if took := time.Since(silent); err != nil || string(b) != want || took != tt.want {
					t.Fatalf("the client silent: %q, %v after %v; want %q and the connection closed after %v", b, err, took, want, tt.want)
				}
			})
		})
	}
}

// ClearFaults while the time of an IdleReply is stopped (the pause of a
// paced reply) ends the wait, as when it runs: the client silent after
// the reply gets the read timeout's 421, not the fault's.
func TestIdleReplyClearedDuringAPacedReply(t *testing.T) {
	for _, cleared := range []time.Duration{time.Second, time.Minute, 2*time.Minute - time.Second} {
		synctest.Test(t, func(t *testing.T) {
			srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithReadTimeout(10*time.Minute), mocksmtp.WithFault(
				mocksmtp.At(mocksmtp.StageMail).SplitReply(3, 2*time.Minute).IdleReply(time.Minute, 421, "4.4.2 idle too long")))
			c := dialBubble(t, srv)
			c.must("", 220)
			c.must("EHLO client.example", 250)
			c.send("MAIL FROM:<app@example.com>")
			b := make([]byte, 3)
			if _, err := io.ReadFull(c.r, b); err != nil {
				t.Fatal(err)
			}
			time.Sleep(cleared)
			srv.ClearFaults()
			if rest, err := c.r.ReadString('\n'); err != nil || rest != " 2.1.0 Ok\r\n" {
				t.Fatalf("the rest of the reply to MAIL: %q, %v", rest, err)
			}
			silent := time.Now()
			line, err := c.r.ReadString('\n')
			if took := time.Since(silent); line != "421 4.4.2 localhost Error: timeout exceeded\r\n" || took != 10*time.Minute {
				t.Fatalf("cleared %v into the pause, then silent: %q, %v after %v; want the read timeout's 421 after 10m0s", cleared, line, err, took)
			}
		})
	}
}
