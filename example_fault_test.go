package mocksmtp_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"syscall"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// replyOf returns the server's reply in a net/smtp error ("421 4.3.2 try
// later"), "ok" for nil, or the error.
func replyOf(err error) string {
	var te *textproto.Error
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &te):
		return fmt.Sprintf("%d %s", te.Code, te.Msg)
	}
	return err.Error()
}

// A server that answers the first connection's RCPT with 421 and hangs
// up: the sender under test must retry.
func ExampleAt() {
	t := &fakeT{} // in a real test: func TestRetriesOn421(t *testing.T)
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(
		mocksmtp.At(mocksmtp.StageRcpt).OnAttempt(1).Reply(421, "4.3.2 try later").Disconnect(),
	))

	for attempt := 1; attempt <= 2; attempt++ {
		err := sendWelcome(srv.Addr(), "bob@example.com")
		fmt.Printf("attempt %d: %v\n", attempt, replyOf(err))
	}

	srv.Close() // let the sessions finish
	for _, s := range srv.Sessions() {
		fmt.Printf("session %d ended: %v, faults: %q\n", s.Attempt, s.Ended, s.Faults)
	}
	// Output:
	// attempt 1: 421 4.3.2 try later
	// attempt 2: ok
	// session 1 ended: server closed, faults: ["example_fault_test.go:36: RCPT attempt 1 → 421 4.3.2 try later, disconnect"]
	// session 2 ended: QUIT, faults: []
}

func ExampleGreylist() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.Greylist()))

	fmt.Println("first try:", replyOf(sendWelcome(srv.Addr(), "bob@example.com")))
	fmt.Println("retry:", replyOf(sendWelcome(srv.Addr(), "bob@example.com")))
	fmt.Println("accepted:", len(srv.WaitForMessages(t, 1)))
	// Output:
	// first try: 451 4.7.1 Greylisted, please try again later
	// retry: ok
	// accepted: 1
}

// A test that shares a server with others (one server started in
// TestMain) adds a fault of its own and removes it at its end: the
// faults of the others keep their state, here the pair a greylist
// remembers.
func ExampleServer_AddRemovableFault() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.Greylist().ForRcpt("alice@example.com")))
	fmt.Println("alice, first try:", replyOf(sendWelcome(srv.Addr(), "alice@example.com")))

	// Another test: bob's mailbox is full while it runs.
	remove, err := srv.AddRemovableFault(mocksmtp.MailboxFull("bob@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("bob:", replyOf(sendWelcome(srv.Addr(), "bob@example.com")))
	remove() // in a real test: t.Cleanup(remove)

	fmt.Println("bob, after:", replyOf(sendWelcome(srv.Addr(), "bob@example.com")))
	fmt.Println("alice, retry:", replyOf(sendWelcome(srv.Addr(), "alice@example.com")))
	// Output:
	// alice, first try: 451 4.7.1 Greylisted, please try again later
	// bob: 552 5.2.2 Mailbox full
	// bob, after: ok
	// alice, retry: ok
}

// A slow server: it takes the message at once but answers only after a
// delay, and trickles its replies.
func ExampleFault_Delay() {
	t := &fakeT{}
	defer t.done()
	const slow = 50 * time.Millisecond
	srv := mocksmtp.Start(t, mocksmtp.WithFault(
		mocksmtp.At(mocksmtp.StageMessage).Delay(slow),
		mocksmtp.At(mocksmtp.StageRcpt).Trickle(3, time.Millisecond),
	))

	start := time.Now()
	err := sendWelcome(srv.Addr(), "bob@example.com")
	fmt.Println("sent:", err)
	fmt.Println("took at least the delay:", time.Since(start) >= slow)
	// Output:
	// sent: <nil>
	// took at least the delay: true
}

// Sessions record when they started, so a test can assert its client's
// retry backoff.
func ExampleServer_Sessions_backoff() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(
		mocksmtp.At(mocksmtp.StageGreeting).OnAttempt(1, 2).Reply(421, "4.3.2 busy").Disconnect(),
	))

	// The code under test: a sender that backs off 20 ms, then 40 ms.
	backoff := []time.Duration{20 * time.Millisecond, 40 * time.Millisecond}
	for i := 0; sendWelcome(srv.Addr(), "bob@example.com") != nil && i < len(backoff); i++ {
		time.Sleep(backoff[i])
	}

	sessions := srv.Sessions()
	for i := 1; i < len(sessions); i++ {
		gap := sessions[i].Start.Sub(sessions[i-1].Start)
		fmt.Printf("attempt %d came at least %v after attempt %d: %v\n",
			sessions[i].Attempt, backoff[i-1], sessions[i-1].Attempt, gap >= backoff[i-1])
	}
	fmt.Println("messages:", len(srv.WaitForMessages(t, 1)))
	// Output:
	// attempt 2 came at least 20ms after attempt 1: true
	// attempt 3 came at least 40ms after attempt 2: true
	// messages: 1
}

