package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mocksmtp/mocksmtp"
)

// check GETs /api/expectations/check (with query q) and returns its
// status and error text.
func check(t *testing.T, p *proc, q string) (int, string) {
	t.Helper()
	res, b := do(t, p, "GET", "/api/expectations/check"+q, "")
	var e struct {
		errorJSON
		checkJSON
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("GET /api/expectations/check%s: %v in %s", q, err, b)
	}
	if res.StatusCode == 200 && (!e.Met || e.Error != "") || res.StatusCode == 417 && (e.Met || e.Error == "") {
		t.Errorf("GET /api/expectations/check%s: %d %s", q, res.StatusCode, b)
	}
	return res.StatusCode, e.Error
}

func TestExpectationsOverHTTP(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet")
	if code, _ := check(t, p, ""); code != 200 {
		t.Errorf("check with nothing registered: %d, want 200", code)
	}
	var e expectationJSON
	postJSON(t, p, "POST", "/api/expectations", `{"want": {"to": ["bob@example.com"], "subjectContains": "Welcome"}}`, 201, &e)
	if want := (expectationJSON{ID: 1, DeclaredAt: "POST /api/expectations #1",
		Description: `exactly 1 message like Want{To: ["bob@example.com"], SubjectContains: "Welcome"}`}); e != want {
		t.Errorf("POST /api/expectations = %+v, want %+v", e, want)
	}
	code, report := check(t, p, "")
	if code != 417 || !strings.HasPrefix(report, "mocksmtp: expectation at POST /api/expectations #1 not met: want exactly 1 message like this, got 0:\n"+
		`  Want{To: ["bob@example.com"], SubjectContains: "Welcome"}`+"\n") {
		t.Errorf("check before any mail: %d\n%s", code, report)
	}

	sendMail(t, p.smtp, "app@example.com", []string{"bob@example.com"}, mailTo("bob@example.com", "Welcome, Bob", "1", "Hello"))
	if code, report := check(t, p, ""); code != 200 {
		t.Errorf("check after the mail: %d\n%s", code, report)
	}
	// A second one is one too many: exactly 1 is the default.
	sendMail(t, p.smtp, "app@example.com", []string{"bob@example.com"}, mailTo("bob@example.com", "Welcome again", "2", "Hello"))
	code, report = check(t, p, "")
	if code != 417 || !strings.Contains(report, "want exactly 1 message like this, got 2:") || !strings.Contains(report, "the extra message:\nmessage 2 ") {
		t.Errorf("check after a second mail: %d\n%s", code, report)
	}

	// A reset forgets them.
	postJSON(t, p, "DELETE", "/api/messages", "", 204, nil)
	if code, report := check(t, p, ""); code != 200 {
		t.Errorf("check after a reset: %d\n%s", code, report)
	}

	// Counts, names, and what they want, in reports.
	for _, tt := range []struct{ body, description string }{
		{`{"want": {"subject": "News"}, "atLeast": 2}`, `at least 2 messages like Want{Subject: "News"}`},                                                // #2
		{`{"want": {"header": {"X-Test": "5"}}, "times": 1, "declaredAt": "test_signup.py:42"}`, `exactly 1 message like Want{Header: {"X-Test": "5"}}`}, // #3
		{`{"want": {"from": "spam@example.com"}, "never": true}`, `no message like Want{From: "spam@example.com"}`},                                      // #4
		{`{"want": {"textMatches": "^Bye$"}, "times": 0}`, `no message like Want{TextMatches: "^Bye$"}`},                                                 // #5
		{`{"times": 3}`, `exactly 3 messages like Want{}`},                                                                                               // #6
	} {
		postJSON(t, p, "POST", "/api/expectations", tt.body, 201, &e)
		if e.Description != tt.description {
			t.Errorf("POST %s: description %q, want %q", tt.body, e.Description, tt.description)
		}
	}
	if e.ID != 6 || e.DeclaredAt != "POST /api/expectations #6" {
		t.Errorf("the sixth expectation: %+v", e)
	}
	sendMail(t, p.smtp, "app@example.com", []string{"bob@example.com"}, mailTo("bob@example.com", "News", "3", "Hello"))
	sendMail(t, p.smtp, "app@example.com", []string{"bob@example.com"}, mailTo("bob@example.com", "News", "4", "Hello"))
	sendMail(t, p.smtp, "spam@example.com", []string{"bob@example.com"}, mailTo("bob@example.com", "Buy", "5", "Hello"))
	code, report = check(t, p, "")
	for _, want := range []string{
		"mocksmtp: expectation at POST /api/expectations #4 not met: want no message like this, got 1:\n  Want{From: \"spam@example.com\"}\nmessage 5 ",
		"mocksmtp: expectation at POST /api/expectations #6 not met: want exactly 3 messages like this, got 0:\n  Want{}\n",
		"matches, but the expectation at POST /api/expectations #2 counted it (a message meets one expectation at most).",
	} {
		if code != 417 || !strings.Contains(report, want) {
			t.Errorf("check: %d\n%s\nwant it to say %q", code, report, want)
		}
	}
	if n := strings.Count(report, " not met: "); n != 2 {
		t.Errorf("check reports %d unmet expectations, want 2:\n%s", n, report)
	}
}

