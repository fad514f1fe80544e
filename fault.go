package mocksmtp

import (
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	pathpkg "path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mocksmtp/mocksmtp/internal/rawreply"
	"github.com/mocksmtp/mocksmtp/smtpd"
)

// Stage is a point of an SMTP session where a [Fault] can act.
type Stage int

// The stages of a session, in the order a session meets them.
const (
	// StageConnect is the moment the connection is accepted, before
	// anything was written: a fault here holds back, drops or resets the
	// connection before the greeting (with implicit TLS, after the TLS
	// handshake). Its faults are consulted before those of
	// StageGreeting, as the later faults of one stage: while those that
	// fire only delay or modify the reply (a pace, an idle reply), the
	// consultation goes on to StageGreeting's faults (see [WithFault]),
	// the delays adding up. With [WithImplicitTLS], a TLS
	// failure here ([Fault.ExpiredCertificate], [Fault.AbortHandshake]...)
	// acts on the handshake that opens the connection.
	StageConnect Stage = iota + 1
	// StageGreeting is the 220 greeting.
	StageGreeting
	// StageHelo is HELO or EHLO.
	StageHelo
	// StageStartTLS is STARTTLS, before its 220 and the handshake.
	StageStartTLS
	// StageAuth is AUTH after a successful SASL exchange, before its 235.
	StageAuth
	// StageMail is MAIL FROM.
	StageMail
	// StageRcpt is RCPT TO.
	StageRcpt
	// StageData is the DATA command, before its 354 and the message data.
	StageData
	// StageMessage is the end of a message (DATA's final dot or BDAT
	// LAST), before the reply that says whether it was accepted.
	StageMessage
	// StageBdat is a BDAT command, before its chunk is read. For BDAT
	// LAST the reply is the end-of-message reply, for which the faults
	// of StageMessage are consulted once the chunk is read. A fault here
	// acts on it: a negative [Fault.Reply] refuses the chunk and the
	// message; a positive one is the end-of-message reply (unless a fault
	// at StageMessage replies); [Fault.Trickle] and [Fault.SplitReply]
	// pace it; [Fault.Disconnect], [Fault.HalfClose], [Fault.Stall] and
	// [Fault.ResetTCP] act after it, the message recorded or refused as
	// that reply says. [Fault.RawReply] is not written there: declare it
	// at StageMessage. A fault that leaves the client without a reply
	// (Drop, Stall or ResetTCP without a Reply, DropAfterBytes cutting
	// the chunk) leaves the message unrecorded.
	StageBdat
	// StageRset is RSET.
	StageRset
	// StageNoop is NOOP.
	StageNoop
	// StageQuit is QUIT.
	StageQuit
)

var stageNames = [...]string{
	StageConnect: "connect", StageGreeting: "greeting", StageHelo: "HELO",
	StageStartTLS: "STARTTLS", StageAuth: "AUTH", StageMail: "MAIL",
	StageRcpt: "RCPT", StageData: "DATA", StageMessage: "end of message",
	StageBdat: "BDAT", StageRset: "RSET", StageNoop: "NOOP", StageQuit: "QUIT",
}

// String returns the name transcript notes use for the stage ("RCPT",
// "end of message").
func (s Stage) String() string {
	if s > 0 && int(s) < len(stageNames) {
		return stageNames[s]
	}
	return "Stage(" + strconv.Itoa(int(s)) + ")"
}

// stagesOf returns the stages whose faults are consulted for an event of
// kind k, in order; none for events faults do not act on (VRFY, EXPN,
// HELP, bad commands, TLS handshakes).
func stagesOf(k smtpd.Kind) []Stage {
	switch k {
	case smtpd.Connect: // implicit TLS, before the handshake: TLS failures only (see armedFault.matches)
		return []Stage{StageConnect}
	case smtpd.Greeting:
		return []Stage{StageConnect, StageGreeting}
	case smtpd.Helo, smtpd.Ehlo:
		return []Stage{StageHelo}
	case smtpd.StartTLS:
		return []Stage{StageStartTLS}
	case smtpd.Auth:
		return []Stage{StageAuth}
	case smtpd.Mail:
		return []Stage{StageMail}
	case smtpd.Rcpt:
		return []Stage{StageRcpt}
	case smtpd.Data:
		return []Stage{StageData}
	case smtpd.Message:
		return []Stage{StageMessage}
	case smtpd.Bdat:
		return []Stage{StageBdat}
	case smtpd.Rset:
		return []Stage{StageRset}
	case smtpd.Noop:
		return []Stage{StageNoop}
	case smtpd.Quit:
		return []Stage{StageQuit}
	}
	return nil
}

// Fault is one scripted misbehaviour of the server, written like a
// sentence: where ([At]), which events (selectors such as
// [Fault.OnAttempt]) and what happens (actions such as [Fault.Reply] and
// [Fault.Disconnect]):
//
//	mocksmtp.At(mocksmtp.StageRcpt).OnAttempt(1).Reply(421, "4.3.2 try later").Disconnect()
//
// Each method returns a new Fault, so a Fault is an immutable value, safe
// to reuse and to share between servers; the counters of [Fault.AtMost]
// and the state of scenarios such as [Greylist] are kept per server. A
// misused method (a bad code, two ways of ending the connection) makes
// the fault invalid: [WithFault] then fails [New], and [Server.AddFault]
// returns an error, with the file and line where the fault was declared.
//
// Faults act only on commands the engine accepted: a command refused for
// its syntax, its sequence or a limit gets the engine's reply, and does
// not count for [Fault.AtMost] or scenarios.
type Fault struct {
	stage    Stage
	where    string // file:line of At, or of the scenario's caller
	name     string // the scenario, "" for a plain fault
	attempts []int
	times    int
	rcpts    []string
	senders  []string
	prob     float64
	hasProb  bool
	newCond  func() condition // a scenario's selector, built per server
	act      action
	err      *faultError       // the first misuse (fail)
	names    map[string]string // Spelled: the names its errors say
}

