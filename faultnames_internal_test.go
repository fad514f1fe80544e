package mocksmtp

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mocksmtp/mocksmtp/smtpd"
)

// Every Go name a fault's errors say is one Spelled renames: a name
// missing from spelledNames would reach the mocksmtp program's users as
// Go (RawReply where they wrote "rawReply"), and Spelled would refuse
// the program's key for it.
func TestSpelledNamesCoverTheErrors(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	named := regexp.MustCompile(`\b(?:api|call)\("([A-Za-z]+)"`)
	seen := map[string]bool{}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range named.FindAllSubmatch(src, -1) {
			seen[string(m[1])] = true
		}
	}
	// The names that errors say through a variable: the endings
	// (setThen), the paces (setPace, paceBy) and the TLS failures (with).
	for _, n := range []string{"Disconnect", "Drop", "ResetTCP", "HalfClose", "Stall", "Trickle", "SplitReply",
		"ExpiredCertificate", "WrongHostCertificate", "UntrustedCertificate", "AbortHandshake"} {
		seen[n] = true
	}
	if len(seen) < 20 {
		t.Fatalf("found %d names; the pattern no longer finds them", len(seen))
	}
	for n := range seen {
		if !slices.Contains(spelledNames, n) {
			t.Errorf("%s: said by a fault's error, missing from spelledNames", n)
		}
	}
}

// Reading a fault's ending and answer allocates nothing, with or without
// a 421 that closes: every event of every session asks. Building the
// error that names the ending (for problem) allocated on each, 12
// allocations per message.
func TestFaultEndingAllocatesNothing(t *testing.T) {
	for _, a := range []action{
		{},
		{reply: &smtpd.Reply{Code: 421, Status: "4.3.2", Lines: []string{"bye"}}},
		{then: smtpd.ResetConn, thenBy: "ResetTCP"},
	} {
		if n := testing.AllocsPerRun(100, func() { _ = a.answer() }); n != 0 {
			t.Errorf("answer of %+v: %v allocations, want 0", a, n)
		}
	}
}
