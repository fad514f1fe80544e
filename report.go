package mocksmtp

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-cmp/cmp"
)

// This file writes failure reports: what was wanted, the nearest message as
// a (-want +got) diff, the transcript lines that explain it, and totals.

// view is what a report looks at: snapshots taken once, so that every part
// of a report tells the same story.
type view struct {
	s        *Server
	in       *Inbox     // nil: the whole server
	all      []*Message // every message the server has, in arrival order
	scoped   []*Message // those of the inbox (all of them without one)
	sessions []*Session
	inboxes  []inboxInfo
}

// inboxInfo names an inbox in reports.
type inboxInfo struct {
	domain, test string
}

// newView takes the snapshots for a report on in (nil: the server). It
// lists the messages and sessions at one instant, so that under
// WithRetention a message it shows has its session, with the transcript
// lines that explain it.
func (s *Server) newView(in *Inbox) *view {
	v := &view{s: s, in: in}
	s.mu.Lock()
	refs, recs := slices.Clone(s.messages), slices.Clone(s.sessions)
	for _, x := range s.exp.inboxes {
		v.inboxes = append(v.inboxes, inboxInfo{x.domain, x.test})
	}
	s.mu.Unlock()
	v.all, v.sessions = snapshotsOf(refs), sessionsOf(recs)
	for _, m := range v.all {
		if in.has(m) {
			v.scoped = append(v.scoped, m)
		}
	}
	return v
}

// upTo cuts the view's messages to those the server had accepted when
// the last message ID it had given was seen (arrivedBy): the report of a
// wait that failed speaks of what the wait saw, not of a message that
// came at its deadline, which is too late, or as it returned. It returns
// v.
func (v *view) upTo(seen int) *view {
	v.all, v.scoped = arrivedBy(v.all, seen), arrivedBy(v.scoped, seen)
	return v
}

// totals returns the last line of a report.
func (v *view) totals() string {
	if v.in == nil {
		return fmt.Sprintf("in all: %s, %s", plural(len(v.sessions), "session"), plural(len(v.all), "message"))
	}
	return fmt.Sprintf("in all: %s in this inbox; %s, %s on the server",
		plural(len(v.scoped), "message"), plural(len(v.sessions), "session"), plural(len(v.all), "message"))
}

// inboxOf describes where an out-of-scope message went.
func (v *view) inboxOf(m *Message) string {
	for _, x := range v.inboxes {
		if x.domain == v.in.domain {
			continue
		}
		for _, to := range m.To {
			if inboxDomainOf(to) == x.domain {
				return fmt.Sprintf("it went to the inbox of %s (%s), not to this one", x.test, x.domain)
			}
		}
	}
	return "it went to no inbox, not to this one"
}

// unset hides from a diff the fields that neither side sets: a Want
// projection has only the fields the Want sets.
var unset = cmp.FilterPath(func(p cmp.Path) bool {
	sf, ok := p.Last().(cmp.StructField)
	if !ok {
		return false
	}
	x, y := sf.Values()
	return x.IsValid() && y.IsValid() && x.IsZero() && y.IsZero()
}, cmp.Ignore())

// A candidate is a message a report may show as the nearest to a Want.
type candidate struct {
	m    *Message
	tier int    // lower is preferred when as near
	note string // why the message did not count, if it was not its misses
}

// writeNearest writes the message nearest to mt among cands, fewest
// differing fields first, then lowest tier, then earliest, as a diff with
// its transcript lines. With no candidate it writes what did happen.
func (v *view) writeNearest(b *strings.Builder, mt *matcher, cands []candidate) {
	best, bestMiss := -1, 0
	for i, c := range cands {
		miss := mt.misses(c.m)
		if best < 0 || miss < bestMiss || miss == bestMiss && c.tier < cands[best].tier {
			best, bestMiss = i, miss
		}
	}
	if best < 0 {
		v.writeNoCandidates(b)
		return
	}
	c := cands[best]
	if bestMiss == 0 {
		fmt.Fprintf(b, "%v matches, but %s.\n", c.m, c.note)
	} else {
		fmt.Fprintf(b, "nearest: %v", c.m)
		if c.note != "" {
			fmt.Fprintf(b, "; %s", c.note)
		}
		w, g := mt.shown(c.m)
		verb := "differ"
		if bestMiss == 1 {
			verb = "differs"
		}
		fmt.Fprintf(b, "\n%s of %d %s (-want +got):\n%s",
			plural(bestMiss, "field"), len(mt.fields), verb, cmp.Diff(w, g, unset))
	}
	v.writeMessageLines(b, c.m)
}

// writeNoCandidates says that there was no message to compare with, and
// shows the sessions that explain why.
func (v *view) writeNoCandidates(b *strings.Builder) {
	switch {
	case len(v.all) > 0:
		fmt.Fprintf(b, "no other message to compare with.\n")
	case len(v.sessions) == 0:
		b.WriteString(v.s.noClient() + "\n")
		return
	default:
		fmt.Fprintf(b, "no message arrived.\n")
	}
	const maxSessions = 3
	shown := 0
	for _, ss := range v.sessions {
		if len(ss.Messages) > 0 {
			continue
		}
		if shown == maxSessions {
			b.WriteString("(more sessions not shown)\n")
			break
		}
		writeLines(b, ss, 0, len(ss.Transcript)-1)
		shown++
	}
}

// writeMessages lists the first few messages on a line each, the
// transcript lines of the first of them below them, and counts the rest.
func (v *view) writeMessages(b *strings.Builder, msgs []*Message) {
	const maxShown = 3
	for i, m := range msgs {
		if i == maxListed {
			fmt.Fprintf(b, "(%s not shown)\n", plural(len(msgs)-i, "more message"))
			break
		}
		fmt.Fprintf(b, "%v\n", m)
		if i < maxShown {
			v.writeMessageLines(b, m)
			v.writeRepeat(b, m)
		}
	}
}

// writeRepeat writes, for a message that repeats one the server accepted
// before it (the same Message-ID, or the same bytes), what followed that
// acceptance in the first copy's session: a client sends a message again
// when it took the first delivery for failed (a QUIT that timed out, a
// connection dropped after the 250), and those lines say why, where the
// repeat's own transaction reads as a normal delivery.
func (v *view) writeRepeat(b *strings.Builder, m *Message) {
	first, same := v.firstCopy(m)
	if first == nil {
		return
	}
	ss := v.session(first)
	from, to := -1, -1
	if ss != nil {
		from, to = acceptedAt(ss.Transcript, first.ID), len(ss.Transcript)-1
		if m.Session != nil && m.Session.ID == ss.ID {
			if mail := mailOf(ss.Transcript, acceptedAt(ss.Transcript, m.ID)); mail >= 0 {
				to = mail - 1 // in one session: up to the repeat's MAIL
			}
		}
	}
	if from < 0 || from > to {
		fmt.Fprintf(b, "it repeats message %d (%s).\n", first.ID, same)
		return
	}
	fmt.Fprintf(b, "it repeats message %d (%s), which session %d accepted; what followed there:\n", first.ID, same, ss.ID)
	writeLines(b, ss, from, to)
}

// firstCopy returns the first message before m with m's Message-ID or,
// without one, m's bytes, and says which: nil when m is the first.
func (v *view) firstCopy(m *Message) (*Message, string) {
	for _, p := range v.all {
		if p.ID >= m.ID {
			break
		}
		if m.MessageID != "" && p.MessageID == m.MessageID {
			return p, "the same Message-ID <" + m.MessageID + ">"
		}
		if bytes.Equal(p.Raw, m.Raw) {
			return p, "the same bytes"
		}
	}
	return nil, ""
}

// acceptedAt returns the index of the note "message id accepted" in tr,
// -1 if tr has none (it was forgotten, or the message is not of tr).
func acceptedAt(tr Transcript, id int) int {
	accepted := fmt.Sprintf("message %d accepted", id)
	for i, l := range tr {
		if l.Dir == Note && strings.HasPrefix(l.Text, accepted) {
			return i
		}
	}
	return -1
}

// mailOf returns the index of the MAIL command at or before line end of
// tr, the start of the transaction that line ends; -1 if there is none.
func mailOf(tr Transcript, end int) int {
	for i := end; i >= 0; i-- {
		if tr[i].Dir == FromClient && len(tr[i].Text) >= 4 && strings.EqualFold(tr[i].Text[:4], "MAIL") {
			return i
		}
	}
	return -1
}

// writeMessageLines writes the transcript lines of m's transaction: from
// its MAIL command to the reply to its data.
func (v *view) writeMessageLines(b *strings.Builder, m *Message) {
	ss := v.session(m)
	if ss == nil {
		return
	}
	tr := ss.Transcript
	end := acceptedAt(tr, m.ID)
	if end < 0 { // not found: show it all
		writeLines(b, ss, 0, len(tr)-1)
		return
	}
	start := mailOf(tr, end)
	if start < 0 {
		start = end
	}
	for end+1 < len(tr) && tr[end+1].Dir != FromClient {
		end++ // the reply to the data, and any notes with it
		if tr[end].Dir == FromServer && !isContinuation(tr[end].Text) {
			break
		}
	}
	writeLines(b, ss, start, end)
}

// session returns the view's snapshot of the session that delivered m
// (a message's Session has no transcript), nil if the view has none.
func (v *view) session(m *Message) *Session {
	if m.Session == nil {
		return nil
	}
	for _, ss := range v.sessions {
		if ss.ID == m.Session.ID {
			return ss
		}
	}
	return nil
}

// isContinuation reports a reply line that another line follows ("250-").
func isContinuation(s string) bool { return len(s) > 3 && s[3] == '-' }

// writeLines writes lines from to to (0-based, inclusive) of a session's
// transcript, numbered as the session's lines are (Session.Forgotten
// counted), the middle of a long stretch cut.
func writeLines(b *strings.Builder, ss *Session, from, to int) {
	tr := ss.Transcript
	fmt.Fprintf(b, "session %d, %s", ss.ID, ss.state())
	if len(tr) == 0 {
		b.WriteString("; nothing was said\n")
		return
	}
	first := ss.Forgotten + 1 // the number of tr[0]
	fmt.Fprintf(b, "; lines %d-%d of %d:\n", first+from, first+to, ss.Forgotten+len(tr))
	const head, tail = 12, 20
	for i := from; i <= to; i++ {
		if to-from+1 > head+tail+1 && i == from+head {
			fmt.Fprintf(b, "     … %d lines …\n", to-from+1-head-tail)
			i = to - tail + 1
		}
		fmt.Fprintf(b, "%4d %s\n", first+i, tr[i])
	}
}

// state says how the session stands: "ended: QUIT", "still open". A
// session whose client's QUIT the server answered with 221 has ended, as
// the client sees it, even while the server drains the connection before
// it records the end: a report taken after the client's QUIT returned
// reads the same every time.
func (ss *Session) state() string {
	if ss.open() {
		return "still open"
	}
	end := ss.Ended
	if end == Live {
		end = EndQuit
	}
	return "ended: " + end.String()
}

// open reports whether the session goes on: it has not ended, and its
// client did not quit (see state).
func (ss *Session) open() bool { return ss.Ended == Live && !quitAnswered(ss.Transcript) }

// quitAnswered reports whether a transcript ends with the client's QUIT
// and, right after it, the server's 221: what the engine closes the
// session after. A fault at QUIT notes itself between the two lines.
func quitAnswered(tr Transcript) bool {
	n := len(tr)
	return n >= 2 && tr[n-1].Dir == FromServer && strings.HasPrefix(tr[n-1].Text, "221 ") &&
		tr[n-2].Dir == FromClient && strings.EqualFold(strings.TrimSpace(tr[n-2].Text), "QUIT")
}

// writeState writes what a failed wait found: the messages in scope, a
// line each, and the sessions that may tell why the wait went on, with
// their transcripts: the live ones and those that delivered no message,
// the last few of them.
func (v *view) writeState(b *strings.Builder) {
	const maxMessages, maxSessions = 10, 3
	msgs := v.scoped
	if len(msgs) > maxMessages {
		fmt.Fprintf(b, "(%s not shown)\n", plural(len(msgs)-maxMessages, "earlier message"))
		msgs = msgs[len(msgs)-maxMessages:]
	}
	for _, m := range msgs {
		fmt.Fprintf(b, "%v\n", m)
	}
	var shown []*Session
	for _, ss := range v.sessions {
		if ss.open() || len(ss.Messages) == 0 {
			shown = append(shown, ss)
		}
	}
	if len(shown) > maxSessions {
		fmt.Fprintf(b, "(%s without a message not shown)\n", plural(len(shown)-maxSessions, "earlier session"))
		shown = shown[len(shown)-maxSessions:]
	}
	for _, ss := range shown {
		writeLines(b, ss, 0, len(ss.Transcript)-1)
	}
	if len(v.sessions) == 0 {
		b.WriteString(v.s.noClient() + "\n")
	}
}

// domainOf returns the domain of an address, "" without one.
func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return ""
}
