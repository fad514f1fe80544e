package mocksmtp_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/smtp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// Security of the double itself. Also covered elsewhere: the standalone
// program refuses a non-loopback address without its flag
// (cmd/mocksmtp TestRefusesNonLoopbackAddressesWithoutAllowRemote), and
// AUTH PLAIN's initial response is masked unless WithoutSecretMasking
// (TestAuthSecretsShown).

func TestListensOnLoopbackByDefault(t *testing.T) {
	t.Parallel()
	srv, err := mocksmtp.New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if srv.Host() != "127.0.0.1" {
		t.Errorf("Host() = %q, want 127.0.0.1", srv.Host())
	}
	if ip := net.ParseIP(srv.Host()); ip == nil || !ip.IsLoopback() {
		t.Errorf("Host() = %q is not a loopback address", srv.Host())
	}
	if srv.Port() == 0 || srv.Addr() != net.JoinHostPort("127.0.0.1", fmt.Sprint(srv.Port())) {
		t.Errorf("Addr() = %q, Port() = %d", srv.Addr(), srv.Port())
	}
}

// Every form a secret takes in an AUTH exchange is masked: the initial
// response, responses on their own lines (LOGIN's username and password,
// PLAIN without an initial response), a wrong password; nothing in the
// transcript or the session report shows the password or its base64.
func TestTranscriptMasksEveryAUTHSecret(t *testing.T) {
	t.Parallel()
	const user, pass = "mailer", "s3cr3t-Pa55"
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name string
		send []string // after EHLO, one line each, with the start of the reply wanted
	}{
		{"PLAIN with initial response", []string{"AUTH PLAIN " + b64("\x00"+user+"\x00"+pass), "235 2.7.0"}},
		{"PLAIN without initial response", []string{"AUTH PLAIN", "334 ", b64("\x00" + user + "\x00" + pass), "235 2.7.0"}},
		{"LOGIN", []string{"AUTH LOGIN", "334 ", b64(user), "334 ", b64(pass), "235 2.7.0"}},
		{"LOGIN with initial response", []string{"AUTH LOGIN " + b64(user), "334 ", b64(pass), "235 2.7.0"}},
		{"wrong password", []string{"AUTH PLAIN " + b64("\x00"+user+"\x00"+pass+"x"), "535 5.7.8"}},
		// AUTH however it is spelled (issue 13 item 9).
		{"a tab after AUTH", []string{"AUTH\tPLAIN " + b64("\x00"+user+"\x00"+pass), "500 5.5.2"}},
		{"a space before AUTH", []string{" AUTH PLAIN " + b64("\x00"+user+"\x00"+pass), "500 5.5.2"}},
		{"lower case, tabs", []string{"auth\tplain\t" + b64("\x00"+user+"\x00"+pass), "500 5.5.2"}},
		{"no mechanism", []string{"AUTH " + b64("\x00"+user+"\x00"+pass), "504 5.5.4"}},
		{"an unknown mechanism", []string{"AUTH X-SECRET " + b64("\x00"+user+"\x00"+pass), "504 5.5.4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t, mocksmtp.WithAuth(user, pass))
			nc, err := net.Dial("tcp", srv.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			lc := &loadConn{nc: nc, br: bufio.NewReader(nc)}
			_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
			exchange := append([]string{"EHLO client.example", "250"}, tt.send...)
			exchange = append(exchange, "QUIT", "221 2.0.0")
			if code, line, err := lc.reply(); err != nil || code != 220 {
				t.Fatalf("greeting: %q, %v", line, err)
			}
			for i := 0; i < len(exchange); i += 2 {
				if err := lc.write([]byte(exchange[i] + "\r\n")); err != nil {
					t.Fatal(err)
				}
				if _, line, err := lc.reply(); err != nil || !strings.HasPrefix(line, exchange[i+1]) {
					t.Fatalf("after %q: got %q, %v, want %q", exchange[i], line, err, exchange[i+1])
				}
			}
			nc.Close()
			s := srv.WaitForSessions(t, 1)[0]
			report := s.String() + s.Transcript.String() + s.Auth.String()
			for _, secret := range []string{pass, b64(pass), b64(user), b64("\x00" + user + "\x00" + pass), b64("\x00" + user + "\x00" + pass + "x")} {
				if strings.Contains(report, secret) {
					t.Errorf("the session shows the secret %q:\n%s", secret, report)
				}
			}
			if !strings.Contains(report, "****") {
				t.Errorf("no masked line in the transcript:\n%s", report)
			}
		})
	}
}

// plainWithoutIR is AUTH PLAIN without an initial response: the server
// asks with an empty challenge.
type plainWithoutIR struct{ user, pass string }

