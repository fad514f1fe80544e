package mocksmtp

import (
	"slices"
	"strings"
	"time"
)

// Ready-made faults for what real mail servers do. Each is an ordinary
// [Fault]: selectors and actions can be added to it, and it is added with
// [WithFault] or [Server.AddFault]. One [Fault.Reply] rewords its reply
// (Postgrey's: Greylist().Reply(450, "4.2.0 Greylisted")); a second is
// an error, as on any fault. A scenario that replies 421 (RateLimit,
// ShuttingDown) closes the connection as any fault's 421 does: an
// ending added to it ([Fault.ResetTCP], [Fault.Stall]...) follows the 421
// instead, and a reply reworded to another code leaves the connection
// open. Scenario state (greylisting's pairs, rate
// counters) is kept per server, and starts afresh with [Server.Reset]
// and [Server.ReplaceFaults]; it goes with its fault when the remove of
// [Server.AddRemovableFault] takes the fault out. A scenario sees every event it is consulted
// for: a fault before it that only delays or modifies the reply (a
// pace, an idle reply) does not hide it, one that decides does (see
// [WithFault]); its reply is paced as such a fault before it says. What a scenario keeps is what the
// client was told, as of when it went out: the command's arrival plus
// the delays of the faults that fired for it (its own [Fault.Delay]
// included, when it answers), and those of the commands pipelined after
// it, as the replies to pipelined commands go out together once the
// last is answered; a reply paced by a fault ([Fault.Trickle],
// [Fault.SplitReply]) goes out when its last part does, and only once
// it went out whole; a reply that never went out (the client left, or
// the server closed, during those delays; the client left in the pauses
// of a paced one, having read a part) counts for nothing.
// The time a later command comes, before any delay of its own, is what
// is compared with it.

// scenario starts a named fault for a scenario declared at where.
func scenario(stage Stage, name, where string) Fault {
	f := newFault(stage, where)
	f.name = name
	return f
}

// Greylist refuses the first RCPT of each sender and recipient pair with
// 451 4.7.1, as a greylisting server does, until the client comes back:
// the pair passes from the client's next connection on. Retries on the
// same connection are refused again. A pair is greylisted once a client
// is told its 451: one that leaves before the 451 went out (during a
// [Fault.Delay] before it, or in the pauses of a [Fault.Trickle] before
// it, having read a part) was not, and the pair's next RCPT is refused
// as its first. It is [GreylistFor] with no delay.
func Greylist() Fault { return greylist(0, callerLine(2)) }

// GreylistFor greylists as [Greylist] does, and wants the client to wait:
// a pair passes only on a later connection, at a RCPT that comes at
// least d after the client was first told 451 for it (when the
// connection opened does not matter); a retry that comes earlier is
// refused again (and does not restart the wait), as Postgrey does with
// its delay (300 seconds by default), and, as on the first connection,
// a retry on the connection it came on is refused even after the wait.
// What is compared is when the retry's RCPT comes, before any delay,
// with when that first 451 went out: after the delays of the faults
// that fired for its RCPT, a [Fault.Delay] before it in the script (see
// [WithFault]) or one of its own (GreylistFor(d).Delay(time.Minute)),
// and of the commands
// pipelined after it, whose replies go out with it, and, paced by a
// fault before it ([Fault.Trickle]), when its last part went out, so
// that a client that waits d after it read the 451 passes, and one that
// waits less does not. A 451 that never went out (the client left
// during those delays, or before the whole of a paced one came) starts
// no wait. The time is the server's clock: inside a
// testing/synctest bubble with [WithInMemory], the bubble's, so that a
// client's 5-minute retry is tested in no time (the mocksmtp program's
// is the clock its suite moves ahead, POST /api/clock/advance):
//
//	srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(mocksmtp.GreylistFor(5*time.Minute)))
//
// As a pair that passed passes from then on, the server remembers every
// pair it saw, some 100 octets and the two addresses each (and a few
// dozen for each other connection told the pair's 451), until
// [Server.Reset], [Server.ReplaceFaults] or [Server.ClearFaults], or
// until the remove of [Server.AddRemovableFault] takes the fault out: a
// server that meets ever new senders (a load test's random ones) grows
// by that much for each.
func GreylistFor(d time.Duration) Fault { return greylist(d, callerLine(2)) }

// refusal is what greylisting keeps of a pair told its 451: when, and
// on which connections, on which a retry is refused again.
type refusal struct {
	// first is the session told the pair's first 451; more, the others
	// told it before it passed (nil while there are none): those whose
	// 451s were pending at the same time (each session waits out its own
	// delays), and, under GreylistFor, those refused during the wait.
	first int
	more  map[int]struct{}
	at    time.Time // when the first 451 went out
}

// told reports whether session was told the pair's 451.
func (r *refusal) told(session int) bool {
	_, ok := r.more[session]
	return session == r.first || ok
}

// tell says that session was told the pair's 451.
func (r *refusal) tell(session int) {
	if r.told(session) {
		return
	}
	if r.more == nil {
		r.more = make(map[int]struct{})
	}
	r.more[session] = struct{}{}
}

