package mocksmtp

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"weak"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// crlf turns a readable message, written with "\n", into wire form.
func crlf(s string) []byte {
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}

// wrap76 base64-encodes data in lines of 76 characters, as mailers do.
func wrap76(data []byte) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
	return b.String()
}

// parsed is what parseMIME fills in a Message, but for Header (cmp cannot
// look into mail.Header) and ParseErr (checked apart).
type parsed struct {
	Subject                           string
	HeaderFrom, HeaderTo, Cc, ReplyTo []*mail.Address
	Date                              time.Time
	MessageID                         string
	Text, HTML                        string
	Attachments                       []Attachment
}

func parsedOf(m *Message) parsed {
	return parsed{
		Subject:     m.Subject,
		HeaderFrom:  m.HeaderFrom,
		HeaderTo:    m.HeaderTo,
		Cc:          m.Cc,
		ReplyTo:     m.ReplyTo,
		Date:        m.Date,
		MessageID:   m.MessageID,
		Text:        m.Text,
		HTML:        m.HTML,
		Attachments: m.Attachments,
	}
}

// checkParseErr checks that err is nil when want is "", and otherwise that
// it is a mocksmtp error containing want.
func checkParseErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("ParseErr = %q, want nil", err)
	case want != "" && err == nil:
		t.Errorf("ParseErr = nil, want an error containing %q", want)
	case err != nil && !strings.HasPrefix(err.Error(), "mocksmtp: "):
		t.Errorf("ParseErr = %q, want the prefix %q", err, "mocksmtp: ")
	case err != nil && !strings.Contains(err.Error(), want):
		t.Errorf("ParseErr = %q, want it to contain %q", err, want)
	}
}

