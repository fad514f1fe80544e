// Command mocksmtp runs the mocksmtp SMTP test double as a program, for
// test suites in any language and for manual use:
//
//	go run github.com/mocksmtp/mocksmtp/cmd/mocksmtp
//
// It listens for SMTP on 127.0.0.1:2525 and for HTTP on 127.0.0.1:8025,
// records every session and message in memory, prints each message on
// one line (with how it was sent: `sent with HELO "app.local", TLS 1.3,
// AUTH PLAIN "alice" ok`) and each session's transcript as they arrive, and stops on
// Ctrl-C (SIGINT) or SIGTERM. Started on free ports (-listen 127.0.0.1:0
// -http 127.0.0.1:0), it tells where it listens: in its log line
// "listening", in the file of -addr-file, and at GET /api/server.
//
// The HTTP server has a JSON API and, at /, a web page that shows
// sessions and messages as they arrive:
//
//	GET    /api/messages                      messages, in arrival order (?since=ID, ?limit=N, filters)
//	GET    /api/messages/{id}                 one message: envelope, headers, text, HTML, attachments, DKIM and ARC results
//	GET    /api/messages/{id}/raw             the message exactly as sent (message/rfc822)
//	GET    /api/messages/{id}/attachments/{n} the bytes of attachment n, from 0
//	GET    /api/messages/{id}/links           its links (magic links), as Message.Links
//	GET    /api/messages/{id}/find?re=RE      the first match of RE (a code), as Message.Find
//	GET    /api/messages/{id}/normalized      as Message.Normalized, for golden files (snapshots); masks:
//	                                          ?mask=RE&replacement=R, as mocksmtp.Mask, repeated in order
//	DELETE /api/messages/{id}                 forget one message
//	DELETE /api/messages                      forget every message, ended session, finding and expectation;
//	                                          inboxes stay, empty (none is ever forgotten); faults stay,
//	                                          their state afresh (greylisted pairs, atMost counts)
//	GET    /api/sessions                      sessions (?limit=N); ?inbox=D: those that named the inbox in a
//	                                          RCPT TO; ?remoteAddr=HOST:PORT: the client's (its socket's local address)
//	GET    /api/sessions/{id}                 one session with its transcript
//	GET    /api/sessions/{id}/normalized      its transcript as Session.Normalized, once the session
//	                                          has ended (?timeout=5s; 408 on timeout); the same masks
//	GET    /api/wait?count=N&timeout=5s       wait for N messages (a 400 over -retain); 408 on timeout
//	GET    /api/wait?to=A&subjectContains=S   wait for the next message like the filter
//	GET    /api/wait/sessions?count=N         wait until N sessions ended, as WaitForSessions; 408 on timeout;
//	                                          ?inbox=D, ?remoteAddr=HOST:PORT: N of those only (one that names
//	                                          the inbox, or connects, after the wait began counts once it ends)
//	GET    /api/wait/sessions/{id}            wait until session id ended, as WaitForSessionEnd; 408 on timeout
//	GET    /api/wait/none?timeout=2s          200 when no message came within the timeout, as AssertNoMessages
//	                                          (?since=ID: none after ID, as AssertNoMoreMessages); 417 at once
//	                                          when one is there, with the messages
//	POST   /api/inboxes                       a new inbox: a domain of its own, for one test
//	GET    /api/inboxes                       the inboxes made (?limit=N)
//	POST   /api/expectations                  expect messages like a filter: {"want": {"to": [A]}, "times": 1};
//	                                          no other message: {"forbidOtherMessages": true}
//	GET    /api/expectations                  the expectations registered, in order
//	GET    /api/expectations/check            200 when they are met, else 417 with the report
//
// Filters are the fields of mocksmtp.Want, all of them, as query
// parameters: from, to, headerFrom, headerTo, cc, subject,
// subjectContains, subjectMatches, text, textContains, textMatches, html,
// htmlContains, htmlMatches, attachment (a file name) and
// attachmentContentType, dkim (a domain with a signature that verifies)
// and dkimSelector, dkimStatus, dkimReason (which describe one attachment
// or signature: the one attachment or dkim names), arc (pass, fail or
// none), arcReason and header.X-Name (or header[X-Name]); or as JSON in
// the parameter want, as POST /api/expectations takes it, where an
// attachment or a signature may be an object:
// want={"attachment": [{"contentType": "application/pdf", "data": "JVBERi0="}]}.
// They are compared as Want compares them; an unknown parameter is a 400
// that names it. With inbox=D (the domain POST /api/inboxes gave), GET and
// DELETE /api/messages, /api/wait, /api/wait/none and the expectations see only the
// messages of that inbox, as the Go API's Inbox does: tests in parallel
// on one program, each with its own inbox, never see each other's mail;
// the findings, GET /api/sessions and /api/wait/sessions see only the
// sessions that named the inbox in a RCPT TO (Inbox.Findings,
// Inbox.Sessions): a session joins an inbox at its first RCPT TO that
// names it.
//
//	GET    /api/findings                      the rules the clients broke (also on each message and session); ?inbox=D,
//	                                          ?remoteAddr=HOST:PORT: the client's (a session refused at MAIL is in no inbox)
//	GET    /api/findings/check                200 when no client broke a rule, else 417 with the report, as WithStrict; ?inbox=D, ?remoteAddr=
//	GET    /api/rules                         the rules, as mocksmtp.Rules(): name, RFC section, on or off (-without-rules)
//	GET    /api/server                        where SMTP listens ("smtpAddr", for -listen 127.0.0.1:0), TLS, AUTH, seed
//	GET    /api/ca.pem                        the test CA certificate
//	GET, PUT, POST, DELETE /api/faults        read, replace, extend, clear the fault script; each fault has an
//	                                          "id", and POST answers the faults it added, with theirs
//	DELETE /api/faults/{id}                   remove one fault (a test's own, at its end): the others keep
//	                                          their state (greylisted pairs, atMost counts); an id is never reused
//	GET    /api/clock                         the clock the faults' times read: {"now", "offset": "5m0s", "waits": 1,
//	                                          "mode": "real", "waitList": [{"session": 3, "kind": "delay", "ends", "left": "59m0s"}]};
//	                                          with -clock frozen it moves only when moved, from its "start"
//	POST   /api/clock/advance                 move it ahead, {"by": "5m"}: greylisting, rate limits, delays;
//	                                          "0s" moves nothing (a suite's backoff of 0), a negative move is a 400
//	GET    /api/wait/clock?count=N            wait until N waits on the clock (delays, pauses) are in progress;
//	                                          ?session=ID&kind=delay: only that session's, that kind's (repeatable)
//	GET    /api/openapi.json                  the OpenAPI 3.1 document of the API
//
// Errors are JSON, {"error": "..."}. Bodies are JSON, sent with
// Content-Type: application/json (curl --json). Browsers may use the API
// only from mocksmtp's own page: requests that pages of other origins
// make are refused. A fault script (the -faults file, the body of PUT
// /api/faults) is a JSON array with one object per fault, mapping one to
// one onto mocksmtp.Fault:
//
//	[{"at": "RCPT", "onAttempt": [1], "reply": "421 4.3.2 try later", "disconnect": true},
//	 {"greylist": true}]
//
// It is consulted in order: of the faults that match an event, the first
// with a reply, "drop" or an ending decides its answer, and those before
// it that only delay or modify it (a pace, an idleReply, dropAfterBytes,
// a TLS failure) add what they do to it ({"at": "RCPT", "delay": "1s"}
// before {"greylist": true} slows every RCPT and hides no greylisting;
// {"at": "RCPT", "trickle": ...} before it trickles its 451).
//
// Transcript notes name each fault that fires by where it was declared:
// its "declaredAt" (the suite's "test_retry.py:42"), or else the request
// and line of the fault ("PUT /api/faults:1") or the -faults file and line.
//
// Every flag can also be set with an environment variable: MOCKSMTP_ and
// the flag's name in upper case, dashes as underscores (-max-message-bytes
// is MOCKSMTP_MAX_MESSAGE_BYTES). A flag given on the command line wins.
// Flags are named after the Go options they set (-max-message-bytes is
// mocksmtp.WithMaxMessageBytes), some shorter (-tls is WithSTARTTLS,
// -retain WithRetention, -listen WithListenAddr, -auth-any WithAuthFunc
// with a check that accepts everyone), and those of the
// engine's limits after the fields of smtpd.Config they set in
// WithEngineConfig's base, all given to it at once (-max-junk-commands is
// MaxJunkCommands); a flag, or a variable, of an older name
// is an error that names the new one. The flags of the engine's limits,
// for clients that go past a default limit:
//
//	-max-junk-commands 1000                   MaxJunkCommands: a pooled connection kept alive with NOOPs
//	-max-bad-commands 50                      MaxBadCommands: bad commands before 421 4.7.0
//	-max-recipient-overshoot 5000             MaxRecipientOvershoot: RCPTs past -max-recipients (452) not
//	                                          counted as bad commands, for a client that sends them all
//	-max-command-line 2048                    MaxCommandLine, in octets, CRLF included
//	-param-allowance 2048                     ParamAllowance: octets more for MAIL and RCPT with parameters
//	                                          (a DSN client's long ORCPT)
//	-max-text-line 2000                       MaxTextLine: a legacy client's long lines of text
//
// The flags for tests of a client's
// fallbacks and error handling (lists are comma-separated):
//
//	-without-extensions PIPELINING,CHUNKING   WithoutExtensions: neither advertised nor accepted
//	-reject-nonconforming                     WithRejectNonconforming: a strict MTA (550 5.5.2 for a bare LF...)
//	-without-rules quit,message-id            WithoutRules: neither recorded nor enforced
//	-auth-mechanisms-before-tls CRAM-MD5      WithAuthMechanismsBeforeTLS
//	-persona exchange                         WithPersona(mocksmtp.Exchange): its greeting, EHLO reply,
//	                                          reply texts (postfix or exchange; -hostname,
//	                                          -max-message-bytes, -without-extensions change what it sets)
//
// A value of theirs, or of -auth-mechanisms, that the Go option refuses
// (an unknown extension, rule or mechanism) is a usage error that names
// the flag; so are TLS and AUTH flags whose options New refuses together
// (-auth-mechanisms-before-tls with -require-tls-for-auth or
// -implicit-tls, -tls with -implicit-tls) or without what they need
// (-require-auth or -require-tls-for-auth without -auth, -auth-any or
// -oauth-token),
// naming those flags. A number or duration given
// (-max-message-bytes, -max-recipients, -read-timeout, -retain,
// -max-transcript-lines, -wait-timeout, also at most a wait's 10m) is
// checked as its Go option checks it, 0 too,
// a usage error naming the flag; left out, the default applies. So is
// one of the engine's limits, as New checks its field of WithEngineConfig
// (a line limit past 1 MiB; -max-command-line and -param-allowance
// together past it, naming both), and 0 or less, which smtpd.Config takes for
// the default, is refused as the other numbers' 0 is: left out, the
// default applies. A value
// that does not parse says what the flag wants, in a flag as in its
// environment variable.
//
// The clock of the faults' times (greylistFor, rateLimitPer, delays,
// pauses, idle replies) is real time plus the moves of POST
// /api/clock/advance, or with -clock frozen (MOCKSMTP_CLOCK=frozen) the
// real time at which the program started plus the moves, for a suite
// whose own clock stands still between its moves: its boundaries are
// exact, and a wait on it ends only when a move reaches its end.
// -clock-start 2026-01-01T00:00:00Z (MOCKSMTP_CLOCK_START, an RFC 3339
// time, in any zone, to the nanosecond) starts the frozen clock there
// instead, where the suite's fake clock starts (Jest's setSystemTime,
// freezegun), and implies -clock frozen (with -clock real it is a usage
// error: the real clock's time is real time). The server's time that a
// client sees, the Exchange persona's greeting, reads the same clock:
// with -clock-start, the same octets every run. The read timeout, the
// waits of the API and the times of sessions and messages are real time
// either way (clock.go).
//
// For safety, mocksmtp refuses to listen on an address other than a
// loopback one (127.0.0.1, ::1, localhost) unless -allow-remote is given.
package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net"
	"os"
	"os/signal"
	"reflect"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/internal/clock"
	"github.com/mocksmtp/mocksmtp/smtpd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "mocksmtp:", strings.TrimPrefix(err.Error(), "mocksmtp: "))
		os.Exit(1)
	}
}

