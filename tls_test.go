package mocksmtp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"net/textproto"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testingPKI returns the shared test PKI or fails t.
func testingPKI(t testing.TB) *testPKI {
	t.Helper()
	p, err := defaultPKI()
	if err != nil {
		t.Fatalf("defaultPKI() error: %v", err)
	}
	return p
}

// handshakeResult is what both ends of one loopback handshake saw.
type handshakeResult struct {
	client    tls.ConnectionState // valid when clientErr == nil
	clientErr error
	serverErr error
}

// loopbackHandshake listens on listenAddr over network, serves one TLS
// handshake there with serverCfg, dials it with clientCfg (so the client's
// ServerName, when unset, is the listener's IP) and returns what both ends
// saw. Every goroutine it starts has ended when it returns. It skips t when
// the address cannot be listened on (no IPv6 loopback, say).
func loopbackHandshake(t *testing.T, network, listenAddr string, serverCfg, clientCfg *tls.Config) handshakeResult {
	t.Helper()
	ln, err := net.Listen(network, listenAddr)
	if err != nil {
		t.Skipf("cannot listen on %s %s: %v", network, listenAddr, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	serverDone := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			serverDone <- err
			return
		}
		defer c.Close()
		serverDone <- tls.Server(c, serverCfg).HandshakeContext(ctx)
	}()

	var res handshakeResult
	d := tls.Dialer{Config: clientCfg}
	conn, err := d.DialContext(ctx, network, ln.Addr().String())
	res.clientErr = err
	if err == nil {
		res.client = conn.(*tls.Conn).ConnectionState()
		conn.Close()
	}
	ln.Close() // unblocks Accept if the client never connected
	res.serverErr = <-serverDone
	return res
}

func TestPKIHandshakeLoopback(t *testing.T) {
	p := testingPKI(t)
	tests := []struct {
		name       string
		network    string
		listenAddr string
		serverName string // "" lets crypto/tls derive it from the dialed IP
	}{
		{name: "localhost", network: "tcp4", listenAddr: "127.0.0.1:0", serverName: "localhost"},
		{name: "127.0.0.1", network: "tcp4", listenAddr: "127.0.0.1:0"},
		{name: "::1", network: "tcp6", listenAddr: "[::1]:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clientCfg := p.clientConfig()
			clientCfg.ServerName = tt.serverName
			res := loopbackHandshake(t, tt.network, tt.listenAddr, p.serverConfig(), clientCfg)
			if res.clientErr != nil {
				t.Fatalf("client handshake error: %v (server: %v)", res.clientErr, res.serverErr)
			}
			if res.serverErr != nil {
				t.Fatalf("server handshake error: %v", res.serverErr)
			}
			if got, want := res.client.Version, uint16(tls.VersionTLS13); got != want {
				t.Errorf("negotiated %s, want %s", tls.VersionName(got), tls.VersionName(want))
			}
			if len(res.client.VerifiedChains) == 0 {
				t.Fatal("client reports no verified chains")
			}
			chain := res.client.VerifiedChains[0]
			if !chain[0].Equal(p.serverCert.Leaf) {
				t.Errorf("verified leaf is %q, want the test server certificate", chain[0].Subject)
			}
			if root := chain[len(chain)-1]; !root.Equal(p.caCert) {
				t.Errorf("verified root is %q, want the test CA", root.Subject)
			}
		})
	}
}

func TestPKIBadServerCertHandshake(t *testing.T) {
	p := testingPKI(t)
	tests := []struct {
		kind  badCert
		want  string // what check looks for, for the failure message
		check func(error) bool
	}{
		{
			kind: badCertExpired,
			want: "x509.CertificateInvalidError with Reason x509.Expired",
			check: func(err error) bool {
				var e x509.CertificateInvalidError
				return errors.As(err, &e) && e.Reason == x509.Expired
			},
		},
		{
			kind: badCertWrongHost,
			want: `x509.HostnameError for "127.0.0.1"`,
			check: func(err error) bool {
				var e x509.HostnameError
				return errors.As(err, &e) && e.Host == "127.0.0.1"
			},
		},
		{
			kind: badCertUntrustedCA,
			want: "x509.UnknownAuthorityError",
			check: func(err error) bool {
				var e x509.UnknownAuthorityError
				return errors.As(err, &e)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			serverCfg, err := p.badServerConfig(tt.kind)
			if err != nil {
				t.Fatalf("badServerConfig(%v) error: %v", tt.kind, err)
			}
			res := loopbackHandshake(t, "tcp4", "127.0.0.1:0", serverCfg, p.clientConfig())
			if res.clientErr == nil {
				t.Fatalf("client handshake succeeded, want %s", tt.want)
			}
			t.Logf("client error (%T): %v", res.clientErr, res.clientErr)
			var verr *tls.CertificateVerificationError
			if !errors.As(res.clientErr, &verr) {
				t.Errorf("client error %v (%T) does not wrap *tls.CertificateVerificationError", res.clientErr, res.clientErr)
			}
			if !tt.check(res.clientErr) {
				t.Errorf("client error %v (%T), want %s", res.clientErr, res.clientErr, tt.want)
			}
			if res.serverErr == nil {
				t.Error("server handshake succeeded, want it to see the client's rejection")
			}
		})
	}
}

