package interop

// The mocksmtp program (cmd/mocksmtp), built once and run as a separate
// process, for the tests of its HTTP API: the OpenAPI document
// (openapi_test.go) and the README's examples in other languages
// (readme_test.go).

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binDir    string // removed by TestMain
	bin       string // the program, once built
	buildErr  error
)

// mocksmtpProgram builds the program once per test run.
func mocksmtpProgram(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "mocksmtp-interop-")
		if buildErr != nil {
			return
		}
		bin = filepath.Join(binDir, "mocksmtp")
		cmd := exec.Command("go", "build", "-o", bin, "github.com/mocksmtp/mocksmtp/cmd/mocksmtp")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build cmd/mocksmtp: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bin
}

// syncBuffer is a process's output, safe to read while it is written.
type syncBuffer struct {
	mu      sync.Mutex // guards buf and changed
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on each write
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	close(b.changed)
	b.changed = make(chan struct{})
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// match returns the submatches of re in the output, and a channel closed
// at the next write.
func (b *syncBuffer) match(re *regexp.Regexp) ([]string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return re.FindStringSubmatch(b.buf.String()), b.changed
}

// program is a running mocksmtp program.
type program struct {
	smtp, http string // host:port
	stderr     *syncBuffer
	proc       *os.Process // for a test that stops it itself (SIGTERM)
}

var listeningRE = regexp.MustCompile(`msg=listening smtp=(\S+) http=(\S+)`)

// startProgram runs mocksmtp on free loopback ports with args, until the
// test ends.
func startProgram(t *testing.T, args ...string) *program {
	t.Helper()
	path := mocksmtpProgram(t)
	p := &program{stderr: &syncBuffer{changed: make(chan struct{})}}
	cmd := exec.Command(path, append([]string{"-listen", "127.0.0.1:0", "-http", "127.0.0.1:0", "-quiet"}, args...)...)
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.proc = cmd.Process
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("mocksmtp did not stop on SIGTERM; stderr:\n%s", p.stderr)
		}
		if t.Failed() {
			t.Logf("mocksmtp stderr:\n%s", p.stderr)
		}
	})
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		m, changed := p.stderr.match(listeningRE)
		if m != nil {
			p.smtp, p.http = m[1], m[2]
			return p
		}
		select {
		case <-changed:
		case <-exited:
			t.Fatalf("mocksmtp exited; stderr:\n%s", p.stderr)
		case <-timeout.C:
			t.Fatalf("mocksmtp did not listen within 10 s; stderr:\n%s", p.stderr)
		}
	}
}

// call sends a request to the program's API and returns the response
// with its body read.
func (p *program) call(t *testing.T, method, path, body string) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+p.http+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}
