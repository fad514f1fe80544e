package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/internal/testcert"
)

// sendTLS sends one message over STARTTLS (or implicit TLS) trusting
// roots, authenticating when auth is not nil.
func sendTLS(t *testing.T, addr string, implicit bool, roots *x509.CertPool, auth smtp.Auth) error {
	t.Helper()
	host, _, _ := net.SplitHostPort(addr)
	return sendTLSConfig(t, addr, implicit, &tls.Config{RootCAs: roots, ServerName: host}, auth)
}

// sendTLSConfig is sendTLS with the client's own TLS configuration.
func sendTLSConfig(t *testing.T, addr string, implicit bool, cfg *tls.Config, auth smtp.Auth) error {
	t.Helper()
	host, _, _ := net.SplitHostPort(addr)
	var c *smtp.Client
	var err error
	if implicit {
		conn, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			return err
		}
		c, err = smtp.NewClient(conn, host)
		if err != nil {
			conn.Close()
			return err
		}
	} else {
		c, err = smtp.Dial(addr)
		if err != nil {
			return err
		}
		if err := c.StartTLS(cfg); err != nil {
			c.Close()
			return err
		}
	}
	defer c.Close()
	if auth != nil {
		if err := c.Auth(auth); err != nil {
			return err
		}
	}
	if err := sendOn(c, "a@example.com", "b@example.com", "Subject: tls\r\n\r\nx\r\n"); err != nil {
		return err
	}
	return c.Quit()
}

// isReply reports whether err is an SMTP reply with code and enhanced
// status code.
func isReply(err error, code int, status string) bool {
	var te *textproto.Error
	return errors.As(err, &te) && te.Code == code && strings.HasPrefix(te.Msg, status+" ")
}

// caFromAPI fetches GET /api/ca.pem into a pool.
func caFromAPI(t *testing.T, p *proc) (*x509.CertPool, []byte) {
	t.Helper()
	res, b := do(t, p, "GET", "/api/ca.pem", "")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/x-pem-file" {
		t.Fatalf("GET /api/ca.pem: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("GET /api/ca.pem: no certificate in %q", b)
	}
	return pool, b
}

func TestSTARTTLSWithTheTestCA(t *testing.T) {
	t.Parallel()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	p := start(t, nil, "-tls", "-ca-out", caFile)
	pool, pemBytes := caFromAPI(t, p)
	written, err := os.ReadFile(caFile)
	if err != nil || string(written) != string(pemBytes) {
		t.Fatalf("-ca-out wrote %d bytes (%v), want the PEM of /api/ca.pem", len(written), err)
	}
	if err := sendTLS(t, p.smtp, false, pool, nil); err != nil {
		t.Fatalf("sending over STARTTLS: %v", err)
	}
	var s sessionJSON
	getJSON(t, p, "/api/sessions/1", 200, &s)
	if s.TLS == nil || !strings.HasPrefix(s.TLS.Version, "TLS 1.") || s.TLS.CipherSuite == "" || len(s.MessageIDs) != 1 {
		t.Errorf("session over STARTTLS: tls %+v, messages %v", s.TLS, s.MessageIDs)
	}
	if err := sendTLS(t, p.smtp, false, x509.NewCertPool(), nil); err == nil {
		t.Errorf("a client that does not trust the test CA could send")
	}
}

func TestImplicitTLS(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-implicit-tls")
	pool, _ := caFromAPI(t, p)
	if err := sendTLS(t, p.smtp, true, pool, nil); err != nil {
		t.Fatalf("sending over implicit TLS: %v", err)
	}
	getJSON(t, p, "/api/wait?count=1", 200, nil)
}

