package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"net/textproto"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The flags of the Go options that shape the protocol and the
// conformance checks, end to end: what a client sees of each.

// dial opens an SMTP session with the program and says EHLO. The
// session fails after 10 s rather than hang the test.
func dial(t *testing.T, p *proc) *smtp.Client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", p.smtp, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	return c
}

// offered returns which of the extensions the EHLO reply of c named.
func offered(c *smtp.Client, exts ...string) map[string]bool {
	got := map[string]bool{}
	for _, e := range exts {
		got[e], _ = c.Extension(e)
	}
	return got
}

func TestWithoutExtensionsFlagHidesAndRefusesThem(t *testing.T) {
	t.Parallel()
	exts := []string{"PIPELINING", "CHUNKING", "8BITMIME", "SIZE"}
	flagged := start(t, nil, "-without-extensions", "PIPELINING, chunking")
	fromEnv := start(t, []string{"MOCKSMTP_WITHOUT_EXTENSIONS=8BITMIME"})

	c := dial(t, flagged)
	want := map[string]bool{"PIPELINING": false, "CHUNKING": false, "8BITMIME": true, "SIZE": true}
	if diff := cmp.Diff(want, offered(c, exts...)); diff != "" {
		t.Errorf("EHLO with -without-extensions PIPELINING,chunking (-want +got):\n%s", diff)
	}
	// Not offered, not accepted: BDAT is an unknown command.
	id, err := c.Text.Cmd("BDAT 4 LAST")
	if err != nil {
		t.Fatal(err)
	}
	c.Text.StartResponse(id)
	code, msg, err := c.Text.ReadResponse(250)
	c.Text.EndResponse(id)
	if code != 500 || !strings.HasPrefix(msg, "5.5.2 ") {
		t.Errorf("BDAT without CHUNKING: %d %q (%v), want 500 5.5.2", code, msg, err)
	}

	c = dial(t, fromEnv)
	want = map[string]bool{"PIPELINING": true, "CHUNKING": true, "8BITMIME": false, "SIZE": true}
	if diff := cmp.Diff(want, offered(c, exts...)); diff != "" {
		t.Errorf("EHLO with MOCKSMTP_WITHOUT_EXTENSIONS=8BITMIME (-want +got):\n%s", diff)
	}
}

// noDate is a message without a Date (an error of rule
// required-headers) and a Message-ID (a warning of rule message-id).
const noDate = "From: alice@example.com\r\nTo: bob@example.com\r\nSubject: hi\r\n\r\nhi\r\n"

// ruleNamesOf returns the rules of findings, in order.
func ruleNamesOf(fs []findingJSON) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule)
	}
	return out
}

