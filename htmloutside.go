package mocksmtp

// This file holds what a tree keeps of the HTML elements open outside
// foreign content (see tree.outside and tree.stack): their counts by
// name, the end tags a start tag implies, what an end tag closes of
// them, and the formatting elements a browser opens again.

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
