package mocksmtp

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// arcMessage is the message the ARC tests seal.
const arcMessage = "From: Shop <shop@example.com>\r\n" +
	"To: list@lists.example.org\r\n" +
	"Subject: Your order\r\n" +
	"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n" +
	"Message-ID: <order-1@example.com>\r\n" +
	"\r\n" +
	"Thanks  for your order.\t \r\n" +
	"Bye.\r\n\r\n"

func arcFindings(m *Message) []string {
	var out []string
	for _, f := range m.Findings {
		if f.Rule == RuleARC {
			out = append(out, f.Text)
		}
	}
	return out
}

func arNote(srv *Server, m *Message) string {
	for _, l := range srv.Session(m.Session.ID).Transcript {
		if strings.HasPrefix(l.Text, "Authentication-Results: ") {
			return l.Text
		}
	}
	return ""
}

func TestARCVerify(t *testing.T) {
	t.Parallel()
	rsaKey := testRSAKey(t)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	keys := []Option{
		WithDKIMKey("lists.example.org", "arc", &rsaKey.PublicKey),
		WithDKIMKey("mx.example.net", "ed", edKey.Public()),
	}
	list := arcSealer{domain: "lists.example.org", selector: "arc", key: rsaKey}
	mx := arcSealer{domain: "mx.example.net", selector: "ed", key: edKey}
	one := list.seal(t, arcMessage, "")
	two := mx.seal(t, one, "")
	set := func(i int, s arcSealer, cv string) ARCSet {
		return ARCSet{Instance: i, Domain: s.domain, Selector: s.selector, Algorithm: s.algorithm(), CV: cv,
			AuthResults: fmt.Sprintf("mx%d.%s; dkim=pass header.d=example.com", i, s.domain), Seal: DKIMPass, Signature: DKIMPass}
	}
	with := func(s ARCSet, edit func(*ARCSet)) ARCSet { edit(&s); return s }
	const (
		bodyChanged = "body hash mismatch: the body changed after sealing"
		sealBroken  = "signature mismatch: an ARC header field of this set or an older one changed after sealing, or the key is not the sealer's"
		headChanged = "signature mismatch: a signed header field changed after sealing, or the key is not the sealer's"
	)
	noKey := arcSealer{domain: "mx.example.net", selector: "unknown", key: edKey}
	wrongKey := arcSealer{domain: "mx.example.net", selector: "ed", key: otherKey}
	simple := arcSealer{domain: "mx.example.net", selector: "ed", key: edKey, canon: "simple/simple"}
	tests := []struct {
		name    string
		raw     string
		want    ARCResult
		finding bool // a RuleARC finding
	}{
		{
			name: "no ARC set",
			raw:  arcMessage,
			want: ARCResult{Status: ARCNone},
		},
		{
			name: "one set, rsa-sha256",
			raw:  one,
			want: ARCResult{Status: ARCPass, Sets: []ARCSet{set(1, list, "none")}},
		},
		{
			name: "two sets, the second ed25519-sha256",
			raw:  two,
			want: ARCResult{Status: ARCPass, Sets: []ARCSet{set(1, list, "none"), set(2, mx, "pass")}},
		},
		{
			name: "the list changed the body, then sealed: only the newest signature counts",
			raw:  mx.seal(t, strings.Replace(one, "Bye.", "Bye.\r\n-- \r\nThe list footer", 1), ""),
			want: ARCResult{Status: ARCPass, Sets: []ARCSet{
				with(set(1, list, "none"), func(s *ARCSet) { s.Signature, s.SignatureReason = DKIMFail, bodyChanged }),
				set(2, mx, "pass"),
			}},
		},
		{
			name: "body changed after the last seal",
			raw:  strings.Replace(two, "Thanks", "Thank you", 1),
			want: ARCResult{Status: ARCFail, Instance: 2, Reason: "set 2: ARC-Message-Signature fail: " + bodyChanged, Sets: []ARCSet{
				with(set(1, list, "none"), func(s *ARCSet) { s.Signature, s.SignatureReason = DKIMFail, bodyChanged }),
				with(set(2, mx, "pass"), func(s *ARCSet) { s.Signature, s.SignatureReason = DKIMFail, bodyChanged }),
			}},
			finding: true,
		},
		{
			name: "only whitespace changed in the body: relaxed",
			raw:  strings.Replace(two, "Thanks  for", "Thanks for", 1) + "\r\n\r\n",
			want: ARCResult{Status: ARCPass, Sets: []ARCSet{set(1, list, "none"), set(2, mx, "pass")}},
		},
		{
			name: "signed header changed after the last seal",
			raw:  strings.Replace(two, "Subject: Your order", "Subject: Your  order!", 1),
			want: ARCResult{Status: ARCFail, Instance: 2, Reason: "set 2: ARC-Message-Signature fail: " + headChanged, Sets: []ARCSet{
				with(set(1, list, "none"), func(s *ARCSet) { s.Signature, s.SignatureReason = DKIMFail, headChanged }),
				with(set(2, mx, "pass"), func(s *ARCSet) { s.Signature, s.SignatureReason = DKIMFail, headChanged }),
			}},
			finding: true,
		},
		{
			name: "an older set's results tampered: the seals over it break",
			raw:  strings.Replace(two, "mx1.lists.example.org; dkim=pass", "mx1.lists.example.org; dkim=fail", 1),
			want: ARCResult{Status: ARCFail, Instance: 2, Reason: "set 2: ARC-Seal fail: " + sealBroken, Sets: []ARCSet{
				with(set(1, list, "none"), func(s *ARCSet) {
					s.Seal, s.SealReason = DKIMFail, sealBroken
					s.AuthResults = "mx1.lists.example.org; dkim=fail header.d=example.com"
				}),
				with(set(2, mx, "pass"), func(s *ARCSet) { s.Seal, s.SealReason = DKIMFail, sealBroken }),
			}},
			finding: true,
		},
		{
			name: "the newest seal's t= tampered",
			raw:  strings.Replace(two, "ARC-Seal: i=2; a=ed25519-sha256; cv=pass; d=mx.example.net; s=ed;\r\n\tt=1700000000", "ARC-Seal: i=2; a=ed25519-sha256; cv=pass; d=mx.example.net; s=ed;\r\n\tt=1700000001", 1),
			want: ARCResult{Status: ARCFail, Instance: 2, Reason: "set 2: ARC-Seal fail: " + sealBroken, Sets: []ARCSet{
				set(1, list, "none"),
				with(set(2, mx, "pass"), func(s *ARCSet) { s.Seal, s.SealReason = DKIMFail, sealBroken }),
			}},
			finding: true,
		},
		{
			name: "sealed by another key",
			raw:  wrongKey.seal(t, one, ""),
			want: ARCResult{Status: ARCFail, Instance: 2, Reason: "set 2: ARC-Message-Signature fail: " + headChanged, Sets: []ARCSet{
				set(1, list, "none"),
				with(set(2, mx, "pass"), func(s *ARCSet) {
					s.Seal, s.SealReason = DKIMFail, sealBroken
					s.Signature, s.SignatureReason = DKIMFail, headChanged
				}),
			}},
			finding: true,
		},
		{
			name: "key not registered: no finding, the test's keys lack it",
			raw:  noKey.seal(t, one, ""),
			want: ARCResult{Status: ARCFail, Instance: 2, Reason: "set 2: ARC-Message-Signature temperror: no key registered for unknown._domainkey.mx.example.net (WithDKIMKey)", Sets: []ARCSet{
				set(1, list, "none"),
				with(set(2, noKey, "pass"), func(s *ARCSet) {
					s.Seal, s.SealReason = DKIMTempError, "no key registered for unknown._domainkey.mx.example.net (WithDKIMKey)"
					s.Signature, s.SignatureReason = s.Seal, s.SealReason
				}),
			}},
		},
		{
			name: "simple/simple message signature",
			raw:  simple.seal(t, one, ""),
			want: ARCResult{Status: ARCPass, Sets: []ARCSet{set(1, list, "none"), set(2, mx, "pass")}},
		},
		{
			name: "simple/simple: whitespace changed in a signed field",
			raw:  strings.Replace(simple.seal(t, one, ""), "Subject: Your order", "Subject:  Your order", 1),
			want: ARCResult{Status: ARCFail, Instance: 2, Reason: "set 2: ARC-Message-Signature fail: " + headChanged, Sets: []ARCSet{
				set(1, list, "none"), // relaxed
				with(set(2, mx, "pass"), func(s *ARCSet) { s.Signature, s.SignatureReason = DKIMFail, headChanged }),
			}},
			finding: true,
		},
		{
			name: "the first set says cv=pass",
			raw:  list.seal(t, arcMessage, "pass"),
			want: ARCResult{Status: ARCFail, Instance: 1, Reason: "set 1: cv=pass, want cv=none (RFC 8617 5.2)", Sets: []ARCSet{
				with(set(1, list, "pass"), func(s *ARCSet) { s.Seal, s.Signature = "", "" }),
			}},
			finding: true,
		},
		{
			name: "the second set says cv=none",
			raw:  mx.seal(t, one, "none"),
			want: ARCResult{Status: ARCFail, Instance: 2, Reason: "set 2: cv=none, want cv=pass (RFC 8617 5.2)", Sets: []ARCSet{
				with(set(1, list, "none"), func(s *ARCSet) { s.Seal, s.Signature = "", "" }),
				with(set(2, mx, "none"), func(s *ARCSet) { s.Seal, s.Signature = "", "" }),
			}},
			finding: true,
		},
		{
			name: "the newest set says cv=fail",
			raw:  mx.seal(t, one, "fail"),
			want: ARCResult{Status: ARCFail, Instance: 2, Reason: "set 2: cv=fail: its sealer found the chain broken", Sets: []ARCSet{
				with(set(1, list, "none"), func(s *ARCSet) { s.Seal, s.Signature = "", "" }),
				with(set(2, mx, "fail"), func(s *ARCSet) { s.Seal, s.Signature = "", "" }),
			}},
			finding: true,
		},
		{
			name: "set 1 missing",
			raw:  dropFields(two, "i=1;"),
			want: ARCResult{Status: ARCFail, Instance: 1, Reason: "set 1 is missing: the instances must run from 1 to 2", Sets: []ARCSet{
				{Instance: 1},
				with(set(2, mx, "pass"), func(s *ARCSet) { s.Seal, s.Signature = "", "" }),
			}},
			finding: true,
		},
		{
			name: "set 2 without its seal",
			raw:  dropFields(two, "ARC-Seal: i=2;"),
			want: ARCResult{Status: ARCFail, Instance: 2, Reason: "set 2: no ARC-Seal field", Sets: []ARCSet{
				with(set(1, list, "none"), func(s *ARCSet) { s.Seal, s.Signature = "", "" }),
				with(set(2, mx, ""), func(s *ARCSet) { s.Seal, s.Signature = "", "" }),
			}},
			finding: true,
		},
		{
			name: "a duplicate seal",
			raw:  "ARC-Seal: i=1; a=rsa-sha256; cv=none; d=x.example; s=s; b=AAAA\r\n" + one,
			want: ARCResult{Status: ARCFail, Instance: 1, Reason: "set 1: 2 ARC-Seal fields, want one", Sets: []ARCSet{
				{Instance: 1, Domain: "x.example", Selector: "s", Algorithm: "rsa-sha256", CV: "none", AuthResults: "mx1.lists.example.org; dkim=pass header.d=example.com"},
			}},
			finding: true,
		},
		{
			name:    "an instance above 50",
			raw:     strings.Replace(one, "ARC-Seal: i=1;", "ARC-Seal: i=51;", 1),
			want:    ARCResult{Status: ARCFail, Reason: "an instance i=51, over 50, the most a chain may have (RFC 8617 4.2.1)"}, // Instance 0: no set to index
			finding: true,
		},
		{
			name: "an ARC field without an instance",
			raw:  "ARC-Authentication-Results: mx.example; dkim=pass\r\n" + one,
			want: ARCResult{Status: ARCFail, Reason: "an ARC-Authentication-Results field without a valid instance tag i=", Sets: []ARCSet{
				with(set(1, list, "none"), func(s *ARCSet) { s.Seal, s.Signature = "", "" }),
			}},
			finding: true,
		},
		{
			name: "a tag given twice",
			raw:  "ARC-Seal: i=1; cv=none; a=rsa-sha256; d=lists.example.org; s=arc; b=AAAA; b=BBBB\r\n" + dropFields(one, "ARC-Seal: i=1;"),
			want: ARCResult{Status: ARCFail, Reason: "an ARC-Seal field with malformed tags: tag b= given twice", Sets: []ARCSet{
				with(set(1, list, "none"), func(s *ARCSet) { s.Seal, s.Signature, s.CV = "", "", "" }), // the seal is left out
			}},
			finding: true,
		},
		{
			name: "a malformed seal",
			raw:  "ARC-Seal: i=1; cv=none; a=rsa-sha1; d=lists.example.org; s=arc; b=AAAA\r\n" + dropFields(one, "ARC-Seal: i=1;"),
			want: ARCResult{Status: ARCFail, Instance: 1, Reason: "set 1: ARC-Seal permerror: hash algorithm too weak: sha1", Sets: []ARCSet{
				with(set(1, list, "none"), func(s *ARCSet) {
					s.Algorithm, s.Seal, s.SealReason = "rsa-sha1", DKIMPermError, "hash algorithm too weak: sha1"
				}),
			}},
			finding: true,
		},
		{
			name: "a seal with h=",
			raw:  strings.Replace(one, "ARC-Seal: i=1;", "ARC-Seal: h=from; i=1;", 1),
			want: ARCResult{Status: ARCFail, Instance: 1, Reason: "set 1: ARC-Seal permerror: h= in an ARC-Seal, which signs the ARC sets only (RFC 8617 4.1.3)", Sets: []ARCSet{
				with(set(1, list, "none"), func(s *ARCSet) {
					s.Seal, s.SealReason = DKIMPermError, "h= in an ARC-Seal, which signs the ARC sets only (RFC 8617 4.1.3)"
				}),
			}},
			finding: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := Start(t, keys...)
			m := deliver(t, srv, tt.raw)
			if diff := cmp.Diff(tt.want, m.ARC); diff != "" {
				t.Errorf("Message.ARC (-want +got):\n%s\n%s", diff, m.Raw)
			}
			note := arNote(srv, m)
			switch {
			case tt.want.Status == ARCNone && note != "":
				t.Errorf("note %q for a message without ARC", note)
			case tt.want.Status != ARCNone && note != "Authentication-Results: localhost; "+tt.want.String():
				t.Errorf("note %q, want %q", note, "Authentication-Results: localhost; "+tt.want.String())
			}
			var want []string
			switch {
			case tt.finding && len(tt.want.Sets) == 0:
				want = []string{"ARC chain fails: " + tt.want.Reason}
			case tt.finding:
				want = []string{fmt.Sprintf("ARC chain of %s fails: %s", plural(len(tt.want.Sets), "set"), tt.want.Reason)}
			}
			if diff := cmp.Diff(want, arcFindings(m)); diff != "" {
				t.Errorf("arc findings (-want +got):\n%s", diff)
			}
		})
	}
}