// Expectations on an inbox see its mail only, are checked alone, and are
// forgotten by its reset.
func TestExpectationsOnAnInbox(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet")
	var a, b inboxJSON
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "a"}`, 201, &a)
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "b"}`, 201, &b)
	var e expectationJSON
	postJSON(t, p, "POST", a.ExpectationsURL, `{"want": {"subject": "Welcome"}}`, 201, &e)
	if e.Inbox != a.Domain || e.DeclaredAt != "POST /api/expectations #1" {
		t.Errorf("an expectation on a: %+v", e)
	}
	postJSON(t, p, "POST", "/api/expectations?inbox="+b.Domain, `{"never": true}`, 201, nil)

	sendMail(t, p.smtp, "app@example.com", []string{"bob@" + a.Domain}, mailTo("bob@"+a.Domain, "Welcome", "1", "Hello"))
	if code, report := check(t, p, "?inbox="+a.Domain); code != 200 {
		t.Errorf("check a: %d\n%s", code, report)
	}
	if code, report := check(t, p, "?inbox="+b.Domain); code != 200 {
		t.Errorf("check b, with mail only in a: %d\n%s", code, report)
	}
	if code, report := check(t, p, ""); code != 200 {
		t.Errorf("check the server, without expectations of its own: %d\n%s", code, report)
	}
	sendMail(t, p.smtp, "app@example.com", []string{"ann@" + b.Domain}, mailTo("ann@"+b.Domain, "Welcome", "2", "Hello"))
	code, report := check(t, p, "?inbox="+b.Domain)
	if code != 417 || !strings.HasPrefix(report, "mocksmtp: expectation at POST /api/expectations #2 not met: want no message like this, got 1:\n  Want{}\nmessage 2 ") ||
		!strings.HasSuffix(report, "in all: 1 message in this inbox; 2 sessions, 2 messages on the server") {
		t.Errorf("check b after its mail: %d\n%s", code, report)
	}
	postJSON(t, p, "DELETE", "/api/messages?inbox="+b.Domain, "", 204, nil)
	if code, report := check(t, p, "?inbox="+b.Domain); code != 200 {
		t.Errorf("check b after its reset: %d\n%s", code, report)
	}
	if code, report := check(t, p, "?inbox="+a.Domain); code != 200 {
		t.Errorf("check a after b's reset: %d\n%s", code, report)
	}
}

