package smtpd

import (
	"strconv"
	"strings"

	"github.com/mocksmtp/mocksmtp/internal/enhanced"
)

// Reply is an SMTP reply: a three-digit code, an optional RFC 3463 enhanced
// status code, and one or more lines of text. A Reply is also an error, so a
// SASL server or a driver can return one and have it sent as it is.
type Reply struct {
	Code int
	// Status is the enhanced status code ("5.1.1"). An empty Status is
	// derived: from the engine's default reply for the event when the
	// classes agree, otherwise "2.0.0", "4.0.0" or "5.0.0". Greetings, EHLO
	// and HELO replies and 3xx replies carry none.
	Status string
	// Lines is the text, one entry per reply line. No line may contain CR or
	// LF; an empty Lines writes the code alone.
	Lines []string
}

// NewReply returns the reply with the given code and text. A leading
// enhanced status code in text ("4.3.2 try later") becomes the Status; a
// text with "\n" in it becomes a multiline reply, on each line of which
// the Status is written once: a line that starts with it too ("4.3.2
// try later\n4.3.2 or never", as replies are on the wire) does not get it
// twice.
func NewReply(code int, text string) Reply {
	r := Reply{Code: code}
	if st, rest, ok := cutStatus(text); ok {
		r.Status, text = st, rest
	}
	if text != "" {
		r.Lines = strings.Split(strings.ReplaceAll(text, "\r", ""), "\n")
	}
	for i := 1; r.Status != "" && i < len(r.Lines); i++ {
		if st, rest, ok := cutStatus(r.Lines[i]); ok && st == r.Status {
			r.Lines[i] = rest
		}
	}
	return r
}

// cutStatus splits a leading "x.y.z " enhanced status code off text.
func cutStatus(text string) (status, rest string, ok bool) {
	st, rest, _ := strings.Cut(text, " ")
	if !validStatus(st) {
		return "", text, false
	}
	return st, rest, true
}

// validStatus reports whether s is an RFC 3463 enhanced status code:
// class "." subject "." detail, class 2, 4 or 5, subject and detail 1 to 3 digits.
func validStatus(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || !strings.ContainsAny(parts[0], "245") {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) < 1 || len(p) > 3 {
			return false
		}
		if _, err := strconv.Atoi(p); err != nil || p[0] == '+' || p[0] == '-' {
			return false
		}
	}
	return true
}

// Text returns the reply's lines joined by "\n".
func (r Reply) Text() string { return strings.Join(r.Lines, "\n") }

// String returns the reply on one line: code, status and text, the lines
// of a multiline reply joined by " / " ("554 5.7.1 Rejected / Spam").
func (r Reply) String() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(r.Code))
	if r.Status != "" {
		b.WriteString(" ")
		b.WriteString(r.Status)
	}
	if len(r.Lines) > 0 {
		b.WriteString(" ")
		b.WriteString(strings.Join(r.Lines, " / "))
	}
	return b.String()
}

// Error implements error: "smtpd: 550 5.1.1 no such user".
func (r Reply) Error() string { return "smtpd: " + r.String() }

// Positive reports whether the code is 2xx or 3xx.
func (r Reply) Positive() bool { return r.Code >= 200 && r.Code < 400 }

// class returns the first digit of the code.
func (r Reply) class() int { return r.Code / 100 }

// appendWire appends the reply as it is written on the wire.
func (r Reply) appendWire(b []byte) []byte {
	lines := r.Lines
	if len(lines) == 0 {
		lines = []string{""}
	}
	for i, l := range lines {
		b = strconv.AppendInt(b, int64(r.Code), 10)
		sep := byte(' ')
		if i < len(lines)-1 {
			sep = '-'
		}
		// A code without text keeps its separator ("334 "): RFC 4954 requires
		// it on SASL challenges, and Go's net/textproto rejects a bare "334".
		b = append(b, sep)
		if r.Status != "" {
			b = append(b, r.Status...)
			if l != "" {
				b = append(b, ' ')
			}
		}
		b = append(b, l...)
		b = append(b, "\r\n"...)
	}
	return b
}

// withStatus fills an empty Status: from def when it is of the same class,
// otherwise generically (enhanced.Status, which the root package reads
// too). Codes without an enhanced status keep none.
func (r Reply) withStatus(def Reply) Reply {
	r.Status = enhanced.Status(r.Code, r.Status, def.Code, def.Status)
	return r
}

// reply is a shorthand for building the engine's own replies.
func reply(code int, status string, lines ...string) Reply {
	return Reply{Code: code, Status: status, Lines: lines}
}
