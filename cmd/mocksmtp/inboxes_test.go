package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// postJSON sends a request with a JSON body, checks the status and
// decodes the answer into v.
func postJSON(t *testing.T, p *proc, method, path, body string, wantStatus int, v any) {
	t.Helper()
	res, b := do(t, p, method, path, body)
	if res.StatusCode != wantStatus {
		t.Fatalf("%s %s %s: %d %s, want %d", method, path, body, res.StatusCode, b, wantStatus)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// ids returns the IDs of messages.
func ids(ms []messageJSON) []int {
	var out []int
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func TestInboxesIsolateTests(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet")
	var a, b, anon inboxJSON
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "test_signup"}`, 201, &a)
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "test_signup"}`, 201, &b)
	postJSON(t, p, "POST", "/api/inboxes", "", 201, &anon)
	wantA := inboxJSON{Name: "test_signup", Domain: "test-signup-1.inbox.test", Address: "user@test-signup-1.inbox.test",
		MessagesURL: "/api/messages?inbox=test-signup-1.inbox.test", WaitURL: "/api/wait?inbox=test-signup-1.inbox.test",
		ExpectationsURL: "/api/expectations?inbox=test-signup-1.inbox.test", CheckURL: "/api/expectations/check?inbox=test-signup-1.inbox.test"}
	if diff := cmp.Diff(wantA, a); diff != "" {
		t.Errorf("the first inbox (-want +got):\n%s", diff)
	}
	if b.Domain != "test-signup-2.inbox.test" || anon.Domain != "test-1.inbox.test" {
		t.Errorf("domains %q and %q, want test-signup-2.inbox.test and test-1.inbox.test", b.Domain, anon.Domain)
	}
	var list []inboxJSON
	getJSON(t, p, "/api/inboxes", 200, &list)
	if diff := cmp.Diff([]inboxJSON{a, b, anon}, list); diff != "" {
		t.Errorf("GET /api/inboxes (-want +got):\n%s", diff)
	}

	bobA, bobB := "bob@"+a.Domain, "bob@"+strings.ToUpper(b.Domain)                                                     // domains in any case
	sendMail(t, p.smtp, "app@example.com", []string{bobA}, mailTo(bobA, "Welcome", "1", "code 111111"))                 // 1
	sendMail(t, p.smtp, "app@example.com", []string{bobB}, mailTo(bobB, "Welcome", "2", "code 222222"))                 // 2
	sendMail(t, p.smtp, "app@example.com", []string{"bob@example.com"}, mailTo("bob@example.com", "Welcome", "3", "x")) // 3
	sendMail(t, p.smtp, "app@example.com", []string{bobA, bobB}, mailTo(bobA, "Both", "4", "x"))                        // 4

	for _, tt := range []struct {
		query string
		want  []int
	}{
		{"inbox=" + a.Domain, []int{1, 4}},
		{"inbox=" + strings.ToUpper(b.Domain), []int{2, 4}},
		{"inbox=" + anon.Domain, nil},
		{"inbox=" + a.Domain + "&subject=Welcome", []int{1}},
		{"inbox=" + a.Domain + "&limit=1", []int{4}},
		{"inbox=" + a.Domain + "&since=1", []int{4}},
		{"subject=Welcome", []int{1, 2, 3}},
	} {
		var ms []messageJSON
		h := getJSON(t, p, "/api/messages?"+tt.query, 200, &ms)
		if !cmp.Equal(ids(ms), tt.want) {
			t.Errorf("GET /api/messages?%s: %v, want %v", tt.query, ids(ms), tt.want)
		}
		if q, _ := url.ParseQuery(tt.query); !q.Has("limit") && !q.Has("since") && h.Get("X-Total-Count") != fmt.Sprint(len(tt.want)) {
			t.Errorf("GET /api/messages?%s: X-Total-Count %q, want %d", tt.query, h.Get("X-Total-Count"), len(tt.want))
		}
	}

	// A wait in an inbox sees only its mail: the Welcome of the inbox b.
	var got []messageJSON
	getJSON(t, p, "/api/wait?inbox="+b.Domain+"&subject=Welcome", 200, &got)
	if !cmp.Equal(ids(got), []int{2}) {
		t.Errorf("wait in b for Welcome: %v, want message 2", ids(got))
	}
	getJSON(t, p, "/api/wait?inbox="+b.Domain+"&count=2", 200, &got)
	if !cmp.Equal(ids(got), []int{2, 4}) {
		t.Errorf("wait in b for 2 messages: %v, want 2 and 4", ids(got))
	}
	var timedOut waitTimeoutJSON
	getJSON(t, p, "/api/wait?inbox="+anon.Domain+"&subject=Welcome&timeout=10ms", 408, &timedOut)
	for _, want := range []string{
		"waited 10ms for 1 message like this in the inbox test-1.inbox.test, got 0; messages lists the last 0 of the 0 kept:\n  Want{Subject: \"Welcome\"}\n",
		// The nearest is elsewhere, and the report says where it went.
		" matches, but it went to the inbox of test_signup (test-signup-1.inbox.test), not to this one.\n",
		"in all: 0 messages in this inbox; 4 sessions, 4 messages on the server",
	} {
		if !strings.Contains(timedOut.Error, want) {
			t.Errorf("408 in an empty inbox:\n%s\nwant it to say %q", timedOut.Error, want)
		}
	}
	if strings.Contains(timedOut.Error, "WaitForContext") {
		t.Errorf("408 in an empty inbox:\n%s\nnames the Go call the program made", timedOut.Error)
	}

	// DELETE scoped to an inbox forgets its mail, also the message it
	// shares with b, and nothing else.
	postJSON(t, p, "DELETE", "/api/messages?inbox="+a.Domain, "", 204, nil)
	var all []messageJSON
	getJSON(t, p, "/api/messages", 200, &all)
	if !cmp.Equal(ids(all), []int{2, 3}) {
		t.Errorf("after DELETE /api/messages?inbox=a: %v, want 2 and 3", ids(all))
	}
	// A whole reset keeps the inboxes, empty: their mail and their
	// expectations go, and they take mail as before (README, OpenAPI).
	postJSON(t, p, "POST", "/api/expectations?inbox="+a.Domain, `{"want": {"subject": "never sent"}}`, 201, nil)
	if code, report := check(t, p, "?inbox="+a.Domain); code != 417 {
		t.Errorf("check a before the reset: %d\n%s", code, report)
	}
	postJSON(t, p, "DELETE", "/api/messages", "", 204, nil)
	getJSON(t, p, "/api/messages?inbox="+a.Domain, 200, &all)
	getJSON(t, p, "/api/inboxes", 200, &list)
	if len(all) != 0 || !cmp.Equal(list, []inboxJSON{a, b, anon}) {
		t.Errorf("after a reset: %d messages in a, inboxes %+v; want none, and the 3 inboxes", len(all), list)
	}
	if code, report := check(t, p, "?inbox="+a.Domain); code != 200 {
		t.Errorf("check a after the reset: %d\n%s", code, report)
	}
	sendMail(t, p.smtp, "app@example.com", []string{a.Address}, mailTo(a.Address, "After the reset", "4", "x"))
	getJSON(t, p, "/api/wait?inbox="+url.QueryEscape(a.Domain)+"&subject=After+the+reset", 200, &all)
	if len(all) != 1 {
		t.Errorf("waiting in a after the reset: %v", ids(all))
	}
}

func TestInboxErrors(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet")
	for _, tt := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"GET", "/api/messages?inbox=nope.inbox.test", "", 404, `inbox="nope.inbox.test": no such inbox; POST /api/inboxes makes one`},
		{"GET", "/api/wait?inbox=nope.inbox.test&subject=x", "", 404, "no such inbox"},
		{"DELETE", "/api/messages?inbox=nope.inbox.test", "", 404, "no such inbox"},
		{"GET", "/api/expectations/check?inbox=nope", "", 404, "no such inbox"},
		{"POST", "/api/expectations?inbox=nope", `{"want": {}}`, 404, "no such inbox"},
		{"GET", "/api/messages?inbox=a&inbox=b", "", 400, "inbox: give it once"},
		{"GET", "/api/messages?inbox=", "", 400, "inbox: give it once"},
		{"GET", "/api/sessions?inbox=a", "", 404, `inbox="a": no such inbox`},
		{"POST", "/api/inboxes", `{"nmae": "x"}`, 400, `json: unknown field "nmae" (did you mean "name"?)`},
		{"POST", "/api/inboxes", `{"name": 1}`, 400, "POST /api/inboxes: name: want a string, got a number"},
		{"POST", "/api/inboxes", `{"name": "x"} {}`, 400, "body:1:15: unexpected data after the JSON value"},
		{"POST", "/api/inboxes", `{"name": "x"}}`, 400, "body:1:14: unexpected data after the JSON value"},
		// A syntax error says where, as in a fault script, in every body.
		{"POST", "/api/inboxes", "{\n \"name\": \"x\",\n}", 400, "POST /api/inboxes: body:3:1: invalid character '}' looking for beginning of object key string"},
		{"POST", "/api/inboxes", `{"name": `, 400, "POST /api/inboxes: body:1:10: unexpected end of JSON"},
		{"POST", "/api/expectations", `{"want": {"to": ["bob@example.com"],}}`, 400, "POST /api/expectations: body:1:37: invalid character '}'"},
		{"POST", "/api/expectations", `{"want": {}`, 400, "POST /api/expectations: body:1:12: unexpected end of JSON"},
		{"PUT", "/api/faults", `[{"at": "RCPT",}]`, 400, "PUT /api/faults: body:1:16: invalid character '}'"},
		{"POST", "/api/inboxes", `{"name": "x", "name": "y"}`, 400, `POST /api/inboxes: duplicate key "name"`},
		{"POST", "/api/inboxes", `{"name": "` + strings.Repeat("n", maxInboxName+1) + `"}`, 400, "name: want at most 200 bytes on one line"},
		{"POST", "/api/inboxes", `{"name": "` + strings.Repeat("n", 2*maxInboxName) + `"}`, 400, "name: want at most 200 bytes on one line"},
		{"POST", "/api/inboxes", `{"name": "a\nb"}`, 400, "name: want at most 200 bytes on one line"},
		{"POST", "/api/inboxes?x=1", "", 400, `unknown query parameter "x"`},
		{"PUT", "/api/inboxes", "", 405, "method not allowed"},
	} {
		res, b := do(t, p, tt.method, tt.path, tt.body)
		var e errorJSON
		if err := json.Unmarshal(b, &e); err != nil || res.StatusCode != tt.status || !strings.Contains(e.Error, tt.want) {
			t.Errorf("%s %s %.40q: %d %s, want %d with %q", tt.method, tt.path, tt.body, res.StatusCode, b, tt.status, tt.want)
		}
	}
	// A name too long for the label keeps its beginning and a hash of
	// the whole: two long names are two domains, each the first of its
	// name.
	domains := map[string]bool{}
	for _, n := range []int{maxInboxName - 1, maxInboxName} {
		var x inboxJSON
		postJSON(t, p, "POST", "/api/inboxes", `{"name": "`+strings.Repeat("n", n)+`"}`, 201, &x)
		label, ok := strings.CutSuffix(x.Domain, "-1.inbox.test")
		if len(x.Name) != n || !ok || len(label) != 40 || !strings.HasPrefix(label, strings.Repeat("n", 31)+"-") || domains[x.Domain] {
			t.Errorf("an inbox with a name of %d bytes: %+v", n, x)
		}
		domains[x.Domain] = true
	}
}

