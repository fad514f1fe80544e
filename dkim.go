package mocksmtp

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-msgauth/dkim"
)

// This file verifies the DKIM signatures (RFC 6376) of received messages
// with github.com/emersion/go-msgauth, against the keys the test
// registered: never DNS.
//
// ARC chains (RFC 8617) are validated in arc.go, with the same keys:
// go-msgauth has no ARC verifier.

// maxDKIMSignatures is how many DKIM-Signature fields of one message are
// verified, like OpenDKIM's MaximumSignaturesToVerify: each costs a hash
// of the body and a public-key operation, so a hostile message with
// thousands of them costs no more than this many.
const maxDKIMSignatures = 5

// go-msgauth reads a header in time that grows with the square of a
// field's folded lines (it appends each line to a string), and looks each
// name of h= up in the whole header. These budgets bound both for a
// hostile header; real mail uses a thousandth of them. A message over
// budget is not verified: its signatures are permerrors that say why.
const (
	maxDKIMFoldCopy = 16 << 20 // octets copied to unfold the header's fields
	maxDKIMPicks    = 2 << 20  // header fields compared to find those h= names, over the verified signatures
)

// maxDKIMHeaderKeys is the most header fields a signature's h= may name:
// one that names more is a permerror, not verified, and its HeaderKeys
// holds the first this many. Real signers name a few dozen (oversigned:
// each twice); a hostile h= of a million names would otherwise be kept,
// and copied with each snapshot of the message.
const maxDKIMHeaderKeys = 1000

// DKIMStatus is the result of verifying one DKIM signature, named as
// Authentication-Results (RFC 8601) names it.
type DKIMStatus string

// The results of verifying a DKIM signature.
const (
	// DKIMPass: the signature verifies with the key of WithDKIMKey.
	DKIMPass DKIMStatus = "pass"
	// DKIMFail: the signature does not verify: the body or a signed header
	// field changed after signing, the key is not the signer's, or it
	// signs only part of the body (l=).
	DKIMFail DKIMStatus = "fail"
	// DKIMPermError: the signature cannot be verified: it is malformed,
	// expired, does not sign From, or uses an algorithm or key too weak.
	DKIMPermError DKIMStatus = "permerror"
	// DKIMTempError: the key is not known: no WithDKIMKey for the
	// signature's domain and selector.
	DKIMTempError DKIMStatus = "temperror"
)

// DKIMResult is the verification of one DKIM-Signature header field of a
// [Message].
type DKIMResult struct {
	Status DKIMStatus
	// Reason says why the signature did not pass ("body hash mismatch:
	// ..."); "" when it did.
	Reason     string
	Domain     string // d=, the signing domain
	Selector   string // s=, which names its key
	Identifier string // i=, the agent or user signing; "@" and Domain when the signature names none
	Algorithm  string // a=, "rsa-sha256" or "ed25519-sha256"
	// HeaderKeys is h=, the header fields signed, in order; at most
	// 1000 of them: a signature that names more is a permerror that says
	// so, and this holds its first 1000.
	HeaderKeys []string
}

// String returns the result as a method of an Authentication-Results
// header field (RFC 8601):
//
//	dkim=fail (body hash mismatch: ...) header.d=example.com header.s=mail header.a=rsa-sha256
func (r DKIMResult) String() string {
	var b strings.Builder
	b.WriteString("dkim=" + string(r.Status))
	if r.Reason != "" {
		b.WriteString(" (" + strings.ReplaceAll(strings.ReplaceAll(r.Reason, "(", "["), ")", "]") + ")")
	}
	for _, p := range [][2]string{{"header.d", r.Domain}, {"header.s", r.Selector}, {"header.i", r.Identifier}, {"header.a", r.Algorithm}} {
		if p[1] != "" && (p[0] != "header.i" || p[1] != "@"+r.Domain) {
			b.WriteString(" " + p[0] + "=" + p[1])
		}
	}
	return b.String()
}

