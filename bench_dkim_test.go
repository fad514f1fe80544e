package mocksmtp_test

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/mocksmtp/mocksmtp"
)

// BenchmarkSendDKIM sends 4 KiB messages signed with Ed25519 over one
// connection, as BenchmarkSendSequential does unsigned, to show what
// verification adds: with 1 signature, and with 5000 (a hostile
// message, of which the server verifies the first 5). One op is one
// message.
func BenchmarkSendDKIM(b *testing.B) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	var signed bytes.Buffer
	err := dkim.Sign(&signed, bytes.NewReader(benchMessage(4<<10)), &dkim.SignOptions{
		Domain: "example.com", Selector: "bench", Signer: key,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
	})
	if err != nil {
		b.Fatal(err)
	}
	sig, _, _ := bytes.Cut(signed.Bytes(), []byte("From: "))
	for _, n := range []int{1, 5000} {
		b.Run(fmt.Sprintf("signatures=%d", n), func(b *testing.B) {
			msg := append(bytes.Repeat(sig, n), benchMessage(4<<10)...)
			srv := sendEach(b, msg, mocksmtp.WithDKIMKey("example.com", "bench", key.Public()))
			if m := srv.LastMessages(1)[0]; len(m.DKIM) != min(n, 5) || m.DKIM[0].Status != mocksmtp.DKIMPass {
				b.Fatalf("DKIM results %v, want %d passing", m.DKIM, min(n, 5))
			}
		})
	}
}
