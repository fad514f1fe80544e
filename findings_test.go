package mocksmtp_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/smtp"
	"net/textproto"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/smtpd"
)

// goodMessage conforms to every rule.
const goodMessage = "Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nFrom: Alice <alice@example.com>\r\nTo: bob@example.com\r\n" +
	"Message-ID: <1@example.com>\r\nSubject: hi\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: 8bit\r\n\r\nna\xc3\xafve\r\n"

// exchange plays a raw session: for each step, it sends the text and reads
// the number of replies given.
type exchange []struct {
	send    string
	replies int
}

func (x exchange) play(t *testing.T, srv *mocksmtp.Server) {
	t.Helper()
	c := dialRaw(t, srv.Addr())
	c.expect("220 ")
	for _, s := range x {
		c.send(s.send)
		for range s.replies {
			if _, err := c.reply(); err != nil {
				t.Fatalf("after %q: %v", s.send, err)
			}
		}
	}
	c.conn.Close()
	srv.WaitForSessions(t, 1)
}

func rules(fs []mocksmtp.Finding) []mocksmtp.Rule {
	var rs []mocksmtp.Rule
	for _, f := range fs {
		rs = append(rs, f.Rule)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i] < rs[j] })
	return rs
}

func mail(body string, params string) exchange {
	return exchange{
		{"EHLO client.example\r\n", 1},
		{"MAIL FROM:<alice@example.com>" + params + "\r\n", 1},
		{"RCPT TO:<bob@example.com>\r\n", 1},
		{"DATA\r\n", 1},
		{body + ".\r\n", 1},
		{"QUIT\r\n", 1},
	}
}

