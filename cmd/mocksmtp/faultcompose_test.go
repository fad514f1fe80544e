package main

import (
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Faults configured over HTTP compose as the Go API's do: a "trickle"
// and an "idleReply" at RCPT, before "unknownUser", decide no reply of
// their own: bob's 550 comes trickled, each pause on the program's
// clock, and once the client idles after it the idle reply comes. Before,
// the trickle decided, and bob was accepted.
func TestAPIFaultsPaceAndIdleReplyComposeWithTheFaultThatDecides(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	putFaults(t, p, `[{"at": "RCPT", "trickle": {"n": 8, "every": "1h"}},
		{"at": "RCPT", "idleReply": {"after": "10m", "code": 421, "text": "4.4.2 idle too long"}},
		{"unknownUser": ["bob@example.com"]}]`)
	conn, r := dialGreeted(t, p)
	say := func(cmd, want string) {
		t.Helper()
		if _, err := io.WriteString(conn, cmd+"\r\n"); err != nil {
			t.Fatal(err)
		}
		for {
			line, err := r.ReadString('\n')
			if err != nil || !strings.HasPrefix(line, want) {
				t.Fatalf("%s: %q, %v; want %q", cmd, line, err, want)
			}
			if line[3] == ' ' {
				return
			}
		}
	}
	say("EHLO app.example", "250")
	say("MAIL FROM:<app@example.com>", "250 ")
	if _, err := io.WriteString(conn, "RCPT TO:<bob@example.com>\r\n"); err != nil {
		t.Fatal(err)
	}
	// "550 5.1.1 User unknown\r\n" in pieces of 8, an hour apart.
	var got strings.Builder
	for _, piece := range []string{"550 5.1.", "1 User u", "nknown\r\n"} {
		b := make([]byte, len(piece))
		if _, err := io.ReadFull(r, b); err != nil || string(b) != piece {
			t.Fatalf("after %q: %q, %v; want %q", got.String(), b, err, piece)
		}
		got.Write(b)
		if piece != "nknown\r\n" {
			waitClock(t, p, "1") // the pause
			advance(t, p, "1h")
		}
	}
	waitClock(t, p, "1") // the idle time, which began as the 550's last piece went out
	advance(t, p, "10m")
	if line, err := r.ReadString('\n'); err != nil || line != "421 4.4.2 idle too long\r\n" {
		t.Fatalf("after 10m idle: %q, %v; want the idle reply", line, err)
	}
	var s sessionJSON
	getJSON(t, p, "/api/sessions/1", 200, &s)
	want := []string{
		"PUT /api/faults:1: RCPT attempt 1 → trickle 8 bytes every 1h0m0s",
		"PUT /api/faults:2: RCPT attempt 1 → after 10m0s idle: 421 4.4.2 idle too long, disconnect",
		"PUT /api/faults:3: RCPT attempt 1 → 550 5.1.1 User unknown (unknown user)",
	}
	if diff := cmp.Diff(want, s.Faults); diff != "" {
		t.Errorf("the session's faults (-want +got):\n%s", diff)
	}
}
