package mocksmtp_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	netmail "net/mail"
	"net/smtp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
)

// sendOn sends one message over an open client, without QUIT.
func sendOn(t *testing.T, c *smtp.Client, to, subject string) {
	t.Helper()
	if err := sendText(c, to, subject, "body"); err != nil {
		t.Fatal(err)
	}
}

// sendText sends a message with a subject and a text over an open client,
// without QUIT.
func sendText(c *smtp.Client, to, subject, text string) error {
	if err := c.Mail("app@example.com"); err != nil {
		return fmt.Errorf("MAIL: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("RCPT: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	fmt.Fprintf(w, "Subject: %s\r\n\r\n%s\r\n", subject, text)
	if err := w.Close(); err != nil {
		return fmt.Errorf("end of data: %w", err)
	}
	return nil
}

func send(t *testing.T, addr, to, subject string) {
	t.Helper()
	msg := "Subject: " + subject + "\r\n\r\nbody\r\n"
	if err := smtp.SendMail(addr, nil, "app@example.com", []string{to}, []byte(msg)); err != nil {
		t.Fatalf("SendMail: %v", err)
	}
}

// endings returns an option that reports each session's end on a
// channel, and a function that waits for n more of them.
func endings(t *testing.T) (mocksmtp.Option, func(n int)) {
	ch := make(chan int, 100)
	opt := mocksmtp.WithOnSessionEnd(func(s *mocksmtp.Session) { ch <- s.ID })
	wait := func(n int) {
		t.Helper()
		timeout := time.After(5 * time.Second)
		for range n {
			select {
			case <-ch:
			case <-timeout:
				t.Fatalf("waiting for %d sessions to end: timed out", n)
			}
		}
	}
	return opt, wait
}

type msgView struct {
	ID      int
	Subject string
	Session int
}

func viewMessages(ms []*mocksmtp.Message) []msgView {
	var out []msgView
	for _, m := range ms {
		out = append(out, msgView{m.ID, m.Subject, m.Session.ID})
	}
	return out
}

func sessionIDs(ss []*mocksmtp.Session) []int {
	var out []int
	for _, s := range ss {
		out = append(out, s.ID)
	}
	return out
}

func TestResetForgetsMessagesAndEndedSessionsAndKeepsNumbering(t *testing.T) {
	t.Parallel()
	ended, waitEnded := endings(t)
	srv := mocksmtp.Start(t, ended)
	send(t, srv.Addr(), "a@example.com", "one")
	send(t, srv.Addr(), "b@example.com", "two")
	waitEnded(2)

	srv.Reset()
	if got := srv.Messages(); len(got) != 0 {
		t.Errorf("Messages after Reset = %v, want none", viewMessages(got))
	}
	if got := srv.Sessions(); len(got) != 0 {
		t.Errorf("Sessions after Reset = %v, want none", sessionIDs(got))
	}

	send(t, srv.Addr(), "c@example.com", "three")
	got := srv.WaitForMessages(t, 1)
	if diff := cmp.Diff([]msgView{{3, "three", 3}}, viewMessages(got)); diff != "" {
		t.Errorf("messages after Reset (-want +got):\n%s", diff)
	}
	if a := got[0].Session.Attempt; a != 1 {
		t.Errorf("Attempt of the first session after Reset = %d, want 1", a)
	}
}

func TestResetKeepsLiveSessionWithoutItsMessages(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sendOn(t, c, "a@example.com", "before")
	srv.WaitForMessages(t, 1)

	srv.Reset()
	ss := srv.Sessions()
	if len(ss) != 1 || ss[0].Ended != mocksmtp.Live || len(ss[0].Messages) != 0 {
		t.Fatalf("Sessions after Reset = %+v, want the live session without messages", ss)
	}

	sendOn(t, c, "b@example.com", "after")
	got := srv.WaitForMessages(t, 1)
	if diff := cmp.Diff([]msgView{{2, "after", 1}}, viewMessages(got)); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	if s := srv.Session(got[0].Session.ID); s == nil || len(s.Messages) != 1 || s.Messages[0].ID != got[0].ID {
		t.Errorf("the session lists %v, want only the new message", s)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

func TestResetWakesNoWaiterButCountsAfresh(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	send(t, srv.Addr(), "a@example.com", "old")
	srv.WaitForMessages(t, 1)
	srv.Reset()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if got, err := srv.WaitForMessagesContext(ctx, 1); err == nil {
		t.Fatalf("wait for 1 after Reset returned %v, want a timeout", viewMessages(got))
	}
}

// WithRetention(3) keeps the last 3 messages and sessions, with N-1, N,
// N+1 and 2N of them sent.
func TestRetentionKeepsTheLastMessagesAndSessions(t *testing.T) {
	t.Parallel()
	const keep = 3
	for _, n := range []int{keep - 1, keep, keep + 1, 2 * keep} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			ended, waitEnded := endings(t)
			srv := mocksmtp.Start(t, mocksmtp.WithRetention(keep), ended)
			for i := 1; i <= n; i++ {
				send(t, srv.Addr(), "a@example.com", fmt.Sprint("m", i))
				waitEnded(1) // sessions end in order, so the last ones are kept
			}
			var want []msgView
			var ids []int
			for i := max(1, n-keep+1); i <= n; i++ {
				want = append(want, msgView{i, fmt.Sprint("m", i), i})
				ids = append(ids, i)
			}
			if diff := cmp.Diff(want, viewMessages(srv.Messages())); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(ids, sessionIDs(srv.Sessions())); diff != "" {
				t.Errorf("sessions (-want +got):\n%s", diff)
			}
			if sessions, messages := srv.Count(); sessions != len(ids) || messages != len(ids) {
				t.Errorf("Count() = %d sessions, %d messages; want %d of each", sessions, messages, len(ids))
			}
		})
	}
}

func TestRetentionTrimsTheMessagesOfOneLongSession(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []int
	srv := mocksmtp.Start(t, mocksmtp.WithRetention(3), mocksmtp.WithOnMessage(func(m *mocksmtp.Message) {
		mu.Lock()
		seen = append(seen, m.ID)
		mu.Unlock()
	}))
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 1; i <= 10; i++ {
		sendOn(t, c, "a@example.com", fmt.Sprint("m", i))
	}
	got := srv.Messages()
	if diff := cmp.Diff([]msgView{{8, "m8", 1}, {9, "m9", 1}, {10, "m10", 1}}, viewMessages(got)); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	if n := len(srv.Sessions()[0].Messages); n != 3 {
		t.Errorf("the session keeps %d messages, want 3", n)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, seen); diff != "" {
		t.Errorf("WithOnMessage saw (-want +got):\n%s", diff)
	}
}

// TestRetentionBoundsTheTranscriptOfOneLongSession checks that a session
// that goes on forgets its transcript and findings up to the messages the
// server forgot, so that one endless session uses bounded memory, and that
// line numbers stay those of the whole session.
func TestRetentionBoundsTheTranscriptOfOneLongSession(t *testing.T) {
	t.Parallel()
	// A fault that fires on every MAIL, and is noted in Session.Faults.
	srv := mocksmtp.Start(t, mocksmtp.WithRetention(3), mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageMail).Reply(250, "2.1.0 Sender ok")))
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example.com"); err != nil {
		t.Fatal(err)
	}
	var lines []int // the length of the whole transcript after each message
	for i := 1; i <= 40; i++ {
		sendOn(t, c, "a@example.com", fmt.Sprint("m", i)) // no Date, From or Message-ID: findings
		s := srv.Sessions()[0]
		lines = append(lines, s.Forgotten+len(s.Transcript))
	}
	s := srv.Sessions()[0]
	// Kept: the lines after message 37's acceptance note, its 250 first.
	if want := lines[36] - 1; s.Forgotten != want {
		t.Errorf("Forgotten = %d, want %d (the lines up to message 37's note)", s.Forgotten, want)
	}
	if !strings.HasPrefix(s.Transcript[0].Text, "250 ") || s.Transcript[0].Dir != mocksmtp.FromServer {
		t.Errorf("the kept transcript starts with %v, want the 250 to message 37", s.Transcript[0])
	}
	var notes []string
	for _, l := range s.Transcript {
		if l.Dir == mocksmtp.Note && strings.HasPrefix(l.Text, "message ") {
			notes = append(notes, strings.Fields(l.Text)[1])
		}
	}
	if diff := cmp.Diff([]string{"38", "39", "40"}, notes); diff != "" {
		t.Errorf("message notes kept (-want +got):\n%s", diff)
	}
	if len(s.Faults) != 3 {
		t.Errorf("Session.Faults has %d entries, want the 3 of the messages kept: %q", len(s.Faults), s.Faults)
	}
	str := s.String()
	for _, want := range []string{fmt.Sprintf("lines 1 to %d forgotten", s.Forgotten), fmt.Sprintf("\n%4d %s\n", s.Forgotten+1, s.Transcript[0])} {
		if !strings.Contains(str, want) {
			t.Errorf("Session.String() lacks %q:\n%s", want, str)
		}
	}
	fs := srv.Findings()
	report := mocksmtp.FindingsReport(fs, srv.Sessions())
	if want := fmt.Sprintf(">%4d %s", fs[0].Line, s.Transcript[fs[0].Line-s.Forgotten-1]); !strings.Contains(report, want) {
		t.Errorf("FindingsReport lacks %q:\n%s", want, report)
	}
	// Findings: those of messages 38 to 40, numbered as the whole session.
	for name, fs := range map[string][]mocksmtp.Finding{"Session.Findings": s.Findings, "Findings()": srv.Findings()} {
		ids := map[int]int{} // findings per message
		for _, f := range fs {
			ids[f.Message]++
			if f.Line <= s.Forgotten || f.Line > s.Forgotten+len(s.Transcript) {
				t.Errorf("%s: %v is on line %d, outside the kept lines %d to %d", name, f, f.Line, s.Forgotten+1, s.Forgotten+len(s.Transcript))
			}
		}
		k := ids[40]
		if diff := cmp.Diff(map[int]int{38: k, 39: k, 40: k}, ids); k == 0 || diff != "" {
			t.Errorf("%s: messages of the findings (-want +got):\n%s", name, diff)
		}
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

func TestRetentionNeverForgetsLiveSessions(t *testing.T) {
	t.Parallel()
	ended, waitEnded := endings(t)
	srv := mocksmtp.Start(t, mocksmtp.WithRetention(2), ended)
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("live.example"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		send(t, srv.Addr(), "a@example.com", "x")
		// Each session ends before the next starts: sessions that end out
		// of order (the server ends one when the client closes, after
		// QUIT) would make retention forget the later one first.
		waitEnded(1)
	}
	ss := srv.Sessions()
	// Kept: the live session 1, and sessions 3 and 4, the last two, which
	// delivered the two messages kept.
	if diff := cmp.Diff([]int{1, 3, 4}, sessionIDs(ss)); diff != "" {
		t.Errorf("sessions (-want +got):\n%s", diff)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

func TestRetentionUnderConcurrentClients(t *testing.T) {
	t.Parallel()
	const clients, each, keep = 8, 5, 7
	srv := mocksmtp.Start(t, mocksmtp.WithRetention(keep))
	var wg sync.WaitGroup
	errs := make(chan error, clients*each)
	for range clients {
		wg.Go(func() {
			for range each {
				msg := "Subject: x\r\n\r\nbody\r\n"
				errs <- smtp.SendMail(srv.Addr(), nil, "a@example.com", []string{"b@example.com"}, []byte(msg))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := srv.Messages()
	if len(got) != keep {
		t.Fatalf("kept %d messages, want %d", len(got), keep)
	}
	for i, m := range got {
		if want := clients*each - keep + 1 + i; m.ID != want {
			t.Errorf("message %d has ID %d, want %d", i, m.ID, want)
		}
	}
}

func TestWithRetentionRejectsNonPositive(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, -1} {
		if srv, err := mocksmtp.New(mocksmtp.WithRetention(n)); err == nil {
			srv.Close()
			t.Errorf("New(WithRetention(%d)) succeeded, want an error", n)
		}
	}
}

func ExampleServer_Reset() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)

	_ = sendWelcome(srv.Addr(), "a@example.com")
	fmt.Println(len(srv.WaitForMessages(t, 1)), "message")

	srv.Reset() // the next test starts afresh; IDs go on
	_ = sendWelcome(srv.Addr(), "b@example.com")
	m := srv.WaitForMessages(t, 1)[0]
	fmt.Println("message", m.ID, "to", m.To[0])
	// Output:
	// 1 message
	// message 2 to b@example.com
}

func ExampleWithRetention() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithRetention(2)) // keep the last 2

	for _, to := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		_ = sendWelcome(srv.Addr(), to)
	}
	for _, m := range srv.Messages() {
		fmt.Println(m.ID, m.To[0])
	}
	// Output:
	// 2 b@example.com
	// 3 c@example.com
}

// TestMessagesAfterCollection reads a message after the garbage collector
// ran: the server keeps Raw and the envelope only, and snapshots decode
// the rest again, the same as on arrival.
func TestMessagesAfterCollection(t *testing.T) {
	srv := mocksmtp.Start(t)
	body := "From: Alice <alice@example.com>\r\nTo: bob@example.com\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello Bob\r\n" +
		"--b\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename=a.csv\r\n\r\nx,y\r\n--b--\r\n"
	if err := smtp.SendMail(srv.Addr(), nil, "alice@example.com", []string{"bob@example.com"}, []byte(body)); err != nil {
		t.Fatal(err)
	}
	type content struct {
		Subject, Text, Filename, Data, Header string
	}
	view := func(m *mocksmtp.Message) content {
		c := content{Subject: m.Subject, Text: m.Text, Header: m.Header.Get("To")}
		if len(m.Attachments) == 1 {
			c.Filename, c.Data = m.Attachments[0].Filename, string(m.Attachments[0].Data)
		}
		return c
	}
	want := view(srv.WaitForMessages(t, 1)[0]) // no snapshot is held after this
	if want.Text != "Hello Bob" || want.Filename != "a.csv" {
		t.Fatalf("on arrival: %+v", want)
	}
	runtime.GC()
	runtime.GC()
	m := srv.Messages()[0]
	if diff := cmp.Diff(want, view(m)); diff != "" {
		t.Errorf("after a collection (-arrival +now):\n%s", diff)
	}
	if string(m.Raw) != body || m.From != "alice@example.com" {
		t.Errorf("Raw or envelope changed: From %q, Raw %q", m.From, m.Raw)
	}
	// Another snapshot has the same content, in data of its own.
	again := srv.Sessions()[0].Messages[0]
	if diff := cmp.Diff(want, view(again)); diff != "" || &again.Attachments[0].Data[0] == &m.Attachments[0].Data[0] {
		t.Errorf("a second snapshot shares the first's attachment data, or differs (-first +second):\n%s", diff)
	}
}

// TestLookups checks Message, Session, LastMessages, LastSessions and
// Count against Messages and Sessions, also after the oldest were
// forgotten.
func TestLookups(t *testing.T) {
	opt, ended := endings(t)
	srv := mocksmtp.Start(t, opt, mocksmtp.WithRetention(4))
	for i := 1; i <= 6; i++ {
		send(t, srv.Addr(), "bob@example.com", fmt.Sprint("message ", i))
		ended(1) // in order: see TestRetentionNeverForgetsLiveSessions
	}
	all, sessions := srv.Messages(), srv.Sessions()
	if got := viewMessages(all); len(got) != 4 || got[0].ID != 3 {
		t.Fatalf("Messages() with WithRetention(4) = %v, want messages 3 to 6", got)
	}
	if s, m := srv.Count(); s != len(sessions) || m != len(all) {
		t.Errorf("Count() = %d sessions, %d messages; want %d, %d", s, m, len(sessions), len(all))
	}
	for _, n := range []int{-1, 0, 1, 3, 4, 10} {
		want := all[len(all)-min(max(n, 0), len(all)):]
		lastN := srv.LastMessages(n)
		if diff := cmp.Diff(viewMessages(want), viewMessages(lastN)); diff != "" {
			t.Errorf("LastMessages(%d) (-want +got):\n%s", n, diff)
		}
		for _, m := range lastN {
			if m.Session.Messages != nil || m.Text != "body\n" {
				t.Errorf("LastMessages(%d): message %d with Text %q and a session listing %d messages; want its text and none", n, m.ID, m.Text, len(m.Session.Messages))
			}
		}
		wantS := sessions[len(sessions)-min(max(n, 0), len(sessions)):]
		if diff := cmp.Diff(sessionIDs(wantS), sessionIDs(srv.LastSessions(n))); diff != "" {
			t.Errorf("LastSessions(%d) (-want +got):\n%s", n, diff)
		}
	}
	for id := 0; id <= 7; id++ {
		var want []msgView
		for _, m := range all {
			if m.ID == id {
				want = viewMessages([]*mocksmtp.Message{m})
			}
		}
		var got []msgView
		if m := srv.Message(id); m != nil {
			got = viewMessages([]*mocksmtp.Message{m})
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Message(%d) (-want +got):\n%s", id, diff)
		}
		var wantS, gotS []int
		for _, s := range sessions {
			if s.ID == id {
				wantS = []int{s.ID}
			}
		}
		if s := srv.Session(id); s != nil {
			gotS = []int{s.ID}
			if len(s.Messages) != 1 || s.Messages[0].Subject != fmt.Sprint("message ", id) {
				t.Errorf("Session(%d).Messages = %v", id, viewMessages(s.Messages))
			}
		}
		if diff := cmp.Diff(wantS, gotS); diff != "" {
			t.Errorf("Session(%d) (-want +got):\n%s", id, diff)
		}
	}
}

func ExampleServer_LastMessages() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)

	for _, to := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		_ = sendWelcome(srv.Addr(), to)
	}
	_, n := srv.Count()
	fmt.Println(n, "messages")
	for _, m := range srv.LastMessages(2) { // the newest two, oldest first
		fmt.Println(m.ID, m.To[0])
	}
	fmt.Println(srv.Message(1).To[0], srv.Message(4) == nil)
	// Output:
	// 3 messages
	// 2 b@example.com
	// 3 c@example.com
	// a@example.com true
}