// With DKIM and ARC, the note has both methods; WithRejectNonconforming
// refuses a failing chain with 550 5.7.29 (RFC 8617's code) before any
// 250, and keeps nothing.
func TestARCWithDKIMAndRejection(t *testing.T) {
	t.Parallel()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	s := arcSealer{domain: "example.com", selector: "ed", key: key}
	opts := []Option{WithDKIMKey("example.com", "ed", key.Public())}
	signed := sign(t, arcMessage, "example.com", "ed", key, nil)
	sealed := s.seal(t, signed, "")

	t.Run("note", func(t *testing.T) {
		t.Parallel()
		srv := Start(t, opts...)
		m := deliver(t, srv, sealed)
		want := "Authentication-Results: localhost; dkim=pass header.d=example.com header.s=ed header.a=ed25519-sha256; arc=pass"
		if got := arNote(srv, m); got != want {
			t.Errorf("note\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("WithRejectNonconforming", func(t *testing.T) {
		t.Parallel()
		srv := Start(t, append(opts, WithRejectNonconforming())...)
		err := smtp.SendMail(srv.Addr(), nil, "shop@example.com", []string{"bob@example.org"}, []byte(s.seal(t, arcMessage, "fail")))
		var te *textproto.Error
		if !errors.As(err, &te) || te.Code != 550 || !strings.HasPrefix(te.Msg, "5.7.29 ARC chain of 1 set fails: set 1: cv=fail") {
			t.Fatalf("SendMail: %v, want 550 5.7.29", err)
		}
		// A chain that passes is accepted.
		if err := smtp.SendMail(srv.Addr(), nil, "shop@example.com", []string{"bob@example.org"}, []byte(sealed)); err != nil {
			t.Fatal(err)
		}
		srv.WaitForSessions(t, 2)
		if _, n := srv.Count(); n != 1 {
			t.Errorf("%d messages kept, want 1", n)
		}
		if m := srv.LastMessages(1)[0]; m.ARC.Status != ARCPass {
			t.Errorf("kept %v", m.ARC)
		}
	})
}

// TestARCLimits sends chains of 49, 50, 51 and 100 sets, each sealed for
// real: up to 50 they are validated, beyond they fail unverified, as
// does a set repeated to more than 150 ARC header fields.
func TestARCLimits(t *testing.T) {
	t.Parallel()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	s := arcSealer{domain: "example.com", selector: "ed", key: key}
	srv := Start(t, WithDKIMKey("example.com", "ed", key.Public()))
	raw := arcMessage
	chains := map[int]string{}
	for i := 1; i <= 2*maxARCSets; i++ {
		raw = s.seal(t, raw, "")
		chains[i] = raw
	}
	for _, tt := range []struct {
		sets   int
		status ARCStatus
		reason string
	}{
		{maxARCSets - 1, ARCPass, ""},
		{maxARCSets, ARCPass, ""},
		{maxARCSets + 1, ARCFail, "an instance i=51, over 50, the most a chain may have (RFC 8617 4.2.1)"},
		{2 * maxARCSets, ARCFail, "an instance i=100, over 50, the most a chain may have (RFC 8617 4.2.1)"},
		{-1, ARCFail, "more than 150 ARC header fields: at most 50 sets are validated (RFC 8617 5.2)"},
	} {
		t.Run(fmt.Sprint(tt.sets), func(t *testing.T) {
			raw := chains[tt.sets]
			if tt.sets == -1 { // set 1, 51 times: 153 fields
				head, _, _ := strings.Cut(chains[1], "From: Shop")
				raw = strings.Repeat(head, maxARCSets+1) + arcMessage
			}
			m := deliver(t, srv, raw)
			if m.ARC.Status != tt.status || m.ARC.Reason != tt.reason {
				t.Errorf("ARC %s %q, want %s %q", m.ARC.Status, m.ARC.Reason, tt.status, tt.reason)
			}
			if tt.status == ARCPass && len(m.ARC.Sets) != tt.sets {
				t.Errorf("%d sets, want %d", len(m.ARC.Sets), tt.sets)
			}
		})
	}
}

// padAAR returns raw, sealed once, its ARC-Authentication-Results padded
// with folded comment lines so that the chain's work (arc.go's cost: the
// set's three fields, its message signature and the fields it picks)
// is exactly cost octets.
func padAAR(t *testing.T, s arcSealer, cost int) string {
	t.Helper()
	// The padding is in the results, so it is sealed: a pass below the
	// budget proves the sealer and the verifier agree on it.
	sealWith := func(pad string) string {
		return s.sealWith(t, arcMessage, "mx1.example.com; none"+pad)
	}
	work := func(raw string) int {
		fields, _ := testFields(raw)
		n := 0
		for _, f := range fields {
			size := len(f[0]) + 1 + len(f[1]) + 2
			switch strings.ToLower(f[0]) {
			case "arc-authentication-results", "arc-seal":
				n += size
			case "arc-message-signature":
				n += 2 * size
			case "from", "to", "subject", "date":
				n += size
			}
		}
		return n
	}
	base := work(sealWith(""))
	if cost-base < 4 {
		t.Fatalf("cost %d below the unpadded %d", cost, base)
	}
	raw := sealWith(fold(cost - base))
	if got := work(raw); got != cost {
		t.Fatalf("padded to %d, want %d", got, cost)
	}
	return raw
}

// TestARCWorkBudget: a chain whose seals and signatures hash up to
// maxARCHash octets is verified; one over it fails unverified, saying
// why; and 20 sets of 200 KiB results each (the seals would hash 42 MB)
// too, at once.
func TestARCWorkBudget(t *testing.T) {
	t.Parallel()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	s := arcSealer{domain: "example.com", selector: "ed", key: key}
	srv := Start(t, WithDKIMKey("example.com", "ed", key.Public()), WithMaxMessageBytes(24<<20))
	for _, tt := range []struct {
		cost int
		pass bool
	}{{maxARCHash - 1, true}, {maxARCHash, true}, {maxARCHash + 1, false}} {
		t.Run(fmt.Sprint(tt.cost), func(t *testing.T) {
			m := deliver(t, srv, padAAR(t, s, tt.cost))
			want := fmt.Sprintf("not verified: hashing these 1 sets (%d octets of header fields) costs more than a verifier should spend", tt.cost)
			if tt.pass && m.ARC.Status != ARCPass || !tt.pass && (m.ARC.Status != ARCFail || m.ARC.Reason != want) {
				t.Errorf("ARC %s %q, want pass %v", m.ARC.Status, m.ARC.Reason, tt.pass)
			}
		})
	}
	t.Run("20 sets of 200 KiB", func(t *testing.T) {
		raw := arcMessage
		pad := fold(200 << 10)
		for range 20 {
			raw = s.sealWith(t, raw, "mx.example.com; none"+pad)
		}
		m := deliver(t, srv, raw)
		if m.ARC.Status != ARCFail || !strings.HasPrefix(m.ARC.Reason, "not verified: hashing these 20 sets") {
			t.Errorf("ARC %s %q, want a fail unverified", m.ARC.Status, m.ARC.Reason)
		}
	})
}

// TestARCHostileFields sends ARC fields of N-1 to 1 MiB+1 octets of
// garbage tags: never a panic or a hang, a failed chain that says why.
func TestARCHostileFields(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithMaxMessageBytes(4<<20))
	for _, size := range []int{997, 998, 999, 1996, 1<<20 + 1} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			const prefix = "ARC-Seal: i=1; cv=none; a=rsa-sha256; d=example.com; s=s; b="
			field := prefix + fold(size-len(prefix))
			raw := field + "\r\nARC-Message-Signature: i=1; h=" + strings.Repeat("from:\r\n ", 1000) + "\r\nARC-Authentication-Results: i=1; x\r\n" + arcMessage
			m := deliver(t, srv, raw)
			if m.ARC.Status != ARCFail || m.ARC.Reason == "" || len(m.ARC.Sets) != 1 {
				t.Errorf("ARC %v, want a fail with a reason", m.ARC)
			}
		})
	}
}

