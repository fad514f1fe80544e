package interop

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"
	gomail "github.com/wneessen/go-mail"

	"github.com/mocksmtp/mocksmtp"
)

// This file tests the AUTH mechanisms beyond PLAIN, LOGIN and CRAM-MD5
// with the clients that speak them: XOAUTH2, OAUTHBEARER, SCRAM-SHA-1,
// SCRAM-SHA-256 and their -PLUS forms.

// authToken is the OAuth 2.0 access token of authUser: long enough that
// finding it in a transcript cannot be chance.
const authToken = "ya29.a0Interop-Token_0123456789"

// allMechanisms is every mechanism the server implements, strongest
// first.
var allMechanisms = []mocksmtp.AuthMechanism{
	mocksmtp.AuthSCRAMSHA256PLUS, mocksmtp.AuthSCRAMSHA256, mocksmtp.AuthSCRAMSHA1PLUS, mocksmtp.AuthSCRAMSHA1,
	mocksmtp.AuthXOAUTH2, mocksmtp.AuthOAUTHBEARER, mocksmtp.AuthCRAMMD5, mocksmtp.AuthPlain, mocksmtp.AuthLogin,
}

// startAllMechanisms starts a server with STARTTLS offering every
// mechanism for authUser, with authPass and authToken, then more options.
func startAllMechanisms(t *testing.T, more ...mocksmtp.Option) *harness {
	t.Helper()
	return startTLSAuth(t, starttls, allMechanisms, append([]mocksmtp.Option{mocksmtp.WithOAuthToken(authUser, authToken)}, more...)...)
}

// checkAuthFailed checks a session whose AUTH with mechanism was refused:
// recorded as a failure for authUser, no message, no secret in the
// transcript.
func checkAuthFailed(t *testing.T, h *harness, s *mocksmtp.Session, mechanism mocksmtp.AuthMechanism) {
	t.Helper()
	want := &mocksmtp.AuthInfo{Mechanism: mechanism, Username: authUser}
	if diff := cmp.Diff(want, s.Auth); diff != "" {
		t.Errorf("Session.Auth (-want +got):\n%s\n%s", diff, s.Transcript.Numbered())
	}
	if msgs := h.srv.Messages(); len(msgs) != 0 {
		t.Errorf("recorded %d messages, want none", len(msgs))
	}
	checkMasked(t, s)
}

// errorChallenge returns the decoded JSON error challenge of the
// transcript, or "".
func errorChallenge(s *mocksmtp.Session) string {
	for _, l := range s.Transcript {
		if l.Dir != mocksmtp.FromServer || !strings.HasPrefix(l.Text, "334 ") {
			continue
		}
		if b, err := base64.StdEncoding.DecodeString(l.Text[4:]); err == nil && json.Valid(b) {
			return string(b)
		}
	}
	return ""
}

