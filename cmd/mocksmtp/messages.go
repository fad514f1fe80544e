package main

// The messages over HTTP: their JSON, listing and searching them, one
// message and its parts, links, codes, raw form and attachments,
// forgetting them, and waiting for them.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"regexp/syntax"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// maxWait bounds the timeout of the waits (isWait), and defaultWait is
// that of a wait whose request gives none, unless -wait-timeout says
// otherwise: the default of Go's WithWaitTimeout.
const (
	maxWait     = 10 * time.Minute
	defaultWait = 5 * time.Second
)

// messageJSON is a message as the API shows it.
type messageJSON struct {
	ID          int                          `json:"id"`
	SessionID   int                          `json:"sessionId"`
	Sent        stateJSON                    `json:"sent"` // how its session stood when it was sent: HELO name, TLS, AUTH (sessions.go)
	Received    time.Time                    `json:"received"`
	From        string                       `json:"from"`
	To          []string                     `json:"to"`
	Params      map[string]string            `json:"params,omitempty"`
	RcptParams  map[string]map[string]string `json:"rcptParams,omitempty"`
	Size        int                          `json:"size"`
	Subject     string                       `json:"subject"`
	HeaderFrom  []addressJSON                `json:"headerFrom,omitempty"`
	HeaderTo    []addressJSON                `json:"headerTo,omitempty"`
	Cc          []addressJSON                `json:"cc,omitempty"`
	ReplyTo     []addressJSON                `json:"replyTo,omitempty"`
	Date        *time.Time                   `json:"date,omitempty"`
	MessageID   string                       `json:"messageId,omitempty"`
	Headers     []headerJSON                 `json:"headers"`
	Text        string                       `json:"text"`
	HTML        string                       `json:"html"`
	Attachments []attachmentJSON             `json:"attachments"`
	Parts       *partJSON                    `json:"parts,omitempty"` // only for one message: GET /api/messages/{id}
	ParseError  string                       `json:"parseError,omitempty"`
	Findings    []findingJSON                `json:"findings"`
	DKIM        []dkimJSON                   `json:"dkim"` // one per DKIM-Signature verified, in order (dkim.go)
	ARC         arcJSON                      `json:"arc"`  // the ARC chain's validation (dkim.go)
	RawURL      string                       `json:"rawUrl"`
}

type addressJSON struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address"`
}

type headerJSON struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type attachmentJSON struct {
	Index       int    `json:"index"`
	Filename    string `json:"filename"`
	ContentType string `json:"contentType"`
	ContentID   string `json:"contentId,omitempty"`
	Inline      bool   `json:"inline"`
	Size        int    `json:"size"`
	URL         string `json:"url"`
}

// newMessageJSON returns m as the API shows it; memo, nil or not, gives
// the TLS state it was sent over (tlsMemo).
func newMessageJSON(m *mocksmtp.Message, memo tlsMemo) messageJSON {
	j := messageJSON{
		ID:          m.ID,
		Received:    m.Received,
		From:        m.From,
		To:          m.To,
		Params:      m.Params,
		RcptParams:  m.RcptParams,
		Size:        len(m.Raw),
		Subject:     m.Subject,
		HeaderFrom:  addresses(m.HeaderFrom),
		HeaderTo:    addresses(m.HeaderTo),
		Cc:          addresses(m.Cc),
		ReplyTo:     addresses(m.ReplyTo),
		MessageID:   m.MessageID,
		Headers:     []headerJSON{},
		Text:        m.Text,
		HTML:        m.HTML,
		Attachments: []attachmentJSON{},
		Findings:    findingsJSON(m.Findings),
		DKIM:        dkimResultsJSON(m.DKIM),
		ARC:         arcResultJSON(m.ARC),
		RawURL:      fmt.Sprintf("/api/messages/%d/raw", m.ID),
	}
	if j.To == nil {
		j.To = []string{}
	}
	if m.Session != nil {
		j.SessionID = m.Session.ID
		j.Sent = newStateJSON(m.Session, memo)
	}
	if !m.Date.IsZero() {
		d := m.Date
		j.Date = &d
	}
	h := m.Header
	for f := h.Fields(); f.Next(); {
		j.Headers = append(j.Headers, headerJSON{Name: rawName(f), Value: f.Value()})
	}
	for i, a := range m.Attachments {
		j.Attachments = append(j.Attachments, attachmentJSON{
			Index:       i,
			Filename:    a.Filename,
			ContentType: a.ContentType,
			ContentID:   a.ContentID,
			Inline:      a.Inline,
			Size:        len(a.Data),
			URL:         fmt.Sprintf("/api/messages/%d/attachments/%d", m.ID, i),
		})
	}
	if m.ParseErr != nil {
		j.ParseError = m.ParseErr.Error()
	}
	return j
}