// FuzzARC validates arbitrary messages against registered keys: no
// panic, a status, a reason exactly when it fails, at most 50 sets.
func FuzzARC(f *testing.F) {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	rec, err := dkimRecord(key)
	if err != nil {
		f.Fatal(err)
	}
	keys := map[string]string{"s._domainkey.example.com": rec}
	s := arcSealer{domain: "example.com", selector: "s", key: key}
	one := s.seal(f, arcMessage, "")
	f.Add([]byte(one))
	f.Add([]byte(s.seal(f, one, "")))
	f.Add([]byte(strings.Replace(one, "Bye.", "Bye!", 1)))
	f.Add([]byte("ARC-Seal: i=1; cv=none; a=ed25519-sha256; d=example.com; s=s; b=\r\nARC-Message-Signature: i=1; a=ed25519-sha256; d=example.com; s=s; h=from; bh=; b=\r\nARC-Authentication-Results: i=1; x\r\n\r\n"))
	f.Add([]byte("arc-seal: i=99\r\n\r\n"))
	f.Add([]byte("ARC-Message-Signature: i=1; b=a; b=b\nFrom: x\n\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := &Message{Raw: raw}
		verifyARC(m, keys)
		r := m.ARC
		if r.Status == "" || (r.Status == ARCFail) != (r.Reason != "") || len(r.Sets) > maxARCSets {
			t.Errorf("result %+v", r)
		}
		if r.Status == ARCPass && slices.ContainsFunc(r.Sets, func(s ARCSet) bool { return s.Seal != DKIMPass }) {
			t.Errorf("a pass with a seal that did not: %+v", r)
		}
		_ = authenticationResults("localhost", m)
		_ = checkARC(m)
	})
}