func ExampleServer_ReplaceFaults() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.ShuttingDown()))
	fmt.Println(replyOf(sendWelcome(srv.Addr(), "bob@example.com")))

	// The MTA comes back, but now bob's mailbox is full: one step, so no
	// session sees the script empty in between.
	if err := srv.ReplaceFaults(mocksmtp.MailboxFull("bob@example.com")); err != nil {
		t.Fatal(err)
	}
	fmt.Println(replyOf(sendWelcome(srv.Addr(), "bob@example.com")))

	srv.ClearFaults()
	fmt.Println(replyOf(sendWelcome(srv.Addr(), "bob@example.com")))
	// Output:
	// 421 4.3.2 Service shutting down, try again later
	// 552 5.2.2 Mailbox full
	// ok
}

func ExampleServer_AddFault() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t)
	fmt.Println(replyOf(sendWelcome(srv.Addr(), "bob@example.com")))

	// From now on, every RCPT gets 450.
	if err := srv.AddFault(mocksmtp.At(mocksmtp.StageRcpt).Reply(450, "4.2.1 Mailbox busy")); err != nil {
		t.Fatal(err)
	}
	fmt.Println(replyOf(sendWelcome(srv.Addr(), "bob@example.com")))

	// A fault this server cannot play (a TLS failure at connect, without
	// WithImplicitTLS) is an error, and nothing is added.
	err := srv.AddFault(mocksmtp.At(mocksmtp.StageConnect).ExpiredCertificate())
	fmt.Println("refused:", err != nil)
	// Output:
	// ok
	// 450 4.2.1 Mailbox busy
	// refused: true
}

func ExampleFault_AtMost() {
	t := &fakeT{}
	defer t.done()
	// The first RCPT gets 451, the ones after it pass: a fault that fires
	// at most once.
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageRcpt).AtMost(1).Reply(451, "4.3.0 try again")))
	for range 2 {
		fmt.Println(replyOf(sendWelcome(srv.Addr(), "bob@example.com")))
	}
	// Output:
	// 451 4.3.0 try again
	// ok
}

// A Fault is a value: build it once, give it to any number of servers.
// Each server keeps its own counters.
func ExampleFault() {
	busy := mocksmtp.At(mocksmtp.StageRcpt).AtMost(1).Reply(451, "4.3.0 try again")
	for range 2 {
		t := &fakeT{}
		srv := mocksmtp.Start(t, mocksmtp.WithFault(busy))
		fmt.Println(replyOf(sendWelcome(srv.Addr(), "bob@example.com")), "then", replyOf(sendWelcome(srv.Addr(), "bob@example.com")))
		t.done()
	}
	// Output:
	// 451 4.3.0 try again then ok
	// 451 4.3.0 try again then ok
}

func ExampleFault_String() {
	f := mocksmtp.At(mocksmtp.StageRcpt).OnAttempt(1).Reply(421, "4.3.2 try later").Disconnect()
	fmt.Println(f.DeclaredAt("retry_test.go:18"))
	// Output:
	// RCPT on attempt 1 → 421 4.3.2 try later, disconnect (retry_test.go:18)
}

