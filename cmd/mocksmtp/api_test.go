package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var httpClient = &http.Client{Timeout: 30 * time.Second}

func newRequest(ctx context.Context, p *proc, method, path string, body io.Reader) (*http.Request, error) {
	return http.NewRequestWithContext(ctx, method, "http://"+p.http+path, body)
}

// do sends a request and returns the response with its body read.
func do(t *testing.T, p *proc, method, path, body string) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := newRequest(context.Background(), p, method, path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return res, b
}

// getJSON GETs path, checks the status and decodes the JSON body into v.
func getJSON(t *testing.T, p *proc, path string, wantStatus int, v any) http.Header {
	t.Helper()
	res, b := do(t, p, "GET", path, "")
	if res.StatusCode != wantStatus {
		t.Fatalf("GET %s: %d %s, want %d", path, res.StatusCode, b, wantStatus)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v in %s", path, err, b)
		}
	}
	return res.Header
}

const multipartMail = "From: Alice <alice@example.com>\r\n" +
	"To: Bob <bob@example.com>\r\n" +
	"Cc: carol@example.com\r\n" +
	"Subject: =?UTF-8?Q?Caf=C3=A9?= report\r\n" +
	"Message-ID: <m1@example.com>\r\n" +
	"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n" +
	"\r\n" +
	"--outer\r\n" +
	"Content-Type: multipart/alternative; boundary=\"inner\"\r\n" +
	"\r\n" +
	"--inner\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"\r\n" +
	"Hello Bob.\r\n" +
	"--inner\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"\r\n" +
	"<p>Hello <b>Bob</b>.</p>\r\n" +
	"--inner--\r\n" +
	"--outer\r\n" +
	"Content-Type: application/pdf\r\n" +
	"Content-Disposition: attachment; filename=\"report.pdf\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"JVBERi0xLjQK\r\n" +
	"--outer--\r\n"

