package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"syscall"
	"testing"
	"time"
)

// advance moves the program's clock ahead by d (a Go duration) and
// returns what it answers.
func advance(t *testing.T, p *proc, by string) clockJSON {
	t.Helper()
	var c clockJSON
	postJSON(t, p, "POST", "/api/clock/advance", `{"by": "`+by+`"}`, 200, &c)
	return c
}

// dialSMTP returns a net/smtp client of p's SMTP server, closed at the
// end of the test.
func dialSMTP(t *testing.T, p *proc) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(p.smtp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// putFaults sets the program's fault script.
func putFaults(t *testing.T, p *proc, script string) {
	t.Helper()
	if res, b := do(t, p, "PUT", "/api/faults", script); res.StatusCode != 200 {
		t.Fatalf("PUT /api/faults %s: %d %s", script, res.StatusCode, b)
	}
}

// A suite whose own clock is fake (a retry queue "5 minutes later" at
// once) moves the server's clock as far: greylisting lets the retry
// through without the suite sleeping five minutes for real.
func TestClockAdvanceEndsGreylisting(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	putFaults(t, p, `[{"greylistFor": "5m"}]`)
	msg := []byte("Subject: x\r\n\r\nbody\r\n")
	send := func() error {
		return smtp.SendMail(p.smtp, nil, "app@example.com", []string{"bob@example.com"}, msg)
	}
	for i, when := range []string{"first attempt", "retry at once"} {
		err := send()
		var te *textproto.Error
		if !errors.As(err, &te) || te.Code != 451 || !strings.HasPrefix(te.Msg, "4.7.1 Greylisted") {
			t.Fatalf("%s (%d): %v, want 451 4.7.1 Greylisted", when, i, err)
		}
	}
	var c clockJSON
	getJSON(t, p, "/api/clock", 200, &c)
	if c.Offset != 0 {
		t.Errorf("GET /api/clock before any advance: offset %v, want 0s", time.Duration(c.Offset))
	}
	before := time.Now()
	if got := advance(t, p, "4m59s"); got.Offset != duration(4*time.Minute+59*time.Second) || got.Now.Sub(before) < 4*time.Minute+59*time.Second {
		t.Errorf("advance 4m59s: %+v, want offset 4m59s and now as far ahead of %v", got, before)
	}
	if err := send(); smtpCode(err) != 451 {
		t.Fatalf("retry after 4m59s: %v, want 451: the window is 5m", err)
	}
	got := advance(t, p, "1s")
	if got.Offset != duration(5*time.Minute) {
		t.Errorf("offset %v after 4m59s and 1s, want 5m0s", time.Duration(got.Offset))
	}
	if err := send(); err != nil {
		t.Fatalf("retry after the clock moved 5m: %v, want it delivered", err)
	}
	getJSON(t, p, "/api/clock", 200, &c)
	if c.Offset != duration(5*time.Minute) || c.Now.Before(got.Now) {
		t.Errorf("GET /api/clock: %+v, want offset 5m0s and now not before %v", c, got.Now)
	}
	// Session and message times stay real: the transcripts are relative
	// to real time, and a message did not arrive five minutes from now.
	var s sessionJSON
	getJSON(t, p, "/api/sessions/4", 200, &s)
	if s.Start.After(time.Now()) {
		t.Errorf("session 4 started at %v, in the future: session times follow the real clock", s.Start)
	}
}

// rateLimitPer's interval is on the same clock.
func TestClockAdvanceEndsRateLimitInterval(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	putFaults(t, p, `[{"rateLimitPer": {"n": 1, "interval": "1h"}}]`)
	msg := []byte("Subject: x\r\n\r\nbody\r\n")
	send := func() error {
		return smtp.SendMail(p.smtp, nil, "app@example.com", []string{"bob@example.com"}, msg)
	}
	if err := send(); err != nil {
		t.Fatalf("first message: %v", err)
	}
	if err := send(); smtpCode(err) != 451 {
		t.Fatalf("second message within the hour: %v, want 451", err)
	}
	advance(t, p, "59m")
	if err := send(); smtpCode(err) != 451 {
		t.Fatalf("third message, 59m later: %v, want 451", err)
	}
	advance(t, p, "1m")
	if err := send(); err != nil {
		t.Fatalf("a message an hour later: %v, want it delivered", err)
	}
}

// result is what a client got, and when.
type result struct {
	err error
	at  time.Time
}

// mailAfter waits for the reply of dialMail's MAIL, which a move of the
// clock made at moved let out: a 250, not before the move.
func mailAfter(t *testing.T, done <-chan result, moved time.Time) {
	t.Helper()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("MAIL after the delay: %v, want 250", r.err)
		}
		if r.at.Before(moved) {
			t.Errorf("MAIL got its reply at %v, before the move to the delay's end (%v)", r.at, moved)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the clock reached the end of the delay, and MAIL got no reply within 10 s")
	}
}

