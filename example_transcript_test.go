package mocksmtp_test

import (
	"fmt"
	"net/smtp"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// A Session is a snapshot of one connection: who, when, how it ended,
// what it delivered and what was said.
func ExampleSession() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	_ = sendWelcome(srv.Addr(), "bob@example.com")

	s := srv.WaitForSessions(t, 1)[0]
	fmt.Println(s.ID, s.Attempt, s.Helo, s.Ended, s.Err)
	fmt.Println(len(s.Messages), len(s.Transcript), s.End.After(s.Start))
	fmt.Println(s.TLS == nil, s.Auth == nil) // plaintext, no AUTH
	// Output:
	// 1 1 localhost QUIT <nil>
	// 1 21 true
	// true true
}

// String is how a failing test's log shows a session. (In memory, the
// addresses are the same every run.)
func ExampleSession_String() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithoutExtensions("DSN", "CHUNKING", "SMTPUTF8"))
	if err := sendVia(srv.DialContext, srv.Addr()); err != nil {
		t.Fatal(err)
	}
	fmt.Print(srv.WaitForSessions(t, 1)[0])
	// Output:
	// session 1  127.0.0.1:49152 → 127.0.0.1:1  ended: QUIT
	//    1 S: 220 localhost ESMTP mocksmtp
	//    2 C: EHLO localhost
	//    3 S: 250-localhost
	//    4 S: 250-PIPELINING
	//    5 S: 250-SIZE 10485760
	//    6 S: 250-ENHANCEDSTATUSCODES
	//    7 S: 250 8BITMIME
	//    8 C: MAIL FROM:<app@example.com> BODY=8BITMIME
	//    9 S: 250 2.1.0 Ok
	//   10 C: RCPT TO:<bob@example.com>
	//   11 S: 250 2.1.5 Ok
	//   12 C: DATA
	//   13 S: 354 End data with <CR><LF>.<CR><LF>
	//   14 *: <message data: 31 octets>
	//   15 *: message 1 accepted: 28 octets from <app@example.com> to 1 recipient
	//   16 S: 250 2.0.0 Ok: queued
	//   17 C: QUIT
	//   18 S: 221 2.0.0 Bye
}

// A Transcript is what crossed the wire, a Line each, on the plaintext
// side of TLS.
func ExampleTranscript() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	_ = sendWelcome(srv.Addr(), "bob@example.com")
	tr := srv.WaitForSessions(t, 1)[0].Transcript
	for _, l := range tr[10:] {
		if l.Dir == mocksmtp.FromClient {
			fmt.Println(l.Text)
		}
	}
	// Output:
	// MAIL FROM:<app@example.com> BODY=8BITMIME SMTPUTF8
	// RCPT TO:<bob@example.com>
	// DATA
	// QUIT
}

func ExampleTranscript_String() {
	tr := mocksmtp.Transcript{
		{Dir: mocksmtp.FromServer, Text: "220 localhost ESMTP mocksmtp"},
		{Dir: mocksmtp.FromClient, Text: "QUIT"},
		{Dir: mocksmtp.FromServer, Text: "221 2.0.0 Bye"},
	}
	fmt.Print(tr)
	// Output:
	// S: 220 localhost ESMTP mocksmtp
	// C: QUIT
	// S: 221 2.0.0 Bye
}

func ExampleTranscript_Numbered() {
	tr := mocksmtp.Transcript{
		{Dir: mocksmtp.FromServer, Text: "220 localhost ESMTP mocksmtp"},
		{Dir: mocksmtp.FromClient, Text: "QUIT"},
		{Dir: mocksmtp.FromServer, Text: "221 2.0.0 Bye"},
	}
	fmt.Print(tr.Numbered())
	// Output:
	//    1 S: 220 localhost ESMTP mocksmtp
	//    2 C: QUIT
	//    3 S: 221 2.0.0 Bye
}

