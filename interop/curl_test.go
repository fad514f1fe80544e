package interop

import (
	"fmt"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
)

// TestCurl sends with curl's smtp:// support: a prepared message with
// --upload-file, and a multipart message curl composes from -F parts.
//
// curl names itself in EHLO after the path of the URL; when the URL has
// none, after the uploaded file. It sends the file as it is: a file with
// bare LF line ends is refused unless --crlf converts them.
func TestCurl(t *testing.T) {
	t.Parallel()
	curl := needProgram(t, "curl", "apt-get install curl")

	t.Run("plain", func(t *testing.T) {
		t.Parallel()
		h := start(t)
		m := plainMail()
		file := writeTemp(t, "plain.eml", buildMIME(m))
		// No path in the URL: curl appends the file name, and uses it in EHLO.
		url := fmt.Sprintf("smtp://%s", h.srv.Addr())
		out, err := runProgram(t, nil, curl, curlArgs(url, m, "--upload-file", file)...)
		if err != nil {
			t.Fatalf("curl: %v\n%s", err, out)
		}
		checkMessage(t, m, h.message(t))
		s := h.session(t)
		checkClean(t, s, mocksmtp.EndQuit)
		checkFindings(t, h.srv)
		if diff := cmp.Diff("plain.eml", s.Helo); diff != "" {
			t.Errorf("EHLO name (-want +got):\n%s", diff)
		}
	})

	t.Run("multipart", func(t *testing.T) {
		t.Parallel()
		h := start(t)
		m := multipartMail(true)
		dir := t.TempDir()
		text, html, att := filepath.Join(dir, "text.txt"), filepath.Join(dir, "text.html"), filepath.Join(dir, "attachment")
		// Parts read with "<file" are sent as they are: give them CRLF line
		// ends, or an encoder.
		for path, data := range map[string][]byte{
			text: []byte(m.Text),
			html: []byte(m.HTML),
			att:  m.Attachments[0].Data,
		} {
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		a := m.Attachments[0]
		url := fmt.Sprintf("smtp://%s/client.example", h.srv.Addr())
		out, err := runProgram(t, nil, curl, curlArgs(url, m,
			"-H", "Subject: "+mime.QEncoding.Encode("utf-8", m.Subject),
			"-H", "From: Alice <"+m.From+">",
			// curl composes no Date or Message-ID: they are the user's.
			"-H", "Date: "+time.Now().Format(time.RFC1123Z),
			"-H", "Message-ID: "+messageID(),
			"-F", "=(;type=multipart/alternative",
			"-F", "=<"+text+";type=text/plain; charset=utf-8;encoder=quoted-printable",
			"-F", "=<"+html+";type=text/html; charset=utf-8;encoder=quoted-printable",
			"-F", "=)",
			"-F", "=@"+att+";filename="+a.Filename+";type="+a.ContentType+";encoder=base64",
		)...)
		if err != nil {
			t.Fatalf("curl: %v\n%s", err, out)
		}
		checkMessage(t, m, h.message(t))
		s := h.session(t)
		checkClean(t, s, mocksmtp.EndQuit)
		checkFindings(t, h.srv)
		if diff := cmp.Diff("client.example", s.Helo); diff != "" {
			t.Errorf("EHLO name (-want +got):\n%s", diff)
		}
	})

	t.Run("utf8 address", func(t *testing.T) {
		t.Parallel()
		h := start(t)
		m := utf8Mail()
		file := writeTemp(t, "utf8.eml", buildMIME(m))
		url := fmt.Sprintf("smtp://%s/client.example", h.srv.Addr())
		out, err := runProgram(t, nil, curl, curlArgs(url, m, "--upload-file", file)...)
		if err != nil {
			t.Fatalf("curl: %v\n%s", err, out)
		}
		msg := h.message(t)
		checkMessage(t, m, msg)
		checkParams(t, map[string]string{"SIZE": "", "SMTPUTF8": ""}, msg)
		checkClean(t, h.session(t), mocksmtp.EndQuit)
		checkFindings(t, h.srv)
	})

	// A message file with bare LF line ends: refused with 550 5.5.2 as
	// sent, accepted once --crlf converts the line ends.
	const lfHeader = "Date: Tue, 24 Nov 2026 10:00:00 +0000\nMessage-ID: <lf@client.example>\nFrom: alice@example.com\nSubject: Plain hello\n"
	const lfMessage = lfHeader + "\nHello Bob,\n.this line starts with a dot\nBye.\n"
	t.Run("bare LF file refused", func(t *testing.T) {
		t.Parallel()
		h := start(t)
		file := writeTemp(t, "lf.eml", []byte(lfMessage))
		url := fmt.Sprintf("smtp://%s/client.example", h.srv.Addr())
		out, err := runProgram(t, nil, curl, curlArgs(url, plainMail(), "--upload-file", file)...)
		if err == nil {
			t.Errorf("curl succeeded, want it to fail on 550\n%s", out)
		}
		s := h.session(t)
		if !hasReply(s, 550, "5.5.2") {
			t.Errorf("want a 550 5.5.2 reply to the bare LF\n%s", s.Transcript.Numbered())
		}
		if msgs := h.srv.Messages(); len(msgs) != 0 {
			t.Errorf("recorded %d messages, want none", len(msgs))
		}
		// The file's bare LFs, and the line after one that starts with a
		// dot: curl stuffs dots only after CRLF.
		checkFindings(t, h.srv, mocksmtp.RuleBareLineEnding, mocksmtp.RuleDotStuffing)
	})
	t.Run("bare LF file with --crlf", func(t *testing.T) {
		t.Parallel()
		h := start(t)
		m := plainMail()
		file := writeTemp(t, "lf.eml", []byte(lfMessage))
		url := fmt.Sprintf("smtp://%s/client.example", h.srv.Addr())
		out, err := runProgram(t, nil, curl, curlArgs(url, m, "--crlf", "--upload-file", file)...)
		if err != nil {
			t.Fatalf("curl: %v\n%s", err, out)
		}
		msg := h.message(t)
		checkMessage(t, m, msg)
		if want := strings.ReplaceAll(lfMessage, "\n", "\r\n"); string(msg.Raw) != want {
			t.Errorf("Raw = %q, want %q", msg.Raw, want)
		}
		checkClean(t, h.session(t), mocksmtp.EndQuit)
		checkFindings(t, h.srv)
	})
}

// curlArgs returns curl's command line for sending to url with m's
// envelope, then more.
func curlArgs(url string, m mailSpec, more ...string) []string {
	// -q (first) ignores any .curlrc; --noproxy keeps it on loopback.
	args := []string{"-q", "--noproxy", "*", "--silent", "--show-error", "--max-time", "20", url, "--mail-from", m.From}
	for _, to := range m.To {
		args = append(args, "--mail-rcpt", to)
	}
	return append(args, more...)
}

// TestCurlTLSAndAuth sends with curl over STARTTLS (smtp:// with
// --ssl-reqd) and over SMTPS (smtps://), verifying the certificate with
// --cacert, and logs in with --user; --login-options chooses the
// mechanism, which curl otherwise picks itself (CRAM-MD5). curl checks the
// host name only once the handshake is done, and then closes the
// connection without the QUIT that RFC 3207 4.1 asks for.
func TestCurlTLSAndAuth(t *testing.T) {
	t.Parallel()
	curl := needProgram(t, "curl", "apt-get install curl")
	for _, tc := range []struct {
		name     string
		mode     tlsMode
		auth     string // the AUTH= login option; "" lets curl choose
		fault    *mocksmtp.Fault
		wantMech mocksmtp.AuthMechanism // "" when curl must refuse the certificate
		// How a refused session ends, and what it broke.
		refusedEnd mocksmtp.EndReason
		findings   []mocksmtp.Rule
	}{
		{"STARTTLS, its own choice", starttls, "", nil, mocksmtp.AuthCRAMMD5, 0, nil},
		{"STARTTLS, PLAIN", starttls, "PLAIN", nil, mocksmtp.AuthPlain, 0, nil},
		{"STARTTLS, LOGIN", starttls, "LOGIN", nil, mocksmtp.AuthLogin, 0, nil},
		{"SMTPS, its own choice", implicitTLS, "", nil, mocksmtp.AuthCRAMMD5, 0, nil},
		{"untrusted certificate refused", starttls, "", ptr(mocksmtp.At(mocksmtp.StageStartTLS).UntrustedCertificate()), "",
			mocksmtp.EndTLSFailed, nil},
		{"wrong host certificate refused", starttls, "", ptr(mocksmtp.At(mocksmtp.StageStartTLS).WrongHostCertificate()), "",
			mocksmtp.EndClientClosed, []mocksmtp.Rule{mocksmtp.RuleQuit}},
		{"SMTPS, expired certificate refused", implicitTLS, "", ptr(mocksmtp.At(mocksmtp.StageConnect).ExpiredCertificate()), "",
			mocksmtp.EndTLSFailed, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var more []mocksmtp.Option
			if tc.fault != nil {
				more = append(more, mocksmtp.WithFault(*tc.fault))
			}
			h := startTLSAuth(t, tc.mode, nil, more...)
			m := plainMail()
			file := writeTemp(t, "plain.eml", buildMIME(m))
			scheme, tlsArgs := "smtp", []string{"--ssl-reqd"}
			if tc.mode == implicitTLS {
				scheme, tlsArgs = "smtps", nil
			}
			url := fmt.Sprintf("%s://%s/client.example", scheme, h.srv.Addr())
			args := append(tlsArgs, "--cacert", caFile(t, h.srv), "--user", authUser+":"+authPass, "--upload-file", file)
			if tc.auth != "" {
				args = append(args, "--login-options", "AUTH="+tc.auth)
			}
			out, err := runProgram(t, nil, curl, curlArgs(url, m, args...)...)
			if tc.wantMech == "" {
				// curl's exit code 60: the peer's certificate could not be verified.
				if err == nil || !strings.HasPrefix(out, "curl: (60) ") {
					t.Errorf("curl: %v, want it to refuse the certificate\n%s", err, out)
				}
				checkTLSRefused(t, h, tc.refusedEnd)
				checkFindings(t, h.srv, tc.findings...)
				return
			}
			if err != nil {
				t.Fatalf("curl: %v\n%s", err, out)
			}
			s := h.session(t)
			checkAuthenticatedSend(t, h, s, m, tc.wantMech)
		})
	}
}
