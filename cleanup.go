package mocksmtp

import (
	"fmt"
	"io"
	"strings"
	"testing"
)

// This file holds where the reports of the cleanups of Start, of a test's
// expectations and of Inbox point: at the user's line that registered the
// cleanup, which their text names too ("mocksmtp: Start at x_test.go:12").
//
// The testing package reports what a cleanup prints at the line of the
// call that registered it when the cleanup, and the functions it calls,
// are helpers (t.Helper): it knows the stack of each t.Cleanup call. Not
// inside a testing/synctest bubble (Go 1.25 and 1.26): the bubble's T
// hands its Helper marks and its output to the test that called
// synctest.Test, whose search for the caller does not know the bubble's
// cleanups, and stops at the testing package's own wrapper of every
// cleanup ("testing.go:1317: mocksmtp: Start at x_test.go:12: ..."). No
// frame of the user's is on the stack by then. There, and from a
// goroutine other than the cleanup's, the report is written at the line
// it is about through t.Output, as t.Errorf and t.Log would write it.

// reportsAt returns the test a cleanup reports on: t, or, inside a
// synctest bubble, t writing its reports at at ("x_test.go:12", the line
// that registered the cleanup).
func reportsAt(t testing.TB, at string) testing.TB {
	if !inBubble(t) {
		return t
	}
	return writesAt(t, at)
}

// inBubble reports whether t is the test of a testing/synctest bubble.
// Nothing says so but T.Deadline, which must not be called inside a
// bubble (synctest.Test) and panics there; elsewhere it returns at once.
func inBubble(t testing.TB) (in bool) {
	tt, ok := t.(*testing.T)
	if !ok {
		return false
	}
	defer func() {
		if recover() != nil {
			in = true
		}
	}()
	tt.Deadline()
	return false
}

// writesAt returns t writing what it reports (Error, Errorf, Log, Logf)
// at the line at, for the testing package's own tests and benchmarks;
// another testing.TB, or an unknown line, as it is.
func writesAt(t testing.TB, at string) testing.TB {
	switch t.(type) {
	case *testing.T, *testing.B, *testing.F:
		if at != "" && at != "?" {
			return atLine{TB: t, at: at}
		}
	}
	return t
}

// atLine is a test that writes reports at a line of the user's: as the
// testing package writes a log entry, "x_test.go:12: " and the text, its
// later lines indented. (It writes the file's base name even under
// -test.fullpath, as the reports' texts name it.)
type atLine struct {
	testing.TB
	at string
}

func (t atLine) Errorf(format string, args ...any) {
	t.write(fmt.Sprintf(format, args...))
	t.Fail()
}

func (t atLine) Error(args ...any) {
	t.write(fmt.Sprintln(args...))
	t.Fail()
}

func (t atLine) Logf(format string, args ...any) { t.write(fmt.Sprintf(format, args...)) }
func (t atLine) Log(args ...any)                 { t.write(fmt.Sprintln(args...)) }

func (t atLine) write(s string) {
	s = strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n    ")
	_, _ = io.WriteString(t.Output(), t.at+": "+s+"\n")
}
