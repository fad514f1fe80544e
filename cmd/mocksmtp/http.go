package main

// The HTTP JSON API and the web page.
//
//	GET    /api/messages                      every message kept, in arrival order; ?since=ID: only later
//	                                          ones; ?limit=N: only the last N; X-Total-Count: how many are kept
//	GET    /api/messages/{id}                 one message
//	GET    /api/messages/{id}/raw             the message exactly as sent, as message/rfc822
//	GET    /api/messages/{id}/attachments/{n} the bytes of attachment n (from 0, as listed)
//	GET    /api/messages/{id}/links           its links, as Message.Links: {"links": [...]}
//	GET    /api/messages/{id}/find?re=RE      the first match of RE, as Message.Find: {"match": "..."}; 404 for none
//	GET    /api/messages/{id}/normalized      as Message.Normalized, for golden files (snapshots), text/plain;
//	                                          ?mask=RE&replacement=R...: masks, as Mask (normalized.go)
//	DELETE /api/messages/{id}                 forget one message
//	DELETE /api/messages                      forget every message, ended session, finding and expectation
//	                                          (reset between tests); inboxes stay, empty: an inbox lasts as
//	                                          long as the program (maxInboxes)
//	GET    /api/sessions                      every session kept, without transcripts; ?limit=N, X-Total-Count;
//	                                          ?inbox=D, ?remoteAddr=HOST:PORT: those of the filter (sessionFilter)
//	GET    /api/sessions/{id}                 one session, with its transcript
//	GET    /api/sessions/{id}/normalized      its transcript as Session.Normalized, text/plain, once the
//	                                          session has ended (a wait: ?timeout=5s); masks as above
//	GET    /api/wait?count=N&timeout=5s       wait until N messages arrived (since the last reset); N over
//	                                          -retain is a 400: waits count the messages kept
//	GET    /api/wait?to=A&subjectContains=S   wait for the first message like the filter (filter.go) that
//	                                          no earlier wait returned; count=N: for N of them
//	GET    /api/wait/sessions?count=N         wait until N sessions ended (since the last reset), as
//	                                          Server.WaitForSessions: every session kept, as GET /api/sessions;
//	                                          ?inbox=D, ?remoteAddr=HOST:PORT: N of the filter's ended; its sessions only
//	GET    /api/wait/sessions/{id}            wait until session id ended (?timeout=5s), as
//	                                          Server.WaitForSessionEnd: it, as GET /api/sessions/{id}; also
//	                                          one yet to start; 408 with it so far, 404 for one forgotten
//	GET    /api/wait/none?timeout=2s          200 {"met": true} when no message came within the timeout, as
//	                                          Server.AssertNoMessages (?since=ID: none after ID, as
//	                                          AssertNoMoreMessages); else 417 at once, with them (none.go)
//	GET    /api/messages?to=A&...             the messages like the filter; X-Total-Count: how many
//	POST   /api/inboxes                       a new inbox, {"name": "test_signup"}: a domain of its own (inboxes.go)
//	GET    /api/inboxes                       the inboxes made, in order; ?limit=N, X-Total-Count
//	...?inbox=D                               GET /api/messages, DELETE /api/messages, GET /api/wait and the
//	                                          expectations, scoped to the inbox of domain D
//	POST   /api/expectations                  expect messages like a filter, {"want": {...}, "times": 1}
//	                                          (expectations.go), or no other message, {"forbidOtherMessages":
//	                                          true}, or none, {"forbidMessages": true}; 507 past maxExpectations(Bytes)
//	GET    /api/expectations                  the expectations registered and not forgotten, in order
//	GET    /api/expectations/check            200 when every expectation is met, else 417 with the report
//	                                          of the Go API's Expect
//	GET    /api/findings                      the conformance findings: the RFC rules clients broke
//	GET    /api/findings/check                200 when no client broke a rule, else 417 with the report
//	                                          of the Go API's WithStrict (findings.go)
//	GET    /api/rules                         the conformance rules, as mocksmtp.Rules(), each with its RFC
//	                                          section and whether it is on (-without-rules)
//	GET    /api/server                        where SMTP listens and how the server is set up (server.go):
//	                                          {"smtpAddr": "127.0.0.1:41234", "smtpHost", "smtpPort", "tls", ...}
//	GET    /api/ca.pem                        the test CA certificate, PEM
//	GET    /api/openapi.json                  the OpenAPI 3.1 document of this API (openapi.json)
//	GET    /api/faults                        the fault script (see faults.go for its JSON)
//	PUT    /api/faults                        replace the fault script
//	POST   /api/faults                        add faults at the end of the script; answers those it added,
//	                                          each with its "id"
//	DELETE /api/faults                        remove every fault
//	DELETE /api/faults/{id}                   remove one fault, by the id GET, PUT and POST give it; the
//	                                          others keep their state (greylisted pairs, atMost counts)
//	GET    /api/clock                         the clock the faults' times read (clock.go): {"now": "...",
//	                                          "offset": "5m0s", "waits": 1, "mode": "real", "waitList": [...]}:
//	                                          how far it was moved ahead, how many waits on it (delays, pauses,
//	                                          idle times) are in progress and which, real or frozen (-clock)
//	POST   /api/clock/advance                 move it ahead, {"by": "5m"}: greylisting windows, rate limit
//	                                          intervals and delays in progress pass at once; answers as GET
//	GET    /api/wait/clock?count=N            wait until N waits on the clock are in progress (?timeout=5s,
//	                                          real time), before a move meant to end them; answers as GET
//	                                          /api/clock; 408 with the transcripts of the sessions open
//
// Errors are JSON, {"error": "..."}, with a fitting status code: 400 for
// bad input (a number spelled other than in plain digits, 12, among
// them: decimal), 404 for an unknown ID, 405 with Allow for a wrong method, 408
// when a wait times out (with the messages that did arrive and, for a
// filter, the report the Go API's WaitFor fails a test with: the nearest
// message as a (-want +got) diff, its transcript lines, totals; or with
// the sessions kept and the transcripts of those still open). A body
// that is not valid JSON (decodeStrict, parseFaults), or a fault script
// that is not a valid script, gets 400 with the line and column of the
// problem, after the request's name: "PUT /api/faults: body:3:5: ...". An error quotes at most about 100
// octets of what the client sent (a value, a key, a path, a header) and
// notes its full length, "aaaa… (1048577 octets)" (clip), and lists at
// most 10 unknown names: a request of 1 MiB never gets as large an
// error.
//
// Safe from web pages: a browser request that a page of another origin
// made is refused with 403 (every API request, whatever its method, and
// any request other than GET, HEAD and OPTIONS to the web page), as
// Sec-Fetch-Site or Origin tell; clients that are not browsers send
// neither and pass. A body must be sent as Content-Type: application/json
// (415 otherwise), which a page elsewhere cannot do without a CORS
// preflight; an empty body, chunked or not, is no body. A DELETE takes
// none: one with a body (not only whitespace) is a 400, past 1 MiB a
// 413, as a wait's. OPTIONS answers with Allow and never with CORS
// headers. A request with a foreign Host is refused (DNS rebinding).
// Connections have read, write and idle
// timeouts; the waits (GET /api/wait, GET /api/wait/sessions, GET
// /api/wait/sessions/{id}, GET /api/wait/none, GET /api/wait/clock, GET
// /api/sessions/{id}/normalized, and HEAD of them)
// extend them to their own timeout, and no other method does.

