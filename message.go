package mocksmtp

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	// The charset package registers decoders for non-UTF-8 charsets in
	// go-message (message.CharsetReader) from its init function. This is the
	// documented exception to "no package-level mutable state": the variable is
	// set once at program start and only read afterwards.
	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"github.com/mocksmtp/mocksmtp/internal/ascii"
)

// Message is one message the server accepted: its envelope, exactly as the
// client sent it, and its content, parsed as MIME.
//
// Parsing never fails a message: a message whose MIME is broken is recorded
// all the same, with [Message.Raw], whatever could be parsed, and
// [Message.ParseErr] saying what went wrong.
//
// Every Message the server returns is a snapshot that is the caller's to
// read and change: its slices, maps, header and attachments are its own,
// so that sorting To or setting a header changes no other snapshot, and
// nothing the server records later. One thing is shared: the bytes of a
// header field as sent, which Header's fields give out (Raw of
// [mail.Header.Fields]); copy them before writing into them. (A copy of
// those bytes in every snapshot doubles the cost of [Server.Messages].)
//
// The server keeps the envelope and Raw of each message; the fields
// decoded from Raw (Header to Attachments) are parsed when a snapshot is
// taken, unless the parse of an earlier snapshot is still there, which the
// new one then copies: the server holds the parses of the messages read
// last (up to 8 MiB of them), and a parse stays while a snapshot holds it.
// So a server holding many messages costs little more than their size,
// and reading them again and again costs a copy each, not a parse.
type Message struct {
	// ID numbers messages from 1, in the order the server received them.
	ID int
	// From is the envelope sender, the MAIL FROM path, "" for the null
	// sender <>.
	From string
	// To holds the envelope recipients, the RCPT TO paths the server
	// accepted, in order.
	To []string
	// Params holds the MAIL FROM parameters (BODY, SIZE, SMTPUTF8, RET,
	// ENVID...), keys in upper case.
	Params map[string]string
	// RcptParams holds the RCPT TO parameters (NOTIFY, ORCPT...) of each
	// accepted recipient path, keys in upper case.
	RcptParams map[string]map[string]string
	// Received is when the end of the message data was received.
	Received time.Time
	// Raw is the message exactly as sent, after dot-unstuffing.
	Raw []byte

	// Header is the top-level header of the message.
	Header mail.Header
	// Subject is the Subject header, RFC 2047 encoded words decoded.
	Subject string
	// HeaderFrom, HeaderTo, Cc and ReplyTo are the address lists of the
	// From, To, Cc and Reply-To headers, display names decoded; nil when
	// the header is absent or could not be parsed.
	HeaderFrom, HeaderTo, Cc, ReplyTo []*mail.Address
	// Date is the Date header, zero when absent or unparsable.
	Date time.Time
	// MessageID is the Message-ID header without its angle brackets.
	MessageID string
	// Text and HTML are the message's bodies, "" when absent: the first
	// text/plain and the first text/html part that is not an attachment,
	// decoded from their transfer encoding and charset into UTF-8, with
	// line breaks as "\n".
	Text, HTML string
	// Attachments holds every other leaf part, in order: attachments,
	// inline images, further text parts, attached messages (message/rfc822,
	// not parsed further).
	Attachments []Attachment
	// ParseErr is non-nil when the message could not be fully parsed (bad
	// MIME structure, unknown charset or transfer encoding, unparsable
	// header fields, the nesting or part limits reached). Raw and whatever
	// was parsed are still there. It may wrap [ErrMIMETooDeep] or
	// [ErrMIMETooManyParts].
	ParseErr error
	// Findings lists the rules the message broke (see [Rule]): how it
	// was sent, its DKIM signatures and ARC chain, found when it arrived, then its
	// content, checked when the message is first read (on arrival with
	// [WithRejectNonconforming], which must answer before the 250), with
	// the same result.
	Findings []Finding
	// DKIM holds the verification of each DKIM-Signature header field, in
	// order, done when the message arrived with the keys of [WithDKIMKey]
	// (never DNS); nil when the message has none. At most 5 signatures
	// are verified: more are noted in the transcript and as a finding.
	DKIM []DKIMResult
	// ARC is the validation of the message's ARC chain (RFC 8617), done
	// when it arrived with the keys of [WithDKIMKey] (never DNS): Status
	// [ARCNone] when the message has no ARC set.
	ARC ARCResult

	// Session says who delivered the message and how: the ID, addresses,
	// times and end of its session, read with the message, and the HELO
	// name, TLS state and AUTH exchange as they stood when the client
	// sent it (a session may say EHLO again, STARTTLS or AUTH after a
	// message: its own Session says how it stands now). The lists that
	// grow with the session (Transcript, TranscriptHead, Findings,
	// Faults, Messages) are always nil here, however the message was
	// obtained, so that a message costs the same in a session of one
	// message and in one of a million: [Server.Session](m.Session.ID)
	// has them.
	Session *Session

	mimeLint []string     // MIME conformance problems that are no parse error
	addrErrs []fieldError // address fields that did not parse, for findings
	headLen  int          // Raw[:headLen] is the top-level header, blank line included
	dkimMore int          // DKIM-Signature fields beyond the ones verified

	parse *Message // in a snapshot: the parse of Raw its decoded fields come from, kept alive by it (see kept)
}

