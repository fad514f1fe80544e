package mocksmtp

import (
	"bytes"
	"fmt"
	"maps"
	"net/textproto"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/mail"
)

// Want describes a message: the fields a test cares about. It is plain
// data, so that a failure can print it as a (-want +got) diff. Fields left
// at their zero value are not compared; Want{} matches every message.
// What takes a Want (Expect, the waits, Match) keeps a copy of it: a test
// may change or reuse its slices, maps and bytes afterwards.
//
// Strings are compared exactly, except where a field says otherwise. The
// …Contains fields hold a substring, the …Matches fields a regular
// expression (package regexp syntax), compiled when the Want is used: an
// invalid one fails the test there, as does a DKIM or ARC status that is
// none of their constants.
type Want struct {
	// From is the envelope sender, the MAIL FROM path. "<>" stands for the
	// null sender (bounces). Angle brackets around a path are ignored.
	From string
	// To lists the envelope recipients, the RCPT TO paths: all of them, in
	// any order.
	To []string

	// HeaderFrom is the From header: "alice@example.com" compares the
	// address only, "Alice <alice@example.com>" the display name too.
	// Several addresses are written as one string, separated by ", ".
	HeaderFrom string
	// HeaderTo and Cc list the addresses of the To and Cc headers: all of
	// them, in any order. Each is written as in HeaderFrom; when one of
	// the list has a display name, every address is compared with its
	// display name, as "Name <address>" (or "address" when it has none).
	HeaderTo, Cc []string
	// Subject is the decoded Subject header.
	Subject, SubjectContains, SubjectMatches string
	// Header holds any other header fields: a field name (in any case) to
	// its value, RFC 2047 encoded words decoded and folding undone. The
	// message matches when one of its fields of that name has the value.
	Header map[string]string

	// Text is the decoded text/plain body. Line breaks are compared as
	// "\n", and trailing line breaks are ignored.
	Text, TextContains, TextMatches string
	// HTML is the decoded text/html body, as Text. HTMLContains and
	// HTMLMatches look at the HTML source, tags included.
	HTML, HTMLContains, HTMLMatches string

	// Attachments lists attachments the message must have, each matched to
	// a different one, in any order; the message may have others (inline
	// images, say). See [Message.Attachments].
	Attachments []WantAttachment

	// DKIM lists DKIM signatures the message must have, each matched to a
	// different one of [Message.DKIM], in any order; the message may have
	// others. {Domain: "example.com"} wants a signature of example.com
	// that verifies.
	DKIM []WantDKIM

	// ARC is the result of validating the message's ARC chain (see
	// [Message.ARC]): ARCPass, ARCFail, or ARCNone for a message without
	// ARC sets. ARCReason is a part of the reason it failed ("body hash",
	// "set 2"); it wants ARCFail when ARC is "", and is an error with
	// ARCPass or ARCNone, which have no reason.
	ARC       ARCStatus
	ARCReason string
}

// WantDKIM describes one DKIM signature of a [Want]. Fields left at their
// zero value are not compared, but for Status, which is then DKIMPass.
type WantDKIM struct {
	Domain   string     // d=, in any case
	Selector string     // s=, in any case
	Status   DKIMStatus // the result; DKIMPass when ""
	Reason   string     // a part of the reason it did not pass ("body hash"); an error with Status pass or ""
}

// WantAttachment describes one attachment of a [Want]. Fields left at
// their zero value are not compared.
type WantAttachment struct {
	Filename    string // exactly
	ContentType string // the media type alone, in any case: "application/pdf"
	Data        []byte // the decoded content, exactly
}

