package main

// The sessions over HTTP, with their transcripts, waiting for them to
// end, and the conformance findings of sessions and messages.

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/internal/clock"
)

// findingJSON is a conformance finding: a rule the client broke.
type findingJSON struct {
	Rule     string `json:"rule"`
	Ref      string `json:"ref"` // the RFC section
	Severity string `json:"severity"`
	Session  int    `json:"session"`
	Line     int    `json:"line,omitempty"`    // in the session's transcript, 1-based
	Message  int    `json:"message,omitempty"` // the message's ID, for message findings
	Text     string `json:"text"`
}

func findingsJSON(fs []mocksmtp.Finding) []findingJSON {
	out := []findingJSON{}
	for _, f := range fs {
		out = append(out, findingJSON{Rule: string(f.Rule), Ref: f.Rule.Ref(), Severity: f.Severity.String(),
			Session: f.Session, Line: f.Line, Message: f.Message, Text: f.Text})
	}
	return out
}

// sessionJSON is a session as the API shows it.
type sessionJSON struct {
	ID              int           `json:"id"`
	Attempt         int           `json:"attempt"`
	RemoteAddr      string        `json:"remoteAddr"`
	LocalAddr       string        `json:"localAddr"`
	Start           time.Time     `json:"start"`
	ClockStart      *time.Time    `json:"clockStart,omitempty"` // start on the faults' clock (clock.go), as far as it remembers
	End             *time.Time    `json:"end,omitempty"`
	Live            bool          `json:"live"`
	Ended           string        `json:"ended"`
	Helo            string        `json:"helo"` // Helo, TLS and Auth: how it stands now (newStateJSON)
	TLS             *tlsJSON      `json:"tls"`
	Auth            *authJSON     `json:"auth"`
	Error           string        `json:"error,omitempty"`
	MessageIDs      []int         `json:"messageIds"`
	Faults          []string      `json:"faults"` // the faults that fired, as transcript notes say
	Findings        []findingJSON `json:"findings"`
	TranscriptLines int           `json:"transcriptLines"` // how many lines the session had, forgotten ones included
	// Forgotten counts the lines before transcript[0], which is line
	// forgotten+1: -retain forgot them in a long session, or the
	// transcript cap (-max-transcript-lines) forgot the middle of one,
	// keeping its first lines in TranscriptHead.
	Forgotten      int        `json:"forgotten"`
	TranscriptHead []lineJSON `json:"transcriptHead,omitempty"` // lines 1 to len(transcriptHead), once the cap forgot the lines after them
	Transcript     []lineJSON `json:"transcript,omitempty"`
}

// stateJSON is how a session stands: the name in its last HELO or EHLO,
// its TLS state and its AUTH record. A session's JSON has how it stands
// now in its own helo, tls and auth; a message's, as "sent", how its
// session stood when its client sent it (Message.Session's Helo, TLS and
// Auth): STARTTLS, a new EHLO and AUTH change them between one message
// and the next. (Not embedded in sessionJSON: go-cmp, which its tests
// diff it with, refuses an embedded field of an unexported type.)
type stateJSON struct {
	Helo string    `json:"helo"`
	TLS  *tlsJSON  `json:"tls"`
	Auth *authJSON `json:"auth"`
}

// newStateJSON returns how s stands: for a session, now; for a message's
// Session, as the message was sent. memo, nil or not, gives the TLS state
// (tlsMemo.json).
func newStateJSON(s *mocksmtp.Session, memo tlsMemo) stateJSON {
	j := stateJSON{Helo: s.Helo}
	if s.TLS != nil {
		j.TLS = memo.json(s.TLS)
	}
	if a := s.Auth; a != nil {
		j.Auth = &authJSON{Mechanism: string(a.Mechanism), Identity: a.Identity, Username: a.Username, Success: a.Success, Refused: a.Refused}
	}
	return j
}

