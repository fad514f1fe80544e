package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// JSON nested 9999, 10000, 10001 and 20000 deep (encoding/json's limit
// is 10000), bare and in a field, and a body or query of 1 MiB+1 "[",
// in want=, POST /api/expectations, PUT /api/faults and POST
// /api/clock/advance: each is a JSON error of a few hundred octets, 400
// (413 for a body over the endpoint's limit), never a 500 or a hang,
// and the server goes on.
func TestJSONNestingDepth(t *testing.T) {
	t.Parallel()
	_, addr, _ := startInProcess(t, defaultHTTPTimeouts, nil)
	nested := func(d int) string { return strings.Repeat("[", d) + strings.Repeat("]", d) }
	get := func(path string) (int, []byte) {
		return rawHTTP(t, addr, fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, addr))
	}
	type endpoint struct {
		name   string
		limit  int      // of the body; 0 for a query
		shapes []string // %s: the nested value
		send   func(string) (int, []byte)
	}
	post := func(method, path string) func(string) (int, []byte) {
		return func(body string) (int, []byte) { return rawRequest(t, addr, method, path, body, false) }
	}
	endpoints := []endpoint{
		{"want=", 0, []string{"%s", `{"subject": %s}`, `{"header": {"x": %s}}`, `{"attachment": [%s]}`},
			func(v string) (int, []byte) { return get("/api/messages?want=" + url.QueryEscape(v)) }},
		{"POST /api/expectations", maxExpectationBody, []string{"%s", `{"want": %s}`, `{"want": {"subject": %s}}`, `{"times": %s}`},
			post("POST", "/api/expectations")},
		{"PUT /api/faults", maxFaultBody, []string{"%s", `[%s]`, `[{"at": "RCPT", "reply": %s}]`, `[{"at": "RCPT", "forRcpt": %s, "reply": "451"}]`},
			post("PUT", "/api/faults")},
		{"POST /api/clock/advance", maxClockBody, []string{"%s", `{"by": %s}`},
			post("POST", "/api/clock/advance")},
	}
	for _, ep := range endpoints {
		t.Run(ep.name, func(t *testing.T) {
			t.Parallel()
			check := func(what, v string) {
				t.Helper()
				code, b := ep.send(v)
				want := http.StatusBadRequest
				if ep.limit > 0 && len(v) > ep.limit {
					want = http.StatusRequestEntityTooLarge
				}
				var e errorJSON
				if code != want || json.Unmarshal(b, &e) != nil || e.Error == "" {
					t.Errorf("%s: %d %.300s, want %d and a JSON error", what, code, b, want)
				}
				if len(b) > 1<<10 {
					t.Errorf("%s: an error of %d octets: %.300s…", what, len(b), b)
				}
			}
			for _, shape := range ep.shapes {
				for _, d := range []int{9999, 10000, 10001, 20000} {
					check(fmt.Sprintf("%s of depth %d", shape, d), fmt.Sprintf(shape, nested(d)))
				}
			}
			if ep.limit == 0 { // unescaped: "%5B" would be 3 MiB, over net/http's limit on a header (431)
				code, b := get("/api/messages?want=" + strings.Repeat("[", 1<<20+1))
				var e errorJSON
				if code != 400 || json.Unmarshal(b, &e) != nil || len(b) > 1<<10 {
					t.Errorf("1 MiB+1 of [: %d, %d octets: %.300s, want 400 and a short JSON error", code, len(b), b)
				}
			} else {
				check("1 MiB+1 of [", strings.Repeat("[", 1<<20+1))
			}
			// The server goes on.
			if code, b := get("/api/messages"); code != 200 {
				t.Errorf("GET /api/messages: %d %.200s", code, b)
			}
		})
	}
}