// fieldError is a header field that did not parse.
type fieldError struct {
	field string
	err   error
}

// Attachment is one leaf MIME part of a [Message] other than its text and
// HTML bodies.
type Attachment struct {
	// Filename is the filename parameter of Content-Disposition, or else
	// the name parameter of Content-Type, RFC 2231 and RFC 2047 decoded:
	// the name as the sender wrote it, which may hold "../", a NUL or a
	// bidi control; a test that writes the file takes filepath.Base of a
	// name it has checked.
	Filename string
	// ContentType is the media type alone, in lower case ("image/png").
	ContentType string
	// ContentID is the Content-ID header without its angle brackets.
	ContentID string
	// Inline reports a part meant to be shown in the message: one with
	// Content-Disposition inline, or with no disposition but a Content-ID
	// inside multipart/related.
	Inline bool
	// Data is the content, decoded from its transfer encoding only: text
	// attachments keep their charset.
	Data []byte
}

// Limits of the MIME walk, so that any input is parsed in bounded time: the
// cost of nested multiparts grows with the square of their depth.
const (
	maxMIMEDepth    = 100  // nested multiparts, as Postfix's mime_nesting_limit
	maxMIMEParts    = 1000 // parts in the whole message, at any depth
	maxMIMEProblems = 10   // problems listed in ParseErr; more are counted
)

var (
	// ErrMIMETooDeep is wrapped by [Message.ParseErr] when multiparts nest
	// more than 100 levels deep. Parsing stops there.
	ErrMIMETooDeep = fmt.Errorf("mocksmtp: MIME nested more than %d levels deep", maxMIMEDepth)
	// ErrMIMETooManyParts is wrapped by [Message.ParseErr] when a message
	// has more than 1000 MIME parts. Parsing stops there.
	ErrMIMETooManyParts = fmt.Errorf("mocksmtp: more than %d MIME parts", maxMIMEParts)
)

