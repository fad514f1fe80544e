package mocksmtp

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mocksmtp/mocksmtp/internal/ascii"
	"github.com/mocksmtp/mocksmtp/smtpd"
)

// Rule names one thing a conforming SMTP client or message does. A
// [Finding] says a client broke one.
type Rule string

// The rules the server checks. Each is documented with the RFC section
// that states it; [Rule.Ref] returns it.
const (
	RuleBareLineEnding Rule = "bare-line-ending" // CR and LF only as CRLF, in commands and data (RFC 5321 2.3.8)
	RuleDotStuffing    Rule = "dot-stuffing"     // a data line starting with "." is sent with one more "." (RFC 5321 4.5.2)
	RuleLineLength     Rule = "line-length"      // text lines at most 998 octets before CRLF (RFC 5321 4.5.3.1.6, RFC 5322 2.1.1)
	Rule8BitMIME       Rule = "8bitmime"         // 8-bit data only with BODY=8BITMIME after the server offered it (RFC 6152 3)
	RuleSMTPUTF8       Rule = "smtputf8"         // UTF-8 addresses or header text only with SMTPUTF8 (RFC 6531 3.2)
	RuleHeloFirst      Rule = "helo-first"       // EHLO or HELO before a mail transaction (RFC 5321 4.1.4)
	// RuleSTARTTLSFirst: STARTTLS before any command but NOOP, EHLO,
	// HELO, HELP and QUIT, to a server that requires TLS (RFC 3207 4: it
	// answers every other 530 5.7.0 "Must issue a STARTTLS command
	// first"). A client whose STARTTLS the server refused for its own
	// reasons (454) is not at fault; one whose STARTTLS was refused for
	// the client's mistake (503 after HELO, 501 with an argument, 503
	// pipelined on a strict MTA) has not started TLS either. Checked only
	// on a server that requires TLS ([WithRequireTLS], or RequireTLS in
	// [WithEngineConfig]).
	RuleSTARTTLSFirst   Rule = "starttls-first"
	RulePipelining      Rule = "pipelining"       // no pipelining unless offered, and never past DATA, EHLO, QUIT... (RFC 2920 3.1)
	RuleQuit            Rule = "quit"             // QUIT before closing the connection (RFC 5321 4.1.1.10)
	RuleAuthPlaintext   Rule = "auth-plaintext"   // no AUTH over a connection without TLS (RFC 8314 3, RFC 4954 4); the finding says what of the credentials crossed
	RuleRequiredHeaders Rule = "required-headers" // a Date and a From header field (RFC 5322 3.6)
	RuleUniqueHeaders   Rule = "unique-headers"   // at most one Date, From, Sender, Reply-To, To, Cc, Bcc, Message-ID, In-Reply-To, References, Subject (RFC 5322 3.6)
	RuleMessageID       Rule = "message-id"       // a Message-ID header field (RFC 5322 3.6.4)
	RuleAddressSyntax   Rule = "address-syntax"   // From, To, Cc, Reply-To parse as address lists (RFC 5322 3.4)
	RuleMIME            Rule = "mime"             // well-formed MIME: boundaries, encodings, charsets (RFC 2045, RFC 2046)
	RuleHeaderEncoding  Rule = "header-encoding"  // non-ASCII header text RFC 2047-encoded (without SMTPUTF8) (RFC 2047 2, RFC 5322 2.2)
	// RuleNonSMTP: only SMTP commands on the SMTP port (RFC 5321 4.1). An
	// HTTP request line or header there is a cross-protocol attack, such
	// as a web page POSTing a form to it; the server closes at once.
	RuleNonSMTP Rule = "non-smtp"
	RuleDKIM    Rule = "dkim" // DKIM signatures verify, sign From, sign the whole body (no l=); at most 5 per message (RFC 6376 6.1, 5.4, 8.2)
	RuleARC     Rule = "arc"  // an ARC chain validates: sets 1 to N, one field of each kind, cv= right, every seal and the newest message signature verify (RFC 8617 5.2)
)

// Rules returns every rule, in the order reports group them: a new slice
// on each call, the caller's to change.
func Rules() []Rule { return slices.Clone(rules[:]) }

// rules lists every rule, in the order reports group them.
var rules = [...]Rule{
	RuleBareLineEnding, RuleDotStuffing, RuleLineLength, Rule8BitMIME, RuleSMTPUTF8,
	RuleHeloFirst, RuleSTARTTLSFirst, RulePipelining, RuleQuit, RuleAuthPlaintext,
	RuleRequiredHeaders, RuleUniqueHeaders, RuleMessageID, RuleAddressSyntax, RuleMIME, RuleHeaderEncoding,
	RuleNonSMTP,
	RuleDKIM, RuleARC,
}

