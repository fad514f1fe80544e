package main

// The HTTP JSON API and the web page.
//
//	GET    /api/messages                      every message kept, in arrival order; ?since=ID: only later
//	                                          ones; ?limit=N: only the last N; X-Total-Count: how many are kept
//	GET    /api/messages/{id}                 one message
//	GET    /api/messages/{id}/raw             the message exactly as sent, as message/rfc822
//	GET    /api/messages/{id}/attachments/{n} the bytes of attachment n (from 0, as listed)
//	DELETE /api/messages                      forget every message and ended session (reset between tests)
//	GET    /api/sessions                      every session kept, without transcripts; ?limit=N, X-Total-Count
//	GET    /api/sessions/{id}                 one session, with its transcript
//	GET    /api/wait?count=N&timeout=5s       wait until N messages arrived (since the last reset)
//	GET    /api/ca.pem                        the test CA certificate, PEM
//	GET    /api/faults                        the fault script (see faults.go for its JSON)
//	PUT    /api/faults                        replace the fault script
//	POST   /api/faults                        add faults at the end of the script
//	DELETE /api/faults                        remove every fault
//
// Errors are JSON, {"error": "..."}, with a fitting status code: 400 for
// bad input, 404 for an unknown ID, 405 with Allow for a wrong method, 408
// when a wait times out (with the messages that did arrive). A fault
// script that is not valid JSON, or not a valid script, gets 400 with
// the line and column of the problem.

import (
	"context"
	"crypto/tls"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

//go:embed web
var webFiles embed.FS

// maxWait bounds GET /api/wait's timeout.
const maxWait = 10 * time.Minute

// api serves the HTTP API and the web page for one server.
type api struct {
	srv         *mocksmtp.Server
	log         *slog.Logger
	mux         *http.ServeMux
	allowRemote bool // any Host header is fine
	ownCert     bool // TLS uses the -cert certificate: no test CA to give
	faults      faultState
}

func newAPI(srv *mocksmtp.Server, log *slog.Logger, allowRemote bool) *api {
	a := &api{srv: srv, log: log, mux: http.NewServeMux(), allowRemote: allowRemote}
	a.mux.HandleFunc("GET /api/messages", a.listMessages)
	a.mux.HandleFunc("DELETE /api/messages", a.reset)
	a.mux.HandleFunc("GET /api/messages/{id}", a.getMessage)
	a.mux.HandleFunc("GET /api/messages/{id}/raw", a.raw)
	a.mux.HandleFunc("GET /api/messages/{id}/attachments/{n}", a.attachment)
	a.mux.HandleFunc("GET /api/sessions", a.listSessions)
	a.mux.HandleFunc("GET /api/sessions/{id}", a.getSession)
	a.mux.HandleFunc("GET /api/wait", a.wait)
	a.mux.HandleFunc("GET /api/findings", a.listFindings)
	a.mux.HandleFunc("GET /api/ca.pem", a.caPEM)
	a.mux.HandleFunc("GET /api/faults", a.getFaults)
	a.mux.HandleFunc("PUT /api/faults", a.putFaults)
	a.mux.HandleFunc("POST /api/faults", a.postFaults)
	a.mux.HandleFunc("DELETE /api/faults", a.deleteFaults)
	a.mux.HandleFunc("/api/", a.noRoute)
	web, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err) // the embedded tree always has web/
	}
	a.mux.Handle("/", a.page(http.FileServerFS(web)))
	return a
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if !a.allowRemote && !loopbackHost(r.Host) {
		// A web page elsewhere could reach a loopback server through DNS
		// rebinding; its requests carry its own host name.
		writeError(w, http.StatusForbidden, "host %q is not a loopback name; start mocksmtp with -allow-remote to serve it", r.Host)
		return
	}
	a.log.Debug("http", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
	a.mux.ServeHTTP(w, r)
}

