package mocksmtp_test

import (
	"encoding/base64"
	"fmt"
	"net/smtp"
	"strings"
	"sync"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/goleak"

	"github.com/mocksmtp/mocksmtp"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestNetSMTPPlainMessage(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	body := "From: Alice <alice@example.com>\r\nTo: bob@example.com\r\nSubject: Welcome\r\n\r\nHello Bob.\r\n.leading dot\r\n"
	if err := smtp.SendMail(srv.Addr(), nil, "alice@example.com", []string{"bob@example.com", "carol@example.com"}, []byte(body)); err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	msgs := srv.WaitForMessages(t, 1)
	m := msgs[0]
	if diff := cmp.Diff("alice@example.com", m.From); diff != "" {
		t.Errorf("From (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"bob@example.com", "carol@example.com"}, m.To); diff != "" {
		t.Errorf("To (-want +got):\n%s", diff)
	}
	if string(m.Raw) != body {
		t.Errorf("Raw = %q, want %q", m.Raw, body)
	}
	if m.Subject != "Welcome" {
		t.Errorf("Subject = %q", m.Subject)
	}
	if m.Text != "Hello Bob.\r\n.leading dot\r\n" && m.Text != "Hello Bob.\n.leading dot\n" {
		t.Errorf("Text = %q", m.Text)
	}
	if s := m.Session; s == nil || s.Helo != "localhost" || s.Transcript != nil {
		t.Errorf("session = %+v, want one that says HELO localhost, without its transcript", s)
	}
	if s := srv.Session(m.Session.ID); !strings.Contains(s.Transcript.String(), "DATA") {
		t.Errorf("session %d has no DATA:\n%s", m.Session.ID, s)
	}
}

func TestNetSMTPMultipartMessage(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00binary\r\n.\r\n")
	body := "From: =?utf-8?q?Al=C3=AFce?= <alice@example.com>\r\n" +
		"To: Bob <bob@example.com>\r\nCc: carol@example.com\r\nReply-To: support@example.com\r\n" +
		"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <abc@example.com>\r\n" +
		"Subject: =?utf-8?q?R=C3=A9sum=C3=A9?=\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=outer\r\n\r\n" +
		"--outer\r\nContent-Type: multipart/related; boundary=rel\r\n\r\n" +
		"--rel\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n" +
		"--alt\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9 ready.\r\n" +
		"--alt\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nPHA+Q2Fmw6kgPGltZyBzcmM9ImNpZDpsb2dvIj48L3A+\r\n" +
		"--alt--\r\n" +
		"--rel\r\nContent-Type: image/png\r\nContent-ID: <logo>\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64Lines(png) +
		"--rel--\r\n" +
		"--outer\r\nContent-Type: application/pdf; name=report.pdf\r\nContent-Disposition: attachment; filename=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64Lines([]byte("%PDF-1.4 tiny")) +
		"--outer--\r\n"
	if err := smtp.SendMail(srv.Addr(), nil, "alice@example.com", []string{"bob@example.com", "carol@example.com"}, []byte(body)); err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	m := srv.WaitForMessages(t, 1)[0]
	type view struct {
		From, Subject, MessageID, Date, Text, HTML string
		To, HeaderFrom, HeaderTo, Cc, ReplyTo      []string
		Params                                     map[string]string
		Attachments                                []mocksmtp.Attachment
		ParseErr                                   error
		Raw                                        bool
	}
	addrs := func(as []*gomail.Address) (out []string) {
		for _, a := range as {
			out = append(out, a.Name+" <"+a.Address+">")
		}
		return out
	}
	got := view{
		From: m.From, Subject: m.Subject, MessageID: m.MessageID, Date: m.Date.UTC().Format(time.RFC3339),
		Text: m.Text, HTML: m.HTML, To: m.To, HeaderFrom: addrs(m.HeaderFrom), HeaderTo: addrs(m.HeaderTo),
		Cc: addrs(m.Cc), ReplyTo: addrs(m.ReplyTo), Params: m.Params, Attachments: m.Attachments,
		ParseErr: m.ParseErr, Raw: string(m.Raw) == body,
	}
	want := view{
		From: "alice@example.com", Subject: "Résumé", MessageID: "abc@example.com", Date: "2026-11-24T10:00:00Z",
		Text: "Café ready.", // the CRLF before a boundary belongs to the boundary
		HTML: `<p>Café <img src="cid:logo"></p>`,
		To:   []string{"bob@example.com", "carol@example.com"}, HeaderFrom: []string{"Alïce <alice@example.com>"},
		HeaderTo: []string{"Bob <bob@example.com>"}, Cc: []string{" <carol@example.com>"}, ReplyTo: []string{" <support@example.com>"},
		Params: map[string]string{"BODY": "8BITMIME", "SMTPUTF8": ""},
		Attachments: []mocksmtp.Attachment{
			{ContentType: "image/png", ContentID: "logo", Inline: true, Data: png},
			{Filename: "report.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4 tiny")},
		},
		Raw: true,
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateErrors()); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	if m.Session == nil || m.Session.ID != 1 || m.Session.Messages != nil {
		t.Errorf("message's session = %+v, want session 1 without its Messages", m.Session)
	}
	if s := srv.Session(1); s == nil || len(s.Messages) != 1 || s.Messages[0].ID != m.ID {
		t.Errorf("Session(1) = %+v, want it to list the message", s)
	}
}

func base64Lines(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var out strings.Builder
	for len(s) > 76 {
		out.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	return out.String() + s + "\r\n"
}

// Many servers at once, each with its own traffic, never see each other's.
func TestParallelServers(t *testing.T) {
	t.Parallel()
	for i := range 20 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t)
			to := fmt.Sprintf("user%d@example.com", i)
			for range 3 {
				if err := smtp.SendMail(srv.Addr(), nil, "a@example.com", []string{to}, []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
					t.Fatal(err)
				}
			}
			msgs := srv.WaitForMessages(t, 3)
			if len(msgs) != 3 {
				t.Fatalf("%d messages, want 3", len(msgs))
			}
			for _, m := range msgs {
				if m.To[0] != to {
					t.Errorf("server %d got a message for %s", i, m.To[0])
				}
			}
		})
	}
}

