package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
)

// noneAnswer is what a GET /api/wait/none in flight answered.
type noneAnswer struct {
	status int
	body   noneJSON
	met    bool
	took   time.Duration
	err    error
}

// waitNoneAsync sends GET path (a wait) and returns a channel that gets
// its answer.
func waitNoneAsync(p *proc, path string) <-chan noneAnswer {
	done := make(chan noneAnswer, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		req, err := newRequest(ctx, p, "GET", path, nil)
		if err != nil {
			done <- noneAnswer{err: err}
			return
		}
		start := time.Now()
		res, err := httpClient.Do(req)
		if err != nil {
			done <- noneAnswer{err: err}
			return
		}
		defer res.Body.Close()
		a := noneAnswer{status: res.StatusCode, took: time.Since(start)}
		b, err := io.ReadAll(res.Body)
		if err == nil && res.StatusCode == 200 {
			var c checkJSON
			err = json.Unmarshal(b, &c)
			a.met = c.Met
		} else if err == nil {
			err = json.Unmarshal(b, &a.body)
		}
		a.err = err
		done <- a
	}()
	return done
}

// A suite of code that must not send (an unsubscribed user, a second
// click on a link) asks that no mail comes to its inbox for a while, as
// Inbox.AssertNoMessages: the wait answers 417 as soon as a message to
// the inbox arrives, naming it, and ignores the mail of other inboxes.
// (The program had no such wait: a suite slept, then listed the mail.)
func TestWaitNoneFailsAsSoonAsAMessageComes(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-log-level", "debug")
	var mine, other inboxJSON
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "test_unsubscribed"}`, 201, &mine)
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "test_other"}`, 201, &other)

	w := waitNoneAsync(p, "/api/wait/none?timeout=50s&inbox="+mine.Domain)
	p.stderr.waitFor(t, regexp.MustCompile(`msg=http method=GET path=/api/wait/none`))
	sendMail(t, p.smtp, "app@example.com", []string{"bob@" + other.Domain}, "Subject: for another test\r\n\r\nx\r\n")
	getJSON(t, p, "/api/wait?timeout=10s&inbox="+other.Domain, 200, nil)
	select {
	case a := <-w:
		t.Fatalf("the wait answered after a message to another inbox: %d %+v %v", a.status, a.body, a.err)
	default:
	}

	sendMail(t, p.smtp, "app@example.com", []string{"ann@" + mine.Domain}, "Subject: We miss you\r\n\r\nx\r\n")
	a := <-w
	if a.err != nil || a.status != 417 {
		t.Fatalf("the wait after a message to its inbox: %d %+v %v, want 417", a.status, a.body, a.err)
	}
	if a.took > 40*time.Second {
		t.Errorf("the 417 came after %v: it waited for the timeout", a.took)
	}
	wantErr := fmt.Sprintf("want no message in the inbox %s within 50s, got 1:\n  message 2 from <app@example.com> to <ann@%s> \"We miss you\"", mine.Domain, mine.Domain)
	if !strings.HasPrefix(a.body.Error, wantErr) || len(a.body.Messages) != 1 || a.body.Messages[0].ID != 2 {
		t.Errorf("the 417: %q with %d messages, want %q and message 2", a.body.Error, len(a.body.Messages), wantErr)
	}

	// A message already there fails it at once, as AssertNoMessages.
	w = waitNoneAsync(p, "/api/wait/none?timeout=50s&inbox="+mine.Domain)
	if a := <-w; a.status != 417 || a.took > 40*time.Second || len(a.body.Messages) != 1 {
		t.Errorf("with a message kept: %d after %v %+v, want 417 at once", a.status, a.took, a.body)
	}
}