func (a plainWithoutIR) Start(*smtp.ServerInfo) (string, []byte, error) { return "PLAIN", nil, nil }

func (a plainWithoutIR) Next(_ []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	return []byte("\x00" + a.user + "\x00" + a.pass), nil
}

// An empty SASL challenge is "334 " (RFC 4954 4: "334" SP [base64]): Go's
// net/textproto rejects a bare "334" as a short response.
func TestAuthEmptyChallengeNetSMTP(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithAuth("user", "secret"))
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(plainWithoutIR{"user", "secret"}); err != nil {
		t.Fatalf("Auth: %v", err)
	}
	if err := c.Quit(); err != nil {
		t.Fatalf("Quit: %v", err)
	}
	s := srv.WaitForSessions(t, 1)[0]
	if s.Auth == nil || !s.Auth.Success || s.Auth.Username != "user" {
		t.Errorf("Session.Auth = %v, want PLAIN user ok", s.Auth)
	}
}

// liveHeap returns the heap in use after a full collection: what is
// still referenced. It is exact only while nothing allocates: the memory
// tests call it when the server is waiting for the client (objects
// allocated during a collection survive it, so sampling while the server
// streams would count its garbage).
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// streamConn is a client connection for the memory tests, greeted.
func streamConn(t *testing.T, addr string) *loadConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	lc := &loadConn{nc: nc, br: bufio.NewReader(nc)}
	_ = nc.SetDeadline(time.Now().Add(opTimeout))
	expectReply(t, lc, "220")
	sendRaw(t, lc, "EHLO client.example\r\n")
	expectReply(t, lc, "250")
	return lc
}