func ExampleServer_LastSessions() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)

	for _, to := range []string{"a@example.com", "b@example.com"} {
		_ = sendWelcome(srv.Addr(), to)
	}
	srv.WaitForMessages(t, 2)
	last := srv.LastSessions(1)[0]
	fmt.Println("session", last.ID, "delivered", len(last.Messages), "message")
	fmt.Println("session 1 said EHLO", srv.Session(1).Helo)
	// Output:
	// session 2 delivered 1 message
	// session 1 said EHLO localhost
}

// TestSnapshotsWhileCollecting reads messages while clients send more and
// the garbage collector frees decoded views: every snapshot, shared or
// decoded again, has the text its message was sent with.
func TestSnapshotsWhileCollecting(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	const senders, each = 4, 25
	var wg sync.WaitGroup
	for i := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := smtp.Dial(srv.Addr())
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for j := range each {
				subject := fmt.Sprintf("s%d-%d", i, j)
				if err := sendText(c, "bob@example.com", subject, "text of "+subject); err != nil {
					t.Error(err)
					return
				}
			}
			if err := c.Quit(); err != nil {
				t.Error(err)
			}
		}()
	}
	check := func(ms []*mocksmtp.Message) {
		for _, m := range ms {
			if want := "text of " + m.Subject + "\n"; m.Text != want {
				t.Errorf("message %d: Text %q, want %q", m.ID, m.Text, want)
			}
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for reading := true; reading; {
		select {
		case <-done:
			reading = false
		default:
		}
		runtime.GC()
		check(srv.Messages())
		check(srv.LastMessages(5))
		for _, s := range srv.Sessions() {
			check(s.Messages)
		}
	}
	check(srv.WaitForMessages(t, senders*each))
}

// TestRetentionKeepsTheSessionsOfKeptMessages checks that WithRetention
// keeps the sessions of the messages it keeps and the most recent
// sessions, whatever order the sessions end in: a session that ends late
// is no reason to forget a newer one whose message is kept.
func TestRetentionKeepsTheSessionsOfKeptMessages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		quit []int // the order the sessions quit in, by ID
	}{
		{"in order", []int{1, 2, 3, 4, 5, 6}},
		{"the first last", []int{2, 3, 4, 5, 6, 1}},
		{"backwards", []int{6, 5, 4, 3, 2, 1}},
		{"the newest first", []int{6, 1, 2, 3, 4, 5}},
		{"shuffled", []int{3, 1, 6, 2, 5, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ended, waitEnded := endings(t)
			srv := mocksmtp.Start(t, mocksmtp.WithRetention(2), ended)
			// Sessions 1 to 6, live together; sessions 1, 3 and 5 send a
			// message each (messages 1 to 3), the others none.
			clients := make([]*smtp.Client, 7)
			for id := 1; id <= 6; id++ {
				c, err := smtp.Dial(srv.Addr()) // returns after the greeting: IDs in dial order
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				clients[id] = c
				if id%2 == 1 {
					sendOn(t, c, "bob@example.com", fmt.Sprint("from session ", id))
				}
			}
			for _, id := range tc.quit {
				if err := clients[id].Quit(); err != nil {
					t.Fatal(err)
				}
				waitEnded(1)
			}
			// Kept: messages 2 and 3, so sessions 3 and 5, and the last
			// two sessions, 5 and 6.
			if diff := cmp.Diff([]msgView{{2, "from session 3", 3}, {3, "from session 5", 5}}, viewMessages(srv.Messages())); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]int{3, 5, 6}, sessionIDs(srv.Sessions())); diff != "" {
				t.Errorf("sessions (-want +got):\n%s", diff)
			}
			for _, m := range srv.Messages() {
				if s := srv.Session(m.Session.ID); s == nil || len(s.Messages) != 1 || s.Messages[0].ID != m.ID {
					t.Errorf("Session(%d) of message %d = %v, want the session with its message", m.Session.ID, m.ID, s)
				}
			}
			if s, m := srv.Count(); s != 3 || m != 2 {
				t.Errorf("Count() = %d sessions, %d messages; want 3, 2", s, m)
			}
		})
	}
}

