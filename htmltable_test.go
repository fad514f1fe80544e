package mocksmtp_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/mocksmtp/mocksmtp"
)

// TestLinksAndFindReadATableAroundForeignContentAsABrowserDoes checks an
// svg left open in a table, as a mail's layout table holds an icon: a
// browser reads a cell's or a row's tag, or the table's end tag, by the
// rules of the table, which close what the table part holds, an svg
// title or desc included, so that the next cell's link and code are
// shown; what follows an svg left open in a cell's own HTML is the svg's.
func TestLinksAndFindReadATableAroundForeignContentAsABrowserDoes(t *testing.T) {
	t.Parallel()
	const next = `<a href="https://x.test/b">code 2</a>`
	checkEndTagCases(t, []endTagCase{
		{"a cell's end tag after an svg title", `<table><tr><td><svg><title>Logo</td><td>` + next,
			[]string{"https://x.test/b"}, "2"},
		{"a cell's start tag after an svg desc", `<table><tr><td><svg><desc>Logo<td>` + next,
			[]string{"https://x.test/b"}, "2"},
		{"a row's start tag after an svg title", `<table><tr><td><svg><title>Logo<tr><td>` + next,
			[]string{"https://x.test/b"}, "2"},
		{"a row's end tag after an svg in a div", `<table><tr><td><div><svg><title>Logo</tr>` + next,
			[]string{"https://x.test/b"}, "2"},
		{"the table's end tag after an svg title", `<table><tr><td><svg><title>Logo</table>` + next,
			[]string{"https://x.test/b"}, "2"},
		{"a table's start tag in an svg desc in a table", `<table><svg><desc>Logo<table>` + next,
			[]string{"https://x.test/b"}, "2"},
		{"a cell's start tag after an svg in a foreignObject", `<table><td><svg><foreignObject><svg><g><td>` + svgLink,
			[]string{"https://x.test/a"}, "2"},
		// In a cell, an end tag of HTML's rules stops at the cell.
		{"a foreignObject's end tag in a cell of a table in it", `<table><td><svg><foreignObject><table><td></foreignObject>` + svgLink,
			nil, "1"},
		// By the rules of a cell, a cell's end tag of the other name (a
		// th's in a td) closes nothing.
		{"a th's end tag in a td", `<table><td><svg><desc></th>` + next, nil, ""},
		// A table's part in a foreign element but an integration point is
		// the svg's.
		{"a cell's tag in an svg", `<table><td><svg><td><title>code 1</title></td>` + next, []string{"https://x.test/b"}, "2"},
		// A caption is closed by a table's part, as a cell is.
		{"a caption's end tag after an svg desc", `<table><caption><svg><desc></caption>` + next, []string{"https://x.test/b"}, "2"},
		{"a row's start tag in a caption", `<table><caption><svg><title><tr>` + next, []string{"https://x.test/b"}, "2"},
	})
}

// TestLinksAndFindReadALinkInALinkAsABrowserDoes checks an a start tag
// while an a is open, as a template that forgot an end tag writes it: a
// browser closes the first a (the "adoption agency"), so that one end tag
// closes the second, and no a is left open around an svg after it: a
// stray end tag in that svg closes nothing, and what follows is the
// svg's.
func TestLinksAndFindReadALinkInALinkAsABrowserDoes(t *testing.T) {
	t.Parallel()
	checkEndTagCases(t, []endTagCase{
		{"an a in an a", `<a href="https://x.test/1">Reset <a href="https://x.test/2">here</a><svg></a>` + svgLink,
			[]string{"https://x.test/1", "https://x.test/2", "https://x.test/a"}, "2"},
		{"an a in an a in a span", `<a href="https://x.test/1"><span><a href="https://x.test/2">here</a></span><svg></a>` + svgLink,
			[]string{"https://x.test/1", "https://x.test/2", "https://x.test/a"}, "2"},
		{"an a in an a in a div", `<a href="https://x.test/1"><div><a href="https://x.test/2">here</a></div><svg></a>` + svgLink,
			[]string{"https://x.test/1", "https://x.test/2", "https://x.test/a"}, "2"},
		{"an a in an a in a table", `<a href="https://x.test/1"><table><a href="https://x.test/2">here</a></table><svg></a>` + svgLink,
			[]string{"https://x.test/1", "https://x.test/2", "https://x.test/a"}, "2"},
		// Out of scope (in a table), the first a closes alone: a span
		// in the table stays open, to close an svg.
		{"an a in a span in a table in an a", `<a href="https://x.test/1"><table><span><a href="https://x.test/2">x<svg></span>` + svgLink,
			[]string{"https://x.test/1", "https://x.test/2"}, "1"},
		// A cell holds its own: an a in it leaves the a around the table
		// open, and the end tag in the svg after the table closes it.
		{"an a in a cell in an a", `<a href="https://x.test/1"><table><td><a href="https://x.test/2">here</a></table><svg></a>` + svgLink,
			[]string{"https://x.test/1", "https://x.test/2"}, "1"},
		{"an a in an a in a foreignObject", `<a href="https://x.test/1"><svg><foreignObject><a href="https://x.test/2"></foreignObject></svg><svg></a>` + svgLink,
			[]string{"https://x.test/1", "https://x.test/2"}, "1"},
	})
}

