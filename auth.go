package mocksmtp

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-sasl"

	"github.com/mocksmtp/mocksmtp/smtpd"
)

// AuthMechanism is the name of a SASL mechanism, as AUTH names it
// ("PLAIN").
type AuthMechanism string

// The SASL mechanisms the server implements, for [WithAuthMechanisms].
// Each needs what checks it: the accounts of [WithAuth] (which know the
// password), the tokens of [WithOAuthToken], or the check of
// [WithAuthFunc].
const (
	AuthPlain   AuthMechanism = "PLAIN"    // RFC 4616, with or without an initial response; accounts or a check
	AuthLogin   AuthMechanism = "LOGIN"    // draft-murchison-sasl-login: username, then password; accounts or a check
	AuthCRAMMD5 AuthMechanism = "CRAM-MD5" // RFC 2195: needs the password, so only accounts of WithAuth

	// AuthXOAUTH2 is Google's and Microsoft's bearer-token mechanism: the
	// username and an OAuth 2.0 access token, checked against the tokens
	// of WithOAuthToken or by a check. A bad token gets the JSON error
	// challenge {"status":"401","schemes":"bearer"} and, after the
	// client's empty response, 535 5.7.8.
	AuthXOAUTH2 AuthMechanism = "XOAUTH2"
	// AuthOAUTHBEARER is the standard bearer-token mechanism of RFC 7628,
	// checked as AuthXOAUTH2 is. A bad token gets the JSON error
	// challenge {"status":"invalid_token","schemes":"bearer"} and, after
	// the client's %x01 response, 535 5.7.8.
	AuthOAUTHBEARER AuthMechanism = "OAUTHBEARER"

	// AuthSCRAMSHA1 and AuthSCRAMSHA256 are SCRAM (RFC 5802, RFC 7677):
	// the client proves it knows the password without sending it, so only
	// accounts of WithAuth. A failed proof gets 535 5.7.8 with the SCRAM
	// server error (e=invalid-proof) in its text.
	AuthSCRAMSHA1   AuthMechanism = "SCRAM-SHA-1"
	AuthSCRAMSHA256 AuthMechanism = "SCRAM-SHA-256"
	// AuthSCRAMSHA1PLUS and AuthSCRAMSHA256PLUS are SCRAM with TLS channel
	// binding (tls-exporter, RFC 9266, or tls-unique, RFC 5929): offered
	// only over TLS, they imply [WithSTARTTLS] unless another TLS option
	// is given. While one is offered, the base mechanism refuses a client
	// that says it could have bound the channel (a downgrade, RFC 5802 6).
	AuthSCRAMSHA1PLUS   AuthMechanism = "SCRAM-SHA-1-PLUS"
	AuthSCRAMSHA256PLUS AuthMechanism = "SCRAM-SHA-256-PLUS"
)

// mechanisms lists every mechanism the server implements, in the order
// of the error message for an unknown one.
var mechanisms = []AuthMechanism{AuthPlain, AuthLogin, AuthCRAMMD5, AuthXOAUTH2, AuthOAUTHBEARER,
	AuthSCRAMSHA1, AuthSCRAMSHA256, AuthSCRAMSHA1PLUS, AuthSCRAMSHA256PLUS}

// mechanismNeeds says what can check each mechanism: the accounts of
// WithAuth, a check of WithAuthFunc, the tokens of WithOAuthToken.
var mechanismNeeds = map[AuthMechanism]struct{ accounts, check, tokens bool }{
	AuthPlain:           {accounts: true, check: true},
	AuthLogin:           {accounts: true, check: true},
	AuthCRAMMD5:         {accounts: true},
	AuthXOAUTH2:         {tokens: true, check: true},
	AuthOAUTHBEARER:     {tokens: true, check: true},
	AuthSCRAMSHA1:       {accounts: true},
	AuthSCRAMSHA256:     {accounts: true},
	AuthSCRAMSHA1PLUS:   {accounts: true},
	AuthSCRAMSHA256PLUS: {accounts: true},
}

