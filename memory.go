package mocksmtp

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/mocksmtp/mocksmtp/internal/memnet"
)

// inMemoryAddr is the address of every in-memory server: 127.0.0.1, so
// that clients treat it as the loopback (net/smtp sends PLAIN without TLS
// to it, the test certificate is valid for it), and port 1, where nothing
// listens, so that a client that dials it over TCP by mistake is refused
// at once instead of reaching a real mail server.
var inMemoryAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}

// WithInMemory makes the server listen in memory instead of on TCP:
// clients connect with [Server.Dial] or [Server.DialContext], which return
// connections that behave as TCP ones do for SMTP (buffered both ways,
// read and write deadlines, half close, reset), so every fault acts as it
// does over TCP.
//
// Its use is fake time. Inside a testing/synctest bubble, the server runs
// on the bubble's clock: fault delays, stalls and idle replies, the read
// timeout, [Server.Close] and the waits all take bubble time, which
// passes at once whenever every goroutine of the bubble waits. A client
// that backs off for minutes, a greylisting server that wants a retry
// after 5 minutes, a client timing out after 30 s against a stalled
// server: each is tested in microseconds, with exact durations in
// Session.Start and Session.End. Start the server inside the bubble (its
// goroutines then belong to it, and end with [Server.Close] at the
// test's cleanup; a dial across the bubble's edge, to a server started
// outside it or from outside to one started inside, is refused, see
// [Server.DialContext]; and New refuses a server on TCP inside a bubble,
// whose goroutines waiting on the network would stop the bubble's clock):
//
//	synctest.Test(t, func(t *testing.T) {
//		srv := mocksmtp.Start(t, mocksmtp.WithInMemory())
//		client := mailer.New(mailer.Config{Dial: srv.DialContext})
//		...
//	})
//
// In memory, [Server.Addr] is "127.0.0.1:1", the same for every server:
// no client reaches the server through it, and reports name the server
// "in memory" instead. Sessions record distinct client
// addresses, 127.0.0.1:49152 for the first connection, 127.0.0.1:49153
// for the next, and so on. It is an error to give [WithListenAddr] too.
//
// The code under test must let the test choose how it connects (a dial
// function, as go-mail's WithDialContextFunc and net/http's Transport
// take). Programs that dial by themselves, such as swaks, and the mocksmtp
// program need TCP.
func WithInMemory() Option {
	return optionFunc(func(o *options) error {
		o.inMemory = true
		return nil
	})
}

// listen returns the server's listener: TCP on o.addr, or in memory.
func (o *options) listen() (net.Listener, error) {
	if !o.inMemory && memnet.InBubble() {
		// Its goroutines would wait on the network, which a bubble never
		// counts as durably blocked: the bubble's clock would never move,
		// and the first timer (a wait's timeout, a fault's delay, Close's
		// drain) would hang the test without a word.
		return nil, errTCPInBubble
	}
	if !o.inMemory {
		// No TCP keep-alive on sessions: the read timeout ends a session
		// whose client went away (smtpd.Config.ReadTimeout), and the
		// probes' four socket options a connection cost a fresh server's
		// every session. Plain TCP, not the Multipath TCP that Go's
		// listeners take by default where the kernel has it (Go 1.24):
		// a test's server on loopback has no second path to use, and an
		// MPTCP listener costs the kernel a socket more to open and to
		// close, about a third of a fresh server's Start and Close.
		lc := net.ListenConfig{KeepAlive: -1}
		lc.SetMultipathTCP(false)
		ln, err := lc.Listen(context.Background(), "tcp", o.addr)
		if err != nil {
			return nil, fmt.Errorf("mocksmtp: listen: %w", err)
		}
		return ln, nil
	}
	if o.addrSet {
		return nil, errors.New("mocksmtp: WithInMemory and WithListenAddr: an in-memory server has no address to listen on; choose one")
	}
	return memnet.NewListener(inMemoryAddr), nil
}

// errTCPInBubble is why New refuses a server on TCP inside a
// testing/synctest bubble.
var errTCPInBubble = errors.New("mocksmtp: a server on TCP inside a testing/synctest bubble would stop the bubble's clock (a goroutine waiting on the network is never durably blocked), and the first timer would hang the test: use WithInMemory and srv.DialContext, or start the server outside synctest.Test")

