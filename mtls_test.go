package mocksmtp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/smtp"
	"strings"
	"testing"
	"time"
)

// mutualTLS is a server configuration that requires a client certificate
// (WithTLSConfig with ClientCAs), and what its clients use.
type mutualTLS struct {
	server     *tls.Config
	roots      *x509.CertPool // trusts the server's certificate
	clientCert tls.Certificate
}

// newMutualTLS makes a CA that signs a server certificate for 127.0.0.1
// and a client certificate, and the configuration of a server that
// requires a client certificate of that CA.
func newMutualTLS(t *testing.T) *mutualTLS {
	t.Helper()
	now := time.Now()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey := key()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mutual TLS CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage) tls.Certificate {
		k := key()
		der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		}, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &mutualTLS{
		server: &tls.Config{
			Certificates: []tls.Certificate{leaf(2, "server", x509.ExtKeyUsageServerAuth)},
			ClientCAs:    pool,
			ClientAuth:   tls.RequireAndVerifyClientCert,
		},
		roots:      pool,
		clientCert: leaf(3, "client", x509.ExtKeyUsageClientAuth),
	}
}

// TestTLSFaultsKeepClientCertificate sends over STARTTLS to a server with
// WithTLSConfig that requires a client certificate, while a TLS fault
// acts on the handshake. TLSVersion is an old server, with its own
// certificate and the client certificate it requires; the bad
// certificate faults replace the server's certificate, not its
// requirement, also when the configuration's GetConfigForClient chooses
// it. They gave the handshake the test certificate's configuration: a
// client with its certificate, trusting the server's CA, failed against
// TLSVersion, and a client without one sent mail.
func TestTLSFaultsKeepClientCertificate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		fault    Fault
		withCert bool
		verify   bool // the client verifies the server's certificate against its CA
		version  uint16
		// byHello: WithTLSConfig's configuration is chosen by its
		// GetConfigForClient, which the fault's must go through.
		byHello bool
	}{
		{"TLSVersion 1.2, with the certificate", At(StageStartTLS).TLSVersion(tls.VersionTLS12), true, true, tls.VersionTLS12, false},
		{"TLSVersion 1.2, without", At(StageStartTLS).TLSVersion(tls.VersionTLS12), false, false, 0, false},
		{"TLSVersion 1.3, without", At(StageStartTLS).TLSVersion(tls.VersionTLS13), false, false, 0, false},
		{"wrong host certificate, with the certificate", At(StageStartTLS).WrongHostCertificate(), true, false, tls.VersionTLS13, false},
		{"wrong host certificate, without", At(StageStartTLS).WrongHostCertificate(), false, false, 0, false},
		{"expired certificate, without", At(StageStartTLS).ExpiredCertificate(), false, false, 0, false},
		{"untrusted certificate, without", At(StageStartTLS).UntrustedCertificate(), false, false, 0, false},
		{"by hello, TLSVersion 1.2, with the certificate", At(StageStartTLS).TLSVersion(tls.VersionTLS12), true, true, tls.VersionTLS12, true},
		{"by hello, TLSVersion 1.2, without", At(StageStartTLS).TLSVersion(tls.VersionTLS12), false, false, 0, true},
		{"by hello, wrong host certificate, with the certificate", At(StageStartTLS).WrongHostCertificate(), true, false, tls.VersionTLS13, true},
		{"by hello, wrong host certificate, without", At(StageStartTLS).WrongHostCertificate(), false, false, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := newMutualTLS(t)
			server := m.server
			if tc.byHello {
				server = &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { return m.server, nil }}
			}
			srv := Start(t, WithTLSConfig(server), WithSTARTTLS(), WithFault(tc.fault))
			cfg := &tls.Config{RootCAs: m.roots, ServerName: srv.Host(), InsecureSkipVerify: !tc.verify}
			if tc.withCert {
				cfg.Certificates = []tls.Certificate{m.clientCert}
			}
			err := sendOverSTARTTLS(srv, cfg)
			s := srv.WaitForSessions(t, 1)[0]
			if tc.version == 0 {
				if err == nil || s.Ended != EndTLSFailed || len(srv.Messages()) != 0 {
					t.Fatalf("sent without a client certificate: error %v, session ended %v, %d messages; want an error, %v and none\n%s",
						err, s.Ended, len(srv.Messages()), EndTLSFailed, s)
				}
				if !strings.Contains(s.Err.Error(), "client didn't provide a certificate") {
					t.Errorf("Session.Err = %v, want the missing client certificate", s.Err)
				}
				return
			}
			if err != nil {
				t.Fatalf("send with the client certificate: %v\n%s", err, s)
			}
			if s.TLS == nil || s.TLS.Version != tc.version || len(s.TLS.PeerCertificates) != 1 ||
				s.TLS.PeerCertificates[0].Subject.CommonName != "client" {
				t.Errorf("Session.TLS = %+v, want %s with the client certificate", s.TLS, tls.VersionName(tc.version))
			}
			if n := len(srv.Messages()); n != 1 {
				t.Errorf("%d messages, want 1", n)
			}
		})
	}
}

// sendOverSTARTTLS sends one mail with net/smtp after STARTTLS with cfg.
func sendOverSTARTTLS(srv *Server, cfg *tls.Config) error {
	conn, err := srv.Dial()
	if err != nil {
		return err
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	c, err := smtp.NewClient(conn, srv.Host())
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.StartTLS(cfg); err != nil {
		return err
	}
	if err := c.Mail("alice@example.com"); err != nil {
		return err
	}
	if err := c.Rcpt("bob@example.com"); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte("Subject: hi\r\n\r\nhi\r\n")); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}
