package mocksmtp

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strconv"
	"sync"
	"time"
)

// WithSTARTTLS offers STARTTLS (RFC 3207) with the test certificate, for
// "localhost", 127.0.0.1 and ::1, signed by a test certificate authority
// that [Server.ClientTLSConfig] trusts (or with the configuration of
// [WithTLSConfig]). The engine does the upgrade: it discards anything the
// client pipelined after STARTTLS, resets the session, and expects EHLO
// again. Each session records its TLS version, cipher suite and server
// name in Session.TLS. [New] refuses it with [WithImplicitTLS], which
// never offers STARTTLS.
func WithSTARTTLS() Option {
	return optionFunc(func(o *options) error {
		o.startTLS = true
		return useTLS(o)
	})
}

// WithImplicitTLS makes the server speak TLS from the first byte (SMTPS,
// RFC 8314, usually port 465), with the test certificate or the
// configuration of [WithTLSConfig]. STARTTLS is then not offered. A
// handshake that fails ends the session before the greeting. [New]
// refuses it with [WithAuthMechanismsBeforeTLS] and with [WithSTARTTLS]:
// nothing comes before TLS.
func WithImplicitTLS() Option {
	return optionFunc(func(o *options) error {
		o.engine.ImplicitTLS = true
		return useTLS(o)
	})
}

// WithRequireTLS answers every command sent before TLS with 530 5.7.0
// "Must issue a STARTTLS command first", like a server that enforces
// encryption (RFC 3207 4; Postfix's smtpd_tls_security_level=encrypt):
// all but EHLO, STARTTLS, NOOP and QUIT, which RFC 3207 lets through, and
// HELO, which Postfix lets through too, and HELP (Postfix has none: 502);
// BDAT before the checks of its arguments; RSET, VRFY, EXPN and AUTH
// get 530 as MAIL does. The EHLO reply before TLS offers no AUTH, unless
// [WithAuthMechanismsBeforeTLS] names mechanisms for it. Each command
// answered 530 before the client sent a STARTTLS that the server took or
// refused for its own reasons (454) is a finding of [RuleSTARTTLSFirst].
// It implies [WithSTARTTLS] unless another TLS option
// is given.
func WithRequireTLS() Option {
	return optionFunc(func(o *options) error {
		o.engine.RequireTLS = true
		return useTLS(o)
	})
}

// WithTLSConfig serves TLS with cfg instead of the test certificate: the
// user's own certificate, client certificate checks, restricted versions
// or cipher suites. It enables STARTTLS unless [WithImplicitTLS] is given.
// The server uses a clone of cfg. [Server.ClientTLSConfig] still trusts
// only the test certificate authority. A TLS failure fault keeps what of
// cfg it does not replace: [Fault.TLSVersion] its certificate, every one
// the client certificate it requires.
func WithTLSConfig(cfg *tls.Config) Option {
	return optionFunc(func(o *options) error {
		if cfg == nil {
			return errors.New("mocksmtp: WithTLSConfig(nil): want a configuration")
		}
		if !hasCertificate(cfg) {
			return errors.New("mocksmtp: WithTLSConfig: the configuration has no certificate (Certificates, GetCertificate or GetConfigForClient)")
		}
		o.engine.TLSConfig = cfg.Clone()
		return nil
	})
}

// hasCertificate reports whether a server with cfg has a certificate to
// give: without one, every TLS handshake fails.
func hasCertificate(cfg *tls.Config) bool {
	return len(cfg.Certificates) > 0 || cfg.GetCertificate != nil || cfg.GetConfigForClient != nil
}

// useTLS gives the engine the test certificate unless it has a TLS
// configuration already.
func useTLS(o *options) error {
	if o.engine.TLSConfig != nil {
		return nil
	}
	p, err := defaultPKI()
	if err != nil {
		return err
	}
	o.engine.TLSConfig = p.serverConfig()
	return nil
}

// ClientTLSConfig returns a new TLS configuration for clients of the
// server: it trusts the test certificate authority, and nothing else, and
// verifies the server's certificate for real, so no client needs
// InsecureSkipVerify. ServerName is the server's IP address ([Server.Host]),
// as net/smtp's StartTLS needs; set it to "localhost" to send that name
// with SNI (the certificate is valid for both). Each call returns a fresh
// configuration the caller may change.
//
// It trusts the test certificate whether or not the server uses TLS, and
// also when [WithTLSConfig] replaced it (it then fits only clients of
// servers that use the test certificate).
func (s *Server) ClientTLSConfig() *tls.Config {
	p, err := defaultPKI()
	if err != nil {
		// No test CA could be built (the system's random source failed):
		// trust nothing, so that every handshake fails visibly.
		return &tls.Config{RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS12, ServerName: s.Host()}
	}
	cfg := p.clientConfig()
	cfg.ServerName = s.Host()
	return cfg
}

