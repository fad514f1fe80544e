package mocksmtp_test

import (
	"cmp"
	"fmt"
	"net/smtp"
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
		{"header addresses: one of many", "", mocksmtp.Want{HeaderTo: []string{"userxxx@example.com"}},
			[]string{"\n  \t\t\"userxxx@example.com\",\n"}}, // on both sides, not a difference
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

// A report that lists the messages against it (ExpectNoMessages, a Never,
// the extra messages of Times, those ForbidOtherMessages refuses) names
// the first few and counts the rest, as a failed wait does: a runaway
// loop that sent 300 messages gives a screenful, not 300 lines.
func TestReportListsAFewMessages(t *testing.T) {
	t.Parallel()
	srv, err := mocksmtp.New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	const n = 300
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := c.Mail("a@example.com"); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("b@example.com"); err != nil {
			t.Fatal(err)
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(w, "From: a@example.com\r\nSubject: loop %d\r\n\r\nagain\r\n", i+1)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}

	e, err := srv.AddExpectation(mocksmtp.Want{TextContains: "again"})
	if err != nil {
		t.Fatal(err)
	}
	e.Never()
	if _, err := srv.AddExpectation(mocksmtp.Want{From: "a@example.com"}); err != nil { // 1 of 300: 299 extra
		t.Fatal(err)
	}
	if err := srv.ForbidMessages(); err != nil {
		t.Fatal(err)
	}
	err = srv.Verify()
	if err == nil {
		t.Fatal("Verify passed")
	}
	reports := strings.Split(err.Error(), "\nmocksmtp: ")
	if len(reports) != 3 {
		t.Fatalf("got %d reports, want 3:\n%s", len(reports), err)
	}
	for _, r := range reports {
		if lines := strings.Count(r, "\n"); lines > 60 {
			t.Errorf("report of %d lines, want at most 60:\n%.3000s", lines, r)
		}
		if !strings.Contains(r, "more messages not shown") {
			t.Errorf("report does not say that it lists only some messages:\n%.3000s", r)
		}
	}
}

// A Want's exact text is shown as it is compared, its line breaks "\n"
// and none at its end: a field the message has stays out of the diff,
// and a long CRLF text is cut where it differs, not at its first line
// break.
func TestReportShowsExactTextAsCompared(t *testing.T) {
	t.Parallel()
	srv, err := mocksmtp.New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var lines []string
	for i := range 1000 {
		lines = append(lines, fmt.Sprintf("line %d", i))
	}
	expSend(t, srv.Addr(), "a@example.com", []string{"b@example.com"},
		"From: a@example.com\nSubject: hi\n\n"+strings.Join(lines, "\n")+"\n")
	changed := slicesWith(lines, 500, "the line that differs")
	for _, w := range []mocksmtp.Want{
		{Subject: "bye", Text: strings.Join(lines, "\r\n") + "\r\n"},
		{Text: strings.Join(changed, "\r\n") + "\r\n"},
	} {
		if _, err := srv.AddExpectation(w); err != nil {
			t.Fatal(err)
		}
	}
	err = srv.Verify()
	if err == nil {
		t.Fatal("Verify passed")
	}
	reports := strings.Split(strings.ReplaceAll(err.Error(), "\u00a0", " "), "\nmocksmtp: ")
	if len(reports) != 2 {
		t.Fatalf("got %d reports, want 2:\n%s", len(reports), err)
	}
	if strings.Contains(reports[0], "\tText:") {
		t.Errorf("the report shows the text the message has as a difference:\n%.3000s", reports[0])
	}
	for _, s := range []string{"- \t\tthe line that differs", "+ \t\tline 500"} {
		if !strings.Contains(reports[1], s) {
			t.Errorf("report lacks %q:\n%.3000s", s, reports[1])
		}
	}
}
