package mocksmtp

import (
	"bufio"
	"io"
	"net"
	"net/smtp"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mocksmtp/mocksmtp/smtpd"
)

func TestPersonas(t *testing.T) {
	t.Parallel()
	type step struct {
		send string
		want string // a regular expression for the last line of the reply
	}
	tests := []struct {
		name     string
		opts     []Option
		greeting string // a regular expression
		ehlo     []string
		steps    []step
	}{
		{
			name:     "Postfix",
			opts:     []Option{WithPersona(Postfix), WithSTARTTLS(), WithAuth("user", "secret")},
			greeting: `^220 localhost ESMTP Postfix$`,
			ehlo:     []string{"localhost", "PIPELINING", "SIZE 10240000", "VRFY", "STARTTLS", "AUTH PLAIN LOGIN CRAM-MD5", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING"},
			steps: []step{
				{"AUTH PLAIN " + b64("\x00user\x00wrong"), `^535 5\.7\.8 `},
				{"MAIL FROM:<a@example.com>", `^250 2\.1\.0 Ok$`},
				{"RCPT TO:<b@example.com>", `^250 2\.1\.5 Ok$`},
				{"DATA", `^354 End data with <CR><LF>\.<CR><LF>$`},
				{"Subject: hi\r\n\r\nhi\r\n.", `^250 2\.0\.0 Ok: queued as [0-9A-F]{11}$`},
				{"FOO", `^500 5\.5\.2 `},
			},
		},
		{
			name:     "Exchange",
			opts:     []Option{WithPersona(Exchange), WithHostname("EXCH01.contoso.com"), WithSTARTTLS(), WithAuth("user", "secret")},
			greeting: `^220 EXCH01\.contoso\.com Microsoft ESMTP MAIL Service ready at \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [-+]\d{4}$`,
			ehlo:     []string{"EXCH01.contoso.com Hello [127.0.0.1]", "SIZE 37748736", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES", "STARTTLS", "AUTH PLAIN LOGIN CRAM-MD5", "8BITMIME", "CHUNKING"},
			steps: []step{
				{"AUTH PLAIN " + b64("\x00user\x00wrong"), `^535 5\.7\.3 Authentication unsuccessful$`},
				{"MAIL FROM:<a@example.com> SMTPUTF8", `^555 5\.5\.4 `},
				{"MAIL FROM:<a@example.com>", `^250 2\.1\.0 Sender OK$`},
				{"RCPT TO:<b@example.com>", `^250 2\.1\.5 Recipient OK$`},
				{"DATA", `^354 Start mail input; end with <CRLF>\.<CRLF>$`},
				{"Subject: hi\r\n\r\nhi\r\n.", `^250 2\.6\.0 <[0-9a-f]+@EXCH01\.contoso\.com> \[InternalId=\d+, Hostname=EXCH01\.contoso\.com\] Queued mail for delivery$`},
				{"RSET", `^250 2\.0\.0 Resetting$`},
				{"NOOP", `^250 2\.0\.0 OK$`},
				{"FOO bar", `^500 5\.3\.3 Unrecognized command 'FOO'$`},
				{"HELO client.example", `^250 EXCH01\.contoso\.com Hello \[127\.0\.0\.1\]$`},
				{"QUIT", `^221 2\.0\.0 Service closing transmission channel$`},
			},
		},
		{
			// Postfix with disable_vrfy_command = yes answers VRFY 502
			// 5.5.1 and leaves it out of the EHLO reply, as HELP does:
			// the persona advertised it whatever VRFY's reply was.
			name: "Postfix, VRFY not implemented",
			opts: []Option{WithPersona(Postfix), WithEngineConfig(smtpd.Config{
				VRFY: &smtpd.Reply{Code: 502, Status: "5.5.1", Lines: []string{"VRFY command is disabled"}}})},
			greeting: `^220 localhost ESMTP Postfix$`,
			ehlo:     []string{"localhost", "PIPELINING", "SIZE 10240000", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING"},
			steps: []step{
				{"VRFY bob", `^502 5\.5\.1 VRFY command is disabled$`},
				{"HELP", `^214 2\.0\.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP$`},
			},
		},
		{
			name:     "a fault's reply wins over the persona's",
			opts:     []Option{WithPersona(Exchange), WithFault(At(StageMail).Reply(451, "4.7.1 greylisted"))},
			greeting: `^220 localhost Microsoft ESMTP`,
			ehlo:     []string{"localhost Hello [127.0.0.1]", "SIZE 37748736", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES", "8BITMIME", "CHUNKING"},
			steps:    []step{{"MAIL FROM:<a@example.com>", `^451 4\.7\.1 greylisted$`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := Start(t, tt.opts...)
			w := connectWire(t, srv.Addr(), nil)
			greeting, err := w.read()
			if err != nil || !regexp.MustCompile(tt.greeting).MatchString(greeting[len(greeting)-1]) {
				t.Fatalf("greeting %q, %v; want %s", greeting, err, tt.greeting)
			}
			w.send("EHLO client.example\r\n")
			ehlo, err := w.read()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range ehlo {
				got = append(got, l[4:])
			}
			if diff := cmp.Diff(tt.ehlo, got); diff != "" {
				t.Errorf("EHLO reply (-want +got):\n%s", diff)
			}
			for _, s := range tt.steps {
				w.send(s.send + "\r\n")
				lines, err := w.read()
				if err != nil || !regexp.MustCompile(s.want).MatchString(lines[len(lines)-1]) {
					t.Fatalf("%q: reply %q, %v; want %s", s.send, lines, err, s.want)
				}
			}
		})
	}
}

// A persona advertises only what the server serves: a client that reads
// an EHLO keyword naming a command (VRFY, EXPN and HELP of RFC 5321, ETRN
// of RFC 1985, ATRN of RFC 2645, TURN of RFC 821, Exchange's
// X-ANONYMOUSTLS) and sends it is not told that the command is unknown
// (500) or not implemented (502); and a keyword the persona adds to what
// the server offers without it (the same options) names such a command.
func TestPersonasAdvertiseOnlyWhatTheServerServes(t *testing.T) {
	t.Parallel()
	commands := map[string]string{"VRFY": "VRFY postmaster", "EXPN": "EXPN staff", "HELP": "HELP",
		"ETRN": "ETRN example.com", "ATRN": "ATRN example.com", "TURN": "TURN", "X-ANONYMOUSTLS": "X-ANONYMOUSTLS"}
	noVRFY := WithEngineConfig(smtpd.Config{VRFY: &smtpd.Reply{Code: 502, Status: "5.5.1", Lines: []string{"VRFY command is disabled"}}})
	for _, tt := range []struct {
		name string
		opts []Option
	}{
		{"Postfix", []Option{WithPersona(Postfix), WithSTARTTLS(), WithAuth("user", "secret")}},
		{"Postfix, VRFY not implemented", []Option{WithPersona(Postfix), noVRFY}},
		{"Exchange", []Option{WithPersona(Exchange), WithSTARTTLS(), WithAuth("user", "secret")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := Start(t, tt.opts...)
			plain := Start(t, tt.opts[1:]...) // without the persona
			offered := ehloKeywords(dialWire(t, plain.Addr(), nil).cmd("EHLO client.example", "250"))
			w := dialWire(t, srv.Addr(), nil)
			for _, kw := range ehloKeywords(w.cmd("EHLO client.example", "250")) {
				cmd, ok := commands[kw]
				if !ok {
					if !slices.Contains(offered, kw) {
						t.Errorf("%s advertised, which the server does not offer without the persona (%q) and no command of it is served", kw, offered)
					}
					continue
				}
				w.send(cmd + "\r\n")
				lines, err := w.read()
				if err != nil {
					t.Fatalf("%s, advertised as %s: %q, %v", cmd, kw, lines, err)
				}
				if code := lines[len(lines)-1][:3]; code == "500" || code == "502" {
					t.Errorf("%s, advertised as %s: %q, a command the server does not serve", cmd, kw, lines)
				}
			}
		})
	}
}

func TestPersonaMisuse(t *testing.T) {
	t.Parallel()
	if srv, err := New(WithPersona(Persona(9))); err == nil {
		srv.Close()
		t.Fatal("New(WithPersona(9)) succeeded, want an error")
	}
	if got := Persona(9).String(); got != "Persona(9)" {
		t.Errorf("Persona(9).String() = %q", got)
	}
	if got := Exchange.String(); got != "Exchange" {
		t.Errorf("Exchange.String() = %q", got)
	}
}

func TestWithoutExtensions(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithoutExtensions("pipelining", "8BITMIME", "Chunking", "ENHANCEDSTATUSCODES"))
	w := dialWire(t, srv.Addr(), nil)
	ehlo := ehloKeywords(w.cmd("EHLO client.example", "250"))
	if diff := cmp.Diff([]string{"SIZE", "DSN", "SMTPUTF8"}, ehlo); diff != "" {
		t.Errorf("EHLO keywords (-want +got):\n%s", diff)
	}
	// No enhanced status codes in any reply now.
	enhanced := regexp.MustCompile(`^\d{3}[ -][245]\.\d{1,3}\.\d{1,3}( |$)`)
	for _, c := range [][2]string{
		{"MAIL FROM:<a@example.com> BODY=8BITMIME", "555"},
		{"MAIL FROM:<a@example.com>", "250"},
		{"RCPT TO:<b@example.com>", "250"},
		{"BDAT 2 LAST", "500"},
	} {
		lines := w.cmd(c[0], c[1])
		if last := lines[len(lines)-1]; enhanced.MatchString(last) {
			t.Errorf("%s: reply %q has an enhanced status code", c[0], last)
		}
	}
	for _, tt := range []struct {
		name string
		opt  Option
	}{
		{"none", WithoutExtensions()},
		{"unknown", WithoutExtensions("XFOO")},
		{"empty", WithoutExtensions("")},
		{"STARTTLS has its own option", WithoutExtensions("STARTTLS")},
		{"AUTH has its own option", WithoutExtensions("AUTH")},
		{"one unknown among known ones", WithoutExtensions("SIZE", "SIZE 10")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if srv, err := New(tt.opt); err == nil {
				srv.Close()
				t.Fatal("New succeeded, want an error")
			}
		})
	}
}

// Each keyword switches off its own extension, and only it.
func TestWithoutExtensionsEachKeyword(t *testing.T) {
	t.Parallel()
	all := []string{"PIPELINING", "SIZE", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING"}
	for _, kw := range all {
		t.Run(kw, func(t *testing.T) {
			t.Parallel()
			srv := Start(t, WithoutExtensions(strings.ToLower(kw)))
			w := dialWire(t, srv.Addr(), nil)
			var want []string
			for _, k := range all {
				if k != kw {
					want = append(want, k)
				}
			}
			got := ehloKeywords(w.cmd("EHLO client.example", "250"))
			slices.Sort(want)
			slices.Sort(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("EHLO keywords (-want +got):\n%s", diff)
			}
		})
	}
}

// A fault that only delays keeps the persona's wording of the reply.
func TestPersonaReplyThroughADelayFault(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithPersona(Exchange), WithFault(At(StageRcpt).Delay(time.Millisecond)))
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(conn)
	io.WriteString(conn, "EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nQUIT\r\n")
	var last string
	for !strings.HasPrefix(last, "221") {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		last = l
		if strings.HasPrefix(l, "250 2.1.5") && !strings.Contains(l, "Recipient OK") {
			t.Errorf("RCPT reply %q lost the persona's text", l)
		}
	}
}

// A persona's reply to a message names a queue ID that is the same for
// the same transaction of the same session from run to run (here: on two
// servers), as every other reply of the double is, and differs from one
// transaction to the next: it was random, so that a reply asserted on, or
// a transcript, changed from run to run.
func TestPersonaQueueIDsAreTheSameFromRunToRun(t *testing.T) {
	t.Parallel()
	for _, p := range []Persona{Postfix, Exchange} {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			run := func() []string { // the replies to three messages: two in session 1, one in session 2
				srv := Start(t, WithPersona(p))
				for _, n := range []int{2, 1} {
					c, err := smtp.Dial(srv.Addr())
					if err != nil {
						t.Fatal(err)
					}
					for range n {
						if err := sendOn(c, "a@example.com", "b@example.com"); err != nil {
							t.Fatal(err)
						}
					}
					if err := c.Quit(); err != nil {
						t.Fatal(err)
					}
				}
				var replies []string
				for _, s := range srv.WaitForSessions(t, 2) {
					for _, l := range s.Transcript {
						if l.Dir == FromServer && strings.Contains(l.Text, "ueue") {
							replies = append(replies, l.Text)
						}
					}
				}
				return replies
			}
			first, second := run(), run()
			if len(first) != 3 {
				t.Fatalf("replies to the messages: %q, want 3", first)
			}
			if diff := cmp.Diff(first, second); diff != "" {
				t.Errorf("the replies to the same messages differ from run to run (-first +second):\n%s", diff)
			}
			if distinct := slices.Compact(slices.Sorted(slices.Values(first))); len(distinct) != 3 {
				t.Errorf("two messages got the same queue ID: %q", first)
			}
		})
	}
}

// TestExchangeUnrecognizedCommandFitsAReplyLine sends an unknown verb of
// many octets to the Exchange persona, which quotes the verb in its 500:
// the reply line must stay within the 512 octets of RFC 5321 4.5.3.1.5,
// and quote the verb's beginning.
func TestExchangeUnrecognizedCommandFitsAReplyLine(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithPersona(Exchange))
	w := connectWire(t, srv.Addr(), nil)
	if _, err := w.read(); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{400, 511, 512, 513, 1024, 4096} {
		verb := "X" + strings.Repeat("y", n-1)
		w.send(verb + "\r\n")
		lines, err := w.read()
		if err != nil {
			t.Fatal(err)
		}
		line := lines[len(lines)-1]
		if len(line)+len("\r\n") > 512 || !strings.HasPrefix(line, "500 5.3.3 Unrecognized command 'XYYY") {
			t.Errorf("a verb of %d octets: reply of %d octets, %.60q...; want at most 512 with its CRLF, quoting the verb's beginning (upper-cased)", n, len(line)+2, line)
		}
	}
}
