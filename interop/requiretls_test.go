package interop

import (
	"encoding/json"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mocksmtp/mocksmtp"
)

// TestProgramRequireTLS sends with each client over STARTTLS through the
// program started with -require-tls, which answers every command before
// TLS but EHLO, HELO, STARTTLS, NOOP, HELP and QUIT with 530 5.7.0 (RFC
// 3207 4, as Postfix's smtpd_tls_security_level=encrypt) and offers AUTH
// only after TLS: each client delivers, over TLS, without meeting a 530;
// swaks without --tls meets one at MAIL, and nothing is recorded.
func TestProgramRequireTLS(t *testing.T) {
	t.Parallel()
	for _, c := range mtlsClients {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			path := c.program(t)
			f := newMTLSFiles(t)
			p := startProgram(t, "-cert", f.serverCert, "-key", f.serverKey, "-require-tls")
			host, port, err := net.SplitHostPort(p.smtp)
			if err != nil {
				t.Fatal(err)
			}
			args, stdin := c.args(t, f, host, port, starttls, false)
			out, err := runProgram(t, stdin, path, args...)
			if err != nil {
				t.Fatalf("%s: %v\n%s", c.name, err, out)
			}
			s := endedSession(t, p)
			if s.TLS == nil || len(s.MessageIDs) != 1 {
				t.Errorf("session: tls %v, messages %v; want TLS and one message", s.TLS, s.MessageIDs)
			}
			if lines := transcript(t, p, 1); strings.Contains(lines, "S: 530") {
				t.Errorf("%s met a 530:\n%s", c.name, lines)
			}
		})
	}
	t.Run("swaks without TLS", func(t *testing.T) {
		t.Parallel()
		swaks := needProgram(t, "swaks", "apt-get install swaks")
		p := startProgram(t, "-require-tls")
		host, port, err := net.SplitHostPort(p.smtp)
		if err != nil {
			t.Fatal(err)
		}
		out, err := runProgram(t, nil, swaks, "--server", host, "--port", port, "--helo", "client.example", "--timeout", "20",
			"--from", "alice@example.com", "--to", "bob@example.com")
		if err == nil {
			t.Errorf("swaks without TLS succeeded, want it to fail\n%s", out)
		}
		s := endedSession(t, p)
		if len(s.MessageIDs) != 0 {
			t.Errorf("session has messages %v, want none", s.MessageIDs)
		}
		if lines := transcript(t, p, 1); !strings.Contains(lines, "C: MAIL FROM:<alice@example.com>\nS: 530 5.7.0 Must issue a STARTTLS command first\n") {
			t.Errorf("no 530 5.7.0 to MAIL:\n%s", lines)
		}
		// The client's fault, as a finding: it never sent STARTTLS.
		res, body := p.call(t, "GET", "/api/findings", "")
		var fs []struct {
			Rule string `json:"rule"`
		}
		if err := json.Unmarshal(body, &fs); res.StatusCode != 200 || err != nil {
			t.Fatalf("GET /api/findings: %s, %v\n%s", res.Status, err, body)
		}
		if !slices.ContainsFunc(fs, func(f struct {
			Rule string `json:"rule"`
		}) bool {
			return f.Rule == string(mocksmtp.RuleSTARTTLSFirst)
		}) {
			t.Errorf("GET /api/findings: no %s finding: %s", mocksmtp.RuleSTARTTLSFirst, body)
		}
	})
}

// transcript returns session id's transcript from the program, a line
// each: "C: text", "S: text", "*: text".
func transcript(t *testing.T, p *program, id int) string {
	t.Helper()
	res, body := p.call(t, "GET", "/api/sessions/"+strconv.Itoa(id), "")
	var s struct {
		Transcript []struct {
			Dir  string `json:"dir"`
			Text string `json:"text"`
		} `json:"transcript"`
	}
	if err := json.Unmarshal(body, &s); res.StatusCode != 200 || err != nil {
		t.Fatalf("GET /api/sessions/%d: %s, %v\n%s", id, res.Status, err, body)
	}
	var b strings.Builder
	for _, l := range s.Transcript {
		b.WriteString(l.Dir + ": " + l.Text + "\n")
	}
	return b.String()
}
