package mocksmtp

import "unicode/utf8"

// matchAddress reports whether the address a matches the pattern p, as
// path.Match compares them, except that an address is no path: "*" and
// "?" match a "/" too, which a local part may have (RFC 5322 atext:
// "*@x.test" matches orders/2026@x.test). Everything else is
// path.Match's: a class "[a-z]", "[^a]" holds what path.Match's does
// ("[!-~]" holds the "/", "[/-9]" nothing below it), and "\" escapes.
// p was checked at declaration (checkPatterns); a malformed p matches
// nothing.
func matchAddress(p, a string) bool {
	for p != "" {
		star := false
		for p != "" && p[0] == '*' {
			p, star = p[1:], true
		}
		var chunk string
		chunk, p = scanChunk(p)
		if star && chunk == "" {
			return true // a trailing "*": the rest, "/" or not
		}
		// The chunk at a, else (after a "*") at the first place
		// further on it matches: later chunks follow a "*" of their
		// own, so the first place is as good as any. The last chunk
		// must end a.
		rest, ok := matchChunk(chunk, a)
		for star && !(ok && (rest == "" || p != "")) && a != "" {
			_, n := utf8.DecodeRuneInString(a)
			a = a[n:]
			rest, ok = matchChunk(chunk, a)
		}
		if !ok || rest != "" && p == "" {
			return false
		}
		a = rest
	}
	return a == ""
}

// scanChunk splits p into the chunk before its first "*" that is
// neither escaped nor in a class, and the rest from that "*".
func scanChunk(p string) (chunk, rest string) {
	inClass := false
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '[':
			inClass = true
		case ']':
			inClass = false
		case '*':
			if !inClass {
				return p[:i], p[i:]
			}
		}
	}
	return p, ""
}

// matchChunk matches the chunk (no "*" outside a class) at the start of
// s, and returns what of s is left.
func matchChunk(chunk, s string) (rest string, ok bool) {
	for chunk != "" {
		if s == "" {
			return "", false
		}
		switch chunk[0] {
		case '?':
			_, n := utf8.DecodeRuneInString(s)
			chunk, s = chunk[1:], s[n:]
		case '[':
			r, n := utf8.DecodeRuneInString(s)
			s = s[n:]
			if chunk, ok = matchClass(chunk[1:], r); !ok {
				return "", false
			}
		case '\\':
			chunk = chunk[1:]
			if chunk == "" {
				return "", false
			}
			fallthrough
		default:
			if chunk[0] != s[0] {
				return "", false
			}
			chunk, s = chunk[1:], s[1:]
		}
	}
	return s, true
}

// matchClass reports whether the class c (after its "[", up to and past
// its "]") holds r, and returns the chunk after it.
func matchClass(c string, r rune) (rest string, ok bool) {
	negated := c != "" && c[0] == '^'
	if negated {
		c = c[1:]
	}
	in := false
	for n := 0; ; n++ {
		if c == "" {
			return "", false
		}
		if c[0] == ']' && n > 0 {
			return c[1:], in != negated
		}
		var lo, hi rune
		if lo, c, ok = classChar(c); !ok {
			return "", false
		}
		hi = lo
		if c != "" && c[0] == '-' {
			if hi, c, ok = classChar(c[1:]); !ok {
				return "", false
			}
		}
		if lo <= r && r <= hi {
			in = true
		}
	}
}

// classChar reads one character of a class, escaped or not.
func classChar(c string) (r rune, rest string, ok bool) {
	if c == "" || c[0] == '-' || c[0] == ']' {
		return 0, "", false
	}
	if c[0] == '\\' {
		if c = c[1:]; c == "" {
			return 0, "", false
		}
	}
	r, n := utf8.DecodeRuneInString(c)
	if r == utf8.RuneError && n == 1 {
		return 0, "", false
	}
	return r, c[n:], true
}