var ruleInfo = map[Rule]struct {
	ref      string
	severity Severity
}{
	RuleBareLineEnding:  {"RFC 5321 2.3.8", SeverityError},
	RuleDotStuffing:     {"RFC 5321 4.5.2", SeverityError},
	RuleLineLength:      {"RFC 5321 4.5.3.1.6", SeverityError},
	Rule8BitMIME:        {"RFC 6152 3", SeverityError},
	RuleSMTPUTF8:        {"RFC 6531 3.2", SeverityError},
	RuleHeloFirst:       {"RFC 5321 4.1.4", SeverityError},
	RuleSTARTTLSFirst:   {"RFC 3207 4", SeverityError},
	RulePipelining:      {"RFC 2920 3.1", SeverityError},
	RuleQuit:            {"RFC 5321 4.1.1.10", SeverityWarning},
	RuleAuthPlaintext:   {"RFC 8314 3", SeverityWarning},
	RuleRequiredHeaders: {"RFC 5322 3.6", SeverityError},
	RuleUniqueHeaders:   {"RFC 5322 3.6", SeverityError},
	RuleMessageID:       {"RFC 5322 3.6.4", SeverityWarning},
	RuleAddressSyntax:   {"RFC 5322 3.4", SeverityError},
	RuleMIME:            {"RFC 2045", SeverityError},
	RuleHeaderEncoding:  {"RFC 2047 2", SeverityError},
	RuleNonSMTP:         {"RFC 5321 4.1", SeverityError},
	RuleDKIM:            {"RFC 6376 6.1", SeverityError},
	RuleARC:             {"RFC 8617 5.2", SeverityError},
}

// Ref returns the RFC section that states the rule ("RFC 5321 2.3.8").
func (r Rule) Ref() string { return ruleInfo[r].ref }

// Severity says how bad breaking a rule is.
type Severity int

// The severities: an error is what a strict MTA rejects; a warning is bad
// practice that works.
const (
	SeverityWarning Severity = iota + 1
	SeverityError
)

// String returns "warning" or "error".
func (s Severity) String() string {
	if s == SeverityError {
		return "error"
	}
	return "warning"
}

// Finding is one rule a client broke.
type Finding struct {
	Rule     Rule
	Severity Severity
	Session  int // the session's ID
	Line     int // the transcript line it refers to (1-based), 0 for none
	Message  int // the message's ID, 0 when it is about the session or a message the server refused (which has no ID)
	// Text is a one-line explanation. It may quote what the client sent
	// as sent (a verb, a DKIM signature's domain), any octet included:
	// String and [FindingsReport] print it as [Line.String] prints a
	// transcript line, what would not print as itself escaped.
	Text string
}

// String returns "error RFC 5321 2.3.8 bare-line-ending: session 1 line 9: ...",
// its Text escaped as [Line.String] escapes a transcript line's.
func (f Finding) String() string {
	where := fmt.Sprintf("session %d", f.Session)
	if f.Line > 0 {
		where += fmt.Sprintf(" line %d", f.Line)
	}
	if f.Message > 0 {
		where += fmt.Sprintf(" message %d", f.Message)
	}
	return fmt.Sprintf("%s %s %s: %s: %s", f.Severity, f.Rule.Ref(), f.Rule, where, printable(f.Text))
}

func finding(r Rule, text string, args ...any) Finding {
	return Finding{Rule: r, Severity: ruleInfo[r].severity, Text: fmt.Sprintf(text, args...)}
}

// uniqueFields may appear at most once in a message header (RFC 5322 3.6).
var uniqueFields = []string{"Date", "From", "Sender", "Reply-To", "To", "Cc", "Bcc",
	"Message-ID", "In-Reply-To", "References", "Subject"}

// checkData returns what is wrong with how message data was sent, as the
// engine's DATA reader counted it (for messages it rejected too).
func checkData(info smtpd.DataInfo) []Finding {
	var fs []Finding
	if info.BareLF > 0 || info.BareCR > 0 {
		fs = append(fs, finding(RuleBareLineEnding, "message data has %d lines ended by a bare LF and %d with a bare CR", info.BareLF, info.BareCR))
	}
	if info.UnstuffedDots > 0 {
		fs = append(fs, finding(RuleDotStuffing, "%d data lines start with a single \".\": the client did not dot-stuff them, and the server removed the dot", info.UnstuffedDots))
	}
	if info.LongLines > 0 {
		fs = append(fs, finding(RuleLineLength, "%d text lines are longer than 998 octets", info.LongLines))
	}
	return fs
}

