package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mocksmtp/mocksmtp"
)

// nested returns a message of depth multiparts, one in the other.
func nested(depth int) []byte {
	var b strings.Builder
	b.WriteString("Subject: deep\r\n")
	for i := range depth {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\nbottom\r\n")
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return []byte(b.String())
}

func TestPartTreeStopsAtItsLimits(t *testing.T) {
	t.Parallel()
	depth := func(p *partJSON) int {
		n := 0
		for ; p != nil && len(p.Parts) > 0; p = &p.Parts[0] {
			n++
		}
		return n
	}
	for _, tt := range []struct {
		name      string
		raw       []byte
		wantDepth int
	}{
		{"depth 99", nested(99), 99},
		{"depth 100", nested(100), 100},
		{"depth 101", nested(101), 100},
		{"depth 5000", nested(5000), 100},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := partTree(&mocksmtp.Message{Raw: tt.raw})
			if got := depth(p); got != tt.wantDepth {
				t.Errorf("depth %d, want %d", got, tt.wantDepth)
			}
		})
	}
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=x\r\n\r\n")
	for range 1500 {
		b.WriteString("--x\r\nContent-Type: text/plain\r\n\r\nx\r\n")
	}
	b.WriteString("--x--\r\n")
	p := partTree(&mocksmtp.Message{Raw: []byte(b.String())})
	if len(p.Parts) != maxParts || p.Parts[0].Body != "" {
		t.Errorf("1500 parts: %d listed, the first linked to %q; want %d, and no links (the walk stopped)", len(p.Parts), p.Parts[0].Body, maxParts)
	}
}

func FuzzPartTree(f *testing.F) {
	f.Add([]byte(multipartMail))
	f.Add(nested(3))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		p := partTree(&mocksmtp.Message{Raw: raw})
		if p != nil && p.ContentType == "" {
			t.Errorf("a part without a content type: %+v", p)
		}
	})
}

// TestPartTreeLinksEachLeafToWhatItIs sends two text parts, the first
// with a file name that is an encoded word of nothing, which the message
// decodes, and so takes that part for its text and the second for an
// attachment: the part tree of GET /api/messages/{id} must link each part
// to what the message made of it, not swap them.
func TestPartTreeLinksEachLeafToWhatItIs(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	sendMail(t, p.smtp, "app@example.com", []string{"bob@example.com"}, strings.ReplaceAll(`Subject: two texts
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain; name="=?utf-8?q??="

the text
--b
Content-Type: text/plain

the attachment
--b--
`, "\n", "\r\n"))
	var m messageJSON
	getJSON(t, p, "/api/wait?count=1&timeout=5s", 200, &[]messageJSON{})
	getJSON(t, p, "/api/messages/1", 200, &m)
	if m.Text != "the text" || len(m.Attachments) != 1 || m.Parts == nil || len(m.Parts.Parts) != 2 {
		t.Fatalf("text %q, %d attachments, parts %+v; want the text, 1 attachment, 2 parts", m.Text, len(m.Attachments), m.Parts)
	}
	first, second := m.Parts.Parts[0], m.Parts.Parts[1]
	if first.Body != "text" || first.Attachment != nil || first.Filename != "" {
		t.Errorf("part 1 links to body %q, attachment %v, file name %q; want the text, no file name (as the message's)", first.Body, first.Attachment, first.Filename)
	}
	if second.Body != "" || second.Attachment == nil || *second.Attachment != 0 {
		t.Errorf("part 2 links to body %q, attachment %v; want attachment 0", second.Body, second.Attachment)
	}
}

// TestPartTreeFileNameOfNothingFallsBackToName sends an attachment whose
// Content-Disposition filename is an encoded word of nothing and whose
// Content-Type names it: the message takes the name, as a file name of
// nothing is none, and the part tree must say the same and keep its links.
func TestPartTreeFileNameOfNothingFallsBackToName(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	sendMail(t, p.smtp, "app@example.com", []string{"bob@example.com"}, strings.ReplaceAll(`Subject: a report
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain

the text
--b
Content-Type: application/pdf; name="report.pdf"
Content-Disposition: attachment; filename="=?utf-8?q??="

%PDF-1.4
--b--
`, "\n", "\r\n"))
	var m messageJSON
	getJSON(t, p, "/api/wait?count=1&timeout=5s", 200, &[]messageJSON{})
	getJSON(t, p, "/api/messages/1", 200, &m)
	if len(m.Attachments) != 1 || m.Parts == nil || len(m.Parts.Parts) != 2 {
		t.Fatalf("%d attachments, parts %+v; want 1 attachment, 2 parts", len(m.Attachments), m.Parts)
	}
	first, second := m.Parts.Parts[0], m.Parts.Parts[1]
	if first.Body != "text" {
		t.Errorf("part 1 links to body %q; want the text", first.Body)
	}
	if second.Attachment == nil || *second.Attachment != 0 || second.Filename != "report.pdf" {
		t.Errorf("part 2 links to attachment %v, file name %q; want attachment 0, report.pdf (as the message's %q)", second.Attachment, second.Filename, m.Attachments[0].Filename)
	}
}
