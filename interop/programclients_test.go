package interop

import (
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
)

// TestProgramAuthAnySwaks logs in to the program started with -auth-any
// with made-up credentials, by swaks with each mechanism the flag offers:
// the login succeeds, the mail is sent, and GET /api/sessions shows who
// logged in and that it succeeded.
func TestProgramAuthAnySwaks(t *testing.T) {
	t.Parallel()
	swaks := needProgram(t, "swaks", "apt-get install swaks")
	for _, mech := range []string{"PLAIN", "LOGIN"} {
		t.Run(mech, func(t *testing.T) {
			t.Parallel()
			p := startProgram(t, "-auth-any")
			host, port, err := net.SplitHostPort(p.smtp)
			if err != nil {
				t.Fatal(err)
			}
			out, err := runProgram(t, nil, swaks, "--server", host, "--port", port, "--helo", "client.example", "--timeout", "20",
				"--from", "alice@example.com", "--to", "bob@example.com",
				"--auth", mech, "--auth-user", "made-up-"+mech, "--auth-password", "any-Pa55word")
			if err != nil {
				t.Fatalf("swaks: %v\n%s", err, out)
			}
			if res, body := p.call(t, "GET", "/api/wait/sessions?count=1&timeout=10s", ""); res.StatusCode != 200 {
				t.Fatalf("GET /api/wait/sessions: %s\n%s", res.Status, body)
			}
			res, body := p.call(t, "GET", "/api/sessions", "")
			if res.StatusCode != 200 {
				t.Fatalf("GET /api/sessions: %s\n%s", res.Status, body)
			}
			type auth struct {
				Mechanism string `json:"mechanism"`
				Username  string `json:"username"`
				Success   bool   `json:"success"`
			}
			var sessions []struct {
				Ended      string `json:"ended"`
				Auth       *auth  `json:"auth"`
				MessageIDs []int  `json:"messageIds"`
			}
			if err := json.Unmarshal(body, &sessions); err != nil {
				t.Fatalf("GET /api/sessions: %v\n%s", err, body)
			}
			if len(sessions) != 1 {
				t.Fatalf("GET /api/sessions: %d sessions, want 1\n%s", len(sessions), body)
			}
			s := sessions[0]
			if diff := cmp.Diff(&auth{Mechanism: mech, Username: "made-up-" + mech, Success: true}, s.Auth); diff != "" {
				t.Errorf("the session's auth (-want +got):\n%s\n%s", diff, body)
			}
			if s.Ended != "QUIT" || len(s.MessageIDs) != 1 {
				t.Errorf("session ended %q with messages %v, want QUIT and one message\n%s", s.Ended, s.MessageIDs, body)
			}
		})
	}
}

// TestProgramWaitSessionEndPython waits with GET
// /api/wait/sessions/{id} from Python's urllib (testdata/wait_session_end.py)
// for a session that smtplib holds open: with 100ms the wait answers 408
// with the session live; the wait started before the client quits
// answers 200 with the session ended by QUIT.
func TestProgramWaitSessionEndPython(t *testing.T) {
	t.Parallel()
	python := needProgram(t, "python3", "apt-get install python3")
	p := startProgram(t)
	out, err := runProgram(t, nil, python, "testdata/wait_session_end.py", p.http)
	if err != nil {
		t.Fatalf("wait_session_end.py: %v\n%s", err, out)
	}
	var got struct {
		Status int `json:"status"`
		Body   struct {
			ID    int    `json:"id"`
			Live  bool   `json:"live"`
			Ended string `json:"ended"`
			Helo  string `json:"helo"`
		} `json:"body"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("wait_session_end.py: %v\n%s", err, out)
	}
	if got.Status != 200 || got.Body.ID != 1 || got.Body.Live || got.Body.Ended != "QUIT" || got.Body.Helo != "client.example" {
		t.Errorf("the wait answered %d with session %d live=%v ended %q helo %q, want 200 with session 1 ended by QUIT from client.example\n%s",
			got.Status, got.Body.ID, got.Body.Live, got.Body.Ended, got.Body.Helo, out)
	}
}

// TestProgramClockPython retries a greylisted mail in fake time from
// Python (testdata/greylist_clock.py): smtplib is refused 451 4.7.1 by
// greylistFor 5m, at once again, and delivers once urllib moved the
// program's clock 5m (POST /api/clock/advance), as a suite whose own
// clock is fake (freezegun) would; the clock never goes back.
func TestProgramClockPython(t *testing.T) {
	t.Parallel()
	python := needProgram(t, "python3", "apt-get install python3")
	p := startProgram(t)
	out, err := runProgram(t, nil, python, "testdata/greylist_clock.py", p.http)
	if err != nil {
		t.Fatalf("greylist_clock.py: %v\n%s", err, out)
	}
	var got struct {
		Codes  []int  `json:"codes"`
		Offset string `json:"offset"`
		Back   int    `json:"back"`
		Error  string `json:"error"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("greylist_clock.py: %v\n%s", err, out)
	}
	if diff := cmp.Diff([]int{451, 451, 250}, got.Codes); diff != "" {
		t.Errorf("the attempts' codes: refused, refused at once, delivered once the clock moved 5m (-want +got):\n%s", diff)
	}
	if got.Offset != "5m0s" || got.Back != 400 || !strings.Contains(got.Error, "the clock never goes back") {
		t.Errorf("the clock: offset %q, a move back %d %q; want 5m0s, and 400 saying it never goes back", got.Offset, got.Back, got.Error)
	}
	res, body := p.call(t, "GET", "/api/messages?subject=invoice", "")
	if res.StatusCode != 200 || !strings.Contains(string(body), `"subject": "invoice"`) {
		t.Errorf("GET /api/messages: %s\n%s", res.Status, body)
	}
}