// plus reports whether m binds the TLS channel (SCRAM-...-PLUS).
func (m AuthMechanism) plus() bool { return strings.HasSuffix(string(m), "-PLUS") }

// Credentials are what a client sent in one AUTH exchange, as
// [WithAuthFunc] sees them: a password (PLAIN, LOGIN) or a bearer token
// (XOAUTH2, OAUTHBEARER).
type Credentials struct {
	Mechanism AuthMechanism // AuthPlain, AuthLogin, AuthXOAUTH2 or AuthOAUTHBEARER
	Identity  string        // the authorization identity (PLAIN only), usually ""
	// Username is the authentication identity: XOAUTH2's user, and
	// OAUTHBEARER's authorization identity (a=), which may be "".
	Username string
	Password string // PLAIN and LOGIN
	Token    string // the bearer token of XOAUTH2 and OAUTHBEARER
}

// AuthInfo is what a session's AUTH exchange established: who tried with
// which mechanism, and whether the credentials were accepted. It never
// holds the password or token.
type AuthInfo struct {
	Mechanism AuthMechanism // the mechanism of the exchange
	Identity  string        // the authorization identity asked for (PLAIN, SCRAM), usually ""
	// Username is the authentication identity; "" when the exchange ended
	// before it was sent. For an OAUTHBEARER client that names no one, it
	// is the user of WithOAuthToken whose token it sent.
	Username string
	// Success reports whether the credentials were accepted (a fault at
	// StageAuth may still have answered otherwise: see Refused).
	Success bool
	// Refused is, when the credentials were accepted but the client got
	// no 235 (a fault at StageAuth, or WithRejectNonconforming, answered
	// otherwise, or the session ended during a fault's Delay, or the
	// client left in the middle of a 235 that a fault's Trickle or
	// SplitReply paced), what it got instead, on one line as the client
	// read it (the enhanced status code the server filled in, none when
	// ENHANCEDSTATUSCODES is off): "535 5.7.8 try again", `raw reply "535 no\r\n"`, "no
	// reply", "421 4.3.2 Service shutting down", "part of 235 2.7.0
	// Authentication successful".
	// The client is then not authenticated (but after a RawReply, which
	// the server does not live). "" otherwise.
	Refused string
}

// String returns "PLAIN user ok", "LOGIN user failed", or "PLAIN user
// refused: 535 5.7.8 try again (credentials accepted)" when the client got
// no 235 for accepted credentials (Refused).
func (a *AuthInfo) String() string {
	if a == nil {
		return "none"
	}
	verdict := "failed"
	switch {
	case a.Success && a.Refused != "":
		verdict = "refused: " + a.Refused + " (credentials accepted)"
	case a.Success:
		verdict = "ok"
	}
	who := a.Username
	if a.Identity != "" && a.Identity != a.Username {
		who = a.Identity + " as " + a.Username
	}
	return string(a.Mechanism) + " " + who + " " + verdict
}

// authConfig is what the AUTH options built.
type authConfig struct {
	accounts   map[string]string       // WithAuth: username → password
	tokens     map[string]string       // WithOAuthToken: username → token
	check      func(Credentials) error // WithAuthFunc
	mechanisms []AuthMechanism         // WithAuthMechanisms; nil: the default
	beforeTLS  []AuthMechanism         // WithAuthMechanismsBeforeTLS; nil: the same as after
	// offered are the mechanisms the engine offers after TLS (install).
	offered []AuthMechanism
}

// WithAuth offers AUTH (RFC 4954) with the mechanisms PLAIN, LOGIN and
// CRAM-MD5, and accepts username with password. Give it more than once for
// more accounts. Wrong credentials get 535 5.7.8. AUTH is advertised before
// and after TLS unless [WithRequireTLSForAuth] is given; each session records
// the exchange in Session.Auth, and transcripts mask the secrets unless
// [WithoutSecretMasking] is given. The accounts also serve SCRAM, when
// [WithAuthMechanisms] names it.
func WithAuth(username, password string) Option {
	return optionFunc(func(o *options) error {
		if username == "" {
			return errors.New("mocksmtp: WithAuth: empty username")
		}
		o.auth.accounts = withEntry(o.auth.accounts, username, password)
		return nil
	})
}

