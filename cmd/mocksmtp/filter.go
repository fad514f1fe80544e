package main

// Filters: the fields of mocksmtp.Want, for GET /api/wait, GET
// /api/messages and POST /api/expectations, matched as the Go API
// matches them (Want.Match, Server.WaitForContext, AddExpectation). A
// filter has two forms: query parameters, simple for the common case, and
// a JSON object that says all a Want can say.
//
// The query form names each field with a parameter:
//
//	GET /api/wait?to=bob@example.com&subjectContains=Welcome
//
// is, in Go,
//
//	srv.WaitFor(t, mocksmtp.Want{To: []string{"bob@example.com"}, SubjectContains: "Welcome"})
//
// Parameters that name a list (to, headerTo, cc, attachment, dkim) may
// repeat, attachment and dkim at most 1000 times (maxWantElements, as
// their lists in JSON); the others may not. header.X-Name=value (or
// header[X-Name]=value) is Want.Header["X-Name"]. attachment=F is an
// attachment named F, dkim=D a signature of D that verifies; each repeat
// wants a different one. The other fields of an attachment or a signature
// have parameters that describe one of them, the one attachment (or dkim)
// names when it is given once, any one when it is not:
// attachmentContentType (WantAttachment.ContentType), dkimSelector,
// dkimStatus and dkimReason (WantDKIM's). So
//
//	?attachment=report.pdf&attachmentContentType=application/pdf
//	?dkim=example.com&dkimStatus=fail&dkimReason=body+hash
//
// want one attachment, report.pdf, of type application/pdf, and one
// signature of example.com that fails for its body hash. With attachment
// (dkim) repeated, which one they describe would be a guess: that is a
// 400, which points to the JSON form.
//
// The JSON form is an object with the names of the other parameters: a
// list for those that repeat, "header" an object of header fields. An
// element of "attachment" is a file name or an object {"filename",
// "contentType", "data"} (data: the decoded content, in base64; "" for an
// empty attachment), an element of "dkim" a domain or an object
// {"domain", "selector", "status", "reason"}, its keys the fields of
// WantAttachment and WantDKIM, those left out not compared ({} is any
// attachment, or any signature that verifies):
//
//	{"attachment": [{"contentType": "application/pdf"}, "logo.png"],
//	 "dkim": [{"domain": "example.com", "status": "fail", "reason": "body hash"}]}
//
// POST /api/expectations takes it as "want"; GET /api/wait and GET
// /api/messages take it as the query parameter want, in place of the
// other filter parameters.
//
// An unknown parameter or key, a repeated parameter (or a key given twice
// in an object of the JSON form, which encoding/json would take the last
// of), an empty value (an empty or null want too: {} is the JSON form of
// no filter), an invalid regular expression (or regular expressions of
// more than maxRegexps octets in all), status or base64 is a 400 that
// names it. A key given null is the key left out; a null element of a
// list is a 400 that names it (jsonnull.go).

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"

	"github.com/mocksmtp/mocksmtp"
)

// wantParam is one query parameter of a filter.
type wantParam struct {
	name string
	list bool // may repeat: each value is an element of the field
	// of names the list parameter one of whose elements this parameter
	// describes (attachmentContentType: an attachment); "" for a field
	// of its own. Such a parameter is only in the query form: in JSON,
	// an element is an object.
	of  string
	set func(w *mocksmtp.Want, vs []string)
}

