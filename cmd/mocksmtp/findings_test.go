package main

import (
	"encoding/json"
	"log/slog"
	"net/smtp"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
)

// checkFindingsAPI GETs /api/findings/check (with query q) and returns
// its status and error text.
func checkFindingsAPI(t *testing.T, p *proc, q string) (int, string) {
	t.Helper()
	res, b := do(t, p, "GET", "/api/findings/check"+q, "")
	var e struct {
		errorJSON
		checkJSON
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("GET /api/findings/check%s: %v in %s", q, err, b)
	}
	if res.StatusCode == 200 && (!e.Met || e.Error != "") || res.StatusCode == 417 && (e.Met || e.Error == "") {
		t.Errorf("GET /api/findings/check%s: %d %s", q, res.StatusCode, b)
	}
	return res.StatusCode, e.Error
}

// conforming is a message that breaks no rule.
const conforming = "Date: Mon, 2 Jan 2006 15:04:05 +0000\r\nFrom: alice@example.com\r\nTo: bob@example.com\r\n" +
	"Message-ID: <1@example.com>\r\nSubject: hi\r\n\r\nhi\r\n"

func TestFindingsCheckOverHTTP(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet")
	if code, e := checkFindingsAPI(t, p, ""); code != 200 {
		t.Errorf("check before any session: %d %s, want 200", code, e)
	}
	sendMail(t, p.smtp, "alice@example.com", []string{"bob@example.com"}, conforming)
	getJSON(t, p, "/api/wait/sessions?count=1&timeout=10s", 200, nil)
	if code, e := checkFindingsAPI(t, p, ""); code != 200 {
		t.Errorf("check after a conforming session: %d %s, want 200", code, e)
	}

	// No Date (an error) and no Message-ID (a warning): WithStrict fails
	// on both.
	sendMail(t, p.smtp, "alice@example.com", []string{"bob@example.com"}, noDate)
	getJSON(t, p, "/api/wait/sessions?count=2&timeout=10s", 200, nil)
	code, report := checkFindingsAPI(t, p, "")
	if code != 417 {
		t.Fatalf("check after a message without Date: %d, want 417", code)
	}
	for _, want := range []string{"2 conformance findings\n", "\nerror required-headers (RFC 5322 3.6), 1×\n  session 2, message 2: no Date header field\n",
		"\nwarning message-id (RFC 5322 3.6.4), 1×\n"} {
		if !strings.Contains(report, want) {
			t.Errorf("the 417's report lacks %q:\n%s", want, report)
		}
	}
	if !regexp.MustCompile(`\n   > +\d+ \*: <message data: 68 octets>\n`).MatchString(report) {
		t.Errorf("the 417's report does not point at the message's transcript line:\n%s", report)
	}

	// An unknown inbox is a 404, as for the messages.
	res, b := do(t, p, "GET", "/api/findings/check?inbox=x.inbox.test", "")
	if res.StatusCode != 404 || !strings.Contains(string(b), `inbox=\"x.inbox.test\": no such inbox`) {
		t.Errorf("GET /api/findings/check?inbox=...: %d %s, want 404", res.StatusCode, b)
	}
	if res, _ := do(t, p, "POST", "/api/findings/check", ""); res.StatusCode != 405 {
		t.Errorf("POST /api/findings/check: %d, want 405", res.StatusCode)
	}

	// A reset forgets the findings.
	if res, b := do(t, p, "DELETE", "/api/messages", ""); res.StatusCode != 204 {
		t.Fatalf("DELETE /api/messages: %d %s", res.StatusCode, b)
	}
	if code, e := checkFindingsAPI(t, p, ""); code != 200 {
		t.Errorf("check after a reset: %d %s, want 200", code, e)
	}
}

