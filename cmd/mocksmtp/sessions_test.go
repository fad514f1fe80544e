package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/smtp"
	"net/textproto"
	"regexp"
	"strings"
	"syscall"
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

// sessionEnd is what a GET /api/wait/sessions/{id} answered: a session,
// or the error and the session of a 408.
type sessionEnd struct {
	status  int
	session sessionJSON
	timeout sessionEndTimeoutJSON
	err     error
}

// waitSessionEndAsync sends GET path (a wait for one session's end) and
// returns a channel that gets its answer.
func waitSessionEndAsync(p *proc, path string) <-chan sessionEnd {
	done := make(chan sessionEnd, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		req, err := newRequest(ctx, p, "GET", path, nil)
		if err != nil {
			done <- sessionEnd{err: err}
			return
		}
		res, err := httpClient.Do(req)
		if err != nil {
			done <- sessionEnd{err: err}
			return
		}
		defer res.Body.Close()
		e := sessionEnd{status: res.StatusCode}
		if res.StatusCode == 200 {
			e.err = json.NewDecoder(res.Body).Decode(&e.session)
		} else {
			e.err = json.NewDecoder(res.Body).Decode(&e.timeout)
		}
		done <- e
	}()
	return done
}

// A suite that asserts on one session's whole transcript waits for its
// end, as Go's WaitForSessionEnd: the wait answers when the client quits,
// with the session as GET /api/sessions/{id} shows it, ended. (GET
// /api/sessions/{id} answers at once, with the session still open.)
func TestAPIWaitSessionEndAnswersWhenTheClientQuits(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-log-level", "debug")
	c := dialRaw(t, p)
	c.want("MAIL", "MAIL FROM:<app@example.com>", 250, "2.1.0")

	var now sessionJSON
	getJSON(t, p, "/api/sessions/1", 200, &now)
	if !now.Live {
		t.Fatalf("GET /api/sessions/1 during the session: %+v, want it live", now)
	}
	done := waitSessionEndAsync(p, "/api/wait/sessions/1?timeout=20s")
	p.stderr.waitFor(t, regexp.MustCompile(`msg=http method=GET path=/api/wait/sessions/1 `))
	select {
	case e := <-done:
		t.Fatalf("the wait answered while the session was open: %d %+v %v", e.status, e.session, e.err)
	default:
	}
	c.want("QUIT", "QUIT", 221, "2.0.0")

	e := <-done
	if e.err != nil || e.status != 200 {
		t.Fatalf("GET /api/wait/sessions/1: %d %v, want 200", e.status, e.err)
	}
	var want sessionJSON
	getJSON(t, p, "/api/sessions/1", 200, &want)
	if diff := cmp.Diff(want, e.session); diff != "" {
		t.Errorf("the wait's session and GET /api/sessions/1 after it (-GET +wait):\n%s", diff)
	}
	last := e.session.Transcript[len(e.session.Transcript)-1]
	if e.session.Live || e.session.Ended != "QUIT" || e.session.End == nil || last.Dir != "S" || !strings.HasPrefix(last.Text, "221 2.0.0") {
		t.Errorf("the wait's session: live %v, ended %q, end %v, last line %+v; want it ended by QUIT, with the 221", e.session.Live, e.session.Ended, e.session.End, last)
	}
}

// A client that sent more during a delay (DATA pipelined with its RCPT,
// as msmtp and nodemailer send it) and then left ends its session then:
// the wait for its end answers at once, not an hour later, and the
// session says the client closed, with no reply after the delay began.
func TestAPIWaitSessionEndAnswersWhenAClientThatSentMoreLeavesADelay(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	putFaults(t, p, `[{"at": "RCPT", "delay": "1h"}]`)
	c := dialRaw(t, p)
	c.want("MAIL", "MAIL FROM:<app@example.com>", 250, "2.1.0")
	if err := c.tc.PrintfLine("RCPT TO:<bob@example.com>\r\nDATA"); err != nil {
		t.Fatal(err)
	}
	waitLine(t, p, "1", "RCPT attempt 1 → delay 1h0m0s")
	c.tc.Close()

	e := <-waitSessionEndAsync(p, "/api/wait/sessions/1?timeout=10s")
	if e.err != nil || e.status != 200 {
		t.Fatalf("GET /api/wait/sessions/1: %d %v (%s), want 200", e.status, e.err, e.timeout.Error)
	}
	last := e.session.Transcript[len(e.session.Transcript)-1]
	if e.session.Live || e.session.Ended != "client closed" || last.Dir == "S" || len(e.session.MessageIDs) != 0 {
		t.Errorf("the wait's session: live %v, ended %q, last line %+v, messages %v; want it ended as the client closed, with no reply after the delay, no message", e.session.Live, e.session.Ended, last, e.session.MessageIDs)
	}
}

