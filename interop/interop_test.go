package interop

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/mocksmtp/mocksmtp"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if binDir != "" {
			os.RemoveAll(binDir) // the mocksmtp program (program_test.go)
		}
		os.Exit(code)
	}))
}

// mailSpec is one mail of the matrix: what a client is asked to send, and
// the projection of the recorded [mocksmtp.Message] it is compared with.
// External senders (send.py, send.js) get it as JSON on stdin.
type mailSpec struct {
	From        string           `json:"from"`
	To          []string         `json:"to"`
	Subject     string           `json:"subject"`
	Text        string           `json:"text"`
	HTML        string           `json:"html,omitempty"`
	Attachments []attachmentSpec `json:"attachments,omitempty"`
}

// attachmentSpec is one attachment of a mailSpec; Data travels in JSON as
// standard base64.
type attachmentSpec struct {
	Filename    string `json:"filename"`
	ContentType string `json:"contentType"`
	Data        []byte `json:"data"`
}

// plainMail is a single-part text mail. Its second line starts with a dot,
// so a client that forgets dot-stuffing loses a character.
func plainMail() mailSpec {
	return mailSpec{
		From:    "alice@example.com",
		To:      []string{"bob@example.com"},
		Subject: "Plain hello",
		Text:    "Hello Bob,\n.this line starts with a dot\nBye.\n",
	}
}

// multipartMail is a mail with a non-ASCII subject and text, an HTML
// alternative when html is set, and a binary attachment holding every
// octet value, for two recipients.
func multipartMail(html bool) mailSpec {
	m := mailSpec{
		From:    "alice@example.com",
		To:      []string{"bob@example.com", "carol@example.com"},
		Subject: "Quarterly report – Grüße",
		Text:    "Grüße, Bob!\n.The report is attached.\n",
		Attachments: []attachmentSpec{{
			Filename:    "report.bin",
			ContentType: "application/octet-stream",
			Data:        binaryData(),
		}},
	}
	if html {
		m.HTML = "<p>Grüße, <b>Bob</b>!</p>"
	}
	return m
}

// binaryData is the attachment content: every octet value twice, then the
// SMTP end-of-data sequence, which must survive as data.
func binaryData() []byte {
	b := make([]byte, 0, 520)
	for i := range 512 {
		b = append(b, byte(i))
	}
	return append(b, "\r\n.\r\n"...)
}

// project returns the fields of m that the matrix compares, in the shape
// of a mailSpec. Trailing line breaks of the bodies are dropped: where the
// text ends and the MIME boundary begins is up to each client's encoder.
func project(m *mocksmtp.Message) mailSpec {
	got := mailSpec{
		From:    m.From,
		To:      m.To,
		Subject: m.Subject,
		Text:    strings.TrimRight(m.Text, "\n"),
		HTML:    strings.TrimRight(m.HTML, "\n"),
	}
	for _, a := range m.Attachments {
		got.Attachments = append(got.Attachments, attachmentSpec{Filename: a.Filename, ContentType: a.ContentType, Data: a.Data})
	}
	return got
}

// checkMessage compares the recorded message with what was sent.
func checkMessage(t *testing.T, want mailSpec, m *mocksmtp.Message) {
	t.Helper()
	if m.ParseErr != nil {
		t.Errorf("ParseErr = %v, want nil", m.ParseErr)
	}
	want.Text = strings.TrimRight(want.Text, "\n")
	want.HTML = strings.TrimRight(want.HTML, "\n")
	if diff := cmp.Diff(want, project(m)); diff != "" {
		t.Errorf("message as recorded (-want +got):\n%s\nraw message:\n%s", diff, m.Raw)
	}
}

// harness is a server for one test and a channel of its ended sessions.
type harness struct {
	srv   *mocksmtp.Server
	ended chan *mocksmtp.Session
}

// start starts a server whose ended sessions can be waited for.
func start(t *testing.T, opts ...mocksmtp.Option) *harness {
	t.Helper()
	h := &harness{ended: make(chan *mocksmtp.Session, 64)}
	opts = append(opts, mocksmtp.WithOnSessionEnd(func(s *mocksmtp.Session) {
		select {
		case h.ended <- s:
		default: // more sessions than any test here opens; never block the server
		}
	}))
	h.srv = mocksmtp.Start(t, opts...)
	return h
}

// message waits for the only message and checks that there is one.
func (h *harness) message(t *testing.T) *mocksmtp.Message {
	t.Helper()
	msgs := h.srv.WaitForMessages(t, 1)
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
	return msgs[0]
}

