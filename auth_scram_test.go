package mocksmtp

import (
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xdg-go/scram"
)

// scramClient is the client side of one SCRAM exchange, from
// github.com/xdg-go/scram.
type scramClient struct {
	conv  *scram.ClientConversation
	bind  string // "": none; "y": could bind, saw no -PLUS; else the channel-binding type
	cbErr bool   // send wrong channel-binding data
}

// newSCRAMClient returns a client for the mechanism of hash; bind says
// how it binds the channel of w.
func newSCRAMClient(t *testing.T, w *wire, sha256 bool, user, password, bind string, wrongData bool) *scram.ClientConversation {
	t.Helper()
	hash := scram.SHA1
	if sha256 {
		hash = scram.SHA256
	}
	c, err := hash.NewClient(user, password, "")
	if err != nil {
		t.Fatal(err)
	}
	switch bind {
	case "":
		return c.NewConversation()
	case "y":
		return c.NewConversationAdvertisingChannelBinding()
	}
	cs := w.conn.(*tls.Conn).ConnectionState()
	var cb scram.ChannelBinding
	switch scram.ChannelBindingType(bind) {
	case scram.ChannelBindingTLSExporter:
		cb, err = scram.NewTLSExporterBinding(&cs)
	case scram.ChannelBindingTLSUnique:
		cb = scram.NewTLSUniqueBinding(cs.TLSUnique)
		if len(cs.TLSUnique) == 0 { // TLS 1.3: ask for it all the same
			cb.Data = []byte("none")
		}
	default:
		cb = scram.ChannelBinding{Type: scram.ChannelBindingType(bind), Data: []byte("some data")}
	}
	if err != nil {
		t.Fatal(err)
	}
	if wrongData {
		cb.Data = []byte("not this connection's")
	}
	return c.NewConversationWithChannelBinding(cb)
}

// scramAuth runs AUTH mechanism with conv over w, the client-first
// message as initial response unless noIR, and returns the final reply.
func scramAuth(t *testing.T, w *wire, mechanism AuthMechanism, conv *scram.ClientConversation, noIR bool) []string {
	t.Helper()
	first, err := conv.Step("")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	if noIR {
		if got := w.cmd("AUTH "+string(mechanism), "334"); got[0] != "334 " {
			t.Fatalf("first challenge %q, want an empty one", got)
		}
		lines = w.exchange(b64(first))
	} else {
		lines = w.exchange("AUTH " + string(mechanism) + " " + b64(first))
	}
	for !conv.Done() && strings.HasPrefix(lines[0], "334 ") {
		challenge, err := base64.StdEncoding.DecodeString(lines[0][4:])
		if err != nil {
			t.Fatalf("challenge %q: %v", lines, err)
		}
		resp, err := conv.Step(string(challenge))
		if err != nil {
			t.Fatalf("the client refused the challenge %q: %v", challenge, err)
		}
		lines = w.exchange(b64(resp))
	}
	return lines
}

// exchange sends one line and returns the reply, whatever it is.
func (w *wire) exchange(line string) []string {
	w.t.Helper()
	w.send(line + "\r\n")
	lines, err := w.read()
	if err != nil {
		w.t.Fatalf("after %q: %v", line, err)
	}
	return lines
}

