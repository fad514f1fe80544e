package mocksmtp

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/smtp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp/smtpd"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestAuthExchanges(t *testing.T) {
	t.Parallel()
	type step struct{ send, want string }
	tests := []struct {
		name  string
		steps []step // after EHLO
		want  *AuthInfo
	}{
		{
			name:  "PLAIN with initial response",
			steps: []step{{"AUTH PLAIN " + b64("\x00user\x00secret"), "235 2.7.0"}, {"MAIL FROM:<a@example.com>", "250 2.1.0"}},
			want:  &AuthInfo{Mechanism: "PLAIN", Username: "user", Success: true},
		},
		{
			name:  "PLAIN without initial response",
			steps: []step{{"AUTH PLAIN", "334"}, {b64("\x00user\x00secret"), "235 2.7.0"}},
			want:  &AuthInfo{Mechanism: "PLAIN", Username: "user", Success: true},
		},
		{
			name:  "PLAIN with the username as authorization identity",
			steps: []step{{"AUTH PLAIN " + b64("user\x00user\x00secret"), "235 2.7.0"}},
			want:  &AuthInfo{Mechanism: "PLAIN", Identity: "user", Username: "user", Success: true},
		},
		{
			name:  "PLAIN lower-case mechanism",
			steps: []step{{"auth plain " + b64("\x00user\x00secret"), "235 2.7.0"}},
			want:  &AuthInfo{Mechanism: "PLAIN", Username: "user", Success: true},
		},
		{
			name:  "PLAIN wrong password",
			steps: []step{{"AUTH PLAIN " + b64("\x00user\x00wrong"), "535 5.7.8"}, {"AUTH PLAIN " + b64("\x00user\x00secret"), "235 2.7.0"}},
			want:  &AuthInfo{Mechanism: "PLAIN", Username: "user", Success: true},
		},
		{
			name:  "PLAIN unknown user",
			steps: []step{{"AUTH PLAIN " + b64("\x00nobody\x00secret"), "535 5.7.8"}},
			want:  &AuthInfo{Mechanism: "PLAIN", Username: "nobody"},
		},
		{
			name:  "PLAIN another authorization identity",
			steps: []step{{"AUTH PLAIN " + b64("admin\x00user\x00secret"), "535 5.7.8"}},
			want:  &AuthInfo{Mechanism: "PLAIN", Identity: "admin", Username: "user"},
		},
		{
			name:  "PLAIN malformed response",
			steps: []step{{"AUTH PLAIN " + b64("user secret"), "535 5.7.8"}},
			want:  &AuthInfo{Mechanism: "PLAIN"},
		},
		{
			name:  "LOGIN",
			steps: []step{{"AUTH LOGIN", "334 " + b64("Username:")}, {b64("user"), "334 " + b64("Password:")}, {b64("secret"), "235 2.7.0"}},
			want:  &AuthInfo{Mechanism: "LOGIN", Username: "user", Success: true},
		},
		{
			name:  "LOGIN with the username as initial response",
			steps: []step{{"AUTH LOGIN " + b64("user"), "334 " + b64("Password:")}, {b64("secret"), "235 2.7.0"}},
			want:  &AuthInfo{Mechanism: "LOGIN", Username: "user", Success: true},
		},
		{
			name:  "LOGIN wrong password",
			steps: []step{{"AUTH LOGIN", "334"}, {b64("user"), "334"}, {b64("wrong"), "535 5.7.8"}},
			want:  &AuthInfo{Mechanism: "LOGIN", Username: "user"},
		},
		{
			name:  "cancelled with *",
			steps: []step{{"AUTH LOGIN", "334"}, {"*", "501"}, {"MAIL FROM:<a@example.com>", "250 2.1.0"}},
			want:  &AuthInfo{Mechanism: "LOGIN"},
		},
		{
			name:  "invalid base64 in the initial response",
			steps: []step{{"AUTH PLAIN not*base64", "501 5.5.2"}},
		},
		{
			name:  "invalid base64 in a response",
			steps: []step{{"AUTH LOGIN", "334"}, {"not*base64", "501 5.5.2"}},
			want:  &AuthInfo{Mechanism: "LOGIN"},
		},
		{
			name:  "CRAM-MD5 with an initial response",
			steps: []step{{"AUTH CRAM-MD5 " + b64("user 0123"), "501 5.7.0"}}, // RFC 4954 4
			want:  &AuthInfo{Mechanism: "CRAM-MD5"},
		},
		{
			name:  "unknown mechanism",
			steps: []step{{"AUTH XOAUTH2 " + b64("x"), "504 5.5.4"}},
		},
		{
			name:  "AUTH without mechanism",
			steps: []step{{"AUTH", "501 5.5.4"}},
		},
		{
			name:  "AUTH twice",
			steps: []step{{"AUTH PLAIN " + b64("\x00user\x00secret"), "235 2.7.0"}, {"AUTH PLAIN " + b64("\x00user\x00secret"), "503 5.5.1"}},
			want:  &AuthInfo{Mechanism: "PLAIN", Username: "user", Success: true},
		},
		{
			name:  "AUTH inside a mail transaction",
			steps: []step{{"MAIL FROM:<a@example.com>", "250 2.1.0"}, {"AUTH PLAIN " + b64("\x00user\x00secret"), "503 5.5.1"}},
		},
	}
	srv := Start(t, WithAuth("user", "secret"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := dialWire(t, srv.Addr(), nil)
			w.cmd("EHLO client.example", "250")
			for _, s := range tt.steps {
				w.cmd(s.send, s.want)
			}
			w.quit()
			s := waitSessionOf(t, srv, w)
			if diff := cmp.Diff(tt.want, s.Auth); diff != "" {
				t.Errorf("Session.Auth (-want +got):\n%s\n%s", diff, s.Transcript)
			}
			if strings.Contains(s.Transcript.String(), b64("secret")) {
				t.Errorf("transcript shows the password:\n%s", s.Transcript)
			}
		})
	}
}