func TestAPIMessagesSessionsAndReset(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	sendMail(t, p.smtp, "alice@example.com", []string{"bob@example.com", "carol@example.com"}, multipartMail)

	var waited []messageJSON
	getJSON(t, p, "/api/wait?count=1&timeout=5s", 200, &waited)
	var list []messageJSON
	h := getJSON(t, p, "/api/messages", 200, &list)
	if h.Get("X-Total-Count") != "1" || len(list) != 1 || len(waited) != 1 {
		t.Fatalf("got %d messages (X-Total-Count %q), waited for %d; want 1", len(list), h.Get("X-Total-Count"), len(waited))
	}
	var one messageJSON
	getJSON(t, p, "/api/messages/1", 200, &one)
	parts := one.Parts
	one.Parts = nil // only GET /api/messages/{id} has them
	for _, m := range []messageJSON{waited[0], list[0], one} {
		if diff := cmp.Diff(list[0], m); diff != "" {
			t.Errorf("the same message differs between routes (-list +other):\n%s", diff)
		}
	}

	m := one
	type view struct {
		ID, SessionID, Size         int
		From, Subject, Text, HTML   string
		To                          []string
		HeaderFrom, HeaderTo, Cc    []addressJSON
		MessageID, Date, RawURL     string
		Attachments                 []attachmentJSON
		HasSubjectHeader, ParseFine bool
	}
	got := view{
		ID: m.ID, SessionID: m.SessionID, Size: m.Size, From: m.From, Subject: m.Subject,
		Text: strings.TrimSpace(m.Text), HTML: strings.TrimSpace(m.HTML), To: m.To, HeaderFrom: m.HeaderFrom, HeaderTo: m.HeaderTo, Cc: m.Cc,
		MessageID: m.MessageID, Date: m.Date.UTC().Format(time.RFC3339), RawURL: m.RawURL,
		Attachments: m.Attachments, ParseFine: m.ParseError == "",
	}
	for _, h := range m.Headers {
		if h.Name == "Subject" && h.Value == "=?UTF-8?Q?Caf=C3=A9?= report" {
			got.HasSubjectHeader = true
		}
	}
	want := view{
		ID: 1, SessionID: 1, Size: len(multipartMail), From: "alice@example.com", Subject: "Café report",
		Text: "Hello Bob.", HTML: "<p>Hello <b>Bob</b>.</p>", To: []string{"bob@example.com", "carol@example.com"},
		HeaderFrom: []addressJSON{{"Alice", "alice@example.com"}}, HeaderTo: []addressJSON{{"Bob", "bob@example.com"}},
		Cc: []addressJSON{{"", "carol@example.com"}}, MessageID: "m1@example.com", Date: "2006-01-02T15:04:05Z",
		RawURL: "/api/messages/1/raw",
		Attachments: []attachmentJSON{{Index: 0, Filename: "report.pdf", ContentType: "application/pdf", Size: 9,
			URL: "/api/messages/1/attachments/0"}},
		HasSubjectHeader: true, ParseFine: true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("message 1 (-want +got):\n%s", diff)
	}

	// The MIME tree, each leaf linked to what it is.
	zero := 0
	body := len(multipartMail) - strings.Index(multipartMail, "\r\n\r\n") - 4
	// Sizes as sent, without the CRLF before a boundary (RFC 2046 5.1.1).
	wantParts := &partJSON{ContentType: "multipart/mixed", Size: body, Parts: []partJSON{
		{ContentType: "multipart/alternative", Size: 150, Parts: []partJSON{
			{ContentType: "text/plain", Charset: "utf-8", Size: len("Hello Bob."), Body: "text"},
			{ContentType: "text/html", Charset: "utf-8", Size: len("<p>Hello <b>Bob</b>.</p>"), Body: "html"},
		}},
		{ContentType: "application/pdf", Disposition: "attachment", Filename: "report.pdf", Encoding: "base64", Size: len("JVBERi0xLjQK"), Attachment: &zero},
	}}
	if diff := cmp.Diff(wantParts, parts); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
	var names []string
	for _, h := range one.Headers {
		names = append(names, h.Name)
	}
	if diff := cmp.Diff([]string{"From", "To", "Cc", "Subject", "Message-ID", "Date", "MIME-Version", "Content-Type"}, names); diff != "" {
		t.Errorf("header names, as sent (-want +got):\n%s", diff)
	}

	res, raw := do(t, p, "GET", "/api/messages/1/raw", "")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "message/rfc822" || string(raw) != multipartMail {
		t.Errorf("raw: %d %q, body equal to the sent message: %v", res.StatusCode, res.Header.Get("Content-Type"), string(raw) == multipartMail)
	}
	res, _ = do(t, p, "GET", "/api/messages/1/raw?download", "")
	if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename=message-1.eml` {
		t.Errorf("raw?download: Content-Disposition %q", cd)
	}
	res, att := do(t, p, "GET", "/api/messages/1/attachments/0", "")
	if res.StatusCode != 200 || string(att) != "%PDF-1.4\n" || res.Header.Get("Content-Type") != "application/pdf" ||
		res.Header.Get("Content-Disposition") != "attachment; filename=report.pdf" {
		t.Errorf("attachment: %d %q %q %q", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"), att)
	}

	var sessions []sessionJSON
	getJSON(t, p, "/api/sessions", 200, &sessions)
	if len(sessions) != 1 || sessions[0].ID != 1 || sessions[0].Transcript != nil || sessions[0].TranscriptLines == 0 {
		t.Fatalf("sessions = %+v, want session 1 without its transcript", sessions)
	}
	var s sessionJSON
	getJSON(t, p, "/api/sessions/1", 200, &s)
	var client []string
	for _, l := range s.Transcript {
		if l.Dir == "C" {
			client = append(client, l.Text)
		}
	}
	wantClient := []string{"EHLO localhost", "MAIL FROM:<alice@example.com> BODY=8BITMIME SMTPUTF8",
		"RCPT TO:<bob@example.com>", "RCPT TO:<carol@example.com>", "DATA", "QUIT"}
	if diff := cmp.Diff(wantClient, client); diff != "" {
		t.Errorf("client lines of the transcript (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{1}, s.MessageIDs); diff != "" || s.Live || s.Ended != "QUIT" || s.Helo != "localhost" || s.Error != "" {
		t.Errorf("session 1 = %+v", s)
	}

	// Reset, then the next message gets the next ID.
	res, b := do(t, p, "DELETE", "/api/messages", "")
	if res.StatusCode != 204 || len(b) != 0 {
		t.Fatalf("DELETE /api/messages: %d %s", res.StatusCode, b)
	}
	getJSON(t, p, "/api/messages", 200, &list)
	getJSON(t, p, "/api/sessions", 200, &sessions)
	if len(list) != 0 || len(sessions) != 0 {
		t.Fatalf("after reset: %d messages, %d sessions; want none", len(list), len(sessions))
	}
	getJSON(t, p, "/api/messages/1", 404, nil)
	sendMail(t, p.smtp, "a@example.com", []string{"b@example.com"}, "Subject: again\r\n\r\nx\r\n")
	getJSON(t, p, "/api/wait?count=1", 200, &list)
	if len(list) != 1 || list[0].ID != 2 || list[0].SessionID != 2 || list[0].Subject != "again" {
		t.Errorf("after reset: %+v, want message 2 of session 2", list)
	}
	getJSON(t, p, "/api/messages?since=2", 200, &list)
	if len(list) != 0 {
		t.Errorf("since=2: %d messages, want none", len(list))
	}
	sendMail(t, p.smtp, "a@example.com", []string{"b@example.com"}, "Subject: third\r\n\r\nx\r\n")
	getJSON(t, p, "/api/wait?count=2", 200, nil)
	h = getJSON(t, p, "/api/messages?since=1&limit=1", 200, &list)
	if len(list) != 1 || list[0].ID != 3 || h.Get("X-Total-Count") != "2" {
		t.Errorf("since=1&limit=1: %d messages (first %+v), X-Total-Count %q; want message 3 of 2", len(list), list, h.Get("X-Total-Count"))
	}
	h = getJSON(t, p, "/api/sessions?limit=1", 200, &sessions)
	if len(sessions) != 1 || sessions[0].ID != 3 || h.Get("X-Total-Count") != "2" {
		t.Errorf("sessions?limit=1: %+v, X-Total-Count %q; want session 3 of 2", sessions, h.Get("X-Total-Count"))
	}
}

func TestAPIErrors(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	sendMail(t, p.smtp, "a@example.com", []string{"b@example.com"}, "Subject: x\r\n\r\nno attachments\r\n")
	getJSON(t, p, "/api/wait?count=1", 200, nil)

	tests := []struct {
		name, method, path string
		host               string // Host header; "" for the real one
		status             int
		want               string // in the error
		allow              string // the Allow header of a 405
	}{
		{"unknown message", "GET", "/api/messages/99", "", 404, "no message 99", ""},
		{"message id not a number", "GET", "/api/messages/abc", "", 400, `id "abc"`, ""},
		{"unknown message, raw", "GET", "/api/messages/99/raw", "", 404, "no message 99", ""},
		{"unknown attachment", "GET", "/api/messages/1/attachments/0", "", 404, "no attachment 0", ""},
		{"attachment index not a number", "GET", "/api/messages/1/attachments/x", "", 400, `n "x"`, ""},
		{"unknown session", "GET", "/api/sessions/99", "", 404, "no session 99", ""},
		{"bad since", "GET", "/api/messages?since=yesterday", "", 400, "since", ""},
		{"since given twice", "GET", "/api/messages?since=0&since=1", "", 400, "since given 2 times: give it once", ""},
		{"limit given twice", "GET", "/api/sessions?limit=1&limit=5", "", 400, "limit given 2 times: give it once", ""},
		{"wait count given twice", "GET", "/api/wait?count=0&count=5", "", 400, "count given 2 times: give it once", ""},
		{"wait timeout given three times", "GET", "/api/wait?timeout=1s&timeout=2s&timeout=3s", "", 400, "timeout given 3 times: give it once", ""},
		{"session wait count given twice", "GET", "/api/wait/sessions?count=1&count=1", "", 400, "count given 2 times: give it once", ""},
		{"normalized timeout given twice", "GET", "/api/sessions/1/normalized?timeout=1s&timeout=1s", "", 400, "timeout given 2 times: give it once", ""},
		{"bad limit", "GET", "/api/sessions?limit=-1", "", 400, "limit", ""},
		{"bad wait count", "GET", "/api/wait?count=many", "", 400, "count", ""},
		{"bad wait timeout", "GET", "/api/wait?timeout=forever", "", 400, "timeout", ""},
		{"wait timeout too long", "GET", "/api/wait?timeout=1h", "", 400, "at most", ""},
		{"wait times out", "GET", "/api/wait?count=2&timeout=50ms", "", 408, "for 2 messages, got 1", ""},
		{"bad session wait count", "GET", "/api/wait/sessions?count=-1", "", 400, `count="-1": want a number of sessions`, ""},
		{"bad session wait timeout", "GET", "/api/wait/sessions?timeout=5", "", 400, `timeout="5"`, ""},
		{"session wait timeout too long", "GET", "/api/wait/sessions?timeout=11m", "", 400, "at most 10m0s", ""},
		{"session wait with a filter", "GET", "/api/wait/sessions?to=b@example.com", "", 400, `unknown query parameter "to"; the parameters are: count, timeout, inbox, remoteAddr`, ""},
		{"session wait in an unknown inbox", "GET", "/api/wait/sessions?inbox=x.inbox.test", "", 404, `inbox="x.inbox.test": no such inbox`, ""},
		{"wrong method on the session wait", "DELETE", "/api/wait/sessions", "", 405, "method not allowed", "GET, OPTIONS"},
		{"wrong method", "POST", "/api/messages", "", 405, "method not allowed", "GET, DELETE, OPTIONS"},
		{"wrong method on a message", "PUT", "/api/messages/1", "", 405, "method not allowed", "GET, DELETE, OPTIONS"},
		{"unknown route", "GET", "/api/nothing", "", 404, "no such API route", ""},
		{"foreign Host (DNS rebinding)", "GET", "/api/messages", "evil.example:8025", 403, "-allow-remote", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := newRequest(context.Background(), p, tt.method, tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.host != "" {
				req.Host = tt.host
			}
			res, err := httpClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body struct {
				Error    string
				Messages []messageJSON
			}
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
				t.Fatalf("the body is not JSON: %v", err)
			}
			if res.StatusCode != tt.status || !strings.Contains(body.Error, tt.want) || res.Header.Get("Allow") != tt.allow {
				t.Errorf("%s %s: %d %q (Allow %q), want %d with %q (Allow %q)",
					tt.method, tt.path, res.StatusCode, body.Error, res.Header.Get("Allow"), tt.status, tt.want, tt.allow)
			}
			if tt.status == 408 && len(body.Messages) != 1 {
				t.Errorf("a wait that timed out lists %d messages, want the 1 that arrived", len(body.Messages))
			}
		})
	}
}

// TestAPIIDsHaveOneSpelling: a message, a session and an attachment each
// have one URL, with the number as the API writes it. Another spelling of
// it is a 400 that says so (+1, 01 and %2B1 were message 1, -0 was
// message 0, which a DELETE forgot as it forgot message 1).
func TestAPIIDsHaveOneSpelling(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	sendMail(t, p.smtp, "alice@example.com", []string{"bob@example.com"}, multipartMail)
	getJSON(t, p, "/api/wait/sessions?count=1", 200, nil)
	paths := []struct{ canonical, other, name string }{
		{"/api/messages/1", "/api/messages/+1", "id"},
		{"/api/messages/1", "/api/messages/%2B1", "id"},
		{"/api/messages/1", "/api/messages/01", "id"},
		{"/api/messages/0", "/api/messages/-0", "id"},
		{"/api/messages/0", "/api/messages/00", "id"},
		{"/api/messages/1/raw", "/api/messages/+1/raw", "id"},
		{"/api/messages/1/links", "/api/messages/001/links", "id"},
		{"/api/messages/1/find?re=Bob", "/api/messages/+1/find?re=Bob", "id"},
		{"/api/messages/1/normalized", "/api/messages/01/normalized", "id"},
		{"/api/messages/1/attachments/0", "/api/messages/1/attachments/+0", "n"},
		{"/api/messages/1/attachments/0", "/api/messages/1/attachments/00", "n"},
		{"/api/messages/1/attachments/0", "/api/messages/1/attachments/-0", "n"},
		{"/api/messages/1/attachments/0", "/api/messages/01/attachments/0", "id"},
		{"/api/sessions/1", "/api/sessions/+1", "id"},
		{"/api/sessions/1", "/api/sessions/01", "id"},
		{"/api/sessions/1/normalized", "/api/sessions/+1/normalized", "id"},
		{"/api/messages/1", "/api/messages/%201", "id"},
		{"/api/messages/1", "/api/messages/1.0", "id"},
		{"/api/messages/1", "/api/messages/0x1", "id"},
	}
	for _, tt := range paths {
		res, b := do(t, p, "GET", tt.other, "")
		if res.StatusCode != 400 || !strings.Contains(string(b), `\"`) || !strings.Contains(string(b), tt.name+` \"`) || !strings.Contains(string(b), "want a number") {
			t.Errorf("GET %s: %d %s, want 400: %s, want a number", tt.other, res.StatusCode, b, tt.name)
		}
		if res, b := do(t, p, "GET", tt.canonical, ""); res.StatusCode != 200 && !(tt.canonical == "/api/messages/0" && res.StatusCode == 404) {
			t.Errorf("GET %s: %d %s, want it served", tt.canonical, res.StatusCode, b)
		}
	}
	for _, path := range []string{"/api/messages/+1", "/api/messages/01", "/api/messages/-0"} {
		if res, b := do(t, p, "DELETE", path, ""); res.StatusCode != 400 {
			t.Errorf("DELETE %s: %d %s, want 400", path, res.StatusCode, b)
		}
	}
	getJSON(t, p, "/api/messages/1", 200, nil) // not forgotten
}