// A wait for a session that does not end answers 408 with the session so
// far: its transcript tells why it has not ended. One not yet started is
// waited for, as WaitForSessionEnd waits: it answers once that session
// has come and gone; its 408 says it has not started. One the server keeps
// no longer (a reset forgot it), and session 0, are 404 at once.
func TestAPIWaitSessionEndTimesOutWithTheSessionSoFar(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-log-level", "debug")
	c := dialRaw(t, p)
	c.want("MAIL", "MAIL FROM:<app@example.com>", 250, "2.1.0")

	var body sessionEndTimeoutJSON
	getJSON(t, p, "/api/wait/sessions/1?timeout=10ms", 408, &body)
	for _, want := range []string{"waited 10ms for session 1 to end, and it is still open; so far:\nsession 1 ", "C: EHLO client.example\n", "C: MAIL FROM:<app@example.com>\n"} {
		if !strings.Contains(body.Error, want) {
			t.Errorf("the 408 of an open session: %q lacks %q", body.Error, want)
		}
	}
	if s := body.Session; s == nil || s.ID != 1 || !s.Live || len(s.Transcript) == 0 || s.Transcript[len(s.Transcript)-1].Text != "250 2.1.0 Ok" {
		t.Errorf("the 408's session: %+v, want session 1 live, with its transcript up to MAIL's 250", s)
	}

	// Session 2, before it starts.
	var raw map[string]any
	getJSON(t, p, "/api/wait/sessions/2?timeout=10ms", 408, &raw)
	if _, ok := raw["session"]; ok || raw["error"] != "waited 10ms for session 2 to end, and it has not started" {
		t.Errorf("the 408 of a session to come: %v, want only an error saying it has not started", raw)
	}
	done := waitSessionEndAsync(p, "/api/wait/sessions/2?timeout=20s")
	p.stderr.waitFor(t, regexp.MustCompile(`(?s)path=/api/wait/sessions/2 .*path=/api/wait/sessions/2 `))
	sendMail(t, p.smtp, "app@example.com", []string{"bob@example.com"}, "Subject: x\r\n\r\nx\r\n")
	if e := <-done; e.err != nil || e.status != 200 || e.session.ID != 2 || e.session.Ended != "QUIT" || len(e.session.MessageIDs) != 1 {
		t.Errorf("the wait for session 2 from before it started: %d %+v %v, want it, ended by QUIT, with its message", e.status, e.session, e.err)
	}

	if res, b := do(t, p, "DELETE", "/api/messages", ""); res.StatusCode != 204 {
		t.Fatalf("DELETE /api/messages: %d %s", res.StatusCode, b)
	}
	for path, want := range map[string]string{
		"/api/wait/sessions/2?timeout=10m": "no session 2: mocksmtp keeps it no longer (DELETE /api/messages or -retain forgot it)",
		"/api/wait/sessions/0?timeout=10m": "no session 0: session IDs start at 1",
	} {
		var e errorJSON
		getJSON(t, p, path, 404, &e)
		if e.Error != want {
			t.Errorf("GET %s: %q, want %q", path, e.Error, want)
		}
	}
	// A reset keeps a live session: still waited for.
	getJSON(t, p, "/api/wait/sessions/1?timeout=1ms", 408, nil)
}

// A wait in flight ends when the program shuts down: 503.
func TestAPIWaitSessionEndEndsOnShutdown(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-log-level", "debug")
	dialRaw(t, p)
	done := waitSessionEndAsync(p, "/api/wait/sessions/1?timeout=5m")
	p.stderr.waitFor(t, regexp.MustCompile(`msg=http method=GET path=/api/wait/sessions/1 `))
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if e := <-done; e.status != 503 || e.timeout.Error != "mocksmtp is shutting down" {
		t.Errorf("a wait at shutdown: %d %+v %v, want 503", e.status, e.timeout, e.err)
	}
}

