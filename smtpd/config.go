package smtpd

import (
	"crypto/tls"
	"strings"
	"time"
)

// Config configures a [Conn]. The zero value works; each field documents
// its default.
type Config struct {
	// Hostname names the server in the greeting and the EHLO reply.
	// Default "localhost".
	Hostname string
	// Banner follows the hostname in the 220 greeting. Default "ESMTP".
	Banner string

	// MaxMessageBytes is the largest message accepted, advertised with
	// SIZE (RFC 1870); larger ones get 552 5.3.4. A larger DATA message is
	// read to its end, up to twice this and 1 MiB more on the wire; past
	// that, the server answers 552 5.3.4 at once and closes. Default 10 MiB.
	MaxMessageBytes int64
	// MaxRecipients is the most RCPT TO accepted per message; more get
	// 452 4.5.3. Default 100.
	MaxRecipients int
	// MaxRecipientOvershoot is how many RCPT TO over MaxRecipients a
	// transaction may send before each further one counts as a bad
	// command (see MaxBadCommands): a client is expected to deliver to
	// the recipients accepted and retry the others later (RFC 5321
	// 4.5.3.1.10), as Postfix's smtpd_recipient_overshoot_limit allows.
	// Default 1000.
	MaxRecipientOvershoot int
	// MaxCommandLine is the longest command line in octets, CRLF included
	// (RFC 5321 4.5.3.1.4). MAIL and RCPT with parameters get
	// ParamAllowance more, AUTH lines 12288 (RFC 4954). Default 512; at
	// most 1 MiB, the longest line the engine reads (a larger value counts
	// as 1 MiB: each connection's read buffer holds its longest line). A
	// line over its limit is read to its end and refused (500 5.5.2, or
	// 500 5.5.6 for a response of an AUTH exchange) when at most 1 MiB
	// long, LF included; a longer one closes the connection after the
	// reply, at every limit (a text line within a MaxTextLine of 1 MiB
	// may have a transparency dot more).
	MaxCommandLine int
	// ParamAllowance is the extra length allowed for MAIL and RCPT lines
	// that carry ESMTP parameters. Default 512; with MaxCommandLine, at
	// most 1 MiB (what is over is left out).
	ParamAllowance int
	// MaxTextLine is the longest line of message text in octets, CRLF
	// included, the dot a client doubles for transparency not counted
	// (RFC 5321 4.5.3.1.6). Default 1000; at most 1 MiB, as MaxCommandLine.
	MaxTextLine int
	// MaxBadCommands is how many bad commands a session may send before
	// the server answers 421 4.7.0 and closes: commands the engine
	// rejects (but recipients within MaxRecipientOvershoot), and junk
	// commands past MaxJunkCommands. Default 20.
	MaxBadCommands int
	// ForbiddenCommands are verbs that are no SMTP but HTTP, sent to the
	// SMTP port by a web page (a cross-protocol POST) or a proxy: the
	// first one is answered 421 4.7.0 and the connection closed, so that
	// nothing after it runs as SMTP (Postfix's smtpd_forbidden_commands).
	// Compared with a line's first word without regard to the case of
	// ASCII letters (as verbs are: a long s is no S). Nil means
	// the default: CONNECT, GET, POST, HEAD, PUT, OPTIONS, USER-AGENT:,
	// HOST:; an empty list forbids none.
	ForbiddenCommands []string
	// MaxJunkCommands is how many junk commands (NOOP, RSET, VRFY, EXPN,
	// HELP) a session may send since its last accepted message before
	// each further one counts as a bad command, as Postfix's
	// smtpd_junk_command_limit. Default 100. One refused for want of
	// TLS (RequireTLS's 530) is a bad command, not a junk one, as Postfix
	// counts it.
	MaxJunkCommands int

	// ReadTimeout bounds the wait for each command or piece of message
	// data; when it passes, the client gets 421 4.4.2 and the connection
	// closes. Default 5 minutes (RFC 5321 4.5.3.2).
	ReadTimeout time.Duration
	// WriteTimeout bounds each write. Default 1 minute.
	WriteTimeout time.Duration

	// TLSConfig enables STARTTLS (RFC 3207) when non-nil, and is used for
	// implicit TLS.
	TLSConfig *tls.Config
	// ImplicitTLS starts TLS before the greeting (RFC 8314). It needs TLSConfig.
	ImplicitTLS bool
	// RequireTLS answers every command before TLS with 530 5.7.0 "Must
	// issue a STARTTLS command first" (RFC 3207 4), before any other
	// check (BDAT's once its size is read: its chunk is skipped, or,
	// past MaxMessageBytes or of no size, the connection closes after
	// the 530), but NOOP, EHLO, STARTTLS, QUIT (RFC 3207's list), HELO
	// (which Postfix's smtpd_tls_security_level=encrypt takes too) and
	// HELP (which Postfix does not implement: 502 before TLS or after).
	// The EHLO reply before TLS then offers no AUTH (Postfix's
	// smtpd_tls_auth_only), unless AuthMechanismsBeforeTLS names
	// mechanisms: they are advertised, and get 530, to test that a client
	// forgets the first EHLO reply after STARTTLS (RFC 3207 4.2).
	RequireTLS bool

	// AuthMechanisms are the SASL mechanisms advertised with AUTH
	// (RFC 4954), in order. AUTH is offered only when this and NewSASL are set.
	AuthMechanisms []string
	// AuthMechanismsBeforeTLS, when not nil, are the mechanisms advertised
	// and accepted before TLS; AuthMechanisms then apply after TLS only,
	// and one of them sent before TLS gets 538 5.7.11 (a server that allows
	// plaintext passwords only under TLS).
	AuthMechanismsBeforeTLS []string
	// AuthRequiresTLS offers AUTH only after TLS; before it, AUTH gets
	// 538 5.7.11. It wins over AuthMechanismsBeforeTLS, which is then
	// never offered (NewConn checks no Config: a driver that sets both
	// should refuse them, as mocksmtp.New refuses its options for them).
	AuthRequiresTLS bool
	// RequireAuth answers MAIL before a successful AUTH with 530 5.7.0.
	RequireAuth bool
	// NewSASL returns the server side of the named mechanism for one AUTH
	// exchange. An error (a [Reply] is sent as it is) rejects the AUTH.
	NewSASL func(mechanism string) (SASLServer, error)

	// Disabled lists the extensions neither advertised nor accepted.
	// By default every extension that needs no configuration is on.
	Disabled Extension
	// VRFY is the reply to a well-formed VRFY. Default 252 2.0.0. HELP
	// lists VRFY unless it is 502 or 500 (not implemented).
	VRFY *Reply
	// EXPN is the reply to EXPN. Default 502 5.5.1. HELP lists EXPN when
	// it is set and neither 502 nor 500.
	EXPN *Reply

	// Trace, when set, is called with every line read and written, on the
	// plaintext side of TLS, in order, from the goroutine calling Next.
	Trace func(Trace)
}

