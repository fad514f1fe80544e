package mocksmtp

// This file holds what a tree follows of the insertion modes of a table
// (WHATWG HTML, 13.2.6.4.9 to 13.2.6.4.15), as far as they change what a
// browser shows: a table's part (a cell, a row, a caption...) and a
// table's end tag close what the table part before them holds, down to
// the table, an svg title or desc in it included (whose content a
// browser renders nothing of); and of the "adoption agency", that an a
// start tag closes the a open before it, and what a formatting
// element's end tag closes of what it holds.
//
// The rest of a table's modes moves elements, not what a browser shows:
// text and elements foster-parented out of a table are shown, and a tree
// reads them as in a body; a colgroup holds nothing tree counts, and is
// closed by anything but a col or a template: tree opens none.

// tableContext returns where the innermost HTML element of a table
// (table, tbody, thead, tfoot, tr, td, th, caption) or template open is,
// as tree.nameAt counts, and its name in lower case: the insertion mode
// a browser reads the next tag in, as "reset the insertion mode
// appropriately" finds it (in a template, or with none open, tree reads
// it as in a body). It returns false when none is open, or tree cannot
// tell: more than maxOpen open.
func (tr *tree) tableContext() (at int, name string, ok bool) {
	if tr.over > 0 || !tr.tableOpen() && !tr.templateOpen() {
		return 0, "", false
	}
	n := len(tr.stack)
	for i := len(tr.open) - 1; i >= 0; i-- {
		if e := tr.open[i]; e.ns == htmlNS && e.kind&(fenceKind|tablePartKind) != 0 {
			if name := tableName(e.name); name != "" {
				return n + i, name, true
			}
		}
	}
	if tr.lost {
		return 0, "", false
	}
	for i := n - 1; i >= 0; i-- {
		if o := tr.stack[i]; o.kind&(fenceKind|tablePartKind) != 0 {
			if name := tableName(o.name); name != "" {
				return i, name, true
			}
		}
	}
	return 0, "", false
}

// tableName returns, in lower case, the name of a table's element or a
// template (see tableContext) written, or "".
func tableName(written string) string {
	for _, n := range [...]string{"table", "tbody", "thead", "tfoot", "tr", "td", "th", "caption", "template"} {
		if isName(written, n) {
			return n
		}
	}
	return ""
}

// nameAt returns the name, as written, of the HTML element at on the
// stack of open elements (tree.stack, then tree.open), "" for a foreign
// one.
func (tr *tree) nameAt(at int) string {
	if at < len(tr.stack) {
		return tr.stack[at].name
	}
	if e := tr.open[at-len(tr.stack)]; e.ns == htmlNS {
		return e.name
	}
	return ""
}

// closeFrom closes the elements open from the current node down to the
// one at (see tableContext), as a browser pops them: for a cell's or a
// caption's end tag, implied or not, when clears (see closeStack).
func (tr *tree) closeFrom(at int, clears bool) {
	if n := len(tr.stack); at >= n {
		tr.popTo(at - n)
		return
	}
	tr.popTo(0)
	tr.closeStack(at, clears)
}

// openHTML opens an HTML element of the name, as a browser inserts one
// it implies (a tbody, a tr), or one of a table's start tags.
func (tr *tree) openHTML(name string) {
	if len(tr.open) == 0 && tr.over == 0 {
		tr.startOutside(name, kindOf(name))
		return
	}
	tr.push("", token{name: name}, htmlNS)
}

// startTable takes in, in HTML content, the start tag of a table or of a
// table's part (caption, colgroup, col, tbody, thead, tfoot, tr, td,
// th) of the name, by the rules of the table's mode it is read in (see
// tableContext), and reports whether it did; false leaves it to the
// rules of a body. Of a cell's or a caption's, a table's part closes the
// cell or the caption; of a row's, a cell opens in the row, anything
// else closes the row; of a tbody's (thead, tfoot), a row opens in it,
// a cell in a row it implies, anything else closes the tbody; of a
// table's, a table's part opens in it (a cell in a tbody and a row it
// implies; a colgroup or col opens nothing tree counts), and a table
// closes it, then opens as in a body.
func (tr *tree) startTable(name string) bool {
	part := !isName(name, "table")
	for {
		at, ctx, ok := tr.tableContext()
		if !ok || ctx == "template" {
			return false
		}
		cell := isName(name, "td") || isName(name, "th")
		switch ctx {
		case "td", "th", "caption":
			if !part {
				return false // a table in a cell, as in a body
			}
			tr.closeFrom(at, true) // the cell or the caption's end tag
			continue
		case "tr":
			if !cell {
				tr.closeFrom(at, false)
				continue
			}
		case "tbody", "thead", "tfoot":
			if !cell && !isName(name, "tr") {
				tr.closeFrom(at, false)
				continue
			}
			if cell {
				tr.closeFrom(at+1, false)
				tr.openHTML("tr")
				tr.openHTML(name)
				return true
			}
		case "table":
			if !part {
				tr.closeFrom(at, false)
				return false // then opens as in a body
			}
			tr.closeFrom(at+1, false)
			switch {
			case isName(name, "col") || isName(name, "colgroup"):
				return true
			case isName(name, "tr") || cell:
				tr.openHTML("tbody")
				if cell {
					tr.openHTML("tr")
				}
			}
			tr.openHTML(name)
			return true
		}
		tr.closeFrom(at+1, false)
		tr.openHTML(name)
		return true
	}
}

