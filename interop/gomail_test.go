package interop

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	gomail "github.com/wneessen/go-mail"

	"github.com/mocksmtp/mocksmtp"
)

// TestGoMail sends with github.com/wneessen/go-mail, which composes the
// MIME itself. go-mail checks the connection with NOOP before and after
// each message, resets with RSET, and declares SMTPUTF8 and BODY=8BITMIME
// whenever the server offers them; the test records that it does.
func TestGoMail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		mail mailSpec
	}{
		{"plain", plainMail()},
		{"multipart", multipartMail(true)},
		{"utf8 address", utf8Mail()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := start(t)
			msg, err := goMailMessage(tc.mail)
			if err != nil {
				t.Fatal(err)
			}
			c, err := gomail.NewClient(h.srv.Host(),
				gomail.WithPort(h.srv.Port()),
				gomail.WithTLSPolicy(gomail.NoTLS),
				gomail.WithTimeout(30*time.Second),
				gomail.WithHELO("client.example"),
			)
			if err != nil {
				t.Fatalf("NewClient: %v", err)
			}
			if err := c.DialAndSendWithContext(t.Context(), msg); err != nil {
				t.Fatalf("DialAndSend: %v", err)
			}
			m := h.message(t)
			checkMessage(t, tc.mail, m)
			checkParams(t, map[string]string{"BODY": "8BITMIME", "SMTPUTF8": ""}, m)
			s := h.session(t)
			checkClean(t, s, mocksmtp.EndQuit)
			checkFindings(t, h.srv)
			want := []string{"EHLO", "NOOP", "MAIL", "RCPT"}
			for range tc.mail.To[1:] {
				want = append(want, "RCPT")
			}
			want = append(want, "DATA", "NOOP", "RSET", "QUIT")
			if diff := cmp.Diff(want, verbs(s)); diff != "" {
				t.Errorf("commands (-want +got):\n%s\n%s", diff, s.Transcript.Numbered())
			}
		})
	}
}

func goMailMessage(m mailSpec) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(m.From); err != nil {
		return nil, err
	}
	if err := msg.To(m.To...); err != nil {
		return nil, err
	}
	msg.Subject(m.Subject)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	for _, a := range m.Attachments {
		err := msg.AttachReader(a.Filename, bytes.NewReader(a.Data), gomail.WithFileContentType(gomail.ContentType(a.ContentType)))
		if err != nil {
			return nil, err
		}
	}
	return msg, nil
}
