package smtpd

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mocksmtp/mocksmtp/internal/angle"
)

// parseCommand splits a command line (without CRLF) into the upper-cased
// verb ("MAIL") and the argument: everything after the verb and one
// space, as sent. It does not judge the argument; see parsePath and
// parseParams.
func parseCommand(line string) (verb, arg string) {
	verb, arg, _ = strings.Cut(line, " ")
	return upperASCII(verb), arg
}

// upperASCII returns s with its ASCII letters upper-cased, and only
// those: verbs and keywords are case-insensitive in ASCII (RFC 5321 2.4),
// and Unicode's case mapping would make a dotless i an I, a long s an S.
func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'a' <= b[j] && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// equalFoldASCII reports whether a and b are the same but for the case of
// their ASCII letters, as upperASCII compares them, without allocating.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if 'a' <= y && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// pathError tells why a path did not parse. A Conn answers it with 501
// 5.1.7 for MAIL and 501 5.1.3 for RCPT, and a non-ASCII address without
// SMTPUTF8 with 553 5.6.7.
type pathError struct {
	reason string
}

func (e *pathError) Error() string { return "smtpd: bad path: " + e.reason }

// maxPath is the longest reverse-path or forward-path in octets, angle
// brackets and source route included (RFC 5321 4.5.3.1.3), however many
// characters its UTF-8 makes. Within it, a local part has its own limit,
// 64 octets (4.5.3.1.1); a domain's, 255 octets (4.5.3.1.2), is never
// reached in a path: "<a@" and ">" leave it 252.
const maxPath = 256

// parsePath parses an RFC 5321 reverse-path or forward-path "<...>" at the
// start of s and returns the mailbox (without brackets, source route
// dropped, quoted local parts kept as sent), the rest of s after the
// closing bracket, and an error when the syntax is wrong or the path is
// longer than maxPath. The null path "<>" returns "". utf8 allows UTF-8 in
// the mailbox (RFC 6531).
func parsePath(s string, utf8ok bool) (mailbox, rest string, err error) {
	if !strings.HasPrefix(s, "<") {
		return "", s, &pathError{"missing <"}
	}
	end := angle.Close(s)
	if end < 0 {
		return "", s, &pathError{"missing >"}
	}
	inner, rest := s[1:end], s[end+1:]
	if end+1 > maxPath {
		return "", rest, &pathError{"path longer than 256 octets"}
	}
	if inner == "" {
		return "", rest, nil
	}
	// A source route "@a,@b:" is parsed and ignored (RFC 5321 4.1.2, C).
	if strings.HasPrefix(inner, "@") {
		i := strings.IndexByte(inner, ':')
		if i < 0 {
			return "", rest, &pathError{"bad source route"}
		}
		for _, hop := range strings.Split(inner[:i], ",") {
			if !strings.HasPrefix(hop, "@") || !validDomain(hop[1:], utf8ok) {
				return "", rest, &pathError{"bad source route"}
			}
		}
		inner = inner[i+1:]
	}
	if err := checkMailbox(inner, utf8ok); err != nil {
		return "", rest, err
	}
	return inner, rest, nil
}

// checkMailbox validates Local-part "@" ( Domain / address-literal ).
func checkMailbox(m string, utf8ok bool) error {
	if !utf8.ValidString(m) {
		return &pathError{"invalid UTF-8"}
	}
	if !utf8ok && !isASCII(m) {
		return errNonASCII
	}
	at := strings.LastIndexByte(m, '@')
	if at < 0 {
		if equalFoldASCII(m, "postmaster") {
			return nil
		}
		return &pathError{"missing @domain"}
	}
	local, domain := m[:at], m[at+1:]
	if len(local) > 64 {
		return &pathError{"local part longer than 64 octets"}
	}
	if !validLocal(local, utf8ok) {
		return &pathError{"bad local part"}
	}
	if strings.HasPrefix(domain, "[") {
		if !strings.HasSuffix(domain, "]") || len(domain) < 3 {
			return &pathError{"bad address literal"}
		}
		// dcontent: printable US-ASCII but "[", "\\" and "]" (RFC 5321 4.1.3).
		for i := 1; i < len(domain)-1; i++ {
			if c := domain[i]; c < 33 || c > 126 || c == '[' || c == '\\' || c == ']' {
				return &pathError{"bad address literal"}
			}
		}
		return nil
	}
	if !validDomain(domain, utf8ok) {
		return &pathError{"bad domain"}
	}
	return nil
}

// errNonASCII marks a UTF-8 address sent without SMTPUTF8.
var errNonASCII = &pathError{"non-ASCII address without SMTPUTF8"}

func validLocal(l string, utf8ok bool) bool {
	if l == "" {
		return false
	}
	if l[0] == '"' {
		if len(l) < 2 || l[len(l)-1] != '"' {
			return false
		}
		q := l[1 : len(l)-1]
		for i := 0; i < len(q); i++ {
			c := q[i]
			switch {
			case c == '\\':
				i++
				if i >= len(q) || q[i] < 32 || q[i] > 126 {
					return false
				}
			case c == '"' || c < 32 || c == 127:
				return false
			case c >= 128 && !utf8ok:
				return false
			}
		}
		return true
	}
	for _, atom := range strings.Split(l, ".") {
		if atom == "" {
			return false
		}
		for i := 0; i < len(atom); i++ {
			if !isAtext(atom[i], utf8ok) {
				return false
			}
		}
	}
	return true
}

