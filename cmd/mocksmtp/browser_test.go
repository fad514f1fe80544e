package main

// The web page, tested in a real browser: headless Chromium (Debian's
// chromium package), driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: JSON messages separated by NUL bytes on file
// descriptors 3 and 4), so no WebSocket or third-party client is needed.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/google/go-cmp/cmp"
)

// browserNames are the names Chromium goes by, Debian's first.
var browserNames = []string{"chromium", "chromium-browser", "google-chrome"}

// cdp is a connection to a browser over the DevTools protocol.
type cdp struct {
	cmd    *exec.Cmd
	w      io.WriteCloser
	mu     sync.Mutex // guards nextID and calls
	nextID int
	calls  map[int]chan cdpReply
	exited chan struct{}
}

type cdpReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// startBrowser starts headless Chromium, or skips the test when there is
// none.
func startBrowser(t *testing.T) *cdp {
	t.Helper()
	var path string
	for _, name := range browserNames {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" && os.Getenv("MOCKSMTP_REQUIRE_CLIENTS") != "" { // CI installs it
		t.Fatal("no Chromium found (looked for chromium, chromium-browser, google-chrome), and MOCKSMTP_REQUIRE_CLIENTS is set")
	}
	if path == "" {
		t.Skip("no Chromium found (looked for chromium, chromium-browser, google-chrome): skipping the browser test; on Debian, apt-get install chromium")
	}
	toBrowser, browserIn, err := os.Pipe() // the browser reads fd 3
	if err != nil {
		t.Fatal(err)
	}
	browserOut, fromBrowser, err := os.Pipe() // and writes fd 4
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path,
		"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir="+t.TempDir(),
		"--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{toBrowser, fromBrowser}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	toBrowser.Close()
	fromBrowser.Close()
	c := &cdp{cmd: cmd, w: browserIn, calls: make(map[int]chan cdpReply), exited: make(chan struct{})}
	go c.read(browserOut)
	go func() {
		_ = cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = c.call(ctx, "", "Browser.close", nil)
		select {
		case <-c.exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-c.exited
		}
		browserIn.Close()
		browserOut.Close()
		if t.Failed() {
			t.Logf("chromium stderr (last 2000 bytes):\n%s", tail(stderr.String(), 2000))
		}
	})
	return c
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// read dispatches the browser's replies to their calls; events are
// ignored.
func (c *cdp) read(r io.Reader) {
	br := bufio.NewReader(r)
	for {
		msg, err := br.ReadBytes(0)
		if err != nil {
			c.mu.Lock()
			for id, ch := range c.calls {
				close(ch)
				delete(c.calls, id)
			}
			c.mu.Unlock()
			return
		}
		var m struct {
			ID int `json:"id"`
			cdpReply
		}
		if json.Unmarshal(msg[:len(msg)-1], &m) != nil || m.ID == 0 {
			continue
		}
		c.mu.Lock()
		ch := c.calls[m.ID]
		delete(c.calls, m.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- m.cdpReply
		}
	}
}

// call sends a command (to the page session, or to the browser when
// session is "") and waits for its reply.
func (c *cdp) call(ctx context.Context, session, method string, params any) (json.RawMessage, error) {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan cdpReply, 1)
	c.calls[id] = ch
	c.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	if _, err := c.w.Write(append(b, 0)); err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("%s: the browser went away", method)
		}
		if r.Error != nil {
			return nil, fmt.Errorf("%s: %s", method, r.Error.Message)
		}
		return r.Result, nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.calls, id)
		c.mu.Unlock()
		return nil, fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// page is one browser tab.
type page struct {
	t       *testing.T
	c       *cdp
	session string
}

// open opens url in a new tab.
func (c *cdp) open(t *testing.T, url string) *page {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"})
	if err != nil {
		t.Fatal(err)
	}
	var target struct{ TargetID string }
	if err := json.Unmarshal(res, &target); err != nil {
		t.Fatal(err)
	}
	res, err = c.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true})
	if err != nil {
		t.Fatal(err)
	}
	var attached struct{ SessionID string }
	if err := json.Unmarshal(res, &attached); err != nil {
		t.Fatal(err)
	}
	p := &page{t: t, c: c, session: attached.SessionID}
	p.navigate(url)
	return p
}

// openList opens the message list of the program at addr (its HTTP
// address) on a desktop screen and waits until it lists n messages.
func (c *cdp) openList(t *testing.T, addr string, n int) *page {
	t.Helper()
	pg := c.open(t, "about:blank")
	pg.emulate(1280, 800, false)
	pg.navigate("http://" + addr + "/#messages")
	pg.waitFor(fmt.Sprintf(`document.querySelectorAll("#messages li.message").length === %d`, n))
	return pg
}

// navigate loads url in the page. Page.navigate answers once the new
// document is committed, so that what is evaluated next runs in it.
func (p *page) navigate(url string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := p.c.call(ctx, p.session, "Page.navigate", map[string]any{"url": url})
	if err != nil {
		p.t.Fatal(err)
	}
	var nav struct{ ErrorText string }
	if err := json.Unmarshal(res, &nav); err != nil || nav.ErrorText != "" {
		p.t.Fatalf("navigating to %s: %v %s", url, err, nav.ErrorText)
	}
}

// eval evaluates a JavaScript expression (awaiting a promise) and
// decodes its value into v.
func (p *page) eval(expr string, v any) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := p.c.call(ctx, p.session, "Runtime.evaluate", map[string]any{
		"expression": expr, "awaitPromise": true, "returnByValue": true,
	})
	if err != nil {
		p.t.Fatal(err)
	}
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		p.t.Fatal(err)
	}
	if e := r.ExceptionDetails; e != nil {
		p.t.Fatalf("JavaScript: %s %s", e.Text, e.Exception.Description)
	}
	if v != nil {
		if len(r.Result.Value) == 0 { // undefined
			r.Result.Value = json.RawMessage("null")
		}
		if err := json.Unmarshal(r.Result.Value, v); err != nil {
			p.t.Fatalf("decoding %s: %v", r.Result.Value, err)
		}
	}
}

// waitFor waits, in the page, until the JavaScript expression cond is
// truthy (checked whenever the DOM changes), and returns its value as a
// string; it fails the test after 10 s.
func (p *page) waitFor(cond string) string {
	p.t.Helper()
	js := `new Promise((resolve, reject) => {
		const check = () => { try { return (` + cond + `); } catch (e) { return null; } };
		const v = check();
		if (v) { resolve(String(v)); return; }
		const obs = new MutationObserver(() => {
			const v = check();
			if (v) { obs.disconnect(); clearTimeout(timer); resolve(String(v)); }
		});
		obs.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
		const timer = setTimeout(() => { obs.disconnect(); reject(new Error("timed out waiting for " + ` + jsString(cond) + ` + "; the page: " + document.body.innerText)); }, 10000);
	})`
	var s string
	p.eval(js, &s)
	return s
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestWebPageLearnsTheFiltersFromTheOpenAPIDocument checks that a filter
// the page was never told of reaches its search from the document the
// program serves: the API stands behind a handler that adds a filter,
// subjectIs (the subject filter under a new name), to the document and
// to GET /api/messages, as a filter added to filter.go and openapi.json
// would be. The search names it in another case, which the API refuses
// unless the page learned its name.
func TestWebPageLearnsTheFiltersFromTheOpenAPIDocument(t *testing.T) {
	t.Parallel()
	browser := startBrowser(t)
	var doc map[string]any
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	get := doc["paths"].(map[string]any)["/api/messages"].(map[string]any)["get"].(map[string]any)
	get["parameters"] = append(get["parameters"].([]any), map[string]any{"name": "subjectIs", "in": "query", "schema": map[string]any{"type": "string"}})
	withFilter, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	srv, p := serveWrapped(t, func(api http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch q := r.URL.Query(); {
			case r.URL.Path == "/api/openapi.json":
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				_, _ = w.Write(withFilter)
				return
			case r.URL.Path == "/api/messages" && q.Has("subjectIs"):
				q["subject"] = q["subjectIs"]
				q.Del("subjectIs")
				r.URL.RawQuery = q.Encode()
			}
			api.ServeHTTP(w, r)
		})
	})
	sendMail(t, srv.Addr(), "alice@example.com", []string{"bob@example.com"}, "Subject: Welcome\r\n\r\nhi\r\n")
	sendMail(t, srv.Addr(), "alice@example.com", []string{"bob@example.com"}, "Subject: Welcome back\r\n\r\nhi\r\n")

	pg := browser.openList(t, p.http, 2)
	pg.search("SUBJECTIS:Welcome", "1")
	pg.search(`subjectis:"Welcome back"`, "2")
	pg.search("", "2,1")
}

