package mocksmtp_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
)

const findAlternative = `From: app@example.com
To: bob@example.com
Subject: Confirm your address
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Confirm your address (https://app.example.com/confirm?token=3Dabc&u=3D1), or
see <https://app.example.com/help>. Your code: 481516.
Docs: https://en.example.org/wiki/Mail_(protocol).
--alt
Content-Type: text/html; charset=utf-8

<html><head><style>p { color: #123456 }</style></head><body>
<p>Please <a class="btn" href="https://app.example.com/confirm?token=abc&amp;u=1">confirm</a>
or read <A HREF='https://app.example.com/help'>the help</A>.</p>
<p>Your code: <b>481&#53;16</b></p>
<p><a href=mailto:help@example.com>Mail us</a></p>
</body></html>
--alt--
`

const findHTMLOnly = `From: app@example.com
To: bob@example.com
Subject: Code
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<div style="color:#654321">Your code is <strong>271828</strong>.</div>
`

func findMessages(t *testing.T) (alt, htmlOnly *mocksmtp.Message) {
	t.Helper()
	srv := mocksmtp.Start(t)
	expSend(t, srv.Addr(), "app@example.com", []string{"bob@example.com"}, findAlternative)
	expSend(t, srv.Addr(), "app@example.com", []string{"bob@example.com"}, findHTMLOnly)
	msgs := srv.WaitForMessages(t, 2)
	return msgs[0], msgs[1]
}

func TestMessageLinks(t *testing.T) {
	t.Parallel()
	alt, htmlOnly := findMessages(t)
	want := []string{
		"https://app.example.com/confirm?token=abc&u=1", // entity decoded, and in the text too: once
		"https://app.example.com/help",
		"mailto:help@example.com",
		"https://en.example.org/wiki/Mail_(protocol)", // balanced parenthesis kept, final period dropped
	}
	if diff := cmp.Diff(want, alt.Links()); diff != "" {
		t.Errorf("Links (-want +got):\n%s", diff)
	}
	if got := htmlOnly.Links(); len(got) != 0 {
		t.Errorf("Links of a message without links = %q", got)
	}
}

func TestMessageFind(t *testing.T) {
	t.Parallel()
	alt, htmlOnly := findMessages(t)
	tests := []struct {
		name string
		m    *mocksmtp.Message
		re   string
		want string
	}{
		{"whole match in the text", alt, `\b\d{6}\b`, "481516"},
		{"first group", alt, `code: (\d+)`, "481516"},
		{"link by regexp", alt, `https://\S+/confirm\?token=(\w+)`, "abc"},
		{"text of the HTML, not its styles", htmlOnly, `\b\d{6}\b`, "271828"},
		{"entities decoded in the HTML", htmlOnly, `code is (\d+)`, "271828"},
		{"no match", alt, `\d{9}`, ""},
	}
	for _, tc := range tests {
		if got := tc.m.Find(regexp.MustCompile(tc.re)); got != tc.want {
			t.Errorf("%s: Find(%q) = %q, want %q", tc.name, tc.re, got, tc.want)
		}
	}
}

// FuzzMessageLinks checks that Links and Find take any bodies: no panic,
// no empty or repeated link.
func FuzzMessageLinks(f *testing.F) {
	f.Add("see https://x.test/a.", `<a href="https://x.test/b?c=1&amp;d=2">b</a>`)
	f.Add("(https://x.test/w_(x)))", "<A HREF='y'>y</A><a href=z>")
	f.Add("http://", "<a href=\"\"><!-- <a href=x> --><script>1</script>")
	code := regexp.MustCompile(`(\d{6})`)
	f.Fuzz(func(t *testing.T, text, html string) {
		m := &mocksmtp.Message{Text: text, HTML: html}
		seen := make(map[string]bool)
		for _, l := range m.Links() {
			if l == "" || seen[l] {
				t.Fatalf("Links() = %q: empty or repeated %q", m.Links(), l)
			}
			seen[l] = true
		}
		m.Find(code)
	})
}

