package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
)

// mailTo returns a mail to to with the subject and text, and a header
// X-Test: tag.
func mailTo(to, subject, tag, text string) string {
	return fmt.Sprintf("From: app@example.com\r\nTo: %s\r\nSubject: %s\r\nX-Test: %s\r\n\r\n%s\r\n", to, subject, tag, text)
}

// waitAsync starts GET path in the background and returns its status and
// the IDs of the messages it answered, once it answers. It returns once
// mocksmtp logged the request, so that what the test sends next arrives
// during the wait.
func waitAsync(t *testing.T, p *proc, path string) <-chan [2]any {
	t.Helper()
	before := strings.Count(p.stderr.String(), "path=/api/wait")
	done := make(chan [2]any, 1)
	go func() {
		req, _ := newRequest(context.Background(), p, "GET", path, nil)
		res, err := httpClient.Do(req)
		if err != nil {
			done <- [2]any{0, err.Error()}
			return
		}
		defer res.Body.Close()
		var ms []messageJSON
		_ = json.NewDecoder(res.Body).Decode(&ms)
		var ids []int
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
		done <- [2]any{res.StatusCode, ids}
	}()
	p.stderr.waitFor(t, regexpCount("path=/api/wait", before+1))
	return done
}

func TestAPIWaitForAMessageLikeAFilter(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-log-level", "debug", "-quiet")
	filter := "/api/wait?to=bob@example.com&subjectContains=code&timeout=20s"

	done := waitAsync(t, p, filter)
	sendMail(t, p.smtp, "app@example.com", []string{"alice@example.com"}, mailTo("alice@example.com", "Your code", "1", "111111")) // 1: not bob
	sendMail(t, p.smtp, "app@example.com", []string{"bob@example.com"}, mailTo("bob@example.com", "Welcome", "2", "hi"))           // 2: no code
	sendMail(t, p.smtp, "app@example.com", []string{"bob@example.com"}, mailTo("bob@example.com", "Your code", "3", "333333"))     // 3
	if got := <-done; !cmp.Equal(got, [2]any{200, []int{3}}) {
		t.Fatalf("wait = %v, want 200 with message 3", got)
	}

	// The next wait for the same filter waits for the next such message.
	done = waitAsync(t, p, filter)
	sendMail(t, p.smtp, "app@example.com", []string{"bob@example.com"}, mailTo("bob@example.com", "Your new code", "4", "444444")) // 4
	if got := <-done; !cmp.Equal(got, [2]any{200, []int{4}}) {
		t.Fatalf("second wait = %v, want 200 with message 4", got)
	}

	// None left: 408, with the report of the Go API's WaitFor, listing
	// what did arrive.
	res, b := do(t, p, "GET", "/api/wait?to=bob@example.com&subjectContains=code&timeout=50ms", "")
	var body waitTimeoutJSON
	if err := json.Unmarshal(b, &body); err != nil || res.StatusCode != 408 ||
		!strings.HasPrefix(body.Error, "waited 50ms for 1 message like this, got 0; messages lists the last 4 of the 4 kept:\n"+
			`  Want{To: ["bob@example.com"], SubjectContains: "code"}`+"\n") || len(body.Messages) != 4 {
		t.Errorf("a third wait: %d %s, want 408 naming the filter and listing the 4 messages", res.StatusCode, b)
	}

	// Other fields, each as the Go Want compares it, in a search (which
	// returns messages however often, unlike a wait).
	for _, tt := range []struct {
		query string
		want  []int
	}{
		{"header.X-Test=2", []int{2}},
		{"header.x-test=1", []int{1}},
		{"header[X-Test]=2", []int{2}},
		{"textMatches=^4{6}", []int{4}},
		{"headerTo=alice@example.com", []int{1}},
		{"to=bob@example.com", []int{2, 3, 4}},
		{"to=bob@example.com&limit=2", []int{3, 4}},
		{"to=bob@example.com&since=3", []int{4}},
		{"subject=Welcome&to=alice@example.com", nil},
	} {
		var ms []messageJSON
		h := getJSON(t, p, "/api/messages?"+tt.query, 200, &ms)
		var ids []int
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
		if !cmp.Equal(ids, tt.want) {
			t.Errorf("GET /api/messages?%s: %v, want %v", tt.query, ids, tt.want)
		}
		if q, _ := url.ParseQuery(tt.query); !q.Has("limit") && !q.Has("since") && h.Get("X-Total-Count") != fmt.Sprint(len(tt.want)) {
			t.Errorf("GET /api/messages?%s: X-Total-Count %q, want %d", tt.query, h.Get("X-Total-Count"), len(tt.want))
		}
	}

	// count=N waits for N of them: 1 and 2, as 3 and 4 were returned.
	var ms []messageJSON
	getJSON(t, p, "/api/wait?from=app@example.com&count=2", 200, &ms)
	if len(ms) != 2 || ms[0].ID != 1 || ms[1].ID != 2 {
		t.Errorf("wait for 2 from app@example.com: %d messages %+v, want 1 and 2", len(ms), ms)
	}
	var again waitTimeoutJSON
	getJSON(t, p, "/api/wait?header.X-Test=1&timeout=10ms", 408, &again)
	if !strings.Contains(again.Error, "\nmessage 1 from <app@example.com> to <alice@example.com> \"Your code\" (") ||
		!strings.Contains(again.Error, " matches, but an earlier wait returned it.\n") {
		t.Errorf("408 of a wait for a message already returned: %q, want it to say so", again.Error)
	}

	// A wait that times out shows the nearest message as a diff.
	var timedOut waitTimeoutJSON
	getJSON(t, p, "/api/wait?to=alice@example.com&subjectContains=Welcome&header.X-Test=1&timeout=10ms", 408, &timedOut)
	if !strings.Contains(timedOut.Error, "\nnearest: message 1 from <app@example.com> to <alice@example.com> \"Your code\" (") ||
		!strings.Contains(timedOut.Error, "\n1 field of 3 differs (-want +got):\n") {
		t.Errorf("408: %q, want the nearest message, 1, as a diff", timedOut.Error)
	}
}