func TestWebPageInABrowser(t *testing.T) {
	t.Parallel()
	browser := startBrowser(t)
	p := start(t, nil, "-quiet")
	pg := browser.open(t, "http://"+p.http+"/")

	// The page is up and has polled once: nothing yet.
	pg.waitFor(`document.getElementById("status").textContent.startsWith("live")`)
	if got := pg.waitFor(`document.getElementById("count-messages").textContent`); got != "0" {
		t.Fatalf("message count before any mail = %q", got)
	}

	// A message arrives; the page shows it without a reload.
	html := `<p>Hello <b>Bob</b>.</p><script>parent.postMessage("escaped", "*")</script>`
	mail := strings.Replace(multipartMail, "<p>Hello <b>Bob</b>.</p>", html, 1)
	sendMail(t, p.smtp, "alice@example.com", []string{"bob@example.com"}, mail)
	subject := pg.waitFor(`document.querySelector('#messages li.message[data-id="1"] .subject')?.textContent`)
	if subject != "Café report" {
		t.Errorf("the listed subject = %q, want %q", subject, "Café report")
	}

	// The message: its text, its attachment, its HTML in a sandbox.
	pg.eval(`location.hash = "#message/1/text"`, nil)
	text := pg.waitFor(`document.querySelector('#message-detail[data-view="text"] pre.text')?.textContent`)
	if strings.TrimSpace(text) != "Hello Bob." {
		t.Errorf("text view = %q", text)
	}
	var att struct{ Href, Download, Label string }
	pg.eval(`(() => { const a = document.querySelector("#message-detail li.attachment a");
		return {href: a.getAttribute("href"), download: a.getAttribute("download"), label: a.textContent}; })()`, &att)
	if att != (struct{ Href, Download, Label string }{"/api/messages/1/attachments/0", "report.pdf", "report.pdf"}) {
		t.Errorf("attachment link = %+v", att)
	}
	var fetched string
	pg.eval(`fetch("/api/messages/1/attachments/0").then(r => r.text())`, &fetched)
	if fetched != "%PDF-1.4\n" {
		t.Errorf("the attachment link serves %q", fetched)
	}

	pg.eval(`location.hash = "#message/1/html"`, nil)
	pg.waitFor(`document.querySelector('#message-detail[data-view="html"] iframe')`)
	var frame struct {
		Sandbox       *string
		Srcdoc        string
		ReadableByApp bool
	}
	pg.eval(`(() => { const f = document.querySelector("#message-detail iframe");
		let readable = false; try { readable = f.contentDocument !== null; } catch (e) {}
		return {sandbox: f.getAttribute("sandbox"), srcdoc: f.srcdoc, readableByApp: readable}; })()`, &frame)
	// By default remote images are blocked by a policy before the HTML.
	srcdoc, blocked := strings.CutPrefix(frame.Srcdoc, `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data: blob:; style-src 'unsafe-inline'; font-src data:">`)
	if frame.Sandbox == nil || *frame.Sandbox != "" || !blocked || strings.TrimSpace(srcdoc) != html || frame.ReadableByApp {
		sandbox := "(none)"
		if frame.Sandbox != nil {
			sandbox = fmt.Sprintf("%q", *frame.Sandbox)
		}
		t.Errorf("HTML iframe: sandbox %s, srcdoc %q, readable by the page %v; want sandbox=\"\", a policy and the HTML, an origin of its own",
			sandbox, frame.Srcdoc, frame.ReadableByApp)
	}

	// The session and its transcript.
	pg.eval(`location.hash = "#session/1"`, nil)
	line := pg.waitFor(`[...document.querySelectorAll("#session-detail ol.transcript li.C .line")].map(l => l.textContent).find(t => t.startsWith("MAIL FROM"))`)
	if !strings.HasPrefix(line, "MAIL FROM:<alice@example.com>") {
		t.Errorf("transcript line = %q", line)
	}
	var links string
	pg.eval(`[...document.querySelectorAll("#session-detail dl.fields dd")].find(d => d.querySelector("a[href^='#message/']"))?.textContent`, &links)
	if links != "message 1" {
		t.Errorf("the session's messages read %q, want a link \"message 1\"", links)
	}

	// Delete all empties the page and the server.
	pg.eval(`document.getElementById("reset").click()`, nil)
	pg.waitFor(`document.querySelectorAll("#messages li.message").length === 0 && document.getElementById("count-messages").textContent === "0"`)
	var list []messageJSON
	getJSON(t, p, "/api/messages", 200, &list)
	if len(list) != 0 {
		t.Errorf("after Delete all, the API lists %d messages", len(list))
	}

	// Another client resets between tests: the page follows.
	sendMail(t, p.smtp, "a@example.com", []string{"b@example.com"}, "Subject: second\r\n\r\nx\r\n")
	pg.waitFor(`document.querySelector('#messages li.message[data-id="2"]')`)
	do(t, p, "DELETE", "/api/messages", "")
	pg.waitFor(`document.querySelectorAll("#messages li.message").length === 0`)
}

// attackPage is a page of another origin that tries to plant a fault in
// mocksmtp the three ways a page can send a cross-origin POST without a
// CORS preflight, and a fourth that needs one.
const attackPage = `<!doctype html><title>evil</title><iframe name="sink"></iframe><script>
async function attack(target) {
	const body = JSON.stringify([{at: "MAIL", reply: "550 5.7.1 planted"}]);
	const results = [];
	try { await fetch(target + "/api/faults", {method: "POST", mode: "no-cors", body}); results.push("no-cors fetch sent"); }
	catch (e) { results.push("no-cors fetch: " + e.message); }
	results.push("beacon queued: " + navigator.sendBeacon(target + "/api/faults", body));
	await new Promise((resolve) => {
		const f = document.createElement("form");
		f.method = "POST"; f.action = target + "/api/faults"; f.enctype = "text/plain"; f.target = "sink";
		const i = document.createElement("input");
		i.name = body.slice(0, -2) + ', "x": "'; i.value = '"}]';
		f.append(i);
		document.body.append(f);
		document.querySelector("iframe").onload = resolve;
		f.submit();
	});
	results.push("form submitted");
	try {
		await fetch(target + "/api/faults", {method: "PUT", headers: {"Content-Type": "application/json"}, body});
		results.push("CORS PUT went through");
	} catch (e) { results.push("CORS PUT refused by the browser"); }
	return results;
}
</script>`

func TestCrossOriginPagesCannotChangeStateInABrowser(t *testing.T) {
	t.Parallel()
	browser := startBrowser(t)
	p := start(t, nil, "-quiet")
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, attackPage)
	}))
	defer evil.Close()

	pg := browser.open(t, evil.URL+"/")
	pg.eval(`new Promise((resolve) => document.readyState === "complete" ? resolve() : addEventListener("load", () => resolve()))`, nil)
	var results []string
	pg.eval(`attack(`+jsString("http://"+p.http)+`)`, &results)
	want := []string{"no-cors fetch sent", "beacon queued: true", "form submitted", "CORS PUT refused by the browser"}
	if diff := cmp.Diff(want, results); diff != "" {
		t.Errorf("the attacks (-want +got):\n%s", diff)
	}
	// The three simple requests reached mocksmtp and were refused.
	p.stderr.waitFor(t, regexp.MustCompile(`(?s)(refused a cross-origin request" method=POST path=/api/faults.*){3}`))
	var faults []faultJSON
	getJSON(t, p, "/api/faults", 200, &faults)
	if len(faults) != 0 {
		t.Fatalf("a page of another origin planted faults: %+v", faults)
	}

	// mocksmtp's own page may.
	own := browser.open(t, "http://"+p.http+"/")
	var status int
	own.eval(`fetch("/api/faults", {method: "PUT", headers: {"Content-Type": "application/json"},
		body: JSON.stringify([{at: "MAIL", reply: "550 5.7.1 from the page"}])}).then(r => r.status)`, &status)
	getJSON(t, p, "/api/faults", 200, &faults)
	if status != 200 || len(faults) != 1 {
		t.Errorf("PUT from mocksmtp's own page: %d, %d faults; want 200 and 1", status, len(faults))
	}
}

// screenshots names a directory to keep the web page's screenshots in,
// for a person to look at: go test -run Browser -screenshots /tmp/shots.
// Without it they go to the test's temporary directory.
var screenshots = flag.String("screenshots", "", "keep the web page's screenshots in this `directory`")

// emulate sets the page's viewport, locale and time zone.
func (p *page) emulate(width, height int, mobile bool) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := p.c.call(ctx, p.session, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile,
	}); err != nil {
		p.t.Fatal(err)
	}
}

// screenshot saves a PNG of the page as name.png and checks that it is
// one of the viewport's size.
func (p *page) screenshot(name string, width, height int) image.Image {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := p.c.call(ctx, p.session, "Page.captureScreenshot", map[string]any{"format": "png"})
	if err != nil {
		p.t.Fatal(err)
	}
	var shot struct{ Data []byte }
	if err := json.Unmarshal(res, &shot); err != nil {
		p.t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot.Data))
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	if b := img.Bounds(); b.Dx() != width || b.Dy() != height {
		p.t.Errorf("screenshot %s is %dx%d, want %dx%d", name, b.Dx(), b.Dy(), width, height)
	}
	dir := *screenshots
	if dir == "" {
		dir = p.t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), shot.Data, 0o644); err != nil {
		p.t.Fatal(err)
	}
	return img
}

// locale makes the page format dates as in Germany, in UTC.
func (p *page) locale(locale, zone string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := p.c.call(ctx, p.session, "Emulation.setLocaleOverride", map[string]any{"locale": locale}); err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.c.call(ctx, p.session, "Emulation.setTimezoneOverride", map[string]any{"timezoneId": zone}); err != nil {
		p.t.Fatal(err)
	}
}

// typeSearch puts q in the search box as a user would, and submits it.
func (p *page) typeSearch(q string) {
	p.t.Helper()
	p.eval(`(() => { const i = document.getElementById("q"); i.value = `+jsString(q)+`;
		i.dispatchEvent(new Event("input")); i.form.requestSubmit(); })()`, nil)
}

