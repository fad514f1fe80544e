package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mocksmtp/mocksmtp"
)

// nested returns a message of depth multiparts, one in the other.
func nested(depth int) []byte {
	var b strings.Builder
	b.WriteString("Subject: deep\r\n")
	for i := range depth {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\nbottom\r\n")
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return []byte(b.String())
}

func TestPartTreeStopsAtItsLimits(t *testing.T) {
	t.Parallel()
	depth := func(p *partJSON) int {
		n := 0
		for ; p != nil && len(p.Parts) > 0; p = &p.Parts[0] {
			n++
		}
		return n
	}
	for _, tt := range []struct {
		name      string
		raw       []byte
		wantDepth int
	}{
		{"depth 99", nested(99), 99},
		{"depth 100", nested(100), 100},
		{"depth 101", nested(101), 100},
		{"depth 5000", nested(5000), 100},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := partTree(&mocksmtp.Message{Raw: tt.raw})
			if got := depth(p); got != tt.wantDepth {
				t.Errorf("depth %d, want %d", got, tt.wantDepth)
			}
		})
	}
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=x\r\n\r\n")
	for range 1500 {
		b.WriteString("--x\r\nContent-Type: text/plain\r\n\r\nx\r\n")
	}
	b.WriteString("--x--\r\n")
	p := partTree(&mocksmtp.Message{Raw: []byte(b.String())})
	if len(p.Parts) != maxParts || p.Parts[0].Body != "" {
		t.Errorf("1500 parts: %d listed, the first linked to %q; want %d, and no links (the walk stopped)", len(p.Parts), p.Parts[0].Body, maxParts)
	}
}

func FuzzPartTree(f *testing.F) {
	f.Add([]byte(multipartMail))
	f.Add(nested(3))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		p := partTree(&mocksmtp.Message{Raw: raw})
		if p != nil && p.ContentType == "" {
			t.Errorf("a part without a content type: %+v", p)
		}
	})
}
