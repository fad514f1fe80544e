package smtpd_test

import (
	"errors"
	"io"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp/smtpd"
)

// A 421 says "Service not available, closing transmission channel" (RFC
// 5321 3.8, 4.2.2): the connection closes after it, whoever said it. A
// driver's 421, at whatever event (the greeting, a command, the reply
// that ends DATA or BDAT, a step of AUTH the SASL server refuses with it,
// a configured VRFY reply), is the client's last reply: it reads the 421
// and then the end of the connection, and nothing it pipelined after the
// command is read as a command or answered. The driver sees no event
// after it, and Next ends with ErrDriverClosed. Raw bytes that say 421
// are not read by the engine (a server that says 421 and goes on), and
// QUIT's reply closes anyway, as after QUIT.
func TestA421ClosesTheConnection(t *testing.T) {
	t.Parallel()
	tlsCfg, _ := selfSigned(t)
	closing := &smtpd.Reply{Code: 421, Status: "4.3.2", Lines: []string{"closing"}}
	const (
		greeting = "220 localhost ESMTP"
		helo     = "250 localhost"
		ehlo     = "250 CHUNKING" // the last line of the EHLO reply
		mailOk   = "250 2.1.0 Ok"
		rcptOk   = "250 2.1.5 Ok"
		dataGo   = "354 End data with <CR><LF>.<CR><LF>"
		said     = "421 4.3.2 closing"
		tx       = "HELO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n"
	)
	// login offers AUTH LOGIN on a SASL server that asks for the user
	// name, then refuses with a 421 of its own.
	login := smtpd.Config{
		AuthMechanisms: []string{"LOGIN"},
		NewSASL: func(string) (smtpd.SASLServer, error) {
			asked := false
			return saslFunc(func([]byte) ([]byte, bool, error) {
				if !asked {
					asked = true
					return []byte("Username:"), false, nil
				}
				return nil, false, *closing
			}), nil
		},
	}
	tests := []struct {
		name   string
		cfg    smtpd.Config
		at     smtpd.Kind    // the first event of this kind gets answer (0: none does)
		answer *smtpd.Answer // nil: Reply closing
		send   string        // all at once, after the dial
		want   []string      // the last line of each reply, before the end
		last   smtpd.Kind    // the driver's last event (0: at)
		err    error         // how Next ends (nil: ErrDriverClosed)
	}{
		{name: "greeting", at: smtpd.Greeting, send: "EHLO x\r\nQUIT\r\n", want: []string{said}},
		{name: "EHLO", at: smtpd.Ehlo, send: "EHLO x\r\nNOOP\r\nQUIT\r\n", want: []string{greeting, said}},
		{name: "MAIL", at: smtpd.Mail, send: tx + "QUIT\r\n", want: []string{greeting, helo, said}},
		{name: "RCPT", at: smtpd.Rcpt, send: tx + "DATA\r\nQUIT\r\n", want: []string{greeting, helo, mailOk, said}},
		{name: "DATA", at: smtpd.Data, send: tx + "DATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n",
			want: []string{greeting, helo, mailOk, rcptOk, said}},
		{name: "end of DATA", at: smtpd.Message, send: tx + "DATA\r\nhi\r\n.\r\nNOOP\r\nQUIT\r\n",
			want: []string{greeting, helo, mailOk, rcptOk, dataGo, said}},
		{name: "BDAT LAST", at: smtpd.Bdat, send: tx + "BDAT 4 LAST\r\nhi\r\nNOOP\r\nQUIT\r\n",
			want: []string{greeting, helo, mailOk, rcptOk, said}},
		{name: "end of BDAT LAST", at: smtpd.Message, send: tx + "BDAT 4 LAST\r\nhi\r\nNOOP\r\nQUIT\r\n",
			want: []string{greeting, helo, mailOk, rcptOk, said}},
		{name: "BDAT chunk", at: smtpd.Bdat, send: tx + "BDAT 4\r\nhi\r\nBDAT 4 LAST\r\nhi\r\nQUIT\r\n",
			want: []string{greeting, helo, mailOk, rcptOk, said}},
		{name: "AUTH", cfg: plainAuth(smtpd.Config{}), at: smtpd.Auth,
			send: "EHLO x\r\nAUTH PLAIN AHVzZXIAc2VjcmV0\r\nNOOP\r\nQUIT\r\n", want: []string{greeting, ehlo, said}},
		{name: "AUTH step refused by the SASL server", cfg: login, last: smtpd.Auth,
			send: "EHLO x\r\nAUTH LOGIN\r\ndXNlcg==\r\nNOOP\r\nQUIT\r\n", want: []string{greeting, ehlo, "334 VXNlcm5hbWU6", said}},
		{name: "STARTTLS", cfg: smtpd.Config{TLSConfig: tlsCfg}, at: smtpd.StartTLS,
			send: "EHLO x\r\nSTARTTLS\r\nNOOP\r\nQUIT\r\n", want: []string{greeting, ehlo, said}},
		{name: "before implicit TLS", cfg: smtpd.Config{ImplicitTLS: true, TLSConfig: tlsCfg}, at: smtpd.Connect,
			send: "QUIT\r\n", want: []string{said}},
		{name: "NOOP, paced", at: smtpd.Noop, answer: &smtpd.Answer{Reply: closing, Pace: smtpd.Pace{Chunk: 5}},
			send: "NOOP\r\nNOOP\r\nQUIT\r\n", want: []string{greeting, said}},
		{name: "the last bad command allowed", cfg: smtpd.Config{MaxBadCommands: 1}, at: smtpd.BadCommand,
			send: "FOO\r\nNOOP\r\nQUIT\r\n", want: []string{greeting, said}},
		{name: "configured VRFY reply", cfg: smtpd.Config{VRFY: closing}, last: smtpd.Vrfy,
			send: "VRFY x\r\nNOOP\r\nQUIT\r\n", want: []string{greeting, said}},

		// What does not change.
		{name: "raw 421 keeps it open", at: smtpd.Rset, answer: &smtpd.Answer{Raw: []byte("421 4.3.2 raw\r\n")},
			send: "RSET\r\nNOOP\r\nQUIT\r\n", want: []string{greeting, "421 4.3.2 raw", "250 2.0.0 Ok", "221 2.0.0 Bye"},
			last: smtpd.Quit, err: io.EOF},
		{name: "QUIT", at: smtpd.Quit, send: "QUIT\r\n", want: []string{greeting, said}, err: io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			answer := tt.answer
			if answer == nil {
				answer = &smtpd.Answer{Reply: closing}
			}
			var (
				mu       sync.Mutex
				kinds    []smtpd.Kind
				answered bool
			)
			c, wait := drive(t, tt.cfg, func(c *smtpd.Conn, ev *smtpd.Event) {
				mu.Lock()
				defer mu.Unlock()
				kinds = append(kinds, ev.Kind)
				if ev.Kind == tt.at && !answered {
					answered = true
					c.Answer(*answer)
				}
			})
			c.send(tt.send)
			var got []string
			for {
				lines, err := c.reply()
				if err != nil {
					if !errors.Is(err, io.EOF) || len(lines) > 0 {
						t.Fatalf("after %q: %q, %v; want the end of the connection", got, lines, err)
					}
					break
				}
				got = append(got, lines[len(lines)-1])
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("replies before the end (-want +got):\n%s", diff)
			}
			c.conn.Close()
			wantErr := tt.err
			if wantErr == nil {
				wantErr = smtpd.ErrDriverClosed
			}
			if err := wait(); !errors.Is(err, wantErr) {
				t.Errorf("Next ended with %v, want %v", err, wantErr)
			}
			last := tt.last
			if last == 0 {
				last = tt.at
			}
			mu.Lock()
			defer mu.Unlock()
			if i := slices.Index(kinds, last); i < 0 || i != len(kinds)-1 {
				t.Errorf("events %v: want %v last, and only once", kinds, last)
			}
		})
	}
}
