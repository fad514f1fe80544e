package mocksmtp

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
)

// This file verifies the signatures of an ARC chain (arc.go collects and
// judges the sets): each ARC-Message-Signature as a DKIM signature, each
// ARC-Seal over the sets up to its own, canonicalized as RFC 6376 3.4
// says, with rsa-sha256 or ed25519-sha256 and the keys of WithDKIMKey.

// arcVerifier verifies the signatures of one message's chain.
type arcVerifier struct {
	keys       map[string]string
	fields     []headerField
	byName     map[string][]int // the indexes of the fields of each name, lower case
	body       []byte
	bodyHashes map[bool][]byte // by relaxed: the SHA-256 of the canonical body
	pubKeys    map[string]arcKey
}

// arcKey is a key looked up, or why there is none.
type arcKey struct {
	key    crypto.PublicKey
	status DKIMStatus
	reason string
}

// signedSize returns the octets of the fields an ARC-Message-Signature's
// h= picks, and its own.
func (v *arcVerifier) signedSize(h arcHeader) int {
	n := len(h.field.raw)
	for _, j := range v.picks(h.tags["h"]) {
		n += len(v.fields[j].raw)
	}
	return n
}

// picks returns the indexes of the fields h= names, in h= order: for each
// name, the last field of that name not picked yet, none when all are
// (RFC 6376 5.4.2).
func (v *arcVerifier) picks(h string) []int {
	if h == "" {
		return nil
	}
	used := map[string]int{}
	var out []int
	for name := range strings.SplitSeq(h, ":") {
		name = strings.ToLower(name)
		idx := v.byName[name]
		if k := used[name]; k < len(idx) {
			out = append(out, idx[len(idx)-1-k])
			used[name] = k + 1
		}
	}
	return out
}

// verifyAMS verifies an ARC-Message-Signature as a DKIM signature (RFC
// 8617 4.1.2): its body hash, then the fields h= names and itself, b=
// emptied.
func (v *arcVerifier) verifyAMS(h arcHeader) (DKIMStatus, string) {
	t := h.tags
	if st, reason := arcRequire(t, "i", "a", "b", "bh", "d", "h", "s"); st != "" {
		return st, reason
	}
	if slices.Contains(strings.Split(strings.ToLower(t["h"]), ":"), arcSeal) {
		return DKIMPermError, "h= signs ARC-Seal, which a message signature must not (RFC 8617 4.1.2)"
	}
	if _, ok := t["l"]; ok {
		return DKIMFail, "l= body length tag: what follows that many octets of the body is not signed (RFC 6376 8.2)"
	}
	// Without c=, relaxed/relaxed, as dkimpy reads it ("only relaxed
	// canonicalization used by ARC"), though a DKIM signature's default
	// is simple/simple: an AMS sealed by dkimpy has no c=.
	relaxedHead, relaxedBody := true, true
	if c, ok := t["c"]; ok {
		hc, bc, _ := strings.Cut(c, "/")
		bc = or(bc, "simple")
		for _, x := range []string{hc, bc} {
			if x != "simple" && x != "relaxed" {
				return DKIMPermError, fmt.Sprintf("unknown canonicalization c=%s", clip(c))
			}
		}
		relaxedHead, relaxedBody = hc == "relaxed", bc == "relaxed"
	}
	key, st, reason := v.key(t)
	if st != "" {
		return st, reason
	}
	bh, err := base64.StdEncoding.DecodeString(t["bh"])
	if err != nil {
		return DKIMPermError, "bh= is no base64"
	}
	if !bytes.Equal(bh, v.bodyHash(relaxedBody)) {
		return DKIMFail, "body hash mismatch: the body changed after sealing"
	}
	hash := sha256.New()
	for _, j := range v.picks(t["h"]) {
		hash.Write(canonField(v.fields[j].raw, relaxedHead, true))
	}
	hash.Write(canonField(withoutB(h.field.raw), relaxedHead, false))
	return arcCheck(t, key, hash.Sum(nil), "signature mismatch: a signed header field changed after sealing, or the key is not the sealer's")
}

