package mocksmtp_test

import (
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
)

// converse talks to addr over TCP: HELO or EHLO, noops NOOPs, QUIT, each
// reply read before the next command. With EHLO (8 reply lines) the
// session has 12+2*noops lines, with HELO 5+2*noops.
func converse(t *testing.T, addr string, ehlo bool, noops int) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	c := textproto.NewConn(conn)
	cmd := func(line string, code int) {
		t.Helper()
		if line != "" {
			if err := c.PrintfLine("%s", line); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := c.ReadResponse(code); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
	}
	cmd("", 220)
	if ehlo {
		cmd("EHLO client.example", 250)
	} else {
		cmd("HELO client.example", 250)
	}
	for range noops {
		cmd("NOOP", 250)
	}
	cmd("QUIT", 221)
}

// A session at, under and over the transcript cap reads in its
// normalized form (Session.Normalized, Session.AssertGolden) as the same
// session on a server without the cap, but for the lines the cap forgot,
// which a note names where they were: a golden file of a long session
// covers its first lines, and does not pass whatever they say.
func TestSessionNormalizedAtTheCap(t *testing.T) {
	t.Parallel()
	const limit = 20 // keeps lines 1 and 2 and the last 18
	for _, tc := range []struct {
		name  string
		ehlo  bool
		noops int
		lines int
	}{
		{"N-1", false, 7, limit - 1},
		{"N", true, 4, limit},
		{"N+1", false, 8, limit + 1},
		{"2N", true, 14, 2 * limit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			full := mocksmtp.Start(t)
			converse(t, full.Addr(), tc.ehlo, tc.noops)
			whole := full.WaitForSessions(t, 1)[0].Transcript
			if len(whole) != tc.lines {
				t.Fatalf("the session has %d lines, want %d", len(whole), tc.lines)
			}

			srv := mocksmtp.Start(t, mocksmtp.WithMaxTranscriptLines(limit))
			converse(t, srv.Addr(), tc.ehlo, tc.noops)
			s := srv.WaitForSessions(t, 1)[0]
			want := whole.Normalized()
			if tc.lines > limit {
				forgot := tc.lines - (limit - limit/10)
				want = whole[:limit/10].Normalized() +
					fmt.Sprintf("*: … lines %d to %d forgotten …\n", limit/10+1, forgot) +
					whole[forgot:].Normalized()
			}
			if diff := cmp.Diff(want, s.Normalized()); diff != "" {
				t.Errorf("Session.Normalized (-want +got):\n%s", diff)
			}

			// The golden file of the whole session is not that of the capped
			// one, and the other way round.
			path := t.TempDir() + "/long.golden"
			check := func(s *mocksmtp.Session, update bool) string {
				ft := &expT{name: "TestLong"}
				ft.run(func() { s.AssertGolden(ft, path, update) })
				return ft.report()
			}
			if got := check(s, true); got != "" {
				t.Fatalf("update: report %q", got)
			}
			if got := check(s, false); got != "" {
				t.Errorf("the session against its own golden file: report %q", got)
			}
			wholeSession := &mocksmtp.Session{Transcript: whole}
			if got := check(wholeSession, false); (got == "") != (tc.lines <= limit) {
				t.Errorf("the whole session against the capped one's golden file: report %q", got)
			}
		})
	}
}

// twoMessages sends two messages in one session.
func twoMessages(t *testing.T, addr string) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, subject := range []string{"one", "two"} {
		if err := c.Mail("app@example.com"); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("bob@example.com"); err != nil {
			t.Fatal(err)
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(w, "Subject: %s\r\n\r\nHello.\r\n", subject)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

// WithRetention forgets the first lines of a long session with the
// messages they delivered: the normalized form starts with a note that
// names them, then reads as the rest of the same session on a server that
// forgets nothing.
func TestSessionNormalizedRetention(t *testing.T) {
	t.Parallel()
	full := mocksmtp.Start(t)
	twoMessages(t, full.Addr())
	whole := full.WaitForSessions(t, 1)[0].Transcript

	srv := mocksmtp.Start(t, mocksmtp.WithRetention(1))
	twoMessages(t, srv.Addr())
	s := srv.WaitForSessions(t, 1)[0]
	if s.Forgotten == 0 || s.Forgotten+len(s.Transcript) != len(whole) {
		t.Fatalf("forgotten %d, %d lines kept, want some forgotten of %d", s.Forgotten, len(s.Transcript), len(whole))
	}
	want := fmt.Sprintf("*: … lines 1 to %d forgotten …\n", s.Forgotten) + whole[s.Forgotten:].Normalized()
	if diff := cmp.Diff(want, s.Normalized()); diff != "" {
		t.Errorf("Session.Normalized (-want +got):\n%s", diff)
	}
}

// A transcript's golden diff names the line of the file where the
// transcript first differs, as a message's does: here a changed reply on
// line 4, and a line more at the end.
func TestAssertGoldenNamesTheLine(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/welcome.golden"
	tr := mocksmtp.Transcript{
		{Dir: mocksmtp.FromServer, Text: "220 localhost ESMTP mocksmtp"},
		{Dir: mocksmtp.FromClient, Text: "EHLO laptop.local"},
		{Dir: mocksmtp.FromServer, Text: "250 localhost"},
		{Dir: mocksmtp.FromClient, Text: "MAIL FROM:<app@example.com>"},
		{Dir: mocksmtp.FromServer, Text: "250 2.1.0 Ok"},
	}
	check := func(tr mocksmtp.Transcript, update bool) string {
		ft := &expT{name: "TestWelcome"}
		ft.run(func() { tr.AssertGolden(ft, path, update) })
		return ft.report()
	}
	if got := check(tr, true); got != "" {
		t.Fatalf("update: report %q", got)
	}
	changed := slices.Clone(tr)
	changed[3].Text = "MAIL FROM:<bounce@example.com>"
	if got, want := check(changed, false), "mocksmtp: transcript differs from "+path+" at line 4 of the file (-want +got)"; !strings.Contains(got, want) {
		t.Errorf("a changed line 4: report\n%s\nwant %q", got, want)
	}
	longer := append(slices.Clone(tr), mocksmtp.Line{Dir: mocksmtp.FromClient, Text: "QUIT"})
	if got, want := check(longer, false), " at line 6 of the file (-want +got)"; !strings.Contains(got, want) {
		t.Errorf("a line more: report\n%s\nwant %q", got, want)
	}
}
