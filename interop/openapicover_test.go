package interop

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/smtp"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// docCheck sends requests to mocksmtp programs, validates each request
// and answer against the program's OpenAPI document (kin-openapi), and
// notes what the answers covered: each operation's status codes and
// each schema's properties. covers then fails the test for each one
// the document names that no answer had: a route said to answer a code
// it never does, a field it never writes, is a lie to a suite that
// generates its client from the document.
type docCheck struct {
	doc    *openapi3.T
	router routers.Router

	mu      sync.Mutex
	covered map[string]bool // "GET /api/messages", "GET /api/messages 200": some request had it
	seen    map[string]bool // "Message.from": some answer had the property (schemaProps names them)
	taken   []sentBody      // the JSON bodies the program took (2xx)
}

// sentBody is a request with a JSON body.
type sentBody struct {
	method, path, body string
	op                 *openapi3.Operation
}

// docHost is the document's server, where the test finds routes;
// requests go to the program's address.
const docHost = "openapi.test"

func newDocCheck(t *testing.T, raw []byte) *docCheck {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		t.Fatalf("loading the document: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("the document is not valid OpenAPI: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: "http://" + docHost}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &docCheck{doc: doc, router: router, covered: map[string]bool{}, seen: map[string]bool{}}
}

// check sends method path to p with body (as JSON, unless header says
// otherwise; header's fields are added), validates the request when it
// is meant to succeed (want below 400) and the answer always, and
// returns the answer's body. want is the status the program must
// answer, 0 for any the document lists. It may run on any goroutine.
func (v *docCheck) check(t *testing.T, p *program, method, path, body string, header http.Header, want int) []byte {
	t.Helper()
	_, b := v.send(t, p, method, path, body, header, want)
	return b
}

// send is check, and returns the answer's status too (0 when there is
// none).
func (v *docCheck) send(t *testing.T, p *program, method, path, body string, header http.Header, want int) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+docHost+path, strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	maps.Copy(req.Header, header)
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		t.Errorf("%s %s: not in the document: %v", method, path, err)
		return 0, nil
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if want != 0 && want < 400 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			t.Errorf("%s %s: the request does not match the document: %v", method, path, err)
		}
	}
	req.Body = io.NopCloser(strings.NewReader(body))
	if body == "" {
		req.Body = http.NoBody // Content-Length: 0, not a chunked body
	}
	req.URL.Host, req.Host = p.http, p.http
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return 0, nil
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Errorf("%s %s: reading the answer: %v", method, path, err)
		return 0, nil
	}
	if want != 0 && res.StatusCode != want {
		t.Errorf("%s %s: %d %.300s, want %d", method, path, res.StatusCode, b, want)
	}
	op := method + " " + route.Path
	v.mu.Lock()
	v.covered[op] = true
	v.covered[op+" "+strconv.Itoa(res.StatusCode)] = true
	if body != "" && res.StatusCode < 300 && json.Valid([]byte(body)) {
		v.taken = append(v.taken, sentBody{method, path, body, route.Operation})
	}
	if res.StatusCode < 400 || res.StatusCode == http.StatusRequestTimeout || res.StatusCode == http.StatusExpectationFailed {
		// The query parameters it took (header[X-None]: header).
		for name := range req.URL.Query() {
			name, _, _ = strings.Cut(name, "[")
			v.covered[op+" ?"+name] = true
		}
	}
	v.mu.Unlock()
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	out.SetBodyBytes(b)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Errorf("%s %s: the %d response does not match the document: %v", method, path, res.StatusCode, err)
		return res.StatusCode, b
	}
	v.note(route.Operation, op, res.StatusCode, res.Header.Get("Content-Type"), b)
	// The headers the document names for the answer are in it.
	if r := route.Operation.Responses.Status(res.StatusCode); r != nil && r.Value != nil {
		for name := range r.Value.Headers {
			if _, ok := res.Header[http.CanonicalHeaderKey(name)]; !ok {
				t.Errorf("%s %s: the %d answer has no %s, which the document names", method, path, res.StatusCode, name)
			}
		}
	}
	return res.StatusCode, b
}

// note marks the properties of a JSON answer that validated.
func (v *docCheck) note(op *openapi3.Operation, name string, status int, contentType string, b []byte) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return
	}
	r := op.Responses.Status(status)
	if r == nil || r.Value == nil || r.Value.Content.Get(mt) == nil {
		return
	}
	var val any
	if json.Unmarshal(b, &val) != nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.see(name+" "+strconv.Itoa(status), r.Value.Content.Get(mt).Schema, val)
}

