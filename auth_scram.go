package mocksmtp

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/xdg-go/scram"

	"github.com/mocksmtp/mocksmtp/smtpd"
)

// This file holds the server side of SCRAM (RFC 5802, RFC 7677), with and
// without TLS channel binding, on github.com/xdg-go/scram.

// scramIterations is the PBKDF2 iteration count the server asks for: the
// minimum RFC 7677 recommends.
const scramIterations = 4096

// maxSCRAMNonce is the most octets of a client nonce (the client-first
// message's r=), which the server-first message echoes in a 334 line:
// RFC 5802 and RFC 7677 set no maximum; Dovecot's client sends 64
// octets, Cyrus SASL's 32 random octets in base64. 1024 keeps the 334
// line near 1.5 KiB, well within what clients read (Python's smtplib:
// 8192 octets); a longer nonce gets RFC 4954 6's 500 5.5.6, the reply to
// a response longer than the mechanism's buffer, as one over the AUTH
// line limit does.
const maxSCRAMNonce = 1024

// newSCRAM returns the server side of one SCRAM exchange over a
// connection whose TLS state is cs (nil before TLS).
func (a *authConfig) newSCRAM(m AuthMechanism, cs *tls.ConnectionState) (mechanismSASL, error) {
	base := AuthMechanism(strings.TrimSuffix(string(m), "-PLUS"))
	if m.plus() && cs == nil { // the engine offers none before TLS
		return nil, smtpd.Reply{Code: 538, Status: "5.7.11", Lines: []string{"Encryption required for requested authentication mechanism"}}
	}
	hash := scram.SHA1
	if base == AuthSCRAMSHA256 {
		hash = scram.SHA256
	}
	return &scramServer{
		mechanism: m,
		hash:      hash,
		accounts:  a.accounts,
		tls:       cs,
		// RFC 5802 6: a client that could bind the channel but saw no
		// -PLUS offered says "y"; when one was offered, that is a
		// downgrade.
		plusOffered: cs != nil && slices.Contains(a.offered, base+"-PLUS"),
	}, nil
}

// scramServer is the server side of one SCRAM exchange: an empty
// challenge unless the AUTH line carried the client-first message, the
// server-first message, then success with the server-final message
// (v=...) as its additional data, which the engine sends as a last
// challenge and whose empty answer ends the exchange (smtpd.SASLServer).
// A failure ends it with 535 5.7.8 naming the SCRAM error
// (e=invalid-proof...), as Dovecot and Cyrus do rather than send it as a
// last challenge.
type scramServer struct {
	mechanism   AuthMechanism
	hash        scram.HashGeneratorFcn
	accounts    map[string]string
	tls         *tls.ConnectionState
	plusOffered bool

	conv  *scram.ServerConversation // nil until the client-first message
	asked bool                      // the empty challenge was sent
	done  bool
	who   AuthInfo
}

func (s *scramServer) Next(resp []byte) ([]byte, bool, error) {
	switch {
	case s.done:
		return nil, false, sasl.ErrUnexpectedClientResponse
	case s.conv == nil && resp == nil && !s.asked:
		s.asked = true
		return []byte{}, false, nil
	case s.conv == nil:
		return s.first(string(resp))
	}
	s.done = true
	if n, ok := proofLength(string(resp)); ok && n != s.hash().Size() {
		// xdg-go/scram calls it an internal error (e=other-error).
		return nil, false, scramFailure(scram.ErrInvalidProof, fmt.Errorf("the proof is %d octets, %s's are %d", n, s.mechanism, s.hash().Size()))
	}
	final, err := s.conv.Step(string(resp))
	if err != nil {
		return nil, false, scramFailure(final, err)
	}
	return []byte(final), true, nil // v=..., additional data with success
}

// first answers the client-first message with the server-first message.
func (s *scramServer) first(msg string) ([]byte, bool, error) {
	flag, _, _ := strings.Cut(msg, ",")
	cbType, binds := strings.CutPrefix(flag, "p=")
	if n := clientNonceLength(msg); n > maxSCRAMNonce {
		s.done = true
		return nil, false, smtpd.Reply{Code: 500, Status: "5.5.6", Lines: []string{
			fmt.Sprintf("Error: authentication exchange line too long (SCRAM client nonce of %d octets, at most %d)", n, maxSCRAMNonce)}}
	}
	s.who = AuthInfo{Mechanism: s.mechanism}
	if f := strings.SplitN(msg, ",", 4); len(f) == 4 { // gs2-flag,authzid,n=user,...
		if user, ok := strings.CutPrefix(f[2], "n="); ok {
			s.who.Username, _ = saslName(user)
		}
	}
	server, err := s.hash.NewServer(s.lookup)
	if err != nil {
		s.done = true
		return nil, false, err
	}
	switch {
	case s.mechanism.plus() && !binds:
		s.done = true
		return nil, false, scramFailure("e=other-error", fmt.Errorf("%s needs channel binding, the client sent the GS2 flag %q", s.mechanism, flag))
	case !s.mechanism.plus() && binds:
		s.done = true
		return nil, false, scramFailure("e=other-error", fmt.Errorf("channel binding %s asked for with %s, not %s-PLUS", cbType, s.mechanism, s.mechanism))
	case binds:
		cb, err := channelBinding(s.tls, scram.ChannelBindingType(cbType))
		if err != nil {
			s.done = true
			return nil, false, scramFailure(scram.ErrUnsupportedChannelBindingType, err)
		}
		s.conv = server.NewConversationWithChannelBindingRequired(cb)
	case s.plusOffered:
		cb, err := channelBinding(s.tls, scram.ChannelBindingTLSExporter)
		if err != nil {
			cb, err = channelBinding(s.tls, scram.ChannelBindingTLSUnique)
		}
		if err != nil { // -PLUS was offered, but this connection has no binding
			s.conv = server.NewConversation()
		} else {
			s.conv = server.NewConversationWithChannelBinding(cb)
		}
	default:
		s.conv = server.NewConversation()
	}
	out, err := s.conv.Step(msg)
	if s.conv.Username() != "" {
		s.who = AuthInfo{Mechanism: s.mechanism, Identity: s.conv.AuthzID(), Username: s.conv.Username()}
	}
	if err != nil {
		s.done = true
		return nil, false, scramFailure(out, err)
	}
	if id := s.conv.AuthzID(); id != "" && id != s.conv.Username() {
		s.done = true
		return nil, false, scramFailure("e=other-error", fmt.Errorf("authorization identity %q is not the user", id))
	}
	return []byte(out), false, nil
}