func greylist(d time.Duration, where string) Fault {
	name := "greylist"
	if d > 0 {
		name += " for " + d.String()
	}
	f := scenario(StageRcpt, name, where)
	if d < 0 {
		return f.fail("%v: negative", call("GreylistFor", d))
	}
	f.newCond = func() condition {
		refused := make(map[[2]string]*refusal) // pair → its first 451s
		return func(m *match) bool {
			key := [2]string{strings.ToLower(first(m.senders)), strings.ToLower(first(m.rcpts))}
			session := m.session
			if r, seen := refused[key]; seen {
				if r.told(session) {
					return true
				}
				if m.now.Sub(r.at) >= d {
					return false
				}
				// Refused during the wait: the connection is told the
				// pair's 451 too, once it went out.
				m.onReply(false, func(time.Time) { r.tell(session) }, nil)
				return true
			}
			// Not told yet: refused, and greylisted once the 451 went
			// out. Of 451s pending at once, the first to go out starts
			// the pair's wait; each of their sessions is refused again.
			m.onReply(false, func(sent time.Time) {
				r, seen := refused[key]
				if !seen {
					// The paths are parts of their command lines: the map
					// keeps its own copies, not the lines.
					refused[[2]string{strings.Clone(key[0]), strings.Clone(key[1])}] = &refusal{first: session, at: sent}
					return
				}
				r.tell(session)
				if sent.Before(r.at) {
					r.at = sent
				}
			}, nil)
			return true
		}
	}
	return f.scenarioReply(451, "4.7.1 Greylisted, please try again later")
}

// scenarioReply sets the scenario's reply, which one [Fault.Reply] may
// reword.
func (f Fault) scenarioReply(code int, text string) Fault {
	f = f.Reply(code, text)
	f.act.replyBy = apiName{}
	return f
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// RateLimit allows n transactions (MAIL FROM) per connection: each
// further MAIL FROM gets 421 4.7.0 and the connection is closed.
func RateLimit(n int) Fault {
	f := scenario(StageMail, "rate limit", callerLine(2))
	if n < 1 {
		return f.fail("%v: want at least 1", call("RateLimit", n))
	}
	f.newCond = func() condition {
		return func(m *match) bool { return m.mails >= n }
	}
	return f.scenarioReply(421, "4.7.0 Too many messages on this connection, try again later")
}

// RateLimitPer allows n transactions (MAIL FROM) per interval across all
// connections: a MAIL FROM when n others were accepted in the last
// interval gets 451 4.7.1. A transaction counts from when its 250 went
// out, after the delays of the faults that fired for its MAIL FROM (a
// [Fault.Delay] before it in the script that only delays, see
// [WithFault], or one after it; a Delay of its own acts only on its
// 451) and of the commands pipelined after it, whose replies go out
// with it (a 250 paced by a fault, [Fault.Trickle], once the whole of
// it went out, from its last part), and a MAIL FROM is timed by when it
// comes, before any delay:
// one that comes interval or more after the client read the 250 of a
// transaction no longer meets it. A MAIL FROM that is not accepted (the
// engine refuses it, a later fault of the script does, or its session
// ends before the reply) is no transaction and does not count; while
// its reply is pending, it holds its place.
func RateLimitPer(n int, interval time.Duration) Fault {
	f := scenario(StageMail, "rate limit", callerLine(2))
	if n < 1 || interval <= 0 {
		return f.fail("%v: want n >= 1 and a positive interval", call("RateLimitPer", n, interval))
	}
	f.newCond = func() condition {
		// passed are the MAIL FROMs let through whose 250 went out in
		// the last interval, each the time it went out, and those whose
		// reply is pending (zero), which hold their place.
		var passed []*time.Time
		return func(m *match) bool {
			since := m.now.Add(-interval)
			passed = slices.DeleteFunc(passed, func(at *time.Time) bool { return !at.IsZero() && !at.After(since) })
			if len(passed) >= n {
				return true
			}
			at := new(time.Time)
			passed = append(passed, at)
			m.onReply(true, func(sent time.Time) { *at = sent }, func() {
				passed = slices.DeleteFunc(passed, func(p *time.Time) bool { return p == at })
			})
			return false
		}
	}
	return f.scenarioReply(451, "4.7.1 Rate limit exceeded, try again later")
}

// MailboxFull answers RCPT for the given recipients (addresses or
// patterns, as in [Fault.ForRcpt]; all recipients when none is given)
// with 552 5.2.2.
func MailboxFull(rcpts ...string) Fault {
	f := scenario(StageRcpt, "mailbox full", callerLine(2))
	if len(rcpts) > 0 {
		f = f.ForRcpt(rcpts...)
	}
	return f.scenarioReply(552, "5.2.2 Mailbox full")
}

// UnknownUser answers RCPT for the given recipients (addresses or
// patterns, as in [Fault.ForRcpt]; all recipients when none is given)
// with 550 5.1.1.
func UnknownUser(rcpts ...string) Fault {
	f := scenario(StageRcpt, "unknown user", callerLine(2))
	if len(rcpts) > 0 {
		f = f.ForRcpt(rcpts...)
	}
	return f.scenarioReply(550, "5.1.1 User unknown")
}

// ShuttingDown greets with 421 4.3.2 and closes the connection, as a
// server going down for maintenance does.
func ShuttingDown() Fault {
	f := scenario(StageGreeting, "shutting down", callerLine(2))
	return f.scenarioReply(421, "4.3.2 Service shutting down, try again later")
}

// TooManyRecipients accepts n recipients per message and answers each
// further RCPT with 452 4.5.3, as servers with a recipient limit do (the
// client should send the rest in another message).
func TooManyRecipients(n int) Fault {
	f := scenario(StageRcpt, "too many recipients", callerLine(2))
	if n < 1 {
		return f.fail("%v: want at least 1", call("TooManyRecipients", n))
	}
	f.newCond = func() condition {
		return func(m *match) bool { return m.txRcpts >= n }
	}
	return f.scenarioReply(452, "4.5.3 Too many recipients")
}
