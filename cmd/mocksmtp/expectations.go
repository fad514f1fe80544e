package main

// Expectations over HTTP, on the Go API's expectations without a test
// (Server.AddExpectation, Verify): a suite registers what it expects,
// then asks whether it was met, and gets the report a Go test would fail
// with.
//
//	POST /api/expectations {"want": {"to": ["bob@example.com"], "subjectContains": "Welcome"}, "times": 1}
//	GET  /api/expectations/check     200 {"met": true}, or 417 {"error": "<the report>"}
//
// is, in Go,
//
//	srv.AddExpectation(mocksmtp.Want{To: []string{"bob@example.com"}, SubjectContains: "Welcome"}) // .Times(1)
//	srv.Verify()
//
// "want" is the JSON form of a filter (filter.go): the names of the
// filter's query parameters, a list for to, headerTo, cc, attachment and
// dkim, "header": {"X-Name": "value"}, and an object for an attachment or
// a DKIM signature that needs more than its file name or domain:
// {"attachment": [{"contentType": "application/pdf"}], "dkim":
// [{"domain": "example.com", "status": "fail", "reason": "body hash"}]}.
// By default an expectation wants exactly one message; "times"
// (exactly n), "atLeast" (n or more) or "never": true change that, as
// Expectation.Times, AtLeast and Never do. Each message meets one
// expectation at most, so that two alike want two messages. An
// expectation is named in reports "POST /api/expectations #n", or by
// "declaredAt" (a test's file:line, say). With ?inbox=D, it is on the
// inbox's messages, and the check checks the inbox's expectations.
// DELETE /api/messages (?inbox=D) forgets them, as Reset does.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"unicode"

	"github.com/mocksmtp/mocksmtp"
)

// maxExpectationBody bounds the body of POST /api/expectations.
const maxExpectationBody = 1 << 20

// maxDeclaredAt bounds "declaredAt", in bytes.
const maxDeclaredAt = 200

// checkDeclaredAt checks a "declaredAt" of an expectation or a fault: the
// place a suite names, which reports and transcript notes quote, at most
// maxDeclaredAt bytes on one line (no control character, nor a Unicode
// line or paragraph separator).
func checkDeclaredAt(s string) error {
	if len(s) > maxDeclaredAt || strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
	}) {
		return fmt.Errorf("declaredAt: want at most %d bytes on one line, such as test_signup.py:42", maxDeclaredAt)
	}
	return nil
}

// expectationRequest is the body of POST /api/expectations.
type expectationRequest struct {
	Want       json.RawMessage `json:"want"`
	Times      *int            `json:"times"`
	AtLeast    *int            `json:"atLeast"`
	Never      bool            `json:"never"`
	DeclaredAt string          `json:"declaredAt"`
}

// expectationJSON is a registered expectation, as the API shows it.
type expectationJSON struct {
	ID          int    `json:"id"`
	DeclaredAt  string `json:"declaredAt"`
	Inbox       string `json:"inbox,omitempty"`
	Description string `json:"description"` // what it wants: "exactly 1 message like Want{...}"
}

// expectationIDs numbers the expectations the API registers.
type expectationIDs struct {
	mu   sync.Mutex // guards last
	last int
}

func (ids *expectationIDs) next() int {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	ids.last++
	return ids.last
}

// postExpectation registers an expectation: 201 with its ID and name.
func (a *api) postExpectation(w http.ResponseWriter, r *http.Request) {
	sc, ok := a.inboxScope(w, r)
	if !ok {
		return
	}
	data, ok := readBody(w, r, maxExpectationBody)
	if !ok {
		return
	}
	var req expectationRequest
	if len(data) == 0 {
		writeError(w, http.StatusBadRequest, "POST /api/expectations: no body; want {\"want\": {\"to\": [\"bob@example.com\"], \"subjectContains\": \"Welcome\"}, \"times\": 1}")
		return
	}
	if err := decodeStrict(data, &req); err != nil {
		writeError(w, http.StatusBadRequest, "POST /api/expectations: %v; want {\"want\": {\"to\": [\"bob@example.com\"], \"subjectContains\": \"Welcome\"}, \"times\": 1}", err)
		return
	}
	want, err := wantFromJSON(req.Want)
	if err != nil {
		writeError(w, http.StatusBadRequest, "POST /api/expectations: want: %v", err)
		return
	}
	var counts []string
	if req.Times != nil {
		counts = append(counts, "times")
	}
	if req.AtLeast != nil {
		counts = append(counts, "atLeast")
	}
	if req.Never {
		counts = append(counts, "never")
	}
	if len(counts) > 1 {
		writeError(w, http.StatusBadRequest, "POST /api/expectations: %s: give one of them", strings.Join(counts, " and "))
		return
	}
	for name, n := range map[string]*int{"times": req.Times, "atLeast": req.AtLeast} {
		if n != nil && *n < 0 {
			writeError(w, http.StatusBadRequest, "POST /api/expectations: %s %d: want a number ≥ 0", name, *n)
			return
		}
	}
	if err := checkDeclaredAt(req.DeclaredAt); err != nil {
		writeError(w, http.StatusBadRequest, "POST /api/expectations: %v", err)
		return
	}

	var e *mocksmtp.Expectation
	if sc.in == nil {
		e, err = a.srv.AddExpectation(want)
	} else {
		e, err = sc.in.AddExpectation(want)
	}
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "POST /api/expectations: %v", err) // the server is closed
		return
	}
	j := expectationJSON{ID: a.expectations.next(), DeclaredAt: req.DeclaredAt}
	if j.DeclaredAt == "" {
		j.DeclaredAt = fmt.Sprintf("POST /api/expectations #%d", j.ID)
	}
	e.DeclaredAt(j.DeclaredAt)
	j.Description = fmt.Sprintf("exactly 1 message like %v", want)
	switch {
	case req.Times != nil && *req.Times == 0, req.Never:
		e.Never()
		j.Description = fmt.Sprintf("no message like %v", want)
	case req.Times != nil:
		e.Times(*req.Times)
		j.Description = fmt.Sprintf("exactly %s like %v", plural(*req.Times, "message"), want)
	case req.AtLeast != nil:
		e.AtLeast(*req.AtLeast)
		j.Description = fmt.Sprintf("at least %s like %v", plural(*req.AtLeast, "message"), want)
	}
	if sc.in != nil {
		j.Inbox = sc.in.Domain()
	}
	a.log.Info("expectation", "id", j.ID, "declaredAt", j.DeclaredAt, "inbox", j.Inbox, "wants", j.Description)
	writeJSON(w, http.StatusCreated, j)
}

// checkExpectations answers GET /api/expectations/check: 200 when every
// expectation registered (on the server, or on the inbox) is met, 417
// with the reports of those that are not, as Verify returns them.
func (a *api) checkExpectations(w http.ResponseWriter, r *http.Request) {
	sc, ok := a.inboxScope(w, r)
	if !ok {
		return
	}
	var err error
	if sc.in == nil {
		err = a.srv.Verify()
	} else {
		err = sc.in.Verify()
	}
	if err != nil {
		writeError(w, http.StatusExpectationFailed, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, checkJSON{Met: true})
}

type checkJSON struct {
	Met bool `json:"met"`
}
