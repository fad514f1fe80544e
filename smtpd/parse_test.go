package smtpd

import (
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// The parsers' fuzz targets and benchmarks: internal tests, since the
// parsers are not exported.

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"<a@example.com>", "<>", `<"john doe"@example.com> SIZE=10`,
		"<@r.example,@s.example:x@example.com>", "<x@[192.0.2.1]>", "<josé@exämple.com>", "<a@b", `<"\">@x>`,
		"<a@" + strings.Repeat("d.", 125) + "dd>", "<a@" + strings.Repeat("d.", 126) + "d>"} { // 256 and 257 octets
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, utf8ok bool) {
		mailbox, rest, err := parsePath(s, utf8ok)
		if err != nil {
			return
		}
		if !strings.HasSuffix(s, rest) {
			t.Fatalf("rest %q is not a suffix of %q", rest, s)
		}
		if n := len(s) - len(rest); n > maxPath {
			t.Fatalf("a path of %d octets taken from %q", n, s)
		}
		if !strings.Contains(s, mailbox) {
			t.Fatalf("mailbox %q is not in %q", mailbox, s)
		}
		for _, r := range mailbox {
			if r < 32 || r == 127 {
				t.Fatalf("mailbox %q has a control character", mailbox)
			}
		}
	})
}

func FuzzParseParams(f *testing.F) {
	for _, s := range []string{"SIZE=10 BODY=8BITMIME", " SMTPUTF8", "ORCPT=utf-8;b\u00a0b@x NOTIFY=NEVER", "RET=HDRS ENVID=a+2Bb", "A=1 a=2", "=x", "K=", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, ok := parseParams(s)
		if !ok {
			return
		}
		for i, p := range ps {
			k, v := p.key, p.value
			if k != strings.ToUpper(k) || k == "" || strings.ContainsAny(k+v, " =\r\n") && strings.Contains(v, "=") {
				t.Fatalf("bad param %q=%q from %q", k, v, s)
			}
			// In the order sent.
			if f := asciiFields(s)[i]; !strings.EqualFold(strings.SplitN(f, "=", 2)[0], k) {
				t.Fatalf("param %d is %q, sent %q", i, k, f)
			}
		}
		if len(paramMap(ps)) != len(asciiFields(s)) {
			t.Fatalf("%d params from %q", len(ps), s)
		}
	})
}

// asciiFields splits s at runs of ASCII blanks only: a UTF-8 space is
// part of a parameter's value.
func asciiFields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r < utf8.RuneSelf && unicode.IsSpace(r) })
}

func BenchmarkParseCommand(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if verb, _ := parseCommand("mail FROM:<alice@example.com> SIZE=4096 BODY=8BITMIME"); verb != "MAIL" {
			b.Fatalf("verb %q", verb)
		}
	}
}

func BenchmarkParsePath(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		m, rest, err := parsePath("<@relay.example.org:alice.smith@mail.example.com> SIZE=4096", false)
		if err != nil || m != "alice.smith@mail.example.com" || rest != " SIZE=4096" {
			b.Fatalf("got %q, %q, %v", m, rest, err)
		}
	}
}

func BenchmarkParseParams(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		p, ok := parseParams(" SIZE=4096 BODY=8BITMIME RET=HDRS ENVID=QQ314159")
		if !ok || len(paramMap(p)) != 4 {
			b.Fatalf("got %v, %v", p, ok)
		}
	}
}

// FuzzUTF8AddrText: an ORCPT address of type utf-8 accepted as
// utf-8-addr-xtext is printable ASCII without "+" and "=", and accepted as
// unitext too; one accepted as unitext is UTF-8; every escape in either
// stands for a Unicode scalar value that is no ASCII letter or digit.
func FuzzUTF8AddrText(f *testing.F) {
	for _, s := range []string{`b\x{F8}b@example.com`, "b\xc3\xb8b@x", `\x{10FFFF}`, `\x{D800}`, `\x{0A}`, `a+2B`, `\x{`, `\x{}`, ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		xtext, unitext := isUTF8AddrText(s, false), isUTF8AddrText(s, true)
		if xtext && !unitext {
			t.Fatalf("%q: xtext but not unitext", s)
		}
		if xtext && strings.ContainsFunc(s, func(r rune) bool { return r < '!' || r > '~' || r == '+' || r == '=' }) {
			t.Fatalf("%q accepted as xtext", s)
		}
		if unitext && !utf8.ValidString(s) {
			t.Fatalf("%q accepted as unitext", s)
		}
		if !unitext {
			return
		}
		for rest := s; ; {
			i := strings.Index(rest, `\x{`)
			if i < 0 {
				break
			}
			end := strings.IndexByte(rest[i:], '}')
			v, err := strconv.ParseUint(rest[i+3:i+end], 16, 32)
			if err != nil || !utf8.ValidRune(rune(v)) || v < 0x80 && unicode.IsLetter(rune(v)) || unicode.IsDigit(rune(v)) && v < 0x80 {
				t.Fatalf("%q accepted, with the escape %q", s, rest[i:i+end+1])
			}
			rest = rest[i+end+1:]
		}
	})
}
