package smtpd

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// authLineLimit is the longest AUTH line (RFC 4954 4).
const authLineLimit = 12288

// readCommand reads one command line and classifies it.
func (c *Conn) readCommand(ctx context.Context) (*Event, error) {
	line, n, long, err := c.readLine(ctx, max(authLineLimit, c.cfg.MaxCommandLine+c.cfg.ParamAllowance))
	if err != nil {
		return nil, c.readErr(ctx, err, "")
	}
	if long {
		c.trace(Trace{Kind: TraceCommand, Text: fmt.Sprintf("<line of %d octets, too long>", n), Size: int64(n)})
		// A BDAT line too long to read, told by its first octets: its
		// chunk follows, and the connection closes after the reply (see
		// finish).
		ev := &Event{Kind: BadCommand, unreadChunk: c.isBdatLine(string(c.head))}
		if isAuthLine(string(c.head)) {
			// An AUTH refused, told by its first octets too: the lines
			// of the exchange it began are masked (see mask).
			c.authRefused = true
		}
		return c.reject(ev, ReasonLineTooLong, reply(500, "5.5.2", "Error: line too long")), nil
	}
	return c.command(ctx, line)
}

// reject marks ev as refused by the engine, for the reason why, with r.
func (c *Conn) reject(ev *Event, why Reason, r Reply) *Event {
	ev.Err, ev.Reply, ev.Reason = r, r, why
	return ev
}

// command classifies one complete line (terminator included). An AUTH
// the engine refuses, however it is spelled, leaves the lines the client
// may send for its exchange to be masked (see mask).
func (c *Conn) command(ctx context.Context, raw []byte) (*Event, error) {
	ev, err := c.classify(ctx, raw)
	if ev != nil && isAuthLine(ev.Line) {
		c.authRefused = ev.Err != nil
	}
	return ev, err
}

// framing returns a line as readLine read it (LF included) without its
// terminator, and what is wrong with its framing, with the reply for it
// (ReasonNone when nothing is): CR and LF go only together, as the CRLF
// that ends a line (RFC 5321 2.3.8), and a line holds no NUL. A command
// line and a line of an AUTH exchange (RFC 4954 4: a response is a line,
// ended by CRLF) are held to it alike, and refused alike: 500 5.5.2, the
// reply for a line the server cannot take, as for one too long.
func framing(raw []byte) (text []byte, why Reason, r Reply) {
	text = raw[:len(raw)-1]
	crlf := len(text) > 0 && text[len(text)-1] == '\r'
	if crlf {
		text = text[:len(text)-1]
	}
	switch {
	case !crlf:
		return text, ReasonBareLF, reply(500, "5.5.2", "Error: bare <LF> received")
	case bytes.IndexByte(text, '\r') >= 0:
		return text, ReasonBareCR, reply(500, "5.5.2", "Error: bare <CR> received")
	case bytes.IndexByte(text, 0) >= 0:
		return text, ReasonNUL, reply(500, "5.5.2", "Error: NUL character received")
	}
	return text, ReasonNone, Reply{}
}

// kindOf returns the event kind of a command's verb, and whether the
// engine takes that command (BDAT only with CHUNKING offered).
func (c *Conn) kindOf(verb string) (Kind, bool) {
	kind, ok := verbs[verb]
	if !ok || kind == Bdat && !c.cfg.has(ExtChunking) {
		return BadCommand, false
	}
	return kind, true
}

