package mocksmtp

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"net"
	"net/smtp"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// TestWireLineRoundTrip checks that a transcript line packed as the
// record keeps it comes back the same, at both ends of its range.
func TestWireLineRoundTrip(t *testing.T) {
	for _, dir := range []Direction{FromClient, FromServer, Note} {
		for _, at := range []time.Duration{0, 1, time.Hour, 1<<62 - 1} {
			l := Line{Dir: dir, Text: "250 2.0.0 Ok", At: at}
			if got := packLine(l.Dir, l.At, &l.Text).line(); got != l {
				t.Errorf("packLine(%+v).line() = %+v", l, got)
			}
		}
	}
}

// intern is ref as the tests read it: the table's copy of s and whether
// the table holds s, or s.
func (in *interner) intern(s string) (string, bool) {
	if p := in.ref(s); p != nil {
		return *p, true
	}
	return s, false
}

// TestInternerIsBounded checks that the interner returns its own copy of
// a text it holds, holds at most maxInterned texts however many it is
// given, and keeps no long text.
func TestInternerIsBounded(t *testing.T) {
	var in interner
	first, _ := in.intern(strings.Clone("220 localhost ESMTP mocksmtp"))
	again, held := in.intern(strings.Clone("220 localhost ESMTP mocksmtp"))
	if !held {
		t.Errorf("the table does not hold a text it took")
	}
	if again != first || unsafe.StringData(again) != unsafe.StringData(first) {
		t.Errorf("the second intern of a text returned another copy")
	}
	for i := range 3 * maxInterned {
		if s := fmt.Sprint("RCPT TO:<user", i, "@example.com>"); internIn(&in, &interner{}, s) != s {
			t.Fatalf("intern(%q) returned another text", s)
		}
	}
	if n := in.held(); n > maxInterned || n < maxInterned*9/10 {
		t.Errorf("the table holds %d texts, want at most %d and about as many", n, maxInterned)
	}
	if got, _ := in.intern(strings.Clone("220 localhost ESMTP mocksmtp")); unsafe.StringData(got) != unsafe.StringData(first) {
		t.Errorf("a text held before the table filled is no longer found")
	}
	var fresh interner
	long := strings.Repeat("x", maxInternedLen+1)
	if got, held := fresh.intern(long); got != long || held {
		t.Errorf("intern of a long text changed it")
	}
	if n := fresh.held(); n != 0 {
		t.Errorf("the table kept a text of %d octets", len(long))
	}
}

// held counts the texts in the table.
func (in *interner) held() int {
	n := 0
	if t := in.table.Load(); t != nil {
		for i := range t {
			if t[i].Load() != nil {
				n++
			}
		}
	}
	return n
}

// TestSessionAddressesAsGiven checks that the record gives back the
// addresses of a connection as net.Conn gave them, TCP (kept inline, IPv4
// in either form, IPv6 with a zone) or not.
func TestSessionAddressesAsGiven(t *testing.T) {
	pipe, _ := net.Pipe()
	defer pipe.Close()
	for _, tc := range []struct{ remote, local net.Addr }{
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 40000}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1).To4(), Port: 25}},
		{&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 40000, Zone: "lo"}, &net.TCPAddr{IP: net.ParseIP("::1"), Port: 25}},
		{pipe.RemoteAddr(), pipe.LocalAddr()},
	} {
		r := newSessionRecord(tc.remote, tc.local)
		remote, local := r.addrs()
		if remote.String() != tc.remote.String() || local.String() != tc.local.String() || remote.Network() != tc.remote.Network() {
			t.Errorf("addresses %v, %v; want %v, %v", remote, local, tc.remote, tc.local)
		}
	}
}

