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

// A fault's 421 closes the connection after it, as Disconnect does: 421
// says the server closes the channel (RFC 5321 3.8, 4.2.2), as the
// engine's own 421s do, and clients (Postfix's smtp, go-smtp, net/smtp)
// take it so. A message answered 421 is not recorded; the session ends
// "server closed" and its note says "disconnect". An ending of the
// fault's own (Stall) stays its own; RawReply writes a 421 and keeps the
// connection open, the escape hatch to test a client against a server
// that says 421 and goes on.
func TestFault421Closes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		fault mocksmtp.Fault
		upTo  string // the command the fault answers: MAIL, RCPT, DATA or the message
	}{
		{"RCPT", mocksmtp.At(mocksmtp.StageRcpt).Reply(421, "4.3.2 try later"), "RCPT"},
		{"MAIL with a delay", mocksmtp.At(mocksmtp.StageMail).Delay(time.Millisecond).Reply(421, "4.7.0 too busy"), "MAIL"},
		{"end of message", mocksmtp.At(mocksmtp.StageMessage).Reply(421, "4.3.2 shutting down"), "message"},
		{"end of message, trickled", mocksmtp.At(mocksmtp.StageMessage).Reply(421, "4.3.2 shutting down").Trickle(7, 0), "message"},
		{"a scenario reworded", mocksmtp.UnknownUser().Reply(421, "4.3.2 try later"), "RCPT"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t, mocksmtp.WithFault(tt.fault))
			c := dialFault(t, srv)
			c.must("", 220)
			c.must("EHLO client.example", 250)
			if tt.upTo == "MAIL" {
				c.must("MAIL FROM:<app@example.com>", 421)
			} else {
				c.must("MAIL FROM:<app@example.com>", 250)
				if tt.upTo == "RCPT" {
					c.must("RCPT TO:<bob@example.com>", 421)
				} else {
					c.must("RCPT TO:<bob@example.com>", 250)
					c.must("DATA", 354)
					c.must("Subject: hi\r\n\r\nhello\r\n.", 421)
				}
			}
			c.send("NOOP") // may fail or be lost: the server has closed
			c.expectClosed()
			s := srv.WaitForSessions(t, 1)[0]
			if s.Ended != mocksmtp.EndServerClosed || len(s.Faults) != 1 || !strings.Contains(s.Faults[0], ", disconnect") {
				t.Errorf("session ended %v, faults %q; want server closed, the fault noted with its disconnect", s.Ended, s.Faults)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("%d messages recorded; a message answered 421 is not", n)
			}
		})
	}
	// The same at BDAT LAST: its reply is the end-of-message reply.
	t.Run("BDAT LAST", func(t *testing.T) {
		t.Parallel()
		srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageBdat).Reply(421, "4.3.2 shutting down")))
		c := dialFault(t, srv)
		c.must("", 220)
		c.must("EHLO client.example", 250)
		c.must("MAIL FROM:<app@example.com>", 250)
		c.must("RCPT TO:<bob@example.com>", 250)
		c.must("BDAT 5 LAST\r\nhello", 421)
		c.expectClosed()
		if s := srv.WaitForSessions(t, 1)[0]; s.Ended != mocksmtp.EndServerClosed || len(srv.Messages()) != 0 {
			t.Errorf("session ended %v with %d messages; want server closed, none", s.Ended, len(srv.Messages()))
		}
	})
	// What does not close: a RawReply's 421, and a 421 with Stall, which
	// hangs instead.
	t.Run("RawReply 421", func(t *testing.T) {
		t.Parallel()
		srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageRcpt).AtMost(1).RawReply("421 4.3.2 not really\r\n")))
		c := dialFault(t, srv)
		c.must("", 220)
		c.must("EHLO client.example", 250)
		c.must("MAIL FROM:<app@example.com>", 250)
		c.must("RCPT TO:<bob@example.com>", 421)
		c.must("NOOP", 250)
		c.must("QUIT", 221)
	})
	if got := mocksmtp.At(mocksmtp.StageRcpt).Reply(421, "4.3.2 x").Stall().String(); !strings.Contains(got, "stall") || strings.Contains(got, "disconnect") {
		t.Errorf("a 421 with Stall: %q; want it to stall, not disconnect", got)
	}
	// An IdleReply needs the connection open after the reply: a 421
	// without an ending is refused with it, as Disconnect is.
	if err := mocksmtp.At(mocksmtp.StageHelo).Reply(421, "4.3.2 x").IdleReply(time.Second, 421, "4.4.2 idle").Err(); err == nil || !strings.Contains(err.Error(), "IdleReply with Reply(421)") {
		t.Errorf("Reply(421) with IdleReply: Err() = %v; want it refused", err)
	}
}

