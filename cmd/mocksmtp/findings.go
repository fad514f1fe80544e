package main

// Conformance for a suite: the findings check, which fails as the Go
// API's WithStrict fails a test, and the flag that switches rules off.
//
//	GET /api/findings/check   200 {"met": true} when no client broke a rule,
//	                          else 417 {"error": "<the report of WithStrict>"}
//
// is what mocksmtp.Start(t, mocksmtp.WithStrict()) checks at the end of a
// test: every finding since the last reset (DELETE /api/messages),
// whatever its severity, in the report mocksmtp.FindingsReport writes,
// grouped by rule with the transcript lines of each. It does not wait:
// wait for the sessions to end first (GET /api/wait/sessions, with the
// same inbox=D), as a finding such as "no QUIT" comes at the end of a
// session. Findings are
// the sessions': with inbox=D, the check (and GET /api/findings) takes
// those of the sessions that named an address of the inbox's domain in a
// RCPT TO, accepted or refused, since the inbox's last reset (DELETE
// /api/messages?inbox=D; all those of a session that first named it
// after the reset), as Inbox.Findings does, so that parallel tests,
// each with its inbox, check their own clients; a session with no RCPT
// belongs to no inbox, and a finding about a message (its "message", or
// one refused, with none) is only its recipients' inboxes'. With
// remoteAddr=HOST:PORT, they take those of the client's sessions only
// (findingsOf), also one refused at MAIL, which is in no inbox. -without-rules switches rules off
// (mocksmtp.WithoutRules), named as mocksmtp.Rules() names them.
//
//	GET /api/rules            every rule, as mocksmtp.Rules() lists them, with its
//	                          RFC section (Rule.Ref) and whether it is on:
//	                          [{"rule": "bare-line-ending", "ref": "RFC 5321 2.3.8", "enabled": true}, ...]
//
// tells a suite the names -without-rules takes and findings carry, and
// which rules this program checks.

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/mocksmtp/mocksmtp"
)

// checkFindings answers GET /api/findings/check.
func (a *api) checkFindings(w http.ResponseWriter, r *http.Request) {
	fs, ok := a.findingsOf(w, r)
	if !ok {
		return
	}
	if len(fs) == 0 {
		writeJSON(w, http.StatusOK, checkJSON{Met: true})
		return
	}
	// The report quotes the transcripts of the sessions with findings:
	// those only, not every session kept.
	var sessions []*mocksmtp.Session
	seen := map[int]bool{}
	for _, f := range fs {
		if seen[f.Session] {
			continue
		}
		seen[f.Session] = true
		if s := a.srv.Session(f.Session); s != nil {
			sessions = append(sessions, s)
		}
	}
	writeError(w, http.StatusExpectationFailed, "%s", mocksmtp.FindingsReport(fs, sessions))
}

// ruleJSON is one rule as GET /api/rules lists it: named as a finding
// names it (findingJSON).
type ruleJSON struct {
	Rule    string `json:"rule"`
	Ref     string `json:"ref"`     // its RFC section, as Rule.Ref
	Enabled bool   `json:"enabled"` // false: -without-rules switched it off
}

// listRules answers GET /api/rules.
func (a *api) listRules(w http.ResponseWriter, r *http.Request) {
	if _, ok := query(w, r, false); !ok {
		return
	}
	out := []ruleJSON{}
	for _, rule := range mocksmtp.Rules() {
		out = append(out, ruleJSON{Rule: string(rule), Ref: rule.Ref(), Enabled: !slices.Contains(a.setup.withoutRules, rule)})
	}
	writeJSON(w, http.StatusOK, out)
}

// ruleNames returns the names of every rule, in the order of reports.
func ruleNames() []string {
	var names []string
	for _, r := range mocksmtp.Rules() {
		names = append(names, string(r))
	}
	return names
}

// parseRules reads the value of -without-rules: rule names separated by
// commas, each one of mocksmtp.Rules(); none for "".
func parseRules(v string) ([]mocksmtp.Rule, error) {
	known := ruleNames()
	var rules []mocksmtp.Rule
	for _, name := range splitList(v) {
		if !slices.Contains(known, name) {
			return nil, fmt.Errorf("unknown rule %q%s; the rules are: %s", name, didYouMean(name, known), strings.Join(known, ", "))
		}
		rules = append(rules, mocksmtp.Rule(name))
	}
	return rules, nil
}

// nearest returns the name of names closest to s, when it is close
// enough to be what s meant (a typo, another case): at most a third of
// its letters differ, case aside. It returns "" otherwise.
func nearest(s string, names []string) string {
	best, bestDist := "", len(s)/3+1
	for _, n := range names {
		if abs(len(s)-len(n)) >= bestDist {
			continue // at least that far: a long name costs nothing
		}
		if d := editDistance(strings.ToLower(s), strings.ToLower(n)); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// didYouMean is the hint for an unknown name s, " (did you mean \"to\"?)",
// when one of names is near it; "" otherwise. Every unknown name (a flag's
// value, a query parameter, a JSON key) is hinted at through it.
func didYouMean(s string, names []string) string {
	if near := nearest(s, names); near != "" {
		return fmt.Sprintf(" (did you mean %q?)", near)
	}
	return ""
}

func abs(n int) int {
	return max(n, -n)
}

// editDistance is the number of edits from a to b, in bytes: a byte
// inserted, deleted, replaced, or two neighbours swapped (the optimal
// string alignment distance: "nmae" is 1 from "name", as typed).
func editDistance(a, b string) int {
	before := make([]int, len(b)+1) // row i-2
	prev := make([]int, len(b)+1)   // row i-1
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], before[j-2]+1)
			}
		}
		before, prev, cur = prev, cur, before
	}
	return prev[len(b)]
}