// condition is a scenario's extra selector. It runs with the server's
// lock held, after the other selectors passed; when it returns true, the
// fault fires.
type condition func(m *match) bool

// action is what a fault does. A Fault's action is built by its methods,
// and, for TLS failures (tls.go), by Fault.with:
//
//	func (f Fault) ExpiredCertificate() Fault {
//		return f.with("ExpiredCertificate", func(a *action) error {
//			a.tlsConfig = func(server *tls.Config) (*tls.Config, error) { ... }
//			a.label = "expired certificate"
//			return nil
//		})
//	}
//
// The driver turns an action into an [smtpd.Answer] (see answer), after
// waiting delay.
type action struct {
	set   bool         // some action method was called
	reply *smtpd.Reply // replaces the default reply; nil keeps it
	raw   []byte       // written instead of any reply
	// replyBy is what set reply or raw: Reply(421), RawReply, or none
	// (the zero apiName) for a scenario's reply, which one Reply may
	// reword.
	replyBy   apiName
	drop      bool // close without a reply
	then      smtpd.Disposition
	thenBy    string        // the method that set then, for messages
	delay     time.Duration // waited before the reply, cancelled by Close
	pace      smtpd.Pace
	dropAfter int64 // DATA and BDAT: close after this many octets of data
	idle      *idleReply
	// tlsConfig, at StageStartTLS, builds the TLS configuration for the
	// handshake that follows a positive reply to STARTTLS, and at
	// StageConnect for the implicit TLS handshake (it becomes
	// Answer.TLSConfig). server is the server's own configuration (the
	// test certificate's, or WithTLSConfig's), which it must not change:
	// what the fault does not replace, such as a client certificate the
	// server requires, stays as it says. It is called from the session's
	// goroutine, once per firing. An error is noted in the transcript and
	// answered 454 4.7.0 instead.
	tlsConfig func(server *tls.Config) (*tls.Config, error)
	// label names, in transcript notes, what the fields above cannot say
	// ("expired certificate").
	label string
}

// idleReply is an unsolicited reply sent when the client stays silent.
type idleReply struct {
	after time.Duration
	reply smtpd.Reply
}

// At starts a fault at the given stage. Until an action is added, the
// fault does nothing and is invalid. The file and line of the call are
// kept for transcript notes and error messages.
func At(stage Stage) Fault { return newFault(stage, callerLine(2)) }

func newFault(stage Stage, where string) Fault {
	f := Fault{stage: stage, where: where}
	if stage < StageConnect || stage > StageQuit {
		f = f.fail("%v: unknown stage", call("At", stage))
	}
	return f
}

// callerLine returns "file.go:12" for the caller skip frames up.
func callerLine(skip int) string {
	_, file, line, ok := runtime.Caller(skip)
	if !ok {
		return "?"
	}
	return filepath.Base(file) + ":" + strconv.Itoa(line)
}

// fail records the first misuse of the fault; check reports it with
// where the fault was declared.
func (f Fault) fail(format string, args ...any) Fault {
	if f.err == nil {
		f.err = failure(format, args...)
	}
	return f
}

// with returns a copy of the fault with its action changed by fn; an
// error from fn makes the fault invalid, naming method. It is how actions
// defined outside this file (TLS failures) plug in.
func (f Fault) with(method string, fn func(*action) error) Fault {
	if err := fn(&f.act); err != nil {
		return f.fail("%v: %v", api(method), err)
	}
	f.act.set = true
	return f
}

// OnAttempt makes the fault fire only on the given attempts: attempt n is
// the server's nth connection (see Session.Attempt), counting from 1. At
// least one attempt must be given.
//
// To assert how a client retries, fail its first attempts and compare the
// Start times of its sessions: a client that waits d before attempt 2
// gives srv.Sessions()[1].Start.Sub(srv.Sessions()[0].Start) >= d (see
// the example of [Server.Sessions]).
func (f Fault) OnAttempt(n ...int) Fault {
	if len(n) == 0 {
		return f.fail("%v: no attempt", api("OnAttempt"))
	}
	for _, a := range n {
		if a < 1 {
			return f.fail("%v: attempts count from 1", call("OnAttempt", a))
		}
	}
	f.attempts = slices.Concat(f.attempts, n)
	return f
}

// AtMost makes the fault fire at most n times: on its first n matches,
// counted per server from when the fault was added, and again from 0
// after [Server.Reset] or [Server.ReplaceFaults]. (An [Expectation]'s
// Times, by contrast, wants exactly n messages.)
func (f Fault) AtMost(n int) Fault {
	if n < 1 {
		return f.fail("%v: want at least 1", call("AtMost", n))
	}
	f.times = n
	return f
}

// ForRcpt makes the fault fire only for recipients matching one of the
// patterns: an address ("bob@example.com") or a pattern as for path.Match
// ("*@blocked.example"), compared without regard to case; "*" and "?"
// match a "/" too, which a local part may have. At StageRcpt it
// matches the recipient of the command; at StageData, StageBdat and
// StageMessage, any recipient of the transaction. Other stages have no
// recipient: a fault with ForRcpt there would never fire, and is invalid;
// so is the pattern "", as no recipient is empty (the server refuses
// RCPT TO:<>, and a fault does not act on a command the server refused).
func (f Fault) ForRcpt(patterns ...string) Fault {
	if err := checkPatterns(patterns); err != nil {
		return f.fail("%v: %v", api("ForRcpt"), err)
	}
	if slices.Contains(patterns, "") {
		return f.fail("%v: the pattern \"\": no recipient is empty (RCPT TO:<> is refused), so it would never match", api("ForRcpt"))
	}
	f.rcpts = slices.Concat(f.rcpts, lower(patterns))
	return f
}