func TestAPIWaitReturnsWhenTheMessagesArrive(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-log-level", "debug")
	type result struct {
		status int
		n      int
	}
	done := make(chan result, 1)
	go func() {
		req, _ := newRequest(context.Background(), p, "GET", "/api/wait?count=2&timeout=20s", nil)
		res, err := httpClient.Do(req)
		if err != nil {
			done <- result{}
			return
		}
		defer res.Body.Close()
		var ms []messageJSON
		_ = json.NewDecoder(res.Body).Decode(&ms)
		done <- result{res.StatusCode, len(ms)}
	}()
	p.stderr.waitFor(t, waitLogged)
	for i := range 2 {
		sendMail(t, p.smtp, "a@example.com", []string{"b@example.com"}, fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i))
	}
	if r := <-done; r.status != 200 || r.n != 2 {
		t.Errorf("wait for 2 = %d with %d messages, want 200 with 2", r.status, r.n)
	}
}

var waitLogged = regexp.MustCompile(`msg=http method=GET path=/api/wait`)

func TestRetainKeepsTheLastMessages(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-retain", "2")
	for i := 1; i <= 3; i++ {
		sendMail(t, p.smtp, "a@example.com", []string{"b@example.com"}, fmt.Sprintf("Subject: m%d\r\n\r\nx\r\n", i))
	}
	var list []messageJSON
	getJSON(t, p, "/api/messages", 200, &list)
	var ids []int
	for _, m := range list {
		ids = append(ids, m.ID)
	}
	if diff := cmp.Diff([]int{2, 3}, ids); diff != "" {
		t.Errorf("message IDs kept with -retain 2 (-want +got):\n%s", diff)
	}
}