// checkDelivery returns what is wrong with how an accepted message was
// sent: its data, as the engine counted it, and 8-bit data against its
// envelope. offered8bit tells whether 8BITMIME was offered. It does not
// read the content: see checkContent.
func checkDelivery(params map[string]string, info smtpd.DataInfo, offered8bit bool) []Finding {
	fs := checkData(info)
	_, utf8 := params["SMTPUTF8"]
	body := strings.ToUpper(params["BODY"])
	if info.EightBit && body != "8BITMIME" && body != "BINARYMIME" && !utf8 {
		if offered8bit {
			fs = append(fs, finding(Rule8BitMIME, "8-bit data sent without BODY=8BITMIME"))
		} else {
			fs = append(fs, finding(Rule8BitMIME, "8-bit data sent to a server that did not offer 8BITMIME"))
		}
	}
	return fs
}

// checkContent returns what is wrong with the content of m, a message
// parseMIME parsed, sent with the MAIL parameters params: its header and
// its MIME structure.
func checkContent(m *Message, params map[string]string) []Finding {
	var fs []Finding
	if ascii.HasEightBit(m.Raw[:m.headLen]) { // the header, as parseMIME split it
		if _, utf8 := params["SMTPUTF8"]; utf8 {
			// RFC 6532 allows UTF-8 header text with SMTPUTF8.
		} else {
			fs = append(fs, finding(RuleHeaderEncoding, "non-ASCII header text without RFC 2047 encoding or SMTPUTF8"))
		}
	}
	h := m.Header
	for _, f := range []string{"Date", "From"} {
		if !h.Has(f) {
			fs = append(fs, finding(RuleRequiredHeaders, "no %s header field", f))
		}
	}
	for _, f := range uniqueFields {
		if n := len(h.Values(f)); n > 1 {
			fs = append(fs, finding(RuleUniqueHeaders, "%d %s header fields, at most one allowed", n, f))
		}
	}
	if !h.Has("Message-Id") {
		fs = append(fs, finding(RuleMessageID, "no Message-ID header field"))
	}
	for _, fe := range m.addrErrs { // parsed once, by parseMIME
		fs = append(fs, finding(RuleAddressSyntax, "%s: %q: %v", fe.field, shorten(h.Get(fe.field), 60), fe.err))
	}
	if m.ParseErr != nil {
		fs = append(fs, finding(RuleMIME, "%v", strings.TrimPrefix(m.ParseErr.Error(), "mocksmtp: ")))
	}
	for _, p := range m.mimeLint {
		fs = append(fs, finding(RuleMIME, "%s", p))
	}
	return fs
}

// syncVerbs may only be the last command of a pipelined group (RFC 2920
// 3.1, RFC 3207 4, RFC 4954 4).
var syncVerbs = map[string]bool{"EHLO": true, "HELO": true, "DATA": true, "QUIT": true, "NOOP": true,
	"VRFY": true, "EXPN": true, "STARTTLS": true, "AUTH": true, "TURN": true}

// checkCommand returns what is wrong with a command event. pipelining
// tells whether the server offered PIPELINING in the reply to the last
// greeting it took (an EHLO); tlsFirst, whether the server requires TLS
// and the client has sent no STARTTLS that excuses the commands after it,
// and refused, the code and status of the last STARTTLS refused for the
// client's mistake, "" for none (see RuleSTARTTLSFirst).
// What the engine refused is read from the event's reason, never from its
// reply, which a persona or a fault may word otherwise.
func checkCommand(ev *smtpd.Event, helo string, tls, pipelining, tlsFirst bool, refused string) []Finding {
	var fs []Finding
	// An Auth event refused for its line was refused for a line of its
	// exchange: the AUTH line itself is refused as a command (BadCommand).
	line := "command line"
	if ev.Kind == smtpd.Auth {
		line = "AUTH response line"
	}
	switch ev.Reason {
	case smtpd.ReasonBareLF, smtpd.ReasonBareCR:
		fs = append(fs, finding(RuleBareLineEnding, "%s with a bare CR or LF", line))
	case smtpd.ReasonLineTooLong:
		fs = append(fs, finding(RuleLineLength, "%s longer than the server's limit", line))
	case smtpd.ReasonNonASCIIAddress:
		fs = append(fs, finding(RuleSMTPUTF8, "UTF-8 address in %s without SMTPUTF8", ev.Verb))
	case smtpd.ReasonForbiddenCommand: // the rest is not SMTP either
		return []Finding{finding(RuleNonSMTP, "%q is not an SMTP command but HTTP: a cross-protocol request, such as a web page's", ev.Verb)}
	}
	// Pipelined: the client sent more before this command's reply.
	if verb := shownVerb(ev); ev.Pipelined && verb != "" {
		if !pipelining {
			fs = append(fs, finding(RulePipelining, "commands sent after %s before its reply, but PIPELINING was not offered", verb))
		} else if syncVerbs[verb] {
			fs = append(fs, finding(RulePipelining, "commands sent after %s before its reply: %s must end a pipelined group", verb, verb))
		}
	}
	if (ev.Kind == smtpd.Mail || ev.Kind == smtpd.Rcpt || ev.Kind == smtpd.Data || ev.Kind == smtpd.Bdat) && helo == "" {
		fs = append(fs, finding(RuleHeloFirst, "%s before EHLO or HELO", ev.Verb))
	}
	if tlsFirst && ev.Reason == smtpd.ReasonTLSRequired {
		// Under RequireTLS, before TLS, the engine's only refusal for
		// want of TLS is its 530, before any other check.
		// Not "the client did not start TLS": it may, right after.
		if refused == "" {
			fs = append(fs, finding(RuleSTARTTLSFirst, "%s before STARTTLS, to a server that requires TLS", shownVerb(ev)))
		} else {
			fs = append(fs, finding(RuleSTARTTLSFirst, "%s before a STARTTLS the server took, to a server that requires TLS: the client's STARTTLS got %s", shownVerb(ev), refused))
		}
	}
	if ev.Kind == smtpd.Auth && !tls {
		// The mechanism as the transcript shows it: a word the server
		// does not know as one is masked, since it may be the initial
		// response sent in its place.
		mechanism, what := shownMechanism(ev), ""
		switch {
		case mechanism == "****":
			mechanism, what = "", "AUTH with a mechanism the server does not know"
		case mechanism == "":
			what = "AUTH without a mechanism"
		default:
			what = "AUTH " + shorten(mechanism, 30) // a client's word, of any length
		}
		fs = append(fs, finding(RuleAuthPlaintext, "%s over a connection without TLS: %s", what, authCrossed(ev, mechanism)))
	}
	return fs
}