func TestParseMIME(t *testing.T) {
	blob := make([]byte, 512) // every byte value, twice
	for i := range blob {
		blob[i] = byte(i)
	}
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

	tests := []struct {
		name    string
		raw     []byte
		want    parsed
		wantErr string // "" for no ParseErr, else a part of its text
	}{
		{
			name: "plain ASCII message fills every header field",
			raw: crlf(`From: Alice Example <alice@example.com>
To: bob@example.com, Carol <carol@example.com>
Cc: dave@example.com
Reply-To: replies@example.com
Subject: Welcome
Date: Mon, 02 Jan 2006 15:04:05 -0700
Message-ID: <1234.5678@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Hello, Bob!
Second line.
`),
			want: parsed{
				Subject:    "Welcome",
				HeaderFrom: []*mail.Address{{Name: "Alice Example", Address: "alice@example.com"}},
				HeaderTo:   []*mail.Address{{Address: "bob@example.com"}, {Name: "Carol", Address: "carol@example.com"}},
				Cc:         []*mail.Address{{Address: "dave@example.com"}},
				ReplyTo:    []*mail.Address{{Address: "replies@example.com"}},
				Date:       time.Date(2006, 1, 2, 15, 4, 5, 0, time.FixedZone("", -7*60*60)),
				MessageID:  "1234.5678@example.com",
				Text:       "Hello, Bob!\nSecond line.\n",
			},
		},
		{
			name: "no Content-Type is text/plain",
			raw:  crlf("Subject: hi\n\nJust text\n"),
			want: parsed{Subject: "hi", Text: "Just text\n"},
		},
		{
			name: "quoted-printable text is decoded",
			raw: crlf(`Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Caf=C3=A9 costs 3=3D3 euros, this line is soft=
 broken.
Trailing spaces are dropped   
=E2=9C=93 done, =4a=4B lower case hex, a lone = stays
`),
			want: parsed{Text: "Café costs 3=3 euros, this line is soft broken.\n" +
				"Trailing spaces are dropped\n" +
				"✓ done, JK lower case hex, a lone = stays\n"},
		},
		{
			name: "base64 text is decoded",
			raw: crlf(`Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

SGVsbG8gZnJvbSBi
YXNlNjQNCmxpbmUgdHdvDQo=
`),
			want: parsed{Text: "Hello from base64\nline two\n"},
		},
		{
			name: "ISO-8859-1 text is converted to UTF-8",
			raw:  crlf("Content-Type: text/plain; charset=ISO-8859-1\nContent-Transfer-Encoding: 8bit\n\nVoil\xe0, caf\xe9.\n"),
			want: parsed{Text: "Voilà, café.\n"},
		},
		{
			name: "windows-1252 quoted-printable text is converted to UTF-8",
			raw:  crlf("Content-Type: text/plain; charset=windows-1252\nContent-Transfer-Encoding: quoted-printable\n\n=80 5, =93quoted=94\n"),
			want: parsed{Text: "€ 5, “quoted”\n"},
		},
		{
			name: "RFC 2047 subject and display names are decoded",
			raw: crlf(`From: =?ISO-8859-1?Q?Andr=E9_Pirard?= <andre@example.com>
To: =?UTF-8?B?SsO8cmdlbg==?= <juergen@example.com>
Subject: =?UTF-8?B?V2lsbGtvbW1lbiwgSsO8cmdlbiE=?= =?UTF-8?Q?_Caf=C3=A9?=

Hi
`),
			want: parsed{
				Subject:    "Willkommen, Jürgen! Café",
				HeaderFrom: []*mail.Address{{Name: "André Pirard", Address: "andre@example.com"}},
				HeaderTo:   []*mail.Address{{Name: "Jürgen", Address: "juergen@example.com"}},
				Text:       "Hi\n",
			},
		},
		{
			name: "multipart/alternative gives Text and HTML",
			raw: crlf(`MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

Plain body
--alt
Content-Type: text/html; charset=utf-8

<p>HTML body</p>
--alt--
`),
			want: parsed{Text: "Plain body", HTML: "<p>HTML body</p>"},
		},
		{
			name: "multipart/mixed attachments are decoded but keep their charset",
			raw: crlf(`Content-Type: multipart/mixed; boundary=mix

This preamble is ignored.
--mix
Content-Type: text/plain

See attached.
--mix
Content-Type: application/octet-stream; name="blob.bin"
Content-Disposition: attachment; filename="blob.bin"
Content-Transfer-Encoding: base64

` + wrap76(blob) + `
--mix
Content-Type: text/csv; charset=iso-8859-1
Content-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.csv

caf` + "\xe9" + `;1
--mix
Content-Type: application/pdf; name="=?UTF-8?Q?r=C3=A9sum=C3=A9.pdf?="
Content-Transfer-Encoding: base64

JVBERi0xLjQgcmVwb3J0
--mix
Content-Type: text/plain

A second text part is an attachment.
--mix--
This epilogue is ignored.
`),
			want: parsed{
				Text: "See attached.",
				Attachments: []Attachment{
					{Filename: "blob.bin", ContentType: "application/octet-stream", Data: blob},
					{Filename: "résumé.csv", ContentType: "text/csv", Data: []byte("caf\xe9;1")},
					{Filename: "résumé.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4 report")},
					{ContentType: "text/plain", Data: []byte("A second text part is an attachment.")},
				},
			},
		},
		{
			name: "multipart/related image with a Content-ID is inline",
			raw: crlf(`Content-Type: multipart/related; boundary=rel; type="text/html"

--rel
Content-Type: text/html; charset=utf-8

<img src="cid:logo@example.com">
--rel
Content-Type: IMAGE/PNG
Content-Transfer-Encoding: base64
Content-ID: <logo@example.com>

iVBORw0KGgoAAAANSUhEUg==
--rel--
`),
			want: parsed{
				HTML: `<img src="cid:logo@example.com">`,
				Attachments: []Attachment{
					{ContentType: "image/png", ContentID: "logo@example.com", Inline: true, Data: png},
				},
			},
		},
		{
			name: "nested mixed, alternative, related",
			raw: crlf(`Content-Type: multipart/mixed; boundary="m"

--m
Content-Type: multipart/alternative; boundary="a"

--a
Content-Type: text/plain

Text version
--a
Content-Type: multipart/related; boundary="r"

--r
Content-Type: text/html

<p>HTML version <img src="cid:pic"></p>
--r
Content-Type: image/gif
Content-ID: <pic>
Content-Disposition: inline
Content-Transfer-Encoding: base64

R0lGODlhIHBpeGVs
--r--

--a--

--m
Content-Type: application/pdf
Content-Disposition: attachment; filename="report.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQgcmVwb3J0
--m--
`),
			want: parsed{
				Text: "Text version",
				HTML: `<p>HTML version <img src="cid:pic"></p>`,
				Attachments: []Attachment{
					{ContentType: "image/gif", ContentID: "pic", Inline: true, Data: []byte("GIF89a pixel")},
					{Filename: "report.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4 report")},
				},
			},
		},
		{
			name: "message/rfc822 is an attachment, not parsed further",
			raw: crlf(`Content-Type: multipart/mixed; boundary=fwd

--fwd
Content-Type: text/plain

Forwarded below.
--fwd
Content-Type: message/rfc822

From: x@example.com
Subject: Original
Content-Type: multipart/mixed; boundary=inner

--inner
Content-Type: text/plain

Inner text
--inner--
--fwd--
`),
			want: parsed{
				Text: "Forwarded below.",
				Attachments: []Attachment{{ContentType: "message/rfc822", Data: crlf(`From: x@example.com
Subject: Original
Content-Type: multipart/mixed; boundary=inner

--inner
Content-Type: text/plain

Inner text
--inner--`)}},
			},
		},
		{
			name: "missing closing boundary keeps the parts before it",
			raw: crlf(`Content-Type: multipart/alternative; boundary=b

--b
Content-Type: text/plain

Plain
--b
Content-Type: text/html

<p>cut off
`),
			want:    parsed{Text: "Plain", HTML: "<p>cut off"},
			wantErr: `body: multipart/alternative: closing boundary "b" missing`,
		},
		{
			name: "missing closing boundaries at two levels are both reported",
			raw: crlf(`Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain

Plain
`),
			want:    parsed{Text: "Plain"},
			wantErr: `part 1: multipart/alternative: closing boundary "inner" missing; body: multipart/mixed: closing boundary "outer" missing`,
		},
		{
			name: "bad base64 keeps what decodes",
			raw: crlf(`Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain

Body
--b
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

SGVsbG8=SGVsbG8=
--b--
`),
			want: parsed{
				Text:        "Body",
				Attachments: []Attachment{{ContentType: "application/octet-stream", Data: []byte("Hello")}},
			},
			wantErr: "part 2: base64: illegal base64 data",
		},
		{
			name:    "base64 skips characters outside the alphabet",
			raw:     crlf("Content-Transfer-Encoding: base64\n\nSGVs!bG8s\nIHdv*cmxk\n"),
			want:    parsed{Text: "Hello, world"},
			wantErr: "body: base64: 2 bytes outside the base64 alphabet skipped",
		},
		{
			name: "base64 without padding is decoded",
			raw:  crlf("Content-Transfer-Encoding: base64\n\nSGVsbG8\n"),
			want: parsed{Text: "Hello"},
		},
		{
			name:    "unknown charset keeps the text undecoded",
			raw:     crlf("Content-Type: text/plain; charset=x-martian\n\nbl\xf6rp\n"),
			want:    parsed{Text: "bl\xf6rp\n"},
			wantErr: `body: charset "x-martian"`,
		},
		{
			name:    "unknown transfer encoding keeps the body encoded",
			raw:     crlf("Content-Transfer-Encoding: x-uuencode\n\nbegin 644 f\n"),
			want:    parsed{Text: "begin 644 f\n"},
			wantErr: `body: unknown Content-Transfer-Encoding "x-uuencode"`,
		},
		{
			name: "multipart whose boundary is not found is kept as an attachment",
			raw: crlf(`Content-Type: multipart/mixed; boundary=right

--wrong
Content-Type: text/plain

Text
--wrong--
`),
			want: parsed{Attachments: []Attachment{{ContentType: "multipart/mixed", Data: crlf(`--wrong
Content-Type: text/plain

Text
--wrong--
`)}}},
			wantErr: `body: multipart/mixed: boundary "right" not found`,
		},
		{
			name:    "multipart without boundary is kept as an attachment",
			raw:     crlf("Content-Type: multipart/mixed\n\nstuff\n"),
			want:    parsed{Attachments: []Attachment{{ContentType: "multipart/mixed", Data: crlf("stuff\n")}}},
			wantErr: "body: multipart/mixed without a boundary",
		},
		{
			name:    "message without header is all body",
			raw:     crlf("Hello there\nSubject: not a header\n"),
			want:    parsed{Text: "Hello there\nSubject: not a header\n"},
			wantErr: `header: no empty line before the body, which starts at "Hello there"`,
		},
		{
			name:    "header ends at a line that is not a field",
			raw:     crlf("Subject: hi\nthis is the body\n"),
			want:    parsed{Subject: "hi", Text: "this is the body\n"},
			wantErr: "header: no empty line before the body",
		},
		{
			name:    "unparsable header fields are left empty",
			raw:     crlf("From: just a name\nDate: yesterday\nMessage-ID: <no-at-sign>\n\nx"),
			want:    parsed{MessageID: "no-at-sign", Text: "x"},
			wantErr: "header From: mail: ",
		},
		{
			name:    "unparsable Content-Type is text/plain",
			raw:     crlf("Content-Type: text/\n\nbody"),
			want:    parsed{Text: "body"},
			wantErr: `body: Content-Type "text/": mime: `,
		},
		{
			name: "empty message",
			raw:  nil,
			want: parsed{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Message{Raw: tt.raw}
			parseMIME(m)
			if diff := cmp.Diff(tt.want, parsedOf(m)); diff != "" {
				t.Errorf("parseMIME mismatch (-want +got):\n%s", diff)
			}
			checkParseErr(t, m.ParseErr, tt.wantErr)
		})
	}
}

