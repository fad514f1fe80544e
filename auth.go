package mocksmtp

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
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
const (
	AuthPlain   AuthMechanism = "PLAIN"    // RFC 4616, with or without an initial response
	AuthLogin   AuthMechanism = "LOGIN"    // draft-murchison-sasl-login: username, then password
	AuthCRAMMD5 AuthMechanism = "CRAM-MD5" // RFC 2195: needs the password, so only accounts of WithAuth
)

// Credentials are what a client sent in one AUTH exchange, as
// [WithAuthFunc] sees them.
type Credentials struct {
	Mechanism AuthMechanism // AuthPlain or AuthLogin
	Identity  string        // the authorization identity (PLAIN only), usually ""
	Username  string        // the authentication identity
	Password  string
}

// AuthInfo is what a session's AUTH exchange established: who tried with
// which mechanism, and whether the credentials were accepted. It never
// holds the password.
type AuthInfo struct {
	Mechanism AuthMechanism // AuthPlain, AuthLogin, AuthCRAMMD5
	Identity  string        // the authorization identity asked for (PLAIN), usually ""
	Username  string        // the authentication identity; "" when the exchange ended before it was sent
	// Success reports whether the credentials were accepted (a fault at
	// StageAuth may still have answered otherwise: see the transcript).
	Success bool
}