// sentText says how a message's client sent it (m.Session: its HELO
// name, TLS state and AUTH record then), for the text log, as the JSON's
// "sent" does: `sent with HELO "app.local", TLS 1.3, AUTH PLAIN "alice" ok`.
// The client's words (its HELO name, user names, its certificate's
// subject) are quoted as Go strings and clipped, as errors quote client
// input: a control character or a bidi one cannot rewrite the log.
func sentText(s *mocksmtp.Session) string {
	if s == nil {
		return "sent by an unknown client"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "sent with HELO %q", clip(s.Helo))
	if s.TLS == nil {
		b.WriteString(", plaintext")
	} else {
		fmt.Fprintf(&b, ", %s", tls.VersionName(s.TLS.Version))
		if cs := s.TLS.PeerCertificates; len(cs) > 0 {
			fmt.Fprintf(&b, " with the client certificate %q", clip(cs[0].Subject.String()))
		}
	}
	a := s.Auth
	if a == nil {
		b.WriteString(", no AUTH")
		return b.String()
	}
	fmt.Fprintf(&b, ", AUTH %s ", a.Mechanism)
	if a.Identity != "" && a.Identity != a.Username {
		fmt.Fprintf(&b, "%q as ", clip(a.Identity))
	}
	fmt.Fprintf(&b, "%q ", clip(a.Username))
	switch {
	case !a.Success:
		b.WriteString("failed")
	case a.Refused != "":
		fmt.Fprintf(&b, "refused: %s (credentials accepted)", clip(a.Refused))
	default:
		b.WriteString("ok")
	}
	return b.String()
}

// tlsMemo keeps, for one list of messages (messagesJSON), the TLS states
// it has made JSON of, by the client's first certificate (nil for none),
// so that the messages a client sent over one TLS state share one
// tlsJSON: a client under -client-ca may present dozens of certificates
// and send thousands of messages, and hashing and formatting each
// certificate anew for each message made a message of the list cost
// dozens of times what one sent in plaintext costs. Each message's
// Session has a TLS state of its own, but the certificates in it are
// those of the session, the same values. A nil tlsMemo keeps nothing.
type tlsMemo map[*x509.Certificate]tlsMemoEntry

type tlsMemoEntry struct {
	st *tls.ConnectionState
	j  *tlsJSON
}

// json returns the JSON of st: that of a state kept whose JSON is the
// same (its version, cipher suite, server name and the same certificates,
// in order), else a new one, which it keeps.
func (memo tlsMemo) json(st *tls.ConnectionState) *tlsJSON {
	var first *x509.Certificate
	if len(st.PeerCertificates) > 0 {
		first = st.PeerCertificates[0]
	}
	if e, ok := memo[first]; ok && e.st.Version == st.Version && e.st.CipherSuite == st.CipherSuite &&
		e.st.ServerName == st.ServerName && slices.Equal(e.st.PeerCertificates, st.PeerCertificates) {
		return e.j
	}
	j := &tlsJSON{
		Version:     tls.VersionName(st.Version),
		CipherSuite: tls.CipherSuiteName(st.CipherSuite),
		ServerName:  st.ServerName,
	}
	for _, c := range st.PeerCertificates {
		sum := sha256.Sum256(c.Raw)
		j.PeerCertificates = append(j.PeerCertificates, certificateJSON{
			Subject: c.Subject.String(), Issuer: c.Issuer.String(), SHA256: hex.EncodeToString(sum[:])})
	}
	if memo != nil {
		memo[first] = tlsMemoEntry{st, j}
	}
	return j
}

type tlsJSON struct {
	Version     string `json:"version"`
	CipherSuite string `json:"cipherSuite"`
	ServerName  string `json:"serverName,omitempty"`
	// PeerCertificates are those the client presented, its own first,
	// as the Go API's Session.TLS.PeerCertificates: only a server that
	// asks for one (-client-ca) gets any.
	PeerCertificates []certificateJSON `json:"peerCertificates,omitempty"`
}

// certificateJSON is a certificate a client presented.
type certificateJSON struct {
	Subject string `json:"subject"` // as x509.Certificate's Subject.String: "CN=app,O=Example"
	Issuer  string `json:"issuer"`
	SHA256  string `json:"sha256"` // of its DER, in lower-case hex: the fingerprint of a certificate the suite holds
}