// rawName returns the name of a header field as sent ("Message-ID"), not
// canonicalized ("Message-Id").
func rawName(f interface {
	Key() string
	Raw() ([]byte, error)
}) string {
	if raw, err := f.Raw(); err == nil {
		if name, _, ok := bytes.Cut(raw, []byte(":")); ok {
			return string(bytes.TrimRight(name, " \t"))
		}
	}
	return f.Key()
}

func addresses(l []*mail.Address) []addressJSON {
	var out []addressJSON
	for _, a := range l {
		if a != nil {
			out = append(out, addressJSON{Name: a.Name, Address: a.Address})
		}
	}
	return out
}

func messagesJSON(ms []*mocksmtp.Message) []messageJSON {
	out := make([]messageJSON, len(ms))
	memo := tlsMemo{}
	for i, m := range ms {
		out[i] = newMessageJSON(m, memo)
	}
	return out
}

// decimal parses s as a number in the one spelling the API writes:
// digits only, without a sign or leading zeros (0 itself is "0"), at most
// math.MaxInt. strconv.Atoi also takes +6, 06 and -0, so that one number
// would have many spellings, one URL many forms.
func decimal(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0 && strconv.Itoa(n) == s
}

// decimalForm says, in a 400, what decimal takes.
var decimalForm = fmt.Sprintf("in plain digits (such as 12, not +12, 012 or -12), at most %d", math.MaxInt)

// pathID parses the path wildcard name as an ID (or an index), 0 or
// more, in its one spelling (decimal), so that a message, a session or
// an attachment has one URL: another is a 400.
func pathID(w http.ResponseWriter, r *http.Request, name string) (int, bool) {
	s := r.PathValue(name)
	id, ok := decimal(s)
	if !ok {
		writeError(w, http.StatusBadRequest, "%s %q: want a number, %s", name, clip(s), decimalForm)
		return 0, false
	}
	return id, true
}

// numberParam reads the query parameter name of a query that query
// checked (given once), a number in the one spelling of decimal; what
// names what it is in an error. Left out, it is def; given empty or
// spelled otherwise, a 400 that names the parameter and the spelling.
func numberParam(w http.ResponseWriter, q url.Values, name, what string, def int) (int, bool) {
	vs, given := q[name]
	if !given {
		return def, true
	}
	n, ok := decimal(vs[0])
	if !ok {
		writeError(w, http.StatusBadRequest, "%s=%q: want %s, %s", name, clip(vs[0]), what, decimalForm)
		return 0, false
	}
	return n, true
}

// message finds the message of the request's {id}, or answers 404.
func (a *api) message(w http.ResponseWriter, r *http.Request) (*mocksmtp.Message, bool) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return nil, false
	}
	m := a.srv.Message(id)
	if m == nil {
		writeError(w, http.StatusNotFound, "no message %d", id)
		return nil, false
	}
	return m, true
}

// listMessages snapshots only the messages it lists: the web page polls
// it every second, and a server under load keeps many. With a filter it
// looks at every message kept, and with an inbox at every message of the
// inbox.
func (a *api) listMessages(w http.ResponseWriter, r *http.Request) {
	q, ok := query(w, r, true, "since", "limit", "inbox")
	if !ok {
		return
	}
	sc, ok := a.scopeOf(w, q)
	if !ok {
		return
	}
	want, filtered, ok := filterOf(w, q)
	if !ok {
		return
	}
	since, ok := sinceOf(w, q)
	if !ok {
		return
	}
	n, ok := limit(w, q)
	if !ok {
		return
	}
	var ms []*mocksmtp.Message
	var total int
	if filtered {
		all, _ := sc.messages(-1)
		for _, m := range all {
			if ok, _ := want.Match(m); ok {
				ms = append(ms, m)
			}
		}
		total = len(ms)
		if n >= 0 {
			ms = ms[len(ms)-min(n, len(ms)):]
		}
	} else {
		// The last n after since are among the last n: IDs grow.
		ms, total = sc.messages(n)
	}
	i := sort.Search(len(ms), func(i int) bool { return ms[i].ID > since })
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	writeJSON(w, http.StatusOK, messagesJSON(ms[i:]))
}

