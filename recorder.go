package mocksmtp

import (
	"crypto/tls"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/mocksmtp/mocksmtp/smtpd"
)

// Session is a snapshot of one SMTP connection as the server saw it,
// finished or still live. Snapshots are never changed after they are
// returned (take a new one to see more), and are the caller's to change:
// nothing in one is shared with the server or another snapshot, but the
// TLS certificates.
type Session struct {
	ID         int      // 1-based, in order of connection
	Attempt    int      // the Nth connection since the server started or was Reset is attempt N
	RemoteAddr net.Addr // the client's address
	LocalAddr  net.Addr // the server's address
	Start      time.Time
	// End is when the connection closed, zero while the session is live.
	// When the server closes it after a reply (a 421, Disconnect, Drop,
	// the read timeout's 421), it first waits for the client to close, so
	// that the reply is not lost to a TCP reset: up to 1 s (50 ms after
	// the 421 of an IdleReply or of Close), which a client that keeps
	// the connection open adds to End: exactly, in a testing/synctest
	// bubble.
	End        time.Time
	Helo       string               // the name in the last HELO or EHLO the server took (not one it refused); STARTTLS's handshake forgets one before it, as the server does (RFC 3207 4.2)
	TLS        *tls.ConnectionState // nil when plaintext
	Auth       *AuthInfo            // the last AUTH exchange, nil when none; one the client abandoned failed; STARTTLS forgets one before it, as the server does
	Transcript Transcript           // what crossed the wire, in order
	// Forgotten counts the lines of a long session not kept before
	// Transcript: Transcript[0] is line Forgotten+1, as [Finding.Line]
	// numbers it. [WithRetention] forgets lines with the messages they
	// deliver; the transcript cap ([WithMaxTranscriptLines]) forgets the
	// middle of a session, keeping its first lines in TranscriptHead. 0
	// otherwise.
	Forgotten int
	Messages  []*Message // the messages accepted in this session (see Message.Session for what theirs hold)
	Ended     EndReason  // how the session ended (Live while it goes on)
	Err       error      // why it ended, nil after QUIT and on shutdown
	Findings  []Finding  // the rules the client broke in this session (see [Rule])
	// Faults lists the faults that fired, in order, as their transcript
	// notes say: "retry_test.go:18: RCPT attempt 1 → 421 4.3.2 try later, disconnect".
	// It holds at most 1,000, the 1,000th saying so (what WithRetention
	// forgot of a long session makes room); the transcript notes every one.
	Faults []string
	// TranscriptHead is, once the transcript cap forgot the middle of the
	// session, its first lines: lines 1 to len(TranscriptHead). Lines
	// len(TranscriptHead)+1 to Forgotten are forgotten. Nil otherwise.
	TranscriptHead Transcript
}

// EndReason tells how a session ended.
type EndReason int

// The ways a session ends.
const (
	Live            EndReason = iota // not ended yet
	EndQuit                          // the client sent QUIT
	EndClientClosed                  // the client closed the connection without QUIT
	EndServerClosed                  // the server closed it: a fault, too many errors
	EndTimeout                       // the client was idle past the read timeout
	EndTLSFailed                     // a TLS handshake failed
	EndShutdown                      // the server was closed while the session was live
)

var endNames = [...]string{
	Live: "live", EndQuit: "QUIT", EndClientClosed: "client closed",
	EndServerClosed: "server closed", EndTimeout: "timeout",
	EndTLSFailed: "TLS handshake failed", EndShutdown: "server shut down",
}

// String describes the reason ("client closed").
func (r EndReason) String() string {
	if r >= 0 && int(r) < len(endNames) {
		return endNames[r]
	}
	return fmt.Sprintf("EndReason(%d)", int(r))
}

// endReason classifies the error that ended a session.
func endReason(err error) EndReason {
	switch {
	case err == io.EOF: // the engine's plain io.EOF after QUIT
		return EndQuit
	case errors.Is(err, smtpd.ErrTimeout):
		return EndTimeout
	case errors.Is(err, smtpd.ErrTLSHandshake):
		return EndTLSFailed
	case errors.Is(err, smtpd.ErrClientGone):
		return EndClientClosed
	case errors.Is(err, ErrClosed):
		return EndShutdown
	}
	return EndServerClosed
}

// Direction says who a transcript line came from.
type Direction int

// The directions of a transcript line.
const (
	FromClient Direction = iota + 1 // sent by the client
	FromServer                      // sent by the server
	Note                            // something that is no line on the wire: TLS, message data, faults
)

// String returns "C", "S" or "*".
func (d Direction) String() string {
	switch d {
	case FromClient:
		return "C"
	case FromServer:
		return "S"
	case Note:
		return "*"
	}
	return "?"
}

// Line is one line of a transcript.
type Line struct {
	Dir  Direction
	Text string        // the line without CRLF; secrets masked unless WithoutSecretMasking
	At   time.Duration // since the session started
}