// TestLinksOfAHostileURLTakeLinearTime sends a text body whose one URL ends
// in 1 MiB + 1 closing parentheses, quoted-printable with soft line breaks
// so that every line on the wire is short: Links, which drops the closing
// brackets a URL did not open, must answer at once, not count the brackets
// again for each one it drops.
func TestLinksOfAHostileURLTakeLinearTime(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	parens := strings.Repeat(")", 1<<20+1)
	var body strings.Builder
	body.WriteString("see http://x.test/a")
	for s := parens; s != ""; {
		n := min(len(s), 75)
		body.WriteString(s[:n] + "=\n")
		s = s[n:]
	}
	expSend(t, srv.Addr(), "app@example.com", []string{"bob@example.com"},
		"Subject: parens\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n"+body.String()+"\n")
	m := srv.WaitForMessages(t, 1)[0]
	if !strings.HasSuffix(strings.TrimSuffix(m.Text, "\n"), parens) {
		t.Fatalf("Text ends with %q, want the %d parentheses", m.Text[max(0, len(m.Text)-20):], len(parens))
	}
	done := make(chan []string, 1)
	go func() { done <- m.Links() }()
	select {
	case got := <-done:
		if diff := cmp.Diff([]string{"http://x.test/a"}, got); diff != "" {
			t.Errorf("Links (-want +got):\n%s", diff)
		}
	case <-time.After(hostileBound):
		t.Fatalf("Links of a URL with %d closing parentheses still running after %v", len(parens), hostileBound)
	}
}

// TestLinksOfAHostileTagAllocateLittle sends an HTML body whose one link
// has 1 MiB + 1 octets of attributes before its href (a blank between
// each, a line break every 900 octets): Links finds the href in one pass
// that allocates next to nothing. Before, a regular expression's FindAll
// made a slice for each of the half a million attributes (140 MB and
// seconds, for a message of 1 MiB; GET /api/messages/{id}/links of a
// message of 10 MiB, the default limit, made the program allocate 1.4 GB).
// Not parallel: AllocsPerRun counts every goroutine's allocations.
func TestLinksOfAHostileTagAllocateLittle(t *testing.T) {
	srv := mocksmtp.Start(t)
	var attrs strings.Builder
	for attrs.Len() < 1<<20+1 {
		attrs.WriteString(strings.Repeat("x ", 450) + "\n")
	}
	expSend(t, srv.Addr(), "app@example.com", []string{"bob@example.com"},
		"Subject: attributes\nContent-Type: text/html\n\n<a "+attrs.String()+"href=\"https://x.test/a\">a</a>\n")
	m := srv.WaitForMessages(t, 1)[0]
	if got := m.Links(); !slices.Equal(got, []string{"https://x.test/a"}) {
		t.Fatalf("Links() = %q, want [https://x.test/a]", got)
	}
	if n := testing.AllocsPerRun(1, func() { m.Links() }); n > 100 {
		t.Errorf("Links of a tag of %d octets of attributes: %.0f allocations, want at most 100", attrs.Len(), n)
	}
}

// hostileBound is how long a view of a hostile message may take before a
// test calls it a hang: a bound, not a measure of speed (benchmarks
// measure), far above what a linear pass over 1 MiB takes on a loaded
// machine with the race detector (about a second), far below what a
// quadratic one takes (hours).
const hostileBound = time.Minute

// TestFindInHTMLLeftOpenTakesLinearTime sends HTML whose comments,
// scripts or styles are all left open, 1 MiB + 1 of them: Find, which
// drops them to read the text, must answer at once, and find nothing in
// what a browser would not show.
func TestFindInHTMLLeftOpenTakesLinearTime(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	units := []string{"<!--<b>code 1</b>\n", "<script><b>code 2</b>\n", "<STYLE><b>code 3</b>\n",
		"<!-- -- - --!><!---->\n",                                        // closed, each end found without a scan to the end of the body
		"<i a=\"<b>code 4</b>\n", "<i a='\n", "<a title=\"<script>\">\n", // quotes paired across units, or left open
		"<b x=\"x>\"code 5\n"} // every ">" in a quoted value: each tag's values pair to the end of the body
	for _, unit := range units {
		html := strings.Repeat(unit, (1<<20+1)/len(unit)+1)
		expSend(t, srv.Addr(), "app@example.com", []string{"bob@example.com"},
			"Subject: left open\nContent-Type: text/html\n\n<p>code 0</p>\n"+html)
	}
	code := regexp.MustCompile(`code (\d+)`)
	for i, m := range srv.WaitForMessages(t, len(units)) {
		done := make(chan string, 1)
		go func() { done <- m.Find(code) }()
		select {
		case got := <-done:
			if got != "0" {
				t.Errorf("%q left open: Find = %q, want %q", units[i], got, "0")
			}
		case <-time.After(hostileBound):
			t.Fatalf("%q left open, %d octets of HTML: Find still running after %v", units[i], len(m.HTML), hostileBound)
		}
	}
}