// authJSON is a session's AUTH exchange; it never holds the password.
type authJSON struct {
	Mechanism string `json:"mechanism"`
	Identity  string `json:"identity,omitempty"`
	Username  string `json:"username"`
	Success   bool   `json:"success"` // the credentials were accepted (AuthInfo.Success)
	// Refused is what the client got instead of 235 for accepted
	// credentials (AuthInfo.Refused): a fault's reply at AUTH, "no reply",
	// "part of 235 2.7.0 Authentication successful".
	Refused string `json:"refused,omitempty"`
}

// sessionText is s.String(), the session as the program prints it, with
// the note on the lines forgotten naming the flags that forgot them
// (-max-transcript-lines, -retain), not the Go options they set, which
// the program's users never see. Only the note is changed: it is the
// first line of its exact text, and every line of the session has its
// number before it.
func sessionText(s *mocksmtp.Session) string {
	text := s.String()
	switch {
	case s.Forgotten > len(s.TranscriptHead) && s.TranscriptHead != nil:
		note := fmt.Sprintf("\n     … lines %d to %d forgotten (the transcript cap, ", len(s.TranscriptHead)+1, s.Forgotten)
		return strings.Replace(text, note+"WithMaxTranscriptLines) …\n", note+"-max-transcript-lines) …\n", 1)
	case s.Forgotten > 0:
		note := fmt.Sprintf("\n     (lines 1 to %d forgotten: ", s.Forgotten)
		return strings.Replace(text, note+"WithRetention or the transcript cap)\n", note+"-retain or the transcript cap, -max-transcript-lines)\n", 1)
	}
	return text
}

type lineJSON struct {
	Dir  string  `json:"dir"` // "C" (client), "S" (server) or "*" (a note)
	Text string  `json:"text"`
	AtMs float64 `json:"atMs"` // since the session started
}

func newSessionJSON(s *mocksmtp.Session, transcript bool, clk *clock.Clock) sessionJSON {
	j := sessionJSON{
		ID:              s.ID,
		Attempt:         s.Attempt,
		Start:           s.Start,
		Live:            s.Ended == mocksmtp.Live,
		Ended:           s.Ended.String(),
		MessageIDs:      []int{},
		Faults:          append([]string{}, s.Faults...),
		Findings:        findingsJSON(s.Findings),
		TranscriptLines: s.Forgotten + len(s.Transcript),
		Forgotten:       s.Forgotten,
	}
	if at, ok := clk.At(s.Start); ok {
		j.ClockStart = &at
	}
	if s.RemoteAddr != nil {
		j.RemoteAddr = s.RemoteAddr.String()
	}
	if s.LocalAddr != nil {
		j.LocalAddr = s.LocalAddr.String()
	}
	if !s.End.IsZero() {
		e := s.End
		j.End = &e
	}
	st := newStateJSON(s, nil)
	j.Helo, j.TLS, j.Auth = st.Helo, st.TLS, st.Auth
	if s.Err != nil && s.Ended != mocksmtp.EndQuit {
		j.Error = s.Err.Error()
	}
	for _, m := range s.Messages {
		j.MessageIDs = append(j.MessageIDs, m.ID)
	}
	if transcript {
		j.TranscriptHead = linesJSON(s.TranscriptHead)
		j.Transcript = linesJSON(s.Transcript)
	}
	return j
}

// linesJSON returns the lines of a transcript, nil for none.
func linesJSON(t mocksmtp.Transcript) []lineJSON {
	if len(t) == 0 {
		return nil
	}
	out := make([]lineJSON, len(t))
	for i, l := range t {
		out[i] = lineJSON{Dir: l.Dir.String(), Text: l.Text, AtMs: float64(l.At.Microseconds()) / 1000}
	}
	return out
}

