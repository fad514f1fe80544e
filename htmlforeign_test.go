package mocksmtp_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
)

// TestLinksAndFindReadForeignContentAsABrowserDoes checks svg and math in
// an HTML body, which a browser reads by the rules of foreign content: a
// CDATA section is text there (a bogus comment in HTML), a script, style
// or title holds markup, not raw text, and HTML start tags such as p or
// b break out of it; within a foreignObject or a math mi, HTML is read
// again. A link a browser shows must be in Links, and a code in Find; a
// link it does not show must not be.
func TestLinksAndFindReadForeignContentAsABrowserDoes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		html      string
		wantLinks []string
		wantFind  string // Find(`code:? (\d+)`)
	}{
		{"a CDATA section in an svg",
			`<svg><![CDATA[ a > b <script> ]]></svg><a href="https://x.test/a">code 1</a>`,
			[]string{"https://x.test/a"}, "1"},
		{"a CDATA section in a math mo",
			`<math><mo><![CDATA[><a href="https://evil.test/">code 2]]></mo></math>`,
			nil, "2"},
		{"a CDATA section in an svg path whose value ends in a slash",
			`<svg><path d=M0/><![CDATA[><a href="https://evil.test/">]]></path></svg><p>code 3`,
			nil, "3"},
		{"a CDATA section in a foreignObject",
			`<svg><foreignObject><![CDATA[><a href="https://evil.test/">code 4]]></foreignObject></svg>`,
			nil, "4"},
		{"a CDATA section in a font without color, face or size",
			`<svg><font x=1><![CDATA[><a href="https://evil.test/">code 5]]></font></svg>`,
			nil, "5"},
		{"a stray end tag in an svg",
			`<svg></span><![CDATA[><a href="https://evil.test/">code 6]]></svg>`,
			nil, "6"},
		// HTML again: a CDATA section is a bogus comment, to its first ">".
		{"a CDATA section after a self-closed svg",
			`<svg/><![CDATA[><a href="https://x.test/b">code 1]]>`,
			[]string{"https://x.test/b"}, "1"},
		{"a CDATA section after a breakout",
			`<svg><g><p><![CDATA[><a href="https://x.test/c">code 2]]>`,
			[]string{"https://x.test/c"}, "2"},
		{"a CDATA section after a font with a color",
			`<svg><font color=red><![CDATA[><a href="https://x.test/d">code 3]]>`,
			[]string{"https://x.test/d"}, "3"},
		{"a CDATA section in a div in a foreignObject",
			`<svg><foreignObject><div><![CDATA[><a href="https://x.test/e">code 4]]></div></foreignObject></svg>`,
			[]string{"https://x.test/e"}, "4"},
		{"a CDATA section after an end tag that closes an svg",
			`<div><svg><g></div><![CDATA[><a href="https://x.test/f">code 5]]>`,
			[]string{"https://x.test/f"}, "5"},
		{"a CDATA section after an end p in an svg",
			`<svg><g></p><![CDATA[><a href="https://x.test/g">code 6]]>`,
			[]string{"https://x.test/g"}, "6"},
		// A script, style, title or iframe in an svg is no raw text: its
		// end is the end of the svg too.
		{"a style left open in an svg",
			`<svg><style>.a{}</svg><a href="https://x.test/h">code 7</a>`,
			[]string{"https://x.test/h"}, "7"},
		{"a title left open in an svg",
			`<svg><title>Logo</svg><a href="https://x.test/i">code 8</a>`,
			[]string{"https://x.test/i"}, "8"},
		{"an iframe in an svg",
			`<svg><iframe></iframe></svg><a href="https://x.test/j">code 9</a>`,
			[]string{"https://x.test/j"}, "9"},
		// An svg script, style, title or desc renders nothing of what it
		// holds, markup or a CDATA section.
		{"a code in an svg style",
			`<svg><style><![CDATA[ .c { fill: #123456 } /* code 1 */ ]]></style></svg><p>code 2`,
			nil, "2"},
		{"a link in an svg script",
			`<svg><script><a href="https://evil.test/">code 1</a></script></svg><p>code 3`,
			nil, "3"},
		{"a link in an svg title",
			`<svg><title><a href="https://evil.test/">code 1</a></title><desc><div>code 1</div></desc></svg>code 4`,
			nil, "4"},
		// HTML in an svg foreignObject, a math mi: its script is raw text.
		{"a script in a foreignObject",
			`<svg><foreignObject><script><a href="https://evil.test/"></script><a href="https://x.test/k">code 5</a></foreignObject></svg>`,
			[]string{"https://x.test/k"}, "5"},
		{"a script in a math mi",
			`<math><mi><script><a href="https://evil.test/"></script></mi><mn>code 6</mn></math>`,
			nil, "6"},
		{"a style in a math annotation-xml of HTML",
			`<math><annotation-xml encoding="TEXT/HTML"><style><a href="https://evil.test/"></style>code 7</annotation-xml></math>`,
			nil, "7"},
		// An svg a is a link: its href, or else its xlink:href (SVG 2).
		// An svg area, an HTML a's xlink:href are none.
		{"an svg a",
			`<svg><a xlink:href="https://x.test/l"><text>l</text></a><a href="https://x.test/m" xlink:href="https://x.test/old">` +
				`<text>m</text></a><area href="https://evil.test/"/></svg><a xlink:href="https://evil.test/b">b</a>`,
			[]string{"https://x.test/l", "https://x.test/m"}, ""},
	}
	for _, tc := range tests {
		m := &mocksmtp.Message{HTML: tc.html}
		if diff := cmp.Diff(tc.wantLinks, m.Links()); diff != "" {
			t.Errorf("%s: Links of %q (-want +got):\n%s", tc.name, tc.html, diff)
		}
		if got := m.Find(regexp.MustCompile(`code:? (\d+)`)); got != tc.wantFind {
			t.Errorf("%s: Find in %q = %q, want %q", tc.name, tc.html, got, tc.wantFind)
		}
	}
}

