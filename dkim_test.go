package mocksmtp

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/google/go-cmp/cmp"
)

// The keys of the DKIM tests: one RSA key for the whole test binary, as
// generating one takes a while; Ed25519 keys are cheap.
var (
	rsaKeyOnce sync.Once
	rsaKey     *rsa.PrivateKey
)

func testRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	rsaKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		rsaKey = k
	})
	return rsaKey
}

// dkimMessage is the message the DKIM tests sign.
const dkimMessage = "From: Shop <shop@example.com>\r\n" +
	"To: bob@example.org\r\n" +
	"Subject: Your order\r\n" +
	"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n" +
	"Message-ID: <order-1@example.com>\r\n" +
	"\r\n" +
	"Thanks for your order.\r\n" +
	"Bye.\r\n"

// sign returns msg signed by domain's selector with key.
func sign(t testing.TB, msg string, domain, selector string, key crypto.Signer, edit func(*dkim.SignOptions)) string {
	t.Helper()
	opts := &dkim.SignOptions{
		Domain:                 domain,
		Selector:               selector,
		Signer:                 key,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             []string{"From", "To", "Subject", "Date", "Message-ID"},
	}
	if edit != nil {
		edit(opts)
	}
	var b bytes.Buffer
	if err := dkim.Sign(&b, strings.NewReader(msg), opts); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// deliver sends raw to srv and returns the message as recorded. Tests
// that share a server call it one at a time.
func deliver(t *testing.T, srv *Server, raw string) *Message {
	t.Helper()
	_, before := srv.Count()
	if err := smtp.SendMail(srv.Addr(), nil, "shop@example.com", []string{"bob@example.org"}, []byte(raw)); err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	srv.WaitUntil(t, "the message", func() bool { _, n := srv.Count(); return n > before })
	return srv.LastMessages(1)[0]
}

func TestDKIMVerify(t *testing.T) {
	t.Parallel()
	rsaKey := testRSAKey(t)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	keys := []Option{
		WithDKIMKey("example.com", "rsa2048", &rsaKey.PublicKey),
		WithDKIMKey("example.com", "ed", edKey.Public()),
		WithDKIMKey("Example.NET", "Mixed", edKey), // a private key: its public half
	}
	headerOnly, _, _ := strings.Cut(dkimMessage, "\r\n\r\n")
	headerOnly += "\r\n\r\n" // signed with an empty body, sent without the empty line
	signedRSA := sign(t, dkimMessage, "example.com", "rsa2048", rsaKey, nil)
	signedEd := sign(t, dkimMessage, "example.com", "ed", edKey, nil)
	headerKeys := []string{"From", "To", "Subject", "Date", "Message-ID"}
	pass := func(selector, algo string) DKIMResult {
		return DKIMResult{Status: DKIMPass, Domain: "example.com", Selector: selector, Identifier: "@example.com", Algorithm: algo, HeaderKeys: headerKeys}
	}
	failed := func(r DKIMResult, status DKIMStatus, reason string) DKIMResult {
		r.Status, r.Reason = status, reason
		return r
	}
	const (
		bodyChanged   = "body hash mismatch: the body changed after signing"
		headerChanged = "signature mismatch: a signed header field changed after signing, or the key is not the signer's"
	)
	tests := []struct {
		name string
		raw  string
		want []DKIMResult
		ar   string // the Authentication-Results note, after "Authentication-Results: localhost; "
	}{
		{
			name: "rsa-sha256 relaxed",
			raw:  signedRSA,
			want: []DKIMResult{pass("rsa2048", "rsa-sha256")},
			ar:   "dkim=pass header.d=example.com header.s=rsa2048 header.a=rsa-sha256",
		},
		{
			name: "ed25519-sha256, simple",
			raw: sign(t, dkimMessage, "example.com", "ed", edKey, func(o *dkim.SignOptions) {
				o.HeaderCanonicalization, o.BodyCanonicalization = dkim.CanonicalizationSimple, dkim.CanonicalizationSimple
			}),
			want: []DKIMResult{pass("ed", "ed25519-sha256")},
			ar:   "dkim=pass header.d=example.com header.s=ed header.a=ed25519-sha256",
		},
		{
			name: "domain and selector in any case, an identifier",
			raw: sign(t, dkimMessage, "example.net", "mixed", edKey, func(o *dkim.SignOptions) {
				o.Identifier = "shop@example.net"
			}),
			want: []DKIMResult{{Status: DKIMPass, Domain: "example.net", Selector: "mixed", Identifier: "shop@example.net", Algorithm: "ed25519-sha256", HeaderKeys: headerKeys}},
			ar:   "dkim=pass header.d=example.net header.s=mixed header.i=shop@example.net header.a=ed25519-sha256",
		},
		{
			name: "body changed after signing",
			raw:  strings.Replace(signedRSA, "Thanks for", "Thanks a lot for", 1),
			want: []DKIMResult{failed(pass("rsa2048", "rsa-sha256"), DKIMFail, bodyChanged)},
			ar:   "dkim=fail (" + bodyChanged + ") header.d=example.com header.s=rsa2048 header.a=rsa-sha256",
		},
		{
			name: "signed header changed after signing",
			raw:  strings.Replace(signedEd, "Subject: Your order", "Subject: Your 2nd order", 1),
			want: []DKIMResult{failed(pass("ed", "ed25519-sha256"), DKIMFail, headerChanged)},
		},
		{
			name: "unsigned header added: still valid",
			raw:  "X-Mailer: added on the way\r\n" + signedEd,
			want: []DKIMResult{pass("ed", "ed25519-sha256")},
		},
		{
			name: "signed by another key",
			raw:  sign(t, dkimMessage, "example.com", "ed", otherKey, nil),
			want: []DKIMResult{failed(pass("ed", "ed25519-sha256"), DKIMFail, headerChanged)},
		},
		{
			name: "key not registered",
			raw:  sign(t, dkimMessage, "example.com", "unknown", edKey, nil),
			want: []DKIMResult{failed(pass("unknown", "ed25519-sha256"), DKIMTempError, "no key registered for unknown._domainkey.example.com (WithDKIMKey)")},
			ar:   "dkim=temperror (no key registered for unknown._domainkey.example.com [WithDKIMKey]) header.d=example.com header.s=unknown header.a=ed25519-sha256",
		},
		{
			name: "expired",
			raw: sign(t, dkimMessage, "example.com", "ed", edKey, func(o *dkim.SignOptions) {
				o.Expiration = time.Unix(1700000000, 0)
			}),
			want: []DKIMResult{failed(pass("ed", "ed25519-sha256"), DKIMPermError, "signature expired at 2023-11-14T22:13:20Z (x=1700000000)")},
		},
		{
			name: "two signatures, in order: one fails",
			raw:  strings.Replace(sign(t, signedEd, "example.com", "rsa2048", rsaKey, func(o *dkim.SignOptions) { o.HeaderKeys = []string{"From", "To"} }), "Thanks for", "Thanks a lot for", 1),
			want: []DKIMResult{
				{Status: DKIMFail, Reason: bodyChanged, Domain: "example.com", Selector: "rsa2048", Identifier: "@example.com", Algorithm: "rsa-sha256", HeaderKeys: []string{"From", "To"}},
				failed(pass("ed", "ed25519-sha256"), DKIMFail, bodyChanged),
			},
		},
		{
			name: "h= without From",
			raw:  "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=rsa2048; h=to:subject; bh=AAAA; b=AAAA\r\n" + dkimMessage,
			want: []DKIMResult{{Status: DKIMPermError, Reason: "the From header field is not signed: h= lacks From (RFC 6376 5.4)", Domain: "example.com", Selector: "rsa2048", Identifier: "@example.com", Algorithm: "rsa-sha256", HeaderKeys: []string{"to", "subject"}}},
		},
		{
			name: "l= body length",
			raw:  "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=rsa2048; l=10;\r\n h=from:to; bh=AAAA; b=AAAA\r\n" + dkimMessage,
			want: []DKIMResult{{Status: DKIMFail, Reason: "l= body length tag: what follows that many octets of the body is not signed (RFC 6376 8.2)", Domain: "example.com", Selector: "rsa2048", Identifier: "@example.com", Algorithm: "rsa-sha256", HeaderKeys: []string{"from", "to"}}},
		},
		{
			name: "rsa-sha1",
			raw:  "DKIM-Signature: v=1; a=rsa-sha1; d=example.com; s=rsa2048; h=from:to; bh=AAAA; b=AAAA\r\n" + dkimMessage,
			want: []DKIMResult{{Status: DKIMPermError, Reason: "hash algorithm too weak: sha1", Domain: "example.com", Selector: "rsa2048", Identifier: "@example.com", Algorithm: "rsa-sha1", HeaderKeys: []string{"from", "to"}}},
		},
		{
			name: "malformed: no signature tag",
			raw:  "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=rsa2048; h=from\r\n" + dkimMessage,
			want: []DKIMResult{{Status: DKIMPermError, Reason: "signature missing required tag", Domain: "example.com", Selector: "rsa2048", Identifier: "@example.com", Algorithm: "rsa-sha256", HeaderKeys: []string{"from"}}},
		},
		{
			name: "malformed d=: no key is looked up",
			raw:  "DKIM-Signature: v=1; a=rsa-sha256; d=example..com; s=rsa2048; h=from; bh=AAAA; b=AAAA\r\n" + dkimMessage,
			want: []DKIMResult{{Status: DKIMPermError, Reason: `d= and s= name no key: "rsa2048._domainkey.example..com" is no domain name`, Domain: "example..com", Selector: "rsa2048", Identifier: "@example..com", Algorithm: "rsa-sha256", HeaderKeys: []string{"from"}}},
		},
		{
			name: "malformed s=",
			raw:  "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=a/b; h=from; bh=AAAA; b=AAAA\r\n" + dkimMessage,
			want: []DKIMResult{{Status: DKIMPermError, Reason: `d= and s= name no key: "a/b._domainkey.example.com" is no domain name`, Domain: "example.com", Selector: "a/b", Identifier: "@example.com", Algorithm: "rsa-sha256", HeaderKeys: []string{"from"}}},
		},
		{
			// RFC 5322 2.1: no body, and no empty line to end the header.
			name: "no body, header alone, simple",
			raw: strings.TrimSuffix(sign(t, headerOnly, "example.com", "ed", edKey, func(o *dkim.SignOptions) {
				o.HeaderCanonicalization, o.BodyCanonicalization = dkim.CanonicalizationSimple, dkim.CanonicalizationSimple
			}), "\r\n"),
			want: []DKIMResult{pass("ed", "ed25519-sha256")},
		},
		{
			name: "no body, header alone, relaxed",
			raw:  strings.TrimSuffix(sign(t, headerOnly, "example.com", "rsa2048", rsaKey, nil), "\r\n"),
			want: []DKIMResult{pass("rsa2048", "rsa-sha256")},
		},
		{
			name: "no signature",
			raw:  dkimMessage,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := Start(t, keys...)
			m := deliver(t, srv, tt.raw)
			if diff := cmp.Diff(tt.want, m.DKIM); diff != "" {
				t.Errorf("Message.DKIM (-want +got):\n%s\n%s", diff, m.Raw)
			}
			var ar []string
			for _, l := range srv.Session(m.Session.ID).Transcript {
				if strings.HasPrefix(l.Text, "Authentication-Results: ") {
					ar = append(ar, l.Text)
				}
			}
			if tt.want == nil && ar != nil || tt.want != nil && len(ar) != 1 {
				t.Errorf("Authentication-Results notes %q, want one for signed messages", ar)
			}
			if tt.ar != "" && len(ar) == 1 && ar[0] != "Authentication-Results: localhost; "+tt.ar {
				t.Errorf("note\n%s\nwant\nAuthentication-Results: localhost; %s", ar[0], tt.ar)
			}
			var findings []string
			for _, f := range m.Findings {
				if f.Rule == RuleDKIM {
					findings = append(findings, f.Text)
				}
			}
			var want []string
			for i, r := range tt.want {
				if r.Status == DKIMFail || r.Status == DKIMPermError {
					want = append(want, fmt.Sprintf("DKIM signature %d (d=%s s=%s) %s: %s", i+1, r.Domain, r.Selector, r.Status, r.Reason))
				}
			}
			if diff := cmp.Diff(want, findings); diff != "" {
				t.Errorf("dkim findings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDKIMManySignatures sends a message with thousands of signatures, all
// of registered keys and each as costly to verify as a real one: only the
// first 5 are verified, and the transcript and a finding say so.
func TestDKIMManySignatures(t *testing.T) {
	t.Parallel()
	key := testRSAKey(t)
	srv := Start(t, WithDKIMKey("example.com", "rsa2048", &key.PublicKey))
	signed := sign(t, dkimMessage, "example.com", "rsa2048", key, nil)
	sig, _, _ := strings.Cut(signed, "From: ")
	for _, n := range []int{maxDKIMSignatures - 1, maxDKIMSignatures, maxDKIMSignatures + 1, 2 * maxDKIMSignatures, 5000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			raw := strings.Repeat(sig, n) + dkimMessage
			m := deliver(t, srv, raw)
			verified := min(n, maxDKIMSignatures)
			if len(m.DKIM) != verified {
				t.Fatalf("%d results, want %d", len(m.DKIM), verified)
			}
			for i, r := range m.DKIM {
				if r.Status != DKIMPass {
					t.Errorf("signature %d: %s", i+1, r)
				}
			}
			var note string
			for _, l := range srv.Session(m.Session.ID).Transcript {
				if strings.HasPrefix(l.Text, "Authentication-Results: ") {
					note = l.Text
				}
			}
			var findings []Finding
			for _, f := range m.Findings {
				if f.Rule == RuleDKIM {
					findings = append(findings, f)
				}
			}
			if n <= maxDKIMSignatures {
				if strings.Contains(note, "not verified") || len(findings) > 0 {
					t.Errorf("note %q, findings %v: want none about unverified signatures", note, findings)
				}
				return
			}
			wantNote := fmt.Sprintf(" (%s not verified: at most 5 are)", plural(n-5, "more DKIM signature"))
			if !strings.HasSuffix(note, wantNote) {
				t.Errorf("note %q, want it to end %q", note, wantNote)
			}
			wantFinding := fmt.Sprintf("%d DKIM-Signature fields: only the first 5 were verified", n)
			if len(findings) != 1 || findings[0].Text != wantFinding {
				t.Errorf("findings %v, want %q", findings, wantFinding)
			}
		})
	}
}

func TestWithDKIMKeyErrors(t *testing.T) {
	t.Parallel()
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	for _, tt := range []struct {
		name string
		opt  Option
		want string
	}{
		{"no domain", WithDKIMKey("", "s", ed), "want a domain and a selector"},
		{"no selector", WithDKIMKey("example.com", "", ed), "want a domain and a selector"},
		{"nil key", WithDKIMKey("example.com", "s", nil), "is no DKIM key"},
		{"a string", WithDKIMKey("example.com", "s", "p=MIIB..."), "a string is no DKIM key"},
		// A key whose parse failed unchecked: an error from New, no panic.
		{"nil RSA public key", WithDKIMKey("example.com", "s", (*rsa.PublicKey)(nil)), "a nil *rsa.PublicKey"},
		{"nil RSA private key", WithDKIMKey("example.com", "s", (*rsa.PrivateKey)(nil)), "a nil *rsa.PrivateKey"},
		{"nil Ed25519 private key", WithDKIMKey("example.com", "s", (*ed25519.PrivateKey)(nil)), "a nil *ed25519.PrivateKey"},
		// Not a key every signature would then be a permerror with.
		{"short Ed25519 public key", WithDKIMKey("example.com", "s", ed25519.PublicKey(ed[:5])), "an Ed25519 public key of 5 bytes, want 32"},
		{"Ed25519 private key as public", WithDKIMKey("example.com", "s", ed25519.PublicKey(ed)), "an Ed25519 public key of 64 bytes, want 32"},
		{"short Ed25519 private key", WithDKIMKey("example.com", "s", ed[:5]), "an Ed25519 private key of 5 bytes, want 64"},
		{"empty RSA public key", WithDKIMKey("example.com", "s", &rsa.PublicKey{}), "asn1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := New(tt.opt)
			if err == nil {
				srv.Close()
				t.Fatal("New succeeded, want an error")
			}
			if !strings.HasPrefix(err.Error(), "mocksmtp: WithDKIMKey(") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want %q in it", err, tt.want)
			}
		})
	}
}

// TestWithDKIMKeyTwice: a second, different key for a selector already
// given is an error, not the first key lost without a word (a test of a
// key rotation that reuses the selector); the same key again is no
// conflict.
func TestWithDKIMKeyTwice(t *testing.T) {
	t.Parallel()
	_, ed1, _ := ed25519.GenerateKey(rand.Reader)
	_, ed2, _ := ed25519.GenerateKey(rand.Reader)
	_, err := New(WithDKIMKey("example.com", "s1", ed1), WithDKIMKey("Example.COM.", "S1", ed2))
	if want := `mocksmtp: WithDKIMKey("Example.COM.", "S1", ...): another key for s1._domainkey.example.com is given already`; err == nil || err.Error() != want {
		t.Errorf("two keys for one selector: error %v, want %q", err, want)
	}
	srv, err := New(WithDKIMKey("example.com", "s1", ed1), WithDKIMKey("example.com", "s1", ed1.Public()), WithDKIMKey("example.com", "s2", ed2))
	if err != nil {
		t.Fatalf("one key twice, another for another selector: %v", err)
	}
	srv.Close()
}

// wantMatches checks, in a subtest named name, that want matches each of
// msgs as match says; a failure shows about(m) of the message.
func wantMatches(t *testing.T, name string, want Want, msgs []*Message, match []bool, about func(*Message) any) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		mt, err := newMatcher(want)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range msgs {
			if got := mt.match(m); got != match[i] {
				t.Errorf("match(%s) = %v, want %v (%v)", m, got, match[i], about(m))
			}
		}
	})
}

