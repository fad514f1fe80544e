package mocksmtp

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// expectState is the Server's part for expectations, waits on a Want and
// inboxes. Guarded by Server.mu, except t and started, set once by Start.
type expectState struct {
	t        testing.TB // the test of Start; nil for a server from New
	started  string     // where Start was called, "file.go:line"; "" for New
	scopes   []*scope   // the expectations of tests that have not ended, in order
	free     scope      // the server's expectations without a test (AddExpectation...)
	inboxes  []*Inbox
	labels   map[string]int // how many inboxes each dnsLabel of a name has named (NewInbox)
	waited   map[int]bool   // messages WaitFor returned: it returns each once; of those the server keeps (forgetMarksLocked)
	accounts map[int]bool   // messages some check or assertion accounted for; idem
}

// A scope is a set of expectations checked together: those one test
// registered on the server or on an inbox, or those registered there
// without a test. Guarded by Server.mu.
type scope struct {
	t    testing.TB // the test it reports to; nil without one
	in   *Inbox     // nil: the whole server
	exps []*Expectation
	// noOther and noMessages say which call asked for no other messages,
	// or none at all, and where: "ExpectNoMessages at x_test.go:12",
	// "ForbidMessages at main.go:40"; "" if none did.
	noOther, noMessages string
}

// Expectation is a registered [Want], checked when the test ends (or by
// Verify, without a test). By default it wants exactly one message;
// [Expectation.Times], [Expectation.AtLeast] and [Expectation.Never]
// change that. Call them in the statement that registers it:
//
//	srv.Expect(t, mocksmtp.Want{To: []string{"ops@example.com"}}).Times(2)
type Expectation struct {
	s  *Server
	t  testing.TB // nil without a test
	mt *matcher

	// where is the file:line of the Expect call, or what DeclaredAt set;
	// min and max are the number of messages wanted (max < 0: no upper
	// bound); err, without a test, a misuse Verify reports. Guarded by
	// Server.mu.
	where    string
	min, max int
	err      error
}

// Times makes the expectation want exactly n messages. Times(0) is Never.
func (e *Expectation) Times(n int) *Expectation {
	return e.set("Times", n, n, n)
}

// AtLeast makes the expectation want n messages or more. AtLeast(0) allows
// any number: the messages it matches are expected (see
// [Server.ExpectNoOtherMessages]) without being required.
func (e *Expectation) AtLeast(n int) *Expectation {
	return e.set("AtLeast", n, n, -1)
}

// Never makes the expectation want no message: any message it matches is
// a failure, whatever other expectations match it.
func (e *Expectation) Never() *Expectation {
	return e.set("Never", 0, 0, 0)
}

// DeclaredAt sets where the expectation was declared, as its reports name
// it ("expectation at <where> not met"): by default, the file and line of
// the call that registered it. A program that registers expectations for
// its own users names them its way, as the mocksmtp program names each
// "POST /api/expectations #1".
func (e *Expectation) DeclaredAt(where string) *Expectation {
	e.s.mu.Lock()
	e.where = where
	e.s.mu.Unlock()
	return e
}

// set sets the number of messages wanted. A negative n fails the test at
// once, or, without a test, is what Verify reports.
func (e *Expectation) set(name string, n, min, max int) *Expectation {
	if e.t != nil {
		e.t.Helper()
	}
	if n < 0 {
		e.s.mu.Lock()
		err := fmt.Errorf("mocksmtp: %s(%d) for the expectation at %s: want a number ≥ 0", name, n, e.where)
		e.min, e.max = 0, -1 // reported once, not again at cleanup
		if e.t == nil {
			e.err = err
		}
		e.s.mu.Unlock()
		if e.t != nil {
			e.t.Fatalf("%v", err)
		}
		return e
	}
	e.s.mu.Lock()
	e.min, e.max = min, max
	e.s.mu.Unlock()
	return e
}

// wantPhrase says how many messages are wanted.
func wantPhrase(min, max int) string {
	switch {
	case max == 0:
		return "no message"
	case max < 0:
		return "at least " + plural(min, "message")
	}
	return "exactly " + plural(min, "message")
}

// declaredAt returns "file.go:line" of the function skip frames up the
// stack from its caller.
func declaredAt(skip int) string {
	_, file, line, ok := runtime.Caller(skip + 1)
	if !ok {
		return "?"
	}
	return fmt.Sprintf("%s:%d", filepath.Base(file), line)
}

