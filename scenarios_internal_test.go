package mocksmtp

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Greylisting remembers every pair it saw, as its documented behaviour
// needs (a pair that passed passes from then on), but only the pair: the
// engine's paths are parts of their command lines (up to 1 KiB with
// parameters), which a long-running server under load with WithRetention
// has let go with their sessions. The pairs kept them all: 2 KiB a pair
// instead of about 100 octets.
func TestGreylistKeepsOnlyItsPairs(t *testing.T) {
	const pairs = 10_000
	cond := GreylistFor(time.Minute).newCond()
	pad := " ENVID=" + strings.Repeat("x", 1000)
	now := time.Now()
	feed := func(i int) {
		// As the engine hands them: each path a part of its line.
		mail := fmt.Sprintf("MAIL FROM:<sender%06d@example.com>%s", i, pad)
		rcpt := fmt.Sprintf("RCPT TO:<rcpt%06d@example.net>%s", i, pad)
		from, to := mail[len("MAIL FROM:<"):strings.IndexByte(mail, '>')], rcpt[len("RCPT TO:<"):strings.IndexByte(rcpt, '>')]
		m := &match{senders: []string{from}, rcpts: []string{to}, session: i, now: now}
		if !cond(m) {
			t.Fatalf("pair %d passed on its first RCPT", i)
		}
		for _, r := range m.records {
			r.keep(now) // its 451 went out
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range pairs {
		feed(i)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / pairs; per > 400 {
		t.Errorf("%d octets kept a pair, want at most 400 (its addresses and the map's entry)", per)
	}
	runtime.KeepAlive(cond)
}