// diffWords is a go-cmp diff with its spacing made plain (go-cmp puts
// no-break spaces at random), each word one space from the next.
func diffWords(diff string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(diff, "\u00a0", " ")), " ")
}

func TestWantDKIM(t *testing.T) {
	t.Parallel()
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	srv := Start(t, WithDKIMKey("example.com", "ed", ed))
	good := deliver(t, srv, sign(t, dkimMessage, "example.com", "ed", ed, nil))
	tampered := deliver(t, srv, strings.Replace(sign(t, dkimMessage, "example.com", "ed", ed, nil), "Bye.", "Bye!", 1))
	unsigned := deliver(t, srv, dkimMessage)
	for _, tt := range []struct {
		name string
		want Want
		// Which of good, tampered, unsigned match.
		good, tampered, unsigned bool
	}{
		{"a valid signature of example.com", Want{DKIM: []WantDKIM{{Domain: "example.com"}}}, true, false, false},
		{"the domain in any case", Want{DKIM: []WantDKIM{{Domain: "EXAMPLE.com", Selector: "ED"}}}, true, false, false},
		{"another selector", Want{DKIM: []WantDKIM{{Domain: "example.com", Selector: "other"}}}, false, false, false},
		{"a failing one", Want{DKIM: []WantDKIM{{Domain: "example.com", Status: DKIMFail, Reason: "body hash"}}}, false, true, false},
		{"any domain", Want{DKIM: []WantDKIM{{}}}, true, false, false},
		{"two signatures", Want{DKIM: []WantDKIM{{}, {}}}, false, false, false},
	} {
		wantMatches(t, tt.name, tt.want, []*Message{good, tampered, unsigned}, []bool{tt.good, tt.tampered, tt.unsigned},
			func(m *Message) any { return m.DKIM })
	}

	// The diff of a failed expectation shows why the signature failed.
	mt, err := newMatcher(Want{DKIM: []WantDKIM{{Domain: "example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	diff := cmp.Diff(mt.want, mt.project(tampered))
	words := diffWords(diff)
	for _, s := range []string{`- Status: "pass"`, `+ Status: "fail"`, `+ Reason: "body hash mismatch`} {
		if !strings.Contains(words, s) {
			t.Errorf("diff lacks %q:\n%s", s, diff)
		}
	}
	if _, err := (Want{DKIM: []WantDKIM{{}, {Status: "passed"}}}).Match(nil); err == nil || err.Error() != `mocksmtp: Want.DKIM[1].Status: unknown status "passed": want "pass", "fail", "permerror" or "temperror"` {
		t.Errorf("a WantDKIM of status \"passed\": %v, want an error naming the statuses", err)
	}
	for _, status := range []DKIMStatus{"", DKIMPass} {
		// A passing signature has no reason: the Want would match nothing.
		if _, err := (Want{DKIM: []WantDKIM{{Domain: "example.com", Status: status, Reason: "body"}}}).Match(nil); err == nil || err.Error() != `mocksmtp: Want.DKIM[0].Reason: only a signature that did not pass has a reason (Status is "pass"): set Status to "fail", "permerror" or "temperror"` {
			t.Errorf("a WantDKIM of status %q with a reason: %v, want an error", status, err)
		}
	}
	if s := (Want{DKIM: []WantDKIM{{Domain: "example.com"}, {Status: DKIMFail, Reason: "body"}}}).String(); s != `Want{DKIM: [{Domain: "example.com", Status: "pass"}, {Status: "fail", Reason: "body"}]}` {
		t.Errorf("Want.String() = %s", s)
	}
}

// TestDKIMWorkBudgets sends headers that would make go-msgauth work in
// time that grows with a square: one field folded over many lines, and
// h= lists long against a long header. Up to the budgets, the signature
// is verified (here: its key is unknown, a temperror); beyond them, it is
// a permerror that says why, whatever the size, up to 9 MiB of header.
func TestDKIMWorkBudgets(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithMaxMessageBytes(16<<20))
	const sig = "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=unknown; bh=AAAA; b=AAAA; h=from"
	check := func(t *testing.T, raw string, verified bool) {
		t.Helper()
		m := deliver(t, srv, raw)
		if len(m.DKIM) != 1 {
			t.Fatalf("%d DKIM results, want 1", len(m.DKIM))
		}
		r := m.DKIM[0]
		skipped := r.Status == DKIMPermError && strings.HasPrefix(r.Reason, "not verified: ")
		if verified && (skipped || r.Status != DKIMTempError) || !verified && !skipped {
			t.Errorf("result %v, want verified %v", r, verified)
		}
	}

	// Unfolding "X-Fold: a" and n lines " x" copies 9n + 2n(n+1) octets,
	// as go-msgauth appends each line and its CRLF to a string.
	foldCost := func(n int) int { return 9*n + 2*n*(n+1) }
	n := 1
	for foldCost(n+1) <= maxDKIMFoldCopy {
		n++
	}
	folded := func(lines int) string {
		return sig + "\r\nX-Fold: a\r\n" + strings.Repeat(" x\r\n", lines) + dkimMessage
	}
	for _, tt := range []struct {
		lines    int
		verified bool
	}{{n - 1, true}, {n, true}, {n + 1, false}, {2 * n, false}, {(1<<20 + 1) / 4, false}, {4 << 20 / 4, false}} {
		t.Run(fmt.Sprintf("folded over %d lines", tt.lines), func(t *testing.T) {
			check(t, folded(tt.lines), tt.verified)
		})
	}

	// h= with k names in a header of 4096 fields: k × 4096 comparisons (k
	// within maxDKIMHeaderKeys).
	const fields = 4096
	pad := strings.Repeat("X-Pad: p\r\n", fields-6) // dkimMessage has 5, and the signature
	names := func(k int) string {
		var b strings.Builder
		b.WriteString(sig)
		for i := 1; i < k; i++ {
			if i%100 == 0 {
				b.WriteString("\r\n ") // within the line length limit
			}
			b.WriteString(":x-pad")
		}
		return b.String() + "\r\n" + pad + dkimMessage
	}
	k := maxDKIMPicks / fields
	for _, tt := range []struct {
		names    int
		verified bool
	}{{k - 1, true}, {k, true}, {k + 1, false}, {2 * k, false}} {
		t.Run(fmt.Sprintf("h= of %d names", tt.names), func(t *testing.T) {
			check(t, names(tt.names), tt.verified)
		})
	}
}

// TestDKIMHeaderKeysBound sends signatures whose h= names N-1, N, N+1
// and 2N header fields (N = maxDKIMHeaderKeys), and one whose h= is
// 1 MiB+1 octets of names: up to N the signature is verified (its key is
// unknown: a temperror) and HeaderKeys holds every name; past N it is a
// permerror saying how many h= names, not verified, and HeaderKeys holds
// the first N, whatever the size of h=.
func TestDKIMHeaderKeysBound(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithMaxMessageBytes(4<<20))
	const n = maxDKIMHeaderKeys
	// h= of names, folded every 100 names (within the line length limit).
	h := func(names []string) string {
		var b strings.Builder
		for i, name := range names {
			if i > 0 {
				b.WriteString(":")
			}
			if i%100 == 99 {
				b.WriteString("\r\n ")
			}
			b.WriteString(name)
		}
		return b.String()
	}
	named := func(k int) []string {
		names := []string{"from", "to", "subject"}
		for i := len(names); i < k; i++ {
			names = append(names, fmt.Sprintf("x-%d", i))
		}
		return names
	}
	huge := make([]string, (1<<20+1-3)/2) // "from:x:x:...:x:xx", 1 MiB+1 octets
	for i := range huge {
		huge[i] = "x"
	}
	huge[0], huge[len(huge)-1] = "from", "xx"
	if got := len(strings.Join(huge, ":")); got != 1<<20+1 {
		t.Fatalf("h= of %d octets", got)
	}
	for _, tt := range []struct {
		name  string
		names []string
	}{
		{fmt.Sprintf("%d names", n-1), named(n - 1)},
		{fmt.Sprintf("%d names", n), named(n)},
		{fmt.Sprintf("%d names", n+1), named(n + 1)},
		{fmt.Sprintf("%d names", 2*n), named(2 * n)},
		{"1 MiB+1 octets", huge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw := "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=unknown; bh=AAAA; b=AAAA; h=" + h(tt.names) + "\r\n" + dkimMessage
			m := deliver(t, srv, raw)
			if len(m.DKIM) != 1 {
				t.Fatalf("%d DKIM results, want 1", len(m.DKIM))
			}
			r := m.DKIM[0]
			want := tt.names
			if len(tt.names) <= n {
				if r.Status != DKIMTempError {
					t.Errorf("result %s %q, want temperror (verified, the key unknown)", r.Status, r.Reason)
				}
			} else {
				want = tt.names[:n]
				wantReason := fmt.Sprintf("not verified: h= names %d header fields, more than the %d a verifier checks", len(tt.names), n)
				if r.Status != DKIMPermError || r.Reason != wantReason {
					t.Errorf("result %s %q, want permerror %q", r.Status, r.Reason, wantReason)
				}
			}
			if !slices.Equal(r.HeaderKeys, want) {
				t.Errorf("HeaderKeys of %d names, want %d", len(r.HeaderKeys), len(want))
			}
		})
	}
}

// FuzzDKIM verifies arbitrary messages against a registered key: no
// panic, at most 5 results, each with a status, and reasons only for
// signatures that did not pass.
func FuzzDKIM(f *testing.F) {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	rec, err := dkimRecord(key)
	if err != nil {
		f.Fatal(err)
	}
	keys := map[string]string{"s._domainkey.example.com": rec}
	f.Add([]byte("DKIM-Signature: v=1; a=ed25519-sha256; d=example.com; s=s; h=from; bh=AAAA; b=AAAA\r\nFrom: a@example.com\r\n\r\nx\r\n"))
	f.Add([]byte("DKIM-Signature: v=1; l=3; d=example.com;\r\n\tDKIM-Signature: x\r\n\r\n"))
	f.Add([]byte("dkim-signature:\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := &Message{Raw: raw}
		parseMIME(m)
		verifyDKIM(m, keys)
		if len(m.DKIM) > maxDKIMSignatures {
			t.Errorf("%d results", len(m.DKIM))
		}
		for _, r := range m.DKIM {
			if r.Status == "" || (r.Status == DKIMPass) != (r.Reason == "") {
				t.Errorf("result %+v", r)
			}
		}
		_ = authenticationResults("localhost", m)
		_ = checkDKIM(m)
	})
}

// DKIM is verified when a message arrives, from its raw bytes, while its
// content is parsed and checked only when first read: the
// Authentication-Results note comes right before the acceptance note,
// the DKIM findings are there before anyone reads the message, and the
// content findings follow them, in the same order whether the message was
// parsed on arrival or not. WithRejectNonconforming, which checks
// everything on arrival, refuses a failing signature with 550 5.7.20
// before any 250.
func TestDKIMOnArrivalBeforeTheParse(t *testing.T) {
	t.Parallel()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	noID := strings.Replace(dkimMessage, "Message-ID: <order-1@example.com>\r\n", "", 1)
	tampered := strings.Replace(sign(t, noID, "example.com", "ed", key, nil), "Thanks", "Thank", 1)
	rules := func(fs []Finding) []Rule {
		var out []Rule
		for _, f := range fs {
			out = append(out, f.Rule)
		}
		return out
	}
	want := []Rule{RuleDKIM, RuleMessageID}

	t.Run("parsed when read", func(t *testing.T) {
		t.Parallel()
		srv := Start(t, WithDKIMKey("example.com", "ed", key.Public()))
		if err := smtp.SendMail(srv.Addr(), nil, "shop@example.com", []string{"bob@example.org"}, []byte(tampered)); err != nil {
			t.Fatal(err)
		}
		srv.WaitForSessions(t, 1)
		// Before anything reads the message: the server's findings hold
		// the DKIM finding already, and the content's in its place.
		if diff := cmp.Diff(want, rules(srv.Findings())); diff != "" {
			t.Errorf("Findings() (-want +got):\n%s", diff)
		}
		m := srv.Message(1)
		if diff := cmp.Diff(want, rules(m.Findings)); diff != "" {
			t.Errorf("Message.Findings (-want +got):\n%s", diff)
		}
		if len(m.DKIM) != 1 || m.DKIM[0].Status != DKIMFail {
			t.Errorf("Message.DKIM = %+v, want one failed signature", m.DKIM)
		}
		tr := srv.Session(m.Session.ID).Transcript
		i := slices.IndexFunc(tr, func(l Line) bool { return strings.HasPrefix(l.Text, "message 1 accepted") })
		if i < 1 || !strings.HasPrefix(tr[i-1].Text, "Authentication-Results: localhost; dkim=fail") || tr[i+1].Text != "250 2.0.0 Ok: queued" {
			t.Errorf("want the Authentication-Results note, then the acceptance, then the 250:\n%s", tr)
		}
	})
	t.Run("WithRejectNonconforming", func(t *testing.T) {
		t.Parallel()
		srv := Start(t, WithDKIMKey("example.com", "ed", key.Public()), WithRejectNonconforming())
		err := smtp.SendMail(srv.Addr(), nil, "shop@example.com", []string{"bob@example.org"}, []byte(tampered))
		var te *textproto.Error
		if !errors.As(err, &te) || te.Code != 550 || !strings.HasPrefix(te.Msg, "5.7.20 ") {
			t.Fatalf("SendMail: %v, want 550 5.7.20", err)
		}
		srv.WaitForSessions(t, 1)
		got := slices.DeleteFunc(rules(srv.Findings()), func(r Rule) bool { return r == RuleQuit }) // SendMail did not quit
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Findings() (-want +got):\n%s", diff)
		}
		if _, n := srv.Count(); n != 0 {
			t.Errorf("%d messages kept, want none", n)
		}
	})
}