// ForSender makes the fault fire only for senders matching one of the
// patterns, as [Fault.ForRcpt] does for recipients; "" is the null sender
// <>. It matches at StageMail and at the stages of a transaction after it
// (StageRcpt, StageData, StageBdat, StageMessage); at other stages, which
// have no sender, the fault is invalid.
func (f Fault) ForSender(patterns ...string) Fault {
	if err := checkPatterns(patterns); err != nil {
		return f.fail("%v: %v", api("ForSender"), err)
	}
	f.senders = slices.Concat(f.senders, lower(patterns))
	return f
}

func checkPatterns(patterns []string) error {
	if len(patterns) == 0 {
		return errors.New("no pattern")
	}
	for _, p := range patterns {
		if _, err := pathpkg.Match(p, ""); err != nil {
			return fmt.Errorf("pattern %q: %w", p, err)
		}
	}
	return nil
}

func lower(s []string) []string {
	out := make([]string, len(s))
	for i, p := range s {
		out[i] = strings.ToLower(p)
	}
	return out
}

// WithProbability makes the fault fire with probability p (0 to 1) when
// its other selectors match: at 0 it never fires, as a failure rate
// swept down to none says, and at 1 it always does. The draws come from a random source seeded
// per server and connection (see [WithSeed]), so the same seed and the
// same client behaviour give the same faults; sessions that use it note
// the seed in their transcript. It draws once at each event it is
// consulted for whose other selectors match: a fault before it that only
// delays or modifies (a pace, an idle reply...) does not keep it from
// being consulted, one that decides does, and so does, for a fault that
// only modifies, faults before it that gave all it would (see
// [WithFault]).
func (f Fault) WithProbability(p float64) Fault {
	if !(p >= 0 && p <= 1) {
		return f.fail("%v: want 0 to 1", call("WithProbability", p))
	}
	f.prob, f.hasProb = p, true
	return f
}

// Reply makes the server answer with code and text instead of its normal
// reply. A leading enhanced status code in text ("4.3.2 try later") is
// sent as such; without one, a code of the normal reply's class keeps its
// enhanced status code and another gets "2.0.0", "4.0.0" or "5.0.0". A
// "\n" in text makes a multiline reply, the enhanced status code on each
// line, whether text gives it once or on every line as the wire has it
// ("5.7.1 Rejected\n5.7.1 see https://..."). A negative reply refuses the
// command (a refused message is not recorded); a positive one lets it
// take effect, and must be one that says so, as RFC 5321 4.3.2 lists
// them: 220 for the greeting and STARTTLS (whose handshake follows), 235
// at StageAuth, 354 at StageData (whose message data follows), 250, 251
// or 252 at StageRcpt, 221 at StageQuit, 250 elsewhere; another (250 to DATA,
// 334 to AUTH, 354 or 251 to MAIL, 250 to QUIT) makes the fault invalid,
// as the server would not do what it says: [Fault.RawReply] tells the
// client anything while the server goes on as after its normal reply. A
// greeting (StageGreeting, StageConnect) that refuses is 554, or 421
// (RFC 5321 4.3.2, 3.8); another negative code there makes the fault
// invalid, since the server acts on it as on 554 (503 to every command
// but QUIT). An enhanced status code of another class than the code
// (250 with "5.1.1", 451 with "2.0.0") makes the fault invalid: its class
// is the reply's (RFC 3463); [Fault.RawReply] writes anything. A fault
// writes one reply: a second Reply, or a Reply and a RawReply, make it
// invalid (the second would replace the first); on a scenario such as
// [Greylist], Reply rewords the scenario's reply. A 421 closes the
// connection after it, as [Fault.Disconnect] does, since 421 says that
// the server closes the channel (RFC 5321 3.8, 4.2.2), as the engine's
// own 421s do and clients take it; with [Fault.ResetTCP],
// [Fault.HalfClose] or [Fault.Stall] that ending follows it instead (at
// StageMessage after BDAT LAST, so does the ending of the fault at
// [StageBdat]), and
// with [Fault.IdleReply], which needs the connection open, the fault is
// invalid. A server that says 421 and goes on is [Fault.RawReply]'s.
// At StageHelo a positive reply to EHLO is the reply's first line, and
// the extensions the server serves follow it, so that the client is
// offered what the server does; a multiline one is invalid there (to
// offer fewer extensions, use [WithoutExtensions]).
func (f Fault) Reply(code int, text string) Fault {
	r, err := newReply(code, text)
	if err != nil {
		return f.fail("%v: %v", api("Reply"), err)
	}
	if f.act.replyBy.name != "" {
		return f.fail("%v after %v: a fault writes one reply, and the second would replace the first; keep the one the client should read", call("Reply", code), f.act.replyBy)
	}
	f.act.reply, f.act.replyBy = &r, call("Reply", code)
	f.act.set = true
	return f
}

func newReply(code int, text string) (smtpd.Reply, *faultError) {
	if code < 200 || code > 599 {
		return smtpd.Reply{}, failure("code %d: want 200 to 599", code)
	}
	r := smtpd.NewReply(code, text)
	if class := code / 100; r.Status != "" && class != 3 && int(r.Status[0]-'0') != class {
		return smtpd.Reply{}, failure("%d with the enhanced status code %s: its class must be the reply's, %d (RFC 3463); to send it anyway, use %v", code, r.Status, class, api("RawReply"))
	}
	return r, nil
}