func TestAuthSCRAM(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithAuth("user", "pencil"),
		WithAuthMechanisms(AuthSCRAMSHA256PLUS, AuthSCRAMSHA256, AuthSCRAMSHA1PLUS, AuthSCRAMSHA1, AuthPlain))
	tls12 := srv.ClientTLSConfig()
	tls12.MaxVersion = tls.VersionTLS12
	tests := []struct {
		name      string
		tls       *tls.Config // STARTTLS with it, unless nil
		mechanism AuthMechanism
		user      string
		password  string
		bind      string // see scramClient
		wrongData bool
		noIR      bool
		want      string // the final reply's code and status
		wantText  string // in the final reply
	}{
		{name: "SHA-256", mechanism: AuthSCRAMSHA256, want: "235 2.7.0"},
		{name: "SHA-1", mechanism: AuthSCRAMSHA1, want: "235 2.7.0"},
		{name: "SHA-256 without initial response", mechanism: AuthSCRAMSHA256, noIR: true, want: "235 2.7.0"},
		{name: "SHA-256 wrong password", mechanism: AuthSCRAMSHA256, password: "wrong", want: "535 5.7.8", wantText: "e=invalid-proof"},
		{name: "SHA-1 wrong password", mechanism: AuthSCRAMSHA1, password: "wrong", want: "535 5.7.8", wantText: "e=invalid-proof"},
		{name: "unknown user", mechanism: AuthSCRAMSHA256, user: "nobody", want: "535 5.7.8", wantText: "e=unknown-user"},
		{name: "y before TLS, where no -PLUS is offered", mechanism: AuthSCRAMSHA256, bind: "y", want: "235 2.7.0"},
		{name: "SHA-256 over TLS", tls: srv.ClientTLSConfig(), mechanism: AuthSCRAMSHA256, want: "235 2.7.0"},
		{name: "SHA-256-PLUS tls-exporter over TLS 1.3", tls: srv.ClientTLSConfig(), mechanism: AuthSCRAMSHA256PLUS, bind: "tls-exporter", want: "235 2.7.0"},
		{name: "SHA-1-PLUS tls-exporter over TLS 1.3", tls: srv.ClientTLSConfig(), mechanism: AuthSCRAMSHA1PLUS, bind: "tls-exporter", want: "235 2.7.0"},
		{name: "SHA-256-PLUS tls-unique over TLS 1.2", tls: tls12, mechanism: AuthSCRAMSHA256PLUS, bind: "tls-unique", want: "235 2.7.0"},
		{name: "SHA-256-PLUS tls-exporter over TLS 1.2", tls: tls12, mechanism: AuthSCRAMSHA256PLUS, bind: "tls-exporter", want: "235 2.7.0"},
		{name: "tls-unique over TLS 1.3", tls: srv.ClientTLSConfig(), mechanism: AuthSCRAMSHA256PLUS, bind: "tls-unique", want: "535 5.7.8", wantText: "e=unsupported-channel-binding-type"},
		{name: "tls-server-end-point", tls: srv.ClientTLSConfig(), mechanism: AuthSCRAMSHA256PLUS, bind: "tls-server-end-point", want: "535 5.7.8", wantText: "e=unsupported-channel-binding-type"},
		{name: "another connection's binding", tls: srv.ClientTLSConfig(), mechanism: AuthSCRAMSHA256PLUS, bind: "tls-exporter", wrongData: true, want: "535 5.7.8", wantText: "e=channel-bindings-dont-match"},
		{name: "-PLUS without binding", tls: srv.ClientTLSConfig(), mechanism: AuthSCRAMSHA256PLUS, want: "535 5.7.8", wantText: "needs channel binding"},
		{name: "binding asked without -PLUS", tls: srv.ClientTLSConfig(), mechanism: AuthSCRAMSHA256, bind: "tls-exporter", want: "535 5.7.8", wantText: "not SCRAM-SHA-256-PLUS"},
		{name: "downgrade: y over TLS, where -PLUS is offered", tls: srv.ClientTLSConfig(), mechanism: AuthSCRAMSHA256, bind: "y", want: "535 5.7.8", wantText: "e=server-does-support-channel-binding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := dialWire(t, srv.Addr(), nil)
			ehlo := w.cmd("EHLO client.example", "250")
			if want := "250-AUTH SCRAM-SHA-256 SCRAM-SHA-1 PLAIN"; !slices.Contains(ehlo, want) {
				t.Errorf("EHLO before TLS = %q, want %q", ehlo, want)
			}
			if tt.tls != nil {
				if err := w.startTLS(tt.tls); err != nil {
					t.Fatal(err)
				}
				ehlo := w.cmd("EHLO client.example", "250")
				if want := "250-AUTH SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-1 PLAIN"; !slices.Contains(ehlo, want) {
					t.Errorf("EHLO after TLS = %q, want %q", ehlo, want)
				}
			}
			user, password := or(tt.user, "user"), or(tt.password, "pencil")
			conv := newSCRAMClient(t, w, strings.HasPrefix(string(tt.mechanism), "SCRAM-SHA-256"), user, password, tt.bind, tt.wrongData)
			lines := scramAuth(t, w, tt.mechanism, conv, tt.noIR)
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, tt.want+" ") || !strings.Contains(last, tt.wantText) {
				t.Fatalf("final reply %q, want %s ...%s...", lines, tt.want, tt.wantText)
			}
			if tt.want[0] == '2' && !conv.Valid() {
				t.Error("the client did not accept the server's signature")
			}
			w.cmd("NOOP", "250") // the reply was one line: the dialogue goes on
			w.quit()
			s := waitSessionOf(t, srv, w)
			want := &AuthInfo{Mechanism: tt.mechanism, Username: user, Success: tt.want[0] == '2'}
			if diff := cmp.Diff(want, s.Auth); diff != "" {
				t.Errorf("Session.Auth (-want +got):\n%s\n%s", diff, s.Transcript)
			}
			if leak := secretIn(s.Transcript, password); leak != "" {
				t.Errorf("the transcript shows the password: %s", leak)
			}
		})
	}
}

