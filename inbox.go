package mocksmtp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// Inbox is one test's share of a server: the messages with a recipient in
// its own domain, with their own waits and expectations. It lets one
// server (started in TestMain, say) serve many parallel tests, each
// sending to addresses of its inbox, without one test's mail meeting
// another's expectations. Its methods are safe for concurrent use.
type Inbox struct {
	s      *Server
	test   string // the name it was made with: the test's, for Server.Inbox
	domain string
	free   scope // expectations without a test (AddExpectation...), guarded by s.mu
	// reset is the number Reset last took in the server's order of
	// findings (Server.seq): Findings returns the findings after it, and
	// every finding of a session that first named the inbox after it.
	// Guarded by s.mu.
	reset uint64
}

// Inbox returns a new inbox for the test t: [Server.NewInbox] with t's
// name, and at t's cleanup, a check that no message of the inbox was also
// addressed to another test's inbox (one test's mail leaking into
// another's), which fails t. It fails t at once if the server is closed.
//
// Expectations on an inbox ([Inbox.Expect]) are checked at the cleanup of
// the test they are registered on, as [Server.Expect]'s are; the nearest
// message in a report may be one that went to another test's inbox, and
// says so. An inbox does not wait for its expectations: wait first
// ([Inbox.WaitFor]) if mail is sent in the background.
//
// Under [WithStrict], on a server made by [New] (shared by the tests,
// started in TestMain), which has no test of its own to fail, the cleanup
// fails t with the report of the inbox's findings ([Inbox.Findings]): the
// rules broken in the sessions that named the inbox by then (wait for
// them to end first, [Inbox.WaitForSessionsContext], as a missing QUIT is
// found at a session's end). On a server of [Start], whose cleanup reports every
// finding of the server, an inbox's included, it adds no second report.
func (s *Server) Inbox(t testing.TB) *Inbox {
	t.Helper()
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		t.Fatalf("mocksmtp: Inbox: the server is closed")
	}
	in := s.NewInbox(t.Name())
	at := declaredAt(1)
	t.Cleanup(func() {
		t.Helper() // reported at the line that called Inbox
		rt := reportsAt(t, at)
		in.checkCrossed(rt)
		in.checkFindings(rt, at)
	})
	return in
}

// checkFindings fails t, the test of Server.Inbox called at at, with the
// report of the inbox's findings, under WithStrict on a server of New
// only: Start's cleanup reports them already, with the server's.
func (in *Inbox) checkFindings(t testing.TB, at string) {
	t.Helper()
	s := in.s
	if !s.opts.conformance.strict || s.exp.started != "" {
		return
	}
	fs := in.Findings()
	if len(fs) == 0 {
		return
	}
	// The report quotes the sessions of the findings only, not every
	// session of a server that many tests share.
	t.Errorf("mocksmtp: Inbox at %s: the client broke the rules in %s (WithStrict): %s", at, in.domain, FindingsReport(fs, s.sessionsOf(fs)))
}

// NewInbox returns a new inbox named name, without a test: a domain of its
// own, "<name>-<n>.inbox.test", unique on the server (.test is reserved:
// no mail for it can leave the machine), made of the letters and digits of
// name, lower case, where n counts the inboxes of that name: tests that
// run in parallel on one server get the same domain every run, in
// whichever order they start. A name too long for a short DNS label keeps
// its beginning and a hash of the whole. A message belongs to the inbox when one of its
// envelope recipients is in that domain. Use it where there is no test to
// bind the inbox to (a program, TestMain); in tests, [Server.Inbox].
func (s *Server) NewInbox(name string) *Inbox {
	in := &Inbox{s: s, test: name}
	s.mu.Lock()
	defer s.mu.Unlock()
	label := dnsLabel(name)
	if s.exp.labels == nil {
		s.exp.labels = map[string]int{}
	}
	s.exp.labels[label]++
	// The last hyphen parts n from the label (n has none): each label
	// and n make a domain of their own.
	in.domain = fmt.Sprintf("%s-%d.inbox.test", label, s.exp.labels[label])
	s.exp.inboxes = append(s.exp.inboxes, in)
	return in
}

// maxLabel is the most octets of dnsLabel's label: with "-<n>" it stays
// a short DNS label, well within 63 octets.
const maxLabel = 40

