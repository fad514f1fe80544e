package memnet_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/mocksmtp/mocksmtp/internal/memnet"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var serverAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 25}

// pipe returns a connected client and server end, closed at cleanup.
func pipe(t *testing.T) (client, server *memnet.Conn) {
	t.Helper()
	ln := memnet.NewListener(serverAddr)
	t.Cleanup(func() { ln.Close() })
	c, err := ln.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		s.Close()
	})
	return c, s.(*memnet.Conn)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() && errors.Is(err, os.ErrDeadlineExceeded)
}

// readAll reads until an error and returns what it read and the error.
func readAll(c net.Conn) (string, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(c)
	if err == nil {
		err = io.EOF
	}
	return b.String(), err
}

func TestListenerAddresses(t *testing.T) {
	ln := memnet.NewListener(serverAddr)
	defer ln.Close()
	if got := ln.Addr().String(); got != "127.0.0.1:25" {
		t.Errorf("Addr = %s", got)
	}
	seen := map[string]bool{}
	for i := range 3 {
		c, err := ln.Dial(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if c.RemoteAddr() != ln.Addr() || s.LocalAddr() != ln.Addr() {
			t.Errorf("connection %d: client's remote %v, server's local %v; want %v", i, c.RemoteAddr(), s.LocalAddr(), ln.Addr())
		}
		if c.LocalAddr() != s.RemoteAddr() {
			t.Errorf("connection %d: client's local %v, server's remote %v", i, c.LocalAddr(), s.RemoteAddr())
		}
		if _, ok := s.RemoteAddr().(*net.TCPAddr); !ok || s.RemoteAddr().Network() != "tcp" {
			t.Errorf("remote address %#v: want a *net.TCPAddr", s.RemoteAddr())
		}
		if a := s.RemoteAddr().String(); seen[a] {
			t.Errorf("connection %d: remote address %s again", i, a)
		} else {
			seen[a] = true
		}
		c.Close()
		s.Close()
	}
	if !seen["127.0.0.1:49152"] || !seen["127.0.0.1:49154"] {
		t.Errorf("client addresses %v: want 127.0.0.1:49152 on", seen)
	}
}

func TestListenerClientAddressesStayDistinct(t *testing.T) {
	ln := memnet.NewListener(serverAddr)
	defer ln.Close()
	seen := map[string]bool{}
	for range 16384 + 2 {
		c, err := ln.Dial(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		s, _ := ln.Accept()
		a := c.LocalAddr().String()
		if seen[a] {
			t.Fatalf("address %s twice", a)
		}
		seen[a] = true
		c.Close()
		s.Close()
	}
	if !seen["127.0.0.2:49153"] {
		t.Error("connection 16386 is not 127.0.0.2:49153")
	}
}

func TestListenerClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := memnet.NewListener(serverAddr)
		accepted := make(chan error)
		go func() {
			_, err := ln.Accept()
			accepted <- err
		}()
		synctest.Wait() // Accept is durably blocked
		c1, _ := ln.Dial(context.Background())
		if err := <-accepted; err != nil {
			t.Fatalf("Accept: %v", err)
		}
		c2, _ := ln.Dial(context.Background()) // never accepted
		if err := ln.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
		}
		if err := ln.Close(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("second Close: %v, want net.ErrClosed", err)
		}
		if _, err := ln.Dial(context.Background()); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("Dial after Close: %v, want ECONNREFUSED", err)
		}
		// The accepted connection stays open; the one left in the backlog is reset.
		if _, err := c1.Write([]byte("x")); err != nil {
			t.Errorf("write on an accepted connection: %v", err)
		}
		if _, err := c2.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("read on a connection never accepted: %v, want ECONNRESET", err)
		}
		c1.Close()
		c2.Close()

		// Close ends an Accept that waits.
		ln2 := memnet.NewListener(serverAddr)
		go func() {
			_, err := ln2.Accept()
			accepted <- err
		}()
		synctest.Wait()
		ln2.Close()
		if err := <-accepted; !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept blocked during Close: %v, want net.ErrClosed", err)
		}
	})
}

func TestDialCancelled(t *testing.T) {
	ln := memnet.NewListener(serverAddr)
	defer ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ln.Dial(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Dial with a cancelled context: %v", err)
	}
}