// WithOAuthToken offers AUTH with the bearer-token mechanisms XOAUTH2 (as
// Gmail and Microsoft 365 take it) and OAUTHBEARER (RFC 7628), and accepts
// token as username's OAuth 2.0 access token. Give it more than once for
// more users. A wrong token gets the mechanism's JSON error challenge, then
// 535 5.7.8; Session.Auth records the user and mechanism, and transcripts
// mask the token. With [WithAuth] too, the server offers PLAIN, LOGIN,
// CRAM-MD5, XOAUTH2 and OAUTHBEARER.
func WithOAuthToken(username, token string) Option {
	return optionFunc(func(o *options) error {
		if username == "" || token == "" {
			return fmt.Errorf("mocksmtp: WithOAuthToken(%q, ...): want a username and a token", username)
		}
		o.auth.tokens = withEntry(o.auth.tokens, username, token)
		return nil
	})
}

// WithAuthFunc offers AUTH with the mechanisms PLAIN and LOGIN and lets
// check decide each attempt, instead of the accounts of [WithAuth] and the
// tokens of [WithOAuthToken]: nil accepts, an error rejects with 535 5.7.8
// (after the JSON error challenge of XOAUTH2 and OAUTHBEARER), and an
// [smtpd.Reply] error is sent as it is (454 4.7.0 for a temporary failure,
// say; a 421 closes the connection after it, RFC 5321 3.8). Name [AuthXOAUTH2] or [AuthOAUTHBEARER] with [WithAuthMechanisms]
// to have check judge bearer tokens (Credentials.Token). CRAM-MD5 and SCRAM
// never show the password, so they are offered only for the accounts of
// WithAuth. check runs on the session's goroutine and must be safe for
// concurrent use.
func WithAuthFunc(check func(Credentials) error) Option {
	return optionFunc(func(o *options) error {
		if check == nil {
			return errors.New("mocksmtp: WithAuthFunc(nil): want a function")
		}
		o.auth.check = check
		return nil
	})
}

// WithAuthMechanisms sets the SASL mechanisms advertised with AUTH, in
// order, from the Auth constants ([AuthPlain], [AuthSCRAMSHA256]...);
// others get 504 5.5.4. It needs [WithAuth], [WithOAuthToken] or
// [WithAuthFunc] (in any order), whichever checks the mechanisms named:
// without it, [New] returns an error naming what a mechanism needs.
// SCRAM is offered only when named here. A -PLUS mechanism implies
// [WithSTARTTLS] unless another TLS option is given, and is offered only
// over TLS.
func WithAuthMechanisms(mechanisms ...AuthMechanism) Option {
	return optionFunc(func(o *options) error {
		ms, err := checkMechanisms("WithAuthMechanisms", mechanisms)
		if err != nil {
			return err
		}
		o.auth.mechanisms = ms
		if slices.ContainsFunc(ms, AuthMechanism.plus) {
			return useTLS(o)
		}
		return nil
	})
}

// checkMechanisms returns the mechanisms upper-cased, or an error naming
// the option when one is unknown or repeated, or none is given.
func checkMechanisms(option string, ms []AuthMechanism) ([]AuthMechanism, error) {
	if len(ms) == 0 {
		return nil, fmt.Errorf("mocksmtp: %s: want at least one mechanism", option)
	}
	var out []AuthMechanism
	for _, m := range ms {
		u := AuthMechanism(strings.ToUpper(string(m)))
		if _, ok := mechanismNeeds[u]; !ok {
			names := make([]string, len(mechanisms))
			for i, m := range mechanisms {
				names[i] = string(m)
			}
			return nil, fmt.Errorf("mocksmtp: %s: unknown mechanism %q (want one of %s)", option, m, strings.Join(names, ", "))
		}
		if slices.Contains(out, u) {
			return nil, fmt.Errorf("mocksmtp: %s: %s given twice", option, u)
		}
		out = append(out, u)
	}
	return out, nil
}