// TestDKIMHeaderAloneOverBDAT sends, with BDAT, a signed message that is
// a header alone whose last line lacks its CRLF (DATA always ends one):
// its signature verifies, and the message is recorded as sent.
func TestDKIMHeaderAloneOverBDAT(t *testing.T) {
	t.Parallel()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	srv := Start(t, WithDKIMKey("example.com", "ed", key.Public()))
	head, _, _ := strings.Cut(dkimMessage, "\r\n\r\n")
	raw := strings.TrimSuffix(sign(t, head+"\r\n\r\n", "example.com", "ed", key, nil), "\r\n\r\n")
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	tc := textproto.NewConn(conn)
	for _, step := range []struct {
		send string
		code int
	}{
		{"", 220},
		{"EHLO x\r\n", 250},
		{"MAIL FROM:<shop@example.com>\r\n", 250},
		{"RCPT TO:<bob@example.org>\r\n", 250},
		{fmt.Sprintf("BDAT %d LAST\r\n%s", len(raw), raw), 250},
	} {
		if _, err := io.WriteString(conn, step.send); err != nil {
			t.Fatal(err)
		}
		if _, _, err := tc.ReadResponse(step.code); err != nil {
			t.Fatalf("after %.20q: %v", step.send, err)
		}
	}
	m := srv.WaitForMessages(t, 1)[0]
	if string(m.Raw) != raw {
		t.Errorf("Raw\n%q\nwant\n%q", m.Raw, raw)
	}
	want := []DKIMResult{{Status: DKIMPass, Domain: "example.com", Selector: "ed", Identifier: "@example.com", Algorithm: "ed25519-sha256",
		HeaderKeys: []string{"From", "To", "Subject", "Date", "Message-ID"}}}
	if diff := cmp.Diff(want, m.DKIM); diff != "" {
		t.Errorf("Message.DKIM (-want +got):\n%s", diff)
	}
}

