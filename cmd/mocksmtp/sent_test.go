package main

// The cost of a message's "sent" (sessions.go) in a list of messages.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log/slog"
	"math/big"
	"net/http/httptest"
	"net/smtp"
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/internal/testcert"
)

// sentWithCertificates has a client send n messages in one session to a
// server that requires a client certificate (-client-ca): after STARTTLS
// presenting its own certificate and extra more (a client may present
// as many as fit in a TLS handshake), or in plaintext when extra is -1.
// It returns the server, closed: its messages stay readable.
func sentWithCertificates(tb testing.TB, n, extra int) *mocksmtp.Server {
	tb.Helper()
	certPEM, keyPEM, roots, err := testcert.SelfSigned()
	if err != nil {
		tb.Fatal(err)
	}
	srvCert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		tb.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	var chain [][]byte
	pool := x509.NewCertPool()
	for i := range max(extra, 0) + 1 {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(i + 2)),
			Subject:      pkix.Name{CommonName: fmt.Sprintf("client %d", i), Organization: []string{"Example"}},
			NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			BasicConstraintsValid: true, IsCA: true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			tb.Fatal(err)
		}
		if i == 0 {
			c, err := x509.ParseCertificate(der)
			if err != nil {
				tb.Fatal(err)
			}
			pool.AddCert(c)
		}
		chain = append(chain, der)
	}
	srv, err := mocksmtp.New(mocksmtp.WithListenAddr("127.0.0.1:0"), mocksmtp.WithTLSConfig(&tls.Config{
		Certificates: []tls.Certificate{srvCert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}))
	if err != nil {
		tb.Fatal(err)
	}
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	if extra >= 0 {
		cert := tls.Certificate{Certificate: chain, PrivateKey: key}
		if err := c.StartTLS(&tls.Config{RootCAs: roots, ServerName: "127.0.0.1", Certificates: []tls.Certificate{cert}}); err != nil {
			tb.Fatal(err)
		}
	}
	for range n {
		if err := sendOn(c, "a@example.com", "b@example.com", "Subject: x\r\n\r\nhello\r\n"); err != nil {
			tb.Fatal(err)
		}
	}
	if err := c.Quit(); err != nil {
		tb.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		tb.Fatal(err)
	}
	return srv
}

// Listing the messages a client sent under mutual TLS costs, per
// message, what listing those it sent in plaintext does: each message's
// sent.tls names the client's certificates, but those of one TLS state
// are hashed and formatted once per list, not once per message. A
// client presenting 50 certificates made each message of GET
// /api/messages cost some 1,500 allocations more (and 50 SHA-256 sums,
// 100 names formatted): a list of 500 such messages took 30-50 times
// as long as in plaintext. Not parallel: allocations count process-wide.
func TestListingMessagesSentOverMutualTLSCostsNoMorePerMessage(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	const n = 20
	// perMessage is what each message of the second half of a list
	// adds to listing the first half.
	perMessage := func(srv *mocksmtp.Server) float64 {
		ms := srv.Messages()
		if len(ms) != n {
			t.Fatalf("%d messages, want %d", len(ms), n)
		}
		all := testing.AllocsPerRun(20, func() { messagesJSON(ms) })
		half := testing.AllocsPerRun(20, func() { messagesJSON(ms[:n/2]) })
		return (all - half) / (n - n/2)
	}
	plain := perMessage(sentWithCertificates(t, n, -1))
	chained := perMessage(sentWithCertificates(t, n, 50))
	if chained > plain+1 {
		t.Errorf("listing messages: %.1f allocations per message sent with a client certificate and 50 more, %.1f per message sent in plaintext; want the same", chained, plain)
	}
}

// BenchmarkListMessagesSent is GET /api/messages of 500 messages, sent in
// one session in plaintext or under mutual TLS with a client that
// presents its certificate and extra more.
func BenchmarkListMessagesSent(b *testing.B) {
	const n = 500
	for _, extra := range []int{-1, 0, 100} {
		b.Run(fmt.Sprintf("extra=%d", extra), func(b *testing.B) {
			a := newAPI(sentWithCertificates(b, n, extra), slog.New(slog.DiscardHandler), false)
			var size int
			for b.Loop() {
				rec := httptest.NewRecorder()
				a.ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1/api/messages", nil))
				if rec.Code != 200 {
					b.Fatalf("GET /api/messages: %d %.200s", rec.Code, rec.Body)
				}
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/message")
			b.ReportMetric(float64(size)/n, "B/message-JSON")
		})
	}
}
