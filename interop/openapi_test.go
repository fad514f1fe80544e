package interop

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
)

// TestProgramAnswersAsItsOpenAPIDocumentSays drives every operation of the
// mocksmtp program's OpenAPI document (served at /api/openapi.json),
// its successes and its errors, and validates each request and response
// against the document with kin-openapi. (cmd/mocksmtp checks that the
// document lists exactly the routes and parameters the program has.)
func TestProgramAnswersAsItsOpenAPIDocumentSays(t *testing.T) {
	t.Parallel()
	registerPEM.Do(func() { openapi3filter.RegisterBodyDecoder("application/x-pem-file", openapi3filter.PlainBodyDecoder) })
	// Sessions with a transcriptHead (14 lines: a live session's greeting, EHLO and
	// Postfix's 12 lines of reply, all kept); GET /api/server with its tls, auth and persona;
	// GET /api/rules with a rule off.
	p := startProgram(t, "-tls", "-auth", "user:secret", "-max-transcript-lines", "14", "-persona", "postfix",
		"-without-rules", "message-id")
	res, raw := p.call(t, "GET", "/api/openapi.json", "")
	if res.StatusCode != 200 {
		t.Fatalf("GET /api/openapi.json: %d", res.StatusCode)
	}
	v := newDocCheck(t, raw)
	check := func(method, path, body string, want int) []byte {
		t.Helper()
		return v.check(t, p, method, path, body, nil, want)
	}
	// Mail to look at: a multipart one with an attachment and a link,
	// whose findings (no Date; no Message-ID, a rule -without-rules switched
	// off, none) fill the lists.
	mail := "From: App <app@example.com>\r\nTo: bob@example.com\r\nSubject: Sign in\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=o\r\n\r\n" +
		"--o\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n" +
		"--i\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nYour code: 123456\r\n" +
		"--i\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<a href=\"https://app.example/x\">in</a>\r\n--i--\r\n" +
		"--o\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n\r\n%PDF\r\n--o--\r\n"
	// The second has an ARC set, whose key the program was not given:
	// its arc has sets, each seal and signature a temperror.
	arcSet := "ARC-Seal: i=1; a=rsa-sha256; cv=none; d=example.net; s=s; b=AAAA\r\n" +
		"ARC-Message-Signature: i=1; a=rsa-sha256; d=example.net; s=s; h=from; bh=AAAA; b=AAAA\r\n" +
		"ARC-Authentication-Results: i=1; mx.example.net; spf=pass\r\n"
	for _, m := range []string{mail, arcSet + mail} {
		// In plaintext: smtp.SendMail would start TLS, as -tls offers it
		// (for GET /api/ca.pem), without trusting the test CA.
		c, err := smtp.Dial(p.smtp)
		if err != nil {
			t.Fatal(err)
		}
		sendPlain(t, c, "bob@example.com", m)
	}

	check("GET", "/api/wait?count=2&timeout=5s", "", 200)
	v.probe(t, p)
	check("GET", "/api/wait?to=bob@example.com&subjectContains=Sign&header[X-None]=x&timeout=10ms", "", 408)
	check("GET", "/api/wait?to=bob@example.com&subjectMatches=^Sign", "", 200)
	// The JSON form of a filter (the Want schema), as the parameter want:
	// an attachment as an object; message 2.
	pdf := `{"attachment": [{"filename": "a.pdf", "contentType": "application/pdf", "data": "JVBERg=="}]}`
	check("GET", "/api/wait?want="+url.QueryEscape(pdf), "", 200)
	check("GET", "/api/wait?want="+url.QueryEscape(`{"dkim": [{"status": "passed"}]}`), "", 400)
	check("GET", "/api/wait?cuont=1", "", 400)
	check("GET", "/api/wait/sessions?count=2&timeout=5s", "", 200)
	check("GET", "/api/wait/sessions?count=9&timeout=10ms", "", 408)
	check("GET", "/api/wait/sessions?count=x", "", 400)
	check("GET", "/api/messages", "", 200)
	check("GET", "/api/messages?to=bob@example.com&attachment=a.pdf&since=0&limit=5", "", 200)
	check("GET", "/api/messages?attachment=a.pdf&attachmentContentType=application/pdf&dkim=example.com&dkimSelector=s&dkimStatus=fail&dkimReason=body+hash", "", 200)
	check("GET", "/api/messages?want="+url.QueryEscape(`{"attachment": ["a.pdf", {"contentType": "application/pdf"}], "dkim": ["example.com", {"selector": "s", "status": "temperror", "reason": "no key"}]}`), "", 200)
	check("GET", "/api/messages?attachmentContentType=application/pdf&attachment=a.pdf&attachment=b.pdf", "", 400)
	check("GET", "/api/messages?limit=x", "", 400)
	check("GET", "/api/messages/1", "", 200)
	if b := check("GET", "/api/messages/2", "", 200); !bytes.Contains(b, []byte(`"seal": "temperror"`)) {
		t.Errorf("GET /api/messages/2 has no ARC set to validate:\n%.2000s", b)
	}
	check("GET", "/api/messages/99", "", 404)
	check("GET", "/api/messages/1/raw?download", "", 200)
	check("GET", "/api/messages/1/attachments/0", "", 200)
	check("GET", "/api/messages/1/attachments/5", "", 404)
	check("GET", "/api/messages/1/links", "", 200)
	check("GET", "/api/messages/99/links", "", 404)
	check("GET", "/api/messages/99/raw", "", 404)
	check("GET", "/api/messages/1/find?re="+`code:+(\d%2B)`, "", 200)
	check("GET", "/api/messages/1/find?re=nothing", "", 404)
	// The golden forms: masks are pairs, mask= and replacement=, by rank.
	if b := check("GET", "/api/messages/1/normalized?mask="+`code:+\d%2B`+"&mask=%3Ccode%3E&replacement=code:+<code>&replacement=$0!", "", 200); !bytes.Contains(b, []byte("Your code: <code>!\n")) {
		t.Errorf("GET /api/messages/1/normalized did not mask the code:\n%s", b)
	}
	check("GET", "/api/messages/1/normalized?mask=(&replacement=x", "", 400)
	check("GET", "/api/messages/1/normalized?mask=a", "", 400)
	check("GET", "/api/messages/99/normalized", "", 404)
	check("GET", "/api/sessions", "", 200)
	check("GET", "/api/sessions?limit=1", "", 200)
	check("GET", "/api/sessions?inbox=nope.inbox.test", "", 404)
	check("GET", "/api/wait/sessions?inbox=nope.inbox.test&timeout=10ms", "", 404)
	if b := check("GET", "/api/sessions/1", "", 200); !bytes.Contains(b, []byte(`"transcriptHead"`)) {
		t.Errorf("GET /api/sessions/1 has no transcriptHead to validate:\n%s", b)
	}
	check("GET", "/api/sessions/99", "", 404)
	if b := check("GET", "/api/sessions/1/normalized?mask=bob&replacement=<rcpt>", "", 200); !bytes.Contains(b, []byte("C: RCPT TO:<<rcpt>@example.com>\n")) {
		t.Errorf("GET /api/sessions/1/normalized did not mask the recipient:\n%s", b)
	}
	check("GET", "/api/sessions/1/normalized?timeout=x", "", 400)
	check("GET", "/api/sessions/99/normalized?timeout=10ms", "", 408) // not started: waited for
	check("GET", "/api/sessions/0/normalized", "", 404)
	live, err := smtp.Dial(p.smtp) // session 3, open until closed
	if err != nil {
		t.Fatal(err)
	}
	if err := live.Hello("live.example"); err != nil {
		t.Fatal(err)
	}
	if b := check("GET", "/api/sessions/3/normalized?timeout=10ms", "", 408); !bytes.Contains(b, []byte("C: EHLO live.example")) {
		t.Errorf("GET /api/sessions/3/normalized of a live session: %s", b)
	}
	// The wait for one session's end: it so far on timeout, with its
	// transcript; it, ended, once the client quits.
	if b := check("GET", "/api/wait/sessions/3?timeout=10ms", "", 408); !bytes.Contains(b, []byte(`"session": {`)) {
		t.Errorf("GET /api/wait/sessions/3 of a live session has not the session so far:\n%s", b)
	}
	check("GET", "/api/wait/sessions/99?timeout=10ms", "", 408) // not started: waited for
	check("GET", "/api/wait/sessions/+3", "", 400)
	check("GET", "/api/wait/sessions/0", "", 404)
	if err := live.Quit(); err != nil {
		t.Fatal(err)
	}
	if b := check("GET", "/api/wait/sessions/3?timeout=5s", "", 200); !bytes.Contains(b, []byte(`"ended": "QUIT"`)) {
		t.Errorf("GET /api/wait/sessions/3 after QUIT:\n%s", b)
	}
	check("GET", "/api/messages?since=+1", "", 400)
	check("GET", "/api/findings", "", 200)
	// The mail has no Date: WithStrict would fail.
	if b := check("GET", "/api/findings/check", "", 417); !bytes.Contains(b, []byte("error required-headers (RFC 5322 3.6)")) {
		t.Errorf("GET /api/findings/check has not the report:\n%s", b)
	}
	check("GET", "/api/findings/check?inbox=nope.inbox.test", "", 404)
	if b := check("GET", "/api/server", "", 200); !bytes.Contains(b, []byte(`"smtpAddr": "`+p.smtp+`"`)) || !bytes.Contains(b, []byte(`"persona": "postfix"`)) {
		t.Errorf("GET /api/server does not give the SMTP address %s:\n%s", p.smtp, b)
	}
	check("GET", "/api/server?verbose=1", "", 400)
	if b := check("GET", "/api/rules", "", 200); !bytes.Contains(b, []byte(`"rule": "message-id",
    "ref": "RFC 5322 3.6.4",
    "enabled": false`)) {
		t.Errorf("GET /api/rules does not say -without-rules switched message-id off:\n%s", b)
	}
	check("GET", "/api/rules?enabled=true", "", 400)
	check("GET", "/api/ca.pem", "", 200)
	check("GET", "/api/openapi.json", "", 200)
	check("GET", "/api/clock", "", 200)
	check("POST", "/api/clock/advance", `{"by": "5m"}`, 200)
	check("POST", "/api/clock/advance", `{"by": "0s"}`, 200) // a backoff of 0: no move
	check("POST", "/api/clock/advance", `{"by": "-5m"}`, 400)
	check("GET", "/api/clock?tz=UTC", "", 400)
	check("GET", "/api/wait/clock?count=0", "", 200)
	check("GET", "/api/wait/clock?timeout=10ms", "", 408) // nothing waits on the clock
	check("GET", "/api/wait/clock?count=x", "", 400)
	check("GET", "/api/wait/clock?session=1&session=2&kind=delay&kind=idleReply&timeout=10ms", "", 408)
	check("GET", "/api/wait/clock?kind=stall", "", 400)
	check("GET", "/api/wait/clock?session=0", "", 400)
	// A wait in progress, which the clock lists (waitList): a delay at
	// NOOP, until a move ends it.
	check("PUT", "/api/faults", `[{"at": "NOOP", "delay": "1h"}]`, 200)
	slow, err := smtp.Dial(p.smtp) // session 4
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	noop := make(chan error, 1)
	go func() { noop <- slow.Noop() }()
	if b := check("GET", "/api/wait/clock?session=4&kind=delay&timeout=10s", "", 200); !bytes.Contains(b, []byte(`"kind": "delay"`)) {
		t.Errorf("GET /api/wait/clock of the delay does not list it:\n%s", b)
	}
	check("GET", "/api/clock", "", 200)
	check("POST", "/api/clock/advance", `{"by": "1h"}`, 200)
	select {
	case err := <-noop:
		if err != nil {
			t.Errorf("NOOP after the move past its delay: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("the clock passed the end of the delay at NOOP, and the client got no reply within 10 s")
	}
	script := `[{"at": "RCPT", "onAttempt": [1], "reply": "421 4.3.2 try later", "disconnect": true},
		{"at": "MAIL", "forSender": ["*@spam.example"], "reply": {"code": 550, "text": "5.7.1 go away"}},
		{"at": "DATA", "delay": "2s", "declaredAt": "test_retry.py:42"}, {"at": "QUIT", "trickle": {"n": 1, "every": "1ms"}},
		{"greylist": true}, {"rateLimitPer": {"n": 10, "interval": "1m"}}, {"unknownUser": []},
		{"at": "STARTTLS", "atMost": 1, "tlsVersion": "1.2"},
		{"greylistFor": "5m"}, {"at": "NOOP", "reply": "250 2.0.0 one\nand two", "delay": "0"}]`
	check("PUT", "/api/faults", script, 200)
	var added []struct{ ID int }
	if err := json.Unmarshal(check("POST", "/api/faults", `[{"mailboxFull": ["bob@example.com"]}]`, 200), &added); err != nil || len(added) != 1 {
		t.Fatalf("POST /api/faults: %v, %d faults added, want 1", err, len(added))
	}
	check("DELETE", fmt.Sprintf("/api/faults/%d", added[0].ID), "", 204)
	check("DELETE", fmt.Sprintf("/api/faults/%d", added[0].ID), "", 404) // removed: never given again
	check("DELETE", "/api/faults/x", "", 400)
	check("PUT", "/api/faults", `[{"at": "nowhere"}]`, 400)
	check("PUT", "/api/faults", `[{"at": "DATA", "delay": "2s", "declaredAt": "test.py:1\ntest.py:2"}]`, 400)
	got := check("GET", "/api/faults", "", 200)
	if !bytes.Contains(got, []byte(`"declaredAt": "test_retry.py:42"`)) {
		t.Errorf("GET /api/faults does not give the declaredAt given:\n%s", got)
	}
	check("PUT", "/api/faults", string(got), 200) // GET's output PUT back
	// Every other field of a fault, given back by GET.
	check("PUT", "/api/faults", `[{"at": "RCPT", "forRcpt": ["*@x.example"], "drop": true},
		{"at": "DATA", "resetTCP": true, "withProbability": 0.5}, {"at": "MAIL", "halfClose": true},
		{"at": "NOOP", "stall": true}, {"at": "QUIT", "rawReply": "221 bye"}, {"at": "DATA", "dropAfterBytes": 10},
		{"at": "HELO", "idleReply": {"after": "1s", "code": 421, "text": "4.4.2 idle"}},
		{"at": "HELO", "splitReply": {"at": 3, "pause": "1s"}},
		{"rateLimit": 10}, {"shuttingDown": true}, {"tooManyRecipients": 5},
		{"at": "STARTTLS", "expiredCertificate": true}, {"at": "STARTTLS", "wrongHostCertificate": true},
		{"at": "STARTTLS", "untrustedCertificate": true}, {"at": "STARTTLS", "abortHandshake": true}]`, 200)
	check("GET", "/api/faults", "", 200)
	check("DELETE", "/api/faults", "", 204)

	// An inbox, its messages, waits and expectations; the server's.
	var box struct{ Domain string }
	if err := json.Unmarshal(check("POST", "/api/inboxes", `{"name": "TestOpenAPI"}`, 201), &box); err != nil || box.Domain == "" {
		t.Fatalf("POST /api/inboxes: %v", err)
	}
	check("POST", "/api/inboxes", "", 201)
	check("POST", "/api/inboxes", `{"name": 1}`, 400)
	check("GET", "/api/inboxes", "", 200)
	check("GET", "/api/inboxes?limit=1", "", 200)
	check("GET", "/api/inboxes?limit=-1", "", 400)
	conn, err := net.Dial("tcp", p.smtp)
	if err != nil {
		t.Fatal(err)
	}
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	sendPlain(t, c, "ann@"+box.Domain, mail)
	// Its session, by the inbox and by the client's address.
	from := "&remoteAddr=" + url.QueryEscape(conn.LocalAddr().String())
	check("GET", "/api/sessions?inbox="+box.Domain+from, "", 200)
	check("GET", "/api/wait/sessions?inbox="+box.Domain+from+"&timeout=5s", "", 200)
	// Each other operation that takes a client's address, by this one.
	for _, op := range v.operations() {
		method, route, _ := strings.Cut(op, " ")
		if o := v.operation(op); method == "GET" && !strings.Contains(route, "{") && !isWait(o, method) &&
			o.Parameters.GetByInAndName("query", "remoteAddr") != nil {
			v.check(t, p, method, route+"?"+from[1:], "", nil, 0)
		}
	}
	check("GET", "/api/messages?inbox="+box.Domain+"&subject=Sign+in&limit=1", "", 200)
	check("GET", "/api/messages?inbox=nope.inbox.test", "", 404)
	check("GET", "/api/wait?inbox="+box.Domain+"&subjectContains=Sign", "", 200)
	check("GET", "/api/wait?inbox="+box.Domain+"&subjectContains=Never&timeout=10ms", "", 408)
	check("GET", "/api/wait?inbox=nope.inbox.test", "", 404)
	// No message after the inbox's (message 3); one in the inbox.
	check("GET", "/api/wait/none?timeout=10ms&since=3", "", 200)
	if b := check("GET", "/api/wait/none?timeout=10s&inbox="+box.Domain, "", 417); !bytes.Contains(b, []byte("want no message in the inbox")) {
		t.Errorf("GET /api/wait/none of an inbox with a message: %s", b)
	}
	check("GET", "/api/wait/none", "", 400)
	check("GET", "/api/wait/none?timeout=1s&inbox=nope.inbox.test", "", 404)
	check("POST", "/api/expectations", `{"want": {"to": ["bob@example.com"], "subjectContains": "Sign", "header": {"X-None": "x"}}, "times": 1, "declaredAt": "openapi_test.go"}`, 201)
	check("POST", "/api/expectations?inbox="+box.Domain, `{"want": {"subject": "Sign in", "attachment": ["a.pdf"]}, "atLeast": 1}`, 201)
	check("POST", "/api/expectations?inbox="+box.Domain, `{"want": {"from": "spam@example.com"}, "never": true}`, 201)
	check("POST", "/api/expectations?inbox="+box.Domain, `{"want": {"attachment": [{"contentType": "application/pdf", "data": "JVBERg=="}]}, "atLeast": 0}`, 201)
	check("POST", "/api/expectations?inbox="+box.Domain, `{"want": {"dkim": [{"domain": "example.com", "status": "fail", "reason": "body hash"}]}, "never": true}`, 201)
	check("POST", "/api/expectations", `{"want": {"attachment": [{"data": "%PDF"}]}}`, 400)
	check("POST", "/api/expectations", `{"want": {"nope": "x"}}`, 400)
	check("POST", "/api/expectations?inbox=nope.inbox.test", `{}`, 404)
	check("POST", "/api/expectations?inbox="+box.Domain, `{"forbidOtherMessages": true, "declaredAt": "openapi_test.go:forbid"}`, 201)
	check("POST", "/api/expectations", `{"forbidMessages": true, "want": {}}`, 400)
	check("GET", "/api/expectations", "", 200)
	check("GET", "/api/expectations?inbox="+box.Domain, "", 200)
	check("GET", "/api/expectations?inbox=nope.inbox.test", "", 404)
	check("GET", "/api/expectations/check?inbox="+box.Domain, "", 200)
	if b := check("GET", "/api/expectations/check", "", 417); !bytes.Contains(b, []byte("expectation at openapi_test.go not met")) {
		t.Errorf("check: %s", b)
	}
	check("GET", "/api/expectations/check?inbox=nope.inbox.test", "", 404)
	// The inbox's findings: those of the session that sent to it (no Date).
	check("GET", "/api/findings?inbox="+box.Domain, "", 200)
	check("GET", "/api/findings?inbox=nope.inbox.test", "", 404)
	if b := check("GET", "/api/findings/check?inbox="+box.Domain, "", 417); !bytes.Contains(b, []byte("error required-headers (RFC 5322 3.6)")) {
		t.Errorf("GET /api/findings/check of the inbox has not the report:\n%s", b)
	}
	check("DELETE", "/api/messages?inbox="+box.Domain, "", 204)
	check("GET", "/api/findings/check?inbox="+box.Domain, "", 200) // the inbox's reset forgot its findings
	check("DELETE", "/api/messages?inbox=nope.inbox.test", "", 404)

	check("DELETE", "/api/messages/2", "", 204)
	check("DELETE", "/api/messages/2", "", 404)
	check("DELETE", "/api/messages", "", 204)
	check("GET", "/api/findings/check", "", 200) // the reset forgot the findings

	// The fields the mail above has not: a session with AUTH (accepted
	// credentials, and a fault's 454 for them: refused), a RCPT with DSN
	// parameters, and a message with Cc, Reply-To, Date, Message-ID, a
	// DKIM signature (no key: temperror), an inline part with a
	// Content-ID in base64, and a charset that is none (a parse error).
	check("PUT", "/api/faults", `[{"at": "AUTH", "reply": "454 4.7.0 try again"}]`, 200)
	every := "From: App <app@example.com>\r\nTo: bob@example.com\r\nCc: Carl <carl@example.com>\r\n" +
		"Reply-To: help@example.com\r\nDate: Mon, 7 Dec 2026 09:00:00 +0000\r\nMessage-ID: <1@example.com>\r\n" +
		"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s; i=@example.com; h=from; bh=AAAA; b=AAAA\r\n" +
		"Subject: Every field\r\nMIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=r\r\n\r\n" +
		"--r\r\nContent-Type: text/plain; charset=x-none\r\n\r\nhi\r\n" +
		"--r\r\nContent-Type: image/png\r\nContent-ID: <logo@example.com>\r\nContent-Disposition: inline\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--r--\r\n"
	sendEvery(t, p.smtp, every)
	check("DELETE", "/api/faults", "", 204)
	var listed []struct{ ID int }
	if err := json.Unmarshal(check("GET", "/api/messages", "", 200), &listed); err != nil || len(listed) != 1 {
		t.Fatalf("GET /api/messages: %v, %d messages, want 1", err, len(listed))
	}
	check("GET", fmt.Sprintf("/api/messages/%d", listed[0].ID), "", 200)
	check("GET", "/api/sessions", "", 200)
	// Every parameter of a filter at once: no message is like it.
	filter := "from=app@example.com&headerFrom=app@example.com&headerTo=bob@example.com&cc=carl@example.com" +
		"&subject=Every+field&subjectContains=Every&subjectMatches=^Every&text=hi&textContains=h&textMatches=h" +
		"&html=x&htmlContains=x&htmlMatches=x&attachment=a.png&attachmentContentType=image/png" +
		"&dkim=example.com&dkimSelector=s&dkimStatus=temperror&dkimReason=no+key&arc=fail&arcReason=x&header[Subject]=Every+field"
	check("GET", "/api/messages?"+filter, "", 200)
	check("GET", "/api/wait?timeout=10ms&"+filter, "", 408)

	v.required(t, p)
	check("DELETE", "/api/faults", "", 204)
	v.shutdown(t)
	v.covers(t)
}

// sendEvery sends mail to bob@example.com over a new connection to
// addr: after an AUTH PLAIN that a fault answers 454, with the DSN
// parameters of RCPT.
func sendEvery(t *testing.T, addr, mail string) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cmd := func(code int, format string, args ...any) {
		t.Helper()
		id, err := c.Text.Cmd(format, args...)
		if err != nil {
			t.Fatal(err)
		}
		c.Text.StartResponse(id)
		defer c.Text.EndResponse(id)
		if _, _, err := c.Text.ReadResponse(code); err != nil {
			t.Fatalf(format+": %v", append(args, err)...)
		}
	}
	if err := c.Hello("every.example"); err != nil {
		t.Fatal(err)
	}
	cmd(454, "AUTH PLAIN %s", base64.StdEncoding.EncodeToString([]byte("user\x00user\x00secret")))
	cmd(250, "MAIL FROM:<app@example.com>")
	cmd(250, "RCPT TO:<bob@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.com")
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, mail); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

// sendPlain sends mail to rcpt over c without TLS and quits.
func sendPlain(t *testing.T, c *smtp.Client, rcpt, mail string) {
	t.Helper()
	defer c.Close()
	for _, step := range []func() error{
		func() error { return c.Mail("app@example.com") },
		func() error { return c.Rcpt(rcpt) },
		func() error {
			w, err := c.Data()
			if err != nil {
				return err
			}
			if _, err := io.Copy(w, bytes.NewReader([]byte(mail))); err != nil {
				return err
			}
			return w.Close()
		},
		c.Quit,
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
}

// registerPEM teaches kin-openapi that GET /api/ca.pem is text.
var registerPEM sync.Once
