package mocksmtp

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
	"weak"

	"github.com/emersion/go-message/mail"
)

// This file holds what the server keeps and for how long: the numbering of
// sessions and messages, Reset, and WithRetention.

// counters numbers sessions, messages and attempts. Guarded by Server.mu.
type counters struct {
	session int // the last session ID given; IDs are never reused
	message int // the last message ID given; IDs are never reused
	attempt int // connections since the server started or was last Reset
	forgets int // calls of Reset and DeleteMessage, so that a count of messages knows to start again
}

// WithRetention makes the server keep only the last n messages, the
// sessions that delivered them, and the last n sessions to start,
// forgetting older ones as new ones arrive, so that a long-running server
// (the mocksmtp program under load) uses bounded memory. A live session
// is never forgotten, nor one that a [Server.WaitForSessionEnd] waits for
// until the wait has it. Which sessions are kept does not depend on the
// order sessions end in: the session of a kept message is always there
// ([Server.Session] of its Message.Session.ID). A forgotten message is
// gone from [Server.Messages] and from its session's Messages; IDs are
// never reused. A session that goes on (one client sending message after
// message) also forgets its transcript up to the acceptance of its last
// forgotten message, and the findings and faults on those lines:
// [Session.Forgotten] counts the lines, which keep their numbers.
// [Server.Findings] lists the findings of the sessions kept. Waits count
// what is kept: with n = 10, a wait for 11 messages
// ([Server.WaitForMessages], [Server.WaitForNContext], their Context and
// [Inbox] forms) could never succeed, so it fails at once, saying so. By
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

// neverMetError is the error of a wait for more messages than the server
// keeps together (WithRetention): such a wait fails at once, as it could
// only time out.
type neverMetError struct{ retain int }

func (e *neverMetError) Error() string { return e.why() + ": a wait counts those kept" }

// why says why the wait is never met, for a report's "want n messages …".
func (e *neverMetError) why() string {
	return fmt.Sprintf("but the server keeps only the last %s (WithRetention(%d))", plural(e.retain, "message"), e.retain)
}

// neverMet returns a *neverMetError when a wait for n messages can never
// be met, as the server keeps fewer; nil otherwise.
func (s *Server) neverMet(n int) error {
	if r := s.opts.retain; r > 0 && n > r {
		return &neverMetError{retain: r}
	}
	return nil
}

// Reset forgets every message and every ended session, as if the server
// had just started, so that one server can serve many tests in turn (the
// mocksmtp program's DELETE /api/messages). Sessions still live go on and
// stay listed, without the messages they delivered before Reset. IDs go
// on from where they were, never reused; attempts count from 1 again (see
// Session.Attempt and [Fault.OnAttempt]). Conformance findings recorded
// so far are forgotten, those of live sessions too, so that
// [Server.Findings] and [WithStrict] see only what comes after. Faults
// are kept, their state started afresh as [Server.ReplaceFaults] does, so
// that each behaves as on a new server with the same faults: a sender and
// recipient pair [Greylist] refused before is refused again on its first
// try, a fault whose [Fault.AtMost] was used up fires again, and
// [RateLimitPer] forgets the transactions it counted, and a session idle
// after an [Fault.IdleReply] fired is not closed by it; the seed
// ([Server.Seed]) stays. A session live across Reset meets that fresh
// state from its next command on, as a new session does, and counts in
// it once (its commands before Reset counted in the old state only); it
// keeps its attempt number and what is its own ([RateLimit]'s count of
// its transactions, the recipients [TooManyRecipients] counts). The
// expectations of tests ([Server.Expect]) are kept; those registered
// without a test ([Server.AddExpectation] and the like, on the server and
// its inboxes) are forgotten. Waits in progress count only the messages
// that arrive after Reset.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ref := range s.messages {
		ref.rec.mu.Lock()
		ref.rec.messages = nil // also for sessions already forgotten
		ref.rec.mu.Unlock()
	}
	for _, r := range s.sessions {
		r.mu.Lock()
		r.messages = nil
		r.forgetFindings()
		r.mu.Unlock()
	}
	s.messages = nil
	s.sessions = slices.DeleteFunc(s.sessions, func(r *session) bool { return r.ended != Live })
	s.ids.attempt = 0
	s.restartFaultsLocked()
	s.ids.forgets++
	s.exp.waited, s.exp.accounts = nil, nil
	s.forgetFreeExpectationsLocked()
	s.changes.changed(changeMessage | changeSession | changeLine)
}

