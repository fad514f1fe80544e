package smtpd

import "testing"

// TestAnswerAllocatesNothing checks that answering an event allocates
// nothing: a driver answers every event, and the engine keeps the answer
// by value, not on the heap.
func TestAnswerAllocatesNothing(t *testing.T) {
	c := &Conn{cur: &Event{Kind: Noop}}
	r := Reply{Code: 250, Lines: []string{"Ok"}}
	if n := testing.AllocsPerRun(100, func() { c.Answer(Answer{Reply: &r, Then: KeepOpen}) }); n != 0 {
		t.Errorf("Answer: %v allocations, want none", n)
	}
	if c.ans.Reply != &r {
		t.Errorf("the answer was not kept")
	}
}