func TestExpectationErrors(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet")
	for _, tt := range []struct{ body, want string }{
		{``, "POST /api/expectations: no body"},
		{"  \n", "POST /api/expectations: no body"}, // only whitespace is no body
		{`[]`, "POST /api/expectations: want an object, got a list"},
		{`{"wnat": {}}`, `json: unknown field "wnat" (did you mean "want"?)`},
		{`{"want": {"too": ["bob@example.com"]}}`, `want: unknown key "too" (did you mean "to"?); the keys are: from, to,`},
		{`{"want": {"subjetContains": "x"}}`, `want: unknown key "subjetContains" (did you mean "subjectContains"?)`},
		{`{"want": {"dkim": [{"selecter": "s"}]}}`, `want: dkim[0]: unknown key "selecter" (did you mean "selector"?)`},
		{`{"timez": 1}`, `json: unknown field "timez" (did you mean "times"?)`},
		{`{"want": []}`, "want: want an object"},
		{`{"want": {"subjectcontains": "x"}}`, `want: unknown key "subjectcontains" (did you mean "subjectContains"?); the keys are: from, to, headerFrom,`},
		{`{"want": {"to": "bob@example.com"}}`, `want: to: want a list of strings`},
		{`{"want": {"to": []}}`, `want: to is empty`},
		{`{"want": {"subject": ""}}`, `want: subject is empty`},
		{`{"want": {"subject": 1}}`, `want: subject: want a string`},
		{`{"want": {"textMatches": "("}}`, `want: textMatches: invalid regular expression`},
		{`{"want": {"header": {"X-A": ""}}}`, `want: header.X-A: give it once, with the header's value`},
		{`{"want": {"header": {"": "x"}}}`, `want: header: a field without a name`},
		{`{"want": {"header": ["X-A"]}}`, `want: header: want an object of header fields`},
		{`{"times": 1, "never": true}`, `times and never: give one of them`},
		{`{"times": 1, "atLeast": 2}`, `times and atLeast: give one of them`},
		{`{"times": -1}`, `times -1: want a number ≥ 0`},
		{`{"atLeast": -2}`, `atLeast -2: want a number ≥ 0`},
		{`{"times": 1.5}`, `POST /api/expectations: times: want a whole number, got 1.5`},
		{`{"want": {"to": ["a@example.com"]}, "want": {"to": ["b@example.com"]}}`, `POST /api/expectations: duplicate key "want": give it once`},
		{`{"times": 1, "Times": 2}`, `POST /api/expectations: duplicate key "Times"`},
		// encoding/json folds ſ (a long s) to s, as strings.ToLower does not.
		{`{"want": {"to": ["a@example.com"]}, "times": 1, "timeſ": 5}`, `POST /api/expectations: duplicate key "timeſ"`},
		{`{"forbidOtherMessages": true, "want": {"to": ["a@example.com"]}}`, `want and forbidOtherMessages: forbidOtherMessages goes alone`},
		{`{"forbidOtherMessages": true, "never": true}`, `never and forbidOtherMessages: forbidOtherMessages goes alone`},
		{`{"forbidMessages": true, "times": 0}`, `times and forbidMessages: forbidMessages goes alone`},
		{`{"forbidMessages": true, "atLeast": 1}`, `atLeast and forbidMessages: forbidMessages goes alone`},
		{`{"forbidOtherMessages": true, "forbidMessages": true}`, `forbidOtherMessages and forbidMessages: forbidOtherMessages goes alone`},
		{`{"forbidOtherMessages": false}`, `forbidOtherMessages: false, and nothing else asked: leave it out; true forbids, and nothing but a reset (DELETE /api/messages) takes a forbid back`},
		{`{"forbidOtherMessages": false, "forbidMessages": false}`, `forbidOtherMessages: false, and nothing else asked: leave it out`},
		{`{"forbidMessages": false, "never": false, "declaredAt": "x"}`, `forbidMessages: false, and nothing else asked: leave it out`},
		{`{"forbidOtherMessages": 1}`, `POST /api/expectations: forbidOtherMessages: want true or false, got a number`},
		{`{"forbidOtherMessages": "yes"}`, `POST /api/expectations: forbidOtherMessages: want true or false, got a string`},
		{`{"forbidOtherMesages": true}`, `json: unknown field "forbidOtherMesages" (did you mean "forbidOtherMessages"?)`},
		{`{"forbidMessage": true}`, `json: unknown field "forbidMessage" (did you mean "forbidMessages"?)`},
		{`{"forbidOtherMessage": true}`, `json: unknown field "forbidOtherMessage" (did you mean "forbidOtherMessages"?)`},
		{`{"forbidOtherMessages": true, "forbidOtherMessages": true}`, `duplicate key "forbidOtherMessages": give it once`},
		{`{"forbidOtherMessages": true, "declaredAt": "a\nb"}`, `declaredAt: want at most 200 bytes on one line`},
		{`{"declaredAt": "a\nb"}`, `declaredAt: want at most 200 bytes on one line`},
		{`{"declaredAt": "a\u2028b"}`, `declaredAt: want at most 200 bytes on one line`},
		{`{"declaredAt": "` + strings.Repeat("x", maxDeclaredAt+1) + `"}`, `declaredAt: want at most 200 bytes on one line`},
		{`{"declaredAt": "` + strings.Repeat("x", 2*maxDeclaredAt) + `"}`, `declaredAt: want at most 200 bytes on one line`},
	} {
		res, b := do(t, p, "POST", "/api/expectations", tt.body)
		var e errorJSON
		if err := json.Unmarshal(b, &e); err != nil || res.StatusCode != 400 || !strings.Contains(e.Error, tt.want) {
			t.Errorf("POST /api/expectations %.60q: %d %s, want 400 with %q", tt.body, res.StatusCode, b, tt.want)
		}
	}
	for _, n := range []int{maxDeclaredAt - 1, maxDeclaredAt} {
		postJSON(t, p, "POST", "/api/expectations", `{"declaredAt": "`+strings.Repeat("x", n)+`"}`, 201, nil)
	}
	for _, path := range []string{"/api/expectations?x=1", "/api/expectations/check?to=a"} {
		method := "POST"
		if strings.Contains(path, "check") {
			method = "GET"
		}
		if res, b := do(t, p, method, path, `{}`); res.StatusCode != 400 || !strings.Contains(string(b), "unknown query parameter") {
			t.Errorf("%s %s: %d %s, want 400", method, path, res.StatusCode, b)
		}
	}
	for _, method := range []string{"PUT", "DELETE"} {
		if res, _ := do(t, p, method, "/api/expectations", ""); res.StatusCode != 405 || res.Header.Get("Allow") != "GET, POST, OPTIONS" {
			t.Errorf("%s /api/expectations: %d, Allow %q; want 405 and GET, POST", method, res.StatusCode, res.Header.Get("Allow"))
		}
	}
	if res, _ := do(t, p, "DELETE", "/api/expectations/1", ""); res.StatusCode != 404 {
		t.Errorf("DELETE /api/expectations/1: %d, want 404: there is no such route, as Go has no such call", res.StatusCode)
	}
}

