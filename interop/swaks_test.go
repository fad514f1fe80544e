package interop

import (
	"fmt"
	"mime"
	"strconv"
	"strings"
	"testing"

	"github.com/mocksmtp/mocksmtp"
)

// TestSwaks sends with swaks, which composes the MIME itself from its
// --attach-body and --attach options. swaks does not know SMTPUTF8: a
// UTF-8 address goes out without it and is refused.
func TestSwaks(t *testing.T) {
	t.Parallel()
	swaks := needProgram(t, "swaks", "apt-get install swaks")
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
			out, err := runProgram(t, nil, swaks, swaksArgs(t, h.srv, tc.mail)...)
			if err != nil {
				t.Fatalf("swaks: %v\n%s", err, out)
			}
			checkMessage(t, tc.mail, h.message(t))
			checkClean(t, h.session(t), mocksmtp.EndQuit)
			checkFindings(t, h.srv)
		})
	}
	t.Run("utf8 address refused", func(t *testing.T) {
		t.Parallel()
		h := start(t)
		out, err := runProgram(t, nil, swaks, swaksArgs(t, h.srv, utf8Mail())...)
		if err == nil {
			t.Errorf("swaks succeeded, want it to fail on 553\n%s", out)
		}
		checkRejectedUTF8(t, h, h.session(t))
		checkFindings(t, h.srv, mocksmtp.RuleSMTPUTF8)
	})
}

// swaksArgs returns the command line that sends m to srv.
func swaksArgs(t *testing.T, srv *mocksmtp.Server, m mailSpec) []string {
	args := []string{
		"--server", srv.Host(), "--port", strconv.Itoa(srv.Port()),
		"--helo", "client.example", "--timeout", "20",
		"--from", m.From, "--to", strings.Join(m.To, ","),
		"--header", "Subject: " + mime.QEncoding.Encode("utf-8", m.Subject),
	}
	if m.HTML == "" && len(m.Attachments) == 0 {
		return append(args, "--body", m.Text)
	}
	// Each --attach-type applies to the parts that follow it; stacked
	// --attach-body options make a multipart/alternative body.
	args = append(args, "--attach-type", "text/plain; charset=utf-8", "--attach-body", m.Text)
	if m.HTML != "" {
		args = append(args, "--attach-type", "text/html; charset=utf-8", "--attach-body", m.HTML)
	}
	for _, a := range m.Attachments {
		path := writeTemp(t, a.Filename, a.Data)
		args = append(args, "--attach-type", a.ContentType, "--attach-name", a.Filename, "--attach", "@"+path)
	}
	return args
}

// TestSwaksTLSAndAuth sends with swaks over STARTTLS (--tls) and SMTPS
// (--tls-on-connect), verifying the certificate against the test CA file
// (--tls-verify --tls-ca-path), and logs in with each mechanism; left to
// choose, swaks takes CRAM-MD5. swaks 20201014 (Debian 12, Ubuntu 24.04)
// verifies the chain but not the host name; later versions verify both
// with --tls-verify.
func TestSwaksTLSAndAuth(t *testing.T) {
	t.Parallel()
	swaks := needProgram(t, "swaks", "apt-get install swaks")
	checksHost := swaksVerifiesHost(t, swaks)
	var wrongHostMech mocksmtp.AuthMechanism
	if !checksHost {
		wrongHostMech = mocksmtp.AuthCRAMMD5 // sent all the same
	}
	for _, tc := range []struct {
		name     string
		mode     tlsMode
		auth     string // swaks's --auth argument; "" lets it choose
		fault    *mocksmtp.Fault
		wantMech mocksmtp.AuthMechanism // "" when the handshake must fail
	}{
		{"STARTTLS, its own choice", starttls, "", nil, mocksmtp.AuthCRAMMD5},
		{"STARTTLS, PLAIN", starttls, "PLAIN", nil, mocksmtp.AuthPlain},
		{"STARTTLS, LOGIN", starttls, "LOGIN", nil, mocksmtp.AuthLogin},
		{"SMTPS, CRAM-MD5", implicitTLS, "CRAM-MD5", nil, mocksmtp.AuthCRAMMD5},
		{"untrusted certificate refused", starttls, "", ptr(mocksmtp.At(mocksmtp.StageStartTLS).UntrustedCertificate()), ""},
		{"wrong host certificate", starttls, "", ptr(mocksmtp.At(mocksmtp.StageStartTLS).WrongHostCertificate()), wrongHostMech},
		{"SMTPS, expired certificate refused", implicitTLS, "", ptr(mocksmtp.At(mocksmtp.StageConnect).ExpiredCertificate()), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var more []mocksmtp.Option
			if tc.fault != nil {
				more = append(more, mocksmtp.WithFault(*tc.fault))
			}
			h := startTLSAuth(t, tc.mode, nil, more...)
			m := plainMail()
			args := append(swaksArgs(t, h.srv, m),
				"--tls-verify", "--tls-ca-path", caFile(t, h.srv),
				"--auth", tc.auth, "--auth-user", authUser, "--auth-password", authPass)
			if tc.mode == implicitTLS {
				args = append(args, "--tls-on-connect")
			} else {
				args = append(args, "--tls")
			}
			out, err := runProgram(t, nil, swaks, args...)
			if tc.wantMech == "" {
				if err == nil || !strings.Contains(out, "certificate verify failed") {
					t.Errorf("swaks: %v, want it to refuse the certificate\n%s", err, out)
				}
				checkTLSRefused(t, h, mocksmtp.EndTLSFailed)
				checkFindings(t, h.srv)
				return
			}
			if err != nil {
				t.Fatalf("swaks: %v\n%s", err, out)
			}
			s := h.session(t)
			checkAuthenticatedSend(t, h, s, m, tc.wantMech)
		})
	}
}

// swaksVerifiesHost reports whether swaks's --tls-verify checks the
// server's host name as well as its chain: swaks does since the release
// after 20201014.0 (its Changes, 20210117: "Change --tls-verify to require
// both cert and hostname verification").
func swaksVerifiesHost(t *testing.T, swaks string) bool {
	t.Helper()
	out, err := runProgram(t, nil, swaks, "--version")
	if err != nil {
		t.Fatalf("swaks --version: %v\n%s", err, out)
	}
	// "swaks version 20201014.0"
	var version float64
	if _, err := fmt.Sscanf(strings.TrimSpace(out), "swaks version %f", &version); err != nil {
		t.Fatalf("swaks --version: %q: %v", out, err)
	}
	return version > 20201014.0
}
