package mocksmtp

import (
	"html"
	"iter"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file holds the reading of HTML for Links and Find: a tokenizer of
// HTML's data and tag states (WHATWG HTML, 13.2.5 Tokenization) that
// reads a document as a browser does, in one forward scan, each octet
// once: the tags, the text and what a browser shows nothing of.

// tokenKind is what a token of HTML is.
type tokenKind uint8

const (
	// textToken is text, its character references to decode, its NUL
	// octets dropped.
	textToken tokenKind = iota
	// rcdataToken is what a title or textarea element holds: text, its
	// character references to decode, a NUL octet in it U+FFFD.
	rcdataToken
	// rawTextToken is text shown as written, but for a NUL octet, which
	// is U+FFFD: what an xmp or a plaintext element holds.
	rawTextToken
	// startTagToken is a start tag: "<a href=x>".
	startTagToken
	// endTagToken is an end tag: "</a>".
	endTagToken
	// hiddenToken is what a browser shows nothing of: a comment, a
	// doctype, a bogus comment ("<?xml ...>", "<![CDATA[...>", "</ x>"),
	// what a script, style, iframe, noembed or noframes element holds,
	// a tag that the document ends in, the delimiters of a CDATA
	// section, text that a template or an svg script, style, title or
	// desc holds.
	hiddenToken
)

// token is a token of HTML as tokens reads one.
type token struct {
	kind     tokenKind
	from, to int    // its offsets in the document: s[from:to]
	name     string // a tag's name as written: "a", "BR"
	attrs    int    // where a tag's attributes start, just after its name
	// selfClosing is a start tag's "/" just before its ">" ("<path/>").
	selfClosing bool
	// ns is the namespace of the element a start tag opens, or of the
	// rules a text is read by: foreign content's text shows a NUL octet
	// as U+FFFD (see tree.textNS).
	ns namespace
	// inert is a tag's in what a browser renders nothing of: a
	// template's content, an svg script's, style's, title's or desc's
	// (their text is hidden).
	inert bool
}

// tokens returns an iterator over the tokens of an HTML document, read as
// a browser's tokenizer reads them:
//
//   - "<" then an ASCII letter opens a tag, "</" then a letter an end tag;
//     its name runs to a blank, "/" or ">" ("<a-x>" is no a), its
//     attributes are read by readTag; a tag that the document ends in is
//     hidden, with the rest of the document.
//   - "<!--" opens a comment (endOfComment); "<!" then anything else (a
//     doctype, "<![CDATA["), "<?", and "</" then neither a letter nor
//     ">" open a bogus comment, which runs to its first ">"; "</>" is
//     nothing.
//   - any other "<" is text, as is "</" that ends the document.
//   - the start tag of a script, style, iframe, noembed or noframes hides
//     what follows up to its end tag; that of a title or textarea makes
//     it text, that of an xmp text shown as written, in which no tag is
//     read; what follows a plaintext is text shown as written, to the end.
//
// Text runs from one token to the next, a "<" that opens nothing
// included. Scripting is off, as in a mail client: a noscript element
// holds markup (one of the head is closed by the next tag of the body). In foreign content (svg, math: see tree, htmlforeign.go)
// "<![CDATA[" opens a CDATA section, text shown as written to "]]>", and
// a script, style, title... start tag is a tag like any other; what a
// template, or an svg script, style, title or desc holds is hidden, its
// tags inert.
func tokens(s string) iter.Seq[token] {
	return func(yield func(token) bool) {
		var tr tree
		text := 0 // where the text not yielded yet starts
		// yieldText yields the text from text to k, read in the tree's
		// current node.
		yieldText := func(k int) bool {
			if text >= k {
				return true
			}
			t := token{kind: textToken, from: text, to: k, ns: tr.textNS()}
			if tr.inert() {
				t.kind = hiddenToken
			} else {
				tr.text(s[text:k])
			}
			return yield(t)
		}
		for i := 0; ; {
			k := strings.IndexByte(s[i:], '<')
			if k < 0 {
				break
			}
			k += i
			if strings.HasPrefix(s[k:], "<![CDATA[") && tr.foreign() {
				if !yieldText(k) {
					return
				}
				end, ok := cdataSection(s, k, tr.inert(), yield)
				if !ok {
					return
				}
				i, text = end, end
				continue
			}
			t, ok := markup(s, k)
			if !ok {
				i = k + 1
				continue
			}
			if !yieldText(k) {
				return
			}
			t.inert = tr.inert()
			switch t.kind {
			case startTagToken:
				t.ns = tr.start(s, t)
			case endTagToken:
				tr.end(t.name)
			}
			if !yield(t) {
				return
			}
			i, text = t.to, t.to
			if t.kind != startTagToken || t.ns != htmlNS {
				continue
			}
			name, content := rawContent(t.name)
			if name == "" {
				continue
			}
			end := len(s) // where its end tag starts
			switch name {
			case "plaintext":
			case "script":
				end = endOfScript(s, t.to)
			default:
				end = endOfRawText(s, t.to, name)
			}
			if tr.inert() {
				content = hiddenToken
			}
			if t.to < end && !yield(token{kind: content, from: t.to, to: end}) {
				return
			}
			if end == len(s) {
				return
			}
			n := end + len("</") + len(name)
			e := token{kind: endTagToken, from: end, name: s[end+len("</") : n], attrs: n}
			e.to, _ = readTag(s, n, nil)
			if e.to < 0 {
				e.kind, e.to = hiddenToken, len(s)
			} else {
				e.inert = tr.inert()
				tr.end(e.name)
			}
			if !yield(e) {
				return
			}
			i, text = e.to, e.to
		}
		if text < len(s) {
			yieldText(len(s))
		}
	}
}

// cdataSection yields the tokens of the CDATA section at s[k]
// ("<![CDATA[" in foreign content): its start, its content (text shown
// as written, or hidden when inert) and its end ("]]>"), or its start
// and content to the end of the document. It returns the offset just
// after it, and false when yield does.
func cdataSection(s string, k int, inert bool, yield func(token) bool) (int, bool) {
	from := k + len("<![CDATA[")
	to, end := len(s), len(s)
	if e := strings.Index(s[from:], "]]>"); e >= 0 {
		to, end = from+e, from+e+len("]]>")
	}
	content := rawTextToken
	if inert {
		content = hiddenToken
	}
	ok := yield(token{kind: hiddenToken, from: k, to: from}) &&
		(from == to || yield(token{kind: content, from: from, to: to})) &&
		(to == end || yield(token{kind: hiddenToken, from: to, to: end}))
	return end, ok
}

// markup returns the token that the "<" at s[k] opens, or false when
// that "<" is text (see tokens).
func markup(s string, k int) (token, bool) {
	n := k + 1
	if n == len(s) {
		return token{}, false
	}
	switch c := s[n]; {
	case isASCIILetter(c):
		return tagAt(s, k, n, startTagToken), true
	case c == '!' && strings.HasPrefix(s[n+1:], "--"):
		return token{kind: hiddenToken, from: k, to: endOfComment(s, k)}, true
	case c == '!' || c == '?':
		return bogusComment(s, k, n+1), true
	case c == '/' && n+1 < len(s):
		switch c := s[n+1]; {
		case isASCIILetter(c):
			return tagAt(s, k, n+1, endTagToken), true
		case c == '>':
			return token{kind: hiddenToken, from: k, to: n + 2}, true
		}
		return bogusComment(s, k, n+1), true
	}
	return token{}, false
}

// tagAt returns the tag at s[k], whose name starts at n: up to the ">"
// that ends it, or hidden to the end of the document when none does.
func tagAt(s string, k, n int, kind tokenKind) token {
	e := n + 1
	for e < len(s) && !nameEnds(s[e]) {
		e++
	}
	t := token{kind: kind, from: k, name: s[n:e], attrs: e}
	t.to, t.selfClosing = readTag(s, e, nil)
	if t.to < 0 {
		return token{kind: hiddenToken, from: k, to: len(s)}
	}
	return t
}

// bogusComment returns the bogus comment (or doctype) at s[k], whose
// content starts at from: up to the first ">" from there, or to the end
// of the document.
func bogusComment(s string, k, from int) token {
	t := token{kind: hiddenToken, from: k, to: len(s)}
	if e := strings.IndexByte(s[from:], '>'); e >= 0 {
		t.to = from + e + 1
	}
	return t
}

// readTag reads a tag's attributes from s[i], just after its name, as a
// browser's attribute states do, and returns the offset just after the
// ">" that ends the tag, or -1 when none does, and whether a "/" is just
// before it that is no part of a value (the tag is self-closing). attr, when not nil, is
// called with each attribute's name and value as written, until it
// returns false. A name runs to a blank, "/", ">" or "=", its first
// octet whatever it is ("=" and quotes included); a value follows an
// "=", blanks around it; quoted, it runs to the same quote, wherever
// that is (">" in it does not end the tag); bare, to a blank or ">". A
// quote elsewhere is a letter; a "/" is a blank.
func readTag(s string, i int, attr func(name, value string) bool) (end int, selfClosing bool) {
	slash := false // s[i-1] is a "/" between attributes
	for i < len(s) {
		switch c := s[i]; {
		case isBlank(c) || c == '/':
			slash = c == '/'
			i++
			continue
		case c == '>':
			return i + 1, slash
		}
		slash = false
		n := i
		i++
		for i < len(s) && !nameEnds(s[i]) && s[i] != '=' {
			i++
		}
		name := s[n:i]
		for i < len(s) && isBlank(s[i]) {
			i++
		}
		value := ""
		if i < len(s) && s[i] == '=' {
			i++
			for i < len(s) && isBlank(s[i]) {
				i++
			}
			if i == len(s) {
				return -1, false
			}
			switch q := s[i]; q {
			case '"', '\'':
				k := strings.IndexByte(s[i+1:], q)
				if k < 0 {
					return -1, false
				}
				value = s[i+1 : i+1+k]
				i += 1 + k + 1
			case '>': // no value: the tag ends
			default:
				v := i
				for i < len(s) && !isBlank(s[i]) && s[i] != '>' {
					i++
				}
				value = s[v:i]
			}
		}
		if attr != nil && !attr(name, value) {
			attr = nil
		}
	}
	return -1, false
}

// endOfComment returns the offset just after the comment that starts at
// s[from] ("<!--"), or the length of s when it is left open, as a
// browser's comment states read it: an empty "<!-->" or "<!--->" ends at
// once, and "--!>" ends one as "-->" does.
func endOfComment(s string, from int) int {
	rest := s[from:]
	switch {
	case strings.HasPrefix(rest, "<!-->"):
		return from + len("<!-->")
	case strings.HasPrefix(rest, "<!--->"):
		return from + len("<!--->")
	}
	// The first "--" followed by ">" or "!>", in one scan up to it.
	for i := from + len("<!--"); ; {
		k := strings.Index(s[i:], "--")
		if k < 0 {
			return len(s)
		}
		i += k + len("--")
		switch {
		case i < len(s) && s[i] == '>':
			return i + 1
		case i+1 < len(s) && s[i] == '!' && s[i+1] == '>':
			return i + 2
		}
		i-- // "--->": the second '-' may begin the end
	}
}

// rawContent returns, when the start tag of the element written makes
// what follows no markup, the element's name in lower case and what a
// browser makes of what follows (see tokens): hidden, text or text shown
// as written; else "".
func rawContent(written string) (name string, content tokenKind) {
	for _, r := range rawElements {
		if isName(written, r.name) {
			return r.name, r.content
		}
	}
	return "", 0
}

// rawElements are the elements whose start tag makes what follows no
// markup (see tokens), with what a browser makes of it.
var rawElements = [...]struct {
	name    string
	content tokenKind
}{
	{"script", hiddenToken}, {"style", hiddenToken}, {"iframe", hiddenToken}, {"noembed", hiddenToken}, {"noframes", hiddenToken},
	{"title", rcdataToken}, {"textarea", rcdataToken}, {"xmp", rawTextToken}, {"plaintext", rawTextToken},
}

// endOfRawText returns the offset of the end tag of the element name
// whose content starts at s[from], or the length of s when none ends it:
// "</name" followed by what ends a tag's name; "</names>" is no end.
func endOfRawText(s string, from int, name string) int {
	for i := from; ; {
		k := strings.Index(s[i:], "</")
		if k < 0 {
			return len(s)
		}
		k += i
		if isEndTag(s, k, name) {
			return k
		}
		i = k + len("</")
	}
}

// endOfScript returns the offset of the end tag of the script whose
// content starts at s[from], or the length of s when none ends it, as a
// browser's script data states read it: after "<!--" (escaped), a
// "<script" (double escaped) makes the next "</script" no end of it,
// and "-->" ends both.
func endOfScript(s string, from int) int {
	escaped, double := false, false
	dashes := 0 // how many '-' precede s[i], when escaped
	for i := from; i < len(s); i++ {
		switch c := s[i]; {
		case c == '-':
			dashes++
			continue
		case c == '>' && escaped && dashes >= 2:
			escaped, double = false, false
		case c != '<':
		case !escaped && strings.HasPrefix(s[i:], "<!--"):
			escaped, dashes = true, 2 // "<!-->" ends it at once
			i += len("<!--") - 1
			continue
		case isEndTag(s, i, "script"):
			if !double {
				return i
			}
			double = false
		case escaped && isStartTag(s, i, "script"):
			double = true
		}
		dashes = 0
	}
	return len(s)
}

// isEndTag reports whether s[k:] starts with the end tag of the element
// name: "</name", in any case, followed by what ends a tag's name.
func isEndTag(s string, k int, name string) bool {
	return strings.HasPrefix(s[k:], "</") && nameAt(s, k+len("</"), name)
}

// isStartTag reports whether s[k:] starts with the start tag of the
// element name: "<name", in any case, followed by what ends a tag's name.
func isStartTag(s string, k int, name string) bool {
	return s[k] == '<' && nameAt(s, k+1, name)
}

// nameAt reports whether s[n:] starts with the name of the element name,
// in any case, followed by what ends a tag's name (a blank, "/", ">"):
// "<style-x>" is another element, and so is "<style" that ends the
// document.
func nameAt(s string, n int, name string) bool {
	e := n + len(name)
	return e < len(s) && isName(s[n:e], name) && nameEnds(s[e])
}

// isName reports whether the name of a tag or attribute as written is
// name, which is in lower case: HTML lowers ASCII letters only ("ſ",
// U+017F, is no "s").
func isName(written, name string) bool {
	if len(written) != len(name) {
		return false
	}
	for i := range len(name) {
		c := written[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != name[i] {
			return false
		}
	}
	return true
}

// isBlank reports whether c is a blank of HTML: a space, tab, line feed,
// form feed or carriage return.
func isBlank(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\f', '\r':
		return true
	}
	return false
}

// isASCIIAlnum reports whether c is an ASCII letter or digit.
func isASCIIAlnum(c byte) bool { return isASCIILetter(c) || '0' <= c && c <= '9' }

// isASCIILetter reports whether c is an ASCII letter.
func isASCIILetter(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// nameEnds reports whether c ends a tag's name in HTML: a blank, "/" or
// ">".
func nameEnds(c byte) bool { return isBlank(c) || c == '/' || c == '>' }

// unescape decodes the character references of HTML text (attribute
// false) or of an attribute's value (true) as a browser's tokenizer does
// (WHATWG HTML, 13.2.5.72 to 13.2.5.80), in one forward scan:
//
//   - "&#" then decimal digits, or "&#x" then hexadecimal ones, the ";"
//     after them optional, is the character of that number: U+FFFD for 0,
//     a surrogate or a number above U+10FFFF (however many digits it
//     has), windows-1252's for 0x80 to 0x9F. "&#" and "&#x" without a
//     digit are text.
//   - "&" then a name of the named references is its one or two
//     characters ("&fjlig;" is "fj"). Without ";", the names of the
//     legacy list only ("&amp", "&not"); in text the longest such name
//     that starts the letters and digits after the "&" ("&notit;" is
//     "¬it;"); in an attribute only all of them, and not before "="
//     ("&not=" and "&notit" stay as written).
//
// html.UnescapeString holds the tables of names and of windows-1252; it is
// not used as it stands: it keeps a number in 32 bits ("&#4294967345;" is "1" there),
// decodes "&#x;", not "&#9" at the end of its input, nor "&nLt;" and
// "&nGt;", which are longer than their names.
func unescape(s string, attribute bool) string {
	k := strings.IndexByte(s, '&')
	if k < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for k >= 0 {
		b.WriteString(s[:k])
		s = s[k:]
		s = s[reference(&b, s, attribute):]
		k = strings.IndexByte(s, '&')
	}
	b.WriteString(s)
	return b.String()
}

// reference writes to b what the character reference at the start of s
// (an "&") stands for, and returns how many octets of s it is: it writes
// "&" and returns 1 when it is none (see unescape).
func reference(b *strings.Builder, s string, attribute bool) int {
	if len(s) > 1 && s[1] == '#' {
		return numericReference(b, s)
	}
	n := 1
	for n < len(s) && isASCIIAlnum(s[n]) {
		n++
	}
	if n == 1 {
		b.WriteByte('&')
		return 1
	}
	semicolon := n < len(s) && s[n] == ';'
	if semicolon {
		n++
	}
	ref := s[:n]
	switch ref {
	case "&nLt;":
		b.WriteString("\u226A\u20D2")
		return n
	case "&nGt;":
		b.WriteString("\u226B\u20D2")
		return n
	}
	d := html.UnescapeString(ref)
	if attribute {
		// html.UnescapeString decodes of a name without ";" that is no
		// reference the longest legacy name that starts it, and keeps
		// the rest: what follows the first character it gives is then
		// the end of the reference as written ("&notit;" gives "¬" and
		// "it;"). A reference stands for one or two characters, never
		// the end of its name ("&fjlig;" gives "fj"), a legacy name for
		// one.
		_, size := utf8.DecodeRuneInString(d)
		if rest := d[size:]; rest != "" && strings.HasSuffix(ref, rest) || !semicolon && strings.HasPrefix(s[n:], "=") {
			d = ref
		}
	}
	b.WriteString(d)
	return n
}

// numericReference writes to b the character of the numeric reference at
// the start of s ("&#"), and returns how many octets of s it is: it
// writes "&" and returns 1 when no digit follows "&#" or "&#x".
func numericReference(b *strings.Builder, s string) int {
	i := len("&#")
	base := 10
	if i < len(s) && (s[i] == 'x' || s[i] == 'X') {
		base = 16
		i++
	}
	digits := i
	code := 0
	for ; i < len(s); i++ {
		d := digitValue(s[i])
		if d >= base {
			break
		}
		if code <= unicode.MaxRune { // above, it stays above: no wrap
			code = code*base + d
		}
	}
	if i == digits {
		b.WriteByte('&')
		return 1
	}
	if i < len(s) && s[i] == ';' {
		i++
	}
	switch {
	case code == 0 || code > unicode.MaxRune || 0xD800 <= code && code <= 0xDFFF:
		b.WriteRune(utf8.RuneError)
	case 0x80 <= code && code <= 0x9F:
		// windows-1252's characters, whose table html.UnescapeString
		// holds.
		b.WriteString(html.UnescapeString("&#" + strconv.Itoa(code) + ";"))
	default:
		b.WriteRune(rune(code))
	}
	return i
}

// digitValue returns the value of c as a hexadecimal digit, or 16 when it
// is none.
func digitValue(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return 16
}