// With since=ID only later messages count, as AssertNoMoreMessages after
// the message a test waited for: nothing more within the timeout is a
// 200 {"met": true}, and one more is a 417. The server's scope counts
// every message; an inbox's only its own, whatever -retain forgets.
func TestWaitNoneSinceAMessage(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-retain", "1")
	var in inboxJSON
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "test_once"}`, 201, &in)
	sendMail(t, p.smtp, "app@example.com", []string{"ann@" + in.Domain}, "Subject: welcome\r\n\r\nx\r\n")
	var ms []messageJSON
	getJSON(t, p, "/api/wait?subject=welcome&inbox="+in.Domain, 200, &ms)
	first := ms[0].ID

	for _, q := range []string{"", "&inbox=" + in.Domain} {
		var c checkJSON
		getJSON(t, p, fmt.Sprintf("/api/wait/none?timeout=100ms&since=%d%s", first, q), 200, &c)
		if !c.Met {
			t.Errorf("nothing since message %d%s: %+v, want met", first, q, c)
		}
		var e noneJSON
		getJSON(t, p, "/api/wait/none?timeout=100ms"+q, 417, &e)
		if !strings.Contains(e.Error, "want no message") || !strings.Contains(e.Error, "got 1:") {
			t.Errorf("no message%s with message %d kept: %q", q, first, e.Error)
		}
	}

	// -retain 1: the second message makes the server forget the first,
	// and the inbox still has one message; the wait sees the new one.
	for _, q := range []string{"", "&inbox=" + in.Domain} {
		var list []messageJSON
		getJSON(t, p, "/api/messages", 200, &list)
		last := list[len(list)-1].ID
		w := waitNoneAsync(p, fmt.Sprintf("/api/wait/none?timeout=50s&since=%d%s", last, q))
		sendMail(t, p.smtp, "app@example.com", []string{"ann@" + in.Domain}, "Subject: welcome again\r\n\r\nx\r\n")
		a := <-w
		if a.status != 417 || a.took > 40*time.Second || len(a.body.Messages) != 1 || a.body.Messages[0].ID != last+1 ||
			!strings.Contains(a.body.Error, fmt.Sprintf("want no message after message %d", last)) {
			t.Errorf("since=%d%s, another message: %d after %v %+v %v, want 417 at once with message %d", last, q, a.status, a.took, a.body, a.err, last+1)
		}
	}
}

// The wait that no message comes takes a timeout, always: every call
// that passes lasts that long, and a default would hide it.
func TestWaitNoneBadRequests(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	for _, c := range []struct {
		path   string
		status int
		err    string
	}{
		{"/api/wait/none", 400, "timeout: give how long no message may arrive"},
		{"/api/wait/none?timeout=2", 400, `timeout="2"`},
		{"/api/wait/none?timeout=11m", 400, "at most 10m0s"},
		{"/api/wait/none?timeout=1s&timeout=1s", 400, "timeout given 2 times"},
		{"/api/wait/none?timeout=1s&since=x", 400, `since="x": want a message ID`},
		{"/api/wait/none?timeout=1s&since=1.5", 400, `since="1.5": want a message ID`},
		{"/api/wait/none?timeout=1s&count=1", 400, `unknown query parameter "count"; the parameters are: since, timeout, inbox`},
		{"/api/wait/none?timeout=1s&to=bob@example.com", 400, `unknown query parameter "to"`},
		{"/api/wait/none?timeout=1s&inbox=nope.inbox.test", 404, `inbox="nope.inbox.test": no such inbox`},
	} {
		res, b := do(t, p, "GET", c.path, "")
		var e errorJSON
		if err := json.Unmarshal(b, &e); err != nil || res.StatusCode != c.status || !strings.Contains(e.Error, c.err) {
			t.Errorf("GET %s: %d %s, want %d %q", c.path, res.StatusCode, b, c.status, c.err)
		}
	}
	if res, _ := do(t, p, "POST", "/api/wait/none", ""); res.StatusCode != 405 || res.Header.Get("Allow") != "GET, OPTIONS" {
		t.Errorf("POST /api/wait/none: %d Allow %q, want 405", res.StatusCode, res.Header.Get("Allow"))
	}
}