// An unsigned message costs its arrival no allocation for ARC.
func TestVerifyARCUnsignedAllocatesNothing(t *testing.T) {
	m := &Message{Raw: unsignedMessage()}
	keys := map[string]string{"mail._domainkey.example.com": "v=DKIM1; k=ed25519; p=x"}
	if n := testing.AllocsPerRun(100, func() { verifyARC(m, keys) }); n != 0 || m.ARC.Status != ARCNone {
		t.Errorf("verifyARC of a message without ARC: %v allocations, ARC %v; want 0, none", n, m.ARC)
	}
}

// The fast check that spares messages without ARC the scan finds an ARC
// field exactly when the scan does.
func TestHasARCAgreesWithFields(t *testing.T) {
	for _, head := range []string{
		"",
		"From: a@example.com\r\n\r\n",
		"ARC-Seal: i=1\r\nFrom: a@example.com\r\n\r\n",
		"arc-message-signature : i=1\r\n\r\n",
		"Arc-Authentication-Results\t: i=1\r\n\r\n",
		"ARC-Sealed: i=1\r\n\r\n",
		"X-ARC-Seal: i=1\r\n\r\n",
		"From: a\r\n ARC-Seal: i=1 (a continuation)\r\n\r\n",
		"From: a\r\n\r\nARC-Seal: i=1 (in the body)\r\n",
		"ARC-Seal",
		"ARC-Seal:",
	} {
		h, _, _ := splitHeader([]byte(head))
		found := slices.ContainsFunc(headerFields(h), func(f headerField) bool { return arcKind([]byte(f.name)) != "" })
		if got := hasARC(h); got != found {
			t.Errorf("hasARC(%q) = %v, headerFields finds %v", head, got, found)
		}
	}
}