// The program keeps a bounded number of inboxes: N-1 and N are made,
// N+1 and 2N are refused with 507, over a real connection.
func TestInboxLimit(t *testing.T) {
	t.Parallel()
	const n = 5
	_, addr, _ := startInProcess(t, defaultHTTPTimeouts, func(a *api) { a.inboxes.max = n })
	for i := 1; i <= 2*n; i++ {
		code, b := rawRequest(t, addr, "POST", "/api/inboxes", `{"name": "t"}`, false)
		switch {
		case i <= n && code != 201:
			t.Errorf("inbox %d of at most %d: %d %s, want 201", i, n, code, b)
		case i > n && code != 507:
			t.Errorf("inbox %d of at most %d: %d %s, want 507", i, n, code, b)
		case i > n:
			wantJSONError(t, fmt.Sprintf("inbox %d of at most %d", i, n), b, "mocksmtp has 5 inboxes, as many as it keeps")
		}
	}
	if code, b := rawRequest(t, addr, "GET", "/api/inboxes", "", false); code != 200 || strings.Count(string(b), `"domain"`) != n {
		t.Errorf("GET /api/inboxes: %d %s, want %d inboxes", code, b, n)
	}
}

// TestDeleteWithABodyIsRefused: a DELETE says what it forgets in its
// path and query; one with a body is a 400 and forgets nothing. (A body
// was ignored: DELETE /api/messages with {"inbox": D}, as a suite in
// JavaScript or Python may send it, forgot every test's mail, not D's.)
func TestDeleteWithABodyIsRefused(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	var in inboxJSON
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "mine"}`, 201, nil)
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "other"}`, 201, &in)
	sendMail(t, p.smtp, "app@example.com", []string{"bob@" + in.Domain}, "Subject: other test's\r\n\r\nx\r\n")
	postJSON(t, p, "PUT", "/api/faults", `[{"at": "NOOP", "reply": "250 2.0.0 faulted"}]`, 200, nil)
	for _, tt := range []struct{ path, body string }{
		{"/api/messages", `{"inbox": "mine-1.inbox.test"}`},
		{"/api/messages", `x`},
		{"/api/messages/1", `{}`},
		{"/api/faults", `[]`},
	} {
		res, b := do(t, p, "DELETE", tt.path, tt.body)
		if res.StatusCode != 400 || !strings.Contains(string(b), "a DELETE takes no body") {
			t.Errorf("DELETE %s with %s: %d %s, want 400", tt.path, tt.body, res.StatusCode, b)
		}
	}
	var ms []messageJSON
	getJSON(t, p, "/api/messages", 200, &ms)
	var faults []json.RawMessage
	getJSON(t, p, "/api/faults", 200, &faults)
	if len(ms) != 1 || len(faults) != 1 {
		t.Errorf("after DELETEs with a body: %d messages and %d faults, want 1 and 1 kept", len(ms), len(faults))
	}
	// Whitespace is no body, as for any request.
	if res, b := do(t, p, "DELETE", "/api/messages", " \r\n"); res.StatusCode != 204 {
		t.Errorf("DELETE /api/messages with whitespace: %d %s, want 204", res.StatusCode, b)
	}
}