// CertPool returns a new certificate pool holding the test certificate
// authority, for clients configured with a pool rather than a
// [tls.Config]. See [Server.ClientTLSConfig].
func (s *Server) CertPool() *x509.CertPool {
	p, err := defaultPKI()
	if err != nil {
		return x509.NewCertPool()
	}
	return p.pool()
}

// CACertPEM returns the test certificate authority's certificate,
// PEM-encoded, for clients that are no Go programs (write it to a file and
// point the client's CA option at it). See [Server.ClientTLSConfig].
func (s *Server) CACertPEM() []byte {
	p, err := defaultPKI()
	if err != nil {
		return nil
	}
	return p.caPEM()
}

// sharedPKI builds the process-wide test PKI on first use and returns the same
// result ever after. This is the one documented exception to the package's
// "no package-level mutable state" rule: it is written once, under
// sync.OnceValues, and read-only afterwards, so parallel tests and servers
// can share it safely. Building it (two P-256 keys, two signatures) takes well
// under a millisecond.
var sharedPKI = sync.OnceValues(newTestPKI)

// defaultPKI returns the process-wide test PKI shared by all servers.
func defaultPKI() (*testPKI, error) { return sharedPKI() }

// testPKI is a certificate authority and a server certificate it signed, for
// "localhost", 127.0.0.1 and ::1. All fields are read-only after construction;
// methods hand out fresh configs and copies, so callers may modify what they
// get. Safe for concurrent use.
type testPKI struct {
	caCert     *x509.Certificate
	caKey      *ecdsa.PrivateKey
	caPEMBytes []byte
	certPool   *x509.CertPool  // holds caCert only; cloned before handing out
	serverCert tls.Certificate // leaf only; the CA is a trust anchor in certPool

	// bad builds the certificates for TLS-failure faults on first use.
	bad func() (*badCerts, error)
}

// newTestPKI generates a fresh CA and a server certificate signed by it.
func newTestPKI() (*testPKI, error) {
	caCert, caKey, err := newCA("mocksmtp test CA")
	if err != nil {
		return nil, err
	}
	serverCert, err := newLeaf(caCert, caKey, leafSpec{
		commonName: "mocksmtp test server",
		loopback:   true,
	})
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	p := &testPKI{
		caCert:     caCert,
		caKey:      caKey,
		caPEMBytes: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caCert.Raw}),
		certPool:   pool,
		serverCert: serverCert,
	}
	p.bad = sync.OnceValues(p.newBadCerts)
	return p, nil
}

// serverConfig returns a new server-side config presenting the server
// certificate, TLS 1.2 or later. Each call returns a fresh config.
func (p *testPKI) serverConfig() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{p.serverCert},
		MinVersion:   tls.VersionTLS12,
	}
}

// clientConfig returns a new client-side config that trusts only the test CA
// and verifies the server for real. ServerName is left empty, so crypto/tls
// derives it from the dialed address ("localhost", "127.0.0.1" or "::1" all
// verify). Each call returns a fresh config with its own pool.
func (p *testPKI) clientConfig() *tls.Config {
	return &tls.Config{
		RootCAs:    p.pool(),
		MinVersion: tls.VersionTLS12,
	}
}

// pool returns a new cert pool holding only the test CA. It is a clone on
// every call, so a caller adding certificates to it affects no one else.
func (p *testPKI) pool() *x509.CertPool { return p.certPool.Clone() }

// caPEM returns a copy of the test CA certificate, PEM-encoded.
func (p *testPKI) caPEM() []byte { return bytes.Clone(p.caPEMBytes) }

// badCert names a server certificate that a client trusting the test CA
// must reject, for TLS-failure faults.
type badCert int

const (
	// badCertExpired is signed by the test CA for the loopback names but
	// expired before 2000.
	badCertExpired badCert = iota + 1
	// badCertWrongHost is signed by the test CA for "wrong.example" only.
	badCertWrongHost
	// badCertUntrustedCA is for the loopback names but signed by a throwaway
	// CA that no client trusts.
	badCertUntrustedCA
)

// String returns a short name such as "expired certificate".
func (k badCert) String() string {
	switch k {
	case badCertExpired:
		return "expired certificate"
	case badCertWrongHost:
		return "certificate for the wrong host"
	case badCertUntrustedCA:
		return "certificate from an untrusted CA"
	}
	return "badCert(" + strconv.Itoa(int(k)) + ")"
}

// badCerts holds one leaf per badCert kind.
type badCerts struct {
	expired, wrongHost, untrustedCA tls.Certificate
}