// Both ends write before they read, more than once and in both directions
// at once, as a greeting server and a pipelining client do: nothing
// blocks while the data fits the buffers.
func TestPipeliningBothWays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := pipe(t)
		greeting := "220 hello\r\n"
		cmds := "EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"
		if _, err := s.Write([]byte(greeting)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte(cmds)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write([]byte("250 ok\r\n")); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 100)
		n, err := c.Read(got)
		if err != nil || string(got[:n]) != greeting+"250 ok\r\n" {
			t.Errorf("client read %q, %v", got[:n], err)
		}
		n, err = s.Read(got)
		if err != nil || string(got[:n]) != cmds {
			t.Errorf("server read %q, %v", got[:n], err)
		}
	})
}

// Much more than the buffer holds, both ways at once: each writer blocks
// until its reader catches up, and every octet arrives in order.
func TestLargeTransfersBothWays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := pipe(t)
		data := make([]byte, 3*memnet.BufferSize+12345)
		for i := range data {
			data[i] = byte(i * 7)
		}
		var wg sync.WaitGroup
		for _, pair := range [][2]*memnet.Conn{{c, s}, {s, c}} {
			w, r := pair[0], pair[1]
			wg.Add(2)
			go func() {
				defer wg.Done()
				if n, err := w.Write(data); n != len(data) || err != nil {
					t.Errorf("Write = %d, %v", n, err)
				}
				w.CloseWrite()
			}()
			go func() {
				defer wg.Done()
				got, err := readAll(r)
				if err != io.EOF || got != string(data) {
					t.Errorf("read %d octets (%v), want the %d written", len(got), err, len(data))
				}
			}()
		}
		wg.Wait()
	})
}

func TestReadDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := pipe(t)
		start := time.Now()
		s.SetReadDeadline(start.Add(30 * time.Second))
		_, err := s.Read(make([]byte, 10))
		if !isTimeout(err) {
			t.Fatalf("Read = %v, want a timeout", err)
		}
		if took := time.Since(start); took != 30*time.Second {
			t.Errorf("Read gave up after %v, want 30s", took)
		}
		// An expired deadline fails a Read even with data waiting, as on TCP.
		c.Write([]byte("hello"))
		if _, err := s.Read(make([]byte, 10)); !isTimeout(err) {
			t.Errorf("Read past the deadline = %v, want a timeout", err)
		}
		// No deadline: the data is there.
		s.SetReadDeadline(time.Time{})
		b := make([]byte, 10)
		if n, err := s.Read(b); err != nil || string(b[:n]) != "hello" {
			t.Errorf("Read = %q, %v", b[:n], err)
		}
	})
}

func TestDeadlineChangedWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, s := pipe(t)
		start := time.Now()
		s.SetReadDeadline(start.Add(time.Minute))
		done := make(chan error)
		go func() {
			_, err := s.Read(make([]byte, 1))
			done <- err
		}()
		time.Sleep(10 * time.Second)
		s.SetReadDeadline(start.Add(2 * time.Minute)) // later: the Read waits on
		time.Sleep(time.Minute)
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("Read returned %v before its extended deadline", err)
		default:
		}
		s.SetReadDeadline(time.Unix(1, 0)) // in the past: the Read returns now
		if err := <-done; !isTimeout(err) {
			t.Errorf("Read = %v, want a timeout", err)
		}
		if took := time.Since(start); took != 70*time.Second {
			t.Errorf("Read returned after %v, want 1m10s", took)
		}
	})
}

func TestWriteBlocksWhenTheBufferIsFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := pipe(t)
		start := time.Now()
		c.SetWriteDeadline(start.Add(time.Minute))
		n, err := c.Write(make([]byte, memnet.BufferSize+100))
		if n != memnet.BufferSize || !isTimeout(err) {
			t.Fatalf("Write = %d, %v; want %d and a timeout", n, err, memnet.BufferSize)
		}
		if took := time.Since(start); took != time.Minute {
			t.Errorf("Write gave up after %v, want 1m", took)
		}
		// A reader makes room: a Write without deadline completes.
		c.SetWriteDeadline(time.Time{})
		done := make(chan error)
		go func() {
			_, err := c.Write(make([]byte, 100))
			done <- err
		}()
		synctest.Wait() // the Write is durably blocked
		if _, err := io.ReadFull(s, make([]byte, memnet.BufferSize)); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Errorf("Write after the reader made room: %v", err)
		}
	})
}

func TestCloseWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := pipe(t)
		s.Write([]byte("421 bye\r\n"))
		if err := s.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		if got, err := readAll(c); got != "421 bye\r\n" || err != io.EOF {
			t.Errorf("client read %q, %v; want the reply, then EOF", got, err)
		}
		if _, err := s.Write([]byte("more")); !errors.Is(err, syscall.EPIPE) {
			t.Errorf("Write after CloseWrite: %v, want EPIPE", err)
		}
		// The half-closed end still reads.
		c.Write([]byte("QUIT\r\n"))
		c.Close()
		if got, err := readAll(s); got != "QUIT\r\n" || err != io.EOF {
			t.Errorf("server read %q, %v", got, err)
		}
	})
}

func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := pipe(t)
		s.Write([]byte("221 bye\r\n"))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if got, err := readAll(c); got != "221 bye\r\n" || err != io.EOF {
			t.Errorf("client read %q, %v; want the reply, then EOF", got, err)
		}
		// As over TCP: the first write to a closed peer is lost, the next fail.
		if n, err := c.Write([]byte("NOOP\r\n")); n != 6 || err != nil {
			t.Errorf("first Write to a closed peer = %d, %v", n, err)
		}
		if _, err := c.Write([]byte("NOOP\r\n")); !errors.Is(err, syscall.EPIPE) {
			t.Errorf("second Write to a closed peer: %v, want EPIPE", err)
		}
		for name, err := range map[string]error{
			"Read":          func() error { _, err := s.Read(make([]byte, 1)); return err }(),
			"Write":         func() error { _, err := s.Write([]byte("x")); return err }(),
			"Close":         s.Close(),
			"CloseWrite":    s.CloseWrite(),
			"SetDeadline":   s.SetDeadline(time.Now()),
			"SetLinger":     s.SetLinger(0),
			"SetReadDeadl.": s.SetReadDeadline(time.Time{}),
		} {
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("%s after Close: %v, want net.ErrClosed", name, err)
			}
		}
	})
}

// Close with data left unread resets the connection, as TCP stacks do:
// the peer reads what was written before, then the reset.
func TestCloseWithUnreadDataResets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := pipe(t)
		c.Write([]byte("QUIT\r\n")) // the server never reads it
		s.Write([]byte("421 bye\r\n"))
		s.Close()
		if got, err := readAll(c); got != "421 bye\r\n" || !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("read %q, %v; want the reply, then ECONNRESET", got, err)
		}
	})
}

// A reset is reported once, by the first Read (after the data written
// before it) or Write that meets it; then Read returns io.EOF and Write
// fails with EPIPE: what Linux does, measured over loopback TCP.
func TestReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := pipe(t)
		s.Write([]byte("250 ok\r\n"))
		reading := make(chan error)
		go func() {
			_, err := io.ReadFull(c, make([]byte, 100)) // blocked after the reply
			reading <- err
		}()
		synctest.Wait()
		c.Write([]byte("lost")) // written, never read by the server
		if err := s.SetLinger(0); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-reading; !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("blocked Read = %v, want ECONNRESET", err)
		}
		var oe *net.OpError
		if n, err := c.Read(make([]byte, 100)); n != 0 || err != io.EOF {
			t.Errorf("Read after the reset was reported = %d, %v; want io.EOF", n, err)
		}
		if _, err := c.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) || !errors.As(err, &oe) || oe.Op != "write" || oe.Net != "tcp" {
			t.Errorf("Write after the reset was reported = %#v, want a *net.OpError with EPIPE", err)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		c, s := pipe(t)
		s.Write([]byte("250 ok\r\n"))
		s.SetLinger(0)
		s.Close()
		// Write first: it reports the reset; the data is still there.
		if _, err := c.Write([]byte("x")); !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("first Write = %v, want ECONNRESET", err)
		}
		if _, err := c.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
			t.Errorf("second Write = %v, want EPIPE", err)
		}
		if got, err := readAll(c); got != "250 ok\r\n" || err != io.EOF {
			t.Errorf("read %q, %v; want the reply, then io.EOF", got, err)
		}
	})
}

// A linger other than 0 closes normally.
func TestLingerNotZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := pipe(t)
		s.Write([]byte("221 bye\r\n"))
		s.SetLinger(5)
		s.Close()
		if got, err := readAll(c); got != "221 bye\r\n" || err != io.EOF {
			t.Errorf("read %q, %v", got, err)
		}
	})
}

