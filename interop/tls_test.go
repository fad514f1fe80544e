package interop

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"
	gomail "github.com/wneessen/go-mail"

	"github.com/mocksmtp/mocksmtp"
)

// TestGoMailTLSAndAuth sends with github.com/wneessen/go-mail over
// mandatory STARTTLS and over SMTPS, with each AUTH mechanism, verifying
// the server's certificate against the test CA for real.
func TestGoMailTLSAndAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     []mocksmtp.Option // beyond WithAuth
		clientOp []gomail.Option
		auth     gomail.SMTPAuthType
	}{
		{"STARTTLS mandatory, LOGIN", []mocksmtp.Option{mocksmtp.WithSTARTTLS()}, []gomail.Option{gomail.WithTLSPolicy(gomail.TLSMandatory)}, gomail.SMTPAuthLogin},
		{"STARTTLS mandatory, CRAM-MD5", []mocksmtp.Option{mocksmtp.WithSTARTTLS()}, []gomail.Option{gomail.WithTLSPolicy(gomail.TLSMandatory)}, gomail.SMTPAuthCramMD5},
		{"STARTTLS mandatory, PLAIN", []mocksmtp.Option{mocksmtp.WithSTARTTLS()}, []gomail.Option{gomail.WithTLSPolicy(gomail.TLSMandatory)}, gomail.SMTPAuthPlain},
		{"STARTTLS, AUTH offered only after TLS", []mocksmtp.Option{mocksmtp.WithRequireTLSForAuth(), mocksmtp.WithRequireTLS()}, []gomail.Option{gomail.WithTLSPolicy(gomail.TLSOpportunistic)}, gomail.SMTPAuthPlain},
		{"STARTTLS, only CRAM-MD5 before TLS", []mocksmtp.Option{mocksmtp.WithAuthMechanismsBeforeTLS(mocksmtp.AuthCRAMMD5)}, []gomail.Option{gomail.WithTLSPolicy(gomail.TLSMandatory)}, gomail.SMTPAuthPlain},
		{"SMTPS, LOGIN", []mocksmtp.Option{mocksmtp.WithImplicitTLS()}, []gomail.Option{gomail.WithSSL()}, gomail.SMTPAuthLogin},
		{"SMTPS, PLAIN", []mocksmtp.Option{mocksmtp.WithImplicitTLS()}, []gomail.Option{gomail.WithSSL()}, gomail.SMTPAuthPlain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, append(tt.opts, mocksmtp.WithAuth("mailer", "s3cret"))...)
			msg, err := goMailMessage(plainMail())
			if err != nil {
				t.Fatal(err)
			}
			opts := append([]gomail.Option{
				gomail.WithPort(h.srv.Port()),
				gomail.WithTLSConfig(h.srv.ClientTLSConfig()),
				gomail.WithTimeout(30 * time.Second),
				gomail.WithHELO("client.example"),
				gomail.WithSMTPAuth(tt.auth),
				gomail.WithUsername("mailer"),
				gomail.WithPassword("s3cret"),
			}, tt.clientOp...)
			c, err := gomail.NewClient(h.srv.Host(), opts...)
			if err != nil {
				t.Fatalf("NewClient: %v", err)
			}
			if err := c.DialAndSendWithContext(t.Context(), msg); err != nil {
				t.Fatalf("DialAndSend: %v", err)
			}
			checkMessage(t, plainMail(), h.message(t))
			s := h.session(t)
			if s.TLS == nil || !s.TLS.HandshakeComplete {
				t.Errorf("Session.TLS = %v, want a finished handshake", s.TLS)
			}
			want := &mocksmtp.AuthInfo{Mechanism: mocksmtp.AuthMechanism(tt.auth), Username: "mailer", Success: true}
			if diff := cmp.Diff(want, s.Auth); diff != "" {
				t.Errorf("Session.Auth (-want +got):\n%s", diff)
			}
			if strings.Contains(s.Transcript.String(), "czNjcmV0") { // base64 "s3cret"
				t.Errorf("transcript shows the password:\n%s", s.Transcript)
			}
			checkFindings(t, h.srv)
		})
	}
}

// TestGoMailTLSMandatoryWithoutSTARTTLS checks that go-mail refuses to
// send in plaintext when told TLS is mandatory and the server offers no
// STARTTLS: the fallback a user tests by leaving WithSTARTTLS out.
func TestGoMailTLSMandatoryWithoutSTARTTLS(t *testing.T) {
	t.Parallel()
	h := start(t)
	msg, err := goMailMessage(plainMail())
	if err != nil {
		t.Fatal(err)
	}
	// go-mail v0.8.1 returns the refusal with the connection open: its
	// DialToSMTPClientWithContext closes it on none of its errors, so the
	// session would last until the garbage collector closed it. The test
	// closes it, as a program that kept its own dialer would.
	var conn net.Conn
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var err error
		conn, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return conn, err
	}
	c, err := gomail.NewClient(h.srv.Host(), gomail.WithPort(h.srv.Port()), gomail.WithTLSPolicy(gomail.TLSMandatory),
		gomail.WithTLSConfig(h.srv.ClientTLSConfig()), gomail.WithTimeout(30*time.Second), gomail.WithDialContextFunc(dial))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DialAndSendWithContext(t.Context(), msg); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("DialAndSend error %v, want a refusal for want of STARTTLS", err)
	}
	if conn == nil {
		t.Fatal("go-mail did not dial with the dialer given")
	}
	conn.Close()
	s := h.session(t)
	// go-mail gives up without the QUIT that RFC 3207 4.1 asks for.
	if diff := cmp.Diff([]string{"EHLO"}, verbs(s)); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	checkFindings(t, h.srv, mocksmtp.RuleQuit)
}