// RawReply makes the server write raw, byte for byte, instead of its
// reply: garbage, a reply without CRLF, a wrong code. Commands take effect
// or not as with the normal reply, but for two, where what the client
// was told decides: a message is recorded only when raw starts with "2";
// and at StageStartTLS the TLS handshake follows only when the last
// line of raw is a complete 220 (RFC 3207 4: clients begin the handshake
// after no other reply), a TLS failure such as
// [Fault.ExpiredCertificate] acting on it; after anything else (a 454,
// a 250, garbage, a line without its LF) the session stays in plaintext,
// as the client, which did not begin it, does,
// and a TLS failure, with no handshake to act on, makes the fault invalid.
// At StageBdat it is not written for BDAT LAST, whose
// reply is the end-of-message reply (see [StageBdat]). With a
// [Fault.Reply], or a second RawReply, the fault is invalid: it writes
// one reply; so it is on a scenario that replies, which acts on its reply.
func (f Fault) RawReply(raw string) Fault {
	switch {
	case f.act.replyBy.name != "":
		return f.fail("%v after %v: a fault writes one reply, and the second would replace the first; keep the one the client should read", api("RawReply"), f.act.replyBy)
	case f.act.reply != nil:
		return f.fail("%v on the %s scenario, which replies %d and acts on it: to reword its reply, use %v", api("RawReply"), f.name, f.act.reply.Code, api("Reply"))
	}
	f.act.raw, f.act.replyBy = []byte(raw), api("RawReply")
	f.act.set = true
	return f
}

// Disconnect closes the connection after the reply (the fault's or the
// normal one): the classic "421, then hang up", which a [Fault.Reply]
// of 421 does without it. The server half-closes and drains briefly, so
// the client does read the reply. At StageQuit,
// after whose reply the connection closes anyway, a fault that only
// disconnects would change nothing and is invalid: use [Fault.Drop] to
// close without the reply.
func (f Fault) Disconnect() Fault { return f.setThen(smtpd.CloseConn, "Disconnect", false) }

// Drop closes the connection without any reply.
func (f Fault) Drop() Fault { return f.setThen(smtpd.CloseConn, "Drop", true) }

// ResetTCP resets the connection (TCP RST, linger 0) instead of replying,
// or after the fault's [Fault.Reply], which the reset may destroy.
func (f Fault) ResetTCP() Fault { return f.setThen(smtpd.ResetConn, "ResetTCP", false) }

// HalfClose shuts the server's writing side after the reply and keeps
// reading (and discarding) until the client closes. A server that closes
// meanwhile writes no 421: nothing more can go out.
func (f Fault) HalfClose() Fault { return f.setThen(smtpd.HalfCloseConn, "HalfClose", false) }

// Stall makes the server hang: no reply (unless the fault has a
// [Fault.Reply]), nothing more written, input discarded, until the client
// gives up or the server closes. At StageConnect it is a greeting that
// never comes.
func (f Fault) Stall() Fault { return f.setThen(smtpd.Hang, "Stall", false) }

func (f Fault) setThen(d smtpd.Disposition, method string, drop bool) Fault {
	if f.act.thenBy != "" {
		return f.fail("%v after %v: both end the connection; choose one", api(method), api(f.act.thenBy))
	}
	f.act.then, f.act.thenBy, f.act.drop, f.act.set = d, method, drop, true
	return f
}

// Delay makes the server wait d before its reply (and before whatever the
// fault's other actions do); a second Delay adds to it, up to the longest
// time.Duration, which is forever. [Server.Close] ends the wait. So does a
// client that gives up and closes or resets the connection (or shuts down
// its writing side) while it waits for the reply: the session ends then,
// [EndClientClosed] with an Err wrapping smtpd.ErrClientGone, as during a
// [Fault.Stall] ([EndQuit] when it waited for the reply to its QUIT), and
// no reply is written. So does a client that sent more before it left
// (a command pipelined after the delayed one, a QUIT once it gave up):
// what it sent is not served, but the transcript has it, under a note,
// and a client whose last command was QUIT ends [EndQuit]. What a client
// that stays sends during the delay (pipelined commands) is read after
// it, in order; one that sent more than the engine's read buffer holds
// (16 KiB with the default limits) is taken to be there, and the delay
// runs its course.
// At StageMessage the message is recorded first: the server accepts the
// message but answers only after the delay; if the server closes during
// that delay, the message stays recorded while the client gets 421 and
// may send it again, as with a real MTA that dies after queueing (and so
// it does when the client gives up). At StageBdat the wait comes before
// the chunk is read. The wait begins once the server has done its work
// on the command (at StageMessage the DKIM and ARC checks, the MIME
// parse of [WithRejectNonconforming], a [WithOnMessage] callback), which
// does not shorten it.
//
// A fault without a reply, raw reply, Drop or ending decides nothing:
// the faults after it at its stage are consulted still, their delays add
// to its, and the first of them that decides gives the answer, which
// comes after all the delays (see [WithFault]); it still fires, and so
// uses up its [Fault.AtMost], and is noted, as any fault.
func (f Fault) Delay(d time.Duration) Fault {
	if d < 0 {
		return f.fail("%v: negative", call("Delay", d))
	}
	f.act.delay = addDelay(f.act.delay, d)
	f.act.set = true
	return f
}

// addDelay returns a+b (both not negative), or the longest duration when
// the sum does not fit: delays add up to forever, never wrap around to a
// negative wait, which would be none.
func addDelay(a, b time.Duration) time.Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// Trickle writes the reply n bytes at a time, waiting every between
// writes: a slow server. A client that leaves during a wait ends the
// reply and the session, as during a [Fault.Delay], and the transcript
// notes how much of the reply went out; at StageAuth the client got part
// of a 235, no 235, and [AuthInfo.Refused] says so; at StageMessage the
// message stays recorded, as a server that queued it before its 250
// went out keeps it (the client may send it again); at StageQuit the
// client quit (the session ends QUIT). A fault that writes
// no reply (Drop; ResetTCP or Stall without a Reply) cannot pace it and
// is invalid.
//
// Pacing decides no reply: a fault that paces and does not reply lets
// the faults after it at its stage be consulted, and paces the reply of
// the first that decides, or the server's own when none does
// (see [WithFault]):
//
//	mocksmtp.At(mocksmtp.StageRcpt).Trickle(1, 10*time.Millisecond),
//	mocksmtp.UnknownUser("bob@example.com"), // bob's 550 comes trickled
//
// The fault that decides paces its reply with its own pace (Trickle or
// SplitReply), if it has one; else the first fault that fired with a
// pace paces it. One that decides nothing and would add nothing (no
// delay, and a pace, as any other modifier it has, that an earlier fault
// already gave) is not consulted. With no reply to pace (a Drop after
// it), its note says so.
func (f Fault) Trickle(n int, every time.Duration) Fault {
	if n < 1 || every < 0 {
		return f.fail("%v: want n >= 1 and every >= 0", call("Trickle", n, every))
	}
	return f.setPace(smtpd.Pace{Chunk: n, Every: every}, "Trickle")
}

