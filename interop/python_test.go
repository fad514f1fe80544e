package interop

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
)

// TestPythonSmtplib sends with Python's smtplib (testdata/send.py), the
// message composed with email.message.EmailMessage. smtplib sends its
// verbs and parameter keywords in lower case ("mail FROM:<a@b> size=9"),
// and an 8bit text part without BODY=8BITMIME unless an address needs
// SMTPUTF8.
func TestPythonSmtplib(t *testing.T) {
	t.Parallel()
	python := needProgram(t, "python3", "apt-get install python3")
	for _, tc := range []struct {
		name       string
		mail       mailSpec
		wantParams map[string]string
		want8bit   bool // a part with Content-Transfer-Encoding: 8bit
		findings   []mocksmtp.Rule
	}{
		{"plain", plainMail(), map[string]string{"SIZE": ""}, false, nil},
		// The 8bit part goes out without BODY=8BITMIME.
		{"multipart", multipartMail(true), map[string]string{"SIZE": ""}, true, []mocksmtp.Rule{mocksmtp.Rule8BitMIME}},
		{"utf8 address", utf8Mail(), map[string]string{"SIZE": "", "SMTPUTF8": "", "BODY": "8BITMIME"}, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := start(t)
			spec, err := json.Marshal(tc.mail)
			if err != nil {
				t.Fatal(err)
			}
			out, err := runProgram(t, spec, python, "testdata/send.py", h.srv.Host(), strconv.Itoa(h.srv.Port()))
			if err != nil {
				t.Fatalf("send.py: %v\n%s", err, out)
			}
			m := h.message(t)
			checkMessage(t, tc.mail, m)
			checkParams(t, tc.wantParams, m)
			if got := bytes.Contains(m.Raw, []byte("Content-Transfer-Encoding: 8bit")); got != tc.want8bit {
				t.Errorf("8bit part sent: %v, want %v", got, tc.want8bit)
			}
			s := h.session(t)
			checkClean(t, s, mocksmtp.EndQuit)
			checkFindings(t, h.srv, tc.findings...)
			want := []string{"ehlo", "mail"}
			for range tc.mail.To {
				want = append(want, "rcpt")
			}
			want = append(want, "data", "quit")
			if diff := cmp.Diff(want, verbs(s)); diff != "" {
				t.Errorf("commands (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPythonSmtplibTLSAndAuth sends with smtplib over STARTTLS and over
// SMTPS (SMTP_SSL), verifying the certificate with an ssl context that
// trusts the test CA from a file, and logs in. smtplib's login() takes
// the first of CRAM-MD5, PLAIN and LOGIN that the server offers.
func TestPythonSmtplibTLSAndAuth(t *testing.T) {
	t.Parallel()
	python := needProgram(t, "python3", "apt-get install python3")
	for _, tc := range []struct {
		name       string
		mode       tlsMode
		mechanisms []mocksmtp.AuthMechanism // offered by the server
		fault      *mocksmtp.Fault
		wantMech   mocksmtp.AuthMechanism // "" when the handshake must fail
	}{
		{"STARTTLS, CRAM-MD5 by preference", starttls, nil, nil, mocksmtp.AuthCRAMMD5},
		{"STARTTLS, PLAIN", starttls, []mocksmtp.AuthMechanism{mocksmtp.AuthPlain}, nil, mocksmtp.AuthPlain},
		{"SMTPS, LOGIN", implicitTLS, []mocksmtp.AuthMechanism{mocksmtp.AuthLogin}, nil, mocksmtp.AuthLogin},
		{"untrusted certificate refused", starttls, nil, ptr(mocksmtp.At(mocksmtp.StageStartTLS).UntrustedCertificate()), ""},
		{"wrong host certificate refused", starttls, nil, ptr(mocksmtp.At(mocksmtp.StageStartTLS).WrongHostCertificate()), ""},
		{"SMTPS, expired certificate refused", implicitTLS, nil, ptr(mocksmtp.At(mocksmtp.StageConnect).ExpiredCertificate()), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var more []mocksmtp.Option
			if tc.fault != nil {
				more = append(more, mocksmtp.WithFault(*tc.fault))
			}
			h := startTLSAuth(t, tc.mode, tc.mechanisms, more...)
			m := plainMail()
			spec, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			args := []string{"testdata/send.py", h.srv.Host(), strconv.Itoa(h.srv.Port()),
				"--cafile", caFile(t, h.srv), "--user", authUser, "--password", authPass}
			if tc.mode == implicitTLS {
				args = append(args, "--ssl")
			} else {
				args = append(args, "--starttls")
			}
			out, err := runProgram(t, spec, python, args...)
			if tc.wantMech == "" {
				if err == nil || !strings.Contains(out, "CERTIFICATE_VERIFY_FAILED") {
					t.Errorf("send.py: %v, want it to refuse the certificate\n%s", err, out)
				}
				checkTLSRefused(t, h, mocksmtp.EndTLSFailed)
				checkFindings(t, h.srv)
				return
			}
			if err != nil {
				t.Fatalf("send.py: %v\n%s", err, out)
			}
			s := h.session(t)
			checkAuthenticatedSend(t, h, s, m, tc.wantMech)
		})
	}
}
