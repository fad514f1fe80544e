package tlsauth_test

import (
	"crypto/x509"
	"errors"
	"net/textproto"
	"strings"
	"testing"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/examples/tlsauth"
)

var msg = []byte("From: app@example.com\r\nTo: bob@example.com\r\nSubject: Report\r\n\r\nAttached.\r\n")

func mailer(srv *mocksmtp.Server, password string) tlsauth.Mailer {
	return tlsauth.Mailer{Addr: srv.Addr(), TLS: srv.ClientTLSConfig(), Username: "app", Password: password}
}

// The mail goes over TLS, after AUTH, and the password never shows in the
// transcript.
func TestSendOverTLSWithAuth(t *testing.T) {
	srv := mocksmtp.Start(t, mocksmtp.WithSTARTTLS(), mocksmtp.WithRequireTLS(), mocksmtp.WithAuth("app", "s3cret"), mocksmtp.WithRequireAuth())
	srv.Expect(t, mocksmtp.Want{To: []string{"bob@example.com"}, Subject: "Report"})

	if err := mailer(srv, "s3cret").Send("app@example.com", []string{"bob@example.com"}, msg); err != nil {
		t.Fatalf("Send: %v", err)
	}

	s := srv.WaitForSessions(t, 1)[0]
	if s.TLS == nil || s.Auth == nil || !s.Auth.Success || s.Auth.Username != "app" {
		t.Errorf("session TLS %v, AUTH %v; want TLS and a successful AUTH as app", s.TLS, s.Auth)
	}
	if strings.Contains(s.String(), "s3cret") {
		t.Errorf("the password shows in the transcript:\n%s", s)
	}
}

// A wrong password comes back as the server's 535.
func TestSendWithAWrongPassword(t *testing.T) {
	srv := mocksmtp.Start(t, mocksmtp.WithSTARTTLS(), mocksmtp.WithAuth("app", "s3cret"))
	srv.ExpectNoMessages(t)

	err := mailer(srv, "guess").Send("app@example.com", []string{"bob@example.com"}, msg)
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code != 535 {
		t.Fatalf("Send = %v, want 535", err)
	}
}

// The mailer refuses a server whose certificate has expired, and one that
// offers no STARTTLS at all, before sending the password.
func TestSendRefusesAnInsecureServer(t *testing.T) {
	expired := mocksmtp.Start(t, mocksmtp.WithSTARTTLS(), mocksmtp.WithAuth("app", "s3cret"),
		mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageStartTLS).ExpiredCertificate()))
	err := mailer(expired, "s3cret").Send("app@example.com", []string{"bob@example.com"}, msg)
	var invalid x509.CertificateInvalidError
	if !errors.As(err, &invalid) || invalid.Reason != x509.Expired {
		t.Errorf("expired certificate: Send = %v, want x509 Expired", err)
	}

	plain := mocksmtp.Start(t, mocksmtp.WithAuth("app", "s3cret"))
	if err := mailer(plain, "s3cret").Send("app@example.com", []string{"bob@example.com"}, msg); !errors.Is(err, tlsauth.ErrNoSTARTTLS) {
		t.Errorf("no STARTTLS: Send = %v, want ErrNoSTARTTLS", err)
	}
	for _, srv := range []*mocksmtp.Server{expired, plain} {
		for _, s := range srv.WaitForSessions(t, 1) {
			if s.Auth != nil {
				t.Errorf("the mailer authenticated on an insecure connection: %v", s.Auth)
			}
		}
	}
}
