package mocksmtp

import (
	"bytes"
	"errors"
	"strings"

	"github.com/emersion/go-sasl"

	"github.com/mocksmtp/mocksmtp/smtpd"
)

// This file holds the server side of the bearer-token mechanisms, XOAUTH2
// and OAUTHBEARER (RFC 7628). go-sasl's OAUTHBEARER server panics on an
// empty response after its error challenge and refuses key-value pairs
// RFC 7628 allows, and it has no XOAUTH2 server: both are written here.

// The JSON error challenges sent for a token the check refused: what
// Gmail sends for XOAUTH2, and RFC 7628 3.2.2's for OAUTHBEARER.
const (
	xoauth2Refused     = `{"status":"401","schemes":"bearer"}`
	oauthBearerRefused = `{"status":"invalid_token","schemes":"bearer"}`
	oauthBearerInvalid = `{"status":"invalid_request","schemes":"bearer"}`
)

// bearerServer is the server side of one XOAUTH2 or OAUTHBEARER exchange:
// an empty challenge unless the AUTH line carried the client's message,
// then either success, or a JSON error challenge whose answer (empty for
// XOAUTH2, %x01 for OAUTHBEARER) ends the exchange with the failure kept
// in failure.
type bearerServer struct {
	mechanism AuthMechanism
	config    *authConfig
	who       AuthInfo
	asked     bool  // the empty challenge was sent
	failure   error // after an error challenge: the reply that ends the exchange
	done      bool
}

func (b *bearerServer) Next(resp []byte) ([]byte, bool, error) {
	switch {
	case b.done:
		return nil, false, sasl.ErrUnexpectedClientResponse
	case b.failure != nil:
		// The answer to the error challenge: whatever it is, the exchange
		// fails (RFC 7628 3.2.3).
		b.done = true
		return nil, false, b.failure
	case resp == nil && !b.asked:
		b.asked = true
		return []byte{}, false, nil
	}
	var c Credentials
	var err error
	if b.mechanism == AuthXOAUTH2 {
		c, err = parseXOAUTH2(resp)
	} else {
		c, err = parseOAuthBearer(resp)
	}
	if err != nil {
		if b.mechanism == AuthOAUTHBEARER {
			b.failure = smtpd.Reply{Code: 501, Status: "5.5.2", Lines: []string{"Error: malformed OAUTHBEARER message: " + err.Error()}}
			return []byte(oauthBearerInvalid), false, nil
		}
		b.done = true
		return nil, false, smtpd.Reply{Code: 501, Status: "5.5.2", Lines: []string{"Error: malformed XOAUTH2 message: " + err.Error()}}
	}
	b.who = AuthInfo{Mechanism: b.mechanism, Username: c.Username}
	if c.Username == "" && b.mechanism == AuthOAUTHBEARER && b.config.check == nil {
		b.who.Username, _ = b.config.tokenUser("", c.Token)
	}
	err = b.config.verify(c)
	var r smtpd.Reply
	switch {
	case err == nil:
		b.done = true
		return nil, true, nil
	case errors.As(err, &r):
		b.done = true // the check's own reply, sent as it is
		return nil, false, err
	}
	b.failure = err
	if b.mechanism == AuthXOAUTH2 {
		return []byte(xoauth2Refused), false, nil
	}
	return []byte(oauthBearerRefused), false, nil
}

func (b *bearerServer) authInfo() AuthInfo {
	b.who.Mechanism = b.mechanism
	return b.who
}

// parseXOAUTH2 parses XOAUTH2's message:
// "user=" user %x01 "auth=Bearer " token %x01 %x01.
func parseXOAUTH2(resp []byte) (Credentials, error) {
	c := Credentials{Mechanism: AuthXOAUTH2}
	rest, ok := bytes.CutSuffix(resp, []byte("\x01\x01"))
	if !ok {
		return c, errors.New("want user=...^Aauth=Bearer ...^A^A")
	}
	var haveUser, haveAuth bool
	for _, kv := range strings.Split(string(rest), "\x01") {
		k, v, _ := strings.Cut(kv, "=")
		switch strings.ToLower(k) {
		case "user":
			c.Username, haveUser = v, true
		case "auth":
			token, ok := cutBearer(v)
			if !ok {
				return c, errors.New("auth= is not a Bearer token")
			}
			c.Token, haveAuth = token, true
		}
	}
	if !haveUser || !haveAuth {
		return c, errors.New("want user=...^Aauth=Bearer ...^A^A")
	}
	return c, nil
}

// parseOAuthBearer parses OAUTHBEARER's client response (RFC 7628 3.1):
// a GS2 header ("n,a=user," or "y,,"), then key=value pairs, each after
// %x01, ending with %x01 %x01. It needs auth=Bearer and ignores the other
// keys (host, port, ...).
func parseOAuthBearer(resp []byte) (Credentials, error) {
	c := Credentials{Mechanism: AuthOAUTHBEARER}
	flag, rest, ok1 := bytes.Cut(resp, []byte(","))
	authzid, kvs, ok2 := bytes.Cut(rest, []byte(","))
	switch {
	case !ok1 || !ok2:
		return c, errors.New("no GS2 header")
	case string(flag) != "n" && string(flag) != "y":
		return c, errors.New("the GS2 channel-binding flag must be n or y: OAUTHBEARER binds no channel")
	}
	if len(authzid) > 0 {
		name, ok := bytes.CutPrefix(authzid, []byte("a="))
		if !ok {
			return c, errors.New("the GS2 authorization identity must start with a=")
		}
		user, err := saslName(string(name))
		if err != nil {
			return c, err
		}
		c.Username = user
	}
	body, ok := bytes.CutPrefix(kvs, []byte("\x01"))
	if !ok {
		return c, errors.New("no ^A after the GS2 header")
	}
	body, ok = bytes.CutSuffix(body, []byte("\x01\x01"))
	if !ok {
		return c, errors.New("not ended by ^A^A")
	}
	haveAuth := false
	for _, kv := range strings.Split(string(body), "\x01") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return c, errors.New("a key-value pair without a key")
		}
		if k == "auth" {
			token, ok := cutBearer(v)
			if !ok {
				return c, errors.New("auth= is not a Bearer token")
			}
			c.Token, haveAuth = token, true
		}
	}
	if !haveAuth {
		return c, errors.New("no auth=Bearer token")
	}
	return c, nil
}

// cutBearer returns the token of an Authorization value "Bearer token",
// the scheme in any case (RFC 6750 2.1).
func cutBearer(v string) (string, bool) {
	scheme, token, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || token == "" {
		return "", false
	}
	return token, true
}

// saslName decodes a GS2 saslname: "=2C" is ",", "=3D" is "=" (RFC 5801
// 4).
func saslName(s string) (string, error) {
	if !strings.Contains(s, "=") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
		default:
			return "", errors.New("bad escape in the authorization identity")
		}
		i += 2
	}
	return b.String(), nil
}
