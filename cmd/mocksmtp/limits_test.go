package main

// The HTTP API at its limits, over real connections: request bodies,
// query parameters and path parameters at N-1, N, N+1, 2N and 1 MiB + 1,
// each answered with its status and a JSON error, never a panic or a
// hang, and the server going on.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// rawRequest sends a request with a JSON body over a connection of its
// own (rawHTTP), Content-Length framed or chunked, and returns the status
// and the body of the answer.
func rawRequest(t *testing.T, addr, method, path, body string, chunked bool) (int, []byte) {
	t.Helper()
	var req strings.Builder
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n", method, path, addr)
	if chunked {
		req.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		for rest := body; rest != ""; {
			n := min(len(rest), 64<<10)
			fmt.Fprintf(&req, "%x\r\n%s\r\n", n, rest[:n])
			rest = rest[n:]
		}
		req.WriteString("0\r\n\r\n")
	} else {
		fmt.Fprintf(&req, "Content-Length: %d\r\n\r\n%s", len(body), body)
	}
	return rawHTTP(t, addr, req.String())
}

// padded returns the JSON value v followed by blanks up to n bytes.
func padded(v string, n int) string { return v + strings.Repeat(" ", n-len(v)) }

// wantJSONError checks that b is a JSON error that says want.
func wantJSONError(t *testing.T, what string, b []byte, want string) {
	t.Helper()
	var e errorJSON
	if err := json.Unmarshal(b, &e); err != nil || !strings.Contains(e.Error, want) {
		t.Errorf("%s: %s, want a JSON error saying %q", what, b, want)
	}
}

// Request bodies at their limits (4 KiB for an inbox, 1 MiB for faults
// and expectations, and for the whitespace a DELETE may have), sent with
// a length or chunked: up to the limit they are taken, past it they get
// 413 and a JSON error and change nothing.
func TestRequestBodyLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, path string
		limit        int
		value        string // a JSON body, padded to each size
		status       int    // when taken
		check        string // a GET whose answer lists what was taken
	}{
		{"POST", "/api/inboxes", maxInboxBody, `{"name": "t"}`, 201, "/api/inboxes"},
		{"PUT", "/api/faults", maxFaultBody, `[{"at": "RSET", "reply": "250 2.0.0 scripted"}]`, 200, "/api/faults"},
		{"POST", "/api/faults", maxFaultBody, `[{"at": "NOOP", "reply": "250 2.0.0 scripted"}]`, 200, "/api/faults"},
		{"POST", "/api/expectations", maxExpectationBody, `{"want": {"subject": "x"}, "never": true}`, 201, ""},
		// A DELETE takes no body: whitespace is none, up to the limit.
		{"DELETE", "/api/messages", maxExpectationBody, "", 204, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			_, addr, _ := startInProcess(t, defaultHTTPTimeouts, nil)
			taken := 0
			for _, chunked := range []bool{false, true} {
				for _, n := range []int{tt.limit - 1, tt.limit, tt.limit + 1, 2 * tt.limit, 1<<20 + 1} {
					what := fmt.Sprintf("a body of %d bytes (chunked %v)", n, chunked)
					code, b := rawRequest(t, addr, tt.method, tt.path, padded(tt.value, n), chunked)
					switch {
					case n <= tt.limit && code != tt.status:
						t.Errorf("%s: %d %.200s, want %d", what, code, b, tt.status)
					case n <= tt.limit:
						taken++
					case code != http.StatusRequestEntityTooLarge:
						t.Errorf("%s: %d %.200s, want 413", what, code, b)
					default:
						wantJSONError(t, what, b, fmt.Sprintf("the body is larger than %d bytes", tt.limit))
					}
				}
			}
			// What was refused changed nothing.
			if tt.method == "PUT" || tt.method == "DELETE" {
				taken = 1 // each PUT replaced the script
			}
			if tt.check != "" {
				var list []json.RawMessage
				if code, b := rawRequest(t, addr, "GET", tt.check, "", false); code != 200 || json.Unmarshal(b, &list) != nil || len(list) != taken {
					t.Errorf("GET %s: %d %.200s, want the %d taken", tt.check, code, b, taken)
				}
			}
		})
	}
}

