package main

import (
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"
)

// A suite waits for its session's delay at DATA (session=ID&kind=delay),
// but its client never got that far: greylisted at RCPT, it quit. The
// wait can never be met; its 408 says that the session has ended, and
// how, and shows its transcript (the 451 that stopped it), not "0
// sessions open" alone, which leaves the suite to guess why nothing
// waited.
func TestClockWaitTimeoutSaysTheNamedSessionEnded(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-clock", "frozen")
	putFaults(t, p, `[{"greylistFor": "5m"}, {"at": "DATA", "delay": "1h"}]`)
	conn, err := net.Dial("tcp", p.smtp)
	if err != nil {
		t.Fatal(err)
	}
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	id := sessionOf(t, p, conn)
	if err := c.Mail("app@example.com"); err != nil {
		t.Fatal(err)
	}
	var refused *textproto.Error
	if err := c.Rcpt("bob@example.com"); !errors.As(err, &refused) || refused.Code != 451 {
		t.Fatalf("RCPT: %v, want 451 4.7.1 (greylisted)", err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	var s sessionJSON
	getJSON(t, p, fmt.Sprintf("/api/wait/sessions/%d?timeout=10s", id), 200, &s)

	var got clockWaitTimeoutJSON
	getJSON(t, p, fmt.Sprintf("/api/wait/clock?session=%d&kind=delay&timeout=50ms", id), 408, &got)
	for _, want := range []string{
		fmt.Sprintf("session %d ended (QUIT) and waits no more", id),
		"S: 451 4.7.1 Greylisted",
	} {
		if !strings.Contains(got.Error, want) {
			t.Errorf("408 of a wait for the delay of a session that ended before it:\n%s\nwant it to say %q", got.Error, want)
		}
	}
	// A session not named is not shown: another test's is none of this one's business.
	getJSON(t, p, fmt.Sprintf("/api/wait/clock?session=%d&kind=delay&timeout=50ms", id+1), 408, &got)
	if strings.Contains(got.Error, "ended") || strings.Contains(got.Error, "451") {
		t.Errorf("408 of a wait for a session not started shows the other session:\n%s", got.Error)
	}
}