// String returns the fields that are set, Go-like, on one line, long values
// cut: Want{To: ["bob@example.com"], Subject: "Welcome"}.
func (w Want) String() string {
	var parts []string
	add := func(name, v string) {
		if v != "" {
			parts = append(parts, name+": "+quoteShort(v))
		}
	}
	addList := func(name string, vs []string) {
		if len(vs) > 0 {
			var q []string
			for i, v := range vs {
				if i == maxListed {
					q = append(q, fmt.Sprintf("… %d more", len(vs)-i))
					break
				}
				q = append(q, quoteShort(v))
			}
			parts = append(parts, name+": ["+strings.Join(q, ", ")+"]")
		}
	}
	add("From", w.From)
	addList("To", w.To)
	add("HeaderFrom", w.HeaderFrom)
	addList("HeaderTo", w.HeaderTo)
	addList("Cc", w.Cc)
	add("Subject", w.Subject)
	add("SubjectContains", w.SubjectContains)
	add("SubjectMatches", w.SubjectMatches)
	if len(w.Header) > 0 {
		var kv []string
		for _, k := range sortedKeys(w.Header) {
			kv = append(kv, strconv.Quote(k)+": "+quoteShort(w.Header[k]))
		}
		parts = append(parts, "Header: {"+strings.Join(kv, ", ")+"}")
	}
	add("Text", w.Text)
	add("TextContains", w.TextContains)
	add("TextMatches", w.TextMatches)
	add("HTML", w.HTML)
	add("HTMLContains", w.HTMLContains)
	add("HTMLMatches", w.HTMLMatches)
	if len(w.Attachments) > 0 {
		var as []string
		for _, a := range w.Attachments {
			var f []string
			if a.Filename != "" {
				f = append(f, "Filename: "+quoteShort(a.Filename))
			}
			if a.ContentType != "" {
				f = append(f, "ContentType: "+quoteShort(a.ContentType))
			}
			if a.Data != nil {
				f = append(f, fmt.Sprintf("Data: %s", plural(len(a.Data), "byte")))
			}
			as = append(as, "{"+strings.Join(f, ", ")+"}")
		}
		parts = append(parts, "Attachments: ["+strings.Join(as, ", ")+"]")
	}
	if len(w.DKIM) > 0 {
		var ds []string
		for _, d := range w.DKIM {
			f := []string{"Status: " + strconv.Quote(string(or(string(d.Status), string(DKIMPass))))}
			if d.Domain != "" {
				f = append([]string{"Domain: " + quoteShort(d.Domain)}, f...)
			}
			if d.Selector != "" {
				f = append(f, "Selector: "+quoteShort(d.Selector))
			}
			if d.Reason != "" {
				f = append(f, "Reason: "+quoteShort(d.Reason))
			}
			ds = append(ds, "{"+strings.Join(f, ", ")+"}")
		}
		parts = append(parts, "DKIM: ["+strings.Join(ds, ", ")+"]")
	}
	if w.ARC != "" || w.ARCReason != "" {
		parts = append(parts, "ARC: "+strconv.Quote(or(string(w.ARC), string(ARCFail))))
	}
	if w.ARCReason != "" {
		parts = append(parts, "ARCReason: "+quoteShort(w.ARCReason))
	}
	return "Want{" + strings.Join(parts, ", ") + "}"
}

// Match reports whether m is like w: whether it has every field that w
// sets, compared as [Server.WaitFor] and [Server.Expect] compare them.
// Its error reports an invalid w (a regular expression that does not
// compile) whatever m is; Match(nil) only checks w. It picks messages
// from a list:
//
//	for _, m := range srv.Messages() {
//		if ok, _ := want.Match(m); ok {
//			...
//		}
//	}
func (w Want) Match(m *Message) (bool, error) {
	mt, err := newMatcher(w)
	if err != nil || m == nil {
		return false, err
	}
	return mt.match(m), nil
}