// errUsage reports bad flags, already explained on stderr.
var errUsage = errors.New("usage")

// config is what the flags and environment variables say.
type config struct {
	listen             string
	http               string
	addrFile           string
	allowRemote        bool
	hostname           string
	maxMessageBytes    int64
	maxRecipients      int
	readTimeout        time.Duration
	waitTimeout        time.Duration // -wait-timeout; 0: defaultWait
	retain             int
	maxTranscriptLines int
	// engine is WithEngineConfig's base, given once when a flag set one
	// of its fields (-max-junk-commands is MaxJunkCommands); the others 0.
	engine               smtpd.Config
	withoutSecretMasking bool
	withoutExtensions    []string         // -without-extensions PIPELINING,CHUNKING
	rejectNonconforming  bool             // -reject-nonconforming
	persona              mocksmtp.Persona // -persona postfix; 0: none
	withoutRules         []mocksmtp.Rule  // -without-rules quit,message-id
	quiet                bool
	logFormat            string
	logLevel             slog.Level
	version              bool

	startTLS          bool
	implicitTLS       bool
	requireTLS        bool
	certFile          string
	keyFile           string
	clientCA          string // -client-ca: require client certificates that its CAs sign
	caOut             string
	auth              []account
	oauthTokens       []account                // -oauth-token user:token
	authMechanisms    []mocksmtp.AuthMechanism // -auth-mechanisms PLAIN,LOGIN
	authBeforeTLS     []mocksmtp.AuthMechanism // -auth-mechanisms-before-tls CRAM-MD5
	authAny           bool                     // -auth-any
	requireAuth       bool
	requireTLSForAuth bool
	// credentialErr says what is wrong with a -auth or -oauth-token value
	// (in a flag or its environment variable), told after parsing without
	// the value, which holds a password or token: the flag package's
	// error and the environment's repeat it.
	credentialErr string

	dkimKeys []dkimKey // -dkim-key domain:selector:file.pem

	faultsFile string
	seed       int64
	seeded     bool
	clock      string // -clock: clockReal or clockFrozen
	// clockStart is -clock-start, the frozen clock's start, if
	// clockStartSet.
	clockStart    time.Time
	clockStartSet bool
}

// account is one -auth user:password.
type account struct{ user, password string }