func sendRaw[T string | []byte](t *testing.T, lc *loadConn, s T) {
	t.Helper()
	if err := lc.write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

// expectReply reads a reply and checks its code and enhanced status.
func expectReply(t *testing.T, lc *loadConn, want string) {
	t.Helper()
	_, line, err := lc.reply()
	if err != nil || !strings.HasPrefix(line, want) {
		t.Fatalf("want a reply starting %q, got %q, %v", want, line, err)
	}
}

// heldWhileWaiting returns the live heap measured while the server, its
// input consumed, waits for more in the middle of a message, until its
// read timeout makes it answer 421 4.4.2: the last measurement before that
// reply, taken while the server did nothing but hold what it kept.
func heldWhileWaiting(t *testing.T, lc *loadConn) uint64 {
	t.Helper()
	replied := make(chan string, 1)
	go func() {
		_, line, err := lc.reply()
		if err != nil {
			line = err.Error()
		}
		replied <- line
	}()
	var last uint64
	for {
		h := liveHeap()
		select {
		case line := <-replied:
			if !strings.HasPrefix(line, "421 4.4.2") || last == 0 {
				t.Fatalf("want 421 4.4.2 after the read timeout, got %q (%d measurements)", line, last)
			}
			return last
		default:
			last = h
		}
	}
}

const mib = 1 << 20

// growth returns the growth from base in MiB, for messages.
func growth(h, base uint64) float64 {
	return (float64(h) - float64(base)) / mib
}

// A client cannot make the server hold more than the size limit, however
// much it sends: messages over the limit, an endless DATA stream, BDAT
// chunks over the limit, a huge BDAT size, about 60 MiB in all to
// servers with a 1 MiB limit. Each gets 552 5.3.4, nothing is recorded,
// the server holds nothing of refused messages afterwards and, in the
// middle of one, holds no more than the limit.
//
// Not parallel: the heap is measured for the whole process. The
// measurements are exact (taken while the server waits for the client),
// so the bounds have a wide margin both ways: a server that buffered what
// it must discard would hold 2.5 MiB or more where the bound is 1 MiB.
func TestMemoryBoundedBySizeLimit(t *testing.T) {
	const limit = 1 * mib
	line := []byte(strings.Repeat("0123456789", 9) + "\r\n") // 92 octets
	// The client's data is made once: the heap measured is the server's.
	body := bytes.Repeat(line, 5*limit/2/len(line)) // 2.5 MiB: over the limit, under the point where the server gives up
	oversized := append(slices.Clip(body), ".\r\n"...)
	half := bytes.Repeat([]byte("x"), limit/2)
	flood := bytes.Repeat(line, 4*mib/len(line))
	const envelope = "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n"
	// They stay live throughout, so the subtests' baselines are steady.
	defer runtime.KeepAlive([][]byte{body, oversized, half, flood})

	t.Run("messages over the limit", func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithMaxMessageBytes(limit))
		lc := streamConn(t, srv.Addr())
		base := liveHeap()
		var sent int
		for range 10 {
			sendRaw(t, lc, envelope+"DATA\r\n")
			expectReply(t, lc, "250 2.1.0")
			expectReply(t, lc, "250 2.1.5")
			expectReply(t, lc, "354")
			sendRaw(t, lc, oversized)
			sent += len(oversized)
			expectReply(t, lc, "552 5.3.4")
			if h := liveHeap(); h > base+limit/2 {
				t.Fatalf("after refusing %d MiB the server holds %.2f MiB more", sent/mib, growth(h, base))
			}
		}
		if n := len(srv.Messages()); n != 0 {
			t.Errorf("%d messages recorded, want none", n)
		}
	})
	t.Run("inside a message over the limit", func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithMaxMessageBytes(limit), mocksmtp.WithReadTimeout(500*time.Millisecond))
		// The base is measured before the session: a collection of this
		// process's heap can take longer than the server's read timeout on
		// a loaded machine, which would end the session before its message.
		base := liveHeap()
		lc := streamConn(t, srv.Addr())
		sendRaw(t, lc, envelope+"DATA\r\n")
		expectReply(t, lc, "250 2.1.0")
		expectReply(t, lc, "250 2.1.5")
		expectReply(t, lc, "354")
		sendRaw(t, lc, body) // no end of data
		h := heldWhileWaiting(t, lc)
		t.Logf("2.5 MiB into a message, the server's heap grew by %.2f MiB", growth(h, base))
		if h > base+limit {
			t.Errorf("2.5 MiB into a message, the server holds %.2f MiB; want at most the %d MiB limit", growth(h, base), limit/mib)
		}
	})
	t.Run("endless DATA", func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithMaxMessageBytes(limit))
		lc := streamConn(t, srv.Addr())
		sendRaw(t, lc, envelope+"DATA\r\n")
		expectReply(t, lc, "250 2.1.0")
		expectReply(t, lc, "250 2.1.5")
		expectReply(t, lc, "354")
		var sent int
		for sent < 50*mib && lc.write(flood) == nil {
			sent += len(flood)
		}
		if sent >= 50*mib {
			t.Fatalf("the server read %d MiB of one message with a %d MiB limit and did not close", sent/mib, limit/mib)
		}
		// The server answered 552 5.3.4 and closed; the client, busy
		// writing, may see a reset instead of the reply: the transcript
		// says what the server sent.
		s := srv.WaitForSessions(t, 1)[0]
		if tr := s.Transcript.String(); !strings.Contains(tr, "S: 552 5.3.4") {
			t.Errorf("the endless DATA was not answered 552 5.3.4:\n%s", tr)
		}
	})
	t.Run("BDAT chunks over the limit", func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithMaxMessageBytes(limit))
		lc := streamConn(t, srv.Addr())
		chunk := string(fmt.Appendf(nil, "BDAT %d\r\n%s", len(half), half))
		last := string(fmt.Appendf(nil, "BDAT %d LAST\r\n%s", len(half), half))
		base := liveHeap()
		for range 16 { // 24 MiB
			sendRaw(t, lc, envelope+chunk+chunk+last)
			for _, want := range []string{"250 2.1.0", "250 2.1.5", "250 2.0.0", "250 2.0.0", "552 5.3.4"} {
				expectReply(t, lc, want)
			}
			if h := liveHeap(); h > base+limit/2 {
				t.Fatalf("after a refused message the server holds %.2f MiB more", growth(h, base))
			}
		}
		runtime.KeepAlive([]string{chunk, last})
		if n := len(srv.Messages()); n != 0 {
			t.Errorf("%d messages recorded, want none", n)
		}
	})
	t.Run("inside a BDAT chunk over the limit", func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithMaxMessageBytes(limit), mocksmtp.WithReadTimeout(500*time.Millisecond))
		// 1 MiB kept (the limit), then a chunk over it, most of it sent.
		first := string(fmt.Appendf(nil, "%sBDAT %d\r\n%s%sBDAT %d LAST\r\n%s", envelope, limit, half, half, limit, half))
		rest := half[:len(half)-1000]
		base := liveHeap() // before the session, as in the subtest above
		lc := streamConn(t, srv.Addr())
		sendRaw(t, lc, first)
		for _, want := range []string{"250 2.1.0", "250 2.1.5", "250 2.0.0"} {
			expectReply(t, lc, want)
		}
		sendRaw(t, lc, rest)
		h := heldWhileWaiting(t, lc)
		runtime.KeepAlive(first)
		t.Logf("holding the limit, the server's heap grew by %.2f MiB", growth(h, base))
		if h > base+3*limit/2 {
			t.Errorf("1 MiB over the limit, the server holds %.2f MiB; want at most the %d MiB limit (and its slack)", growth(h, base), limit/mib)
		}
	})
	t.Run("huge BDAT size", func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithMaxMessageBytes(limit))
		lc := streamConn(t, srv.Addr())
		sendRaw(t, lc, envelope+"BDAT 1073741824 LAST\r\n")
		expectReply(t, lc, "250 2.1.0")
		expectReply(t, lc, "250 2.1.5")
		expectReply(t, lc, "552 5.3.4")
		var sent int
		for sent < 50*mib && lc.write(flood) == nil {
			sent += len(flood)
		}
		if sent >= 50*mib {
			t.Fatalf("the server read %d MiB of a BDAT chunk it refused", sent/mib)
		}
	})
}