// isProtocolVersionAlert reports whether err carries the TLS
// protocol_version alert (70). Over TCP, crypto/tls reports an alert received
// from the peer as a *net.OpError with Op "remote error" wrapping an
// unexported alert type, whose text is the only handle; tls.AlertError is
// what QUIC connections (and local handshake errors there) wrap. Accept both.
func isProtocolVersionAlert(err error) bool {
	var a tls.AlertError
	if errors.As(err, &a) {
		return a == 70
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error" &&
		op.Err != nil && op.Err.Error() == "tls: protocol version not supported"
}

func TestTLSVersionOnlyRefusedByClient(t *testing.T) {
	p := testingPKI(t)
	serverCfg := tlsVersionOnly(p.serverConfig(), tls.VersionTLS10)

	t.Run("default client refuses", func(t *testing.T) {
		res := loopbackHandshake(t, "tcp4", "127.0.0.1:0", serverCfg, p.clientConfig())
		if res.clientErr == nil {
			t.Fatalf("client handshake succeeded at %s, want a protocol version alert", tls.VersionName(res.client.Version))
		}
		t.Logf("client error (%T): %v; server error: %v", res.clientErr, res.clientErr, res.serverErr)
		if !isProtocolVersionAlert(res.clientErr) {
			t.Errorf("client error %v (%T), want the protocol_version alert", res.clientErr, res.clientErr)
		}
		if res.serverErr == nil {
			t.Error("server handshake succeeded, want an unsupported-versions error")
		}
	})

	// The control: the server does work at TLS 1.0, so the failure above is
	// the client's refusal and nothing else.
	t.Run("TLS 1.0 client accepts", func(t *testing.T) {
		clientCfg := tlsVersionOnly(p.clientConfig(), tls.VersionTLS10)
		res := loopbackHandshake(t, "tcp4", "127.0.0.1:0", serverCfg, clientCfg)
		if res.clientErr != nil {
			t.Fatalf("client handshake error: %v (server: %v)", res.clientErr, res.serverErr)
		}
		if res.serverErr != nil {
			t.Fatalf("server handshake error: %v", res.serverErr)
		}
		if got := res.client.Version; got != tls.VersionTLS10 {
			t.Errorf("negotiated %s, want TLS 1.0", tls.VersionName(got))
		}
	})
}

func TestTLSVersionOnly(t *testing.T) {
	orig := &tls.Config{ServerName: "example.com", MinVersion: tls.VersionTLS12}
	got := tlsVersionOnly(orig, tls.VersionTLS10)
	if got == orig {
		t.Fatal("tlsVersionOnly returned its argument, want a clone")
	}
	if got.MinVersion != tls.VersionTLS10 || got.MaxVersion != tls.VersionTLS10 {
		t.Errorf("versions = [%s, %s], want exactly TLS 1.0", tls.VersionName(got.MinVersion), tls.VersionName(got.MaxVersion))
	}
	if got.ServerName != "example.com" {
		t.Errorf("ServerName = %q, want it kept from the original", got.ServerName)
	}
	if orig.MinVersion != tls.VersionTLS12 || orig.MaxVersion != 0 {
		t.Errorf("original changed to [%s, %d]", tls.VersionName(orig.MinVersion), orig.MaxVersion)
	}
	if n := tlsVersionOnly(nil, tls.VersionTLS13); n == nil || n.MinVersion != tls.VersionTLS13 || n.MaxVersion != tls.VersionTLS13 {
		t.Errorf("tlsVersionOnly(nil, TLS 1.3) = %+v, want a config limited to TLS 1.3", n)
	}
}

func TestPKIShared(t *testing.T) {
	a, b := testingPKI(t), testingPKI(t)
	if a != b {
		t.Error("defaultPKI returned two different PKIs, want one per process")
	}
}

func TestPKIHandsOutCopies(t *testing.T) {
	p := testingPKI(t)

	pem1 := p.caPEM()
	pem1[0] ^= 0xff
	if bytes.Equal(pem1, p.caPEM()) {
		t.Error("modifying caPEM()'s result changed the next one")
	}

	pool := p.pool()
	pool.AddCert(p.serverCert.Leaf)
	if pool.Equal(p.pool()) {
		t.Error("adding to pool()'s result changed the next one")
	}

	if a, b := p.serverConfig(), p.serverConfig(); a == b {
		t.Error("serverConfig returned the same config twice")
	}
	if a, b := p.clientConfig(), p.clientConfig(); a == b {
		t.Error("clientConfig returned the same config twice")
	}
	bad1, err1 := p.badServerConfig(badCertExpired)
	bad2, err2 := p.badServerConfig(badCertExpired)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatalf("badServerConfig error: %v", err)
	}
	if bad1 == bad2 {
		t.Error("badServerConfig returned the same config twice")
	}
}

func TestPKIConfigs(t *testing.T) {
	p := testingPKI(t)

	s := p.serverConfig()
	if s.MinVersion != tls.VersionTLS12 {
		t.Errorf("server MinVersion = %s, want TLS 1.2", tls.VersionName(s.MinVersion))
	}
	if len(s.Certificates) != 1 || s.Certificates[0].Leaf == nil {
		t.Fatalf("server config has %d certificates, want 1 with its Leaf set", len(s.Certificates))
	}

	c := p.clientConfig()
	if c.InsecureSkipVerify {
		t.Error("client config skips verification")
	}
	if c.ServerName != "" {
		t.Errorf("client ServerName = %q, want it unset", c.ServerName)
	}
	if c.RootCAs == nil || !c.RootCAs.Equal(p.pool()) {
		t.Error("client RootCAs is not the test CA pool")
	}
}

