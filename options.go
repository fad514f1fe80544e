package mocksmtp

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/mocksmtp/mocksmtp/internal/clock"
	"github.com/mocksmtp/mocksmtp/smtpd"
)

// An Option configures a [Server]. Options validate themselves: a bad
// value makes [New] return an error (and [Start] fail the test).
type Option interface {
	apply(*options) error
}

type optionFunc func(*options) error

func (f optionFunc) apply(o *options) error { return f(o) }

// options is the configuration New builds from Options.
type options struct {
	addr           string
	addrSet        bool // WithListenAddr was given
	startTLS       bool // WithSTARTTLS was given (tls.go)
	inMemory       bool // WithInMemory (memory.go)
	engine         smtpd.Config
	engineBase     smtpd.Config // WithEngineConfig's, for errors that name what set a field
	waitTimeout    time.Duration
	logTranscripts bool
	showSecrets    bool
	auth           authConfig        // WithAuth and friends (auth.go)
	dkimKeys       map[string]string // WithDKIMKey: DNS name → TXT record (dkim.go)
	persona        Persona           // WithPersona (persona.go); 0 for none
	onMessage      func(*Message)
	onSessionEnd   func(*Session)
	retain         int     // WithRetention; 0 keeps everything
	maxTranscript  int     // WithMaxTranscriptLines
	faults         []Fault // WithFault, in order
	seed           int64   // WithSeed, when seeded
	seeded         bool
	conformance    conformanceOptions // WithStrict and friends (findings.go)
	optionNames    map[string]string  // WithOptionNames; nil keeps the Go names
	clock          *clock.Clock       // what the faults' times read: nil, the time package's (New: a clock.Carrier)
}

// WithOptionNames makes the errors that say which option a fault needs,
// or which option is in its way (from [New], [Server.AddFault] and
// [Server.ReplaceFaults]), name the options as names maps them, for a
// program whose users set them by other names: flags, the keys of a
// configuration file. The mocksmtp program gives
//
//	map[string]string{"WithSTARTTLS": "-tls", "WithAuth": "-auth", ...}
//
// so that a fault at StageStartTLS without -tls says "add -tls". A name
// the map does not have is kept; one it maps to "" is left out (an
// option the program cannot set): the error then says what the option
// does ("implicit TLS"), or nothing of it. Names are those of the
// options, without arguments: WithSTARTTLS, WithImplicitTLS, WithAuth,
// WithOAuthToken, WithAuthFunc, WithoutExtensions, WithEngineConfig; [New]
// refuses another (a misspelt name would rename nothing).
func WithOptionNames(names map[string]string) Option {
	names = maps.Clone(names)
	return optionFunc(func(o *options) error {
		for _, n := range slices.Sorted(maps.Keys(names)) {
			if !slices.Contains(namedOptions, n) {
				return fmt.Errorf("mocksmtp: WithOptionNames: %q names no option its errors name (want %s)", n, strings.Join(namedOptions, ", "))
			}
		}
		o.optionNames = names
		return nil
	})
}

// namedOptions are the options whose names the errors about faults say,
// which WithOptionNames may rename.
var namedOptions = []string{"WithSTARTTLS", "WithImplicitTLS", "WithAuth", "WithOAuthToken", "WithAuthFunc", "WithoutExtensions", "WithEngineConfig"}

// optionName returns the name of the option called name (a Go name such
// as "WithSTARTTLS") in errors, "" for one left out (see WithOptionNames).
func (o *options) optionName(name string) string {
	if n, ok := o.optionNames[name]; ok {
		return n
	}
	return name
}

// optionNameOr returns the name of the option called name in errors, or
// plain, which says what it does, for one left out (see WithOptionNames):
// an error that must say it has no hole where the name was.
func (o *options) optionNameOr(name, plain string) string {
	if n := o.optionName(name); n != "" {
		return n
	}
	return plain
}

// framed returns the options called names (eitherOption) between before
// and after, for the part of an error that names them (": add A or B");
// "" when every one of them is left out (see WithOptionNames).
func (o *options) framed(before, after string, names ...string) string {
	if n := o.eitherOption(names...); n != "" {
		return before + n + after
	}
	return ""
}

