package interop

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mocksmtp/mocksmtp"
)

// TestMsmtp sends with msmtp, configured by a temporary file, the
// message on stdin. msmtp pipelines MAIL, RCPT and DATA, adds Date and
// Message-ID headers, and does not know SMTPUTF8: a UTF-8 address goes
// out without it and is refused.
func TestMsmtp(t *testing.T) {
	t.Parallel()
	msmtp := needProgram(t, "msmtp", "apt-get install msmtp")
	for _, tc := range []struct {
		name string
		mail mailSpec
	}{
		{"plain", plainMail()},
		{"multipart", multipartMail(true)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := start(t)
			out, err := runProgram(t, buildMIME(tc.mail), msmtp, msmtpArgs(t, h.srv, tc.mail)...)
			if err != nil {
				t.Fatalf("msmtp: %v\n%s", err, out)
			}
			checkMessage(t, tc.mail, h.message(t))
			checkClean(t, h.session(t), mocksmtp.EndQuit)
			checkFindings(t, h.srv)
		})
	}
	t.Run("utf8 address refused", func(t *testing.T) {
		t.Parallel()
		h := start(t)
		m := utf8Mail()
		out, err := runProgram(t, buildMIME(m), msmtp, msmtpArgs(t, h.srv, m)...)
		if err == nil {
			t.Errorf("msmtp succeeded, want it to fail on 553\n%s", out)
		}
		checkRejectedUTF8(t, h, h.session(t))
		// msmtp pipelines DATA after RCPT and, refused, closes without QUIT.
		checkFindings(t, h.srv, mocksmtp.RuleSMTPUTF8, mocksmtp.RuleQuit)
	})
}

// msmtpArgs writes a configuration for srv, with more configuration
// lines overriding the defaults (no TLS, no AUTH), and returns the
// command line that sends m through it.
func msmtpArgs(t *testing.T, srv *mocksmtp.Server, m mailSpec, more ...string) []string {
	conf := fmt.Sprintf("account default\nhost %s\nport %d\nauth off\ntls off\ntimeout 20\ndomain client.example\nsyslog off\n", srv.Host(), srv.Port())
	for _, line := range more {
		conf += line + "\n"
	}
	path := writeTemp(t, "msmtprc", []byte(conf))
	args := []string{"-C", path, "-f", m.From, "--"}
	return append(args, m.To...)
}

// TestMsmtpTLSAndAuth sends with msmtp over STARTTLS (tls_starttls on)
// and SMTPS (tls_starttls off), verifying the certificate with
// tls_trust_file, and logs in with each mechanism; left to choose over
// TLS, msmtp takes PLAIN.
func TestMsmtpTLSAndAuth(t *testing.T) {
	t.Parallel()
	msmtp := needProgram(t, "msmtp", "apt-get install msmtp")
	for _, tc := range []struct {
		name     string
		mode     tlsMode
		auth     string // the auth command's argument: "on" lets msmtp choose
		fault    *mocksmtp.Fault
		wantMech mocksmtp.AuthMechanism // "" when msmtp must refuse the certificate
	}{
		{"STARTTLS, its own choice", starttls, "on", nil, mocksmtp.AuthPlain},
		{"STARTTLS, PLAIN", starttls, "plain", nil, mocksmtp.AuthPlain},
		{"STARTTLS, LOGIN", starttls, "login", nil, mocksmtp.AuthLogin},
		{"SMTPS, CRAM-MD5", implicitTLS, "cram-md5", nil, mocksmtp.AuthCRAMMD5},
		{"untrusted certificate refused", starttls, "on", ptr(mocksmtp.At(mocksmtp.StageStartTLS).UntrustedCertificate()), ""},
		{"wrong host certificate refused", starttls, "on", ptr(mocksmtp.At(mocksmtp.StageStartTLS).WrongHostCertificate()), ""},
		{"SMTPS, expired certificate refused", implicitTLS, "on", ptr(mocksmtp.At(mocksmtp.StageConnect).ExpiredCertificate()), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var more []mocksmtp.Option
			if tc.fault != nil {
				more = append(more, mocksmtp.WithFault(*tc.fault))
			}
			h := startTLSAuth(t, tc.mode, nil, more...)
			m := plainMail()
			startTLS := "on"
			if tc.mode == implicitTLS {
				startTLS = "off"
			}
			args := msmtpArgs(t, h.srv, m, "tls on", "tls_starttls "+startTLS, "tls_trust_file "+caFile(t, h.srv),
				"auth "+tc.auth, "user "+authUser, "password "+authPass)
			out, err := runProgram(t, buildMIME(m), msmtp, args...)
			if tc.wantMech == "" {
				if err == nil || !strings.Contains(out, "TLS certificate verification failed") {
					t.Errorf("msmtp: %v, want it to refuse the certificate\n%s", err, out)
				}
				checkTLSRefused(t, h, mocksmtp.EndTLSFailed)
				checkFindings(t, h.srv)
				return
			}
			if err != nil {
				t.Fatalf("msmtp: %v\n%s", err, out)
			}
			s := h.session(t)
			checkAuthenticatedSend(t, h, s, m, tc.wantMech)
		})
	}
}
