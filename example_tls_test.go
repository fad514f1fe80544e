package mocksmtp_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/smtpd"
)

// sendOverTLS is the code under test in the TLS examples: a mailer that
// insists on STARTTLS and authenticates with PLAIN.
func sendOverTLS(addr string, tlsConfig *tls.Config, user, password string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.StartTLS(tlsConfig); err != nil {
		return err
	}
	if err := c.Auth(smtp.PlainAuth("", user, password, tlsConfig.ServerName)); err != nil {
		return err
	}
	if err := c.Mail("app@example.com"); err != nil {
		return err
	}
	if err := c.Rcpt("bob@example.com"); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	fmt.Fprint(w, "Subject: Your invoice\r\n\r\nSee attached.\r\n")
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func ExampleWithSTARTTLS() {
	t := &fakeT{}
	defer t.done()

	srv := mocksmtp.Start(t, mocksmtp.WithSTARTTLS(), mocksmtp.WithAuth("mailer", "s3cret"))
	// ClientTLSConfig trusts the server's test certificate: the client
	// verifies it for real, no InsecureSkipVerify.
	if err := sendOverTLS(srv.Addr(), srv.ClientTLSConfig(), "mailer", "s3cret"); err != nil {
		t.Fatal(err)
	}
	m := srv.WaitForMessages(t, 1)[0]
	fmt.Println(m.Subject)
	fmt.Println(tls.VersionName(m.Session.TLS.Version))
	fmt.Println(m.Session.Auth)
	for _, l := range srv.Session(m.Session.ID).Transcript {
		if strings.HasPrefix(l.Text, "AUTH") {
			fmt.Println(l) // secrets are masked
		}
	}
	// Output:
	// Your invoice
	// TLS 1.3
	// PLAIN mailer ok
	// C: AUTH PLAIN ****
}

func ExampleFault_ExpiredCertificate() {
	t := &fakeT{}
	defer t.done()

	srv := mocksmtp.Start(t, mocksmtp.WithSTARTTLS(),
		mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageStartTLS).ExpiredCertificate()))
	err := sendOverTLS(srv.Addr(), srv.ClientTLSConfig(), "mailer", "s3cret")

	// The mailer must refuse to send: it sees the real x509 error.
	var invalid x509.CertificateInvalidError
	fmt.Println("expired:", errors.As(err, &invalid) && invalid.Reason == x509.Expired)
	fmt.Println("messages:", len(srv.Messages()))
	// Output:
	// expired: true
	// messages: 0
}

func ExampleWithImplicitTLS() {
	t := &fakeT{}
	defer t.done()

	srv := mocksmtp.Start(t, mocksmtp.WithImplicitTLS()) // SMTPS: TLS from the first byte
	conn, err := tls.Dial("tcp", srv.Addr(), srv.ClientTLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	c, err := smtp.NewClient(conn, srv.Host())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	starttls, _ := c.Extension("STARTTLS")
	fmt.Println("STARTTLS offered:", starttls)
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}

	// STARTTLS is never offered over TLS from the first byte: New refuses both.
	_, err = mocksmtp.New(mocksmtp.WithSTARTTLS(), mocksmtp.WithImplicitTLS())
	fmt.Println(err)
	// Output:
	// STARTTLS offered: false
	// mocksmtp: WithSTARTTLS and WithImplicitTLS: a session speaks TLS from its first byte, so STARTTLS is never offered; choose one
}

// A TLS failure at StageConnect acts on the handshake that opens an SMTPS
// connection: here the first attempt meets an expired certificate, the
// retry a good one.
func ExampleFault_ExpiredCertificate_implicitTLS() {
	t := &fakeT{}
	defer t.done()

	srv := mocksmtp.Start(t, mocksmtp.WithImplicitTLS(),
		mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageConnect).ExpiredCertificate().OnAttempt(1)))
	for attempt := 1; attempt <= 2; attempt++ {
		conn, err := tls.Dial("tcp", srv.Addr(), srv.ClientTLSConfig())
		var invalid x509.CertificateInvalidError
		fmt.Printf("attempt %d: expired %v\n", attempt, errors.As(err, &invalid) && invalid.Reason == x509.Expired)
		if err == nil {
			conn.Close()
		}
	}
	fmt.Println(srv.AddFault(mocksmtp.At(mocksmtp.StageConnect).AbortHandshake()) == nil)
	// Output:
	// attempt 1: expired true
	// attempt 2: expired false
	// true
}

