package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/smtp"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp/cmpopts"
)

// ignoreFaultID compares faults but for their ids, which each PUT gives
// afresh.
var ignoreFaultID = cmpopts.IgnoreFields(faultJSON{}, "ID")

// faultIDs sends a fault script with method and returns the ids of the
// faults its answer lists.
func faultIDs(t *testing.T, p *proc, method, body string) []int {
	t.Helper()
	res, b := do(t, p, method, "/api/faults", body)
	if res.StatusCode != 200 {
		t.Fatalf("%s /api/faults: %d %s", method, res.StatusCode, b)
	}
	return idsOf(t, b)
}

func idsOf(t *testing.T, b []byte) []int {
	t.Helper()
	var faults []struct {
		ID *int `json:"id"`
	}
	if err := json.Unmarshal(b, &faults); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	ids := []int{}
	for _, f := range faults {
		if f.ID == nil {
			t.Fatalf("a fault without an id in %s", b)
		}
		ids = append(ids, *f.ID)
	}
	return ids
}

func scriptIDs(t *testing.T, p *proc) []int {
	t.Helper()
	_, b := do(t, p, "GET", "/api/faults", "")
	return idsOf(t, b)
}

// Each fault has an id, from 1, never given again in the program's run:
// the -faults file's, then each POST's (which answers the faults it
// added, and only those), each PUT's (new ones for every fault); GET
// lists them in the script's order. An id given back in a PUT (GET's
// output) is ignored.
func TestAPIFaultIDs(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "faults.json")
	if err := os.WriteFile(file, []byte(`[{"at": "NOOP", "delay": "1ms"}, {"at": "RSET", "delay": "1ms"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, nil, "-faults", file)
	if got := scriptIDs(t, p); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("the -faults file's ids: %v, want [1 2]", got)
	}
	if got := faultIDs(t, p, "POST", `[{"at": "MAIL", "delay": "1ms"}, {"at": "RCPT", "delay": "1ms"}]`); !slices.Equal(got, []int{3, 4}) {
		t.Errorf("POST answers ids %v, want the two it added, [3 4]", got)
	}
	if got := faultIDs(t, p, "POST", `[{"at": "DATA", "delay": "1ms"}]`); !slices.Equal(got, []int{5}) {
		t.Errorf("the second POST answers ids %v, want [5]", got)
	}
	if got := scriptIDs(t, p); !slices.Equal(got, []int{1, 2, 3, 4, 5}) {
		t.Errorf("GET: ids %v, want [1 2 3 4 5]", got)
	}
	if res, b := do(t, p, "DELETE", "/api/faults/4", ""); res.StatusCode != 204 {
		t.Fatalf("DELETE /api/faults/4: %d %s", res.StatusCode, b)
	}
	if got := scriptIDs(t, p); !slices.Equal(got, []int{1, 2, 3, 5}) {
		t.Errorf("GET after DELETE /api/faults/4: ids %v, want [1 2 3 5]", got)
	}
	_, script := do(t, p, "GET", "/api/faults", "")
	if got := faultIDs(t, p, "PUT", string(script)); !slices.Equal(got, []int{6, 7, 8, 9}) {
		t.Errorf("PUT of GET's output answers ids %v, want new ones, [6 7 8 9]", got)
	}
	if res, b := do(t, p, "DELETE", "/api/faults", ""); res.StatusCode != 204 {
		t.Fatalf("DELETE /api/faults: %d %s", res.StatusCode, b)
	}
	if got := faultIDs(t, p, "POST", `[{"at": "QUIT", "delay": "1ms"}]`); !slices.Equal(got, []int{10}) {
		t.Errorf("POST after DELETE /api/faults answers ids %v, want [10]: never one given before", got)
	}
	// DELETE /api/messages (the reset between tests) keeps the faults and
	// their ids.
	if res, b := do(t, p, "DELETE", "/api/messages", ""); res.StatusCode != 204 {
		t.Fatalf("DELETE /api/messages: %d %s", res.StatusCode, b)
	}
	if got := scriptIDs(t, p); !slices.Equal(got, []int{10}) {
		t.Errorf("GET after DELETE /api/messages: ids %v, want [10]", got)
	}
}

// Two tests share the program, as the suites of other languages run
// them in parallel: one greylists its recipient, the other adds a fault
// of its own and removes it by its id at its end (DELETE
// /api/faults/{id}). The first's greylisting remembers the pair it
// refused: its retry passes. Before, the second could only DELETE every
// fault or PUT the others back, which forgot the pair (and DELETE
// /api/faults/{id} was a 405).
func TestAPIDeleteOneFaultKeepsTheOthersState(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "faults.json")
	if err := os.WriteFile(file, []byte(`[{"at": "MAIL", "forSender": ["file@example.com"], "reply": "550 5.7.1 from the file"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, nil, "-faults", file)
	send := func(from, to string) int {
		err := smtp.SendMail(p.smtp, nil, from, []string{to}, []byte("Subject: x\r\n\r\nbody\r\n"))
		if err != nil && smtpCode(err) == 0 {
			t.Fatalf("send: %v, want a reply", err)
		}
		return smtpCode(err)
	}
	// The first test: greylisting for its recipient, and an AtMost fault.
	first := faultIDs(t, p, "POST", `[{"greylistFor": "1ns", "forRcpt": ["grey@example.com"]},
		{"at": "RCPT", "forRcpt": ["once@example.com"], "atMost": 1, "reply": "452 4.5.3 once"}]`)
	if got := []int{send("app@example.com", "grey@example.com"), send("app@example.com", "once@example.com")}; !slices.Equal(got, []int{451, 452}) {
		t.Fatalf("the first test's faults: codes %v, want [451 452]", got)
	}
	// The second test: its own fault, removed at its end.
	mine := faultIDs(t, p, "POST", `[{"at": "MAIL", "forSender": ["mine@example.com"], "reply": "550 5.7.1 mine"}]`)
	if got := send("mine@example.com", "x@example.com"); got != 550 {
		t.Fatalf("the second test's fault: code %d, want 550", got)
	}
	path := fmt.Sprintf("/api/faults/%d", mine[0])
	if res, b := do(t, p, "DELETE", path, ""); res.StatusCode != 204 {
		t.Fatalf("DELETE %s: %d %s", path, res.StatusCode, b)
	}
	// And the -faults file's, by its id, 1.
	if res, b := do(t, p, "DELETE", "/api/faults/1", ""); res.StatusCode != 204 {
		t.Fatalf("DELETE /api/faults/1: %d %s", res.StatusCode, b)
	}
	got := []int{
		send("mine@example.com", "x@example.com"),
		send("file@example.com", "x@example.com"),
		send("app@example.com", "grey@example.com"), // remembered: passes
		send("app@example.com", "once@example.com"), // used up
	}
	if want := []int{0, 0, 0, 0}; !slices.Equal(got, want) {
		t.Errorf("after the DELETEs: codes %v, want %v", got, want)
	}
	if got := scriptIDs(t, p); !slices.Equal(got, first) {
		t.Errorf("GET after the DELETEs: ids %v, want the first test's, %v", got, first)
	}
}

// Ids as a client may get them wrong, or an attacker send them: another
// spelling of a number, a negative, an id never given or given and
// removed, a number past int, a body on the DELETE, an id in a POST (the
// server gives ids: one a client picked would remove another test's
// fault). Each gets an error that names what is wrong, and the script
// stays as it was.
func TestAPIFaultIDsRefused(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	faultIDs(t, p, "POST", `[{"at": "NOOP", "delay": "1ms"}, {"at": "RSET", "delay": "1ms"}]`)
	if res, b := do(t, p, "DELETE", "/api/faults/1", ""); res.StatusCode != 204 {
		t.Fatalf("DELETE /api/faults/1: %d %s", res.StatusCode, b)
	}
	for _, tt := range []struct {
		method, path, body string
		status             int
		says               string
	}{
		{"DELETE", "/api/faults/abc", "", 400, `id "abc": want a number`},
		{"DELETE", "/api/faults/-1", "", 400, `id "-1": want a number`},
		{"DELETE", "/api/faults/+2", "", 400, `id "+2": want a number`},
		{"DELETE", "/api/faults/02", "", 400, `id "02": want a number`},
		{"DELETE", "/api/faults/2.0", "", 400, `id "2.0": want a number`},
		{"DELETE", "/api/faults/%202", "", 400, `id " 2": want a number`},
		{"DELETE", "/api/faults/99999999999999999999", "", 400, `id "99999999999999999999": want a number`},
		{"DELETE", "/api/faults/0", "", 404, "no fault 0: ids start at 1"},
		{"DELETE", "/api/faults/1", "", 404, "no fault 1: removed"},
		{"DELETE", "/api/faults/3", "", 404, "no fault 3: the last id given is 2"},
		{"DELETE", "/api/faults/9223372036854775807", "", 404, "no fault 9223372036854775807"},
		{"DELETE", "/api/faults/9223372036854775808", "", 400, `id "9223372036854775808": want a number`},
		{"DELETE", "/api/faults/2", `{"x": 1}`, 400, "takes no body"},
		{"DELETE", "/api/faults/2?id=2", "", 400, `unknown query parameter "id"`},
		{"DELETE", "/api/faults/", "", 404, "no such API route"},
		{"GET", "/api/faults/2", "", 405, "method not allowed"},
		{"POST", "/api/faults", `[{"at": "MAIL", "delay": "1ms"}, {"id": 2, "at": "RCPT", "delay": "1ms"}]`, 400, `POST /api/faults: body:1:34: fault 2: "id" is the server's to give`},
		{"POST", "/api/faults", `[{"at": "MAIL", "delay": "1ms", "id": "mine"}]`, 400, `fault 1: id: want a whole number, got a string`},
		{"POST", "/api/faults", `[{"at": "MAIL", "delay": "1ms", "id": 0}]`, 400, `"id" is the server's to give`},
	} {
		res, b := do(t, p, tt.method, tt.path, tt.body)
		var e errorJSON
		if err := json.Unmarshal(b, &e); err != nil || res.StatusCode != tt.status || !strings.Contains(e.Error, tt.says) {
			t.Errorf("%s %s %s: %d %s, want %d with %q", tt.method, tt.path, tt.body, res.StatusCode, b, tt.status, tt.says)
		}
	}
	if got := scriptIDs(t, p); !slices.Equal(got, []int{2}) {
		t.Errorf("after the refused requests: ids %v, want [2]", got)
	}
	// An id in a PUT is ignored, as its description is: GET's output
	// goes back as it is, and gets new ids.
	if got := faultIDs(t, p, "PUT", `[{"id": 2, "at": "NOOP", "delay": "1ms"}, {"id": 77, "at": "RSET", "delay": "1ms"}]`); !slices.Equal(got, []int{3, 4}) {
		t.Errorf("PUT with ids answers ids %v, want new ones, [3 4]", got)
	}
}

// Sessions consult the script while tests add their faults and remove
// them by id: each RCPT meets the fault whole or not at all (550 or
// 250), under the race detector; the fault that stays keeps its count.
func TestAPIDeleteFaultWhileSessionsRun(t *testing.T) {
	t.Parallel()
	srv, addr, _ := startInProcess(t, defaultHTTPTimeouts, nil)
	// call may run off the test's goroutine: it reports, never fails t.
	call := func(method, path, body string) (int, []byte) {
		req, err := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		if err != nil {
			return 0, []byte(err.Error())
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := httpClient.Do(req)
		if err != nil {
			return 0, []byte(err.Error())
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			return 0, []byte(err.Error())
		}
		return res.StatusCode, b
	}
	if code, b := call("POST", "/api/faults", `[{"at": "RCPT", "forRcpt": ["once@example.com"], "atMost": 1, "reply": "452 4.5.3 once"}]`); code != 200 {
		t.Fatalf("POST: %d %s", code, b)
	}
	done := make(chan struct{})
	var toggler sync.WaitGroup
	toggler.Add(1)
	go func() {
		defer toggler.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			code, b := call("POST", "/api/faults", `[{"at": "RCPT", "forRcpt": ["x@example.com"], "reply": "550 5.1.1 toggled"}, {"at": "RCPT", "forRcpt": ["x@example.com"], "reply": "550 5.1.1 toggled"}]`)
			if code != 200 {
				t.Errorf("POST: %d %s", code, b)
				return
			}
			var added []struct{ ID int }
			if err := json.Unmarshal(b, &added); err != nil || len(added) != 2 {
				t.Errorf("POST answered %s, want the 2 faults added", b)
				return
			}
			for _, f := range added {
				id := f.ID
				if code, b := call("DELETE", fmt.Sprintf("/api/faults/%d", id), ""); code != 204 {
					t.Errorf("DELETE fault %d: %d %s", id, code, b)
					return
				}
			}
		}
	}()
	const clients, sends = 4, 10
	codes := make(chan int, clients*sends)
	var senders sync.WaitGroup
	for range clients {
		senders.Add(1)
		go func() {
			defer senders.Done()
			for range sends {
				err := smtp.SendMail(srv.Addr(), nil, "app@example.com", []string{"x@example.com"}, []byte("Subject: x\r\n\r\nbody\r\n"))
				codes <- smtpCode(err)
				if err != nil && smtpCode(err) == 0 {
					t.Errorf("send: %v", err)
				}
			}
		}()
	}
	senders.Wait()
	close(done)
	toggler.Wait()
	close(codes)
	for code := range codes {
		if code != 0 && code != 550 {
			t.Errorf("a RCPT while faults came and went: code %d, want 250 or 550", code)
		}
	}
	var got []int
	for range 2 {
		got = append(got, smtpCode(smtp.SendMail(srv.Addr(), nil, "app@example.com", []string{"once@example.com"}, []byte("Subject: x\r\n\r\nbody\r\n"))))
	}
	if !slices.Equal(got, []int{452, 0}) {
		t.Errorf("the fault that stayed: codes %v, want [452 0]", got)
	}
}

// A test that removes its fault by id while a session waits out the
// fault's idleReply: the wait stops counting among the waits on the
// clock at once (GET /api/clock, so a suite's GET /api/wait/clock does
// not return on it), and a move past its end does not close the session.
func TestAPIDeleteFaultEndsItsIdleWait(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-clock", "frozen")
	ids := faultIDs(t, p, "POST", `[{"at": "HELO", "idleReply": {"after": "3m", "code": 421, "text": "4.4.2 idle too long"}}]`)
	conn, r := dialGreeted(t, p)
	if _, err := conn.Write([]byte("HELO app.example\r\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "250 ") {
		t.Fatalf("HELO: %q, %v", line, err)
	}
	var c clockJSON
	getJSON(t, p, "/api/wait/clock?count=1&kind=idleReply", 200, &c)
	path := fmt.Sprintf("/api/faults/%d", ids[0])
	if res, b := do(t, p, "DELETE", path, ""); res.StatusCode != 204 {
		t.Fatalf("DELETE %s: %d %s", path, res.StatusCode, b)
	}
	getJSON(t, p, "/api/clock", 200, &c)
	if c.Waits != 0 {
		t.Errorf("after DELETE %s: %d waits on the clock (%+v), want none", path, c.Waits, c.WaitList)
	}
	advance(t, p, "4m") // past the idle time
	if _, err := conn.Write([]byte("NOOP\r\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "250 ") {
		t.Errorf("NOOP after the move: %q, %v, want 250: the removed fault's idleReply closed the session", line, err)
	}
}
