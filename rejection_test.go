package mocksmtp

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestRejectionTextBound sends a strict MTA an ARC seal whose cv= tag
// (quoted once in the 550 5.7.29 that refuses it) makes the reply's text
// N-1, N, N+1, 2N and 1 MiB+1 octets, N being maxRejectionText: up to N
// the reply is whole; beyond, it is one line of 512 octets with its CRLF
// (RFC 5321 4.5.3.1.5), the quote cut with "..." before the rule, and the
// cut never splits a \xNN escape or the escapes of one UTF-8 sequence,
// wherever the quote puts them against it.
func TestRejectionTextBound(t *testing.T) {
	t.Parallel()
	srv := Start(t, WithRejectNonconforming(), WithMaxMessageBytes(4<<20))
	const (
		prefix = "550 5.7.29 "
		head   = "ARC chain of 1 set fails: set 1: cv="
		tail   = ", want cv=none (RFC 8617 5.2)"
		ref    = " (RFC 8617 5.2 arc)"
	)
	// reply sends a message sealed with cv=v, folded as long tags may be,
	// and returns the reply to its end of data.
	reply := func(t *testing.T, v string) string {
		t.Helper()
		var folded strings.Builder
		for len(v) > 70 {
			folded.WriteString(v[:70] + "\r\n ")
			v = v[70:]
		}
		folded.WriteString(v)
		conn, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(conn)
		var last string
		for _, send := range []string{"", "EHLO x\r\n", "MAIL FROM:<shop@example.com> BODY=8BITMIME SMTPUTF8\r\n", "RCPT TO:<bob@example.org>\r\n", "DATA\r\n",
			"ARC-Authentication-Results: i=1; x\r\nARC-Message-Signature: i=1; a=ed25519-sha256; d=example.com; s=ed; h=from; bh=AAAA; b=AAAA\r\n" +
				"ARC-Seal: i=1; a=ed25519-sha256; d=example.com; s=ed; cv=" + folded.String() + "; b=AAAA\r\n" + dkimMessage + ".\r\n"} {
			if _, err := io.WriteString(conn, send); err != nil {
				t.Fatal(err)
			}
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					t.Fatalf("reading the reply to %.20q: %v", send, err)
				}
				if last = line; len(line) < 4 || line[3] != '-' {
					break
				}
			}
		}
		return last
	}
	const n = maxRejectionText
	fixed := len(head) + len(tail) + len(ref) // the text but the quote
	for _, size := range []int{n - 1, n, n + 1, 2 * n, 1<<20 + 1} {
		t.Run(fmt.Sprintf("text of %d octets", size), func(t *testing.T) {
			t.Parallel()
			v := strings.Repeat("x", size-fixed)
			got := reply(t, v)
			want := prefix + head + v + tail + ref + "\r\n"
			if size > n {
				want = prefix + (head + v + tail)[:n-len(ref)-len("...")] + "..." + ref + "\r\n"
			}
			if got != want {
				t.Errorf("reply of %d octets %.60q...%q, want %d octets %.60q...%q", len(got), got, got[max(0, len(got)-40):], len(want), want, want[max(0, len(want)-40):])
			}
		})
	}

	// The cut falls at octet cut of the text: the quote's escapes
	// straddle it at every offset.
	cut := n - len(ref) - len("...")
	for _, odd := range []string{"\x01", "\xff", "é", "€", "😀"} {
		for shift := range 16 {
			t.Run(fmt.Sprintf("%q %d before the cut", odd, shift), func(t *testing.T) {
				t.Parallel()
				v := strings.Repeat("x", cut-len(head)-shift) + strings.Repeat(odd, 8)
				v += strings.Repeat("x", n-len(v))
				got := reply(t, v)
				text, ok := strings.CutPrefix(got, prefix)
				kept, ok2 := strings.CutSuffix(text, "..."+ref+"\r\n")
				if !ok || !ok2 || len(got) > 512 {
					t.Fatalf("reply of %d octets %q, want one line of at most 512 ending in %q", len(got), got, "..."+ref)
				}
				// The kept text is what escaping a prefix of the quote
				// made of it, the prefix ending between runes (or
				// invalid octets), the longest that fits.
				var fits string
				for i := 0; i <= len(v); {
					if s := replyText(head + v[:i]); len(s) <= cut {
						fits = s
					} else {
						break
					}
					if i == len(v) {
						break
					}
					_, w := utf8.DecodeRuneInString(v[i:])
					i += w
				}
				if kept != fits {
					t.Errorf("kept %q, want %q", kept[max(0, len(kept)-40):], fits[max(0, len(fits)-40):])
				}
			})
		}
	}
}
