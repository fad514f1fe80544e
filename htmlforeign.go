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

// opened is what a tree counts of the HTML elements of a name open
// outside foreign content (see tree.outside).
type opened struct {
	name                          string   // its key
	kind                          htmlKind // kindOf(name)
	open, specials, fences, lists int
}

// keptNames is how many names of elements no longer open tree.outside
// keeps, to count them again without a new entry ("<p>...</p>" in a
// loop): past it, it keeps only the names of those open.
const keptNames = 256

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

// endAround takes in an end tag of the element name, of that kind, that
// matches no element the stack holds: it closes them all when an HTML
// element of its name is open around them (see tree.outside).
func (tr *tree) endAround(name string, kind htmlKind) {
	o := tr.outsideOf(name, kind)
	switch {
	case o == nil || o.open == 0:
		return
	case !tr.lost:
		if !tr.inScope(o, name, kind) {
			return
		}
	case kind&templateKind != 0:
	case kind&(formattingKind|scopedKind) != 0:
		// Found in scope; a formatting element (a, b...) as its last
		// clone, which a browser makes right around what it holds. An
		// li's scope ends at a ul or ol too.
		if o.fences != tr.fences || isName(name, "li") && o.lists != tr.lists {
			return
		}
	case o.specials != tr.specials:
		return
	}
	tr.popTo(0)
	tr.endOutside(o.name, kind)
}

// inScope reports whether an element of o is open in the scope an end
// tag of the element name, of that kind, finds one in, as HTML's rules
// read it (see endStop), by what tree.stack holds: any heading for a
// heading's.
func (tr *tree) inScope(o *opened, name string, kind htmlKind) bool {
	stop := endStop(name, kind)
	if kind&templateKind != 0 {
		stop = 0
	}
	special := false // a special element is open above the one at i
	for i := len(tr.stack) - 1; i >= 0; i-- {
		switch e := tr.stack[i]; {
		case e == o || kind&e.kind&headingKind != 0:
			// Behind a marker, a formatting element's end tag is HTML's
			// "any other end tag" (see endOutside).
			return kind&formattingKind == 0 || i >= tr.behind || !special
		case e.kind&stop != 0:
			return false
		default:
			special = special || e.kind&specialKind != 0
		}
	}
	return false
}

// startOutside takes in the start tag of an HTML element, not void, of
// the name and kind, outside foreign content.
func (tr *tree) startOutside(name string, kind htmlKind) {
	if kind&templateKind != 0 {
		tr.templates++
	}
	if kind&specialKind != 0 {
		tr.specials++
	}
	if kind&fenceKind != 0 {
		tr.fences++
	}
	if kind&listKind != 0 {
		tr.lists++
	}
	lower := tr.lowerName(name)
	o := tr.outside[string(lower)]
	if o == nil {
		o = &opened{name: name, kind: kind} // the document's name, when in lower case
		if string(lower) != name {
			o.name = string(lower)
		}
		if tr.outside == nil {
			tr.outside = make(map[string]*opened)
		}
		tr.outside[o.name] = o
	}
	o.open++
	o.specials, o.fences, o.lists = tr.specials, tr.fences, tr.lists
	if len(tr.stack) == maxOpen {
		tr.lost = true
	}
	if !tr.lost {
		tr.stack = append(tr.stack, o)
	}
}

// endOutside takes in an end tag of the element name, of that kind,
// outside foreign content: it closes an element of its name, when one
// may be open, and, as a browser pops them, those tree.stack holds
// above it; not those a form holds, which the form element pointer
// leaves open, and of those a formatting element holds, as the adoption
// agency does (see adopt).
func (tr *tree) endOutside(name string, kind htmlKind) {
	o := tr.outsideOf(name, kind)
	if o == nil || o.open == 0 {
		return
	}
	// As HTML's rules find it (see tree.end): past what stops them, a
	// browser ignores the end tag. Past maxOpen open, o is counted
	// closed.
	stop := endStop(name, kind)
	if kind&templateKind != 0 {
		stop = 0
	}
	special := false // a special element is open above the one at i
	for i := len(tr.stack) - 1; i >= 0 && !tr.lost; i-- {
		if e := tr.stack[i]; e != o {
			if e.kind&stop != 0 {
				return
			}
			special = special || e.kind&specialKind != 0
			continue
		}
		switch {
		case kind&formattingKind != 0 && i >= tr.behind:
			tr.adopt(i)
			return
		case kind&formattingKind != 0 && special:
			// Behind a marker, no formatting element of the list: HTML's
			// "any other end tag", which stops at a special element.
			return
		case isName(name, "form"):
			tr.stack = append(tr.stack[:i], tr.stack[i+1:]...)
			if i < tr.behind {
				tr.behind--
			}
		default:
			tr.closeTo(i)
			return
		}
		break
	}
	tr.closeOpened(o)
}

// closeTo closes the elements tree.stack holds from its top to
// stack[i], as a browser pops them for an end tag (see closeStack).
func (tr *tree) closeTo(i int) { tr.closeStack(i, true) }