// Query and path parameters at their bounds: counts and IDs up to an
// int64's largest, one past it (400), negative ones, the longest wait
// and one nanosecond more, 10,000 query parameters (net/url's limit) and
// one more, a query value of 1 MiB + 1. Each gets its status and, for an
// error, a JSON one; but a request line over net/http's limit on a
// header, which net/http answers 431 in plain text before any handler
// runs.
func TestQueryAndPathBoundaries(t *testing.T) {
	t.Parallel()
	srv, addr, _ := startInProcess(t, defaultHTTPTimeouts, nil)
	attached := "Subject: m1\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n" +
		"--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=a.bin\r\n\r\na\r\n" +
		"--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=b.bin\r\n\r\nb\r\n--b--\r\n"
	sendMail(t, srv.Addr(), "a@example.com", []string{"b@example.com"}, attached)
	sendMail(t, srv.Addr(), "a@example.com", []string{"b@example.com"}, "Subject: m2\r\n\r\nx\r\n")
	sendMail(t, srv.Addr(), "a@example.com", []string{"b@example.com"}, "Subject: m3\r\n\r\nx\r\n")
	if _, err := srv.WaitForSessionsContext(t.Context(), 3); err != nil {
		t.Fatal(err)
	}
	const maxInt = "9223372036854775807"
	const overInt = "9223372036854775808"
	params := func(n int) string {
		ps := make([]string, n)
		for i := range ps {
			ps[i] = fmt.Sprintf("header.X-%d=v", i)
		}
		return strings.Join(ps, "&")
	}
	tests := []struct {
		method, path string
		status       int
		items        int    // for a 200 of a list, how many it lists; -1: not a list
		err          string // for an error, in its JSON; "" for a plain-text one
	}{
		{"GET", "/api/messages?limit=0", 200, 0, ""},
		{"GET", "/api/messages?limit=2", 200, 2, ""},
		{"GET", "/api/messages?limit=3", 200, 3, ""},
		{"GET", "/api/messages?limit=4", 200, 3, ""},
		{"GET", "/api/messages?limit=6", 200, 3, ""},
		{"GET", "/api/messages?limit=" + maxInt, 200, 3, ""},
		{"GET", "/api/messages?limit=" + overInt, 400, -1, "limit="},
		{"GET", "/api/messages?limit=-1", 400, -1, "limit="},
		{"GET", "/api/messages?subjectContains=m&limit=" + maxInt, 200, 3, ""},
		{"GET", "/api/messages?subjectContains=m&limit=1", 200, 1, ""},
		{"GET", "/api/messages?since=2", 200, 1, ""},
		{"GET", "/api/messages?since=3", 200, 0, ""},
		{"GET", "/api/messages?since=" + maxInt, 200, 0, ""},
		{"GET", "/api/messages?since=-1", 400, -1, "since="},
		{"GET", "/api/messages?since=" + overInt, 400, -1, "since="},
		{"GET", "/api/sessions?limit=2", 200, 2, ""},
		{"GET", "/api/sessions?limit=4", 200, 3, ""},
		{"GET", "/api/sessions?limit=" + maxInt, 200, 3, ""},
		{"GET", "/api/sessions?limit=" + overInt, 400, -1, "limit="},
		{"GET", "/api/wait?count=0", 200, 3, ""},
		{"GET", "/api/wait?count=3", 200, 3, ""},
		{"GET", "/api/wait?count=4&timeout=1ms", 408, -1, "for 4 messages, got 3"},
		{"GET", "/api/wait?count=" + maxInt + "&timeout=1ms", 408, -1, "got 3"},
		{"GET", "/api/wait?subject=m2&count=" + maxInt + "&timeout=1ms", 408, -1, "got 1 (message 2)"},
		{"GET", "/api/wait?count=" + overInt, 400, -1, "count="},
		{"GET", "/api/wait?count=-1", 400, -1, "count="},
		{"GET", "/api/wait?count=0&timeout=9m59.999999999s", 200, 3, ""},
		{"GET", "/api/wait?count=0&timeout=10m", 200, 3, ""},
		{"GET", "/api/wait?count=0&timeout=10m0.000000001s", 400, -1, "at most 10m0s"},
		{"GET", "/api/wait?count=0&timeout=20m", 400, -1, "at most 10m0s"},
		{"GET", "/api/wait?count=0&timeout=-1ns", 400, -1, "timeout="},
		{"GET", "/api/wait?count=4&timeout=0s", 408, -1, "got 3"},
		{"GET", "/api/messages/0", 404, -1, "no message 0"},
		{"GET", "/api/messages/3", 200, -1, ""},
		{"GET", "/api/messages/4", 404, -1, "no message 4"},
		{"GET", "/api/messages/" + maxInt, 404, -1, "no message " + maxInt},
		{"GET", "/api/messages/" + overInt, 400, -1, "want a number"},
		{"GET", "/api/messages/-1", 400, -1, "want a number"},
		{"GET", "/api/messages/" + maxInt + "/raw", 404, -1, "no message"},
		{"DELETE", "/api/messages/" + maxInt, 404, -1, "no message"},
		{"DELETE", "/api/messages/" + overInt, 400, -1, "want a number"},
		{"GET", "/api/sessions/3", 200, -1, ""},
		{"GET", "/api/sessions/4", 404, -1, "no session 4"},
		{"GET", "/api/sessions/" + maxInt, 404, -1, "no session"},
		{"GET", "/api/sessions/" + overInt, 400, -1, "want a number"},
		{"GET", "/api/messages/1/attachments/1", 200, -1, ""},
		{"GET", "/api/messages/1/attachments/2", 404, -1, "has 2 attachments, no attachment 2"},
		{"GET", "/api/messages/1/attachments/" + maxInt, 404, -1, "no attachment " + maxInt},
		{"GET", "/api/messages/1/attachments/" + overInt, 400, -1, "want a number"},
		// IDs of 18, 19 (maxInt's), 20, 38 and 1 MiB + 1 digits: the
		// last quoted clipped.
		{"GET", "/api/messages/" + maxInt[:18], 404, -1, "no message " + maxInt[:18]},
		{"GET", "/api/messages/" + "1" + strings.Repeat("0", 19), 400, -1, "want a number"},
		{"GET", "/api/messages/" + maxInt + maxInt, 400, -1, "want a number"},
		{"GET", "/api/messages/" + strings.Repeat("9", 1<<20+1), 400, -1, "(1048577 octets)\": want a number"},
		{"GET", "/api/wait/sessions/" + maxInt + "?timeout=1ms", 408, -1, "it has not started"},
		{"GET", "/api/wait/sessions/" + overInt, 400, -1, "want a number"},
		{"GET", "/api/messages/1/attachments/" + maxInt + maxInt, 400, -1, "want a number"},
		// A value of 1 MiB + 1, quoted clipped.
		{"GET", "/api/wait?count=0&timeout=" + strings.Repeat("1", 1<<20+1), 400, -1, "(1048577 octets)\": want a duration"},
		{"GET", "/api/messages?" + params(10000), 200, 0, ""},
		{"GET", "/api/messages?" + params(10001), 400, -1, "number of URL query parameters exceeded limit"},
		{"GET", "/api/messages?header.X=" + strings.Repeat("v", 1<<20+1), 200, 0, ""},
		{"GET", "/api/messages?limit=" + strings.Repeat("9", 1<<20+1), 400, -1, "limit="},
	}
	// Each request changes nothing another looks at: they run side by
	// side.
	t.Run("requests", func(t *testing.T) {
		for _, tt := range tests {
			what := fmt.Sprintf("%s %.80s", tt.method, tt.path)
			t.Run(what, func(t *testing.T) {
				t.Parallel()
				req, err := http.NewRequestWithContext(t.Context(), tt.method, "http://"+addr+tt.path, nil)
				if err != nil {
					t.Fatal(err)
				}
				res, err := httpClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(res.Body)
				res.Body.Close()
				if err != nil {
					t.Fatalf("reading the answer: %v", err)
				}
				if res.StatusCode != tt.status {
					t.Fatalf("%d %.200s, want %d", res.StatusCode, b, tt.status)
				}
				switch {
				case tt.err != "":
					wantJSONError(t, what, b, tt.err)
				case tt.items >= 0:
					var list []json.RawMessage
					if err := json.Unmarshal(b, &list); err != nil || len(list) != tt.items {
						t.Errorf("%.200s (%v), want a list of %d", b, err, tt.items)
					}
				}
			})
		}
	})
	// A request line of 2 MiB is over net/http's limit on a request's
	// header (1 MiB and 4 KiB of slack): 431, in plain text, and the
	// connection closes.
	if code, b := rawRequest(t, addr, "GET", "/api/messages?header.X="+strings.Repeat("v", 2<<20), "", false); code != 431 {
		t.Errorf("a query of 2 MiB: %d %.200s, want 431", code, b)
	}
	// The server goes on.
	var ms []messageJSON
	if code, b := rawRequest(t, addr, "GET", "/api/messages", "", false); code != 200 || json.Unmarshal(b, &ms) != nil || len(ms) != 3 {
		t.Errorf("GET /api/messages at the end: %d %.200s, want the 3 messages", code, b)
	}
}