// parseFlags reads args, with environment variables as defaults.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	var c config
	fs := flag.NewFlagSet("mocksmtp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:2525", "SMTP listen `address`; port 0 picks a free port")
	fs.StringVar(&c.http, "http", "127.0.0.1:8025", "HTTP listen `address` for the API and the web page; \"\" turns HTTP off")
	fs.StringVar(&c.addrFile, "addr-file", "", "once listening, write the SMTP and HTTP addresses to this `file` as JSON, {\"smtpAddr\": \"127.0.0.1:41234\", \"httpAddr\": \"127.0.0.1:41235\"} (for ports 0), replacing it whole; removed at exit unless another program has replaced it since")
	fs.Var(boolValue(&c.allowRemote), "allow-remote", "allow listening on addresses other than loopback ones")
	fs.StringVar(&c.hostname, "hostname", "", "`name` in the greeting and EHLO reply (default localhost)")
	// A number left out keeps the option's default; one given (0 too)
	// is the option's, checked as New checks it.
	fs.Var(optionValue(&c.maxMessageBytes, parseInt[int64], mocksmtp.WithMaxMessageBytes), "max-message-bytes", "largest message accepted, in `bytes`, a plain number such as 1048576 (default 10485760, 10 MiB)")
	fs.Var(optionValue(&c.maxRecipients, parseInt[int], mocksmtp.WithMaxRecipients), "max-recipients", "at most `n` recipients per message (default 100)")
	fs.Var(optionValue(&c.readTimeout, parseDuration, mocksmtp.WithReadTimeout), "read-timeout", "how long to wait for each command before closing an idle session, a `duration` (default 5m)")
	fs.Var(&flagValue[time.Duration]{p: &c.waitTimeout, parse: parseDuration, check: checkWaitTimeout}, "wait-timeout",
		"how long a wait of the API waits when its request gives no timeout=, a `duration` of at most 10m (default 5s), as WithWaitTimeout")
	fs.Var(optionValue(&c.retain, parseInt[int], mocksmtp.WithRetention), "retain", "keep only the last `n` messages and sessions (default: keep everything)")
	fs.Var(optionValue(&c.maxTranscriptLines, parseInt[int], mocksmtp.WithMaxTranscriptLines), "max-transcript-lines", "keep at most `n` lines of a session's transcript: its first tenth and its last lines (default 100000)")
	// The engine's limits that have no option of their own, each a field
	// of WithEngineConfig's base, named after it.
	fs.Var(engineValue(&c.engine, "MaxBadCommands", func(e *smtpd.Config) *int { return &e.MaxBadCommands }), "max-bad-commands",
		"close a session with 421 4.7.0 at its `n`th bad command: one the server refuses, or a junk command past -max-junk-commands (default 20)")
	fs.Var(engineValue(&c.engine, "MaxRecipientOvershoot", func(e *smtpd.Config) *int { return &e.MaxRecipientOvershoot }), "max-recipient-overshoot",
		"answer up to `n` RCPT TO past -max-recipients in a transaction with 452 4.5.3 without counting them as bad commands, as Postfix's smtpd_recipient_overshoot_limit; each further one counts (default 1000)")
	fs.Var(engineValue(&c.engine, "MaxJunkCommands", func(e *smtpd.Config) *int { return &e.MaxJunkCommands }), "max-junk-commands",
		"count each junk command (NOOP, RSET, VRFY, EXPN, HELP) past `n` since the last message as a bad command, as Postfix's smtpd_junk_command_limit (default 100)")
	fs.Var(engineValue(&c.engine, "MaxCommandLine", func(e *smtpd.Config) *int { return &e.MaxCommandLine }), "max-command-line",
		"refuse a command line longer than `octets`, CRLF included, with 500 5.5.2; MAIL and RCPT with parameters get -param-allowance more, AUTH 12288 (default 512, at most 1048576, with -param-allowance)")
	fs.Var(engineValue(&c.engine, "ParamAllowance", func(e *smtpd.Config) *int { return &e.ParamAllowance }), "param-allowance",
		"allow a MAIL or RCPT line with parameters `octets` more than -max-command-line, as a DSN client's long ORCPT needs (default 512; with -max-command-line, at most 1048576)")
	fs.Var(engineValue(&c.engine, "MaxTextLine", func(e *smtpd.Config) *int { return &e.MaxTextLine }), "max-text-line",
		"refuse a message with a text line longer than `octets`, CRLF included (a transparency dot not), with 500 5.5.2 at its end (default 1000, at most 1048576)")
	fs.Var(boolValue(&c.withoutSecretMasking), "without-secret-masking", "record AUTH secrets in transcripts instead of masking them")
	fs.Func("without-extensions", "comma-separated EHLO `keywords` of extensions neither to advertise nor to accept, to test a client's fallback: PIPELINING, SIZE, ENHANCEDSTATUSCODES, 8BITMIME, DSN, SMTPUTF8, CHUNKING",
		listFlag(&c.withoutExtensions, func(kw string) string { return kw }, mocksmtp.WithoutExtensions))
	fs.Var(&flagValue[mocksmtp.Persona]{p: &c.persona, parse: parsePersona}, "persona", "imitate a well-known `server`'s greeting, EHLO reply and reply texts: "+strings.Join(personaNames(), " or ")+"; -hostname, -max-message-bytes and -without-extensions change what it sets")
	fs.Var(boolValue(&c.rejectNonconforming), "reject-nonconforming", "answer a command or message that breaks an error-severity conformance rule with the 5xx a strict MTA sends (503 5.5.1, 550 5.5.2, 553 5.6.7, 554 5.6.1, 550 5.6.0...)")
	fs.Func("without-rules", "comma-separated conformance `rules` to switch off, neither recorded nor enforced: "+strings.Join(ruleNames(), ", "), func(v string) error {
		rules, err := parseRules(v)
		if err != nil {
			return err
		}
		c.withoutRules = rules
		return nil
	})
	fs.Var(boolValue(&c.quiet), "quiet", "do not print messages and transcripts on stdout")
	fs.StringVar(&c.logFormat, "log-format", "text", "log `format` on stderr: text or json")
	fs.Var(levelFlag{&c.logLevel}, "log-level", "log `level`: debug, info, warn or error (default info)")
	fs.Var(boolValue(&c.version), "version", "print the version and exit")
	fs.Var(boolValue(&c.startTLS), "tls", "offer STARTTLS, with a certificate from a test CA (see -ca-out) unless -cert is given")
	fs.Var(boolValue(&c.implicitTLS), "implicit-tls", "speak TLS from the first byte (SMTPS, as on port 465) instead of offering STARTTLS (not with -tls)")
	fs.Var(boolValue(&c.requireTLS), "require-tls", "answer every command before TLS but EHLO, HELO, STARTTLS, NOOP, HELP, QUIT with 530 5.7.0, and offer AUTH only after it (implies -tls)")
	fs.StringVar(&c.certFile, "cert", "", "serve TLS with this PEM certificate `file` (with -key) instead of the test CA's")
	fs.StringVar(&c.keyFile, "key", "", "the PEM private key `file` of -cert")
	fs.StringVar(&c.clientCA, "client-ca", "", "require a client certificate (mutual TLS) that a CA certificate of this PEM `file` signs, as WithTLSConfig with ClientCAs and tls.RequireAndVerifyClientCert: a client without one fails the handshake; with STARTTLS, one that never starts TLS is not asked: add -require-tls (needs -cert and -key)")
	fs.StringVar(&c.caOut, "ca-out", "", "write the test CA certificate (PEM) to this `file`, for clients to trust; also at GET /api/ca.pem")
	fs.Func("auth", "offer AUTH (PLAIN, LOGIN, CRAM-MD5) and accept `user:password`; repeat for more accounts", func(v string) error {
		user, password, ok := strings.Cut(v, ":")
		if !ok || user == "" {
			c.credentialErr = cmp.Or(c.credentialErr, "-auth (or MOCKSMTP_AUTH): want user:password")
			return nil
		}
		c.auth = append(c.auth, account{user, password})
		return nil
	})
	fs.Func("oauth-token", "offer AUTH XOAUTH2 and OAUTHBEARER and accept `user:token` (an OAuth 2.0 access token); repeat for more users", func(v string) error {
		user, token, ok := strings.Cut(v, ":")
		if !ok || user == "" || token == "" {
			c.credentialErr = cmp.Or(c.credentialErr, "-oauth-token (or MOCKSMTP_OAUTH_TOKEN): want user:token")
			return nil
		}
		c.oauthTokens = append(c.oauthTokens, account{user, token})
		return nil
	})
	fs.Func("auth-mechanisms", "comma-separated SASL `mechanisms` to offer, from PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER, SCRAM-SHA-1, SCRAM-SHA-256, SCRAM-SHA-1-PLUS, SCRAM-SHA-256-PLUS (default PLAIN, LOGIN, CRAM-MD5 with -auth, XOAUTH2, OAUTHBEARER with -oauth-token)",
		listFlag(&c.authMechanisms, toMechanism, mocksmtp.WithAuthMechanisms, checkAnyMechanism...))
	fs.Func("auth-mechanisms-before-tls", "comma-separated SASL `mechanisms` to offer and accept before TLS, as -auth-mechanisms names them; those of -auth-mechanisms (or the default) apply after STARTTLS, and one of those sent before TLS gets 538 5.7.11 (implies -tls)",
		listFlag(&c.authBeforeTLS, toMechanism, mocksmtp.WithAuthMechanismsBeforeTLS, checkAnyMechanism...))
	fs.Var(boolValue(&c.authAny), "auth-any", "offer AUTH (PLAIN, LOGIN) and accept any username and password, as a relay that does not check them (with -auth-mechanisms XOAUTH2 or OAUTHBEARER, any token too); sessions still record who logged in; not with -auth or -oauth-token")
	fs.Var(boolValue(&c.requireAuth), "require-auth", "answer MAIL before a successful AUTH with 530 5.7.0 (needs -auth, -auth-any or -oauth-token)")
	fs.Var(boolValue(&c.requireTLSForAuth), "require-tls-for-auth", "offer AUTH only after TLS (implies -tls; needs -auth, -auth-any or -oauth-token)")
	fs.Func("dkim-key", "verify DKIM signatures and ARC sets of `domain:selector:key.pem` with the public key (or private key) in the PEM file; repeat for more", func(v string) error {
		k, err := parseDKIMKey(v)
		if err != nil {
			return err
		}
		// Checked as New checks it, with the keys given before: another
		// key for a selector given already is refused.
		var before []mocksmtp.Option
		for _, had := range c.dkimKeys {
			before = append(before, mocksmtp.WithDKIMKey(had.domain, had.selector, had.key))
		}
		if err := checkOption(mocksmtp.WithDKIMKey(k.domain, k.selector, k.key), before...); err != nil {
			return err
		}
		c.dkimKeys = append(c.dkimKeys, k)
		return nil
	})
	fs.StringVar(&c.faultsFile, "faults", "", "load the fault script from this JSON `file` (the form of PUT /api/faults)")
	fs.Func("seed", "seed `n` of the random source of faults with withProbability (default random, noted in transcripts)", func(v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return errors.New("want an integer")
		}
		c.seed, c.seeded = n, true
		return nil
	})
	c.clock = clockReal
	fs.Var(&flagValue[string]{p: &c.clock, parse: parseClockMode}, "clock",
		"`mode` of the clock that the faults' times read (greylistFor, rateLimitPer, delays, pauses, idleReply), which POST /api/clock/advance moves ahead: "+
			clockReal+" (real time plus the moves) or "+clockFrozen+", for a suite whose own clock is fake (the time the program started, or -clock-start, plus the moves, and nothing else: boundaries are exact, and a wait ends only when a move reaches its end); the read timeout and the API's waits stay real time")
	fs.Var(&flagValue[time.Time]{p: &c.clockStart, parse: parseClockStart}, "clock-start",
		"start the frozen clock at this `time`, an RFC 3339 time such as 2026-01-01T00:00:00Z or 2026-01-01T09:00:00.5+09:00 (its zone is the clock's), where a suite's fake clock starts (Jest's setSystemTime, freezegun); implies -clock "+clockFrozen+", not with -clock "+clockReal)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: mocksmtp [flags]\n\nAn SMTP server for tests: it records every message, shows them on a web page\nand over a JSON API, and fails on command.\n\nFlags (each also read from MOCKSMTP_<NAME>, e.g. MOCKSMTP_MAX_MESSAGE_BYTES):\n")
		fs.PrintDefaults()
	}
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		if v, ok := os.LookupEnv(name); ok && envErr == nil {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = fmt.Errorf("%s=%q: %v", name, v, err)
			}
		}
	})
	for _, old := range slices.Sorted(maps.Keys(renamedFlags)) {
		r := renamedFlags[old]
		if _, ok := os.LookupEnv(envName(old)); ok && envErr == nil {
			envErr = fmt.Errorf("%s: -%s is now -%s (%s): set %s", envName(old), old, r.name, r.option, envName(r.name))
		}
	}
	if envErr != nil {
		fmt.Fprintln(stderr, "mocksmtp:", envErr)
		return nil, errUsage
	}
	// The flag package explains a bad flag on its output, with the usage;
	// a renamed flag gets a line naming its new name instead, and a
	// misspelt one a line naming the flag it is near (didYouMean).
	var out bytes.Buffer
	fs.SetOutput(&out)
	err := fs.Parse(args)
	if old, ok := strings.CutPrefix(fmt.Sprint(err), "flag provided but not defined: -"); ok {
		if r, ok := renamedFlags[old]; ok {
			fmt.Fprintf(stderr, "mocksmtp: -%s is now -%s (%s)\n", old, r.name, r.option)
			return nil, errUsage
		}
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, "-"+f.Name) })
		if hint := didYouMean("-"+old, names); hint != "" {
			fmt.Fprintf(stderr, "mocksmtp: %v%s; mocksmtp -h lists the flags\n", err, hint)
			return nil, errUsage
		}
	}
	_, _ = stderr.Write(out.Bytes())
	fs.SetOutput(stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	if c.credentialErr != "" {
		fmt.Fprintf(stderr, "mocksmtp: %s (the value is not shown: it holds a secret)\n", c.credentialErr)
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mocksmtp: unexpected arguments: %q\n", fs.Args())
		fs.Usage()
		return nil, errUsage
	}
	if (c.certFile == "") != (c.keyFile == "") {
		fmt.Fprintln(stderr, "mocksmtp: -cert and -key go together")
		return nil, errUsage
	}
	if c.clientCA != "" && c.certFile == "" {
		fmt.Fprintln(stderr, "mocksmtp: -client-ca needs -cert and -key: the test CA's server certificate cannot be given a client CA (WithTLSConfig takes the server's own certificate)")
		return nil, errUsage
	}
	if c.caOut != "" && c.certFile != "" {
		fmt.Fprintln(stderr, "mocksmtp: -ca-out writes the test CA, which -cert replaces: give one of them")
		return nil, errUsage
	}
	given := map[string]bool{} // the flags set, on the command line or by their variables
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if c.clockStartSet = given["clock-start"]; c.clockStartSet {
		if given["clock"] && c.clock == clockReal {
			fmt.Fprintf(stderr, "mocksmtp: -clock-start sets the start of the frozen clock: not with -clock %s (or %s=%s), whose time is real time plus the moves; leave -clock out, or give -clock %s\n",
				clockReal, envName("clock"), clockReal, clockFrozen)
			return nil, errUsage
		}
		c.clock = clockFrozen
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		fmt.Fprintf(stderr, "mocksmtp: -log-format %q: want text or json\n", c.logFormat)
		return nil, errUsage
	}
	return &c, nil
}