// verifySeal verifies the ARC-Seal of set i (RFC 8617 5.1.1): the fields
// of sets 1 to i, each set's ARC-Authentication-Results,
// ARC-Message-Signature and ARC-Seal in that order, relaxed, with b= of
// the seal verified emptied.
func (v *arcVerifier) verifySeal(slots *[maxARCSets + 1]arcSlot, i int) (DKIMStatus, string) {
	h := slots[i].seal[0]
	t := h.tags
	if st, reason := arcRequire(t, "i", "a", "b", "cv", "d", "s"); st != "" {
		return st, reason
	}
	if _, ok := t["h"]; ok {
		return DKIMPermError, "h= in an ARC-Seal, which signs the ARC sets only (RFC 8617 4.1.3)"
	}
	key, st, reason := v.key(t)
	if st != "" {
		return st, reason
	}
	hash := sha256.New()
	for j := 1; j <= i; j++ {
		s := &slots[j]
		hash.Write(canonField(s.aar[0].field.raw, true, true))
		hash.Write(canonField(s.ams[0].field.raw, true, true))
		if j < i {
			hash.Write(canonField(s.seal[0].field.raw, true, true))
		}
	}
	hash.Write(canonField(withoutB(h.field.raw), true, false))
	return arcCheck(t, key, hash.Sum(nil), "signature mismatch: an ARC header field of this set or an older one changed after sealing, or the key is not the sealer's")
}

// arcRequire says which of the tags a signature lacks, or "" when none.
func arcRequire(t map[string]string, names ...string) (DKIMStatus, string) {
	for _, n := range names {
		if t[n] == "" && n != "b" || n == "b" && !hasKey(t, "b") {
			return DKIMPermError, "missing tag " + n + "="
		}
	}
	switch a := t["a"]; a {
	case "rsa-sha256", "ed25519-sha256":
	case "rsa-sha1":
		return DKIMPermError, "hash algorithm too weak: sha1"
	default:
		return DKIMPermError, fmt.Sprintf("unknown algorithm a=%s", clip(a))
	}
	return "", ""
}

func hasKey(t map[string]string, k string) bool { _, ok := t[k]; return ok }

// key returns the public key of a signature's d= and s=, as WithDKIMKey
// registered it, or why there is none.
func (v *arcVerifier) key(t map[string]string) (crypto.PublicKey, DKIMStatus, string) {
	name := dkimName(t["d"], t["s"])
	if k, ok := v.pubKeys[name]; ok {
		return k.key, k.status, k.reason
	}
	var k arcKey
	rec, ok := v.keys[name]
	switch {
	case ok:
		tags := dkimTags(rec)
		der, err := base64.StdEncoding.DecodeString(tags["p"])
		switch {
		case err != nil:
			k.status, k.reason = DKIMPermError, "key record unreadable"
		case tags["k"] == "ed25519" && len(der) == ed25519.PublicKeySize:
			k.key = ed25519.PublicKey(der)
		default:
			pub, err := x509.ParsePKIXPublicKey(der)
			if rk, isRSA := pub.(*rsa.PublicKey); err == nil && isRSA {
				k.key = rk
			} else {
				k.status, k.reason = DKIMPermError, "key record unreadable"
			}
		}
	case !isDNSName(name):
		k.status, k.reason = DKIMPermError, fmt.Sprintf("d= and s= name no key: %q is no domain name", clip(name))
	default:
		k.status, k.reason = DKIMTempError, noKeyError{name}.Error()
	}
	if v.pubKeys == nil {
		v.pubKeys = map[string]arcKey{}
	}
	v.pubKeys[name] = k
	return k.key, k.status, k.reason
}

// arcCheck verifies b= over a SHA-256 hash with key, as a= says.
func arcCheck(t map[string]string, key crypto.PublicKey, sum []byte, mismatch string) (DKIMStatus, string) {
	sig, err := base64.StdEncoding.DecodeString(t["b"])
	if err != nil {
		return DKIMPermError, "b= is no base64"
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		if t["a"] != "rsa-sha256" {
			return DKIMPermError, "a=" + t["a"] + " with an RSA key"
		}
		if k.N.BitLen() < 1024 {
			return DKIMPermError, fmt.Sprintf("RSA key of %d bits: at least 1024 (RFC 8301 3.2)", k.N.BitLen())
		}
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, sum, sig) != nil {
			return DKIMFail, mismatch
		}
	case ed25519.PublicKey:
		if t["a"] != "ed25519-sha256" {
			return DKIMPermError, "a=" + t["a"] + " with an Ed25519 key"
		}
		if !ed25519.Verify(k, sum, sig) { // RFC 8463 3: Ed25519 signs the SHA-256 hash
			return DKIMFail, mismatch
		}
	}
	return DKIMPass, ""
}