// waitSessionOf waits for the session of the client w to end and returns it.
func waitSessionOf(t *testing.T, srv *Server, w *wire) *Session {
	t.Helper()
	local := w.conn.LocalAddr().String()
	for n := 1; ; n++ {
		for _, s := range srv.WaitForSessions(t, n) {
			if s.RemoteAddr.String() == local && s.Ended != Live {
				return s
			}
		}
	}
}

func TestAuthCRAMMD5(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithAuth("user", "secret"))
	for _, tt := range []struct {
		name, password, want string
	}{
		{"right password", "secret", "235 2.7.0"},
		{"wrong password", "wrong", "535 5.7.8"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := dialWire(t, srv.Addr(), nil)
			w.cmd("EHLO client.example", "250")
			lines := w.cmd("AUTH CRAM-MD5", "334")
			challenge, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(lines[0], "334 "))
			if err != nil || !strings.HasPrefix(string(challenge), "<") || !strings.HasSuffix(string(challenge), ">") {
				t.Fatalf("challenge %q (%v), want <...@...>", challenge, err)
			}
			mac := hmac.New(md5.New, []byte(tt.password))
			mac.Write(challenge)
			w.cmd(b64("user "+hex.EncodeToString(mac.Sum(nil))), tt.want)
			w.quit()
			s := waitSessionOf(t, srv, w)
			want := &AuthInfo{Mechanism: "CRAM-MD5", Username: "user", Success: tt.want[0] == '2'}
			if diff := cmp.Diff(want, s.Auth); diff != "" {
				t.Errorf("Session.Auth (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("challenges differ", func(t *testing.T) {
		t.Parallel()
		seen := map[string]bool{}
		for range 3 {
			w := dialWire(t, srv.Addr(), nil)
			w.cmd("EHLO client.example", "250")
			c := w.cmd("AUTH CRAM-MD5", "334")[0]
			if seen[c] {
				t.Fatalf("challenge %q given twice", c)
			}
			seen[c] = true
			w.cmd("*", "501")
		}
	})
}

func TestAuthNetSMTPCRAMMD5(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithAuth("user", "secret"))
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(smtp.CRAMMD5Auth("user", "secret")); err != nil {
		t.Fatalf("Auth: %v", err)
	}
	if err := sendOn(c, "app@example.com", "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	if s := srv.WaitForSessions(t, 1)[0]; s.Auth.String() != "CRAM-MD5 user ok" {
		t.Errorf("Session.Auth = %v", s.Auth)
	}
}

// A CRAM-MD5 user name may hold spaces: the digest is the response's
// last word (RFC 2195 2), as Go's net/smtp, Dovecot and Cyrus take it.
func TestAuthCRAMMD5UserWithSpaces(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithAuth("Ann Example", "secret"))
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(smtp.CRAMMD5Auth("Ann Example", "secret")); err != nil {
		t.Fatalf("Auth: %v", err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	if s := srv.WaitForSessions(t, 1)[0]; s.Auth.String() != "CRAM-MD5 Ann Example ok" {
		t.Errorf("Session.Auth = %v", s.Auth)
	}
}

// A mechanism's name is matched in ASCII only (RFC 4422 3.1: upper-case
// letters, digits, hyphens, underscores): a long s or a dotless i is no
// S or I, though Unicode's case mapping makes them so. The transcript
// masks a name it does not know, with what follows it.
func TestAuthMechanismNameIsASCII(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithAuth("user", "secret"), WithAuthMechanisms(AuthPlain, AuthSCRAMSHA256))
	for _, mechanism := range []string{"\u017fCRAM-SHA-256", "PLA\u0131N", "pla\u0131n"} {
		t.Run(mechanism, func(t *testing.T) {
			t.Parallel()
			w := dialWire(t, srv.Addr(), nil)
			w.cmd("EHLO client.example", "250")
			w.cmd("AUTH "+mechanism+" "+b64("\x00user\x00secret"), "504 5.5.4")
			w.cmd("AUTH plain "+b64("\x00user\x00secret"), "235 2.7.0")
			w.quit()
			if s := waitSessionOf(t, srv, w); s.Auth.String() != "PLAIN user ok" {
				t.Errorf("Session.Auth = %v", s.Auth)
			}
		})
	}
}