// levelFlag is the value of -log-level, in the lower case its help uses.
type levelFlag struct{ p *slog.Level }

func (f levelFlag) String() string {
	var l slog.Level // the flag package's zero value: info
	if f.p != nil {
		l = *f.p
	}
	return strings.ToLower(l.String())
}

func (f levelFlag) Set(s string) error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return errors.New("want debug, info, warn or error")
	}
	*f.p = l
	return nil
}

// inUse adds to an error of listening on an address that another
// program has (another mocksmtp, on the default ports) how to run side
// by side: on free ports, written to a file.
func inUse(err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%w; another program listens there (another mocksmtp?): -listen 127.0.0.1:0 -http 127.0.0.1:0 listen on free ports, and -addr-file FILE writes them as JSON", err)
	}
	return err
}

// flagValue is a flag.Value of a T: a value that does not parse says
// what the flag wants, on the command line as in its environment
// variable ("want a whole number"), and check, if any, refuses the others.
type flagValue[T any] struct {
	p     *T
	parse func(string) (T, error)
	check func(T) error
}

func (v *flagValue[T]) String() string {
	if v == nil || v.p == nil { // the flag package's zero value
		var zero T
		return fmt.Sprint(zero)
	}
	return fmt.Sprint(*v.p)
}

func (v *flagValue[T]) Set(s string) error {
	x, err := v.parse(s)
	if err != nil {
		return err
	}
	if v.check != nil {
		if err := v.check(x); err != nil {
			return err
		}
	}
	*v.p = x
	return nil
}

