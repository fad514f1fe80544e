package mocksmtp

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/mocksmtp/mocksmtp/smtpd"
)

// Session is a snapshot of one SMTP connection as the server saw it,
// finished or still live. Snapshots are never changed after they are
// returned; take a new one to see more.
type Session struct {
	ID         int      // 1-based, in order of connection
	Attempt    int      // the Nth connection since the server started or was Reset is attempt N
	RemoteAddr net.Addr // the client's address
	LocalAddr  net.Addr // the server's address
	Start      time.Time
	End        time.Time            // zero while the session is live
	Helo       string               // the name in the last HELO or EHLO
	TLS        *tls.ConnectionState // nil when plaintext
	Auth       *AuthInfo            // the last AUTH exchange, nil when none; one the client abandoned failed
	Transcript Transcript           // what crossed the wire, in order
	// Forgotten counts the lines of a long session not kept before
	// Transcript: Transcript[0] is line Forgotten+1, as [Finding.Line]
	// numbers it. [WithRetention] forgets lines with the messages they
	// deliver; the transcript cap ([WithMaxTranscriptLines]) forgets the
	// middle of a session, keeping its first lines in TranscriptHead. 0
	// otherwise.
	Forgotten int
	Messages  []*Message // the messages accepted in this session (each Message.Session without Messages)
	Ended     EndReason  // how the session ended (Live while it goes on)
	Err       error      // why it ended, nil after QUIT and on shutdown
	Findings  []Finding  // the rules the client broke in this session (see [Rule])
	// Faults lists the faults that fired, in order, as their transcript
	// notes say: "retry_test.go:18: RCPT attempt 1 → 421 4.3.2 try later, disconnect".
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

// String returns "C: EHLO app.local".
func (l Line) String() string { return l.Dir.String() + ": " + l.Text }

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

// session is the live record of a session, guarded by Server.mu (but
// for ehlo).
type session struct {
	snap     Session // fields kept current; Transcript and Messages grow
	messages []*kept
	ehlo     bool // the client's last accepted greeting was EHLO (findings.go); only the session's goroutine uses it

	// faultLines holds the transcript line at which each of snap.Faults
	// fired, for forget.
	faultLines []int

	// What WithRetention forgot of a long session (forget): the first
	// lines of the transcript, findings and faults. Snapshots leave them
	// out; the record drops them once they are half of a list (see
	// dropFront).
	transcript forgotten // lines of snap.Transcript; from is Session.Forgotten
	findings   forgotten // of snap.Findings
	faults     forgotten // of snap.Faults and faultLines
	retained   int       // the line up to which WithRetention forgot (forget)

	// head is the session's first lines, once the transcript cap forgot
	// the lines after them (elide); never changed after that.
	head Transcript
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

// dropFront drops the forgotten start of list once it is at least half
// of it, so that forgetting costs a constant per element.
func dropFront[T any](list []T, f *forgotten) []T {
	if k := f.from - f.dropped; k > 0 && 2*k >= len(list) {
		list = slices.Clone(list[k:])
		f.dropped += k
	}
	return list
}

// lines returns the number of the transcript's last line.
func (r *session) lines() int { return r.transcript.dropped + len(r.snap.Transcript) }

// forget forgets the transcript up to line n, and the findings and faults
// on those lines (WithRetention, in a session that goes on).
func (r *session) forget(n int) {
	if n <= r.retained {
		return
	}
	r.retained = n
	if n > r.transcript.from {
		r.transcript.from = min(n, r.lines())
		r.snap.Transcript = dropFront(r.snap.Transcript, &r.transcript)
	}
	fs, ls := r.snap.Findings, r.faultLines
	r.findings.advance(len(fs), func(i int) bool { return fs[i].Line <= n })
	r.snap.Findings = dropFront(fs, &r.findings)
	r.faults.advance(len(ls), func(i int) bool { return ls[i] <= n })
	lines := r.faults
	r.faultLines = dropFront(ls, &lines)
	r.snap.Faults = dropFront(r.snap.Faults, &r.faults)
}

// addFault records a fault that fired, as its transcript note says.
func (r *session) addFault(text string) {
	r.snap.Faults = append(r.snap.Faults, text)
	r.faultLines = append(r.faultLines, r.lines())
}

// keeps reports whether the record still has finding f of its session:
// findings are on lines in order.
func (r *session) keeps(f Finding) bool { return f.Line > r.retained }

// elide keeps the transcript within limit lines (WithMaxTranscriptLines):
// the session's first tenth of limit, kept aside in head, and its last
// lines; the lines between are forgotten, and every line keeps its
// number. Findings and faults are kept. It costs a constant per line.
func (r *session) elide(limit int) {
	if len(r.head)+r.lines()-r.transcript.from <= limit {
		return
	}
	if r.head == nil && r.transcript.from == 0 {
		// The first lines, unless WithRetention forgot them already.
		r.head = slices.Clone(r.snap.Transcript[:limit/10])
		r.transcript.from = len(r.head)
	}
	r.transcript.from = max(r.transcript.from, r.lines()-(limit-len(r.head)))
	r.snap.Transcript = dropFront(r.snap.Transcript, &r.transcript)
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

// snapshot copies the record with its messages, whose Session is a copy
// of the snapshot without its Messages, as every Message's Session is.
func (r *session) snapshot() *Session {
	s := r.snapshotHead()
	head := *s
	s.Messages = make([]*Message, len(r.messages))
	for i, m := range r.messages {
		mc := m.view()
		mc.Session = &head
		s.Messages[i] = mc
	}
	return s
}

// snapshotHead copies the record but its messages, in constant time: the
// transcript, findings and faults only ever grow by appending, so the
// snapshot shares their current prefix (capped, so that an append to the
// snapshot's slices copies instead of writing into the record's).
func (r *session) snapshotHead() *Session {
	s := r.snap
	s.Forgotten = r.transcript.from
	s.TranscriptHead = slices.Clip(r.head)
	s.Transcript = slices.Clip(r.snap.Transcript[r.transcript.from-r.transcript.dropped:])
	s.Findings = slices.Clip(r.snap.Findings[r.findings.from-r.findings.dropped:])
	s.Faults = slices.Clip(r.snap.Faults[r.faults.from-r.faults.dropped:])
	s.Messages = nil
	return &s
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