// eitherOption names the options called names in errors, as "A, B or C",
// without those left out (see WithOptionNames).
func (o *options) eitherOption(names ...string) string {
	var said []string
	for _, n := range names {
		if n = o.optionName(n); n != "" {
			said = append(said, n)
		}
	}
	switch len(said) {
	case 0:
		return ""
	case 1:
		return said[0]
	}
	last := len(said) - 1
	return strings.Join(said[:last], ", ") + " or " + said[last]
}

func defaultOptions() options {
	return options{
		addr:           "127.0.0.1:0",
		engine:         smtpd.Config{Banner: "ESMTP mocksmtp"},
		waitTimeout:    5 * time.Second,
		logTranscripts: true,
		maxTranscript:  defaultMaxTranscript,
	}
}

// defaultMaxTranscript is the transcript cap of one session, in lines
// (WithMaxTranscriptLines): about 10 MB of transcript, far more than any
// test's session, and a bound on a client that talks forever.
const defaultMaxTranscript = 100_000

// WithMaxTranscriptLines caps the transcript of one session at n lines
// (default 100,000), so that a client that talks forever (EHLO after
// EHLO...) cannot grow the server without bound. A longer session keeps
// its first n/10 lines ([Session.TranscriptHead]) and its last lines
// ([Session.Transcript]); the lines between are forgotten
// ([Session.Forgotten]), and every line keeps its number. Messages,
// findings and faults are kept.
func WithMaxTranscriptLines(n int) Option {
	return optionFunc(func(o *options) error {
		if n < 10 {
			return fmt.Errorf("mocksmtp: WithMaxTranscriptLines(%d): want at least 10 lines", n)
		}
		o.maxTranscript = n
		return nil
	})
}

// WithListenAddr makes the server listen on addr ("127.0.0.1:2525")
// instead of 127.0.0.1 with a random port.
func WithListenAddr(addr string) Option {
	return optionFunc(func(o *options) error {
		if addr == "" {
			return errors.New("mocksmtp: WithListenAddr: empty address")
		}
		o.addr, o.addrSet = addr, true
		return nil
	})
}

// WithHostname sets the name the server gives in its greeting and EHLO
// reply. The default is "localhost".
func WithHostname(name string) Option {
	return optionFunc(func(o *options) error {
		if name == "" || containsSpace(name) {
			return fmt.Errorf("mocksmtp: WithHostname(%q): want a name without spaces", name)
		}
		o.engine.Hostname = name
		return nil
	})
}

// WithMaxMessageBytes sets the largest message accepted, in octets, advertised
// with SIZE; larger ones get 552 5.3.4. The default is 10 MiB.
func WithMaxMessageBytes(n int64) Option {
	return optionFunc(func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("mocksmtp: WithMaxMessageBytes(%d): want a positive size", n)
		}
		o.engine.MaxMessageBytes = n
		return nil
	})
}

// WithMaxRecipients sets how many recipients one message may have; more
// get 452 4.5.3. The default is 100.
func WithMaxRecipients(n int) Option {
	return optionFunc(func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("mocksmtp: WithMaxRecipients(%d): want a positive number", n)
		}
		o.engine.MaxRecipients = n
		return nil
	})
}

// WithReadTimeout sets how long the server waits for each command or
// piece of message data before it answers 421 4.4.2 and closes. The
// default is 5 minutes.
func WithReadTimeout(d time.Duration) Option {
	return optionFunc(func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("mocksmtp: WithReadTimeout(%v): want a positive duration", d)
		}
		o.engine.ReadTimeout = d
		return nil
	})
}

// WithWaitTimeout sets how long WaitForMessages and the other waits that
// take a testing.TB wait before they fail the test. The default is 5 s.
// Inside a testing/synctest bubble ([WithInMemory]) it is the bubble's
// time, which passes at once while the client backs off between two
// tries: a wait across a backoff of minutes needs longer, and costs
// nothing then (WithWaitTimeout(time.Hour)).
func WithWaitTimeout(d time.Duration) Option {
	return optionFunc(func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("mocksmtp: WithWaitTimeout(%v): want a positive duration", d)
		}
		o.waitTimeout = d
		return nil
	})
}

// WithoutTranscriptLog stops [Start]'s cleanup from logging every
// transcript when the test failed.
func WithoutTranscriptLog() Option {
	return optionFunc(func(o *options) error {
		o.logTranscripts = false
		return nil
	})
}

// WithoutSecretMasking records AUTH secrets in transcripts as sent, instead of
// masking them.
func WithoutSecretMasking() Option {
	return optionFunc(func(o *options) error {
		o.showSecrets = true
		return nil
	})
}