// TestRejectionOfHostileSignatureFitsALine sends, to a strict MTA, a DKIM
// signature and an ARC seal whose tags are long (folded over lines, as
// tags may be): the 550 that refuses each quotes them, yet its lines stay
// within the 512 octets of an SMTP reply line (RFC 5321 4.5.3.1.5), which
// clients enforce (Python's smtplib fails past 8192 with no reply at all).
func TestRejectionOfHostileSignatureFitsALine(t *testing.T) {
	t.Parallel()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	srv := Start(t, WithDKIMKey("example.com", "ed", key.Public()), WithRejectNonconforming())
	long := strings.Repeat(strings.Repeat("x", 70)+"\r\n ", 150) // 10,500 octets
	for _, tt := range []struct {
		name, field, status string
	}{
		{"DKIM d=", "DKIM-Signature: v=1; a=ed25519-sha256; d=" + long + "; s=ed; h=from; bh=AAAA; b=AAAA\r\n", "5.7.20"},
		{"DKIM s=", "DKIM-Signature: v=1; a=ed25519-sha256; d=example.com; s=" + long + "; h=from; bh=AAAA; b=AAAA\r\n", "5.7.20"},
		{"ARC cv=", "ARC-Authentication-Results: i=1; x\r\nARC-Message-Signature: i=1; a=ed25519-sha256; d=example.com; s=ed; h=from; bh=AAAA; b=AAAA\r\n" +
			"ARC-Seal: i=1; a=ed25519-sha256; d=example.com; s=ed; cv=" + long + "; b=AAAA\r\n", "5.7.29"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", srv.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			r := bufio.NewReader(conn)
			var last string
			for _, send := range []string{"", "EHLO x\r\n", "MAIL FROM:<shop@example.com>\r\n", "RCPT TO:<bob@example.org>\r\n", "DATA\r\n",
				tt.field + dkimMessage + ".\r\n"} {
				if _, err := io.WriteString(conn, send); err != nil {
					t.Fatal(err)
				}
				for { // the reply, line by line
					line, err := r.ReadString('\n')
					if err != nil {
						t.Fatalf("reading the reply to %.20q: %v", send, err)
					}
					if len(line) > 512 {
						t.Errorf("a reply line of %d octets, over 512: %.80q...", len(line), line)
					}
					if last = line; len(line) < 4 || line[3] != '-' {
						break
					}
				}
			}
			if !strings.HasPrefix(last, "550 "+tt.status+" ") {
				t.Errorf("reply %.80q, want 550 %s", last, tt.status)
			}
		})
	}
}
