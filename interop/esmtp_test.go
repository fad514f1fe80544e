package interop

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
)

// TestGoSMTPDSNAndSMTPUTF8 sends with go-smtp's DSN and SMTPUTF8 options
// and checks that the parameters are recorded on the message.
func TestGoSMTPDSNAndSMTPUTF8(t *testing.T) {
	t.Parallel()
	h := start(t)
	c := dialGoSMTP(t, h.srv.Addr())
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"DSN", "SMTPUTF8", "CHUNKING", "8BITMIME", "PIPELINING", "ENHANCEDSTATUSCODES", "SIZE"} {
		if ok, _ := c.Extension(ext); !ok {
			t.Errorf("%s not advertised by a plain server", ext)
		}
	}
	err := c.Mail("jürgen@exämple.com", &smtp.MailOptions{UTF8: true, Return: smtp.DSNReturnHeaders, EnvelopeID: "QQ314159"})
	if err != nil {
		t.Fatalf("MAIL: %v", err)
	}
	rcpts := []struct {
		to   string
		opts *smtp.RcptOptions
	}{
		{"bøb@exämple.com", &smtp.RcptOptions{Notify: []smtp.DSNNotify{smtp.DSNNotifySuccess, smtp.DSNNotifyFailure},
			OriginalRecipientType: smtp.DSNAddressTypeRFC822, OriginalRecipient: "bob@example.com"}},
		{"carol@example.com", &smtp.RcptOptions{Notify: []smtp.DSNNotify{smtp.DSNNotifyNever}}},
		{"dave@example.com", nil},
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r.to, r.opts); err != nil {
			t.Fatalf("RCPT %s: %v", r.to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "From: Jürgen <jürgen@exämple.com>\r\nTo: bøb@exämple.com\r\nSubject: Grüße\r\n\r\nHallo.\r\n")
	if err := w.Close(); err != nil {
		t.Fatalf("end of data: %v", err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	m := h.message(t)
	if m.From != "jürgen@exämple.com" || m.Subject != "Grüße" {
		t.Errorf("From %q, Subject %q", m.From, m.Subject)
	}
	if diff := cmp.Diff(map[string]string{"SMTPUTF8": "", "RET": "HDRS", "ENVID": "QQ314159", "BODY": "8BITMIME"}, m.Params); diff != "" {
		t.Errorf("MAIL parameters (-want +got):\n%s", diff)
	}
	wantRcpt := map[string]map[string]string{
		"bøb@exämple.com":   {"NOTIFY": "SUCCESS,FAILURE", "ORCPT": "RFC822;bob@example.com"},
		"carol@example.com": {"NOTIFY": "NEVER"},
	}
	if diff := cmp.Diff(wantRcpt, m.RcptParams); diff != "" {
		t.Errorf("RCPT parameters (-want +got):\n%s", diff)
	}
}

// TestGoSMTPWithoutSMTPUTF8 checks both sides of SMTPUTF8 switched off:
// go-smtp refuses to ask for it, and a UTF-8 address sent anyway is
// refused with 553 5.6.7.
func TestGoSMTPWithoutSMTPUTF8(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		opts []mocksmtp.Option
	}{
		{"extension switched off", []mocksmtp.Option{mocksmtp.WithoutExtensions("SMTPUTF8")}},
		{"extension on, not asked for", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, tt.opts...)
			c := dialGoSMTP(t, h.srv.Addr())
			if err := c.Hello("client.example"); err != nil {
				t.Fatal(err)
			}
			if len(tt.opts) > 0 {
				if ok, _ := c.Extension("SMTPUTF8"); ok {
					t.Error("SMTPUTF8 advertised though switched off")
				}
				if err := c.Mail("jürgen@exämple.com", &smtp.MailOptions{UTF8: true}); err == nil {
					t.Error("go-smtp asked for SMTPUTF8 the server does not offer")
				}
			}
			err := c.Mail("jürgen@exämple.com", nil)
			var se *smtp.SMTPError
			if !errors.As(err, &se) || se.Code != 553 || se.EnhancedCode != (smtp.EnhancedCode{5, 6, 7}) {
				t.Fatalf("MAIL with a UTF-8 address: %v, want 553 5.6.7", err)
			}
		})
	}
}