func TestAuthSCRAMHostile(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithAuth("user", "pencil"), WithAuthMechanisms(AuthSCRAMSHA256PLUS, AuthSCRAMSHA256))
	for _, tt := range []struct {
		name  string
		steps [][2]string
	}{
		{"-PLUS before TLS", [][2]string{{"AUTH SCRAM-SHA-256-PLUS " + b64("p=tls-exporter,,n=user,r=abc"), "538 5.7.11"}}},
		{"garbage", [][2]string{{"AUTH SCRAM-SHA-256 " + b64("garbage"), "535 5.7.8"}}},
		{"CR LF in the client's message", [][2]string{{"AUTH SCRAM-SHA-256 " + b64("x\r\n250 fake,,n=user,r=abc"), "535 5.7.8"}}},
		{"CR LF in the user name", [][2]string{{"AUTH SCRAM-SHA-256 " + b64("n,,n=us\r\n250 er,r=abc"), "535 5.7.8"}}},
		{"extensions", [][2]string{{"AUTH SCRAM-SHA-256 " + b64("n,,m=ext,n=user,r=abc"), "535 5.7.8"}}},
		{"another authorization identity", [][2]string{{"AUTH SCRAM-SHA-256 " + b64("n,a=admin,n=user,r=abc"), "535 5.7.8"}}},
		{"garbage final message", [][2]string{{"AUTH SCRAM-SHA-256 " + b64("n,,n=user,r=abc"), "334"}, {b64("c=biws,r=zzz,p=AAAA"), "535 5.7.8"}}},
		{"final message not base64 inside", [][2]string{{"AUTH SCRAM-SHA-256 " + b64("n,,n=user,r=abc"), "334"}, {b64("c=***,p=***"), "535 5.7.8"}}},
		{"cancelled", [][2]string{{"AUTH SCRAM-SHA-256", "334"}, {"*", "501 5.0.0"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := dialWire(t, srv.Addr(), nil)
			w.cmd("EHLO client.example", "250")
			for _, s := range tt.steps {
				lines := w.cmd(s[0], s[1])
				if len(lines) != 1 {
					t.Errorf("reply %q, want one line", lines)
				}
			}
			w.cmd("NOOP", "250 2.0.0")
			w.quit()
		})
	}
}

// A SCRAM failure's reply quotes no client proof: the library's parse
// errors quote the field they stumbled on, and the proof (p=) is open to
// offline guessing of the password, which is why the transcript masks
// the client's final message.
func TestAuthSCRAMFailureQuotesNoProof(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithAuth("user", "pencil"), WithAuthMechanisms(AuthSCRAMSHA256))
	proof := b64("a proof of the password, 32 oct")
	for _, final := range []string{"c=biws,p=" + proof + ",r=", "p=" + proof + ",c=biws,r=", "c=biws,r=,p=" + proof + ",p=" + proof,
		"c=biws,r=," + proof, "c=biws,r=,P=" + proof} { // a proof without its p=, under another key
		t.Run(final, func(t *testing.T) {
			t.Parallel()
			w := dialWire(t, srv.Addr(), nil)
			w.cmd("EHLO client.example", "250")
			first := w.cmd("AUTH SCRAM-SHA-256 "+b64("n,,n=user,r=abc"), "334")
			sf, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(first[0], "334 "))
			if err != nil {
				t.Fatal(err)
			}
			nonce, _, _ := strings.Cut(strings.TrimPrefix(string(sf), "r="), ",")
			reply := w.cmd(b64(strings.Replace(final, "r=", "r="+nonce, 1)), "535 5.7.8")
			w.quit()
			s := waitSessionOf(t, srv, w)
			if strings.Contains(strings.Join(reply, "\n"), proof) || strings.Contains(s.Transcript.String(), proof) {
				t.Errorf("the reply or the transcript quotes the proof:\n%s", s.Transcript)
			}
		})
	}
}