// TestProgramFrozenClockPython checks greylistFor's boundary exactly
// from Python (testdata/greylist_frozen.py), on the program started with
// -clock frozen, as a suite whose own clock stands still (freezegun)
// would: smtplib is refused 451 4.7.1, and again after urllib moved the
// clock 5m-1ns ("4m59.999999999s"), and delivers after 1ns more, every
// run, however long the sessions take in real time: the clock reads the
// program's start plus the moves, and nothing else.
func TestProgramFrozenClockPython(t *testing.T) {
	t.Parallel()
	python := needProgram(t, "python3", "apt-get install python3")
	p := startProgram(t, "-clock", "frozen")
	out, err := runProgram(t, nil, python, "testdata/greylist_frozen.py", p.http)
	if err != nil {
		t.Fatalf("greylist_frozen.py: %v\n%s", err, out)
	}
	type move struct {
		Now    time.Time `json:"now"`
		Offset string    `json:"offset"`
	}
	var got struct {
		Codes        []int     `json:"codes"`
		Mode         string    `json:"mode"`
		Start        time.Time `json:"start"`
		AfterSession time.Time `json:"afterSession"`
		Moves        []move    `json:"moves"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("greylist_frozen.py: %v\n%s", err, out)
	}
	if diff := cmp.Diff([]int{451, 451, 250}, got.Codes); diff != "" {
		t.Errorf("the attempts' codes: refused, refused after 5m-1ns, delivered after 5m (-want +got):\n%s", diff)
	}
	if got.Mode != "frozen" || !got.AfterSession.Equal(got.Start) {
		t.Errorf("the clock: mode %q, now %v at the start and %v after a session; want frozen, standing still", got.Mode, got.Start, got.AfterSession)
	}
	want := []move{{got.Start.Add(5*time.Minute - time.Nanosecond), "4m59.999999999s"}, {got.Start.Add(5 * time.Minute), "5m0s"}}
	if diff := cmp.Diff(want, got.Moves); diff != "" {
		t.Errorf("the moves' answers: the start plus the moves, exactly (-want +got):\n%s", diff)
	}
	res, body := p.call(t, "GET", "/api/messages?subject=invoice", "")
	if res.StatusCode != 200 || strings.Count(string(body), `"subject": "invoice"`) != 1 {
		t.Errorf("GET /api/messages: %s, want the one message delivered\n%s", res.Status, body)
	}
}

// TestProgramClockWaitPython is a Python suite's test of a slow server
// at DATA in fake time (testdata/delay_clock.py): smtplib, in a thread,
// waits for the 354 that a fault delays an hour; urllib waits until the
// server has begun the delay (GET /api/wait/clock, which times out with
// 408 while nothing waits) and moves the clock an hour, and smtplib
// delivers. Nothing sleeps: the wait replaces the loop on GET
// /api/sessions with sleeps until the fault's note showed.
func TestProgramClockWaitPython(t *testing.T) {
	t.Parallel()
	python := needProgram(t, "python3", "apt-get install python3")
	p := startProgram(t)
	out, err := runProgram(t, nil, python, "testdata/delay_clock.py", p.http)
	if err != nil {
		t.Fatalf("delay_clock.py: %v\n%s", err, out)
	}
	var got struct {
		Idle           int            `json:"idle"`
		IdleError      string         `json:"idleError"`
		Waited         int            `json:"waited"`
		Waits          int            `json:"waits"`
		DoneBeforeMove bool           `json:"doneBeforeMove"`
		Moved          int            `json:"moved"`
		WaitsAfterMove int            `json:"waitsAfterMove"`
		Sent           map[string]any `json:"sent"`
		Alive          bool           `json:"alive"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("delay_clock.py: %v\n%s", err, out)
	}
	if got.Idle != 408 || !strings.Contains(got.IdleError, "waited 50ms for 1 wait on the clock in progress") || !strings.Contains(got.IdleError, "and 0 is") {
		t.Errorf("the wait with nothing waiting: %d %q, want 408 saying it saw none", got.Idle, got.IdleError)
	}
	if got.Waited != 200 || got.Waits != 1 || got.DoneBeforeMove {
		t.Errorf("the wait for the delay: %d with %d waits, sender done before the move %v; want 200, 1 wait, the sender waiting", got.Waited, got.Waits, got.DoneBeforeMove)
	}
	if got.Moved != 200 || got.WaitsAfterMove != 0 {
		t.Errorf("the move: %d with %d waits left, want 200 and 0", got.Moved, got.WaitsAfterMove)
	}
	if got.Alive || got.Sent["code"] != 250.0 {
		t.Errorf("the sender after the move: %v (still waiting: %v), want 250", got.Sent, got.Alive)
	}
	res, body := p.call(t, "GET", "/api/sessions/1", "")
	var s struct {
		Transcript []struct{ Dir, Text string } `json:"transcript"`
	}
	if err := json.Unmarshal(body, &s); err != nil || res.StatusCode != 200 {
		t.Fatalf("GET /api/sessions/1: %s %v\n%s", res.Status, err, body)
	}
	var notes []string
	for _, l := range s.Transcript {
		if l.Dir == "*" || strings.HasPrefix(l.Text, "354 ") {
			notes = append(notes, l.Dir+": "+l.Text)
		}
		if strings.HasPrefix(l.Text, "354 ") {
			break
		}
	}
	want := []string{"*: fault delay_clock.py: DATA attempt 1 → delay 1h0m0s", "*: clock moved ahead 1h0m0s (1h0m0s in all)", "S: 354 End data with <CR><LF>.<CR><LF>"}
	if diff := cmp.Diff(want, notes); diff != "" {
		t.Errorf("the transcript: the delay, the move, then the 354 (-want +got):\n%s", diff)
	}
}

