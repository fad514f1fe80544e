package main

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestValueOfTheWrongTypeSaysWhatToSend: a suite in another language that
// sends a value of the wrong type (a string where a list is wanted, as
// Python's {"forRcpt": "bob@example.com"}, or a number where a duration
// object is) is told in the words of the JSON it sends what the key wants,
// not the program's Go types ("Go struct field faultJSON.forRcpt of type
// []string", "of type main.trickleJSON").
func TestValueOfTheWrongTypeSaysWhatToSend(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet")
	for _, tt := range []struct{ method, path, body, want string }{
		{"PUT", "/api/faults", `[{"at": "RCPT", "forRcpt": "bob@example.com", "reply": "450 4.2.1 x"}]`,
			`PUT /api/faults: body:1:17: fault 1: forRcpt: want a list of strings, such as ["…"], got a string`},
		{"PUT", "/api/faults", `[{"unknownUser": "nobody@example.com"}]`,
			`PUT /api/faults: body:1:3: fault 1: unknownUser: want a list of strings, such as ["…"], got a string`},
		{"PUT", "/api/faults", `[{"at": "RCPT", "onAttempt": 1, "reply": "421 4.3.2 x"}]`,
			`PUT /api/faults: body:1:17: fault 1: onAttempt: want a list of whole numbers, such as [1, 2], got a number`},
		{"PUT", "/api/faults", `[{"at": "RCPT", "onAttempt": ["1"], "reply": "421 4.3.2 x"}]`,
			`PUT /api/faults: body:1:17: fault 1: onAttempt: want a whole number, got a string`},
		{"PUT", "/api/faults", `[{"at": "RCPT", "atMost": "2", "reply": "450 4.2.1 x"}]`,
			`PUT /api/faults: body:1:17: fault 1: atMost: want a whole number, got a string`},
		{"PUT", "/api/faults", `[{"at": "RCPT", "atMost": 1.5, "reply": "450 4.2.1 x"}]`,
			`PUT /api/faults: body:1:17: fault 1: atMost: want a whole number, got 1.5`},
		{"PUT", "/api/faults", `[{"at": "RCPT", "withProbability": "0.5", "reply": "450 4.2.1 x"}]`,
			`PUT /api/faults: body:1:17: fault 1: withProbability: want a number, got a string`},
		{"PUT", "/api/faults", `[{"at": "RCPT", "reply": "421 4.3.2 x", "disconnect": "true"}]`,
			`PUT /api/faults: body:1:41: fault 1: disconnect: want true or false, got a string`},
		{"PUT", "/api/faults", `[{"greylist": 1}]`,
			`PUT /api/faults: body:1:3: fault 1: greylist: want true or false, got a number`},
		{"PUT", "/api/faults", `[{"at": "RCPT", "trickle": "1s", "reply": "450 4.2.1 x"}]`,
			`PUT /api/faults: body:1:17: fault 1: trickle: want an object such as {"n": …, "every": …}, got a string`},
		{"PUT", "/api/faults", `[{"at": "RCPT", "trickle": {"n": "1", "every": "1s"}, "reply": "450 4.2.1 x"}]`,
			`PUT /api/faults: body:1:17: fault 1: trickle.n: want a whole number, got a string`},
		{"PUT", "/api/faults", `[{"at": "RCPT", "splitReply": 3}]`,
			`PUT /api/faults: body:1:17: fault 1: splitReply: want an object such as {"at": …, "pause": …}, got a number`},
		{"PUT", "/api/faults", `[{"at": "RCPT", "idleReply": "1s"}]`,
			`PUT /api/faults: body:1:17: fault 1: idleReply: want an object such as {"after": …, "code": …, "text": …}, got a string`},
		{"PUT", "/api/faults", `[{"rateLimitPer": 5}]`,
			`PUT /api/faults: body:1:3: fault 1: rateLimitPer: want an object such as {"n": …, "interval": …}, got a number`},
		{"PUT", "/api/faults", `[{"at": 5}]`,
			`PUT /api/faults: body:1:3: fault 1: at: want a string, got a number`},
		{"PUT", "/api/faults", `[{"at": "RCPT", "dropAfterBytes": [3]}]`,
			`PUT /api/faults: body:1:17: fault 1: dropAfterBytes: want a whole number, got a list`},
		{"PUT", "/api/faults", `[1]`,
			`PUT /api/faults: body:1:2: fault 1: want an object, got a number`},
		{"POST", "/api/expectations", `{"want": {"to": ["b@example.com"]}, "times": "2"}`,
			`POST /api/expectations: times: want a whole number, got a string`},
		{"POST", "/api/expectations", `{"want": {"to": ["b@example.com"]}, "never": "yes"}`,
			`POST /api/expectations: never: want true or false, got a string`},
		{"POST", "/api/expectations", `[]`,
			`POST /api/expectations: want an object, got a list`},
		// A reply's object form, and want's object, say it too.
		{"PUT", "/api/faults", `[{"at": "RCPT", "reply": {"code": "421", "text": "4.3.2 x"}}]`,
			`PUT /api/faults: body:1:17: fault 1: reply: want "421 4.3.2 text" or {"code": 421, "text": "4.3.2 text"}: code: want a whole number, got a string`},
		{"PUT", "/api/faults", `[{"at": "RCPT", "reply": [421]}]`,
			`PUT /api/faults: body:1:17: fault 1: reply: want "421 4.3.2 text" or {"code": 421, "text": "4.3.2 text"}, got a list`},
		{"POST", "/api/expectations", `{"want": ["bob@example.com"]}`,
			`POST /api/expectations: want: want an object, such as {"to": ["bob@example.com"], "subjectContains": "Welcome"}, got a list`},
		{"GET", "/api/messages?want=" + url.QueryEscape(`"bob@example.com"`), "",
			`want: want an object, such as {"to": ["bob@example.com"], "subjectContains": "Welcome"}, got a string`},
		// A whole number too large is no number of the wrong kind.
		{"PUT", "/api/faults", `[{"at": "RCPT", "atMost": 99999999999999999999, "reply": "450 4.2.1 x"}]`,
			`PUT /api/faults: body:1:17: fault 1: atMost: want a whole number from -9223372036854775808 to 9223372036854775807, got 99999999999999999999`},
		{"POST", "/api/expectations", `{"times": -99999999999999999999}`,
			`POST /api/expectations: times: want a whole number from -9223372036854775808 to 9223372036854775807, got -99999999999999999999`},
		{"POST", "/api/inboxes", `{"name": 5}`,
			`POST /api/inboxes: name: want a string, got a number`},
		{"POST", "/api/inboxes", `["x"]`,
			`POST /api/inboxes: want an object such as {"name": …}, got a list`},
	} {
		res, b := do(t, p, tt.method, tt.path, tt.body)
		var e errorJSON
		if err := json.Unmarshal(b, &e); err != nil || res.StatusCode != 400 || !strings.HasPrefix(e.Error, tt.want) {
			t.Errorf("%s %s %s:\n got %d %s\nwant 400 %q", tt.method, tt.path, tt.body, res.StatusCode, b, tt.want)
		}
		for _, goWord := range []string{"Go struct field", "Go value", "main.", "faultJSON", "Request", "[]string", "[]int", "int64", "float64", "map[", "RawMessage", "plain"} {
			if strings.Contains(e.Error, goWord) {
				t.Errorf("%s %s %s: %q names a Go type (%q)", tt.method, tt.path, tt.body, e.Error, goWord)
			}
		}
	}
}