// DeleteMessage forgets the message with the given ID, as [Server.Reset]
// forgets every message: it is gone from [Server.Messages],
// [Server.Message] and its session's Messages, and waits no longer see
// it. Its session stays, with its transcript and findings (the findings
// of the message's content too), but under [WithRetention], which keeps
// the sessions of the messages kept and the last n sessions: a session
// that no longer has a message and is not among the last n goes once it
// has ended. DeleteMessage reports whether the server kept the message.
// IDs are never reused. It is safe for concurrent use.
func (s *Server) DeleteMessage(id int) bool {
	s.mu.Lock()
	ref, ok := s.messageLocked(id)
	s.mu.Unlock()
	if !ok {
		return false
	}
	// The content findings of a message no one has read are checked
	// now, without a lock held, to stay with its session.
	var content []Finding
	if ref.k.pending {
		content = ref.k.contentFindings()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deleteLocked(map[*kept][]Finding{ref.k: content}) == 1
}

// deleteLocked forgets the messages of doomed that the server still keeps
// (not deleted or forgotten since), each with its content findings
// (checked beforehand, without a lock, when no one had read it), all at
// once: one pass over the messages (a binary search for one), and one
// over each of their sessions'. It returns how many it forgot, and wakes
// the waits if any. s.mu must be held.
func (s *Server) deleteLocked(doomed map[*kept][]Finding) int {
	var recs []*session // in the order of their first message gone
	seen := make(map[*session]bool)
	gone := func(r msgRef) {
		if !seen[r.rec] {
			seen[r.rec] = true
			recs = append(recs, r.rec)
		}
		s.ids.forgets++
		s.forgetMarksLocked(r.k.id)
	}
	if len(doomed) == 1 {
		for k := range doomed {
			i, ok := s.messageIndexLocked(k.id)
			if !ok || s.messages[i].k != k {
				return 0 // deleted or forgotten meanwhile
			}
			gone(s.messages[i])
			s.messages = slices.Delete(s.messages, i, i+1)
		}
	} else {
		s.messages = slices.DeleteFunc(s.messages, func(r msgRef) bool {
			_, ok := doomed[r.k]
			if ok {
				gone(r)
			}
			return ok
		})
	}
	n := 0
	for _, rec := range recs {
		rec.mu.Lock()
		rec.messages = slices.DeleteFunc(rec.messages, func(k *kept) bool {
			content, ok := doomed[k]
			if ok {
				rec.insertFindings(content, k.seq)
				if len(k.findings) > 0 || len(content) > 0 {
					// Its findings stay its recipients' inboxes'.
					x := rec.extra()
					x.forgotTo = putIn(x.forgotTo, k.id, sentTo{to: k.to, line: k.line})
				}
				n++
			}
			return ok
		})
		rec.mu.Unlock()
		s.retainLocked(rec)
	}
	if n > 0 {
		s.changes.changed(changeMessage)
	}
	return n
}

// forgetMarksLocked forgets what the waits and the checks remember of a
// message the server forgets (Server.exp's waited and accounts), so that
// a long-running server remembers no more of them than it keeps. s.mu
// must be held.
func (s *Server) forgetMarksLocked(id int) {
	delete(s.exp.waited, id)
	delete(s.exp.accounts, id)
}

// messageIndexLocked finds the kept message with the given ID. s.mu must
// be held.
func (s *Server) messageIndexLocked(id int) (int, bool) {
	return slices.BinarySearchFunc(s.messages, id, func(r msgRef, id int) int { return cmp.Compare(r.k.id, id) })
}

// messageLocked returns the kept message with the given ID. s.mu must be
// held.
func (s *Server) messageLocked(id int) (msgRef, bool) {
	i, ok := s.messageIndexLocked(id)
	if !ok {
		return msgRef{}, false
	}
	return s.messages[i], true
}

// addSessionLocked numbers a new session and records it. Under
// WithRetention the session that is no longer among the most recent ones
// may go. s.mu must be held.
func (s *Server) addSessionLocked(rec *session) {
	s.ids.session++
	s.ids.attempt++
	rec.id = s.ids.session
	rec.attempt = s.ids.attempt
	s.sessions = append(s.sessions, rec)
	if n := s.opts.retain; n > 0 {
		if i, ok := s.sessionIndexLocked(rec.id - n); ok {
			s.retainLocked(s.sessions[i])
		}
	}
}

// sessionIndexLocked finds the kept session with the given ID. s.mu must
// be held.
func (s *Server) sessionIndexLocked(id int) (int, bool) {
	return slices.BinarySearchFunc(s.sessions, id, func(r *session, id int) int { return cmp.Compare(r.id, id) })
}

// retainLocked forgets session rec if WithRetention keeps it no longer:
// it has ended, it has no message left, it is not among the last n
// sessions to start, and no WaitForSessionEnd waits for it (the wait
// calls it again once it has the session). Each change that can make a session go (its end,
// its last kept message forgotten, newer sessions starting) calls it, so
// the sessions kept never depend on the order in which they end. s.mu
// must be held.
func (s *Server) retainLocked(rec *session) {
	n := s.opts.retain
	if n <= 0 || rec.ended == Live || len(rec.messages) > 0 || rec.id > s.ids.session-n || s.awaited[rec.id] > 0 {
		return
	}
	i, ok := s.sessionIndexLocked(rec.id)
	if !ok {
		return
	}
	// Forgotten sessions are usually among the oldest: move the shorter
	// side of the list.
	if i < len(s.sessions)/2 {
		copy(s.sessions[1:i+1], s.sessions[:i])
		s.sessions[0] = nil
		s.sessions = s.sessions[1:]
	} else {
		s.sessions = slices.Delete(s.sessions, i, i+1)
	}
}

// addMessageLocked numbers an accepted message and records it in the
// server's list and its session's, with the findings of the message and
// the transcript notes of its DKIM results (ar, "" for none) and its
// acceptance, and forgets the oldest message when there are too many.
// s.mu must be held, not rec.mu.
func (s *Server) addMessageLocked(rec *session, k *kept, ar string) {
	s.ids.message++
	k.id = s.ids.message
	for i := range k.findings {
		k.findings[i].Message = k.id
	}
	s.messages = append(s.messages, msgRef{rec: rec, k: k})
	rec.mu.Lock()
	rec.messages = append(rec.messages, k)
	for _, to := range k.to { // the session belongs to the message's inboxes
		rec.namedRcptLocked(to, s.seq.Load(), s.isInboxLocked)
	}
	s.addFindingsLocked(rec, k.findings)
	if k.pending {
		k.seq = s.seq.Add(1) // where its content findings go
	}
	if ar != "" {
		s.addNoteLocked(rec, ar)
	}
	s.addNoteLocked(rec, fmt.Sprintf("message %d accepted: %d octets from <%s> to %s", k.id, len(k.raw), k.from, plural(len(k.to), "recipient")))
	k.line = rec.nlines()
	rec.mu.Unlock()
	s.changes.changed(changeMessage)
	if n := s.opts.retain; n > 0 && len(s.messages) > n {
		// The oldest message is also the oldest its session still has.
		old := s.messages[0]
		s.messages[0] = msgRef{}
		s.messages = s.messages[1:]
		s.forgetMarksLocked(old.k.id)
		old.rec.mu.Lock()
		if ms := old.rec.messages; len(ms) > 0 && ms[0] == old.k {
			// A long session forgets its transcript up to the message.
			old.rec.forget(ms[0].line)
			ms[0] = nil
			old.rec.messages = ms[1:]
		}
		old.rec.mu.Unlock()
		s.retainLocked(old.rec)
	}
}

// messageSnapshot returns a snapshot of m, accepted in session rec, with
// what a message's Session says of that session (about): copying its
// transcript for each message would make a long session quadratic. No
// lock may be held.
func (s *Server) messageSnapshot(rec *session, k *kept) *Message {
	mc := k.snapshot()
	mc.Session = rec.about(k.sent)
	return mc
}

// kept is what the server keeps of an accepted message: all of [Message]
// but what parseMIME decodes from Raw (Header, Subject, the address lists,
// Date, MessageID, Text, HTML, Attachments, ParseErr). Those take twice
// the size of Raw, and a load test keeps millions of messages that nobody
// reads, so the server does not parse a message when it arrives (but for
// WithRejectNonconforming, which must check it before its 250): a
// snapshot (view) parses Raw, unless a snapshot taken earlier still holds
// the last parse, and the first parse also checks the content
// (checkContent), for the findings. All but mu's fields is set before the
// message is listed (line: under its session's lock; seq: under the
// server's) and never changes after.
type kept struct {
	id         int
	from       string
	to         []string
	params     map[string]string
	rcptParams map[string]map[string]string
	received   time.Time
	raw        []byte
	findings   []Finding    // those found on arrival: how it was sent, its DKIM signatures, and its content when parsed then
	dkim       *dkimVerdict // nil for a message without DKIM signatures
	arc        *ARCResult   // nil for a message without ARC sets
	srv        *keptBy      // what the server's kept messages share
	sent       *delivery    // how its session stood as it was sent (Message.Session's Helo, TLS, Auth)
	line       int          // its session's transcript line that notes its acceptance
	// The content findings of a message not parsed on arrival (pending)
	// are those of its session, on line findLine, in the server's order
	// of findings at seq.
	session, findLine int
	seq               uint64
	pending           bool

	// (checked next to pending, the two in one word, keeps kept in the
	// allocator's 256-octet size class: TestRecordSizes.)
	checked bool                  // guarded by mu: content holds the content findings of a pending message
	mu      sync.Mutex            // guards checked and the fields below, and parses one at a time
	mime    weak.Pointer[Message] // the last parse of raw, while a snapshot holds it
	held    *Message              // the last parse, while it is among the recent ones (keptBy.recent)
	content []Finding
}

// keptBy is what the kept messages of a server share: its options for the
// findings, and the parses read last, held so that a test reading the
// same messages again and again (WaitForMessages after each send) does not
// parse them again each time the collector ran.
type keptBy struct {
	conf *conformanceOptions

	mu     sync.Mutex // guards recent and size; taken under a kept's mu, never the other way
	recent []*kept    // whose held parse is kept alive, oldest first
	size   int        // the octets of their Raw
}

// maxRecentParses bounds the parses kept alive, in octets of Raw: a parse
// takes about twice that.
const maxRecentParses = 8 << 20

// hold keeps the parse k just made alive, and returns the messages whose
// oldest parses go beyond maxRecentParses, for letGo once k.mu is
// released: no kept.mu is ever taken under another. k.mu is held.
func (kb *keptBy) hold(k *kept, p *Message) (drop []*kept) {
	k.held = p
	kb.mu.Lock()
	kb.recent = append(kb.recent, k)
	kb.size += len(k.raw)
	for kb.size > maxRecentParses && len(kb.recent) > 1 {
		old := kb.recent[0]
		kb.recent[0] = nil
		kb.recent = kb.recent[1:]
		kb.size -= len(old.raw)
		drop = append(drop, old)
	}
	if cap(kb.recent) > 2*len(kb.recent)+64 {
		kb.recent = slices.Clone(kb.recent)
	}
	kb.mu.Unlock()
	return drop
}

// letGo lets go of the parses hold dropped, but k's: k was held twice, and
// its new parse stays. No kept.mu may be held.
func letGo(drop []*kept, k *kept) {
	for _, old := range drop {
		if old != k {
			old.mu.Lock()
			old.held = nil
			old.mu.Unlock()
		}
	}
}

// keep returns what the server keeps of m, found in session at line, parsed
// by parseMIME or not.
func keep(m *Message, parsed bool, session, line int, by *keptBy) *kept {
	k := &kept{
		id: m.ID, from: m.From, to: m.To, params: m.Params, rcptParams: m.RcptParams,
		received: m.Received, raw: m.Raw, findings: m.Findings, srv: by,
		pending: !parsed, session: session, findLine: line,
	}
	if parsed {
		k.mime = weak.Make(m)
	}
	if m.DKIM != nil {
		k.dkim = &dkimVerdict{m.DKIM, m.dkimMore}
	}
	if m.ARC.Status != "" && m.ARC.Status != ARCNone {
		arc := m.ARC
		k.arc = &arc
	}
	return k
}

// dkimVerdict is what a kept message keeps of its DKIM verification, done
// on arrival: a pointer in kept, so that the many messages without
// signatures pay 8 octets for it.
type dkimVerdict struct {
	results []DKIMResult
	more    int
}

// view returns the message without its Session, for reading only (it
// shares its slices, maps and header with the server and with other
// views): decoded from the last parse of Raw when a snapshot still holds
// it, else from a new parse, which then becomes the last. It parses under
// k.mu, never under the server's or a session's lock.
func (k *kept) view() *Message {
	p := k.parsed()
	v := *p
	v.ID, v.From, v.To, v.Params, v.RcptParams = k.id, k.from, k.to, k.params, k.rcptParams
	v.Received, v.Raw = k.received, k.raw
	v.Findings = k.findings
	if k.pending {
		v.Findings = slices.Concat(k.findings, k.contentFindings())
	}
	v.DKIM, v.dkimMore = nil, 0
	if k.dkim != nil {
		v.DKIM, v.dkimMore = k.dkim.results, k.dkim.more
	}
	v.ARC = ARCResult{Status: ARCNone}
	if k.arc != nil {
		v.ARC = *k.arc
	}
	v.Session = nil
	v.parse = p
	return &v
}

// snapshot returns the message without its Session, as a copy that is the
// caller's to change: the slices, maps, header, addresses and attachments
// are copied (strings and the parse error cannot be changed), in as few
// allocations as may be, for waits return many.
func (k *kept) snapshot() *Message {
	p := k.parsed()
	c := *p
	c.ID, c.From, c.Received, c.Session, c.parse = k.id, k.from, k.received, nil, p
	c.To = slices.Clone(k.to)
	c.Params = maps.Clone(k.params)
	if k.rcptParams != nil {
		c.RcptParams = make(map[string]map[string]string, len(k.rcptParams))
		for to, p := range k.rcptParams {
			c.RcptParams[to] = maps.Clone(p)
		}
	}
	c.Raw = bytes.Clone(k.raw)
	c.Findings = slices.Clone(k.findings)
	if k.pending {
		c.Findings = slices.Concat(k.findings, k.contentFindings())
	}
	c.DKIM, c.dkimMore = nil, 0
	if k.dkim != nil {
		c.DKIM, c.dkimMore = slices.Clone(k.dkim.results), k.dkim.more
		for i := range c.DKIM {
			c.DKIM[i].HeaderKeys = slices.Clone(c.DKIM[i].HeaderKeys)
		}
	}
	c.ARC = ARCResult{Status: ARCNone}
	if k.arc != nil {
		c.ARC = *k.arc
		c.ARC.Sets = slices.Clone(k.arc.Sets)
	}
	c.Header = p.Header.Copy()
	copyAddrs(&c)
	c.Attachments = slices.Clone(p.Attachments)
	for i := range c.Attachments {
		c.Attachments[i].Data = bytes.Clone(p.Attachments[i].Data)
	}
	return &c
}

// parsed returns the last parse of Raw, parsing it again if no snapshot
// holds it any more. The first parse of a pending message also checks
// its content.
func (k *kept) parsed() *Message {
	var drop []*kept
	defer func() { letGo(drop, k) }() // after the unlock: defers run last first
	k.mu.Lock()
	defer k.mu.Unlock()
	p := k.held
	if p == nil {
		p = k.mime.Value()
	}
	if p == nil {
		p = &Message{Raw: k.raw}
		parseMIME(p)
		k.mime = weak.Make(p)
		drop = k.srv.hold(k, p)
	}
	if k.pending && !k.checked {
		k.checked = true
		for _, f := range checkContent(p, k.params) {
			if !k.srv.conf.off[f.Rule] {
				f.Session, f.Line, f.Message = k.session, k.findLine, k.id
				k.content = append(k.content, f)
			}
		}
	}
	return p
}

// contentFindings returns the findings of the content of a pending
// message, parsing it if need be. No lock may be held.
func (k *kept) contentFindings() []Finding {
	k.mu.Lock()
	checked := k.checked
	k.mu.Unlock()
	if !checked {
		k.parsed()
	}
	return k.content // set once, under k.mu, before checked
}

// copyAddrs gives m's address lists (HeaderFrom, HeaderTo, Cc, ReplyTo)
// addresses of their own, all in two allocations; each list's capacity
// ends with it, so that an append to one copies instead of writing over
// the next.
func copyAddrs(m *Message) {
	lists := [...]*[]*mail.Address{&m.HeaderFrom, &m.HeaderTo, &m.Cc, &m.ReplyTo}
	n := 0
	for _, l := range lists {
		n += len(*l)
	}
	if n == 0 {
		return
	}
	addrs := make([]mail.Address, n)
	ptrs := make([]*mail.Address, n)
	i := 0
	for _, l := range lists {
		if *l == nil {
			continue
		}
		start := i
		for _, a := range *l {
			addrs[i] = *a
			ptrs[i] = &addrs[i]
			i++
		}
		*l = ptrs[start:i:i]
	}
}
