package interop

// Mutual TLS with the program: -client-ca requires a client certificate
// that its CA signs. Real clients present one over STARTTLS (-tls) and
// over implicit TLS (-implicit-tls); without one, they must fail with
// nothing recorded.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/go-cmp/cmp"
)

// mtlsFiles are the PEM files of a mutual TLS setup, in a temporary
// directory of the test: one CA that signs the server's certificate
// (for 127.0.0.1) and the client's.
type mtlsFiles struct {
	ca                    string // the CA certificate: -client-ca, and the clients' trust
	serverCert, serverKey string // -cert, -key
	clientCert, clientKey string // what the clients present
	caCert, client        *x509.Certificate
}

// newMTLSFiles makes a CA, a server and a client certificate (ECDSA
// P-256: fast to make) and writes them to t.TempDir().
func newMTLSFiles(t *testing.T) *mtlsFiles {
	t.Helper()
	now := time.Now()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Interop mTLS CA", Organization: []string{"mocksmtp interop"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(serial int64, subject pkix.Name, usage x509.ExtKeyUsage, ips []net.IP, dns []string) ([]byte, *ecdsa.PrivateKey) {
		key := newKey(t)
		der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      subject,
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  ips,
			DNSNames:     dns,
		}, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	serverDER, serverKey := leaf(2, pkix.Name{CommonName: "localhost"}, x509.ExtKeyUsageServerAuth,
		[]net.IP{net.IPv4(127, 0, 0, 1)}, []string{"localhost"})
	clientDER, clientKey := leaf(3, pkix.Name{CommonName: "app.client.example", Organization: []string{"Example Clients"}},
		x509.ExtKeyUsageClientAuth, nil, nil)
	client, err := x509.ParseCertificate(clientDER)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	keyDER := func(k *ecdsa.PrivateKey) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	return &mtlsFiles{
		ca:         write("ca.pem", "CERTIFICATE", caDER),
		serverCert: write("server.pem", "CERTIFICATE", serverDER),
		serverKey:  write("server.key", "PRIVATE KEY", keyDER(serverKey)),
		clientCert: write("client.pem", "CERTIFICATE", clientDER),
		clientKey:  write("client.key", "PRIVATE KEY", keyDER(clientKey)),
		caCert:     ca,
		client:     client,
	}
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// mtlsClient is how one client sends plainMail to the program at
// host:port over TLS as mode says, trusting f.ca, presenting f's client
// certificate when withCert: a program and its arguments, and its stdin.
type mtlsClient struct {
	name    string
	modes   []tlsMode // the TLS modes it speaks
	program func(t *testing.T) string
	args    func(t *testing.T, f *mtlsFiles, host, port string, mode tlsMode, withCert bool) (args []string, stdin []byte)
}