// The 417 of a check is the report the Go API's Expect fails a test with,
// for the same expectation on the same messages.
func TestCheckHasTheReportOfExpect(t *testing.T) {
	t.Parallel()
	srv, err := mocksmtp.New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	a := newAPI(srv, slog.New(slog.DiscardHandler), false)
	want := mocksmtp.Want{To: []string{"bob@example.com"}, Subject: "Welcome", Header: map[string]string{"X-Test": "1"}}
	ft := &reportT{}
	srv.Expect(ft, want).DeclaredAt("POST /api/expectations #1").Times(2) // on the test ft: a scope of its own
	if code, b := serveRequest(t, a, "POST", "/api/expectations",
		`{"want": {"to": ["bob@example.com"], "subject": "Welcome", "header": {"X-Test": "1"}}, "times": 2}`); code != 201 {
		t.Fatalf("POST /api/expectations: %d %s", code, b)
	}
	sendMail(t, srv.Addr(), "app@example.com", []string{"bob@example.com"}, mailTo("bob@example.com", "Welcome", "1", "Hello"))
	sendMail(t, srv.Addr(), "app@example.com", []string{"bob@example.com"}, mailTo("bob@example.com", "Welcome!", "1", "Hello"))
	if _, err := srv.WaitForSessionsContext(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	code, b := serveRequest(t, a, "GET", "/api/expectations/check", "")
	var e errorJSON
	if err := json.Unmarshal(b, &e); err != nil || code != 417 {
		t.Fatalf("check: %d %s, want 417", code, b)
	}
	ft.finish()
	if len(ft.errors) != 1 {
		t.Fatalf("the Go API reported %d failures, want 1: %q", len(ft.errors), ft.errors)
	}
	if diff := cmp.Diff(ft.errors[0], e.Error); diff != "" || !strings.Contains(e.Error, "(-want +got):\n") || !strings.Contains(e.Error, "C: MAIL FROM:<app@example.com>") {
		t.Errorf("the report (-Go +program):\n%s", diff)
	}
}

// list GETs /api/expectations (with query q) and returns what it lists.
func list(t *testing.T, p *proc, q string) []expectationJSON {
	t.Helper()
	var l []expectationJSON
	getJSON(t, p, "/api/expectations"+q, 200, &l)
	if l == nil {
		t.Errorf("GET /api/expectations%s: null, want a list", q)
	}
	return l
}

// ForbidOtherMessages and ForbidMessages over HTTP: registered alone,
// answered and listed as the other expectations, named in the check's
// report as Go names them, on the server and on an inbox.
func TestForbidMessagesOverHTTP(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	var e expectationJSON
	postJSON(t, p, "POST", "/api/expectations", `{"want": {"subject": "Welcome"}}`, 201, nil)
	postJSON(t, p, "POST", "/api/expectations", `{"forbidOtherMessages": true}`, 201, &e)
	if want := (expectationJSON{ID: 2, DeclaredAt: "POST /api/expectations #2", Description: "no message that meets no expectation"}); e != want {
		t.Errorf("POST forbidOtherMessages = %+v, want %+v", e, want)
	}
	p.stderr.waitFor(t, regexp.MustCompile(`msg=expectation id=2 declaredAt="POST /api/expectations #2" inbox="" wants="no message that meets no expectation"`))
	sendMail(t, p.smtp, "app@example.com", []string{"bob@example.com"}, mailTo("bob@example.com", "Welcome", "1", "Hello"))
	if code, report := check(t, p, ""); code != 200 {
		t.Errorf("check with the expected mail only: %d\n%s", code, report)
	}
	sendMail(t, p.smtp, "app@example.com", []string{"audit@example.com"}, mailTo("audit@example.com", "Audit", "2", "Hello"))
	code, report := check(t, p, "")
	if code != 417 || !strings.HasPrefix(report, "mocksmtp: ForbidOtherMessages at POST /api/expectations #2: 1 of 2 messages met no expectation:\nmessage 2 ") {
		t.Errorf("check with an unexpected mail: %d\n%s", code, report)
	}

	// On an inbox, named by declaredAt; the server's check does not see it.
	var in inboxJSON
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "quiet"}`, 201, &in)
	postJSON(t, p, "POST", in.ExpectationsURL, `{"forbidMessages": true, "declaredAt": "test_quiet.py:9"}`, 201, &e)
	if want := (expectationJSON{ID: 3, DeclaredAt: "test_quiet.py:9", Inbox: in.Domain, Description: "no message at all"}); e != want {
		t.Errorf("POST forbidMessages on an inbox = %+v, want %+v", e, want)
	}
	if code, report := check(t, p, "?inbox="+in.Domain); code != 200 {
		t.Errorf("check the inbox before its mail: %d\n%s", code, report)
	}
	sendMail(t, p.smtp, "app@example.com", []string{"ann@" + in.Domain}, mailTo("ann@"+in.Domain, "Hi", "3", "Hello"))
	code, report = check(t, p, "?inbox="+in.Domain)
	if code != 417 || !strings.HasPrefix(report, "mocksmtp: Inbox.ForbidMessages at test_quiet.py:9: want no message, got 1:\nmessage 3 ") {
		t.Errorf("check the inbox after its mail: %d\n%s", code, report)
	}

	// The Go API's report for the same registrations, word for word.
	srv, err := mocksmtp.New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.ForbidMessagesAt("test_quiet.py:9"); err != nil {
		t.Fatal(err)
	}
	sendMail(t, srv.Addr(), "app@example.com", []string{"ann@example.com"}, mailTo("ann@example.com", "Hi", "1", "Hello"))
	if _, err := srv.WaitForSessionsContext(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	goReport, _, _ := strings.Cut(srv.Verify().Error(), "\n")
	if first, _, _ := strings.Cut(report, "\n"); "mocksmtp: Inbox."+strings.TrimPrefix(goReport, "mocksmtp: ") != first {
		t.Errorf("the program's report begins %q, Go's %q", first, goReport)
	}
}

// GET /api/expectations lists, in order, what POST registered and no
// reset forgot, scoped as the check is: an inbox's reset forgets its
// own, the server's forgets all.
func TestListExpectations(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet")
	if l := list(t, p, ""); len(l) != 0 {
		t.Errorf("the list before any POST: %+v", l)
	}
	var a, b inboxJSON
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "a"}`, 201, &a)
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "b"}`, 201, &b)
	var posted []expectationJSON
	for _, r := range []struct{ path, body string }{
		{"/api/expectations", `{"want": {"subject": "Welcome"}, "times": 2}`},
		{"/api/expectations?inbox=" + a.Domain, `{"want": {"to": ["bob@` + a.Domain + `"]}}`},
		{"/api/expectations", `{"forbidOtherMessages": true, "declaredAt": "test_x.py:3"}`},
		{"/api/expectations?inbox=" + b.Domain, `{"never": true}`},
		{"/api/expectations?inbox=" + a.Domain, `{"forbidOtherMessages": true}`},
		{"/api/expectations", `{"want": {"from": "spam@example.com"}, "never": true}`},
	} {
		var e expectationJSON
		postJSON(t, p, "POST", r.path, r.body, 201, &e)
		posted = append(posted, e)
	}
	server, inA, inB := []expectationJSON{posted[0], posted[2], posted[5]}, []expectationJSON{posted[1], posted[4]}, []expectationJSON{posted[3]}
	lists := func(what string, server, inA, inB []expectationJSON) {
		t.Helper()
		for _, l := range []struct {
			q    string
			want []expectationJSON
		}{{"", server}, {"?inbox=" + a.Domain, inA}, {"?inbox=" + strings.ToUpper(b.Domain), inB}} {
			if diff := cmp.Diff(l.want, list(t, p, l.q), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s: GET /api/expectations%s (-want +got):\n%s", what, l.q, diff)
			}
		}
	}
	lists("as posted", server, inA, inB)
	if server[1].Description != "no message that meets no expectation" || inA[1].Inbox != a.Domain {
		t.Errorf("the forbids listed: %+v, %+v", server[1], inA[1])
	}
	if res, _ := do(t, p, "HEAD", "/api/expectations", ""); res.StatusCode != 200 {
		t.Errorf("HEAD /api/expectations: %d, want 200", res.StatusCode)
	}

	// An inbox's reset forgets its own only, in the list as in the check.
	postJSON(t, p, "DELETE", "/api/messages?inbox="+a.Domain, "", 204, nil)
	lists("after a's reset", server, nil, inB)
	if code, report := check(t, p, "?inbox="+a.Domain); code != 200 {
		t.Errorf("check a after its reset: %d\n%s", code, report)
	}
	// The server's reset forgets all, the inboxes' too; IDs go on.
	postJSON(t, p, "DELETE", "/api/messages", "", 204, nil)
	lists("after the server's reset", nil, nil, nil)
	var e expectationJSON
	postJSON(t, p, "POST", "/api/expectations?inbox="+b.Domain, `{"forbidMessages": true}`, 201, &e)
	if e.ID != 7 {
		t.Errorf("the first expectation after a reset: %+v, want ID 7", e)
	}
	lists("after a POST on b", nil, nil, []expectationJSON{e})

	for _, q := range []string{"?inbox=nowhere.inbox.test", "?inbox=", "?to=bob@example.com", "?inbox=" + a.Domain + "&inbox=" + b.Domain} {
		res, body := do(t, p, "GET", "/api/expectations"+q, "")
		if want := map[bool]int{true: 404, false: 400}[q == "?inbox=nowhere.inbox.test"]; res.StatusCode != want {
			t.Errorf("GET /api/expectations%s: %d %s, want %d", q, res.StatusCode, body, want)
		}
	}
	if res, body := do(t, p, "GET", "/api/expectations", `{"forbidMessages": true}`); res.StatusCode != 200 || strings.TrimSpace(string(body)) != "[]" {
		t.Errorf("GET /api/expectations with a body: %d %s", res.StatusCode, body)
	}
}

// A client that sends every field (a typed one: Go structs, Java, C#)
// writes false for the forbids it does not ask for: beside a want, or
// beside the other forbid, false is leaving it out.
func TestExpectationFalseForbidsBesideOthers(t *testing.T) {
	t.Parallel()
	_, addr, _ := startInProcess(t, defaultHTTPTimeouts, nil)
	p := &proc{http: addr}
	var j expectationJSON
	postJSON(t, p, "POST", "/api/expectations", `{"want": {"subject": "Welcome"}, "times": null, "atLeast": null, "never": false, "declaredAt": "", "forbidOtherMessages": false, "forbidMessages": false}`, 201, &j)
	if want := `exactly 1 message like Want{Subject: "Welcome"}`; j.Description != want {
		t.Errorf("a want beside false forbids: %q, want %q", j.Description, want)
	}
	postJSON(t, p, "POST", "/api/expectations", `{"want": null, "times": null, "atLeast": null, "never": false, "declaredAt": "", "forbidOtherMessages": true, "forbidMessages": false}`, 201, &j)
	if want := "no message that meets no expectation"; j.Description != want {
		t.Errorf("forbidOtherMessages beside a false forbidMessages: %q, want %q", j.Description, want)
	}
	if l := list(t, p, ""); len(l) != 2 {
		t.Errorf("listed %+v, want the two", l)
	}
}

// The program keeps at most a bounded number of expectations, on the
// server and its inboxes together: N-1 and N are registered, N+1 (a
// forbid too, on an inbox too) gets 507 and registers nothing; a reset
// makes room again.
func TestExpectationLimit(t *testing.T) {
	t.Parallel()
	const n = 5
	_, addr, _ := startInProcess(t, defaultHTTPTimeouts, func(a *api) { a.expectations.max = n })
	p := &proc{http: addr}
	var in inboxJSON
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "full"}`, 201, &in)
	for i := 1; i <= n+1; i++ {
		path := "/api/expectations"
		if i%2 == 0 {
			path = in.ExpectationsURL
		}
		code, b := rawRequest(t, addr, "POST", path, `{"want": {"subject": "Welcome"}}`, false)
		switch {
		case i <= n && code != 201:
			t.Errorf("expectation %d of at most %d: %d %s, want 201", i, n, code, b)
		case i > n && code != 507:
			t.Errorf("expectation %d of at most %d: %d %s, want 507", i, n, code, b)
		case i > n:
			wantJSONError(t, fmt.Sprintf("expectation %d of at most %d", i, n), b, "POST /api/expectations: mocksmtp keeps 5 expectations, as many as it can; DELETE /api/messages forgets them")
		}
	}
	for _, body := range []string{`{"forbidOtherMessages": true}`, `{"forbidMessages": true}`} {
		if code, b := rawRequest(t, addr, "POST", in.ExpectationsURL, body, false); code != 507 {
			t.Errorf("POST %s with %d expectations: %d %s, want 507", body, n, code, b)
		}
	}
	if l, li := list(t, p, ""), list(t, p, "?inbox="+in.Domain); len(l) != 3 || len(li) != 2 || l[2].ID != 5 {
		t.Errorf("the lists at the limit: %+v and %+v, want 3 and 2, the last #5", l, li)
	}
	// The refused ones were not registered: the check wants 5 messages.
	if code, report := check(t, p, ""); code != 417 || strings.Count(report, " not met: ") != 3 || strings.Contains(report, "#6") {
		t.Errorf("check at the limit: %d\n%s", code, report)
	}
	// An inbox's reset frees its room, and no more.
	postJSON(t, p, "DELETE", in.MessagesURL, "", 204, nil)
	for i := 1; i <= 3; i++ {
		code, b := rawRequest(t, addr, "POST", "/api/expectations", `{"want": {"subject": "Welcome"}}`, false)
		if want := map[bool]int{true: 201, false: 507}[i <= 2]; code != want {
			t.Errorf("expectation %d after the inbox's reset: %d %s, want %d", i, code, b, want)
		}
	}
	postJSON(t, p, "DELETE", "/api/messages", "", 204, nil)
	for i := 1; i <= n; i++ {
		postJSON(t, p, "POST", in.ExpectationsURL, `{"never": true}`, 201, nil)
	}
	if l := list(t, p, "?inbox="+in.Domain); len(l) != n {
		t.Errorf("after the server's reset, %d on the inbox listed, want %d", len(l), n)
	}
}