import (
	"bytes"
	"context"
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
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/internal/clock"
)

//go:embed web
var webFiles embed.FS

// openAPI describes the API: every route, parameter and JSON field.
//
//go:embed openapi.json
var openAPI []byte

// api serves the HTTP API and the web page for one server.
type api struct {
	srv          *mocksmtp.Server
	log          *slog.Logger
	mux          *http.ServeMux
	allowRemote  bool // any Host header is fine
	ownCert      bool // TLS uses the -cert certificate: no test CA to give
	faults       *faultState
	inboxes      inboxes
	expectations expectationList
	setup        setup         // what GET /api/server tells of the flags (server.go)
	maxMasked    int           // maxMaskedBytes; tests lower it (normalized.go)
	retain       int           // -retain: the most messages kept, 0 for no bound (a wait for more is never met)
	waitTimeout  time.Duration // -wait-timeout: the timeout of a wait whose request gives none
	cop          *http.CrossOriginProtection
	routes       []string // the patterns of the API routes, "GET /api/messages"
	// clock is the server's, which the faults' times read and POST
	// /api/clock/advance moves (clock.go), frozen or not (-clock); nil
	// reads the real clock.
	clock *clock.Clock
}

func newAPI(srv *mocksmtp.Server, log *slog.Logger, allowRemote bool) *api {
	a := &api{srv: srv, log: log, mux: http.NewServeMux(), allowRemote: allowRemote, cop: http.NewCrossOriginProtection(), faults: &faultState{}}
	a.inboxes.max = maxInboxes
	a.expectations.max = maxExpectations
	a.expectations.maxBytes = maxExpectationBytes
	a.maxMasked = maxMaskedBytes
	a.waitTimeout = defaultWait
	a.handle("GET /api/messages", a.listMessages)
	a.handle("DELETE /api/messages", a.reset)
	a.handle("GET /api/messages/{id}", a.getMessage)
	a.handle("DELETE /api/messages/{id}", a.deleteMessage)
	a.handle("GET /api/messages/{id}/raw", a.raw)
	a.handle("GET /api/messages/{id}/links", a.links)
	a.handle("GET /api/messages/{id}/find", a.find)
	a.handle("GET /api/messages/{id}/normalized", a.normalizedMessage)
	a.handle("GET /api/messages/{id}/attachments/{n}", a.attachment)
	a.handle("GET /api/sessions", a.listSessions)
	a.handle("GET /api/sessions/{id}", a.getSession)
	a.handle("GET /api/sessions/{id}/normalized", a.normalizedTranscript)
	a.handle("GET /api/wait", a.wait)
	a.handle("GET /api/wait/sessions", a.waitSessions)
	a.handle("GET /api/wait/sessions/{id}", a.waitSessionEnd)
	a.handle("GET /api/wait/none", a.waitNone)
	a.handle("GET /api/wait/clock", a.waitClock)
	a.handle("POST /api/inboxes", a.postInbox)
	a.handle("GET /api/inboxes", a.listInboxes)
	a.handle("POST /api/expectations", a.postExpectation)
	a.handle("GET /api/expectations", a.listExpectations)
	a.handle("GET /api/expectations/check", a.checkExpectations)
	a.handle("GET /api/findings", a.listFindings)
	a.handle("GET /api/findings/check", a.checkFindings)
	a.handle("GET /api/rules", a.listRules)
	a.handle("GET /api/server", a.server)
	a.handle("GET /api/ca.pem", a.caPEM)
	a.handle("GET /api/faults", a.getFaults)
	a.handle("PUT /api/faults", a.putFaults)
	a.handle("POST /api/faults", a.postFaults)
	a.handle("DELETE /api/faults", a.deleteFaults)
	a.handle("DELETE /api/faults/{id}", a.deleteFault)
	a.handle("GET /api/clock", a.getClock)
	a.handle("POST /api/clock/advance", a.advanceClock)
	a.handle("GET /api/openapi.json", a.openAPI)
	a.mux.HandleFunc("/api/", a.noRoute)
	web, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err) // the embedded tree always has web/
	}
	a.mux.Handle("/", a.page(http.FileServerFS(web)))
	return a
}

