package main

import (
	"fmt"
	"net"
	"net/textproto"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The flags whose value is a count, the options WithMaxRecipients,
// WithRetention and WithMaxTranscriptLines, end to end at N-1, N, N+1
// and 2N of a small N, at a huge N, and refused where N is no count.

// huge is the largest count a flag takes: the largest int64.
const huge = "9223372036854775807"

// countSetting is one way to give a count flag: on the command line, in
// the environment, or huge; n is the limit, -1 for none reached.
type countSetting struct {
	name string
	env  []string
	args []string
	n    int
}

// countSettings returns the flag given n, the variable given n, and the
// flag given huge, with extra settings before the huge one.
func countSettings(flag, env string, n int, extra ...countSetting) []countSetting {
	return append(append([]countSetting{
		{"flag", nil, []string{flag, strconv.Itoa(n)}, n},
		{"environment", []string{fmt.Sprintf("%s=%d", env, n)}, nil, n},
	}, extra...), countSetting{"huge", nil, []string{flag, huge}, -1})
}

// wantUsageErrors runs the program with each of args and env, and wants
// exit 2 and its usage error in stderr.
func wantUsageErrors(t *testing.T, tests []struct {
	env  []string
	args []string
	want string
}) {
	t.Helper()
	for _, tt := range tests {
		args := append([]string{"-listen", "127.0.0.1:0", "-http", ""}, tt.args...)
		code, _, stderr := runOnce(t, tt.env, args...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%q %q: exit %d, stderr:\n%s\nwant exit 2 and %q", tt.env, tt.args, code, stderr, tt.want)
		}
	}
}

// -max-recipients N: in a transaction, the first N RCPT TO get 250 2.1.5,
// each further one 452 4.5.3; the message is accepted and listed once,
// with exactly the recipients accepted, its raw form byte for byte.
func TestMaxRecipientsFlagAtItsLimit(t *testing.T) {
	t.Parallel()
	const n = 3
	for _, tt := range countSettings("-max-recipients", "MOCKSMTP_MAX_RECIPIENTS", n, countSetting{"the flag winning over the environment", []string{"MOCKSMTP_MAX_RECIPIENTS=1"}, []string{"-max-recipients", strconv.Itoa(n)}, n}) {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := start(t, tt.env, append([]string{"-quiet"}, tt.args...)...)
			type sent struct {
				to  []string
				raw string
			}
			var taken []sent
			s := dialRaw(t, p)
			for i, k := range []int{n - 1, n, n + 1, 2 * n} {
				s.want("MAIL", "MAIL FROM:<app@example.com>", 250, "2.1.0")
				var to []string
				for j := 1; j <= k; j++ {
					rcpt := fmt.Sprintf("r%d.%d@example.com", i, j)
					if tt.n < 0 || j <= tt.n {
						s.want(fmt.Sprintf("RCPT %d of %d", j, k), "RCPT TO:<"+rcpt+">", 250, "2.1.5")
						to = append(to, rcpt)
					} else {
						s.want(fmt.Sprintf("RCPT %d of %d, past -max-recipients %d", j, k, tt.n), "RCPT TO:<"+rcpt+">", 452, "4.5.3")
					}
				}
				if code, msg := s.cmd("DATA"); code != 354 {
					t.Fatalf("DATA: %d %q, want 354", code, msg)
				}
				raw := fmt.Sprintf("Subject: %d recipients\r\n\r\nto %d\r\n", k, k)
				s.want(fmt.Sprintf("the message to %d recipients", k), raw+".", 250, "2.0.0")
				taken = append(taken, sent{to, raw})
			}
			s.want("QUIT", "QUIT", 221, "2.0.0")

			var ms []messageJSON
			h := getJSON(t, p, "/api/messages", 200, &ms)
			if len(ms) != len(taken) || h.Get("X-Total-Count") != strconv.Itoa(len(taken)) {
				t.Fatalf("%d messages listed (X-Total-Count %q), want the %d taken", len(ms), h.Get("X-Total-Count"), len(taken))
			}
			for i, m := range ms {
				if diff := cmp.Diff(taken[i].to, m.To); diff != "" {
					t.Errorf("message %d's recipients (-want +got):\n%s", m.ID, diff)
				}
				res, b := do(t, p, "GET", fmt.Sprintf("/api/messages/%d/raw", m.ID), "")
				if res.StatusCode != 200 || string(b) != taken[i].raw {
					t.Errorf("message %d: %d %q; want %q, byte for byte", m.ID, res.StatusCode, b, taken[i].raw)
				}
			}
		})
	}
	wantUsageErrors(t, []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"-max-recipients", "-1"}, `invalid value "-1" for flag -max-recipients: WithMaxRecipients(-1): want a positive number`},
		{nil, []string{"-max-recipients", ""}, `invalid value "" for flag -max-recipients: want a whole number`},
		{nil, []string{"-max-recipients", "2.5"}, `invalid value "2.5" for flag -max-recipients: want a whole number`},
		{nil, []string{"-max-recipients", "9223372036854775808"}, `invalid value "9223372036854775808" for flag -max-recipients: want a whole number`},
		{[]string{"MOCKSMTP_MAX_RECIPIENTS=-3"}, nil, `mocksmtp: MOCKSMTP_MAX_RECIPIENTS="-3": WithMaxRecipients(-3): want a positive number`},
	})
}