// Close from another goroutine ends a blocked Read and a blocked Write of
// the same end, at once.
func TestConcurrentClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _ := pipe(t)
		errs := make(chan error, 2)
		go func() {
			_, err := c.Read(make([]byte, 1))
			errs <- err
		}()
		go func() {
			_, err := c.Write(make([]byte, memnet.BufferSize+1))
			errs <- err
		}()
		synctest.Wait()
		start := time.Now()
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() { c.Close() })
		}
		wg.Wait()
		for range 2 {
			if err := <-errs; !errors.Is(err, net.ErrClosed) {
				t.Errorf("blocked call = %v, want net.ErrClosed", err)
			}
		}
		if time.Since(start) != 0 {
			t.Errorf("Close took %v of the bubble's time", time.Since(start))
		}
	})
}

// Reads and writes from many goroutines at once, for the race detector.
func TestConcurrentReadsAndWrites(t *testing.T) {
	c, s := pipe(t)
	const writers, each = 8, 1000
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				if _, err := c.Write([]byte("0123456789")); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	total := make(chan int)
	go func() {
		n := 0
		b := make([]byte, 333)
		for n < writers*each*10 {
			k, err := s.Read(b)
			if err != nil {
				t.Error(err)
				break
			}
			n += k
		}
		total <- n
	}()
	wg.Wait()
	if n := <-total; n != writers*each*10 {
		t.Errorf("read %d octets, want %d", n, writers*each*10)
	}
}

func TestEmptyReadAndWrite(t *testing.T) {
	c, s := pipe(t)
	if n, err := c.Write(nil); n != 0 || err != nil {
		t.Errorf("Write(nil) = %d, %v", n, err)
	}
	if n, err := s.Read(nil); n != 0 || err != nil {
		t.Errorf("Read(nil) = %d, %v", n, err)
	}
}

// Outside a bubble, deadlines run on the real clock.
func TestRealClockDeadline(t *testing.T) {
	_, s := pipe(t)
	start := time.Now()
	s.SetReadDeadline(start.Add(20 * time.Millisecond))
	if _, err := s.Read(make([]byte, 1)); !isTimeout(err) {
		t.Fatalf("Read = %v, want a timeout", err)
	}
	if took := time.Since(start); took < 20*time.Millisecond {
		t.Errorf("Read gave up after %v, before its deadline", took)
	}
}

// Writes around the buffer size, with nobody reading: up to BufferSize
// octets go in at once, the rest wait for the reader.
func TestBufferBoundaries(t *testing.T) {
	const n = memnet.BufferSize
	for _, size := range []int{n - 1, n, n + 1, 2 * n} {
		synctest.Test(t, func(t *testing.T) {
			c, s := pipe(t)
			data := make([]byte, size)
			for i := range data {
				data[i] = byte(i % 251)
			}
			c.SetWriteDeadline(time.Now().Add(time.Second))
			k, err := c.Write(data)
			if want := min(size, n); k != want || (size > n) != isTimeout(err) {
				t.Errorf("Write(%d) = %d, %v; want %d, a timeout only past %d", size, k, err, want, n)
			}
			c.SetWriteDeadline(time.Time{})
			go func() {
				c.Write(data[k:])
				c.CloseWrite()
			}()
			if got, err := readAll(s); got != string(data) || err != io.EOF {
				t.Errorf("read %d octets, %v; want the %d written", len(got), err, size)
			}
		})
	}
}

// Pending says whether a Read would return at once: not on a quiet
// connection; yes with data queued, after the peer's close (io.EOF) and
// after this end's own close.
func TestPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := pipe(t)
		if s.Pending() {
			t.Error("Pending on a quiet connection")
		}
		if _, err := c.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if !s.Pending() {
			t.Error("not Pending with an octet queued")
		}
		if _, err := s.Read(make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
		if s.Pending() {
			t.Error("Pending once the octet was read")
		}
		c.Close()
		if !s.Pending() {
			t.Error("not Pending after the peer's close")
		}
		if _, err := s.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("Read after the peer's close: %v, want io.EOF", err)
		}
		s.Close()
		if !s.Pending() {
			t.Error("not Pending after its own close")
		}
	})
}