// A wait that times out lists the last 100 messages kept, at most: with
// 99, 100, 101 and 200 kept.
func TestWaitTimeoutListsAtMost100(t *testing.T) {
	t.Parallel()
	srv, addr, _ := startInProcess(t, defaultHTTPTimeouts, nil)
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sent := 0
	for _, kept := range []int{maxListedOnTimeout - 1, maxListedOnTimeout, maxListedOnTimeout + 1, 2 * maxListedOnTimeout} {
		for ; sent < kept; sent++ {
			if err := sendOn(c, "a@example.com", "b@example.com", fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", sent+1)); err != nil {
				t.Fatal(err)
			}
		}
		code, b := rawRequest(t, addr, "GET", "/api/wait?count=1000&timeout=1ms", "", false)
		var got waitTimeoutJSON
		if err := json.Unmarshal(b, &got); err != nil || code != 408 {
			t.Fatalf("%d kept: %d %.200s, want 408", kept, code, b)
		}
		listed := min(kept, maxListedOnTimeout)
		if want := fmt.Sprintf("messages lists the last %d of the %d kept", listed, kept); !strings.Contains(got.Error, want) {
			t.Errorf("%d kept: %q, want it to say %q", kept, got.Error, want)
		}
		if len(got.Messages) != listed || got.Messages[0].ID != kept-listed+1 || got.Messages[listed-1].ID != kept {
			t.Errorf("%d kept: %d listed, want messages %d to %d", kept, len(got.Messages), kept-listed+1, kept)
		}
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

// The part tree of GET /api/messages/{id} stops at its limits, 100
// nested multiparts and 1000 parts, at N-1, N, N+1 and 2N: up to them the
// tree is whole and its leaves linked to the text and the attachments;
// past them it is cut there, unlinked; the message itself is kept byte
// for byte.
func TestPartTreeLimitsOverHTTP(t *testing.T) {
	t.Parallel()
	srv, addr, _ := startInProcess(t, defaultHTTPTimeouts, nil)
	parts := func(n int) string {
		var b strings.Builder
		b.WriteString("Subject: many\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n")
		for i := range n {
			fmt.Fprintf(&b, "--x\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=%d.bin\r\n\r\n%d\r\n", i, i)
		}
		b.WriteString("--x--\r\n")
		return b.String()
	}
	depth := func(p *partJSON) (int, *partJSON) {
		n := 0
		for ; len(p.Parts) > 0; p = &p.Parts[0] {
			n++
		}
		return n, p
	}
	tests := []struct {
		raw          string
		depth, parts int // of the tree
		linked       bool
	}{
		{string(nested(maxPartDepth - 1)), maxPartDepth - 1, 1, true},
		{string(nested(maxPartDepth)), maxPartDepth, 1, true},
		{string(nested(maxPartDepth + 1)), maxPartDepth, 1, false},
		{string(nested(2 * maxPartDepth)), maxPartDepth, 1, false},
		{parts(maxParts - 1), 1, maxParts - 1, true},
		{parts(maxParts), 1, maxParts, true},
		{parts(maxParts + 1), 1, maxParts, false},
		{parts(2 * maxParts), 1, maxParts, false},
	}
	for i, tt := range tests {
		sendMail(t, srv.Addr(), "a@example.com", []string{"b@example.com"}, tt.raw)
		id := i + 1
		var m messageJSON
		code, b := rawRequest(t, addr, "GET", fmt.Sprintf("/api/messages/%d", id), "", false)
		if err := json.Unmarshal(b, &m); err != nil || code != 200 || m.Parts == nil {
			t.Fatalf("message %d: %d %.200s (%v)", id, code, b, err)
		}
		d, leaf := depth(m.Parts)
		linked := leaf.Body == "text" || leaf.Attachment != nil
		if d != tt.depth || len(m.Parts.Parts) != tt.parts || linked != tt.linked {
			t.Errorf("message %d: a tree of depth %d, %d parts, linked %v; want %d, %d, %v", id, d, len(m.Parts.Parts), linked, tt.depth, tt.parts, tt.linked)
		}
		if code, raw := rawRequest(t, addr, "GET", fmt.Sprintf("/api/messages/%d/raw", id), "", false); code != 200 || string(raw) != tt.raw {
			t.Errorf("message %d: raw %d, %d bytes; want the %d sent", id, code, len(raw), len(tt.raw))
		}
	}
	if ms := srv.Messages(); len(ms) != len(tests) {
		t.Errorf("%d messages kept, want %d", len(ms), len(tests))
	}
}

// A filter's attachment and dkim lists have at most maxWantElements
// elements, in every form: the repeated query parameter, want= and the
// want of an expectation. Each element is matched to a different
// attachment (signature) of each message, so a long list costs its
// length times theirs on every message kept, and on every arrival for a
// wait. N-1 and N are taken, and match a message of N attachments; N+1
// and 2N get 400 naming the field and the limit; so does a want= of
// 1 MiB+1 octets and a body of 1 MiB full of elements.
func TestFilterListLimits(t *testing.T) {
	t.Parallel()
	srv, addr, _ := startInProcess(t, defaultHTTPTimeouts, nil)
	const n = maxWantElements
	var b strings.Builder
	b.WriteString("Subject: many\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n")
	for i := range n {
		fmt.Fprintf(&b, "--x\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=%d.bin\r\n\r\n%d\r\n", i, i)
	}
	b.WriteString("--x--\r\n")
	// Two alike: a wait returns each message once.
	sendMail(t, srv.Addr(), "a@example.com", []string{"b@example.com"}, b.String())
	sendMail(t, srv.Addr(), "a@example.com", []string{"b@example.com"}, b.String())
	if ms := srv.WaitForMessages(t, 2); len(ms[0].Attachments) != n || len(ms[1].Attachments) != n {
		t.Fatalf("%d and %d attachments, want %d", len(ms[0].Attachments), len(ms[1].Attachments), n)
	}

	for _, field := range []string{"attachment", "dkim"} {
		// Each element a different attachment of the messages, or a
		// domain that signed none of them.
		names := func(k int) []string {
			vs := make([]string, k)
			for i := range vs {
				vs[i] = fmt.Sprintf("%d.bin", i)
				if field == "dkim" {
					vs[i] = fmt.Sprintf("d%d.example", i)
				}
			}
			return vs
		}
		// Matched by the messages of n attachments; none has a signature.
		matched := 2
		if field == "dkim" {
			matched = 0
		}
		waits := 0
		for _, k := range []int{n - 1, n, n + 1, 2 * n} {
			elements, _ := json.Marshal(names(k))
			forms := map[string]string{
				"query": url.Values{field: names(k)}.Encode(),
				"want=": url.Values{"want": {fmt.Sprintf(`{%q: %s}`, field, elements)}}.Encode(),
			}
			for form, q := range forms {
				what := fmt.Sprintf("%s: %d elements, %s form", field, k, form)
				wantErr := fmt.Sprintf("%s given %d times: give it at most %d times", field, k, n)
				if form == "want=" {
					wantErr = fmt.Sprintf("want: %s: %d elements: give at most %d", field, k, n)
				}
				code, body := rawRequest(t, addr, "GET", "/api/messages?"+q, "", false)
				var ms []messageJSON
				switch {
				case k > n && code != 400:
					t.Errorf("GET /api/messages, %s: %d %.200s, want 400", what, code, body)
				case k > n:
					wantJSONError(t, what, body, wantErr)
				case code != 200 || json.Unmarshal(body, &ms) != nil || len(ms) != matched:
					t.Errorf("GET /api/messages, %s: %d %.200s, want the %d messages", what, code, body, matched)
				}
				code, body = rawRequest(t, addr, "GET", "/api/wait?timeout=1ms&"+q, "", false)
				switch {
				case k > n && code != 400:
					t.Errorf("GET /api/wait, %s: %d %.200s, want 400", what, code, body)
				case k > n:
					wantJSONError(t, what, body, wantErr)
				case field == "attachment" && waits < matched:
					// The messages are there: each wait gets the next.
					if code != 200 || json.Unmarshal(body, &ms) != nil || len(ms) != 1 {
						t.Errorf("GET /api/wait, %s: %d %.200s, want a message", what, code, body)
					}
					waits++
				case code != 408:
					t.Errorf("GET /api/wait, %s: %d %.200s, want 408", what, code, body)
				}
			}
			what := fmt.Sprintf("POST /api/expectations, %s: %d elements", field, k)
			code, body := rawRequest(t, addr, "POST", "/api/expectations", fmt.Sprintf(`{"want": {%q: %s}, "atLeast": 0}`, field, elements), false)
			switch {
			case k <= n && code != 201:
				t.Errorf("%s: %d %.200s, want 201", what, code, body)
			case k > n && code != 400:
				t.Errorf("%s: %d %.200s, want 400", what, code, body)
			case k > n:
				wantJSONError(t, what, body, fmt.Sprintf("POST /api/expectations: want: %s: %d elements: give at most %d", field, k, n))
			}
		}

		// As large as a request may be, and full of elements.
		fill := func(size, per int) string {
			return strings.Repeat("{},", (size-100)/per) + "{}"
		}
		j := fmt.Sprintf(`{%q: [%s]}`, field, fill(1<<20, len(url.QueryEscape("{},"))))
		q := url.QueryEscape(j)
		q += strings.Repeat("+", 1<<20+1-len(q)) // blanks after the object
		code, body := rawRequest(t, addr, "GET", "/api/messages?want="+q, "", false)
		if code != 400 || len(q) != 1<<20+1 {
			t.Errorf("GET /api/messages?want= of %d octets: %d %.200s, want 400", len(q), code, body)
		}
		wantJSONError(t, "want= of 1 MiB+1 octets", body, fmt.Sprintf("want: %s: %d elements: give at most %d", field, (1<<20-100)/9+1, n))
		req := padded(fmt.Sprintf(`{"want": {%q: [%s]}}`, field, fill(maxExpectationBody, 3)), maxExpectationBody)
		code, body = rawRequest(t, addr, "POST", "/api/expectations", req, false)
		if code != 400 {
			t.Errorf("POST /api/expectations of %d octets: %d %.200s, want 400", len(req), code, body)
		}
		wantJSONError(t, "a body of 1 MiB", body, fmt.Sprintf("want: %s: %d elements: give at most %d", field, (maxExpectationBody-100)/3+1, n))
	}
	// Those taken were checked; the messages are left alone.
	if code, body := rawRequest(t, addr, "GET", "/api/expectations/check", "", false); code != 200 {
		t.Errorf("GET /api/expectations/check: %d %.300s, want 200", code, body)
	}
}

// The regular expressions of one request are at most maxRegexps octets in
// all, in every place a client gives them: re= to find, the masks of a
// normalized form, a filter's …Matches as parameters, in want= and in an
// expectation's want. Go compiles them in time that grows with their
// length and a request cannot stop it: without the bound, one request of
// 1 MiB took seconds. N-1 and N are taken (and found nowhere); N+1, 2N
// and 1 MiB+1 octets get a 400 that says so before compiling anything.
func TestRegexpLimit(t *testing.T) {
	t.Parallel()
	srv, addr, _ := startInProcess(t, defaultHTTPTimeouts, nil)
	sendMail(t, srv.Addr(), "a@example.com", []string{"b@example.com"}, "Subject: m1\r\n\r\nx\r\n")
	srv.WaitForMessages(t, 1)

	const n = maxRegexps
	tooLong := fmt.Sprintf("give regular expressions of at most %d octets in all", n)
	inAll := func(k int) string {
		return fmt.Sprintf("%d octets of regular expressions: give at most %d in all", k, n)
	}
	for _, k := range []int{n - 1, n, n + 1, 2 * n, 1<<20 + 1} {
		// k octets of "a", found nowhere; split in two where a form
		// takes two.
		one := strings.Repeat("a", k)
		first, second := one[:k/2], one[k/2:]
		twoWants, _ := json.Marshal(map[string]string{"textMatches": first, "htmlMatches": second})
		oneWant, _ := json.Marshal(map[string]any{"want": map[string]string{"subjectMatches": one}, "never": true})
		forms := []struct {
			name, method, path, body string
			ok                       int
			refused                  string
		}{
			{"re=", "GET", "/api/messages/1/find?re=" + one, "", 404, `re "aaa`},
			{"two masks", "GET", "/api/messages/1/normalized?" + url.Values{"mask": {first, second}, "replacement": {"", ""}}.Encode(), "", 200, "mask 1, mask 2: " + inAll(k)},
			{"subjectMatches=", "GET", "/api/messages?subjectMatches=" + one, "", 200, `subjectMatches "aaa`},
			{"want=", "GET", "/api/messages?" + url.Values{"want": {string(twoWants)}}.Encode(), "", 200, "want: textMatches, htmlMatches: " + inAll(k)},
			{"an expectation's want", "POST", "/api/expectations", string(oneWant), 201, `want: subjectMatches "aaa`},
		}
		for _, f := range forms {
			if len(f.body) > maxExpectationBody {
				continue // a body's own bound answers first
			}
			what := fmt.Sprintf("%s %s, %d octets", f.method, f.name, k)
			code, body := rawRequest(t, addr, f.method, f.path, f.body, false)
			switch {
			case k <= n && code != f.ok:
				t.Errorf("%s: %d %.300s, want %d", what, code, body, f.ok)
			case k > n && code != 400:
				t.Errorf("%s: %d %.300s, want 400", what, code, body)
			case k > n:
				wantJSONError(t, what, body, f.refused)
				if !strings.Contains(f.refused, "in all") {
					wantJSONError(t, what, body, tooLong)
				}
			}
		}
	}
}

// rawHTTP sends a request written out whole (its request line, header
// and body, without the Connection: close it adds) over a connection of
// its own, and returns the status and the body of the answer. The request
// is written while the answer is read: a server may answer before it has
// read all of it, and close.
func rawHTTP(t *testing.T, addr, req string) (int, []byte) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	head, body, _ := strings.Cut(req, "\r\n\r\n")
	written := make(chan struct{})
	go func() {
		defer close(written)
		_, _ = io.WriteString(c, head+"\r\nConnection: close\r\n\r\n"+body)
	}()
	defer func() { c.Close(); <-written }()
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%.80q: %v", req, err)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%.80q: reading the answer: %v", req, err)
	}
	return res.StatusCode, b
}

