package interop

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/smtpd"
)

// The Delay tests: a server that delays a reply by an hour, and a real
// client with a timeout of one second, which gives up and leaves. The
// session ends then, as the client closing, not an hour later (at the
// test's Close): WaitForSessions returns within its default wait. At
// StageMessage the message is recorded once: the server accepted it
// before its delayed 250.

// giveUpStage is a stage a client's timeout is tried at.
type giveUpStage struct {
	name  string
	stage mocksmtp.Stage
}

// The stages: while the client waits for the reply to its message data,
// to its RCPT, and for the greeting. The clients that send something
// more before they leave (a pipelined DATA after RCPT, a QUIT once they
// timed out) are tried in delaygap_test.go.
var (
	atMessage  = giveUpStage{"message", mocksmtp.StageMessage}
	atRcpt     = giveUpStage{"rcpt", mocksmtp.StageRcpt}
	atGreeting = giveUpStage{"greeting", mocksmtp.StageConnect}
)

// startDelayed starts a server that delays its reply at stage by an hour.
func startDelayed(t *testing.T, stage mocksmtp.Stage) *harness {
	t.Helper()
	return start(t, mocksmtp.WithFault(mocksmtp.At(stage).Delay(time.Hour)))
}

// checkGaveUp checks what a client that gave up on a delayed reply
// leaves: its own timeout error (out holds one of timeoutSays), the
// session ended as the client closing within the wait, with no reply
// written after the delay began, and, at StageMessage, the message
// recorded once.
func checkGaveUp(t *testing.T, h *harness, stage mocksmtp.Stage, out string, err error, timeoutSays ...string) {
	t.Helper()
	checkGaveUpSent(t, h, stage, out, err, "", timeoutSays...)
}

// checkGaveUpSent is checkGaveUp for a client that sent sent (a command
// line, "" for none) once the delay began, which the server never read:
// the transcript has it, under the engine's note, and a QUIT is a client
// that quit (the session ends QUIT, with no finding that it did not).
func checkGaveUpSent(t *testing.T, h *harness, stage mocksmtp.Stage, out string, err error, sent string, timeoutSays ...string) {
	t.Helper()
	if err == nil || !slices.ContainsFunc(timeoutSays, func(s string) bool { return strings.Contains(out, s) }) {
		t.Errorf("client: %v, want it to give up with a timeout (%q)\n%s", err, timeoutSays, out)
	}
	sessions := h.srv.WaitForSessions(t, 1)
	if len(sessions) != 1 {
		t.Fatalf("got %d sessions, want 1", len(sessions))
	}
	s := sessions[0]
	switch {
	case sent == "QUIT" && (s.Ended != mocksmtp.EndQuit || s.Err != nil):
		t.Errorf("session ended %v with Err %v, want %v with none: the client quit", s.Ended, s.Err, mocksmtp.EndQuit)
	case sent != "QUIT" && (s.Ended != mocksmtp.EndClientClosed || !errors.Is(s.Err, smtpd.ErrClientGone)):
		t.Errorf("session ended %v with Err %v, want %v with an Err wrapping smtpd.ErrClientGone", s.Ended, s.Err, mocksmtp.EndClientClosed)
	}
	if quitFinding := slices.ContainsFunc(s.Findings, func(f mocksmtp.Finding) bool { return f.Rule == mocksmtp.RuleQuit }); quitFinding != (sent != "QUIT") {
		t.Errorf("findings %v; want the quit rule's: %v", s.Findings, sent != "QUIT")
	}
	if sent != "" {
		const note = "the client left during the wait; it had sent this, which the server did not read:"
		i := slices.IndexFunc(s.Transcript, func(l mocksmtp.Line) bool { return l.Text == note })
		if i < 0 || i+1 == len(s.Transcript) || s.Transcript[i+1] != (mocksmtp.Line{Dir: mocksmtp.FromClient, Text: sent, At: s.Transcript[i+1].At}) {
			t.Errorf("no %q under the note %q", "C: "+sent, note)
		}
	}
	if len(s.Faults) != 1 {
		t.Errorf("faults fired: %q, want the Delay once", s.Faults)
	}
	// The delayed reply was never written: the server's last reply is the
	// one before it (none when the greeting was delayed).
	var last string
	for _, l := range s.Transcript {
		if l.Dir == mocksmtp.FromServer {
			last, _, _ = strings.Cut(l.Text, " ")
		}
	}
	wantLast := map[mocksmtp.Stage]string{mocksmtp.StageMessage: "354", mocksmtp.StageRcpt: "250", mocksmtp.StageConnect: ""}[stage]
	if last != wantLast {
		t.Errorf("the server's last reply has code %q, want %q", last, wantLast)
	}
	wantMsgs := 0
	if stage == mocksmtp.StageMessage {
		wantMsgs = 1
	}
	if n := len(h.srv.Messages()); n != wantMsgs || len(s.Messages) != wantMsgs {
		t.Errorf("recorded %d messages, %d in the session, want %d", n, len(s.Messages), wantMsgs)
	}
	if t.Failed() {
		t.Logf("transcript:\n%s", s.Transcript.Numbered())
	}
}