func TestFindings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []mocksmtp.Option
		x    exchange
		want []mocksmtp.Rule
	}{
		{"conforming session", nil, mail(goodMessage, " BODY=8BITMIME"), nil},
		{"bare LF in a command", nil, exchange{{"NOOP\n", 1}, {"QUIT\r\n", 1}}, []mocksmtp.Rule{mocksmtp.RuleBareLineEnding}},
		// Lines over a command's limit, whether the engine could tell the
		// verb (up to 12288 octets) or not (issue 13 item 10).
		{"command line of 513 octets", nil, exchange{{"NOOP " + strings.Repeat("x", 506) + "\r\n", 1}, {"QUIT\r\n", 1}}, []mocksmtp.Rule{mocksmtp.RuleLineLength}},
		{"command line of 12288 octets", nil, exchange{{"NOOP " + strings.Repeat("x", 12281) + "\r\n", 1}, {"QUIT\r\n", 1}}, []mocksmtp.Rule{mocksmtp.RuleLineLength}},
		{"command line of 12289 octets", nil, exchange{{"NOOP " + strings.Repeat("x", 12282) + "\r\n", 1}, {"QUIT\r\n", 1}}, []mocksmtp.Rule{mocksmtp.RuleLineLength}},
		{"MAIL with parameters over 1024 octets", nil, exchange{{"EHLO x\r\n", 1}, {"MAIL FROM:<a@example.com> ENVID=" + strings.Repeat("x", 1000) + "\r\n", 1}, {"QUIT\r\n", 1}},
			[]mocksmtp.Rule{mocksmtp.RuleLineLength}},
		{"command line of 512 octets", nil, exchange{{"NOOP " + strings.Repeat("x", 505) + "\r\n", 1}, {"QUIT\r\n", 1}}, nil},
		{"bare LF in data", nil, mail(strings.Replace(goodMessage, "na\xc3\xafve\r\n", "a\nb\r\n", 1), " BODY=8BITMIME"),
			[]mocksmtp.Rule{mocksmtp.RuleBareLineEnding}},
		{"missing dot-stuffing", nil, mail(goodMessage+".signature\r\n", " BODY=8BITMIME"), []mocksmtp.Rule{mocksmtp.RuleDotStuffing}},
		{"text line over 998 octets", nil, mail(goodMessage+strings.Repeat("x", 999)+"\r\n", " BODY=8BITMIME"), []mocksmtp.Rule{mocksmtp.RuleLineLength}},
		{"8-bit data without BODY=8BITMIME", nil, mail(goodMessage, ""), []mocksmtp.Rule{mocksmtp.Rule8BitMIME}},
		{"8-bit data when 8BITMIME was not offered", []mocksmtp.Option{mocksmtp.WithEngineConfig(smtpd.Config{Disabled: smtpd.Ext8BitMIME})},
			mail(goodMessage, ""), []mocksmtp.Rule{mocksmtp.Rule8BitMIME}},
		{"UTF-8 address without SMTPUTF8", nil, exchange{{"EHLO x\r\n", 1}, {"MAIL FROM:<jos\xc3\xa9@example.com>\r\n", 1}, {"QUIT\r\n", 1}},
			[]mocksmtp.Rule{mocksmtp.RuleSMTPUTF8}},
		{"UTF-8 header without encoding", nil, mail(strings.Replace(goodMessage, "Subject: hi", "Subject: h\xc3\xa9", 1), " BODY=8BITMIME"),
			[]mocksmtp.Rule{mocksmtp.RuleHeaderEncoding}},
		{"UTF-8 header with SMTPUTF8 is fine", nil, mail(strings.Replace(goodMessage, "Subject: hi", "Subject: h\xc3\xa9", 1), " BODY=8BITMIME SMTPUTF8"), nil},
		{"MAIL before EHLO", nil, exchange{{"MAIL FROM:<a@example.com>\r\n", 1}, {"QUIT\r\n", 1}}, []mocksmtp.Rule{mocksmtp.RuleHeloFirst}},
		{"pipelining past EHLO", nil, exchange{{"EHLO x\r\nNOOP\r\n", 2}, {"QUIT\r\n", 1}}, []mocksmtp.Rule{mocksmtp.RulePipelining}},
		{"pipelining MAIL and RCPT is fine", nil, exchange{{"EHLO x\r\n", 1}, {"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nRSET\r\n", 3}, {"QUIT\r\n", 1}}, nil},
		{"pipelining not offered", []mocksmtp.Option{mocksmtp.WithEngineConfig(smtpd.Config{Disabled: smtpd.ExtPipelining})},
			exchange{{"EHLO x\r\n", 1}, {"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n", 2}, {"QUIT\r\n", 1}}, []mocksmtp.Rule{mocksmtp.RulePipelining}},
		// A BDAT's chunk follows it at once (RFC 3030): it is no command
		// sent before a reply, with PIPELINING or without.
		{"BDAT with its chunk", []mocksmtp.Option{mocksmtp.WithEngineConfig(smtpd.Config{Disabled: smtpd.ExtPipelining})},
			exchange{{"EHLO x\r\n", 1}, {"MAIL FROM:<a@example.com> BODY=8BITMIME\r\n", 1}, {"RCPT TO:<b@example.com>\r\n", 1},
				{"BDAT 10\r\n" + goodMessage[:10], 1}, {fmt.Sprintf("BDAT %d LAST\r\n%s", len(goodMessage)-10, goodMessage[10:]), 1}, {"QUIT\r\n", 1}}, nil},
		{"BDAT with its chunk and more", []mocksmtp.Option{mocksmtp.WithEngineConfig(smtpd.Config{Disabled: smtpd.ExtPipelining})},
			exchange{{"EHLO x\r\n", 1}, {"MAIL FROM:<a@example.com> BODY=8BITMIME\r\n", 1}, {"RCPT TO:<b@example.com>\r\n", 1},
				{fmt.Sprintf("BDAT %d LAST\r\n%sQUIT\r\n", len(goodMessage), goodMessage), 2}}, []mocksmtp.Rule{mocksmtp.RulePipelining}},
		{"no QUIT", nil, exchange{{"EHLO x\r\n", 1}}, []mocksmtp.Rule{mocksmtp.RuleQuit}},
		{"AUTH without TLS", []mocksmtp.Option{mocksmtp.WithAuth("user", "secret")},
			exchange{{"EHLO x\r\n", 1}, {"AUTH PLAIN AHVzZXIAc2VjcmV0\r\n", 1}, {"QUIT\r\n", 1}}, []mocksmtp.Rule{mocksmtp.RuleAuthPlaintext}},
		{"no Date and no From", nil, mail(strings.Replace(strings.Replace(goodMessage, "From: Alice <alice@example.com>\r\n", "", 1), "Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n", "", 1), " BODY=8BITMIME"),
			[]mocksmtp.Rule{mocksmtp.RuleRequiredHeaders, mocksmtp.RuleRequiredHeaders}},
		{"two Subjects", nil, mail("Subject: again\r\n"+goodMessage, " BODY=8BITMIME"), []mocksmtp.Rule{mocksmtp.RuleUniqueHeaders}},
		{"no Message-ID", nil, mail(strings.Replace(goodMessage, "Message-ID: <1@example.com>\r\n", "", 1), " BODY=8BITMIME"), []mocksmtp.Rule{mocksmtp.RuleMessageID}},
		{"bad address syntax", nil, mail(strings.Replace(goodMessage, "To: bob@example.com", "To: bob@@example..com", 1), " BODY=8BITMIME"),
			[]mocksmtp.Rule{mocksmtp.RuleAddressSyntax, mocksmtp.RuleMIME}},
		{"multipart without closing boundary", nil, mail(strings.Replace(goodMessage, "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nna\xc3\xafve\r\n",
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n", 1), ""),
			[]mocksmtp.Rule{mocksmtp.RuleMIME}},
		{"8-bit text without charset and with 7bit", nil, mail(strings.Replace(strings.Replace(goodMessage, "; charset=utf-8", "", 1), "8bit\r\n", "7bit\r\n", 1), " BODY=8BITMIME"),
			[]mocksmtp.Rule{mocksmtp.RuleMIME, mocksmtp.RuleMIME}},
		{"base64 with bad padding", nil, mail(strings.Replace(goodMessage, "Content-Transfer-Encoding: 8bit\r\n\r\nna\xc3\xafve\r\n", "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8\r\n", 1), ""),
			[]mocksmtp.Rule{mocksmtp.RuleMIME}},
		// A server that requires TLS answers 530 5.7.0 to every command
		// but NOOP, EHLO, STARTTLS, QUIT (RFC 3207 4): a client that
		// sends one without having sent STARTTLS never starts TLS. One
		// that tried (STARTTLS refused: 454) is not at fault.
		{"MAIL before STARTTLS under WithRequireTLS", []mocksmtp.Option{mocksmtp.WithRequireTLS()},
			exchange{{"EHLO x\r\n", 1}, {"NOOP\r\n", 1}, {"HELP\r\n", 1}, {"MAIL FROM:<a@example.com>\r\n", 1}, {"RSET\r\n", 1}, {"QUIT\r\n", 1}},
			[]mocksmtp.Rule{mocksmtp.RuleSTARTTLSFirst, mocksmtp.RuleSTARTTLSFirst}},
		{"AUTH before STARTTLS under WithRequireTLS", []mocksmtp.Option{mocksmtp.WithRequireTLS(), mocksmtp.WithAuth("user", "secret")},
			exchange{{"EHLO x\r\n", 1}, {"AUTH PLAIN AHVzZXIAc2VjcmV0\r\n", 1}, {"QUIT\r\n", 1}},
			[]mocksmtp.Rule{mocksmtp.RuleAuthPlaintext, mocksmtp.RuleSTARTTLSFirst}},
		{"MAIL after STARTTLS refused", []mocksmtp.Option{mocksmtp.WithRequireTLS(),
			mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageStartTLS).Reply(454, "4.7.0 TLS not available due to temporary reason"))},
			exchange{{"EHLO x\r\n", 1}, {"STARTTLS\r\n", 1}, {"MAIL FROM:<a@example.com>\r\n", 1}, {"QUIT\r\n", 1}}, nil},
		{"MAIL before STARTTLS, TLS not required", []mocksmtp.Option{mocksmtp.WithSTARTTLS()},
			exchange{{"EHLO x\r\n", 1}, {"MAIL FROM:<a@example.com>\r\n", 1}, {"QUIT\r\n", 1}}, nil},
		{"rules switched off", []mocksmtp.Option{mocksmtp.WithoutRules(mocksmtp.RuleMessageID, mocksmtp.RuleQuit)},
			exchange{{"EHLO x\r\n", 1}, {"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n", 3},
				{strings.Replace(goodMessage, "Message-ID: <1@example.com>\r\n", "", 1) + ".\r\n", 1}}, []mocksmtp.Rule{mocksmtp.Rule8BitMIME}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t, tt.opts...)
			tt.x.play(t, srv)
			fs := srv.Findings()
			if diff := cmp.Diff(tt.want, rules(fs)); diff != "" {
				t.Errorf("rules (-want +got):\n%s\nfindings: %v", diff, fs)
			}
			s := srv.Sessions()[0]
			if len(s.Findings) != len(fs) {
				t.Errorf("session has %d findings, server %d", len(s.Findings), len(fs))
			}
			for _, f := range fs {
				if f.Session != 1 || f.Line < 1 || f.Line > len(s.Transcript) || f.Rule.Ref() == "" || f.Text == "" {
					t.Errorf("finding not placed: %+v", f)
				}
			}
		})
	}
}