// String returns "C: EHLO app.local". What of Text would not print as
// itself is written as a Go escape: what is not printable but the tab (a
// bare CR, "\r"; ESC, "\x1b"; a character that reorders text for
// display, "\u202e"; an invisible one, "\u200b"), octets that are no
// UTF-8 ("\xff"), and the backslash ("\\"), so that every escape reads
// one way. A client's bare CR or terminal escape then shows in a test's
// log where it would have hidden the rest of the line or rewritten the
// log; Text keeps what was sent.
func (l Line) String() string { return l.Dir.String() + ": " + printable(l.Text) }

// printable returns s with what would not print as itself escaped (see
// [Line.String]); s itself when nothing is.
func printable(s string) string {
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if hidden(r, size) {
			break
		}
		i += size
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, 0, len(s)+16)
	b = append(b, s[:i]...)
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = fmt.Appendf(b, `\x%02x`, s[i])
		case hidden(r, size):
			q := strconv.QuoteRuneToASCII(r) // '\r', '\x1b', '\u202e'
			b = append(b, q[1:len(q)-1]...)
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return string(b)
}

// hidden reports whether the rune r, of size octets, would not print as
// itself: see [Line.String].
func hidden(r rune, size int) bool {
	switch {
	case r == '\t':
		return false
	case r == '\\':
		return true
	case r == utf8.RuneError && size == 1:
		return true
	}
	return !strconv.IsPrint(r)
}

// Transcript is what crossed the wire in one session, in order, on the
// plaintext side of TLS. Message data appears as one note line.
type Transcript []Line

