package mocksmtp

import (
	"strings"
	"testing"
)

// shown returns what tokens keeps of an HTML document as written: its
// text and tags, not what it hides.
func shown(s string) string {
	var b strings.Builder
	for t := range tokens(s) {
		if t.kind != hiddenToken {
			b.WriteString(s[t.from:t.to])
		}
	}
	return b.String()
}

// TestTokensBoundaries checks tokens' byte loops at their boundaries:
// empty, one byte, a "<" at either end, upper and mixed case, non-ASCII
// beside what it hides, comments ending as a browser ends them, a tag or
// a bogus comment that the document ends in.
func TestTokensBoundaries(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"", ""}, {"<", "<"}, {"a", "a"}, {"<<", "<<"}, {"é<", "é<"}, {"<é", "<é"},
		{"<!", ""}, {"<!-", ""}, {"<!--", ""}, {"x<!--", "x"}, {"<!---", ""}, {"<!-- --", ""}, {"<!-- --!", ""},
		{"<!-->a", "a"}, {"<!--->a", "a"}, {"<!---->a", "a"}, {"<!-- -- >a", ""}, {"<!-- --->a", "a"}, {"<!-- --!>a", "a"},
		{"<!--a-->b", "b"}, {"é<!--a-->é", "éé"}, {"<!x", ""}, {"<!x>a", "a"}, {"<?", ""}, {"<?>a", "a"}, {"</ >a", "a"}, {"</>a", "a"},
		{"</", "</"}, {"a</", "a</"}, {"<1", "<1"}, {"<<a>", "<<a>"},
		{"<script", ""}, {"<SCRIPT>x</SCRIPT>y", "<SCRIPT></SCRIPT>y"}, {"<ScRiPt>a</sCrIpT>b", "<ScRiPt></sCrIpT>b"}, {"<scripts>x", "<scripts>x"},
		{"<script>é", "<script>"}, {"a<scrip", "a"}, {"<script>x</script", "<script>"}, {"<script>x</scripts>y", "<script>"},
		{"<script>x</scripts></script>y", "<script></script>y"}, {"<script></script/>y", "<script></script/>y"},
		{"<script>x</script x='>'>y", "<script></script x='>'>y"}, {"<script>x</script x='>y", "<script>"},
		{"<script><!--</script>y", "<script></script>y"}, {"<script><!--<script></script>x", "<script>"},
		{"<script><!--<script></script></script>y", "<script></script>y"}, {"<script><!--<script>--></script>y", "<script></script>y"},
		{"<script><!-->x</script>y", "<script></script>y"}, {"<script><!--<script>-></script>x", "<script>"},
		{"<script><!-- -- ><script></script>x", "<script>"}, {"<script><!--<script></script", "<script>"},
		{"<script><!--<scripts></script>y", "<script></script>y"}, {"<script><!--<script</script>y", "<script></script>y"},
		{"<a", ""}, {"</a", ""}, {"<a>", "<a>"}, {"<a '<script>'>x", "<a '<script>'>x"},
		{`<a "<!--">x`, `<a "<!--">x`}, {`<a "<!--`, ""}, {`<a x="">`, `<a x="">`}, {`<a '"'><script>x`, `<a '"'><script>`},
		{`<a "><script>x`, `<a "><script>`}, {"<a x=don't<script>y", "<a x=don't<script>y"}, {"<a x = \n'<script>'><script>y", "<a x = \n'<script>'><script>"},
		{`<a x="<script>`, ""}, {"<a x=", ""}, {"<a x= ", ""}, {"<a x=>y", "<a x=>y"}, {"<a x/>y", "<a x/>y"}, {"<a/x=y>z", "<a/x=y>z"},
		{`<a x=y"z><script>w"`, `<a x=y"z><script>`}, {`</b c='<style>'>x<style>y`, `</b c='<style>'>x<style>`}, {"<1<script>x", "<1<script>"},
		{"é<style>x</style >é", "é<style></style >é"}, {"<style", ""}, {"<style1>x", "<style1>x"}, {"<style-x>y", "<style-x>y"},
		{"<style\ny>x", "<style\ny>"}, {"<STYLE/>x</style>y", "<STYLE/></style>y"}, {"<style>x</style", "<style>"},
		{"<textarea>a<b>c</textarea>d", "<textarea>a<b>c</textarea>d"}, {"<textarea>a</textarea", "<textarea>a</textarea"},
		{"<textarea>a</textarea x='", "<textarea>a"}, {"<plaintext>a</plaintext>b", "<plaintext>a</plaintext>b"},
	} {
		if got := shown(c.in); got != c.want {
			t.Errorf("shown(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestTokensKinds checks the kind, offsets and name of each token of a
// document with one of each.
func TestTokensKinds(t *testing.T) {
	t.Parallel()
	const s = "<!DOCTYPE html>a<B x=1>&amp;</b><!--c--><?x?></ y><xmp><i></XMP><script>s</script >é"
	want := []struct {
		kind tokenKind
		src  string
		name string
	}{
		{hiddenToken, "<!DOCTYPE html>", ""}, {textToken, "a", ""}, {startTagToken, "<B x=1>", "B"}, {textToken, "&amp;", ""},
		{endTagToken, "</b>", "b"}, {hiddenToken, "<!--c-->", ""}, {hiddenToken, "<?x?>", ""}, {hiddenToken, "</ y>", ""},
		{startTagToken, "<xmp>", "xmp"}, {rawTextToken, "<i>", ""}, {endTagToken, "</XMP>", "XMP"},
		{startTagToken, "<script>", "script"}, {hiddenToken, "s", ""}, {endTagToken, "</script >", "script"}, {textToken, "é", ""},
	}
	i := 0
	for tok := range tokens(s) {
		if i == len(want) {
			t.Fatalf("token %d %q: more than %d tokens", i, s[tok.from:tok.to], len(want))
		}
		if w := want[i]; tok.kind != w.kind || s[tok.from:tok.to] != w.src || tok.name != w.name {
			t.Errorf("token %d = %d %q %q, want %d %q %q", i, tok.kind, s[tok.from:tok.to], tok.name, w.kind, w.src, w.name)
		}
		i++
	}
	if i != len(want) {
		t.Errorf("%d tokens, want %d", i, len(want))
	}
}

// TestReadTagAttributes checks the attributes readTag reads of a tag, as a
// browser's attribute states read them, where the tag ends, and whether
// it is self-closing: a "/" just before its ">" that ends no value.
func TestReadTagAttributes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in    string // what follows a tag's name
		attrs string // name=value, space-separated
		end   int
		self  bool
	}{
		{">", "", 1, false}, {"", "", -1, false}, {" a>", "a=", 3, false}, {" a=b c='d' e=\"f\">", "a=b c=d e=f", 17, false},
		{` ="x>`, `="x=`, 5, false}, {` x="1"="2>`, `x=1 ="2=`, 10, false}, {` x=a"b>`, `x=a"b`, 7, false}, {" x = y >", "x=y", 8, false},
		{"/x/y=z/>", "x= y=z/", 8, false}, {" x=>", "x=", 4, false}, {` x='>'>`, "x=>", 7, false}, {` x='>`, "", -1, false},
		{" a\tb\nc\fd\re>", "a= b= c= d= e=", 11, false}, {` x="a"y=b>`, "x=a y=b", 10, false}, {" x=", "", -1, false},
		{"/>", "", 2, true}, {" />", "", 3, true}, {"/ >", "", 3, false}, {" a/>", "a=", 4, true}, {` a="b"/>`, "a=b", 8, true},
		{" a=b/>", "a=b/", 6, false}, {" a=b />", "a=b", 7, true}, {" a= />", "a=/", 6, false}, {"//>", "", 3, true},
	} {
		var got []string
		end, self := readTag(c.in, 0, func(n, v string) bool {
			got = append(got, n+"="+v)
			return true
		})
		if g := strings.Join(got, " "); g != c.attrs || end != c.end || self != c.self {
			t.Errorf("readTag(%q) = %q, %d, %v; want %q, %d, %v", c.in, g, end, self, c.attrs, c.end, c.self)
		}
	}
}

// FuzzTokens checks that tokens reads any document: its tokens follow one
// another from its start to its end, none empty, each tag from a "<" to
// a ">" with its name after the "<" or "</", each attribute of a tag read
// within it.
func FuzzTokens(f *testing.F) {
	for _, s := range []string{"<a href=x>y</a>", "<!--x--!><!DOCTYPE html><?x></ y></>", "<script><!--<script></script>-->x</script y='>'>",
		"<style>x</style ", "<textarea>&amp;</textarea", "<xmp><a></xmp><plaintext><b>", `<p ="x' y=z/>`, "<<!---->a",
		"<svg><![CDATA[<a>]]><style><p><![CDATA[x", "<math><mi><script><![CDATA[</script><template><svg/><svg><g/></x></p></br>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		at := 0
		for tok := range tokens(s) {
			src := s[tok.from:tok.to]
			if tok.from != at || tok.to <= tok.from {
				t.Fatalf("token %q at %d:%d, want one starting at %d, not empty", src, tok.from, tok.to, at)
			}
			at = tok.to
			if tok.kind != startTagToken && tok.kind != endTagToken {
				continue
			}
			n := tok.from + 1
			if tok.kind == endTagToken {
				n++
			}
			if !strings.HasSuffix(src, ">") || tok.name == "" || s[n:n+len(tok.name)] != tok.name || tok.attrs != n+len(tok.name) {
				t.Fatalf("tag %q: name %q, attributes at %d", src, tok.name, tok.attrs)
			}
			if end, _ := readTag(s, tok.attrs, func(n, v string) bool { return true }); end != tok.to {
				t.Fatalf("tag %q: readTag ends it at %d, not %d", src, end, tok.to)
			}
		}
		if at != len(s) {
			t.Fatalf("tokens end at %d of %d", at, len(s))
		}
	})
}

// FuzzUnescape checks that unescape reads any text or attribute value,
// each reference within its own "&" and what follows up to the next "&":
// the text cut before an "&" reads as its two parts read one after the
// other, and text without "&" reads as written.
func FuzzUnescape(f *testing.F) {
	for _, s := range []string{"&amp;&lt", "&#4294967345;&#x;&#9", "&notit;&not=&fjlig;&nLt;", "a&#x10FFFF&#xD800;&#128&", "&ampx;&#"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, cut int) {
		for _, attribute := range []bool{false, true} {
			got := unescape(s, attribute)
			if !strings.Contains(s, "&") && got != s {
				t.Fatalf("unescape(%q, %v) = %q, want it as written", s, attribute, got)
			}
			k := strings.IndexByte(s[min(max(cut, 0), len(s)):], '&')
			if k < 0 {
				continue
			}
			k += min(max(cut, 0), len(s))
			if parts := unescape(s[:k], attribute) + unescape(s[k:], attribute); got != parts {
				t.Fatalf("unescape(%q, %v) = %q, but its parts at %d read %q", s, attribute, got, k, parts)
			}
		}
	})
}