func TestAuthAccounts(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-tls", "-auth", "alice:secret", "-auth", "bob:hunter2", "-require-auth")
	pool, _ := caFromAPI(t, p)
	host, _, _ := net.SplitHostPort(p.smtp)
	for _, tt := range []struct {
		user, password string
		ok             bool
	}{
		{"alice", "secret", true},
		{"bob", "hunter2", true},
		{"alice", "wrong", false},
	} {
		err := sendTLS(t, p.smtp, false, pool, smtp.PlainAuth("", tt.user, tt.password, host))
		if tt.ok && err != nil || !tt.ok && !isReply(err, 535, "5.7.8") {
			t.Errorf("AUTH PLAIN %s:%s: %v, want success %v (or 535 5.7.8)", tt.user, tt.password, err, tt.ok)
		}
	}
	var s sessionJSON
	getJSON(t, p, "/api/sessions/3", 200, &s)
	if s.Auth == nil || *s.Auth != (authJSON{Mechanism: "PLAIN", Username: "alice", Success: false}) {
		t.Errorf("session 3 auth = %+v, want a failed PLAIN for alice", s.Auth)
	}
	for _, l := range s.Transcript {
		if strings.Contains(l.Text, "wrong") || strings.Contains(l.Text, "YWxpY2UAd3Jvbmc") {
			t.Errorf("the transcript shows the password: %q", l.Text)
		}
	}
	if err := sendTLS(t, p.smtp, false, pool, nil); !isReply(err, 530, "5.7.0") {
		t.Errorf("MAIL without AUTH under -require-auth: %v, want 530 5.7.0", err)
	}
}

// TestAuthAny checks -auth-any: any username and password log in with
// PLAIN and LOGIN (CRAM-MD5 is not offered: it never shows the
// password), the session records who, and -require-auth still holds.
func TestAuthAny(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-tls", "-auth-any", "-require-auth")
	pool, _ := caFromAPI(t, p)
	host, _, _ := net.SplitHostPort(p.smtp)
	for _, user := range []string{"alice", "nobody@example.com"} {
		if err := sendTLS(t, p.smtp, false, pool, smtp.PlainAuth("", user, "any password "+user, host)); err != nil {
			t.Errorf("AUTH PLAIN as %s: %v, want success", user, err)
		}
	}
	if err := sendTLS(t, p.smtp, false, pool, nil); !isReply(err, 530, "5.7.0") {
		t.Errorf("MAIL without AUTH under -require-auth: %v, want 530 5.7.0", err)
	}
	var s sessionJSON
	getJSON(t, p, "/api/sessions/2", 200, &s)
	if s.Auth == nil || *s.Auth != (authJSON{Mechanism: "PLAIN", Username: "nobody@example.com", Success: true}) {
		t.Errorf("session 2 auth = %+v, want a successful PLAIN for nobody@example.com", s.Auth)
	}
	c, err := smtp.Dial(p.smtp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(&tls.Config{RootCAs: pool, ServerName: host}); err != nil {
		t.Fatal(err)
	}
	if _, mechs := c.Extension("AUTH"); mechs != "PLAIN LOGIN" {
		t.Errorf("AUTH offers %q, want \"PLAIN LOGIN\"", mechs)
	}
	if err := c.Quit(); err != nil {
		t.Error(err)
	}
}

// xoauth2 is the client side of XOAUTH2 for net/smtp.
type xoauth2 struct{ user, token string }

func (a xoauth2) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + a.user + "\x01auth=Bearer " + a.token + "\x01\x01"), nil
}

func (a xoauth2) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return []byte{}, nil // the answer to the JSON error challenge
	}
	return nil, nil
}

func TestOAuthTokens(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-tls", "-oauth-token", "alice@example.com:ya29.alice-token", "-require-auth")
	pool, _ := caFromAPI(t, p)
	for _, tt := range []struct {
		token string
		ok    bool
	}{
		{"ya29.alice-token", true},
		{"ya29.expired", false},
	} {
		err := sendTLS(t, p.smtp, false, pool, xoauth2{"alice@example.com", tt.token})
		if tt.ok && err != nil || !tt.ok && !isReply(err, 535, "5.7.8") {
			t.Errorf("AUTH XOAUTH2 with %s: %v, want success %v (or 535 5.7.8)", tt.token, err, tt.ok)
		}
	}
	var s sessionJSON
	getJSON(t, p, "/api/sessions/2", 200, &s)
	if s.Auth == nil || *s.Auth != (authJSON{Mechanism: "XOAUTH2", Username: "alice@example.com", Success: false}) {
		t.Errorf("session 2 auth = %+v, want a failed XOAUTH2 for alice@example.com", s.Auth)
	}
	for _, l := range s.Transcript {
		if strings.Contains(l.Text, "expired") || strings.Contains(l.Text, "ZXhwaXJlZA") {
			t.Errorf("the transcript shows the token: %q", l.Text)
		}
	}
}