// WithAuthMechanismsBeforeTLS sets the mechanisms advertised and accepted
// before TLS, like Postfix with smtpd_sasl_security_options = noplaintext
// and plaintext allowed under TLS: [WithAuth]'s (or
// [WithAuthMechanisms]') apply after STARTTLS, and one of those sent
// before TLS gets 538 5.7.11. Like WithAuthMechanisms, it needs what
// checks the mechanisms it names. It implies [WithSTARTTLS] unless
// another TLS option is given. Use it to test clients that pick their
// mechanism from the first EHLO reply:
//
//	mocksmtp.WithAuth("user", "secret"), mocksmtp.WithAuthMechanismsBeforeTLS(mocksmtp.AuthCRAMMD5)
//
// [New] refuses it with [WithRequireTLSForAuth], which offers no AUTH
// before TLS, and with [WithImplicitTLS], where nothing comes before TLS.
// With [WithRequireTLS], the mechanisms are advertised before TLS and AUTH
// then gets 530 5.7.0, as MAIL does: to test that a client forgets the
// first EHLO reply after STARTTLS.
func WithAuthMechanismsBeforeTLS(mechanisms ...AuthMechanism) Option {
	return optionFunc(func(o *options) error {
		ms, err := checkMechanisms("WithAuthMechanismsBeforeTLS", mechanisms)
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(ms, AuthMechanism.plus); i >= 0 {
			return fmt.Errorf("mocksmtp: WithAuthMechanismsBeforeTLS: %s binds the TLS channel: it cannot be used before TLS", ms[i])
		}
		o.auth.beforeTLS = ms
		return useTLS(o)
	})
}

// WithRequireTLSForAuth offers AUTH only after TLS, like Postfix with
// smtpd_tls_auth_only: the EHLO reply before STARTTLS has no AUTH, and AUTH
// sent then gets 538 5.7.11. It implies [WithSTARTTLS] unless another TLS
// option is given. Use it to test clients that decide whether to
// authenticate from the first EHLO reply. It needs [WithAuth],
// [WithOAuthToken] or [WithAuthFunc]: without AUTH, it would only turn
// STARTTLS on, and [New] refuses it. [New] refuses it with
// [WithAuthMechanismsBeforeTLS] too, whose mechanisms it would never offer.
func WithRequireTLSForAuth() Option {
	return optionFunc(func(o *options) error {
		o.engine.AuthRequiresTLS = true
		return useTLS(o)
	})
}

// WithRequireAuth answers MAIL before a successful AUTH with 530 5.7.0.
// It needs [WithAuth], [WithOAuthToken] or [WithAuthFunc]: without AUTH
// offered, no client could ever send, and [New] refuses it.
func WithRequireAuth() Option {
	return optionFunc(func(o *options) error {
		o.engine.RequireAuth = true
		return nil
	})
}

// active reports whether some option offers AUTH.
func (a *authConfig) active() bool {
	return len(a.accounts) > 0 || len(a.tokens) > 0 || a.check != nil
}

// usable reports whether a can check mechanism m.
func (a *authConfig) usable(m AuthMechanism) bool {
	n := mechanismNeeds[m]
	return n.accounts && len(a.accounts) > 0 || n.check && a.check != nil || n.tokens && len(a.tokens) > 0
}