func isAtext(c byte, utf8ok bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	case strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0:
		return true
	case c >= 128:
		return utf8ok
	}
	return false
}

func validDomain(d string, utf8ok bool) bool {
	if d == "" || len(d) > 255 {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c >= 128 && utf8ok
			if !ok {
				return false
			}
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 128 {
			return false
		}
	}
	return true
}

// param is one ESMTP parameter, its key upper-cased; a key without a
// value has "".
type param struct{ key, value string }

// parseParams parses ESMTP parameters "KEY=VALUE KEY2" (RFC 5321 4.1.2)
// in the order sent, so that checks and their replies go in that order.
// It returns false on a malformed or repeated keyword.
func parseParams(s string) ([]param, bool) {
	s = strings.TrimLeft(s, " ")
	if s == "" {
		return nil, true
	}
	var ps []param
	for _, f := range strings.FieldsFunc(s, isParamSpace) {
		k, v, hasValue := strings.Cut(f, "=")
		if k == "" || !isKeyword(k) || (hasValue && !isParamValue(v)) {
			return nil, false
		}
		k = strings.ToUpper(k)
		for _, p := range ps {
			if p.key == k {
				return nil, false
			}
		}
		ps = append(ps, param{k, v})
	}
	return ps, true
}

// isParamSpace reports whether r separates ESMTP parameters, or BDAT's
// arguments: SP (RFC 5321 4.1.2, RFC 3030), and the other ASCII blanks a
// lenient server takes, but no UTF-8 that Unicode calls a space (a
// no-break space, U+0085, U+3000), which an SMTPUTF8 value may hold (RFC
// 6531 3.3, RFC 6533 3).
func isParamSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\v' || r == '\f' }

// paramMap returns the parameters as a map, nil for none.
func paramMap(ps []param) map[string]string {
	if len(ps) == 0 {
		return nil
	}
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		m[p.key] = p.value
	}
	return m
}

func isKeyword(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' && i > 0
		if !ok {
			return false
		}
	}
	return true
}

// isParamValue: esmtp-value is 1*(%d33-60 / %d62-126), UTF-8 allowed by RFC 6531.
func isParamValue(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 33 || c == '=' || c == 127 {
			return false
		}
	}
	return true
}

// parseSize parses a size, 1*DIGIT: ok is false for anything else. A
// size past the largest int64 is that, with over set.
func parseSize(s string) (n int64, over, ok bool) {
	if s == "" {
		return 0, false, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil { // digits only: out of range
		return math.MaxInt64, true, true
	}
	return n, false, true
}

// isXtext reports whether s is RFC 3461 xtext.
func isXtext(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '+' {
			if i+2 >= len(s) || !isHexUpper(s[i+1]) || !isHexUpper(s[i+2]) {
				return false
			}
			i += 2
			continue
		}
		if c < 33 || c > 126 || c == '=' {
			return false
		}
	}
	return true
}

func isHexUpper(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' }

// isUTF8AddrText reports whether s is an address of the ORCPT type utf-8
// (RFC 6533 3): utf-8-addr-xtext, QCHARs (printable ASCII but "+", "="
// and a backslash) and EmbeddedUnicodeChars (`\x{E9}`), or, when unitext,
// utf-8-addr-unitext, which also takes UTF-8 as it is (in an SMTPUTF8
// transaction). The address it encodes is not checked.
func isUTF8AddrText(s string, unitext bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			n := embeddedUnicodeChar(s[i:])
			if n == 0 {
				return false
			}
			i += n
		case c >= utf8.RuneSelf:
			// UTF8-2 / UTF8-3 / UTF8-4 (RFC 3629): no surrogate, no
			// overlong form, nothing cut short.
			r, n := utf8.DecodeRuneInString(s[i:])
			if !unitext || r == utf8.RuneError && n == 1 {
				return false
			}
			i += n
		case c < '!' || c > '~' || c == '+' || c == '=':
			return false
		default:
			i++
		}
	}
	return true
}

// embeddedUnicodeChar returns the length of the `\x{HEXPOINT}` that s
// starts with (RFC 6533 3), or 0. HEXPOINT, hexadecimal digits of either
// case (ABNF's strings ignore case, but for the "x"): two for the xtext
// specials, 01-09, 10-19, 20, 2B, 3D, 7F, for the backslash, 5C, and for
// 80-FF; three to six for 100-10FFFF without a leading zero and without
// the surrogates D800-DFFF. A code point of ASCII that stands for itself
// (`\x{41}`) is none.
func embeddedUnicodeChar(s string) int {
	if !strings.HasPrefix(s, "\\x{") {
		return 0
	}
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return 0
	}
	hex := s[3:end]
	if len(hex) < 2 || len(hex) > 6 {
		return 0
	}
	v, err := strconv.ParseUint(hex, 16, 32)
	if err != nil {
		return 0
	}
	var ok bool
	switch len(hex) {
	case 2:
		ok = v >= 0x01 && v <= 0x09 || v >= 0x10 && v <= 0x19 ||
			v == 0x20 || v == 0x2B || v == 0x3D || v == 0x5C || v == 0x7F || v >= 0x80
	case 3:
		ok = v >= 0x100
	case 4:
		ok = v >= 0x1000 && (v < 0xD800 || v > 0xDFFF)
	case 5:
		ok = v >= 0x10000
	case 6:
		ok = v >= 0x100000 && v <= 0x10FFFF
	}
	if !ok {
		return 0
	}
	return end + 1
}