// TestProgramClockWaitPerSessionPython is two Python tests that share the
// program, as pytest-xdist runs them, each ending its own delay at MAIL
// in fake time after an idle reply's time at HELO
// (testdata/delay_clock_sessions.py): each finds its session by its
// socket's address (GET /api/sessions) and waits for its session's delay
// (GET /api/wait/clock?session=ID&kind=delay), which neither the idle
// time nor the other test's delay satisfies; the move ends both delays,
// and each MAIL gets its 250, not the idle time's 421.
func TestProgramClockWaitPerSessionPython(t *testing.T) {
	t.Parallel()
	python := needProgram(t, "python3", "apt-get install python3")
	p := startProgram(t)
	out, err := runProgram(t, nil, python, "testdata/delay_clock_sessions.py", p.http)
	if err != nil {
		t.Fatalf("delay_clock_sessions.py: %v\n%s", err, out)
	}
	type test struct {
		Session        int            `json:"session"`
		Early          int            `json:"early"`
		EarlyWaits     int            `json:"earlyWaits"`
		Waited         int            `json:"waited"`
		Waits          []string       `json:"waits"`
		DoneBeforeMove bool           `json:"doneBeforeMove"`
		Mail           map[string]any `json:"mail"`
	}
	var got struct {
		First    test     `json:"first"`
		Second   test     `json:"second"`
		All      []string `json:"all"`
		Moved    int      `json:"moved"`
		Bad      int      `json:"bad"`
		BadError string   `json:"badError"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("delay_clock_sessions.py: %v\n%s", err, out)
	}
	for i, tt := range []test{got.First, got.Second} {
		if tt.Session != i+1 {
			t.Errorf("test %d found session %d, want %d", i+1, tt.Session, i+1)
		}
		if tt.Early != 408 || tt.EarlyWaits != 0 {
			t.Errorf("test %d: the wait for its delay before its MAIL: %d with %d waits, want 408 and 0", i+1, tt.Early, tt.EarlyWaits)
		}
		if want := []string{fmt.Sprintf("%d delay", i+1)}; tt.Waited != 200 || !slices.Equal(tt.Waits, want) || tt.DoneBeforeMove {
			t.Errorf("test %d: the wait for its delay: %d, %q, MAIL done before the move %v; want 200, %q, MAIL waiting", i+1, tt.Waited, tt.Waits, tt.DoneBeforeMove, want)
		}
		if tt.Mail["code"] != 250.0 {
			t.Errorf("test %d: MAIL after the move: %v, want 250", i+1, tt.Mail)
		}
	}
	if want := []string{"1 delay", "2 delay"}; !slices.Equal(got.All, want) || got.Moved != 200 {
		t.Errorf("GET /api/clock before the move: %q, then the move %d; want %q, 200", got.All, got.Moved, want)
	}
	if got.Bad != 400 || !strings.Contains(got.BadError, "repeat kind=") {
		t.Errorf("kind=delay,trickle: %d %q, want 400 saying to repeat kind=", got.Bad, got.BadError)
	}
}

// TestProgramRulesPython reads GET /api/rules from Python's urllib
// (testdata/rules.py) of the program started with -without-rules
// message-id: every rule of mocksmtp.Rules(), in order, with its RFC
// section, message-id switched off. A mail without a Message-ID sent by
// smtplib, which then closes without QUIT, makes only the finding of the
// missing QUIT, a rule the list names and has on.
func TestProgramRulesPython(t *testing.T) {
	t.Parallel()
	python := needProgram(t, "python3", "apt-get install python3")
	p := startProgram(t, "-without-rules", string(mocksmtp.RuleMessageID))
	out, err := runProgram(t, nil, python, "testdata/rules.py", p.http)
	if err != nil {
		t.Fatalf("rules.py: %v\n%s", err, out)
	}
	type rule struct {
		Rule    string `json:"rule"`
		Ref     string `json:"ref"`
		Enabled bool   `json:"enabled"`
	}
	type finding struct {
		Rule    string `json:"rule"`
		Ref     string `json:"ref"`
		Listed  bool   `json:"listed"`
		Enabled bool   `json:"enabled"`
	}
	var got struct {
		Rules    []rule    `json:"rules"`
		Findings []finding `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("rules.py: %v\n%s", err, out)
	}
	var want []rule
	for _, r := range mocksmtp.Rules() {
		want = append(want, rule{Rule: string(r), Ref: r.Ref(), Enabled: r != mocksmtp.RuleMessageID})
	}
	if diff := cmp.Diff(want, got.Rules); diff != "" {
		t.Errorf("GET /api/rules (-want +got):\n%s", diff)
	}
	wantFindings := []finding{{Rule: string(mocksmtp.RuleQuit), Ref: mocksmtp.RuleQuit.Ref(), Listed: true, Enabled: true}}
	if diff := cmp.Diff(wantFindings, got.Findings); diff != "" {
		t.Errorf("GET /api/findings, each looked up in GET /api/rules (-want +got):\n%s", diff)
	}
}

