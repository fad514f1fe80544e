package mocksmtp_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// A fault writes one reply: a second Reply (or RawReply), which would
// silently replace the first, is refused where it is declared, naming
// both, as two ways of ending the connection are. So are a second
// IdleReply and a second DropAfterBytes. A scenario's reply is the one
// a single Reply may reword: Postgrey answers 450 4.2.0.
func TestFaultHasOneReply(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		fault mocksmtp.Fault
		want  string
	}{
		{"Reply twice", mocksmtp.At(mocksmtp.StageRcpt).Reply(421, "4.3.2 later").Reply(550, "5.1.1 no"), "Reply(550) after Reply(421)"},
		{"RawReply twice", mocksmtp.At(mocksmtp.StageRcpt).RawReply("250 ok\r\n").RawReply("550 no\r\n"), "RawReply after RawReply"},
		{"RawReply then Reply", mocksmtp.At(mocksmtp.StageRcpt).RawReply("x\r\n").Reply(550, "5.1.1 no"), "Reply(550) after RawReply"},
		{"Reply then RawReply", mocksmtp.At(mocksmtp.StageRcpt).Reply(550, "5.1.1 no").RawReply("x\r\n"), "RawReply after Reply(550)"},
		{"Reply twice with Disconnect between", mocksmtp.At(mocksmtp.StageMail).Reply(421, "4.3.2 a").Disconnect().Reply(421, "4.3.2 b"), "Reply(421) after Reply(421)"},
		{"a scenario reworded twice", mocksmtp.Greylist().Reply(450, "4.2.0 Greylisted").Reply(451, "4.7.1 later"), "Reply(451) after Reply(450)"},
		{"RawReply on a scenario", mocksmtp.UnknownUser().RawReply("550 no\r\n"), "use Reply"},
		{"IdleReply twice", mocksmtp.At(mocksmtp.StageHelo).IdleReply(time.Second, 421, "4.4.2 a").IdleReply(time.Minute, 421, "4.4.2 b"), "IdleReply(1m0s) after IdleReply(1s)"},
		{"DropAfterBytes twice", mocksmtp.At(mocksmtp.StageBdat).DropAfterBytes(10).DropAfterBytes(20), "DropAfterBytes(20) after DropAfterBytes(10)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := tt.fault.Err(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Err() = %v; want the fault refused, saying %q", err, tt.want)
			}
			if srv, err := mocksmtp.New(mocksmtp.WithFault(tt.fault)); err == nil {
				srv.Close()
				t.Error("New accepted the fault")
			}
		})
	}

	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.Greylist().Reply(450, "4.2.0 Greylisted")))
	c := dialFault(t, srv)
	c.must("", 220)
	c.must("EHLO client.example", 250)
	c.must("MAIL FROM:<app@example.com>", 250)
	if r, err := c.cmd("RCPT TO:<bob@example.com>"); err != nil || r.Code != 450 || r.Status != "4.2.0" {
		t.Errorf("the reworded greylisting: %+v, %v; want 450 4.2.0", r, err)
	}
	c.must("RCPT TO:<bob@example.com>", 450) // still greylisted on this connection
	c.must("QUIT", 221)
}