func TestAuthNotOffered(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	w := dialWire(t, srv.Addr(), nil)
	for _, kw := range ehloKeywords(w.cmd("EHLO client.example", "250")) {
		if kw == "AUTH" {
			t.Error("AUTH advertised without WithAuth")
		}
	}
	w.cmd("AUTH PLAIN "+b64("\x00user\x00secret"), "502 5.5.1")
}

func TestAuthFunc(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []Credentials
	srv := Start(t, WithAuthFunc(func(c Credentials) error {
		mu.Lock()
		got = append(got, c)
		mu.Unlock()
		switch c.Password {
		case "good":
			return nil
		case "busy":
			return smtpd.NewReply(454, "4.7.0 Temporary authentication failure")
		}
		return errors.New("no")
	}))
	w := dialWire(t, srv.Addr(), nil)
	ehlo := w.cmd("EHLO client.example", "250")
	if !slices.Contains(ehlo, "250-AUTH PLAIN LOGIN") {
		t.Errorf("EHLO = %q, want AUTH PLAIN LOGIN (no CRAM-MD5 without a known password)", ehlo)
	}
	w.cmd("AUTH PLAIN "+b64("\x00ann\x00bad"), "535 5.7.8")
	w.cmd("AUTH PLAIN "+b64("\x00ann\x00busy"), "454 4.7.0")
	w.cmd("AUTH LOGIN "+b64("bob"), "334")
	w.cmd(b64("good"), "235 2.7.0")
	want := []Credentials{
		{Mechanism: "PLAIN", Username: "ann", Password: "bad"},
		{Mechanism: "PLAIN", Username: "ann", Password: "busy"},
		{Mechanism: "LOGIN", Username: "bob", Password: "good"},
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("credentials seen by the check (-want +got):\n%s", diff)
	}
}

// A check of WithAuthFunc that answers 421 (its service is down) ends
// the session: 421 says the server closes the channel (RFC 5321 3.8), and
// the client reads the 421, then the end of the connection; the NOOP it
// pipelined after its AUTH gets no reply. The session ended as the
// server closed it.
func TestAuthFunc421Closes(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithAuthFunc(func(Credentials) error {
		return smtpd.NewReply(421, "4.3.2 Authentication service down, closing")
	}))
	w := dialWire(t, srv.Addr(), nil)
	w.cmd("EHLO client.example", "250")
	w.send("AUTH PLAIN " + b64("\x00ann\x00secret") + "\r\nNOOP\r\n")
	w.expect("421 4.3.2")
	if lines, err := w.read(); !errors.Is(err, io.EOF) || len(lines) > 0 {
		t.Fatalf("after the 421: %q, %v; want the end of the connection", lines, err)
	}
	if s := srv.WaitForSessionEnd(t, 1); s.Ended != EndServerClosed {
		t.Errorf("session ended as %v, want %v", s.Ended, EndServerClosed)
	}
}

func TestAuthMechanismsOption(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithAuthMechanisms("login", "PLAIN"), WithAuth("user", "secret"))
	w := dialWire(t, srv.Addr(), nil)
	ehlo := w.cmd("EHLO client.example", "250")
	if !slices.Contains(ehlo, "250-AUTH LOGIN PLAIN") {
		t.Errorf("EHLO = %q, want AUTH LOGIN PLAIN", ehlo)
	}
	w.cmd("AUTH CRAM-MD5", "504 5.5.4")

	for _, tt := range []struct {
		name string
		opts []Option
	}{
		{"unknown mechanism", []Option{WithAuth("u", "p"), WithAuthMechanisms("NTLM")}},
		{"no mechanism", []Option{WithAuthMechanisms()}},
		{"mechanism twice", []Option{WithAuthMechanisms("PLAIN", "plain")}},
		{"CRAM-MD5 without an account", []Option{WithAuthMechanisms("CRAM-MD5"), WithAuthFunc(func(Credentials) error { return nil })}},
		{"empty username", []Option{WithAuth("", "p")}},
		{"nil func", []Option{WithAuthFunc(nil)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := New(tt.opts...)
			if err == nil {
				srv.Close()
				t.Fatal("New succeeded, want an error")
			}
			if !strings.HasPrefix(err.Error(), "mocksmtp: ") {
				t.Errorf("error %q lacks the mocksmtp: prefix", err)
			}
		})
	}
}