// ehloLines sends EHLO and returns the reply's lines as written.
func ehloLines(t *testing.T, c *faultConn) []string {
	t.Helper()
	c.send("EHLO client.example")
	var lines []string
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			t.Fatalf("EHLO: %q, %v", lines, err)
		}
		lines = append(lines, line)
		if len(line) < 4 || line[3] != '-' {
			return lines
		}
	}
}

// A fault's 250 to EHLO is the reply's first line, and the extensions
// the server serves follow it: the client is offered what the server
// does (PIPELINING, CHUNKING, SIZE...), and the findings, which judge
// the client by what was offered, agree with what the client saw. It
// replaced the whole reply: the client saw no extensions while the
// engine served them and a pipelining client was judged by an offer it
// never read. With a persona, the extensions are the persona's. A
// multiline positive reply at HELO is refused: its lines would be
// extensions the server does not serve.
func TestFaultEhloReplyKeepsTheExtensions(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		opts  []mocksmtp.Option
		reply string
		first string
	}{
		{"plain", nil, "mx.example.com at your service", "250-mx.example.com at your service\r\n"},
		{"with a status", nil, "2.0.0 hello", "250-2.0.0 hello\r\n"},
		{"Postfix", []mocksmtp.Option{mocksmtp.WithPersona(mocksmtp.Postfix)}, "mx.example.com", "250-mx.example.com\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			plain := mocksmtp.Start(t, tt.opts...)
			c := dialFault(t, plain)
			c.must("", 220)
			want := ehloLines(t, c)

			srv := mocksmtp.Start(t, append(tt.opts, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageHelo).Reply(250, tt.reply)))...)
			c = dialFault(t, srv)
			c.must("", 220)
			got := ehloLines(t, c)
			want[0] = tt.first
			if strings.Join(got, "") != strings.Join(want, "") {
				t.Fatalf("EHLO reply:\n%q\nwant\n%q", got, want)
			}
			// The client pipelines, as PIPELINING, which it read, allows.
			c.send("MAIL FROM:<app@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA")
			c.must("", 250)
			c.must("", 250)
			c.must("", 354)
			c.must("Subject: hi\r\n\r\nhello\r\n.", 250)
			c.must("QUIT", 221)
			srv.WaitForSessions(t, 1)
			for _, f := range srv.Findings() {
				if f.Rule == mocksmtp.RulePipelining {
					t.Errorf("finding %v: the client pipelined after the offer it read", f)
				}
			}
		})
	}
	t.Run("HELO", func(t *testing.T) {
		t.Parallel()
		srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageHelo).Reply(250, "hi there")))
		c := dialFault(t, srv)
		c.must("", 220)
		c.send("HELO client.example")
		if line, err := c.r.ReadString('\n'); err != nil || line != "250 hi there\r\n" {
			t.Errorf("HELO: %q, %v; want 250 hi there", line, err)
		}
	})
	err := mocksmtp.At(mocksmtp.StageHelo).Reply(250, "hi\nPIPELINING").Err()
	if err == nil || !strings.Contains(err.Error(), "WithoutExtensions") {
		t.Errorf("a multiline 250 at HELO: Err() = %v; want it refused, pointing to WithoutExtensions", err)
	}
}

// An EHLO a fault refuses offers nothing: a client that pipelines after
// it, its HELO before being the greeting that holds, pipelined without
// an offer, and the finding says so. The findings took any EHLO the
// engine accepted as the offer, whatever the client was answered.
func TestFaultRefusedEhloOffersNothing(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	c := dialFault(t, srv)
	c.must("", 220)
	c.must("HELO client.example", 250)
	if err := srv.AddFault(mocksmtp.At(mocksmtp.StageHelo).Reply(550, "5.7.1 no EHLO here")); err != nil {
		t.Fatal(err)
	}
	c.must("EHLO client.example", 550)
	c.send("MAIL FROM:<app@example.com>\r\nRCPT TO:<bob@example.com>")
	c.must("", 250)
	c.must("", 250)
	c.must("QUIT", 221)
	srv.WaitForSessions(t, 1)
	found := false
	for _, f := range srv.Findings() {
		found = found || f.Rule == mocksmtp.RulePipelining
	}
	if !found {
		t.Errorf("findings %v; want %s: the client pipelined with no offer of PIPELINING", srv.Findings(), mocksmtp.RulePipelining)
	}
}