// TestGoMailAuthMechanisms logs in with each mechanism go-mail speaks
// beyond PLAIN, LOGIN and CRAM-MD5, over STARTTLS (TLS 1.3, where its
// -PLUS binds with tls-exporter, and TLS 1.2, where it binds with
// tls-unique), and with its own choice.
func TestGoMailAuthMechanisms(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		auth     gomail.SMTPAuthType
		password string // authPass when ""
		tls12    bool
		wantMech mocksmtp.AuthMechanism // "" when the login must fail
	}{
		{"XOAUTH2", gomail.SMTPAuthXOAUTH2, authToken, false, mocksmtp.AuthXOAUTH2},
		{"SCRAM-SHA-1", gomail.SMTPAuthSCRAMSHA1, "", false, mocksmtp.AuthSCRAMSHA1},
		{"SCRAM-SHA-256", gomail.SMTPAuthSCRAMSHA256, "", false, mocksmtp.AuthSCRAMSHA256},
		{"SCRAM-SHA-1-PLUS, tls-exporter", gomail.SMTPAuthSCRAMSHA1PLUS, "", false, mocksmtp.AuthSCRAMSHA1PLUS},
		{"SCRAM-SHA-256-PLUS, tls-exporter", gomail.SMTPAuthSCRAMSHA256PLUS, "", false, mocksmtp.AuthSCRAMSHA256PLUS},
		{"SCRAM-SHA-256-PLUS, tls-unique over TLS 1.2", gomail.SMTPAuthSCRAMSHA256PLUS, "", true, mocksmtp.AuthSCRAMSHA256PLUS},
		{"its own choice", gomail.SMTPAuthAutoDiscover, "", false, mocksmtp.AuthSCRAMSHA256PLUS},
		{"XOAUTH2, expired token", gomail.SMTPAuthXOAUTH2, "expired", false, ""},
		{"SCRAM-SHA-256, wrong password", gomail.SMTPAuthSCRAMSHA256, "wrong", false, ""},
		{"SCRAM-SHA-256-PLUS, wrong password", gomail.SMTPAuthSCRAMSHA256PLUS, "wrong", false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := startAllMechanisms(t)
			msg, err := goMailMessage(plainMail())
			if err != nil {
				t.Fatal(err)
			}
			tlsConfig := h.srv.ClientTLSConfig()
			if tt.tls12 {
				tlsConfig.MaxVersion = tls.VersionTLS12
			}
			c, err := gomail.NewClient(h.srv.Host(),
				gomail.WithPort(h.srv.Port()),
				gomail.WithTLSPolicy(gomail.TLSMandatory),
				gomail.WithTLSConfig(tlsConfig),
				gomail.WithTimeout(30*time.Second),
				gomail.WithHELO("client.example"),
				gomail.WithSMTPAuth(tt.auth),
				gomail.WithUsername(authUser),
				gomail.WithPassword(or(tt.password, authPass)),
			)
			if err != nil {
				t.Fatalf("NewClient: %v", err)
			}
			err = c.DialAndSendWithContext(t.Context(), msg)
			s := h.session(t)
			if tt.wantMech == "" {
				if err == nil || !strings.Contains(err.Error(), "535") {
					t.Errorf("DialAndSend: %v, want a 535", err)
				}
				checkAuthFailed(t, h, s, mocksmtp.AuthMechanism(tt.auth))
				if tt.auth == gomail.SMTPAuthXOAUTH2 {
					if got, want := errorChallenge(s), `{"status":"401","schemes":"bearer"}`; got != want {
						t.Errorf("error challenge %q, want %q", got, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("DialAndSend: %v\n%s", err, s.Transcript.Numbered())
			}
			checkMessage(t, plainMail(), h.message(t))
			if tt.tls12 {
				if s.TLS == nil || s.TLS.Version != tls.VersionTLS12 {
					t.Errorf("Session.TLS = %v, want TLS 1.2", s.TLS)
				}
				s.TLS.Version = tls.VersionTLS13 // for checkTLSAuth
			}
			checkTLSAuth(t, s, tt.wantMech)
			checkFindings(t, h.srv)
		})
	}
}

// TestGoSMTPOAuthBearer logs in with go-sasl's OAUTHBEARER client through
// github.com/emersion/go-smtp. On the RFC 7628 error challenge, go-sasl
// returns the JSON's status as an error and go-smtp cancels with "*".
func TestGoSMTPOAuthBearer(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, user, token string
		ok                bool
	}{
		{"with the user", authUser, authToken, true},
		{"the token alone", "", authToken, true},
		{"expired token", authUser, "expired", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := startAllMechanisms(t)
			c, err := smtp.DialStartTLS(h.srv.Addr(), h.srv.ClientTLSConfig())
			if err != nil {
				t.Fatalf("DialStartTLS: %v", err)
			}
			defer c.Close()
			c.CommandTimeout, c.SubmissionTimeout = 30*time.Second, 30*time.Second
			err = c.Auth(sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: tt.user, Token: tt.token, Host: "localhost", Port: h.srv.Port()}))
			if !tt.ok {
				var oe *sasl.OAuthBearerError
				if !errors.As(err, &oe) || oe.Status != "invalid_token" || oe.Schemes != "bearer" {
					t.Errorf("Auth error %#v, want the OAUTHBEARER error invalid_token", err)
				}
				if err := c.Quit(); err != nil {
					t.Fatal(err)
				}
				s := h.session(t)
				checkAuthFailed(t, h, s, mocksmtp.AuthOAUTHBEARER)
				if !hasReply(s, 501, "5.0.0") {
					t.Errorf("no 501 5.0.0 for the cancelled exchange:\n%s", s.Transcript.Numbered())
				}
				return
			}
			if err != nil {
				t.Fatalf("Auth: %v", err)
			}
			m := plainMail()
			if err := c.SendMail(m.From, m.To, strings.NewReader(string(buildMIME(m)))); err != nil {
				t.Fatalf("SendMail: %v", err)
			}
			if err := c.Quit(); err != nil {
				t.Fatal(err)
			}
			s := h.session(t)
			checkAuthenticatedSend(t, h, s, m, mocksmtp.AuthOAUTHBEARER)
		})
	}
}