// checkUnfinishedAuth returns the auth-plaintext finding of an AUTH
// exchange over a connection without TLS that has no Auth event: the
// session ended in the middle of it, the client gone or, when tooLong,
// its last response past 1 MiB, which the engine answered 500 5.5.6 and
// closed at. That response crossed the wire, as one the engine refused
// for its length does (authCrossed).
func checkUnfinishedAuth(exchange identified, mechanism AuthMechanism, tooLong bool) Finding {
	ev := &smtpd.Event{Kind: smtpd.Auth}
	ev.SASL, _ = exchange.(smtpd.SASLServer)
	if tooLong {
		ev.Reason = smtpd.ReasonLineTooLong
	}
	return finding(RuleAuthPlaintext, "AUTH %s over a connection without TLS, unfinished: %s", mechanism, authCrossed(ev, string(mechanism)))
}

// shownLine returns a command line as its transcript line shows it, its
// secrets masked (smtpd.Event.Masked).
func shownLine(ev *smtpd.Event) string {
	if ev.Masked != "" {
		return ev.Masked
	}
	return ev.Line
}

// shownVerb returns ev's verb as its transcript line shows it: an AUTH
// line's "AUTH" however spelled, "****" for a line the engine masks as
// credentials, never what the mask hides (a credential line's verb is
// the credential, upper-cased).
func shownVerb(ev *smtpd.Event) string {
	if ev.Masked == "" {
		return ev.Verb
	}
	verb, _, _ := strings.Cut(ev.Masked, " ")
	return verb
}

// shownMechanism returns an AUTH line's mechanism, upper-cased, as its
// transcript line shows it: "****" when the word after AUTH is masked
// (unknown to the server as a mechanism, it may be the initial
// response), "" when there is none.
func shownMechanism(ev *smtpd.Event) string {
	f := strings.Fields(shownLine(ev))
	if len(f) < 2 {
		return ""
	}
	return strings.ToUpper(f[1])
}

// authCrossed says what of the credentials an AUTH exchange over a
// connection without TLS sent in clear text: what its responses hold, by
// the mechanism's steps. They are those that reached the mechanism (the
// initial response included), and the one the engine refused for its
// framing, length or base64, which crossed the wire all the same; or,
// when the AUTH was refused before an exchange began (538 5.7.11 for AUTH
// only after TLS, say), its initial response. A cancelled step ("*")
// sends nothing; an empty response ("=", an empty line) is a step that
// sends no credential.
func authCrossed(ev *smtpd.Event, mechanism string) string {
	n, sent := 0, false // the responses, each a step, and whether one held anything
	switch x := ev.SASL.(type) {
	case nil:
		if f := strings.Fields(ev.Arg); len(f) > 1 {
			n, sent = 1, f[1] != "="
		}
	case *countedSASL:
		n, sent = x.responses, x.sent
		switch ev.Reason {
		case smtpd.ReasonBareLF, smtpd.ReasonBareCR, smtpd.ReasonNUL, smtpd.ReasonLineTooLong, smtpd.ReasonSyntax:
			n, sent = n+1, true
		}
	default: // a server of WithEngineConfig's NewSASL: its steps are unknown
		return "what the client sent for it crossed in clear text"
	}
	if !sent {
		return "no credential crossed yet, but the client began to authenticate in clear text"
	}
	if AuthMechanism(mechanism) == AuthCRAMMD5 && len(strings.Fields(ev.Arg)) > 1 {
		// CRAM-MD5 takes no initial response (the server's challenge
		// comes first) and refuses one at once: it held no digest.
		return "the initial response crossed in clear text"
	}
	var steps []string // what the client's responses have sent, after each
	switch m := AuthMechanism(mechanism); {
	case m == AuthPlain:
		steps = []string{"the user name and the password crossed in clear text"}
	case m == AuthLogin:
		steps = []string{"the user name crossed in clear text; the password was not sent",
			"the user name and the password crossed in clear text"}
	case m == AuthCRAMMD5:
		steps = []string{"the user name and an MD5 digest of the password crossed in clear text, the digest open to offline guessing"}
	case m == AuthXOAUTH2 || m == AuthOAUTHBEARER:
		steps = []string{"the bearer token crossed in clear text"}
	case strings.HasPrefix(string(m), "SCRAM-"):
		steps = []string{"the user name crossed in clear text; the proof of the password was not sent",
			"the user name and a proof of the password crossed in clear text, the proof open to offline guessing"}
	default:
		steps = []string{"the initial response crossed in clear text", "the client's responses crossed in clear text"}
	}
	return steps[min(n, len(steps))-1]
}