// -retain N: of k sessions of one message each, the API keeps the last
// min(k, N) messages and their sessions, and counts only those.
func TestRetainFlagAtItsLimit(t *testing.T) {
	t.Parallel()
	const n = 3
	for _, tt := range countSettings("-retain", "MOCKSMTP_RETAIN", n) {
		for _, k := range []int{n - 1, n, n + 1, 2 * n} {
			t.Run(fmt.Sprintf("%s/%d sessions", tt.name, k), func(t *testing.T) {
				t.Parallel()
				p := start(t, tt.env, tt.args...)
				for i := 1; i <= k; i++ {
					s := dialRaw(t, p)
					if code, msg := s.send(fmt.Sprintf("message %d", i)); code != 250 {
						t.Fatalf("message %d: %d %q", i, code, msg)
					}
					s.want("QUIT", "QUIT", 221, "2.0.0")
					p.stdout.waitFor(t, regexp.MustCompile(fmt.Sprintf(`(?m)^session %d .* ended: QUIT\n`, i)))
				}
				first := 1
				if tt.n > 0 && k > tt.n {
					first = k - tt.n + 1
				}
				var want []int
				for id := first; id <= k; id++ {
					want = append(want, id)
				}

				var ms []messageJSON
				h := getJSON(t, p, "/api/messages", 200, &ms)
				var ids []int
				for _, m := range ms {
					ids = append(ids, m.ID)
					if m.SessionID != m.ID || m.Text != fmt.Sprintf("message %d\n", m.ID) {
						t.Errorf("message %d: session %d, text %q", m.ID, m.SessionID, m.Text)
					}
				}
				if diff := cmp.Diff(want, ids); diff != "" || h.Get("X-Total-Count") != strconv.Itoa(len(want)) {
					t.Errorf("GET /api/messages after %d of -retain %d: X-Total-Count %q, IDs (-want +got):\n%s", k, tt.n, h.Get("X-Total-Count"), diff)
				}
				var ss []sessionJSON
				h = getJSON(t, p, "/api/sessions", 200, &ss)
				ids = nil
				for _, s := range ss {
					ids = append(ids, s.ID)
					if !slices.Equal(s.MessageIDs, []int{s.ID}) {
						t.Errorf("session %d: messages %v, want its own", s.ID, s.MessageIDs)
					}
				}
				if diff := cmp.Diff(want, ids); diff != "" || h.Get("X-Total-Count") != strconv.Itoa(len(want)) {
					t.Errorf("GET /api/sessions after %d of -retain %d: X-Total-Count %q, IDs (-want +got):\n%s", k, tt.n, h.Get("X-Total-Count"), diff)
				}
				for id := 1; id < first; id++ {
					for _, path := range []string{"/api/messages/%d", "/api/sessions/%d"} {
						if res, b := do(t, p, "GET", fmt.Sprintf(path, id), ""); res.StatusCode != 404 {
							t.Errorf("GET %s, forgotten: %d %s, want 404", fmt.Sprintf(path, id), res.StatusCode, b)
						}
					}
				}
			})
		}
	}
	// Sessions without a message: the last N to start are kept.
	for _, k := range []int{n - 1, n, n + 1, 2 * n} {
		t.Run(fmt.Sprintf("%d sessions without a message", k), func(t *testing.T) {
			t.Parallel()
			p := start(t, nil, "-retain", strconv.Itoa(n))
			for i := 1; i <= k; i++ {
				dialRaw(t, p).want("QUIT", "QUIT", 221, "2.0.0")
				p.stdout.waitFor(t, regexp.MustCompile(fmt.Sprintf(`(?m)^session %d .* ended: QUIT\n`, i)))
			}
			var want, ids []int
			for id := max(1, k-n+1); id <= k; id++ {
				want = append(want, id)
			}
			var ss []sessionJSON
			h := getJSON(t, p, "/api/sessions", 200, &ss)
			for _, s := range ss {
				ids = append(ids, s.ID)
			}
			if diff := cmp.Diff(want, ids); diff != "" || h.Get("X-Total-Count") != strconv.Itoa(len(want)) {
				t.Errorf("GET /api/sessions after %d of -retain %d: X-Total-Count %q, IDs (-want +got):\n%s", k, n, h.Get("X-Total-Count"), diff)
			}
		})
	}

	// One session of 2N messages: it is kept, with its last N messages,
	// and forgets its transcript up to the acceptance of the last message
	// forgotten, which the printed note says, naming the flag.
	t.Run("one session of 2N messages", func(t *testing.T) {
		t.Parallel()
		p := start(t, nil, "-retain", strconv.Itoa(n))
		s := dialRaw(t, p)
		for i := 1; i <= 2*n; i++ {
			if code, msg := s.send(fmt.Sprintf("message %d", i)); code != 250 {
				t.Fatalf("message %d: %d %q", i, code, msg)
			}
		}
		s.want("QUIT", "QUIT", 221, "2.0.0")
		out := p.stdout.waitFor(t, regexp.MustCompile(`(?s)session 1 .*? ended: QUIT(\n.*? S: 221 2\.0\.0 Bye\n)`))[1]
		var ss []sessionJSON
		h := getJSON(t, p, "/api/sessions", 200, &ss)
		if len(ss) != 1 || h.Get("X-Total-Count") != "1" || !slices.Equal(ss[0].MessageIDs, []int{n + 1, n + 2, 2 * n}) || ss[0].Forgotten == 0 {
			t.Fatalf("GET /api/sessions: %+v, X-Total-Count %q; want session 1 with messages %d to %d, its start forgotten", ss, h.Get("X-Total-Count"), n+1, 2*n)
		}
		note := fmt.Sprintf("\n     (lines 1 to %d forgotten: -retain or the transcript cap, -max-transcript-lines)\n", ss[0].Forgotten)
		if !strings.Contains(out, note) {
			t.Errorf("printed:\n%s\nwant the note %q", out, note)
		}
		var ms []messageJSON
		if h := getJSON(t, p, "/api/messages", 200, &ms); len(ms) != n || ms[0].ID != n+1 || h.Get("X-Total-Count") != strconv.Itoa(n) {
			t.Errorf("GET /api/messages: %d messages from %d, X-Total-Count %q; want %d to %d", len(ms), ms[0].ID, h.Get("X-Total-Count"), n+1, 2*n)
		}
	})
	wantUsageErrors(t, []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"-retain", "-1"}, `invalid value "-1" for flag -retain: WithRetention(-1): want a positive number`},
		{nil, []string{"-retain", "all"}, `invalid value "all" for flag -retain: want a whole number`},
		{nil, []string{"-retain", ""}, `invalid value "" for flag -retain: want a whole number`},
		{[]string{"MOCKSMTP_RETAIN=0"}, nil, `mocksmtp: MOCKSMTP_RETAIN="0": WithRetention(0): want a positive number`},
		{[]string{"MOCKSMTP_RETAIN=ten"}, nil, `mocksmtp: MOCKSMTP_RETAIN="ten": want a whole number`},
	})
}