func ExampleWithAuthFunc() {
	t := &fakeT{}
	defer t.done()

	srv := mocksmtp.Start(t, mocksmtp.WithSTARTTLS(), mocksmtp.WithAuthFunc(func(c mocksmtp.Credentials) error {
		if c.Password == "expired-token" {
			return smtpd.NewReply(454, "4.7.0 Temporary authentication failure")
		}
		return nil
	}))
	err := sendOverTLS(srv.Addr(), srv.ClientTLSConfig(), "mailer", "expired-token")
	var reply *textproto.Error
	if errors.As(err, &reply) {
		fmt.Println(reply.Code, reply.Msg)
	}
	// Output:
	// 454 4.7.0 Temporary authentication failure
}

func ExampleWithPersona() {
	t := &fakeT{}
	defer t.done()

	srv := mocksmtp.Start(t, mocksmtp.WithPersona(mocksmtp.Postfix), mocksmtp.WithSTARTTLS())
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	srv.WaitForSessions(t, 1)
	for _, l := range srv.Sessions()[0].Transcript {
		if l.Dir == mocksmtp.FromServer {
			fmt.Println(l)
		}
	}
	// Output:
	// S: 220 localhost ESMTP Postfix
	// S: 250-localhost
	// S: 250-PIPELINING
	// S: 250-SIZE 10240000
	// S: 250-VRFY
	// S: 250-STARTTLS
	// S: 250-ENHANCEDSTATUSCODES
	// S: 250-8BITMIME
	// S: 250-DSN
	// S: 250-SMTPUTF8
	// S: 250 CHUNKING
	// S: 221 2.0.0 Bye
}

func ExampleWithoutExtensions() {
	t := &fakeT{}
	defer t.done()

	// A server without SMTPUTF8: does the mailer still send to a UTF-8
	// address? (It must not.)
	srv := mocksmtp.Start(t, mocksmtp.WithoutExtensions("SMTPUTF8", "CHUNKING"))
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	ok, _ := c.Extension("SMTPUTF8")
	fmt.Println("SMTPUTF8 offered:", ok)
	err = c.Mail("jürgen@exämple.com")
	var reply *textproto.Error
	if errors.As(err, &reply) {
		fmt.Println(reply.Code, reply.Msg)
	}
	// Output:
	// SMTPUTF8 offered: false
	// 553 5.6.7 Non-ASCII address not permitted without SMTPUTF8
}

func ExampleWithAuthMechanisms() {
	t := &fakeT{}
	defer t.done()

	srv := mocksmtp.Start(t, mocksmtp.WithAuth("mailer", "s3cret"),
		mocksmtp.WithAuthMechanisms(mocksmtp.AuthCRAMMD5, mocksmtp.AuthLogin))
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	_, mechanisms := c.Extension("AUTH")
	fmt.Println("offered:", mechanisms)
	if err := c.Auth(smtp.CRAMMD5Auth("mailer", "s3cret")); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	auth := srv.WaitForSessions(t, 1)[0].Auth
	fmt.Println(auth.Mechanism == mocksmtp.AuthCRAMMD5, auth)
	// Output:
	// offered: CRAM-MD5 LOGIN
	// true CRAM-MD5 mailer ok
}