// SplitReply writes the first at bytes of the reply, waits pause, and
// writes the rest: a reply split across TCP writes, as clients that read
// replies with a single read mishandle. A client that leaves during the
// pause ends the reply and the session, as during a [Fault.Delay], and
// at StageAuth, StageMessage and StageQuit is recorded as for Trickle. As for
// Trickle, a fault that writes no reply cannot split it and is invalid,
// and a fault that splits and does not reply decides no reply: it splits
// that of the fault after it that decides, or the server's own, unless
// that fault has a pace of its own or a fault before it paced the reply
// first (see [Fault.Trickle]).
func (f Fault) SplitReply(at int, pause time.Duration) Fault {
	if at < 1 || pause < 0 {
		return f.fail("%v: want at >= 1 and pause >= 0", call("SplitReply", at, pause))
	}
	return f.setPace(smtpd.Pace{SplitAt: at, Every: pause}, "SplitReply")
}

func (f Fault) setPace(p smtpd.Pace, method string) Fault {
	if f.act.pace != (smtpd.Pace{}) {
		return f.fail("%v: the reply is already paced; choose one of %v and %v", api(method), api("Trickle"), api("SplitReply"))
	}
	f.act.pace, f.act.set = p, true
	return f
}

// DropAfterBytes, at StageData or StageBdat, closes the connection without
// a reply once n octets of message data (or of the BDAT chunk) arrived,
// as sent: dot-stuffed, and with DATA's final "." line counted. No message
// is recorded; one sent whole in fewer octets is. At StageData the data
// must come: with a negative Reply, or with Drop, Disconnect, ResetTCP,
// HalfClose or Stall, the fault is invalid. It decides no reply: the
// faults after it at its stage are consulted still (see [WithFault]), and
// when the one that decides refuses DATA or ends the connection, no data
// is read, and its note says that it was not done.
func (f Fault) DropAfterBytes(n int64) Fault {
	if n < 1 {
		return f.fail("%v: want at least 1", call("DropAfterBytes", n))
	}
	if f.act.dropAfter > 0 {
		return f.fail("%v after %v: the second would replace the first; keep one", call("DropAfterBytes", n), call("DropAfterBytes", f.act.dropAfter))
	}
	f.act.dropAfter, f.act.set = n, true
	return f
}

// IdleReply makes the server, after its reply at this stage, wait at most
// after for the client's next command; if none has arrived by then, it
// sends the reply given by code and text (as for [Fault.Reply])
// unsolicited and closes, as a server timing out an idle client does
// (RFC 5321 3.8):
//
//	mocksmtp.At(mocksmtp.StageHelo).IdleReply(time.Second, 421, "4.4.2 idle too long")
//
// The time is the client's silence: it runs only while the server waits
// for the client, from when the server has written its reply (from the
// start of the write of its last part, which takes no time in a
// testing/synctest bubble), never while the server works or writes,
// since a client waiting for a reply is not idle. A [Fault.Delay], a
// reply paced by [Fault.Trickle] or [Fault.SplitReply], and the work on a
// message before its reply (DKIM and ARC checks, the MIME parse of
// [WithRejectNonconforming], a [WithOnMessage] callback) do not count. At
// StageData (whose reply is 354) it covers the whole message data, up
// to the final dot, however steadily the client sends it. At
// StageBdat, whose reply follows the chunk, it runs from the command
// (after the fault's Delay, if any) and covers the chunk too, stops while the server writes the reply to
// a chunk and runs again after it; for BDAT LAST it goes on after the
// end-of-message reply with what the chunk left of it, unless a fault at
// StageMessage has its own IdleReply. A command that arrives just as the
// time runs out is too late. The server's read timeout (5 minutes,
// see [WithReadTimeout]) still applies: it ends a session idle for
// longer, with its own 421 4.4.2; when it is as long as after, the
// fault's reply ends the session. At StageStartTLS after a 220 it
// covers the TLS handshake, which no reply may interrupt: a client that
// has not finished it by then is disconnected without the reply.
// [Server.ClearFaults], [Server.ReplaceFaults], [Server.Reset] and the
// remove of [Server.AddRemovableFault] end the wait: the fault is gone,
// or starts afresh as if it had never fired, and a session idle across
// them is not closed by it; one as the time runs
// out is too late, as a command then is. At StageQuit, after which the
// connection closes, it is invalid, and so is a positive code other than
// 221, which alone says that the server closes (a 250 would say the
// command the client has not sent yet was done).
//
// It decides no reply: a fault with an IdleReply and no reply of its own
// lets the faults after it at its stage be consulted, and the wait
// follows the reply of the first that decides, or the server's own
// (see [WithFault]):
//
//	mocksmtp.At(mocksmtp.StageRcpt).IdleReply(time.Minute, 421, "4.4.2 idle too long"),
//	mocksmtp.At(mocksmtp.StageRcpt).ForRcpt("bob@example.com").Reply(550, "5.1.1 no such user"),
//
// gives bob 550, and then waits a minute for the next command. The one
// that decides arms its own IdleReply, if it has one, whatever a fault
// before it had; else the first fault that fired with an IdleReply arms
// it. When the one that decides closes the connection (a 421, a
// Disconnect), nothing waits, and its note says so.
func (f Fault) IdleReply(after time.Duration, code int, text string) Fault {
	if after <= 0 {
		return f.fail("%v: want a positive duration", call("IdleReply", after))
	}
	r, err := newReply(code, text)
	if err != nil {
		return f.fail("%v: %v", api("IdleReply"), err)
	}
	if f.act.idle != nil {
		return f.fail("%v after %v: the second would replace the first; keep one", call("IdleReply", after), call("IdleReply", f.act.idle.after))
	}
	f.act.idle, f.act.set = &idleReply{after: after, reply: r}, true
	return f
}