// TestAuthPlaintextSaysWhatCrossed checks that the finding of AUTH over
// a connection without TLS says what of the credentials the client sent,
// over a real socket: a line the engine refused crossed the wire all the
// same, a cancelled step sent nothing. It said "the password crossed in
// clear text" whatever crossed, also when no password was sent.
func TestAuthPlaintextSaysWhatCrossed(t *testing.T) {
	t.Parallel()
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	const (
		userAndPassword = "the user name and the password crossed in clear text"
		nothing         = "no credential crossed yet, but the client began to authenticate in clear text"
	)
	account, afterTLS := mocksmtp.WithAuth("user", "secret"), mocksmtp.WithRequireTLSForAuth()
	scram := mocksmtp.WithAuthMechanisms(mocksmtp.AuthSCRAMSHA256, mocksmtp.AuthSCRAMSHA256PLUS)
	type step struct{ send, want string } // a line and its reply's prefix
	for _, tt := range []struct {
		name      string
		opts      []mocksmtp.Option
		mechanism string
		steps     []step
		want      string // after "AUTH <mechanism> over a connection without TLS: "
	}{
		{"LOGIN, the user name refused for a bare LF", nil, "LOGIN",
			[]step{{"AUTH LOGIN\r\n", "334 "}, {b64("user") + "\n", "500 5.5.2"}},
			"the user name crossed in clear text; the password was not sent"},
		{"LOGIN, the user name refused for its length", nil, "LOGIN",
			[]step{{"AUTH LOGIN\r\n", "334 "}, {strings.Repeat("A", 12289) + "\r\n", "500 5.5.6"}},
			"the user name crossed in clear text; the password was not sent"},
		{"LOGIN, cancelled at the user name", nil, "LOGIN",
			[]step{{"AUTH LOGIN\r\n", "334 "}, {"*\r\n", "501 5.0.0"}}, nothing},
		{"LOGIN, the user name and the password", nil, "LOGIN",
			[]step{{"AUTH LOGIN\r\n", "334 "}, {b64("user") + "\r\n", "334 "}, {b64("secret") + "\r\n", "235 "}}, userAndPassword},
		{"LOGIN, the password refused for a bare LF", nil, "LOGIN",
			[]step{{"AUTH LOGIN " + b64("user") + "\r\n", "334 "}, {b64("secret") + "\n", "500 5.5.2"}}, userAndPassword},
		{"PLAIN, the initial response", nil, "PLAIN",
			[]step{{"AUTH PLAIN " + b64("\x00user\x00wrong") + "\r\n", "535 5.7.8"}}, userAndPassword},
		{"PLAIN, the initial response refused before TLS", []mocksmtp.Option{afterTLS}, "PLAIN",
			[]step{{"AUTH PLAIN " + b64("\x00user\x00secret") + "\r\n", "538 5.7.11"}}, userAndPassword},
		{"LOGIN refused before TLS", []mocksmtp.Option{afterTLS}, "LOGIN",
			[]step{{"AUTH LOGIN\r\n", "538 5.7.11"}}, nothing},
		{"CRAM-MD5", nil, "CRAM-MD5",
			[]step{{"AUTH CRAM-MD5\r\n", "334 "}, {b64("user 0123456789abcdef0123456789abcdef") + "\r\n", "535 5.7.8"}},
			"the user name and an MD5 digest of the password crossed in clear text, the digest open to offline guessing"},
		{"XOAUTH2, a wrong token", []mocksmtp.Option{mocksmtp.WithOAuthToken("user", "token")}, "XOAUTH2",
			[]step{{"AUTH XOAUTH2 " + b64("user=user\x01auth=Bearer wrong\x01\x01") + "\r\n", "334 "}, {"\r\n", "535 5.7.8"}},
			"the bearer token crossed in clear text"},
		{"SCRAM, cancelled at the proof", []mocksmtp.Option{scram}, "SCRAM-SHA-256",
			[]step{{"AUTH SCRAM-SHA-256 " + b64("n,,n=user,r=abc") + "\r\n", "334 "}, {"*\r\n", "501 5.0.0"}},
			"the user name crossed in clear text; the proof of the password was not sent"},
		{"SCRAM-PLUS, the initial response refused before TLS", []mocksmtp.Option{scram}, "SCRAM-SHA-256-PLUS",
			[]step{{"AUTH SCRAM-SHA-256-PLUS " + b64("p=tls-exporter,,n=user,r=abc") + "\r\n", "538 5.7.11"}},
			"the user name crossed in clear text; the proof of the password was not sent"},
		{"PLAIN, an empty initial response", nil, "PLAIN",
			[]step{{"AUTH PLAIN =\r\n", "5"}}, nothing},
		{"LOGIN, an empty user name", nil, "LOGIN",
			[]step{{"AUTH LOGIN\r\n", "334 "}, {"\r\n", "334 "}, {"*\r\n", "501 5.0.0"}}, nothing},
		{"LOGIN, an empty user name and a password", nil, "LOGIN",
			[]step{{"AUTH LOGIN\r\n", "334 "}, {"\r\n", "334 "}, {b64("secret") + "\r\n", "535 "}}, userAndPassword},
		{"PLAIN, an empty initial response refused before TLS", []mocksmtp.Option{afterTLS}, "PLAIN",
			[]step{{"AUTH PLAIN =\r\n", "538 5.7.11"}}, nothing},
		{"CRAM-MD5, an initial response refused", nil, "CRAM-MD5",
			[]step{{"AUTH CRAM-MD5 " + b64("user") + "\r\n", "501 5.7.0"}},
			"the initial response crossed in clear text"},
		{"AUTH without a mechanism", nil, "",
			[]step{{"AUTH\r\n", "501 "}}, nothing},
		// Not named: the transcript masks a word after AUTH that is no
		// mechanism the server knows, which may be the initial response.
		{"an unknown mechanism of 40 letters", nil, "with a mechanism the server does not know",
			[]step{{"AUTH " + strings.Repeat("X", 40) + " " + b64("user") + "\r\n", "504 "}},
			"the initial response crossed in clear text"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t, append([]mocksmtp.Option{account}, tt.opts...)...)
			c := dialEHLO(t, srv.Addr())
			for _, s := range tt.steps {
				c.send(s.send)
				c.expect(s.want)
			}
			c.send("QUIT\r\n")
			c.expect("221 ")
			c.conn.Close()
			srv.WaitForSessions(t, 1)
			var texts []string
			for _, f := range srv.Findings() {
				if f.Rule == mocksmtp.RuleAuthPlaintext {
					texts = append(texts, f.Text)
				}
			}
			what := "AUTH " + tt.mechanism
			if tt.mechanism == "" {
				what = "AUTH without a mechanism"
			}
			want := []string{what + " over a connection without TLS: " + tt.want}
			if diff := cmp.Diff(want, texts); diff != "" {
				t.Errorf("auth-plaintext findings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMessageFindings(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	msg := strings.Replace(goodMessage, "Message-ID: <1@example.com>\r\n", "", 1)
	if err := smtp.SendMail(srv.Addr(), nil, "alice@example.com", []string{"bob@example.com"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	m := srv.WaitForMessages(t, 1)[0]
	if diff := cmp.Diff([]mocksmtp.Rule{mocksmtp.RuleMessageID}, rules(m.Findings)); diff != "" {
		t.Fatalf("message findings (-want +got):\n%s", diff)
	}
	if m.Findings[0].Message != m.ID {
		t.Errorf("finding names message %d, want %d", m.Findings[0].Message, m.ID)
	}
}

// The well-behaved Go client makes no finding at all.
func TestNetSMTPConforms(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithStrict())
	if err := smtp.SendMail(srv.Addr(), nil, "alice@example.com", []string{"bob@example.com"}, []byte(goodMessage)); err != nil {
		t.Fatal(err)
	}
	srv.WaitForSessions(t, 1)
	if fs := srv.Findings(); len(fs) != 0 {
		t.Errorf("findings for net/smtp: %v", fs)
	}
}

func TestRejectNonconforming(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithRejectNonconforming())
	msg := strings.Replace(goodMessage, "Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n", "", 1)
	err := smtp.SendMail(srv.Addr(), nil, "alice@example.com", []string{"bob@example.com"}, []byte(msg))
	var reply *textproto.Error
	if !errors.As(err, &reply) || reply.Code != 550 || !strings.HasPrefix(reply.Msg, "5.6.0 ") {
		t.Fatalf("SendMail = %v, want 550 5.6.0", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages recorded, want the rejected one not recorded", n)
	}
	c := dialRaw(t, srv.Addr())
	c.expect("220 ")
	c.send("MAIL FROM:<a@example.com>\r\n")
	c.expect("503 5.5.1")
	c.send("EHLO x\r\nNOOP\r\n")
	c.expect("503 5.5.1") // EHLO must end a pipelined group
	c.expect("250 2.0.0")
}

func TestStrictFailsTheTest(t *testing.T) {
	t.Parallel()
	ft := &recordingT{TB: t}
	srv := mocksmtp.Start(ft, mocksmtp.WithStrict(), mocksmtp.WithoutTranscriptLog())
	c := dialEHLO(t, srv.Addr())
	c.conn.Close()
	srv.WaitForSessions(t, 1)
	ft.cleanup()
	if len(ft.errors) != 1 {
		t.Fatalf("got %d errors, want 1: %q", len(ft.errors), ft.errors)
	}
	for _, want := range []string{"1 conformance finding\n", "warning quit (RFC 5321 4.1.1.10)", "session 1: the client closed the connection without QUIT", "S: 250 CHUNKING"} {
		if !strings.Contains(ft.errors[0], want) {
			t.Errorf("report lacks %q:\n%s", want, ft.errors[0])
		}
	}
}

// recordingT records failures and cleanups instead of failing.
type recordingT struct {
	testing.TB
	errors   []string
	cleanups []func()
	failed   bool
}

func (t *recordingT) Helper()          {}
func (t *recordingT) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }
func (t *recordingT) Failed() bool     { return t.failed }
func (t *recordingT) Errorf(format string, args ...any) {
	t.failed = true
	t.errors = append(t.errors, fmt.Sprintf(format, args...))
}
func (t *recordingT) Log(args ...any) {}
func (t *recordingT) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// Rules returns a copy: what a caller does to it changes neither the next
// call nor the order of reports.
func TestRulesIsACopy(t *testing.T) {
	first := mocksmtp.Rules()
	if len(first) == 0 {
		t.Fatal("Rules() is empty")
	}
	want := mocksmtp.Rules()
	first[0] = "changed"
	if got := mocksmtp.Rules(); !cmp.Equal(got, want) {
		t.Errorf("Rules() after a caller changed its result = %v, want %v", got, want)
	}
	for _, r := range want {
		if r.Ref() == "" {
			t.Errorf("rule %q has no Ref", r)
		}
	}
}

// A session records at most 100 findings of one rule, the last saying so:
// a client breaking a rule in a loop must not grow the record without
// bound. Reset starts the count again.
func TestFindingsOfARuleCapped(t *testing.T) {
	t.Parallel()
	for _, n := range []int{99, 100, 101, 200} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t)
			// n+1 EHLOs in one write: each but the last has a command
			// pipelined after it.
			pipelined := func() []mocksmtp.Finding {
				t.Helper()
				c := dialRaw(t, srv.Addr())
				c.expect("220 ")
				c.send(strings.Repeat("EHLO x\r\n", n+1))
				for range n + 1 {
					c.expect("250 ")
				}
				c.send("QUIT\r\n")
				c.expect("221 ")
				c.closed()
				c.conn.Close() // the server waits for it after QUIT
				srv.WaitForSessions(t, 1)
				return srv.Findings()
			}
			for range 2 {
				fs := pipelined()
				if got, want := len(fs), min(n, 100); got != want {
					t.Fatalf("%d findings, want %d: %v", got, want, fs)
				}
				for i, f := range fs {
					capped := strings.Contains(f.Text, "the later ones are not recorded")
					if f.Rule != mocksmtp.RulePipelining || capped != (i == 99) {
						t.Errorf("finding %d: %v", i+1, f)
					}
				}
				srv.Reset()
			}
		})
	}
}

