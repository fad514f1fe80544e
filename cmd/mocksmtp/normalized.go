package main

// Golden files (snapshots) over HTTP: a message and a session's transcript
// in the normalized form a Go test compares with its golden file, for the
// snapshot tools of other languages (syrupy, pytest-snapshot, Jest).
//
//	GET /api/messages/{id}/normalized  Message.Normalized, with masks
//	GET /api/sessions/{id}/normalized  Session.Normalized, with masks, once the session has ended
//
// Masks are mocksmtp.Mask's two arguments as query parameters: mask=RE
// (Go syntax) and replacement=R, the n-th replacement for the n-th mask,
// applied in order after the built-in normalization, as
// regexp.Regexp.ReplaceAllString applies them ($1 for a group). The Go
// API's Session.Normalized takes none, since a Go test has a server of
// its own; tests that share the program each have an inbox, whose domain
// shows in RCPT TO and changes from run to run.

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/mocksmtp/mocksmtp"
)

// maxMasks bounds the masks of one request.
const maxMasks = 100

// maxMaskedBytes bounds what masks may make of a normalized form: a mask
// that matches everywhere, with a long replacement, would otherwise make
// gigabytes of a message of megabytes. A form larger than this before its
// masks may still be masked, but not made larger.
const maxMaskedBytes = 64 << 20

// textMask is one mask of a request: what mocksmtp.Mask takes.
type textMask struct {
	re          *regexp.Regexp
	replacement string
}

// masksOf reads the masks of a query that query checked. On a problem it
// answers 400, naming each mask at fault.
func masksOf(w http.ResponseWriter, q url.Values) ([]textMask, bool) {
	exprs, repls := q["mask"], q["replacement"]
	if len(exprs) > maxMasks {
		writeError(w, http.StatusBadRequest, "%d masks: give at most %d", len(exprs), maxMasks)
		return nil, false
	}
	var problems []string
	if len(exprs) != len(repls) {
		problems = append(problems, fmt.Sprintf("%s and %s: give one replacement= for each mask=, in the same order (replacement= for an empty one)",
			plural(len(exprs), "mask"), plural(len(repls), "replacement")))
	}
	named := make([]namedRegexp, len(exprs))
	for i, expr := range exprs {
		named[i] = namedRegexp{fmt.Sprintf("mask %d", i+1), expr}
	}
	if err := checkRegexps(named...); err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return nil, false
	}
	masks := make([]textMask, len(exprs))
	for i, expr := range exprs {
		if expr == "" {
			problems = append(problems, fmt.Sprintf("mask %d is empty", i+1))
			continue
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			problems = append(problems, fmt.Sprintf("mask %d, %q: %s", i+1, clip(expr), clipQuoted(err)))
			continue
		}
		if i < len(repls) {
			masks[i] = textMask{re, repls[i]}
		}
	}
	if len(problems) > 0 {
		writeError(w, http.StatusBadRequest, "%s (a mask is a regular expression in Go's syntax, such as token=\\w+)", strings.Join(problems, "; "))
		return nil, false
	}
	return masks, true
}

// applyMasks replaces what each mask matches in s, in order, as
// mocksmtp.Mask options do in Message.Normalized (ReplaceAllString on the
// normalized form). Before each mask, it counts the matches: when the
// result could be larger than limit (and than s), it returns an error
// naming the mask instead.
func applyMasks(s string, masks []textMask, limit int) (string, error) {
	limit = max(limit, len(s))
	for i, m := range masks {
		// A match of k octets becomes at most len(replacement) octets of
		// text and, for each $ of the replacement, k octets of a group.
		var n, matched int64
		m.re.ReplaceAllStringFunc(s, func(match string) string {
			n++
			matched += int64(len(match))
			return ""
		})
		refs := int64(strings.Count(m.replacement, "$"))
		if size := int64(len(s)) - matched + n*int64(len(m.replacement)) + refs*matched; size > int64(limit) {
			return "", fmt.Errorf("mask %d, %q: its %s would make the normalized form larger than %s",
				i+1, clip(m.re.String()), plural(int(n), "replacement"), octets(limit))
		}
		s = m.re.ReplaceAllString(s, m.replacement)
	}
	return s, nil
}

// octets returns a size, in MiB when it is a whole number of them.
func octets(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return plural(n, "octet")
}

// writeText writes s as text/plain, exactly.
func writeText(w http.ResponseWriter, s string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(s)))
	_, _ = io.WriteString(w, s)
}

// normalizedMessage answers GET /api/messages/{id}/normalized: the
// message as Message.Normalized writes it for a golden file, masked.
func (a *api) normalizedMessage(w http.ResponseWriter, r *http.Request) {
	q, ok := query(w, r, false, "mask", "replacement")
	if !ok {
		return
	}
	masks, ok := masksOf(w, q)
	if !ok {
		return
	}
	m, ok := a.message(w, r)
	if !ok {
		return
	}
	out, err := applyMasks(m.Normalized(), masks, a.maxMasked)
	if err != nil {
		writeError(w, http.StatusBadRequest, "message %d: %v", m.ID, err)
		return
	}
	writeText(w, out)
}

// normalizedTranscript answers GET /api/sessions/{id}/normalized: the
// session's transcript as Session.Normalized writes it for a golden
// file (a note where the lines a long session forgot were), masked. A live session's transcript still grows: it waits until
// the session has ended (the client quit or went away, or the server
// closed it), as WaitForSessionEndContext does, also for a session not
// yet started, and answers 408 when the timeout passes first; 404 at once
// for a session the server keeps no longer.
func (a *api) normalizedTranscript(w http.ResponseWriter, r *http.Request) {
	q, ok := query(w, r, false, "mask", "replacement", "timeout")
	if !ok {
		return
	}
	masks, ok := masksOf(w, q)
	if !ok {
		return
	}
	_, timeout, ok := a.waitQuery(w, q, "sessions")
	if !ok {
		return
	}
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	s := a.awaitSessionEnd(w, r, id, timeout, func(s *mocksmtp.Session, waited string) {
		writeError(w, http.StatusRequestTimeout, "%s: its transcript is normalized once the client quits or closes the connection; so far:\n%s",
			waited, strings.TrimSuffix(sessionText(s), "\n"))
	})
	if s == nil {
		return
	}
	out, err := applyMasks(s.Normalized(), masks, a.maxMasked)
	if err != nil {
		writeError(w, http.StatusBadRequest, "session %d: %v", id, err)
		return
	}
	writeText(w, out)
}