// TestRecentParsesAreBounded checks that the server holds the parses of
// the messages read last up to maxRecentParses octets of them, and lets
// go of the oldest.
func TestRecentParsesAreBounded(t *testing.T) {
	by := &keptBy{conf: &conformanceOptions{}}
	raw := []byte("Subject: big\r\n\r\n" + strings.Repeat("x", maxRecentParses/3))
	var ks []*kept
	for i := range 4 {
		k := keep(&Message{ID: i + 1, Raw: raw}, false, 1, 0, by)
		k.view()
		ks = append(ks, k)
	}
	for i, k := range ks {
		k.mu.Lock()
		held := k.held != nil
		k.mu.Unlock()
		if want := i >= 2; held != want { // 2 of 3 fit under the bound, the newest first
			t.Errorf("message %d: parse held = %v, want %v", i+1, held, want)
		}
	}
	if by.size > maxRecentParses {
		t.Errorf("holding %d octets of messages, more than %d", by.size, maxRecentParses)
	}
}

// A wait's count of an inbox's messages starts again after DeleteMessage,
// as after Reset: a deleted message no longer counts.
func TestCounterAfterDeleteMessage(t *testing.T) {
	srv := Start(t)
	in := srv.NewInbox("counter")
	for range 2 {
		if err := smtp.SendMail(srv.Addr(), nil, "a@example.com", []string{in.Address("b")}, []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	ms := in.WaitForMessages(t, 2)
	c := &counter{in: in}
	count := func() int {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return c.countLocked(srv, 0)
	}
	if n := count(); n != 2 {
		t.Fatalf("count = %d, want 2", n)
	}
	if !srv.DeleteMessage(ms[0].ID) {
		t.Fatal("DeleteMessage: false")
	}
	if n := count(); n != 1 {
		t.Errorf("count after DeleteMessage = %d, want 1", n)
	}
}

// TestInternAllocatesOnlyToAdd checks that interning a text the tables
// hold, or one too long to hold, allocates nothing: every transcript line
// is interned, and a fresh box for each would cost a session a dozen
// allocations.
func TestInternAllocatesOnlyToAdd(t *testing.T) {
	var shared, own interner
	text := strings.Clone("250-PIPELINING")
	internIn(&shared, &own, text)
	long := strings.Repeat("x", maxInternedLen+1)
	for _, s := range []string{text, long} {
		if n := testing.AllocsPerRun(100, func() { internIn(&shared, &own, s) }); n != 0 {
			t.Errorf("interning a text of %d octets: %v allocations, want none", len(s), n)
		}
	}
	// A transcript line takes the tables' copy of its text as it is, the
	// server's own table's when the process's is full.
	var full, mine interner
	missed := roomless(t, &full, 1)[0]
	ref := refIn(&full, &mine, missed)
	if n := testing.AllocsPerRun(100, func() { refSink = refIn(&full, &mine, missed) }); n != 0 || refSink != ref || mine.held() != 1 {
		t.Errorf("refIn of a text the server's table holds: %v allocations, another copy, or %d texts in its table", n, mine.held())
	}
	var srv Server
	if got := srv.textRef(long); got == srv.textRef(long) || *got != long {
		t.Errorf("textRef of a text no table holds: not a box of its own, or another text")
	}
	if size, want := unsafe.Sizeof(wireLine{}), unsafe.Sizeof(uintptr(0))+8; size != want {
		t.Errorf("a transcript line takes %d octets, want %d", size, want)
	}
}

// refSink keeps refIn's result from being optimized away.
var refSink *string

// TestInternerConcurrent checks that sessions interning the same texts at
// once all get the one copy the table holds.
func TestInternerConcurrent(t *testing.T) {
	var in interner
	const texts, goroutines = 100, 8 // a tenth of the table: each finds a slot
	got := make([][texts]*byte, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for k := range texts {
				text, _ := in.intern(fmt.Sprint("MAIL FROM:<sender", k, "@example.com>"))
				got[g][k] = unsafe.StringData(text)
			}
		})
	}
	wg.Wait()
	for g := 1; g < goroutines; g++ {
		for k := range texts {
			if got[g][k] != got[0][k] {
				t.Fatalf("text %d: goroutines 0 and %d hold different copies", k, g)
			}
		}
	}
}

