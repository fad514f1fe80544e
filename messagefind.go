package mocksmtp

import (
	"regexp"
	"strings"
)

// This file holds the helpers of magic-link and one-time-code tests: the
// links of a message, and a regular expression found in its bodies. Both
// read HTML with tokens (htmltoken.go).

// urlRE finds http and https URLs in text: the scheme in any case of
// ASCII letters, as a URL parser reads it, not (?i)'s Unicode folding,
// in which "httpſ" (U+017F) is "https".
var urlRE = regexp.MustCompile(`\b[hH][tT][tT][pP][sS]?://[^\s<>"]+`)

// Links returns the links of the message, in order and without
// duplicates: the href of each <a> (and <area>) of the HTML body, and of
// each <a> of an <svg> in it (or else its xlink:href), and of each <a>
// of a <math> in it (which Firefox follows, Chrome and Safari do not: a
// link some readers follow is one a test should see), as a browser reads
// its tags (none in comments, scripts, styles, textareas, templates:
// see [Message.Find]; the first href of a tag), its character references
// decoded as in an attribute ("&section=" is kept as written), tabs and
// line breaks dropped as a browser drops them from a URL, the
// backslashes of an http, https, ws, wss or ftp URL (the URL standard's
// special schemes but file) read as slashes before its query, as a
// browser reads them ("https:\\evil.test\x" opens https://evil.test/x), then the
// http and https URLs in the text body that the HTML did not have
// already. Trailing punctuation is not part of a URL in text ("see
// https://x.test/a." gives "https://x.test/a").
func (m *Message) Links() []string {
	var out []string
	seen := make(map[string]bool)
	add := func(u string) {
		if u != "" && !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	s := m.HTML
	for t := range tokens(s) {
		if href, ok := linkOf(s, t); ok {
			add(hrefURL(unescape(withoutNUL(href), true)))
		}
	}
	for _, u := range urlRE.FindAllString(m.Text, -1) {
		add(trimURL(u))
	}
	return out
}

// linkOf returns the URL, as written, of the link that the token t of
// the document s opens, and whether it opens one: the href of an HTML a
// or area; of an svg a, its href, or else its xlink:href, as SVG 2 reads
// them; of a MathML a, its href (Firefox follows it); none in content a
// browser renders nothing of (see tokens).
func linkOf(s string, t token) (string, bool) {
	if t.kind != startTagToken || t.inert {
		return "", false
	}
	switch {
	case isName(t.name, "a") && t.ns == svgNS:
		if href, ok := attrValue(s, t, "href"); ok {
			return href, true
		}
		return attrValue(s, t, "xlink:href")
	case isName(t.name, "a") || isName(t.name, "area") && t.ns == htmlNS:
		return attrValue(s, t, "href")
	}
	return "", false
}

// hrefURL returns the URL of an href's value as a browser's URL parser
// reads it: without the C0 controls and spaces around it, nor the tabs
// and line breaks in it, so that an href a generator wrapped over lines
// ("https://x.test/a\n/b") is the link a click follows.
func hrefURL(v string) string {
	v = strings.TrimFunc(v, func(r rune) bool { return r <= ' ' })
	if strings.ContainsAny(v, "\t\n\r") {
		v = strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return -1
			}
			return r
		}, v)
	}
	return specialSlashes(v)
}

// specialSlashes returns the URL u of a special scheme (http, https,
// ws, wss, ftp: the URL standard's, but file) with its slashes as a
// browser's URL parser reads them: a backslash before the query or
// fragment is a slash, and two or more slashes after the scheme are
// "//" ("https:\\x.test\a" opens https://x.test/a). Other URLs, and one
// with fewer than two slashes after its scheme, which a browser reads
// against the page's URL, are kept as written.
func specialSlashes(u string) string {
	colon := strings.IndexByte(u, ':')
	if colon < 0 || !isSpecialScheme(u[:colon]) {
		return u
	}
	end := len(u) // where the query or fragment starts
	if k := strings.IndexAny(u, "?#"); k >= 0 {
		end = k
	}
	rest := u[colon+1 : end]
	n := 0 // the slashes after the scheme
	for n < len(rest) && (rest[n] == '/' || rest[n] == '\\') {
		n++
	}
	if n < 2 || n == 2 && rest[:2] == "//" && strings.IndexByte(rest, '\\') < 0 {
		return u
	}
	return u[:colon+1] + "//" + strings.ReplaceAll(rest[n:], "\\", "/") + u[end:]
}

// isSpecialScheme reports whether a URL's scheme, as written, is one of
// the URL standard's special schemes but file, in any case.
func isSpecialScheme(scheme string) bool {
	for _, s := range [...]string{"http", "https", "ws", "wss", "ftp"} {
		if isName(scheme, s) {
			return true
		}
	}
	return false
}