// dnsLabel turns a test name into a short DNS label: lower case, letters,
// digits and hyphens. A name whose label would be longer than maxLabel
// keeps its beginning and ends in 8 hex digits of a hash of the whole
// name, so that table tests whose names start alike get labels of their
// own, the same every run.
func dnsLabel(name string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(r)
		} else {
			hyphen = true
		}
	}
	if b.Len() == 0 {
		return "test"
	}
	if b.Len() <= maxLabel {
		return b.String()
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	head := strings.TrimSuffix(b.String()[:maxLabel-len("-12345678")], "-")
	return fmt.Sprintf("%s-%08x", head, h.Sum32())
}

// Domain returns the inbox's domain, "testsignup-1.inbox.test".
func (in *Inbox) Domain() string { return in.domain }

// Address returns the address local@ the inbox's domain:
// in.Address("bob") is "bob@testsignup-1.inbox.test".
func (in *Inbox) Address(local string) string { return local + "@" + in.domain }

// has reports whether m belongs to the inbox; every message belongs to
// the nil inbox, the whole server.
func (in *Inbox) has(m *Message) bool { return in.hasTo(m.To) }

// hasTo reports whether a message to the envelope recipients to belongs
// to the inbox.
func (in *Inbox) hasTo(to []string) bool {
	if in == nil {
		return true
	}
	for _, addr := range to {
		if inboxDomainOf(addr) == in.domain {
			return true
		}
	}
	return false
}

// isInboxLocked reports whether domain, in lower case, is an inbox's.
// s.mu must be held.
func (s *Server) isInboxLocked(domain string) bool {
	for _, in := range s.exp.inboxes {
		if in.domain == domain {
			return true
		}
	}
	return false
}

// inboxDomainOf returns the domain of addr as an inbox's is compared with
// it, for its messages (hasTo) as for its sessions (namedRcptLocked): in
// lower case, of ASCII letters only, as DNS compares names. A letter that
// only Unicode folds to an ASCII one ("ſ", the Kelvin sign) makes another
// domain, as it does for IDNA.
func inboxDomainOf(addr string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, domainOf(addr))
}

// Findings returns the conformance findings of the sessions that belong
// to the inbox so far, in order, as [Server.Findings] returns the
// server's: what this test's client broke, on a server that other tests
// send to at the same time. A session belongs to the inbox when its
// client named an address in the inbox's domain in a RCPT TO command,
// whether the server took it or refused it (a fault's 550, a RCPT before
// MAIL): the sessions that every message of the inbox came from
// ([Inbox.Messages]: a message belongs to it when one of its envelope
// recipients is in the domain), and those that tried. A session with no
// such RCPT TO (none at all: a client that left after EHLO, or was
// refused at MAIL) belongs to no inbox: its findings are only in
// [Server.Findings]. A finding about a message ([Finding.Message], or a
// message the server refused, which has no ID) is only the inboxes' of
// its recipients, not those of the session's other messages, also once
// the message is forgotten ([Server.DeleteMessage], [Inbox.Reset]: its
// session keeps its findings): a pooled connection that two tests share
// sends each its own.
// A session that named several inboxes belongs to each
// (to the first 100 domains it named, and to each inbox it delivered a
// message to). [Inbox.Reset] forgets the findings so far
// (of the inbox: its sessions keep them), as [Server.Reset] forgets the
// server's: a session that first names the inbox after Reset brings all
// its findings, those from before Reset too.
func (in *Inbox) Findings() []Finding { return in.s.findings(in) }

// Messages returns the messages of the inbox so far, in arrival order.
func (in *Inbox) Messages() []*Message {
	in.s.mu.Lock()
	live := in.s.liveMessagesLocked(in, 0)
	in.s.mu.Unlock()
	return snapshots(live)
}

// Sessions returns the sessions of the inbox so far, in order of
// connection, live ones included: those whose client named an address in
// the inbox's domain in a RCPT TO command since the inbox's last
// [Inbox.Reset] (ever, without one), whether the server took it or
// refused it, the rule by which [Inbox.Findings] picks them. A session
// joins the inbox at that RCPT TO: one whose client has only connected,
// or sent EHLO and MAIL, is in no inbox yet. One that named several
// inboxes is in each. A session open at Reset that does not name the
// inbox again after it is no longer the inbox's (a pooled connection of
// the test before), though [Inbox.Findings] takes the findings it makes
// after Reset. [Inbox.WaitForSessionsContext] waits for them to end.
func (in *Inbox) Sessions() []*Session {
	recs, _ := (&sessionCounter{in: in}).look()
	return sessionsOf(recs)
}

