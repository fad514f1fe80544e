package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// sendAppToBob sends a message from app@example.com to bob@example.com
// through p, as a suite under test does, and returns net/smtp's error.
func sendAppToBob(p *proc) error {
	return smtp.SendMail(p.smtp, nil, "app@example.com", []string{"bob@example.com"}, []byte("Subject: x\r\n\r\nbody\r\n"))
}

// mustBeGreylisted fails t at once unless err is greylistFor's refusal,
// 451 4.7.1 Greylisted; when names the attempt.
func mustBeGreylisted(t *testing.T, when string, err error) {
	t.Helper()
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code != 451 || !strings.HasPrefix(te.Msg, "4.7.1 Greylisted") {
		t.Fatalf("%s: %v, want 451 4.7.1 Greylisted", when, err)
	}
}

// checkClockStart fails t unless session id's clockStart is want (why it
// is, in the error), and returns the session.
func checkClockStart(t *testing.T, p *proc, id string, want time.Time, why string) sessionJSON {
	t.Helper()
	var s sessionJSON
	getJSON(t, p, "/api/sessions/"+id, 200, &s)
	if s.ClockStart == nil || !s.ClockStart.Equal(want) {
		t.Errorf("session %s: clockStart %v, want %v (%s)", id, s.ClockStart, want, why)
	}
	return s
}

// With -clock frozen, a suite checks greylistFor's boundary exactly,
// every run: the clock stands still between its moves, so a retry after
// a move of 5m-1ns is greylisted still, and one after 1ns more passes,
// however long the round trips take in real time. (On the running
// clock, the real milliseconds between the move and the retry carry it
// past the boundary.) The clock and the sessions' clockStart read the
// start plus the moves, exactly.
func TestFrozenClockGreylistBoundaryIsExact(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-clock", "frozen")
	var c0 clockJSON
	getJSON(t, p, "/api/clock", 200, &c0)
	if c0.Mode != "frozen" || c0.Offset != 0 {
		t.Fatalf("GET /api/clock with -clock frozen: %+v, want mode frozen, offset 0s", c0)
	}
	putFaults(t, p, `[{"greylistFor": "5m"}]`)
	mustBeGreylisted(t, "first attempt", sendAppToBob(p))
	// A session took real time, and the clock did not move.
	var c clockJSON
	if getJSON(t, p, "/api/clock", 200, &c); !c.Now.Equal(c0.Now) || c.Offset != 0 {
		t.Fatalf("GET /api/clock after a session, not moved: %+v, want now %v as before", c, c0.Now)
	}
	short := 5*time.Minute - time.Nanosecond
	if got := advance(t, p, "4m59.999999999s"); time.Duration(got.Offset) != short || !got.Now.Equal(c0.Now.Add(short)) || got.Mode != "frozen" {
		t.Fatalf("advance 5m-1ns: %+v, want offset %v, now %v", got, short, c0.Now.Add(short))
	}
	mustBeGreylisted(t, "retry after a move of 5m-1ns", sendAppToBob(p))
	if got := advance(t, p, "1ns"); !got.Now.Equal(c0.Now.Add(5 * time.Minute)) {
		t.Fatalf("advance 1ns more: %+v, want now %v", got, c0.Now.Add(5*time.Minute))
	}
	if err := sendAppToBob(p); err != nil {
		t.Fatalf("retry after a move of 5m in all: %v, want it delivered", err)
	}
	for id, want := range map[string]time.Time{"1": c0.Now, "2": c0.Now.Add(short), "3": c0.Now.Add(5 * time.Minute)} {
		s := checkClockStart(t, p, id, want, "the start plus the moves before it")
		if s.Start.Before(c0.Now) {
			t.Errorf("session %s started at %v, before the clock's start %v: session times are real time", id, s.Start, c0.Now)
		}
	}
}