func quoteShort(s string) string { return strconv.Quote(shorten(s, 60)) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// clone returns a copy of w that shares no slice, map or bytes with it.
func (w Want) clone() Want {
	w.To = slices.Clone(w.To)
	w.HeaderTo = slices.Clone(w.HeaderTo)
	w.Cc = slices.Clone(w.Cc)
	w.Header = maps.Clone(w.Header)
	w.Attachments = slices.Clone(w.Attachments)
	for i := range w.Attachments {
		w.Attachments[i].Data = bytes.Clone(w.Attachments[i].Data)
	}
	w.DKIM = slices.Clone(w.DKIM)
	return w
}

// A matcher is a Want ready to compare with messages: regular expressions
// compiled, values normalized. It is immutable.
type matcher struct {
	want   Want
	fields []field
}

// A field is one comparison of a matcher; a header field of Want.Header
// is a field of its own.
type field struct {
	// ok reports whether m has the wanted value.
	ok func(m *Message) bool
	// got sets, in a copy of the Want, what m has instead, for the diff.
	got func(m *Message, p *Want)
}

// newMatcher compiles w. Its error names the field at fault. The matcher
// keeps a copy of w: a caller that changes its slices, maps or bytes
// afterwards changes neither what the matcher matches nor what its
// reports print.
func newMatcher(w Want) (*matcher, error) {
	w = w.clone()
	mt := &matcher{want: w}
	add := func(ok func(*Message) bool, got func(*Message, *Want)) {
		mt.fields = append(mt.fields, field{ok, got})
	}
	compile := func(name, expr string) (*regexp.Regexp, error) {
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fmt.Errorf("mocksmtp: Want.%s: invalid regular expression %q: %w", name, expr, err)
		}
		return re, nil
	}

	if w.From != "" {
		want := path(w.From)
		add(func(m *Message) bool { return m.From == want },
			func(m *Message, p *Want) { p.From = nullPath(m.From) })
	}
	if len(w.To) > 0 {
		want := make([]string, len(w.To))
		for i, t := range w.To {
			want[i] = path(t)
		}
		add(func(m *Message) bool { return sameSet(want, m.To) },
			func(m *Message, p *Want) { p.To = slices.Clone(m.To) })
	}
	if w.HeaderFrom != "" {
		names := strings.Contains(w.HeaderFrom, "<")
		add(func(m *Message) bool { return strings.Join(addrStrings(m.HeaderFrom, names), ", ") == w.HeaderFrom },
			func(m *Message, p *Want) { p.HeaderFrom = strings.Join(addrStrings(m.HeaderFrom, names), ", ") })
	}
	addrList := func(want []string, list func(*Message) []*mail.Address, set func(*Want, []string)) {
		if len(want) == 0 {
			return
		}
		names := slices.ContainsFunc(want, func(s string) bool { return strings.Contains(s, "<") })
		add(func(m *Message) bool { return sameSet(want, addrStrings(list(m), names)) },
			func(m *Message, p *Want) { set(p, addrStrings(list(m), names)) })
	}
	addrList(w.HeaderTo, func(m *Message) []*mail.Address { return m.HeaderTo }, func(p *Want, v []string) { p.HeaderTo = v })
	addrList(w.Cc, func(m *Message) []*mail.Address { return m.Cc }, func(p *Want, v []string) { p.Cc = v })

	// text adds the exact, contains and matches fields of one string of
	// the message.
	text := func(name, exact, contains, matches string, value func(*Message) string, set func(*Want, string, string)) error {
		if exact != "" {
			want := trimBody(exact)
			add(func(m *Message) bool { return trimBody(value(m)) == want },
				func(m *Message, p *Want) { set(p, "exact", trimBody(value(m))) }) // cut by shown, as the want
		}
		if contains != "" {
			want := lf(contains)
			add(func(m *Message) bool { return strings.Contains(value(m), want) },
				func(m *Message, p *Want) { set(p, "contains", cutText(trimBody(value(m)))) })
		}
		if matches != "" {
			re, err := compile(name+"Matches", matches)
			if err != nil {
				return err
			}
			add(func(m *Message) bool { return re.MatchString(value(m)) },
				func(m *Message, p *Want) { set(p, "matches", cutText(trimBody(value(m)))) })
		}
		return nil
	}
	err := text("Subject", w.Subject, w.SubjectContains, w.SubjectMatches,
		func(m *Message) string { return m.Subject },
		func(p *Want, kind, v string) {
			switch kind {
			case "exact":
				p.Subject = v
			case "contains":
				p.SubjectContains = v
			default:
				p.SubjectMatches = v
			}
		})
	if err != nil {
		return nil, err
	}

	for _, k := range sortedKeys(w.Header) {
		key, want := textproto.CanonicalMIMEHeaderKey(k), w.Header[k]
		add(func(m *Message) bool {
			vs := headerValues(m, key)
			return slices.Contains(vs, want)
		}, func(m *Message, p *Want) {
			if vs := headerValues(m, key); len(vs) > 0 {
				p.Header[k] = strings.Join(vs, "\n")
			} else {
				delete(p.Header, k) // absent: shown as a missing key
			}
		})
	}

	err = text("Text", w.Text, w.TextContains, w.TextMatches,
		func(m *Message) string { return m.Text },
		func(p *Want, kind, v string) {
			switch kind {
			case "exact":
				p.Text = v
			case "contains":
				p.TextContains = v
			default:
				p.TextMatches = v
			}
		})
	if err != nil {
		return nil, err
	}
	err = text("HTML", w.HTML, w.HTMLContains, w.HTMLMatches,
		func(m *Message) string { return m.HTML },
		func(p *Want, kind, v string) {
			switch kind {
			case "exact":
				p.HTML = v
			case "contains":
				p.HTMLContains = v
			default:
				p.HTMLMatches = v
			}
		})
	if err != nil {
		return nil, err
	}

	if len(w.Attachments) > 0 {
		want := w.Attachments
		add(func(m *Message) bool { return attachmentsMatch(want, m.Attachments) },
			func(m *Message, p *Want) { p.Attachments = projectAttachments(want, m.Attachments) })
	}
	if len(w.DKIM) > 0 {
		want := make([]WantDKIM, len(w.DKIM))
		for i, d := range w.DKIM {
			switch d.Status {
			case "", DKIMPass, DKIMFail, DKIMPermError, DKIMTempError:
			default:
				return nil, fmt.Errorf("mocksmtp: Want.DKIM[%d].Status: unknown status %q: want %q, %q, %q or %q", i, d.Status, DKIMPass, DKIMFail, DKIMPermError, DKIMTempError)
			}
			want[i] = d
			if d.Status == "" {
				want[i].Status = DKIMPass // so that a failure prints what is wanted
			}
			if d.Reason != "" && want[i].Status == DKIMPass {
				// It would match nothing, silently.
				return nil, fmt.Errorf("mocksmtp: Want.DKIM[%d].Reason: only a signature that did not pass has a reason (Status is %q): set Status to %q, %q or %q", i, DKIMPass, DKIMFail, DKIMPermError, DKIMTempError)
			}
		}
		mt.want.DKIM = want
		add(func(m *Message) bool { return dkimMatch(want, m.DKIM) },
			func(m *Message, p *Want) { p.DKIM = projectDKIM(want, m.DKIM) })
	}
	if w.ARC != "" || w.ARCReason != "" {
		status, reason := w.ARC, w.ARCReason
		if status != "" && status != ARCPass && status != ARCFail && status != ARCNone {
			return nil, fmt.Errorf("mocksmtp: Want.ARC: unknown status %q: want %q, %q or %q", status, ARCPass, ARCFail, ARCNone)
		}
		if reason != "" && status != "" && status != ARCFail {
			return nil, fmt.Errorf("mocksmtp: Want.ARCReason: only a failed chain has a reason (ARC is %q)", status)
		}
		if status == "" {
			status = ARCFail // only a failed chain has a reason
			mt.want.ARC = status
		}
		// A mismatch shows the message's status and why it failed.
		add(func(m *Message) bool { return m.ARC.status() == status && strings.Contains(m.ARC.Reason, reason) },
			func(m *Message, p *Want) { p.ARC, p.ARCReason = m.ARC.status(), m.ARC.Reason })
	}
	return mt, nil
}

