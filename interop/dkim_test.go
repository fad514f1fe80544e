package interop

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	gomail "github.com/wneessen/go-mail"

	"github.com/mocksmtp/mocksmtp"
)

// This file checks that mocksmtp verifies the DKIM signatures real
// signers make: go-mail's DKIM middleware (its own signer) and
// nodemailer's dkim option.

// newRSAKey returns a new 2048-bit RSA key.
func newRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// dkimSummary returns the messages' DKIM results as strings, and the
// message's DKIM findings.
func dkimSummary(m *mocksmtp.Message) (results, findings []string) {
	for _, r := range m.DKIM {
		results = append(results, r.String())
	}
	for _, f := range m.Findings {
		if f.Rule == mocksmtp.RuleDKIM {
			findings = append(findings, f.Text)
		}
	}
	return results, findings
}

// TestGoMailDKIM sends mail signed by go-mail's DKIM middleware, with RSA
// and Ed25519 keys, simple and relaxed canonicalization, a plain and a
// multipart mail, and with go-mail's body length limit (l=), which
// mocksmtp reports as the mistake it is.
func TestGoMailDKIM(t *testing.T) {
	t.Parallel()
	rsaKey := newRSAKey(t)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		key      crypto.Signer
		mail     mailSpec
		setup    func(*gomail.DKIMSigner)
		want     string // the result, as DKIMResult.String prints it
		findings []string
	}{
		{"RSA, relaxed", rsaKey, plainMail(), func(s *gomail.DKIMSigner) {
			s.HeaderCanonicalization(gomail.CanonicalizationRelaxed)
			s.BodyCanonicalization(gomail.CanonicalizationRelaxed)
		}, "dkim=pass header.d=example.com header.s=gomail header.a=rsa-sha256", nil},
		{"RSA, simple, multipart", rsaKey, multipartMail(true), nil,
			"dkim=pass header.d=example.com header.s=gomail header.a=rsa-sha256", nil},
		{"Ed25519, relaxed, multipart", edKey, multipartMail(true), func(s *gomail.DKIMSigner) {
			s.HeaderCanonicalization(gomail.CanonicalizationRelaxed)
			s.BodyCanonicalization(gomail.CanonicalizationRelaxed)
		}, "dkim=pass header.d=example.com header.s=gomail header.a=ed25519-sha256", nil},
		{"RSA, an identifier", rsaKey, plainMail(), func(s *gomail.DKIMSigner) { s.AUID("alice@example.com") },
			"dkim=pass header.d=example.com header.s=gomail header.i=alice@example.com header.a=rsa-sha256", nil},
		{"RSA, l= body length", rsaKey, plainMail(), func(s *gomail.DKIMSigner) { s.Bodylength(10) },
			"dkim=fail (l= body length tag: what follows that many octets of the body is not signed [RFC 6376 8.2]) header.d=example.com header.s=gomail header.a=rsa-sha256",
			[]string{"DKIM signature 1 (d=example.com s=gomail) fail: l= body length tag: what follows that many octets of the body is not signed (RFC 6376 8.2)"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, mocksmtp.WithDKIMKey("example.com", "gomail", tt.key.Public()))
			msg, err := goMailMessage(tt.mail)
			if err != nil {
				t.Fatal(err)
			}
			signer := gomail.NewDKIMSigner("example.com", "gomail", tt.key)
			if tt.setup != nil {
				tt.setup(signer)
			}
			msg.SetDKIM(signer)
			c, err := gomail.NewClient(h.srv.Host(), gomail.WithPort(h.srv.Port()), gomail.WithTLSPolicy(gomail.NoTLS),
				gomail.WithTimeout(30*time.Second), gomail.WithHELO("client.example"))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.DialAndSendWithContext(t.Context(), msg); err != nil {
				t.Fatalf("DialAndSend: %v", err)
			}
			m := h.message(t)
			checkMessage(t, tt.mail, m)
			results, findings := dkimSummary(m)
			if diff := cmp.Diff([]string{tt.want}, results); diff != "" {
				t.Errorf("DKIM results (-want +got):\n%s\n%s", diff, m.Raw)
			}
			if diff := cmp.Diff(tt.findings, findings); diff != "" {
				t.Errorf("DKIM findings (-want +got):\n%s", diff)
			}
			h.session(t)
		})
	}
}

// TestNodemailerDKIM sends mail signed by nodemailer's dkim option (RSA,
// relaxed), plain and multipart.
func TestNodemailerDKIM(t *testing.T) {
	t.Parallel()
	node := needNodemailer(t)
	key := newRSAKey(t)
	keyFile := writeTemp(t, "dkim.pem", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	for _, tc := range []struct {
		name string
		mail mailSpec
	}{
		{"plain", plainMail()},
		{"multipart", multipartMail(true)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, mocksmtp.WithDKIMKey("example.com", "node", &key.PublicKey))
			spec, err := json.Marshal(tc.mail)
			if err != nil {
				t.Fatal(err)
			}
			out, err := runProgram(t, spec, node, "node/send.js", h.srv.Host(), strconv.Itoa(h.srv.Port()), "--dkim", "example.com:node:"+keyFile)
			if err != nil {
				t.Fatalf("send.js: %v\n%s", err, out)
			}
			m := h.message(t)
			checkMessage(t, tc.mail, m)
			results, findings := dkimSummary(m)
			if len(results) != 1 || !strings.HasPrefix(results[0], "dkim=pass header.d=example.com header.s=node header.a=rsa-sha256") || findings != nil {
				t.Errorf("DKIM results %q, findings %q: want one pass for example.com\n%s", results, findings, m.Raw)
			}
			h.session(t)
		})
	}
}