// classify classifies one complete line (terminator included).
func (c *Conn) classify(ctx context.Context, raw []byte) (*Event, error) {
	text, why, bad := framing(raw)
	ev := &Event{Line: string(text)}
	ev.Pipelined = c.br.Buffered() > 0
	ev.Verb, ev.Arg = parseCommand(ev.Line)
	ev.Masked = c.mask(ev)
	c.trace(Trace{Kind: TraceCommand, Text: ev.Line, Masked: ev.Masked})
	if slices.ContainsFunc(c.cfg.ForbiddenCommands, func(f string) bool { return equalFoldASCII(f, ev.Verb) }) {
		// Not SMTP (HTTP, most likely), however the line ends: the
		// connection closes after the reply (finish).
		ev.Kind = BadCommand
		return c.reject(ev, ReasonForbiddenCommand, reply(421, "4.7.0", c.cfg.Hostname+" Error: not an SMTP command, closing connection")), nil
	}
	kind, ok := c.kindOf(ev.Verb)
	if why != ReasonNone {
		// A BDAT line framed wrong: the octets of its chunk follow, and
		// the connection closes after the reply (see finish).
		ev.Kind, ev.unreadChunk = BadCommand, c.isBdatLine(ev.Line)
		return c.reject(ev, why, bad), nil
	}
	if !ok {
		// A BDAT spelled oddly too (a tab after the verb, blanks before
		// it): unknown, its chunk follows all the same.
		ev.Kind, ev.unreadChunk = BadCommand, c.isBdatLine(ev.Line)
		return c.reject(ev, ReasonUnknownCommand, reply(500, "5.5.2", "Error: command not recognized")), nil
	}
	ev.Kind = kind
	if kind == Bdat {
		// Unknown until bdat reads it: a BDAT refused before then has a
		// chunk that cannot be skipped (see finishBdat).
		ev.Size = -1
	}
	limit := c.cfg.MaxCommandLine
	switch {
	case kind == Auth:
		limit = authLineLimit
	case (kind == Mail || kind == Rcpt) && strings.Contains(strings.TrimSpace(ev.Arg), "> "):
		limit += c.cfg.ParamAllowance
	}
	if len(raw) > limit {
		return c.reject(ev, ReasonLineTooLong, reply(500, "5.5.2", "Error: line too long")), nil
	}
	if c.refused && kind != Quit {
		return c.reject(ev, ReasonSequence, reply(503, "5.5.1", "Error: service refused, send QUIT")), nil
	}
	return c.verb(ctx, ev)
}

var verbs = map[string]Kind{
	"HELO": Helo, "EHLO": Ehlo, "STARTTLS": StartTLS, "AUTH": Auth,
	"MAIL": Mail, "RCPT": Rcpt, "DATA": Data, "BDAT": Bdat, "RSET": Rset,
	"NOOP": Noop, "QUIT": Quit, "VRFY": Vrfy, "EXPN": Expn, "HELP": Help,
}

// mask returns the command line ev as a transcript may show it ("" for
// as it is): an AUTH line, however spelled, shows its verb and a known
// mechanism, its initial response masked; after an AUTH the engine
// refused, every line but a command is masked, since it may be part of
// the exchange the client started (credentials pipelined after AUTH).
func (c *Conn) mask(ev *Event) string {
	if isAuthLine(ev.Line) {
		return c.maskAuth(ev.Line)
	}
	if c.authRefused {
		if _, known := verbs[ev.Verb]; !known && ev.Line != "*" {
			return "****"
		}
		c.authRefused = false // a command, or "*" cancelling the exchange
	}
	return ""
}

// isAuthLine reports whether line is an AUTH command, however spelled.
func isAuthLine(line string) bool { return spelledAs(line, "AUTH") }

// isBdatLine reports whether line is a BDAT command, however spelled,
// when the engine offers CHUNKING: a client that sends it sends its chunk
// after it, which the engine cannot skip when it refuses the line before
// reading the chunk's size (unreadChunk).
func (c *Conn) isBdatLine(line string) bool {
	return c.cfg.has(ExtChunking) && spelledAs(line, "BDAT")
}

// spelledAs reports whether line is a command of verb however a client
// may spell it: any case, blanks or tabs before and after the verb (RFC
// 5321 wants one SP after it, and none before).
func spelledAs(line, verb string) bool {
	t := strings.TrimLeft(line, " \t")
	return len(t) >= len(verb) && strings.EqualFold(t[:len(verb)], verb) && (len(t) == len(verb) || t[len(verb)] <= ' ')
}

// maskAuth returns an AUTH line with all but its verb and mechanism
// masked, or "" when nothing follows them. A mechanism is shown only when
// the server knows its name: a client that left it out sends its initial
// response in its place.
func (c *Conn) maskAuth(line string) string {
	f := strings.FieldsFunc(strings.TrimLeft(line, " \t")[4:], func(r rune) bool { return r <= ' ' })
	masked := "AUTH"
	if len(f) > 0 && c.knownMechanism(f[0]) {
		masked += " " + f[0]
		f = f[1:]
	}
	if len(f) == 0 {
		return "" // nothing secret
	}
	return masked + " ****"
}