// optionValue is the value of a flag that sets option: given, it is
// checked as New checks it (checkOption), 0 included, a usage error
// ("invalid value \"0\" for flag -retain: WithRetention(0): want a
// positive number"); left out, the option is not used.
func optionValue[T any](p *T, parse func(string) (T, error), option func(T) mocksmtp.Option) *flagValue[T] {
	return &flagValue[T]{p: p, parse: parse, check: func(x T) error { return checkOption(option(x)) }}
}

// engineValue is the value of a flag that sets a field of WithEngineConfig's
// base, *cfg, which run gives once: a positive number, checked as New
// checks the field (checkOption, with WithEngineConfig of that field
// alone), a usage error ("invalid value \"1048577\" for flag
// -max-text-line: WithEngineConfig: MaxTextLine 1048577: want at most
// 1048576 octets..."). smtpd.Config takes 0 and less for the default:
// given, they are refused, as the other number flags refuse 0, for the
// flag left out keeps the default. -param-allowance's bound depends on
// -max-command-line, given before or after it: run checks the two.
func engineValue(cfg *smtpd.Config, name string, field func(*smtpd.Config) *int) *flagValue[int] {
	return &flagValue[int]{p: field(cfg), parse: parseInt[int], check: func(n int) error {
		if n <= 0 {
			return fmt.Errorf("smtpd.Config.%s %d: want a positive number (left out, the default applies)", name, n)
		}
		var alone smtpd.Config
		*field(&alone) = n
		if alone.ParamAllowance != 0 {
			// Its bound is MaxCommandLine's complement to 1 MiB, and
			// -max-command-line may come after it: run checks the two
			// together.
			return nil
		}
		return checkOption(mocksmtp.WithEngineConfig(alone))
	}}
}

// boolFlag is a boolean flag whose bad value says what it wants.
type boolFlag struct{ flagValue[bool] }

func (*boolFlag) IsBoolFlag() bool { return true }

func boolValue(p *bool) *boolFlag {
	return &boolFlag{flagValue[bool]{p: p, parse: func(s string) (bool, error) {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return false, errors.New("want true or false (or 1 or 0)")
		}
		return b, nil
	}}}
}

// parseInt reads a number flag as the flag package's own number flags
// did, in Go's forms (strconv's base 0): 1048576, 1_048_576, 0x100000,
// and 010 as octal 8.
func parseInt[T int | int64](s string) (T, error) {
	n, err := strconv.ParseInt(s, 0, 64)
	if err != nil || int64(T(n)) != n {
		return 0, errors.New("want a whole number, such as 100")
	}
	return T(n), nil
}

// checkWaitTimeout checks a -wait-timeout as WithWaitTimeout checks it,
// and as long as a wait's timeout= may be (maxWait).
func checkWaitTimeout(d time.Duration) error {
	if err := checkOption(mocksmtp.WithWaitTimeout(d)); err != nil {
		return err
	}
	if d > maxWait {
		return fmt.Errorf("%v: want at most %v, as a wait's timeout=", d, maxWait)
	}
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New(`want a duration, such as "30s" or "5m"`)
	}
	return d, nil
}

// The values of -clock (clockModes), also the "mode" of GET /api/clock.
const (
	clockReal   = "real"   // clock.New: real time plus the moves
	clockFrozen = "frozen" // clock.NewFrozen: the program's start plus the moves
)

// clockModes returns the values of -clock, the default first.
func clockModes() []string { return []string{clockReal, clockFrozen} }

// parseClockMode reads a value of -clock, in any case.
func parseClockMode(s string) (string, error) {
	for _, m := range clockModes() {
		if strings.EqualFold(s, m) {
			return m, nil
		}
	}
	return "", fmt.Errorf("want %s%s", strings.Join(clockModes(), " or "), didYouMean(strings.ToLower(s), clockModes()))
}

// latestClockStart bounds -clock-start: the clock moves up to
// clock.MaxOffset (100 years) ahead of its start, a wait on it ends up
// to the longest delay (some 292 years) past that, and a time past the
// year 9999 has no RFC 3339 form (the API could not write it).
var latestClockStart = time.Date(9000, time.January, 1, 0, 0, 0, 0, time.UTC)

// maxClockStartLen bounds a value of -clock-start that parseClockStart
// reads: an RFC 3339 time with nanoseconds and an offset has 35 octets.
const maxClockStartLen = 64

// clockStartUsage says what -clock-start takes.
const clockStartUsage = "want an RFC 3339 time, such as 2026-01-01T00:00:00Z or 2026-01-01T09:00:00.5+09:00"

