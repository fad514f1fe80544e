package mocksmtp_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// A fault at StageBdat that ends the connection "after the reply" does so
// after the reply to BDAT LAST, which is the end of the message's: the
// client reads the 250, the message is recorded once, byte for byte, and
// then the connection closes, half-closes, hangs or resets. A fault that
// gives no reply (Drop, ResetTCP or Stall alone) leaves the message
// unrecorded. A BDAT that is not LAST is unchanged.
func TestFaultAtBdatLast(t *testing.T) { overTransports(t, testFaultAtBdatLast) }

func testFaultAtBdatLast(t *testing.T, via transport) {
	t.Parallel()
	const body = "Subject: hi\r\n\r\nhello\r\n"
	last := "BDAT 22 LAST\r\n" + body // send adds CRLF to the last line
	last = last[:len(last)-2]
	bdat := mocksmtp.At(mocksmtp.StageBdat)
	tests := []struct {
		name   string
		faults []mocksmtp.Fault
		opts   []mocksmtp.Option
		send   string        // what the client sends but its last CRLF; "" for "BDAT 22 LAST" and body
		reply  string        // the reply line the client reads, "" for none
		after  string        // "open", "closed", "reset" (the reply may be lost to it) or "hangs"
		stored bool          // the message is recorded
		slow   time.Duration // the reply takes at least this long
	}{
		{name: "Disconnect", faults: []mocksmtp.Fault{bdat.Disconnect()},
			reply: "250 2.0.0 Ok: queued", after: "closed", stored: true},
		{name: "HalfClose", faults: []mocksmtp.Fault{bdat.HalfClose()},
			reply: "250 2.0.0 Ok: queued", after: "closed", stored: true},
		{name: "Reply 250, Stall", faults: []mocksmtp.Fault{bdat.Reply(250, "2.0.0 held").Stall()},
			reply: "250 2.0.0 held", after: "hangs", stored: true},
		{name: "Reply 250, ResetTCP", faults: []mocksmtp.Fault{bdat.Reply(250, "2.0.0 held").ResetTCP()},
			reply: "250 2.0.0 held", after: "reset", stored: true},
		{name: "Reply 250, Disconnect", faults: []mocksmtp.Fault{bdat.Reply(250, "stored").Disconnect()},
			reply: "250 2.0.0 stored", after: "closed", stored: true},
		{name: "Reply 250, Disconnect, persona", faults: []mocksmtp.Fault{bdat.Reply(250, "2.0.0 held").Disconnect()},
			opts: []mocksmtp.Option{mocksmtp.WithPersona(mocksmtp.Postfix)}, reply: "250 2.0.0 held", after: "closed", stored: true},
		{name: "Reply 451, Disconnect", faults: []mocksmtp.Fault{bdat.Reply(451, "4.3.0 not now").Disconnect()},
			reply: "451 4.3.0 not now", after: "closed"},
		{name: "Disconnect, refused at StageMessage", faults: []mocksmtp.Fault{bdat.Disconnect(),
			mocksmtp.At(mocksmtp.StageMessage).ForRcpt("bob@example.com").ForSender("app@example.com").Reply(452, "4.2.2 mailbox full")},
			reply: "452 4.2.2 mailbox full", after: "closed"},
		// A 421 at StageMessage closes after it only when nothing else
		// ends the connection: the ending of the fault at BDAT LAST,
		// which acts after the end-of-message reply, stays (it closed).
		{name: "Reply 250, Stall, refused 421 at StageMessage", faults: []mocksmtp.Fault{bdat.Reply(250, "2.0.0 held").Stall(),
			mocksmtp.At(mocksmtp.StageMessage).Reply(421, "4.3.2 shutting down")},
			reply: "421 4.3.2 shutting down", after: "hangs"},
		{name: "Stall", faults: []mocksmtp.Fault{bdat.Stall()}, after: "hangs"},
		{name: "ResetTCP", faults: []mocksmtp.Fault{bdat.ResetTCP()}, after: "reset"},
		{name: "Drop", faults: []mocksmtp.Fault{bdat.Drop()}, after: "closed"},
		{name: "Trickle", faults: []mocksmtp.Fault{bdat.Trickle(5, 20*time.Millisecond)},
			reply: "250 2.0.0 Ok: queued", slow: 4 * 20 * time.Millisecond, after: "open", stored: true}, // 22 octets: 5 writes
		{name: "Delay", faults: []mocksmtp.Fault{bdat.Delay(50 * time.Millisecond)},
			reply: "250 2.0.0 Ok: queued", slow: 50 * time.Millisecond, after: "open", stored: true},
		{name: "RawReply", faults: []mocksmtp.Fault{bdat.RawReply("550 5.0.0 not written\r\n")},
			reply: "250 2.0.0 Ok: queued", after: "open", stored: true},
		{name: "DropAfterBytes the chunk's size", faults: []mocksmtp.Fault{bdat.DropAfterBytes(22)}, after: "closed"},
		{name: "DropAfterBytes past the chunk", faults: []mocksmtp.Fault{bdat.DropAfterBytes(23)},
			reply: "250 2.0.0 Ok: queued", after: "open", stored: true},
		{name: "Disconnect, not LAST", faults: []mocksmtp.Fault{bdat.Disconnect()}, send: "BDAT 5\r\nhel",
			reply: "250 2.0.0 Ok: 5 octets received", after: "closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := via.start(t, append(tt.opts, mocksmtp.WithFault(tt.faults...))...)
			c := dialFault(t, srv)
			c.must("", 220)
			c.must("EHLO client.example", 250)
			c.must("MAIL FROM:<app@example.com>", 250)
			c.must("RCPT TO:<bob@example.com>", 250)
			send := tt.send
			if send == "" {
				send = last
			}
			start := time.Now()
			c.send(send)
			if tt.reply != "" {
				got, err := c.r.ReadString('\n')
				if err != nil && tt.after == "reset" && faultIsReset(err) {
					// The reset may destroy the reply, as ResetTCP says.
				} else if err != nil || got != tt.reply+"\r\n" {
					t.Fatalf("reply %q, %v; want %q", got, err, tt.reply)
				}
			}
			if took := time.Since(start); took < tt.slow {
				t.Errorf("the reply came after %v, want at least %v", took, tt.slow)
			}
			switch tt.after {
			case "open":
				c.must("QUIT", 221)
				c.expectClosed()
			case "hangs":
				if got, err := c.readAll(50 * time.Millisecond); got != "" || !faultIsTimeout(err) {
					t.Fatalf("read %q, %v; want nothing until the client's deadline", got, err)
				}
				c.conn.Close()
			case "reset":
				if got, err := c.readAll(5 * time.Second); got != "" || err != nil && !faultIsReset(err) {
					t.Fatalf("read %q, %v; want the connection reset", got, err)
				}
			default:
				if got, err := c.readAll(5 * time.Second); got != "" || err != nil {
					t.Fatalf("read %q, %v; want the connection closed", got, err)
				}
				c.conn.Close() // a half-closing server waits for this
			}
			s := srv.WaitForSessionEnd(t, 1)
			var raws []string
			for _, m := range srv.Messages() {
				raws = append(raws, string(m.Raw))
			}
			switch {
			case tt.stored && (len(raws) != 1 || raws[0] != body):
				t.Errorf("messages %q, want one, %q", raws, body)
			case !tt.stored && len(raws) != 0:
				t.Errorf("messages %q, want none", raws)
			}
			// The transcript ends with the reply (or, with none, the BDAT
			// line), and then the session's end.
			var wire []string
			for _, l := range s.Transcript {
				if line := l.String(); strings.HasPrefix(line, "S: ") || strings.HasPrefix(line, "C: ") {
					wire = append(wire, line)
				}
			}
			wantLast := "C: " + strings.SplitN(send, "\r\n", 2)[0]
			if tt.reply != "" {
				wantLast = "S: " + tt.reply
			}
			wantEnd := mocksmtp.EndServerClosed
			switch tt.after {
			case "hangs":
				wantEnd = mocksmtp.EndClientClosed // the client gave up
			case "open":
				wantLast, wantEnd = "S: 221 2.0.0 Bye", mocksmtp.EndQuit
			}
			if wire[len(wire)-1] != wantLast || s.Ended != wantEnd {
				t.Errorf("transcript ends with %q, session ended %v; want %q, %v\n%s", wire[len(wire)-1], s.Ended, wantLast, wantEnd, s.Transcript)
			}
		})
	}
}