// Spelled renames the Go names of a fault's errors, from Err and from
// New and AddFault alike, and refuses a key that names nothing they say
// (a misspelt one would rename nothing).
func TestFaultSpelled(t *testing.T) {
	t.Parallel()
	names := map[string]string{"StageStartTLS": "STARTTLS", "DropAfterBytes": "drop-after", "StageData": "DATA", "StageBdat": "BDAT"}
	f := mocksmtp.At(mocksmtp.StageRcpt).DropAfterBytes(10).Spelled(names)
	if err := f.Err(); err == nil || !strings.HasSuffix(err.Error(), ": drop-after works at DATA and BDAT, not at RCPT") {
		t.Errorf("Err() = %v", err)
	}
	srv, err := mocksmtp.New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	err = srv.AddFault(mocksmtp.At(mocksmtp.StageStartTLS).Reply(454, "4.7.0 no").Spelled(names))
	if err == nil || !strings.Contains(err.Error(), "a fault at STARTTLS would never fire") {
		t.Errorf("AddFault = %v, want the stage spelled", err)
	}
	// The fault's own stage is a stage its errors say, as those they
	// point to are: a key for it renames it too.
	lower := map[string]string{"StageRcpt": "rcpt", "StageMessage": "message", "StageData": "data", "StageBdat": "bdat", "StageMail": "mail"}
	for _, tt := range []struct {
		fault mocksmtp.Fault
		want  string
	}{
		{mocksmtp.At(mocksmtp.StageRcpt).DropAfterBytes(10), ": DropAfterBytes works at data and bdat, not at rcpt"},
		{mocksmtp.At(mocksmtp.StageMessage), ": message has no action (Reply, Disconnect, Delay...)"},
		{mocksmtp.At(mocksmtp.StageMail).ForRcpt("bob@example.com").Drop(), ": ForRcpt at mail: there is no recipient to match there, only at rcpt, data, bdat and message; at mail, match the sender with ForSender"},
		{mocksmtp.At(mocksmtp.StageMessage).Reply(354, "go on"), ": Reply(354) at message: a positive reply there is 250"},
	} {
		if err := tt.fault.Spelled(lower).Err(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Err() = %v, want it saying %q", err, tt.want)
		}
	}
	if err := mocksmtp.At(mocksmtp.StageQuit).Reply(250, "ok").Spelled(map[string]string{"StageQuit": "quit"}).Err(); err == nil || !strings.Contains(err.Error(), "Reply(250) at quit") {
		t.Errorf("Err() = %v, want the stage QUIT spelled as the key for it says", err)
	}
	if err := mocksmtp.At(mocksmtp.StageRcpt).Drop().Spelled(map[string]string{"Dorp": "drop"}).Err(); err == nil || !strings.Contains(err.Error(), `"Dorp"`) {
		t.Errorf("Spelled with a misspelt key: Err() = %v, want it refused", err)
	}
	if err := mocksmtp.At(mocksmtp.StageRcpt).Drop().Spelled(names).Err(); err != nil {
		t.Errorf("a valid fault, spelled: Err() = %v", err)
	}
}

// Under WithRejectNonconforming, a pipelined STARTTLS is refused 503
// (RFC 3207 4), also when a fault has a TLS failure for its handshake,
// and so is a DATA followed by more commands before its reply (RFC 2920
// 3.1), also when a fault would drop the connection in its data: the
// refusal stands, and
// the transcript says that the fault, which fired, was not done, rather
// than only that it fired.
func TestFaultNotDoneUnderTheRejection(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		opts  []mocksmtp.Option
		fault mocksmtp.Fault
		send  string // after EHLO, MAIL and RCPT, in one write
		want  string
	}{
		{"TLS failure at a pipelined STARTTLS", []mocksmtp.Option{mocksmtp.WithSTARTTLS()}, mocksmtp.At(mocksmtp.StageStartTLS).ExpiredCertificate(),
			"STARTTLS\r\nNOOP", "fault not done: the expired certificate of the TLS handshake follows a positive reply"},
		{"DropAfterBytes at a pipelined DATA", nil, mocksmtp.At(mocksmtp.StageData).DropAfterBytes(5),
			"DATA\r\nNOOP", "fault not done: the drop after 5 octets of message data follows a positive reply"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mocksmtp.Start(t, append(tt.opts, mocksmtp.WithRejectNonconforming(), mocksmtp.WithFault(tt.fault))...)
			c := dialFault(t, srv)
			c.must("", 220)
			c.must("EHLO client.example", 250)
			c.must("MAIL FROM:<app@example.com>", 250)
			c.must("RCPT TO:<bob@example.com>", 250)
			c.send(tt.send)
			first, err := c.read()
			if err != nil {
				t.Fatal(err)
			}
			second, err := c.read()
			if err != nil {
				t.Fatal(err)
			}
			if first.Code != 503 || second.Code != 250 {
				t.Errorf("replies %+v, %+v; want the pipelined command refused 503, NOOP 250", first, second)
			}
			c.must("QUIT", 221)
			s := srv.WaitForSessions(t, 1)[0]
			if got := s.Transcript.String(); !strings.Contains(got, "nonconforming: 503 5.5.1") || !strings.Contains(got, tt.want) {
				t.Errorf("transcript:\n%s\nwant the 503 and a note saying %q", got, tt.want)
			}
		})
	}
}