func TestRejectNonconformingFlagAnswersAsAStrictMTA(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-reject-nonconforming")

	// A message without Date: 550 5.6.0 after its data, and not kept.
	err := smtp.SendMail(p.smtp, nil, "alice@example.com", []string{"bob@example.com"}, []byte(noDate))
	if !isReply(err, 550, "5.6.0") {
		t.Errorf("a message without Date: %v, want 550 5.6.0", err)
	}
	getJSON(t, p, "/api/wait/sessions?count=1&timeout=10s", 200, nil)
	// MAIL before EHLO: 503 5.5.1.
	conn, err := net.DialTimeout("tcp", p.smtp, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	raw := textproto.NewConn(conn)
	if _, _, err := raw.ReadResponse(220); err != nil {
		t.Fatal(err)
	}
	if err := raw.PrintfLine("MAIL FROM:<alice@example.com>"); err != nil {
		t.Fatal(err)
	}
	if code, msg, _ := raw.ReadResponse(250); code != 503 || !strings.HasPrefix(msg, "5.5.1 ") {
		t.Errorf("MAIL before EHLO: %d %q, want 503 5.5.1", code, msg)
	}
	var ms []messageJSON
	getJSON(t, p, "/api/messages", 200, &ms)
	if len(ms) != 0 {
		t.Errorf("%d messages kept, want none: the message was refused", len(ms))
	}
	// What was refused is told by the findings: net/smtp left without
	// QUIT after the 550.
	var fs []findingJSON
	getJSON(t, p, "/api/findings", 200, &fs)
	if diff := cmp.Diff([]string{"required-headers", "message-id", "quit", "helo-first"}, ruleNamesOf(fs)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}

	// The same message to a program without the flag is accepted.
	plain := start(t, nil)
	sendMail(t, plain.smtp, "alice@example.com", []string{"bob@example.com"}, noDate)
}

func TestWithoutRulesFlagSwitchesRulesOff(t *testing.T) {
	t.Parallel()
	// Sends noDate and closes without QUIT: findings of rules
	// required-headers, message-id and quit.
	send := func(p *proc) []string {
		t.Helper()
		c := dial(t, p)
		if err := c.Mail("alice@example.com"); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("bob@example.com"); err != nil {
			t.Fatal(err)
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, noDate); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			return []string{"refused: " + err.Error()}
		}
		c.Close() // without QUIT
		getJSON(t, p, "/api/wait/sessions?count=1&timeout=10s", 200, nil)
		var fs []findingJSON
		getJSON(t, p, "/api/findings", 200, &fs)
		return ruleNamesOf(fs)
	}
	if diff := cmp.Diff([]string{"required-headers", "message-id", "quit"}, send(start(t, nil))); diff != "" {
		t.Errorf("findings without the flag (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"required-headers"}, send(start(t, nil, "-without-rules", "message-id, quit"))); diff != "" {
		t.Errorf("findings with -without-rules message-id,quit (-want +got):\n%s", diff)
	}
	// Switched off, a rule is not enforced either: the message is
	// accepted by a strict MTA.
	if diff := cmp.Diff([]string(nil), send(start(t, nil, "-reject-nonconforming", "-without-rules", "required-headers,message-id,quit"))); diff != "" {
		t.Errorf("findings with -reject-nonconforming and the rules off (-want +got):\n%s", diff)
	}
}

func TestAuthMechanismsBeforeTLSFlag(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-auth", "user:secret", "-auth-mechanisms-before-tls", "CRAM-MD5")

	// Before TLS: CRAM-MD5 only; PLAIN gets 538 5.7.11.
	c := dial(t, p)
	if _, mechs := c.Extension("AUTH"); mechs != "CRAM-MD5" {
		t.Errorf("AUTH before TLS offers %q, want CRAM-MD5", mechs)
	}
	if err := c.Auth(smtp.PlainAuth("", "user", "secret", "127.0.0.1")); !isReply(err, 538, "5.7.11") {
		t.Errorf("AUTH PLAIN before TLS: %v, want 538 5.7.11", err)
	}
	c = dial(t, p) // net/smtp quits after a failed AUTH
	if err := c.Auth(smtp.CRAMMD5Auth("user", "secret")); err != nil {
		t.Errorf("AUTH CRAM-MD5 before TLS: %v", err)
	}

	// The flag implies -tls: after STARTTLS, -auth's mechanisms.
	pool, _ := caFromAPI(t, p)
	c = dial(t, p)
	if err := c.StartTLS(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}); err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	if _, mechs := c.Extension("AUTH"); mechs != "PLAIN LOGIN CRAM-MD5" {
		t.Errorf("AUTH after TLS offers %q, want PLAIN LOGIN CRAM-MD5", mechs)
	}
	if err := c.Auth(smtp.PlainAuth("", "user", "secret", "127.0.0.1")); err != nil {
		t.Errorf("AUTH PLAIN after TLS: %v", err)
	}
	var s serverJSON
	getJSON(t, p, "/api/server", 200, &s)
	if s.TLS == nil || s.TLS.Mode != "starttls" || s.Auth == nil {
		t.Errorf("GET /api/server: tls %+v, auth %+v; want STARTTLS and AUTH", s.TLS, s.Auth)
	}
}

