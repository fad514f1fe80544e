package mocksmtp

import (
	"fmt"
	"strings"

	"github.com/mocksmtp/mocksmtp/internal/rawreply"
	"github.com/mocksmtp/mocksmtp/smtpd"
)

// How the faults that fire at one event make one answer (see WithFault).
// An action has two kinds of parts:
//
//   - what decides: the reply (Reply, RawReply, a scenario's), no reply
//     (Drop), and what follows it (Disconnect, ResetTCP, HalfClose,
//     Stall; a 421's close). The first fault that fires with any of them
//     decides the answer, and the consultation ends with it (answers).
//   - what modifies, the parts below: how the reply is paced (Trickle,
//     SplitReply), what happens if the client then idles (IdleReply),
//     when the message data is cut (DropAfterBytes), how the TLS
//     handshake after it fails. Each comes from the fault that decides,
//     if it has it, or else from the first fault that fired with it; the
//     delays of all add up (addDelay).
//
// A modifier applies to the reply that the fault that decides gives, or
// to the server's own when none does, as far as that answer leaves it
// something to act on (applies): no pace without a reply, no idle reply
// once the connection closes, no cut of data that is not read, no TLS
// failure without a handshake. A fault each of whose modifiers an
// earlier fault already gave, and with no delay, would change nothing:
// it is not consulted (its AtMost not used up, its WithProbability
// drawing nothing), so that "OnAttempt(1).Trickle(...)" before a
// general "SplitReply(...)" paces attempt 1 as the first says and the
// second waits for the attempts after it.

// part is one of the parts of an action that modify the answer.
type part int

const (
	partPace part = iota
	partIdle
	partDropAfter
	partTLS
	numParts
)

// has reports whether a sets part pt.
func (a *action) has(pt part) bool {
	switch pt {
	case partPace:
		return a.pace != (smtpd.Pace{})
	case partIdle:
		return a.idle != nil
	case partDropAfter:
		return a.dropAfter > 0
	}
	return a.tlsConfig != nil
}

// take sets part pt of a as src has it.
func (a *action) take(src *action, pt part) {
	switch pt {
	case partPace:
		a.pace = src.pace
	case partIdle:
		a.idle = src.idle
	case partDropAfter:
		a.dropAfter = src.dropAfter
	default:
		a.tlsConfig, a.label = src.tlsConfig, src.label
	}
}

// clear unsets part pt of a.
func (a *action) clear(pt part) {
	var none action
	a.take(&none, pt)
}

// partName names, in notes, what sets part pt of a.
func (a *action) partName(pt part) string {
	switch pt {
	case partPace:
		return a.paceBy()
	case partIdle:
		return "IdleReply"
	case partDropAfter:
		return "DropAfterBytes"
	}
	return a.label
}

// takenBy says, in notes, that part pt comes from the fault declared at
// where instead.
func takenBy(pt part, where string) string {
	switch pt {
	case partPace:
		return "the reply is paced by " + where
	case partIdle:
		return "the idle reply is " + where + "'s"
	case partDropAfter:
		return "the data is cut by " + where
	}
	return "the TLS failure is " + where + "'s"
}

// adds reports whether a, an action that does not decide, may change
// the answer composed so far, c: it waits, or sets a part c has not, or
// only waits (a Delay of 0, consulted as any Delay).
func (a *action) adds(c *action) bool {
	if a.delay > 0 {
		return true
	}
	some := false
	for pt := range numParts {
		if a.has(pt) {
			if !c.has(pt) {
				return true
			}
			some = true
		}
	}
	return !some
}

// applies reports whether part pt of a, the composed answer to an event
// of kind k, has something to act on; if not, why not. bdatThen is, for
// the end-of-message reply of BDAT LAST, the ending of the answer to
// BDAT LAST (see endingAfter).
func (a *action) applies(pt part, k smtpd.Kind, bdatThen smtpd.Disposition) (bool, string) {
	then := a.endingAfter(bdatThen)
	switch pt {
	case partPace:
		if a.silent() {
			return false, "no reply goes out"
		}
	case partIdle:
		if then != smtpd.KeepOpen {
			return false, "the connection is not left open"
		}
	case partDropAfter:
		if k == smtpd.Data && (then != smtpd.KeepOpen || a.reply != nil && !a.reply.Positive()) {
			return false, "no message data is read"
		}
	case partTLS:
		if k == smtpd.StartTLS && (then != smtpd.KeepOpen || a.reply != nil && !a.reply.Positive() || a.raw != nil && !rawreply.StartsTLS(a.raw)) {
			return false, "no TLS handshake follows"
		}
	}
	return true, ""
}

