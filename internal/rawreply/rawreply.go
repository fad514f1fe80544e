// Package rawreply says what raw bytes written as an SMTP reply tell a
// client, for the engine (smtpd), which writes them unread, and for the
// faults of the root package, which predict what the engine does after
// them.
package rawreply

import "bytes"

// Accepts reports whether raw tells the client that its command
// succeeded: it begins with "2".
func Accepts(raw []byte) bool { return len(raw) > 0 && raw[0] == '2' }

// StartsTLS reports whether raw, the reply to STARTTLS, tells the client
// to begin the TLS handshake: its last line is complete (it ends in LF)
// and a 220 (RFC 3207 4), the one reply after which clients begin it (Go's
// net/smtp and Python's smtplib take no other). A client told 250, or
// still reading an unfinished line, goes on in plaintext, or waits.
func StartsTLS(raw []byte) bool {
	body, ok := bytes.CutSuffix(raw, []byte("\n"))
	if !ok {
		return false
	}
	body = bytes.TrimSuffix(body, []byte("\r"))
	last := body[bytes.LastIndexByte(body, '\n')+1:]
	return bytes.Equal(last, []byte("220")) || bytes.HasPrefix(last, []byte("220 "))
}
