package mocksmtp

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"strings"
	"time"

	"github.com/mocksmtp/mocksmtp/smtpd"
)

// WithoutExtensions stops the server from advertising and accepting the
// ESMTP extensions with the given EHLO keywords, in any case, to test a
// client's fallback: without PIPELINING it must wait for each reply,
// without 8BITMIME or SMTPUTF8 it must not declare them (MAIL parameters
// for a switched-off extension get 555 5.5.4), without CHUNKING BDAT is an
// unknown command (500 5.5.2), without ENHANCEDSTATUSCODES replies carry
// no "x.y.z" code:
//
//	mocksmtp.Start(t, mocksmtp.WithoutExtensions("PIPELINING", "8BITMIME"))
//
// A plain server advertises every extension that needs no configuration,
// and these are the keywords WithoutExtensions knows: PIPELINING, SIZE,
// ENHANCEDSTATUSCODES, 8BITMIME, DSN, SMTPUTF8 and CHUNKING; any other
// makes [New] fail. STARTTLS and AUTH come with their own options.
func WithoutExtensions(keywords ...string) Option {
	return optionFunc(func(o *options) error {
		if len(keywords) == 0 {
			return errors.New("mocksmtp: WithoutExtensions: no extension given")
		}
		for _, kw := range keywords {
			e, ok := extensions[strings.ToUpper(kw)]
			if !ok {
				return fmt.Errorf("mocksmtp: WithoutExtensions: unknown extension %q (want PIPELINING, SIZE, ENHANCEDSTATUSCODES, 8BITMIME, DSN, SMTPUTF8 or CHUNKING)", kw)
			}
			o.engine.Disabled |= e
		}
		return nil
	})
}

// extensions maps the EHLO keywords of WithoutExtensions to the engine's
// extensions.
var extensions = map[string]smtpd.Extension{
	"PIPELINING":          smtpd.ExtPipelining,
	"8BITMIME":            smtpd.Ext8BitMIME,
	"SMTPUTF8":            smtpd.ExtSMTPUTF8,
	"SIZE":                smtpd.ExtSize,
	"CHUNKING":            smtpd.ExtChunking,
	"DSN":                 smtpd.ExtDSN,
	"ENHANCEDSTATUSCODES": smtpd.ExtEnhancedStatusCodes,
}

// Persona is a well-known mail server whose greeting, EHLO reply and reply
// texts the server can imitate with [WithPersona], so a client meets in a
// test what it meets in production. Reply codes and enhanced status codes
// follow that server where it deviates from mocksmtp's (Exchange's
// 535 5.7.3 for a wrong password); the protocol rules stay mocksmtp's.
type Persona int

// The personas.
const (
	// Postfix is Postfix 3 with default settings: "220 host ESMTP
	// Postfix", VRFY advertised (unless its reply is 502 or 500:
	// Config.VRFY in [WithEngineConfig]), SIZE 10240000, "250 2.0.0 Ok:
	// queued as 4F1B2C3D4E1" for a message (a queue ID that is the same
	// for the same transaction of the same session from run to run).
	// Postfix advertises ETRN too; the persona does not, as the server
	// does not serve it (500, as for any unknown command): a persona
	// offers only what the server serves.
	Postfix Persona = iota + 1
	// Exchange is Microsoft Exchange Server 2016/2019 on its default
	// receive connector: "220 host Microsoft ESMTP MAIL Service ready at
	// <date>", "250-host Hello [ip]", SIZE 37748736, no SMTPUTF8, "Sender
	// OK", "Recipient OK", "250 2.6.0 <id> Queued mail for delivery" (an
	// ID the same for the same transaction of the same session from run
	// to run), "535 5.7.3 Authentication unsuccessful", "500 5.3.3
	// Unrecognized command". Exchange advertises X-ANONYMOUSTLS and XRDST
	// too; the persona does not, as the server serves neither (the
	// X-ANONYMOUSTLS command gets its 500): a persona offers only what
	// the server serves.
	Exchange
)

// String returns the persona's name ("Postfix").
func (p Persona) String() string {
	switch p {
	case Postfix:
		return "Postfix"
	case Exchange:
		return "Exchange"
	}
	return fmt.Sprintf("Persona(%d)", int(p))
}

// WithPersona makes the server's greeting, EHLO reply and reply texts
// look like those of a well-known server (see [Persona]). Options given
// after it override what it sets (the size limit, the hostname, switched
// off extensions). Faults' replies are sent as the faults give them.
func WithPersona(p Persona) Option {
	return optionFunc(func(o *options) error {
		switch p {
		case Postfix:
			o.engine.Banner = "ESMTP Postfix"
			o.engine.MaxMessageBytes = 10240000
		case Exchange:
			o.engine.Banner = "Microsoft ESMTP MAIL Service ready"
			o.engine.MaxMessageBytes = 37748736
			o.engine.Disabled |= smtpd.ExtSMTPUTF8
		default:
			return fmt.Errorf("mocksmtp: WithPersona(%v): unknown persona", p)
		}
		o.persona = p
		return nil
	})
}

// personaReply returns the persona's version of the engine's reply to
// ev, when it has one. tx numbers ev's transaction, which names a
// message's queue ID; now reads the server's time the reply goes out
// at (Server.now, or after a delay the session's time, smtpd.Conn.Now).
func (s *Server) personaReply(c *smtpd.Conn, ev *smtpd.Event, tx queueKey, now func() time.Time) (smtpd.Reply, bool) {
	p := s.opts.persona
	if p == 0 {
		return smtpd.Reply{}, false
	}
	host := s.opts.engine.Hostname
	if host == "" {
		host = "localhost"
	}
	// VRFY as HELP lists it (smtpd's helpText): unless its reply says it
	// is not implemented, 502 or 500, as Postfix's disable_vrfy_command
	// leaves it out of the EHLO reply.
	v := s.opts.engine.VRFY
	vrfy := v == nil || v.Code != 502 && v.Code != 500
	return p.reply(ev, host, c.RemoteAddr(), tx, vrfy, now)
}

