package mocksmtp

import (
	"bytes"
	"html"
	"iter"
	"regexp"
	"strings"
)

// This file holds the helpers of magic-link and one-time-code tests: the
// links of a message, and a regular expression found in its bodies.

var (
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
	for t := range tags(dropHidden(m.HTML)) {
		if !strings.EqualFold(t.name, "a") && !strings.EqualFold(t.name, "area") || t.end || t.open {
			continue
		}
		// The first href, as a browser takes the first of an attribute
		// given twice.
		if href, ok := firstAttr(t.attrs, "href"); ok {
			add(strings.TrimSpace(html.UnescapeString(href)))
		}
	}
	for _, u := range urlRE.FindAllString(m.Text, -1) {
		add(trimURL(u))
	}
	return out
}

// firstAttr returns the value of the first attribute named name (in any
// case) in attrs, what follows a tag's name, and whether there is one.
// An attribute is a name (octets other than blanks, quotes, ">", "/" and
// "="), then, if an "=" follows it (blanks around), its value:
// double-quoted, single-quoted, or bare (octets other than blanks,
// quotes and ">"); other octets are skipped. It scans forward, each
// octet once, and allocates nothing: a tag of 1 MiB of attributes, of
// which a regular expression's FindAll would have made half a million
// slices (140 MB, seconds) for Links to look at the first.
func firstAttr(attrs, name string) (string, bool) {
	isName := func(c byte) bool { return !isBlank(c) && strings.IndexByte(`"'>/=`, c) < 0 }
	for i := 0; i < len(attrs); {
		if !isName(attrs[i]) {
			i++
			continue
		}
		j := i + 1
		for j < len(attrs) && isName(attrs[j]) {
			j++
		}
		value, end := attrValue(attrs, j)
		if strings.EqualFold(attrs[i:j], name) {
			return value, true
		}
		i = end
	}
	return "", false
}

// attrValue returns the value of the attribute whose name ends at from
// in attrs (see firstAttr), "" for none, and where the attribute ends: a
// value left without its closing quote is none, and the attribute ends
// with its name.
func attrValue(attrs string, from int) (value string, end int) {
	k := from
	for k < len(attrs) && isBlank(attrs[k]) {
		k++
	}
	if k == len(attrs) || attrs[k] != '=' {
		return "", from
	}
	k++
	for k < len(attrs) && isBlank(attrs[k]) {
		k++
	}
	if k == len(attrs) {
		return "", from
	}
	if q := attrs[k]; q == '"' || q == '\'' {
		if n := strings.IndexByte(attrs[k+1:], q); n >= 0 {
			return attrs[k+1 : k+1+n], k + 1 + n + 1
		}
		return "", from
	}
	e := k
	for e < len(attrs) && !isBlank(attrs[e]) && strings.IndexByte(`"'>`, attrs[e]) < 0 {
		e++
	}
	if e == k { // a ">": no value
		return "", from
	}
	return attrs[k:e], e
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

// htmlText returns the text of an HTML document, roughly: comments,
// scripts and styles dropped, a line break for each block tag, other tags
// dropped without a trace, entities decoded.
func htmlText(s string) string {
	if s == "" {
		return ""
	}
	s = dropHidden(s)
	var b strings.Builder
	last := 0
	for t := range tags(s) {
		b.WriteString(s[last:t.from])
		if !t.open && blockTags.MatchString(t.name) {
			b.WriteByte('\n')
		}
		last = t.to
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
			k := endOfTag(s, j)
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

// isTag reports whether s, in lower case, starts with a tag as tags
// finds one: "<" or "</", then a letter.
func isTag(s []byte) bool {
	if len(s) > 1 && s[1] == '/' {
		s = s[1:]
	}
	return len(s) > 1 && 'a' <= s[1] && s[1] <= 'z'
}

// endOfTag returns the offset just after the ">" that ends the tag at
// from, or -1 when no ">" ends it, as a browser reads a tag: a value
// follows an "=", blanks between; quoted, it runs to the same quote,
// wherever it is (a ">" in it no end of the tag; no such quote, to the
// end of the document), bare, to a blank or ">". A quote elsewhere (in a
// name, in a bare value: alt=Don't) is a letter. It scans forward only,
// each octet once. dropHidden and tags read a tag's end with it, so that
// what one keeps as a tag the other reads as one.
func endOfTag(s string, from int) int {
	for i := from + 1; i < len(s); i++ {
		switch s[i] {
		case '>':
			return i + 1
		case '=':
			j := i + 1
			for j < len(s) && isBlank(s[j]) {
				j++
			}
			if j < len(s) && (s[j] == '"' || s[j] == '\'') {
				k := strings.IndexByte(s[j+1:], s[j])
				if k < 0 {
					return -1
				}
				i = j + 1 + k
				continue
			}
			for j < len(s) && !isBlank(s[j]) && s[j] != '>' {
				j++
			}
			i = j - 1
		}
	}
	return -1
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

// tag is a tag of HTML as tags finds it.
type tag struct {
	from, to int    // its offsets in the document: s[from:to]
	name     string // as written: "a", "BR"
	attrs    string // what follows the name up to the ">"
	end      bool   // an end tag: "</a>"
	open     bool   // no ">" ends it: it runs to the end of the document
}

// tags returns an iterator over the tags of an HTML document: "<" or
// "</", a name (a letter, then letters and digits), then what follows up
// to its ">" (endOfTag). A tag that no ">" ends runs to the end of the
// document, as a browser reads it, and is the last. One forward scan:
// a regular expression of a tag's quoted values would scan to the end
// of the document again from each tag whose quotes pair past its ">".
func tags(s string) iter.Seq[tag] {
	return func(yield func(tag) bool) {
		for i := 0; ; {
			j := strings.IndexByte(s[i:], '<')
			if j < 0 {
				return
			}
			j += i
			t := tag{from: j}
			n := j + 1
			if n < len(s) && s[n] == '/' {
				t.end = true
				n++
			}
			if n == len(s) || !isASCIILetter(s[n]) {
				i = j + 1
				continue
			}
			k := n + 1
			for k < len(s) && (isASCIILetter(s[k]) || '0' <= s[k] && s[k] <= '9') {
				k++
			}
			t.name = s[n:k]
			if t.to = endOfTag(s, j); t.to < 0 {
				t.to, t.open = len(s), true
				t.attrs = s[k:]
			} else {
				t.attrs = s[k : t.to-1]
			}
			if !yield(t) || t.open {
				return
			}
			i = t.to
		}
	}
}

// isASCIILetter reports whether c is an ASCII letter.
func isASCIILetter(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
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

// nameEnds reports whether c ends a tag's name in HTML: a blank, "/" or
// ">".
func nameEnds(c byte) bool { return isBlank(c) || c == '/' || c == '>' }