// Faults take precedence over WithRejectNonconforming, and the positive
// Reply of a fault at StageBdat is the reply to BDAT LAST, the message's,
// as a fault's at StageMessage is for DATA: the client reads it and the
// message is recorded, with its finding. The strict rejection replaced
// it, and the message the fault accepted was refused and not recorded.
func TestFaultAtBdatLastTakesPrecedenceOverStrictRejection(t *testing.T) {
	overTransports(t, func(t *testing.T, via transport) {
		const body = "Subject: hi\r\n\r\nhello\r\n" // no Date, From: a required-headers error
		for _, tt := range []struct {
			name  string
			fault mocksmtp.Fault
			send  string
		}{
			{"DATA, Reply at StageMessage", mocksmtp.At(mocksmtp.StageMessage).Reply(250, "2.0.0 held"), "DATA"},
			{"BDAT LAST, Reply at StageMessage", mocksmtp.At(mocksmtp.StageMessage).Reply(250, "2.0.0 held"), "BDAT 22 LAST"},
			{"BDAT LAST, Reply at StageBdat", mocksmtp.At(mocksmtp.StageBdat).Reply(250, "2.0.0 held"), "BDAT 22 LAST"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				srv := via.start(t, mocksmtp.WithRejectNonconforming(), mocksmtp.WithFault(tt.fault))
				c := dialFault(t, srv)
				c.must("", 220)
				c.must("EHLO client.example", 250)
				c.must("MAIL FROM:<app@example.com>", 250)
				c.must("RCPT TO:<bob@example.com>", 250)
				if tt.send == "DATA" {
					c.must("DATA", 354)
					c.send(body + ".")
				} else {
					c.send(tt.send + "\r\n" + body[:len(body)-2])
				}
				if got, err := c.r.ReadString('\n'); err != nil || got != "250 2.0.0 held\r\n" {
					t.Fatalf("reply to the message %q, %v; want the fault's, 250 2.0.0 held", got, err)
				}
				c.must("QUIT", 221)
				srv.WaitForSessionEnd(t, 1)
				ms := srv.Messages()
				if len(ms) != 1 || string(ms[0].Raw) != body {
					t.Fatalf("recorded %d messages, want 1, %q", len(ms), body)
				}
				if !slices.ContainsFunc(ms[0].Findings, func(f mocksmtp.Finding) bool { return f.Rule == mocksmtp.RuleRequiredHeaders }) {
					t.Errorf("findings %v, want %v among them", ms[0].Findings, mocksmtp.RuleRequiredHeaders)
				}
			})
		}
	})
}