// TestInboxesListTakesALimit: GET /api/inboxes lists the last limit=N
// inboxes, as /api/sessions its sessions, with X-Total-Count: a suite
// can look at the latest inboxes of a program that made 100,000 of them
// without a list of 78 MB.
func TestInboxesListTakesALimit(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet")
	var made []inboxJSON
	for i := range 3 {
		var in inboxJSON
		postJSON(t, p, "POST", "/api/inboxes", fmt.Sprintf(`{"name": "t%d"}`, i), 201, &in)
		made = append(made, in)
	}
	for _, tt := range []struct {
		query string
		want  []inboxJSON
	}{
		{"", made},
		{"?limit=2", made[1:]},
		{"?limit=3", made},
		{"?limit=4", made},
		{"?limit=0", []inboxJSON{}},
	} {
		var list []inboxJSON
		h := getJSON(t, p, "/api/inboxes"+tt.query, 200, &list)
		if diff := cmp.Diff(tt.want, list); diff != "" || h.Get("X-Total-Count") != "3" {
			t.Errorf("GET /api/inboxes%s: X-Total-Count %q, want 3; inboxes (-want +got):\n%s", tt.query, h.Get("X-Total-Count"), diff)
		}
	}
	for _, q := range []string{"?limit=-1", "?limit=x", "?limit=1&limit=2"} {
		if res, b := do(t, p, "GET", "/api/inboxes"+q, ""); res.StatusCode != 400 || !strings.Contains(string(b), "limit") {
			t.Errorf("GET /api/inboxes%s: %d %s, want 400 naming limit", q, res.StatusCode, b)
		}
	}
}

