package interop

import (
	"encoding/json"
	"slices"
	"strconv"
	"testing"
)

// TestDelayEndsWhenAClientThatSentMoreGivesUp: real clients that, before
// they leave a Delay, send something more: swaks sends QUIT once its
// --timeout passed (at every stage), msmtp and nodemailer pipeline DATA
// after RCPT. Each closes the connection a second later; the session
// ends then, as the client closing, not an hour later at Close: the
// engine reads what the client sends during a delay into its read
// buffer, and sees the end of input behind it.
//
// Not go-mail: once connected, the QUIT it sends on the way out is
// written past the deadline of its WithTimeout, which has passed, so it
// is not sent, and go-mail returns without closing the connection (the
// garbage collector closes it, some time later). A client whose
// connection is open is there, for the server as for TCP, and its
// session stays live.
func TestDelayEndsWhenAClientThatSentMoreGivesUp(t *testing.T) {
	t.Parallel()
	type run func(t *testing.T, h *harness) (string, error)
	swaks := func(t *testing.T, h *harness) (string, error) {
		bin := needProgram(t, "swaks", "apt-get install swaks")
		args := swaksArgs(t, h.srv, plainMail())
		args[slices.Index(args, "--timeout")+1] = "1"
		return runProgram(t, nil, bin, args...)
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
		sent   string // once the delay began, unread
		says   string
	}{
		{"swaks", atMessage, swaks, "QUIT", "Timeout"},
		{"swaks", atRcpt, swaks, "QUIT", "Timeout"},
		{"swaks", atGreeting, swaks, "QUIT", "Timeout"},
		{"msmtp", atRcpt, msmtp, "DATA", "operation timed out"},
		{"nodemailer", atRcpt, nodemailer, "DATA", "ETIMEDOUT"},
	} {
		t.Run(tc.client+" "+tc.at.name, func(t *testing.T) {
			t.Parallel()
			h := startDelayed(t, tc.at.stage)
			out, err := tc.run(t, h)
			checkGaveUpSent(t, h, tc.at.stage, out, err, tc.sent, tc.says)
		})
	}
}
