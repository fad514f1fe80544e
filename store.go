package mocksmtp

import (
	"cmp"
	"fmt"
	"slices"
	"time"
	"weak"
)

// This file holds what the server keeps and for how long: the numbering of
// sessions and messages, Reset, and WithRetention.

// counters numbers sessions, messages and attempts. Guarded by Server.mu.
type counters struct {
	session int // the last session ID given; IDs are never reused
	message int // the last message ID given; IDs are never reused
	attempt int // connections since the server started or was last Reset
}

// WithRetention makes the server keep only the last n messages and the
// last n sessions, forgetting older ones as new ones arrive, so that a
// long-running server (the mocksmtp program under load) uses bounded
// memory. A live session is never forgotten: when more than n are live,
// all of them are kept. A forgotten message is gone from
// [Server.Messages] and from its session's Messages; IDs are never
// reused. A session that goes on (one client sending message after
// message) also forgets its transcript up to the acceptance of its last
// forgotten message, and the findings and faults on those lines:
// [Session.Forgotten] counts the lines, which keep their numbers.
// [Server.Findings] lists the findings of the sessions kept. Waits count what is kept: with n = 10,
// [Server.WaitForMessagesContext] for 11 messages never succeeds. By
// default the server keeps everything.
func WithRetention(n int) Option {
	return optionFunc(func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("mocksmtp: WithRetention(%d): want a positive number", n)
		}
		o.retain = n
		return nil
	})
}

// Reset forgets every message and every ended session, as if the server
// had just started, so that one server can serve many tests in turn (the
// mocksmtp program's DELETE /api/messages). Sessions still live go on and
// stay listed, without the messages they delivered before Reset. IDs go
// on from where they were, never reused; attempts count from 1 again (see
// Session.Attempt and [Fault.OnAttempt]). Faults are kept, and so are
// the expectations of tests ([Server.Expect]); those registered without a
// test ([Server.AddExpectation] and the like, on the server and its
// inboxes) are forgotten. Waits in progress count only the messages that
// arrive after Reset.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ref := range s.messages {
		ref.rec.messages = nil // also for sessions already forgotten
	}
	for _, r := range s.sessions {
		r.messages = nil
	}
	s.messages = nil
	s.sessions = slices.DeleteFunc(s.sessions, func(r *session) bool { return r.snap.Ended != Live })
	s.ids.attempt = 0
	s.forgetFreeExpectationsLocked()
	s.broadcastLocked()
}

// DeleteMessage forgets the message with the given ID, as [Server.Reset]
// forgets every message: it is gone from [Server.Messages],
// [Server.Message] and its session's Messages, and waits no longer see
// it. Its session stays, with its transcript and findings. DeleteMessage
// reports whether the server kept the message. IDs are never reused. It
// is safe for concurrent use.
func (s *Server) DeleteMessage(id int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := slices.BinarySearchFunc(s.messages, id, func(r msgRef, id int) int { return cmp.Compare(r.k.id, id) })
	if !ok {
		return false
	}
	ref := s.messages[i]
	s.messages = slices.Delete(s.messages, i, i+1)
	ref.rec.messages = slices.DeleteFunc(ref.rec.messages, func(k *kept) bool { return k == ref.k })
	s.broadcastLocked()
	return true
}

// addSessionLocked numbers a new session, records it and forgets the
// oldest ended session when there are too many. s.mu must be held.
func (s *Server) addSessionLocked(rec *session) {
	s.ids.session++
	s.ids.attempt++
	rec.snap.ID = s.ids.session
	rec.snap.Attempt = s.ids.attempt
	s.sessions = append(s.sessions, rec)
	s.retainSessionsLocked()
}

