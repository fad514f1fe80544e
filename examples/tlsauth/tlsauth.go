// Package tlsauth is an example mailer for a provider that requires
// STARTTLS and AUTH: it refuses to send a password over plaintext and
// verifies the server's certificate.
package tlsauth

import (
	"crypto/tls"
	"errors"
	"net"
	"net/smtp"
	"time"
)

// ErrNoSTARTTLS is returned when the server does not offer STARTTLS: the
// mailer never sends credentials in clear text.
var ErrNoSTARTTLS = errors.New("tlsauth: the server does not offer STARTTLS")

// Mailer sends mail through an authenticated submission server.
type Mailer struct {
	Addr      string      // host:port
	TLS       *tls.Config // nil: the system's roots, ServerName from Addr
	Username  string
	Password  string
	Timeout   time.Duration // for the whole conversation (default 30s)
	LocalName string        // the EHLO name (default "localhost")
}

// Send sends msg from → to.
func (m Mailer) Send(from string, to []string, msg []byte) error {
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	conn, err := net.DialTimeout("tcp", m.Addr, timeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(m.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return err
	}
	if m.LocalName != "" {
		if err := c.Hello(m.LocalName); err != nil {
			return err
		}
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		return ErrNoSTARTTLS
	}
	cfg := m.TLS
	if cfg == nil {
		cfg = &tls.Config{ServerName: host}
	}
	if err := c.StartTLS(cfg); err != nil {
		return err
	}
	if err := c.Auth(smtp.PlainAuth("", m.Username, m.Password, host)); err != nil {
		return err
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}