// sinceOf reads ?since=ID of a query that query checked: only messages
// with a greater ID; 0 (every message) when it is left out. On a problem
// it answers 400.
func sinceOf(w http.ResponseWriter, q url.Values) (int, bool) {
	return numberParam(w, q, "since", "a message ID", 0)
}

// limit reads ?limit=N: how many items to list, the last ones; -1 for
// all of them, without the parameter. On a problem it answers 400.
func limit(w http.ResponseWriter, q url.Values) (int, bool) {
	return numberParam(w, q, "limit", "how many to list", -1)
}

func (a *api) getMessage(w http.ResponseWriter, r *http.Request) {
	if _, ok := query(w, r, false); !ok {
		return
	}
	if m, ok := a.message(w, r); ok {
		j := newMessageJSON(m, nil)
		j.Parts = partTree(m)
		writeJSON(w, http.StatusOK, j)
	}
}

// deleteMessage forgets one message.
func (a *api) deleteMessage(w http.ResponseWriter, r *http.Request) {
	if _, ok := query(w, r, false); !ok {
		return
	}
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	if !a.srv.DeleteMessage(id) {
		writeError(w, http.StatusNotFound, "no message %d", id)
		return
	}
	a.log.Info("message deleted", "id", id)
	w.WriteHeader(http.StatusNoContent)
}

// links answers the links of a message, as Message.Links: the href of
// each <a> of the HTML (an svg's too), then the URLs of the text.
func (a *api) links(w http.ResponseWriter, r *http.Request) {
	if _, ok := query(w, r, false); !ok {
		return
	}
	m, ok := a.message(w, r)
	if !ok {
		return
	}
	links := m.Links()
	if links == nil {
		links = []string{}
	}
	writeJSON(w, http.StatusOK, linksJSON{Links: links})
}

type linksJSON struct {
	Links []string `json:"links"`
}

// find answers the first match of ?re= in a message, as Message.Find:
// in the text, else in the text of the HTML; the first group when re
// has one. No match is a 404; a match whose first group took no part
// (re=code: (x)?) or matched nothing is "", as Find returns, and a 200.
func (a *api) find(w http.ResponseWriter, r *http.Request) {
	q, ok := query(w, r, false, "re")
	if !ok {
		return
	}
	expr := q.Get("re")
	if len(q["re"]) != 1 || expr == "" {
		writeError(w, http.StatusBadRequest, "give one regular expression as re=, such as re=code: (\\d{6})")
		return
	}
	if err := checkRegexps(namedRegexp{"re", expr}); err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		writeError(w, http.StatusBadRequest, "re=%q: %s", clip(expr), clipQuoted(err))
		return
	}
	m, ok := a.message(w, r)
	if !ok {
		return
	}
	match := m.Find(re)
	if match == "" && !findsAny(m, expr) {
		writeError(w, http.StatusNotFound, "message %d: no match of %q in its text or HTML", m.ID, clip(expr))
		return
	}
	writeJSON(w, http.StatusOK, findJSON{Match: match})
}

// findsAny reports whether expr (valid) matches what Message.Find
// searches in m, which Find's "" does not tell. It asks Find itself, first
// with expr in a group of its own, the whole match, which keeps expr's
// literal prefix (a long literal found nowhere stays a string search):
// that group is not empty when expr matches, unless expr can match the
// empty string. Only such an expr is asked again within \A(.*?expr.?),
// whose first group is not empty when expr matches a text that is not,
// and an empty text Find searches first is m.Text. Both are built on
// expr's syntax tree, so that any valid expr keeps its meaning. (An HTML
// body whose text is empty, after a text that expr does not match, is not
// told apart when expr matches the empty string only.)
func findsAny(m *mocksmtp.Message, expr string) bool {
	tree, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return false
	}
	if re, err := regexp.Compile((&syntax.Regexp{Op: syntax.OpCapture, Cap: 1, Sub: []*syntax.Regexp{tree}}).String()); err == nil && m.Find(re) != "" {
		return true
	} else if err == nil && !canBeEmpty(tree) {
		return false
	}
	anyChar := &syntax.Regexp{Op: syntax.OpAnyChar}
	group := &syntax.Regexp{Op: syntax.OpCapture, Cap: 1, Sub: []*syntax.Regexp{{Op: syntax.OpConcat, Sub: []*syntax.Regexp{
		{Op: syntax.OpStar, Flags: syntax.NonGreedy, Sub: []*syntax.Regexp{anyChar}},
		tree,
		{Op: syntax.OpQuest, Sub: []*syntax.Regexp{anyChar}},
	}}}}
	whole := &syntax.Regexp{Op: syntax.OpConcat, Sub: []*syntax.Regexp{{Op: syntax.OpBeginText}, group}}
	re, err := regexp.Compile(whole.String())
	if err != nil {
		return false
	}
	if m.Find(re) != "" {
		return true
	}
	return m.Text == "" && regexp.MustCompile(expr).MatchString("")
}