// loopbackHost reports whether a Host header names this machine.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// noRoute answers /api/ paths that no route matches: 405 when another
// method would match, 404 otherwise.
func (a *api) noRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete} {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, pattern := a.mux.Handler(r2); pattern != "/api/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, "%s %s: method not allowed (allowed: %s)", r.Method, r.URL.Path, strings.Join(allow, ", "))
		return
	}
	writeError(w, http.StatusNotFound, "%s: no such API route", r.URL.Path)
}

// page serves the web page's files.
func (a *api) page(files http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		// Message HTML is shown in a sandboxed srcdoc iframe, which
		// inherits this policy: no scripts but ours, no plugins; images
		// and inline styles so that mail looks as it would.
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src * data: blob:; frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

// writeJSON writes v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client may have gone; nothing to do about it
}

// writeJSONLine writes v as one line of JSON.
func writeJSONLine(w io.Writer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(errorJSON{Error: err.Error()})
	}
	_, _ = w.Write(append(b, '\n'))
}

type errorJSON struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, errorJSON{Error: fmt.Sprintf(format, args...)})
}

// messageJSON is a message as the API shows it.
type messageJSON struct {
	ID          int                          `json:"id"`
	SessionID   int                          `json:"sessionId"`
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
	ParseError  string                       `json:"parseError,omitempty"`
	Findings    []findingJSON                `json:"findings"`
	DKIM        []dkimJSON                   `json:"dkim"` // one per DKIM-Signature verified, in order (dkim.go)
	RawURL      string                       `json:"rawUrl"`
}

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