// A program that reads faults from a file names the file's lines in
// transcript notes and errors, instead of its own source.
func ExampleFault_DeclaredAt() {
	t := &fakeT{}
	defer t.done()
	f := mocksmtp.At(mocksmtp.StageRcpt).Reply(450, "4.2.1 Mailbox busy").DeclaredAt("faults.json:3")
	srv := mocksmtp.Start(t, mocksmtp.WithFault(f))
	_ = sendWelcome(srv.Addr(), "bob@example.com")
	fmt.Println(srv.WaitForSessions(t, 1)[0].Faults)
	// Output:
	// [faults.json:3: RCPT attempt 1 → 450 4.2.1 Mailbox busy]
}

// A program whose users set options by flags has the errors about its
// faults name the flags.
func ExampleWithOptionNames() {
	f := mocksmtp.At(mocksmtp.StageStartTLS).Reply(454, "4.7.0 not now").DeclaredAt("faults.json:2")
	_, err := mocksmtp.New(mocksmtp.WithFault(f))
	fmt.Println(err)
	_, err = mocksmtp.New(mocksmtp.WithFault(f), mocksmtp.WithOptionNames(map[string]string{"WithSTARTTLS": "-tls"}))
	fmt.Println(err)
	// Output:
	// mocksmtp: fault at faults.json:2: this server does not offer STARTTLS (it answers 502), so a fault at StageStartTLS would never fire: add WithSTARTTLS
	// mocksmtp: fault at faults.json:2: this server does not offer STARTTLS (it answers 502), so a fault at StageStartTLS would never fire: add -tls
}

// A program whose users declare faults in JSON has the errors about a
// fault speak its keys.
func ExampleFault_Spelled() {
	f := mocksmtp.At(mocksmtp.StageRcpt).Reply(421, "4.3.2 later").RawReply("550 no\r\n").DeclaredAt("faults.json:4")
	fmt.Println(f.Err())
	fmt.Println(f.Spelled(map[string]string{"Reply": `"reply"`, "RawReply": `"rawReply"`}).Err())
	// Output:
	// mocksmtp: fault at faults.json:4: RawReply after Reply(421): a fault writes one reply, and the second would replace the first; keep the one the client should read
	// mocksmtp: fault at faults.json:4: "rawReply" after "reply": 421: a fault writes one reply, and the second would replace the first; keep the one the client should read
}

func ExampleFault_Err() {
	fmt.Println(mocksmtp.At(mocksmtp.StageRcpt).Reply(421, "4.3.2 try later").Err())
	fmt.Println(mocksmtp.At(mocksmtp.StageRcpt).Reply(700, "no such code").DeclaredAt("faults.json:7").Err())
	fmt.Println(mocksmtp.At(mocksmtp.StageRcpt).DeclaredAt("faults.json:9").Err())
	// Output:
	// <nil>
	// mocksmtp: fault at faults.json:7: Reply: code 700: want 200 to 599
	// mocksmtp: fault at faults.json:9: RCPT has no action (Reply, Disconnect, Delay...)
}

func ExampleFault_Reply() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(
		mocksmtp.At(mocksmtp.StageRcpt).ForRcpt("nobody@example.com").Reply(550, "5.1.1 No such user"),
		mocksmtp.At(mocksmtp.StageMessage).Reply(554, "5.7.1 Message rejected\nSpam score too high"),
	))
	fmt.Println(replyOf(sendWelcome(srv.Addr(), "nobody@example.com")))
	fmt.Println(replyOf(sendWelcome(srv.Addr(), "bob@example.com")))
	fmt.Println("recorded:", len(srv.Messages()))
	// Output:
	// 550 5.1.1 No such user
	// 554 5.7.1 Message rejected
	// 5.7.1 Spam score too high
	// recorded: 0
}

func ExampleFault_Disconnect() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageMail).Reply(421, "4.7.0 Too busy").Disconnect()))
	fmt.Println(replyOf(sendWelcome(srv.Addr(), "bob@example.com")))
	s := srv.WaitForSessions(t, 1)[0]
	fmt.Println(s.Ended, s.Transcript[len(s.Transcript)-1])
	// Output:
	// 421 4.7.0 Too busy
	// server closed S: 421 4.7.0 Too busy
}