// wantParams are the filter's parameters, in the order of Want's fields;
// a parameter that describes an element comes after its list. A new one
// goes in openapi.json too, which the tests hold to this list, and from
// which the web page learns the names its search takes (web/app.js).
var wantParams = []wantParam{
	{"from", false, "", func(w *mocksmtp.Want, vs []string) { w.From = vs[0] }},
	{"to", true, "", func(w *mocksmtp.Want, vs []string) { w.To = vs }},
	{"headerFrom", false, "", func(w *mocksmtp.Want, vs []string) { w.HeaderFrom = vs[0] }},
	{"headerTo", true, "", func(w *mocksmtp.Want, vs []string) { w.HeaderTo = vs }},
	{"cc", true, "", func(w *mocksmtp.Want, vs []string) { w.Cc = vs }},
	{"subject", false, "", func(w *mocksmtp.Want, vs []string) { w.Subject = vs[0] }},
	{"subjectContains", false, "", func(w *mocksmtp.Want, vs []string) { w.SubjectContains = vs[0] }},
	{"subjectMatches", false, "", func(w *mocksmtp.Want, vs []string) { w.SubjectMatches = vs[0] }},
	{"text", false, "", func(w *mocksmtp.Want, vs []string) { w.Text = vs[0] }},
	{"textContains", false, "", func(w *mocksmtp.Want, vs []string) { w.TextContains = vs[0] }},
	{"textMatches", false, "", func(w *mocksmtp.Want, vs []string) { w.TextMatches = vs[0] }},
	{"html", false, "", func(w *mocksmtp.Want, vs []string) { w.HTML = vs[0] }},
	{"htmlContains", false, "", func(w *mocksmtp.Want, vs []string) { w.HTMLContains = vs[0] }},
	{"htmlMatches", false, "", func(w *mocksmtp.Want, vs []string) { w.HTMLMatches = vs[0] }},
	{"attachment", true, "", func(w *mocksmtp.Want, vs []string) {
		for _, v := range vs {
			w.Attachments = append(w.Attachments, mocksmtp.WantAttachment{Filename: v})
		}
	}},
	{"attachmentContentType", false, "attachment", func(w *mocksmtp.Want, vs []string) { first(&w.Attachments).ContentType = vs[0] }},
	{"dkim", true, "", func(w *mocksmtp.Want, vs []string) {
		for _, v := range vs {
			w.DKIM = append(w.DKIM, mocksmtp.WantDKIM{Domain: v})
		}
	}},
	{"dkimSelector", false, "dkim", func(w *mocksmtp.Want, vs []string) { first(&w.DKIM).Selector = vs[0] }},
	{"dkimStatus", false, "dkim", func(w *mocksmtp.Want, vs []string) { first(&w.DKIM).Status = mocksmtp.DKIMStatus(vs[0]) }},
	{"dkimReason", false, "dkim", func(w *mocksmtp.Want, vs []string) { first(&w.DKIM).Reason = vs[0] }},
	{"arc", false, "", func(w *mocksmtp.Want, vs []string) { w.ARC = mocksmtp.ARCStatus(vs[0]) }},
	{"arcReason", false, "", func(w *mocksmtp.Want, vs []string) { w.ARCReason = vs[0] }},
}

// maxWantElements bounds the elements of a filter's attachment and dkim
// lists, in every form (elementLists): each element is matched to a
// different attachment (DKIM result) of a message, an assignment that may
// compare every element with every attachment, on every message a filter
// looks at and, for a wait, on every arrival. A message has at most
// maxParts MIME parts (the limit of the root package's MIME walk,
// maxMIMEParts), so at most as many attachments, and the DKIM results of
// at most 5 signatures: a longer list matches nothing, which the root
// package finds at once, and a list within the bound costs at most
// maxParts × maxParts comparisons a message.
const maxWantElements = maxParts

// elementLists are the list parameters whose elements are matched each to
// a different attachment or DKIM result: maxWantElements bounds them.
var elementLists = []string{"attachment", "dkim"}

// elementNoun names an element of the list parameter list.
func elementNoun(list string) string {
	if list == "dkim" {
		return "DKIM signature"
	}
	return list
}

// first returns the first element of a list, adding one if it is empty.
func first[E any](list *[]E) *E {
	if len(*list) == 0 {
		*list = append(*list, *new(E))
	}
	return &(*list)[0]
}

// wantJSONParam is the query parameter that holds a filter's JSON form.
const wantJSONParam = "want"

// headerField returns the header field name of a parameter of
// Want.Header: header.X-Name, or header[X-Name] (OpenAPI's deepObject
// form).
func headerField(param string) (string, bool) {
	if f, ok := strings.CutPrefix(param, "header."); ok && f != "" {
		return f, true
	}
	if f, ok := strings.CutPrefix(param, "header["); ok && len(f) > 1 && strings.HasSuffix(f, "]") {
		return f[:len(f)-1], true
	}
	return "", false
}

// onceParams are the query parameters that take one value: given twice,
// which one counts would be a guess (a filter's, and inbox, say so on
// their own; mask and replacement are lists). remoteAddr is a session's
// one address: two would match no session.
var onceParams = []string{"since", "limit", "count", "timeout", "remoteAddr"}