// String returns "PLAIN user ok" or "LOGIN user failed".
func (a *AuthInfo) String() string {
	if a == nil {
		return "none"
	}
	verdict := "failed"
	if a.Success {
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
	check      func(Credentials) error // WithAuthFunc
	mechanisms []AuthMechanism         // WithAuthMechanisms; nil: the default
	beforeTLS  []AuthMechanism         // WithAuthMechanismsBeforeTLS; nil: the same as after
}

// WithAuth offers AUTH (RFC 4954) with the mechanisms PLAIN, LOGIN and
// CRAM-MD5, and accepts username with password. Give it more than once for
// more accounts. Wrong credentials get 535 5.7.8. AUTH is advertised before
// and after TLS unless [WithRequireTLSForAuth] is given; each session records
// the exchange in Session.Auth, and transcripts mask the secrets unless
// [WithoutSecretMasking] is given.
func WithAuth(username, password string) Option {
	return optionFunc(func(o *options) error {
		if username == "" {
			return errors.New("mocksmtp: WithAuth: empty username")
		}
		accounts := maps.Clone(o.auth.accounts)
		if accounts == nil {
			accounts = make(map[string]string)
		}
		accounts[username] = password
		o.auth.accounts = accounts
		return o.auth.install(o)
	})
}

// WithAuthFunc offers AUTH with the mechanisms PLAIN and LOGIN and lets
// check decide each attempt, instead of the accounts of [WithAuth]: nil
// accepts, an error rejects with 535 5.7.8, and an [smtpd.Reply] error is
// sent as it is (454 4.7.0 for a temporary failure, say). CRAM-MD5 never
// shows the password, so it is offered only for the accounts of WithAuth.
// check runs on the session's goroutine and must be safe for concurrent
// use.
func WithAuthFunc(check func(Credentials) error) Option {
	return optionFunc(func(o *options) error {
		if check == nil {
			return errors.New("mocksmtp: WithAuthFunc(nil): want a function")
		}
		o.auth.check = check
		return o.auth.install(o)
	})
}

// WithAuthMechanisms sets the SASL mechanisms advertised with AUTH, in
// order, from [AuthPlain], [AuthLogin] and [AuthCRAMMD5]; others get 504
// 5.5.4. It needs [WithAuth] or [WithAuthFunc] (in any order).
func WithAuthMechanisms(mechanisms ...AuthMechanism) Option {
	return optionFunc(func(o *options) error {
		ms, err := checkMechanisms("WithAuthMechanisms", mechanisms)
		if err != nil {
			return err
		}
		o.auth.mechanisms = ms
		return o.auth.install(o)
	})
}

// checkMechanisms returns the mechanisms upper-cased, or an error naming
// the option when one is unknown or repeated, or none is given.
func checkMechanisms(option string, mechanisms []AuthMechanism) ([]AuthMechanism, error) {
	if len(mechanisms) == 0 {
		return nil, fmt.Errorf("mocksmtp: %s: want at least one mechanism", option)
	}
	var ms []AuthMechanism
	for _, m := range mechanisms {
		u := AuthMechanism(strings.ToUpper(string(m)))
		if u != AuthPlain && u != AuthLogin && u != AuthCRAMMD5 {
			return nil, fmt.Errorf("mocksmtp: %s: unknown mechanism %q (want PLAIN, LOGIN or CRAM-MD5)", option, m)
		}
		if slices.Contains(ms, u) {
			return nil, fmt.Errorf("mocksmtp: %s: %s given twice", option, u)
		}
		ms = append(ms, u)
	}
	return ms, nil
}

// WithAuthMechanismsBeforeTLS sets the mechanisms advertised and accepted
// before TLS, like Postfix with smtpd_sasl_security_options = noplaintext
// and plaintext allowed under TLS: [WithAuth]'s (or
// [WithAuthMechanisms]') apply after STARTTLS, and one of those sent
// before TLS gets 538 5.7.11. It implies [WithSTARTTLS] unless another TLS
// option is given. Use it to test clients that pick their mechanism from
// the first EHLO reply:
//
//	mocksmtp.WithAuth("user", "secret"), mocksmtp.WithAuthMechanismsBeforeTLS(mocksmtp.AuthCRAMMD5)
func WithAuthMechanismsBeforeTLS(mechanisms ...AuthMechanism) Option {
	return optionFunc(func(o *options) error {
		ms, err := checkMechanisms("WithAuthMechanismsBeforeTLS", mechanisms)
		if err != nil {
			return err
		}
		o.auth.beforeTLS = ms
		if err := useTLS(o); err != nil {
			return err
		}
		return o.auth.install(o)
	})
}

// WithRequireTLSForAuth offers AUTH only after TLS, like Postfix with
// smtpd_tls_auth_only: the EHLO reply before STARTTLS has no AUTH, and AUTH
// sent then gets 538 5.7.11. It implies [WithSTARTTLS] unless another TLS
// option is given. Use it to test clients that decide whether to
// authenticate from the first EHLO reply.
func WithRequireTLSForAuth() Option {
	return optionFunc(func(o *options) error {
		o.engine.AuthRequiresTLS = true
		return useTLS(o)
	})
}

// WithRequireAuth answers MAIL before a successful AUTH with 530 5.7.0.
// It needs [WithAuth] or [WithAuthFunc].
func WithRequireAuth() Option {
	return optionFunc(func(o *options) error {
		o.engine.RequireAuth = true
		return nil
	})
}

// install sets the engine's AUTH configuration from a: the mechanisms
// advertised and the SASL servers. Mechanisms that need what a does not
// have are an error when given explicitly and left out by default.
func (a authConfig) install(o *options) error {
	if len(a.accounts) == 0 && a.check == nil {
		return nil // WithAuthMechanisms alone: AUTH waits for WithAuth
	}
	ms := a.mechanisms
	if ms == nil {
		ms = []AuthMechanism{AuthPlain, AuthLogin}
		if len(a.accounts) > 0 {
			ms = append(ms, AuthCRAMMD5)
		}
	}
	if (slices.Contains(ms, AuthCRAMMD5) || slices.Contains(a.beforeTLS, AuthCRAMMD5)) && len(a.accounts) == 0 {
		return errors.New("mocksmtp: CRAM-MD5 needs the password, so an account of WithAuth")
	}
	o.engine.AuthMechanisms = engineMechanisms(ms)
	o.engine.AuthMechanismsBeforeTLS = engineMechanisms(a.beforeTLS)
	o.engine.NewSASL = a.newSASL
	return nil
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

// newSASL returns the server side of one exchange.
func (a authConfig) newSASL(mechanism string) (smtpd.SASLServer, error) {
	switch AuthMechanism(mechanism) {
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
	}
	return nil, smtpd.Reply{Code: 504, Status: "5.5.4", Lines: []string{"Unrecognized authentication type"}}
}

// errBadCredentials rejects an AUTH with the engine's 535 5.7.8.
var errBadCredentials = errors.New("mocksmtp: bad credentials")

// verify checks credentials with WithAuthFunc's check, or else against
// the accounts. An authorization identity other than the username is
// refused for accounts.
func (a authConfig) verify(c Credentials) error {
	if a.check != nil {
		return a.check(c)
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
		c.done = true
		return nil, false, smtpd.Reply{Code: 501, Status: "5.5.4", Lines: []string{"CRAM-MD5 takes no initial response"}}
	case c.challenge == nil:
		var b [8]byte
		_, _ = rand.Read(b[:])
		c.challenge = fmt.Appendf(nil, "<%d.%d@localhost>", binary.BigEndian.Uint64(b[:])>>1, time.Now().Unix())
		return c.challenge, false, nil
	}
	c.done = true
	user, digest, ok := strings.Cut(string(resp), " ")
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