// The flags named after WithRequireTLSForAuth and WithoutSecretMasking.
func TestRequireTLSForAuthAndWithoutSecretMasking(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-auth", "alice:secret", "-require-tls-for-auth", "-without-secret-masking")
	c, err := smtp.Dial(p.smtp)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("AUTH offered before TLS under -require-tls-for-auth")
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Error("no STARTTLS under -require-tls-for-auth, which implies -tls")
	}
	c.Close()
	pool, _ := caFromAPI(t, p)
	host, _, _ := net.SplitHostPort(p.smtp)
	if err := sendTLS(t, p.smtp, false, pool, smtp.PlainAuth("", "alice", "secret", host)); err != nil {
		t.Fatalf("AUTH after STARTTLS: %v", err)
	}
	var s sessionJSON
	getJSON(t, p, "/api/sessions/2", 200, &s)
	shown := false
	for _, l := range s.Transcript {
		shown = shown || strings.Contains(l.Text, "AGFsaWNlAHNlY3JldA==") // \0alice\0secret
	}
	if !shown {
		t.Errorf("the transcript masks the secret under -without-secret-masking: %+v", s.Transcript)
	}
}

func TestOwnCertificate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	pool := writeSelfSigned(t, certFile, keyFile)
	p := start(t, nil, "-cert", certFile, "-key", keyFile)
	if err := sendTLS(t, p.smtp, false, pool, nil); err != nil {
		t.Fatalf("sending over STARTTLS with -cert: %v", err)
	}
	res, b := do(t, p, "GET", "/api/ca.pem", "")
	if res.StatusCode != 404 || !strings.Contains(string(b), "-cert") {
		t.Errorf("GET /api/ca.pem with -cert: %d %s, want 404", res.StatusCode, b)
	}
}

func TestTLSFlagErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeSelfSigned(t, certFile, keyFile)
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"cert without key", []string{"-cert", missing}, 2, "-cert and -key go together"},
		{"ca-out with cert", []string{"-cert", missing, "-key", missing, "-ca-out", missing}, 2, "-ca-out"},
		{"unreadable cert", []string{"-cert", missing, "-key", missing}, 1, "-cert/-key"},
		{"bad auth", []string{"-auth", "nopassword"}, 2, "user:password"},
		{"bad oauth token", []string{"-oauth-token", "user"}, 2, "user:token"},
		{"SCRAM without an account", []string{"-oauth-token", "a:t", "-auth-mechanisms", "SCRAM-SHA-256"}, 2,
			"mocksmtp: flag -auth-mechanisms: WithAuthMechanisms: SCRAM-SHA-256 needs the password, so an account of WithAuth\n"},
		{"client-ca without cert", []string{"-tls", "-client-ca", missing}, 2, "-client-ca needs -cert and -key"},
		{"client-ca unreadable", []string{"-cert", certFile, "-key", keyFile, "-client-ca", missing}, 1, "mocksmtp: -client-ca: open "},
		{"client-ca without a certificate", []string{"-cert", certFile, "-key", keyFile, "-client-ca", keyFile}, 1, "mocksmtp: -client-ca " + keyFile + ": no PEM certificate in it\n"},
		{"ca-out to a missing directory", []string{"-tls", "-ca-out", filepath.Join(missing, "ca.pem")}, 1, "-ca-out"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"-listen", "127.0.0.1:0", "-http", ""}, tt.args...)
			code, _, stderr := runOnce(t, nil, args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", code, stderr, tt.code, tt.want)
			}
		})
	}
}