// String summarizes the message on one line, for logs:
//
//	message 3 from <a@x> to <b@y> "Subject" (1234 bytes, 2 attachments)
//
// The addresses are written as [Line.String] writes a transcript line,
// what would not print as itself escaped: with SMTPUTF8 a client's
// address may hold a bidi or C1 control.
func (m *Message) String() string {
	if m == nil {
		return "<nil>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "message %d from <%s> to ", m.ID, printable(m.From))
	const maxTo = 3
	for i, to := range m.To {
		if i == maxTo {
			fmt.Fprintf(&b, " and %d more", len(m.To)-maxTo)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "<%s>", printable(to))
	}
	if len(m.To) == 0 {
		b.WriteString("nobody")
	}
	fmt.Fprintf(&b, " %s (%s", strconv.Quote(shorten(m.Subject, 60)), plural(len(m.Raw), "byte"))
	if n := len(m.Attachments); n > 0 {
		fmt.Fprintf(&b, ", %s", plural(n, "attachment"))
	}
	if m.ParseErr != nil {
		b.WriteString(", parse error")
	}
	b.WriteString(")")
	return b.String()
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// shorten cuts s to at most n runes, marking the cut with an ellipsis.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for range n - 1 {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i] + "…"
}

// parseMIME fills m's content fields (Header, Subject, the address lists,
// Date, MessageID, Text, HTML, Attachments, ParseErr) from m.Raw, which it
// does not modify. It never panics, and stops at maxMIMEDepth and
// maxMIMEParts.
func parseMIME(m *Message) { parseMIMEVisiting(m, nil) }

// mimeVisit is told of each MIME entity parseMIME walks, in order: its
// path (nil for the message itself), header, media type and, for a leaf,
// its content decoded from its transfer encoding (nil for a multipart).
type mimeVisit func(path []int, h textproto.Header, typ string, params map[string]string, data []byte)

// parseMIMEVisiting is parseMIME, telling visit (when not nil) of each
// entity.
func parseMIMEVisiting(m *Message, visit mimeVisit) {
	m.Header = mail.Header{}
	m.Subject, m.MessageID, m.Text, m.HTML = "", "", "", ""
	m.HeaderFrom, m.HeaderTo, m.Cc, m.ReplyTo = nil, nil, nil, nil
	m.Date = time.Time{}
	m.Attachments = nil
	m.ParseErr = nil

	w := &mimeWalk{m: m, visit: visit}
	head, body, stray := splitHeader(m.Raw)
	m.headLen = len(head)
	// A buffer that holds the whole header: no 4 KiB default for a few lines.
	h, err := textproto.ReadHeader(bufio.NewReaderSize(bytes.NewReader(head), len(head)+16))
	if err != nil {
		w.problem("header", err)
	}
	if stray != nil {
		w.problem("header", fmt.Errorf("no empty line before the body, which starts at %q", shorten(string(stray), 40)))
	}
	m.Header = mail.Header{Header: message.Header{Header: h}}
	w.topHeader()
	w.entity(h, bytes.NewReader(body), nil, false)
	m.ParseErr = w.err()
}

// mimeWalk is the state of one parseMIME.
type mimeWalk struct {
	m                  *Message
	parts              int   // parts met so far, at any depth
	haveText, haveHTML bool  // whether m.Text and m.HTML are chosen
	limit              error // the limit that stopped the walk, if any
	visit              mimeVisit
	problems           []error
	more               int // problems beyond maxMIMEProblems
}

func (w *mimeWalk) problem(where string, err error) {
	if len(w.problems) == maxMIMEProblems {
		w.more++
		return
	}
	w.problems = append(w.problems, fmt.Errorf("%s: %w", where, err))
}

// err is the Message.ParseErr for the problems met: the limit first, as it
// explains what is missing, then the others in order.
func (w *mimeWalk) err() error {
	errs := w.problems
	if w.limit != nil {
		errs = append([]error{w.limit}, errs...)
	}
	if len(errs) == 0 {
		return nil
	}
	format := strings.TrimSuffix(strings.Repeat("%w; ", len(errs)), "; ")
	if w.limit == nil {
		format = "mocksmtp: " + format // the limit errors carry the prefix
	}
	args := make([]any, len(errs), len(errs)+1)
	for i, err := range errs {
		args[i] = err
	}
	if w.more > 0 {
		format += " (and %d more problems)"
		args = append(args, w.more)
	}
	return fmt.Errorf(format, args...)
}

// topHeader fills the fields parsed from the top-level header.
func (w *mimeWalk) topHeader() {
	m := w.m
	h := &m.Header
	var err error
	if m.Subject, err = h.Subject(); err != nil { // m.Subject keeps the raw value
		w.problem("header Subject", err)
	}
	for _, f := range []struct {
		key  string
		list *[]*mail.Address
	}{
		{"From", &m.HeaderFrom},
		{"To", &m.HeaderTo},
		{"Cc", &m.Cc},
		{"Reply-To", &m.ReplyTo},
	} {
		list, err := h.AddressList(f.key)
		if err != nil {
			w.problem("header "+f.key, err)
			m.addrErrs = append(m.addrErrs, fieldError{f.key, err})
		}
		if err == nil && len(list) > 0 {
			*f.list = list
		}
	}
	if m.Date, err = date(h); err != nil {
		m.Date = time.Time{}
		w.problem("header Date", err)
	}
	// Not h.MessageID: it rejects ids without "@", and its comment parser
	// is quadratic.
	m.MessageID = messageID(h.Get("Message-Id"))
}

// date parses the Date header as go-message does, the usual form first:
// "Mon, 02 Jan 2006 15:04:05 -0700", the day maybe of one digit or padded
// with a space ("Fri,  4 Dec 2026", as Postfix writes it on days 1 to 9),
// maybe followed by a comment such as "(UTC)". net/mail tries a dozen
// forms and builds an error for each one that fails.
func date(h *mail.Header) (time.Time, error) {
	v := strings.TrimSpace(h.Get("Date"))
	if c := strings.LastIndexByte(v, '('); c > 0 && strings.IndexByte(v[c:], ')') == len(v)-c-1 {
		v = strings.TrimRight(v[:c], " \t")
	}
	// "_2" takes "04", "4" and " 4".
	if t, err := time.Parse("Mon, _2 Jan 2006 15:04:05 -0700", v); err == nil {
		return t, nil
	}
	return h.Date()
}

// messageID is the first <...> of v, or else v itself, trimmed.
func messageID(v string) string {
	v = strings.TrimSpace(v)
	if _, after, ok := strings.Cut(v, "<"); ok {
		if id, _, ok := strings.Cut(after, ">"); ok {
			return strings.TrimSpace(id)
		}
	}
	return v
}

// entity walks one MIME entity, at path (nil for the message itself, else
// the 1-based index of the part at each level). It returns early once a
// limit stops the walk.
func (w *mimeWalk) entity(h textproto.Header, body io.Reader, path []int, inRelated bool) {
	where := partName(path)
	typ, params, err := mediaHeader(h, "Content-Type")
	if err != nil {
		w.problem(where, err)
	}
	if typ == "" {
		typ = "text/plain" // absent or unparsable: RFC 2045 section 5.2
	}
	if !strings.HasPrefix(typ, "multipart/") {
		w.leaf(h, typ, params, body, path, where, inRelated)
		return
	}
	if params["boundary"] == "" {
		w.problem(where, fmt.Errorf("%s without a boundary", typ))
		w.leaf(h, typ, params, body, path, where, inRelated)
		return
	}
	if len(path) >= maxMIMEDepth {
		w.limit = ErrMIMETooDeep
		return
	}
	if w.visit != nil {
		w.visit(path, h, typ, params, nil)
	}
	w.multipart(typ, params["boundary"], body, path, inRelated || typ == "multipart/related")
}

// multipart walks the parts of a multipart body.
func (w *mimeWalk) multipart(typ, boundary string, body io.Reader, path []int, inRelated bool) {
	where := partName(path)
	kept := &keepReader{r: body, keep: true}
	mr := textproto.NewMultipartReader(kept, boundary)
	for i := 1; ; i++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			return
		}
		if err != nil {
			if i == 1 && kept.eof {
				// Keep the content, the boundary is wrong.
				w.problem(where, fmt.Errorf("%s: boundary %q not found", typ, boundary))
				w.m.Attachments = append(w.m.Attachments, Attachment{ContentType: typ, Data: kept.buf})
				if w.visit != nil {
					w.visit(path, textproto.Header{}, typ, nil, append([]byte{}, kept.buf...))
				}
			} else {
				w.problem(where, fmt.Errorf("%s: %w", typ, err))
			}
			return
		}
		kept.keep, kept.buf = false, nil
		if w.parts++; w.parts > maxMIMEParts {
			w.limit = ErrMIMETooManyParts
			return
		}
		part := &cutReader{r: p}
		w.entity(p.Header, part, append(path[:len(path):len(path)], i), inRelated)
		if w.limit != nil {
			return
		}
		if _, err := io.Copy(io.Discard, part); err != nil { // what the part's walk left
			w.problem(where, err)
			return
		}
		if part.cut {
			w.problem(where, fmt.Errorf("%s: closing boundary %q missing", typ, boundary))
			return
		}
	}
}

