package mocksmtp

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// This file validates the ARC chain (RFC 8617) of received messages with
// the keys of WithDKIMKey: an ARC key is a DKIM key record at
// s._domainkey.d, looked up where dkim.go looks DKIM keys up, never in
// DNS. go-msgauth has no ARC verifier, so the canonicalization (RFC 6376
// 3.4) and the signature checks (rsa-sha256, ed25519-sha256) are ours, in
// arcsig.go. It verifies; it never seals.

// maxARCSets is the most ARC sets a message may carry (RFC 8617 4.2.1):
// a message with more, or with an instance above it, fails unverified.
const maxARCSets = 50

// maxARCHash bounds the octets of header fields hashed to verify one
// chain: each seal hashes every set up to its own, so a chain costs the
// square of its sets, and each ARC-Message-Signature hashes the fields
// its h= names. Real chains hash a few KiB. A chain over budget fails
// unverified, saying why.
const maxARCHash = 16 << 20

// ARCStatus is the result of validating a message's ARC chain, named as
// Authentication-Results (RFC 8601) names the results of RFC 8617's arc
// method.
type ARCStatus string

// The results of validating an ARC chain.
const (
	// ARCNone: the message has no ARC set.
	ARCNone ARCStatus = "none"
	// ARCPass: every ARC-Seal and the newest ARC-Message-Signature
	// verify with the keys of WithDKIMKey, and the sets are well formed.
	ARCPass ARCStatus = "pass"
	// ARCFail: a set is missing, duplicated or malformed, a cv= is wrong,
	// a seal or the newest message signature does not verify, or its key
	// is not registered. The reason says which.
	ARCFail ARCStatus = "fail"
)

// ARCResult is the validation of a [Message]'s ARC chain (RFC 8617 5.2):
// the sets its intermediaries added, each sealing the ones before.
type ARCResult struct {
	Status ARCStatus
	// Reason says why the chain failed, naming the set: "set 2:
	// ARC-Message-Signature fail: body hash mismatch: ..."; "" unless
	// Status is ARCFail.
	Reason string
	// Instance is the set (i=) the chain failed at; 0 when it passed, or
	// failed as a whole (too many sets, over the work budget).
	Instance int
	// Sets lists the ARC sets found, by instance, each with what was
	// verified of it. The chain's Status depends on every seal and on the
	// newest set's message signature only (RFC 8617 5.2): the older
	// message signatures are verified for information, and usually fail
	// once an intermediary changed the message, which ARC allows.
	Sets []ARCSet
}

// ARCSet is one ARC set of a message: its ARC-Authentication-Results,
// ARC-Message-Signature and ARC-Seal header fields, of one instance.
type ARCSet struct {
	Instance  int    // i=, from 1, the oldest
	Domain    string // d= of its ARC-Seal (of its message signature when it has no seal)
	Selector  string // s= of its ARC-Seal (idem)
	Algorithm string // a= of its ARC-Seal (idem)
	CV        string // cv= of its ARC-Seal, as sent: RFC 8617 wants "none" for the first set, "pass" for the others
	// AuthResults is what the sealer found on arrival: its
	// ARC-Authentication-Results after "i=N;", such as
	// "mx.example.net; dkim=pass header.d=example.com".
	AuthResults string
	// Seal and SealReason are the verification of its ARC-Seal (as a
	// DKIM signature's, and SealReason "" when it passed); "" when not
	// verified, as when the chain's structure is broken.
	Seal       DKIMStatus
	SealReason string
	// Signature and SignatureReason are the verification of its
	// ARC-Message-Signature, as Seal's.
	Signature       DKIMStatus
	SignatureReason string
}

// status is r's status, ARCNone for a message never validated.
func (r ARCResult) status() ARCStatus { return ARCStatus(or(string(r.Status), string(ARCNone))) }

