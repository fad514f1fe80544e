package mocksmtp

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp/smtpd"
)

// xoauth2 is XOAUTH2's client message.
func xoauth2(user, token string) string {
	return b64("user=" + user + "\x01auth=Bearer " + token + "\x01\x01")
}

// oauthBearer is OAUTHBEARER's client message, with the GS2 header gs2.
func oauthBearer(gs2, token string) string {
	return b64(gs2 + "\x01host=localhost\x01port=25\x01auth=Bearer " + token + "\x01\x01")
}

// challengeJSON decodes the JSON error challenge of a 334 reply.
func challengeJSON(t *testing.T, lines []string) map[string]string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(lines[len(lines)-1], "334 "))
	if err != nil {
		t.Fatalf("challenge %q: %v", lines, err)
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("challenge %q is no JSON object: %v", raw, err)
	}
	return m
}

func TestAuthOAuthExchanges(t *testing.T) {
	t.Parallel()
	const token = "ya29.a0-good-token"
	type step struct{ send, want string }
	tests := []struct {
		name      string
		steps     []step // after EHLO
		wantJSON  map[string]string
		want      *AuthInfo
		mailAfter bool // MAIL is accepted afterwards
	}{
		{
			name:  "XOAUTH2 with initial response",
			steps: []step{{"AUTH XOAUTH2 " + xoauth2("ann@example.com", token), "235 2.7.0"}},
			want:  &AuthInfo{Mechanism: AuthXOAUTH2, Username: "ann@example.com", Success: true},
		},
		{
			name:  "XOAUTH2 without initial response",
			steps: []step{{"AUTH XOAUTH2", "334"}, {xoauth2("ann@example.com", token), "235 2.7.0"}},
			want:  &AuthInfo{Mechanism: AuthXOAUTH2, Username: "ann@example.com", Success: true},
		},
		{
			name:  "XOAUTH2 bearer scheme in any case",
			steps: []step{{"AUTH XOAUTH2 " + b64("user=ann@example.com\x01auth=bearer "+token+"\x01\x01"), "235 2.7.0"}},
			want:  &AuthInfo{Mechanism: AuthXOAUTH2, Username: "ann@example.com", Success: true},
		},
		{
			name:     "XOAUTH2 wrong token: JSON error challenge, then 535",
			steps:    []step{{"AUTH XOAUTH2 " + xoauth2("ann@example.com", "expired"), "334"}, {"", "535 5.7.8"}},
			wantJSON: map[string]string{"status": "401", "schemes": "bearer"},
			want:     &AuthInfo{Mechanism: AuthXOAUTH2, Username: "ann@example.com"},
		},
		{
			name:     "XOAUTH2 another user's token",
			steps:    []step{{"AUTH XOAUTH2 " + xoauth2("bob@example.com", token), "334"}, {"", "535 5.7.8"}},
			wantJSON: map[string]string{"status": "401", "schemes": "bearer"},
			want:     &AuthInfo{Mechanism: AuthXOAUTH2, Username: "bob@example.com"},
		},
		{
			// XOAUTH2 names its user (Gmail refuses user= empty): unlike
			// OAUTHBEARER's optional a=, an empty one is no one.
			name:     "XOAUTH2 with an empty user and a good token",
			steps:    []step{{"AUTH XOAUTH2 " + xoauth2("", token), "334"}, {"", "535 5.7.8"}},
			wantJSON: map[string]string{"status": "401", "schemes": "bearer"},
			want:     &AuthInfo{Mechanism: AuthXOAUTH2},
		},
		{
			name:     "XOAUTH2 error challenge cancelled",
			steps:    []step{{"AUTH XOAUTH2 " + xoauth2("ann@example.com", "expired"), "334"}, {"*", "501 5.0.0"}},
			wantJSON: map[string]string{"status": "401", "schemes": "bearer"},
			want:     &AuthInfo{Mechanism: AuthXOAUTH2, Username: "ann@example.com"},
		},
		{
			name:  "XOAUTH2 malformed",
			steps: []step{{"AUTH XOAUTH2 " + b64("user=ann@example.com auth=Bearer x"), "501 5.5.2"}},
			want:  &AuthInfo{Mechanism: AuthXOAUTH2},
		},
		{
			name:  "XOAUTH2 not a bearer token",
			steps: []step{{"AUTH XOAUTH2 " + b64("user=ann@example.com\x01auth=Basic "+token+"\x01\x01"), "501 5.5.2"}},
			want:  &AuthInfo{Mechanism: AuthXOAUTH2},
		},
		{
			name:      "OAUTHBEARER with an authorization identity",
			steps:     []step{{"AUTH OAUTHBEARER " + oauthBearer("n,a=ann@example.com,", token), "235 2.7.0"}},
			want:      &AuthInfo{Mechanism: AuthOAUTHBEARER, Username: "ann@example.com", Success: true},
			mailAfter: true,
		},
		{
			name:  "OAUTHBEARER without one: the token names the user",
			steps: []step{{"AUTH OAUTHBEARER " + oauthBearer("n,,", token), "235 2.7.0"}},
			want:  &AuthInfo{Mechanism: AuthOAUTHBEARER, Username: "ann@example.com", Success: true},
		},
		{
			name:  "OAUTHBEARER without initial response, y flag, escaped name",
			steps: []step{{"AUTH OAUTHBEARER", "334"}, {oauthBearer("y,a=odd=2Cname=3D,", "odd-token"), "235 2.7.0"}},
			want:  &AuthInfo{Mechanism: AuthOAUTHBEARER, Username: "odd,name=", Success: true},
		},
		{
			name:     "OAUTHBEARER wrong token: RFC 7628 error challenge, %x01, 535",
			steps:    []step{{"AUTH OAUTHBEARER " + oauthBearer("n,a=ann@example.com,", "expired"), "334"}, {b64("\x01"), "535 5.7.8"}},
			wantJSON: map[string]string{"status": "invalid_token", "schemes": "bearer"},
			want:     &AuthInfo{Mechanism: AuthOAUTHBEARER, Username: "ann@example.com"},
		},
		{
			name:     "OAUTHBEARER wrong token, empty answer to the challenge",
			steps:    []step{{"AUTH OAUTHBEARER " + oauthBearer("n,,", "expired"), "334"}, {"=", "535 5.7.8"}},
			wantJSON: map[string]string{"status": "invalid_token", "schemes": "bearer"},
			want:     &AuthInfo{Mechanism: AuthOAUTHBEARER},
		},
		{
			name:     "OAUTHBEARER asks for channel binding",
			steps:    []step{{"AUTH OAUTHBEARER " + oauthBearer("p=tls-unique,,", token), "334"}, {b64("\x01"), "501 5.5.2"}},
			wantJSON: map[string]string{"status": "invalid_request", "schemes": "bearer"},
			want:     &AuthInfo{Mechanism: AuthOAUTHBEARER},
		},
		{
			name:     "OAUTHBEARER without auth=",
			steps:    []step{{"AUTH OAUTHBEARER " + b64("n,,\x01host=x\x01\x01"), "334"}, {b64("\x01"), "501 5.5.2"}},
			wantJSON: map[string]string{"status": "invalid_request", "schemes": "bearer"},
			want:     &AuthInfo{Mechanism: AuthOAUTHBEARER},
		},
		{
			name:     "OAUTHBEARER bad escape",
			steps:    []step{{"AUTH OAUTHBEARER " + oauthBearer("n,a=x=41,", token), "334"}, {b64("\x01"), "501 5.5.2"}},
			wantJSON: map[string]string{"status": "invalid_request", "schemes": "bearer"},
			want:     &AuthInfo{Mechanism: AuthOAUTHBEARER},
		},
		{
			name:  "PLAIN is not offered for tokens alone",
			steps: []step{{"AUTH PLAIN " + b64("\x00ann@example.com\x00"+token), "504 5.5.4"}},
		},
	}
	srv := Start(t, WithOAuthToken("ann@example.com", token), WithOAuthToken("odd,name=", "odd-token"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := dialWire(t, srv.Addr(), nil)
			ehlo := w.cmd("EHLO client.example", "250")
			if !slices.Contains(ehlo, "250-AUTH XOAUTH2 OAUTHBEARER") {
				t.Errorf("EHLO = %q, want AUTH XOAUTH2 OAUTHBEARER", ehlo)
			}
			for _, s := range tt.steps {
				lines := w.cmd(s.send, s.want)
				if s.want == "334" && tt.wantJSON != nil && s.send != "AUTH XOAUTH2" && s.send != "AUTH OAUTHBEARER" {
					if diff := cmp.Diff(tt.wantJSON, challengeJSON(t, lines)); diff != "" {
						t.Errorf("error challenge (-want +got):\n%s", diff)
					}
				}
			}
			if tt.mailAfter {
				w.cmd("MAIL FROM:<ann@example.com>", "250 2.1.0")
			}
			w.quit()
			s := waitSessionOf(t, srv, w)
			if diff := cmp.Diff(tt.want, s.Auth); diff != "" {
				t.Errorf("Session.Auth (-want +got):\n%s\n%s", diff, s.Transcript)
			}
			if leak := secretIn(s.Transcript, token); leak != "" {
				t.Errorf("the transcript shows the token: %s\n%s", leak, s.Transcript)
			}
		})
	}
}