// search types q and waits for the list to show the messages ids
// ("2,1": newest first), failing the test when it does not.
func (p *page) search(q, ids string) {
	p.t.Helper()
	p.typeSearch(q)
	p.waitFor(`(() => { const ids = [...document.querySelectorAll("#messages li.message")].map(l => l.dataset.id).join(",");
		return ids === ` + jsString(ids) + ` && ids; })()`)
}

// badge is a listed message's badge: its text, class and tooltip.
type badge struct{ ID, Text, Class, Title string }

// badges returns the badge (sel: ".dkim-badge") of each message listed,
// newest first, empty where a message has none.
func (p *page) badges(sel string) []badge {
	p.t.Helper()
	var bs []badge
	p.eval(`[...document.querySelectorAll("#messages li.message")].map(l => { const b = l.querySelector(`+jsString(sel)+`);
		return {id: l.dataset.id, text: b ? b.textContent : "", class: b ? b.className : "", title: b ? b.title : ""}; })`, &bs)
	return bs
}

// listed returns the IDs of the messages listed, newest first.
func (p *page) listed() string {
	p.t.Helper()
	var ids string
	p.eval(`[...document.querySelectorAll("#messages li.message")].map(l => l.dataset.id).join(",")`, &ids)
	return ids
}

const featureMail = "From: Alice <alice@example.com>\r\n" +
	"To: bob@example.com\r\n" +
	"Subject: Quarterly report\r\n" +
	"Message-ID: <q1@example.com>\r\n" +
	"X-lower-case: as sent\r\n" +
	"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n" +
	"\r\n" +
	"--outer\r\n" +
	"Content-Type: multipart/alternative; boundary=\"inner\"\r\n" +
	"\r\n" +
	"--inner\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"\r\n" +
	"The report is attached.\r\n" +
	"--inner\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"\r\n" +
	"<h1 style=\"color:#2456c7\">Quarterly report</h1><p>The report is <b>attached</b>.</p>" +
	"<img alt=\"pixel\" src=\"PIXEL/pixel.gif\" width=\"1\" height=\"1\"><link rel=\"prefetch\" href=\"PIXEL/prefetch\">\r\n" +
	"--inner--\r\n" +
	"--outer\r\n" +
	"Content-Type: application/pdf\r\n" +
	"Content-Disposition: attachment; filename=\"report.pdf\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"JVBERi0xLjQK\r\n" +
	"--outer--\r\n"

func TestWebPageSearchPartsSourceImagesDatesAndNarrowLayout(t *testing.T) {
	t.Parallel()
	browser := startBrowser(t)
	p := start(t, nil, "-quiet")
	// A tracking pixel, and a prefetch that tracks as well as it does:
	// what they load, by path.
	loads := make(chan string, 10)
	pixel := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		loads <- r.URL.Path
		w.Header().Set("Content-Type", "image/gif")
		_, _ = w.Write([]byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"))
	}))
	defer pixel.Close()
	mail := strings.ReplaceAll(featureMail, "PIXEL", pixel.URL)
	sendMail(t, p.smtp, "alice@example.com", []string{"bob@example.com"}, mail)
	sendMail(t, p.smtp, "app@example.com", []string{"carol@example.com"}, "Subject: Your code\r\n\r\nYour code: 123456\r\n")
	getJSON(t, p, "/api/wait?count=2", 200, nil)

	pg := browser.open(t, "about:blank")
	pg.locale("de-DE", "UTC")
	pg.emulate(1280, 800, false)
	pg.navigate("http://" + p.http + "/#messages")
	pg.waitFor(`document.querySelectorAll("#messages li.message").length === 2`)

	// Search with the API's filters; words alone search the subject.
	for _, tt := range []struct{ q, want string }{
		{"to:bob@example.com", "1"},
		{"TO:carol@example.com", "2"},
		{"code", "2"},
		{`subject:"Quarterly report" header.x-lower-case:"as sent"`, "1"},
		{"ATTACHMENTCONTENTTYPE:application/pdf", "1"},
		// want, the filter in JSON, named as the page learned it from
		// the OpenAPI document: never in app.js.
		{`WANT:{"subject":"Your code"}`, "2"},
		{"", "2,1"},
	} {
		pg.search(tt.q, tt.want)
	}
	pg.typeSearch("cuont:1")
	if msg := pg.waitFor(`!document.getElementById("search-error").hidden && document.getElementById("search-error").textContent`); !strings.Contains(msg, `unknown query parameter "cuont"`) {
		t.Errorf("a bad search shows %q, want the API's error", msg)
	}
	pg.typeSearch("")
	pg.waitFor(`document.getElementById("search-error").hidden && document.querySelectorAll("#messages li.message").length === 2`)

	// Dates: compact in the list, in the user's locale in full in the
	// message, the exact instant in a tooltip.
	pg.eval(`location.hash = "#message/1/html"`, nil)
	date := pg.waitFor(`document.querySelector("#message-detail dd.date time")?.textContent`)
	if date != "02.01.2006, 15:04:05" {
		t.Errorf("the Date in de-DE, UTC reads %q, want 02.01.2006, 15:04:05", date)
	}
	var listTime struct{ Text, Title string }
	pg.eval(`(() => { const t = document.querySelector('#messages li.message[data-id="1"] time'); return {text: t.textContent, title: t.title}; })()`, &listTime)
	if !regexp.MustCompile(`^\d\d:\d\d:\d\d$`).MatchString(listTime.Text) || !strings.HasSuffix(listTime.Title, "Z") {
		t.Errorf("the list's time of today's message: %q (tooltip %q), want HH:MM:SS and an ISO instant", listTime.Text, listTime.Title)
	}

	// The HTML beside its source; remote images blocked until allowed.
	pg.eval(`document.addEventListener("load", (e) => { if (e.target.matches && e.target.matches("iframe.html")) e.target.dataset.loaded = "yes"; }, true)`, nil)
	pg.eval(`location.hash = "#message/1/html"; document.querySelector("iframe.html").srcdoc += ""`, nil) // load once more, observed
	pg.waitFor(`document.querySelector("iframe.html")?.dataset.loaded`)
	select {
	case path := <-loads:
		t.Errorf("the mail loaded %s from its server while remote images are blocked", path)
	default:
	}
	var split struct {
		Source       string
		SideBySide   bool
		BlockChecked bool
	}
	pg.eval(`(() => { const f = document.querySelector(".html-split .rendered iframe").getBoundingClientRect();
		const s = document.querySelector(".html-split .source pre");
		return {source: s.textContent, sideBySide: s.getBoundingClientRect().left >= f.right,
			blockChecked: document.getElementById("block-remote-images").checked}; })()`, &split)
	if !strings.HasPrefix(split.Source, `<h1 style="color:#2456c7">Quarterly report</h1>`) || !split.SideBySide || !split.BlockChecked {
		t.Errorf("HTML view: source %q, beside the rendering %v, blocking checked %v", split.Source, split.SideBySide, split.BlockChecked)
	}
	pg.screenshot("wide-html", 1280, 800)
	pg.eval(`document.getElementById("block-remote-images").click()`, nil)
	select {
	case <-loads:
	case <-time.After(10 * time.Second):
		t.Errorf("the tracking pixel did not load once remote images were allowed")
	}
	pg.eval(`document.getElementById("block-remote-images").click()`, nil) // block again, for the next tests

	// The MIME part tree, each leaf linked to what it is.
	pg.eval(`location.hash = "#message/1/parts"`, nil)
	tree := pg.waitFor(`document.querySelector("#message-detail ul.parts")?.innerText`)
	for _, want := range []string{"multipart/mixed", "multipart/alternative", "text/plain", "→ the text", "text/html", "→ the HTML", "application/pdf", `"report.pdf" · attachment · base64`, "→ attachment 0"} {
		if !strings.Contains(tree, want) {
			t.Errorf("the part tree lacks %q:\n%s", want, tree)
		}
	}
	pg.screenshot("wide-parts", 1280, 800)

	// Header names as sent.
	pg.eval(`location.hash = "#message/1/headers"`, nil)
	names := pg.waitFor(`[...document.querySelectorAll("#message-detail table.headers tr td:first-child")].map(td => td.textContent).join(",")`)
	if !strings.Contains(names, "Message-ID,X-lower-case,Date,MIME-Version") {
		t.Errorf("header names %q, want them as sent", names)
	}

	// A narrow window: the list, or the message with a way back; nothing
	// wider than the window.
	pg.emulate(390, 844, true)
	pg.eval(`location.hash = "#messages"`, nil)
	pg.waitFor(`document.getElementById("list").offsetParent !== null && document.getElementById("detail").offsetParent === null`)
	pg.screenshot("narrow-list", 390, 844)
	for _, view := range []string{"text", "html", "parts", "headers", "raw", "transcript"} {
		pg.eval(`location.hash = "#message/1/`+view+`"`, nil)
		pg.waitFor(`document.querySelector('#message-detail[data-view="` + view + `"]') && document.getElementById("list").offsetParent === null && document.querySelector("a.back").offsetParent !== null`)
		var overflow struct{ Scroll, Inner int }
		pg.eval(`({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})`, &overflow)
		if overflow.Scroll > overflow.Inner {
			t.Errorf("narrow %s view: %d px wide in a %d px window", view, overflow.Scroll, overflow.Inner)
		}
		if view == "html" || view == "parts" {
			pg.screenshot("narrow-"+view, 390, 844)
		}
	}
	pg.eval(`document.querySelector("a.back").click()`, nil)
	pg.waitFor(`location.hash === "#messages" && document.getElementById("list").offsetParent !== null`)
}

