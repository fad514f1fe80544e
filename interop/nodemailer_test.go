package interop

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/mocksmtp/mocksmtp"
)

// TestNodemailer sends with nodemailer (node/send.js), which composes the
// MIME itself. nodemailer never sends QUIT: it closes the connection once
// the message is accepted.
func TestNodemailer(t *testing.T) {
	t.Parallel()
	node := needNodemailer(t)
	for _, tc := range []struct {
		name       string
		mail       mailSpec
		wantParams map[string]string
	}{
		{"plain", plainMail(), nil},
		{"multipart", multipartMail(true), nil},
		{"utf8 address", utf8Mail(), map[string]string{"SMTPUTF8": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := start(t)
			spec, err := json.Marshal(tc.mail)
			if err != nil {
				t.Fatal(err)
			}
			out, err := runProgram(t, spec, node, "node/send.js", h.srv.Host(), strconv.Itoa(h.srv.Port()))
			if err != nil {
				t.Fatalf("send.js: %v\n%s", err, out)
			}
			m := h.message(t)
			checkMessage(t, tc.mail, m)
			checkParams(t, tc.wantParams, m)
			checkClean(t, h.session(t), mocksmtp.EndClientClosed)
			checkFindings(t, h.srv, mocksmtp.RuleQuit)
		})
	}
}

// needNodemailer returns the path of node, or skips the test when node or
// nodemailer is not installed.
func needNodemailer(t *testing.T) string {
	t.Helper()
	node := needProgram(t, "node", "apt-get install nodejs npm")
	if _, err := os.Stat("node/node_modules/nodemailer/package.json"); err != nil {
		missing(t, "nodemailer is not installed (%v): run \"npm ci\" in interop/node, or run .ci/run", err)
	}
	return node
}

// TestNodemailerTLSAndAuth sends with nodemailer over mandatory STARTTLS
// (requireTLS) and SMTPS (secure), verifying the certificate with tls.ca,
// and logs in with each mechanism (authMethod; PLAIN by its own choice).
// It refuses a certificate before its side of the handshake is finished,
// and closes without QUIT, as always.
func TestNodemailerTLSAndAuth(t *testing.T) {
	t.Parallel()
	node := needNodemailer(t)
	for _, tc := range []struct {
		name     string
		mode     tlsMode
		auth     string // authMethod; "" lets nodemailer choose
		fault    *mocksmtp.Fault
		wantMech mocksmtp.AuthMechanism // "" when nodemailer must refuse the certificate
	}{
		{"STARTTLS, its own choice", starttls, "", nil, mocksmtp.AuthPlain},
		{"STARTTLS, LOGIN", starttls, "LOGIN", nil, mocksmtp.AuthLogin},
		{"STARTTLS, CRAM-MD5", starttls, "CRAM-MD5", nil, mocksmtp.AuthCRAMMD5},
		{"SMTPS, PLAIN", implicitTLS, "PLAIN", nil, mocksmtp.AuthPlain},
		{"untrusted certificate refused", starttls, "", ptr(mocksmtp.At(mocksmtp.StageStartTLS).UntrustedCertificate()), ""},
		{"wrong host certificate refused", starttls, "", ptr(mocksmtp.At(mocksmtp.StageStartTLS).WrongHostCertificate()), ""},
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
			spec, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			args := []string{"node/send.js", h.srv.Host(), strconv.Itoa(h.srv.Port()),
				"--ca", caFile(t, h.srv), "--user", authUser, "--pass", authPass}
			if tc.mode == implicitTLS {
				args = append(args, "--secure")
			} else {
				args = append(args, "--starttls")
			}
			if tc.auth != "" {
				args = append(args, "--auth-method", tc.auth)
			}
			out, err := runProgram(t, spec, node, args...)
			if tc.wantMech == "" {
				if err == nil || !strings.Contains(out, "code: 'ESOCKET'") {
					t.Errorf("send.js: %v, want it to refuse the certificate\n%s", err, out)
				}
				checkTLSRefused(t, h, mocksmtp.EndTLSFailed)
				checkFindings(t, h.srv)
				return
			}
			if err != nil {
				t.Fatalf("send.js: %v\n%s", err, out)
			}
			checkMessage(t, m, h.message(t))
			s := h.session(t)
			checkClean(t, s, mocksmtp.EndClientClosed)
			checkTLSAuth(t, s, tc.wantMech)
			checkFindings(t, h.srv, mocksmtp.RuleQuit)
		})
	}
}