// A sessionCounter finds the sessions of an inbox as a wait looks again
// and again: after its first look, it reads only the sessions new since
// it last looked and those then live (which may still name the inbox or
// end), so that a look costs what changed, not every session the server
// keeps. A session that has ended neither joins the inbox nor, once
// counted, leaves it, but for the inbox's Reset, which takes it out
// unless it named the inbox after it, and the server forgetting it
// ([Server.Reset], [WithRetention]).
type sessionCounter struct {
	in      *Inbox
	after   int        // the last session ID looked at
	reset   uint64     // in.reset at its last look
	forgets int        // Server.ids.forgets at its last look
	live    []*session // the sessions live at its last look, in order
	ended   []*session // the inbox's sessions ended by its last look
}

// look returns the inbox's sessions now, in order of connection, and how
// many of them have ended, as a look at every session kept would. No
// lock may be held.
func (c *sessionCounter) look() (recs []*session, ended int) {
	in, s := c.in, c.in.s
	s.mu.Lock()
	i, _ := slices.BinarySearchFunc(s.sessions, c.after+1, func(r *session, id int) int { return cmp.Compare(r.id, id) })
	look := append(c.live, s.sessions[i:]...) // in order: the live ones are older
	if c.forgets != s.ids.forgets || s.opts.retain > 0 {
		gone := func(r *session) bool {
			j, ok := s.sessionIndexLocked(r.id)
			return !ok || s.sessions[j] != r
		}
		look = slices.DeleteFunc(look, gone)
		c.ended = slices.DeleteFunc(c.ended, gone)
		c.forgets = s.ids.forgets
	}
	after := in.reset
	s.mu.Unlock()
	if n := len(look); n > 0 {
		c.after = max(c.after, look[n-1].id)
	}
	if after != c.reset {
		c.reset = after
		c.ended = slices.DeleteFunc(c.ended, func(r *session) bool {
			r.mu.Lock()
			defer r.mu.Unlock()
			return !r.namedSinceLocked(in.domain, after)
		})
	}
	c.live = nil
	var mine []*session // the inbox's live sessions
	for _, r := range look {
		r.mu.Lock()
		named, over := r.namedSinceLocked(in.domain, after), r.ended != Live
		r.mu.Unlock()
		switch {
		case !over:
			c.live = append(c.live, r)
			if named {
				mine = append(mine, r)
			}
		case named:
			c.ended = append(c.ended, r)
		}
	}
	recs = append(slices.Clone(c.ended), mine...)
	slices.SortFunc(recs, func(a, b *session) int { return cmp.Compare(a.id, b.id) })
	return recs, len(c.ended)
}

// WaitForSessionsContext waits until at least n sessions of the inbox
// ([Inbox.Sessions]) have ended and returns them all, ended or live, or
// returns them with an error when ctx ends or the server is closed first,
// as [Server.WaitForSessionsContext] does for every session: a test that
// shares the server with others waits for its own client to be done,
// however long another test's sessions stay open. A session counts once
// it has named the inbox in a RCPT TO and ended, one that names it after
// the wait began too; one that ends without naming it never counts.
func (in *Inbox) WaitForSessionsContext(ctx context.Context, n int) ([]*Session, error) {
	ended := 0
	var recs []*session // the sessions that met the wait, taken as it was met: a Reset may follow
	c := &sessionCounter{in: in}
	// A session joins the inbox while it is live (a transcript line):
	// only its end, a session change, can add to the sessions ended.
	err := in.s.await(ctx, changeSession, func() bool {
		var mine []*session
		mine, ended = c.look()
		if ended < n {
			return false
		}
		recs = mine
		return true
	})
	if err != nil {
		return in.Sessions(), fmt.Errorf("mocksmtp: waiting for %s in %s, got %d: %w", plural(n, "ended session"), in.domain, ended, err)
	}
	return sessionsOf(recs), nil
}

// WaitForMessagesContext waits until at least n messages arrived in the
// inbox and returns them all, or returns what arrived with an error when
// ctx ends or the server is closed first, as
// [Server.WaitForMessagesContext].
func (in *Inbox) WaitForMessagesContext(ctx context.Context, n int) ([]*Message, error) {
	msgs, _, err := in.waitForMessages(ctx, n)
	return msgs, err
}

