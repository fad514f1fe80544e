package mocksmtp

import (
	"bytes"
	"html"
	"regexp"
	"strings"
)

// This file holds the helpers of magic-link and one-time-code tests: the
// links of a message, and a regular expression found in its bodies.

// tagBody is what follows a tag's name up to its ">": quoted attribute
// values as wholes, so that a ">" or an "href=" inside one is no part of
// the tag; or else, when a quote is left open, anything up to the first
// ">".
const tagBody = `(?:(?:[^>"']|"[^"]*"|'[^']*')*|[^>]*)>`

var (
	// tagRE finds the tags of HTML; its first group is the name of a tag,
	// its second what follows the name. Comments, scripts and styles are
	// dropped before, by dropHidden.
	tagRE = regexp.MustCompile(`(?i)</?([a-z][a-z0-9]*)(` + tagBody + `)`)
	// attrRE finds the attributes in what follows a tag's name: the name,
	// then the value double-quoted, single-quoted or bare.
	attrRE = regexp.MustCompile(`([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?`)
	// urlRE finds http and https URLs in text.
	urlRE = regexp.MustCompile(`(?i)\bhttps?://[^\s<>"]+`)
	// blockTags break lines; other tags (a, b, span...) are dropped
	// without a trace, so that "code <b>42</b>" reads "code 42".
	blockTags = regexp.MustCompile(`(?i)^(?:address|article|aside|blockquote|body|br|dd|div|dl|dt|footer|h[1-6]|head|header|hr|html|li|main|nav|ol|p|pre|section|table|tbody|td|tfoot|th|thead|title|tr|ul)$`)
)

// Links returns the links of the message, in order and without
// duplicates: the href of each <a> (and <area>) of the HTML body, entities
// decoded (none in comments, scripts and styles: see [Message.Find]),
// then the http and https URLs in the text body that the HTML did not have
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
	for _, g := range tagRE.FindAllStringSubmatch(dropHidden(m.HTML), -1) {
		if !strings.EqualFold(g[1], "a") && !strings.EqualFold(g[1], "area") || strings.HasPrefix(g[0], "</") {
			continue
		}
		// The first href, as a browser takes the first of an attribute
		// given twice.
		for _, a := range attrRE.FindAllStringSubmatch(g[2], -1) {
			if strings.EqualFold(a[1], "href") {
				add(strings.TrimSpace(html.UnescapeString(a[2] + a[3] + a[4])))
				break
			}
		}
	}
	for _, u := range urlRE.FindAllString(m.Text, -1) {
		add(trimURL(u))
	}
	return out
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
// text of the HTML body: tags, comments, scripts and styles dropped (so
// that "#123456" in a style is not taken for a code; one left open hides
// the rest of the body, as in a browser), a line break for
// each block tag (p, div, br, td...), entities decoded. It returns ""
// when neither has a match. When re
// has a group, Find returns what the first group matched:
//
//	code := msg.Find(regexp.MustCompile(`code: (\d{6})`)) // "123456"
func (m *Message) Find(re *regexp.Regexp) string {
	for _, s := range []string{m.Text, htmlText(m.HTML)} {
		if g := re.FindStringSubmatch(s); g != nil {
			if len(g) > 1 {
				return g[1]
			}
			return g[0]
		}
	}
	return ""
}

// htmlText returns the text of an HTML document, roughly: tags, comments,
// scripts and styles replaced by spaces, entities decoded.
func htmlText(s string) string {
	if s == "" {
		return ""
	}
	s = dropHidden(s)
	var b strings.Builder
	last := 0
	for _, g := range tagRE.FindAllStringSubmatchIndex(s, -1) {
		b.WriteString(s[last:g[0]])
		if blockTags.MatchString(s[g[2]:g[3]]) {
			b.WriteByte('\n')
		}
		last = g[1]
	}
	b.WriteString(s[last:])
	return html.UnescapeString(b.String())
}