// session waits until the next session ends and returns it.
func (h *harness) session(t *testing.T) *mocksmtp.Session {
	t.Helper()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case s := <-h.ended:
		return s
	case <-timer.C:
		t.Fatalf("no session ended within 10s; sessions:\n%v", h.srv.Sessions())
		return nil
	}
}

// checkClean checks that a session had no rejected command and ended as
// wanted: with QUIT (the client's last command, in any case) answered 221,
// or with the client closing the connection.
func checkClean(t *testing.T, s *mocksmtp.Session, want mocksmtp.EndReason) {
	t.Helper()
	var lastCmd, lastReply string
	for _, l := range s.Transcript {
		switch l.Dir {
		case mocksmtp.FromClient:
			lastCmd = l.Text
		case mocksmtp.FromServer:
			lastReply = l.Text
			if l.Text != "" && (l.Text[0] == '4' || l.Text[0] == '5') {
				t.Errorf("the server rejected a command: %q", l.Text)
			}
		}
	}
	if s.Ended != want {
		t.Errorf("session ended: %v, want %v", s.Ended, want)
	}
	if want == mocksmtp.EndQuit && (!strings.EqualFold(lastCmd, "QUIT") || !strings.HasPrefix(lastReply, "221 ")) {
		t.Errorf("last command %q answered %q, want QUIT answered 221", lastCmd, lastReply)
	}
	if want == mocksmtp.EndClientClosed && strings.EqualFold(lastCmd, "QUIT") {
		t.Errorf("the client sent QUIT, but the session ended with %v", s.Ended)
	}
	if t.Failed() {
		t.Logf("transcript:\n%s", s.Transcript.Numbered())
	}
}

// verbs returns the verbs the client sent, in order, as sent (not
// upper-cased), without AUTH continuation lines or message data.
func verbs(s *mocksmtp.Session) []string {
	var out []string
	for _, l := range s.Transcript {
		if l.Dir == mocksmtp.FromClient {
			verb, _, _ := strings.Cut(l.Text, " ")
			out = append(out, verb)
		}
	}
	return out
}

// buildMIME composes spec as a message, the way a program using only the
// standard library would: a text/plain message, or multipart/mixed holding
// multipart/alternative (text, HTML) and base64 attachments. It has the
// Date and Message-ID fields RFC 5322 asks for, which net/smtp, curl and
// smtplib leave to the program.
func buildMIME(spec mailSpec) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: %s\r\n", messageID())
	fmt.Fprintf(&b, "From: Alice <%s>\r\n", spec.From)
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(spec.To, ", "))
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", spec.Subject))
	b.WriteString("MIME-Version: 1.0\r\n")
	if spec.HTML == "" && len(spec.Attachments) == 0 {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		b.Write(quotedPrintable(spec.Text))
		return b.Bytes()
	}
	mixed := multipart.NewWriter(&b)
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=%s\r\n\r\n", mixed.Boundary())
	textHeader := textproto.MIMEHeader{
		"Content-Type":              {"text/plain; charset=utf-8"},
		"Content-Transfer-Encoding": {"quoted-printable"},
	}
	if spec.HTML == "" {
		w, _ := mixed.CreatePart(textHeader)
		w.Write(quotedPrintable(spec.Text))
	} else {
		var alt bytes.Buffer
		aw := multipart.NewWriter(&alt)
		w, _ := aw.CreatePart(textHeader)
		w.Write(quotedPrintable(spec.Text))
		w, _ = aw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {"text/html; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		w.Write(quotedPrintable(spec.HTML))
		aw.Close()
		w, _ = mixed.CreatePart(textproto.MIMEHeader{"Content-Type": {"multipart/alternative; boundary=" + aw.Boundary()}})
		w.Write(alt.Bytes())
	}
	for _, a := range spec.Attachments {
		w, _ := mixed.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {mime.FormatMediaType(a.ContentType, map[string]string{"name": a.Filename})},
			"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": a.Filename})},
			"Content-Transfer-Encoding": {"base64"},
		})
		enc := base64.StdEncoding.EncodeToString(a.Data)
		for len(enc) > 76 {
			fmt.Fprintf(w, "%s\r\n", enc[:76])
			enc = enc[76:]
		}
		fmt.Fprintf(w, "%s\r\n", enc)
	}
	mixed.Close()
	return b.Bytes()
}

// messageID returns a new Message-ID field value.
func messageID() string {
	return fmt.Sprintf("<%d.%d@client.example>", time.Now().UnixNano(), messageIDs.Add(1))
}

// messageIDs makes the IDs of one process unique.
var messageIDs atomic.Int64

// quotedPrintable encodes text with CRLF line breaks.
func quotedPrintable(text string) []byte {
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	w.Write([]byte(strings.ReplaceAll(text, "\n", "\r\n")))
	w.Close()
	return b.Bytes()
}

