package interop

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The README's "Use from any language" examples are these files, run here
// against the mocksmtp program as a user runs them. TestREADMEShowsTheExamples
// keeps the README's copies the same.
var readmeExamples = []struct {
	file, fence string
}{
	{"testdata/readme/test_signup.py", "```python\n"},
	{"testdata/readme/test_snapshot.py", "```python\n"},
	{"node/signup.test.js", "```js\n"},
}

func TestREADMEShowsTheExamples(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range readmeExamples {
		code, err := os.ReadFile(ex.file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(readme), ex.fence+string(code)+"```\n") {
			t.Errorf("README.md does not show %s as it is: copy it into a %q block", ex.file, strings.TrimSpace(ex.fence))
		}
	}
}

// runExample runs an example test against a fresh program and fails t
// with its output when it fails.
func runExample(t *testing.T, p *program, dir, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), programTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	// The API's address alone: the examples ask it for the SMTP address.
	cmd.Env = append(os.Environ(), "MOCKSMTP_HTTP="+p.http)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s in %s: %v\n%s", name, strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

func TestREADMEPythonExample(t *testing.T) {
	t.Parallel()
	python := needProgram(t, "python3", "apt-get install python3")
	p := startProgram(t)
	out := runExample(t, p, filepath.Join("testdata", "readme"), python, "-m", "unittest", "-v", "test_signup.py", "test_reports.py", "test_snapshot.py")
	if !strings.Contains(out, "test_welcome_mail_has_a_code_and_a_link") || !strings.Contains(out, "test_welcome_mail_matches_its_snapshots") ||
		!strings.Contains(out, "Ran 6 tests") || !strings.Contains(out, "\nOK") {
		t.Errorf("the Python example did not run its tests:\n%s", out)
	}
	if log := p.stderr.String(); !strings.Contains(log, "msg=inbox name=test_signup.SignupTest.test_welcome_mail_has_a_code_and_a_link ") {
		t.Errorf("the Python example made no inbox named after its test:\n%s", log)
	}
}

func TestREADMENodeExample(t *testing.T) {
	t.Parallel()
	node := needNodemailer(t)
	p := startProgram(t)
	out := runExample(t, p, "node", node, "--test", "signup.test.js")
	if !strings.Contains(out, "# pass 1") || !strings.Contains(out, "# fail 0") {
		t.Errorf("the Node example did not pass its test:\n%s", out)
	}
	if log := p.stderr.String(); !strings.Contains(log, `msg=inbox name="the welcome mail has a code and a link" `) {
		t.Errorf("the Node example made no inbox named after its test:\n%s", log)
	}
}