// Expect registers an expectation on t: by the end of the test t,
// exactly one message like want arrived (see [Expectation] for other
// numbers). The expectation is checked at t's cleanup, so that one a
// subtest registers fails the subtest (for the test of [Start], after the
// server has closed): each unmet one fails t with one error that says
// where it was declared, shows the nearest message as a (-want +got) diff
// of the fields want sets, and the transcript lines of its session. Each
// message meets at most one expectation of a test, so that two Expect
// calls with the same Want want two messages.
//
// An invalid want (a bad regular expression) fails t at once, as does an
// Expect after Close. It works on servers from [New] and [Start] alike,
// and is safe for concurrent use. [Server.AddExpectation] is the form
// without a test.
//
// Expectations are checked when the test ends, not waited for: when the
// code under test sends in the background, wait first ([Server.WaitFor]).
// They see the messages the server still has (see [Server.Reset] and
// [WithRetention]).
func (s *Server) Expect(t testing.TB, want Want) *Expectation {
	t.Helper()
	return s.expect(t, "Expect", nil, want, declaredAt(1))
}

// ExpectNoOtherMessages makes a message that meets no expectation a
// failure at t's cleanup: mail that was not expected (by t or another
// test), not allowed (see [Expectation.AtLeast]), and not returned by
// [Server.WaitFor] or [Server.AssertMessage].
func (s *Server) ExpectNoOtherMessages(t testing.TB) {
	t.Helper()
	s.expectNo(t, "ExpectNoOtherMessages", nil, false, declaredAt(1))
}

// ExpectNoMessages makes any message a failure at t's cleanup.
func (s *Server) ExpectNoMessages(t testing.TB) {
	t.Helper()
	s.expectNo(t, "ExpectNoMessages", nil, true, declaredAt(1))
}

// AddExpectation registers an expectation without a test, as
// [Server.Expect] does on one: [Server.Verify] checks it, [Server.Reset]
// forgets it. It returns an error when want is invalid or the server is
// closed. A bad number given to the Expectation's Times or AtLeast is
// reported by Verify.
func (s *Server) AddExpectation(want Want) (*Expectation, error) {
	return s.addExpectation(nil, want, declaredAt(1))
}

// ForbidOtherMessages makes a message that meets no expectation a failure
// for [Server.Verify], as [Server.ExpectNoOtherMessages] does at the end
// of a test. It returns an error when the server is closed.
func (s *Server) ForbidOtherMessages() error {
	return s.forbid(nil, false, declaredAt(1))
}

// ForbidMessages makes any message a failure for [Server.Verify], as
// [Server.ExpectNoMessages] does at the end of a test. It returns an error
// when the server is closed.
func (s *Server) ForbidMessages() error {
	return s.forbid(nil, true, declaredAt(1))
}

// ForbidOtherMessagesAt is [Server.ForbidOtherMessages] declared at
// where: its report names it "ForbidOtherMessages at <where>" instead of
// the caller's file and line, as [Expectation.DeclaredAt] names an
// expectation. A program that registers it for its own users names it
// their way, as the mocksmtp program names it "POST /api/expectations #3".
func (s *Server) ForbidOtherMessagesAt(where string) error {
	return s.forbid(nil, false, where)
}

// ForbidMessagesAt is [Server.ForbidMessages] declared at where, as
// [Server.ForbidOtherMessagesAt].
func (s *Server) ForbidMessagesAt(where string) error {
	return s.forbid(nil, true, where)
}

// Verify checks the expectations registered without a test
// ([Server.AddExpectation], [Server.ForbidOtherMessages],
// [Server.ForbidMessages]) against the messages the server has now, and
// returns nil when they are met. Otherwise its error holds the reports
// [Server.Expect] would fail a test with, one per unmet expectation,
// separated by newlines. It does not wait, and may be called again: the
// expectations stay registered until [Server.Reset].
func (s *Server) Verify() error {
	return errors.Join(s.check(&s.exp.free, nil)...)
}

// expect registers an expectation on t, on the server (in == nil) or on an
// inbox.
func (s *Server) expect(t testing.TB, name string, in *Inbox, want Want, where string) *Expectation {
	t.Helper()
	mt, err := newMatcher(want)
	if err != nil {
		t.Fatalf("mocksmtp: %s at %s: %s", name, where, strings.TrimPrefix(err.Error(), "mocksmtp: "))
		return &Expectation{s: s, t: t, mt: &matcher{}, where: where, min: 1, max: 1}
	}
	e := &Expectation{s: s, t: t, mt: mt, where: where, min: 1, max: 1}
	if err := s.register(t, in, where, func(sc *scope) { sc.exps = append(sc.exps, e) }); err != nil {
		t.Fatalf("mocksmtp: %s at %s: %v", name, where, err)
	}
	return e
}