// A web page that POSTs a form to the SMTP port (a cross-protocol attack)
// cannot send mail: the request line ends the session with 421 4.7.0
// before the body, noted in the transcript and as a finding (issue 13
// item 2).
func TestWebPageCannotSendMail(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	// What a browser sends for a form POSTed to the SMTP port with
	// enctype="text/plain", whose field value holds an SMTP session.
	body := "x=\r\nHELO web.example\r\nMAIL FROM:<web@example.com>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\n" +
		"Subject: sent by a web page\r\n\r\nhi\r\n.\r\nQUIT\r\n"
	req, err := http.NewRequest("POST", "http://"+srv.Addr()+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0")
	req.Header.Set("Origin", "http://attacker.example")
	c := dialRaw(t, srv.Addr())
	if err := req.Write(c.conn); err != nil {
		t.Fatal(err)
	}
	c.expect("220 ")
	c.expect("421 4.7.0")
	c.closed()
	c.conn.Close()
	s := srv.WaitForSessions(t, 1)[0]
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d messages recorded from a web page's POST", n)
	}
	tr := s.Transcript.String()
	for _, want := range []string{"C: POST / HTTP/1.1\n", "S: 421 4.7.0 ", `*: closed the connection at "POST", not an SMTP command`} {
		if !strings.Contains(tr, want) {
			t.Errorf("the transcript lacks %q:\n%s", want, tr)
		}
	}
	if fs := srv.Findings(); len(fs) != 1 || fs[0].Rule != mocksmtp.RuleNonSMTP || fs[0].Line != 2 {
		t.Errorf("findings %v, want one %s on line 2", fs, mocksmtp.RuleNonSMTP)
	}
	if s.Ended != mocksmtp.EndServerClosed {
		t.Errorf("the session ended %v, want server closed", s.Ended)
	}
}

// Credentials a client pipelines after an AUTH the server refuses (538
// before TLS, an unknown mechanism, AUTH before EHLO) are masked in the
// transcript: every line it sends while the exchange it started could
// still be going on, until a real command (issue 13 item 9).
func TestTranscriptMasksCredentialsAfterARefusedAUTH(t *testing.T) {
	t.Parallel()
	const user, pass = "mailer", "s3cr3t-Pa55"
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name    string
		opts    []mocksmtp.Option
		ehlo    bool
		auth    string
		refusal string
	}{
		{"538 before TLS", []mocksmtp.Option{mocksmtp.WithAuth(user, pass), mocksmtp.WithSTARTTLS(), mocksmtp.WithRequireTLSForAuth()}, true, "AUTH LOGIN", "538 5.7.11"},
		{"504 unknown mechanism", []mocksmtp.Option{mocksmtp.WithAuth(user, pass)}, true, "AUTH X-LOGIN", "504 5.5.4"},
		{"503 before EHLO", []mocksmtp.Option{mocksmtp.WithAuth(user, pass)}, false, "AUTH LOGIN", "503 5.5.1"},
		{"502 not offered", nil, true, "AUTH LOGIN", "502 5.5.1"},
		{"500 tab", []mocksmtp.Option{mocksmtp.WithAuth(user, pass)}, true, "AUTH\tLOGIN", "500 5.5.2"},
		{"500 too long", []mocksmtp.Option{mocksmtp.WithAuth(user, pass)}, true, "AUTH LOGIN " + strings.Repeat("A", 12288), "500 5.5.2"},
		{"500 too long, blanks before the verb", []mocksmtp.Option{mocksmtp.WithAuth(user, pass)}, true, " \t AUTH LOGIN " + strings.Repeat("A", 12288), "500 5.5.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t, tt.opts...)
			c := dialRaw(t, srv.Addr())
			c.expect("220 ")
			if tt.ehlo {
				c.send("EHLO client.example\r\n")
				c.expect("250 ")
			}
			c.send(tt.auth + "\r\n" + b64(user) + "\r\n" + b64(pass) + "\r\nNOOP\r\n")
			c.expect(tt.refusal)
			c.expect("500 5.5.2") // the username, as a command
			c.expect("500 5.5.2") // the password
			c.expect("250 2.0.0") // NOOP: a real command ends the masking
			c.send("QUIT\r\n")
			c.expect("221 ")
			c.conn.Close()
			s := srv.WaitForSessions(t, 1)[0]
			tr := s.Transcript.String()
			for _, secret := range []string{b64(user), b64(pass)} {
				if strings.Contains(tr, secret) {
					t.Errorf("the transcript shows %q:\n%s", secret, tr)
				}
			}
			if !strings.Contains(tr, "C: NOOP\n") {
				t.Errorf("the NOOP after the credentials is masked too:\n%s", tr)
			}
		})
	}
}