func TestAuthSecretsShown(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		opts  []Option
		shown bool
	}{
		{"masked by default", nil, false},
		{"WithoutSecretMasking", []Option{WithoutSecretMasking()}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := Start(t, append(tt.opts, WithAuth("user", "secret"))...)
			w := dialWire(t, srv.Addr(), nil)
			w.cmd("EHLO client.example", "250")
			w.cmd("AUTH PLAIN "+b64("\x00user\x00secret"), "235")
			w.quit()
			s := srv.WaitForSessions(t, 1)[0]
			var authLines []string
			for _, l := range s.Transcript {
				if l.Dir == FromClient && strings.HasPrefix(l.Text, "AUTH") {
					authLines = append(authLines, l.Text)
				}
			}
			want := []string{"AUTH PLAIN ****"}
			if tt.shown {
				want = []string{"AUTH PLAIN " + b64("\x00user\x00secret")}
			}
			if diff := cmp.Diff(want, authLines); diff != "" {
				t.Errorf("AUTH lines in the transcript (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAuthInfoString(t *testing.T) {
	tests := []struct {
		info *AuthInfo
		want string
	}{
		{nil, "none"},
		{&AuthInfo{Mechanism: "PLAIN", Username: "user", Success: true}, "PLAIN user ok"},
		{&AuthInfo{Mechanism: "LOGIN", Username: "user"}, "LOGIN user failed"},
		{&AuthInfo{Mechanism: "PLAIN", Identity: "admin", Username: "user"}, "PLAIN admin as user failed"},
	}
	for _, tt := range tests {
		if got := tt.info.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.info, got, tt.want)
		}
	}
}

func TestAuthMechanismsBeforeTLS(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithAuth("user", "secret"), WithAuthMechanismsBeforeTLS(AuthCRAMMD5))
	w := dialWire(t, srv.Addr(), nil)
	ehlo := w.cmd("EHLO client.example", "250")
	if !slices.Contains(ehlo, "250-AUTH CRAM-MD5") || !slices.Contains(ehlo, "250-STARTTLS") {
		t.Errorf("EHLO before TLS = %q, want STARTTLS and AUTH CRAM-MD5 only", ehlo)
	}
	w.cmd("AUTH PLAIN "+b64("\x00user\x00secret"), "538 5.7.11")
	w.cmd("AUTH LOGIN", "538 5.7.11")
	w.cmd("AUTH XOAUTH2", "504 5.5.4")
	w.cmd("AUTH CRAM-MD5", "334")
	w.cmd("*", "501")
	if err := w.startTLS(srv.ClientTLSConfig()); err != nil {
		t.Fatal(err)
	}
	ehlo = w.cmd("EHLO client.example", "250")
	if !slices.Contains(ehlo, "250-AUTH PLAIN LOGIN CRAM-MD5") {
		t.Errorf("EHLO after TLS = %q, want AUTH PLAIN LOGIN CRAM-MD5", ehlo)
	}
	w.cmd("AUTH PLAIN "+b64("\x00user\x00secret"), "235 2.7.0")

	for _, opts := range [][]Option{
		{WithAuthMechanismsBeforeTLS()},
		{WithAuthMechanismsBeforeTLS("NTLM")},
		{WithAuthFunc(func(Credentials) error { return nil }), WithAuthMechanismsBeforeTLS(AuthCRAMMD5)},
	} {
		if srv, err := New(opts...); err == nil {
			srv.Close()
			t.Errorf("New(%d options) succeeded, want an error", len(opts))
		}
	}
}

