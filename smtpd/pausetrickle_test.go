package smtpd_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp/smtpd"
)

// opaqueConn is a connection a driver wrapped (to count or log its
// octets): the engine cannot ask it what is queued, as off Unix.
type opaqueConn struct{ net.Conn }

// The end of the driver's context ends a pause promptly, as a server's
// Close must, also when the engine cannot ask the connection what is
// queued (a wrapped connection; off Unix) and the client trickles an
// octet at a time: the look for a client that left behind what it sent
// is bounded in all, not for each octet (a read buffer of them took
// the 16 KiB times the trickle's pace).
func TestPauseEndsPromptlyWhileAClientTrickles(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	paused, pauseErr := make(chan struct{}), make(chan error, 1)
	addr, _ := serveOne(t, func(nc net.Conn) error {
		c := smtpd.NewConn(opaqueConn{nc}, smtpd.Config{})
		defer c.Close(nil)
		for {
			ev, err := c.Next(ctx)
			if err != nil {
				return err
			}
			if ev.Kind == smtpd.Rcpt {
				close(paused)
				pauseErr <- c.Pause(ctx, time.Hour)
				return nil
			}
		}
	})
	c := dial(t, addr)
	toRcpt(t, c, nil)
	c.send("RCPT TO:<b@example.com>\r\n")
	<-paused
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := c.conn.Write([]byte{"NOOP\r\n"[i%6]}); err != nil {
				return
			}
		}
	}()
	defer func() { close(stop); <-stopped }()
	start := time.Now()
	cancel()
	select {
	case err := <-pauseErr:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Pause returned %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Pause returned %v after the context ended, want promptly", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Pause still runs 5 s after the context ended, while the client trickles")
	}
}