// TestFindingsOfAnInboxOverHTTP: two tests run in parallel on one
// program, each with its inbox; one's client leaves without QUIT, the
// other's conforms. GET /api/findings?inbox=D and its check see the
// findings of the sessions that named the inbox in a RCPT TO, each test
// its own; a reset of the inbox forgets them, not the server's.
func TestFindingsOfAnInboxOverHTTP(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet")
	var rude, polite inboxJSON
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "rude"}`, 201, &rude)
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "polite"}`, 201, &polite)
	t.Run("clients", func(t *testing.T) {
		t.Run("no QUIT", func(t *testing.T) {
			t.Parallel()
			conn, expect := dialExpect(t, p.smtp)
			expect("", 220)
			expect("EHLO client.example", 250)
			expect("MAIL FROM:<alice@example.com>", 250)
			expect("RCPT TO:<"+rude.Address+">", 250)
			expect("DATA", 354)
			expect(conforming+".", 250)
			conn.Close()
		})
		t.Run("conforming", func(t *testing.T) {
			t.Parallel()
			sendMail(t, p.smtp, "alice@example.com", []string{polite.Address}, conforming)
		})
	})
	getJSON(t, p, "/api/wait/sessions?count=2&timeout=10s", 200, nil)

	var fs []findingJSON
	getJSON(t, p, "/api/findings?inbox="+rude.Domain, 200, &fs)
	if len(fs) != 1 || fs[0].Rule != "quit" {
		t.Errorf("GET /api/findings?inbox=%s: %+v, want its one quit finding", rude.Domain, fs)
	}
	getJSON(t, p, "/api/findings?inbox="+polite.Domain, 200, &fs)
	if len(fs) != 0 {
		t.Errorf("GET /api/findings?inbox=%s: %+v, want none", polite.Domain, fs)
	}
	if code, e := checkFindingsAPI(t, p, "?inbox="+polite.Domain); code != 200 {
		t.Errorf("the conforming test's check: %d %s, want 200", code, e)
	}
	code, report := checkFindingsAPI(t, p, "?inbox="+rude.Domain)
	if code != 417 || !strings.Contains(report, "1 conformance finding\n") || !strings.Contains(report, "warning quit (RFC 5321 4.1.1.10)") {
		t.Errorf("the rude test's check: %d %s, want 417 with its quit finding", code, report)
	}
	if code, _ := checkFindingsAPI(t, p, ""); code != 417 {
		t.Errorf("the server's check: %d, want 417", code)
	}
	res, b := do(t, p, "GET", "/api/findings?inbox=nowhere.inbox.test", "")
	if res.StatusCode != 404 || !strings.Contains(string(b), `inbox=\"nowhere.inbox.test\": no such inbox`) {
		t.Errorf("GET /api/findings?inbox=nowhere.inbox.test: %d %s, want 404", res.StatusCode, b)
	}

	if res, b := do(t, p, "DELETE", "/api/messages?inbox="+rude.Domain, ""); res.StatusCode != 204 {
		t.Fatalf("DELETE /api/messages?inbox=%s: %d %s", rude.Domain, res.StatusCode, b)
	}
	if code, e := checkFindingsAPI(t, p, "?inbox="+rude.Domain); code != 200 {
		t.Errorf("the rude test's check after its inbox's reset: %d %s, want 200", code, e)
	}
	if code, _ := checkFindingsAPI(t, p, ""); code != 417 {
		t.Errorf("the server's check after an inbox's reset: %d, want 417", code)
	}
}

