package mocksmtp

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// TestDropHiddenBoundaries checks dropHidden's byte loops at their
// boundaries: empty, one byte, a "<" at either end, upper and mixed case,
// non-ASCII beside what it drops, comments ending as a browser ends them.
func TestDropHiddenBoundaries(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"", ""}, {"<", "<"}, {"a", "a"}, {"<<", "<<"}, {"é<", "é<"}, {"<é", "<é"},
		{"<!", "<!"}, {"<!-", "<!-"}, {"<!--", ""}, {"x<!--", "x"}, {"<!---", ""}, {"<!-- --", ""}, {"<!-- --!", ""},
		{"<!-->a", "a"}, {"<!--->a", "a"}, {"<!---->a", "a"}, {"<!-- -- >a", ""}, {"<!-- --->a", "a"}, {"<!-- --!>a", "a"},
		{"<!--a-->b", "b"}, {"é<!--a-->é", "éé"},
		{"<script", ""}, {"<SCRIPT>x</SCRIPT>y", "y"}, {"<ScRiPt>a</sCrIpT>b", "b"}, {"<scripts>x", "<scripts>x"},
		{"<script>é", ""}, {"a<scrip", "a<scrip"}, {"<script>x</script", ""}, {"<script>x</scripts>y", ""}, {"<script>x</scripts></script>y", "y"}, {"<script></script/>y", "y"},
		{"<a", "<a"}, {"</a", "</a"}, {"</", "</"}, {"<a>", "<a>"}, {"<a '<script>'>x", "<a '<script>'>x"},
		{`<a "<!--">x`, `<a "<!--">x`}, {`<a "<!--`, `<a "<!--`}, {`<a x="">`, `<a x="">`}, {`<a '"'><script>x`, `<a '"'>`},
		{`<a "><script>x`, `<a ">`}, {"<a x=don't<script>y", "<a x=don't<script>y"}, {"<a x = \n'<script>'><script>y", "<a x = \n'<script>'>"},
		{`<a x="<script>`, `<a x="<script>`}, {"<a x=", "<a x="}, {"<a x= ", "<a x= "}, {`<a x=y"z><script>w"`, `<a x=y"z>`}, {`</b c='<style>'>x<style>y`, `</b c='<style>'>x`}, {"<1<script>x", "<1"},
		{"é<style>x</style >é", "éé"}, {"<style", ""}, {"<style1>x", "<style1>x"}, {"<style-x>y", "<style-x>y"}, {"<style\ny>x", ""}, {"<STYLE/>x</style>y", "y"},
	} {
		if got := dropHidden(c.in); got != c.want {
			t.Errorf("dropHidden(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestTrimURLBoundaries checks trimURL's byte loop at its boundaries.
func TestTrimURLBoundaries(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"", ""}, {".", ""}, {")", ""}, {"(", "("}, {"h", "h"}, {"é", "é"}, {"é.", "é"}, {"é)", "é"},
		{"http://x.test/a.", "http://x.test/a"}, {"http://x.test/(a)", "http://x.test/(a)"},
		{"http://x.test/a)", "http://x.test/a"}, {"http://x.test/a))", "http://x.test/a"},
		{"http://x.test/(a))", "http://x.test/(a)"}, {"http://x.test/a).", "http://x.test/a"},
		{"http://x.test/a]", "http://x.test/a"}, {"http://x.test/[a]]", "http://x.test/[a]"},
		{"http://x.test/a)(", "http://x.test/a)("}, {"http://x.test/)a)", "http://x.test/)a"},
		{"http://x.test/a'*!?", "http://x.test/a"},
	} {
		if got := trimURL(c.in); got != c.want {
			t.Errorf("trimURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestFirstAttrIsTheAttributeRegexp checks firstAttr against the regular
// expression Links used before it, whose FindAll made a slice for every
// attribute of a tag: the same first href, value and all, on every
// string of up to 4 tokens of a small alphabet (blanks, quotes, "=",
// ">", "/", names, non-ASCII), and on random longer ones.
func TestFirstAttrIsTheAttributeRegexp(t *testing.T) {
	t.Parallel()
	attrRE := regexp.MustCompile(`([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?`)
	want := func(attrs string) (string, bool) {
		for _, a := range attrRE.FindAllStringSubmatch(attrs, -1) {
			if strings.EqualFold(a[1], "href") {
				return a[2] + a[3] + a[4], true
			}
		}
		return "", false
	}
	tokens := []string{"href", "HRef", "x", " ", "\n", "=", `"`, "'", ">", "/", "é", "\xff", "hrefx"}
	check := func(attrs string) {
		got, ok := firstAttr(attrs, "href")
		if w, wok := want(attrs); got != w || ok != wok {
			t.Fatalf("firstAttr(%q) = %q, %v; want %q, %v", attrs, got, ok, w, wok)
		}
	}
	var walk func(prefix string, n int)
	walk = func(prefix string, n int) {
		check(prefix)
		if n == 0 {
			return
		}
		for _, tok := range tokens {
			walk(prefix+tok, n-1)
		}
	}
	walk("", 4)
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		var b strings.Builder
		for range 1 + r.IntN(40) {
			b.WriteString(tokens[r.IntN(len(tokens))])
		}
		check(b.String())
	}
}