// attrValue returns the value, as written, of the first attribute name
// (in lower case) of the tag t of the document s, and whether t has one:
// a browser drops an attribute given twice after the first.
func attrValue(s string, t token, name string) (value string, ok bool) {
	readTag(s, t.attrs, func(n, v string) bool {
		if isName(n, name) {
			value, ok = v, true
		}
		return !ok
	})
	return value, ok
}

// trimURL drops the punctuation that ends a sentence around a URL, and
// closing brackets that the URL did not open. It counts the brackets
// once, so that a URL of a million ")" takes a pass, not a million.
func trimURL(u string) string {
	unopenedParens := strings.Count(u, ")") - strings.Count(u, "(")
	unopenedBrackets := strings.Count(u, "]") - strings.Count(u, "[")
	for len(u) > 0 {
		c := u[len(u)-1]
		switch {
		case strings.IndexByte(".,;:!?'*", c) >= 0:
		case c == ')' && unopenedParens > 0:
			unopenedParens--
		case c == ']' && unopenedBrackets > 0:
			unopenedBrackets--
		default:
			return u
		}
		u = u[:len(u)-1]
	}
	return u
}

// Find returns the first match of re in the text body, or else in the
// text of the HTML body, read as a browser's tokenizer reads it: tags,
// comments, doctypes, scripts, styles, iframes and templates dropped (so
// that "#123456" in a style is not taken for a code; one left open hides
// the rest of the body, as in a browser), what a textarea or title holds
// kept as text (a "<b>" in it is no tag), a line break for
// each block tag (p, div, br, td...), entities decoded, a carriage
// return read as a line feed ("." in re stops at it); in an <svg> or
// <math>, a CDATA section is text, and what an svg script, style, title
// or desc holds is dropped. It returns ""
// when neither has a match. When re
// has a group, Find returns what the first group matched:
//
//	code := msg.Find(regexp.MustCompile(`code: (\d{6})`)) // "123456"
func (m *Message) Find(re *regexp.Regexp) string {
	if g := re.FindStringSubmatch(m.Text); g != nil {
		return group(g)
	}
	if g := re.FindStringSubmatch(htmlText(m.HTML)); g != nil {
		return group(g)
	}
	return ""
}

// group returns what the first group of a match g matched, or the
// whole match when the regular expression has no group.
func group(g []string) string {
	if len(g) > 1 {
		return g[1]
	}
	return g[0]
}

// htmlText returns the text of an HTML document as tokens reads it:
// comments, scripts, styles and other hidden content dropped, a line break
// for each block tag, other tags dropped without a trace, character
// references decoded in the text they are in, NUL octets dropped (U+FFFD
// in a title, textarea, xmp or plaintext, in a CDATA section and other
// text of foreign content), line breaks made line feeds, as a browser
// shows them.
func htmlText(s string) string {
	var b strings.Builder
	for t := range tokens(s) {
		switch t.kind {
		case textToken:
			text := lineFeeds(s[t.from:t.to])
			if t.ns == htmlNS {
				text = strings.ReplaceAll(text, "\x00", "")
			} else {
				text = withoutNUL(text)
			}
			b.WriteString(unescape(text, false))
		case rcdataToken:
			b.WriteString(unescape(withoutNUL(lineFeeds(s[t.from:t.to])), false))
		case rawTextToken:
			b.WriteString(withoutNUL(lineFeeds(s[t.from:t.to])))
		case startTagToken, endTagToken:
			if isBlockTag(t.name) {
				b.WriteByte('\n')
			}
		}
	}
	return b.String()
}

// lineFeeds returns text of HTML with each carriage return, alone or
// before a line feed, made a line feed, as a browser's input stream
// preprocessing makes it before it reads the text (a "&#13;" stays a
// carriage return). A CR and the LF after it are in one token: no token
// ends between them.
func lineFeeds(s string) string {
	if strings.IndexByte(s, '\r') < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// withoutNUL returns text of HTML with its NUL octets replaced by
// U+FFFD, as a browser's tokenizer replaces them in an attribute's value
// and in what a title, textarea, xmp or plaintext holds. (Text elsewhere
// drops them.)
func withoutNUL(s string) string { return strings.ReplaceAll(s, "\x00", "\uFFFD") }

// isBlockTag reports whether a tag of the element name breaks lines;
// other tags (a, b, span...) are dropped without a trace, so that "code
// <b>42</b>" reads "code 42".
func isBlockTag(name string) bool {
	if len(name) == 2 && (name[0] == 'h' || name[0] == 'H') && '1' <= name[1] && name[1] <= '6' {
		return true
	}
	for _, b := range blockTags {
		if isName(name, b) {
			return true
		}
	}
	return false
}

// blockTags are the elements whose tags break lines, but h1 to h6.
var blockTags = [...]string{"address", "article", "aside", "blockquote", "body", "br", "dd", "div", "dl", "dt", "footer",
	"head", "header", "hr", "html", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot",
	"th", "thead", "title", "tr", "ul"}