// writeSelfSigned writes a self-signed certificate for 127.0.0.1 and its
// key, and returns a pool that trusts it.
func writeSelfSigned(t *testing.T, certFile, keyFile string) *x509.CertPool {
	t.Helper()
	certPEM, keyPEM, pool, err := testcert.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return pool
}

// clientCert makes a self-signed client certificate named cn, which is
// its own CA, and writes it to caFile, PEM.
func clientCert(t *testing.T, cn, caFile string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(2),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Example"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if caFile != "" {
		if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// -client-ca makes the program a server that requires a client
// certificate (mutual TLS), as the Go API's WithTLSConfig with ClientCAs
// and tls.RequireAndVerifyClientCert: a client that presents one its CA
// signed delivers, and its session shows the certificate, as
// Session.TLS.PeerCertificates; one with no certificate or another CA's
// fails the handshake, and delivers nothing.
func TestClientCAFlagRequiresAClientCertificate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, caFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "client-ca.pem")
	roots := writeSelfSigned(t, certFile, keyFile)
	good := clientCert(t, "app.test client", caFile)
	other := clientCert(t, "someone else", "")
	for _, implicit := range []bool{false, true} {
		args := []string{"-quiet", "-cert", certFile, "-key", keyFile, "-client-ca", caFile}
		if implicit {
			args = append(args, "-implicit-tls")
		}
		p := start(t, nil, args...)
		var server serverJSON
		getJSON(t, p, "/api/server", 200, &server)
		if server.TLS == nil || !server.TLS.ClientCertRequired {
			t.Fatalf("GET /api/server with -client-ca: tls %+v, want clientCertRequired", server.TLS)
		}
		cfg := func(certs ...tls.Certificate) *tls.Config {
			return &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", Certificates: certs}
		}
		if err := sendTLSConfig(t, p.smtp, implicit, cfg(good), nil); err != nil {
			t.Fatalf("implicit TLS %v: sending with the client certificate: %v", implicit, err)
		}
		var sessions []sessionJSON
		getJSON(t, p, "/api/wait/sessions?count=1&timeout=10s", 200, &sessions)
		sum := sha256.Sum256(good.Certificate[0])
		want := []certificateJSON{{Subject: "CN=app.test client,O=Example", Issuer: "CN=app.test client,O=Example", SHA256: hex.EncodeToString(sum[:])}}
		if s := sessions[0]; s.TLS == nil || len(s.MessageIDs) != 1 {
			t.Fatalf("implicit TLS %v: session %+v, want one message over TLS", implicit, s)
		} else if diff := cmp.Diff(want, s.TLS.PeerCertificates); diff != "" {
			t.Errorf("implicit TLS %v: the session's peerCertificates (-want +got):\n%s", implicit, diff)
		}

		// No certificate, or one of another CA: the handshake fails
		// (under TLS 1.3 the client learns it at its first read after
		// it), and nothing is delivered.
		for i, c := range []*tls.Config{cfg(), cfg(other)} {
			if err := sendTLSConfig(t, p.smtp, implicit, c, nil); err == nil {
				t.Errorf("implicit TLS %v: client %d, without a certificate the CA signed, delivered", implicit, i)
			}
			getJSON(t, p, fmt.Sprintf("/api/wait/sessions?count=%d&timeout=10s", i+2), 200, &sessions)
			if s := sessions[i+1]; s.Ended != mocksmtp.EndTLSFailed.String() || len(s.MessageIDs) != 0 {
				t.Errorf("implicit TLS %v: client %d's session ended %q with %d messages, want %q and none", implicit, i, s.Ended, len(s.MessageIDs), mocksmtp.EndTLSFailed)
			}
		}
	}

	// Without -client-ca, no certificate is asked for: a client that has
	// one presents none.
	p := start(t, nil, "-quiet", "-cert", certFile, "-key", keyFile)
	var server serverJSON
	getJSON(t, p, "/api/server", 200, &server)
	if server.TLS == nil || server.TLS.ClientCertRequired {
		t.Errorf("GET /api/server without -client-ca: tls %+v, want no clientCertRequired", server.TLS)
	}
	if err := sendTLSConfig(t, p.smtp, false, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", Certificates: []tls.Certificate{good}}, nil); err != nil {
		t.Fatal(err)
	}
	var sessions []sessionJSON
	getJSON(t, p, "/api/wait/sessions?count=1&timeout=10s", 200, &sessions)
	if s := sessions[0]; s.TLS == nil || s.TLS.PeerCertificates != nil {
		t.Errorf("without -client-ca: the session's tls %+v, want TLS without peerCertificates", s.TLS)
	}
}

