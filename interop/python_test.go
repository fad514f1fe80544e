package interop

import (
	"bytes"
	"encoding/json"
	"strconv"
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