// install sets the engine's AUTH configuration from a, once New has
// applied every option (so that they work in any order): the mechanisms
// advertised and the SASL servers. Mechanisms that need what a does not
// have are an error when given explicitly, also when nothing offers AUTH
// (they would be dead), and left out by default.
func (a *authConfig) install(o *options) error {
	if err := o.checkTogether(); err != nil {
		return err
	}
	for _, named := range []struct {
		option     string
		mechanisms []AuthMechanism
	}{{"WithAuthMechanisms", a.mechanisms}, {"WithAuthMechanismsBeforeTLS", a.beforeTLS}} {
		for _, m := range named.mechanisms {
			if !a.usable(m) {
				return fmt.Errorf("mocksmtp: %s: %s needs %s", named.option, m, needsPhrase(m))
			}
		}
	}
	if !a.active() {
		return nil
	}
	ms := a.mechanisms
	if ms == nil {
		for _, m := range []AuthMechanism{AuthPlain, AuthLogin, AuthCRAMMD5, AuthXOAUTH2, AuthOAUTHBEARER} {
			if m == AuthCRAMMD5 && len(a.accounts) == 0 || (m == AuthXOAUTH2 || m == AuthOAUTHBEARER) && len(a.tokens) == 0 {
				continue // not by default for a check alone
			}
			if a.usable(m) {
				ms = append(ms, m)
			}
		}
	}
	before := a.beforeTLS
	if before == nil && slices.ContainsFunc(ms, AuthMechanism.plus) && !o.engine.RequireTLS {
		// Channel binding needs a channel: before TLS, offer the others
		// (none when TLS is required: the engine offers no AUTH before
		// it, but mechanisms named for before TLS).
		before = slices.DeleteFunc(slices.Clone(ms), AuthMechanism.plus)
	}
	a.offered = ms
	o.engine.AuthMechanisms = engineMechanisms(ms)
	o.engine.AuthMechanismsBeforeTLS = engineMechanisms(before)
	o.engine.NewSASL = func(m string) (smtpd.SASLServer, error) { return a.newSASL(m, nil) }
	return nil
}

