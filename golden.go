package mocksmtp

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"
	"github.com/google/go-cmp/cmp"
)

// This file compares transcripts and messages with golden files.

// The variable parts of a transcript line, and what Normalized puts there.
var (
	heloRE      = regexp.MustCompile(`(?i)^(HELO|EHLO)(\s.*)?$`)
	portRE      = regexp.MustCompile(`(\b(?:\d{1,3}\.){3}\d{1,3}|\[[0-9A-Fa-f:.]+\]):\d+\b`)
	dateRE      = regexp.MustCompile(`\b(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}(?::\d{2})?(?: (?:[+-]\d{4}|[A-Z]{1,5}))?(?: \([A-Za-z ]+\))?`)
	isoDateRE   = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?`)
	tlsRE       = regexp.MustCompile(`\bTLS 1\.[0-3]\b`)
	cipherRE    = regexp.MustCompile(`\bTLS_[A-Z0-9_]+\b`)
	octetsRE    = regexp.MustCompile(`\b\d+ octets\b`)
	sizeParamRE = regexp.MustCompile(`(?i)\bSIZE=\d+\b`)
	bdatRE      = regexp.MustCompile(`(?i)^(BDAT\s+)\d+\b`)
	acceptedRE  = regexp.MustCompile(`^message (\d+) accepted\b`)
	// The queue IDs in the replies of WithPersona to a message (persona.go):
	// Postfix's "queued as 4F1B2C3D4E5", Exchange's "<hex@host>
	// [InternalId=n, ...".
	queuedAsRE   = regexp.MustCompile(`^(250 (?:2\.0\.0 )?Ok: queued as )[0-9A-F]+$`)
	internalIDRE = regexp.MustCompile(`^(250 2\.6\.0 <)[0-9a-f]+(@[^>\s]*> \[InternalId=)\d+,`)
)

// Normalized returns the transcript as [Transcript.String] does, with the
// parts that change from run to run replaced by placeholders, so that it
// can be compared with a golden file:
//
//   - the client's name in HELO and EHLO: "EHLO <client>"
//   - ports after IP addresses: "127.0.0.1:<port>"
//   - dates (RFC 5322 and RFC 3339 forms): "<date>"
//   - TLS versions and cipher suites: "TLS <version>", "<cipher>"
//   - sizes of message data, which dates and message IDs in headers
//     change: "<n> octets", "SIZE=<n>", "BDAT <n> LAST"
//   - message IDs, counted from 1 within the transcript: a transcript
//     reads the same on a server shared by many tests
//   - CRAM-MD5 challenges, and SCRAM's, whose nonce, salt and
//     signature change with each exchange: "334 <challenge>"
//   - the queue IDs of a persona's replies to messages (see
//     [WithPersona]), which name the session by its number, as message
//     IDs do: "queued as <queue-id>", "<queue-id@host> [InternalId=<n>, ..."
//
// The time of each line is not printed, nor the notes of moves of the
// mocksmtp program's clock ("clock moved ahead 1h0m0s (1h0m0s in all)"),
// which fall where a suite's move came. Secrets are masked as in the
// transcript itself.
//
// A Transcript holds only its own lines: of a long session, some of whose
// lines the server forgot ([Session.Forgotten]), use
// [Session.Normalized], which says where they were.
func (t Transcript) Normalized() string {
	var b strings.Builder
	t.normalize(&b, make(map[string]int))
	return b.String()
}

// Normalized returns the session's transcript as [Transcript.Normalized]
// writes it, with what the server did not keep of a long session said
// where it was: the first lines ([Session.TranscriptHead]), a note
// "*: … lines 11 to 95 forgotten …" for the lines the transcript cap
// ([WithMaxTranscriptLines]) or [WithRetention] forgot, then the lines
// kept ([Session.Transcript]). A golden file of a long session thus
// covers its start too, and shows what it does not cover. The line
// numbers do not change from run to run for the same client input and
// the same options (with WithRetention, when the server's other sessions
// deliver their messages at other times, they may; so may the notes of
// the moves of the mocksmtp program's clock, which count among the
// lines forgotten, though Normalized leaves them out). Message IDs are
// counted from 1 within what is kept.
func (s *Session) Normalized() string {
	var b strings.Builder
	ids := make(map[string]int)
	s.TranscriptHead.normalize(&b, ids)
	if s.Forgotten > len(s.TranscriptHead) {
		b.WriteString(Line{Dir: Note, Text: fmt.Sprintf("… lines %d to %d forgotten …", len(s.TranscriptHead)+1, s.Forgotten)}.String())
		b.WriteByte('\n')
	}
	s.Transcript.normalize(&b, ids)
	return b.String()
}

// normalize writes the lines as Normalized does, numbering the messages
// they accept on from those in ids.
func (t Transcript) normalize(b *strings.Builder, ids map[string]int) {
	for _, l := range t {
		text := l.Text
		switch l.Dir {
		case FromClient:
			if m := heloRE.FindStringSubmatch(text); m != nil && m[2] != "" {
				text = m[1] + " <client>"
			}
			text = sizeParamRE.ReplaceAllString(text, "SIZE=<n>")
			text = bdatRE.ReplaceAllString(text, "${1}<n>")
		case FromServer:
			if strings.HasPrefix(text, "250 ") {
				text = octetsRE.ReplaceAllString(text, "<n> octets") // a BDAT chunk's
			}
			text = queuedAsRE.ReplaceAllString(text, "${1}<queue-id>")
			text = internalIDRE.ReplaceAllString(text, "${1}queue-id${2}<n>,")
			if strings.HasPrefix(text, "334 ") {
				if c, err := base64.StdEncoding.DecodeString(text[4:]); err == nil && randomChallenge(string(c)) {
					text = "334 <challenge>"
				}
			}
		case Note:
			if strings.HasPrefix(text, clockNote) {
				continue // where it falls depends on when a suite moved the clock
			}
			if m := acceptedRE.FindStringSubmatchIndex(text); m != nil {
				id := text[m[2]:m[3]]
				n, ok := ids[id]
				if !ok {
					n = len(ids) + 1
					ids[id] = n
				}
				text = text[:m[2]] + strconv.Itoa(n) + text[m[3]:]
			}
			text = octetsRE.ReplaceAllString(text, "<n> octets")
		}
		text = portRE.ReplaceAllString(text, "$1:<port>")
		text = dateRE.ReplaceAllString(text, "<date>")
		text = isoDateRE.ReplaceAllString(text, "<date>")
		text = tlsRE.ReplaceAllString(text, "TLS <version>")
		text = cipherRE.ReplaceAllString(text, "<cipher>")
		b.WriteString(Line{Dir: l.Dir, Text: text}.String())
		b.WriteByte('\n')
	}
}

// randomChallenge reports whether c, an AUTH challenge decoded, changes
// from exchange to exchange: CRAM-MD5's "<1896.697170952@host>", SCRAM's
// server-first message "r=nonce,s=salt,i=4096" and its server-final
// message "v=signature" (an error, "e=invalid-proof", does not change).
func randomChallenge(c string) bool {
	return strings.HasPrefix(c, "<") && strings.Contains(c, "@") ||
		strings.HasPrefix(c, "r=") && strings.Contains(c, ",s=") ||
		strings.HasPrefix(c, "v=")
}

// AssertGolden compares the normalized transcript (see
// [Transcript.Normalized]) with the golden file at path, and fails t with
// a (-want +got) diff when they differ, naming the line of the file where
// they first do: "at line 7 of the file". With update set, it writes the
// file instead, creating its directory. The flag is the test's own: the
// library reads no flags. Declare it once in a test file of the package,
//
//	var update = flag.Bool("update", false, "rewrite golden files")
//
// pass *update, and run go test -run TestSignup -update to accept a new
// transcript; review the change with git diff.
//
// Of a long session, some of whose lines the server forgot, use
// [Session.AssertGolden].
func (t Transcript) AssertGolden(tb testing.TB, path string, update bool) {
	tb.Helper()
	assertGolden(tb, "transcript", path, t.Normalized(), update)
}

// AssertGolden compares the session's transcript, normalized with what
// the server did not keep of it said where it was (see
// [Session.Normalized]), with the golden file at path, as
// [Transcript.AssertGolden] does: a golden file of a long session covers
// its first lines, and a session that grew longer or shorter differs.
func (s *Session) AssertGolden(tb testing.TB, path string, update bool) {
	tb.Helper()
	if s == nil {
		tb.Fatalf("mocksmtp: AssertGolden on a nil *Session")
		return
	}
	assertGolden(tb, "transcript", path, s.Normalized(), update)
}

// assertGolden compares got with the golden file at path, or writes it
// with update; what names the thing compared in messages.
func assertGolden(tb testing.TB, what, path, got string, update bool) {
	tb.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatalf("mocksmtp: AssertGolden: %v", err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatalf("mocksmtp: AssertGolden: %v", err)
		}
		tb.Logf("mocksmtp: wrote %s", path)
		return
	}
	want, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		tb.Errorf("mocksmtp: golden %s %s does not exist; run the test with -update to write it. The %s:\n%s", what, path, what, got)
		return
	}
	if err != nil {
		tb.Errorf("mocksmtp: AssertGolden: %v", err)
		return
	}
	w := strings.ReplaceAll(string(want), "\r\n", "\n")
	if w == got {
		return
	}
	diff := cmp.Diff(w, got)
	if what == "message" { // a diff of lines
		diff = cmp.Diff(strings.Split(w, "\n"), strings.Split(got, "\n"))
	}
	tb.Errorf("mocksmtp: %s differs from %s %s (-want +got); run the test with -update to accept it:\n%s",
		what, path, goldenWhere(what, w, got), diff)
}

// A GoldenOption changes how [Message.Normalized] and
// [Message.AssertGolden] write a message. [Mask] makes one.
type GoldenOption interface {
	golden(*goldenOptions)
}

type goldenOptions struct {
	masks []mask
}

type mask struct {
	re          *regexp.Regexp
	replacement string
}

func (m mask) golden(o *goldenOptions) { o.masks = append(o.masks, m) }

// Mask replaces every match of re in the normalized message by
// replacement, as [regexp.Regexp.ReplaceAllString] does ($1 stands for the
// first group): for what changes from run to run in a message's text,
// such as reset links and one-time codes:
//
//	m.AssertGolden(t, "testdata/reset.golden", *update,
//		mocksmtp.Mask(regexp.MustCompile(`token=\w+`), "token=<token>"))
//
// Masks apply in order, after the built-in normalization, to header fields
// and decoded text alike.
func Mask(re *regexp.Regexp, replacement string) GoldenOption {
	return mask{re, replacement}
}

// The parts of a message that change from run to run.
var (
	boundaryRE = regexp.MustCompile(`(?i)(\bboundary=)("[^"]*"|[^;\s]+)`)
	sigTagRE   = regexp.MustCompile(`(^|;)(\s*)(bh|b|t|x)(\s*=\s*)[^;]*`)
)

// Normalized returns the message in a readable form for golden files, as
// [Message.AssertGolden] compares it:
//
//   - the header fields, in order, one per line, unfolded and with RFC
//     2047 encoded words decoded, a character that would not print as
//     itself (a control, a bidi control, a line separator, a space other
//     than the space and the tab, a zero width) written as its code point
//     ("⟨U+000A⟩");
//   - then each MIME part, after a line "--- part 1.2: text/html" (IMAP
//     numbering; "--- body: text/plain" for a message that is no
//     multipart): its header fields, an empty line, and its content:
//     text parts decoded into UTF-8 with "\n" line breaks, other parts as
//     "[N bytes, sha256 0123456789abcdef]"; a CR that comes before a
//     line break in the text is written "⟨U+000D⟩" (a golden file's
//     CR LF reads as LF);
//   - then, if the MIME could not be fully parsed, the parse error.
//
// What changes from run to run is replaced by placeholders: the
// Message-ID and Date header fields ("<message-id>", "<date>"), MIME
// boundaries ("<boundary-1>", numbered in order), and the b=, bh=, t= and
// x= values of DKIM-Signature and ARC fields. Then opts apply ([Mask]).
func (m *Message) Normalized(opts ...GoldenOption) string {
	var o goldenOptions
	for _, opt := range opts {
		opt.golden(&o)
	}
	var b strings.Builder
	boundaries := make(map[string]string)
	writeHeader := func(h textproto.Header, top bool) {
		for f := h.Fields(); f.Next(); {
			b.WriteString(goldenField(f, top, boundaries))
			b.WriteByte('\n')
		}
	}
	p := &Message{Raw: m.Raw}
	parseMIMEVisiting(p, func(path []int, h textproto.Header, typ string, params map[string]string, data []byte) {
		if path == nil && data == nil { // a multipart message: its header first
			writeHeader(h, true)
			return
		}
		if path == nil {
			writeHeader(h, true)
			fmt.Fprintf(&b, "\n--- body: %s\n", typ)
		} else {
			fmt.Fprintf(&b, "\n--- %s: %s", partName(path), typ)
			if name := goldenFilename(h, params); name != "" {
				fmt.Fprintf(&b, ", %q", name)
			}
			b.WriteByte('\n')
			writeHeader(h, false)
		}
		if data == nil {
			return // a multipart: its parts follow
		}
		b.WriteByte('\n')
		b.WriteString(goldenContent(typ, params, data))
	})
	if p.ParseErr != nil {
		fmt.Fprintf(&b, "\n--- parse error: %v\n", strings.TrimPrefix(p.ParseErr.Error(), "mocksmtp: "))
	}
	// A CR before a line break (a text part's "=0D" at the end of a
	// quoted-printable line, say) as its code point: AssertGolden reads
	// a golden file's CR LF as LF, so a form holding one would differ
	// from the file it was just written to.
	out := strings.ReplaceAll(b.String(), "\r\n", "⟨U+000D⟩\n")
	for _, mk := range o.masks {
		out = mk.re.ReplaceAllString(out, mk.replacement)
	}
	return out
}

// AssertGolden compares the message, normalized (see
// [Message.Normalized]), with the golden file at path, and fails t with a
// (-want +got) diff that names the part and line where they first differ.
// With update set, it writes the file instead, creating its directory. As
// for [Transcript.AssertGolden], the flag is the test's own:
//
//	var update = flag.Bool("update", false, "rewrite golden files")
//
//	m := srv.WaitForMessages(t, 1)[0]
//	m.AssertGolden(t, "testdata/welcome.golden", *update)
func (m *Message) AssertGolden(t testing.TB, path string, update bool, opts ...GoldenOption) {
	t.Helper()
	if m == nil {
		t.Fatalf("mocksmtp: AssertGolden on a nil *Message")
		return
	}
	assertGolden(t, "message", path, m.Normalized(opts...), update)
}

// goldenField returns a header field as Normalized writes it.
func goldenField(f textproto.HeaderFields, top bool, boundaries map[string]string) string {
	key := f.Key()
	if raw, err := f.Raw(); err == nil {
		if k, _, ok := strings.Cut(string(raw), ":"); ok {
			key = strings.TrimSpace(k) // as the message spells it
		}
	}
	v := strings.NewReplacer("\r\n", "", "\n", "").Replace(f.Value())
	switch canon := f.Key(); {
	case top && canon == "Message-Id":
		v = "<message-id>"
	case top && canon == "Date":
		v = "<date>"
	case canon == "Dkim-Signature" || canon == "Arc-Message-Signature" || canon == "Arc-Seal":
		v = sigTagRE.ReplaceAllString(v, "$1$2$3$4<$3>")
	default:
		dec := mime.WordDecoder{CharsetReader: charset.Reader}
		if d, err := dec.DecodeHeader(v); err == nil {
			v = d
		}
		v = boundaryRE.ReplaceAllStringFunc(v, func(s string) string {
			m := boundaryRE.FindStringSubmatch(s)
			id := strings.Trim(m[2], `"`)
			n, ok := boundaries[id]
			if !ok {
				n = fmt.Sprintf("<boundary-%d>", len(boundaries)+1)
				boundaries[id] = n
			}
			return m[1] + `"` + n + `"`
		})
	}
	return key + ": " + shownControls(v)
}

// shownControls writes each character of s that would not print as itself
// as its code point, "⟨U+000A⟩", as a transcript line escapes them
// (hidden, but for the backslash, which a header value holds as text):
// controls, bidi controls, line and paragraph separators, spaces other
// than the space and the tab, zero-width characters. A header field's
// value is one line of the normalized form whatever its encoded words
// decode to, and a diff of it shows what differs.
func shownControls(s string) string {
	shown := func(r rune) bool { return r != '\\' && hidden(r, utf8.RuneLen(r)) }
	if !strings.ContainsFunc(s, shown) {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		if shown(r) {
			fmt.Fprintf(&b, "⟨U+%04X⟩", r)
		} else {
			b.WriteString(s[:n]) // an octet of no UTF-8 as it is
		}
		s = s[n:]
	}
	return b.String()
}

// goldenFilename is a part's file name, as Attachment.Filename is found.
func goldenFilename(h textproto.Header, params map[string]string) string {
	_, dparams, _ := mediaHeader(h, "Content-Disposition")
	if dparams["filename"] != "" {
		return dparams["filename"]
	}
	return params["name"]
}

// goldenContent returns a leaf's content as Normalized writes it: text
// decoded, ending with a line break; else its size and hash.
func goldenContent(typ string, params map[string]string, data []byte) string {
	if strings.HasPrefix(typ, "text/") {
		if text, err := decodeCharset(params["charset"], data); err == nil && utf8.Valid(text) {
			s := lfText(text)
			if s != "" && !strings.HasSuffix(s, "\n") {
				// The line break before a boundary belongs to the boundary:
				// most parts end without one.
				s += "\n"
			}
			return s
		}
	}
	sum := sha256.Sum256(data)
	return fmt.Sprintf("[%s, sha256 %s]\n", plural(len(data), "byte"), hex.EncodeToString(sum[:8]))
}

// goldenWhere says where got, the normalized form of what, first differs
// from want: "at line 7 of the file" for a transcript; for a message, the
// part too, "at part 1.2 (text/html), line 14 of the file, line 3 of the
// part".
func goldenWhere(what, want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	i := 0
	for i < len(wl) && i < len(gl) && wl[i] == gl[i] {
		i++
	}
	if what != "message" {
		return fmt.Sprintf("at line %d of the file", i+1)
	}
	lines := gl
	if i >= len(gl) {
		lines = wl
	}
	for j := min(i, len(lines)-1); j >= 0; j-- {
		if part, ok := strings.CutPrefix(lines[j], "--- "); ok {
			name, typ, _ := strings.Cut(part, ": ")
			return fmt.Sprintf("at %s (%s), line %d of the file, line %d of the part", name, typ, i+1, i-j+1)
		}
	}
	return fmt.Sprintf("in the header, line %d", i+1)
}
