package main

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/smtp"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
)

// The filters of attachments and DKIM signatures beyond a file name and a
// domain: the query parameters that describe one attachment or signature
// (attachmentContentType, dkimSelector, dkimStatus, dkimReason) and the
// JSON form, whose attachments and signatures may be objects.

// attachmentPart is a MIME part of a multipart/mixed body: an attachment
// (disposition "attachment" or "inline") named filename, its data in
// base64.
func attachmentPart(disposition, filename, contentType, data string) string {
	return "--b\r\nContent-Type: " + contentType + "\r\nContent-Disposition: " + disposition + "; filename=\"" + filename + "\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString([]byte(data)) + "\r\n"
}

// mixedMail returns a multipart/mixed mail with a text part and parts.
func mixedMail(subject string, parts ...string) string {
	return "From: shop@example.com\r\nTo: bob@example.net\r\nSubject: " + subject + "\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nYour files.\r\n" +
		strings.Join(parts, "") + "--b--\r\n"
}

// signed returns msg with a DKIM signature of domain and selector, made
// with key.
func signed(t *testing.T, msg, domain, selector string, key crypto.Signer) string {
	t.Helper()
	var b bytes.Buffer
	if err := dkim.Sign(&b, strings.NewReader(msg), &dkim.SignOptions{Domain: domain, Selector: selector, Signer: key}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// elementCorpus returns the mails the tests of attachment and DKIM filters
// send, as messages 1 to 6, and the DKIM keys (domain:selector) that
// verify them, all key (the root package's example key, as arcFixture
// gives it):
//
//	1 text only                                           example.com/mail pass
//	2 report.pdf application/pdf, logo.png image/png inline   example.com/mail pass
//	3 report.pdf text/plain, photo.png application/pdf        example.com/mail fail (body hash: changed after signing)
//	4 invoice.pdf, copy.pdf application/pdf, notes.txt        example.com/mail pass, example.org/news fail (another key)
//	5 empty.txt, empty                                    example.net/s temperror (no key registered)
//	6 text only, unsigned
func elementCorpus(t *testing.T, key ed25519.PrivateKey) []string {
	t.Helper()
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	plain := func(subject string) string {
		return "From: shop@example.com\r\nTo: bob@example.net\r\nSubject: " + subject + "\r\n\r\nThanks.\r\n"
	}
	third := signed(t, mixedMail("Your files again",
		attachmentPart("attachment", "report.pdf", "text/plain", "the report, as text"),
		attachmentPart("attachment", "photo.png", "application/pdf", "%PDF-1.4 photo")), "example.com", "mail", key)
	return []string{
		signed(t, plain("Order"), "example.com", "mail", key),
		signed(t, mixedMail("Your files",
			attachmentPart("attachment", "report.pdf", "application/pdf", "%PDF-1.4 report"),
			attachmentPart("inline", "logo.png", "image/png", "\x89PNG logo")), "example.com", "mail", key),
		strings.Replace(third, "Your files.", "Your files!", 1),
		signed(t, signed(t, mixedMail("Your invoice",
			attachmentPart("attachment", "invoice.pdf", "application/pdf", "%PDF-1.4 invoice"),
			attachmentPart("attachment", "copy.pdf", "application/pdf", "%PDF-1.4 copy"),
			attachmentPart("attachment", "notes.txt", "text/plain", "notes")), "example.com", "mail", key), "example.org", "news", other),
		signed(t, mixedMail("Nothing", attachmentPart("attachment", "empty.txt", "text/plain", "")), "example.net", "s", key),
		plain("Unsigned"),
	}
}

// sendAll sends msgs to rcpt over one SMTP session, one transaction each.
func sendAll(t *testing.T, addr, rcpt string, msgs []string) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, msg := range msgs {
		sendOver(t, c, "shop@example.com", rcpt, msg) // 250: recorded
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

// serveAPI serves the API of a new server, made with opts, as the
// program does (startHTTP), over real connections on loopback. The proc
// has the addresses alone.
func serveAPI(t *testing.T, opts ...mocksmtp.Option) (*mocksmtp.Server, *proc) {
	t.Helper()
	return serveWrapped(t, func(api http.Handler) http.Handler { return api }, opts...)
}

// serveWrapped is serveAPI with the API behind wrap's handler.
func serveWrapped(t *testing.T, wrap func(api http.Handler) http.Handler, opts ...mocksmtp.Option) (*mocksmtp.Server, *proc) {
	t.Helper()
	srv, err := mocksmtp.New(append([]mocksmtp.Option{mocksmtp.WithListenAddr("127.0.0.1:0")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	ws, err := startHTTP("127.0.0.1:0", wrap(newAPI(srv, log, false)), log, defaultHTTPTimeouts)
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ws.shutdown()
		srv.Close()
	})
	return srv, &proc{smtp: srv.Addr(), http: ws.addr}
}

// TestFilterByAttachmentAndDKIMFieldsAsWantMatches sends elementCorpus to
// an inbox per case and checks that each filter, in the query form or
// the JSON form, picks exactly the messages the Go Want it stands for
// matches (Want.Match over srv.Messages), which are the ones the case
// names: in GET /api/messages, in GET /api/wait (count=N returns them, a
// further wait none), and, in JSON, in POST /api/expectations (times=N is
// met).
func TestFilterByAttachmentAndDKIMFieldsAsWantMatches(t *testing.T) {
	t.Parallel()
	_, key, _ := arcFixture(t)
	corpus := elementCorpus(t, key)
	srv, p := serveAPI(t, mocksmtp.WithDKIMKey("example.com", "mail", key.Public()),
		mocksmtp.WithDKIMKey("example.org", "news", key.Public()))

	pdf := "application/pdf"
	b64 := base64.StdEncoding.EncodeToString
	for _, tt := range []struct {
		query string // the query form, or
		json  string // the JSON form
		want  mocksmtp.Want
		msgs  []int // which of the corpus it matches, from 1
	}{
		// An attachment by its content type, alone, or with the file
		// name of the same attachment: 3 has a report.pdf and a PDF, but
		// no report.pdf that is a PDF.
		{query: "attachmentContentType=application/pdf", want: mocksmtp.Want{Attachments: []mocksmtp.WantAttachment{{ContentType: pdf}}}, msgs: []int{2, 3, 4}},
		{query: "attachmentContentType=Application/PDF", want: mocksmtp.Want{Attachments: []mocksmtp.WantAttachment{{ContentType: "Application/PDF"}}}, msgs: []int{2, 3, 4}},
		{query: "attachment=report.pdf&attachmentContentType=application/pdf", want: mocksmtp.Want{Attachments: []mocksmtp.WantAttachment{{Filename: "report.pdf", ContentType: pdf}}}, msgs: []int{2}},
		{query: "attachmentContentType=image/png", want: mocksmtp.Want{Attachments: []mocksmtp.WantAttachment{{ContentType: "image/png"}}}, msgs: []int{2}},
		{query: "attachment=report.pdf&attachment=logo.png", want: mocksmtp.Want{Attachments: []mocksmtp.WantAttachment{{Filename: "report.pdf"}, {Filename: "logo.png"}}}, msgs: []int{2}},
		// A signature by its status, reason and selector, alone, or of
		// the domain dkim names: 4's example.com signature passes, its
		// example.org one fails.
		{query: "dkimStatus=fail", want: mocksmtp.Want{DKIM: []mocksmtp.WantDKIM{{Status: mocksmtp.DKIMFail}}}, msgs: []int{3, 4}},
		{query: "dkim=example.com&dkimStatus=fail&dkimReason=body+hash", want: mocksmtp.Want{DKIM: []mocksmtp.WantDKIM{{Domain: "example.com", Status: mocksmtp.DKIMFail, Reason: "body hash"}}}, msgs: []int{3}},
		{query: "dkim=example.com&dkimStatus=fail", want: mocksmtp.Want{DKIM: []mocksmtp.WantDKIM{{Domain: "example.com", Status: mocksmtp.DKIMFail}}}, msgs: []int{3}},
		{query: "dkim=EXAMPLE.ORG&dkimStatus=fail", want: mocksmtp.Want{DKIM: []mocksmtp.WantDKIM{{Domain: "EXAMPLE.ORG", Status: mocksmtp.DKIMFail}}}, msgs: []int{4}},
		{query: "dkimSelector=MAIL", want: mocksmtp.Want{DKIM: []mocksmtp.WantDKIM{{Selector: "MAIL"}}}, msgs: []int{1, 2, 4}},
		{query: "dkimStatus=temperror", want: mocksmtp.Want{DKIM: []mocksmtp.WantDKIM{{Status: mocksmtp.DKIMTempError}}}, msgs: []int{5}},
		{query: "dkim=example.com", want: mocksmtp.Want{DKIM: []mocksmtp.WantDKIM{{Domain: "example.com"}}}, msgs: []int{1, 2, 4}},
		{query: "subject=Your+files&attachmentContentType=application/pdf&dkimStatus=pass", want: mocksmtp.Want{Subject: "Your files",
			Attachments: []mocksmtp.WantAttachment{{ContentType: pdf}}, DKIM: []mocksmtp.WantDKIM{{Status: mocksmtp.DKIMPass}}}, msgs: []int{2}},

		// The JSON form: attachments and signatures as objects, mixed
		// with file names and domains.
		{json: `{"attachment": [{"contentType": "application/pdf", "data": "` + b64([]byte("%PDF-1.4 report")) + `"}]}`,
			want: mocksmtp.Want{Attachments: []mocksmtp.WantAttachment{{ContentType: pdf, Data: []byte("%PDF-1.4 report")}}}, msgs: []int{2}},
		{json: `{"attachment": [{"filename": "report.pdf", "contentType": "application/pdf"}, "logo.png"]}`,
			want: mocksmtp.Want{Attachments: []mocksmtp.WantAttachment{{Filename: "report.pdf", ContentType: pdf}, {Filename: "logo.png"}}}, msgs: []int{2}},
		{json: `{"attachment": [{"filename": "report.pdf", "contentType": "TEXT/plain"}], "dkim": [{"status": "fail"}]}`,
			want: mocksmtp.Want{Attachments: []mocksmtp.WantAttachment{{Filename: "report.pdf", ContentType: "TEXT/plain"}}, DKIM: []mocksmtp.WantDKIM{{Status: mocksmtp.DKIMFail}}}, msgs: []int{3}},
		{json: `{"attachment": [{}]}`, want: mocksmtp.Want{Attachments: []mocksmtp.WantAttachment{{}}}, msgs: []int{2, 3, 4, 5}},
		{json: `{"attachment": [{}, {}, {}]}`, want: mocksmtp.Want{Attachments: []mocksmtp.WantAttachment{{}, {}, {}}}, msgs: []int{4}},
		{json: `{"attachment": [{"data": ""}]}`, want: mocksmtp.Want{Attachments: []mocksmtp.WantAttachment{{Data: []byte{}}}}, msgs: []int{5}},
		{json: `{"attachment": [{"contentType": "application/pdf"}, {"contentType": "application/pdf"}]}`,
			want: mocksmtp.Want{Attachments: []mocksmtp.WantAttachment{{ContentType: pdf}, {ContentType: pdf}}}, msgs: []int{4}},
		{json: `{"dkim": [{"domain": "example.com", "status": "fail", "reason": "body hash"}]}`,
			want: mocksmtp.Want{DKIM: []mocksmtp.WantDKIM{{Domain: "example.com", Status: mocksmtp.DKIMFail, Reason: "body hash"}}}, msgs: []int{3}},
		{json: `{"dkim": ["example.com", {"domain": "example.org", "status": "fail"}]}`,
			want: mocksmtp.Want{DKIM: []mocksmtp.WantDKIM{{Domain: "example.com"}, {Domain: "example.org", Status: mocksmtp.DKIMFail}}}, msgs: []int{4}},
		{json: `{"dkim": [{}]}`, want: mocksmtp.Want{DKIM: []mocksmtp.WantDKIM{{}}}, msgs: []int{1, 2, 4}},
		{json: `{"dkim": [{"selector": "NEWS", "status": "fail"}], "attachment": ["notes.txt"]}`,
			want: mocksmtp.Want{DKIM: []mocksmtp.WantDKIM{{Selector: "NEWS", Status: mocksmtp.DKIMFail}}, Attachments: []mocksmtp.WantAttachment{{Filename: "notes.txt"}}}, msgs: []int{4}},
		{json: `{"dkim": [{"status": "temperror", "reason": "no key registered"}]}`,
			want: mocksmtp.Want{DKIM: []mocksmtp.WantDKIM{{Status: mocksmtp.DKIMTempError, Reason: "no key registered"}}}, msgs: []int{5}},
		{json: `{"attachment": ["report.pdf"], "dkim": ["example.com"]}`, // as before
			want: mocksmtp.Want{Attachments: []mocksmtp.WantAttachment{{Filename: "report.pdf"}}, DKIM: []mocksmtp.WantDKIM{{Domain: "example.com"}}}, msgs: []int{2}},
	} {
		name := tt.query + tt.json
		filter := tt.query
		if tt.json != "" {
			filter = "want=" + url.QueryEscape(tt.json)
		}
		// The Want the program reads is Go's.
		q, err := url.ParseQuery(filter)
		if err != nil {
			t.Fatal(err)
		}
		got, set, err := wantOf(q)
		if diff := cmp.Diff(tt.want, got); diff != "" || !set || err != nil {
			t.Errorf("%s: the Want read (-Go +program):\n%s, set %v, error %v", name, diff, set, err)
		}
		var box inboxJSON
		postJSON(t, p, "POST", "/api/inboxes", "", 201, &box)
		sendAll(t, p.smtp, box.Address, corpus)

		// What Go's Want matches, by ID, and by place in the corpus.
		var inbox, goIDs, goMsgs []int
		for _, m := range srv.Messages() {
			if !strings.HasSuffix(m.To[0], "@"+box.Domain) {
				continue
			}
			inbox = append(inbox, m.ID)
			ok, err := tt.want.Match(m)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if ok {
				goIDs = append(goIDs, m.ID)
				goMsgs = append(goMsgs, len(inbox))
			}
		}
		if len(inbox) != len(corpus) {
			t.Fatalf("%s: the inbox has %d messages, want %d", name, len(inbox), len(corpus))
		}
		if !cmp.Equal(goMsgs, tt.msgs) {
			t.Errorf("%s: Go's %v matches messages %v, want %v", name, tt.want, goMsgs, tt.msgs)
		}

		var ms []messageJSON
		getJSON(t, p, "/api/messages?inbox="+box.Domain+"&"+filter, 200, &ms)
		if got := ids(ms); !cmp.Equal(got, goIDs) {
			t.Errorf("GET /api/messages?%s: messages %v, Go's Want matches %v", name, got, goIDs)
		}
		getJSON(t, p, fmt.Sprintf("/api/wait?inbox=%s&%s&count=%d&timeout=10s", box.Domain, filter, len(goIDs)), 200, &ms)
		if got := ids(ms); !cmp.Equal(got, goIDs) {
			t.Errorf("GET /api/wait?%s&count=%d: messages %v, Go's Want matches %v", name, len(goIDs), got, goIDs)
		}
		var timedOut waitTimeoutJSON
		getJSON(t, p, "/api/wait?inbox="+box.Domain+"&"+filter+"&timeout=10ms", 408, &timedOut)
		if want := "  " + tt.want.String() + "\n"; !strings.Contains(timedOut.Error, want) {
			t.Errorf("GET /api/wait?%s, once all are returned: %q, want it to name %q", name, timedOut.Error, want)
		}
		if tt.json != "" {
			body := fmt.Sprintf(`{"want": %s, "times": %d}`, tt.json, len(goIDs))
			var e expectationJSON
			postJSON(t, p, "POST", "/api/expectations?inbox="+box.Domain, body, 201, &e)
			if want := fmt.Sprintf("like %v", tt.want); !strings.HasSuffix(e.Description, want) {
				t.Errorf("POST /api/expectations %s: description %q, want it to end %q", body, e.Description, want)
			}
			if code, report := check(t, p, "?inbox="+box.Domain); code != 200 {
				t.Errorf("POST /api/expectations %s: check %d\n%s", body, code, report)
			}
		}
	}
}

// TestFilterByAttachmentAndDKIMFieldsReportsAsGo checks that a wait in the
// JSON form that times out and an expectation in it that is not met
// report as the Go API's WaitFor and Expect: the nearest message as a
// diff that shows the content type of its attachments, or the status and
// the reason of its signatures.
func TestFilterByAttachmentAndDKIMFieldsReportsAsGo(t *testing.T) {
	t.Parallel()
	_, key, _ := arcFixture(t)
	corpus := elementCorpus(t, key)
	srv, p := serveAPI(t, mocksmtp.WithWaitTimeout(10*time.Millisecond), mocksmtp.WithDKIMKey("example.com", "mail", key.Public()))
	sendAll(t, p.smtp, "bob@example.net", corpus[1:3]) // report.pdf a PDF and signed, then a text and its signature failing

	for i, tt := range []struct {
		json  string
		want  mocksmtp.Want
		diffs []string // what the diff shows, spaces normalized
	}{
		{`{"attachment": [{"filename": "report.pdf", "contentType": "application/pdf"}], "dkim": [{"domain": "example.com", "status": "fail", "reason": "body hash"}]}`,
			mocksmtp.Want{Attachments: []mocksmtp.WantAttachment{{Filename: "report.pdf", ContentType: "application/pdf"}},
				DKIM: []mocksmtp.WantDKIM{{Domain: "example.com", Status: mocksmtp.DKIMFail, Reason: "body hash"}}},
			[]string{`- Status: "fail",`, `+ Status: "pass",`, `- Reason: "body hash",`}},
		{`{"subject": "Your files again", "subjectContains": "again", "textContains": "files!", "dkim": ["example.com"], "attachment": [{"contentType": "image/png"}]}`,
			mocksmtp.Want{Subject: "Your files again", SubjectContains: "again", TextContains: "files!",
				DKIM: []mocksmtp.WantDKIM{{Domain: "example.com"}}, Attachments: []mocksmtp.WantAttachment{{ContentType: "image/png"}}},
			[]string{`+ Status: "fail",`, `+ Reason: "body hash mismatch`, `- ContentType: "image/png", + ContentType: "text/plain",`, `+ {ContentType: "application/pdf"},`}},
	} {
		var body waitTimeoutJSON
		getJSON(t, p, "/api/wait?timeout=10ms&want="+url.QueryEscape(tt.json), 408, &body)
		ft := &reportT{}
		srv.WaitFor(ft, tt.want)
		_, rest, _ := strings.Cut(body.Error, "\n")
		_, goRest, _ := strings.Cut(ft.report, "\n")
		if diff := cmp.Diff(goRest, rest); diff != "" || !strings.Contains(rest, "(-want +got):\n") {
			t.Errorf("GET /api/wait?want=%s: the report (-Go +program):\n%s", tt.json, diff)
		}

		// The same as an expectation, on a server without others.
		declared := fmt.Sprintf("POST /api/expectations #%d", i+1)
		ft = &reportT{}
		srv.Expect(ft, tt.want).DeclaredAt(declared)
		postJSON(t, p, "POST", "/api/expectations", fmt.Sprintf(`{"want": %s, "declaredAt": %q}`, tt.json, declared), 201, nil)
		var e errorJSON
		getJSON(t, p, "/api/expectations/check", 417, &e)
		ft.finish()
		postJSON(t, p, "DELETE", "/api/messages", "", 204, nil) // forgets the expectation, and the messages
		if len(ft.errors) != 1 {
			t.Fatalf("the Go API reported %d failures, want 1: %q", len(ft.errors), ft.errors)
		}
		if diff := cmp.Diff(ft.errors[0], e.Error); diff != "" {
			t.Errorf("%s: the report (-Go +program):\n%s", tt.json, diff)
		}
		words := strings.Join(strings.Fields(strings.ReplaceAll(e.Error, "\u00a0", " ")), " ")
		for _, want := range tt.diffs {
			if !strings.Contains(words, want) {
				t.Errorf("%s: the report lacks %q:\n%s", tt.json, want, e.Error)
			}
		}
		sendAll(t, p.smtp, "bob@example.net", corpus[1:3])
	}
}

// TestWaitForAnAttachmentTypeAndAFailingSignature runs the program as a
// suite in another language would: it waits, in the JSON form and in the
// query form, for mail that has not arrived yet (a PDF attachment; a
// signature of example.com that fails for its body hash), and expects
// such mail, met, then not met with the diff of the nearest message.
func TestWaitForAnAttachmentTypeAndAFailingSignature(t *testing.T) {
	t.Parallel()
	_, key, keyFile := arcFixture(t)
	corpus := elementCorpus(t, key)
	p := start(t, nil, "-log-level", "debug", "-quiet", "-dkim-key", "example.com:mail:"+keyFile)
	send := func(i int) { sendMail(t, p.smtp, "shop@example.com", []string{"bob@example.net"}, corpus[i-1]) }

	done := waitAsync(t, p, "/api/wait?timeout=20s&want="+url.QueryEscape(`{"attachment": [{"contentType": "application/pdf"}]}`))
	send(1) // message 1: no attachment
	send(5) // 2: a text attachment
	send(2) // 3: a PDF
	if got := <-done; !cmp.Equal(got, [2]any{200, []int{3}}) {
		t.Fatalf("wait for a PDF = %v, want 200 with message 3", got)
	}
	done = waitAsync(t, p, "/api/wait?timeout=20s&dkim=example.com&dkimStatus=fail&dkimReason=body+hash")
	send(6) // 4: unsigned
	send(3) // 5: example.com fails, body hash
	if got := <-done; !cmp.Equal(got, [2]any{200, []int{5}}) {
		t.Fatalf("wait for a failing signature = %v, want 200 with message 5", got)
	}

	postJSON(t, p, "POST", "/api/expectations", `{"want": {"dkim": [{"domain": "example.com", "status": "fail", "reason": "body hash"}]}, "declaredAt": "test_signer.py:12"}`, 201, nil)
	postJSON(t, p, "POST", "/api/expectations", `{"want": {"attachment": [{"filename": "report.pdf", "contentType": "application/pdf", "data": "`+
		base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 report"))+`"}]}}`, 201, nil)
	if code, report := check(t, p, ""); code != 200 {
		t.Fatalf("check: %d\n%s", code, report)
	}
	postJSON(t, p, "POST", "/api/expectations", `{"want": {"subject": "Your files again", "textContains": "files!", "dkim": ["example.com"]}, "declaredAt": "test_signer.py:20"}`, 201, nil)
	code, report := check(t, p, "")
	words := strings.Join(strings.Fields(strings.ReplaceAll(report, "\u00a0", " ")), " ")
	for _, want := range []string{
		`expectation at test_signer.py:20 not met: want exactly 1 message like this, got 0: Want{Subject: "Your files again", TextContains: "files!", DKIM: [{Domain: "example.com", Status: "pass"}]} nearest: message 5 `,
		`- Status: "pass", + Status: "fail",`, `+ Reason: "body hash mismatch: the body changed after signing",`,
	} {
		if code != 417 || !strings.Contains(words, want) {
			t.Errorf("check: %d, the report lacks %q:\n%s", code, want, report)
		}
	}
}

// TestFilterElementErrors: the errors of the new forms name the
// parameter, the key or the element at fault; the old forms keep their
// errors.
func TestFilterElementErrors(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet")
	want := func(j string) string { return "want=" + url.QueryEscape(j) }
	for _, tt := range []struct{ query, want string }{
		{"attachment=a.pdf&attachment=b.pdf&attachmentContentType=application/pdf", "attachmentContentType describes one attachment, and attachment is given 2 times: which one would be a guess; give the filter as want, in JSON"},
		{"dkim=a.example&dkim=b.example&dkimReason=body", "dkimReason describes one DKIM signature, and dkim is given 2 times"},
		{"attachmentContentType=a/b&attachmentContentType=c/d", "attachmentContentType given 2 times: give it once (it describes one attachment; for several, give the filter as want, in JSON)"},
		{"dkimStatus=passed", `dkimStatus: unknown status "passed": want "pass", "fail", "permerror" or "temperror"`},
		{"dkim=example.com&dkimStatus=", "dkimStatus is empty"},
		// As in Go: a passing signature has no reason.
		{"dkimReason=body+hash", `dkimReason: only a signature that did not pass has a reason (Status is "pass"): set Status to "fail", "permerror" or "temperror"`},
		{want(`{"dkim": [{"domain": "example.com", "status": "pass", "reason": "body"}]}`), `want: dkim[0].reason: only a signature that did not pass has a reason`},
		{"dkimselector=s", `unknown query parameter "dkimselector" (did you mean "dkimSelector"?)`},
		{"Want={}", `unknown query parameter "Want" (did you mean "want"?)`},
		{want(`{}`) + "&" + want(`{}`), "want given 2 times: give it once"},
		{want(`{}`) + "&subject=x&dkimStatus=fail&header.X-A=1", "want and dkimStatus, header.X-A, subject: give the filter either as want (JSON) or as parameters"},
		{want(`[`), "want: want an object, such as"},
		// Not "no filter": a filter that was lost on the way.
		{"want=", "want is empty: leave it out to match any message"},
		{want(`null`), "want is null: give an object, such as"},
		{want(` null `), "want is null"},
		{want(`{"attachment": [{"data": "not base64!"}]}`), "want: attachment[0].data: want the content in base64 (RFC 4648, with padding): illegal base64 data at input byte 3"},
		{want(`{"attachment": [{"data": "AAA"}]}`), "want: attachment[0].data: want the content in base64"},
		{want(`{"attachment": ["a.pdf", {"type": "x"}]}`), `want: attachment[1]: unknown key "type"; the keys are: filename, contentType, data`},
		{want(`{"attachment": [{"contenttype": "x"}]}`), `want: attachment[0]: unknown key "contenttype" (did you mean "contentType"?)`},
		{want(`{"attachment": [{"filename": ""}]}`), "want: attachment[0].filename is empty: leave it out to match any"},
		{want(`{"attachment": [{"filename": ["a.pdf"]}]}`), "want: attachment[0].filename: want a string"},
		{want(`{"attachment": [{"data": 12}]}`), "want: attachment[0].data: want a string"},
		{want(`{"attachment": [""]}`), "want: attachment[0] is empty: give a file name, or an object ({} for any)"},
		{want(`{"attachment": [1]}`), "want: attachment[0]: want a file name or an object of filename, contentType, data"},
		{want(`{"attachment": [null]}`), "want: attachment[0]: want a file name or an object"},
		{want(`{"attachment": []}`), "want: attachment is empty: leave it out to match any message"},
		{want(`{"attachment": "a.pdf"}`), `want: attachment: want a list of file names and objects, such as [{"filename": …}]`},
		{want(`{"dkim": [{"status": "passed"}]}`), `want: dkim[0].status: unknown status "passed": want "pass", "fail", "permerror" or "temperror"`},
		{want(`{"dkim": ["example.com", {"domain": "example.org", "status": "Fail"}]}`), `want: dkim[1].status: unknown status "Fail"`},
		{want(`{"dkim": [{"reason": ""}]}`), "want: dkim[0].reason is empty"},
		{want(`{"dkim": [{"selecter": "s"}]}`), `want: dkim[0]: unknown key "selecter" (did you mean "selector"?); the keys are: domain, selector, status, reason`},
		{want(`{"dkimStatus": "fail"}`), `want: unknown key "dkimStatus" (a query parameter: in JSON, give "dkim" a list of objects, such as [{"status": …}])`},
		{want(`{"attachmentContentType": "a/b"}`), `want: unknown key "attachmentContentType" (a query parameter: in JSON, give "attachment" a list of objects, such as [{"contentType": …}]); the keys are: from, to,`},
		{want(`{"Subject": "x"}`), `want: unknown key "Subject" (did you mean "subject"?)`},
		{want(`{"subjectMatches": "("}`), "want: subjectMatches: invalid regular expression"},
		{want(`{"arc": "passed"}`), `want: arc: unknown status "passed"`},
		// A key given twice, at any level: not the last silently.
		{want(`{"to": ["a@example.com"], "to": ["b@example.com"]}`), `want: duplicate key "to": give it once`},
		{want(`{"subject": "a", "\u0073ubject": "b"}`), `want: duplicate key "subject"`},
		{want(`{"header": {"X-A": "1", "X-A": "2"}}`), `want: header: duplicate key "X-A"`},
		{want(`{"attachment": [{"filename": "a.pdf", "filename": "b.pdf"}]}`), `want: attachment[0]: duplicate key "filename"`},
		{want(`{"dkim": ["example.com", {"status": "fail", "domain": "a.example", "status": "pass"}]}`), `want: dkim[1]: duplicate key "status"`},
	} {
		for _, path := range []string{"/api/messages?", "/api/wait?timeout=10ms&"} {
			res, b := do(t, p, "GET", path+tt.query, "")
			var e errorJSON
			if err := json.Unmarshal(b, &e); err != nil || res.StatusCode != 400 || !strings.Contains(e.Error, tt.want) {
				t.Errorf("GET %s%s: %d %s, want 400 with %q", path, tt.query, res.StatusCode, b, tt.want)
			}
		}
		// The JSON form's errors are POST /api/expectations's.
		if j, ok := strings.CutPrefix(tt.query, "want="); ok && !strings.Contains(j, "&") && strings.HasPrefix(tt.want, "want: ") {
			j, _ = url.QueryUnescape(j)
			if !json.Valid([]byte(j)) {
				continue // a body that is not JSON at all
			}
			res, b := do(t, p, "POST", "/api/expectations", `{"want": `+j+`}`)
			var e errorJSON
			if err := json.Unmarshal(b, &e); err != nil || res.StatusCode != 400 || !strings.Contains(e.Error, "POST /api/expectations: "+tt.want) {
				t.Errorf("POST /api/expectations {\"want\": %s}: %d %s, want 400 with %q", j, res.StatusCode, b, tt.want)
			}
		}
	}
	// A want that sets no field is no filter: a wait for count messages.
	sendMail(t, p.smtp, "app@example.com", []string{"bob@example.com"}, mailTo("bob@example.com", "hi", "1", "x"))
	var ms []messageJSON
	getJSON(t, p, "/api/wait?"+want(`{}`), 200, &ms)
	getJSON(t, p, "/api/wait?"+want(`{"header": {}}`), 200, &ms)
	if len(ms) != 1 {
		t.Errorf("a wait with want={}: %d messages, want 1", len(ms))
	}
}

// A list of attachments or signatures over maxWantElements is refused
// for its length before its elements are decoded: a body of 1 MiB of
// "{}," (about 350,000 elements) cost a decoded value each, seconds of
// the server's time under the race detector.
func TestLongElementListRefusedBeforeDecoding(t *testing.T) {
	raw := json.RawMessage("[" + strings.Repeat("{},", 1<<20/3) + "{}]")
	var err error
	allocs := testing.AllocsPerRun(3, func() {
		_, err = elementsFromJSON("attachment", raw, "file name", func(s string) mocksmtp.WantAttachment { return mocksmtp.WantAttachment{Filename: s} }, attachmentKeys)
	})
	if want := fmt.Sprintf("attachment: %d elements: give at most %d", 1<<20/3+1, maxWantElements); err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
	if allocs > 100 {
		t.Errorf("refusing %d elements took %v allocations, want at most 100", 1<<20/3+1, allocs)
	}
}

// arrayLen counts what encoding/json counts, whatever the elements hold:
// commas, brackets and escaped quotes in strings, nested lists, blanks.
func TestArrayLenCountsAsJSONDoes(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		`[]`, ` [ ] `, "[\t\r\n]", `[1]`, `[1,2]`, ` [ "a" , "b" ] `, `["a,b"]`, `["[","{"]`,
		`["\"", ","]`, `["\\", ","]`, `["\\\"", 1]`, `[[1,2],[3]]`, `[{"a":[1,2],"b":"]"},{}]`,
		`[null,true,false,{},[]]`, `["\u002c", ","]`, `[{"x":"}\\\"}"}, "y"]`,
	} {
		var list []json.RawMessage
		if err := json.Unmarshal([]byte(raw), &list); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if n, ok := arrayLen([]byte(raw)); !ok || n != len(list) {
			t.Errorf("arrayLen(%s) = %d, %v; want %d", raw, n, ok, len(list))
		}
	}
	for _, raw := range []string{`{}`, `"[1,2]"`, `null`, `12`} {
		if n, ok := arrayLen([]byte(raw)); ok {
			t.Errorf("arrayLen(%s) = %d, true; want no array", raw, n)
		}
	}
}