// leaf records a part that is not multipart: as the text or HTML body, or as
// an attachment.
func (w *mimeWalk) leaf(h textproto.Header, typ string, params map[string]string, body io.Reader, path []int, where string, inRelated bool) {
	raw, err := readAll(body)
	if err != nil {
		w.problem(where, err)
	}
	cte := h.Get("Content-Transfer-Encoding")
	data, err := decodeTransfer(cte, raw)
	if err != nil {
		w.problem(where, err)
	}
	w.lint(where, typ, params, cte, raw, data)
	if w.visit != nil {
		w.visit(path, h, typ, params, data)
	}
	disp, dparams, err := mediaHeader(h, "Content-Disposition")
	if err != nil {
		w.problem(where, err)
	}
	filename := dparams["filename"]
	if filename == "" {
		filename = params["name"]
	}
	// RFC 2183 section 2.8: an unknown disposition is an attachment.
	attachment := disp != "" && disp != "inline" || filename != ""
	if !attachment && (typ == "text/plain" && !w.haveText || typ == "text/html" && !w.haveHTML) {
		text, err := decodeCharset(params["charset"], data)
		if err != nil {
			w.problem(where, err)
		}
		s := lfText(text)
		if typ == "text/plain" {
			w.m.Text, w.haveText = s, true
		} else {
			w.m.HTML, w.haveHTML = s, true
		}
		return
	}
	cid := messageID(h.Get("Content-Id"))
	w.m.Attachments = append(w.m.Attachments, Attachment{
		Filename:    filename,
		ContentType: typ,
		ContentID:   cid,
		Inline:      disp == "inline" || disp == "" && cid != "" && inRelated,
		Data:        data,
	})
}