// handle registers an API route, and notes its pattern for the test that
// checks the OpenAPI document.
func (a *api) handle(pattern string, h http.HandlerFunc) {
	a.routes = append(a.routes, pattern)
	a.mux.HandleFunc(pattern, h)
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if !a.allowRemote && !loopbackHost(r.Host) {
		// A web page elsewhere could reach a loopback server through DNS
		// rebinding; its requests carry its own host name.
		writeError(w, http.StatusForbidden, "host %q is not a loopback name; start mocksmtp with -allow-remote to serve it", clip(r.Host))
		return
	}
	if err := a.crossOrigin(r); err != nil {
		a.log.Warn("refused a cross-origin request", "method", clip(r.Method), "path", clip(r.URL.Path),
			"origin", clip(r.Header.Get("Origin")), "sec-fetch-site", clip(r.Header.Get("Sec-Fetch-Site")))
		writeError(w, http.StatusForbidden, "%s: cross-origin request refused (%v): only mocksmtp's own page, and clients that are not browsers (curl, test suites), may use the API", requestName(r), err)
		return
	}
	if isWait(r) {
		// Its answer would wait for the body, for as long as the wait's
		// deadlines let it. A chunked body that ends at once is none, as
		// for every route (hasData): it is read now, under the read
		// timeout that extendDeadlines lifts next, so a client that
		// withholds it waits no longer than for any request's body. So is
		// a JSON body of only whitespace, as on a DELETE (readBody).
		data, err := hasData(r)
		switch {
		case err != nil:
			writeError(w, http.StatusBadRequest, "%s: a wait takes no body; reading it: %v", requestName(r), err)
			return
		case data && isJSON(r.Header.Get("Content-Type")):
			body, ok := readBody(w, r, maxExpectationBody)
			if !ok {
				return
			}
			if body != nil {
				writeError(w, http.StatusBadRequest, "%s: a wait takes no body", requestName(r))
				return
			}
			r.Body, r.ContentLength = http.NoBody, 0
		case data:
			writeError(w, http.StatusBadRequest, "%s: a wait takes no body", requestName(r))
			return
		}
	}
	// At once, before the read timeout can pass: the handler bounds a
	// wait by its own timeout.
	extendDeadlines(w, r, maxWait)
	a.log.Debug("http", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
	if r.Method == http.MethodOptions {
		a.options(w, r)
		return
	}
	body, err := hasBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%s: reading the body: %v", requestName(r), err)
		return
	}
	if body && r.Method == http.MethodDelete && !a.deleteHasNoBody(w, r) {
		return
	}
	if body && !isJSON(r.Header.Get("Content-Type")) {
		writeError(w, http.StatusUnsupportedMediaType, "%s: the body must be JSON, sent with Content-Type: application/json (curl: --json, or -H 'Content-Type: application/json'); got Content-Type %q", requestName(r), clip(r.Header.Get("Content-Type")))
		return
	}
	a.mux.ServeHTTP(w, r)
}