func TestPKICACertPEM(t *testing.T) {
	p := testingPKI(t)
	block, rest := pem.Decode(p.caPEM())
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("caPEM() does not start with a CERTIFICATE block: %q", p.caPEM())
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		t.Errorf("caPEM() has %d bytes after the certificate", len(rest))
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("parsing caPEM(): %v", err)
	}
	if !ca.IsCA || !ca.Equal(p.caCert) {
		t.Error("caPEM() is not the test CA certificate")
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(p.caPEM()) || !pool.Equal(p.pool()) {
		t.Error("a pool built from caPEM() differs from pool()")
	}
}

// TestPKICertValidity checks the certificates against both clocks a test may
// run on: the real one and a testing/synctest bubble's, which starts at
// 2000-01-01 UTC.
func TestPKICertValidity(t *testing.T) {
	p := testingPKI(t)
	bad, err := p.bad()
	if err != nil {
		t.Fatalf("building bad certificates: %v", err)
	}
	clocks := map[string]time.Time{
		"real clock":    time.Now(),
		"synctest zero": time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC),
	}
	for clock, now := range clocks {
		for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
			opts := x509.VerifyOptions{DNSName: host, Roots: p.pool(), CurrentTime: now}
			if _, err := p.serverCert.Leaf.Verify(opts); err != nil {
				t.Errorf("%s: server certificate does not verify for %s: %v", clock, host, err)
			}
			var invalid x509.CertificateInvalidError
			if _, err := bad.expired.Leaf.Verify(opts); !errors.As(err, &invalid) || invalid.Reason != x509.Expired {
				t.Errorf("%s: expired certificate for %s: got error %v, want x509.Expired", clock, host, err)
			}
		}
	}
}

// TestPKIHandshakeInSynctestBubble runs handshakes on a bubble's fake clock
// (2000-01-01 UTC), where the engine's timeout tests run.
func TestPKIHandshakeInSynctestBubble(t *testing.T) {
	p := testingPKI(t)
	expiredCfg, err := p.badServerConfig(badCertExpired)
	if err != nil {
		t.Fatalf("badServerConfig(%v) error: %v", badCertExpired, err)
	}
	synctest.Test(t, func(t *testing.T) {
		handshake := func(serverCfg *tls.Config) error {
			clientCfg := p.clientConfig()
			clientCfg.ServerName = "localhost" // net.Pipe has no address to derive it from
			cc, sc := net.Pipe()
			// net.Pipe has no buffer: a client that rejects the certificate
			// blocks writing its alert while the server still blocks writing
			// the rest of its first flight. The deadline (instant on the
			// bubble's clock once both block) lets the client give up.
			cc.SetDeadline(time.Now().Add(time.Minute))
			done := make(chan struct{})
			go func() {
				defer close(done)
				tls.Server(sc, serverCfg).Handshake()
				sc.Close()
			}()
			err := tls.Client(cc, clientCfg).Handshake()
			cc.Close()
			<-done
			return err
		}
		if err := handshake(p.serverConfig()); err != nil {
			t.Errorf("handshake at %v: %v", time.Now().UTC(), err)
		}
		var invalid x509.CertificateInvalidError
		if err := handshake(expiredCfg); !errors.As(err, &invalid) || invalid.Reason != x509.Expired {
			t.Errorf("handshake with the expired certificate at %v: got error %v, want x509.Expired", time.Now().UTC(), err)
		}
	})
}

func TestBadCertString(t *testing.T) {
	tests := []struct {
		kind badCert
		want string
	}{
		{badCertExpired, "expired certificate"},
		{badCertWrongHost, "certificate for the wrong host"},
		{badCertUntrustedCA, "certificate from an untrusted CA"},
		{badCert(0), "badCert(0)"},
		{badCert(99), "badCert(99)"},
	}
	for _, tt := range tests {
		if got := tt.kind.String(); got != tt.want {
			t.Errorf("badCert(%d).String() = %q, want %q", int(tt.kind), got, tt.want)
		}
	}
}

func TestBadCertUnknownKind(t *testing.T) {
	p := testingPKI(t)
	cfg, err := p.badServerConfig(badCert(99))
	if err == nil {
		t.Fatalf("badServerConfig(badCert(99)) = %v, want an error", cfg)
	}
	if !strings.HasPrefix(err.Error(), "mocksmtp: ") {
		t.Errorf("error %q lacks the mocksmtp: prefix", err)
	}
}

// BenchmarkServerHandshake measures one full TLS handshake (no resumption)
// between serverConfig and clientConfig over net.Pipe.
func BenchmarkServerHandshake(b *testing.B) {
	p := testingPKI(b)
	serverCfg := p.serverConfig()
	clientCfg := p.clientConfig()
	clientCfg.ServerName = "localhost" // net.Pipe has no address to derive it from
	done := make(chan error, 1)
	b.ReportAllocs()
	for b.Loop() {
		cc, sc := net.Pipe()
		go func() {
			err := tls.Server(sc, serverCfg).Handshake()
			sc.Close()
			done <- err
		}()
		clientErr := tls.Client(cc, clientCfg).Handshake()
		cc.Close()
		serverErr := <-done
		if err := errors.Join(clientErr, serverErr); err != nil {
			b.Fatalf("handshake: %v", err)
		}
	}
}

// wire is a raw SMTP client for tests: it sends exactly the bytes it is
// given and reads replies line by line.
type wire struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

// dialWire connects to addr, over TLS when cfg is not nil, and reads the
// greeting.
func dialWire(t testing.TB, addr string, cfg *tls.Config) *wire {
	t.Helper()
	w := connectWire(t, addr, cfg)
	w.expect("220")
	return w
}