// WithEngineConfig gives the engine a base configuration: the
// [smtpd.Config] fields that have no option of their own (line limits,
// VRFY and EXPN replies, ParamAllowance...). Every other option applies on
// top of it, whatever the order in which they are given: WithHostname,
// WithSTARTTLS, WithAuth, WithMaxMessageBytes and the rest win over the
// fields of cfg they set, and leave the others as cfg has them. A TLSConfig
// in cfg counts as [WithTLSConfig]'s. Its Banner, when empty, stays
// mocksmtp's; its Trace is ignored. Given more than once, the last one is
// the base. Line limits past 1 MiB, the longest line the engine reads, make
// [New] fail: MaxTextLine, MaxCommandLine, and MaxCommandLine with
// ParamAllowance. So do ImplicitTLS, RequireTLS and AuthRequiresTLS on a
// server without TLS (no TLSConfig in cfg, and no [WithSTARTTLS],
// [WithTLSConfig] or [WithImplicitTLS]), which no client could then
// connect to, send through or authenticate with; and so do those (or
// the options that set them) with a TLSConfig in cfg that has no
// certificate (Certificates, GetCertificate or GetConfigForClient),
// unless [WithTLSConfig] replaces it: every TLS handshake would fail.
// Such a TLSConfig alone offers STARTTLS whose handshake fails.
func WithEngineConfig(cfg smtpd.Config) Option { return engineConfig(cfg) }

// maxEngineLine is the bound smtpd.Config's doc sets on its line limits:
// the longest line the engine reads (a larger value would count as it).
const maxEngineLine = 1 << 20

// engineConfig is the Option of WithEngineConfig, which New applies before
// all others.
type engineConfig smtpd.Config

func (c engineConfig) apply(o *options) error {
	base := smtpd.Config(c) // a copy: the Option may be applied by many servers at once
	over := func(what string) error {
		return fmt.Errorf("mocksmtp: WithEngineConfig: %s: want at most %d octets (1 MiB), the longest line the engine reads", what, maxEngineLine)
	}
	if base.MaxTextLine > maxEngineLine {
		return over(fmt.Sprintf("MaxTextLine %d", base.MaxTextLine))
	}
	if base.MaxCommandLine > maxEngineLine {
		return over(fmt.Sprintf("MaxCommandLine %d", base.MaxCommandLine))
	}
	// ParamAllowance given: with MaxCommandLine (512 by default). The
	// default allowance past the bound is left out, as the engine does.
	if cmd := cmp.Or(max(base.MaxCommandLine, 0), 512); base.ParamAllowance > maxEngineLine-cmd {
		return over(fmt.Sprintf("MaxCommandLine %d with ParamAllowance %d", cmd, base.ParamAllowance))
	}
	if base.Banner == "" {
		base.Banner = o.engine.Banner
	}
	base.Trace = nil
	o.engine, o.engineBase = base, base
	return nil
}

func containsSpace(s string) bool {
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return true
		}
	}
	return false
}

// WithOnMessage calls f with each message as it is accepted, from the
// session's goroutine, before the client sees the 250. The message's
// Session is what every message's is (see [Message.Session]), at a cost
// that does not grow with the session. f must return
// quickly and must not call t.Fatal; tests usually wait with
// [Server.WaitForMessages] instead. A wait may return the message while
// f still runs: a test that asserts on what f records waits for f itself
// (a channel f sends to), or for [Server.Close], which returns once every
// f has.
func WithOnMessage(f func(*Message)) Option {
	return optionFunc(func(o *options) error {
		o.onMessage = f
		return nil
	})
}

// WithOnSessionEnd calls f with each session when it ends, from the session's
// goroutine. f must return quickly. A wait may return the ended session
// while f still runs: a test that asserts on what f records waits for f
// itself (a channel f sends to), or for [Server.Close], which returns
// once every f has.
func WithOnSessionEnd(f func(*Session)) Option {
	return optionFunc(func(o *options) error {
		o.onSessionEnd = f
		return nil
	})
}

// withEntry returns a copy of m with k set to v: the map an option fills
// is a new one each time, never shared with the options of another
// server.
func withEntry(m map[string]string, k, v string) map[string]string {
	m = maps.Clone(m)
	if m == nil {
		m = make(map[string]string)
	}
	m[k] = v
	return m
}
