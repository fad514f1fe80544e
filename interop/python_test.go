package interop

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
)

// TestPythonSmtplib sends with Python's smtplib (testdata/send.py), the
// message composed with email.message.EmailMessage. smtplib sends its
// verbs in lower case (but QUIT), and an 8bit text part without BODY=8BITMIME.
func TestPythonSmtplib(t *testing.T) {
	t.Parallel()
	python := needProgram(t, "python3", "apt-get install python3")
	for _, tc := range []struct {
		name       string
		mail       mailSpec
		wantParams map[string]string
	}{
		{"plain", plainMail(), map[string]string{"SIZE": ""}},
		{"multipart", multipartMail(true), map[string]string{"SIZE": ""}},
		{"utf8 address", utf8Mail(), map[string]string{"SIZE": "", "SMTPUTF8": "", "BODY": "8BITMIME"}},
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
			s := h.session(t)
			checkClean(t, s, mocksmtp.EndQuit)
			want := []string{"ehlo", "mail"}
			for range tc.mail.To {
				want = append(want, "rcpt")
			}
			want = append(want, "data", "QUIT")
			if diff := cmp.Diff(want, verbs(s)); diff != "" {
				t.Errorf("commands (-want +got):\n%s", diff)
			}
		})
	}
}