// An error quotes at most about 100 octets of what the client sent, and
// says how long it was: a value, a key, a name, a path, a header of
// 1 MiB+1 octets (or as large as a body may be) gets an error of a few
// hundred octets, not one as large as the input, wherever it is.
func TestErrorsQuoteLittleOfTheInput(t *testing.T) {
	t.Parallel()
	srv, addr, _ := startInProcess(t, defaultHTTPTimeouts, nil)
	sendMail(t, srv.Addr(), "a@example.com", []string{"b@example.com"}, "Subject: m1\r\n\r\nx\r\n")
	srv.WaitForMessages(t, 1)

	const size = 1<<20 + 1
	big := strings.Repeat("a", size)
	nines := strings.Repeat("9", size)
	noted := fmt.Sprintf("(%d octets)", size)
	get := func(path string) string {
		return fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, addr)
	}
	send := func(method, path, contentType, body string) string {
		return fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s", method, path, addr, contentType, len(body), body)
	}
	want := func(j string) string { return "/api/messages?want=" + url.QueryEscape(j) }
	// bodyKey is a key that fills a body of 1 MiB, the largest taken.
	bodyKey := func(format string) string {
		return strings.Repeat("k", maxExpectationBody-len(format))
	}
	fault := func(format string) string {
		return fmt.Sprintf(format, strings.Repeat("f", maxFaultBody-len(format)))
	}
	half := strings.Repeat("d", 1<<19)
	// numbered joins n items of format, numbered from 0.
	numbered := func(format, sep string, n int) string {
		items := make([]string, n)
		for i := range items {
			items[i] = fmt.Sprintf(format, i)
		}
		return strings.Join(items, sep)
	}

	tests := []struct {
		name   string
		req    string
		status int
		says   string // in the error
		noted  string // the length it notes; "" for noted
	}{
		{"a count to wait for sessions", get("/api/wait/sessions?count=" + nines), 400, `count="999`, ""},
		{"a count to wait for messages", get("/api/wait?count=" + nines), 400, `count="999`, ""},
		{"a timeout", get("/api/wait?timeout=" + nines), 400, `timeout="999`, ""},
		{"a limit", get("/api/messages?limit=" + nines), 400, `limit="999`, ""},
		{"a since", get("/api/messages?since=" + nines), 400, `since="999`, ""},
		{"an ID", get("/api/messages/" + nines), 400, `id "999`, ""},
		{"an ID, with an unknown parameter", get("/api/messages/" + nines + "?x=1"), 400, `/api/messages/999`, fmt.Sprintf("(%d octets)", size+14)},
		{"an ID to delete", fmt.Sprintf("DELETE /api/messages/%s HTTP/1.1\r\nHost: %s\r\n\r\n", nines, addr), 400, `id "999`, ""},
		{"a fault's ID to delete", fmt.Sprintf("DELETE /api/faults/%s HTTP/1.1\r\nHost: %s\r\n\r\n", nines, addr), 400, `id "999`, ""},
		{"a fault's ID to delete, not a number", fmt.Sprintf("DELETE /api/faults/%s HTTP/1.1\r\nHost: %s\r\n\r\n", big, addr), 400, `id "aaa`, ""},
		{"an attachment's index", get("/api/messages/1/attachments/" + nines), 400, `n "999`, ""},
		{"an inbox", get("/api/messages?inbox=" + big), 404, `inbox="aaa`, ""},
		// Cut at the start of a character, not within one.
		{"an inbox in two-octet characters", get("/api/messages?inbox=" + url.QueryEscape(strings.Repeat("é", 1<<17))), 404, `inbox="éé`, fmt.Sprintf("(%d octets)", 1<<18)},
		{"an unknown parameter", get("/api/messages?" + big + "=1"), 400, `unknown query parameter "aaa`, ""},
		{"10,000 unknown parameters", get("/api/messages?" + numbered("x%d=1", "&", 10000)), 400, `unknown query parameter "x0", "x1", "x10", `, "-"},
		{"a query that does not parse", get("/api/messages?x=" + big + "&y=%zz"), 400, `the query "x=aaa`, fmt.Sprintf("(%d octets)", size+8)},
		{"a header field's name", get("/api/messages?header." + big + "="), 400, `header.aaa`, fmt.Sprintf("(%d octets)", size+7)},
		{"filter parameters besides want", get("/api/messages?want={}&" + numbered("header.x%d=1", "&", 9999)), 400, "want and header.x0, header.x1, header.x10, ", "-"},
		{"an unknown key of want", get(want(`{"` + big + `": 1}`)), 400, `want: unknown key "aaa`, ""},
		{"unknown keys of want", get(want(`{` + numbered(`"k%d": 1`, ", ", 50000) + `}`)), 400, `want: unknown key "k0", "k1", "k10", `, "-"},
		{"a key of want, twice", get(want(`{"` + half + `": 1, "` + half + `": 1}`)), 400, `want: duplicate key "ddd`, fmt.Sprintf("(%d octets)", len(half))},
		{"a header field's name in want", get(want(`{"header": {"` + big + `": ""}}`)), 400, `want: header.aaa`, fmt.Sprintf("(%d octets)", size+7)},
		{"an unknown key of an attachment", get(want(`{"attachment": [{"` + big + `": "x"}]}`)), 400, `want: attachment[0]: unknown key "aaa`, ""},
		{"a regular expression", get("/api/messages?subjectMatches=(" + big), 400, `subjectMatches "(aaa`, fmt.Sprintf("(%d octets)", size+1)},
		{"a DKIM status", get("/api/messages?dkimStatus=" + big), 400, `dkimStatus: unknown status "aaa`, ""},
		{"an ARC status in want", get(want(`{"arc": "` + big + `"}`)), 400, `want: arc: unknown status "aaa`, ""},
		{"a regular expression to find", get("/api/messages/1/find?re=(" + big), 400, `re "(aaa`, fmt.Sprintf("(%d octets)", size+1)},
		{"a regular expression to find, valid", get("/api/messages/1/find?re=" + big), 400, `re "aaa`, ""},
		{"a mask", get("/api/messages/1/normalized?replacement=&mask=(" + big), 400, `mask 1 "(aaa`, fmt.Sprintf("(%d octets)", size+1)},
		{"a path", get("/api/" + big), 404, "/api/aaa", fmt.Sprintf("(%d octets)", size+5)},
		{"a path, OPTIONS", fmt.Sprintf("OPTIONS /api/%s HTTP/1.1\r\nHost: %s\r\n\r\n", big, addr), 404, "/api/aaa", fmt.Sprintf("(%d octets)", size+5)},
		{"a path, another method", fmt.Sprintf("PUT /api/messages/%s HTTP/1.1\r\nHost: %s\r\n\r\n", big, addr), 405, "PUT /api/messages/aaa", fmt.Sprintf("(%d octets)", size+14)},
		{"a method", fmt.Sprintf("%s /api/messages HTTP/1.1\r\nHost: %s\r\n\r\n", strings.Repeat("M", size), addr), 405, "MMM", ""},
		{"a host", fmt.Sprintf("GET /api/messages HTTP/1.1\r\nHost: %s\r\n\r\n", big), 403, `host "aaa`, ""},
		{"a Content-Type", send("POST", "/api/expectations", big, "{}"), 415, `got Content-Type "aaa`, ""},
		{"a path, cross-origin", fmt.Sprintf("GET /api/%s HTTP/1.1\r\nHost: %s\r\nSec-Fetch-Site: cross-site\r\n\r\n", big, addr), 403, "GET /api/aaa", fmt.Sprintf("(%d octets)", size+5)},
		{"a key of an expectation", send("POST", "/api/expectations", "application/json", `{"`+bodyKey(`{"": 1}`)+`": 1}`), 400, `unknown field "kkk`, fmt.Sprintf("(%d octets)", maxExpectationBody-7)},
		{"a key of an expectation's want", send("POST", "/api/expectations", "application/json", `{"want": {"`+bodyKey(`{"want": {"": 1}}`)+`": 1}}`), 400, `want: unknown key "kkk`, fmt.Sprintf("(%d octets)", maxExpectationBody-17)},
		{"a fault's stage", send("PUT", "/api/faults", "application/json", fault(`[{"at": "%s", "reply": "451"}]`)), 400, `at "fff`, "-"},
		{"a fault's reply", send("PUT", "/api/faults", "application/json", fault(`[{"at": "RCPT", "reply": "%s"}]`)), 400, `reply "fff`, "-"},
		{"a fault's delay", send("PUT", "/api/faults", "application/json", fault(`[{"at": "RCPT", "delay": "%s"}]`)), 400, `"fff`, "-"},
		{"a fault's delay, not a string", send("PUT", "/api/faults", "application/json", `[{"at": "RCPT", "delay": [`+strings.Repeat("1,", (maxFaultBody-40)/2)+`1]}]`), 400, `got [1,1,`, "-"},
		{"a fault's TLS version", send("PUT", "/api/faults", "application/json", fault(`[{"at": "STARTTLS", "tlsVersion": "%s"}]`)), 400, `tlsVersion "fff`, "-"},
		{"a fault's pattern", send("PUT", "/api/faults", "application/json", fault(`[{"at": "RCPT", "forRcpt": ["[%s"], "reply": "451"}]`)), 400, `pattern "[fff`, "-"},
		{"a fault's key", send("PUT", "/api/faults", "application/json", fault(`[{"%s": 1}]`)), 400, `unknown field "fff`, "-"},
		// A number too large for its field, which encoding/json quotes bare.
		{"an expectation's times", send("POST", "/api/expectations", "application/json", `{"times": `+strings.Repeat("9", maxExpectationBody-11)+`}`), 400, `times: want a whole number from -9223372036854775808 to 9223372036854775807, got 999`, fmt.Sprintf("(%d octets)", maxExpectationBody-11)},
		{"a fault's atMost", send("PUT", "/api/faults", "application/json", `[{"at": "RCPT", "reply": "451", "atMost": `+strings.Repeat("9", maxFaultBody-44)+`}]`), 400, `atMost: want a whole number from -9223372036854775808 to 9223372036854775807, got 999`, fmt.Sprintf("(%d octets)", maxFaultBody-44)},
		{"a fault's reply code", send("PUT", "/api/faults", "application/json", `[{"at": "RCPT", "reply": {"code": `+strings.Repeat("9", maxFaultBody-50)+`, "text": "x"}}]`), 400, `code: want a whole number from -9223372036854775808 to 9223372036854775807, got 999`, fmt.Sprintf("(%d octets)", maxFaultBody-50)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, b := rawHTTP(t, addr, tt.req)
			var e errorJSON
			if err := json.Unmarshal(b, &e); err != nil || code != tt.status {
				t.Fatalf("%d, %d octets: %.300s; want %d and a JSON error", code, len(b), b, tt.status)
			}
			if len(b) >= 4<<10 {
				t.Errorf("an error of %d octets: %.300s…", len(b), b)
			}
			if strings.ContainsRune(e.Error, utf8.RuneError) || strings.Contains(e.Error, `\xc3`) { // é cut, as JSON or %q writes it
				t.Errorf("%.600q: a character cut in two", e.Error)
			}
			if !strings.Contains(e.Error, tt.says) {
				t.Errorf("%.600q, want it to say %q", e.Error, tt.says)
			}
			switch {
			case tt.noted == "" && !strings.Contains(e.Error, "… "+noted):
				t.Errorf("%.600q, want it to say %q", e.Error, "… "+noted)
			case tt.noted != "" && tt.noted != "-" && !strings.Contains(e.Error, "… "+tt.noted):
				t.Errorf("%.600q, want it to say %q", e.Error, "… "+tt.noted)
			}
		})
	}
}