// String returns the transcript one line per line, "C: …" and "S: …".
func (t Transcript) String() string {
	var b strings.Builder
	for _, l := range t {
		b.WriteString(l.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Numbered returns the transcript with 1-based line numbers, as failure
// reports print it.
func (t Transcript) Numbered() string {
	var b strings.Builder
	t.writeNumbered(&b, 1)
	return b.String()
}

// writeNumbered writes the transcript numbered from first.
func (t Transcript) writeNumbered(b *strings.Builder, first int) {
	for i, l := range t {
		fmt.Fprintf(b, "%4d %s\n", first+i, l)
	}
}

// session is the live record of a session. Its own lock, not the
// server's, guards what changes with each line on the wire, so that
// sessions record in parallel. Lock order: Server.mu, then a session's
// mu; never two sessions' at once. A server keeps many: the record is
// small, and what few sessions have lives in x.
type session struct {
	// mu guards the fields below but ehlo and startTLS. id, attempt,
	// start and the addresses never change once the session is listed.
	// messages, ended and what WithRetention forgot change with
	// Server.mu held too (record, endSession, Reset, WithRetention), so
	// that the server may read them under its own lock.
	mu      sync.Mutex
	id      int
	attempt int
	start   time.Time
	end     time.Time
	ended   EndReason
	// ehlo: the last greeting the server took (handle) was EHLO, whose
	// extensions conform takes as offered; startTLS: the client has sent
	// a STARTTLS that the server took or refused for its own reasons, and
	// startTLSRefused, the code and status of the last one refused for
	// the client's mistake, if none was (RuleSTARTTLSFirst,
	// startTLSAnswered). Only the session's goroutine uses them.
	ehlo, startTLS  bool
	startTLSRefused string
	// state is its HELO name, TLS state and AUTH record (nil before any):
	// replaced, never changed, when one of them changes (observe), so
	// that the messages sent in one state share it (kept.sent).
	state    *delivery
	err      error
	lines    []wireLine
	remote   netip.AddrPort // the client's address, when TCP (else in x)
	local    netip.AddrPort // the server's
	messages []*kept
	x        *sessionExtra // nil until needed
}

// inboxSuffix ends the domain of every inbox (Server.NewInbox).
const inboxSuffix = ".inbox.test"

// maxSessionInboxes bounds the inbox domains a session records as named:
// a client that names a new one in each of endless RCPTs (across RSETs)
// does not grow the record without bound. A session belongs to the first
// ones named, and to the inbox of every message it delivered.
const maxSessionInboxes = 100

// namedRcptLocked records that the client named addr in a RCPT TO, when
// the server's findings were numbered up to seq (Server.seq): among the
// first maxSessionInboxes domains; past them, only a domain that inbox
// says is an inbox's (nil: none), for a recipient of a message delivered
// (Server.addMessageLocked), so that a session has every inbox its
// messages went to, however many others it named before. r.mu must be
// held.
func (r *session) namedRcptLocked(addr string, seq uint64, inbox func(domain string) bool) {
	d := inboxDomainOf(addr)
	if !strings.HasSuffix(d, inboxSuffix) {
		return
	}
	x := r.extra()
	if i := slices.IndexFunc(x.inboxes, func(n namedInbox) bool { return n.domain == d }); i >= 0 {
		x.inboxes[i].last = seq
		return
	}
	if len(x.inboxes) >= maxSessionInboxes && (inbox == nil || !inbox(d)) {
		return
	}
	x.inboxes = append(x.inboxes, namedInbox{d, seq, seq})
}

// A namedInbox is an inbox domain a session named, and the numbers of
// the server's last finding (Server.seq) when it first named it and when
// it last did.
type namedInbox struct {
	domain    string
	seq, last uint64
}

// namedSinceLocked reports whether the client named an address of the
// inbox domain d (lower case) in a RCPT TO when the server's findings
// were numbered after or more (Inbox.reset): whether the session belongs
// to the inbox since its last Reset (Inbox.Sessions). r.mu must be held.
func (r *session) namedSinceLocked(d string, after uint64) bool {
	if r.x == nil {
		return false
	}
	i := slices.IndexFunc(r.x.inboxes, func(n namedInbox) bool { return n.domain == d })
	return i >= 0 && r.x.inboxes[i].last >= after
}

// inboxLocked reports whether the session belongs to the inbox of domain
// d (lower case), and the number of the server's last finding when it
// first named it: every session belongs to "", the whole server, from 0.
// r.mu must be held.
func (r *session) inboxLocked(d string) (seq uint64, ok bool) {
	if d == "" {
		return 0, true
	}
	if r.x == nil {
		return 0, false
	}
	i := slices.IndexFunc(r.x.inboxes, func(n namedInbox) bool { return n.domain == d })
	if i < 0 {
		return 0, false
	}
	return r.x.inboxes[i].seq, true
}

// sessionExtra is what few sessions have: findings, faults that fired,
// addresses other than TCP, the inboxes it sent to, and what WithRetention
// forgot of a long session.
type sessionExtra struct {
	findings   []Finding
	findSeqs   []uint64 // numbers each of findings in the server's order (Server.seq), for Findings
	faults     []string
	faultLines []int        // the transcript line at which each of faults fired, for forget
	ruleCounts map[Rule]int // findings about the session kept, by rule (ruleKept)

	addrs [2]net.Addr // remote and local, when not TCP

	// inboxes are the inbox domains (inboxSuffix) the client named in a
	// RCPT TO, accepted or not, in lower case, each once: the first
	// maxSessionInboxes, and past them those of the inboxes its messages
	// went to: the inboxes the session belongs to (Inbox.Findings).
	inboxes []namedInbox

	// forgotTo are the recipients of the messages DeleteMessage forgot
	// whose findings the session keeps, by message ID, and refusedTo
	// those of the messages the server refused (their findings have no
	// Message), by the number of each of their findings (findSeqs), so
	// that those findings are their recipients' inboxes' only
	// (Server.findings); with the line of each message's acceptance or
	// finding, up to which WithRetention's forget drops them with the
	// findings. Reset drops them all.
	forgotTo  map[int]sentTo
	refusedTo map[uint64]sentTo

	// What WithRetention forgot of a long session (forget): the first
	// lines of the transcript, findings and faults; and the lines the
	// transcript cap forgot (elide). Snapshots leave them out; the record
	// drops them once they are half of a list (see dropFront).
	forgotLines    forgotten // of session.lines; from is Session.Forgotten
	forgotFindings forgotten // of findings and findSeqs
	forgotFaults   forgotten // of faults and faultLines
	retained       int       // the line up to which WithRetention forgot (forget)

	// head is the session's first lines, once the transcript cap forgot
	// the lines after them (elide); never changed after that.
	head []wireLine
}

// sentTo is what a session keeps of a message whose findings it keeps
// without the message (sessionExtra.forgotTo, refusedTo): its
// recipients, and its line.
type sentTo struct {
	to   []string
	line int
}

// extra returns x, made when need be. r.mu must be held.
func (r *session) extra() *sessionExtra {
	if r.x == nil {
		r.x = &sessionExtra{}
	}
	return r.x
}

// newSessionRecord returns the record of a session on a connection
// between remote and local, started now.
func newSessionRecord(remote, local net.Addr) *session {
	// Room for a short session's lines (greeting, EHLO and its reply, a
	// message, QUIT), which would otherwise take the slice's first five
	// growths.
	r := &session{start: time.Now(), lines: make([]wireLine, 0, 24)}
	var ok [2]bool
	r.remote, ok[0] = tcpAddrPort(remote)
	r.local, ok[1] = tcpAddrPort(local)
	if !ok[0] || !ok[1] {
		r.extra().addrs = [2]net.Addr{remote, local}
	}
	return r
}

// tcpAddrPort returns a TCP address as a netip.AddrPort (a *net.TCPAddr
// costs 64 octets of heap), and whether a is one.
func tcpAddrPort(a net.Addr) (netip.AddrPort, bool) {
	ta, ok := a.(*net.TCPAddr)
	if !ok || ta == nil {
		return netip.AddrPort{}, false
	}
	ip, _ := netip.AddrFromSlice(ta.IP)
	return netip.AddrPortFrom(ip.Unmap().WithZone(ta.Zone), uint16(ta.Port)), true
}

// addrs returns the session's addresses as values of their own. r.mu
// must be held.
func (r *session) addrs() (remote, local net.Addr) {
	if r.x != nil && (r.x.addrs[0] != nil || r.x.addrs[1] != nil) {
		return r.x.addrs[0], r.x.addrs[1]
	}
	return net.TCPAddrFromAddrPort(r.remote), net.TCPAddrFromAddrPort(r.local)
}

// forgotten counts the first elements of a list that were forgotten
// (from) and, of those, the ones the record no longer holds (dropped):
// the record's list starts with element dropped, snapshots see it from
// element from.
type forgotten struct{ from, dropped int }

// advance forgets the next elements of a list of n that old reports, in
// order, up to the first it does not; old takes an index into the
// record's list.
func (f *forgotten) advance(n int, old func(i int) bool) {
	for f.from-f.dropped < n && old(f.from-f.dropped) {
		f.from++
	}
}

// kept is the index, in a record's list, of the first element not
// forgotten.
func (f forgotten) kept() int { return f.from - f.dropped }

// dropFront drops the forgotten start of list once it is at least half
// of it, so that forgetting costs a constant per element.
func dropFront[T any](list []T, f *forgotten) []T {
	if k := f.from - f.dropped; k > 0 && 2*k >= len(list) {
		list = slices.Clone(list[k:])
		f.dropped += k
	}
	return list
}

// isQuit reports whether a command line is a QUIT.
func isQuit(line string) bool {
	verb, rest, _ := strings.Cut(line, " ")
	return strings.EqualFold(verb, "QUIT") && strings.TrimSpace(rest) == ""
}

// nlines returns the number of the transcript's last line. r.mu must be
// held.
func (r *session) nlines() int {
	if r.x == nil {
		return len(r.lines)
	}
	return r.x.forgotLines.dropped + len(r.lines)
}

// forget forgets the transcript up to line n, and the findings and faults
// on those lines (WithRetention, in a session that goes on). Server.mu
// and r.mu must be held.
func (r *session) forget(n int) {
	x := r.extra()
	if n <= x.retained {
		return
	}
	x.retained = n
	if n > x.forgotLines.from {
		x.forgotLines.from = min(n, r.nlines())
		r.lines = dropFront(r.lines, &x.forgotLines)
	}
	fs, ls := x.findings, x.faultLines
	from := x.forgotFindings.kept()
	x.forgotFindings.advance(len(fs), func(i int) bool { return fs[i].Line <= n })
	for _, f := range fs[from:x.forgotFindings.kept()] {
		if f.Message == 0 {
			x.ruleCounts[f.Rule]-- // ruleKept
		}
	}
	seqs := x.forgotFindings
	x.findSeqs = dropFront(x.findSeqs, &seqs)
	x.findings = dropFront(fs, &x.forgotFindings)
	x.forgotFaults.advance(len(ls), func(i int) bool { return ls[i] <= n })
	lines := x.forgotFaults
	x.faultLines = dropFront(ls, &lines)
	x.faults = dropFront(x.faults, &x.forgotFaults)
	for id, m := range x.forgotTo {
		if m.line <= n {
			delete(x.forgotTo, id)
		}
	}
	for seq, m := range x.refusedTo {
		if m.line <= n {
			delete(x.refusedTo, seq)
		}
	}
}

// forgetFindings forgets every finding of the session so far (Reset).
// Server.mu and r.mu must be held.
func (r *session) forgetFindings() {
	if r.x == nil {
		return
	}
	n := r.x.forgotFindings.dropped + len(r.x.findings)
	r.x.forgotFindings = forgotten{from: n, dropped: n}
	r.x.findings, r.x.findSeqs, r.x.ruleCounts, r.x.forgotTo, r.x.refusedTo = nil, nil, nil, nil, nil
}

// addFault records a fault that fired, as its transcript note says. r.mu
// must be held.
//
// A session keeps at most maxSessionFaults, the last saying that it
// stops: a fault that fires on every command of an endless session would
// otherwise grow the record without bound, as the transcript cap and
// maxRuleFindings stop its transcript and findings from doing. Those that
// WithRetention forgets make room again. The transcript notes every one.
func (r *session) addFault(text string) {
	x := r.extra()
	switch kept := len(x.faults) - x.forgotFaults.kept(); {
	case kept >= maxSessionFaults:
		return
	case kept == maxSessionFaults-1:
		text = fmt.Sprintf("%s (the session's %dth fault kept: the later ones are not recorded here, only in the transcript)", text, maxSessionFaults)
	}
	x.faults = append(x.faults, text)
	x.faultLines = append(x.faultLines, r.nlines())
}

// maxSessionFaults is how many faults that fired a session keeps.
const maxSessionFaults = 1000

// ruleKept returns how many findings of rule about the session itself
// (not about a message) it keeps: those addFinding added since the last
// Reset, less those WithRetention forgot. r.mu must be held.
func (r *session) ruleKept(rule Rule) int {
	if r.x == nil {
		return 0
	}
	return r.x.ruleCounts[rule]
}

// addFinding records a finding numbered seq. r.mu must be held.
func (r *session) addFinding(f Finding, seq uint64) {
	x := r.extra()
	x.findings = append(x.findings, f)
	x.findSeqs = append(x.findSeqs, seq)
	if f.Message == 0 {
		if x.ruleCounts == nil {
			x.ruleCounts = make(map[Rule]int)
		}
		x.ruleCounts[f.Rule]++ // ruleKept
	}
}

// insertFindings records fs, the content findings of a message numbered
// seq that the session no longer lists (DeleteMessage), in their place in
// the server's order. r.mu must be held.
func (r *session) insertFindings(fs []Finding, seq uint64) {
	if len(fs) == 0 {
		return
	}
	x := r.extra()
	i, _ := slices.BinarySearch(x.findSeqs, seq)
	i = max(i, x.forgotFindings.kept())
	seqs := make([]uint64, len(fs))
	for j := range seqs {
		seqs[j] = seq
	}
	x.findings = slices.Insert(x.findings, i, fs...)
	x.findSeqs = slices.Insert(x.findSeqs, i, seqs...)
}

// elide keeps the transcript within limit lines (WithMaxTranscriptLines):
// the session's first tenth of limit, kept aside in head, and its last
// lines; the lines between are forgotten, and every line keeps its
// number. Findings and faults are kept. It costs a constant per line, and
// a comparison while the session is within the cap. r.mu must be held.
func (r *session) elide(limit int) {
	x := r.x
	if x == nil {
		if len(r.lines) <= limit {
			return
		}
		x = r.extra()
	} else if len(x.head)+len(r.lines)-x.forgotLines.kept() <= limit {
		return
	}
	if x.head == nil && x.forgotLines.from == 0 {
		// The first lines, unless WithRetention forgot them already.
		x.head = slices.Clone(r.lines[:limit/10])
		x.forgotLines.from = len(x.head)
	}
	x.forgotLines.from = max(x.forgotLines.from, r.nlines()-(limit-len(x.head)))
	r.lines = dropFront(r.lines, &x.forgotLines)
}

// line returns line n (1-based) of the session's transcript, if kept.
func (s *Session) line(n int) (Line, bool) {
	switch {
	case n >= 1 && n <= len(s.TranscriptHead):
		return s.TranscriptHead[n-1], true
	case n > s.Forgotten && n <= s.Forgotten+len(s.Transcript):
		return s.Transcript[n-s.Forgotten-1], true
	}
	return Line{}, false
}

// snapshot copies the record with its messages, whose Session says what
// every Message's Session says (about). Nothing in it is shared with the
// record or with another snapshot. It takes r.mu, and parses no message
// while it holds it.
func (r *session) snapshot() *Session {
	s, ks := r.head()
	s.Messages = make([]*Message, len(ks))
	for i, k := range ks {
		mc := k.snapshot()
		mc.Session = s.about(k.sent)
		s.Messages[i] = mc
	}
	return s
}

// about returns what a message's Session says of s: a copy of its facts,
// without the lists that grow with the session (Transcript,
// TranscriptHead, Findings, Faults, Messages), so that a message costs
// the same in a session of one message and in one of a million; with the
// HELO name, TLS state and AUTH record of d, how the message was sent,
// unless d is nil. See [Message.Session].
func (s *Session) about(d *delivery) *Session {
	a := &Session{
		ID: s.ID, Attempt: s.Attempt, RemoteAddr: s.RemoteAddr, LocalAddr: s.LocalAddr,
		Start: s.Start, End: s.End, Helo: s.Helo, TLS: s.TLS, Auth: s.Auth, Ended: s.Ended, Err: s.Err,
	}
	if d != nil {
		a.Helo, a.TLS, a.Auth = d.helo, d.tls, d.auth
	}
	if a.TLS != nil {
		a.TLS = copyTLS(a.TLS)
	}
	if a.Auth != nil {
		auth := *a.Auth
		a.Auth = &auth
	}
	return a
}

// about returns what a message's Session says of the session (see
// Session.about), in constant time. It takes r.mu.
func (r *session) about(d *delivery) *Session {
	r.mu.Lock()
	s := r.factsLocked()
	r.mu.Unlock()
	return s.about(d)
}

// delivery is how a session stood as its client sent a message: its HELO
// name, TLS state and AUTH record, which STARTTLS and AUTH change later in
// the session. The messages sent in the same state share one.
type delivery struct {
	helo string
	tls  *tls.ConnectionState
	auth *AuthInfo
}

// delivery returns how the session stands now, for a message sent now:
// the state of the messages sent before it, unless it changed since
// (observe). It takes r.mu.
func (r *session) delivery() *delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state == nil {
		r.state = &delivery{}
	}
	return r.state
}

// stateLocked returns a copy of how the session stands, the zero delivery
// before any HELO, STARTTLS or AUTH. r.mu must be held.
func (r *session) stateLocked() delivery {
	if r.state == nil {
		return delivery{}
	}
	return *r.state
}

// setStateLocked makes d how the session stands, when it differs. r.mu
// must be held.
func (r *session) setStateLocked(d delivery) {
	if d != r.stateLocked() {
		r.state = &delivery{helo: d.helo, tls: d.tls, auth: d.auth} // not &d: d would be on the heap at each call
	}
}

// factsLocked returns the record's facts, what Session.about keeps, still
// sharing its TLS state and AUTH record: about copies them. r.mu must be
// held.
func (r *session) factsLocked() *Session {
	d := r.stateLocked()
	s := &Session{
		ID: r.id, Attempt: r.attempt, Start: r.start, End: r.end, Helo: d.helo,
		TLS: d.tls, Auth: d.auth, Ended: r.ended, Err: r.err,
	}
	s.RemoteAddr, s.LocalAddr = r.addrs()
	return s
}

// head copies the record but its messages under r.mu (see headLocked),
// and returns the messages it keeps. The content findings of its messages
// take their place in its Findings, checked after r.mu is released if
// need be.
func (r *session) head() (*Session, []*kept) {
	r.mu.Lock()
	s := r.headLocked()
	fl := r.findingsLocked()
	ks := slices.Clone(r.messages)
	r.mu.Unlock()
	s.Findings = fl.plain()
	return s, ks
}

// transcriptHead is head for a report that prints the transcript: without
// Findings, it checks no message.
func (r *session) transcriptHead() *Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.headLocked()
}

// A seqFinding is a finding and its number in the server's order.
type seqFinding struct {
	Finding
	seq uint64
}

// findingList is what a snapshot takes of a session's findings under its
// lock: the findings recorded, numbered, and the messages whose content
// findings are not known yet, to be checked once the lock is released.
type findingList struct {
	fs      []Finding
	seqs    []uint64
	pending []*kept
}

// findingsLocked copies the findings the session has not forgotten. r.mu
// must be held.
func (r *session) findingsLocked() findingList {
	var fl findingList
	if x := r.x; x != nil {
		from := x.forgotFindings.kept()
		fl.fs, fl.seqs = slices.Clone(x.findings[from:]), slices.Clone(x.findSeqs[from:])
	}
	for _, k := range r.messages {
		if k.pending {
			fl.pending = append(fl.pending, k)
		}
	}
	return fl
}

// merged returns the findings with the content findings of the pending
// messages in their places, numbered. It may parse messages: no lock may
// be held.
func (fl findingList) merged() []seqFinding {
	out := make([]seqFinding, 0, len(fl.fs)+len(fl.pending))
	i := 0
	take := func(upTo uint64) {
		for ; i < len(fl.fs) && fl.seqs[i] < upTo; i++ {
			out = append(out, seqFinding{fl.fs[i], fl.seqs[i]})
		}
	}
	for _, k := range fl.pending {
		take(k.seq)
		for _, f := range k.contentFindings() {
			out = append(out, seqFinding{f, k.seq})
		}
	}
	take(^uint64(0))
	return out
}

// plain returns merged without the numbers, nil for none.
func (fl findingList) plain() []Finding {
	if len(fl.fs) == 0 && len(fl.pending) == 0 {
		return nil
	}
	m := fl.merged()
	if len(m) == 0 {
		return nil
	}
	out := make([]Finding, len(m))
	for i, f := range m {
		out[i] = f.Finding
	}
	return out
}

// headLocked copies the record but its messages: the transcript and
// faults not forgotten, the TLS state and AUTH exchange, so that the
// snapshot is the caller's to change. r.mu must be held.
func (r *session) headLocked() *Session {
	s := r.factsLocked().about(nil)
	lines := r.lines
	if x := r.x; x != nil {
		s.Forgotten = x.forgotLines.from
		lines = lines[x.forgotLines.kept():]
		s.Faults = slices.Clone(x.faults[x.forgotFaults.kept():])
		if x.head != nil {
			s.TranscriptHead = unpackLines(x.head)
		}
	}
	s.Transcript = unpackLines(lines)
	return s
}

// wireLine is a transcript line as the record keeps it: Line's fields in
// 16 octets instead of 32, for a server that keeps millions. Its text is
// the interner's copy, which every line saying it shares (Server.textRef),
// or a box of its own for a text not interned (a note, a text longer than
// maxInternedLen or for which no table has room): such a line costs 32
// octets and an allocation, where a string in the line cost 24 and none.
// The texts of a session's wire lines mostly repeat; its notes are few.
type wireLine struct {
	text *string
	at   uint64 // Line.At in nanoseconds, and Line.Dir in the top two bits
}

const atMask = 1<<62 - 1

func packLine(dir Direction, at time.Duration, text *string) wireLine {
	return wireLine{text: text, at: uint64(at)&atMask | uint64(dir)<<62}
}

func (w wireLine) line() Line {
	return Line{Dir: Direction(w.at >> 62), Text: *w.text, At: time.Duration(w.at & atMask)}
}

// unpackLines returns the lines as a Transcript of their own.
func unpackLines(ws []wireLine) Transcript {
	t := make(Transcript, len(ws))
	for i, w := range ws {
		t[i] = w.line()
	}
	return t
}

// copyTLS copies a TLS connection state and its slices; the certificates
// themselves are shared, as crypto/tls shares them.
func copyTLS(st *tls.ConnectionState) *tls.ConnectionState {
	c := *st
	c.PeerCertificates = slices.Clone(st.PeerCertificates)
	c.VerifiedChains = nil
	for _, chain := range st.VerifiedChains {
		c.VerifiedChains = append(c.VerifiedChains, slices.Clone(chain))
	}
	c.SignedCertificateTimestamps = nil
	for _, sct := range st.SignedCertificateTimestamps {
		c.SignedCertificateTimestamps = append(c.SignedCertificateTimestamps, slices.Clone(sct))
	}
	c.OCSPResponse = slices.Clone(st.OCSPResponse)
	c.TLSUnique = slices.Clone(st.TLSUnique)
	return &c
}

// String returns a header line and the numbered transcript of the session:
// how it is printed when a test fails.
func (s *Session) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "session %d  %v → %v  %s\n", s.ID, s.RemoteAddr, s.LocalAddr, s.state())
	s.TranscriptHead.writeNumbered(&b, 1)
	switch {
	case s.Forgotten > len(s.TranscriptHead) && s.TranscriptHead != nil:
		fmt.Fprintf(&b, "     … lines %d to %d forgotten (the transcript cap, WithMaxTranscriptLines) …\n", len(s.TranscriptHead)+1, s.Forgotten)
	case s.Forgotten > 0:
		fmt.Fprintf(&b, "     (lines 1 to %d forgotten: WithRetention or the transcript cap)\n", s.Forgotten)
	}
	s.Transcript.writeNumbered(&b, s.Forgotten+1)
	return b.String()
}