// Every way of getting a message gives it the same shape: its Session
// says what its session is, without the session's transcript and
// Messages. Sessions and Session list the messages, each in that shape
// too.
func TestMessageShape(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []*mocksmtp.Message
	srv := mocksmtp.Start(t, mocksmtp.WithOnMessage(func(m *mocksmtp.Message) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, m)
	}))
	in := srv.Inbox(t)
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, subject := range []string{"first", "second"} { // one session, two messages
		sendOn(t, c, in.Address("bob"), subject)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	srv.WaitForSessions(t, 1)

	ctx := t.Context()
	ways := map[string]func() *mocksmtp.Message{
		"Messages":        func() *mocksmtp.Message { return srv.Messages()[1] },
		"LastMessages":    func() *mocksmtp.Message { return srv.LastMessages(1)[0] },
		"Message":         func() *mocksmtp.Message { return srv.Message(2) },
		"WaitForMessages": func() *mocksmtp.Message { return srv.WaitForMessages(t, 2)[1] },
		"WaitForMessagesContext": func() *mocksmtp.Message {
			msgs, err := srv.WaitForMessagesContext(ctx, 2)
			if err != nil {
				t.Fatal(err)
			}
			return msgs[1]
		},
		"WaitFor": func() *mocksmtp.Message { return srv.WaitFor(t, mocksmtp.Want{Subject: "second"}) },
		"WaitForContext": func() *mocksmtp.Message {
			m, err := srv.WaitForContext(ctx, mocksmtp.Want{Subject: "first"})
			if err != nil {
				t.Fatal(err)
			}
			return m // the first: WaitFor returns each message once
		},
		"AssertMessage":         func() *mocksmtp.Message { return srv.AssertMessage(t, mocksmtp.Want{Subject: "second"}) },
		"Inbox.Messages":        func() *mocksmtp.Message { return in.Messages()[1] },
		"Inbox.WaitForMessages": func() *mocksmtp.Message { return in.WaitForMessages(t, 2)[1] },
		"Inbox.AssertMessage":   func() *mocksmtp.Message { return in.AssertMessage(t, mocksmtp.Want{Subject: "second"}) },
		"Sessions":              func() *mocksmtp.Message { return srv.Sessions()[0].Messages[1] },
		"LastSessions":          func() *mocksmtp.Message { return srv.LastSessions(1)[0].Messages[1] },
		"Session":               func() *mocksmtp.Message { return srv.Session(1).Messages[1] },
		"WithOnMessage": func() *mocksmtp.Message {
			mu.Lock()
			defer mu.Unlock()
			return seen[1]
		},
	}
	for name, get := range ways {
		m := get()
		if m == nil || m.Subject != []string{"", "first", "second"}[min(m.ID, 2)] {
			t.Errorf("%s: message %+v, want message 1 or 2", name, m)
			continue
		}
		if m.Session == nil || m.Session.ID != 1 || m.Session.Helo == "" || m.Session.Transcript != nil || m.Session.Messages != nil {
			t.Errorf("%s: Session = %+v, want what session 1 says of itself, without its transcript and Messages", name, m.Session)
		}
	}
	if s := srv.Session(1); s == nil || len(s.Messages) != 2 {
		t.Errorf("Session(1) = %+v, want it to list both messages", s)
	}
}
