package main

// Filters: the fields of mocksmtp.Want as query parameters, for GET
// /api/wait and GET /api/messages, matched as the Go API matches them
// (Want.Match, Server.WaitForContext). Two are narrower than Want's: an
// attachment is named by its file name only, and dkim by the domain of a
// signature that verifies.
//
//	GET /api/wait?to=bob@example.com&subjectContains=Welcome
//
// is, in Go,
//
//	srv.WaitFor(t, mocksmtp.Want{To: []string{"bob@example.com"}, SubjectContains: "Welcome"})
//
// Parameters that name a list (to, headerTo, cc, attachment, dkim) may repeat;
// the others may not. header.X-Name=value (or header[X-Name]=value) is
// Want.Header["X-Name"]. An
// unknown parameter, a repeated one, an empty value or an invalid regular
// expression is a 400 that names it.

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/mocksmtp/mocksmtp"
)

// wantParam is one query parameter of a filter.
type wantParam struct {
	name string
	list bool // may repeat: each value is an element of the field
	set  func(w *mocksmtp.Want, vs []string)
}

// wantParams are the filter's parameters, in the order of Want's fields.
var wantParams = []wantParam{
	{"from", false, func(w *mocksmtp.Want, vs []string) { w.From = vs[0] }},
	{"to", true, func(w *mocksmtp.Want, vs []string) { w.To = vs }},
	{"headerFrom", false, func(w *mocksmtp.Want, vs []string) { w.HeaderFrom = vs[0] }},
	{"headerTo", true, func(w *mocksmtp.Want, vs []string) { w.HeaderTo = vs }},
	{"cc", true, func(w *mocksmtp.Want, vs []string) { w.Cc = vs }},
	{"subject", false, func(w *mocksmtp.Want, vs []string) { w.Subject = vs[0] }},
	{"subjectContains", false, func(w *mocksmtp.Want, vs []string) { w.SubjectContains = vs[0] }},
	{"subjectMatches", false, func(w *mocksmtp.Want, vs []string) { w.SubjectMatches = vs[0] }},
	{"text", false, func(w *mocksmtp.Want, vs []string) { w.Text = vs[0] }},
	{"textContains", false, func(w *mocksmtp.Want, vs []string) { w.TextContains = vs[0] }},
	{"textMatches", false, func(w *mocksmtp.Want, vs []string) { w.TextMatches = vs[0] }},
	{"html", false, func(w *mocksmtp.Want, vs []string) { w.HTML = vs[0] }},
	{"htmlContains", false, func(w *mocksmtp.Want, vs []string) { w.HTMLContains = vs[0] }},
	{"htmlMatches", false, func(w *mocksmtp.Want, vs []string) { w.HTMLMatches = vs[0] }},
	{"attachment", true, func(w *mocksmtp.Want, vs []string) {
		for _, v := range vs {
			w.Attachments = append(w.Attachments, mocksmtp.WantAttachment{Filename: v})
		}
	}},
	{"dkim", true, func(w *mocksmtp.Want, vs []string) {
		for _, v := range vs {
			w.DKIM = append(w.DKIM, mocksmtp.WantDKIM{Domain: v})
		}
	}},
	{"arc", false, func(w *mocksmtp.Want, vs []string) { w.ARC = mocksmtp.ARCStatus(vs[0]) }},
	{"arcReason", false, func(w *mocksmtp.Want, vs []string) { w.ARCReason = vs[0] }},
}

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

// query checks the request's query parameters: each must be one of
// allowed, or a filter parameter when filter is set. On a problem it
// answers 400, naming the parameters.
func query(w http.ResponseWriter, r *http.Request, filter bool, allowed ...string) (url.Values, bool) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, "the query %q: %v", r.URL.RawQuery, err)
		return nil, false
	}
	known := slices.Clone(allowed)
	if filter {
		for _, p := range wantParams {
			known = append(known, p.name)
		}
	}
	var unknown []string
	for name := range q {
		if _, ok := headerField(name); slices.Contains(known, name) || filter && ok {
			continue
		}
		u := fmt.Sprintf("%q", name)
		if i := slices.IndexFunc(known, func(k string) bool { return strings.EqualFold(k, name) }); i >= 0 {
			u += fmt.Sprintf(" (did you mean %q?)", known[i])
		}
		unknown = append(unknown, u)
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
		writeError(w, http.StatusBadRequest, "%s: unknown query parameter %s; the parameters are: %s", r.URL.Path, strings.Join(unknown, ", "), want)
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

// wantOf reads the Want of the filter parameters of q, and whether it
// sets any field; its error names the parameter at fault. Other
// parameters are ignored.
func wantOf(q url.Values) (mocksmtp.Want, bool, error) {
	var want mocksmtp.Want
	set := false
	for _, p := range wantParams {
		vs, ok := q[p.name]
		if !ok {
			continue
		}
		if len(vs) > 1 && !p.list {
			return want, false, fmt.Errorf("%s given %d times: give it once", p.name, len(vs))
		}
		if slices.Contains(vs, "") {
			return want, false, fmt.Errorf("%s is empty: leave it out to match any message", p.name)
		}
		p.set(&want, vs)
		set = true
	}
	for name, vs := range q {
		field, ok := headerField(name)
		if !ok {
			continue
		}
		if len(vs) > 1 || vs[0] == "" {
			return want, false, fmt.Errorf("%s: give it once, with the header's value", name)
		}
		if want.Header == nil {
			want.Header = make(map[string]string)
		}
		want.Header[field] = vs[0]
		set = true
	}
	if _, err := want.Match(nil); err != nil {
		// "mocksmtp: Want.SubjectMatches: ..." names the parameter
		// subjectMatches.
		msg := strings.TrimPrefix(err.Error(), "mocksmtp: ")
		if field, rest, ok := strings.Cut(strings.TrimPrefix(msg, "Want."), ":"); ok {
			if i := slices.IndexFunc(wantParams, func(p wantParam) bool { return strings.EqualFold(p.name, field) }); i >= 0 {
				msg = wantParams[i].name + ":" + rest
			}
		}
		return want, false, errors.New(msg)
	}
	return want, set, nil
}