// TestFindDropsCommentsScriptsAndStyles checks what Find reads of an
// HTML body: not its comments, scripts and styles, closed or left open,
// in any case.
func TestFindDropsCommentsScriptsAndStyles(t *testing.T) {
	t.Parallel()
	tests := []struct{ html, want string }{
		{"<!-- code 1 -->code 2", "2"},
		{"<Script type=x>code 1</SCRIPT >code 2", "2"},
		{"<style>p{} code 1</style>code 2", "2"},
		{"<scripts>code 1</scripts>", "1"}, // no script element
		{"code 2<!-- code 1", "2"},
		{"<script>code 1</script", ""},
		{"<p>code <b>3</b></p>", "3"},
		// A comment ends as a browser ends it (HTML's comment states):
		// "<!-->" and "<!--->" are empty comments, "--!>" ends one too.
		{"<!-->code 2", "2"},
		{"<!--->code 2", "2"},
		{"<!-- code 1 --!>code 2", "2"},
		{"<!--[if !mso]><!-->code 2<!--<![endif]-->", "2"}, // Outlook's conditional comment
		// A tag's name ends at a space, "/" or ">" only: "<style-x>" is
		// another element (a custom one), no style.
		{"<style-x>code 2</style-x>", "2"},
		{"<script:x>code 2", "2"},
		{"<script\tsrc=x>code 1</script>code 2", "2"},
		{"<style/>code 1</style>code 2", "2"},
		{"<script>code 1</scripts>code 1</script>code 2", "2"}, // no end of the script
		{"<style>code 1</style-x>code 1</STYLE\n>code 2", "2"},
	}
	for _, tc := range tests {
		m := &mocksmtp.Message{HTML: tc.html}
		if got := m.Find(regexp.MustCompile(`code (\d+)`)); got != tc.want {
			t.Errorf("HTML %q: Find = %q, want %q", tc.html, got, tc.want)
		}
	}
}

// TestLinksAndFindReadTagsAsABrowserDoes checks the HTML a browser would
// read otherwise than a naive scan: a ">" inside a quoted attribute value
// does not end the tag, an "href=" inside one is no attribute, and a
// commented-out link is no link.
func TestLinksAndFindReadTagsAsABrowserDoes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		html      string
		wantLinks []string
		wantFind  string // Find(`code:? (\d+)`)
	}{
		{"a > in a quoted attribute before href",
			`<a title="Next >" href="https://x.test/next">next</a> <a data-x='a>b' href=https://x.test/b>b</a>`,
			[]string{"https://x.test/next", "https://x.test/b"}, ""},
		{"href= inside an attribute value",
			`<a title=" href=https://evil.test/" href="https://x.test/real">real</a>`,
			[]string{"https://x.test/real"}, ""},
		{"commented-out link",
			`<!-- <a href="https://old.test/reset">old</a> --><a href="https://x.test/reset">reset</a>`,
			[]string{"https://x.test/reset"}, ""},
		{"a code in an attribute is no text",
			`<img alt="> code 999999"><p>code: 123456</p>`,
			nil, "123456"},
		// An attribute's value is no markup: a "<script>", "<style>" or
		// "<!--" in one hides nothing that follows.
		{"a script tag in an attribute value",
			`<img alt="<script>"><p>code: 123456</p><a href="https://x.test/a">a</a>`,
			[]string{"https://x.test/a"}, "123456"},
		{"a comment's start in an attribute value",
			`<a title='<!--' href="https://x.test/b">b</a> code: 42 <a href=https://x.test/c>-->c</a>`,
			[]string{"https://x.test/b", "https://x.test/c"}, "42"},
		// A quote left open in a tag pairs with the next one, past ">",
		// as in a browser: the script it spans is in the tag, not text,
		// whatever Links and Find read it with.
		{"a quoted value past a script",
			`<p title="x>hi</p><script>var s = "code: 999999";</script><p>code: 123456</p>`,
			nil, "123456"},
		// A tag that no ">" ends (a quoted value left open) runs to the
		// end of the body, and shows none of it.
		{"a tag left open to the end",
			`<a x="<script>code: 999999</script>`,
			nil, ""},
		// A quote opens a value only after "=": an apostrophe in a name
		// or a bare value is a letter, and hides nothing.
		{"an apostrophe in a bare value",
			`<img alt=Don't src=x.png><p>code: 123456</p><p>Don't share it.</p><a href="https://x.test/a">a</a>`,
			[]string{"https://x.test/a"}, "123456"},
		{"a quote in an attribute's name",
			`<p class="x" "><p>code: 42</p><a title="t" href=https://x.test/b>b</a>`,
			[]string{"https://x.test/b"}, "42"},
		{"a style tag in an end tag's attribute",
			`<b>x</b title="<style>"><p>code 7</p>`,
			nil, "7"},
	}
	for _, tc := range tests {
		m := &mocksmtp.Message{HTML: tc.html}
		if diff := cmp.Diff(tc.wantLinks, m.Links()); diff != "" {
			t.Errorf("%s: Links (-want +got):\n%s", tc.name, diff)
		}
		if got := m.Find(regexp.MustCompile(`code:? (\d+)`)); got != tc.wantFind {
			t.Errorf("%s: Find = %q, want %q", tc.name, got, tc.wantFind)
		}
	}
}