// A change is a set of kinds of change the server records. Each wait
// wakes on the kinds its condition looks at, so that it costs what
// changed for it.
type change uint8

const (
	changeLine    change = 1 << iota // a transcript line, a greeting name, an AUTH exchange, a TLS state, a finding
	changeMessage                    // a message recorded, or forgotten by Reset
	changeSession                    // a session started, ended or forgotten; the server closed
	changeClock                      // a wait on the program's clock began or ended (clock.Clock.Waits)
	nChanges      = 4

	changeAll = changeLine | changeMessage | changeSession | changeClock
)

// notifier wakes the waits (Server.await) after each change the server
// records. Recording calls changed, which costs one atomic load per kind
// while nobody waits for it, so that every change, wire lines included,
// can wake waiters; a wait takes the channel of the next change of each
// kind (next) before it looks at the state, so that it misses none. While
// a wait is in progress the notifier also keeps when each kind last
// changed, by which a wait that runs late judges its deadline
// (cameOnlyBefore).
type notifier struct {
	waiters [nChanges]atomic.Int32  // waits in progress, per kind
	mu      sync.Mutex              // guards ch and last; taken under any other lock, never the other way
	ch      [nChanges]chan struct{} // closed at the next change of the kind; nil until a wait asks for it
	last    [nChanges]time.Time     // when the last change of the kind came while a wait was in progress
}

