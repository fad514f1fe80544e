package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/smtp"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
)

// orderMail is an order confirmation as a template renders it, DKIM
// signed, with what changes from run to run as parameters: the
// recipient, the MIME boundaries, the Message-ID, the Date, a reset token
// and a sign-in code.
func orderMail(t *testing.T, to, outer, inner, id, date, token, code string) string {
	t.Helper()
	msg := "From: Shop <shop@example.com>\r\nTo: Bob <" + to + ">\r\n" +
		"Subject: =?UTF-8?Q?Your_order_=E2=84=96_1234?=\r\nDate: " + date + "\r\nMessage-ID: <" + id + ">\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n boundary=\"" + outer + "\"\r\n\r\n" +
		"--" + outer + "\r\nContent-Type: multipart/alternative; boundary=" + inner + "\r\n\r\n" +
		"--" + inner + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"Hello Bob,\r\nyour order of 12,50 =E2=82=AC is on its way.\r\n" +
		"Reset your password: https://shop.example.com/reset?token=3D" + token + "\r\nYour code: " + code + "\r\n" +
		"--" + inner + "\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
		"<p>Hello <b>Bob</b>, <a href=\"https://shop.example.com/reset?token=" + token + "\">reset</a></p>\r\n" +
		"--" + inner + "--\r\n" +
		"--" + outer + "\r\nContent-Type: application/pdf; name=\"invoice.pdf\"\r\n" +
		"Content-Disposition: attachment; filename=\"invoice.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		"JVBERi0xLjQKJcfsj6IK\r\n--" + outer + "--\r\n"
	var signed bytes.Buffer
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	if err := dkim.Sign(&signed, strings.NewReader(msg), &dkim.SignOptions{Domain: "example.com", Selector: "shop", Signer: key}); err != nil {
		t.Fatal(err)
	}
	return signed.String()
}

// orderMasks are the masks of the order's snapshot, as query parameters
// and as the Go API's options: the recipient's domain, the token, the code
// (by its group), and a mask that only works after the first, in order.
var orderMasks = []struct{ re, replacement string }{
	{`run-\d+\.example`, "<run>.example"},
	{`token=(3D)?\w+`, "token=$1<token>"},
	{`(Your code:) \d{6}`, "$1 → <code>"},
	{`<token>`, "<TOKEN>"},
}

func orderQuery() string {
	q := url.Values{}
	for _, m := range orderMasks {
		q.Add("mask", m.re)
		q.Add("replacement", m.replacement)
	}
	return q.Encode() // the masks together, then the replacements: pairs by rank
}

func orderOptions() []mocksmtp.GoldenOption {
	var opts []mocksmtp.GoldenOption
	for _, m := range orderMasks {
		opts = append(opts, mocksmtp.Mask(regexp.MustCompile(m.re), m.replacement))
	}
	return opts
}

// maskTranscript applies orderMasks to a normalized transcript, as the
// program does.
func maskTranscript(s string) string {
	for _, m := range orderMasks {
		s = regexp.MustCompile(m.re).ReplaceAllString(s, m.replacement)
	}
	return s
}

// startNormalizing serves the API of a fresh server in this process
// (startInProcess), its masks bounded by maxMasked, and returns the
// server, the API's address and its debug log.
func startNormalizing(t *testing.T, maxMasked int, to httpTimeouts) (*mocksmtp.Server, string, *output) {
	t.Helper()
	return startInProcess(t, to, func(a *api) { a.maxMasked = maxMasked })
}

// answer is an HTTP answer: its status, Content-Type and body.
type answer struct {
	status      int
	contentType string
	body        string
}

// getLater GETs path from the API at addr in a goroutine of its own, for
// a request that waits, and gives its answer (a failure in the body).
func getLater(addr, path string) <-chan answer {
	done := make(chan answer, 1)
	go func() {
		res, err := httpClient.Get("http://" + addr + path)
		if err != nil {
			done <- answer{body: err.Error()}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			b = []byte(err.Error())
		}
		done <- answer{res.StatusCode, res.Header.Get("Content-Type"), string(b)}
	}()
	return done
}

// get GETs path from the API at addr.
func get(t *testing.T, addr, path string) answer {
	t.Helper()
	res, err := httpClient.Get("http://" + addr + path)
	if err != nil {
		t.Fatalf("GET %.200s: %.300v", path, err) // err has the URL: a mask may be 1 MiB
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %.200s: reading the body: %v", path, err)
	}
	return answer{res.StatusCode, res.Header.Get("Content-Type"), string(b)}
}

