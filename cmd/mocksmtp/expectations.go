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
//
// {"forbidOtherMessages": true} makes a message that meets no
// expectation a failure of the check, as ForbidOtherMessages does, and
// {"forbidMessages": true} any message, as ForbidMessages does (false is
// leaving it out, refused with nothing else); each goes alone (with "declaredAt" at most), and is listed as
// the others are.
// Posted again on the same scope, a forbid replaces the one before it, in
// the list as in the Go API, whose report names the last one.
//
//	GET  /api/expectations      the expectations registered (?inbox=D: on the inbox), in order
//
// DELETE /api/messages forgets them all, the inboxes' too, as Reset does;
// DELETE /api/messages?inbox=D, the inbox's, as Inbox.Reset does. The
// program keeps at most maxExpectations of them, weighing at most
// maxExpectationBytes (507 past either).

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/mocksmtp/mocksmtp"
)

// maxExpectationBody bounds the body of POST /api/expectations.
const maxExpectationBody = 1 << 20

// maxExpectations bounds the expectations the program keeps, on the
// server and its inboxes together: each holds its want, up to a body's
// size, until a reset forgets it.
const maxExpectations = 10_000

// maxExpectationBytes bounds what the expectations the program keeps
// weigh: for each, its body, its description (which quotes its want) and
// its regular expressions compiled (regexpWeight), so that a suite posting wants of a body's full size (maxExpectationBody)
// cannot make the program hold gigabytes before maxExpectations.
const maxExpectationBytes = 64 << 20

// bytesPerInstruction is what an instruction of a compiled regular
// expression weighs, about (50 bytes measured, with the regexp's copies).
const bytesPerInstruction = 64

// regexpWeight is what the regular expressions of w weigh compiled: a
// short one can be a long program (`\pL{1000}`, 9 bytes, is 1,000
// instructions; a few kilobytes of them, hundreds of megabytes). An
// expression that does not compile weighs nothing: AddExpectation refuses
// it.
func regexpWeight(w mocksmtp.Want) int {
	n := 0
	for _, expr := range []string{w.SubjectMatches, w.TextMatches, w.HTMLMatches} {
		if expr == "" {
			continue
		}
		re, err := syntax.Parse(expr, syntax.Perl)
		if err != nil {
			continue
		}
		prog, err := syntax.Compile(re.Simplify())
		if err != nil {
			continue
		}
		n += len(prog.Inst) * bytesPerInstruction
	}
	return n
}

// onOneLine reports whether s, a name a suite gives (a "declaredAt", an
// inbox's name), is at most max bytes on one line: no control character
// (C0, DEL, C1 with NEL), nor a Unicode line or paragraph separator
// (U+2028, U+2029). The one rule of every such name: reports, transcript
// notes and the log quote them on one line.
func onOneLine(s string, max int) bool {
	return len(s) <= max && !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
	})
}

// maxDeclaredAt bounds "declaredAt", in bytes.
const maxDeclaredAt = 200