// misses returns how many fields of the Want m does not have.
func (mt *matcher) misses(m *Message) int {
	n := 0
	for _, f := range mt.fields {
		if !f.ok(m) {
			n++
		}
	}
	return n
}

// match reports whether m has every field of the Want.
func (mt *matcher) match(m *Message) bool {
	for _, f := range mt.fields {
		if !f.ok(m) {
			return false
		}
	}
	return true
}

// project returns what m has in place of each field the Want sets: the
// wanted value where m has it (so that the diff hides it), m's value
// (long ones cut) where it differs.
func (mt *matcher) project(m *Message) Want {
	p := mt.want
	if p.Header != nil {
		p.Header = make(map[string]string, len(mt.want.Header))
		for k, v := range mt.want.Header {
			p.Header[k] = v
		}
	}
	for _, f := range mt.fields {
		if !f.ok(m) {
			f.got(m, &p)
		}
	}
	return p
}

// shown returns what a report diffs: the Want and its projection of m
// (see project), long values cut on both sides (STYLE rule 11). An exact
// text is shown from a few lines before the first line where the two
// differ, so that the cut diff still shows the difference; a pattern
// (…Contains, …Matches) and the header values each as cutText cuts them;
// long lists of addresses as cutLists cuts them; long attachment data
// around the first octet that differs (cutData).
func (mt *matcher) shown(m *Message) (w, g Want) {
	w, g = mt.want, mt.project(m)
	// An exact text as it is compared (line breaks "\n", none at the
	// end), so that its line breaks align with the message's; on both
	// sides, as a field m has shows the want's text (see project).
	for _, p := range []*string{&w.Subject, &w.Text, &w.HTML, &g.Subject, &g.Text, &g.HTML} {
		if *p != "" {
			*p = trimBody(*p)
		}
	}
	w.Subject, g.Subject = cutPair(w.Subject, g.Subject)
	w.Text, g.Text = cutPair(w.Text, g.Text)
	w.HTML, g.HTML = cutPair(w.HTML, g.HTML)
	for _, p := range []*string{&w.SubjectContains, &w.SubjectMatches, &w.TextContains, &w.TextMatches, &w.HTMLContains, &w.HTMLMatches} {
		*p = cutText(*p)
	}
	w.To, g.To = cutLists(w.To, g.To)
	w.HeaderTo, g.HeaderTo = cutLists(w.HeaderTo, g.HeaderTo)
	w.Cc, g.Cc = cutLists(w.Cc, g.Cc)
	for _, h := range []*map[string]string{&w.Header, &g.Header} {
		if *h == nil {
			continue
		}
		cut := make(map[string]string, len(*h))
		for k, v := range *h {
			cut[k] = cutText(v)
		}
		*h = cut
	}
	if w.Attachments != nil {
		// Each side's attachment i is cut as the other side's i, which
		// is the one it is compared with in the diff.
		wa, ga := slices.Clone(w.Attachments), slices.Clone(g.Attachments)
		for i := range wa {
			wa[i].Data = cutData(wa[i].Data, dataAt(ga, i))
		}
		for i := range ga {
			ga[i].Data = cutData(ga[i].Data, dataAt(w.Attachments, i))
		}
		w.Attachments, g.Attachments = wa, ga
	}
	return w, g
}

