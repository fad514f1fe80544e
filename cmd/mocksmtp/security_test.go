package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// request sends method path with the given headers (and a JSON body when
// body is not empty) and returns the status and the error text.
func request(t *testing.T, p *proc, method, path, body string, header map[string]string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := newRequest(context.Background(), p, method, path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var e errorJSON
	_ = json.Unmarshal(b, &e)
	return res.StatusCode, e.Error
}

func TestCrossOriginRequestsAreRefused(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	sendMail(t, p.smtp, "a@example.com", []string{"b@example.com"}, "Subject: kept\r\n\r\nx\r\n")
	getJSON(t, p, "/api/wait?count=1", 200, nil)
	self := "http://" + p.http
	script := `[{"at": "MAIL", "reply": "550 5.7.1 planted"}]`

	type req struct{ method, path, body string }
	changes := []req{
		{"PUT", "/api/faults", script},
		{"POST", "/api/faults", script},
		{"DELETE", "/api/faults", ""},
		{"DELETE", "/api/messages", ""},
	}
	reads := []req{
		{"GET", "/api/messages", ""},
		{"GET", "/api/wait?count=1&timeout=1ms", ""},
	}
	refused := []struct {
		name   string
		header map[string]string
	}{
		{"cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}},
		{"same-site page on another port", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://localhost:3000"}},
		{"sandboxed or file page", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "null"}},
		{"old browser, foreign Origin", map[string]string{"Origin": "https://evil.example"}},
		{"old browser, other port", map[string]string{"Origin": "http://127.0.0.1:1"}},
	}
	for _, h := range refused {
		for _, rq := range append(changes, reads...) {
			t.Run(h.name+"/"+rq.method+" "+rq.path, func(t *testing.T) {
				status, msg := request(t, p, rq.method, rq.path, rq.body, h.header)
				if status != 403 || !strings.Contains(msg, "cross-origin request refused") {
					t.Errorf("%d %q, want 403 refusing a cross-origin request", status, msg)
				}
			})
		}
	}
	// Nothing changed.
	var faults []faultJSON
	getJSON(t, p, "/api/faults", 200, &faults)
	var list []messageJSON
	getJSON(t, p, "/api/messages", 200, &list)
	if len(faults) != 0 || len(list) != 1 {
		t.Fatalf("after refused requests: %d faults, %d messages; want 0 and 1", len(faults), len(list))
	}

	// The page itself, a typed URL and clients that are not browsers
	// may.
	allowed := []struct {
		name   string
		header map[string]string
	}{
		{"no browser headers (curl)", nil},
		{"same-origin page", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": self}},
		{"old browser, same origin", map[string]string{"Origin": self}},
		{"typed in the address bar", map[string]string{"Sec-Fetch-Site": "none"}},
	}
	for _, h := range allowed {
		t.Run("allowed/"+h.name, func(t *testing.T) {
			for _, rq := range []req{{"PUT", "/api/faults", script}, {"GET", "/api/faults", ""}, {"DELETE", "/api/faults", ""}} {
				if status, msg := request(t, p, rq.method, rq.path, rq.body, h.header); status >= 300 {
					t.Errorf("%s %s: %d %q, want success", rq.method, rq.path, status, msg)
				}
			}
		})
	}
	// The web page can be opened from a link anywhere.
	status, _ := request(t, p, "GET", "/", "", map[string]string{"Sec-Fetch-Site": "cross-site"})
	if status != 200 {
		t.Errorf("GET / from a link on another site: %d, want 200", status)
	}
}

func TestJSONBodiesNeedAJSONContentType(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	script := `[{"at": "MAIL", "reply": "550 5.7.1 planted"}]`
	for _, tt := range []struct {
		name, contentType string
		status            int
	}{
		{"a form", "application/x-www-form-urlencoded", 415},
		{"text/plain (a form with enctype=text/plain, sendBeacon)", "text/plain;charset=UTF-8", 415},
		{"multipart form", "multipart/form-data; boundary=x", 415},
		{"none", "", 415},
		{"JSON", "application/json", 200},
		{"JSON with a charset", "application/json; charset=utf-8", 200},
		{"a +json type", "application/vnd.mocksmtp+json", 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := newRequest(context.Background(), p, "PUT", "/api/faults", strings.NewReader(script))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			res, err := httpClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var e errorJSON
			_ = json.NewDecoder(res.Body).Decode(&e)
			res.Body.Close()
			if res.StatusCode != tt.status || tt.status == 415 && !strings.Contains(e.Error, "Content-Type: application/json") {
				t.Errorf("PUT with Content-Type %q: %d %q, want %d", tt.contentType, res.StatusCode, e.Error, tt.status)
			}
		})
	}
}

// An empty body is no body, whatever its Content-Type and however it is
// framed: a client that streams its body (chunked, of unknown length)
// and has nothing to send gets what Content-Length: 0 gets. A body that
// is not empty still needs a JSON Content-Type, and reaches the handler
// whole.
func TestEmptyChunkedBodyIsNoBody(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	for _, tt := range []struct {
		name, contentType, body string
		status                  int
		wantName                string
	}{
		{"empty, no Content-Type", "", "", 201, ""},
		{"empty, text/plain", "text/plain", "", 201, ""},
		{"empty, JSON", "application/json", "", 201, ""},
		{"one byte, no Content-Type", "", "x", 415, ""},
		{"JSON without a Content-Type", "", `{"name": "chunked"}`, 415, ""},
		{"JSON", "application/json", `{"name": "chunked"}`, 201, "chunked"},
		{"one byte of JSON", "application/json", "{", 400, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// A reader of unknown length: the client sends it chunked.
			body := io.NopCloser(strings.NewReader(tt.body))
			req, err := newRequest(context.Background(), p, "POST", "/api/inboxes", body)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = -1
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			res, err := httpClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.status {
				t.Fatalf("POST /api/inboxes, chunked %q, Content-Type %q: %d %s, want %d", tt.body, tt.contentType, res.StatusCode, b, tt.status)
			}
			var box inboxJSON
			if tt.status == 201 && (json.Unmarshal(b, &box) != nil || box.Name != tt.wantName || box.Domain == "") {
				t.Errorf("POST /api/inboxes, chunked %q: %s, want an inbox named %q", tt.body, b, tt.wantName)
			}
		})
	}
	// On the wire, as a client in another language streams it: a DELETE
	// and a POST with a last chunk and nothing before it.
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{"DELETE", "/api/messages", 204},
		{"DELETE", "/api/faults", 204},
		{"POST", "/api/inboxes", 201},
	} {
		c, err := net.DialTimeout("tcp", p.http, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n", tt.method, tt.path, p.http)
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			c.Close()
			t.Fatalf("%s %s: %v", tt.method, tt.path, err)
		}
		b, _ := io.ReadAll(res.Body)
		c.Close()
		if res.StatusCode != tt.status {
			t.Errorf("%s %s with an empty chunked body: %d %s, want %d", tt.method, tt.path, res.StatusCode, b, tt.status)
		}
	}
}