func TestParseMIMEHeader(t *testing.T) {
	m := &Message{Raw: crlf("Subject: x\nX-Mailer: test 1.0\nX-Tag: a\nX-Tag: b\n\nbody")}
	parseMIME(m)
	if got := m.Header.Get("X-Mailer"); got != "test 1.0" {
		t.Errorf("Header.Get(X-Mailer) = %q, want %q", got, "test 1.0")
	}
	if diff := cmp.Diff([]string{"a", "b"}, m.Header.Values("X-Tag")); diff != "" {
		t.Errorf("Header.Values(X-Tag) mismatch (-want +got):\n%s", diff)
	}
}

func TestParseMIMEKeepsRaw(t *testing.T) {
	raw := crlf("Content-Type: text/plain\nContent-Transfer-Encoding: 7bit\n\nbody\n")
	orig := bytes.Clone(raw)
	m := &Message{Raw: raw}
	parseMIME(m)
	if !bytes.Equal(m.Raw, orig) {
		t.Errorf("Raw changed to %q, want %q", m.Raw, orig)
	}
	m.Text = "changed"
	parseMIME(m) // again: the same result
	if m.Text != "body\n" || len(m.Attachments) != 0 {
		t.Errorf("second parseMIME: Text = %q, %d attachments; want %q, 0", m.Text, len(m.Attachments), "body\n")
	}
}

