package mocksmtp_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/internal/smtpload"
)

// The benchmarks here measure what users pay for: starting and closing a
// server, and recording messages. They are correct at any b.N, including
// the single iteration CI runs (-benchtime=1x), and never judge a time:
// each checks that the server recorded every message it was sent.

// benchTimeout bounds every network wait of a benchmark, so that a broken
// server fails the benchmark instead of hanging it.
const benchTimeout = 30 * time.Second

// benchMessage returns a message of about size octets: a few headers and
// lines of plain text, CRLF-terminated, with no line that needs
// dot-stuffing.
func benchMessage(size int) []byte {
	var b strings.Builder
	b.WriteString("From: Alice <alice@example.com>\r\nTo: bob@example.com\r\n" +
		"Subject: Benchmark\r\nDate: Mon, 02 Jan 2006 15:04:05 -0700\r\n" +
		"Message-ID: <bench@example.com>\r\n\r\n")
	const line = "The quick brown fox jumps over the lazy dog, again and again.\r\n"
	for b.Len()+len(line) <= size {
		b.WriteString(line)
	}
	for b.Len() < size-2 {
		b.WriteByte('x')
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// dialBench connects with the benchmarks' SMTP client, reads the
// greeting and says EHLO, every wait bounded by benchTimeout.
func dialBench(addr string) (*smtpload.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
	defer cancel()
	return smtpload.Dial(ctx, addr)
}

// BenchmarkLifecycle measures what a test pays for a server: start it, one
// client session (greeting, EHLO, QUIT), close it. The httptest case is
// the reference: net/http/httptest's NewServer, one request, Close.
func BenchmarkLifecycle(b *testing.B) {
	b.Run("mocksmtp", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			smtpLifecycle(b, false)
		}
	})
	b.Run("httptest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			httpLifecycle(b)
		}
	})
	// The floor alone, as mocksmtp and httptest above: run alone, each
	// lifecycle meets caches warm with its own code and a runtime left
	// idle by the one before; side by side (below), with the others'.
	b.Run("floor", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			floorLifecycle(b)
		}
	})
	b.Run("mocksmtp-STARTTLS", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			smtpLifecycle(b, true)
		}
	})
	b.Run("httptest-TLS", func(b *testing.B) {
		b.ReportAllocs()
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
		for b.Loop() {
			srv := httptest.NewTLSServer(h)
			pool := x509.NewCertPool()
			pool.AddCert(srv.Certificate())
			if err := httpsGet(srv.Listener.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "example.com"}); err != nil {
				b.Fatal(err)
			}
			srv.Close()
		}
	})
	// Side by side: each op runs the three lifecycles, each first in
	// turn, so that all meet the same machine (a loaded CPU, a kernel
	// short of free ports after a run that left thousands in TIME_WAIT).
	// The metric mocksmtp/httptest is the ratio of their times;
	// floor/httptest is that of the least an SMTP server can do (see
	// floorLifecycle), and mocksmtp/floor what mocksmtp costs above it.
	b.Run("mocksmtp-vs-httptest", func(b *testing.B) {
		var times [3]time.Duration
		lifecycles := [3]func(testing.TB){
			func(tb testing.TB) { smtpLifecycle(tb, false) },
			httpLifecycle,
			floorLifecycle,
		}
		n := 0
		for b.Loop() {
			for i := range lifecycles {
				j := (n + i) % len(lifecycles)
				start := time.Now()
				lifecycles[j](b)
				times[j] += time.Since(start)
			}
			n++
		}
		b.ReportMetric(float64(times[0].Nanoseconds())/float64(n), "mocksmtp-ns/op")
		b.ReportMetric(float64(times[1].Nanoseconds())/float64(n), "httptest-ns/op")
		b.ReportMetric(float64(times[2].Nanoseconds())/float64(n), "floor-ns/op")
		b.ReportMetric(times[0].Seconds()/times[1].Seconds(), "mocksmtp/httptest")
		b.ReportMetric(times[2].Seconds()/times[1].Seconds(), "floor/httptest")
		b.ReportMetric(times[0].Seconds()/times[2].Seconds(), "mocksmtp/floor")
	})
	// A session only (greeting, EHLO, QUIT), against a server started
	// once, in turn with the same session against the floor's responder.
	b.Run("session-vs-floor", func(b *testing.B) {
		srv, err := mocksmtp.New(mocksmtp.WithRetention(10))
		if err != nil {
			b.Fatal(err)
		}
		defer srv.Close()
		floor, err := startFloor()
		if err != nil {
			b.Fatal(err)
		}
		defer floor.Close()
		var times [2]time.Duration
		addrs := [2]string{srv.Addr(), floor.Addr()}
		n := 0
		for b.Loop() {
			for i := range addrs {
				j := (n + i) % len(addrs)
				start := time.Now()
				c, err := dialBench(addrs[j])
				if err != nil {
					b.Fatal(err)
				}
				if err := c.Quit(); err != nil {
					b.Fatal(err)
				}
				times[j] += time.Since(start)
			}
			n++
		}
		b.ReportMetric(float64(times[0].Nanoseconds())/float64(n), "mocksmtp-ns/op")
		b.ReportMetric(float64(times[1].Nanoseconds())/float64(n), "floor-ns/op")
	})
	b.Run("mocksmtp-idle", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			srv, err := mocksmtp.New()
			if err != nil {
				b.Fatal(err)
			}
			if err := srv.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("httptest-idle", func(b *testing.B) {
		b.ReportAllocs()
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
		for b.Loop() {
			httptest.NewServer(h).Close()
		}
	})
}

