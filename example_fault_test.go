package mocksmtp_test

import (
	"errors"
	"fmt"
	"net/textproto"
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
	// session 1 ended: server closed, faults: ["example_fault_test.go:31: RCPT attempt 1 → 421 4.3.2 try later, disconnect"]
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