// nestedMultipart is a message of depth multiparts, one in the other, around
// a text part.
func nestedMultipart(depth int) []byte {
	var b bytes.Buffer
	b.WriteString("Subject: deep\r\n")
	for i := range depth {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\ninnermost\r\n")
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return b.Bytes()
}

// manyParts is a multipart/mixed message of n attachments.
func manyParts(n int) []byte {
	var b bytes.Buffer
	b.WriteString("Content-Type: multipart/mixed; boundary=b\r\n\r\n")
	for i := range n {
		fmt.Fprintf(&b, "--b\r\nContent-Type: application/octet-stream\r\n\r\n%d\r\n", i)
	}
	b.WriteString("--b--\r\n")
	return b.Bytes()
}

func TestParseMIMELimits(t *testing.T) {
	tests := []struct {
		name            string
		raw             []byte
		wantErr         error // nil for no ParseErr
		wantText        string
		wantAttachments int
	}{
		{"100 levels of nesting are parsed", nestedMultipart(maxMIMEDepth), nil, "innermost", 0},
		{"101 levels of nesting are too deep", nestedMultipart(maxMIMEDepth + 1), ErrMIMETooDeep, "", 0},
		{"5000 levels of nesting stop at the limit", nestedMultipart(5000), ErrMIMETooDeep, "", 0},
		{"1000 parts are parsed", manyParts(maxMIMEParts), nil, "", maxMIMEParts},
		{"1001 parts are too many", manyParts(maxMIMEParts + 1), ErrMIMETooManyParts, "", maxMIMEParts},
		{"2000 parts stop at the limit", manyParts(2000), ErrMIMETooManyParts, "", maxMIMEParts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Message{Raw: tt.raw}
			parseMIME(m)
			if !errors.Is(m.ParseErr, tt.wantErr) || (tt.wantErr == nil) != (m.ParseErr == nil) {
				t.Errorf("ParseErr = %v, want %v", m.ParseErr, tt.wantErr)
			}
			if m.Text != tt.wantText {
				t.Errorf("Text = %q, want %q", m.Text, tt.wantText)
			}
			if len(m.Attachments) != tt.wantAttachments {
				t.Errorf("got %d attachments, want %d", len(m.Attachments), tt.wantAttachments)
			}
		})
	}
}

func TestParseMIMEProblemsAreCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=b\r\n\r\n")
	for range 2 * maxMIMEProblems {
		b.WriteString("--b\r\nContent-Transfer-Encoding: x-unknown\r\n\r\ndata\r\n")
	}
	b.WriteString("--b--\r\n")
	m := &Message{Raw: []byte(b.String())}
	parseMIME(m)
	if len(m.Attachments) != 2*maxMIMEProblems-1 {
		t.Errorf("got %d attachments, want %d", len(m.Attachments), 2*maxMIMEProblems-1)
	}
	checkParseErr(t, m.ParseErr, fmt.Sprintf("part %d: unknown Content-Transfer-Encoding \"x-unknown\", body kept encoded (and %d more problems)", maxMIMEProblems, maxMIMEProblems))
}

func TestMessageString(t *testing.T) {
	tests := []struct {
		name string
		m    *Message
		want string
	}{
		{
			name: "one recipient, attachments",
			m: &Message{ID: 3, From: "a@x", To: []string{"b@y"}, Subject: "Subject",
				Raw: make([]byte, 1234), Attachments: make([]Attachment, 2)},
			want: `message 3 from <a@x> to <b@y> "Subject" (1234 bytes, 2 attachments)`,
		},
		{
			name: "null sender, many recipients, parse error",
			m: &Message{ID: 1, To: []string{"a@x", "b@x", "c@x", "d@x", "e@x"}, Subject: "line\nbreak",
				Raw: []byte("x"), Attachments: make([]Attachment, 1), ParseErr: ErrMIMETooDeep},
			want: `message 1 from <> to <a@x>, <b@x>, <c@x> and 2 more "line\nbreak" (1 byte, 1 attachment, parse error)`,
		},
		{
			name: "long subject is shortened",
			m:    &Message{ID: 2, From: "a@x", Subject: strings.Repeat("é", 100)},
			want: `message 2 from <a@x> to nobody "` + strings.Repeat("é", 59) + `…" (0 bytes)`,
		},
		{
			name: "nil",
			m:    nil,
			want: "<nil>",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

var benchMultipart = crlf(`From: Alice <alice@example.com>
To: bob@example.com
Subject: =?UTF-8?Q?Caf=C3=A9?=
Date: Mon, 02 Jan 2006 15:04:05 -0700
Message-ID: <1@example.com>
Content-Type: multipart/mixed; boundary="m"

--m
Content-Type: multipart/alternative; boundary="a"

--a
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

` + strings.Repeat("Caf=C3=A9 au lait, a line of text for the benchmark.\n", 50) + `
--a
Content-Type: text/html; charset=iso-8859-1

` + strings.Repeat("<p>Caf\xe9 au lait, a line of HTML for the benchmark.</p>\n", 50) + `
--a--

--m
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="blob.bin"
Content-Transfer-Encoding: base64

` + wrap76(bytes.Repeat([]byte{0, 1, 2, 3, 255}, 4096)) + `
--m--
`)

func BenchmarkParseMIMEPlain(b *testing.B) {
	raw := crlf("From: Alice <alice@example.com>\nTo: bob@example.com\nSubject: Welcome\n" +
		"Date: Mon, 02 Jan 2006 15:04:05 -0700\nMessage-ID: <1@example.com>\n\n" +
		strings.Repeat("A line of plain text for the benchmark.\n", 50))
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		parseMIME(&Message{Raw: raw})
	}
}

// BenchmarkParseMIMEOneDigitDay is BenchmarkParseMIMEPlain with the Date
// of days 1 to 9 as Postfix and smtp-source write it: the day padded with
// a space, a comment after the zone.
func BenchmarkParseMIMEOneDigitDay(b *testing.B) {
	raw := crlf("From: Alice <alice@example.com>\nTo: bob@example.com\nSubject: Welcome\n" +
		"Date: Fri,  4 Dec 2026 10:00:00 +0000 (UTC)\nMessage-ID: <1@example.com>\n\n" +
		strings.Repeat("A line of plain text for the benchmark.\n", 50))
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		parseMIME(&Message{Raw: raw})
	}
}

func BenchmarkParseMIMEMultipart(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchMultipart)))
	for b.Loop() {
		parseMIME(&Message{Raw: benchMultipart})
	}
}

