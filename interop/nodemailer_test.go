package interop

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"

	"github.com/mocksmtp/mocksmtp"
)

// TestNodemailer sends with nodemailer (node/send.js), which composes the
// MIME itself. nodemailer never sends QUIT: it closes the connection once
// the message is accepted.
func TestNodemailer(t *testing.T) {
	t.Parallel()
	node := needProgram(t, "node", "apt-get install nodejs npm")
	if _, err := os.Stat("node/node_modules/nodemailer/package.json"); err != nil {
		missing(t, "nodemailer is not installed (%v): run \"npm ci\" in interop/node, or run .ci/run", err)
	}
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