// snapshotMessage is a message sent over the raw protocol, with all that
// a snapshot holds: envelope parameters, header address lists, a text
// body and an attachment, and findings (no Message-ID).
const snapshotMessage = "From: Alice <alice@example.com>\r\nTo: Bob <bob@example.com>\r\n" +
	"Date: Fri,  4 Dec 2026 10:00:00 +0000\r\nSubject: original\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
	"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n" +
	"--b\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename=a.csv\r\n\r\nx,y\r\n--b--\r\n"

// sendSnapshotMessage sends snapshotMessage to zed and bob, in that order,
// with parameters, over one session that it ends with QUIT.
func sendSnapshotMessage(t *testing.T, srv *mocksmtp.Server, subject string) {
	t.Helper()
	c := dialFault(t, srv)
	c.must("", 220)
	c.must("EHLO client.example.com", 250)
	c.must("MAIL FROM:<alice@example.com> BODY=8BITMIME", 250)
	c.must("RCPT TO:<zed@example.com> NOTIFY=SUCCESS", 250)
	c.must("RCPT TO:<bob@example.com>", 250)
	c.must("DATA", 354)
	c.send(strings.Replace(snapshotMessage, "original", subject, 1) + ".")
	c.must("", 250)
	c.must("QUIT", 221)
	c.conn.Close()
}