// dataAt returns the data of as[i], nil when there is none.
func dataAt(as []WantAttachment, i int) []byte {
	if i < len(as) {
		return as[i].Data
	}
	return nil
}

// cutPair cuts two texts alike for a diff: when either is long, both from
// a few lines before the first line where they differ (or, in a long
// line, some bytes before the first octet that differs), as cutText cuts
// a body, noting what was left out before.
func cutPair(a, b string) (string, string) {
	if !long(a) && !long(b) {
		return a, b
	}
	const context = 3 // lines shown before the first that differs
	diff := 0         // the first octet that differs
	var starts []int  // the start of each line before it
	starts = append(starts, 0)
	for diff < len(a) && diff < len(b) && a[diff] == b[diff] {
		if a[diff] == '\n' {
			starts = append(starts, diff+1)
		}
		diff++
	}
	line := max(len(starts)-1-context, 0)
	from := max(starts[line], diff-cutBytes/2)
	for from > 0 && from < len(a) && !utf8.RuneStart(a[from]) {
		from--
	}
	if from == starts[line] {
		return cutTextFrom(a, from, line), cutTextFrom(b, from, line)
	}
	return cutTextFrom(a, from, -1), cutTextFrom(b, from, -1)
}

// long reports whether cutText would cut s.
func long(s string) bool {
	return len(s) > cutBytes || nthIndex(s, '\n', cutLines) >= 0
}

