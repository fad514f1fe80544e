package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A test that shares the program checks its own clients' findings: those
// of its inbox, and those of a client refused before its RCPT TO (a
// rateLimitPer at MAIL), whose session is in no inbox, by the client's
// own address: GET /api/findings?remoteAddr= and /api/findings/check?
// remoteAddr=. Before, both were unknown parameters (400): a client that
// broke a rule in a session refused at MAIL passed the inbox's check, and
// only that session's own JSON told, without the report.
func TestAPIFindingsOfAnAddress(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet")
	var in inboxJSON
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "mine"}`, 201, &in)
	postJSON(t, p, "POST", "/api/faults", `[{"rateLimitPer": {"n": 1, "interval": "10m"}, "forSender": ["*@`+in.Domain+`"]}]`, 200, nil)
	sendMail(t, p.smtp, "app@"+in.Domain, []string{"bob@" + in.Domain}, "Subject: x\r\nDate: Thu, 1 Jan 2026 00:00:00 +0000\r\nMessage-ID: <1@x>\r\nFrom: app@x\r\n\r\nx\r\n")
	// Refused at MAIL, it leaves without QUIT: a quit finding, in no inbox.
	conn, expect := dialExpect(t, p.smtp)
	expect("", 220)
	expect("EHLO app.example", 250)
	expect("MAIL FROM:<app@"+in.Domain+">", 451)
	conn.Close()
	addr := conn.LocalAddr().String()
	getJSON(t, p, "/api/wait/sessions?timeout=20s&remoteAddr="+addr, 200, nil)
	// Another test's client, elsewhere, leaves without QUIT too.
	other, expectOther := dialExpect(t, p.smtp)
	expectOther("", 220)
	other.Close()
	getJSON(t, p, "/api/wait/sessions?timeout=20s&remoteAddr="+other.LocalAddr().String(), 200, nil)

	getJSON(t, p, "/api/findings/check?inbox="+in.Domain, 200, nil) // not the inbox's
	var fs []findingJSON
	getJSON(t, p, "/api/findings?remoteAddr="+addr, 200, &fs)
	if got := ruleSessions(fs); !cmp.Equal(got, []string{"quit 2"}) {
		t.Errorf("GET /api/findings?remoteAddr=%s: %v, want the quit finding of session 2 alone", addr, got)
	}
	var e struct {
		Error string `json:"error"`
	}
	getJSON(t, p, "/api/findings/check?remoteAddr="+addr, 417, &e)
	if !strings.Contains(e.Error, "session 2") || strings.Contains(e.Error, "session 3") || !strings.Contains(e.Error, "quit") {
		t.Errorf("GET /api/findings/check?remoteAddr=%s: want the report of session 2's quit finding alone:\n%s", addr, e.Error)
	}
	// Both: the findings of the sessions of both, none here.
	getJSON(t, p, "/api/findings?remoteAddr="+addr+"&inbox="+in.Domain, 200, &fs)
	getJSON(t, p, "/api/findings/check?remoteAddr="+addr+"&inbox="+in.Domain, 200, nil)
	if len(fs) != 0 {
		t.Errorf("the findings of the address and the inbox: %v, want none", ruleSessions(fs))
	}
	for _, path := range []string{"/api/findings", "/api/findings/check"} {
		getJSON(t, p, path+"?remoteAddr=localhost:1", 400, &e)
		if !strings.Contains(e.Error, "want the client's address as HOST:PORT") {
			t.Errorf("%s?remoteAddr=localhost:1: %s", path, e.Error)
		}
		getJSON(t, p, path+"?remoteAddr="+addr+"&remoteAddr="+addr, 400, nil)
	}
}

// ruleSessions names each finding by its rule and session: "quit 2".
func ruleSessions(fs []findingJSON) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.Rule+" "+strconv.Itoa(f.Session))
	}
	return out
}