// deliver sends body (without its final dot) as the session's next
// message, from a@example.com to b@example.com, and reads the reply to
// its data, which must be code.
func (c *faultConn) deliver(body string, code int) {
	c.t.Helper()
	c.must("MAIL FROM:<a@example.com> BODY=8BITMIME", 250)
	c.must("RCPT TO:<b@example.com>", 250)
	c.must("DATA", 354)
	c.send(body + ".")
	c.must("", code)
}

// snapshotContent is everything a message snapshot shows, as plain data.
type snapshotContent struct {
	To                   []string
	Params               map[string]string
	RcptParams           map[string]map[string]string
	Raw                  string
	Header               [][2]string
	HeaderFrom, HeaderTo []netmail.Address
	Subject, Text        string
	Attachments          []mocksmtp.Attachment
	Findings             []mocksmtp.Finding
	SessionHelo          string
	SessionLists         int // lines, findings, faults and messages in m.Session: none
}

func contentOf(m *mocksmtp.Message) snapshotContent {
	c := snapshotContent{
		To: slices.Clone(m.To), Params: maps.Clone(m.Params), RcptParams: map[string]map[string]string{},
		Raw: string(m.Raw), Subject: m.Subject, Text: m.Text,
		Findings: slices.Clone(m.Findings), SessionHelo: m.Session.Helo,
		SessionLists: len(m.Session.Transcript) + len(m.Session.TranscriptHead) + len(m.Session.Findings) +
			len(m.Session.Faults) + len(m.Session.Messages),
	}
	for k, v := range m.RcptParams {
		c.RcptParams[k] = maps.Clone(v)
	}
	for f := m.Header.Fields(); f.Next(); {
		c.Header = append(c.Header, [2]string{f.Key(), f.Value()})
	}
	for _, a := range m.HeaderFrom {
		c.HeaderFrom = append(c.HeaderFrom, *a)
	}
	for _, a := range m.HeaderTo {
		c.HeaderTo = append(c.HeaderTo, *a)
	}
	for _, a := range m.Attachments {
		a.Data = bytes.Clone(a.Data)
		c.Attachments = append(c.Attachments, a)
	}
	return c
}