// The cap is on findings about the session: those about the messages it
// delivered are the messages', all kept, whether the content is checked
// on arrival (WithRejectNonconforming) or when first read.
func TestFindingsOfMessagesNotCapped(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string][]mocksmtp.Option{"default": nil, "reject": {mocksmtp.WithRejectNonconforming()}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t, opts...)
			const n = 101
			c := dialEHLO(t, srv.Addr())
			noID := strings.Replace(goodMessage, "Message-ID: <1@example.com>\r\n", "", 1)
			for range n {
				c.send("MAIL FROM:<a@example.com> BODY=8BITMIME\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
				c.expect("250 ")
				c.expect("250 ")
				c.expect("354 ")
				c.send(noID + ".\r\n")
				c.expect("250 ")
			}
			c.send("QUIT\r\n")
			c.expect("221 ")
			c.closed()
			c.conn.Close()
			srv.WaitForSessions(t, 1)
			count := func(fs []mocksmtp.Finding) (k int) {
				for _, f := range fs {
					if f.Rule == mocksmtp.RuleMessageID && f.Message > 0 {
						k++
					}
				}
				return k
			}
			if got := count(srv.Findings()); got != n {
				t.Errorf("Findings: %d message-id findings, want %d", got, n)
			}
			if got := count(srv.Session(1).Findings); got != n {
				t.Errorf("Session(1).Findings: %d message-id findings, want %d", got, n)
			}
		})
	}
}

