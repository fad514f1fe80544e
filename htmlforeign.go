package mocksmtp

import "strings"

// This file holds what tokens keeps of the tree a browser builds from a
// document (WHATWG HTML, 13.2.6 Tree construction) where the tokenizer,
// or what a browser shows, depends on it: foreign content (svg, math),
// in which a CDATA section is text and a script or style no raw text,
// and the content of a template or of an svg script, style, title or
// desc, which a browser renders nothing of.

// namespace is the namespace of an element.
type namespace uint8

const (
	htmlNS namespace = iota
	svgNS
	mathNS
)

// maxOpen is how many elements a tree keeps on its stack: past it, it
// counts them (see tree.over). An svg nests a few dozen deep at most; a
// bound keeps each end tag's walk down the stack short, whatever the
// document.
const maxOpen = 128

// tree is the part of the stack of open elements of a browser's tree
// construction that tokens needs: the foreign elements open (svg, math
// and what they hold) and the HTML elements open within them, from the
// outermost svg or math; of the HTML elements around those, only counts
// by name (see outside).
//
// It follows the rules for tokens in foreign content: a start tag of
// one of the elements HTML breaks out of foreign content with (b, div, p,
// table... "font" with a color, face or size) closes the foreign elements
// open; within an svg foreignObject, desc or title, or a math
// annotation-xml of HTML, start tags and text are HTML, as within a math
// mi, mo, mn, ms or mtext, but for an mglyph or malignmark; a self-closed
// foreign element ("<path/>") holds nothing; an end tag closes the
// innermost foreign element of its name, or, past the foreign elements,
// the innermost HTML one open within them, as HTML's rules find one
// (down to a special element, or a scope fence: see tree.end; a template
// wherever it is; any heading for a heading's, as "</h1>" ends an h2; no
// li past a ul or ol for an li's, no p past a button for a p's).
// An end tag that matches nothing open within the outermost svg or math
// closes them all when an element of its name is open around them, as a
// browser closes the foreign elements in an HTML element it ends
// ("<div><svg></div>"), and is ignored when none is ("<svg></span>");
// a form end tag closes the form only, not the svg in it, and a form in
// a form opens nothing, as HTML's form element pointer has it.
// Before any body content, a noscript is the head's (scripting off) and
// the next tag of the body closes it, as "in head noscript" has it (see
// tree.startHead); after it, a noscript is an element like any other.
// Outside foreign content, while no more than maxOpen HTML elements are
// open (see tree.stack), the end tags a start tag implies close what a
// browser closes: a p before a block, a heading before a heading, an li
// before an li, a dd or dt before a dd or dt (see impliedEnds); an end
// tag pops what its element holds, but a form's, and of a formatting
// element's, the special and formatting elements, as the adoption agency
// leaves them (see tree.adopt; tree.adoptOpen within foreign content).
// In a table, a table's part and a table's end tag are read by the rules
// of the table's insertion modes (see tree.startTable and tree.endTable,
// htmltable.go): they close what the table part holds, in foreign
// content or not; a td, tr, caption... with no table open is ignored, as
// a browser ignores it. An a start tag closes the a open before it (see
// tree.closeLink). A formatting element that the end tag of an element
// around it closes ("<p><b></p>"), with no marker under it (see
// closeStack), stays counted open, as a browser opens a copy of it again
// before what follows; one behind a marker a table's part or end tag
// left on the list of active formatting elements (see tree.behind) is
// no longer active. HTML's own tree construction is followed no
// further: not those implied end tags in an integration point, nor a
// select, nor those copies within foreign content (tree counts them
// closed), nor when a block start tag comes before them (a browser makes
// none, and an end tag of the element then closes nothing); the copy of
// an a that a table's end tag closed in an svg title or desc is no link
// to Links; in an integration point, a void element holds nothing and
// any other HTML element is open to its end tag.
type tree struct {
	open []element // from the outermost svg or math, at most maxOpen
	// over counts the elements open past maxOpen: all taken to be of
	// overNS, the namespace of the first of them, and to be plain
	// elements (no integration point, nothing inert), each closed by
	// the next end tag.
	over   int
	overNS namespace
	// inertOpen counts the elements of open whose content a browser
	// renders nothing of; templates, the HTML templates open outside
	// foreign content.
	inertOpen, templates int
	// templatesIn counts the HTML templates of open, tablesIn its
	// tables.
	templatesIn, tablesIn int
	// outside counts, by their names in lower case, the HTML elements
	// open outside foreign content, with how many special elements and
	// scope fences were open when the last of them opened: an end tag
	// that matches no foreign element closes them all only when an HTML
	// element of exactly its name is open around them ("<x-217>" is no
	// "div"), as HTML's rules find one (see tree.inScope; past maxOpen
	// open, by the counts: with no special element (div, td...) opened
	// since, for a name of none (span, a), no scope fence (table,
	// td...) for a special one). A name is kept while an element
	// of it is open, or while the map holds fewer than keptNames.
	outside                 map[string]*opened
	specials, fences, lists int
	// form is HTML's form element pointer set: a form opened, no
	// template open, and no form end tag since. A form start tag then
	// opens nothing, and a form end tag closes that form only, not what
	// it holds (see endForm).
	form  bool
	lower []byte // a name in lower case, to look one up in outside
	// stack holds, from the outermost, the HTML elements open outside
	// foreign content, one of outside each, while it holds them all:
	// lost, once more than maxOpen were open. It tells which elements
	// a start tag's implied end tags close (see impliedEnds); lost, none.
	stack []*opened
	lost  bool
	// behind is how many elements of stack are behind a marker that a
	// cell, a caption, an applet... closed by a table's part or end tag
	// left on the list of active formatting elements (see closeStack):
	// a formatting element of those is no longer active, its end tag
	// is HTML's "any other end tag", and an a start tag does not close
	// an a of those.
	behind int
	// phase is where the document is read: in its head, or its body
	// (see tree.startHead).
	phase phase
}