// knownMechanism reports whether name is a SASL mechanism the server
// offers, or a well-known one of the IANA registry that clients use with
// SMTP.
func (c *Conn) knownMechanism(name string) bool {
	name = upperASCII(name)
	for _, ms := range [][]string{c.cfg.AuthMechanisms, c.cfg.AuthMechanismsBeforeTLS} {
		if slices.ContainsFunc(ms, func(m string) bool { return equalFoldASCII(m, name) }) {
			return true
		}
	}
	switch name {
	case "PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5", "XOAUTH2", "OAUTHBEARER", "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS",
		"SCRAM-SHA-256", "SCRAM-SHA-256-PLUS", "GSSAPI", "NTLM", "EXTERNAL", "ANONYMOUS":
		return true
	}
	return false
}

// mustStartTLS is the reply to a command sent before TLS that a server
// requiring TLS refuses (RFC 3207 4).
var mustStartTLS = reply(530, "5.7.0", "Must issue a STARTTLS command first")

// needsTLS reports whether RequireTLS refuses the command of kind before
// TLS: every command but those RFC 3207 4 lets through (NOOP, EHLO,
// STARTTLS, QUIT), HELO, which Postfix lets through too (its commands
// with SMTPD_CMD_FLAG_PRE_TLS under smtpd_tls_security_level=encrypt),
// and HELP, which Postfix does not implement (502 5.5.2, before TLS or
// after): neither gives a client anything of the mail system.
func (c *Conn) needsTLS(kind Kind) bool {
	switch kind {
	case Noop, Ehlo, Helo, StartTLS, Quit, Help:
		return false
	}
	return c.cfg.RequireTLS && c.tls == nil
}

func (c *Conn) verb(ctx context.Context, ev *Event) (*Event, error) {
	arg := ev.Arg
	if ev.Kind != Bdat && c.needsTLS(ev.Kind) {
		// Before any other check, as Postfix: the client learns first
		// what it must do (BDAT's comes once its size is read, so that
		// its chunk is skipped, before the checks of its arguments).
		return c.reject(ev, ReasonTLSRequired, mustStartTLS), nil
	}
	switch ev.Kind {
	case Helo, Ehlo:
		ev.Arg = strings.TrimSpace(arg)
		if ev.Arg == "" {
			return c.reject(ev, ReasonSyntax, reply(501, "5.5.4", "Syntax: "+ev.Verb+" hostname")), nil
		}
		if ev.Kind == Helo {
			ev.Reply = reply(250, "", c.cfg.Hostname)
		} else {
			ev.Reply = c.ehloReply()
		}
	case StartTLS:
		switch {
		case c.cfg.TLSConfig == nil:
			return c.reject(ev, ReasonNotImplemented, reply(502, "5.5.1", "Error: command not implemented")), nil
		case c.tls != nil:
			return c.reject(ev, ReasonSequence, reply(503, "5.5.1", "Error: TLS already active")), nil
		case arg != "":
			return c.reject(ev, ReasonSyntax, reply(501, "5.5.4", "Syntax: STARTTLS")), nil
		case !c.ehlo:
			return c.reject(ev, ReasonSequence, reply(503, "5.5.1", "Error: send EHLO first")), nil
		}
		ev.Reply = reply(220, "2.0.0", "Ready to start TLS")
	case Auth:
		return c.auth(ctx, ev)
	case Mail:
		return c.mail(ev), nil
	case Rcpt:
		return c.rcpt(ev), nil
	case Data:
		if r, bad := c.needRcpt(); bad {
			return c.reject(ev, ReasonSequence, r), nil
		}
		if c.chunks != nil {
			return c.reject(ev, ReasonSequence, reply(503, "5.5.1", "Error: BDAT in progress")), nil
		}
		if arg != "" {
			return c.reject(ev, ReasonSyntax, reply(501, "5.5.4", "Syntax: DATA")), nil
		}
		ev.Reply = reply(354, "", "End data with <CR><LF>.<CR><LF>")
	case Bdat:
		return c.bdat(ev), nil
	case Rset:
		if arg != "" {
			return c.reject(ev, ReasonSyntax, reply(501, "5.5.4", "Syntax: RSET")), nil
		}
		ev.Reply = reply(250, "2.0.0", "Ok")
	case Noop:
		ev.Reply = reply(250, "2.0.0", "Ok")
	case Quit:
		if arg != "" {
			return c.reject(ev, ReasonSyntax, reply(501, "5.5.4", "Syntax: QUIT")), nil
		}
		ev.Reply = reply(221, "2.0.0", "Bye")
	case Vrfy:
		if strings.TrimSpace(arg) == "" {
			return c.reject(ev, ReasonSyntax, reply(501, "5.5.4", "Syntax: VRFY address")), nil
		}
		ev.Reply = reply(252, "2.0.0", "Cannot VRFY user, but will accept message and attempt delivery")
		if c.cfg.VRFY != nil {
			ev.Reply = c.cfg.VRFY.withStatus(ev.Reply)
		}
	case Expn:
		ev.Reply = reply(502, "5.5.1", "Error: command not implemented")
		if c.cfg.EXPN != nil {
			ev.Reply = c.cfg.EXPN.withStatus(ev.Reply)
		}
	case Help:
		ev.Reply = reply(214, "2.0.0", c.helpText())
	}
	return ev, nil
}