// cutTextFrom cuts s for a diff as cutText does, from the octet from:
// the start of line number lines (0-based), or, with lines < 0, a point
// inside a line.
func cutTextFrom(s string, from, lines int) string {
	if from == 0 {
		return cutText(s)
	}
	rest := s[min(from, len(s)):]
	before := fmt.Sprintf("… (%s not shown)\n", plural(lines, "line"))
	if lines < 0 {
		before = fmt.Sprintf("… (%s not shown) …", plural(from, "byte"))
	}
	return before + cutTextOf(rest, len(s))
}

// maxListed is how many of a list a report shows, and says how many more
// there are: messages against an expectation (writeMessages), entries of
// a Want's list (String), addresses of a long list in a diff besides
// those it shows on both sides (cutLists).
const maxListed = 10

// cutLists cuts two lists of addresses alike for a diff, when either is
// long: a short list is shown whole, and a long one as the addresses that
// are also on a short other side, then at most maxListed of those that
// are not on the other side, in order, and a last entry that says how
// many more there are.
func cutLists(a, b []string) ([]string, []string) {
	if len(a) <= maxListed && len(b) <= maxListed {
		return a, b
	}
	return cutList(a, b), cutList(b, a)
}

// cutList is one side of cutLists: list, against other.
func cutList(list, other []string) []string {
	if len(list) <= maxListed {
		return list
	}
	count := make(map[string]int, len(other))
	for _, s := range other {
		count[s]++
	}
	var out, only []string
	both := 0
	for _, s := range list {
		switch {
		case count[s] > 0:
			count[s]--
			both++
			if len(other) <= maxListed {
				out = append(out, s) // shown whole on the other side
			}
		case len(only) < maxListed:
			only = append(only, s)
		}
	}
	out = append(out, only...)
	switch more := len(list) - len(out); {
	case more == 0:
	case both > 0 && len(other) > maxListed:
		out = append(out, fmt.Sprintf("… (%d more, %d of them on both sides; %d in all)", more, both, len(list)))
	default:
		out = append(out, fmt.Sprintf("… (%d more; %d in all)", more, len(list)))
	}
	return out
}

// cutData cuts long attachment data for a diff: 64 octets, from a few
// before the first where d and the data it is compared with, other,
// differ, noting what was left out.
func cutData(d, other []byte) []byte {
	if len(d) <= 256 && len(other) <= 256 {
		return d
	}
	diff := 0
	for diff < len(d) && diff < len(other) && d[diff] == other[diff] {
		diff++
	}
	from := min(max(diff-16, 0), len(d))
	var out []byte
	if from > 0 {
		out = fmt.Appendf(out, "… (%s not shown) …", plural(from, "byte"))
	}
	out = append(out, d[from:min(from+64, len(d))]...)
	if from+64 < len(d) {
		out = fmt.Appendf(out, "… (cut: %s in all)", plural(len(d), "byte"))
	}
	return out
}

// path strips the angle brackets of a path; "<>" is the null sender "".
func path(s string) string {
	if len(s) >= 2 && s[0] == '<' && s[len(s)-1] == '>' {
		return s[1 : len(s)-1]
	}
	return s
}