func FuzzParseMessage(f *testing.F) {
	f.Add(nestedMultipart(3))
	f.Fuzz(func(t *testing.T, raw []byte) {
		orig := bytes.Clone(raw)
		m := &Message{Raw: raw}
		parseMIME(m)
		if !bytes.Equal(m.Raw, orig) || len(m.Raw) != len(raw) {
			t.Fatalf("Raw changed: %q, want %q", m.Raw, orig)
		}
		if len(m.Attachments) > maxMIMEParts+1 {
			t.Errorf("got %d attachments, more than the %d part limit", len(m.Attachments), maxMIMEParts)
		}
		if m.ParseErr != nil && !strings.HasPrefix(m.ParseErr.Error(), "mocksmtp: ") {
			t.Errorf("ParseErr = %q, want the prefix %q", m.ParseErr, "mocksmtp: ")
		}
		_ = m.String()
		// Snapshots parse Raw again (see kept): the same input must give
		// the same message.
		again := &Message{Raw: raw}
		parseMIME(again)
		if a, b := parsedOf(m), parsedOf(again); !cmp.Equal(a, b) || fmt.Sprint(m.ParseErr) != fmt.Sprint(again.ParseErr) {
			t.Errorf("a second parse differs:\n%s", cmp.Diff(a, b))
		}
	})
}