// dialServerWire connects to srv with srv.Dial (over TCP or in memory),
// over TLS when cfg is not nil, and reads the greeting.
func dialServerWire(t testing.TB, srv *Server, cfg *tls.Config) *wire {
	t.Helper()
	conn, err := srv.Dial()
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if cfg != nil {
		conn = tls.Client(conn, cfg)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { conn.Close() })
	w := &wire{t: t, conn: conn, r: bufio.NewReader(conn)}
	w.expect("220")
	return w
}

// connectWire connects to addr, over TLS when cfg is not nil.
func connectWire(t testing.TB, addr string, cfg *tls.Config) *wire {
	t.Helper()
	d := &net.Dialer{Timeout: 10 * time.Second}
	var conn net.Conn
	var err error
	if cfg != nil {
		conn, err = tls.DialWithDialer(d, "tcp", addr, cfg)
	} else {
		conn, err = d.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { conn.Close() })
	return &wire{t: t, conn: conn, r: bufio.NewReader(conn)}
}

func (w *wire) send(s string) {
	w.t.Helper()
	if _, err := io.WriteString(w.conn, s); err != nil {
		w.t.Fatalf("send %q: %v", s, err)
	}
}

// read reads one reply and returns its lines without CRLF.
func (w *wire) read() ([]string, error) {
	var lines []string
	for {
		l, err := w.r.ReadString('\n')
		if err != nil {
			return lines, err
		}
		l = strings.TrimSuffix(l, "\r\n")
		lines = append(lines, l)
		if len(l) < 4 || l[3] != '-' {
			return lines, nil
		}
	}
}

// expect reads one reply and checks that its last line starts with
// prefix, a code and perhaps an enhanced status code ("535 5.7.8"). It
// returns the reply's lines.
func (w *wire) expect(prefix string) []string {
	w.t.Helper()
	lines, err := w.read()
	if err != nil || !strings.HasPrefix(lines[len(lines)-1], prefix+" ") && lines[len(lines)-1] != prefix {
		w.t.Fatalf("want a reply %q, got %q, %v", prefix, lines, err)
	}
	return lines
}

// cmd sends one command line and expects a reply starting with prefix.
func (w *wire) cmd(line, prefix string) []string {
	w.t.Helper()
	w.send(line + "\r\n")
	return w.expect(prefix)
}

// startTLS sends STARTTLS, expects 220 2.0.0 and does the handshake.
func (w *wire) startTLS(cfg *tls.Config) error {
	w.t.Helper()
	w.cmd("STARTTLS", "220 2.0.0")
	tc := tls.Client(w.conn, cfg)
	if err := tc.HandshakeContext(w.t.Context()); err != nil {
		return err
	}
	w.conn, w.r = tc, bufio.NewReader(tc)
	return nil
}

// eof checks that the server closed the connection, with no reply first.
func (w *wire) eof() {
	w.t.Helper()
	if lines, err := w.read(); err == nil || len(lines) > 0 {
		w.t.Fatalf("want the connection closed, got %q, %v", lines, err)
	}
}

// ehloKeywords returns the keywords of an EHLO reply (the first word of
// each line after the first).
func ehloKeywords(reply []string) []string {
	var kws []string
	for _, l := range reply[1:] {
		kws = append(kws, strings.Fields(l[4:])[0])
	}
	return kws
}

// mailBody is a minimal message for the TLS and AUTH tests.
const mailBody = "From: app@example.com\r\nTo: bob@example.com\r\nSubject: Hi\r\n\r\nHello.\r\n"

func TestSTARTTLSNetSMTPWithAuthPlain(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithSTARTTLS(), WithAuth("user", "secret"))
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Fatal("STARTTLS not advertised")
	}
	if err := c.StartTLS(srv.ClientTLSConfig()); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	// net/smtp's PlainAuth checks that the name matches the one given to
	// the client, and that the connection is encrypted.
	if err := c.Auth(smtp.PlainAuth("", "user", "secret", srv.Host())); err != nil {
		t.Fatalf("Auth: %v", err)
	}
	if err := sendOn(c, "app@example.com", "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatalf("Quit: %v", err)
	}
	m := srv.WaitForMessages(t, 1)[0]
	s := srv.WaitForSessions(t, 1)[0]
	if s.TLS == nil || s.TLS.Version != tls.VersionTLS13 || !s.TLS.HandshakeComplete {
		t.Errorf("Session.TLS = %+v, want a TLS 1.3 connection state", s.TLS)
	}
	if m.Session.TLS == nil {
		t.Error("Message.Session.TLS is nil")
	}
	want := &AuthInfo{Mechanism: "PLAIN", Username: "user", Success: true}
	if diff := cmp.Diff(want, s.Auth); diff != "" {
		t.Errorf("Session.Auth (-want +got):\n%s", diff)
	}
	tr := s.Transcript.String()
	if strings.Contains(tr, base64.StdEncoding.EncodeToString([]byte("\x00user\x00secret"))) {
		t.Errorf("transcript shows the AUTH secret:\n%s", tr)
	}
	if !strings.Contains(tr, "C: AUTH PLAIN ****") {
		t.Errorf("transcript lacks the masked AUTH line:\n%s", tr)
	}
}

// sendOn sends mailBody with an smtp.Client that has said hello.
func sendOn(c *smtp.Client, from, to string) error { return sendData(c, from, to, mailBody) }

