package mocksmtp

import (
	"bufio"
	"crypto/tls"
	"strings"
	"testing"
)

// A fault that refuses STARTTLS, with its Reply or its RawReply, leaves
// the session in plaintext, as a server that says 454 does: the client,
// told no, goes on without TLS, and its next EHLO and MAIL are answered
// (under WithRequireTLS, MAIL is the 530 of a server that requires TLS),
// not taken for the first bytes of a TLS handshake the client never
// began. Only a 220 tells the client to begin it (RFC 3207 4; net/smtp
// and smtplib take no other): a 250, raw or not, is a no too.
func TestStartTLSRefusedByAFaultStaysPlaintext(t *testing.T) {
	t.Parallel()
	faults := []struct {
		name  string
		fault Fault
	}{
		{"Reply 454", At(StageStartTLS).Reply(454, "4.7.0 TLS not available")},
		{"RawReply 454", At(StageStartTLS).RawReply("454 4.7.0 TLS not available\r\n")},
		{"RawReply 501", At(StageStartTLS).RawReply("501 5.5.4 syntax error\r\n")},
		{"RawReply garbage", At(StageStartTLS).RawReply("go ahead, maybe\r\n")},
		{"RawReply 250", At(StageStartTLS).RawReply("250 2.0.0 ok, TLS\r\n")},
	}
	servers := []struct {
		name string
		opt  Option
		mail string // the reply to MAIL in plaintext
	}{
		{"STARTTLS", WithSTARTTLS(), "250 2.1.0"},
		{"require TLS", WithRequireTLS(), "530 5.7.0"},
	}
	for _, sv := range servers {
		for _, ft := range faults {
			t.Run(sv.name+"/"+ft.name, func(t *testing.T) {
				t.Parallel()
				srv := Start(t, sv.opt, WithFault(ft.fault.AtMost(1)))
				w := dialWire(t, srv.Addr(), nil)
				w.cmd("EHLO client.example", "250")
				w.send("STARTTLS\r\n")
				if lines, err := w.read(); err != nil || len(lines) != 1 || strings.HasPrefix(lines[0], "220") {
					t.Fatalf("STARTTLS: %q, %v; want the fault's refusal", lines, err)
				}
				w.cmd("EHLO client.example", "250")
				w.cmd("MAIL FROM:<app@example.com>", sv.mail)
				// The fault fired once: the client's second STARTTLS is
				// the server's own, and TLS follows.
				if err := w.startTLS(srv.ClientTLSConfig()); err != nil {
					t.Fatalf("the second STARTTLS: %v", err)
				}
				w.cmd("EHLO client.example", "250")
				w.cmd("MAIL FROM:<app@example.com>", "250 2.1.0")
				w.quit()
				s := srv.WaitForSessions(t, 1)[0]
				if s.Ended != EndQuit || s.TLS == nil {
					t.Errorf("session ended %v with TLS %v; want %v under TLS", s.Ended, s.TLS, EndQuit)
				}
			})
		}
	}
}

// A RawReply whose last line is a complete 220 at StageStartTLS tells
// the client to start TLS, and the server does: the handshake follows,
// as after the server's own 220, whatever the rest of the line says.
func TestStartTLSRawReply220StartsTLS(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{"220 2.0.0 go ahead\r\n", "220 go\n", "220-TLS\r\n220 go\r\n"} {
		t.Run(raw, func(t *testing.T) {
			t.Parallel()
			srv := Start(t, WithSTARTTLS(), WithFault(At(StageStartTLS).RawReply(raw)))
			w := dialWire(t, srv.Addr(), nil)
			w.cmd("EHLO client.example", "250")
			w.cmd("STARTTLS", raw[:3])
			tc := tls.Client(w.conn, srv.ClientTLSConfig())
			if err := tc.HandshakeContext(t.Context()); err != nil {
				t.Fatalf("handshake after %q: %v", raw, err)
			}
			w = &wire{t: t, conn: tc, r: bufio.NewReader(tc)}
			w.cmd("EHLO client.example", "250")
			w.quit()
			if s := srv.WaitForSessions(t, 1)[0]; s.TLS == nil {
				t.Errorf("session without TLS after %q", raw)
			}
		})
	}
}

// A TLS failure acts on the handshake that follows STARTTLS: with a raw
// reply that refuses it, none follows, and the fault is refused where it
// is declared, as with a negative Reply.
func TestTLSFailureWithARefusingRawReplyIsRefused(t *testing.T) {
	t.Parallel()
	f := At(StageStartTLS).RawReply("454 4.7.0 no\r\n").ExpiredCertificate()
	if err := f.Err(); err == nil {
		t.Errorf("Err() = nil; want the fault refused (%v)", f)
	}
	if err := At(StageStartTLS).RawReply("220 go\r\n").ExpiredCertificate().Err(); err != nil {
		t.Errorf("a TLS failure after a raw 220: %v; want it taken", err)
	}
}