// maxRejectionText is the most octets of a rejection's text: a reply
// line is at most 512 octets with its CRLF (RFC 5321 4.5.3.1.5), and
// "550 5.7.29 " comes before the text. A finding may quote the client
// at any length (a DKIM tag folded over many lines).
const maxRejectionText = 512 - len("550 5.7.29 ") - len("\r\n")

// rejection is the reply a strict MTA sends for the first error-severity
// finding of an event, and whether there is one.
func rejection(fs []Finding) (smtpd.Reply, bool) {
	for _, f := range fs {
		if f.Severity != SeverityError {
			continue
		}
		ref := fmt.Sprintf(" (%s %s)", f.Rule.Ref(), f.Rule)
		text := clipReplyText(f.Text, maxRejectionText-len(ref)) + ref
		switch f.Rule {
		case RulePipelining, RuleHeloFirst:
			return smtpd.NewReply(503, "5.5.1 "+text), true
		case RuleSTARTTLSFirst: // the engine's own 530 stands (handle); the same reply
			return smtpd.NewReply(530, "5.7.0 "+text), true
		case RuleBareLineEnding, RuleDotStuffing, RuleLineLength:
			return smtpd.NewReply(550, "5.5.2 "+text), true
		case Rule8BitMIME:
			return smtpd.NewReply(554, "5.6.1 "+text), true
		case RuleSMTPUTF8, RuleHeaderEncoding:
			return smtpd.NewReply(553, "5.6.7 "+text), true
		case RuleNonSMTP: // the engine closes the connection after it
			return smtpd.NewReply(421, "4.7.0 "+text), true
		case RuleDKIM:
			return smtpd.NewReply(550, "5.7.20 "+text), true // RFC 7372: no passing DKIM signature
		case RuleARC:
			return smtpd.NewReply(550, "5.7.29 "+text), true // RFC 8617 5.2.2: ARC validation failure
		default:
			return smtpd.NewReply(550, "5.6.0 "+text), true
		}
	}
	return smtpd.Reply{}, false
}

// replyText makes s fit the text of an SMTP reply, printable ASCII and
// tab on one line (RFC 5321 4.2): a finding quotes what the client sent
// (a DKIM tag, a header), which may be any octet; any other is written
// \xNN.
func replyText(s string) string {
	printable := func(c byte) bool { return c == '\t' || c >= ' ' && c <= '~' }
	i := 0
	for i < len(s) && printable(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s[:i])
	for ; i < len(s); i++ {
		if c := s[i]; printable(c) {
			b = append(b, c)
		} else {
			b = fmt.Appendf(b, `\x%02x`, c)
		}
	}
	return string(b)
}

// clipReplyText returns replyText(s) if it has at most n octets, else
// the longest replyText of a prefix of s that fits in n octets with
// "..." after it: the prefix ends between runes (an octet that is no
// UTF-8 counts as one), so the cut never splits a \xNN escape nor the
// escapes of one UTF-8 sequence.
func clipReplyText(s string, n int) string {
	if t := replyText(s); len(t) <= n {
		return t
	}
	width := func(c byte) int { // the octets of c in replyText
		if c == '\t' || c >= ' ' && c <= '~' {
			return 1
		}
		return len(`\xNN`)
	}
	end, used := 0, 0
	for end < len(s) {
		_, size := utf8.DecodeRuneInString(s[end:])
		w := 0
		for _, c := range []byte(s[end : end+size]) {
			w += width(c)
		}
		if used+w > n-len("...") {
			break
		}
		end, used = end+size, used+w
	}
	return replyText(s[:end]) + "..."
}

