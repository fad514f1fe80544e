package main

// The web page, tested in a real browser: headless Chromium (Debian's
// chromium package), driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: JSON messages separated by NUL bytes on file
// descriptors 3 and 4), so no WebSocket or third-party client is needed.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

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
	// Page.navigate answers once the new document is committed, so that
	// what is evaluated next runs in it.
	res, err = c.call(ctx, attached.SessionID, "Page.navigate", map[string]any{"url": url})
	if err != nil {
		t.Fatal(err)
	}
	var nav struct{ ErrorText string }
	if err := json.Unmarshal(res, &nav); err != nil || nav.ErrorText != "" {
		t.Fatalf("navigating to %s: %v %s", url, err, nav.ErrorText)
	}
	return &page{t: t, c: c, session: attached.SessionID}
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
	if frame.Sandbox == nil || *frame.Sandbox != "" || strings.TrimSpace(frame.Srcdoc) != html || frame.ReadableByApp {
		sandbox := "(none)"
		if frame.Sandbox != nil {
			sandbox = fmt.Sprintf("%q", *frame.Sandbox)
		}
		t.Errorf("HTML iframe: sandbox %s, srcdoc %q, readable by the page %v; want sandbox=\"\", the HTML, an origin of its own",
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