// isWait reports whether r is one of the waits, whose connection may stay
// quiet until their own timeout: GET (or HEAD, which the GET routes
// answer) of /api/wait, /api/wait/sessions, /api/wait/sessions/{id},
// /api/wait/none, /api/wait/clock or /api/sessions/{id}/normalized. Another method on those paths is
// answered 405 within the server's timeouts, however slowly its body
// comes; a wait with a body, 400 (ServeHTTP).
func isWait(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	p := r.URL.Path
	return p == "/api/wait" || p == "/api/wait/sessions" || p == "/api/wait/none" || p == "/api/wait/clock" ||
		strings.HasPrefix(p, "/api/wait/sessions/") && strings.Count(p, "/") == 4 ||
		strings.HasPrefix(p, "/api/sessions/") && strings.HasSuffix(p, "/normalized") && strings.Count(p, "/") == 4
}

// crossOrigin refuses requests that a page of another origin made the
// browser send: every request to the API whatever its method (a GET of
// /api/wait takes the messages it returns, and a page elsewhere has no
// business reading the API), and requests to the web page other than
// GET, HEAD and OPTIONS. Clients that are not browsers send neither
// Sec-Fetch-Site nor Origin, and pass.
func (a *api) crossOrigin(r *http.Request) error {
	if strings.HasPrefix(r.URL.Path, "/api/") && r.Method != http.MethodOptions {
		// CrossOriginProtection lets safe methods through: ask it as if
		// the request changed state.
		r = r.Clone(r.Context())
		r.Method = http.MethodPost
	}
	return a.cop.Check(r)
}

// hasBody reports whether a request that may change state has a body:
// bodies are JSON, and a page elsewhere can only send a JSON body with a
// CORS preflight, which mocksmtp never grants. A body of unknown length
// (chunked) that ends at once is no body, as one of Content-Length: 0 is,
// whatever its Content-Type: hasBody reads its first byte to tell, and
// puts it back.
func hasBody(r *http.Request) (bool, error) {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false, nil
	}
	return hasData(r)
}

// hasData reports whether r has a body, whatever its method: one of
// Content-Length: 0, or chunked that ends at once, has none (hasBody).
func hasData(r *http.Request) (bool, error) {
	if r.ContentLength >= 0 {
		return r.ContentLength > 0, nil
	}
	var first [1]byte
	n, err := io.ReadFull(r.Body, first[:])
	switch {
	case n == 0 && err == io.EOF:
		r.Body = http.NoBody
		r.ContentLength = 0
		return false, nil
	case n == 0:
		return false, err
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(first[:]), r.Body), r.Body}
	return true, nil
}

