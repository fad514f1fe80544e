// Package enhanced holds the rule by which the engine (smtpd) fills in a
// reply's enhanced status code (RFC 3463) that its author left out, so
// that the root package says a reply as the client reads it.
package enhanced

import "fmt"

// Status returns the enhanced status code of a reply of code whose given
// status is status ("" when none was given), answering a command whose
// default reply is defCode with defStatus: status itself when given, or
// for codes without one (below 200, 600 and up, 3yz); defStatus when it
// is of the same class; none when the default of that class has none (a
// greeting, EHLO, HELO); otherwise the class's generic one ("5.0.0").
func Status(code int, status string, defCode int, defStatus string) string {
	class := code / 100
	switch {
	case status != "" || code < 200 || code >= 600 || class == 3:
		return status
	case defStatus != "" && defCode/100 == class:
		return defStatus
	case defCode != 0 && defStatus == "" && defCode/100 == class:
		return "" // greeting, EHLO, HELO: no enhanced status
	case class == 2 || class == 4 || class == 5:
		return fmt.Sprintf("%d.0.0", class)
	}
	return ""
}