// canBeEmpty reports whether re can match the empty string somewhere
// (in some context, as \b or ^ do).
func canBeEmpty(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpNoMatch, syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return false
	case syntax.OpLiteral:
		return len(re.Rune) == 0
	case syntax.OpCapture, syntax.OpPlus:
		return canBeEmpty(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min == 0 || canBeEmpty(re.Sub[0])
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			if !canBeEmpty(sub) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			if canBeEmpty(sub) {
				return true
			}
		}
		return false
	}
	return true // the empty match, *, ?, and the assertions
}

type findJSON struct {
	Match string `json:"match"`
}

func (a *api) raw(w http.ResponseWriter, r *http.Request) {
	q, ok := query(w, r, false, "download")
	if !ok {
		return
	}
	m, ok := a.message(w, r)
	if !ok {
		return
	}
	h := w.Header()
	h.Set("Content-Type", "message/rfc822")
	h.Set("Content-Length", strconv.Itoa(len(m.Raw)))
	h.Set("Content-Security-Policy", "sandbox")
	if q.Has("download") {
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": fmt.Sprintf("message-%d.eml", m.ID)}))
	}
	_, _ = w.Write(m.Raw)
}

func (a *api) attachment(w http.ResponseWriter, r *http.Request) {
	if _, ok := query(w, r, false); !ok {
		return
	}
	m, ok := a.message(w, r)
	if !ok {
		return
	}
	n, ok := pathID(w, r, "n")
	if !ok {
		return
	}
	if n >= len(m.Attachments) {
		writeError(w, http.StatusNotFound, "message %d has %d attachments, no attachment %d (they count from 0)", m.ID, len(m.Attachments), n)
		return
	}
	att := m.Attachments[n]
	ct := att.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	name := att.Filename
	if name == "" {
		name = fmt.Sprintf("message-%d-attachment-%d", m.ID, n)
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.Itoa(len(att.Data)))
	// Never shown as a page of this origin: an HTML attachment could
	// otherwise script the API.
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("Content-Security-Policy", "sandbox")
	_, _ = w.Write(att.Data)
}

// reset forgets every message and ended session, the findings so far
// (so that one test's findings do not show in the next test's), the
// expectations and the faults' state (greylisted pairs, atMost counts:
// the faults stay), as Server.Reset; with ?inbox=D, the inbox's messages
// and expectations, as Inbox.Reset.
func (a *api) reset(w http.ResponseWriter, r *http.Request) {
	sc, ok := a.inboxScope(w, r)
	if !ok {
		return
	}
	if sc.in != nil {
		// The inbox's messages and expectations go; the sessions,
		// the server's, stay, but the inbox's list of them and its
		// findings start afresh (Inbox.Reset).
		a.expectations.forget(sc.in, sc.in.Reset)
		a.log.Info("reset", "inbox", sc.in.Domain())
		w.WriteHeader(http.StatusNoContent)
		return
	}
	a.expectations.forget(nil, a.srv.Reset) // the findings so far too, those of live sessions included
	a.log.Info("reset")
	w.WriteHeader(http.StatusNoContent)
}

// waitTimeoutJSON is the body of a 408 from /api/wait.
type waitTimeoutJSON struct {
	Error    string        `json:"error"` // with a filter, followed by the report of the Go API's WaitFor
	Messages []messageJSON `json:"messages"`
}