// endTable takes in, in HTML content, the end tag of a table or of a
// table's part of the name, by the rules of the table's mode it is read
// in (see tableContext), and reports whether it did; false leaves it to
// the rules of a body. The innermost element of its name in table scope
// (down to a table or a template) is closed, and what it holds, an svg
// desc or title included; with none, the end tag is ignored.
func (tr *tree) endTable(name string, kind htmlKind) bool {
	if kind&tablePartKind == 0 && !isName(name, "table") {
		return false
	}
	at, ctx, ok := tr.tableContext()
	if !ok || ctx == "template" {
		return false
	}
	cell := at // a cell or a caption a browser closes first ("</table>" in a td)
	if ctx != "td" && ctx != "th" && ctx != "caption" {
		cell = -1
	}
	for ; at >= 0; at-- {
		switch n := tr.nameAt(at); {
		case isNameFolded(n, name):
			if cell >= 0 {
				tr.closeFrom(cell, true)
			}
			if cell < 0 || at < cell {
				tr.closeFrom(at, false)
			}
			return true
		case isName(n, "table") || isName(n, "template"):
			return true
		}
	}
	return true
}

// closeLink takes in, in HTML content, an a start tag: an a open, with
// no cell, caption, template, applet, object or marquee opened since
// (a marker of the list of active formatting elements), is closed as
// the adoption agency a browser runs then closes it (see adopt). Past
// maxOpen elements open, an a is, alone, when no scope fence (a table
// too) was opened since.
func (tr *tree) closeLink() {
	if tr.over > 0 {
		return
	}
	for i := len(tr.open) - 1; i >= 0; i-- {
		switch e := tr.open[i]; {
		case e.ns != htmlNS:
		case isName(e.name, "a"):
			tr.adoptOpen(i)
			return
		case isMarker(e.name, e.kind):
			return
		}
	}
	if tr.lost {
		if o := tr.outside["a"]; o != nil && o.open > 0 && o.fences == tr.fences {
			tr.closeOpened(o)
		}
		return
	}
	for i := len(tr.stack) - 1; i >= tr.behind; i-- {
		switch e := tr.stack[i]; {
		case e.name == "a":
			tr.adopt(i)
			return
		case isMarker(e.name, e.kind):
			return
		}
	}
}

// isMarker reports whether an HTML element of the name, of that kind,
// puts a marker on the list of active formatting elements: a scope
// fence but a table.
func isMarker(name string, kind htmlKind) bool { return kind&fenceKind != 0 && !isName(name, "table") }

// adopt closes the formatting element at tree.stack[i] as the adoption
// agency a browser runs for its end tag does (WHATWG HTML, 13.2.6.4.7),
// as far as what is open after it: of the elements it holds, the
// special ones (its furthest blocks, up to the eighth) stay open, and so
// do the formatting ones (a browser opens a copy of each again around
// what follows); the others close. Past the eighth special element, what
// that holds stays as it is, and a copy of the element stays open
// around it. Out of scope (a scope fence, a table..., open in it), it
// closes alone.
func (tr *tree) adopt(i int) {
	o := tr.stack[i]
	kept := tr.stack[:i] // written below where the loop has read
	for _, e := range tr.stack[i+1:] {
		if e.kind&fenceKind != 0 { // out of scope: o alone ("<a><table><a>")
			tr.stack = append(kept, tr.stack[i+1:]...)
			tr.closeOpened(o)
			return
		}
	}
	specials, k := 0, i+1
	for ; k < len(tr.stack) && specials < 8; k++ {
		switch e := tr.stack[k]; {
		case e.kind&specialKind != 0:
			specials++
			kept = append(kept, e)
		case e.kind&formattingKind != 0:
			kept = append(kept, e)
		default:
			tr.closeOpened(e)
		}
	}
	if specials == 8 {
		kept = append(kept, o)
	} else {
		tr.closeOpened(o)
	}
	tr.stack = append(kept, tr.stack[k:]...)
}

// adoptOpen closes the HTML formatting element at tree.open[i] as adopt
// closes one of tree.stack: alone when it is out of scope (an
// integration point or a scope fence is open in it).
func (tr *tree) adoptOpen(i int) {
	f := tr.open[i]
	kept, held := tr.open[:i], tr.open[i+1:] // kept is written below where the loops have read
	for _, e := range held {
		if e.role.integration() || e.role == mathTextIntegration || e.ns == mathNS && isName(e.name, "annotation-xml") ||
			e.kind&fenceKind != 0 {
			tr.open = append(kept, held...)
			return
		}
	}
	specials, k := 0, i+1
	for ; k < len(tr.open) && specials < 8; k++ {
		switch e := tr.open[k]; {
		case e.kind&specialKind != 0:
			specials++
			kept = append(kept, e)
		case e.kind&formattingKind != 0:
			kept = append(kept, e)
		default:
			tr.closeElement(e)
		}
	}
	if specials == 8 {
		kept = append(kept, f)
	}
	tr.open = append(kept, tr.open[k:]...)
}