// What the expectations kept weigh is bounded too, so that wants of a
// body's full size cannot make the program hold gigabytes: with room for
// exactly three, the third fits and the fourth gets 507; with a byte
// less, the third does not. A forbid posted again replaces the one before
// and its weight; a reset frees it all.
func TestExpectationWeightLimit(t *testing.T) {
	t.Parallel()
	body := `{"want": {"subject": "` + strings.Repeat("x", 100_000) + `"}}`
	want, err := wantFromJSON(json.RawMessage(body[len(`{"want": `) : len(body)-1]))
	if err != nil {
		t.Fatal(err)
	}
	weight := len(body) + len(fmt.Sprint(want)) + 50
	const forbid = `{"forbidOtherMessages": true}`
	forbidWeight := len(forbid) + 50
	for _, tc := range []struct {
		room    int  // maxBytes
		fits    int  // how many of body fit
		forbids bool // whether a forbid fits beside them
	}{
		{3*weight - 1, 2, true},
		{3 * weight, 3, false},
		{3*weight + forbidWeight - 1, 3, false},
		{3*weight + forbidWeight, 3, true},
	} {
		_, addr, _ := startInProcess(t, defaultHTTPTimeouts, func(a *api) { a.expectations.maxBytes = tc.room })
		p := &proc{http: addr}
		for i := 1; i <= tc.fits+1; i++ {
			code, b := rawRequest(t, addr, "POST", "/api/expectations", body, false)
			switch {
			case i <= tc.fits && code != 201:
				t.Errorf("room %d: expectation %d of %d bytes: %d %.200s, want 201", tc.room, i, weight, code, b)
			case i > tc.fits && code != 507:
				t.Errorf("room %d: expectation %d of %d bytes: %d %.200s, want 507", tc.room, i, weight, code, b)
			case i > tc.fits:
				wantJSONError(t, "past the weight", b, fmt.Sprintf("POST /api/expectations: mocksmtp keeps expectations of %d bytes in all (bodies, descriptions and compiled regular expressions), and holds %d: this one, of %d, would pass it", tc.room, tc.fits*weight, weight))
			}
		}
		// A forbid posted again replaces the one before, weight and all:
		// one that fits fits again and again.
		for i := range 5 {
			code, b := rawRequest(t, addr, "POST", "/api/expectations", forbid, false)
			if want := map[bool]int{true: 201, false: 507}[tc.forbids]; code != want {
				t.Errorf("room %d: forbid %d beside %d expectations: %d %.200s, want %d", tc.room, i+1, tc.fits, code, b, want)
			}
		}
		postJSON(t, p, "DELETE", "/api/messages", "", 204, nil)
		for range tc.fits {
			postJSON(t, p, "POST", "/api/expectations", body, 201, nil)
		}
	}
}