// Normalized replaces what changes from run to run, for golden files
// (see Transcript.AssertGolden).
func ExampleTranscript_Normalized() {
	tr := mocksmtp.Transcript{
		{Dir: mocksmtp.FromClient, Text: "EHLO build-7f3a.ci.internal"},
		{Dir: mocksmtp.FromClient, Text: "MAIL FROM:<app@example.com> SIZE=4711"},
		{Dir: mocksmtp.Note, Text: "message 17 accepted: 4690 octets from <app@example.com> to 1 recipient"},
		{Dir: mocksmtp.Note, Text: `TLS handshake done: TLS 1.3, TLS_AES_128_GCM_SHA256, server name "localhost"`},
	}
	fmt.Print(tr.Normalized())
	// Output:
	// C: EHLO <client>
	// C: MAIL FROM:<app@example.com> SIZE=<n>
	// *: message 1 accepted: <n> octets from <app@example.com> to 1 recipient
	// *: TLS handshake done: TLS <version>, <cipher>, server name "localhost"
}

func ExampleLine() {
	l := mocksmtp.Line{Dir: mocksmtp.FromClient, Text: "EHLO app.local", At: 3 * time.Millisecond}
	fmt.Println(l)
	fmt.Println(l.Dir, l.Text, l.At)
	// Output:
	// C: EHLO app.local
	// C EHLO app.local 3ms
}

// Direction tells the client's lines from the server's and from the
// server's notes.
func ExampleDirection() {
	fmt.Println(mocksmtp.FromClient, mocksmtp.FromServer, mocksmtp.Note)

	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	_ = sendWelcome(srv.Addr(), "bob@example.com")
	for _, l := range srv.WaitForSessions(t, 1)[0].Transcript {
		if l.Dir == mocksmtp.Note {
			fmt.Println(l.Text)
		}
	}
	// Output:
	// C S *
	// <message data: 88 octets>
	// message 1 accepted: 85 octets from <app@example.com> to 1 recipient
}

// EndReason tells how each session ended: here the client quit, then
// hung up without QUIT, then met a fault that disconnected it.
func ExampleEndReason() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageGreeting).OnAttempt(3).Reply(421, "4.3.2 busy").Disconnect()))
	_ = sendWelcome(srv.Addr(), "bob@example.com")
	if c, err := smtp.Dial(srv.Addr()); err == nil {
		c.Close() // no QUIT
	}
	_ = sendWelcome(srv.Addr(), "bob@example.com")

	for _, s := range srv.WaitForSessions(t, 3) {
		fmt.Printf("%d: %v\n", s.ID, s.Ended)
	}
	fmt.Println(mocksmtp.Live, mocksmtp.EndTimeout, mocksmtp.EndTLSFailed, mocksmtp.EndShutdown)
	// Output:
	// 1: QUIT
	// 2: client closed
	// 3: server closed
	// live timeout TLS handshake failed server shut down
}

// The normalized form of a session longer than the transcript cap has its
// first lines, a note where the lines the cap forgot were, and its last
// lines: a golden file of it (Session.AssertGolden) covers its start.
func ExampleSession_Normalized() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithMaxTranscriptLines(10))
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c.Hello("client.example")
	for range 5 {
		c.Noop()
	}
	c.Quit()
	fmt.Print(srv.WaitForSessions(t, 1)[0].Normalized())
	// Output:
	// S: 220 localhost ESMTP mocksmtp
	// *: … lines 2 to 13 forgotten …
	// S: 250 2.0.0 Ok
	// C: NOOP
	// S: 250 2.0.0 Ok
	// C: NOOP
	// S: 250 2.0.0 Ok
	// C: NOOP
	// S: 250 2.0.0 Ok
	// C: QUIT
	// S: 221 2.0.0 Bye
}

// A session compared with its golden file, here that of
// ExampleTranscript_AssertGolden: a session that forgot none of its lines
// reads as its transcript does.
func ExampleSession_AssertGolden() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	if err := sendWelcome(srv.Addr(), "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	s := srv.WaitForSessions(t, 1)[0]
	s.AssertGolden(t, "testdata/expect/welcome.golden", false) // a test passes *update
	fmt.Println("failed:", t.Failed())
	// Output:
	// failed: false
}
