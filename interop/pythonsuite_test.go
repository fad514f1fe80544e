package interop

import (
	"strings"
	"testing"
)

// TestProgramParallelRetryPython runs a Python app's unittest suite
// (testdata/parallel_retry.py, the standard library only) against one
// program started with -clock-start, its test cases in parallel threads
// as a shared CI fixture runs them: each with its inbox, its faults added
// in setUp and removed by id in tearDown, its sessions found by its
// client's address and by inbox, its findings and expectations checked
// by inbox. The app retries a temporary failure after a backoff on a fake
// clock that the suite mirrors onto POST /api/clock/advance (a backoff of
// 0 too): a delay before greylisting, a rate limit, an idle reply, each
// met at its exact boundary; beside them, greylisting without a window
// and a permanent failure it does not retry. Each test runs twice.
func TestProgramParallelRetryPython(t *testing.T) {
	t.Parallel()
	python := needProgram(t, "python3", "apt-get install python3")
	const start = "2026-01-01T00:00:00Z"
	p := startProgram(t, "-clock-start", start)
	out, err := runProgram(t, nil, python, "testdata/parallel_retry.py", p.http, start)
	if err != nil {
		t.Fatalf("parallel_retry.py: %v\n%s", err, out)
	}
	if !strings.Contains(out, "\nRan 10 tests in ") || !strings.HasSuffix(strings.TrimSpace(out), "\nOK") {
		t.Errorf("parallel_retry.py ran other tests than its 10, or not OK:\n%s", out)
	}
}