// A refusal quotes what the client sent, which may be any octet: its text
// stays printable ASCII on one line (RFC 5321 4.2), the rest written as
// \xNN. Here a DKIM signature and an ARC set with control and 8-bit
// octets in their tags.
func TestRejectionTextIsPrintable(t *testing.T) {
	t.Parallel()
	for name, field := range map[string]string{
		"DKIM": "DKIM-Signature: v=1; a=rsa-sha256; d=ex\x1b[31mample\x00.com; s=s\xff; h=from; bh=AAAA; b=AAAA\r\n",
		"ARC": "ARC-Seal: i=1; a=rsa-sha256; cv=none; d=example.com; s=s; b=AAAA\r\n" +
			"ARC-Message-Signature: i=1; a=x\x1b[31m\x00\xff; d=example.com; s=s; h=from; bh=AAAA; b=AAAA\r\n" +
			"ARC-Authentication-Results: i=1; example.com; none\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t, mocksmtp.WithRejectNonconforming())
			c := dialEHLO(t, srv.Addr())
			c.send("MAIL FROM:<alice@example.com> BODY=8BITMIME\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n")
			c.expect("250 ")
			c.expect("250 ")
			c.expect("354 ")
			c.send(field + goodMessage + ".\r\n")
			got, err := c.reply()
			if err != nil || !strings.HasPrefix(got, "550 5.7.") {
				t.Fatalf("reply %q, %v; want a 550 5.7.x refusal", got, err)
			}
			for _, b := range []byte(got) {
				if b != '\t' && (b < 32 || b > 126) {
					t.Fatalf("reply %q has octet %#x, not printable ASCII", got, b)
				}
			}
			if !strings.Contains(got, `\x1b`) {
				t.Errorf("reply %q does not show the control octets it quotes", got)
			}
		})
	}
}

// Two clients that say the same, each in its own session, get the same
// findings report whichever session ends first: the report of WithStrict
// and of the program's GET /api/findings/check is text a test snapshots,
// and two sessions that end together end in any order.
func TestFindingsReportIndependentOfEndOrder(t *testing.T) {
	t.Parallel()
	report := func(firstClosed int) string {
		srv, err := mocksmtp.New()
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		var cs []*rawClient
		for range 2 {
			c := dialRaw(t, srv.Addr())
			c.expect("220 ") // the next session: 1, then 2
			c.send("MAIL FROM:<a@example.com>\r\n")
			c.expect("503 ")
			cs = append(cs, c)
		}
		// Each ends without QUIT: a finding at its end.
		for _, i := range []int{firstClosed, 1 - firstClosed} {
			cs[i].conn.Close()
			srv.WaitForSessionEnd(t, i+1)
		}
		return mocksmtp.FindingsReport(srv.Findings(), srv.Sessions())
	}
	one, two := report(0), report(1)
	if diff := cmp.Diff(one, two); diff != "" {
		t.Errorf("the report changed with the order the sessions ended in (-session 1 first +session 2 first):\n%s", diff)
	}
}

// FindingsReport takes any findings, also of rules it does not know (a
// program's own): it groups those after its own, by name, the same every
// call, not in a map's order.
func TestFindingsReportOrdersUnknownRules(t *testing.T) {
	t.Parallel()
	var fs []mocksmtp.Finding
	for _, r := range []mocksmtp.Rule{"x-two", "x-one", "x-three", mocksmtp.RuleQuit} {
		fs = append(fs, mocksmtp.Finding{Rule: r, Severity: mocksmtp.SeverityWarning, Session: 1, Text: string(r) + " broken"})
	}
	first := mocksmtp.FindingsReport(fs, nil)
	for range 50 {
		if got := mocksmtp.FindingsReport(fs, nil); got != first {
			t.Fatalf("the report changed from call to call (-first +now):\n%s", cmp.Diff(first, got))
		}
	}
	quit, one, three, two := strings.Index(first, "quit"), strings.Index(first, "x-one"), strings.Index(first, "x-three"), strings.Index(first, "x-two")
	if !(quit < one && one < three && three < two) {
		t.Errorf("want the known rule, then x-one, x-three, x-two:\n%s", first)
	}
}

// A finding quotes what the client sent: a verb, a DKIM signature's
// domain and selector, which may hold any octet. The findings report,
// which WithStrict prints in the test's log and the program's GET
// /api/findings/check answers, prints each finding on one line, a
// control, bidi control or octet of no UTF-8 written as a Go escape as
// transcript lines are (Line.String): a client's ESC sequence would
// otherwise rewrite the log, its bare CR hide the text before it, its
// U+202E reorder the line.
func TestFindingsReportPrintsWhatWouldHide(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	c := dialRaw(t, srv.Addr())
	c.expect("220 ")
	c.send("HELO x\r\n")
	c.expect("250 ")
	// After HELO the server offered no PIPELINING: a command sent with the
	// next is a finding that names its verb.
	c.send("X\x1b[2J\x1b[1;1HFORGED\u202eTXT\xff\x00\r\nNOOP\r\n")
	c.reply()
	c.expect("250 ")
	c.send("MAIL FROM:<alice@example.com>\r\n")
	c.expect("250 ")
	c.send("RCPT TO:<bob@example.com>\r\n")
	c.expect("250 ")
	c.send("DATA\r\n")
	c.expect("354 ")
	c.send("DKIM-Signature: v=1; a=rsa-sha256; d=ex\x1b[31mample\x00.com; s=s\u202e\xff; h=from; bh=AAAA; b=AAAA\r\n" + goodMessage + ".\r\n")
	c.expect("250 ")
	c.send("QUIT\r\n")
	c.expect("221 ")
	srv.WaitForSessionEnd(t, 1)
	fs := srv.Findings()
	report := mocksmtp.FindingsReport(fs, srv.Sessions())
	for _, want := range []string{`commands sent after X\x1b[2J\x1b[1;1HFORGED\u202eTXT\xff\x00 before its reply`, `d=ex\x1b[31mample\x00.com s=s\u202e\xff`} {
		if !strings.Contains(report, want) {
			t.Errorf("the report does not show %s:\n%s", want, report)
		}
	}
	for i, r := range report {
		if r != '\n' && r != '\t' && !strconv.IsPrint(r) {
			t.Fatalf("the report holds %U at %d:\n%q", r, i, report)
		}
	}
	for _, f := range fs {
		s := f.String()
		for _, r := range s {
			if r != '\t' && !strconv.IsPrint(r) {
				t.Errorf("Finding.String() holds %U: %q", r, s)
				break
			}
		}
	}
}