// sentView is how a message was sent, as a suite in another language
// reads it: the "sent" object of a message's JSON.
type sentView struct {
	Helo string    `json:"helo"`
	TLS  *tlsJSON  `json:"tls"`
	Auth *authJSON `json:"auth"`
}

// sentOf returns the "sent" object of every message, from each route
// that gives messages (the list, the wait, each message alone), and
// fails t unless the routes agree: nil for a message without one.
func sentOf(t *testing.T, p *proc, n int) []*sentView {
	t.Helper()
	type message struct {
		ID   int       `json:"id"`
		Sent *sentView `json:"sent"`
	}
	var waited, list []message
	getJSON(t, p, fmt.Sprintf("/api/wait?count=%d&timeout=10s", n), 200, &waited)
	getJSON(t, p, "/api/messages", 200, &list)
	if len(list) != n || len(waited) != n {
		t.Fatalf("GET /api/messages lists %d messages, /api/wait %d; want %d", len(list), len(waited), n)
	}
	sent := make([]*sentView, n)
	for i := range n {
		var one message
		getJSON(t, p, fmt.Sprintf("/api/messages/%d", i+1), 200, &one)
		for route, m := range map[string]message{"/api/wait": waited[i], "/api/messages": list[i]} {
			if diff := cmp.Diff(one, m); diff != "" {
				t.Errorf("message %d: %s and /api/messages/%d differ (-one +%s):\n%s", i+1, route, i+1, route, diff)
			}
		}
		sent[i] = one.Sent
	}
	return sent
}

// command sends line on c, as a client that goes on where net/smtp would
// not (a new EHLO after STARTTLS, whose names net/smtp repeats; an AUTH
// refused, after which net/smtp quits), and fails t unless the reply has
// code and, when it is not "", the enhanced code.
func command(t *testing.T, c *smtp.Client, line string, code int, enhanced string) {
	t.Helper()
	id, err := c.Text.Cmd("%s", line)
	if err != nil {
		t.Fatal(err)
	}
	c.Text.StartResponse(id)
	defer c.Text.EndResponse(id)
	if _, msg, err := c.Text.ReadResponse(code); err != nil || enhanced != "" && !strings.HasPrefix(msg, enhanced+" ") {
		t.Fatalf("%s: %q, %v; want %d %s", line, msg, err, code, enhanced)
	}
}