// dialMail opens a session on p, says EHLO and sends MAIL FROM in a
// goroutine: its reply comes on the channel.
func dialMail(t *testing.T, p *proc) (*smtp.Client, <-chan result) {
	t.Helper()
	c := dialSMTP(t, p)
	if err := c.Hello("app.example"); err != nil {
		t.Fatal(err)
	}
	done := make(chan result, 1)
	go func() {
		err := c.Mail("app@example.com")
		done <- result{err, time.Now()}
	}()
	return c, done
}

// waitLine waits until session id's transcript has a line that says
// text, and returns the transcript.
func waitLine(t *testing.T, p *proc, id, text string) []lineJSON {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var s sessionJSON
		getJSON(t, p, "/api/sessions/"+id, 200, &s)
		for _, l := range s.Transcript {
			if strings.Contains(l.Text, text) {
				return s.Transcript
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s never said %q: %+v", id, text, s.Transcript)
		}
		// No wait of the API waits for a line: each look is a round trip.
	}
}

// A delay in progress ends once the clock passes its end, and not
// before: a client that waits for the reply of a slow server gets it
// when the suite moves the clock past it.
func TestClockAdvanceEndsADelayInProgress(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	putFaults(t, p, `[{"at": "MAIL", "delay": "1h"}]`)
	_, done := dialMail(t, p)
	// The delay has begun once its fault fired.
	waitLine(t, p, "1", "MAIL attempt 1 → delay 1h0m0s")
	advance(t, p, "59m")
	var s sessionJSON
	getJSON(t, p, "/api/sessions/1", 200, &s)
	if last := s.Transcript[len(s.Transcript)-1]; last.Dir == "S" {
		t.Fatalf("after 59m of a 1h delay, the server replied: %+v", s.Transcript)
	}
	select {
	case r := <-done:
		t.Fatalf("after 59m of a 1h delay, MAIL got its reply: %v", r.err)
	default:
	}
	moved := time.Now()
	advance(t, p, "1m") // the delay counts from its fault's note: it is now over
	mailAfter(t, done, moved)
	// The transcript shows the moves, before the reply they let out.
	lines := waitLine(t, p, "1", "250 2.1.0")
	var got []string
	for _, l := range lines[len(lines)-4:] {
		got = append(got, l.Dir+": "+l.Text)
	}
	want := []string{"*: fault PUT /api/faults:1: MAIL attempt 1 → delay 1h0m0s", "*: clock moved ahead 59m0s (59m0s in all)", "*: clock moved ahead 1m0s (1h0m0s in all)", "S: 250 2.1.0 Ok"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the transcript's last lines:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A clock moved past a delay's end before the delay begins makes no
// difference: the delay counts from when it begins.
func TestClockAdvanceBeforeADelayDoesNotShortenIt(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	advance(t, p, "2h")
	putFaults(t, p, `[{"at": "MAIL", "delay": "1h"}]`)
	_, done := dialMail(t, p)
	waitLine(t, p, "1", "MAIL attempt 1 → delay 1h0m0s")
	getJSON(t, p, "/api/clock", 200, nil) // a round trip more
	select {
	case r := <-done:
		t.Fatalf("a 1h delay begun after the clock moved 2h ended at once: %v", r.err)
	default:
	}
	advance(t, p, "1h")
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("MAIL after the delay: %v", r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no reply within 10 s of the clock passing the delay's end")
	}
}

// The program's shutdown still ends a delay at once, after the clock
// moved: the client gets 421 and the program exits.
func TestClockShutdownEndsADelayPromptly(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	putFaults(t, p, `[{"at": "MAIL", "delay": "1h"}]`)
	_, done := dialMail(t, p)
	waitLine(t, p, "1", "MAIL attempt 1 → delay 1h0m0s")
	advance(t, p, "30m")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 5*time.Second); code != 0 {
		t.Errorf("exit %d after SIGTERM during a delay", code)
	}
	select {
	case r := <-done:
		if smtpCode(r.err) != 421 {
			t.Errorf("MAIL, cut short by the shutdown: %v, want 421", r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the client got nothing within 5 s of the shutdown")
	}
}

// The pause of a split reply, and an idle reply's time, are on the clock.
func TestClockAdvanceEndsPausesAndIdleTime(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	putFaults(t, p, `[{"at": "greeting", "splitReply": {"at": 4, "pause": "1h"}},
		{"at": "HELO", "idleReply": {"after": "10m", "code": 421, "text": "4.4.2 idle too long"}}]`)
	conn, err := net.Dial("tcp", p.smtp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	part := make([]byte, 4)
	if _, err := io.ReadFull(conn, part); err != nil || string(part) != "220 " {
		t.Fatalf("the greeting's first 4 octets: %q, %v", part, err)
	}
	advance(t, p, "1h")
	r := bufio.NewReader(conn)
	if line, err := r.ReadString('\n'); err != nil || !strings.HasSuffix(line, "\r\n") {
		t.Fatalf("the rest of the greeting after the pause: %q, %v", line, err)
	}
	if _, err := conn.Write([]byte("HELO app.example\r\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "250 ") {
		t.Fatalf("HELO: %q, %v", line, err)
	}
	// The idle time began as the 250 was written, before the client
	// read it.
	advance(t, p, "10m")
	if line, err := r.ReadString('\n'); err != nil || line != "421 4.4.2 idle too long\r\n" {
		t.Fatalf("after 10m idle on the clock: %q, %v, want the idle reply", line, err)
	}
}

// The time of an idleReply is the client's silence: the pause of a
// paced reply, which a move of the clock ends, is not part of it; it
// begins with the last part of the reply.
func TestClockPacedReplyIsNotIdleTime(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	putFaults(t, p, `[{"at": "HELO", "splitReply": {"at": 4, "pause": "1h"},
		"idleReply": {"after": "10m", "code": 421, "text": "4.4.2 idle too long"}}]`)
	conn, r := dialGreeted(t, p)
	if _, err := conn.Write([]byte("HELO app.example\r\n")); err != nil {
		t.Fatal(err)
	}
	part := make([]byte, 4)
	if _, err := io.ReadFull(r, part); err != nil || string(part) != "250 " {
		t.Fatalf("the HELO reply's first 4 octets: %q, %v", part, err)
	}
	advance(t, p, "1h")
	if line, err := r.ReadString('\n'); err != nil || !strings.HasSuffix(line, "\r\n") || strings.Contains(line, "421") {
		t.Fatalf("the rest of the HELO reply after the pause: %q, %v", line, err)
	}
	advance(t, p, "9m")
	if _, err := conn.Write([]byte("NOOP\r\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "250 ") {
		t.Fatalf("NOOP after 9m of the client's silence (and the 1h pause before it): %q, %v, want 250", line, err)
	}
}

func TestClockAdvanceRefusesBadInput(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	for _, tt := range []struct{ body, want string }{
		{``, `POST /api/clock/advance: no body; want {"by": "5m"}`},
		{`{}`, `by: missing; want {"by": "5m"}`},
		{`{"by": null}`, `by: missing`},
		{`{"by": "-5m"}`, `by: "-5m" is negative: the clock never goes back`},
		{`{"by": "5"}`, `by: want a duration such as "5m" or "1h30m": time: missing unit in duration "5"`},
		// A suite in JavaScript counts milliseconds (setTimeout, tick), one in
		// Python seconds (time.sleep).
		{`{"by": 300000}`, `by: want a duration string such as "5m" or "1h30m", got 300000: a number has no unit ("300000s" for seconds, "300000ms" for milliseconds)`},
		{`{"by": 1e3}`, `got 1e3: a number has no unit ("1000s" for seconds, "1000ms" for milliseconds)`},
		{`{"by": 1.5}`, `by: want a duration string such as "5m" or "1h30m", got 1.5: a number has no unit ("1.5s" for seconds, "1.5ms" for milliseconds)`},
		{`{"by": "876001h"}`, `by: "876001h": the clock moves at most 876000h0m0s ahead of real time in all`},
		{`{"by": "9999999999h"}`, `time: invalid duration`},
		{`{"by": "5m", "to": "x"}`, `unknown field "to"`},
		{`{"by": "5m", "by": "6m"}`, `duplicate key "by"`},
		{`{"by": "` + strings.Repeat("9", 1<<20) + `"}`, `the body is larger than`},
		{`[]`, `want {"by": "5m"}`},
	} {
		res, b := do(t, p, "POST", "/api/clock/advance", tt.body)
		var e errorJSON
		if err := json.Unmarshal(b, &e); err != nil || res.StatusCode/100 != 4 || !strings.Contains(e.Error, tt.want) {
			t.Errorf("POST %.40q: %d %s, want 4xx with %q", tt.body, res.StatusCode, b, tt.want)
		}
		if len(b) > 1024 {
			t.Errorf("POST %.40q: an error of %d octets", tt.body, len(b))
		}
	}
	var c clockJSON
	getJSON(t, p, "/api/clock", 200, &c)
	if c.Offset != 0 {
		t.Errorf("after refused moves, offset %v, want 0s", time.Duration(c.Offset))
	}
	// Up to the bound in all, and not past it.
	advance(t, p, "876000h")
	res, b := do(t, p, "POST", "/api/clock/advance", `{"by": "1ns"}`)
	if res.StatusCode != 400 || !strings.Contains(string(b), "876000h0m0.000000001s ahead of real time in all") {
		t.Errorf("past the bound: %d %s, want 400", res.StatusCode, b)
	}
	getJSON(t, p, "/api/clock", 200, &c)
	if c.Offset != duration(876000*time.Hour) {
		t.Errorf("offset %v, want 876000h", time.Duration(c.Offset))
	}
	if res, _ := do(t, p, "PUT", "/api/clock/advance", `{"by": "1m"}`); res.StatusCode != 405 {
		t.Errorf("PUT /api/clock/advance: %d, want 405", res.StatusCode)
	}
}

// dialGreeted connects to the program's SMTP port, reads the greeting
// and returns the connection and its reader, for tests that read the
// replies octet by octet; it fails after 10 s rather than hang.
func dialGreeted(t *testing.T, p *proc) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", p.smtp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "220 ") {
		t.Fatalf("greeting: %q, %v", line, err)
	}
	return conn, r
}

// One move of the clock past several pauses of a trickled reply ends
// them all, as that much time would: the client gets the whole reply.
func TestClockAdvanceEndsEveryPauseItPasses(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	putFaults(t, p, `[{"at": "NOOP", "trickle": {"n": 4, "every": "1h"}}]`)
	conn, r := dialGreeted(t, p)
	if _, err := conn.Write([]byte("NOOP\r\n")); err != nil {
		t.Fatal(err)
	}
	part := make([]byte, 4)
	if _, err := io.ReadFull(r, part); err != nil || string(part) != "250 " {
		t.Fatalf("the first 4 octets of the reply to NOOP: %q, %v", part, err)
	}
	// "250 2.0.0 Ok\r\n": four parts, three pauses of an hour.
	advance(t, p, "3h")
	if line, err := r.ReadString('\n'); err != nil || line != "2.0.0 Ok\r\n" {
		t.Fatalf("the rest of the reply after the clock moved past its three pauses: %q, %v", line, err)
	}
}

// A delay of the reply to BDAT LAST does not count in the time of an
// idle reply armed at BDAT, also when the clock moved past the delay:
// the client that got its 250 is not idle yet, and a NOOP at once gets
// its 250, not the idle reply.
func TestClockDelayAtMessageDoesNotCountAsIdle(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	putFaults(t, p, `[{"at": "BDAT", "idleReply": {"after": "10m", "code": 421, "text": "4.4.2 idle too long"}},
		{"at": "message", "delay": "1h"}]`)
	conn, expect := dialExpect(t, p.smtp)
	expect("", 220)
	expect("EHLO app.example", 250)
	expect("MAIL FROM:<app@example.com>", 250)
	expect("RCPT TO:<bob@example.com>", 250)
	if _, err := conn.Write([]byte("BDAT 7 LAST\r\nHello\r\n")); err != nil {
		t.Fatal(err)
	}
	waitLine(t, p, "1", "message attempt 1 → delay 1h0m0s")
	advance(t, p, "1h")
	expect("", 250)
	expect("NOOP", 250)
}

// The time of an idleReply at BDAT covers the chunk: it runs from the
// command, after the fault's delay, on the clock too. A suite that sees
// the fault's note and moves the clock past the delay and the idle time
// gets the idle reply at once, as it would after that much time; the
// move past the idle time was lost: the time began only when the server
// began to read the chunk, after the move had ended the delay.
func TestClockIdleTimeAtBdatCountsFromTheCommand(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	putFaults(t, p, `[{"at": "BDAT", "delay": "1m", "idleReply": {"after": "10m", "code": 421, "text": "4.4.2 idle too long"}}]`)
	conn, expect := dialExpect(t, p.smtp)
	expect("", 220)
	expect("EHLO app.example", 250)
	expect("MAIL FROM:<app@example.com>", 250)
	expect("RCPT TO:<bob@example.com>", 250)
	if _, err := conn.Write([]byte("BDAT 10\r\nhello")); err != nil {
		t.Fatal(err)
	}
	waitLine(t, p, "1", "BDAT attempt 1 → delay 1m0s")
	advance(t, p, "11m")
	expect("", 421)
}

// So it does when MAIL and RCPT come pipelined with the BDAT: their
// replies, written when the server begins to read the chunk, are not
// the BDAT's and do not begin its time again. They did: the time began
// when they were written, after the move had ended the delay, and the
// move past the idle time was lost.
func TestClockIdleTimeAtBdatCountsFromTheCommandWhenPipelined(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	putFaults(t, p, `[{"at": "BDAT", "delay": "1m", "idleReply": {"after": "10m", "code": 421, "text": "4.4.2 idle too long"}}]`)
	conn, expect := dialExpect(t, p.smtp)
	expect("", 220)
	expect("EHLO app.example", 250)
	if _, err := conn.Write([]byte("MAIL FROM:<app@example.com>\r\nRCPT TO:<bob@example.com>\r\nBDAT 10\r\nhello")); err != nil {
		t.Fatal(err)
	}
	waitLine(t, p, "1", "BDAT attempt 1 → delay 1m0s")
	advance(t, p, "11m")
	expect("", 250)
	expect("", 250)
	expect("", 421)
}

// One move past a delay and the idle time after its reply ends both, as
// that much time would (in a Go test's synctest bubble, 1h10m of the
// client's silence after MAIL gets the 250 and then the idle reply).
// What the move went past the delay's end was lost: the idle time began
// when the 250 was written, after the move.
func TestClockMovePastADelayAndItsIdleTimeEndsBoth(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	putFaults(t, p, `[{"at": "MAIL", "delay": "1h", "idleReply": {"after": "10m", "code": 421, "text": "4.4.2 idle too long"}}]`)
	conn, expect := dialExpect(t, p.smtp)
	expect("", 220)
	expect("EHLO app.example", 250)
	if _, err := conn.Write([]byte("MAIL FROM:<app@example.com>\r\n")); err != nil {
		t.Fatal(err)
	}
	waitLine(t, p, "1", "MAIL attempt 1 → delay 1h0m0s")
	advance(t, p, "1h10m")
	expect("", 250)
	expect("", 421)
}

// Pipelined commands are not waited for: one move past the delays of
// MAIL and of the RCPT sent with it ends both, as that much time would
// (in a synctest bubble, 2h get both replies). The RCPT's delay began
// only after the move: the server had caught up with the clock when it
// took the RCPT from what it had read, as if it had waited for it.
func TestClockMovePastPipelinedDelaysEndsThemAll(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	putFaults(t, p, `[{"at": "MAIL", "delay": "1h"}, {"at": "RCPT", "delay": "1h"}]`)
	conn, expect := dialExpect(t, p.smtp)
	expect("", 220)
	expect("EHLO app.example", 250)
	if _, err := conn.Write([]byte("MAIL FROM:<app@example.com>\r\nRCPT TO:<bob@example.com>\r\n")); err != nil {
		t.Fatal(err)
	}
	waitLine(t, p, "1", "MAIL attempt 1 → delay 1h0m0s")
	advance(t, p, "2h")
	expect("", 250)
	expect("", 250)
}

// dialExpect connects to the SMTP address addr, for 10 s at most, and
// returns the connection and expect, which sends cmd (none when empty)
// and reads a reply of code, failing t otherwise.
func dialExpect(t *testing.T, addr string) (net.Conn, func(cmd string, code int)) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	tc := textproto.NewConn(conn)
	return conn, func(cmd string, code int) {
		t.Helper()
		if cmd != "" {
			if err := tc.PrintfLine("%s", cmd); err != nil {
				t.Fatal(err)
			}
		}
		if _, msg, err := tc.ReadResponse(code); err != nil {
			t.Fatalf("%q: %v %q, want %d", cmd, err, msg, code)
		}
	}
}