// A proof of the wrong length is an invalid proof (RFC 5802 7,
// e=invalid-proof), as a wrong one is: xdg-go/scram called it an
// "internal error", which reads as mocksmtp's.
func TestAuthSCRAMProofOfTheWrongLength(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithAuth("user", "pencil"), WithAuthMechanisms(AuthSCRAMSHA256))
	for _, proof := range []string{"", "AAAA", b64(strings.Repeat("x", 31)), b64(strings.Repeat("x", 33)), b64(strings.Repeat("x", 64))} {
		t.Run(proof, func(t *testing.T) {
			t.Parallel()
			w := dialWire(t, srv.Addr(), nil)
			w.cmd("EHLO client.example", "250")
			first := w.cmd("AUTH SCRAM-SHA-256 "+b64("n,,n=user,r=abc"), "334")
			sf, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(first[0], "334 "))
			if err != nil {
				t.Fatal(err)
			}
			nonce, _, _ := strings.Cut(strings.TrimPrefix(string(sf), "r="), ",")
			reply := strings.Join(w.cmd(b64("c=biws,r="+nonce+",p="+proof), "535 5.7.8"), "\n")
			if !strings.Contains(reply, "e=invalid-proof") || strings.Contains(reply, "internal error") {
				t.Errorf("reply %q, want SCRAM e=invalid-proof", reply)
			}
			w.quit()
		})
	}
}

// FuzzSCRAMServer feeds client messages to the SCRAM server: no panic, and
// no reply line with a line break.
func FuzzSCRAMServer(f *testing.F) {
	f.Add([]byte("n,,n=user,r=abc"), []byte("c=biws,r=abc,p=AAAA"))
	f.Add([]byte("p=tls-unique,,n=user,r=abc"), []byte(""))
	f.Add([]byte("n,a=x=2C,n=u=3D,r=1"), []byte("c=,r=,p="))
	f.Fuzz(func(t *testing.T, first, final []byte) {
		cfg := &authConfig{accounts: map[string]string{"user": "pencil"}}
		for _, m := range []AuthMechanism{AuthSCRAMSHA1, AuthSCRAMSHA256} {
			srv, err := cfg.newSCRAM(m, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, resp := range [][]byte{first, final, {}} {
				_, done, err := srv.Next(resp)
				if err != nil && strings.ContainsAny(err.Error(), "\r\n") {
					t.Errorf("error %q has a line break", err)
				}
				if done || err != nil {
					break
				}
			}
		}
	})
}

// TestAuthSCRAMTranscriptNormalized checks that a SCRAM exchange's
// transcript normalizes to the same text each time, so that it can be a
// golden file: its challenges hold a fresh nonce, salt and signature.
func TestAuthSCRAMTranscriptNormalized(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithAuth("user", "pencil"), WithAuthMechanisms(AuthSCRAMSHA256))
	for range 2 {
		w := dialWire(t, srv.Addr(), nil)
		w.cmd("EHLO client.example", "250")
		conv := newSCRAMClient(t, w, true, "user", "pencil", "", false)
		if got := scramAuth(t, w, AuthSCRAMSHA256, conv, false); !strings.HasPrefix(got[0], "235 ") {
			t.Fatalf("AUTH: %q, want 235", got)
		}
		w.quit()
	}
	ss := srv.WaitForSessions(t, 2)
	if diff := cmp.Diff(ss[0].Transcript.Normalized(), ss[1].Transcript.Normalized()); diff != "" {
		t.Errorf("two SCRAM exchanges' transcripts, normalized, differ (-first +second):\n%s", diff)
	}
}

