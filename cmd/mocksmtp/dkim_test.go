package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/google/go-cmp/cmp"
)

// writePEM writes one PEM block to a file in dir and returns its path.
func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDKIMKeys starts the program with -dkim-key for an Ed25519 public key
// and an RSA private key, sends messages signed with both, one of them
// changed on the way, and reads the results from the API.
func TestDKIMKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	edPub, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(edPub)
	if err != nil {
		t.Fatal(err)
	}
	edFile := writePEM(t, dir, "ed.pem", "PUBLIC KEY", der)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaFile := writePEM(t, dir, "rsa.pem", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey))

	p := start(t, nil, "-dkim-key", "example.com:ed:"+edFile, "-dkim-key", "example.org:rsa:"+rsaFile)
	msg := "From: shop@example.com\r\nTo: bob@example.net\r\nSubject: Order\r\n\r\nThanks.\r\n"
	var signed bytes.Buffer
	if err := dkim.Sign(&signed, strings.NewReader(msg), &dkim.SignOptions{Domain: "example.com", Selector: "ed", Signer: edKey}); err != nil {
		t.Fatal(err)
	}
	var both bytes.Buffer
	if err := dkim.Sign(&both, bytes.NewReader(signed.Bytes()), &dkim.SignOptions{Domain: "example.org", Selector: "rsa", Signer: rsaKey, HeaderKeys: []string{"From"}}); err != nil {
		t.Fatal(err)
	}
	sendMail(t, p.smtp, "shop@example.com", []string{"bob@example.net"}, both.String())
	sendMail(t, p.smtp, "shop@example.com", []string{"bob@example.net"}, strings.Replace(both.String(), "Thanks.", "Thank you.", 1))
	sendMail(t, p.smtp, "shop@example.com", []string{"bob@example.net"}, msg)
	getJSON(t, p, "/api/wait?count=3", 200, nil)

	project := func(ds []dkimJSON) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.Summary)
		}
		return out
	}
	for _, tt := range []struct {
		id   string
		want []string
	}{
		{"1", []string{"dkim=pass header.d=example.org header.s=rsa header.a=rsa-sha256", "dkim=pass header.d=example.com header.s=ed header.a=ed25519-sha256"}},
		{"2", []string{
			"dkim=fail (body hash mismatch: the body changed after signing) header.d=example.org header.s=rsa header.a=rsa-sha256",
			"dkim=fail (body hash mismatch: the body changed after signing) header.d=example.com header.s=ed header.a=ed25519-sha256",
		}},
		{"3", nil},
	} {
		var m messageJSON
		getJSON(t, p, "/api/messages/"+tt.id, 200, &m)
		if m.DKIM == nil {
			t.Errorf("message %s: dkim is null, want a list", tt.id)
		}
		if diff := cmp.Diff(tt.want, project(m.DKIM)); diff != "" {
			t.Errorf("message %s: dkim summaries (-want +got):\n%s", tt.id, diff)
		}
		if tt.id == "2" && (m.DKIM[0].Status != "fail" || !strings.HasPrefix(m.DKIM[0].Reason, "body hash mismatch") || m.DKIM[0].Domain != "example.org" || m.DKIM[0].Selector != "rsa") {
			t.Errorf("message 2: dkim[0] = %+v", m.DKIM[0])
		}
	}
}

func TestDKIMKeyFlagErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert := writePEM(t, dir, "cert.pem", "CERTIFICATE", []byte("x"))
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	edKey := func(name string) string {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		return writePEM(t, dir, name, "PRIVATE KEY", der)
	}
	ed1, ed2 := edKey("ed1.pem"), edKey("ed2.pem")
	for _, tt := range []struct {
		name, value, want string
	}{
		{"no selector", "example.com:" + junk, "want domain:selector:file.pem"},
		{"missing file", "example.com:s:" + filepath.Join(dir, "missing.pem"), "no such file"},
		{"no PEM", "example.com:s:" + junk, "no PEM block"},
		{"a certificate", "example.com:s:" + cert, `a PEM "CERTIFICATE" block`},
		{"bad key", "example.com:s:" + writePEM(t, dir, "bad.pem", "PUBLIC KEY", []byte("x")), "bad.pem"},
		// A second key for a selector would take the first one's place.
		{"another key for a selector", "example.com:s:" + ed1 + " -dkim-key EXAMPLE.com.:S:" + ed2, "another key for s._domainkey.example.com is given already"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"-listen", "127.0.0.1:0", "-http", ""}
			for _, v := range strings.Split(tt.value, " -dkim-key ") {
				args = append(args, "-dkim-key", v)
			}
			code, _, stderr := runOnce(t, nil, args...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and %q", code, stderr, tt.want)
			}
		})
	}
	// The same key again is no conflict.
	start(t, nil, "-quiet", "-dkim-key", "example.com:s:"+ed1, "-dkim-key", "example.com.:S:"+ed1)
}