// scribble changes everything in a message snapshot that a test could.
func scribble(m *mocksmtp.Message) {
	slices.Sort(m.To)
	m.To[0] = "mallory@example.com"
	m.Params["BODY"] = "7BIT"
	m.Params["NEW"] = "x"
	for _, p := range m.RcptParams {
		p["NOTIFY"] = "NEVER"
	}
	m.RcptParams["mallory@example.com"] = map[string]string{"X": "y"}
	m.Raw[0] = 'X'
	m.Header.Set("Subject", "changed")
	m.Header.Add("X-Added", "1")
	m.Header.Del("To")
	m.HeaderFrom[0].Name = "Mallory"
	m.HeaderTo[0].Address = "mallory@example.com"
	m.Attachments[0].Filename = "evil.exe"
	m.Attachments[0].Data[0] = 'X'
	if len(m.Findings) > 0 {
		m.Findings[0].Text = "changed"
	}
	m.Session.Helo = "changed"
}

// TestSnapshotsAreTheCallersToChange checks that whatever a test does to
// a snapshot, and to the slices and maps in it, changes no other
// snapshot: every accessor returns data of its own.
func TestSnapshotsAreTheCallersToChange(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	sendSnapshotMessage(t, srv, "original")
	srv.WaitForSessions(t, 1)
	want := contentOf(srv.Messages()[0])
	if len(want.Findings) == 0 || len(want.Attachments) != 1 || len(want.HeaderFrom) != 1 || len(want.RcptParams) != 1 {
		t.Fatalf("the message lacks what the test changes: %+v", want)
	}
	accessors := []struct {
		name string
		get  func() *mocksmtp.Message
	}{
		{"Messages", func() *mocksmtp.Message { return srv.Messages()[0] }},
		{"Message", func() *mocksmtp.Message { return srv.Message(1) }},
		{"LastMessages", func() *mocksmtp.Message { return srv.LastMessages(1)[0] }},
		{"Sessions", func() *mocksmtp.Message { return srv.Sessions()[0].Messages[0] }},
		{"Session", func() *mocksmtp.Message { return srv.Session(1).Messages[0] }},
		{"LastSessions", func() *mocksmtp.Message { return srv.LastSessions(1)[0].Messages[0] }},
		{"WaitForMessages", func() *mocksmtp.Message { return srv.WaitForMessages(t, 1)[0] }},
		{"WaitForSessions", func() *mocksmtp.Message { return srv.WaitForSessions(t, 1)[0].Messages[0] }},
		{"AssertMessage", func() *mocksmtp.Message { return srv.AssertMessage(t, mocksmtp.Want{Subject: "original"}) }},
	}
	for _, changed := range accessors {
		scribble(changed.get())
		for _, a := range accessors {
			if diff := cmp.Diff(want, contentOf(a.get())); diff != "" {
				t.Errorf("after a change to a snapshot from %s, %s returns (-want +got):\n%s", changed.name, a.name, diff)
			}
		}
	}
	// WaitFor returns each message once: its snapshot too is its own.
	scribble(srv.WaitFor(t, mocksmtp.Want{Subject: "original"}))
	if diff := cmp.Diff(want, contentOf(srv.Messages()[0])); diff != "" {
		t.Errorf("after a change to a snapshot from WaitFor, Messages returns (-want +got):\n%s", diff)
	}
}

// Two messages of one session, returned by one call, have a Session each:
// changing one changes neither the other nor the session's snapshot.
func TestSnapshotsOfOneSessionShareNothing(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	c := dialFault(t, srv)
	c.must("", 220)
	c.must("EHLO client.example.com", 250)
	for _, subject := range []string{"one", "two"} {
		c.deliver(strings.Replace(snapshotMessage, "original", subject, 1), 250)
	}
	c.must("QUIT", 221)
	c.conn.Close()
	srv.WaitForSessions(t, 1)
	for name, get := range map[string]func() []*mocksmtp.Message{
		"Messages":     srv.Messages,
		"LastMessages": func() []*mocksmtp.Message { return srv.LastMessages(2) },
		"Session":      func() []*mocksmtp.Message { return srv.Session(1).Messages },
		"Sessions":     func() []*mocksmtp.Message { return srv.Sessions()[0].Messages },
	} {
		ms := get()
		ms[0].Session.Helo = "changed"
		if h := ms[1].Session.Helo; h != "client.example.com" {
			t.Errorf("%s: after a change to the first message's Session, the second's Helo is %q", name, h)
		}
	}
	ss := srv.Session(1)
	ss.Helo = "changed"
	if h := ss.Messages[0].Session.Helo; h != "client.example.com" {
		t.Errorf("after a change to a session snapshot, its message's Session.Helo is %q", h)
	}
}

