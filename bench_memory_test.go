package mocksmtp_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/internal/smtpload"
)

// dialServer connects the benchmarks' client with Server.Dial (over TCP
// or in memory), reads the greeting and says EHLO, every wait bounded by
// benchTimeout.
func dialServer(srv *mocksmtp.Server) (*smtpload.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
	defer cancel()
	conn, err := srv.DialContext(ctx, "tcp", srv.Addr())
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(benchTimeout))
	c := smtpload.New(conn, 0)
	if err := c.Expect(220); err != nil {
		conn.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if err := c.Cmd("EHLO bench.example.com", 250); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// BenchmarkTransports compares the two transports of a server: TCP on
// loopback, and in memory (WithInMemory), on the real clock.
// "lifecycle" is what a test pays for a server: start it, one session
// (greeting, EHLO, QUIT), close it. "message" is one 4 KiB message over
// an open session, recorded in full.
func BenchmarkTransports(b *testing.B) {
	for _, tr := range []struct {
		name string
		opts []mocksmtp.Option
	}{
		{"tcp", nil},
		{"memory", []mocksmtp.Option{mocksmtp.WithInMemory()}},
	} {
		b.Run("lifecycle/"+tr.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				srv, err := mocksmtp.New(tr.opts...)
				if err != nil {
					b.Fatal(err)
				}
				c, err := dialServer(srv)
				if err != nil {
					b.Fatal(err)
				}
				if err := c.Quit(); err != nil {
					b.Fatal(err)
				}
				if err := srv.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("message/"+tr.name, func(b *testing.B) {
			sendEach(b, benchMessage(4<<10), tr.opts...)
		})
	}
}