// The message of ExampleARCResult (testdata/arc/list.eml): a shop's mail
// that a mailing list re-sent with a footer and sealed with the examples'
// key. Ed25519 signatures are deterministic, so the file is what the
// sealer makes; go test -update rewrites it.
func TestARCExampleMessage(t *testing.T) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{42}, ed25519.SeedSize)) // example_dkim_test.go's exampleKey
	list := arcSealer{domain: "lists.example.org", selector: "arc", key: key}
	msg := "From: Shop <shop@example.com>\r\nTo: fans@lists.example.org\r\nSubject: New in store\r\n" +
		"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <news-1@example.com>\r\n\r\n" +
		"Our spring collection is here.\r\n-- \r\nYou are on the fans list: lists.example.org/fans\r\n"
	want := list.sealWith(t, msg, "lists.example.org; dkim=pass header.d=example.com")
	path := filepath.Join("testdata", "arc", "list.eml")
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s is not what the sealer makes (go test -run TestARCExampleMessage -update):\n%s", path, cmp.Diff(want, string(got)))
	}
}

// BenchmarkVerifyARCUnsigned is what ARC costs each message without an
// ARC set on arrival, beside BenchmarkVerifyDKIMUnsigned.
func BenchmarkVerifyARCUnsigned(b *testing.B) {
	m := &Message{Raw: unsignedMessage()}
	b.ReportAllocs()
	for b.Loop() {
		verifyARC(m, nil)
	}
}