// A line of an AUTH exchange that does not end in CRLF, or holds a bare
// CR or a NUL, ends the exchange with the reply a command line gets, 500
// 5.5.2, in every mechanism, whether it is a response after a 334 or the
// initial response on the AUTH line: the credentials it carries are not
// accepted (MAIL still needs AUTH), the transcript masks them, and a bare
// CR or LF is a bare-line-ending finding.
func TestAuthLinesEndInCRLF(t *testing.T) {
	t.Parallel()
	const token = "ya29.a0-good-token"
	srv := Start(t, WithAuth("user", "secret"), WithOAuthToken("ann@example.com", token), WithRequireAuth(),
		WithAuthMechanisms(AuthPlain, AuthLogin, AuthCRAMMD5, AuthXOAUTH2, AuthOAUTHBEARER,
			AuthSCRAMSHA1, AuthSCRAMSHA256, AuthSCRAMSHA256PLUS))
	// scram runs a SCRAM exchange up to the client's final message, which
	// it returns in base64.
	scram := func(m AuthMechanism, bind string) func(t *testing.T, w *wire) string {
		return func(t *testing.T, w *wire) string {
			conv := newSCRAMClient(t, w, strings.HasPrefix(string(m), "SCRAM-SHA-256"), "user", "secret", bind, false)
			first, err := conv.Step("")
			if err != nil {
				t.Fatal(err)
			}
			lines := w.cmd("AUTH "+string(m)+" "+b64(first), "334")
			challenge, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(lines[0], "334 "))
			if err != nil {
				t.Fatal(err)
			}
			final, err := conv.Step(string(challenge))
			if err != nil {
				t.Fatal(err)
			}
			return b64(final)
		}
	}
	// after returns an exchange that sends lines, each answered by 334,
	// and then the line it returns.
	after := func(last string, lines ...string) func(*testing.T, *wire) string {
		return func(_ *testing.T, w *wire) string {
			for _, l := range lines {
				w.cmd(l, "334")
			}
			return last
		}
	}
	tests := []struct {
		name string
		tls  bool
		// exchange runs the exchange up to the line that carries the
		// credentials, which it returns without its terminator.
		exchange func(t *testing.T, w *wire) string
	}{
		{"PLAIN", false, after(b64("\x00user\x00secret"), "AUTH PLAIN")},
		{"PLAIN initial response", false, after("AUTH PLAIN " + b64("\x00user\x00secret"))},
		{"LOGIN username", false, after(b64("user"), "AUTH LOGIN")},
		{"LOGIN password", false, after(b64("secret"), "AUTH LOGIN", b64("user"))},
		{"LOGIN initial response", false, after("AUTH LOGIN " + b64("user")) /* the username */},
		{"CRAM-MD5", false, func(t *testing.T, w *wire) string {
			lines := w.cmd("AUTH CRAM-MD5", "334")
			challenge, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(lines[0], "334 "))
			if err != nil {
				t.Fatal(err)
			}
			mac := hmac.New(md5.New, []byte("secret"))
			mac.Write(challenge)
			return b64("user " + hex.EncodeToString(mac.Sum(nil)))
		}},
		{"XOAUTH2", false, after(xoauth2("ann@example.com", token), "AUTH XOAUTH2")},
		{"XOAUTH2 initial response", false, after("AUTH XOAUTH2 " + xoauth2("ann@example.com", token))},
		{"OAUTHBEARER", false, after(oauthBearer("n,a=ann@example.com,", token), "AUTH OAUTHBEARER")},
		{"OAUTHBEARER initial response", false, after("AUTH OAUTHBEARER " + oauthBearer("n,a=ann@example.com,", token))},
		{"SCRAM-SHA-1", false, scram(AuthSCRAMSHA1, "")},
		{"SCRAM-SHA-256", false, scram(AuthSCRAMSHA256, "")},
		{"SCRAM-SHA-256-PLUS", true, scram(AuthSCRAMSHA256PLUS, "tls-exporter")},
	}
	endings := []struct {
		name    string
		frame   func(line string) string
		finding bool // a bare-line-ending finding
	}{
		{"bare LF", func(l string) string { return l + "\n" }, true},
		{"bare CR", func(l string) string { return l[:len(l)-4] + "\r" + l[len(l)-4:] + "\r\n" }, true},
		{"NUL", func(l string) string { return l + "\x00\r\n" }, false},
	}
	for _, tt := range tests {
		for _, e := range endings {
			t.Run(tt.name+"/"+e.name, func(t *testing.T) {
				t.Parallel()
				w := dialWire(t, srv.Addr(), nil)
				w.cmd("EHLO client.example", "250")
				if tt.tls {
					if err := w.startTLS(srv.ClientTLSConfig()); err != nil {
						t.Fatal(err)
					}
					w.cmd("EHLO client.example", "250")
				}
				line := tt.exchange(t, w)
				w.send(e.frame(line))
				w.expect("500 5.5.2")
				w.cmd("MAIL FROM:<a@example.com>", "530 5.7.0") // not authenticated
				w.quit()
				s := waitSessionOf(t, srv, w)
				if s.Auth != nil && s.Auth.Success {
					t.Errorf("Session.Auth = %v, want no success", s.Auth)
				}
				// The line refused shows as "****" ("AUTH MECH ****" for the
				// AUTH line), whatever it holds.
				for i, l := range s.Transcript {
					if l.Dir == FromServer && strings.HasPrefix(l.Text, "500 5.5.2") {
						if c := s.Transcript[i-1]; c.Dir != FromClient || !strings.HasSuffix(c.Text, "****") {
							t.Errorf("the line refused shows as %q, want it masked:\n%s", c, s.Transcript)
						}
						break
					}
				}
				words := strings.Fields(line)
				if secret := words[len(words)-1]; strings.Contains(s.Transcript.String(), secret) {
					t.Errorf("the transcript shows %q:\n%s", secret, s.Transcript)
				}
				for _, p := range []string{"secret", token} {
					if leak := secretIn(s.Transcript, p); leak != "" {
						t.Errorf("the transcript shows %q: %s", p, leak)
					}
				}
				var found []Finding
				for _, f := range srv.Findings() {
					if f.Session == s.ID && f.Rule == RuleBareLineEnding {
						found = append(found, f)
					}
				}
				switch {
				case e.finding && len(found) != 1:
					t.Errorf("bare-line-ending findings %v, want one\n%s", found, s.Transcript)
				case e.finding && !strings.HasPrefix(line, "AUTH ") && !strings.HasPrefix(found[0].Text, "AUTH response line "):
					t.Errorf("the finding says %q, want it about an AUTH response line", found[0].Text)
				case !e.finding && len(found) > 0:
					t.Errorf("bare-line-ending findings %v, want none", found)
				}
			})
		}
	}
}

