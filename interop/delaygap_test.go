package interop

import (
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// TestDelayEndsWhenAClientThatSentMoreGivesUp: real clients that, before
// they leave a Delay, send something more: swaks sends QUIT once its
// --timeout passed (at every stage), go-mail sends QUIT on the way out,
// msmtp and nodemailer pipeline DATA after RCPT. Each closes the
// connection a second later; the session stays live until Close (an hour
// into the Delay), as "a client that sent anything is taken to be there"
// says. These fail on main: a design question, not settled here.
func TestDelayEndsWhenAClientThatSentMoreGivesUp(t *testing.T) {
	t.Parallel()
	type run func(t *testing.T, h *harness) (string, error)
	swaks := func(t *testing.T, h *harness) (string, error) {
		bin := needProgram(t, "swaks", "apt-get install swaks")
		args := swaksArgs(t, h.srv, plainMail())
		args[slices.Index(args, "--timeout")+1] = "1"
		return runProgram(t, nil, bin, args...)
	}
	goMail := func(t *testing.T, h *harness) (string, error) {
		msg, err := goMailMessage(plainMail())
		if err != nil {
			t.Fatal(err)
		}
		c, err := gomail.NewClient(h.srv.Host(), gomail.WithPort(h.srv.Port()), gomail.WithTLSPolicy(gomail.NoTLS),
			gomail.WithTimeout(time.Second), gomail.WithHELO("client.example"))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.DialAndSendWithContext(t.Context(), msg); err != nil {
			return err.Error(), err
		}
		return "", nil
	}
	msmtp := func(t *testing.T, h *harness) (string, error) {
		bin := needProgram(t, "msmtp", "apt-get install msmtp")
		m := plainMail()
		return runProgram(t, buildMIME(m), bin, msmtpArgs(t, h.srv, m, "timeout 1")...)
	}
	nodemailer := func(t *testing.T, h *harness) (string, error) {
		node := needNodemailer(t)
		spec, err := json.Marshal(plainMail())
		if err != nil {
			t.Fatal(err)
		}
		return runProgram(t, spec, node, "node/send.js", h.srv.Host(), strconv.Itoa(h.srv.Port()), "--timeout", "1000")
	}
	for _, tc := range []struct {
		client string
		at     giveUpStage
		run    run
		says   string
	}{
		{"swaks", atMessage, swaks, "Timeout"},
		{"swaks", atRcpt, swaks, "Timeout"},
		{"swaks", atGreeting, swaks, "Timeout"},
		{"go-mail", atMessage, goMail, "i/o timeout"},
		{"go-mail", atRcpt, goMail, "i/o timeout"},
		{"msmtp", atRcpt, msmtp, "operation timed out"},
		{"nodemailer", atRcpt, nodemailer, "ETIMEDOUT"},
	} {
		t.Run(tc.client+" "+tc.at.name, func(t *testing.T) {
			t.Parallel()
			h := startDelayed(t, tc.at.stage)
			out, err := tc.run(t, h)
			checkGaveUp(t, h, tc.at.stage, out, err, tc.says)
		})
	}
}