// checkTogether refuses options that contradict each other, or that
// what else is given leaves dead: WithAuthMechanismsBeforeTLS with an
// option after which nothing is offered before TLS (AUTH only after TLS,
// 538 5.7.11 before it, or TLS from the first byte); STARTTLS with TLS
// from the first byte, which never offers it; and AUTH required, or
// offered only after TLS, when nothing offers AUTH (every MAIL would get
// 530, or STARTTLS alone would be on); and WithEngineConfig's
// ImplicitTLS, RequireTLS or AuthRequiresTLS without TLS (every
// handshake would fail, every MAIL get 530, AUTH never be offered), or
// with its TLSConfig without a certificate, which WithTLSConfig refuses
// (every handshake would fail). WithRequireTLS goes with
// WithAuthMechanismsBeforeTLS: the mechanisms are advertised before TLS,
// and AUTH then gets 530 5.7.0. Each error names both options, or the
// option and what it needs.
func (o *options) checkTogether() error {
	// setBy names the option that set a field of the engine's
	// configuration, or WithEngineConfig when its base did.
	setBy := func(option, field string, inBase bool) string {
		if inBase {
			return "WithEngineConfig's " + field
		}
		return option
	}
	implicit := setBy("WithImplicitTLS", "ImplicitTLS", o.engineBase.ImplicitTLS)
	const offerers = "WithAuth, WithOAuthToken or WithAuthFunc"
	if o.auth.beforeTLS != nil {
		switch {
		case o.engine.ImplicitTLS:
			return fmt.Errorf("mocksmtp: WithAuthMechanismsBeforeTLS and %s: a session speaks TLS from its first byte, so nothing is offered before TLS; choose one", implicit)
		case o.engine.AuthRequiresTLS:
			return fmt.Errorf("mocksmtp: WithAuthMechanismsBeforeTLS and %s: AUTH is offered only after TLS, so no mechanism is offered before it; choose one",
				setBy("WithRequireTLSForAuth", "AuthRequiresTLS", o.engineBase.AuthRequiresTLS))
		}
	}
	switch {
	case o.startTLS && o.engine.ImplicitTLS:
		return fmt.Errorf("mocksmtp: WithSTARTTLS and %s: a session speaks TLS from its first byte, so STARTTLS is never offered; choose one", implicit)
	case o.engine.RequireAuth && !o.offersAuth():
		return fmt.Errorf("mocksmtp: %s needs %s: nothing offers AUTH, so every MAIL would get 530 5.7.0 and no client could send",
			setBy("WithRequireAuth", "RequireAuth", o.engineBase.RequireAuth), offerers)
	case o.engine.AuthRequiresTLS && !o.offersAuth():
		return fmt.Errorf("mocksmtp: %s needs %s: nothing offers AUTH, so there is none to offer after TLS (WithSTARTTLS offers STARTTLS alone)",
			setBy("WithRequireTLSForAuth", "AuthRequiresTLS", o.engineBase.AuthRequiresTLS), offerers)
	case o.engine.TLSConfig != nil && !hasCertificate(o.engine.TLSConfig) && (o.engine.ImplicitTLS || o.engine.RequireTLS || o.engine.AuthRequiresTLS):
		// Only the base can give such a TLSConfig: WithTLSConfig refuses
		// it, and useTLS keeps it. Alone it offers STARTTLS whose
		// handshake fails, as a TLS failure fault would; with TLS
		// needed, no client gets past it.
		needs, could := implicit, "connect"
		switch {
		case o.engine.ImplicitTLS:
		case o.engine.RequireTLS:
			needs, could = setBy("WithRequireTLS", "RequireTLS", o.engineBase.RequireTLS), "send"
		default:
			needs, could = setBy("WithRequireTLSForAuth", "AuthRequiresTLS", o.engineBase.AuthRequiresTLS), "authenticate"
		}
		return fmt.Errorf("mocksmtp: %s needs TLS, and WithEngineConfig's TLSConfig has no certificate (Certificates, GetCertificate or GetConfigForClient): every TLS handshake would fail, and no client could %s (WithTLSConfig replaces it)", needs, could)
	case o.engine.TLSConfig == nil && (o.engine.ImplicitTLS || o.engine.RequireTLS || o.engine.AuthRequiresTLS):
		// Only the base can say these: the options that set them turn TLS
		// on (useTLS).
		const without = "without WithSTARTTLS, WithTLSConfig, WithImplicitTLS or a TLSConfig of its own"
		switch {
		case o.engine.ImplicitTLS:
			return errors.New("mocksmtp: WithEngineConfig's ImplicitTLS needs a TLS configuration: without WithTLSConfig, WithImplicitTLS or a TLSConfig of its own, every TLS handshake would fail, and no client could connect (WithImplicitTLS uses the test certificate)")
		case o.engine.RequireTLS:
			return errors.New("mocksmtp: WithEngineConfig's RequireTLS needs TLS: " + without + ", every MAIL would get 530 5.7.0 with STARTTLS never offered, and no client could send (WithRequireTLS turns STARTTLS on)")
		default:
			return errors.New("mocksmtp: WithEngineConfig's AuthRequiresTLS needs TLS: " + without + ", AUTH would be offered only after a TLS that never comes, and no client could authenticate (WithRequireTLSForAuth turns STARTTLS on)")
		}
	}
	return nil
}

// offersAuth reports whether the server offers AUTH: an option offers it,
// or the engine's base configuration (WithEngineConfig) has mechanisms
// and a SASL server of its own.
func (o *options) offersAuth() bool {
	return o.auth.active() || len(o.engineBase.AuthMechanisms) > 0 && o.engineBase.NewSASL != nil
}

// needsPhrase says what checks mechanism m, for an error message.
func needsPhrase(m AuthMechanism) string {
	n := mechanismNeeds[m]
	var what []string
	if n.accounts {
		what = append(what, "an account of WithAuth")
	}
	if n.tokens {
		what = append(what, "a token of WithOAuthToken")
	}
	if n.check {
		what = append(what, "WithAuthFunc")
	}
	if len(what) == 1 && n.accounts {
		return "the password, so " + what[0]
	}
	return strings.Join(what, " or ")
}