// TestKeptViewRoundTrip checks that a snapshot of a kept message has every
// field the message had when it arrived, whether it shares the parse made
// then or parses Raw again because nothing held it any more.
func TestKeptViewRoundTrip(t *testing.T) {
	m := &Message{
		ID: 7, From: "app@example.com", To: []string{"bob@example.com"},
		Params:     map[string]string{"BODY": "8BITMIME"},
		RcptParams: map[string]map[string]string{"bob@example.com": {"NOTIFY": "NEVER"}},
		Received:   time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC),
		Findings:   []Finding{{Rule: RuleBareLineEnding, Session: 1, Message: 7, Text: "bare LF"}},
		DKIM:       []DKIMResult{{Status: DKIMPass, Domain: "example.com", Selector: "s", HeaderKeys: []string{"From"}}},
		dkimMore:   2,
		ARC: ARCResult{Status: ARCFail, Instance: 1, Reason: "set 1: ARC-Seal fail: ...", Sets: []ARCSet{
			{Instance: 1, Domain: "example.net", Selector: "arc", CV: "none", Seal: DKIMFail, SealReason: "...", Signature: DKIMPass}}},
		Raw: crlf(`From: Alice <alice@example.com>
To: Bob <bob@example.com>
Cc: dave@example.com
Reply-To: replies@example.com
Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=
Date: Mon, 02 Jan 2006 15:04:05 -0700
Message-ID: <id-1@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=b1

--b1
Content-Type: multipart/alternative; boundary=b2

--b2
Content-Type: text/plain; charset=utf-8

Hello
--b2
Content-Type: text/html; charset=utf-8

<p>Hello</p>
--b2--
--b1
Content-Type: application/pdf
Content-Disposition: attachment; filename=report.pdf
Content-Transfer-Encoding: base64

JVBE!Ri0=
--b1--
`),
	}
	parseMIME(m) // a ParseErr: a character outside the base64 alphabet
	v := reflect.ValueOf(*m)
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.IsExported() && f.Name != "Session" && v.Field(i).IsZero() {
			t.Fatalf("field %s is zero: this test must set every field to see that snapshots keep it", f.Name)
		}
	}
	header := func(h mail.Header) string {
		var b bytes.Buffer
		if err := textproto.WriteHeader(&b, h.Header.Header); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	sameText := cmp.Comparer(func(a, b error) bool { return fmt.Sprint(a) == fmt.Sprint(b) })
	opts := []cmp.Option{cmpopts.IgnoreUnexported(Message{}), sameText, cmp.Transformer("header", header)}

	k := keep(m, true, 1, 0, &keptBy{conf: &conformanceOptions{}})
	shared := k.view()
	if diff := cmp.Diff(m, shared, opts...); diff != "" {
		t.Errorf("view sharing the parse on arrival (-arrived +view):\n%s", diff)
	}
	if shared.parse != m {
		t.Errorf("view parsed Raw again while the message it arrived as was held")
	}
	k.mime = weak.Pointer[Message]{} // as after a collection
	again := k.view()
	if diff := cmp.Diff(m, again, opts...); diff != "" {
		t.Errorf("view parsing Raw again (-arrived +view):\n%s", diff)
	}
	if shared.dkimMore != 2 || again.dkimMore != 2 {
		t.Errorf("views have dkimMore %d and %d, want 2", shared.dkimMore, again.dkimMore)
	}
	if again.parse == m || k.view().parse != again.parse {
		t.Errorf("views taken while one is held do not share its parse")
	}
}

// TestDateAsGoMessage checks that the Date fast path gives what
// go-message's Header.Date gives.
func TestDateAsGoMessage(t *testing.T) {
	for _, v := range []string{
		"Mon, 02 Jan 2006 15:04:05 -0700",
		"Fri,  4 Dec 2026 10:00:00 +0000", // space-padded, as Postfix and smtp-source write it
		"Fri,  4 Dec 2026 10:00:00 +0000 (UTC)",
		"Fri, 4 Dec 2026 10:00:00 +0000",
		"Fri,   4 Dec 2026 10:00:00 +0000",
		"Fri, 4 Dec 2026  10:00:00 +0000",
		"Fri,\t4 Dec 2026 10:00:00 +0000",
		" 4 Dec 2026 10:00:00 +0000",
		"Fri, 14 Dec 2026 10:00:00 +0000",
		"Fri,  04 Dec 2026 10:00:00 +0000",
		"Fri, 4 Dec 2026 9:00:00 +0000",
		"  Mon, 02 Jan 2006 15:04:05 +0000  ",
		"Tue, 24 Nov 2026 18:41:56 +0100",
		"Mon, 2 Jan 2006 15:04:05 -0700",
		"02 Jan 2006 15:04:05 -0700",
		"Mon, 02 Jan 2006 15:04 -0700",
		"Mon, 02 Jan 06 15:04:05 -0700",
		"Mon, 02 Jan 2006 15:04:05 -0700 (MST)",
		"Tue, 24 Nov 2026 18:53:44 +0000 (UTC)",
		"Tue, 24 Nov 2026 18:53:44 +0000(UTC)",
		"Tue, 24 Nov 2026 18:53:44 +0000 (a (nested) comment)",
		"Tue, 24 Nov 2026 18:53:44 +0000 (unclosed",
		"Tue, 24 Nov 2026 18:53:44 +0000 (x) (y)",
		"Tue, 24 Nov 2026 18:53:44 +0000 x (y)",
		"(only a comment)",
		"Mon, 02 Jan 2006 15:04:05 GMT",
		"Mon, 02 Jan 2006 15:04:05 -0700\r\n",
		"Fri, 02 Jan 2006 15:04:05 -0700", // a wrong weekday
		"Mon, 32 Jan 2006 15:04:05 -0700",
		"yesterday",
		"",
	} {
		var h mail.Header
		h.Set("Date", v)
		got, gotErr := date(&h)
		want, wantErr := h.Date()
		_, gotOff := got.Zone()
		_, wantOff := want.Zone()
		if !got.Equal(want) || gotOff != wantOff || (gotErr == nil) != (wantErr == nil) {
			t.Errorf("date(%q) = %v, %v; go-message: %v, %v", v, got, gotErr, want, wantErr)
		}
	}
}