// TestProgramSentPython sends two messages in one session with Python's
// smtplib (testdata/sent.py) through the program with -client-ca: the
// first in plaintext, the second after STARTTLS with a client
// certificate, a new EHLO and AUTH; then Python's urllib reads each
// message's "sent" from every route that gives messages. Each says how
// its client sent it, as the Go API's Message.Session: the first
// plain.example without TLS or AUTH, the second tls.example over TLS 1.3
// with the client's certificate, logged in, although the session's JSON
// shows only its last state.
func TestProgramSentPython(t *testing.T) {
	t.Parallel()
	python := needProgram(t, "python3", "apt-get install python3")
	f := newMTLSFiles(t)
	p := startProgram(t, "-cert", f.serverCert, "-key", f.serverKey, "-client-ca", f.ca, "-tls", "-auth", "alice:secret")
	out, err := runProgram(t, nil, python, "testdata/sent.py", p.http, f.ca, f.clientCert, f.clientKey, "alice", "secret")
	if err != nil {
		t.Fatalf("sent.py: %v\n%s", err, out)
	}
	type auth struct {
		Mechanism string `json:"mechanism"`
		Username  string `json:"username"`
		Success   bool   `json:"success"`
	}
	type tlsState struct {
		Version          string            `json:"version"`
		PeerCertificates []certificateJSON `json:"peerCertificates"`
	}
	type sent struct {
		Helo string    `json:"helo"`
		TLS  *tlsState `json:"tls"`
		Auth *auth     `json:"auth"`
	}
	type message struct {
		ID   int   `json:"id"`
		Sent *sent `json:"sent"`
	}
	var routes map[string][]message
	if err := json.Unmarshal([]byte(out), &routes); err != nil {
		t.Fatalf("sent.py: %v\n%s", err, out)
	}
	// smtplib, on OpenSSL, sends the CA after its own certificate.
	peers := []certificateJSON{
		{Subject: "CN=app.client.example,O=Example Clients", Issuer: "CN=Interop mTLS CA,O=mocksmtp interop", SHA256: fingerprint(f.client)},
		{Subject: "CN=Interop mTLS CA,O=mocksmtp interop", Issuer: "CN=Interop mTLS CA,O=mocksmtp interop", SHA256: fingerprint(f.caCert)},
	}
	want := []message{
		{ID: 1, Sent: &sent{Helo: "plain.example"}},
		{ID: 2, Sent: &sent{Helo: "tls.example", TLS: &tlsState{Version: "TLS 1.3", PeerCertificates: peers},
			Auth: &auth{Mechanism: "CRAM-MD5", Username: "alice", Success: true}}}, // smtplib's first choice
	}
	for _, route := range []string{"/api/wait", "/api/messages", "/api/messages/{id}"} {
		if diff := cmp.Diff(want, routes[route]); diff != "" {
			t.Errorf("%s: how each message was sent (-want +got):\n%s", route, diff)
		}
	}
}