// smtpLifecycle starts a server (WithSTARTTLS when startTLS), runs one
// session (greeting, EHLO, STARTTLS when startTLS, QUIT) and closes it.
func smtpLifecycle(b testing.TB, startTLS bool) {
	var opts []mocksmtp.Option
	if startTLS {
		opts = append(opts, mocksmtp.WithSTARTTLS())
	}
	srv, err := mocksmtp.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	c, err := dialBench(srv.Addr())
	if err != nil {
		b.Fatal(err)
	}
	if startTLS {
		if err := c.StartTLS(srv.ClientTLSConfig()); err != nil {
			b.Fatal(err)
		}
	}
	if err := c.Quit(); err != nil {
		b.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		b.Fatal(err)
	}
}

// okHandler answers every request "ok".
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })

// httpLifecycle is smtpLifecycle's reference: httptest.NewServer, one
// request, Close.
func httpLifecycle(b testing.TB) {
	srv := httptest.NewServer(okHandler)
	if err := httpGet(srv.Listener.Addr().String()); err != nil {
		b.Fatal(err)
	}
	srv.Close()
}

// floorLifecycle is smtpLifecycle's session against the least an SMTP
// server can be (startFloor), started and closed around it.
func floorLifecycle(b testing.TB) {
	floor, err := startFloor()
	if err != nil {
		b.Fatal(err)
	}
	c, err := dialBench(floor.Addr())
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		b.Fatal(err)
	}
	floor.Close()
}

// floorServer is the least an SMTP server can be: a listener on plain TCP
// (as mocksmtp's; Go's listeners default to Multipath TCP, which costs
// more), and, per connection, a goroutine that writes the greeting,
// answers the next two lines with an EHLO reply and 221, and closes,
// recording nothing. No SMTP server can take less for a session.
type floorServer struct {
	ln net.Listener
	wg sync.WaitGroup
}

// startFloor starts a floorServer on a free port of 127.0.0.1.
func startFloor() (*floorServer, error) {
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &floorServer{ln: ln}
	f.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			f.wg.Go(func() { floorSession(conn) })
		}
	})
	return f, nil
}

// floorSession answers one session: greeting, EHLO reply, 221.
func floorSession(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(benchTimeout))
	r := bufio.NewReader(conn)
	for _, reply := range []string{
		"220 floor ESMTP\r\n",
		"250-floor\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
		"221 2.0.0 Bye\r\n",
	} {
		if _, err := io.WriteString(conn, reply); err != nil {
			return
		}
		if reply[:3] != "221" {
			if _, err := r.ReadSlice('\n'); err != nil {
				return
			}
		}
	}
}

// Addr is the address the floor listens on.
func (f *floorServer) Addr() string { return f.ln.Addr().String() }

// Close stops accepting and waits for every session to end.
func (f *floorServer) Close() {
	f.ln.Close()
	f.wg.Wait()
}

// httpGet sends one request over a fresh connection, as a client of a
// fresh server would, and reads the response to the end.
func httpGet(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, benchTimeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	return httpRoundTrip(conn)
}