// An inbox's name follows the rule of "declaredAt", one rule
// (onOneLine): at most 200 bytes on one line, so no control character
// nor Unicode line or paragraph separator. Names with U+2028, U+2029 or
// NEL were made, where a fault's declaredAt with them is refused; each
// is tried at the bound: a name of N-1 and N bytes ending in it, N+1,
// 2N, and a body of 1 MiB+1.
func TestInboxNameIsOneLineAsDeclaredAt(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet")
	name := func(n int, end string) string { return strings.Repeat("n", n-len(end)) + end }
	for _, sep := range []string{"\u2028", "\u2029", "\u0085", "\n", "\r", "\x7f"} {
		for _, n := range []int{maxInboxName - 1, maxInboxName, maxInboxName + 1, 2 * maxInboxName} {
			body, _ := json.Marshal(map[string]string{"name": name(n, sep)})
			res, b := do(t, p, "POST", "/api/inboxes", string(body))
			var e errorJSON
			if err := json.Unmarshal(b, &e); err != nil || res.StatusCode != 400 || !strings.Contains(e.Error, "name: want at most 200 bytes on one line") {
				t.Errorf("a name of %d bytes ending in %+q: %d %s, want 400", n, sep, res.StatusCode, b)
			}
			if n <= maxInboxName {
				if err := checkDeclaredAt(name(n, sep)); err == nil {
					t.Errorf("declaredAt of %d bytes ending in %+q accepted, where the inbox name is refused", n, sep)
				}
			}
		}
	}
	// The bound counts bytes: N bytes of a name on one line are made,
	// whatever their characters (é is 2 bytes); N+1 are not.
	for _, tt := range []struct {
		n      int
		status int
	}{{maxInboxName - 1, 201}, {maxInboxName, 201}, {maxInboxName + 1, 400}, {2 * maxInboxName, 400}} {
		body, _ := json.Marshal(map[string]string{"name": strings.Repeat("n", tt.n%2) + strings.Repeat("é", tt.n/2)})
		if res, b := do(t, p, "POST", "/api/inboxes", string(body)); res.StatusCode != tt.status {
			t.Errorf("a name of %d bytes of é: %d %s, want %d", tt.n, res.StatusCode, b, tt.status)
		}
		if err := checkDeclaredAt(strings.Repeat("n", tt.n%2) + strings.Repeat("é", tt.n/2)); (err == nil) != (tt.status == 201) {
			t.Errorf("declaredAt of %d bytes of é: %v, where the inbox name gets %d", tt.n, err, tt.status)
		}
	}
	body := `{"name": "` + strings.Repeat("n", 1<<20+1) + `"}`
	if res, b := do(t, p, "POST", "/api/inboxes", body); res.StatusCode != 413 {
		t.Errorf("a name of 1 MiB+1: %d %.200s, want 413 (the body's bound)", res.StatusCode, b)
	}
	var list []inboxJSON
	getJSON(t, p, "/api/inboxes", 200, &list)
	if len(list) != 2 {
		t.Errorf("%d inboxes made, want the 2 of 199 and 200 bytes of é", len(list))
	}
}