// regexpCount matches output with at least n occurrences of s.
func regexpCount(s string, n int) *regexp.Regexp {
	return regexp.MustCompile(fmt.Sprintf(`(?s)(%s.*){%d}`, regexp.QuoteMeta(s), n))
}

func TestAPIFilterErrors(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	sendMail(t, p.smtp, "app@example.com", []string{"bob@example.com"}, mailTo("bob@example.com", "hi", "1", "x"))
	getJSON(t, p, "/api/wait", 200, nil)
	for _, tt := range []struct{ path, want string }{
		{"/api/wait?cuont=1", `unknown query parameter "cuont" (did you mean "count"?); the parameters are: count, timeout, inbox, from, to,`},
		{"/api/messages?subjectcontains=x", `"subjectcontains" (did you mean "subjectContains"?)`},
		// Typos get the hint as another case does, through didYouMean.
		{"/api/messages?subjectContain=x", `"subjectContain" (did you mean "subjectContains"?)`},
		{"/api/messages?subjetContains=x", `"subjetContains" (did you mean "subjectContains"?)`},
		{"/api/messages?zzzzzz=x", `unknown query parameter "zzzzzz"; the parameters are:`},
		{"/api/messages?b=1&a=2", `unknown query parameter "a", "b"`},
		{"/api/wait?subject=a&subject=b", "subject given 2 times"},
		{"/api/wait?subject=", "subject is empty"},
		{"/api/messages?to=", "to is empty"},
		{"/api/wait?subjectMatches=(", "subjectMatches: invalid regular expression"},
		{"/api/messages?htmlMatches=[", "htmlMatches: invalid regular expression"},
		{"/api/messages?header.=x", `unknown query parameter "header."`},
		{"/api/messages?header[]=x", `unknown query parameter "header[]"`},
		{"/api/messages?header.X-A=1&header.X-A=2", "header.X-A: give it once"},
		{"/api/messages/1?x=1", `unknown query parameter "x"; the parameters are: none`},
		{"/api/sessions?limit=1&to=a", `unknown query parameter "to"; the parameters are: limit`},
		{"/api/messages/1/find", "give one regular expression as re="},
		{"/api/messages/1/find?re=(", `re="(": error parsing regexp`},
		{"/api/messages/1/find?re=a&re=b", "give one regular expression"},
		{"/api/messages/1/links?re=a", `unknown query parameter "re"`},
		{"/api/messages?since=1&limit=x", `limit="x"`},
	} {
		res, b := do(t, p, "GET", tt.path, "")
		var e errorJSON
		if err := json.Unmarshal(b, &e); err != nil || res.StatusCode != 400 || !strings.Contains(e.Error, tt.want) {
			t.Errorf("GET %s: %d %s, want 400 with %q", tt.path, res.StatusCode, b, tt.want)
		}
	}
}