// Each message says how its client sent it, as the Go API's
// Message.Session does: the HELO name, TLS state and AUTH record in
// effect then, not the session's last ones. One session sends in
// plaintext, authenticates as bob, starts TLS (which forgets bob, as the
// server does), names itself again, fails to authenticate as alice, then
// authenticates as alice, and is refused a second AUTH.
func TestMessagesSayHowTheyWereSent(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet", "-auth", "alice:secret", "-auth", "bob:hunter2", "-auth-mechanisms-before-tls", "PLAIN")
	pool, _ := caFromAPI(t, p)
	host, _, _ := net.SplitHostPort(p.smtp)
	c, err := smtp.Dial(p.smtp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("plain.example"); err != nil {
		t.Fatal(err)
	}
	msg := func(n int) string { return fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", n) }
	sendOver(t, c, "a@example.com", "b@example.com", msg(1))
	if err := c.Auth(smtp.PlainAuth("", "bob", "hunter2", host)); err != nil {
		t.Fatalf("AUTH PLAIN before TLS: %v", err)
	}
	sendOver(t, c, "a@example.com", "b@example.com", msg(2))
	if err := c.StartTLS(&tls.Config{RootCAs: pool, ServerName: host}); err != nil {
		t.Fatal(err)
	}
	command(t, c, "EHLO tls.example", 250, "")
	sendOver(t, c, "a@example.com", "b@example.com", msg(3))
	plain := func(user, password string) string {
		return "AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+password))
	}
	command(t, c, plain("alice", "wrong"), 535, "5.7.8")
	sendOver(t, c, "a@example.com", "b@example.com", msg(4)) // AUTH is not required
	if err := c.Auth(smtp.PlainAuth("", "alice", "secret", host)); err != nil {
		t.Fatalf("AUTH PLAIN after STARTTLS: %v", err)
	}
	sendOver(t, c, "a@example.com", "b@example.com", msg(5))
	// One AUTH per TLS state: a second after a success is refused, so
	// that the identity of the messages after it stays alice.
	command(t, c, plain("bob", "hunter2"), 503, "5.5.1")
	sendOver(t, c, "a@example.com", "b@example.com", msg(6))
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}

	var s sessionJSON
	getJSON(t, p, "/api/wait/sessions/1", 200, &s)
	if s.TLS == nil || s.Helo != "tls.example" || s.Auth == nil || s.Auth.Username != "alice" {
		t.Fatalf("session 1: helo %q, tls %+v, auth %+v; want its last state: tls.example, TLS, alice", s.Helo, s.TLS, s.Auth)
	}
	bob := &authJSON{Mechanism: "PLAIN", Username: "bob", Success: true}
	alice := &authJSON{Mechanism: "PLAIN", Username: "alice", Success: true}
	failed := &authJSON{Mechanism: "PLAIN", Username: "alice", Success: false}
	want := []*sentView{
		{Helo: "plain.example"},
		{Helo: "plain.example", Auth: bob},
		{Helo: "tls.example", TLS: s.TLS},
		{Helo: "tls.example", TLS: s.TLS, Auth: failed},
		{Helo: "tls.example", TLS: s.TLS, Auth: alice},
		{Helo: "tls.example", TLS: s.TLS, Auth: alice},
	}
	if diff := cmp.Diff(want, sentOf(t, p, 6)); diff != "" {
		t.Errorf("how each message was sent (-want +got):\n%s", diff)
	}
}

// Under mutual TLS (-client-ca), a message sent after STARTTLS names the
// client's certificate in sent.tls, as Message.Session.TLS does; one
// sent before it has no TLS at all.
func TestMessagesSayTheClientCertificateTheyWereSentWith(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, caFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "client-ca.pem")
	roots := writeSelfSigned(t, certFile, keyFile)
	cert := clientCert(t, "app.test client", caFile)
	p := start(t, nil, "-quiet", "-cert", certFile, "-key", keyFile, "-client-ca", caFile)
	c, err := smtp.Dial(p.smtp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sendOver(t, c, "a@example.com", "b@example.com", "Subject: before\r\n\r\nx\r\n")
	if err := c.StartTLS(&tls.Config{RootCAs: roots, ServerName: "127.0.0.1", Certificates: []tls.Certificate{cert}}); err != nil {
		t.Fatal(err)
	}
	sendOver(t, c, "a@example.com", "b@example.com", "Subject: after\r\n\r\nx\r\n")
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}

	sent := sentOf(t, p, 2)
	if sent[0] == nil || sent[0].TLS != nil || sent[0].Helo != "localhost" {
		t.Errorf("message 1, sent before STARTTLS: sent %+v, want helo localhost and no TLS", sent[0])
	}
	sum := sha256.Sum256(cert.Certificate[0])
	want := []certificateJSON{{Subject: "CN=app.test client,O=Example", Issuer: "CN=app.test client,O=Example", SHA256: hex.EncodeToString(sum[:])}}
	if sent[1] == nil || sent[1].TLS == nil {
		t.Fatalf("message 2, sent after STARTTLS: sent %+v, want TLS", sent[1])
	}
	if diff := cmp.Diff(want, sent[1].TLS.PeerCertificates); diff != "" {
		t.Errorf("message 2: sent.tls.peerCertificates (-want +got):\n%s", diff)
	}
}
