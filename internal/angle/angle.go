// Package angle finds the end of a path in angle brackets, as SMTP writes
// one ("<bob@example.com>", RFC 5321 4.1.2): the engine parses MAIL and
// RCPT by it, and the root reads the address of a RCPT the engine
// refused by the same rule, so that the two never disagree on where an
// address ends.
package angle

// Close returns the index in s of the '>' that closes the path that s
// begins with (s[0] is its '<'), skipping quoted strings and the
// characters they escape ("<\"a>b\"@x>" closes at its last octet), or -1
// when nothing closes it.
func Close(s string) int {
	quoted := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == '>':
			return i
		}
	}
	return -1
}