// TestLinksReadMarkupAsABrowserDoes checks Links and Find on HTML that an
// attacker writes so that a scan of its own reads a link, or a code, where
// a browser shows text or nothing: what a browser hides is no link, and
// what it shows as text is no tag.
func TestLinksReadMarkupAsABrowserDoes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		html      string
		wantLinks []string
		wantFind  string // Find(`code:? (\d+)`)
	}{
		// A comment ends a "<" that precedes it: what follows it is text,
		// not the rest of a tag.
		{"a comment after a <",
			`<<!---->a href="https://evil.test/">code 1`,
			nil, "1"},
		{"a comment inside a tag's name",
			`<a<!-- -->href="https://x.test/a">a</a>`,
			nil, ""},
		// A tag's name runs to a blank, "/" or ">": "<a-x>" and "<a:b>"
		// are other elements than a, and their href no link.
		{"a custom element whose name starts with a",
			`<a-x href="https://evil.test/">x</a-x><a:b href="https://evil.test/b">y</a:b><a"b href="https://evil.test/c">`,
			nil, ""},
		// An "=" before an attribute's name is a letter of that name, and
		// opens no value: the tag ends at its ">".
		{"an = where a name starts",
			`<p ="><a href="https://x.test/a">code 2</a>"`,
			[]string{"https://x.test/a"}, "2"},
		{"an = after a quoted value",
			`<p x="1"="><a href="https://x.test/b">code 3</a>"`,
			[]string{"https://x.test/b"}, "3"},
		// A quote inside a bare value is a letter of it: what follows up
		// to a blank is the value, no attribute.
		{"a quote in a bare value",
			`<a x=y"href=https://evil.test/>z</a>`,
			nil, ""},
		// The content of these elements is text, or hidden, and holds no
		// tag.
		{"a link in a textarea",
			`<textarea><a href="https://evil.test/">code 4</a></textarea><a href="https://x.test/c">c</a>`,
			[]string{"https://x.test/c"}, "4"},
		{"a link in a title",
			`<title><a href="https://evil.test/">t</a></title><p>code 5`,
			nil, "5"},
		{"a link in an xmp",
			`<xmp><a href="https://evil.test/">code 6</a></xmp>`,
			nil, "6"},
		{"a link in an iframe",
			`<iframe><a href="https://evil.test/">code 1</a></iframe><p>code 7`,
			nil, "7"},
		{"a link in a noembed and a noframes",
			`<noembed><a href="https://evil.test/">code 1</a></noembed><noframes><a href="https://evil.test/b">code 1</a></noframes>code 8`,
			nil, "8"},
		{"a link after a plaintext",
			`<plaintext><a href="https://evil.test/">code 9</a>`,
			nil, "9"},
		// An end tag has attributes too: a quoted ">" in one of them does
		// not end it, in a style as anywhere.
		{"a quoted > in a style's end tag",
			`<style>x</style title="><a href=https://evil.test/>code 1">code 2`,
			nil, "2"},
		// In a script, "<!--" then "<script" hide the next "</script>"
		// from its end, as a browser's script states read it.
		{"a script's escaped end",
			`<script><!--<script></script><a href="https://evil.test/">code 1</a></script>code 2`,
			nil, "2"},
		{"a script's escape ended by -->",
			`<script><!--<script>--></script><a href="https://x.test/d">code 3</a>`,
			[]string{"https://x.test/d"}, "3"},
		// A name is matched in ASCII only: "ſ" (U+017F) folds to "s" in
		// Unicode, not in HTML.
		{"a long s in style",
			"<\u017ftyle>code 4</\u017ftyle>",
			nil, "4"},
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

// TestFindReadsTheTextABrowserShows checks the whole text Find reads of
// an HTML body (a pattern matching all of it): doctypes, processing
// instructions, CDATA sections and other bogus comments are no text, up to
// their first ">"; a "<" that opens no markup is text.
func TestFindReadsTheTextABrowserShows(t *testing.T) {
	t.Parallel()
	all := regexp.MustCompile(`(?s)\A(.+)\z`) // not the empty text body
	for _, c := range []struct{ html, want string }{
		{"<!DOCTYPE html>hi", "hi"},
		{"<!doctype html PUBLIC \"-//W3C//DTD XHTML 1.0//EN\" \"x.dtd\">hi", "hi"},
		{"<!DOCTYPE html", ""},
		{`<?xml version="1.0"?>hi`, "hi"},
		{"<![CDATA[x]]>hi", "hi"},
		{"<![CDATA[a>b]]>hi", "b]]>hi"}, // a bogus comment ends at its first ">"
		{"<!x>hi", "hi"}, {"<!>hi", "hi"}, {"<!", ""}, {"<!-", ""}, {"<?", ""},
		{"</ x>hi", "hi"}, {"</1>hi", "hi"}, {"</>hi", "hi"}, {"</", "</"}, {"a</", "a</"},
		{"<1>hi", "<1>hi"}, {"< a>", "< a>"}, {"<", "<"}, {"a<", "a<"}, {"<<b>", "<"}, {"<é>", "<é>"},
		{"<!-->hi", "hi"}, {"<!--->hi", "hi"}, {"<!---->hi", "hi"}, {"<!-- --!>hi", "hi"}, {"<!-- -- >hi", ""},
		{"<!--x--->hi", "hi"}, {"<!--x--!-->hi", "hi"}, {"<!--<!-- x -->hi", "hi"}, {"hi<!--", "hi"},
		{"<a", ""}, {"x<a href", "x"}, {`x<a href="y>`, "x"},
		{"&am<!-- -->p;", "&amp;"}, // a character reference is read in the text it is in
		{"a&amp;b", "a&b"}, {"<title>a&amp;b</title>", "\na&b\n"}, {"<textarea>&lt;<b>x</b></textarea>", "<<b>x</b>"},
		{"<xmp>&amp;<b></xmp>", "&amp;<b>"}, {"<plaintext>&amp;</plaintext>", "&amp;</plaintext>"},
		{"<textarea>x</textarea", "x</textarea"}, {`<textarea>x</textarea y=">`, "x"},
		{"<p>a</p><div>b</div>c<br>d", "\na\n\nb\nc\nd"},
	} {
		m := &mocksmtp.Message{HTML: c.html}
		if got := m.Find(all); got != c.want {
			t.Errorf("text of %q = %q, want %q", c.html, got, c.want)
		}
	}
}

// TestLinksKeepAnAttributesAmpersands checks the character references of
// an href as a browser decodes them in an attribute: a name without ";"
// followed by "=" or a letter is no reference ("&section=" is a
// parameter, not "§ion="), one with ";" and numeric ones are.
func TestLinksKeepAnAttributesAmpersands(t *testing.T) {
	t.Parallel()
	m := &mocksmtp.Message{HTML: `<a href="https://x.test/list?page=2&section=news&copy=1&amp;a=1&lt;&#x3D;&#61;&reg &not;x">x</a>` +
		`<a href="https://x.test/?a=1&amp=2&notit;&ampx;&hellip;&lt;=&amp">y</a>`}
	want := []string{"https://x.test/list?page=2&section=news&copy=1&a=1<==® ¬x", "https://x.test/?a=1&amp=2&notit;&ampx;…<=&"}
	if diff := cmp.Diff(want, m.Links()); diff != "" {
		t.Errorf("Links (-want +got):\n%s", diff)
	}
}

// TestHostileHTMLTakesLinearTime gives Links and Find HTML of 1 MiB + 1
// octets or more of each shape that could make a scan go back: every
// shape that opens markup and leaves it open, or closes it each time. A
// scan that went back from each unit would take minutes to hours; a
// linear one takes a second.
func TestHostileHTMLTakesLinearTime(t *testing.T) {
	t.Parallel()
	units := []string{
		"<", "</", "<!", "<?", "<!-", "<!--", "-->", "--!>", "<!---", "<!DOCTYPE", "<![CDATA[", "</ ", "<a", "<a ", "<a x=",
		"<a x='", `<a x="`, "<a x=y", "<a/", "<a =", `<a href="https://x.test/">`, "<a href=x>", "&", "&#",
		"<script>", "<script><!--", "<script><!--<script>", "<script><!--<script>-->", "</script", "</script ", "</script x='",
		"<style>", "</style", "</style x=\"", "<textarea>", "</textarea", "<xmp>", "<plaintext>",
		"<a href=\"&section=&copy;&#", "<p>", "<br/>", "<b x=\"x>\"",
		"&#4294967345;&notit;&fjlig;&nLt;", `<a href="&#x110000&not=&notit&fjlig;&nGt;">`,
		"<svg>", "<svg><g>", "<svg/>", "</svg>", "<svg><![CDATA[", "<svg><![CDATA[]]>", "<svg><p>", "<svg></x>", "<svg><font color=x>",
		"<math><mi><script>", "<svg><foreignObject><div>", "<template>", "</template>", `<svg><a xlink:href="https://x.test/">`, `<a href="https:\\x\">`,
		"<noscript>", "<noscript> <link>", "<li>", "<li><span>", "<h2><h3>", "<dd><dt>", "<p><span><div>", "<x-1><p><hr>", "</x-1>", "<td>", "<x-1><td>", "<svg><desc><td>", "<ul><template></ul>",
	}
	for _, unit := range units {
		// At least 1 MiB + 1, of at least 128 Ki units: a scan that went
		// from each unit to the end would read 2^36 octets or more.
		html := strings.Repeat(unit, max((1<<20+1)/len(unit)+1, 1<<17))
		m := &mocksmtp.Message{HTML: "<p>code 0</p>" + html}
		done := make(chan string, 1)
		go func() {
			m.Links()
			done <- m.Find(regexp.MustCompile(`code (\d+)`))
		}()
		select {
		case got := <-done:
			if got != "0" {
				t.Errorf("%q repeated: Find = %q, want %q", unit, got, "0")
			}
		case <-time.After(hostileBound):
			t.Fatalf("%q repeated, %d octets of HTML: Links and Find still running after %v", unit, len(m.HTML), hostileBound)
		}
	}
}

// BenchmarkLinks measures Links on large bodies: 10 MB of links, of
// tags without links, of text and of comments.
func BenchmarkLinks(b *testing.B) {
	const size = 10 << 20
	for _, bc := range []struct{ name, unit string }{
		{"links", "<a href=x>"},
		{"distinct", ""},
		{"tags", `<p class="x" id=y>hello, world</p>`},
		{"text", "hello, world and all who live in it\n"},
		{"comments", "<!-- hello -->"},
	} {
		html := strings.Repeat(bc.unit, size/max(1, len(bc.unit)))
		if bc.name == "distinct" {
			var s strings.Builder
			for i := 0; s.Len() < size; i++ {
				fmt.Fprintf(&s, `<a href="https://x.test/%d">%d</a>`, i, i)
			}
			html = s.String()
		}
		m := &mocksmtp.Message{HTML: html}
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(html)))
			b.ReportAllocs()
			for b.Loop() {
				m.Links()
			}
		})
	}
}

