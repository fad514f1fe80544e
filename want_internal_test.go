package mocksmtp

import "testing"

// More wanted attachments or signatures than a message has never match,
// and cost no comparison: a filter of thousands of them against a message
// of hundreds would otherwise take their product.
func TestEachMatchesOneStopsWhenMoreAreWanted(t *testing.T) {
	calls := 0
	match := func(w, g int) bool { calls++; return w == g }
	if eachMatchesOne([]int{1, 2, 3}, []int{1, 2}, match) {
		t.Error("3 wanted matched 2")
	}
	if calls != 0 {
		t.Errorf("%d comparisons for more wanted than got, want none", calls)
	}
	if !eachMatchesOne([]int{2, 1}, []int{1, 2, 3}, match) {
		t.Error("2 wanted did not match 2 of 3")
	}
	if eachMatchesOne([]int{1, 1}, []int{1, 2}, match) {
		t.Error("the same one matched twice")
	}
}