// TestMsmtpAuthMechanisms logs in with msmtp (GNU SASL) with SCRAM and
// the bearer-token mechanisms, whose token msmtp takes as the password.
func TestMsmtpAuthMechanisms(t *testing.T) {
	t.Parallel()
	msmtp := needProgram(t, "msmtp", "apt-get install msmtp")
	for _, tt := range []struct {
		auth, password string
		wantMech       mocksmtp.AuthMechanism
		ok             bool
	}{
		{"scram-sha-1", authPass, mocksmtp.AuthSCRAMSHA1, true},
		{"scram-sha-256", authPass, mocksmtp.AuthSCRAMSHA256, true},
		{"xoauth2", authToken, mocksmtp.AuthXOAUTH2, true},
		{"oauthbearer", authToken, mocksmtp.AuthOAUTHBEARER, true},
		{"scram-sha-256", "wrong", mocksmtp.AuthSCRAMSHA256, false},
		{"xoauth2", "expired", mocksmtp.AuthXOAUTH2, false},
		{"oauthbearer", "expired", mocksmtp.AuthOAUTHBEARER, false},
	} {
		name := tt.auth
		if !tt.ok {
			name += " refused"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := startAllMechanisms(t)
			m := plainMail()
			args := msmtpArgs(t, h.srv, m, "tls on", "tls_starttls on", "tls_trust_file "+caFile(t, h.srv),
				"auth "+tt.auth, "user "+authUser, "password "+tt.password)
			out, err := runProgram(t, buildMIME(m), msmtp, args...)
			s := h.session(t)
			if !tt.ok {
				if err == nil || !strings.Contains(out, "535") {
					t.Errorf("msmtp: %v, want it to fail on 535\n%s", err, out)
				}
				checkAuthFailed(t, h, s, tt.wantMech)
				return
			}
			if err != nil {
				t.Fatalf("msmtp: %v\n%s\n%s", err, out, s.Transcript.Numbered())
			}
			checkAuthenticatedSend(t, h, s, m, tt.wantMech)
		})
	}
}

// TestCurlOAuth logs in with curl's --oauth2-bearer: OAUTHBEARER by its
// own choice, XOAUTH2 where the server offers it alone, as Microsoft 365
// does (curl 7.88 takes OAUTHBEARER whenever it is offered, whatever
// --login-options AUTH= says).
func TestCurlOAuth(t *testing.T) {
	t.Parallel()
	curl := needProgram(t, "curl", "apt-get install curl")
	for _, tt := range []struct {
		name, token string
		mech        mocksmtp.AuthMechanism // offered alone, unless OAUTHBEARER
		ok          bool
	}{
		{"OAUTHBEARER", authToken, mocksmtp.AuthOAUTHBEARER, true},
		{"XOAUTH2", authToken, mocksmtp.AuthXOAUTH2, true},
		{"OAUTHBEARER expired token", "expired", mocksmtp.AuthOAUTHBEARER, false},
		{"XOAUTH2 expired token", "expired", mocksmtp.AuthXOAUTH2, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var h *harness
			if tt.mech == mocksmtp.AuthXOAUTH2 {
				h = startTLSAuth(t, starttls, []mocksmtp.AuthMechanism{mocksmtp.AuthXOAUTH2}, mocksmtp.WithOAuthToken(authUser, authToken))
			} else {
				h = startAllMechanisms(t)
			}
			m := plainMail()
			file := writeTemp(t, "plain.eml", buildMIME(m))
			url := fmt.Sprintf("smtp://%s/client.example", h.srv.Addr())
			args := []string{"--ssl-reqd", "--cacert", caFile(t, h.srv), "--user", authUser + ":", "--oauth2-bearer", tt.token, "--upload-file", file}
			out, err := runProgram(t, nil, curl, curlArgs(url, m, args...)...)
			s := h.session(t)
			if !tt.ok {
				// curl's exit code 67: the login was denied.
				if err == nil || !strings.HasPrefix(out, "curl: (67) ") {
					t.Errorf("curl: %v, want it to fail the login\n%s", err, out)
				}
				// On XOAUTH2's error challenge, curl closes the connection.
				checkAuthFailed(t, h, s, tt.mech)
				return
			}
			if err != nil {
				t.Fatalf("curl: %v\n%s\n%s", err, out, s.Transcript.Numbered())
			}
			checkAuthenticatedSend(t, h, s, m, tt.mech)
		})
	}
}

