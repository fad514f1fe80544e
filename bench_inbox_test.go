package mocksmtp_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/internal/smtpload"
)

// quickSession connects to srv, says EHLO and quits: one session.
func quickSession(srv *mocksmtp.Server) error {
	conn, err := net.DialTimeout("tcp", srv.Addr(), benchTimeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(benchTimeout))
	c := smtpload.New(conn, 0)
	if err := c.Expect(220); err != nil {
		return err
	}
	if err := c.Cmd("EHLO bench.example.com", 250); err != nil {
		return err
	}
	return c.Cmd("QUIT", 221)
}

// BenchmarkInboxWaitForSessions measures one session (connect, EHLO,
// QUIT, its end waited for: one op) on a server that keeps "kept"
// sessions, while 4 tests each wait for their inbox's sessions
// (Inbox.WaitForSessionsContext) to end. A wait should cost what changed
// since it last looked, as the server's own waits do: the same per
// session whether the server keeps a hundred sessions or tens of
// thousands.
func BenchmarkInboxWaitForSessions(b *testing.B) {
	for _, kept := range []int{100, 20000} {
		b.Run(fmt.Sprintf("kept=%d", kept), func(b *testing.B) {
			srv, err := mocksmtp.New()
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for w := range 8 {
				wg.Go(func() {
					for i := w; i < kept; i += 8 {
						if err := quickSession(srv); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			waits := make(chan error, 4)
			for i := range 4 {
				in := srv.NewInbox(fmt.Sprint("waiter", i))
				go func() {
					_, err := in.WaitForSessionsContext(ctx, 1<<30)
					waits <- err
				}()
			}
			for b.Loop() {
				if err := quickSession(srv); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			cancel()
			for range 4 {
				if err := <-waits; !errors.Is(err, context.Canceled) {
					b.Fatalf("a wait for sessions that never end: %v, want it cancelled", err)
				}
			}
		})
	}
}
