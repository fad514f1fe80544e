package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/internal/smtpload"
)

// benchSession connects to srv, says EHLO and quits: one session.
func benchSession(srv *mocksmtp.Server) error {
	conn, err := net.DialTimeout("tcp", srv.Addr(), 30*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	c := smtpload.New(conn, 0)
	if err := c.Expect(220); err != nil {
		return err
	}
	if err := c.Cmd("EHLO bench.example.com", 250); err != nil {
		return err
	}
	return c.Cmd("QUIT", 221)
}

// BenchmarkWaitSessionsFromAnAddress measures one session (connect, EHLO,
// QUIT: one op) on a program that keeps "kept" sessions, while 4 tests
// wait (GET /api/wait/sessions?remoteAddr=&inbox=) for their own
// client's session, which has not started: each session that starts
// wakes them to look for it. A look should cost what changed, not every
// session kept.
func BenchmarkWaitSessionsFromAnAddress(b *testing.B) {
	for _, kept := range []int{100, 20000} {
		b.Run(fmt.Sprintf("kept=%d", kept), func(b *testing.B) {
			srv, err := mocksmtp.New()
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			a := newAPI(srv, slog.New(slog.DiscardHandler), false)
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for w := range 8 {
				wg.Go(func() {
					for i := w; i < kept; i += 8 {
						if err := benchSession(srv); err != nil {
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
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			codes := make(chan int, 4)
			for i := range 4 {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest("POST", "http://127.0.0.1/api/inboxes", strings.NewReader(fmt.Sprintf(`{"name": "waiter%d"}`, i)))
				req.Header.Set("Content-Type", "application/json")
				a.ServeHTTP(rec, req)
				var in inboxJSON
				if err := json.Unmarshal(rec.Body.Bytes(), &in); rec.Code != 201 || err != nil {
					b.Fatalf("POST /api/inboxes: %d %s", rec.Code, rec.Body)
				}
				// Port i+1 of 127.0.0.2: no client of the benchmark's.
				path := fmt.Sprintf("http://127.0.0.1/api/wait/sessions?timeout=5m&remoteAddr=127.0.0.2:%d&inbox=%s", i+1, in.Domain)
				go func() {
					rec := httptest.NewRecorder()
					a.ServeHTTP(rec, httptest.NewRequest("GET", path, nil).WithContext(ctx))
					codes <- rec.Code
				}()
			}
			for b.Loop() {
				if err := benchSession(srv); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			cancel()
			for range 4 {
				if code := <-codes; code != 503 {
					b.Fatalf("a wait for a session that never comes: %d, want 503 once cancelled", code)
				}
			}
		})
	}
}