// endingAfter returns what follows the reply of a: its ending, but when
// a has none of its own, after the end-of-message reply of BDAT LAST,
// the ending of the answer to BDAT LAST, bdatThen, which the engine
// carries out instead (smtpd's lastBdat; smtpd.KeepOpen for any other
// event), even after a 421.
func (a *action) endingAfter(bdatThen smtpd.Disposition) smtpd.Disposition {
	if a.then == smtpd.KeepOpen && bdatThen != smtpd.KeepOpen {
		return bdatThen
	}
	return a.ending()
}

// firing is a fault that fired at an event, at stage st.
type firing struct {
	af *armedFault
	st Stage
	// undone says, for its note, what of it is not done, and why
	// ("Trickle not done: no reply goes out").
	undone []string
}

// fireLocked fires af, which matched an event at stage st: its counter
// moves, and its action joins the plan p (compose). s.mu is held.
func (p *faultPlan) fireLocked(af *armedFault, st Stage) {
	af.fired++
	p.fired = append(p.fired, firing{af: af, st: st})
	f := &p.fired[len(p.fired)-1]
	a := &af.act
	p.act.delay = addDelay(p.act.delay, a.delay)
	if a.answers() {
		p.act.reply, p.act.raw, p.act.replyBy = a.reply, a.raw, a.replyBy
		p.act.drop, p.act.then, p.act.thenBy = a.drop, a.then, a.thenBy
	}
	for pt := range numParts {
		switch {
		case !a.has(pt):
		case p.act.has(pt) && !a.answers():
			by := p.fired[p.by[pt]].af.where
			f.undone = append(f.undone, a.partName(pt)+" not done: "+takenBy(pt, by))
		default:
			if p.act.has(pt) {
				// The fault that decides says how its own reply goes:
				// its modifier wins over that of one before it, whose
				// note settleParts writes.
				p.gaveWay[pt] = p.by[pt] + 1
			}
			p.act.take(a, pt)
			p.by[pt] = len(p.fired) - 1
		}
	}
}

// settleParts drops from the plan's answer to ev the modifiers it leaves
// nothing to act on (applies, bdatThen as it says), saying so in the
// notes of the faults they came from, and in that of a fault whose
// modifier gave way to the decider's own (gaveWay), which would have had
// nothing to act on either; it notes the others that gave way as such,
// and keeps where its IdleReply came from.
func (p *faultPlan) settleParts(ev *smtpd.Event, bdatThen smtpd.Disposition) {
	for pt := range numParts {
		if !p.act.has(pt) {
			continue
		}
		f := &p.fired[p.by[pt]]
		ok, why := p.act.applies(pt, ev.Kind, bdatThen)
		if w := p.gaveWay[pt]; w > 0 {
			// The fault whose part gave way to the decider's own: had
			// it been its part, it would have had nothing to act on
			// either (applies asks the answer, not the part).
			e := &p.fired[w-1]
			reason := takenBy(pt, f.af.where)
			if !ok {
				reason = why
			}
			e.undone = append(e.undone, e.af.act.partName(pt)+" not done: "+reason)
		}
		if !ok {
			f.undone = append(f.undone, p.act.partName(pt)+" not done: "+why)
			p.act.clear(pt)
			continue
		}
		if pt == partIdle {
			p.idleBy, p.idleOf = f.af.where, f.af.arming
		}
	}
}

// noteLocked writes the notes of the faults that fired for ev, in the
// order they fired, to the transcript and Session.Faults: each says what
// its fault does (bdatThen as describe says), and what of it is not
// done, and why. s.mu is held.
func (s *Server) noteLocked(rec *session, sf *sessionFaults, p *faultPlan, bdatThen smtpd.Disposition) {
	for _, f := range p.fired {
		var b strings.Builder
		fmt.Fprintf(&b, "%s: %v attempt %d → %s", f.af.where, f.st, sf.attempt, f.af.act.describe(bdatThen, false))
		if f.af.name != "" {
			b.WriteString(" (" + f.af.name + ")")
		}
		for _, u := range f.undone {
			b.WriteString("; " + u)
		}
		text := b.String()
		p.notes = append(p.notes, text)
		rec.mu.Lock()
		rec.addFault(text)
		rec.mu.Unlock()
	}
}