// TestLinksAndFindReadAFormattingElementClosedAroundItAsABrowserDoes
// checks a b or an a left open in a p, a div or a table that an end tag
// closes: a browser opens a copy of it again before what follows (an
// svg), so that its end tag in the svg closes the svg, and what follows
// is HTML; but not out of a cell, which ends what it holds.
func TestLinksAndFindReadAFormattingElementClosedAroundItAsABrowserDoes(t *testing.T) {
	t.Parallel()
	checkEndTagCases(t, []endTagCase{
		{"a b in a p", `<p><b>Reset</p><svg></b>` + svgLink, nil, "1"},
		{"a b in a table", `<table><b>Reset</table><svg></b>` + svgLink, nil, "1"},
		{"an a in a div", `<div><a href="https://x.test/1">Reset</div><svg></a>` + svgLink, []string{"https://x.test/1"}, "1"},
		{"a b in a cell", `<table><td><b>Reset</td></table><svg></b>` + svgLink, []string{"https://x.test/a"}, "2"},
	})
}

// TestLinksAndFindReadALinksEndTagAsABrowserDoes checks an a end tag
// with a span left open in the a, as a template that forgot the span's
// end tag writes it: a browser closes the span with the a (the adoption
// agency), not a block in the a (a div) nor a formatting element (a b,
// which it opens again), so that a span end tag in an svg after it
// closes nothing, and what follows is the svg's.
func TestLinksAndFindReadALinksEndTagAsABrowserDoes(t *testing.T) {
	t.Parallel()
	checkEndTagCases(t, []endTagCase{
		{"a span in an a", `<a href="https://x.test/1"><span>Reset</a><svg></span>` + svgLink,
			[]string{"https://x.test/1", "https://x.test/a"}, "2"},
		{"a span in a div in an a", `<a href="https://x.test/1"><div><span>Reset</a><svg></span>` + svgLink,
			[]string{"https://x.test/1", "https://x.test/a"}, "2"},
		{"a span in an a in an a", `<a href="https://x.test/1"><span>Reset<a href="https://x.test/2">here</a><svg></span>` + svgLink,
			[]string{"https://x.test/1", "https://x.test/2", "https://x.test/a"}, "2"},
		{"a div in an a", `<a href="https://x.test/1"><div><span>Reset</a><svg></div>` + svgLink,
			[]string{"https://x.test/1"}, "1"},
		{"a b in an a", `<a href="https://x.test/1"><b>Reset</a><svg></b>` + svgLink,
			[]string{"https://x.test/1"}, "1"},
		// The same in a foreignObject.
		{"a span in an a in an a in a foreignObject",
			`<svg><foreignObject><a href="https://x.test/1"><span>Reset<a href="https://x.test/2">here</a><svg></span>` + svgLink,
			[]string{"https://x.test/1", "https://x.test/2", "https://x.test/a"}, "2"},
		{"a div in an a in a foreignObject", `<svg><foreignObject><a href="https://x.test/1"><div><span>Reset</a><svg></div>` + svgLink,
			[]string{"https://x.test/1"}, "1"},
	})
}