// engineMechanisms returns the mechanisms as the engine names them; nil
// stays nil.
func engineMechanisms(ms []AuthMechanism) []string {
	if ms == nil {
		return nil
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = string(m)
	}
	return out
}

// newSASL returns the server side of one exchange, on a connection whose
// TLS state is cs (nil before TLS): the mechanism's, counting the
// client's responses.
func (a *authConfig) newSASL(mechanism string, cs *tls.ConnectionState) (smtpd.SASLServer, error) {
	srv, err := a.mechanismServer(mechanism, cs)
	if err != nil {
		return nil, err
	}
	return &countedSASL{mechanismSASL: srv}, nil
}

// mechanismSASL is the server side of one mechanism's exchange, which can
// tell who the client claimed to be.
type mechanismSASL interface {
	smtpd.SASLServer
	identified
}

// countedSASL is the server side of one exchange: the mechanism's,
// counting the client's responses that reached it, the initial response
// included. With the one the engine refused (authCrossed), they say what
// crossed the wire.
type countedSASL struct {
	mechanismSASL
	responses int  // the client's responses, each a step of the mechanism
	sent      bool // whether one of them held anything ("=" and an empty line do not)
}

func (c *countedSASL) Next(resp []byte) ([]byte, bool, error) {
	if resp != nil { // the engine gives every response, even "=", as non-nil
		c.responses++
		c.sent = c.sent || len(resp) > 0
	}
	return c.mechanismSASL.Next(resp)
}

// mechanismServer returns the server side of mechanism, on a connection
// whose TLS state is cs.
func (a *authConfig) mechanismServer(mechanism string, cs *tls.ConnectionState) (mechanismSASL, error) {
	switch m := AuthMechanism(mechanism); m {
	case AuthPlain:
		p := &plainServer{}
		p.Server = sasl.NewPlainServer(func(identity, username, password string) error {
			p.who = AuthInfo{Mechanism: AuthPlain, Identity: identity, Username: username}
			return a.verify(Credentials{Mechanism: AuthPlain, Identity: identity, Username: username, Password: password})
		})
		return p, nil
	case AuthLogin:
		return &loginServer{verify: a.verify}, nil
	case AuthCRAMMD5:
		return &cramServer{accounts: a.accounts}, nil
	case AuthXOAUTH2, AuthOAUTHBEARER:
		return &bearerServer{mechanism: m, config: a}, nil // auth_oauth.go
	case AuthSCRAMSHA1, AuthSCRAMSHA256, AuthSCRAMSHA1PLUS, AuthSCRAMSHA256PLUS:
		return a.newSCRAM(m, cs) // auth_scram.go
	}
	return nil, smtpd.Reply{Code: 504, Status: "5.5.4", Lines: []string{"Unrecognized authentication type"}}
}

// errBadCredentials rejects an AUTH with the engine's 535 5.7.8.
var errBadCredentials = errors.New("mocksmtp: bad credentials")

// verify checks credentials with WithAuthFunc's check, or else against
// the accounts or tokens. An authorization identity other than the
// username is refused for accounts.
func (a *authConfig) verify(c Credentials) error {
	if a.check != nil {
		return a.check(c)
	}
	if c.Mechanism == AuthXOAUTH2 || c.Mechanism == AuthOAUTHBEARER {
		// Only OAUTHBEARER may name no one (its a= is optional); an
		// XOAUTH2 user= left empty names no user whose token this is.
		if c.Mechanism == AuthXOAUTH2 && c.Username == "" {
			return errBadCredentials
		}
		if _, ok := a.tokenUser(c.Username, c.Token); !ok {
			return errBadCredentials
		}
		return nil
	}
	want, ok := a.accounts[c.Username]
	if !ok || subtle.ConstantTimeCompare([]byte(want), []byte(c.Password)) != 1 {
		return errBadCredentials
	}
	if c.Identity != "" && c.Identity != c.Username {
		return errBadCredentials
	}
	return nil
}