// add counts a wait for the kinds of c in or out (n = 1 or -1).
func (n *notifier) add(c change, d int32) {
	for k := range nChanges {
		if c&(1<<k) != 0 {
			n.waiters[k].Add(d)
		}
	}
}

// next returns, for each kind of c, a channel that the next change of the
// kind closes, nil for the other kinds.
func (n *notifier) next(c change) (chs [nChanges]<-chan struct{}) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for k := range nChanges {
		if c&(1<<k) != 0 {
			if n.ch[k] == nil {
				n.ch[k] = make(chan struct{})
			}
			chs[k] = n.ch[k]
		}
	}
	return chs
}

// changed wakes the waits for the kinds of c, after a change the caller
// made before, with any lock held or none.
func (n *notifier) changed(c change) {
	for k := range nChanges {
		if c&(1<<k) == 0 || n.waiters[k].Load() == 0 {
			continue
		}
		n.mu.Lock()
		n.last[k] = time.Now()
		if n.ch[k] != nil {
			close(n.ch[k])
			n.ch[k] = nil
		}
		n.mu.Unlock()
	}
}

// cameOnlyBefore reports whether a change of the kinds of c came since
// chs were taken (next), and every one of them before t: what the kinds
// of c hold is as it was at t, and differs from when chs were taken. The
// caller waits for those kinds (add).
func (n *notifier) cameOnlyBefore(c change, chs [nChanges]<-chan struct{}, t time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	came := false
	for k := range nChanges {
		if c&(1<<k) == 0 {
			continue
		}
		if !n.last[k].Before(t) {
			return false
		}
		select {
		case <-chs[k]:
			came = true
		default:
		}
	}
	return came
}