// String returns the result as a method of an Authentication-Results
// header field: "arc=pass", or "arc=fail (set 2: ARC-Seal fail: ...)".
func (r ARCResult) String() string {
	s := "arc=" + string(r.status())
	if r.Reason != "" {
		s += " (" + strings.ReplaceAll(strings.ReplaceAll(r.Reason, "(", "["), ")", "]") + ")"
	}
	return s
}

// The names of the ARC header fields, lower case.
const (
	arcAAR  = "arc-authentication-results"
	arcAMS  = "arc-message-signature"
	arcSeal = "arc-seal"
)

// hasARC reports whether a message header has an ARC header field, as
// headerFields and arcKind would find it, without an allocation.
func hasARC(head []byte) bool { return hasField(head, arcAAR, arcAMS, arcSeal) }

// arcKind returns the lower-case name of an ARC header field from its
// name as written, or "" for another field.
func arcKind(key []byte) string {
	key = bytes.TrimSpace(key)
	for _, k := range []string{arcAAR, arcAMS, arcSeal} {
		if bytes.EqualFold(key, []byte(k)) {
			return k
		}
	}
	return ""
}

// headerField is one field of a message header: its name, lower case,
// and its lines as written, line ends included.
type headerField struct {
	name string
	raw  []byte
}

// headerFields splits a message header into fields as scanDKIM reads it:
// lines end with LF, continuation lines start with a space or a tab.
func headerFields(head []byte) []headerField {
	var fs []headerField
	for len(head) > 0 {
		end := bytes.IndexByte(head, '\n') + 1
		if end == 0 {
			end = len(head)
		}
		line := head[:end]
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && len(fs) > 0 {
			f := &fs[len(fs)-1]
			f.raw = f.raw[:len(f.raw)+len(line)] // the lines are contiguous in head
		} else {
			name, _, _ := bytes.Cut(line, []byte(":"))
			fs = append(fs, headerField{name: strings.ToLower(string(bytes.TrimSpace(name))), raw: line[: len(line) : len(line)+len(head)-end]})
		}
		head = head[end:]
	}
	return fs
}

// value returns the field's value: what follows the colon.
func (f headerField) value() []byte {
	_, v, _ := bytes.Cut(f.raw, []byte(":"))
	return v
}

// arcHeader is one ARC header field of a set and its tags (none for an
// ARC-Authentication-Results).
type arcHeader struct {
	field headerField
	tags  map[string]string
}

// arcSlot holds the ARC header fields of one instance, by kind.
type arcSlot struct {
	aar, ams, seal []arcHeader
}