// Err reports why the fault is invalid (a bad code, two ways of ending
// the connection, no action...), or nil. [WithFault] and
// [Server.AddFault] check it.
func (f Fault) Err() error { return f.check() }

// DeclaredAt replaces the place the fault names in transcript notes and
// errors (by default the file and line of [At] or of the scenario), for
// faults a program builds from a script: "faults.json:3".
func (f Fault) DeclaredAt(where string) Fault {
	f.where = where
	return f
}

// check reports why the fault cannot be used, or nil.
func (f Fault) check() error {
	if err := f.problem(); err != nil {
		return f.errAt(err)
	}
	return nil
}

// errAt returns err, why the fault cannot be used, said with the fault's
// names (Spelled) and where it was declared.
func (f Fault) errAt(err *faultError) error {
	return fmt.Errorf("mocksmtp: fault at %s: %w", f.where, f.spelled(err))
}

func (f Fault) problem() *faultError {
	if f.err != nil {
		return f.err
	}
	a := f.act
	then, thenBy := a.ending(), a.endingBy()
	switch {
	case !a.set:
		return failure("%v has no action (%v, %v, %v...)", f.stage, api("Reply"), api("Disconnect"), api("Delay"))
	case a.drop && (a.reply != nil || a.raw != nil):
		return failure("%v closes without a reply; to reply and then close, use %v", api("Drop"), api("Disconnect"))
	case a.reply != nil && a.reply.Positive() && !f.stage.means(a.reply.Code) && f.stage == StageStartTLS:
		return failure("%v at %v: a positive reply there is 220 (RFC 3207 4), the one after which the client and the server begin the TLS handshake; to tell the client %d, use %v (the session goes on in plaintext)", call("Reply", a.reply.Code), f.stage, a.reply.Code, api("RawReply"))
	case a.reply != nil && a.reply.Positive() && !f.stage.means(a.reply.Code):
		codes, then := f.stage.positive()
		return failure("%v at %v: a positive reply there is %s (RFC 5321 4.3.2), and the server acts on any as on it (%s); to tell the client %d while it does, use %v", call("Reply", a.reply.Code), f.stage, joinCodes(codes), then, a.reply.Code, api("RawReply"))
	case a.reply != nil && !a.reply.Positive() && (f.stage == StageGreeting || f.stage == StageConnect) && a.reply.Code != 421 && a.reply.Code != 554:
		return failure("%v at %v: a greeting that refuses is 554, or 421 that closes (RFC 5321 4.3.2, 3.8), and the server acts on it as on 554 (503 to every command but QUIT); to tell the client %d, use %v", call("Reply", a.reply.Code), f.stage, a.reply.Code, api("RawReply"))
	case a.reply != nil && a.reply.Positive() && f.stage == StageHelo && len(a.reply.Lines) > 1:
		return failure("%v at HELO with %d lines: the lines after the first of a reply to EHLO are the extensions offered, and the server's own follow the fault's first line, so that the client is offered what the server serves; to offer fewer, use %v; to write other lines, %v", call("Reply", a.reply.Code), len(a.reply.Lines), api("WithoutExtensions"), api("RawReply"))
	case a.idle != nil && a.idle.reply.Positive() && !StageQuit.means(a.idle.reply.Code):
		return failure("%v: the server closes the connection after it, which no positive reply but QUIT's 221 says; a server timing out an idle client says 421 (RFC 5321 3.8, 4.5.3.2)", call("IdleReply", a.idle.reply.Code))
	case a.dropAfter > 0 && f.stage != StageData && f.stage != StageBdat:
		return failure("%v works at %v and %v, not at %v", api("DropAfterBytes"), api("StageData"), api("StageBdat"), f.stage)
	case a.idle != nil && then != smtpd.KeepOpen:
		return failure("%v with %v: the connection is not left open to be idle", api("IdleReply"), thenBy)
	case a.tlsConfig != nil && f.stage != StageStartTLS && f.stage != StageConnect:
		return failure("TLS failures work at %v, and at %v under implicit TLS, not at %v", api("StageStartTLS"), api("StageConnect"), f.stage)
	case a.tlsConfig != nil && f.stage == StageConnect && (a.reply != nil || a.raw != nil || a.then != smtpd.KeepOpen):
		by := failure("reply")
		if a.thenBy != "" {
			by = thenBy
		}
		return failure("a TLS failure at %v acts on the implicit TLS handshake, before any reply: it takes no %v", api("StageConnect"), by)
	case a.tlsConfig != nil && f.stage == StageStartTLS && then != smtpd.KeepOpen:
		return failure("a TLS failure with %v: no handshake follows the reply to STARTTLS", thenBy)
	case a.tlsConfig != nil && f.stage == StageStartTLS && a.reply != nil && !a.reply.Positive():
		return failure("a TLS failure with the negative reply %d: no handshake follows it", a.reply.Code)
	case a.tlsConfig != nil && f.stage == StageStartTLS && a.raw != nil && !rawreply.StartsTLS(a.raw):
		return failure("a TLS failure with a %v that does not end in a complete 220 line: no handshake follows it", api("RawReply"))
	case a.pace != (smtpd.Pace{}) && (a.silent() || a.tlsConfig != nil && f.stage == StageConnect):
		by := failure("a TLS failure at %v", api("StageConnect"))
		if a.thenBy != "" {
			by = thenBy
		}
		if !a.drop {
			by = failure("%v and no reply", by)
		}
		return failure("%v with %v: there is no reply to pace", api(a.paceBy()), by)
	case a.dropAfter > 0 && f.stage == StageData && then != smtpd.KeepOpen:
		return failure("%v at DATA with %v: no message data is read", api("DropAfterBytes"), thenBy)
	case a.dropAfter > 0 && f.stage == StageData && a.reply != nil && !a.reply.Positive():
		return failure("%v at DATA with the negative reply %d: no message data is read", api("DropAfterBytes"), a.reply.Code)
	case a.idle != nil && f.stage == StageQuit:
		return failure("%v at QUIT: the connection closes after QUIT, it is never idle", api("IdleReply"))
	case f.stage == StageQuit && a.then == smtpd.CloseConn && !a.drop && a.reply == nil && a.raw == nil && a.delay == 0 && a.pace == (smtpd.Pace{}):
		return failure("%v at QUIT, and nothing else: the connection closes after the reply to QUIT anyway, so the fault changes nothing; to close without the reply, use %v (or %v, %v, %v)", api("Disconnect"), api("Drop"), api("ResetTCP"), api("HalfClose"), api("Stall"))
	case len(f.rcpts) > 0 && !f.stage.hasRcpt():
		if f.stage == StageMail {
			// A test that shares a server scopes a fault at MAIL (a
			// rate limit) by its sender.
			return failure("%v at %v: there is no recipient to match there, only at %v, %v, %v and %v; at %v, match the sender with %v", api("ForRcpt"), f.stage, api("StageRcpt"), api("StageData"), api("StageBdat"), api("StageMessage"), f.stage, api("ForSender"))
		}
		return failure("%v at %v: there is no recipient to match there, only at %v, %v, %v and %v", api("ForRcpt"), f.stage, api("StageRcpt"), api("StageData"), api("StageBdat"), api("StageMessage"))
	case len(f.senders) > 0 && !f.stage.hasSender():
		return failure("%v at %v: there is no sender to match there, only at %v, %v, %v, %v and %v", api("ForSender"), f.stage, api("StageMail"), api("StageRcpt"), api("StageData"), api("StageBdat"), api("StageMessage"))
	}
	return nil
}