// rawSMTP is a client that writes exactly the bytes it is given, for the
// CHUNKING tests: no common client sends BDAT.
type rawSMTP struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialRawSMTP(t *testing.T, addr string) *rawSMTP {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	t.Cleanup(func() { conn.Close() })
	return &rawSMTP{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// replies reads n replies and returns the code and enhanced status code
// of each ("250 2.0.0"), or "EOF" when the connection closed first.
func (c *rawSMTP) replies(n int) []string {
	c.t.Helper()
	var out []string
	for range n {
		for {
			l, err := c.r.ReadString('\n')
			if err != nil {
				return append(out, "EOF")
			}
			if len(l) >= 4 && l[3] == '-' {
				continue
			}
			f := strings.Fields(l)
			code := f[0]
			if len(f) > 1 && strings.Count(f[1], ".") == 2 {
				code += " " + f[1]
			}
			out = append(out, code)
			break
		}
	}
	return out
}

// TestChunking sends BDAT over a raw socket (RFC 3030): chunks, LAST,
// empty chunks, pipelining, size limits and sequence errors.
func TestChunking(t *testing.T) {
	t.Parallel()
	const env = "EHLO client.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n"
	const envReplies = 3
	tests := []struct {
		name string
		opts []mocksmtp.Option
		send string
		want []string // replies after the greeting and the envelope's
		raw  []string // the messages recorded, in order
	}{
		{
			name: "one chunk",
			send: env + bdat("Subject: x\r\n\r\nbody\r\n", true),
			want: []string{"250 2.0.0"},
			raw:  []string{"Subject: x\r\n\r\nbody\r\n"},
		},
		{
			name: "chunks pipelined, data with CRLF.CRLF kept as data",
			send: env + bdat("Subject: x\r\n\r\n", false) + bdat(".\r\nab\r\n", false) + bdat("", true),
			want: []string{"250 2.0.0", "250 2.0.0", "250 2.0.0"},
			raw:  []string{"Subject: x\r\n\r\n.\r\nab\r\n"},
		},
		{
			name: "two messages in one session",
			send: env + "BDAT 3 LAST\r\nx\r\nMAIL FROM:<c@example.com>\r\nRCPT TO:<d@example.com>\r\nBDAT 3 last\r\ny\r\n",
			want: []string{"250 2.0.0", "250 2.1.0", "250 2.1.5", "250 2.0.0"},
			raw:  []string{"x\r\n", "y\r\n"},
		},
		{
			name: "BDAT before RCPT: the chunk is read and refused",
			send: "EHLO client.example\r\nMAIL FROM:<a@example.com>\r\nBDAT 5 LAST\r\nhelloNOOP\r\n",
			want: []string{"250 2.1.0", "554 5.5.1", "250 2.0.0"},
		},
		{
			name: "DATA after BDAT",
			send: env + "BDAT 3\r\nx\r\nDATA\r\nBDAT 3 LAST\r\ny\r\n",
			want: []string{"250 2.0.0", "503 5.5.1", "250 2.0.0"},
			raw:  []string{"x\r\ny\r\n"},
		},
		{
			name: "bad size",
			send: env + "BDAT x LAST\r\n",
			want: []string{"501 5.5.4", "EOF"},
		},
		{
			name: "BDAT with extra argument: refused, its chunk still read",
			send: env + "BDAT 3 LAST NOW\r\nabcNOOP\r\n",
			want: []string{"501 5.5.4", "250 2.0.0"},
		},
		{
			name: "chunks over the size limit together",
			opts: []mocksmtp.Option{mocksmtp.WithMaxMessageBytes(10)},
			send: env + "BDAT 6\r\n123456BDAT 6 LAST\r\n123456NOOP\r\n",
			want: []string{"250 2.0.0", "552 5.3.4", "250 2.0.0"},
		},
		{
			name: "one chunk over the size limit",
			opts: []mocksmtp.Option{mocksmtp.WithMaxMessageBytes(10)},
			send: env + "BDAT 11 LAST\r\n12345678901",
			want: []string{"552 5.3.4", "EOF"},
		},
		{
			name: "CHUNKING switched off",
			opts: []mocksmtp.Option{mocksmtp.WithoutExtensions("CHUNKING")},
			send: env + "BDAT 3 LAST\r\nNOOP\r\n",
			want: []string{"500 5.5.2", "250 2.0.0"}, // BDAT is an unknown command: no chunk follows
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, tt.opts...)
			c := dialRawSMTP(t, h.srv.Addr())
			if _, err := io.WriteString(c.conn, tt.send); err != nil {
				t.Fatal(err)
			}
			n := len(tt.want)
			skip := 1 + envReplies
			if !strings.HasPrefix(tt.send, env) {
				skip = 2 // greeting and EHLO
			}
			got := c.replies(skip + n)
			if diff := cmp.Diff(tt.want, got[min(skip, len(got)):]); diff != "" {
				t.Errorf("replies (-want +got):\n%s", diff)
			}
			io.WriteString(c.conn, "QUIT\r\n")
			c.conn.(*net.TCPConn).CloseWrite()
			s := h.session(t)
			var raw []string
			for _, m := range s.Messages {
				raw = append(raw, string(m.Raw))
			}
			if diff := cmp.Diff(tt.raw, raw); diff != "" {
				t.Errorf("messages recorded (-want +got):\n%s\n%s", diff, s.Transcript.Numbered())
			}
		})
	}
}

// bdat returns a BDAT command with data as its chunk.
func bdat(data string, last bool) string {
	cmd := "BDAT " + strconv.Itoa(len(data))
	if last {
		cmd += " LAST"
	}
	return cmd + "\r\n" + data
}