// expectNo registers ExpectNoMessages (all) or ExpectNoOtherMessages on t.
func (s *Server) expectNo(t testing.TB, name string, in *Inbox, all bool, where string) {
	t.Helper()
	if err := s.register(t, in, where, func(sc *scope) { sc.setNo(all, name+" at "+where) }); err != nil {
		t.Fatalf("mocksmtp: %s at %s: %v", name, where, err)
	}
}

// addExpectation registers an expectation without a test.
func (s *Server) addExpectation(in *Inbox, want Want, where string) (*Expectation, error) {
	mt, err := newMatcher(want)
	if err != nil {
		return nil, fmt.Errorf("mocksmtp: expectation at %s: %s", where, strings.TrimPrefix(err.Error(), "mocksmtp: "))
	}
	e := &Expectation{s: s, mt: mt, where: where, min: 1, max: 1}
	if err := s.register(nil, in, where, func(sc *scope) { sc.exps = append(sc.exps, e) }); err != nil {
		return nil, fmt.Errorf("mocksmtp: expectation at %s: %v", where, err)
	}
	return e, nil
}

// forbid registers ForbidMessages (all) or ForbidOtherMessages, on the
// server or an inbox.
func (s *Server) forbid(in *Inbox, all bool, where string) error {
	name := "ForbidOtherMessages"
	if all {
		name = "ForbidMessages"
	}
	if in != nil {
		name = "Inbox." + name
	}
	return s.register(nil, in, where, func(sc *scope) { sc.setNo(all, name+" at "+where) })
}

// setNo records the call that asked for no other messages (all: none at
// all), "ExpectNoMessages at x_test.go:12".
func (sc *scope) setNo(all bool, call string) {
	if all {
		sc.noMessages = call
	} else {
		sc.noOther = call
	}
}

// register runs add under the lock on the scope of t (nil: without a
// test) on the server or the inbox in, unless the server is closed. The
// first registration of a test other than Start's, the call at where,
// checks the scope at the test's cleanup; Start's cleanup checks those of
// its test after Close.
func (s *Server) register(t testing.TB, in *Inbox, where string, add func(*scope)) error {
	if t != nil {
		t.Helper()
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		if t != nil && t == s.exp.t {
			return errors.New("the server is closed; expectations are checked when it closes, so register them before")
		}
		return errors.New("the server is closed")
	}
	var sc *scope
	switch i := slices.IndexFunc(s.exp.scopes, func(sc *scope) bool { return sc.t == t && sc.in == in }); {
	case t == nil && in != nil:
		sc = &in.free
	case t == nil:
		sc = &s.exp.free
	case i >= 0:
		sc = s.exp.scopes[i]
	}
	first := sc == nil
	if first {
		sc = &scope{t: t, in: in}
		s.exp.scopes = append(s.exp.scopes, sc)
	}
	add(sc)
	s.mu.Unlock()
	if first && t != s.exp.t {
		// A helper, as the calls that lead here: the testing package
		// reports a failure at the user's line that registered first.
		t.Cleanup(func() {
			t.Helper()
			s.checkScope(sc, reportsAt(t, where))
		})
	}
	return nil
}

// forgetFreeExpectationsLocked forgets the expectations registered
// without a test, on the server and its inboxes (Reset). s.mu must be
// held.
func (s *Server) forgetFreeExpectationsLocked() {
	s.exp.free = scope{}
	for _, in := range s.exp.inboxes {
		in.free = scope{}
	}
}

// checkScope checks the expectations of one test on the server or an
// inbox, reports them on rt (the scope's test, see reportsAt), and
// forgets them.
//
// A test's scopes are checked one by one, in any order (its cleanups run
// last registered first): before a scope that forbids other messages,
// the messages that the test's other scopes, checked later, meet are
// accounted for, so that the outcome does not depend on that order.
func (s *Server) checkScope(sc *scope, rt testing.TB) {
	rt.Helper()
	s.mu.Lock()
	s.exp.scopes = slices.DeleteFunc(s.exp.scopes, func(x *scope) bool { return x == sc })
	var later []*scope
	if sc.noOther != "" {
		for _, x := range s.exp.scopes {
			if x.t == sc.t {
				later = append(later, x)
			}
		}
	}
	s.mu.Unlock()
	for _, x := range later {
		s.account(x)
	}
	for _, err := range s.check(sc, sc.in) {
		rt.Errorf("%v", err)
	}
}

