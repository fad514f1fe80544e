package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mocksmtp/mocksmtp"
)

// withoutWhere drops the " (file.go:12)" a fault's description ends with.
func withoutWhere(s string) string {
	return regexp.MustCompile(` \([^()]*:\d+\)$`).ReplaceAllString(s, "")
}

func TestFaultJSONMapsOntoTheGoAPI(t *testing.T) {
	t.Parallel()
	rcpt, mail := mocksmtp.At(mocksmtp.StageRcpt), mocksmtp.At(mocksmtp.StageMail)
	tests := []struct {
		name string
		json string
		want mocksmtp.Fault
	}{
		{"reply as text, disconnect", `{"at": "RCPT", "onAttempt": [1], "reply": "421 4.3.2 try later", "disconnect": true}`,
			rcpt.OnAttempt(1).Reply(421, "4.3.2 try later").Disconnect()},
		{"reply as object", `{"at": "rcpt", "reply": {"code": 550, "text": "5.1.1 no such user"}}`,
			rcpt.Reply(550, "5.1.1 no such user")},
		{"stage names in any case", `{"at": "StageMail", "forSender": ["*@spam.example"], "drop": true}`,
			mail.ForSender("*@spam.example").Drop()},
		{"selectors", `{"at": "RCPT", "atMost": 2, "forRcpt": ["a@x", "*@y"], "withProbability": 0.5, "resetTCP": true}`,
			rcpt.AtMost(2).ForRcpt("a@x", "*@y").WithProbability(0.5).ResetTCP()},
		{"delay", `{"at": "DATA", "delay": "1.5s"}`, mocksmtp.At(mocksmtp.StageData).Delay(1500 * time.Millisecond)},
		{"raw reply, half-close", `{"at": "greeting", "rawReply": "220 no CRLF", "halfClose": true}`,
			mocksmtp.At(mocksmtp.StageGreeting).RawReply("220 no CRLF").HalfClose()},
		{"stall", `{"at": "connect", "stall": true}`, mocksmtp.At(mocksmtp.StageConnect).Stall()},
		{"trickle", `{"at": "HELO", "trickle": {"n": 1, "every": "10ms"}}`,
			mocksmtp.At(mocksmtp.StageHelo).Trickle(1, 10*time.Millisecond)},
		{"split reply", `{"at": "QUIT", "splitReply": {"at": 3, "pause": "20ms"}}`,
			mocksmtp.At(mocksmtp.StageQuit).SplitReply(3, 20*time.Millisecond)},
		{"drop after bytes", `{"at": "DATA", "dropAfterBytes": 100}`, mocksmtp.At(mocksmtp.StageData).DropAfterBytes(100)},
		{"idle reply", `{"at": "HELO", "idleReply": {"after": "1s", "code": 421, "text": "4.4.2 idle"}}`,
			mocksmtp.At(mocksmtp.StageHelo).IdleReply(time.Second, 421, "4.4.2 idle")},
		{"greylist", `{"greylist": true}`, mocksmtp.Greylist()},
		{"greylist for a while", `{"greylistFor": "5m"}`, mocksmtp.GreylistFor(5 * time.Minute)},
		{"rate limit", `{"rateLimit": 3}`, mocksmtp.RateLimit(3)},
		{"rate limit per interval", `{"rateLimitPer": {"n": 10, "interval": "1m"}}`, mocksmtp.RateLimitPer(10, time.Minute)},
		{"mailbox full", `{"mailboxFull": ["bob@example.com"]}`, mocksmtp.MailboxFull("bob@example.com")},
		{"mailbox full, everyone", `{"mailboxFull": []}`, mocksmtp.MailboxFull()},
		{"unknown user", `{"unknownUser": ["*@gone.example"]}`, mocksmtp.UnknownUser("*@gone.example")},
		{"shutting down", `{"shuttingDown": true}`, mocksmtp.ShuttingDown()},
		{"too many recipients", `{"tooManyRecipients": 5}`, mocksmtp.TooManyRecipients(5)},
		{"scenario with a selector", `{"greylist": true, "forRcpt": ["*@slow.example"]}`, mocksmtp.Greylist().ForRcpt("*@slow.example")},
		{"false means not given", `{"at": "NOOP", "reply": "250 2.0.0 fine", "disconnect": false}`,
			mocksmtp.At(mocksmtp.StageNoop).Reply(250, "2.0.0 fine")},
		{"expired certificate", `{"at": "STARTTLS", "expiredCertificate": true}`, mocksmtp.At(mocksmtp.StageStartTLS).ExpiredCertificate()},
		{"wrong host certificate", `{"at": "STARTTLS", "wrongHostCertificate": true}`, mocksmtp.At(mocksmtp.StageStartTLS).WrongHostCertificate()},
		{"untrusted certificate", `{"at": "STARTTLS", "untrustedCertificate": true}`, mocksmtp.At(mocksmtp.StageStartTLS).UntrustedCertificate()},
		{"TLS version", `{"at": "STARTTLS", "tlsVersion": "1.0"}`, mocksmtp.At(mocksmtp.StageStartTLS).TLSVersion(tls.VersionTLS10)},
		{"TLS version, long name", `{"at": "STARTTLS", "tlsVersion": "TLS 1.2"}`, mocksmtp.At(mocksmtp.StageStartTLS).TLSVersion(tls.VersionTLS12)},
		{"abort handshake", `{"at": "STARTTLS", "abortHandshake": true}`, mocksmtp.At(mocksmtp.StageStartTLS).AbortHandshake()},
		{"description is ignored", `{"at": "RSET", "drop": true, "description": "anything"}`, mocksmtp.At(mocksmtp.StageRset).Drop()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			specs, faults, err := parseFaults([]byte("["+tt.json+"]"), "test.json", "test.json", false)
			if err != nil {
				t.Fatal(err)
			}
			want := withoutWhere(tt.want.String())
			if got := withoutWhere(faults[0].String()); got != want {
				t.Errorf("JSON %s\nmakes %q\nwant   %q", tt.json, got, want)
			}
			if specs[0].Description != faults[0].String() {
				t.Errorf("description %q, want %q", specs[0].Description, faults[0].String())
			}
		})
	}
}