// An inbox's domain has its name as its label up to 40 octets (the root
// package's maxLabel), and past it the name's first 31 and 8 hex digits
// of a hash of the whole: names of N-1, N, N+1, 2N and 200 octets (the
// longest name), each a domain of its own that takes its mail, and only
// its mail, once, byte for byte.
func TestInboxLabelBound(t *testing.T) {
	t.Parallel()
	const bound = 40
	srv, addr, _ := startInProcess(t, defaultHTTPTimeouts, nil)
	hashed := regexp.MustCompile(`^n{31}-[0-9a-f]{8}$`)
	sizes := []int{bound - 1, bound, bound + 1, 2 * bound, maxInboxName}
	domains := make([]string, len(sizes))
	for i, n := range sizes {
		code, b := rawRequest(t, addr, "POST", "/api/inboxes", fmt.Sprintf(`{"name": %q}`, strings.Repeat("n", n)), false)
		var in inboxJSON
		if code != 201 || json.Unmarshal(b, &in) != nil {
			t.Fatalf("an inbox named with %d octets: %d %.200s, want 201", n, code, b)
		}
		label, ok := strings.CutSuffix(in.Domain, "-1.inbox.test")
		switch {
		case !ok, n <= bound && label != strings.Repeat("n", n), n > bound && !hashed.MatchString(label), slices.Contains(domains, in.Domain):
			t.Fatalf("an inbox named with %d octets: domain %q", n, in.Domain)
		}
		domains[i] = in.Domain
	}
	msgs := make([]string, len(sizes))
	for i, d := range domains {
		msgs[i] = fmt.Sprintf("Subject: to %d\r\n\r\nfor the inbox of a name of %d octets\r\n", i, sizes[i])
		sendMail(t, srv.Addr(), "app@example.com", []string{"user@" + d}, msgs[i])
	}
	for i, d := range domains {
		var ms []messageJSON
		if code, b := rawRequest(t, addr, "GET", "/api/messages?inbox="+d, "", false); code != 200 || json.Unmarshal(b, &ms) != nil || len(ms) != 1 {
			t.Fatalf("GET /api/messages?inbox=%s: %d %.200s, want its one message", d, code, b)
		}
		if code, b := rawRequest(t, addr, "GET", fmt.Sprintf("/api/messages/%d/raw", ms[0].ID), "", false); code != 200 || string(b) != msgs[i] {
			t.Errorf("the message of inbox %s: %d %q, want %q", d, code, b, msgs[i])
		}
	}
}