// parseClockStart reads a value of -clock-start: an RFC 3339 time (with
// its lower-case t and z, and a space for T, as RFC 3339 5.6 allows and
// Python's str(datetime) writes), to the nanosecond, in the zone of its
// offset (UTC for Z, +00:00 and -00:00), after the zero time, which the
// server's times take for none (a session's idle time not running), and
// before latestClockStart. Its errors say what is wrong without
// repeating a value of any length.
func parseClockStart(s string) (time.Time, error) {
	if len(s) > maxClockStartLen {
		return time.Time{}, fmt.Errorf("%s (%d octets: too long for one)", clockStartUsage, len(s))
	}
	v := strings.ToUpper(s)
	if len(v) > 10 && v[10] == ' ' {
		v = v[:10] + "T" + v[11:]
	}
	t, err := parseRFC3339(v)
	if err != nil {
		if _, err := time.Parse(time.DateOnly, v); err == nil {
			return time.Time{}, fmt.Errorf("a date alone: add the time and the zone, %sT00:00:00Z", v)
		}
		if _, err := parseRFC3339(v + "Z"); err == nil {
			return time.Time{}, fmt.Errorf("no zone: add Z for UTC, or the offset, as in %s+09:00", v)
		}
		var pe *time.ParseError
		if !errors.As(err, &pe) {
			return time.Time{}, err
		}
		if pe.Message != "" {
			return time.Time{}, fmt.Errorf("%s; %s", strings.TrimPrefix(pe.Message, ": "), clockStartUsage)
		}
		return time.Time{}, errors.New(clockStartUsage)
	}
	if !t.After(time.Time{}) {
		return time.Time{}, fmt.Errorf("want a time after %s: the server takes that instant for no time at all", time.Time{}.Format(time.RFC3339))
	}
	if !t.Before(latestClockStart) {
		return time.Time{}, fmt.Errorf("want a time before %s: the clock moves up to %v ahead of its start, a wait on it ends up to %v past that, and a time after the year 9999 has no RFC 3339 form",
			latestClockStart.Format(time.RFC3339), clock.MaxOffset, time.Duration(math.MaxInt64))
	}
	if _, off := t.Zone(); off != 0 {
		return t.In(time.FixedZone("", off)), nil
	}
	return t.UTC(), nil
}

// parseRFC3339 reads an RFC 3339 time, in upper case. time.Parse checks
// the ranges of its fields but not its shape, which it takes loosely (an
// hour of one digit, a comma for the point, an offset's hour 24 or
// minute 60: go.dev/issue/54580; time.Time.UnmarshalText's checks of
// them are disabled), so the shape is checked here, and at most 9
// digits of fractional seconds, which Parse would cut. Its errors are
// time.Parse's, or say what is wrong.
func parseRFC3339(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return t, err
	}
	digits := func(s string) bool { return strings.Trim(s, "0123456789") == "" }
	const shape = "0000-00-00T00:00:00" // 0 for a digit
	if len(s) < len(shape) {
		return time.Time{}, errors.New(clockStartUsage)
	}
	for i := range len(shape) {
		if shape[i] == '0' && !digits(s[i:i+1]) || shape[i] != '0' && s[i] != shape[i] {
			return time.Time{}, errors.New(clockStartUsage)
		}
	}
	rest := s[len(shape):]
	if frac, ok := strings.CutPrefix(rest, "."); ok {
		n := len(frac) - len(strings.TrimLeft(frac, "0123456789"))
		switch {
		case n == 0:
			return time.Time{}, errors.New(clockStartUsage)
		case n > 9: // time.Parse drops the digits past the ninth
			return time.Time{}, fmt.Errorf("%d digits of fractional seconds: the clock counts nanoseconds, 9 digits at most", n)
		}
		rest = frac[n:]
	}
	switch {
	case rest == "Z":
	case len(rest) != len("+07:00") || rest[0] != '+' && rest[0] != '-' || rest[3] != ':' || !digits(rest[1:3]+rest[4:]):
		return time.Time{}, errors.New(clockStartUsage)
	case rest[1:3] > "23" || rest[4:] > "59":
		return time.Time{}, fmt.Errorf("the offset %s: want hours 00 to 23 and minutes 00 to 59", rest)
	}
	return t, nil
}

// personas are the values of -persona.
var personas = []mocksmtp.Persona{mocksmtp.Postfix, mocksmtp.Exchange}

// personaNames returns the names -persona takes: "postfix", "exchange".
func personaNames() []string {
	names := make([]string, len(personas))
	for i, p := range personas {
		names[i] = strings.ToLower(p.String())
	}
	return names
}

// parsePersona reads a value of -persona, in any case.
func parsePersona(s string) (mocksmtp.Persona, error) {
	for _, p := range personas {
		if strings.EqualFold(s, p.String()) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("want %s%s", strings.Join(personaNames(), " or "), didYouMean(strings.ToLower(s), personaNames()))
}

// renamedFlags maps the flags renamed after the Go options they set to
// their new names.
var renamedFlags = map[string]struct{ name, option string }{
	"size-limit":        {"max-message-bytes", "mocksmtp.WithMaxMessageBytes"},
	"show-secrets":      {"without-secret-masking", "mocksmtp.WithoutSecretMasking"},
	"auth-requires-tls": {"require-tls-for-auth", "mocksmtp.WithRequireTLSForAuth"},
}

// envName returns the environment variable of a flag: MOCKSMTP_MAX_MESSAGE_BYTES.
func envName(flagName string) string {
	return "MOCKSMTP_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// version describes the build: module version, VCS revision, Go version.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "mocksmtp (unknown version)"
	}
	v := "mocksmtp " + bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
		if s.Key == "vcs.modified" && s.Value == "true" {
			v += "+dirty"
		}
	}
	return v + " " + bi.GoVersion
}

// checkLocal refuses a non-loopback listen address unless allowed.
func checkLocal(flagName, addr string, allow bool) error {
	if allow {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-%s %q: %v", flagName, addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	if host == "" {
		host = "every interface"
	}
	return fmt.Errorf("-%s %q listens on %s, not on loopback: anyone who can reach it could read the mail; give -allow-remote to do it anyway", flagName, addr, host)
}