// SASLServer is the server side of one SASL exchange, shaped like
// github.com/emersion/go-sasl's Server: Next takes the client's response
// (nil for none) and returns the next challenge, or done with a nil error
// on success. An error ends the exchange with 535 5.7.8, or with the error
// itself when it is a [Reply]. A challenge returned with done is
// additional data with success (SCRAM's server-final message), for which
// SMTP's 235 has no room (RFC 4954 4): the engine sends it as a last 334
// challenge, and the client's empty response ends the exchange with 235
// (another response gets 501 5.5.2, "*" cancels it with 501 5.0.0).
type SASLServer interface {
	Next(response []byte) (challenge []byte, done bool, err error)
}

// Extension is a set of ESMTP extensions.
type Extension uint

// The extensions a Conn knows.
const (
	ExtPipelining          Extension = 1 << iota // PIPELINING (RFC 2920)
	Ext8BitMIME                                  // 8BITMIME (RFC 6152)
	ExtSMTPUTF8                                  // SMTPUTF8 (RFC 6531)
	ExtSize                                      // SIZE (RFC 1870)
	ExtChunking                                  // CHUNKING, BDAT (RFC 3030)
	ExtDSN                                       // DSN (RFC 3461)
	ExtEnhancedStatusCodes                       // ENHANCEDSTATUSCODES (RFC 2034)
)

var extNames = []struct {
	ext  Extension
	name string
}{
	{ExtPipelining, "PIPELINING"},
	{Ext8BitMIME, "8BITMIME"},
	{ExtSMTPUTF8, "SMTPUTF8"},
	{ExtSize, "SIZE"},
	{ExtChunking, "CHUNKING"},
	{ExtDSN, "DSN"},
	{ExtEnhancedStatusCodes, "ENHANCEDSTATUSCODES"},
}

// String returns the EHLO keywords of the set, separated by "|".
func (e Extension) String() string {
	var names []string
	for _, n := range extNames {
		if e&n.ext != 0 {
			names = append(names, n.name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, "|")
}

// defaultForbiddenCommands are Config.ForbiddenCommands by default: HTTP's.
// Read only: every Conn without a list of its own shares it.
var defaultForbiddenCommands = []string{"CONNECT", "GET", "POST", "HEAD", "PUT", "OPTIONS", "USER-AGENT:", "HOST:"}

// maxLineLimit bounds the line limits of a Config: the longest line the
// engine reads to its end (maxDiscard). A limit past it would size every
// connection's read buffer to hold a line the engine would otherwise
// refuse unread, and let such a line through.
const maxLineLimit = maxDiscard

// withDefaults returns a copy of c with every zero field set to its
// default, and the line limits bounded by maxLineLimit.
func (c Config) withDefaults() Config {
	if c.Hostname == "" {
		c.Hostname = "localhost"
	}
	if c.Banner == "" {
		c.Banner = "ESMTP"
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = 10 << 20
	}
	if c.MaxRecipients <= 0 {
		c.MaxRecipients = 100
	}
	if c.MaxRecipientOvershoot <= 0 {
		c.MaxRecipientOvershoot = 1000
	}
	if c.MaxCommandLine <= 0 {
		c.MaxCommandLine = 512
	}
	if c.ParamAllowance <= 0 {
		c.ParamAllowance = 512
	}
	if c.MaxTextLine <= 0 {
		c.MaxTextLine = 1000
	}
	// A line limit is at most what the engine reads of a line: the read
	// buffer is sized for the longest line, per connection.
	c.MaxTextLine = min(c.MaxTextLine, maxLineLimit)
	c.MaxCommandLine = min(c.MaxCommandLine, maxLineLimit)
	c.ParamAllowance = min(c.ParamAllowance, maxLineLimit-c.MaxCommandLine)
	if c.MaxBadCommands <= 0 {
		c.MaxBadCommands = 20
	}
	if c.ForbiddenCommands == nil {
		c.ForbiddenCommands = defaultForbiddenCommands
	}
	if c.MaxJunkCommands <= 0 {
		c.MaxJunkCommands = 100
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = 5 * time.Minute
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = time.Minute
	}
	return c
}

// has reports whether the extension is enabled.
func (c *Config) has(e Extension) bool { return c.Disabled&e == 0 }
