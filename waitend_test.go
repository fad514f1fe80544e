package mocksmtp_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// TestWaitForSessionEnd checks that the wait returns the session it names
// once that session has ended, whatever the others do: one that ends
// first, one not started when the wait began.
func TestWaitForSessionEnd(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	a := dialFault(t, srv)
	a.must("", 220)
	a.must("EHLO a.example", 250)

	type result struct {
		s   *mocksmtp.Session
		err error
	}
	waits := make(chan result, 2)
	for _, id := range []int{2, 3} { // 2 starts below; 3 later still
		go func() {
			s, err := srv.WaitForSessionEndContext(context.Background(), id)
			waits <- result{s, err}
		}()
	}
	b := dialFault(t, srv)
	b.must("", 220)
	b.must("EHLO b.example", 250)
	a.must("QUIT", 221) // session 1 ends first: no wait returns for it
	b.must("NOOP", 250)
	b.must("QUIT", 221)
	c := dialFault(t, srv)
	c.must("", 220)
	c.must("HELO c.example", 250)
	c.must("QUIT", 221)

	got := map[int]*mocksmtp.Session{}
	for range 2 {
		select {
		case r := <-waits:
			if r.err != nil {
				t.Fatalf("WaitForSessionEndContext: %v", r.err)
			}
			got[r.s.ID] = r.s
		case <-time.After(10 * time.Second):
			t.Fatal("WaitForSessionEndContext did not return after its session ended")
		}
	}
	for id, helo := range map[int]string{2: "b.example", 3: "c.example"} {
		s := got[id]
		if s == nil {
			t.Fatalf("no wait returned session %d; got %v", id, got)
		}
		if s.Ended != mocksmtp.EndQuit || s.Helo != helo {
			t.Errorf("session %d: Ended %v, Helo %q; want %v, %q", id, s.Ended, s.Helo, mocksmtp.EndQuit, helo)
		}
		if n := len(s.Transcript); n == 0 || !strings.HasPrefix(s.Transcript[n-1].Text, "221") {
			t.Errorf("session %d: transcript does not end with the 221:\n%s", id, s.Transcript)
		}
	}
	if s := srv.WaitForSessionEnd(t, 1); s.Helo != "a.example" || s.Ended != mocksmtp.EndQuit {
		t.Errorf("WaitForSessionEnd(1) of an ended session: Helo %q, Ended %v", s.Helo, s.Ended)
	}
}

// TestWaitForSessionEndErrors checks the wait's errors: a session the
// server no longer keeps and an ID that names none are errors at once; a
// live session at the context's end, or one never started when the server
// closes, are errors saying so.
func TestWaitForSessionEndErrors(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithRetention(1))
	for range 2 {
		c := dialFault(t, srv)
		c.must("", 220)
		c.must("QUIT", 221)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Session 1 may still be live here (the server records a session's
	// end after its 221): a first wait has it, or finds it forgotten
	// already; either way WithRetention(1) has forgotten it after, session
	// 2 having started.
	if s, err := srv.WaitForSessionEndContext(ctx, 1); err == nil && (s.ID != 1 || s.Ended != mocksmtp.EndQuit) || err != nil && !strings.Contains(err.Error(), "keeps it no longer") {
		t.Fatalf("the first WaitForSessionEndContext(1) = %v, %v", s, err)
	}
	for _, tc := range []struct {
		id   int
		want string
	}{
		{1, "session 1 to end: the server keeps it no longer"},
		{0, "session 0 to end: session IDs start at 1"},
		{-1, "session -1 to end: session IDs start at 1"},
	} {
		s, err := srv.WaitForSessionEndContext(ctx, tc.id)
		if s != nil || err == nil || !strings.Contains(err.Error(), tc.want) || ctx.Err() != nil {
			t.Errorf("WaitForSessionEndContext(%d) = %v, %v; want nil and an error at once saying %q", tc.id, s, err, tc.want)
		}
	}

	live := dialFault(t, srv)
	live.must("", 220)
	live.must("EHLO live.example", 250)
	srv.WaitUntil(t, "session 3", func() bool { return srv.Session(3) != nil })
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	s, err := srv.WaitForSessionEndContext(done, 3)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "session 3 to end: it is still open") {
		t.Errorf("WaitForSessionEndContext(3) at the context's end: error %v, want context.Canceled and \"it is still open\"", err)
	}
	if s == nil || s.ID != 3 || s.Ended != mocksmtp.Live || s.Helo != "live.example" {
		t.Errorf("WaitForSessionEndContext(3) at the context's end returned %+v, want the live session", s)
	}
	if _, err := srv.WaitForSessionEndContext(done, 4); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "session 4 to end: it has not started") {
		t.Errorf("WaitForSessionEndContext(4) at the context's end: error %v, want context.Canceled and \"it has not started\"", err)
	}

	future := make(chan error, 1)
	go func() {
		_, err := srv.WaitForSessionEndContext(ctx, 4)
		future <- err
	}()
	ended := make(chan *mocksmtp.Session, 1)
	go func() {
		s, _ := srv.WaitForSessionEndContext(ctx, 3)
		ended <- s
	}()
	srv.Close() // ends session 3 (421), and session 4 never comes
	if err := <-future; !errors.Is(err, mocksmtp.ErrClosed) || !strings.Contains(err.Error(), "it has not started") {
		t.Errorf("WaitForSessionEndContext(4) when the server closed: %v, want ErrClosed and \"it has not started\"", err)
	}
	if s := <-ended; s == nil || s.Ended == mocksmtp.Live {
		t.Errorf("WaitForSessionEndContext(3) when the server closed it: %+v, want the ended session", s)
	}
}

// TestWaitForSessionEndReports checks what WaitForSessionEnd fails a test
// with: the session it waited for and why, with the open sessions'
// transcripts.
func TestWaitForSessionEndReports(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		id   int
		want []string
	}{
		{"still open", 1, []string{"mocksmtp: WaitForSessionEnd: want session 1 to end within 50ms; it is still open:", "EHLO open.example"}},
		{"not started", 2, []string{"mocksmtp: WaitForSessionEnd: want session 2 to end within 50ms; it has not started:"}},
		{"no such ID", 0, []string{"mocksmtp: WaitForSessionEnd: waiting for session 0 to end: session IDs start at 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ft := &expT{name: "TestSessionEnd"}
			ft.run(func() {
				srv := mocksmtp.Start(ft, mocksmtp.WithWaitTimeout(50*time.Millisecond), mocksmtp.WithoutTranscriptLog())
				c := dialFault(t, srv)
				c.must("", 220)
				c.must("EHLO open.example", 250)
				srv.WaitForSessionEnd(ft, tc.id)
				ft.Errorf("WaitForSessionEnd returned")
			})
			report := strings.Join(ft.errors, "\n")
			for _, w := range tc.want {
				if !strings.Contains(report, w) {
					t.Errorf("report does not say %q:\n%s", w, report)
				}
			}
		})
	}
}
