package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// sessionWait is what a GET /api/wait/sessions in flight answered.
type sessionWait struct {
	status   int
	sessions []sessionJSON
	err      error
}

// waitSessionsAsync sends GET path (a wait) and returns a channel that
// gets its answer.
func waitSessionsAsync(p *proc, path string) <-chan sessionWait {
	done := make(chan sessionWait, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		req, err := newRequest(ctx, p, "GET", path, nil)
		if err != nil {
			done <- sessionWait{err: err}
			return
		}
		res, err := httpClient.Do(req)
		if err != nil {
			done <- sessionWait{err: err}
			return
		}
		defer res.Body.Close()
		w := sessionWait{status: res.StatusCode}
		w.err = json.NewDecoder(res.Body).Decode(&w.sessions)
		done <- w
	}()
	return done
}

var sessionWaitLogged = regexp.MustCompile(`msg=http method=GET path=/api/wait/sessions`)

// A suite testing a client's retry after a 421 (or greylisting) has no
// message to wait for on the first attempt: it waits for the session to
// end.
func TestAPIWaitSessionsSeesAnAttemptThatDeliveredNothing(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-log-level", "debug")
	if res, b := do(t, p, "PUT", "/api/faults", `[{"at": "RCPT", "onAttempt": [1], "reply": "421 4.3.2 try later", "disconnect": true}]`); res.StatusCode != 200 {
		t.Fatalf("PUT /api/faults: %d %s", res.StatusCode, b)
	}
	both := waitSessionsAsync(p, "/api/wait/sessions?count=2&timeout=20s")
	p.stderr.waitFor(t, sessionWaitLogged)

	err := smtp.SendMail(p.smtp, nil, "app@example.com", []string{"bob@example.com"}, []byte("Subject: 1\r\n\r\nx\r\n"))
	if te := (*textproto.Error)(nil); !errors.As(err, &te) || te.Code != 421 {
		t.Fatalf("the first attempt: %v, want a 421", err)
	}
	var first []sessionJSON
	getJSON(t, p, "/api/wait/sessions?count=1&timeout=20s", 200, &first)
	if len(first) != 1 || first[0].ID != 1 || first[0].Live || first[0].Ended != "server closed" ||
		len(first[0].MessageIDs) != 0 || len(first[0].Faults) != 1 {
		t.Fatalf("after the first attempt: %+v, want session 1 ended by the fault, without a message", first)
	}
	select {
	case w := <-both:
		t.Fatalf("the wait for 2 ended sessions answered after one: %d %+v %v", w.status, w.sessions, w.err)
	default:
	}

	sendMail(t, p.smtp, "app@example.com", []string{"bob@example.com"}, "Subject: 2\r\n\r\nx\r\n")
	w := <-both
	if w.err != nil || w.status != 200 {
		t.Fatalf("the wait for 2 ended sessions: %d, %v", w.status, w.err)
	}
	type view struct {
		ID       int
		Live     bool
		Ended    string
		Messages []int
	}
	var got []view
	for _, s := range w.sessions {
		got = append(got, view{s.ID, s.Live, s.Ended, s.MessageIDs})
	}
	want := []view{{1, false, "server closed", []int{}}, {2, false, "QUIT", []int{1}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the sessions (-want +got):\n%s", diff)
	}
	if w.sessions[1].Transcript != nil {
		t.Errorf("session 2 has its transcript; want the sessions as GET /api/sessions lists them")
	}
}

// openSession connects to addr and says EHLO; the session stays open
// until the test ends or the returned connection is closed.
func openSession(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	fmt.Fprintf(c, "EHLO client.example\r\n")
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading from the SMTP session: %v", err)
		}
		if strings.HasPrefix(l, "250 ") {
			return c
		}
	}
}

// sessionWaitTimeout is the body of a 408 of /api/wait/sessions.
type sessionWaitTimeout struct {
	Error    string
	Sessions []sessionJSON
}