// helpText lists the commands the server implements (Postfix has no
// HELP): STARTTLS when configured for it (also once TLS is active, when
// it gets 503), AUTH when configured (also where the EHLO reply does not
// offer it: before TLS under AuthRequiresTLS or RequireTLS), BDAT with
// CHUNKING (without it, BDAT is an unknown command), VRFY and EXPN when
// their replies (Config.VRFY, Config.EXPN) say they are implemented: EXPN
// only when Config sets it, since by default it is not (502).
func (c *Conn) helpText() string {
	var b strings.Builder
	b.WriteString("Commands: HELO EHLO")
	if c.cfg.TLSConfig != nil && !c.cfg.ImplicitTLS {
		b.WriteString(" STARTTLS")
	}
	if c.authOffered() {
		b.WriteString(" AUTH")
	}
	b.WriteString(" MAIL RCPT DATA")
	if c.cfg.has(ExtChunking) {
		b.WriteString(" BDAT")
	}
	b.WriteString(" RSET NOOP QUIT")
	if c.cfg.VRFY == nil || implemented(*c.cfg.VRFY) {
		b.WriteString(" VRFY")
	}
	if c.cfg.EXPN != nil && implemented(*c.cfg.EXPN) {
		b.WriteString(" EXPN")
	}
	b.WriteString(" HELP")
	return b.String()
}

// implemented reports whether a command whose reply is r is one the
// server implements: r is neither 502 (not implemented) nor 500 (not
// recognized), RFC 5321 4.2.2.
func implemented(r Reply) bool { return r.Code != 502 && r.Code != 500 }

func (c *Conn) ehloReply() Reply {
	lines := []string{c.cfg.Hostname}
	add := func(e Extension, kw string) {
		if c.cfg.has(e) {
			lines = append(lines, kw)
		}
	}
	add(ExtPipelining, "PIPELINING")
	add(ExtSize, "SIZE "+strconv.FormatInt(c.cfg.MaxMessageBytes, 10))
	if c.cfg.TLSConfig != nil && c.tls == nil && !c.cfg.ImplicitTLS {
		lines = append(lines, "STARTTLS")
	}
	if ms := c.authMechanisms(); c.authOffered() && len(ms) > 0 && c.authAdvertised() {
		lines = append(lines, "AUTH "+strings.Join(ms, " "))
	}
	add(ExtEnhancedStatusCodes, "ENHANCEDSTATUSCODES")
	add(Ext8BitMIME, "8BITMIME")
	add(ExtDSN, "DSN")
	add(ExtSMTPUTF8, "SMTPUTF8")
	add(ExtChunking, "CHUNKING")
	return Reply{Code: 250, Lines: lines}
}

// authMechanisms returns the mechanisms offered in the present TLS state.
func (c *Conn) authMechanisms() []string {
	if c.tls == nil && c.cfg.AuthMechanismsBeforeTLS != nil {
		return c.cfg.AuthMechanismsBeforeTLS
	}
	return c.cfg.AuthMechanisms
}