// TestLinksAndFindReadAFormattingElementBehindAMarkerAsABrowserDoes
// checks an applet, object or marquee in a table (or in a cell) that a
// table's part or end tag closes, not its own end tag: a browser leaves
// its marker on the list of active formatting elements, so that a b or
// an a opened before it is no longer one a browser opens again or an
// end tag of its name finds ("</b>" in an svg after it closes nothing
// when a special element is open between), while one opened after it
// still is.
func TestLinksAndFindReadAFormattingElementBehindAMarkerAsABrowserDoes(t *testing.T) {
	t.Parallel()
	checkEndTagCases(t, []endTagCase{
		{"a b before a marquee a row closes", `<table><b><marquee><tr><svg></b>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a nobr before an applet a col closes", `<table><nobr><applet><col><svg></nobr>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a b before a marquee a caption closes", `<table><b><marquee><caption></caption><svg></b>` + svgLink,
			[]string{"https://x.test/a"}, "2"},
		{"an a before a marquee a colgroup closes", `<table><a href="https://x.test/1"><marquee><colgroup><svg></a>` + svgLink,
			[]string{"https://x.test/1", "https://x.test/a"}, "2"},
		{"an i around a form and a table, a marquee the table's end tag closes", `<i><form><table><marquee></table><svg></i>` + svgLink,
			[]string{"https://x.test/a"}, "2"},
		{"a b around a table, an applet the table's end tag closes, a div", `<b><table><applet></table><div><svg></b>` + svgLink,
			[]string{"https://x.test/a"}, "2"},
		// With no special element between, "</b>" is HTML's "any other
		// end tag", which closes the b and the svg in it.
		{"a b around a table, an applet the table's end tag closes", `<b><table><applet></table><svg></b>` + svgLink, nil, "1"},
		// A b after the marker is opened again, and its end tag closes
		// the svg.
		{"a b after an applet a row closes", `<table><applet><b><tr><svg></b>` + svgLink, nil, "1"},
		{"a b after an object the table's end tag closes", `<table><object><b></table><svg></b>` + svgLink, nil, "1"},
		// A cell's end tag takes the applet's marker off, not the b
		// before it, nor the cell's.
		{"a b before an applet a cell's end tag closes", `<table><tr><td><b><applet></td><svg></b>` + svgLink, nil, "1"},
	})
}

// hostileTreeUnits are shapes of HTML that make a tree walk down its
// stack at each tag: tables and their parts, in and around svg, links in
// links and in tables, spans and blocks left open in formatting
// elements, and end tags that close nothing under deep elements.
var hostileTreeUnits = []string{
	"<table><tr>", "<table><svg><desc><td>", "<caption><svg><title><tr>", "<a><table>", "<a><span></a>", "<b><div><span></b>", "<svg><foreignObject><a><div><span><a></a>",
	"<table>" + strings.Repeat("<div>", 130) + strings.Repeat("</td>", 200),
	"<a>" + strings.Repeat("<div>", 126) + strings.Repeat("<a></b>", 200),
	// Formatting elements behind the marker of an applet or marquee a
	// table's part or end tag closed.
	"<table><b><marquee><tr></b><a>", "<b><table><applet></table><div></b>",
	"<table>" + strings.Repeat("<b><marquee>", 64) + "<tr>" + strings.Repeat("</b><a>", 200),
}

// TestHostileTablesAndLinksAllocateLittle gives Links 1 MiB + 1 of each
// of hostileTreeUnits: each tag is read with a walk down at most the
// elements kept, and no allocation of its own; the test bounds the
// allocations, not the time (BenchmarkLinksOfHostileTrees measures it).
// Not parallel: AllocsPerRun counts every goroutine's allocations.
func TestHostileTablesAndLinksAllocateLittle(t *testing.T) {
	for _, unit := range hostileTreeUnits {
		html := "<p>code 0</p>" + strings.Repeat(unit, (1<<20+1)/len(unit)+1)
		m := &mocksmtp.Message{HTML: html}
		// Links keeps its own state: a few dozen allocations, none per
		// tag.
		if n := testing.AllocsPerRun(1, func() { m.Links() }); n > 100 {
			t.Errorf("%.40q repeated, %d octets: Links made %.0f allocations, want at most 100", unit, len(html), n)
		}
	}
}

// BenchmarkLinksOfHostileTrees measures Links on 1 MiB + 1 of each of
// hostileTreeUnits: linear, as fast per octet as on BenchmarkLinks's
// tags.
func BenchmarkLinksOfHostileTrees(b *testing.B) {
	for i, unit := range hostileTreeUnits {
		html := strings.Repeat(unit, (1<<20+1)/len(unit)+1)
		m := &mocksmtp.Message{HTML: html}
		b.Run(strconv.Itoa(i), func(b *testing.B) {
			b.SetBytes(int64(len(html)))
			b.ReportAllocs()
			for b.Loop() {
				m.Links()
			}
		})
	}
}
