package mocksmtp

import (
	"strings"
	"testing"
)

// unsignedMessage is a 4 KiB message with the header fields a mailer and
// a relay write, and no DKIM signature.
func unsignedMessage() []byte {
	var b strings.Builder
	b.WriteString("Received: from app.example.com (app.example.com [192.0.2.1])\r\n\tby mx.example.net with ESMTPS id 4Xyz; Fri,  4 Dec 2026 10:00:00 +0000\r\n" +
		"From: Alice <alice@example.com>\r\nTo: Bob <bob@example.com>\r\nCc: carol@example.com\r\n" +
		"Subject: Your order\r\nDate: Fri,  4 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@example.com>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n" +
		"X-Mailer: app 1.0\r\nList-Unsubscribe: <mailto:unsubscribe@example.com>\r\n\r\n")
	for b.Len() < 4<<10 {
		b.WriteString("The quick brown fox jumps over the lazy dog, again and again.\r\n")
	}
	return []byte(b.String())
}

// The fast check that spares unsigned messages the DKIM scan finds a
// signature exactly when the scan does.
func TestHasDKIMSignatureAgreesWithScan(t *testing.T) {
	for _, head := range []string{
		"",
		"From: a@example.com\r\n\r\n",
		"DKIM-Signature: v=1; d=example.com\r\nFrom: a@example.com\r\n\r\n",
		"From: a@example.com\r\ndkim-signature: v=1\r\n\r\n",
		"From: a@example.com\r\nDKIM-Signature : v=1\r\n\r\n",
		"From: a@example.com\r\nDKIM-Signature\t: v=1\r\n\r\n",
		"From: a@example.com\r\nX-DKIM-Signature: v=1\r\n\r\n",
		"From: a@example.com\r\nDKIM-Signatures: v=1\r\n\r\n",
		"From: a@example.com\r\n DKIM-Signature: v=1 (a continuation)\r\n\r\n",
		"From: a@example.com\r\nSubject: x\r\n\tDKIM-Signature: v=1\r\n\r\n",
		"From: a@example.com\r\n\r\nDKIM-Signature: v=1 (in the body)\r\n",
		"From: a@example.com\nDKIM-Signature: v=1 (bare LF)\n\n",
		"From: a@example.com\r\nnot a header line\r\nDKIM-Signature: v=1\r\n\r\n",
		"DKIM-Signature: v=1",
		"DKIM-Signature:",
		"DKIM-Signatur: v=1\r\n\r\n",
	} {
		h, _, _ := splitHeader([]byte(head))
		if got, want := hasDKIMSignature(h), scanDKIM(h).total > 0; got != want {
			t.Errorf("hasDKIMSignature(%q) = %v, scanDKIM finds %v", head, got, want)
		}
	}
}

// An unsigned message costs its arrival no allocation for DKIM.
func TestVerifyDKIMUnsignedAllocatesNothing(t *testing.T) {
	m := &Message{Raw: unsignedMessage()}
	keys := map[string]string{"mail._domainkey.example.com": "v=DKIM1; k=ed25519; p=x"}
	if n := testing.AllocsPerRun(100, func() { verifyDKIM(m, keys) }); n != 0 || m.DKIM != nil {
		t.Errorf("verifyDKIM of an unsigned message: %v allocations, DKIM %v; want 0, nil", n, m.DKIM)
	}
}

// BenchmarkVerifyDKIMUnsigned is what DKIM costs each unsigned message on
// arrival (the check runs before the 250 whether keys are registered or
// not), beside BenchmarkParseMIMEUnsigned, what a parse on arrival would.
func BenchmarkVerifyDKIMUnsigned(b *testing.B) {
	m := &Message{Raw: unsignedMessage()}
	b.ReportAllocs()
	for b.Loop() {
		verifyDKIM(m, nil)
	}
}

func BenchmarkParseMIMEUnsigned(b *testing.B) {
	raw := unsignedMessage()
	b.ReportAllocs()
	for b.Loop() {
		parseMIME(&Message{Raw: raw})
	}
}