// readAll is io.ReadAll, in one allocation of the right size when r knows
// its length (a message that is no multipart).
func readAll(r io.Reader) ([]byte, error) {
	if br, ok := r.(*bytes.Reader); ok {
		b := make([]byte, br.Len())
		_, err := io.ReadFull(br, b)
		return b, err
	}
	return io.ReadAll(r)
}

// lfText returns text as a string with every CRLF made LF, in one copy
// and one pass.
func lfText(text []byte) string {
	var b strings.Builder
	b.Grow(len(text))
	for {
		i := bytes.IndexByte(text, '\r')
		if i < 0 || i+1 == len(text) {
			break
		}
		if text[i+1] == '\n' {
			b.Write(text[:i])
			b.WriteByte('\n')
			text = text[i+2:]
		} else {
			b.Write(text[:i+1])
			text = text[i+1:]
		}
	}
	b.Write(text)
	return b.String()
}

// lint notes what in a leaf part breaks MIME rules without making it
// unreadable: an encoding that does not match the content, base64 that is
// not padded, 8-bit text without a charset.
func (w *mimeWalk) lint(where, typ string, params map[string]string, cte string, raw, data []byte) {
	note := func(format string, args ...any) {
		if len(w.m.mimeLint) < maxMIMEProblems {
			w.m.mimeLint = append(w.m.mimeLint, where+": "+fmt.Sprintf(format, args...))
		}
	}
	switch enc := strings.ToLower(strings.TrimSpace(cte)); enc {
	case "", "7bit":
		if ascii.HasEightBit(raw) {
			note("8-bit content with Content-Transfer-Encoding %s", or(enc, "7bit (the default)"))
		}
	case "base64":
		n := 0
		for _, c := range raw {
			if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
				n++
			}
		}
		if n%4 != 0 {
			note("base64 content of %d characters, not a multiple of 4: bad padding", n)
		}
	}
	if strings.HasPrefix(typ, "text/") && params["charset"] == "" && ascii.HasEightBit(data) {
		note("8-bit %s content without a charset parameter", typ)
	}
}

