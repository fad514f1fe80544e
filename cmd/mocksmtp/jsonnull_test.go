package main

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestNullIsNoValue: a null where a value is wanted (the body itself, an
// element of a list, at any depth) is a 400 that names it by its path,
// says null is not a value and what to send, in every JSON the program
// reads. encoding/json takes it for the zero value: [null] in onAttempt
// was attempt 0, in want.to the recipient "", and the body null was {}.
func TestNullIsNoValue(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet")
	const isNot = "got null: null is not a value (as a key's value, it leaves the key out)"
	for _, tt := range []struct{ method, path, body, want string }{
		{"PUT", "/api/faults", `[{"at": "RCPT", "onAttempt": [1, null], "reply": "421 4.3.2 x"}]`,
			`PUT /api/faults: body:1:34: fault 1: onAttempt[1]: want a whole number, ` + isNot},
		{"POST", "/api/faults", `[{"at": "RCPT", "forRcpt": [null], "reply": "450 4.2.1 x"}]`,
			`POST /api/faults: body:1:29: fault 1: forRcpt[0]: want a string, ` + isNot},
		{"PUT", "/api/faults", "[\n{\"at\": \"RCPT\", \"reply\": \"450 4.2.1 x\"},\n{\"at\": \"MAIL\", \"forSender\": [\"a@b\", null], \"reply\": \"450 4.2.1 x\"}]",
			`PUT /api/faults: body:3:37: fault 2: forSender[1]: want a string, ` + isNot},
		{"PUT", "/api/faults", `[{"unknownUser": [null]}]`,
			`PUT /api/faults: body:1:19: fault 1: unknownUser[0]: want a string, ` + isNot},
		{"PUT", "/api/faults", `[null]`,
			`PUT /api/faults: body:1:2: fault 1: want an object, ` + isNot},
		{"POST", "/api/expectations", `null`,
			`POST /api/expectations: want an object, ` + isNot},
		{"POST", "/api/expectations", `{"want": {"to": [null]}}`,
			`POST /api/expectations: want: to[0]: want a string, ` + isNot},
		{"POST", "/api/expectations", `{"want": {"subject": "x", "cc": ["a@b", null]}}`,
			`POST /api/expectations: want: cc[1]: want a string, ` + isNot},
		{"POST", "/api/expectations", `{"want": {"attachment": ["a.pdf", null]}}`,
			`POST /api/expectations: want: attachment[1]: want a file name or an object of filename, contentType, data, such as {"filename": …}, ` + isNot},
		{"POST", "/api/expectations", `{"want": {"dkim": [null]}}`,
			`POST /api/expectations: want: dkim[0]: want a domain or an object of domain, selector, status, reason, such as {"domain": …}, ` + isNot},
		{"GET", "/api/messages?want=" + url.QueryEscape(`{"headerTo": [null]}`), "",
			`want: headerTo[0]: want a string, ` + isNot},
		{"GET", "/api/wait?timeout=1ms&want=" + url.QueryEscape(`{"to": [null]}`), "",
			`want: to[0]: want a string, ` + isNot},
		{"POST", "/api/inboxes", `null`,
			`POST /api/inboxes: want an object such as {"name": …}, ` + isNot},
		{"POST", "/api/clock/advance", `null`,
			`POST /api/clock/advance: want an object such as {"by": …}, ` + isNot},
	} {
		res, b := do(t, p, tt.method, tt.path, tt.body)
		var e errorJSON
		if err := json.Unmarshal(b, &e); err != nil || res.StatusCode != 400 || !strings.HasPrefix(e.Error, tt.want) {
			t.Errorf("%s %s %s:\n got %d %s\nwant 400 %q", tt.method, tt.path, tt.body, res.StatusCode, b, tt.want)
		}
	}
	// None of them changed anything.
	var faults []faultJSON
	getJSON(t, p, "/api/faults", 200, &faults)
	var exps []expectationJSON
	getJSON(t, p, "/api/expectations", 200, &exps)
	var inboxes []inboxJSON
	getJSON(t, p, "/api/inboxes", 200, &inboxes)
	if len(faults)+len(exps)+len(inboxes) > 0 {
		t.Errorf("after refused requests: faults %+v, expectations %+v, inboxes %+v", faults, exps, inboxes)
	}
}

// TestNullInFaultsFile: the -faults file is read by the same rule.
func TestNullInFaultsFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "faults.json")
	if err := os.WriteFile(file, []byte(`[{"at": "RCPT", "onAttempt": [null], "reply": "421 4.3.2 x"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runOnce(t, nil, "-listen", "127.0.0.1:0", "-http", "", "-faults", file)
	if want := "faults.json:1:31: fault 1: onAttempt[0]: want a whole number, got null"; code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, want)
	}
}

// TestNullKeyIsLeftOut: a key given null is the key left out, as a client
// that writes every field of its type sends it: the same fault, the same
// expectation as without the key; a required key given null is missing.
func TestNullKeyIsLeftOut(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet")
	for _, tt := range []struct{ path, withNulls, without string }{
		{"/api/faults", `[{"at": "RCPT", "forRcpt": null, "onAttempt": null, "atMost": null, "reply": null, "rawReply": "450 4.2.1 x\r\n", "delay": null, "trickle": null, "declaredAt": null}]`,
			`[{"at": "RCPT", "rawReply": "450 4.2.1 x\r\n"}]`},
		{"/api/faults", `[{"at": "RCPT", "reply": {"code": 450, "text": null}, "trickle": {"n": 1, "every": null}}]`,
			`[{"at": "RCPT", "reply": {"code": 450}, "trickle": {"n": 1}}]`},
		{"/api/expectations", `{"want": {"to": null, "subject": "Welcome", "header": {"X-A": null, "X-B": "b"}, "attachment": [{"filename": null, "contentType": "application/pdf"}]}, "times": null, "atLeast": null, "never": null, "declaredAt": "here"}`,
			`{"want": {"subject": "Welcome", "header": {"X-B": "b"}, "attachment": [{"contentType": "application/pdf"}]}, "declaredAt": "here"}`},
	} {
		method := "PUT"
		if tt.path == "/api/expectations" {
			method = "POST"
		}
		res1, b1 := do(t, p, method, tt.path, tt.withNulls)
		res2, b2 := do(t, p, method, tt.path, tt.without)
		if tt.path == "/api/faults" { // new ids for each PUT
			var j1, j2 []faultJSON
			_ = json.Unmarshal(b1, &j1)
			_ = json.Unmarshal(b2, &j2)
			for i := range j1 {
				j1[i].ID = nil
			}
			for i := range j2 {
				j2[i].ID = nil
			}
			b1, _ = json.Marshal(j1)
			b2, _ = json.Marshal(j2)
		}
		if tt.path == "/api/expectations" {
			var j1, j2 expectationJSON
			_ = json.Unmarshal(b1, &j1)
			_ = json.Unmarshal(b2, &j2)
			j1.ID, j2.ID = 0, 0
			b1, _ = json.Marshal(j1)
			b2, _ = json.Marshal(j2)
		}
		if res1.StatusCode != res2.StatusCode || string(b1) != string(b2) {
			t.Errorf("%s %s\n%s:\n %d %s\nwithout the null keys:\n %d %s", method, tt.path, tt.withNulls, res1.StatusCode, b1, res2.StatusCode, b2)
		}
	}
	res, b := do(t, p, "POST", "/api/clock/advance", `{"by": null}`)
	if res.StatusCode != 400 || !strings.Contains(string(b), "by: missing") {
		t.Errorf(`{"by": null}: %d %s, want 400 "by: missing"`, res.StatusCode, b)
	}
}

// TestWantFormKeys: the form nullAt reads a filter's JSON by has its keys.
func TestWantFormKeys(t *testing.T) {
	var want []string
	for _, p := range wantParams {
		if p.of == "" {
			want = append(want, p.name)
		}
	}
	want = append(want, "header")
	got := jsonKeys(reflect.TypeFor[wantForm]())
	if !slices.Equal(got, want) {
		t.Errorf("wantForm's keys %q, want %q", got, want)
	}
}

// TestNullAtDeepJSON: a want as deep as encoding/json reads (10,000
// levels, 20 KB that GET /api/messages?want= or POST
// /api/expectations takes) is walked in memory of the order of its size,
// with the null at its bottom named by its whole path. The path of every
// level, each made whole, was 150 MB live at the bottom. Not parallel:
// it counts the allocations of the process.
func TestNullAtDeepJSON(t *testing.T) {
	const depth = 9990
	data := []byte(`{"to": ` + strings.Repeat("[", depth) + "null" + strings.Repeat("]", depth) + "}")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n, ok := nullAt(data, reflect.TypeFor[wantForm]())
	runtime.ReadMemStats(&after)
	if !ok || n.off != int64(len(`{"to": `)+depth) || !strings.HasPrefix(n.path, "to"+strings.Repeat("[0]", 10)) {
		t.Fatalf("nullAt: %v, %v: want the null at %d", n, ok, len(`{"to": `)+depth)
	}
	if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(64*len(data)); got > limit {
		t.Errorf("nullAt allocated %d bytes for %d of JSON, want at most %d", got, len(data), limit)
	}
}