// The findings take as offered what the last EHLO the server took offered:
// a greeting the server refused (here WithRejectNonconforming's 503 to a
// greeting that does not end its pipelined group) changes nothing, in the
// findings as in the engine. A client that went on as if it had the
// refused greeting's extensions, or as if it had lost those of the taken
// one, was judged by the refused one: a refused EHLO after HELO made
// pipelining seem offered, a refused HELO after EHLO made it seem not.
func TestFindingsFollowTheGreetingTaken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		greeting string // the greeting taken
		refused  string // then a greeting refused
		want     string // the reply to MAIL, pipelined with RCPT
		findings []mocksmtp.Rule
	}{
		{"EHLO refused after HELO", "HELO x", "EHLO y", "503 5.5.1", []mocksmtp.Rule{mocksmtp.RulePipelining, mocksmtp.RulePipelining}},
		{"HELO refused after EHLO", "EHLO x", "HELO y", "250 2.1.0", []mocksmtp.Rule{mocksmtp.RulePipelining}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t, mocksmtp.WithRejectNonconforming())
			c := dialRaw(t, srv.Addr())
			c.expect("220 ")
			c.send(tt.greeting + "\r\n")
			c.expect("250")
			c.send(tt.refused + "\r\nNOOP\r\n")
			c.expect("503 5.5.1") // the greeting must end a pipelined group
			c.expect("250 2.0.0")
			c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n")
			c.expect(tt.want)
			c.reply()
			c.send("QUIT\r\n")
			c.expect("221 ")
			srv.WaitForSessions(t, 1)
			if diff := cmp.Diff(tt.findings, rules(srv.Findings())); diff != "" {
				t.Errorf("findings (-want +got):\n%s\n%v", diff, srv.Findings())
			}
		})
	}
}

// A client that starts TLS before its mail commands, as the server that
// requires it wants, breaks no rule: Go's net/smtp, which uses STARTTLS
// when offered.
func TestSTARTTLSFirstKept(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithRequireTLS(), mocksmtp.WithStrict())
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(srv.ClientTLSConfig()); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	srv.WaitForSessions(t, 1)
	if fs := srv.Findings(); len(fs) != 0 {
		t.Errorf("findings: %v", fs)
	}
}

// A pipelining finding names the command whose reply the client did not
// wait for, and says so: after HELO (no PIPELINING offered), MAIL and
// RCPT sent in one write are RCPT sent behind MAIL, not MAIL behind HELO,
// whose reply the client had read. The finding, on MAIL's line, said
// "MAIL sent before the reply to the command before it", which was false.
func TestPipeliningFindingSaysWhichReplyWasNotAwaited(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, greet, group string
		replies            int
		want               []string
	}{
		{"MAIL and RCPT after HELO", "HELO x\r\n", "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n", 2,
			[]string{"commands sent after MAIL before its reply, but PIPELINING was not offered"}},
		{"MAIL and two RCPT after HELO", "HELO x\r\n", "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\n", 3,
			[]string{"commands sent after MAIL before its reply, but PIPELINING was not offered", "commands sent after RCPT before its reply, but PIPELINING was not offered"}},
		{"NOOP after EHLO", "", "EHLO x\r\nNOOP\r\n", 2,
			[]string{"commands sent after EHLO before its reply, but PIPELINING was not offered"}}, // not before EHLO's reply
		{"NOOP after a second EHLO", "EHLO x\r\n", "EHLO y\r\nNOOP\r\n", 2,
			[]string{"commands sent after EHLO before its reply: EHLO must end a pipelined group"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t)
			x := exchange{{tt.group, tt.replies}, {"QUIT\r\n", 1}}
			if tt.greet != "" {
				x = append(exchange{{tt.greet, 1}}, x...)
			}
			x.play(t, srv)
			var got []string
			for _, f := range srv.Findings() {
				if f.Rule == mocksmtp.RulePipelining {
					got = append(got, f.Text)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("pipelining findings %q, want %q", got, tt.want)
			}
		})
	}
}