// session has a session of exactly lines transcript lines with the
// program: HELO (a reply of one line) or EHLO (of eight), NOOPs, QUIT.
// It returns the lines as the API lists them, direction and text.
func session(t *testing.T, p *proc, lines int) []string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", p.smtp, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	s := &rawSMTP{t: t, tc: textproto.NewConn(conn)}
	if code, msg := s.read(); code != 220 {
		t.Fatalf("greeting %d %q", code, msg)
	}
	want := []string{"S 220 localhost ESMTP mocksmtp"}
	if lines%2 == 1 {
		if code, msg := s.cmd("HELO client.example"); code != 250 {
			t.Fatalf("HELO: %d %q", code, msg)
		}
		want = append(want, "C HELO client.example", "S 250 localhost")
	} else {
		if code, msg := s.cmd("EHLO client.example"); code != 250 {
			t.Fatalf("EHLO: %d %q", code, msg)
		}
		want = append(want, "C EHLO client.example",
			"S 250-localhost", "S 250-PIPELINING", "S 250-SIZE 10485760", "S 250-ENHANCEDSTATUSCODES",
			"S 250-8BITMIME", "S 250-DSN", "S 250-SMTPUTF8", "S 250 CHUNKING")
	}
	for len(want) < lines-2 {
		s.want("NOOP", "NOOP", 250, "2.0.0")
		want = append(want, "C NOOP", "S 250 2.0.0 Ok")
	}
	s.want("QUIT", "QUIT", 221, "2.0.0")
	return append(want, "C QUIT", "S 221 2.0.0 Bye")
}