// The transcript of a session the cap cut: its first lines, a note naming
// the lines forgotten, its last lines, each numbered; a non-smtp finding,
// shown as every finding is; a search in an inbox.
func TestWebPageTranscriptCapFindingAndInboxSearch(t *testing.T) {
	t.Parallel()
	browser := startBrowser(t)
	p := start(t, nil, "-max-transcript-lines", "20")
	longSession(t, p.smtp, 30)
	httpToSMTP(t, p.smtp)
	p.stdout.waitFor(t, regexp.MustCompile(`session 2 .* ended: server closed\n`))
	var s sessionJSON
	getJSON(t, p, "/api/sessions/1", 200, &s)

	pg := browser.open(t, "about:blank")
	pg.emulate(1280, 800, false)
	pg.navigate("http://" + p.http + "/#session/1")
	note := pg.waitFor(`document.querySelector("#session-detail p.elided")?.textContent`)
	if want := fmt.Sprintf("… lines 3 to %d forgotten (the transcript cap, -max-transcript-lines) …", s.Forgotten); note != want {
		t.Errorf("the note reads %q, want %q", note, want)
	}
	var numbers struct{ Head, Tail []string }
	pg.eval(`(() => { const ns = (sel) => [...document.querySelectorAll(sel + " li .n")].map(n => n.textContent);
		return {head: ns("#session-detail ol.transcript.head"), tail: ns("#session-detail ol.transcript:not(.head)")}; })()`, &numbers)
	var tail []string
	for i := range s.Transcript {
		tail = append(tail, fmt.Sprint(s.Forgotten+1+i))
	}
	if diff := cmp.Diff(struct{ Head, Tail []string }{[]string{"1", "2"}, tail}, numbers); diff != "" {
		t.Errorf("line numbers (-want +got):\n%s", diff)
	}
	pg.eval(`document.querySelector("#session-detail p.elided").scrollIntoView()`, nil)
	pg.screenshot("wide-transcript-cap", 1280, 800)

	pg.eval(`location.hash = "#session/2"`, nil)
	finding := pg.waitFor(`document.querySelector("#session-detail .finding")?.textContent`)
	if want := `error non-smtp (RFC 5321 4.1) line 2: "POST" is not an SMTP command but HTTP`; !strings.HasPrefix(finding, want) {
		t.Errorf("the finding reads %q, want it to start %q", finding, want)
	}
	if line := pg.waitFor(`document.querySelector("#session-detail ol.transcript li.C .line")?.textContent`); line != "POST /form HTTP/1.1" {
		t.Errorf("the transcript's line 2 reads %q", line)
	}

	// The search box takes the inbox parameter.
	var box inboxJSON
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "web"}`, 201, &box)
	sendMail(t, p.smtp, "app@example.com", []string{"bob@example.com"}, mailTo("bob@example.com", "Elsewhere", "1", "x"))
	sendMail(t, p.smtp, "app@example.com", []string{box.Address}, mailTo(box.Address, "In the inbox", "2", "x"))
	pg.eval(`location.hash = "#messages"`, nil)
	pg.waitFor(`document.querySelectorAll("#messages li.message").length === 2`)
	pg.search("Inbox:"+box.Domain, "2")
	pg.typeSearch("inbox:nope.inbox.test")
	if msg := pg.waitFor(`!document.getElementById("search-error").hidden && document.getElementById("search-error").textContent`); !strings.Contains(msg, `inbox="nope.inbox.test": no such inbox`) {
		t.Errorf("a search in an unknown inbox shows %q, want the API's error", msg)
	}
}

// TestWebPageDKIM shows each message's DKIM results: a row per signature
// in the message (the verdict in a word, an icon and a colour, the
// reason, the Authentication-Results summary), and a badge in the list
// for a message whose signatures do not all pass. A signature's fields
// are the sender's text, shown as text.
func TestWebPageDKIM(t *testing.T) {
	t.Parallel()
	browser := startBrowser(t)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, nil, "-quiet", "-dkim-key", "example.com:mail:"+writePEM(t, t.TempDir(), "mail.pem", "PRIVATE KEY", der))
	sign := func(msg, selector string, expires time.Time) string {
		t.Helper()
		var b bytes.Buffer
		if err := dkim.Sign(&b, strings.NewReader(msg), &dkim.SignOptions{Domain: "example.com", Selector: selector, Signer: key, Expiration: expires}); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	mail := func(subject string) string {
		return "From: Shop <shop@example.com>\r\nTo: bob@example.net\r\nSubject: " + subject + "\r\n" +
			"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@example.com>\r\n\r\nThanks for your order.\r\n"
	}
	var never time.Time
	for _, msg := range []string{
		sign(mail("Signed"), "mail", never),                                                    // 1: pass
		strings.Replace(sign(mail("Tampered"), "mail", never), "your order", "your orders", 1), // 2: fail
		sign(sign(mail("Two signatures"), "mail", never), "other", never),                      // 3: temperror (no key), pass
		sign(mail("Expired"), "mail", time.Now().Add(-time.Hour)),                              // 4: permerror
		// 5: markup in the signature's fields (permerror: they make no domain name)
		"DKIM-Signature: v=1; a=rsa-sha256; d=<img src=x onerror=alert(1)>; s=<b>s</b>; h=from; bh=AAAA; b=AAAA\r\n" + mail("Hostile signature"),
		mail("Not signed"), // 6: no DKIM
	} {
		sendMail(t, p.smtp, "shop@example.com", []string{"bob@example.net"}, msg)
	}
	getJSON(t, p, "/api/wait?count=6", 200, nil)
	var ms [7]messageJSON
	for id := 1; id <= 6; id++ {
		getJSON(t, p, fmt.Sprintf("/api/messages/%d", id), 200, &ms[id])
	}
	for _, tt := range []struct {
		id     int
		status []string
	}{{1, []string{"pass"}}, {2, []string{"fail"}}, {3, []string{"temperror", "pass"}}, {4, []string{"permerror"}}, {5, []string{"permerror"}}, {6, nil}} {
		var got []string
		for _, d := range ms[tt.id].DKIM {
			got = append(got, d.Status)
		}
		if !cmp.Equal(tt.status, got) {
			t.Fatalf("message %d verified as %+v, want %v", tt.id, ms[tt.id].DKIM, tt.status)
		}
	}

	pg := browser.openList(t, p.http, 6)

	// The list: a badge where a signature does not pass, its word and
	// icon, the summaries in its tooltip.
	badges := pg.badges(".dkim-badge")
	wantBadges := []badge{
		{"6", "", "", ""},
		{"5", "✗ DKIM permerror", "dkim-badge fail", ms[5].DKIM[0].Summary},
		{"4", "✗ DKIM permerror", "dkim-badge fail", ms[4].DKIM[0].Summary},
		{"3", "! DKIM temperror", "dkim-badge temp", ms[3].DKIM[0].Summary},
		{"2", "✗ DKIM fail", "dkim-badge fail", ms[2].DKIM[0].Summary},
		{"1", "", "", ""},
	}
	if diff := cmp.Diff(wantBadges, badges); diff != "" {
		t.Errorf("the list's DKIM badges (-want +got):\n%s", diff)
	}

	// The message: a row per signature, in order.
	type row struct {
		Status, Verdict, Color, Reason, Summary, Signed string
	}
	rows := func(id int) []row {
		t.Helper()
		pg.eval(fmt.Sprintf(`location.hash = "#message/%d"`, id), nil)
		pg.waitFor(fmt.Sprintf(`document.querySelector('#message-detail[data-id="%d"]')`, id))
		rs := []row{}
		pg.eval(`[...document.querySelectorAll("#message-detail .dkim-results .dkim")].map(r => {
			const v = r.querySelector(".verdict"), t = (sel) => r.querySelector(sel)?.textContent || "";
			return {status: r.dataset.status, verdict: v.textContent, color: getComputedStyle(v).color,
				reason: t(".reason"), summary: t(".summary"), signed: t(".signed")}; })`, &rs)
		return rs
	}
	const green, red, amber = "rgb(11, 107, 58)", "rgb(176, 0, 32)", "rgb(138, 90, 0)"
	colors := map[string]string{"pass": green, "fail": red, "permerror": red, "temperror": amber}
	icons := map[string]string{"pass": "✓", "fail": "✗", "permerror": "✗", "temperror": "!"}
	for id := 1; id <= 6; id++ {
		want := []row{}
		for _, d := range ms[id].DKIM {
			want = append(want, row{d.Status, icons[d.Status] + " " + d.Status, colors[d.Status], d.Reason, d.Summary, "signs " + strings.Join(d.HeaderKeys, ", ")})
		}
		if diff := cmp.Diff(want, rows(id)); diff != "" {
			t.Errorf("message %d: DKIM rows (-want +got):\n%s", id, diff)
		}
		switch id {
		case 1:
			pg.screenshot("wide-dkim-pass", 1280, 800)
		case 2:
			if !strings.HasPrefix(ms[2].DKIM[0].Reason, "body hash mismatch") {
				t.Errorf("message 2: reason %q, want a body hash mismatch", ms[2].DKIM[0].Reason)
			}
			pg.screenshot("wide-dkim-fail", 1280, 800)
		case 3:
			if ms[3].DKIM[0].Selector != "other" || ms[3].DKIM[0].Reason == "" {
				t.Errorf("message 3: the first signature is %+v, want selector other, without a key", ms[3].DKIM[0])
			}
			pg.screenshot("wide-dkim-two", 1280, 800)
		case 4:
			pg.screenshot("wide-dkim-permerror", 1280, 800)
		case 5:
			// The sender's text stays text.
			var shown struct {
				Elements int
				Signer   string
			}
			pg.eval(`({elements: document.querySelectorAll("#message-detail img, #message-detail .dkim-results b").length,
				signer: document.querySelector("#message-detail .dkim .signer").textContent})`, &shown)
			if want := ms[5].DKIM[0].Domain + " · selector <b>s</b>"; shown.Elements != 0 || shown.Signer != want {
				t.Errorf("the signature with markup: %d elements made of its text, signer %q; want none, and %q", shown.Elements, shown.Signer, want)
			}
			pg.screenshot("wide-dkim-markup", 1280, 800)
		}
	}

	// A narrow window: the rows fit.
	pg.emulate(390, 844, true)
	pg.eval(`location.hash = "#messages"`, nil)
	pg.waitFor(`document.getElementById("list").offsetParent !== null && document.querySelector("#messages .dkim-badge")`)
	pg.screenshot("narrow-dkim-list", 390, 844)
	for _, id := range []int{2, 3, 4, 5} {
		if got := rows(id); len(got) == 0 {
			t.Errorf("narrow: message %d shows no DKIM row", id)
		}
		var overflow struct{ Scroll, Inner int }
		pg.eval(`({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})`, &overflow)
		if overflow.Scroll > overflow.Inner {
			t.Errorf("narrow message %d: %d px wide in a %d px window", id, overflow.Scroll, overflow.Inner)
		}
	}
	pg.eval(`location.hash = "#message/3"`, nil)
	pg.waitFor(`document.querySelector('#message-detail[data-id="3"] .dkim-results')`)
	pg.screenshot("narrow-dkim-two", 390, 844)
}

// TestWebPageARC shows each message's ARC validation: the verdict in a
// word, an icon and a colour, why it failed, the Authentication-Results
// summary and a row per set (sealer, cv=, the seal's and the message
// signature's verdicts), and a badge in the list for a chain that fails.
// The sets' fields are the sender's text, shown as text.
func TestWebPageARC(t *testing.T) {
	t.Parallel()
	browser := startBrowser(t)
	sealed, _, keyFile := arcFixture(t)
	p := start(t, nil, "-quiet", "-dkim-key", "lists.example.org:arc:"+keyFile)
	const hostile = "ARC-Seal: i=1; a=ed25519-sha256; cv=none; d=<img src=x onerror=alert(1)>; s=<b>s</b>; b=AAAA\r\n" +
		"ARC-Message-Signature: i=1; a=ed25519-sha256; d=<img src=x onerror=alert(1)>; s=<b>s</b>; h=from; bh=AAAA; b=AAAA\r\n" +
		"ARC-Authentication-Results: i=1; <b>mx</b>; dkim=pass\r\n" +
		"From: shop@example.com\r\nSubject: Hostile seal\r\n\r\nhi\r\n"
	for _, msg := range []string{
		sealed, // 1: pass
		strings.Replace(sealed, "spring", "summer", 1),                // 2: fail, the body changed
		"From: shop@example.com\r\nSubject: Not sealed\r\n\r\nhi\r\n", // 3: none
		hostile, // 4: fail, markup in its fields
		strings.ReplaceAll(sealed, "s=arc;", "s=nokey;"), // 5: fail, for a key not registered only
	} {
		sendMail(t, p.smtp, "fans-owner@lists.example.org", []string{"bob@example.net"}, msg)
	}
	getJSON(t, p, "/api/wait?count=5", 200, nil)
	var ms [6]messageJSON
	for id := 1; id <= 5; id++ {
		getJSON(t, p, fmt.Sprintf("/api/messages/%d", id), 200, &ms[id])
	}
	for id, want := range map[int]string{1: "pass", 2: "fail", 3: "none", 4: "fail", 5: "fail"} {
		if ms[id].ARC.Status != want {
			t.Fatalf("message %d: arc %+v, want %s", id, ms[id].ARC, want)
		}
	}

	pg := browser.openList(t, p.http, 5)

	// The list: a badge where the chain fails, the summary in its tooltip;
	// amber where a key is missing, as DKIM's temperror.
	badges := pg.badges(".arc-badge")
	wantBadges := []badge{
		{"5", "! ARC fail", "arc-badge temp", ms[5].ARC.Summary},
		{"4", "✗ ARC fail", "arc-badge fail", ms[4].ARC.Summary},
		{"3", "", "", ""},
		{"2", "✗ ARC fail", "arc-badge fail", ms[2].ARC.Summary},
		{"1", "", "", ""},
	}
	if diff := cmp.Diff(wantBadges, badges); diff != "" {
		t.Errorf("the list's ARC badges (-want +got):\n%s", diff)
	}

	// The search takes the ARC filters, their names in any case.
	for _, tt := range []struct{ q, want string }{
		{"ARC:pass", "1"},
		{"arc:fail arcreason:body", "2"},
		{"Arc:none", "3"},
		{"", "5,4,3,2,1"},
	} {
		pg.search(tt.q, tt.want)
	}

	// The message: the verdict, then a row per set.
	type shown struct {
		Status, Verdict, Color, Reason, Summary string
		Sets                                    []string
		Elements                                int // elements made of the sender's text
	}
	show := func(id int) shown {
		t.Helper()
		pg.eval(fmt.Sprintf(`location.hash = "#message/%d"`, id), nil)
		pg.waitFor(fmt.Sprintf(`document.querySelector('#message-detail[data-id="%d"]')`, id))
		var got shown
		pg.eval(`(() => { const r = document.querySelector("#message-detail .arc-results .arc");
			if (!r) return {sets: []};
			const v = r.querySelector(".verdict"), t = (sel) => r.querySelector(sel)?.textContent || "";
			return {status: r.dataset.status, verdict: v.textContent, color: getComputedStyle(v).color,
				reason: t(".reason"), summary: t(".summary"),
				sets: [...document.querySelectorAll("#message-detail .arc-set")].map(s => s.textContent),
				elements: document.querySelectorAll("#message-detail .arc-results img, #message-detail .arc-results b").length}; })()`, &got)
		return got
	}
	const green, red, amber = "rgb(11, 107, 58)", "rgb(176, 0, 32)", "rgb(138, 90, 0)"
	for _, tt := range []struct {
		id   int
		want shown
	}{
		{1, shown{"pass", "✓ pass", green, "", "arc=pass", []string{
			"i=1 lists.example.org · selector arc · cv=noneseal: ✓ passmessage signature: ✓ pass"}, 0}},
		{2, shown{"fail", "✗ fail", red, ms[2].ARC.Reason, ms[2].ARC.Summary, []string{
			"i=1 lists.example.org · selector arc · cv=noneseal: ✓ passmessage signature: ✗ fail" + ms[2].ARC.Sets[0].SignatureReason}, 0}},
		{3, shown{Sets: []string{}}},
		{5, shown{"fail", "! fail", amber, ms[5].ARC.Reason, ms[5].ARC.Summary, []string{
			"i=1 lists.example.org · selector nokey · cv=noneseal: ! temperror" + ms[5].ARC.Sets[0].SealReason +
				"message signature: ! temperror" + ms[5].ARC.Sets[0].SignatureReason}, 0}},
	} {
		if diff := cmp.Diff(tt.want, show(tt.id)); diff != "" {
			t.Errorf("message %d: ARC (-want +got):\n%s", tt.id, diff)
		}
	}
	pg.eval(`location.hash = "#message/2"`, nil)
	pg.waitFor(`document.querySelector('#message-detail[data-id="2"] .arc-results')`)
	pg.screenshot("wide-arc-fail", 1280, 800)

	// The sender's text stays text.
	got := show(4)
	if got.Status != "fail" || got.Elements != 0 || len(got.Sets) != len(ms[4].ARC.Sets) {
		t.Errorf("the hostile seal: %+v; want a failed chain, %d sets, no element made of its text", got, len(ms[4].ARC.Sets))
	}
	for i, s := range got.Sets {
		if want := ms[4].ARC.Sets[i].Domain; !strings.Contains(s, want) {
			t.Errorf("the hostile seal's set %d shows %q, want its d= %q as text", i+1, s, want)
		}
	}
	pg.screenshot("wide-arc-markup", 1280, 800)

	// A narrow window: the rows fit.
	pg.emulate(390, 844, true)
	for _, id := range []int{2, 4} {
		show(id)
		var overflow struct{ Scroll, Inner int }
		pg.eval(`({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})`, &overflow)
		if overflow.Scroll > overflow.Inner {
			t.Errorf("narrow message %d: %d px wide in a %d px window", id, overflow.Scroll, overflow.Inner)
		}
	}
	pg.screenshot("narrow-arc-fail", 390, 844)
}

// inOrder is a JavaScript function, inOrder(selector, needle), that tells
// whether the characters of needle, in the text of the element selector
// names, are laid out left to right ("in order"), or how they are not.
const inOrder = `((sel, needle) => {
	const root = document.querySelector(sel);
	if (!root) return "no " + sel;
	const w = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
	let text = "";
	const nodes = [];
	for (let n; (n = w.nextNode());) { nodes.push([n, text.length]); text += n.data; }
	const at = text.indexOf(needle);
	if (at < 0) return "no " + JSON.stringify(needle) + " in " + JSON.stringify(text);
	const xs = [];
	for (let i = at; i < at + needle.length; i++) {
		const [n, off] = nodes.filter(([, o]) => o <= i).pop();
		const r = document.createRange();
		r.setStart(n, i - off);
		r.setEnd(n, i - off + 1);
		xs.push(Math.round(r.getBoundingClientRect().left));
	}
	return xs.every((x, i) => i === 0 || x > xs[i - 1]) ? "in order" : "reordered: x = " + xs.join(", ");
})`

// TestWebPageIsolatesBidiControls sends mail whose names end in U+202E
// RIGHT-TO-LEFT OVERRIDE, which reverses the text after it to the end of
// its paragraph: a sender's name must not turn the address beside it, or
// the recipients, the attachment's type or the session's count around
// (From: "Support\u202E" <moc.rekcatta@evil> reads as an address of
// attacker.com backwards). Each value the mail gives is isolated.
func TestWebPageIsolatesBidiControls(t *testing.T) {
	t.Parallel()
	browser := startBrowser(t)
	p := start(t, nil, "-quiet")
	const rlo = "\u202e"
	c, err := smtp.Dial(p.smtp)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Hello("client" + rlo); err != nil {
		t.Fatal(err)
	}
	mail := "From: \"Support" + rlo + "\" <evil@attacker.example>\r\n" +
		"To: bob@example.com\r\nSubject: bidi\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n" +
		"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"invoice" + rlo + ".pdf\"\r\n\r\nx\r\n--b--\r\n"
	sendOver(t, c, "alice"+rlo+"@example.com", "bob@example.com", mail)
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}

	pg := browser.openList(t, p.http, 1)
	check := func(where, sel, needle string) {
		t.Helper()
		var got string
		pg.eval(inOrder+`(`+jsString(sel)+`, `+jsString(needle)+`)`, &got)
		if got != "in order" {
			t.Errorf("%s: %q after a U+202E is %s", where, needle, got)
		}
	}
	check("the list's envelope", `#messages li.message[data-id="1"] .who`, "bob@example.com")
	pg.eval(`location.hash = "#message/1/text"`, nil)
	pg.waitFor(`document.querySelector('#message-detail[data-view="text"] li.attachment')`)
	check("the From field", `#message-detail dl.fields dd:nth-of-type(3)`, "evil@attacker.example")
	check("the attachment's type", `#message-detail li.attachment`, "application/pdf")
	pg.eval(`location.hash = "#message/1/parts"`, nil)
	pg.waitFor(`document.querySelector('#message-detail[data-view="parts"] ul.parts')`)
	check("the part's details", `#message-detail ul.parts li li:last-child .meta`, "attachment")
	pg.eval(`location.hash = "#sessions"`, nil)
	pg.waitFor(`document.querySelector('#sessions li.session[data-id="1"]')`)
	check("the session's summary", `#sessions li.session[data-id="1"] .who`, "message")
}