// FindingsReport returns findings as readable text grouped by rule, each
// with the transcript lines it refers to. Within a rule they are listed by
// session ID, each session's in the order of fs: sessions that run at once
// record their findings in any order, and the report reads the same
// whichever ended first. The findings of rules it does not know come
// after those of its own, by rule name. What of a finding's Text would
// not print as itself is escaped, as [Line.String] escapes it.
func FindingsReport(fs []Finding, sessions []*Session) string {
	byID := map[int]*Session{}
	for _, s := range sessions {
		byID[s.ID] = s
	}
	groups := map[Rule][]Finding{}
	for _, f := range fs {
		groups[f.Rule] = append(groups[f.Rule], f)
	}
	for _, g := range groups {
		slices.SortStableFunc(g, func(a, b Finding) int { return cmp.Compare(a.Session, b.Session) })
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", plural(len(fs), "conformance finding"))
	var unknown []Rule // a program's own rules, after ours, by name
	for r := range groups {
		if _, known := ruleInfo[r]; !known {
			unknown = append(unknown, r)
		}
	}
	slices.Sort(unknown)
	order := append(Rules(), unknown...)
	for _, r := range order {
		g := groups[r]
		if len(g) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s %s (%s), %d×\n", g[0].Severity, r, r.Ref(), len(g))
		for _, f := range g {
			where := fmt.Sprintf("session %d", f.Session)
			if f.Message > 0 {
				where += fmt.Sprintf(", message %d", f.Message)
			}
			fmt.Fprintf(&b, "  %s: %s\n", where, printable(f.Text)) // a client's octets escaped, as in the transcript
			if s := byID[f.Session]; s != nil {
				if _, kept := s.line(f.Line); kept {
					for i := f.Line - 1; i <= f.Line+1; i++ {
						l, kept := s.line(i)
						if !kept {
							continue
						}
						mark := " "
						if i == f.Line {
							mark = ">"
						}
						fmt.Fprintf(&b, "   %s%4d %s\n", mark, i, l)
					}
				}
			}
		}
	}
	return b.String()
}

// conformanceOptions are the findings options.
type conformanceOptions struct {
	strict bool
	reject bool
	off    map[Rule]bool
}

// WithStrict makes every conformance finding (see [Rule]) fail the test
// at cleanup, with a report grouped by rule: the test of [Start], with
// every finding of the server; on a server of [New], which has no test,
// the test of each [Server.Inbox], with its inbox's ([Inbox.Findings]).
func WithStrict() Option {
	return optionFunc(func(o *options) error {
		o.conformance.strict = true
		return nil
	})
}

// WithRejectNonconforming makes the server answer a command or message
// that breaks an error-severity rule with the 5xx reply a strict MTA
// would send (503 5.5.1, 550 5.5.2, 553 5.6.7, 554 5.6.1, 550 5.7.20 for
// DKIM, 550 5.7.29 for ARC, 550 5.6.0), so that tests can exercise a
// client's error handling. The reply's text is the finding's, cut to fit
// the 512 octets of a reply line. A fault's own reply takes precedence
// (a [Fault.Reply] or [Fault.RawReply], or none: [Fault.Drop]...); a
// fault without one ([Fault.Delay], [Fault.Disconnect]...) leaves the
// rejection, delayed or followed by its ending, as without the fault;
// what such a fault does after a positive reply (a TLS failure of the
// handshake after STARTTLS, [Fault.DropAfterBytes] at DATA) is then not
// done, and the transcript notes that. A
// command refused for want of TLS ([WithRequireTLS]'s 530 5.7.0 before
// STARTTLS, [WithRequireTLSForAuth]'s 538) keeps that reply, which a
// strict MTA gives before any other check.
func WithRejectNonconforming() Option {
	return optionFunc(func(o *options) error {
		o.conformance.reject = true
		return nil
	})
}

// WithoutRules switches rules off: they are neither recorded nor enforced.
func WithoutRules(rules ...Rule) Option {
	return optionFunc(func(o *options) error {
		for _, r := range rules {
			if _, ok := ruleInfo[r]; !ok {
				return fmt.Errorf("mocksmtp: WithoutRules: unknown rule %q", r)
			}
			if o.conformance.off == nil {
				o.conformance.off = map[Rule]bool{}
			}
			o.conformance.off[r] = true
		}
		return nil
	})
}

// conform checks one event (and its message, for Message events) and
// returns the findings, placed in the session's transcript at line. The
// content of a message is checked now when parsed, otherwise when first
// read (see kept); line is where its findings go: eventLine, the event's
// own line when handle took it before a fault's note (0: the transcript's
// last line, the event's). What the server offered
// is what the last greeting it took offered (rec.ehlo, which handle sets
// once the answer is known: a greeting refused, by a fault or by
// WithRejectNonconforming, offers nothing and takes nothing away).
func (s *Server) conform(rec *session, c *smtpd.Conn, ev *smtpd.Event, m *Message, parsed bool, eventLine int) (fs []Finding, line int) {
	ehlo := rec.ehlo
	offered := func(e smtpd.Extension) bool { return ehlo && s.opts.engine.Disabled&e == 0 }
	switch {
	case m != nil:
		fs = checkDelivery(m.Params, ev.DataInfo, offered(smtpd.Ext8BitMIME))
		fs = append(fs, checkDKIM(m)...) // verified on arrival (dkim.go)
		fs = append(fs, checkARC(m)...)  // validated on arrival (arc.go)
		if parsed {
			fs = append(fs, checkContent(m, m.Params)...)
		}
	case ev.Kind == smtpd.Message: // rejected by the engine: what the data showed
		fs = checkData(ev.DataInfo)
	case ev.Verb != "" || ev.Kind == smtpd.BadCommand:
		tlsFirst := s.opts.engine.RequireTLS && c.TLS() == nil && !rec.startTLS
		fs = checkCommand(ev, c.Helo(), c.TLS() != nil, offered(smtpd.ExtPipelining), tlsFirst, rec.startTLSRefused)
	}
	if ev.Kind == smtpd.Handshake {
		rec.ehlo = false // the engine forgets the EHLO before TLS (RFC 3207 4.2)
	}
	fs = slices.DeleteFunc(fs, func(f Finding) bool { return s.opts.conformance.off[f.Rule] })
	if len(fs) == 0 && m == nil {
		return nil, 0
	}
	line = eventLine
	if line == 0 {
		rec.mu.Lock()
		line = rec.nlines()
		rec.mu.Unlock()
	}
	for i := range fs {
		fs[i].Session, fs[i].Line = rec.id, line
	}
	return fs, line
}

// addFindings records findings of a session.
func (s *Server) addFindings(rec *session, fs []Finding) {
	s.addRefusedFindings(rec, fs, nil)
}

// addRefusedFindings records findings of a session about a message it
// refused, sent to the recipients to (nil: findings about the session),
// which are those recipients' inboxes' only (Server.findings), as those
// of a message kept are.
func (s *Server) addRefusedFindings(rec *session, fs []Finding, to []string) {
	if len(fs) == 0 {
		return
	}
	rec.mu.Lock()
	from := s.seq.Load()
	s.addFindingsLocked(rec, fs)
	if x := rec.x; to != nil && x != nil {
		for i := len(x.findings) - 1; i >= 0 && x.findSeqs[i] > from; i-- {
			x.refusedTo = putIn(x.refusedTo, x.findSeqs[i], sentTo{to: to, line: x.findings[i].Line})
		}
	}
	rec.mu.Unlock()
}

// addFindingsLocked records findings of a session, each numbered in the
// server's order of findings (Server.seq), which Findings merges the
// sessions' lists by. rec.mu must be held.
//
// A session keeps at most maxRuleFindings findings of each rule about
// itself, the last saying that it stops: a client that breaks a rule in
// an endless loop (pipelined EHLOs for an hour) would otherwise grow the
// record without bound, as the transcript cap stops its transcript from
// doing. Those that WithRetention forgets make room again. The findings
// of a message (Finding.Message set) are not counted: there are as many
// as the messages delivered allow, and they are the same whether checked
// on arrival or on first read.
func (s *Server) addFindingsLocked(rec *session, fs []Finding) {
	for _, f := range fs {
		if f.Message != 0 {
			rec.addFinding(f, s.seq.Add(1))
			continue
		}
		switch n := rec.ruleKept(f.Rule); {
		case n >= maxRuleFindings:
			continue
		case n == maxRuleFindings-1:
			f.Text = fmt.Sprintf("%s (the session's %dth finding of this rule: the later ones are not recorded)", f.Text, maxRuleFindings)
		}
		rec.addFinding(f, s.seq.Add(1))
	}
	s.changes.changed(changeLine)
}

// maxRuleFindings is how many findings of one rule a session records.
const maxRuleFindings = 100

// endConformanceLocked checks how a session ended, for err. rec.mu is
// held. A line past what the engine reads ends the session with no event
// (the engine answers it and closes: smtpd.ErrLineTooLong), and is a
// line-length finding as a shorter one over its limit is, on its line:
// read, the transcript line of the last input the engine traced. A
// client that closes after the server's 421 (said421: its last reply, one
// that a fault left the connection open after, Stall or RawReply) owes no
// QUIT: 421 says that the server closes the channel (RFC 5321 3.8). One
// that left in the middle of it (smtpd.ErrReplyCut: a paced 421, traced
// whole) was not told, and is.
func (s *Server) endConformanceLocked(rec *session, err error, read int, said421 bool) {
	var f Finding
	line := rec.nlines()
	switch {
	case errors.Is(err, smtpd.ErrLineTooLong) && !s.opts.conformance.off[RuleLineLength]:
		f = finding(RuleLineLength, "line longer than 1 MiB, past what the server reads: it closed the connection")
		line = read
	case rec.ended == EndClientClosed && (!said421 || errors.Is(err, smtpd.ErrReplyCut)) && !s.opts.conformance.off[RuleQuit]:
		f = finding(RuleQuit, "the client closed the connection without QUIT")
	default:
		return
	}
	f.Session, f.Line = rec.id, line
	s.addFindingsLocked(rec, []Finding{f})
}

// said421 reports whether text, a reply line or the raw bytes of a reply
// as the engine traced them, ends with a line of code 421.
func said421(text string) bool {
	text = strings.TrimRight(text, "\r\n")
	text = text[strings.LastIndexByte(text, '\n')+1:]
	return len(text) >= 3 && text[:3] == "421" && (len(text) == 3 || text[3] == ' ' || text[3] == '-')
}

// Findings returns every conformance finding so far, in order: the rules
// the clients broke (see [Rule]). Findings are recorded in every mode;
// [WithStrict] fails the test on them, [WithRejectNonconforming] refuses
// what breaks them. Under [WithRetention], only the findings of the
// sessions the server keeps. It checks the content of the messages no one
// has read yet (see [Message.Findings]), outside the server's lock. A
// session records at most 100 findings of one rule about itself (not
// about a message it delivered), the 100th saying so. [Inbox.Findings]
// returns those of an inbox's sessions.
func (s *Server) Findings() []Finding { return s.findings(nil) }

// findings returns the findings of the sessions that belong to in, in
// order, but those it had at its last Reset; every session's for nil.
func (s *Server) findings(in *Inbox) []Finding {
	s.mu.Lock()
	recs := slices.Clone(s.sessions)
	var domain string
	var after uint64
	if in != nil {
		domain, after = in.domain, in.reset
	}
	s.mu.Unlock()
	var all []seqFinding
	for _, r := range recs {
		r.mu.Lock()
		named, ok := r.inboxLocked(domain)
		if !ok {
			r.mu.Unlock()
			continue
		}
		fl := r.findingsLocked()
		others, refused := r.notInboxLocked(in)
		r.mu.Unlock()
		// A session that named the inbox after its Reset brings all its
		// findings: those before Reset were not the inbox's then.
		for _, f := range fl.merged() {
			if (f.seq > after || named >= after) && !others[f.Message] && !refused[f.seq] {
				all = append(all, f)
			}
		}
	}
	slices.SortStableFunc(all, func(a, b seqFinding) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]Finding, len(all))
	for i, f := range all {
		out[i] = f.Finding
	}
	return out
}