// query checks the request's query parameters: each must be one of
// allowed, or a filter parameter when filter is set, and those of
// onceParams given once. On a problem it answers 400, naming the
// parameters.
func query(w http.ResponseWriter, r *http.Request, filter bool, allowed ...string) (url.Values, bool) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, "the query %q: %v", clip(r.URL.RawQuery), err)
		return nil, false
	}
	known := slices.Clone(allowed)
	if filter {
		for _, p := range wantParams {
			known = append(known, p.name)
		}
		known = append(known, wantJSONParam)
	}
	var unknown []string
	for name := range q {
		if _, ok := headerField(name); slices.Contains(known, name) || filter && ok {
			continue
		}
		unknown = append(unknown, fmt.Sprintf("%q", clip(name))+didYouMean(name, known))
	}
	for _, name := range allowed {
		if vs := q[name]; len(vs) > 1 && slices.Contains(onceParams, name) {
			writeError(w, http.StatusBadRequest, "%s given %d times: give it once", name, len(vs))
			return nil, false
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		want := "none"
		if len(known) > 0 {
			want = strings.Join(known, ", ")
			if filter {
				want += ", header.<Name>"
			}
		}
		writeError(w, http.StatusBadRequest, "%s: unknown query parameter %s; the parameters are: %s", clip(r.URL.Path), listed(unknown), want)
		return nil, false
	}
	return q, true
}

// filterOf reads the filter of a query that query checked: the Want, and
// whether it sets any field. On a problem it answers 400.
func filterOf(w http.ResponseWriter, q url.Values) (mocksmtp.Want, bool, bool) {
	want, set, err := wantOf(q)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return want, false, false
	}
	return want, set, true
}

// wantOf reads the Want of the filter parameters of q, or of its
// parameter want (the JSON form), and whether it sets any field; its
// error names the parameter at fault. Other parameters are ignored.
func wantOf(q url.Values) (mocksmtp.Want, bool, error) {
	vs, ok := q[wantJSONParam]
	if !ok {
		want, set, err := wantOfQuery(q)
		if err == nil {
			err = checkWant(want, false)
		}
		return want, set, err
	}
	if len(vs) > 1 {
		return mocksmtp.Want{}, false, fmt.Errorf("%s given %d times: give it once", wantJSONParam, len(vs))
	}
	var others []string
	for name := range q {
		_, header := headerField(name)
		if header || slices.ContainsFunc(wantParams, func(p wantParam) bool { return p.name == name }) {
			others = append(others, clip(name))
		}
	}
	if len(others) > 0 {
		slices.Sort(others)
		return mocksmtp.Want{}, false, fmt.Errorf("%s and %s: give the filter either as %s (JSON) or as parameters", wantJSONParam, listed(others), wantJSONParam)
	}
	// An empty or null want is a filter lost on the way (an unset
	// variable of the suite), not "any message": that is no want at all,
	// or {}.
	switch raw := json.RawMessage(vs[0]); {
	case len(bytes.TrimSpace(raw)) == 0:
		return mocksmtp.Want{}, false, fmt.Errorf("%s is empty: leave it out to match any message", wantJSONParam)
	case isNull(raw):
		return mocksmtp.Want{}, false, fmt.Errorf("%s is null: give an object, such as {\"to\": [\"bob@example.com\"]}, or leave it out to match any message", wantJSONParam)
	}
	want, err := wantFromJSON(json.RawMessage(vs[0]))
	if err != nil {
		return want, false, fmt.Errorf("%s: %w", wantJSONParam, err)
	}
	// A want that sets no field, {}, is no filter, as no parameters.
	return want, !reflect.ValueOf(want).IsZero(), nil
}

// wantOfQuery reads the Want of the filter parameters of q, as wantOf,
// but does not check it (checkWant).
func wantOfQuery(q url.Values) (mocksmtp.Want, bool, error) {
	var want mocksmtp.Want
	set := false
	for _, p := range wantParams {
		vs, ok := q[p.name]
		if !ok {
			continue
		}
		if len(vs) > 1 && !p.list {
			msg := fmt.Sprintf("%s given %d times: give it once", p.name, len(vs))
			if p.of != "" {
				msg += fmt.Sprintf(" (it describes one %s; for several, give the filter as %s, in JSON)", elementNoun(p.of), wantJSONParam)
			}
			return want, false, errors.New(msg)
		}
		if n := len(vs); n > maxWantElements && slices.Contains(elementLists, p.name) {
			return want, false, fmt.Errorf("%s given %d times: give it at most %d times", p.name, n, maxWantElements)
		}
		if slices.Contains(vs, "") {
			return want, false, fmt.Errorf("%s is empty: leave it out to match any message", p.name)
		}
		if n := len(q[p.of]); p.of != "" && n > 1 {
			return want, false, fmt.Errorf("%s describes one %s, and %s is given %d times: which one would be a guess; give the filter as %s, in JSON, with an object for each",
				p.name, elementNoun(p.of), p.of, n, wantJSONParam)
		}
		p.set(&want, vs)
		set = true
	}
	// In the order of their names: of several fields given wrong, the
	// same one is named every time.
	for _, name := range slices.Sorted(maps.Keys(q)) {
		field, ok := headerField(name)
		if !ok {
			continue
		}
		vs := q[name]
		if len(vs) > 1 || vs[0] == "" {
			return want, false, fmt.Errorf("%s: give it once, with the header's value", clip(name))
		}
		if want.Header == nil {
			want.Header = make(map[string]string)
		}
		want.Header[field] = vs[0]
		set = true
	}
	return want, set, nil
}