// WithDKIMKey registers the public key of a DKIM signer, so that the
// server verifies the signatures of domain and selector (d= and s=) with
// it: every received message's DKIM-Signature fields are verified, their
// results are in [Message.DKIM] and in the message's transcript note (an
// Authentication-Results line), and a signature that does not verify is a
// finding ([RuleDKIM]). Keys are looked up here only, never in DNS: a
// signature whose key is not registered verifies as temperror, one whose
// d= and s= make no domain name as permerror.
//
// The same keys seal and sign ARC sets (RFC 8617: an ARC key is a DKIM key
// record): every received message's ARC chain is validated with them,
// in [Message.ARC] and the Authentication-Results note ("arc=pass"), and a
// chain that fails is a finding ([RuleARC]).
//
// key is an *rsa.PublicKey or an ed25519.PublicKey, or a private key
// (anything with a Public method, such as the crypto.Signer the code under
// test signs with), whose public key is taken. Give it once per selector:
// another key for a domain and selector given already is an error.
func WithDKIMKey(domain, selector string, key crypto.PublicKey) Option {
	return optionFunc(func(o *options) error {
		if domain == "" || selector == "" {
			return fmt.Errorf("mocksmtp: WithDKIMKey(%q, %q, ...): want a domain and a selector", domain, selector)
		}
		record, err := dkimRecord(key)
		if err != nil {
			return fmt.Errorf("mocksmtp: WithDKIMKey(%q, %q, ...): %w", domain, selector, err)
		}
		name := dkimName(domain, selector)
		if had, ok := o.dkimKeys[name]; ok && had != record {
			// The first key would be lost without a word, and the
			// signatures made with it fail as if the signer were wrong.
			return fmt.Errorf("mocksmtp: WithDKIMKey(%q, %q, ...): another key for %s is given already", domain, selector, name)
		}
		o.dkimKeys = withEntry(o.dkimKeys, name, record)
		return nil
	})
}

// dkimName is the DNS name of a DKIM key: "selector._domainkey.domain".
func dkimName(domain, selector string) string {
	return strings.ToLower(selector + "._domainkey." + strings.TrimSuffix(domain, "."))
}

// dkimRecord returns the DNS TXT record of key (RFC 6376 3.6.1).
func dkimRecord(key crypto.PublicKey) (string, error) {
	// A nil pointer (a key whose parse failed unchecked) is refused
	// before its Public method, which would panic, as would that of an
	// Ed25519 private key too short.
	if v := reflect.ValueOf(key); v.Kind() == reflect.Pointer && v.IsNil() {
		return "", fmt.Errorf("a nil %T is no DKIM key", key)
	}
	if k, ok := key.(ed25519.PrivateKey); ok && len(k) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("an Ed25519 private key of %d bytes, want %d", len(k), ed25519.PrivateKeySize)
	}
	if k, ok := key.(interface{ Public() crypto.PublicKey }); ok {
		key = k.Public()
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			return "", err
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der), nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			// Every signature would be a permerror, as if the signer were wrong.
			return "", fmt.Errorf("an Ed25519 public key of %d bytes, want %d", len(k), ed25519.PublicKeySize)
		}
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(k), nil
	}
	return "", fmt.Errorf("a %T is no DKIM key: want an *rsa.PublicKey or an ed25519.PublicKey", key)
}

// noKeyError is the lookup's error for a key the test did not register.
// It is a temporary net.Error, so that go-msgauth makes it a temperror.
type noKeyError struct{ name string }

func (e noKeyError) Error() string   { return "no key registered for " + e.name + " (WithDKIMKey)" }
func (e noKeyError) Timeout() bool   { return false }
func (e noKeyError) Temporary() bool { return true }

// badNameError is the lookup's error for a d= and s= that make no domain
// name. It is no temporary net.Error, so go-msgauth makes it a permerror.
type badNameError struct{ name string }

func (e badNameError) Error() string { return fmt.Sprintf("%q is no domain name", e.name) }