// run is the program: it returns when ctx ends (a signal) or on an error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if cfg.version {
		fmt.Fprintln(stdout, version())
		return nil
	}
	if err := checkLocal("listen", cfg.listen, cfg.allowRemote); err != nil {
		return err
	}
	if cfg.http != "" {
		if err := checkLocal("http", cfg.http, cfg.allowRemote); err != nil {
			return err
		}
	}
	log := newLogger(cfg, stderr)
	// The clock the faults' times read, which the suite moves ahead
	// (POST /api/clock/advance).
	clk := clock.New()
	switch {
	case cfg.clockStartSet:
		clk = clock.NewFrozenAt(cfg.clockStart)
	case cfg.clock == clockFrozen:
		clk = clock.NewFrozen()
	}
	out := &printer{w: stdout, json: cfg.logFormat == "json", quiet: cfg.quiet, clock: clk}

	opts := []mocksmtp.Option{mocksmtp.WithListenAddr(cfg.listen)}
	if cfg.persona != 0 {
		// First: the options of the flags after it change what it sets.
		opts = append(opts, mocksmtp.WithPersona(cfg.persona))
	}
	if !cfg.quiet {
		// Quiet, nothing is printed, and no snapshot is taken to print:
		// the server decodes no message on arrival for the printer.
		opts = append(opts, mocksmtp.WithOnMessage(out.message), mocksmtp.WithOnSessionEnd(out.session))
	}
	if cfg.hostname != "" {
		opts = append(opts, mocksmtp.WithHostname(cfg.hostname))
	}
	if cfg.maxMessageBytes != 0 {
		opts = append(opts, mocksmtp.WithMaxMessageBytes(cfg.maxMessageBytes))
	}
	if cfg.maxRecipients != 0 {
		opts = append(opts, mocksmtp.WithMaxRecipients(cfg.maxRecipients))
	}
	if cfg.readTimeout != 0 {
		opts = append(opts, mocksmtp.WithReadTimeout(cfg.readTimeout))
	}
	if cfg.retain != 0 {
		opts = append(opts, mocksmtp.WithRetention(cfg.retain))
	}
	if cfg.maxTranscriptLines != 0 {
		opts = append(opts, mocksmtp.WithMaxTranscriptLines(cfg.maxTranscriptLines))
	}
	if !reflect.ValueOf(cfg.engine).IsZero() {
		// Each field was checked alone, as its flag was given; together,
		// a command line and its allowance for parameters may be too long.
		if err := checkOption(mocksmtp.WithEngineConfig(cfg.engine)); err != nil {
			fmt.Fprintf(stderr, "mocksmtp: flags -max-command-line and -param-allowance: %v\n", err)
			return errUsage
		}
		// Once, every field a flag set together: the last base given wins.
		opts = append(opts, mocksmtp.WithEngineConfig(cfg.engine))
	}
	if cfg.withoutSecretMasking {
		opts = append(opts, mocksmtp.WithoutSecretMasking())
	}
	if len(cfg.withoutExtensions) > 0 {
		opts = append(opts, mocksmtp.WithoutExtensions(cfg.withoutExtensions...))
	}
	if cfg.rejectNonconforming {
		opts = append(opts, mocksmtp.WithRejectNonconforming())
	}
	if len(cfg.withoutRules) > 0 {
		opts = append(opts, mocksmtp.WithoutRules(cfg.withoutRules...))
	}
	secOpts, err := securityOptions(cfg)
	if err != nil {
		return err
	}
	if err := checkAuthAny(cfg); err != nil {
		fmt.Fprintln(stderr, "mocksmtp:", err)
		return errUsage
	}
	if err := checkTogether(secOpts); err != nil {
		fmt.Fprintln(stderr, "mocksmtp:", err)
		return errUsage
	}
	for _, fo := range secOpts {
		opts = append(opts, fo.opt)
	}
	var faultSpecs []faultJSON
	if cfg.faultsFile != "" {
		specs, faults, err := loadFaults(cfg.faultsFile)
		if err != nil {
			return err
		}
		faultSpecs = specs
		opts = append(opts, mocksmtp.WithFault(faults...))
	}
	faults := new(faultState)
	opts = append(opts, faults.option(faultSpecs))
	if cfg.seeded {
		opts = append(opts, mocksmtp.WithSeed(cfg.seed))
	}
	opts = append(opts, mocksmtp.WithOptionNames(optionFlags))
	for _, k := range cfg.dkimKeys {
		opts = append(opts, mocksmtp.WithDKIMKey(k.domain, k.selector, k.key))
	}
	opts = append(opts, clockOption{clock: clk})
	srv, err := mocksmtp.New(opts...)
	if err != nil {
		return inUse(err)
	}
	defer srv.Close()
	if cfg.caOut != "" {
		if err := os.WriteFile(cfg.caOut, srv.CACertPEM(), 0o644); err != nil {
			return fmt.Errorf("-ca-out: %w", err)
		}
	}

	var web *webServer
	if cfg.http != "" {
		a := newAPI(srv, log, cfg.allowRemote)
		a.ownCert = cfg.certFile != ""
		a.setup = newSetup(cfg)
		a.retain = cfg.retain
		if cfg.waitTimeout != 0 {
			a.waitTimeout = cfg.waitTimeout
		}
		a.faults = faults
		a.clock = clk
		web, err = startHTTP(cfg.http, a, log, defaultHTTPTimeouts)
		if err != nil {
			return inUse(err)
		}
	}
	attrs := []any{"smtp", srv.Addr()}
	addrs := addrFileJSON{SMTPAddr: srv.Addr()}
	if web != nil {
		attrs = append(attrs, "http", web.addr)
		addrs.HTTPAddr = web.addr
	}
	var addrsWritten []byte // what the file of -addr-file holds, while this program's
	if cfg.addrFile != "" {
		// An empty file is no program's (each writes its whole file at
		// once): a suite made it beforehand, as mktemp does.
		if fi, err := os.Stat(cfg.addrFile); err == nil && fi.Size() > 0 {
			log.Warn("replacing the -addr-file: another program given the same file, or one that was killed, wrote it", "file", cfg.addrFile)
		}
		if addrsWritten, err = writeAddrFile(cfg.addrFile, addrs); err != nil {
			if web != nil {
				web.shutdown()
			}
			return fmt.Errorf("-addr-file: %w", err)
		}
	}
	log.Info("listening", attrs...)

	<-ctx.Done()
	log.Info("shutting down")
	if cfg.addrFile != "" {
		// The addresses are about to stop being served: the file goes,
		// unless another program has made it its own.
		if removed, err := removeAddrFile(cfg.addrFile, addrsWritten); err != nil {
			log.Warn("removing the -addr-file", "err", err)
		} else if !removed {
			log.Info("leaving the -addr-file: it no longer holds this program's addresses", "file", cfg.addrFile)
		}
	}
	if web != nil {
		web.shutdown()
	}
	if err := srv.Close(); err != nil {
		return err
	}
	sessions, messages := srv.Count()
	log.Info("stopped", "sessions", sessions, "messages", messages)
	return nil
}

// optionFlags names, for the library's errors about faults
// (mocksmtp.WithOptionNames), the options the program's users set by
// flags, by those flags: "add -tls", not "add WithSTARTTLS". It is read
// only. WithEngineConfig, the base of the engine's flags, sets no
// extension off: left out.
var optionFlags = map[string]string{
	"WithSTARTTLS":      "-tls",
	"WithImplicitTLS":   "-implicit-tls",
	"WithAuth":          "-auth",
	"WithOAuthToken":    "-oauth-token",
	"WithAuthFunc":      "-auth-any",
	"WithoutExtensions": "-without-extensions",
	"WithEngineConfig":  "",
}

// flagOption is a Go option and the flag that sets it.
type flagOption struct {
	flag string // "require-tls-for-auth"
	opt  mocksmtp.Option
}

