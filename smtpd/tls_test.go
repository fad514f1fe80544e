package smtpd_test

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net/smtp"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp/internal/testcert"
	"github.com/mocksmtp/mocksmtp/smtpd"
)

// selfSigned returns a server configuration with a self-signed
// certificate for localhost, and a client configuration that trusts it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	certPEM, keyPEM, pool, err := testcert.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}, &tls.Config{RootCAs: pool, ServerName: "localhost"}
}

// TestImplicitTLSConnect checks the Connect event of implicit TLS: by
// default the handshake follows with Config.TLSConfig, then the greeting;
// the driver's answer can give the handshake another configuration, or
// write plaintext and close before it.
func TestImplicitTLSConnect(t *testing.T) {
	t.Parallel()
	serverCfg, clientCfg := selfSigned(t)
	tls12 := serverCfg.Clone()
	tls12.MaxVersion = tls.VersionTLS12
	for _, tc := range []struct {
		name    string
		answer  *smtpd.Answer // to Connect; nil for the default
		kinds   []smtpd.Kind  // the events the driver sees
		client  string        // what the client gets: the greeting, a handshake error, plaintext
		wantErr error         // how the driver's session ends
	}{
		{"default", nil, []smtpd.Kind{smtpd.Connect, smtpd.Handshake, smtpd.Greeting}, "220 localhost ESMTP ready", nil},
		{"another TLS configuration", &smtpd.Answer{TLSConfig: tls12}, []smtpd.Kind{smtpd.Connect}, "handshake error", smtpd.ErrTLSHandshake},
		{"plaintext and close", &smtpd.Answer{Reply: &smtpd.Reply{Code: 421, Lines: []string{"no TLS here"}}, Then: smtpd.CloseConn},
			[]smtpd.Kind{smtpd.Connect}, "421 4.0.0 no TLS here", smtpd.ErrDriverClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var kinds []smtpd.Kind
			cfg := smtpd.Config{ImplicitTLS: true, TLSConfig: serverCfg, Banner: "ESMTP ready"}
			c, wait := drive(t, cfg, func(c *smtpd.Conn, ev *smtpd.Event) {
				mu.Lock()
				kinds = append(kinds, ev.Kind)
				mu.Unlock()
				if ev.Kind == smtpd.Connect && tc.answer != nil {
					c.Answer(*tc.answer)
				}
			})
			var got string
			if tc.answer != nil && tc.answer.Reply != nil {
				l, err := c.r.ReadString('\n')
				if err != nil {
					t.Fatal(err)
				}
				got = strings.TrimSuffix(l, "\r\n")
			} else {
				cfg := clientCfg.Clone()
				cfg.MinVersion = tls.VersionTLS13
				tc := tls.Client(c.conn, cfg)
				if err := tc.Handshake(); err != nil {
					got = "handshake error"
				} else {
					l, err := bufio.NewReader(tc).ReadString('\n')
					if err != nil {
						t.Fatal(err)
					}
					got = strings.TrimSuffix(l, "\r\n")
				}
			}
			if got != tc.client {
				t.Errorf("client got %q, want %q", got, tc.client)
			}
			c.conn.Close()
			if err := wait(); tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("driver ended with %v, want %v", err, tc.wantErr)
			}
			mu.Lock()
			defer mu.Unlock()
			if diff := cmp.Diff(tc.kinds, kinds); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

// plainAuth is a configuration that offers AUTH PLAIN for user/secret.
func plainAuth(cfg smtpd.Config) smtpd.Config {
	cfg.AuthMechanisms = []string{"PLAIN"}
	cfg.NewSASL = func(string) (smtpd.SASLServer, error) {
		return saslFunc(func(r []byte) ([]byte, bool, error) {
			if string(r) != "\x00user\x00secret" {
				return nil, false, errors.New("bad credentials")
			}
			return nil, true, nil
		}), nil
	}
	return cfg
}

// A server that requires TLS answers every command before it with 530
// 5.7.0 but those RFC 3207 4 lets through (NOOP, EHLO, STARTTLS, QUIT)
// and HELO, which Postfix lets through too (its
// smtpd_tls_security_level=encrypt refuses the commands without
// SMTPD_CMD_FLAG_PRE_TLS), and HELP (Postfix has none: 502 5.5.2): RSET,
// VRFY and EXPN too, and a command before
// EHLO. Each in a session of its own, then NOOP: the session goes on
// (a BDAT's chunk is skipped, not read as commands).
func TestRequireTLSRefusesEveryCommandButThoseBeforeTLS(t *testing.T) {
	t.Parallel()
	serverCfg, _ := selfSigned(t)
	cfg := plainAuth(smtpd.Config{TLSConfig: serverCfg, RequireTLS: true})
	for _, tt := range []struct {
		ehlo bool   // EHLO first
		cmd  string // sent as it is, then CRLF
		want string // the reply's last line starts so
	}{
		{true, "NOOP", "250 2.0.0"},
		{true, "HELP", "214 2.0.0"},
		{true, "HELO client.example", "250 "},
		{true, "EHLO client.example", "250 "},
		{true, "RSET", "530 5.7.0 Must issue a STARTTLS command first"},
		{true, "VRFY postmaster", "530 5.7.0"},
		{true, "EXPN staff", "530 5.7.0"},
		{true, "MAIL FROM:<a@example.com>", "530 5.7.0"},
		{true, "RCPT TO:<b@example.com>", "530 5.7.0"},
		{true, "DATA", "530 5.7.0"},
		{true, "BDAT 6 LAST\r\nRSET", "530 5.7.0"}, // its chunk: RSET CRLF
		{true, "AUTH PLAIN AHVzZXIAc2VjcmV0", "530 5.7.0"},
		{false, "MAIL FROM:<a@example.com>", "530 5.7.0"},
		{false, "RSET", "530 5.7.0"},
		{false, "NOOP", "250 2.0.0"},
	} {
		name := tt.cmd
		if !tt.ehlo {
			name += " before EHLO"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, _ := drive(t, cfg, func(*smtpd.Conn, *smtpd.Event) {})
			c.expectPrefix("220 ")
			if tt.ehlo {
				c.send("EHLO client.example\r\n")
				c.expectPrefix("250 ")
			}
			c.send(tt.cmd + "\r\n")
			c.expectPrefix(tt.want)
			c.send("NOOP\r\n")
			c.expectPrefix("250 2.0.0")
			c.send("QUIT\r\n")
			c.expectPrefix("221 2.0.0")
		})
	}
}

// A command refused for want of TLS (530) counts as a bad command, not as
// a junk command, as Postfix counts it (smtpd.c: error_count++ at its
// 530, before the command runs and junk_cmds counts it): RSET, VRFY and
// EXPN refused before STARTTLS do not bring the junk commands after it
// nearer to MaxJunkCommands.
func TestRequireTLSRefusalIsBadNotJunk(t *testing.T) {
	t.Parallel()
	serverCfg, clientCfg := selfSigned(t)
	cfg := smtpd.Config{TLSConfig: serverCfg, RequireTLS: true, MaxJunkCommands: 3, MaxBadCommands: 4}
	c, _ := drive(t, cfg, func(*smtpd.Conn, *smtpd.Event) {})
	c.expectPrefix("220 ")
	for _, l := range []struct{ cmd, want string }{
		{"EHLO client.example", "250 "},
		{"RSET", "530 5.7.0"}, {"VRFY postmaster", "530 5.7.0"}, {"EXPN staff", "530 5.7.0"}, // 3 bad
		{"STARTTLS", "220 2.0.0"},
	} {
		c.send(l.cmd + "\r\n")
		c.expectPrefix(l.want)
	}
	tc := tls.Client(c.conn, clientCfg)
	c.conn, c.r = tc, bufio.NewReader(tc)
	c.send("EHLO client.example\r\n")
	c.expectPrefix("250 ")
	for range 3 { // the junk commands MaxJunkCommands allows
		c.send("NOOP\r\n")
		c.expectPrefix("250 2.0.0")
	}
	c.send("NOOP\r\n") // the first junk past the limit: the 4th bad command
	c.expectPrefix("250 2.0.0")
	c.expectPrefix("421 4.7.0")
}

// With TLS required, the EHLO reply before STARTTLS offers no AUTH, which
// would only get 530 (Postfix: smtpd_tls_security_level=encrypt implies
// smtpd_tls_auth_only); after it, AUTH is offered and every command
// taken. Go's net/smtp as the client: it authenticates only where AUTH is
// advertised.
func TestRequireTLSOffersAuthOnlyUnderTLS(t *testing.T) {
	t.Parallel()
	serverCfg, clientCfg := selfSigned(t)
	cfg := plainAuth(smtpd.Config{TLSConfig: serverCfg, RequireTLS: true})
	c, _ := drive(t, cfg, func(*smtpd.Conn, *smtpd.Event) {})
	sc, err := smtp.NewClient(c.conn, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := sc.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	if ok, ms := sc.Extension("AUTH"); ok {
		t.Errorf("EHLO before TLS offers AUTH %s, which gets 530", ms)
	}
	code := func(err error) int {
		var te *textproto.Error
		if errors.As(err, &te) {
			return te.Code
		}
		return 0
	}
	if err := sc.Reset(); code(err) != 530 {
		t.Errorf("RSET before TLS: %v, want 530", err)
	}
	if err := sc.Verify("postmaster"); code(err) != 530 {
		t.Errorf("VRFY before TLS: %v, want 530", err)
	}
	if err := sc.StartTLS(clientCfg); err != nil {
		t.Fatal(err)
	}
	if ok, ms := sc.Extension("AUTH"); !ok || ms != "PLAIN" {
		t.Errorf("EHLO under TLS offers AUTH %q (%v), want PLAIN", ms, ok)
	}
	if err := sc.Auth(smtp.PlainAuth("", "user", "secret", "localhost")); err != nil {
		t.Errorf("AUTH under TLS: %v", err)
	}
	if err := sc.Reset(); err != nil {
		t.Errorf("RSET under TLS: %v", err)
	}
	if err := sc.Verify("postmaster"); code(err) != 252 {
		t.Errorf("VRFY under TLS: %v, want 252", err)
	}
	if err := sc.Quit(); err != nil {
		t.Error(err)
	}
}

// A driver that names mechanisms for before TLS (AuthMechanismsBeforeTLS)
// asks for them to be advertised: under RequireTLS they are, and get 530,
// to test that a client forgets the first EHLO reply after STARTTLS.
func TestRequireTLSAdvertisesMechanismsNamedForBeforeTLS(t *testing.T) {
	t.Parallel()
	serverCfg, _ := selfSigned(t)
	cfg := plainAuth(smtpd.Config{TLSConfig: serverCfg, RequireTLS: true})
	cfg.AuthMechanismsBeforeTLS = []string{"PLAIN"}
	c, _ := drive(t, cfg, func(*smtpd.Conn, *smtpd.Event) {})
	c.expectPrefix("220 ")
	c.send("EHLO client.example\r\n")
	got, err := c.reply()
	if err != nil || !slices.Contains(got, "250-AUTH PLAIN") {
		t.Errorf("EHLO before TLS = %q, %v; want AUTH PLAIN", got, err)
	}
	c.send("AUTH PLAIN AHVzZXIAc2VjcmV0\r\n")
	c.expectPrefix("530 5.7.0")
}

// HELP lists the commands the server implements: STARTTLS when it offers
// it, AUTH when it offers it, BDAT only with CHUNKING (without it BDAT is
// an unknown command, 500).
func TestHelpListsTheCommandsOffered(t *testing.T) {
	t.Parallel()
	serverCfg, clientCfg := selfSigned(t)
	for _, tt := range []struct {
		name string
		cfg  smtpd.Config
		want string
	}{
		{"plain", smtpd.Config{}, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP"},
		{"STARTTLS and AUTH", plainAuth(smtpd.Config{TLSConfig: serverCfg}),
			"214 2.0.0 Commands: HELO EHLO STARTTLS AUTH MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP"},
		{"implicit TLS", plainAuth(smtpd.Config{TLSConfig: serverCfg, ImplicitTLS: true}),
			"214 2.0.0 Commands: HELO EHLO AUTH MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP"},
		{"without CHUNKING", smtpd.Config{Disabled: smtpd.ExtChunking}, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP"},
		// VRFY and EXPN as Config sets their replies: listed when they
		// answer, not when the reply says they are not implemented (502)
		// or not recognized (500).
		{"EXPN answered", smtpd.Config{EXPN: &smtpd.Reply{Code: 250, Lines: []string{"<a@example.com>"}}},
			"214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY EXPN HELP"},
		{"EXPN refused", smtpd.Config{EXPN: &smtpd.Reply{Code: 550, Lines: []string{"no such list"}}},
			"214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY EXPN HELP"},
		{"EXPN not implemented", smtpd.Config{EXPN: &smtpd.Reply{Code: 502, Lines: []string{"no"}}},
			"214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP"},
		{"VRFY not implemented", smtpd.Config{VRFY: &smtpd.Reply{Code: 502, Lines: []string{"no"}}},
			"214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP"},
		{"VRFY not recognized", smtpd.Config{VRFY: &smtpd.Reply{Code: 500, Lines: []string{"what?"}}},
			"214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP"},
		{"VRFY answered", smtpd.Config{VRFY: &smtpd.Reply{Code: 250, Lines: []string{"<a@example.com>"}}},
			"214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := drive(t, tt.cfg, func(*smtpd.Conn, *smtpd.Event) {})
			if tt.cfg.ImplicitTLS {
				tc := tls.Client(c.conn, clientCfg)
				c.conn, c.r = tc, bufio.NewReader(tc)
			}
			c.expectPrefix("220 ")
			c.send("HELP\r\n")
			c.expect(tt.want)
		})
	}
}

// STARTTLS in a mail transaction is taken, and the handshake discards the
// envelope with the rest of what the client said (RFC 3207 4.2): RFC
// 3207 does not forbid it, and Postfix (smtpd.c: "RFC 2487 does not
// forbid the use of STARTTLS while mail transfer is in progress") and
// Exim (an implied RSET) take it so. Not a 503: a client that gets 220
// must start its handshake.
func TestSTARTTLSInATransactionDiscardsTheEnvelope(t *testing.T) {
	t.Parallel()
	serverCfg, clientCfg := selfSigned(t)
	c, _ := drive(t, smtpd.Config{TLSConfig: serverCfg}, func(*smtpd.Conn, *smtpd.Event) {})
	c.expectPrefix("220 ")
	for _, l := range []struct{ cmd, want string }{
		{"EHLO client.example", "250 "}, {"MAIL FROM:<a@example.com>", "250 2.1.0"}, {"RCPT TO:<b@example.com>", "250 2.1.5"},
		{"STARTTLS", "220 2.0.0"},
	} {
		c.send(l.cmd + "\r\n")
		c.expectPrefix(l.want)
	}
	tc := tls.Client(c.conn, clientCfg)
	c.conn, c.r = tc, bufio.NewReader(tc)
	for _, l := range []struct{ cmd, want string }{
		{"RCPT TO:<b@example.com>", "503 5.5.1"}, // no HELO, no MAIL
		{"EHLO client.example", "250 "}, {"DATA", "503 5.5.1"}, {"MAIL FROM:<a@example.com>", "250 2.1.0"},
		{"QUIT", "221 2.0.0"},
	} {
		c.send(l.cmd + "\r\n")
		c.expectPrefix(l.want)
	}
}

// A BDAT before TLS gets the 530 of every command before the checks of
// its arguments and of its size (RFC 3207 4; Postfix refuses it before
// parsing it): a chunk the engine can skip, of a size up to the message
// limit (N-1, N; 1 MiB+1 under the default limit), is skipped however the
// arguments after the size are wrong, and the session goes on (the
// chunk's QUIT lines are not read as commands); a chunk it cannot skip,
// past the limit (N+1, 2N) or of no size it can read, gets 530 too, and
// the connection closes, as after the 552 or 501 a server that takes mail
// before TLS answers.
func TestRequireTLSAnswersBDATBeforeItsArguments(t *testing.T) {
	t.Parallel()
	serverCfg, _ := selfSigned(t)
	chunk := func(n int) string { return strings.Repeat("QUIT\r\n", n/6) + strings.Repeat("x", n%6) }
	const limit = 1000
	for _, tt := range []struct {
		limit  int64  // MaxMessageBytes, 0 for the default
		line   string // the BDAT line, then CRLF and its chunk of size octets
		size   int
		closes bool // the chunk cannot be skipped: the connection closes after the 530
	}{
		{limit, "BDAT 999 LAST", 999, false},
		{limit, "BDAT 1000", 1000, false},
		{limit, "BDAT 1001 LAST", 1001, true},
		{limit, "BDAT 2000", 2000, true},
		{limit, "BDAT 12 FOO", 12, false},
		{limit, "BDAT 12 LAST LAST", 12, false},
		{limit, "BDAT 0x10", 16, true},
		{limit, "BDAT", 0, true},
		{0, "BDAT 1048577 LAST", 1<<20 + 1, false},
	} {
		t.Run(tt.line, func(t *testing.T) {
			t.Parallel()
			cfg := smtpd.Config{TLSConfig: serverCfg, RequireTLS: true, MaxMessageBytes: tt.limit}
			c, wait := drive(t, cfg, func(*smtpd.Conn, *smtpd.Event) {})
			c.expectPrefix("220 ")
			c.send("EHLO client.example\r\n")
			c.expectPrefix("250 ")
			sent := c.sendAsync(tt.line + "\r\n" + chunk(tt.size))
			c.expectPrefix("530 5.7.0 ")
			if tt.closes {
				c.expectClosed()
				if err := wait(); !errors.Is(err, smtpd.ErrFraming) {
					t.Errorf("the session ended with %v, want ErrFraming", err)
				}
				return
			}
			sent()
			c.send("NOOP\r\n")
			c.expectPrefix("250 2.0.0")
			c.send("QUIT\r\n")
			c.expectPrefix("221 2.0.0")
		})
	}
}

// Plaintext pipelined right after STARTTLS, full mail transactions of
// N-1, N, N+1 and 2N octets of the read buffer (16 KiB) and 1 MiB+1,
// never runs (CVE-2011-0411): what the engine had read is discarded, the
// rest reaches the handshake, which then fails; when it succeeds, the
// first command the driver sees is the client's first under TLS. No
// command of the plaintext is an event, and no message is accepted.
func TestSTARTTLSInjectedTransactions(t *testing.T) {
	t.Parallel()
	serverCfg, clientCfg := selfSigned(t)
	const n = 16 << 10
	txn := "MAIL FROM:<evil@example.com>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\nSubject: injected\r\n\r\nevil\r\n.\r\n"
	for _, size := range []int{n - 1, n, n + 1, 2 * n, 1<<20 + 1} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			t.Parallel()
			injected := strings.Repeat(txn, size/len(txn)+1)[:size]
			var mu sync.Mutex
			var after []smtpd.Kind // the events after STARTTLS's
			seen := false
			c, wait := drive(t, smtpd.Config{TLSConfig: serverCfg}, func(_ *smtpd.Conn, ev *smtpd.Event) {
				mu.Lock()
				defer mu.Unlock()
				if seen {
					after = append(after, ev.Kind)
				}
				seen = seen || ev.Kind == smtpd.StartTLS
			})
			c.conn.SetDeadline(time.Now().Add(20 * time.Second))
			c.expectPrefix("220 ")
			c.send("EHLO client.example\r\n")
			c.expectPrefix("250 ")
			go func() { // a large write blocks until the server reads or resets
				_, _ = io.WriteString(c.conn, "STARTTLS\r\n"+injected)
			}()
			c.expectPrefix("220 2.0.0")
			tc := tls.Client(c.conn, clientCfg)
			want := []smtpd.Kind{smtpd.Handshake}
			if err := tc.HandshakeContext(t.Context()); err == nil {
				c.conn, c.r = tc, bufio.NewReader(tc)
				c.send("NOOP\r\n")
				c.expectPrefix("250 2.0.0")
				c.send("QUIT\r\n")
				c.expectPrefix("221 2.0.0")
				want = append(want, smtpd.Noop, smtpd.Quit)
			} else if size <= n {
				t.Logf("the handshake failed: %v", err) // the plaintext outran the engine's read
			}
			c.conn.Close()
			err := wait()
			mu.Lock()
			defer mu.Unlock()
			if len(want) == 1 {
				if !errors.Is(err, smtpd.ErrTLSHandshake) {
					t.Errorf("driver ended with %v, want %v", err, smtpd.ErrTLSHandshake)
				}
				want = nil // a failed handshake is the session's end, no event
			}
			if diff := cmp.Diff(want, after); diff != "" {
				t.Errorf("events after STARTTLS (-want +got):\n%s", diff)
			}
		})
	}
}

