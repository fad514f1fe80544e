package interop

import (
	"strings"
	"testing"
)

// TestNodeClockStart runs node/clockstart.test.js (node --test) against
// the program started at the instant where the suite's fake clock starts
// (-clock-start): node's fake Date and the program's clock read the same
// from the start on, in the clock's answers and in the Exchange
// greeting's date, through a move of 0 (a backoff of 0) and one of 5m.
func TestNodeClockStart(t *testing.T) {
	t.Parallel()
	node := needProgram(t, "node", "apt-get install nodejs npm")
	needNode(t, node, 20, 11) // mock.timers with Date, and its now
	p := startProgram(t, "-clock-start", "2026-01-01T00:00:00Z", "-persona", "exchange")
	out := runExample(t, p, "node", node, "--test", "clockstart.test.js")
	if !strings.Contains(out, "# pass 1") || !strings.Contains(out, "# fail 0") {
		t.Errorf("clockstart.test.js did not pass its test:\n%s", out)
	}
}