// bodyHash returns the SHA-256 of the body canonicalized (RFC 6376 3.4.3,
// 3.4.4), computed once per canonicalization.
func (v *arcVerifier) bodyHash(relaxed bool) []byte {
	if h, ok := v.bodyHashes[relaxed]; ok {
		return h
	}
	hash := sha256.New()
	blank := 0 // empty lines held back: those at the end are dropped
	content := false
	body := v.body
	var line []byte
	for len(body) > 0 {
		end := bytes.IndexByte(body, '\n')
		if end < 0 {
			line, body = body, nil
		} else {
			line, body = body[:end], body[end+1:]
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if relaxed {
			line = relaxSpace(line)
			line = bytes.TrimRight(line, " ")
		}
		if len(line) == 0 {
			blank++
			continue
		}
		for ; blank > 0; blank-- {
			hash.Write([]byte("\r\n"))
		}
		hash.Write(line)
		hash.Write([]byte("\r\n"))
		content = true
	}
	if !content && !relaxed {
		hash.Write([]byte("\r\n")) // simple: an empty body is one CRLF
	}
	if v.bodyHashes == nil {
		v.bodyHashes = map[bool][]byte{}
	}
	v.bodyHashes[relaxed] = hash.Sum(nil)
	return v.bodyHashes[relaxed]
}

// relaxSpace replaces each run of spaces and tabs with one space.
func relaxSpace(b []byte) []byte {
	if bytes.IndexByte(b, '\t') < 0 && !bytes.Contains(b, []byte("  ")) {
		return b
	}
	out := make([]byte, 0, len(b))
	space := false
	for _, c := range b {
		if c == ' ' || c == '\t' {
			space = true
			continue
		}
		if space {
			out = append(out, ' ')
			space = false
		}
		out = append(out, c)
	}
	if space {
		out = append(out, ' ')
	}
	return out
}

// canonField returns a header field canonicalized (RFC 6376 3.4.1,
// 3.4.2), with its CRLF when crlf is set: relaxed, the name in lower
// case, the value unfolded, each run of whitespace one space, none at its
// ends; simple, as written, lines ending with CRLF.
func canonField(raw []byte, relaxed, crlf bool) []byte {
	var out []byte
	if relaxed {
		name, value, _ := bytes.Cut(raw, []byte(":"))
		out = append(bytes.ToLower(bytes.TrimRight(name, " \t")), ':')
		value = bytes.ReplaceAll(bytes.ReplaceAll(value, []byte("\r"), nil), []byte("\n"), nil)
		out = append(out, bytes.Trim(relaxSpace(value), " ")...)
	} else {
		for i, line := range bytes.Split(bytes.TrimRight(raw, "\r\n"), []byte("\n")) {
			if i > 0 {
				out = append(out, "\r\n"...)
			}
			out = append(out, bytes.TrimSuffix(line, []byte("\r"))...)
		}
	}
	if crlf {
		out = append(out, "\r\n"...)
	}
	return out
}

// withoutB returns a signature field with the value of its b= tag
// removed, the whitespace around it included (RFC 6376 3.5, b=).
func withoutB(raw []byte) []byte {
	colon := bytes.IndexByte(raw, ':')
	out := slices.Clone(raw[:colon+1])
	rest := raw[colon+1:]
	for len(rest) > 0 {
		spec := rest
		next := []byte(nil)
		if i := bytes.IndexByte(rest, ';'); i >= 0 {
			spec, next = rest[:i+1], rest[i+1:]
		}
		k, _, ok := bytes.Cut(spec, []byte("="))
		if ok && string(bytes.TrimSpace(k)) == "b" {
			out = append(out, k...)
			out = append(out, '=')
			if spec[len(spec)-1] == ';' {
				out = append(out, ';')
			} else {
				// The last tag: keep the field's line end.
				trail := spec[len(bytes.TrimRight(spec, "\r\n")):]
				out = append(out, trail...)
			}
		} else {
			out = append(out, spec...)
		}
		rest = next
	}
	return out
}