// TestLinksReadAnHrefAsABrowserDoes checks an href that a generator wrapped
// over lines: a browser drops the tabs and line breaks in a URL, and the
// controls and spaces around it, and follows the link without them.
func TestLinksReadAnHrefAsABrowserDoes(t *testing.T) {
	t.Parallel()
	m := &mocksmtp.Message{HTML: "<a href=\"\n https://x.test/confirm\r\n/abc\t?token=1 \n\">x</a><a href=\" \x01https://x.test/b \">b</a>"}
	want := []string{"https://x.test/confirm/abc?token=1", "https://x.test/b"}
	if diff := cmp.Diff(want, m.Links()); diff != "" {
		t.Errorf("Links (-want +got):\n%s", diff)
	}
}

// TestFindAndLinksReadNumericReferencesAsABrowserDoes checks the numeric
// character references a browser decodes otherwise than a reading that
// keeps the number in 32 bits or wants two digits: a number above
// U+10FFFF is U+FFFD however many digits it has ("&#4294967345;" is no
// "1", which 2^32 + 49 would wrap to), "&#x;" has no digit and is text,
// "&#9" that ends a text or a value is a tab.
func TestFindAndLinksReadNumericReferencesAsABrowserDoes(t *testing.T) {
	t.Parallel()
	all := regexp.MustCompile(`(?s)\A(.+)\z`)
	for _, c := range []struct{ html, want string }{
		{"code &#4294967345;&#4294967346;&#x100000033;", "code \uFFFD\uFFFD\uFFFD"},
		{"&#99999999999999999999999999999999;&#x0000000000041;", "\uFFFDA"},
		{"&#x10FFFF;&#x110000;&#1114112;&#0;&#xD800;&#xdfff;", "\U0010FFFF\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"&#x80;&#x81;&#129;&#x9f;&#159", "€\u0081\u0081ŸŸ"},
		{"&#x;&#X;&#;&#x&#", "&#x;&#X;&#;&#x&#"},
		{"a&#9", "a\t"}, {"&#9", "\t"}, {"<p>a&#9</p>", "\na\t\n"}, {"&#65x", "Ax"}, {"&#x41g", "Ag"},
	} {
		m := &mocksmtp.Message{HTML: c.html}
		if got := m.Find(all); got != c.want {
			t.Errorf("text of %q = %q, want %q", c.html, got, c.want)
		}
	}
	m := &mocksmtp.Message{HTML: `<a href="https://x.test/?c=&#4294967345;">a</a><a href="https://x.test/b&#x;">b</a>` +
		`<a href="https://x.test/c&#9">c</a><a href=https://x.test/d&#10>d</a>`}
	want := []string{"https://x.test/?c=\uFFFD", "https://x.test/b&#x;", "https://x.test/c", "https://x.test/d"}
	if diff := cmp.Diff(want, m.Links()); diff != "" {
		t.Errorf("Links (-want +got):\n%s", diff)
	}
}

// TestFindAndLinksReadNamedReferencesAsABrowserDoes checks the named
// character references that stand for two characters: "&fjlig;" is "fj"
// in an attribute as in text, and "&nLt;" and "&nGt;", which are longer
// than their names, are decoded too.
func TestFindAndLinksReadNamedReferencesAsABrowserDoes(t *testing.T) {
	t.Parallel()
	all := regexp.MustCompile(`(?s)\A(.+)\z`)
	m := &mocksmtp.Message{HTML: "&fjlig;&nLt;&nGt;&nLt&nGtx;&notit;&amp=<a href='https://x.test/&fjlig;&nLt;&nGt;&nLtx;&not=&not;'>x</a>"}
	if got, want := m.Find(all), "fj\u226A\u20D2\u226B\u20D2&nLt&nGtx;¬it;&=x"; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	want := []string{"https://x.test/fj\u226A\u20D2\u226B\u20D2&nLtx;&not=¬"}
	if diff := cmp.Diff(want, m.Links()); diff != "" {
		t.Errorf("Links (-want +got):\n%s", diff)
	}
}

// TestLinksAndFindReadEveryCutOfADocument gives Links and Find each
// document of a set of tricky ones cut at every offset, from its end and
// from its start: none panics, and as a browser reads a document forward,
// a document cut at its end has the first links of the whole, or fewer
// (a tag that the cut leaves open is none).
func TestLinksAndFindReadEveryCutOfADocument(t *testing.T) {
	t.Parallel()
	docs := []string{
		`<!DOCTYPE html><html><head><title>a&amp;b</title><style>p{x:"</style>"}</style></head><body>` +
			`<a href="https://x.test/a?b=1&amp;c=2&section=3&#4294967345;&#x;&#9">a</a><!-- <a href=https://evil.test/> --!>` +
			`<area HREF='https://x.test/b&fjlig;&nLt;' href=x><a x=y"z href=https://x.test/c&not=&notit>c</a></body></html>`,
		`<script><!--<script></script><a href=https://evil.test/></script>--></script ><a href=https://x.test/d>code 1</a>`,
		`<textarea>&lt;<a href=https://evil.test/></textarea x='>'><xmp><a href=x></XMP><?xml?><![CDATA[>]]></ x><a/href=https://x.test/e>`,
		`<p ="x' y=z/><a href = "https://x.test/f" ><iframe><a href=x></iframe/><noembed></noembed><plaintext><a href=x>&amp;`,
		"<a href=\"\n https://x.test/g\x00\r\n\t\">\x00<title>\x00</title>\u017f&#128;&#x80&#0;&#xD800;&#1114112;é</a><!---><!-->&#65&#x41g&amp=&ampx;&frac12x",
		`<svg><style><![CDATA[.a{}]]></style><a xlink:href=https://x.test/h>h</a><foreignObject><script><a href=x></script><p><![CDATA[><a href=https://x.test/i>]]>` +
			`</foreignObject><path d=M0/><![CDATA[<a href=x>]]></svg><template><a href=https://evil.test/></template><math><mi><![CDATA[x]]></mi></math><a href=https://x.test/j>`,
	}
	code := regexp.MustCompile(`code (\d+)`)
	for _, s := range docs {
		whole := (&mocksmtp.Message{HTML: s}).Links()
		for i := range len(s) + 1 {
			m := &mocksmtp.Message{HTML: s[:i]}
			if got := m.Links(); len(got) > len(whole) || !slices.Equal(got, whole[:len(got)]) {
				t.Errorf("Links of %q = %q, want the first of %q", s[:i], got, whole)
			}
			m.Find(code)
			m = &mocksmtp.Message{HTML: s[i:]}
			m.Links()
			m.Find(code)
		}
	}
}

// TestLinksOfTheTextBodyMatchTheSchemeInASCII checks the scheme of a URL
// in the text body in any case of ASCII letters only, as a URL parser
// reads it: "httpſ://" (U+017F, which folds to "s" in Unicode) is no
// https URL.
func TestLinksOfTheTextBodyMatchTheSchemeInASCII(t *testing.T) {
	t.Parallel()
	m := &mocksmtp.Message{Text: "see httpſ://evil.test/a, HTTPS://x.test/b and hTtP://x.test/c"}
	want := []string{"HTTPS://x.test/b", "hTtP://x.test/c"}
	if diff := cmp.Diff(want, m.Links()); diff != "" {
		t.Errorf("Links (-want +got):\n%s", diff)
	}
}

// TestFindAndLinksReadANulAsABrowserDoes checks a NUL octet in HTML: a
// browser drops it from text ("co\x00de 123" shows "code 123") and shows
// U+FFFD for it in a textarea, a title, an xmp or a plaintext, and in an
// attribute, where it is no control a URL parser trims.
func TestFindAndLinksReadANulAsABrowserDoes(t *testing.T) {
	t.Parallel()
	m := &mocksmtp.Message{HTML: "<p>co\x00de 1\x0023</p><a href=\"https://x.test/a\x00\">x</a><A HREF=\x00https://x.test/b&#0;>y</a>"}
	if got := m.Find(regexp.MustCompile(`code (\d+)`)); got != "123" {
		t.Errorf("Find = %q, want %q", got, "123")
	}
	want := []string{"https://x.test/a\uFFFD", "\uFFFDhttps://x.test/b\uFFFD"}
	if diff := cmp.Diff(want, m.Links()); diff != "" {
		t.Errorf("Links (-want +got):\n%s", diff)
	}
	all := regexp.MustCompile(`(?s)\A(.+)\z`)
	m = &mocksmtp.Message{HTML: "a\x00&#0;<textarea>b\x00&#0;</textarea><xmp>c\x00</xmp><plaintext>d\x00"}
	if got, want := m.Find(all), "a\uFFFDb\uFFFD\uFFFDc\uFFFDd\uFFFD"; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
}

// TestFindReadsALineBreakAsABrowserDoes checks a carriage return in
// HTML, alone or before a line feed: a browser reads either as a line
// feed (the input stream's preprocessing), so that "." in a pattern stops
// at it as at any line break. A "&#13;" is a carriage return all the same.
func TestFindReadsALineBreakAsABrowserDoes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ html, want string }{
		{"<p>Your code: 123456\rExpires in 10 minutes</p>", "123456"},
		{"<p>Your code: 123456\r\nExpires in 10 minutes</p>", "123456"},
		{"<textarea>Your code: 123456\rExpires</textarea>", "123456"},
		{"<xmp>Your code: 123456\r\rExpires</xmp>", "123456"},
		{"<svg><text><![CDATA[Your code: 123456\rExpires]]></text></svg>", "123456"},
		{"<p>Your code: 123456&#13;Expires</p>", "123456\rExpires"},
	} {
		m := &mocksmtp.Message{HTML: c.html}
		if got := m.Find(regexp.MustCompile(`Your code: (.*)`)); got != c.want {
			t.Errorf("HTML %q: Find = %q, want %q", c.html, got, c.want)
		}
	}
	all := regexp.MustCompile(`(?s)\A(.+)\z`)
	m := &mocksmtp.Message{HTML: "a\rb\r\nc\n\rd\r<!-- -->\ne"}
	if got, want := m.Find(all), "a\nb\nc\n\nd\n\ne"; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
}