// interner interns strings: the texts of wire lines, which repeat from
// session to session (the greeting, the EHLO reply, the usual commands and
// replies), so that a server keeping many sessions keeps each text once.
// It is a hash table of maxInterned slots, open-addressed and lock-free:
// a lookup hashes the text and reads at most internProbes slots; adding a
// text fills an empty slot with a compare-and-swap. Slots are never
// emptied, so the table is bounded: a client sending ever new lines fills
// it once. The table is made on the first text it is given, so a server
// whose texts all find room in the process's table (sharedTexts) pays
// nothing for a table of its own.
type interner struct {
	table atomic.Pointer[[maxInterned]atomic.Pointer[string]]
}

const (
	maxInterned    = 1024 // slots in the table (a power of two)
	internProbes   = 8    // slots a text may take, from its hash on
	maxInternedLen = 200  // octets of a text worth interning
)

// internSeed seeds the interners' hash: chosen at random by the process,
// so that no client can choose lines that collide.
var internSeed = maphash.MakeSeed()

// sharedTexts is the process's table of interned texts, which every
// server consults before its own (internIn): the greeting, the EHLO reply
// and the usual commands and replies are the same from server to server,
// so that a fresh server finds them there and allocates nothing for them.
// A server keeps in a table of its own (Server.texts) what finds no room
// here, so a table filled by other servers' texts costs a server nothing
// but its own table.
var sharedTexts interner