func TestOptionsAnswersAllowWithoutCORS(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	for _, tt := range []struct {
		path   string
		status int
		allow  string
	}{
		{"/api/faults", 204, "GET, PUT, POST, DELETE, OPTIONS"},
		{"/api/messages", 204, "GET, DELETE, OPTIONS"},
		{"/api/messages/1", 204, "GET, DELETE, OPTIONS"},
		{"/api/nothing", 404, ""},
		{"/", 204, "GET, HEAD, OPTIONS"},
	} {
		// A preflight from another origin, asking to PUT JSON.
		req, err := newRequest(context.Background(), p, "OPTIONS", tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Access-Control-Request-Method", "PUT")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		res, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tt.status || res.Header.Get("Allow") != tt.allow {
			t.Errorf("OPTIONS %s: %d, Allow %q; want %d, %q", tt.path, res.StatusCode, res.Header.Get("Allow"), tt.status, tt.allow)
		}
		for k := range res.Header {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("OPTIONS %s: CORS header %s: %q; want none", tt.path, k, res.Header.Get(k))
			}
		}
	}
}

func TestResetForgetsFindings(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	// No Date and no Message-ID: findings.
	sendMail(t, p.smtp, "a@example.com", []string{"b@example.com"}, "Subject: x\r\n\r\nx\r\n")
	getJSON(t, p, "/api/wait?count=1", 200, nil)
	var fs []findingJSON
	getJSON(t, p, "/api/findings", 200, &fs)
	if len(fs) == 0 {
		t.Fatal("no findings before the reset; the test needs some")
	}
	if res, _ := do(t, p, "DELETE", "/api/messages", ""); res.StatusCode != 204 {
		t.Fatalf("DELETE /api/messages: %d", res.StatusCode)
	}
	getJSON(t, p, "/api/findings", 200, &fs)
	if len(fs) != 0 {
		t.Errorf("findings after DELETE /api/messages: %+v, want none", fs)
	}
	// Those of the next test show.
	sendMail(t, p.smtp, "a@example.com", []string{"b@example.com"}, "Subject: y\r\n\r\ny\r\n")
	getJSON(t, p, "/api/wait?count=1", 200, nil)
	getJSON(t, p, "/api/findings", 200, &fs)
	if len(fs) == 0 || fs[0].Session != 2 {
		t.Errorf("findings of the next session: %+v, want session 2's", fs)
	}
}

// startInProcess serves the API of a fresh server in this process, with
// the given timeouts, and returns its address and its debug log. set,
// when not nil, changes the API before it serves (its limits).
func startInProcess(t *testing.T, to httpTimeouts, set func(*api)) (srv *mocksmtp.Server, addr string, log *output) {
	t.Helper()
	faults := new(faultState)
	srv, err := mocksmtp.New(mocksmtp.WithListenAddr("127.0.0.1:0"), faults.option(nil))
	if err != nil {
		t.Fatal(err)
	}
	log = newOutput()
	logger := slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a := newAPI(srv, logger, false)
	a.faults = faults
	if set != nil {
		set(a)
	}
	ws, err := startHTTP("127.0.0.1:0", a, logger, to)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ws.shutdown()
		srv.Close()
	})
	return srv, ws.addr, log
}