// TestAuthSCRAMEndsWithAnEmptyAnswer: the server-final message (v=...) is
// the mechanism's additional data with success, which the engine sends
// as a last challenge (RFC 4954 4 has no room for it in the 235); only an
// empty answer to it ends the exchange with 235. A client that does not
// accept the server's signature cancels with "*"; one that answers
// something else is refused 501 5.5.2, and neither is authenticated.
// Before, the SCRAM server sent v= as a challenge of its own and took any
// answer to it for success.
func TestAuthSCRAMEndsWithAnEmptyAnswer(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithAuth("user", "pencil"), WithAuthMechanisms(AuthSCRAMSHA256))
	for _, tt := range []struct {
		name   string
		answer func(final string) string // the line sent after v=
		want   string
	}{
		{"empty", func(string) string { return "" }, "235 2.7.0"},
		{"cancelled", func(string) string { return "*" }, "501 5.0.0"},
		{"the signature sent back", func(final string) string { return b64(final) }, "501 5.5.2"},
		{"one octet", func(string) string { return b64("x") }, "501 5.5.2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := dialWire(t, srv.Addr(), nil)
			w.cmd("EHLO client.example", "250")
			conv := newSCRAMClient(t, w, true, "user", "pencil", "", false)
			first, err := conv.Step("")
			if err != nil {
				t.Fatal(err)
			}
			lines := w.exchange("AUTH SCRAM-SHA-256 " + b64(first))
			serverFirst, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(lines[0], "334 "))
			if err != nil {
				t.Fatalf("server-first %q: %v", lines, err)
			}
			final, err := conv.Step(string(serverFirst))
			if err != nil {
				t.Fatal(err)
			}
			lines = w.exchange(b64(final))
			serverFinal, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(lines[0], "334 "))
			if err != nil || !strings.HasPrefix(string(serverFinal), "v=") {
				t.Fatalf("after the client-final message: %q, want 334 and v=...", lines)
			}
			if _, err := conv.Step(string(serverFinal)); err != nil || !conv.Valid() {
				t.Fatalf("the client refused the server's signature: %v", err)
			}
			if got := w.exchange(tt.answer(string(serverFinal))); !strings.HasPrefix(got[0], tt.want+" ") {
				t.Fatalf("after the answer to v=: %q, want %s", got, tt.want)
			}
			w.cmd("NOOP", "250")
			w.quit()
			s := waitSessionOf(t, srv, w)
			if got, want := s.Auth != nil && s.Auth.Success, tt.want[0] == '2'; got != want {
				t.Errorf("authenticated: %v, want %v", got, want)
			}
			// The client's lines of the exchange: its two messages
			// masked; its answer to v= shown when it holds nothing
			// secret (empty, or the cancel), masked otherwise.
			var client []string
			for _, l := range s.Transcript {
				if l.Dir == FromClient && !strings.HasPrefix(l.Text, "EHLO") && l.Text != "NOOP" && l.Text != "QUIT" {
					client = append(client, l.Text)
				}
			}
			answer := "****"
			if a := tt.answer(string(serverFinal)); a == "" || a == "*" {
				answer = a
			}
			if want := []string{"AUTH SCRAM-SHA-256 ****", "****", answer}; !slices.Equal(client, want) {
				t.Errorf("the client's lines of the exchange: %q, want %q", client, want)
			}
		})
	}
}

// A client nonce of N-1 and N octets (maxSCRAMNonce) is taken: the
// server-first message echoes it in a 334 line that clients read
// (Python's smtplib reads at most 8192 octets). One of N+1 and 2N is
// refused with 500 5.5.6, RFC 4954 6's reply to a response longer than
// the mechanism's buffer (as the engine refuses a response over the
// AUTH line limit), and the session goes on; one of 1 MiB+1, a line
// over the engine's 1 MiB bound, closes the connection after the reply
// to a line too long: 500 5.5.2 to the AUTH line, 500 5.5.6 to a
// response of the exchange. As the AUTH line's initial response, or as
// the answer to its empty challenge.
func TestAuthSCRAMNonceBound(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithAuth("user", "pencil"), WithAuthMechanisms(AuthSCRAMSHA256))
	const n = maxSCRAMNonce
	// 8 KiB: a 334 line of 11 KiB, which smtplib fails to read.
	for _, size := range []int{n - 1, n, n + 1, 2 * n, 8 << 10, 1<<20 + 1} {
		for _, initial := range []bool{true, false} {
			t.Run(fmt.Sprintf("%d octets, initial response %v", size, initial), func(t *testing.T) {
				t.Parallel()
				nonce := strings.Repeat("n", size)
				w := dialWire(t, srv.Addr(), nil)
				w.conn.SetDeadline(time.Now().Add(20 * time.Second))
				w.cmd("EHLO client.example", "250")
				first := b64("n,,n=user,r=" + nonce)
				want := "334"
				switch {
				case size > 1<<20 && initial:
					want = "500 5.5.2"
				case size > 1<<20:
					want = "500 5.5.6"
				case size > n:
					want = "500 5.5.6"
				}
				var got []string
				if initial {
					got = w.cmd("AUTH SCRAM-SHA-256 "+first, want)
				} else {
					w.cmd("AUTH SCRAM-SHA-256", "334")
					got = w.cmd(first, want)
				}
				if len(got) != 1 || len(got[0])+len("\r\n") > 8192 {
					t.Fatalf("a reply of %d lines, the first of %d octets: %.100q", len(got), len(got[0]), got[0])
				}
				if size <= n {
					sf, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(got[0], "334 "))
					if err != nil || !strings.HasPrefix(string(sf), "r="+nonce) {
						t.Fatalf("server-first message %.100q, %v: want the client's nonce echoed", sf, err)
					}
					w.cmd("*", "501 5.0.0") // the client cancels
				}
				if size > 1<<20 {
					w.eof()
					return
				}
				w.cmd("NOOP", "250 2.0.0")
				w.quit()
			})
		}
	}
}