// checkWant reports what the Go API finds wrong with want (an invalid
// regular expression or status), or regular expressions too long for
// the program (checkRegexps), naming the field as the filter's form
// does: the query parameter (dkimStatus), or the JSON key
// (dkim[0].status).
func checkWant(want mocksmtp.Want, inJSON bool) error {
	if err := checkRegexps(
		namedRegexp{filterName("SubjectMatches", inJSON), want.SubjectMatches},
		namedRegexp{filterName("TextMatches", inJSON), want.TextMatches},
		namedRegexp{filterName("HTMLMatches", inJSON), want.HTMLMatches},
	); err != nil {
		return err
	}
	_, err := want.Match(nil)
	if err == nil {
		return nil
	}
	// "mocksmtp: Want.DKIM[0].Status: ...", quoting the value.
	msg := strings.TrimPrefix(clipQuoted(err), "mocksmtp: ")
	if field, rest, ok := strings.Cut(strings.TrimPrefix(msg, "Want."), ":"); ok {
		if name := filterName(field, inJSON); name != "" {
			msg = name + ":" + rest
		}
	}
	return errors.New(msg)
}

// filterName returns the filter's name of a field of Want, as the Go API
// names it in errors: SubjectMatches, DKIM[0].Status; "" for none.
func filterName(field string, inJSON bool) string {
	top, sub, _ := strings.Cut(field, ".")
	name, index, _ := strings.Cut(top, "[")
	i := slices.IndexFunc(wantParams, func(p wantParam) bool {
		return p.of == "" && (strings.EqualFold(p.name, name) || strings.EqualFold(p.name+"s", name))
	})
	switch {
	case i < 0:
		return ""
	case sub == "":
		return wantParams[i].name
	case inJSON:
		return wantParams[i].name + "[" + index + "." + lowerFirst(sub)
	default:
		return wantParams[i].name + sub
	}
}