// secretIn returns the transcript line that shows secret, as it is or in
// base64 (any word of a line that decodes to something holding it), or "".
func secretIn(tr Transcript, secret string) string {
	for _, l := range tr {
		if strings.Contains(l.Text, secret) {
			return l.String()
		}
		for _, w := range strings.Fields(l.Text) {
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
				if b, err := enc.DecodeString(w); err == nil && strings.Contains(string(b), secret) {
					return l.String() + " (base64)"
				}
			}
		}
	}
	return ""
}

func TestAuthOAuthFunc(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []Credentials
	srv := Start(t,
		WithAuthFunc(func(c Credentials) error {
			mu.Lock()
			got = append(got, c)
			mu.Unlock()
			switch c.Token {
			case "good":
				return nil
			case "busy":
				return smtpd.NewReply(454, "4.7.0 Temporary authentication failure")
			}
			return errors.New("no")
		}),
		WithAuthMechanisms(AuthOAUTHBEARER, AuthXOAUTH2, AuthPlain),
	)
	w := dialWire(t, srv.Addr(), nil)
	ehlo := w.cmd("EHLO client.example", "250")
	if !slices.Contains(ehlo, "250-AUTH OAUTHBEARER XOAUTH2 PLAIN") {
		t.Errorf("EHLO = %q, want AUTH OAUTHBEARER XOAUTH2 PLAIN", ehlo)
	}
	w.cmd("AUTH XOAUTH2 "+xoauth2("ann", "bad"), "334")
	w.cmd("", "535 5.7.8")
	w.cmd("AUTH OAUTHBEARER "+oauthBearer("n,a=bob,", "busy"), "454 4.7.0")
	w.cmd("AUTH OAUTHBEARER "+oauthBearer("n,,", "good"), "235 2.7.0")
	want := []Credentials{
		{Mechanism: AuthXOAUTH2, Username: "ann", Token: "bad"},
		{Mechanism: AuthOAUTHBEARER, Username: "bob", Token: "busy"},
		{Mechanism: AuthOAUTHBEARER, Token: "good"},
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("credentials seen by the check (-want +got):\n%s", diff)
	}
}