// Under WithRejectNonconforming, an AUTH response ending in a bare LF gets
// the strict MTA's 550 5.5.2 of a command line with one, and the exchange
// takes no effect either.
func TestAuthBareLFRejectNonconforming(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithAuth("user", "secret"), WithRequireAuth(), WithRejectNonconforming())
	for _, tt := range []struct {
		name     string
		before   []string // lines answered by 334
		response string
	}{
		{"a response", []string{"AUTH LOGIN", b64("user")}, b64("secret") + "\n"},
		{"the initial response", nil, "AUTH PLAIN " + b64("\x00user\x00secret") + "\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := dialWire(t, srv.Addr(), nil)
			w.cmd("EHLO client.example", "250")
			for _, l := range tt.before {
				w.cmd(l, "334")
			}
			w.send(tt.response)
			w.expect("550 5.5.2")
			w.cmd("MAIL FROM:<a@example.com>", "530 5.7.0")
			w.quit()
		})
	}
}

// TestAuthMechanismsBeforeTLSNeedABeforeTLS checks that New refuses
// WithAuthMechanismsBeforeTLS with an option after which nothing is
// offered before TLS, in either order, and names both (AUTH then got
// 538, and the mechanisms before TLS were never offered).
func TestAuthMechanismsBeforeTLSNeedABeforeTLS(t *testing.T) {
	t.Parallel()
	auth, before := WithAuth("user", "secret"), WithAuthMechanismsBeforeTLS(AuthCRAMMD5)
	const (
		afterTLS = "mocksmtp: WithAuthMechanismsBeforeTLS and WithRequireTLSForAuth: AUTH is offered only after TLS, " +
			"so no mechanism is offered before it; choose one"
		implicit = "mocksmtp: WithAuthMechanismsBeforeTLS and WithImplicitTLS: a session speaks TLS from its first byte, " +
			"so nothing is offered before TLS; choose one"
	)
	for _, tt := range []struct {
		name string
		opts []Option
		want string
	}{
		{"AUTH only after TLS", []Option{auth, before, WithRequireTLSForAuth()}, afterTLS},
		{"AUTH only after TLS, given first", []Option{WithRequireTLSForAuth(), auth, before}, afterTLS},
		{"AUTH only after TLS, over STARTTLS given", []Option{WithSTARTTLS(), auth, WithRequireTLSForAuth(), before}, afterTLS},
		{"AUTH only after TLS in the engine's configuration", []Option{auth, before, WithEngineConfig(smtpd.Config{AuthRequiresTLS: true})},
			strings.Replace(afterTLS, "WithRequireTLSForAuth", "WithEngineConfig's AuthRequiresTLS", 1)},
		{"implicit TLS", []Option{auth, before, WithImplicitTLS()}, implicit},
		{"implicit TLS, given first", []Option{WithImplicitTLS(), before, auth}, implicit},
		{"implicit TLS in the engine's configuration", []Option{WithEngineConfig(smtpd.Config{ImplicitTLS: true}), auth, before},
			strings.Replace(implicit, "WithImplicitTLS", "WithEngineConfig's ImplicitTLS", 1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, err := New(tt.opts...)
			if err == nil {
				srv.Close()
				t.Fatalf("New succeeded, want %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("New: %q, want %q", err, tt.want)
			}
		})
	}
}

// TestDeadSettingsRefused checks that New refuses settings that what
// else is given leaves dead, in either order, naming both options (or the
// option and what it needs): they were accepted, and every MAIL got 530
// with AUTH never offered (WithRequireAuth), STARTTLS alone was turned on
// (WithRequireTLSForAuth), or implicit TLS silently won (WithSTARTTLS).
// The same settings with what makes them live are accepted.
func TestDeadSettingsRefused(t *testing.T) {
	t.Parallel()
	const (
		requireAuth = "mocksmtp: WithRequireAuth needs WithAuth, WithOAuthToken or WithAuthFunc: " +
			"nothing offers AUTH, so every MAIL would get 530 5.7.0 and no client could send"
		authAfterTLS = "mocksmtp: WithRequireTLSForAuth needs WithAuth, WithOAuthToken or WithAuthFunc: " +
			"nothing offers AUTH, so there is none to offer after TLS (WithSTARTTLS offers STARTTLS alone)"
		starttls = "mocksmtp: WithSTARTTLS and WithImplicitTLS: a session speaks TLS from its first byte, " +
			"so STARTTLS is never offered; choose one"
		noTLS = "mocksmtp: WithEngineConfig's AuthRequiresTLS needs TLS: without WithSTARTTLS, WithTLSConfig, WithImplicitTLS or a TLSConfig of its own, " +
			"AUTH would be offered only after a TLS that never comes, and no client could authenticate (WithRequireTLSForAuth turns STARTTLS on)"
		noCert = "mocksmtp: %s needs TLS, and WithEngineConfig's TLSConfig has no certificate (Certificates, GetCertificate or GetConfigForClient): " +
			"every TLS handshake would fail, and no client could %s (WithTLSConfig replaces it)"
	)
	engineAuth := WithEngineConfig(smtpd.Config{AuthMechanisms: []string{"PLAIN"},
		NewSASL: func(string) (smtpd.SASLServer, error) {
			return &loginServer{verify: func(Credentials) error { return nil }}, nil
		}})
	check := WithAuthFunc(func(Credentials) error { return nil })
	pki, err := defaultPKI()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		opts []Option
		want string // "": New accepts them
	}{
		{"AUTH required, none offered", []Option{WithRequireAuth()}, requireAuth},
		{"AUTH required, none offered, with TLS", []Option{WithSTARTTLS(), WithRequireTLS(), WithRequireAuth()}, requireAuth},
		{"AUTH required in the engine's configuration, none offered", []Option{WithEngineConfig(smtpd.Config{RequireAuth: true})},
			strings.Replace(requireAuth, "WithRequireAuth", "WithEngineConfig's RequireAuth", 1)},
		{"AUTH only after TLS, none offered", []Option{WithRequireTLSForAuth()}, authAfterTLS},
		{"AUTH only after TLS, none offered, over STARTTLS given", []Option{WithRequireTLSForAuth(), WithSTARTTLS()}, authAfterTLS},
		{"AUTH only after TLS in the engine's configuration, none offered", []Option{WithSTARTTLS(), WithEngineConfig(smtpd.Config{AuthRequiresTLS: true})},
			strings.Replace(authAfterTLS, "WithRequireTLSForAuth", "WithEngineConfig's AuthRequiresTLS", 1)},
		// AUTH offered only after TLS that never comes: it was accepted,
		// and no client could authenticate.
		{"AUTH only after TLS in the engine's configuration, no TLS", []Option{WithAuth("u", "p"), WithEngineConfig(smtpd.Config{AuthRequiresTLS: true})}, noTLS},
		{"AUTH only after TLS in the engine's configuration, no TLS, the engine's own AUTH", []Option{WithEngineConfig(smtpd.Config{AuthRequiresTLS: true, AuthMechanisms: []string{"PLAIN"},
			NewSASL: func(string) (smtpd.SASLServer, error) {
				return &loginServer{verify: func(Credentials) error { return nil }}, nil
			}})}, noTLS},
		{"TLS required in the engine's configuration, no TLS", []Option{WithEngineConfig(smtpd.Config{RequireTLS: true})},
			"mocksmtp: WithEngineConfig's RequireTLS needs TLS: without WithSTARTTLS, WithTLSConfig, WithImplicitTLS or a TLSConfig of its own, " +
				"every MAIL would get 530 5.7.0 with STARTTLS never offered, and no client could send (WithRequireTLS turns STARTTLS on)"},
		{"implicit TLS in the engine's configuration, no TLS configuration", []Option{WithEngineConfig(smtpd.Config{ImplicitTLS: true})},
			"mocksmtp: WithEngineConfig's ImplicitTLS needs a TLS configuration: without WithTLSConfig, WithImplicitTLS or a TLSConfig of its own, " +
				"every TLS handshake would fail, and no client could connect (WithImplicitTLS uses the test certificate)"},
		// TLS needed, and the base's TLS configuration without a
		// certificate, which WithTLSConfig refuses: it was accepted,
		// and every handshake failed ("unrecognized name"), so that no
		// client could connect, send or authenticate.
		{"implicit TLS in the engine's configuration, its TLS configuration without a certificate", []Option{WithEngineConfig(smtpd.Config{TLSConfig: &tls.Config{}, ImplicitTLS: true})},
			fmt.Sprintf(noCert, "WithEngineConfig's ImplicitTLS", "connect")},
		{"implicit TLS, the engine's TLS configuration without a certificate", []Option{WithEngineConfig(smtpd.Config{TLSConfig: &tls.Config{}}), WithImplicitTLS()},
			fmt.Sprintf(noCert, "WithImplicitTLS", "connect")},
		{"TLS required, the engine's TLS configuration without a certificate", []Option{WithEngineConfig(smtpd.Config{TLSConfig: &tls.Config{}}), WithRequireTLS()},
			fmt.Sprintf(noCert, "WithRequireTLS", "send")},
		{"AUTH only after TLS in the engine's configuration, its TLS configuration without a certificate", []Option{WithAuth("u", "p"), WithEngineConfig(smtpd.Config{TLSConfig: &tls.Config{}, AuthRequiresTLS: true})},
			fmt.Sprintf(noCert, "WithEngineConfig's AuthRequiresTLS", "authenticate")},
		// Alone, it offers STARTTLS whose handshake fails, as a TLS
		// failure fault does (faultEveryStage, fault_test.go).
		{"the engine's TLS configuration without a certificate", []Option{WithEngineConfig(smtpd.Config{TLSConfig: &tls.Config{}}), WithSTARTTLS()}, ""},
		{"implicit TLS, the engine's TLS configuration without a certificate, replaced by WithTLSConfig", []Option{WithEngineConfig(smtpd.Config{TLSConfig: &tls.Config{}}), WithImplicitTLS(), WithTLSConfig(pki.serverConfig())}, ""},
		{"STARTTLS and implicit TLS", []Option{WithSTARTTLS(), WithImplicitTLS()}, starttls},
		{"implicit TLS and STARTTLS", []Option{WithImplicitTLS(), WithAuth("u", "p"), WithSTARTTLS()}, starttls},
		{"STARTTLS and implicit TLS in the engine's configuration", []Option{WithEngineConfig(smtpd.Config{ImplicitTLS: true}), WithSTARTTLS()},
			strings.Replace(starttls, "WithImplicitTLS", "WithEngineConfig's ImplicitTLS", 1)},

		{"AUTH required, accounts", []Option{WithRequireAuth(), WithAuth("u", "p")}, ""},
		{"AUTH required, tokens", []Option{WithRequireAuth(), WithOAuthToken("u", "t")}, ""},
		{"AUTH required, a check", []Option{check, WithRequireAuth()}, ""},
		{"AUTH required, the engine's own AUTH", []Option{engineAuth, WithRequireAuth()}, ""},
		{"AUTH only after TLS, a check", []Option{WithRequireTLSForAuth(), check}, ""},
		{"AUTH only after TLS, the engine's own AUTH", []Option{WithRequireTLSForAuth(), engineAuth}, ""},
		{"AUTH only after TLS in the engine's configuration, STARTTLS", []Option{WithAuth("u", "p"), WithSTARTTLS(), WithEngineConfig(smtpd.Config{AuthRequiresTLS: true})}, ""},
		{"AUTH only after TLS in the engine's configuration, implicit TLS", []Option{WithAuth("u", "p"), WithImplicitTLS(), WithEngineConfig(smtpd.Config{AuthRequiresTLS: true})}, ""},
		{"AUTH only after TLS in the engine's configuration, its TLS configuration", []Option{WithAuth("u", "p"), WithEngineConfig(smtpd.Config{AuthRequiresTLS: true, TLSConfig: pki.serverConfig()})}, ""},
		{"TLS required in the engine's configuration, STARTTLS", []Option{WithEngineConfig(smtpd.Config{RequireTLS: true}), WithSTARTTLS()}, ""},
		{"implicit TLS in the engine's configuration, WithTLSConfig", []Option{WithEngineConfig(smtpd.Config{ImplicitTLS: true}), WithTLSConfig(pki.serverConfig())}, ""},
		{"implicit TLS in the engine's configuration, WithImplicitTLS", []Option{WithEngineConfig(smtpd.Config{ImplicitTLS: true}), WithImplicitTLS()}, ""},
		{"implicit TLS with a configuration of its own", []Option{WithImplicitTLS(), WithTLSConfig(pki.serverConfig())}, ""},
		{"STARTTLS, required", []Option{WithSTARTTLS(), WithRequireTLS()}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, err := New(tt.opts...)
			if err == nil {
				srv.Close()
			}
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("New: %v, want a server", err)
			case tt.want != "" && err == nil:
				t.Fatalf("New succeeded, want %q", tt.want)
			case tt.want != "" && err.Error() != tt.want:
				t.Errorf("New: %q, want %q", err, tt.want)
			}
		})
	}
}