func TestRetainForgetsTheStartOfALongSession(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-retain", "2", "-quiet")
	c, err := smtp.Dial(p.smtp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 1; i <= 5; i++ {
		sendOver(t, c, "a@example.com", "b@example.com", fmt.Sprintf("Subject: m%d\r\n\r\nx\r\n", i))
	}
	var s sessionJSON
	getJSON(t, p, "/api/sessions/1", 200, &s)
	if s.Forgotten == 0 || s.TranscriptLines != s.Forgotten+len(s.Transcript) {
		t.Errorf("forgotten %d, transcriptLines %d, %d lines listed: want some forgotten, and the lines to add up", s.Forgotten, s.TranscriptLines, len(s.Transcript))
	}
	for _, l := range s.Transcript {
		if strings.HasPrefix(l.Text, "message 3 accepted") {
			t.Errorf("the transcript still has message 3, which -retain 2 forgot: %+v", s.Transcript)
		}
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentClients(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet")
	const senders, each = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, senders*each+senders)
	for i := range senders {
		wg.Go(func() {
			for j := range each {
				msg := fmt.Sprintf("Subject: %d-%d\r\n\r\nbody\r\n", i, j)
				errs <- smtp.SendMail(p.smtp, nil, "a@example.com", []string{"b@example.com"}, []byte(msg))
			}
		})
		wg.Go(func() { // readers polling meanwhile
			for range each {
				res, err := httpClient.Get("http://" + p.http + "/api/messages")
				if err != nil {
					errs <- err
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					errs <- fmt.Errorf("GET /api/messages: %d", res.StatusCode)
				}
			}
		})
	}
	var waited []messageJSON
	getJSON(t, p, fmt.Sprintf("/api/wait?count=%d&timeout=20s", senders*each), 200, &waited)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	seen := make(map[string]bool)
	for i, m := range waited {
		if m.ID != i+1 || seen[m.Subject] {
			t.Errorf("message %d: ID %d, subject %q (seen before: %v)", i, m.ID, m.Subject, seen[m.Subject])
		}
		seen[m.Subject] = true
	}
	if len(seen) != senders*each {
		t.Errorf("%d distinct messages, want %d", len(seen), senders*each)
	}
}

func TestWebPageIsServedWithItsPolicy(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	for _, tt := range []struct{ path, ctype, contains string }{
		{"/", "text/html; charset=utf-8", `<script src="app.js" defer></script>`},
		{"/app.js", "text/javascript; charset=utf-8", `sandbox: ""`},
		{"/style.css", "text/css; charset=utf-8", "iframe.html"},
	} {
		res, b := do(t, p, "GET", tt.path, "")
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != tt.ctype || !strings.Contains(string(b), tt.contains) {
			t.Errorf("GET %s: %d %q, contains %q: %v", tt.path, res.StatusCode, res.Header.Get("Content-Type"), tt.contains, strings.Contains(string(b), tt.contains))
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q", tt.path, csp)
		}
	}
	res, _ := do(t, p, "POST", "/", "")
	if res.StatusCode != 405 {
		t.Errorf("POST /: %d, want 405", res.StatusCode)
	}
}

func TestHTTPCanBeTurnedOff(t *testing.T) {
	t.Parallel()
	p := startNoWait(t, nil, "-listen", "127.0.0.1:0", "-http", "")
	m := p.stderr.waitFor(t, listeningRE)
	if m[2] != "" {
		t.Errorf("-http \"\" still listens on %s", m[2])
	}
}

func TestAPIFindings(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	// No Date and no Message-ID: two findings on the message.
	sendMail(t, p.smtp, "alice@example.com", []string{"bob@example.com"}, "From: alice@example.com\r\nTo: bob@example.com\r\nSubject: hi\r\n\r\nhi\r\n")
	getJSON(t, p, "/api/wait?count=1&timeout=5s", 200, nil)

	var all []findingJSON
	getJSON(t, p, "/api/findings", 200, &all)
	var m messageJSON
	getJSON(t, p, "/api/messages/1", 200, &m)
	var s sessionJSON
	getJSON(t, p, "/api/sessions/1", 200, &s)
	rules := func(fs []findingJSON) (out []string) {
		for _, f := range fs {
			out = append(out, f.Rule+" "+f.Ref+" "+f.Severity)
		}
		return out
	}
	want := []string{"required-headers RFC 5322 3.6 error", "message-id RFC 5322 3.6.4 warning"}
	for name, got := range map[string][]findingJSON{"/api/findings": all, "message": m.Findings, "session": s.Findings} {
		if diff := cmp.Diff(want, rules(got)); diff != "" {
			t.Errorf("%s findings (-want +got):\n%s", name, diff)
		}
	}
	if len(all) > 0 && (all[0].Message != 1 || all[0].Session != 1 || all[0].Line == 0 || all[0].Text == "") {
		t.Errorf("finding not placed: %+v", all[0])
	}
}

func TestAPIResetForgetsFindings(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	// No Date and no Message-ID: two findings on the message.
	sendMail(t, p.smtp, "alice@example.com", []string{"bob@example.com"}, "From: alice@example.com\r\nTo: bob@example.com\r\nSubject: hi\r\n\r\nhi\r\n")
	getJSON(t, p, "/api/wait?count=1&timeout=5s", 200, nil)
	var before, after []findingJSON
	getJSON(t, p, "/api/findings", 200, &before)
	if len(before) == 0 {
		t.Fatal("no findings before the reset")
	}
	if resp, _ := do(t, p, "DELETE", "/api/messages", ""); resp.StatusCode != 204 {
		t.Fatalf("DELETE /api/messages: status %d", resp.StatusCode)
	}
	getJSON(t, p, "/api/findings", 200, &after)
	if len(after) != 0 {
		t.Errorf("/api/findings after DELETE /api/messages = %+v, want none", after)
	}
}

// longSession holds a session of n NOOPs after EHLO, and quits.
func longSession(t *testing.T, addr string, n int) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range n {
		if err := c.Noop(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

// httpToSMTP sends an HTTP request to the SMTP port, as a web page's form
// would, and reads until the server closes the connection.
func httpToSMTP(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "POST /form HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\n\r\nQUIT"); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c) // until the server closes
	return string(b)
}

// -max-transcript-lines caps a long session's transcript: the session
// JSON has its first lines (transcriptHead) and its last ones, numbered
// as the session's lines are.
func TestTranscriptCap(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-max-transcript-lines", "20")
	longSession(t, p.smtp, 30) // 2 + 60 + 2 lines, and EHLO's reply
	p.stdout.waitFor(t, regexp.MustCompile(`lines 3 to \d+ forgotten`))
	var s sessionJSON
	getJSON(t, p, "/api/sessions/1", 200, &s)
	if len(s.TranscriptHead) != 2 || !strings.HasPrefix(s.TranscriptHead[0].Text, "220 ") || !strings.HasPrefix(s.TranscriptHead[1].Text, "EHLO ") {
		t.Errorf("transcriptHead = %+v, want the greeting and EHLO", s.TranscriptHead)
	}
	last := s.Transcript[len(s.Transcript)-1]
	if s.TranscriptLines < 64 || s.Forgotten+len(s.Transcript) != s.TranscriptLines || len(s.TranscriptHead)+len(s.Transcript) > 20 || !strings.HasPrefix(last.Text, "221 ") {
		t.Errorf("transcriptLines %d, forgotten %d, %d lines listed ending with %q: want 64 lines or more, at most 20 kept, the last the reply to QUIT",
			s.TranscriptLines, s.Forgotten, len(s.Transcript), last.Text)
	}
	var list []sessionJSON
	getJSON(t, p, "/api/sessions", 200, &list)
	if len(list) != 1 || list[0].TranscriptHead != nil || list[0].Transcript != nil {
		t.Errorf("GET /api/sessions lists %+v, want one session without its lines", list)
	}

	// -max-transcript-lines 9 is a usage error: TestBadUsageExits2.
}

// The normalized transcript of a session longer than -max-transcript-lines
// has its first lines, then a note naming the lines forgotten, then its
// last lines: a snapshot of a long session covers its start, and shows
// what it does not cover.
func TestNormalizedTranscriptOfACappedSession(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-max-transcript-lines", "20")
	longSession(t, p.smtp, 30)
	got := getNormalized(t, p.http, "/api/sessions/1/normalized") // once the session has ended
	var s sessionJSON
	getJSON(t, p, "/api/sessions/1", 200, &s)
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	marker := fmt.Sprintf("*: … lines 3 to %d forgotten …", s.Forgotten)
	if s.Forgotten < 3 || len(lines) != 2+1+len(s.Transcript) || !strings.HasPrefix(lines[0], "S: 220 ") ||
		lines[1] != "C: EHLO <client>" || lines[2] != marker || lines[len(lines)-1] != "S: 221 2.0.0 Bye" {
		t.Errorf("forgotten %d, %d lines kept after the head; GET /api/sessions/1/normalized:\n%s\nwant the greeting, EHLO, %q, the lines kept",
			s.Forgotten, len(s.Transcript), got, marker)
	}
}

// HTTP sent to the SMTP port is closed at once, and shows as any finding
// does: in the session, in /api/findings, with its rule and RFC section.
func TestNonSMTPFinding(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	if got := httpToSMTP(t, p.smtp); !strings.Contains(got, "\r\n421 4.7.0 ") {
		t.Errorf("HTTP to the SMTP port got %q, want 421 4.7.0 and a close", got)
	}
	want := []findingJSON{{Rule: "non-smtp", Ref: "RFC 5321 4.1", Severity: "error", Session: 1, Line: 2,
		Text: `"POST" is not an SMTP command but HTTP: a cross-protocol request, such as a web page's`}}
	p.stdout.waitFor(t, regexp.MustCompile(`session 1 .* ended: server closed\n`)) // printed once it ended
	var s sessionJSON
	getJSON(t, p, "/api/sessions/1", 200, &s)
	var all []findingJSON
	getJSON(t, p, "/api/findings", 200, &all)
	for name, got := range map[string][]findingJSON{"/api/findings": all, "session": s.Findings} {
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	if len(s.Transcript) != 4 || s.Transcript[1].Text != "POST /form HTTP/1.1" || s.Ended != "server closed" {
		t.Errorf("session: ended %q, transcript %+v", s.Ended, s.Transcript)
	}
}

// X-Total-Count is how many messages (sessions) the server kept when the
// list was taken: without deletes, the last one's ID, IDs being 1, 2, 3...
// It was read under a lock of its own before the list, so a message that
// arrived between the two was listed but not counted: message 5 listed
// as the last of "X-Total-Count: 4". Clients send and connect while the
// last message and session are read, until one disagrees or 2,000 of
// each agreed.
func TestTotalCountIsTheListsWhileMailArrives(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stop)
	wg.Go(func() {
		c, err := smtp.Dial(p.smtp)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := sendOn(c, "a@example.com", "b@example.com", "Subject: x\r\n\r\nx\r\n"); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			c, err := smtp.Dial(p.smtp)
			if err != nil {
				t.Error(err)
				return
			}
			_ = c.Quit()
		}
	})
	for i := range 2000 {
		for _, path := range []string{"/api/messages?limit=1", "/api/sessions?limit=1"} {
			var list []struct {
				ID int `json:"id"`
			}
			h := getJSON(t, p, path, 200, &list)
			if total := h.Get("X-Total-Count"); len(list) == 1 && total != strconv.Itoa(list[0].ID) {
				t.Fatalf("GET %s (read %d): the last is %d, X-Total-Count %s", path, i+1, list[0].ID, total)
			}
		}
	}
}