// positive returns the codes of the positive replies to the command of
// stage s, as RFC 5321 4.3.2 lists them (RFC 3207 for STARTTLS, RFC 4954
// for AUTH, RFC 3030 for BDAT; and 252 for RCPT), and what follows them.
func (s Stage) positive() (codes []int, then string) {
	switch s {
	case StageConnect, StageGreeting:
		return []int{220}, "the session goes on"
	case StageStartTLS:
		return []int{220}, "the TLS handshake follows"
	case StageAuth:
		return []int{235}, "the client is authenticated; 334 would ask it to go on"
	case StageData:
		return []int{354}, "the message data is read"
	case StageRcpt:
		// 252 is VRFY's "cannot verify, will accept", which clients
		// such as net/smtp take from RCPT as its success too.
		return []int{250, 251, 252}, "the recipient is added"
	case StageMessage:
		return []int{250}, "the message is recorded"
	case StageBdat:
		return []int{250}, "the chunk is taken, and for BDAT LAST the message recorded"
	case StageQuit:
		return []int{221}, "the connection closes"
	}
	return []int{250}, "the command takes effect"
}

// means reports whether a positive reply with code says what the server
// does after a positive reply at stage s (see positive).
func (s Stage) means(code int) bool {
	codes, _ := s.positive()
	return slices.Contains(codes, code)
}