// dropHidden returns an HTML document without what a browser shows
// neither as text nor as elements: its comments, scripts and styles, each
// up to its end or, left open, to the end of the document, as a browser
// reads them; other tags are kept whole, so that a "<script>" in an
// attribute's value hides nothing. It takes one pass: a regular expression such as
// <!--.*?--> would scan to the end of the document again from each
// "<!--" left open, which 28 KiB of them make seconds.
func dropHidden(s string) string {
	// s with its ASCII letters in lower case, for the names of tags: the
	// same length, the same offsets.
	lower := []byte(s)
	for i, c := range lower {
		if 'A' <= c && c <= 'Z' {
			lower[i] = c + 'a' - 'A'
		}
	}
	var b strings.Builder
	for i := 0; ; {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			b.WriteString(s[i:])
			return b.String()
		}
		j += i
		end := -1 // where what is hidden ends, or -1: not hidden
		switch rest := lower[j:]; {
		case bytes.HasPrefix(rest, []byte("<!--")):
			end = endOfComment(lower, j)
		case isStartTag(rest, "script"):
			end = endOfElement(lower, j, "script")
		case isStartTag(rest, "style"):
			end = endOfElement(lower, j, "style")
		case isTag(rest):
			// Another tag, written as it is: a "<script>" or "<!--" in
			// one of its attributes' values is no markup.
			k := endOfTag(lower, j)
			if k < 0 {
				k = len(s)
			}
			b.WriteString(s[i:k])
			i = k
			continue
		default:
			b.WriteString(s[i : j+1])
			i = j + 1
			continue
		}
		b.WriteString(s[i:j])
		if end < 0 {
			return b.String()
		}
		i = end
	}
}

// endOfComment returns the offset just after the comment that starts at
// from ("<!--"), or -1 when it is left open: as a browser reads it, an
// empty "<!-->" or "<!--->" ends at once, and "--!>" ends one as "-->"
// does.
func endOfComment(s []byte, from int) int {
	rest := s[from:]
	switch {
	case bytes.HasPrefix(rest, []byte("<!-->")):
		return from + len("<!-->")
	case bytes.HasPrefix(rest, []byte("<!--->")):
		return from + len("<!--->")
	}
	// The first "--" followed by ">" or "!>", in one scan up to it.
	for i := from + len("<!--"); ; {
		k := bytes.Index(s[i:], []byte("--"))
		if k < 0 {
			return -1
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

// endOfElement returns the offset just after the end tag of the element
// name whose start tag is at from, or -1 when it is left open: "</name"
// followed by what ends a tag's name (see isStartTag), up to its ">";
// "</scripts>" does not end a script.
func endOfElement(s []byte, from int, name string) int {
	for i := from; ; {
		k := bytes.Index(s[i:], []byte("</"+name))
		if k < 0 {
			return -1
		}
		i += k + len("</") + len(name)
		if i == len(s) || nameEnds(s[i]) {
			if k := bytes.IndexByte(s[i:], '>'); k >= 0 {
				return i + k + 1
			}
			return -1
		}
	}
}

// isTag reports whether s, in lower case, starts with a tag as tagRE
// finds one: "<" or "</", then a letter.
func isTag(s []byte) bool {
	if len(s) > 1 && s[1] == '/' {
		s = s[1:]
	}
	return len(s) > 1 && 'a' <= s[1] && s[1] <= 'z'
}

// endOfTag returns the offset just after the ">" that ends the tag at
// from, or -1 when no ">" ends it: quoted attribute values are read as
// wholes, as tagBody reads them, and a quote left open is an ordinary
// character (tagBody then ends the tag at its first ">", even one inside
// a quoted value before: hostile HTML, read a little otherwise). It scans
// forward only, each octet once.
func endOfTag(s []byte, from int) int {
	for i := from + 1; i < len(s); i++ {
		switch s[i] {
		case '>':
			return i + 1
		case '"', '\'':
			if k := bytes.IndexByte(s[i+1:], s[i]); k >= 0 {
				i += 1 + k
			}
		}
	}
	return -1
}

// isStartTag reports whether s, in lower case, starts with the start tag
// of the element name: "<name" followed by what ends a tag's name in
// HTML (a space, "/", ">") or by nothing; "<style-x>" is another element.
func isStartTag(s []byte, name string) bool {
	if len(s) < 1+len(name) || s[0] != '<' || string(s[1:1+len(name)]) != name {
		return false
	}
	return len(s) == 1+len(name) || nameEnds(s[1+len(name)])
}

// nameEnds reports whether c ends a tag's name in HTML: a space, "/" or
// ">".
func nameEnds(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\f', '\r', '/', '>':
		return true
	}
	return false
}
