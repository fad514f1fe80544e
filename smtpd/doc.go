// Package smtpd is a server-side SMTP protocol engine: it does the
// protocol's grunt work and leaves every decision to its driver.
//
// A driver wraps each accepted connection in a [Conn] and pulls events
// from it:
//
//	c := smtpd.NewConn(netConn, smtpd.Config{Hostname: "mx.test"})
//	defer c.Close(nil)
//	for {
//		ev, err := c.Next(ctx)
//		if err != nil {
//			return err // io.EOF after QUIT
//		}
//		// inspect ev; answer with c.Accept, c.Reply or c.Answer, or not at all
//	}
//
// Each [Event] (the connection under implicit TLS, greeting, HELO/EHLO,
// STARTTLS, TLS handshake, AUTH, MAIL, RCPT, DATA, the message, BDAT,
// RSET, NOOP, QUIT, VRFY, EXPN, HELP, a bad command) carries the reply the engine would send; an event the driver
// does not answer gets it. An [Answer] can replace the reply, write raw
// bytes or nothing, pace the writing, close the connection after it (after
// BDAT LAST, after the end-of-message reply; with
// a graceful half-close, a TCP reset, or by hanging until the client gives
// up), drop the connection after some message octets, or use another TLS
// configuration for a handshake. A 421 reply closes the connection after
// it (RFC 5321 3.8: "closing transmission channel"), whoever chose it (an
// Answer, a [SASLServer]'s error, [Config].VRFY), as the engine's own 421s
// do, unless the Answer says how (Then); raw bytes are not read, so a
// driver that says 421 and goes on writes it as Raw.
//
// The engine knows the state machine and is RFC 5321-strict about it: bad
// sequence gets 503 5.5.1, syntax errors 500 or 501, unimplemented commands
// 502, and every reply carries an RFC 3463 enhanced status code, but those
// RFC 2034 leaves without one: the greeting, the EHLO and HELO replies, and
// 3xx replies (354, AUTH's 334); none does when ENHANCEDSTATUSCODES is
// switched off ([Config].Disabled). An event the
// engine rejects says why in [Event.Reason] (a line too long, a bare LF,
// a bad sequence...), so that a driver never reads reply texts. It implements
// PIPELINING (replies are buffered and flushed before any read that could
// block), 8BITMIME, SMTPUTF8, SIZE, CHUNKING, DSN parameters,
// ENHANCEDSTATUSCODES, STARTTLS (discarding plaintext pipelined after it),
// implicit TLS and the AUTH exchange (the driver supplies a [SASLServer]).
// Each can be switched off in [Config].
//
// Limits bound what a client can make the server do: line lengths, path
// lengths (256 octets, RFC 5321 4.5.3.1.3), the message size, recipients,
// bad commands (a 421 4.7.0 cutoff, which junk commands past a limit and
// recipients far over theirs count toward, as Postfix counts them), and
// HTTP sent to the port, which closes the connection at once (a web
// page's cross-protocol POST); see [Config].
//
// It reads lines itself, never with net/textproto: every line must end in
// CRLF, lines are length-limited, and a partial line at a timeout is never
// taken as a command. Only CRLF "." CRLF ends message data; bare CR or LF
// in data rejects the message with 550 5.5.2, so SMTP smuggling cannot
// work. The engine imports only the standard library and knows nothing of
// tests, faults or recording. Its only package-level state is three pools
// of buffers (sync.Pool), shared by every Conn and holding nothing anyone
// can observe: a driver may run any number of Conns side by side.
package smtpd