// waitForMessages is WaitForMessagesContext, which also returns the last
// message ID the server had given when the wait last looked, as
// Server.waitForMessages does.
func (in *Inbox) waitForMessages(ctx context.Context, n int) ([]*Message, int, error) {
	s := in.s
	c := &counter{in: in}
	var live []liveMessage // the messages that met the wait, taken as it was met: a Reset may follow
	seen := math.MaxInt    // the last message ID given when the wait last looked; all if it never did (neverMet)
	err := s.awaitMessages(ctx, n, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		seen = s.ids.message
		if c.countLocked(s, 0) < n {
			return false
		}
		live = s.liveMessagesLocked(in, 0)
		return true
	})
	if err != nil {
		msgs := arrivedBy(in.Messages(), seen)
		return msgs, seen, fmt.Errorf("mocksmtp: waiting for %s in %s, got %d: %w", plural(n, "message"), in.domain, len(msgs), err)
	}
	return snapshots(live), seen, nil
}

// WaitForMessages waits until at least n messages arrived in the inbox and
// returns them all, as [Server.WaitForMessages].
func (in *Inbox) WaitForMessages(t testing.TB, n int) []*Message {
	t.Helper()
	s := in.s
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.waitTimeout)
	defer cancel()
	msgs, seen, err := in.waitForMessages(ctx, n)
	if err != nil {
		s.failWait(t, in, seen, err, func(v *view, why string) string {
			return fmt.Sprintf("mocksmtp: Inbox.WaitForMessages: want %s in %s %s, got %d:", plural(n, "message"), in.domain, why, len(msgs))
		})
	}
	return msgs
}

// WaitForContext waits for a message like want in the inbox, as
// [Server.WaitForContext]: the error of a wait that ended holds the report
// [Inbox.WaitFor] fails a test with.
func (in *Inbox) WaitForContext(ctx context.Context, want Want) (*Message, error) {
	return in.s.waitForContext(ctx, "Inbox.WaitForContext", in, want)
}

// WaitForNContext waits for n messages like want in the inbox and takes
// them all at once, as [Server.WaitForNContext].
func (in *Inbox) WaitForNContext(ctx context.Context, want Want, n int) ([]*Message, error) {
	return in.s.waitForNContext(ctx, "Inbox.WaitForNContext", in, want, n)
}

// WaitFor waits for a message like want in the inbox, as [Server.WaitFor].
func (in *Inbox) WaitFor(t testing.TB, want Want) *Message {
	t.Helper()
	return in.s.waitForT(t, in, want)
}

// AssertMessage checks that a message like want arrived in the inbox, as
// [Server.AssertMessage].
func (in *Inbox) AssertMessage(t testing.TB, want Want) *Message {
	t.Helper()
	return in.s.assertMessage(t, in, want)
}

// AssertNoMessages fails t if a message arrived in the inbox or arrives
// within d, as [Server.AssertNoMessages].
func (in *Inbox) AssertNoMessages(t testing.TB, d time.Duration) {
	t.Helper()
	in.s.assertNone(t, in, "Inbox.AssertNoMessages", d, 0)
}

// AssertNoMoreMessages fails t if a message arrives in the inbox within d,
// beyond those that already have, as [Server.AssertNoMoreMessages].
func (in *Inbox) AssertNoMoreMessages(t testing.TB, d time.Duration) {
	t.Helper()
	in.s.assertNone(t, in, "Inbox.AssertNoMoreMessages", d, in.s.lastID())
}

// Expect registers an expectation on the inbox's messages, checked at
// t's cleanup, as [Server.Expect].
func (in *Inbox) Expect(t testing.TB, want Want) *Expectation {
	t.Helper()
	return in.s.expect(t, "Inbox.Expect", in, want, declaredAt(1))
}

// ExpectNoOtherMessages makes a message of the inbox that meets none of
// its expectations a failure at t's cleanup, as
// [Server.ExpectNoOtherMessages].
func (in *Inbox) ExpectNoOtherMessages(t testing.TB) {
	t.Helper()
	in.s.expectNo(t, "Inbox.ExpectNoOtherMessages", in, false, declaredAt(1))
}

// ExpectNoMessages makes any message in the inbox a failure at t's
// cleanup.
func (in *Inbox) ExpectNoMessages(t testing.TB) {
	t.Helper()
	in.s.expectNo(t, "Inbox.ExpectNoMessages", in, true, declaredAt(1))
}