// sendData sends a message of data with an smtp.Client that has said
// hello.
func sendData(c *smtp.Client, from, to, data string) error {
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("MAIL: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("RCPT: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := io.WriteString(w, data); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("end of DATA: %w", err)
	}
	return nil
}

func TestSTARTTLSRecordsServerName(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithSTARTTLS())
	w := dialWire(t, srv.Addr(), nil)
	w.cmd("EHLO client.example", "250")
	cfg := srv.ClientTLSConfig()
	cfg.ServerName = "localhost"
	if err := w.startTLS(cfg); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	w.quit()
	s := srv.WaitForSessions(t, 1)[0]
	if s.TLS == nil || s.TLS.ServerName != "localhost" {
		t.Fatalf("Session.TLS = %+v, want server name localhost", s.TLS)
	}
	if tls.CipherSuiteName(s.TLS.CipherSuite) == "" {
		t.Errorf("no cipher suite recorded")
	}
}

func TestSTARTTLSDiscardsPipelinedPlaintext(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithSTARTTLS())
	w := dialWire(t, srv.Addr(), nil)
	w.cmd("EHLO client.example", "250")
	// An attacker in the middle appends a command to the client's
	// STARTTLS; it must not be executed as if sent under TLS
	// (CVE-2011-0411).
	w.send("STARTTLS\r\nRSET\r\n")
	w.expect("220 2.0.0")
	tc := tls.Client(w.conn, srv.ClientTLSConfig())
	if err := tc.HandshakeContext(t.Context()); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	w.conn, w.r = tc, bufio.NewReader(tc)
	// The first reply under TLS answers NOOP, not the injected RSET.
	w.send("NOOP\r\n")
	if lines, err := w.read(); err != nil || len(lines) != 1 || !strings.HasPrefix(lines[0], "250 2.0.0") {
		t.Fatalf("reply to NOOP = %q, %v", lines, err)
	}
	// The session was reset: EHLO is needed again.
	w.cmd("MAIL FROM:<a@example.com>", "503 5.5.1")
	w.cmd("EHLO client.example", "250")
	w.cmd("QUIT", "221 2.0.0")
	w.eof() // and no reply to the injected RSET anywhere
	w.conn.Close()

	s := srv.WaitForSessions(t, 1)[0]
	var verbs []string
	discarded := false
	for _, l := range s.Transcript {
		if l.Dir == FromClient {
			verbs = append(verbs, strings.Fields(l.Text)[0])
		}
		if l.Dir == Note && strings.Contains(l.Text, "discarded 6 octets") {
			discarded = true
		}
	}
	if diff := cmp.Diff([]string{"EHLO", "STARTTLS", "NOOP", "MAIL", "EHLO", "QUIT"}, verbs); diff != "" {
		t.Errorf("commands in the transcript (-want +got):\n%s\n%s", diff, s.Transcript)
	}
	if !discarded {
		t.Errorf("no note of the discarded octets:\n%s", s.Transcript)
	}
}

func TestSTARTTLSAdvertisedOnlyBeforeTLS(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithSTARTTLS(), WithAuth("user", "secret"))
	w := dialWire(t, srv.Addr(), nil)
	before := ehloKeywords(w.cmd("EHLO client.example", "250"))
	if !slices.Contains(before, "STARTTLS") || !slices.Contains(before, "AUTH") {
		t.Errorf("EHLO before TLS = %q, want STARTTLS and AUTH", before)
	}
	if err := w.startTLS(srv.ClientTLSConfig()); err != nil {
		t.Fatal(err)
	}
	after := ehloKeywords(w.cmd("EHLO client.example", "250"))
	if slices.Contains(after, "STARTTLS") || !slices.Contains(after, "AUTH") {
		t.Errorf("EHLO after TLS = %q, want AUTH and no STARTTLS", after)
	}
	w.cmd("STARTTLS", "503 5.5.1")
}

func TestTLSRequirements(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opts   []Option
		script [][2]string // before TLS: command, reply prefix
		after  [][2]string // after STARTTLS and EHLO
	}{
		{
			name:   "WithRequireTLS refuses MAIL and AUTH before TLS",
			opts:   []Option{WithRequireTLS(), WithAuth("user", "secret")},
			script: [][2]string{{"MAIL FROM:<a@example.com>", "530 5.7.0"}, {"AUTH PLAIN AHVzZXIAc2VjcmV0", "530 5.7.0"}},
			after:  [][2]string{{"AUTH PLAIN AHVzZXIAc2VjcmV0", "235 2.7.0"}, {"MAIL FROM:<a@example.com>", "250 2.1.0"}},
		},
		{
			// RFC 3207 4: 530 to every command but NOOP, EHLO, STARTTLS
			// and QUIT; HELO passes too, as Postfix's
			// smtpd_tls_security_level=encrypt lets it, and HELP (Postfix
			// has none).
			name: "WithRequireTLS refuses every command but NOOP, EHLO, HELO, HELP, STARTTLS and QUIT before TLS",
			opts: []Option{WithRequireTLS()},
			script: [][2]string{{"RSET", "530 5.7.0"}, {"VRFY postmaster", "530 5.7.0"}, {"EXPN staff", "530 5.7.0"},
				{"RCPT TO:<b@example.com>", "530 5.7.0"}, {"DATA", "530 5.7.0"},
				{"NOOP", "250 2.0.0"}, {"HELP", "214 2.0.0"}, {"HELO client.example", "250"}, {"EHLO client.example", "250"}},
			after: [][2]string{{"RSET", "250 2.0.0"}, {"VRFY postmaster", "252 2.0.0"}},
		},
		{
			name:   "WithRequireTLSForAuth answers AUTH before TLS with 538",
			opts:   []Option{WithRequireTLSForAuth(), WithAuth("user", "secret")},
			script: [][2]string{{"AUTH PLAIN AHVzZXIAc2VjcmV0", "538 5.7.11"}, {"MAIL FROM:<a@example.com>", "250 2.1.0"}, {"RSET", "250 2.0.0"}},
			after:  [][2]string{{"AUTH PLAIN AHVzZXIAc2VjcmV0", "235 2.7.0"}},
		},
		{
			name:   "WithRequireAuth refuses MAIL before AUTH",
			opts:   []Option{WithSTARTTLS(), WithAuth("user", "secret"), WithRequireAuth()},
			script: [][2]string{{"MAIL FROM:<a@example.com>", "530 5.7.0"}},
			after:  [][2]string{{"MAIL FROM:<a@example.com>", "530 5.7.0"}, {"AUTH PLAIN AHVzZXIAc2VjcmV0", "235 2.7.0"}, {"MAIL FROM:<a@example.com>", "250 2.1.0"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := Start(t, tt.opts...)
			w := dialWire(t, srv.Addr(), nil)
			w.cmd("EHLO client.example", "250")
			for _, c := range tt.script {
				w.cmd(c[0], c[1])
			}
			if err := w.startTLS(srv.ClientTLSConfig()); err != nil {
				t.Fatal(err)
			}
			w.cmd("EHLO client.example", "250")
			for _, c := range tt.after {
				w.cmd(c[0], c[1])
			}
		})
	}
}