// With -clock frozen and a delay of 1m before greylistFor 5m, the wait
// starts when the client is told 451, a minute after its RCPT came: a
// retry 5m-1ns after the 451 went out is refused, one at 5m passes. It
// started at the RCPT's arrival: the retry 4m after the 451 passed. A
// client that leaves during the delay was never told 451: the next
// attempt's RCPT is the pair's first refusal. It passed: the pair was
// greylisted at the arrival of a RCPT that got no reply.
func TestFrozenClockGreylistCountsFromThe451(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-clock", "frozen")
	putFaults(t, p, `[{"at": "RCPT", "onAttempt": [1, 2], "delay": "1m"}, {"greylistFor": "5m"}]`)
	// Attempt 1 leaves during the delay of its RCPT.
	gone, err := net.Dial("tcp", p.smtp)
	if err != nil {
		t.Fatal(err)
	}
	defer gone.Close()
	if _, err := gone.Write([]byte("EHLO app.example\r\nMAIL FROM:<app@example.com>\r\nRCPT TO:<bob@example.com>\r\n")); err != nil {
		t.Fatal(err)
	}
	getJSON(t, p, "/api/wait/clock?session=1&kind=delay&timeout=10s", 200, nil)
	gone.Close()
	var s sessionJSON
	if getJSON(t, p, "/api/wait/sessions/1?timeout=10s", 200, &s); s.Ended != "client closed" {
		t.Fatalf("session 1 ended %q, want client closed", s.Ended)
	}
	advance(t, p, "1h")
	// Attempt 2 is the pair's first refusal, a minute after its RCPT.
	sent := make(chan error, 1)
	go func() { sent <- sendAppToBob(p) }()
	getJSON(t, p, "/api/wait/clock?session=2&kind=delay&timeout=10s", 200, nil)
	told := advance(t, p, "1m").Now
	if err := <-sent; smtpCode(err) != 451 {
		t.Fatalf("attempt 2, after attempt 1 left in the delay: %v, want 451 (the pair's first refusal)", err)
	}
	if got := advance(t, p, "4m59.999999999s"); !got.Now.Equal(told.Add(5*time.Minute - time.Nanosecond)) {
		t.Fatalf("advance 5m-1ns: %+v, want now %v", got, told.Add(5*time.Minute-time.Nanosecond))
	}
	if err := sendAppToBob(p); smtpCode(err) != 451 {
		t.Fatalf("attempt 3, 5m-1ns after the 451 went out: %v, want 451", err)
	}
	advance(t, p, "1ns")
	if err := sendAppToBob(p); err != nil {
		t.Fatalf("attempt 4, 5m after the 451 went out: %v, want it delivered", err)
	}
}

// So is rateLimitPer's interval: a message 1h-1ns after the one let
// through is refused, one 1ns later passes.
func TestFrozenClockRateLimitBoundaryIsExact(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-clock", "frozen")
	putFaults(t, p, `[{"rateLimitPer": {"n": 1, "interval": "1h"}}]`)
	if err := sendAppToBob(p); err != nil {
		t.Fatalf("first message: %v", err)
	}
	advance(t, p, "59m59.999999999s")
	if err := sendAppToBob(p); smtpCode(err) != 451 {
		t.Fatalf("a message 1h-1ns after the first: %v, want 451", err)
	}
	advance(t, p, "1ns")
	if err := sendAppToBob(p); err != nil {
		t.Fatalf("a message 1h after the first: %v, want it delivered", err)
	}
}

// With -clock frozen, a delay of 1ms ends only when a move reaches its
// end, never by itself: real time goes by (a wait of the API that times
// out) and the client has no reply, a move of 1ms-1ns leaves the delay
// in progress, and the reply comes after the move of 1ns more.
func TestFrozenClockDelayEndsOnlyOnAMove(t *testing.T) {
	t.Parallel()
	p := start(t, []string{"MOCKSMTP_CLOCK=frozen"})
	putFaults(t, p, `[{"at": "MAIL", "delay": "1ms"}]`)
	_, done := dialMail(t, p)
	if got := waitClock(t, p, "1"); got.Waits != 1 || got.Mode != "frozen" {
		t.Fatalf("GET /api/wait/clock: %+v, want the delay in progress on the frozen clock", got)
	}
	// Some 20ms of real time, many times the delay's.
	var timedOut clockWaitTimeoutJSON
	getJSON(t, p, "/api/wait/clock?count=2&timeout=20ms", 408, &timedOut)
	if timedOut.Clock.Waits != 1 {
		t.Fatalf("20ms of real time into a delay of 1ms on the frozen clock: %+v, want it in progress", timedOut.Clock)
	}
	var s sessionJSON
	getJSON(t, p, "/api/sessions/1", 200, &s)
	if last := s.Transcript[len(s.Transcript)-1]; last.Dir == "S" {
		t.Fatalf("the server replied to MAIL before the clock moved: %+v", s.Transcript)
	}
	select {
	case r := <-done:
		t.Fatalf("MAIL got its reply before the clock moved: %v", r.err)
	default:
	}
	if got := advance(t, p, "999999ns"); got.Waits != 1 {
		t.Fatalf("a move of 1ms-1ns answered %d waits in progress, want the delay's", got.Waits)
	}
	moved := time.Now()
	if got := advance(t, p, "1ns"); got.Waits != 0 {
		t.Fatalf("a move to the delay's end answered %d waits in progress, want 0", got.Waits)
	}
	mailAfter(t, done, moved)
}