// needProgram returns the path of an external client, or skips the test
// naming the program and how to install it.
func needProgram(t *testing.T, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		missing(t, "%s is not installed (%v): install it with %q, or run .ci/run", name, err, install)
	}
	return path
}

// missing skips a test whose client is not installed, or fails it when
// MOCKSMTP_REQUIRE_CLIENTS is set (as .ci/run does), so that CI cannot
// pass by skipping.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("MOCKSMTP_REQUIRE_CLIENTS") != "" {
		t.Fatalf(format+" (MOCKSMTP_REQUIRE_CLIENTS is set)", args...)
	}
	t.Skipf(format, args...)
}

// programTimeout bounds every run of an external client.
const programTimeout = 30 * time.Second

// runProgram runs an external client with stdin, bounded by
// programTimeout, and returns its combined output.
func runProgram(t *testing.T, stdin []byte, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), programTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%s ran out of time: %v)", err, name, ctx.Err())
	}
	return string(out), err
}

// utf8Mail is a mail to a recipient whose address is not ASCII, which a
// client may send only with SMTPUTF8 (RFC 6531).
func utf8Mail() mailSpec {
	return mailSpec{
		From:    "alice@example.com",
		To:      []string{"bøb@example.com"},
		Subject: "Hello Bøb",
		Text:    "Hello Bøb.\n",
	}
}

// checkRejectedUTF8 checks that a client which sent a UTF-8 address
// without SMTPUTF8 got 553 5.6.7 and that nothing was recorded.
func checkRejectedUTF8(t *testing.T, h *harness, s *mocksmtp.Session) {
	t.Helper()
	if !hasReply(s, 553, "5.6.7") {
		t.Errorf("want a 553 5.6.7 reply to the UTF-8 address sent without SMTPUTF8\n%s", s.Transcript.Numbered())
	}
	if msgs := h.srv.Messages(); len(msgs) != 0 {
		t.Errorf("recorded %d messages, want none: %v", len(msgs), msgs)
	}
}

// hasReply reports whether the server sent a reply with code and
// enhanced status code.
func hasReply(s *mocksmtp.Session, code int, status string) bool {
	prefix := fmt.Sprintf("%d %s ", code, status)
	for _, l := range s.Transcript {
		if l.Dir == mocksmtp.FromServer && strings.HasPrefix(l.Text, prefix) {
			return true
		}
	}
	return false
}

// writeTemp writes data to a file in a temporary directory of the test
// and returns its path.
func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkParams compares the MAIL FROM parameters, ignoring the value of
// SIZE (which depends on each client's encoding) but not its presence.
func checkParams(t *testing.T, want map[string]string, m *mocksmtp.Message) {
	t.Helper()
	got := make(map[string]string)
	for k, v := range m.Params {
		if k == "SIZE" {
			if n, err := strconv.Atoi(v); err != nil || n <= 0 {
				t.Errorf("SIZE=%q, want a positive number", v)
			}
			v = ""
		}
		got[k] = v
	}
	if want == nil {
		want = map[string]string{}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MAIL FROM parameters, SIZE values blanked (-want +got):\n%s", diff)
	}
}