func ExampleWithEngineConfig() {
	t := &fakeT{}
	defer t.done()

	// The engine's configuration is the base; WithHostname wins over its
	// Hostname, in any order.
	srv := mocksmtp.Start(t,
		mocksmtp.WithHostname("mx.example"),
		mocksmtp.WithEngineConfig(smtpd.Config{
			Hostname: "ignored.example",
			VRFY:     &smtpd.Reply{Code: 550, Status: "5.1.1", Lines: []string{"No such user"}},
		}))
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Verify("nobody@example.com")
	var reply *textproto.Error
	if errors.As(err, &reply) {
		fmt.Println(reply.Code, reply.Msg)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	fmt.Println(srv.WaitForSessions(t, 1)[0].Transcript[0])
	// Output:
	// 550 5.1.1 No such user
	// S: 220 mx.example ESMTP mocksmtp
}

// ClientTLSConfig trusts the test certificate authority and verifies the
// server's certificate for real.
func ExampleServer_ClientTLSConfig() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithSTARTTLS())
	cfg := srv.ClientTLSConfig()
	fmt.Println(cfg.ServerName, cfg.InsecureSkipVerify)

	cfg.ServerName = "localhost" // the certificate names localhost too
	conn, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Println(conn.StartTLS(cfg))
	// Output:
	// 127.0.0.1 false
	// <nil>
}

// CertPool suits clients configured with a pool of trusted authorities.
func ExampleServer_CertPool() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithImplicitTLS())
	conn, err := tls.Dial("tcp", srv.Addr(), &tls.Config{RootCAs: srv.CertPool(), ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Println(conn.ConnectionState().PeerCertificates[0].DNSNames)
	// Output:
	// [localhost]
}

// CACertPEM is for clients that are no Go programs: write it to a file
// and point the client's CA option at it (swaks --tls-ca-path, curl
// --cacert).
func ExampleServer_CACertPEM() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithSTARTTLS())
	pem := srv.CACertPEM()
	fmt.Println(strings.SplitN(string(pem), "\n", 2)[0])
	fmt.Println(x509.NewCertPool().AppendCertsFromPEM(pem))
	// Output:
	// -----BEGIN CERTIFICATE-----
	// true
}

func ExampleFault_UntrustedCertificate() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithSTARTTLS(),
		mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageStartTLS).UntrustedCertificate()))
	err := sendOverTLS(srv.Addr(), srv.ClientTLSConfig(), "mailer", "s3cret")
	var unknown x509.UnknownAuthorityError
	fmt.Println("untrusted:", errors.As(err, &unknown))
	// Output:
	// untrusted: true
}

func ExampleFault_WrongHostCertificate() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithSTARTTLS(),
		mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageStartTLS).WrongHostCertificate()))
	err := sendOverTLS(srv.Addr(), srv.ClientTLSConfig(), "mailer", "s3cret")
	var wrong x509.HostnameError
	fmt.Println("wrong host:", errors.As(err, &wrong), wrong.Certificate.DNSNames)
	// Output:
	// wrong host: true [wrong.example]
}

// An old server that speaks only TLS 1.0, which Go clients refuse.
func ExampleFault_TLSVersion() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithSTARTTLS(),
		mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageStartTLS).TLSVersion(tls.VersionTLS10)))
	err := sendOverTLS(srv.Addr(), srv.ClientTLSConfig(), "mailer", "s3cret")
	fmt.Println(strings.Contains(fmt.Sprint(err), "protocol version not supported"))
	fmt.Println(srv.WaitForSessions(t, 1)[0].Ended)
	// Output:
	// true
	// TLS handshake failed
}

func ExampleFault_AbortHandshake() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithSTARTTLS(),
		mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageStartTLS).AbortHandshake()))
	err := sendOverTLS(srv.Addr(), srv.ClientTLSConfig(), "mailer", "s3cret")
	fmt.Println(err != nil, srv.WaitForSessions(t, 1)[0].Ended)
	// Output:
	// true TLS handshake failed
}