// arcFixture returns the root package's ARC example (testdata/arc/list.eml:
// a mailing list's ARC set, lists.example.org selector arc), the key that
// sealed it (from a fixed seed: the root package's exampleKey), and a PEM
// file of that key for -dkim-key.
func arcFixture(t *testing.T) (sealed string, key ed25519.PrivateKey, keyFile string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "arc", "list.eml"))
	if err != nil {
		t.Fatal(err)
	}
	key = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{42}, ed25519.SeedSize))
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), key, writePEM(t, t.TempDir(), "key.pem", "PRIVATE KEY", der)
}

// TestARCJSON starts the program with -dkim-key for the key that sealed
// the ARC example (arcFixture), sends it as sealed, with its body
// changed, and unsealed, and reads each message's arc.
func TestARCJSON(t *testing.T) {
	t.Parallel()
	sealed, _, keyFile := arcFixture(t)
	p := start(t, nil, "-dkim-key", "lists.example.org:arc:"+keyFile)
	sendMail(t, p.smtp, "fans-owner@lists.example.org", []string{"bob@example.net"}, sealed)
	sendMail(t, p.smtp, "fans-owner@lists.example.org", []string{"bob@example.net"}, strings.Replace(sealed, "spring", "summer", 1))
	sendMail(t, p.smtp, "shop@example.com", []string{"bob@example.net"}, "From: shop@example.com\r\n\r\nhi\r\n")
	getJSON(t, p, "/api/wait?count=3", 200, nil)

	set := arcSetJSON{Instance: 1, Domain: "lists.example.org", Selector: "arc", Algorithm: "ed25519-sha256", CV: "none",
		AuthResults: "lists.example.org; dkim=pass header.d=example.com", Seal: "pass", Signature: "pass"}
	failed := set
	failed.Signature, failed.SignatureReason = "fail", "body hash mismatch: the body changed after sealing"
	const reason = "set 1: ARC-Message-Signature fail: body hash mismatch: the body changed after sealing"
	for _, tt := range []struct {
		id   string
		want arcJSON
	}{
		{"1", arcJSON{Status: "pass", Sets: []arcSetJSON{set}, Summary: "arc=pass"}},
		{"2", arcJSON{Status: "fail", Reason: reason, Instance: 1, Sets: []arcSetJSON{failed}, Summary: "arc=fail (" + reason + ")"}},
		{"3", arcJSON{Status: "none", Sets: []arcSetJSON{}, Summary: "arc=none"}},
	} {
		var m messageJSON
		getJSON(t, p, "/api/messages/"+tt.id, 200, &m)
		if diff := cmp.Diff(tt.want, m.ARC); diff != "" {
			t.Errorf("message %s: arc (-want +got):\n%s", tt.id, diff)
		}
	}
	var fs []findingJSON
	getJSON(t, p, "/api/findings", 200, &fs)
	arc := 0
	for _, f := range fs {
		if f.Rule == "arc" {
			arc++
		}
	}
	if arc != 1 {
		t.Errorf("%d arc findings, want 1 (message 2's): %+v", arc, fs)
	}
}

