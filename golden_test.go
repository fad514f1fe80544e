package mocksmtp_test

import (
	"encoding/base64"
	"net/smtp"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
)

func TestTranscriptNormalized(t *testing.T) {
	t.Parallel()
	c, s, n := mocksmtp.FromClient, mocksmtp.FromServer, mocksmtp.Note
	tests := []struct {
		name string
		line mocksmtp.Line
		want string
	}{
		{"EHLO name", mocksmtp.Line{Dir: c, Text: "EHLO build-7f3a.ci.internal"}, "C: EHLO <client>"},
		{"HELO name in lower case", mocksmtp.Line{Dir: c, Text: "helo [127.0.0.1]"}, "C: helo <client>"},
		{"EHLO without a name", mocksmtp.Line{Dir: c, Text: "EHLO"}, "C: EHLO"},
		{"server name kept", mocksmtp.Line{Dir: s, Text: "250-localhost"}, "S: 250-localhost"},
		{"SIZE parameter", mocksmtp.Line{Dir: c, Text: "MAIL FROM:<a@example.com> SIZE=1234 BODY=8BITMIME"}, "C: MAIL FROM:<a@example.com> SIZE=<n> BODY=8BITMIME"},
		{"BDAT chunk size", mocksmtp.Line{Dir: c, Text: "BDAT 317 LAST"}, "C: BDAT <n> LAST"},
		{"BDAT chunk size in lower case", mocksmtp.Line{Dir: c, Text: "bdat 4096"}, "C: bdat <n>"},
		{"BDAT chunk received", mocksmtp.Line{Dir: s, Text: "250 2.0.0 Ok: 4096 octets received"}, "S: 250 2.0.0 Ok: <n> octets received"},
		{"advertised SIZE kept", mocksmtp.Line{Dir: s, Text: "250-SIZE 10485760"}, "S: 250-SIZE 10485760"},
		{"message data size", mocksmtp.Line{Dir: n, Text: "<message data: 4711 octets>"}, "*: <message data: <n> octets>"},
		{"ports", mocksmtp.Line{Dir: n, Text: "from 127.0.0.1:53122 and [::1]:41987"}, "*: from 127.0.0.1:<port> and [::1]:<port>"},
		{"RFC 5322 date", mocksmtp.Line{Dir: s, Text: "250 2.0.0 Ok at Mon, 2 Jan 2006 15:04:05 -0700 (MST)"}, "S: 250 2.0.0 Ok at <date>"},
		{"RFC 3339 date", mocksmtp.Line{Dir: n, Text: "at 2006-01-02T15:04:05.123Z"}, "*: at <date>"},
		{"TLS parameters", mocksmtp.Line{Dir: n, Text: `TLS handshake done: TLS 1.3, TLS_AES_128_GCM_SHA256, server name "localhost"`},
			`*: TLS handshake done: TLS <version>, <cipher>, server name "localhost"`},
		{"CRAM-MD5 challenge", mocksmtp.Line{Dir: s, Text: "334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UuZXhhbXBsZS5uZXQ+"}, "S: 334 <challenge>"},
		{"SCRAM server-first message", mocksmtp.Line{Dir: s, Text: "334 cj1meWtvK2QybGJiRmdPTlJ2OXFreGRhd0wzcmZjTkhZSlkxWlZ2V1ZzN2oscz1RU1hDUitRNnNlazhiZjkyLGk9NDA5Ng=="}, "S: 334 <challenge>"},
		{"SCRAM server-final message", mocksmtp.Line{Dir: s, Text: "334 dj02cnJpVFJCaTIzV3BSUi93dHVwK21NaFVaVW4vZEI1bkxUSlJzamw5NUc0PQ=="}, "S: 334 <challenge>"},
		{"SCRAM error kept", mocksmtp.Line{Dir: s, Text: "334 ZT1pbnZhbGlkLXByb29m"}, "S: 334 ZT1pbnZhbGlkLXByb29m"},
		{"LOGIN prompt kept", mocksmtp.Line{Dir: s, Text: "334 VXNlcm5hbWU6"}, "S: 334 VXNlcm5hbWU6"},
		{"masked secret kept", mocksmtp.Line{Dir: c, Text: "AUTH PLAIN ****"}, "C: AUTH PLAIN ****"},
		{"Postfix queue ID", mocksmtp.Line{Dir: s, Text: "250 2.0.0 Ok: queued as 4F1B2C3D4E1"}, "S: 250 2.0.0 Ok: queued as <queue-id>"},
		{"Exchange queue ID", mocksmtp.Line{Dir: s, Text: "250 2.6.0 <ad62cf6c60023c23@mx.example.com> [InternalId=736429013910, Hostname=mx.example.com] Queued mail for delivery"},
			"S: 250 2.6.0 <queue-id@mx.example.com> [InternalId=<n>, Hostname=mx.example.com] Queued mail for delivery"},
	}
	for _, tc := range tests {
		tc.line.At = time.Duration(len(tc.name)) * time.Millisecond // never printed
		got := strings.TrimSuffix(mocksmtp.Transcript{tc.line}.Normalized(), "\n")
		if got != tc.want {
			t.Errorf("%s: Normalized(%q) = %q, want %q", tc.name, tc.line.Text, got, tc.want)
		}
	}
}