// clientNonceLength returns the length of the nonce (r=) of a
// client-first message, after its GS2 header; 0 if it has none.
func clientNonceLength(msg string) int {
	for i, f := range strings.Split(msg, ",") {
		if nonce, ok := strings.CutPrefix(f, "r="); ok && i >= 2 {
			return len(nonce)
		}
	}
	return 0
}

// lookup returns the stored credentials of an account of WithAuth, with a
// fresh salt.
func (s *scramServer) lookup(user string) (scram.StoredCredentials, error) {
	password, ok := s.accounts[user]
	if !ok {
		return scram.StoredCredentials{}, errors.New("unknown user")
	}
	client, err := s.hash.NewClient(user, password, "")
	if err != nil {
		return scram.StoredCredentials{}, err
	}
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	return client.GetStoredCredentialsWithError(scram.KeyFactors{Salt: string(salt), Iters: scramIterations})
}

func (s *scramServer) authInfo() AuthInfo {
	s.who.Mechanism = s.mechanism
	return s.who
}

// channelBinding returns the channel-binding data of type t for the
// connection cs: tls-exporter (RFC 9266: TLS 1.3, or TLS 1.2 with the
// extended master secret) or tls-unique (RFC 5929: TLS 1.2).
func channelBinding(cs *tls.ConnectionState, t scram.ChannelBindingType) (scram.ChannelBinding, error) {
	switch t {
	case scram.ChannelBindingTLSExporter:
		return scram.NewTLSExporterBinding(cs)
	case scram.ChannelBindingTLSUnique:
		if len(cs.TLSUnique) == 0 {
			return scram.ChannelBinding{}, errors.New("tls-unique is not defined for this connection (TLS 1.3, or no extended master secret): use tls-exporter")
		}
		return scram.NewTLSUniqueBinding(cs.TLSUnique), nil
	}
	return scram.ChannelBinding{}, fmt.Errorf("channel binding %q is not supported (tls-exporter and tls-unique are)", t)
}

// scramFailure is the 535 5.7.8 reply to a failed SCRAM exchange, naming
// the SCRAM server error (e=invalid-proof) and why.
func scramFailure(serverError string, err error) error {
	if serverError == "" {
		serverError = scram.ErrOtherError
	}
	// The library's errors quote the client's message: no CR or LF may
	// reach the reply line, nor may its length grow without bound, nor
	// the client's proof show (maskProof).
	why := strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, shorten(maskProof(err.Error()), 200))
	return smtpd.Reply{Code: 535, Status: "5.7.8", Lines: []string{fmt.Sprintf("Error: authentication failed (SCRAM %s: %s)", serverError, why)}}
}

// proofLength returns the length of the proof that ends the client's
// final message (",p=" base64), and whether it decodes.
func proofLength(msg string) (int, bool) {
	i := strings.LastIndex(msg, ",p=")
	if i < 0 {
		return 0, false
	}
	proof, err := base64.StdEncoding.DecodeString(msg[i+len(",p="):])
	return len(proof), err == nil
}

// maskProof returns s with the value of every p= attribute it quotes (the
// client proof of SCRAM's final message, "error parsing 'p=...' for field
// 'r'"), and the field it quotes where the proof was wanted, masked: the
// proof is open to offline guessing of the password, which is why the
// transcript masks the message that carries it.
func maskProof(s string) string {
	// The field that stood where the proof goes, whatever its key ("P=",
	// none): "error parsing '...' for field 'p'".
	const pre, post = "error parsing '", "' for field 'p'"
	if i := strings.Index(s, pre); i >= 0 {
		if j := strings.LastIndex(s, post); j >= i+len(pre) {
			s = s[:i+len(pre)] + "****" + s[j:]
		}
	}
	end := func(c byte) bool { return c == '\'' || c == '"' || c == ',' || c == ' ' }
	var b strings.Builder
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "p=") && (i == 0 || end(s[i-1])) {
			b.WriteString("p=****")
			for i += 2; i < len(s) && !end(s[i]); i++ {
			}
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}