// A message's Session costs the same in a long session as in a short
// one: it has none of the lists that grow with the session.
func TestMessageSessionHasNoLists(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageMail).Delay(time.Millisecond)))
	sendSnapshotMessage(t, srv, "original")
	full := srv.WaitForSessions(t, 1)[0]
	if len(full.Transcript) == 0 || len(full.Findings) == 0 || len(full.Faults) == 0 || len(full.Messages) != 1 {
		t.Fatalf("the session lacks what the test looks for: %d lines, %d findings, %d faults, %d messages",
			len(full.Transcript), len(full.Findings), len(full.Faults), len(full.Messages))
	}
	var got []*mocksmtp.Message
	got = append(got, srv.Messages()[0], srv.Message(1), srv.LastMessages(1)[0], full.Messages[0], srv.WaitFor(t, mocksmtp.Want{Subject: "original"}))
	for i, m := range got {
		ss := m.Session
		if ss.ID != 1 || ss.Helo != "client.example.com" || ss.Ended != mocksmtp.EndQuit ||
			ss.Transcript != nil || ss.TranscriptHead != nil || ss.Findings != nil || ss.Faults != nil || ss.Messages != nil {
			t.Errorf("message %d: Session = %+v, want the session's facts without its lists", i, ss)
		}
	}
}

// TestSnapshotChangedWhileWaitForMatches changes a snapshot's header
// while WaitFor compares the same message with a Want on headers: the race
// detector finds no race, and the change does not make it match.
func TestSnapshotChangedWhileWaitForMatches(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	sendSnapshotMessage(t, srv, "first")
	sendSnapshotMessage(t, srv, "second")
	m := srv.WaitForMessages(t, 2)[0]
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			m.Header.Set("Subject", "second")
		}
	}()
	got := srv.WaitFor(t, mocksmtp.Want{Header: map[string]string{"Subject": "second"}})
	<-done
	if got.ID != 2 {
		t.Errorf("WaitFor returned message %d, want message 2: a change to a snapshot of message 1 made it match", got.ID)
	}
}

// TestResetForgetsFindings checks that Reset forgets the findings of the
// sessions and messages it forgets, and those recorded so far in sessions
// still live: a strict check after Reset reports only what came after.
func TestResetForgetsFindings(t *testing.T) {
	t.Parallel()
	ft := &expT{name: "TestNext"}
	var afterReset []mocksmtp.Finding
	ft.run(func() {
		srv := mocksmtp.Start(ft, mocksmtp.WithStrict(), mocksmtp.WithoutTranscriptLog())
		live := dialFault(t, srv)
		live.must("", 220)
		live.must("MAIL FROM:<a@example.com>", 503) // before EHLO: a finding in a live session
		sendSnapshotMessage(t, srv, "before")       // no Message-ID: a finding of a message
		srv.WaitForSessions(ft, 1)
		if len(srv.Findings()) < 2 {
			ft.Fatalf("before Reset: findings %v, want at least 2", srv.Findings())
		}
		srv.Reset()
		afterReset = srv.Findings()
		if ss := srv.Sessions(); len(ss) != 1 || len(ss[0].Findings) != 0 {
			ft.Errorf("after Reset: sessions %v, want the live one without findings", sessionIDs(ss))
		}
		live.must("QUIT", 221)
		live.conn.Close()
	})
	if len(afterReset) != 0 {
		t.Errorf("Findings() after Reset = %v, want none", afterReset)
	}
	if got := ft.report(); got != "" {
		t.Errorf("the strict check at cleanup reported findings from before Reset:\n%s", got)
	}
}