// TestInternInOwnTableWhenSharedIsFull checks that a server keeps in its
// own table the texts the process's table has no room for, once each,
// and takes nothing there that the process's table holds.
func TestInternInOwnTableWhenSharedIsFull(t *testing.T) {
	var shared, own interner
	held, _ := shared.intern(strings.Clone("250 2.0.0 Ok"))
	for i := range 3 * maxInterned {
		shared.intern(fmt.Sprint("junk ", i))
	}
	if got := internIn(&shared, &own, strings.Clone("250 2.0.0 Ok")); unsafe.StringData(got) != unsafe.StringData(held) || own.held() != 0 {
		t.Errorf("a text the process's table holds: another copy, or kept in the server's table (%d texts)", own.held())
	}
	missed := roomless(t, &shared, 10)
	for _, s := range missed {
		first := internIn(&shared, &own, strings.Clone(s))
		if again := internIn(&shared, &own, strings.Clone(s)); unsafe.StringData(again) != unsafe.StringData(first) {
			t.Errorf("%q: the second intern returned another copy", s)
		}
	}
	if n := own.held(); n != len(missed) {
		t.Errorf("the server's table holds %d texts, want the %d the process's had no room for", n, len(missed))
	}
}

// roomless returns n texts that the table in has no room for, filling it
// with the texts before them.
func roomless(t *testing.T, in *interner, n int) []string {
	t.Helper()
	var missed []string
	for i := 0; len(missed) < n && i < 100*maxInterned; i++ {
		if s := fmt.Sprint("RCPT TO:<user", i, "@example.com>"); in.ref(s) == nil {
			missed = append(missed, s)
		}
	}
	if len(missed) < n {
		t.Fatalf("the table found room for every text: not full")
	}
	return missed
}

// TestWaitForSessionEndWakesOnSessionsOnly checks that a wait for a
// session's end is woken by sessions starting and ending, not by each
// line of a long session: it copies the session once, when it ends.
func TestWaitForSessionEndWakesOnSessionsOnly(t *testing.T) {
	srv, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	done := make(chan error, 1)
	go func() {
		_, err := srv.WaitForSessionEndContext(t.Context(), 1)
		done <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	waits := func(c change) int32 { // the waits for changes of kind c
		return srv.changes.waiters[bits.TrailingZeros8(uint8(c))].Load()
	}
	for waits(changeSession) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the wait did not start within 10s")
		}
		time.Sleep(time.Millisecond)
	}
	if n := waits(changeLine); n != 0 {
		t.Errorf("%d waits for each line, want 0", n)
	}
	if n := waits(changeMessage); n != 0 {
		t.Errorf("%d waits for each message, want 0", n)
	}
	srv.Close()
	if err := <-done; err == nil {
		t.Error("the wait for a session never started returned no error when the server closed")
	}
}