var mtlsClients = []mtlsClient{
	{
		name:    "curl",
		modes:   []tlsMode{starttls, implicitTLS},
		program: func(t *testing.T) string { return needProgram(t, "curl", "apt-get install curl") },
		args: func(t *testing.T, f *mtlsFiles, host, port string, mode tlsMode, withCert bool) ([]string, []byte) {
			m := plainMail()
			scheme, more := "smtps", []string{}
			if mode == starttls {
				scheme, more = "smtp", []string{"--ssl-reqd"}
			}
			more = append(more, "--cacert", f.ca, "--upload-file", writeTemp(t, "mail.eml", buildMIME(m)))
			if withCert {
				more = append(more, "--cert", f.clientCert, "--key", f.clientKey)
			}
			return curlArgs(fmt.Sprintf("%s://%s/client.example", scheme, net.JoinHostPort(host, port)), m, more...), nil
		},
	},
	{
		name:    "swaks",
		modes:   []tlsMode{starttls, implicitTLS},
		program: func(t *testing.T) string { return needProgram(t, "swaks", "apt-get install swaks") },
		args: func(t *testing.T, f *mtlsFiles, host, port string, mode tlsMode, withCert bool) ([]string, []byte) {
			m := plainMail()
			args := []string{"--server", host, "--port", port, "--helo", "client.example", "--timeout", "20",
				"--from", m.From, "--to", strings.Join(m.To, ","), "--header", "Subject: " + m.Subject, "--body", m.Text,
				"--tls-verify", "--tls-ca-path", f.ca}
			if mode == starttls {
				args = append(args, "--tls")
			} else {
				args = append(args, "--tls-on-connect")
			}
			if withCert {
				args = append(args, "--tls-cert", f.clientCert, "--tls-key", f.clientKey)
			}
			return args, nil
		},
	},
	{
		name:    "msmtp",
		modes:   []tlsMode{starttls, implicitTLS},
		program: func(t *testing.T) string { return needProgram(t, "msmtp", "apt-get install msmtp") },
		args: func(t *testing.T, f *mtlsFiles, host, port string, mode tlsMode, withCert bool) ([]string, []byte) {
			m := plainMail()
			startTLS := "on"
			if mode == implicitTLS {
				startTLS = "off"
			}
			conf := fmt.Sprintf("account default\nhost %s\nport %s\nauth off\ntls on\ntls_starttls %s\ntls_trust_file %s\n"+
				"timeout 20\ndomain client.example\nsyslog off\n", host, port, startTLS, f.ca)
			if withCert {
				conf += fmt.Sprintf("tls_cert_file %s\ntls_key_file %s\n", f.clientCert, f.clientKey)
			}
			return append([]string{"-C", writeTemp(t, "msmtprc", []byte(conf)), "-f", m.From, "--"}, m.To...), buildMIME(m)
		},
	},
	{
		name:    "python smtplib",
		modes:   []tlsMode{starttls, implicitTLS},
		program: func(t *testing.T) string { return needProgram(t, "python3", "apt-get install python3") },
		args: func(t *testing.T, f *mtlsFiles, host, port string, mode tlsMode, withCert bool) ([]string, []byte) {
			args := []string{"testdata/send.py", host, port, "--cafile", f.ca}
			if mode == starttls {
				args = append(args, "--starttls")
			} else {
				args = append(args, "--ssl")
			}
			if withCert {
				args = append(args, "--certfile", f.clientCert, "--keyfile", f.clientKey)
			}
			return args, mailJSON(t, plainMail())
		},
	},
	{
		name:    "nodemailer",
		modes:   []tlsMode{starttls, implicitTLS},
		program: needNodemailer,
		args: func(t *testing.T, f *mtlsFiles, host, port string, mode tlsMode, withCert bool) ([]string, []byte) {
			args := []string{"node/send.js", host, port, "--ca", f.ca}
			if mode == starttls {
				args = append(args, "--starttls")
			} else {
				args = append(args, "--secure")
			}
			if withCert {
				args = append(args, "--cert", f.clientCert, "--key", f.clientKey)
			}
			return args, mailJSON(t, plainMail())
		},
	},
}

// mailJSON is m as send.py and send.js read it.
func mailJSON(t *testing.T, m mailSpec) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestProgramClientCertificate sends with each client through the
// program started with -client-ca, over STARTTLS and implicit TLS: with
// the client certificate the mail is recorded and the session's JSON
// names the certificate (subject, issuer, SHA-256 of its DER); without
// one the client fails, the session ends in a failed handshake, and no
// message is recorded.
func TestProgramClientCertificate(t *testing.T) {
	t.Parallel()
	for _, c := range mtlsClients {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			path := c.program(t)
			for _, mode := range c.modes {
				for _, withCert := range []bool{true, false} {
					name := map[tlsMode]string{starttls: "STARTTLS", implicitTLS: "implicit TLS"}[mode]
					if !withCert {
						name += ", no certificate"
					}
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						f := newMTLSFiles(t)
						p := startMTLSProgram(t, f, mode)
						host, port, err := net.SplitHostPort(p.smtp)
						if err != nil {
							t.Fatal(err)
						}
						args, stdin := c.args(t, f, host, port, mode, withCert)
						out, err := runProgram(t, stdin, path, args...)
						if withCert {
							if err != nil {
								t.Fatalf("%s: %v\n%s", c.name, err, out)
							}
							checkClientCertSession(t, p, f, "TLS 1.3")
							return
						}
						if err == nil {
							t.Errorf("%s succeeded without a client certificate, want it to fail\n%s", c.name, out)
						}
						checkNoClientCertSession(t, p)
					})
				}
			}
		})
	}
}

// startMTLSProgram starts the program with f's server certificate,
// requiring a client certificate of f's CA, with TLS as mode says.
func startMTLSProgram(t *testing.T, f *mtlsFiles, mode tlsMode) *program {
	t.Helper()
	flag := "-tls"
	if mode == implicitTLS {
		flag = "-implicit-tls"
	}
	p := startProgram(t, "-cert", f.serverCert, "-key", f.serverKey, "-client-ca", f.ca, flag)
	res, body := p.call(t, "GET", "/api/server", "")
	var server struct {
		TLS *struct {
			Mode               string `json:"mode"`
			ClientCertRequired bool   `json:"clientCertRequired"`
		} `json:"tls"`
	}
	if err := json.Unmarshal(body, &server); res.StatusCode != 200 || err != nil {
		t.Fatalf("GET /api/server: %s, %v\n%s", res.Status, err, body)
	}
	wantMode := map[tlsMode]string{starttls: "starttls", implicitTLS: "implicit"}[mode]
	if server.TLS == nil || server.TLS.Mode != wantMode || !server.TLS.ClientCertRequired {
		t.Errorf("GET /api/server: tls %+v, want mode %q with clientCertRequired\n%s", server.TLS, wantMode, body)
	}
	return p
}