func or(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// partName names a part in ParseErr, IMAP style: "part 1.2".
func partName(path []int) string {
	if len(path) == 0 {
		return "body"
	}
	var b strings.Builder
	b.WriteString("part ")
	for i, n := range path {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// splitHeader splits a message into its header and its body, at the first
// empty line. Like Postfix, it also ends the header at a line that is
// neither a header field nor a continuation line, returned as stray, so that
// a message sent without a header still has a body.
func splitHeader(raw []byte) (head, body, stray []byte) {
	rest := raw
	for first := true; len(rest) > 0; first = false {
		line, next, _ := bytes.Cut(rest, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			return raw[:len(raw)-len(next)], next, nil
		}
		if !isHeaderLine(line, first) {
			return raw[:len(raw)-len(rest)], rest, line
		}
		rest = next
	}
	return raw, nil, nil
}

// isHeaderLine reports whether line is a header field ("Key: value") or,
// unless it is the first line, the continuation of one.
func isHeaderLine(line []byte, first bool) bool {
	if line[0] == ' ' || line[0] == '\t' {
		return !first
	}
	key, _, ok := bytes.Cut(line, []byte(":"))
	if !ok {
		return false
	}
	for _, c := range bytes.Trim(key, " \t") {
		if c < '!' || c > '~' {
			return false
		}
	}
	return true
}

// mediaHeader parses a header field shaped like Content-Type: its value in
// lower case ("" when absent or unparsable) and its parameters, RFC 2231
// decoded, and RFC 2047 decoded for the file names (name, filename), where
// mailers put encoded words though RFC 2047 section 5 allows none: only
// there, as "=?utf-8?q?b?=" is a valid boundary, to be taken as written.
func mediaHeader(h textproto.Header, key string) (string, map[string]string, error) {
	v := h.Get(key)
	if v == "" {
		return "", nil, nil
	}
	value, params, err := mime.ParseMediaType(v)
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		return "", nil, fmt.Errorf("%s %q: %w", key, shorten(v, 80), err)
	}
	dec := mime.WordDecoder{CharsetReader: charset.Reader}
	for _, k := range []string{"name", "filename"} {
		if p, ok := params[k]; ok {
			if d, err := dec.DecodeHeader(p); err == nil {
				params[k] = d
			}
		}
	}
	if err != nil {
		return value, params, fmt.Errorf("%s %q: %w", key, shorten(v, 80), err)
	}
	return value, params, nil
}

// decodeTransfer decodes a body from its Content-Transfer-Encoding. It keeps
// what it can: the body as is for an unknown encoding, the bytes decoded
// before an error otherwise.
func decodeTransfer(encoding string, raw []byte) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "7bit", "8bit", "binary":
		return raw, nil
	case "quoted-printable":
		return decodeQuotedPrintable(raw), nil
	case "base64":
		return decodeBase64(raw)
	default:
		return raw, fmt.Errorf("unknown Content-Transfer-Encoding %q, body kept encoded", shorten(encoding, 40))
	}
}