// The warning about a refused cross-origin request quotes little of what
// the client sent, as errors do: a path, an Origin and a Sec-Fetch-Site of 300 KiB each
// give a log line of a few hundred octets, not a megabyte per request.
func TestCrossOriginWarningQuotesLittle(t *testing.T) {
	t.Parallel()
	_, addr, log := startInProcess(t, defaultHTTPTimeouts, nil)
	long := strings.Repeat("x", 300<<10)
	code, _ := rawHTTP(t, addr, "GET /api/"+long+" HTTP/1.1\r\nHost: "+addr+"\r\nOrigin: https://"+long+".example\r\nSec-Fetch-Site: cross-site"+long+"\r\n\r\n")
	if code != 403 {
		t.Fatalf("a cross-origin request: %d, want 403", code)
	}
	lines := log.waitFor(t, regexp.MustCompile(`refused a cross-origin request[^\n]*\n`))
	if n := len(lines[0]); n > 1000 {
		t.Errorf("the warning is %d octets long: %.300q…", n, lines[0])
	}
}

// The log line of an expectation quotes its description clipped, as the
// cross-origin warning quotes what the client sent (clip): whole up to
// maxQuoted octets, past it its start and its length. It quoted the
// description whole, which quotes the want: a want of a 1 MiB body (a
// header of 80,000 names) logged a line of 1.5 MB. Descriptions of N-1,
// N, N+1, 2N and more than 1 MiB+1 octets.
func TestExpectationLogClipsItsDescription(t *testing.T) {
	t.Parallel()
	_, addr, log := startInProcess(t, defaultHTTPTimeouts, nil)
	post := func(want map[string]any) expectationJSON {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"want": want})
		code, b := rawRequest(t, addr, "POST", "/api/expectations", string(body), false)
		var j expectationJSON
		if code != 201 || json.Unmarshal(b, &j) != nil {
			t.Fatalf("POST /api/expectations (%d octets): %d %.200s", len(body), code, b)
		}
		return j
	}
	// A want of a description of n octets: addresses of 40 octets to come
	// near it, a subject of 1 to 60 (the want quotes 60) to reach it.
	wantOf := func(n int) map[string]any {
		var to []string
		for {
			want := map[string]any{"subject": "s"}
			if len(to) > 0 {
				want["to"] = to
			}
			d := len(post(want).Description)
			if d <= n && n-d < 60 {
				want["subject"] = strings.Repeat("s", n-d+1)
				return want
			}
			if d > n {
				t.Fatalf("no want of a description of %d octets", n)
			}
			to = append(to, fmt.Sprintf("%s%02d@example.com", strings.Repeat("a", 26), len(to)))
		}
	}
	// A description past 1 MiB+1 from a body under the API's 1 MiB:
	// header names, quoted whole, of 1,040 octets (1,047 in the body,
	// 1,049 in the description), a thousand of them. (80,000 short ones
	// took the race detector over 30 s on a loaded machine.)
	header := map[string]string{}
	for i := range 1000 {
		header[fmt.Sprintf("X%04d-%s", i, strings.Repeat("n", 1034))] = "v"
	}
	wants := []map[string]any{wantOf(maxQuoted - 1), wantOf(maxQuoted), wantOf(maxQuoted + 1), wantOf(2 * maxQuoted), {"header": header}}
	for i, want := range wants {
		j := post(want)
		switch n := len(j.Description); {
		case i < 4 && n != []int{maxQuoted - 1, maxQuoted, maxQuoted + 1, 2 * maxQuoted}[i]:
			t.Fatalf("want %d: a description of %d octets", i, n)
		case i == 4 && n <= 1<<20+1:
			t.Fatalf("the want of 1,000 header names of 1,040 octets: a description of %d octets, want more than 1 MiB+1", n)
		}
		m := log.waitFor(t, regexp.MustCompile(fmt.Sprintf(`msg=expectation id=%d [^\n]* wants=("(?:[^"\\\n]|\\.)*")\n`, j.ID)))
		got, err := strconv.Unquote(m[1])
		if err != nil {
			t.Fatalf("expectation %d: wants=%.200s: %v", j.ID, m[1], err)
		}
		if want := clip(j.Description); got != want || len(got) > maxQuoted {
			t.Errorf("expectation %d, a description of %d octets: the log says wants=%.200q (%d octets), want %.200q", j.ID, len(j.Description), got, len(got), want)
		}
		if len(j.Description) <= maxQuoted && got != j.Description {
			t.Errorf("a description of %d octets is clipped in the log: %q", len(j.Description), got)
		}
	}
}

