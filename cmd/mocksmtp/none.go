package main

// The wait that no message comes: for suites of code that must not send.
//
//	GET /api/wait/none?timeout=2s            200 {"met": true} when no message is kept and none
//	                                         arrives within the timeout, as Server.AssertNoMessages;
//	                                         417 as soon as one is there, {"error", "messages"}
//	GET /api/wait/none?timeout=2s&since=ID   only messages after ID count, as AssertNoMoreMessages
//	                                         (after the message the test waited for: its ID)
//	...&inbox=D                              only the inbox's, as Inbox.AssertNoMessages
//
// The timeout is required: it is the time the suite gives the code under
// test to send what it must not, and every passing call lasts that long.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/mocksmtp/mocksmtp"
)

// noneJSON is the body of a 417 from GET /api/wait/none.
type noneJSON struct {
	Error    string        `json:"error"`    // what was wanted, and each message that came, one a line
	Messages []messageJSON `json:"messages"` // those messages (the last maxListedOnTimeout)
}

// waitNone answers GET /api/wait/none. The Go API's AssertNoMessages
// has no t-free form, so it waits as WaitUntilContext, on each change,
// and looks at the scope's messages only when the server has a new one.
func (a *api) waitNone(w http.ResponseWriter, r *http.Request) {
	q, ok := query(w, r, false, "since", "timeout", "inbox")
	if !ok {
		return
	}
	sc, ok := a.scopeOf(w, q)
	if !ok {
		return
	}
	since, ok := sinceOf(w, q)
	if !ok {
		return
	}
	if !q.Has("timeout") {
		writeError(w, http.StatusBadRequest, "timeout: give how long no message may arrive, such as 2s (at most %v)", maxWait)
		return
	}
	_, timeout, ok := a.waitQuery(w, q, "messages")
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	extendDeadlines(w, r, timeout)
	newest := -1 // the server's newest message when last looked
	err := a.srv.WaitUntilContext(ctx, func() bool {
		id := 0
		if last := a.srv.LastMessages(1); len(last) > 0 {
			id = last[0].ID
		}
		if id == newest || id <= since {
			return false // no new message on the server, or none after since
		}
		newest = id
		if sc.in == nil {
			return true // the newest is after since
		}
		came, _ := sc.after(since, 1)
		return len(came) > 0
	})
	switch {
	case err == nil:
		what := "no message"
		if since > 0 {
			what = fmt.Sprintf("no message after message %d", since)
		}
		came, n := sc.after(since, maxListedOnTimeout)
		got := strconv.Itoa(n)
		if n < 0 {
			got = "more than " + strconv.Itoa(len(came))
		}
		var b strings.Builder
		fmt.Fprintf(&b, "want %s%s within %v, got %s:", what, sc.where(), timeout, got)
		if len(came) < n {
			fmt.Fprintf(&b, " the last %d", len(came))
		}
		for _, m := range came {
			b.WriteString("\n  ")
			b.WriteString(m.String())
		}
		writeJSON(w, http.StatusExpectationFailed, noneJSON{Error: b.String(), Messages: messagesJSON(came)})
	case r.Context().Err() != nil || errors.Is(err, mocksmtp.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, "mocksmtp is shutting down")
	default:
		writeJSON(w, http.StatusOK, checkJSON{Met: true})
	}
}

// after returns the last max of the scope's messages with an ID above
// id, in arrival order, and how many there are: -1 when the server has
// more than max of them and it would have to read them all to count them.
func (sc scope) after(id, max int) ([]*mocksmtp.Message, int) {
	var ms []*mocksmtp.Message
	var total int
	if sc.in == nil {
		ms, total = sc.srv.TailMessages(max + 1) // IDs grow: those after id are the last ones; the total of the same instant
	} else {
		ms = sc.in.Messages()
	}
	ms = ms[sort.Search(len(ms), func(i int) bool { return ms[i].ID > id }):]
	n := len(ms)
	if sc.in == nil && n > max {
		n = -1
		if id == 0 {
			n = total // every message kept
		}
	}
	return ms[len(ms)-min(len(ms), max):], n
}