// AddExpectation registers an expectation on the inbox's messages without
// a test, checked by [Inbox.Verify], as [Server.AddExpectation].
func (in *Inbox) AddExpectation(want Want) (*Expectation, error) {
	return in.s.addExpectation(in, want, declaredAt(1))
}

// ForbidOtherMessages makes a message of the inbox that meets none of its
// expectations a failure for [Inbox.Verify], as
// [Server.ForbidOtherMessages].
func (in *Inbox) ForbidOtherMessages() error {
	return in.s.forbid(in, false, declaredAt(1))
}

// ForbidMessages makes any message in the inbox a failure for
// [Inbox.Verify].
func (in *Inbox) ForbidMessages() error {
	return in.s.forbid(in, true, declaredAt(1))
}

// ForbidOtherMessagesAt is [Inbox.ForbidOtherMessages] declared at where:
// its report names it "Inbox.ForbidOtherMessages at <where>", as
// [Server.ForbidOtherMessagesAt].
func (in *Inbox) ForbidOtherMessagesAt(where string) error {
	return in.s.forbid(in, false, where)
}

// ForbidMessagesAt is [Inbox.ForbidMessages] declared at where, as
// [Server.ForbidOtherMessagesAt].
func (in *Inbox) ForbidMessagesAt(where string) error {
	return in.s.forbid(in, true, where)
}

// Verify checks the inbox's expectations registered without a test, as
// [Server.Verify] does the server's.
func (in *Inbox) Verify() error {
	return errors.Join(in.s.check(&in.free, in)...)
}

// Reset forgets the inbox's messages and the expectations registered on
// it without a test ([Inbox.AddExpectation], [Inbox.ForbidOtherMessages],
// [Inbox.ForbidMessages]), as [Server.Reset] forgets the server's, so that
// one inbox can serve tests in turn (the mocksmtp program's DELETE
// /api/messages?inbox=...). A message also addressed to another inbox is
// gone from that one too, as [Server.DeleteMessage] forgets it. Sessions
// stay on the server, but [Inbox.Sessions] lists only those that name
// the inbox after Reset, and [Inbox.Findings] forgets the findings the
// inbox has: it returns those recorded after Reset, and all those of a
// session that names the inbox only after Reset (one open before it).
// Expectations of tests ([Inbox.Expect]) are kept. It forgets in one
// step: whoever reads the inbox meanwhile (a wait, a list) sees all of it
// forgotten or none of it. A message that arrives while Reset runs may stay.
func (in *Inbox) Reset() {
	s := in.s
	s.mu.Lock()
	live := s.liveMessagesLocked(in, 0)
	s.mu.Unlock()
	// The content findings of the messages no one has read are checked
	// first, without a lock held, to stay with their sessions (as
	// DeleteMessage does); then every message goes under one lock.
	doomed := make(map[*kept][]Finding, len(live))
	for _, lm := range live {
		var content []Finding
		if lm.k.pending {
			content = lm.k.contentFindings()
		}
		doomed[lm.k] = content
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in.free = scope{}
	in.reset = s.seq.Add(1) // a session that names the inbox from now on sees it or more
	s.deleteLocked(doomed)
}

// checkCrossed fails t for each message of the inbox that was also
// addressed to another test's inbox: one test's mail leaking into
// another's.
func (in *Inbox) checkCrossed(t testing.TB) {
	t.Helper()
	s := in.s
	s.mu.Lock()
	live := s.liveMessagesLocked(in, 0)
	others := make(map[string]bool)
	for _, x := range s.exp.inboxes {
		if x != in {
			others[x.domain] = true
		}
	}
	s.mu.Unlock()
	crossed := false
	for _, lm := range live {
		for _, to := range lm.k.to {
			crossed = crossed || others[inboxDomainOf(to)]
		}
	}
	if !crossed {
		return
	}
	v := s.newView(in)
	for _, m := range v.scoped {
		var others []string
		for _, x := range v.inboxes {
			if x.domain == in.domain {
				continue
			}
			for _, to := range m.To {
				if inboxDomainOf(to) == x.domain {
					others = append(others, fmt.Sprintf("%s (%s)", x.test, x.domain))
					break
				}
			}
		}
		if len(others) == 0 {
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "mocksmtp: inbox %s: a message went to this test's inbox and to the inbox of %s:\n",
			in.domain, strings.Join(others, ", "))
		v.writeMessages(&b, []*Message{m})
		b.WriteString(v.totals())
		t.Errorf("%s", b.String())
	}
}
