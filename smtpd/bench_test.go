package smtpd_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp/smtpd"
)

// The benchmarks here measure the engine alone: whole transactions read
// from memory, with no network in the way (parse_test.go measures command
// parsing). They are correct at any b.N, including the single iteration
// CI runs.

// memConn is a net.Conn whose client side is a script: it reads prefix
// once, then block over and over, and throws away what the server writes.
type memConn struct {
	prefix, block []byte
	pos           int  // in prefix, then in block
	inBlock       bool // past the prefix
	written       int
}

func (c *memConn) Read(p []byte) (int, error) {
	if !c.inBlock {
		n := copy(p, c.prefix[c.pos:])
		c.pos += n
		if c.pos == len(c.prefix) {
			c.inBlock, c.pos = true, 0
		}
		return n, nil
	}
	n := copy(p, c.block[c.pos:])
	c.pos = (c.pos + n) % len(c.block)
	return n, nil
}

func (c *memConn) Write(p []byte) (int, error) {
	c.written += len(p)
	return len(p), nil
}

type memAddr struct{}

func (memAddr) Network() string { return "mem" }
func (memAddr) String() string  { return "mem" }

func (c *memConn) Close() error                     { return nil }
func (c *memConn) LocalAddr() net.Addr              { return memAddr{} }
func (c *memConn) RemoteAddr() net.Addr             { return memAddr{} }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

// benchBody returns a message body of size octets in CRLF lines of text,
// with a leading dot on some lines so that the reader unstuffs them.
func benchBody(size int) (wire, data []byte) {
	var w, d strings.Builder
	const line = "The quick brown fox jumps over the lazy dog, again and again.\r\n"
	for i := 0; d.Len()+len(line) <= size-2; i++ {
		if i%10 == 9 {
			w.WriteString(".")
		}
		w.WriteString(line)
		d.WriteString(line)
	}
	for d.Len() < size-2 {
		w.WriteByte('x')
		d.WriteByte('x')
	}
	w.WriteString("\r\n")
	d.WriteString("\r\n")
	return []byte(w.String()), []byte(d.String())
}

// BenchmarkTransaction runs whole transactions through the engine, from
// memory: MAIL, RCPT, DATA, the message (one op), with the DATA reader's
// dot-unstuffing and line checks. "traced" adds a Trace hook, as the
// mocksmtp driver always sets one.
func BenchmarkTransaction(b *testing.B) {
	for _, tc := range []struct {
		name  string
		size  int
		trace bool
	}{
		{"1KiB", 1 << 10, false},
		{"4KiB", 4 << 10, false},
		{"64KiB", 64 << 10, false},
		{"4KiB-traced", 4 << 10, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			wire, data := benchBody(tc.size)
			block := "MAIL FROM:<alice@example.com> SIZE=" + fmt.Sprint(len(data)) + "\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n" + string(wire) + ".\r\n"
			nc := &memConn{prefix: []byte("EHLO client.example.com\r\n"), block: []byte(block)}
			cfg := smtpd.Config{}
			traces := 0
			if tc.trace {
				cfg.Trace = func(smtpd.Trace) { traces++ }
			}
			c := smtpd.NewConn(nc, cfg)
			defer c.Close(nil)
			ctx := context.Background()
			for _, want := range []smtpd.Kind{smtpd.Greeting, smtpd.Ehlo} {
				if ev, err := c.Next(ctx); err != nil || ev.Kind != want || ev.Err != nil {
					b.Fatalf("want %v, got %+v, %v", want, ev, err)
				}
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				for _, want := range []smtpd.Kind{smtpd.Mail, smtpd.Rcpt, smtpd.Data, smtpd.Message} {
					ev, err := c.Next(ctx)
					if err != nil || ev.Kind != want || ev.Err != nil {
						b.Fatalf("want %v, got %+v, %v", want, ev, err)
					}
					if want == smtpd.Message && string(ev.Data) != string(data) {
						b.Fatalf("message data differs: got %d octets, want %d", len(ev.Data), len(data))
					}
				}
			}
			if tc.trace && traces == 0 {
				b.Fatal("no trace")
			}
		})
	}
}

// TestDataInfoEightBit checks the 8-bit scan of message data, which looks
// at eight octets at a time, for an octet above 127 at every position of
// lines of every length around that stride.
func TestDataInfoEightBit(t *testing.T) {
	for length := 1; length <= 20; length++ {
		for pos := -1; pos < length; pos++ { // -1: none
			line := []byte(strings.Repeat("a", length))
			if pos >= 0 {
				line[pos] = 0x80 + byte(pos)
			}
			nc := &memConn{
				prefix: []byte("EHLO client.example.com\r\n"),
				block:  []byte("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n" + string(line) + "\r\n.\r\n"),
			}
			c := smtpd.NewConn(nc, smtpd.Config{})
			var ev *smtpd.Event
			for _, want := range []smtpd.Kind{smtpd.Greeting, smtpd.Ehlo, smtpd.Mail, smtpd.Rcpt, smtpd.Data, smtpd.Message} {
				var err error
				if ev, err = c.Next(context.Background()); err != nil || ev.Kind != want {
					t.Fatalf("want %v, got %+v, %v", want, ev, err)
				}
			}
			if got := ev.DataInfo.EightBit; got != (pos >= 0) {
				t.Errorf("line of %d octets, 8-bit octet at %d: EightBit = %v", length, pos, got)
			}
			c.Close(nil)
		}
	}
}