// A regular expression weighs what it compiles to, not its length:
// `\pL{1000}`, 9 bytes, is a program of 1,000 instructions, and a want
// of a few kilobytes of them held hundreds of megabytes that the weight
// bound did not count. With room for 1 MiB, a want of 30 of them (270
// bytes, about 2 MB compiled) is 507 in any field, and one of them fits.
func TestExpectationWeightCountsCompiledRegexps(t *testing.T) {
	t.Parallel()
	_, addr, _ := startInProcess(t, defaultHTTPTimeouts, func(a *api) { a.expectations.maxBytes = 1 << 20 })
	for _, field := range []string{"subjectMatches", "textMatches", "htmlMatches"} {
		big := `{"want": {"` + field + `": "` + strings.Repeat(`\\pL{1000}`, 30) + `"}}`
		code, b := rawRequest(t, addr, "POST", "/api/expectations", big, false)
		if code != 507 {
			t.Errorf("%s of 30 × \\pL{1000} (%d bytes) beside room for 1 MiB: %d %.300s, want 507", field, len(big), code, b)
		}
		small := `{"want": {"` + field + `": "\\pL{1000}"}}`
		if code, b := rawRequest(t, addr, "POST", "/api/expectations", small, false); code != 201 {
			t.Errorf("%s of one \\pL{1000}: %d %.300s, want 201", field, code, b)
		}
	}
}