// checkDeclaredAt checks a "declaredAt" of an expectation or a fault: the
// place a suite names, which reports and transcript notes quote, at most
// maxDeclaredAt bytes on one line (onOneLine).
func checkDeclaredAt(s string) error {
	if !onOneLine(s, maxDeclaredAt) {
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
	// ForbidOtherMessages and ForbidMessages register those of the Go
	// API instead of an expectation of want. false is leaving it out,
	// but refused with nothing else asked (checkCounts).
	ForbidOtherMessages *bool `json:"forbidOtherMessages"`
	ForbidMessages      *bool `json:"forbidMessages"`
}

// Kinds of forbid, named as their keys.
const (
	forbidOthers = "forbidOtherMessages"
	forbidAll    = "forbidMessages"
)

// forbids names the forbids req asks for (true), in the order of their
// keys: none for an expectation of a want, and at most one once
// checkCounts has passed.
func (req expectationRequest) forbids() []string {
	var kinds []string
	if req.ForbidOtherMessages != nil && *req.ForbidOtherMessages {
		kinds = append(kinds, forbidOthers)
	}
	if req.ForbidMessages != nil && *req.ForbidMessages {
		kinds = append(kinds, forbidAll)
	}
	return kinds
}

// forbid names the forbid req asks for, "" for an expectation of a want.
// checkCounts must have passed.
func (req expectationRequest) forbid() string {
	if kinds := req.forbids(); len(kinds) > 0 {
		return kinds[0]
	}
	return ""
}

// expectationJSON is a registered expectation, as the API shows it.
type expectationJSON struct {
	ID          int    `json:"id"`
	DeclaredAt  string `json:"declaredAt"`
	Inbox       string `json:"inbox,omitempty"`
	Description string `json:"description"` // what it wants: "exactly 1 message like Want{...}"
}

// expectationList is what the API registered and no reset forgot, as GET
// /api/expectations lists it: the server's expectations and each inbox's,
// in order. Its lock is held across registering in the Go API and across
// the resets that forget there (forget), so that the list never differs
// from what Verify checks.
type expectationList struct {
	mu       sync.Mutex // guards the rest; held while registering and resetting
	last     int        // the last ID given: IDs go on after a reset
	server   []listedExpectation
	inbox    map[*mocksmtp.Inbox][]listedExpectation
	n        int // how many the lists hold in all
	bytes    int // what they weigh in all (listedExpectation.weight)
	max      int // maxExpectations; tests lower it
	maxBytes int // maxExpectationBytes; tests lower it
}

// listedExpectation is an expectation of the list, with the kind of
// forbid it is: "forbidOtherMessages", "forbidMessages", or "" for an
// expectation of a want.
type listedExpectation struct {
	expectationJSON
	forbid string
	weight int // its body's size, its description's and its compiled regexps'
}

// register adds an expectation, made by add from its ID (under the lock,
// so that the Go API registers in the same order), to the list of in
// (nil: the server's). A forbid (forbid names its kind, "" for an
// expectation of a want) replaces one of its kind in the list, as the Go
// API replaces it: the check's report names the last one only. weight
// is what it will weigh: its body's size, its description's and its
// compiled regexps'. It fails with 507 when the lists are full, by count
// or by weight, or with add's error.
func (l *expectationList) register(in *mocksmtp.Inbox, forbid string, weight int, add func(id int) (expectationJSON, error)) (expectationJSON, int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	list := l.server
	if in != nil {
		list = l.inbox[in]
	}
	replaced, freed := 0, 0 // by a forbid of the same kind
	for _, e := range list {
		if forbid != "" && e.forbid == forbid {
			replaced++
			freed += e.weight
		}
	}
	switch {
	case l.n-replaced >= l.max:
		return expectationJSON{}, http.StatusInsufficientStorage,
			fmt.Errorf("mocksmtp keeps %d expectations, as many as it can; DELETE /api/messages forgets them (?inbox=D: those of the inbox)", l.max)
	case l.bytes-freed+weight > l.maxBytes:
		return expectationJSON{}, http.StatusInsufficientStorage,
			fmt.Errorf("mocksmtp keeps expectations of %d bytes in all (bodies, descriptions and compiled regular expressions), and holds %d: this one, of %d, would pass it; DELETE /api/messages forgets them (?inbox=D: those of the inbox)", l.maxBytes, l.bytes, weight)
	}
	j, err := add(l.last + 1)
	if err != nil {
		return expectationJSON{}, http.StatusServiceUnavailable, err // the server is closed
	}
	l.last = j.ID
	if replaced > 0 {
		list = slices.DeleteFunc(list, func(e listedExpectation) bool { return e.forbid == forbid })
	}
	list = append(list, listedExpectation{j, forbid, weight})
	l.n += 1 - replaced
	l.bytes += weight - freed
	if in == nil {
		l.server = list
		return j, 0, nil
	}
	if l.inbox == nil {
		l.inbox = make(map[*mocksmtp.Inbox][]listedExpectation)
	}
	l.inbox[in] = list
	return j, 0, nil
}

// list returns a copy of the list of in (nil: the server's).
func (l *expectationList) list(in *mocksmtp.Inbox) []expectationJSON {
	l.mu.Lock()
	defer l.mu.Unlock()
	list := l.server
	if in != nil {
		list = l.inbox[in]
	}
	if list == nil {
		return nil
	}
	out := make([]expectationJSON, len(list))
	for i, e := range list {
		out[i] = e.expectationJSON
	}
	return out
}

// forget runs reset, which forgets the expectations of in in the Go API
// (Inbox.Reset), or of the server and every inbox (in == nil:
// Server.Reset), and forgets the same ones here.
func (l *expectationList) forget(in *mocksmtp.Inbox, reset func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	reset()
	if in != nil {
		for _, e := range l.inbox[in] {
			l.n--
			l.bytes -= e.weight
		}
		delete(l.inbox, in)
		return
	}
	l.server, l.inbox, l.n, l.bytes = nil, nil, 0, 0
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
	if string(req.Want) == "null" { // as a client that sends every field writes none
		req.Want = nil
	}
	if err := checkCounts(req); err != nil {
		writeError(w, http.StatusBadRequest, "POST /api/expectations: %v", err)
		return
	}
	var want mocksmtp.Want
	var wantText string // as descriptions quote it
	forbid := req.forbid()
	if forbid == "" {
		var err error
		if want, err = wantFromJSON(req.Want); err != nil {
			writeError(w, http.StatusBadRequest, "POST /api/expectations: want: %v", err)
			return
		}
		wantText = fmt.Sprint(want)
	}
	if err := checkDeclaredAt(req.DeclaredAt); err != nil {
		writeError(w, http.StatusBadRequest, "POST /api/expectations: %v", err)
		return
	}

	// The description: the want and a few words.
	weight := len(data) + len(wantText) + 50 + regexpWeight(want)
	j, status, err := a.expectations.register(sc.in, forbid, weight, func(id int) (expectationJSON, error) {
		j := expectationJSON{ID: id, DeclaredAt: req.DeclaredAt}
		if j.DeclaredAt == "" {
			j.DeclaredAt = fmt.Sprintf("POST /api/expectations #%d", j.ID)
		}
		if sc.in != nil {
			j.Inbox = sc.in.Domain()
		}
		var err error
		j.Description, err = sc.register(req, want, wantText, j.DeclaredAt)
		return j, err
	})
	if err != nil {
		writeError(w, status, "POST /api/expectations: %v", err)
		return
	}
	// The description quotes the want, as long as its body and more (a
	// header of 80,000 names): the log quotes it as errors quote client
	// input, clipped; the answer and GET /api/expectations have it whole.
	a.log.Info("expectation", "id", j.ID, "declaredAt", j.DeclaredAt, "inbox", j.Inbox, "wants", clip(j.Description))
	writeJSON(w, http.StatusCreated, j)
}

// checkCounts checks that a request says one thing of how many messages
// it wants: times, atLeast or never, or forbidOtherMessages or
// forbidMessages alone.
func checkCounts(req expectationRequest) error {
	var given []string
	if req.Want != nil {
		given = append(given, "want")
	}
	if req.Times != nil {
		given = append(given, "times")
	}
	if req.AtLeast != nil {
		given = append(given, "atLeast")
	}
	if req.Never {
		given = append(given, "never")
	}
	// false is leaving it out, as a client that sends every field (a
	// typed one) writes it beside a want; alone, it asks to switch a
	// forbid off, which nothing but a reset does, and would register an
	// expectation of any message.
	for _, f := range []struct {
		name string
		b    *bool
	}{{forbidOthers, req.ForbidOtherMessages}, {forbidAll, req.ForbidMessages}} {
		if f.b != nil && !*f.b && len(given) == 0 && len(req.forbids()) == 0 {
			return fmt.Errorf("%s: false, and nothing else asked: leave it out; true forbids, and nothing but a reset (DELETE /api/messages) takes a forbid back", f.name)
		}
	}
	forbid := req.forbids()
	switch {
	case len(forbid) > 0 && len(given)+len(forbid) > 1:
		return fmt.Errorf("%s: %s goes alone (with declaredAt at most): it is about every message, not those like a want", strings.Join(append(given, forbid...), " and "), forbid[0])
	case len(given) > 0 && given[0] == "want":
		given = given[1:]
	}
	if len(given) > 1 {
		return fmt.Errorf("%s: give one of them", strings.Join(given, " and "))
	}
	for name, n := range map[string]*int{"times": req.Times, "atLeast": req.AtLeast} {
		if n != nil && *n < 0 {
			return fmt.Errorf("%s %d: want a number ≥ 0", name, *n)
		}
	}
	return nil
}

// register registers what req asks for (an expectation of want, or a
// forbid) on the scope, named where in reports, and says what it wants
// (wantText: want as fmt.Sprint writes it).
func (sc scope) register(req expectationRequest, want mocksmtp.Want, wantText, where string) (string, error) {
	switch forbid := req.forbid(); {
	case forbid == forbidOthers && sc.in == nil:
		return "no message that meets no expectation", sc.srv.ForbidOtherMessagesAt(where)
	case forbid == forbidOthers:
		return "no message that meets no expectation", sc.in.ForbidOtherMessagesAt(where)
	case forbid == forbidAll && sc.in == nil:
		return "no message at all", sc.srv.ForbidMessagesAt(where)
	case forbid == forbidAll:
		return "no message at all", sc.in.ForbidMessagesAt(where)
	}
	var e *mocksmtp.Expectation
	var err error
	if sc.in == nil {
		e, err = sc.srv.AddExpectation(want)
	} else {
		e, err = sc.in.AddExpectation(want)
	}
	if err != nil {
		return "", err
	}
	e.DeclaredAt(where)
	switch {
	case req.Times != nil && *req.Times == 0, req.Never:
		e.Never()
		return "no message like " + wantText, nil
	case req.Times != nil:
		e.Times(*req.Times)
		return fmt.Sprintf("exactly %s like %s", plural(*req.Times, "message"), wantText), nil
	case req.AtLeast != nil:
		e.AtLeast(*req.AtLeast)
		return fmt.Sprintf("at least %s like %s", plural(*req.AtLeast, "message"), wantText), nil
	}
	return "exactly 1 message like " + wantText, nil
}

// listExpectations answers GET /api/expectations: the expectations
// registered on the server (or, with inbox, on the inbox) that no reset
// forgot, in order, as POST answered with them.
func (a *api) listExpectations(w http.ResponseWriter, r *http.Request) {
	sc, ok := a.inboxScope(w, r)
	if !ok {
		return
	}
	list := a.expectations.list(sc.in)
	if list == nil {
		list = []expectationJSON{}
	}
	writeJSON(w, http.StatusOK, list)
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