// getNormalized GETs a normalized form and fails t unless it is a 200 of
// text/plain.
func getNormalized(t *testing.T, addr, path string) string {
	t.Helper()
	a := get(t, addr, path)
	if a.status != http.StatusOK || a.contentType != "text/plain; charset=utf-8" {
		t.Fatalf("GET %.200s: %d %s %.500s, want 200 text/plain", path, a.status, a.contentType, a.body)
	}
	return a.body
}

// errorOf returns the error of a JSON answer, and fails t unless it is
// one with the status want.
func errorOf(t *testing.T, path string, a answer, want int) string {
	t.Helper()
	var e errorJSON
	if err := json.Unmarshal([]byte(a.body), &e); a.status != want || a.contentType != "application/json; charset=utf-8" || err != nil {
		t.Errorf("GET %.200s: %d %s %.500s, want a JSON error %d", path, a.status, a.contentType, a.body, want)
	}
	return e.Error
}

// Two sends of a template that differ only in what normalization and the
// masks remove read the same over HTTP, and exactly as the Go API's
// Message.Normalized writes each of them; so do their transcripts, as
// Transcript.Normalized.
func TestNormalizedFormsAreTheGoAPIs(t *testing.T) {
	t.Parallel()
	srv, addr, _ := startNormalizing(t, maxMaskedBytes, defaultHTTPTimeouts)
	runs := []struct{ helo, to, outer, inner, id, date, token, code string }{
		{"ci-7f3a.example", "bob@run-1.example", "=_outer_1", "inner-a", "a1@example.com", "Tue, 24 Nov 2026 18:41:56 +0100", "8f3a9c1d", "493817"},
		{"laptop.local", "bob@run-22.example", "----=_Part_77", "alt_XYZ", "b2.x@mail.example.com", "Wed, 25 Nov 2026 07:00:00 +0000", "0000ffff", "111222"},
	}
	for _, r := range runs {
		c, err := smtp.Dial(srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Hello(r.helo); err != nil {
			t.Fatal(err)
		}
		sendOver(t, c, "shop@example.com", r.to, orderMail(t, r.to, r.outer, r.inner, r.id, r.date, r.token, r.code))
		if err := c.Quit(); err != nil {
			t.Fatal(err)
		}
	}
	ms := srv.WaitForMessages(t, 2)

	var messages, transcripts []string
	for i, m := range ms {
		path := fmt.Sprintf("/api/messages/%d/normalized", m.ID)
		if got, want := getNormalized(t, addr, path), m.Normalized(); got != want {
			t.Errorf("GET %s (-Go +HTTP):\n%s", path, cmp.Diff(want, got))
		}
		got := getNormalized(t, addr, path+"?"+orderQuery())
		if want := m.Normalized(orderOptions()...); got != want {
			t.Errorf("GET %s with masks (-Go +HTTP):\n%s", path, cmp.Diff(want, got))
		}
		for _, leak := range []string{runs[i].to, runs[i].token, runs[i].code, runs[i].id, runs[i].date, runs[i].inner} {
			if strings.Contains(got, leak) {
				t.Errorf("GET %s: %q is still there:\n%s", path, leak, got)
			}
		}
		messages = append(messages, got)

		path = fmt.Sprintf("/api/sessions/%d/normalized", m.Session.ID)
		plain := getNormalized(t, addr, path) // once the session has ended
		if want := srv.Session(m.Session.ID).Normalized(); plain != want {
			t.Errorf("GET %s (-Go +HTTP):\n%s", path, cmp.Diff(want, plain))
		}
		got = getNormalized(t, addr, path+"?"+orderQuery())
		if want := maskTranscript(plain); got != want {
			t.Errorf("GET %s with masks (-want +got):\n%s", path, cmp.Diff(want, got))
		}
		transcripts = append(transcripts, got)
	}
	if diff := cmp.Diff(messages[0], messages[1]); diff != "" {
		t.Errorf("the two sends' messages normalize differently (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff(transcripts[0], transcripts[1]); diff != "" {
		t.Errorf("the two sends' transcripts normalize differently (-first +second):\n%s", diff)
	}
	// Not equal for want of anything to compare: the forms have what a
	// snapshot pins, and the masks did their work, in order.
	for _, want := range []string{
		"To: Bob <bob@<run>.example>\n", "Subject: Your order № 1234\n", "Date: <date>\n", "Message-ID: <message-id>\n",
		`boundary="<boundary-2>"`, "b=<b>", "bh=<bh>", "--- part 1.1: text/plain\n",
		"Reset your password: https://shop.example.com/reset?token=<TOKEN>\n", "Your code: → <code>\n",
		`--- part 2: application/pdf, "invoice.pdf"`, " bytes, sha256 ",
	} {
		if !strings.Contains(messages[0], want) {
			t.Errorf("the normalized message lacks %q:\n%s", want, messages[0])
		}
	}
	for _, want := range []string{"C: EHLO <client>\n", "C: RCPT TO:<bob@<run>.example>\n", "*: message 1 accepted: <n> octets", "C: QUIT\nS: 221 "} {
		if !strings.Contains(transcripts[0], want) {
			t.Errorf("the normalized transcript lacks %q:\n%s", want, transcripts[0])
		}
	}
}

// A live session's transcript still grows: the route waits for its end
// and never answers with part of it.
func TestNormalizedTranscriptWaitsForTheSessionToEnd(t *testing.T) {
	t.Parallel()
	srv, addr, log := startNormalizing(t, maxMaskedBytes, defaultHTTPTimeouts)
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sendOver(t, c, "app@example.com", "bob@example.com", "Subject: Hi\r\n\r\nHello.\r\n")
	m := srv.WaitForMessages(t, 1)[0]
	// The message is complete: its form does not wait.
	if got, want := getNormalized(t, addr, "/api/messages/1/normalized"), m.Normalized(); got != want {
		t.Errorf("the message of a live session (-Go +HTTP):\n%s", cmp.Diff(want, got))
	}

	path := "/api/sessions/1/normalized"
	e := errorOf(t, path, get(t, addr, path+"?timeout=10ms"), http.StatusRequestTimeout)
	for _, want := range []string{"waited 10ms for session 1 to end, and it is still open", "C: DATA\n", "S: 250 2.0.0 Ok: queued"} {
		if !strings.Contains(e, want) {
			t.Errorf("408 of a live session: %q lacks %q", e, want)
		}
	}

	done := getLater(addr, path+"?timeout=20s")
	log.waitFor(t, regexp.MustCompile(`(?s)path=/api/sessions/1/normalized .*path=/api/sessions/1/normalized `))
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	a := <-done
	want := srv.Session(1).Transcript.Normalized()
	if a.status != http.StatusOK || a.body != want || !strings.HasSuffix(want, "C: QUIT\nS: 221 2.0.0 Bye\n") {
		t.Errorf("GET %s during the session: %d %q, want 200 and the whole transcript, as Go's:\n%s", path, a.status, a.body, want)
	}
}

// A session not yet started is waited for, as WaitForSessionEnd waits:
// a suite may ask before its client connected. One the server keeps no
// longer is 404 at once.
func TestNormalizedTranscriptOfASessionToCome(t *testing.T) {
	t.Parallel()
	srv, addr, log := startNormalizing(t, maxMaskedBytes, defaultHTTPTimeouts)
	path := "/api/sessions/1/normalized"
	done := getLater(addr, path+"?timeout=20s")
	log.waitFor(t, regexp.MustCompile(`path=/api/sessions/1/normalized `))
	sendMail(t, srv.Addr(), "app@example.com", []string{"bob@example.com"}, "Subject: Hi\r\n\r\nHello.\r\n")
	a := <-done
	want := srv.WaitForSessionEnd(t, 1).Transcript.Normalized()
	if a.status != http.StatusOK || a.body != want || !strings.HasSuffix(want, "C: QUIT\nS: 221 2.0.0 Bye\n") {
		t.Errorf("GET %s before the session: %d %q, want 200 and the whole transcript, as Go's:\n%s", path, a.status, a.body, want)
	}

	req, err := http.NewRequest("DELETE", "http://"+addr+"/api/messages", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE /api/messages: %d, want 204", res.StatusCode)
	}
	if e := errorOf(t, path, get(t, addr, path+"?timeout=10m"), http.StatusNotFound); !strings.Contains(e, "no session 1: mocksmtp keeps it no longer (DELETE /api/messages or -retain forgot it)") {
		t.Errorf("GET %s of a forgotten session: %q", path, e)
	}
}

// The route waits past the server's read and write timeouts, as the other
// waits do.
func TestNormalizedTranscriptOutlastsTheHTTPTimeouts(t *testing.T) {
	t.Parallel()
	short := 200 * time.Millisecond
	srv, addr, _ := startNormalizing(t, maxMaskedBytes, httpTimeouts{readHeader: time.Second, read: time.Second, write: short, idle: short})
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("live.example"); err != nil {
		t.Fatal(err)
	}
	path := "/api/sessions/1/normalized?timeout=2s"
	if e := errorOf(t, path, get(t, addr, path), http.StatusRequestTimeout); !strings.Contains(e, "waited 2s for session 1 to end") {
		t.Errorf("GET %s: %q, want a 408 after 2s", path, e)
	}
}

func TestNormalizedBadRequests(t *testing.T) {
	t.Parallel()
	srv, addr, _ := startNormalizing(t, maxMaskedBytes, defaultHTTPTimeouts)
	sendMail(t, srv.Addr(), "app@example.com", []string{"bob@example.com"}, "Subject: Hi\r\n\r\nHello.\r\n")
	srv.WaitForSessions(t, 1)
	const msg, sess = "/api/messages/1/normalized", "/api/sessions/1/normalized"
	for _, tt := range []struct {
		path   string
		status int
		want   []string // in the error
		not    string   // not in the error
	}{
		{msg + "?mask=(&replacement=x", 400, []string{"mask 1, \"(\": error parsing regexp: missing closing ): `(`", "Go's syntax"}, ""},
		{sess + "?mask=(&replacement=x", 400, []string{"mask 1, \"(\": error parsing regexp: missing closing )"}, ""},
		{msg + "?mask=ok&replacement=a&mask=" + url.QueryEscape("(?=x)") + "&replacement=b&mask=[&replacement=c", 400,
			[]string{"mask 2, \"(?=x)\": error parsing regexp: invalid or unsupported Perl syntax: `(?=`", "; mask 3, \"[\": error parsing regexp: missing closing ]"}, "mask 1"},
		{msg + "?mask=&replacement=x", 400, []string{"mask 1 is empty"}, ""},
		{sess + "?mask=a", 400, []string{"1 mask and 0 replacements: give one replacement= for each mask=, in the same order"}, ""},
		{msg + "?mask=(", 400, []string{"1 mask and 0 replacements", "; mask 1, \"(\": error parsing regexp"}, ""},
		{msg + "?replacement=x", 400, []string{"0 masks and 1 replacement"}, ""},
		{msg + "?mask=a&mask=b&replacement=x", 400, []string{"2 masks and 1 replacement"}, ""},
		{msg + "?Mask=a&replacement=x", 400, []string{`unknown query parameter "Mask" (did you mean "mask"?); the parameters are: mask, replacement`}, ""},
		{sess + "?count=1", 400, []string{`unknown query parameter "count"; the parameters are: mask, replacement, timeout`}, ""},
		{sess + "?timeout=soon", 400, []string{`timeout="soon": want a duration`}, ""},
		{sess + "?timeout=11m", 400, []string{`timeout="11m": want a duration such as 5s or 500ms, at most 10m0s`}, ""},
		{"/api/messages/x/normalized", 400, []string{`id "x": want a number`}, ""},
		{"/api/sessions/-1/normalized", 400, []string{`id "-1": want a number`}, ""},
		{"/api/messages/99/normalized", 404, []string{"no message 99"}, ""},
		{"/api/sessions/0/normalized?timeout=20s", 404, []string{"no session 0: session IDs start at 1"}, ""},
		{"/api/sessions/99/normalized?timeout=10ms", 408, []string{"waited 10ms for session 99 to end, and it has not started"}, ""},
		// Masks are checked before the message is looked for.
		{"/api/messages/99/normalized?mask=(&replacement=", 400, []string{"mask 1"}, ""},
	} {
		e := errorOf(t, tt.path, get(t, addr, tt.path), tt.status)
		for _, want := range tt.want {
			if !strings.Contains(e, want) {
				t.Errorf("GET %s: %q lacks %q", tt.path, e, want)
			}
		}
		if tt.not != "" && strings.Contains(e, tt.not) {
			t.Errorf("GET %s: %q names %q, which is valid", tt.path, e, tt.not)
		}
	}
}

// masksQuery returns n masks that change nothing, and then q.
func masksQuery(n int, q url.Values) string {
	v := url.Values{}
	for range n {
		v.Add("mask", "zzz")
		v.Add("replacement", "zzz")
	}
	for k, vs := range q {
		v[k] = append(v[k], vs...)
	}
	return v.Encode()
}

// The limits of the masks: how many, and how much they may make of a
// form, at N-1, N, N+1 and 2N, and with 1 MiB+1 octets.
func TestNormalizedMaskLimits(t *testing.T) {
	t.Parallel()
	const raw = "Subject: Hi\r\n\r\nHello Bob.\r\n"
	base := len((&mocksmtp.Message{Raw: []byte(raw)}).Normalized())
	limit := base + 1000
	srv, addr, _ := startNormalizing(t, limit, defaultHTTPTimeouts)
	sendMail(t, srv.Addr(), "app@example.com", []string{"bob@example.com"}, raw)
	ms := srv.WaitForMessages(t, 1)
	srv.WaitForSessions(t, 1)
	const msg = "/api/messages/1/normalized?"

	t.Run("count", func(t *testing.T) {
		for _, n := range []int{99, 100} {
			path := msg + masksQuery(n, nil)
			if got := getNormalized(t, addr, path); got != ms[0].Normalized() {
				t.Errorf("%d masks that change nothing: %q", n, got)
			}
		}
		for _, n := range []int{101, 200} {
			path := msg + masksQuery(n, nil)
			if e := errorOf(t, path, get(t, addr, path), 400); e != fmt.Sprintf("%d masks: give at most 100", n) {
				t.Errorf("%d masks: %q", n, e)
			}
		}
	})
	t.Run("size", func(t *testing.T) {
		// "Hello" becomes a replacement that makes the form size octets.
		for _, size := range []int{limit - 1, limit, limit + 1, 2 * limit} {
			repl := strings.Repeat("x", size-base+len("Hello"))
			path := msg + url.Values{"mask": {"Hello"}, "replacement": {repl}}.Encode()
			a := get(t, addr, path)
			if size > limit {
				want := fmt.Sprintf(`message 1: mask 1, "Hello": its 1 replacement would make the normalized form larger than %d octets`, limit)
				if e := errorOf(t, path, a, 400); e != want {
					t.Errorf("a form of %d octets, the limit %d: %q, want %q", size, limit, e, want)
				}
				continue
			}
			want := ms[0].Normalized(mocksmtp.Mask(regexp.MustCompile("Hello"), repl))
			if a.status != 200 || a.body != want || len(a.body) != size {
				t.Errorf("a form of %d octets, the limit %d: %d, %d octets, as Go's: %v", size, limit, a.status, len(a.body), a.body == want)
			}
		}
		// The transcript's form too.
		path := "/api/sessions/1/normalized?" + url.Values{"mask": {"QUIT"}, "replacement": {strings.Repeat("x", 2*limit)}}.Encode()
		if e := errorOf(t, path, get(t, addr, path), 400); !strings.Contains(e, "session 1: mask 1, \"QUIT\": its 1 replacement would make the normalized form larger than") {
			t.Errorf("a transcript made too large: %q", e)
		}
	})
	t.Run("1 MiB+1", func(t *testing.T) {
		srv, addr, _ := startNormalizing(t, maxMaskedBytes, defaultHTTPTimeouts)
		sendMail(t, srv.Addr(), "app@example.com", []string{"bob@example.com"}, raw)
		big := strings.Repeat(strings.Repeat("a", 76)+"\r\n", (1<<20)/77+1) // more than 1 MiB of text, with LF line breaks
		sendMail(t, srv.Addr(), "app@example.com", []string{"bob@example.com"}, "Subject: Big\r\n\r\n"+big)
		ms := srv.WaitForMessages(t, 2)
		if len(ms[1].Text) <= 1<<20 {
			t.Fatalf("the big message has %d octets of text, want more than 1 MiB", len(ms[1].Text))
		}
		one := strings.Repeat("a", 1<<20+1)
		for _, tt := range []struct {
			name   string
			id     int
			q      url.Values
			status int
		}{
			{"a mask of 64 KiB", 1, url.Values{"mask": {one[:maxRegexps]}, "replacement": {"b"}}, 200},
			{"an invalid mask of 64 KiB", 1, url.Values{"mask": {"(" + one[:maxRegexps-1]}, "replacement": {"b"}}, 400},
			{"a mask of 1 MiB+1 octets", 1, url.Values{"mask": {one}, "replacement": {"b"}}, 400},
			{"an invalid mask of 1 MiB+1 octets", 1, url.Values{"mask": {"(" + one}, "replacement": {"b"}}, 400},
			// Each line of the form, 70 times: 70 MiB.
			{"a mask whose groups would make 70 MiB", 2, url.Values{"mask": {"a+"}, "replacement": {strings.Repeat("$0", 70)}}, 400},
			{"a replacement of 1 MiB+1 octets", 2, url.Values{"mask": {"(?m)^Subject: Big$"}, "replacement": {one}}, 200},
			{"a mask in a form of 1 MiB+1 octets", 2, url.Values{"mask": {`\n`}, "replacement": {"\r\n"}}, 200},
			// 10,000 octets for each of its 13,600 lines and more: 130 MiB.
			{"a mask that would make 130 MiB", 2, url.Values{"mask": {`\n`, "b"}, "replacement": {strings.Repeat("b", 10000), strings.Repeat("c", 1024)}}, 400},
			{"a query larger than the server takes", 1, url.Values{"mask": {one + one}, "replacement": {""}}, http.StatusRequestHeaderFieldsTooLarge},
		} {
			path := fmt.Sprintf("/api/messages/%d/normalized?%s", tt.id, tt.q.Encode())
			a := get(t, addr, path)
			switch tt.status {
			case 200:
				var opts []mocksmtp.GoldenOption
				for i, re := range tt.q["mask"] {
					opts = append(opts, mocksmtp.Mask(regexp.MustCompile(re), tt.q["replacement"][i]))
				}
				if want := ms[tt.id-1].Normalized(opts...); a.status != 200 || a.body != want {
					t.Errorf("%s: %d, %d octets, as Go's: %v", tt.name, a.status, len(a.body), a.body == want)
				}
			case 400:
				re := tt.q["mask"][0]
				var want string
				switch note := fmt.Sprintf("… (%d octets)", len(re)); {
				case len(re) > maxRegexps:
					want = fmt.Sprintf("mask 1 %q: too long: give regular expressions of at most %d octets in all", re[:maxQuoted-len(note)]+note, maxRegexps)
				case strings.HasPrefix(re, "("):
					cut := re[:maxQuoted-len(note)] + note // all ASCII
					want = "mask 1, \"" + cut + "\": error parsing regexp: missing closing ): `" + cut + "` (a mask is a regular expression in Go's syntax, such as token=\\w+)"
				default:
					n := len(regexp.MustCompile(re).FindAllStringIndex(ms[1].Normalized(), -1))
					want = fmt.Sprintf(`message 2: mask 1, %q: its %d replacements would make the normalized form larger than 64 MiB`, re, n)
				}
				if e := errorOf(t, path, a, 400); e != want {
					t.Errorf("%s: %.300q, want %.300q", tt.name, e, want)
				}
			default:
				if a.status != tt.status {
					t.Errorf("%s: %d, want %d", tt.name, a.status, tt.status)
				}
			}
		}
	})
}

// A wait in flight ends when the program shuts down.
func TestNormalizedTranscriptEndsOnShutdown(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-log-level", "debug")
	c, err := smtp.Dial(p.smtp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("live.example"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan answer, 1)
	go func() {
		req, err := newRequest(ctx, p, "GET", "/api/sessions/1/normalized?timeout=5m", nil)
		if err != nil {
			done <- answer{body: err.Error()}
			return
		}
		res, err := httpClient.Do(req)
		if err != nil {
			done <- answer{body: err.Error()}
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		done <- answer{res.StatusCode, res.Header.Get("Content-Type"), string(b)}
	}()
	p.stderr.waitFor(t, regexp.MustCompile(`msg=http method=GET path=/api/sessions/1/normalized`))
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a := <-done
	if e := errorOf(t, "/api/sessions/1/normalized", a, http.StatusServiceUnavailable); e != "mocksmtp is shutting down" {
		t.Errorf("a wait at shutdown: %q", e)
	}
}