// -max-transcript-lines N: a session of up to N lines is kept whole; a
// longer one keeps its first tenth of N and its last lines, N in all,
// every line with its number, and the note in the program's output
// names the lines forgotten.
func TestMaxTranscriptLinesFlagAtItsLimit(t *testing.T) {
	t.Parallel()
	const n = 20
	for _, tt := range countSettings("-max-transcript-lines", "MOCKSMTP_MAX_TRANSCRIPT_LINES", n) {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := start(t, tt.env, tt.args...)
			for i, lines := range []int{n - 1, n, n + 1, 2 * n} {
				id := i + 1
				want := session(t, p, lines)
				if len(want) != lines {
					t.Fatalf("a session of %d lines, want %d", len(want), lines)
				}
				out := p.stdout.waitFor(t, regexp.MustCompile(fmt.Sprintf(`(?s)session %d .*? ended: QUIT(\n.*? S: 221 2\.0\.0 Bye\n)`, id)))[1]
				var s sessionJSON
				getJSON(t, p, fmt.Sprintf("/api/sessions/%d", id), 200, &s)
				var head, got []string
				for _, l := range s.TranscriptHead {
					head = append(head, l.Dir+" "+l.Text)
				}
				for _, l := range s.Transcript {
					got = append(got, l.Dir+" "+l.Text)
				}
				wantHead, forgotten, note := []string(nil), 0, ""
				if tt.n > 0 && lines > tt.n {
					wantHead, forgotten = want[:tt.n/10], lines-(tt.n-tt.n/10)
					note = fmt.Sprintf("\n     … lines %d to %d forgotten (the transcript cap, -max-transcript-lines) …\n", tt.n/10+1, forgotten)
				}
				if diff := cmp.Diff(wantHead, head); diff != "" {
					t.Errorf("a session of %d lines: transcriptHead (-want +got):\n%s", lines, diff)
				}
				if diff := cmp.Diff(want[forgotten:], got); diff != "" {
					t.Errorf("a session of %d lines: transcript (-want +got):\n%s", lines, diff)
				}
				if s.TranscriptLines != lines || s.Forgotten != forgotten {
					t.Errorf("a session of %d lines: transcriptLines %d, forgotten %d; want %d, %d", lines, s.TranscriptLines, s.Forgotten, lines, forgotten)
				}
				if note == "" && strings.Contains(out, "forgotten") || note != "" && !strings.Contains(out, note) {
					t.Errorf("a session of %d lines, printed:\n%s\nwant the note %q", lines, out, note)
				}
			}
		})
	}
	wantUsageErrors(t, []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"-max-transcript-lines", "-1"}, `invalid value "-1" for flag -max-transcript-lines: WithMaxTranscriptLines(-1): want at least 10 lines`},
		{nil, []string{"-max-transcript-lines", "many"}, `invalid value "many" for flag -max-transcript-lines: want a whole number`},
		{nil, []string{"-max-transcript-lines", ""}, `invalid value "" for flag -max-transcript-lines: want a whole number`},
		{[]string{"MOCKSMTP_MAX_TRANSCRIPT_LINES=9"}, nil, `mocksmtp: MOCKSMTP_MAX_TRANSCRIPT_LINES="9": WithMaxTranscriptLines(9): want at least 10 lines`},
	})
}
