package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// waitClockAtOnce GETs /api/wait/clock?query with timeout=10m, and fails
// unless it answers 408 within 10s of real time: what a wait that can
// never be met answers at once, instead of at its timeout.
func waitClockAtOnce(t *testing.T, p *proc, query string) clockWaitTimeoutJSON {
	t.Helper()
	got, err := getClockAtOnce(p, query)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// getClockAtOnce is waitClockAtOnce for any goroutine: it returns what
// went wrong.
func getClockAtOnce(p *proc, query string) (clockWaitTimeoutJSON, error) {
	var got clockWaitTimeoutJSON
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	path := "/api/wait/clock?timeout=10m&" + query
	req, err := newRequest(ctx, p, "GET", path, nil)
	if err != nil {
		return got, err
	}
	res, err := httpClient.Do(req)
	if err != nil {
		return got, fmt.Errorf("GET %s: %v (a wait that can never be met, to answer at once)", path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return got, fmt.Errorf("GET %s: reading the body: %v", path, err)
	}
	if err := json.Unmarshal(b, &got); err != nil || res.StatusCode != 408 {
		return got, fmt.Errorf("GET %s: %d %s (%v), want 408", path, res.StatusCode, b, err)
	}
	return got, nil
}

// A suite waits for its session's delay (session=ID&kind=delay), but the
// session has ended: its client gave up during an idle reply's time, or
// got the idle reply's 421 when a move ended that time, or mocksmtp has
// forgotten it. No wait of it can begin, and the wait answers 408 at
// once, not at its timeout (10m), naming the session, how it ended and
// its transcript, also when it ended before the wait was asked for; a
// session not started yet may still begin one, and is waited for.
func TestClockWaitForAnEndedSessionAnswersAtOnce(t *testing.T) {
	t.Parallel()
	idle := `[{"at": "HELO", "idleReply": {"after": "1h", "code": 421, "text": "4.4.2 idle"}}, {"at": "MAIL", "delay": "1h"}]`
	ended := func(t *testing.T, got clockWaitTimeoutJSON, id int, how string) {
		t.Helper()
		if want := fmt.Sprintf("no wait on the clock can begin in the session named: session %d ended (%s", id, how); !strings.HasPrefix(got.Error, want) ||
			!strings.Contains(got.Error, fmt.Sprintf("; answered at once, before timeout=10m0s, not waiting for 1 wait on the clock of session %d, of kind delay in progress (", id)) ||
			!strings.Contains(got.Error, fmt.Sprintf("; how each ended:\nsession %d ", id)) || !strings.Contains(got.Error, "ended: "+how) ||
			got.Clock.Waits != 0 || len(got.Clock.WaitList) != 0 {
			t.Errorf("408 of the wait for a delay of the ended session %d: %q, %+v; want it to say %q..., its transcript, no waits", id, got.Error, got.Clock, want)
		}
	}
	t.Run("client left during the idle time", func(t *testing.T) {
		t.Parallel()
		p := start(t, nil)
		putFaults(t, p, idle)
		conn, expect := dialExpect(t, p.smtp)
		expect("", 220)
		expect("HELO app.example", 250)
		getJSON(t, p, "/api/wait/clock?session=1&kind=idleReply&timeout=10s", 200, new(clockJSON))
		answer := make(chan error, 1)
		var got clockWaitTimeoutJSON
		go func() {
			var err error
			got, err = getClockAtOnce(p, "session=1&kind=delay")
			answer <- err
		}()
		conn.Close() // the client's own timeout: it gives up
		if err := <-answer; err != nil {
			t.Fatal(err)
		}
		ended(t, got, 1, "client closed")
		if !strings.Contains(got.Error, "C: HELO app.example") {
			t.Errorf("408 without the session's transcript: %q", got.Error)
		}
	})
	t.Run("421 of the idle time, before the wait", func(t *testing.T) {
		t.Parallel()
		p := start(t, nil)
		putFaults(t, p, idle)
		_, expect := dialExpect(t, p.smtp)
		expect("", 220)
		expect("HELO app.example", 250)
		getJSON(t, p, "/api/wait/clock?session=1&kind=idleReply&timeout=10s", 200, new(clockJSON))
		advance(t, p, "1h")
		expect("", 421)
		getJSON(t, p, "/api/wait/sessions/1?timeout=10s", 200, new(sessionJSON))
		got := waitClockAtOnce(t, p, "session=1&kind=delay")
		ended(t, got, 1, "server closed")
		if !strings.Contains(got.Error, "S: 421 4.4.2 idle") {
			t.Errorf("408 without the idle reply in the transcript: %q", got.Error)
		}
		// Forgotten: mocksmtp keeps it no longer.
		if res, b := do(t, p, "DELETE", "/api/messages", ""); res.StatusCode/100 != 2 {
			t.Fatalf("DELETE /api/messages: %d %s", res.StatusCode, b)
		}
		// The same every run: no time it took (a suite may compare it).
		got = waitClockAtOnce(t, p, "session=1&kind=delay")
		if want := "no wait on the clock can begin in the session named: mocksmtp keeps session 1 no longer (DELETE /api/messages or -retain forgot it); answered at once, before timeout=10m0s, not waiting for 1 wait on the clock of session 1, of kind delay in progress (" + clockWaitsAre + "), and 0 is"; got.Error != want {
			t.Errorf("408 of the wait for a forgotten session:\n%q\nwant\n%q", got.Error, want)
		}
	})
	t.Run("one ended, one not started", func(t *testing.T) {
		t.Parallel()
		p := start(t, nil)
		putFaults(t, p, idle)
		_, expect := dialExpect(t, p.smtp)
		expect("", 220)
		expect("QUIT", 221)
		getJSON(t, p, "/api/wait/sessions/1?timeout=10s", 200, new(sessionJSON))
		var got clockWaitTimeoutJSON
		getJSON(t, p, "/api/wait/clock?session=1&session=2&kind=delay&timeout=50ms", 408, &got)
		if want := "waited 50ms for 1 wait on the clock of session 1, 2, of kind delay in progress ("; !strings.HasPrefix(got.Error, want) {
			t.Errorf("408 of the wait for an ended session and one not started: %q, want %q... (session 2 may still begin a wait)", got.Error, want)
		}
		// Both ended.
		_, expect = dialExpect(t, p.smtp)
		expect("", 220)
		expect("QUIT", 221)
		getJSON(t, p, "/api/wait/sessions/2?timeout=10s", 200, new(sessionJSON))
		got = waitClockAtOnce(t, p, "session=2&session=1&kind=delay")
		if want := "no wait on the clock can begin in any of the sessions named: session 1 ended (QUIT), session 2 ended (QUIT); "; !strings.HasPrefix(got.Error, want) {
			t.Errorf("408 of the wait for two ended sessions: %q, want %q...", got.Error, want)
		}
		// It shows the transcripts of the last 3, as for open sessions.
		for range 2 {
			_, expect = dialExpect(t, p.smtp)
			expect("", 220)
			expect("QUIT", 221)
		}
		getJSON(t, p, "/api/wait/sessions?count=4&timeout=10s", 200, nil)
		got = waitClockAtOnce(t, p, "session=1&session=2&session=3&session=4")
		if want := "; how each ended:\n(1 earlier ended session not shown)\nsession 2 "; !strings.Contains(got.Error, want) || strings.Contains(got.Error, "\nsession 1 ") {
			t.Errorf("408 of the wait for four ended sessions: %q, want %q... without session 1's transcript", got.Error, want)
		}
	})
}