// A line over its limit is a line-length finding however long it is: one
// past 1 MiB, which the engine refuses unread (500 5.5.2, in an AUTH
// exchange 500 5.5.6) and closes the connection after, as one of 1 MiB,
// which it reads to its end and refuses. Before, a line past 1 MiB was no
// finding at all (WithStrict passed a client that sent one), and since
// every limit closes at it, a MaxCommandLine or MaxTextLine of 1 MiB
// lost the finding a line of 1 MiB+1 had.
func TestLinePastOneMiBIsALineLengthFinding(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	for _, tt := range []struct {
		name  string
		cfg   smtpd.Config
		kind  string // command, text or AUTH response
		n     int    // the line's length, CRLF included
		reply string
	}{
		{"command, default limits, 1 MiB", smtpd.Config{}, "command", mib, "500 5.5.2"},
		{"command, default limits, 1 MiB+1", smtpd.Config{}, "command", mib + 1, "500 5.5.2"},
		{"command, MaxCommandLine 1 MiB", smtpd.Config{MaxCommandLine: mib}, "command", mib + 1, "500 5.5.2"},
		{"text, default limits, 1 MiB+1", smtpd.Config{}, "text", mib + 1, "500 5.5.2"},
		{"text, MaxTextLine 1 MiB", smtpd.Config{MaxTextLine: mib}, "text", mib + 1, "500 5.5.2"},
		{"AUTH response, 1 MiB+1", smtpd.Config{}, "AUTH response", mib + 1, "500 5.5.6"},
		{"AUTH response, 2 MiB", smtpd.Config{}, "AUTH response", 2 * mib, "500 5.5.6"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t, mocksmtp.WithEngineConfig(tt.cfg), mocksmtp.WithAuth("user", "secret"),
				mocksmtp.WithAuthMechanismsBeforeTLS(mocksmtp.AuthLogin), mocksmtp.WithoutRules(mocksmtp.RuleAuthPlaintext))
			c := dialEHLO(t, srv.Addr())
			line := strings.Repeat("x", tt.n-2) + "\r\n"
			switch tt.kind {
			case "command":
				line = "NOOP " + line[5:]
			case "text":
				c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
				c.expect("250 ")
				c.expect("250 ")
				c.expect("354 ")
			case "AUTH response":
				c.send("AUTH LOGIN\r\n")
				c.expect("334 ")
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				c.conn.Write([]byte(line)) // the server may close before it has read it all
			}()
			c.expect(tt.reply)
			if tt.n > mib {
				c.closed()
			} else {
				c.send("QUIT\r\n")
				c.expect("221 ")
			}
			<-done
			srv.WaitForSessions(t, 1)
			var got []mocksmtp.Finding
			for _, f := range srv.Findings() {
				if f.Rule == mocksmtp.RuleLineLength {
					got = append(got, f)
				}
			}
			if len(got) != 1 {
				t.Fatalf("line-length findings %v, want 1; all: %v", got, srv.Findings())
			}
			// Its line is the one the engine read and found too long, as
			// for a shorter line over its limit, not the server's 500
			// after it (which it named for a line past 1 MiB).
			tr := srv.Sessions()[0].Transcript
			if n := got[0].Line; n < 1 || n > len(tr) || tr[n-1].Dir == mocksmtp.FromServer || !strings.Contains(tr[n-1].Text, "too long") {
				t.Errorf("the finding names line %d, want the too long line; transcript:\n%v", n, tr)
			}
		})
	}
}

// TestAuthPlaintextAbandonedExchange checks that an AUTH exchange over a
// connection without TLS that never finished is an auth-plaintext finding
// saying what crossed, over a real socket: the client closed the
// connection in the middle of it, or sent a response past 1 MiB, which
// the engine answers 500 5.5.6 and closes at. There is no Auth event for
// either, and before, there was no finding either, though the user name
// (or all the response) had crossed in clear text.
func TestAuthPlaintextAbandonedExchange(t *testing.T) {
	t.Parallel()
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	const (
		mib      = 1 << 20
		userOnly = "the user name crossed in clear text; the password was not sent"
		all      = "the user name and the password crossed in clear text"
		nothing  = "no credential crossed yet, but the client began to authenticate in clear text"
	)
	long := strings.Repeat("A", mib+1) + "\r\n"
	type step struct{ send, want string } // a line and its reply's prefix
	for _, tt := range []struct {
		name, mechanism string
		steps           []step
		last            string // sent last, without waiting for a reply; "" closes
		want            string // after "AUTH <mechanism> over a connection without TLS, unfinished: "
	}{
		{"LOGIN, closed after the user name", "LOGIN",
			[]step{{"AUTH LOGIN\r\n", "334 "}, {b64("user") + "\r\n", "334 "}}, "", userOnly},
		{"LOGIN, closed after the user name as the initial response", "LOGIN",
			[]step{{"AUTH LOGIN " + b64("user") + "\r\n", "334 "}}, "", userOnly},
		{"LOGIN, closed at the first challenge", "LOGIN",
			[]step{{"AUTH LOGIN\r\n", "334 "}}, "", nothing},
		{"LOGIN, a password of 1 MiB+1", "LOGIN",
			[]step{{"AUTH LOGIN\r\n", "334 "}, {b64("user") + "\r\n", "334 "}}, long, all},
		{"LOGIN, a user name of 1 MiB+1", "LOGIN",
			[]step{{"AUTH LOGIN\r\n", "334 "}}, long, userOnly},
		{"PLAIN, a response of 1 MiB+1", "PLAIN",
			[]step{{"AUTH PLAIN\r\n", "334 "}}, long, all},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t, mocksmtp.WithAuth("user", "secret"))
			c := dialEHLO(t, srv.Addr())
			for _, s := range tt.steps {
				c.send(s.send)
				c.expect(s.want)
			}
			if tt.last != "" {
				done := make(chan struct{})
				go func() {
					defer close(done)
					c.conn.Write([]byte(tt.last)) // the server may close before it has read it all
				}()
				c.expect("500 5.5.6")
				c.closed()
				<-done
			}
			c.conn.Close()
			srv.WaitForSessions(t, 1)
			var texts []string
			for _, f := range srv.Findings() {
				if f.Rule == mocksmtp.RuleAuthPlaintext {
					texts = append(texts, f.Text)
				}
			}
			want := []string{"AUTH " + tt.mechanism + " over a connection without TLS, unfinished: " + tt.want}
			if diff := cmp.Diff(want, texts); diff != "" {
				t.Errorf("auth-plaintext findings (-want +got):\n%s", diff)
			}
			if a := srv.Sessions()[0].Auth; a == nil || a.Success || string(a.Mechanism) != tt.mechanism {
				t.Errorf("Session.Auth = %+v, want a failed %s", a, tt.mechanism)
			}
		})
	}
}

