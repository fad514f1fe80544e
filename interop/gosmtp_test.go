package interop

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"github.com/mocksmtp/mocksmtp"
)

// TestGoSMTP sends with the client of github.com/emersion/go-smtp and a
// message composed with github.com/emersion/go-message/mail, its usual
// companion.
func TestGoSMTP(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		mail       mailSpec
		wantParams map[string]string
	}{
		// go-smtp declares 8BITMIME whenever the server offers it, and
		// SMTPUTF8 when an address needs it.
		{"plain", plainMail(), map[string]string{"BODY": "8BITMIME"}},
		{"multipart", multipartMail(true), map[string]string{"BODY": "8BITMIME"}},
		{"utf8 address", utf8Mail(), map[string]string{"BODY": "8BITMIME", "SMTPUTF8": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := start(t)
			raw, err := goMessageMIME(tc.mail)
			if err != nil {
				t.Fatal(err)
			}
			c := dialGoSMTP(t, h.srv.Addr())
			if err := c.Hello("client.example"); err != nil {
				t.Fatalf("Hello: %v", err)
			}
			if err := c.SendMail(tc.mail.From, tc.mail.To, bytes.NewReader(raw)); err != nil {
				t.Fatalf("SendMail: %v", err)
			}
			if err := c.Quit(); err != nil {
				t.Fatalf("Quit: %v", err)
			}
			m := h.message(t)
			checkMessage(t, tc.mail, m)
			checkParams(t, tc.wantParams, m)
			checkClean(t, h.session(t), mocksmtp.EndQuit)
			checkFindings(t, h.srv)
		})
	}
}

// dialGoSMTP connects a go-smtp client with a deadline on everything.
func dialGoSMTP(t *testing.T, addr string) *smtp.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	c := smtp.NewClient(conn)
	t.Cleanup(func() { c.Close() })
	return c
}

// goMessageMIME composes m with go-message's mail writer, with the Date
// and Message-ID fields it leaves to the program.
func goMessageMIME(m mailSpec) ([]byte, error) {
	var h mail.Header
	h.SetAddressList("From", []*mail.Address{{Name: "Alice", Address: m.From}})
	var to []*mail.Address
	for _, a := range m.To {
		to = append(to, &mail.Address{Address: a})
	}
	h.SetAddressList("To", to)
	h.SetSubject(m.Subject)
	h.SetDate(time.Now())
	if err := h.GenerateMessageID(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if m.HTML == "" && len(m.Attachments) == 0 {
		h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
		w, err := mail.CreateSingleInlineWriter(&b, h)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write([]byte(m.Text)); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	mw, err := mail.CreateWriter(&b, h)
	if err != nil {
		return nil, err
	}
	iw, err := mw.CreateInline()
	if err != nil {
		return nil, err
	}
	parts := []struct{ typ, body string }{{"text/plain", m.Text}}
	if m.HTML != "" {
		parts = append(parts, struct{ typ, body string }{"text/html", m.HTML})
	}
	for _, p := range parts {
		var ph mail.InlineHeader
		ph.SetContentType(p.typ, map[string]string{"charset": "utf-8"})
		w, err := iw.CreatePart(ph)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write([]byte(p.body)); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
	}
	if err := iw.Close(); err != nil {
		return nil, err
	}
	for _, a := range m.Attachments {
		var ah mail.AttachmentHeader
		ah.SetContentType(a.ContentType, nil)
		ah.SetFilename(a.Filename)
		w, err := mw.CreateAttachment(ah)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(a.Data); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
