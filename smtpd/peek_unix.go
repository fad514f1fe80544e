//go:build unix

package smtpd

import (
	"errors"
	"net"
	"os"
	"syscall"
)

// peekSocket asks the socket under conn whether a read would return at
// once: it peeks at one octet (MSG_PEEK), which Go's non-blocking sockets
// answer without waiting: an octet, the end of input (0), an error such
// as a reset, or EAGAIN for nothing. It needs conn's read deadline unset
// (a past one fails the call unread): left unsets it first.
//
// The socket's error is consumed by the peek (a read after it sees the
// end of input), so peekSocket returns it, as a read on conn would have.
func peekSocket(conn net.Conn) (input, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return inputUnknown, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return inputUnknown, nil
	}
	state := inputUnknown
	var gone syscall.Errno
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
		var errno syscall.Errno
		switch {
		case err == nil:
			state = inputQueued // an octet, or the end of input
		case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK):
			state = inputNone
		case errors.As(err, &errno) && (errno == syscall.ECONNRESET || errno == syscall.ECONNABORTED || errno == syscall.ETIMEDOUT || errno == syscall.EPIPE):
			state, gone = inputQueued, errno
		}
		return true // never wait
	})
	if err != nil {
		return inputUnknown, nil
	}
	if gone != 0 {
		return inputQueued, &net.OpError{Op: "read", Net: conn.LocalAddr().Network(), Source: conn.LocalAddr(), Addr: conn.RemoteAddr(), Err: os.NewSyscallError("read", gone)}
	}
	return state, nil
}