// TestAPIFilterByDKIMAndARC filters, waits for and expects messages by
// their DKIM and ARC results, as the Go API's Want{DKIM, ARC, ARCReason}
// does: a sealed list message, the same with its body changed, a message
// signed by the shop, and one with neither.
func TestAPIFilterByDKIMAndARC(t *testing.T) {
	t.Parallel()
	sealed, key, keyFile := arcFixture(t)
	p := start(t, nil, "-quiet", "-dkim-key", "lists.example.org:arc:"+keyFile, "-dkim-key", "example.com:mail:"+keyFile)
	var signed bytes.Buffer
	plain := "From: shop@example.com\r\nTo: bob@example.net\r\nSubject: Signed\r\n\r\nThanks.\r\n"
	if err := dkim.Sign(&signed, strings.NewReader(plain), &dkim.SignOptions{Domain: "example.com", Selector: "mail", Signer: key}); err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{
		sealed, // 1: arc=pass
		strings.Replace(sealed, "spring", "summer", 1), // 2: arc=fail, the body changed
		signed.String(), // 3: dkim=pass example.com, arc=none
		"From: shop@example.com\r\nSubject: Neither\r\n\r\nhi\r\n", // 4: arc=none
	} {
		sendMail(t, p.smtp, "fans-owner@lists.example.org", []string{"bob@example.net"}, msg)
	}
	getJSON(t, p, "/api/wait?count=4", 200, nil)

	listed := func(path string) []int {
		t.Helper()
		var ms []messageJSON
		getJSON(t, p, path, 200, &ms)
		return ids(ms)
	}
	for _, tt := range []struct {
		path string
		want []int
	}{
		{"/api/messages?arc=pass", []int{1}},
		{"/api/messages?arc=fail", []int{2}},
		{"/api/messages?arc=none", []int{3, 4}},
		{"/api/messages?arc=fail&arcReason=body+hash", []int{2}},
		{"/api/messages?arcReason=set+1", []int{2}},
		{"/api/messages?arcReason=ARC-Seal", nil},
		{"/api/messages?dkim=EXAMPLE.com", []int{3}},
		{"/api/messages?dkim=example.com&dkim=example.com", nil}, // two signatures wanted
		{"/api/messages?dkim=lists.example.org", nil},
		{"/api/wait?arc=pass", []int{1}},
	} {
		if got := listed(tt.path); !cmp.Equal(tt.want, got) {
			t.Errorf("GET %s: messages %v, want %v", tt.path, got, tt.want)
		}
	}
	for _, tt := range []struct{ path, want string }{
		{"/api/messages?arc=passed", `arc: unknown status "passed": want "pass", "fail" or "none"`},
		{"/api/messages?arc=pass&arc=fail", "arc given 2 times"},
		{"/api/messages?dkim=", "dkim is empty"},
		{"/api/messages?ARC=pass", `"ARC" (did you mean "arc"?)`},
		{"/api/wait?arc=pass&arcReason=body", `arcReason: only a failed chain has a reason (ARC is "pass")`},
	} {
		res, b := do(t, p, "GET", tt.path, "")
		var e errorJSON
		if err := json.Unmarshal(b, &e); err != nil || res.StatusCode != 400 || !strings.Contains(e.Error, tt.want) {
			t.Errorf("GET %s: %d %s, want 400 with %q", tt.path, res.StatusCode, b, tt.want)
		}
	}

	// Expectations: met, then one that is not, whose report shows the
	// nearest message (2, the only one with "summer") and why its chain
	// failed.
	postJSON(t, p, "POST", "/api/expectations", `{"want": {"arc": "pass", "subject": "New in store"}}`, 201, nil)
	postJSON(t, p, "POST", "/api/expectations", `{"want": {"dkim": ["example.com"], "arc": "none"}}`, 201, nil)
	getJSON(t, p, "/api/expectations/check", 200, nil)
	postJSON(t, p, "POST", "/api/expectations", `{"want": {"textContains": "summer", "arc": "pass"}}`, 201, nil)
	res, b := do(t, p, "GET", "/api/expectations/check", "")
	var e errorJSON
	if err := json.Unmarshal(b, &e); err != nil || res.StatusCode != 417 {
		t.Fatalf("check: %d %s, want 417", res.StatusCode, b)
	}
	words := strings.Join(strings.Fields(strings.ReplaceAll(e.Error, "\u00a0", " ")), " ")
	for _, want := range []string{`Want{TextContains: "summer", ARC: "pass"}`, "nearest: message 2 ",
		`- ARC: "pass", + ARC: "fail",`, `+ ARCReason: "set 1: ARC-Message-Signature fail: body hash mismatch`} {
		if !strings.Contains(words, want) {
			t.Errorf("the report lacks %q:\n%s", want, e.Error)
		}
	}
	postJSON(t, p, "POST", "/api/expectations", `{"want": {"arc": "passed"}}`, 400, nil)
}