// The handshake follows a reply to STARTTLS only when it is a 220 (RFC
// 3207 4), the one reply after which a client begins it; for raw bytes,
// when their last line is a complete 220: after a raw 454, a 250 or a
// raw 250 the client, told no, goes on in plaintext, and so does the
// engine, reading its EHLO as a command, not as the first bytes of a TLS
// handshake.
func TestStartTLSRawRefusalStaysPlaintext(t *testing.T) {
	t.Parallel()
	serverCfg, _ := selfSigned(t)
	for _, tt := range []struct {
		answer smtpd.Answer
		says   string
	}{
		{smtpd.Answer{Raw: []byte("454 4.7.0 not now\r\n")}, "454 4.7.0 not now"},
		{smtpd.Answer{Raw: []byte("250 2.0.0 ok, TLS\r\n")}, "250 2.0.0 ok, TLS"},
		{smtpd.Answer{Raw: []byte("220-TLS\r\n454 4.7.0 not now\r\n")}, "454 4.7.0 not now"},
		{smtpd.Answer{Reply: &smtpd.Reply{Code: 250, Lines: []string{"ok, TLS"}}}, "250 2.0.0 ok, TLS"},
	} {
		t.Run(tt.says, func(t *testing.T) {
			t.Parallel()
			c, wait := drive(t, smtpd.Config{TLSConfig: serverCfg}, func(c *smtpd.Conn, ev *smtpd.Event) {
				if ev.Kind == smtpd.StartTLS {
					c.Answer(tt.answer)
				}
			})
			c.expectPrefix("220 ")
			c.send("EHLO client.example\r\n")
			c.expectPrefix("250 ")
			c.send("STARTTLS\r\n")
			if lines, err := c.reply(); err != nil || lines[len(lines)-1] != tt.says {
				t.Fatalf("STARTTLS: %q, %v; want %q", lines, err, tt.says)
			}
			c.send("EHLO client.example\r\n")
			c.expectPrefix("250 ")
			c.send("QUIT\r\n")
			c.expectPrefix("221 ")
			if err := wait(); err != nil && !errors.Is(err, io.EOF) {
				t.Errorf("session ended with %v, want QUIT's end", err)
			}
		})
	}
}
