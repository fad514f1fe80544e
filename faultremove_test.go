package mocksmtp_test

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
)

// TestRemovingAFaultKeepsTheOthersState: two tests share a server (one
// Start in TestMain, an Inbox each); one adds a fault for itself and
// removes it at its end. The faults of the other keep their state: a
// greylisted pair stays remembered, an AtMost count stays used, a rate
// limit's window stays counted. ReplaceFaults with the others, the only
// way before, started them afresh: the pair was refused again.
func TestRemovingAFaultKeepsTheOthersState(t *testing.T) {
	t.Parallel()
	greylist := mocksmtp.GreylistFor(time.Nanosecond).ForRcpt("grey@example.com")
	once := mocksmtp.At(mocksmtp.StageRcpt).ForRcpt("once@example.com").AtMost(1).Reply(452, "4.5.3 once")
	limit := mocksmtp.RateLimitPer(2, time.Hour).ForSender("limited@example.com")
	srv := mocksmtp.Start(t, mocksmtp.WithFault(greylist, once, limit))
	send := func(from, to string) int {
		return faultCode(faultSendMail(srv, from, []string{to}))
	}
	// The other test's faults act: the pair is refused, the count used,
	// one of the two transactions of the hour made.
	if got := []int{send("app@example.com", "grey@example.com"), send("app@example.com", "once@example.com"), send("limited@example.com", "x@example.com")}; !cmp.Equal(got, []int{451, 452, 0}) {
		t.Fatalf("before: codes %v, want [451 452 0]", got)
	}

	// This test's own fault, which refuses every MAIL of its sender.
	mine := mocksmtp.At(mocksmtp.StageMail).ForSender("mine@example.com").Reply(550, "5.7.1 mine")
	remove, err := srv.AddRemovableFault(mine)
	if err != nil {
		t.Fatal(err)
	}
	if got := send("mine@example.com", "x@example.com"); got != 550 {
		t.Fatalf("with its fault: code %d, want 550", got)
	}
	remove()

	// Its fault is gone; the others remember.
	got := []int{
		send("mine@example.com", "x@example.com"),
		send("app@example.com", "grey@example.com"),  // the pair passes on its retry
		send("app@example.com", "once@example.com"),  // used up
		send("limited@example.com", "x@example.com"), // the hour's second
		send("limited@example.com", "y@example.com"), // over the limit
	}
	if want := []int{0, 0, 0, 0, 451}; !cmp.Equal(got, want) {
		t.Errorf("after the removal: codes %v, want %v", got, want)
	}
}

// remove removes the faults of its own call and nothing else: not equal
// faults that ReplaceFaults added after, nor those of another call; it
// still finds its own after Reset, which keeps the faults; a second call
// does nothing. On error it adds nothing, and its remove does nothing.
func TestRemoveTakesOnlyItsOwnFaults(t *testing.T) {
	t.Parallel()
	refuse := func(who string) mocksmtp.Fault {
		return mocksmtp.At(mocksmtp.StageMail).ForSender(who).Reply(550, "5.7.1 "+who)
	}
	srv := mocksmtp.Start(t)
	codes := func() []int {
		var got []int
		for _, who := range []string{"a@example.com", "b@example.com", "c@example.com"} {
			got = append(got, faultCode(faultSendMail(srv, who, []string{"x@example.com"})))
		}
		return got
	}
	removeA, err := srv.AddRemovableFault(refuse("a@example.com"), refuse("b@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	removeC, err := srv.AddRemovableFault(refuse("c@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Reset()
	removeA()
	if got := codes(); !cmp.Equal(got, []int{0, 0, 550}) {
		t.Errorf("after Reset and the first remove: codes %v, want [0 0 550]", got)
	}
	removeA() // again: nothing
	if err := srv.ReplaceFaults(refuse("c@example.com")); err != nil {
		t.Fatal(err)
	}
	removeC() // its fault went with ReplaceFaults; the equal one stays
	if got := codes(); !cmp.Equal(got, []int{0, 0, 550}) {
		t.Errorf("after ReplaceFaults and the second remove: codes %v, want [0 0 550]", got)
	}

	bad, err := srv.AddRemovableFault(refuse("a@example.com"), mocksmtp.At(mocksmtp.StageRcpt).Reply(999, "x"))
	if err == nil {
		t.Fatal("AddRemovableFault of a reply 999: no error")
	}
	bad()
	if got := codes(); !cmp.Equal(got, []int{0, 0, 550}) {
		t.Errorf("after a refused AddRemovableFault: codes %v, want [0 0 550]", got)
	}
}

// An IdleReply armed on a session by a fault that is removed waits no
// more, as after ReplaceFaults; one armed by a fault that stays closes
// its session at its time. Each session got its IdleReply from another
// fault (OnAttempt).
func TestRemovedFaultsIdleReplyWaitsNoMore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		kept := mocksmtp.At(mocksmtp.StageHelo).OnAttempt(1).IdleReply(time.Minute, 421, "4.4.2 idle too long")
		removed := mocksmtp.At(mocksmtp.StageHelo).OnAttempt(2).IdleReply(time.Minute, 421, "4.4.2 idle too long")
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(kept))
		remove, err := srv.AddRemovableFault(removed)
		if err != nil {
			t.Fatal(err)
		}
		first := dialBubble(t, srv)
		first.must("", 220)
		first.must("EHLO client.example", 250)
		second := dialBubble(t, srv)
		second.must("", 220)
		second.must("EHLO client.example", 250)
		synctest.Wait() // both sessions wait for their next command
		start := time.Now()
		remove()
		first.must("", 421)
		if waited := time.Since(start); waited != time.Minute {
			t.Errorf("the kept fault's IdleReply came after %v, want 1m0s", waited)
		}
		time.Sleep(time.Minute)
		second.must("NOOP", 250)
		second.must("QUIT", 221)
	})
}

// Sessions consult the script while a fault is added and removed over
// and over: each event meets the fault whole or not at all (its reply,
// or the other faults' answer), never a torn script, and the fault that
// stays keeps counting.
func TestRemoveWhileSessionsConsultTheScript(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageRcpt).ForRcpt("once@example.com").AtMost(1).Reply(452, "4.5.3 once")))
	toggled := mocksmtp.At(mocksmtp.StageRcpt).ForRcpt("x@example.com").Reply(550, "5.1.1 toggled")
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			remove, err := srv.AddRemovableFault(toggled, toggled)
			if err != nil {
				t.Error(err)
				return
			}
			remove()
		}
	}()
	const clients, sends = 4, 10
	codes := make(chan int, clients*sends)
	var senders sync.WaitGroup
	for range clients {
		senders.Add(1)
		go func() {
			defer senders.Done()
			for range sends {
				codes <- faultCode(faultSendMail(srv, "app@example.com", []string{"x@example.com"}))
			}
		}()
	}
	senders.Wait()
	close(done)
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != 0 && code != 550 {
			t.Errorf("a RCPT while the fault came and went: code %d, want 0 or 550", code)
		}
	}
	if got := []int{faultCode(faultSendMail(srv, "app@example.com", []string{"once@example.com"})), faultCode(faultSendMail(srv, "app@example.com", []string{"once@example.com"}))}; !cmp.Equal(got, []int{452, 0}) {
		t.Errorf("the fault that stayed: codes %v, want [452 0]", got)
	}
}