// listSessions answers GET /api/sessions: every session kept, or those
// of the filter (sessionFilter); with limit=N the last N of them.
func (a *api) listSessions(w http.ResponseWriter, r *http.Request) {
	q, ok := query(w, r, false, "limit", "inbox", "remoteAddr")
	if !ok {
		return
	}
	f, ok := a.sessionFilterOf(w, q)
	if !ok {
		return
	}
	var ss []*mocksmtp.Session
	var total int
	switch n, ok := limit(w, q); {
	case !ok:
		return
	case f.filters():
		ss = f.sessions()
		total = len(ss)
		if n >= 0 {
			ss = last(ss, n)
		}
	case n < 0:
		ss = a.srv.Sessions()
		total = len(ss)
	default:
		ss, total = a.srv.TailSessions(n) // the list and its total at one instant
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	writeJSON(w, http.StatusOK, sessionsJSON(ss, a.clock))
}

// last returns the last n elements of s, all of them when s has fewer.
func last[T any](s []T, n int) []T { return s[len(s)-min(max(n, 0), len(s)):] }

// sessionFilter is which sessions GET /api/sessions and GET
// /api/wait/sessions look at, so that tests sharing the program find
// their own: those of an inbox (inbox=D: Inbox.Sessions, the sessions
// whose client named an address of D in a RCPT TO since the inbox's last
// reset), those of one client's connection (remoteAddr=HOST:PORT, the
// address the client's socket has: the session's remoteAddr), or both.
// Each is given once, as inbox is everywhere: a session is in one inbox
// or several, but has one address, and two would match nothing.
type sessionFilter struct {
	sc     scope
	remote netip.AddrPort // the zero AddrPort: any address
}

// sessionFilterOf reads the filter of a query that query checked: 400
// for a remoteAddr that is not an IP address and a port, and what
// scopeOf answers for a bad inbox.
func (a *api) sessionFilterOf(w http.ResponseWriter, q url.Values) (sessionFilter, bool) {
	sc, ok := a.scopeOf(w, q)
	if !ok {
		return sessionFilter{}, false
	}
	f := sessionFilter{sc: sc}
	if vs, given := q["remoteAddr"]; given {
		if f.remote, ok = parseRemoteAddr(vs[0]); !ok {
			writeError(w, http.StatusBadRequest, "remoteAddr=%q: want the client's address as HOST:PORT, an IP address and a port of 1 to 65535 in plain digits, "+
				"such as 127.0.0.1:50312 or [::1]:50312: the local address of the client's socket (a session's remoteAddr)", clip(vs[0]))
			return sessionFilter{}, false
		}
	}
	return f, true
}

// parseRemoteAddr parses the value of remoteAddr: an IP address and a
// port, the port in plain digits (decimal), not 0, which no client has.
// An IPv4 address mapped into IPv6 ([::ffff:127.0.0.1]:50312, which a
// client on a dual-stack socket may give) is the IPv4 address, as Go
// writes a session's.
func parseRemoteAddr(v string) (netip.AddrPort, bool) {
	ap, err := netip.ParseAddrPort(v)
	if err != nil {
		return netip.AddrPort{}, false
	}
	if port, ok := decimal(v[strings.LastIndexByte(v, ':')+1:]); !ok || port == 0 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

// filters reports whether f picks some sessions only.
func (f sessionFilter) filters() bool { return f.sc.in != nil || f.remote.IsValid() }

// from reports whether s is of f's remote address (any, without one).
func (f sessionFilter) from(s *mocksmtp.Session) bool {
	if !f.remote.IsValid() {
		return true
	}
	ta, ok := s.RemoteAddr.(*net.TCPAddr)
	if !ok {
		return false
	}
	ap := ta.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()) == f.remote
}

// sessions returns the sessions of f, in order.
func (f sessionFilter) sessions() []*mocksmtp.Session {
	var ss []*mocksmtp.Session
	if f.sc.in != nil {
		ss = f.sc.in.Sessions()
	} else {
		ss = f.sc.srv.Sessions()
	}
	return slices.DeleteFunc(ss, func(s *mocksmtp.Session) bool { return !f.from(s) })
}

// where names f in messages: "", " from 127.0.0.1:50312", " in the inbox
// D", or both.
func (f sessionFilter) where() string {
	var from string
	if f.remote.IsValid() {
		from = " from " + f.remote.String()
	}
	return from + f.sc.where()
}

// sessionsJSON returns sessions as GET /api/sessions lists them: without
// their transcripts.
func sessionsJSON(ss []*mocksmtp.Session, clk *clock.Clock) []sessionJSON {
	out := make([]sessionJSON, len(ss))
	for i, s := range ss {
		out[i] = newSessionJSON(s, false, clk)
	}
	return out
}

// sessionWaitTimeoutJSON is the body of a 408 from /api/wait/sessions.
type sessionWaitTimeoutJSON struct {
	Error    string        `json:"error"` // followed by the transcripts of the sessions still open
	Sessions []sessionJSON `json:"sessions"`
}

// maxOpenShownOnTimeout bounds the transcripts of open sessions that a
// 408 of /api/wait/sessions shows, the last ones: as many as the Go API's
// report shows.
const maxOpenShownOnTimeout = 3

// waitSessions answers GET /api/wait/sessions: it waits until count
// sessions have ended (the client quit or went away, or the server closed
// them) and returns every session kept, live ones included, as
// Server.WaitForSessions does. With a filter (sessionFilter), it counts
// and returns the filter's sessions only: a session of an inbox counts
// once it has named the inbox and ended, one that names it after the wait
// began too (Inbox.WaitForSessionsContext); one of remoteAddr once it has
// ended, one that starts after the wait began too (awaitFrom). Sessions
// that ended before the last reset are forgotten, and do not count. On
// timeout it answers 408 with the sessions kept (of the filter), and the
// transcripts of those still open, which tell why they have not ended.
func (a *api) waitSessions(w http.ResponseWriter, r *http.Request) {
	q, ok := query(w, r, false, "count", "timeout", "inbox", "remoteAddr")
	if !ok {
		return
	}
	count, timeout, ok := a.waitQuery(w, q, "sessions")
	if !ok {
		return
	}
	f, ok := a.sessionFilterOf(w, q)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	extendDeadlines(w, r, timeout)
	var ss []*mocksmtp.Session
	var err error
	switch {
	case f.remote.IsValid():
		ss, err = a.awaitFrom(ctx, f, count)
	case f.sc.in != nil:
		ss, err = f.sc.in.WaitForSessionsContext(ctx, count)
	default:
		ss, err = a.srv.WaitForSessionsContext(ctx, count)
	}
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, sessionsJSON(ss, a.clock))
	case r.Context().Err() != nil || errors.Is(err, mocksmtp.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, "mocksmtp is shutting down")
	default:
		var open []*mocksmtp.Session
		for _, s := range ss {
			if s.Ended == mocksmtp.Live {
				open = append(open, s)
			}
		}
		listed := ss[len(ss)-min(maxListedOnTimeout, len(ss)):]
		var b strings.Builder
		fmt.Fprintf(&b, "waited %v for %s%s, got %d; sessions lists the last %d of the %d kept%s", timeout,
			plural(count, "ended session"), f.where(), len(ss)-len(open), len(listed), len(ss), f.where())
		if f.sc.in != nil && !f.remote.IsValid() && len(open) == 0 {
			// None open to wait for: a client refused before its RCPT TO
			// (a rate limit, a fault at MAIL) is no session of the inbox,
			// however long one waits.
			b.WriteString(" (a session joins the inbox at its first RCPT TO naming it: one refused before" +
				" (at the greeting, HELO or MAIL) is in no inbox; wait for it with remoteAddr=, the client's own address)")
		}
		if len(open) > 0 {
			fmt.Fprintf(&b, "; %d still open:\n", len(open))
			if n := len(open) - maxOpenShownOnTimeout; n > 0 {
				fmt.Fprintf(&b, "(%s not shown)\n", plural(n, "earlier open session"))
				open = open[n:]
			}
			for _, s := range open {
				b.WriteString(sessionText(s))
			}
		}
		writeJSON(w, http.StatusRequestTimeout, sessionWaitTimeoutJSON{Error: strings.TrimSuffix(b.String(), "\n"), Sessions: sessionsJSON(listed, a.clock)})
	}
}

