package interop

import (
	"bytes"
	"errors"
	"io"
	"net/smtp"
	"os"
	"testing"
	"testing/synctest"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	gomail "github.com/wneessen/go-mail"

	"github.com/mocksmtp/mocksmtp"
)

// The clients in fake time: each test runs in a testing/synctest bubble
// against a server started WithInMemory, connected through Server.Dial or
// Server.DialContext, and asserts exact durations of mail time that pass
// in no real time.

// isTimeout reports a deadline that passed, as a client sees it.
func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// inRealTime runs f in a bubble and checks that the bubble's mailTime
// took far less real time: the proof that the time was fake.
func inRealTime(t *testing.T, mailTime time.Duration, f func(t *testing.T)) {
	t.Helper()
	start := time.Now()
	synctest.Test(t, f)
	took := time.Since(start)
	t.Logf("%v of mail time took %v of real time", mailTime, took)
	if took >= mailTime/10 {
		t.Errorf("%v of mail time took %v of real time: the clock was not the bubble's", mailTime, took)
	}
}

// A go-mail client with a 30 s timeout meets a stalled server, backs off
// a minute, is greylisted (5 minutes), backs off 5 minutes, and delivers:
// six and a half minutes, each step asserted to the nanosecond.
func TestGoMailFakeTime(t *testing.T) {
	t.Parallel()
	inRealTime(t, 390*time.Second, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(
			mocksmtp.At(mocksmtp.StageConnect).OnAttempt(1).Stall(),
			mocksmtp.GreylistFor(5*time.Minute),
		))
		send := func() error {
			msg, err := goMailMessage(plainMail())
			if err != nil {
				t.Fatal(err)
			}
			c, err := gomail.NewClient(srv.Host(),
				gomail.WithPort(srv.Port()),
				gomail.WithDialContextFunc(srv.DialContext),
				gomail.WithTimeout(30*time.Second),
				gomail.WithTLSPolicy(gomail.NoTLS),
				gomail.WithHELO("client.example"),
			)
			if err != nil {
				t.Fatalf("NewClient: %v", err)
			}
			return c.DialAndSendWithContext(t.Context(), msg)
		}
		start := time.Now()

		// Attempt 1: no greeting; go-mail gives up after its timeout.
		if err := send(); !isTimeout(err) {
			t.Fatalf("attempt 1: %v, want a timeout", err)
		}
		if took := time.Since(start); took != 30*time.Second {
			t.Errorf("attempt 1 gave up after %v, want 30s", took)
		}
		time.Sleep(time.Minute) // the application's backoff

		// Attempt 2: greylisted.
		var se *gomail.SendError
		if err := send(); !errors.As(err, &se) || !se.IsTemp() || se.ErrorCode() != 451 || se.EnhancedStatusCode() != "4.7.1" {
			t.Fatalf("attempt 2: %v, want a temporary 451 4.7.1", err)
		}
		time.Sleep(5 * time.Minute)

		// Attempt 3: 5 minutes after the first refusal, accepted.
		if err := send(); err != nil {
			t.Fatalf("attempt 3: %v", err)
		}
		if took := time.Since(start); took != 390*time.Second {
			t.Errorf("delivered after %v, want 6m30s", took)
		}
		sessions := srv.WaitForSessions(t, 3)
		for i, want := range []time.Duration{0, 90 * time.Second, 390 * time.Second} {
			if at := sessions[i].Start.Sub(start); at != want {
				t.Errorf("attempt %d at %v, want %v", i+1, at, want)
			}
		}
		if s := sessions[0]; s.Ended != mocksmtp.EndClientClosed || s.End.Sub(s.Start) != 30*time.Second {
			t.Errorf("attempt 1: %v after %v, want the client leaving after 30s", s.Ended, s.End.Sub(s.Start))
		}
		if s := sessions[2]; s.Ended != mocksmtp.EndQuit || len(s.Messages) != 1 {
			t.Errorf("attempt 3: ended %v with %d messages, want QUIT and 1", s.Ended, len(s.Messages))
		}
		checkMessage(t, plainMail(), srv.Messages()[0])
	})
}