// TestWebPageShowsBidiControls sends an attachment named
// "invoice\u202Efdp.exe": an executable whose name, with the RIGHT-TO-LEFT
// OVERRIDE doing its work, reads invoiceexe.pdf, even inside the <bdi>
// that keeps it from turning the text around it. The page shows the
// control by its code point and the name as it is, in the attachments,
// the part tree, the envelope and the subject.
func TestWebPageShowsBidiControls(t *testing.T) {
	t.Parallel()
	browser := startBrowser(t)
	p := start(t, nil, "-quiet")
	const rlo = "\u202e"
	mail := "From: alice@example.com\r\nTo: bob@example.com\r\nSubject: =?utf-8?q?invoice=E2=80=AEfdp.exe?=\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n" +
		"--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"invoice" + rlo + "fdp.exe\"\r\n\r\nMZ\r\n--b--\r\n"
	sendMail(t, p.smtp, "fdp.exe"+rlo+"alice@example.com", []string{"bob@example.com"}, mail)

	pg := browser.openList(t, p.http, 1)
	pg.eval(`location.hash = "#message/1/parts"`, nil)
	pg.waitFor(`document.querySelector('#message-detail[data-view="parts"] ul.parts li li:last-child')`)
	for _, tt := range []struct{ where, sel, want, needle string }{
		{"the attachment", `#message-detail li.attachment a`, "invoice⟨U+202E⟩fdp.exe", "fdp.exe"},
		{"the part tree", `#message-detail ul.parts li li:last-child .meta bdi`, "invoice⟨U+202E⟩fdp.exe", "fdp.exe"},
		{"the envelope", `#message-detail dd.env-from`, "fdp.exe⟨U+202E⟩alice@example.com", "alice@example.com"},
		{"the subject", `#message-detail h2.subject`, "invoice⟨U+202E⟩fdp.exe", "fdp.exe"},
		{"the list's subject", `#messages li.message[data-id="1"] .subject`, "invoice⟨U+202E⟩fdp.exe", "fdp.exe"},
	} {
		var got struct{ Text, Order string }
		pg.eval(`({text: document.querySelector(`+jsString(tt.sel)+`)?.textContent, order: `+inOrder+`(`+jsString(tt.sel)+`, `+jsString(tt.needle)+`)})`, &got)
		if got.Text != tt.want || got.Order != "in order" {
			t.Errorf("%s reads %q, %q %s; want %q, in order", tt.where, got.Text, tt.needle, got.Order, tt.want)
		}
	}
}

