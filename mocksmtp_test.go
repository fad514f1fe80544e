package mocksmtp_test

import (
	"net/smtp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
	s := m.Session
	if s == nil || s.Helo != "localhost" || s.Ended == mocksmtp.Live && !strings.Contains(s.Transcript.String(), "DATA") {
		t.Errorf("session = %+v", s)
	}
}