// TestWaitUntilWakesOnEveryChange checks that WaitUntil sees each change
// the server records, wire lines included, while the client then idles:
// the client acts only once the condition was first found false.
func TestWaitUntilWakesOnEveryChange(t *testing.T) {
	t.Parallel()
	auth := "AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00user\x00secret"))
	for _, tc := range []struct {
		name  string
		setup []string // sent before the wait
		act   string   // sent once the condition was found false
		cond  func(s *mocksmtp.Session) bool
	}{
		{"Helo", nil, "EHLO client.example", func(s *mocksmtp.Session) bool { return s.Helo == "client.example" }},
		{"Auth", []string{"EHLO client.example"}, auth, func(s *mocksmtp.Session) bool { return s.Auth != nil && s.Auth.Success }},
		{"a command line", []string{"EHLO client.example"}, "NOOP", func(s *mocksmtp.Session) bool {
			return slices.ContainsFunc(s.Transcript, func(l mocksmtp.Line) bool { return l.Dir == mocksmtp.FromClient && l.Text == "NOOP" })
		}},
		{"a reply line", []string{"EHLO client.example"}, "RSET", func(s *mocksmtp.Session) bool {
			n := len(s.Transcript)
			return n > 0 && s.Transcript[n-1].Dir == mocksmtp.FromServer && strings.HasPrefix(s.Transcript[n-1].Text, "250 2.0.0")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t, mocksmtp.WithAuth("user", "secret"), mocksmtp.WithAuthMechanismsBeforeTLS("PLAIN"))
			c := dialFault(t, srv)
			c.must("", 220)
			for _, cmd := range tc.setup {
				c.must(cmd, 250)
			}
			asked := make(chan struct{})
			var once sync.Once
			acted := make(chan error, 1)
			go func() {
				<-asked
				_, err := c.cmd(tc.act) // the reply is read; then the client idles
				acted <- err
			}()
			srv.WaitUntil(t, tc.name, func() bool {
				defer once.Do(func() { close(asked) })
				ss := srv.Sessions()
				return len(ss) == 1 && tc.cond(ss[0])
			})
			if err := <-acted; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestContentFindingsKeepTheirPlace checks that the findings of a
// message's content, checked when the message is first read rather than
// on arrival, take the place they would have had: after what was found
// before the message arrived, before what was found after, in the
// server's list, the session's and the message's alike, and the same
// again once the collector freed the parse.
func TestContentFindingsKeepTheirPlace(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	a := dialFault(t, srv)
	a.must("", 220)
	a.must("MAIL FROM:<a@example.com>", 503) // helo-first, before the message
	a.must("EHLO client.example", 250)
	a.must("MAIL FROM:<a@example.com>", 250)
	a.must("RCPT TO:<b@example.com>", 250)
	a.must("DATA", 354)
	a.send("Subject: no Date, no From, no Message-ID\r\n\r\nbody\r\n.")
	a.must("", 250)
	b := dialFault(t, srv)
	b.must("", 220)
	b.must("RCPT TO:<b@example.com>", 503) // helo-first in another session, after the message
	a.must("QUIT", 221)
	b.must("QUIT", 221)
	a.conn.Close()
	b.conn.Close()
	srv.WaitForSessions(t, 2)

	type placed struct {
		Rule             mocksmtp.Rule
		Session, Message int
	}
	view := func(fs []mocksmtp.Finding) []placed {
		var out []placed
		for _, f := range fs {
			out = append(out, placed{f.Rule, f.Session, f.Message})
		}
		return out
	}
	want := []placed{
		{mocksmtp.RuleHeloFirst, 1, 0},
		{mocksmtp.RuleRequiredHeaders, 1, 1}, {mocksmtp.RuleRequiredHeaders, 1, 1}, {mocksmtp.RuleMessageID, 1, 1},
		{mocksmtp.RuleHeloFirst, 2, 0},
	}
	for round := range 2 {
		if diff := cmp.Diff(want, view(srv.Findings())); diff != "" {
			t.Errorf("round %d: Findings() (-want +got):\n%s", round, diff)
		}
		if diff := cmp.Diff(want[:4], view(srv.Session(1).Findings)); diff != "" {
			t.Errorf("round %d: Session(1).Findings (-want +got):\n%s", round, diff)
		}
		if diff := cmp.Diff(want[1:4], view(srv.Message(1).Findings)); diff != "" {
			t.Errorf("round %d: Message(1).Findings (-want +got):\n%s", round, diff)
		}
		runtime.GC() // frees the parse: the next round parses again
		runtime.GC()
	}
}

// TestRefusedMessageHasContentFindings checks that a message a fault
// refuses, which the server does not keep to be read later, still has the
// findings of its content, as when messages were parsed on arrival.
func TestRefusedMessageHasContentFindings(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageMessage).Reply(554, "5.7.1 refused")))
	c := dialFault(t, srv)
	c.must("", 220)
	c.must("EHLO client.example", 250)
	c.deliver("From: a@example.com\r\nSubject: no Date, no Message-ID\r\n\r\nbody\r\n", 554)
	var rules []mocksmtp.Rule
	for _, f := range srv.Findings() {
		rules = append(rules, f.Rule)
	}
	if diff := cmp.Diff([]mocksmtp.Rule{mocksmtp.RuleRequiredHeaders, mocksmtp.RuleMessageID}, rules); diff != "" {
		t.Errorf("findings of the refused message (-want +got):\n%s", diff)
	}
}

func TestDeleteMessageForgetsOneMessage(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithRetention(3))
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, s := range []string{"one", "two", "three"} {
		sendOn(t, c, "a@example.com", s)
	}
	srv.WaitForMessages(t, 3)

	if !srv.DeleteMessage(2) || srv.DeleteMessage(2) || srv.DeleteMessage(99) {
		t.Fatal("DeleteMessage(2) twice, then 99: want true, false, false")
	}
	if diff := cmp.Diff([]msgView{{1, "one", 1}, {3, "three", 1}}, viewMessages(srv.Messages())); diff != "" {
		t.Errorf("messages after deleting 2 (-want +got):\n%s", diff)
	}
	if srv.Message(2) != nil || len(srv.Session(1).Messages) != 2 || len(srv.Session(1).Transcript) == 0 {
		t.Errorf("message 2 still found, or its session lost more than it")
	}
	// Retention counts what is kept: two more, and 1 goes, not 3.
	sendOn(t, c, "a@example.com", "four")
	sendOn(t, c, "a@example.com", "five")
	srv.WaitUntil(t, "message 5", func() bool { return srv.Message(5) != nil })
	if diff := cmp.Diff([]msgView{{3, "three", 1}, {4, "four", 1}, {5, "five", 1}}, viewMessages(srv.Messages())); diff != "" {
		t.Errorf("messages under WithRetention(3) after a delete (-want +got):\n%s", diff)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

func TestDeleteMessageWhileClientsSend(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	const n = 40
	done := make(chan error, 1)
	go func() {
		var err error
		for i := range n {
			msg := fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i)
			err = errors.Join(err, smtp.SendMail(srv.Addr(), nil, "a@example.com", []string{"b@example.com"}, []byte(msg)))
		}
		done <- err
	}()
	deleted := 0
	for deleted < n {
		for _, m := range srv.LastMessages(5) {
			if srv.DeleteMessage(m.ID) {
				deleted++
			}
		}
		srv.WaitUntil(t, "a message to delete", func() bool { _, k := srv.Count(); return k > 0 || deleted == n })
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, k := srv.Count(); k != 0 {
		t.Errorf("%d messages left, want none", k)
	}
}

// TestRetentionWithTranscriptCap runs WithRetention and the transcript
// cap on one long session: the cap keeps the session's first lines and
// its last ones, retention forgets the messages it no longer keeps with
// their findings, and every line keeps its number.
func TestRetentionWithTranscriptCap(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithRetention(2), mocksmtp.WithMaxTranscriptLines(20))
	c := dialFault(t, srv)
	c.must("", 220)
	c.must("EHLO client.example", 250)
	for i := 1; i <= 6; i++ {
		for range 5 {
			c.must("NOOP", 250)
		}
		// No Message-ID: a finding of the content, checked when read.
		c.deliver(fmt.Sprintf("From: a@example.com\r\nDate: Fri,  4 Dec 2026 10:00:00 +0000\r\nSubject: %d\r\n\r\nbody\r\n", i), 250)
	}
	c.must("QUIT", 221)
	c.conn.Close()
	s := srv.WaitForSessions(t, 1)[0]
	total := 1 + 9 + 6*(10+9) + 2 // greeting, EHLO, per message 5 NOOPs and the transaction, QUIT
	if len(s.TranscriptHead) != 2 || s.Forgotten+len(s.Transcript) != total || len(s.TranscriptHead)+len(s.Transcript) > 20 {
		t.Errorf("head %d lines, %d forgotten, %d kept; want 2, %d in all, at most 20 kept",
			len(s.TranscriptHead), s.Forgotten, len(s.Transcript), total)
	}
	if last := s.Transcript[len(s.Transcript)-1]; last.Text != "221 2.0.0 Bye" {
		t.Errorf("the last line is %v, want the 221", last)
	}
	if !strings.Contains(s.String(), fmt.Sprintf("     … lines 3 to %d forgotten (the transcript cap", s.Forgotten)) {
		t.Errorf("Session.String():\n%s", s)
	}
	var ids []int
	for _, m := range s.Messages {
		ids = append(ids, m.ID)
	}
	if diff := cmp.Diff([]int{5, 6}, ids); diff != "" {
		t.Errorf("the session's messages (-want +got):\n%s", diff)
	}
	type placed struct {
		Rule    mocksmtp.Rule
		Message int
	}
	var got []placed
	for _, f := range srv.Findings() {
		got = append(got, placed{f.Rule, f.Message})
	}
	if diff := cmp.Diff([]placed{{mocksmtp.RuleMessageID, 5}, {mocksmtp.RuleMessageID, 6}}, got); diff != "" {
		t.Errorf("findings: those of the kept messages (-want +got):\n%s", diff)
	}
}