// go-mail over mandatory STARTTLS, verifying the test certificate on the
// bubble's clock (year 2000), against a server that takes 2 minutes to
// accept the message.
func TestGoMailSTARTTLSFakeTime(t *testing.T) {
	t.Parallel()
	inRealTime(t, 2*time.Minute, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithSTARTTLS(), mocksmtp.WithAuth("mailer", "s3cret"),
			mocksmtp.WithFault(mocksmtp.At(mocksmtp.StageMessage).Delay(2*time.Minute)))
		msg, err := goMailMessage(multipartMail(true))
		if err != nil {
			t.Fatal(err)
		}
		c, err := gomail.NewClient(srv.Host(),
			gomail.WithPort(srv.Port()),
			gomail.WithDialContextFunc(srv.DialContext),
			gomail.WithTLSPolicy(gomail.TLSMandatory),
			gomail.WithTLSConfig(srv.ClientTLSConfig()),
			gomail.WithSMTPAuth(gomail.SMTPAuthPlain),
			gomail.WithUsername("mailer"),
			gomail.WithPassword("s3cret"),
			gomail.WithTimeout(5*time.Minute),
		)
		if err != nil {
			t.Fatalf("NewClient: %v", err)
		}
		start := time.Now()
		if err := c.DialAndSendWithContext(t.Context(), msg); err != nil {
			t.Fatalf("DialAndSend: %v", err)
		}
		if took := time.Since(start); took != 2*time.Minute {
			t.Errorf("sent in %v, want the 2m the server took", took)
		}
		m := srv.WaitForMessages(t, 1)[0]
		checkMessage(t, multipartMail(true), m)
		if m.Session.TLS == nil || m.Session.Auth == nil || !m.Session.Auth.Success {
			t.Errorf("session: TLS %v, auth %+v", m.Session.TLS, m.Session.Auth)
		}
	})
}

// go-smtp's client times out by itself: 5 minutes for a command, 12 for
// the reply to the message data (its CommandTimeout and
// SubmissionTimeout). Against a stalled server each takes exactly that.
func TestGoSMTPFakeTime(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		stage mocksmtp.Stage
		want  time.Duration
	}{
		{"command timeout", mocksmtp.StageRcpt, 5 * time.Minute},
		{"submission timeout", mocksmtp.StageMessage, 12 * time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inRealTime(t, tt.want, func(t *testing.T) {
				srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(mocksmtp.At(tt.stage).Stall()))
				conn, err := srv.Dial()
				if err != nil {
					t.Fatal(err)
				}
				c := gosmtp.NewClient(conn)
				defer c.Close()
				if err := c.Hello("client.example"); err != nil {
					t.Fatalf("Hello: %v", err)
				}
				raw, err := goMessageMIME(plainMail())
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				err = c.SendMail("alice@example.com", []string{"bob@example.com"}, bytes.NewReader(raw))
				if !isTimeout(err) {
					t.Fatalf("SendMail = %v, want a timeout", err)
				}
				if took := time.Since(start); took != tt.want {
					t.Errorf("SendMail gave up after %v, want %v", took, tt.want)
				}
				c.Close()
				if s := srv.WaitForSessions(t, 1)[0]; s.Ended != mocksmtp.EndClientClosed || len(s.Faults) != 1 {
					t.Errorf("session ended %v with faults %q", s.Ended, s.Faults)
				}
			})
		})
	}
}

// net/smtp has no timeouts of its own: the application sets a deadline on
// the connection it gives NewClient. Its retries after 421s come at
// exactly its backoff, and a server slow to accept is waited for.
func TestNetSMTPFakeTime(t *testing.T) {
	t.Parallel()
	inRealTime(t, 13*time.Minute, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(
			mocksmtp.At(mocksmtp.StageRcpt).OnAttempt(1, 2).Reply(421, "4.3.2 try later").Disconnect(),
			mocksmtp.At(mocksmtp.StageMessage).Delay(10*time.Minute),
		))
		try := func() error {
			conn, err := srv.Dial()
			if err != nil {
				return err
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(15 * time.Minute))
			c, err := smtp.NewClient(conn, srv.Host())
			if err != nil {
				return err
			}
			if err := c.Mail("alice@example.com"); err != nil {
				return err
			}
			if err := c.Rcpt("bob@example.com"); err != nil {
				return err
			}
			w, err := c.Data()
			if err != nil {
				return err
			}
			io.WriteString(w, "Subject: slow\r\n\r\nhello\r\n")
			if err := w.Close(); err != nil {
				return err
			}
			return c.Quit()
		}
		start := time.Now()
		backoff := time.Minute
		for attempt := 1; ; attempt++ {
			err := try()
			if err == nil {
				break
			}
			if attempt == 3 {
				t.Fatalf("attempt 3: %v", err)
			}
			time.Sleep(backoff)
			backoff *= 2
		}
		if took := time.Since(start); took != 13*time.Minute {
			t.Errorf("delivered after %v, want 13m (1m, 2m of backoff, 10m to accept)", took)
		}
		sessions := srv.WaitForSessions(t, 3)
		for i, want := range []time.Duration{0, time.Minute, 3 * time.Minute} {
			if at := sessions[i].Start.Sub(start); at != want {
				t.Errorf("attempt %d at %v, want %v", i+1, at, want)
			}
		}
		if m := srv.Messages()[0]; m.Received.Sub(start) != 3*time.Minute {
			t.Errorf("message recorded at %v, want 3m: before the 10-minute delay of its reply", m.Received.Sub(start))
		}
	})
}