// TestFindReadsANulInForeignContentAsABrowserDoes checks a NUL octet in
// the text of an svg: a browser shows U+FFFD for it there (it drops one
// from HTML's text), so that "co\x00de 1" is no "code 1".
func TestFindReadsANulInForeignContentAsABrowserDoes(t *testing.T) {
	t.Parallel()
	all := regexp.MustCompile(`(?s)\A(.+)\z`)
	m := &mocksmtp.Message{HTML: "a\x00b<svg><text>c\x00d<![CDATA[e\x00f]]></text><foreignObject>g\x00h</foreignObject></svg>"}
	if got, want := m.Find(all), "ab"+"c\uFFFDd"+"e\uFFFDf"+"gh"; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
}

// TestLinksAndFindReadATemplateAsABrowserDoes checks a template, whose
// content a browser renders nothing of: its links are none, its codes
// not found; what follows it is read.
func TestLinksAndFindReadATemplateAsABrowserDoes(t *testing.T) {
	t.Parallel()
	m := &mocksmtp.Message{HTML: `<template><a href="https://evil.test/">code 1</a><template>code 1</template>code 1</template>` +
		`<a href="https://x.test/a">code 2</a></template><svg><foreignObject><template><a href="https://evil.test/b">code 1</a>`}
	if diff := cmp.Diff([]string{"https://x.test/a"}, m.Links()); diff != "" {
		t.Errorf("Links (-want +got):\n%s", diff)
	}
	if got := m.Find(regexp.MustCompile(`code (\d+)`)); got != "2" {
		t.Errorf("Find = %q, want %q", got, "2")
	}
}

