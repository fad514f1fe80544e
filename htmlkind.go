package mocksmtp

// This file holds what HTML's tree construction makes of an HTML
// element's name: its kinds (void, special, a scope fence, a formatting
// element...), read in any case of ASCII letters.

// htmlKind is what HTML's tree construction makes of an HTML element of
// a name: a set of the kinds below.
type htmlKind uint16

const (
	// voidKind holds nothing: its start tag opens none ("image" is an
	// img; html, head and body are ignored in a body).
	voidKind htmlKind = 1 << iota
	// specialKind is of HTML's special category and may hold others
	// (div, li, td...): an end tag of another name does not close what
	// it holds.
	specialKind
	// scopedKind is special, its end tag found in scope: past anything
	// but a fence (all special elements but noscript).
	scopedKind
	// fenceKind bounds HTML's scope (table, td...): an end tag of a
	// special element does not close one it holds.
	fenceKind
	// formattingKind is a formatting element (a, b, font...), which a
	// browser opens again (a clone) around what follows, up to its end
	// tag, when a special element closes it.
	formattingKind
	// breakoutKind's start tag breaks out of foreign content (b, div,
	// p...; font with a color, face or size: see breaksOut).
	breakoutKind
	templateKind
	// headingKind is h1 to h6: the end tag of one ends any.
	headingKind
	// listKind is a ul or ol: an li's end tag does not close an li it
	// holds.
	listKind
	// buttonKind is a button: a p's end tag does not close a p it holds.
	buttonKind
	// closesPKind's start tag closes a p in button scope (a heading's
	// too: see impliedEnds).
	closesPKind
	// tablePartKind is a part of a table (td, tr, caption...): its start
	// tag outside a table is ignored.
	tablePartKind
)

// kindOf returns the kind of the HTML element name, in any case: one
// copy in lower case, then a switch (a binary search) for each kind.
func kindOf(name string) htmlKind {
	var b [len("blockquote")]byte // the longest of the names below
	if len(name) > len(b) {
		return 0
	}
	for i := range len(name) {
		b[i] = lowerASCII(name[i])
	}
	n := b[:len(name)]
	var k htmlKind
	switch string(n) {
	case "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image", "img", "input", "keygen",
		"link", "meta", "param", "source", "track", "wbr", "html", "head", "body":
		k |= voidKind
	}
	switch string(n) {
	case "noscript":
		k |= specialKind
	case "address", "applet", "article", "aside", "blockquote", "button", "caption", "center", "colgroup", "dd",
		"details", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "frameset", "h1", "h2",
		"h3", "h4", "h5", "h6", "header", "hgroup", "li", "listing", "main", "marquee", "menu", "nav", "object", "ol", "p",
		"pre", "search", "section", "select", "summary", "table", "tbody", "td", "template", "tfoot", "th", "thead", "tr", "ul":
		k |= specialKind | scopedKind
	}
	switch string(n) {
	case "applet", "caption", "marquee", "object", "table", "td", "template", "th":
		k |= fenceKind
	}
	switch string(n) {
	case "a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u":
		k |= formattingKind
	}
	switch string(n) {
	case "b", "big", "blockquote", "body", "br", "center", "code", "dd", "div", "dl", "dt", "em", "embed", "h1", "h2",
		"h3", "h4", "h5", "h6", "head", "hr", "i", "img", "li", "listing", "menu", "meta", "nobr", "ol", "p", "pre",
		"ruby", "s", "small", "span", "strong", "strike", "sub", "sup", "table", "tt", "u", "ul", "var":
		k |= breakoutKind
	}
	switch string(n) {
	case "template":
		k |= templateKind
	case "h1", "h2", "h3", "h4", "h5", "h6":
		k |= headingKind
	case "ul", "ol":
		k |= listKind
	case "button":
		k |= buttonKind
	}
	switch string(n) {
	case "address", "article", "aside", "blockquote", "center", "dd", "details", "dialog", "dir", "div", "dl", "dt",
		"fieldset", "figcaption", "figure", "footer", "header", "hgroup", "hr", "li", "listing", "main", "menu", "nav",
		"ol", "p", "plaintext", "pre", "search", "section", "summary", "ul", "xmp":
		k |= closesPKind
	case "caption", "colgroup", "tbody", "td", "tfoot", "th", "thead", "tr":
		k |= tablePartKind
	}
	return k
}

// isNameFolded reports whether two names are the same in any case of
// ASCII letters.
func isNameFolded(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

// lowerASCII returns c in lower case when it is an ASCII letter.
func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