// httpsGet is httpGet over TLS.
func httpsGet(addr string, cfg *tls.Config) error {
	conn, err := net.DialTimeout("tcp", addr, benchTimeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	tc := tls.Client(conn, cfg)
	defer tc.Close()
	return httpRoundTrip(tc)
}

// httpRoundTrip sends one request over conn and reads the response.
func httpRoundTrip(conn net.Conn) error {
	_ = conn.SetDeadline(time.Now().Add(benchTimeout))
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// checkRecorded fails b unless the server recorded exactly n messages of
// size octets each.
func checkRecorded(b *testing.B, srv *mocksmtp.Server, n, size int) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
	defer cancel()
	msgs, err := srv.WaitForMessagesContext(ctx, n)
	if err != nil {
		b.Fatal(err)
	}
	if len(msgs) != n {
		b.Fatalf("recorded %d messages, sent %d", len(msgs), n)
	}
	for _, m := range msgs {
		if len(m.Raw) != size {
			b.Fatalf("message %d: recorded %d octets, sent %d", m.ID, len(m.Raw), size)
		}
	}
}

// BenchmarkSendSequential sends 4 KiB messages one after the other over
// one connection, the way an application's mailer does, with full
// recording: transcript, raw message and parsed MIME.
func BenchmarkSendSequential(b *testing.B) {
	sendEach(b, benchMessage(4<<10))
}

// sendEach starts a server with opts and sends msg over one connection
// once per op of b (SetBytes: its size), then checks that every message
// was recorded, byte for byte. The server closes when b ends.
func sendEach(b *testing.B, msg []byte, opts ...mocksmtp.Option) *mocksmtp.Server {
	b.Helper()
	srv, err := mocksmtp.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	c, err := dialServer(srv)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	n := 0
	for b.Loop() {
		_ = c.Conn.SetDeadline(time.Now().Add(benchTimeout))
		if err := c.Send(msg); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if err := c.Quit(); err != nil {
		b.Fatal(err)
	}
	checkRecorded(b, srv, n, len(msg))
	return srv
}

// BenchmarkOnMessageLongSession is BenchmarkSendSequential with a
// WithOnMessage callback, as the mocksmtp program runs without -quiet:
// one session of b.N messages. Each message's snapshot costs the same
// however many came before it in the session (its Session has no
// transcript), so ns/op and B/op stay flat as b.N grows; with the
// session's transcript in each, they grew with b.N (2,000 messages
// allocated 2.3 GB).
func BenchmarkOnMessageLongSession(b *testing.B) {
	var session atomic.Int64
	sendEach(b, benchMessage(4<<10), mocksmtp.WithOnMessage(func(m *mocksmtp.Message) { session.Store(int64(m.Session.ID)) }))
	if session.Load() != 1 {
		b.Fatalf("the callback saw session %d, want 1", session.Load())
	}
}

// BenchmarkWaitForSessionEnd measures a session of b.N 4 KiB messages
// (one op is one message) while a test waits for its end: with
// WaitForSessionEnd, woken only when a session starts or ends, and, for
// comparison, with WaitUntil on Session(1), which copies the whole
// session (every message of it) at each transcript line. The first costs
// the session nothing; the second grows with the session.
func BenchmarkWaitForSessionEnd(b *testing.B) {
	for _, tc := range []struct {
		name string
		wait func(ctx context.Context, srv *mocksmtp.Server) error
	}{
		{"none", nil},
		{"WaitForSessionEnd", func(ctx context.Context, srv *mocksmtp.Server) error {
			_, err := srv.WaitForSessionEndContext(ctx, 1)
			return err
		}},
		{"WaitUntil-Session", func(ctx context.Context, srv *mocksmtp.Server) error {
			return srv.WaitUntilContext(ctx, func() bool {
				s := srv.Session(1)
				return s != nil && s.Ended != mocksmtp.Live
			})
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv, err := mocksmtp.New()
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			c, err := dialServer(srv)
			if err != nil {
				b.Fatal(err)
			}
			waited := make(chan error, 1)
			if tc.wait != nil {
				ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
				defer cancel()
				go func() { waited <- tc.wait(ctx, srv) }()
			} else {
				waited <- nil
			}
			msg := benchMessage(4 << 10)
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				_ = c.Conn.SetDeadline(time.Now().Add(benchTimeout))
				if err := c.Send(msg); err != nil {
					b.Fatal(err)
				}
			}
			if err := c.Quit(); err != nil {
				b.Fatal(err)
			}
			if err := <-waited; err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkSendConcurrent sends 4 KiB messages from 8 clients at once;
// one op is one message. "persistent": each client sends all its
// messages over one connection; "connection-per-message": each message
// is a whole session (connect, greeting, EHLO, message, QUIT), as
// smtp-source sends by default.
func BenchmarkSendConcurrent(b *testing.B) {
	b.Run("persistent", func(b *testing.B) { benchConcurrent(b, true) })
	b.Run("connection-per-message", func(b *testing.B) { benchConcurrent(b, false) })
}

func benchConcurrent(b *testing.B, persistent bool) {
	const clients = 8
	msg := benchMessage(4 << 10)
	srv, err := mocksmtp.New()
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	work := make(chan struct{})
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c *smtpload.Client
			var err error
			for range work {
				if err != nil {
					continue // drain the work, report the first error
				}
				if c == nil {
					if c, err = dialBench(srv.Addr()); err != nil {
						continue
					}
				}
				_ = c.Conn.SetDeadline(time.Now().Add(benchTimeout))
				if err = c.Send(msg); err == nil && !persistent {
					err = c.Quit()
					c = nil
				}
			}
			if c != nil {
				if err == nil {
					err = c.Quit()
				} else {
					c.Conn.Close()
				}
			}
			errs <- err
		}()
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	n := 0
	for b.Loop() {
		work <- struct{}{}
		n++
	}
	close(work)
	wg.Wait()
	for range clients {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	checkRecorded(b, srv, n, len(msg))
}

// fill sends n copies of msg over one connection, pipelined (the writer
// does not wait for replies), which stores messages as fast as the server
// takes them.
func fill(srv *mocksmtp.Server, n int, msg []byte) error {
	conn, err := net.DialTimeout("tcp", srv.Addr(), benchTimeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Minute))
	c := smtpload.New(conn, 64<<10)
	if err := c.Expect(220); err != nil {
		return err
	}
	if err := c.Cmd("EHLO bench.example.com", 250); err != nil {
		return err
	}
	werr := make(chan error, 1)
	go func() {
		for range n {
			c.W.WriteString("MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n")
			c.W.Write(msg)
			c.W.WriteString(".\r\n")
		}
		c.W.WriteString("QUIT\r\n")
		werr <- c.W.Flush()
	}()
	for range n {
		for _, code := range []int{250, 250, 354, 250} {
			if err := c.Expect(code); err != nil {
				conn.Close()
				<-werr
				return err
			}
		}
	}
	if err := c.Expect(221); err != nil {
		return err
	}
	return <-werr
}

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// heapPerMessage sends msg to a server made with opts, over one session
// or (perConn) a session for each message, warm times first so that what
// is allocated once is not counted, then once per op, and returns the
// server and the heap that stayed in use per message sent in the loop
// (after a full collection) and how many that was. One op is one
// message.
func heapPerMessage(b *testing.B, msg []byte, warm int, perConn bool, opts ...mocksmtp.Option) (srv *mocksmtp.Server, perMsg float64, n int) {
	srv, err := mocksmtp.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	var c *smtpload.Client
	send := func() {
		if c == nil {
			if c, err = dialBench(srv.Addr()); err != nil {
				b.Fatal(err)
			}
		}
		_ = c.Conn.SetDeadline(time.Now().Add(benchTimeout))
		if err := c.Send(msg); err != nil {
			b.Fatal(err)
		}
		if perConn {
			if err := c.Quit(); err != nil {
				b.Fatal(err)
			}
			c = nil
		}
	}
	for range warm {
		send()
	}
	before := heapInUse()
	b.ReportAllocs()
	for b.Loop() {
		send()
		n++
	}
	b.StopTimer()
	if perConn {
		// The last session ends after the server read the client's close
		// (the earlier ones did before it started). A snapshot of one
		// session, not of all: reading messages parses them, and the
		// parses last read are held for a while.
		ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
		defer cancel()
		if err := srv.WaitUntilContext(ctx, func() bool { return srv.LastSessions(1)[0].Ended != mocksmtp.Live }); err != nil {
			b.Fatal(err)
		}
	}
	after := heapInUse()
	if c != nil {
		if err := c.Quit(); err != nil {
			b.Fatal(err)
		}
	}
	return srv, float64(int64(after)-int64(before)) / float64(n), n
}

// BenchmarkStoredMessageHeap measures the heap a stored 4 KiB message
// costs, with full recording, as the metric heap-B/msg and as a ratio to
// the message's size (heap/size): over one session, and with a session
// for each message, whose record and transcript count too. One op is
// storing one message.
func BenchmarkStoredMessageHeap(b *testing.B) {
	msg := benchMessage(4 << 10)
	for _, perConn := range []bool{false, true} {
		name := "one-session"
		if perConn {
			name = "connection-per-message"
		}
		b.Run(name, func(b *testing.B) {
			srv, per, n := heapPerMessage(b, msg, 1, perConn)
			checkRecorded(b, srv, n+1, len(msg))
			b.ReportMetric(per, "heap-B/msg")
			b.ReportMetric(per/float64(len(msg)), "heap/size")
		})
	}
}

// BenchmarkRetainedLongSession measures what one endless session costs the
// heap per message under WithRetention(100): it stays near zero, as the
// server forgets old messages and the transcript lines, findings and
// faults that go with them. One op is one message.
func BenchmarkRetainedLongSession(b *testing.B) {
	srv, per, _ := heapPerMessage(b, benchMessage(4<<10), 200, false, mocksmtp.WithRetention(100))
	if _, kept := srv.Count(); kept != 100 {
		b.Fatalf("the server keeps %d messages, want 100", kept)
	}
	b.ReportMetric(per, "heap-B/msg")
}

// BenchmarkStored measures how the cost of the server grows with the
// number of messages it holds: storing the next message (fill-ns/msg,
// with a waiter waiting for them all) and taking a snapshot of them all
// (one op: Messages), at 1k, 10k and 100k stored messages. Both are
// linear when ns/op divided by the count and fill-ns/msg stay flat.
func BenchmarkStored(b *testing.B) {
	msg := benchMessage(256)
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("messages=%dk", n/1000), func(b *testing.B) {
			srv, err := mocksmtp.New()
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			waited := make(chan error, 1)
			go func() {
				_, err := srv.WaitForMessagesContext(ctx, n)
				waited <- err
			}()
			start := time.Now()
			if err := fill(srv, n, msg); err != nil {
				b.Fatal(err)
			}
			if err := <-waited; err != nil {
				b.Fatal(err)
			}
			fillPer := float64(time.Since(start).Nanoseconds()) / float64(n)
			b.ReportAllocs()
			for b.Loop() {
				if got := len(srv.Messages()); got != n {
					b.Fatalf("Messages() returned %d, want %d", got, n)
				}
			}
			b.ReportMetric(fillPer, "fill-ns/msg")
		})
	}
}

// BenchmarkWaitEachMessage measures a test that waits for each message in
// turn, WaitForMessages(t, i) after the i-th send, over 1,000 messages of
// one session (one op). Each wait returns all i messages, as snapshots of
// their own: the loop copies n²/2 messages, which the metric
// ns/msg-returned divides out.
func BenchmarkWaitEachMessage(b *testing.B) {
	const n = 1000
	msg := benchMessage(4 << 10)
	b.ReportAllocs()
	returned := 0
	for b.Loop() {
		srv, err := mocksmtp.New()
		if err != nil {
			b.Fatal(err)
		}
		c, err := dialBench(srv.Addr())
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
		for i := 1; i <= n; i++ {
			if err := c.Send(msg); err != nil {
				b.Fatal(err)
			}
			ms, err := srv.WaitForMessagesContext(ctx, i)
			if err != nil || len(ms) != i {
				b.Fatalf("wait for %d: %d messages, %v", i, len(ms), err)
			}
			returned += len(ms)
		}
		cancel()
		if err := c.Quit(); err != nil {
			b.Fatal(err)
		}
		srv.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(returned), "ns/msg-returned")
}

// BenchmarkRemoveFaults removes the faults of one AddRemovableFault call
// of 10,000 faults from a script that has 10,000 others: the remove
// holds the server's lock, which every session's event with faults
// takes, so it is to be linear in the script, not its product with the
// batch.
func BenchmarkRemoveFaults(b *testing.B) {
	srv, err := mocksmtp.New()
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	const n = 10000
	faults := make([]mocksmtp.Fault, n)
	for i := range faults {
		faults[i] = mocksmtp.At(mocksmtp.StageRcpt).ForRcpt(fmt.Sprintf("u%d@example.com", i)).Reply(550, "5.1.1 no")
	}
	if err := srv.AddFault(faults...); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		remove, err := srv.AddRemovableFault(faults...)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		remove()
	}
}
