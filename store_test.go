package mocksmtp_test

import (
	"context"
	"fmt"
	"net/smtp"
	"runtime"
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

func TestRetentionKeepsTheLastMessagesAndSessions(t *testing.T) {
	t.Parallel()
	ended, waitEnded := endings(t)
	srv := mocksmtp.Start(t, mocksmtp.WithRetention(2), ended)
	for i := 1; i <= 5; i++ {
		send(t, srv.Addr(), "a@example.com", fmt.Sprint("m", i))
		waitEnded(1) // sessions end in order, so the last two are kept
	}
	if diff := cmp.Diff([]msgView{{4, "m4", 4}, {5, "m5", 5}}, viewMessages(srv.Messages())); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{4, 5}, sessionIDs(srv.Sessions())); diff != "" {
		t.Errorf("sessions (-want +got):\n%s", diff)
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
		waitEnded(1) // in order: see TestLookups
	}
	ss := srv.Sessions()
	if diff := cmp.Diff([]int{1, 4}, sessionIDs(ss)); diff != "" {
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
	// While m is held, other snapshots share its decoded parts.
	again := srv.Sessions()[0].Messages[0]
	if &again.Attachments[0].Data[0] != &m.Attachments[0].Data[0] {
		t.Errorf("a second snapshot decoded the message again while the first was held")
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
		// The session ends before the next starts: a session still
		// draining after QUIT is live, and a live session is never
		// forgotten, so the next one's end would be forgotten first.
		ended(1)
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
