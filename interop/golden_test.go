package interop

import (
	"encoding/json"
	"flag"
	"strconv"
	"testing"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// update rewrites the golden files under testdata: go test -run Golden -update.
var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// TestGoMailGolden pins go-mail's rendering of the multipart mail in a
// golden file, from two sends: go-mail makes a new Message-ID, Date and
// MIME boundaries each time, which Message.AssertGolden normalizes.
func TestGoMailGolden(t *testing.T) {
	t.Parallel()
	h := start(t)
	for i := range 2 {
		msg, err := goMailMessage(multipartMail(true))
		if err != nil {
			t.Fatal(err)
		}
		c, err := gomail.NewClient(h.srv.Host(), gomail.WithPort(h.srv.Port()), gomail.WithTLSPolicy(gomail.NoTLS),
			gomail.WithTimeout(30*time.Second), gomail.WithHELO("client.example"))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.DialAndSendWithContext(t.Context(), msg); err != nil {
			t.Fatalf("DialAndSend: %v", err)
		}
		m := h.srv.WaitForMessages(t, i+1)[i]
		m.AssertGolden(t, "testdata/gomail-multipart.golden", *update && i == 0)
	}
}

// TestNodemailerGolden pins nodemailer's rendering of the multipart mail,
// from two sends, as TestGoMailGolden does go-mail's.
func TestNodemailerGolden(t *testing.T) {
	t.Parallel()
	node := needNodemailer(t)
	h := start(t)
	spec, err := json.Marshal(multipartMail(true))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if out, err := runProgram(t, spec, node, "node/send.js", h.srv.Host(), strconv.Itoa(h.srv.Port())); err != nil {
			t.Fatalf("send.js: %v\n%s", err, out)
		}
		m := h.srv.WaitForMessages(t, i+1)[i]
		m.AssertGolden(t, "testdata/nodemailer-multipart.golden", *update && i == 0)
	}
}