// selfSigned returns a certificate for localhost signed by itself, as a
// user's own would be, and a pool that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "my test CA"},
		DNSNames:              []string{"localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// WithTLSConfig brings your own certificate and TLS settings.
func ExampleWithTLSConfig() {
	t := &fakeT{}
	defer t.done()
	cert, pool := selfSigned()
	srv := mocksmtp.Start(t, mocksmtp.WithTLSConfig(&tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS13,
	}))
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(&tls.Config{RootCAs: pool, ServerName: "localhost"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	fmt.Println(tls.VersionName(srv.WaitForSessions(t, 1)[0].TLS.Version))
	// Output:
	// TLS 1.3
}

func ExampleWithRequireTLS() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithRequireTLS())
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Println(replyOf(c.Mail("app@example.com"))) // before STARTTLS
	if err := c.StartTLS(srv.ClientTLSConfig()); err != nil {
		t.Fatal(err)
	}
	fmt.Println(replyOf(c.Mail("app@example.com")))
	// Output:
	// 530 5.7.0 Must issue a STARTTLS command first
	// ok
}

func ExampleWithAuth() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithSTARTTLS(), mocksmtp.WithAuth("mailer", "s3cret"), mocksmtp.WithAuth("backup", "0ther"))
	fmt.Println(replyOf(sendOverTLS(srv.Addr(), srv.ClientTLSConfig(), "mailer", "wrong")))
	fmt.Println(replyOf(sendOverTLS(srv.Addr(), srv.ClientTLSConfig(), "backup", "0ther")))
	// Output:
	// 535 5.7.8 Error: authentication failed
	// ok
}

func ExampleWithRequireAuth() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithAuth("mailer", "s3cret"), mocksmtp.WithRequireAuth())
	fmt.Println(replyOf(sendWelcome(srv.Addr(), "bob@example.com"))) // no AUTH

	// Without what offers AUTH, no client could ever send: New refuses it.
	_, err := mocksmtp.New(mocksmtp.WithRequireAuth())
	fmt.Println(err)
	// Output:
	// 530 5.7.0 Authentication required
	// mocksmtp: WithRequireAuth needs WithAuth, WithOAuthToken or WithAuthFunc: nothing offers AUTH, so every MAIL would get 530 5.7.0 and no client could send
}

// AuthInfo records who tried to log in, how, and whether it worked; never
// the password.
func ExampleAuthInfo() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithSTARTTLS(), mocksmtp.WithAuth("mailer", "s3cret"))
	_ = sendOverTLS(srv.Addr(), srv.ClientTLSConfig(), "mailer", "wrong")
	a := srv.WaitForSessions(t, 1)[0].Auth
	fmt.Println(a.Mechanism, a.Username, a.Success)
	fmt.Println(a)
	// Output:
	// PLAIN mailer false
	// PLAIN mailer failed
}

// Credentials are what WithAuthFunc's check sees.
func ExampleCredentials() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithSTARTTLS(), mocksmtp.WithAuthFunc(func(c mocksmtp.Credentials) error {
		fmt.Printf("%s %q %q %q\n", c.Mechanism, c.Identity, c.Username, c.Password)
		return nil
	}))
	fmt.Println(replyOf(sendOverTLS(srv.Addr(), srv.ClientTLSConfig(), "mailer", "token-123")))
	// Output:
	// PLAIN "" "mailer" "token-123"
	// ok
}

func ExamplePersona() {
	for _, p := range []mocksmtp.Persona{mocksmtp.Postfix, mocksmtp.Exchange} {
		t := &fakeT{}
		srv := mocksmtp.Start(t, mocksmtp.WithPersona(p))
		_ = sendWelcome(srv.Addr(), "bob@example.com")
		tr := srv.WaitForSessions(t, 1)[0].Transcript
		for i, l := range tr {
			if strings.HasPrefix(l.Text, "RCPT") {
				fmt.Printf("%s: %s\n", p, tr[i+1].Text) // the reply to RCPT
			}
		}
		t.done()
	}
	// Output:
	// Postfix: 250 2.1.5 Ok
	// Exchange: 250 2.1.5 Recipient OK
}