// authAdvertised reports whether AUTH is advertised in the present TLS
// state: always under TLS; before it, not when AuthRequiresTLS, nor when
// RequireTLS (AUTH would get 530, as Postfix's
// smtpd_tls_security_level=encrypt implies smtpd_tls_auth_only) unless
// the driver named mechanisms for before TLS.
func (c *Conn) authAdvertised() bool {
	switch {
	case c.tls != nil:
		return true
	case c.cfg.AuthRequiresTLS:
		return false
	case c.cfg.RequireTLS:
		return c.cfg.AuthMechanismsBeforeTLS != nil
	}
	return true
}

func (c *Conn) authOffered() bool {
	return len(c.cfg.AuthMechanisms) > 0 && c.cfg.NewSASL != nil
}

// needMail checks the sequence for RCPT.
func (c *Conn) needMail() (Reply, bool) {
	switch {
	case c.helo == "":
		return reply(503, "5.5.1", "Error: send HELO/EHLO first"), true
	case c.tx == nil:
		return reply(503, "5.5.1", "Error: need MAIL command"), true
	}
	return Reply{}, false
}

// needRcpt checks the sequence for DATA and BDAT.
func (c *Conn) needRcpt() (Reply, bool) {
	if r, bad := c.needMail(); bad {
		return r, true
	}
	if len(c.tx.To) == 0 {
		return reply(554, "5.5.1", "Error: no valid recipients"), true
	}
	return Reply{}, false
}

func (c *Conn) mail(ev *Event) *Event {
	switch {
	case c.helo == "":
		return c.reject(ev, ReasonSequence, reply(503, "5.5.1", "Error: send HELO/EHLO first"))
	case c.tx != nil:
		return c.reject(ev, ReasonSequence, reply(503, "5.5.1", "Error: nested MAIL command"))
	case c.cfg.RequireAuth && !c.authed:
		return c.reject(ev, ReasonAuthRequired, reply(530, "5.7.0", "Authentication required"))
	}
	rest, ok := cutPrefixFold(ev.Arg, "FROM:")
	if !ok {
		return c.reject(ev, ReasonSyntax, reply(501, "5.5.4", "Syntax: MAIL FROM:<address>"))
	}
	path, rest, err := parsePath(strings.TrimLeft(rest, " "), true)
	if err != nil || (rest != "" && rest[0] != ' ') {
		return c.reject(ev, ReasonSyntax, reply(501, "5.1.7", "Bad sender address syntax"))
	}
	ps, ok := parseParams(rest)
	if !ok {
		return c.reject(ev, ReasonSyntax, reply(501, "5.5.4", "Bad MAIL parameter syntax"))
	}
	for _, p := range ps { // in the order sent: the reply names the first bad one
		if why, r := c.mailParam(p.key, p.value); why != ReasonNone {
			return c.reject(ev, why, r)
		}
	}
	params := paramMap(ps)
	if _, utf8 := params["SMTPUTF8"]; !utf8 && !isASCII(path) {
		return c.reject(ev, ReasonNonASCIIAddress, reply(553, "5.6.7", "Non-ASCII address not permitted without SMTPUTF8"))
	}
	ev.Path, ev.Params = path, params
	ev.Reply = reply(250, "2.1.0", "Ok")
	return ev
}