// GET /api/rules tells a suite every rule, as the Go API's Rules() and
// Rule.Ref, and which the program checks: a rule of -without-rules is
// off, and a message that breaks it gets no finding of it.
func TestRulesListsEveryRuleAndWhetherItIsOn(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet", "-without-rules", "message-id,quit")
	var want []ruleJSON
	for _, r := range mocksmtp.Rules() {
		want = append(want, ruleJSON{Rule: string(r), Ref: r.Ref(), Enabled: r != mocksmtp.RuleMessageID && r != mocksmtp.RuleQuit})
	}
	var got []ruleJSON
	getJSON(t, p, "/api/rules", 200, &got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET /api/rules with -without-rules message-id,quit (-want +got):\n%s", diff)
	}
	if got[0] != (ruleJSON{Rule: "bare-line-ending", Ref: "RFC 5321 2.3.8", Enabled: true}) {
		t.Errorf("the first rule: %+v, want bare-line-ending, RFC 5321 2.3.8, on", got[0])
	}

	// What the listing says is what the server does: a message without
	// Date and Message-ID, sent without QUIT, breaks required-headers
	// only, the rules off record nothing. Each finding's rule and ref are
	// those of the listing.
	c, err := smtp.Dial(p.smtp)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("bob@example.com"); err != nil {
		t.Fatal(err)
	}
	wc, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wc.Write([]byte(noDate)); err != nil {
		t.Fatal(err)
	}
	if err := wc.Close(); err != nil {
		t.Fatal(err)
	}
	_ = c.Close() // no QUIT
	getJSON(t, p, "/api/wait/sessions?count=1&timeout=10s", 200, nil)
	var fs []findingJSON
	getJSON(t, p, "/api/findings", 200, &fs)
	if diff := cmp.Diff([]string{"required-headers"}, ruleNamesOf(fs)); diff != "" {
		t.Fatalf("findings (-want +got):\n%s", diff)
	}
	listed := slices.IndexFunc(got, func(r ruleJSON) bool { return r.Rule == fs[0].Rule })
	if listed < 0 || got[listed].Ref != fs[0].Ref || !got[listed].Enabled {
		t.Errorf("finding %+v: its rule is not listed on: %+v", fs[0], got)
	}

	// Without the flag, every rule is on; the listing takes no parameter.
	var all []ruleJSON
	getJSON(t, start(t, nil, "-quiet"), "/api/rules", 200, &all)
	if i := slices.IndexFunc(all, func(r ruleJSON) bool { return !r.Enabled }); len(all) != len(want) || i >= 0 {
		t.Errorf("GET /api/rules without -without-rules: %+v, want %d rules, every one on", all, len(want))
	}
	res, b := do(t, p, "GET", "/api/rules?enabled=true", "")
	if res.StatusCode != 400 || !strings.Contains(string(b), `the parameters are: none`) {
		t.Errorf("GET /api/rules?enabled=true: %d %s, want 400", res.StatusCode, b)
	}
	if res, _ := do(t, p, "DELETE", "/api/rules", ""); res.StatusCode != 405 {
		t.Errorf("DELETE /api/rules: %d, want 405", res.StatusCode)
	}
}

// strictT is a fake test for Start: it records what fails it.
type strictT struct{ reportT }

func (t *strictT) Failed() bool { return len(t.errors) > 0 }

// The 417 of the check is the report the Go API's WithStrict fails a
// test with, for the same sessions.
func TestFindingsCheckHasTheReportOfWithStrict(t *testing.T) {
	t.Parallel()
	ft := &strictT{}
	srv := mocksmtp.Start(ft, mocksmtp.WithStrict(), mocksmtp.WithoutTranscriptLog())
	if ft.report != "" {
		t.Fatal(ft.report)
	}
	a := newAPI(srv, slog.New(slog.DiscardHandler), false)
	sendMail(t, srv.Addr(), "alice@example.com", []string{"bob@example.com"}, conforming)
	sendMail(t, srv.Addr(), "alice@example.com", []string{"bob@example.com"}, noDate)
	if _, err := srv.WaitForSessionsContext(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	code, b := serveRequest(t, a, "GET", "/api/findings/check", "")
	var e errorJSON
	if err := json.Unmarshal(b, &e); err != nil || code != 417 {
		t.Fatalf("check: %d %s, want 417", code, b)
	}
	ft.finish()
	if len(ft.errors) != 1 {
		t.Fatalf("WithStrict reported %d failures, want 1: %q", len(ft.errors), ft.errors)
	}
	_, goReport, _ := strings.Cut(ft.errors[0], "(WithStrict): ")
	if diff := cmp.Diff(goReport, e.Error); diff != "" || !strings.Contains(e.Error, "session 2, message 2: no Date header field") {
		t.Errorf("the report (-Go +program):\n%s", diff)
	}
}

func TestEditDistance(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "quit", 4},
		{"quit", "", 4},
		{"quit", "quit", 0},
		{"qiut", "quit", 1}, // two letters swapped: one edit
		{"uqit", "quit", 1},
		{"quti", "quit", 1},
		{"mesage-id", "message-id", 1},
		{"message_id", "message-id", 1},
		{"kitten", "sitting", 3},
		{"ca", "abc", 3}, // each letter is edited once at most
		{"abcd", "badc", 2},
	} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := editDistance(tt.b, tt.a); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.b, tt.a, got, tt.want)
		}
	}
}
