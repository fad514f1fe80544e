package mocksmtp_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// A wait that can never be met (it wants more messages than WithRetention
// keeps) fails at once, without looking in a loop: it returns, counts and
// reports what the server has. It returned and listed none, "got 0", with
// the messages there.
func TestWaitNeverMetGetsWhatTheServerHas(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithRetention(1))
	in := srv.NewInbox("kept")
	if err := memSend(srv.Dial, srv.Host(), "app@example.com", in.Address("bob")); err != nil {
		t.Fatal(err)
	}
	srv.WaitForMessages(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	msgs, err := srv.WaitForMessagesContext(ctx, 2)
	if len(msgs) != 1 || err == nil || !strings.Contains(err.Error(), "got 1") {
		t.Errorf("Server.WaitForMessagesContext(2) = %d messages, %v; want the 1 kept, and an error saying got 1", len(msgs), err)
	}
	msgs, err = in.WaitForMessagesContext(ctx, 2)
	if len(msgs) != 1 || err == nil || !strings.Contains(err.Error(), "got 1") {
		t.Errorf("Inbox.WaitForMessagesContext(2) = %d messages, %v; want the 1 kept, and an error saying got 1", len(msgs), err)
	}
	ft := &fatalT{TB: t}
	ft.run(func() { srv.WaitForMessages(ft, 2) })
	if !strings.Contains(ft.msg, "got 1:") || !strings.Contains(ft.msg, "bob@kept") {
		t.Errorf("WaitForMessages(2) failed with:\n%s\nwant got 1, and the message kept listed", ft.msg)
	}
	_, err = srv.WaitForNContext(ctx, mocksmtp.Want{To: []string{"alice@example.com"}}, 2)
	if err == nil || !strings.Contains(err.Error(), "bob@kept") {
		t.Errorf("WaitForNContext(2) = %v; want a report listing the message kept, the nearest", err)
	}
}