// securityOptions turns the TLS and AUTH flags into options.
func securityOptions(cfg *config) ([]flagOption, error) {
	var opts []flagOption
	add := func(flag string, opt mocksmtp.Option) { opts = append(opts, flagOption{flag, opt}) }
	if cfg.certFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.certFile, cfg.keyFile)
		if err != nil {
			return nil, fmt.Errorf("-cert/-key: %w", err)
		}
		tc := &tls.Config{Certificates: []tls.Certificate{cert}}
		if cfg.clientCA != "" {
			pem, err := os.ReadFile(cfg.clientCA)
			if err != nil {
				return nil, fmt.Errorf("-client-ca: %w", err)
			}
			tc.ClientCAs = x509.NewCertPool()
			if !tc.ClientCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("-client-ca %s: no PEM certificate in it", cfg.clientCA)
			}
			tc.ClientAuth = tls.RequireAndVerifyClientCert
		}
		add("cert", mocksmtp.WithTLSConfig(tc))
	}
	if cfg.startTLS {
		add("tls", mocksmtp.WithSTARTTLS())
	}
	if cfg.implicitTLS {
		add("implicit-tls", mocksmtp.WithImplicitTLS())
	}
	if cfg.requireTLS {
		add("require-tls", mocksmtp.WithRequireTLS())
	}
	for _, a := range cfg.auth {
		add("auth", mocksmtp.WithAuth(a.user, a.password))
	}
	for _, a := range cfg.oauthTokens {
		add("oauth-token", mocksmtp.WithOAuthToken(a.user, a.password))
	}
	if cfg.authAny {
		add("auth-any", mocksmtp.WithAuthFunc(func(mocksmtp.Credentials) error { return nil }))
	}
	if len(cfg.authMechanisms) > 0 {
		add("auth-mechanisms", mocksmtp.WithAuthMechanisms(cfg.authMechanisms...))
	}
	if len(cfg.authBeforeTLS) > 0 {
		add("auth-mechanisms-before-tls", mocksmtp.WithAuthMechanismsBeforeTLS(cfg.authBeforeTLS...))
	}
	if cfg.requireAuth {
		add("require-auth", mocksmtp.WithRequireAuth())
	}
	if cfg.requireTLSForAuth {
		add("require-tls-for-auth", mocksmtp.WithRequireTLSForAuth())
	}
	return opts, nil
}

// checkAuthAny refuses -auth-any with -auth or -oauth-token: it accepts
// any password and token (WithAuthFunc decides instead of the accounts),
// so theirs would check nothing while seeming to.
func checkAuthAny(cfg *config) error {
	if !cfg.authAny {
		return nil
	}
	for _, f := range []struct {
		name  string
		given bool
	}{{"-auth", len(cfg.auth) > 0}, {"-oauth-token", len(cfg.oauthTokens) > 0}} {
		if f.given {
			return fmt.Errorf("flags %s and -auth-any: -auth-any accepts any password and token, so %s would check nothing; give one or the other", f.name, f.name)
		}
	}
	return nil
}

// checkTogether reports what New says of the options of flags together,
// which the check of each flag's value (checkOption) cannot see: options
// that contradict each other, a mechanism without what checks it. The
// error names the flags whose options New needs to say it, in their
// order, and says it in the options' words: the fewest flags whose
// options alone make New say it, each one needed (without it, New says
// something else or nothing). A flag without which New says another
// thing is not needed for this one when the others that make New say
// the other thing go too (-oauth-token for -auth-mechanisms XOAUTH2,
// when only -auth-mechanisms-before-tls CRAM-MD5 is at fault), so
// flags are left out until none can be.
func checkTogether(opts []flagOption) error {
	say := func(opts []flagOption) string {
		o := make([]mocksmtp.Option, len(opts))
		for i, fo := range opts {
			o[i] = fo.opt
		}
		return newSays(o...)
	}
	said := say(opts)
	if said == "" {
		return nil
	}
	var flags []string
	for _, fo := range opts {
		if !slices.Contains(flags, fo.flag) {
			flags = append(flags, fo.flag)
		}
	}
	for left := true; left; {
		left = false
		for _, f := range flags {
			without := slices.DeleteFunc(slices.Clone(opts), func(fo flagOption) bool { return fo.flag == f })
			if say(without) == said {
				opts, left = without, true // f is not needed to say it
				flags = slices.DeleteFunc(flags, func(g string) bool { return g == f })
				break
			}
		}
	}
	needed := make([]string, len(flags))
	for i, f := range flags {
		needed[i] = "-" + f
	}
	if len(needed) == 1 {
		return fmt.Errorf("flag %s: %s", needed[0], said)
	}
	last := len(needed) - 1
	return fmt.Errorf("flags %s and %s: %s", strings.Join(needed[:last], ", "), needed[last], said)
}

// splitList splits the value of a flag that takes a comma-separated list
// ("PIPELINING, CHUNKING"): its items without spaces around them, none
// for "" (an environment variable set empty).
func splitList(v string) []string {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	items := strings.Split(v, ",")
	for i, s := range items {
		items[i] = strings.TrimSpace(s)
	}
	return items
}

// listFlag is the Set of a flag whose comma-separated list (splitList)
// is the argument list of option: each item made a T by conv, the list
// checked as New checks option (checkOption, with needs) unless empty,
// and kept in *dst.
func listFlag[T any](dst *[]T, conv func(string) T, option func(...T) mocksmtp.Option, needs ...mocksmtp.Option) func(string) error {
	return func(v string) error {
		var items []T
		for _, s := range splitList(v) {
			items = append(items, conv(s))
		}
		if len(items) > 0 {
			if err := checkOption(option(items...), needs...); err != nil {
				return err
			}
		}
		*dst = items
		return nil
	}
}

// toMechanism is a name of a -auth-mechanisms list as a mechanism.
func toMechanism(name string) mocksmtp.AuthMechanism { return mocksmtp.AuthMechanism(name) }

// checkOption reports what the Go option a flag sets says of the flag's
// value, so that a bad value is a usage error that names the flag, in
// the option's words. Options check their values in New only: it asks
// New (newSays), with that option alone, or with the options given as
// needs when New refuses it alone: those of other flags, set so that
// they need nothing more. What it needs of the flags given is then
// checked with them (checkTogether).
func checkOption(opt mocksmtp.Option, needs ...mocksmtp.Option) error {
	if said := newSays(slices.Concat(needs, []mocksmtp.Option{opt})...); said != "" {
		return errors.New(said)
	}
	return nil
}

// checkAnyMechanism are the needs of the mechanism flags' options
// (checkOption): an account and a token, which check every mechanism.
var checkAnyMechanism = []mocksmtp.Option{mocksmtp.WithAuth("user", "password"), mocksmtp.WithOAuthToken("user", "token")}

// newSays returns what New says of opts, on a server in memory (no port)
// closed at once: its error without "mocksmtp: ", "" for none.
func newSays(opts ...mocksmtp.Option) string {
	srv, err := mocksmtp.New(append([]mocksmtp.Option{mocksmtp.WithInMemory()}, opts...)...)
	if err != nil {
		return strings.TrimPrefix(err.Error(), "mocksmtp: ")
	}
	_ = srv.Close()
	return ""
}

func newLogger(cfg *config, w io.Writer) *slog.Logger {
	o := &slog.HandlerOptions{Level: cfg.logLevel}
	if cfg.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// printer writes what arrives on stdout: one line per message, the
// transcript of each session when it ends; in JSON, one object per line.
type printer struct {
	mu    sync.Mutex // serializes writes from the sessions' goroutines
	w     io.Writer
	json  bool
	quiet bool
	clock *clock.Clock // the server's, for a session's clockStart
}

func (p *printer) message(m *mocksmtp.Message) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		writeJSONLine(p.w, struct {
			Event string `json:"event"`
			messageJSON
		}{"message", newMessageJSON(m, nil)})
		return
	}
	fmt.Fprintf(p.w, "%s, %s\n", m, sentText(m.Session)) // how it was sent, as the JSON's "sent"
}

func (p *printer) session(s *mocksmtp.Session) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		writeJSONLine(p.w, struct {
			Event string `json:"event"`
			sessionJSON
		}{"session", newSessionJSON(s, true, p.clock)})
		return
	}
	fmt.Fprint(p.w, sessionText(s))
}