// see marks the properties val has of schema ref, named as schemaProps
// names them: for a component, its name; for one inside it, the path
// from it (Server.tls.oneOf.0); for an array's items, .items.
func (v *docCheck) see(name string, ref *openapi3.SchemaRef, val any) {
	if ref == nil || ref.Value == nil {
		return
	}
	if ref.Ref != "" {
		name = path.Base(ref.Ref)
	}
	s := ref.Value
	for kind, choices := range map[string]openapi3.SchemaRefs{"oneOf": s.OneOf, "anyOf": s.AnyOf, "allOf": s.AllOf} {
		for i, c := range choices {
			if c.Value != nil && c.Value.VisitJSON(val) == nil {
				v.see(name+"."+kind+"."+strconv.Itoa(i), c, val)
			}
		}
	}
	switch val := val.(type) {
	case map[string]any:
		for k, pv := range val {
			if p, ok := s.Properties[k]; ok {
				v.seen[name+"."+k] = true
				v.see(name+"."+k, p, pv)
			} else if s.AdditionalProperties.Schema != nil {
				v.see(name+".*", s.AdditionalProperties.Schema, pv)
			}
		}
	case []any:
		for _, e := range val {
			v.see(name+".items", s.Items, e)
		}
	}
}

// schemaProps adds to props the properties of schema ref and of the
// schemas in it, named as see names them.
func schemaProps(name string, ref *openapi3.SchemaRef, props map[string]bool, done map[*openapi3.Schema]bool) {
	if ref == nil || ref.Value == nil || done[ref.Value] {
		return
	}
	done[ref.Value] = true
	if ref.Ref != "" {
		name = path.Base(ref.Ref)
	}
	s := ref.Value
	for kind, choices := range map[string]openapi3.SchemaRefs{"oneOf": s.OneOf, "anyOf": s.AnyOf, "allOf": s.AllOf} {
		for i, c := range choices {
			schemaProps(name+"."+kind+"."+strconv.Itoa(i), c, props, done)
		}
	}
	for k, p := range s.Properties {
		props[name+"."+k] = true
		schemaProps(name+"."+k, p, props, done)
	}
	if s.AdditionalProperties.Schema != nil {
		schemaProps(name+".*", s.AdditionalProperties.Schema, props, done)
	}
	schemaProps(name+".items", s.Items, props, done)
}

// operations returns the document's operations, "GET /api/messages", in
// order.
func (v *docCheck) operations() []string {
	var ops []string
	for path, item := range v.doc.Paths.Map() {
		for method := range item.Operations() {
			ops = append(ops, method+" "+path)
		}
	}
	slices.Sort(ops)
	return ops
}

func (v *docCheck) operation(op string) *openapi3.Operation {
	method, path, _ := strings.Cut(op, " ")
	return v.doc.Paths.Value(path).GetOperation(method)
}

// isWait reports whether an operation is a wait: a GET that takes a
// timeout. A wait reads a body (to refuse it), which other GETs ignore.
func isWait(op *openapi3.Operation, method string) bool {
	return method == http.MethodGet && op.Parameters.GetByInAndName("query", "timeout") != nil
}

// probe sends each operation of the document the requests every route
// refuses alike, before it acts: one a page of another origin made
// (403), one with an unknown query parameter (400), one without a
// parameter the document says is required or with a path parameter that
// is no number (400), and to those that
// read a body (every method but GET, and the waits) one not sent as
// JSON (415; a wait's, 400) and one larger than any route takes (413).
// What each answers must be as the document says.
func (v *docCheck) probe(t *testing.T, p *program) {
	t.Helper()
	paths := strings.NewReplacer("{id}", "1", "{n}", "0")
	for _, op := range v.operations() {
		method, route, _ := strings.Cut(op, " ")
		path := paths.Replace(route)
		v.check(t, p, method, path, "", http.Header{"Sec-Fetch-Site": {"cross-site"}}, 403)
		v.check(t, p, method, path+"?zzz=1", "", nil, 400)
		o := v.operation(op)
		if strings.Contains(route, "{") { // a path parameter that is no number
			v.check(t, p, method, strings.NewReplacer("{id}", "x", "{n}", "x").Replace(route), "", nil, 400)
		}
		for _, param := range o.Parameters {
			if param.Value != nil && param.Value.In == "query" && param.Value.Required {
				v.check(t, p, method, path, "", nil, 400) // without it
			}
		}
		wait := isWait(o, method)
		if method == http.MethodGet && !wait {
			continue
		}
		notJSON := http.StatusUnsupportedMediaType
		if wait {
			notJSON = http.StatusBadRequest // a wait takes no body
		}
		v.check(t, p, method, path, " ", http.Header{"Content-Type": {"text/plain"}}, notJSON)
		v.check(t, p, method, path, strings.Repeat(" ", 1<<20+1), nil, http.StatusRequestEntityTooLarge)
	}
}

// shutdown answers from a second program what the first does not
// have: a program given -cert has no test CA (GET /api/ca.pem: 404);
// sessions over mutual TLS, one of whose handshakes fails (their tls,
// its peer's certificates, the other's error); a frozen clock (its
// start). Then it stops the program while each wait is in progress (all
// of them at once, each seen in its handler in the program's debug log
// before SIGTERM): each gets 503.
func (v *docCheck) shutdown(t *testing.T) {
	t.Helper()
	f := newMTLSFiles(t)
	q := startProgram(t, "-log-level", "debug", "-clock", "frozen", "-tls", "-cert", f.serverCert, "-key", f.serverKey, "-client-ca", f.ca)
	v.check(t, q, "GET", "/api/ca.pem", "", nil, 404)
	v.check(t, q, "GET", "/api/clock", "", nil, 200)
	pem, err := os.ReadFile(f.ca)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	cert, err := tls.LoadX509KeyPair(f.clientCert, f.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, certs := range [][]tls.Certificate{{cert}, nil} { // without one, the handshake fails
		c, err := smtp.Dial(q.smtp)
		if err != nil {
			t.Fatal(err)
		}
		err = c.StartTLS(&tls.Config{ServerName: "localhost", RootCAs: roots, Certificates: certs})
		if err == nil {
			err = c.Quit()
		}
		if (err == nil) != (certs != nil) {
			t.Errorf("STARTTLS with %d client certificates, then QUIT: %v", len(certs), err)
		}
		c.Close()
	}
	v.check(t, q, "GET", "/api/wait/sessions?count=2&timeout=10s", "", nil, 200)
	v.check(t, q, "GET", "/api/sessions/1", "", nil, 200)

	paths := strings.NewReplacer("{id}", "9", "{n}", "0")
	var waits []string
	for _, op := range v.operations() {
		method, route, _ := strings.Cut(op, " ")
		if o := v.operation(op); isWait(o, method) {
			path := paths.Replace(route) + "?timeout=1m"
			if o.Parameters.GetByInAndName("query", "count") != nil {
				path += "&count=9"
			}
			waits = append(waits, path)
		}
	}
	// The log from here on: GET /api/wait/sessions is in it already.
	before := len(q.stderr.String())
	var wg sync.WaitGroup
	for _, path := range waits {
		// Session 9 never starts, no message comes, nothing waits on the
		// clock.
		wg.Go(func() { v.check(t, q, "GET", path, "", nil, http.StatusServiceUnavailable) })
	}
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		log, changed := q.stderr.match(anything)
		if !slices.ContainsFunc(waits, func(path string) bool {
			path, _, _ = strings.Cut(path, "?")
			return !strings.Contains(log[0][before:], " path="+path+" ")
		}) {
			break
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("the waits %q are not all in the program's log within 30 s:\n%s", waits, log[0][before:])
		}
	}
	if err := q.proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
}