// A wait takes no body, and a body that is none is taken as none, as on
// every route: Content-Length: 0, or chunked with no data (README). The
// chunked one got 400 "a wait takes no body". A body with data gets 400,
// and one announced as chunked but withheld gets 400 at the read timeout,
// not at the wait's (its deadlines are longer than any request's).
func TestWaitTakesAnEmptyChunkedBodyAsNone(t *testing.T) {
	t.Parallel()
	_, addr, _ := startInProcess(t, httpTimeouts{readHeader: time.Second, read: time.Second, write: time.Minute, idle: time.Minute}, nil)
	for _, path := range []string{"/api/wait?timeout=1ms", "/api/wait/sessions?count=1&timeout=1ms"} {
		for _, chunked := range []bool{false, true} {
			if code, b := rawRequest(t, addr, "GET", path, "", chunked); code != 408 {
				t.Errorf("GET %s with an empty body (chunked %v): %d %.200s, want 408", path, chunked, code, b)
			}
			code, b := rawRequest(t, addr, "GET", path, "{}", chunked)
			if code != 400 {
				t.Errorf("GET %s with a body (chunked %v): %d %.200s, want 400", path, chunked, code, b)
			} else {
				wantJSONError(t, "a wait with a body", b, "a wait takes no body")
			}
		}
		code, b := rawHTTP(t, addr, "GET "+strings.Replace(path, "1ms", "1m", 1)+" HTTP/1.1\r\nHost: "+addr+"\r\nTransfer-Encoding: chunked\r\n\r\n")
		if code != 400 {
			t.Errorf("GET %s with a chunked body withheld: %d %.200s, want 400 at the read timeout", path, code, b)
		} else {
			wantJSONError(t, "a wait with a body withheld", b, "a wait takes no body; reading it:")
		}
	}
}