// phase is where a browser's tree construction reads a document, as far
// as a tree tells them apart: before its body content, a noscript is
// the head's, and closed by the next tag of the body ("in head
// noscript"); in the body, an element like any other.
type phase uint8

const (
	// inHead is before any body content: the modes "initial" to "in
	// head".
	inHead phase = iota
	// inHeadNoscript is in a noscript of the head.
	inHeadNoscript
	// afterHead is after the head's end tag, before any body content.
	afterHead
	// inBody is in the body, or past what tree tells apart.
	inBody
)

// element is an element of a tree's stack.
type element struct {
	name string // as written: "foreignObject", "G"
	ns   namespace
	role elementRole
	kind htmlKind // of an HTML element: kindOf(name)
}

// elementRole is what an element of foreign content is to tree
// construction, and to what a browser shows.
type elementRole uint8

const (
	plainElement elementRole = iota
	// htmlIntegration is an svg foreignObject, desc or title, a math
	// annotation-xml of HTML: start tags and text in it are HTML.
	htmlIntegration
	// mathTextIntegration is a math mi, mo, mn, ms or mtext: start tags
	// in it (but mglyph, malignmark) and text are HTML.
	mathTextIntegration
	// inertElement renders nothing of what it holds: an svg script,
	// style, title or desc, an HTML template.
	inertElement
	// inertIntegration is both (an svg title or desc).
	inertIntegration
)

// integration reports whether start tags in an element of role r are
// HTML, as an HTML integration point's are.
func (r elementRole) integration() bool { return r == htmlIntegration || r == inertIntegration }

// inert reports whether an element of role r renders nothing of what it
// holds.
func (r elementRole) inert() bool { return r == inertElement || r == inertIntegration }

// current returns the current node of the tree's stack, and false when
// the stack holds none (HTML content outside foreign elements).
func (tr *tree) current() (element, bool) {
	switch {
	case tr.over > 0:
		return element{ns: tr.overNS}, true
	case len(tr.open) > 0:
		return tr.open[len(tr.open)-1], true
	}
	return element{}, false
}

// foreign reports whether the current node is a foreign element, as the
// tokenizer asks at "<![CDATA[": a CDATA section is read there, a bogus
// comment elsewhere.
func (tr *tree) foreign() bool {
	e, ok := tr.current()
	return ok && e.ns != htmlNS
}