// joinCodes returns "250", "250 or 251", "250, 251 or 252".
func joinCodes(codes []int) string {
	s := make([]string, len(codes))
	for i, c := range codes {
		s[i] = strconv.Itoa(c)
	}
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// hasRcpt reports whether an event at stage s has recipients for
// [Fault.ForRcpt] to match (see planFaults).
func (s Stage) hasRcpt() bool {
	return s == StageRcpt || s == StageData || s == StageBdat || s == StageMessage
}

// hasSender reports whether an event at stage s has a sender for
// [Fault.ForSender] to match (see planFaults).
func (s Stage) hasSender() bool { return s == StageMail || s.hasRcpt() }

// silent reports whether the action writes no reply: Drop, and ResetTCP
// or Stall without a Reply or RawReply.
func (a *action) silent() bool {
	return a.drop || a.reply == nil && a.raw == nil && (a.then == smtpd.ResetConn || a.then == smtpd.Hang)
}

// needsTaken names what the action does only once the command of ev
// takes effect, which a reply the fault leaves to the server may deny it
// (WithRejectNonconforming's): a TLS failure of the handshake after
// STARTTLS, DropAfterBytes in the message data after DATA; "" when it
// does nothing of the kind.
func (a *action) needsTaken(ev *smtpd.Event) string {
	switch {
	case a.tlsConfig != nil && ev.Kind == smtpd.StartTLS:
		return "the " + a.label + " of the TLS handshake"
	case a.dropAfter > 0 && ev.Kind == smtpd.Data:
		return fmt.Sprintf("the drop after %d octets of message data", a.dropAfter)
	}
	return ""
}

// ending returns what follows the reply: a Reply(421) without an ending
// of its own closes the connection after it, as Disconnect does, since
// 421 says that the server closes the channel (RFC 5321 3.8, 4.2.2) and
// clients take it so. The engine closes so after every 421 it writes
// (smtpd.Answer): ending says what it will do, for the notes (describe)
// and the checks (problem), and answer leaves it to the engine. It
// allocates nothing: every fault that fires asks.
func (a *action) ending() smtpd.Disposition {
	if a.closesBy421() {
		return smtpd.CloseConn
	}
	return a.then
}

// endingBy names what sets the ending, for the errors of problem.
func (a *action) endingBy() *faultError {
	if a.closesBy421() {
		return failure("%v, which closes the connection (RFC 5321 3.8)", call("Reply", 421))
	}
	return failure("%v", api(a.thenBy))
}

// closesBy421 reports whether the connection closes after the reply for
// its code alone: a 421 with no ending of the fault's own.
func (a *action) closesBy421() bool {
	return a.then == smtpd.KeepOpen && a.reply != nil && a.reply.Code == 421
}

// paceBy names the method that paced the reply.
func (a *action) paceBy() string {
	if a.pace.Chunk > 0 {
		return "Trickle"
	}
	return "SplitReply"
}

// String describes the fault: "RCPT on attempt 1 → 421 4.3.2 try later,
// disconnect (retry_test.go:18)". Of a 421 at StageMessage without an
// ending of its own, it says that after BDAT LAST the ending of a fault
// at StageBdat follows instead, if there is one (see [Fault.Reply]); the
// fault's transcript note says which did.
func (f Fault) String() string {
	var b strings.Builder
	b.WriteString(f.stage.String())
	if f.name != "" {
		fmt.Fprintf(&b, " %s", f.name)
	}
	if len(f.attempts) > 0 {
		fmt.Fprintf(&b, " on attempt %s", joinInts(f.attempts))
	}
	if len(f.senders) > 0 {
		fmt.Fprintf(&b, " for sender %s", strings.Join(f.senders, "|"))
	}
	if len(f.rcpts) > 0 {
		fmt.Fprintf(&b, " for rcpt %s", strings.Join(f.rcpts, "|"))
	}
	switch {
	case f.times == 1:
		b.WriteString(" at most once")
	case f.times > 1:
		fmt.Fprintf(&b, " at most %d times", f.times)
	}
	if f.hasProb {
		fmt.Fprintf(&b, " with probability %v", f.prob)
	}
	fmt.Fprintf(&b, " → %s (%s)", f.act.describe(smtpd.KeepOpen, f.stage == StageMessage), f.where)
	return b.String()
}

func joinInts(n []int) string {
	s := make([]string, len(n))
	for i, v := range n {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ",")
}

// describe says what the action does, for notes: "421 4.3.2 try later,
// disconnect". A 421's close gives way to the ending of a fault at
// StageBdat after BDAT LAST (smtpd's lastBdat): bdatThen is, for the note of a
// fault at StageMessage, that ending (sessionFaults.bdatThen), which the
// note then says; smtpd.KeepOpen where there is none. mayGiveWay, for
// String, which cannot know, says that it may.
func (a *action) describe(bdatThen smtpd.Disposition, mayGiveWay bool) string {
	var parts []string
	if a.delay > 0 {
		parts = append(parts, "delay "+a.delay.String())
	}
	switch {
	case a.drop:
		parts = append(parts, "no reply")
	case a.raw != nil:
		parts = append(parts, fmt.Sprintf("raw reply %q", a.raw))
	case a.reply != nil:
		parts = append(parts, a.reply.String())
	}
	switch {
	case a.pace.Chunk > 0:
		parts = append(parts, fmt.Sprintf("trickle %d bytes every %v", a.pace.Chunk, a.pace.Every))
	case a.pace.SplitAt > 0:
		parts = append(parts, fmt.Sprintf("split after %d bytes, pause %v", a.pace.SplitAt, a.pace.Every))
	}
	if a.dropAfter > 0 {
		parts = append(parts, fmt.Sprintf("drop after %d octets of data", a.dropAfter))
	}
	then, by := a.ending(), ""
	if a.closesBy421() {
		switch {
		case bdatThen != smtpd.KeepOpen:
			then, by = bdatThen, " (the ending of the fault at BDAT)"
		case mayGiveWay:
			by = " (after BDAT LAST, the ending of a fault at BDAT, if any)"
		}
	}
	switch then {
	case smtpd.CloseConn:
		if a.drop {
			parts = append(parts, "drop")
		} else {
			parts = append(parts, "disconnect"+by)
		}
	case smtpd.ResetConn:
		parts = append(parts, "TCP reset"+by)
	case smtpd.HalfCloseConn:
		parts = append(parts, "half-close"+by)
	case smtpd.Hang:
		parts = append(parts, "stall"+by)
	}
	if a.idle != nil {
		parts = append(parts, fmt.Sprintf("after %v idle: %s, disconnect", a.idle.after, a.idle.reply.String()))
	}
	if a.label != "" {
		parts = append(parts, a.label)
	}
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, ", ")
}

// answers reports whether the action decides the reply or the
// connection's fate: a reply, raw reply, no reply or ending. An action
// without (a delay, pacing, an idle reply, DropAfterBytes, a TLS
// failure) waits or modifies the answer of the fault that decides (see
// compose.go).
func (a *action) answers() bool {
	return a.reply != nil || a.raw != nil || a.drop || a.then != smtpd.KeepOpen
}

// answer turns the action into the engine's answer (without TLSConfig,
// which the driver builds). Its Then is the fault's own ending: after a
// Reply(421) without one, the engine closes (see ending), and after the
// end-of-message reply of BDAT LAST, it carries out the ending of the
// answer to BDAT LAST when this one has none.
func (a *action) answer() smtpd.Answer {
	ans := smtpd.Answer{Reply: a.reply, Raw: a.raw, Then: a.then, Pace: a.pace, DropAfterBytes: a.dropAfter}
	if a.silent() {
		ans.Reply, ans.Raw, ans.NoReply = nil, nil, true
	}
	return ans
}
