package mocksmtp

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// This file holds the inline assertions on a Want: waits for a message
// like it, checks that one arrived or that none does.

// liveMessage is a recorded message and its session's record.
type liveMessage struct {
	msgRef
	m *Message // a view of k, without Session; nil until views
}

// views sets the view of each message of live, parsing what must be. No
// lock may be held.
func views(live []liveMessage) {
	for i := range live {
		live[i].m = live[i].k.view()
	}
}

// liveMessagesLocked returns the recorded messages of in (nil: all) with an
// ID above after, in arrival order, without copying them. s.mu must be
// held.
func (s *Server) liveMessagesLocked(in *Inbox, after int) []liveMessage {
	var out []liveMessage
	for _, ref := range s.newMessagesLocked(after) {
		if in.hasTo(ref.k.to) {
			out = append(out, liveMessage{msgRef: ref})
		}
	}
	return out
}

// newMessagesLocked returns the recorded messages with an ID above after,
// in arrival order: a part of the server's list, not to be changed. s.mu
// must be held.
func (s *Server) newMessagesLocked(after int) []msgRef {
	i := sort.Search(len(s.messages), func(i int) bool { return s.messages[i].k.id > after })
	return s.messages[i:]
}

// A counter counts the messages of an inbox (nil: all) as a wait looks
// again and again, each message once: a wait costs what arrived since it
// last looked. It starts again after Reset and DeleteMessage, and under
// WithRetention, which forgets messages as others arrive, counts what is
// kept.
type counter struct {
	in      *Inbox
	after   int // the last message ID looked at
	forgets int // Server.ids.forgets when it last looked
	n       int
}

// countLocked returns the number of messages of the inbox, with an ID
// above the counter's first after, that the server keeps. s.mu must be
// held.
func (c *counter) countLocked(s *Server, first int) int {
	if c.forgets != s.ids.forgets || s.opts.retain > 0 {
		c.after, c.forgets, c.n = first, s.ids.forgets, 0
	}
	c.after = max(c.after, first)
	for _, ref := range s.newMessagesLocked(c.after) {
		if c.in.hasTo(ref.k.to) {
			c.n++
		}
		c.after = ref.k.id
	}
	return c.n
}

// snapshots returns snapshots of messages with their sessions, each
// session copied once. No lock may be held.
func snapshots(live []liveMessage) []*Message {
	refs := make([]msgRef, len(live))
	for i, lm := range live {
		refs[i] = lm.msgRef
	}
	return snapshotsOf(refs)
}

// WaitFor waits for a message like want and returns it: the first one that
// no earlier WaitFor returned, so that a test can wait for a second code
// after a first. After the wait timeout (5 s, see [WithWaitTimeout]), or
// when the server closes, it fails t with the nearest message as a diff.
// A message it returns counts as expected for
// [Server.ExpectNoOtherMessages].
func (s *Server) WaitFor(t testing.TB, want Want) *Message {
	t.Helper()
	return s.waitForT(t, nil, want)
}

// WaitForContext is WaitFor without a test: it returns an error when want
// is invalid, when ctx ends or when the server closes first. The error of
// a wait that ended holds the report WaitFor fails a test with (the
// nearest message as a diff, its transcript lines, totals), its first line
// saying why the wait ended: "before its context ended (context deadline
// exceeded)", with the context's cause ([context.Cause]), or "before the
// server closed". It wraps ctx's error or [ErrClosed].
func (s *Server) WaitForContext(ctx context.Context, want Want) (*Message, error) {
	return s.waitForContext(ctx, "WaitForContext", nil, want)
}

// waitForContext is WaitForContext on the server or an inbox; name
// names the method in reports.
func (s *Server) waitForContext(ctx context.Context, name string, in *Inbox, want Want) (*Message, error) {
	ms, err := s.waitForNContext(ctx, name, in, want, 1)
	if err != nil {
		return nil, err
	}
	return ms[0], nil
}

// WaitForNContext waits for n messages like want that no earlier wait
// returned and returns the first n of them, in arrival order, as n calls
// of [Server.WaitForContext] would, but takes them all at once: when ctx
// ends or the server closes first, it takes none, so that a later wait
// may still return them, and returns those it found (fewer than n) with
// the error, whose report is WaitForContext's, its first line saying how
// many it wanted and found ("want 2 messages like this before its context
// ended (...), found 1 (not taken)"). n ≤ 0 returns none at once.
func (s *Server) WaitForNContext(ctx context.Context, want Want, n int) ([]*Message, error) {
	return s.waitForNContext(ctx, "WaitForNContext", nil, want, n)
}

// waitForNContext is WaitForNContext on the server or an inbox; name
// names the method in reports.
func (s *Server) waitForNContext(ctx context.Context, name string, in *Inbox, want Want, n int) ([]*Message, error) {
	mt, err := newMatcher(want)
	if err != nil {
		return nil, err
	}
	ms, seen, err := s.waitFor(ctx, in, mt, max(n, 0))
	if err != nil {
		why := s.whyNotMet(err, fmt.Sprintf("before its context ended (%v)", context.Cause(ctx)))
		return ms, s.waitFailed(name, in, mt, why, n, ms, seen, err)
	}
	return ms, nil
}

func (s *Server) waitForT(t testing.TB, in *Inbox, want Want) *Message {
	t.Helper()
	name := "WaitFor"
	if in != nil {
		name = "Inbox.WaitFor"
	}
	mt, err := newMatcher(want)
	if err != nil {
		t.Fatalf("mocksmtp: %s: %s", name, strings.TrimPrefix(err.Error(), "mocksmtp: "))
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.waitTimeout)
	defer cancel()
	ms, seen, err := s.waitFor(ctx, in, mt, 1)
	if err == nil {
		return ms[0]
	}
	why := s.whyNotMet(err, fmt.Sprintf("within %v", s.opts.waitTimeout))
	t.Fatalf("%v%s", s.waitFailed(name, in, mt, why, 1, nil, seen, err), s.bubbleWaitHint(err))
	return nil
}

// waitFailed returns the error of a wait for a message like mt that ended
// with err: the report of the method name, saying why it ended, that
// WaitFor fails a test with and WaitForContext returns. A wait for n
// messages (n > 1) that found some, found, but did not take them says
// so in its first line; they are not candidates for the nearest. The
// report speaks of the messages the wait saw, those the server had
// accepted when the last ID it gave was seen (see view.upTo).
func (s *Server) waitFailed(name string, in *Inbox, mt *matcher, why string, n int, found []*Message, seen int, err error) error {
	v := s.newView(in).upTo(seen)
	s.mu.Lock()
	var cands []candidate
	for _, m := range v.scoped {
		if slices.ContainsFunc(found, func(f *Message) bool { return f.ID == m.ID }) {
			continue
		}
		if s.exp.waited[m.ID] {
			cands = append(cands, candidate{m: m, tier: 1, note: "an earlier wait returned it"})
		} else {
			cands = append(cands, candidate{m: m})
		}
	}
	s.mu.Unlock()
	cands = append(cands, v.outside()...)
	var b strings.Builder
	if n > 1 {
		fmt.Fprintf(&b, "mocksmtp: %s: want %s like this %s, found %d (not taken):\n  %v\n", name, plural(n, "message"), why, len(found), mt.want)
	} else {
		fmt.Fprintf(&b, "mocksmtp: %s: no message like this %s:\n  %v\n", name, why, mt.want)
	}
	v.writeNearest(&b, mt, cands)
	b.WriteString(v.totals())
	return &reportError{report: b.String(), err: err}
}

// reportError is an error whose text is a report, wrapping the error
// that ended what it reports on.
type reportError struct {
	report string
	err    error
}

func (e *reportError) Error() string { return e.report }
func (e *reportError) Unwrap() error { return e.err }

// waitFor waits for n messages like mt (in the inbox in, nil for the
// server) that no wait returned, and takes them all at once: a wait that
// ends first takes none, and returns those it found, and the last message
// ID the server had given when the wait last looked.
func (s *Server) waitFor(ctx context.Context, in *Inbox, mt *matcher, n int) ([]*Message, int, error) {
	// Each wake matches the messages that arrived since the last one,
	// outside the lock; one that another wait took, or that the server
	// forgot, is dropped before taking.
	// seen is all until the first look: a wait that never looks (one
	// never met, see awaitMessages) reports what the server has.
	after, seen := 0, math.MaxInt
	var found []msgRef
	free := func(ref msgRef) bool {
		kept, ok := s.messageLocked(ref.k.id)
		return ok && kept == ref && !s.exp.waited[ref.k.id]
	}
	err := s.awaitMessages(ctx, n, func() bool {
		s.mu.Lock()
		live := s.liveMessagesLocked(in, after)
		seen = s.ids.message
		s.mu.Unlock()
		for _, lm := range live {
			after = lm.k.id
			if mt.match(lm.k.view()) {
				found = append(found, lm.msgRef)
			}
		}
		if len(found) < n {
			return false // not yet checked: a wait for many costs nothing per arrival
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		found = slices.DeleteFunc(found, func(ref msgRef) bool { return !free(ref) })
		if len(found) < n {
			return false
		}
		found = found[:n]
		if s.exp.waited == nil {
			s.exp.waited = make(map[int]bool)
		}
		for _, ref := range found {
			s.exp.waited[ref.k.id] = true
			s.accountLocked(ref.k.id)
		}
		return true
	})
	if err != nil {
		s.mu.Lock()
		found = slices.DeleteFunc(found, func(ref msgRef) bool { return !free(ref) })
		s.mu.Unlock()
		return snapshotsOf(found), seen, fmt.Errorf("mocksmtp: waiting for %v: %w", mt.want, err)
	}
	return snapshotsOf(found), seen, nil
}

// AssertMessage checks that a message like want has arrived, and returns
// the first one. Otherwise it fails t at once (t.Fatalf), with the nearest
// message as a diff. It does not wait: see [Server.WaitFor]. The message
// counts as expected for [Server.ExpectNoOtherMessages].
func (s *Server) AssertMessage(t testing.TB, want Want) *Message {
	t.Helper()
	return s.assertMessage(t, nil, want)
}

func (s *Server) assertMessage(t testing.TB, in *Inbox, want Want) *Message {
	t.Helper()
	name := "AssertMessage"
	if in != nil {
		name = "Inbox.AssertMessage"
	}
	mt, err := newMatcher(want)
	if err != nil {
		t.Fatalf("mocksmtp: %s: %s", name, strings.TrimPrefix(err.Error(), "mocksmtp: "))
		return nil
	}
	s.mu.Lock()
	live := s.liveMessagesLocked(in, 0)
	seen := s.ids.message
	s.mu.Unlock()
	for _, lm := range live {
		if mt.match(lm.k.view()) {
			s.mu.Lock()
			s.accountLocked(lm.k.id)
			s.mu.Unlock()
			return snapshots([]liveMessage{lm})[0]
		}
	}
	// The report speaks of the messages it looked at: one that came
	// since would be named the nearest, "matches, but .".
	v := s.newView(in).upTo(seen)
	var cands []candidate
	for _, m := range v.scoped {
		cands = append(cands, candidate{m: m})
	}
	cands = append(cands, v.outside()...)
	var b strings.Builder
	fmt.Fprintf(&b, "mocksmtp: %s: no message like this among %s:\n  %v\n", name, plural(len(v.scoped), "message"), want)
	v.writeNearest(&b, mt, cands)
	b.WriteString(v.totals())
	t.Fatalf("%s", b.String())
	return nil
}

// AssertNoMessages fails t (t.Errorf) if a message has arrived, or arrives
// within d: for tests of code that must not send. It returns as soon as a
// message arrives, after d otherwise, or when the server closes.
func (s *Server) AssertNoMessages(t testing.TB, d time.Duration) {
	t.Helper()
	s.assertNone(t, nil, "AssertNoMessages", d, 0)
}

// AssertNoMoreMessages fails t (t.Errorf) if a message arrives within d
// beyond those that already have: "no more mail", after the mail a test
// expected. It returns as soon as one arrives, after d otherwise, or when
// the server closes.
func (s *Server) AssertNoMoreMessages(t testing.TB, d time.Duration) {
	t.Helper()
	s.assertNone(t, nil, "AssertNoMoreMessages", d, s.lastID())
}

// lastID returns the ID of the newest message, 0 without one.
func (s *Server) lastID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.messages) == 0 {
		return 0
	}
	return s.messages[len(s.messages)-1].k.id
}

// assertNone waits up to d for a message in scope with an ID above after,
// on a timer and the changed channel, and reports the first on t.
func (s *Server) assertNone(t testing.TB, in *Inbox, name string, d time.Duration, after int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	c := &counter{in: in}
	err := s.await(ctx, changeMessage, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return c.countLocked(s, after) > 0
	})
	if err != nil {
		return // the time passed, or the server closed, and nothing came
	}
	v := s.newView(in)
	var got []*Message
	for _, m := range v.scoped {
		if m.ID > after {
			got = append(got, m)
		}
	}
	what := "no message"
	if after > 0 {
		what = "no more messages"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "mocksmtp: %s: want %s within %v, got %d:\n", name, what, d, len(got))
	v.writeMessages(&b, got)
	b.WriteString(v.totals())
	t.Errorf("%s", b.String())
}