// TestLinksOfDeepForeignContent nests svg elements 1 to 1 MiB + 1 octets
// deep, around the depth Links and Find keep the elements of (past it,
// they count them), then closes them: the CDATA section in the innermost
// is text, and what follows them HTML, read in linear time; and gives them
// 1 MiB + 1 of end tags that close nothing, each read without a walk down
// more than the elements kept.
func TestLinksOfDeepForeignContent(t *testing.T) {
	t.Parallel()
	const keep = 128 // maxOpen
	var docs []string
	for _, depth := range []int{1, keep - 1, keep, keep + 1, 2 * keep, (1<<20+1)/len("<g>") + 1} {
		docs = append(docs, "<svg>"+strings.Repeat("<g>", depth-1)+`<![CDATA[><a href="https://evil.test/">]]>`+strings.Repeat("</g>", depth-1)+
			`</svg><script><a href="https://evil.test/b"></script><a href="https://x.test/a">code 1</a>`)
	}
	docs = append(docs, "<svg><foreignObject><div><svg>"+strings.Repeat("<g>", keep-4)+strings.Repeat("</x>", (1<<20+1)/len("</x>")+1)+
		`<![CDATA[><a href="https://evil.test/">]]></div></foreignObject></svg><a href="https://x.test/a">code 1</a>`)
	for _, html := range docs {
		depth := strings.Count(html, "<g>") + 1
		m := &mocksmtp.Message{HTML: html}
		done := make(chan []string, 1)
		go func() {
			m.Find(regexp.MustCompile(`code (\d+)`))
			done <- m.Links()
		}()
		select {
		case got := <-done:
			if diff := cmp.Diff([]string{"https://x.test/a"}, got); diff != "" {
				t.Errorf("svg %d deep: Links (-want +got):\n%s", depth, diff)
			}
		case <-time.After(hostileBound):
			t.Fatalf("svg %d deep: Links and Find still running after %v", depth, hostileBound)
		}
	}
}

// svgLink follows an svg's start tag in the tests of an end tag in it:
// in an svg, a textarea holds markup (an svg a is a link) and a title
// renders nothing; in HTML, both hold text.
const svgLink = `<textarea><a href="https://x.test/a"><text>a</text></a></textarea><title>code 1</title></svg>code 2`

// endTagCase is a document, the links and code (Find(`code (\d+)`)) a
// browser shows of it.
type endTagCase struct {
	name, html string
	wantLinks  []string
	wantFind   string
}

// checkEndTagCases checks Links and Find of each of the documents.
func checkEndTagCases(t *testing.T, tests []endTagCase) {
	t.Helper()
	for _, tc := range tests {
		m := &mocksmtp.Message{HTML: tc.html}
		if diff := cmp.Diff(tc.wantLinks, m.Links()); diff != "" {
			t.Errorf("%s: Links of %q (-want +got):\n%s", tc.name, tc.html, diff)
		}
		if got := m.Find(regexp.MustCompile(`code (\d+)`)); got != tc.wantFind {
			t.Errorf("%s: Find in %q = %q, want %q", tc.name, tc.html, got, tc.wantFind)
		}
	}
}

// TestLinksAndFindReadAnEndTagOfAnotherNameAroundForeignContent checks
// an end tag in an svg that matches no element in it: a browser closes
// the svg only when an element of exactly that name is open around it,
// so that what follows is HTML; a tag of another name closes nothing,
// however alike its name, and what follows is the svg's.
func TestLinksAndFindReadAnEndTagOfAnotherNameAroundForeignContent(t *testing.T) {
	t.Parallel()
	checkEndTagCases(t, []endTagCase{
		{"a listing around, a table ended", `<listing><svg></table>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a custom element around, a div ended", `<x-217><svg></div>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a custom element around, a b ended", `<x-9><svg></b>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a custom element around, its end tag in upper case", `<x-217><svg></X-217>` + svgLink, nil, "1"},
		{"a table around", `<table><td><div><svg></div>` + svgLink, nil, "1"},
		{"a listing around", `<LISTING><svg></listing>` + svgLink, nil, "1"},
	})
}

