package mocksmtp_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// What a client that left a Delay had sent is on record as far as it is
// commands, and never more: an AUTH line however spelled (a blank before
// the verb, a tab after it) is where the record stops, its credentials
// never shown, and the chunk of a BDAT line however spelled (the engine
// takes its octets as a chunk, not as commands) is no command either, so
// a "QUIT" in it neither shows as the client's nor makes the session end
// as one that quit. Over TCP and in memory.
func TestDelayRecordsNoSecretOrChunkOfAClientThatLeft(t *testing.T) {
	overTransports(t, testDelayRecordsNoSecretOrChunkOfAClientThatLeft)
}

func testDelayRecordsNoSecretOrChunkOfAClientThatLeft(t *testing.T, via transport) {
	t.Parallel()
	const secret = "AGFsaWNlAHNlY3JldA==" // \0alice\0secret
	for _, tt := range []struct {
		name     string
		duringIt string // sent once the delay began, CRLF-ended lines
		want     []string
	}{
		{"AUTH after a blank", "NOOP\r\n AUTH PLAIN " + secret + "\r\n", []string{"NOOP"}},
		{"AUTH and a tab", "NOOP\r\nAUTH\tPLAIN " + secret + "\r\n", []string{"NOOP"}},
		{"BDAT and a tab, QUIT in its chunk", "BDAT\t6 LAST\r\nQUIT\r\n", []string{"BDAT\t6 LAST"}},
		{"BDAT after a blank, QUIT in its chunk", " BDAT 6 LAST\r\nQUIT\r\n", []string{" BDAT 6 LAST"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := via.start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageRcpt).Delay(time.Hour)),
				mocksmtp.WithAuth("alice", "secret"))
			c := dialFault(t, srv)
			c.must("", 220)
			c.must("EHLO client.example", 250)
			c.must("MAIL FROM:<app@example.com>", 250)
			c.send("RCPT TO:<bob@example.com>")
			srv.WaitUntil(t, "the delay to begin", func() bool { return len(srv.Sessions()[0].Faults) == 1 })
			if _, err := c.conn.Write([]byte(tt.duringIt)); err != nil {
				t.Fatal(err)
			}
			c.conn.Close()
			s := srv.WaitForSessions(t, 1)[0]
			if s.Ended != mocksmtp.EndClientClosed {
				t.Errorf("session ended %v (%v), want client closed: the client sent no QUIT command", s.Ended, s.Err)
			}
			if !slices.ContainsFunc(s.Findings, func(f mocksmtp.Finding) bool { return f.Rule == mocksmtp.RuleQuit }) {
				t.Errorf("findings %v; want the quit rule's", s.Findings)
			}
			note := slices.IndexFunc(s.Transcript, func(l mocksmtp.Line) bool { return strings.HasPrefix(l.Text, "the client left during the wait") })
			if note < 0 {
				t.Fatalf("no note of what the client sent:\n%s", s.Transcript.Numbered())
			}
			var got []string
			for _, l := range s.Transcript[note+1:] {
				if l.Dir == mocksmtp.FromClient {
					got = append(got, l.Text)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("the client's lines after the note: %q, want %q", got, tt.want)
			}
			if text := s.Transcript.String(); strings.Contains(text, secret) {
				t.Errorf("the transcript shows the credentials:\n%s", s.Transcript.Numbered())
			}
			if t.Failed() {
				t.Logf("transcript:\n%s", s.Transcript.Numbered())
			}
		})
	}
}
