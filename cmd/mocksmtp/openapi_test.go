package main

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
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
	Ref  string `json:"$ref"` // #/components/parameters/name
	Name string `json:"name"`
	In   string `json:"in"`
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

func TestOpenAPIDocumentIsServed(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	res, b := do(t, p, "GET", "/api/openapi.json", "")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json; charset=utf-8" || string(b) != string(openAPI) {
		t.Errorf("GET /api/openapi.json: %d %q, the document: %v", res.StatusCode, res.Header.Get("Content-Type"), string(b) == string(openAPI))
	}
}
