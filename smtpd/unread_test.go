package smtpd_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp/smtpd"
)

// What a client that left during a pause had sent, and the engine never
// read, is traced under a note: its command lines as the client's, as
// far as a line after which what follows is not commands (DATA, BDAT,
// STARTTLS) and before AUTH (whose line holds credentials), at most 100;
// the octets past them as a count. After an event whose reply decides
// what follows (DATA, BDAT, AUTH, STARTTLS), only the count.
func TestPauseTracesWhatAClientThatLeftSentUnread(t *testing.T) {
	t.Parallel()
	const note = "the client left during the wait; it had sent this, which the server did not read:"
	long := "NOOP " + strings.Repeat("x", 512-len("NOOP \r\n")+1) + "\r\n" // 513 octets: over MaxCommandLine
	for _, tt := range []struct {
		name    string
		kind    smtpd.Kind // the event paused at
		withIt  string     // sent with the event's command
		during  string     // sent once the pause began
		want    []string   // the traces after the note: "C: line" or "*: note"
		without string     // never traced
	}{
		{name: "QUIT", kind: smtpd.Rcpt, during: "QUIT\r\n", want: []string{"C: QUIT"}},
		{name: "NOOP and QUIT", kind: smtpd.Rcpt, withIt: "NOOP\r\n", during: "QUIT\r\n", want: []string{"C: NOOP", "C: QUIT"}},
		{name: "DATA and message data", kind: smtpd.Rcpt, withIt: "DATA\r\n", during: "Subject: x\r\n\r\nhi\r\n",
			want: []string{"C: DATA", "*: <18 octets more>"}},
		{name: "bare LF", kind: smtpd.Rcpt, during: "RSET\nQUIT\n", want: []string{"C: RSET", "C: QUIT"}},
		{name: "an unfinished line", kind: smtpd.Rcpt, during: "QUIT\r\nNOO", want: []string{"C: QUIT", "*: <3 octets more>"}},
		{name: "AUTH", kind: smtpd.Rcpt, during: "RSET\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n",
			want: []string{"C: RSET", "*: <33 octets more>"}, without: "AGFsaWNlAHNlY3JldA=="},
		{name: "a line over the limit", kind: smtpd.Rcpt, during: long + "QUIT\r\n", want: []string{"*: <519 octets>"}},
		{name: "at DATA", kind: smtpd.Data, withIt: "DATA\r\n", during: "QUIT\r\n", want: []string{"*: <6 octets>"}},
		{name: "101 lines", kind: smtpd.Rcpt, during: strings.Repeat("NOOP\r\n", 101),
			want: append(slices.Repeat([]string{"C: NOOP"}, 100), "*: <6 octets more>")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var traces []string
			cfg := smtpd.Config{Trace: func(tr smtpd.Trace) {
				mu.Lock()
				defer mu.Unlock()
				prefix := map[smtpd.TraceKind]string{smtpd.TraceCommand: "C: ", smtpd.TraceReply: "S: "}[tr.Kind]
				if prefix == "" {
					prefix = "*: "
				}
				traces = append(traces, prefix+tr.Text)
			}}
			p := servePause(t, cfg, tt.kind, time.Hour)
			c := dial(t, p.addr)
			toRcpt(t, c, nil)
			first := "RCPT TO:<b@example.com>\r\n"
			if tt.kind == smtpd.Data {
				c.send(first)
				c.expect("250 2.1.5 Ok")
				first = ""
			}
			c.send(first + tt.withIt)
			<-p.paused
			c.send(tt.during)
			c.conn.Close()
			within(t, 10*time.Second, p.ended)
			mu.Lock()
			defer mu.Unlock()
			i := slices.Index(traces, "*: "+note)
			if i < 0 {
				t.Fatalf("no note %q in\n%s", note, strings.Join(traces, "\n"))
			}
			if got := traces[i+1:]; !slices.Equal(got, tt.want) {
				t.Errorf("after the note:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if tt.without != "" && strings.Contains(fmt.Sprint(traces), tt.without) {
				t.Errorf("traced %q:\n%s", tt.without, strings.Join(traces, "\n"))
			}
		})
	}
}