// TestPythonSmtplibXOAUTH2 logs in with smtplib's auth("XOAUTH2", ...),
// the way Gmail's documentation shows: smtplib knows no XOAUTH2 of its
// own, but runs the exchange for the function it is given, and answers
// the error challenge with what the function returns for it.
func TestPythonSmtplibXOAUTH2(t *testing.T) {
	t.Parallel()
	python := needProgram(t, "python3", "apt-get install python3")
	for _, tt := range []struct {
		name, token string
		ok          bool
	}{
		{"good token", authToken, true},
		{"expired token", "expired", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := startAllMechanisms(t)
			m := plainMail()
			spec, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			out, err := runProgram(t, spec, python, "testdata/send.py", h.srv.Host(), strconv.Itoa(h.srv.Port()),
				"--starttls", "--cafile", caFile(t, h.srv), "--user", authUser, "--xoauth2-token", tt.token)
			s := h.session(t)
			if !tt.ok {
				if err == nil || !strings.Contains(out, "SMTPAuthenticationError: (535") {
					t.Errorf("send.py: %v, want SMTPAuthenticationError 535\n%s", err, out)
				}
				checkAuthFailed(t, h, s, mocksmtp.AuthXOAUTH2)
				if got, want := errorChallenge(s), `{"status":"401","schemes":"bearer"}`; got != want {
					t.Errorf("error challenge %q, want %q", got, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("send.py: %v\n%s", err, out)
			}
			checkAuthenticatedSend(t, h, s, m, mocksmtp.AuthXOAUTH2)
		})
	}
}

// TestNodemailerXOAUTH2 logs in with nodemailer's OAuth2 auth type, given
// an access token (and no means to renew it).
func TestNodemailerXOAUTH2(t *testing.T) {
	t.Parallel()
	node := needNodemailer(t)
	for _, tt := range []struct {
		name, token string
		ok          bool
	}{
		{"good token", authToken, true},
		{"expired token", "expired", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := startAllMechanisms(t)
			m := plainMail()
			spec, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			out, err := runProgram(t, spec, node, "node/send.js", h.srv.Host(), strconv.Itoa(h.srv.Port()),
				"--starttls", "--ca", caFile(t, h.srv), "--user", authUser, "--access-token", tt.token)
			s := h.session(t)
			if !tt.ok {
				if err == nil || !strings.Contains(out, "EAUTH") {
					t.Errorf("send.js: %v, want EAUTH\n%s", err, out)
				}
				checkAuthFailed(t, h, s, mocksmtp.AuthXOAUTH2)
				return
			}
			if err != nil {
				t.Fatalf("send.js: %v\n%s", err, out)
			}
			checkMessage(t, m, h.message(t))
			checkClean(t, s, mocksmtp.EndClientClosed)
			checkTLSAuth(t, s, mocksmtp.AuthXOAUTH2)
			checkFindings(t, h.srv, mocksmtp.RuleQuit)
		})
	}
}

// or returns s, or alt when s is "".
func or(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
