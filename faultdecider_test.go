package mocksmtp_test

import (
	"crypto/x509"
	"errors"
	"net/smtp"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
)

// idleLine reads the next line the server writes unasked, letting the
// server's waits go by: on the frozen clock, moved to the end of each
// wait on it; in the bubble, by blocking. It returns the line (or how
// reading ended) and how long after the call it came.
func (rc *replyClock) idleLine(c *clockConn) (string, time.Duration) {
	rc.t.Helper()
	read := func() string {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return errKind(err)
		}
		return line
	}
	if rc.clk == nil {
		start := time.Now()
		line := read()
		return line, time.Since(start)
	}
	got := make(chan string, 1)
	go func() { got <- read() }()
	var waited time.Duration
	for {
		waited += rc.passWaits()
		select {
		case line := <-got:
			return line, waited
		case <-c.changed:
		}
	}
}

// The fault that decides a reply and has an IdleReply of its own waits
// its own time after its reply and then sends its own text, whatever
// IdleReply a fault before it that only modifies has: shorter or longer.
// The transcript says whose fired.
func TestDecidersOwnIdleReplyFiresOverAnEarlierOne(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name         string
		general, own time.Duration
	}{
		{"its own is shorter", 4 * time.Minute, time.Minute},
		{"its own is longer", time.Minute, 4 * time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			onReplyClocks(t, func(rc *replyClock) {
				srv := rc.start(
					mocksmtp.At(mocksmtp.StageRcpt).IdleReply(tt.general, 421, "4.4.2 general idle").DeclaredAt("general"),
					mocksmtp.At(mocksmtp.StageRcpt).ForRcpt("bob@example.com").Reply(550, "5.1.1 no such user").IdleReply(tt.own, 421, "4.4.2 own idle").DeclaredAt("refuse"),
				)
				c := rc.dial(srv, "app@example.com")
				c.must("RCPT TO:<bob@example.com>", 550)
				line, after := rc.idleLine(c)
				if line != "421 4.4.2 own idle\r\n" || after != tt.own {
					rc.t.Errorf("after bob's 550: %q after %v, want %q after %v", line, after, "421 4.4.2 own idle\r\n", tt.own)
				}
				if line, _ := rc.idleLine(c); line != "EOF" {
					rc.t.Errorf("after the idle reply: %q, want EOF", line)
				}
				want := []string{
					"general: RCPT attempt 1 → after " + tt.general.String() + " idle: 421 4.4.2 general idle, disconnect; IdleReply not done: the idle reply is refuse's",
					"refuse: RCPT attempt 1 → 550 5.1.1 no such user, after " + tt.own.String() + " idle: 421 4.4.2 own idle, disconnect",
					"refuse: idle for " + tt.own.String() + " → 421 4.4.2 own idle, disconnect",
				}
				if diff := cmp.Diff(want, faultNotes(srv.WaitForSessionEnd(rc.t, 1))); diff != "" {
					rc.t.Errorf("the transcript's fault notes (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// The idle wait armed by the decider's own IdleReply holds while that
// fault does: the remove of AddRemovableFault ends it, though the fault
// before it, whose IdleReply gave way, stays.
func TestDecidersOwnIdleReplyEndsWithItsRemove(t *testing.T) {
	t.Parallel()
	onReplyClocks(t, func(rc *replyClock) {
		srv := rc.start(mocksmtp.At(mocksmtp.StageRcpt).IdleReply(time.Minute, 421, "4.4.2 general idle").DeclaredAt("general"))
		remove, err := srv.AddRemovableFault(mocksmtp.At(mocksmtp.StageRcpt).ForRcpt("bob@example.com").Reply(550, "5.1.1 no such user").IdleReply(2*time.Minute, 421, "4.4.2 own idle").DeclaredAt("refuse"))
		if err != nil {
			rc.t.Fatal(err)
		}
		c := rc.dial(srv, "app@example.com")
		c.must("RCPT TO:<bob@example.com>", 550)
		rc.waitForTheDelay(srv) // the idle wait
		remove()
		rc.sleep(4 * time.Minute) // past both idle times, within the read timeout
		c.must("NOOP", 250)
		c.must("QUIT", 221)
	})
}

// At DATA, the fault that decides (a 354 of its own) cuts the message
// data after its own DropAfterBytes, not after that of a fault before
// it: a longer one of its own lets a message through that the earlier
// would have cut, a shorter one cuts it.
func TestDecidersOwnDropAfterBytesCutsTheData(t *testing.T) {
	overTransports(t, testDecidersOwnDropAfterBytesCutsTheData)
}

func testDecidersOwnDropAfterBytesCutsTheData(t *testing.T, via transport) {
	t.Parallel()
	body := "Subject: cut\r\n\r\nthis is longer than ten octets\r\n."
	for _, tt := range []struct {
		name         string
		general, own int64
		kept         bool
	}{
		{"its own is longer", 10, 1000, true},
		{"its own is shorter", 1000, 10, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := via.start(t, mocksmtp.WithFault(
				mocksmtp.At(mocksmtp.StageData).DropAfterBytes(tt.general).DeclaredAt("general"),
				mocksmtp.At(mocksmtp.StageData).Reply(354, "go ahead").DropAfterBytes(tt.own).DeclaredAt("own"),
			))
			c := dialFault(t, srv)
			c.must("", 220)
			c.must("EHLO client.example", 250)
			c.must("MAIL FROM:<app@example.com>", 250)
			c.must("RCPT TO:<bob@example.com>", 250)
			c.must("DATA", 354)
			c.send(body)
			if tt.kept {
				c.must("", 250)
				c.must("QUIT", 221)
			} else {
				c.expectClosed()
			}
			want := []string{
				"general: DATA attempt 1 → drop after " + strconv.FormatInt(tt.general, 10) + " octets of data; DropAfterBytes not done: the data is cut by own",
				"own: DATA attempt 1 → 354 go ahead, drop after " + strconv.FormatInt(tt.own, 10) + " octets of data",
			}
			if diff := cmp.Diff(want, srv.WaitForSessionEnd(t, 1).Faults); diff != "" {
				t.Errorf("Session.Faults (-want +got):\n%s", diff)
			}
			if n := len(srv.Messages()); n != map[bool]int{true: 1}[tt.kept] {
				t.Errorf("%d messages recorded, want kept %v", n, tt.kept)
			}
		})
	}
}

// At STARTTLS, the fault that decides (a 220 of its own) fails the
// handshake its own way, not as a fault before it that only fails it:
// the client sees the decider's certificate error.
func TestDecidersOwnTLSFailureFailsTheHandshake(t *testing.T) {
	overTransports(t, testDecidersOwnTLSFailureFailsTheHandshake)
}

func testDecidersOwnTLSFailureFailsTheHandshake(t *testing.T, via transport) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		general mocksmtp.Fault
		label   string
	}{
		{"an abort before it", mocksmtp.At(mocksmtp.StageStartTLS).AbortHandshake(), "handshake aborted"},
		{"a wrong host before it", mocksmtp.At(mocksmtp.StageStartTLS).WrongHostCertificate(), "certificate for the wrong host"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := via.start(t, mocksmtp.WithSTARTTLS(), mocksmtp.WithFault(
				tt.general.DeclaredAt("general"),
				mocksmtp.At(mocksmtp.StageStartTLS).Reply(220, "2.0.0 go ahead").ExpiredCertificate().DeclaredAt("own"),
			))
			conn, err := srv.Dial()
			if err != nil {
				t.Fatal(err)
			}
			c, err := smtp.NewClient(conn, srv.Host())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var expired x509.CertificateInvalidError
			if err := c.StartTLS(srv.ClientTLSConfig()); !errors.As(err, &expired) || expired.Reason != x509.Expired {
				t.Errorf("StartTLS: %v, want the decider's expired certificate", err)
			}
			s := srv.WaitForSessionEnd(t, 1)
			want := []string{
				"general: STARTTLS attempt 1 → " + tt.label + "; " + tt.label + " not done: the TLS failure is own's",
				"own: STARTTLS attempt 1 → 220 2.0.0 go ahead, expired certificate",
			}
			if diff := cmp.Diff(want, s.Faults); diff != "" {
				t.Errorf("Session.Faults (-want +got):\n%s", diff)
			}
			if s.Ended != mocksmtp.EndTLSFailed {
				t.Errorf("the session ended %v, want %v", s.Ended, mocksmtp.EndTLSFailed)
			}
		})
	}
}

// When the answer leaves nothing for the decider's own IdleReply to do
// (after BDAT LAST, a Disconnect of a fault at BDAT follows the
// end-of-message reply), that of the fault before it, which gave way to
// it, would have had nothing either: neither waits, and the notes of
// both say why, not that the one before gave way to one that is not
// done.
func TestDecidersOwnIdleReplyNotDoneNeitherIsTheEarlierOne(t *testing.T) {
	overTransports(t, testDecidersOwnIdleReplyNotDoneNeitherIsTheEarlierOne)
}

func testDecidersOwnIdleReplyNotDoneNeitherIsTheEarlierOne(t *testing.T, via transport) {
	t.Parallel()
	srv := via.start(t, mocksmtp.WithFault(
		mocksmtp.At(mocksmtp.StageBdat).Disconnect().DeclaredAt("bye"),
		mocksmtp.At(mocksmtp.StageMessage).IdleReply(time.Hour, 421, "4.4.2 general idle").DeclaredAt("general"),
		mocksmtp.At(mocksmtp.StageMessage).Reply(550, "5.6.0 not this one").IdleReply(time.Minute, 421, "4.4.2 own idle").DeclaredAt("refuse"),
	))
	c := dialFault(t, srv)
	c.must("", 220)
	c.must("EHLO client.example", 250)
	c.must("MAIL FROM:<app@example.com>", 250)
	c.must("RCPT TO:<bob@example.com>", 250)
	c.send("BDAT 20 LAST\r\nSubject: x\r\n\r\nbody")
	c.must("", 550)
	c.expectClosed()
	want := []string{
		"bye: BDAT attempt 1 → disconnect",
		"general: end of message attempt 1 → after 1h0m0s idle: 421 4.4.2 general idle, disconnect; IdleReply not done: the connection is not left open",
		"refuse: end of message attempt 1 → 550 5.6.0 not this one, after 1m0s idle: 421 4.4.2 own idle, disconnect; IdleReply not done: the connection is not left open",
	}
	if diff := cmp.Diff(want, srv.WaitForSessionEnd(t, 1).Faults); diff != "" {
		t.Errorf("Session.Faults (-want +got):\n%s", diff)
	}
}