// TestRetentionKeepsAnAwaitedSession checks that WithRetention keeps a
// session a WaitForSessionEnd waits for, however late the wait looks,
// and forgets it once the wait has it.
func TestRetentionKeepsAnAwaitedSession(t *testing.T) {
	srv, err := New(WithRetention(1))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// As a wait does before it first looks, for session 2; the test
	// stands in for a wait that has not looked since.
	srv.mu.Lock()
	srv.awaited = map[int]int{2: 1}
	srv.mu.Unlock()
	for i := range 3 {
		c, err := smtp.Dial(srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Quit(); err != nil {
			t.Fatal(err)
		}
		if _, err := srv.WaitForSessionEndContext(t.Context(), i+1); err != nil && i > 0 {
			t.Fatal(err)
		}
	}
	if srv.Session(2) == nil || srv.Session(1) != nil {
		t.Fatalf("kept sessions %v, want 2 (awaited) and 3 (the last)", sessionIDs(srv.Sessions()))
	}
	s, err := srv.WaitForSessionEndContext(t.Context(), 2)
	if err != nil || s.ID != 2 {
		t.Fatalf("WaitForSessionEndContext(2) = %v, %v; want session 2", s, err)
	}
	srv.mu.Lock()
	srv.awaited = nil // the stand-in wait has it too
	srv.retainLocked(srv.sessions[0])
	srv.mu.Unlock()
	if ids := sessionIDs(srv.Sessions()); len(ids) != 1 || ids[0] != 3 {
		t.Fatalf("kept sessions %v once no wait waits, want 3", ids)
	}
}

func sessionIDs(ss []*Session) []int {
	ids := make([]int, len(ss))
	for i, s := range ss {
		ids[i] = s.ID
	}
	return ids
}

// doneHook is a context whose Done runs hook once, then reports the
// context ended: a wait that selects on it finds its context ended and a
// change it has not looked at yet both ready, and takes either.
type doneHook struct {
	context.Context
	once sync.Once
	hook func()
	done chan struct{}
}

func (c *doneHook) Done() <-chan struct{} {
	c.once.Do(func() { c.hook(); close(c.done) })
	return c.done
}

func (c *doneHook) Err() error {
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}

// TestRetentionForgetsAnAwaitedSessionAfterATimeout checks that a wait
// whose context ends before it looks again at the session it waits for
// (which started, ended and left the last n meanwhile) lets WithRetention
// forget it: it kept it forever, past any newer session.
func TestRetentionForgetsAnAwaitedSessionAfterATimeout(t *testing.T) {
	srv, err := New(WithRetention(1))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	session := func() {
		c, err := smtp.Dial(srv.Addr())
		if err != nil {
			t.Error(err)
			return
		}
		if err := c.Quit(); err != nil {
			t.Error(err)
		}
	}
	// The wait's select takes the context or the change at random: 20
	// rounds, for a leak to show in all but one run in a million.
	for round := range 20 {
		id := 2*round + 1
		ctx := &doneHook{Context: context.Background(), done: make(chan struct{}), hook: func() {
			// Session id and the one after it, so that id leaves the
			// last one, both ended before the wait looks again.
			session()
			session()
			for _, id := range []int{id, id + 1} {
				if _, err := srv.WaitForSessionEndContext(t.Context(), id); err != nil {
					t.Error(err)
				}
			}
		}}
		s, err := srv.WaitForSessionEndContext(ctx, id)
		if err == nil && s.ID != id || err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("round %d: WaitForSessionEndContext(%d) = %v, %v", round, id, s, err)
		}
		if ids := sessionIDs(srv.Sessions()); len(ids) != 1 || ids[0] != id+1 {
			t.Fatalf("round %d: kept sessions %v once the wait for %d returned (%v), want %d only", round, ids, id, err, id+1)
		}
	}
}

// TestForgottenMessagesAreNotRemembered checks that what the server
// remembers of the messages the waits returned and the checks accounted
// for goes with the messages: under WithRetention, a long-running server
// whose clients wait for each message (the mocksmtp program's GET
// /api/wait) keeps bounded memory.
func TestForgottenMessagesAreNotRemembered(t *testing.T) {
	srv, err := New(WithRetention(3))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	remembered := func() (waited, accounted int) {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return len(srv.exp.waited), len(srv.exp.accounts)
	}
	for i := range 20 {
		subject := fmt.Sprintf("message %d", i)
		if err := sendData(c, "a@example.com", "b@example.com", "Subject: "+subject+"\r\n\r\nbody\r\n"); err != nil {
			t.Fatal(err)
		}
		if _, err := srv.WaitForContext(t.Context(), Want{Subject: subject}); err != nil {
			t.Fatal(err)
		}
	}
	if w, a := remembered(); w > 3 || a > 3 {
		t.Errorf("keeping 3 messages, the server remembers %d waited for and %d accounted for", w, a)
	}
	last := srv.LastMessages(1)[0]
	if !srv.DeleteMessage(last.ID) {
		t.Fatal("DeleteMessage: false")
	}
	if w, a := remembered(); w > 2 || a > 2 {
		t.Errorf("keeping 2 messages after DeleteMessage, the server remembers %d waited for and %d accounted for", w, a)
	}
	srv.Reset()
	if w, a := remembered(); w > 0 || a > 0 {
		t.Errorf("after Reset, the server remembers %d messages waited for and %d accounted for", w, a)
	}
}