// textNS returns the namespace of the rules text is read by: text in a
// foreign element but an integration point is foreign content, whose
// NUL octets a browser shows as U+FFFD (HTML drops them).
func (tr *tree) textNS() namespace {
	e, ok := tr.current()
	if !ok || e.role.integration() || e.role == mathTextIntegration {
		return htmlNS
	}
	return e.ns
}

// inert reports whether what the tree's current node holds renders
// nothing: it is in a template, or an svg script, style, title or desc.
func (tr *tree) inert() bool { return tr.inertOpen > 0 || tr.templates > 0 }

// start takes in the start tag t of the document s and returns the
// namespace of the element it opens: htmlNS when the tokenizer reads it
// as HTML (a script's content as a script's).
func (tr *tree) start(s string, t token) namespace {
	if tr.phase != inBody && tr.templates == 0 && !tr.startHead(t.name) {
		return htmlNS
	}
	kind := kindOf(t.name)
	if e, ok := tr.current(); ok && e.ns != htmlNS && !(e.role.integration() ||
		e.role == mathTextIntegration && !isName(t.name, "mglyph") && !isName(t.name, "malignmark") ||
		e.ns == mathNS && isName(e.name, "annotation-xml") && isName(t.name, "svg")) {
		if !breaksOut(s, t, kind) {
			if !t.selfClosing {
				tr.push(s, t, e.ns)
			}
			return e.ns
		}
		tr.popToHTML()
	}
	// The rules of HTML content ("in body"), but a table's (htmltable.go).
	if (kind&tablePartKind != 0 || isName(t.name, "table") || isName(t.name, "col")) && tr.startTable(t.name) {
		return htmlNS
	}
	if isName(t.name, "a") {
		tr.closeLink()
	}
	if len(tr.open) == 0 && tr.over == 0 {
		tr.impliedEnds(t.name)
	}
	switch {
	case isName(t.name, "svg"):
		if !t.selfClosing {
			tr.push(s, t, svgNS)
		}
		return svgNS
	case isName(t.name, "math"):
		if !t.selfClosing {
			tr.push(s, t, mathNS)
		}
		return mathNS
	case kind&voidKind != 0:
	case isName(t.name, "form") && tr.form && !tr.templateOpen():
		// A form in a form is ignored.
	case kind&tablePartKind != 0 && !tr.templateOpen() && !tr.tableOpen():
		// A part of a table outside a table is ignored.
	default:
		if isName(t.name, "form") && !tr.templateOpen() {
			tr.form = true
		}
		if len(tr.open) == 0 && tr.over == 0 {
			tr.startOutside(t.name, kind)
		} else {
			tr.push(s, t, htmlNS)
		}
	}
	return htmlNS
}

// tableOpen reports whether an HTML table is open.
func (tr *tree) tableOpen() bool {
	o := tr.outside["table"]
	return tr.tablesIn > 0 || o != nil && o.open > 0
}

// templateOpen reports whether an HTML template is open.
func (tr *tree) templateOpen() bool { return tr.templates > 0 || tr.templatesIn > 0 }

// endForm takes in a form end tag by HTML's rules, no template open: it
// unsets the form element pointer and, when the form it points to is in
// scope, removes that form from the stack, not the elements it holds
// ("<form><svg></form>" leaves the svg open).
func (tr *tree) endForm() {
	if !tr.form {
		return
	}
	tr.form = false
	for i := len(tr.open) - 1; i >= 0; i-- {
		switch e := tr.open[i]; {
		case e.ns == htmlNS && isName(e.name, "form"):
			tr.open = append(tr.open[:i], tr.open[i+1:]...) // a form is no inert element
			return
		case e.role.integration() || e.role == mathTextIntegration || e.ns == mathNS && isName(e.name, "annotation-xml"),
			e.kind&fenceKind != 0:
			return
		}
	}
	if o := tr.outside["form"]; o != nil && o.open > 0 && o.fences == tr.fences {
		tr.endOutside("form", kindOf("form"))
	}
}