// TestAPIFilterErrorIsTheSameEveryTime: of several header fields given
// wrong, in the query or in want's JSON, the error names the same one
// every time (the first by name, as unknown parameters are listed), not
// the one a map's order happens to give first.
func TestAPIFilterErrorIsTheSameEveryTime(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet")
	for _, tt := range []struct{ path, want string }{
		{"/api/messages?header.X-C=&header.X-B=&header.X-A=&header.X-D=", "header.X-A: give it once, with the header's value"},
		{"/api/messages?header.X-C=1&header.X-C=2&header.X-B=1&header.X-B=2", "header.X-B: give it once, with the header's value"},
		{"/api/messages?want=" + url.QueryEscape(`{"header": {"X-C": "", "X-B": "", "X-A": "", "X-D": ""}}`), "want: header.X-A: give it once, with the header's value"},
	} {
		for range 20 {
			res, b := do(t, p, "GET", tt.path, "")
			var e errorJSON
			if err := json.Unmarshal(b, &e); err != nil || res.StatusCode != 400 || e.Error != tt.want {
				t.Errorf("GET %s: %d %s, want 400 %q every time", tt.path, res.StatusCode, b, tt.want)
				break
			}
		}
	}
}

func TestAPILinksFindAndDeleteOne(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	mail := "From: app@example.com\r\nTo: bob@example.com\r\nSubject: Sign in\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/alternative; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nYour code: 482913. Or open https://app.example/login?t=abc.\r\n" +
		"--b\r\nContent-Type: text/html\r\n\r\n<p>Code <b>482913</b></p><a href=\"https://app.example/login?t=abc&amp;x=1\">Sign in</a>\r\n" +
		"--b--\r\n"
	sendMail(t, p.smtp, "app@example.com", []string{"bob@example.com"}, mail)
	sendMail(t, p.smtp, "app@example.com", []string{"bob@example.com"}, mailTo("bob@example.com", "second", "2", "no links"))
	getJSON(t, p, "/api/wait?count=2", 200, nil)

	var links linksJSON
	getJSON(t, p, "/api/messages/1/links", 200, &links)
	if diff := cmp.Diff([]string{"https://app.example/login?t=abc&x=1", "https://app.example/login?t=abc"}, links.Links); diff != "" {
		t.Errorf("links (-want +got):\n%s", diff)
	}
	getJSON(t, p, "/api/messages/2/links", 200, &links)
	if links.Links == nil || len(links.Links) != 0 {
		t.Errorf("links of a message without any: %#v, want []", links.Links)
	}
	var found findJSON
	getJSON(t, p, "/api/messages/1/find?re="+url.QueryEscape(`code: (\d{6})`), 200, &found)
	if found.Match != "482913" {
		t.Errorf("find: %q, want the group, 482913", found.Match)
	}
	getJSON(t, p, "/api/messages/1/find?re="+url.QueryEscape(`Code\s+\d+`), 200, &found)
	if found.Match != "Code 482913" {
		t.Errorf("find in the HTML's text: %q, want Code 482913", found.Match)
	}
	getJSON(t, p, "/api/messages/2/find?re=\\d{6}", 404, nil)
	// A match whose first group takes no part, or matches nothing, is
	// Find's "", not "no match"; a pattern that matches only the
	// empty string matches too.
	for _, re := range []string{`Your code: (x)?`, `code: ([a-z]*)`, `Code (x)?`, `^`, `\b`, `\Qcode: \E(x)?`, `(?i)YOUR CODE: (x)?`} {
		found = findJSON{Match: "unset"}
		getJSON(t, p, "/api/messages/1/find?re="+url.QueryEscape(re), 200, &found)
		if found.Match != "" {
			t.Errorf("find re=%s: %q, want \"\"", re, found.Match)
		}
	}
	for _, re := range []string{`code: (x)`, `\Qcode: x\E(x)?`, `zz(x)?`, `^$`} {
		getJSON(t, p, "/api/messages/1/find?re="+url.QueryEscape(re), 404, nil)
	}
	getJSON(t, p, "/api/messages/9/links", 404, nil)

	if res, b := do(t, p, "DELETE", "/api/messages/1", ""); res.StatusCode != 204 {
		t.Fatalf("DELETE /api/messages/1: %d %s", res.StatusCode, b)
	}
	if res, _ := do(t, p, "DELETE", "/api/messages/1", ""); res.StatusCode != 404 {
		t.Errorf("DELETE /api/messages/1 again: %d, want 404", res.StatusCode)
	}
	var ms []messageJSON
	h := getJSON(t, p, "/api/messages", 200, &ms)
	if len(ms) != 1 || ms[0].ID != 2 || h.Get("X-Total-Count") != "1" {
		t.Errorf("after deleting message 1: %d messages (X-Total-Count %s), want message 2 alone", len(ms), h.Get("X-Total-Count"))
	}
	var s sessionJSON
	getJSON(t, p, "/api/sessions/1", 200, &s)
	if len(s.MessageIDs) != 0 || len(s.Transcript) == 0 {
		t.Errorf("session 1 after deleting its message: messages %v, %d transcript lines; want none, and its transcript", s.MessageIDs, len(s.Transcript))
	}
}