func TestAPIWaitSessionsTimesOutWithWhatItHas(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	var body sessionWaitTimeout
	getJSON(t, p, "/api/wait/sessions?timeout=1ms", 408, &body)
	if body.Error != "waited 1ms for 1 ended session, got 0; sessions lists the last 0 of the 0 kept" || body.Sessions == nil || len(body.Sessions) != 0 {
		t.Errorf("with no session: %q, sessions %#v; want an empty list", body.Error, body.Sessions)
	}

	// A session that does not end: the 408 shows where it stands.
	open := openSession(t, p.smtp)
	sendMail(t, p.smtp, "app@example.com", []string{"bob@example.com"}, "Subject: x\r\n\r\nx\r\n")
	getJSON(t, p, "/api/wait/sessions?count=1&timeout=20s", 200, nil) // the sender's
	getJSON(t, p, "/api/wait/sessions?count=2&timeout=50ms", 408, &body)
	for _, want := range []string{
		"waited 50ms for 2 ended sessions, got 1; sessions lists the last 2 of the 2 kept; 1 still open:\nsession 1 ",
		"\n   2 C: EHLO client.example\n",
	} {
		if !strings.Contains(body.Error, want) {
			t.Errorf("the 408's error lacks %q:\n%s", want, body.Error)
		}
	}
	if strings.Contains(body.Error, "session 2 ") {
		t.Errorf("the 408's error shows the transcript of session 2, which ended:\n%s", body.Error)
	}
	if len(body.Sessions) != 2 || !body.Sessions[0].Live || body.Sessions[1].Live || body.Sessions[0].Transcript != nil {
		t.Errorf("the 408's sessions: %+v, want session 1 live and session 2 ended, without transcripts", body.Sessions)
	}

	// Once it ends, the wait is met.
	open.Close()
	var sessions []sessionJSON
	getJSON(t, p, "/api/wait/sessions?count=2&timeout=20s", 200, &sessions)
	if len(sessions) != 2 || sessions[0].Live || sessions[0].Ended != "client closed" {
		t.Errorf("after the client closed: %+v, want both sessions ended, the first by the client", sessions)
	}

	// A reset forgets the ended sessions: waits count from there.
	if res, b := do(t, p, "DELETE", "/api/messages", ""); res.StatusCode != 204 {
		t.Fatalf("DELETE /api/messages: %d %s", res.StatusCode, b)
	}
	getJSON(t, p, "/api/wait/sessions?count=1&timeout=1ms", 408, &body)
	if !strings.HasPrefix(body.Error, "waited 1ms for 1 ended session, got 0;") || len(body.Sessions) != 0 {
		t.Errorf("after a reset: %q, %+v; want no session", body.Error, body.Sessions)
	}
	sendMail(t, p.smtp, "app@example.com", []string{"bob@example.com"}, "Subject: y\r\n\r\ny\r\n")
	getJSON(t, p, "/api/wait/sessions?count=1&timeout=20s", 200, &sessions)
	if len(sessions) != 1 || sessions[0].ID != 3 {
		t.Errorf("after a reset and a session: %+v, want session 3 alone", sessions)
	}
}

// The 408 shows the transcripts of the last open sessions only, as the
// Go API's report does.
func TestAPIWaitSessionsShowsTheLastOpenSessions(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	for range maxOpenShownOnTimeout + 2 {
		openSession(t, p.smtp)
	}
	var body sessionWaitTimeout
	getJSON(t, p, "/api/wait/sessions?timeout=1ms", 408, &body)
	if !strings.Contains(body.Error, "; 5 still open:\n(2 earlier open sessions not shown)\nsession 3 ") ||
		strings.Contains(body.Error, "session 2 ") || !strings.Contains(body.Error, "session 5 ") || len(body.Sessions) != 5 {
		t.Errorf("with 5 open sessions: %d listed, error:\n%s\nwant sessions 3 to 5 shown", len(body.Sessions), body.Error)
	}
}