// place says where the server is, for the texts a user reads: "at
// 127.0.0.1:41987", or "in memory", whose address no client reaches.
func (s *Server) place() string {
	if s.opts.inMemory {
		return "in memory"
	}
	return "at " + s.Addr()
}

// noClient is the line of a report that says no client connected, and,
// for a server in memory, how a client does: the usual cause is code
// under test that dials srv.Addr() over TCP.
func (s *Server) noClient() string {
	if s.opts.inMemory {
		return fmt.Sprintf("no client connected to the server in memory: a client connects with Server.Dial or Server.DialContext (a TCP dial to its Addr, %s, is refused).", s.Addr())
	}
	return fmt.Sprintf("no client connected to %s.", s.Addr())
}

// bubbleWaitHint returns, for a wait of a test that its timeout ended
// (err) inside a testing/synctest bubble while no session was open, the
// last line of its report: the timeout was the bubble's time, which
// passes at once while a client waits between two tries, so that a
// backoff longer than it is missed without a transcript that shows why;
// WithWaitTimeout gives the wait longer. It returns "" otherwise.
func (s *Server) bubbleWaitHint(err error) string {
	if !s.opts.inMemory || !errors.Is(err, context.DeadlineExceeded) || !memnet.InBubble() {
		return ""
	}
	s.mu.Lock()
	between := len(s.sessions) > 0 && s.live == 0
	s.mu.Unlock()
	if !between {
		return ""
	}
	return fmt.Sprintf("\nthe wait's %v are of the bubble's clock, and no session was open when they ran out: a client that backs off longer than that before its next try comes after the wait; WithWaitTimeout gives it longer (an hour costs nothing in the bubble)", s.opts.waitTimeout)
}

// errOtherClock refuses a dial to a server in memory from inside a
// testing/synctest bubble when the server was started outside it, or
// from outside when it was started inside one (memnet.ErrOtherClock).
var errOtherClock = errors.New("mocksmtp: Dial: the server in memory and this dial are on different clocks, one inside a testing/synctest bubble and the other outside: start the server inside synctest.Test, where the code that dials it runs")

// Dial connects to the server, in memory with [WithInMemory] and
// otherwise over TCP to [Server.Addr]. See [Server.DialContext].
func (s *Server) Dial() (net.Conn, error) {
	return s.DialContext(context.Background(), "tcp", s.Addr())
}

// DialContext connects to the server: in memory with [WithInMemory], and
// otherwise over TCP to [Server.Addr]. It has the signature of
// [net.Dialer.DialContext], so that it plugs into clients that take a
// dial function, such as go-mail's WithDialContextFunc:
//
//	gomail.NewClient(srv.Host(), gomail.WithPort(srv.Port()), gomail.WithDialContextFunc(srv.DialContext),
//		gomail.WithTLSPolicy(gomail.NoTLS)) // or WithSTARTTLS on the server: go-mail's default policy requires it
//
// Every dial reaches this server, whatever address it is given, as
// net/http/httptest's in-memory client does: the host and port a client
// is configured with then only matter for what it says (the name it
// verifies the certificate for). network must be "tcp", "tcp4" or
// "tcp6". A dial after [Server.Close] is refused (ECONNREFUSED). A dial
// to an in-memory server from inside a testing/synctest bubble when the
// server was started outside it, or from outside when it was started
// inside one, is refused with an error that says so: the connection's
// two ends would wait on different clocks.
//
// A connection to an in-memory server completes without waiting for the
// server, as a TCP connection completes in the listener's backlog. The
// caller closes the connection.
func (s *Server) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("mocksmtp: Dial: network %q: want tcp, tcp4 or tcp6", network)}
	}
	if ln, ok := s.ln.(*memnet.Listener); ok {
		c, err := ln.Dial(ctx)
		if errors.Is(err, memnet.ErrOtherClock) {
			return nil, &net.OpError{Op: "dial", Net: network, Addr: inMemoryAddr, Err: errOtherClock}
		}
		if err != nil {
			return nil, err // not a nil *memnet.Conn in a non-nil net.Conn
		}
		return c, nil
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", s.Addr())
}