// awaitFrom waits until count sessions of f, which has a remote address,
// have ended, and returns f's sessions then; or, with the error of ctx's
// end or the server's close, f's sessions as they are. It looks again
// only when one could have been added: as a session from the address
// ends (WaitForSessionEndContext: in an inbox it may have named the inbox
// before its end), or, with none open, as the server keeps a session more
// or fewer or starts a new one (a client whose session was not accepted
// yet when the wait began). It reads the sessions kept once, then only
// those new since its last look, and those from the address; the inbox's
// only once enough of those have ended to meet the wait.
func (a *api) awaitFrom(ctx context.Context, f sessionFilter, count int) ([]*mocksmtp.Session, error) {
	var known []int // the sessions from the address, of the server
	next := 0       // the ID of the first session not looked at
	for {
		news, total := sessionsSince(a.srv, next)
		for _, s := range news {
			if f.from(s) {
				known = append(known, s.ID)
			}
		}
		if len(news) > 0 {
			next = news[len(news)-1].ID + 1
		}
		var ss []*mocksmtp.Session // known, as they are
		open, over := 0, 0         // the first of them still open; how many have ended
		known = slices.DeleteFunc(known, func(id int) bool {
			s := a.srv.Session(id)
			if s == nil {
				return true // forgotten
			}
			if s.Ended != mocksmtp.Live {
				over++
			} else if open == 0 {
				open = id
			}
			ss = append(ss, s)
			return false
		})
		// The inbox only once enough have ended to meet the wait: it
		// costs every session kept. Read after them, it has every one
		// seen ended that named it: a session joins an inbox only while
		// live.
		if over >= count {
			if mine, ended := f.ofInbox(ss); ended >= count {
				return mine, nil
			}
		}
		var err error
		if open != 0 {
			_, err = a.srv.WaitForSessionEndContext(ctx, open)
			if err != nil && ctx.Err() == nil && !errors.Is(err, mocksmtp.ErrClosed) {
				err = nil // forgotten: the next look drops it
			}
		} else {
			err = a.srv.WaitUntilContext(ctx, func() bool {
				n, _ := a.srv.Count()
				return n != total || a.srv.Session(next) != nil
			})
		}
		if err != nil {
			return f.sessions(), err
		}
	}
}