// newBadCerts builds the certificates behind badServerConfig.
func (p *testPKI) newBadCerts() (*badCerts, error) {
	var b badCerts
	var err error
	b.expired, err = newLeaf(p.caCert, p.caKey, leafSpec{
		commonName: "mocksmtp expired server",
		loopback:   true,
		expired:    true,
	})
	if err != nil {
		return nil, err
	}
	b.wrongHost, err = newLeaf(p.caCert, p.caKey, leafSpec{
		commonName: "wrong.example",
		dnsNames:   []string{"wrong.example"},
	})
	if err != nil {
		return nil, err
	}
	otherCA, otherKey, err := newCA("mocksmtp untrusted CA")
	if err != nil {
		return nil, err
	}
	b.untrustedCA, err = newLeaf(otherCA, otherKey, leafSpec{
		commonName: "mocksmtp untrusted server",
		loopback:   true,
	})
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// badServerConfig returns a new server-side config, like serverConfig, that
// presents the given bad certificate. The bad certificates are built on first
// use and shared afterwards.
func (p *testPKI) badServerConfig(kind badCert) (*tls.Config, error) {
	b, err := p.bad()
	if err != nil {
		return nil, err
	}
	var cert tls.Certificate
	switch kind {
	case badCertExpired:
		cert = b.expired
	case badCertWrongHost:
		cert = b.wrongHost
	case badCertUntrustedCA:
		cert = b.untrustedCA
	default:
		return nil, fmt.Errorf("mocksmtp: unknown bad certificate kind %v", kind)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// withCertificates returns a clone of cfg that presents certs, also when
// its GetConfigForClient chooses the configuration.
func withCertificates(cfg *tls.Config, certs []tls.Certificate) *tls.Config {
	return changed(cfg, func(c *tls.Config) { c.Certificates, c.GetCertificate = certs, nil })
}

// tlsVersionOnly returns a clone of cfg (nil means an empty config) that
// negotiates exactly TLS version v, such as tls.VersionTLS10, which Go clients
// refuse by default (they require TLS 1.2 or later).
func tlsVersionOnly(cfg *tls.Config, v uint16) *tls.Config {
	return changed(cfg, func(c *tls.Config) { c.MinVersion, c.MaxVersion = v, v })
}

// changed returns a clone of cfg (nil means an empty config) changed by
// change, and so is the configuration its GetConfigForClient chooses,
// which replaces it.
func changed(cfg *tls.Config, change func(*tls.Config)) *tls.Config {
	c := cfg.Clone() // Clone of nil is nil
	if c == nil {
		c = &tls.Config{}
	}
	change(c)
	if get := c.GetConfigForClient; get != nil {
		c.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			cc, err := get(hello)
			if cc == nil || err != nil {
				return cc, err
			}
			cc = cc.Clone()
			change(cc)
			return cc, nil
		}
	}
	return c
}

// newCA generates a self-signed P-256 CA that may sign leaves only.
func newCA(commonName string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("mocksmtp: generating test CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	notBefore, notAfter := validity(false)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"mocksmtp"}, CommonName: commonName},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("mocksmtp: creating test CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("mocksmtp: parsing test CA certificate: %w", err)
	}
	return cert, key, nil
}

// leafSpec describes a server certificate for newLeaf.
type leafSpec struct {
	commonName string
	dnsNames   []string
	loopback   bool // also valid for "localhost", 127.0.0.1 and ::1
	expired    bool // see validity
}

// validity returns the validity window of every certificate built here.
//
// The dates are fixed rather than "now ± something": the shared material may
// be built inside a testing/synctest bubble, whose clock starts at
// 2000-01-01 00:00:00 UTC, and must then still be valid for tests on the real
// clock (and the other way round). Good certificates are valid from well
// before 2000 until the RFC 5280 "no well-defined expiration" date; expired
// ones ended before 2000, so they are expired on every clock a test can see.
func validity(expired bool) (notBefore, notAfter time.Time) {
	notBefore = time.Date(1990, time.January, 1, 0, 0, 0, 0, time.UTC)
	if expired {
		return notBefore, time.Date(1995, time.January, 1, 0, 0, 0, 0, time.UTC)
	}
	return notBefore, time.Date(9999, time.December, 31, 23, 59, 59, 0, time.UTC)
}

// newLeaf generates a P-256 key and a server-auth certificate for it signed
// by ca.
func newLeaf(ca *x509.Certificate, caKey *ecdsa.PrivateKey, s leafSpec) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("mocksmtp: generating test server key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return tls.Certificate{}, err
	}
	notBefore, notAfter := validity(s.expired)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"mocksmtp"}, CommonName: s.commonName},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              s.dnsNames,
	}
	if s.loopback {
		tmpl.DNSNames = append(tmpl.DNSNames, "localhost")
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("mocksmtp: creating test server certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("mocksmtp: parsing test server certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// randomSerial returns a random positive 128-bit certificate serial number.
func randomSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("mocksmtp: generating certificate serial: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// ExpiredCertificate makes the TLS handshake present a certificate that is
// signed by the test certificate authority, for the right names, but
// expired (in 1995). A client with [Server.ClientTLSConfig] fails the
// handshake with an x509.CertificateInvalidError whose Reason is
// x509.Expired. Only the certificate is the fault's: the rest of the
// handshake is the server's, so that a client certificate that
// [WithTLSConfig] requires (ClientAuth, ClientCAs) is still required.
//
// Like every TLS failure, it acts on the handshake after STARTTLS at
// [StageStartTLS], or, with [WithImplicitTLS], on the handshake that
// opens the connection at [StageConnect]; at either stage, a server that
// does not offer that handshake refuses it ([New], [Server.AddFault]).
// With no handshake to act on (a
// Reply to STARTTLS but 220, a RawReply whose last line is not a 220, or
// Disconnect, Drop, ResetTCP, HalfClose or Stall) the fault is invalid:
//
//	mocksmtp.At(mocksmtp.StageStartTLS).ExpiredCertificate()
//	mocksmtp.At(mocksmtp.StageConnect).ExpiredCertificate() // SMTPS
func (f Fault) ExpiredCertificate() Fault {
	return f.badCertificate("ExpiredCertificate", badCertExpired)
}

// WrongHostCertificate makes the TLS handshake (see
// [Fault.ExpiredCertificate]) present a valid certificate of the test
// certificate authority for "wrong.example" only. A client with
// [Server.ClientTLSConfig] fails with an x509.HostnameError.
func (f Fault) WrongHostCertificate() Fault {
	return f.badCertificate("WrongHostCertificate", badCertWrongHost)
}

// UntrustedCertificate makes the TLS handshake (see
// [Fault.ExpiredCertificate]) present a certificate for the right names
// signed by a certificate authority nobody trusts. A client with
// [Server.ClientTLSConfig] fails with an x509.UnknownAuthorityError.
func (f Fault) UntrustedCertificate() Fault {
	return f.badCertificate("UntrustedCertificate", badCertUntrustedCA)
}

func (f Fault) badCertificate(method string, kind badCert) Fault {
	return f.withTLS(method, kind.String(), func(server *tls.Config) (*tls.Config, error) {
		p, err := defaultPKI()
		if err != nil {
			return nil, err
		}
		bad, err := p.badServerConfig(kind)
		if err != nil || server == nil {
			return bad, err
		}
		// The server's own configuration with the bad certificate in
		// place of its own: a client certificate it requires
		// (ClientAuth, ClientCAs) is still required.
		return withCertificates(server, bad.Certificates), nil
	})
}

// TLSVersion makes the TLS handshake (see [Fault.ExpiredCertificate])
// accept only version v (tls.VersionTLS10 to tls.VersionTLS13), with the
// server's own configuration otherwise: the test certificate, or that of
// [WithTLSConfig], with the client certificate it may require: an old
// server. Go clients refuse TLS 1.0 and 1.1 by default and fail with the
// TLS alert "protocol version not supported".
func (f Fault) TLSVersion(v uint16) Fault {
	if v < tls.VersionTLS10 || v > tls.VersionTLS13 {
		return f.fail("%v: want tls.VersionTLS10 to tls.VersionTLS13", call("TLSVersion", fmt.Sprintf("%#04x", v)))
	}
	return f.withTLS("TLSVersion", "only "+tls.VersionName(v), func(server *tls.Config) (*tls.Config, error) {
		if server == nil { // no TLS fault fires on a server without TLS; kept for safety
			p, err := defaultPKI()
			if err != nil {
				return nil, err
			}
			server = p.serverConfig()
		}
		return tlsVersionOnly(server, v), nil
	})
}

// errHandshakeAborted ends a handshake that AbortHandshake cut.
var errHandshakeAborted = errors.New("mocksmtp: handshake aborted by a fault")

// AbortHandshake makes the server close the connection in the middle of
// the TLS handshake (see [Fault.ExpiredCertificate]), right after the
// client's first message (ClientHello), without a TLS alert: the client's
// handshake fails with io.EOF or a connection reset.
func (f Fault) AbortHandshake() Fault {
	return f.withTLS("AbortHandshake", "handshake aborted", func(*tls.Config) (*tls.Config, error) {
		return &tls.Config{GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			_ = hello.Conn.Close()
			return nil, errHandshakeAborted
		}}, nil
	})
}

// withTLS sets the TLS configuration a fault gives the handshake.
func (f Fault) withTLS(method, label string, cfg func(server *tls.Config) (*tls.Config, error)) Fault {
	return f.with(method, func(a *action) error {
		if a.tlsConfig != nil {
			return fmt.Errorf("the fault already has a TLS failure (%s); choose one", a.label)
		}
		a.tlsConfig, a.label = cfg, label
		return nil
	})
}