func TestFaultJSONErrorsSayWhere(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, json, want string
	}{
		{"syntax error", "[\n  {\"at\": \"RCPT\",, \"drop\": true}\n]", `x.json:2:17: invalid character ','`},
		{"truncated", "[\n  {\"at\": \"RCPT\"", "x.json:2:16: unexpected end of JSON"},
		{"not an array", `{"at": "RCPT"}`, "x.json:1:1: want a JSON array"},
		{"empty input", ``, "x.json:1:1: unexpected end of JSON"},
		{"trailing data", `[] []`, "x.json:1:4: unexpected data after the array"},
		{"unknown key", "[\n {\"at\": \"RCPT\", \"disconect\": true}\n]", `x.json:2:17: fault 1: json: unknown field "disconect" (did you mean "disconnect"?)`},
		{"unknown key near another", `[{"at": "RCPT", "replyy": "421 4.3.2 x"}]`, `x.json:1:17: fault 1: json: unknown field "replyy" (did you mean "reply"?)`},
		{"unknown key within", `[{"at": "RCPT", "trickle": {"n": 1, "evry": "1s"}}]`, `fault 1: json: unknown field "evry" (did you mean "every"?)`},
		// An unknown key is reported at its place, with its hint, before a
		// later bad value (encoding/json holds its error back).
		{"unknown key before a bad value", `[{"at": "RCPT", "replyy": "421 4.3.2 x", "delay": "2"}]`, `x.json:1:17: fault 1: json: unknown field "replyy" (did you mean "reply"?)`},
		{"bad value before an unknown key", `[{"at": "RCPT", "delay": "2", "replyy": "421 4.3.2 x"}]`, `x.json:1:17: fault 1: delay: want a duration such as "2s" or "250ms": time: missing unit`},
		// Hints come from the keys of the object the key is in: a key of a
		// nested object is no hint at the top, nor is a key its own hint
		// ("$": the error ends there, with no hint).
		{"nested key at the top (every)", `[{"at": "RCPT", "every": "1s"}]`, "x.json:1:17: fault 1: json: unknown field \"every\"$"},
		{"nested key at the top (pause)", `[{"at": "RCPT", "pause": "1s"}]`, "x.json:1:17: fault 1: json: unknown field \"pause\"$"},
		{"nested key at the top (n)", `[{"at": "RCPT", "n": "1s"}]`, "x.json:1:17: fault 1: json: unknown field \"n\"$"},
		{"nested key misspelt at the top", `[{"at": "RCPT", "evry": "1s"}]`, "x.json:1:17: fault 1: json: unknown field \"evry\"$"},
		{"top key misspelt within", `[{"at": "RCPT", "trickle": {"n": 1, "dely": "1s"}}]`, "x.json:1:17: fault 1: json: unknown field \"dely\"$"},
		// A value's error that names its key is not given the key again.
		{"reply of the wrong type", `[{"at": "RCPT", "reply": 5}]`, `x.json:1:17: fault 1: reply: want "421 4.3.2 text"`},
		{"unknown key near none", `[{"at": "RCPT", "zzzzzz": 1}]`, `x.json:1:17: fault 1: json: unknown field "zzzzzz"`},
		{"renamed key", "[\n {\"at\": \"RCPT\", \"times\": 1}\n]", `x.json:2:17: fault 1: json: unknown field "times": it is now "atMost" (Fault.AtMost`},
		{"wrong type", "[\n {\"at\": \"RCPT\", \"atMost\": \"twice\"}\n]", `x.json:2:17: fault 1: atMost: want a whole number, got a string`},
		{"bad element", "[1]", `x.json:1:2: fault 1: want an object, got a number`},
		{"bad duration", "[{\"at\": \"DATA\", \"delay\": 5}]", `want a duration string`},
		{"duration in milliseconds", "[{\"at\": \"DATA\", \"delay\": 2000}]", `delay: want a duration string such as "2s" or "250ms", got 2000: a number has no unit ("2000s" for seconds, "2000ms" for milliseconds)`},
		// A value's own error names its key and the fault.
		{"duration without a unit", "[\n {\"at\": \"DATA\", \"drop\": true},\n {\"at\": \"DATA\", \"delay\": \"2\"}\n]", `x.json:3:17: fault 2: delay: want a duration such as "2s" or "250ms": time: missing unit in duration "2"`},
		{"duration within", `[{"at": "DATA", "trickle": {"n": 1, "every": "x"}}]`, `x.json:1:17: fault 1: trickle: want a duration such as "2s"`},
		{"bad reply text", "[{\"at\": \"DATA\", \"reply\": \"soon\"}]", `three-digit code`},
		{"no stage", "[\n {\"drop\": true},\n {\"at\": \"EHLOO\", \"drop\": true}\n]", `x.json:2:2: fault 1: no "at"`},
		{"unknown stage name", "[\n {\"at\": \"EHLOO\", \"drop\": true}\n]", `x.json:2:2: fault 1: at "EHLOO": unknown stage`},
		{"two wheres", "[{\"at\": \"RCPT\", \"greylist\": true}]", `fault 1: at and greylist: give one of them`},
		{"negative greylist delay", "[{\"greylistFor\": \"-1m\"}]", `"greylistFor": -1m0s: negative`},
		{"invalid fault", "[\n {\"at\": \"RCPT\", \"drop\": true},\n {\"at\": \"RCPT\", \"reply\": \"999 nope\"}\n]", `x.json:3:2: fault 2: `},
		{"no action", "[{\"at\": \"RCPT\"}]", `fault 1: `},
		{"unknown TLS version", "[{\"at\": \"STARTTLS\", \"tlsVersion\": \"2.0\"}]", `tlsVersion "2.0"`},
		{"TLS failure at the wrong stage", "[{\"at\": \"RCPT\", \"expiredCertificate\": true}]", `fault 1: `},
		// An empty list of attempts is no selector that fires everywhere,
		// and a fault whose action cannot act is refused, not ignored.
		{"no attempt", `[{"at": "MAIL", "onAttempt": [], "reply": "550 5.7.1 no"}]`, `x.json:1:2: fault 1: "onAttempt": no attempt`},
		{"a pace with no reply", `[{"at": "RCPT", "drop": true, "trickle": {"n": 1, "every": "1s"}}]`, `fault 1: "trickle" with "drop": there is no reply to pace`},
		{"DropAfterBytes with a refused DATA", `[{"at": "DATA", "reply": "554 5.5.1 no", "dropAfterBytes": 10}]`, `fault 1: "dropAfterBytes" at DATA with the negative reply 554`},
		{"idleReply at QUIT", `[{"at": "QUIT", "idleReply": {"after": "1s", "code": 421, "text": "4.4.2 idle"}}]`, `fault 1: "idleReply" at QUIT`},
		{"TLS failure with no handshake", `[{"at": "STARTTLS", "reply": "454 4.7.0 no", "expiredCertificate": true}]`, `fault 1: a TLS failure with the negative reply 454`},
		{"TLS failure after a refusing raw reply", `[{"at": "STARTTLS", "rawReply": "454 4.7.0 no\r\n", "expiredCertificate": true}]`, `fault 1: a TLS failure with a "rawReply" that does not end in a complete 220 line: no handshake follows it`},
		// A fault that could never fire is refused too.
		// A null in a list of patterns is no pattern (jsonnull.go), nor "",
		// which no recipient is.
		{"null in forRcpt", `[{"at": "RCPT", "forRcpt": [null], "reply": "450 4.2.1 x"}]`, `x.json:1:29: fault 1: forRcpt[0]: want a string, got null: null is not a value`},
		{"empty pattern in forRcpt", `[{"at": "RCPT", "forRcpt": [""], "reply": "450 4.2.1 x"}]`, `x.json:1:2: fault 1: "forRcpt": the pattern "": no recipient is empty`},
		{"forRcpt at MAIL", `[{"at": "MAIL", "forRcpt": ["bob@example.com"], "reply": "550 5.7.1 no"}]`, `x.json:1:2: fault 1: "forRcpt" at MAIL: there is no recipient to match there, only at RCPT, DATA, BDAT and message; at MAIL, match the sender with "forSender"`},
		{"forSender at HELO", `[{"at": "HELO", "forSender": ["*@spam.example"], "drop": true}]`, `x.json:1:2: fault 1: "forSender" at HELO: there is no sender`},
		{"disconnect alone at QUIT", `[{"at": "QUIT", "disconnect": true}]`, `x.json:1:2: fault 1: "disconnect" at QUIT, and nothing else: the connection closes after the reply to QUIT anyway, so the fault changes nothing; to close without the reply, use "drop" (or "resetTCP", "halfClose", "stall")`},
		{"a reply of another class than its status", `[{"at": "RCPT", "reply": "250 5.1.1 x"}]`, `x.json:1:2: fault 1: "reply": 250 with the enhanced status code 5.1.1: its class must be the reply's, 2 (RFC 3463); to send it anyway, use "rawReply"`},
		{"a reply object of another class", `[{"at": "RCPT", "reply": {"code": 451, "text": "2.0.0 ok"}}]`, `x.json:1:2: fault 1: "reply": 451 with the enhanced status code 2.0.0`},
		{"a positive reply DATA does not mean", `[{"at": "DATA", "reply": "250 2.0.0 ok"}]`, `x.json:1:2: fault 1: "reply": 250 at DATA: a positive reply there is 354`},
		{"a positive reply MAIL does not mean", `[{"at": "MAIL", "reply": {"code": 354, "text": "go on"}}]`, `x.json:1:2: fault 1: "reply": 354 at MAIL`},
		{"a 251 at MAIL", `[{"at": "MAIL", "reply": "251 2.1.0 forwarding"}]`, `x.json:1:2: fault 1: "reply": 251 at MAIL: a positive reply there is 250`},
		{"a 250 at QUIT", `[{"at": "QUIT", "reply": "250 2.0.0 bye"}]`, `x.json:1:2: fault 1: "reply": 250 at QUIT: a positive reply there is 221`},
		{"a positive idle reply", `[{"at": "HELO", "idleReply": {"after": "1s", "code": 250, "text": "2.0.0 still here"}}]`, `x.json:1:2: fault 1: "idleReply": 250: the server closes the connection after it`},
		{"declaredAt too long", "[\n {\"at\": \"RCPT\", \"drop\": true},\n {\"at\": \"RCPT\", \"drop\": true, \"declaredAt\": \"" + strings.Repeat("x", maxDeclaredAt+1) + "\"}\n]",
			`x.json:3:2: fault 2: declaredAt: want at most 200 bytes on one line`},
		{"declaredAt on two lines", `[{"at": "RCPT", "drop": true, "declaredAt": "test.py:1\ntest.py:2"}]`, `x.json:1:2: fault 1: declaredAt: want at most 200 bytes`},
		{"declaredAt with a line separator", `[{"at": "RCPT", "drop": true, "declaredAt": "test.py:1\u2028"}]`, `fault 1: declaredAt: want at most 200 bytes`},
		{"declaredAt not a string", `[{"at": "RCPT", "drop": true, "declaredAt": 42}]`, `fault 1: declaredAt: want a string, got a number`},
		// encoding/json would take the last of the two, silently.
		{"a key twice", "[\n {\"at\": \"RCPT\", \"drop\": true},\n {\"at\": \"RCPT\", \"reply\": \"421 4.3.2 a\", \"reply\": \"450 4.2.0 b\"}\n]", `x.json:3:2: fault 2: "reply" given twice`},
		{"a key twice, in two cases", `[{"at": "RCPT", "drop": true, "Drop": false}]`, `x.json:1:2: fault 1: "Drop" given twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := parseFaults([]byte(tt.json), "x.json", "x.json", false)
			want, whole := strings.CutSuffix(tt.want, "$")
			if err == nil || !strings.Contains(err.Error(), want) || whole && !strings.HasSuffix(err.Error(), want) {
				t.Errorf("parseFaults(%q) = %v, want an error containing %q", tt.json, err, tt.want)
			}
		})
	}
}

// smtpCode returns the reply code of an SMTP error, 0 for none.
func smtpCode(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

func TestFaultsFileActs(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "faults.json")
	script := `[{"at": "RCPT", "onAttempt": [1], "reply": "421 4.3.2 try later", "disconnect": true}]`
	if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, nil, "-faults", file, "-seed", "7")
	msg := []byte("Subject: x\r\n\r\nbody\r\n")
	err := smtp.SendMail(p.smtp, nil, "a@example.com", []string{"b@example.com"}, msg)
	if smtpCode(err) != 421 {
		t.Fatalf("first attempt: %v, want 421", err)
	}
	if err := smtp.SendMail(p.smtp, nil, "a@example.com", []string{"b@example.com"}, msg); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	var s sessionJSON
	getJSON(t, p, "/api/sessions/1", 200, &s)
	if len(s.Faults) != 1 || s.Faults[0] != "faults.json:1: RCPT attempt 1 → 421 4.3.2 try later, disconnect" {
		t.Errorf("session 1 faults = %q", s.Faults)
	}
	var faults []faultJSON
	getJSON(t, p, "/api/faults", 200, &faults)
	if len(faults) != 1 || faults[0].Description != "RCPT on attempt 1 → 421 4.3.2 try later, disconnect (faults.json:1)" {
		t.Errorf("GET /api/faults = %+v", faults)
	}
}

// Suites in other languages share the program and DELETE /api/messages
// between tests: each test must meet the faults as the first one did, the
// pair greylisted in the first refused again, the AtMost fault used up in
// the first firing again.
func TestFaultsStartAfreshAfterDeleteMessages(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "faults.json")
	script := `[{"greylist": true}, {"at": "DATA", "atMost": 1, "reply": "451 4.3.0 try later"}]`
	if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, nil, "-faults", file)
	msg := []byte("Subject: x\r\n\r\nbody\r\n")
	suiteTest := func() []int {
		var codes []int
		for range 3 {
			err := smtp.SendMail(p.smtp, nil, "a@example.com", []string{"b@example.com"}, msg)
			if err != nil && smtpCode(err) == 0 {
				t.Fatalf("send: %v, want a reply", err)
			}
			codes = append(codes, smtpCode(err))
		}
		return codes
	}
	want := []int{451, 451, 0} // greylisted at RCPT, then DATA's fault, then delivered
	if got := suiteTest(); !slices.Equal(got, want) {
		t.Fatalf("first test: codes %v, want %v", got, want)
	}
	if res, b := do(t, p, "DELETE", "/api/messages", ""); res.StatusCode != 204 {
		t.Fatalf("DELETE /api/messages: %d %s", res.StatusCode, b)
	}
	if got := suiteTest(); !slices.Equal(got, want) {
		t.Errorf("second test, after DELETE /api/messages: codes %v, want %v as in the first", got, want)
	}
}

func TestFaultsFileErrorsExit1WithThePosition(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "faults.json")
	if err := os.WriteFile(file, []byte("[\n  {\"at\": \"RCPT\" \"drop\": true}\n]"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runOnce(t, nil, "-listen", "127.0.0.1:0", "-http", "", "-faults", file)
	if code != 1 || !strings.Contains(stderr, file+":2:17: invalid character") {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and %s:2:17", code, stderr, file)
	}
}

func TestAPIFaults(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	msg := []byte("Subject: x\r\n\r\nbody\r\n")
	send := func() error {
		return smtp.SendMail(p.smtp, nil, "a@example.com", []string{"b@example.com"}, msg)
	}

	// PUT sets the script; it acts on the next session.
	res, b := do(t, p, "PUT", "/api/faults", `[{"at": "MAIL", "reply": "550 5.7.1 not you"}]`)
	if res.StatusCode != 200 {
		t.Fatalf("PUT: %d %s", res.StatusCode, b)
	}
	if err := send(); smtpCode(err) != 550 {
		t.Errorf("with MAIL → 550: %v", err)
	}

	// POST appends; PUT replaces.
	if res, b := do(t, p, "POST", "/api/faults", `[{"unknownUser": ["nobody@example.com"]}]`); res.StatusCode != 200 {
		t.Fatalf("POST: %d %s", res.StatusCode, b)
	}
	var got []faultJSON
	getJSON(t, p, "/api/faults", 200, &got)
	var descs []string
	for _, f := range got {
		descs = append(descs, f.Description)
	}
	want := []string{"MAIL → 550 5.7.1 not you (PUT /api/faults:1)", "RCPT unknown user for rcpt nobody@example.com → 550 5.1.1 User unknown (POST /api/faults:1)"}
	if diff := cmp.Diff(want, descs); diff != "" {
		t.Errorf("GET after POST (-want +got):\n%s", diff)
	}

	// What GET returns can be PUT back.
	_, body := do(t, p, "GET", "/api/faults", "")
	if res, b := do(t, p, "PUT", "/api/faults", string(body)); res.StatusCode != 200 {
		t.Fatalf("PUT of GET's output: %d %s", res.StatusCode, b)
	}
	var again []faultJSON
	getJSON(t, p, "/api/faults", 200, &again)
	// Only where they were declared changed, and the ids, new.
	if diff := cmp.Diff(got, again, cmpopts.IgnoreFields(faultJSON{}, "Description", "ID")); diff != "" {
		t.Errorf("round trip (-GET before +GET after):\n%s", diff)
	}

	// A bad script is refused, and the script in place stays.
	for _, bad := range []struct{ body, want string }{
		{"[\n {\"at\": \"RCPT\",\n  \"reply\": 421}\n]", "body:3:"},
		{`[{"at": "RCPT", "reply": "999 x"}]`, "body:1:2: fault 1:"},
		{`not json`, "body:1:2: invalid character"},
		{``, "PUT /api/faults: no body; want a JSON array of faults"},
		{" \r\n\t ", "PUT /api/faults: no body; want a JSON array of faults"}, // only whitespace is no body
	} {
		res, b := do(t, p, "PUT", "/api/faults", bad.body)
		var e errorJSON
		if err := json.Unmarshal(b, &e); err != nil || res.StatusCode != 400 || !strings.Contains(e.Error, bad.want) {
			t.Errorf("PUT %q: %d %s, want 400 with %q", bad.body, res.StatusCode, b, bad.want)
		}
	}
	getJSON(t, p, "/api/faults", 200, &again)
	if len(again) != 2 {
		t.Errorf("after refused PUTs, %d faults, want the 2 in place", len(again))
	}

	// DELETE clears.
	if res, b := do(t, p, "DELETE", "/api/faults", ""); res.StatusCode != 204 {
		t.Fatalf("DELETE: %d %s", res.StatusCode, b)
	}
	if err := send(); err != nil {
		t.Errorf("after DELETE /api/faults: %v", err)
	}
	getJSON(t, p, "/api/faults", 200, &again)
	if len(again) != 0 {
		t.Errorf("after DELETE, GET lists %d faults", len(again))
	}
	res, _ = do(t, p, "PATCH", "/api/faults", "[]")
	if res.StatusCode != 405 || res.Header.Get("Allow") != "GET, PUT, POST, DELETE, OPTIONS" {
		t.Errorf("PATCH /api/faults: %d, Allow %q", res.StatusCode, res.Header.Get("Allow"))
	}
}

// A TLS failure at STARTTLS on a program that does not offer STARTTLS
// would never fire: PUT refuses it, saying what is missing.
func TestAPIFaultsTLSFailureWithoutSTARTTLS(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	res, b := do(t, p, "PUT", "/api/faults", `[{"at": "STARTTLS", "expiredCertificate": true}]`)
	if res.StatusCode != 400 || !strings.Contains(string(b), "does not offer") {
		t.Errorf("PUT: %d %s, want 400 saying the server does not offer STARTTLS", res.StatusCode, b)
	}
}

// A fault at a command the program does not offer would never fire: PUT
// and POST refuse it, saying what to add; with the flag that offers the
// command, it is taken.
func TestAPIFaultsAtACommandNotOffered(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		fault  string
		args   []string
		want   string
		offers []string
	}{
		{"STARTTLS without -tls", `[{"at": "STARTTLS", "reply": "454 4.7.0 no TLS now"}]`, nil, "would never fire: add -tls", []string{"-tls"}},
		{"STARTTLS with -implicit-tls", `[{"at": "STARTTLS", "reply": "454 4.7.0 no TLS now"}]`, []string{"-implicit-tls"}, "a server with -implicit-tls does not offer STARTTLS", []string{"-tls"}},
		{"AUTH without -auth", `[{"at": "AUTH", "reply": "454 4.7.0 try later"}]`, nil, "does not offer AUTH (it answers 502), so a fault at AUTH would never fire: add -auth, -oauth-token or -auth-any", []string{"-auth-any"}},
		{"BDAT without CHUNKING", `[{"at": "BDAT", "reply": "554 5.5.1 no"}]`, []string{"-without-extensions", "CHUNKING"}, "does not offer CHUNKING (turned off with -without-extensions), so BDAT", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := start(t, nil, tt.args...)
			for _, method := range []string{"PUT", "POST"} {
				res, b := do(t, p, method, "/api/faults", tt.fault)
				// The program's user set flags: the error names them, not
				// the Go options they stand for.
				if res.StatusCode != 400 || !strings.Contains(string(b), tt.want) || strings.Contains(string(b), "With") {
					t.Errorf("%s: %d %s, want 400 saying %q, naming no Go option", method, res.StatusCode, b, tt.want)
				}
			}
			ok := start(t, nil, tt.offers...)
			if res, b := do(t, ok, "PUT", "/api/faults", tt.fault); res.StatusCode != 200 {
				t.Errorf("PUT with %q: %d %s, want 200", tt.offers, res.StatusCode, b)
			}
		})
	}
}

func TestAPIFaultsTLSFailure(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-tls")
	pool, _ := caFromAPI(t, p)
	if res, b := do(t, p, "PUT", "/api/faults", `[{"at": "STARTTLS", "atMost": 1, "expiredCertificate": true}]`); res.StatusCode != 200 {
		t.Fatalf("PUT: %d %s", res.StatusCode, b)
	}
	var invalid x509.CertificateInvalidError
	if err := sendTLS(t, p.smtp, false, pool, nil); !errors.As(err, &invalid) || invalid.Reason != x509.Expired {
		t.Errorf("STARTTLS with an expired certificate: %v, want x509.Expired", err)
	}
	if err := sendTLS(t, p.smtp, false, pool, nil); err != nil {
		t.Errorf("the next session (the fault fired once): %v", err)
	}
}

func TestAPIFaultsTLSFailureAtConnect(t *testing.T) {
	t.Parallel()
	// Over STARTTLS there is no handshake at connection: refused.
	p := start(t, nil, "-tls")
	if res, b := do(t, p, "PUT", "/api/faults", `[{"at": "connect", "abortHandshake": true}]`); res.StatusCode != 400 || !strings.Contains(string(b), "the handshake of -implicit-tls") {
		t.Errorf("PUT of a TLS failure at connect over STARTTLS: %d %s, want 400 naming -implicit-tls", res.StatusCode, b)
	}
	// With -implicit-tls it acts on the handshake that opens the connection.
	p = start(t, nil, "-implicit-tls")
	pool, _ := caFromAPI(t, p)
	if res, b := do(t, p, "PUT", "/api/faults", `[{"at": "connect", "atMost": 1, "expiredCertificate": true}]`); res.StatusCode != 200 {
		t.Fatalf("PUT: %d %s", res.StatusCode, b)
	}
	var invalid x509.CertificateInvalidError
	if err := sendTLS(t, p.smtp, true, pool, nil); !errors.As(err, &invalid) || invalid.Reason != x509.Expired {
		t.Errorf("SMTPS with an expired certificate: %v, want x509.Expired", err)
	}
	if err := sendTLS(t, p.smtp, true, pool, nil); err != nil {
		t.Errorf("the next session (the fault fired once): %v", err)
	}
}

// faultScript returns a script of n copies of fault, separated by sep.
func faultScript(n int, fault, sep string) []byte {
	var b strings.Builder
	b.WriteString("[")
	for i := range n {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(fault)
	}
	b.WriteString("]")
	return []byte(b.String())
}

func TestFaultScriptsOf65534Faults(t *testing.T) {
	t.Parallel()
	// As many faults as a PUT of 1 MiB holds.
	data := faultScript(65534, `{"rateLimit":1}`, ",")
	if len(data) > maxFaultBody {
		t.Fatalf("the script is %d bytes, more than a PUT may send (%d)", len(data), maxFaultBody)
	}
	specs, faults, err := parseFaults(data, "body", "PUT /api/faults", false)
	if err != nil || len(specs) != 65534 || len(faults) != 65534 {
		t.Fatalf("parseFaults: %d specs, %d faults, %v", len(specs), len(faults), err)
	}

	// One a line: each declared on its line, an error at the end placed
	// exactly.
	data = faultScript(65534, `{"at": "RCPT", "drop": true}`, ",\n")
	_, faults, err = parseFaults(data, "body", "PUT /api/faults", false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := faults[65533].String(), "RCPT → no reply, drop (PUT /api/faults:65534)"; got != want {
		t.Errorf("the last fault is %q, want %q: declared on line 65534", got, want)
	}
	bad := append(data[:len(data)-1:len(data)-1], []byte(",\n  {\"at\": \"RCPT\", \"dorp\": true}]")...)
	if _, _, err := parseFaults(bad, "body", "PUT /api/faults", false); err == nil || !strings.HasPrefix(err.Error(), `body:65535:18: fault 65535: json: unknown field "dorp"`) {
		t.Errorf("an invalid last fault: %v, want body:65535:18: fault 65535", err)
	}
}

// BenchmarkParseFaults parses scripts of growing size, one fault a line:
// the time per fault must stay flat (issue 16: 65,534 faults took 20 s
// when the line of each was counted from the start).
func BenchmarkParseFaults(b *testing.B) {
	for _, n := range []int{1000, 10000, 65534} {
		data := faultScript(n, `{"at": "RCPT", "drop": true}`, ",\n")
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, _, err := parseFaults(data, "body", "PUT /api/faults", false); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/fault")
		})
	}
}

// BenchmarkPutFaults is PUT /api/faults of 1 MiB, 65,534 faults, through
// the handler: parsing, the server's script, and the answer listing
// them.
func BenchmarkPutFaults(b *testing.B) {
	faults := new(faultState)
	srv, err := mocksmtp.New(mocksmtp.WithListenAddr("127.0.0.1:0"), faults.option(nil))
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	a := newAPI(srv, slog.New(slog.DiscardHandler), false)
	a.faults = faults
	data := faultScript(65534, `{"rateLimit":1}`, ",")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		req := httptest.NewRequest("PUT", "http://127.0.0.1/api/faults", bytes.NewReader(data))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("PUT: %d %.200s", rec.Code, rec.Body)
		}
	}
}

func TestFaultJSONRoundTripKeepsEmptyLists(t *testing.T) {
	t.Parallel()
	specs, _, err := parseFaults([]byte(`[{"unknownUser": []}, {"mailboxFull": []}]`), "x.json", "x.json", false)
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(specs)
	if err != nil {
		t.Fatal(err)
	}
	again, faults, err := parseFaults(out, "x.json", "x.json", false)
	if err != nil || len(again) != 2 || withoutWhere(faults[0].String()) != withoutWhere(mocksmtp.UnknownUser().String()) {
		t.Errorf("%s parsed back: %v, %v; want UnknownUser() and MailboxFull() (every recipient)", out, faults, err)
	}
}

// A suite names its faults by its own file and line: transcript notes
// and descriptions say it, and GET gives it back to PUT.
func TestAPIFaultsDeclaredAtNamesTheSuitesLine(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	script := `[{"at": "RCPT", "onAttempt": [1], "reply": "421 4.3.2 try later", "disconnect": true, "declaredAt": "test_retry.py:42"},
		{"at": "NOOP", "reply": "250 2.0.0 fine"}]`
	var put []faultJSON
	postJSON(t, p, "PUT", "/api/faults", script, 200, &put)
	want := []faultJSON{
		{At: "RCPT", OnAttempt: []int{1}, Reply: &replyJSON{421, "4.3.2 try later"}, Disconnect: true, DeclaredAt: "test_retry.py:42",
			Description: "RCPT on attempt 1 → 421 4.3.2 try later, disconnect (test_retry.py:42)"},
		{At: "NOOP", Reply: &replyJSON{250, "2.0.0 fine"}, Description: "NOOP → 250 2.0.0 fine (PUT /api/faults:2)"}, // no declaredAt given
	}
	if diff := cmp.Diff(want, put, ignoreFaultID); diff != "" {
		t.Errorf("PUT /api/faults answered (-want +got):\n%s", diff)
	}

	// The note of the fault that fired names the suite's line.
	send := func() {
		t.Helper()
		err := smtp.SendMail(p.smtp, nil, "a@example.com", []string{"b@example.com"}, []byte("Subject: x\r\n\r\nbody\r\n"))
		if !isReply(err, 421, "4.3.2") {
			t.Fatalf("first attempt: %v, want 421 4.3.2", err)
		}
		var ss []sessionJSON // every session kept: the one since the last reset
		getJSON(t, p, "/api/wait/sessions?count=1&timeout=10s", 200, &ss)
		if len(ss) != 1 {
			t.Fatalf("%d sessions kept, want 1", len(ss))
		}
		var s sessionJSON
		getJSON(t, p, fmt.Sprintf("/api/sessions/%d", ss[0].ID), 200, &s)
		note := "fault test_retry.py:42: RCPT attempt 1 → 421 4.3.2 try later, disconnect"
		if !slices.ContainsFunc(s.Transcript, func(l lineJSON) bool { return l.Dir == "*" && l.Text == note }) {
			t.Errorf("the transcript has no note %q:\n%+v", note, s.Transcript)
		}
		if len(s.Faults) != 1 || s.Faults[0] != strings.TrimPrefix(note, "fault ") {
			t.Errorf("session faults = %q", s.Faults)
		}
	}
	send()

	// What GET returns, PUT back unchanged, keeps the name; after a reset
	// (attempts count from 1 again) the fault fires again, named so.
	_, got := do(t, p, "GET", "/api/faults", "")
	if res, b := do(t, p, "PUT", "/api/faults", string(got)); res.StatusCode != 200 {
		t.Fatalf("PUT of GET's output: %d %s", res.StatusCode, b)
	}
	var again []faultJSON
	getJSON(t, p, "/api/faults", 200, &again)
	if diff := cmp.Diff(want[0], again[0], ignoreFaultID); diff != "" {
		t.Errorf("the named fault after a round trip (-before +after):\n%s", diff)
	}
	if again[1].DeclaredAt != "" {
		t.Errorf("a fault without declaredAt got %q", again[1].DeclaredAt)
	}
	if res, _ := do(t, p, "DELETE", "/api/messages", ""); res.StatusCode != 204 {
		t.Fatalf("DELETE /api/messages: %d", res.StatusCode)
	}
	send()

	// Bad names are refused with 400 and leave the script as it is.
	for _, tt := range []struct {
		name       string
		declaredAt string
		status     int
	}{
		{"N-1 bytes", strings.Repeat("x", maxDeclaredAt-1), 200},
		{"N bytes", strings.Repeat("é", maxDeclaredAt/2), 200},
		{"N+1 bytes", strings.Repeat("x", maxDeclaredAt+1), 400},
		{"2N bytes", strings.Repeat("x", 2*maxDeclaredAt), 400},
		{"1 MiB + 1 bytes", strings.Repeat("x", 1<<20+1), 413},
		{"a newline", `test.py:1\ntest.py:2`, 400},
		{"a CR", `test.py:1\r`, 400},
		{"a tab", `test.py:\t1`, 400},
		{"a NUL", `test.py:1\u0000`, 400},
		{"an escape", `test.py:1\u001b[2J`, 400},
		{"a DEL", `test.py:1\u007f`, 400},
		{"a C1 control", `test.py:1\u0085`, 400},
		{"a line separator", `test.py:1\u2028`, 400},
		{"a paragraph separator", `test.py:1\u2029`, 400},
	} {
		body := `[{"at": "QUIT", "delay": "1ms", "declaredAt": "` + tt.declaredAt + `"}]`
		for _, method := range []string{"PUT", "POST"} {
			res, b := do(t, p, method, "/api/faults", body)
			if res.StatusCode != tt.status || tt.status == 400 && !strings.Contains(string(b), "body:1:2: fault 1: declaredAt: want at most 200 bytes on one line") {
				t.Errorf("%s /api/faults, declaredAt with %s: %d %.200s, want %d", method, tt.name, res.StatusCode, b, tt.status)
			}
		}
		if tt.status == 200 {
			var fs []faultJSON
			getJSON(t, p, "/api/faults", 200, &fs)
			if len(fs) != 2 || fs[0].DeclaredAt != tt.declaredAt || fs[1].DeclaredAt != tt.declaredAt {
				t.Errorf("declaredAt with %s: GET gives %d faults, %+v", tt.name, len(fs), fs)
			}
			if res, _ := do(t, p, "PUT", "/api/faults", string(got)); res.StatusCode != 200 {
				t.Fatalf("PUT: %d", res.StatusCode)
			}
		}
	}
	var last []faultJSON
	getJSON(t, p, "/api/faults", 200, &last)
	if diff := cmp.Diff(again, last, ignoreFaultID); diff != "" { // PUT again: new ids
		t.Errorf("the script after refused PUTs and POSTs (-want +got):\n%s", diff)
	}
}

// A fault of a -faults file is named by its declaredAt as well.
func TestFaultsFileDeclaredAt(t *testing.T) {
	t.Parallel()
	data := []byte("[\n  {\"at\": \"RCPT\", \"drop\": true, \"declaredAt\": \"retry.spec.ts:7\"},\n  {\"at\": \"MAIL\", \"drop\": true}\n]")
	specs, faults, err := parseFaults(data, "/tmp/faults.json", "faults.json", false)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{faults[0].String(), faults[1].String(), specs[0].DeclaredAt, specs[1].DeclaredAt}
	want := []string{"RCPT → no reply, drop (retry.spec.ts:7)", "MAIL → no reply, drop (faults.json:3)", "retry.spec.ts:7", ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// A -faults file with a fault at a command the flags do not offer: the
// program exits 1 naming the flag to add, as its user wrote flags, not
// the Go option it stands for.
func TestFaultsFileNamesTheFlagToAdd(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		fault, want string
		args        []string
	}{
		{`{"at": "STARTTLS", "reply": "454 4.7.0 no"}`, "would never fire: add -tls", nil},
		{`{"at": "AUTH", "reply": "454 4.7.0 later"}`, "would never fire: add -auth, -oauth-token or -auth-any", nil},
		{`{"at": "connect", "expiredCertificate": true}`, "acts on the handshake of -implicit-tls", []string{"-tls"}},
		{`{"at": "STARTTLS", "reply": "454 4.7.0 no"}`, "a server with -implicit-tls does not offer STARTTLS", []string{"-implicit-tls"}},
		{`{"at": "BDAT", "reply": "554 5.5.1 no"}`, "does not offer CHUNKING (turned off with -without-extensions)", []string{"-without-extensions", "CHUNKING"}},
	} {
		file := filepath.Join(t.TempDir(), "faults.json")
		if err := os.WriteFile(file, []byte("[\n  "+tt.fault+"\n]"), 0o600); err != nil {
			t.Fatal(err)
		}
		args := append([]string{"-listen", "127.0.0.1:0", "-http", "", "-faults", file}, tt.args...)
		code, _, stderr := runOnce(t, nil, args...)
		if code != 1 || !strings.Contains(stderr, tt.want) || strings.Contains(stderr, "With") {
			t.Errorf("%s with %q: exit %d, stderr:\n%s\nwant exit 1 saying %q, naming no Go option", tt.fault, tt.args, code, stderr, tt.want)
		}
	}
}

// A TLS failure at a stage with no handshake: the error says where one
// works without naming the Go option the program's -implicit-tls stands
// for. It said "at StageConnect with WithImplicitTLS".
func TestFaultJSONTLSFailureNamesNoGoOption(t *testing.T) {
	t.Parallel()
	_, _, err := parseFaults([]byte(`[{"at": "RCPT", "expiredCertificate": true}]`), "x.json", "x.json", false)
	if err == nil || !strings.Contains(err.Error(), "TLS failures work at STARTTLS, and at connect under implicit TLS, not at RCPT") || strings.Contains(err.Error(), "With") {
		t.Errorf("parseFaults = %v, want an error saying where a TLS failure works, naming no Go option", err)
	}
}

// A client whose good credentials a fault at AUTH refused got 535, not
// 235: the session's auth and the "sent" of the message it sent after
// it keep success (the credentials were accepted, as the Go API's
// AuthInfo.Success) and say what the client got, "refused". They said
// success alone, which reads as an authenticated client.
func TestAuthRefusedByAFaultSaysWhatTheClientGot(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet", "-auth", "alice:secret")
	putFaults(t, p, `[{"at": "AUTH", "reply": "535 5.7.8 nope"}]`)
	c := dialRaw(t, p)
	c.want("AUTH under the fault", "AUTH PLAIN "+base64.StdEncoding.EncodeToString([]byte("\x00alice\x00secret")), 535, "5.7.8")
	if code, msg := c.send("x"); code != 250 {
		t.Fatalf("the message after it: %d %q", code, msg)
	}
	c.want("QUIT", "QUIT", 221, "2.0.0")
	want := map[string]any{"mechanism": "PLAIN", "username": "alice", "success": true, "refused": "535 5.7.8 nope"}
	var session struct {
		Auth map[string]any `json:"auth"`
	}
	getJSON(t, p, "/api/sessions/1", 200, &session)
	if diff := cmp.Diff(want, session.Auth); diff != "" {
		t.Errorf("session 1's auth (-want +got):\n%s", diff)
	}
	var messages []struct {
		Sent struct {
			Auth map[string]any `json:"auth"`
		} `json:"sent"`
	}
	getJSON(t, p, "/api/wait?count=1&timeout=10s", 200, &messages)
	if diff := cmp.Diff(want, messages[0].Sent.Auth); diff != "" {
		t.Errorf("message 1's sent.auth (-want +got):\n%s", diff)
	}
}

// goNames finds a name of the Go API in an error: a method or a stage in
// CamelCase (RawReply, StageData, DropAfterBytes), or one of the one-word
// methods.
var goNames = regexp.MustCompile(`\b[A-Z][a-z]+[A-Z][A-Za-z]*\b|\b(Reply|Drop|Stall|Delay|Trickle|Disconnect|At)\b`)

// The errors about a fault speak the JSON its user wrote: "rawReply",
// "idleReply", "at": DATA, not the Go methods (RawReply, IdleReply(250),
// StageData) they map to, through PUT /api/faults and the -faults file
// alike. They said "RawReply after Reply(421)" to a user who wrote
// "reply" and "rawReply".
func TestFaultErrorsSpeakJSON(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		fault string
		want  string
	}{
		{`{"at": "RCPT", "reply": "421 4.3.2 later", "rawReply": "550 no\r\n"}`, `"rawReply" after "reply": 421: a fault writes one reply`},
		{`{"unknownUser": [], "rawReply": "550 no\r\n"}`, `"rawReply" on the unknown user scenario, which replies 550 and acts on it: to reword its reply, use "reply"`},
		{`{"at": "HELO", "idleReply": {"after": "1s", "code": 250, "text": "2.0.0 still here"}}`, `"idleReply": 250: the server closes the connection after it`},
		{`{"at": "RCPT", "dropAfterBytes": 10}`, `"dropAfterBytes" works at DATA and BDAT, not at RCPT`},
		{`{"at": "HELO", "reply": "250 hi\nPIPELINING"}`, `to offer fewer, use -without-extensions; to write other lines, "rawReply"`},
		{`{"at": "RCPT", "disconnect": true, "resetTCP": true}`, `"resetTCP" after "disconnect": both end the connection`},
		{`{"at": "HELO", "reply": "421 4.3.2 bye", "idleReply": {"after": "1s", "code": 421, "text": "4.4.2 idle"}}`, `"idleReply" with "reply": 421, which closes the connection`},
		{`{"at": "MAIL", "trickle": {"n": 0, "every": "1s"}}`, `"trickle": 0, 1s: want n >= 1`},
		{`{"at": "RCPT", "expiredCertificate": true}`, `TLS failures work at STARTTLS, and at connect under implicit TLS, not at RCPT`},
		{`{"rateLimit": 0}`, `"rateLimit": 0: want at least 1`},
		{`{"at": "message", "dropAfterBytes": 10}`, `"dropAfterBytes" works at DATA and BDAT, not at message`},
	} {
		var errs []string
		_, _, err := loadFaultsFile(t, "[\n  "+tt.fault+"\n]")
		if err != nil {
			errs = append(errs, "-faults: "+err.Error())
		} else {
			errs = append(errs, "-faults: no error")
		}
		p := start(t, nil)
		res, b := do(t, p, "PUT", "/api/faults", "["+tt.fault+"]")
		if res.StatusCode != 400 {
			t.Errorf("PUT %s: %d %s, want 400", tt.fault, res.StatusCode, b)
		}
		var body struct{ Error string }
		if err := json.Unmarshal(b, &body); err != nil {
			t.Fatalf("PUT %s: %s: %v", tt.fault, b, err)
		}
		errs = append(errs, "PUT: "+body.Error)
		for _, e := range errs {
			if !strings.Contains(e, tt.want) || goNames.MatchString(e) {
				t.Errorf("%s:\n%s\nwant it saying %s, naming no Go method or stage (%q)", tt.fault, e, tt.want, goNames.FindString(e))
			}
		}
	}
}

// loadFaultsFile writes script to a file and loads it as -faults does.
func loadFaultsFile(t *testing.T, script string) ([]faultJSON, []mocksmtp.Fault, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "faults.json")
	if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	return loadFaults(file)
}