// nullPath shows the null sender as "<>".
func nullPath(s string) string {
	if s == "" {
		return "<>"
	}
	return s
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// addrStrings formats addresses as "address", or "Name <address>" when
// names is set and the address has a display name.
func addrStrings(list []*mail.Address, names bool) []string {
	out := make([]string, 0, len(list))
	for _, a := range list {
		if a == nil {
			continue
		}
		if names && a.Name != "" {
			out = append(out, a.Name+" <"+a.Address+">")
		} else {
			out = append(out, a.Address)
		}
	}
	return out
}

// headerValues returns the values of every field named key, decoded,
// unfolded.
func headerValues(m *Message, key string) []string {
	var out []string
	fields := m.Header.FieldsByKey(key)
	for fields.Next() {
		v, err := fields.Text()
		if err != nil {
			v = fields.Value()
		}
		v = strings.ReplaceAll(strings.ReplaceAll(v, "\r\n", ""), "\n", "")
		out = append(out, v)
	}
	return out
}

// lf turns CRLF line breaks into LF.
func lf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// trimBody normalizes line breaks and drops trailing ones.
func trimBody(s string) string { return strings.TrimRight(lf(s), "\n") }

// Limits of what a report shows of one value.
const (
	cutBytes = 1500 // a body is cut after this many bytes...
	cutLines = 30   // ...or lines
)

// cutText cuts a long body for a diff, noting the full size.
func cutText(s string) string { return cutTextOf(s, len(s)) }

// cutTextOf cuts s as cutText does, s being the end of a text of total
// bytes, which its note gives as the full size.
func cutTextOf(s string, total int) string {
	cut := len(s)
	if cut > cutBytes {
		cut = cutBytes
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
	}
	if i := nthIndex(s[:cut], '\n', cutLines); i >= 0 {
		cut = i
	}
	if cut == len(s) {
		return s
	}
	return s[:cut] + fmt.Sprintf("\n… (cut: %s in all)", plural(total, "byte"))
}

// nthIndex returns the index of the nth c in s (1-based), or -1.
func nthIndex(s string, c byte, n int) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n--
			if n == 0 {
				return i
			}
		}
	}
	return -1
}

// attachmentMatch reports whether a has what w wants.
func attachmentMatch(w WantAttachment, a Attachment) bool {
	return (w.Filename == "" || w.Filename == a.Filename) &&
		(w.ContentType == "" || strings.EqualFold(w.ContentType, a.ContentType)) &&
		(w.Data == nil || bytes.Equal(w.Data, a.Data))
}

// attachmentsMatch reports whether each wanted attachment matches a
// different attachment of the message.
func attachmentsMatch(want []WantAttachment, got []Attachment) bool {
	return eachMatchesOne(want, got, attachmentMatch)
}

// eachMatchesOne reports whether each of want matches a different one of
// got (an assignment, see assign). More wanted than got never do, and are
// not worth the assignment's work: len(want) × len(got) comparisons.
func eachMatchesOne[W, G any](want []W, got []G, match func(W, G) bool) bool {
	if len(want) > len(got) {
		return false
	}
	caps := make([]int, len(want))
	for i := range caps {
		caps[i] = 1
	}
	owner := assign(caps, caps, len(got), func(i, j int) bool { return match(want[i], got[j]) })
	n := 0
	for _, o := range owner {
		if o >= 0 {
			n++
		}
	}
	return n == len(want)
}

// projectAttachments shows the message's attachments with only the fields
// some wanted attachment sets (their data cut by shown).
func projectAttachments(want []WantAttachment, got []Attachment) []WantAttachment {
	var name, typ, data bool
	for _, w := range want {
		name = name || w.Filename != ""
		typ = typ || w.ContentType != ""
		data = data || w.Data != nil
	}
	out := make([]WantAttachment, len(got))
	for i, a := range got {
		if name {
			out[i].Filename = a.Filename
		}
		if typ {
			out[i].ContentType = a.ContentType
		}
		if data {
			out[i].Data = a.Data // cut by shown, as the want
		}
	}
	return out
}

// dkimResultMatch reports whether r is what w wants.
func dkimResultMatch(w WantDKIM, r DKIMResult) bool {
	return (w.Domain == "" || strings.EqualFold(w.Domain, r.Domain)) &&
		(w.Selector == "" || strings.EqualFold(w.Selector, r.Selector)) &&
		w.Status == r.Status &&
		(w.Reason == "" || strings.Contains(r.Reason, w.Reason))
}

// dkimMatch reports whether each wanted signature matches a different
// result of the message.
func dkimMatch(want []WantDKIM, got []DKIMResult) bool {
	return eachMatchesOne(want, got, dkimResultMatch)
}

// projectDKIM shows the message's DKIM results with the domain, the
// status and the reason (why a signature failed is the point of the
// diff), and the selector when some wanted signature sets it.
func projectDKIM(want []WantDKIM, got []DKIMResult) []WantDKIM {
	selector := false
	for _, w := range want {
		selector = selector || w.Selector != ""
	}
	out := make([]WantDKIM, len(got))
	for i, r := range got {
		out[i] = WantDKIM{Domain: r.Domain, Status: r.Status, Reason: r.Reason}
		if selector {
			out[i].Selector = r.Selector
		}
	}
	return out
}

// assign matches right nodes (messages, attachments) to left nodes
// (expectations), each right node to at most one left node, left node i
// taking between lo[i] and hi[i] right nodes (hi[i] < 0: any number). It
// first gives as many left nodes as it can their lo, in order, then fills
// them up to hi, in order, never taking from one to give to another: each
// step is an augmenting path, which moves right nodes between left nodes
// but never lowers a count. It returns the owner of each right node, -1
// for none. Right nodes are tried in order, so the earliest go first.
//
// Which left nodes get how many right nodes does not depend on how each
// path is found (the left nodes a matching can cover form a matroid, and
// taking them in order is its greedy algorithm): a step first takes the
// next free right node of the left node, and only when it has none looks
// for a longer path, breadth first. Each step costs at most the number of
// edges, and the first kind costs the left node's edges once in all, so
// the usual case, expectations matching disjoint or nested sets of
// messages, is linear in the edges.
func assign(lo, hi []int, nRight int, edge func(i, j int) bool) []int {
	a := &assigner{
		owner: make([]int, nRight),
		adj:   make([][]int, len(lo)),
		next:  make([]int, len(lo)),
		via:   make([]int, len(lo)),
		seenL: make([]int, len(lo)),
		seenR: make([]int, nRight),
		from:  make([]int, nRight),
	}
	for j := range a.owner {
		a.owner[j] = -1
	}
	for i := range lo {
		for j := range nRight {
			if edge(i, j) {
				a.adj[i] = append(a.adj[i], j)
			}
		}
	}
	count := make([]int, len(lo))
	fill := func(limit func(i int) int) {
		for i := range lo {
			for l := limit(i); (l < 0 || count[i] < l) && a.augment(i); {
				count[i]++
			}
		}
	}
	fill(func(i int) int { return lo[i] })
	fill(func(i int) int { return hi[i] })
	return a.owner
}

// assigner is the state of one assign.
type assigner struct {
	owner []int   // of each right node, -1 for none
	adj   [][]int // the right nodes of each left node, in order
	next  []int   // per left node: adj[i][:next[i]] are owned (right nodes never become free again)
	stamp int     // the search in progress; seenL and seenR hold the search that last reached a node
	seenL []int
	seenR []int
	via   []int // per left node reached: the right node the search came through
	from  []int // per right node reached: the left node the search came from
	queue []int
}

// augment gives left node i one more right node, moving others between
// left nodes if need be, and reports whether it could.
func (a *assigner) augment(i int) bool {
	for ; a.next[i] < len(a.adj[i]); a.next[i]++ {
		if j := a.adj[i][a.next[i]]; a.owner[j] < 0 {
			a.owner[j] = i
			a.next[i]++
			return true
		}
	}
	// Breadth first, through right nodes owned by other left nodes, to a
	// free right node; each node is reached once.
	a.stamp++
	a.seenL[i] = a.stamp
	a.via[i] = -1
	a.queue = append(a.queue[:0], i)
	for len(a.queue) > 0 {
		u := a.queue[0]
		a.queue = a.queue[1:]
		for _, j := range a.adj[u] {
			if a.seenR[j] == a.stamp {
				continue
			}
			a.seenR[j] = a.stamp
			a.from[j] = u
			v := a.owner[j]
			if v < 0 {
				// Move each right node on the path to the left node before it.
				for j >= 0 {
					u := a.from[j]
					a.owner[j] = u
					j = a.via[u]
				}
				return true
			}
			if a.seenL[v] != a.stamp {
				a.seenL[v] = a.stamp
				a.via[v] = j
				a.queue = append(a.queue, v)
			}
		}
	}
	return false
}