// TestDateFastPath checks that the usual forms of Date, with a day of two
// digits, one digit, or one digit padded with a space (as Postfix and
// smtp-source write it on days 1 to 9), take the fast path: no more
// allocations than the first (net/mail's parser tries a dozen forms and
// builds an error for each).
func TestDateFastPath(t *testing.T) {
	allocs := func(v string) float64 {
		var h mail.Header
		h.Set("Date", v)
		return testing.AllocsPerRun(100, func() { _, _ = date(&h) })
	}
	base := allocs("Fri, 04 Dec 2026 10:00:00 +0000")
	for _, v := range []string{
		"Fri,  4 Dec 2026 10:00:00 +0000",
		"Fri,  4 Dec 2026 10:00:00 +0000 (UTC)",
		"Fri, 4 Dec 2026 10:00:00 +0000",
		"Fri, 14 Dec 2026 10:00:00 +0000 (UTC)",
	} {
		if n := allocs(v); n > base {
			t.Errorf("date(%q): %v allocations, want at most %v, as for a day of two digits", v, n, base)
		}
	}
}

func TestLFText(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "",
		"a":                    "a",
		"a\r\nb\r\n":           "a\nb\n",
		"\r\n\r\n":             "\n\n",
		"a\rb\r\r\nc\n\r":      "a\rb\r\nc\n\r",
		"no line break at all": "no line break at all",
		"\r":                   "\r",
		"x\r\n\r":              "x\n\r",
	} {
		if got := lfText([]byte(in)); got != want {
			t.Errorf("lfText(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzMessageNormalized normalizes arbitrary messages: no panic, the same
// result twice, every MIME part on a line of its own.
func FuzzMessageNormalized(f *testing.F) {
	f.Add(nestedMultipart(3))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=latin1\r\n\r\n\xfc\r\n--b--\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := &Message{Raw: raw}
		a, b := m.Normalized(), m.Normalized()
		if a != b {
			t.Errorf("two normalizations differ:\n%s\n%s", a, b)
		}
	})
}

// TestBoundaryShapedLikeAnEncodedWord checks that a boundary is taken as
// written: "=" and "?" are boundary characters (RFC 2046 section 5.1.1),
// and a parameter holds no encoded word (RFC 2047 section 5), so that
// "=?utf-8?q?b?=" is the boundary, not "b".
func TestBoundaryShapedLikeAnEncodedWord(t *testing.T) {
	raw := crlf("Content-Type: multipart/mixed; boundary=\"=?utf-8?q?b?=\"\n\n" +
		"--=?utf-8?q?b?=\nContent-Type: text/plain\n\nhello\n" +
		"--=?utf-8?q?b?=\nContent-Type: application/pdf\n\n%PDF\n" +
		"--=?utf-8?q?b?=--\n")
	m := &Message{Raw: raw}
	parseMIME(m)
	checkParseErr(t, m.ParseErr, "")
	want := parsed{Text: "hello", Attachments: []Attachment{{ContentType: "application/pdf", Data: []byte("%PDF")}}}
	if diff := cmp.Diff(want, parsedOf(m), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("parse (-want +got):\n%s", diff)
	}
}