func TestTranscriptNormalizedRenumbersMessages(t *testing.T) {
	t.Parallel()
	tr := mocksmtp.Transcript{
		{Dir: mocksmtp.Note, Text: "message 17 accepted: 60 octets from <a@example.com> to 1 recipient"},
		{Dir: mocksmtp.Note, Text: "message 23 accepted: 61 octets from <a@example.com> to 1 recipient"},
	}
	want := "*: message 1 accepted: <n> octets from <a@example.com> to 1 recipient\n" +
		"*: message 2 accepted: <n> octets from <a@example.com> to 1 recipient\n"
	if diff := cmp.Diff(want, tr.Normalized()); diff != "" {
		t.Errorf("Normalized (-want +got):\n%s", diff)
	}
}

func TestAssertGolden(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sub", "welcome.golden")
	tr := mocksmtp.Transcript{
		{Dir: mocksmtp.FromServer, Text: "220 localhost ESMTP mocksmtp"},
		{Dir: mocksmtp.FromClient, Text: "EHLO laptop.local"},
	}
	check := func(tr mocksmtp.Transcript, update bool) string {
		ft := &expT{name: "TestWelcome"}
		ft.run(func() { tr.AssertGolden(ft, path, update) })
		return ft.report()
	}

	if got := check(tr, false); !strings.Contains(got, "does not exist; run the test with -update") {
		t.Errorf("missing golden file: report %q", got)
	}
	if got := check(tr, true); got != "" {
		t.Errorf("update: report %q", got)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := "S: 220 localhost ESMTP mocksmtp\nC: EHLO <client>\n"; string(data) != want {
		t.Errorf("golden file = %q, want %q", data, want)
	}
	tr[1].Text = "EHLO another.host" // another machine: still the same
	if got := check(tr, false); got != "" {
		t.Errorf("same transcript from another host: report %q", got)
	}
	tr = append(tr, mocksmtp.Line{Dir: mocksmtp.FromServer, Text: "250 localhost"})
	got := expNormalize(check(tr, false))
	if !strings.Contains(got, "transcript differs from "+path) || !regexp.MustCompile(`(?m)^\+\s+S: 250 localhost$`).MatchString(got) {
		t.Errorf("changed transcript: report\n%s", got)
	}
}

// TestAssertGoldenSession compares a real session with
// testdata/expect/transcript_plain.golden; -update rewrites it.
func TestAssertGoldenSession(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	expSend(t, srv.Addr(), "app@example.com", []string{"bob@example.com", "carol@example.com"},
		"From: app@example.com\nDate: "+time.Now().Format(time.RFC1123Z)+"\nSubject: Welcome\n\nHello.\n")
	sessions := srv.WaitForSessions(t, 1)
	sessions[0].Transcript.AssertGolden(t, filepath.Join("testdata", "expect", "transcript_plain.golden"), *update)
}

// TestAssertGoldenTLSAuth compares a session with STARTTLS and AUTH, whose
// TLS parameters and secrets must not reach the golden file.
func TestAssertGoldenTLSAuth(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithSTARTTLS(), mocksmtp.WithAuth("app", "s3cret"))
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := srv.ClientTLSConfig()
	cfg.ServerName = "localhost"
	if err := c.StartTLS(cfg); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(smtp.PlainAuth("", "app", "s3cret", "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	tr := srv.WaitForSessions(t, 1)[0].Transcript
	if strings.Contains(tr.Normalized(), "s3cret") || strings.Contains(tr.Normalized(), base64.StdEncoding.EncodeToString([]byte("\x00app\x00s3cret"))) {
		t.Errorf("the secret reached the normalized transcript:\n%s", tr.Normalized())
	}
	tr.AssertGolden(t, filepath.Join("testdata", "expect", "transcript_tls_auth.golden"), *update)
}

// TestExampleGoldenFiles keeps the golden files that
// ExampleTranscript_AssertGolden and ExampleMessage_AssertGolden read
// current: -update rewrites them here, from what the examples send. The
// examples pass false themselves, since AssertGolden logs each file it
// writes, which would change their output.
func TestExampleGoldenFiles(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	if err := sendWelcome(srv.Addr(), "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	srv.WaitForSessions(t, 1)[0].Transcript.AssertGolden(t, filepath.Join("testdata", "expect", "welcome.golden"), *update)

	srv = mocksmtp.Start(t)
	if err := sendReset(srv.Addr(), "bob@example.com", "f3a9c1d2", "=_b_0"); err != nil {
		t.Fatal(err)
	}
	mask := mocksmtp.Mask(regexp.MustCompile(`token=\w+`), "token=<token>")
	srv.WaitForMessages(t, 1)[0].AssertGolden(t, filepath.Join("testdata", "message", "reset.golden"), *update, mask)
}

// FuzzTranscriptNormalized checks that Normalized takes any line and
// keeps one line per line.
func FuzzTranscriptNormalized(f *testing.F) {
	f.Add(1, "EHLO x")
	f.Add(2, "334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UuZXhhbXBsZS5uZXQ+")
	f.Add(3, "message 12 accepted: 60 octets at Mon, 2 Jan 2006 15:04:05 -0700 from 10.0.0.1:25")
	f.Fuzz(func(t *testing.T, dir int, text string) {
		if strings.ContainsAny(text, "\r\n") {
			return // a transcript line has no line break
		}
		tr := mocksmtp.Transcript{{Dir: mocksmtp.Direction(dir%3 + 1), Text: text}, {Dir: mocksmtp.Note, Text: text}}
		if got := strings.Count(tr.Normalized(), "\n"); got != 2 {
			t.Fatalf("Normalized(%q) has %d lines, want 2", text, got)
		}
	})
}

// TestTranscriptNormalizedWithPersonas checks that a persona's transcript
// normalizes to the same text from run to run, so that it can be a golden
// file: the queue IDs its 250 replies to messages name change with every
// message.
func TestTranscriptNormalizedWithPersonas(t *testing.T) {
	t.Parallel()
	for _, p := range []mocksmtp.Persona{mocksmtp.Postfix, mocksmtp.Exchange} {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			var runs []string
			for range 2 { // two runs of a test, each with its server
				srv := mocksmtp.Start(t, mocksmtp.WithPersona(p))
				msg := "From: app@example.com\r\nTo: bob@example.com\r\nSubject: hi\r\n\r\nhello\r\n"
				for range 2 {
					if err := smtp.SendMail(srv.Addr(), nil, "app@example.com", []string{"bob@example.com"}, []byte(msg)); err != nil {
						t.Fatal(err)
					}
				}
				ss := srv.WaitForSessions(t, 2)
				runs = append(runs, ss[0].Transcript.Normalized()+ss[1].Transcript.Normalized())
			}
			if diff := cmp.Diff(runs[0], runs[1]); diff != "" {
				t.Errorf("two runs' transcripts, normalized, differ (-first +second):\n%s", diff)
			}
		})
	}
}