// The README's curl lines about expectations, run as written (the
// address aside) with curl, against the program, and a mail sent with
// Python's smtplib.
func TestExpectationsWithCurl(t *testing.T) {
	t.Parallel()
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skipf("curl is not installed (%v): install curl to run this test", err)
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skipf("python3 is not installed (%v): install python3 to run this test", err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for line := range strings.Lines(string(readme)) {
		if strings.HasPrefix(line, "curl ") && strings.Contains(line, "localhost:8025/api/expectations") {
			lines = append(lines, strings.TrimSpace(line))
		}
	}
	if len(lines) < 5 {
		t.Fatalf("the README has %d curl lines about expectations, want its examples: %q", len(lines), lines)
	}
	p := start(t, nil, "-quiet")
	run := func(line string) string {
		t.Helper()
		cmd, _, _ := strings.Cut(line, " # ")
		args := strings.Fields(strings.ReplaceAll(cmd, "localhost:8025", p.http))[1:]
		// Arguments in single quotes, as a shell passes them, without one.
		var argv []string
		for i := 0; i < len(args); i++ {
			a := args[i]
			if strings.HasPrefix(a, "'") {
				for !strings.HasSuffix(a, "'") || len(a) == 1 {
					i++
					a += " " + args[i]
				}
				a = strings.Trim(a, "'")
			}
			argv = append(argv, a)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, curl, append([]string{"-sS"}, argv...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
		return string(out)
	}
	for _, line := range lines {
		if strings.Contains(line, "/api/expectations/check") || strings.HasPrefix(line, "curl localhost:8025/api/expectations ") && !strings.Contains(line, "--json") {
			continue // checks and the list, below
		}
		var e expectationJSON
		out := run(line)
		if err := json.Unmarshal([]byte(out), &e); err != nil || e.ID == 0 {
			t.Errorf("%s: %s, want an expectation", line, out)
		}
	}
	var listed []expectationJSON
	out := run("curl localhost:8025/api/expectations")
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) < 4 || listed[len(listed)-1].Description != "no message that meets no expectation" {
		t.Errorf("curl localhost:8025/api/expectations: %s", out)
	}
	// A mail that meets no expectation, sent by Python's smtplib.
	host, port, _ := net.SplitHostPort(p.smtp)
	script := `import smtplib, sys
with smtplib.SMTP(sys.argv[1], int(sys.argv[2])) as s:
    s.sendmail("app@example.com", ["audit@example.com"], "From: app@example.com\r\nTo: audit@example.com\r\nSubject: Audit\r\n\r\nHello\r\n")
`
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, python, "-c", script, host, port).CombinedOutput(); err != nil {
		t.Fatalf("python3 smtplib: %v\n%s", err, out)
	}
	out = run("curl localhost:8025/api/expectations/check")
	if !strings.Contains(out, "ForbidOtherMessages at POST /api/expectations #") || !strings.Contains(out, "1 of 1 message met no expectation") {
		t.Errorf("the check after an unexpected mail: %s", out)
	}
}

// A forbid posted again replaces the one before it in the list, as the
// Go API replaces it (the check's report names the last one only): the
// list shows what the check checks, once. Forbids of the other kind, or
// on another scope, stay.
func TestForbidPostedAgainReplacesItInTheList(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet")
	var in inboxJSON
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "again"}`, 201, &in)
	var posted []expectationJSON
	for _, r := range []struct{ path, body string }{
		{"/api/expectations", `{"forbidOtherMessages": true, "declaredAt": "first"}`},
		{"/api/expectations?inbox=" + in.Domain, `{"forbidMessages": true}`},
		{"/api/expectations?inbox=" + in.Domain, `{"forbidOtherMessages": true}`},
		{"/api/expectations", `{"want": {"subject": "Audit"}}`},
		{"/api/expectations", `{"forbidOtherMessages": true, "declaredAt": "second"}`},
	} {
		var e expectationJSON
		postJSON(t, p, "POST", r.path, r.body, 201, &e)
		posted = append(posted, e)
	}
	if diff := cmp.Diff([]expectationJSON{posted[3], posted[4]}, list(t, p, "")); diff != "" {
		t.Errorf("GET /api/expectations (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]expectationJSON{posted[1], posted[2]}, list(t, p, "?inbox="+in.Domain)); diff != "" {
		t.Errorf("GET /api/expectations?inbox=%s (-want +got):\n%s", in.Domain, diff)
	}
	for i, subject := range []string{"Audit", "Other"} {
		sendMail(t, p.smtp, "app@example.com", []string{"audit@example.com"}, mailTo("audit@example.com", subject, fmt.Sprint(i), "Hello"))
	}
	code, report := check(t, p, "")
	if code != 417 || !strings.HasPrefix(report, "mocksmtp: ForbidOtherMessages at second: 1 of 2 messages met no expectation:") || strings.Contains(report, "at first") {
		t.Errorf("check: %d, want 417 naming the forbid listed, not the one replaced:\n%s", code, report)
	}
}