func newMessageJSON(m *mocksmtp.Message) messageJSON {
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
		RawURL:      fmt.Sprintf("/api/messages/%d/raw", m.ID),
	}
	if j.To == nil {
		j.To = []string{}
	}
	if m.Session != nil {
		j.SessionID = m.Session.ID
	}
	if !m.Date.IsZero() {
		d := m.Date
		j.Date = &d
	}
	h := m.Header
	for f := h.Fields(); f.Next(); {
		j.Headers = append(j.Headers, headerJSON{Name: f.Key(), Value: f.Value()})
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

func addresses(l []*mail.Address) []addressJSON {
	var out []addressJSON
	for _, a := range l {
		if a != nil {
			out = append(out, addressJSON{Name: a.Name, Address: a.Address})
		}
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
	End             *time.Time    `json:"end,omitempty"`
	Live            bool          `json:"live"`
	Ended           string        `json:"ended"`
	Helo            string        `json:"helo"`
	TLS             *tlsJSON      `json:"tls"`
	Auth            *authJSON     `json:"auth"`
	Error           string        `json:"error,omitempty"`
	MessageIDs      []int         `json:"messageIds"`
	Faults          []string      `json:"faults"` // the faults that fired, as transcript notes say
	Findings        []findingJSON `json:"findings"`
	TranscriptLines int           `json:"transcriptLines"` // how many lines the session had, forgotten ones included
	Forgotten       int           `json:"forgotten"`       // the first lines that -retain forgot in a long session: transcript[0] is line forgotten+1
	Transcript      []lineJSON    `json:"transcript,omitempty"`
}

type tlsJSON struct {
	Version     string `json:"version"`
	CipherSuite string `json:"cipherSuite"`
	ServerName  string `json:"serverName,omitempty"`
}

// authJSON is a session's AUTH exchange; it never holds the password.
type authJSON struct {
	Mechanism string `json:"mechanism"`
	Identity  string `json:"identity,omitempty"`
	Username  string `json:"username"`
	Success   bool   `json:"success"`
}

type lineJSON struct {
	Dir  string  `json:"dir"` // "C" (client), "S" (server) or "*" (a note)
	Text string  `json:"text"`
	AtMs float64 `json:"atMs"` // since the session started
}

func newSessionJSON(s *mocksmtp.Session, transcript bool) sessionJSON {
	j := sessionJSON{
		ID:              s.ID,
		Attempt:         s.Attempt,
		Start:           s.Start,
		Live:            s.Ended == mocksmtp.Live,
		Ended:           s.Ended.String(),
		Helo:            s.Helo,
		MessageIDs:      []int{},
		Faults:          append([]string{}, s.Faults...),
		Findings:        findingsJSON(s.Findings),
		TranscriptLines: s.Forgotten + len(s.Transcript),
		Forgotten:       s.Forgotten,
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
	if s.TLS != nil {
		j.TLS = &tlsJSON{
			Version:     tls.VersionName(s.TLS.Version),
			CipherSuite: tls.CipherSuiteName(s.TLS.CipherSuite),
			ServerName:  s.TLS.ServerName,
		}
	}
	if a := s.Auth; a != nil {
		j.Auth = &authJSON{Mechanism: string(a.Mechanism), Identity: a.Identity, Username: a.Username, Success: a.Success}
	}
	if s.Err != nil && s.Ended != mocksmtp.EndQuit {
		j.Error = s.Err.Error()
	}
	for _, m := range s.Messages {
		j.MessageIDs = append(j.MessageIDs, m.ID)
	}
	if transcript {
		j.Transcript = make([]lineJSON, len(s.Transcript))
		for i, l := range s.Transcript {
			j.Transcript[i] = lineJSON{Dir: l.Dir.String(), Text: l.Text, AtMs: float64(l.At.Microseconds()) / 1000}
		}
	}
	return j
}

func messagesJSON(ms []*mocksmtp.Message) []messageJSON {
	out := make([]messageJSON, len(ms))
	for i, m := range ms {
		out[i] = newMessageJSON(m)
	}
	return out
}

// pathID parses the path wildcard name as a positive ID.
func pathID(w http.ResponseWriter, r *http.Request, name string) (int, bool) {
	s := r.PathValue(name)
	id, err := strconv.Atoi(s)
	if err != nil || id < 0 {
		writeError(w, http.StatusBadRequest, "%s %q: want a number", name, s)
		return 0, false
	}
	return id, true
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
// it every second, and a server under load keeps many.
func (a *api) listMessages(w http.ResponseWriter, r *http.Request) {
	since := 0
	if s := r.URL.Query().Get("since"); s != "" {
		var err error
		if since, err = strconv.Atoi(s); err != nil {
			writeError(w, http.StatusBadRequest, "since=%q: want a message ID", s)
			return
		}
	}
	var ms []*mocksmtp.Message
	_, total := a.srv.Count()
	switch n, ok := limit(w, r); {
	case !ok:
		return
	case n < 0:
		ms = a.srv.Messages()
		total = len(ms)
	default:
		// The last n after since are among the last n: IDs grow.
		ms = a.srv.LastMessages(n)
	}
	i := sort.Search(len(ms), func(i int) bool { return ms[i].ID > since })
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	writeJSON(w, http.StatusOK, messagesJSON(ms[i:]))
}

// limit reads ?limit=N: how many items to list, the last ones; -1 for
// all of them, without the parameter.
func limit(w http.ResponseWriter, r *http.Request) (int, bool) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return -1, true
	}
	l, err := strconv.Atoi(s)
	if err != nil || l < 0 {
		writeError(w, http.StatusBadRequest, "limit=%q: want a number", s)
		return 0, false
	}
	return l, true
}

func (a *api) getMessage(w http.ResponseWriter, r *http.Request) {
	if m, ok := a.message(w, r); ok {
		writeJSON(w, http.StatusOK, newMessageJSON(m))
	}
}

func (a *api) raw(w http.ResponseWriter, r *http.Request) {
	m, ok := a.message(w, r)
	if !ok {
		return
	}
	h := w.Header()
	h.Set("Content-Type", "message/rfc822")
	h.Set("Content-Length", strconv.Itoa(len(m.Raw)))
	h.Set("Content-Security-Policy", "sandbox")
	if r.URL.Query().Has("download") {
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": fmt.Sprintf("message-%d.eml", m.ID)}))
	}
	_, _ = w.Write(m.Raw)
}

func (a *api) attachment(w http.ResponseWriter, r *http.Request) {
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

func (a *api) reset(w http.ResponseWriter, r *http.Request) {
	a.srv.Reset()
	a.log.Info("reset")
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) listSessions(w http.ResponseWriter, r *http.Request) {
	var ss []*mocksmtp.Session
	total, _ := a.srv.Count()
	switch n, ok := limit(w, r); {
	case !ok:
		return
	case n < 0:
		ss = a.srv.Sessions()
		total = len(ss)
	default:
		ss = a.srv.LastSessions(n)
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	out := make([]sessionJSON, len(ss))
	for i, s := range ss {
		out[i] = newSessionJSON(s, false)
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api) getSession(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	s := a.srv.Session(id)
	if s == nil {
		writeError(w, http.StatusNotFound, "no session %d", id)
		return
	}
	writeJSON(w, http.StatusOK, newSessionJSON(s, true))
}

func (a *api) caPEM(w http.ResponseWriter, r *http.Request) {
	if a.ownCert {
		writeError(w, http.StatusNotFound, "no test CA: mocksmtp serves the certificate given with -cert")
		return
	}
	pem := a.srv.CACertPEM()
	if pem == nil {
		writeError(w, http.StatusInternalServerError, "the test CA could not be built")
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set("Content-Length", strconv.Itoa(len(pem)))
	_, _ = w.Write(pem)
}

// waitTimeoutJSON is the body of a 408 from /api/wait.
type waitTimeoutJSON struct {
	Error    string        `json:"error"`
	Messages []messageJSON `json:"messages"`
}

func (a *api) wait(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	count, timeout := 1, 5*time.Second
	if s := q.Get("count"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "count=%q: want a number of messages", s)
			return
		}
		count = n
	}
	if s := q.Get("timeout"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 || d > maxWait {
			writeError(w, http.StatusBadRequest, "timeout=%q: want a duration such as 5s or 500ms, at most %v", s, maxWait)
			return
		}
		timeout = d
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	ms, err := a.srv.WaitForMessagesContext(ctx, count)
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, messagesJSON(ms))
	case r.Context().Err() != nil || errors.Is(err, mocksmtp.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, "mocksmtp is shutting down")
	default:
		writeJSON(w, http.StatusRequestTimeout, waitTimeoutJSON{
			Error:    fmt.Sprintf("waited %v for %d messages, got %d", timeout, count, len(ms)),
			Messages: messagesJSON(ms),
		})
	}
}

// webServer is the running HTTP server.
type webServer struct {
	addr   string
	hs     *http.Server
	cancel context.CancelFunc // ends long polls
	done   chan struct{}

	mu    sync.Mutex            // guards fresh
	fresh map[net.Conn]struct{} // connections that have not sent a request yet
}

// track keeps fresh current: http.Server.Shutdown waits up to 5 s for a
// connection that never sent a request (as HTTP clients open to be ready).
func (ws *webServer) track(c net.Conn, state http.ConnState) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if state == http.StateNew {
		ws.fresh[c] = struct{}{}
	} else {
		delete(ws.fresh, c)
	}
}

func startHTTP(addr string, h http.Handler, log *slog.Logger) (*webServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http: %w", err)
	}
	base, cancel := context.WithCancel(context.Background())
	ws := &webServer{
		addr: ln.Addr().String(),
		hs: &http.Server{
			Handler:           h,
			BaseContext:       func(net.Listener) context.Context { return base },
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		cancel: cancel,
		done:   make(chan struct{}),
		fresh:  make(map[net.Conn]struct{}),
	}
	ws.hs.ConnState = ws.track
	go func() {
		defer close(ws.done)
		if err := ws.hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "err", err)
		}
	}()
	return ws, nil
}

// shutdown ends long polls, lets requests in flight finish (for a few
// seconds at most) and stops the server.
func (ws *webServer) shutdown() {
	ws.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws.hs.RegisterOnShutdown(func() {
		ws.mu.Lock()
		defer ws.mu.Unlock()
		for c := range ws.fresh {
			_ = c.Close()
		}
	})
	if err := ws.hs.Shutdown(ctx); err != nil {
		_ = ws.hs.Close()
	}
	<-ws.done
}

// listFindings answers GET /api/findings: every conformance finding, in
// order (the rules the clients broke, with their RFC sections).
func (a *api) listFindings(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, findingsJSON(a.srv.Findings()))
}