// account marks the messages that the expectations of sc meet as
// accounted for, as its check will (see checkScope).
func (s *Server) account(sc *scope) {
	s.mu.Lock()
	var rules []rule
	for _, e := range sc.exps {
		if e.max != 0 {
			rules = append(rules, rule{e, e.where, e.min, e.max})
		}
	}
	live := s.liveMessagesLocked(sc.in, 0)
	s.mu.Unlock()
	if len(rules) == 0 || len(live) == 0 {
		return
	}
	views(live)
	msgs := make([]*Message, len(live))
	for i, lm := range live {
		msgs[i] = lm.m
	}
	owner, _ := judge(rules, msgs)
	s.mu.Lock()
	for j, m := range msgs {
		if owner[j] >= 0 {
			s.accountLocked(m.ID)
		}
	}
	s.mu.Unlock()
}

// checkExpectations checks, at Start's cleanup, the expectations of t,
// the test of Start, and reports them on rt (see reportsAt).
func (s *Server) checkExpectations(t, rt testing.TB) {
	t.Helper()
	s.mu.Lock()
	var mine []*scope
	for _, sc := range s.exp.scopes {
		if sc.t == t {
			mine = append(mine, sc)
		}
	}
	s.mu.Unlock()
	for _, sc := range mine {
		s.checkScope(sc, rt)
	}
}

// rule is a copy of an expectation, taken under the lock.
type rule struct {
	e        *Expectation
	where    string
	min, max int
}

// check checks the expectations of a scope on the messages of in (nil:
// all) and returns a report for each unmet one: the core of Expect's
// cleanup and of Verify.
func (s *Server) check(sc *scope, in *Inbox) []error {
	var errs []error
	s.mu.Lock()
	var rules, nevers []rule
	for _, e := range sc.exps {
		if e.err != nil {
			errs = append(errs, e.err)
		}
		r := rule{e, e.where, e.min, e.max}
		if r.max == 0 {
			nevers = append(nevers, r)
		} else {
			rules = append(rules, r)
		}
	}
	noOther, noMessages := sc.noOther, sc.noMessages
	live := s.liveMessagesLocked(in, 0)
	s.mu.Unlock()
	views(live)

	// First a check on the recorded messages, without copies: most checks
	// pass, and a server shared by hundreds of tests has much to copy.
	msgs := make([]*Message, len(live))
	for i, lm := range live {
		msgs[i] = lm.m
	}
	if owner, matches := judge(rules, msgs); !s.fails(rules, nevers, msgs, owner, matches, noMessages != "", noOther != "") {
		s.mu.Lock()
		for j, m := range msgs {
			if owner[j] >= 0 {
				s.accountLocked(m.ID)
			}
		}
		s.mu.Unlock()
		return errs
	}

	// Then the reports, on snapshots.
	v := s.newView(in)
	owner, matches := judge(rules, v.scoped)
	counted := make([]int, len(rules))
	for _, o := range owner {
		if o >= 0 {
			counted[o]++
		}
	}
	reported := make(map[int]bool) // messages a report listed already

	for i, r := range rules {
		if counted[i] < r.min {
			errs = append(errs, s.reportTooFew(v, r, i, rules, owner))
			continue
		}
		var extra []*Message
		for j, m := range v.scoped {
			if owner[j] < 0 && matches[i][j] {
				extra = append(extra, m)
			}
		}
		if len(extra) > 0 && r.max >= 0 {
			for _, m := range extra {
				reported[m.ID] = true
			}
			var b strings.Builder
			fmt.Fprintf(&b, "mocksmtp: expectation at %s not met: want %s like this, got %d:\n  %v\n",
				r.where, wantPhrase(r.min, r.max), counted[i]+len(extra), r.e.mt.want)
			if len(extra) == 1 {
				b.WriteString("the extra message:\n")
			} else {
				b.WriteString("the extra messages:\n")
			}
			v.writeMessages(&b, extra)
			b.WriteString(v.totals())
			errs = append(errs, errors.New(b.String()))
		}
	}
	for _, r := range nevers {
		var got []*Message
		for _, m := range v.scoped {
			if r.e.mt.match(m) {
				got = append(got, m)
				reported[m.ID] = true
			}
		}
		if len(got) > 0 {
			var b strings.Builder
			fmt.Fprintf(&b, "mocksmtp: expectation at %s not met: want no message like this, got %d:\n  %v\n",
				r.where, len(got), r.e.mt.want)
			v.writeMessages(&b, got)
			b.WriteString(v.totals())
			errs = append(errs, errors.New(b.String()))
		}
	}
	if noMessages != "" && len(v.scoped) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "mocksmtp: %s: want no message, got %d:\n", noMessages, len(v.scoped))
		v.writeMessages(&b, v.scoped)
		b.WriteString(v.totals())
		errs = append(errs, errors.New(b.String()))
		return errs
	}

	s.mu.Lock()
	var unexpected []*Message
	for j, m := range v.scoped {
		if owner[j] >= 0 {
			s.accountLocked(m.ID)
		} else if !reported[m.ID] && !s.exp.accounts[m.ID] {
			unexpected = append(unexpected, m)
		}
	}
	s.mu.Unlock()
	if noOther != "" && len(unexpected) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "mocksmtp: %s: %d of %s met no expectation:\n",
			noOther, len(unexpected), plural(len(v.scoped), "message"))
		v.writeMessages(&b, unexpected)
		b.WriteString(v.totals())
		errs = append(errs, errors.New(b.String()))
	}
	return errs
}