func TestAuthDefaultMechanisms(t *testing.T) {
	t.Parallel()
	check := func(Credentials) error { return nil }
	for _, tt := range []struct {
		name string
		opts []Option
		want string // the EHLO AUTH line
	}{
		{"accounts", []Option{WithAuth("u", "p")}, "250-AUTH PLAIN LOGIN CRAM-MD5"},
		{"a check", []Option{WithAuthFunc(check)}, "250-AUTH PLAIN LOGIN"},
		{"tokens", []Option{WithOAuthToken("u", "t")}, "250-AUTH XOAUTH2 OAUTHBEARER"},
		{"accounts and tokens", []Option{WithOAuthToken("u", "t"), WithAuth("u", "p")}, "250-AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2 OAUTHBEARER"},
		{"a check and tokens", []Option{WithAuthFunc(check), WithOAuthToken("u", "t")}, "250-AUTH PLAIN LOGIN XOAUTH2 OAUTHBEARER"},
		{"SCRAM named", []Option{WithAuth("u", "p"), WithAuthMechanisms(AuthSCRAMSHA256, AuthSCRAMSHA1)}, "250-AUTH SCRAM-SHA-256 SCRAM-SHA-1"},
		{"options in any order", []Option{WithAuthMechanisms(AuthXOAUTH2, AuthCRAMMD5), WithAuth("u", "p"), WithOAuthToken("u", "t")}, "250-AUTH XOAUTH2 CRAM-MD5"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := Start(t, tt.opts...)
			w := dialWire(t, srv.Addr(), nil)
			if ehlo := w.cmd("EHLO client.example", "250"); !slices.Contains(ehlo, tt.want) {
				t.Errorf("EHLO = %q, want %q", ehlo, tt.want)
			}
		})
	}
}