// TestDeleteMessageKeepsTheFindings deletes messages no one has read: the
// findings of their content, checked only when a message is read, stay
// with the session in their place, as those found on arrival do.
func TestDeleteMessageKeepsTheFindings(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	c := dialFault(t, srv)
	c.must("", 220)
	c.must("MAIL FROM:<a@example.com>", 503) // helo-first, before the messages
	c.must("EHLO client.example", 250)
	for i := 1; i <= 3; i++ {
		c.deliver(fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i), 250) // no Date, From, Message-ID
	}
	c.must("QUIT", 221)
	c.conn.Close()
	srv.WaitForSessions(t, 1)
	type placed struct {
		Rule    mocksmtp.Rule
		Message int
	}
	view := func(fs []mocksmtp.Finding) []placed {
		var out []placed
		for _, f := range fs {
			out = append(out, placed{f.Rule, f.Message})
		}
		return out
	}
	want := []placed{{mocksmtp.RuleHeloFirst, 0}}
	for id := 1; id <= 3; id++ {
		want = append(want, placed{mocksmtp.RuleRequiredHeaders, id}, placed{mocksmtp.RuleRequiredHeaders, id}, placed{mocksmtp.RuleMessageID, id})
	}
	if !srv.DeleteMessage(2) || !srv.DeleteMessage(1) {
		t.Fatal("DeleteMessage(2), DeleteMessage(1): want true")
	}
	if diff := cmp.Diff(want, view(srv.Findings())); diff != "" {
		t.Errorf("Findings() (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, view(srv.Session(1).Findings)); diff != "" {
		t.Errorf("Session(1).Findings (-want +got):\n%s", diff)
	}
	if ms := srv.Messages(); len(ms) != 1 || ms[0].ID != 3 {
		t.Errorf("messages %v, want message 3", viewMessages(ms))
	}
	srv.Reset()
	if fs := srv.Findings(); len(fs) != 0 {
		t.Errorf("Findings() after Reset = %v, want none", fs)
	}
}

// A wait for more messages than WithRetention keeps could only time out:
// waits count what is kept. It fails at once, saying why, in every form:
// the server's and an inbox's, the count and the Want waits, with a
// context and with a test. A wait for as many as are kept is still met.
func TestWaitForMoreThanRetainedFailsAtOnce(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithRetention(2), mocksmtp.WithWaitTimeout(time.Hour))
	in := srv.NewInbox("retained")
	for i := range 3 {
		if err := smtp.SendMail(srv.Addr(), nil, "a@example.com", []string{"b@" + in.Domain()}, []byte(fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i))); err != nil {
			t.Fatal(err)
		}
	}
	if ms := srv.WaitForMessages(t, 2); len(ms) != 2 || ms[0].ID != 2 {
		t.Fatalf("WaitForMessages(2) under WithRetention(2): %d messages", len(ms))
	}
	if ms := in.WaitForMessages(t, 2); len(ms) != 2 {
		t.Fatalf("Inbox.WaitForMessages(2) under WithRetention(2): %d messages", len(ms))
	}

	// Had a wait waited, its context would end it: each must return
	// before then.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const why = "but the server keeps only the last 2 messages (WithRetention(2))"
	waits := map[string]func() error{
		"WaitForMessagesContext": func() error { _, err := srv.WaitForMessagesContext(ctx, 3); return err },
		"Inbox.WaitForMessagesContext": func() error {
			_, err := in.WaitForMessagesContext(ctx, 3)
			return err
		},
		"WaitForNContext":       func() error { _, err := srv.WaitForNContext(ctx, mocksmtp.Want{}, 3); return err },
		"Inbox.WaitForNContext": func() error { _, err := in.WaitForNContext(ctx, mocksmtp.Want{}, 3); return err },
	}
	for name, wait := range waits {
		err := wait()
		if err == nil || !strings.Contains(err.Error(), why) || ctx.Err() != nil {
			t.Errorf("%s for 3 under WithRetention(2): %v (context: %v), want an error at once saying %q", name, err, ctx.Err(), why)
		}
	}
	for name, wait := range map[string]func(t testing.TB){
		"WaitForMessages":       func(t testing.TB) { srv.WaitForMessages(t, 3) },
		"Inbox.WaitForMessages": func(t testing.TB) { in.WaitForMessages(t, 3) },
	} {
		et := &expT{name: name}
		et.run(func() { wait(et) })
		if want := fmt.Sprintf("mocksmtp: %s: want 3 messages", name); len(et.errors) != 1 || !strings.Contains(et.errors[0], want) || !strings.Contains(et.errors[0], why) {
			t.Errorf("%s(3) under WithRetention(2) failed the test with %q, want one failure saying %q and %q", name, et.errors, want, why)
		}
	}
}
