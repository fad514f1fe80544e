package mocksmtp

import (
	"runtime"
	"testing"
	"time"
	"weak"
)

// A test that shares a server adds a greylist and removes it at its end
// with t.Cleanup(remove): the testing package keeps the cleanup, and so
// the remove, as long as the test's parent runs (every parallel sibling
// to its end). The removed fault's state, the pairs it remembered (a
// load test's, ever new), goes all the same once it is removed, as
// GreylistFor says: remove lets go of the faults it took out. It kept
// them, with their state, as long as it was held.
func TestRemoveLetsGoOfTheRemovedFaults(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	remove, err := s.AddRemovableFault(GreylistFor(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	removed := weak.Make(s.faults.faults[0])
	s.mu.Unlock()
	remove()
	runtime.GC()
	if removed.Value() != nil {
		t.Error("the removed greylist, with the pairs it remembers, is still kept while its remove is held")
	}
	runtime.KeepAlive(remove)
}