// decodeQuotedPrintable decodes quoted-printable leniently, as mail readers
// do: "=" not followed by two hex digits is kept as is, and so are bytes
// that should have been encoded. Unlike mime/quotedprintable, it never stops
// early, and accepts lines of any length.
func decodeQuotedPrintable(src []byte) []byte {
	dst := make([]byte, 0, len(src))
	for len(src) > 0 {
		line, rest, hasBreak := bytes.Cut(src, []byte("\n"))
		src = rest
		crlf := bytes.HasSuffix(line, []byte("\r"))
		line = bytes.TrimRight(line, " \t\r") // transport padding
		soft := bytes.HasSuffix(line, []byte("="))
		if soft {
			line = line[:len(line)-1]
		}
		for i := 0; i < len(line); i++ {
			c := line[i]
			if c == '=' && i+2 < len(line) {
				if hi, ok := unhex(line[i+1]); ok {
					if lo, ok := unhex(line[i+2]); ok {
						dst = append(dst, hi<<4|lo)
						i += 2
						continue
					}
				}
			}
			dst = append(dst, c)
		}
		switch {
		case !hasBreak || soft:
		case crlf:
			dst = append(dst, '\r', '\n')
		default:
			dst = append(dst, '\n')
		}
	}
	return dst
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// decodeBase64 decodes base64 leniently: line breaks and other whitespace
// are skipped, and so are characters outside the alphabet (RFC 2045 section
// 6.8), though these are reported; missing padding is accepted. On error it
// returns what it decoded before.
func decodeBase64(src []byte) ([]byte, error) {
	clean := make([]byte, 0, len(src))
	ignored := 0
	for _, c := range src {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '/', c == '=':
			clean = append(clean, c)
		case c == ' ', c == '\t', c == '\r', c == '\n':
		default:
			ignored++
		}
	}
	enc := base64.StdEncoding
	if len(clean)%4 != 0 && bytes.IndexByte(clean, '=') < 0 {
		enc = base64.RawStdEncoding
	}
	dst := make([]byte, enc.DecodedLen(len(clean)))
	n, err := enc.Decode(dst, clean)
	switch {
	case err != nil:
		return dst[:n], fmt.Errorf("base64: %w", err)
	case ignored > 0:
		return dst[:n], fmt.Errorf("base64: %d bytes outside the base64 alphabet skipped", ignored)
	}
	return dst[:n], nil
}

// decodeCharset converts text from charset to UTF-8. For an unknown charset
// it returns the text unconverted, and an error.
func decodeCharset(label string, text []byte) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "", "utf-8", "utf8", "us-ascii":
		return text, nil
	}
	r, err := charset.Reader(label, bytes.NewReader(text))
	if err != nil {
		return text, fmt.Errorf("%w, body kept undecoded", err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return text, fmt.Errorf("charset %q: %w, body kept undecoded", label, err)
	}
	return out, nil
}

// cutReader reads one part of a multipart body. go-message returns
// io.ErrUnexpectedEOF when the input ends before the part's closing
// boundary; cutReader turns it into io.EOF, so that the part keeps its
// content, and remembers it, so that the multipart reports the truncation,
// once.
type cutReader struct {
	r   io.Reader
	cut bool
}

func (c *cutReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.ErrUnexpectedEOF {
		c.cut, err = true, io.EOF
	}
	return n, err
}

// keepReader keeps what is read through it while keep is set (until the
// first part of a multipart is found), so that a multipart whose boundary is
// never found can still be recorded, as an attachment. It also notes the end
// of its input.
type keepReader struct {
	r    io.Reader
	keep bool
	buf  []byte
	eof  bool
}

func (k *keepReader) Read(p []byte) (int, error) {
	n, err := k.r.Read(p)
	if k.keep {
		k.buf = append(k.buf, p[:n]...)
	}
	if err == io.EOF {
		k.eof = true
	}
	return n, err
}
