//go:build linux && (amd64 || arm64)

package smtpd

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// tcpClosed reports whether the kernel has moved conn's socket to
// TCP_CLOSE (a reset received), read from TCP_INFO, which, unlike a read
// or SO_ERROR, leaves the socket's pending error in place.
func tcpClosed(t *testing.T, conn net.Conn) bool {
	t.Helper()
	rc, err := conn.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var info syscall.TCPInfo
	var serr error
	if err := rc.Control(func(fd uintptr) {
		size := uint32(unsafe.Sizeof(info))
		_, _, e := syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_INFO,
			uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&size)), 0)
		if e != 0 {
			serr = e
		}
	}); err != nil {
		t.Fatal(err)
	}
	if serr != nil {
		t.Fatal(serr)
	}
	const tcpClose = 7
	return info.State == tcpClose
}

// A client that reset the connection (linger 0) before the driver's
// context ended left by a reset, and Next says so (ECONNRESET), as it
// does when its read sees the reset: looking whether anything is queued
// does not turn the reset into an end of input.
func TestClientResetSeenAfterTheContextEnded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cl, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c := NewConn(nc, Config{})
	defer c.Close(nil)
	ctx, cancel := context.WithCancel(context.Background())
	if ev, err := c.Next(ctx); err != nil || ev.Kind != Greeting {
		t.Fatalf("first Next = %v, %v; want the Greeting event", ev, err)
	}
	// The driver holds the greeting: the server reads nothing meanwhile.
	_ = cl.(*net.TCPConn).SetLinger(0)
	cl.Close()
	for deadline := time.Now().Add(10 * time.Second); !tcpClosed(t, nc); {
		if time.Now().After(deadline) {
			t.Fatal("the reset did not arrive in 10 s")
		}
		time.Sleep(time.Millisecond) // polls a condition, with a deadline
	}
	cancel()
	_, err = c.Next(ctx)
	if !errors.Is(err, ErrClientGone) || !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("Next after the client reset, then the context ended: %v; want ErrClientGone wrapping ECONNRESET", err)
	}
}
