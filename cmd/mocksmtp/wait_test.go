package main

import (
	"fmt"
	"net/http"
	"net/smtp"
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

// TestWaitForMoreThanRetainIsA400: with -retain n the program keeps at
// most n messages, and a wait counts the messages kept (on the server,
// in an inbox, like a filter): a wait for more than n can never be met.
// It is a 400 at once that names -retain, instead of a wait of the whole
// timeout and a 408, as if the messages were late. A wait for n is met.
func TestWaitForMoreThanRetainIsA400(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-retain", "2")
	var in inboxJSON
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "retain"}`, 201, &in)
	scopes := []string{"", "&subjectContains=code", "&inbox=" + in.Domain, "&inbox=" + in.Domain + "&subjectContains=code"}
	for _, q := range scopes {
		path := "/api/wait?count=3&timeout=2s" + q
		res, b := do(t, p, "GET", path, "")
		if res.StatusCode != 400 || !strings.Contains(string(b), "count=3") || !strings.Contains(string(b), "-retain 2") {
			t.Errorf("GET %s: %d %s, want 400 naming count=3 and -retain 2", path, res.StatusCode, b)
		}
	}
	c, err := smtp.Dial(p.smtp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 1; i <= 3; i++ {
		sendOver(t, c, "app@example.com", "bob@"+in.Domain, fmt.Sprintf("Subject: code %d\r\n\r\nx\r\n", i))
	}
	for _, q := range scopes[:3] { // the filtered wait on the server takes both
		var ms []messageJSON
		getJSON(t, p, "/api/wait?count=2&timeout=5s"+q, 200, &ms)
		if len(ms) != 2 || ms[0].ID != 2 || ms[1].ID != 3 {
			t.Errorf("GET /api/wait?count=2%s: %+v, want messages 2 and 3, those -retain 2 keeps", q, ms)
		}
	}
}

// TestWaitTimeoutNamesAFewOfTheMessagesFound: the 408 of a wait for count
// messages like a filter names those it found and did not take as other
// lists in errors are named, the first 10 and how many more (it named
// every one: a wait for 100,000 that found 99,999 said each ID).
func TestWaitTimeoutNamesAFewOfTheMessagesFound(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet")
	c, err := smtp.Dial(p.smtp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 1; i <= 12; i++ {
		sendOver(t, c, "app@example.com", "bob@example.com", fmt.Sprintf("Subject: code %d\r\n\r\nx\r\n", i))
	}
	var timedOut waitTimeoutJSON
	getJSON(t, p, "/api/wait?subjectContains=code&count=13&timeout=1ms", 408, &timedOut)
	if want := "got 12 (message 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 2 more), and took none"; !strings.Contains(timedOut.Error, want) {
		t.Errorf("408 of a wait for 13 with 12 there: %q, want %q", timedOut.Error, want)
	}
}

// TestWaitTimeoutFlag checks -wait-timeout: the timeout of every wait
// whose request gives none, and only of those.
func TestWaitTimeoutFlag(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet", "-wait-timeout", "50ms")
	for _, path := range []string{"/api/wait", "/api/wait?count=2", "/api/wait/sessions", "/api/wait/sessions/1", "/api/sessions/1/normalized"} {
		var got struct{ Error string }
		getJSON(t, p, path, http.StatusRequestTimeout, &got)
		if !strings.HasPrefix(got.Error, "waited 50ms ") {
			t.Errorf("GET %s: 408 %q, want it to have waited the -wait-timeout, 50ms", path, got.Error)
		}
	}
	var got struct{ Error string }
	getJSON(t, p, "/api/wait?timeout=60ms", http.StatusRequestTimeout, &got)
	if !strings.HasPrefix(got.Error, "waited 60ms ") {
		t.Errorf("GET /api/wait?timeout=60ms: 408 %q, want the request's timeout to win", got.Error)
	}
}