// headElement reports whether a start tag of the element name, in the
// head, is the head's: base, basefont, bgsound, link, meta, noframes,
// script, style, template, title.
func headElement(name string) bool {
	for _, h := range [...]string{"base", "basefont", "bgsound", "link", "meta", "noframes", "script", "style", "template", "title"} {
		if isName(name, h) {
			return true
		}
	}
	return false
}

// startHead takes in a start tag of the element name before any body
// content, no template open, as a browser's modes "initial" to "after
// head" do (scripting off), and reports whether the tree opens it as
// in a body: a head's elements are; a noscript of the head is not (it
// holds nothing tree counts, and its end tag closes nothing else); a
// tag of the body moves the tree to its body, closing a noscript of the
// head. An html, head or body start tag is void (kindOf).
func (tr *tree) startHead(name string) bool {
	if tr.phase == inHeadNoscript {
		switch {
		case isName(name, "noscript") || isName(name, "head"):
			return false
		case isName(name, "basefont") || isName(name, "bgsound") || isName(name, "link") || isName(name, "meta") ||
			isName(name, "noframes") || isName(name, "style") || isName(name, "html"):
			return true
		}
		tr.phase = inHead
	}
	switch {
	case isName(name, "html") || isName(name, "head"):
	case isName(name, "noscript") && tr.phase == inHead:
		tr.phase = inHeadNoscript
		return false
	case !headElement(name):
		tr.phase = inBody
	}
	return true
}

// endHead takes in an end tag of the element name before any body
// content, no template open, as startHead a start tag: a noscript's
// ends the head's noscript, a head's the head; a body's, html's or br's
// moves the tree to its body. It reports whether the tree then reads
// the end tag as in a body: a head's elements' end tags close them.
func (tr *tree) endHead(name string) bool {
	switch {
	case isName(name, "br") || tr.phase != inHeadNoscript && (isName(name, "body") || isName(name, "html")):
		tr.phase = inBody
	case tr.phase == inHeadNoscript:
		if isName(name, "noscript") {
			tr.phase = inHead
		}
		return false
	case isName(name, "head") && tr.phase == inHead:
		tr.phase = afterHead
	}
	return true
}

// text takes in the text s of the document, not inert: text but blanks
// (HTML's whitespace) moves the tree to its body.
func (tr *tree) text(s string) {
	if tr.phase == inBody || tr.templates > 0 {
		return
	}
	if strings.IndexByte(s, '&') >= 0 {
		s = unescape(s, false)
	}
	for i := range len(s) {
		if !isBlank(s[i]) {
			tr.phase = inBody
			return
		}
	}
}

// end takes in an end tag of the element name.
func (tr *tree) end(name string) {
	if tr.phase != inBody && tr.templates == 0 && !tr.endHead(name) {
		return
	}
	kind := kindOf(name)
	br, p := isName(name, "br"), isName(name, "p")
	if (br || p) && tr.foreign() {
		// HTML breaks out of foreign content at these too, then reads
		// them as HTML.
		tr.popToHTML()
	}
	switch e, ok := tr.current(); {
	case br: // "</br>" is a br: it closes nothing
		return
	case !ok && isName(name, "form") && !tr.templateOpen():
		tr.endForm()
		return
	case !ok && tr.endTable(name, kind):
		return
	case !ok:
		tr.endOutside(name, kind)
		return
	case tr.over > 0:
		tr.over--
		return
	case e.ns != htmlNS && !p:
		// The innermost foreign element of that name, down to the first
		// HTML element; then HTML's rules.
		for i := len(tr.open) - 1; i >= 0 && tr.open[i].ns != htmlNS; i-- {
			if isNameFolded(tr.open[i].name, name) {
				tr.popTo(i)
				return
			}
		}
	}
	if tr.endTable(name, kind) {
		return
	}
	if isName(name, "form") && !tr.templateOpen() {
		tr.endForm()
		return
	}
	// HTML's rules: the innermost HTML element of that name, down to a
	// special element for a name of none (span), to a scope fence for
	// a special one (div) or a formatting one (b) as endAround reads
	// them; the integration points and any math annotation-xml are both
	// (an svg desc holds an end tag it does not match). A template ends
	// wherever it is.
	template := kind&templateKind != 0
	stop := endStop(name, kind)
	for i := len(tr.open) - 1; i >= 0; i-- {
		switch e := tr.open[i]; {
		case e.ns == htmlNS && kind&formattingKind != 0 && isNameFolded(e.name, name):
			tr.adoptOpen(i)
			return
		case e.ns == htmlNS && (isNameFolded(e.name, name) || kind&e.kind&headingKind != 0):
			tr.popTo(i)
			return
		case template:
		case e.role.integration() || e.role == mathTextIntegration || e.ns == mathNS && isName(e.name, "annotation-xml"):
			return
		case e.kind&stop != 0:
			return
		}
	}
	tr.endAround(name, kind)
}