// TestSTARTTLSFirstAfterARefusedSTARTTLS checks, over a real socket, that
// a STARTTLS refused for the client's own mistake does not excuse the
// commands it then sends in clear text to a server that requires TLS:
// STARTTLS after HELO (503 5.5.1), with an argument (501 5.5.4), or
// pipelined and refused by WithRejectNonconforming (503 5.5.1). Before,
// any STARTTLS, however answered, excused them, and MAIL's 530 was no
// finding. One refused for the server's own reasons (a 454) excuses them
// still. The finding says what happened, not that the client never
// starts TLS: it may do so right after.
func TestSTARTTLSFirstAfterARefusedSTARTTLS(t *testing.T) {
	t.Parallel()
	const before = "MAIL before STARTTLS, to a server that requires TLS"
	for _, tt := range []struct {
		name  string
		opts  []mocksmtp.Option
		greet string
		send  string   // STARTTLS, in a group
		want  []string // the replies to send
		texts []string
	}{
		{"no STARTTLS", nil, "EHLO x\r\n", "", nil, []string{before}},
		{"STARTTLS after HELO", nil, "HELO x\r\n", "STARTTLS\r\n", []string{"503 5.5.1"},
			[]string{"MAIL before a STARTTLS the server took, to a server that requires TLS: the client's STARTTLS got 503 5.5.1"}},
		{"STARTTLS with an argument", nil, "EHLO x\r\n", "STARTTLS x\r\n", []string{"501 5.5.4"},
			[]string{"MAIL before a STARTTLS the server took, to a server that requires TLS: the client's STARTTLS got 501 5.5.4"}},
		{"STARTTLS pipelined, refused as nonconforming", []mocksmtp.Option{mocksmtp.WithRejectNonconforming()},
			"EHLO x\r\n", "STARTTLS\r\nNOOP\r\n", []string{"503 5.5.1", "250 "},
			[]string{"MAIL before a STARTTLS the server took, to a server that requires TLS: the client's STARTTLS got 503 5.5.1"}},
		{"STARTTLS refused by the server", []mocksmtp.Option{mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageStartTLS).Reply(454, "4.7.0 TLS not available due to temporary reason"))},
			"EHLO x\r\n", "STARTTLS\r\n", []string{"454 4.7.0"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t, append([]mocksmtp.Option{mocksmtp.WithRequireTLS()}, tt.opts...)...)
			c := dialRaw(t, srv.Addr())
			c.expect("220 ")
			c.send(tt.greet)
			c.expect("250 ")
			if tt.send != "" {
				c.send(tt.send)
				for _, w := range tt.want {
					c.expect(w)
				}
			}
			c.send("MAIL FROM:<a@example.com>\r\n")
			c.expect("530 5.7.0")
			c.send("QUIT\r\n")
			c.expect("221 ")
			srv.WaitForSessions(t, 1)
			var texts []string
			for _, f := range srv.Findings() {
				if f.Rule == mocksmtp.RuleSTARTTLSFirst {
					texts = append(texts, f.Text)
				}
			}
			if diff := cmp.Diff(tt.texts, texts); diff != "" {
				t.Errorf("starttls-first findings (-want +got):\n%s\nall: %v", diff, srv.Findings())
			}
		})
	}
}

// TestAuthPlaintextUnfinishedLine checks the line of the auth-plaintext
// finding of an AUTH exchange left unfinished without TLS: the client's
// last line of the exchange (its last response, or the AUTH command), as
// for an exchange that finished, not whatever the server wrote last (the
// 334 challenge the client left at, an idle fault's 421, the 421 of
// Close). It named the server's line before.
func TestAuthPlaintextUnfinishedLine(t *testing.T) {
	t.Parallel()
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tt := range []struct {
		name  string
		opts  []mocksmtp.Option
		send  []string // each line, its reply read
		end   func(*mocksmtp.Server, *rawClient)
		wantN int // the line of the AUTH exchange the finding names, counted from the AUTH command (1)
	}{
		{"closed at the first challenge", nil, []string{"AUTH LOGIN\r\n"},
			func(_ *mocksmtp.Server, c *rawClient) { c.conn.Close() }, 1},
		{"closed after the user name", nil, []string{"AUTH LOGIN\r\n", b64("user") + "\r\n"},
			func(_ *mocksmtp.Server, c *rawClient) { c.conn.Close() }, 3},
		{"the server closed", nil, []string{"AUTH LOGIN " + b64("user") + "\r\n"},
			func(srv *mocksmtp.Server, c *rawClient) { srv.Close(); c.expect("421 4.3.2"); c.closed() }, 1},
		{"an idle fault", []mocksmtp.Option{mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageHelo).IdleReply(50*time.Millisecond, 421, "4.4.2 idle"))},
			[]string{"AUTH PLAIN\r\n"},
			func(_ *mocksmtp.Server, c *rawClient) { c.expect("421 4.4.2"); c.closed() }, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t, append([]mocksmtp.Option{mocksmtp.WithAuth("user", "secret")}, tt.opts...)...)
			c := dialEHLO(t, srv.Addr())
			for _, s := range tt.send {
				c.send(s)
				c.expect("334 ")
			}
			tt.end(srv, c)
			srv.WaitForSessions(t, 1)
			tr := srv.Sessions()[0].Transcript
			auth := slices.IndexFunc(tr, func(l mocksmtp.Line) bool { return strings.HasPrefix(l.Text, "AUTH ") })
			if auth < 0 {
				t.Fatalf("no AUTH line in\n%v", tr)
			}
			want := auth + tt.wantN // 1-based
			var got []int
			for _, f := range srv.Findings() {
				if f.Rule == mocksmtp.RuleAuthPlaintext {
					got = append(got, f.Line)
				}
			}
			if len(got) != 1 || got[0] != want {
				t.Errorf("auth-plaintext findings' lines = %v, want [%d] (%v); transcript:\n%v", got, want, tr[want-1], tr)
			}
		})
	}
}

// TestFindingLineIsTheEventsNotAFaultsNote: a finding about a message names
// the transcript line of its data, also when a fault fired at the end of
// the message and noted so in the transcript first (the reply of a fault,
// accepting or refusing): the line is the event's, not the fault's note,
// which a report's excerpt would otherwise point at.
func TestFindingLineIsTheEventsNotAFaultsNote(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		fault mocksmtp.Fault
	}{
		{"refused by a fault", mocksmtp.At(mocksmtp.StageMessage).Reply(451, "4.3.0 try later")},
		{"accepted by a fault", mocksmtp.At(mocksmtp.StageMessage).Reply(250, "2.0.0 queued")},
		{"a fault of chance", mocksmtp.At(mocksmtp.StageMessage).WithProbability(1).Reply(451, "4.3.0 try later")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t, mocksmtp.WithFault(tt.fault))
			mail("Subject: no date\r\n\r\nhi\r\n", "").play(t, srv)
			srv.Messages() // a message kept is checked when first read
			tr := srv.Sessions()[0].Transcript
			data := slices.IndexFunc(tr, func(l mocksmtp.Line) bool { return strings.HasPrefix(l.Text, "<message data") }) + 1
			if data == 0 || !slices.ContainsFunc(tr, func(l mocksmtp.Line) bool { return strings.HasPrefix(l.Text, "fault ") }) {
				t.Fatalf("no message data or no fault note in\n%v", tr)
			}
			var got []int
			for _, f := range srv.Findings() {
				if f.Rule == mocksmtp.RuleRequiredHeaders {
					got = append(got, f.Line)
				}
			}
			if len(got) == 0 || slices.ContainsFunc(got, func(l int) bool { return l != data }) {
				t.Errorf("required-headers findings' lines = %v, want each %d (%v); transcript:\n%v", got, data, tr[data-1], tr)
			}
		})
	}
}