// closeStack closes the elements tree.stack holds from its top to
// stack[i], as a browser pops them, but the formatting elements it
// keeps on its list of active formatting elements: a browser opens a
// copy of each again before what follows (it reconstructs the active
// formatting elements), and tree counts them open ("<p><b></p>" leaves a
// b open). Of the elements that put a marker on that list (a cell, a
// caption, an applet...: see isMarker) among those closed, an end tag
// that clears the list (clears: a cell's, a caption's, an applet's...)
// takes the innermost's marker off it, with the formatting elements
// after it; the markers of the others (all, for a table's part or end
// tag, which clear nothing) stay on the list, and the formatting
// elements before them, open or not, are no longer active (see
// tree.behind): "<table><b><applet><tr>" leaves no b to open again, nor
// for "</b>" to find.
func (tr *tree) closeStack(i int, clears bool) {
	top, stale := -1, -1 // the innermost marker closed; the innermost left on the list
	for j := len(tr.stack) - 1; j >= i; j-- {
		if e := tr.stack[j]; isMarker(e.name, e.kind) {
			if top < 0 && clears {
				top = j
				continue
			}
			stale = j
			break
		}
	}
	n := i
	for j := i; j < len(tr.stack); j++ {
		e := tr.stack[j]
		if e.kind&formattingKind != 0 && j >= tr.behind && j > stale && (top < 0 || j < top) {
			tr.stack[n] = e
			n++
			continue
		}
		tr.closeOpened(e)
	}
	tr.stack = tr.stack[:n]
	tr.behind = min(tr.behind, i)
	if stale >= 0 {
		tr.behind = i
	}
}

// closeOpened counts an HTML element open outside foreign content, one
// of o, closed.
func (tr *tree) closeOpened(o *opened) {
	if o.open == 0 {
		return
	}
	if o.open--; o.open == 0 && len(tr.outside) > keptNames {
		delete(tr.outside, o.name)
	}
	kind := o.kind
	if kind&templateKind != 0 {
		tr.templates = max(tr.templates-1, 0)
	}
	if kind&specialKind != 0 {
		tr.specials = max(tr.specials-1, 0)
	}
	if kind&fenceKind != 0 {
		tr.fences = max(tr.fences-1, 0)
	}
	if kind&listKind != 0 {
		tr.lists = max(tr.lists-1, 0)
	}
}

// impliedEnds closes, before a start tag of the element name outside
// foreign content, the elements a browser closes then, as far as
// tree.stack tells them: a p in button scope, before a start tag of a
// block (div, hr, ul, h1...; not a table, which a document in quirks
// mode puts in the p); an li before an li, a dd or dt before a dd or dt,
// down to a special element but an address, div or p; a heading that is
// the current node before a heading.
func (tr *tree) impliedEnds(name string) {
	if tr.lost || len(tr.stack) == 0 {
		return
	}
	kind := kindOf(name)
	switch {
	case isName(name, "li"):
		tr.closeItem("li", "li")
	case isName(name, "dd") || isName(name, "dt"):
		tr.closeItem("dd", "dt")
	}
	if kind&(headingKind|closesPKind) != 0 {
		if o := tr.outside["p"]; o != nil && o.open > 0 {
			for i := len(tr.stack) - 1; i >= 0; i-- {
				if e := tr.stack[i]; e.name == "p" {
					tr.closeTo(i)
					break
				} else if kindOf(e.name)&(fenceKind|buttonKind) != 0 {
					break
				}
			}
		}
	}
	if n := len(tr.stack); kind&headingKind != 0 && n > 0 && kindOf(tr.stack[n-1].name)&headingKind != 0 {
		tr.closeTo(n - 1)
	}
}

// closeItem closes, as an li's or a dd's start tag does, the innermost
// element named a or b that tree.stack holds above any special element
// but an address, div or p.
func (tr *tree) closeItem(a, b string) {
	for i := len(tr.stack) - 1; i >= 0; i-- {
		switch e := tr.stack[i]; {
		case e.name == a || e.name == b:
			tr.closeTo(i)
			return
		case kindOf(e.name)&specialKind != 0 && e.name != "address" && e.name != "div" && e.name != "p":
			return
		}
	}
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

// outsideOf returns what tree.outside counts of the elements of the
// name, of that kind, open outside foreign content, or nil: for a
// heading, of a heading open in scope, as any heading's end tag ends
// the innermost ("</h1>" an h2).
func (tr *tree) outsideOf(name string, kind htmlKind) *opened {
	if kind&headingKind == 0 {
		return tr.outside[string(tr.lowerName(name))]
	}
	for _, h := range [...]string{"h1", "h2", "h3", "h4", "h5", "h6"} {
		if o := tr.outside[h]; o != nil && o.open > 0 && o.fences == tr.fences {
			return o
		}
	}
	return nil
}

// lowerName returns the name in lower case of ASCII letters, in the
// tree's buffer: a key of tree.outside, to look one up without a copy.
func (tr *tree) lowerName(name string) []byte {
	tr.lower = tr.lower[:0]
	for i := range len(name) {
		tr.lower = append(tr.lower, lowerASCII(name[i]))
	}
	return tr.lower
}

// endStop returns the kinds of element that stop the search for what an
// end tag of name (of kind) closes, as HTML's rules read it: a special
// element for a name of none (span), a scope fence for a special one
// (div) or a formatting one (b), and for li a list, for p a button.
func endStop(name string, kind htmlKind) htmlKind {
	stop := specialKind
	if kind&(formattingKind|scopedKind) != 0 {
		stop = fenceKind
	}
	switch {
	case isName(name, "li"):
		stop |= listKind
	case isName(name, "p"):
		stop |= buttonKind
	}
	return stop
}