// tokenUser returns the user of WithOAuthToken whose token is token: user
// itself, or, when user is "" (an OAUTHBEARER client that names no one),
// the user the token belongs to.
func (a *authConfig) tokenUser(user, token string) (string, bool) {
	if user != "" {
		want, ok := a.tokens[user]
		return user, ok && subtle.ConstantTimeCompare([]byte(want), []byte(token)) == 1
	}
	for u, want := range a.tokens {
		if subtle.ConstantTimeCompare([]byte(want), []byte(token)) == 1 {
			return u, true
		}
	}
	return "", false
}

// identified is a SASL server that can tell who the client claimed to be.
type identified interface {
	authInfo() AuthInfo
}

// plainServer is go-sasl's PLAIN server, remembering the identities.
type plainServer struct {
	sasl.Server
	who AuthInfo
}

func (p *plainServer) authInfo() AuthInfo {
	p.who.Mechanism = AuthPlain
	return p.who
}

// loginServer is the server side of LOGIN: it asks for the username
// (unless the AUTH line carried it) and then the password.
type loginServer struct {
	verify   func(Credentials) error
	username *string
	done     bool
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch {
	case l.done:
		return nil, false, sasl.ErrUnexpectedClientResponse
	case l.username == nil && resp == nil:
		return []byte("Username:"), false, nil
	case l.username == nil:
		u := string(resp)
		l.username = &u
		return []byte("Password:"), false, nil
	}
	l.done = true
	return nil, true, l.verify(Credentials{Mechanism: AuthLogin, Username: *l.username, Password: string(resp)})
}

func (l *loginServer) authInfo() AuthInfo {
	info := AuthInfo{Mechanism: AuthLogin}
	if l.username != nil {
		info.Username = *l.username
	}
	return info
}

// cramServer is the server side of CRAM-MD5 (RFC 2195): a challenge like
// a message ID, answered with the username and the HMAC-MD5 of the
// challenge keyed with the password.
type cramServer struct {
	accounts  map[string]string
	challenge []byte
	username  string
	done      bool
}

func (c *cramServer) Next(resp []byte) ([]byte, bool, error) {
	switch {
	case c.done:
		return nil, false, sasl.ErrUnexpectedClientResponse
	case c.challenge == nil && resp != nil:
		// RFC 4954 4: an initial response to a mechanism where the
		// server begins is refused with 501, 5.7.0.
		c.done = true
		return nil, false, smtpd.Reply{Code: 501, Status: "5.7.0", Lines: []string{"CRAM-MD5 takes no initial response"}}
	case c.challenge == nil:
		var b [8]byte
		_, _ = rand.Read(b[:])
		c.challenge = fmt.Appendf(nil, "<%d.%d@localhost>", binary.BigEndian.Uint64(b[:])>>1, time.Now().Unix())
		return c.challenge, false, nil
	}
	c.done = true
	// The digest is the last word: a user name may hold spaces.
	i := strings.LastIndexByte(string(resp), ' ')
	ok := i >= 0
	user, digest := string(resp), ""
	if ok {
		user, digest = user[:i], user[i+1:]
	}
	c.username = user
	password, known := c.accounts[user]
	if !ok || !known {
		return nil, false, errBadCredentials
	}
	mac := hmac.New(md5.New, []byte(password))
	mac.Write(c.challenge)
	want := hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(digest))) {
		return nil, false, errBadCredentials
	}
	return nil, true, nil
}

func (c *cramServer) authInfo() AuthInfo {
	return AuthInfo{Mechanism: AuthCRAMMD5, Username: c.username}
}

// authInfo returns the record of an Auth event: nil when no exchange
// began (AUTH refused for its syntax or sequence), which keeps an earlier
// record.
func authInfo(ev *smtpd.Event) *AuthInfo {
	id, ok := ev.SASL.(identified)
	if !ok {
		return nil
	}
	info := id.authInfo()
	info.Success = ev.Err == nil
	return &info
}