func ExampleFault_Drop() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageRcpt).Drop()))
	err := sendWelcome(srv.Addr(), "bob@example.com")
	fmt.Println(errors.Is(err, io.EOF)) // no reply: the connection just ends
	s := srv.WaitForSessions(t, 1)[0]
	fmt.Println(s.Ended, s.Transcript[len(s.Transcript)-2])
	// Output:
	// true
	// server closed C: RCPT TO:<bob@example.com>
}

func ExampleFault_ResetTCP() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageData).ResetTCP()))
	err := sendWelcome(srv.Addr(), "bob@example.com")
	fmt.Println(errors.Is(err, syscall.ECONNRESET))
	// Output:
	// true
}

// A server that never greets: the client must give up by itself.
func ExampleFault_Stall() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageConnect).Stall()))

	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(50 * time.Millisecond)) // the client's timeout
	_, err = smtp.NewClient(conn, srv.Host())
	var ne net.Error
	fmt.Println("timed out:", errors.As(err, &ne) && ne.Timeout())
	// Output:
	// timed out: true
}

// A server that writes its greeting a byte at a time.
func ExampleFault_Trickle() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageGreeting).Trickle(1, time.Millisecond)))
	start := time.Now()
	fmt.Println(sendWelcome(srv.Addr(), "bob@example.com"))
	fmt.Println(time.Since(start) > 20*time.Millisecond) // "220 localhost ESMTP mocksmtp" is 28 bytes
	// Output:
	// <nil>
	// true
}

// A reply split across two writes, which a client that reads a reply with
// a single read mishandles.
func ExampleFault_SplitReply() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageRcpt).SplitReply(4, 10*time.Millisecond)))
	fmt.Println(sendWelcome(srv.Addr(), "bob@example.com"))
	_, fired, _ := strings.Cut(srv.WaitForSessions(t, 1)[0].Faults[0], ": ") // after the fault's file:line
	fmt.Println(fired)
	// Output:
	// <nil>
	// RCPT attempt 1 → split after 4 bytes, pause 10ms
}

// RawReply writes bytes no correct server would: here a success code the
// client does not expect.
func ExampleFault_RawReply() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageMail).RawReply("299 2.1.0 Ok\r\n")))
	fmt.Println(replyOf(sendWelcome(srv.Addr(), "bob@example.com")))
	// Output:
	// 299 2.1.0 Ok
}

func ExampleFault_HalfClose() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageRcpt).Reply(421, "4.3.2 closing").HalfClose()))
	fmt.Println(replyOf(sendWelcome(srv.Addr(), "bob@example.com")))
	fmt.Println(srv.WaitForSessions(t, 1)[0].Ended)
	// Output:
	// 421 4.3.2 closing
	// server closed
}

// The connection drops in the middle of the message data: the client
// sees an error, and nothing is recorded.
func ExampleFault_DropAfterBytes() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageData).DropAfterBytes(10)))
	err := sendWelcome(srv.Addr(), "bob@example.com")
	fmt.Println(err != nil, len(srv.Messages()))
	// Output:
	// true 0
}

// A server that times out an idle client: after EHLO, it waits 20 ms for
// a command, then says 421 and closes.
func ExampleFault_IdleReply() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageHelo).IdleReply(20*time.Millisecond, 421, "4.4.2 Idle too long")))
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	srv.WaitUntil(t, "the idle reply", func() bool { return srv.Sessions()[0].Ended != mocksmtp.Live })
	fmt.Println(replyOf(c.Mail("app@example.com"))) // the client reads the 421 it was sent
	// Output:
	// 421 4.4.2 Idle too long
}

func ExampleFault_OnAttempt() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageGreeting).OnAttempt(1, 2).Reply(421, "4.3.2 busy").Disconnect()))
	for range 3 {
		fmt.Println(replyOf(sendWelcome(srv.Addr(), "bob@example.com")))
	}
	// Output:
	// 421 4.3.2 busy
	// 421 4.3.2 busy
	// ok
}

