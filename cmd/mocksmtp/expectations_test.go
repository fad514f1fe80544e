package main

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

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
		{`[]`, "cannot unmarshal array"},
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
		{`{"times": 1.5}`, `cannot unmarshal number 1.5`},
		{`{"want": {"to": ["a@example.com"]}, "want": {"to": ["b@example.com"]}}`, `POST /api/expectations: duplicate key "want": give it once`},
		{`{"times": 1, "Times": 2}`, `POST /api/expectations: duplicate key "Times"`},
		// encoding/json folds ſ (a long s) to s, as strings.ToLower does not.
		{`{"want": {"to": ["a@example.com"]}, "times": 1, "timeſ": 5}`, `POST /api/expectations: duplicate key "timeſ"`},
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
	if res, _ := do(t, p, "GET", "/api/expectations", ""); res.StatusCode != 405 || res.Header.Get("Allow") != "POST, OPTIONS" {
		t.Errorf("GET /api/expectations: %d, Allow %q; want 405 and POST", res.StatusCode, res.Header.Get("Allow"))
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