// WithRejectNonconforming answers as a strict MTA would, and a strict MTA
// that requires TLS answers 530 5.7.0 before any other check (Postfix's
// encrypt level refuses a command before TLS before it runs it): the
// rejection of a command that breaks a rule before TLS (MAIL or BDAT
// before EHLO, MAIL pipelined when PIPELINING was not offered) does not
// replace the 530, which tells the client what to do; the finding is
// recorded all the same. BDAT's chunk is skipped as without the option.
func TestRequireTLSAnswersBeforeAStrictMTAsRejection(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithRequireTLS(), WithRejectNonconforming(), WithoutExtensions("PIPELINING"))
	w := dialWire(t, srv.Addr(), nil)
	w.cmd("MAIL FROM:<a@example.com>", "530 5.7.0")
	w.cmd("BDAT 6 LAST\r\nQUIT", "530 5.7.0") // its chunk: QUIT CRLF
	w.cmd("EHLO client.example", "250")
	w.send("MAIL FROM:<a@example.com>\r\nNOOP\r\n") // pipelined, not offered
	w.expect("530 5.7.0")
	w.expect("250 2.0.0")
	w.quit()
	var rules []Rule
	for _, f := range srv.Findings() {
		rules = append(rules, f.Rule)
	}
	// Each 530 to a client that sent no STARTTLS is a finding of its own.
	want := []Rule{RuleHeloFirst, RuleSTARTTLSFirst, RuleHeloFirst, RuleSTARTTLSFirst, RulePipelining, RuleSTARTTLSFirst}
	if !slices.Equal(rules, want) {
		t.Errorf("findings %v, want %v", rules, want)
	}
}

// With WithRequireTLS, the EHLO reply before TLS offers no AUTH, which
// would get 530 5.7.0 (Postfix: smtpd_tls_security_level=encrypt implies
// smtpd_tls_auth_only), also when the SCRAM -PLUS mechanisms leave others
// for before TLS; after STARTTLS it does. Go's net/smtp as the client.
func TestRequireTLSOffersAuthOnlyAfterTLS(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		opts  []Option
		after string // the mechanisms offered after STARTTLS
	}{
		{"WithAuth", []Option{WithAuth("user", "secret")}, "PLAIN LOGIN CRAM-MD5"},
		{"SCRAM and its -PLUS", []Option{WithAuth("user", "secret"), WithAuthMechanisms(AuthSCRAMSHA256PLUS, AuthSCRAMSHA256)}, "SCRAM-SHA-256-PLUS SCRAM-SHA-256"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := Start(t, append(tt.opts, WithRequireTLS())...)
			c, err := smtp.Dial(srv.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Hello("client.example"); err != nil {
				t.Fatal(err)
			}
			if ok, ms := c.Extension("AUTH"); ok {
				t.Errorf("EHLO before TLS offers AUTH %s, which gets 530", ms)
			}
			if err := c.StartTLS(srv.ClientTLSConfig()); err != nil {
				t.Fatal(err)
			}
			if ok, ms := c.Extension("AUTH"); !ok || ms != tt.after {
				t.Errorf("EHLO after TLS offers AUTH %q (%v), want %q", ms, ok, tt.after)
			}
			if err := c.Quit(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestImplicitTLS(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithImplicitTLS(), WithAuth("user", "secret"))
	conn, err := tls.Dial("tcp", srv.Addr(), srv.ClientTLSConfig())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c, err := smtp.NewClient(conn, srv.Host())
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS advertised under implicit TLS")
	}
	if err := c.Auth(smtp.PlainAuth("", "user", "secret", srv.Host())); err != nil {
		t.Fatalf("Auth: %v", err)
	}
	if err := sendOn(c, "app@example.com", "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	s := srv.WaitForSessions(t, 1)[0]
	if s.TLS == nil || len(s.Messages) != 1 {
		t.Errorf("session TLS = %v, %d messages; want TLS and 1 message", s.TLS, len(s.Messages))
	}
}

func TestImplicitTLSPlaintextClientFails(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithImplicitTLS())
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "EHLO client.example\r\n")
	b, _ := io.ReadAll(conn) // a TLS alert, then the close
	if bytes.HasPrefix(b, []byte("2")) || bytes.HasPrefix(b, []byte("5")) {
		t.Errorf("plaintext client got an SMTP reply %q", b)
	}
	s := srv.WaitForSessions(t, 1)[0]
	if s.Ended != EndTLSFailed {
		t.Errorf("session ended %v, want %v", s.Ended, EndTLSFailed)
	}
}

func TestTLSConfigOptions(t *testing.T) {
	t.Parallel()
	p := testingPKI(t)
	t.Run("WithTLSConfig is used", func(t *testing.T) {
		t.Parallel()
		cfg := tlsVersionOnly(p.serverConfig(), tls.VersionTLS12)
		srv := Start(t, WithTLSConfig(cfg))
		w := dialWire(t, srv.Addr(), nil)
		w.cmd("EHLO client.example", "250")
		if err := w.startTLS(srv.ClientTLSConfig()); err != nil {
			t.Fatal(err)
		}
		w.quit()
		if s := srv.WaitForSessions(t, 1)[0]; s.TLS == nil || s.TLS.Version != tls.VersionTLS12 {
			t.Errorf("Session.TLS = %+v, want TLS 1.2 from the given config", s.TLS)
		}
	})
	for _, tt := range []struct {
		name string
		opt  Option
	}{
		{"WithTLSConfig(nil)", WithTLSConfig(nil)},
		{"WithTLSConfig without certificate", WithTLSConfig(&tls.Config{})},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if srv, err := New(tt.opt); err == nil {
				srv.Close()
				t.Fatal("New succeeded, want an error")
			} else if !strings.HasPrefix(err.Error(), "mocksmtp: ") {
				t.Errorf("error %q lacks the mocksmtp: prefix", err)
			}
		})
	}
}