// TestTLSAndAUTHFlagsNewRefusesTogether checks that TLS and AUTH flags
// whose options New refuses together are a usage error (exit 2) that
// names those flags, and only them, in the options' words, as a bad
// value of one flag is.
func TestTLSAndAUTHFlagsNewRefusesTogether(t *testing.T) {
	t.Parallel()
	const afterTLS = "WithAuthMechanismsBeforeTLS and WithRequireTLSForAuth: AUTH is offered only after TLS, so no mechanism is offered before it; choose one"
	for _, tt := range []struct {
		name string
		env  []string
		args []string
		want string // all of stderr
	}{
		{"mechanisms before TLS, AUTH only after it", nil,
			[]string{"-auth", "a:b", "-tls", "-auth-mechanisms-before-tls", "CRAM-MD5", "-require-tls-for-auth", "-require-auth"},
			"mocksmtp: flags -auth-mechanisms-before-tls and -require-tls-for-auth: " + afterTLS + "\n"},
		{"one from the environment", []string{"MOCKSMTP_REQUIRE_TLS_FOR_AUTH=true"},
			[]string{"-oauth-token", "a:t", "-auth-mechanisms-before-tls", "XOAUTH2"},
			"mocksmtp: flags -auth-mechanisms-before-tls and -require-tls-for-auth: " + afterTLS + "\n"},
		{"mechanisms before TLS, implicit TLS", nil,
			[]string{"-implicit-tls", "-auth", "a:b", "-auth-mechanisms-before-tls", "PLAIN"},
			"mocksmtp: flags -implicit-tls and -auth-mechanisms-before-tls: WithAuthMechanismsBeforeTLS and WithImplicitTLS: " +
				"a session speaks TLS from its first byte, so nothing is offered before TLS; choose one\n"},
		// Without -auth, the mechanisms were silently dead: no AUTH, and
		// STARTTLS for those before TLS.
		{"mechanisms before TLS without an account", nil,
			[]string{"-auth-mechanisms-before-tls", "CRAM-MD5"},
			"mocksmtp: flag -auth-mechanisms-before-tls: WithAuthMechanismsBeforeTLS: CRAM-MD5 needs the password, so an account of WithAuth\n"},
		// Without -oauth-token, New says another thing (XOAUTH2 needs a
		// token), but -oauth-token is no part of this one.
		{"mechanisms before TLS without an account, beside others", nil,
			[]string{"-oauth-token", "u:t", "-auth-mechanisms", "XOAUTH2", "-auth-mechanisms-before-tls", "CRAM-MD5"},
			"mocksmtp: flag -auth-mechanisms-before-tls: WithAuthMechanismsBeforeTLS: CRAM-MD5 needs the password, so an account of WithAuth\n"},
		{"mechanisms without an account", []string{"MOCKSMTP_AUTH_MECHANISMS=LOGIN"}, []string{"-tls"},
			"mocksmtp: flag -auth-mechanisms: WithAuthMechanisms: LOGIN needs an account of WithAuth or WithAuthFunc\n"},
		// Accepted before: implicit TLS silently won over -tls; without
		// AUTH offered, every MAIL got 530 under -require-auth, and
		// -require-tls-for-auth only turned STARTTLS on.
		{"STARTTLS and implicit TLS", nil, []string{"-tls", "-auth", "a:b", "-implicit-tls"},
			"mocksmtp: flags -tls and -implicit-tls: WithSTARTTLS and WithImplicitTLS: " +
				"a session speaks TLS from its first byte, so STARTTLS is never offered; choose one\n"},
		{"AUTH required, none offered", []string{"MOCKSMTP_REQUIRE_AUTH=1"}, []string{"-tls", "-require-tls"},
			"mocksmtp: flag -require-auth: WithRequireAuth needs WithAuth, WithOAuthToken or WithAuthFunc: " +
				"nothing offers AUTH, so every MAIL would get 530 5.7.0 and no client could send\n"},
		{"AUTH only after TLS, none offered", nil, []string{"-tls", "-require-tls-for-auth"},
			"mocksmtp: flag -require-tls-for-auth: WithRequireTLSForAuth needs WithAuth, WithOAuthToken or WithAuthFunc: " +
				"nothing offers AUTH, so there is none to offer after TLS (WithSTARTTLS offers STARTTLS alone)\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runOnce(t, tt.env, append([]string{"-listen", "127.0.0.1:0", "-http", ""}, tt.args...)...)
			if code != 2 || stderr != tt.want {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and only %q", code, stderr, tt.want)
			}
		})
	}
}

