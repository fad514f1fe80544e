package interop

import (
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