// mailParam checks one MAIL parameter: ReasonNone when it is good.
func (c *Conn) mailParam(k, v string) (Reason, Reply) {
	unsupported := reply(555, "5.5.4", "Unsupported option: "+k)
	if !c.ehlo {
		return ReasonUnsupportedParameter, unsupported
	}
	bad := reply(501, "5.5.4", "Bad parameter value: "+k)
	switch k {
	case "SIZE":
		if !c.cfg.has(ExtSize) {
			return ReasonUnsupportedParameter, unsupported
		}
		// size-value = 1*20DIGIT (RFC 1870): any such value is a size,
		// past the limit when past an int64.
		n, over, ok := parseSize(v)
		if !ok || len(v) > 20 {
			return ReasonSyntax, bad
		}
		if over || n > c.cfg.MaxMessageBytes {
			return ReasonTooBig, reply(552, "5.3.4", "Message size exceeds fixed maximum message size")
		}
	case "BODY":
		if !c.cfg.has(Ext8BitMIME) {
			return ReasonUnsupportedParameter, unsupported
		}
		if u := upperASCII(v); u != "7BIT" && u != "8BITMIME" {
			if u == "BINARYMIME" {
				return ReasonUnsupportedParameter, unsupported
			}
			return ReasonSyntax, bad
		}
	case "SMTPUTF8":
		if !c.cfg.has(ExtSMTPUTF8) {
			return ReasonUnsupportedParameter, unsupported
		}
		if v != "" {
			return ReasonSyntax, bad
		}
	case "RET":
		if !c.cfg.has(ExtDSN) {
			return ReasonUnsupportedParameter, unsupported
		}
		if u := upperASCII(v); u != "FULL" && u != "HDRS" {
			return ReasonSyntax, bad
		}
	case "ENVID":
		if !c.cfg.has(ExtDSN) {
			return ReasonUnsupportedParameter, unsupported
		}
		if v == "" || len(v) > 100 || !isXtext(v) {
			return ReasonSyntax, bad
		}
	case "AUTH":
		if !c.authOffered() {
			return ReasonUnsupportedParameter, unsupported
		}
		if v == "" || !isXtext(v) {
			return ReasonSyntax, bad
		}
	default:
		return ReasonUnsupportedParameter, unsupported
	}
	return ReasonNone, Reply{}
}

func (c *Conn) rcpt(ev *Event) *Event {
	if r, bad := c.needMail(); bad {
		return c.reject(ev, ReasonSequence, r)
	}
	if c.chunks != nil {
		return c.reject(ev, ReasonSequence, reply(503, "5.5.1", "Error: BDAT in progress"))
	}
	rest, ok := cutPrefixFold(ev.Arg, "TO:")
	if !ok {
		return c.reject(ev, ReasonSyntax, reply(501, "5.5.4", "Syntax: RCPT TO:<address>"))
	}
	path, rest, err := parsePath(strings.TrimLeft(rest, " "), true)
	if err != nil || path == "" || (rest != "" && rest[0] != ' ') {
		return c.reject(ev, ReasonSyntax, reply(501, "5.1.3", "Bad recipient address syntax"))
	}
	if _, utf8 := c.tx.Params["SMTPUTF8"]; !utf8 && !isASCII(path) {
		return c.reject(ev, ReasonNonASCIIAddress, reply(553, "5.6.7", "Non-ASCII address not permitted without SMTPUTF8"))
	}
	ps, ok := parseParams(rest)
	if !ok {
		return c.reject(ev, ReasonSyntax, reply(501, "5.5.4", "Bad RCPT parameter syntax"))
	}
	for _, p := range ps { // in the order sent: the reply names the first bad one
		if why, r := c.rcptParam(p.key, p.value); why != ReasonNone {
			return c.reject(ev, why, r)
		}
	}
	params := paramMap(ps)
	if len(c.tx.To) >= c.cfg.MaxRecipients {
		return c.reject(ev, ReasonTooManyRecipients, reply(452, "4.5.3", "Error: too many recipients"))
	}
	ev.Path, ev.Params = path, params
	ev.Reply = reply(250, "2.1.5", "Ok")
	return ev
}

// rcptParam checks one RCPT parameter: ReasonNone when it is good.
func (c *Conn) rcptParam(k, v string) (Reason, Reply) {
	if !c.ehlo || !c.cfg.has(ExtDSN) || (k != "NOTIFY" && k != "ORCPT") {
		return ReasonUnsupportedParameter, reply(555, "5.5.4", "Unsupported option: "+k)
	}
	bad := reply(501, "5.5.4", "Bad parameter value: "+k)
	if k == "NOTIFY" {
		list := strings.Split(upperASCII(v), ",")
		if len(list) == 1 && list[0] == "NEVER" {
			return ReasonNone, Reply{}
		}
		seen := map[string]bool{}
		for _, n := range list {
			if (n != "SUCCESS" && n != "FAILURE" && n != "DELAY") || seen[n] {
				return ReasonSyntax, bad
			}
			seen[n] = true
		}
		return ReasonNone, Reply{}
	}
	// ORCPT=addr-type;xtext (RFC 3461 4.2); the type utf-8 has its own
	// encoding, with UTF-8 as it is in an SMTPUTF8 transaction (RFC 6533 3).
	typ, addr, ok := strings.Cut(v, ";")
	if !ok || typ == "" || addr == "" || !isKeyword(typ) {
		return ReasonSyntax, bad
	}
	if strings.EqualFold(typ, "utf-8") {
		_, unitext := c.tx.Params["SMTPUTF8"]
		ok = isUTF8AddrText(addr, unitext)
	} else {
		ok = isXtext(addr)
	}
	if !ok {
		return ReasonSyntax, bad
	}
	return ReasonNone, Reply{}
}