// No reply, finding or transcript line repeats what the transcript masks,
// in any case: a credential line is no verb to echo ("500 5.3.3
// Unrecognized command 'CZNJ...'" of the Exchange persona, a pipelining
// finding naming it) and an initial response sent where the mechanism
// goes is no mechanism to name (the auth-plaintext finding). Base64
// upper-cased is still the secret, give or take a few guesses.
func TestNoReplyOrFindingRepeatsAMaskedSecret(t *testing.T) {
	t.Parallel()
	const user, pass = "mailer", "s3cr3t-Pa55"
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	plain := b64("\x00" + user + "\x00" + pass)
	tests := []struct {
		name string
		opts []mocksmtp.Option
		ehlo bool
		send string
		want []string // the replies, in order
	}{
		{"Exchange, LOGIN pipelined after AUTH before EHLO", []mocksmtp.Option{mocksmtp.WithPersona(mocksmtp.Exchange)}, false,
			"AUTH LOGIN\r\n" + b64(user) + "\r\n" + b64(pass) + "\r\nNOOP\r\n", []string{"503 5.5.1", "500 5.3.3", "500 5.3.3", "250 2.0.0"}},
		{"Exchange, tabs in the AUTH line", []mocksmtp.Option{mocksmtp.WithPersona(mocksmtp.Exchange)}, true,
			"auth\tplain\t" + plain + "\r\n", []string{"500 5.3.3"}},
		{"LOGIN pipelined after AUTH before EHLO", nil, false,
			"AUTH LOGIN\r\n" + b64(user) + "\r\n" + b64(pass) + "\r\nNOOP\r\n", []string{"503 5.5.1", "500 5.5.2", "500 5.5.2", "250 2.0.0"}},
		{"strict, LOGIN pipelined after AUTH before EHLO", []mocksmtp.Option{mocksmtp.WithRejectNonconforming()}, false,
			"AUTH LOGIN\r\n" + b64(user) + "\r\n" + b64(pass) + "\r\nNOOP\r\n", []string{"503 5.5.1", "503 5.5.1", "503 5.5.1", "250 2.0.0"}},
		{"the initial response where the mechanism goes", nil, true, "AUTH " + plain + "\r\n", []string{"504 5.5.4"}},
		{"the initial response where the mechanism goes, before EHLO", nil, false, "AUTH " + plain + "\r\n", []string{"503 5.5.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t, append([]mocksmtp.Option{mocksmtp.WithAuth(user, pass)}, tt.opts...)...)
			c := dialRaw(t, srv.Addr())
			c.expect("220 ")
			if tt.ehlo {
				c.send("EHLO client.example\r\n")
				c.expect("250 ")
			}
			c.send(tt.send)
			var replies []string
			for _, want := range tt.want {
				got, err := c.reply()
				if err != nil || !strings.HasPrefix(got, want) {
					t.Fatalf("want a reply starting %q, got %q, %v", want, got, err)
				}
				replies = append(replies, got)
			}
			c.send("QUIT\r\n")
			c.expect("221 ")
			c.conn.Close()
			s := srv.WaitForSessions(t, 1)[0]
			var findings []string
			for _, f := range s.Findings {
				findings = append(findings, f.String())
			}
			seen := strings.ToUpper(strings.Join(replies, "\n") + "\n" + s.Transcript.String() + "\n" + strings.Join(findings, "\n"))
			for _, secret := range []string{b64(user), b64(pass), plain, pass} {
				if strings.Contains(seen, strings.ToUpper(secret)) {
					t.Errorf("%q shows, in some case, in the replies, transcript or findings:\n%s", secret, seen)
				}
			}
		})
	}
}