// verifyARC validates the ARC chain of m with keys (DNS name to TXT
// record) and sets m.ARC. Like verifyDKIM, it reads m.Raw only, when the
// message arrives; a message without an ARC header field costs a scan of
// its header's lines, without an allocation.
func verifyARC(m *Message, keys map[string]string) {
	m.ARC = ARCResult{Status: ARCNone}
	head, body, _ := splitHeader(m.Raw)
	if !hasARC(head) {
		return
	}
	fields := headerFields(head)
	r := &m.ARC
	fail := func(instance int, format string, args ...any) {
		r.Status, r.Instance, r.Reason = ARCFail, instance, fmt.Sprintf(format, args...)
	}

	// Step 1: collect the sets, at most 50 (RFC 8617 5.2).
	var slots [maxARCSets + 1]arcSlot
	n, count, bad := 0, 0, ""
	for _, f := range fields {
		kind := arcKind([]byte(f.name))
		if kind == "" {
			continue
		}
		count++
		if count > 3*maxARCSets {
			fail(0, "more than %d ARC header fields: at most %d sets are validated (RFC 8617 5.2)", 3*maxARCSets, maxARCSets)
			return
		}
		h := arcHeader{field: f}
		i, why := arcInstance(kind, f.value(), &h.tags)
		switch {
		case why != "" && bad == "":
			bad = fmt.Sprintf("an %s field %s", arcTitle(kind), why)
			continue
		case why != "":
			continue
		case i > maxARCSets:
			fail(0, "an instance i=%d, over %d, the most a chain may have (RFC 8617 4.2.1)", i, maxARCSets)
			return
		}
		n = max(n, i)
		s := &slots[i]
		switch kind {
		case arcAAR:
			s.aar = append(s.aar, h)
		case arcAMS:
			s.ams = append(s.ams, h)
		default:
			s.seal = append(s.seal, h)
		}
	}
	for i := 1; i <= n; i++ {
		r.Sets = append(r.Sets, arcSetOf(i, &slots[i]))
	}
	if bad != "" {
		fail(0, "%s", bad)
		return
	}

	// Steps 2 and 3: the newest seal did not say fail; each set has one
	// field of each kind, instances 1 to N; cv= none, then pass.
	if len(slots[n].seal) == 1 && r.Sets[n-1].CV == "fail" {
		fail(n, "set %d: cv=fail: its sealer found the chain broken", n)
		return
	}
	for i := 1; i <= n; i++ {
		s := &slots[i]
		for _, k := range []struct {
			kind string
			hs   []arcHeader
		}{{arcAAR, s.aar}, {arcAMS, s.ams}, {arcSeal, s.seal}} {
			switch {
			case len(s.aar)+len(s.ams)+len(s.seal) == 0:
				fail(i, "set %d is missing: the instances must run from 1 to %d", i, n)
				return
			case len(k.hs) == 0:
				fail(i, "set %d: no %s field", i, arcTitle(k.kind))
				return
			case len(k.hs) > 1:
				fail(i, "set %d: %d %s fields, want one", i, len(k.hs), arcTitle(k.kind))
				return
			}
		}
		want := "pass"
		if i == 1 {
			want = "none"
		}
		if cv := r.Sets[i-1].CV; cv != want {
			fail(i, "set %d: cv=%s, want cv=%s (RFC 8617 5.2)", i, cv, want)
			return
		}
	}

	// The work: each seal hashes the sets up to its own; each message
	// signature the fields its h= names.
	v := arcVerifier{keys: keys, body: body, byName: map[string][]int{}}
	for j, f := range fields {
		v.byName[f.name] = append(v.byName[f.name], j)
	}
	v.fields = fields
	cost, sets := 0, 0
	for i := 1; i <= n; i++ {
		s := &slots[i]
		sets += len(s.aar[0].field.raw) + len(s.ams[0].field.raw) + len(s.seal[0].field.raw)
		cost += sets + v.signedSize(s.ams[0])
	}
	if cost > maxARCHash {
		fail(0, "not verified: hashing these %d sets (%d octets of header fields) costs more than a verifier should spend", n, cost)
		return
	}

	// Steps 4 to 6: every message signature (only the newest decides)
	// and every seal.
	for i := 1; i <= n; i++ {
		set := &r.Sets[i-1]
		set.Signature, set.SignatureReason = v.verifyAMS(slots[i].ams[0])
		set.Seal, set.SealReason = v.verifySeal(&slots, i)
	}
	if s := r.Sets[n-1]; s.Signature != DKIMPass {
		fail(n, "set %d: ARC-Message-Signature %s: %s", n, s.Signature, s.SignatureReason)
		return
	}
	for i := n; i >= 1; i-- {
		if s := r.Sets[i-1]; s.Seal != DKIMPass {
			fail(i, "set %d: ARC-Seal %s: %s", i, s.Seal, s.SealReason)
			return
		}
	}
	r.Status = ARCPass
}

// arcTitle returns the name of an ARC header field as RFC 8617 writes it.
func arcTitle(kind string) string {
	switch kind {
	case arcAAR:
		return "ARC-Authentication-Results"
	case arcAMS:
		return "ARC-Message-Signature"
	}
	return "ARC-Seal"
}