func TestClientTLSMaterial(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	cfg := srv.ClientTLSConfig()
	if cfg.InsecureSkipVerify || cfg.ServerName != "127.0.0.1" {
		t.Errorf("ClientTLSConfig = %+v, want verification for 127.0.0.1", cfg)
	}
	if !cfg.RootCAs.Equal(srv.CertPool()) {
		t.Error("ClientTLSConfig().RootCAs differs from CertPool()")
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(srv.CACertPEM()) || !pool.Equal(srv.CertPool()) {
		t.Error("a pool of CACertPEM() differs from CertPool()")
	}
	if srv.ClientTLSConfig() == cfg {
		t.Error("ClientTLSConfig returned the same config twice")
	}
}

// quit sends QUIT, expects 221 2.0.0 and closes the connection, as a
// client does (the server waits a moment for the close before it ends the
// session).
func (w *wire) quit() {
	w.t.Helper()
	w.cmd("QUIT", "221 2.0.0")
	w.conn.Close()
}

func TestTLSFailureFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		failure func(Fault) Fault
		want    string // for the failure message
		check   func(error) bool
	}{
		{
			name:    "expired certificate",
			failure: Fault.ExpiredCertificate,
			want:    "x509.CertificateInvalidError with Reason x509.Expired",
			check: func(err error) bool {
				var e x509.CertificateInvalidError
				return errors.As(err, &e) && e.Reason == x509.Expired
			},
		},
		{
			name:    "certificate for the wrong host",
			failure: Fault.WrongHostCertificate,
			want:    `x509.HostnameError for "127.0.0.1"`,
			check: func(err error) bool {
				var e x509.HostnameError
				return errors.As(err, &e) && e.Host == "127.0.0.1"
			},
		},
		{
			name:    "certificate from an untrusted CA",
			failure: Fault.UntrustedCertificate,
			want:    "x509.UnknownAuthorityError",
			check: func(err error) bool {
				var e x509.UnknownAuthorityError
				return errors.As(err, &e)
			},
		},
		{
			name:    "only TLS 1.0",
			failure: func(f Fault) Fault { return f.TLSVersion(tls.VersionTLS10) },
			want:    "the protocol_version alert",
			check:   isProtocolVersionAlert,
		},
		{
			name:    "handshake aborted",
			failure: Fault.AbortHandshake,
			want:    "io.EOF or a connection reset",
			check: func(err error) bool {
				return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
			},
		},
	}
	// The same over TCP and in memory: the client sees the same failure.
	transports := []struct {
		name string
		opts []Option
	}{{"tcp", nil}, {"memory", []Option{WithInMemory()}}}
	for _, via := range transports {
		for _, tt := range tests {
			// The first attempt fails; the second gets the good certificate.
			t.Run(via.name+"/"+tt.name+"/STARTTLS", func(t *testing.T) {
				t.Parallel()
				srv := Start(t, append(via.opts, WithSTARTTLS(), WithFault(tt.failure(At(StageStartTLS)).OnAttempt(1)))...)
				conn, err := srv.Dial()
				if err != nil {
					t.Fatal(err)
				}
				c, err := smtp.NewClient(conn, srv.Host())
				if err != nil {
					t.Fatal(err)
				}
				err = c.StartTLS(srv.ClientTLSConfig())
				c.Close()
				if err == nil {
					t.Fatalf("StartTLS succeeded, want %s", tt.want)
				}
				if !tt.check(err) {
					t.Errorf("StartTLS error %v (%T), want %s", err, err, tt.want)
				}
				checkTLSFailed(t, srv)

				w := dialServerWire(t, srv, nil)
				w.cmd("EHLO client.example", "250")
				if err := w.startTLS(srv.ClientTLSConfig()); err != nil {
					t.Fatalf("second attempt: %v", err)
				}
				w.quit()
			})
			t.Run(via.name+"/"+tt.name+"/implicit TLS", func(t *testing.T) {
				t.Parallel()
				// WithFault before WithImplicitTLS: the order of options does
				// not matter.
				srv := Start(t, append(via.opts, WithFault(tt.failure(At(StageConnect)).OnAttempt(1)), WithImplicitTLS())...)
				raw, err := srv.Dial()
				if err != nil {
					t.Fatal(err)
				}
				conn := tls.Client(raw, srv.ClientTLSConfig())
				err = conn.Handshake()
				conn.Close()
				if err == nil {
					t.Fatalf("the handshake succeeded, want %s", tt.want)
				}
				if !tt.check(err) {
					t.Errorf("handshake error %v (%T), want %s", err, err, tt.want)
				}
				checkTLSFailed(t, srv)

				w := dialServerWire(t, srv, srv.ClientTLSConfig())
				w.cmd("EHLO client.example", "250")
				w.quit()
			})
		}
	}
}