// retainSessionsLocked forgets the oldest ended sessions while there are
// more than WithRetention allows. s.mu must be held.
func (s *Server) retainSessionsLocked() {
	n := s.opts.retain
	for n > 0 && len(s.sessions) > n {
		// Usually the oldest session is the first, and dropping it is
		// cheap; live sessions are skipped.
		i := slices.IndexFunc(s.sessions, func(r *session) bool { return r.snap.Ended != Live })
		switch {
		case i < 0:
			return
		case i == 0:
			s.sessions[0] = nil
			s.sessions = s.sessions[1:]
		default:
			s.sessions = slices.Delete(s.sessions, i, i+1)
		}
	}
}

// addMessageLocked numbers an accepted message, records it and forgets
// the oldest message when there are too many. s.mu must be held.
func (s *Server) addMessageLocked(rec *session, m *kept) {
	s.ids.message++
	m.id = s.ids.message
	s.messages = append(s.messages, msgRef{rec: rec, k: m})
	rec.messages = append(rec.messages, m)
	if n := s.opts.retain; n > 0 && len(s.messages) > n {
		// The oldest message is also the oldest its session still has.
		old := s.messages[0]
		s.messages[0] = msgRef{}
		s.messages = s.messages[1:]
		if ms := old.rec.messages; len(ms) > 0 && ms[0] == old.k {
			// A long session forgets its transcript up to the message.
			old.rec.forget(ms[0].line)
			ms[0] = nil
			old.rec.messages = ms[1:]
		}
	}
}

// messageSnapshot returns a snapshot of m, accepted in session rec, with
// a snapshot of that session.
func (s *Server) messageSnapshot(rec *session, m *kept) *Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	// The session snapshot leaves out its Messages: copying them for each
	// message would make a long session quadratic.
	mc := m.view()
	mc.Session = rec.snapshotHead()
	return mc
}

// kept is what the server keeps of an accepted message: all of [Message]
// but what parseMIME decodes from Raw (Header, Subject, the address lists,
// Date, MessageID, Text, HTML, Attachments). Those take twice the size of
// Raw, and a load test keeps millions of messages that nobody reads, so a
// snapshot (view) parses Raw again, unless a snapshot taken earlier still
// holds the last parse: then it shares that one. Guarded by Server.mu.
type kept struct {
	id         int
	from       string
	to         []string
	params     map[string]string
	rcptParams map[string]map[string]string
	received   time.Time
	raw        []byte
	parseErr   error
	findings   []Finding
	dkim       *dkimVerdict          // nil for a message without DKIM signatures
	line       int                   // its session's transcript line that notes its acceptance
	mime       weak.Pointer[Message] // the last parse of raw, while a snapshot holds it
}

// keep returns what the server keeps of m, a message parseMIME parsed.
func keep(m *Message) *kept {
	k := &kept{
		id: m.ID, from: m.From, to: m.To, params: m.Params, rcptParams: m.RcptParams,
		received: m.Received, raw: m.Raw, parseErr: m.ParseErr, findings: m.Findings,
		mime: weak.Make(m),
	}
	if m.DKIM != nil {
		k.dkim = &dkimVerdict{m.DKIM, m.dkimMore}
	}
	return k
}

// dkimVerdict is what a kept message keeps of its DKIM verification: a
// pointer in kept, so that the many messages without signatures pay 8
// octets for it.
type dkimVerdict struct {
	results []DKIMResult
	more    int
}

// view returns a snapshot of the message, without its Session: decoded
// from the last parse of Raw when a snapshot still holds it, else from a
// new parse, which then becomes the last. s.mu must be held.
func (k *kept) view() *Message {
	p := k.mime.Value()
	if p == nil {
		p = &Message{Raw: k.raw}
		parseMIME(p)
		k.mime = weak.Make(p)
	}
	v := *p
	v.ID, v.From, v.To, v.Params, v.RcptParams = k.id, k.from, k.to, k.params, k.rcptParams
	v.Received, v.Raw, v.ParseErr, v.Findings = k.received, k.raw, k.parseErr, k.findings
	v.DKIM, v.dkimMore = nil, 0
	if k.dkim != nil {
		v.DKIM, v.dkimMore = k.dkim.results, k.dkim.more
	}
	v.Session = nil
	v.parse = p
	return &v
}