// TestLinksAndFindReadAnEndTagBehindASpecialElementInForeignContent
// checks an end tag in an svg in the HTML of a foreignObject or of a math
// annotation-xml: HTML's rules find an element of its name only down to
// a special element (div, li, an annotation-xml...) for a name of none
// (span), only down to a scope fence (object, td...) for a special one
// (div). Past it, the end tag closes nothing, and what follows is the
// svg's.
func TestLinksAndFindReadAnEndTagBehindASpecialElementInForeignContent(t *testing.T) {
	t.Parallel()
	checkEndTagCases(t, []endTagCase{
		{"a span behind a div", `<svg><foreignObject><span><div><svg></span>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a span behind an annotation-xml", `<math><annotation-xml encoding=text/html><span><math><annotation-xml><svg></span>` + svgLink,
			[]string{"https://x.test/a"}, "2"},
		{"a div behind an object", `<svg><foreignObject><div><object><svg></div>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a span behind an em", `<svg><foreignObject><span><em><svg></span>` + svgLink, nil, "1"},
		{"a div behind a ul", `<svg><foreignObject><div><ul><svg></div>` + svgLink, nil, "1"},
		// An end tag ignored behind a special element leaves its element
		// open, to close an svg later.
		{"a span's end tag behind a p", `<span><p></span></p><svg></span>` + svgLink, nil, "1"},
	})
}

// TestLinksAndFindReadAFormAroundForeignContentAsABrowserDoes checks a
// form's end tag in an svg: a browser removes the form from its stack of
// open elements, not what the form holds, so that the svg stays open;
// and a form start tag in a form, which a browser ignores.
func TestLinksAndFindReadAFormAroundForeignContentAsABrowserDoes(t *testing.T) {
	t.Parallel()
	checkEndTagCases(t, []endTagCase{
		{"a form around", `<form><svg></form>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a form in a foreignObject", `<svg><foreignObject><form><svg></form>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a form ended before", `<form></form><svg></form>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a form in a form", `<form><svg><desc><form></desc><title>code 1</title></svg><a href="https://x.test/b">code 2</a>`,
			[]string{"https://x.test/b"}, "2"},
		{"a div around a form", `<div><form><svg></div>` + svgLink, nil, "1"},
		{"a form in a template in a form", `<form><template><form><svg></form>` + svgLink, nil, ""},
	})
}

// TestLinksAndFindReadAHeadingOrListItemAroundForeignContentAsABrowserDoes
// checks the end tags HTML matches by rules of their own: a heading's end
// tag ends any heading ("</h1>" an h2), and an li's end tag finds an li
// only down to a ul or an ol.
func TestLinksAndFindReadAHeadingOrListItemAroundForeignContentAsABrowserDoes(t *testing.T) {
	t.Parallel()
	checkEndTagCases(t, []endTagCase{
		{"an h2 around, an h1 ended", `<h2><svg></h1>` + svgLink, nil, "1"},
		{"an h3 in a foreignObject, an h4 ended", `<svg><foreignObject><h3><svg></H4>` + svgLink, nil, "1"},
		{"an li behind a ul", `<li><ul><svg></li>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"an li behind an ol in a foreignObject", `<svg><foreignObject><li><ol><svg></li>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"an li behind a div", `<li><div><svg></li>` + svgLink, nil, "1"},
		{"an h2 around, a p ended", `<h2><svg></hr>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"an h3 ended by an h1 end tag", `<h3></h1><svg></h2>` + svgLink, []string{"https://x.test/a"}, "2"},
	})
}

// TestLinksAndFindReadAParagraphBehindAButtonInForeignContent checks a
// p end tag in a foreignObject: HTML finds a p in button scope, which
// ends at a button; past it, the end tag closes nothing, the button
// stays open, and the foreignObject's end tag closes nothing either.
func TestLinksAndFindReadAParagraphBehindAButtonInForeignContent(t *testing.T) {
	t.Parallel()
	checkEndTagCases(t, []endTagCase{
		{"a p behind a button", `<svg><foreignObject><p><button></p></foreignObject>` + svgLink, nil, "1"},
		{"a p behind a span", `<svg><foreignObject><p><span></p></foreignObject>` + svgLink, []string{"https://x.test/a"}, "2"},
	})
}

// TestLinksAndFindReadANoscriptOfTheHeadAsABrowserDoes checks a
// noscript before any body content: a browser, scripting off, puts it
// in the head, and the next tag of the body (an svg) closes it, so that
// its end tag closes nothing and what follows is the svg's; after the
// head's end tag, or after body content, a noscript is the body's, and
// its end tag closes the svg in it.
func TestLinksAndFindReadANoscriptOfTheHeadAsABrowserDoes(t *testing.T) {
	t.Parallel()
	checkEndTagCases(t, []endTagCase{
		{"a noscript first", `<noscript><svg></noscript>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a noscript in a head", "<!DOCTYPE html><html><head><title>t</title><meta charset=utf-8>\r\n <noscript><link rel=x><style>p{}</style> <svg></noscript>" + svgLink,
			[]string{"https://x.test/a"}, "2"},
		{"a noscript after a space reference", `&#32;<noscript><svg></noscript>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a noscript in a noscript", `<noscript><noscript><head><svg></noscript>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a noscript's end tag, another", `<noscript></noscript><noscript><svg></noscript>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a noscript closed by a title", `<noscript><title>t</title><p><svg></noscript>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a noscript closed by text, another", `<noscript>x<noscript><svg></noscript>` + svgLink, nil, "1"},
		{"a noscript after the head", `<head></head><noscript><svg></noscript>` + svgLink, nil, "1"},
		{"a noscript after a br end tag", `</br><noscript><svg></noscript>` + svgLink, nil, "1"},
		{"a noscript after a body", `<body><noscript><svg></noscript>` + svgLink, nil, "1"},
		{"a noscript after text", `hi <noscript><svg></noscript>` + svgLink, nil, "1"},
		{"a noscript after a p", `<p><noscript><svg></noscript>` + svgLink, nil, "1"},
		{"a noscript after a template", `<template>x</template><noscript><svg></noscript>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a noscript after 1 MiB of the head", strings.Repeat("<noscript><link> &#32;</noscript>", (1<<20+1)/len("<noscript><link> &#32;</noscript>")+1) +
			`<noscript><svg></noscript>` + svgLink, []string{"https://x.test/a"}, "2"},
	})
}

// TestLinksOfAMathMLAnchor checks the href of an a in a math, which
// Firefox follows (Chrome and Safari do not): Links reports it, as its
// doc says, so that a test sees a link some readers can click.
func TestLinksOfAMathMLAnchor(t *testing.T) {
	t.Parallel()
	m := &mocksmtp.Message{HTML: `<math><a href="https://x.test/m"><mi>x</mi></a></math>`}
	if diff := cmp.Diff([]string{"https://x.test/m"}, m.Links()); diff != "" {
		t.Errorf("Links (-want +got):\n%s", diff)
	}
}

// TestLinksAndFindReadImpliedEndTagsAroundForeignContent checks the
// start tags that close an element a browser has open: a block (hr,
// center, div...) a p, a heading a heading, an li an li, a dd or dt a dd
// or dt. What they close, an end tag of its name no longer closes an
// svg after them; what they leave open, it still does.
func TestLinksAndFindReadImpliedEndTagsAroundForeignContent(t *testing.T) {
	t.Parallel()
	checkEndTagCases(t, []endTagCase{
		{"an h2 closed by an h3", `<h2><h3></h3><svg></h2>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"an h1 closed by an h2", `<h1><h2></h2><svg></h1>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"an li closed by an li", `<li><li></li><svg></li>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a dd closed by a dt", `<dd><dt></dt><svg></dd>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a dt closed by a dd behind a div", `<dl><dt><div><dd></dd><svg></dt>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a p closed by an hr, a span around", `<span><p><hr><svg></span>` + svgLink, nil, "1"},
		{"a p closed by a center", `<x-1><p>x<center></center><svg></x-1>` + svgLink, nil, "1"},
		{"a p closed by a div", `<x-1><p>x<div></div><svg></x-1>` + svgLink, nil, "1"},
		{"an li and a span closed by an li", `<ul><li><span>a<li><svg></span>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"an h2 closed by an h3, a custom element around", `<x-1><h2><h3><svg></x-1>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a p around a table (quirks mode)", `<x-1><p><table></table><svg></x-1>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a p behind a button", `<x-1><p><button><div></div></button><svg></x-1>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a b around a p closed by a div", `<b><p><div><svg></b>` + svgLink, nil, "1"},
		{"a ul's end tag past a template", `<dd><ul><template></ul><a href="https://x.test/b">code 3</a>`, nil, ""},
	})
}

// TestLinksAndFindReadImpliedEndTagsUnderDeepHTML checks the bound on
// the HTML elements whose implied end tags Links and Find follow: up to
// 128 (maxOpen) open around them, a browser's reading; past it, none
// are followed (an h3 no longer closes the h2, whose end tag then closes
// the svg), in linear time however many are open.
func TestLinksAndFindReadImpliedEndTagsUnderDeepHTML(t *testing.T) {
	t.Parallel()
	const keep = 128 // maxOpen
	for _, depth := range []int{1, keep - 1, keep, keep + 1, 2 * keep, (1<<20+1)/len("<x-1>") + 1} {
		// depth elements open, with the h2.
		m := &mocksmtp.Message{HTML: strings.Repeat("<x-1>", depth-1) + `<h2><h3></h3><svg></h2>` + svgLink}
		want, wantFind := []string{"https://x.test/a"}, "2"
		if depth > keep {
			want, wantFind = nil, "1"
		}
		done := make(chan string, 1)
		var got []string
		go func() {
			got = m.Links()
			done <- m.Find(regexp.MustCompile(`code (\d+)`))
		}()
		select {
		case find := <-done:
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%d open: Links (-want +got):\n%s", depth, diff)
			}
			if find != wantFind {
				t.Errorf("%d open: Find = %q, want %q", depth, find, wantFind)
			}
		case <-time.After(hostileBound):
			t.Fatalf("%d open: Links and Find still running after %v", depth, hostileBound)
		}
	}
}

// TestLinksAndFindReadAPartOfATableOutsideATable checks a td, tr,
// caption... start tag with no table open, which a browser ignores: its
// end tag then closes no svg, and an element around it is no farther
// than before it; in a table, it is open.
func TestLinksAndFindReadAPartOfATableOutsideATable(t *testing.T) {
	t.Parallel()
	checkEndTagCases(t, []endTagCase{
		{"a td", `<x-1><td><svg></td>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a tr", `<x-1><TR><svg></tr>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a caption", `<x-1><caption><svg></caption>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a tbody", `<x-1><tbody><svg></tbody>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a td in a div", `<div><td><svg></div>` + svgLink, nil, "1"},
		{"a td in a span", `<span><td><svg></span>` + svgLink, nil, "1"},
		{"a td in a table", `<table><td><x-1><svg></td>` + svgLink, nil, "1"},
		{"a td after a table", `<table></table><x-1><td><svg></td>` + svgLink, []string{"https://x.test/a"}, "2"},
		{"a td in an svg desc", `<svg><desc><td></svg><svg><a href="https://x.test/a">code 2</a></svg>`, []string{"https://x.test/a"}, "2"},
		{"a td in a table in a foreignObject", `<svg><foreignObject><table><td><svg></foreignObject>` + svgLink, []string{"https://x.test/a"}, "2"},
	})
}
