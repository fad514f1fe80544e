package mocksmtp

import (
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// This file compares transcripts with golden files.

// The variable parts of a transcript line, and what Normalized puts there.
var (
	heloRE      = regexp.MustCompile(`(?i)^(HELO|EHLO)(\s.*)?$`)
	portRE      = regexp.MustCompile(`(\b(?:\d{1,3}\.){3}\d{1,3}|\[[0-9A-Fa-f:.]+\]):\d+\b`)
	dateRE      = regexp.MustCompile(`\b(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}(?::\d{2})?(?: (?:[+-]\d{4}|[A-Z]{1,5}))?(?: \([A-Za-z ]+\))?`)
	isoDateRE   = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?`)
	tlsRE       = regexp.MustCompile(`\bTLS 1\.[0-3]\b`)
	cipherRE    = regexp.MustCompile(`\bTLS_[A-Z0-9_]+\b`)
	octetsRE    = regexp.MustCompile(`\b\d+ octets\b`)
	sizeParamRE = regexp.MustCompile(`(?i)\bSIZE=\d+\b`)
	acceptedRE  = regexp.MustCompile(`^message (\d+) accepted\b`)
)

// Normalized returns the transcript as [Transcript.String] does, with the
// parts that change from run to run replaced by placeholders, so that it
// can be compared with a golden file:
//
//   - the client's name in HELO and EHLO: "EHLO <client>"
//   - ports after IP addresses: "127.0.0.1:<port>"
//   - dates (RFC 5322 and RFC 3339 forms): "<date>"
//   - TLS versions and cipher suites: "TLS <version>", "<cipher>"
//   - sizes of message data, which dates and message IDs in headers
//     change: "<n> octets", "SIZE=<n>"
//   - message IDs, counted from 1 within the transcript: a transcript
//     reads the same on a server shared by many tests
//   - CRAM-MD5 challenges: "334 <challenge>"
//
// The time of each line is not printed. Secrets are masked as in the
// transcript itself.
func (t Transcript) Normalized() string {
	var b strings.Builder
	ids := make(map[string]int)
	for _, l := range t {
		text := l.Text
		switch l.Dir {
		case FromClient:
			if m := heloRE.FindStringSubmatch(text); m != nil && m[2] != "" {
				text = m[1] + " <client>"
			}
			text = sizeParamRE.ReplaceAllString(text, "SIZE=<n>")
		case FromServer:
			if strings.HasPrefix(text, "334 ") {
				if c, err := base64.StdEncoding.DecodeString(text[4:]); err == nil && len(c) > 0 && c[0] == '<' && strings.Contains(string(c), "@") {
					text = "334 <challenge>"
				}
			}
		case Note:
			if m := acceptedRE.FindStringSubmatchIndex(text); m != nil {
				id := text[m[2]:m[3]]
				n, ok := ids[id]
				if !ok {
					n = len(ids) + 1
					ids[id] = n
				}
				text = text[:m[2]] + strconv.Itoa(n) + text[m[3]:]
			}
			text = octetsRE.ReplaceAllString(text, "<n> octets")
		}
		text = portRE.ReplaceAllString(text, "$1:<port>")
		text = dateRE.ReplaceAllString(text, "<date>")
		text = isoDateRE.ReplaceAllString(text, "<date>")
		text = tlsRE.ReplaceAllString(text, "TLS <version>")
		text = cipherRE.ReplaceAllString(text, "<cipher>")
		b.WriteString(Line{Dir: l.Dir, Text: text}.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// AssertGolden compares the normalized transcript (see
// [Transcript.Normalized]) with the golden file at path, and fails t with
// a (-want +got) diff when they differ. With update set, it writes the
// file instead, creating its directory. The flag is the test's own: the
// library reads no flags. Declare it once in a test file of the package,
//
//	var update = flag.Bool("update", false, "rewrite golden files")
//
// pass *update, and run go test -run TestSignup -update to accept a new
// transcript; review the change with git diff.
func (t Transcript) AssertGolden(tb testing.TB, path string, update bool) {
	tb.Helper()
	got := t.Normalized()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatalf("mocksmtp: AssertGolden: %v", err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatalf("mocksmtp: AssertGolden: %v", err)
		}
		tb.Logf("mocksmtp: wrote %s", path)
		return
	}
	want, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		tb.Errorf("mocksmtp: golden transcript %s does not exist; run the test with -update to write it. The transcript:\n%s", path, got)
		return
	}
	if err != nil {
		tb.Errorf("mocksmtp: AssertGolden: %v", err)
		return
	}
	if w := strings.ReplaceAll(string(want), "\r\n", "\n"); w != got {
		tb.Errorf("mocksmtp: transcript differs from %s (-want +got); run the test with -update to accept it:\n%s", path, cmp.Diff(w, got))
	}
}