// isDNSName reports whether name is a domain name a TXT record can have:
// at most 253 octets, labels of 1 to 63 lower-case letters, digits,
// hyphens and underscores (DNS allows an underscore, and selectors have
// them). The lookup lowers the name first.
func isDNSName(name string) bool {
	if len(name) == 0 || len(name) > 253 {
		return false
	}
	for label := range strings.SplitSeq(name, ".") {
		if len(label) == 0 || len(label) > 63 {
			return false
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// verifyDKIM verifies the DKIM signatures of m with keys (DNS name to TXT
// record) and sets m.DKIM, and m.dkimMore to the number of signatures
// left unverified beyond maxDKIMSignatures. It reads m.Raw only: it runs
// when the message arrives, before its 250 (the transcript notes the
// results before the acceptance, and WithRejectNonconforming refuses a
// message whose signature fails), and a message is not parsed then (see
// kept). A message without a DKIM-Signature header field costs a scan of
// its header's lines, without an allocation.
func verifyDKIM(m *Message, keys map[string]string) {
	head, body, _ := splitHeader(m.Raw) // the header as parseMIME splits it
	if !hasDKIMSignature(head) {
		return
	}
	sc := scanDKIM(head)
	if len(sc.sigs) == 0 {
		return
	}
	m.dkimMore = sc.total - len(sc.sigs)
	m.DKIM = make([]DKIMResult, len(sc.sigs))
	picks := 0
	overKeys := make([]int, len(sc.sigs)) // the names of an h= over maxDKIMHeaderKeys
	for i, tags := range sc.sigs {
		r := DKIMResult{
			Domain:     tags["d"],
			Selector:   tags["s"],
			Identifier: tags["i"],
			Algorithm:  tags["a"],
		}
		if r.Identifier == "" && r.Domain != "" {
			r.Identifier = "@" + r.Domain
		}
		names := 0
		if h := tags["h"]; h != "" {
			names = strings.Count(h, ":") + 1
			keys := strings.SplitN(h, ":", maxDKIMHeaderKeys+1)
			if len(keys) > maxDKIMHeaderKeys {
				// Their own copy: the names must not hold h= whole.
				keys = strings.Split(strings.Clone(h[:len(h)-len(keys[maxDKIMHeaderKeys])-1]), ":")
				overKeys[i] = names
			}
			r.HeaderKeys = keys
		}
		picks += names * sc.fields
		m.DKIM[i] = r
	}
	var skip string
	switch {
	case sc.foldCopy > maxDKIMFoldCopy:
		skip = fmt.Sprintf("not verified: unfolding this header (a field folded over %d lines) costs more than a verifier should spend", sc.maxFolds)
	case picks > maxDKIMPicks:
		skip = fmt.Sprintf("not verified: finding the fields h= names (%d names) in a header of %d fields costs more than a verifier should spend", picks/sc.fields, sc.fields)
	}
	var verifs []*dkim.Verification
	var err error
	if skip == "" {
		opts := &dkim.VerifyOptions{
			MaxVerifications: maxDKIMSignatures,
			LookupTXT: func(name string) ([]string, error) {
				name = strings.ToLower(strings.TrimSuffix(name, "."))
				if r, ok := keys[name]; ok {
					return []string{r}, nil
				}
				if !isDNSName(name) {
					return nil, badNameError{name} // a permerror: no DNS would answer
				}
				return nil, noKeyError{name}
			},
		}
		var r io.Reader = bytes.NewReader(m.Raw)
		if body == nil {
			// A message of a header alone, without the empty line
			// (RFC 5322 2.1: the body is optional): go-msgauth reads
			// the header up to that line, so it gets one; the body is
			// empty either way, as arc.go reads it.
			end := "\r\n"
			if !bytes.HasSuffix(m.Raw, []byte("\n")) {
				end += "\r\n" // BDAT's last line may lack its CRLF
			}
			r = io.MultiReader(r, strings.NewReader(end))
		}
		verifs, err = dkim.VerifyWithOptions(r, opts)
		if errors.Is(err, dkim.ErrTooManySignatures) {
			err = nil
		}
	}
	for i := range m.DKIM {
		r := &m.DKIM[i]
		switch {
		case overKeys[i] > 0:
			r.Status, r.Reason = DKIMPermError, fmt.Sprintf("not verified: h= names %d header fields, more than the %d a verifier checks", overKeys[i], maxDKIMHeaderKeys)
		case skip != "":
			r.Status, r.Reason = DKIMPermError, skip
		case err != nil || i >= len(verifs):
			// The header could not be read as go-msgauth reads it.
			r.Status, r.Reason = DKIMPermError, "message header unreadable: "+strings.TrimPrefix(fmt.Sprint(err), "dkim: ")
		case verifs[i].Err == nil:
			r.Status = DKIMPass
		default:
			r.Status, r.Reason = dkimReason(verifs[i].Err, sc.sigs[i])
		}
	}
}

// dkimReason classifies a verification error and says what it means.
func dkimReason(err error, tags map[string]string) (DKIMStatus, string) {
	status := DKIMFail
	switch {
	case dkim.IsTempFail(err):
		status = DKIMTempError
	case dkim.IsPermFail(err):
		status = DKIMPermError
	}
	text := strings.TrimPrefix(err.Error(), "dkim: ")
	switch {
	case text == "body hash did not verify":
		text = "body hash mismatch: the body changed after signing"
	case strings.HasPrefix(text, "signature did not verify"):
		text = "signature mismatch: a signed header field changed after signing, or the key is not the signer's"
	case text == "message contains an insecure body length tag":
		text = "l= body length tag: what follows that many octets of the body is not signed (RFC 6376 8.2)"
	case text == "From field not signed":
		text = "the From header field is not signed: h= lacks From (RFC 6376 5.4)"
	case text == "signature has expired":
		text = "signature expired (x=" + tags["x"] + ")"
		if sec, err := strconv.ParseInt(tags["x"], 10, 64); err == nil {
			text = "signature expired at " + time.Unix(sec, 0).UTC().Format(time.RFC3339) + " (x=" + tags["x"] + ")"
		}
	case strings.HasPrefix(text, "key unavailable: "):
		text = strings.TrimPrefix(text, "key unavailable: ")
	case strings.HasPrefix(text, "no key for signature: "):
		text = "d= and s= name no key: " + strings.TrimPrefix(text, "no key for signature: ")
	}
	return status, text
}

// hasDKIMSignature reports whether a message header has a DKIM-Signature
// field, as scanDKIM would find it.
func hasDKIMSignature(head []byte) bool { return hasField(head, "dkim-signature") }

// hasField reports whether a message header has a field named one of
// names (lower case; compared in any case), as the scans of DKIM and ARC
// find fields: a line that is no continuation, the name before its colon,
// white space around it ignored. It allocates nothing: a message with no
// such field costs a scan of its header's lines.
func hasField(head []byte, names ...string) bool {
	for len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		if !startsName(line, names) {
			continue // a continuation line, or no name starts so
		}
		key, _, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		key = bytes.TrimSpace(key)
		for _, n := range names {
			if bytes.EqualFold(key, []byte(n)) {
				return true
			}
		}
	}
	return false
}

// startsName reports whether line starts with the first letter of one of
// names, in any case.
func startsName(line []byte, names []string) bool {
	if len(line) == 0 {
		return false
	}
	c := line[0] | 0x20
	for _, n := range names {
		if c == n[0] {
			return true
		}
	}
	return false
}

// dkimScan is what scanDKIM finds in a message header.
type dkimScan struct {
	sigs     []map[string]string // the tags of the first maxDKIMSignatures DKIM-Signature fields
	total    int                 // DKIM-Signature fields
	fields   int                 // header fields
	foldCopy int                 // octets go-msgauth copies to unfold them
	maxFolds int                 // continuation lines of the most folded field
}

// scanDKIM reads a message header as go-msgauth does (lines end with LF,
// continuation lines start with a space or tab) and returns the tags of
// its first DKIM-Signature fields, whitespace removed, and what verifying
// them would cost.
func scanDKIM(head []byte) dkimScan {
	var sc dkimScan
	var field []byte
	folds := 0
	flush := func() {
		if len(field) == 0 {
			return
		}
		sc.fields++
		sc.maxFolds = max(sc.maxFolds, folds)
		key, value, ok := bytes.Cut(field, []byte(":"))
		if !ok || !strings.EqualFold(string(bytes.TrimSpace(key)), "DKIM-Signature") {
			return
		}
		sc.total++
		if len(sc.sigs) < maxDKIMSignatures {
			sc.sigs = append(sc.sigs, dkimTags(string(value)))
		}
	}
	for len(head) > 0 {
		line, rest, _ := bytes.Cut(head, []byte("\n"))
		head = rest
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && len(field) > 0 {
			field = append(field, line...)
			folds++
			sc.foldCopy += len(field) + 2*folds // go-msgauth's string, CRLFs kept
			continue
		}
		flush()
		field, folds = append(field[:0], line...), 0
	}
	flush()
	return sc
}

// dkimTags parses a tag list (RFC 6376 3.2): "v=1; a=rsa-sha256; ...",
// whitespace removed from the values.
func dkimTags(s string) map[string]string {
	tags := make(map[string]string)
	for t := range strings.SplitSeq(s, ";") {
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			continue
		}
		tags[strings.TrimSpace(k)] = strings.Join(strings.Fields(v), "")
	}
	return tags
}

// authenticationResults returns the Authentication-Results line of a
// message's DKIM results and ARC chain (arc.go), as the transcript notes
// it ("" when it has neither).
func authenticationResults(hostname string, m *Message) string {
	hasARC := m.ARC.Status != "" && m.ARC.Status != ARCNone
	if len(m.DKIM) == 0 && !hasARC {
		return ""
	}
	parts := make([]string, 0, len(m.DKIM)+1)
	for _, r := range m.DKIM {
		parts = append(parts, r.String())
	}
	s := "Authentication-Results: " + hostname + "; " + strings.Join(parts, "; ")
	if m.dkimMore > 0 {
		s += fmt.Sprintf(" (%s not verified: at most %d are)", plural(m.dkimMore, "more DKIM signature"), maxDKIMSignatures)
	}
	if hasARC {
		if len(parts) > 0 {
			s += "; "
		}
		s += m.ARC.String()
	}
	return s
}

// checkDKIM returns the findings of a message's DKIM results: each
// signature that failed or could not be verified, and signatures beyond
// the limit.
func checkDKIM(m *Message) []Finding {
	var fs []Finding
	for i, r := range m.DKIM {
		if r.Status == DKIMFail || r.Status == DKIMPermError {
			fs = append(fs, finding(RuleDKIM, "DKIM signature %d (d=%s s=%s) %s: %s", i+1, r.Domain, r.Selector, r.Status, r.Reason))
		}
	}
	if m.dkimMore > 0 {
		fs = append(fs, finding(RuleDKIM, "%d DKIM-Signature fields: only the first %d were verified", len(m.DKIM)+m.dkimMore, maxDKIMSignatures))
	}
	return fs
}