// TestWebPageShowsBidiControlsInHeadersAndTranscript sends the mail of
// TestWebPageShowsBidiControls, its subject in UTF-8 as sent: the
// headers as sent and the session's transcript show the subject and the
// sender's address too, and there as well the control shows by its code
// point, not reversing what follows it (fdp.exe, alice@example.com).
func TestWebPageShowsBidiControlsInHeadersAndTranscript(t *testing.T) {
	t.Parallel()
	browser := startBrowser(t)
	p := start(t, nil, "-quiet")
	const rlo = "\u202e"
	mail := "From: alice@example.com\r\nTo: bob@example.com\r\nSubject: invoice" + rlo + "fdp.exe\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nhi\r\n"
	sendMail(t, p.smtp, "fdp.exe"+rlo+"alice@example.com", []string{"bob@example.com"}, mail)

	pg := browser.openList(t, p.http, 1)
	for _, tt := range []struct{ where, view, sel, want string }{
		{"the Subject header", "headers", `#message-detail table.headers td:last-child`, "invoice⟨U+202E⟩fdp.exe"},
		{"the MAIL FROM line", "transcript", `#message-detail ol.transcript li span.line`, "fdp.exe⟨U+202E⟩alice@example.com"},
	} {
		pg.eval(`location.hash = "#message/1/`+tt.view+`"`, nil)
		pg.waitFor(`document.querySelector('#message-detail[data-view="` + tt.view + `"] ` + map[string]string{"headers": "table.headers td", "transcript": "ol.transcript li"}[tt.view] + `')`)
		var got []string
		pg.eval(`[...document.querySelectorAll(`+jsString(tt.sel)+`)].map((e) => e.textContent).filter((s) => s.includes("fdp.exe"))`, &got)
		if len(got) == 0 || !strings.Contains(got[0], tt.want) {
			t.Errorf("%s reads %q, want it to show %q", tt.where, got, tt.want)
		}
	}
}

// TestWebPageShowsCIDImages shows a message whose HTML has an image of
// its own, a part it names by Content-ID (<img src="cid:...">), as mail
// clients show it: a red square, which a screenshot finds where the
// message puts it.
func TestWebPageShowsCIDImages(t *testing.T) {
	t.Parallel()
	browser := startBrowser(t)
	p := start(t, nil, "-quiet")
	red := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for x := range 4 {
		for y := range 4 {
			red.Set(x, y, color.RGBA{R: 255, A: 255})
		}
	}
	var pngData bytes.Buffer
	if err := png.Encode(&pngData, red); err != nil {
		t.Fatal(err)
	}
	mail := "From: alice@example.com\r\nTo: bob@example.com\r\nSubject: logo\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/related; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/html\r\n\r\n" +
		`<body style="margin:0;background:#fff"><img src="cid:logo@example.com" width="200" height="200" alt="logo"></body>` + "\r\n" +
		"--b\r\nContent-Type: image/png\r\nContent-ID: <logo@example.com>\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString(pngData.Bytes()) + "\r\n--b--\r\n"
	sendMail(t, p.smtp, "alice@example.com", []string{"bob@example.com"}, mail)

	pg := browser.openList(t, p.http, 1)
	pg.eval(`location.hash = "#message/1/html"`, nil)
	pg.waitFor(`document.querySelector('#message-detail[data-view="html"] iframe.html')`)
	var at struct{ X, Y int }
	pg.eval(`(() => { const r = document.querySelector("iframe.html").getBoundingClientRect();
		return {x: Math.round(r.left) + 100, y: Math.round(r.top) + 100}; })()`, &at)
	deadline := time.Now().Add(10 * time.Second)
	for {
		img := pg.screenshot("cid-image", 1280, 800)
		r, g, b, _ := img.At(at.X, at.Y).RGBA()
		if r>>8 > 200 && g>>8 < 50 && b>>8 < 50 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cid: image is not shown: the pixel at (%d, %d), inside it, is %v", at.X, at.Y, img.At(at.X, at.Y))
		}
	}
}