// closedBy reads from c until the server closes it, and returns what it
// read; it fails t if that takes more than 10 s.
func closedBy(t *testing.T, c net.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server did not close the connection within 10 s; read %q", b)
	}
	return string(b)
}

func TestHTTPTimeouts(t *testing.T) {
	t.Parallel()
	short := 200 * time.Millisecond
	// The write timeout is longer than the read timeout, as by default,
	// so that a request cut by the read timeout still gets its answer.
	_, addr, log := startInProcess(t, httpTimeouts{readHeader: short, read: short, write: 5 * time.Second, idle: short}, nil)
	// A wait outlasts them all (here, a short write timeout, and a read
	// timeout long enough for the handler to start on a busy machine).
	_, addrAllShort, _ := startInProcess(t, httpTimeouts{readHeader: time.Second, read: time.Second, write: short, idle: short}, nil)
	dial := func(addr string) net.Conn {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	t.Run("stalled headers", func(t *testing.T) {
		c := dial(addr)
		fmt.Fprintf(c, "GET /api/messages HTTP/1.1\r\nHost: %s\r\n", addr) // no blank line
		closedBy(t, c)
	})
	t.Run("stalled body", func(t *testing.T) {
		c := dial(addr)
		fmt.Fprintf(c, "PUT /api/faults HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n[", addr)
		got := closedBy(t, c)
		if !strings.HasPrefix(got, "HTTP/1.1 400 ") || !strings.Contains(got, "reading the body") {
			t.Errorf("a stalled body got %q, want 400 naming the body", got)
		}
	})
	t.Run("stalled chunked body", func(t *testing.T) {
		// No Content-Type: whether it is a body at all waits on its
		// first byte, which the read timeout bounds.
		c := dial(addr)
		fmt.Fprintf(c, "POST /api/inboxes HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\n\r\n", addr)
		got := closedBy(t, c)
		if !strings.HasPrefix(got, "HTTP/1.1 400 ") || !strings.Contains(got, "reading the body") {
			t.Errorf("a stalled chunked body got %q, want 400 naming the body", got)
		}
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		c := dial(addr)
		fmt.Fprintf(c, "GET /api/messages HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		got := closedBy(t, c)
		if !strings.HasPrefix(got, "HTTP/1.1 200 ") {
			t.Errorf("got %q, want a 200 and then the connection closed", got)
		}
	})
	// HEAD too: the GET routes answer it.
	for _, req := range []string{"GET /api/wait", "GET /api/wait/sessions", "HEAD /api/wait"} {
		t.Run("a wait outlasts them: "+req, func(t *testing.T) {
			c := dial(addrAllShort)
			// Twice and ten times the timeouts: the wait bounds itself.
			fmt.Fprintf(c, "%s?count=1&timeout=2s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", req, addrAllShort)
			br := bufio.NewReader(c)
			_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
			method, _, _ := strings.Cut(req, " ")
			res, err := http.ReadResponse(br, &http.Request{Method: method})
			if err != nil {
				t.Fatalf("the wait's answer: %v", err)
			}
			b, err := io.ReadAll(res.Body)
			if err != nil || res.StatusCode != 408 || method == "GET" && !strings.Contains(string(b), "waited 2s") {
				t.Errorf("wait: %d %q (%v), want 408 after 2s", res.StatusCode, b, err)
			}
		})
	}
	// Another method on the path of a wait is no wait: its 405 comes
	// within the timeouts, however slow its body.
	for _, req := range []string{"POST /api/wait", "DELETE /api/wait/sessions", "PUT /api/sessions/1/normalized"} {
		t.Run("a stalled body to "+req, func(t *testing.T) {
			c := dial(addr)
			fmt.Fprintf(c, "%s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n[", req, addr)
			if got := closedBy(t, c); !strings.HasPrefix(got, "HTTP/1.1 405 ") {
				t.Errorf("got %q, want 405", got)
			}
		})
	}
	// A wait with a body is refused (400), and a path that is none of
	// theirs is no wait (400, 404): the answer comes within the timeouts,
	// however slow the body. (On a server that gives the headers long
	// enough to be read on a busy machine: with the short read timeout for
	// them too, a request whose goroutine waited its turn was sometimes cut
	// before its headers were read, and closed with no answer.)
	_, addrSlowHeader, _ := startInProcess(t, httpTimeouts{readHeader: 5 * time.Second, read: short, write: 5 * time.Second, idle: short}, nil)
	for _, req := range []string{"GET /api/wait?count=1", "GET /api/sessions/abc/normalized", "GET /api/sessions/1/2/normalized", "GET /api/sessions/1/normalized?mask=("} {
		t.Run("a stalled body to "+req, func(t *testing.T) {
			c := dial(addrSlowHeader)
			fmt.Fprintf(c, "%s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n[", req, addrSlowHeader)
			if got := closedBy(t, c); !strings.HasPrefix(got, "HTTP/1.1 4") {
				t.Errorf("got %q, want a 4xx", got)
			}
		})
	}
	log.waitFor(t, regexp.MustCompile(`msg="http connection closed"`))
}