// checkFindings compares the conformance findings of every session and
// message of the server so far with want, as sorted lists of rules: a
// conforming client sending well-formed mail makes none. Call it after
// the session ended (a missing QUIT is found at the end). Findings of a
// message must also be on the message.
func checkFindings(t *testing.T, srv *mocksmtp.Server, want ...mocksmtp.Rule) {
	t.Helper()
	fs := srv.Findings()
	got := make([]mocksmtp.Rule, 0, len(fs))
	for _, f := range fs {
		got = append(got, f.Rule)
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if want == nil {
		want = []mocksmtp.Rule{}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("conformance findings, by rule (-want +got):\n%s\n%s", diff, mocksmtp.FindingsReport(fs, srv.Sessions()))
	}
	msgFindings := map[int]int{}
	for _, m := range srv.Messages() {
		msgFindings[m.ID] = len(m.Findings)
	}
	for _, f := range fs {
		if f.Message != 0 {
			msgFindings[f.Message]--
		}
	}
	for id, n := range msgFindings {
		if n != 0 {
			t.Errorf("message %d: its Findings and the server's disagree by %d", id, n)
		}
	}
}

// The account of the TLS and AUTH tests. The password is long enough that
// finding it, or its base64 form, in a transcript cannot be chance.
const (
	authUser = "mailer"
	authPass = "s3cret-Pa55word"
)

// tlsMode is how a client gets TLS: STARTTLS, or from the first byte.
type tlsMode int

const (
	starttls tlsMode = iota + 1
	implicitTLS
)

// startTLSAuth starts a server with TLS as mode says and AUTH for
// authUser, offering the given mechanisms (the server's default when
// none), then more options.
func startTLSAuth(t *testing.T, mode tlsMode, mechanisms []mocksmtp.AuthMechanism, more ...mocksmtp.Option) *harness {
	t.Helper()
	opts := []mocksmtp.Option{mocksmtp.WithAuth(authUser, authPass)}
	if mode == implicitTLS {
		opts = append(opts, mocksmtp.WithImplicitTLS())
	} else {
		opts = append(opts, mocksmtp.WithSTARTTLS())
	}
	if len(mechanisms) > 0 {
		opts = append(opts, mocksmtp.WithAuthMechanisms(mechanisms...))
	}
	return start(t, append(opts, more...)...)
}

// caFile writes the test certificate authority of srv to a PEM file, for
// clients that verify certificates with a CA file, and returns its path.
func caFile(t *testing.T, srv *mocksmtp.Server) string {
	t.Helper()
	pem := srv.CACertPEM()
	if len(pem) == 0 {
		t.Fatal("CACertPEM is empty")
	}
	return writeTemp(t, "ca.pem", pem)
}

// checkAuthenticatedSend checks what a send over TLS with AUTH leaves:
// message m recorded as it was sent, the session ended by QUIT, the TLS
// and AUTH of checkTLSAuth, and no findings.
func checkAuthenticatedSend(t *testing.T, h *harness, s *mocksmtp.Session, m mailSpec, mechanism mocksmtp.AuthMechanism) {
	t.Helper()
	checkMessage(t, m, h.message(t))
	checkClean(t, s, mocksmtp.EndQuit)
	checkTLSAuth(t, s, mechanism)
	checkFindings(t, h.srv)
}

// checkTLSAuth checks a session that sent over TLS after logging in as
// authUser with mechanism: a finished TLS 1.3 handshake, the AUTH
// exchange recorded as a success, and no secret in the transcript.
func checkTLSAuth(t *testing.T, s *mocksmtp.Session, mechanism mocksmtp.AuthMechanism) {
	t.Helper()
	if s.TLS == nil || !s.TLS.HandshakeComplete {
		t.Errorf("Session.TLS = %v, want a finished handshake", s.TLS)
	} else if s.TLS.Version != tls.VersionTLS13 {
		t.Errorf("TLS version %s, want TLS 1.3", tls.VersionName(s.TLS.Version))
	}
	want := &mocksmtp.AuthInfo{Mechanism: mechanism, Username: authUser, Success: true}
	if diff := cmp.Diff(want, s.Auth); diff != "" {
		t.Errorf("Session.Auth (-want +got):\n%s", diff)
	}
	checkMasked(t, s)
}

// checkMasked checks that the transcript shows authPass and authToken
// nowhere: neither as they are, nor inside anything the client sent in
// base64 (an AUTH PLAIN initial response, a LOGIN continuation line, an
// XOAUTH2 message).
func checkMasked(t *testing.T, s *mocksmtp.Session) {
	t.Helper()
	for _, secret := range []string{authPass, authToken} {
		if strings.Contains(s.Transcript.String(), secret) {
			t.Errorf("transcript shows the secret %q:\n%s", secret, s.Transcript.Numbered())
		}
		for _, l := range s.Transcript {
			for field := range strings.FieldsSeq(l.Text) {
				if b, err := base64.StdEncoding.DecodeString(field); err == nil && bytes.Contains(b, []byte(secret)) {
					t.Errorf("transcript shows the secret %q in base64: %q", secret, l)
				}
			}
		}
	}
}

// checkTLSRefused checks that a client that does not trust the
// certificate the server presented sent nothing after the handshake:
// the session ended as want says (EndTLSFailed when the client refused
// the certificate within the handshake; EndClientClosed when it checked
// it after, as curl does with the host name), with no AUTH and no message.
func checkTLSRefused(t *testing.T, h *harness, want mocksmtp.EndReason) {
	t.Helper()
	s := h.session(t)
	if s.Ended != want || s.Auth != nil || len(s.Messages) != 0 {
		t.Errorf("session ended %v with Auth %v and %d messages, want %v, none and none\n%s",
			s.Ended, s.Auth, len(s.Messages), want, s.Transcript.Numbered())
	}
	if want == mocksmtp.EndClientClosed {
		if got := verbs(s); !slices.Equal(got, []string{"EHLO", "STARTTLS"}) {
			t.Errorf("client sent %q, want nothing after STARTTLS", got)
		}
	}
	if msgs := h.srv.Messages(); len(msgs) != 0 {
		t.Errorf("recorded %d messages, want none", len(msgs))
	}
}

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }
