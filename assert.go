package mocksmtp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// This file holds the inline assertions on a Want: waits for a message
// like it, checks that one arrived or that none does.

// liveMessage is a recorded message and its session's record.
type liveMessage struct {
	msgRef
	m *Message // a view of k, without Session; nil until viewsLocked
}

// viewsLocked sets the view of each message of live. s.mu must be held.
func viewsLocked(live []liveMessage) {
	for i := range live {
		live[i].m = live[i].k.view()
	}
}

// liveMessagesLocked returns the recorded messages of in (nil: all) with an
// ID above after, in arrival order, without copying them. s.mu must be
// held.
func (s *Server) liveMessagesLocked(in *Inbox, after int) []liveMessage {
	i := len(s.messages)
	for i > 0 && s.messages[i-1].k.id > after {
		i--
	}
	var out []liveMessage
	for _, ref := range s.messages[i:] {
		if in.hasTo(ref.k.to) {
			out = append(out, liveMessage{msgRef: ref})
		}
	}
	return out
}

// snapshots returns snapshots of messages with their sessions, each
// session copied once.
func (s *Server) snapshots(live []liveMessage) []*Message {
	s.mu.Lock()
	defer s.mu.Unlock()
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
	mt, err := newMatcher(want)
	if err != nil {
		return nil, err
	}
	m, err := s.waitFor(ctx, in, mt)
	if err != nil {
		why := fmt.Sprintf("before its context ended (%v)", context.Cause(ctx))
		if errors.Is(err, ErrClosed) {
			why = "before the server closed"
		}
		return nil, s.waitFailed(name, in, mt, why, err)
	}
	return m, nil
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
	m, err := s.waitFor(ctx, in, mt)
	if err == nil {
		return m
	}
	why := fmt.Sprintf("within %v", s.opts.waitTimeout)
	if errors.Is(err, ErrClosed) {
		why = "before the server closed"
	}
	t.Fatalf("%v", s.waitFailed(name, in, mt, why, err))
	return nil
}

// waitFailed returns the error of a wait for a message like mt that ended
// with err: the report of the method name, saying why it ended, that
// WaitFor fails a test with and WaitForContext returns.
func (s *Server) waitFailed(name string, in *Inbox, mt *matcher, why string, err error) error {
	v := s.newView(in)
	s.mu.Lock()
	var cands []candidate
	for _, m := range v.scoped {
		if s.exp.waited[m.ID] {
			cands = append(cands, candidate{m: m, tier: 1, note: "an earlier WaitFor returned it"})
		} else {
			cands = append(cands, candidate{m: m})
		}
	}
	s.mu.Unlock()
	cands = append(cands, v.outside()...)
	var b strings.Builder
	fmt.Fprintf(&b, "mocksmtp: %s: no message like this %s:\n  %v\n", name, why, mt.want)
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

func (s *Server) waitFor(ctx context.Context, in *Inbox, mt *matcher) (*Message, error) {
	after := 0
	var found *Message
	err := s.await(ctx, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, lm := range s.liveMessagesLocked(in, after) {
			after = lm.k.id
			if s.exp.waited[lm.k.id] || !mt.match(lm.k.view()) {
				continue
			}
			if s.exp.waited == nil {
				s.exp.waited = make(map[int]bool)
			}
			s.exp.waited[lm.k.id] = true
			s.accountLocked(lm.k.id)
			found = snapshotsOf([]msgRef{lm.msgRef})[0]
			return true
		}
		return false
	})
	if err != nil {
		return nil, fmt.Errorf("mocksmtp: waiting for %v: %w", mt.want, err)
	}
	return found, nil
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
	viewsLocked(live)
	s.mu.Unlock()
	for _, lm := range live {
		if mt.match(lm.m) {
			s.mu.Lock()
			s.accountLocked(lm.m.ID)
			s.mu.Unlock()
			return s.snapshots([]liveMessage{lm})[0]
		}
	}
	v := s.newView(in)
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
	err := s.await(ctx, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.liveMessagesLocked(in, after)) > 0
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