func TestHelpListsTheOptionFlags(t *testing.T) {
	t.Parallel()
	code, _, stderr := runOnce(t, nil, "-h")
	if code != 0 {
		t.Errorf("-h: exit %d", code)
	}
	for _, f := range []string{"-without-extensions keywords", "-reject-nonconforming", "-without-rules rules", "-auth-mechanisms-before-tls mechanisms", "-persona server",
		"-max-bad-commands n", "-max-junk-commands n", "-max-command-line octets", "-max-text-line octets"} {
		if !strings.Contains(stderr, "\n  "+f+"\n") {
			t.Errorf("-h does not list %s:\n%s", f, stderr)
		}
	}
	// A default in the case the help names the values in.
	if want := "\n  -log-level level\n    \tlog level: debug, info, warn or error (default info)\n"; !strings.Contains(stderr, want) {
		t.Errorf("-h does not list -log-level as %q:\n%s", want, stderr)
	}
	if strings.Contains(stderr, "INFO") {
		t.Errorf("-h says INFO, in another case than the values it lists:\n%s", stderr)
	}
}

// -persona is WithPersona: a client under test meets Exchange's or
// Postfix's greeting, EHLO reply and reply texts, as a Go test's client
// does; -hostname and -max-message-bytes change what it sets wherever
// they are on the command line, as options given after WithPersona do.
// GET /api/server names it. (The program had no such flag.)
func TestPersonaFlagImitatesTheServer(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		env      []string
		args     []string
		persona  string
		greeting string // its start
		size     string
		noUTF8   bool
		queued   *regexp.Regexp // the reply to a message, code and text
	}{
		{"exchange, after the flags it yields to", nil, []string{"-hostname", "mx.test.example", "-max-message-bytes", "1000", "-persona", "Exchange"},
			"exchange", "mx.test.example Microsoft ESMTP MAIL Service ready at ", "1000", true,
			regexp.MustCompile(`^250 2\.6\.0 <[0-9a-f]{16}@mx\.test\.example> \[InternalId=\d+, Hostname=mx\.test\.example\] Queued mail for delivery$`)},
		{"postfix, from the environment", []string{"MOCKSMTP_PERSONA=postfix"}, nil,
			"postfix", "localhost ESMTP Postfix", "10240000", false,
			regexp.MustCompile(`^250 2\.0\.0 Ok: queued as [0-9A-F]{11}$`)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := start(t, tt.env, tt.args...)
			var s serverJSON
			getJSON(t, p, "/api/server", 200, &s)
			if s.Persona != tt.persona {
				t.Errorf("GET /api/server: persona %q, want %q", s.Persona, tt.persona)
			}
			conn, err := net.DialTimeout("tcp", p.smtp, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			tc := textproto.NewConn(conn)
			if _, msg, err := tc.ReadResponse(220); err != nil || !strings.HasPrefix(msg, tt.greeting) {
				t.Errorf("greeting %q (%v), want %q...", msg, err, tt.greeting)
			}
			cmd := func(line string, want int) string {
				t.Helper()
				if err := tc.PrintfLine("%s", line); err != nil {
					t.Fatal(err)
				}
				code, msg, err := tc.ReadResponse(want)
				if err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				return fmt.Sprintf("%d %s", code, msg)
			}
			ehlo := strings.Split(cmd("EHLO client.example", 250), "\n")
			if !slices.Contains(ehlo, "SIZE "+tt.size) || slices.Contains(ehlo, "SMTPUTF8") == tt.noUTF8 {
				t.Errorf("EHLO reply %q, want SIZE %s and SMTPUTF8 %v", ehlo, tt.size, !tt.noUTF8)
			}
			cmd("MAIL FROM:<app@example.com>", 250)
			cmd("RCPT TO:<bob@example.com>", 250)
			cmd("DATA", 354)
			if got := cmd("Subject: hi\r\n\r\nhi\r\n.", 250); !tt.queued.MatchString(got) {
				t.Errorf("the reply to a message: %q, want %v", got, tt.queued)
			}
			cmd("QUIT", 221)
		})
	}
}

func TestPersonaFlagRefusesAnUnknownOne(t *testing.T) {
	t.Parallel()
	code, _, stderr := runOnce(t, nil, "-listen", "127.0.0.1:0", "-http", "", "-persona", "postfx")
	if want := `invalid value "postfx" for flag -persona: want postfix or exchange (did you mean "postfix"?)`; code != 2 || !strings.Contains(stderr, want) {
		t.Errorf("-persona postfx: exit %d, stderr:\n%s\nwant exit 2 and %q", code, stderr, want)
	}
}