// reportT is a testing.TB that keeps what the Go API reports, to compare
// with the program's reports: Fatalf's (which does not end the caller),
// and Errorf's at the cleanups that finish runs.
type reportT struct {
	testing.TB // nil: a method not defined here panics
	report     string
	errors     []string
	cleanups   []func()
}

func (t *reportT) Helper()          {}
func (t *reportT) Name() string     { return "TestProgram" }
func (t *reportT) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }
func (t *reportT) Fatalf(format string, args ...any) {
	t.report = fmt.Sprintf(format, args...)
}
func (t *reportT) Errorf(format string, args ...any) {
	t.errors = append(t.errors, fmt.Sprintf(format, args...))
}

// finish runs the cleanups, as the end of a test does.
func (t *reportT) finish() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// serveRequest serves one request with the API of srv, in this process.
func serveRequest(t *testing.T, a *api, method, target, body string) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, "http://127.0.0.1"+target, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// A filtered wait that times out carries the report the Go API's WaitFor
// fails a test with, but for its first line, which says why the wait
// ended.
func TestWaitTimeoutHasTheReportOfWaitFor(t *testing.T) {
	t.Parallel()
	srv, err := mocksmtp.New(mocksmtp.WithWaitTimeout(10 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	a := newAPI(srv, slog.New(slog.DiscardHandler), false)
	sendMail(t, srv.Addr(), "app@example.com", []string{"bob@example.com"}, mailTo("bob@example.com", "Welcome", "1", "Hello"))
	sendMail(t, srv.Addr(), "app@example.com", []string{"ann@example.com"}, mailTo("ann@example.com", "Your code", "2", "123456"))
	if _, err := srv.WaitForSessionsContext(t.Context(), 2); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		query string
		want  mocksmtp.Want
	}{
		{"to=bob@example.com&subjectContains=code", mocksmtp.Want{To: []string{"bob@example.com"}, SubjectContains: "code"}},
		{"header.X-Test=3&textMatches=^1", mocksmtp.Want{Header: map[string]string{"X-Test": "3"}, TextMatches: "^1"}},
	} {
		code, b := serveRequest(t, a, "GET", "/api/wait?timeout=10ms&"+tt.query, "")
		var body waitTimeoutJSON
		if err := json.Unmarshal(b, &body); err != nil || code != 408 {
			t.Fatalf("GET /api/wait?%s: %d %s, want 408", tt.query, code, b)
		}
		ft := &reportT{}
		srv.WaitFor(ft, tt.want)

		// The Go API's report, but for its first line, which names the Go
		// call: the program's own says what the request waited for.
		summary, rest, _ := strings.Cut(body.Error, "\n")
		goFirst, goRest, _ := strings.Cut(ft.report, "\n")
		if summary != "waited 10ms for 1 message like this, got 0; messages lists the last 2 of the 2 kept:" ||
			goFirst != "mocksmtp: WaitFor: no message like this within 10ms:" {
			t.Errorf("%s: first lines %q; the Go API's %q", tt.query, summary, goFirst)
		}
		if diff := cmp.Diff(goRest, rest); diff != "" || !strings.Contains(rest, "(-want +got):\n") {
			t.Errorf("%s: the report (-Go +program):\n%s", tt.query, diff)
		}
	}
}