func ExampleFault_ForRcpt() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageRcpt).ForRcpt("*@blocked.example").Reply(550, "5.7.1 Relaying denied")))
	fmt.Println(replyOf(sendWelcome(srv.Addr(), "eve@BLOCKED.example")))
	fmt.Println(replyOf(sendWelcome(srv.Addr(), "bob@example.com")))
	// Output:
	// 550 5.7.1 Relaying denied
	// ok
}

// A server that refuses bounces: "" is the null sender, MAIL FROM:<>.
func ExampleFault_ForSender() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageMail).ForSender("").Reply(550, "5.7.1 No bounces here")))
	bounce := smtp.SendMail(srv.Addr(), nil, "", []string{"bob@example.com"}, []byte("Subject: Undeliverable\r\n\r\nSorry.\r\n"))
	fmt.Println(replyOf(bounce))
	fmt.Println(replyOf(sendWelcome(srv.Addr(), "bob@example.com")))
	// Output:
	// 550 5.7.1 No bounces here
	// ok
}

// A flaky server: with a seed, the same client sees the same faults on
// every run.
func ExampleFault_WithProbability() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithSeed(7), mocksmtp.WithFault(
		mocksmtp.At(mocksmtp.StageRcpt).WithProbability(0.5).Reply(451, "4.3.0 flaky")))
	var got []string
	for range 8 {
		got = append(got, replyOf(sendWelcome(srv.Addr(), "bob@example.com")))
	}
	fmt.Println(strings.Join(got, ", "))
	// Output:
	// 451 4.3.0 flaky, 451 4.3.0 flaky, ok, 451 4.3.0 flaky, 451 4.3.0 flaky, 451 4.3.0 flaky, 451 4.3.0 flaky, 451 4.3.0 flaky
}

func ExampleMailboxFull() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.MailboxFull("bob@example.com")))
	fmt.Println(replyOf(sendWelcome(srv.Addr(), "bob@example.com")))
	fmt.Println(replyOf(sendWelcome(srv.Addr(), "carol@example.com")))
	// Output:
	// 552 5.2.2 Mailbox full
	// ok
}

func ExampleUnknownUser() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.UnknownUser("*@old.example")))
	fmt.Println(replyOf(sendWelcome(srv.Addr(), "bob@old.example")))
	fmt.Println(replyOf(sendWelcome(srv.Addr(), "bob@example.com")))
	// Output:
	// 550 5.1.1 User unknown
	// ok
}

func ExampleShuttingDown() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.ShuttingDown()))
	fmt.Println(replyOf(sendWelcome(srv.Addr(), "bob@example.com")))
	// Output:
	// 421 4.3.2 Service shutting down, try again later
}

// RateLimit closes a connection that sends too many messages: a bulk
// sender must open a new connection.
func ExampleRateLimit() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.RateLimit(2)))
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 1; i <= 3; i++ {
		err := c.Mail("app@example.com")
		fmt.Printf("MAIL %d: %s\n", i, replyOf(err))
		if err == nil {
			_ = c.Reset()
		}
	}
	// Output:
	// MAIL 1: ok
	// MAIL 2: ok
	// MAIL 3: 421 4.7.0 Too many messages on this connection, try again later
}

func ExampleRateLimitPer() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.RateLimitPer(2, time.Hour)))
	for range 3 {
		fmt.Println(replyOf(sendWelcome(srv.Addr(), "bob@example.com")))
	}
	// Output:
	// ok
	// ok
	// 451 4.7.1 Rate limit exceeded, try again later
}

// TooManyRecipients takes the first n recipients of a message; the
// client should send to the rest in another.
func ExampleTooManyRecipients() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.TooManyRecipients(2)))
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("app@example.com"); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		fmt.Println(to, replyOf(c.Rcpt(to)))
	}
	// Output:
	// a@example.com ok
	// b@example.com ok
	// c@example.com 452 4.5.3 Too many recipients
}

// The stages of a session, in order, as transcript notes name them.
func ExampleStage() {
	for s := mocksmtp.StageConnect; s <= mocksmtp.StageQuit; s++ {
		fmt.Print(s, "; ")
	}
	fmt.Println()
	// Output:
	// connect; greeting; HELO; STARTTLS; AUTH; MAIL; RCPT; DATA; end of message; BDAT; RSET; NOOP; QUIT;
}
