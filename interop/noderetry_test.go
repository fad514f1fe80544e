package interop

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNodeRetryFakeTime runs node/retry.test.js (node --test) against the
// program on its frozen clock: an app that retries a 4xx after a backoff
// it waits with setTimeout, tested with node's fake timers, the program's
// clock moved as far at the same moment. Greylisting refuses the retry
// 5m-1ms after the first refusal and passes the one at 5m, rateLimitPer
// refuses the retry 1m-1ms after the mail it counted and passes the one
// at 1m, and a delay of 1h at DATA, waited for with GET /api/wait/clock,
// still holds the 354 1ms short of its end and ends with the last 1ms.
// Each test's inbox passes the findings check (-without-rules quit:
// nodemailer never sends QUIT), and each test removes its own faults at
// its end, by the ids POST /api/faults answered. The program's clock then stands exactly
// where the moves put it, and the slow session's transcript has the moves
// before its 354.
func TestNodeRetryFakeTime(t *testing.T) {
	t.Parallel()
	node := needNodemailer(t)
	needNode(t, node, 20, 11) // mock.timers with Date, and its now
	p := startProgram(t, "-clock", "frozen", "-without-rules", "quit")
	out := runExample(t, p, "node", node, "--test", "retry.test.js")
	if !strings.Contains(out, "# pass 3") || !strings.Contains(out, "# fail 0") {
		t.Errorf("retry.test.js did not pass its 3 tests:\n%s", out)
	}

	res, body := p.call(t, "GET", "/api/clock", "")
	var clock struct {
		Offset string `json:"offset"`
		Mode   string `json:"mode"`
		Waits  int    `json:"waits"`
	}
	if err := json.Unmarshal(body, &clock); err != nil || res.StatusCode != 200 {
		t.Fatalf("GET /api/clock: %s %v\n%s", res.Status, err, body)
	}
	// 4m59.999s + 1ms, 59.999s + 1ms, 59m59.999s + 1ms: nothing else moved it.
	if clock.Offset != "1h6m0s" || clock.Mode != "frozen" || clock.Waits != 0 {
		t.Errorf("the clock: offset %q, mode %q, %d waits; want 1h6m0s, frozen, 0", clock.Offset, clock.Mode, clock.Waits)
	}

	res, body = p.call(t, "GET", "/api/findings", "")
	if res.StatusCode != 200 || strings.TrimSpace(string(body)) != "[]" {
		t.Errorf("GET /api/findings: %s, want no finding\n%s", res.Status, body)
	}

	// Each test removed its own faults by their ids (DELETE
	// /api/faults/{id}), and no other's: none is left.
	res, body = p.call(t, "GET", "/api/faults", "")
	if res.StatusCode != 200 || strings.TrimSpace(string(body)) != "[]" {
		t.Errorf("GET /api/faults: %s, want no fault left: each test removes its own\n%s", res.Status, body)
	}

	res, body = p.call(t, "GET", "/api/messages?subject=Slow", "")
	var msgs []struct {
		SessionID int `json:"sessionId"`
	}
	if err := json.Unmarshal(body, &msgs); err != nil || res.StatusCode != 200 || len(msgs) != 1 {
		t.Fatalf("GET /api/messages?subject=Slow: %s %v, want 1 message\n%s", res.Status, err, body)
	}
	res, body = p.call(t, "GET", "/api/sessions/"+strconv.Itoa(msgs[0].SessionID), "")
	var s struct {
		Transcript []struct {
			Dir  string `json:"dir"`
			Text string `json:"text"`
		} `json:"transcript"`
	}
	if err := json.Unmarshal(body, &s); err != nil || res.StatusCode != 200 {
		t.Fatalf("GET /api/sessions/%d: %s %v\n%s", msgs[0].SessionID, res.Status, err, body)
	}
	var notes []string
	for _, l := range s.Transcript {
		if l.Dir == "*" || strings.HasPrefix(l.Text, "354 ") {
			notes = append(notes, l.Dir+": "+l.Text)
		}
		if strings.HasPrefix(l.Text, "354 ") {
			break
		}
	}
	want := []string{
		"*: fault retry.test.js: slow DATA: DATA attempt 8 → delay 1h0m0s", // the 8th connection of the program
		"*: clock moved ahead 59m59.999s (1h5m59.999s in all)",
		"*: clock moved ahead 1ms (1h6m0s in all)",
		"S: 354 End data with <CR><LF>.<CR><LF>",
	}
	if diff := cmp.Diff(want, notes); diff != "" {
		t.Errorf("the slow session's transcript: the delay, the two moves, then the 354 (-want +got):\n%s", diff)
	}
}

// needNode skips the test when node is older than major.minor, or fails
// it under MOCKSMTP_REQUIRE_CLIENTS.
func needNode(t *testing.T, node string, major, minor int) {
	t.Helper()
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		t.Fatalf("node --version: %v", err)
	}
	var gotMajor, gotMinor int
	if _, err := fmt.Sscanf(string(out), "v%d.%d", &gotMajor, &gotMinor); err != nil {
		t.Fatalf("node --version: %q: %v", out, err)
	}
	if gotMajor < major || gotMajor == major && gotMinor < minor {
		missing(t, "node %s is too old: want %d.%d or later", strings.TrimSpace(string(out)), major, minor)
	}
}