// deleteHasNoBody answers 400 to a DELETE of an API route with a body
// other than whitespace, and reports whether it has none: a DELETE says
// what it forgets in its path and query, and one that ignored a body,
// {"inbox": "D"}, would forget every test's mail instead of D's. A body of
// unknown route is left to the mux (404, 405).
func (a *api) deleteHasNoBody(w http.ResponseWriter, r *http.Request) bool {
	if _, pattern := a.mux.Handler(r); !strings.HasPrefix(pattern, "DELETE /api/") {
		return true
	}
	data, ok := readBody(w, r, maxExpectationBody)
	if !ok {
		return false
	}
	if data != nil {
		writeError(w, http.StatusBadRequest, "%s: a DELETE takes no body (got %s): what it forgets is in its path and query, as DELETE /api/messages?inbox=D forgets the inbox's mail and no other", requestName(r), plural(len(data), "octet"))
		return false
	}
	return true
}

// isJSON reports whether a Content-Type is application/json, or a
// +json type.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// options answers OPTIONS with the methods of the path in Allow, and no
// CORS headers: a preflight of another origin fails.
func (a *api) options(w http.ResponseWriter, r *http.Request) {
	allow := []string{http.MethodGet, http.MethodHead}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		if allow = a.allowed(r); len(allow) == 0 {
			writeError(w, http.StatusNotFound, "%s: no such API route", clip(r.URL.Path))
			return
		}
	}
	w.Header().Set("Allow", strings.Join(append(allow, http.MethodOptions), ", "))
	w.WriteHeader(http.StatusNoContent)
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
	if allow := a.allowed(r); len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(append(allow, http.MethodOptions), ", "))
		writeError(w, http.StatusMethodNotAllowed, "%s: method not allowed (allowed: %s)", requestName(r), strings.Join(allow, ", "))
		return
	}
	writeError(w, http.StatusNotFound, "%s: no such API route", clip(r.URL.Path))
}

// allowed returns the methods that an API route has for the request's
// path.
func (a *api) allowed(r *http.Request) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete} {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, pattern := a.mux.Handler(r2); pattern != "/api/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	return allow
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
	enc.SetEscapeHTML(false) // served as JSON, never sniffed as HTML (nosniff): keep <p> readable
	_ = enc.Encode(v)        // the client may have gone; nothing to do about it
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

// maxQuoted bounds, in octets, what an error quotes of a client's input
// (a value, a key, a name, a path, a header): input may be as long as a
// request (1 MiB), and an error that echoed it whole would be as long.
const maxQuoted = 120

// maxRegexps bounds, in octets, the regular expressions of one request
// together (re=, the masks, the …Matches of a filter, in a query or a
// body): Go compiles them in time that grows with their length, and a
// request cannot stop it (1 MiB of "a" takes a second, five under the
// race detector), while a test's pattern is a line or a few.
const maxRegexps = 64 << 10

// namedRegexp is a regular expression a client gave, and its name in an
// error: re, mask 2, subjectMatches.
type namedRegexp struct{ name, expr string }

// checkRegexps refuses the regular expressions of a request when they
// are together longer than maxRegexps, before any is compiled. Its error
// quotes the one given, or names those given.
func checkRegexps(res ...namedRegexp) error {
	total := 0
	var names []string
	for _, re := range res {
		if re.expr != "" {
			total += len(re.expr)
			names = append(names, re.name)
		}
	}
	switch {
	case total <= maxRegexps:
		return nil
	case len(names) == 1:
		i := slices.IndexFunc(res, func(re namedRegexp) bool { return re.expr != "" })
		return fmt.Errorf("%s %q: too long: give regular expressions of at most %d octets in all", names[0], clip(res[i].expr), maxRegexps)
	default:
		return fmt.Errorf("%s: %d octets of regular expressions: give at most %d in all", listed(names), total, maxRegexps)
	}
}

// clip returns client input for an error message: s itself, or its first
// octets (cut at the start of a character) and its full length,
// "aaaa… (1048577 octets)", maxQuoted octets in all. Every error that
// quotes client input quotes clip of it, with %q (%s for a path or a
// method); clip of what clip returns is the same, so that clipQuoted can
// go over it again.
func clip(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	note := fmt.Sprintf("… (%d octets)", len(s))
	i := maxQuoted - len(note)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + note
}

// clipQuoted returns the message of an error written elsewhere (by the
// root package, encoding/json, regexp, time) with the client input it
// quotes clipped: each Go string literal, as %q writes them, the
// expression a regexp error quotes between backquotes, and the number
// encoding/json quotes bare ("cannot unmarshal number 1e999 into ...").
func clipQuoted(err error) string {
	msg := err.Error()
	var se *syntax.Error
	if errors.As(err, &se) && len(se.Expr) > maxQuoted {
		msg = strings.ReplaceAll(msg, "`"+se.Expr+"`", "`"+clip(se.Expr)+"`")
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(msg, '"')
		if i < 0 {
			break
		}
		b.WriteString(msg[:i])
		msg = msg[i:]
		lit, err := strconv.QuotedPrefix(msg)
		if err != nil { // a quote in the text, not a literal
			b.WriteByte('"')
			msg = msg[1:]
			continue
		}
		msg = msg[len(lit):]
		if s, err := strconv.Unquote(lit); err == nil && len(s) > maxQuoted {
			lit = strconv.Quote(clip(s))
		}
		b.WriteString(lit)
	}
	b.WriteString(msg)
	return clipNumbers(b.String())
}

// clipNumbers clips the numbers that encoding/json's errors quote bare,
// after "unmarshal number ".
func clipNumbers(msg string) string {
	const before = "unmarshal number "
	var b strings.Builder
	for {
		i := strings.Index(msg, before)
		if i < 0 {
			break
		}
		i += len(before)
		n := strings.IndexFunc(msg[i:], func(r rune) bool { return !strings.ContainsRune("+-.0123456789eE", r) })
		if n < 0 {
			n = len(msg) - i
		}
		b.WriteString(msg[:i])
		b.WriteString(clip(msg[i : i+n]))
		msg = msg[i+n:]
	}
	b.WriteString(msg)
	return b.String()
}

// maxListed bounds the names an error lists (unknown parameters or
// keys): a query may have 10,000 parameters, a body more keys.
const maxListed = 10

// listed joins names for an error message: the first maxListed, and how
// many more there are.
func listed(names []string) string {
	if len(names) <= maxListed {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:maxListed], ", "), len(names)-maxListed)
}