// notInboxLocked returns the messages of the session that are not in's
// (none when in is nil): those kept or forgotten by ID, those the server
// refused by the number of each of their findings. A finding about a
// message is its recipients' inboxes', not those of the session's other
// messages, also once the message is forgotten (DeleteMessage: the
// session keeps its findings) or when it was refused (its findings have
// no Message). r.mu must be held.
func (r *session) notInboxLocked(in *Inbox) (ids map[int]bool, seqs map[uint64]bool) {
	if in == nil {
		return nil, nil
	}
	for _, k := range r.messages {
		if !in.hasTo(k.to) {
			ids = putIn(ids, k.id, true)
		}
	}
	if r.x != nil {
		for id, m := range r.x.forgotTo {
			if !in.hasTo(m.to) {
				ids = putIn(ids, id, true)
			}
		}
		for seq, m := range r.x.refusedTo {
			if !in.hasTo(m.to) {
				seqs = putIn(seqs, seq, true)
			}
		}
	}
	return ids, seqs
}

// putIn returns m with v at k, m made when nil.
func putIn[K comparable, V any](m map[K]V, k K, v V) map[K]V {
	if m == nil {
		m = make(map[K]V)
	}
	m[k] = v
	return m
}

// sessionsOf returns the sessions of the findings fs that the server
// keeps, each once: those whose transcripts FindingsReport quotes, not a
// copy of every session.
func (s *Server) sessionsOf(fs []Finding) []*Session {
	var sessions []*Session
	seen := map[int]bool{}
	for _, f := range fs {
		if !seen[f.Session] {
			seen[f.Session] = true
			if ss := s.Session(f.Session); ss != nil {
				sessions = append(sessions, ss)
			}
		}
	}
	return sessions
}

// checkFindings fails t, the test of Start, with the findings report in
// strict mode.
func (s *Server) checkFindings(t testing.TB) {
	t.Helper()
	if !s.opts.conformance.strict {
		return
	}
	if fs := s.Findings(); len(fs) > 0 {
		t.Errorf("mocksmtp: Start at %s: the client broke the rules (WithStrict): %s", s.exp.started, FindingsReport(fs, s.sessionsOf(fs)))
	}
}
