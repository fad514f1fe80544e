package main

// Inboxes over HTTP: per-test isolation on one shared program, as the Go
// API's Server.NewInbox gives it. POST /api/inboxes makes an inbox, a
// domain of its own ("signup-1.inbox.test"); a message belongs to it when
// one of its envelope recipients is in that domain. The inbox query
// parameter, set to the domain, scopes what a request sees to the inbox:
//
//	GET    /api/messages?inbox=D&...       its messages, filtered
//	DELETE /api/messages?inbox=D           forget its messages, expectations and findings (Inbox.Reset)
//	GET    /api/wait?inbox=D&...           wait for its messages (Inbox.WaitForContext)
//	POST   /api/expectations?inbox=D       an expectation on its messages (Inbox.AddExpectation), or a
//	                                       forbid (Inbox.ForbidOtherMessages, Inbox.ForbidMessages)
//	GET    /api/expectations?inbox=D       its expectations, in order
//	GET    /api/expectations/check?inbox=D check them (Inbox.Verify)
//	GET    /api/sessions?inbox=D           its sessions: those that named it in a RCPT TO (Inbox.Sessions)
//	GET    /api/wait/sessions?inbox=D      wait until they end (Inbox.WaitForSessionsContext)
//	GET    /api/findings?inbox=D           the findings of its sessions (Inbox.Findings)
//	GET    /api/findings/check?inbox=D     check them, as WithStrict on its own
//
// An inbox lasts as long as the program: DELETE /api/messages forgets its
// messages, not the inbox.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/mocksmtp/mocksmtp"
)

// maxInboxes bounds the inboxes of one program: each lasts as long as
// the program, and every report names them.
const maxInboxes = 100_000

// maxInboxName bounds an inbox's name, in bytes.
const maxInboxName = 200

// inboxes are the inboxes the API made, by domain (lower case).
type inboxes struct {
	mu     sync.Mutex // guards byName, list and max
	byName map[string]*inbox
	list   []*inbox // in order of making; only appended to
	max    int      // maxInboxes; tests lower it
}

// inbox is an inbox the API made.
type inbox struct {
	name string
	in   *mocksmtp.Inbox
}

// inboxJSON is an inbox as the API shows it, with the URLs scoped to it.
type inboxJSON struct {
	Name            string `json:"name"`
	Domain          string `json:"domain"`
	Address         string `json:"address"`
	MessagesURL     string `json:"messagesUrl"`
	WaitURL         string `json:"waitUrl"`
	ExpectationsURL string `json:"expectationsUrl"`
	CheckURL        string `json:"checkUrl"`
}

func newInboxJSON(x *inbox) inboxJSON {
	q := "?inbox=" + url.QueryEscape(x.in.Domain())
	return inboxJSON{
		Name:            x.name,
		Domain:          x.in.Domain(),
		Address:         x.in.Address("user"),
		MessagesURL:     "/api/messages" + q,
		WaitURL:         "/api/wait" + q,
		ExpectationsURL: "/api/expectations" + q,
		CheckURL:        "/api/expectations/check" + q,
	}
}

// inboxRequest is the body of POST /api/inboxes.
type inboxRequest struct {
	Name string `json:"name"`
}

// maxInboxBody bounds the body of POST /api/inboxes.
const maxInboxBody = 4096

// postInbox makes an inbox: 201 with its domain, an address in it and
// its URLs.
func (a *api) postInbox(w http.ResponseWriter, r *http.Request) {
	if _, ok := query(w, r, false); !ok {
		return
	}
	var req inboxRequest
	data, ok := readBody(w, r, maxInboxBody)
	if !ok {
		return
	}
	if len(data) > 0 {
		if err := decodeStrict(data, &req); err != nil {
			writeError(w, http.StatusBadRequest, "POST /api/inboxes: %v; want {\"name\": \"test_signup\"} (or no body)", err)
			return
		}
	}
	if !onOneLine(req.Name, maxInboxName) { // the rule of "declaredAt" (expectations.go)
		writeError(w, http.StatusBadRequest, "POST /api/inboxes: name: want at most %d bytes on one line, such as the test's name", maxInboxName)
		return
	}
	a.inboxes.mu.Lock()
	if len(a.inboxes.list) >= a.inboxes.max {
		a.inboxes.mu.Unlock()
		writeError(w, http.StatusInsufficientStorage, "POST /api/inboxes: mocksmtp has %d inboxes, as many as it keeps; restart it", a.inboxes.max)
		return
	}
	x := &inbox{name: req.Name, in: a.srv.NewInbox(req.Name)}
	if a.inboxes.byName == nil {
		a.inboxes.byName = make(map[string]*inbox)
	}
	a.inboxes.byName[strings.ToLower(x.in.Domain())] = x
	a.inboxes.list = append(a.inboxes.list, x)
	a.inboxes.mu.Unlock()
	a.log.Info("inbox", "name", x.name, "domain", x.in.Domain())
	w.Header().Set("Location", "/api/messages?inbox="+url.QueryEscape(x.in.Domain()))
	writeJSON(w, http.StatusCreated, newInboxJSON(x))
}

// listInboxes answers GET /api/inboxes: the inboxes made, in order;
// ?limit=N: the last N, as GET /api/sessions; X-Total-Count: how many
// there are.
func (a *api) listInboxes(w http.ResponseWriter, r *http.Request) {
	q, ok := query(w, r, false, "limit")
	if !ok {
		return
	}
	n, ok := limit(w, q)
	if !ok {
		return
	}
	a.inboxes.mu.Lock()
	list := a.inboxes.list // only appended to: its items stay as they are, read without the lock
	a.inboxes.mu.Unlock()
	total := len(list)
	if n >= 0 {
		list = list[total-min(n, total):]
	}
	out := make([]inboxJSON, len(list))
	for i, x := range list {
		out[i] = newInboxJSON(x)
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	writeJSON(w, http.StatusOK, out)
}

// decodeStrict decodes one JSON request body into v, a struct: unknown
// keys, a key given twice (in any case, as encoding/json matches a
// struct's fields), data after it and a null that is not a key's value
// (nullAt: the body, an element of a list) are errors. A syntax error, and data
// after the value, say where as a fault script's do: "body:1:14: ...".
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return syntaxError(data, "body", err)
		}
		return errors.New(clipQuoted(hintKey(err, data, reflect.TypeOf(v)))) // an unknown key, quoted
	}
	if rest := skipSpace(data, dec.InputOffset()); rest < int64(len(data)) {
		return fmt.Errorf("body:%s: unexpected data after the JSON value", position(data, rest))
	}
	if key, ok := repeatedKey(data, true); ok {
		return fmt.Errorf("duplicate key %q: give it once", clip(key))
	}
	if n, ok := nullAt(data, reflect.TypeOf(v)); ok {
		return n
	}
	return nil
}

// hintKey adds to encoding/json's error about an unknown key, met in
// data decoded into t, the key near it among those valid where it is:
// `json: unknown field "too" (did you mean "to"?)`; its error about a
// value of the wrong type it says again as wrongType does. encoding/json does
// not say in which object the key is, so data is read again along t to
// find it (keysBeside); a key of a nested object is no hint at the top.
func hintKey(err error, data []byte, t reflect.Type) error {
	if te, ok := err.(*json.UnmarshalTypeError); ok {
		return wrongType(te)
	}
	key, ok := strings.CutPrefix(err.Error(), `json: unknown field "`)
	if !ok {
		return err
	}
	key = strings.TrimSuffix(key, `"`)
	if keys, ok := keysBeside(data, t, key); ok {
		if hint := didYouMean(key, keys); hint != "" {
			return fmt.Errorf("%w%s", err, hint)
		}
	}
	return err
}

// typeError is encoding/json's error about a value of the wrong type,
// said in the words of the JSON a client sends.
type typeError struct {
	msg string
	err *json.UnmarshalTypeError
}

func (e *typeError) Error() string { return e.msg }
func (e *typeError) Unwrap() error { return e.err }

// wrongType says encoding/json's error about a value of the wrong type
// ("json: cannot unmarshal string into Go struct field faultJSON.forRcpt
// of type []string", which names the program's Go types, not what to
// send) as the key, what it wants and what it got: `forRcpt: want a list
// of strings, such as ["…"], got a string`.
func wrongType(te *json.UnmarshalTypeError) error {
	msg := "want " + jsonShape(te.Type) + ", got " + jsonGot(te.Value)
	if lo, hi, ok := wholeRange(te.Type); ok && isWhole(te.Value) {
		// A whole number out of range, which encoding/json words as any
		// other number it cannot take.
		msg = fmt.Sprintf("want a whole number from %d to %d, got %s", lo, hi, jsonGot(te.Value))
	}
	if te.Field != "" {
		msg = clip(te.Field) + ": " + msg
	}
	return &typeError{msg: msg, err: te}
}

// jsonShape describes the JSON that decodes into t.
func jsonShape(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "another value"
	}
	if t.Implements(shapedType) {
		return reflect.Zero(t).Interface().(shaped).jsonShape()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		switch jsonShape(t.Elem()) {
		case "a string":
			return `a list of strings, such as ["…"]`
		case "a whole number":
			return "a list of whole numbers, such as [1, 2]"
		}
		return "a list"
	case reflect.Struct:
		keys := jsonKeys(t)
		if len(keys) == 0 || len(keys) > 3 {
			return "an object"
		}
		return `an object such as {"` + strings.Join(keys, `": …, "`) + `": …}`
	}
	return "an object"
}

// shaped is a type that says itself what JSON decodes into it, where
// jsonShape would not say it all: an element of a filter's attachment
// list, a file name or an object.
type shaped interface{ jsonShape() string }

var shapedType = reflect.TypeFor[shaped]()

// wholeRange returns the least and the greatest whole number that t, an
// integer type (or a pointer to one), holds.
func wholeRange(t reflect.Type) (lo int64, hi uint64, ok bool) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return 0, 0, false
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := t.Bits()
		return -1 << (bits - 1), 1<<(bits-1) - 1, true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return 0, math.MaxUint64 >> (64 - t.Bits()), true
	}
	return 0, 0, false
}

// isWhole reports whether encoding/json's value is a number written as a
// whole one: "number 99999999999999999999", not "number 1.5" nor "number
// 1e3".
func isWhole(value string) bool {
	n, ok := strings.CutPrefix(value, "number ")
	n = strings.TrimPrefix(n, "-")
	return ok && n != "" && strings.Trim(n, "0123456789") == ""
}

// jsonGot names what encoding/json says a value of the wrong type was:
// its kind ("string", "bool"), or a number itself ("number 1.5").
func jsonGot(value string) string {
	if n, ok := strings.CutPrefix(value, "number "); ok {
		return clip(n)
	}
	switch value {
	case "string", "number":
		return "a " + value
	case "bool":
		return "true or false"
	case "array":
		return "a list"
	case "object":
		return "an object"
	case "null":
		return "null"
	}
	return clip(value)
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// keysBeside returns the keys valid in the first object of data (JSON
// decoded into t) that has key as an unknown key, as encoding/json
// matches keys to fields (exactly, or else in any case), and whether
// there is one. Values that decode themselves (json.Unmarshaler) are
// not looked into.
func keysBeside(data []byte, t reflect.Type, key string) ([]string, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, false
	}
	array := tok == json.Delim('[') && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array)
	object := tok == json.Delim('{') && (t.Kind() == reflect.Struct || t.Kind() == reflect.Map)
	if !array && !object {
		return nil, false
	}
	for dec.More() {
		var name string
		if object {
			tok, err := dec.Token()
			if err != nil {
				return nil, false
			}
			name, _ = tok.(string)
		}
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return nil, false
		}
		elem := t
		switch {
		case array || t.Kind() == reflect.Map:
			elem = t.Elem()
		default:
			f, ok := jsonField(t, name)
			if !ok {
				if name == key {
					return jsonKeys(t), true
				}
				continue
			}
			elem = f.Type
		}
		if keys, ok := keysBeside(v, elem, key); ok {
			return keys, true
		}
	}
	return nil, false
}

// jsonField is the field of the struct t that encoding/json decodes the
// key name into: the one of that name, or else of that name in any case.
func jsonField(t reflect.Type, name string) (reflect.StructField, bool) {
	var folded reflect.StructField
	found := false
	for i := range t.NumField() {
		f := t.Field(i)
		key, ok := jsonKey(f)
		if !ok {
			continue
		}
		if key == name {
			return f, true
		}
		if !found && strings.EqualFold(key, name) {
			folded, found = f, true
		}
	}
	return folded, found
}

// jsonKey is the JSON key of the field f, if it has one.
func jsonKey(f reflect.StructField) (string, bool) {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if !f.IsExported() || name == "-" {
		return "", false
	}
	if name == "" {
		name = f.Name
	}
	return name, true
}

// jsonKeys returns the JSON keys of the struct t, in order: its own,
// not those of the objects within it.
func jsonKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		if name, ok := jsonKey(t.Field(i)); ok {
			keys = append(keys, name)
		}
	}
	return keys
}

// repeatedKey returns a key that the JSON object obj has twice, if any,
// in any case when fold is set (ASCII letters: the keys of our structs):
// encoding/json keeps the last value silently, and a request that says
// two things of one field is a mistake to point out. Only obj's own keys
// count: a caller that reads an object within it checks that one. obj
// is valid JSON, decoded already; anything else has no repeated key.
func repeatedKey(obj []byte, fold bool) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", false
	}
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		key, _ := tok.(string)
		k := key
		if fold {
			k = foldKey(key)
		}
		if seen[k] {
			return key, true
		}
		seen[k] = true
		var value json.RawMessage // skipped
		if err := dec.Decode(&value); err != nil {
			return "", false
		}
	}
	return "", false
}

// foldKey returns key with each character the least of those that fold to
// it (unicode.SimpleFold), so that the keys encoding/json takes for the
// same field fold alike: "TIMES", "times" and "timeſ" (a long s).
func foldKey(key string) string {
	var b strings.Builder
	for _, r := range key {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}

// scope is what a request looks at: the whole server, or the inbox its
// inbox parameter names.
type scope struct {
	srv *mocksmtp.Server
	in  *mocksmtp.Inbox // nil: the whole server
}

// inboxScope is scopeOf for a request whose only parameter is inbox.
func (a *api) inboxScope(w http.ResponseWriter, r *http.Request) (scope, bool) {
	q, ok := query(w, r, false, "inbox")
	if !ok {
		return scope{}, false
	}
	return a.scopeOf(w, q)
}

// scopeOf reads the inbox parameter of a query that query checked: the
// scope, or 400 for a repeated one and 404 for an unknown inbox.
func (a *api) scopeOf(w http.ResponseWriter, q url.Values) (scope, bool) {
	vs, ok := q["inbox"]
	if !ok {
		return scope{srv: a.srv}, true
	}
	if len(vs) != 1 || vs[0] == "" {
		writeError(w, http.StatusBadRequest, "inbox: give it once, the domain of an inbox (POST /api/inboxes makes one)")
		return scope{}, false
	}
	a.inboxes.mu.Lock()
	x := a.inboxes.byName[strings.ToLower(vs[0])]
	a.inboxes.mu.Unlock()
	if x == nil {
		writeError(w, http.StatusNotFound, "inbox=%q: no such inbox; POST /api/inboxes makes one, and gives its domain", clip(vs[0]))
		return scope{}, false
	}
	return scope{srv: a.srv, in: x.in}, true
}

// messages returns the last n of the scope's messages (every one for n <
// 0), in arrival order, and how many it has.
func (sc scope) messages(n int) ([]*mocksmtp.Message, int) {
	if sc.in == nil {
		if n < 0 {
			ms := sc.srv.Messages()
			return ms, len(ms)
		}
		return sc.srv.TailMessages(n) // the list and its total at one instant
	}
	ms := sc.in.Messages()
	total := len(ms)
	if n >= 0 {
		ms = ms[len(ms)-min(n, len(ms)):]
	}
	return ms, total
}

// waitFor waits for n messages like want and takes them all at once, as
// WaitForNContext: a wait that times out takes none.
func (sc scope) waitFor(ctx context.Context, want mocksmtp.Want, n int) ([]*mocksmtp.Message, error) {
	if sc.in == nil {
		return sc.srv.WaitForNContext(ctx, want, n)
	}
	return sc.in.WaitForNContext(ctx, want, n)
}

// waitForMessages waits for n messages, as WaitForMessagesContext.
func (sc scope) waitForMessages(ctx context.Context, n int) ([]*mocksmtp.Message, error) {
	if sc.in == nil {
		return sc.srv.WaitForMessagesContext(ctx, n)
	}
	return sc.in.WaitForMessagesContext(ctx, n)
}

// findings returns the scope's conformance findings: the server's, or
// those of the sessions that named the inbox in a RCPT TO since its
// last reset (Inbox.Findings).
func (sc scope) findings() []mocksmtp.Finding {
	if sc.in == nil {
		return sc.srv.Findings()
	}
	return sc.in.Findings()
}

// where names the scope in messages: "", or " in the inbox D".
func (sc scope) where() string {
	if sc.in == nil {
		return ""
	}
	return " in the inbox " + sc.in.Domain()
}
