package smtpd

import (
	"crypto/tls"
	"fmt"
)

// Kind is what an [Event] is about.
type Kind int

// The kinds of event, in roughly the order a session meets them.
const (
	Connect    Kind = iota + 1 // with Config.ImplicitTLS, the connection is open and its TLS handshake comes next; no reply is written (see Answer.TLSConfig)
	Greeting                   // the connection is open; the reply is the 220 greeting
	Handshake                  // a TLS handshake finished (implicit TLS or after STARTTLS); no reply is written
	Helo                       // HELO
	Ehlo                       // EHLO
	StartTLS                   // STARTTLS; in a mail transaction too, which the handshake discards with the HELO, as Postfix and Exim do (RFC 3207 4.2)
	Auth                       // AUTH, after the SASL exchange: the reply is 235 or the failure
	Mail                       // MAIL FROM
	Rcpt                       // RCPT TO
	Data                       // the DATA command; the reply is 354
	Message                    // the end of a message (DATA's end or BDAT LAST); the reply says whether it was accepted
	Bdat                       // a BDAT command, before its chunk is read
	Rset                       // RSET
	Noop                       // NOOP
	Quit                       // QUIT
	Vrfy                       // VRFY
	Expn                       // EXPN
	Help                       // HELP: 214 2.0.0 with the commands the server takes (STARTTLS and AUTH when offered, BDAT with CHUNKING)
	BadCommand                 // a line the engine cannot take as a command: unknown verb, too long, bare CR or LF, NUL
)

var kindNames = [...]string{
	Connect: "Connect", Greeting: "Greeting", Handshake: "Handshake", Helo: "Helo", Ehlo: "Ehlo",
	StartTLS: "StartTLS", Auth: "Auth", Mail: "Mail", Rcpt: "Rcpt", Data: "Data",
	Message: "Message", Bdat: "Bdat", Rset: "Rset", Noop: "Noop", Quit: "Quit",
	Vrfy: "Vrfy", Expn: "Expn", Help: "Help", BadCommand: "BadCommand",
}