// TestWebPageWrapsLongNames shows a message whose attachment has a name
// of 900 octets without a space: the name wraps, in the attachments and
// in the part tree, rather than widening the message's pane (its tabs
// and fields then scroll sideways with it), on a desktop screen and on a
// phone.
func TestWebPageWrapsLongNames(t *testing.T) {
	t.Parallel()
	browser := startBrowser(t)
	p := start(t, nil, "-quiet")
	mail := "From: alice@example.com\r\nTo: bob@example.com\r\nSubject: long\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n" +
		"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"" + strings.Repeat("F", 900) + ".pdf\"\r\n\r\nx\r\n--b--\r\n"
	sendMail(t, p.smtp, "alice@example.com", []string{"bob@example.com"}, mail)
	pg := browser.openList(t, p.http, 1)
	for _, screen := range []struct {
		width, height int
		mobile        bool
	}{{1280, 800, false}, {390, 844, true}} {
		pg.emulate(screen.width, screen.height, screen.mobile)
		for _, view := range []string{"text", "parts"} {
			pg.eval(`location.hash = "#message/1/`+view+`"`, nil)
			pg.waitFor(`document.querySelector('#message-detail[data-view="` + view + `"]')`)
			var pane struct{ Scroll, Client int }
			pg.eval(`(() => { const d = document.getElementById("detail"); return {scroll: d.scrollWidth, client: d.clientWidth}; })()`, &pane)
			if pane.Scroll > pane.Client {
				t.Errorf("%d px wide, %s view: the message's pane is %d px wide inside %d px", screen.width, view, pane.Scroll, pane.Client)
			}
		}
	}
}

// TestWebPageKeepsTheNewestDetail opens a message whose HTML view is
// slow to render (its cid: image is fetched first, held here), then
// another message before the first is done: the detail pane shows the
// one opened last, and the first one's render, when it ends, does not
// put it back.
func TestWebPageKeepsTheNewestDetail(t *testing.T) {
	t.Parallel()
	browser := startBrowser(t)
	p := start(t, nil, "-quiet")
	sendMail(t, p.smtp, "alice@example.com", []string{"bob@example.com"}, "From: alice@example.com\r\nSubject: slow\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: multipart/related; boundary=b\r\n\r\n"+
		"--b\r\nContent-Type: text/html\r\n\r\n<p>the slow one <img src=\"cid:logo@example.com\"></p>\r\n"+
		"--b\r\nContent-Type: image/png\r\nContent-ID: <logo@example.com>\r\n\r\nnot really a png\r\n--b--\r\n")
	sendMail(t, p.smtp, "alice@example.com", []string{"bob@example.com"}, "From: alice@example.com\r\nSubject: quick\r\n\r\nthe quick one\r\n")

	pg := browser.openList(t, p.http, 2)
	// Hold the page's fetch of the attachment until the test lets it go;
	// once the attachment is read (FileReader's load), the render of the
	// slow one goes on in microtasks only, so a task queued then runs
	// after it: it marks the document.
	pg.eval(`(() => {
		window.held = [];
		const fetch0 = window.fetch;
		window.fetch = (url, ...rest) => String(url).includes("/attachments/")
			? new Promise((resolve) => window.held.push(() => resolve(fetch0(url, ...rest))))
			: fetch0(url, ...rest);
		const read0 = FileReader.prototype.readAsDataURL;
		FileReader.prototype.readAsDataURL = function (blob) {
			this.addEventListener("load", () => setTimeout(() => { document.documentElement.dataset.slowDone = "1"; }, 0));
			return read0.call(this, blob);
		};
		return true;
	})()`, nil)
	pg.eval(`location.hash = "#message/1/html"`, nil)
	pg.waitFor(`window.held.length === 1`)
	pg.eval(`location.hash = "#message/2"`, nil)
	pg.waitFor(`document.querySelector("#detail").textContent.includes("the quick one")`)
	pg.eval(`window.held.forEach((release) => release())`, nil)
	pg.waitFor(`document.documentElement.dataset.slowDone === "1"`)
	var shown string
	pg.eval(`document.querySelector("#detail").textContent`, &shown)
	if !strings.Contains(shown, "the quick one") || strings.Contains(shown, "slow") {
		t.Errorf("after the slow message's render ended, the detail shows %.300q; want the quick message, opened last", shown)
	}
}