func (c *Conn) bdat(ev *Event) *Event {
	f := strings.FieldsFunc(ev.Arg, isParamSpace)
	ev.Size = -1 // unknown: the chunk cannot be skipped
	if len(f) >= 1 {
		if n, over, ok := parseSize(f[0]); ok {
			ev.Size, ev.sizeOver = n, over // the largest int64 for a size past it
			// The chunk follows BDAT at once (RFC 3030), also one refused
			// below and skipped: only input past it was sent before
			// BDAT's reply.
			ev.Pipelined = int64(c.br.Buffered()) > ev.Size
		}
	}
	ev.Last = len(f) == 2 && equalFoldASCII(f[1], "LAST")
	if c.needsTLS(Bdat) {
		// Before any other check, as for every command (verb), once
		// its size is read: a chunk up to the limit is skipped; one past
		// it, or of no size, cannot be, and the connection closes after
		// the 530 (finishBdat).
		return c.reject(ev, ReasonTLSRequired, mustStartTLS)
	}
	if ev.Size < 0 || len(f) > 2 || len(f) == 2 && !equalFoldASCII(f[1], "LAST") {
		return c.reject(ev, ReasonSyntax, reply(501, "5.5.4", "Syntax: BDAT size [LAST]"))
	}
	tooBig := reply(552, "5.3.4", "Error: message file too big")
	if ev.sizeOver || ev.Size > c.cfg.MaxMessageBytes {
		// Too big to be worth reading, in a transaction or not:
		// finishBdat answers and closes.
		return c.reject(ev, ReasonTooBig, tooBig)
	}
	if r, bad := c.needRcpt(); bad {
		return c.reject(ev, ReasonSequence, r)
	}
	if ev.Size > c.cfg.MaxMessageBytes-int64(len(c.chunks)) {
		// Past the limit with the chunks before it: refused here, not
		// after the driver accepted it, so that the driver sees the
		// reply and the end of the transaction (finishBdat skips the
		// chunk).
		return c.reject(ev, ReasonTooBig, tooBig)
	}
	ev.Reply = reply(250, "2.0.0", fmt.Sprintf("Ok: %d octets received", ev.Size))
	return ev
}