// -clock takes real (the default) or frozen, in any case, also from
// MOCKSMTP_CLOCK; the flag wins over the variable; GET /api/clock says
// which. Another value is a usage error that says what it wants.
func TestClockFlag(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"default", nil, nil, "real"},
		{"flag", nil, []string{"-clock", "Frozen"}, "frozen"},
		{"environment", []string{"MOCKSMTP_CLOCK=frozen"}, nil, "frozen"},
		{"the flag wins", []string{"MOCKSMTP_CLOCK=frozen"}, []string{"-clock=real"}, "real"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := start(t, tt.env, tt.args...)
			var c clockJSON
			if getJSON(t, p, "/api/clock", 200, &c); c.Mode != tt.want {
				t.Errorf("GET /api/clock: mode %q, want %q", c.Mode, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"misspelt", nil, []string{"-clock", "frozn"}, `invalid value "frozn" for flag -clock: want real or frozen (did you mean "frozen"?)`},
		{"empty", nil, []string{"-clock="}, `invalid value "" for flag -clock: want real or frozen`},
		{"in the environment", []string{"MOCKSMTP_CLOCK=fake"}, nil, `mocksmtp: MOCKSMTP_CLOCK="fake": want real or frozen`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runOnce(t, tt.env, tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and %q", code, stderr, tt.want)
			}
		})
	}
}

// With -implicit-tls, a delay before the handshake (at connect, with a
// TLS failure: a slow server with a bad certificate) ends when the
// client gives up and leaves, as every other delay does: on the frozen
// clock, which only a move ends it by, the session otherwise stayed
// open, and its wait counted on the clock (a suite's next GET
// /api/wait/clock returned on it), until the program stopped. Once the
// delay ends by a move, the client that stayed gets its handshake, with
// the certificate of the fault, though the server read its ClientHello
// while it waited.
func TestFrozenClockDelayBeforeTheHandshakeEndsWhenTheClientLeaves(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-clock", "frozen", "-implicit-tls")
	roots, _ := caFromAPI(t, p)
	putFaults(t, p, `[{"at": "connect", "delay": "1m", "expiredCertificate": true}]`)
	// A client that gives up: it sends its ClientHello and leaves.
	gone, err := net.Dial("tcp", p.smtp)
	if err != nil {
		t.Fatal(err)
	}
	defer gone.Close()
	handshook := make(chan error, 1)
	go func() {
		handshook <- tls.Client(gone, &tls.Config{RootCAs: roots, ServerName: "localhost"}).Handshake()
	}()
	if got := waitClock(t, p, "1"); got.WaitList[0].Session != 1 || got.WaitList[0].Kind != "delay" {
		t.Fatalf("GET /api/wait/clock: %+v, want the delay of session 1", got)
	}
	gone.Close()
	<-handshook
	var s sessionJSON
	getJSON(t, p, "/api/wait/sessions/1?timeout=10s", 200, &s)
	if s.Ended != "client closed" {
		t.Errorf("session 1 ended %q, want client closed", s.Ended)
	}
	if c := getClockJSON(t, p); c.Waits != 0 {
		t.Errorf("once the client left, the clock has %d waits, want none: %+v", c.Waits, c.WaitList)
	}
	// A client that waits gets the handshake of the fault once the clock
	// passes the delay.
	stays, err := net.Dial("tcp", p.smtp)
	if err != nil {
		t.Fatal(err)
	}
	defer stays.Close()
	_ = stays.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		handshook <- tls.Client(stays, &tls.Config{RootCAs: roots, ServerName: "localhost"}).Handshake()
	}()
	getJSON(t, p, "/api/wait/clock?session=2&kind=delay&timeout=10s", 200, nil)
	advance(t, p, "1m")
	var certErr x509.CertificateInvalidError
	if err := <-handshook; !errors.As(err, &certErr) || certErr.Reason != x509.Expired {
		t.Errorf("the handshake after the delay: %v, want the fault's expired certificate", err)
	}
}

// getClockJSON returns GET /api/clock.
func getClockJSON(t *testing.T, p *proc) clockJSON {
	t.Helper()
	var c clockJSON
	getJSON(t, p, "/api/clock", 200, &c)
	return c
}