// String returns the kind's name ("Rcpt").
func (k Kind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Event is one thing that happened on a connection and now waits for the
// driver's answer. Its fields are read-only.
type Event struct {
	Kind Kind
	// Line is the command line as received, without CRLF ("" for
	// Greeting, Handshake and Message).
	Line string
	// Verb and Arg split Line: the upper-cased verb and the rest.
	Verb, Arg string
	// Masked, when not empty, is Line as a transcript shows it, its
	// secrets masked (Trace.Masked): an AUTH line's initial response, a
	// line that may hold credentials after a refused AUTH ("****"). A
	// driver that repeats the line, its verb or AUTH's mechanism in a
	// reply or a report takes them from Masked: Verb and Mechanism may
	// be the secret, in upper case.
	Masked string
	// Path is MAIL's reverse-path ("" for <>) or RCPT's forward-path,
	// without brackets.
	Path string
	// Params are MAIL's or RCPT's ESMTP parameters, keys upper-cased.
	Params map[string]string
	// Mechanism is AUTH's SASL mechanism, upper-cased.
	Mechanism string
	// SASL is, for Auth, the server side of the exchange as
	// Config.NewSASL returned it (nil when no exchange began), for the
	// driver to ask who authenticated.
	SASL SASLServer
	// Size is BDAT's chunk size (-1 when the engine refused the BDAT
	// before reading it), or the message size for Message.
	Size int64
	// sizeOver says that BDAT's size is past an int64: Size, the
	// largest int64, stands for it, and it is past every limit.
	sizeOver bool
	// unreadChunk marks a BadCommand that is a BDAT line (however
	// spelled: isBdatLine) framed wrong (a bare CR or LF, a NUL), too
	// long to read, or unknown as spelled: its chunk follows
	// unread, so the connection closes after the reply rather than take
	// the chunk's octets for commands.
	unreadChunk bool
	// Last is BDAT's LAST.
	Last bool
	// Data is the message for Message: exactly as sent after
	// dot-unstuffing (DATA) or the chunks joined (BDAT).
	Data []byte
	// Envelope is the transaction a Message belongs to.
	Envelope *Envelope
	// DataInfo describes how a DATA message was sent, for drivers that
	// check clients' conformance.
	DataInfo DataInfo
	// Pipelined is set on a command that arrived while more input was
	// already waiting: the client did not wait for this command's reply.
	// A BDAT's chunk is no more input: BDAT is pipelined when input past
	// its chunk was already waiting.
	Pipelined bool
	// TLS is the connection state for Handshake.
	TLS *tls.ConnectionState
	// Err is non-nil when the engine rejects the event (bad syntax, bad
	// sequence, limits, a failed AUTH); Reply then is the rejection.
	Err error
	// Reason says what the engine saw when it rejected the event
	// (ReasonNone when Err is nil): a driver that reports on clients reads
	// it, never the reply's text.
	Reason Reason
	// Reply is what the engine answers if the driver accepts the event.
	Reply Reply
}

// Reason is why the engine rejected an event ([Event.Reason]): what it
// saw, whatever the reply's wording.
type Reason int

// The reasons for a rejection.
const (
	ReasonNone                 Reason = iota // not rejected
	ReasonLineTooLong                        // a command line over its limit, an AUTH response over 12288 octets, a text line over Config.MaxTextLine
	ReasonBareLF                             // a line ended by LF alone (a command, an AUTH response, or message data)
	ReasonBareCR                             // a CR not followed by LF (a command, an AUTH response, or message data)
	ReasonNUL                                // a NUL octet in a command or an AUTH response
	ReasonUnknownCommand                     // a verb the engine does not know, or of an extension switched off
	ReasonForbiddenCommand                   // a non-SMTP command in Config.ForbiddenCommands (HTTP's GET, POST...): the connection closes
	ReasonSyntax                             // a malformed argument: address (or a path over 256 octets, a local part over 64), parameter, base64 (501)
	ReasonSequence                           // a command out of sequence (503, 554 without recipients)
	ReasonNotImplemented                     // a command the configuration does not offer: STARTTLS, AUTH (502)
	ReasonUnsupportedParameter               // a MAIL or RCPT parameter not offered (555)
	ReasonTLSRequired                        // a command that needs TLS first (530, 538)
	ReasonAuthRequired                       // MAIL before AUTH when Config.RequireAuth (530)
	ReasonAuthMechanism                      // an AUTH mechanism not offered (504)
	ReasonAuthFailed                         // the SASL exchange failed (535, or the SASL server's Reply)
	ReasonAuthCancelled                      // the client cancelled the AUTH exchange with "*" (501)
	ReasonNonASCIIAddress                    // a UTF-8 address without SMTPUTF8 (553 5.6.7)
	ReasonTooManyRecipients                  // a RCPT over Config.MaxRecipients (452 4.5.3)
	ReasonTooBig                             // a message, SIZE or BDAT chunk over Config.MaxMessageBytes, a chunk with those before it (552 5.3.4)
)

var reasonNames = [...]string{
	ReasonNone: "none", ReasonLineTooLong: "line too long", ReasonBareLF: "bare LF", ReasonBareCR: "bare CR",
	ReasonNUL: "NUL", ReasonUnknownCommand: "unknown command", ReasonForbiddenCommand: "forbidden command",
	ReasonSyntax: "syntax", ReasonSequence: "bad sequence", ReasonNotImplemented: "not implemented",
	ReasonUnsupportedParameter: "unsupported parameter", ReasonTLSRequired: "TLS required",
	ReasonAuthRequired: "authentication required", ReasonAuthMechanism: "unknown AUTH mechanism",
	ReasonAuthFailed: "authentication failed", ReasonAuthCancelled: "authentication cancelled",
	ReasonNonASCIIAddress: "non-ASCII address", ReasonTooManyRecipients: "too many recipients",
	ReasonTooBig: "too big",
}

// String describes the reason ("bare LF").
func (r Reason) String() string {
	if r >= 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// Envelope is a mail transaction: the accepted MAIL FROM and RCPT TOs.
type Envelope struct {
	From       string
	Params     map[string]string
	To         []string
	RcptParams []map[string]string // parallel to To
	Chunked    bool                // sent with BDAT
}

// TraceKind tells what a [Trace] records.
type TraceKind int

// The kinds of trace.
const (
	TraceCommand TraceKind = iota + 1 // a line from the client
	TraceReply                        // a reply line from the server
	TraceBody                         // message data from the client, summarized
	TraceNote                         // something the engine did that is no line: TLS, discarded input
)

// Trace is one entry of what crossed the wire, given to Config.Trace.
type Trace struct {
	Kind TraceKind
	// Text is the line without CRLF, exactly; for TraceBody a summary.
	Text string
	// Masked, when not empty, is Text with secrets (AUTH responses) replaced.
	Masked string
	// Size is the number of octets a TraceBody covers.
	Size int64
}

// DataInfo counts what was unusual in a message's data. The engine
// rejects a DATA message with bare CR or LF or lines over
// Config.MaxTextLine, and still counts. For BDAT, which is not read in
// lines, only LongLines and EightBit are counted.
type DataInfo struct {
	BareLF        int  // lines ended by LF alone
	BareCR        int  // lines with a CR not followed by LF
	LongLines     int  // lines over 998 octets before CRLF, a dot doubled for transparency not counted (RFC 5321 4.5.3.1.6)
	UnstuffedDots int  // lines sent as ".x": the client did not dot-stuff a line starting with "."
	EightBit      bool // an octet above 127 was sent
}