// A fault with no reply of its own (a Delay, a Disconnect) leaves the
// reply the server's, which under WithRejectNonconforming is the strict
// rejection: over DATA and BDAT, at StageMessage and at StageBdat, and at
// a command. It switched the rejection off at StageMessage and at
// commands: a Delay made the server accept what it refuses without.
func TestFaultWithoutAReplyKeepsTheStrictRejection(t *testing.T) {
	overTransports(t, func(t *testing.T, via transport) {
		const body = "Subject: hi\r\n\r\nhello\r\n" // no Date, From: a required-headers error
		msg := mocksmtp.At(mocksmtp.StageMessage)
		bdat := mocksmtp.At(mocksmtp.StageBdat)
		for _, tt := range []struct {
			name   string
			fault  mocksmtp.Fault
			send   string // "DATA", "BDAT 22 LAST", or a command pipelined after HELO, which offers no PIPELINING
			code   int
			status string
			closed bool // the connection closes after the reply
		}{
			{"DATA, Delay at StageMessage", msg.Delay(time.Millisecond), "DATA", 550, "5.6.0", false},
			{"DATA, Disconnect at StageMessage", msg.Disconnect(), "DATA", 550, "5.6.0", true},
			{"DATA, IdleReply at StageMessage", msg.IdleReply(time.Hour, 421, "4.4.2 idle"), "DATA", 550, "5.6.0", false},
			{"BDAT LAST, Delay at StageMessage", msg.Delay(time.Millisecond), "BDAT 22 LAST", 550, "5.6.0", false},
			{"BDAT LAST, Disconnect at StageMessage", msg.Disconnect(), "BDAT 22 LAST", 550, "5.6.0", true},
			{"BDAT LAST, Delay at StageBdat", bdat.Delay(time.Millisecond), "BDAT 22 LAST", 550, "5.6.0", false},
			{"BDAT LAST, Disconnect at StageBdat", bdat.Disconnect(), "BDAT 22 LAST", 550, "5.6.0", true},
			{"MAIL pipelined without PIPELINING, Delay at StageMail", mocksmtp.At(mocksmtp.StageMail).Delay(time.Millisecond), "MAIL FROM:<app@example.com>", 503, "5.5.1", false},
		} {
			t.Run(tt.name, func(t *testing.T) {
				srv := via.start(t, mocksmtp.WithRejectNonconforming(), mocksmtp.WithFault(tt.fault))
				c := dialFault(t, srv)
				c.must("", 220)
				switch tt.send {
				case "DATA":
					c.must("EHLO client.example", 250)
					c.must("MAIL FROM:<app@example.com>", 250)
					c.must("RCPT TO:<bob@example.com>", 250)
					c.must("DATA", 354)
					c.send(body + ".")
				case "BDAT 22 LAST":
					c.must("EHLO client.example", 250)
					c.must("MAIL FROM:<app@example.com>", 250)
					c.must("RCPT TO:<bob@example.com>", 250)
					c.send(tt.send + "\r\n" + body[:len(body)-2])
				default:
					c.must("HELO client.example", 250)
					c.send(tt.send + "\r\nRSET")
				}
				if r, err := c.read(); err != nil || r.Code != tt.code || r.Status != tt.status {
					t.Fatalf("reply %+v, %v; want the strict rejection, %d %s", r, err, tt.code, tt.status)
				}
				if tt.closed {
					c.expectClosed()
				} else {
					if tt.send != "DATA" && tt.send != "BDAT 22 LAST" {
						c.must("", 250) // RSET's
					}
					c.must("QUIT", 221)
				}
				srv.WaitForSessionEnd(t, 1)
				if ms := srv.Messages(); len(ms) != 0 {
					t.Errorf("recorded %d messages, want none: the server refused it", len(ms))
				}
			})
		}
	})
}