// internIn returns the copy of s that shared or else own holds or takes,
// or s when neither has room for it.
func internIn(shared, own *interner, s string) string {
	if p := refIn(shared, own, s); p != nil {
		return *p
	}
	return s
}

// refIn returns the copy of s that shared or else own holds or takes, as
// the table holds it; nil when neither has room for it.
func refIn(shared, own *interner, s string) *string {
	if p := shared.ref(s); p != nil {
		return p
	}
	return own.ref(s)
}

// intern returns the interned copy of text: the process's table's, else
// the server's own.
func (s *Server) intern(text string) string { return internIn(&sharedTexts, &s.texts, text) }

// textRef returns the interned copy of text as the tables hold it, for a
// transcript line (wireLine), or, when neither table has room for it, a
// box of its own.
func (s *Server) textRef(text string) *string {
	if p := refIn(&sharedTexts, &s.texts, text); p != nil {
		return p
	}
	boxed := text // a copy: &text would box text for every call
	return &boxed
}

// ref returns the table's copy of s as the table holds it, adding s when
// one of its slots is free; nil when the table does not hold s.
func (in *interner) ref(s string) *string {
	if len(s) > maxInternedLen {
		return nil
	}
	t := in.table.Load()
	if t == nil {
		in.table.CompareAndSwap(nil, new([maxInterned]atomic.Pointer[string]))
		t = in.table.Load()
	}
	h := maphash.String(internSeed, s)
	var mine *string // s, boxed once for the slot it takes
	for i := range uint64(internProbes) {
		slot := &t[(h+i)%maxInterned]
		for {
			p := slot.Load()
			if p != nil {
				if *p == s {
					return p
				}
				break // another text's: the next slot
			}
			if mine == nil {
				// A copy: &s would put s on the heap for every lookup.
				boxed := s
				mine = &boxed
			}
			if slot.CompareAndSwap(nil, mine) {
				return mine
			}
			// Another session filled it meanwhile, perhaps with s.
		}
	}
	return nil
}

// startTLSAnswered records how the server answered a STARTTLS event ev
// (ans, nonconforming when it was WithRejectNonconforming's refusal), for
// RuleSTARTTLSFirst: a STARTTLS the server took (220), or refused for its
// own reasons (a fault's 454, no TLS configured: 502), excuses the
// commands before TLS after it; one refused for the client's mistake
// (after HELO, with an argument, pipelined on a strict MTA) does not, and
// the finding then names its reply. Only the session's goroutine calls it.
func (rec *session) startTLSAnswered(ev *smtpd.Event, ans smtpd.Answer, nonconforming bool) {
	if !nonconforming && (ev.Reason == smtpd.ReasonNone || ev.Reason == smtpd.ReasonNotImplemented) {
		rec.startTLS = true
		return
	}
	r := ev.Reply
	if ans.Reply != nil {
		r = *ans.Reply
	}
	rec.startTLSRefused = strings.TrimSpace(fmt.Sprintf("%d %s", r.Code, r.Status))
}