// TestGoMailTLSFailures checks that go-mail, trusting the test CA, sees
// the real certificate error for each certificate fault.
func TestGoMailTLSFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault mocksmtp.Fault
		check func(error) bool
	}{
		{"expired", mocksmtp.At(mocksmtp.StageStartTLS).ExpiredCertificate(), func(err error) bool {
			var e x509.CertificateInvalidError
			return errors.As(err, &e) && e.Reason == x509.Expired
		}},
		{"wrong host", mocksmtp.At(mocksmtp.StageStartTLS).WrongHostCertificate(), func(err error) bool {
			var e x509.HostnameError
			return errors.As(err, &e)
		}},
		{"untrusted CA", mocksmtp.At(mocksmtp.StageStartTLS).UntrustedCertificate(), func(err error) bool {
			var e x509.UnknownAuthorityError
			return errors.As(err, &e)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, mocksmtp.WithSTARTTLS(), mocksmtp.WithFault(tt.fault))
			msg, err := goMailMessage(plainMail())
			if err != nil {
				t.Fatal(err)
			}
			c, err := gomail.NewClient(h.srv.Host(), gomail.WithPort(h.srv.Port()), gomail.WithTLSPolicy(gomail.TLSMandatory),
				gomail.WithTLSConfig(h.srv.ClientTLSConfig()), gomail.WithTimeout(30*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			err = c.DialAndSendWithContext(t.Context(), msg)
			if !tt.check(err) {
				t.Fatalf("DialAndSend error %v (%T), want the certificate error", err, err)
			}
			if s := h.session(t); s.Ended != mocksmtp.EndTLSFailed || len(s.Messages) != 0 {
				t.Errorf("session ended %v with %d messages, want %v and none", s.Ended, len(s.Messages), mocksmtp.EndTLSFailed)
			}
			checkFindings(t, h.srv)
		})
	}
}

// TestGoSMTPSTARTTLSAndAuth uses the client of github.com/emersion/go-smtp
// with STARTTLS and the SASL clients of github.com/emersion/go-sasl.
func TestGoSMTPSTARTTLSAndAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		auth     sasl.Client
		wantCode int // 0 for success
		wantEnh  smtp.EnhancedCode
	}{
		{"PLAIN", sasl.NewPlainClient("", "mailer", "s3cret"), 0, smtp.EnhancedCode{}},
		{"LOGIN", sasl.NewLoginClient("mailer", "s3cret"), 0, smtp.EnhancedCode{}},
		{"PLAIN wrong password", sasl.NewPlainClient("", "mailer", "wrong"), 535, smtp.EnhancedCode{5, 7, 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// AUTH is offered only after TLS: DialStartTLS says EHLO again.
			h := start(t, mocksmtp.WithRequireTLSForAuth(), mocksmtp.WithAuth("mailer", "s3cret"))
			c, err := smtp.DialStartTLS(h.srv.Addr(), h.srv.ClientTLSConfig())
			if err != nil {
				t.Fatalf("DialStartTLS: %v", err)
			}
			defer c.Close()
			c.CommandTimeout, c.SubmissionTimeout = 30*time.Second, 30*time.Second
			if !c.SupportsAuth("PLAIN") {
				t.Error("AUTH PLAIN not advertised after TLS")
			}
			if st, ok := c.TLSConnectionState(); !ok || st.Version != tls.VersionTLS13 {
				t.Errorf("TLS state %v, %v; want TLS 1.3", st.Version, ok)
			}
			err = c.Auth(tt.auth)
			if tt.wantCode != 0 {
				var se *smtp.SMTPError
				if !errors.As(err, &se) || se.Code != tt.wantCode || se.EnhancedCode != tt.wantEnh {
					t.Fatalf("Auth error %v, want %d %v", err, tt.wantCode, tt.wantEnh)
				}
				return
			}
			if err != nil {
				t.Fatalf("Auth: %v", err)
			}
			m := plainMail()
			if err := c.SendMail(m.From, m.To, bytes.NewReader(buildMIME(m))); err != nil {
				t.Fatalf("SendMail: %v", err)
			}
			if err := c.Quit(); err != nil {
				t.Fatal(err)
			}
			if msg := h.message(t); msg.Session.Auth == nil || !msg.Session.Auth.Success || msg.Session.TLS == nil {
				t.Errorf("message session Auth %v, TLS %v; want both", msg.Session.Auth, msg.Session.TLS)
			}
			h.session(t)
			checkFindings(t, h.srv)
		})
	}
}
