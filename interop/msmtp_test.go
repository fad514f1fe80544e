package interop

import (
	"fmt"
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

// msmtpArgs writes a configuration for srv and returns the command line
// that sends m through it.
func msmtpArgs(t *testing.T, srv *mocksmtp.Server, m mailSpec) []string {
	conf := fmt.Sprintf("account default\nhost %s\nport %d\nauth off\ntls off\ntimeout 20\ndomain client.example\nsyslog off\n", srv.Host(), srv.Port())
	path := writeTemp(t, "msmtprc", []byte(conf))
	args := []string{"-C", path, "-f", m.From, "--"}
	return append(args, m.To...)
}