// endedCtx is a context whose deadline the test sets as it ends it, so
// that a test can say exactly when a wait's time ran out.
type endedCtx struct {
	context.Context
	mu   sync.Mutex
	dl   time.Time
	done chan struct{}
}

func (c *endedCtx) end(at time.Time) {
	c.mu.Lock()
	c.dl = at
	c.mu.Unlock()
	close(c.done)
}

func (c *endedCtx) Deadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dl, !c.dl.IsZero()
}

func (c *endedCtx) Done() <-chan struct{} { return c.done }

func (c *endedCtx) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// after returns the clock's first reading after t: a deadline that has
// passed once it is returned.
func after(t time.Time) time.Time {
	for {
		if now := time.Now(); now.After(t) {
			return now
		}
	}
}

// TestAwaitJudgesByWhenTheChangeCame checks that a wait that runs late,
// past its deadline (a busy machine), still takes a change that came
// before the deadline, and not one that came at it or after.
func TestAwaitJudgesByWhenTheChangeCame(t *testing.T) {
	srv, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, before := range []bool{true, false} {
		ctx := &endedCtx{Context: context.Background(), done: make(chan struct{})}
		looks := 0
		err := srv.await(ctx, changeMessage, func() bool {
			looks++
			if looks > 1 {
				return true // what the change brought
			}
			// The wait has its wakes: a change now wakes it, and it runs
			// only after its time ran out.
			if before {
				srv.changes.changed(changeMessage)
				ctx.end(after(time.Now())) // after the change, and passed when the wait looks
			} else {
				ctx.end(time.Now())
				srv.changes.changed(changeMessage)
			}
			return false
		})
		switch {
		case before && (err != nil || looks != 2):
			t.Errorf("a change before the deadline: await = %v after %d looks, want nil after 2", err, looks)
		case !before && (!errors.Is(err, context.DeadlineExceeded) || looks != 1):
			t.Errorf("a change at the deadline: await = %v after %d looks, want %v after 1", err, looks, context.DeadlineExceeded)
		}
	}
}

// TestAwaitTakesNoChangeAfterTheDeadline checks that a wait that runs
// late does not count a change that came after its deadline because
// another change, of a kind it also wakes on, came before it: a session
// starting in time, its message too late (AssertNoMessages would report
// it as come within its time, WaitForMessages would pass with it).
func TestAwaitTakesNoChangeAfterTheDeadline(t *testing.T) {
	srv, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := &endedCtx{Context: context.Background(), done: make(chan struct{})}
	messages := 0
	looks := 0
	err = srv.await(ctx, changeMessage, func() bool {
		looks++
		if looks > 1 {
			return messages > 0
		}
		// The wait has its wakes and runs again only after all this: a
		// session starts before the deadline, its message comes after.
		srv.changes.changed(changeSession)
		ctx.end(after(time.Now())) // after the session's start
		messages++
		srv.changes.changed(changeMessage)
		return false
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a message after the deadline, a session start before it: await = %v after %d looks, want %v", err, looks, context.DeadlineExceeded)
	}
}

// What the server keeps of a stored message, and of a session, fits the
// allocator's 256-octet size class: one field more would take it to the
// 288-octet class, 32 octets more per message (BenchmarkStoredMessageHeap)
// or per session.
func TestRecordSizes(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes of a 64-bit platform")
	}
	if size := unsafe.Sizeof(kept{}); size > 256 {
		t.Errorf("a stored message's record takes %d octets, want at most 256", size)
	}
	if size := unsafe.Sizeof(session{}); size > 256 {
		t.Errorf("a session's record takes %d octets, want at most 256", size)
	}
}