// BenchmarkVerifyARCTwoSets validates a chain of two Ed25519 sets: four
// signature verifications and two body hashes of a 4 KiB message.
func BenchmarkVerifyARCTwoSets(b *testing.B) {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	rec, err := dkimRecord(key)
	if err != nil {
		b.Fatal(err)
	}
	keys := map[string]string{"s._domainkey.example.com": rec}
	s := arcSealer{domain: "example.com", selector: "s", key: key}
	m := &Message{Raw: []byte(s.seal(b, s.seal(b, string(unsignedMessage()), ""), ""))}
	verifyARC(m, keys)
	if m.ARC.Status != ARCPass {
		b.Fatalf("ARC %v", m.ARC)
	}
	b.ReportAllocs()
	for b.Loop() {
		verifyARC(m, keys)
	}
}

// TestARCDKIMPyFixture validates a chain sealed by a third party, so that
// the sealer of these tests is not the verifier's only witness even where
// python3-dkim is missing (interop's TestDKIMPyARC seals live):
// testdata/arc/dkimpy.eml was sealed by dkimpy 1.1.4's arc_sign (Debian's
// python3-dkim), two hops (example.net s=mx, then lists.example.org
// s=arc2026, whose h= signs From twice: over-signing), t=1700000000, each
// hop with the Authentication-Results an MTA writes, checked by dkimpy's
// arc_verify; the key's private half was thrown away, its public half is
// testdata/arc/dkimpy.pub.pem.
func TestARCDKIMPyFixture(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("testdata", "arc", "dkimpy.eml"))
	if err != nil {
		t.Fatal(err)
	}
	pemData, err := os.ReadFile(filepath.Join("testdata", "arc", "dkimpy.pub.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemData)
	if block == nil {
		t.Fatal("dkimpy.pub.pem: no PEM block")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	srv := Start(t, WithDKIMKey("example.net", "mx", pub), WithDKIMKey("lists.example.org", "arc2026", pub))
	for _, tt := range []struct {
		name   string
		raw    string
		status ARCStatus
		reason string
	}{
		{"as sealed", string(raw), ARCPass, ""},
		{"body changed", strings.Replace(string(raw), "two hops", "three hops", 1), ARCFail,
			"set 2: ARC-Message-Signature fail: body hash mismatch: the body changed after sealing"},
		{"the first hop's results changed", strings.Replace(string(raw), "i=1; mx.example.net; spf=pass", "i=1; mx.example.net; spf=fail", 1), ARCFail,
			"set 2: ARC-Seal fail: signature mismatch: an ARC header field of this set or an older one changed after sealing, or the key is not the sealer's"},
		{"a signed header changed", strings.Replace(string(raw), "Subject: Sealed by dkimpy", "Subject: Sealed by someone", 1), ARCFail,
			"set 2: ARC-Message-Signature fail: signature mismatch: a signed header field changed after sealing, or the key is not the sealer's"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.raw == string(raw) && tt.name != "as sealed" {
				t.Fatal("the edit changed nothing")
			}
			m := deliver(t, srv, tt.raw)
			if m.ARC.Status != tt.status || m.ARC.Reason != tt.reason || len(m.ARC.Sets) != 2 {
				t.Errorf("ARC %s %q with %d sets, want %s %q with 2", m.ARC.Status, m.ARC.Reason, len(m.ARC.Sets), tt.status, tt.reason)
			}
		})
	}
}

// TestWantARC compares a message's ARC status, and the reason a chain
// failed; a failed expectation's diff says why.
func TestWantARC(t *testing.T) {
	t.Parallel()
	sealed, err := os.ReadFile(filepath.Join("testdata", "arc", "list.eml"))
	if err != nil {
		t.Fatal(err)
	}
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{42}, ed25519.SeedSize)) // the key of list.eml
	srv := Start(t, WithDKIMKey("lists.example.org", "arc", key.Public()))
	good := deliver(t, srv, string(sealed))
	tampered := deliver(t, srv, strings.Replace(string(sealed), "spring", "summer", 1))
	unsealed := deliver(t, srv, arcMessage)
	for _, tt := range []struct {
		name string
		want Want
		// Which of good, tampered, unsealed match.
		good, tampered, unsealed bool
	}{
		{"pass", Want{ARC: ARCPass}, true, false, false},
		{"fail", Want{ARC: ARCFail}, false, true, false},
		{"none", Want{ARC: ARCNone}, false, false, true},
		{"fail and why", Want{ARC: ARCFail, ARCReason: "body hash mismatch"}, false, true, false},
		{"why alone wants a failure", Want{ARCReason: "set 1"}, false, true, false},
		{"another reason", Want{ARCReason: "ARC-Seal fail"}, false, false, false},
	} {
		wantMatches(t, tt.name, tt.want, []*Message{good, tampered, unsealed}, []bool{tt.good, tt.tampered, tt.unsealed},
			func(m *Message) any { return m.ARC })
	}

	// The diff of a failed expectation shows the status and why it
	// failed; a field that matches stays out of it.
	mt, err := newMatcher(Want{ARC: ARCPass, Subject: "New in store"})
	if err != nil {
		t.Fatal(err)
	}
	diff := cmp.Diff(mt.want, mt.project(tampered), unset)
	words := diffWords(diff)
	for _, s := range []string{`- ARC: "pass"`, `+ ARC: "fail"`, `+ ARCReason: "set 1: ARC-Message-Signature fail: body hash mismatch`} {
		if !strings.Contains(words, s) {
			t.Errorf("diff lacks %q:\n%s", s, diff)
		}
	}
	if strings.Contains(words, "Subject") {
		t.Errorf("diff shows the subject, which matches:\n%s", diff)
	}
	for _, status := range []ARCStatus{ARCPass, ARCNone} {
		if _, err := (Want{ARC: status, ARCReason: "body"}).Match(nil); err == nil || err.Error() != `mocksmtp: Want.ARCReason: only a failed chain has a reason (ARC is "`+string(status)+`")` {
			t.Errorf("Want{ARC: %q, ARCReason: \"body\"}: %v, want an error: it matches no message", status, err)
		}
	}
	if _, err := (Want{ARC: "passed"}).Match(nil); err == nil || err.Error() != `mocksmtp: Want.ARC: unknown status "passed": want "pass", "fail" or "none"` {
		t.Errorf("Want{ARC: \"passed\"}: %v, want an error naming the statuses", err)
	}
	for _, tt := range []struct {
		want Want
		text string
	}{
		{Want{ARC: ARCPass}, `Want{ARC: "pass"}`},
		{Want{ARC: ARCFail, ARCReason: "body"}, `Want{ARC: "fail", ARCReason: "body"}`},
		{Want{ARCReason: "body"}, `Want{ARC: "fail", ARCReason: "body"}`},
	} {
		if s := tt.want.String(); s != tt.text {
			t.Errorf("Want.String() = %s, want %s", s, tt.text)
		}
	}
}
