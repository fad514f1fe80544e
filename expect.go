package mocksmtp

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// expectState is the Server's part for expectations, waits on a Want and
// inboxes. Guarded by Server.mu, except t, set once by Start.
type expectState struct {
	t        testing.TB // the test of Start; nil for a server from New
	root     scope      // the server's own expectations
	inboxes  []*Inbox
	waited   map[int]bool // messages WaitFor returned: it returns each once
	accounts map[int]bool // messages some check or assertion accounted for
}

// A scope is a set of expectations checked together: the server's, or an
// inbox's. Guarded by Server.mu.
type scope struct {
	exps       []*Expectation
	noOther    string // where ExpectNoOtherMessages was called, "" if not
	noMessages string // where ExpectNoMessages was called, "" if not
	checked    bool
}

// Expectation is a registered [Want], checked when the test ends. By
// default it wants exactly one message; [Expectation.Times],
// [Expectation.AtLeast] and [Expectation.Never] change that. Call them in
// the statement that registers it:
//
//	srv.Expect(mocksmtp.Want{To: []string{"ops@example.com"}}).Times(2)
type Expectation struct {
	s     *Server
	t     testing.TB
	mt    *matcher
	where string // file:line of the Expect call

	// min and max are the number of messages wanted (max < 0: no upper
	// bound). Guarded by Server.mu.
	min, max int
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

func (e *Expectation) set(name string, n, min, max int) *Expectation {
	e.t.Helper()
	if n < 0 {
		e.s.mu.Lock()
		e.min, e.max = 0, -1 // reported here, not again at cleanup
		e.s.mu.Unlock()
		e.t.Fatalf("mocksmtp: %s(%d) for the expectation at %s: want a number ≥ 0", name, n, e.where)
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

// Expect registers an expectation: by the end of the test, exactly one
// message like want arrived (see [Expectation] for other numbers). The
// expectations are checked at cleanup, after the server has closed: each
// unmet one fails the test with one error that says where it was declared,
// shows the nearest message as a (-want +got) diff of the fields want
// sets, and the transcript lines of its session. Each message meets at
// most one expectation, so that two Expect calls with the same Want want
// two messages.
//
// An invalid want (a bad regular expression) fails the test at once, as
// does an Expect after Close. Expect needs the test of [Start]; on a
// server from [New] it panics: use an [Inbox] there. It is safe for
// concurrent use.
//
// Expectations are checked when the test ends, not waited for: when the
// code under test sends in the background, wait first ([Server.WaitFor]).
// They see the messages the server still has (see [Server.Reset] and
// [WithRetention]).
func (s *Server) Expect(want Want) *Expectation {
	t := s.needT("Expect")
	t.Helper()
	return s.expect(t, "Expect", &s.exp.root, nil, want, declaredAt(1))
}

// needT returns the test of Start, or panics for a server from New.
func (s *Server) needT(method string) testing.TB {
	if s.exp.t == nil {
		panic("mocksmtp: " + method + " needs a test to report to: start the server with Start(t), or use srv.Inbox(t) on a server from New")
	}
	return s.exp.t
}

func (s *Server) expect(t testing.TB, name string, sc *scope, in *Inbox, want Want, where string) *Expectation {
	t.Helper()
	mt, err := newMatcher(want)
	if err != nil {
		t.Fatalf("mocksmtp: %s at %s: %s", name, where, strings.TrimPrefix(err.Error(), "mocksmtp: "))
		return &Expectation{s: s, t: t, mt: &matcher{}, where: where, min: 1, max: 1}
	}
	e := &Expectation{s: s, t: t, mt: mt, where: where, min: 1, max: 1}
	if err := s.register(sc, in, func() { sc.exps = append(sc.exps, e) }); err != nil {
		t.Fatalf("mocksmtp: %s at %s: %v", name, where, err)
	}
	return e
}

// register runs add under the lock, unless the scope can no longer check
// what it adds.
func (s *Server) register(sc *scope, in *Inbox, add func()) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case in != nil && sc.checked:
		return fmt.Errorf("the test %s of the inbox has ended", in.test)
	case s.closed || sc.checked:
		return errors.New("the server is closed; expectations are checked when it closes, so register them before")
	}
	add()
	return nil
}

// ExpectNoOtherMessages makes a message that meets no expectation a
// failure at cleanup: mail that was not expected, not allowed (see
// [Expectation.AtLeast]), and not returned by [Server.WaitFor] or
// [Server.AssertMessage].
func (s *Server) ExpectNoOtherMessages() {
	t := s.needT("ExpectNoOtherMessages")
	t.Helper()
	where := declaredAt(1)
	if err := s.register(&s.exp.root, nil, func() { s.exp.root.noOther = where }); err != nil {
		t.Fatalf("mocksmtp: ExpectNoOtherMessages at %s: %v", where, err)
	}
}

// ExpectNoMessages makes any message a failure at cleanup.
func (s *Server) ExpectNoMessages() {
	t := s.needT("ExpectNoMessages")
	t.Helper()
	where := declaredAt(1)
	if err := s.register(&s.exp.root, nil, func() { s.exp.root.noMessages = where }); err != nil {
		t.Fatalf("mocksmtp: ExpectNoMessages at %s: %v", where, err)
	}
}

// checkExpectations reports unmet expectations at cleanup.
func (s *Server) checkExpectations(t testing.TB) {
	t.Helper()
	s.check(t, &s.exp.root, nil)
}

// rule is a copy of an expectation, taken under the lock.
type rule struct {
	e        *Expectation
	min, max int
}

// check reports the unmet expectations of a scope on t, one error each.
func (s *Server) check(t testing.TB, sc *scope, in *Inbox) {
	t.Helper()
	s.mu.Lock()
	sc.checked = true
	var rules, nevers []rule
	for _, e := range sc.exps {
		r := rule{e, e.min, e.max}
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
		return
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
			s.reportTooFew(t, v, r, i, rules, owner)
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
				r.e.where, wantPhrase(r.min, r.max), counted[i]+len(extra), r.e.mt.want)
			if len(extra) == 1 {
				b.WriteString("the extra message:\n")
			} else {
				b.WriteString("the extra messages:\n")
			}
			v.writeMessages(&b, extra)
			b.WriteString(v.totals())
			t.Errorf("%s", b.String())
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
				r.e.where, len(got), r.e.mt.want)
			v.writeMessages(&b, got)
			b.WriteString(v.totals())
			t.Errorf("%s", b.String())
		}
	}
	if noMessages != "" && len(v.scoped) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "mocksmtp: ExpectNoMessages at %s: want no message, got %d:\n", noMessages, len(v.scoped))
		v.writeMessages(&b, v.scoped)
		b.WriteString(v.totals())
		t.Errorf("%s", b.String())
		return
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
		fmt.Fprintf(&b, "mocksmtp: ExpectNoOtherMessages at %s: %d of %s met no expectation:\n",
			noOther, len(unexpected), plural(len(v.scoped), "message"))
		v.writeMessages(&b, unexpected)
		b.WriteString(v.totals())
		t.Errorf("%s", b.String())
	}
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
func (s *Server) reportTooFew(t testing.TB, v *view, r rule, i int, rules []rule, owner []int) {
	t.Helper()
	got := 0
	var cands []candidate
	for j, m := range v.scoped {
		switch o := owner[j]; {
		case o == i:
			got++
		case o < 0:
			cands = append(cands, candidate{m: m})
		default:
			cands = append(cands, candidate{m: m, tier: 1, note: "the expectation at " + rules[o].e.where + " counted it (a message meets one expectation at most)"})
		}
	}
	cands = append(cands, v.outside()...)
	var b strings.Builder
	fmt.Fprintf(&b, "mocksmtp: expectation at %s not met: want %s like this, got %d:\n  %v\n",
		r.e.where, wantPhrase(r.min, r.max), got, r.e.mt.want)
	v.writeNearest(&b, r.e.mt, cands)
	b.WriteString(v.totals())
	t.Errorf("%s", b.String())
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

// accountLocked marks a message as accounted for. s.mu must be held.
func (s *Server) accountLocked(id int) {
	if s.exp.accounts == nil {
		s.exp.accounts = make(map[int]bool)
	}
	s.exp.accounts[id] = true
}