// lowerFirst returns s with its first letter in lower case.
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// wantFromJSON reads a Want from the JSON form of a filter. A missing or
// null object is Want{}: the "want" of an expectation may be left out
// (wantOf refuses an empty or null want parameter first).
func wantFromJSON(raw json.RawMessage) (mocksmtp.Want, error) {
	var fields map[string]json.RawMessage
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &fields); err != nil {
			const want = `want an object, such as {"to": ["bob@example.com"], "subjectContains": "Welcome"}`
			if te := (*json.UnmarshalTypeError)(nil); errors.As(err, &te) {
				return mocksmtp.Want{}, fmt.Errorf("%s, got %s", want, jsonGot(te.Value)) // not the Go type it names
			}
			return mocksmtp.Want{}, fmt.Errorf("%s: %v", want, err)
		}
		if key, ok := repeatedKey(raw, false); ok {
			return mocksmtp.Want{}, fmt.Errorf("duplicate key %q: give it once", clip(key))
		}
		if n, ok := nullAt(raw, reflect.TypeFor[wantForm]()); ok {
			return mocksmtp.Want{}, n
		}
		dropNulls(fields) // a key given null is left out
	}
	keys := []string{}
	for _, p := range wantParams {
		if p.of == "" {
			keys = append(keys, p.name)
		}
	}
	keys = append(keys, "header")
	q := url.Values{}
	var attachments []mocksmtp.WantAttachment
	var dkims []mocksmtp.WantDKIM
	var unknown []string
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		v := fields[name]
		i := slices.IndexFunc(wantParams, func(p wantParam) bool { return p.name == name })
		var err error
		switch {
		case name == "header":
			var h map[string]*string // nil: given null, left out
			if err := json.Unmarshal(v, &h); err != nil || h == nil {
				return mocksmtp.Want{}, fmt.Errorf("header: want an object of header fields and values, such as {\"X-Campaign\": \"welcome\"}")
			}
			if key, ok := repeatedKey(v, false); ok {
				return mocksmtp.Want{}, fmt.Errorf("header: duplicate key %q: give it once", clip(key))
			}
			for field, value := range h {
				if field == "" {
					return mocksmtp.Want{}, fmt.Errorf("header: a field without a name")
				}
				if value != nil {
					q.Set("header."+field, *value)
				}
			}
		case name == "attachment":
			attachments, err = elementsFromJSON(name, v, "file name", func(s string) mocksmtp.WantAttachment { return mocksmtp.WantAttachment{Filename: s} }, attachmentKeys)
		case name == "dkim":
			dkims, err = elementsFromJSON(name, v, "domain", func(s string) mocksmtp.WantDKIM { return mocksmtp.WantDKIM{Domain: s} }, dkimKeys)
		case i >= 0 && wantParams[i].of != "":
			p := wantParams[i]
			unknown = append(unknown, fmt.Sprintf("%q (a query parameter: in JSON, give %q a list of objects, such as [{%q: …}])",
				name, p.of, lowerFirst(strings.TrimPrefix(p.name, p.of))))
		case i < 0:
			unknown = append(unknown, fmt.Sprintf("%q", clip(name))+didYouMean(name, keys))
		case wantParams[i].list:
			var vs []string
			if err := json.Unmarshal(v, &vs); err != nil {
				return mocksmtp.Want{}, fmt.Errorf("%s: want a list of strings, such as [\"bob@example.com\"]", name)
			}
			if len(vs) == 0 {
				return mocksmtp.Want{}, fmt.Errorf("%s is empty: leave it out to match any message", name)
			}
			q[name] = vs
		default:
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return mocksmtp.Want{}, fmt.Errorf("%s: want a string", name)
			}
			q.Set(name, s)
		}
		if err != nil {
			return mocksmtp.Want{}, err
		}
	}
	if len(unknown) > 0 {
		return mocksmtp.Want{}, fmt.Errorf("unknown key %s; the keys are: %s", listed(unknown), strings.Join(keys, ", "))
	}
	want, _, err := wantOfQuery(q)
	if err != nil {
		return want, err
	}
	want.Attachments, want.DKIM = attachments, dkims
	return want, checkWant(want, true)
}

// elementKey is a key of an element object of the JSON form: one field
// of a WantAttachment or a WantDKIM, a string.
type elementKey[E any] struct {
	name  string
	empty bool // "" is a value, not a mistake
	set   func(e *E, s string) error
}

// attachmentKeys are the keys of an attachment object, the fields of
// WantAttachment.
var attachmentKeys = []elementKey[mocksmtp.WantAttachment]{
	{"filename", false, func(a *mocksmtp.WantAttachment, s string) error { a.Filename = s; return nil }},
	{"contentType", false, func(a *mocksmtp.WantAttachment, s string) error { a.ContentType = s; return nil }},
	{"data", true, func(a *mocksmtp.WantAttachment, s string) error {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return fmt.Errorf("want the content in base64 (RFC 4648, with padding): %v", err)
		}
		a.Data = append([]byte{}, b...) // not nil, even when empty: compared
		return nil
	}},
}

// dkimKeys are the keys of a DKIM signature object, the fields of
// WantDKIM.
var dkimKeys = []elementKey[mocksmtp.WantDKIM]{
	{"domain", false, func(d *mocksmtp.WantDKIM, s string) error { d.Domain = s; return nil }},
	{"selector", false, func(d *mocksmtp.WantDKIM, s string) error { d.Selector = s; return nil }},
	{"status", false, func(d *mocksmtp.WantDKIM, s string) error { d.Status = mocksmtp.DKIMStatus(s); return nil }},
	{"reason", false, func(d *mocksmtp.WantDKIM, s string) error { d.Reason = s; return nil }},
}