func TestAuthMechanismNeeds(t *testing.T) {
	t.Parallel()
	check := func(Credentials) error { return nil }
	for _, tt := range []struct {
		name string
		opts []Option
		want string // in the error
	}{
		{"XOAUTH2 with accounts only", []Option{WithAuth("u", "p"), WithAuthMechanisms(AuthXOAUTH2)}, "XOAUTH2 needs a token of WithOAuthToken or WithAuthFunc"},
		{"PLAIN with tokens only", []Option{WithOAuthToken("u", "t"), WithAuthMechanisms(AuthPlain)}, "PLAIN needs an account of WithAuth or WithAuthFunc"},
		{"SCRAM with a check", []Option{WithAuthFunc(check), WithAuthMechanisms(AuthSCRAMSHA256)}, "SCRAM-SHA-256 needs the password, so an account of WithAuth"},
		{"SCRAM with tokens", []Option{WithOAuthToken("u", "t"), WithAuthMechanisms(AuthSCRAMSHA1)}, "SCRAM-SHA-1 needs the password"},
		{"PLUS before TLS", []Option{WithAuth("u", "p"), WithAuthMechanismsBeforeTLS(AuthSCRAMSHA256PLUS)}, "binds the TLS channel"},
		{"before TLS with a check", []Option{WithAuthFunc(check), WithAuthMechanismsBeforeTLS(AuthCRAMMD5)},
			"mocksmtp: WithAuthMechanismsBeforeTLS: CRAM-MD5 needs the password, so an account of WithAuth"},
		// Without what checks them, the mechanisms named were silently
		// dead: no AUTH, and STARTTLS for mechanisms before TLS or -PLUS.
		{"before TLS without AUTH", []Option{WithAuthMechanismsBeforeTLS(AuthCRAMMD5)},
			"mocksmtp: WithAuthMechanismsBeforeTLS: CRAM-MD5 needs the password, so an account of WithAuth"},
		{"before TLS without AUTH, PLAIN", []Option{WithAuthMechanismsBeforeTLS(AuthPlain)},
			"mocksmtp: WithAuthMechanismsBeforeTLS: PLAIN needs an account of WithAuth or WithAuthFunc"},
		{"mechanisms without AUTH", []Option{WithAuthMechanisms(AuthXOAUTH2)},
			"mocksmtp: WithAuthMechanisms: XOAUTH2 needs a token of WithOAuthToken or WithAuthFunc"},
		{"-PLUS without AUTH", []Option{WithAuthMechanisms(AuthSCRAMSHA256PLUS)},
			"mocksmtp: WithAuthMechanisms: SCRAM-SHA-256-PLUS needs the password, so an account of WithAuth"},
		{"empty token", []Option{WithOAuthToken("u", "")}, "want a username and a token"},
		{"empty user", []Option{WithOAuthToken("", "t")}, "want a username and a token"},
		{"unknown mechanism", []Option{WithAuth("u", "p"), WithAuthMechanisms("NTLM")}, `unknown mechanism "NTLM" (want one of PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER, SCRAM-SHA-1, SCRAM-SHA-256, SCRAM-SHA-1-PLUS, SCRAM-SHA-256-PLUS)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, err := New(tt.opts...)
			if err == nil {
				srv.Close()
				t.Fatalf("New succeeded, want an error with %q", tt.want)
			}
			if !strings.HasPrefix(err.Error(), "mocksmtp: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want mocksmtp: ...%s...", err, tt.want)
			}
		})
	}
}

// TestAuthAbandoned checks that an exchange the client gives up by
// closing the connection, as curl does after XOAUTH2's error challenge,
// is recorded as failed.
func TestAuthAbandoned(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithOAuthToken("ann", "good"), WithAuth("bob", "secret"))
	for _, tt := range []struct {
		name  string
		steps [][2]string
		want  *AuthInfo
	}{
		{"after XOAUTH2's error challenge", [][2]string{{"AUTH XOAUTH2 " + xoauth2("ann", "bad"), "334"}}, &AuthInfo{Mechanism: AuthXOAUTH2, Username: "ann"}},
		{"before LOGIN's password", [][2]string{{"AUTH LOGIN " + b64("bob"), "334"}}, &AuthInfo{Mechanism: AuthLogin, Username: "bob"}},
		{"after a success, a second AUTH refused", [][2]string{{"AUTH PLAIN " + b64("\x00bob\x00secret"), "235"}, {"AUTH PLAIN", "503"}}, &AuthInfo{Mechanism: AuthPlain, Username: "bob", Success: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := dialWire(t, srv.Addr(), nil)
			w.cmd("EHLO client.example", "250")
			for _, s := range tt.steps {
				w.cmd(s[0], s[1])
			}
			w.conn.Close()
			s := waitSessionOf(t, srv, w)
			if diff := cmp.Diff(tt.want, s.Auth); diff != "" {
				t.Errorf("Session.Auth (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzOAuthMessages feeds XOAUTH2 and OAUTHBEARER client messages to
// their parsers: no panic, and a token only with a Bearer scheme.
func FuzzOAuthMessages(f *testing.F) {
	f.Add([]byte("user=ann\x01auth=Bearer tok\x01\x01"))
	f.Add([]byte("n,a=ann,\x01host=x\x01port=25\x01auth=Bearer tok\x01\x01"))
	f.Add([]byte("y,a=a=2Cb=3D,\x01auth=bearer t\x01\x01"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, parse := range []func([]byte) (Credentials, error){parseXOAUTH2, parseOAuthBearer} {
			c, err := parse(msg)
			if err == nil && c.Token == "" {
				t.Errorf("%q: accepted without a token", msg)
			}
			if err != nil && strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("%q: error %q has a line break", msg, err)
			}
		}
		// The server side over the whole exchange: a response, then the
		// answer to a possible error challenge.
		cfg := &authConfig{tokens: map[string]string{"ann": "tok"}}
		for _, m := range []AuthMechanism{AuthXOAUTH2, AuthOAUTHBEARER} {
			b := &bearerServer{mechanism: m, config: cfg}
			if _, done, err := b.Next(msg); !done && err == nil {
				_, _, _ = b.Next([]byte{1})
			}
			_ = b.authInfo()
		}
	})
}
