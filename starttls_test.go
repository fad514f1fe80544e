package mocksmtp

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// STARTTLS makes the server forget an AUTH before it (RFC 3207 4.2); the
// session record forgets it too: a message sent after STARTTLS without a
// new AUTH comes from no authenticated client, and one after a new AUTH
// records that one.
func TestSTARTTLSForgetsAuthInTheRecord(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithSTARTTLS(), WithAuth("user", "secret"), WithAuth("other", "pw"), WithAuthMechanismsBeforeTLS(AuthPlain))
	w := dialWire(t, srv.Addr(), nil)
	w.cmd("EHLO client.example", "250")
	w.cmd("AUTH PLAIN AHVzZXIAc2VjcmV0", "235 2.7.0") // user
	if err := w.startTLS(srv.ClientTLSConfig()); err != nil {
		t.Fatal(err)
	}
	w.cmd("EHLO client.example", "250")
	w.cmd("MAIL FROM:<a@example.com>", "250 2.1.0")
	w.cmd("RCPT TO:<b@example.com>", "250 2.1.5")
	w.cmd("DATA", "354")
	w.send(mailBody + ".\r\n")
	w.expect("250 2.0.0")
	m := srv.WaitForMessages(t, 1)[0]
	if m.Session.Auth != nil {
		t.Errorf("message sent after STARTTLS without AUTH: Message.Session.Auth = %v, want none", m.Session.Auth)
	}
	if s := srv.Session(m.Session.ID); s.Auth != nil {
		t.Errorf("after STARTTLS: Session.Auth = %v, want none", s.Auth)
	}
	// The server forgot it: AUTH is taken again, not "already authenticated".
	w.cmd("AUTH PLAIN AG90aGVyAHB3", "235 2.7.0") // other
	w.quit()
	s := srv.WaitForSessions(t, 1)[0]
	want := &AuthInfo{Mechanism: AuthPlain, Username: "other", Success: true}
	if diff := cmp.Diff(want, s.Auth); diff != "" {
		t.Errorf("Session.Auth after AUTH under TLS (-want +got):\n%s", diff)
	}
}