// elementsFromJSON reads the list of the JSON key name: each element a
// string (what, made an element by fromString) or an object of keys.
func elementsFromJSON[E any](name string, raw json.RawMessage, what string, fromString func(string) E, keys []elementKey[E]) ([]E, error) {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.name
	}
	example := fmt.Sprintf("[{%q: …}]", names[0])
	if n, ok := arrayLen(raw); ok && n > maxWantElements {
		return nil, fmt.Errorf("%s: %d elements: give at most %d", name, n, maxWantElements)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil || len(list) == 0 {
		if err == nil {
			return nil, fmt.Errorf("%s is empty: leave it out to match any message", name)
		}
		return nil, fmt.Errorf("%s: want a list of %ss and objects, such as %s", name, what, example)
	}
	if len(list) > maxWantElements {
		return nil, fmt.Errorf("%s: %d elements: give at most %d", name, len(list), maxWantElements)
	}
	out := make([]E, len(list))
	for i, el := range list {
		at := fmt.Sprintf("%s[%d]", name, i)
		var s string
		var obj map[string]json.RawMessage
		switch {
		case json.Unmarshal(el, &s) == nil && !isNull(el):
			if s == "" {
				return nil, fmt.Errorf("%s is empty: give a %s, or an object ({} for any)", at, what)
			}
			out[i] = fromString(s)
		case json.Unmarshal(el, &obj) == nil && obj != nil:
			if key, ok := repeatedKey(el, false); ok {
				return nil, fmt.Errorf("%s: duplicate key %q: give it once", at, clip(key))
			}
			dropNulls(obj) // a key given null is left out
			for _, key := range slices.Sorted(maps.Keys(obj)) {
				j := slices.IndexFunc(keys, func(k elementKey[E]) bool { return k.name == key })
				if j < 0 {
					return nil, fmt.Errorf("%s: unknown key %q%s; the keys are: %s", at, clip(key), didYouMean(key, names), strings.Join(names, ", "))
				}
				v := obj[key]
				if json.Unmarshal(v, &s) != nil || isNull(v) {
					return nil, fmt.Errorf("%s.%s: want a string", at, key)
				}
				if s == "" && !keys[j].empty {
					return nil, fmt.Errorf("%s.%s is empty: leave it out to match any", at, key)
				}
				if err := keys[j].set(&out[i], s); err != nil {
					return nil, fmt.Errorf("%s.%s: %v", at, key, err)
				}
			}
		default:
			return nil, fmt.Errorf("%s: want a %s or an object of %s", at, what, strings.Join(names, ", "))
		}
	}
	return out, nil
}

// arrayLen counts the elements of the JSON array raw without decoding
// them, so that a list of a million elements is refused for its length
// at the cost of one pass, not of a million values: the commas outside
// strings at its top level. raw is valid JSON, decoded already; ok is
// false when it is no array.
func arrayLen(raw []byte) (n int, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '[' {
		return 0, false
	}
	inner := raw[1 : len(raw)-1]
	if len(bytes.TrimSpace(inner)) == 0 {
		return 0, true
	}
	depth, inString, escaped := 0, false, false
	for _, c := range inner {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
		case c == ',' && depth == 0:
			n++
		}
	}
	return n + 1, true
}

// wantForm is the JSON form of a filter, as nullAt reads it: its keys
// (those of wantParams that are no element's, and header) and what each
// takes. TestWantFormKeys holds it to wantParams.
type wantForm struct {
	From            string            `json:"from"`
	To              []string          `json:"to"`
	HeaderFrom      string            `json:"headerFrom"`
	HeaderTo        []string          `json:"headerTo"`
	Cc              []string          `json:"cc"`
	Subject         string            `json:"subject"`
	SubjectContains string            `json:"subjectContains"`
	SubjectMatches  string            `json:"subjectMatches"`
	Text            string            `json:"text"`
	TextContains    string            `json:"textContains"`
	TextMatches     string            `json:"textMatches"`
	HTML            string            `json:"html"`
	HTMLContains    string            `json:"htmlContains"`
	HTMLMatches     string            `json:"htmlMatches"`
	Attachment      []attachmentForm  `json:"attachment"`
	DKIM            []dkimForm        `json:"dkim"`
	ARC             string            `json:"arc"`
	ARCReason       string            `json:"arcReason"`
	Header          map[string]string `json:"header"`
}

// attachmentForm is an element of a filter's attachment list.
type attachmentForm struct{}

func (attachmentForm) jsonShape() string {
	return `a file name or an object of filename, contentType, data, such as {"filename": …}`
}

// dkimForm is an element of a filter's dkim list.
type dkimForm struct{}

func (dkimForm) jsonShape() string {
	return `a domain or an object of domain, selector, status, reason, such as {"domain": …}`
}

// dropNulls deletes the keys of obj given null: left out.
func dropNulls(obj map[string]json.RawMessage) {
	maps.DeleteFunc(obj, func(_ string, v json.RawMessage) bool { return isNull(v) })
}

// isNull reports whether a JSON value is null.
func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }
