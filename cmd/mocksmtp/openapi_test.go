package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/internal/clock"
)

// openAPIDoc is the part of the OpenAPI document the route test reads.
type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Parameters map[string]openAPIParam `json:"parameters"`
	} `json:"components"`
}

type openAPIOp struct {
	Parameters []openAPIParam `json:"parameters"`
}

type openAPIParam struct {
	Ref    string          `json:"$ref"` // #/components/parameters/name
	Name   string          `json:"name"`
	In     string          `json:"in"`
	Schema json.RawMessage `json:"schema"`
}

// The interop module validates responses against the document's schemas
// (interop/openapi_test.go); this test checks that it lists exactly the
// routes and query parameters the server has.
func TestOpenAPIDocumentHasEveryRouteAndParameter(t *testing.T) {
	t.Parallel()
	var doc openAPIDoc
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	srv, err := mocksmtp.New(mocksmtp.WithListenAddr("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	a := newAPI(srv, slog.New(slog.DiscardHandler), false)

	var registered, documented []string
	for _, r := range a.routes {
		registered = append(registered, r)
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method != "parameters" {
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	slices.Sort(registered)
	slices.Sort(documented)
	if diff := cmp.Diff(registered, documented); diff != "" {
		t.Errorf("routes (-registered +documented):\n%s", diff)
	}

	// The query parameters: those the server accepts are named in its
	// answer to an unknown one.
	for _, route := range a.routes {
		method, path, _ := strings.Cut(route, " ")
		var op openAPIOp
		if err := json.Unmarshal(doc.Paths[path][strings.ToLower(method)], &op); err != nil {
			continue // reported above
		}
		var documented []string
		for _, p := range op.Parameters {
			if name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/"); ok {
				p = doc.Components.Parameters[name]
			}
			if p.In == "query" {
				documented = append(documented, p.Name)
			}
		}
		url := strings.NewReplacer("{id}", "1", "{n}", "0").Replace(path) + "?zzz=1"
		req := httptest.NewRequest(method, "http://127.0.0.1"+url, nil)
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, req)
		var e errorJSON
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		_, list, ok := strings.Cut(e.Error, "the parameters are: ")
		if rec.Code != http.StatusBadRequest || !ok {
			t.Errorf("%s %s: %d %q, want 400 naming the parameters", method, url, rec.Code, e.Error)
			continue
		}
		var accepted []string
		if list != "none" {
			for _, p := range strings.Split(list, ", ") {
				accepted = append(accepted, strings.TrimSuffix(p, ".<Name>")) // header.<Name>: the deepObject "header"
			}
		}
		slices.Sort(accepted)
		slices.Sort(documented)
		if diff := cmp.Diff(accepted, documented); diff != "" {
			t.Errorf("%s: query parameters (-accepted +documented):\n%s", route, diff)
		}
	}
}

// TestOpenAPISchemasNameEveryJSONField checks that each JSON object the
// program reads or writes and the schema that describes it name the same
// fields. The interop module validates what the program answers, but
// only for the fields its requests make appear, and a field the program
// reads and the document lacks (its objects take no other properties)
// makes a client generated from the document refuse it.
func TestOpenAPISchemasNameEveryJSONField(t *testing.T) {
	t.Parallel()
	var doc struct {
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	// A schema by its path: a component's name, then the names of
	// properties; "oneOf.N" is the N-th choice of a oneOf, "items" the
	// schema of an array's items.
	schema := func(path string) map[string]json.RawMessage {
		t.Helper()
		name, rest, _ := strings.Cut(path, ".")
		var s map[string]json.RawMessage
		if err := json.Unmarshal(doc.Components.Schemas[name], &s); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for steps := strings.Split(rest, "."); rest != "" && len(steps) > 0; steps = steps[1:] {
			var next json.RawMessage
			if steps[0] == "items" {
				next = s["items"]
			} else if steps[0] == "oneOf" {
				var choices []json.RawMessage
				_ = json.Unmarshal(s["oneOf"], &choices)
				i, _ := strconv.Atoi(steps[1])
				steps = steps[1:]
				if i < len(choices) {
					next = choices[i]
				}
			} else {
				var props map[string]json.RawMessage
				_ = json.Unmarshal(s["properties"], &props)
				next = props[steps[0]]
			}
			s = nil
			if err := json.Unmarshal(next, &s); err != nil || s == nil {
				t.Fatalf("%s: no such schema in the document", path)
			}
		}
		return s
	}
	types := map[string]reflect.Type{
		"Error":               reflect.TypeFor[errorJSON](),
		"Address":             reflect.TypeFor[addressJSON](),
		"Header":              reflect.TypeFor[headerJSON](),
		"Attachment":          reflect.TypeFor[attachmentJSON](),
		"Finding":             reflect.TypeFor[findingJSON](),
		"Rule":                reflect.TypeFor[ruleJSON](),
		"ARCResult":           reflect.TypeFor[arcJSON](),
		"ARCSet":              reflect.TypeFor[arcSetJSON](),
		"DKIMResult":          reflect.TypeFor[dkimJSON](),
		"Message":             reflect.TypeFor[messageJSON](),
		"Part":                reflect.TypeFor[partJSON](),
		"TLS":                 reflect.TypeFor[tlsJSON](),
		"Certificate":         reflect.TypeFor[certificateJSON](),
		"Auth":                reflect.TypeFor[authJSON](),
		"Line":                reflect.TypeFor[lineJSON](),
		"Sent":                reflect.TypeFor[stateJSON](),
		"Session":             reflect.TypeFor[sessionJSON](),
		"WaitTimeout":         reflect.TypeFor[waitTimeoutJSON](),
		"SessionWaitTimeout":  reflect.TypeFor[sessionWaitTimeoutJSON](),
		"SessionEndTimeout":   reflect.TypeFor[sessionEndTimeoutJSON](),
		"UnwantedMessages":    reflect.TypeFor[noneJSON](),
		"Server":              reflect.TypeFor[serverJSON](),
		"Server.tls.oneOf.0":  reflect.TypeFor[serverTLSJSON](),
		"Server.auth.oneOf.0": reflect.TypeFor[serverAuthJSON](),
		"Links":               reflect.TypeFor[linksJSON](),
		"Match":               reflect.TypeFor[findJSON](),
		"Fault":               reflect.TypeFor[faultJSON](),
		"Clock":               reflect.TypeFor[clockJSON](),
		"ClockWait":           reflect.TypeFor[clockWaitJSON](),
		"ClockAdvance":        reflect.TypeFor[advanceRequest](),
		"Fault.rateLimitPer":  reflect.TypeFor[rateLimitJSON](),
		"Fault.trickle":       reflect.TypeFor[trickleJSON](),
		"Fault.splitReply":    reflect.TypeFor[splitReplyJSON](),
		"Fault.idleReply":     reflect.TypeFor[idleReplyJSON](),
		"Fault.reply.oneOf.1": reflect.TypeFor[replyJSON](),
		"InboxRequest":        reflect.TypeFor[inboxRequest](),
		"Inbox":               reflect.TypeFor[inboxJSON](),
		"ExpectationRequest":  reflect.TypeFor[expectationRequest](),
		"Expectation":         reflect.TypeFor[expectationJSON](),
		"Check":               reflect.TypeFor[checkJSON](),
		"ClockWaitTimeout":    reflect.TypeFor[clockWaitTimeoutJSON](),
	}
	// Every object schema of the document is one of them, or of the
	// filter's (Want, below).
	for _, path := range objectSchemas(doc.Components.Schemas) {
		if _, ok := types[path]; !ok && !strings.HasPrefix(path, "Want") {
			t.Errorf("schema %s: no type of the program is checked against it", path)
		}
	}
	for path, typ := range types {
		s := schema(path)
		var props map[string]json.RawMessage
		_ = json.Unmarshal(s["properties"], &props)
		documented := slices.Sorted(maps.Keys(props))
		fields := jsonFields(typ)
		slices.Sort(fields)
		if diff := cmp.Diff(fields, documented); diff != "" {
			t.Errorf("schema %s and %v: fields (-program +document):\n%s", path, typ, diff)
		}
		if string(s["additionalProperties"]) != "false" {
			t.Errorf("schema %s allows other properties: the program writes and reads none", path)
		}
		// What the program writes has every field but those it omits
		// when empty (omitempty, omitzero): those, and only those, are
		// required. A request's fields are required by what the program
		// refuses (the interop module's docCheck.required checks it), not
		// by its struct; of a schema of requests and answers, those
		// required are still always written.
		var required []string
		_ = json.Unmarshal(s["required"], &required)
		slices.Sort(required)
		var always []string
		for _, f := range jsonFieldsOf(typ) {
			if !f.omitted {
				always = append(always, f.name)
			}
		}
		slices.Sort(always)
		switch requestSchemas[path] {
		case "request":
		case "both":
			for _, f := range required {
				if !slices.Contains(always, f) {
					t.Errorf("schema %s and %v: %s is required, and the program leaves it out of answers", path, typ, f)
				}
			}
		default:
			if diff := cmp.Diff(always, required); diff != "" {
				t.Errorf("schema %s and %v: required fields (-always written +required):\n%s", path, typ, diff)
			}
		}
	}
	// Want is read field by field (wantFromJSON): its fields are the
	// filter's parameters but for those that describe one element of a
	// list, header an object; an attachment and a DKIM signature are
	// objects of the keys of attachmentKeys and dkimKeys.
	var props map[string]json.RawMessage
	_ = json.Unmarshal(schema("Want")["properties"], &props)
	params := []string{"header"}
	for _, p := range wantParams {
		if p.of == "" {
			params = append(params, p.name)
		}
	}
	slices.Sort(params)
	if diff := cmp.Diff(params, slices.Sorted(maps.Keys(props))); diff != "" {
		t.Errorf("schema Want and the filter's parameters (-program +document):\n%s", diff)
	}
	for path, keys := range map[string][]string{
		"Want.attachment.items.oneOf.1": elementKeyNames(attachmentKeys),
		"Want.dkim.items.oneOf.1":       elementKeyNames(dkimKeys),
	} {
		s := schema(path)
		props = nil
		_ = json.Unmarshal(s["properties"], &props)
		if diff := cmp.Diff(slices.Sorted(slices.Values(keys)), slices.Sorted(maps.Keys(props))); diff != "" {
			t.Errorf("schema %s and the keys the program reads (-program +document):\n%s", path, diff)
		}
		if string(s["additionalProperties"]) != "false" {
			t.Errorf("schema %s allows other properties: the program reads none", path)
		}
	}
}

// The document's lists of names are the program's: a suite that reads
// them (or a client generated from them) knows every rule -without-rules
// takes and every server -persona imitates, and refuses no name the
// program answers with. Every enum of the document, in a schema or a
// parameter, is checked: one the program has no list for fails.
func TestOpenAPIEnumsAreTheProgramsNames(t *testing.T) {
	t.Parallel()
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas    map[string]json.RawMessage `json:"schemas"`
			Parameters map[string]openAPIParam    `json:"parameters"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	var ends []string
	for r := mocksmtp.EndReason(0); !strings.HasPrefix(r.String(), "EndReason("); r++ {
		ends = append(ends, r.String())
	}
	dkim := []string{string(mocksmtp.DKIMPass), string(mocksmtp.DKIMFail), string(mocksmtp.DKIMPermError), string(mocksmtp.DKIMTempError)}
	arc := []string{string(mocksmtp.ARCPass), string(mocksmtp.ARCFail), string(mocksmtp.ARCNone)}
	var versions []string
	for _, v := range slices.Sorted(maps.Keys(tlsVersions)) {
		versions = append(versions, v, "TLS "+v) // parseFaults takes both
	}
	// names[where]: the program's names for the enum at where, a schema's
	// path as objectSchemas gives it or "parameter NAME".
	names := map[string][]string{
		"Rule.rule":                      ruleNames(),
		"Server.persona":                 personaNames(),
		"ClockWait.kind":                 clock.KindNames(),
		"parameter kind.items":           clock.KindNames(),
		"Clock.mode":                     clockModes(),
		"Finding.severity":               {mocksmtp.SeverityError.String(), mocksmtp.SeverityWarning.String()},
		"Line.dir":                       {mocksmtp.FromClient.String(), mocksmtp.FromServer.String(), mocksmtp.Note.String()},
		"Session.ended":                  ends,
		"DKIMResult.status":              dkim,
		"ARCSet.seal":                    dkim,
		"ARCSet.signature":               dkim,
		"Want.dkim.items.oneOf.1.status": dkim,
		"parameter dkimStatus":           dkim,
		"ARCResult.status":               arc,
		"Want.arc":                       arc,
		"parameter arc":                  arc,
		"Fault.tlsVersion":               versions,
		"Part.body":                      {"text", "html"},         // partsOf
		"Server.tls.oneOf.0.mode":        {"starttls", "implicit"}, // newSetup
	}
	found := map[string][]string{}
	var walk func(where string, raw json.RawMessage)
	walk = func(where string, raw json.RawMessage) {
		var s struct {
			Enum       []string                   `json:"enum"`
			Properties map[string]json.RawMessage `json:"properties"`
			Items      json.RawMessage            `json:"items"`
			OneOf      []json.RawMessage          `json:"oneOf"`
		}
		if json.Unmarshal(raw, &s) != nil {
			return
		}
		if s.Enum != nil {
			if prev, ok := found[where]; ok && !slices.Equal(prev, s.Enum) {
				t.Errorf("%s: two enums, %q and %q", where, prev, s.Enum)
			}
			found[where] = s.Enum
		}
		for name, p := range s.Properties {
			walk(where+"."+name, p)
		}
		if s.Items != nil {
			walk(where+".items", s.Items)
		}
		for i, c := range s.OneOf {
			walk(where+".oneOf."+strconv.Itoa(i), c)
		}
	}
	for name, raw := range doc.Components.Schemas {
		walk(name, raw)
	}
	for _, p := range doc.Components.Parameters {
		walk("parameter "+p.Name, p.Schema)
	}
	for _, item := range doc.Paths {
		for _, raw := range item {
			var op openAPIOp
			_ = json.Unmarshal(raw, &op)
			for _, p := range op.Parameters {
				walk("parameter "+p.Name, p.Schema)
			}
		}
	}
	for _, where := range slices.Sorted(maps.Keys(found)) {
		want, ok := names[where]
		if !ok {
			t.Errorf("%s: enum %q, and the test knows no list of the program's for it", where, found[where])
			continue
		}
		if diff := cmp.Diff(slices.Sorted(slices.Values(want)), slices.Sorted(slices.Values(found[where]))); diff != "" {
			t.Errorf("%s: enum (-program +document):\n%s", where, diff)
		}
	}
	for where := range names {
		if _, ok := found[where]; !ok {
			t.Errorf("%s: no enum in the document", where)
		}
	}
}

// elementKeyNames returns the names of the keys of an element object.
func elementKeyNames[E any](keys []elementKey[E]) []string {
	var names []string
	for _, k := range keys {
		names = append(names, k.name)
	}
	return names
}

// objectSchemas returns the paths, as TestOpenAPISchemasNameEveryJSONField
// names them, of the schemas with properties among schemas and in them.
func objectSchemas(schemas map[string]json.RawMessage) []string {
	var paths []string
	var walk func(path string, raw json.RawMessage)
	walk = func(path string, raw json.RawMessage) {
		var s struct {
			Properties map[string]json.RawMessage `json:"properties"`
			Items      json.RawMessage            `json:"items"`
			OneOf      []json.RawMessage          `json:"oneOf"`
			AnyOf      []json.RawMessage          `json:"anyOf"`
			AllOf      []json.RawMessage          `json:"allOf"`
		}
		if json.Unmarshal(raw, &s) != nil {
			return
		}
		if s.Properties != nil {
			paths = append(paths, path)
		}
		for name, p := range s.Properties {
			walk(path+"."+name, p)
		}
		if s.Items != nil {
			walk(path+".items", s.Items)
		}
		for kind, choices := range map[string][]json.RawMessage{"oneOf": s.OneOf, "anyOf": s.AnyOf, "allOf": s.AllOf} {
			for i, c := range choices {
				walk(path+"."+kind+"."+strconv.Itoa(i), c)
			}
		}
	}
	for name, raw := range schemas {
		walk(name, raw)
	}
	slices.Sort(paths)
	return paths
}

// requestSchemas are the schemas of the checked ones that describe what
// the program reads: only ("request"), or also what it writes ("both":
// a fault's parts, which GET /api/faults gives with every field, and a
// request may leave some out).
var requestSchemas = map[string]string{
	"ClockAdvance": "request", "InboxRequest": "request", "ExpectationRequest": "request",
	"Fault.trickle": "both", "Fault.splitReply": "both", "Fault.idleReply": "both", "Fault.reply.oneOf.1": "both",
}

// jsonFields returns the names encoding/json gives the fields of struct
// type typ, those of embedded structs included.
func jsonFields(typ reflect.Type) []string {
	var names []string
	for _, f := range jsonFieldsOf(typ) {
		names = append(names, f.name)
	}
	return names
}

// writtenField is a field of a struct as encoding/json writes it: its name,
// and whether it is left out when empty (omitempty, omitzero).
type writtenField struct {
	name    string
	omitted bool
}

// jsonFieldsOf returns the fields encoding/json writes of struct type
// typ, those of embedded structs included.
func jsonFieldsOf(typ reflect.Type) []writtenField {
	var fields []writtenField
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		omitted := slices.ContainsFunc(strings.Split(opts, ","), func(o string) bool { return o == "omitempty" || o == "omitzero" })
		switch {
		case name == "-" || !f.IsExported():
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			fields = append(fields, jsonFieldsOf(f.Type)...)
		case name == "":
			fields = append(fields, writtenField{f.Name, omitted})
		default:
			fields = append(fields, writtenField{name, omitted})
		}
	}
	return fields
}

func TestOpenAPIDocumentIsServed(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	res, b := do(t, p, "GET", "/api/openapi.json", "")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json; charset=utf-8" || string(b) != string(openAPI) {
		t.Errorf("GET /api/openapi.json: %d %q, the document: %v", res.StatusCode, res.Header.Get("Content-Type"), string(b) == string(openAPI))
	}
}

// The README and the program's doc name only routes the program has and
// flags it takes: each curl line of the README (its method: -X, or POST
// for --json; its path), each "GET /api/..." of its prose and of the
// route lists of main.go and http.go, and each -flag of its "Use from any
// language" section.
func TestREADMENamesOnlyRealRoutesAndFlags(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := mocksmtp.New(mocksmtp.WithInMemory())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	a := newAPI(srv, slog.New(slog.DiscardHandler), false)
	// named[file][route]: file names the route.
	named := map[string]map[string]bool{}
	isRoute := func(file, method, path string) bool {
		path = strings.NewReplacer("{id}", "1", "{n}", "0").Replace(path)
		_, pattern := a.mux.Handler(httptest.NewRequest(method, "http://127.0.0.1"+path, nil))
		if !slices.Contains(a.routes, pattern) {
			return false
		}
		if named[file] == nil {
			named[file] = map[string]bool{}
		}
		named[file][pattern] = true
		return true
	}
	const readmeFile = "../../README.md"

	curls := 0
	for line := range strings.Lines(string(readme)) {
		if !strings.HasPrefix(line, "curl ") {
			continue
		}
		curls++
		fields := strings.Fields(line)
		method := "GET"
		if slices.Contains(fields, "--json") {
			method = "POST"
		}
		var path string
		for i, f := range fields {
			if f == "-X" && i+1 < len(fields) {
				method = fields[i+1]
			}
			if _, after, ok := strings.Cut(strings.Trim(f, `'"`), "localhost:8025"); ok && path == "" {
				path, _, _ = strings.Cut(after, "?")
			}
		}
		if path == "" || !isRoute(readmeFile, method, path) {
			t.Errorf("README: %s %s is no route of the program: %s", method, path, strings.TrimSpace(line))
		}
	}
	if curls < 20 {
		t.Errorf("README: %d curl lines, want the whole API's", curls)
	}

	mentioned := regexp.MustCompile(`\b((?:(?:GET|HEAD|POST|PUT|DELETE),?[ \t]+)+)(/api/[^\s` + "`" + `?,)\]:;"]*)`)
	for _, file := range []string{readmeFile, "main.go", "http.go"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		if strings.HasSuffix(file, ".go") { // its comments
			var comments []string
			for line := range strings.Lines(text) {
				if c, ok := strings.CutPrefix(strings.TrimSpace(line), "//"); ok {
					comments = append(comments, c)
				}
			}
			text = strings.Join(comments, "\n")
		}
		for _, m := range mentioned.FindAllStringSubmatch(text, -1) {
			path := strings.TrimSuffix(m[2], ".") // at the end of a sentence
			for method := range strings.FieldsSeq(strings.ReplaceAll(m[1], ",", " ")) {
				if !isRoute(file, method, path) {
					t.Errorf("%s: %s %s is no route of the program", file, method, path)
				}
			}
		}
	}

	// In prose, curl is GET: `curl localhost:8025/api/ca.pem`.
	for _, m := range regexp.MustCompile("`curl (localhost:8025)?(/api/[^\\s`?]*)").FindAllStringSubmatch(string(readme), -1) {
		if !isRoute(readmeFile, "GET", m[2]) {
			t.Errorf("README: GET %s is no route of the program", m[2])
		}
	}
	// The README shows the whole API, and the route lists of the doc
	// list it.
	for _, file := range []string{readmeFile, "main.go", "http.go"} {
		for _, route := range a.routes {
			if !named[file][route] {
				t.Errorf("%s does not name %s", file, route)
			}
		}
	}

	var usage bytes.Buffer
	if _, err := parseFlags([]string{"-h"}, &usage); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(usage.String(), -1) {
		flags[m[1]] = true
	}
	_, section, _ := strings.Cut(string(readme), "\n## Use from any language\n")
	section, _, _ = strings.Cut(section, "\n## ")
	for _, m := range regexp.MustCompile("(?:^|[\\s(`,\\[])-([a-z][a-z0-9-]+)").FindAllStringSubmatch(section, -1) {
		if !flags[m[1]] && m[1] != "lisen" { // lisen: the README's misspelt flag, and its hint
			t.Errorf("README: -%s is no flag of the program", m[1])
		}
	}
}