// TestWebPageHowEachMessageWasSent shows, with each message, how its
// client sent it (the HELO name, TLS with the client's certificates,
// AUTH, as they stood then), and with each session the certificates its
// client presented (-client-ca). A certificate's subject is the client's
// text, shown as text: markup in it makes no element and runs nothing.
func TestWebPageHowEachMessageWasSent(t *testing.T) {
	t.Parallel()
	browser := startBrowser(t)
	dir := t.TempDir()
	certFile, keyFile, caFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "client-ca.pem")
	roots := writeSelfSigned(t, certFile, keyFile)
	cert := clientCert(t, `<script>window.pwned=1</script><img src=x onerror="window.pwned=2">`+"\u202eevil", caFile)
	p := start(t, nil, "-quiet", "-cert", certFile, "-key", keyFile, "-client-ca", caFile, "-auth", "alice:secret")
	c, err := smtp.Dial(p.smtp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("plain.example"); err != nil {
		t.Fatal(err)
	}
	sendOver(t, c, "a@example.com", "b@example.com", "Subject: in plaintext\r\n\r\nx\r\n")
	if err := c.StartTLS(&tls.Config{RootCAs: roots, ServerName: "127.0.0.1", Certificates: []tls.Certificate{cert}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(smtp.PlainAuth("", "alice", "secret", "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	sendOver(t, c, "a@example.com", "b@example.com", "Subject: over TLS\r\n\r\nx\r\n")
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	sent := sentOf(t, p, 2)
	if sent[1] == nil || sent[1].TLS == nil || len(sent[1].TLS.PeerCertificates) != 1 {
		t.Fatalf("message 2 sent %+v, want TLS with the client certificate", sent[1])
	}
	tlsState, peer := sent[1].TLS, sent[1].TLS.PeerCertificates[0]

	type certShown struct{ Subject, Issuer, Fingerprint string }
	type shown struct {
		Helo, TLS, Auth string
		Certs           []certShown
		Elements        int  // elements made of the subject's markup
		Pwned           bool // a script of the subject's ran
	}
	// look reads how the detail shows a TLS state and the rest, in the
	// rows that rows selects (rows+".tls" is the TLS row).
	look := func(hash, rows string) shown {
		t.Helper()
		pg := browser.open(t, "about:blank")
		pg.emulate(1280, 800, false)
		pg.navigate("http://" + p.http + "/" + hash)
		pg.waitFor(`document.querySelector(` + jsString(rows+".tls") + `)`)
		var s shown
		pg.eval(`(() => { const rows = `+jsString(rows)+`, t = (e, sel) => e.querySelector(sel)?.textContent ?? null;
			return {helo: t(document, rows + ".helo"), tls: t(document, rows + ".tls .state"), auth: t(document, rows + ".auth"),
				certs: [...document.querySelectorAll(rows + ".tls .cert")].map(c => ({subject: t(c, ".subject"), issuer: t(c, ".issuer"), fingerprint: t(c, ".fingerprint")})),
				elements: document.querySelectorAll("dl.fields script, dl.fields img").length, pwned: window.pwned !== undefined}; })()`, &s)
		pg.screenshot("wide-sent-"+strings.NewReplacer("#", "", "/", "-").Replace(hash), 1280, 800)
		return s
	}
	// The subject as the page shows it: each bidi control by its code point.
	subject := strings.ReplaceAll(peer.Subject, "\u202e", "⟨U+202E⟩")
	wantCerts := []certShown{{subject, "issued by " + strings.ReplaceAll(peer.Issuer, "\u202e", "⟨U+202E⟩"), "SHA-256 " + peer.SHA256}}
	state := tlsState.Version + ", " + tlsState.CipherSuite
	for _, tt := range []struct {
		hash, sel string
		want      shown
	}{
		{"#message/1", "#message-detail dd.sent", shown{Helo: "plain.example", TLS: "no", Auth: "no", Certs: []certShown{}}},
		{"#message/2", "#message-detail dd.sent", shown{Helo: "plain.example", TLS: state, Auth: "PLAIN alice ok", Certs: wantCerts}},
		{"#session/1", "#session-detail dd", shown{Helo: "plain.example", TLS: state, Auth: "PLAIN alice ok", Certs: wantCerts}},
	} {
		if diff := cmp.Diff(tt.want, look(tt.hash, tt.sel)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.hash, diff)
		}
	}

	// A narrow window: the certificate's rows fit.
	pg := browser.open(t, "about:blank")
	pg.emulate(390, 844, true)
	pg.navigate("http://" + p.http + "/#message/2")
	pg.waitFor(`document.querySelector("#message-detail dd.sent.tls .cert")`)
	var overflow struct{ Scroll, Inner int }
	pg.eval(`({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})`, &overflow)
	if overflow.Scroll > overflow.Inner {
		t.Errorf("narrow message 2: %d px wide in a %d px window", overflow.Scroll, overflow.Inner)
	}
	pg.screenshot("narrow-sent-message-2", 390, 844)
}

// TestWebPageShowsWhoAClientAskedToActAs shows an AUTH's authorization
// identity, the user a client asked to act as (AUTH PLAIN's first field),
// beside the one it logged in as, as the Go API's AuthInfo.String does
// ("PLAIN admin as bob ok"): the page showed "PLAIN bob ok" for a client
// that logged in as bob to send as admin, which only the base64 of the
// transcript told. Both are the client's text, shown as text.
func TestWebPageShowsWhoAClientAskedToActAs(t *testing.T) {
	t.Parallel()
	browser := startBrowser(t)
	p := start(t, nil, "-quiet", "-auth-any")
	c, err := smtp.Dial(p.smtp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	identity := "<b>admin</b>\u202e"
	if err := c.Auth(smtp.PlainAuth(identity, "bob", "secret", "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	sendOver(t, c, "a@example.com", "b@example.com", "Subject: as admin\r\n\r\nx\r\n")
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	sent := sentOf(t, p, 1)
	if sent[0].Auth == nil || sent[0].Auth.Identity != identity {
		t.Fatalf("message 1 sent %+v, want the identity %q", sent[0], identity)
	}
	want := "PLAIN <b>admin</b>⟨U+202E⟩ as bob ok"
	for _, tt := range []struct{ hash, sel string }{
		{"#message/1", "#message-detail dd.sent.auth"},
		{"#session/1", "#session-detail dd.auth"},
	} {
		pg := browser.open(t, "about:blank")
		pg.navigate("http://" + p.http + "/" + tt.hash)
		pg.waitFor(`document.querySelector(` + jsString(tt.sel) + `)`)
		var got struct {
			Auth     string
			Elements int
		}
		pg.eval(`(() => { const d = document.querySelector(`+jsString(tt.sel)+`);
			return {auth: d.textContent, elements: d.querySelectorAll("b").length}; })()`, &got)
		if got.Auth != want || got.Elements != 0 {
			t.Errorf("%s: AUTH shows %q (%d elements of the identity's markup); want %q, as text", tt.hash, got.Auth, got.Elements, want)
		}
	}
}

// TestWebPageShowsAnAuthAFaultRefused: a client whose good credentials
// a fault at AUTH refused got 535; the page said "PLAIN alice ok" for it,
// on the session and on the message it sent after it, where it now says
// what the client got.
func TestWebPageShowsAnAuthAFaultRefused(t *testing.T) {
	t.Parallel()
	browser := startBrowser(t)
	p := start(t, nil, "-quiet", "-auth", "alice:secret")
	putFaults(t, p, `[{"at": "AUTH", "reply": "535 5.7.8 nope"}]`)
	c := dialRaw(t, p)
	c.want("AUTH under the fault", "AUTH PLAIN "+base64.StdEncoding.EncodeToString([]byte("\x00alice\x00secret")), 535, "5.7.8")
	if code, msg := c.send("x"); code != 250 {
		t.Fatalf("the message after it: %d %q", code, msg)
	}
	c.want("QUIT", "QUIT", 221, "2.0.0")
	sentOf(t, p, 1)
	want := "PLAIN alice refused: 535 5.7.8 nope (credentials accepted)"
	for _, tt := range []struct{ hash, sel string }{
		{"#message/1", "#message-detail dd.sent.auth"},
		{"#session/1", "#session-detail dd.auth"},
	} {
		pg := browser.open(t, "about:blank")
		pg.navigate("http://" + p.http + "/" + tt.hash)
		pg.waitFor(`document.querySelector(` + jsString(tt.sel) + `)`)
		var got string
		pg.eval(`document.querySelector(`+jsString(tt.sel)+`).textContent`, &got)
		if got != want {
			t.Errorf("%s: AUTH shows %q, want %q", tt.hash, got, want)
		}
	}
}

// TestWebPageCollapsesAClientsCertificateChain shows a message whose
// client presented its certificate and 14 more (-client-ca), each more
// hostile than the last: markup, a bidi control and 1,000 octets in its
// subject. The message's fields and the session's are a valid dl (the
// message's rows of how it was sent are marked by a class, not wrapped
// in a div among bare dt and dd, which the HTML standard forbids and
// screen readers read wrong); the page shows the client's own
// certificate, and the 14 others in a closed details ("14 more
// certificates"), so they do not push the DKIM results and findings
// 30,000 px down; opened, they show, as text, and wrap.
func TestWebPageCollapsesAClientsCertificateChain(t *testing.T) {
	t.Parallel()
	browser := startBrowser(t)
	dir := t.TempDir()
	certFile, keyFile, caFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "client-ca.pem")
	roots := writeSelfSigned(t, certFile, keyFile)
	cert := clientCert(t, "<b>client</b>\u202e", caFile)
	for i := 1; i < 15; i++ {
		more := clientCert(t, fmt.Sprintf(`<img src=x onerror="window.pwned=%d">`, i)+"\u202e"+strings.Repeat("L", 1000), "")
		cert.Certificate = append(cert.Certificate, more.Certificate[0])
	}
	p := start(t, nil, "-quiet", "-cert", certFile, "-key", keyFile, "-client-ca", caFile)
	c, err := smtp.Dial(p.smtp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(&tls.Config{RootCAs: roots, ServerName: "127.0.0.1", Certificates: []tls.Certificate{cert}}); err != nil {
		t.Fatal(err)
	}
	sendOver(t, c, "a@example.com", "b@example.com", "Subject: many certificates\r\n\r\nx\r\n")
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	sent := sentOf(t, p, 1)
	if sent[0] == nil || sent[0].TLS == nil || len(sent[0].TLS.PeerCertificates) != 15 {
		t.Fatalf("message 1 sent %+v, want TLS with 15 certificates", sent[0])
	}
	var subjects []string // as the page shows them: each bidi control by its code point
	for _, c := range sent[0].TLS.PeerCertificates {
		subjects = append(subjects, strings.ReplaceAll(c.Subject, "\u202e", "⟨U+202E⟩"))
	}

	type shown struct {
		Mixed     []string // dl elements with a div among bare dt and dd
		Subjects  []string // of every certificate, in order
		Outside   int      // certificates outside a details element
		Collapsed int      // certificates inside a closed details element
		Rendered  int      // certificates shown (checkVisibility)
		Summary   string
		Elements  int  // elements made of the subjects' markup
		Pwned     bool // a script of the subjects' ran
	}
	read := `(detail) => {
		const certs = [...document.querySelectorAll(detail + " .tls .cert")];
		return {
			mixed: [...document.querySelectorAll("dl")].filter((dl) => {
				const kids = [...dl.children].map((c) => c.localName);
				return kids.includes("div") && kids.some((k) => k === "dt" || k === "dd");
			}).map((dl) => dl.className),
			subjects: certs.map((c) => c.querySelector(".subject")?.textContent ?? null),
			outside: certs.filter((c) => !c.closest("details")).length,
			collapsed: certs.filter((c) => c.closest("details") && !c.closest("details").open).length,
			rendered: certs.filter((c) => c.checkVisibility()).length,
			summary: document.querySelector(detail + " .tls details > summary")?.textContent ?? "",
			elements: document.querySelectorAll("dl.fields script, dl.fields img, dl.fields b").length,
			pwned: window.pwned !== undefined,
		};
	}`
	for _, tt := range []struct{ hash, detail string }{
		{"#message/1", "#message-detail"},
		{"#session/1", "#session-detail"},
	} {
		pg := browser.open(t, "about:blank")
		pg.emulate(1280, 800, false)
		pg.navigate("http://" + p.http + "/" + tt.hash)
		pg.waitFor(`document.querySelector(` + jsString(tt.detail+" .tls .cert") + `)`)
		var got shown
		pg.eval(`(`+read+`)(`+jsString(tt.detail)+`)`, &got)
		want := shown{Mixed: []string{}, Subjects: subjects, Outside: 1, Collapsed: 14, Rendered: 1, Summary: "14 more certificates"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.hash, diff)
		}
		pg.screenshot("wide-chain-"+strings.NewReplacer("#", "", "/", "-").Replace(tt.hash), 1280, 800)

		// Opened, every certificate shows, and wraps in the pane.
		pg.eval(`document.querySelector(`+jsString(tt.detail+" .tls details > summary")+`)?.click() ?? true`, nil)
		pg.waitFor(`document.querySelector(` + jsString(tt.detail+" .tls details[open]") + `)`)
		pg.eval(`(`+read+`)(`+jsString(tt.detail)+`)`, &got)
		if got.Rendered != 15 || got.Elements != 0 || got.Pwned {
			t.Errorf("%s opened: %d of 15 certificates shown, %d elements of their markup, a script ran: %v", tt.hash, got.Rendered, got.Elements, got.Pwned)
		}
		var pane struct{ Scroll, Client int }
		pg.eval(`(() => { const d = document.getElementById("detail"); return {scroll: d.scrollWidth, client: d.clientWidth}; })()`, &pane)
		if pane.Scroll > pane.Client {
			t.Errorf("%s opened: the pane is %d px wide inside %d px", tt.hash, pane.Scroll, pane.Client)
		}
		pg.screenshot("wide-chain-open-"+strings.NewReplacer("#", "", "/", "-").Replace(tt.hash), 1280, 800)
	}
}