// After BDAT LAST, a 421 at StageMessage is followed by the ending of
// the fault at StageBdat, which acts after the end-of-message reply
// (Stall, ResetTCP, HalfClose): the fault's transcript note, which the
// session's Faults repeat, says that ending, not the "disconnect" that
// did not happen; over DATA it says "disconnect", which does. The
// fault's String, which cannot know, says both.
func TestFault421AtMessageNoteSaysTheBdatEnding(t *testing.T) {
	t.Parallel()
	msg := mocksmtp.At(mocksmtp.StageMessage).Reply(421, "4.3.2 shutting down")
	if got, want := msg.String(), "421 4.3.2 shutting down, disconnect (after BDAT LAST, the ending of a fault at BDAT, if any)"; !strings.Contains(got, want) {
		t.Errorf("String() = %q, want it to say %q", got, want)
	}
	const body = "Subject: hi\r\n\r\nhello\r\n"
	for _, tt := range []struct {
		name  string
		bdat  mocksmtp.Fault
		after string // "hangs", "closed" or "reset"
		note  string // the end of the StageMessage fault's note
	}{
		{"Stall after a 250", mocksmtp.At(mocksmtp.StageBdat).Reply(250, "2.0.0 held").Stall(), "hangs", "→ 421 4.3.2 shutting down, stall (the ending of the fault at BDAT)"},
		{"HalfClose", mocksmtp.At(mocksmtp.StageBdat).HalfClose(), "closed", "→ 421 4.3.2 shutting down, half-close (the ending of the fault at BDAT)"},
		{"ResetTCP after a 250", mocksmtp.At(mocksmtp.StageBdat).Reply(250, "2.0.0 held").ResetTCP(), "reset", "→ 421 4.3.2 shutting down, TCP reset (the ending of the fault at BDAT)"},
		{"none: DATA", mocksmtp.Fault{}, "closed", "→ 421 4.3.2 shutting down, disconnect"},
		{"none: a BDAT fault that only delays", mocksmtp.At(mocksmtp.StageBdat).Delay(time.Millisecond), "closed", "→ 421 4.3.2 shutting down, disconnect"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			faults := []mocksmtp.Fault{msg}
			if tt.bdat.Err() == nil {
				faults = append(faults, tt.bdat)
			}
			srv := mocksmtp.Start(t, mocksmtp.WithFault(faults...))
			c := dialFault(t, srv)
			c.must("", 220)
			c.must("EHLO client.example", 250)
			c.must("MAIL FROM:<app@example.com>", 250)
			c.must("RCPT TO:<bob@example.com>", 250)
			if tt.name == "none: DATA" {
				c.must("DATA", 354)
				c.send(body + ".")
			} else {
				c.send("BDAT 22 LAST\r\n" + body[:len(body)-2])
			}
			if r, err := c.read(); (err != nil || r.Code != 421) && !(tt.after == "reset" && faultIsReset(err)) {
				t.Fatalf("reply %+v, %v; want 421", r, err)
			}
			switch tt.after {
			case "hangs":
				if got, err := c.readAll(50 * time.Millisecond); got != "" || !faultIsTimeout(err) {
					t.Fatalf("read %q, %v; want nothing: the server stalls", got, err)
				}
			default:
				if got, err := c.readAll(5 * time.Second); got != "" || err != nil && !faultIsReset(err) {
					t.Fatalf("read %q, %v; want the connection closed", got, err)
				}
			}
			c.conn.Close()
			s := srv.WaitForSessionEnd(t, 1)
			i := slices.IndexFunc(s.Faults, func(f string) bool { return strings.Contains(f, "end of message attempt 1") })
			if i < 0 || !strings.HasSuffix(s.Faults[i], tt.note) {
				t.Errorf("Session.Faults = %q; want the end-of-message fault's note to end %q", s.Faults, tt.note)
			}
		})
	}
}