// TestProgramOwnSessionsPython: two tests share one program, each with
// its inbox, as pytest-xdist runs them (testdata/own_sessions.py). Each
// finds its own session with Python's urllib (GET /api/sessions?inbox=,
// ?remoteAddr= its smtplib socket's own address) and waits for it to end
// (GET /api/wait/sessions?inbox=, ?remoteAddr=) while the other's stays
// open (the first test) or has ended (the second): each wait answers
// once its own session has ended, with it alone; the second test's
// session names its inbox after its wait began. Before, both parameters
// were 400s: a wait counted every session of every test.
func TestProgramOwnSessionsPython(t *testing.T) {
	t.Parallel()
	python := needProgram(t, "python3", "apt-get install python3")
	p := startProgram(t)
	out, err := runProgram(t, nil, python, "testdata/own_sessions.py", p.http)
	if err != nil {
		t.Fatalf("own_sessions.py: %v\n%s", err, out)
	}
	type wait struct {
		Status   int             `json:"status"`
		Sessions json.RawMessage `json:"sessions"`
		Ended    []string        `json:"ended"`
	}
	type test struct {
		Addr          string `json:"addr"`
		ListedByInbox []int  `json:"listedByInbox"`
		ListedByAddr  []int  `json:"listedByAddr"`
		Short         int    `json:"short"`
		ShortError    string `json:"shortError"`
		ByInbox       wait   `json:"byInbox"`
		ByAddr        wait   `json:"byAddr"`
		LiveAfter     []int  `json:"liveAfter"`
	}
	var got struct {
		First  test `json:"first"`
		Second test `json:"second"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("own_sessions.py: %v\n%s", err, out)
	}
	for i, tt := range []test{got.First, got.Second} {
		id, name, other := i+1, []string{"first", "second"}[i], []string{"second", "first"}[i]
		if !slices.Equal(tt.ListedByInbox, []int{id}) || !slices.Equal(tt.ListedByAddr, []int{id}) {
			t.Errorf("the %s test's sessions by inbox %v, by address %s %v; want [%d]", name, tt.ListedByInbox, tt.Addr, tt.ListedByAddr, id)
		}
		// smtplib sends its verbs in lower case.
		if tt.Short != 408 || !strings.Contains(tt.ShortError, fmt.Sprintf("; 1 still open:\nsession %d ", id)) ||
			!strings.Contains(tt.ShortError, "C: ehlo "+name+".example") || strings.Contains(tt.ShortError, other+".example") {
			t.Errorf("the %s test's short wait: %d %s; want 408 with its own open session only", name, tt.Short, tt.ShortError)
		}
		for _, w := range []wait{tt.ByInbox, tt.ByAddr} {
			if want := fmt.Sprint(id); w.Status != 200 || string(w.Sessions) != "["+want+"]" || !slices.Equal(w.Ended, []string{"QUIT"}) {
				t.Errorf("the %s test's wait: %d %s %v; want 200 with session %d, ended by QUIT", name, w.Status, w.Sessions, w.Ended, id)
			}
		}
	}
	if !slices.Equal(got.First.LiveAfter, []int{2}) || len(got.Second.LiveAfter) != 0 {
		t.Errorf("live after the first test's waits: %v, after the second's: %v; want [2], then none", got.First.LiveAfter, got.Second.LiveAfter)
	}
}