// A JSON body of only whitespace is no body, on every route (README): a
// DELETE takes it as none, and so does a wait. The wait answered 400 "a
// wait takes no body" to it, sent with a length or chunked. Whitespace
// that another kind of body is made of, or JSON after it, is a body.
func TestWaitTakesAJSONBodyOfWhitespaceAsNone(t *testing.T) {
	t.Parallel()
	_, addr, _ := startInProcess(t, httpTimeouts{readHeader: time.Second, read: time.Second, write: time.Minute, idle: time.Minute}, nil)
	for _, path := range []string{"/api/wait?timeout=1ms", "/api/wait/sessions?count=1&timeout=1ms"} {
		for _, chunked := range []bool{false, true} {
			for _, body := range []string{" ", "\r\n", " \t\r\n "} {
				if code, b := rawRequest(t, addr, "GET", path, body, chunked); code != 408 {
					t.Errorf("GET %s with the JSON body %q (chunked %v): %d %.200s, want 408 as with none", path, body, chunked, code, b)
				}
			}
			if code, b := rawRequest(t, addr, "GET", path, " {} ", chunked); code != 400 {
				t.Errorf("GET %s with the JSON body \" {} \" (chunked %v): %d %.200s, want 400", path, chunked, code, b)
			} else {
				wantJSONError(t, "a wait with a body", b, "a wait takes no body")
			}
		}
		req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n\r\n "
		if code, b := rawHTTP(t, addr, req); code != 400 {
			t.Errorf("GET %s with a text body of a blank: %d %.200s, want 400", path, code, b)
		}
	}
	// The whitespace is read under the bound of every body: 1 MiB+1 of it
	// is too large, as on a DELETE.
	if code, b := rawRequest(t, addr, "GET", "/api/wait?timeout=1ms", strings.Repeat(" ", maxExpectationBody+1), true); code != 413 {
		t.Errorf("GET /api/wait with 1 MiB+1 of whitespace: %d %.200s, want 413", code, b)
	}
}