// The session's ID has one spelling, as in every path (pathID), and the
// timeout is a Go duration of 0 to 10m: anything else is a 400 at once,
// which names it, and never a wait.
func TestAPIWaitSessionEndRefusesBadInput(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	dialRaw(t, p) // session 1, open: a wait for it would last its timeout
	long := strings.Repeat("1", 1<<20+1)
	tests := []struct{ path, want string }{
		{"/api/wait/sessions/+1", `id "+1": want a number, in plain digits`},
		{"/api/wait/sessions/%2B1", `id "+1": want a number`},
		{"/api/wait/sessions/01", `id "01": want a number`},
		{"/api/wait/sessions/00", `id "00": want a number`},
		{"/api/wait/sessions/-0", `id "-0": want a number`},
		{"/api/wait/sessions/-1", `id "-1": want a number`},
		{"/api/wait/sessions/1e3", `id "1e3": want a number`},
		{"/api/wait/sessions/0x1", `id "0x1": want a number`},
		{"/api/wait/sessions/1.0", `id "1.0": want a number`},
		{"/api/wait/sessions/%201", `id " 1": want a number`},
		{"/api/wait/sessions/9223372036854775808", `id "9223372036854775808": want a number`},
		{"/api/wait/sessions/" + long, `id "111`},
		{"/api/wait/sessions/1?timeout=-1ns", `timeout="-1ns": want a duration`},
		{"/api/wait/sessions/1?timeout=10m0.000000001s", "at most 10m0s"},
		{"/api/wait/sessions/1?timeout=2562048h", `timeout="2562048h"`}, // over an int64 of nanoseconds
		{"/api/wait/sessions/1?timeout=5", `timeout="5"`},
		{"/api/wait/sessions/1?timeout=", `timeout="": want a duration`},
		{"/api/wait/sessions/1?timeout=" + long + "s", `timeout="111`},
		{"/api/wait/sessions/1?timeout=1s&timeout=1s", "timeout given 2 times: give it once"},
		{"/api/wait/sessions/1?count=1", `unknown query parameter "count"; the parameters are: timeout`},
	}
	for _, tt := range tests {
		var e errorJSON
		getJSON(t, p, tt.path, 400, &e)
		if !strings.Contains(e.Error, tt.want) || len(e.Error) > 300 {
			t.Errorf("GET %.80s: %.400q, want a short error with %q", tt.path, e.Error, tt.want)
		}
	}
	var e errorJSON
	getJSON(t, p, "/api/wait/sessions/", 404, &e)
	getJSON(t, p, "/api/wait/sessions/1/x", 404, &e)
}

// The wait outlasts the server's read and write timeouts, as the other
// waits do (isWait): a wait of 2s under a write timeout of 200ms gets its
// 408 after 2s, not a connection closed under it.
func TestAPIWaitSessionEndOutlastsTheHTTPTimeouts(t *testing.T) {
	t.Parallel()
	short := 200 * time.Millisecond
	srv, addr, _ := startInProcess(t, httpTimeouts{readHeader: time.Second, read: time.Second, write: short, idle: short}, nil)
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("live.example"); err != nil {
		t.Fatal(err)
	}
	path := "/api/wait/sessions/1?timeout=2s"
	if e := errorOf(t, path, get(t, addr, path), http.StatusRequestTimeout); !strings.HasPrefix(e, "waited 2s for session 1 to end, and it is still open") {
		t.Errorf("GET %s: %q, want a 408 after 2s", path, e)
	}
}

// JSON strings are UTF-8: an octet of no UTF-8 that a client sent (in a
// command line, the HELO name) comes as U+FFFD in the session's JSON, as
// openapi.json says, and GET /api/sessions/{id}/normalized keeps it,
// written as \xff, as Go's Line.String writes it; so does a control.
func TestAPITranscriptOctetsOfNoUTF8(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	c, err := net.DialTimeout("tcp", p.smtp, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	fmt.Fprintf(c, "HELO h\xfe\r\nNOOP \xff\x1b[2J\u202e\r\nQUIT\r\n")
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading from the SMTP session: %v", err)
		}
		if strings.HasPrefix(l, "221 ") {
			break
		}
	}
	var s sessionJSON
	getJSON(t, p, "/api/wait/sessions/1?timeout=10s", http.StatusOK, &s)
	if s.Helo != "h\ufffd" {
		t.Errorf("helo %q, want %q", s.Helo, "h\ufffd")
	}
	found := false
	for _, l := range s.Transcript {
		if l.Dir == "C" && strings.HasPrefix(l.Text, "NOOP") {
			found = true
			if want := "NOOP \ufffd\x1b[2J\u202e"; l.Text != want {
				t.Errorf("transcript text %q, want %q", l.Text, want)
			}
		}
	}
	if !found {
		t.Errorf("no NOOP line in %+v", s.Transcript)
	}
	n := getNormalized(t, p.http, "/api/sessions/1/normalized")
	if want := `C: NOOP \xff\x1b[2J\u202e` + "\n"; !strings.Contains(n, want) {
		t.Errorf("normalized transcript lacks %q:\n%s", want, n)
	}
}