// auth runs the SASL exchange of an AUTH command and returns its event.
func (c *Conn) auth(ctx context.Context, ev *Event) (*Event, error) {
	f := strings.Fields(ev.Arg)
	switch {
	case !c.authOffered():
		return c.reject(ev, ReasonNotImplemented, reply(502, "5.5.1", "Error: command not implemented")), nil
	case !c.ehlo:
		return c.reject(ev, ReasonSequence, reply(503, "5.5.1", "Error: send EHLO first")), nil
	case c.authed:
		return c.reject(ev, ReasonSequence, reply(503, "5.5.1", "Error: already authenticated")), nil
	case c.tx != nil:
		return c.reject(ev, ReasonSequence, reply(503, "5.5.1", "Error: MAIL transaction in progress")), nil
	case len(f) < 1 || len(f) > 2:
		return c.reject(ev, ReasonSyntax, reply(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]")), nil
	case c.cfg.AuthRequiresTLS && c.tls == nil:
		return c.reject(ev, ReasonTLSRequired, reply(538, "5.7.11", "Encryption required for requested authentication mechanism")), nil
	}
	ev.Mechanism = upperASCII(f[0])
	known := func(ms []string) bool {
		return slices.ContainsFunc(ms, func(m string) bool { return equalFoldASCII(m, ev.Mechanism) })
	}
	if !known(c.authMechanisms()) {
		if c.tls == nil && known(c.cfg.AuthMechanisms) {
			return c.reject(ev, ReasonTLSRequired, reply(538, "5.7.11", "Encryption required for requested authentication mechanism")), nil
		}
		return c.reject(ev, ReasonAuthMechanism, reply(504, "5.5.4", "Unrecognized authentication type")), nil
	}
	var resp []byte
	if len(f) == 2 {
		var ok bool
		if resp, ok = decodeResponse(f[1]); !ok {
			return c.reject(ev, ReasonSyntax, reply(501, "5.5.2", "Error: invalid base64 data")), nil
		}
	}
	srv, err := c.cfg.NewSASL(ev.Mechanism)
	if err != nil {
		return c.reject(ev, ReasonAuthFailed, authFailure(err)), nil
	}
	ev.SASL = srv
	for {
		challenge, done, err := srv.Next(resp)
		if err != nil {
			return c.reject(ev, ReasonAuthFailed, authFailure(err)), nil
		}
		if done && len(challenge) == 0 {
			ev.Reply = reply(235, "2.7.0", "Authentication successful")
			return ev, nil
		}
		// A challenge, or additional data with success: SMTP has no
		// place for it in the 235 (RFC 4954 4), so it goes as a last
		// challenge, whose empty response ends the exchange (RFC 4422
		// 3.6: the SCRAM server's v=, DIGEST-MD5's rspauth).
		var refused *Event
		resp, refused, err = c.authResponse(ctx, ev, challenge)
		if err != nil || refused != nil {
			return refused, err
		}
		if done {
			if len(resp) > 0 {
				return c.reject(ev, ReasonSyntax, reply(501, "5.5.2", "Error: an empty response was expected")), nil
			}
			ev.Reply = reply(235, "2.7.0", "Authentication successful")
			return ev, nil
		}
	}
}

// authResponse sends a challenge of the AUTH exchange ev and reads the
// client's response: its octets, or ev refused (a line too long or
// framed wrong, "*", bad base64), or the error that ends the session.
func (c *Conn) authResponse(ctx context.Context, ev *Event, challenge []byte) ([]byte, *Event, error) {
	c.writeReply(Reply{Code: 334, Lines: []string{base64.StdEncoding.EncodeToString(challenge)}})
	line, _, long, err := c.readLine(ctx, authLineLimit)
	if err != nil {
		return nil, nil, c.readErr(ctx, err, " during AUTH")
	}
	if long {
		c.trace(Trace{Kind: TraceCommand, Text: "<AUTH response too long>"})
		return nil, c.reject(ev, ReasonLineTooLong, reply(500, "5.5.6", "Error: authentication exchange line too long")), nil
	}
	// Framed as a command line must be: a line with a bare LF, a bare
	// CR or a NUL ends the exchange as it would a command, and what it
	// holds reaches no mechanism ("*" ending in a bare LF cancels
	// nothing either).
	b, why, bad := framing(line)
	text, masked := string(b), "****"
	if text == "*" || text == "" {
		masked = "" // a cancel, or the empty answer to a last challenge: nothing secret
	}
	c.trace(Trace{Kind: TraceCommand, Text: text, Masked: masked})
	switch {
	case why != ReasonNone:
		return nil, c.reject(ev, why, bad), nil
	case text == "*":
		return nil, c.reject(ev, ReasonAuthCancelled, reply(501, "5.0.0", "Authentication cancelled")), nil
	}
	resp, ok := decodeResponse(text)
	if !ok {
		return nil, c.reject(ev, ReasonSyntax, reply(501, "5.5.2", "Error: invalid base64 data")), nil
	}
	return resp, nil, nil
}

// decodeResponse decodes a SASL response; "=" is the empty response.
func decodeResponse(s string) ([]byte, bool) {
	if s == "=" {
		return []byte{}, true
	}
	b, err := base64.StdEncoding.DecodeString(s)
	return b, err == nil
}

// authFailure is the reply for a failed exchange: the error itself when it
// is a Reply, otherwise 535 5.7.8.
func authFailure(err error) Reply {
	var r Reply
	if errors.As(err, &r) {
		return r.withStatus(reply(535, "5.7.8"))
	}
	return reply(535, "5.7.8", "Error: authentication failed")
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}
