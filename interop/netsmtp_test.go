package interop

import (
	"crypto/tls"
	"net"
	"net/smtp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
)

// TestNetSMTP sends with the standard library's net/smtp and a message
// composed with mime/multipart. net/smtp has no timeouts of its own, so
// the connection gets a deadline.
func TestNetSMTP(t *testing.T) {
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
			conn, err := net.DialTimeout("tcp", h.srv.Addr(), 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			c, err := smtp.NewClient(conn, h.srv.Host())
			if err != nil {
				t.Fatalf("NewClient: %v", err)
			}
			if err := sendWithNetSMTP(c, tc.mail); err != nil {
				t.Fatalf("send: %v", err)
			}
			m := h.message(t)
			checkMessage(t, tc.mail, m)
			// net/smtp declares 8BITMIME and SMTPUTF8 whenever the server
			// offers them.
			checkParams(t, map[string]string{"BODY": "8BITMIME", "SMTPUTF8": ""}, m)
			s := h.session(t)
			checkClean(t, s, mocksmtp.EndQuit)
			checkFindings(t, h.srv)
			if diff := cmp.Diff("client.example", s.Helo); diff != "" {
				t.Errorf("HELO name (-want +got):\n%s", diff)
			}
		})
	}
}

// sendWithNetSMTP says HELO as client.example and sends m.
func sendWithNetSMTP(c *smtp.Client, m mailSpec) error {
	if err := c.Hello("client.example"); err != nil {
		return err
	}
	return transactWithNetSMTP(c, m)
}

// transactWithNetSMTP sends m on a client that said HELO, then QUIT.
func transactWithNetSMTP(c *smtp.Client, m mailSpec) error {
	if err := c.Mail(m.From); err != nil {
		return err
	}
	for _, to := range m.To {
		if err := c.Rcpt(to); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(buildMIME(m)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// TestNetSMTPTLSAndAuth sends with net/smtp over STARTTLS and over SMTPS
// (a tls.Conn given to smtp.NewClient), trusting the test CA through
// ClientTLSConfig, and logs in with smtp.PlainAuth and smtp.CRAMMD5Auth
// (net/smtp has no LOGIN).
func TestNetSMTPTLSAndAuth(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		mode     tlsMode
		auth     func(host string) smtp.Auth
		wantMech mocksmtp.AuthMechanism
	}{
		{"STARTTLS, PLAIN", starttls, func(host string) smtp.Auth { return smtp.PlainAuth("", authUser, authPass, host) }, mocksmtp.AuthPlain},
		{"STARTTLS, CRAM-MD5", starttls, func(string) smtp.Auth { return smtp.CRAMMD5Auth(authUser, authPass) }, mocksmtp.AuthCRAMMD5},
		{"SMTPS, PLAIN", implicitTLS, func(host string) smtp.Auth { return smtp.PlainAuth("", authUser, authPass, host) }, mocksmtp.AuthPlain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := startTLSAuth(t, tc.mode, nil)
			d := net.Dialer{Timeout: 10 * time.Second}
			var conn net.Conn
			var err error
			if tc.mode == implicitTLS {
				conn, err = tls.DialWithDialer(&d, "tcp", h.srv.Addr(), h.srv.ClientTLSConfig())
			} else {
				conn, err = d.Dial("tcp", h.srv.Addr())
			}
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			c, err := smtp.NewClient(conn, h.srv.Host())
			if err != nil {
				t.Fatalf("NewClient: %v", err)
			}
			if err := c.Hello("client.example"); err != nil {
				t.Fatal(err)
			}
			if tc.mode == starttls {
				if err := c.StartTLS(h.srv.ClientTLSConfig()); err != nil {
					t.Fatalf("StartTLS: %v", err)
				}
			}
			if err := c.Auth(tc.auth(h.srv.Host())); err != nil {
				t.Fatalf("Auth: %v", err)
			}
			m := plainMail()
			if err := transactWithNetSMTP(c, m); err != nil {
				t.Fatalf("send: %v", err)
			}
			s := h.session(t)
			checkAuthenticatedSend(t, h, s, m, tc.wantMech)
		})
	}
}