// TestLinksReadBackslashesAsABrowserDoes checks an href of an http(s),
// ws(s) or ftp URL with backslashes: a browser's URL parser reads each
// before the query as a slash, and any run of two or more slashes after
// the scheme as "//", so that "https:\\evil.test\x" opens
// https://evil.test/x, and "https://evil.test\@app.test/" opens
// evil.test, where url.Parse of the href as written finds app.test. Links
// gives the URL the browser opens. A single slash, or none, reads
// against the page's URL, and is kept as written; so are other schemes,
// a query and a fragment.
func TestLinksReadBackslashesAsABrowserDoes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ href, want string }{
		{`https:\\evil.test\x`, "https://evil.test/x"},
		{`https:/\evil.test`, "https://evil.test"},
		{`HTTP:\/evil.test\a\b?c\d#e\f`, `HTTP://evil.test/a/b?c\d#e\f`},
		{`https://evil.test\@app.test/`, "https://evil.test/@app.test/"},
		{`https:////evil.test/x`, "https://evil.test/x"},
		{`wss:\\evil.test`, "wss://evil.test"}, {`ftp:\\evil.test`, "ftp://evil.test"},
		{`https://x.test/a`, "https://x.test/a"}, {`https://x.test/?a\b`, `https://x.test/?a\b`},
		{`https:\evil.test`, `https:\evil.test`}, {`https:evil.test\x`, `https:evil.test\x`},
		{`mailto:a\b@x.test`, `mailto:a\b@x.test`}, {`file:\\x\y`, `file:\\x\y`}, {`\\evil.test\x`, `\\evil.test\x`},
		{`https\\x`, `https\\x`}, {`https:`, `https:`}, {`https:\\`, "https://"},
	} {
		m := &mocksmtp.Message{HTML: `<a href="` + c.href + `">x</a>`}
		if diff := cmp.Diff([]string{c.want}, m.Links()); diff != "" {
			t.Errorf("href %q: Links (-want +got):\n%s", c.href, diff)
		}
	}
}