// ofInbox returns the sessions of ss in f's inbox (all of them, without
// one), and how many of those have ended.
func (f sessionFilter) ofInbox(ss []*mocksmtp.Session) (mine []*mocksmtp.Session, ended int) {
	mine = ss
	if f.sc.in != nil {
		inbox := make(map[int]bool)
		for _, s := range f.sc.in.Sessions() {
			inbox[s.ID] = true
		}
		mine = slices.DeleteFunc(slices.Clone(ss), func(s *mocksmtp.Session) bool { return !inbox[s.ID] })
	}
	for _, s := range mine {
		if s.Ended != mocksmtp.Live {
			ended++
		}
	}
	return mine, ended
}

// sessionsSince returns the sessions kept whose IDs are next or more, in
// order, and how many sessions are kept, both at one instant: read from
// the end (TailSessions), they cost what the sessions new since a look
// cost, not what every session kept does.
func sessionsSince(srv *mocksmtp.Server, next int) ([]*mocksmtp.Session, int) {
	for n := 8; ; n *= 2 {
		ss, total := srv.TailSessions(n)
		i := sort.Search(len(ss), func(i int) bool { return ss[i].ID >= next })
		if i > 0 || len(ss) == total {
			return ss[i:], total
		}
	}
}

func (a *api) getSession(w http.ResponseWriter, r *http.Request) {
	if _, ok := query(w, r, false); !ok {
		return
	}
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	s := a.srv.Session(id)
	if s == nil {
		writeError(w, http.StatusNotFound, "no session %d", id)
		return
	}
	writeJSON(w, http.StatusOK, newSessionJSON(s, true, a.clock))
}

// sessionEndTimeoutJSON is the body of a 408 from GET
// /api/wait/sessions/{id}.
type sessionEndTimeoutJSON struct {
	Error   string       `json:"error"`             // what the wait waited for; for a session still open, its transcript so far
	Session *sessionJSON `json:"session,omitempty"` // the session still open, with its transcript; none when it has not started
}