// maxListedOnTimeout bounds the messages a 408 of /api/wait lists: the
// last ones kept.
const maxListedOnTimeout = 100

// wait answers GET /api/wait. Without a filter, it waits until count
// messages are kept and returns them all, as Server.WaitForMessages.
// With one, it returns the first count messages like it that no earlier
// wait returned, as Server.WaitFor, so that a test can wait for a second
// message like a first; it takes them all at once (WaitForNContext), so
// that a wait that times out takes none and a retry may return them.
func (a *api) wait(w http.ResponseWriter, r *http.Request) {
	q, ok := query(w, r, true, "count", "timeout", "inbox")
	if !ok {
		return
	}
	sc, ok := a.scopeOf(w, q)
	if !ok {
		return
	}
	want, filtered, ok := filterOf(w, q)
	if !ok {
		return
	}
	count, timeout, ok := a.waitQuery(w, q, "messages")
	if !ok {
		return
	}
	if a.retain > 0 && count > a.retain {
		// Every wait counts the messages kept, of the server or of an
		// inbox, like a filter or not, and there are never more.
		writeError(w, http.StatusBadRequest, "count=%d: mocksmtp keeps only the last %s (-retain %d), and a wait counts those kept: a wait for %d could never be met", count, plural(a.retain, "message"), a.retain, count)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	extendDeadlines(w, r, timeout)
	var ms []*mocksmtp.Message
	var err error
	what := plural(count, "message")
	if filtered {
		what += " like this"
		ms, err = sc.waitFor(ctx, want, count)
	} else {
		ms, err = sc.waitForMessages(ctx, count)
	}
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, messagesJSON(ms))
	case r.Context().Err() != nil || errors.Is(err, mocksmtp.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, "mocksmtp is shutting down")
	default:
		got := fmt.Sprintf("got %d", len(ms))
		if filtered && len(ms) > 0 {
			// Found, not taken: a later wait may return them.
			ids := make([]string, len(ms))
			for i, m := range ms {
				ids[i] = strconv.Itoa(m.ID)
			}
			got += " (message " + listed(ids) + "), and took none: a later wait may return them"
		}
		kept, total := sc.messages(maxListedOnTimeout)
		msg := fmt.Sprintf("waited %v for %s%s, %s; messages lists the last %d of the %d kept", timeout, what, sc.where(), got, len(kept), total)
		if filtered {
			// The report of the Go API's WaitFor: what was wanted, the
			// nearest message as a diff, its transcript lines, totals;
			// not its first line, which names the Go call
			// (WaitForContext) where msg says what the request waited for.
			_, report, _ := strings.Cut(err.Error(), "\n")
			msg += ":\n" + report
		}
		writeJSON(w, http.StatusRequestTimeout, waitTimeoutJSON{Error: msg, Messages: messagesJSON(kept)})
	}
}

// waitQuery reads the parameters of a wait: count (default 1), a
// number of things, and timeout (default -wait-timeout, 5s unless given,
// at most maxWait). On a problem it answers 400.
func (a *api) waitQuery(w http.ResponseWriter, q url.Values, things string) (count int, timeout time.Duration, ok bool) {
	if count, ok = numberParam(w, q, "count", "a number of "+things, 1); !ok {
		return 0, 0, false
	}
	timeout = a.waitTimeout
	if vs, given := q["timeout"]; given {
		d, err := time.ParseDuration(vs[0])
		if err != nil || d < 0 || d > maxWait {
			writeError(w, http.StatusBadRequest, "timeout=%q: want a duration such as 5s or 500ms, at most %v", clip(vs[0]), maxWait)
			return 0, 0, false
		}
		timeout = d
	}
	return count, timeout, true
}

// plural returns "1 message", "2 messages".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// extendDeadlines lets a long poll outlast the server's read and write
// timeouts: its connection may stay quiet for d, and then some to write
// the answer. (Past the read deadline, the server would take the silent
// connection for a dead one and cancel the request.) Only for a wait
// (isWait), which has no body (ServeHTTP).
func extendDeadlines(w http.ResponseWriter, r *http.Request, d time.Duration) {
	if !isWait(r) {
		return
	}
	rc := http.NewResponseController(w)
	deadline := time.Now().Add(d + 30*time.Second)
	_ = rc.SetReadDeadline(deadline) // errors: not a real connection (tests)
	_ = rc.SetWriteDeadline(deadline)
}