// TestDelayPythonSmtplibGivesUp: smtplib with timeout=1 raises
// SMTPServerDisconnected("Connection unexpectedly closed: timed out")
// and closes the socket without QUIT, at every stage (it does not
// pipeline).
func TestDelayPythonSmtplibGivesUp(t *testing.T) {
	t.Parallel()
	python := needProgram(t, "python3", "apt-get install python3")
	for _, tc := range []giveUpStage{atMessage, atRcpt, atGreeting} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := startDelayed(t, tc.stage)
			spec, err := json.Marshal(plainMail())
			if err != nil {
				t.Fatal(err)
			}
			out, err := runProgram(t, spec, python, "testdata/send.py", h.srv.Host(), strconv.Itoa(h.srv.Port()), "--timeout", "1")
			checkGaveUp(t, h, tc.stage, out, err, "timed out")
		})
	}
}

// TestDelayNodemailerGivesUp: nodemailer with greetingTimeout and
// socketTimeout of 1 s fails with ETIMEDOUT and destroys the socket,
// sending nothing more. At RCPT, where it has pipelined DATA: see
// TestDelayEndsWhenAClientThatSentMoreGivesUp.
func TestDelayNodemailerGivesUp(t *testing.T) {
	t.Parallel()
	node := needNodemailer(t)
	for _, tc := range []giveUpStage{atMessage, atGreeting} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := startDelayed(t, tc.stage)
			spec, err := json.Marshal(plainMail())
			if err != nil {
				t.Fatal(err)
			}
			out, err := runProgram(t, spec, node, "node/send.js", h.srv.Host(), strconv.Itoa(h.srv.Port()), "--timeout", "1000")
			checkGaveUp(t, h, tc.stage, out, err, "ETIMEDOUT")
		})
	}
}

// TestDelayGoMailGivesUp: go-mail's WithTimeout is the connection's
// deadline for each command; past it, DialAndSend fails with an I/O
// timeout. Only at the greeting: once connected, it tries to send QUIT
// on the way out, past the same deadline, which fails before a write,
// and leaves the connection open (see
// TestDelayEndsWhenAClientThatSentMoreGivesUp).
func TestDelayGoMailGivesUp(t *testing.T) {
	t.Parallel()
	for _, tc := range []giveUpStage{atGreeting} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := startDelayed(t, tc.stage)
			msg, err := goMailMessage(plainMail())
			if err != nil {
				t.Fatal(err)
			}
			c, err := gomail.NewClient(h.srv.Host(),
				gomail.WithPort(h.srv.Port()),
				gomail.WithTLSPolicy(gomail.NoTLS),
				gomail.WithTimeout(time.Second),
				gomail.WithHELO("client.example"),
			)
			if err != nil {
				t.Fatalf("NewClient: %v", err)
			}
			err = c.DialAndSendWithContext(t.Context(), msg)
			var out string
			if err != nil {
				out = err.Error()
			}
			checkGaveUp(t, h, tc.stage, out, err, "i/o timeout")
		})
	}
}

// TestDelayMsmtpGivesUp: msmtp with timeout 1 in its configuration
// fails with "the operation timed out" and closes without QUIT. At
// RCPT, where it has pipelined DATA: see
// TestDelayEndsWhenAClientThatSentMoreGivesUp.
func TestDelayMsmtpGivesUp(t *testing.T) {
	t.Parallel()
	msmtp := needProgram(t, "msmtp", "apt-get install msmtp")
	for _, tc := range []giveUpStage{atMessage, atGreeting} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := startDelayed(t, tc.stage)
			m := plainMail()
			out, err := runProgram(t, buildMIME(m), msmtp, msmtpArgs(t, h.srv, m, "timeout 1")...)
			checkGaveUp(t, h, tc.stage, out, err, "operation timed out")
		})
	}
}