// arcInstance returns the instance of an ARC header field: the i= tag of
// a signature or a seal, whose tags it sets in *tags, or the leading
// "i=N;" of an ARC-Authentication-Results (RFC 8617 4.1.1). An instance
// is 1 or more; a larger number than a chain may have (of up to 9 digits)
// is returned as it is, for the caller to refuse. why says what is wrong
// with a field that has no instance ("without a valid instance tag i=").
func arcInstance(kind string, value []byte, tags *map[string]string) (i int, why string) {
	var s string
	if kind == arcAAR {
		first, _, _ := bytes.Cut(value, []byte(";"))
		k, val, _ := strings.Cut(string(first), "=")
		if strings.TrimSpace(k) == "i" {
			s = strings.TrimSpace(val)
		}
	} else {
		t, err := arcTags(string(value))
		if err != nil {
			return 0, "with malformed tags: " + err.Error()
		}
		*tags, s = t, t["i"]
	}
	if s == "" || len(s) > 9 || strings.Trim(s, "0123456789") != "" {
		return 0, "without a valid instance tag i="
	}
	if i, _ = strconv.Atoi(s); i < 1 {
		return 0, "without a valid instance tag i="
	}
	return i, ""
}

// arcSetOf returns what a set's fields say of it, before any verification.
func arcSetOf(i int, s *arcSlot) ARCSet {
	set := ARCSet{Instance: i}
	var tags map[string]string
	switch {
	case len(s.seal) > 0:
		tags = s.seal[0].tags
		set.CV = tags["cv"]
	case len(s.ams) > 0:
		tags = s.ams[0].tags
	}
	set.Domain, set.Selector, set.Algorithm = tags["d"], tags["s"], tags["a"]
	if len(s.aar) > 0 {
		_, rest, _ := bytes.Cut(s.aar[0].field.value(), []byte(";"))
		set.AuthResults = strings.Join(strings.Fields(string(rest)), " ")
	}
	return set
}

// arcTags parses a tag list (RFC 6376 3.2) as dkimTags does, and refuses
// a tag given twice or a tag without "=".
func arcTags(s string) (map[string]string, error) {
	tags := make(map[string]string)
	for t := range strings.SplitSeq(s, ";") {
		k, v, ok := strings.Cut(t, "=")
		k = strings.TrimSpace(k)
		if !ok {
			if k == "" {
				continue // the optional ";" at the end, or an empty spec
			}
			return nil, fmt.Errorf("malformed tag %q", clip(k))
		}
		if _, dup := tags[k]; dup {
			return nil, fmt.Errorf("tag %s= given twice", clip(k))
		}
		tags[k] = withoutFWS(v)
	}
	return tags, nil
}

// withoutFWS returns v without its folding white space, the only white
// space a tag value may have (RFC 6376 3.2: space, tab, CR, LF; not the
// other spaces of Unicode, which strings.Fields would also remove).
func withoutFWS(v string) string {
	if !strings.ContainsAny(v, " \t\r\n") {
		return v
	}
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if c := v[i]; c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			b = append(b, c)
		}
	}
	return string(b)
}

// clip shortens a hostile text quoted in a reason.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// arcNoKey reports whether a failed chain failed for a key the test
// did not register (a temperror), rather than for the sender's fault.
func arcNoKey(r ARCResult) bool {
	if r.Status != ARCFail || r.Instance == 0 || r.Instance > len(r.Sets) {
		return false
	}
	s := r.Sets[r.Instance-1]
	if r.Instance == len(r.Sets) && s.Signature != DKIMPass && s.Signature != "" {
		return s.Signature == DKIMTempError
	}
	return s.Seal == DKIMTempError
}

// checkARC returns the finding of a message's ARC chain that failed, but
// for a key the test did not register, which is no sender's fault (as a
// DKIM temperror is none).
func checkARC(m *Message) []Finding {
	r := m.ARC
	if r.Status != ARCFail || arcNoKey(r) {
		return nil
	}
	if len(r.Sets) == 0 {
		return []Finding{finding(RuleARC, "ARC chain fails: %s", r.Reason)}
	}
	return []Finding{finding(RuleARC, "ARC chain of %s fails: %s", plural(len(r.Sets), "set"), r.Reason)}
}