// judge matches messages to expectations: matches[i][j] tells whether
// message j is like the Want of rule i, owner[j] which rule it meets (-1:
// none), each message meeting one at most.
func judge(rules []rule, msgs []*Message) (owner []int, matches [][]bool) {
	lo, hi := make([]int, len(rules)), make([]int, len(rules))
	matches = make([][]bool, len(rules))
	for i, r := range rules {
		lo[i], hi[i] = r.min, r.max
		matches[i] = make([]bool, len(msgs))
		for j, m := range msgs {
			matches[i][j] = r.e.mt.match(m)
		}
	}
	return assign(lo, hi, len(msgs), func(i, j int) bool { return matches[i][j] }), matches
}

// fails reports whether a check of msgs, judged into owner and matches,
// finds anything to report.
func (s *Server) fails(rules, nevers []rule, msgs []*Message, owner []int, matches [][]bool, noMessages, noOther bool) bool {
	if noMessages && len(msgs) > 0 {
		return true
	}
	counted := make([]int, len(rules))
	for j, o := range owner {
		if o >= 0 {
			counted[o]++
			continue
		}
		for i, r := range rules {
			if matches[i][j] && r.max >= 0 {
				return true // one too many
			}
		}
	}
	for i, r := range rules {
		if counted[i] < r.min {
			return true
		}
	}
	for _, r := range nevers {
		for _, m := range msgs {
			if r.e.mt.match(m) {
				return true
			}
		}
	}
	if noOther {
		s.mu.Lock()
		defer s.mu.Unlock()
		for j, m := range msgs {
			if owner[j] < 0 && !s.exp.accounts[m.ID] {
				return true
			}
		}
	}
	return false
}

// reportTooFew reports an expectation that got fewer messages than it
// wanted, with the nearest of the messages it did not get.
func (s *Server) reportTooFew(v *view, r rule, i int, rules []rule, owner []int) error {
	got := 0
	var cands []candidate
	for j, m := range v.scoped {
		switch o := owner[j]; {
		case o == i:
			got++
		case o < 0:
			cands = append(cands, candidate{m: m})
		default:
			cands = append(cands, candidate{m: m, tier: 1, note: "the expectation at " + rules[o].where + " counted it (a message meets one expectation at most)"})
		}
	}
	cands = append(cands, v.outside()...)
	var b strings.Builder
	fmt.Fprintf(&b, "mocksmtp: expectation at %s not met: want %s like this, got %d:\n  %v\n",
		r.where, wantPhrase(r.min, r.max), got, r.e.mt.want)
	v.writeNearest(&b, r.e.mt, cands)
	b.WriteString(v.totals())
	return errors.New(b.String())
}

// outside returns the messages outside an inbox as candidates of the last
// tier: a message for this inbox's test may have gone to another.
func (v *view) outside() []candidate {
	if v.in == nil {
		return nil
	}
	var out []candidate
	for _, m := range v.all {
		if !v.in.has(m) {
			out = append(out, candidate{m: m, tier: 2, note: v.inboxOf(m)})
		}
	}
	return out
}

// accountLocked marks a message as accounted for, if the server still
// keeps it (see forgetMarksLocked). s.mu must be held.
func (s *Server) accountLocked(id int) {
	if _, kept := s.messageIndexLocked(id); !kept {
		return
	}
	if s.exp.accounts == nil {
		s.exp.accounts = make(map[int]bool)
	}
	s.exp.accounts[id] = true
}