// requestName names a request in an error message: its method and its
// path, clipped.
func requestName(r *http.Request) string {
	return clip(r.Method) + " " + clip(r.URL.Path)
}

func (a *api) caPEM(w http.ResponseWriter, r *http.Request) {
	if _, ok := query(w, r, false); !ok {
		return
	}
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

// webServer is the running HTTP server.
type webServer struct {
	addr   string
	hs     *http.Server
	cancel context.CancelFunc // ends long polls
	done   chan struct{}
	log    *slog.Logger

	mu    sync.Mutex            // guards fresh
	fresh map[net.Conn]struct{} // connections that have not sent a request yet
}

// track keeps fresh current: http.Server.Shutdown waits up to 5 s for a
// connection that never sent a request (as HTTP clients open to be ready).
func (ws *webServer) track(c net.Conn, state http.ConnState) {
	if state == http.StateClosed || state == http.StateHijacked {
		ws.log.Debug("http connection closed", "remote", c.RemoteAddr().String())
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if state == http.StateNew {
		ws.fresh[c] = struct{}{}
	} else {
		delete(ws.fresh, c)
	}
}

// httpTimeouts bound what one HTTP connection may hold: reading a
// request, writing a response, waiting idle for the next request.
// The waits (isWait) extend the read and write deadlines of
// their connection to their own timeout.
type httpTimeouts struct {
	readHeader, read, write, idle time.Duration
}

// defaultHTTPTimeouts are generous for loopback clients and the largest
// messages, and short enough that stalled clients do not pile up.
var defaultHTTPTimeouts = httpTimeouts{readHeader: 10 * time.Second, read: 30 * time.Second, write: time.Minute, idle: time.Minute}

func startHTTP(addr string, h http.Handler, log *slog.Logger, to httpTimeouts) (*webServer, error) {
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
			ReadHeaderTimeout: to.readHeader,
			ReadTimeout:       to.read,
			WriteTimeout:      to.write,
			IdleTimeout:       to.idle,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		cancel: cancel,
		done:   make(chan struct{}),
		log:    log,
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

// openAPI serves the OpenAPI document of the API.
func (a *api) openAPI(w http.ResponseWriter, r *http.Request) {
	if _, ok := query(w, r, false); !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(openAPI)))
	_, _ = w.Write(openAPI)
}