// TestAuthMechanismsBeforeTLSWithRequireTLS checks that WithRequireTLS,
// which refuses AUTH before TLS and then advertises none by default,
// goes with WithAuthMechanismsBeforeTLS: the first EHLO reply offers the
// mechanisms it names before TLS, and AUTH gets 530 5.7.0 as MAIL does, so
// that a client that keeps what the first EHLO reply said after STARTTLS
// is caught.
func TestAuthMechanismsBeforeTLSWithRequireTLS(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithAuth("user", "secret"), WithAuthMechanisms(AuthPlain), WithAuthMechanismsBeforeTLS(AuthCRAMMD5), WithRequireTLS())
	w := dialWire(t, srv.Addr(), nil)
	if ehlo := w.cmd("EHLO client.example", "250"); !slices.Contains(ehlo, "250-AUTH CRAM-MD5") {
		t.Errorf("EHLO before TLS = %q, want AUTH CRAM-MD5", ehlo)
	}
	w.cmd("AUTH CRAM-MD5", "530 5.7.0")
	w.cmd("MAIL FROM:<a@example.com>", "530 5.7.0")
	if err := w.startTLS(srv.ClientTLSConfig()); err != nil {
		t.Fatal(err)
	}
	if ehlo := w.cmd("EHLO client.example", "250"); !slices.Contains(ehlo, "250-AUTH PLAIN") {
		t.Errorf("EHLO after TLS = %q, want AUTH PLAIN", ehlo)
	}
	w.cmd("AUTH CRAM-MD5", "504 5.5.4")
	w.cmd("AUTH PLAIN "+b64("\x00user\x00secret"), "235 2.7.0")
}
