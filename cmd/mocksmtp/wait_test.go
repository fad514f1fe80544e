package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestWaitForSeveralThatTimesOutTakesNone: a wait for count messages like
// a filter that times out with fewer takes none of them, on the server
// and in an inbox: a suite that retries the wait gets them, and a message
// no wait returned still fails a forbidOtherMessages. (Each one it found
// was taken at once: the retry waited for more than were left, its 408
// said "an earlier wait returned it" of a message that no wait had
// returned, and the check passed.)
func TestWaitForSeveralThatTimesOutTakesNone(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	var in inboxJSON
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "retry"}`, 201, &in)
	for _, scope := range []struct{ name, to, query string }{
		{"server", "bob@example.com", ""},
		{"inbox", "bob@" + in.Domain, "?inbox=" + in.Domain},
	} {
		t.Run(scope.name, func(t *testing.T) {
			postJSON(t, p, "POST", "/api/expectations"+scope.query, `{"forbidOtherMessages": true}`, 201, nil)
			send := func(subject string) {
				sendMail(t, p.smtp, "app@example.com", []string{scope.to}, "Subject: "+subject+"\r\n\r\nx\r\n")
			}
			wait := "/api/wait?subjectContains=code&count=2&" + strings.TrimPrefix(scope.query, "?")
			send("code 1")
			var timedOut waitTimeoutJSON
			getJSON(t, p, wait+"&timeout=1ms", 408, &timedOut)
			first := timedOut.Messages[len(timedOut.Messages)-1].ID
			if want := fmt.Sprintf("got 1 (message %d), and took none", first); !strings.Contains(timedOut.Error, want) ||
				strings.Contains(timedOut.Error, "an earlier wait returned it") {
				t.Errorf("408 of a wait for 2 with 1 there: %q, want %q and no earlier wait", timedOut.Error, want)
			}
			if code, report := check(t, p, scope.query); code != 417 || !strings.Contains(report, fmt.Sprintf("message %d ", first)) {
				t.Errorf("check after a wait that timed out: %d %q, want 417 naming message %d, which no wait returned", code, report, first)
			}

			send("code 2")
			var ms []messageJSON
			getJSON(t, p, wait+"&timeout=5s", 200, &ms)
			if len(ms) != 2 || ms[0].ID != first || ms[1].ID != first+1 {
				t.Errorf("the wait again, once 2 are there: %+v, want messages %d and %d", ms, first, first+1)
			}
			if code, report := check(t, p, scope.query); code != 200 {
				t.Errorf("check after the wait returned both: %d %q, want 200", code, report)
			}
		})
	}
}