// queueKey names a transaction: its session's ID and its number in the
// session (the MAIL FROMs accepted so far).
type queueKey struct{ session, tx int }

// queueID returns the queue ID of the message of transaction k, as n ≤ 8
// random-looking octets: the same for the same transaction of the same
// session from run to run, so that a persona's reply to a message is too,
// as every other reply of the double is. (A real server's queue IDs
// differ from run to run; a test's replies should not.)
func (k queueKey) queueID(n int) []byte {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d.%d", k.session, k.tx)
	return h.Sum(nil)[:n]
}

// maxQuotedVerb is the most octets of a verb the Exchange persona quotes
// in its 500: "500 5.3.3 Unrecognized command '" and "...'" CRLF around
// it stay within a 512-octet reply line.
const maxQuotedVerb = 400

// reply returns the persona's reply to ev, or false to keep the engine's.
// vrfy tells whether the server implements VRFY, which Postfix advertises
// then; now reads the server's time (Server.now), which Exchange's
// greeting says.
func (p Persona) reply(ev *smtpd.Event, host string, remote net.Addr, tx queueKey, vrfy bool, now func() time.Time) (smtpd.Reply, bool) {
	r := ev.Reply
	text := func(status, line string) (smtpd.Reply, bool) {
		if status != "" {
			r.Status = status
		}
		r.Lines = []string{line}
		return r, true
	}
	if ev.Err != nil {
		if p == Exchange && ev.Kind == smtpd.BadCommand && r.Code == 500 {
			if ev.Verb != "" && ev.Masked == "" { // a masked line's verb may be a credential
				// The verb as printable ASCII, cut to fit a reply line
				// (512 octets, RFC 5321 4.5.3.1.5): a command line may
				// be far longer.
				verb := replyText(ev.Verb)
				if len(verb) > maxQuotedVerb {
					verb = verb[:maxQuotedVerb] + "..."
				}
				return text("5.3.3", "Unrecognized command '"+verb+"'")
			}
			return text("5.3.3", "Unrecognized command")
		}
		if p == Exchange && ev.Kind == smtpd.Auth && r.Code == 535 {
			return text("5.7.3", "Authentication unsuccessful")
		}
		return r, false
	}
	switch p {
	case Postfix:
		switch ev.Kind {
		case smtpd.Ehlo:
			// Postfix advertises VRFY and ETRN by default: VRFY when the
			// server implements it, ETRN never, as the server does not
			// serve it.
			var extra map[string]string
			if vrfy {
				extra = map[string]string{"VRFY": "VRFY"}
			}
			r.Lines = ehloLines(r.Lines, []string{"PIPELINING", "SIZE", "VRFY", "STARTTLS", "AUTH",
				"ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING"}, extra)
			return r, true
		case smtpd.Message:
			return text("", "Ok: queued as "+strings.ToUpper(hex.EncodeToString(tx.queueID(5)))+"1")
		}
	case Exchange:
		ip := "127.0.0.1"
		if tcp, ok := remote.(*net.TCPAddr); ok {
			ip = tcp.IP.String()
		}
		switch ev.Kind {
		case smtpd.Greeting:
			return text("", host+" Microsoft ESMTP MAIL Service ready at "+now().Format(time.RFC1123Z))
		case smtpd.Helo:
			return text("", host+" Hello ["+ip+"]")
		case smtpd.Ehlo:
			// Exchange advertises X-ANONYMOUSTLS (after STARTTLS) and
			// XRDST (last) too: not here, as the server serves neither.
			lines := ehloLines(r.Lines, []string{"SIZE", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES", "STARTTLS",
				"AUTH", "8BITMIME", "SMTPUTF8", "CHUNKING"}, nil)
			lines[0] = host + " Hello [" + ip + "]"
			r.Lines = lines
			return r, true
		case smtpd.StartTLS:
			return text("", "SMTP server ready")
		case smtpd.Mail:
			return text("", "Sender OK")
		case smtpd.Rcpt:
			return text("", "Recipient OK")
		case smtpd.Data:
			return text("", "Start mail input; end with <CRLF>.<CRLF>")
		case smtpd.Message:
			id := tx.queueID(8)
			internal := binary.BigEndian.Uint64(id) % 1e12
			return text("2.6.0", fmt.Sprintf("<%s@%s> [InternalId=%d, Hostname=%s] Queued mail for delivery", hex.EncodeToString(id), host, internal, host))
		case smtpd.Rset:
			return text("", "Resetting")
		case smtpd.Noop:
			return text("", "OK")
		case smtpd.Quit:
			return text("", "Service closing transmission channel")
		}
	}
	return r, false
}

// ehloLines returns the EHLO reply lines with the keywords in the given
// order, extra keywords (name → line) added, and any keyword the order
// does not name kept at the end.
func ehloLines(lines []string, order []string, extra map[string]string) []string {
	byName := make(map[string]string)
	for _, l := range lines[1:] {
		byName[strings.Fields(l)[0]] = l
	}
	out := []string{lines[0]}
	for _, kw := range order {
		if l, ok := byName[kw]; ok {
			out = append(out, l)
			delete(byName, kw)
		} else if l, ok := extra[kw]; ok {
			out = append(out, l)
		}
	}
	for _, l := range lines[1:] {
		if _, left := byName[strings.Fields(l)[0]]; left {
			out = append(out, l)
		}
	}
	return out
}