// checkTLSFailed checks the first session: ended by the TLS failure of
// the one fault that fired.
func checkTLSFailed(t *testing.T, srv *Server) {
	t.Helper()
	s := srv.WaitForSessions(t, 1)[0]
	if s.Ended != EndTLSFailed || s.TLS != nil {
		t.Errorf("session ended %v with TLS %v, want %v and no TLS", s.Ended, s.TLS, EndTLSFailed)
	}
	if len(s.Faults) != 1 {
		t.Errorf("Session.Faults = %q, want the one fault", s.Faults)
	}
}

func TestTLSFaultReply454(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithSTARTTLS(), WithFault(At(StageStartTLS).Reply(454, "4.7.0 TLS not available due to temporary reason")))
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.StartTLS(srv.ClientTLSConfig())
	var tpe *textproto.Error
	if !errors.As(err, &tpe) || tpe.Code != 454 || !strings.HasPrefix(tpe.Msg, "4.7.0") {
		t.Fatalf("StartTLS error %v, want 454 4.7.0", err)
	}
	// The session goes on in plaintext.
	if err := sendOn(c, "app@example.com", "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	if m := srv.WaitForMessages(t, 1)[0]; m.Session.TLS != nil {
		t.Error("message recorded with TLS after a refused STARTTLS")
	}
}

func TestSTARTTLSNotOffered(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS advertised without WithSTARTTLS")
	}
	err = c.StartTLS(srv.ClientTLSConfig())
	var tpe *textproto.Error
	if !errors.As(err, &tpe) || tpe.Code != 502 || !strings.HasPrefix(tpe.Msg, "5.5.1") {
		t.Fatalf("StartTLS error %v, want 502 5.5.1", err)
	}
}

func TestTLSFaultMisuse(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		fault Fault
	}{
		{"two TLS failures", At(StageStartTLS).ExpiredCertificate().AbortHandshake()},
		{"TLS failure at another stage", At(StageMail).ExpiredCertificate()},
		{"TLS failure at connect without implicit TLS", At(StageConnect).ExpiredCertificate()},
		{"TLS failure at connect with a reply", At(StageConnect).ExpiredCertificate().Reply(421, "4.3.2 not now")},
		{"unknown TLS version", At(StageStartTLS).TLSVersion(0x0200)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := New(WithSTARTTLS(), WithFault(tt.fault))
			if err == nil {
				srv.Close()
				t.Fatal("New succeeded, want an error")
			}
			if !strings.HasPrefix(err.Error(), "mocksmtp: ") || !strings.Contains(err.Error(), "tls_test.go:") {
				t.Errorf("error %q, want the mocksmtp: prefix and where the fault was declared", err)
			}
		})
	}
}

// AddFault refuses, with an error and without adding any, a fault the
// server cannot play; ReplaceFaults then leaves the script as it was.
func TestAddFaultRefuses(t *testing.T) {
	t.Parallel()
	starttls, implicit := Start(t, WithSTARTTLS()), Start(t, WithImplicitTLS())
	f := At(StageConnect).AbortHandshake()
	if err := starttls.AddFault(f); err == nil || !strings.Contains(err.Error(), "WithImplicitTLS") {
		t.Errorf("AddFault on a STARTTLS server = %v, want an error naming WithImplicitTLS", err)
	}
	if err := starttls.AddFault(At(StageMail).Reply(451, "4.3.0 later"), f); err == nil {
		t.Error("AddFault accepted a fault the server cannot play after a good one")
	}
	if err := starttls.ReplaceFaults(f); err == nil {
		t.Error("ReplaceFaults accepted a fault the server cannot play")
	}
	if err := implicit.AddFault(f, At(StageMail).Reply(451, "later")); err != nil {
		t.Errorf("AddFault on an implicit TLS server = %v", err)
	}
	if err := implicit.AddFault(At(StageMail)); err == nil {
		t.Error("AddFault accepted a fault without an action")
	}
	// Nothing was added to the STARTTLS server's script.
	w := dialWire(t, starttls.Addr(), nil)
	w.cmd("EHLO client.example", "250")
	w.cmd("MAIL FROM:<a@example.com>", "250")
	w.cmd("QUIT", "221")
}