// waitSessionEnd answers GET /api/wait/sessions/{id}: it waits until the
// session has ended (the client quit or went away, or the server closed
// it) and returns it as GET /api/sessions/{id} does, as
// Server.WaitForSessionEnd does: also a session not yet started, so that
// a suite may ask before its client connects. On timeout it answers 408
// with the session so far, its transcript telling why it has not ended.
func (a *api) waitSessionEnd(w http.ResponseWriter, r *http.Request) {
	q, ok := query(w, r, false, "timeout")
	if !ok {
		return
	}
	_, timeout, ok := a.waitQuery(w, q, "sessions")
	if !ok {
		return
	}
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	s := a.awaitSessionEnd(w, r, id, timeout, func(s *mocksmtp.Session, waited string) {
		j := newSessionJSON(s, true, a.clock)
		writeJSON(w, http.StatusRequestTimeout, sessionEndTimeoutJSON{
			Error: waited + "; so far:\n" + strings.TrimSuffix(sessionText(s), "\n"), Session: &j})
	})
	if s != nil {
		writeJSON(w, http.StatusOK, newSessionJSON(s, true, a.clock))
	}
}

// awaitSessionEnd waits until session id has ended, for at most timeout,
// with Server.WaitForSessionEndContext, and returns it. Otherwise it
// answers and returns nil: 503 when mocksmtp shuts down; 404 at once for
// session 0 and for a session the server keeps no longer (DELETE
// /api/messages or -retain forgot it); 408 when the timeout passes
// first, for a session not yet started, and with stillOpen's answer for
// one still open, given the start of its error ("waited 2s for session 3
// to end, and it is still open").
func (a *api) awaitSessionEnd(w http.ResponseWriter, r *http.Request, id int, timeout time.Duration, stillOpen func(s *mocksmtp.Session, waited string)) *mocksmtp.Session {
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	extendDeadlines(w, r, timeout)
	s, err := a.srv.WaitForSessionEndContext(ctx, id)
	switch {
	case err == nil:
		return s
	case r.Context().Err() != nil || errors.Is(err, mocksmtp.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, "mocksmtp is shutting down")
	case id == 0:
		writeError(w, http.StatusNotFound, "no session 0: session IDs start at 1")
	case !errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusNotFound, "no session %d: mocksmtp keeps it no longer (DELETE /api/messages or -retain forgot it)", id)
	case s == nil:
		writeError(w, http.StatusRequestTimeout, "waited %v for session %d to end, and it has not started", timeout, id)
	default:
		stillOpen(s, fmt.Sprintf("waited %v for session %d to end, and it is still open", timeout, id))
	}
	return nil
}

// listFindings answers GET /api/findings: every conformance finding, in
// order (the rules the clients broke, with their RFC sections); with
// inbox=D, those of the inbox's sessions (Inbox.Findings); with
// remoteAddr, those of the client's (findingsOf).
func (a *api) listFindings(w http.ResponseWriter, r *http.Request) {
	fs, ok := a.findingsOf(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, findingsJSON(fs))
}

// findingsOf returns the findings of a request's filter (sessionFilter):
// those of the inbox's sessions (or of every session), and, with
// remoteAddr, of the sessions of the client at that address only, so that
// a test checks its client's session refused before it named the inbox
// (at MAIL: a rate limit), which is in no inbox. A finding of a session
// the server keeps no longer has no address, and is no client's.
func (a *api) findingsOf(w http.ResponseWriter, r *http.Request) ([]mocksmtp.Finding, bool) {
	q, ok := query(w, r, false, "inbox", "remoteAddr")
	if !ok {
		return nil, false
	}
	f, ok := a.sessionFilterOf(w, q)
	if !ok {
		return nil, false
	}
	fs := f.sc.findings()
	if !f.remote.IsValid() {
		return fs, true
	}
	from := map[int]bool{}
	for _, s := range a.srv.Sessions() {
		if f.from(s) {
			from[s.ID] = true
		}
	}
	return slices.DeleteFunc(fs, func(x mocksmtp.Finding) bool { return !from[x.Session] }), true
}
