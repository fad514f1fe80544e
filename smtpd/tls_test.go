package smtpd_test

import (
	"bufio"
	"crypto/tls"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp/internal/testcert"
	"github.com/mocksmtp/mocksmtp/smtpd"
)

// selfSigned returns a server configuration with a self-signed
// certificate for localhost, and a client configuration that trusts it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	certPEM, keyPEM, pool, err := testcert.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}, &tls.Config{RootCAs: pool, ServerName: "localhost"}
}

// TestImplicitTLSConnect checks the Connect event of implicit TLS: by
// default the handshake follows with Config.TLSConfig, then the greeting;
// the driver's answer can give the handshake another configuration, or
// write plaintext and close before it.
func TestImplicitTLSConnect(t *testing.T) {
	t.Parallel()
	serverCfg, clientCfg := selfSigned(t)
	tls12 := serverCfg.Clone()
	tls12.MaxVersion = tls.VersionTLS12
	for _, tc := range []struct {
		name    string
		answer  *smtpd.Answer // to Connect; nil for the default
		kinds   []smtpd.Kind  // the events the driver sees
		client  string        // what the client gets: the greeting, a handshake error, plaintext
		wantErr error         // how the driver's session ends
	}{
		{"default", nil, []smtpd.Kind{smtpd.Connect, smtpd.Handshake, smtpd.Greeting}, "220 localhost ESMTP ready", nil},
		{"another TLS configuration", &smtpd.Answer{TLSConfig: tls12}, []smtpd.Kind{smtpd.Connect}, "handshake error", smtpd.ErrTLSHandshake},
		{"plaintext and close", &smtpd.Answer{Reply: &smtpd.Reply{Code: 421, Lines: []string{"no TLS here"}}, Then: smtpd.CloseConn},
			[]smtpd.Kind{smtpd.Connect}, "421 4.0.0 no TLS here", smtpd.ErrDriverClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var kinds []smtpd.Kind
			cfg := smtpd.Config{ImplicitTLS: true, TLSConfig: serverCfg, Banner: "ESMTP ready"}
			c, wait := drive(t, cfg, func(c *smtpd.Conn, ev *smtpd.Event) {
				mu.Lock()
				kinds = append(kinds, ev.Kind)
				mu.Unlock()
				if ev.Kind == smtpd.Connect && tc.answer != nil {
					c.Answer(*tc.answer)
				}
			})
			var got string
			if tc.answer != nil && tc.answer.Reply != nil {
				l, err := c.r.ReadString('\n')
				if err != nil {
					t.Fatal(err)
				}
				got = strings.TrimSuffix(l, "\r\n")
			} else {
				cfg := clientCfg.Clone()
				cfg.MinVersion = tls.VersionTLS13
				tc := tls.Client(c.conn, cfg)
				if err := tc.Handshake(); err != nil {
					got = "handshake error"
				} else {
					l, err := bufio.NewReader(tc).ReadString('\n')
					if err != nil {
						t.Fatal(err)
					}
					got = strings.TrimSuffix(l, "\r\n")
				}
			}
			if got != tc.client {
				t.Errorf("client got %q, want %q", got, tc.client)
			}
			c.conn.Close()
			if err := wait(); tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("driver ended with %v, want %v", err, tc.wantErr)
			}
			mu.Lock()
			defer mu.Unlock()
			if diff := cmp.Diff(tc.kinds, kinds); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}
