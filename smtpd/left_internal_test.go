package smtpd

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp/internal/testcert"
)

// A client that closed before the driver's context ended is gone, also
// when the session's goroutine comes to look late, as on a loaded
// machine: beforeProbe makes every look later than probeBound. Over TCP
// and implicit TLS (whose close_notify comes before the FIN).
func TestClientGoneSeenByALateGoroutine(t *testing.T) {
	cert, pool := selfSignedCert(t)
	late := 2 * probeBound
	defer func(f func()) { beforeProbe = f }(beforeProbe)
	// Not a wait for a condition: the goroutine that looks is late, as a
	// busy machine's scheduler makes it.
	beforeProbe = func() { time.Sleep(late) }
	for _, tc := range []struct {
		name string
		cfg  Config
		dial func(addr string) (net.Conn, error)
	}{
		{"tcp", Config{}, func(addr string) (net.Conn, error) { return net.Dial("tcp", addr) }},
		{"implicit TLS", Config{ImplicitTLS: true, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}},
			func(addr string) (net.Conn, error) {
				return tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "localhost"})
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			for range 5 {
				ctx, cancel := context.WithCancel(context.Background())
				conns := make(chan *Conn, 1)
				done := make(chan error, 1)
				go func() {
					nc, err := ln.Accept()
					if err != nil {
						conns <- nil
						done <- err
						return
					}
					c := NewConn(nc, tc.cfg)
					conns <- c
					for {
						if _, err := c.Next(ctx); err != nil {
							done <- err
							return
						}
					}
				}()
				cl, err := tc.dial(ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				c := <-conns
				if c == nil {
					t.Fatal(<-done)
				}
				if _, err := bufio.NewReader(cl).ReadString('\n'); err != nil { // the greeting: Next now reads
					t.Fatal(err)
				}
				cl.Close()
				cancel()
				if err := <-done; !errors.Is(err, ErrClientGone) {
					t.Errorf("Next after the client closed, then the context ended, looked at %v late: %v, want %v", late, err, ErrClientGone)
				}
				c.Close(nil)
			}
		})
	}
}

// heldConn holds what is written while hold is set and sends it in one
// write at release: two TLS records in one TCP segment, which the
// server reads in one read.
type heldConn struct {
	net.Conn
	hold bool
	buf  []byte
}

func (h *heldConn) Write(p []byte) (int, error) {
	if h.hold {
		h.buf = append(h.buf, p...)
		return len(p), nil
	}
	return h.Conn.Write(p)
}

func (h *heldConn) release() error {
	h.hold = false
	_ = h.Conn.SetWriteDeadline(time.Time{}) // CloseWrite's, now past
	_, err := h.Conn.Write(h.buf)
	return err
}

// A TLS client that sent a command and its close_notify (the end of its
// input: tls.Conn.CloseWrite) before the driver's context ended is gone,
// as a client that half-closes TCP is, also when the server read both
// records at once, so the close_notify waits in the engine's buffers and
// nothing more is queued on the socket. TLS 1.2 and 1.3.
func TestClientCloseNotifyBufferedSeenAfterTheContextEnded(t *testing.T) {
	cert, pool := selfSignedCert(t)
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			tcp, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer tcp.Close()
			nc, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			c := NewConn(nc, Config{ImplicitTLS: true, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
			defer c.Close(nil)
			held := &heldConn{Conn: tcp}
			cl := tls.Client(held, &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: version, MaxVersion: version})
			handshook := make(chan error, 1)
			go func() {
				err := cl.Handshake()
				if err == nil {
					held.hold = true
					_, err = cl.Write([]byte("NOOP\r\n"))
				}
				if err == nil {
					err = cl.CloseWrite()
				}
				if err == nil {
					err = held.release()
				}
				handshook <- err
			}()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			for {
				ev, err := c.Next(ctx)
				if err != nil {
					t.Fatalf("Next before NOOP: %v", err)
				}
				if ev.Kind == Noop {
					break
				}
			}
			if err := <-handshook; err != nil {
				t.Fatal(err)
			}
			cancel()
			if _, err := c.Next(ctx); !errors.Is(err, ErrClientGone) {
				t.Errorf("Next after the client's NOOP and close_notify, then the context ended: %v; want %v", err, ErrClientGone)
			}
		})
	}
}

// selfSignedCert returns a certificate for localhost and a pool that
// trusts it.
func selfSignedCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	certPEM, keyPEM, pool, err := testcert.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cert, pool
}
