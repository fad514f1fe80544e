package mocksmtp_test

import (
	"cmp"
	"slices"
	"strings"
	"testing"

	"github.com/mocksmtp/mocksmtp"
)

// A report on a big message, or for a big Want, stays a screenful: each
// side of its diff is cut (STYLE rule 11), the text from a few lines
// before the first line where want and got differ, so that the cut diff
// still shows the difference; a long list of addresses shows those that
// are not on both sides.
func TestReportOfBigValuesIsCutAndShowsTheDifference(t *testing.T) {
	t.Parallel()
	var lines []string
	for i := range 100_000 {
		lines = append(lines, "line "+strings.Repeat("x", i%7))
	}
	body := strings.Join(lines, "\n") + "\n"
	var to []string
	for i := range 5000 {
		to = append(to, "user"+strings.Repeat("x", i%11)+"@example.com")
	}
	raw := "From: a@example.com\nTo: " + strings.Join(to, ",\n ") + "\nSubject: big\n\n" + body

	changed := slicesWith(lines, 50_000, "the line that differs")
	bin := make([]byte, 1<<20+1)
	for i := range bin {
		bin[i] = byte(i * 7)
	}
	withBinary := "From: a@example.com\nSubject: bin\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n" +
		"--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=x.bin\n" +
		"Content-Transfer-Encoding: base64\n\n" + strings.ReplaceAll(base64Lines(bin), "\r\n", "\n") + "--b--\n"
	other := slices.Clone(bin)
	other[len(other)/2]++
	cases := []struct {
		name  string
		raw   string // big, when ""
		want  mocksmtp.Want
		shows []string
	}{
		{"text differs deep inside", "", mocksmtp.Want{Text: strings.Join(changed, "\n")},
			[]string{"- \t\tthe line that differs", "+ \t\tline xxxxx"}},
		{"a long contains", "", mocksmtp.Want{TextContains: strings.Join(changed, "\n")}, nil},
		{"header addresses: one missing", "", mocksmtp.Want{HeaderTo: append(to[1:len(to):len(to)], "nobody@example.com")},
			[]string{`- 		"nobody@example.com"`, `+ 		"user@example.com"`}},
		{"envelope recipients: none alike", "", mocksmtp.Want{To: to}, []string{`+ 		"b@example.com"`}},
		{"binary attachment", withBinary, mocksmtp.Want{Attachments: []mocksmtp.WantAttachment{{Data: other}}},
			[]string{"// -|", "// +|"}}, // the octet that differs
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, err := mocksmtp.New()
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			expSend(t, srv.Addr(), "a@example.com", []string{"b@example.com"}, cmpOr(c.raw, raw))
			if _, err := srv.AddExpectation(c.want); err != nil {
				t.Fatal(err)
			}
			err = srv.Verify()
			if err == nil {
				t.Fatal("Verify passed")
			}
			report := strings.ReplaceAll(err.Error(), "\u00a0", " ")
			if n := strings.Count(report, "\n"); n > 120 || len(report) > 8000 {
				t.Errorf("report of %d lines, %d bytes: want at most 120 lines, 8000 bytes; it begins:\n%.3000s", n, len(report), report)
			}
			for _, s := range c.shows {
				if !strings.Contains(report, s) {
					t.Errorf("report lacks %q:\n%.5000s", s, report)
				}
			}
		})
	}
}

// cmpOr is cmp.Or, named apart from go-cmp's package.
func cmpOr(a, b string) string { return cmp.Or(a, b) }

// slicesWith returns a copy of s with s[i] set to v.
func slicesWith(s []string, i int, v string) []string {
	out := append([]string(nil), s...)
	out[i] = v
	return out
}
