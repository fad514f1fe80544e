package mocksmtp_test

import (
	"io"
	"log"
	"net/smtp"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// logT is an expT that also sends each Logf on a channel.
type logT struct {
	*expT
	logged chan string
}

func (t *logT) Logf(format string, args ...any) {
	t.expT.Logf(format, args...)
	t.mu.Lock()
	s := t.logs[len(t.logs)-1]
	t.mu.Unlock()
	t.logged <- s
}

// closeSend sends one message in memory and returns the error of its
// DATA, which a callback that blocks holds up.
func closeSend(srv *mocksmtp.Server) error {
	conn, err := srv.Dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	c, err := smtp.NewClient(conn, "localhost")
	if err != nil {
		return err
	}
	return sendOne(c) // closeend_test.go
}

// closeAuth authenticates in memory, which a WithAuthFunc check that
// blocks holds up.
func closeAuth(srv *mocksmtp.Server) error {
	conn, err := srv.Dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	c, err := smtp.NewClient(conn, "localhost")
	if err != nil {
		return err
	}
	return c.Auth(smtp.PlainAuth("", "app", "secret", "localhost"))
}

// TestCloseLogsWhatItWaitsFor blocks two sessions, one in a WithOnMessage
// callback and one in a WithAuthFunc check, and checks, in fake time,
// that Close logs them to the test once after exactly 5 s and returns
// when they are released.
func TestCloseLogsWhatItWaitsFor(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		block := func() { <-release }
		ft := &logT{expT: &expT{name: "TestSignup"}, logged: make(chan string, 1)}
		srv := mocksmtp.Start(ft, mocksmtp.WithInMemory(),
			mocksmtp.WithOnMessage(func(*mocksmtp.Message) { block() }),
			mocksmtp.WithAuthFunc(func(mocksmtp.Credentials) error { block(); return nil }))

		var clients sync.WaitGroup
		clients.Go(func() { _ = closeSend(srv) })
		synctest.Wait() // session 1 is in the callback
		clients.Go(func() { _ = closeAuth(srv) })
		synctest.Wait() // session 2 is in the check

		start := time.Now()
		closed := make(chan struct{})
		go func() {
			srv.Close()
			close(closed)
		}()
		got := <-ft.logged // the bubble's clock runs until Close logs
		if took := time.Since(start); took != 5*time.Second {
			t.Errorf("Close logged after %v, want 5s", took)
		}
		want := "mocksmtp: Start at close_test.go:<line>: Close has waited 5s for 2 sessions to end:\n" +
			"  session 1 (127.0.0.1:<port>): in the WithOnMessage callback (message 1) for 5s\n" +
			"  session 2 (127.0.0.1:<port>): live, last line 12 C: AUTH PLAIN ****"
		if got = expNormalize(got); got != want {
			t.Errorf("Close logged:\n%s\nwant:\n%s", got, want)
		}

		time.Sleep(time.Minute) // in fake time: Close goes on waiting, in silence
		select {
		case <-closed:
			t.Fatal("Close returned while sessions were in callbacks")
		case s := <-ft.logged:
			t.Errorf("Close logged again: %s", s)
		default:
		}
		close(release)
		<-closed
		clients.Wait()
		ft.finish()
		if r := ft.report(); r != "" {
			t.Errorf("the test failed: %s", r)
		}
	})
}

// TestCloseLogsWithoutATest checks that a server of New logs with the log
// package, for a session in a WithOnSessionEnd callback. It sets the log
// package's output, so it does not run in parallel.
func TestCloseLogsWithoutATest(t *testing.T) {
	flags, out := log.Flags(), log.Writer()
	defer func() {
		log.SetFlags(flags)
		log.SetOutput(out)
	}()
	synctest.Test(t, func(t *testing.T) {
		logged := make(chan string, 1) // of the bubble, so that waiting on it lets its clock run
		log.SetFlags(0)
		log.SetOutput(writerFunc(func(p []byte) (int, error) {
			logged <- string(p)
			return len(p), nil
		}))
		release := make(chan struct{})
		srv, err := mocksmtp.New(mocksmtp.WithInMemory(), mocksmtp.WithOnSessionEnd(func(*mocksmtp.Session) { <-release }))
		if err != nil {
			t.Fatal(err)
		}
		conn, err := srv.Dial()
		if err != nil {
			t.Fatal(err)
		}
		conn.Close()
		synctest.Wait() // the session ended and is in the callback

		closed := make(chan struct{})
		go func() {
			srv.Close()
			close(closed)
		}()
		got := <-logged
		want := "mocksmtp: server in memory: Close has waited 5s for 1 session to end:\n" +
			"  session 1 (127.0.0.1:49152): in the WithOnSessionEnd callback for 5s\n"
		if got != want {
			t.Errorf("Close logged:\n%s\nwant:\n%s", got, want)
		}
		close(release)
		<-closed
	})
}

// TestCloseSilentWhenPrompt checks that Close says nothing when sessions
// end at once, however long they had been open.
func TestCloseSilentWhenPrompt(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ft := &logT{expT: &expT{name: "TestSignup"}, logged: make(chan string, 1)}
		srv := mocksmtp.Start(ft, mocksmtp.WithInMemory())
		conn, err := srv.Dial()
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		time.Sleep(time.Hour)
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
		ft.finish()
		select {
		case s := <-ft.logged:
			t.Errorf("Close logged: %s", s)
		default:
		}
	})
}

// writerFunc is an io.Writer.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// A session ends at its 221 to QUIT, while the client still holds the
// connection open: the server closes it at once, as MTAs do, rather than
// waiting for the client to close first. In fake time, so that "at once"
// is exact.
func TestSessionEndsAtQuit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mocksmtp.Start(t, mocksmtp.WithInMemory())
		c := dialBubble(t, srv)
		c.must("", 220)
		c.must("EHLO client.example", 250)
		c.must("QUIT", 221)
		quit := time.Now()
		if n, err := c.r.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("after the 221: read %d octets, %v; want the server's close (EOF)", n, err)
		}
		s := srv.WaitForSessions(t, 1)[0]
		if took := time.Since(quit); took != 0 {
			t.Errorf("the session ended %v after its 221, want at once: the server waited for the client to close", took)
		}
		if s.Ended != mocksmtp.EndQuit || s.Err != nil {
			t.Errorf("session ended %v, %v; want by QUIT, no error", s.Ended, s.Err)
		}
	})
}

// A client that pipelined more after its QUIT still reads the whole 221
// and then the server's orderly close, not a reset, over TCP.
func TestQuitWithCommandsAfterIt(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	c := dialRaw(t, srv.Addr())
	c.expect("220 ")
	c.send("EHLO client.example\r\nQUIT\r\nNOOP\r\nMAIL FROM:<a@example.com>\r\n")
	c.expect("250 ")
	c.expect("221 ")
	if b, err := c.r.ReadByte(); err != io.EOF {
		t.Errorf("after the 221: %q, %v; want the server's orderly close (EOF)", b, err)
	}
	c.conn.Close()
	if s := srv.WaitForSessions(t, 1)[0]; s.Ended != mocksmtp.EndQuit {
		t.Errorf("session ended %v, want by QUIT", s.Ended)
	}
}