// required sends again each JSON body the program took, without a
// property the document says a request must have (each such property
// once, where the bodies have it): the program must refuse it (400), or
// the document asks more of a client than the program does.
func (v *docCheck) required(t *testing.T, p *program) {
	t.Helper()
	tried := map[string]bool{}
	for _, b := range v.taken {
		var val any
		if json.Unmarshal([]byte(b.body), &val) != nil || b.op.RequestBody == nil || b.op.RequestBody.Value == nil {
			continue
		}
		mt := b.op.RequestBody.Value.Content.Get("application/json")
		if mt == nil {
			continue
		}
		names, bodies := without("", mt.Schema, val)
		for i, name := range names {
			if tried[name] {
				continue
			}
			tried[name] = true
			body, err := json.Marshal(bodies[i])
			if err != nil {
				t.Fatal(err)
			}
			if code, got := v.send(t, p, b.method, b.path, string(body), nil, 0); code != http.StatusBadRequest {
				t.Errorf("%s %s without %s, which the document says a request must have: %d %.200s, want 400", b.method, b.path, name, code, got)
			}
		}
	}
	// Every property a request must have was tried.
	all := map[string]bool{}
	done := map[*openapi3.Schema]bool{}
	for _, op := range v.operations() {
		if rb := v.operation(op).RequestBody; rb != nil && rb.Value != nil {
			if mt := rb.Value.Content.Get("application/json"); mt != nil {
				requiredProps(op, mt.Schema, all, done)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(all)) {
		if !tried[name] {
			t.Errorf("%s: required in a request, and no body this test sent had it to leave out", name)
		}
	}
}

// requiredProps adds to props the required properties of schema ref and
// of the schemas in it, named as see names them.
func requiredProps(name string, ref *openapi3.SchemaRef, props map[string]bool, done map[*openapi3.Schema]bool) {
	if ref == nil || ref.Value == nil || done[ref.Value] {
		return
	}
	done[ref.Value] = true
	if ref.Ref != "" {
		name = path.Base(ref.Ref)
	}
	s := ref.Value
	for kind, choices := range map[string]openapi3.SchemaRefs{"oneOf": s.OneOf, "anyOf": s.AnyOf, "allOf": s.AllOf} {
		for i, c := range choices {
			requiredProps(name+"."+kind+"."+strconv.Itoa(i), c, props, done)
		}
	}
	for _, r := range s.Required {
		props[name+"."+r] = true
	}
	for k, p := range s.Properties {
		requiredProps(name+"."+k, p, props, done)
	}
	requiredProps(name+".items", s.Items, props, done)
}

// without returns, for each required property that val has of schema
// ref (or a value in it has of its schema), its name (as see names it)
// and val without it.
func without(name string, ref *openapi3.SchemaRef, val any) (names []string, vals []any) {
	if ref == nil || ref.Value == nil {
		return nil, nil
	}
	if ref.Ref != "" {
		name = path.Base(ref.Ref)
	}
	s := ref.Value
	for kind, choices := range map[string]openapi3.SchemaRefs{"oneOf": s.OneOf, "anyOf": s.AnyOf, "allOf": s.AllOf} {
		for i, c := range choices {
			if c.Value != nil && c.Value.VisitJSON(val) == nil {
				n, vs := without(name+"."+kind+"."+strconv.Itoa(i), c, val)
				names, vals = append(names, n...), append(vals, vs...)
			}
		}
	}
	switch x := val.(type) {
	case map[string]any:
		for _, req := range s.Required {
			if _, ok := x[req]; ok {
				c := maps.Clone(x)
				delete(c, req)
				names, vals = append(names, name+"."+req), append(vals, c)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			n, vs := without(name+"."+k, s.Properties[k], x[k])
			for i := range vs {
				c := maps.Clone(x)
				c[k] = vs[i]
				names, vals = append(names, n[i]), append(vals, c)
			}
		}
	case []any:
		for i, e := range x {
			n, vs := without(name+".items", s.Items, e)
			for j := range vs {
				c := slices.Clone(x)
				c[i] = vs[j]
				names, vals = append(names, n[j]), append(vals, c)
			}
		}
	}
	return names, vals
}

// docExempt are the answers the document names that no request of the
// test brings about, and why.
var docExempt = map[string]string{
	"GET /api/ca.pem 500":        "the test CA is made as the program starts, and its making does not fail",
	"POST /api/inboxes 507":      "only past 100,000 inboxes (maxInboxes): cmd/mocksmtp's TestInboxLimit lowers the bound",
	"POST /api/expectations 507": "only past 10,000 expectations (maxExpectations): cmd/mocksmtp's TestExpectationLimit lowers the bound",
}

// propExempt are the properties of answers the test never sees, and why.
var propExempt = map[string]string{}

// covers fails the test for each operation, status code and property of
// an answer that the document names and no request had, but those
// exempt.
func (v *docCheck) covers(t *testing.T) {
	t.Helper()
	v.mu.Lock()
	defer v.mu.Unlock()
	props := map[string]bool{}
	done := map[*openapi3.Schema]bool{}
	for _, op := range v.operations() {
		if !v.covered[op] {
			t.Errorf("%s: never called by this test", op)
		}
		for _, param := range v.operation(op).Parameters {
			if param.Value != nil && param.Value.In == "query" && !v.covered[op+" ?"+param.Value.Name] {
				t.Errorf("%s: no request of this test that it answered (2xx, 3xx, 408, 417) had its parameter %s", op, param.Value.Name)
			}
		}
		for code, r := range v.operation(op).Responses.Map() {
			key := op + " " + code
			if _, exempt := docExempt[key]; !v.covered[key] && !exempt {
				t.Errorf("%s: the document says it answers %s, and no request of this test had that answer", op, code)
			}
			if r.Value == nil {
				continue
			}
			for name, h := range r.Value.Headers {
				if h.Value != nil && !h.Value.Required {
					t.Errorf("%s %s: header %s is not required, and every answer has it (check)", op, code, name)
				}
			}
			if mt := r.Value.Content.Get("application/json"); mt != nil {
				schemaProps(key, mt.Schema, props, done)
			}
		}
	}
	for key, why := range docExempt {
		if v.covered[key] {
			t.Errorf("%s: exempt (%s), and a request had it: no longer exempt", key, why)
		}
	}
	var unseen []string
	for p := range props {
		if _, exempt := propExempt[p]; !v.seen[p] && !exempt {
			unseen = append(unseen, p)
		}
	}
	slices.Sort(unseen)
	for _, p := range unseen {
		t.Errorf("%s: a property of an answer in the document, and no answer of this test had it", p)
	}
	for p, why := range propExempt {
		if v.seen[p] {
			t.Errorf("%s: exempt (%s), and an answer had it: no longer exempt", p, why)
		}
	}
}

// anything matches the whole log.
var anything = regexp.MustCompile(`(?s).*`)