// push opens the element of the start tag t of the document s, in the
// namespace ns.
func (tr *tree) push(s string, t token, ns namespace) {
	if tr.over > 0 || len(tr.open) == maxOpen {
		if tr.over == 0 {
			tr.overNS = ns
		}
		tr.over++
		return
	}
	e := element{name: t.name, ns: ns, role: roleOf(s, t, ns)}
	if ns == htmlNS {
		e.kind = kindOf(t.name)
	}
	if e.role.inert() {
		tr.inertOpen++
	}
	if e.kind&templateKind != 0 {
		tr.templatesIn++
	}
	if ns == htmlNS && isName(t.name, "table") {
		tr.tablesIn++
	}
	tr.open = append(tr.open, e)
}

// popTo closes the elements open from the current node to open[i].
func (tr *tree) popTo(i int) {
	tr.over = 0
	for _, e := range tr.open[i:] {
		tr.closeElement(e)
	}
	tr.open = tr.open[:i]
}

// closeElement counts an element of tree.open closed.
func (tr *tree) closeElement(e element) {
	if e.role.inert() {
		tr.inertOpen--
	}
	if e.kind&templateKind != 0 {
		tr.templatesIn--
	}
	if e.ns == htmlNS && isName(e.name, "table") {
		tr.tablesIn--
	}
}

// popToHTML closes the foreign elements open down to an HTML element or
// an integration point, as HTML breaking out of foreign content does.
func (tr *tree) popToHTML() {
	tr.over = 0
	i := len(tr.open)
	for i > 0 {
		if e := tr.open[i-1]; e.ns == htmlNS || e.role.integration() || e.role == mathTextIntegration {
			break
		}
		i--
	}
	tr.popTo(i)
}

// roleOf returns the role of the element of the start tag t of the
// document s in the namespace ns.
func roleOf(s string, t token, ns namespace) elementRole {
	switch ns {
	case svgNS:
		switch {
		case isNameFolded(t.name, "foreignObject"):
			return htmlIntegration
		case isName(t.name, "title") || isName(t.name, "desc"):
			return inertIntegration
		case isName(t.name, "script") || isName(t.name, "style"):
			return inertElement
		}
	case mathNS:
		for _, n := range [...]string{"mi", "mo", "mn", "ms", "mtext"} {
			if isName(t.name, n) {
				return mathTextIntegration
			}
		}
		if isName(t.name, "annotation-xml") {
			if v, ok := attrValue(s, t, "encoding"); ok {
				v = unescape(v, true)
				if isNameFolded(v, "text/html") || isNameFolded(v, "application/xhtml+xml") {
					return htmlIntegration
				}
			}
		}
	case htmlNS:
		if isName(t.name, "template") {
			return inertElement
		}
	}
	return plainElement
}

// breaksOut reports whether the start tag t of the document s, of that
// kind, closes the foreign elements open: HTML's start tags that break
// out of foreign content.
func breaksOut(s string, t token, kind htmlKind) bool {
	if isName(t.name, "font") {
		found := false
		readTag(s, t.attrs, func(n, _ string) bool {
			found = isName(n, "color") || isName(n, "face") || isName(n, "size")
			return !found
		})
		return found
	}
	return kind&breakoutKind != 0
}