// mtlsSession is a session as GET /api/wait/sessions lists it, the
// fields these tests look at.
type mtlsSession struct {
	Ended string `json:"ended"`
	TLS   *struct {
		Version          string            `json:"version"`
		PeerCertificates []certificateJSON `json:"peerCertificates"`
	} `json:"tls"`
	MessageIDs []int  `json:"messageIds"`
	Error      string `json:"error"`
}

// certificateJSON is a certificate in a session's tls.peerCertificates.
type certificateJSON struct {
	Subject string `json:"subject"`
	Issuer  string `json:"issuer"`
	SHA256  string `json:"sha256"`
}

// endedSession waits for the program's only session to end and returns
// it.
func endedSession(t *testing.T, p *program) mtlsSession {
	t.Helper()
	res, body := p.call(t, "GET", "/api/wait/sessions?count=1&timeout=10s", "")
	var sessions []mtlsSession
	if err := json.Unmarshal(body, &sessions); res.StatusCode != 200 || err != nil {
		t.Fatalf("GET /api/wait/sessions: %s, %v\n%s", res.Status, err, body)
	}
	if len(sessions) != 1 {
		t.Fatalf("GET /api/wait/sessions: %d sessions, want 1\n%s", len(sessions), body)
	}
	return sessions[0]
}

// checkClientCertSession checks that the program recorded one message in
// one session over TLS version ("TLS 1.3") that shows f's client
// certificate.
func checkClientCertSession(t *testing.T, p *program, f *mtlsFiles, version string) {
	t.Helper()
	s := endedSession(t, p)
	if s.TLS == nil {
		t.Fatalf("the session has no tls: %+v", s)
	}
	if s.TLS.Version != version {
		t.Errorf("tls.version %q, want %s", s.TLS.Version, version)
	}
	want := []certificateJSON{{
		Subject: "CN=app.client.example,O=Example Clients",
		Issuer:  "CN=Interop mTLS CA,O=mocksmtp interop",
		SHA256:  fingerprint(f.client),
	}}
	// Clients on OpenSSL (curl, swaks, Python, node) send the chain they
	// build from their trust store, the CA after the client's own;
	// msmtp on GnuTLS sends only its own.
	if len(s.TLS.PeerCertificates) == 2 {
		want = append(want, certificateJSON{
			Subject: "CN=Interop mTLS CA,O=mocksmtp interop",
			Issuer:  "CN=Interop mTLS CA,O=mocksmtp interop",
			SHA256:  fingerprint(f.caCert),
		})
	}
	if diff := cmp.Diff(want, s.TLS.PeerCertificates); diff != "" {
		t.Errorf("tls.peerCertificates (-want +got):\n%s", diff)
	}
	if len(s.MessageIDs) != 1 {
		t.Errorf("the session has messages %v, want one", s.MessageIDs)
	}
	res, body := p.call(t, "GET", "/api/messages", "")
	var msgs []struct {
		From    string   `json:"from"`
		To      []string `json:"to"`
		Subject string   `json:"subject"`
	}
	if err := json.Unmarshal(body, &msgs); res.StatusCode != 200 || err != nil {
		t.Fatalf("GET /api/messages: %s, %v\n%s", res.Status, err, body)
	}
	m := plainMail()
	if len(msgs) != 1 || msgs[0].From != m.From || !slices.Equal(msgs[0].To, m.To) || msgs[0].Subject != m.Subject {
		t.Errorf("GET /api/messages: %+v, want one message from %s to %v, %q", msgs, m.From, m.To, m.Subject)
	}
}

// fingerprint is the SHA-256 of c's DER in lower-case hex.
func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// checkNoClientCertSession checks that the session of a client without a
// certificate ended in a handshake the server failed for want of one,
// and that nothing was recorded.
func checkNoClientCertSession(t *testing.T, p *program) {
	t.Helper()
	s := endedSession(t, p)
	if s.Ended != "TLS handshake failed" || len(s.MessageIDs) != 0 {
		t.Errorf("session ended %q with messages %v, want \"TLS handshake failed\" and none", s.Ended, s.MessageIDs)
	}
	if !strings.Contains(s.Error, "client didn't provide a certificate") {
		t.Errorf("session error %q, want the missing client certificate", s.Error)
	}
	res, body := p.call(t, "GET", "/api/messages", "")
	if res.StatusCode != 200 || strings.TrimSpace(string(body)) != "[]" {
		t.Errorf("GET /api/messages: %s %s, want 200 []", res.Status, body)
	}
}

// TestProgramClientCertificateUnderTLSFault sends with curl through the
// program with -client-ca while a TLS fault acts on the handshake: with
// "tlsVersion" 1.2 (an old server, with -cert's certificate) curl
// presenting its certificate sends over TLS 1.2; with "tlsVersion" and
// "wrongHostCertificate", curl without a certificate that does not check
// the server's (--insecure) fails, and nothing is recorded. The faults
// gave the handshake the test certificate and no client CA: curl trusting
// -cert's CA failed, and curl without a certificate sent.
func TestProgramClientCertificateUnderTLSFault(t *testing.T) {
	t.Parallel()
	curl := needProgram(t, "curl", "apt-get install curl")
	for _, tc := range []struct {
		name     string
		fault    string
		withCert bool
	}{
		{"tlsVersion 1.2, with the certificate", `{"at": "starttls", "tlsVersion": "1.2"}`, true},
		{"tlsVersion 1.2, without", `{"at": "starttls", "tlsVersion": "1.2"}`, false},
		{"wrongHostCertificate, without", `{"at": "starttls", "wrongHostCertificate": true}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newMTLSFiles(t)
			p := startMTLSProgram(t, f, starttls)
			if res, body := p.call(t, "PUT", "/api/faults", "["+tc.fault+"]"); res.StatusCode != 200 {
				t.Fatalf("PUT /api/faults: %s\n%s", res.Status, body)
			}
			m := plainMail()
			args := []string{"--ssl-reqd", "--upload-file", writeTemp(t, "mail.eml", buildMIME(m))}
			if tc.withCert {
				args = append(args, "--cacert", f.ca, "--cert", f.clientCert, "--key", f.clientKey)
			} else {
				args = append(args, "--insecure")
			}
			out, err := runProgram(t, nil, curl, curlArgs(fmt.Sprintf("smtp://%s/client.example", p.smtp), m, args...)...)
			if !tc.withCert {
				if err == nil {
					t.Errorf("curl succeeded without a client certificate, want it to fail\n%s", out)
				}
				checkNoClientCertSession(t, p)
				return
			}
			if err != nil {
				t.Fatalf("curl: %v\n%s", err, out)
			}
			checkClientCertSession(t, p, f, "TLS 1.2")
		})
	}
}

// TestProgramClientCertificateOpenAPI validates what the program says of
// a session whose client presented a certificate (curl, which sends the
// CA after its own) and of its mutual TLS setup against the program's
// OpenAPI document: GET /api/sessions, /api/sessions/1,
// /api/wait/sessions and /api/server.
func TestProgramClientCertificateOpenAPI(t *testing.T) {
	t.Parallel()
	curl := needProgram(t, "curl", "apt-get install curl")
	f := newMTLSFiles(t)
	p := startMTLSProgram(t, f, implicitTLS)
	m := plainMail()
	out, err := runProgram(t, nil, curl, curlArgs(fmt.Sprintf("smtps://%s/client.example", p.smtp), m,
		"--cacert", f.ca, "--cert", f.clientCert, "--key", f.clientKey, "--upload-file", writeTemp(t, "mail.eml", buildMIME(m)))...)
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	checkClientCertSession(t, p, f, "TLS 1.3")

	res, raw := p.call(t, "GET", "/api/openapi.json", "")
	if res.StatusCode != 200 {
		t.Fatalf("GET /api/openapi.json: %s", res.Status)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		t.Fatalf("loading the document: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: "http://" + p.http}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/sessions", "/api/sessions/1", "/api/wait/sessions?count=1&timeout=5s", "/api/server"} {
		req, err := http.NewRequestWithContext(t.Context(), "GET", "http://"+p.http+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatalf("GET %s: not in the document: %v", path, err)
		}
		res, body := p.call(t, "GET", path, "")
		var compact bytes.Buffer
		if err := json.Compact(&compact, body); err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, body)
		}
		want := `"peerCertificates":[{"subject":"CN=app.client.example,O=Example Clients"`
		if path == "/api/server" {
			want = `"clientCertRequired":true`
		}
		if !strings.Contains(compact.String(), want) {
			t.Errorf("GET %s: no client certificate in it:\n%s", path, body)
		}
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
			Status:                 res.StatusCode, Header: res.Header,
			Options: &openapi3filter.Options{IncludeResponseStatus: true},
		}
		in.SetBodyBytes(body)
		if err := openapi3filter.ValidateResponse(t.Context(), in); err != nil {
			t.Errorf("GET %s: the %d response does not match the document: %v\n%s", path, res.StatusCode, err, body)
		}
	}
}
